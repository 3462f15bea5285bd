//! Incoming RTP: which stream a packet belongs to (RFC 8843 §9.2, RFC 8852), and each
//! incoming stream's statistics, NACK and keyframe requests and jitter buffer.
//!
//! ```text
//!   unprotected RTP ─► a stream with its SSRC (media, or its RTX: restored from the OSN)
//!                   ─► else the mid extension's transceiver (rid: that layer; repaired rid:
//!                      that layer's RTX), else the signalled SSRCs, else the only receiving
//!                      transceiver with the payload type
//!                   ─► new stream: an area of its kind from the pool (none: dropped, counted,
//!                      Event::MediaAreaNeeded once)
//!   stream: ReceiverStats (RR, jitter) · NackRequests (when nack was agreed)
//!           · JitterBuffer (frames in order) · KeyframeRequests (PLI/FIR when a keyframe
//!             is needed and agreed)
//! ```

use core::time::Duration;

use peerless_rtp::codec::{AnyDepacketizer, Depacketizer as _};
use peerless_rtp::extension::ExtensionMap;
use peerless_rtp::packet::Packet;
use peerless_rtp::receive::{
    self as rx, JitterBuffer, KeyframeMethod, KeyframeRequests, MediaPacket, NackRequests,
    ReceiverStats,
};

use super::raw::PacketRing;
use super::*;

/// The largest RTP packet handed out raw.
pub(in crate::peer) const RAW_MAX: usize = 1500;

/// How long a new video stream may take to deliver its first keyframe before it is asked for.
const KEYFRAME_GRACE: Duration = Duration::from_millis(500);

/// Missing packets a stream tracks for NACK at once (each entry costs 42 bytes in the
/// Peer; 32 cover a burst of a third of a 720p keyframe).
const NACK_WINDOW: usize = 32;

/// A released frame's facts, apart from its bytes.
#[derive(Clone, Copy, Debug)]
pub(in crate::peer) struct FrameMeta {
    pub(in crate::peer) len: usize,
    pub(in crate::peer) rtp_time: u32,
    pub(in crate::peer) keyframe: bool,
    pub(in crate::peer) contiguous: bool,
}

#[cfg_attr(fuzzing, derive(Clone))]
pub(in crate::peer) struct ReceiveStream<S> {
    pub(in crate::peer) transceiver: usize,
    pub(in crate::peer) kind: MediaKind,
    pub(in crate::peer) ssrc: u32,
    pub(in crate::peer) rtx_ssrc: Option<u32>,
    pub(in crate::peer) rid: Text<MAX_RID>,
    pub(in crate::peer) pt: u8,
    pub(in crate::peer) codec: Codec,
    /// `None` in raw mode: packets go to the host as they come ([`Event::Rtp`]).
    jitter: Option<JitterBuffer<S, AnyDepacketizer>>,
    /// Raw mode: packets waiting for `Event::Rtp`, in the area.
    pub(in crate::peer) raw: Option<PacketRing<S>>,
    pub(in crate::peer) stats: ReceiverStats,
    nack: Option<NackRequests<NACK_WINDOW>>,
    pub(in crate::peer) keyframes: Option<KeyframeRequests>,
    /// A packet that starts a frame arrived. Video packets before one are dropped, so the
    /// jitter buffer opens on a frame's start: opened mid-frame (the stream's first packets
    /// lost, which no NACK can ask for since nothing before them is known), it held that
    /// fragment at its head, and every frame behind it, for its whole delay (500 ms).
    opened: bool,
    packets: u64,
    bytes: u64,
    frames: u64,
    rtx: u64,
    /// RTX packets for packets already here (not handed on).
    duplicates: u64,
    pub(in crate::peer) nacks_sent: u64,
    pub(in crate::peer) plis_sent: u64,
    pub(in crate::peer) firs_sent: u64,
    dropped: u64,
    /// When the stream's first packet arrived.
    first_packet_at: Option<Instant>,
    /// A keyframe was released.
    keyframe_seen: bool,
    /// The jitter buffer's count of packets dropped waiting for a keyframe, when the last
    /// keyframe was released: more since then means one is missing.
    dropped_waiting_at_keyframe: u64,
    /// The last packet's arrival and RTP timestamp (`getSynchronizationSources`).
    pub(in crate::peer) last_packet: Option<(Instant, u32)>,
    /// Its CSRCs (`getContributingSources`), the first [`MAX_CSRCS`].
    pub(in crate::peer) csrcs: [u32; MAX_CSRCS],
    pub(in crate::peer) csrc_count: u8,
    /// The peer's last sender report for this stream and when it arrived
    /// (`remote-outbound-rtp`), and how many arrived.
    pub(in crate::peer) sender_report: Option<(Instant, peerless_rtp::rtcp::SenderInfo)>,
    pub(in crate::peer) sender_reports: u64,
}

