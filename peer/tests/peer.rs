//! The Peer end to end in memory: JSEP, ICE, DTLS, SCTP and DCEP between two Peers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Ev, Pair, certs, peer};
use peerless::{
    ChannelId, ChannelInit, ChannelOptions, ConnectionState, ReadyState, Reliability, SdpType,
};

fn open_pair() -> (Pair, ChannelId) {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    let ch = pair
        .a
        .create_data_channel("chat", ChannelInit::default())
        .unwrap();
    pair.signal();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    (pair, ch)
}

fn received(evs: &[Ev]) -> Vec<(bool, Vec<u8>)> {
    evs.iter()
        .filter_map(|e| match e {
            Ev::Message { binary, data, .. } => Some((*binary, data.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn selftest_connects_and_echoes() {
    let mut sa = Box::new(peerless::Storage::<8192, 8192>::new());
    let mut sb = Box::new(peerless::Storage::<8192, 8192>::new());
    let (a_send, a_recv) = sa.areas();
    let (b_send, b_recv) = sb.areas();
    let (ca, cb) = certs();
    let mut a: peerless::SmallPeer<&mut [u8]> = peerless::Peer::new(
        peerless::selftest::config(ca, 1),
        peerless_base::Instant::ZERO,
        a_send,
        a_recv,
    );
    let mut b: peerless::SmallPeer<&mut [u8]> = peerless::Peer::new(
        peerless::selftest::config(cb, 2),
        peerless_base::Instant::ZERO,
        b_send,
        b_recv,
    );
    let (mut sdp, mut buf) = ([0u8; 2048], [0u8; 1500]);
    let mut calls = [0u32; 2];
    let report = peerless::selftest::run(&mut a, &mut b, &mut sdp, &mut buf, |side, call| {
        calls[side as usize] += 1;
        call();
    })
    .unwrap();
    println!("selftest: {report:?}, calls {calls:?}");
    assert!(report.open_us > 0 && report.echo_us >= report.open_us);
    assert_eq!(
        report.dtls_cipher, 0xC02B,
        "browsers' suite is negotiated first"
    );
    assert_eq!(report.srtp_profile, 0x0007, "AEAD_AES_128_GCM");
    assert!(report.datagrams >= 10);
}

#[test]
fn peer_size() {
    let default = std::mem::size_of::<peerless::Peer>();
    let small = std::mem::size_of::<peerless::SmallPeer>();
    println!(
        "size_of::<Peer>() = {default} bytes; size_of::<SmallPeer>() = {small} bytes (SCTP storage lent separately)"
    );
    println!(
        "  parts: ice::Agent {} + dtls::Endpoint {} + sctp::Association {} (small: {}) + srtp::Context x2 {} + SDP copies {} + early DTLS stash {}",
        std::mem::size_of::<peerless_ice::Agent>(),
        std::mem::size_of::<peerless_dtls::Endpoint>(),
        std::mem::size_of::<peerless_sctp::Association>(),
        std::mem::size_of::<peerless_sctp::Association<&'static mut [u8], 64, 4>>(),
        2 * std::mem::size_of::<peerless_srtp::Context>(),
        peerless::LOCAL_SDP_CAPACITY + peerless::REMOTE_SDP_CAPACITY,
        peerless::DTLS_BUFFER,
    );
    assert!(small < default);
    assert!(
        small <= 40 * 1024,
        "two small Peers and their storage fit a 128 KiB MCU"
    );
    assert!(default < 96 * 1024, "the Peer stays inline and bounded");
}

#[test]
fn text_and_binary_messages_are_echoed_in_order() {
    let (mut pair, ch) = open_pair();
    let mut sent = Vec::new();
    for i in 0..50u32 {
        let text = format!("message {i}");
        pair.a
            .send(ch, peerless::MessageKind::Text, text.as_bytes())
            .unwrap();
        sent.push((false, text.into_bytes()));
        let bin: Vec<u8> = (0..(i as usize * 37) % 3000)
            .map(|x| (x as u8) ^ (i as u8))
            .collect();
        pair.a
            .send(ch, peerless::MessageKind::Binary, &bin)
            .unwrap();
        sent.push((true, bin));
    }
    let big: Vec<u8> = (0..60_000).map(|x| (x % 251) as u8).collect();
    pair.a
        .send(ch, peerless::MessageKind::Binary, &big)
        .unwrap();
    sent.push((true, big));
    pair.a.send(ch, peerless::MessageKind::Text, b"").unwrap();
    sent.push((false, Vec::new()));
    let n = sent.len();
    assert!(
        pair.run_until(Duration::from_secs(30), |p| received(&p.events_b).len()
            >= n)
    );
    assert_eq!(received(&pair.events_b), sent);
    let stats = pair.a.stats();
    assert_eq!(stats.messages_sent, n as u64);
    assert_eq!(pair.b.stats().messages_received, n as u64);
    assert_eq!(pair.a.channel_stats(ch).unwrap().messages_sent, n as u64);
    assert!(stats.selected_pair.is_some());
    assert!(stats.dtls_cipher.is_some() && stats.srtp_profile.is_some());
    assert!(stats.sctp.cwnd > 0 && stats.sctp.rto > Duration::ZERO);
    assert!(
        pair.a.srtp().is_some(),
        "SRTP contexts are made from the DTLS keys"
    );
    assert_eq!(pair.a.connection_state(), ConnectionState::Connected);
}

#[test]
fn remote_channel_open_carries_label_and_options() {
    let (mut pair, _) = open_pair();
    let opts = ChannelOptions {
        ordered: false,
        reliability: Reliability::MaxRetransmits(3),
        ..Default::default()
    };
    let ch = pair
        .b
        .create_data_channel(
            "lossy",
            ChannelInit {
                options: opts,
                protocol: "proto",
            },
        )
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_a
            .iter()
            .any(|e| matches!(e, Ev::Open { label, remote: true, .. } if label == "lossy"))
    }));
    assert!(pair.b.is_open(ch));
    // The answerer is the DTLS client here: its in-band channels take even ids (RFC 8832 §6).
    assert_eq!(pair.b.stream_id(ch).map(|id| id % 2), Some(0));
    let timed = ChannelOptions {
        reliability: Reliability::MaxLifetime(500),
        ..Default::default()
    };
    pair.a
        .create_data_channel(
            "timed",
            ChannelInit {
                options: timed,
                protocol: "",
            },
        )
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_b
            .iter()
            .any(|e| matches!(e, Ev::Open { label, remote: true, .. } if label == "timed"))
    }));
}

