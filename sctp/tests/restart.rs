//! A peer that restarts (RFC 9260 §5.2.2, §5.2.4 action A): recognised by its tie-tags,
//! and the association it replaces leaves nothing behind.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn a_restarted_peer_is_recognised_by_its_tie_tags() {
    // RFC 9260 §5.2.2 and §5.2.4 case A: the peer loses its state and connects again while we
    // are established. We answer its INIT with a new tag and our current tags as tie-tags; its
    // COOKIE-ECHO then restarts the association instead of being discarded.
    let (_, mut b, _, mut sb) = established(true, true);
    let mut a2 = assoc(DtlsRole::Client, 9, 64 * 1024); // fresh state, a new tag
    let mut sa2 = Seen::default();
    a2.connect(Instant::ZERO);
    exchange(&mut a2, &mut b, &mut sa2, &mut sb, Instant::ZERO);
    assert_eq!(sa2.connected, 1);
    assert_eq!(b.stats().restarts, 1);
    let ch = a2
        .open_channel("again", "", ChannelOptions::default())
        .unwrap();
    a2.send(ch, MessageKind::Text, b"after restart").unwrap();
    exchange(&mut a2, &mut b, &mut sa2, &mut sb, Instant::ZERO);
    assert!(sb.messages.iter().any(|m| m.2 == b"after restart"));
}

#[test]
fn a_restart_starts_congestion_control_and_the_rto_estimate_afresh() {
    // RFC 9260 §5.2.4 action A: the restart is handled as an ABORT followed by a new
    // association, and "all the congestion control parameters (e.g., cwnd, ssthresh) related
    // to this peer MUST be reset to their initial values"; nothing measured on the old
    // association (RTT, back-off, loss) carries over, and no timer of its data is left.
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    let fresh = b.stats();
    // b learns the path: slow start grows its window, the RTT is sampled.
    let ch = b
        .open_channel("bulk", "", ChannelOptions::default())
        .unwrap();
    let mut now = Instant::ZERO;
    for _ in 0..20 {
        for _ in 0..8 {
            let _ = b.send(ch, MessageKind::Binary, &[7; 1000]);
        }
        now = now.saturating_add(Duration::from_millis(30));
        exchange(&mut a, &mut b, &mut sa, &mut sb, now);
    }
    assert!(b.stats().cwnd > fresh.cwnd, "{:?}", b.stats());
    assert!(b.stats().srtt > Duration::ZERO);
    let rto_learned = b.stats().rto;
    // Then a loss: data in flight, T3 expires (window collapsed, ssthresh cut, RTO doubled).
    for _ in 0..4 {
        b.send(ch, MessageKind::Binary, &[8; 1000]).unwrap();
    }
    assert!(!drain(&mut b).is_empty()); // lost
    let t3 = b.poll_timeout().unwrap();
    b.handle_timeout(t3);
    now = t3;
    let before = b.stats();
    assert_eq!(before.t3_expirations, 1);
    assert_eq!(before.rto, rto_learned * 2, "{before:?}");
    assert_ne!(before.rto, fresh.rto);
    assert!(before.cwnd < fresh.cwnd && before.ssthresh != fresh.ssthresh);
    // The peer restarts.
    let mut a2 = assoc(DtlsRole::Client, 9, 64 * 1024);
    let mut sa2 = Seen::default();
    a2.connect(now);
    for _ in 0..4 {
        for p in drain(&mut a2) {
            b.handle_packet(now, &p);
        }
        for p in drain(&mut b) {
            a2.handle_packet(now, &p);
        }
    }
    events(&mut a2, &mut sa2);
    assert_eq!(sa2.connected, 1);
    assert_eq!(b.stats().restarts, 1);
    let after = b.stats();
    assert_eq!(after.cwnd, fresh.cwnd, "cwnd: {after:?}");
    assert_eq!(
        after.ssthresh, after.peer_rwnd,
        "ssthresh: the new peer's window"
    );
    assert_eq!(
        after.srtt,
        Duration::ZERO,
        "no RTT measured on the new association"
    );
    assert_eq!(
        after.rto,
        Config::new(DtlsRole::Server, [2; 32]).rto_initial
    );
    assert_eq!(after.flight_size, 0);
    // Idle for ten minutes: nothing of the old association's is outstanding, so no T3 expires
    // and the association stays up.
    let end = now.saturating_add(Duration::from_secs(600));
    while let Some(t) = b.poll_timeout().filter(|&t| t <= end) {
        b.handle_timeout(t);
        for p in drain(&mut b) {
            a2.handle_packet(t, &p);
        }
        for p in drain(&mut a2) {
            b.handle_packet(t, &p);
        }
    }
    events(&mut b, &mut sb);
    assert_eq!(sb.closed, None);
    assert_eq!(b.stats().t3_expirations, 1, "{:?}", b.stats());
    // And the new association carries data.
    let ch2 = a2
        .open_channel("again", "", ChannelOptions::default())
        .unwrap();
    a2.send(ch2, MessageKind::Text, b"after restart").unwrap();
    exchange(&mut a2, &mut b, &mut sa2, &mut sb, end);
    assert!(sb.messages.iter().any(|m| m.2 == b"after restart"));
}

