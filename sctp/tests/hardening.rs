//! Regression tests of the hardening work (issue 12): events, refused channels, data with no
//! channel, stream resets in bulk, the RE-CONFIG timer, reneging, fast retransmit, FORWARD-TSN,
//! the peer's stream counts and messages of more chunks than the receive records.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use peerless_base::{Instant, Writer};
use peerless_sctp::wire::{self, ChunkType, Data, ForwardTsn, Init, InitFields, Packet, Sack};
use peerless_sctp::{
    Association, ChannelError, ChannelOptions, CloseReason, Config, DtlsRole, Event, MessageKind,
    Reliability, StreamId,
};

type Assoc<const C: usize, const N: usize> = Association<'static, C, N>;

fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

fn new<const C: usize, const N: usize>(config: Config, send: usize, recv: usize) -> Assoc<C, N> {
    Association::new(config, Instant::ZERO, area(send), area(recv))
}

fn drain<const C: usize, const N: usize>(a: &mut Assoc<C, N>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
        out.push(t.payload.to_vec());
    }
    out
}

#[derive(Debug, Default)]
struct Seen {
    connected: u32,
    opened: Vec<(StreamId, String)>,
    messages: Vec<(StreamId, Vec<u8>)>,
    channel_closed: Vec<StreamId>,
    closed: Option<CloseReason>,
}

fn events<const C: usize, const N: usize>(a: &mut Assoc<C, N>, seen: &mut Seen) {
    while let Some(e) = a.poll_event() {
        match e {
            Event::Connected => seen.connected += 1,
            Event::ChannelOpen {
                stream: id, label, ..
            } => seen.opened.push((id, label.to_string())),
            Event::Message {
                stream: channel,
                data,
                ..
            } => seen.messages.push((channel, data.to_vec())),
            Event::ChannelClosed(id) => seen.channel_closed.push(id),
            Event::Closed(r) => {
                assert!(seen.closed.is_none(), "Closed twice");
                seen.closed = Some(r);
            }
            _ => {}
        }
    }
}

/// Exchanges packets until both are quiet, running timers as they come due.
fn run<const C: usize, const N: usize, const D: usize, const M: usize>(
    a: &mut Assoc<C, N>,
    b: &mut Assoc<D, M>,
    sa: &mut Seen,
    sb: &mut Seen,
    now: &mut Instant,
) {
    for _ in 0..400 {
        let from_a = drain(a);
        let from_b = drain(b);
        for p in from_a.iter() {
            b.handle_packet(*now, p);
        }
        for p in from_b.iter() {
            a.handle_packet(*now, p);
        }
        events(a, sa);
        events(b, sb);
        if from_a.is_empty() && from_b.is_empty() {
            // Quiet: let the next timer fire (delayed SACKs, retransmissions), but stop once
            // only long timers are left and nothing moved.
            let Some(t) = [a.poll_timeout(), b.poll_timeout()]
                .into_iter()
                .flatten()
                .min()
            else {
                break;
            };
            if t > *now + Duration::from_secs(30) {
                break;
            }
            *now = t.max(*now);
            a.handle_timeout(*now);
            b.handle_timeout(*now);
            events(a, sa);
            events(b, sb);
        }
    }
}

fn connected<const C: usize, const N: usize, const D: usize, const M: usize>(
    ca: Config,
    cb: Config,
    recv_b: usize,
) -> (Assoc<C, N>, Assoc<D, M>, Seen, Seen, Instant) {
    let mut a: Assoc<C, N> = new(ca, 256 * 1024, 256 * 1024);
    let mut b: Assoc<D, M> = new(cb, 256 * 1024, recv_b);
    let (mut sa, mut sb) = (Seen::default(), Seen::default());
    let mut now = Instant::ZERO;
    a.connect(now);
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!((sa.connected, sb.connected), (1, 1));
    (a, b, sa, sb, now)
}

fn client() -> Config {
    Config::new(DtlsRole::Client, [1; 32])
}

fn server() -> Config {
    Config::new(DtlsRole::Server, [2; 32])
}