impl<S: Area> ReceiveStream<S> {
    fn new(
        transceiver: usize,
        kind: MediaKind,
        ssrc: u32,
        codec: &negotiate::NegotiatedCodec,
        area: S,
        raw: bool,
    ) -> Option<Self> {
        let config = match kind {
            MediaKind::Audio => rx::Config::audio(),
            MediaKind::Video => rx::Config::video(),
        };
        let depacketizer = AnyDepacketizer::new(codec.codec)?;
        let method = if codec.pli {
            Some(KeyframeMethod::Pli)
        } else if codec.fir {
            Some(KeyframeMethod::Fir)
        } else {
            None
        };
        let mut stream = ReceiveStream {
            transceiver,
            kind,
            ssrc,
            rtx_ssrc: None,
            rid: Text::new(),
            pt: codec.pt,
            codec: codec.codec,
            jitter: None,
            raw: None,
            stats: ReceiverStats::new(ssrc, codec.codec.clock_rate()),
            nack: codec
                .nack
                .then(|| NackRequests::new(rx::NackConfig::default())),
            keyframes: method
                .filter(|_| kind == MediaKind::Video)
                .map(|m| KeyframeRequests::new(ssrc, m, Duration::from_millis(300))),
            opened: false,
            packets: 0,
            bytes: 0,
            frames: 0,
            rtx: 0,
            duplicates: 0,
            nacks_sent: 0,
            plis_sent: 0,
            firs_sent: 0,
            dropped: 0,
            first_packet_at: None,
            keyframe_seen: false,
            dropped_waiting_at_keyframe: 0,
            last_packet: None,
            csrcs: [0; MAX_CSRCS],
            csrc_count: 0,
            sender_report: None,
            sender_reports: 0,
        };
        if raw {
            stream.raw = Some(PacketRing::new(area));
        } else {
            stream.jitter = Some(JitterBuffer::new(config, depacketizer, area));
        }
        Some(stream)
    }

    /// The lent area back.
    pub(in crate::peer) fn into_area(self) -> Option<S> {
        match (self.jitter, self.raw) {
            (Some(j), _) => Some(j.into_area()),
            (None, Some(r)) => Some(r.into_area()),
            (None, None) => None,
        }
    }

    /// Whether packets go to the host as they come.
    pub(in crate::peer) fn is_raw(&self) -> bool {
        self.raw.is_some()
    }

    /// Counts a packet handed out raw (statistics and NACK as for any packet).
    fn record_raw(&mut self, now: Instant, sequence: u16, timestamp: u32, payload_len: usize) {
        self.packets += 1;
        self.bytes += payload_len as u64;
        self.stats.record(now, sequence, timestamp);
        if let Some(n) = self.nack.as_mut() {
            n.record(now, sequence);
        }
    }