/// The chunk types of a packet, in order.
fn chunk_types(packet: &[u8]) -> Vec<ChunkType> {
    Packet::parse(packet)
        .unwrap()
        .chunks()
        .map(|c| c.unwrap().chunk_type)
        .collect()
}

#[test]
fn a_restart_in_shutdown_ack_sent_is_answered_with_the_shutdown_ack() {
    // RFC 9260 §9.2: in SHUTDOWN-ACK-SENT an INIT is discarded and the SHUTDOWN ACK sent
    // again; §5.2.4 action A: a restarting peer's COOKIE ECHO there "MUST NOT set up a new
    // association", but resends the SHUTDOWN ACK with an ERROR "Cookie Received While
    // Shutting Down" (cause 10).
    let (mut a, mut b, _, mut sb) = established(true, true);
    // The restarted peer's INIT reaches `b` while it is still established: INIT ACK with
    // tie-tags, held back for now.
    let mut a2 = assoc(DtlsRole::Client, 9, 64 * 1024);
    a2.connect(Instant::ZERO);
    for p in drain(&mut a2) {
        b.handle_packet(Instant::ZERO, &p);
    }
    let init_ack = drain(&mut b);
    assert_eq!(first_chunk_type(&init_ack[0]), ChunkType::INIT_ACK);
    // The old `a` shuts down; `b` answers with SHUTDOWN ACK (lost) and is in SHUTDOWN-ACK-SENT.
    a.close(Instant::ZERO);
    for p in drain(&mut a) {
        b.handle_packet(Instant::ZERO, &p);
    }
    let lost = drain(&mut b);
    assert!(
        lost.iter()
            .any(|p| chunk_types(p).contains(&ChunkType::SHUTDOWN_ACK))
    );
    // A new INIT: no INIT ACK, the SHUTDOWN ACK again.
    let mut a3 = assoc(DtlsRole::Client, 10, 64 * 1024);
    a3.connect(Instant::ZERO);
    for p in drain(&mut a3) {
        b.handle_packet(Instant::ZERO, &p);
    }
    let reply: Vec<_> = drain(&mut b).iter().flat_map(|p| chunk_types(p)).collect();
    assert_eq!(reply, vec![ChunkType::SHUTDOWN_ACK]);
    // The COOKIE ECHO from the INIT ACK of before: no restart, SHUTDOWN ACK and the ERROR.
    for p in init_ack {
        a2.handle_packet(Instant::ZERO, &p);
    }
    let echo = drain(&mut a2);
    assert_eq!(first_chunk_type(&echo[0]), ChunkType::COOKIE_ECHO);
    for p in echo {
        b.handle_packet(Instant::ZERO, &p);
    }
    let reply = drain(&mut b);
    assert_eq!(reply.len(), 1);
    let packet = Packet::parse(&reply[0]).unwrap();
    let chunks: Vec<_> = packet.chunks().map(|c| c.unwrap()).collect();
    let types: Vec<_> = chunks.iter().map(|c| c.chunk_type).collect();
    assert_eq!(types, vec![ChunkType::SHUTDOWN_ACK, ChunkType::ERROR]);
    assert_eq!(
        chunks[1].value,
        [0, 10, 0, 4],
        "cause 10, no cause information"
    );
    assert_eq!(b.stats().restarts, 0);
    events(&mut b, &mut sb);
    assert_eq!(sb.connected, 1, "no second Connected");
    assert_eq!(sb.closed, None);
    // The shutdown still completes with the old peer.
    for p in drain(&mut a) {
        b.handle_packet(Instant::ZERO, &p);
    }
    let t2 = b.poll_timeout().unwrap();
    b.handle_timeout(t2);
    for p in drain(&mut b) {
        a.handle_packet(t2, &p);
    }
    for p in drain(&mut a) {
        b.handle_packet(t2, &p);
    }
    events(&mut b, &mut sb);
    assert_eq!(sb.closed, Some(CloseReason::Shutdown));
}

