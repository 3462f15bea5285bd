//! Graceful shutdown (RFC 9260 §9.2) and abort.
//!
//! ```text
//!   close(): ShutdownPending --(all acked)--> AwaitShutdownAck --SHUTDOWN--> (T2)
//!          <--SHUTDOWN-ACK--   --SHUTDOWN-COMPLETE-->   Closed
//!   peer SHUTDOWN: ShutdownReceived --(all acked)--> AwaitShutdownComplete
//!          --SHUTDOWN-ACK--> (T2)   <--SHUTDOWN-COMPLETE--   Closed
//!   abort(): --ABORT--> Closed
//! ```

use peerless_base::Instant;

use super::event::CloseReason;
use super::{Association, State, Timer};
use crate::Area;
use crate::wire::Chunk;

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    /// Graceful close: sends what is queued, then SHUTDOWN (RFC 9260 §9.2). Before the
    /// association is up it simply ends. [`Event::Closed`](crate::Event::Closed) follows.
    pub fn close(&mut self, now: Instant) {
        self.tick(now);
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                self.check_shutdown_progress();
            }
            State::Listen | State::AwaitInitAck | State::AwaitCookieAck => {
                self.end(CloseReason::Shutdown);
            }
            _ => {}
        }
    }

    /// Ends the association at once with ABORT.
    pub fn abort(&mut self, now: Instant) {
        self.tick(now);
        if self.state == State::Closed {
            return;
        }
        if self.state != State::Listen {
            self.pending.abort = true;
        }
        self.end(CloseReason::LocalAbort);
    }

    pub(super) fn all_acked(&self) -> bool {
        self.send.is_empty()
    }

    pub(super) fn check_shutdown_progress(&mut self) {
        match self.state {
            State::ShutdownPending if self.all_acked() => {
                self.state = State::AwaitShutdownAck;
                self.pending.shutdown = true;
                self.timers.set(Timer::T2, self.now + self.rto.timeout());
            }
            State::ShutdownReceived if self.all_acked() => {
                self.state = State::AwaitShutdownComplete;
                self.pending.shutdown_ack = true;
                self.timers.set(Timer::T2, self.now + self.rto.timeout());
            }
            _ => {}
        }
    }

    pub(super) fn on_shutdown(&mut self, chunk: &Chunk<'_>) {
        let mut r = peerless_base::Reader::new(chunk.value);
        let Ok(cum) = r.u32() else {
            self.stats.dropped_malformed += 1;
            return;
        };
        match self.state {
            State::Established | State::ShutdownPending | State::ShutdownReceived => {
                self.ack_up_to(cum);
                self.state = State::ShutdownReceived;
                self.check_shutdown_progress();
            }
            State::AwaitShutdownAck => {
                // Both sides shut down at once.
                self.state = State::AwaitShutdownComplete;
                self.pending.shutdown_ack = true;
                self.timers.set(Timer::T2, self.now + self.rto.timeout());
            }
            _ => self.stats.dropped_state += 1,
        }
    }

    pub(super) fn on_shutdown_ack(&mut self) {
        if matches!(
            self.state,
            State::AwaitShutdownAck | State::AwaitShutdownComplete
        ) {
            self.pending.shutdown_complete = true;
            self.end(CloseReason::Shutdown);
        } else {
            self.stats.dropped_state += 1;
        }
    }

    pub(super) fn on_t2(&mut self) {
        match self.state {
            State::AwaitShutdownAck => self.pending.shutdown = true,
            State::AwaitShutdownComplete => self.pending.shutdown_ack = true,
            _ => return,
        }
        self.error_count += 1;
        if self.error_count > self.config.max_retransmits {
            self.pending.abort = true;
            self.end(CloseReason::RetransmitTimeout);
            return;
        }
        self.rto.back_off();
        self.timers.set(Timer::T2, self.now + self.rto.timeout());
    }
}
