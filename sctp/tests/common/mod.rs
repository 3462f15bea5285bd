//! What the behaviour tests share: associations over lent areas, the drain and event rules,
//! a two-association exchange that runs timers, and hand-built packets.

// Each test file uses part of this module.
#![allow(dead_code, unused_imports)]

pub(crate) use core::time::Duration;

pub(crate) use peerless_base::{Instant, Writer};
pub(crate) use peerless_sctp::wire::{
    self, ChunkType, Data, ForwardTsn, Init, InitFields, Packet, Sack,
};
pub(crate) use peerless_sctp::{
    Association, ChannelError, ChannelOptions, CloseReason, Config, DtlsRole, Event, MessageKind,
    Reliability, StreamId,
};

pub(crate) type Assoc<const C: usize, const N: usize> = Association<&'static mut [u8], C, N>;

pub(crate) fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

pub(crate) fn new<const C: usize, const N: usize>(
    config: Config,
    send: usize,
    recv: usize,
) -> Assoc<C, N> {
    Association::new(config, Instant::ZERO, area(send), area(recv))
}

pub(crate) fn drain<const C: usize, const N: usize>(a: &mut Assoc<C, N>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 1500];
    while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
        out.push(t.to_vec());
    }
    out
}

#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub(crate) connected: u32,
    pub(crate) opened: Vec<(StreamId, String)>,
    pub(crate) messages: Vec<(StreamId, Vec<u8>)>,
    pub(crate) channel_closed: Vec<StreamId>,
    pub(crate) closed: Option<CloseReason>,
}

pub(crate) fn events<const C: usize, const N: usize>(a: &mut Assoc<C, N>, seen: &mut Seen) {
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
pub(crate) fn run<const C: usize, const N: usize, const D: usize, const M: usize>(
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

pub(crate) fn connected<const C: usize, const N: usize, const D: usize, const M: usize>(
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

pub(crate) fn client() -> Config {
    Config::new(DtlsRole::Client, [1; 32])
}

pub(crate) fn server() -> Config {
    Config::new(DtlsRole::Server, [2; 32])
}

pub(crate) fn tag_of(packet: &[u8]) -> u32 {
    Packet::parse(packet).unwrap().verification_tag()
}

/// The DATA chunks of a packet: (TSN, stream, SSN, payload length).
pub(crate) fn data_of(packet: &[u8]) -> Vec<(u32, u16, u16, usize)> {
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

pub(crate) fn packet(tag: u32, body: impl FnOnce(&mut Writer<'_>)) -> Vec<u8> {
    let mut buf = vec![0u8; 1500];
    let mut w = Writer::new(&mut buf);
    wire::emit_common_header(&mut w, 5000, 5000, tag);
    body(&mut w);
    let n = w.finish().unwrap();
    buf.truncate(n);
    wire::seal(&mut buf, false);
    buf
}

pub(crate) fn negotiated(id: u16) -> ChannelOptions {
    ChannelOptions {
        negotiated: Some(StreamId(id)),
        ..ChannelOptions::default()
    }
}
