//! Channels the peer opens (RFC 8832) and the streams it may use: refused OPENs (a full
//! table, a label over the limit, one larger than the receive area, a fragmented one), data
//! on a stream with no channel, and the peer's stream counts bounding ours (RFC 9260 §5.1.1).

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;

/// A channel table that is full, and a label longer than `max_label`: the OPEN is refused,
/// counted, never reported, and the opener sees its channel close (stream reset).
#[test]
fn refused_opens_are_reset_counted_and_never_reported() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 8, 256, 2>(client(), server(), 64 * 1024);
    let first = a
        .open_channel("one", "", ChannelOptions::default())
        .unwrap();
    let second = a
        .open_channel("two", "", ChannelOptions::default())
        .unwrap();
    let third = a
        .open_channel("three", "", ChannelOptions::default())
        .unwrap();
    // Data sent on the refused channel before the refusal is known must not pin b's storage.
    for i in 0..20u8 {
        a.send(third, MessageKind::Binary, &[i; 1000]).unwrap();
    }
    let long = "x".repeat(65);
    let too_long = a
        .open_channel(&long, "", ChannelOptions::default())
        .unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    let opened: Vec<StreamId> = sb.opened.iter().map(|o| o.0).collect();
    assert_eq!(opened, vec![first, second]);
    assert!(b.stats().refused_channels >= 2, "{:?}", b.stats());
    let mut closed = sa.channel_closed.clone();
    closed.sort_unstable();
    assert_eq!(
        closed,
        vec![third, too_long],
        "the opener sees its refused channels close"
    );
    assert!(sb.messages.is_empty());
    assert_eq!(b.stats().local_rwnd, 64 * 1024, "nothing pinned");
    assert_eq!((sa.closed, sb.closed), (None, None));
    // The accepted channels still work.
    a.send(second, MessageKind::Text, b"still here").unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!(sb.messages, vec![(second, b"still here".to_vec())]);
}

/// Data for a negotiated id the receiver has not created is discarded and counted, never
/// filling the receive storage (it used to end the association with `MessageTooLarge`); once
/// the receiver creates the channel, delivery starts with the next message.
#[test]
fn data_for_a_channel_not_created_yet_never_pins_storage() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 8, 256, 8>(client(), server(), 16 * 1024);
    a.open_channel("n", "", negotiated(9)).unwrap();
    for i in 0..40u8 {
        a.send(StreamId(9), MessageKind::Binary, &[i; 1000])
            .unwrap();
    }
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!((sa.closed, sb.closed), (None, None));
    assert_eq!(b.stats().dropped_channel, 40, "{:?}", b.stats());
    assert_eq!(b.stats().local_rwnd, 16 * 1024);
    b.open_channel("n", "", negotiated(9)).unwrap();
    a.send(StreamId(9), MessageKind::Binary, b"late").unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!(sb.messages, vec![(StreamId(9), b"late".to_vec())]);
}

/// A DATA_CHANNEL_OPEN that spans several DATA chunks (a small MTU, a long label the receiver
/// allows) opens the channel; one whose label is over the receiver's limit is refused, not
/// an abort.
#[test]
fn a_fragmented_open_is_accepted_and_an_oversized_one_refused() {
    let mut ca = client();
    ca.mtu = 256;
    let mut cb = server();
    cb.mtu = 256;
    cb.max_label = 600;
    let (mut a, mut b, mut sa, mut sb, mut now) = connected::<256, 8, 256, 8>(ca, cb, 64 * 1024);
    let label = "L".repeat(600);
    let protocol = "p".repeat(300);
    let id = a
        .open_channel(&label, &protocol, ChannelOptions::default())
        .unwrap();
    a.send(id, MessageKind::Text, b"after a long open").unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!(sb.opened, vec![(id, label.clone())]);
    assert_eq!(sb.messages, vec![(id, b"after a long open".to_vec())]);
    let longer = "L".repeat(601);
    let refused = a
        .open_channel(&longer, "", ChannelOptions::default())
        .unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!(sb.opened.len(), 1);
    assert!(sa.channel_closed.contains(&refused));
    assert_eq!(b.stats().refused_channels, 1);
    assert_eq!((sa.closed, sb.closed), (None, None));
}

