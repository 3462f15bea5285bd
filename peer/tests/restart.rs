//! `Peer::restart`: a new RTCPeerConnection in the same Peer's memory. A restarted Peer
//! behaves as a new one made from the same configuration (byte for byte), connects again with
//! its new certificate and keys, and shows nothing of the old session: no event, channel,
//! candidate, description or counter survives, whether the old session was connected or in
//! the middle of its handshake.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{A, Ev, Pair, addr, areas, drain, open_pair};
use peerless::{
    ChannelId, ChannelInit, Config, ConnectionState, IceState, MessageKind, Peer, SignalingState,
};
use peerless_base::Drbg;
use peerless_dtls::{Certificate, HashAlgorithm, Validity};

fn fresh_cert(seed: u8) -> Certificate {
    let mut rng = Drbg::from_seed(&[seed; 32], b"restart-test");
    Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 30)).unwrap()
}

/// Nothing of the previous session is visible on a restarted Peer.
fn assert_blank(p: &mut Peer, old_channel: ChannelId) {
    assert_eq!(drain(p), vec![], "no event of the old session");
    assert_eq!(p.connection_state(), ConnectionState::New);
    assert_eq!(p.ice_state(), IceState::New);
    assert_eq!(p.signaling_state(), SignalingState::Stable);
    assert_eq!(p.selected_pair(), None);
    assert_eq!(p.dtls_role(), None);
    assert!(p.label(old_channel).is_none(), "the old channel is gone");
    assert!(!p.is_open(old_channel));
    assert!(p.local_description().is_none());
    assert!(p.remote_description().is_none());
    assert!(p.sctp_transport().is_none());
    assert!(p.srtp().is_none());
    let s = p.stats();
    assert_eq!(
        (s.packets_sent, s.packets_received, s.channels_opened),
        (0, 0, 0)
    );
    let mut buf = [0u8; 1500];
    assert!(
        p.poll_transmit(&mut buf).unwrap().is_none(),
        "nothing to send"
    );
}

/// Both sides restarted with new certificates and seeds, then connected again.
fn reconnect(pair: &mut Pair, label: &str) -> ChannelId {
    pair.events_a.clear();
    pair.events_b.clear();
    let ch = pair
        .a
        .create_data_channel(label, ChannelInit::default())
        .unwrap();
    pair.signal();
    assert!(
        pair.run_until(Duration::from_secs(10), |p| p.opened(false)
            && p.opened(true)),
        "the restarted Peers connect again"
    );
    pair.a
        .send(ch, MessageKind::Text, b"second session")
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_b
            .iter()
            .any(|e| matches!(e, Ev::Message { data, .. } if data == b"second session"))
    }));
    // Only the new session's channel opened, under its own label.
    for e in pair.events_a.iter().chain(&pair.events_b) {
        if let Ev::Open { label: l, .. } = e {
            assert_eq!(l, label, "an old channel reappeared");
        }
    }
    ch
}

fn restart_both(pair: &mut Pair, seeds: (u8, u8)) -> (String, String) {
    let (ca, cb) = (fresh_cert(seeds.0), fresh_cert(seeds.1));
    let fps = (
        ca.fingerprint(HashAlgorithm::Sha256).to_string(),
        cb.fingerprint(HashAlgorithm::Sha256).to_string(),
    );
    let now = pair.now;
    pair.a.restart(Config::new(ca, [seeds.0; 32]), now);
    pair.b.restart(Config::new(cb, [seeds.1; 32]), now);
    fps
}

