//! The send-side bandwidth estimator: the delay-based and loss-based parts, probing, REMB and
//! the host's limits, folded into one target bitrate.
//!
//! ```text
//!   on_feedback(now, per packet: sent at, size, arrival | lost)
//!     ├─▶ PacketGroups ─▶ Trendline ─▶ OveruseDetector ─▶ Aimd (with AckedBitrate) = delay
//!     │     QueueDelay (one-way delay above the least): > 100 ms is an overuse too;
//!     │     empty for seconds ─▶ Aimd adds more; drained with no overuse ─▶ growth probe
//!     ├─▶ LossBased (window ≥ 20 packets; never above delay)                       = loss
//!     └─▶ Prober (clusters by send window) ─▶ result raises delay and loss
//!   on_remb(bps)                                                                    = remb
//!   target = clamp(min(delay, loss, remb), min, max) ─▶ Event::BitrateEstimate on a > 5 % move
//!   poll_probe(now) ─▶ ProbeCluster for the pacer (3× and 6× start at once, then 2× results)
//! ```

use core::fmt;
use core::time::Duration;

use peerless_base::Instant;
use peerless_rtp::send::PacketFeedback;

use crate::delay::{BandwidthUsage, OveruseDetector, PacketGroups, Trendline};
use crate::loss::LossBased;
use crate::probe::{ProbeCluster, Prober};
use crate::rate::{AckedBitrate, Aimd};

/// The host's bounds on the target, and where it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BitrateLimits {
    /// Never below this, bit/s (congestion still reported by the events' trend).
    pub min_bps: u64,
    /// The rate before any feedback, bit/s.
    pub start_bps: u64,
    /// Never above this, bit/s.
    pub max_bps: u64,
}

impl Default for BitrateLimits {
    /// libwebrtc's defaults for the floor and the start, and 10 Mbit/s at most.
    fn default() -> Self {
        BitrateLimits {
            min_bps: 30_000,
            start_bps: 300_000,
            max_bps: 10_000_000,
        }
    }
}

/// Limits that cannot hold together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum LimitsError {
    /// `min <= start <= max` and `min > 0` do not hold.
    OutOfOrder,
}

impl fmt::Display for LimitsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitsError::OutOfOrder => f.write_str("bitrate limits need 0 < min <= start <= max"),
        }
    }
}

impl core::error::Error for LimitsError {}

impl BitrateLimits {
    fn check(&self) -> Result<(), LimitsError> {
        if self.min_bps == 0 || self.min_bps > self.start_bps || self.start_bps > self.max_bps {
            return Err(LimitsError::OutOfOrder);
        }
        Ok(())
    }
}

/// What the estimator tells the host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// The target moved by more than 5 % since the last one reported (the first is
    /// reported at once): the encoder's new budget, before the pacer's overhead.
    BitrateEstimate {
        /// Bit/s.
        target_bps: u64,
    },
}

/// The parts of the estimate, for stats and tests.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct EstimateParts {
    /// The delay-based (AIMD) rate.
    pub delay_bps: u64,
    /// The loss-based rate.
    pub loss_bps: u64,
    /// The last REMB, if the peer sends them.
    pub remb_bps: Option<u64>,
    /// What the receiver acknowledged lately.
    pub acked_bps: Option<u64>,
    /// The detector's last signal.
    pub usage: BandwidthUsage,
    /// The detector's adaptive threshold γ (ms of modified trend).
    pub threshold: f32,
    /// The last loss window's fraction.
    pub loss_fraction: f32,
    /// The round-trip time in use, ms.
    pub rtt_ms: f32,
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct EstimatorStats {
    /// Packets reported in feedback.
    pub feedback_packets: u64,
    /// Packets reported lost.
    pub feedback_lost: u64,
    /// Overuse signals that decreased the delay-based rate.
    pub overuses: u64,
    /// Probe clusters handed out.
    pub probes: u64,
    /// Probe clusters that produced a result.
    pub probe_results: u64,
}

/// A target this much away from the last reported one is reported again, in percent.
const REPORT_CHANGE_PERCENT: u64 = 5;

