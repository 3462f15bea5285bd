//! Receiver statistics for one SSRC (RFC 3550 Appendix A.1, A.3, A.8) and the reception
//! report block they make.
//!
//! ```text
//!   RTP packet ──record(now, seq, ts)──▶ A.1 validity: probation until 2 in sequence,
//!                                        cycles on wrap, restart after a big jump seen twice
//!                                        A.8 jitter: J += (|D(i-1,i)| - J) / 16
//!   SR ──sender_report(now, ntp)──────▶ LSR = middle 32 bits of its NTP time, kept with `now`
//!   report_block(now) ────────────────▶ A.3 cumulative and fraction lost (since the last
//!                                        block), extended highest seq, jitter, LSR, DLSR
//!                                        (the sender turns LSR/DLSR into an RTT with
//!                                        crate::send::round_trip_time)
//! ```

use peerless_base::Instant;

use super::ReportBlock;

/// RFC 3550 A.1: a jump of fewer packets than this is a loss, not a restart.
const MAX_DROPOUT: u32 = 3000;
/// RFC 3550 A.1: a packet this much behind is reordered (or a duplicate), not a restart.
const MAX_MISORDER: u32 = 100;
/// RFC 3550 A.1: packets in sequence before a new source counts.
const MIN_SEQUENTIAL: u32 = 2;
const SEQ_MOD: u32 = 1 << 16;

/// What [`ReceiverStats::record`] made of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Validity {
    /// The source is valid and the packet counts.
    Counted,
    /// The source is on probation (RFC 3550 A.1): not yet two packets in sequence.
    Probation,
    /// A jump too large to be loss; the next packet in sequence after it restarts the count.
    BadSequence,
}

/// Counters for one received SSRC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Counters {
    /// Packets counted (RFC 3550 `received`, duplicates included).
    pub received: u32,
    /// Packets before the source was valid.
    pub dropped_probation: u64,
    /// Packets after a jump too large, not (yet) confirmed as a restart.
    pub dropped_bad_sequence: u64,
    /// Times the sequence restarted (a large jump confirmed by the next packet).
    pub restarts: u64,
}

/// RFC 3550 A.1/A.3/A.8 state for one SSRC.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceiverStats {
    ssrc: u32,
    clock_rate: u32,
    started: bool,
    max_seq: u16,
    cycles: u32,
    base_seq: u32,
    bad_seq: u32,
    probation: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    transit: Option<u32>,
    /// Jitter in timestamp units, times 16 (A.8's integer form); 64 bits because a hostile
    /// sender's timestamps can make each difference 2^31 and the sum 16 times that.
    jitter_q4: u64,
    last_sr: Option<(u32, Instant)>,
    counters: Counters,
}

impl ReceiverStats {
    /// Statistics for `ssrc`, whose RTP clock runs at `clock_rate` Hz.
    #[must_use]
    pub const fn new(ssrc: u32, clock_rate: u32) -> Self {
        ReceiverStats {
            ssrc,
            clock_rate,
            started: false,
            max_seq: 0,
            cycles: 0,
            base_seq: 0,
            bad_seq: SEQ_MOD + 1,
            probation: MIN_SEQUENTIAL,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            last_sr: None,
            counters: Counters {
                received: 0,
                dropped_probation: 0,
                dropped_bad_sequence: 0,
                restarts: 0,
            },
        }
    }

    /// The SSRC reported on.
    #[must_use]
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The counters.
    #[must_use]
    pub fn counters(&self) -> Counters {
        Counters {
            received: self.received,
            ..self.counters
        }
    }

    /// Counts one packet that arrived at `now` (RFC 3550 A.1 `update_seq`, A.8 jitter).
    pub fn record(&mut self, now: Instant, sequence: u16, timestamp: u32) -> Validity {
        self.update_jitter(now, timestamp);
        let validity = self.update_seq(sequence);
        match validity {
            Validity::Counted => {}
            Validity::Probation => self.counters.dropped_probation += 1,
            Validity::BadSequence => self.counters.dropped_bad_sequence += 1,
        }
        validity
    }

    fn init_seq(&mut self, seq: u16) {
        self.base_seq = u32::from(seq);
        self.max_seq = seq;
        self.bad_seq = SEQ_MOD + 1;
        self.cycles = 0;
        self.received = 0;
        self.received_prior = 0;
        self.expected_prior = 0;
    }

