//! Data channels end to end between two Peers: messages in order, a remote open's label and
//! options, negotiated channels, buffered amounts, and closing from either side.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Ev, open_pair};
use peerless::{ChannelId, ChannelInit, ChannelOptions, ConnectionState, ReadyState, Reliability};

fn received(evs: &[Ev]) -> Vec<(bool, Vec<u8>)> {
    evs.iter()
        .filter_map(|e| match e {
            Ev::Message { binary, data, .. } => Some((*binary, data.clone())),
            _ => None,
        })
        .collect()
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

/// `Config::sctp_zero_checksum` off on one side or both: the association still forms and
/// carries messages both ways (off means CRC32c on every packet, RFC 9653 §5: zero checksums
/// are sent only to an end that announced it accepts them).
#[test]
fn messages_flow_with_zero_checksum_off_on_either_side() {
    for (a_zero, b_zero) in [(false, false), (false, true), (true, false)] {
        let (ca, cb) = common::certs();
        let config = |cert, seed: u8, zero| peerless::Config {
            sctp_zero_checksum: zero,
            ..peerless::Config::new(cert, [seed; 32])
        };
        let (s, r) = common::areas();
        let a = peerless::Peer::new(config(ca, 1, a_zero), peerless_base::Instant::ZERO, s, r);
        let (s, r) = common::areas();
        let b = peerless::Peer::new(config(cb, 2, b_zero), peerless_base::Instant::ZERO, s, r);
        let mut pair = common::Pair::new(a, b);
        let ch = pair
            .a
            .create_data_channel("crc", ChannelInit::default())
            .unwrap();
        pair.signal();
        assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
            && p.opened(true)));
        let payload: Vec<u8> = (0..5000).map(|x| (x % 253) as u8).collect();
        pair.a
            .send(ch, peerless::MessageKind::Binary, &payload)
            .unwrap();
        assert!(
            pair.run_until(Duration::from_secs(10), |p| !received(&p.events_b)
                .is_empty()),
            "a_zero {a_zero} b_zero {b_zero}"
        );
        assert_eq!(received(&pair.events_b), vec![(true, payload)]);
        assert_eq!(pair.a.stats().sctp.dropped_checksum, 0);
        assert_eq!(pair.b.stats().sctp.dropped_checksum, 0);
    }
}

/// The DTLS suite and group are settings of the Peer: two Peers pinned to AES-256-GCM over
/// secp256r1 (neither is the default's first choice) connect with that suite; a pair whose
/// group lists share nothing never connects; lists are checked when configured.
#[test]
fn dtls_suite_and_group_are_settings() {
    use peerless::dtls::{CipherSuite, ListError, NamedGroup};
    let pinned = |cert, seed: u8, group| {
        peerless::Config::new(cert, [seed; 32])
            .with_dtls_cipher_suites(&[CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384])
            .unwrap()
            .with_dtls_groups(&[group])
            .unwrap()
    };
    for (group_a, group_b, connects) in [
        (NamedGroup::SECP256R1, NamedGroup::SECP256R1, true),
        (NamedGroup::X25519, NamedGroup::SECP256R1, false),
        (NamedGroup::SECP256R1, NamedGroup::X25519, false),
    ] {
        let (ca, cb) = common::certs();
        let (s, r) = common::areas();
        let a = peerless::Peer::new(pinned(ca, 1, group_a), peerless_base::Instant::ZERO, s, r);
        let (s, r) = common::areas();
        let b = peerless::Peer::new(pinned(cb, 2, group_b), peerless_base::Instant::ZERO, s, r);
        let mut pair = common::Pair::new(a, b);
        pair.a
            .create_data_channel("pinned", ChannelInit::default())
            .unwrap();
        pair.signal();
        let opened = pair.run_until(Duration::from_secs(10), |p| {
            p.opened(false) && p.opened(true)
        });
        assert_eq!(opened, connects, "{group_a:?} {group_b:?}");
        let suite = connects.then_some(CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384);
        assert_eq!(pair.a.stats().dtls_cipher, suite);
        assert_eq!(pair.b.stats().dtls_cipher, suite);
    }
    let (ca, _) = common::certs();
    let config = peerless::Config::new(ca, [3; 32]);
    assert_eq!(
        config.clone().with_dtls_cipher_suites(&[]).err(),
        Some(ListError::Empty)
    );
    assert_eq!(
        config.clone().with_dtls_groups(&[NamedGroup(0x0018)]).err(),
        Some(ListError::Unknown(0x0018))
    );
    assert_eq!(
        config
            .with_dtls_cipher_suites(&[
                CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256,
                CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256
            ])
            .err(),
        Some(ListError::Repeated(0xc02b))
    );
}
