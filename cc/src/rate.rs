//! The rates the delay-based part works with: the acknowledged bitrate (what the receiver
//! actually got), the link capacity seen at past overuses, and the AIMD rate controller.
//!
//! ```text
//!   Normal ──▶ Increase: no link capacity known ×1.08 per second, known (the acked rate
//!              at past overuses) one 1200-byte packet per response time (RTT + 100 ms,
//!              ×2), the same for every flow; one more per second the queue has stayed
//!              empty (up to 8; the multiplicative rate up to 2×);
//!              acked beyond its 3 σ and 10 % forgets it
//!              never above 1.5 × acknowledged + 10 kbit/s (app-limited stays put)
//!   Overusing ──▶ Decrease: 0.85 × acknowledged, then Hold
//!   Underusing ──▶ Hold (let the queue drain)
//! ```

use core::time::Duration;

use crate::delay::BandwidthUsage;

/// The acknowledged-bitrate estimator: bytes the receiver reported over windows of arrival
/// time, blended by how far each sample is from the estimate (a scalar Bayesian update, as
/// libwebrtc's BitrateEstimator does).
#[derive(Clone, Debug, Default)]
pub(crate) struct AckedBitrate {
    window_start: Option<i64>,
    window_bytes: u32,
    estimate_kbps: Option<f32>,
    variance: f32,
    last_sample_kbps: Option<f32>,
}

/// The first window is longer so the first estimate is not one frame's burst.
const INITIAL_WINDOW_MICROS: i64 = 500_000;
const WINDOW_MICROS: i64 = 150_000;
const INITIAL_VARIANCE: f32 = 50.0;
const VARIANCE_GROWTH: f32 = 5.0;
/// Windows with fewer bytes than this say more about the sender than the path.
const MIN_WINDOW_BYTES: u32 = 600;

impl AckedBitrate {
    /// Counts a received packet by its arrival time (µs, receiver's clock).
    pub(crate) fn push(&mut self, arrival: i64, size: u16) {
        let start = *self.window_start.get_or_insert(arrival);
        let span = if self.estimate_kbps.is_none() {
            INITIAL_WINDOW_MICROS
        } else {
            WINDOW_MICROS
        };
        if arrival < start {
            // Reordered into the previous window: count it here.
        } else if arrival.saturating_sub(start) >= span {
            if self.window_bytes >= MIN_WINDOW_BYTES {
                let sample = self.window_bytes as f32 * 8.0
                    / (arrival.saturating_sub(start) as f32 / 1000.0);
                self.update(sample);
            }
            self.window_start = Some(arrival);
            self.window_bytes = 0;
        }
        self.window_bytes = self.window_bytes.saturating_add(u32::from(size));
    }

    fn update(&mut self, sample_kbps: f32) {
        self.last_sample_kbps = Some(sample_kbps);
        let Some(estimate) = self.estimate_kbps else {
            self.estimate_kbps = Some(sample_kbps);
            self.variance = INITIAL_VARIANCE;
            return;
        };
        // A sample far from the estimate counts less. Relative to estimate + sample (as
        // libwebrtc's uncertainty-symmetry field trial does), so the uncertainty stays below
        // 10 and a throughput that jumps after a probe is believed within a few windows
        // instead of being smoothed away while the rate controller decides on it.
        let uncertainty = 10.0 * (estimate - sample_kbps).abs() / (estimate + sample_kbps).max(1.0);
        let sample_variance = uncertainty * uncertainty;
        let predicted = self.variance + VARIANCE_GROWTH;
        let blended = (sample_variance * estimate + predicted * sample_kbps)
            / (sample_variance + predicted).max(f32::MIN_POSITIVE);
        self.estimate_kbps = Some(blended);
        self.variance = sample_variance * predicted / (sample_variance + predicted).max(1e-6);
    }

    /// The estimate in bit/s, once there is one.
    pub(crate) fn bps(&self) -> Option<u64> {
        self.estimate_kbps.map(|k| (k * 1000.0) as u64)
    }

    /// What the path delivered lately: the estimate, or the last window if that was more.
    /// At an overuse the bottleneck is full, so its last window is its capacity, while the
    /// smoothed estimate may still trail a rate a probe just raised.
    pub(crate) fn recent_bps(&self) -> Option<u64> {
        let recent = match (self.estimate_kbps, self.last_sample_kbps) {
            (Some(e), Some(s)) => Some(e.max(s)),
            (e, s) => e.or(s),
        };
        recent.map(|k| (k * 1000.0) as u64)
    }
}

/// The rate seen at overuses: where the link's capacity probably is.
#[derive(Clone, Copy, Debug, Default)]
struct LinkCapacity {
    estimate_kbps: Option<f32>,
    /// Normalised variance (kbps), as libwebrtc keeps it.
    deviation: f32,
}

