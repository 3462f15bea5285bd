//! An SCTP association over a plain UDP socket (no DTLS), for interop tests with other SCTP
//! stacks driven the same way (`sctp/interop/aiortc_sctp.py`).
//!
//! `sctp_udp <client|server> <local addr> <remote addr> [passive] [channels]`: connects (both
//! sides send INIT, as WebRTC peers do; with `passive` it only answers the peer's INIT, as the
//! SCTP server), opens channel "rust-chan" and sends a set of messages on it, echoes every
//! message received on channels the peer opens, and when its own messages have all come back
//! closes "rust-chan" by stream reset. Exits 0 when that close completes and the peer's
//! messages are all echoed and acknowledged (then lingers two seconds to answer
//! retransmissions), 1 on timeout.
//!
//! With `channels` it runs the bulk-close check instead: it opens [`CHANNELS`] channels, and
//! once the peer's [`CHANNELS`] channels are open too it closes all of its own at once; it
//! succeeds when every one of the 2 x [`CHANNELS`] channels has closed (the peer closes its
//! own at once as well).

// An example binary: a failure is a bug to see at once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::UdpSocket;
use std::time::Duration;

use peerless_base::StdClock;
use peerless_sctp::wire::{ChunkType, Packet, Params, ReconfigParam};
use peerless_sctp::{
    Association, ChannelOptions, Config, DtlsRole, Event, MessageKind, Reliability, StreamId,
};

/// With `SCTP_TRACE` set, prints the RE-CONFIG parameters of a packet (stream reset debugging).
fn trace(dir: &str, packet: &[u8]) {
    if std::env::var_os("SCTP_TRACE").is_none() {
        return;
    }
    let Ok(p) = Packet::parse(packet) else { return };
    for c in p.chunks().flatten() {
        if c.chunk_type == ChunkType::RE_CONFIG {
            for param in Params::new(c.value).flatten() {
                if let Ok(r) = ReconfigParam::parse(&param) {
                    eprintln!("trace {dir} {r:?}");
                }
            }
        }
    }
}

/// The messages each side sends: sizes chosen to cover one chunk, many chunks, and the empty
/// message.
pub const SIZES: [usize; 7] = [1, 100, 1172, 1173, 5000, 65_536, 0];

/// Messages each side sends on its partially reliable channel.
const PARTIAL_MESSAGES: u32 = 50;

/// Channels each side opens and then closes at once in the `channels` mode.
pub const CHANNELS: usize = 100;

/// Message `index`'s kind: binary when even, text when odd.
fn kind_of(index: usize) -> MessageKind {
    if index.is_multiple_of(2) {
        MessageKind::Binary
    } else {
        MessageKind::Text
    }
}