#[test]
fn negotiated_channels_need_no_dcep() {
    let (mut pair, _) = open_pair();
    let opts = ChannelOptions {
        negotiated: Some(peerless::sctp::StreamId(42)),
        ..Default::default()
    };
    let ca = pair
        .a
        .create_data_channel(
            "n",
            ChannelInit {
                options: opts,
                protocol: "",
            },
        )
        .unwrap();
    let cb = pair
        .b
        .create_data_channel(
            "n",
            ChannelInit {
                options: opts,
                protocol: "",
            },
        )
        .unwrap();
    assert_eq!(pair.a.stream_id(ca), Some(42));
    pair.shuttle();
    pair.a
        .send(ca, peerless::MessageKind::Text, b"over 42")
        .unwrap();
    pair.b
        .send(cb, peerless::MessageKind::Binary, b"back")
        .unwrap();
    assert!(pair.run_until(
        Duration::from_secs(5),
        |p| !received(&p.events_a).is_empty() && !received(&p.events_b).is_empty()
    ));
    assert_eq!(received(&pair.events_b), vec![(false, b"over 42".to_vec())]);
    assert_eq!(received(&pair.events_a), vec![(true, b"back".to_vec())]);
}

#[test]
fn buffered_amount_falls_to_the_threshold_and_fires_low() {
    let (mut pair, ch) = open_pair();
    pair.a.set_buffered_amount_low_threshold(ch, 1000);
    let data = vec![7u8; 20_000];
    pair.a
        .send(ch, peerless::MessageKind::Binary, &data)
        .unwrap();
    assert!(pair.a.buffered_amount(ch) >= 20_000);
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_a.contains(&Ev::Low(ch.0))
    }));
    assert!(pair.a.buffered_amount(ch) <= 1000);
}

