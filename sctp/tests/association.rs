//! Association behaviour packet by packet: handshake and collisions, tags, cookies, unknown
//! chunks, zero checksum, size limits, and the size of the machine.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use peerless_base::{Instant, Writer};
use peerless_sctp::wire::{self, ChunkType, Init, Packet, Sack};
use peerless_sctp::{
    Association, ChannelOptions, CloseReason, Config, DtlsRole, Event, MessageKind, SendError,
    StreamId,
};

type Assoc = Association<'static>;

fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

fn assoc(role: DtlsRole, seed: u8, recv: usize) -> Assoc {
    Association::new(
        Config::new(role, [seed; 32]),
        Instant::ZERO,
        area(64 * 1024),
        area(recv),
    )
}

fn assoc_with(config: Config, recv: usize) -> Assoc {
    Association::new(config, Instant::ZERO, area(64 * 1024), area(recv))
}

fn drain(a: &mut Assoc) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
        out.push(t.to_vec());
    }
    out
}

#[derive(Debug, Default)]
struct Seen {
    connected: u32,
    messages: Vec<(StreamId, MessageKind, Vec<u8>)>,
    opened: Vec<(StreamId, String)>,
    closed: Option<CloseReason>,
}

fn events(a: &mut Assoc, seen: &mut Seen) {
    while let Some(e) = a.poll_event() {
        match e {
            Event::Connected => seen.connected += 1,
            Event::Message { stream, kind, data } => {
                seen.messages.push((stream, kind, data.to_vec()))
            }
            Event::ChannelOpen {
                stream: id, label, ..
            } => seen.opened.push((id, label.to_string())),
            Event::Closed(r) => seen.closed = Some(r),
            _ => {}
        }
    }
}

fn first_chunk_type(packet: &[u8]) -> ChunkType {
    Packet::parse(packet)
        .unwrap()
        .chunks()
        .next()
        .unwrap()
        .unwrap()
        .chunk_type
}

/// Exchanges packets until both are quiet, at time `now`.
fn exchange(a: &mut Assoc, b: &mut Assoc, sa: &mut Seen, sb: &mut Seen, now: Instant) {
    for _ in 0..50 {
        let from_a = drain(a);
        let from_b = drain(b);
        if from_a.is_empty() && from_b.is_empty() {
            break;
        }
        for p in from_a {
            b.handle_packet(now, &p);
        }
        for p in from_b {
            a.handle_packet(now, &p);
        }
        events(a, sa);
        events(b, sb);
    }
}

#[test]
fn size_of_an_association_with_the_default_configuration() {
    let size = core::mem::size_of::<Association<'static>>();
    println!("size_of::<Association>() = {size} bytes");
    // The target: at most 16 KiB beyond the message storage the user lends.
    assert!(size <= 16 * 1024, "{size}");
}

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

/// An established pair.
fn established(za: bool, zb: bool) -> (Assoc, Assoc, Seen, Seen) {
    let mut ca = Config::new(DtlsRole::Client, [1; 32]);
    ca.zero_checksum = za;
    let mut cb = Config::new(DtlsRole::Server, [2; 32]);
    cb.zero_checksum = zb;
    let (mut a, mut b) = (assoc_with(ca, 64 * 1024), assoc_with(cb, 64 * 1024));
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    a.connect(Instant::ZERO);
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!((sa.connected, sb.connected), (1, 1));
    (a, b, sa, sb)
}

