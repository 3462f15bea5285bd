//! Probing: short bursts above the estimate whose receive rate measures the path's capacity,
//! so a call reaches its rate in a few round trips instead of at 8 % a second.
//!
//! ```text
//!   start ──▶ clusters at 3× and 6× the start rate
//!   result ≥ 70 % of the rate probed ──▶ next cluster at 2× the result (up to max)
//!   application wants more than the estimate ──▶ a cluster at what it wants
//!
//!   a cluster: every packet sent in [start, start + duration + slack)
//!   result = min(sent rate, received rate); received clearly slower: 0.95 × received
//! ```
//!
//! The estimator hands a [`ProbeCluster`] to the host, which gives it to the pacer; the
//! pacer sends at the cluster's rate, with padding where media is short. Packets are not
//! tagged: a cluster is known by its send window.

use core::time::Duration;

use peerless_base::Instant;

/// A probe the pacer should send now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ProbeCluster {
    /// Counts clusters, for logs and the pacer.
    pub id: u32,
    /// The rate to send at, bit/s.
    pub bitrate_bps: u64,
    /// Bytes to send at that rate (at least five full packets).
    pub bytes: u32,
}

impl ProbeCluster {
    /// How long the cluster lasts at its rate.
    #[must_use]
    pub fn duration(&self) -> Duration {
        let micros = u64::from(self.bytes) * 8_000_000 / self.bitrate_bps.max(1);
        Duration::from_micros(micros)
    }
}

const MIN_PROBE_MICROS: u64 = 15_000;
const MIN_PROBE_PACKETS: u32 = 5;
const PROBE_PACKET_BYTES: u32 = 1200;
/// A cluster's send window is this much longer than its duration (pacer granularity).
const WINDOW_SLACK_MICROS: u64 = 10_000;
/// A cluster with no complete answer this long after it ended failed.
const RESULT_TIMEOUT_MICROS: u64 = 1_000_000;
const MIN_RECEIVED_PACKETS: u32 = 4;
const CONTINUE_RATIO: f32 = 0.7;
const SLOWER_RATIO: f32 = 0.9;
const CLUSTERS: usize = 4;

#[derive(Clone, Copy, Debug, Default)]
struct Measure {
    rate_bps: u64,
    start: u64,
    end: u64,
    used: bool,
    received: u32,
    lost: u32,
    first_send: u64,
    last_send: u64,
    first_arrival: i64,
    last_arrival: i64,
    bytes: u64,
    first_size: u32,
    last_size: u32,
    /// A packet sent after the window was reported: every cluster packet has been seen.
    complete: bool,
}

/// A finished probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProbeResult {
    pub(crate) probed_bps: u64,
    pub(crate) measured_bps: u64,
}

/// Plans clusters and measures them from feedback.
#[derive(Clone, Debug)]
pub(crate) struct Prober {
    next_id: u32,
    /// Rates still to hand out, in order.
    pending: [u64; 2],
    pending_len: usize,
    measures: [Measure; CLUSTERS],
    /// Continue exponentially from results above this rate.
    exponential: bool,
    pub(crate) started: bool,
    last_probe: Option<Instant>,
}

impl Prober {
    pub(crate) fn new() -> Self {
        Prober {
            next_id: 0,
            pending: [0; 2],
            pending_len: 0,
            measures: [Measure::default(); CLUSTERS],
            exponential: false,
            started: false,
            last_probe: None,
        }
    }

    /// Plans the initial clusters at 3× and 6× the start rate (capped at `max`); none when
    /// the start is the max already (there is nothing above it to find, and a probe would
    /// only hold the pacer back while it runs).
    pub(crate) fn start(&mut self, start_bps: u64, max_bps: u64) {
        self.started = true;
        if start_bps >= max_bps {
            self.exponential = false;
            self.pending_len = 0;
            return;
        }
        self.exponential = true;
        self.pending = [
            start_bps.saturating_mul(3).min(max_bps),
            start_bps.saturating_mul(6).min(max_bps),
        ];
        self.pending_len = 2;
    }

    /// Plans one cluster at `bps` unless one is under way or one went out within `quiet`.
    pub(crate) fn request(&mut self, now: Instant, bps: u64, quiet: Duration) {
        let busy = self.pending_len > 0 || self.measures.iter().any(|m| m.used);
        let recent = self
            .last_probe
            .is_some_and(|t| now.saturating_duration_since(t) < quiet);
        if !busy && !recent {
            self.pending = [bps, 0];
            self.pending_len = 1;
        }
    }

    /// Whether a cluster waits to be handed out.
    #[cfg(test)]
    pub(crate) fn has_pending(&self) -> bool {
        self.pending_len > 0
    }

