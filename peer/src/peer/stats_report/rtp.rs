//! The RTP entries of the getStats report, from the transceivers' send streams and the
//! incoming streams, as they are now.
//!
//! ```text
//!   codec               C<pt>       every payload type a stream below sends or receives with
//!                                   (one per payload type: the sections share one transport)
//!   outbound-rtp        OR<ssrc>    each sending transceiver --codecId--> C<pt>
//!                                                            --remoteId--> RI<ssrc>
//!   remote-inbound-rtp  RI<ssrc>    the peer's last reception report about it --localId--> OR
//!   inbound-rtp         IR<ssrc>    each incoming stream (a simulcast layer is one)
//!                                                            --codecId--> C<pt>
//!                                                            --remoteId--> RO<ssrc>
//!   remote-outbound-rtp RO<ssrc>    the peer's last sender report for it --localId--> IR
//!   (every one --transportId--> T01)
//! ```
//!
//! A stream's id is its SSRC, which names it while it lives; a remote entry's `timestamp` is
//! when its report arrived, as the spec has it for statistics from RTCP.

use core::fmt;

use super::super::media::{Codec, MediaKind, MediaStats, ReceiveStream, Transceiver};
use super::super::{Area, Peer};
use super::{StatsEntry, StatsId, StatsValue};
use peerless_base::Instant;
use peerless_sdp::Session;

/// `RTCCodecStats` (`type: "codec"`): a payload type a stream sends or receives with.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct CodecStats<'r> {
    /// `timestamp`.
    pub timestamp: f64,
    /// `payloadType` (the id is `C<payloadType>`).
    pub payload_type: u8,
    /// The format; `mimeType` is its kind and name (`video/VP8`, `audio/opus`).
    pub codec: Codec,
    /// `clockRate`, as the rtpmap says.
    pub clock_rate: u32,
    /// `channels`, when the rtpmap gives them (Opus: 2).
    pub channels: Option<u16>,
    /// `sdpFmtpLine`: the parameters of the answer's `a=fmtp` for the payload type (what both
    /// sides agreed), when it has one.
    pub sdp_fmtp_line: Option<&'r str>,
}

/// `RTCOutboundRtpStreamStats` (`type: "outbound-rtp"`): a transceiver's sending stream.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct OutboundRtpStats<'r> {
    /// `timestamp`.
    pub timestamp: f64,
    /// `ssrc` (the id is `OR<ssrc>`).
    pub ssrc: u32,
    /// `kind`.
    pub kind: MediaKind,
    /// `mid`.
    pub mid: &'r str,
    /// `codecId`: the payload type last sent, once one is.
    pub codec_id: Option<StatsId<'r>>,
    /// `rtxSsrc`, when RTX was negotiated.
    pub rtx_ssrc: Option<u32>,
    /// `packetsSent`: every RTP packet of the stream, retransmissions included.
    pub packets_sent: u64,
    /// `bytesSent`: their payload bytes, retransmitted ones included.
    pub bytes_sent: u64,
    /// `retransmittedPacketsSent`: the retransmissions among them (RTX or resent originals).
    pub retransmitted_packets_sent: u64,
    /// `retransmittedBytesSent`: their payload bytes (without RTX's original sequence number).
    pub retransmitted_bytes_sent: u64,
    /// `framesSent` (JSON has it for video only): frames given to `write_frame`.
    pub frames_sent: u64,
    /// `nackCount`: NACK messages received about the stream.
    pub nack_count: u64,
    /// `pliCount` (video): PLI received.
    pub pli_count: u64,
    /// `firCount` (video): FIR requests received.
    pub fir_count: u64,
    /// `remoteId`: the `remote-inbound-rtp` entry, once the peer reported on the stream.
    pub remote_id: Option<StatsId<'r>>,
}