/// Whether `value` should be reported after `reported` (the first always is): the one rule
/// for the estimator's event and the pacer's encoder share.
pub(crate) fn moved_enough(reported: Option<u64>, value: u64) -> bool {
    reported.is_none_or(|r| {
        value.abs_diff(r).saturating_mul(100) > r.saturating_mul(REPORT_CHANGE_PERCENT)
    })
}
const RTT_DEFAULT_MS: f32 = 200.0;
/// A probe asked for by the application waits this long after the last probe.
const APPLICATION_PROBE_QUIET: Duration = Duration::from_secs(5);
/// A probe for a link that grew waits this long after the last probe.
const GROWTH_PROBE_QUIET: Duration = Duration::from_secs(3);
/// A queue below this is empty (a frame's burst passes through some milliseconds of it).
const EMPTY_QUEUE_MICROS: i64 = 20_000;
/// A queue below this is empty enough to have been emptied by a link that grew.
const DRAINED_QUEUE_MICROS: i64 = 30_000;

/// How long packets wait in the path's queues: each packet's one-way delay (the two clocks'
/// offset included) above the least seen lately, smoothed. The least is the path without a
/// queue; "lately" (the last 10 to 20 s) lets a route that got longer become the new base.
#[derive(Clone, Copy, Debug, Default)]
struct QueueDelay {
    window_start: Option<i64>,
    window_min: Option<i64>,
    previous_min: Option<i64>,
    smoothed: i64,
}

/// The base delay is the least of this window and the one before.
const BASE_WINDOW_MICROS: i64 = 10_000_000;

impl QueueDelay {
    /// One packet's arrival (receiver's clock) and one-way delay, µs.
    fn push(&mut self, arrival: i64, one_way: i64) {
        let start = *self.window_start.get_or_insert(arrival);
        if arrival.saturating_sub(start) >= BASE_WINDOW_MICROS {
            self.previous_min = self.window_min.take();
            self.window_start = Some(arrival);
        }
        let window_min = self.window_min.map_or(one_way, |m| m.min(one_way));
        self.window_min = Some(window_min);
        let base = self.previous_min.map_or(window_min, |p| p.min(window_min));
        let queued = one_way.saturating_sub(base);
        // An eighth of each sample: a frame's burst does not make a queue.
        self.smoothed = self
            .smoothed
            .saturating_add(queued.saturating_sub(self.smoothed) / 8);
    }

    fn micros(&self) -> i64 {
        self.smoothed
    }
}

/// A queue this deep is an overuse, whatever its trend. The trend detector misses a rate a
/// few percent above the capacity: the queue then grows so slowly that the adaptive
/// threshold rises with it (as it must, to ignore a queue it cannot drain), and the queue
/// fills to the last byte of the buffer and stays there.
const STANDING_QUEUE_MICROS: i64 = 100_000;

/// A queue that drains this long after the last overuse (and at least four round trips,
/// which include the queue: a deep one drains for longer) did not drain because anyone
/// backed off.
const DRAIN_AFTER_OVERUSE: Duration = Duration::from_secs(1);

/// The estimator: 1072 bytes on a 64-bit host (the crate's `sizes` test prints it), no lent
/// storage.
#[derive(Clone, Debug)]
pub struct Estimator {
    limits: BitrateLimits,
    groups: PacketGroups,
    trendline: Trendline,
    detector: OveruseDetector,
    acked: AckedBitrate,
    aimd: Aimd,
    loss: LossBased,
    prober: Prober,
    remb_bps: Option<u64>,
    usage: BandwidthUsage,
    rtt_ms: f32,
    rtt_from_host: bool,
    target_bps: u64,
    reported_bps: Option<u64>,
    last_overuse: Instant,
    queue: QueueDelay,
    queue_empty_since: Option<Instant>,
    now: Instant,
    stats: EstimatorStats,
}

/// What it estimates and its counters; the detectors' inner state stays out.
#[cfg(feature = "defmt")]
impl defmt::Format for Estimator {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Estimator {{ target_bps: {=u64}, parts: {}, stats: {}, .. }}",
            self.target_bps(),
            self.parts(),
            self.stats()
        );
    }
}

impl Estimator {
    /// An estimator starting at `limits.start_bps`, with the initial probes planned.
    ///
    /// # Errors
    /// [`LimitsError::OutOfOrder`] unless `0 < min <= start <= max`.
    pub fn new(limits: BitrateLimits) -> Result<Self, LimitsError> {
        limits.check()?;
        let mut prober = Prober::new();
        prober.start(limits.start_bps, limits.max_bps);
        Ok(Estimator {
            limits,
            groups: PacketGroups::default(),
            trendline: Trendline::default(),
            detector: OveruseDetector::default(),
            acked: AckedBitrate::default(),
            aimd: Aimd::new(limits.start_bps),
            loss: LossBased::new(limits.start_bps),
            prober,
            remb_bps: None,
            usage: BandwidthUsage::Normal,
            rtt_ms: RTT_DEFAULT_MS,
            rtt_from_host: false,
            target_bps: limits.start_bps,
            reported_bps: None,
            last_overuse: Instant::ZERO,
            queue: QueueDelay::default(),
            queue_empty_since: None,
            now: Instant::ZERO,
            stats: EstimatorStats::default(),
        })
    }

