//! The delay-based detector (draft-ietf-rmcat-gcc-02 §5, as libwebrtc's goog_cc does it):
//! packets grouped by send time, the growth of one-way delay between groups, a trendline
//! over the last groups, and a detector comparing that trend with an adaptive threshold.
//!
//! ```text
//!   (sent, arrived, size) ──▶ PacketGroups: a group is every packet sent within 5 ms of
//!        │                    its first (and arrival bursts that caught up with it)
//!        ▼ when a group completes: send Δ, arrival Δ between the last two groups
//!   Trendline: accumulated (arrival Δ − send Δ), smoothed 0.9, least-squares slope over
//!        │     20 points, × min(groups, 60) × gain 4
//!        ▼
//!   OveruseDetector: trend > γ for > 10 ms and rising ─▶ Overusing
//!                    trend < −γ ─▶ Underusing, else Normal;  γ follows |trend|
//!                    (k_up 0.0087, k_down 0.039), clamped to 6..600
//! ```

/// What the delay-based detector concludes about the path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum BandwidthUsage {
    /// Delay is stable: the path keeps up.
    Normal,
    /// Delay grows: a queue builds at the bottleneck.
    Overusing,
    /// Delay shrinks: a queue drains.
    Underusing,
}

/// Packets sent closer together than this form one group (a frame's burst).
const GROUP_SPAN_MICROS: i64 = 5_000;
/// Arrivals this close after the previous one with a negative propagation delta belong to the
/// previous group: a burst released by a queue, not a new sample.
const BURST_SPAN_MICROS: i64 = 5_000;
/// A gap this large in arrival times means the flow paused: the groups start afresh.
const RESET_GAP_MICROS: i64 = 3_000_000;

#[derive(Clone, Copy, Debug, Default)]
struct Group {
    first_send: i64,
    last_send: i64,
    first_arrival: i64,
    last_arrival: i64,
    bytes: u32,
    started: bool,
}

/// The difference between two consecutive completed groups.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct GroupDelta {
    /// Send time difference, ms.
    pub(crate) send_ms: f32,
    /// Arrival time difference, ms.
    pub(crate) arrival_ms: f32,
    /// Arrival time of the completed group, µs on the receiver's clock.
    pub(crate) arrival_micros: i64,
}

/// Groups packets by send time and yields the deltas between completed groups.
#[derive(Clone, Debug, Default)]
pub(crate) struct PacketGroups {
    current: Group,
    previous: Group,
}

impl PacketGroups {
    /// Adds a received packet (times in µs: send on our clock, arrival on the receiver's);
    /// returns the delta when the packet completes a group that has a predecessor.
    pub(crate) fn push(&mut self, send: i64, arrival: i64, size: u16) -> Option<GroupDelta> {
        if !self.current.started {
            self.current = Group::start(send, arrival, size);
            return None;
        }
        if arrival.saturating_sub(self.current.last_arrival) > RESET_GAP_MICROS
            || arrival < self.current.first_arrival.saturating_sub(RESET_GAP_MICROS)
        {
            *self = PacketGroups::default();
            self.current = Group::start(send, arrival, size);
            return None;
        }
        if send < self.current.first_send {
            // Reordered onto an older group: its information is already spent.
            return None;
        }
        if self.belongs_to_current(send, arrival) {
            let g = &mut self.current;
            g.last_send = g.last_send.max(send);
            g.last_arrival = g.last_arrival.max(arrival);
            g.bytes = g.bytes.saturating_add(u32::from(size));
            return None;
        }
        let delta = self.previous.started.then(|| GroupDelta {
            send_ms: self
                .current
                .last_send
                .saturating_sub(self.previous.last_send) as f32
                / 1000.0,
            arrival_ms: self
                .current
                .last_arrival
                .saturating_sub(self.previous.last_arrival) as f32
                / 1000.0,
            arrival_micros: self.current.last_arrival,
        });
        self.previous = self.current;
        self.current = Group::start(send, arrival, size);
        delta
    }

