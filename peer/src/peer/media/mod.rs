//! Media: transceivers (`RTCRtpTransceiver`), their send and receive streams, and the RTCP
//! that keeps them going, over the SRTP contexts the transport made.
//!
//! ```text
//!   add_transceiver / add_track ──► Transceiver slot (kind, direction, our SSRCs)
//!   offer/answer applied ─────────► negotiate: mid, payload types, extension ids, the
//!                                   peer's SSRCs and rids, current direction, Event::Track
//!   write_frame(mid, pt, ts, frame)
//!        └─ packetizer (rtp::codec) ─► RTP packets ─► SendHistory (lent area): unsent
//!   poll_transmit ─► RTCP due? ─► RTX asked by NACK ─► oldest unsent ─► SRTP protect ─► wire
//!
//!   wire ─► SRTP unprotect ─► RTP: route by SSRC, else mid/rid extension, else payload type
//!                               ─► ReceiveStream (lent area): stats, NACK, jitter buffer
//!                               ─► poll_event: Event::MediaData borrowing the frame
//!                         └─► RTCP: SR/RR (stats, RTT), NACK (history), PLI/FIR (events)
//! ```
//!
//! Memory: the Peer's own tables are sized by `TRANSCEIVERS`; the bytes (each outgoing
//! stream's send history, each incoming stream's jitter buffer and frame) come from areas
//! the host lends with [`Peer::lend_media_area`], tagged by kind and use, so an audio-only
//! device and a 720p host run the same code with different areas.

use super::Area;
use super::*;

mod api;
mod congestion;
mod dtmf;
mod negotiate;
mod pacing;
mod raw;
mod receive;
mod rtcp;
mod send;

pub(super) use congestion::Congestion;
pub use congestion::{BandwidthUsage, BitrateLimitsError, EstimateParts};
pub(super) use dtmf::Dtmf;
pub use dtmf::MAX_TONES;
pub(super) use negotiate::Negotiated;
pub(super) use receive::ReceiveStream;
pub(super) use send::SendStream;

pub use peerless_rtp::codec::Codec;
pub use sdp::attr::Direction;
pub use sdp::jsep::TrackKind as MediaKind;

/// Areas the host may lend at once (each outgoing and each incoming stream takes one).
pub const MEDIA_AREAS: usize = 8;
/// Longest mid we keep (browsers use "0", "1", ...; older Firefox "sdparta_0").
pub(super) const MAX_MID: usize = 32;
/// Longest rid (RFC 8851 allows more; browsers use "h"/"m"/"l" or "q"/"h"/"f").
pub(super) const MAX_RID: usize = 16;
/// Longest media stream id (msid) we keep.
pub(super) const MAX_STREAM_ID: usize = 64;
/// Payload types we keep per transceiver after negotiation (media codecs, RTX, DTMF).
pub(super) const MAX_PAYLOAD_TYPES: usize = 12;
/// Codecs a transceiver's preferences name at most.
pub const MAX_PREFERENCES: usize = 8;
/// Codec entries (with RTX and telephone-event) a transceiver's preferences expand to.
pub(super) const MAX_PREFERRED_ENTRIES: usize = 16;
/// Simulcast layers received per transceiver (RFC 8853: browsers send three).
pub(super) const MAX_RIDS: usize = 3;

/// A transceiver's handle (`RTCRtpTransceiver`), a slot in the Peer's table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TransceiverId(pub(crate) u8);

/// What a lent media area is for: one outgoing stream's send history (packets waiting to
/// leave and those kept for retransmission), or one incoming stream's jitter buffer and frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AreaUse {
    /// An outgoing stream.
    Send,
    /// An incoming stream (one per simulcast layer).
    Receive,
}

/// The kind of keyframe request the peer sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum KeyframeKind {
    /// Picture Loss Indication (RFC 4585 §6.3.1).
    Pli,
    /// Full Intra Request (RFC 5104 §4.3.1).
    Fir,
}