    /// The target bitrate, bit/s.
    #[must_use]
    pub fn target_bps(&self) -> u64 {
        self.target_bps
    }

    /// The parts the target is the minimum of.
    #[must_use]
    pub fn parts(&self) -> EstimateParts {
        EstimateParts {
            delay_bps: self.aimd.rate_bps(),
            loss_bps: self.loss.rate_bps(),
            remb_bps: self.remb_bps,
            acked_bps: self.acked.bps(),
            usage: self.usage,
            threshold: self.detector.threshold(),
            loss_fraction: self.loss.fraction(),
            rtt_ms: self.rtt_ms,
        }
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &EstimatorStats {
        &self.stats
    }

    /// New limits. A start rate given before any feedback restarts from it (with its
    /// probes); later, only min and max apply, and a raised max is probed for.
    ///
    /// # Errors
    /// [`LimitsError::OutOfOrder`] unless `0 < min <= start <= max`; nothing changes then.
    pub fn set_bitrate_limits(
        &mut self,
        now: Instant,
        limits: BitrateLimits,
    ) -> Result<(), LimitsError> {
        limits.check()?;
        let raised = limits.max_bps > self.limits.max_bps;
        let at_max = self.target_bps >= self.limits.max_bps;
        self.limits = limits;
        if self.stats.feedback_packets == 0 {
            self.aimd.set_rate(limits.start_bps);
            self.loss.set_rate(limits.start_bps);
            self.prober = Prober::new();
            self.prober.start(limits.start_bps, limits.max_bps);
        } else if raised && at_max {
            self.prober.request(now, limits.max_bps, Duration::ZERO);
        }
        self.prober.cap(limits.max_bps);
        self.update_target();
        Ok(())
    }

    /// The application would like to send `bps`: if that is above the estimate, a probe
    /// finds out whether the path carries it (at most one every 5 s).
    pub fn set_desired_bitrate(&mut self, now: Instant, bps: u64) {
        let wanted = bps.min(self.limits.max_bps);
        if wanted > self.target_bps.saturating_add(self.target_bps / 10) {
            self.prober.request(now, wanted, APPLICATION_PROBE_QUIET);
        }
    }

    /// The round-trip time measured elsewhere (RTCP reports, ICE); without it, the time from
    /// sending to feedback stands in.
    pub fn set_round_trip_time(&mut self, rtt: Duration) {
        self.rtt_ms = rtt.as_micros() as f32 / 1000.0;
        self.rtt_from_host = true;
    }

    /// A REMB from the peer: an upper bound until the next one.
    pub fn on_remb(&mut self, now: Instant, bps: u64) {
        self.now.advance(now);
        self.remb_bps = Some(bps);
        self.update_target();
    }

    /// One transport-wide feedback's packets, in sequence order, as
    /// [`TwccSendRecord::feedback`](peerless_rtp::send::TwccSendRecord::feedback) gives them.
    pub fn on_feedback(&mut self, now: Instant, packets: impl IntoIterator<Item = PacketFeedback>) {
        let now = self.now.advance(now);
        let mut usage = None;
        let mut overused = false;
        let mut latest_send: Option<Instant> = None;
        for p in packets {
            self.stats.feedback_packets += 1;
            // The send record counted it (`TwccSendStats::dropped_feedback_unknown`): the
            // record is what knows the packet is gone, so the count lives there once.
            let Some(sent) = p.sent else {
                continue;
            };
            let send = sent.sent_at.as_micros();
            self.loss.push(p.arrival_micros.is_some());
            self.prober.push(send, sent.size, p.arrival_micros);
            let Some(arrival) = p.arrival_micros else {
                self.stats.feedback_lost += 1;
                continue;
            };
            latest_send = Some(latest_send.map_or(sent.sent_at, |l| l.max(sent.sent_at)));
            self.acked.push(arrival, sent.size);
            let send = i64::try_from(send).unwrap_or(i64::MAX);
            self.queue.push(arrival, arrival.saturating_sub(send));
            if self.queue.micros() < EMPTY_QUEUE_MICROS {
                self.queue_empty_since.get_or_insert(now);
            } else {
                self.queue_empty_since = None;
            }
            if let Some(delta) = self.groups.push(send, arrival, sent.size) {
                let trend = self.trendline.update(&delta);
                let signal = self
                    .detector
                    .detect(trend, delta.send_ms, delta.arrival_micros);
                overused |= signal == BandwidthUsage::Overusing
                    || self.queue.micros() > STANDING_QUEUE_MICROS;
                usage = Some(signal);
            }
        }
        if let Some(sent) = latest_send
            && !self.rtt_from_host
        {
            let sample = now.saturating_duration_since(sent).as_micros() as f32 / 1000.0;
            self.rtt_ms = 0.875 * self.rtt_ms + 0.125 * sample;
        }
        if let Some(result) = self.prober.finish(now) {
            self.stats.probe_results += 1;
            let measured = result.measured_bps.min(self.limits.max_bps);
            if measured > self.aimd.rate_bps() {
                self.aimd.set_rate(measured);
            }
            if measured > self.loss.rate_bps() {
                self.loss.set_rate(measured);
            }
            if measured >= self.limits.max_bps {
                self.prober.stop_exponential();
            }
        }
        if let Some(signal) = usage {
            let signal = if overused {
                BandwidthUsage::Overusing
            } else {
                signal
            };
            self.aimd.set_room(
                self.queue_empty_since
                    .map_or(Duration::ZERO, |since| now.saturating_duration_since(since)),
            );
            let before = self.aimd.rate_bps();
            let after = self.aimd.update(
                signal,
                self.acked.bps(),
                self.acked.recent_bps(),
                self.rtt_ms,
                now.as_micros(),
            );
            if after < before {
                self.stats.overuses += 1;
                // A decrease ends the search for more.
                self.prober.stop_exponential();
            }
            if signal == BandwidthUsage::Overusing {
                self.last_overuse = now;
            }
            if self.aimd.take_capacity_grew() || self.queue_drained_by_itself(signal, now) {
                // The link may have grown. A probe at twice the rate finds out by how much
                // in a round trip, where the additive increase needs tens of seconds
                // (libwebrtc probes in application-limited periods only).
                let probe = after.saturating_mul(2).min(self.limits.max_bps);
                if probe > after {
                    self.prober.request(now, probe, GROWTH_PROBE_QUIET);
                }
            }
            self.usage = signal;
        }
        let clamped = self
            .aimd
            .rate_bps()
            .clamp(self.limits.min_bps, self.limits.max_bps);
        self.aimd.set_rate(clamped);
        let rtt_micros = (self.rtt_ms * 1000.0) as u64;
        self.loss
            .update(now.as_micros(), rtt_micros, self.aimd.rate_bps());
        let clamped = self
            .loss
            .rate_bps()
            .clamp(self.limits.min_bps, self.limits.max_bps);
        self.loss.set_rate(clamped);
        self.update_target();
    }

    /// Whether the queue shrinks while no one has backed off: the link grew (or a flow
    /// left it). A queue that is still deep is one an overuse left behind (after the link
    /// shrank, it drains for seconds), not one a growing link emptied.
    ///
    /// Every flow through the bottleneck sees its queue drain at the same time, so each
    /// gets the same chance to grow. A probe on a timer (what this replaced) let the flow
    /// whose timer ran out first take the spare capacity, every time: a burst cannot tell
    /// spare capacity from a share of a full link, since a FIFO answers both alike.
    fn queue_drained_by_itself(&self, signal: BandwidthUsage, now: Instant) -> bool {
        let rtt = Duration::from_micros((self.rtt_ms * 1000.0) as u64);
        signal == BandwidthUsage::Underusing
            && self.queue.micros() < DRAINED_QUEUE_MICROS
            && now.saturating_duration_since(self.last_overuse)
                >= DRAIN_AFTER_OVERUSE.max(rtt.saturating_mul(4))
    }

    /// The next probe cluster to send, if one is due: hand it to the pacer at once.
    pub fn poll_probe(&mut self, now: Instant) -> Option<ProbeCluster> {
        let now = self.now.advance(now);
        let cluster = self.prober.poll(now)?;
        self.stats.probes += 1;
        Some(cluster)
    }

    /// When [`poll_probe`](Self::poll_probe) or [`handle_timeout`](Self::handle_timeout) has
    /// something to do.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let probe = self.prober.next_due(self.now);
        let overdue = self.prober.overdue_at();
        match (probe, overdue) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Gives up on probes whose feedback never came.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.now.advance(now);
        if self.prober.finish(now).is_some() {
            self.stats.probe_results += 1;
        }
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let target = self.target_bps;
        if !moved_enough(self.reported_bps, target) {
            return None;
        }
        self.reported_bps = Some(target);
        Some(Event::BitrateEstimate { target_bps: target })
    }