/// A DATA_CHANNEL_OPEN whose label is longer than `max_label` and than the whole receive area
/// (RFC 8832 allows 65535 bytes each for label and protocol): refused from its first piece,
/// its other pieces freed, the association stays up (it used to be aborted with
/// `MessageTooLarge`).
#[test]
fn an_open_larger_than_the_receive_area_is_refused_not_aborted() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 8, 256, 8>(client(), server(), 16 * 1024);
    a.open_channel("n", "", negotiated(1)).unwrap();
    b.open_channel("n", "", negotiated(1)).unwrap();
    a.send(StreamId(1), MessageKind::Binary, b"first").unwrap();
    let first = drain(&mut a);
    let tag_to_b = tag_of(&first[0]);
    let tsn = data_of(&first[0])[0].0;
    for p in first {
        b.handle_packet(now, &p);
    }
    // An OPEN with a 40000-byte label on stream 10, cut into 1000-byte pieces, after `tsn`.
    let label_len: u16 = 40_000;
    let mut open = vec![0x03, 0x00, 0x01, 0x00, 0, 0, 0, 0];
    open.extend_from_slice(&label_len.to_be_bytes());
    open.extend_from_slice(&0u16.to_be_bytes());
    open.extend(std::iter::repeat_n(b'L', usize::from(label_len)));
    let pieces: Vec<&[u8]> = open.chunks(1000).collect();
    for (k, piece) in pieces.iter().enumerate() {
        let mut flags = 0;
        if k == 0 {
            flags |= wire::data_flags::BEGIN;
        }
        if k + 1 == pieces.len() {
            flags |= wire::data_flags::END;
        }
        let p = packet(tag_to_b, |w| {
            Data {
                flags,
                tsn: tsn.wrapping_add(1 + k as u32),
                stream: 10,
                ssn: 0,
                ppid: wire::Ppid::DCEP,
                payload: piece,
            }
            .emit(w)
        });
        b.handle_packet(now, &p);
        events(&mut b, &mut sb);
    }
    assert_eq!(sb.closed, None, "{:?}", b.stats());
    assert_eq!(b.stats().refused_channels, 1);
    assert!(sb.opened.is_empty());
    assert_eq!(sb.messages, vec![(StreamId(1), b"first".to_vec())]);
    assert_eq!(b.stats().local_rwnd, 16 * 1024, "the pieces were freed");
    // The refusal resets our side of stream 10.
    let reply = drain(&mut b);
    assert!(reply.iter().any(|p| {
        Packet::parse(p)
            .unwrap()
            .chunks()
            .flatten()
            .any(|c| c.chunk_type == ChunkType::RE_CONFIG)
    }));
    let _ = (&mut a, &mut sa, &mut now);
}

/// A peer announcing 4 inbound streams (MIS) and 4 outbound: ids from 4 up cannot be opened
/// (an error the caller sees), and a channel opened before the association came up on such an
/// id is closed, its data never sent.
#[test]
fn the_peers_stream_counts_bound_our_channels() {
    let mut a: Assoc<256, 8> = new(client(), 64 * 1024, 64 * 1024);
    let early = a
        .open_channel("early", "", negotiated(6))
        .expect("unknown limits before the handshake");
    a.send(StreamId(6), MessageKind::Binary, b"never on the wire")
        .unwrap();
    let mut now = Instant::ZERO;
    a.connect(now);
    let init = drain(&mut a).remove(0);
    let init_chunk = Packet::parse(&init)
        .unwrap()
        .chunks()
        .next()
        .unwrap()
        .unwrap();
    let init = Init::parse(&init_chunk).unwrap();
    let init_ack = packet(init.initiate_tag, |w| {
        InitFields {
            chunk_type: ChunkType::INIT_ACK,
            initiate_tag: 0x0bad_cafe,
            a_rwnd: 65536,
            outbound_streams: 4,
            inbound_streams: 4,
            initial_tsn: 1000,
            zero_checksum: false,
            cookie: Some(b"opaque cookie"),
            unrecognized: &[],
        }
        .emit(w)
    });
    a.handle_packet(now, &init_ack);
    let echo = drain(&mut a);
    assert_eq!(tag_of(&echo[0]), 0x0bad_cafe);
    let cookie_ack = packet(init.initiate_tag, |w| {
        wire::emit_chunk(w, ChunkType::COOKIE_ACK, 0, |_| {})
    });
    a.handle_packet(now, &cookie_ack);
    let mut seen = Seen::default();
    events(&mut a, &mut seen);
    assert_eq!(seen.connected, 1);
    assert_eq!(seen.channel_closed, vec![early]);
    assert_eq!(
        a.open_channel("four", "", negotiated(4)),
        Err(ChannelError::IdUnavailable)
    );
    assert_eq!(a.open_channel("three", "", negotiated(3)), Ok(StreamId(3)));
    assert_eq!(
        a.open_channel("x", "", ChannelOptions::default()),
        Ok(StreamId(0))
    );
    assert_eq!(
        a.open_channel("y", "", ChannelOptions::default()),
        Ok(StreamId(2))
    );
    assert_eq!(
        a.open_channel("z", "", ChannelOptions::default()),
        Err(ChannelError::IdUnavailable)
    );
    for _ in 0..5 {
        for p in drain(&mut a) {
            assert!(
                data_of(&p).iter().all(|d| d.1 < 4),
                "sent on a stream the peer cannot take"
            );
            for c in Packet::parse(&p).unwrap().chunks().flatten() {
                if c.chunk_type == ChunkType::FORWARD_TSN {
                    let f = ForwardTsn::parse(&c).unwrap();
                    assert!(f.streams().all(|(s, _)| s < 4), "named in a FORWARD-TSN");
                }
            }
        }
        now += Duration::from_secs(1);
        a.handle_timeout(now);
    }
}