/// Why a media call failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MediaError {
    /// Every transceiver slot is taken (`TRANSCEIVERS`).
    TooManyTransceivers,
    /// No transceiver with that id or mid.
    UnknownTransceiver,
    /// The transceiver is stopped.
    Stopped,
    /// The negotiated direction does not send (or nothing is negotiated yet).
    NotSending,
    /// The connection has no SRTP keys yet (DTLS not connected).
    NotConnected,
    /// The payload type is not one negotiated for this transceiver.
    UnknownPayloadType,
    /// The codec has no packetizer (telephone-event: use `insert_dtmf`).
    Unsupported,
    /// The frame is malformed for its codec.
    Malformed,
    /// No lent area for this stream ([`Peer::lend_media_area`]).
    NoArea,
    /// The send area cannot take the frame until packets already queued leave: backpressure.
    Full,
    /// The area pool is full ([`MEDIA_AREAS`]).
    TooManyAreas,
    /// The Peer is closed.
    Closed,
}

impl core::fmt::Display for MediaError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::TooManyTransceivers => "no free transceiver slot",
            Self::UnknownTransceiver => "no such transceiver",
            Self::Stopped => "the transceiver is stopped",
            Self::NotSending => "the transceiver does not send",
            Self::NotConnected => "not connected",
            Self::UnknownPayloadType => "payload type not negotiated",
            Self::Unsupported => "no packetizer for this codec",
            Self::Malformed => "malformed frame",
            Self::NoArea => "no media area lent for this stream",
            Self::Full => "send area full",
            Self::TooManyAreas => "media area pool full",
            Self::Closed => "closed",
        })
    }
}

impl core::error::Error for MediaError {}

/// A frame received in order (`Event::MediaData`), borrowed from the stream's area.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MediaData<'e> {
    /// The transceiver's mid.
    pub mid: &'e str,
    /// The simulcast layer's rid, if the peer sends several.
    pub rid: Option<&'e str>,
    /// The payload type it came with.
    pub pt: u8,
    /// Its codec.
    pub codec: Codec,
    /// The RTP timestamp.
    pub rtp_time: u32,
    /// No frame was lost between the previous one and this one.
    pub contiguous: bool,
    /// The frame decodes on its own.
    pub keyframe: bool,
    /// The frame (Annex-B for H.264/H.265, raw for VP8/VP9/AV1 as IVF keeps them, one
    /// Opus packet, G.711 bytes).
    pub data: &'e [u8],
}

/// A source a receiver hears (`RTCRtpContributingSource` / `RTCRtpSynchronizationSource`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RtpSource {
    /// The SSRC or CSRC.
    pub source: u32,
    /// When its last packet arrived.
    pub timestamp: Instant,
    /// That packet's RTP timestamp.
    pub rtp_timestamp: u32,
}

/// Contributing sources kept per stream (a packet may name 15).
pub(super) const MAX_CSRCS: usize = 4;

/// One transceiver's counters (what `stats_report` turns into `inbound-rtp` and
/// `outbound-rtp` entries).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MediaStats {
    /// RTP packets sent (originals).
    pub packets_sent: u64,
    /// Their payload bytes.
    pub bytes_sent: u64,
    /// Frames given to `write_frame`.
    pub frames_sent: u64,
    /// Retransmissions sent (RTX or the original resent).
    pub retransmissions_sent: u64,
    /// Recent packets resent as RTX to pad a bandwidth probe.
    pub padding_packets_sent: u64,
    /// NACK feedback messages received.
    pub nacks_received: u64,
    /// PLI received.
    pub plis_received: u64,
    /// FIR received.
    pub firs_received: u64,
    /// RTP packets received (every layer).
    pub packets_received: u64,
    /// Their payload bytes.
    pub bytes_received: u64,
    /// Packets lost, from the receiver statistics (RFC 3550 cumulative).
    pub packets_lost: i64,
    /// Frames handed out as `Event::MediaData`.
    pub frames_received: u64,
    /// Holes the jitter buffer gave up (each loses at least one frame).
    pub frames_dropped: u64,
    /// NACK messages sent.
    pub nacks_sent: u64,
    /// PLI sent.
    pub plis_sent: u64,
    /// FIR sent.
    pub firs_sent: u64,
    /// RTX packets received and restored.
    pub rtx_received: u64,
    /// RTX packets for packets already received (a probe's padding, or a retransmission
    /// that crossed its original): dropped, counted neither as received nor as RTX.
    pub duplicates_received: u64,
    /// Interarrival jitter in RTP timestamp units (the largest layer's).
    pub jitter: u32,
    /// Round-trip time from the peer's reception reports, in microseconds.
    pub round_trip_time_us: Option<u64>,
    /// Round trips measured (`remote-inbound-rtp` roundTripTimeMeasurements).
    pub round_trip_time_measurements: u64,
    /// Their sum, in microseconds (`remote-inbound-rtp` totalRoundTripTime).
    pub total_round_trip_time_us: u64,
    /// What the peer reports it lost of ours (`remote-inbound-rtp` packetsLost).
    pub remote_packets_lost: i64,
    /// The peer's last fraction lost, in 1/256 (`remote-inbound-rtp` fractionLost).
    pub remote_fraction_lost: u8,
    /// The peer's interarrival jitter of our stream, in RTP timestamp units.
    pub remote_jitter: u32,
    /// RTCP BYE received for the peer's sources on this transceiver.
    pub byes_received: u64,
    /// Packets dropped: unknown payload type, no area, malformed, too late, or (video) ahead
    /// of the stream's first frame start.
    pub dropped: u64,
}

