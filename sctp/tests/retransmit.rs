//! Loss recovery (RFC 9260 §6.2.1, §7.2.4; RFC 3758): reneged chunks sent again by T3, fast
//! retransmit within the congestion window, a FORWARD-TSN delivering the complete messages it
//! skips, and a SACK for data never sent ending the association instead of a retransmission
//! loop.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

/// A SACK without gap blocks after chunks were gap-acked: the receiver reneged, so those
/// chunks are outstanding again and T3 sends them (the sender used to wait forever).
#[test]
fn reneged_chunks_are_retransmitted_by_t3() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 8, 256, 8>(client(), server(), 64 * 1024);
    a.open_channel("n", "", negotiated(1)).unwrap();
    b.open_channel("n", "", negotiated(1)).unwrap();
    b.send(StreamId(1), MessageKind::Binary, b"tag").unwrap();
    let tag_to_a = tag_of(&drain(&mut b)[0]);
    for i in 0..4u8 {
        a.send(StreamId(1), MessageKind::Binary, &[i; 100]).unwrap();
    }
    let out = drain(&mut a);
    let tsns: Vec<u32> = out.iter().flat_map(|p| data_of(p)).map(|d| d.0).collect();
    assert_eq!(tsns.len(), 4);
    let t0 = tsns[0];
    // TSNs 2..4 gap-acked, then a SACK that acks the first and no longer covers the others.
    let sack1 = packet(tag_to_a, |w| {
        Sack::emit(w, t0.wrapping_sub(1), 1 << 20, &[(2, 4)], &[])
    });
    let sack2 = packet(tag_to_a, |w| Sack::emit(w, t0, 1 << 20, &[], &[]));
    a.handle_packet(now, &sack1);
    a.handle_packet(now, &sack2);
    let mut resent = Vec::new();
    for _ in 0..5 {
        resent.extend(drain(&mut a).iter().flat_map(|p| data_of(p)).map(|d| d.0));
        if resent.len() >= 3 {
            break;
        }
        let Some(t) = a.poll_timeout() else { break };
        now = t;
        a.handle_timeout(now);
    }
    resent.sort_unstable();
    resent.dedup();
    assert_eq!(resent, tsns[1..].to_vec());
    events(&mut a, &mut sa);
    events(&mut b, &mut sb);
}

/// RFC 9260 §7.2.4 (3): on entering fast retransmit only the first packet may ignore cwnd.
/// With 20 chunks marked at once (two packets' worth) and the flight above cwnd, exactly one
/// packet of retransmissions leaves (the old per-chunk budget let the second one out too).
#[test]
fn only_the_first_fast_retransmit_packet_exceeds_cwnd() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 8, 256, 8>(client(), server(), 256 * 1024);
    a.open_channel("n", "", negotiated(1)).unwrap();
    b.open_channel("n", "", negotiated(1)).unwrap();
    // Grow cwnd with a bulk transfer over a clean exchange.
    for _ in 0..200 {
        a.send(StreamId(1), MessageKind::Binary, &[7; 1172])
            .unwrap();
    }
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!(sb.messages.len(), 200);
    let cwnd = a.stats().cwnd;
    assert!(cwnd >= 20_000, "cwnd {cwnd}");
    b.send(StreamId(1), MessageKind::Binary, b"tag").unwrap();
    let tag_to_a = tag_of(&drain(&mut b)[0]);
    // Fill the window with 100-byte chunks (about ten per packet).
    for _ in 0..600 {
        a.send(StreamId(1), MessageKind::Binary, &[1; 100]).unwrap();
    }
    let out = drain(&mut a);
    let tsns: Vec<u32> = out.iter().flat_map(|p| data_of(p)).map(|d| d.0).collect();
    assert!(tsns.len() * 100 >= cwnd - 100);
    let t0 = tsns[0];
    // The first 20 are lost; three SACKs each newly ack one chunk above them.
    for k in 0..3u16 {
        let sack = packet(tag_to_a, |w| {
            Sack::emit(w, t0.wrapping_sub(1), 1 << 20, &[(21, 21 + k)], &[])
        });
        a.handle_packet(now, &sack);
    }
    let stats = a.stats();
    assert_eq!(stats.fast_retransmits, 20);
    assert!(stats.flight_size > stats.cwnd, "{stats:?}");
    let before = stats.retransmissions;
    let packets = drain(&mut a);
    let after = a.stats();
    let resent: Vec<u32> = packets
        .iter()
        .flat_map(|p| data_of(p))
        .map(|d| d.0)
        .filter(|&t| t.wrapping_sub(t0) < 20)
        .collect();
    assert_eq!(packets.len(), 1, "one packet beyond cwnd");
    assert_eq!(after.retransmissions - before, resent.len() as u64);
    assert!(after.flight_size <= stats.flight_size + 1200, "{after:?}");
    // Later packets wait for the window: nothing more leaves until acknowledgements.
    assert!(drain(&mut a).is_empty());
}

