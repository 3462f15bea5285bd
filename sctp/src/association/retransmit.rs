//! The T3-rtx timer and partial reliability (RFC 3758): marking chunks for retransmission,
//! abandoning expired messages and moving the advanced peer ack point.
//!
//! ```text
//!   T3 expires --> error count (abort past max_retransmits), Reno::on_t3, RTO backed off,
//!                  every InFlight chunk --> Retransmit, timer re-armed
//!   Retransmit chunk past its policy (retransmits, lifetime) --> whole message Abandoned
//!                  --> advanced peer ack point --> FORWARD-TSN (emit.rs)
//! ```

use super::event::CloseReason;
use super::{Association, Timer};
use crate::Area;
use crate::recv::tsn_lt;
use crate::send::ChunkState;
use crate::wire::data_flags;

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    pub(super) fn on_t3(&mut self) {
        if !self.is_established_like() {
            return;
        }
        self.stats.t3_expirations += 1;
        self.error_count += 1;
        if self.error_count > self.config.max_retransmits {
            self.pending.abort = true;
            self.end(CloseReason::RetransmitTimeout);
            return;
        }
        self.congestion.on_t3();
        self.rto.back_off();
        self.rtt_probe = None;
        let mut at = self.send.head();
        while at < self.send.next_unsent {
            let Some((mut meta, next)) = self.send.entry(at) else {
                break;
            };
            if meta.state == ChunkState::InFlight {
                meta.state = ChunkState::Retransmit;
                self.flight = self.flight.saturating_sub(usize::from(meta.len));
                self.retransmit_count += 1;
                self.send.update(at, &meta);
            }
            at = next;
        }
        self.fast_retransmit_budget = false;
        self.abandon_expired_in_flight();
        self.advance_ack_point();
        if tsn_lt(self.last_cum_ack, self.advanced_peer_ack_point) {
            self.pending.forward_tsn = true;
        }
        self.timers.set(Timer::T3, self.now + self.rto.timeout());
    }

    /// Applies partial-reliability policies to chunks awaiting retransmission.
    pub(super) fn abandon_expired_in_flight(&mut self) {
        if !self.peer_caps.forward_tsn || self.retransmit_count == 0 {
            return;
        }
        let now = self.now.as_micros();
        let mut at = self.send.head();
        while at < self.send.next_unsent {
            let Some((meta, next)) = self.send.entry(at) else {
                break;
            };
            if meta.state == ChunkState::Retransmit
                && (meta.retransmits >= meta.max_retransmits || now >= meta.expires_at)
            {
                self.abandon_message(at);
            }
            at = next;
        }
    }

    /// Abandons the whole message the chunk at `target` belongs to (RFC 3758 §3.5 A3).
    pub(super) fn abandon_message(&mut self, target: usize) {
        // Find the message's first fragment: walk from the head remembering the last B.
        let mut at = self.send.head();
        let mut start = at;
        while at <= target {
            let Some((meta, next)) = self.send.entry(at) else {
                return;
            };
            if meta.flags & data_flags::BEGIN != 0 {
                start = at;
            }
            if at == target {
                break;
            }
            at = next;
        }
        let mut at = start;
        let mut first = true;
        while let Some((mut meta, next)) = self.send.entry(at) {
            if !first && meta.flags & data_flags::BEGIN != 0 {
                break;
            }
            first = false;
            match meta.state {
                ChunkState::InFlight => {
                    self.flight = self.flight.saturating_sub(usize::from(meta.len));
                }
                ChunkState::Retransmit => {
                    self.retransmit_count = self.retransmit_count.saturating_sub(1);
                }
                ChunkState::Unsent => {
                    self.unbuffer(meta.stream, usize::from(meta.len));
                    self.send.mark_sent_cursor(at, next);
                }
                ChunkState::GapAcked => self.gap_acked = self.gap_acked.saturating_sub(1),
                ChunkState::Abandoned => {}
            }
            meta.state = ChunkState::Abandoned;
            self.send.update(at, &meta);
            at = next;
            if meta.flags & data_flags::END != 0 {
                break;
            }
        }
        self.stats.abandoned_messages += 1;
    }

    /// RFC 3758 §3.5 C1-C3: move the advanced peer ack point over abandoned chunks and ask for
    /// a FORWARD-TSN when it passes the cumulative ack.
    pub(super) fn advance_ack_point(&mut self) {
        if !self.peer_caps.forward_tsn {
            return;
        }
        let mut at = self.send.head();
        while let Some((meta, next)) = self.send.entry(at) {
            if meta.state != ChunkState::Abandoned {
                break;
            }
            if tsn_lt(self.advanced_peer_ack_point, meta.tsn) {
                self.advanced_peer_ack_point = meta.tsn;
            }
            if at == self.send.next_unsent {
                self.send.mark_sent_cursor(at, next);
            }
            at = next;
        }
        if tsn_lt(self.last_cum_ack, self.advanced_peer_ack_point) {
            self.pending.forward_tsn = true;
        }
    }
}
