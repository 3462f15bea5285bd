//! SACKs: gap blocks, duplicate TSNs and the advertised window (RFC 9260 §3.3.4, §6.2).

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn sacks_report_gaps_and_duplicates() {
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    let ch = a.open_channel("s", "", ChannelOptions::default()).unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    for i in 0..4u8 {
        a.send(ch, MessageKind::Binary, &[i; 1000]).unwrap();
    }
    // Four packets of one chunk each (1000 + 1000 do not fit in 1200).
    let packets = drain(&mut a);
    assert_eq!(packets.len(), 4);
    // Deliver 0, then 2, 3 (1 lost), then 2 again.
    let p0 = packets[0].clone();
    b.handle_packet(Instant::ZERO, &p0);
    assert!(drain(&mut b).is_empty(), "one packet: the SACK is delayed");
    assert!(b.poll_timeout().is_some());
    for i in [2, 3, 2] {
        let p = packets[i].clone();
        b.handle_packet(Instant::ZERO, &p);
    }
    let sacks: Vec<_> = drain(&mut b);
    let last = sacks.last().unwrap();
    let packet = Packet::parse(last).unwrap();
    let chunk = packet
        .chunks()
        .find_map(|c| c.ok().filter(|c| c.chunk_type == ChunkType::SACK))
        .unwrap();
    let sack = Sack::parse(&chunk).unwrap();
    assert_eq!(sack.gap_blocks().collect::<Vec<_>>(), vec![(2, 3)]);
    assert_eq!(sack.duplicate_tsns().count(), 1);
    assert_eq!(
        sack.a_rwnd as usize,
        64 * 1024 - 3000,
        "exactly the free storage"
    );
}
