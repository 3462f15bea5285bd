//! Issue 16's congestion-control scenarios through two real Peers: A sends a camera's video
//! (and a microphone's audio) to B through a bottleneck, B answers with transport-wide
//! feedback, and A's host sizes its frames to `Event::BitrateEstimate`, as an encoder would.
//!
//! ```text
//!   A's host: Opus 20 ms frames (32 kbit/s) + VP8 at 30 fps sized to (target - audio)
//!     │ write_frame
//!   Peer A ─poll_transmit─► Link: tail-drop queue (300 ms of the capacity, RFC 8867)
//!     ▲                        drained at the capacity, random loss, RTT/2 of propagation
//!     │                             │
//!     │ handle_packet               ▼ handle_packet
//!   Link back (RTT/2, no limit) ◄─ Peer B: transport-cc feedback, RR, NACK
//! ```
//!
//! Several pairs may share the one bottleneck (the fair-share scenario). Each scenario prints
//! one row: time to 85 % of the capacity (the first 1 s window, on a 250 ms grid, that
//! delivered it), utilization and mean queueing delay (the wait in the bottleneck's queue)
//! over the second half of the run or of what follows a step, loss at the bottleneck,
//! reaction to a capacity drop (until the targets add up to less than the new capacity),
//! the datagrams each receiver sent back per second (feedback and reports), each pair's
//! delivered rate over the last 10 s and its final target.
//!
//! The whole table runs in a release build (`scripts/bench/cc.sh`: `cargo test --release -p
//! peerless --test bandwidth_scenarios -- --nocapture`, about 2 s); a debug build (the
//! ordinary `cargo test`, where SRTP alone makes a simulated second cost a hundred times
//! more) runs the grid's 1 Mbit/s, 100 ms case and the halving at 100 ms only. Runs are deterministic; `PEERLESS_SIM_SEEDS=N`
//! runs N seeds (the Peers' DRBG seeds and the loss pattern), from `PEERLESS_SIM_SEED_BASE`;
//! `PEERLESS_CC_TRACE=1` adds each pair's estimate (target, delay- and loss-based parts,
//! acknowledged rate, detector signal) every 100 ms under its row.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::time::Duration;

use common::{A, B, Ev, Pair, addr, areas, certs, drain};
use peerless::{AreaUse, Config, MediaKind, Peer};
use peerless_base::{Drbg, Instant};

/// UDP, IP and Ethernet headers count on the link as on a real one.
const OVERHEAD: usize = 42;
/// The microphone: a 20 ms Opus frame of 80 bytes, 32 kbit/s.
const AUDIO_BYTES: usize = 80;
const AUDIO_BPS: u64 = 32_000;
/// What the bottleneck can hold, in time at its rate: RFC 8867 §5's test cases use a
/// 300 ms drop-tail queue, as does the cc crate's harness (cc/tests/common).
const QUEUE_MS: u64 = 300;

/// A VP8 frame the depacketizer takes (see media.rs): a keyframe tag or a delta tag, then
/// filler.
fn vp8_frame(n: u32, keyframe: bool, len: usize) -> Vec<u8> {
    let mut f = if keyframe {
        vec![0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]
    } else {
        vec![0x51, 0x42, 0x00]
    };
    f.resize(len.max(f.len()), n as u8);
    f
}

fn lend(p: &mut Peer, kind: MediaKind, use_: AreaUse, bytes: usize) {
    let area: &'static mut [u8] = Box::leak(vec![0u8; bytes].into_boxed_slice());
    p.lend_media_area(kind, use_, area).unwrap();
}

/// A datagram on its way, for pair `pair`.
struct Datagram {
    at: Instant,
    pair: usize,
    size: usize,
    /// How long it waited in the queue before its first bit left.
    waited: Duration,
    bytes: Vec<u8>,
}

/// One delivered datagram, as the measurements see it.
#[derive(Clone, Copy)]
struct Delivery {
    at: Instant,
    pair: usize,
    size: usize,
    waited: Duration,
}

/// A one-way path: a FIFO drained at `bps` behind a queue of at most `queue_bytes` (tail
/// drop), random loss before the queue, then `delay` of propagation. `bps == u64::MAX`: no
/// limit and no queue.
struct Link {
    bps: u64,
    queue_bytes: usize,
    delay: Duration,
    loss: f64,
    rng: Drbg,
    /// In departure order (one delay for all, so also in arrival order).
    in_flight: VecDeque<Datagram>,
    /// When the last accepted datagram finishes serializing.
    busy_until: Instant,
    sent: u64,
    tail_dropped: u64,
    lost: u64,
    delivered: Vec<Delivery>,
}

