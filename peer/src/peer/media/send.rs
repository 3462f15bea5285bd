//! The outgoing stream of a transceiver: frames become RTP packets that wait in the send
//! history (the lent area) until `poll_transmit` protects them, and stay there for NACKs.
//!
//! ```text
//!   write_frame(mid, pt, ts, frame)
//!     room for the whole frame?  no -> MediaError::Full (nothing queued: backpressure)
//!     packetizer(pt) -> payloads -> header (our SSRC, next sequence, mid extension)
//!                    -> SendHistory::enqueue (unsent)
//!   poll_transmit: history.poll_transmit (RTX answering NACKs, budgeted) first,
//!                  then history.poll_unsent (originals, oldest first) -> SRTP protect
//!   NACK in -> history.handle_nack; SR out <- SenderStats
//! ```

use peerless_rtp::codec::{AnyPacketizer, Packetizer, PacketizerOptions, Packets as _};
use peerless_rtp::extension::{self, ExtensionMap, ExtensionWriter};
use peerless_rtp::packet::Header;
use peerless_rtp::send::{HistoryConfig, NtpTime, Rtx, SendHistory, SenderStats};

use super::negotiate::mid_id;
use super::*;

/// The packet size the send history's index is sized for: an audio frame, a video packet.
/// An index record costs 32 bytes of the area, so the index takes a fraction of it.
const AUDIO_PACKET_GUESS: usize = 160;
const VIDEO_PACKET_GUESS: usize = 1100;
/// Room for one packet's header with extensions.
const MAX_HEADER: usize = 12 + 4 + 40;

#[cfg_attr(fuzzing, derive(Clone))]
pub(in crate::peer) struct SendStream<S> {
    ssrc: u32,
    rtx_ssrc: u32,
    sequence: u16,
    history: SendHistory<S>,
    /// The packetizer of the payload type last written.
    packetizer: Option<(u8, AnyPacketizer)>,
    /// The sender report's clock: of the payload type last written.
    sender: SenderStats,
    clock_rate: u32,
    mid: Text<MAX_MID>,
    extensions: peerless_rtp::extension::ExtensionMap,
    /// Frames written.
    frames: u64,
    retransmissions: u64,
    /// Their payload bytes (an RTX packet's without its original sequence number).
    retransmitted_bytes: u64,
    /// The media payload type last written (`write_frame`, `write_rtp`; not DTMF).
    pt: Option<u8>,
    /// The last measured round trip (zero until one is).
    round_trip: core::time::Duration,
}

impl<S: Area> SendStream<S> {
    pub(in crate::peer) fn new(t: &Transceiver<S>, area: S, now: Instant) -> Self {
        let mut seq = [0u8; 2];
        // The first sequence number is random (RFC 3550 §5.1): from the SSRC, itself random.
        seq.copy_from_slice(&t.ssrc.to_be_bytes()[..2]);
        let _ = now;
        SendStream {
            ssrc: t.ssrc,
            rtx_ssrc: t.rtx_ssrc,
            sequence: u16::from_be_bytes(seq),
            history: {
                let guess = match t.kind {
                    MediaKind::Audio => AUDIO_PACKET_GUESS,
                    MediaKind::Video => VIDEO_PACKET_GUESS,
                };
                let per_packet = guess + SendHistory::<S>::INDEX_BYTES_PER_PACKET;
                let packets = (area.as_ref().len() / per_packet).clamp(8, 4096);
                SendHistory::new(HistoryConfig::default(), area, packets)
            },
            packetizer: None,
            sender: SenderStats::new(90_000, NtpTime::from_unix(core::time::Duration::ZERO)),
            clock_rate: 0,
            mid: t.mid,
            extensions: t.negotiated.extensions,
            frames: 0,
            retransmissions: 0,
            retransmitted_bytes: 0,
            pt: None,
            round_trip: core::time::Duration::ZERO,
        }
    }

    pub(in crate::peer) fn into_area(self) -> S {
        self.history.into_area()
    }

