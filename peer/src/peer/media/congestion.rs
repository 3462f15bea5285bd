//! The send side of congestion control: every RTP packet that leaves gets a transport-wide
//! sequence number and a line in the send record; the peer's transport-wide feedback, its
//! REMB and the measured round trip feed the bandwidth estimator (`peerless_cc`), whose
//! target the host hears as `Event::BitrateEstimate`.
//!
//! ```text
//!   write_frame ─► header with a transport-wide sequence element holding 0 (a placeholder)
//!   media_transmit: packet out of the send history (original or RTX)
//!        └─► patch the element with the next transport-wide sequence number
//!            ─► SRTP protect ─► send record (sequence, now, protected size) ─► wire
//!   RTCP in: transport-cc ─► send record: (sent at, size, arrival or lost) ─► Estimator
//!            REMB ─► Estimator::on_remb         RR/SR's RTT ─► set_round_trip_time
//!   poll_event ◄─ Estimator::poll_event: Event::BitrateEstimate { target_bps }
//!
//!   receive side, for the peer's estimator:
//!   RTP in with the element ─► TwccFeedback::record(now, sequence)
//!   media_transmit: feedback due ─► transport-cc (alone with reduced size, else after an RR)
//! ```
//!
//! Memory: the estimator (1000 bytes) and the pacing budget are inline, the one cost a Peer without transceivers
//! (`SmallPeer`, firmware) pays; the send record is
//! `[[TwccSlot; RECORD_PER_TRANSCEIVER]; TRANSCEIVERS]`, one table viewed flat, so such a
//! Peer carries none and a host's record grows with the streams it may send. The arrival ring
//! sits in an array of `TRANSCEIVERS` of which only the first is used: a stable-Rust way to
//! have one when there are transceivers and none when there are not (`min(T, 1)` is not a
//! const expression a generic can use).

use super::*;
pub use peerless_cc::LimitsError as BitrateLimitsError;
pub use peerless_cc::{BandwidthUsage, EstimateParts};
use peerless_cc::{BitrateLimits, Estimator, LimitsError, PacerConfig, PacingBudget};
use peerless_rtp::packet::Packet;
use peerless_rtp::receive::TccStatus;
use peerless_rtp::receive::twcc::{TwccConfig, TwccFeedback};
use peerless_rtp::rtcp::TransportCc;
use peerless_rtp::send::{TwccSendRecord, TwccSlot};

/// Send-record lines per transceiver slot: 64 packets each, 256 for the default four, a
/// third of a second of 5 Mbit/s video (feedback comes every 100 ms, plus the round trip).
pub(in crate::peer) const RECORD_PER_TRANSCEIVER: usize = 64;

/// Arrivals the receive side remembers until it reports them (24 bytes each).
pub(in crate::peer) const ARRIVALS: usize = 64;

/// Statuses written per feedback packet (the rest goes in the next, due at once).
const STATUSES: usize = 64;

/// The receive side's recorder: feedback every 50 ms, or at once when half the ring waits,
/// so the ring is never overrun below about 10 Mbit/s.
pub(in crate::peer) fn arrivals() -> TwccFeedback<ARRIVALS> {
    TwccFeedback::new(TwccConfig {
        max_packets: ARRIVALS as u32 / 2,
        ..TwccConfig::default()
    })
}

/// Media counts as flowing this long after its last packet: while it does, probes run and
/// data-channel packets share the pacer's budget; after, SCTP alone decides (a data-only
/// session is not held to an estimate nothing measures).
const MEDIA_ACTIVE: core::time::Duration = core::time::Duration::from_secs(1);