/// One lent area, waiting in the pool or lent to a stream.
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct LentArea<S> {
    pub(super) kind: MediaKind,
    pub(super) use_: AreaUse,
    pub(super) area: S,
}

/// A transceiver's slot.
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct Transceiver<S> {
    pub(super) kind: MediaKind,
    /// Empty until the transceiver is associated with a media section (RFC 8829 §5.10).
    pub(super) mid: Text<MAX_MID>,
    /// What the application wants (`direction`).
    pub(super) direction: Direction,
    /// What the last negotiation agreed, from our side (`currentDirection`).
    pub(super) current_direction: Option<Direction>,
    /// `stop()` was called; the section is rejected in the next exchange.
    pub(super) stopped: bool,
    /// Our track's stream id (`a=msid`), when we send.
    pub(super) stream_id: Text<MAX_STREAM_ID>,
    /// A track was ever added: `add_track` does not reuse it for another.
    pub(super) had_track: bool,
    /// Our SSRCs: media and its retransmissions (RFC 4588).
    pub(super) ssrc: u32,
    pub(super) rtx_ssrc: u32,
    /// What the last exchange agreed (payload types, extension ids, the peer's sources).
    pub(super) negotiated: Negotiated,
    /// The peer's stream id (msid), for `Event::Track`.
    pub(super) remote_stream_id: Text<MAX_STREAM_ID>,
    /// `Event::Track` is owed (the peer started sending on it).
    pub(super) announce_track: bool,
    /// A keyframe request to hand out as `Event::KeyframeRequest`.
    pub(super) announce_keyframe: Option<KeyframeKind>,
    /// The outgoing stream, once negotiated to send and given an area.
    pub(super) send: Option<SendStream<S>>,
    /// The sender asked for an area it did not find ([`Event::MediaAreaNeeded`]).
    pub(super) announce_area_needed: Option<AreaUse>,
    /// DTMF sent and received (audio), once used.
    pub(super) dtmf: Option<Dtmf>,
    /// Incoming packets go to the host as they come ([`Event::Rtp`]), without a jitter
    /// buffer or an area.
    pub(super) raw: bool,
    /// `setCodecPreferences`: the codecs it offers and accepts, in order (none: all).
    pub(super) codec_preferences: [Option<Codec>; MAX_PREFERENCES],
    pub(super) stats: MediaStats,
    /// When the peer's last reception report about our stream arrived (`remote-inbound-rtp`).
    pub(super) report_received_at: Option<Instant>,
}

/// A transceiver's codec entries from `all` (the configured list of its kind), in the order
/// of its `preferences`, each with its RTX entries, then telephone-event (DTMF is not a
/// codec choice); how many were written into `out`.
pub(super) fn preferred_codecs<'c>(
    all: &'c [CodecCapability<'c>],
    preferences: &[Option<Codec>],
    out: &mut [CodecCapability<'c>],
) -> usize {
    let mut n = 0;
    let mut push = |c: &CodecCapability<'c>| {
        if let Some(slot) = out.get_mut(n) {
            *slot = *c;
            n += 1;
        }
    };
    let is = |c: &CodecCapability<'_>, name: &str| c.name.eq_ignore_ascii_case(name);
    for want in preferences.iter().flatten() {
        for c in all
            .iter()
            .filter(|c| Codec::from_rtpmap(c.name, c.clock_rate) == Some(*want))
            .filter(|c| !is(c, "telephone-event"))
        {
            push(c);
            for rtx in all.iter().filter(|r| is(r, "rtx")) {
                let apt = rtx.fmtp.and_then(|f| sdp::attr::fmtp_get(f, "apt"));
                if apt.and_then(|a| a.parse::<u8>().ok()) == Some(c.payload_type) {
                    push(rtx);
                }
            }
        }
    }
    for c in all.iter().filter(|c| is(c, "telephone-event")) {
        push(c);
    }
    n
}