    fn belongs_to_current(&self, send: i64, arrival: i64) -> bool {
        let g = &self.current;
        if send.saturating_sub(g.first_send) <= GROUP_SPAN_MICROS {
            return true;
        }
        // A burst: it arrived right behind the group although sent later, so a queue held
        // both and released them together.
        let arrival_delta = arrival.saturating_sub(g.last_arrival);
        let propagation = arrival_delta.saturating_sub(send.saturating_sub(g.last_send));
        propagation < 0 && arrival_delta <= BURST_SPAN_MICROS
    }
}

impl Group {
    fn start(send: i64, arrival: i64, size: u16) -> Group {
        Group {
            first_send: send,
            last_send: send,
            first_arrival: arrival,
            last_arrival: arrival,
            bytes: u32::from(size),
            started: true,
        }
    }
}

/// Points in the regression window.
pub(crate) const TRENDLINE_WINDOW: usize = 20;
const SMOOTHING: f32 = 0.9;
const TREND_GAIN: f32 = 4.0;
const MAX_DELTAS_COUNTED: f32 = 60.0;

/// The trendline filter: the slope of smoothed accumulated delay against arrival time.
#[derive(Clone, Debug)]
pub(crate) struct Trendline {
    /// (arrival ms since the first group, smoothed accumulated delay ms), a ring.
    points: [(f32, f32); TRENDLINE_WINDOW],
    len: usize,
    next: usize,
    first_arrival: Option<i64>,
    accumulated_ms: f32,
    smoothed_ms: f32,
    deltas: u32,
    /// The last modified trend (slope × min(deltas, 60) × gain).
    trend: f32,
}

impl Default for Trendline {
    fn default() -> Self {
        Trendline {
            points: [(0.0, 0.0); TRENDLINE_WINDOW],
            len: 0,
            next: 0,
            first_arrival: None,
            accumulated_ms: 0.0,
            smoothed_ms: 0.0,
            deltas: 0,
            trend: 0.0,
        }
    }
}

impl Trendline {
    /// Adds a group delta; returns the modified trend the detector compares with γ.
    pub(crate) fn update(&mut self, delta: &GroupDelta) -> f32 {
        let first = *self.first_arrival.get_or_insert(delta.arrival_micros);
        self.deltas = self.deltas.saturating_add(1);
        self.accumulated_ms += delta.arrival_ms - delta.send_ms;
        self.smoothed_ms = SMOOTHING * self.smoothed_ms + (1.0 - SMOOTHING) * self.accumulated_ms;
        let x = delta.arrival_micros.saturating_sub(first) as f32 / 1000.0;
        if let Some(slot) = self.points.get_mut(self.next) {
            *slot = (x, self.smoothed_ms);
        }
        self.next = (self.next + 1) % TRENDLINE_WINDOW;
        self.len = (self.len + 1).min(TRENDLINE_WINDOW);
        if self.len == TRENDLINE_WINDOW
            && let Some(slope) = self.slope()
        {
            self.trend = slope * (self.deltas as f32).min(MAX_DELTAS_COUNTED) * TREND_GAIN;
        }
        self.trend
    }

    /// Least-squares slope of the window; `None` when every x is the same.
    fn slope(&self) -> Option<f32> {
        let points = self.points.get(..self.len)?;
        let n = self.len as f32;
        // Centre on the first point so f32 keeps its precision late in a call.
        let origin = points.get(self.next % self.len).map_or(0.0, |p| p.0);
        let (mut sx, mut sy) = (0.0f32, 0.0f32);
        for &(x, y) in points {
            sx += x - origin;
            sy += y;
        }
        let (mx, my) = (sx / n, sy / n);
        let (mut num, mut den) = (0.0f32, 0.0f32);
        for &(x, y) in points {
            let dx = x - origin - mx;
            num += dx * (y - my);
            den += dx * dx;
        }
        (den > 0.0).then(|| num / den)
    }
}

