//! Properties over arbitrary input: the estimator takes any feedback (the network's word)
//! without panicking and keeps its target within the limits; the pacer releases every id it
//! accepted exactly once, in class order, and its byte count matches what waits.

use std::collections::HashMap;

use peerless_base::Instant;
use peerless_cc::{BitrateLimits, Class, Estimator, Event, Pacer, PacerConfig, Release};
use peerless_rtp::send::{PacketFeedback, SentPacket};
use proptest::prelude::*;

fn feedback() -> impl Strategy<Value = PacketFeedback> {
    (
        any::<u16>(),
        proptest::option::of((0u64..120_000_000, any::<u16>())),
        proptest::option::of(any::<i64>()),
    )
        .prop_map(|(sequence, sent, arrival_micros)| PacketFeedback {
            sent: sent.map(|(at, size)| SentPacket {
                sequence,
                sent_at: Instant::from_micros(at),
                size,
            }),
            sequence,
            arrival_micros,
        })
}

proptest! {
    #[test]
    fn any_feedback_keeps_the_target_within_the_limits(
        batches in proptest::collection::vec(
            (0u64..2_000_000, proptest::collection::vec(feedback(), 0..60), proptest::option::of(any::<u64>())),
            1..40,
        ),
        min in 10_000u64..100_000,
        spread in 1u64..100,
    ) {
        let limits = BitrateLimits { min_bps: min, start_bps: min * 2, max_bps: min * (2 + spread) };
        let mut e = Estimator::new(limits).expect("ordered");
        let mut now = Instant::ZERO;
        for (advance, packets, remb) in batches {
            now += core::time::Duration::from_micros(advance);
            e.on_feedback(now, packets);
            if let Some(bps) = remb {
                e.on_remb(now, bps);
            }
            e.handle_timeout(now);
            while let Some(cluster) = e.poll_probe(now) {
                prop_assert!(cluster.bitrate_bps <= limits.max_bps);
            }
            let target = e.target_bps();
            prop_assert!((limits.min_bps..=limits.max_bps).contains(&target), "{target}");
            while let Some(Event::BitrateEstimate { target_bps }) = e.poll_event() {
                prop_assert_eq!(target_bps, target);
            }
        }
    }

    #[test]
    fn the_pacer_releases_each_accepted_id_once_in_class_order(
        ops in proptest::collection::vec((0u8..4, 1u16..1500, 0u64..20_000), 1..200),
        target in 50_000u64..5_000_000,
    ) {
        let mut p: Pacer<32> = Pacer::new(PacerConfig::default(), target);
        let mut now = Instant::ZERO;
        let mut waiting: HashMap<u32, (Class, u16)> = HashMap::new();
        for (id, (class, size, advance)) in ops.into_iter().enumerate() {
            let id = id as u32;
            now += core::time::Duration::from_micros(advance);
            let class = [Class::Audio, Class::Retransmission, Class::Video, Class::Data][usize::from(class)];
            if p.enqueue(now, id, class, size).is_ok() {
                waiting.insert(id, (class, size));
            } else {
                prop_assert_eq!(waiting.len(), 32, "refused only when full");
            }
            while let Some(release) = p.poll_send(now) {
                let Release::Packet { id, class, size } = release else {
                    prop_assert!(false, "padding without a probe");
                    continue;
                };
                prop_assert_eq!(waiting.remove(&id), Some((class, size)), "released once");
                // Audio never waits behind anything; a retransmission never behind media.
                if class != Class::Audio {
                    prop_assert!(!waiting.values().any(|(c, _)| *c == Class::Audio));
                }
                if class == Class::Video || class == Class::Data {
                    prop_assert!(!waiting.values().any(|(c, _)| *c == Class::Retransmission));
                }
            }
            let bytes: u64 = waiting.values().map(|(_, s)| u64::from(*s)).sum();
            prop_assert_eq!(p.queued_bytes(), bytes);
            if !waiting.is_empty() {
                prop_assert!(p.poll_timeout().is_some_and(|t| t >= now), "a deadline while packets wait");
            }
        }
        // Drained in finite time.
        let mut guard = 0;
        while !waiting.is_empty() && guard < 10_000 {
            guard += 1;
            now = p.poll_timeout().expect("packets wait").max(now);
            while let Some(Release::Packet { id, .. }) = p.poll_send(now) {
                waiting.remove(&id);
            }
        }
        prop_assert!(waiting.is_empty());
    }
}