/// An unused entry of a preference list.
pub(super) const NO_CODEC: CodecCapability<'static> = CodecCapability {
    payload_type: 0,
    name: "",
    clock_rate: 0,
    channels: None,
    fmtp: None,
    feedback: &[],
};

impl<S> Transceiver<S> {
    fn new(kind: MediaKind, direction: Direction, ssrc: u32, rtx_ssrc: u32) -> Self {
        Transceiver {
            kind,
            mid: Text::new(),
            direction,
            current_direction: None,
            stopped: false,
            stream_id: Text::new(),
            had_track: false,
            ssrc,
            rtx_ssrc,
            negotiated: Negotiated::default(),
            remote_stream_id: Text::new(),
            announce_track: false,
            announce_keyframe: None,
            send: None,
            announce_area_needed: None,
            dtmf: None,
            raw: false,
            codec_preferences: [None; MAX_PREFERENCES],
            stats: MediaStats::default(),
            report_received_at: None,
        }
    }

    /// Whether the negotiated direction lets us send.
    pub(super) fn sends(&self) -> bool {
        !self.stopped && self.current_direction.is_some_and(|d| d.sends())
    }

    /// Whether the negotiated direction lets us receive.
    pub(super) fn receives(&self) -> bool {
        !self.stopped && self.current_direction.is_some_and(|d| d.receives())
    }
}

/// The media half of the Peer.
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct Media<S, const TRANSCEIVERS: usize> {
    pub(super) transceivers: [Option<Transceiver<S>>; TRANSCEIVERS],
    /// Incoming streams (one per remote SSRC; a simulcast transceiver has one per layer).
    pub(super) receivers: [Option<ReceiveStream<S>>; TRANSCEIVERS],
    /// Areas lent and not in use.
    pub(super) pool: [Option<LentArea<S>>; MEDIA_AREAS],
    /// The RTCP schedules: one per transceiver slot, started with its streams.
    pub(super) rtcp: [Option<peerless_rtp::send::RtcpSchedule>; TRANSCEIVERS],
    /// Our RTCP CNAME (RFC 7022: random per Peer).
    pub(super) cname: Text<24>,
    /// A stream that found no area in the pool (each counted once per stream).
    pub(super) dropped_no_area: u64,
    /// RTP or RTCP that matched no transceiver.
    pub(super) dropped_unrouted: u64,
    /// RTP or RTCP that did not parse after SRTP.
    pub(super) dropped_malformed: u64,
    /// Round-robin start for `poll_transmit` among transceivers.
    pub(super) next_sender: usize,
    /// We offered in the last finished exchange (our current description is an offer).
    pub(super) we_offered: bool,
    /// The raw packet `Event::Rtp` lent out last: taken from its queue at the next
    /// `poll_event`.
    pub(super) raw_lent: Option<usize>,
    /// Raw packets dropped because their stream's queue was full.
    pub(super) dropped_undrained: u64,
    /// A round trip was measured from reception reports (else ICE's paces our NACKs).
    pub(super) rtcp_rtt: bool,
    /// The bandwidth estimator and the transport-wide send record (`congestion.rs`).
    pub(super) congestion: Option<Congestion<TRANSCEIVERS>>,
    /// Transport-wide arrivals to report to the peer: only the first is used
    /// (`congestion.rs` says why it is an array).
    pub(super) arrivals:
        [Option<peerless_rtp::receive::twcc::TwccFeedback<{ congestion::ARRIVALS }>>; TRANSCEIVERS],
}