#[test]
fn closing_a_channel_closes_it_on_both_sides() {
    let (mut pair, ch) = open_pair();
    pair.a.close_channel(ch).unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_a.iter().any(|e| matches!(e, Ev::Closed(_)))
            && p.events_b.iter().any(|e| matches!(e, Ev::Closed(_)))
    }));
    assert!(pair.a.send(ch, peerless::MessageKind::Text, b"x").is_err());
}

/// RFC 8831 §6.7 as browsers show it: the side that did not start the close sees `closing`
/// (its readyState `Closing`) before `close`; the side that called close() is `Closing` at once
/// and gets no `closing` event.
#[test]
fn a_remote_close_is_announced_as_closing_before_closed() {
    let (mut pair, ch) = open_pair();
    let b_ch = pair
        .events_b
        .iter()
        .find_map(|e| match e {
            Ev::Open { channel, .. } => Some(ChannelId(*channel)),
            _ => None,
        })
        .unwrap();
    pair.a.close_channel(ch).unwrap();
    let state = |p: &mut peerless::Peer, c| p.channel(c).map(|c| c.ready_state());
    assert_eq!(state(&mut pair.a, ch), Some(ReadyState::Closing));
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_b.contains(&Ev::Closing(b_ch.0))
    }));
    if !pair.events_b.contains(&Ev::Closed(b_ch.0)) {
        assert_eq!(state(&mut pair.b, b_ch), Some(ReadyState::Closing));
    }
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_a.contains(&Ev::Closed(ch.0)) && p.events_b.contains(&Ev::Closed(b_ch.0))
    }));
    let at = |evs: &[Ev], e: Ev| evs.iter().position(|x| *x == e).unwrap();
    assert!(at(&pair.events_b, Ev::Closing(b_ch.0)) < at(&pair.events_b, Ev::Closed(b_ch.0)));
    assert!(!pair.events_a.iter().any(|e| matches!(e, Ev::Closing(_))));
    assert_eq!(state(&mut pair.b, b_ch), None);
}

#[test]
fn a_fingerprint_mismatch_fails_the_connection() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    pair.a
        .create_data_channel("chat", ChannelInit::default())
        .unwrap();
    pair.a.add_local_candidate(common::addr(common::A)).unwrap();
    pair.b.add_local_candidate(common::addr(common::B)).unwrap();
    let mut buf = vec![0u8; 4096];
    let offer = pair.a.create_offer(&mut buf).unwrap().to_string();
    pair.a
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    pair.b
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = pair.b.create_answer(&mut buf).unwrap().to_string();
    pair.b
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    // A man in the middle swaps the answer's fingerprint for another certificate's.
    let (other, _) = {
        let mut rng = peerless_base::Drbg::from_seed(&[9; 32], b"other");
        let c = peerless_dtls::Certificate::generate(
            &mut rng,
            peerless_dtls::Validity::days_from(1_700_000_000, 30),
        )
        .unwrap();
        (c.fingerprint(peerless_dtls::HashAlgorithm::Sha256), ())
    };
    let real = pair.b.local_fingerprint().to_string();
    let forged = answer.replace(&real, &other.to_string());
    assert_ne!(forged, answer);
    pair.a
        .set_remote_description(SdpType::Answer, &forged)
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(10), |p| {
        p.events_a.contains(&Ev::Conn(ConnectionState::Failed))
    }));
    assert!(!pair.opened(false));
    assert!(
        !pair
            .events_a
            .contains(&Ev::Conn(ConnectionState::Connected))
    );
    // RTCDtlsTransport says why: not just "failed".
    let dtls = pair.a.dtls_transport();
    assert_eq!(dtls.state, peerless::DtlsTransportState::Failed);
    assert_eq!(
        dtls.failure,
        Some(peerless::DtlsFailure::FingerprintMismatch)
    );
    assert_eq!(dtls.remote_fingerprint, Some(other));
}

