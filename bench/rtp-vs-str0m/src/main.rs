//! Payload-format CPU cost, peerless-rtp vs str0m 0.24 (its `unversioned` packetizers and
//! depacketizers) in the same run: a 150 KB H.264 keyframe (SPS, PPS, one IDR slice, Annex-B)
//! and a 30 KB VP8 keyframe, packetized at a 1200-byte payload and depacketized back, the
//! packets arriving shuffled within windows of 8.
//!
//! Ours go through peerless-rtp's jitter buffer (copied into its slots, grouped, released as a
//! frame through the depacketizer into a lent buffer). str0m's jitter buffer is not public, so
//! its packets are sorted by sequence number (a Vec sort) and depacketized in order into a Vec:
//! ours does more work per packet than the str0m path measured here.
//!
//! The frames are synthetic (fixed-seed bytes, no start-code emulation), the same for both;
//! both sides' output is checked against the input before timing. Printed: packets per
//! CPU-second (thread CPU time) for each, and ours/str0m.

use std::time::Duration;

use peerless_base::Instant;
use peerless_rtp::codec::h264::{H264Depacketizer, H264Packetizer};
use peerless_rtp::codec::vp8::{Vp8Depacketizer, Vp8Packetizer};
use peerless_rtp::codec::{Depacketizer, PacketizationMode, Packetizer, Packets};
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

fn h264_keyframe() -> Vec<u8> {
    let sps = [0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5];
    let pps = [0x68, 0xce, 0x3c, 0x80];
    let mut idr = vec![0x65];
    idr.extend(noise(150_000 - 30, 7));
    let mut f = Vec::new();
    for unit in [&sps[..], &pps, &idr] {
        f.extend_from_slice(&[0, 0, 0, 1]);
        f.extend_from_slice(unit);
    }
    f
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
    jitter: JitterBuffer<'static, D, SLOTS>,
    payloads: Vec<[u8; MTU]>,
    meta: Vec<(usize, bool)>,
    frame: Vec<u8>,
    sequence: u16,
    timestamp: u32,
}

impl<P: Packetizer, D: Depacketizer> Ours<P, D> {
    fn new(packetizer: P, depacketizer: D) -> Self {
        let area: &'static mut [u8] = Box::leak(vec![0u8; SLOTS * MTU].into_boxed_slice());
        Ours {
            packetizer,
            jitter: JitterBuffer::new(Config::video(), depacketizer, area),
            payloads: vec![[0u8; MTU]; SLOTS],
            meta: Vec::with_capacity(SLOTS),
            frame: vec![0u8; 256 * 1024],
            sequence: 1000,
            timestamp: 90_000,
        }
    }

    /// Packetizes and depacketizes `frame` once; returns the packet count and the frame out.
    fn round(&mut self, frame: &[u8], order: &[usize]) -> (usize, &[u8]) {
        self.meta.clear();
        let mut packets = self.packetizer.packetize(frame, MTU).expect("packetize");
        let mut n = 0;
        while let Some(p) = packets.next_payload(&mut self.payloads[n]) {
            let p = p.expect("payload");
            self.meta.push((p.len, p.marker));
            n += 1;
        }
        drop(packets);
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
        let out = self
            .jitter
            .poll_frame(&mut self.frame)
            .expect("a frame")
            .expect("the frame");
        (n, out.data)
    }
}

struct Theirs<P, D> {
    packetizer: P,
    depacketizer: D,
    out: Vec<u8>,
    sequence: u16,
}

impl<P: str0m::unversioned::Packetizer, D: str0m::unversioned::Depacketizer> Theirs<P, D> {
    fn round(&mut self, frame: &[u8], order: &[usize]) -> (usize, &[u8]) {
        let payloads = self.packetizer.packetize(MTU, frame).expect("packetize");
        let n = payloads.len();
        let mut arrived: Vec<(u16, &[u8])> = order
            .iter()
            .filter(|&&i| i < n)
            .map(|&i| (self.sequence.wrapping_add(i as u16), payloads[i].as_slice()))
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
        (n, &self.out)
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

fn report(name: &str, ours: (usize, Duration), theirs: (usize, Duration)) {
    let rate = |(p, t): (usize, Duration)| p as f64 / t.as_secs_f64();
    let (a, b) = (rate(ours), rate(theirs));
    println!(
        "{name}: peerless {:.0} packets/CPU-s ({} packets in {:.3} s), str0m {:.0} packets/CPU-s ({} in {:.3} s), peerless/str0m {:.2}",
        a,
        ours.0,
        ours.1.as_secs_f64(),
        b,
        theirs.0,
        theirs.1.as_secs_f64(),
        a / b
    );
}

fn main() {
    let iterations: usize = std::env::var("BENCH_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000);

    let h264 = h264_keyframe();
    let mut ours = Ours::new(
        H264Packetizer::new(PacketizationMode::NonInterleaved),
        H264Depacketizer::new(),
    );
    let mut theirs = Theirs {
        packetizer: Str0mH264Packetizer::default(),
        depacketizer: Str0mH264Depacketizer::default(),
        out: Vec::new(),
        sequence: 1000,
    };
    let n = ours.round(&h264, &arrival_order(SLOTS)).0;
    let order = arrival_order(n);
    assert_eq!(
        ours.round(&h264, &order).1,
        h264,
        "peerless: the frame comes back"
    );
    let (m, out) = theirs.round(&h264, &order);
    assert_eq!(out, h264, "str0m: the frame comes back");
    println!(
        "H.264 keyframe: {} bytes, {n} payloads (peerless), {m} (str0m) at {MTU}",
        h264.len()
    );
    let a = measure(|| ours.round(&h264, &order).0, iterations);
    let b = measure(|| theirs.round(&h264, &order).0, iterations);
    report("H.264 150 KB keyframe, packetize + depacketize", a, b);

    let vp8 = vp8_keyframe();
    let mut ours = Ours::new(Vp8Packetizer::default(), Vp8Depacketizer::new());
    let mut theirs = Theirs {
        packetizer: Str0mVp8Packetizer::default(),
        depacketizer: Str0mVp8Depacketizer::default(),
        out: Vec::new(),
        sequence: 1000,
    };
    let n = ours.round(&vp8, &arrival_order(SLOTS)).0;
    let order = arrival_order(n);
    assert_eq!(
        ours.round(&vp8, &order).1,
        vp8,
        "peerless: the frame comes back"
    );
    let (m, out) = theirs.round(&vp8, &order);
    assert_eq!(out, vp8, "str0m: the frame comes back");
    println!(
        "VP8 keyframe: {} bytes, {n} payloads (peerless), {m} (str0m) at {MTU}",
        vp8.len()
    );
    let a = measure(|| ours.round(&vp8, &order).0, iterations * 10);
    let b = measure(|| theirs.round(&vp8, &order).0, iterations * 10);
    report("VP8 30 KB keyframe, packetize + depacketize", a, b);
}