impl Link {
    fn new(bps: u64, queue_bytes: usize, delay: Duration, loss: f64, rng: Drbg) -> Self {
        Link {
            bps,
            queue_bytes,
            delay,
            loss,
            rng,
            in_flight: VecDeque::new(),
            busy_until: Instant::ZERO,
            sent: 0,
            tail_dropped: 0,
            lost: 0,
            delivered: Vec::new(),
        }
    }

    /// A link with the bottleneck's queue: `QUEUE_MS` of `bps`.
    fn bottleneck(bps: u64, delay: Duration, loss: f64, rng: Drbg) -> Self {
        Link::new(bps, (bps * QUEUE_MS / 8000) as usize, delay, loss, rng)
    }

    /// A new rate from `now` on; what is queued drains at it, and the queue holds
    /// `QUEUE_MS` of it.
    fn set_rate(&mut self, now: Instant, bps: u64) {
        let backlog = self.queued(now) as u64;
        self.busy_until = now + Duration::from_micros(backlog * 8_000_000 / bps);
        self.bps = bps;
        self.queue_bytes = (bps * QUEUE_MS / 8000) as usize;
    }

    /// Bytes waiting to be serialized at `now`.
    fn queued(&self, now: Instant) -> usize {
        let backlog = self.busy_until.saturating_duration_since(now);
        (backlog.as_micros() as u64 * self.bps / 8_000_000) as usize
    }

    fn send(&mut self, now: Instant, pair: usize, datagram: &[u8]) {
        let size = datagram.len() + OVERHEAD;
        self.sent += 1;
        if self.loss > 0.0 && (self.rng.u64() as f64 / u64::MAX as f64) < self.loss {
            self.lost += 1;
            return;
        }
        let (at, waited) = if self.bps == u64::MAX {
            (now + self.delay, Duration::ZERO)
        } else {
            if self.queued(now) + size > self.queue_bytes {
                self.tail_dropped += 1;
                return;
            }
            let start = self.busy_until.max(now);
            let done = start + Duration::from_micros(size as u64 * 8_000_000 / self.bps);
            self.busy_until = done;
            (done + self.delay, start - now)
        };
        self.in_flight.push_back(Datagram {
            at,
            pair,
            size,
            waited,
            bytes: datagram.to_vec(),
        });
    }

    fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.front().map(|d| d.at)
    }

    fn poll(&mut self, now: Instant) -> Option<Datagram> {
        if self.in_flight.front()?.at > now {
            return None;
        }
        let d = self.in_flight.pop_front()?;
        self.delivered.push(Delivery {
            at: d.at,
            pair: d.pair,
            size: d.size,
            waited: d.waited,
        });
        Some(d)
    }
}

/// A capacity change at a time after the call starts.
#[derive(Clone, Copy, Debug)]
struct Step {
    at: Duration,
    bps: u64,
}

#[derive(Clone, Debug)]
struct Scenario {
    name: &'static str,
    capacity: u64,
    rtt: Duration,
    random_loss: f64,
    /// Sending pairs on the bottleneck; pair `i` starts sending at `i * pair_start`.
    pairs: usize,
    pair_start: Duration,
    duration: Duration,
    step: Option<Step>,
    seed: u64,
}

impl Scenario {
    fn new(name: &'static str, capacity: u64, rtt_ms: u64) -> Self {
        Scenario {
            name,
            capacity,
            rtt: Duration::from_millis(rtt_ms),
            random_loss: 0.0,
            pairs: 1,
            pair_start: Duration::ZERO,
            duration: Duration::from_secs(30),
            step: None,
            seed: 0,
        }
    }

    fn capacity_at(&self, t: Duration) -> u64 {
        match self.step {
            Some(s) if t >= s.at => s.bps,
            _ => self.capacity,
        }
    }
}