const CAPACITY_SMOOTHING: f32 = 0.05;
/// The capacity's band is at least this share of it on either side.
const RELATIVE_BAND: f32 = 0.1;

impl LinkCapacity {
    fn on_overuse(&mut self, acked_kbps: f32) {
        match self.estimate_kbps {
            None => {
                self.estimate_kbps = Some(acked_kbps);
                self.deviation = 0.4;
            }
            Some(e) => {
                let e = (1.0 - CAPACITY_SMOOTHING) * e + CAPACITY_SMOOTHING * acked_kbps;
                let norm = e.max(1.0);
                let err = e - acked_kbps;
                self.deviation = ((1.0 - CAPACITY_SMOOTHING) * self.deviation
                    + CAPACITY_SMOOTHING * err * err / norm)
                    .clamp(0.4, 2.5);
                self.estimate_kbps = Some(e);
            }
        }
    }

    /// Whether `kbps` lies more than three standard deviations above (or below) the
    /// estimate (compared squared: core has no square root), and more than a tenth of it.
    ///
    /// The tenth is for fairness: the acknowledged rate's noise grows with the rate (frames
    /// are a share of it), while three deviations grow with its square root, so without a
    /// relative floor the larger of two flows sharing a link leaves its band more often,
    /// forgets the capacity, increases multiplicatively while the smaller one adds a packet
    /// per response time, and keeps the larger share for good.
    fn above_upper_bound(&self, kbps: f32) -> bool {
        self.estimate_kbps.is_some_and(|e| {
            let d = kbps - e;
            d > RELATIVE_BAND * e && d * d > 9.0 * self.deviation * e
        })
    }

