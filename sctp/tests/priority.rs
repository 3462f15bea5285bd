//! Sending order among channels (RFC 8831 §6.4): with several channels saturating, the DCEP
//! priority decides the share of each; equal priorities share evenly; none is starved.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_base::Instant;
use peerless_sctp::{
    Association, ChannelOptions, Config, DtlsRole, Event, MessageKind, Stats, StreamId,
};

type Assoc = Association;

fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

fn exchange(a: &mut Assoc, b: &mut Assoc, now: Instant, got: &mut Vec<StreamId>) -> bool {
    let mut buf = [0u8; 1500];
    let mut moved = false;
    while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
        b.handle_packet(now, t);
        moved = true;
    }
    while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
        a.handle_packet(now, t);
        moved = true;
    }
    while let Some(e) = b.poll_event() {
        if let Event::Message { stream, .. } = e {
            got.push(stream);
        }
    }
    while a.poll_event().is_some() {}
    moved
}

fn options(id: u16, priority: u16) -> ChannelOptions {
    ChannelOptions {
        negotiated: Some(StreamId(id)),
        priority,
        ..ChannelOptions::default()
    }
}

/// Queues `per_channel` messages of 1000 bytes on channel 1 (`first_priority`), then as many
/// on channel 3 (`second_priority`), and returns the channels of the first `per_channel`
/// messages the peer receives, with the sender's stats.
fn first_delivered(
    first_priority: u16,
    second_priority: u16,
    per_channel: usize,
) -> (Vec<StreamId>, Stats) {
    let mut a: Assoc = Association::new(
        Config::new(DtlsRole::Client, [1; 32]),
        Instant::ZERO,
        area(512 * 1024),
        area(512 * 1024),
    );
    let mut b: Assoc = Association::new(
        Config::new(DtlsRole::Server, [2; 32]),
        Instant::ZERO,
        area(512 * 1024),
        area(512 * 1024),
    );
    let now = Instant::from_millis(1);
    a.connect(now);
    let mut got = Vec::new();
    while exchange(&mut a, &mut b, now, &mut got) {}
    assert!(a.is_established() && b.is_established());
    let low = a
        .open_channel("first", "", options(1, first_priority))
        .unwrap();
    let high = a
        .open_channel("second", "", options(3, second_priority))
        .unwrap();
    b.open_channel("first", "", options(1, first_priority))
        .unwrap();
    b.open_channel("second", "", options(3, second_priority))
        .unwrap();
    let message = [7u8; 1000];
    for _ in 0..per_channel {
        a.send(low, MessageKind::Binary, &message).unwrap();
    }
    for _ in 0..per_channel {
        a.send(high, MessageKind::Binary, &message).unwrap();
    }
    let mut t = now;
    for _ in 0..10_000 {
        if got.len() >= 2 * per_channel {
            break;
        }
        if !exchange(&mut a, &mut b, t, &mut got) {
            t = a.poll_timeout().unwrap_or(t).max(t);
            a.handle_timeout(t);
            b.handle_timeout(t);
        }
    }
    assert_eq!(got.len(), 2 * per_channel, "everything arrives");
    got.truncate(per_channel);
    (got, a.stats())
}

fn count(got: &[StreamId], id: u16) -> usize {
    got.iter().filter(|s| **s == StreamId(id)).count()
}

#[test]
fn a_higher_priority_gets_the_larger_share_and_the_lower_is_not_starved() {
    // Channel 3 (high, 1024) was queued after all of channel 1 (low, 256): first come first
    // served would deliver channel 1's 40 messages first.
    let (got, _) = first_delivered(256, 1024, 40);
    let (low, high) = (count(&got, 1), count(&got, 3));
    println!("first 40 delivered: low {low}, high {high}");
    // Weights 1:4 -> 8 and 32 of 40, give or take the first pick.
    assert!((30..=34).contains(&high), "high {high}, low {low}");
    assert!(low >= 6, "the low-priority channel still sends: {low}");
}

#[test]
fn equal_priorities_share_evenly() {
    let (got, _) = first_delivered(256, 256, 40);
    let (first, second) = (count(&got, 1), count(&got, 3));
    println!("first 40 delivered: {first} and {second}");
    assert!(first.abs_diff(second) <= 2, "{first} vs {second}");
    // Round robin by bytes: the two alternate.
    let switches = got.windows(2).filter(|w| w[0] != w[1]).count();
    assert!(switches >= 30, "{switches} switches in {got:?}");
}

#[test]
fn a_lower_priority_queued_later_waits_its_share() {
    let (got, _) = first_delivered(1024, 128, 45);
    let (high, low) = (count(&got, 1), count(&got, 3));
    println!("first 45 delivered: high {high}, low {low}");
    // Weights 8:1 -> 40 and 5 of 45.
    assert!((38..=42).contains(&high), "high {high}, low {low}");
    assert!(low >= 3, "low {low}");
}