#[test]
fn dtls_before_our_answer_is_applied_is_kept_and_processed() {
    // B answers as DTLS server but applies its answer late: A's ClientHello arrives first.
    let (ca, cb) = certs();
    let (s, r) = common::areas();
    let b = peerless::Peer::new(
        peerless::Config::new(cb, [2; 32]).with_answer_setup(peerless::sdp::attr::Setup::Passive),
        peerless_base::Instant::ZERO,
        s,
        r,
    );
    let mut pair = Pair::new(peer(ca, 1), b);
    pair.a
        .create_data_channel("chat", ChannelInit::default())
        .unwrap();
    pair.a.add_local_candidate(common::addr(common::A)).unwrap();
    pair.b.add_local_candidate(common::addr(common::B)).unwrap();
    let mut buf = vec![0u8; 4096];
    let offer = pair.a.create_offer(&mut buf).unwrap().to_string();
    pair.a
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    pair.b
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = pair.b.create_answer(&mut buf).unwrap().to_string();
    pair.a
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    assert_eq!(pair.a.dtls_role(), Some(peerless_dtls::Role::Client));
    // ICE runs and A's ClientHello reaches B, which has no DTLS role yet.
    assert!(pair.run_until(
        Duration::from_secs(5),
        |p| p.b.stats().dtls.datagrams_received > 0
            || p.b.dtls_role().is_none() && p.a.stats().dtls.datagrams_sent > 0
    ));
    assert_eq!(pair.b.dtls_role(), None);
    pair.b
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    assert_eq!(pair.b.stats().dropped_early_dtls, 0);
    let start = pair.now;
    assert!(pair.run_until(Duration::from_secs(5), |p| p.opened(false)));
    // Processed from the stash: no retransmission timer (1 s) was needed.
    assert_eq!(pair.a.stats().dtls.retransmissions, 0);
    assert!(pair.now - start < Duration::from_millis(500));
}

#[test]
fn the_remote_vanishing_goes_disconnected_then_failed() {
    let (mut pair, _) = open_pair();
    pair.cut = true;
    let t0 = pair.now;
    assert!(pair.run_until(Duration::from_secs(60), |p| {
        p.events_b
            .contains(&Ev::Conn(ConnectionState::Disconnected))
    }));
    let disconnected = pair.now - t0;
    assert!(pair.run_until(Duration::from_secs(60), |p| {
        p.events_b.contains(&Ev::Conn(ConnectionState::Failed))
    }));
    let failed = pair.now - t0;
    println!("disconnected after {disconnected:?}, failed after {failed:?}");
    // RFC 7675: consent is lost 30 s after the last response; disconnected comes first.
    assert!(disconnected < failed);
    assert!(failed <= Duration::from_secs(36));
}

#[test]
fn a_dtls_server_that_never_hears_a_client_hello_fails_after_the_dtls_timeout() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    // B answers active (the DTLS client), but none of its DTLS ever arrives: A, the server,
    // has a working ICE path and waits for a ClientHello that never comes.
    pair.drop_from_b = |d| matches!(d.first(), Some(20..=63));
    pair.signal();
    assert_eq!(pair.a.dtls_role(), Some(peerless_dtls::Role::Server));
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_a.contains(&Ev::Ice(peerless::IceState::Connected))
    }));
    let t0 = pair.now;
    assert!(pair.run_until(Duration::from_secs(60), |p| {
        p.events_a.contains(&Ev::Conn(ConnectionState::Failed))
    }));
    let waited = pair.now - t0;
    // Config::dtls_timeout (30 s) after ICE found the path, not the 30 s of consent loss:
    // ICE consent keeps working the whole time.
    assert!(
        waited >= Duration::from_secs(29) && waited <= Duration::from_secs(31),
        "{waited:?}"
    );
    assert!(
        !pair
            .events_a
            .contains(&Ev::Ice(peerless::IceState::Disconnected))
    );
    // Failed is final: the ClientHello that finally gets through changes nothing.
    pair.drop_from_b = |_| false;
    let before = pair.events_a.len();
    pair.run_until(Duration::from_secs(10), |_| false);
    assert!(
        !pair.events_a[before..].contains(&Ev::Conn(ConnectionState::Connected)),
        "{:?}",
        &pair.events_a[before..]
    );
    assert_eq!(pair.a.connection_state(), ConnectionState::Failed);
    assert!(pair.a.stats().dropped_dtls_after_failure > 0);
    assert_eq!(
        pair.a.dtls_transport().failure,
        Some(peerless::DtlsFailure::Timeout)
    );
}

