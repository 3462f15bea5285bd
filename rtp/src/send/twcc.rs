//! The send record of transport-wide sequence numbers
//! (draft-holmer-rmcat-transport-wide-cc-extensions-01): when each packet left and how large
//! it was, so transport-wide feedback can be turned into (sent, arrived, size) triples for a
//! bandwidth estimator.
//!
//! ```text
//!   on_sent(transport seq, now, size) ──▶ slots[seq % n] = (seq, sent at, size)
//!   transport-cc feedback ──▶ feedback(&fb) ──▶ per packet: sent at, size, arrival (or lost)
//! ```
//!
//! Arrival times in feedback are on the receiver's clock: only their differences mean
//! anything, which is all a delay-based estimator uses. They are given in microseconds from
//! the feedback's reference time (multiples of 64 ms) plus the deltas (250 µs units).

use peerless_base::Instant;

use crate::rtcp::{TccStatus, TransportCc};

/// One entry of the lent table. Lend `[TwccSlot::EMPTY; N]`, N at least the packets sent in
/// the longest feedback delay you tolerate (a second of 720p30 video is about 300).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TwccSlot {
    sent_at: Instant,
    size: u16,
    sequence: u16,
    used: bool,
}

impl TwccSlot {
    /// A slot holding nothing.
    pub const EMPTY: TwccSlot = TwccSlot {
        sent_at: Instant::ZERO,
        size: 0,
        sequence: 0,
        used: false,
    };
}

/// What the record knows of one sent packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SentPacket {
    /// Its transport-wide sequence number.
    pub sequence: u16,
    /// When it left.
    pub sent_at: Instant,
    /// Its size in bytes, as the caller counted it (RTP with SRTP overhead, usually).
    pub size: u16,
}

/// One packet of transport-wide feedback, matched with its send record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PacketFeedback {
    /// The send record, `None` when the packet is no longer (or never was) in the record.
    pub sent: Option<SentPacket>,
    /// The transport-wide sequence number the feedback describes.
    pub sequence: u16,
    /// The arrival time on the receiver's clock in microseconds, `None` if not received.
    pub arrival_micros: Option<i64>,
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct TwccSendStats {
    /// Packets recorded.
    pub recorded: u64,
    /// Feedback entries about packets no longer in the record (overwritten or never sent).
    pub dropped_feedback_unknown: u64,
}

/// The send record, over a lent table indexed by transport-wide sequence number.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TwccSendRecord<'a> {
    slots: &'a mut [TwccSlot],
    next_sequence: u16,
    stats: TwccSendStats,
}

impl<'a> TwccSendRecord<'a> {
    /// A record in `slots`; the first sequence number handed out is `first_sequence`.
    pub fn new(slots: &'a mut [TwccSlot], first_sequence: u16) -> Self {
        slots.fill(TwccSlot::EMPTY);
        TwccSendRecord {
            slots,
            next_sequence: first_sequence,
            stats: TwccSendStats::default(),
        }
    }

    /// A record over `slots` as an earlier record left them (nothing cleared), handing out
    /// `next_sequence` next: for an owner that keeps the table and the next sequence number
    /// itself, with no lifetime, and makes the record only for the call (counters start at 0).
    pub fn resume(slots: &'a mut [TwccSlot], next_sequence: u16) -> Self {
        TwccSendRecord {
            slots,
            next_sequence,
            stats: TwccSendStats::default(),
        }
    }

    /// The sequence number [`on_sent`](Self::on_sent) hands out next.
    #[must_use]
    pub fn next_sequence(&self) -> u16 {
        self.next_sequence
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &TwccSendStats {
        &self.stats
    }

    /// Takes the next transport-wide sequence number for a packet about to leave (one
    /// sequence space for every stream of the transport) and records it as sent at `now`.
    pub fn on_sent(&mut self, now: Instant, size: usize) -> u16 {
        let sequence = self.next_sequence;
        self.next_sequence = sequence.wrapping_add(1);
        self.record(sequence, now, size);
        sequence
    }

    /// Records a packet whose sequence number the caller chose.
    pub fn record(&mut self, sequence: u16, now: Instant, size: usize) {
        let index = usize::from(sequence) % self.slots.len().max(1);
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = TwccSlot {
                sent_at: now,
                size: u16::try_from(size).unwrap_or(u16::MAX),
                sequence,
                used: true,
            };
            self.stats.recorded += 1;
        }
    }

    /// The send record of `sequence`, if still held.
    #[must_use]
    pub fn sent(&self, sequence: u16) -> Option<SentPacket> {
        let slot = self
            .slots
            .get(usize::from(sequence) % self.slots.len().max(1))?;
        (slot.used && slot.sequence == sequence).then_some(SentPacket {
            sequence,
            sent_at: slot.sent_at,
            size: slot.size,
        })
    }

    /// Every packet `feedback` describes, in order, with its send record and arrival time.
    /// Entries about packets no longer recorded are counted and still returned (with `sent:
    /// None`), so the estimator sees the losses and arrivals it cannot place.
    pub fn feedback<'f>(
        &'f mut self,
        feedback: &TransportCc<'f>,
    ) -> impl Iterator<Item = PacketFeedback> + 'f {
        // Reference time: a 24-bit signed count of 64 ms.
        let mut arrival = i64::from(feedback.reference_time()) * 64_000;
        let packets = feedback.packets();
        packets.map(move |p| {
            let arrival_micros = match p.status {
                TccStatus::NotReceived => None,
                TccStatus::Received(delta) => {
                    arrival += i64::from(delta) * 250;
                    Some(arrival)
                }
            };
            let sent = self.sent(p.sequence);
            if sent.is_none() {
                self.stats.dropped_feedback_unknown += 1;
            }
            PacketFeedback {
                sent,
                sequence: p.sequence,
                arrival_micros,
            }
        })
    }
}