    fn update_target(&mut self) {
        let mut target = self.aimd.rate_bps().min(self.loss.rate_bps());
        if let Some(remb) = self.remb_bps {
            // A peer that sends REMB and no transport-wide feedback estimates for us: with
            // nothing to move our own parts off their start, its REMB is the estimate (as
            // libwebrtc follows it); with feedback, it is a cap.
            target = if self.stats.feedback_packets == 0 {
                remb
            } else {
                target.min(remb)
            };
        }
        self.target_bps = target.clamp(self.limits.min_bps, self.limits.max_bps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use peerless_rtp::send::SentPacket;

    /// Feedback for `count` packets of 1200 bytes sent every `gap` µs from `start`, each
    /// taking `delay(i)` µs to arrive.
    fn feedback(
        start: u64,
        gap: u64,
        count: u16,
        first_seq: u16,
        delay: impl Fn(u64) -> Option<i64>,
    ) -> impl Iterator<Item = PacketFeedback> {
        (0..count).map(move |i| {
            let sent_at = start + u64::from(i) * gap;
            PacketFeedback {
                sent: Some(SentPacket {
                    sequence: first_seq.wrapping_add(i),
                    sent_at: Instant::from_micros(sent_at),
                    size: 1200,
                }),
                sequence: first_seq.wrapping_add(i),
                arrival_micros: delay(u64::from(i)).map(|d| sent_at as i64 + d),
            }
        })
    }

    #[test]
    fn limits_out_of_order_are_refused() {
        let bad = BitrateLimits {
            min_bps: 500_000,
            start_bps: 300_000,
            max_bps: 1_000_000,
        };
        assert_eq!(Estimator::new(bad).err(), Some(LimitsError::OutOfOrder));
        let mut e = Estimator::new(BitrateLimits::default()).expect("defaults hold");
        assert_eq!(
            e.set_bitrate_limits(Instant::ZERO, bad),
            Err(LimitsError::OutOfOrder)
        );
        assert_eq!(e.target_bps(), 300_000);
        assert_eq!(
            e.poll_event(),
            Some(Event::BitrateEstimate {
                target_bps: 300_000
            })
        );
        assert_eq!(e.poll_event(), None);
    }

    #[test]
    fn growing_delay_brings_the_target_below_the_acknowledged_rate() {
        let limits = BitrateLimits {
            min_bps: 50_000,
            start_bps: 1_000_000,
            max_bps: 5_000_000,
        };
        let mut e = Estimator::new(limits).expect("limits");
        // 1.2 Mbit/s sent (1200 bytes every 8 ms); a queue grows 1 ms per packet from 2 s on.
        let mut seq = 0u16;
        let mut t = 0u64;
        for round in 0..100u64 {
            let start = t;
            let fb = feedback(start, 8_000, 10, seq, |i| {
                let at = start + i * 8_000;
                Some(
                    20_000
                        + if round >= 40 {
                            (at - 3_200_000 + 8_000) as i64 / 8
                        } else {
                            0
                        },
                )
            });
            t += 80_000;
            e.on_feedback(Instant::from_micros(t + 30_000), fb);
            seq = seq.wrapping_add(10);
            if round == 39 {
                assert!(
                    e.target_bps() >= 1_000_000,
                    "no congestion yet: {:?}",
                    e.parts()
                );
                assert_eq!(e.stats().overuses, 0);
            }
        }
        assert!(e.stats().overuses >= 1, "{:?}", e.stats());
        // The acknowledged rate fell to 8/9 of 1.2 Mbit/s as the queue grew.
        assert!(
            e.target_bps() < 1_000_000,
            "{} {:?}",
            e.target_bps(),
            e.parts()
        );
    }

    #[test]
    fn heavy_loss_lowers_the_target_and_remb_caps_it() {
        let mut e = Estimator::new(BitrateLimits::default()).expect("limits");
        let mut t = 0;
        for round in 0..20u16 {
            let fb = feedback(t, 10_000, 20, round * 20, |i| {
                (i % 4 != 0).then_some(20_000)
            });
            t += 200_000;
            e.on_feedback(Instant::from_micros(t + 30_000), fb);
        }
        assert!(e.parts().loss_fraction > 0.2);
        assert!(e.target_bps() < 150_000, "{:?}", e.parts());
        let mut e = Estimator::new(BitrateLimits::default()).expect("limits");
        e.on_remb(Instant::ZERO, 100_000);
        assert_eq!(e.target_bps(), 100_000);
        e.on_remb(Instant::ZERO, 10);
        assert_eq!(e.target_bps(), 30_000, "never below min");
    }

    #[test]
    fn initial_probes_go_out_at_three_and_six_times_the_start() {
        let mut e = Estimator::new(BitrateLimits::default()).expect("limits");
        assert_eq!(e.poll_timeout(), Some(Instant::ZERO));
        let a = e.poll_probe(Instant::ZERO).expect("first probe");
        assert_eq!(a.bitrate_bps, 900_000);
        assert_eq!(e.poll_probe(Instant::ZERO), None);
        let due = e.poll_timeout().expect("second is due later");
        let b = e.poll_probe(due).expect("second probe");
        assert_eq!(b.bitrate_bps, 1_800_000);
        // Both clusters arrive intact through a fast path: the target jumps to what they
        // measured, not 8 % a second.
        let mut packets = [PacketFeedback {
            sent: None,
            sequence: 0,
            arrival_micros: None,
        }; 12];
        let mut n = 0;
        for (start, c) in [(0u64, a), (due.as_micros(), b)] {
            let gap = 1200 * 8_000_000 / c.bitrate_bps;
            for i in 0..(c.bytes / 1200) as u64 {
                let sent = start + i * gap;
                if let Some(p) = packets.get_mut(n) {
                    *p = PacketFeedback {
                        sent: Some(SentPacket {
                            sequence: n as u16,
                            sent_at: Instant::from_micros(sent),
                            size: 1200,
                        }),
                        sequence: n as u16,
                        arrival_micros: Some(sent as i64 + 10_000),
                    };
                }
                n += 1;
            }
        }
        let after = PacketFeedback {
            sent: Some(SentPacket {
                sequence: 11,
                sent_at: Instant::from_millis(300),
                size: 100,
            }),
            sequence: 11,
            arrival_micros: Some(310_000),
        };
        e.on_feedback(
            Instant::from_millis(320),
            packets.iter().copied().take(n).chain([after]),
        );
        assert!(
            e.target_bps() >= 1_700_000,
            "{} {:?}",
            e.target_bps(),
            e.parts()
        );
        let c = e
            .poll_probe(Instant::from_millis(320))
            .expect("exponential probe");
        assert!(c.bitrate_bps >= 3_400_000);
    }

    #[test]
    fn an_application_wanting_more_gets_a_probe_at_most_every_five_seconds() {
        let mut e = Estimator::new(BitrateLimits::default()).expect("limits");
        e.poll_probe(Instant::ZERO).expect("initial probe");
        let due = e.poll_timeout().expect("second initial probe");
        e.poll_probe(due).expect("second initial probe");
        // No feedback ever comes: both fail a second after their windows.
        let t = Instant::from_secs(2);
        assert!(e.poll_timeout().is_some_and(|d| d <= t));
        e.handle_timeout(t);
        e.set_desired_bitrate(t, 2_000_000);
        assert_eq!(e.poll_probe(t), None, "2 s after the initial probes");
        let t = Instant::from_secs(6);
        e.set_desired_bitrate(t, 320_000);
        assert_eq!(e.poll_probe(t), None, "within 10 % of the target");
        e.set_desired_bitrate(t, 2_000_000);
        let probe = e.poll_probe(t).expect("a probe at the wanted rate");
        assert_eq!(probe.bitrate_bps, 2_000_000);
        let t = Instant::from_secs(8);
        e.handle_timeout(t);
        e.set_desired_bitrate(t, 3_000_000);
        assert_eq!(e.poll_probe(t), None, "2 s after the last probe");
        let t = Instant::from_millis(11_100);
        e.set_desired_bitrate(t, 30_000_000);
        let probe = e.poll_probe(t).expect("5 s later");
        assert_eq!(probe.bitrate_bps, 10_000_000, "capped at max");
        assert_eq!(e.target_bps(), 300_000, "a probe alone moves nothing");
    }

    #[test]
    fn a_target_change_under_five_percent_is_not_reported() {
        let mut e = Estimator::new(BitrateLimits::default()).expect("limits");
        assert!(e.poll_event().is_some());
        e.on_remb(Instant::ZERO, 290_000);
        assert_eq!(e.poll_event(), None);
        e.on_remb(Instant::ZERO, 280_000);
        assert_eq!(
            e.poll_event(),
            Some(Event::BitrateEstimate {
                target_bps: 280_000
            })
        );
    }

    #[test]
    fn a_remb_only_peer_sets_the_target_and_caps_it_once_feedback_comes() {
        let mut e = Estimator::new(BitrateLimits::default()).expect("limits");
        e.on_remb(Instant::from_millis(100), 2_000_000);
        assert_eq!(e.target_bps(), 2_000_000, "REMB alone is the estimate");
        e.on_remb(Instant::from_millis(200), 700_000);
        assert_eq!(e.target_bps(), 700_000);
        // Clamped to the limits like any estimate.
        e.on_remb(Instant::from_millis(300), 50_000_000);
        assert_eq!(e.target_bps(), BitrateLimits::default().max_bps);
    }

    #[test]
    fn a_start_at_the_max_plans_no_probe() {
        let limits = BitrateLimits {
            min_bps: 1_000_000,
            start_bps: 5_000_000,
            max_bps: 5_000_000,
        };
        let mut e = Estimator::new(limits).expect("limits");
        assert_eq!(e.poll_probe(Instant::from_millis(1)), None);
        let mut e = Estimator::new(BitrateLimits::default()).expect("limits");
        e.set_bitrate_limits(Instant::ZERO, limits).expect("limits");
        assert_eq!(e.poll_probe(Instant::from_millis(1)), None);
        assert_eq!(e.target_bps(), 5_000_000);
    }

    #[test]
    fn the_queue_is_the_delay_above_the_least_of_the_last_two_windows() {
        let mut q = QueueDelay::default();
        // One-way delays include the clocks' offset (here -5 s): only differences count.
        let offset = -5_000_000;
        let mut at = 0;
        for _ in 0..100 {
            at += 10_000;
            q.push(at, offset + 20_000);
        }
        assert_eq!(q.micros(), 0);
        for _ in 0..100 {
            at += 10_000;
            q.push(at, offset + 80_000);
        }
        assert!((59_000..=60_000).contains(&q.micros()), "{}", q.micros());
        // The path got 60 ms longer for good: after two windows that is the new base.
        while at < 2 * BASE_WINDOW_MICROS + 2_000_000 {
            at += 10_000;
            q.push(at, offset + 80_000);
        }
        assert!(q.micros() < 1_000, "{}", q.micros());
    }

    /// A rate a few percent above the capacity grows the queue too slowly for the trend
    /// detector's adaptive threshold; a queue past 100 ms is an overuse all the same.
    #[test]
    fn a_slowly_filling_queue_is_an_overuse_once_it_is_deep() {
        let limits = BitrateLimits {
            min_bps: 50_000,
            start_bps: 1_500_000,
            max_bps: 1_500_000,
        };
        let mut e = Estimator::new(limits).expect("limits");
        let (mut seq, mut t) = (0u16, 0u64);
        // 1.2 Mbit/s sent (1200 bytes every 8 ms) through a link a little slower.
        // 1 ms more queue each 10 packets (80 ms): 1.25 % too fast, 12.5 ms a second.
        for round in 0..120u64 {
            let start = t;
            let fb = feedback(start, 8_000, 10, seq, |i| {
                let n = round * 10 + i;
                Some(20_000 + (n as i64 / 10) * 1_000)
            });
            t += 80_000;
            e.on_feedback(Instant::from_micros(t + 30_000), fb);
            seq = seq.wrapping_add(10);
            if e.queue.micros() < 90_000 {
                assert_eq!(e.stats().overuses, 0, "round {round}: {:?}", e.parts());
            }
        }
        assert!(e.queue.micros() > STANDING_QUEUE_MICROS);
        assert!(e.stats().overuses >= 1, "{:?}", e.stats());
        assert!(e.target_bps() < 1_200_000, "{:?}", e.parts());
    }
}
