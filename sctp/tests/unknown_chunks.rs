//! Unknown chunk types: their upper two bits decide (RFC 9260 §3.2).

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pair;

use pair::*;

#[test]
fn unknown_chunks_follow_their_upper_bits() {
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    let ch = a.open_channel("u", "", ChannelOptions::default()).unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    // Build packets by hand under b's tag: [unknown chunk][DATA].
    a.send(ch, MessageKind::Text, b"one").unwrap();
    let template = drain(&mut a).remove(0);
    let tag = Packet::parse(&template).unwrap().verification_tag();
    let data_chunk = Packet::parse(&template)
        .unwrap()
        .chunks()
        .find_map(|c| c.ok().filter(|c| c.chunk_type == ChunkType::DATA))
        .unwrap();
    let data = wire::Data::parse(&data_chunk).unwrap();
    let with_unknown = |unknown: u8, tsn: u32| {
        let mut buf = [0u8; 256];
        let mut w = Writer::new(&mut buf);
        wire::emit_common_header(&mut w, 5000, 5000, tag);
        wire::emit_chunk(&mut w, ChunkType(unknown), 0, |w| w.u32(0xdead_beef));
        wire::Data { tsn, ..data }.emit(&mut w);
        let n = w.finish().unwrap();
        wire::seal(&mut buf[..n], false);
        buf[..n].to_vec()
    };
    // 0x3f: stop, discard the packet: the DATA behind it is not taken.
    b.handle_packet(Instant::ZERO, &with_unknown(0x3f, data.tsn));
    events(&mut b, &mut sb);
    assert!(sb.messages.is_empty());
    // 0x7f: stop and report: an ERROR goes back.
    b.handle_packet(Instant::ZERO, &with_unknown(0x7f, data.tsn));
    let reply = drain(&mut b);
    assert!(reply.iter().any(|p| {
        Packet::parse(p)
            .unwrap()
            .chunks()
            .any(|c| c.unwrap().chunk_type == ChunkType::ERROR)
    }));
    events(&mut b, &mut sb);
    assert!(sb.messages.is_empty());
    // 0xbf: skip: the DATA is delivered.
    b.handle_packet(Instant::ZERO, &with_unknown(0xbf, data.tsn));
    events(&mut b, &mut sb);
    assert_eq!(sb.messages.len(), 1);
    assert_eq!(b.stats().dropped_unknown_chunk, 3);
}
