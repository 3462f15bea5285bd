//! Payload-format CPU cost, peerless-rtp vs str0m 0.24 (its `unversioned` packetizers and
//! depacketizers) in the same run, over three frames packetized at a 1200-byte payload:
//!
//! - H.264 150 KB keyframe, encoder-like: SPS, PPS and four IDR slices whose bytes are uniform
//!   (as CABAC output is), zeros included, with emulation-prevention bytes inserted wherever
//!   two zeros precede a byte <= 3, as an encoder must (so the Annex-B scan meets real zeros);
//! - H.264 150 KB keyframe, synthetic: one IDR slice without a zero byte (the scan's best case,
//!   the previous benchmark's frame, kept to compare with its numbers);
//! - VP8 30 KB keyframe.
//!
//! Each frame gets four rows, each the same work on both sides:
//!
//! - `packetize`: the frame into payloads (ours into caller buffers, str0m's into new Vecs: its
//!   API);
//! - `depacketize in order`: the payloads, in sequence order, back into the frame (ours through
//!   `Depacketizer::push` into a lent buffer, str0m's `depacketize` into a Vec);
//! - `reorder + depacketize`: the payloads arriving shuffled within windows of 8 and put back in
//!   order before depacketizing. Ours go through peerless-rtp's jitter buffer (copied into its
//!   slots, sequence numbers and timestamps extended, holes tracked, the frame released through
//!   the depacketizer into a lent buffer); str0m's jitter buffer is not public API, so its
//!   packets are sorted by sequence number (a Vec sort, no loss handling) and depacketized:
//!   ours still does more per packet here;
//! - `round trip`: packetize + reorder + depacketize, the previous benchmark's single row;
//! - `copy floor`: the payload bytes only moved, once (what packetize and an in-order
//!   depacketize cannot avoid) and twice via a ring of slots (what a jitter buffer that owns
//!   its packets without an allocator cannot avoid).
//!
//! Both sides' output is checked against the input before timing. Printed: packets per
//! CPU-second (thread CPU time) for each, and ours/str0m.

use std::time::Duration;

use peerless_base::Instant;
use peerless_rtp::codec::h264::{H264Depacketizer, H264Packetizer};
use peerless_rtp::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
use peerless_rtp::codec::{Depacketizer, FrameBuf, PacketizationMode, Packetizer, Packets};
use peerless_rtp::receive::{Config, JitterBuffer, MediaPacket};
use str0m::format::CodecExtra;
use str0m::unversioned::{
    H264Depacketizer as Str0mH264Depacketizer, H264Packetizer as Str0mH264Packetizer,
    Vp8Depacketizer as Str0mVp8Depacketizer, Vp8Packetizer as Str0mVp8Packetizer,
};

const MTU: usize = 1200;
const WINDOW: usize = 8;
const SLOTS: usize = 256;

fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass; bench-only code.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Fixed-seed bytes without zeros, so no start code hides in a NAL unit.
fn noise(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            ((x >> 24) as u8).max(1)
        })
        .collect()
}

/// Fixed-seed uniform bytes (zeros included), as an entropy coder's output looks.
fn uniform(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (x >> 24) as u8
        })
        .collect()
}

/// A NAL unit's header and RBSP with emulation prevention (H.264 §7.4.1): 0x03 after every
/// two zeros that a byte <= 3 follows, so no start code appears inside.
fn escaped(header: u8, rbsp: &[u8]) -> Vec<u8> {
    let mut out = vec![header];
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    // A NAL unit never ends in a zero byte (the RBSP trailing bits end in a 1).
    if out.last() == Some(&0) {
        out.push(0x80);
    }
    out
}

const SPS: [u8; 9] = [0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5];
const PPS: [u8; 4] = [0x68, 0xce, 0x3c, 0x80];

fn annexb(units: &[&[u8]]) -> Vec<u8> {
    let mut f = Vec::new();
    for unit in units {
        f.extend_from_slice(&[0, 0, 0, 1]);
        f.extend_from_slice(unit);
    }
    f
}

