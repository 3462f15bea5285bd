//! The send history as the send queue: enqueued packets come out of `poll_unsent` in order and
//! byte for byte, a packet that would overwrite an unsent one is refused (`Full`) and nothing
//! is lost, `unsent_room` / `can_enqueue` keep their promise, a NACK is answered only once the
//! packet went out; and (property) any mix of enqueue, record, poll and NACK agrees with a
//! model queue.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;

use peerless_base::{BufferTooSmall, Instant};
use peerless_rtp::send::{HistoryConfig, RecordError, SendHistory};
use proptest::prelude::*;

type History = SendHistory<Vec<u8>>;

fn history(packets: usize, ring: usize) -> History {
    let config = HistoryConfig {
        min_resend_interval: core::time::Duration::ZERO,
        ..HistoryConfig::default()
    };
    SendHistory::new(config, vec![0u8; History::area_for(packets, ring)], packets)
}

/// An RTP packet: V=2, PT 96, `seq`, SSRC 0x1234, `len` bytes in all, the payload marked
/// with the sequence number so a mix-up shows.
fn packet(seq: u16, len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 0x34];
    p[2..4].copy_from_slice(&seq.to_be_bytes());
    p.extend((0..len.saturating_sub(12)).map(|i| (seq as usize + i) as u8));
    p
}

fn ms(t: u64) -> Instant {
    Instant::from_millis(t)
}

fn poll(h: &mut History, now: Instant) -> Option<Vec<u8>> {
    let mut buf = [0u8; 1500];
    let n = h.poll_unsent(now, &mut buf).unwrap()?;
    Some(buf[..n].to_vec())
}

#[test]
fn enqueued_packets_come_out_in_order_byte_for_byte() {
    let mut h = history(16, 4096);
    assert_eq!(h.unsent_len(), 0);
    assert_eq!(h.next_unsent_len(), None);
    for seq in 100..105u16 {
        h.enqueue(ms(0), &packet(seq, 50 + usize::from(seq)))
            .unwrap();
    }
    assert_eq!(h.unsent_len(), 5);
    assert_eq!(h.next_unsent_len(), Some(150));
    for seq in 100..105u16 {
        assert_eq!(
            poll(&mut h, ms(1)),
            Some(packet(seq, 50 + usize::from(seq)))
        );
    }
    assert_eq!(poll(&mut h, ms(1)), None);
    assert_eq!(h.unsent_len(), 0);
    assert_eq!(h.stats().sent_from_queue, 5);
    assert_eq!(h.stats().recorded, 5);
    // Sent packets stay for NACKs.
    assert_eq!(h.get(102), Some(&packet(102, 152)[..]));
}

#[test]
fn a_short_buffer_leaves_the_packet_first_in_the_queue() {
    let mut h = history(16, 4096);
    h.enqueue(ms(0), &packet(1, 300)).unwrap();
    let mut small = [0u8; 299];
    assert_eq!(
        h.poll_unsent(ms(0), &mut small),
        Err(BufferTooSmall { needed: 300 })
    );
    assert_eq!(h.unsent_len(), 1);
    assert_eq!(poll(&mut h, ms(0)), Some(packet(1, 300)));
}

