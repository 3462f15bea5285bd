//! The bandwidth estimator in the Peer: A sends video to B through a bottleneck (a bounded
//! queue with tail drop, drained at the link's rate), B answers with transport-wide
//! feedback, and A's host sizes its frames to `Event::BitrateEstimate`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::time::Duration;

use common::{A, B, Ev, Pair, addr, certs, drain, peer};
use peerless::{AreaUse, MediaKind, MediaStats};
use peerless_base::Instant;

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

fn lend(p: &mut peerless::Peer, kind: MediaKind, use_: AreaUse, bytes: usize) {
    let area: &'static mut [u8] = Box::leak(vec![0u8; bytes].into_boxed_slice());
    p.lend_media_area(kind, use_, area).unwrap();
}

/// A one-way path: a FIFO drained at `bps` behind a queue of at most `queue_bytes` (tail
/// drop), then `delay` of propagation.
struct Link {
    bps: u64,
    queue_bytes: usize,
    delay: Duration,
    /// (delivered at, size, datagram) in departure order.
    in_flight: VecDeque<(Instant, usize, Vec<u8>)>,
    /// When the last accepted datagram finishes serializing.
    busy_until: Instant,
    dropped: u64,
    delivered_bytes: u64,
}

impl Link {
    fn new(bps: u64, queue_bytes: usize, delay: Duration) -> Self {
        Link {
            bps,
            queue_bytes,
            delay,
            in_flight: VecDeque::new(),
            busy_until: Instant::ZERO,
            dropped: 0,
            delivered_bytes: 0,
        }
    }

    /// Bytes waiting to be serialized at `now`.
    fn queued(&self, now: Instant) -> usize {
        let backlog = self.busy_until.saturating_duration_since(now);
        (backlog.as_micros() as u64 * self.bps / 8_000_000) as usize
    }

    fn send(&mut self, now: Instant, datagram: &[u8]) {
        // UDP, IP and Ethernet headers count on the link as on a real one.
        let size = datagram.len() + 42;
        if self.bps == u64::MAX {
            self.in_flight
                .push_back((now + self.delay, size, datagram.to_vec()));
            return;
        }
        if self.queued(now) + size > self.queue_bytes {
            self.dropped += 1;
            return;
        }
        let start = self.busy_until.max(now);
        let done = start + Duration::from_micros(size as u64 * 8_000_000 / self.bps);
        self.busy_until = done;
        self.in_flight
            .push_back((done + self.delay, size, datagram.to_vec()));
    }

    fn next_delivery(&self) -> Option<Instant> {
        self.in_flight.front().map(|d| d.0)
    }

    fn poll(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.in_flight.front()?.0 > now {
            return None;
        }
        let (_, size, d) = self.in_flight.pop_front()?;
        self.delivered_bytes += size as u64;
        Some(d)
    }
}

struct Outcome {
    /// (second, target at its end, bit/s delivered over it, the queueing delay then in ms)
    rows: Vec<(u64, u64, u64, u64)>,
    frames_sent: u64,
    frames_received_last_2s: usize,
    stats_a: MediaStats,
    dropped: u64,
}