#[test]
fn restarted_peer_connects_again_with_new_keys_and_nothing_old() {
    let (mut pair, ch) = open_pair();
    pair.a
        .send(ch, MessageKind::Text, b"first session")
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(5), |p| {
        p.events_b.iter().any(|e| matches!(e, Ev::Message { .. }))
    }));
    let old_fp = pair.a.local_fingerprint().to_string();
    let old_ufrag = {
        let d = pair.a.local_description().unwrap();
        d.lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap()
            .to_string()
    };
    // Undrained output of the old session is waiting: the restart must drop it.
    pair.a.send(ch, MessageKind::Text, b"never sent").unwrap();
    let (fa, fb) = restart_both(&mut pair, (11, 12));
    assert_blank(&mut pair.a, ch);
    assert_blank(&mut pair.b, ch);
    assert_ne!(pair.a.local_fingerprint(), old_fp);
    assert_eq!(pair.a.local_fingerprint(), fa);
    assert_eq!(pair.b.local_fingerprint(), fb);

    reconnect(&mut pair, "again");
    assert!(
        !pair
            .events_b
            .iter()
            .any(|e| matches!(e, Ev::Message { data, .. } if data == b"never sent")),
        "a message queued before the restart was delivered"
    );
    // New ICE credentials, and each side's DTLS saw the other's new certificate.
    let ufrag = pair
        .a
        .local_description()
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
        .unwrap()
        .to_string();
    assert_ne!(ufrag, old_ufrag);
    let remote_fp_at_b = pair.b.dtls_transport().remote_fingerprint.unwrap();
    assert_eq!(remote_fp_at_b.to_string(), pair.a.local_fingerprint());
    assert_eq!(pair.a.connection_state(), ConnectionState::Connected);
    assert_eq!(pair.b.connection_state(), ConnectionState::Connected);
    // Only the new session's candidates are signalled.
    let desc = pair.a.local_description().unwrap();
    let candidates: Vec<_> = desc
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .collect();
    assert_eq!(candidates.len(), 1, "{candidates:?}");
}

#[test]
fn restart_mid_handshake_then_connect() {
    let (ca, cb) = common::certs();
    let mut pair = Pair::new(common::peer(ca, 1), common::peer(cb, 2));
    let ch = pair
        .a
        .create_data_channel("old", ChannelInit::default())
        .unwrap();
    pair.signal();
    // Part of the handshake: ICE and the first DTLS flights, not the channel.
    let mut buf = vec![0u8; 2048];
    for _ in 0..3 {
        if let Some(t) = pair.a.poll_transmit(&mut buf).unwrap() {
            let (from, to, n) = (t.source, t.destination, t.payload.len());
            pair.b.handle_packet(pair.now, from, to, &mut buf[..n]);
        }
        if let Some(t) = pair.b.poll_transmit(&mut buf).unwrap() {
            let (from, to, n) = (t.source, t.destination, t.payload.len());
            pair.a.handle_packet(pair.now, from, to, &mut buf[..n]);
        }
    }
    assert!(!pair.a.is_open(ch));
    restart_both(&mut pair, (21, 22));
    assert_blank(&mut pair.a, ch);
    assert_blank(&mut pair.b, ch);
    reconnect(&mut pair, "new");
}

#[test]
fn restarted_peer_is_byte_for_byte_a_new_one() {
    let (mut pair, _) = open_pair();
    let now = pair.now + Duration::from_secs(3);
    let cert = fresh_cert(31);
    pair.a.restart(Config::new(cert.clone(), [31; 32]), now);
    let (s, r) = areas();
    let mut fresh = Peer::new(Config::new(cert, [31; 32]), now, s, r);
    for p in [&mut pair.a, &mut fresh] {
        p.add_local_candidate(addr(A)).unwrap();
        p.create_data_channel("same", ChannelInit::default())
            .unwrap();
    }
    let (mut b1, mut b2) = (vec![0u8; 8192], vec![0u8; 8192]);
    let restarted = pair.a.create_offer(&mut b1).unwrap().to_string();
    let new = fresh.create_offer(&mut b2).unwrap().to_string();
    assert_eq!(restarted, new);
    assert_eq!(drain(&mut pair.a), drain(&mut fresh));
    let (mut t1, mut t2) = (vec![0u8; 2048], vec![0u8; 2048]);
    assert_eq!(
        pair.a
            .poll_transmit(&mut t1)
            .unwrap()
            .map(|t| t.payload.to_vec()),
        fresh
            .poll_transmit(&mut t2)
            .unwrap()
            .map(|t| t.payload.to_vec())
    );
    assert_eq!(pair.a.poll_timeout(), fresh.poll_timeout());
}
