//! Transport-wide congestion control feedback, receiver side
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
//!
//! ```text
//!   record(now, transport_seq) ──▶ arrival kept in a ring of N (extended seq % N)
//!   poll_timeout ──▶ 50 ms after the last feedback while packets wait, or now at 100 packets
//!   poll_feedback(now, statuses) ──▶ TwccReport { base, reference time (64 ms units),
//!                                    feedback count } + one status per seq from base:
//!                                    not received, or the arrival delta in 250 µs ticks
//!                                    from the previous received packet (the first from the
//!                                    reference time)
//! ```
//!
//! Deltas are taken from the previous packet's arrival as the sender will rebuild it (the
//! quantized time, not the exact one), so rounding never accumulates. A delta beyond an `i16`
//! (±8 s) ends the feedback early; the rest goes in the next one, with its own reference time.

use core::time::Duration;

use peerless_base::Instant;

use super::TccStatus;
use super::seq::SequenceUnwrapper;
use crate::rtcp::{CompoundBuilder, FeedbackSsrcs, TransportCcRepr};

const TICK_MICROS: i128 = 250;
const REFERENCE_MICROS: u64 = 64_000;

/// When feedback is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TwccConfig {
    /// At most this long between feedbacks while packets wait (the draft's 50 ms, libwebrtc's
    /// default periodic interval).
    pub interval: Duration,
    /// Feedback as soon as this many packets wait.
    pub max_packets: u32,
}

impl Default for TwccConfig {
    fn default() -> Self {
        TwccConfig {
            interval: Duration::from_millis(50),
            max_packets: 100,
        }
    }
}

/// One feedback's header fields; the statuses are in the slice given to `poll_feedback`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TwccReport {
    /// Transport-wide sequence number of the first status.
    pub base_sequence: u16,
    /// Reference time in multiples of 64 ms, as the 24-bit signed field.
    pub reference_time: i32,
    /// Feedback packet count (wraps).
    pub feedback_count: u8,
    /// Statuses written.
    pub status_count: usize,
}

impl TwccReport {
    /// The feedback as the RTCP builder takes it: `statuses` is the slice `poll_feedback`
    /// filled (only the first `status_count` are used).
    #[must_use]
    pub fn repr<'a>(&self, ssrcs: FeedbackSsrcs, statuses: &'a [TccStatus]) -> TransportCcRepr<'a> {
        TransportCcRepr {
            ssrcs,
            base_sequence: self.base_sequence,
            reference_time: self.reference_time,
            feedback_count: self.feedback_count,
            statuses: statuses.get(..self.status_count).unwrap_or(statuses),
        }
    }

    /// Adds the transport-cc packet to `builder`.
    pub fn write(
        &self,
        ssrcs: FeedbackSsrcs,
        statuses: &[TccStatus],
        builder: &mut CompoundBuilder<'_>,
    ) {
        builder.transport_cc(&self.repr(ssrcs, statuses));
    }
}

/// What the recorder did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct TwccFeedbackStats {
    /// Arrivals recorded.
    pub recorded: u64,
    /// Feedback reports handed out.
    pub feedbacks: u64,
    /// Arrivals of a sequence number already reported.
    pub dropped_late: u64,
    /// The same sequence number twice before its report.
    pub dropped_duplicate: u64,
    /// Arrivals pushed out of the ring before they were reported (a jump of more than `N`).
    pub dropped_unreported: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Arrival {
    used: bool,
    sequence: u64,
    at: Instant,
}

/// Transport-wide feedback for one transport, remembering up to `N` arrivals.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(fuzzing, derive(Clone))]
pub struct TwccFeedback<const N: usize> {
    config: TwccConfig,
    arrivals: [Arrival; N],
    sequences: SequenceUnwrapper,
    /// The first sequence not reported yet.
    base: Option<u64>,
    highest: u64,
    waiting: u32,
    first_waiting_at: Option<Instant>,
    last_feedback: Option<Instant>,
    feedback_count: u8,
    feedback_sent: bool,
    now: Instant,
    stats: TwccFeedbackStats,
}