/// 150 KB, SPS, PPS and four IDR slices of uniform bytes with emulation prevention.
fn h264_encoder_like_keyframe() -> Vec<u8> {
    let slices: Vec<Vec<u8>> = (0..4)
        .map(|i| escaped(0x65, &uniform(37_400, 100 + i)))
        .collect();
    let mut units: Vec<&[u8]> = vec![&SPS, &PPS];
    units.extend(slices.iter().map(Vec::as_slice));
    let f = annexb(&units);
    assert!(
        f.windows(3).filter(|w| *w == [0, 0, 3]).count() > 0,
        "the frame carries emulation-prevention bytes"
    );
    f
}

/// 150 KB, SPS, PPS and one IDR slice without a zero byte: the Annex-B scan's best case.
fn h264_synthetic_keyframe() -> Vec<u8> {
    let mut idr = vec![0x65];
    idr.extend(noise(150_000 - 30, 7));
    annexb(&[&SPS, &PPS, &idr])
}

fn vp8_keyframe() -> Vec<u8> {
    // Frame tag: key frame, shown, first partition 2000 bytes; start code; 640x480.
    let size = 2000u32;
    let tag = (size << 5) | 0x10;
    let mut f = vec![
        tag as u8,
        (tag >> 8) as u8,
        (tag >> 16) as u8,
        0x9d,
        0x01,
        0x2a,
        0x80,
        0x02,
        0xe0,
        0x01,
    ];
    f.extend(noise(30_000 - f.len(), 11));
    f
}

/// The order packets arrive in: each window of 8 reversed-and-rotated, the same for both.
fn arrival_order(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for chunk in order.chunks_mut(WINDOW) {
        chunk.reverse();
        chunk.rotate_left(chunk.len() / 3);
    }
    order
}

struct Ours<P, D: Depacketizer> {
    packetizer: P,
    depacketizer: D,
    jitter: JitterBuffer<Box<[u8]>, D>,
    payloads: Vec<[u8; MTU]>,
    meta: Vec<(usize, bool)>,
    frame: Vec<u8>,
    sequence: u16,
    timestamp: u32,
}

impl<P: Packetizer, D: Depacketizer> Ours<P, D> {
    fn new(packetizer: P, depacketizer: impl Fn() -> D) -> Self {
        // The buffer owns its area: the frame output, then SLOTS slots of MTU bytes.
        let config = Config {
            max_frame: 256 * 1024,
            slot_size: MTU,
            ..Config::video()
        };
        let area = vec![0u8; config.area_for(SLOTS)].into_boxed_slice();
        Ours {
            packetizer,
            depacketizer: depacketizer(),
            jitter: JitterBuffer::new(config, depacketizer(), area),
            payloads: vec![[0u8; MTU]; SLOTS],
            meta: Vec::with_capacity(SLOTS),
            frame: vec![0u8; 256 * 1024],
            sequence: 1000,
            timestamp: 90_000,
        }
    }

    /// Packetizes `frame` into `payloads`; returns the payload count.
    fn packetize(&mut self, frame: &[u8]) -> usize {
        self.meta.clear();
        let mut packets = self.packetizer.packetize(frame, MTU).expect("packetize");
        while let Some(p) = packets.next_payload(&mut self.payloads[self.meta.len()]) {
            let p = p.expect("payload");
            self.meta.push((p.len, p.marker));
        }
        self.meta.len()
    }

    /// The payloads, in order, back into the frame.
    fn depacketize_in_order(&mut self) -> &[u8] {
        let mut frame = FrameBuf::new(&mut self.frame);
        self.depacketizer.reset();
        for (payload, &(len, _)) in self.payloads.iter().zip(&self.meta) {
            self.depacketizer
                .push(&payload[..len], &mut frame)
                .expect("push");
        }
        let len = self.depacketizer.finish(&mut frame).expect("finish").len;
        &self.frame[..len]
    }