/// What a run measured (times from the start of the call).
#[derive(Debug)]
struct Outcome {
    scenario: Scenario,
    time_to_85: Option<Duration>,
    utilization: f64,
    queue_delay: Duration,
    loss: f64,
    reaction: Option<Duration>,
    /// Each pair's delivered bit/s over the last 10 s.
    pair_rates: Vec<u64>,
    final_targets: Vec<u64>,
    /// `PEERLESS_CC_TRACE`: the estimate's parts every `TRACE_MS`.
    trace: Vec<String>,
    /// Video frames B handed out over the last 2 s, per pair.
    frames_last_2s: Vec<usize>,
    /// Datagrams the receivers sent back per second (transport-cc feedback, reports).
    back_per_s: f64,
}

/// The Peers' seed for run `seed`, side `side`: every byte of it depends on both.
fn peer_seed(seed: u64, side: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    Drbg::from_seed(&[side; 32], &seed.to_be_bytes()).fill(&mut out);
    out
}

fn seeded_peer(cert: peerless_dtls::Certificate, seed: u64, side: u8) -> Peer {
    let (s, r) = areas();
    Peer::new(
        Config::new(cert, peer_seed(seed, side)),
        Instant::ZERO,
        s,
        r,
    )
}

/// One sending pair's host state.
struct Call {
    a: Peer,
    b: Peer,
    target: u64,
    starts: Instant,
    frame: u32,
    next_frame: Instant,
    next_audio: Instant,
    audio: u32,
    received: Vec<Instant>,
    targets: Vec<(Duration, u64)>,
    /// When the pair finished connecting (its virtual time then).
    connected: Instant,
    /// `PEERLESS_CC_TRACE`: the estimate's parts every `TRACE_MS`.
    trace: Vec<String>,
    next_trace: Instant,
}

/// A connected pair (A sends audio and video, B receives), through a perfect link.
fn connect(seed: u64, pair: usize) -> Call {
    let (ca, cb) = certs();
    let k = 2 * pair as u8;
    let mut p = Pair::new(seeded_peer(ca, seed, k + 1), seeded_peer(cb, seed, k + 2));
    lend(&mut p.a, MediaKind::Audio, AreaUse::Send, 64 * 1024);
    lend(&mut p.a, MediaKind::Video, AreaUse::Send, 1024 * 1024);
    lend(&mut p.b, MediaKind::Audio, AreaUse::Receive, 64 * 1024);
    lend(&mut p.b, MediaKind::Video, AreaUse::Receive, 1024 * 1024);
    p.a.add_track(MediaKind::Audio, "mic").unwrap();
    p.a.add_track(MediaKind::Video, "cam").unwrap();
    p.signal();
    assert!(p.run_until(Duration::from_secs(10), |p| {
        ["0", "1"].iter().all(|mid| {
            p.a.transceiver(mid)
                .is_some_and(|t| p.a.current_direction(t).is_some())
        }) && p
            .events_a
            .contains(&Ev::Conn(peerless::ConnectionState::Connected))
    }));
    let target = p.a.bitrate_estimate().unwrap();
    Call {
        a: p.a,
        b: p.b,
        target,
        starts: Instant::ZERO,
        frame: 0,
        next_frame: Instant::ZERO,
        next_audio: Instant::ZERO,
        audio: 0,
        received: Vec::new(),
        targets: Vec::new(),
        connected: p.now,
        trace: Vec::new(),
        next_trace: Instant::ZERO,
    }
}

impl Call {
    /// The encoder and the microphone: what is due at `now`.
    fn write_media(&mut self, now: Instant) {
        if now < self.starts {
            return;
        }
        while now >= self.next_audio {
            let mut opus = vec![0x78u8; AUDIO_BYTES];
            opus[1] = self.audio as u8;
            // A refused frame (no room in the send area) is a frame lost, as for a camera.
            let _ = self.a.write_frame("0", 111, 960 * self.audio, &opus);
            self.audio += 1;
            self.next_audio = self.starts + Duration::from_millis(20 * u64::from(self.audio));
        }
        while now >= self.next_frame {
            // 30 frames a second at what the target leaves beside the audio; a keyframe
            // every 3 s.
            let bytes = (self.target.saturating_sub(AUDIO_BPS) / 30 / 8) as usize;
            let key = self.frame.is_multiple_of(90);
            let frame = vp8_frame(self.frame, key, bytes);
            let _ = self.a.write_frame("1", 96, 3000 * self.frame, &frame);
            self.frame += 1;
            self.next_frame = self.starts + Duration::from_micros(33_333 * u64::from(self.frame));
        }
    }