impl<const N: usize> TwccFeedback<N> {
    /// A recorder that has seen nothing.
    #[must_use]
    pub fn new(config: TwccConfig) -> Self {
        TwccFeedback {
            config,
            arrivals: [Arrival::default(); N],
            sequences: SequenceUnwrapper::new(),
            base: None,
            highest: 0,
            waiting: 0,
            first_waiting_at: None,
            last_feedback: None,
            feedback_count: 0,
            feedback_sent: false,
            now: Instant::ZERO,
            stats: TwccFeedbackStats::default(),
        }
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> TwccFeedbackStats {
        self.stats
    }

    /// Notes the arrival of the packet carrying transport-wide sequence number `sequence`.
    pub fn record(&mut self, now: Instant, sequence: u16) {
        let now = self.now.advance(now);
        let sequence = self.sequences.unwrap(u64::from(sequence));
        let mut base = *self.base.get_or_insert(sequence);
        if sequence < base {
            // Before the first feedback nothing was reported: a packet overtaken by the first
            // to arrive moves the start back, if the ring spans it.
            if self.feedback_sent || self.highest.max(base) - sequence >= N as u64 {
                self.stats.dropped_late += 1;
                return;
            }
            base = sequence;
            self.base = Some(base);
        }
        if sequence - base >= N as u64 {
            // The ring cannot span from base to here: the oldest unreported go.
            let new_base = sequence + 1 - N as u64;
            for s in base..new_base.min(self.highest + 1) {
                if let Some(a) = self.arrival_mut(s) {
                    a.used = false;
                    self.stats.dropped_unreported += 1;
                    self.waiting = self.waiting.saturating_sub(1);
                }
            }
            self.base = Some(new_base);
        }
        let Some(slot) = self.arrivals.get_mut(index::<N>(sequence)) else {
            return;
        };
        if slot.used && slot.sequence == sequence {
            self.stats.dropped_duplicate += 1;
            return;
        }
        *slot = Arrival {
            used: true,
            sequence,
            at: now,
        };
        self.highest = self.highest.max(sequence);
        self.waiting += 1;
        self.first_waiting_at.get_or_insert(now);
        self.stats.recorded += 1;
    }

    /// When the next feedback is due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.waiting == 0 {
            return None;
        }
        if self.waiting >= self.config.max_packets {
            return Some(self.now);
        }
        let since = self.last_feedback.or(self.first_waiting_at)?;
        Some(since.saturating_add(self.config.interval))
    }

    /// Nothing happens at the deadline but that `poll_feedback` answers; kept for the verbs.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now.advance(now);
    }

    /// Writes the feedback due at `now`: statuses from the oldest unreported sequence number
    /// to the newest received, as many as `statuses` holds (the rest stays for the next call,
    /// which is then due at once).
    pub fn poll_feedback(
        &mut self,
        now: Instant,
        statuses: &mut [TccStatus],
    ) -> Option<TwccReport> {
        let now = self.now.advance(now);
        if self.poll_timeout()? > now || statuses.is_empty() {
            return None;
        }
        let base = self.base?;
        let first_arrival = (base..=self.highest).find_map(|s| self.arrival(s))?;
        let reference = first_arrival.as_micros() / REFERENCE_MICROS;
        let mut previous = i128::from(reference * REFERENCE_MICROS);
        let mut count = 0;
        let mut end = base;
        let limit = (statuses.len() as u64).min(u64::from(u16::MAX));
        for sequence in base..=self.highest.min(base + limit - 1) {
            let status = match self.arrival(sequence) {
                None => TccStatus::NotReceived,
                Some(at) => {
                    let diff = i128::from(at.as_micros()) - previous;
                    let ticks = (diff + TICK_MICROS / 2).div_euclid(TICK_MICROS);
                    let Ok(delta) = i16::try_from(ticks) else {
                        break;
                    };
                    previous += ticks * TICK_MICROS;
                    TccStatus::Received(delta)
                }
            };
            let Some(slot) = statuses.get_mut(count) else {
                break;
            };
            *slot = status;
            count += 1;
            end = sequence + 1;
            if let Some(a) = self.arrival_mut(sequence) {
                a.used = false;
                self.waiting = self.waiting.saturating_sub(1);
            }
        }
        if count == 0 {
            return None;
        }
        self.base = Some(end);
        let report = TwccReport {
            base_sequence: base as u16,
            reference_time: (((reference as u32) << 8) as i32) >> 8,
            feedback_count: self.feedback_count,
            status_count: count,
        };
        self.feedback_count = self.feedback_count.wrapping_add(1);
        self.feedback_sent = true;
        self.last_feedback = Some(now);
        self.first_waiting_at = if self.waiting > 0 { Some(now) } else { None };
        self.stats.feedbacks += 1;
        Some(report)
    }

    fn arrival(&self, sequence: u64) -> Option<Instant> {
        self.arrivals
            .get(index::<N>(sequence))
            .filter(|a| a.used && a.sequence == sequence)
            .map(|a| a.at)
    }

    fn arrival_mut(&mut self, sequence: u64) -> Option<&mut Arrival> {
        self.arrivals
            .get_mut(index::<N>(sequence))
            .filter(|a| a.used && a.sequence == sequence)
    }
}

fn index<const N: usize>(sequence: u64) -> usize {
    (sequence % (N.max(1) as u64)) as usize
}