    /// The next cluster to send, if one is planned and a measure slot is free.
    pub(crate) fn poll(&mut self, now: Instant) -> Option<ProbeCluster> {
        if self.pending_len == 0 {
            return None;
        }
        let rate = *self.pending.first()?;
        // Clusters run one after another: the second starts where the first's window ends.
        let start = self
            .measures
            .iter()
            .filter(|m| m.used)
            .map(|m| m.end)
            .max()
            .unwrap_or(0)
            .max(now.as_micros());
        if start > now.as_micros() {
            return None;
        }
        let slot = self.measures.iter_mut().find(|m| !m.used)?;
        let [_, second] = self.pending;
        self.pending = [second, 0];
        self.pending_len -= 1;
        let min_bytes = (rate.saturating_mul(MIN_PROBE_MICROS) / 8_000_000) as u32;
        let bytes = min_bytes.max(MIN_PROBE_PACKETS * PROBE_PACKET_BYTES);
        let cluster = ProbeCluster {
            id: self.next_id,
            bitrate_bps: rate,
            bytes,
        };
        self.next_id = self.next_id.wrapping_add(1);
        let duration = cluster.duration().as_micros() as u64;
        *slot = Measure {
            rate_bps: rate,
            start,
            end: start + duration + WINDOW_SLACK_MICROS,
            used: true,
            ..Measure::default()
        };
        self.last_probe = Some(now);
        Some(cluster)
    }

    /// When the next planned cluster may go (after the running one's window).
    pub(crate) fn next_due(&self, now: Instant) -> Option<Instant> {
        if self.pending_len == 0 {
            return None;
        }
        let after = self.measures.iter().filter(|m| m.used).map(|m| m.end).max();
        Some(after.map_or(now, Instant::from_micros).max(now))
    }

    /// When a running cluster without complete feedback counts as failed.
    pub(crate) fn overdue_at(&self) -> Option<Instant> {
        self.measures
            .iter()
            .filter(|m| m.used)
            .map(|m| Instant::from_micros(m.end + RESULT_TIMEOUT_MICROS + 1))
            .min()
    }

    /// One packet of feedback.
    pub(crate) fn push(&mut self, sent_at: u64, size: u16, arrival: Option<i64>) {
        for m in self.measures.iter_mut().filter(|m| m.used) {
            if sent_at >= m.end {
                m.complete = true;
                continue;
            }
            if sent_at < m.start {
                continue;
            }
            let Some(arrival) = arrival else {
                m.lost += 1;
                continue;
            };
            let size = u32::from(size);
            if m.received == 0 {
                m.first_send = sent_at;
                m.last_send = sent_at;
                m.first_arrival = arrival;
                m.last_arrival = arrival;
                m.first_size = size;
                m.last_size = size;
            } else {
                if sent_at >= m.last_send {
                    m.last_send = sent_at;
                    m.last_size = size;
                }
                m.first_send = m.first_send.min(sent_at);
                m.first_arrival = m.first_arrival.min(arrival);
                m.last_arrival = m.last_arrival.max(arrival);
            }
            m.received += 1;
            m.bytes += u64::from(size);
        }
    }

    /// Finishes the clusters whose feedback is complete (or overdue); returns the best result.
    pub(crate) fn finish(&mut self, now: Instant) -> Option<ProbeResult> {
        let mut best: Option<ProbeResult> = None;
        let mut any_failed = false;
        for m in self.measures.iter_mut().filter(|m| m.used) {
            let overdue = now.as_micros() > m.end + RESULT_TIMEOUT_MICROS;
            if !m.complete && !overdue {
                continue;
            }
            m.used = false;
            match measure(m) {
                Some(r) => {
                    if best.is_none_or(|b| r.measured_bps > b.measured_bps) {
                        best = Some(r);
                    }
                }
                None => any_failed = true,
            }
        }
        let still_running = self.measures.iter().any(|m| m.used) || self.pending_len > 0;
        if let Some(r) = best
            && self.exponential
            && !still_running
        {
            if r.measured_bps as f32 >= CONTINUE_RATIO * r.probed_bps as f32 {
                self.pending = [r.measured_bps.saturating_mul(2), 0];
                self.pending_len = 1;
            } else {
                self.exponential = false;
            }
        } else if any_failed && !still_running && best.is_none() {
            self.exponential = false;
        }
        best
    }

    /// Stops exponential probing (the max was reached).
    pub(crate) fn cap(&mut self, max_bps: u64) {
        for rate in self.pending.iter_mut() {
            *rate = (*rate).min(max_bps);
        }
    }

    /// Stops exponential probing and drops planned clusters.
    pub(crate) fn stop_exponential(&mut self) {
        self.exponential = false;
    }
}

