//! A connection's life between two Peers: ICE and DTLS coming up (early DTLS, trickled or
//! early-gathered candidates) and failing (a forged fingerprint, a vanished remote, no
//! ClientHello).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Ev, Pair, certs, open_pair, peer};
use peerless::{ChannelInit, ConnectionState, SdpType};

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
