//! The four-way handshake packet by packet: what the INIT carries and its retransmission,
//! passive open, INIT collision, a lost COOKIE-ACK, forged and stale cookies and wrong tags,
//! unknown INIT parameters, and the HEARTBEAT answer.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn init_carries_the_extensions_webrtc_stacks_expect() {
    let mut a = assoc(DtlsRole::Client, 1, 8192);
    a.connect(Instant::ZERO);
    let packets = drain(&mut a);
    assert_eq!(packets.len(), 1);
    let p = Packet::parse(&packets[0]).unwrap();
    assert_eq!(p.verification_tag(), 0);
    assert_eq!((p.source_port(), p.destination_port()), (5000, 5000));
    assert_eq!(wire::check_checksum(&packets[0]), wire::Checksum::Valid);
    let chunk = p.chunks().next().unwrap().unwrap();
    let init = Init::parse(&chunk).unwrap();
    let caps = init.capabilities();
    assert!(caps.forward_tsn && caps.reconfig && caps.zero_checksum);
    assert_eq!(
        init.a_rwnd, 8192,
        "the window is exactly the receive storage"
    );
    assert_eq!(
        (init.outbound_streams, init.inbound_streams),
        (65535, 65535)
    );
    // T1-init retransmits the INIT, then gives up.
    let mut inits = 1;
    let mut seen = Seen::default();
    for _ in 0..20 {
        let Some(t) = a.poll_timeout() else { break };
        a.handle_timeout(t);
        inits += drain(&mut a).len();
        events(&mut a, &mut seen);
    }
    assert_eq!(inits, 9, "one INIT and eight retransmissions");
    assert_eq!(seen.closed, Some(CloseReason::InitTimeout));
}

#[test]
fn handshake_passive_and_collision_and_lost_cookie_ack() {
    // Passive open.
    let (mut a, mut b) = (
        assoc(DtlsRole::Client, 1, 8192),
        assoc(DtlsRole::Server, 2, 8192),
    );
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    a.connect(Instant::ZERO);
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!((sa.connected, sb.connected), (1, 1));

    // Both send INIT at once (aiortc does): each answers the other's INIT with its own tag,
    // both cookies are accepted, each side reports Connected once.
    let (mut a, mut b) = (
        assoc(DtlsRole::Client, 3, 8192),
        assoc(DtlsRole::Server, 4, 8192),
    );
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    a.connect(Instant::ZERO);
    b.connect(Instant::ZERO);
    let ia = drain(&mut a);
    let ib = drain(&mut b);
    for p in ia {
        b.handle_packet(Instant::ZERO, &p);
    }
    for p in ib {
        a.handle_packet(Instant::ZERO, &p);
    }
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!((sa.connected, sb.connected), (1, 1));
    let ch = a
        .open_channel("after-collision", "", ChannelOptions::default())
        .unwrap();
    a.send(ch, MessageKind::Binary, b"data").unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!(
        sb.messages,
        vec![(ch, MessageKind::Binary, b"data".to_vec())]
    );

    // The COOKIE-ACK is lost: T1-cookie resends the COOKIE-ECHO, which the established peer
    // answers again (RFC 9260 §5.2.4 case D).
    let (mut a, mut b) = (
        assoc(DtlsRole::Client, 5, 8192),
        assoc(DtlsRole::Server, 6, 8192),
    );
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    a.connect(Instant::ZERO);
    for p in drain(&mut a) {
        b.handle_packet(Instant::ZERO, &p); // INIT
    }
    for p in drain(&mut b) {
        a.handle_packet(Instant::ZERO, &p); // INIT-ACK
    }
    for p in drain(&mut a) {
        assert_eq!(first_chunk_type(&p), ChunkType::COOKIE_ECHO);
        b.handle_packet(Instant::ZERO, &p);
    }
    let lost = drain(&mut b);
    assert_eq!(first_chunk_type(&lost[0]), ChunkType::COOKIE_ACK);
    events(&mut b, &mut sb);
    assert_eq!(sb.connected, 1);
    let t1 = a.poll_timeout().unwrap();
    a.handle_timeout(t1);
    exchange(&mut a, &mut b, &mut sa, &mut sb, t1);
    assert_eq!((sa.connected, sb.connected), (1, 1));
}