/// Message `index`: binary (even) with every byte value, or text (odd) in ASCII so it is
/// valid UTF-8.
fn message(index: usize, salt: u8) -> Vec<u8> {
    let size = SIZES[index];
    if index.is_multiple_of(2) {
        (0..size)
            .map(|i| (i as u8).wrapping_mul(7) ^ salt)
            .collect()
    } else {
        (0..size)
            .map(|i| b'a' + ((i + usize::from(salt)) % 26) as u8)
            .collect()
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let role = match args.get(1).map(String::as_str) {
        Some("client") => DtlsRole::Client,
        Some("server") => DtlsRole::Server,
        _ => panic!("usage: sctp_udp <client|server> <local> <remote>"),
    };
    let socket = UdpSocket::bind(&args[2]).unwrap();
    socket.connect(&args[3]).unwrap();
    let passive = args.iter().any(|a| a == "passive");
    let clock = StdClock::new();
    let mut send_area = vec![0u8; 1 << 20];
    let mut recv_area = vec![0u8; 1 << 20];
    let mut config = Config::new(role, [0x42; 32]);
    config.remote_max_message_size = 262_144;
    let mut assoc: Association<&mut [u8], 256, 256> =
        Association::new(config, clock.now(), &mut send_area, &mut recv_area);
    if !passive {
        assoc.connect(clock.now());
    }
    if args.iter().any(|a| a == "channels") {
        bulk_close(&mut assoc, &socket, &clock, passive);
        return;
    }
    let ours = assoc
        .open_channel("rust-chan", "interop", ChannelOptions::default())
        .unwrap();
    // A partially reliable channel (no retransmissions, unordered): under loss its lost
    // messages are abandoned and skipped with FORWARD-TSN, which the peer must accept for the
    // reliable channels to keep flowing.
    let partial = assoc
        .open_channel(
            "rust-partial",
            "",
            ChannelOptions {
                ordered: false,
                reliability: Reliability::MaxRetransmits(0),
                ..ChannelOptions::default()
            },
        )
        .unwrap();
    let mut partial_sent = 0u32;
    let mut peer_partial: Option<StreamId> = None;
    let mut peer_partial_last: Option<u32> = None;
    let mut peer_partial_count = 0;
    let mut sent = 0;
    let mut echoed = 0;
    let mut echoes_to_do: Vec<(StreamId, MessageKind, Vec<u8>)> = Vec::new();
    let mut closing = false;
    let mut peer_messages = 0;
    let mut closed = false;
    let mut linger_until: Option<std::time::Instant> = None;
    let mut buf = vec![0u8; 1500];
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if std::time::Instant::now() > deadline {
            eprintln!(
                "timeout: sent {sent}, echoed {echoed}, stats {:?}",
                assoc.stats()
            );
            std::process::exit(1);
        }
        // Send our messages once connected.
        if assoc.is_established() {
            while partial_sent < PARTIAL_MESSAGES {
                let mut data = vec![0x33u8; 200];
                data[..4].copy_from_slice(&partial_sent.to_be_bytes());
                if assoc.send(partial, MessageKind::Binary, &data).is_err() {
                    break;
                }
                partial_sent += 1;
            }
            while sent < SIZES.len() {
                let data = message(sent, 0x11);
                if assoc.send(ours, kind_of(sent), &data).is_err() {
                    break;
                }
                sent += 1;
            }
        }
        for (ch, kind, data) in echoes_to_do.drain(..) {
            assoc.send(ch, kind, &data).unwrap();
        }
        while let Some(t) = assoc.poll_transmit(&mut buf).unwrap() {
            // The SCTP server never starts the association (the first chunk type at byte 12).
            assert!(
                !(passive && t.get(12) == Some(&1)),
                "passive side sent INIT"
            );
            trace("out", t);
            socket.send(t).unwrap();
        }
        while let Some(e) = assoc.poll_event() {
            match e {
                Event::Connected => eprintln!("rust: connected"),
                Event::ChannelOpen {
                    stream: id,
                    label,
                    protocol,
                    ..
                } => {
                    eprintln!("rust: peer opened channel {id} {label:?} {protocol:?}");
                    if label == "py-partial" {
                        peer_partial = Some(id);
                    }
                }
                Event::Message {
                    stream: channel,
                    kind,
                    data,
                } if channel == ours => {
                    let want = message(echoed, 0x11);
                    assert_eq!(data, &want[..], "echo {echoed} differs");
                    assert_eq!(kind, kind_of(echoed));
                    echoed += 1;
                    eprintln!(
                        "rust: echo {echoed}/{} ok ({} bytes)",
                        SIZES.len(),
                        data.len()
                    );
                }
                Event::Message {
                    stream: channel,
                    data,
                    ..
                } if Some(channel) == peer_partial => {
                    // Ordered and partially reliable: what arrives is in order, never twice.
                    let index = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                    assert!(
                        peer_partial_last.is_none_or(|last| last < index),
                        "partial message {index} out of order"
                    );
                    peer_partial_last = Some(index);
                    peer_partial_count += 1;
                }
                Event::Message {
                    stream: channel,
                    kind,
                    data,
                } => {
                    peer_messages += 1;
                    echoes_to_do.push((channel, kind, data.to_vec()));
                }
                Event::ChannelClosed(ch) => {
                    eprintln!("rust: channel {ch} closed");
                    if ch == ours {
                        closed = true;
                    }
                }
                Event::Closed(reason) => {
                    eprintln!(
                        "rust: association closed: {reason:?} (stats {:?})",
                        assoc.stats()
                    );
                    // The peer may end the association once it has everything: fine if we have
                    // everything too.
                    if linger_until.is_some() {
                        println!(
                            "OK rust: {echoed} echoes verified, {peer_messages} peer messages echoed, channel closed by stream reset ({} retransmissions, {} messages abandoned, {peer_partial_count} partial messages received in order)",
                            assoc.stats().retransmissions,
                            assoc.stats().abandoned_messages
                        );
                        return;
                    }
                    std::process::exit(1);
                }
                _ => {}
            }
        }
        let all_acked = assoc.stats().flight_size == 0 && echoes_to_do.is_empty();
        if closed && peer_messages == SIZES.len() && all_acked && linger_until.is_none() {
            linger_until = Some(std::time::Instant::now() + Duration::from_secs(2));
        }
        if linger_until.is_some_and(|t| std::time::Instant::now() > t) {
            println!(
                "OK rust: {echoed} echoes verified, {peer_messages} peer messages echoed, channel closed by stream reset ({} retransmissions, {} messages abandoned, {peer_partial_count} partial messages received in order)",
                assoc.stats().retransmissions,
                assoc.stats().abandoned_messages
            );
            return;
        }
        if echoed == SIZES.len() && !closing {
            closing = true;
            assoc.close_channel(ours);
            continue;
        }
        if !echoes_to_do.is_empty() {
            continue;
        }
        let wait = assoc
            .poll_timeout()
            .map(|t| {
                clock
                    .std_instant(t)
                    .saturating_duration_since(std::time::Instant::now())
            })
            .unwrap_or(Duration::from_millis(50))
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        socket.set_read_timeout(Some(wait)).unwrap();
        let mut rx = [0u8; 2048];
        if let Ok(n) = socket.recv(&mut rx) {
            trace("in", &rx[..n]);
            assoc.handle_packet(clock.now(), &rx[..n]);
        }
        if assoc.poll_timeout().is_some_and(|t| t <= clock.now()) {
            assoc.handle_timeout(clock.now());
        }
    }
}