fn tag_of(packet: &[u8]) -> u32 {
    Packet::parse(packet).unwrap().verification_tag()
}

/// The DATA chunks of a packet: (TSN, stream, SSN, payload length).
fn data_of(packet: &[u8]) -> Vec<(u32, u16, u16, usize)> {
    Packet::parse(packet)
        .unwrap()
        .chunks()
        .flatten()
        .filter(|c| c.chunk_type == ChunkType::DATA)
        .map(|c| {
            let d = Data::parse(&c).unwrap();
            (d.tsn, d.stream, d.ssn, d.payload.len())
        })
        .collect()
}

fn packet(tag: u32, body: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 1500];
    let mut w = Writer::new(&mut buf);
    wire::emit_common_header(&mut w, 5000, 5000, tag);
    body(&mut w);
    let n = w.finish().unwrap();
    buf.truncate(n);
    wire::seal(&mut buf, false);
    buf
}

fn negotiated(id: u16) -> ChannelOptions {
    ChannelOptions {
        negotiated: Some(StreamId(id)),
        ..ChannelOptions::default()
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Events are never dropped.
// ---------------------------------------------------------------------------------------------

/// 32 open channels (the default `CHANNELS`): an abort reports each one's close and then the
/// association's, on both sides. The old 32-entry event queue lost the final `Closed`.
#[test]
fn an_abort_with_32_open_channels_reports_every_close_and_then_closed() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 32, 256, 32>(client(), server(), 256 * 1024);
    let ids: Vec<StreamId> = (0..32)
        .map(|i| {
            a.open_channel(&format!("c{i}"), "", ChannelOptions::default())
                .unwrap()
        })
        .collect();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!(sb.opened.len(), 32);
    a.abort(now);
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    let mut closed_a = sa.channel_closed.clone();
    closed_a.sort_unstable();
    assert_eq!(closed_a, ids);
    let mut closed_b = sb.channel_closed.clone();
    closed_b.sort_unstable();
    assert_eq!(closed_b, ids);
    assert_eq!(sa.closed, Some(CloseReason::LocalAbort));
    assert_eq!(sb.closed, Some(CloseReason::PeerAbort));
}

/// 32 channels closed at once by the peer: 32 `ChannelClosed` on each side.
#[test]
fn thirty_two_channels_closed_at_once_by_the_peer_all_close() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 32, 256, 32>(client(), server(), 256 * 1024);
    let ids: Vec<StreamId> = (0..32)
        .map(|i| {
            a.open_channel(&format!("c{i}"), "", ChannelOptions::default())
                .unwrap()
        })
        .collect();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!(sb.opened.len(), 32);
    for &id in &ids {
        a.close_channel(id);
    }
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    let (mut ca, mut cb) = (sa.channel_closed.clone(), sb.channel_closed.clone());
    ca.sort_unstable();
    cb.sort_unstable();
    assert_eq!(ca, ids);
    assert_eq!(cb, ids);
    assert_eq!((sa.closed, sb.closed), (None, None));
}

// ---------------------------------------------------------------------------------------------
// 2. Refused remote channels, 3. data on a stream with no channel.
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 4. Stream resets in bulk.
// ---------------------------------------------------------------------------------------------

/// 100 channels closed at once, each way, between two associations with 128 channels: every
/// one closes on both sides (the old code reset the first 16 and forgot the rest).
#[test]
fn a_hundred_channels_close_at_once_in_each_direction() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 256, 256, 256>(client(), server(), 256 * 1024);
    let from_a: Vec<StreamId> = (0..100)
        .map(|i| {
            a.open_channel(&format!("a{i}"), "", ChannelOptions::default())
                .unwrap()
        })
        .collect();
    let from_b: Vec<StreamId> = (0..100)
        .map(|i| {
            b.open_channel(&format!("b{i}"), "", ChannelOptions::default())
                .unwrap()
        })
        .collect();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!((sa.opened.len(), sb.opened.len()), (100, 100));
    for (&x, &y) in from_a.iter().zip(&from_b) {
        a.send(x, MessageKind::Binary, b"last words").unwrap();
        b.send(y, MessageKind::Binary, b"last words").unwrap();
    }
    // a closes its 100, b closes its 100, at once.
    for (&x, &y) in from_a.iter().zip(&from_b) {
        a.close_channel(x);
        b.close_channel(y);
    }
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    let mut all: Vec<StreamId> = from_a.iter().chain(&from_b).copied().collect();
    all.sort_unstable();
    let (mut ca, mut cb) = (sa.channel_closed.clone(), sb.channel_closed.clone());
    ca.sort_unstable();
    cb.sort_unstable();
    assert_eq!(ca, all);
    assert_eq!(cb, all);
    assert_eq!((sa.messages.len(), sb.messages.len()), (100, 100));
    // Every id is reusable.
    assert_eq!(
        a.open_channel("again", "", ChannelOptions::default()),
        Ok(StreamId(0))
    );
}

