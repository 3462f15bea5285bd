//! The retransmission timeout estimator (RFC 9260 §6.3.1), shared by every SCTP timer.
//!
//! ```text
//!   first sample R:  SRTT = R, RTTVAR = R/2
//!   next samples:    RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R|, SRTT = 7/8 SRTT + 1/8 R
//!   RTO = SRTT + max(4 RTTVAR, G = 1 ms), clamped to [rto_min, rto_max]
//!   a timer expires --> RTO doubled (at most rto_max); new data acked --> back to the estimate
//! ```

use core::time::Duration;

/// Microseconds, saturating: the host may pass any duration.
pub(super) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Smoothed RTT, its variance and the current timeout, in microseconds.
#[derive(Clone, Copy, Debug)]
pub(super) struct RtoEstimator {
    srtt: u64,
    rttvar: u64,
    rto: u64,
    initial: u64,
    min: u64,
    max: u64,
}

impl RtoEstimator {
    pub(super) fn new(initial: Duration, min: Duration, max: Duration) -> Self {
        RtoEstimator {
            srtt: 0,
            rttvar: 0,
            rto: micros(initial),
            initial: micros(initial),
            min: micros(min),
            max: micros(max),
        }
    }

    /// The current retransmission timeout.
    pub(super) fn timeout(&self) -> Duration {
        Duration::from_micros(self.rto)
    }

    /// The smoothed round-trip time (zero before the first sample).
    pub(super) fn srtt(&self) -> Duration {
        Duration::from_micros(self.srtt)
    }

    /// Back to the initial timeout (a new INIT, or the association just established), the
    /// estimate kept.
    pub(super) fn restart(&mut self) {
        self.rto = self.initial;
    }

    /// Forgets every measurement (a peer restart, RFC 9260 §5.2.4 action A: a new
    /// association, whose path is measured afresh): RTO.Initial until the first sample.
    pub(super) fn reset(&mut self) {
        self.srtt = 0;
        self.rttvar = 0;
        self.rto = self.initial;
    }

    /// One round-trip measurement (Karn: never of a retransmitted chunk).
    pub(super) fn rtt_sample(&mut self, rtt: Duration) {
        // Bounded so the arithmetic below cannot overflow whatever times the host passes.
        let r = micros(rtt).clamp(1, 3_600_000_000);
        if self.srtt == 0 {
            self.srtt = r;
            self.rttvar = r / 2;
        } else {
            let diff = self.srtt.abs_diff(r);
            self.rttvar = (3 * self.rttvar + diff) / 4;
            self.srtt = (7 * self.srtt + r) / 8;
        }
        self.rto = self.estimate();
    }

    /// A timer expired unanswered: double the timeout (RFC 9260 §6.3.3 E2).
    pub(super) fn back_off(&mut self) {
        self.rto = self.rto.saturating_mul(2).min(self.max);
    }

    /// New data was acknowledged, so the path works again: the timeout from the estimate,
    /// without the back-off of unanswered sends (as TCP stacks do on an ACK of new data), or
    /// RTO.Initial while there is no estimate yet (RFC 9260 §6.3.1 C1). Keeping the back-off
    /// there instead left a lossy association that never got a clean sample (Karn) at
    /// RTO.Max for good: a lost RE-CONFIG then waited the full maximum before its retry.
    pub(super) fn undo_back_off(&mut self) {
        self.rto = if self.srtt > 0 {
            self.estimate()
        } else {
            self.initial
        };
    }

    fn estimate(&self) -> u64 {
        // G (clock granularity) of 1 ms keeps the variance term from collapsing to zero.
        let rto = self.srtt + (4 * self.rttvar).max(1000);
        rto.clamp(self.min, self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::RtoEstimator;
    use core::time::Duration;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn first_sample_then_smoothing() {
        let mut e = RtoEstimator::new(ms(1000), ms(200), ms(60_000));
        assert_eq!(e.timeout(), ms(1000));
        e.rtt_sample(ms(100));
        // SRTT 100, RTTVAR 50: 100 + 200 = 300 ms.
        assert_eq!(e.srtt(), ms(100));
        assert_eq!(e.timeout(), ms(300));
        e.rtt_sample(ms(100));
        // RTTVAR 37.5, SRTT 100: 100 + 150 = 250 ms.
        assert_eq!(e.timeout(), ms(250));
    }

    #[test]
    fn clamped_to_min_and_max() {
        let mut e = RtoEstimator::new(ms(1000), ms(200), ms(2000));
        e.rtt_sample(ms(1));
        assert_eq!(e.timeout(), ms(200));
        e.rtt_sample(Duration::MAX);
        assert_eq!(e.timeout(), ms(2000));
    }

    #[test]
    fn back_off_doubles_and_undo_returns_to_the_estimate() {
        let mut e = RtoEstimator::new(ms(1000), ms(200), ms(3000));
        e.back_off();
        assert_eq!(e.timeout(), ms(2000));
        e.back_off();
        assert_eq!(e.timeout(), ms(3000));
        // No estimate yet: undo returns to RTO.Initial.
        e.undo_back_off();
        assert_eq!(e.timeout(), ms(1000));
        e.rtt_sample(ms(100));
        e.back_off();
        assert_eq!(e.timeout(), ms(600));
        e.undo_back_off();
        assert_eq!(e.timeout(), ms(300));
        e.restart();
        assert_eq!(e.timeout(), ms(1000));
    }
}