    fn next_media(&self) -> Instant {
        self.next_frame.min(self.next_audio).max(self.starts)
    }
}

fn seeds() -> std::ops::Range<u64> {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(default)
    };
    let base = var("PEERLESS_SIM_SEED_BASE", 0);
    base..base + var("PEERLESS_SIM_SEEDS", 1)
}

fn run(s: &Scenario) -> Outcome {
    let mut calls: Vec<Call> = (0..s.pairs).map(|i| connect(s.seed, i)).collect();
    // Every pair connected; the call (and the clock of the measurements) starts when the
    // last one did.
    let start = calls.iter().map(|c| c.connected).max().unwrap();
    let mut now = start;
    for (i, c) in calls.iter_mut().enumerate() {
        c.starts = start + s.pair_start * i as u32;
        c.next_frame = c.starts;
        c.next_audio = c.starts;
        c.targets.push((Duration::ZERO, c.target));
    }
    let rng = |label: &[u8]| peerless_proptest::sim::seeded_rng(s.seed, label);
    let mut forward = Link::bottleneck(s.capacity, s.rtt / 2, s.random_loss, rng(b"forward"));
    let mut back = Link::new(u64::MAX, usize::MAX, s.rtt / 2, 0.0, rng(b"back"));
    let mut buf = vec![0u8; 2048];
    let end = start + s.duration;
    let mut stepped = false;
    let tracing = std::env::var_os("PEERLESS_CC_TRACE").is_some();
    while now < end {
        if let Some(step) = s.step
            && !stepped
            && now >= start + step.at
        {
            forward.set_rate(now, step.bps);
            stepped = true;
        }
        for c in calls.iter_mut() {
            c.write_media(now);
        }
        for (i, c) in calls.iter_mut().enumerate() {
            while let Some(t) = c.a.poll_transmit(&mut buf).unwrap() {
                assert_eq!(t.destination, addr(B));
                forward.send(now, i, t.payload);
            }
            while let Some(t) = c.b.poll_transmit(&mut buf).unwrap() {
                back.send(now, i, t.payload);
            }
        }
        while let Some(mut d) = forward.poll(now) {
            calls[d.pair]
                .b
                .handle_packet(now, addr(A), addr(B), &mut d.bytes);
        }
        while let Some(mut d) = back.poll(now) {
            calls[d.pair]
                .a
                .handle_packet(now, addr(B), addr(A), &mut d.bytes);
        }
        for (i, c) in calls.iter_mut().enumerate() {
            for e in drain(&mut c.a) {
                if let Ev::Bitrate(t) = e {
                    c.target = t;
                }
            }
            for e in drain(&mut c.b) {
                if let Ev::Media { mid, .. } = e
                    && mid == "1"
                {
                    c.received.push(now);
                }
            }
            if tracing && now >= c.next_trace {
                let p = c.a.bitrate_estimate_parts().unwrap();
                c.trace.push(format!(
                    "  {:>6.2} s pair {i}: target {:>8} delay {:>8} loss {:>8} acked {:>8?} {:?} sent {}",
                    (now - start).as_secs_f64(),
                    c.a.bitrate_estimate().unwrap(),
                    p.delay_bps,
                    p.loss_bps,
                    p.acked_bps,
                    p.usage,
                    c.a.stats().bytes_sent,
                ));
                c.next_trace = now + Duration::from_millis(TRACE_MS);
            }
            let estimate = c.a.bitrate_estimate().unwrap();
            if c.targets.last().is_none_or(|t| t.1 != estimate) {
                c.targets.push((now - start, estimate));
            }
        }
        let next = calls
            .iter()
            .flat_map(|c| [c.a.poll_timeout(), c.b.poll_timeout(), Some(c.next_media())])
            .chain([forward.next_delivery(), back.next_delivery()])
            .flatten()
            .chain(s.step.filter(|_| !stepped).map(|st| start + st.at))
            .min()
            .unwrap();
        now = next.max(now + Duration::from_micros(100));
        for c in calls.iter_mut() {
            c.a.handle_timeout(now);
            c.b.handle_timeout(now);
        }
    }
    let mut o = measure(s, start, &forward, &calls);
    o.back_per_s = back.sent as f64 / s.duration.as_secs_f64() / s.pairs as f64;
    o
}