/// `RTCInboundRtpStreamStats` (`type: "inbound-rtp"`): an incoming stream (one per SSRC; each
/// simulcast layer is one). We do not decode, so the decoder's members are left out.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct InboundRtpStats<'r> {
    /// `timestamp`.
    pub timestamp: f64,
    /// `ssrc` (the id is `IR<ssrc>`).
    pub ssrc: u32,
    /// `kind`.
    pub kind: MediaKind,
    /// `trackIdentifier`: the track id of the peer's `a=msid`, when it gives one.
    pub track_identifier: Option<&'r str>,
    /// `mid`.
    pub mid: &'r str,
    /// The simulcast layer's rid, when the peer names it. Not in JSON: the spec's inbound
    /// dictionary has no `rid` (the outbound one does).
    pub rid: Option<&'r str>,
    /// `codecId`: the payload type last received.
    pub codec_id: Option<StatsId<'r>>,
    /// `rtxSsrc`, once its RTX stream was seen.
    pub rtx_ssrc: Option<u32>,
    /// `packetsReceived`: RTP packets routed to the stream, restored RTX included.
    pub packets_received: u64,
    /// `bytesReceived`: their payload bytes.
    pub bytes_received: u64,
    /// `packetsLost`: RFC 3550's cumulative loss (expected less received; a repaired packet
    /// is received, a duplicate makes it smaller).
    pub packets_lost: i64,
    /// `jitter` in seconds: RFC 3550's interarrival jitter over the codec's clock rate.
    pub jitter: f64,
    /// `framesReceived` (JSON has it for video only): frames handed out in order; `None` in
    /// raw receive mode, where packets go to the host without being joined into frames.
    pub frames_received: Option<u64>,
    /// `nackCount`: NACK messages sent for the stream.
    pub nack_count: u64,
    /// `pliCount` (video): PLI sent.
    pub pli_count: u64,
    /// `firCount` (video): FIR sent.
    pub fir_count: u64,
    /// `retransmittedPacketsReceived`: RTX packets restored, when RTX was negotiated (without
    /// it a retransmission cannot be told from the original, and the spec leaves it out).
    pub retransmitted_packets_received: Option<u64>,
    /// `remoteId`: the `remote-outbound-rtp` entry, once the peer sent a sender report.
    pub remote_id: Option<StatsId<'r>>,
}

/// `RTCRemoteInboundRtpStreamStats` (`type: "remote-inbound-rtp"`): what the peer's last
/// reception report says about one of our streams.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct RemoteInboundRtpStats<'r> {
    /// `timestamp`: when the report arrived.
    pub timestamp: f64,
    /// `ssrc`: ours (the id is `RI<ssrc>`, `localId` is `OR<ssrc>`).
    pub ssrc: u32,
    /// `kind`.
    pub kind: MediaKind,
    /// `codecId`: as the outbound stream's.
    pub codec_id: Option<StatsId<'r>>,
    /// `packetsLost`: the report's cumulative number of packets lost.
    pub packets_lost: i64,
    /// `fractionLost`: the report's fraction lost (its 8 bits over 256).
    pub fraction_lost: f64,
    /// `jitter` in seconds, from the report's timestamp units.
    pub jitter: f64,
    /// `roundTripTime` in seconds: the latest measured (RFC 3550 §6.4.1, from LSR and DLSR).
    pub round_trip_time: Option<f64>,
    /// `totalRoundTripTime` in seconds: the sum of every measurement.
    pub total_round_trip_time: f64,
    /// `roundTripTimeMeasurements`: reports that gave a round trip.
    pub round_trip_time_measurements: u64,
}

/// `RTCRemoteOutboundRtpStreamStats` (`type: "remote-outbound-rtp"`): what the peer's last
/// sender report says about a stream we receive.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct RemoteOutboundRtpStats<'r> {
    /// `timestamp`: when the report arrived.
    pub timestamp: f64,
    /// `ssrc`: the peer's (the id is `RO<ssrc>`, `localId` is `IR<ssrc>`).
    pub ssrc: u32,
    /// `kind`.
    pub kind: MediaKind,
    /// `codecId`: as the inbound stream's.
    pub codec_id: Option<StatsId<'r>>,
    /// `packetsSent`: the report's packet count (32 bits: it wraps as the sender's does).
    pub packets_sent: u64,
    /// `bytesSent`: the report's octet count (payload bytes, wrapping likewise).
    pub bytes_sent: u64,
    /// `remoteTimestamp`: the report's NTP time in milliseconds since the Unix epoch, on the
    /// peer's clock (which need not be ours).
    pub remote_timestamp: f64,
    /// `reportsSent`: sender reports received for the stream.
    pub reports_sent: u64,
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    }
}

