//! Transport-wide congestion control feedback, receiver side: when it is due (50 ms or 100
//! packets), and (property) that the statuses rebuild every arrival time within the 250 µs
//! quantum, report every sequence number exactly once, and survive the 16-bit wrap.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_base::Instant;
use peerless_rtp::receive::{TccStatus, TwccConfig, TwccFeedback};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn us(n: u64) -> Instant {
    Instant::from_micros(n)
}

#[test]
fn feedback_is_due_50_ms_after_the_last_or_at_100_packets() {
    let mut tw = TwccFeedback::<512>::new(TwccConfig::default());
    let mut statuses = [TccStatus::NotReceived; 256];
    assert_eq!(tw.poll_timeout(), None);
    tw.record(us(1_000_000), 10);
    assert_eq!(tw.poll_timeout(), Some(us(1_050_000)));
    assert!(tw.poll_feedback(us(1_049_999), &mut statuses).is_none());
    let r = tw.poll_feedback(us(1_050_000), &mut statuses).unwrap();
    assert_eq!(
        (r.base_sequence, r.status_count, r.feedback_count),
        (10, 1, 0)
    );
    // 1 000 000 µs = 15 x 64 ms + 40 ms: reference 15, first delta 40 ms = 160 ticks.
    assert_eq!(r.reference_time, 15);
    assert_eq!(statuses[0], TccStatus::Received(160));
    assert_eq!(tw.poll_timeout(), None);
    // 100 packets 100 µs apart: due at the 100th, well before 50 ms.
    for k in 0..100u16 {
        tw.record(us(1_060_000 + u64::from(k) * 100), 11 + k);
        if k < 99 {
            assert_eq!(tw.poll_timeout(), Some(us(1_100_000)));
        }
    }
    assert_eq!(tw.poll_timeout(), Some(us(1_069_900)));
    let r = tw.poll_feedback(us(1_069_900), &mut statuses).unwrap();
    assert_eq!(
        (r.base_sequence, r.status_count, r.feedback_count),
        (11, 100, 1)
    );
    // 1 060 000 = 16 x 64 ms + 36 ms = 144 ticks, then 0.4 tick steps rounded on the
    // rebuilt time: 0, 1, 0, 0, 1, 0, 1, 0, 0, 1 ...
    let deltas: Vec<i16> = statuses[..6]
        .iter()
        .map(|s| match s {
            TccStatus::Received(d) => *d,
            TccStatus::NotReceived => -1,
        })
        .collect();
    assert_eq!(deltas, [144, 0, 1, 0, 1, 0]);
}

#[test]
fn a_lost_packet_is_reported_and_a_late_one_is_counted() {
    let mut tw = TwccFeedback::<64>::new(TwccConfig::default());
    let mut statuses = [TccStatus::NotReceived; 64];
    tw.record(us(0), 65534);
    tw.record(us(1000), 0); // 65535 lost, across the wrap
    let r = tw.poll_feedback(us(50_000), &mut statuses).unwrap();
    assert_eq!(r.base_sequence, 65534);
    assert_eq!(
        statuses[..r.status_count],
        [
            TccStatus::Received(0),
            TccStatus::NotReceived,
            TccStatus::Received(4)
        ]
    );
    tw.record(us(60_000), 65535);
    assert_eq!(tw.stats().dropped_late, 1);
}

#[test]
fn a_delta_beyond_i16_splits_the_feedback() {
    let mut tw = TwccFeedback::<64>::new(TwccConfig::default());
    let mut statuses = [TccStatus::NotReceived; 64];
    tw.record(us(0), 1);
    tw.record(us(9_000_000), 2); // 9 s later: 36 000 ticks > i16::MAX
    let r = tw.poll_feedback(us(9_000_000), &mut statuses).unwrap();
    assert_eq!((r.base_sequence, r.status_count), (1, 1));
    assert_eq!(tw.poll_timeout(), Some(us(9_050_000)));
    let r = tw.poll_feedback(us(9_050_000), &mut statuses).unwrap();
    assert_eq!((r.base_sequence, r.status_count), (2, 1));
    assert_eq!(r.reference_time, 9_000_000 / 64_000);
}