/// `PEERLESS_CC_TRACE`: how often each pair's estimate is written down.
const TRACE_MS: u64 = 100;

const BIN: Duration = Duration::from_millis(250);

fn measure(s: &Scenario, start: Instant, forward: &Link, calls: &[Call]) -> Outcome {
    let since = |d: &Delivery| d.at - start;
    let bins = (s.duration.as_micros() / BIN.as_micros()) as usize + 1;
    let mut per_bin = vec![0u64; bins];
    for d in &forward.delivered {
        if let Some(b) = per_bin.get_mut((since(d).as_micros() / BIN.as_micros()) as usize) {
            *b += d.size as u64;
        }
    }
    // From the start, or from a rise in capacity: the end of the first second (on the
    // 250 ms grid) that delivered 85 % of the capacity.
    let search_from = match s.step {
        Some(st) if st.bps > s.capacity => st.at,
        _ => Duration::ZERO,
    };
    let per_second = (Duration::from_secs(1).as_micros() / BIN.as_micros()) as usize;
    let time_to_85 = per_bin.windows(per_second).enumerate().find_map(|(i, w)| {
        let from = BIN * i as u32;
        let bits = w.iter().sum::<u64>() * 8;
        (from >= search_from && bits as f64 >= 0.85 * s.capacity_at(from) as f64)
            .then(|| from + Duration::from_secs(1) - search_from)
    });
    let steady_from = match s.step {
        Some(st) => st.at + (s.duration - st.at) / 2,
        None => s.duration / 2,
    };
    let steady: Vec<&Delivery> = forward
        .delivered
        .iter()
        .filter(|d| since(d) >= steady_from && since(d) < s.duration)
        .collect();
    let bits = steady.iter().map(|d| d.size as u64 * 8).sum::<u64>();
    let utilization = bits as f64
        / (s.capacity_at(steady_from) as f64 * (s.duration - steady_from).as_secs_f64());
    let queue_delay = if steady.is_empty() {
        Duration::ZERO
    } else {
        steady.iter().map(|d| d.waited).sum::<Duration>() / steady.len() as u32
    };
    let loss = (forward.tail_dropped + forward.lost) as f64 / forward.sent.max(1) as f64;
    // The first moment after a drop at which the targets add up to less than the new
    // capacity.
    let reaction = s.step.filter(|st| st.bps < s.capacity).and_then(|st| {
        let mut changes: Vec<(Duration, usize, u64)> = calls
            .iter()
            .enumerate()
            .flat_map(|(i, c)| c.targets.iter().map(move |&(t, v)| (t, i, v)))
            .collect();
        changes.sort_by_key(|c| c.0);
        let mut current = vec![0u64; calls.len()];
        changes.into_iter().find_map(|(t, i, v)| {
            current[i] = v;
            (t >= st.at && current.iter().sum::<u64>() < st.bps).then(|| t - st.at)
        })
    });
    let last10 = s.duration - Duration::from_secs(10);
    let pair_rates = (0..calls.len())
        .map(|i| {
            forward
                .delivered
                .iter()
                .filter(|d| d.pair == i && since(d) >= last10 && since(d) < s.duration)
                .map(|d| d.size as u64 * 8)
                .sum::<u64>()
                / 10
        })
        .collect();
    let last2 = start + s.duration - Duration::from_secs(2);
    Outcome {
        scenario: s.clone(),
        time_to_85,
        utilization,
        queue_delay,
        loss,
        reaction,
        pair_rates,
        final_targets: calls
            .iter()
            .map(|c| c.a.bitrate_estimate().unwrap())
            .collect(),
        trace: calls.iter().flat_map(|c| c.trace.clone()).collect(),
        frames_last_2s: calls
            .iter()
            .map(|c| c.received.iter().filter(|t| **t >= last2).count())
            .collect(),
        back_per_s: 0.0,
    }
}

fn header() -> String {
    format!(
        "{:<18} {:>4} {:>9} {:>6} {:>5} {:>8} {:>6} {:>9} {:>6} {:>8} {:>5}  {}",
        "scenario",
        "seed",
        "Mbit/s",
        "RTT",
        "loss",
        "to 85 %",
        "util",
        "queueing",
        "drops",
        "reaction",
        "fb/s",
        "per pair: Mbit/s last 10 s / final target"
    )
}

