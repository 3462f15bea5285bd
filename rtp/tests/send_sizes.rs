//! What the send side costs: `size_of` each machine, and the storage a 720p30 video sender
//! (1 s of 2.5 Mbit/s) and an Opus sender (1 s of 32 kbit/s, 20 ms packets) must lend their
//! send history and transport-wide record, proven by streaming through it: every packet of
//! the last second is still there. `cargo test -p peerless-rtp --test send_sizes -- --nocapture`
//! prints the numbers the crate docs quote.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::mem::size_of;

use peerless_base::Instant;
use peerless_rtp::send::{
    HistoryConfig, RtcpSchedule, SendHistory, SenderStats, TwccSendRecord, TwccSlot,
};

/// A history owning its area, as a Peer holds it.
type History = SendHistory<Box<[u8]>>;
const INDEX: usize = History::INDEX_BYTES_PER_PACKET;

/// An RTP packet of `payload` bytes with a 12-byte header and an 8-byte extension block
/// (transport-wide sequence number and mid), as a browser sends them.
fn packet(seq: u16, payload: usize) -> Vec<u8> {
    let mut p = vec![0x90, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 0x11, 0, 0, 0]);
    p.resize(20 + payload, 0x55);
    p
}

/// Streams `secs` seconds of `bits_per_second` in frames of `fps`, packets of at most
/// `max_payload`, through a history with the given storage; returns the packet count of the
/// last second and asserts every one of them is still held.
fn stream(
    bits_per_second: usize,
    fps: usize,
    max_payload: usize,
    bytes: usize,
    slots: usize,
) -> (usize, usize) {
    let area = vec![0u8; History::area_for(slots, bytes)].into_boxed_slice();
    let mut history: History = SendHistory::new(HistoryConfig::default(), area, slots);
    assert_eq!((history.packets(), history.capacity()), (slots, bytes));
    let frame_bytes = bits_per_second / 8 / fps;
    let mut seq = 0u16;
    let mut last_second = Vec::new();
    let mut wire_bytes = 0;
    for frame in 0..3 * fps {
        let now = Instant::from_micros((frame * 1_000_000 / fps) as u64);
        let count = frame_bytes.div_ceil(max_payload);
        for k in 0..count {
            let len = if k + 1 < count {
                frame_bytes / count
            } else {
                frame_bytes - (count - 1) * (frame_bytes / count)
            };
            let p = packet(seq, len);
            // Through the queue, as a Peer sends.
            history.enqueue(now, &p).unwrap();
            let mut out = [0u8; 1500];
            assert_eq!(history.poll_unsent(now, &mut out), Ok(Some(p.len())));
            assert_eq!(&out[..p.len()], &p[..]);
            if frame >= 2 * fps {
                last_second.push(seq);
                wire_bytes += p.len();
            }
            seq = seq.wrapping_add(1);
        }
    }
    for s in &last_second {
        assert!(history.contains(*s), "packet {s} of the last second lost");
    }
    // And the storage is not wastefully large: the packet before the last second is gone
    // when the area is sized to the second (checked by the caller's numbers).
    (last_second.len(), wire_bytes)
}

#[test]
fn sizes_and_lent_storage() {
    println!(
        "size_of SendHistory<Box<[u8]>> (64 pending) = {} bytes",
        size_of::<SendHistory<Box<[u8]>>>()
    );
    println!(
        "size_of SendHistory<Box<[u8]>, 8> = {} bytes",
        size_of::<SendHistory<Box<[u8]>, 8>>()
    );
    println!("index bytes per packet = {INDEX}");
    println!("size_of SenderStats = {} bytes", size_of::<SenderStats>());
    println!("size_of RtcpSchedule = {} bytes", size_of::<RtcpSchedule>());
    println!(
        "size_of TwccSendRecord = {} bytes",
        size_of::<TwccSendRecord<'static>>()
    );
    println!("size_of TwccSlot = {} bytes", size_of::<TwccSlot>());

    // 720p30 at 2.5 Mbit/s, 1200-byte payloads: 9 packets a frame, 270 a second.
    let video_bytes = 320 * 1024;
    let video_slots = 320;
    let (packets, wire) = stream(2_500_000, 30, 1200, video_bytes, video_slots);
    println!(
        "720p30 2.5 Mbit/s, 1 s of history: {packets} packets, {wire} bytes on the wire; lend {video_bytes} bytes + {video_slots} index records ({} bytes) = {} KiB; transport-wide record {video_slots} slots = {} bytes",
        video_slots * INDEX,
        History::area_for(video_slots, video_bytes) / 1024,
        video_slots * size_of::<TwccSlot>(),
    );
    assert_eq!(packets, 270);
    assert!(wire + 1220 <= video_bytes, "{wire}");

    // Opus at 32 kbit/s in 20 ms packets: 80-byte payloads, 50 a second.
    let audio_bytes = 6 * 1024;
    let audio_slots = 64;
    let (packets, wire) = stream(32_000, 50, 1200, audio_bytes, audio_slots);
    println!(
        "Opus 32 kbit/s 20 ms, 1 s of history: {packets} packets, {wire} bytes on the wire; lend {audio_bytes} bytes + {audio_slots} index records ({} bytes) = {} KiB",
        audio_slots * INDEX,
        History::area_for(audio_slots, audio_bytes) as f64 / 1024.0,
    );
    assert_eq!(packets, 50);
    assert!(wire + 100 <= audio_bytes, "{wire}");

    // The machines stay small enough to live inline in a Peer.
    assert!(size_of::<SendHistory<Box<[u8]>>>() <= 512);
    assert!(size_of::<RtcpSchedule>() <= 512);
}

/// The same streams through too little storage lose the oldest packets of the second: the
/// sizing above is needed, not generous by accident.
#[test]
#[should_panic(expected = "of the last second lost")]
fn a_smaller_video_area_does_not_hold_the_second() {
    stream(2_500_000, 30, 1200, 300 * 1024, 512);
}