fn measure(m: &Measure) -> Option<ProbeResult> {
    if m.received < MIN_RECEIVED_PACKETS {
        return None;
    }
    let send_micros = m.last_send.saturating_sub(m.first_send);
    let arrival_micros = m.last_arrival.saturating_sub(m.first_arrival);
    if send_micros == 0 || arrival_micros <= 0 {
        return None;
    }
    // The last packet's bytes left after the last send time; the first's arrived before the
    // first arrival time.
    let send_bps = (m.bytes - u64::from(m.last_size)) * 8_000_000 / send_micros;
    let receive_bps = (m.bytes - u64::from(m.first_size)) * 8_000_000 / arrival_micros as u64;
    let measured = if (receive_bps as f32) < SLOWER_RATIO * send_bps as f32 {
        // The path could not keep up: the receive rate is its capacity; stay a little below.
        receive_bps * 95 / 100
    } else {
        send_bps.min(receive_bps)
    };
    Some(ProbeResult {
        probed_bps: m.rate_bps,
        measured_bps: measured,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a cluster sent at `send_bps` through a bottleneck of `link_bps`.
    fn run(prober: &mut Prober, cluster: &ProbeCluster, start: u64, link_bps: u64) {
        let packets = cluster.bytes / PROBE_PACKET_BYTES;
        let gap = u64::from(PROBE_PACKET_BYTES) * 8_000_000 / cluster.bitrate_bps;
        let serialise = u64::from(PROBE_PACKET_BYTES) * 8_000_000 / link_bps;
        let mut link_free = 0i64;
        for i in 0..u64::from(packets) {
            let sent = start + i * gap;
            let arrival = (sent as i64 + 20_000).max(link_free) + serialise as i64;
            link_free = arrival;
            prober.push(sent, PROBE_PACKET_BYTES as u16, Some(arrival));
        }
    }

    #[test]
    fn a_probe_through_a_narrower_link_measures_the_link() {
        let mut p = Prober::new();
        p.start(300_000, 10_000_000);
        let now = Instant::from_millis(0);
        let first = p.poll(now).expect("3× cluster");
        assert_eq!(first.bitrate_bps, 900_000);
        assert_eq!(p.poll(now), None, "the second waits for the first's window");
        run(&mut p, &first, 0, 2_000_000);
        let later = Instant::from_millis(200);
        let second = p.poll(later).expect("6× cluster");
        assert_eq!(second.bitrate_bps, 1_800_000);
        run(&mut p, &second, later.as_micros(), 1_000_000);
        p.push(later.as_micros() + 500_000, 100, Some(900_000));
        let r = p.finish(Instant::from_millis(800)).expect("results");
        // The first went through whole (900 k), the second was squeezed to 1 Mbit/s → 950 k.
        assert_eq!(r.measured_bps, 950_000);
        assert_eq!(r.probed_bps, 1_800_000);
        // 950 k is under 70 % of 1.8 M: no further probe.
        assert!(!p.has_pending());
    }

    #[test]
    fn a_probe_that_goes_through_continues_at_twice_its_result() {
        let mut p = Prober::new();
        p.start(1_000_000, 100_000_000);
        let now = Instant::ZERO;
        let a = p.poll(now).expect("cluster");
        run(&mut p, &a, 0, 1_000_000_000);
        let t = Instant::from_millis(100);
        let b = p.poll(t).expect("cluster");
        run(&mut p, &b, t.as_micros(), 1_000_000_000);
        p.push(t.as_micros() + 400_000, 100, None);
        let r = p.finish(Instant::from_millis(600)).expect("result");
        assert!(r.measured_bps.abs_diff(6_000_000) < 100_000, "{r:?}");
        let c = p
            .poll(Instant::from_millis(600))
            .expect("exponential probe");
        assert_eq!(c.bitrate_bps, r.measured_bps * 2);
    }

    #[test]
    fn a_cluster_without_answers_fails_after_a_second() {
        let mut p = Prober::new();
        p.request(Instant::ZERO, 2_000_000, Duration::from_secs(5));
        let c = p.poll(Instant::ZERO).expect("cluster");
        assert_eq!(
            c.bytes, 6000,
            "five packets (15 ms at 2 Mbit/s is 3750 bytes)"
        );
        assert_eq!(p.finish(Instant::from_millis(500)), None);
        assert_eq!(p.finish(Instant::from_millis(1100)), None);
        assert!(p.measures.iter().all(|m| !m.used), "failed and freed");
        p.request(Instant::from_secs(2), 2_000_000, Duration::from_secs(5));
        assert!(!p.has_pending(), "a probe went out within the quiet time");
    }
}