#[test]
fn zero_checksum_is_one_directional() {
    // `b` accepts zero checksums, `a` does not: a sends zeros to b, b sends CRCs to a.
    let (mut a, mut b, mut sa, mut sb) = established(false, true);
    let ch = a.open_channel("z", "", ChannelOptions::default()).unwrap();
    a.send(ch, MessageKind::Binary, b"to b").unwrap();
    let to_b = drain(&mut a);
    assert!(
        to_b.iter()
            .all(|p| wire::check_checksum(p) == wire::Checksum::Zero)
    );
    for p in to_b {
        b.handle_packet(Instant::ZERO, &p);
    }
    let to_a = drain(&mut b);
    assert!(!to_a.is_empty());
    assert!(
        to_a.iter()
            .all(|p| wire::check_checksum(p) == wire::Checksum::Valid)
    );
    for p in to_a {
        a.handle_packet(Instant::ZERO, &p);
    }
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    events(&mut b, &mut sb);
    assert_eq!(sb.messages.len(), 1);
    // A zero checksum sent to `a`, which never announced it, is dropped.
    let ch_b = b
        .open_channel("back", "", ChannelOptions::default())
        .unwrap();
    b.send(ch_b, MessageKind::Binary, b"x").unwrap();
    let mut p = drain(&mut b).remove(0);
    wire::seal(&mut p, true);
    a.handle_packet(Instant::ZERO, &p);
    assert_eq!(a.stats().dropped_checksum, 1);
}

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

#[test]
fn messages_beyond_the_limits_are_refused_cleanly() {
    // The sender refuses what is larger than the peer's max-message-size or its storage.
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    let ch = a
        .open_channel("big", "", ChannelOptions::default())
        .unwrap();
    a.set_remote_max_message_size(1000);
    assert_eq!(
        a.send(ch, MessageKind::Binary, &[0; 1001]),
        Err(SendError::TooLarge)
    );
    a.set_remote_max_message_size(0);
    assert_eq!(
        a.send(ch, MessageKind::Binary, &vec![0; 200 * 1024]),
        Err(SendError::TooLarge)
    );
    assert_eq!(
        a.send(StreamId(9999), MessageKind::Binary, b"x"),
        Err(SendError::UnknownChannel)
    );
    // Empty messages use the empty PPIDs and arrive empty.
    a.send(ch, MessageKind::Binary, b"").unwrap();
    a.send(ch, MessageKind::Text, b"").unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!(
        sb.messages,
        vec![
            (ch, MessageKind::Binary, vec![]),
            (ch, MessageKind::Text, vec![])
        ]
    );

    // A receiver whose storage is smaller than a message it is sent: ABORT, never a panic.
    let (mut a, mut small) = (
        assoc(DtlsRole::Client, 7, 8192),
        assoc(DtlsRole::Server, 8, 4096),
    );
    let (mut sa, mut ss) = (Seen::default(), Seen::default());
    a.connect(Instant::ZERO);
    exchange(&mut a, &mut small, &mut sa, &mut ss, Instant::ZERO);
    let ch = a.open_channel("c", "", ChannelOptions::default()).unwrap();
    exchange(&mut a, &mut small, &mut sa, &mut ss, Instant::ZERO);
    a.send(ch, MessageKind::Binary, &[7; 10_000]).unwrap();
    let mut now = Instant::ZERO;
    for _ in 0..40 {
        exchange(&mut a, &mut small, &mut sa, &mut ss, now);
        if ss.closed.is_some() {
            break;
        }
        now = [a.poll_timeout(), small.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now);
        a.handle_timeout(now);
        small.handle_timeout(now);
    }
    assert_eq!(ss.closed, Some(CloseReason::MessageTooLarge));
    exchange(&mut a, &mut small, &mut sa, &mut ss, now);
    assert_eq!(sa.closed, Some(CloseReason::PeerAbort));
}

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