/// The estimator, the pacing budget and the transport-wide send record.
#[cfg_attr(fuzzing, derive(Clone))]
pub(in crate::peer) struct Congestion<const TRANSCEIVERS: usize> {
    estimator: Estimator,
    pub(in crate::peer) budget: PacingBudget,
    /// When the last RTP packet left.
    media_sent_at: Option<Instant>,
    record: [[TwccSlot; RECORD_PER_TRANSCEIVER]; TRANSCEIVERS],
    next_sequence: u16,
    /// Feedback entries about packets the record no longer holds.
    pub(in crate::peer) dropped_feedback_unknown: u64,
}

impl<const TRANSCEIVERS: usize> Congestion<TRANSCEIVERS> {
    /// `None` only if the estimator refused its default limits (they are ordered).
    pub(in crate::peer) fn new(first_sequence: u16) -> Option<Self> {
        let estimator = Estimator::new(BitrateLimits::default()).ok()?;
        Some(Congestion {
            budget: PacingBudget::new(PacerConfig::default(), estimator.target_bps()),
            media_sent_at: None,
            estimator,
            record: [[TwccSlot::EMPTY; RECORD_PER_TRANSCEIVER]; TRANSCEIVERS],
            next_sequence: first_sequence,
            dropped_feedback_unknown: 0,
        })
    }

    /// The next transport-wide sequence number, written into a packet about to leave.
    pub(in crate::peer) fn next_sequence(&self) -> u16 {
        self.next_sequence
    }

    /// An RTP packet left at `now`, `size` bytes on the wire, numbered `sequence` if it
    /// carries the transport-wide element.
    pub(in crate::peer) fn on_sent(&mut self, now: Instant, sequence: Option<u16>, size: usize) {
        self.media_sent_at = Some(now);
        if let Some(sequence) = sequence {
            let mut record = TwccSendRecord::resume(self.record.as_flattened_mut(), sequence);
            record.on_sent(now, size);
            self.next_sequence = record.next_sequence();
        }
    }

    /// Whether media left recently (`MEDIA_ACTIVE`).
    pub(in crate::peer) fn media_active(&self, now: Instant) -> bool {
        self.media_sent_at
            .is_some_and(|at| now.saturating_duration_since(at) < MEDIA_ACTIVE)
    }

    /// Transport-wide feedback from the peer.
    pub(in crate::peer) fn on_transport_cc(&mut self, now: Instant, feedback: &TransportCc<'_>) {
        let mut record = TwccSendRecord::resume(self.record.as_flattened_mut(), 0);
        self.estimator.on_feedback(now, record.feedback(feedback));
        self.dropped_feedback_unknown += record.stats().dropped_feedback_unknown;
        self.follow_target(now);
    }

    pub(in crate::peer) fn on_remb(&mut self, now: Instant, bps: u64) {
        self.estimator.on_remb(now, bps);
        self.follow_target(now);
    }

    /// The pacer spends what the estimator allows.
    fn follow_target(&mut self, now: Instant) {
        self.budget.set_target(now, self.estimator.target_bps());
    }

    pub(in crate::peer) fn set_round_trip_time(&mut self, rtt: core::time::Duration) {
        self.estimator.set_round_trip_time(rtt);
    }

    pub(in crate::peer) fn set_bitrate_limits(
        &mut self,
        now: Instant,
        limits: BitrateLimits,
    ) -> Result<(), LimitsError> {
        self.estimator.set_bitrate_limits(now, limits)?;
        self.follow_target(now);
        Ok(())
    }

    pub(in crate::peer) fn target_bps(&self) -> u64 {
        self.estimator.target_bps()
    }

    /// The encoders' share of the target to announce, when it moved by more than 5 %: the
    /// whole target, less data's share while a transfer waits beside the media (the pacer
    /// gives data that share whatever the encoders do, so announcing it keeps the two
    /// within the target together).
    pub(in crate::peer) fn poll_target(&mut self, backlog: &peerless_cc::Backlog) -> Option<u64> {
        self.budget.poll_media_target(backlog)
    }

    /// The estimator's deadline (probes, an overdue result): only while media flows, since
    /// probes wait for media to carry them.
    pub(in crate::peer) fn poll_timeout(&self, now: Instant) -> Option<Instant> {
        self.estimator
            .poll_timeout()
            .filter(|_| self.media_active(now))
    }

