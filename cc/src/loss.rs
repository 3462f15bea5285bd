//! The loss-based part (draft-ietf-rmcat-gcc-02 §6): the fraction of packets the feedback
//! reports lost, over windows of at least 20 packets.
//!
//! ```text
//!   loss > 10 %  ──▶ A × (1 − loss / 2), at most once per RTT + 300 ms
//!   loss < 2 %   ──▶ A × 1.05, never above the delay-based rate
//!   otherwise    ──▶ A holds (random loss of a few percent is not congestion)
//! ```

const MIN_PACKETS: u32 = 20;
const MIN_WINDOW_MICROS: u64 = 100_000;
const HIGH_LOSS: f32 = 0.10;
const LOW_LOSS: f32 = 0.02;
const INCREASE: f32 = 1.05;
const DECREASE_GUARD_MICROS: u64 = 300_000;

/// The loss-based rate.
#[derive(Clone, Debug)]
pub(crate) struct LossBased {
    rate_bps: f32,
    received: u32,
    lost: u32,
    window_start: Option<u64>,
    last_decrease: Option<u64>,
    /// The last window's loss fraction.
    last_fraction: f32,
}

impl LossBased {
    pub(crate) fn new(start_bps: u64) -> Self {
        LossBased {
            rate_bps: start_bps as f32,
            received: 0,
            lost: 0,
            window_start: None,
            last_decrease: None,
            last_fraction: 0.0,
        }
    }

    pub(crate) fn rate_bps(&self) -> u64 {
        self.rate_bps as u64
    }

    pub(crate) fn set_rate(&mut self, bps: u64) {
        self.rate_bps = bps as f32;
    }

    /// The last window's loss fraction.
    pub(crate) fn fraction(&self) -> f32 {
        self.last_fraction
    }

    /// Counts one packet of feedback.
    pub(crate) fn push(&mut self, received: bool) {
        if received {
            self.received = self.received.saturating_add(1);
        } else {
            self.lost = self.lost.saturating_add(1);
        }
    }

    /// Closes the window when it holds enough packets and moves the rate; `ceiling` is the
    /// delay-based rate, which the loss-based one never grows past.
    pub(crate) fn update(&mut self, now_micros: u64, rtt_micros: u64, ceiling_bps: u64) {
        let start = *self.window_start.get_or_insert(now_micros);
        let total = self.received.saturating_add(self.lost);
        if total < MIN_PACKETS || now_micros.saturating_sub(start) < MIN_WINDOW_MICROS {
            return;
        }
        let fraction = self.lost as f32 / total as f32;
        self.last_fraction = fraction;
        self.received = 0;
        self.lost = 0;
        self.window_start = Some(now_micros);
        if fraction > HIGH_LOSS {
            let guard = rtt_micros.saturating_add(DECREASE_GUARD_MICROS);
            if self
                .last_decrease
                .is_none_or(|t| now_micros.saturating_sub(t) >= guard)
            {
                self.rate_bps *= 1.0 - 0.5 * fraction;
                self.last_decrease = Some(now_micros);
            }
        } else if fraction < LOW_LOSS {
            self.rate_bps = (self.rate_bps * INCREASE)
                .min(ceiling_bps as f32)
                .max(self.rate_bps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(l: &mut LossBased, now: u64, received: u32, lost: u32) {
        for _ in 0..received {
            l.push(true);
        }
        for _ in 0..lost {
            l.push(false);
        }
        l.update(now, 100_000, u64::MAX);
    }

    #[test]
    fn heavy_loss_decreases_by_half_the_fraction_once_per_guard() {
        let mut l = LossBased::new(1_000_000);
        window(&mut l, 0, 10, 10);
        assert_eq!(
            l.rate_bps(),
            1_000_000,
            "the first window is still open at its start"
        );
        window(&mut l, 200_000, 40, 10);
        // 20 lost of 70: 28.6 % → × 0.857.
        assert_eq!(l.rate_bps(), 857_142);
        window(&mut l, 300_000, 40, 10);
        assert_eq!(
            l.rate_bps(),
            857_142,
            "within RTT + 300 ms of the last decrease"
        );
        window(&mut l, 700_000, 40, 10);
        assert!(l.rate_bps().abs_diff(771_428) <= 1, "20 % lost: × 0.9");
    }

    #[test]
    fn moderate_loss_holds_and_low_loss_grows_up_to_the_ceiling() {
        let mut l = LossBased::new(1_000_000);
        window(&mut l, 0, 0, 0);
        window(&mut l, 200_000, 95, 5);
        assert_eq!(l.rate_bps(), 1_000_000);
        assert!((l.fraction() - 0.05).abs() < 1e-6);
        window(&mut l, 400_000, 100, 1);
        assert_eq!(l.rate_bps(), 1_050_000);
        for _ in 0..3 {
            l.push(true);
        }
        for i in 0..20 {
            l.push(true);
            l.update(600_000 + i * 200_000, 100_000, 1_100_000);
        }
        assert_eq!(l.rate_bps(), 1_100_000);
    }
}