fn secs(d: Option<Duration>) -> String {
    d.map_or("never".into(), |d| format!("{:.2} s", d.as_secs_f64()))
}

fn row(o: &Outcome) -> String {
    let s = &o.scenario;
    let capacity = match s.step {
        Some(st) => format!("{:.1}→{:.1}", s.capacity as f64 / 1e6, st.bps as f64 / 1e6),
        None => format!("{:.1}", s.capacity as f64 / 1e6),
    };
    let pairs: Vec<String> = o
        .pair_rates
        .iter()
        .zip(&o.final_targets)
        .map(|(r, t)| format!("{:.2}/{:.2}", *r as f64 / 1e6, *t as f64 / 1e6))
        .collect();
    format!(
        "{:<18} {:>4} {:>9} {:>4}ms {:>4.0}% {:>8} {:>5.1}% {:>6.1} ms {:>5.2}% {:>8} {:>5.1}  {}",
        s.name,
        s.seed,
        capacity,
        s.rtt.as_millis(),
        s.random_loss * 100.0,
        secs(o.time_to_85),
        o.utilization * 100.0,
        o.queue_delay.as_secs_f64() * 1000.0,
        o.loss * 100.0,
        if s.step.is_some_and(|st| st.bps < s.capacity) {
            secs(o.reaction)
        } else {
            "-".into()
        },
        o.back_per_s,
        pairs.join(" ")
    )
}

/// Runs every scenario for every seed, prints the table, then checks each run with `goal`
/// (which names what it missed) and fails with every miss.
fn table(title: &str, scenarios: &[Scenario], goal: fn(&Outcome) -> Option<String>) {
    let misses: Vec<String> = run_table(title, scenarios)
        .iter()
        .filter_map(|o| goal(o).map(|miss| format!("{miss}: {}", row(o))))
        .collect();
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}

/// Runs every scenario for every seed and prints the table (every outcome returned).
fn run_table(title: &str, scenarios: &[Scenario]) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    let mut lines = vec![format!("\n{title}"), header()];
    for s in scenarios {
        for seed in seeds() {
            let o = run(&Scenario { seed, ..s.clone() });
            lines.push(row(&o));
            if std::env::var_os("PEERLESS_CC_TRACE").is_some() {
                lines.extend(o.trace.iter().cloned());
            }
            outcomes.push(o);
        }
    }
    // One print, so that rows of tests running in parallel do not interleave.
    println!("{}", lines.join("\n"));
    outcomes
}

/// The whole table in a release build, one case in a debug build.
fn cases<T: Copy>(all: &[T], debug: &[T]) -> Vec<T> {
    if cfg!(debug_assertions) {
        debug.to_vec()
    } else {
        all.to_vec()
    }
}

/// 1, 2.5 and 5 Mbit/s × RTT 20, 100, 200 ms: ≥ 85 % of the capacity within 5 s, mean
/// queueing delay ≤ 100 ms at steady state, loss ≤ 2 %; and the frames keep arriving.
#[test]
fn capacity_and_rtt_grid() {
    let grid: Vec<(u64, u64)> = [1_000_000, 2_500_000, 5_000_000]
        .into_iter()
        .flat_map(|c| [20, 100, 200].map(|rtt| (c, rtt)))
        .collect();
    let scenarios: Vec<Scenario> = cases(&grid, &[(1_000_000, 100)])
        .into_iter()
        .map(|(c, rtt)| Scenario::new("grid", c, rtt))
        .collect();
    table(
        "capacity x RTT (30 s each, 300 ms tail-drop queue)",
        &scenarios,
        |o| {
            if o.time_to_85.is_none_or(|t| t > Duration::from_secs(5)) {
                Some("85 % of the capacity not reached within 5 s".into())
            } else if o.queue_delay > Duration::from_millis(100) {
                Some("mean queueing delay over 100 ms".into())
            } else if o.loss > 0.02 {
                Some("loss over 2 %".into())
            } else if o.frames_last_2s.iter().any(|&n| n < 40) {
                Some(format!("frames stopped: {:?}", o.frames_last_2s))
            } else {
                None
            }
        },
    );
}