    /// What a (re)negotiation agreed: extension ids and RTX payload types.
    pub(in crate::peer) fn configure(&mut self, n: &Negotiated) {
        self.extensions = n.extensions;
        let mut rtx = Rtx::new(self.rtx_ssrc, self.sequence.wrapping_add(0x4000), 0, 0);
        rtx.payload_types = [None; peerless_rtp::send::RTX_PAYLOAD_TYPES];
        let pairs = n
            .codecs
            .iter()
            .flatten()
            .filter(|c| c.nack)
            .filter_map(|c| Some((c.pt, c.rtx?)));
        let mut any = false;
        for (slot, pair) in rtx.payload_types.iter_mut().zip(pairs) {
            *slot = Some(pair);
            any = true;
        }
        let mut config = *self.history.config();
        config.rtx = any.then_some(rtx);
        // Until a round trip is measured, every NACK is answered (a duplicate costs one
        // packet; a refused one costs a frame).
        config.min_resend_interval = resend_interval(self.round_trip);
        self.history.set_config(config);
        if let Some((pt, _)) = self.packetizer
            && n.codec(pt).is_none()
        {
            self.packetizer = None;
        }
    }

    /// Packetizes `frame` and queues its packets.
    pub(in crate::peer) fn write_frame(
        &mut self,
        now: Instant,
        codec: &negotiate::NegotiatedCodec,
        rtp_time: u32,
        frame: &[u8],
        mtu: usize,
    ) -> Result<(), MediaError> {
        let max_payload = mtu.saturating_sub(MAX_HEADER + SRTP_OVERHEAD).max(64);
        // Whole frames or nothing: a frame cut short is worse than one not sent.
        let packets = frame.len() / max_payload.saturating_sub(16).max(1) + 2;
        // Bytes, index records and the largest packet (a packet that does not fit before the
        // ring's end starts over at its start): whole frames or nothing.
        let bytes = frame.len() + packets * (MAX_HEADER + 16);
        if !self
            .history
            .can_enqueue(packets, bytes, max_payload + MAX_HEADER)
        {
            return Err(MediaError::Full);
        }
        if self
            .packetizer
            .as_ref()
            .is_none_or(|(pt, _)| *pt != codec.pt)
        {
            let p = AnyPacketizer::new(codec.codec, &PacketizerOptions::default())
                .ok_or(MediaError::Unsupported)?;
            self.packetizer = Some((codec.pt, p));
        }
        self.use_clock(codec.codec.clock_rate());
        let Some((_, packetizer)) = self.packetizer.as_mut() else {
            return Err(MediaError::Unsupported);
        };
        let mut cursor = packetizer
            .packetize(frame, max_payload)
            .map_err(|_| MediaError::Malformed)?;
        let mut payload = [0u8; 1500];
        let writer = packet_extensions(&self.extensions, self.mid.as_str());
        let elements = writer.elements();
        let room = payload.get_mut(..max_payload).unwrap_or_default();
        while let Some(next) = cursor.next_payload(room) {
            let p = next.map_err(|_| MediaError::Malformed)?;
            let header = Header {
                marker: p.marker,
                payload_type: codec.pt,
                timestamp: rtp_time,
                ssrc: self.ssrc,
                extensions: elements.as_slice(),
                ..Header::default()
            };
            let body = room.get(..p.len).unwrap_or_default();
            enqueue(
                &mut self.history,
                &mut self.sequence,
                &mut self.sender,
                now,
                header,
                body,
            )?;
        }
        self.frames += 1;
        self.pt = Some(codec.pt);
        Ok(())
    }

    /// A packet from the host (`write_rtp`): its payload type, marker, timestamp and
    /// payload under our SSRC, sequence and extensions.
    pub(in crate::peer) fn write_rtp(
        &mut self,
        now: Instant,
        packet: &peerless_rtp::packet::Packet<'_>,
        clock_rate: u32,
    ) -> Result<(), MediaError> {
        self.use_clock(clock_rate);
        self.enqueue_payload(
            now,
            packet.payload_type(),
            packet.marker(),
            packet.timestamp(),
            packet.payload(),
        )?;
        self.pt = Some(packet.payload_type());
        Ok(())
    }

