//! SACK processing (RFC 9260 §6.2.1, §7.2): the cumulative ack, gap blocks, reneging and
//! fast retransmit, feeding the congestion controller and the RTO estimator.
//!
//! ```text
//!   SACK --> cumulative TSN: chunks freed, RTT sample (Karn), Reno::on_ack
//!        --> gap blocks: GapAcked; a GapAcked chunk outside every block is reneged
//!        --> 3 miss indications: Retransmit, Reno::on_fast_retransmit
//!        --> peer rwnd, T3 restarted or stopped, shutdown progress
//! ```

use super::event::CloseReason;
use super::{Association, MAX_GAPS, Timer};
use crate::Area;
use crate::recv::{tsn_le, tsn_lt};
use crate::send::ChunkState;
use crate::wire::{Chunk, Sack};

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    /// Frees everything up to `cum` (SACK or SHUTDOWN). Returns bytes newly acknowledged and
    /// whether the cumulative point advanced.
    pub(super) fn ack_up_to(&mut self, cum: u32) -> (usize, bool) {
        let mut acked = 0;
        let mut advanced = false;
        if !tsn_lt(cum, self.send.next_tsn) {
            // Acknowledges something never sent: ignore (RFC 9260 §6.2.1 allows abort).
            return (0, false);
        }
        while self.send.head_tsn != self.send.next_tsn && tsn_le(self.send.head_tsn, cum) {
            let Some(meta) = self.send.pop_front() else {
                break;
            };
            advanced = true;
            match meta.state {
                ChunkState::InFlight => {
                    self.flight = self.flight.saturating_sub(usize::from(meta.len));
                    acked += usize::from(meta.len);
                }
                ChunkState::Retransmit => {
                    self.retransmit_count = self.retransmit_count.saturating_sub(1);
                    acked += usize::from(meta.len);
                }
                ChunkState::Unsent => {
                    // Covered by an acknowledgement without being sent (cannot happen with a
                    // well-behaved peer); release its buffered amount.
                    self.unbuffer(meta.stream, usize::from(meta.len));
                }
                ChunkState::GapAcked => self.gap_acked = self.gap_acked.saturating_sub(1),
                ChunkState::Abandoned => {}
            }
            if let Some((tsn, sent)) = self.rtt_probe
                && tsn == meta.tsn
            {
                self.rtt_probe = None;
                if meta.retransmits == 0 {
                    self.rto.rtt_sample(self.now - sent);
                }
            }
        }
        if tsn_lt(self.last_cum_ack, cum) {
            self.last_cum_ack = cum;
        }
        if tsn_lt(self.advanced_peer_ack_point, cum) {
            self.advanced_peer_ack_point = cum;
        }
        (acked, advanced)
    }

    pub(super) fn on_sack(&mut self, chunk: &Chunk<'_>) {
        if !self.is_established_like() {
            self.stats.dropped_state += 1;
            return;
        }
        let Ok(sack) = Sack::parse(chunk) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        let cum = sack.cumulative_tsn;
        if tsn_lt(cum, self.last_cum_ack) {
            // An old SACK, overtaken by a newer one.
            return;
        }
        // RFC 9260 §6.2.1: a cumulative ack beyond anything sent (or skipped by FORWARD-TSN)
        // means the peer's view of our TSNs is not ours: retransmitting would never end (its
        // SACKs would keep resetting the error count), so abort, as dcsctp does.
        let sent = if tsn_lt(self.highest_sent, self.advanced_peer_ack_point) {
            self.advanced_peer_ack_point
        } else {
            self.highest_sent
        };
        if tsn_lt(sent, cum) {
            self.pending.abort = true;
            self.end(CloseReason::ProtocolViolation);
            return;
        }
        self.error_count = 0;
        let flight_before = self.flight;
        let (mut acked, advanced) = self.ack_up_to(cum);

        // Walk what remains against the gap blocks.
        let mut gaps = [(0u16, 0u16); MAX_GAPS];
        let mut ngaps = 0;
        for (g, slot) in sack.gap_blocks().filter(|g| g.0 <= g.1).zip(&mut gaps) {
            *slot = g;
            ngaps += 1;
        }
        let gaps = gaps.get(..ngaps).unwrap_or_default();
        let mut highest_newly_acked: Option<u32> = None;
        let mut reneged = false;
        if ngaps > 0 || self.gap_acked > 0 {
            let mut at = self.send.head();
            let max_gap_end = gaps.iter().map(|g| g.1).max().unwrap_or(0);
            // Gap-acked chunks visited: past the last gap block the walk goes on only while
            // some are left to re-check (a SACK that no longer covers them: reneged).
            let mut gap_acked_seen = 0;
            while at < self.send.next_unsent {
                let Some((mut meta, next)) = self.send.entry(at) else {
                    break;
                };
                let off = meta.tsn.wrapping_sub(cum);
                if off > u32::from(max_gap_end) && gap_acked_seen >= self.gap_acked {
                    break;
                }
                let in_gap = gaps
                    .iter()
                    .any(|&(s, e)| u32::from(s) <= off && off <= u32::from(e));
                let before = meta.state;
                if in_gap {
                    match meta.state {
                        ChunkState::InFlight => {
                            self.flight = self.flight.saturating_sub(usize::from(meta.len));
                            acked += usize::from(meta.len);
                            meta.state = ChunkState::GapAcked;
                            self.gap_acked += 1;
                            highest_newly_acked = Some(meta.tsn);
                        }
                        ChunkState::Retransmit => {
                            self.retransmit_count = self.retransmit_count.saturating_sub(1);
                            acked += usize::from(meta.len);
                            meta.state = ChunkState::GapAcked;
                            self.gap_acked += 1;
                            highest_newly_acked = Some(meta.tsn);
                        }
                        _ => {}
                    }
                    if meta.state == ChunkState::GapAcked {
                        gap_acked_seen += 1;
                    }
                    if let Some((tsn, sent)) = self.rtt_probe
                        && tsn == meta.tsn
                    {
                        self.rtt_probe = None;
                        if meta.retransmits == 0 {
                            self.rto.rtt_sample(self.now - sent);
                        }
                    }
                } else if meta.state == ChunkState::GapAcked {
                    // Reneged by the receiver (RFC 9260 §6.2.1): the chunk is outstanding
                    // again, as if just sent; T3-rtx (kept running below) retransmits it.
                    meta.state = ChunkState::InFlight;
                    meta.misses = 0;
                    self.gap_acked = self.gap_acked.saturating_sub(1);
                    self.flight += usize::from(meta.len);
                    reneged = true;
                }
                if meta.state != before {
                    self.send.update(at, &meta);
                }
                at = next;
            }
        }

        // Miss indications (RFC 9260 §7.2.4) for chunks below the highest newly acked TSN.
        let mut entered_fast_retransmit = false;
        if let Some(highest) = highest_newly_acked {
            let mut at = self.send.head();
            while at < self.send.next_unsent {
                let Some((mut meta, next)) = self.send.entry(at) else {
                    break;
                };
                if !tsn_lt(meta.tsn, highest) {
                    break;
                }
                if meta.state == ChunkState::InFlight {
                    meta.misses = meta.misses.saturating_add(1);
                    if meta.misses >= 3 && !meta.fast_retransmitted {
                        meta.fast_retransmitted = true;
                        meta.state = ChunkState::Retransmit;
                        self.flight = self.flight.saturating_sub(usize::from(meta.len));
                        self.retransmit_count += 1;
                        self.fast_retransmit_budget = true;
                        self.stats.fast_retransmits += 1;
                        entered_fast_retransmit = true;
                    }
                    self.send.update(at, &meta);
                }
                at = next;
            }
        }
        if entered_fast_retransmit {
            self.congestion.on_fast_retransmit(self.highest_sent);
        }
        // Window growth (RFC 9260 §7.2.1, §7.2.2) and the end of fast recovery.
        self.congestion.on_ack(cum, acked, advanced, flight_before);
        self.peer_rwnd = (sack.a_rwnd as usize).saturating_sub(self.flight);

        // New data acknowledged: the path works again, so undo the T3 back-off (as TCP stacks
        // do on an ACK of new data) instead of waiting for a clean RTT sample, which a lossy
        // path may not give for many rounds.
        if advanced {
            self.rto.undo_back_off();
        }

        // T3-rtx: restart when the earliest outstanding TSN was acked, stop when nothing is
        // outstanding.
        if self.send.head() == self.send.next_unsent && self.retransmit_count == 0 {
            self.timers.clear(Timer::T3);
        } else if advanced {
            self.timers.set(Timer::T3, self.now + self.rto.timeout());
        } else if reneged {
            self.timers
                .set_earliest(Timer::T3, self.now + self.rto.timeout());
        }

        self.abandon_expired_in_flight();
        self.advance_ack_point();
        self.check_shutdown_progress();
    }
}