/// Capacity halves mid-call (2.5 → 1.25 Mbit/s at 15 s): the target is below the new
/// capacity within 2 s.
#[test]
fn capacity_halves() {
    let scenarios: Vec<Scenario> = cases(&[20, 100, 200], &[100])
        .into_iter()
        .map(|rtt| Scenario {
            step: Some(Step {
                at: Duration::from_secs(15),
                bps: 1_250_000,
            }),
            ..Scenario::new("halves at 15 s", 2_500_000, rtt)
        })
        .collect();
    table("capacity halves", &scenarios, |o| {
        o.reaction
            .is_none_or(|t| t > Duration::from_secs(2))
            .then(|| "target not under the new capacity within 2 s".into())
    });
}

/// Capacity doubles mid-call (1.25 → 2.5 Mbit/s at 15 s): 85 % of the new capacity within
/// 10 s.
#[test]
#[cfg(not(debug_assertions))]
fn capacity_doubles() {
    let scenarios: Vec<Scenario> = [20, 100, 200]
        .into_iter()
        .map(|rtt| Scenario {
            step: Some(Step {
                at: Duration::from_secs(15),
                bps: 2_500_000,
            }),
            ..Scenario::new("doubles at 15 s", 1_250_000, rtt)
        })
        .collect();
    table("capacity doubles", &scenarios, |o| {
        o.time_to_85
            .is_none_or(|t| t > Duration::from_secs(10))
            .then(|| "85 % of the new capacity not reached within 10 s".into())
    });
}

/// Two pairs share a 2.5 Mbit/s bottleneck, the second starting 5 s after the first: over
/// the last 10 s of 40, each delivers within 30 % of a fair share.
#[test]
#[cfg(not(debug_assertions))]
fn two_peers_share_a_bottleneck() {
    let scenarios: Vec<Scenario> = [20, 100]
        .into_iter()
        .map(|rtt| Scenario {
            pairs: 2,
            pair_start: Duration::from_secs(5),
            duration: Duration::from_secs(40),
            ..Scenario::new("two pairs", 2_500_000, rtt)
        })
        .collect();
    // Fairness is a property of the runs, not of one run: seed 0 (the issue's table) must be
    // within 30 % of a fair share; over a seed sweep (`PEERLESS_SIM_SEEDS`, ten in cc.sh) at
    // most one run in twenty may miss 30 %, and none may miss 40 %. (Before the estimator
    // stopped probing on a timer, 9 of 20 missed, down to 0.67 of a share.)
    let outcomes = run_table("two pairs, one bottleneck", &scenarios);
    let off = |o: &Outcome, by: f64| {
        let fair = o.scenario.capacity as f64 / 2.0;
        o.pair_rates
            .iter()
            .any(|&r| (r as f64 - fair).abs() > by * fair)
    };
    let misses: Vec<&Outcome> = outcomes.iter().filter(|o| off(o, 0.3)).collect();
    let rows = |v: &[&Outcome]| v.iter().map(|o| row(o)).collect::<Vec<_>>().join("\n");
    let first = outcomes
        .iter()
        .filter(|o| o.scenario.seed == 0 && off(o, 0.3));
    assert!(
        first.count() == 0,
        "seed 0 not within 30 % of a fair share:\n{}",
        rows(&misses)
    );
    let far: Vec<&Outcome> = outcomes.iter().filter(|o| off(o, 0.4)).collect();
    assert!(
        far.is_empty(),
        "not within 40 % of a fair share:\n{}",
        rows(&far)
    );
    assert!(
        misses.len() * 20 <= outcomes.len(),
        "{} of {} runs not within 30 % of a fair share (at most one in twenty):\n{}",
        misses.len(),
        outcomes.len(),
        rows(&misses)
    );
    println!(
        "two pairs: {} of {} runs within 30 % of a fair share",
        outcomes.len() - misses.len(),
        outcomes.len()
    );
}

/// 5 % random loss before a 2.5 Mbit/s bottleneck: the loss-based part tolerates it, the
/// target does not collapse (at least half the capacity at the end).
#[test]
#[cfg(not(debug_assertions))]
fn random_loss_without_congestion() {
    let scenarios: Vec<Scenario> = [20, 100]
        .into_iter()
        .map(|rtt| Scenario {
            random_loss: 0.05,
            ..Scenario::new("5 % random loss", 2_500_000, rtt)
        })
        .collect();
    table("random loss", &scenarios, |o| {
        let t = o.final_targets[0];
        (t * 2 < o.scenario.capacity).then(|| format!("target collapsed to {t} bit/s"))
    });
}