/// `mimeType`: the kind, then the rtpmap's encoding name.
struct MimeType(Codec);

impl fmt::Display for MimeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.0.is_video() { "video" } else { "audio" };
        write!(f, "{kind}/{}", self.0.name())
    }
}

/// Seconds from RTP timestamp units (0 for a clock rate of 0: no codec yet).
fn seconds(units: u32, clock_rate: u32) -> f64 {
    if clock_rate == 0 {
        return 0.0;
    }
    f64::from(units) / f64::from(clock_rate)
}

/// Milliseconds, as the report's timestamps count them.
fn millis(at: Instant) -> f64 {
    at.as_micros() as f64 / 1000.0
}

/// An NTP timestamp (RFC 3550 §4: seconds since 1900 and a 32-bit fraction) in milliseconds
/// since the Unix epoch (70 years and 17 leap days later: 2 208 988 800 s).
fn ntp_to_unix_millis(ntp: u64) -> f64 {
    let seconds = (ntp >> 32) as f64 - 2_208_988_800.0;
    let fraction = (ntp & 0xFFFF_FFFF) as f64 / 4_294_967_296.0;
    (seconds + fraction) * 1000.0
}

type Member<'m> = &'m mut dyn FnMut(&'static str, StatsValue<'_>) -> fmt::Result;

impl CodecStats<'_> {
    pub(super) fn members(&self, member: Member<'_>) -> fmt::Result {
        use StatsValue::{Str, Uint};
        member("transportId", Str(&StatsId::Transport))?;
        member("payloadType", Uint(u64::from(self.payload_type)))?;
        member("mimeType", Str(&MimeType(self.codec)))?;
        member("clockRate", Uint(u64::from(self.clock_rate)))?;
        if let Some(c) = self.channels {
            member("channels", Uint(u64::from(c)))?;
        }
        if let Some(line) = &self.sdp_fmtp_line {
            member("sdpFmtpLine", Str(line))?;
        }
        Ok(())
    }
}

/// `ssrc`, `kind`, `transportId` and `codecId`: what every RTP stream entry starts with.
fn stream_members(
    member: Member<'_>,
    ssrc: u32,
    kind: MediaKind,
    codec_id: Option<&StatsId<'_>>,
) -> fmt::Result {
    use StatsValue::{Str, Uint};
    member("ssrc", Uint(u64::from(ssrc)))?;
    member("kind", Str(&kind_name(kind)))?;
    member("transportId", Str(&StatsId::Transport))?;
    if let Some(id) = codec_id {
        member("codecId", Str(id))?;
    }
    Ok(())
}

impl OutboundRtpStats<'_> {
    pub(super) fn members(&self, member: Member<'_>) -> fmt::Result {
        use StatsValue::{Str, Uint};
        stream_members(member, self.ssrc, self.kind, self.codec_id.as_ref())?;
        member("mid", Str(&self.mid))?;
        if let Some(rtx) = self.rtx_ssrc {
            member("rtxSsrc", Uint(u64::from(rtx)))?;
        }
        member("packetsSent", Uint(self.packets_sent))?;
        member("bytesSent", Uint(self.bytes_sent))?;
        member(
            "retransmittedPacketsSent",
            Uint(self.retransmitted_packets_sent),
        )?;
        member(
            "retransmittedBytesSent",
            Uint(self.retransmitted_bytes_sent),
        )?;
        member("nackCount", Uint(self.nack_count))?;
        // The spec has these for video only.
        if self.kind == MediaKind::Video {
            member("framesSent", Uint(self.frames_sent))?;
            member("pliCount", Uint(self.pli_count))?;
            member("firCount", Uint(self.fir_count))?;
        }
        if let Some(id) = &self.remote_id {
            member("remoteId", Str(id))?;
        }
        Ok(())
    }
}