#[test]
fn an_answerer_that_gathered_before_the_offer_keeps_what_it_gathered() {
    let (ca, cb) = certs();
    let mut a = peer(ca, 1);
    let mut b = peer(cb, 2);
    a.add_local_candidate(common::addr(common::A)).unwrap();
    // B gathers first, as a server that binds its socket at start does.
    b.add_local_candidate(common::addr(common::B)).unwrap();
    let mut gathered = Vec::new();
    while let Some(e) = b.poll_event() {
        match e {
            peerless::Event::LocalCandidate { candidate, .. } => gathered.push(candidate.address),
            peerless::Event::GatheringComplete => gathered.push(common::addr("0.0.0.0:0")),
            _ => {}
        }
    }
    assert_eq!(
        gathered,
        [common::addr(common::B), common::addr("0.0.0.0:0")]
    );
    let mut buf = vec![0u8; 4096];
    let offer = a.create_offer(&mut buf).unwrap().to_string();
    a.set_local_description(SdpType::Offer, &offer).unwrap();
    // Applying the offer makes B controlled; its candidate and its finished gathering stay.
    b.set_remote_description(SdpType::Offer, &offer).unwrap();
    while let Some(e) = b.poll_event() {
        assert!(
            !matches!(
                e,
                peerless::Event::LocalCandidate { .. } | peerless::Event::GatheringComplete
            ),
            "gathered again: {e:?}"
        );
    }
    let answer = b.create_answer(&mut buf).unwrap().to_string();
    assert!(answer.contains("a=end-of-candidates"), "{answer}");
    assert_eq!(answer.matches("a=candidate").count(), 1, "{answer}");
}

#[test]
fn trickled_candidates_connect_without_candidates_in_the_descriptions() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    pair.a
        .create_data_channel("chat", ChannelInit::default())
        .unwrap();
    let mut buf = vec![0u8; 4096];
    // Descriptions first, as a browser's setLocalDescription does before gathering.
    let offer = pair.a.create_offer(&mut buf).unwrap().to_string();
    assert!(!offer.contains("a=candidate") && !offer.contains("end-of-candidates"));
    assert!(offer.contains("a=ice-options:trickle"));
    pair.a
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    pair.b
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = pair.b.create_answer(&mut buf).unwrap().to_string();
    assert!(!answer.contains("a=candidate"));
    pair.b
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    pair.a
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    // Then the sockets, and their candidates over signalling.
    pair.a.add_local_candidate(common::addr(common::A)).unwrap();
    pair.b.add_local_candidate(common::addr(common::B)).unwrap();
    let trickle = |p: &mut peerless::Peer| {
        let mut lines = Vec::new();
        let mut complete = false;
        while let Some(e) = p.poll_event() {
            match e {
                peerless::Event::LocalCandidate { candidate, .. } => {
                    lines.push(candidate.to_string())
                }
                peerless::Event::GatheringComplete => complete = true,
                _ => {}
            }
        }
        (lines, complete)
    };
    let (from_a, a_done) = trickle(&mut pair.a);
    let (from_b, b_done) = trickle(&mut pair.b);
    assert_eq!((from_a.len(), from_b.len()), (1, 1));
    assert!(a_done && b_done, "host-only gathering completes at once");
    for l in &from_a {
        pair.b.add_remote_candidate(l).unwrap();
    }
    pair.b.add_remote_candidate("").unwrap();
    for l in &from_b {
        pair.a.add_remote_candidate(&format!("a={l}")).unwrap();
    }
    pair.a.add_remote_candidate("a=end-of-candidates").unwrap();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    assert!(
        pair.events_a
            .contains(&Ev::Ice(peerless::IceState::Completed))
    );
    // A later description carries what was gathered, and says gathering is complete.
    let again = pair.a.create_offer(&mut buf).unwrap().to_string();
    assert!(again.contains("a=candidate:") && again.contains("a=end-of-candidates"));
}