    /// `wants_more`: data waits beside the media, so more than the target would be used: a
    /// probe finds out whether the path has it (at most one every few seconds).
    pub(in crate::peer) fn handle_timeout(&mut self, now: Instant, wants_more: bool) {
        self.budget.handle_timeout(now);
        if !self.media_active(now) {
            return;
        }
        if wants_more {
            let target = self.estimator.target_bps();
            self.estimator
                .set_desired_bitrate(now, target.saturating_mul(2));
        }
        self.estimator.handle_timeout(now);
        while let Some(cluster) = self.estimator.poll_probe(now) {
            self.budget.start_probe(now, &cluster);
        }
        self.follow_target(now);
    }
}

/// Writes `value` over the data of the header extension element `id` of the unprotected RTP
/// packet in `packet` (an element written as a placeholder of the same length); false when the
/// packet has no such element. The element is found with the rtp crate's own reader; its
/// place in `packet` is where its data lies.
pub(in crate::peer) fn patch_extension(packet: &mut [u8], id: u8, value: &[u8]) -> bool {
    let base = packet.as_ptr() as usize;
    let place = Packet::parse(packet).ok().and_then(|view| {
        view.extensions()
            .find(|e| e.id == id && e.data.len() == value.len())
            .map(|e| range_in(base, e.data))
    });
    match place.and_then(|r| packet.get_mut(r)) {
        Some(data) => {
            data.copy_from_slice(value);
            true
        }
        None => false,
    }
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
    /// Bounds on the bandwidth estimate, in bit/s, and where it starts before any feedback
    /// (defaults: 30 kbit/s, 300 kbit/s, 10 Mbit/s). A start given after feedback arrived
    /// is ignored; min and max apply at once.
    ///
    /// # Errors
    ///
    /// [`BitrateLimitsError`] unless `0 < min <= start <= max`; nothing changes then.
    pub fn set_bitrate_limits(
        &mut self,
        min_bps: u64,
        start_bps: u64,
        max_bps: u64,
    ) -> Result<(), BitrateLimitsError> {
        let now = self.now;
        let limits = BitrateLimits {
            min_bps,
            start_bps,
            max_bps,
        };
        match self.media.congestion.as_mut() {
            Some(c) => c.set_bitrate_limits(now, limits),
            None => Ok(()),
        }
    }

    /// What the bandwidth estimator allows us to send now, in bit/s (for the encoders
    /// together); `None` in a Peer without transceivers.
    #[must_use]
    pub fn bitrate_estimate(&self) -> Option<u64> {
        self.media.congestion.as_ref().map(Congestion::target_bps)
    }

    /// What the estimate is made of: the delay-based and loss-based rates, the peer's REMB,
    /// the acknowledged rate, the round trip; `None` in a Peer without transceivers.
    #[must_use]
    pub fn bitrate_estimate_parts(&self) -> Option<EstimateParts> {
        self.media.congestion.as_ref().map(|c| c.estimator.parts())
    }

    /// The estimate to announce (`Event::BitrateEstimate`): once something is sent, when it
    /// moved by more than 5 %.
    pub(in crate::peer) fn poll_bitrate_estimate(&mut self) -> Option<u64> {
        if !self.media.sends() {
            return None;
        }
        let backlog = self.backlog(self.now);
        self.media.congestion.as_mut()?.poll_target(&backlog)
    }
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
    /// Notes an incoming packet's transport-wide sequence number, if it carries one (the id
    /// is the transport's: BUNDLE gives every section the same).
    pub(in crate::peer) fn record_arrival(&mut self, now: Instant, packet: &Packet<'_>) {
        // Only what can be reported is recorded: a due feedback nobody writes would keep
        // `poll_timeout` in the past.
        if !self.media.rtcp.iter().any(Option::is_some) {
            return;
        }
        let sequence = self
            .media
            .transceivers
            .iter()
            .flatten()
            .filter(|t| t.receives())
            .find_map(|t| {
                t.negotiated
                    .extensions
                    .read::<peerless_rtp::extension::TransportSequenceNumber>(packet)
                    .ok()
                    .flatten()
            });
        if let (Some(s), Some(Some(arrivals))) = (sequence, self.media.arrivals.first_mut()) {
            arrivals.record(now, s.0);
        }
    }

    /// Transport-wide feedback due now, as RTCP from the transceiver in `slot`'s schedule,
    /// unprotected, into `buf`.
    pub(in crate::peer) fn transport_feedback(
        &mut self,
        slot: usize,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Some(Some(arrivals)) = self.media.arrivals.first_mut() else {
            return Ok(None);
        };
        if arrivals.poll_timeout().is_none_or(|at| at > now) {
            return Ok(None);
        }
        let Some(Some(t)) = self.media.transceivers.get(slot) else {
            return Ok(None);
        };
        let (ssrc, sender_info) = (t.ssrc, t.send.as_ref().and_then(|s| s.sender_info(now)));
        // The media source named is one the peer sends on this transceiver, else any, else
        // none (0): the feedback is about the transport, and packets that found no stream
        // (no area yet) are in it too.
        let receivers = || self.media.receivers.iter().flatten();
        let media = receivers()
            .find(|r| r.transceiver == slot)
            .or_else(|| receivers().next())
            .map_or(0, |r| r.ssrc);
        let Some(Some(schedule)) = self.media.rtcp.get_mut(slot) else {
            return Ok(None);
        };
        let mut statuses = [TccStatus::NotReceived; STATUSES];
        let Some(Some(arrivals)) = self.media.arrivals.first_mut() else {
            return Ok(None);
        };
        let Some(report) = arrivals.poll_feedback(now, &mut statuses) else {
            return Ok(None);
        };
        let content = peerless_rtp::send::ReportContent {
            ssrc,
            sender_info,
            blocks: &[],
            cname: self.media.cname.as_str().as_bytes(),
        };
        let ssrcs = peerless_rtp::rtcp::FeedbackSsrcs {
            sender: ssrc,
            media,
        };
        match schedule.write_feedback(buf, &content, |b| report.write(ssrcs, &statuses, b)) {
            Ok(len) => Ok(Some(len)),
            Err(peerless_rtp::send::ReportError::BufferTooSmall { needed }) => {
                Err(BufferTooSmall { needed })
            }
            // 64 statuses: always encodable.
            Err(_) => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use peerless_rtp::packet::{Element, ExtensionForm, Header};

    use super::*;

    #[test]
    fn an_extension_placeholder_is_patched_in_either_extension_form() {
        for form in [ExtensionForm::OneByte, ExtensionForm::TwoByte] {
            let elements = [
                Element {
                    id: 3,
                    data: &[0, 0],
                },
                Element { id: 4, data: b"1" },
            ];
            let header = Header {
                payload_type: 96,
                extensions: &elements,
                extension_form: form,
                ..Header::default()
            };
            let mut packet = [0u8; 64];
            let len = header.emit(b"payload", &mut packet).unwrap_or(0);
            let packet = &mut packet[..len];
            assert!(patch_extension(packet, 3, &0xbeef_u16.to_be_bytes()));
            let view = Packet::parse(packet).unwrap();
            let got: [(u8, &[u8]); 2] = [(3, &[0xbe, 0xef]), (4, b"1")];
            assert!(view.extensions().map(|e| (e.id, e.data)).eq(got));
            assert_eq!(view.payload(), b"payload");
            // No such element: nothing written.
            assert!(!patch_extension(packet, 5, &[0, 1]));
            // Nor over an element of another length.
            assert!(!patch_extension(packet, 4, &[0, 1]));
        }
    }
}
