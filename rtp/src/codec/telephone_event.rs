//! telephone-event over RTP (RFC 4733): DTMF digits and other named events, sent as a tone's
//! running state rather than as audio.
//!
//! ```text
//!    0                   1                   2                   3
//!    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!   |     event     |E|R| volume    |          duration             |
//!
//!   sender, one event (every packet has the event's start timestamp):
//!     start ─▶ [M, d=320] [d=320] [d=320] [d=640] … [d=2240] ─end─▶ [E, d=2560] ×3 ─▶ idle
//!              marker on the first; each update carries the duration so far; the end packet
//!              is sent three times so that one loss does not lose the end (§2.5.1.4)
//!   receiver: packets of one timestamp are one event; it is reported once, when its first
//!     end packet arrives (the repeats are ignored), or unfinished when another event starts
//!     or the caller flushes it
//! ```
//!
//! Several events packed into one payload (§2.5.1.5) are accepted; the first is the one
//! reported. Durations past 65535 ticks (8 s at 8 kHz) saturate: long events are not segmented.

use core::fmt;

use super::{CodecError, Payload};

/// Octets of one event block.
pub const EVENT_LEN: usize = 4;

/// How many times the end packet is sent (RFC 4733 §2.5.1.4 recommends three).
pub const END_REPEATS: u8 = 3;

/// The DTMF event codes (RFC 4733 §3.2): 0-9, then `*` 10, `#` 11, A-D 12-15.
const DTMF: &[u8; 16] = b"0123456789*#ABCD";

/// The event code of a DTMF key (`0`-`9`, `*`, `#`, `A`-`D`, lower case too).
#[must_use]
pub fn dtmf_code(key: char) -> Option<u8> {
    let upper = key.to_ascii_uppercase();
    DTMF.iter()
        .position(|&k| char::from(k) == upper)
        .and_then(|i| u8::try_from(i).ok())
}

/// The DTMF key of an event code, if it is one (0-15).
#[must_use]
pub fn dtmf_key(code: u8) -> Option<char> {
    DTMF.get(usize::from(code)).map(|&k| char::from(k))
}

/// One event block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TelephoneEvent {
    /// The event code (DTMF: 0-15; see [`dtmf_key`]).
    pub code: u8,
    /// E: the event has ended; `duration` is final.
    pub end: bool,
    /// The tone's power, 0 to -63 dBm0, as 0-63 (only the low six bits are sent).
    pub volume: u8,
    /// The event's duration so far, in RTP clock ticks from the packet's timestamp.
    pub duration: u16,
}

impl TelephoneEvent {
    /// Reads the first event of a payload (any further blocks are events packed after it).
    ///
    /// # Errors
    ///
    /// [`CodecError::Malformed`] when the payload is not a whole number of 4-octet blocks.
    pub fn parse(payload: &[u8]) -> Result<TelephoneEvent, CodecError> {
        if payload.is_empty() || !payload.len().is_multiple_of(EVENT_LEN) {
            return Err(CodecError::Malformed);
        }
        let block = payload.get(..EVENT_LEN).ok_or(CodecError::Malformed)?;
        let mut b = [0u8; EVENT_LEN];
        b.copy_from_slice(block);
        Ok(TelephoneEvent {
            code: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3f,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    /// Writes the block; returns its length.
    ///
    /// # Errors
    ///
    /// [`CodecError::BufferTooSmall`] when `out` is shorter than [`EVENT_LEN`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, CodecError> {
        let room = out
            .get_mut(..EVENT_LEN)
            .ok_or(CodecError::BufferTooSmall { needed: EVENT_LEN })?;
        let [hi, lo] = self.duration.to_be_bytes();
        room.copy_from_slice(&[
            self.code,
            u8::from(self.end) << 7 | (self.volume & 0x3f),
            hi,
            lo,
        ]);
        Ok(EVENT_LEN)
    }
}

/// Why a [`TelephoneEventSender`] refused to start an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SendEventError {
    /// An event is still being sent (or its end repeated): one at a time.
    Busy,
    /// The volume is over 63 (-63 dBm0 is the quietest).
    Volume,
}

impl fmt::Display for SendEventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendEventError::Busy => "an event is still being sent",
            SendEventError::Volume => "volume over 63",
        })
    }
}

impl core::error::Error for SendEventError {}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum SenderState {
    Idle,
    Playing { code: u8, volume: u8, first: bool },
    Ending { event: TelephoneEvent, left: u8 },
}

/// Sends events one at a time: the caller starts an event, asks for a payload every packet
/// interval with the duration so far (all with the event's start timestamp), then ends it and
/// drains the three end packets.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TelephoneEventSender {
    state: SenderState,
}

impl Default for TelephoneEventSender {
    fn default() -> Self {
        TelephoneEventSender::new()
    }
}

impl TelephoneEventSender {
    /// An idle sender.
    #[must_use]
    pub fn new() -> Self {
        TelephoneEventSender {
            state: SenderState::Idle,
        }
    }

    /// Starts an event; its first payload carries the marker.
    ///
    /// # Errors
    ///
    /// [`SendEventError::Busy`] while an event or its end packets are still being sent,
    /// [`SendEventError::Volume`] for a volume over 63.
    pub fn start(&mut self, code: u8, volume: u8) -> Result<(), SendEventError> {
        if self.state != SenderState::Idle {
            return Err(SendEventError::Busy);
        }
        if volume > 63 {
            return Err(SendEventError::Volume);
        }
        self.state = SenderState::Playing {
            code,
            volume,
            first: true,
        };
        Ok(())
    }