impl<S: Area, const TRANSCEIVERS: usize> Media<S, TRANSCEIVERS> {
    /// `cname` and `twcc_start` are random, drawn by the Peer with its other draws.
    pub(super) fn new(cname: u64, twcc_start: u16) -> Self {
        let mut text = Text::new();
        let _ = text.push(peerless_base::text::Ascii::hex(cname, 16).as_str());
        let cname = text;
        Media {
            transceivers: [const { None }; TRANSCEIVERS],
            receivers: [const { None }; TRANSCEIVERS],
            pool: [const { None }; MEDIA_AREAS],
            rtcp: [const { None }; TRANSCEIVERS],
            cname,
            dropped_no_area: 0,
            dropped_unrouted: 0,
            dropped_malformed: 0,
            next_sender: 0,
            we_offered: false,
            raw_lent: None,
            dropped_undrained: 0,
            rtcp_rtt: false,
            // The first transport-wide sequence number is random, like RTP's. A Peer without
            // transceivers sends no RTP: it has no estimator to run (nor link).
            congestion: if TRANSCEIVERS > 0 {
                Congestion::new(twcc_start)
            } else {
                None
            },
            arrivals: core::array::from_fn(|i| (i == 0).then(congestion::arrivals)),
        }
    }

    pub(super) fn get(&self, id: TransceiverId) -> Option<&Transceiver<S>> {
        self.transceivers.get(usize::from(id.0))?.as_ref()
    }

    pub(super) fn get_mut(&mut self, id: TransceiverId) -> Option<&mut Transceiver<S>> {
        self.transceivers.get_mut(usize::from(id.0))?.as_mut()
    }

