//! Stream reset (RFC 6525) for closing channels (RFC 8831 §6.7).
//!
//! ```text
//!   close_channel: Outgoing SSN Reset Request (seq, our last TSN) -->  (Reconfig timer)
//!                  <-- Response (success | in progress: retry | denied)
//!   peer request:  <-- Outgoing SSN Reset Request (seq, its last TSN)
//!                  deferred until our cumulative TSN reaches its last TSN, then
//!                  --> Response; a channel closes when both directions are reset
//! ```

use super::channels::ChannelState;
use super::event::CloseReason;
use super::{Association, Timer};
use crate::Area;
use crate::recv::{tsn_le, tsn_lt};
use crate::wire::{Chunk, Params, ReconfigParam, ReconfigResult};

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    pub(super) fn on_reconfig(&mut self, chunk: &Chunk<'_>) {
        if !self.is_established_like() {
            return;
        }
        for p in Params::new(chunk.value) {
            let Ok(p) = p else {
                self.stats.dropped_malformed += 1;
                return;
            };
            let Ok(param) = ReconfigParam::parse(&p) else {
                self.stats.dropped_malformed += 1;
                continue;
            };
            match param {
                ReconfigParam::OutgoingReset {
                    request_seq,
                    last_tsn,
                    streams,
                    ..
                } => {
                    // RFC 6525 §5.2.2: a request is consumed when it arrives; if data up to
                    // its last TSN is still missing the reset is deferred ("in progress") and
                    // performed when the cumulative TSN gets there. A retransmission of the
                    // same request gets the latest result; a retry under the next sequence
                    // number (as dcsctp sends after "in progress") is a fresh request.
                    let result = if request_seq == self.peer_reconfig_seq {
                        self.peer_reconfig_seq = self.peer_reconfig_seq.wrapping_add(1);
                        // A retry while an earlier request waits merges into it. Every listed
                        // stream is flagged on its channel, so any number of them is performed
                        // (a stream with no channel has nothing to reset).
                        let (mut until, mut all) = self.deferred_reset.unwrap_or((last_tsn, false));
                        if tsn_lt(until, last_tsn) {
                            until = last_tsn;
                        }
                        let mut listed = false;
                        for s in ReconfigParam::stream_ids(streams) {
                            listed = true;
                            if let Some(c) = self.channel_mut(s) {
                                c.in_reset_deferred = true;
                            }
                        }
                        // An empty list resets every stream.
                        all |= !listed;
                        self.deferred_reset = Some((until, all));
                        self.last_peer_reconfig_result = ReconfigResult::IN_PROGRESS;
                        self.perform_deferred_reset();
                        self.last_peer_reconfig_result
                    } else if request_seq == self.peer_reconfig_seq.wrapping_sub(1) {
                        self.last_peer_reconfig_result
                    } else {
                        ReconfigResult::ERROR_BAD_SEQUENCE_NUMBER
                    };
                    self.queue_reconfig_response(request_seq, result);
                }
                ReconfigParam::IncomingReset { request_seq, .. }
                | ReconfigParam::Other { request_seq, .. } => {
                    // Only outgoing resets are used by data channels; others are declined.
                    self.queue_reconfig_response(request_seq, ReconfigResult::DENIED);
                }
                ReconfigParam::Response {
                    response_seq,
                    result,
                } => self.on_reconfig_response(response_seq, result),
            }
        }
    }

    /// Performs the peer's deferred outgoing reset once every TSN up to its last one is in.
    pub(super) fn perform_deferred_reset(&mut self) {
        let Some((last_tsn, all)) = self.deferred_reset else {
            return;
        };
        if !tsn_le(last_tsn, self.tracker.cumulative) {
            return;
        }
        self.deferred_reset = None;
        for i in 0..CHANNELS {
            let Some(c) = self.channels.get_mut(i) else {
                break;
            };
            if c.is_live() && (all || c.in_reset_deferred) {
                c.in_reset_deferred = false;
                let stream = c.id;
                self.incoming_reset(stream);
            }
        }
        self.last_peer_reconfig_result = ReconfigResult::SUCCESS_PERFORMED;
    }

    pub(super) fn incoming_reset(&mut self, stream: u16) {
        let Some(c) = self.channel_mut(stream) else {
            return;
        };
        c.next_in_ssn = 0;
        c.in_reset = true;
        if c.state == ChannelState::Open {
            // The peer closed the channel: close our direction too (RFC 8831 §6.7), and say
            // so first (the browser's `closing`, before `close`).
            c.state = ChannelState::Closing;
            c.closing_pending = true;
        }
        if !c.out_reset_requested {
            self.request_reset(stream);
        }
        if let Some(i) = self.channel_index(stream) {
            self.finish_close(i);
        }
    }

    pub(super) fn queue_reconfig_response(&mut self, seq: u32, result: ReconfigResult) {
        let queued = self
            .reconfig_responses
            .get_mut(..self.reconfig_response_count)
            .unwrap_or_default();
        // A retransmitted request is answered once, with the latest result.
        if let Some(entry) = queued.iter_mut().find(|(s, _)| *s == seq) {
            entry.1 = result;
            return;
        }
        if let Some(free) = self
            .reconfig_responses
            .get_mut(self.reconfig_response_count)
        {
            *free = (seq, result);
            self.reconfig_response_count += 1;
        } else {
            // Only a peer breaking RFC 6525's one-request-at-a-time rule gets here; it will
            // retransmit the request and be answered then.
            self.stats.dropped_state += 1;
        }
    }

    pub(super) fn on_reconfig_response(&mut self, seq: u32, result: ReconfigResult) {
        let Some((req_seq, _)) = self.reset_in_flight else {
            return;
        };
        if seq != req_seq {
            return;
        }
        // An answer: the peer is there (RFC 6525 §5.1.1 counts like T3-rtx), and the path
        // works, so the back-off of unanswered sends is undone as a SACK of new data does.
        self.error_count = 0;
        self.rto.undo_back_off();
        if result == ReconfigResult::IN_PROGRESS {
            // Ask again one RTO from now, under a new sequence number: the peer consumed this
            // one, and some stacks (usrsctp) keep answering "in progress" to it even after
            // performing the reset when a FORWARD-TSN, not DATA, completed it. That wait is not
            // a loss: it neither counts as an error nor backs off.
            self.next_reconfig_seq = self.next_reconfig_seq.wrapping_add(1);
            if let Some(request) = self.reset_in_flight.as_mut() {
                request.0 = self.next_reconfig_seq;
            }
            self.reconfig_retry_in_progress = true;
            self.timers
                .set(Timer::Reconfig, self.now + self.rto.timeout());
            return;
        }
        self.reconfig_retry_in_progress = false;
        self.reset_in_flight = None;
        self.timers.clear(Timer::Reconfig);
        self.next_reconfig_seq = self.next_reconfig_seq.wrapping_add(1);
        for i in 0..CHANNELS {
            if let Some(c) = self.channels.get_mut(i)
                && c.is_live()
                && c.reset_in_flight
            {
                // Success or a refusal: either way the stream carries nothing more from us.
                c.reset_in_flight = false;
                c.out_reset = true;
                c.next_out_ssn = 0;
                self.finish_close(i);
            }
        }
        let done = self.refused_in_flight.min(self.refused_len);
        self.refused.copy_within(done..self.refused_len, 0);
        self.refused_len -= done;
        self.refused_in_flight = 0;
        if self.refused_len > 0 || self.channels.iter().any(|c| c.reset_pending) {
            self.pending.reconfig_request = true;
        }
    }

    /// RFC 6525 §5.1.1: the request is retransmitted under the T3-rtx rules: the RTO backs
    /// off, and each expiry counts toward `max_retransmits`, after which the peer is gone.
    pub(super) fn on_reconfig_timer(&mut self) {
        if self.reset_in_flight.is_none() || !self.is_established_like() {
            return;
        }
        self.stats.reconfig_retransmits += 1;
        if core::mem::take(&mut self.reconfig_retry_in_progress) {
            self.pending.reconfig_request = true;
            return;
        }
        self.error_count += 1;
        if self.error_count > self.config.max_retransmits {
            self.pending.abort = true;
            self.end(CloseReason::RetransmitTimeout);
            return;
        }
        self.rto.back_off();
        self.pending.reconfig_request = true;
    }
}
