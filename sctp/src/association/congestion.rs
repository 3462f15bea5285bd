//! Congestion control: SCTP's Reno (RFC 9260 §7.2), one window for the whole association.
//!
//! ```text
//!   slow start (cwnd <= ssthresh): +min(acked, MTU) per SACK that advances the cumulative
//!        |                         ack of a fully used window
//!        v
//!   congestion avoidance: +MTU per cwnd of bytes acked (partial_bytes_acked)
//!   3 miss indications --> fast recovery: ssthresh = max(cwnd/2, 4 MTU), cwnd = ssthresh,
//!                          no growth until the cumulative ack passes the highest TSN sent
//!   T3 expiry          --> ssthresh = max(cwnd/2, 4 MTU), cwnd = 1 MTU (slow start again)
//! ```

use crate::recv::tsn_le;

/// The sender's congestion state. The window counts payload bytes of DATA chunks, as the
/// flight size does.
#[derive(Clone, Copy, Debug)]
pub(super) struct Reno {
    cwnd: usize,
    ssthresh: usize,
    partial_bytes_acked: usize,
    /// In fast recovery until the cumulative ack reaches this TSN (RFC 9260 §7.2.4).
    recovery_exit: Option<u32>,
    /// The last transmission stopped at the window with data still queued.
    window_limited: bool,
    mtu: usize,
}

impl Reno {
    /// The initial window of RFC 9260 §7.2.1: min(4 MTU, max(2 MTU, 4380)).
    pub(super) fn new(mtu: usize) -> Self {
        Reno {
            cwnd: (4 * mtu).min((2 * mtu).max(4380)),
            ssthresh: usize::MAX,
            partial_bytes_acked: 0,
            recovery_exit: None,
            window_limited: false,
            mtu,
        }
    }

    /// Back to the initial values of a new association (a peer restart, RFC 9260 §5.2.4
    /// action A): the initial window, no threshold until the peer's window is known, no
    /// partial count, no recovery.
    pub(super) fn reset(&mut self) {
        *self = Reno::new(self.mtu);
    }

    /// The congestion window in bytes.
    pub(super) fn window(&self) -> usize {
        self.cwnd
    }

    /// The slow-start threshold in bytes.
    pub(super) fn ssthresh(&self) -> usize {
        self.ssthresh
    }

    /// The initial threshold is the peer's first advertised window (RFC 9260 §7.2.1).
    pub(super) fn set_initial_ssthresh(&mut self, peer_rwnd: u32) {
        self.ssthresh = peer_rwnd as usize;
    }

    /// Records whether the last transmission stopped at the window with data still queued:
    /// growth needs a fully used window, and a sender that paused on the window used it.
    pub(super) fn set_window_limited(&mut self, limited: bool) {
        self.window_limited = limited;
    }

    /// A chunk was marked for fast retransmission. Only the first one of a loss event cuts
    /// the window; the recovery lasts until `highest_sent` is acknowledged.
    pub(super) fn on_fast_retransmit(&mut self, highest_sent: u32) {
        if self.recovery_exit.is_some() {
            return;
        }
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.ssthresh;
        self.partial_bytes_acked = 0;
        self.recovery_exit = Some(highest_sent);
    }

    /// A SACK with cumulative ack `cum`; `acked` bytes newly acknowledged, `advanced` whether
    /// the cumulative ack moved, `flight_before` the flight size before this SACK. The
    /// window grows only when the cumulative point moves and outside fast recovery.
    pub(super) fn on_ack(&mut self, cum: u32, acked: usize, advanced: bool, flight_before: usize) {
        if let Some(exit) = self.recovery_exit
            && tsn_le(exit, cum)
        {
            self.recovery_exit = None;
        }
        if !advanced || self.recovery_exit.is_some() || acked == 0 {
            return;
        }
        let mtu = self.mtu;
        // "Fully utilized" (RFC 9260 §7.2.1): the flight filled the window, or the last
        // transmission stopped because of it with data still waiting.
        let fully_used = self.window_limited || flight_before + mtu >= self.cwnd;
        if self.cwnd <= self.ssthresh {
            if fully_used {
                self.cwnd += acked.min(mtu);
            }
        } else {
            self.partial_bytes_acked += acked;
            if self.partial_bytes_acked >= self.cwnd && fully_used {
                self.partial_bytes_acked -= self.cwnd;
                self.cwnd += mtu;
            }
        }
    }

    /// The retransmission timer expired: the path lost everything in flight (RFC 9260 §7.2.3).
    pub(super) fn on_t3(&mut self) {
        self.ssthresh = (self.cwnd / 2).max(4 * self.mtu);
        self.cwnd = self.mtu;
        self.partial_bytes_acked = 0;
        self.recovery_exit = None;
    }
}

#[cfg(test)]
mod tests {
    use super::Reno;

    const MTU: usize = 1200;

    #[test]
    fn slow_start_grows_by_acked_bytes_up_to_one_mtu() {
        let mut r = Reno::new(MTU);
        assert_eq!(r.window(), 4380);
        r.on_ack(1, 500, true, 4380);
        assert_eq!(r.window(), 4880);
        r.on_ack(2, 5000, true, 4880);
        assert_eq!(r.window(), 4880 + MTU);
        // A window that was not used does not grow.
        r.on_ack(3, 1000, true, 0);
        assert_eq!(r.window(), 4880 + MTU);
        r.set_window_limited(true);
        r.on_ack(4, 1000, true, 0);
        assert_eq!(r.window(), 4880 + MTU + 1000);
    }

    #[test]
    fn fast_recovery_halves_once_and_holds_until_its_exit() {
        let mut r = Reno::new(MTU);
        r.set_window_limited(true);
        for tsn in 0..20 {
            r.on_ack(tsn, MTU, true, 100_000);
        }
        let before = r.window();
        r.on_fast_retransmit(100);
        assert_eq!(r.window(), (before / 2).max(4 * MTU));
        assert_eq!(r.ssthresh(), r.window());
        let cut = r.window();
        // A second loss in the same recovery does not cut again; acks inside it do not grow.
        r.on_fast_retransmit(120);
        r.on_ack(50, MTU, true, 100_000);
        assert_eq!(r.window(), cut);
        // Past the exit point: congestion avoidance (cwnd == ssthresh grows as slow start).
        r.on_ack(100, MTU, true, 100_000);
        assert_eq!(r.window(), cut + MTU);
    }

    #[test]
    fn congestion_avoidance_adds_one_mtu_per_window_acked() {
        let mut r = Reno::new(MTU);
        r.set_initial_ssthresh(1000);
        r.set_window_limited(true);
        let w = r.window();
        r.on_ack(1, w - 1, true, w);
        assert_eq!(r.window(), w);
        r.on_ack(2, 1, true, w);
        assert_eq!(r.window(), w + MTU);
    }

    #[test]
    fn t3_falls_back_to_one_mtu() {
        let mut r = Reno::new(MTU);
        r.on_fast_retransmit(5);
        r.on_t3();
        assert_eq!(r.window(), MTU);
        assert_eq!(r.ssthresh(), 4 * MTU);
        // The T3 ended the recovery: the next advancing ack grows the window at once.
        r.on_ack(1, 300, true, MTU);
        assert_eq!(r.window(), MTU + 300);
    }
}