    /// The slot of the transceiver associated with `mid`.
    pub(super) fn by_mid(&self, mid: &str) -> Option<usize> {
        self.transceivers.iter().position(|t| {
            t.as_ref()
                .is_some_and(|t| t.mid.as_str() == mid && !mid.is_empty())
        })
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = (usize, &Transceiver<S>)> {
        self.transceivers
            .iter()
            .enumerate()
            .filter_map(|(i, t)| Some((i, t.as_ref()?)))
    }

    /// Takes a free area of `kind` and `use_` from the pool.
    pub(super) fn take_area(&mut self, kind: MediaKind, use_: AreaUse) -> Option<S> {
        let slot = self
            .pool
            .iter_mut()
            .find(|a| a.as_ref().is_some_and(|a| a.kind == kind && a.use_ == use_))?;
        slot.take().map(|a| a.area)
    }

    /// Gives an area back to the pool (a stream ended). The pool has room: every area in
    /// use came from it.
    pub(super) fn return_area(&mut self, kind: MediaKind, use_: AreaUse, area: S) {
        if let Some(slot) = self.pool.iter_mut().find(|a| a.is_none()) {
            *slot = Some(LentArea { kind, use_, area });
        }
    }

    /// Whether any transceiver has a send stream.
    pub(super) fn sends(&self) -> bool {
        // Constant without transceivers (the loop alone is not folded at opt-level z).
        TRANSCEIVERS > 0 && self.transceivers.iter().flatten().any(|t| t.send.is_some())
    }

    /// Whether any transceiver exists (a description then carries media sections).
    pub(super) fn any(&self) -> bool {
        TRANSCEIVERS > 0 && self.transceivers.iter().any(Option::is_some)
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
    /// Whether this Peer can carry media at all. Without transceivers (`SmallPeer`) every
    /// media section is answered with port 0, so nothing keyed by SRTP is ever sent or
    /// accepted: the few entry points into media (SRTP key derivation when DTLS connects,
    /// SRTP/SRTCP that arrives, the media part of `poll_transmit`, the media timers, the
    /// pacer's share of SCTP's sending) check this constant, and since it is known at compile
    /// time the optimizer drops what lies behind them: SRTP contexts and their AES-CM/HMAC,
    /// RTP/RTCP parsing, the congestion controller and the pacer are not linked. Loops over
    /// the transceiver tables fold away on their own (zero-length arrays); these are the
    /// paths whose state is only known at run time (an `Option` set once connected).
    pub(in crate::peer) const HAS_MEDIA: bool = TRANSCEIVERS > 0;
}

use sdp::jsep::CodecCapability;

/// The feedback we answer and send for video: NACK (with RTX), PLI, FIR, transport-wide
/// feedback (for the bandwidth estimator, `congestion.rs`), and REMB from peers that only
/// estimate on their side (it caps our estimate).
const VIDEO_FEEDBACK: &[&str] = &["goog-remb", "nack", "nack pli", "ccm fir", "transport-cc"];

/// For Opus: transport-wide feedback, so audio packets count in the estimate as browsers'
/// do.
const AUDIO_FEEDBACK: &[&str] = &["transport-cc"];

/// Audio codecs the Peer offers and accepts by default, in preference order: Opus, G.711
/// µ-law and A-law, and telephone-event (RFC 4733) for DTMF.
pub const AUDIO_CODECS: &[CodecCapability<'static>] = &[
    CodecCapability {
        payload_type: 111,
        name: "opus",
        clock_rate: 48_000,
        channels: Some(2),
        fmtp: Some("minptime=10;useinbandfec=1"),
        feedback: AUDIO_FEEDBACK,
    },
    CodecCapability {
        payload_type: 0,
        name: "PCMU",
        clock_rate: 8_000,
        channels: None,
        fmtp: None,
        feedback: &[],
    },
    CodecCapability {
        payload_type: 8,
        name: "PCMA",
        clock_rate: 8_000,
        channels: None,
        fmtp: None,
        feedback: &[],
    },
    // DTMF on Opus's clock and on G.711's (RFC 4733 §2.1: the event's clock is the audio's).
    CodecCapability {
        payload_type: 110,
        name: "telephone-event",
        clock_rate: 48_000,
        channels: None,
        fmtp: Some("0-15"),
        feedback: &[],
    },
    CodecCapability {
        payload_type: 126,
        name: "telephone-event",
        clock_rate: 8_000,
        channels: None,
        fmtp: Some("0-15"),
        feedback: &[],
    },
];

/// Video codecs the Peer offers and accepts by default, each with RTX: VP8, H.264
/// constrained baseline (packetization mode 1), VP9 profile 0, AV1 profile 0 and H.265.
pub const VIDEO_CODECS: &[CodecCapability<'static>] = &[
    video(96, "VP8", None),
    rtx(97, "apt=96"),
    video(
        102,
        "H264",
        Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
    ),
    rtx(103, "apt=102"),
    video(98, "VP9", Some("profile-id=0")),
    rtx(99, "apt=98"),
    video(45, "AV1", Some("level-idx=5;profile=0;tier=0")),
    rtx(46, "apt=45"),
    video(
        49,
        "H265",
        Some("level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST"),
    ),
    rtx(50, "apt=49"),
];

const fn video(
    payload_type: u8,
    name: &'static str,
    fmtp: Option<&'static str>,
) -> CodecCapability<'static> {
    CodecCapability {
        payload_type,
        name,
        clock_rate: 90_000,
        channels: None,
        fmtp,
        feedback: VIDEO_FEEDBACK,
    }
}

const fn rtx(payload_type: u8, apt: &'static str) -> CodecCapability<'static> {
    CodecCapability {
        payload_type,
        name: "rtx",
        clock_rate: 90_000,
        channels: None,
        fmtp: Some(apt),
        feedback: &[],
    }
}

/// The header extensions we offer and accept for audio: the mid (BUNDLE demultiplexing), the
/// transport-wide sequence number (our estimator's feedback) and the absolute send time (the
/// receive-side estimate of peers that send REMB instead).
pub const AUDIO_EXTENSIONS: &[sdp::attr::Extmap<'static>] = &[
    extmap(4, MID_URI),
    extmap(3, TRANSPORT_CC_URI),
    extmap(2, ABS_SEND_TIME_URI),
];

/// For video: the mid, the transport-wide sequence number, the absolute send time, and the
/// rid and repaired rid of simulcast layers we receive.
pub const VIDEO_EXTENSIONS: &[sdp::attr::Extmap<'static>] = &[
    extmap(4, MID_URI),
    extmap(3, TRANSPORT_CC_URI),
    extmap(2, ABS_SEND_TIME_URI),
    extmap(10, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"),
    extmap(11, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id"),
];

const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
/// draft-holmer-rmcat-transport-wide-cc-extensions-01 §2 (browsers offer this URI).
const TRANSPORT_CC_URI: &str = peerless_rtp::extension::uri::TRANSPORT_SEQUENCE_NUMBER;
const ABS_SEND_TIME_URI: &str = peerless_rtp::extension::uri::ABS_SEND_TIME;

const fn extmap(id: u16, uri: &'static str) -> sdp::attr::Extmap<'static> {
    sdp::attr::Extmap {
        id,
        direction: None,
        uri,
        attributes: None,
    }
}