#[test]
fn srtp_contexts_from_the_dtls_keys_protect_what_the_other_side_unprotects() {
    let (mut pair, _) = open_pair();
    let header = peerless::rtp::packet::Header {
        payload_type: 111,
        sequence_number: 7,
        timestamp: 960,
        ssrc: 0x1234_5678,
        ..Default::default()
    };
    let mut buf = [0u8; 1500];
    let len = header.emit(b"an opus frame", &mut buf).unwrap();
    let n = pair
        .a
        .srtp()
        .unwrap()
        .outbound
        .protect_rtp(&mut buf, len)
        .unwrap();
    assert!(n > len, "the tag is appended");
    let mut tampered = buf;
    let (from, to) = (common::addr(common::A), common::addr(common::B));
    pair.b.handle_packet(pair.now, from, to, &mut buf[..n]);
    assert_eq!(pair.b.stats().srtp_received, 1);
    tampered[n - 1] ^= 1;
    pair.b.handle_packet(pair.now, from, to, &mut tampered[..n]);
    assert_eq!(
        pair.b.stats().dropped_srtp,
        1,
        "a forged tag is dropped and counted"
    );
}

#[test]
fn renegotiation_from_the_answerer_keeps_the_dtls_roles_and_the_channel() {
    let (mut pair, ch) = open_pair();
    let mut buf = vec![0u8; 4096];
    let offer = pair.b.create_offer(&mut buf).unwrap().to_string();
    // JSEP offers say actpass; the answerer keeps the established role (RFC 8842 §5.3).
    assert!(offer.contains("a=setup:actpass"), "{offer}");
    pair.b
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    pair.a
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = pair.a.create_answer(&mut buf).unwrap().to_string();
    assert!(answer.contains("a=setup:passive"), "{answer}");
    pair.a
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    pair.b
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    assert_eq!(pair.a.dtls_role(), Some(peerless_dtls::Role::Server));
    assert_eq!(pair.b.dtls_role(), Some(peerless_dtls::Role::Client));
    pair.a
        .send(ch, peerless::MessageKind::Text, b"after renegotiation")
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        !received(&p.events_b).is_empty()
    }));
    assert_eq!(
        received(&pair.events_b),
        vec![(false, b"after renegotiation".to_vec())]
    );
    assert_eq!(pair.a.signaling_state(), peerless::SignalingState::Stable);
}

#[test]
fn descriptions_out_of_turn_and_garbage_are_refused_without_changing_anything() {
    let (ca, cb) = certs();
    let mut a = peer(ca, 1);
    let mut b = peer(cb, 2);
    let mut buf = vec![0u8; 4096];
    assert_eq!(
        a.create_answer(&mut buf),
        Err(peerless::SdpError::WrongState)
    );
    assert!(matches!(
        a.set_remote_description(SdpType::Offer, "v=0\r\ngarbage"),
        Err(peerless::SdpError::Parse(_))
    ));
    let offer = b.create_offer(&mut buf).unwrap().to_string();
    assert_eq!(
        a.set_remote_description(SdpType::Answer, &offer),
        Err(peerless::SdpError::WrongState)
    );
    let no_fp: String = offer
        .lines()
        .filter(|l| !l.starts_with("a=fingerprint"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    assert_eq!(
        a.set_remote_description(SdpType::Offer, &no_fp),
        Err(peerless::SdpError::NoFingerprint)
    );
    assert_eq!(a.signaling_state(), peerless::SignalingState::Stable);
    assert_eq!(
        a.create_offer(&mut [0u8; 16]),
        Err(peerless::SdpError::BufferTooSmall(
            a.create_offer(&mut buf).unwrap().len()
        ))
    );
}
