//! Property tests: every chunk and parameter round-trips through emit and parse, and no input
//! bytes make a parser or the association panic.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_base::{Instant, Writer};
use peerless_sctp::dcep::{self, ChannelType};
use peerless_sctp::wire::{
    self, ChunkType, Data, ForwardTsn, Init, InitFields, Packet, Params, Ppid, ReconfigParam,
    ReconfigResult, Sack,
};
use peerless_sctp::{
    Association, ChannelOptions, CloseReason, Config, DtlsRole, Event, MessageKind, Reliability,
    StreamId,
};
use proptest::prelude::*;

fn packet(body: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 70_000];
    let mut w = Writer::new(&mut buf);
    wire::emit_common_header(&mut w, 5000, 5000, 7);
    body(&mut w);
    let n = w.finish().unwrap();
    buf.truncate(n);
    wire::seal(&mut buf, false);
    buf
}

fn only_chunk(bytes: &[u8]) -> wire::Chunk<'_> {
    let p = Packet::parse(bytes).unwrap();
    assert_eq!(wire::check_checksum(bytes), wire::Checksum::Valid);
    let mut chunks = p.chunks();
    let c = chunks.next().unwrap().unwrap();
    assert!(chunks.next().is_none());
    c
}

/// The property tests' case count: `PROPTEST_CASES` when set (CI raises it), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(256)))]

    #[test]
    fn data_round_trips(flags in 0u8..16, tsn: u32, stream: u16, ssn: u16, ppid: u32,
                        payload in proptest::collection::vec(any::<u8>(), 1..1300)) {
        let d = Data { flags, tsn, stream, ssn, ppid: Ppid(ppid), payload: &payload };
        let bytes = packet(|w| d.emit(w));
        prop_assert_eq!(bytes.len() % 4, 0);
        let c = only_chunk(&bytes);
        prop_assert_eq!(c.chunk_type, ChunkType::DATA);
        prop_assert_eq!(Data::parse(&c).unwrap(), d);
    }

    #[test]
    fn sack_round_trips(cum: u32, rwnd: u32,
                        gaps in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..40),
                        dups in proptest::collection::vec(any::<u32>(), 0..40)) {
        let bytes = packet(|w| Sack::emit(w, cum, rwnd, &gaps, &dups));
        let c = only_chunk(&bytes);
        let s = Sack::parse(&c).unwrap();
        prop_assert_eq!((s.cumulative_tsn, s.a_rwnd), (cum, rwnd));
        prop_assert_eq!(s.gap_blocks().collect::<Vec<_>>(), gaps);
        prop_assert_eq!(s.duplicate_tsns().collect::<Vec<_>>(), dups);
    }

    #[test]
    fn forward_tsn_round_trips(cum: u32, streams in proptest::collection::vec((any::<u16>(), any::<u16>()), 0..20)) {
        let bytes = packet(|w| ForwardTsn::emit(w, cum, &streams));
        let c = only_chunk(&bytes);
        let f = ForwardTsn::parse(&c).unwrap();
        prop_assert_eq!(f.new_cumulative_tsn, cum);
        prop_assert_eq!(f.streams().collect::<Vec<_>>(), streams);
    }

    #[test]
    fn init_and_init_ack_round_trip(ack: bool, tag in 1u32.., a_rwnd: u32, os in 1u16.., mis in 1u16..,
                                    tsn: u32, zero: bool,
                                    cookie in proptest::collection::vec(any::<u8>(), 1..200)) {
        let fields = InitFields {
            chunk_type: if ack { ChunkType::INIT_ACK } else { ChunkType::INIT },
            initiate_tag: tag, a_rwnd, outbound_streams: os, inbound_streams: mis,
            initial_tsn: tsn, zero_checksum: zero,
            cookie: ack.then_some(&cookie[..]), unrecognized: &[],
        };
        let bytes = packet(|w| fields.emit(w));
        let c = only_chunk(&bytes);
        let init = Init::parse(&c).unwrap();
        prop_assert_eq!((init.initiate_tag, init.a_rwnd, init.outbound_streams, init.inbound_streams, init.initial_tsn),
                        (tag, a_rwnd, os, mis, tsn));
        let caps = init.capabilities();
        prop_assert!(caps.forward_tsn && caps.reconfig);
        prop_assert_eq!(caps.zero_checksum, zero);
        prop_assert_eq!(init.state_cookie(), ack.then_some(&cookie[..]));
    }

    #[test]
    fn reconfig_round_trips(req: u32, resp: u32, last: u32, result: u32,
                            streams in proptest::collection::vec(any::<u16>(), 0..30)) {
        let mut buf = vec![0u8; 256];
        let mut w = Writer::new(&mut buf);
        ReconfigParam::emit_outgoing_reset(&mut w, req, resp, last, &streams);
        ReconfigParam::emit_response(&mut w, resp, ReconfigResult(result));
        let n = w.finish().unwrap();
        let params: Vec<_> = Params::new(&buf[..n]).map(|p| p.unwrap()).collect();
        prop_assert_eq!(params.len(), 2);
        match ReconfigParam::parse(&params[0]).unwrap() {
            ReconfigParam::OutgoingReset { request_seq, response_seq, last_tsn, streams: s } => {
                prop_assert_eq!((request_seq, response_seq, last_tsn), (req, resp, last));
                prop_assert_eq!(ReconfigParam::stream_ids(s).collect::<Vec<_>>(), streams);
            }
            other => prop_assert!(false, "{:?}", other),
        }
        prop_assert_eq!(ReconfigParam::parse(&params[1]).unwrap(),
                        ReconfigParam::Response { response_seq: resp, result: ReconfigResult(result) });
    }

    #[test]
    fn dcep_open_round_trips(kind in 0u8..3, unordered: bool, priority: u16, reliability: u32,
                             label in "\\PC{0,40}", protocol in "\\PC{0,20}") {
        let channel_type = ChannelType(kind | if unordered { 0x80 } else { 0 });
        let msg = dcep::Message::Open(dcep::Open { channel_type, priority, reliability, label: &label, protocol: &protocol });
        let mut buf = vec![0u8; 512];
        let mut w = Writer::new(&mut buf);
        msg.emit(&mut w);
        let n = w.finish().unwrap();
        prop_assert_eq!(dcep::Message::parse(&buf[..n]).unwrap(), msg);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_parsers(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = wire::check_checksum(&bytes);
        let _ = dcep::Message::parse(&bytes);
        for p in Params::new(&bytes).flatten() {
            let _ = ReconfigParam::parse(&p);
        }
        if let Ok(p) = Packet::parse(&bytes) {
            let _ = (p.source_port(), p.destination_port(), p.verification_tag());
            for c in p.chunks() {
                let c = c.unwrap();
                let _ = Data::parse(&c);
                if let Ok(i) = Init::parse(&c) {
                    let _ = (i.capabilities(), i.state_cookie());
                }
                if let Ok(s) = Sack::parse(&c) {
                    let _ = (s.gap_blocks().count(), s.duplicate_tsns().count());
                }
                if let Ok(f) = ForwardTsn::parse(&c) {
                    let _ = f.streams().count();
                }
            }
        }
    }
}