/// RFC 3758 §3.6: a FORWARD-TSN over an abandoned message delivers the complete ordered
/// messages it skips past instead of deleting them, also while the reader is not reading.
#[test]
fn forward_tsn_delivers_complete_ordered_messages_it_skips() {
    for paused in [false, true] {
        let (mut a, mut b, mut sa, mut sb, now) =
            connected::<256, 8, 256, 8>(client(), server(), 64 * 1024);
        let pr = ChannelOptions {
            negotiated: Some(StreamId(2)),
            reliability: Reliability::MaxRetransmits(0),
            ..ChannelOptions::default()
        };
        a.open_channel("pr", "", pr).unwrap();
        b.open_channel("pr", "", pr).unwrap();
        a.send(StreamId(2), MessageKind::Binary, b"m0").unwrap();
        let lost = drain(&mut a);
        a.send(StreamId(2), MessageKind::Binary, b"m1").unwrap();
        let arrives = drain(&mut a);
        let m1 = data_of(&arrives[0])[0];
        assert_eq!((m1.1, m1.2), (2, 1), "m1 is SSN 1 on stream 2");
        let tag_to_b = tag_of(&lost[0]);
        if paused {
            b.pause_receiving(true);
        }
        b.handle_packet(now, &arrives[0]);
        events(&mut b, &mut sb);
        assert!(sb.messages.is_empty(), "m1 waits for m0");
        // The sender gave up on both (m1's SACK lost too): new cumulative TSN m1, SSN 1.
        let fwd = packet(tag_to_b, |w| ForwardTsn::emit(w, m1.0, &[(2, 1)]));
        b.handle_packet(now, &fwd);
        if paused {
            events(&mut b, &mut sb);
            assert!(sb.messages.is_empty());
            b.pause_receiving(false);
        }
        events(&mut b, &mut sb);
        assert_eq!(
            sb.messages,
            vec![(StreamId(2), b"m1".to_vec())],
            "paused {paused}"
        );
        // The stream goes on at SSN 2.
        a.send(StreamId(2), MessageKind::Binary, b"m2").unwrap();
        let mut m2 = drain(&mut a);
        let lone = m2.remove(0);
        b.handle_packet(now, &lone);
        events(&mut b, &mut sb);
        assert_eq!(sb.messages.last().unwrap(), &(StreamId(2), b"m2".to_vec()));
        events(&mut a, &mut sa);
    }
}

/// Found by `mutated_traffic_never_panics_the_association`: a peer whose cumulative TSN ran
/// ahead of ours (a forged FORWARD-TSN) acknowledges TSNs never sent and reports every
/// retransmission as a duplicate; its SACKs reset the error count, so the sender retransmitted
/// forever. RFC 9260 §6.2.1: such a SACK is a protocol violation, and ends the association.
#[test]
fn a_sack_for_data_never_sent_aborts_instead_of_retransmitting_forever() {
    let (mut a, mut b, _, _, now) = connected::<256, 8, 256, 8>(client(), server(), 64 * 1024);
    a.open_channel("n", "", negotiated(1)).unwrap();
    b.open_channel("n", "", negotiated(1)).unwrap();
    b.send(StreamId(1), MessageKind::Binary, b"tag").unwrap();
    let tag_to_a = tag_of(&drain(&mut b)[0]);
    a.send(StreamId(1), MessageKind::Binary, b"x").unwrap();
    let tsn = data_of(&drain(&mut a)[0])[0].0;
    let sack = packet(tag_to_a, |w| {
        Sack::emit(w, tsn.wrapping_add(1 << 30), 1 << 20, &[], &[])
    });
    a.handle_packet(now, &sack);
    let mut seen = Seen::default();
    events(&mut a, &mut seen);
    assert_eq!(seen.closed, Some(CloseReason::ProtocolViolation));
    let abort = drain(&mut a);
    let chunk = Packet::parse(&abort[0])
        .unwrap()
        .chunks()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(chunk.chunk_type, ChunkType::ABORT);
    assert_eq!(
        chunk.value[..2],
        13u16.to_be_bytes(),
        "Protocol Violation cause"
    );
}