// ---------------------------------------------------------------------------------------------
// 5. The RE-CONFIG timer.
// ---------------------------------------------------------------------------------------------

/// A peer that stops answering: the reset request is resent with the RTO doubling each time
/// and the association gives up after `max_retransmits` (it was resent every RTO forever).
#[test]
fn a_reset_request_to_a_silent_peer_backs_off_and_gives_up() {
    let mut ca = client();
    ca.max_retransmits = 4;
    let (mut a, mut b, mut sa, mut sb, mut now) = connected::<256, 8, 256, 8>(ca, server(), 8192);
    let id = a.open_channel("c", "", ChannelOptions::default()).unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    assert_eq!(sb.opened.len(), 1);
    a.close_channel(id);
    let mut sends = Vec::new();
    for _ in 0..40 {
        for p in drain(&mut a) {
            let reconfig = Packet::parse(&p)
                .unwrap()
                .chunks()
                .flatten()
                .any(|c| c.chunk_type == ChunkType::RE_CONFIG);
            if reconfig {
                sends.push(now);
            }
        }
        events(&mut a, &mut sa);
        if sa.closed.is_some() {
            break;
        }
        let Some(t) = a.poll_timeout() else { break };
        now = t;
        a.handle_timeout(now);
    }
    assert_eq!(sa.closed, Some(CloseReason::RetransmitTimeout));
    assert_eq!(
        sends.len(),
        5,
        "the request and 4 retransmissions: {sends:?}"
    );
    let gaps: Vec<Duration> = sends.windows(2).map(|w| w[1] - w[0]).collect();
    for w in gaps.windows(2) {
        assert!(
            w[1] == w[0] * 2 || w[1] == Duration::from_secs(10),
            "back-off {gaps:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 6. Renege, 7. fast retransmit.
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 8. FORWARD-TSN.
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 9. The peer's stream counts.
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// 10. Messages of more chunks than the receive records.
// ---------------------------------------------------------------------------------------------

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

/// The reset request of a RE-CONFIG sent by us, if the packet has one: its sequence number.
fn reset_request_seq(packet: &[u8]) -> Option<u32> {
    let p = Packet::parse(packet).unwrap();
    for c in p.chunks().flatten() {
        if c.chunk_type == ChunkType::RE_CONFIG {
            for param in wire::Params::new(c.value).flatten() {
                if let Ok(wire::ReconfigParam::OutgoingReset { request_seq, .. }) =
                    wire::ReconfigParam::parse(&param)
                {
                    return Some(request_seq);
                }
            }
        }
    }
    None
}

/// An "in progress" answer (RFC 6525 §5.2.2: the peer waits for data before resetting) shows
/// the peer is there: the retry goes one plain RTO later, without the back-off of the
/// unanswered send before it. Found with usrsctp under loss: with the back-off kept, the retry
/// came after usrsctp had left, and the association gave up.
#[test]
fn an_in_progress_answer_is_retried_after_one_rto_without_back_off() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 8, 256, 8>(client(), server(), 64 * 1024);
    let id = a.open_channel("c", "", ChannelOptions::default()).unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    b.send(id, MessageKind::Binary, b"tag").unwrap();
    let tag_to_a = tag_of(&drain(&mut b)[0]);
    let rto = a.stats().rto;
    a.close_channel(id);
    let first = drain(&mut a);
    let seq = first.iter().find_map(|p| reset_request_seq(p)).unwrap();
    // Unanswered: the timer resends it and backs off.
    now = a.poll_timeout().unwrap();
    a.handle_timeout(now);
    assert_eq!(
        drain(&mut a).iter().find_map(|p| reset_request_seq(p)),
        Some(seq)
    );
    assert_eq!(a.stats().rto, rto * 2);
    // "In progress": the retry, under the next sequence number, one RTO later.
    let answer = packet(tag_to_a, |w| {
        wire::emit_chunk(w, ChunkType::RE_CONFIG, 0, |w| {
            wire::ReconfigParam::emit_response(w, seq, wire::ReconfigResult::IN_PROGRESS)
        })
    });
    a.handle_packet(now, &answer);
    assert!(drain(&mut a).iter().all(|p| reset_request_seq(p).is_none()));
    assert_eq!(a.stats().rto, rto);
    let retry_at = a.poll_timeout().unwrap();
    assert_eq!(retry_at, now + rto);
    a.handle_timeout(retry_at);
    assert_eq!(
        drain(&mut a).iter().find_map(|p| reset_request_seq(p)),
        Some(seq.wrapping_add(1))
    );
    assert_eq!(a.stats().rto, rto, "a retry is not a loss");
}

/// A request that arrives several times before we send anything (retransmissions) is answered
/// once, not once per copy until the response list is full.
#[test]
fn a_retransmitted_reset_request_is_answered_once() {
    let (mut a, mut b, mut sa, mut sb, mut now) =
        connected::<256, 8, 256, 8>(client(), server(), 64 * 1024);
    let id = a.open_channel("c", "", ChannelOptions::default()).unwrap();
    run(&mut a, &mut b, &mut sa, &mut sb, &mut now);
    a.close_channel(id);
    let request = drain(&mut a)
        .into_iter()
        .find(|p| reset_request_seq(p).is_some())
        .unwrap();
    for _ in 0..6 {
        b.handle_packet(now, &request.clone());
    }
    let mut responses = 0;
    for p in drain(&mut b) {
        for c in Packet::parse(&p).unwrap().chunks().flatten() {
            if c.chunk_type == ChunkType::RE_CONFIG {
                responses += wire::Params::new(c.value)
                    .flatten()
                    .filter(|p| p.param_type == wire::ParamType::RECONFIGURATION_RESPONSE)
                    .count();
            }
        }
    }
    assert_eq!(responses, 1);
}

/// A channel closed before the association is up, with a peer that turns out not to support
/// stream resets (no RE-CONFIG in its INIT-ACK): it closes locally at establishment instead of
/// waiting forever for a reset it cannot send.
#[test]
fn a_close_before_connecting_to_a_peer_without_reconfig_completes() {
    let mut a: Assoc<256, 8> = new(client(), 64 * 1024, 64 * 1024);
    let id = a
        .open_channel("early", "", ChannelOptions::default())
        .unwrap();
    a.close_channel(id);
    let now = Instant::ZERO;
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
        wire::emit_chunk(w, ChunkType::INIT_ACK, 0, |w| {
            w.u32(0x1234_5678);
            w.u32(65536);
            w.u16(16);
            w.u16(16);
            w.u32(1000);
            wire::emit_param(w, wire::ParamType::STATE_COOKIE, |w| w.bytes(b"cookie"));
        })
    });
    a.handle_packet(now, &init_ack);
    drain(&mut a);
    let cookie_ack = packet(init.initiate_tag, |w| {
        wire::emit_chunk(w, ChunkType::COOKIE_ACK, 0, |_| {})
    });
    a.handle_packet(now, &cookie_ack);
    let mut seen = Seen::default();
    events(&mut a, &mut seen);
    assert_eq!(seen.connected, 1);
    assert_eq!(seen.channel_closed, vec![id]);
    for p in drain(&mut a) {
        assert!(
            reset_request_seq(&p).is_none(),
            "a reset the peer cannot take"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Bulk close under loss, on the simulator.
// ---------------------------------------------------------------------------------------------

struct SimNode {
    assoc: Assoc<256, 512>,
    seen: Seen,
}

impl peerless_proptest::sim::Node for SimNode {
    fn handle_packet(
        &mut self,
        now: Instant,
        _from: std::net::SocketAddr,
        _to: std::net::SocketAddr,
        packet: &mut [u8],
    ) {
        self.assoc.handle_packet(now, packet);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.assoc.handle_timeout(now);
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<peerless_base::Transmit<'b>>, peerless_base::BufferTooSmall> {
        self.assoc.poll_transmit(buf)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.assoc.poll_timeout()
    }
    fn drain_events(&mut self, _now: Instant) {
        events(&mut self.assoc, &mut self.seen);
    }
}

/// 150 channels each way over a link losing 10 % of packets each way (with duplicates and
/// reordering), each side closing all of its own at once: two RE-CONFIG requests per side
/// (128 streams at most in one), lost and retransmitted, and every channel closes on both sides.
#[test]
fn a_hundred_and_fifty_channels_close_at_once_each_way_under_loss() {
    use peerless_proptest::sim::{LinkConfig, Network};
    for seed in 1..=3u64 {
        let (a_addr, b_addr): (std::net::SocketAddr, std::net::SocketAddr) = (
            "10.0.0.1:5000".parse().unwrap(),
            "10.0.0.2:5000".parse().unwrap(),
        );
        let mut net = Network::new(seed);
        let mut a = SimNode {
            assoc: new(client(), 256 * 1024, 256 * 1024),
            seen: Seen::default(),
        };
        let b = SimNode {
            assoc: new(server(), 256 * 1024, 256 * 1024),
            seen: Seen::default(),
        };
        a.assoc.connect(Instant::ZERO);
        let link = LinkConfig::lossy(0.1, 0.02);
        let ia = net.add(a, a_addr, link.clone());
        let ib = net.add(b, b_addr, link);
        net.set_default_peer(ia, b_addr);
        net.set_default_peer(ib, a_addr);
        let ours: Vec<StreamId> = (0..150)
            .map(|i| {
                net.node_mut(ia)
                    .assoc
                    .open_channel(&format!("a{i}"), "", ChannelOptions::default())
                    .unwrap()
            })
            .collect();
        let theirs: Vec<StreamId> = (0..150)
            .map(|i| {
                net.node_mut(ib)
                    .assoc
                    .open_channel(&format!("b{i}"), "", ChannelOptions::default())
                    .unwrap()
            })
            .collect();
        net.kick(ia);
        net.kick(ib);
        let open = net.run_until(Duration::from_secs(60), |n| {
            n.node(ia).seen.opened.len() == 150 && n.node(ib).seen.opened.len() == 150
        });
        assert!(
            open,
            "seed {seed}: opened {} {} a {:?} b {:?} closed {:?} {:?}",
            net.node(ia).seen.opened.len(),
            net.node(ib).seen.opened.len(),
            net.node(ia).assoc.stats(),
            net.node(ib).assoc.stats(),
            net.node(ia).seen.closed,
            net.node(ib).seen.closed
        );
        for (&x, &y) in ours.iter().zip(&theirs) {
            net.node_mut(ia).assoc.close_channel(x);
            net.node_mut(ib).assoc.close_channel(y);
        }
        net.kick(ia);
        net.kick(ib);
        let closed = net.run_until(Duration::from_secs(120), |n| {
            n.node(ia).seen.channel_closed.len() == 300
                && n.node(ib).seen.channel_closed.len() == 300
        });
        let mut all: Vec<StreamId> = ours.iter().chain(&theirs).copied().collect();
        all.sort_unstable();
        for id in [ia, ib] {
            let mut got = net.node(id).seen.channel_closed.clone();
            got.sort_unstable();
            assert_eq!(got, all, "seed {seed}, closed {}", got.len());
            assert_eq!(net.node(id).seen.closed, None);
        }
        assert!(closed);
    }
}