/// A connected pair (A sends video, B receives), then `seconds` through a link of `bps`
/// from A to B with `queue_ms` of queue, `one_way` delay each way; at `step`'s second the
/// link's rate becomes its second value.
fn run(
    bps: u64,
    queue_ms: u64,
    one_way: Duration,
    seconds: u64,
    step: Option<(u64, u64)>,
) -> Outcome {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    lend(&mut pair.a, MediaKind::Video, AreaUse::Send, 1024 * 1024);
    lend(&mut pair.b, MediaKind::Video, AreaUse::Receive, 1024 * 1024);
    pair.a.add_track(MediaKind::Video, "cam").unwrap();
    pair.signal();
    assert!(pair.run_until(Duration::from_secs(10), |p| {
        p.a.transceiver("0")
            .is_some_and(|t| p.a.current_direction(t).is_some())
            && p.events_a
                .contains(&Ev::Conn(peerless::ConnectionState::Connected))
    }));
    let Pair {
        mut a, mut b, now, ..
    } = pair;
    let start = now;
    let mut now = now;
    let queue_bytes = (bps * queue_ms / 8000) as usize;
    let mut forward = Link::new(bps, queue_bytes, one_way);
    let mut back = Link::new(u64::MAX, usize::MAX, one_way);
    let mut target = a.bitrate_estimate().unwrap();
    let mut frame_no = 0u32;
    let mut next_frame = now;
    let mut frames_sent = 0u64;
    let mut received: Vec<Instant> = Vec::new();
    let mut rows = Vec::new();
    let mut next_row = start + Duration::from_secs(1);
    let mut delivered_at_row = 0u64;
    let mut buf = vec![0u8; 2048];
    let end = start + Duration::from_secs(seconds);
    while now < end {
        if let Some((at, new_bps)) = step
            && now >= start + Duration::from_secs(at)
        {
            forward.bps = new_bps;
        }
        if now >= next_frame {
            // 30 frames a second at the target; a keyframe every 3 s.
            let bytes = (target / 30 / 8) as usize;
            let key = frame_no.is_multiple_of(90);
            if a.write_frame("0", 96, 3000 * frame_no, &vp8_frame(frame_no, key, bytes))
                .is_ok()
            {
                frames_sent += 1;
            }
            frame_no += 1;
            next_frame = start + Duration::from_micros(33_333 * u64::from(frame_no));
        }
        while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
            assert_eq!(t.destination, addr(B));
            forward.send(now, t.payload);
        }
        while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
            back.send(now, t.payload);
        }
        while let Some(mut d) = forward.poll(now) {
            b.handle_packet(now, addr(A), addr(B), &mut d);
        }
        while let Some(mut d) = back.poll(now) {
            a.handle_packet(now, addr(B), addr(A), &mut d);
        }
        for e in drain(&mut a) {
            if let Ev::Bitrate(t) = e {
                target = t;
            }
        }
        for e in drain(&mut b) {
            if matches!(e, Ev::Media { .. }) {
                received.push(now);
            }
        }
        if now >= next_row {
            let delivered = forward.delivered_bytes - delivered_at_row;
            delivered_at_row = forward.delivered_bytes;
            rows.push((
                (now - start).as_secs(),
                target,
                delivered * 8,
                forward
                    .busy_until
                    .saturating_duration_since(now)
                    .as_millis() as u64,
            ));
            next_row += Duration::from_secs(1);
        }
        let next = [
            a.poll_timeout(),
            b.poll_timeout(),
            forward.next_delivery(),
            back.next_delivery(),
            Some(next_frame),
            Some(next_row),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap();
        now = next.max(now + Duration::from_micros(100));
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    let since = end - Duration::from_secs(2);
    let stats_a = a.media_stats(a.transceiver("0").unwrap()).unwrap();
    Outcome {
        rows,
        frames_sent,
        frames_received_last_2s: received.iter().filter(|t| **t >= since).count(),
        stats_a,
        dropped: forward.dropped,
    }
}

fn print(name: &str, capacity: u64, o: &Outcome) {
    println!("{name}: capacity {} kbit/s", capacity / 1000);
    println!("  s   target kbit/s   delivered kbit/s   queue ms");
    for (s, target, delivered, queue) in &o.rows {
        println!(
            "{s:>3}   {:>13}   {:>16}   {queue:>8}",
            target / 1000,
            delivered / 1000
        );
    }
    println!(
        "  frames written {}, packets sent {}, tail-dropped {}, frames received in the last 2 s {}",
        o.frames_sent, o.stats_a.packets_sent, o.dropped, o.frames_received_last_2s
    );
}

/// 1 Mbit/s, 50 ms RTT, 200 ms of queue: starting at 300 kbit/s, the target rises to the
/// capacity and settles under it, and the call keeps going.
#[test]
fn the_target_follows_a_one_megabit_bottleneck() {
    let capacity = 1_000_000;
    let o = run(capacity, 200, Duration::from_millis(25), 20, None);
    print("1 Mbit/s bottleneck", capacity, &o);
    let late: Vec<_> = o.rows.iter().filter(|r| r.0 >= 10).collect();
    assert!(!late.is_empty());
    for (s, target, _, _) in &late {
        assert!(
            (600_000..=1_000_000).contains(target),
            "second {s}: target {target} bit/s on a {capacity} bit/s link"
        );
    }
    assert!(
        o.frames_received_last_2s >= 40,
        "frames stopped: {}",
        o.frames_received_last_2s
    );
}

/// 2 Mbit/s halving to 1 Mbit/s at 15 s: within 2 s the target is under the new capacity,
/// and it stays there without collapsing.
#[test]
fn the_target_drops_under_a_halved_capacity_within_two_seconds() {
    let o = run(
        2_000_000,
        200,
        Duration::from_millis(25),
        25,
        Some((15, 1_000_000)),
    );
    print("2 Mbit/s halving to 1 Mbit/s at 15 s", 2_000_000, &o);
    let before: Vec<_> = o.rows.iter().filter(|r| (12..15).contains(&r.0)).collect();
    assert!(
        before.iter().all(|r| r.1 >= 1_200_000),
        "never used the 2 Mbit/s: {before:?}"
    );
    for (s, target, _, _) in o.rows.iter().filter(|r| r.0 >= 17) {
        assert!(
            (500_000..=1_000_000).contains(target),
            "second {s}: target {target} bit/s on a 1 Mbit/s link"
        );
    }
    assert!(o.frames_received_last_2s >= 40);
}
