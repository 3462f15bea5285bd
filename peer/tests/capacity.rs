//! Nothing is lost silently: full tables and queues are errors, events or backpressure the
//! host sees, never a dropped event or a made-up id.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Ev, Pair, addr, certs, drain, peer};
use peerless::{ChannelInit, ConnectionState, Event, Peer, SdpType, Storage};
use peerless_base::Instant;

fn open_channels(n: usize) -> (Pair, Vec<peerless::ChannelId>) {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    pair.signal();
    let ids: Vec<_> = (0..n)
        .map(|i| {
            pair.a
                .create_data_channel(&format!("c{i}"), ChannelInit::default())
                .unwrap()
        })
        .collect();
    let opened = |evs: &[Ev]| evs.iter().filter(|e| matches!(e, Ev::Open { .. })).count();
    assert!(pair.run_until(Duration::from_secs(10), |p| {
        opened(&p.events_a) == n && opened(&p.events_b) == n
    }));
    (pair, ids)
}

#[test]
fn closing_with_32_open_channels_delivers_every_channel_closed_and_the_final_state() {
    let (mut pair, ids) = open_channels(32);
    pair.a.close();
    let evs = drain(&mut pair.a);
    let closed: Vec<u16> = evs
        .iter()
        .filter_map(|e| match e {
            Ev::Closed(c) => Some(*c),
            _ => None,
        })
        .collect();
    let mut want: Vec<u16> = ids.iter().map(|c| c.0).collect();
    let mut got = closed.clone();
    want.sort_unstable();
    got.sort_unstable();
    assert_eq!(got, want, "{evs:?}");
    assert!(evs.contains(&Ev::Conn(ConnectionState::Closed)), "{evs:?}");
    // The remote learns it from the ABORT: all 32 close there too.
    pair.events_b.clear();
    pair.run_until(Duration::from_secs(2), |p| {
        p.events_b
            .iter()
            .filter(|e| matches!(e, Ev::Closed(_)))
            .count()
            == 32
    });
    let closed_b = pair
        .events_b
        .iter()
        .filter(|e| matches!(e, Ev::Closed(_)))
        .count();
    assert_eq!(closed_b, 32, "{:?} {:?}", pair.events_b, pair.b.stats());
    // The ABORT failed the association under B's channels: each gets its error, then its close
    // (`onerror` before `onclose`); A asked for its close, so none there.
    for (i, e) in pair.events_b.iter().enumerate() {
        if let Ev::Closed(c) = e {
            assert!(
                pair.events_b[..i].contains(&Ev::Error(*c)),
                "{:?}",
                pair.events_b
            );
        }
    }
    assert!(!evs.iter().any(|e| matches!(e, Ev::Error(_))), "{evs:?}");
    assert_eq!(pair.a.stats().dropped_events, 0);
    assert_eq!(pair.b.stats().dropped_events, 0);
}

#[test]
fn a_host_that_drains_late_still_learns_every_channel_and_the_latest_state() {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    pair.hold_a = true;
    pair.signal();
    for i in 0..32 {
        pair.b
            .create_data_channel(&format!("c{i}"), ChannelInit::default())
            .unwrap();
    }
    pair.run_until(Duration::from_secs(10), |p| {
        p.events_b
            .iter()
            .filter(|e| matches!(e, Ev::Open { .. }))
            .count()
            == 32
    });
    // A's host never drained while ICE, DTLS and SCTP connected and 32 channels opened.
    let evs = drain(&mut pair.a);
    let opens = evs
        .iter()
        .filter(|e| matches!(e, Ev::Open { remote: true, .. }))
        .count();
    assert_eq!(opens, 32, "{evs:?}");
    let last_state = evs.iter().rev().find_map(|e| match e {
        Ev::Conn(s) => Some(*s),
        _ => None,
    });
    assert_eq!(last_state, Some(ConnectionState::Connected), "{evs:?}");
    // Every channel's open came before any of its messages and none is reported twice.
    assert_eq!(pair.a.stats().dropped_events, 0);
}

/// A Peer whose ICE agent keeps two remote candidates.
type TwoCandidatePeer = Peer<&'static mut [u8], 256, 32, 4096, 2048, 16384, 2>;

#[test]
fn candidates_beyond_the_remote_table_are_reported_once_per_description() {
    let (ca, cb) = certs();
    let mut remote = peer(cb, 2);
    for port in 1..=4 {
        remote
            .add_local_candidate(addr(&format!("127.0.0.{port}:5000")))
            .unwrap();
    }
    let mut buf = vec![0u8; 8192];
    let offer = remote.create_offer(&mut buf).unwrap().to_string();
    assert_eq!(offer.matches("a=candidate").count(), 4, "{offer}");

    let storage: &'static mut Storage<{ 64 * 1024 }, { 64 * 1024 }> =
        Box::leak(Box::new(Storage::new()));
    let (s, r) = storage.areas();
    let mut p: TwoCandidatePeer =
        Peer::new(peerless::Config::new(ca, [5; 32]), Instant::ZERO, s, r);
    p.set_remote_description(SdpType::Offer, &offer).unwrap();
    let mut refused = Vec::new();
    while let Some(e) = p.poll_event() {
        if let Event::RemoteCandidatesRefused(n) = e {
            refused.push(n);
        }
    }
    assert_eq!(refused, [2]);
    assert_eq!(p.stats().remote_candidates_refused, 2);
    assert_eq!(p.stats().remote_candidates_unusable, 0);
}

#[test]
fn tcp_candidates_are_counted_as_unusable_not_as_refused() {
    let (ca, _) = certs();
    let mut p = peer(ca, 3);
    let offer = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sdp/tests/fixtures/chromium-offer-datachannel.sdp"
    ))
    .unwrap();
    let tcp = offer.matches(" tcp ").count() as u64;
    assert!(tcp > 0);
    p.set_remote_description(SdpType::Offer, &offer).unwrap();
    assert_eq!(p.stats().remote_candidates_unusable, tcp);
    assert_eq!(p.stats().remote_candidates_refused, 0);
    while let Some(e) = p.poll_event() {
        assert!(!matches!(e, Event::RemoteCandidatesRefused(_)));
    }
}
