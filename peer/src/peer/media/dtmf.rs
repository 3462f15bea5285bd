//! DTMF (`RTCDTMFSender`, RFC 4733 over the negotiated telephone-event payload type) on an
//! audio transceiver's stream, and the events the peer sends us.
//!
//! ```text
//!   insert_dtmf(mid, "12#", duration, gap) ─► tone buffer (W3C: replaces what was queued)
//!   timer: tone starts ─► Event::ToneChange(tone) ─► a packet every 50 ms with the duration
//!          so far (one RTP timestamp: the tone's start, on the audio stream's clock)
//!          ─► after `duration`: the end packet three times ─► `gap` ─► next tone
//!          ',' is a two-second pause; the buffer empty ─► Event::ToneChange(None)
//!   receive: telephone-event payloads ─► TelephoneEventReceiver ─► Event::Dtmf once per event
//! ```

use core::time::Duration;

use peerless_rtp::codec::telephone_event::{
    self as te, ReceivedEvent, TelephoneEventReceiver, TelephoneEventSender,
};

use super::*;

/// Tones queued at once (the W3C API takes any length; ours is bounded and says so).
pub const MAX_TONES: usize = 64;
/// How often a playing tone's duration is sent (RFC 4733 §2.5.1.2: 50 ms is typical).
const UPDATE_INTERVAL: Duration = Duration::from_millis(50);
/// The pause a ',' stands for (W3C `insertDTMF`).
const COMMA_PAUSE: Duration = Duration::from_secs(2);
/// -10 dBm0, a typical DTMF level.
const VOLUME: u8 = 10;

/// What the DTMF sender is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// Between tones: the next one starts at `at`.
    Idle { at: Instant },
    /// A tone plays from `start` (its RTP timestamp `rtp`) until `end`; the next update at
    /// `next`.
    Playing {
        start: Instant,
        rtp: u32,
        end: Instant,
        next: Instant,
    },
    /// Its end packets go out now, then the gap.
    Ending { rtp: u32, duration: u32 },
}

/// The DTMF state of one audio transceiver.
#[cfg_attr(fuzzing, derive(Clone))]
pub(in crate::peer) struct Dtmf {
    tones: Text<MAX_TONES>,
    /// Where the next tone is in `tones`.
    position: usize,
    duration: Duration,
    gap: Duration,
    step: Step,
    sender: TelephoneEventSender,
    receiver: TelephoneEventReceiver,
    /// A tone change to announce: `Some(Some(tone))` started, `Some(None)` the buffer ran out.
    pub(in crate::peer) announce: Option<Option<char>>,
    /// A received event taken from the receiver, not handed out yet.
    pending: Option<ReceivedEvent>,
}

impl Dtmf {
    pub(in crate::peer) fn new() -> Self {
        Dtmf {
            tones: Text::new(),
            position: 0,
            duration: Duration::from_millis(100),
            gap: Duration::from_millis(70),
            step: Step::Idle { at: Instant::ZERO },
            sender: TelephoneEventSender::new(),
            receiver: TelephoneEventReceiver::new(),
            announce: None,
            pending: None,
        }
    }

    /// `toneBuffer`: what is left to play.
    pub(in crate::peer) fn tone_buffer(&self) -> &str {
        self.tones.as_str().get(self.position..).unwrap_or_default()
    }

    pub(in crate::peer) fn poll_timeout(&self) -> Option<Instant> {
        match self.step {
            Step::Idle { at } if !self.tone_buffer().is_empty() => Some(at),
            Step::Idle { .. } => None,
            Step::Playing { end, next, .. } => Some(end.min(next)),
            // The end packets go out at the next poll_transmit: no timer.
            Step::Ending { .. } => None,
        }
    }

    /// A telephone-event payload from the peer; false if it was refused (malformed, or
    /// events not handed out yet filled the receiver).
    pub(in crate::peer) fn receive(&mut self, timestamp: u32, payload: &[u8]) -> bool {
        self.receiver.receive(timestamp, payload).is_ok()
    }

    /// Whether a received event waits to be handed out.
    pub(in crate::peer) fn has_received(&mut self) -> bool {
        if self.pending.is_none() {
            self.pending = self.receiver.poll();
        }
        self.pending.is_some()
    }

    /// A received event to hand out.
    pub(in crate::peer) fn poll_received(&mut self) -> Option<ReceivedEvent> {
        self.pending.take().or_else(|| self.receiver.poll())
    }