const K_UP: f32 = 0.0087;
const K_DOWN: f32 = 0.039;
const THRESHOLD_MIN: f32 = 6.0;
const THRESHOLD_MAX: f32 = 600.0;
const THRESHOLD_INITIAL: f32 = 12.5;
/// A trend this far beyond γ is a spike the threshold does not follow.
const MAX_ADAPT_OFFSET: f32 = 15.0;
const OVERUSE_TIME_MS: f32 = 10.0;

/// The overuse detector with the adaptive threshold γ.
#[derive(Clone, Debug)]
pub(crate) struct OveruseDetector {
    threshold: f32,
    last_update_micros: Option<i64>,
    previous_trend: f32,
    time_over_ms: Option<f32>,
    overuse_count: u32,
    state: BandwidthUsage,
}

impl Default for OveruseDetector {
    fn default() -> Self {
        OveruseDetector {
            threshold: THRESHOLD_INITIAL,
            last_update_micros: None,
            previous_trend: 0.0,
            time_over_ms: None,
            overuse_count: 0,
            state: BandwidthUsage::Normal,
        }
    }
}

impl OveruseDetector {
    /// The current threshold γ.
    pub(crate) fn threshold(&self) -> f32 {
        self.threshold
    }

    /// Compares the trend of a group delta (`send_delta_ms` apart) with γ at `arrival_micros`.
    pub(crate) fn detect(
        &mut self,
        trend: f32,
        send_delta_ms: f32,
        arrival_micros: i64,
    ) -> BandwidthUsage {
        if !trend.is_finite() {
            return self.state;
        }
        if trend > self.threshold {
            let over = match self.time_over_ms {
                // The first sample over: assume it crossed halfway through its interval.
                None => send_delta_ms / 2.0,
                Some(t) => t + send_delta_ms,
            };
            self.time_over_ms = Some(over);
            self.overuse_count += 1;
            if over > OVERUSE_TIME_MS && self.overuse_count > 1 && trend >= self.previous_trend {
                self.time_over_ms = None;
                self.overuse_count = 0;
                self.state = BandwidthUsage::Overusing;
            }
        } else if trend < -self.threshold {
            self.time_over_ms = None;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Underusing;
        } else {
            self.time_over_ms = None;
            self.overuse_count = 0;
            self.state = BandwidthUsage::Normal;
        }
        self.previous_trend = trend;
        self.adapt(trend, arrival_micros);
        self.state
    }

