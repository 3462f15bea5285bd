//! Reassembly: a message of more chunks than the receive records, up to the announced
//! `local_max_message_size`, arrives in either direction.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

/// Receivers with 8 chunk records and 48 KiB of storage take a message of the announced
/// `local_max_message_size` (42 chunks) in either direction.
#[test]
fn a_message_of_more_chunks_than_records_arrives_in_both_directions() {
    let mut a: Assoc<8, 4> = new(client(), 256 * 1024, 48 * 1024);
    let mut b: Assoc<8, 4> = new(server(), 256 * 1024, 48 * 1024);
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    let mut now = Instant::ZERO;
    a.connect(now);
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    a.open_channel("big", "", negotiated(1)).unwrap();
    b.open_channel("big", "", negotiated(1)).unwrap();
    let to_b: Vec<u8> = (0..b.local_max_message_size()).map(|i| i as u8).collect();
    let to_a: Vec<u8> = (0..a.local_max_message_size())
        .map(|i| (i * 7) as u8)
        .collect();
    assert_eq!(to_b.len(), 48 * 1024);
    a.send(StreamId(1), MessageKind::Binary, &to_b).unwrap();
    b.send(StreamId(1), MessageKind::Binary, &to_a).unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!((sa.closed, sb.closed), (None, None));
    assert_eq!(sb.messages, vec![(StreamId(1), to_b)]);
    assert_eq!(sa.messages, vec![(StreamId(1), to_a)]);
}