    /// The next telephone-event packet due at `now`, as (marker, rtp timestamp, payload
    /// length) with the payload in `out`; moves the tone along.
    fn poll_payload(
        &mut self,
        now: Instant,
        rtp_now: impl Fn(Instant) -> u32,
        clock_rate: u32,
        out: &mut [u8],
    ) -> Option<(bool, u32, usize)> {
        loop {
            match self.step {
                Step::Idle { at } => {
                    if at > now {
                        return None;
                    }
                    let tone = self.tone_buffer().chars().next()?;
                    self.position += tone.len_utf8();
                    if tone == ',' {
                        self.step = Step::Idle {
                            at: now + COMMA_PAUSE,
                        };
                        continue;
                    }
                    let code = te::dtmf_code(tone)?;
                    if self.sender.start(code, VOLUME).is_err() {
                        return None;
                    }
                    self.announce = Some(Some(tone.to_ascii_uppercase()));
                    self.step = Step::Playing {
                        start: now,
                        rtp: rtp_now(now),
                        end: now + self.duration,
                        next: now,
                    };
                }
                Step::Playing {
                    start,
                    rtp,
                    end,
                    next,
                } => {
                    let ticks = ticks(now.saturating_duration_since(start), clock_rate);
                    if now >= end {
                        self.sender.end(ticks);
                        self.step = Step::Ending {
                            rtp,
                            duration: ticks,
                        };
                        continue;
                    }
                    if now < next {
                        return None;
                    }
                    let p = self.sender.next_payload(ticks, out)?.ok()?;
                    self.step = Step::Playing {
                        start,
                        rtp,
                        end,
                        next: now + UPDATE_INTERVAL,
                    };
                    return Some((p.marker, rtp, p.len));
                }
                Step::Ending { rtp, duration } => match self.sender.next_payload(duration, out) {
                    Some(Ok(p)) => return Some((p.marker, rtp, p.len)),
                    _ => {
                        self.step = Step::Idle { at: now + self.gap };
                        if self.tone_buffer().is_empty() {
                            self.announce = Some(None);
                        }
                        return None;
                    }
                },
            }
        }
    }
}

fn ticks(d: Duration, clock_rate: u32) -> u32 {
    u32::try_from(d.as_micros() * u128::from(clock_rate) / 1_000_000).unwrap_or(u32::MAX)
}

impl<
    S: Area,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
    const TRANSCEIVERS: usize,
> Peer<S, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES, TRANSCEIVERS>
{
    /// `RTCDTMFSender.insertDTMF(tones, duration, interToneGap)` on the audio transceiver
    /// `mid`: `0`-`9`, `A`-`D`, `#`, `*` and `,` (a two-second pause), each tone `duration`
    /// long (40 ms to 6 s) with `gap` (at least 30 ms) after it, sent as RFC 4733 events on
    /// the negotiated telephone-event payload type. Replaces tones still queued, as the
    /// browser does; [`Event::ToneChange`] marks each start and the end.
    ///
    /// # Errors
    ///
    /// [`MediaError::Unsupported`] when telephone-event was not negotiated or a character is
    /// not a tone; [`MediaError::Full`] for more than [`MAX_TONES`] tones; as
    /// [`Peer::write_frame`] when the transceiver does not send.
    pub fn insert_dtmf(
        &mut self,
        mid: &str,
        tones: &str,
        duration: Duration,
        gap: Duration,
    ) -> Result<(), MediaError> {
        let now = self.now;
        let t = self.sending(mid)?;
        if t.negotiated.dtmf.is_none() || t.kind != MediaKind::Audio {
            return Err(MediaError::Unsupported);
        }
        if !tones
            .chars()
            .all(|c| c == ',' || te::dtmf_code(c).is_some())
        {
            return Err(MediaError::Unsupported);
        }
        let text = Text::copy_from(tones).ok_or(MediaError::Full)?;
        let d = t.dtmf.get_or_insert_with(Dtmf::new);
        d.tones = text;
        d.position = 0;
        d.duration = duration.clamp(Duration::from_millis(40), Duration::from_secs(6));
        d.gap = gap.max(Duration::from_millis(30));
        if let Step::Idle { at } = d.step {
            d.step = Step::Idle { at: at.max(now) };
        }
        Ok(())
    }

    /// `RTCDTMFSender.toneBuffer`.
    #[must_use]
    pub fn tone_buffer(&self, mid: &str) -> Option<&str> {
        let slot = self.media.by_mid(mid)?;
        let t = self.media.transceivers.get(slot)?.as_ref()?;
        Some(t.dtmf.as_ref().map_or("", Dtmf::tone_buffer))
    }

    /// Queues the telephone-event packets due now into the send streams.
    pub(in crate::peer) fn dtmf_timeout(&mut self, now: Instant) {
        for t in self.media.transceivers.iter_mut().flatten() {
            let (Some(d), Some(send), Some((pt, clock_rate))) =
                (t.dtmf.as_mut(), t.send.as_mut(), t.negotiated.dtmf)
            else {
                continue;
            };
            let mut payload = [0u8; te::EVENT_LEN];
            loop {
                let rtp_now = |at: Instant| send.rtp_timestamp_at(at);
                let Some((marker, rtp, len)) =
                    d.poll_payload(now, rtp_now, clock_rate, &mut payload)
                else {
                    break;
                };
                let body = payload.get(..len).unwrap_or_default();
                if send.write_event(now, pt, marker, rtp, body).is_err() {
                    // The send area is full of media: this update is skipped (the next
                    // carries the duration so far, RFC 4733 §2.5.1.2).
                    break;
                }
            }
        }
    }

    pub(in crate::peer) fn dtmf_poll_timeout(&self) -> Option<Instant> {
        self.media
            .transceivers
            .iter()
            .flatten()
            .filter_map(|t| t.dtmf.as_ref()?.poll_timeout())
            .min()
    }
}