impl InboundRtpStats<'_> {
    pub(super) fn members(&self, member: Member<'_>) -> fmt::Result {
        use StatsValue::{Float, Int, Str, Uint};
        stream_members(member, self.ssrc, self.kind, self.codec_id.as_ref())?;
        if let Some(track) = &self.track_identifier {
            member("trackIdentifier", Str(track))?;
        }
        member("mid", Str(&self.mid))?;
        if let Some(rtx) = self.rtx_ssrc {
            member("rtxSsrc", Uint(u64::from(rtx)))?;
        }
        member("packetsReceived", Uint(self.packets_received))?;
        member("bytesReceived", Uint(self.bytes_received))?;
        member("packetsLost", Int(self.packets_lost))?;
        member("jitter", Float(self.jitter))?;
        member("nackCount", Uint(self.nack_count))?;
        if self.kind == MediaKind::Video {
            if let Some(n) = self.frames_received {
                member("framesReceived", Uint(n))?;
            }
            member("pliCount", Uint(self.pli_count))?;
            member("firCount", Uint(self.fir_count))?;
        }
        if let Some(n) = self.retransmitted_packets_received {
            member("retransmittedPacketsReceived", Uint(n))?;
        }
        if let Some(id) = &self.remote_id {
            member("remoteId", Str(id))?;
        }
        Ok(())
    }
}

impl RemoteInboundRtpStats<'_> {
    pub(super) fn members(&self, member: Member<'_>) -> fmt::Result {
        use StatsValue::{Float, Int, Str, Uint};
        stream_members(member, self.ssrc, self.kind, self.codec_id.as_ref())?;
        member("localId", Str(&StatsId::OutboundRtp(self.ssrc)))?;
        member("packetsLost", Int(self.packets_lost))?;
        member("fractionLost", Float(self.fraction_lost))?;
        member("jitter", Float(self.jitter))?;
        if let Some(rtt) = self.round_trip_time {
            member("roundTripTime", Float(rtt))?;
        }
        member("totalRoundTripTime", Float(self.total_round_trip_time))?;
        member(
            "roundTripTimeMeasurements",
            Uint(self.round_trip_time_measurements),
        )?;
        Ok(())
    }
}

impl RemoteOutboundRtpStats<'_> {
    pub(super) fn members(&self, member: Member<'_>) -> fmt::Result {
        use StatsValue::{Float, Str, Uint};
        stream_members(member, self.ssrc, self.kind, self.codec_id.as_ref())?;
        member("localId", Str(&StatsId::InboundRtp(self.ssrc)))?;
        member("packetsSent", Uint(self.packets_sent))?;
        member("bytesSent", Uint(self.bytes_sent))?;
        member("remoteTimestamp", Float(self.remote_timestamp))?;
        member("reportsSent", Uint(self.reports_sent))?;
        Ok(())
    }
}

/// Payload types as a set (they are 7 bits).
#[derive(Default)]
struct PayloadTypes(u128);

impl PayloadTypes {
    /// Adds `pt`; whether it was new.
    fn insert(&mut self, pt: u8) -> bool {
        let bit = 1u128 << (pt & 0x7f);
        let new = self.0 & bit == 0;
        self.0 |= bit;
        new
    }
}

/// The payload type a transceiver's send stream last sent, if it is a negotiated codec.
fn sending_pt<S: Area>(t: &Transceiver<S>) -> Option<u8> {
    let pt = t.send.as_ref()?.payload_type()?;
    t.negotiated.codec(pt).map(|c| c.pt)
}