    /// The sender report's clock follows the payload type written: a new clock rate starts
    /// its statistics afresh.
    fn use_clock(&mut self, clock_rate: u32) {
        if self.clock_rate != clock_rate {
            self.clock_rate = clock_rate;
            self.sender =
                SenderStats::new(clock_rate, NtpTime::from_unix(core::time::Duration::ZERO));
        }
    }

    /// A telephone-event packet (RFC 4733) on this stream's clock.
    pub(in crate::peer) fn write_event(
        &mut self,
        now: Instant,
        pt: u8,
        marker: bool,
        rtp_time: u32,
        payload: &[u8],
    ) -> Result<(), MediaError> {
        self.enqueue_payload(now, pt, marker, rtp_time, payload)
    }

    /// Our RTP clock at `at`, extrapolated from the last packet sent (0 before any).
    pub(in crate::peer) fn rtp_timestamp_at(&self, at: Instant) -> u32 {
        self.sender.rtp_timestamp_at(at).unwrap_or(0)
    }

    fn enqueue_payload(
        &mut self,
        now: Instant,
        pt: u8,
        marker: bool,
        rtp_time: u32,
        payload: &[u8],
    ) -> Result<(), MediaError> {
        let len = payload.len() + MAX_HEADER;
        if !self.history.can_enqueue(1, len, len) {
            return Err(MediaError::Full);
        }
        let writer = packet_extensions(&self.extensions, self.mid.as_str());
        let elements = writer.elements();
        let header = Header {
            marker,
            payload_type: pt,
            timestamp: rtp_time,
            ssrc: self.ssrc,
            extensions: elements.as_slice(),
            ..Header::default()
        };
        enqueue(
            &mut self.history,
            &mut self.sequence,
            &mut self.sender,
            now,
            header,
            payload,
        )?;
        Ok(())
    }

    /// NACKed sequence numbers: queued for retransmission (within the history's budget).
    pub(in crate::peer) fn handle_nack(
        &mut self,
        now: Instant,
        lost: impl IntoIterator<Item = u16>,
    ) {
        self.history.handle_nack(now, lost);
    }

    /// The next packet to send, unprotected, into `buf`: a retransmission first, else the
    /// oldest unsent original.
    /// The next retransmission a NACK asked for, into `buf`: its length.
    pub(in crate::peer) fn poll_retransmission(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Some(r) = self.history.poll_transmit(buf)? else {
            return Ok(None);
        };
        self.retransmissions += 1;
        // RFC 4588 §4: an RTX payload starts with the original sequence number.
        let osn = if r.rtx { 2 } else { 0 };
        let payload = peerless_rtp::packet::Packet::parse(r.packet)
            .map_or(0, |p| p.payload().len().saturating_sub(osn));
        self.retransmitted_bytes += payload as u64;
        Ok(Some(r.packet.len()))
    }

    /// The oldest packet not sent yet, into `buf`: its length.
    pub(in crate::peer) fn poll_unsent(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.history.poll_unsent(now, buf)
    }

    /// A recent packet again as RTX, about `size` bytes, to pad a bandwidth probe.
    pub(in crate::peer) fn poll_padding(
        &mut self,
        size: usize,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        self.history.poll_padding(size, buf)
    }

    /// Whether a NACKed packet waits to be resent.
    pub(in crate::peer) fn retransmission_waiting(&self) -> bool {
        self.history.retransmissions_waiting() > 0
    }

    /// Whether a packet waits to be sent the first time, and the bytes waiting.
    pub(in crate::peer) fn unsent_bytes(&self) -> Option<u64> {
        (self.history.unsent_len() > 0).then(|| self.history.unsent_bytes())
    }

    /// Whether this stream can pad a probe: RTX agreed and a packet sent to resend.
    pub(in crate::peer) fn can_pad(&self) -> bool {
        self.history.config().rtx.is_some() && self.history.stats().sent_from_queue > 0
    }

    /// The path's round trip: a packet asked for twice within half of it is resent once.
    pub(in crate::peer) fn set_round_trip_time(&mut self, rtt: core::time::Duration) {
        self.round_trip = rtt;
        let mut config = *self.history.config();
        config.min_resend_interval = resend_interval(rtt);
        self.history.set_config(config);
    }