    fn update_seq(&mut self, seq: u16) -> Validity {
        if !self.started {
            self.started = true;
            self.init_seq(seq);
            self.max_seq = seq.wrapping_sub(1);
            self.probation = MIN_SEQUENTIAL;
        }
        let udelta = u32::from(seq.wrapping_sub(self.max_seq));
        if self.probation > 0 {
            if seq == self.max_seq.wrapping_add(1) {
                self.probation -= 1;
                self.max_seq = seq;
                if self.probation == 0 {
                    self.init_seq(seq);
                    self.received += 1;
                    return Validity::Counted;
                }
            } else {
                self.probation = MIN_SEQUENTIAL - 1;
                self.max_seq = seq;
            }
            return Validity::Probation;
        } else if udelta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if udelta <= SEQ_MOD - MAX_MISORDER {
            if u32::from(seq) == self.bad_seq {
                // Two packets in sequence after the jump: the sender restarted.
                self.init_seq(seq);
                self.counters.restarts += 1;
            } else {
                self.bad_seq = (u32::from(seq) + 1) & (SEQ_MOD - 1);
                return Validity::BadSequence;
            }
        }
        // else: a duplicate or reordered packet, counted as RFC 3550 does.
        self.received = self.received.wrapping_add(1);
        Validity::Counted
    }

    /// RFC 3550 A.8: the transit time's change, smoothed by 1/16, in timestamp units.
    fn update_jitter(&mut self, now: Instant, timestamp: u32) {
        let arrival =
            (u128::from(now.as_micros()) * u128::from(self.clock_rate) / 1_000_000) as u32;
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(previous) = self.transit.replace(transit) {
            let d = u64::from((transit.wrapping_sub(previous) as i32).unsigned_abs());
            self.jitter_q4 = self.jitter_q4 + d - ((self.jitter_q4 + 8) >> 4);
        }
    }

    /// Interarrival jitter in timestamp units.
    #[must_use]
    pub fn jitter(&self) -> u32 {
        u32::try_from(self.jitter_q4 >> 4).unwrap_or(u32::MAX)
    }

    /// The extended highest sequence number received (cycles in the high 16 bits).
    #[must_use]
    pub fn extended_highest(&self) -> u32 {
        self.cycles.wrapping_add(u32::from(self.max_seq))
    }

    /// Packets expected since the source became valid.
    #[must_use]
    pub fn expected(&self) -> u32 {
        self.extended_highest()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1)
    }

    /// Cumulative packets lost, clamped to the report block's 24-bit signed field.
    #[must_use]
    pub fn cumulative_lost(&self) -> i32 {
        let lost = i64::from(self.expected()) - i64::from(self.received);
        lost.clamp(-0x80_0000, 0x7f_ffff) as i32
    }

    /// Remembers a sender report from this SSRC: the middle 32 bits of its NTP time (LSR)
    /// and when it arrived, for the next block's DLSR.
    pub fn sender_report(&mut self, now: Instant, ntp_timestamp: u64) {
        self.last_sr = Some((crate::send::NtpTime(ntp_timestamp).middle_32(), now));
    }

    /// The reception report block for now. Fraction lost covers the packets since the
    /// previous call (RFC 3550 A.3), so call it once per report sent.
    ///
    /// `None` while the source is not valid yet (nothing to report).
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        if !self.started || self.probation > 0 {
            return None;
        }
        let expected = self.expected();
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        self.expected_prior = expected;
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.received_prior = self.received;
        let lost_interval = i64::from(expected_interval) - i64::from(received_interval);
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / i64::from(expected_interval)).min(255) as u8
        };
        let (last_sr, delay_since_last_sr) = match self.last_sr {
            None => (0, 0),
            Some((lsr, at)) => (
                lsr,
                crate::send::duration_to_16_16(now.saturating_duration_since(at)),
            ),
        };
        Some(ReportBlock {
            ssrc: self.ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            highest_sequence: self.extended_highest(),
            jitter: self.jitter(),
            last_sr,
            delay_since_last_sr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3550_probation_then_counting() {
        let mut s = ReceiverStats::new(1, 8000);
        let t = Instant::from_millis(0);
        assert_eq!(s.record(t, 100, 0), Validity::Probation);
        assert!(s.report_block(t).is_none());
        assert_eq!(s.record(t, 101, 160), Validity::Counted);
        assert_eq!(s.record(t, 103, 480), Validity::Counted);
        let block = s.report_block(t).unwrap();
        // Valid from 101: expected 101..=103 (3), received 2.
        assert_eq!(block.cumulative_lost, 1);
        assert_eq!(block.fraction_lost, 85); // 256 / 3
        assert_eq!(block.highest_sequence, 103);
    }
}
