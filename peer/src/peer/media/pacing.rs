//! The paced part of `poll_transmit`: what waits in the send histories (and SCTP's queue
//! while media flows) leaves when the pacing budget (`peerless_cc::PacingBudget`) grants
//! its class; the packets stay where they are until then.
//!
//! ```text
//!   backlog: audio stream with a packet → Audio; video: NACKed → Retransmission,
//!            unsent → Video; SCTP DATA within its windows → Data (only while media flows);
//!            an RTX stream with a sent packet → can pad
//!   media_transmit, after RTCP (never paced):
//!     budget.next(now, backlog)
//!       Send(Audio | Retransmission | Video) → that class's packet, round robin over
//!                                              transceivers → stamp (abs-send-time,
//!                                              transport-wide seq) → SRTP → send record
//!       Padding { size }                     → a recent packet again as RTX, stamped likewise
//!       Send(Data) / nothing                 → media yields
//!   transport_transmit: SCTP DATA only if granted (control chunks always), its bytes spent
//!   estimator probe clusters → budget.start_probe (media first, padding for the rest)
//! ```

use peerless_cc::{Backlog, Class, Grant};
use peerless_rtp::extension::AbsSendTime;

use super::*;

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
    /// What waits to leave now.
    pub(in crate::peer) fn backlog(&self, now: Instant) -> Backlog {
        let mut backlog = Backlog::default();
        for t in self.media.transceivers.iter().flatten() {
            let Some(send) = t.send.as_ref() else {
                continue;
            };
            let unsent = send.unsent_bytes();
            backlog.bytes += unsent.unwrap_or(0);
            match t.kind {
                MediaKind::Audio if unsent.is_some() || send.retransmission_waiting() => {
                    backlog.add(Class::Audio);
                }
                MediaKind::Audio => {}
                MediaKind::Video => {
                    if send.retransmission_waiting() {
                        backlog.add(Class::Retransmission);
                    }
                    if unsent.is_some() {
                        backlog.add(Class::Video);
                    }
                    backlog.can_pad |= send.can_pad();
                }
            }
        }
        if self.data_paced(now)
            && self
                .transport
                .parts()
                .is_some_and(|(sctp, _)| sctp.data_waiting())
        {
            backlog.add(Class::Data);
        }
        backlog
    }

    /// Whether SCTP's DATA shares the budget now: while media flows.
    fn data_paced(&self, now: Instant) -> bool {
        Self::HAS_MEDIA
            && self
                .media
                .congestion
                .as_ref()
                .is_some_and(|c| c.media_active(now))
    }

    /// Whether SCTP may send DATA now (its control chunks always may).
    pub(in crate::peer) fn data_may_send(&mut self) -> bool {
        let now = self.now;
        if !self.data_paced(now) {
            return true;
        }
        let backlog = self.backlog(now);
        self.media
            .congestion
            .as_mut()
            .is_none_or(|c| c.budget.next(now, &backlog) == Some(Grant::Send(Class::Data)))
    }

    /// SCTP sent `len` bytes (sealed in DTLS): they count against the budget while shared.
    pub(in crate::peer) fn on_data_sent(&mut self, len: usize) {
        let now = self.now;
        if !self.data_paced(now) {
            return;
        }
        let backlog = self.backlog(now);
        if let Some(c) = self.media.congestion.as_mut() {
            c.budget.on_sent(Class::Data, len, &backlog);
        }
    }

    /// When the budget next grants something that waits; `None` when nothing does or
    /// nothing may leave (no keys yet, consent lost).
    pub(in crate::peer) fn pacing_timeout(&self) -> Option<Instant> {
        if !Self::HAS_MEDIA {
            return None;
        }
        let now = self.now;
        let c = self.media.congestion.as_ref()?;
        let keyed = self
            .transport
            .running()
            .is_some_and(|r| r.srtp.is_some() && self.dtls.is_connected());
        if !keyed || self.selected.is_none() || !self.ice.can_send() {
            return None;
        }
        c.budget.poll_timeout(&self.backlog(now))
    }

    /// The next RTP packet the budget lets out, stamped and protected into `buf`: its
    /// protected length.
    pub(in crate::peer) fn paced_transmit(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let backlog = self.backlog(now);
        let grant = match self.media.congestion.as_mut() {
            Some(c) => c.budget.next(now, &backlog),
            // Without an estimator (never with transceivers): in class order, unpaced.
            None => Class::ALL
                .into_iter()
                .find(|&class| class != Class::Data && backlog.has(class))
                .map(Grant::Send),
        };
        let (class, slot, len) = match grant {
            Some(Grant::Send(Class::Data)) | None => return Ok(None),
            Some(Grant::Send(class)) => match self.poll_class(class, now, buf)? {
                Some((slot, len)) => {
                    if let Some(r) = self.media.rtcp.get_mut(slot).and_then(Option::as_mut) {
                        r.on_rtp_sent(now);
                    }
                    (Some(class), slot, len)
                }
                None => return Ok(None),
            },
            Some(Grant::Padding { size }) => match self.poll_padding(usize::from(size), buf)? {
                Some((slot, len)) => (None, slot, len),
                None => return Ok(None),
            },
        };
        let Some(protected) = self.stamp_and_protect(now, slot, buf, len) else {
            return Ok(None);
        };
        if let Some(c) = self.media.congestion.as_mut() {
            match class {
                Some(class) => c.budget.on_sent(class, protected, &backlog),
                None => c.budget.on_padding_sent(protected),
            }
        }
        Ok(Some(protected))
    }

    /// A packet of `class` from the next transceiver that has one: (its slot, length).
    fn poll_class(
        &mut self,
        class: Class,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<(usize, usize)>, BufferTooSmall> {
        let start = self.media.next_sender;
        for k in 0..TRANSCEIVERS {
            let slot = (start + k) % TRANSCEIVERS.max(1);
            let Some(Some(t)) = self.media.transceivers.get_mut(slot) else {
                continue;
            };
            let kind = t.kind;
            let Some(send) = t.send.as_mut() else {
                continue;
            };
            let len = match (class, kind) {
                (Class::Audio, MediaKind::Audio) => match send.poll_retransmission(buf)? {
                    Some(len) => Some(len),
                    None => send.poll_unsent(now, buf)?,
                },
                (Class::Retransmission, MediaKind::Video) => send.poll_retransmission(buf)?,
                (Class::Video, MediaKind::Video) => send.poll_unsent(now, buf)?,
                _ => None,
            };
            if let Some(len) = len {
                self.media.next_sender = slot + 1;
                return Ok(Some((slot, len)));
            }
        }
        Ok(None)
    }

    /// Probe padding from the first video stream that can give it: (its slot, length).
    fn poll_padding(
        &mut self,
        size: usize,
        buf: &mut [u8],
    ) -> Result<Option<(usize, usize)>, BufferTooSmall> {
        for (slot, t) in self.media.transceivers.iter_mut().enumerate() {
            let Some(send) = t
                .as_mut()
                .and_then(|t| t.send.as_mut())
                .filter(|s| s.can_pad())
            else {
                continue;
            };
            if let Some(len) = send.poll_padding(size, buf)? {
                return Ok(Some((slot, len)));
            }
        }
        Ok(None)
    }

    /// Writes the send time and the transport-wide sequence number into the packet's
    /// placeholders as it leaves (so feedback describes the wire, retransmissions and padding
    /// too), protects it, and records it for the estimator: the protected length.
    fn stamp_and_protect(
        &mut self,
        now: Instant,
        slot: usize,
        buf: &mut [u8],
        len: usize,
    ) -> Option<usize> {
        // The ids are the packet's own stream's: a peer may agree an extension on one section
        // and not another (Firefox's audio section has no transport-wide number).
        let (abs_id, twcc_id) = self
            .media
            .transceivers
            .get(slot)
            .and_then(Option::as_ref)
            .and_then(|t| t.send.as_ref())
            .map_or((None, None), |s| {
                (s.abs_send_time_id(), s.transport_sequence_id())
            });
        let packet = buf.get_mut(..len).unwrap_or_default();
        if let Some(id) = abs_id {
            let at = AbsSendTime::from_micros(now.as_micros()).0.to_be_bytes();
            congestion::patch_extension(packet, id, at.get(1..).unwrap_or_default());
        }
        let sequence = match (twcc_id, self.media.congestion.as_ref()) {
            (Some(id), Some(c)) => {
                let sequence = c.next_sequence();
                congestion::patch_extension(packet, id, &sequence.to_be_bytes()).then_some(sequence)
            }
            _ => None,
        };
        let protected = self.protect(buf, len, false)?;
        if let Some(c) = self.media.congestion.as_mut() {
            c.on_sent(now, sequence, protected);
        }
        Some(protected)
    }
}