#[test]
fn negotiated_channels_parity_and_buffered_amount_low() {
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    // Out-of-band channel with an agreed id: no DCEP, both ends just use it.
    let options = ChannelOptions {
        negotiated: Some(StreamId(7)),
        ..ChannelOptions::default()
    };
    assert_eq!(a.open_channel("n", "", options), Ok(StreamId(7)));
    assert_eq!(b.open_channel("n", "", options), Ok(StreamId(7)));
    assert_eq!(
        a.open_channel("dup", "", options),
        Err(peerless_sctp::ChannelError::IdUnavailable)
    );
    a.send(StreamId(7), MessageKind::Text, b"negotiated")
        .unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert_eq!(
        sb.messages,
        vec![(StreamId(7), MessageKind::Text, b"negotiated".to_vec())]
    );
    assert!(sb.opened.is_empty(), "no DCEP for negotiated channels");

    // Ids follow the DTLS role: the client picks even ids, the server odd ones.
    let even = a.open_channel("e", "", ChannelOptions::default()).unwrap();
    let odd = b.open_channel("o", "", ChannelOptions::default()).unwrap();
    assert_eq!((even.0 % 2, odd.0 % 2), (0, 1));
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    assert!(sb.opened.iter().any(|(id, l)| *id == even && l == "e"));
    assert!(sa.opened.iter().any(|(id, l)| *id == odd && l == "o"));

    // A DATA_CHANNEL_OPEN with the receiver's own parity is refused.
    let (mut c, mut d, mut sc, mut sd) = established(true, true);
    // `d` is the DTLS server, so it must not accept an odd id from its peer: make `c` open one
    // by negotiating the id on its side only and sending a DCEP OPEN by hand.
    let options = ChannelOptions {
        negotiated: Some(StreamId(3)),
        ..ChannelOptions::default()
    };
    c.open_channel("odd", "", options).unwrap();
    let mut open = [0u8; 64];
    let mut w = Writer::new(&mut open);
    peerless_sctp::dcep::Message::Open(peerless_sctp::dcep::Open {
        channel_type: peerless_sctp::dcep::ChannelType::RELIABLE,
        priority: 256,
        reliability: 0,
        label: "bad",
        protocol: "",
    })
    .emit(&mut w);
    let n = w.finish().unwrap();
    // Send it as a user message, then turn the DATA chunk's PPID into DCEP (50) on the wire:
    // the server sees a DATA_CHANNEL_OPEN for an odd id, which is its own parity.
    c.send(StreamId(3), MessageKind::Binary, &open[..n])
        .unwrap();
    let mut packet = drain(&mut c).remove(0);
    assert_eq!(first_chunk_type(&packet), ChunkType::DATA);
    packet[24..28].copy_from_slice(&50u32.to_be_bytes());
    wire::seal(&mut packet, false);
    d.handle_packet(Instant::ZERO, &packet);
    exchange(&mut c, &mut d, &mut sc, &mut sd, Instant::ZERO);
    events(&mut d, &mut sd);
    assert!(sd.opened.is_empty(), "wrong-parity OPEN accepted");
    assert_eq!(d.stats().refused_channels, 1, "{:?}", d.stats());
    assert_eq!(d.stats().messages_received, 0);
    assert_eq!(
        d.stats().local_rwnd,
        64 * 1024,
        "the refused OPEN was released"
    );

    // bufferedAmount counts bytes not yet sent; the low-threshold event fires as it drains.
    let ch = a
        .open_channel("bulk", "", ChannelOptions::default())
        .unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    a.set_buffered_amount_low_threshold(ch, 1000);
    for _ in 0..20 {
        a.send(ch, MessageKind::Binary, &[1; 1000]).unwrap();
    }
    assert_eq!(a.buffered_amount(ch), 20_000);
    let mut low = 0;
    for _ in 0..50 {
        let from_a = drain(&mut a);
        for p in from_a {
            b.handle_packet(Instant::ZERO, &p);
        }
        for p in drain(&mut b) {
            a.handle_packet(Instant::ZERO, &p);
        }
        while let Some(e) = a.poll_event() {
            if e == Event::BufferedAmountLow(ch) {
                low += 1;
            }
        }
        events(&mut b, &mut sb);
    }
    assert_eq!(a.buffered_amount(ch), 0);
    assert_eq!(low, 1);
}

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

fn data_chunks(packets: &[Vec<u8>]) -> usize {
    packets
        .iter()
        .map(|p| {
            Packet::parse(p)
                .unwrap()
                .chunks()
                .flatten()
                .filter(|c| c.chunk_type == ChunkType::DATA)
                .count()
        })
        .sum()
}