/// The `channels` mode: open [`CHANNELS`], close them all at once when the peer's are open,
/// and wait for all 2 x [`CHANNELS`] to close.
fn bulk_close(
    assoc: &mut Association<&mut [u8], 256, 256>,
    socket: &UdpSocket,
    clock: &StdClock,
    passive: bool,
) {
    let ours: Vec<StreamId> = (0..CHANNELS)
        .map(|i| {
            assoc
                .open_channel(&format!("rust-{i}"), "", ChannelOptions::default())
                .unwrap()
        })
        .collect();
    let mut theirs = Vec::new();
    let mut closed = Vec::new();
    let mut closing = false;
    let mut done_at: Option<std::time::Instant> = None;
    let mut buf = vec![0u8; 1500];
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        if std::time::Instant::now() > deadline {
            eprintln!(
                "timeout: {} peer channels opened, {} channels closed, stats {:?}",
                theirs.len(),
                closed.len(),
                assoc.stats()
            );
            std::process::exit(1);
        }
        while let Some(t) = assoc.poll_transmit(&mut buf).unwrap() {
            // The SCTP server never starts the association (the first chunk type at byte 12).
            assert!(
                !(passive && t.get(12) == Some(&1)),
                "passive side sent INIT"
            );
            trace("out", t);
            socket.send(t).unwrap();
        }
        while let Some(e) = assoc.poll_event() {
            match e {
                Event::ChannelOpen { stream: id, .. } => theirs.push(id),
                Event::ChannelClosed(id) => closed.push(id),
                Event::Closed(reason) => {
                    if done_at.is_some() {
                        return;
                    }
                    eprintln!("rust: association closed early: {reason:?}");
                    std::process::exit(1);
                }
                _ => {}
            }
        }
        if !closing && theirs.len() == CHANNELS {
            closing = true;
            eprintln!("rust: the peer's {CHANNELS} channels are open: closing ours at once");
            for &id in &ours {
                assoc.close_channel(id);
            }
            continue;
        }
        if done_at.is_none() && closed.len() == 2 * CHANNELS {
            let mut all: Vec<StreamId> = ours.iter().chain(&theirs).copied().collect();
            all.sort_unstable();
            closed.sort_unstable();
            assert_eq!(closed, all, "every channel closed once");
            println!(
                "OK rust: {} channels closed ({CHANNELS} by us, {CHANNELS} by the peer, all at once)",
                closed.len()
            );
            done_at = Some(std::time::Instant::now() + Duration::from_secs(2));
        }
        if done_at.is_some_and(|t| std::time::Instant::now() > t) {
            return;
        }
        let wait = assoc
            .poll_timeout()
            .map(|t| {
                clock
                    .std_instant(t)
                    .saturating_duration_since(std::time::Instant::now())
            })
            .unwrap_or(Duration::from_millis(50))
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        socket.set_read_timeout(Some(wait)).unwrap();
        let mut rx = [0u8; 2048];
        if let Ok(n) = socket.recv(&mut rx) {
            trace("in", &rx[..n]);
            assoc.handle_packet(clock.now(), &rx[..n]);
        }
        if assoc.poll_timeout().is_some_and(|t| t <= clock.now()) {
            assoc.handle_timeout(clock.now());
        }
    }
}