    fn adapt(&mut self, trend: f32, now_micros: i64) {
        let last = *self.last_update_micros.get_or_insert(now_micros);
        let magnitude = trend.abs();
        if magnitude > self.threshold + MAX_ADAPT_OFFSET {
            self.last_update_micros = Some(now_micros);
            return;
        }
        let k = if magnitude < self.threshold {
            K_DOWN
        } else {
            K_UP
        };
        let dt_ms = (now_micros.saturating_sub(last) as f32 / 1000.0).clamp(0.0, 100.0);
        self.threshold += k * (magnitude - self.threshold) * dt_ms;
        self.threshold = self.threshold.clamp(THRESHOLD_MIN, THRESHOLD_MAX);
        self.last_update_micros = Some(now_micros);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_within_five_ms_of_sending_form_one_group() {
        let mut g = PacketGroups::default();
        // Group A: sent at 0, 2, 4 ms; group B at 20 ms; group C at 40 ms completes B.
        assert_eq!(g.push(0, 100_000, 1000), None);
        assert_eq!(g.push(2_000, 102_000, 1000), None);
        assert_eq!(g.push(4_000, 104_000, 1000), None);
        assert_eq!(
            g.push(20_000, 121_000, 1000),
            None,
            "A completes but has no predecessor"
        );
        let d = g.push(40_000, 142_000, 1000).expect("B completes");
        assert_eq!(d.send_ms, 16.0);
        assert_eq!(d.arrival_ms, 17.0);
        assert_eq!(d.arrival_micros, 121_000);
    }

    #[test]
    fn an_arrival_burst_joins_the_group_it_caught_up_with() {
        let mut g = PacketGroups::default();
        g.push(0, 100_000, 1000);
        // Sent 10 ms later but arrived 1 ms after: a queue released both together.
        assert_eq!(g.push(10_000, 101_000, 1000), None);
        g.push(30_000, 130_000, 1000);
        let d = g.push(50_000, 150_000, 1000).expect("completes");
        assert_eq!(
            d.send_ms, 20.0,
            "the first group's last send is the burst's"
        );
    }

    fn feed(trend: &mut Trendline, growth_per_group_ms: f32, groups: usize) -> f32 {
        let mut t = 0;
        let mut out = 0.0;
        for _ in 0..groups {
            t += 20_000;
            out = trend.update(&GroupDelta {
                send_ms: 20.0,
                arrival_ms: 20.0 + growth_per_group_ms,
                arrival_micros: t,
            });
        }
        out
    }

    #[test]
    fn steady_delay_has_no_trend_and_growing_delay_does() {
        let mut flat = Trendline::default();
        assert_eq!(feed(&mut flat, 0.0, 40), 0.0);
        let mut growing = Trendline::default();
        // 1 ms more delay every 20 ms: slope 0.05, × 40 groups × 4 = 8 once smoothed; the
        // smoothing lags, so somewhat less, but clearly positive.
        let t = feed(&mut growing, 1.0, 40);
        assert!(t > 6.0 && t < 8.5, "trend {t}");
        let mut draining = Trendline::default();
        assert!(feed(&mut draining, -1.0, 40) < -6.0);
    }

    #[test]
    fn overuse_needs_ten_ms_over_the_threshold_and_a_rising_trend() {
        let mut d = OveruseDetector::default();
        let mut now = 0;
        let mut step = |d: &mut OveruseDetector, trend: f32| {
            now += 5_000;
            d.detect(trend, 5.0, now)
        };
        assert_eq!(
            step(&mut d, 20.0),
            BandwidthUsage::Normal,
            "2.5 ms over, one sample"
        );
        assert_eq!(step(&mut d, 21.0), BandwidthUsage::Normal, "7.5 ms over");
        assert_eq!(
            step(&mut d, 22.0),
            BandwidthUsage::Overusing,
            "12.5 ms over, rising"
        );
        let mut d = OveruseDetector::default();
        for _ in 0..5 {
            assert_ne!(step(&mut d, -30.0), BandwidthUsage::Overusing);
        }
        assert_eq!(step(&mut d, -30.0), BandwidthUsage::Underusing);
    }

    #[test]
    fn the_threshold_follows_the_trend_up_slowly_and_down_fast() {
        let mut d = OveruseDetector::default();
        // |trend| 20 over γ 12.5 within the spike limit: γ rises by k_up per ms.
        d.detect(20.0, 5.0, 0);
        d.detect(20.0, 5.0, 10_000);
        let up = d.threshold() - THRESHOLD_INITIAL;
        assert!((up - K_UP * 7.5 * 10.0).abs() < 1e-4, "{up}");
        let before = d.threshold();
        d.detect(0.0, 5.0, 20_000);
        let down = before - d.threshold();
        assert!((down - K_DOWN * before * 10.0).abs() < 1e-3, "{down}");
        // A spike far beyond γ leaves it alone.
        let before = d.threshold();
        d.detect(100.0, 5.0, 30_000);
        assert_eq!(d.threshold(), before);
        // Clamped at the floor.
        for i in 0..100 {
            d.detect(0.0, 5.0, 40_000 + i * 100_000);
        }
        assert_eq!(d.threshold(), THRESHOLD_MIN);
    }
}