    /// The payloads, arriving in `order`, through the jitter buffer back into the frame.
    fn reorder(&mut self, order: &[usize]) -> &[u8] {
        let n = self.meta.len();
        for &i in order.iter().filter(|&&i| i < n) {
            let (len, marker) = self.meta[i];
            let packet = MediaPacket {
                sequence: self.sequence.wrapping_add(i as u16),
                timestamp: self.timestamp,
                marker,
                payload: &self.payloads[i][..len],
            };
            self.jitter.insert(Instant::ZERO, packet).expect("insert");
        }
        self.sequence = self.sequence.wrapping_add(n as u16);
        self.timestamp = self.timestamp.wrapping_add(3000);
        self.jitter
            .poll_frame()
            .expect("a frame")
            .expect("the frame")
            .data
    }
}

struct Theirs<P, D> {
    packetizer: P,
    depacketizer: D,
    payloads: Vec<Vec<u8>>,
    out: Vec<u8>,
    sequence: u16,
}

impl<P: str0m::unversioned::Packetizer, D: str0m::unversioned::Depacketizer> Theirs<P, D> {
    fn new(packetizer: P, depacketizer: D) -> Self {
        Theirs {
            packetizer,
            depacketizer,
            payloads: Vec::new(),
            out: Vec::new(),
            sequence: 1000,
        }
    }

    fn packetize(&mut self, frame: &[u8]) -> usize {
        self.payloads = self.packetizer.packetize(MTU, frame).expect("packetize");
        self.payloads.len()
    }

    fn depacketize_in_order(&mut self) -> &[u8] {
        self.out.clear();
        let mut extra = CodecExtra::None;
        for payload in &self.payloads {
            self.depacketizer
                .depacketize(payload, &mut self.out, &mut extra)
                .expect("depacketize");
        }
        &self.out
    }

    fn reorder(&mut self, order: &[usize]) -> &[u8] {
        let n = self.payloads.len();
        let mut arrived: Vec<(u16, &[u8])> = order
            .iter()
            .filter(|&&i| i < n)
            .map(|&i| {
                (
                    self.sequence.wrapping_add(i as u16),
                    self.payloads[i].as_slice(),
                )
            })
            .collect();
        arrived.sort_by_key(|&(seq, _)| seq.wrapping_sub(self.sequence));
        self.sequence = self.sequence.wrapping_add(n as u16);
        self.out.clear();
        let mut extra = CodecExtra::None;
        for (_, payload) in arrived {
            self.depacketizer
                .depacketize(payload, &mut self.out, &mut extra)
                .expect("depacketize");
        }
        &self.out
    }
}

fn measure(mut round: impl FnMut() -> usize, iterations: usize) -> (usize, Duration) {
    let start = cpu_now();
    let mut packets = 0;
    for _ in 0..iterations {
        packets += round();
    }
    (packets, cpu_now() - start)
}

fn report(name: &str, row: &str, ours: (usize, Duration), theirs: (usize, Duration)) {
    let rate = |(p, t): (usize, Duration)| p as f64 / t.as_secs_f64();
    let (a, b) = (rate(ours), rate(theirs));
    println!(
        "{name:<22} {row:<24} peerless {:>6.2} M packets/CPU-s   str0m {:>6.2} M   peerless/str0m {:.2}",
        a / 1e6,
        b / 1e6,
        a / b
    );
}

