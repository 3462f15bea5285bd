//! A host that stops draining `poll_event`: received records wait in a bounded queue, the ones
//! beyond it are dropped and counted (never silently), a retransmission of a dropped record is
//! accepted once there is room, and `Closed` still arrives, after the records before it.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::Pair;
use peerless_dtls::{CloseReason, Endpoint, Event};

/// Every datagram the endpoint has to send, in order.
fn datagrams(ep: &mut Endpoint) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    while let Some(t) = ep.poll_transmit(&mut buf).unwrap() {
        out.push(t.to_vec());
    }
    out
}

/// Drains the server's events: the records' payloads, and the close reason if one came; no
/// record may follow `Closed`.
fn drain(ep: &mut Endpoint) -> (Vec<Vec<u8>>, Option<CloseReason>) {
    let (mut records, mut closed) = (Vec::new(), None);
    while let Some(ev) = ep.poll_event() {
        match ev {
            Event::ApplicationData(d) => {
                assert!(closed.is_none(), "a record after Closed");
                records.push(d.to_vec());
            }
            Event::Closed(r) => {
                assert!(closed.is_none(), "Closed twice");
                closed = Some(r);
            }
            other => panic!("unexpected event {other:?}"),
        }
    }
    (records, closed)
}

#[test]
fn records_beyond_the_queue_are_counted_and_accepted_again_later_and_closed_comes_last() {
    let mut pair = Pair::new(31, |c| c);
    pair.run_until_connected();
    let now = pair.now;
    for i in 0..20u8 {
        pair.client.send(&[i; 10]).unwrap();
    }
    let sent = datagrams(&mut pair.client);
    assert_eq!(sent.len(), 20, "one record per datagram");
    for d in &sent {
        pair.server.handle_packet(now, &mut d.clone());
    }
    let stats = pair.server.stats();
    assert_eq!(stats.app_records_received, 16);
    assert_eq!(stats.dropped_rx_full, 4);
    assert_eq!(stats.dropped_replayed, 0);

    // The peer closes while the queue is still full: Closed needs no slot of its own.
    pair.client.close(now);
    for mut d in datagrams(&mut pair.client) {
        pair.server.handle_packet(now, &mut d);
    }
    let (records, closed) = drain(&mut pair.server);
    let expected: Vec<Vec<u8>> = (0..16u8).map(|i| vec![i; 10]).collect();
    assert_eq!(records, expected);
    assert_eq!(closed, Some(CloseReason::PeerClosed));
}

#[test]
fn a_dropped_record_is_not_marked_seen_and_its_retransmission_is_delivered() {
    let mut pair = Pair::new(32, |c| c);
    pair.run_until_connected();
    let now = pair.now;
    for i in 0..17u8 {
        pair.client.send(&[i; 3]).unwrap();
    }
    let sent = datagrams(&mut pair.client);
    for d in &sent {
        pair.server.handle_packet(now, &mut d.clone());
    }
    assert_eq!(pair.server.stats().dropped_rx_full, 1);
    let (records, _) = drain(&mut pair.server);
    assert_eq!(records.len(), 16);
    // The same bytes again (what a retransmitting layer above would send) now fit.
    pair.server.handle_packet(now, &mut sent[16].clone());
    let (records, closed) = drain(&mut pair.server);
    assert_eq!(records, [vec![16u8; 3]]);
    assert_eq!(closed, None);
    // And a second copy is a replay.
    pair.server.handle_packet(now, &mut sent[16].clone());
    assert_eq!(pair.server.stats().dropped_replayed, 1);
}
