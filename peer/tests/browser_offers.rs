//! Real offers from browsers and other stacks through `Peer::set_remote_description`: every one
//! is answered by the default Peer, media sections are rejected until the Peer carries media, and
//! the transport comes from the BUNDLE-tagged section.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Pair, addr, certs, peer};
use peerless::{LOCAL_SDP_CAPACITY, SdpError, SdpType, SmallPeer, Storage};
use peerless_base::Instant;
use peerless_sdp::Session;

/// Every `*offer*` fixture (the same files as `../shared/fixtures/sdp/`), read at run time so a
/// new fixture is covered without touching this test.
fn offers() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../sdp/tests/fixtures");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().contains("offer"))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 4, "fixtures missing: {out:?}");
    out
}

#[test]
fn every_fixture_offer_is_answered_by_the_default_peer() {
    for (name, offer) in offers() {
        let (cert, _) = certs();
        let mut p = peer(cert, 7);
        // As many host sockets as the Peer takes, so the answer is as long as it gets.
        for port in 6000..6000 + peerless::MAX_HOSTS as u16 {
            p.add_local_candidate(addr(&format!("127.0.0.1:{port}")))
                .unwrap();
        }
        p.set_remote_description(SdpType::Offer, &offer)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let mut buf = vec![0u8; 8192];
        let answer = p
            .create_answer(&mut buf)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"))
            .to_string();
        assert!(
            answer.len() <= LOCAL_SDP_CAPACITY,
            "{name}: answer of {} bytes does not fit LOCAL_SDP_CAPACITY",
            answer.len()
        );
        eprintln!("{name}: answer {} bytes", answer.len());
        p.set_local_description(SdpType::Answer, &answer)
            .unwrap_or_else(|e| panic!("{name}: {e:?}\n{answer}"));

        let offered = Session::parse(&offer).unwrap();
        let answered = Session::parse(&answer).unwrap();
        assert_eq!(offered.media_count(), answered.media_count(), "{name}");
        let tag = offered.bundle_group().and_then(|g| g.mids().next());
        let data_mid = answered
            .media()
            .find(|m| m.media_line().is_datachannel())
            .and_then(|m| m.mid())
            .unwrap();
        for (o, a) in offered.media().zip(answered.media()) {
            assert_eq!(o.mid(), a.mid(), "{name}");
            assert!(a.rtcp_fbs().next().is_none(), "{name}\n{answer}");
            if o.media_line().is_datachannel() {
                assert!(!a.is_rejected(), "{name}: data section rejected\n{answer}");
            } else if o.mid() == tag {
                // The BUNDLE tag carries the transport: kept, but no media flows either way.
                assert_ne!(a.port(), 0, "{name}\n{answer}");
                assert_eq!(
                    a.direction(),
                    peerless_sdp::attr::Direction::Inactive,
                    "{name}"
                );
                assert_eq!(a.payload_types().count(), 1, "{name}\n{answer}");
            } else {
                // RFC 8829 §5.3.1: what we cannot carry is rejected with port 0.
                assert_eq!(a.port(), 0, "{name}: media section accepted\n{answer}");
            }
        }
        // The BUNDLE group holds what we accepted: the data section (and the tag it needs).
        if offered.bundle_group().is_some() {
            let group = answered.bundle_group().unwrap();
            let mut want: Vec<&str> = tag.into_iter().chain([data_mid]).collect();
            want.dedup();
            assert_eq!(group.mids().collect::<Vec<_>>(), want, "{name}");
        }
        // The offer's candidates reached ICE: the Peer checks them.
        if offer.contains(" udp ") || offer.contains(" UDP ") {
            let mut out = [0u8; 1500];
            let mut checked = false;
            for _ in 0..20 {
                let t = p.poll_timeout().unwrap();
                p.handle_timeout(t);
                while let Ok(Some(t)) = p.poll_transmit(&mut out) {
                    // A STUN request (RFC 7983: first byte 0..=3) to a candidate of the offer.
                    checked |= t.payload.first().is_some_and(|b| *b < 4);
                }
                while p.poll_event().is_some() {}
            }
            assert!(checked, "{name}: no connectivity check sent");
        }
    }
}