/// Checks both sides round-trip `frame`, then times the four rows.
fn compare<P, D, Q, E>(
    name: &str,
    frame: &[u8],
    ours: &mut Ours<P, D>,
    theirs: &mut Theirs<Q, E>,
    iterations: usize,
) where
    P: Packetizer,
    D: Depacketizer,
    Q: str0m::unversioned::Packetizer,
    E: str0m::unversioned::Depacketizer,
{
    let n = ours.packetize(frame);
    let m = theirs.packetize(frame);
    let order = arrival_order(n);
    let their_order = arrival_order(m);
    assert_eq!(ours.depacketize_in_order(), frame, "peerless: in order");
    assert_eq!(ours.reorder(&order), frame, "peerless: reordered");
    assert_eq!(theirs.depacketize_in_order(), frame, "str0m: in order");
    assert_eq!(theirs.reorder(&their_order), frame, "str0m: reordered");
    println!(
        "{name}: {} bytes, {n} payloads (peerless), {m} (str0m) at {MTU}",
        frame.len()
    );
    let a = measure(|| ours.packetize(frame), iterations);
    let b = measure(|| theirs.packetize(frame), iterations);
    report(name, "packetize", a, b);
    let a = measure(
        || {
            ours.depacketize_in_order();
            n
        },
        iterations,
    );
    let b = measure(
        || {
            theirs.depacketize_in_order();
            m
        },
        iterations,
    );
    report(name, "depacketize in order", a, b);
    let a = measure(
        || {
            ours.reorder(&order);
            n
        },
        iterations,
    );
    let b = measure(
        || {
            theirs.reorder(&their_order);
            m
        },
        iterations,
    );
    report(name, "reorder + depacketize", a, b);
    let a = measure(
        || {
            let n = ours.packetize(frame);
            ours.reorder(&order);
            n
        },
        iterations,
    );
    let b = measure(
        || {
            let m = theirs.packetize(frame);
            theirs.reorder(&their_order);
            m
        },
        iterations,
    );
    report(name, "round trip", a, b);
    // The floor under the copying rows: the payloads' bytes moved once (into the frame) and
    // twice (into a slot of a ring as large as the jitter buffer's, then into the frame).
    let mut ring = vec![0u8; SLOTS * MTU];
    let mut next_slot = 0;
    let once = measure(
        || {
            let mut at = 0;
            for (payload, &(len, _)) in ours.payloads.iter().zip(&ours.meta) {
                ours.frame[at..at + len].copy_from_slice(&payload[..len]);
                at += len;
            }
            std::hint::black_box(&ours.frame);
            n
        },
        iterations,
    );
    let twice = measure(
        || {
            let mut at = 0;
            for (payload, &(len, _)) in ours.payloads.iter().zip(&ours.meta) {
                let slot = &mut ring[next_slot * MTU..next_slot * MTU + len];
                slot.copy_from_slice(&payload[..len]);
                ours.frame[at..at + len].copy_from_slice(std::hint::black_box(slot));
                at += len;
                next_slot = (next_slot + 1) % SLOTS;
            }
            std::hint::black_box(&ours.frame);
            n
        },
        iterations,
    );
    let rate = |(p, t): (usize, Duration)| p as f64 / t.as_secs_f64() / 1e6;
    println!(
        "{name:<22} {:<24} memcpy once {:>6.2} M packets/CPU-s, twice (via a {SLOTS}-slot ring) {:.2} M",
        "copy floor",
        rate(once),
        rate(twice)
    );
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);
    // BENCH_ONLY=VP8 (a substring of the frame's name) runs one frame, for a profiler.
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    println!(
        "rows: packetize | depacketize in order (both sides the same work) | reorder + depacketize \
         (packets shuffled within windows of {WINDOW}: peerless through its jitter buffer, str0m \
         sorted with a Vec sort, its jitter buffer not being public) | round trip (packetize + \
         reorder + depacketize)"
    );
    for (name, frame) in [
        ("H.264 encoder-like", h264_encoder_like_keyframe()),
        ("H.264 no-zero", h264_synthetic_keyframe()),
    ] {
        if !name.contains(only.as_str()) {
            continue;
        }
        let mut ours = Ours::new(
            H264Packetizer::new(PacketizationMode::NonInterleaved),
            H264Depacketizer::new,
        );
        let mut theirs = Theirs::new(
            Str0mH264Packetizer::default(),
            Str0mH264Depacketizer::default(),
        );
        compare(name, &frame, &mut ours, &mut theirs, iterations);
    }
    if !"VP8".contains(only.as_str()) {
        return;
    }
    let mut ours = Ours::new(Vp8Packetizer::default(), Vp8Depacketizer::new);
    let mut theirs = Theirs::new(
        Str0mVp8Packetizer::default(),
        Str0mVp8Depacketizer::default(),
    );
    compare(
        "VP8",
        &vp8_keyframe(),
        &mut ours,
        &mut theirs,
        iterations * 5,
    );
}