    /// One media packet of this stream (an RTX packet already restored to its original).
    fn insert(&mut self, now: Instant, pt: u8, codec: Codec, packet: MediaPacket<'_>) {
        if codec != self.codec {
            // The peer switched codecs: frames in flight of the old one are given up.
            match AnyDepacketizer::new(codec) {
                Some(d) => {
                    if let Some(j) = self.jitter.as_mut() {
                        *j.depacketizer() = d;
                    }
                    self.codec = codec;
                }
                None => {
                    self.dropped += 1;
                    return;
                }
            }
        }
        self.pt = pt;
        self.first_packet_at.get_or_insert(now);
        self.packets += 1;
        self.bytes += packet.payload.len() as u64;
        self.stats.record(now, packet.sequence, packet.timestamp);
        if !self.opened && !self.starts_frame(packet.payload) {
            // Not recorded for NACK either: if the frame's start comes later (reordered), the
            // packet counts as missing behind it and is asked for again.
            self.dropped += 1;
            self.check_keyframe(now);
            return;
        }
        self.opened = true;
        if let Some(n) = self.nack.as_mut() {
            n.record(now, packet.sequence);
        }
        if let Some(j) = self.jitter.as_mut()
            && j.insert(now, packet).is_err()
        {
            self.dropped += 1;
        }
        self.check_keyframe(now);
    }

    /// Whether a payload starts a frame (every audio payload does; without a jitter buffer
    /// nothing is framed here).
    fn starts_frame(&mut self, payload: &[u8]) -> bool {
        self.kind == MediaKind::Audio
            || self.jitter.as_mut().is_none_or(|j| {
                j.depacketizer()
                    .inspect(payload)
                    .is_ok_and(|i| i.starts_frame)
            })
    }

    /// Asks for a keyframe when one is really missing: a delta frame was dropped for want of
    /// one since the last keyframe released, or none came within [`KEYFRAME_GRACE`] of the
    /// stream's first packet. Not merely because the buffer waits: a stream's opening
    /// keyframe spans several packets, and a hole given up may have a whole keyframe right
    /// behind it; asking then would cost the sender a keyframe for nothing.
    fn check_keyframe(&mut self, now: Instant) {
        let Some(j) = self.jitter.as_ref() else {
            return;
        };
        if !j.needs_keyframe() {
            return;
        }
        let dropped = j.stats().dropped_waiting_for_keyframe > self.dropped_waiting_at_keyframe;
        let late = !self.keyframe_seen
            && self
                .first_packet_at
                .is_some_and(|t| now.saturating_duration_since(t) >= KEYFRAME_GRACE);
        if (dropped || late)
            && let Some(k) = self.keyframes.as_mut()
        {
            k.request(now);
        }
    }

    /// The next frame in order (its bytes: [`ReceiveStream::frame`]). A frame the
    /// depacketizer refuses is counted and skipped.
    pub(in crate::peer) fn poll_frame(&mut self) -> Option<FrameMeta> {
        let meta = loop {
            // Owned metadata first: a borrowed frame returned from inside the loop would
            // hold the buffer for the error path too.
            let polled = self.jitter.as_mut()?.poll_frame()?.map(|f| FrameMeta {
                len: f.data.len(),
                rtp_time: f.timestamp,
                keyframe: f.keyframe,
                contiguous: f.contiguous,
            });
            match polled {
                Ok(meta) => break meta,
                // Larger than the area's frame output: given up, so the stream goes on.
                Err(_) => {
                    if let Some(j) = self.jitter.as_mut() {
                        j.skip_frame();
                    }
                    self.dropped += 1;
                }
            }
        };
        self.frames += 1;
        if meta.keyframe {
            self.keyframe_seen = true;
            self.dropped_waiting_at_keyframe = self
                .jitter
                .as_ref()
                .map_or(0, |j| j.stats().dropped_waiting_for_keyframe);
        }
        if meta.keyframe
            && let Some(k) = self.keyframes.as_mut()
        {
            k.keyframe_received();
        }
        Some(meta)
    }

    /// The bytes of the frame `poll_frame` released last.
    pub(in crate::peer) fn frame(&self, meta: &FrameMeta) -> &[u8] {
        self.jitter
            .as_ref()
            .and_then(|j| j.frame_buffer().get(..meta.len))
            .unwrap_or_default()
    }