    pub(in crate::peer) fn sender_info(
        &self,
        now: Instant,
    ) -> Option<peerless_rtp::rtcp::SenderInfo> {
        self.sender.sender_info(now)
    }

    pub(in crate::peer) fn round_trip_time(
        &self,
        now: Instant,
        block: &peerless_rtp::rtcp::ReportBlock,
    ) -> Option<core::time::Duration> {
        self.sender.round_trip_time(now, block)
    }

    /// The negotiated id of the transport-wide sequence number extension.
    pub(in crate::peer) fn transport_sequence_id(&self) -> Option<u8> {
        self.extensions
            .id(extension::ExtensionKind::TransportSequenceNumber)
    }

    /// The abs-send-time element's id, if agreed (REMB-only peers estimate from it).
    pub(in crate::peer) fn abs_send_time_id(&self) -> Option<u8> {
        self.extensions.id(extension::ExtensionKind::AbsSendTime)
    }

    /// The media payload type last written, for the report's `codecId`.
    pub(in crate::peer) fn payload_type(&self) -> Option<u8> {
        self.pt
    }

    /// Payload bytes retransmitted (`retransmittedBytesSent`).
    pub(in crate::peer) fn retransmitted_bytes(&self) -> u64 {
        self.retransmitted_bytes
    }

    pub(in crate::peer) fn add_stats(&self, s: &mut MediaStats) {
        s.packets_sent += self.sender.packets();
        s.bytes_sent += self.sender.octets();
        s.frames_sent += self.frames;
        s.retransmissions_sent += self.retransmissions;
        s.padding_packets_sent += self.history.stats().padding_packets;
    }
}

/// How soon a packet may be resent again: half the round trip. The receiver asks again a
/// round trip (its estimate) after it asked, so its repeat reaches us one round trip after
/// our resend; with the whole round trip here, a measured one a few microseconds longer than
/// the receiver's (RTCP's 1/65536 s clock) refused every other repeat. Half still folds a
/// loss asked for twice in quick succession into one resend.
fn resend_interval(rtt: core::time::Duration) -> core::time::Duration {
    rtt / 2
}

/// The header extensions every packet of a stream carries. The transport-wide sequence
/// element comes first, holding 0, so it sits at a known place: it is patched with the real
/// number as the packet leaves (congestion.rs).
fn packet_extensions<'m>(map: &'m ExtensionMap, mid: &str) -> ExtensionWriter<'m, 3, 40> {
    let mut writer = ExtensionWriter::new(map);
    // Placeholders: both are written as the packet leaves (`media_transmit`), so they tell
    // the wire's order and time, not the encoder's.
    if map
        .id(extension::ExtensionKind::TransportSequenceNumber)
        .is_some()
    {
        let _ = writer.put(&extension::TransportSequenceNumber(0));
    }
    if map.id(extension::ExtensionKind::AbsSendTime).is_some() {
        let _ = writer.put(&extension::AbsSendTime(0));
    }
    if mid_id(map).is_some() {
        let _ = writer.put(&extension::Mid(mid));
    }
    writer
}

/// `header` (its sequence number the stream's next) on `payload`, into the history as
/// unsent; the sequence number and the sender's counts move on.
fn enqueue<S: Area>(
    history: &mut SendHistory<S>,
    sequence: &mut u16,
    sender: &mut SenderStats,
    now: Instant,
    header: Header<'_>,
    payload: &[u8],
) -> Result<(), MediaError> {
    let mut packet = [0u8; 1600];
    let header = Header {
        sequence_number: *sequence,
        ..header
    };
    let len = header
        .emit(payload, &mut packet)
        .map_err(|_| MediaError::Malformed)?;
    history
        .enqueue(now, packet.get(..len).unwrap_or_default())
        .map_err(|_| MediaError::Full)?;
    *sequence = sequence.wrapping_add(1);
    sender.on_sent(now, header.timestamp, payload.len());
    Ok(())
}

/// SRTP's auth tag, the largest of the profiles (AEAD_AES_256_GCM: 16).
pub(in crate::peer) const SRTP_OVERHEAD: usize = 16;