proptest! {
    #[test]
    fn statuses_rebuild_every_arrival_within_a_quantum(
        first in any::<u16>(),
        packets in proptest::collection::vec((any::<bool>(), 0u64..20_000, 0usize..4), 1..400),
        start in 0u64..1_000_000_000,
    ) {
        let mut tw = TwccFeedback::<256>::new(TwccConfig::default());
        let mut statuses = [TccStatus::NotReceived; 128];
        let mut truth: BTreeMap<u16, u64> = BTreeMap::new();
        let mut sent_order: Vec<(u16, u64)> = Vec::new();
        let mut t = start;
        for (k, (lost, gap, _)) in packets.iter().enumerate() {
            t += gap;
            if !lost {
                sent_order.push((first.wrapping_add(k as u16), t));
            }
        }
        // Reorder a little: swap neighbours by the third field.
        let received = sent_order.len();
        for (k, _) in packets.iter().enumerate().skip(1).take(received.saturating_sub(1)).filter(|(_, p)| p.2 == 0) {
            sent_order.swap(k - 1, k);
        }
        let mut reported: BTreeMap<u16, TccStatus> = BTreeMap::new();
        let mut rebuilt: BTreeMap<u16, i128> = BTreeMap::new();
        let mut collect = |tw: &mut TwccFeedback<256>, now: Instant, statuses: &mut [TccStatus]| {
            while let Some(r) = tw.poll_feedback(now, statuses) {
                let mut time = i128::from(r.reference_time) * 64_000;
                for (k, s) in statuses[..r.status_count].iter().enumerate() {
                    let seq = r.base_sequence.wrapping_add(k as u16);
                    assert!(reported.insert(seq, *s).is_none(), "{seq} reported twice");
                    if let TccStatus::Received(d) = s {
                        time += i128::from(*d) * 250;
                        rebuilt.insert(seq, time);
                    }
                }
            }
        };
        let mut now = 0;
        for &(seq, at) in &sent_order {
            // Arrival times are the send order's, so a reordered packet arrives "earlier".
            now = now.max(at);
            tw.record(us(now), seq);
            truth.insert(seq, now);
            collect(&mut tw, us(now), &mut statuses);
        }
        collect(&mut tw, us(now + 1_000_000), &mut statuses);
        // A packet reordered across a feedback was reported lost (or, before the first
        // feedback's base, not at all) and is counted late; every other arrival is rebuilt
        // within half a tick.
        let mut late = 0;
        for (seq, at) in &truth {
            match rebuilt.get(seq) {
                Some(got) => prop_assert!((got - i128::from(*at)).abs() <= 125, "{} at {} rebuilt {}", seq, at, got),
                None => {
                    prop_assert!(matches!(reported.get(seq), None | Some(&TccStatus::NotReceived)));
                    late += 1;
                }
            }
        }
        prop_assert_eq!(late, tw.stats().dropped_late);
        // Every status that says received belongs to a packet that arrived.
        let lost = reported.iter().filter(|(_, s)| **s == TccStatus::NotReceived).count() as u64;
        prop_assert_eq!(lost + truth.len() as u64, reported.len() as u64 + late);
    }
}

#[test]
fn feedback_written_by_the_rtcp_builder_parses_back_to_the_same_statuses() {
    use peerless_rtp::rtcp::{Compound, CompoundBuilder, FeedbackSsrcs, Kind};
    let mut tw = TwccFeedback::<256>::new(TwccConfig::default());
    let mut statuses = [TccStatus::NotReceived; 128];
    // 60 packets over 30 ms with every fifth lost, a 300 ms stall (a two-byte delta), one
    // reordered pair (a negative delta).
    let mut t = 5_000_000u64;
    for k in 0u16..60 {
        t += if k == 30 { 300_000 } else { 500 };
        if k % 5 != 0 {
            let k = match k {
                41 => 42,
                42 => 41,
                k => k,
            };
            tw.record(us(t), 65500u16.wrapping_add(k));
        }
    }
    let r = tw.poll_feedback(us(t + 50_000), &mut statuses).unwrap();
    let ssrcs = FeedbackSsrcs {
        sender: 1,
        media: 2,
    };
    let mut buf = [0u8; 512];
    let mut b = CompoundBuilder::new(&mut buf);
    r.write(ssrcs, &statuses, &mut b);
    let n = b.finish().unwrap();
    let compound = Compound::parse(&buf[..n]).unwrap();
    let packet = compound.packets().next().unwrap();
    let Ok(Kind::TransportCc(fb)) = packet.kind() else {
        panic!("not transport-cc: {packet:?}");
    };
    assert_eq!(fb.base_sequence(), r.base_sequence);
    assert_eq!(fb.reference_time(), r.reference_time);
    assert_eq!(usize::from(fb.status_count()), r.status_count);
    let parsed: Vec<_> = fb.packets().map(|p| (p.sequence, p.status)).collect();
    let ours: Vec<_> = statuses[..r.status_count]
        .iter()
        .enumerate()
        .map(|(k, s)| (r.base_sequence.wrapping_add(k as u16), *s))
        .collect();
    assert_eq!(parsed, ours);
    assert!(
        ours.iter()
            .any(|(_, s)| matches!(s, TccStatus::Received(d) if *d < 0))
    );
    assert!(
        ours.iter()
            .any(|(_, s)| matches!(s, TccStatus::Received(d) if *d > 255))
    );
}