    pub(in crate::peer) fn poll_timeout(&self) -> Option<Instant> {
        [
            self.jitter.as_ref().and_then(JitterBuffer::poll_timeout),
            self.nack.as_ref().and_then(NackRequests::poll_timeout),
            self.keyframes
                .as_ref()
                .and_then(KeyframeRequests::poll_timeout),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub(in crate::peer) fn handle_timeout(&mut self, now: Instant) {
        if let Some(j) = self.jitter.as_mut() {
            j.handle_timeout(now);
        }
        if let Some(n) = self.nack.as_mut() {
            n.handle_timeout(now);
        }
        if let Some(k) = self.keyframes.as_mut() {
            k.handle_timeout(now);
        }
        self.check_keyframe(now);
    }

    /// NACK pairs due now, written into `pairs`; how many.
    pub(in crate::peer) fn poll_nack(&mut self, now: Instant, pairs: &mut [rx::NackPair]) -> usize {
        self.nack.as_mut().map_or(0, |n| n.poll_nack(now, pairs))
    }

    /// The peer's sender report about this stream.
    pub(in crate::peer) fn on_sender_report(
        &mut self,
        now: Instant,
        info: peerless_rtp::rtcp::SenderInfo,
    ) {
        self.stats.sender_report(now, info.ntp_timestamp);
        self.sender_report = Some((now, info));
        self.sender_reports += 1;
    }

    pub(in crate::peer) fn set_round_trip_time(&mut self, rtt: Duration) {
        if let Some(n) = self.nack.as_mut() {
            n.set_round_trip_time(rtt);
        }
    }

    pub(in crate::peer) fn add_stats(&self, s: &mut MediaStats) {
        s.packets_received += self.packets;
        s.bytes_received += self.bytes;
        s.packets_lost += i64::from(self.stats.cumulative_lost());
        s.frames_received += self.frames;
        s.frames_dropped += self.jitter.as_ref().map_or(0, |j| j.stats().gaps_given_up);
        s.nacks_sent += self.nacks_sent;
        s.plis_sent += self.plis_sent;
        s.firs_sent += self.firs_sent;
        s.rtx_received += self.rtx;
        s.duplicates_received += self.duplicates;
        s.jitter = s.jitter.max(self.stats.jitter());
        s.dropped += self.dropped;
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
    /// An unprotected RTP packet.
    pub(in crate::peer) fn handle_rtp(&mut self, now: Instant, bytes: &[u8]) {
        let Ok(packet) = Packet::parse(bytes) else {
            self.media.dropped_malformed += 1;
            return;
        };
        self.record_arrival(now, &packet);
        let ssrc = packet.ssrc();
        // A known stream, by its media or RTX SSRC.
        let known = self.media.receivers.iter().position(|r| {
            r.as_ref()
                .is_some_and(|r| r.ssrc == ssrc || r.rtx_ssrc == Some(ssrc))
        });
        if let Some(i) = known {
            self.insert_into(now, i, &packet);
            return;
        }
        let Some((slot, rid, repaired)) = self.route_new(&packet) else {
            self.media.dropped_unrouted += 1;
            return;
        };
        let Some(t) = self.media.transceivers.get(slot).and_then(Option::as_ref) else {
            return;
        };
        if !t.receives() {
            self.media.dropped_unrouted += 1;
            return;
        }
        let pt = packet.payload_type();
        let negotiated = t.negotiated;
        // An RTX stream: pair it with its media stream (by repaired rid, the signalled FID
        // group, or the transceiver's only stream).
        if let Some(media) = negotiated.repaired(pt) {
            let _ = media;
            let fid = negotiated
                .remote_ssrcs
                .iter()
                .flatten()
                .find(|(_, r)| *r == Some(ssrc))
                .map(|(m, _)| *m);
            let target = self.media.receivers.iter().position(|r| {
                r.as_ref().is_some_and(|r| {
                    r.transceiver == slot
                        && r.rtx_ssrc.is_none()
                        && match (repaired.as_ref(), fid) {
                            (Some(rr), _) => r.rid.as_str() == rr.as_str(),
                            (None, Some(m)) => r.ssrc == m,
                            (None, None) => true,
                        }
                })
            });
            match target {
                Some(i) => {
                    if let Some(Some(r)) = self.media.receivers.get_mut(i) {
                        r.rtx_ssrc = Some(ssrc);
                    }
                    self.insert_into(now, i, &packet);
                }
                None => self.media.dropped_unrouted += 1,
            }
            return;
        }
        // A telephone-event may open the audio stream: a browser sends nothing else while a
        // tone plays, and `insertDTMF` at connect time starts before any audio.
        let dtmf = negotiated.dtmf.is_some_and(|(d, _)| d == pt);
        let opening = negotiated.codec(pt).copied().or_else(|| {
            dtmf.then(|| negotiated.codecs.iter().flatten().next().copied())
                .flatten()
        });
        let Some(codec) = opening else {
            self.media.dropped_unrouted += 1;
            return;
        };
        let Some(free) = self.media.receivers.iter().position(Option::is_none) else {
            self.media.dropped_no_area += 1;
            return;
        };
        let kind = t.kind;
        let raw = t.raw;
        let Some(area) = self.media.take_area(kind, AreaUse::Receive) else {
            if let Some(Some(t)) = self.media.transceivers.get_mut(slot)
                && t.announce_area_needed.is_none()
            {
                t.announce_area_needed = Some(AreaUse::Receive);
            }
            self.media.dropped_no_area += 1;
            return;
        };
        let Some(mut stream) = ReceiveStream::new(slot, kind, ssrc, &codec, area, raw) else {
            self.media.dropped_unrouted += 1;
            return;
        };
        if let Some(rid) = rid {
            stream.rid = rid;
        }
        if let Some(r) = self.media.receivers.get_mut(free) {
            *r = Some(stream);
        }
        self.nack_pace_from_ice();
        self.insert_into(now, free, &packet);
    }

    /// The transceiver a packet from an unknown SSRC belongs to, with its rid and repaired
    /// rid.
    #[allow(clippy::type_complexity, reason = "one private tuple")]
    fn route_new(
        &self,
        packet: &Packet<'_>,
    ) -> Option<(usize, Option<Text<MAX_RID>>, Option<Text<MAX_RID>>)> {
        // RFC 8843 §9.2: the mid extension, read with each transceiver's ids (one BUNDLE
        // group shares them, but each section states its own).
        for (slot, t) in self.media.iter() {
            let map: &ExtensionMap = &t.negotiated.extensions;
            let values = map.values(packet);
            let Some(mid) = values.mid else {
                continue;
            };
            if mid.0 != t.mid.as_str() {
                continue;
            }
            let rid = values.rid.and_then(|r| Text::copy_from(r.0));
            let repaired = values.repaired_rid.and_then(|r| Text::copy_from(r.0));
            return Some((slot, rid, repaired));
        }
        let ssrc = packet.ssrc();
        for (slot, t) in self.media.iter() {
            if t.negotiated
                .remote_ssrcs
                .iter()
                .flatten()
                .any(|(m, r)| *m == ssrc || *r == Some(ssrc))
            {
                return Some((slot, None, None));
            }
        }
        // The payload type, when exactly one receiving transceiver has it.
        let pt = packet.payload_type();
        let has = |t: &Transceiver<S>| {
            t.receives()
                && (t.negotiated.codec(pt).is_some()
                    || t.negotiated.repaired(pt).is_some()
                    || t.negotiated.dtmf.is_some_and(|(d, _)| d == pt))
        };
        let mut found = self.media.iter().filter(|(_, t)| has(t));
        let first = found.next()?;
        if found.next().is_some() {
            return None;
        }
        Some((first.0, None, None))
    }

    fn insert_into(&mut self, now: Instant, i: usize, packet: &Packet<'_>) {
        if let Some(Some(r)) = self.media.receivers.get_mut(i)
            && r.ssrc == packet.ssrc()
        {
            r.last_packet = Some((now, packet.timestamp()));
            r.csrc_count = 0;
            for (slot, c) in r.csrcs.iter_mut().zip(packet.csrcs()) {
                *slot = c;
                r.csrc_count += 1;
            }
        }
        let Some(Some(r)) = self.media.receivers.get(i) else {
            return;
        };
        let Some(t) = self
            .media
            .transceivers
            .get(r.transceiver)
            .and_then(Option::as_ref)
        else {
            return;
        };
        let negotiated = t.negotiated;
        let is_rtx = r.rtx_ssrc == Some(packet.ssrc());
        let pt = packet.payload_type();
        let Some(Some(r)) = self.media.receivers.get_mut(i) else {
            return;
        };
        if is_rtx {
            // RFC 4588 §4: the original sequence number, then the original payload.
            let Some(codec) = negotiated.repaired(pt).copied() else {
                r.dropped += 1;
                return;
            };
            let payload = packet.payload();
            let osn = payload.get(..2).and_then(|b| <[u8; 2]>::try_from(b).ok());
            let (Some(osn), Some(rest)) = (osn, payload.get(2..)) else {
                // Padding-only RTX probes: nothing to restore.
                return;
            };
            // A packet that is not a hole is a duplicate (a probe's padding resends recent
            // packets; a retransmission may cross its original): it would count twice in the
            // statistics, and a forwarding host's `write_rtp` refuses a number it already sent.
            let sequence = u16::from_be_bytes(osn);
            if r.nack.as_ref().is_some_and(|n| !n.is_missing(sequence)) {
                r.duplicates += 1;
                return;
            }
            r.rtx += 1;
            let original = MediaPacket {
                sequence: u16::from_be_bytes(osn),
                timestamp: packet.timestamp(),
                marker: packet.marker(),
                payload: rest,
            };
            if r.is_raw() {
                // The original as the sender first sent it (RFC 4588 §4): its SSRC, sequence
                // number and payload type again.
                let header = peerless_rtp::packet::Header {
                    marker: original.marker,
                    payload_type: codec.pt,
                    sequence_number: original.sequence,
                    timestamp: original.timestamp,
                    ssrc: r.ssrc,
                    ..Default::default()
                };
                r.record_raw(now, original.sequence, original.timestamp, rest.len());
                let mut restored = [0u8; RAW_MAX];
                match header.emit(rest, &mut restored) {
                    Ok(n) => self.hand_out_raw(i, restored.get(..n).unwrap_or_default()),
                    Err(_) => self.media.dropped_malformed += 1,
                }
                return;
            }
            r.insert(now, codec.pt, codec.codec, original);
            return;
        }
        let is_dtmf = negotiated.dtmf.is_some_and(|(dpt, _)| dpt == pt);
        let codec = negotiated.codec(pt).copied();
        if codec.is_none() && !is_dtmf {
            r.dropped += 1;
            return;
        }
        if r.is_raw() {
            // A media server forwards telephone-events like any packet of the stream.
            r.record_raw(
                now,
                packet.sequence_number(),
                packet.timestamp(),
                packet.payload().len(),
            );
            self.hand_out_raw(i, packet.as_bytes());
            return;
        }
        let Some(codec) = codec else {
            // telephone-event shares the audio stream's sequence numbers (RFC 4733 §2.1): it
            // fills its place in the statistics and the jitter buffer, or each event packet
            // would count as lost and hold the audio back as a hole.
            r.insert(
                now,
                r.pt,
                r.codec,
                MediaPacket {
                    payload: &[],
                    ..MediaPacket::from(packet)
                },
            );
            let slot = r.transceiver;
            if let Some(Some(t)) = self.media.transceivers.get_mut(slot) {
                let d = t.dtmf.get_or_insert_with(Dtmf::new);
                if !d.receive(packet.timestamp(), packet.payload()) {
                    t.stats.dropped += 1;
                }
            }
            return;
        };
        r.insert(now, pt, codec.codec, MediaPacket::from(packet));
    }

    /// Queues a raw packet for `Event::Rtp` in its stream's area; a host that lets the
    /// area fill (it does not drain events) loses the newer packet, counted in
    /// `Stats::dropped_media_undrained`.
    fn hand_out_raw(&mut self, stream: usize, packet: &[u8]) {
        let queued = self
            .media
            .receivers
            .get_mut(stream)
            .and_then(Option::as_mut)
            .and_then(|r| r.raw.as_mut())
            .is_some_and(|ring| ring.push(packet));
        if !queued {
            self.media.dropped_undrained += 1;
        }
    }
}