    /// Ends the event being played, `duration` ticks after its start: the next
    /// [`END_REPEATS`] payloads are its end packets. Does nothing when no event plays.
    pub fn end(&mut self, duration: u32) {
        if let SenderState::Playing { code, volume, .. } = self.state {
            self.state = SenderState::Ending {
                event: TelephoneEvent {
                    code,
                    end: true,
                    volume,
                    duration: saturate(duration),
                },
                left: END_REPEATS,
            };
        }
    }

    /// Whether no event is being sent.
    #[must_use]
    pub fn is_idle(&self) -> bool {
        self.state == SenderState::Idle
    }

    /// The next payload: an update with `duration` while the event plays (ignored while its
    /// end packets are sent), or `None` when idle.
    ///
    /// # Errors
    ///
    /// [`CodecError::BufferTooSmall`] when `out` is shorter than [`EVENT_LEN`]; nothing moves.
    pub fn next_payload(
        &mut self,
        duration: u32,
        out: &mut [u8],
    ) -> Option<Result<Payload, CodecError>> {
        let (event, marker, next) = match self.state {
            SenderState::Idle => return None,
            SenderState::Playing {
                code,
                volume,
                first,
            } => (
                TelephoneEvent {
                    code,
                    end: false,
                    volume,
                    duration: saturate(duration),
                },
                first,
                SenderState::Playing {
                    code,
                    volume,
                    first: false,
                },
            ),
            SenderState::Ending { event, left } => (
                event,
                false,
                if left > 1 {
                    SenderState::Ending {
                        event,
                        left: left - 1,
                    }
                } else {
                    SenderState::Idle
                },
            ),
        };
        Some(event.emit(out).map(|len| {
            self.state = next;
            Payload { len, marker }
        }))
    }
}

fn saturate(duration: u32) -> u16 {
    u16::try_from(duration).unwrap_or(u16::MAX)
}

/// An event as the receiver reports it, once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceivedEvent {
    /// The event's RTP timestamp: when it started.
    pub timestamp: u32,
    /// The event code (see [`dtmf_key`]).
    pub code: u8,
    /// The volume, 0-63 (-dBm0).
    pub volume: u8,
    /// The duration in RTP clock ticks: final when `ended`, else the last one heard.
    pub duration: u16,
    /// The end packet arrived; false when all of them were lost and the event was closed by
    /// the next one or by [`TelephoneEventReceiver::flush`].
    pub ended: bool,
}

/// Turns received telephone-event payloads into events, each reported once.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TelephoneEventReceiver {
    current: Option<ReceivedEvent>,
    ready: [Option<ReceivedEvent>; 2],
}

impl TelephoneEventReceiver {
    /// A receiver that has heard nothing.
    #[must_use]
    pub fn new() -> Self {
        TelephoneEventReceiver::default()
    }

    /// Takes one payload with its packet's RTP timestamp, in sequence order.
    ///
    /// # Errors
    ///
    /// [`CodecError::Malformed`] for a payload that is not event blocks;
    /// [`CodecError::BufferTooSmall`] when events are waiting in [`Self::poll`] and this
    /// payload would add more than there is room for (poll after each receive): nothing
    /// changes then.
    pub fn receive(&mut self, timestamp: u32, payload: &[u8]) -> Result<(), CodecError> {
        let e = TelephoneEvent::parse(payload)?;
        let heard = ReceivedEvent {
            timestamp,
            code: e.code,
            volume: e.volume,
            duration: e.duration,
            ended: e.end,
        };
        match self.current {
            Some(cur) if cur.timestamp == timestamp => {
                if cur.ended {
                    return Ok(()); // a repeated end packet
                }
                if heard.ended {
                    self.report(&[heard])?;
                }
                self.current = Some(ReceivedEvent {
                    duration: cur.duration.max(heard.duration),
                    ..heard
                });
            }
            // A late packet of an event already past: never reported twice.
            Some(cur) if (timestamp.wrapping_sub(cur.timestamp) as i32) < 0 => {}
            Some(cur) => {
                let reports = [cur, heard];
                let from = usize::from(cur.ended);
                let to = if heard.ended { 2 } else { 1 };
                self.report(reports.get(from..to).unwrap_or_default())?;
                self.current = Some(heard);
            }
            None => {
                if heard.ended {
                    self.report(&[heard])?;
                }
                self.current = Some(heard);
            }
        }
        Ok(())
    }

    /// Reports the event being heard as unfinished (its end packets did not come): call it
    /// when no packet of it arrived for a while.
    ///
    /// # Errors
    ///
    /// [`CodecError::BufferTooSmall`] when the reports waiting in [`Self::poll`] fill the
    /// queue.
    pub fn flush(&mut self) -> Result<(), CodecError> {
        if let Some(cur) = self.current.filter(|c| !c.ended) {
            self.report(&[cur])?;
            // Closed, but its timestamp kept so that late packets of it are not a new event.
            self.current = Some(ReceivedEvent { ended: true, ..cur });
        }
        Ok(())
    }

    /// The event being heard now, for playing its tone before it ends.
    #[must_use]
    pub fn current(&self) -> Option<ReceivedEvent> {
        self.current.filter(|c| !c.ended)
    }

    /// The next event to report, oldest first.
    pub fn poll(&mut self) -> Option<ReceivedEvent> {
        let [first, second] = &mut self.ready;
        let out = first.take();
        *first = second.take();
        out
    }

    fn report(&mut self, events: &[ReceivedEvent]) -> Result<(), CodecError> {
        let free = self.ready.iter().filter(|r| r.is_none()).count();
        if events.len() > free {
            return Err(CodecError::BufferTooSmall {
                needed: self.ready.len() - free + events.len(),
            });
        }
        for e in events {
            if let Some(slot) = self.ready.iter_mut().find(|r| r.is_none()) {
                *slot = Some(*e);
            }
        }
        Ok(())
    }
}