#[test]
fn an_association_restarted_in_place_is_a_new_one_over_the_same_areas() {
    // `Association::restart` (the host's, not the protocol's): both ends start over in place
    // mid-transfer, with new seeds. The restarted ends behave as new ones made from the same
    // configuration, byte for byte, and nothing of the old association (queued data, channels,
    // events, counters) reaches the new one.
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    let ch = a
        .open_channel("old", "", ChannelOptions::default())
        .unwrap();
    a.send(ch, MessageKind::Text, b"old message").unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert!(sb.messages.iter().any(|m| m.2 == b"old message"));
    // Left queued and unsent: the restart must drop it.
    a.send(ch, MessageKind::Text, b"never sent").unwrap();
    let _ = b.send(StreamId(ch.0), MessageKind::Text, b"never sent either");

    let now = Instant::from_millis(500);
    let (ca, cb) = (
        Config::new(DtlsRole::Client, [5; 32]),
        Config::new(DtlsRole::Server, [6; 32]),
    );
    a.restart(ca.clone(), now);
    b.restart(cb, now);
    let mut twin = Association::new(ca, now, area(64 * 1024), area(64 * 1024));
    assert!(
        a.poll_event().is_none() && b.poll_event().is_none(),
        "no old event"
    );
    assert!(
        drain(&mut a).is_empty() && drain(&mut b).is_empty(),
        "no old packet"
    );
    assert_eq!(a.stats().packets_received, 0);
    assert_eq!(a.buffered_amount(ch), 0);
    assert!(!a.is_closed());
    a.connect(now);
    twin.connect(now);
    assert_eq!(
        drain(&mut a),
        drain(&mut twin),
        "the same INIT as a new association"
    );
    assert_eq!(a.poll_timeout(), twin.poll_timeout());

    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    // The INIT went to the comparison: T1 sends it again.
    let t1 = a.poll_timeout().unwrap();
    a.handle_timeout(t1);
    exchange(&mut a, &mut b, &mut sa, &mut sb, t1);
    assert_eq!((sa.connected, sb.connected), (1, 1));
    let ch = a
        .open_channel("new", "", ChannelOptions::default())
        .unwrap();
    a.send(ch, MessageKind::Text, b"new message").unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, t1);
    let got: Vec<_> = sb.messages.iter().map(|m| m.2.clone()).collect();
    assert_eq!(got, vec![b"new message".to_vec()]);
    assert_eq!(
        sb.opened.iter().map(|o| o.1.as_str()).collect::<Vec<_>>(),
        ["new"]
    );
}