#[test]
fn a_full_ring_refuses_rather_than_overwrite_an_unsent_packet() {
    // 1000 bytes of ring, 300-byte packets: three fit (the fourth would reach past the first).
    let mut h = history(64, 1000);
    for seq in 0..3u16 {
        h.enqueue(ms(0), &packet(seq, 300)).unwrap();
    }
    assert_eq!(h.unsent_room(), 100);
    assert!(!h.can_enqueue(1, 300, 300));
    assert_eq!(h.enqueue(ms(0), &packet(3, 300)), Err(RecordError::Full));
    assert_eq!(h.stats().refused_full, 1);
    // Nothing was kept, nothing lost: the three come out, then 3 fits.
    assert_eq!(h.unsent_len(), 3);
    assert!(!h.contains(3));
    assert_eq!(poll(&mut h, ms(1)), Some(packet(0, 300)));
    // 1 and 2 hold 300..900: 400 bytes up to 1's start a lap on. The promise is conservative
    // (it pays for a packet's worth lost at the ring's end), so it does not cover one
    // 300-byte packet; it does cover 100 bytes, and the 300 fit anyway (at the lap's start).
    assert_eq!(h.unsent_room(), 400);
    assert!(!h.can_enqueue(1, 300, 300) && h.can_enqueue(1, 100, 100));
    h.enqueue(ms(1), &packet(3, 300)).unwrap();
    for seq in 1..4u16 {
        assert_eq!(poll(&mut h, ms(2)), Some(packet(seq, 300)));
    }
    // Sent packets are overwritten as before: 0 went out and its bytes are taken by 3.
    assert!(!h.contains(0));
    // Recording (the caller sent it itself) with nothing unsent never hits Full.
    for seq in 4..40u16 {
        h.record(ms(3), &packet(seq, 300)).unwrap();
    }
}

#[test]
fn a_full_index_refuses_too() {
    let mut h = history(4, 64 * 1024);
    for seq in 0..4u16 {
        assert_eq!(h.unsent_room_packets(), 4 - usize::from(seq));
        h.enqueue(ms(0), &packet(seq, 100)).unwrap();
    }
    assert_eq!(h.unsent_room_packets(), 0);
    assert!(!h.can_enqueue(1, 100, 100));
    // 4 would take 0's record.
    assert_eq!(h.enqueue(ms(0), &packet(4, 100)), Err(RecordError::Full));
    // A jump far ahead lands on a record of an unsent packet too.
    assert_eq!(h.enqueue(ms(0), &packet(9, 100)), Err(RecordError::Full));
    assert_eq!(poll(&mut h, ms(1)), Some(packet(0, 100)));
    assert_eq!(h.unsent_room_packets(), 1);
    h.enqueue(ms(1), &packet(4, 100)).unwrap();
    for seq in 1..5u16 {
        assert_eq!(poll(&mut h, ms(2)), Some(packet(seq, 100)));
    }
}

#[test]
fn a_nack_is_answered_only_once_the_packet_went_out() {
    let mut h = history(16, 4096);
    h.enqueue(ms(0), &packet(7, 100)).unwrap();
    h.handle_nack(ms(10), [7]);
    assert_eq!(h.stats().dropped_nack_unsent, 1);
    let mut buf = [0u8; 1500];
    assert!(h.poll_transmit(&mut buf).unwrap().is_none());
    assert_eq!(poll(&mut h, ms(20)), Some(packet(7, 100)));
    h.handle_nack(ms(30), [7]);
    let resent = h.poll_transmit(&mut buf).unwrap().unwrap();
    assert_eq!(resent.packet, &packet(7, 100)[..]);
}

#[test]
fn recorded_packets_are_skipped_by_the_queue_and_reset_empties_it() {
    let mut h = history(16, 4096);
    h.enqueue(ms(0), &packet(1, 100)).unwrap();
    h.record(ms(0), &packet(2, 100)).unwrap();
    h.enqueue(ms(0), &packet(5, 100)).unwrap();
    assert_eq!(h.unsent_len(), 2);
    assert_eq!(poll(&mut h, ms(1)), Some(packet(1, 100)));
    assert_eq!(poll(&mut h, ms(1)), Some(packet(5, 100)));
    assert_eq!(poll(&mut h, ms(1)), None);
    h.enqueue(ms(2), &packet(6, 100)).unwrap();
    h.reset();
    assert_eq!((h.unsent_len(), poll(&mut h, ms(3))), (0, None));
    assert!(!h.contains(5));
}

#[test]
fn an_area_smaller_than_its_index_holds_what_fits() {
    let h: SendHistory<[u8; 100]> = SendHistory::new(HistoryConfig::default(), [0u8; 100], 16);
    assert_eq!(
        h.packets(),
        100 / SendHistory::<[u8; 100]>::INDEX_BYTES_PER_PACKET
    );
    let mut h: SendHistory<Vec<u8>> = SendHistory::new(HistoryConfig::default(), Vec::new(), 16);
    assert_eq!((h.packets(), h.capacity()), (0, 0));
    assert!(matches!(
        h.enqueue(ms(0), &packet(1, 20)),
        Err(RecordError::TooLarge { .. })
    ));
}