type Assoc = Association<&'static mut [u8], 64, 8>;

fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

fn drain(a: &mut Assoc) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
        out.push(t.to_vec());
    }
    out
}

/// What an association reported: messages and whether (why) it ended.
#[derive(Default)]
struct Seen {
    messages: Vec<Vec<u8>>,
    closed: Option<CloseReason>,
}

fn events(a: &mut Assoc, seen: &mut Seen) {
    while let Some(e) = a.poll_event() {
        match e {
            Event::Message { data, .. } => seen.messages.push(data.to_vec()),
            Event::Closed(r) => seen.closed = Some(r),
            _ => {}
        }
    }
}

fn pair() -> (Assoc, Assoc) {
    let a: Assoc = Association::new(
        Config::new(DtlsRole::Client, [1; 32]),
        Instant::ZERO,
        area(32768),
        area(32768),
    );
    let b: Assoc = Association::new(
        Config::new(DtlsRole::Server, [2; 32]),
        Instant::ZERO,
        area(32768),
        area(32768),
    );
    (a, b)
}

/// Real traffic between two associations. Every packet from `a` to `b` goes through `mutate`
/// (its index among them, the bytes), both sides' events are drained after each step and the
/// clock moves `step` after each round.
fn traffic(
    a: &mut Assoc,
    b: &mut Assoc,
    sa: &mut Seen,
    sb: &mut Seen,
    step: core::time::Duration,
    mut mutate: impl FnMut(usize, &mut Vec<u8>, &mut Assoc),
) -> (usize, Instant) {
    let mut now = Instant::ZERO;
    a.connect(now);
    let ch = a
        .open_channel(
            "fuzz",
            "proto",
            ChannelOptions {
                ordered: false,
                reliability: Reliability::MaxRetransmits(1),
                ..ChannelOptions::default()
            },
        )
        .unwrap();
    a.send(ch, MessageKind::Binary, &[5; 3000]).unwrap();
    let mut to_b = 0;
    for round in 0..10 {
        if round == 5 {
            a.close_channel(ch);
        }
        for mut p in drain(a) {
            mutate(to_b, &mut p, b);
            to_b += 1;
            b.handle_packet(now, &p);
            events(b, sb);
        }
        for p in drain(b) {
            a.handle_packet(now, &p);
        }
        events(a, sa);
        now += step;
        a.handle_timeout(now);
        b.handle_timeout(now);
        events(a, sa);
        events(b, sb);
    }
    (to_b, now)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(128)))]

    /// Arbitrary and mutated packets (re-sealed so they pass the checksum and reach the state
    /// machine) never panic it, and the association keeps answering: after the storm, a clean
    /// exchange still delivers a message, unless the mutated packet ended the association in
    /// a way a genuine packet could (an ABORT, a SHUTDOWN), which is then seen on both sides.
    #[test]
    fn mutated_traffic_never_panics_the_association(
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        which in any::<usize>(), garbage in proptest::collection::vec(any::<u8>(), 0..300),
        zero in any::<bool>(), steps in 1u64..50,
    ) {
        let step = core::time::Duration::from_millis(steps);
        let (mut a, mut b) = pair();
        let (mut sa, mut sb) = (Seen::default(), Seen::default());
        let (count, _) = traffic(&mut a, &mut b, &mut sa, &mut sb, step, |_, _, _| {});
        let target = which % count;
        let (mut a, mut b) = pair();
        let (mut sa, mut sb) = (Seen::default(), Seen::default());
        let (_, mut now) = traffic(&mut a, &mut b, &mut sa, &mut sb, step, |i, p, b| {
            if i == target {
                for &(at, x) in &flips {
                    let at = at % p.len();
                    p[at] ^= x;
                }
                wire::seal(p, zero);
            }
            let mut g = garbage.clone();
            if g.len() >= 12 { wire::seal(&mut g, zero); }
            b.handle_packet(Instant::ZERO, &g);
        });
        // A clean exchange on a negotiated channel, timers running, for up to two minutes.
        let late = ChannelOptions { negotiated: Some(StreamId(100)), ..ChannelOptions::default() };
        let sent = a.open_channel("late", "", late).is_ok()
            && b.open_channel("late", "", late).is_ok()
            && a.send(StreamId(100), MessageKind::Binary, b"still answering").is_ok();
        let until = now + core::time::Duration::from_secs(120);
        while now < until && !sb.messages.iter().any(|m| m == b"still answering") {
            let (from_a, from_b) = (drain(&mut a), drain(&mut b));
            let quiet = from_a.is_empty() && from_b.is_empty();
            for p in from_a {
                b.handle_packet(now, &p);
            }
            for p in from_b {
                a.handle_packet(now, &p);
            }
            events(&mut a, &mut sa);
            events(&mut b, &mut sb);
            if !quiet {
                continue;
            }
            let next = [a.poll_timeout(), b.poll_timeout()].into_iter().flatten().min();
            let Some(next) = next else { break };
            now = next.max(now);
            a.handle_timeout(now);
            b.handle_timeout(now);
        }
        let delivered = sb.messages.iter().any(|m| m == b"still answering");
        if !delivered {
            // Only an end a genuine packet can cause, and never an association left hanging.
            prop_assert!(sent || a.is_closed() || b.is_closed(), "could not send");
            prop_assert!(b.is_closed() || a.is_closed(),
                "neither side closed yet nothing delivered: a {:?} b {:?}", a.stats(), b.stats());
            prop_assert_ne!(sb.closed, Some(CloseReason::MessageTooLarge));
        }
    }
}
