//! What the packet-by-packet association tests share: an association over leaked areas with
//! the default configuration, the drain and event rules, an exchange until both ends are
//! quiet, and an established pair.

// Each test file uses part of this module.
#![allow(dead_code, unused_imports)]

pub(crate) use core::time::Duration;

pub(crate) use peerless_base::{Instant, Writer};
pub(crate) use peerless_sctp::wire::{self, ChunkType, Init, Packet, Sack};
pub(crate) use peerless_sctp::{
    Association, ChannelOptions, CloseReason, Config, DtlsRole, Event, MessageKind, SendError,
    StreamId,
};

pub(crate) type Assoc = Association;

pub(crate) fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

pub(crate) fn assoc(role: DtlsRole, seed: u8, recv: usize) -> Assoc {
    Association::new(
        Config::new(role, [seed; 32]),
        Instant::ZERO,
        area(64 * 1024),
        area(recv),
    )
}

pub(crate) fn assoc_with(config: Config, recv: usize) -> Assoc {
    Association::new(config, Instant::ZERO, area(64 * 1024), area(recv))
}

pub(crate) fn drain(a: &mut Assoc) -> Vec<Vec<u8>> {
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
    pub(crate) messages: Vec<(StreamId, MessageKind, Vec<u8>)>,
    pub(crate) opened: Vec<(StreamId, String)>,
    pub(crate) closed: Option<CloseReason>,
    /// `ChannelClosing` and `ChannelClosed`, in the order they came.
    pub(crate) channel_ends: Vec<(&'static str, StreamId)>,
}

pub(crate) fn events(a: &mut Assoc, seen: &mut Seen) {
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
            Event::ChannelClosing(s) => seen.channel_ends.push(("closing", s)),
            Event::ChannelClosed(s) => seen.channel_ends.push(("closed", s)),
            _ => {}
        }
    }
}

pub(crate) fn first_chunk_type(packet: &[u8]) -> ChunkType {
    Packet::parse(packet)
        .unwrap()
        .chunks()
        .next()
        .unwrap()
        .unwrap()
        .chunk_type
}

/// Exchanges packets until both are quiet, at time `now`.
pub(crate) fn exchange(a: &mut Assoc, b: &mut Assoc, sa: &mut Seen, sb: &mut Seen, now: Instant) {
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

/// An established pair.
pub(crate) fn established(za: bool, zb: bool) -> (Assoc, Assoc, Seen, Seen) {
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

pub(crate) fn data_chunks(packets: &[Vec<u8>]) -> usize {
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