#[derive(Clone, Debug)]
enum Op {
    /// A batch of packets (sizes), checked with `can_enqueue` first.
    Enqueue {
        gap: u16,
        sizes: Vec<usize>,
    },
    Record {
        gap: u16,
        size: usize,
    },
    Poll {
        count: usize,
    },
    Nack {
        back: u16,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (prop_oneof![9 => Just(1u16), 1 => 1u16..200], proptest::collection::vec(12usize..700, 1..6))
            .prop_map(|(gap, sizes)| Op::Enqueue { gap, sizes }),
        1 => (1u16..3, 12usize..700).prop_map(|(gap, size)| Op::Record { gap, size }),
        3 => (1usize..5).prop_map(|count| Op::Poll { count }),
        1 => (0u16..40).prop_map(|back| Op::Nack { back }),
    ]
}

proptest! {
    /// Against a model FIFO: what `poll_unsent` hands out is exactly what was accepted, in
    /// order; `Full` keeps nothing and loses nothing; a batch `can_enqueue` allows is taken
    /// whole; the counts agree.
    #[test]
    fn the_queue_agrees_with_a_model(
        ops in proptest::collection::vec(op(), 1..120),
        ring in 800usize..6000,
        packets in 2usize..40,
    ) {
        let mut h = history(packets, ring);
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut seq = 1000u16;
        let mut now = 0u64;
        for op in ops {
            now += 1;
            match op {
                Op::Enqueue { gap, sizes } => {
                    let bytes: usize = sizes.iter().sum();
                    let largest = *sizes.iter().max().unwrap();
                    // The promise is for consecutive numbers.
                    let promised = gap == 1 && h.can_enqueue(sizes.len(), bytes, largest);
                    let mut first = true;
                    for size in sizes {
                        let step = if first { gap } else { 1 };
                        seq = seq.wrapping_add(step);
                        first = false;
                        let p = packet(seq, size);
                        let before = h.unsent_len();
                        match h.enqueue(ms(now), &p) {
                            Ok(()) => model.push_back(p),
                            Err(RecordError::Full) => {
                                prop_assert!(!promised, "can_enqueue promised room");
                                prop_assert_eq!(h.unsent_len(), before);
                                // The number is not taken: the caller may try it again.
                                seq = seq.wrapping_sub(step);
                            }
                            Err(e) => prop_assert!(false, "{e:?}"),
                        }
                    }
                }
                Op::Record { gap, size } => {
                    seq = seq.wrapping_add(gap);
                    match h.record(ms(now), &packet(seq, size)) {
                        Ok(()) => {}
                        Err(RecordError::Full) => seq = seq.wrapping_sub(gap),
                        Err(e) => prop_assert!(false, "{e:?}"),
                    }
                }
                Op::Poll { count } => {
                    for _ in 0..count {
                        prop_assert_eq!(poll(&mut h, ms(now)), model.pop_front());
                    }
                }
                Op::Nack { back } => {
                    h.handle_nack(ms(now), [seq.wrapping_sub(back)]);
                    let mut buf = [0u8; 1500];
                    while let Some(r) = h.poll_transmit(&mut buf).unwrap() {
                        // Only sent packets are answered.
                        prop_assert!(!model.iter().any(|p| p[2..4] == r.original_sequence.to_be_bytes()));
                    }
                }
            }
            prop_assert_eq!(h.unsent_len(), model.len());
            prop_assert_eq!(h.next_unsent_len(), model.front().map(Vec::len));
        }
        while let Some(p) = model.pop_front() {
            prop_assert_eq!(poll(&mut h, ms(now)), Some(p));
        }
        prop_assert_eq!(poll(&mut h, ms(now)), None);
    }
}
