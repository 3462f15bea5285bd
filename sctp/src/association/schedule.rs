//! The sending order among channels: weighted fair queueing by the DCEP priority (RFC 8831
//! §6.4, RFC 8832 §5.1), as libwebrtc's SCTP does, instead of first-come first-served.
//!
//! ```text
//!   unsent entries (TSN order):  A1 A2 A3 B1 B2 C1 ...     A: priority 256, B: 1024
//!   at a message boundary, with two or more channels waiting: the first unsent message of
//!   each channel is a candidate; the one whose channel's virtual time is lowest goes first
//!   (moved in front of the unsent entries, its chunks take the next TSNs)
//!   each chunk sent: the channel's virtual time += bytes x 65536 / priority
//!   --> B sends about 4x A's bytes while both wait; equal priorities alternate; none starves
//! ```
//!
//! A message is never split by another (no I-DATA: its fragments keep consecutive TSNs), a
//! channel's messages keep their order (SSNs), and nothing already sent moves.

use super::Association;
use crate::Area;
use crate::send::ChunkState;
use crate::wire::data_flags;

/// Virtual time per byte at priority 1.
const SCALE: u64 = 65_536;

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    /// Before the next new chunk: if it starts a message and two or more channels have
    /// unsent data, the channel furthest behind its share sends first.
    pub(super) fn schedule_next_message(&mut self) {
        // The common case, one channel sending, costs one comparison per chunk.
        if self.send.unsent_on_one_stream() {
            return;
        }
        let start = self.send.next_unsent;
        let Some((first, _)) = self.send.entry(start) else {
            return;
        };
        if first.state != ChunkState::Unsent || first.flags & data_flags::BEGIN == 0 {
            return;
        }
        let waiting = self
            .channels
            .iter()
            .filter(|c| c.is_live() && c.buffered > 0)
            .count();
        if waiting < 2 {
            return;
        }
        let mut seen = [false; CHANNELS];
        // (virtual time, channel slot, offset of its first unsent message)
        let mut best: Option<(u64, usize, usize)> = None;
        let mut at = start;
        // The run of unsent entries only: an abandoned one (partial reliability) ends it, so
        // nothing the advanced ack point may cover is renumbered.
        while let Some((meta, next)) = self.send.entry(at) {
            if meta.state != ChunkState::Unsent {
                break;
            }
            if meta.flags & data_flags::BEGIN != 0 {
                match self.channel_index(meta.stream) {
                    Some(slot) => {
                        if let Some(s) = seen.get_mut(slot)
                            && !*s
                        {
                            *s = true;
                            let v = self
                                .channels
                                .get(slot)
                                .map_or(0, |c| c.vtime)
                                .max(self.sched_vtime);
                            if best.is_none_or(|(b, _, _)| v < b) {
                                best = Some((v, slot, at));
                            }
                        }
                    }
                    // A message of no channel (closed since it was queued) at the front goes
                    // as queued.
                    None if at == start => return,
                    None => {}
                }
            }
            at = next;
        }
        if let Some((_, _, from)) = best
            && from != start
        {
            self.send.bring_forward(from);
        }
    }

    /// A new chunk of `len` bytes went out on `stream`: its channel's share is used by that
    /// much, and the virtual clock is where its message started (so a channel idle for a
    /// while gets no credit for the idle time).
    pub(super) fn charge(&mut self, stream: u16, len: usize) {
        let Some(slot) = self.channel_index(stream) else {
            return;
        };
        let clock = self.sched_vtime;
        let Some(c) = self.channels.get_mut(slot) else {
            return;
        };
        let start = c.vtime.max(clock);
        let weight = u64::from(c.options.priority.max(1));
        c.vtime = start.saturating_add(len as u64 * SCALE / weight);
        self.sched_vtime = start;
    }
}