#[test]
fn wrong_tags_bad_checksums_and_forged_cookies_are_dropped() {
    let (mut a, mut b) = (
        assoc(DtlsRole::Client, 1, 8192),
        assoc(DtlsRole::Server, 2, 8192),
    );
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    a.connect(Instant::ZERO);
    for p in drain(&mut a) {
        b.handle_packet(Instant::ZERO, &p);
    }
    let init_ack = drain(&mut b).remove(0);
    a.handle_packet(Instant::ZERO, &init_ack.clone());
    let echo = drain(&mut a).remove(0);
    // A forged cookie: flip a bit inside the HMAC-protected body.
    let mut forged = echo.clone();
    forged[20] ^= 0x40;
    wire::seal(&mut forged, false);
    b.handle_packet(Instant::ZERO, &forged);
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.stats().dropped_cookie, 1);
    // A bad checksum.
    let mut corrupt = echo.clone();
    corrupt[8] ^= 1;
    b.handle_packet(Instant::ZERO, &corrupt);
    assert_eq!(b.stats().dropped_checksum, 1);
    // A stale cookie (older than its 60 s lifetime).
    let stale = echo.clone();
    b.handle_packet(Instant::from_secs(61), &stale);
    assert!(drain(&mut b).is_empty());
    assert_eq!(b.stats().dropped_cookie, 2);
    // The genuine one establishes (with a fresh association, as time moved on for `b`).
    let mut b2 = assoc(DtlsRole::Server, 2, 8192);
    b2.handle_packet(Instant::ZERO, &echo);
    exchange(&mut a, &mut b2, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!((sa.connected, sb.connected), (1, 1));
    // A packet with the wrong verification tag.
    let ch = a.open_channel("x", "", ChannelOptions::default()).unwrap();
    a.send(ch, MessageKind::Text, b"hi").unwrap();
    let mut data = drain(&mut a).remove(0);
    data[4] ^= 0xff;
    wire::seal(&mut data, false);
    b2.handle_packet(Instant::ZERO, &data);
    assert_eq!(b2.stats().dropped_tag, 1);
    // Garbage never panics and is counted.
    b2.handle_packet(Instant::ZERO, &[1, 2, 3]);
    assert_eq!(b2.stats().dropped_malformed, 1);
}

#[test]
fn unknown_init_parameters_are_reported_and_heartbeats_answered() {
    let mut b = assoc(DtlsRole::Server, 2, 8192);
    // An INIT with an unknown "skip and report" parameter (0xC123) and an unknown "skip"
    // parameter (0x8123).
    let mut buf = [0u8; 256];
    let mut w = Writer::new(&mut buf);
    wire::emit_common_header(&mut w, 5000, 5000, 0);
    wire::emit_chunk(&mut w, ChunkType::INIT, 0, |w| {
        w.u32(0x1234_5678);
        w.u32(65536);
        w.u16(10);
        w.u16(10);
        w.u32(1);
        wire::emit_param(w, wire::ParamType(0xC123), |w| w.bytes(b"abc"));
        wire::emit_param(w, wire::ParamType(0x8123), |w| w.bytes(b"xy"));
    });
    let n = w.finish().unwrap();
    wire::seal(&mut buf[..n], false);
    b.handle_packet(Instant::ZERO, &buf[..n]);
    let reply = drain(&mut b).remove(0);
    let p = Packet::parse(&reply).unwrap();
    assert_eq!(p.verification_tag(), 0x1234_5678);
    let chunk = p.chunks().next().unwrap().unwrap();
    assert_eq!(chunk.chunk_type, ChunkType::INIT_ACK);
    let init_ack = Init::parse(&chunk).unwrap();
    let reported: Vec<_> = init_ack
        .params()
        .flatten()
        .filter(|p| p.param_type == wire::ParamType::UNRECOGNIZED_PARAMETER)
        .map(|p| p.value.to_vec())
        .collect();
    assert_eq!(
        reported,
        vec![vec![0xc1, 0x23, 0x00, 0x07, b'a', b'b', b'c', 0]]
    );
    assert!(init_ack.state_cookie().is_some());

    // A HEARTBEAT is echoed in a HEARTBEAT-ACK with the same information.
    let (mut a, mut b, _, _) = established(false, false);
    let ch = a.open_channel("t", "", ChannelOptions::default()).unwrap();
    a.send(ch, MessageKind::Binary, b"x").unwrap();
    let tag = Packet::parse(&drain(&mut a)[0]).unwrap().verification_tag();
    let mut buf = [0u8; 64];
    let mut w = Writer::new(&mut buf);
    wire::emit_common_header(&mut w, 5000, 5000, tag);
    wire::emit_chunk(&mut w, ChunkType::HEARTBEAT, 0, |w| {
        wire::emit_param(w, wire::ParamType::HEARTBEAT_INFO, |w| w.bytes(b"beat"));
    });
    let n = w.finish().unwrap();
    wire::seal(&mut buf[..n], false);
    b.handle_packet(Instant::ZERO, &buf[..n]);
    let replies = drain(&mut b);
    let ack = replies
        .iter()
        .flat_map(|r| {
            Packet::parse(r)
                .unwrap()
                .chunks()
                .flatten()
                .filter(|c| c.chunk_type == ChunkType::HEARTBEAT_ACK)
                .map(|c| c.value.to_vec())
                .collect::<Vec<_>>()
        })
        .next()
        .unwrap();
    assert_eq!(ack, vec![0, 1, 0, 8, b'b', b'e', b'a', b't']);
}