#[test]
fn small_peer_takes_data_only_offers_and_refuses_media_offers_as_too_large() {
    for (name, offer) in offers() {
        let (cert, _) = certs();
        let storage: &'static mut peerless::SmallStorage = Box::leak(Box::new(Storage::new()));
        let (s, r) = storage.areas();
        let mut p: SmallPeer =
            SmallPeer::new(peerless::Config::new(cert, [3; 32]), Instant::ZERO, s, r);
        let result = p.set_remote_description(SdpType::Offer, &offer);
        if name.contains("audio-video") {
            // Documented in SmallPeer: a browser's media offer is 4.5-6.5 KB.
            assert_eq!(result, Err(SdpError::TooLarge), "{name}");
        } else {
            result.unwrap_or_else(|e| panic!("{name}: {e:?}"));
            let mut buf = vec![0u8; 4096];
            let answer = p.create_answer(&mut buf).unwrap().to_string();
            p.set_local_description(SdpType::Answer, &answer).unwrap();
        }
    }
}

fn chromium_av() -> String {
    offers()
        .into_iter()
        .find(|(n, _)| n == "chromium-offer-audio-video-datachannel.sdp")
        .unwrap()
        .1
}

/// The offer with the data section stripped of its transport: ICE credentials, fingerprint,
/// setup and candidates live only in the BUNDLE-tagged (audio) section, as RFC 8843 §7.1.3
/// allows for bundle-only sections.
fn transport_only_in_the_tag(offer: &str) -> String {
    let mut out = String::new();
    let mut in_data = false;
    for line in offer.lines() {
        if line.starts_with("m=") {
            in_data = line.starts_with("m=application");
        }
        let transport = ["a=ice-", "a=fingerprint", "a=setup", "a=candidate"];
        if in_data && transport.iter().any(|p| line.starts_with(p)) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

#[test]
fn the_transport_comes_from_the_bundle_tagged_section() {
    let offer = transport_only_in_the_tag(&chromium_av());
    assert!(!offer.contains(
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=candidate"
    ));
    let (cert, _) = certs();
    let mut p = peer(cert, 9);
    p.add_local_candidate(addr("127.0.0.1:6000")).unwrap();
    p.set_remote_description(SdpType::Offer, &offer).unwrap();
    let mut buf = vec![0u8; 8192];
    let answer = p.create_answer(&mut buf).unwrap().to_string();
    p.set_local_description(SdpType::Answer, &answer).unwrap();
    // Chromium's candidates sit in the audio section only; the Peer checks them.
    let mut out = [0u8; 1500];
    let mut destinations = Vec::new();
    let mut now = Instant::ZERO;
    for _ in 0..20 {
        while let Ok(Some(t)) = p.poll_transmit(&mut out) {
            destinations.push(t.destination);
        }
        while p.poll_event().is_some() {}
        now = p
            .poll_timeout()
            .unwrap()
            .max(now + Duration::from_millis(1));
        p.handle_timeout(now);
    }
    assert!(
        destinations.contains(&addr("127.0.0.1:42159")),
        "{destinations:?}"
    );
}

#[test]
fn an_answer_without_setup_is_active_and_makes_us_the_dtls_server() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    pair.a.add_local_candidate(addr(common::A)).unwrap();
    pair.b.add_local_candidate(addr(common::B)).unwrap();
    let mut buf = vec![0u8; 4096];
    let offer = pair.a.create_offer(&mut buf).unwrap().to_string();
    pair.a
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    pair.b
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = pair.b.create_answer(&mut buf).unwrap().to_string();
    assert!(answer.contains("a=setup:active"), "{answer}");
    pair.b
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    // RFC 4145 §4: no a=setup in an answer means active.
    let bare: String = answer
        .lines()
        .filter(|l| !l.starts_with("a=setup"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    pair.a
        .set_remote_description(SdpType::Answer, &bare)
        .unwrap();
    assert_eq!(pair.a.dtls_role(), Some(peerless_dtls::Role::Server));
    let ch = pair
        .a
        .create_data_channel("chat", peerless::ChannelInit::default())
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.a.is_open(ch)));
}

#[test]
fn an_answer_that_does_not_fit_the_offer_is_refused_and_changes_nothing() {
    let (ca, cb) = certs();
    let mut a = peer(ca, 1);
    let mut b = peer(cb, 2);
    let mut buf = vec![0u8; 4096];
    let offer = a.create_offer(&mut buf).unwrap().to_string();
    a.set_local_description(SdpType::Offer, &offer).unwrap();
    b.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = b.create_answer(&mut buf).unwrap().to_string();
    let wrong_mid = answer.replace("a=mid:0", "a=mid:7");
    assert_eq!(
        a.set_remote_description(SdpType::Answer, &wrong_mid),
        Err(SdpError::Answer(
            peerless_sdp::jsep::AnswerError::SectionMismatch { index: 0 }
        ))
    );
    assert_eq!(
        a.signaling_state(),
        peerless::SignalingState::HaveLocalOffer
    );
    a.set_remote_description(SdpType::Answer, &answer).unwrap();
    assert_eq!(a.signaling_state(), peerless::SignalingState::Stable);
}