/// The payload type a stream last received, if its transceiver still has that codec.
fn receiving_pt<S: Area>(t: &Transceiver<S>, r: &ReceiveStream<S>) -> Option<u8> {
    t.negotiated.codec(r.pt).map(|c| c.pt)
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
    /// The RTP entries (see the module docs), in the order codecs, then each sending
    /// transceiver's outbound and remote-inbound, then each incoming stream's inbound and
    /// remote-outbound.
    pub(super) fn rtp_report(&self, timestamp: f64, visit: &mut dyn FnMut(StatsEntry<'_>)) {
        // The answer of the last exchange says what was agreed for each payload type.
        let answer = if self.media.we_offered {
            self.remote.current()
        } else {
            self.local.current()
        };
        let answer = answer.and_then(|text| Session::parse(text).ok());
        let remote = self.remote.current().and_then(|t| Session::parse(t).ok());
        let transceiver = |slot: usize| self.media.transceivers.get(slot)?.as_ref();

        let mut seen = PayloadTypes::default();
        let sending = self
            .media
            .iter()
            .filter_map(|(_, t)| Some((t, sending_pt(t)?)));
        let receiving = self.media.receivers.iter().flatten().filter_map(|r| {
            let t = transceiver(r.transceiver)?;
            Some((t, receiving_pt(t, r)?))
        });
        for (t, pt) in sending.chain(receiving) {
            if !seen.insert(pt) {
                continue;
            }
            let Some(codec) = t.negotiated.codec(pt).map(|c| c.codec) else {
                continue;
            };
            let section = answer.as_ref().and_then(|a| a.media_by_mid(t.mid.as_str()));
            let rtpmap = section.as_ref().and_then(|s| s.rtpmap(pt));
            visit(StatsEntry::Codec(CodecStats {
                timestamp,
                payload_type: pt,
                codec,
                clock_rate: rtpmap.map_or(codec.clock_rate(), |m| m.clock_rate),
                channels: rtpmap.and_then(|m| m.channels),
                sdp_fmtp_line: section.as_ref().and_then(|s| s.fmtp(pt)).map(|f| f.params),
            }));
        }

        for (_, t) in self.media.iter() {
            let Some(send) = &t.send else {
                continue;
            };
            let mut s = MediaStats::default();
            send.add_stats(&mut s);
            let pt = sending_pt(t);
            let codec_id = pt.map(StatsId::Codec);
            let rtx = t
                .negotiated
                .codecs
                .iter()
                .flatten()
                .any(|c| c.nack && c.rtx.is_some());
            visit(StatsEntry::OutboundRtp(OutboundRtpStats {
                timestamp,
                ssrc: t.ssrc,
                kind: t.kind,
                mid: t.mid.as_str(),
                codec_id,
                rtx_ssrc: rtx.then_some(t.rtx_ssrc),
                packets_sent: s.packets_sent + s.retransmissions_sent,
                bytes_sent: s.bytes_sent + send.retransmitted_bytes(),
                retransmitted_packets_sent: s.retransmissions_sent,
                retransmitted_bytes_sent: send.retransmitted_bytes(),
                frames_sent: s.frames_sent,
                nack_count: t.stats.nacks_received,
                pli_count: t.stats.plis_received,
                fir_count: t.stats.firs_received,
                remote_id: t
                    .report_received_at
                    .map(|_| StatsId::RemoteInboundRtp(t.ssrc)),
            }));
            let Some(at) = t.report_received_at else {
                continue;
            };
            let clock_rate = pt
                .and_then(|pt| t.negotiated.codec(pt))
                .map_or(0, |c| c.codec.clock_rate());
            visit(StatsEntry::RemoteInboundRtp(RemoteInboundRtpStats {
                timestamp: millis(at),
                ssrc: t.ssrc,
                kind: t.kind,
                codec_id,
                packets_lost: t.stats.remote_packets_lost,
                fraction_lost: f64::from(t.stats.remote_fraction_lost) / 256.0,
                jitter: seconds(t.stats.remote_jitter, clock_rate),
                round_trip_time: t.stats.round_trip_time_us.map(|us| us as f64 / 1e6),
                total_round_trip_time: t.stats.total_round_trip_time_us as f64 / 1e6,
                round_trip_time_measurements: t.stats.round_trip_time_measurements,
            }));
        }

        for r in self.media.receivers.iter().flatten() {
            let Some(t) = transceiver(r.transceiver) else {
                continue;
            };
            let mut s = MediaStats::default();
            r.add_stats(&mut s);
            let pt = receiving_pt(t, r);
            let codec_id = pt.map(StatsId::Codec);
            let rtx = pt
                .and_then(|pt| t.negotiated.codec(pt))
                .is_some_and(|c| c.rtx.is_some());
            let track = remote
                .as_ref()
                .and_then(|d| d.media_by_mid(t.mid.as_str()))
                .and_then(|m| m.msids().next())
                .and_then(|m| m.track);
            visit(StatsEntry::InboundRtp(InboundRtpStats {
                timestamp,
                ssrc: r.ssrc,
                kind: r.kind,
                track_identifier: track,
                mid: t.mid.as_str(),
                rid: Some(r.rid.as_str()).filter(|rid| !rid.is_empty()),
                codec_id,
                rtx_ssrc: r.rtx_ssrc,
                packets_received: s.packets_received,
                bytes_received: s.bytes_received,
                packets_lost: s.packets_lost,
                jitter: seconds(s.jitter, r.codec.clock_rate()),
                frames_received: (!r.is_raw()).then_some(s.frames_received),
                nack_count: s.nacks_sent,
                pli_count: s.plis_sent,
                fir_count: s.firs_sent,
                retransmitted_packets_received: rtx.then_some(s.rtx_received),
                remote_id: r.sender_report.map(|_| StatsId::RemoteOutboundRtp(r.ssrc)),
            }));
            let Some((at, info)) = r.sender_report else {
                continue;
            };
            visit(StatsEntry::RemoteOutboundRtp(RemoteOutboundRtpStats {
                timestamp: millis(at),
                ssrc: r.ssrc,
                kind: r.kind,
                codec_id,
                packets_sent: u64::from(info.packet_count),
                bytes_sent: u64::from(info.octet_count),
                remote_timestamp: ntp_to_unix_millis(info.ntp_timestamp),
                reports_sent: r.sender_reports,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{MimeType, PayloadTypes, ntp_to_unix_millis, seconds};
    use core::fmt::Write;

    #[test]
    fn ntp_times_become_unix_milliseconds() {
        // 1970-01-01 in NTP seconds, then 2024-01-01T00:00:00.5Z (1 704 067 200 s since
        // the Unix epoch) with half a second of fraction.
        assert_eq!(ntp_to_unix_millis(2_208_988_800 << 32), 0.0);
        let ntp = ((2_208_988_800 + 1_704_067_200u64) << 32) | 0x8000_0000;
        assert_eq!(ntp_to_unix_millis(ntp), 1_704_067_200_500.0);
    }

    #[test]
    fn jitter_is_seconds_of_the_clock() {
        assert_eq!(seconds(900, 90_000), 0.01);
        assert_eq!(seconds(480, 48_000), 0.01);
        assert_eq!(seconds(480, 0), 0.0);
    }

    #[test]
    fn mime_types_are_kind_and_encoding_name() {
        let mut t = crate::Text::<32>::new();
        for (codec, want) in [
            (super::Codec::Vp8, "video/VP8"),
            (super::Codec::Opus, "audio/opus"),
            (super::Codec::Pcmu, "audio/PCMU"),
            (super::Codec::H264, "video/H264"),
        ] {
            t.clear();
            write!(t, "{}", MimeType(codec)).unwrap_or_default();
            assert_eq!(t.as_str(), want);
        }
    }

    #[test]
    fn payload_types_are_a_set() {
        let mut set = PayloadTypes::default();
        assert!(set.insert(96));
        assert!(set.insert(0));
        assert!(set.insert(127));
        assert!(!set.insert(96));
        assert!(!set.insert(127));
    }
}