    fn below_lower_bound(&self, kbps: f32) -> bool {
        self.estimate_kbps.is_some_and(|e| {
            let d = e - kbps;
            d > RELATIVE_BAND * e && d * d > 9.0 * self.deviation * e
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RateState {
    Hold,
    Increase,
    Decrease,
}

const BETA: f32 = 0.85;
/// ×1.08 per second, linear within a second: core has no `powf`.
const MULTIPLICATIVE_PER_SECOND: f32 = 0.08;
const MIN_INCREASE_BPS: f32 = 1000.0;
const MIN_ADDITIVE_BPS_PER_SECOND: f32 = 4000.0;
const MAX_ROOM_FACTOR: f32 = 8.0;
const PACKET_BITS: f32 = 1200.0 * 8.0;

/// The AIMD rate controller.
#[derive(Clone, Debug)]
pub(crate) struct Aimd {
    rate_bps: f32,
    state: RateState,
    capacity: LinkCapacity,
    last_change_micros: Option<u64>,
    last_decrease_micros: Option<u64>,
    /// Set when the acknowledged rate left the capacity seen at past overuses upwards.
    capacity_grew: bool,
    /// How many packets per response time the additive increase adds (see `set_room`).
    room_factor: f32,
}

impl Aimd {
    pub(crate) fn new(start_bps: u64) -> Self {
        Aimd {
            rate_bps: start_bps as f32,
            state: RateState::Hold,
            capacity: LinkCapacity::default(),
            last_change_micros: None,
            last_decrease_micros: None,
            capacity_grew: false,
            room_factor: 1.0,
        }
    }

    pub(crate) fn rate_bps(&self) -> u64 {
        self.rate_bps as u64
    }

    /// Whether the link grew past the capacity past overuses showed, since the last call.
    pub(crate) fn take_capacity_grew(&mut self) -> bool {
        core::mem::take(&mut self.capacity_grew)
    }

    /// How long the path's queue has stayed empty. The additive increase adds one packet
    /// per response time, plus one for each second of an empty queue (up to eight): a link
    /// that has had room for seconds is probably not near its capacity any more, and every
    /// flow through the queue sees it empty alike and adds the same, so they stay fair
    /// (a multiplicative increase would keep their ratio instead).
    pub(crate) fn set_room(&mut self, empty_for: Duration) {
        self.room_factor = (1.0 + empty_for.as_secs_f32()).min(MAX_ROOM_FACTOR);
    }

    /// Sets the rate from outside (a probe's result, the limits).
    pub(crate) fn set_rate(&mut self, bps: u64) {
        self.rate_bps = bps as f32;
    }

    /// Moves the rate for a detector signal at `now_micros` (our clock).
    /// `acked_bps` caps increases; `delivered_bps` (the recent throughput) sets decreases.
    pub(crate) fn update(
        &mut self,
        usage: BandwidthUsage,
        acked_bps: Option<u64>,
        delivered_bps: Option<u64>,
        rtt_ms: f32,
        now_micros: u64,
    ) -> u64 {
        let last = *self.last_change_micros.get_or_insert(now_micros);
        let dt_s = (now_micros.saturating_sub(last) as f32 / 1e6).min(1.0);
        self.state = match (usage, self.state) {
            (BandwidthUsage::Overusing, _) => RateState::Decrease,
            (BandwidthUsage::Underusing, _) => RateState::Hold,
            (BandwidthUsage::Normal, RateState::Hold | RateState::Increase) => RateState::Increase,
            (BandwidthUsage::Normal, RateState::Decrease) => RateState::Hold,
        };
        let acked = acked_bps.map(|b| b as f32);
        match self.state {
            RateState::Hold => {}
            RateState::Increase => {
                if let Some(a) = acked
                    && self.capacity.above_upper_bound(a / 1000.0)
                {
                    // The link grew past what the overuses said: search again.
                    self.capacity = LinkCapacity::default();
                    self.capacity_grew = true;
                }
                let increase = if self.capacity.estimate_kbps.is_some() {
                    self.additive_per_second(rtt_ms) * dt_s * self.room_factor
                } else {
                    (self.rate_bps * MULTIPLICATIVE_PER_SECOND * dt_s * self.room_factor.min(2.0))
                        .max(MIN_INCREASE_BPS * dt_s)
                };
                let mut next = self.rate_bps + increase;
                if let Some(a) = acked {
                    // Sending below the estimate (application-limited) must not raise it.
                    let cap = 1.5 * a + 10_000.0;
                    next = next.min(cap.max(self.rate_bps));
                }
                self.rate_bps = next;
            }
            RateState::Decrease if !self.time_to_reduce_further(acked, rtt_ms, now_micros) => {
                self.state = RateState::Hold;
            }
            RateState::Decrease => {
                self.last_decrease_micros = Some(now_micros);
                if let Some(a) = delivered_bps.map(|b| b as f32).or(acked) {
                    let mut decreased = BETA * a;
                    if decreased > self.rate_bps
                        && let Some(c) = self.capacity.estimate_kbps
                    {
                        decreased = BETA * c * 1000.0;
                    }
                    if decreased < self.rate_bps {
                        self.rate_bps = decreased;
                    }
                    if self.capacity.below_lower_bound(a / 1000.0) {
                        // The link shrank below what past overuses said.
                        self.capacity = LinkCapacity::default();
                    }
                    self.capacity.on_overuse(a / 1000.0);
                } else {
                    self.rate_bps *= BETA;
                }
                self.state = RateState::Hold;
            }
        }
        self.last_change_micros = Some(now_micros);
        self.rate_bps()
    }

    /// One decrease per round trip (10 to 200 ms) while the detector keeps saying overuse,
    /// since the queue it sees needs that long to react; sooner if the acknowledged rate
    /// fell below half the estimate.
    fn time_to_reduce_further(&self, acked: Option<f32>, rtt_ms: f32, now_micros: u64) -> bool {
        let Some(last) = self.last_decrease_micros else {
            return true;
        };
        let interval = (rtt_ms.clamp(10.0, 200.0) * 1000.0) as u64;
        now_micros.saturating_sub(last) >= interval
            || acked.is_some_and(|a| a < self.rate_bps / 2.0)
    }

    /// One full packet per response time, whatever the rate: flows sharing a link add the
    /// same, which is what lets AIMD converge to a fair share (libwebrtc sizes the packet
    /// from the rate, which lets the larger flow add more and keeps it larger).
    fn additive_per_second(&self, rtt_ms: f32) -> f32 {
        let response_s = 2.0 * (rtt_ms + 100.0) / 1000.0;
        (PACKET_BITS / response_s).max(MIN_ADDITIVE_BPS_PER_SECOND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acked_bitrate_of_a_steady_stream_is_its_rate() {
        let mut a = AckedBitrate::default();
        // 1200-byte packets every 4 ms: 2.4 Mbit/s.
        for i in 0..1000 {
            a.push(i * 4_000, 1200);
        }
        let bps = a.bps().expect("estimate") as f32;
        assert!((bps - 2_400_000.0).abs() < 50_000.0, "{bps}");
    }

    #[test]
    fn acked_bitrate_follows_a_rate_change() {
        let mut a = AckedBitrate::default();
        let mut t = 0;
        for _ in 0..500 {
            t += 4_000;
            a.push(t, 1200);
        }
        for _ in 0..500 {
            t += 8_000;
            a.push(t, 1200);
        }
        let bps = a.bps().expect("estimate") as f32;
        assert!((bps - 1_200_000.0).abs() < 100_000.0, "{bps}");
    }

    #[test]
    fn overuse_decreases_to_085_of_acknowledged_then_holds() {
        let mut c = Aimd::new(1_000_000);
        let r = c.update(
            BandwidthUsage::Overusing,
            Some(800_000),
            Some(800_000),
            50.0,
            0,
        );
        assert_eq!(r, 680_000);
        let r = c.update(
            BandwidthUsage::Normal,
            Some(680_000),
            Some(680_000),
            50.0,
            100_000,
        );
        // Normal again: increase, additively now that an overuse showed the capacity
        // (one 1200-byte packet per 0.3 s response time, for 0.1 s).
        assert_eq!(r, 683_200);
        let r2 = c.update(
            BandwidthUsage::Underusing,
            Some(680_000),
            Some(680_000),
            50.0,
            200_000,
        );
        assert_eq!(r2, r, "hold while the queue drains");
        let r = c.update(
            BandwidthUsage::Overusing,
            Some(680_000),
            Some(680_000),
            50.0,
            220_000,
        );
        assert_eq!(r, 578_000, "a round trip after the last decrease");
        let r = c.update(
            BandwidthUsage::Overusing,
            Some(500_000),
            Some(500_000),
            50.0,
            240_000,
        );
        assert_eq!(r, 578_000, "not again within the round trip");
    }

    #[test]
    fn far_from_convergence_the_rate_grows_eight_percent_per_second() {
        let mut c = Aimd::new(1_000_000);
        c.update(
            BandwidthUsage::Normal,
            Some(1_000_000),
            Some(1_000_000),
            50.0,
            0,
        );
        let r = c.update(
            BandwidthUsage::Normal,
            Some(1_000_000),
            Some(1_000_000),
            50.0,
            500_000,
        );
        assert_eq!(r, 1_040_000);
    }

    #[test]
    fn near_convergence_the_rate_grows_by_about_a_packet_per_response_time() {
        let mut c = Aimd::new(1_000_000);
        c.update(
            BandwidthUsage::Overusing,
            Some(1_000_000),
            Some(1_000_000),
            50.0,
            0,
        );
        assert_eq!(c.rate_bps(), 850_000);
        c.update(
            BandwidthUsage::Normal,
            Some(850_000),
            Some(850_000),
            50.0,
            100_000,
        );
        let before = c.rate_bps();
        let after = c.update(
            BandwidthUsage::Normal,
            Some(850_000),
            Some(850_000),
            50.0,
            1_100_000,
        );
        // 850 kbit/s at 30 fps: 28 333 bits a frame, 3 packets of 9444 bits, per 0.3 s.
        let grown = after - before;
        assert!((31_000..=32_500).contains(&grown), "{grown}");
    }

    #[test]
    fn an_application_limited_sender_does_not_raise_the_estimate() {
        let mut c = Aimd::new(2_000_000);
        for i in 0..20 {
            c.update(
                BandwidthUsage::Normal,
                Some(300_000),
                Some(300_000),
                50.0,
                i * 500_000,
            );
        }
        assert_eq!(c.rate_bps(), 2_000_000, "above 1.5 × acked: held");
        let mut c = Aimd::new(400_000);
        for i in 0..40 {
            c.update(
                BandwidthUsage::Normal,
                Some(300_000),
                Some(300_000),
                50.0,
                i * 500_000,
            );
        }
        assert_eq!(
            c.rate_bps(),
            460_000,
            "grows to 1.5 × acked + 10 kbit/s and stops"
        );
    }

    /// Two flows through one queue add the same each second whatever their rates (AIMD's
    /// fairness rests on it), and more the longer the queue has stayed empty.
    #[test]
    fn the_additive_increase_is_the_same_for_every_rate_and_grows_with_room() {
        let added = |start: u64, room: Duration| {
            let mut c = Aimd::new(start);
            c.update(
                BandwidthUsage::Overusing,
                Some(start),
                Some(start),
                100.0,
                0,
            );
            let from = c.rate_bps();
            c.set_room(room);
            let mut now = 0;
            for _ in 0..10 {
                now += 100_000;
                c.update(BandwidthUsage::Normal, Some(from), Some(from), 100.0, now);
            }
            c.rate_bps() - from
        };
        let small = added(500_000, Duration::ZERO);
        let large = added(2_000_000, Duration::ZERO);
        // One 1200-byte packet per response time of 2 x (100 + 100) ms: 24 kbit/s.
        assert_eq!(small, 24_000);
        assert_eq!(large, small);
        assert_eq!(added(500_000, Duration::from_secs(3)), 4 * small);
        assert_eq!(
            added(500_000, Duration::from_secs(60)),
            MAX_ROOM_FACTOR as u64 * small
        );
    }
}