#[test]
fn rto_and_congestion_window_follow_rfc9260() {
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    // A negotiated channel: no DCEP traffic, so the first RTT sample is the one below.
    let negotiated = ChannelOptions {
        negotiated: Some(StreamId(1)),
        ..ChannelOptions::default()
    };
    let ch = a.open_channel("cc", "", negotiated).unwrap();
    b.open_channel("cc", "", negotiated).unwrap();
    exchange(&mut a, &mut b, &mut sa, &mut sb, Instant::ZERO);
    // §7.2.1: initial cwnd = min(4 MTU, max(2 MTU, 4380)) = 4380 for a 1200-byte MTU.
    assert_eq!(a.stats().cwnd, 4380);
    a.send(ch, MessageKind::Binary, &[9; 20 * 1172]).unwrap();
    // §6.1 B: new data may go while the flight is below cwnd: four full chunks (4688 bytes).
    let t0 = Instant::from_millis(1000);
    let burst = {
        let mut out = Vec::new();
        let mut buf = [0u8; 1500];
        a.handle_timeout(t0);
        while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
            out.push(t.to_vec());
        }
        out
    };
    assert_eq!(data_chunks(&burst), 4);
    assert_eq!(a.stats().flight_size, 4 * 1172);
    // The peer answers 50 ms later (one SACK per two packets), arriving 100 ms after sending.
    let t1 = t0 + core::time::Duration::from_millis(50);
    let mut sacks = Vec::new();
    for p in burst {
        b.handle_packet(t1, &p);
        sacks.extend(drain(&mut b));
    }
    assert_eq!(sacks.len(), 2);
    let t2 = t0 + core::time::Duration::from_millis(100);
    for p in sacks {
        a.handle_packet(t2, &p);
    }
    // §6.3.1 C2: the first measurement R = 100 ms gives SRTT = R, RTTVAR = R/2,
    // RTO = SRTT + 4 RTTVAR = 300 ms.
    let stats = a.stats();
    assert_eq!(stats.srtt, core::time::Duration::from_millis(100));
    assert_eq!(stats.rto, core::time::Duration::from_millis(300));
    // §7.2.1 slow start: each SACK that advances the cumulative ack while cwnd was fully used
    // adds min(bytes acked, MTU): two SACKs, +1200 each.
    assert_eq!(stats.cwnd, 4380 + 2 * 1200);
    // §6.3.3: everything sent now is lost; T3 fires after one RTO and doubles it, cwnd falls
    // to one MTU and ssthresh to max(cwnd/2, 4 MTU).
    let lost = drain(&mut a);
    assert!(data_chunks(&lost) > 0);
    let t3 = a.poll_timeout().unwrap();
    assert_eq!(t3, t2 + core::time::Duration::from_millis(300));
    a.handle_timeout(t3);
    let stats = a.stats();
    assert_eq!(stats.rto, core::time::Duration::from_millis(600));
    assert_eq!(stats.cwnd, 1200);
    assert_eq!(stats.ssthresh, 4800);
    assert_eq!(stats.t3_expirations, 1);
    // One MTU of retransmission goes out.
    let again = drain(&mut a);
    assert_eq!(data_chunks(&again), 1);
    assert_eq!(a.stats().retransmissions, 1);
}

#[test]
fn any_clock_the_host_passes_is_survived() {
    // Time jumping far ahead, standing still, or going backwards never panics (overflow
    // checks are on in this build) and leaves a working association.
    let (mut a, mut b, mut sa, mut sb) = established(true, true);
    let ch = a.open_channel("t", "", ChannelOptions::default()).unwrap();
    a.send(ch, MessageKind::Binary, &[1; 5000]).unwrap();
    let far = Instant::from_secs(1 << 40);
    for now in [far, Instant::ZERO, Instant::MAX, far] {
        for p in drain(&mut a) {
            b.handle_packet(now, &p);
        }
        for p in drain(&mut b) {
            a.handle_packet(now, &p);
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
        events(&mut a, &mut sa);
        events(&mut b, &mut sb);
    }
    assert!(sb.messages.iter().any(|m| m.2.len() == 5000));
    assert!(a.stats().rto <= core::time::Duration::from_secs(10));
}
