//! JSEP offer/answer (RFC 8829) as pure functions: local capabilities (and the previous local
//! description, for renegotiation) in, SDP text out.
//!
//! ```text
//!        offerer                                              answerer
//!   create_offer(local, previous)
//!     m= per section, in the order of the previous
//!     description; new sections recycle rejected
//!     ones (port 0) or are appended;
//!     BUNDLE all, setup:actpass, ICE ufrag/pwd,
//!     fingerprint(s), ice-options:trickle
//!                      ───────────── offer ─────────────►
//!                                                   create_answer(local, offer, previous)
//!                                                     same sections, same order, same mids;
//!                                                     unsupported ones rejected (port 0);
//!                                                     codecs = offer ∩ local, offerer's PTs;
//!                                                     direction = RFC 3264 §6.1 answer;
//!                                                     setup: active for actpass (RFC 8842),
//!                                                     the current role on renegotiation;
//!                                                     BUNDLE accepted; our max-message-size
//!                      ◄──────────── answer ────────────
//!   renegotiation: same session id, session version + 1 when anything changed (RFC 8829
//!   §5.2.2); an ICE restart is new credentials in `Local` (detected on the other side with
//!   `is_ice_restart`).
//! ```
//!
//! Candidates, credentials, fingerprints and mids are data the caller (the `Peer`) supplies;
//! these functions hold no state. Their output is CRLF text that [`Session::parse`] reads back.

use core::fmt::{self, Write as _};

use crate::attr::{Direction, Extmap, Fingerprint, Msid, RtcpFb, Rtpmap, Setup, fmtp_get};
use crate::session::{MAX_MEDIA, Media, MediaKind, Session};
use crate::write::{SdpWriter, SliceWriter, WriteError};

/// The maximum message size we announce by default: what Chromium and aiortc use.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 262_144;

/// What the remote may send when it announces no `a=max-message-size` (RFC 8841 §6.1).
pub const IMPLICIT_MAX_MESSAGE_SIZE: u64 = 65_536;

/// ICE credentials for our side (RFC 8839 §5.4). New ones in an offer are an ICE restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IceCredentials<'a> {
    /// `a=ice-ufrag`: 4..=256 ice-chars.
    pub ufrag: &'a str,
    /// `a=ice-pwd`: 22..=256 ice-chars, random.
    pub pwd: &'a str,
}

impl<'a> IceCredentials<'a> {
    /// Credentials from their two strings.
    #[must_use]
    pub const fn new(ufrag: &'a str, pwd: &'a str) -> Self {
        IceCredentials { ufrag, pwd }
    }
}

/// The data channel section we offer or accept (RFC 8841).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataChannel<'a> {
    /// Its mid when we offer it (in an answer the offerer's mid is used).
    pub mid: &'a str,
    /// `a=sctp-port` (5000 everywhere in practice).
    pub sctp_port: u16,
    /// `a=max-message-size`: the largest message we accept (0 = no limit).
    pub max_message_size: u64,
}

impl<'a> DataChannel<'a> {
    /// SCTP port 5000 and a 256 KiB message limit, with `mid`.
    #[must_use]
    pub const fn new(mid: &'a str) -> Self {
        DataChannel {
            mid,
            sctp_port: 5000,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        }
    }
}

/// Audio or video.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// `m=audio`.
    Audio,
    /// `m=video`.
    Video,
}

impl TrackKind {
    fn media_kind(self) -> MediaKind<'static> {
        match self {
            Self::Audio => MediaKind::Audio,
            Self::Video => MediaKind::Video,
        }
    }

    fn of(kind: MediaKind<'_>) -> Option<Self> {
        match kind {
            MediaKind::Audio => Some(Self::Audio),
            MediaKind::Video => Some(Self::Video),
            _ => None,
        }
    }
}

/// A codec we can send and receive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodecCapability<'a> {
    /// The payload type we use in our offers (answers use the offerer's).
    pub payload_type: u8,
    /// The encoding name (`opus`, `VP8`, `H264`, `rtx`, `telephone-event`).
    pub name: &'a str,
    /// The RTP clock rate.
    pub clock_rate: u32,
    /// Audio channels (`Some(2)` for opus), `None` for video.
    pub channels: Option<u16>,
    /// Our `a=fmtp` parameters. For `rtx` the `apt=` is written by the functions here.
    pub fmtp: Option<&'a str>,
    /// The RTCP feedback we support for it (`nack`, `nack pli`, `transport-cc`).
    pub feedback: &'a [&'a str],
}

const VIDEO_FEEDBACK: &[&str] = &["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"];

/// Opus, PCMU, PCMA and telephone-event: what every browser offers and aiortc accepts.
pub const DEFAULT_AUDIO_CODECS: &[CodecCapability<'static>] = &[
    CodecCapability {
        payload_type: 111,
        name: "opus",
        clock_rate: 48_000,
        channels: Some(2),
        fmtp: Some("minptime=10;useinbandfec=1"),
        feedback: &["transport-cc"],
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
    CodecCapability {
        payload_type: 126,
        name: "telephone-event",
        clock_rate: 8_000,
        channels: None,
        fmtp: Some("0-15"),
        feedback: &[],
    },
];

/// VP8 and H.264 constrained baseline (packetization mode 1), each with RTX.
pub const DEFAULT_VIDEO_CODECS: &[CodecCapability<'static>] = &[
    CodecCapability {
        payload_type: 96,
        name: "VP8",
        clock_rate: 90_000,
        channels: None,
        fmtp: None,
        feedback: VIDEO_FEEDBACK,
    },
    CodecCapability {
        payload_type: 97,
        name: "rtx",
        clock_rate: 90_000,
        channels: None,
        fmtp: Some("apt=96"),
        feedback: &[],
    },
    CodecCapability {
        payload_type: 102,
        name: "H264",
        clock_rate: 90_000,
        channels: None,
        fmtp: Some("level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"),
        feedback: VIDEO_FEEDBACK,
    },
    CodecCapability {
        payload_type: 103,
        name: "rtx",
        clock_rate: 90_000,
        channels: None,
        fmtp: Some("apt=102"),
        feedback: &[],
    },
];

/// The header extensions we offer for audio: mid (needed for BUNDLE demux without SSRCs),
/// audio level and transport-wide sequence numbers.
pub const DEFAULT_AUDIO_EXTMAPS: &[Extmap<'static>] = &[
    Extmap {
        id: 1,
        direction: None,
        uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        attributes: None,
    },
    Extmap {
        id: 3,
        direction: None,
        uri: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        attributes: None,
    },
    Extmap {
        id: 4,
        direction: None,
        uri: "urn:ietf:params:rtp-hdrext:sdes:mid",
        attributes: None,
    },
];

/// The header extensions we offer for video: mid, rid for simulcast, abs-send-time and
/// transport-wide sequence numbers.
pub const DEFAULT_VIDEO_EXTMAPS: &[Extmap<'static>] = &[
    Extmap {
        id: 2,
        direction: None,
        uri: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        attributes: None,
    },
    Extmap {
        id: 3,
        direction: None,
        uri: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
        attributes: None,
    },
    Extmap {
        id: 4,
        direction: None,
        uri: "urn:ietf:params:rtp-hdrext:sdes:mid",
        attributes: None,
    },
    Extmap {
        id: 10,
        direction: None,
        uri: "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        attributes: None,
    },
    Extmap {
        id: 11,
        direction: None,
        uri: "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
        attributes: None,
    },
];

/// One RTP transceiver (`RTCRtpTransceiver`): a media section we offer or answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transceiver<'a> {
    /// Its mid. In an answer it is matched to the offered section with the same mid, or, if
    /// no offered section has it, to the first unmatched offered section of its kind.
    pub mid: &'a str,
    /// Audio or video.
    pub kind: TrackKind,
    /// What we want to do (`sendrecv` with a track, `recvonly` without).
    pub direction: Direction,
    /// A stopped transceiver's section is rejected (port 0) and may be recycled.
    pub stopped: bool,
    /// The `a=msid` of the track we send.
    pub msid: Option<Msid<'a>>,
    /// The SSRC we send with.
    pub ssrc: Option<u32>,
    /// The SSRC of our retransmissions (RFC 4588), grouped with `ssrc` by `a=ssrc-group:FID`.
    pub rtx_ssrc: Option<u32>,
    /// Our RTCP CNAME (RFC 7022).
    pub cname: &'a str,
}

impl<'a> Transceiver<'a> {
    /// A `sendrecv` transceiver with no track description yet.
    #[must_use]
    pub const fn new(mid: &'a str, kind: TrackKind) -> Self {
        Transceiver {
            mid,
            kind,
            direction: Direction::SendRecv,
            stopped: false,
            msid: None,
            ssrc: None,
            rtx_ssrc: None,
            cname: "peerless",
        }
    }
}

/// Everything we bring to a negotiation. Built by the `Peer` from its configuration, its
/// certificate, its ICE agent and its transceivers.
#[derive(Clone, Copy, Debug)]
pub struct Local<'a> {
    /// Our `o=` session id, chosen once at random (RFC 8829 §5.2.1: below 2^63).
    pub session_id: u64,
    /// Our ICE credentials; new ones restart ICE.
    pub ice: IceCredentials<'a>,
    /// `a=ice-lite`: we are a lite implementation (RFC 8445 §2.5).
    pub ice_lite: bool,
    /// `a=ice-options:trickle` (RFC 8840): we send candidates later.
    pub trickle: bool,
    /// Our certificate's fingerprints (at least one, `sha-256` recommended).
    pub fingerprints: &'a [Fingerprint<'a>],
    /// Raw candidate lines gathered so far (without `a=candidate:`).
    pub candidates: &'a [&'a str],
    /// Gathering is complete: `a=end-of-candidates`.
    pub end_of_candidates: bool,
    /// The role we take when an offer says `actpass`: `Active` (RFC 8829 §5.3.1 says the
    /// answerer SHOULD) or `Passive`.
    pub answer_setup: Setup,
    /// The DTLS role of the current association, kept on renegotiation (RFC 8842 §5.5).
    pub dtls_role: Option<Setup>,
    /// The data channel section, if we want one.
    pub data_channel: Option<DataChannel<'a>>,
    /// The RTP transceivers.
    pub transceivers: &'a [Transceiver<'a>],
    /// Audio codecs, in preference order.
    pub audio_codecs: &'a [CodecCapability<'a>],
    /// Video codecs, in preference order.
    pub video_codecs: &'a [CodecCapability<'a>],
    /// Audio header extensions.
    pub audio_extmaps: &'a [Extmap<'a>],
    /// Video header extensions.
    pub video_extmaps: &'a [Extmap<'a>],
}

impl<'a> Local<'a> {
    /// Capabilities with the default codecs and extensions, trickle on, no sections yet.
    #[must_use]
    pub const fn new(
        session_id: u64,
        ice: IceCredentials<'a>,
        fingerprints: &'a [Fingerprint<'a>],
    ) -> Self {
        Local {
            session_id,
            ice,
            ice_lite: false,
            trickle: true,
            fingerprints,
            candidates: &[],
            end_of_candidates: false,
            answer_setup: Setup::Active,
            dtls_role: None,
            data_channel: None,
            transceivers: &[],
            audio_codecs: DEFAULT_AUDIO_CODECS,
            video_codecs: DEFAULT_VIDEO_CODECS,
            audio_extmaps: DEFAULT_AUDIO_EXTMAPS,
            video_extmaps: DEFAULT_VIDEO_EXTMAPS,
        }
    }

    fn codecs(&self, kind: TrackKind) -> &'a [CodecCapability<'a>] {
        match kind {
            TrackKind::Audio => self.audio_codecs,
            TrackKind::Video => self.video_codecs,
        }
    }

    fn extmaps(&self, kind: TrackKind) -> &'a [Extmap<'a>] {
        match kind {
            TrackKind::Audio => self.audio_extmaps,
            TrackKind::Video => self.video_extmaps,
        }
    }
}

/// Why an offer or answer could not be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsepError {
    /// A section of the offer or of the previous description has no `a=mid` (RFC 8829 §5.2.1
    /// requires one).
    MissingMid {
        /// The section's index.
        index: usize,
    },
    /// Two sections would get the same mid.
    DuplicateMid,
    /// More than [`MAX_MEDIA`] sections.
    TooManySections,
    /// No fingerprint to offer: DTLS-SRTP needs one (RFC 8122).
    NoFingerprint,
    /// A transceiver's kind has no codecs: an `m=` line needs at least one format.
    NoCodecs,
    /// The output does not fit: this many bytes are needed.
    BufferTooSmall(usize),
    /// The output rejected a write.
    Format,
}

impl fmt::Display for JsepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingMid { index } => write!(f, "media section {index} has no mid"),
            Self::DuplicateMid => f.write_str("duplicate mid"),
            Self::TooManySections => f.write_str("too many media sections"),
            Self::NoFingerprint => f.write_str("no certificate fingerprint"),
            Self::NoCodecs => f.write_str("no codecs for a transceiver's media kind"),
            Self::BufferTooSmall(n) => write!(f, "buffer too small: {n} bytes needed"),
            Self::Format => f.write_str("output failed"),
        }
    }
}

impl core::error::Error for JsepError {}

impl From<fmt::Error> for JsepError {
    fn from(_: fmt::Error) -> Self {
        JsepError::Format
    }
}

impl From<WriteError> for JsepError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::BufferTooSmall(b) => JsepError::BufferTooSmall(b.needed),
            WriteError::Format => JsepError::Format,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// What fills one section of the description we write.
#[derive(Clone, Copy, Debug)]
enum Content {
    /// The data channel.
    Data,
    /// `local.transceivers[i]`.
    Track(usize),
    /// A rejected section; the index of the section (in the previous description for an
    /// offer, in the offer for an answer) whose m= line it repeats with port 0.
    Rejected(usize),
    /// An answer accepting an offered RTP section without a local transceiver: we receive.
    ReceiveOnly(TrackKind),
}

#[derive(Clone, Copy, Debug)]
struct Slot<'a> {
    mid: &'a str,
    content: Content,
}

type Plan<'a> = heapless::Vec<Slot<'a>, MAX_MEDIA>;

fn push<'a>(plan: &mut Plan<'a>, slot: Slot<'a>) -> Result<(), JsepError> {
    if plan.iter().any(|s| s.mid == slot.mid) {
        return Err(JsepError::DuplicateMid);
    }
    plan.push(slot).map_err(|_| JsepError::TooManySections)
}

/// The `o=` session id: ours, or the one of the description we continue.
#[derive(Clone, Copy, Debug)]
enum SessionId<'a> {
    New(u64),
    Continued(&'a str),
}

impl fmt::Display for SessionId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::New(id) => write!(f, "{id}"),
            Self::Continued(id) => f.write_str(id),
        }
    }
}

/// A `fmt::Write` that only checks whether the text equals `expected`.
struct Compare<'e> {
    rest: &'e str,
    equal: bool,
}

impl fmt::Write for Compare<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.rest.strip_prefix(s) {
            Some(rest) if self.equal => self.rest = rest,
            _ => self.equal = false,
        }
        Ok(())
    }
}

/// The text of `previous` after its `o=` line.
fn body_after_origin<'p>(previous: &Session<'p>) -> Option<&'p str> {
    let text = previous.text();
    let at = text.find("\no=")?;
    let after = text.get(at + 1..)?;
    let end = after.find('\n')?;
    after.get(end + 1..)
}

/// Writes `v=`, `o=` and then the body; with a previous description, keeps its session id and
/// bumps its version only if the body changed (RFC 8829 §5.2.2, §5.3.2).
fn write_with_origin<W: fmt::Write>(
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    out: &mut W,
    body: impl Fn(&mut dyn fmt::Write) -> fmt::Result,
) -> Result<(), JsepError> {
    let (id, version) = match previous {
        Some(p) => {
            let origin = p.origin();
            let unchanged = body_after_origin(p).is_some_and(|expected| {
                let mut cmp = Compare {
                    rest: expected,
                    equal: true,
                };
                body(&mut cmp).is_ok() && cmp.equal && cmp.rest.is_empty()
            });
            let version = if unchanged {
                origin.session_version
            } else {
                origin.session_version.saturating_add(1)
            };
            (SessionId::Continued(origin.session_id), version)
        }
        None => (SessionId::New(local.session_id), 1),
    };
    let mut w = SdpWriter::new(out);
    w.line('v', 0)?;
    w.line('o', format_args!("- {id} {version} IN IP4 127.0.0.1"))?;
    body(w.inner())?;
    Ok(())
}

/// The port and address for the m= and c= lines: those of the first candidate, else the
/// "no candidates yet" placeholder `9` / `0.0.0.0` of RFC 8840 §4.1.1.
fn default_address<'a>(local: &Local<'a>) -> (u16, &'a str, &'a str) {
    local
        .candidates
        .iter()
        .find_map(|c| {
            let mut f = c.split(' ').filter(|w| !w.is_empty());
            let address = f.nth(4)?;
            let port = crate::attr::parse_u16(f.next()?)?;
            // mDNS names and anything not an IP literal must not go into c= (RFC 8829
            // §5.2.1 uses 0.0.0.0 then).
            let ip6 = address.contains(':');
            let literal = address
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
            literal.then_some((port, if ip6 { "IP6" } else { "IP4" }, address))
        })
        .unwrap_or((9, "IP4", "0.0.0.0"))
}

fn write_transport(w: &mut dyn fmt::Write, local: &Local<'_>, setup: Setup) -> fmt::Result {
    let mut w = SdpWriter::new(w);
    for c in local.candidates {
        w.attr("candidate", c)?;
    }
    if local.end_of_candidates {
        w.flag("end-of-candidates")?;
    }
    w.attr("ice-ufrag", local.ice.ufrag)?;
    w.attr("ice-pwd", local.ice.pwd)?;
    if local.trickle {
        w.attr("ice-options", "trickle")?;
    }
    for fp in local.fingerprints {
        w.attr("fingerprint", fp)?;
    }
    w.attr("setup", setup)
}

fn write_session_head(
    w: &mut dyn fmt::Write,
    local: &Local<'_>,
    plan: &Plan<'_>,
    accepted: impl Fn(&Slot<'_>) -> bool,
    allow_mixed: bool,
) -> fmt::Result {
    let mut sdp = SdpWriter::new(&mut *w);
    sdp.line('s', "-")?;
    sdp.line('t', "0 0")?;
    if plan.iter().any(&accepted) {
        w.write_str("a=group:BUNDLE")?;
        for slot in plan.iter().filter(|s| accepted(s)) {
            write!(w, " {}", slot.mid)?;
        }
        w.write_str("\r\n")?;
    }
    let mut sdp = SdpWriter::new(w);
    if local.ice_lite {
        sdp.flag("ice-lite")?;
    }
    if allow_mixed {
        sdp.flag("extmap-allow-mixed")?;
    }
    sdp.attr("msid-semantic", " WMS *")
}

fn write_rejected(w: &mut dyn fmt::Write, from: &Media<'_>, mid: &str) -> fmt::Result {
    let line = from.media_line();
    let mut w = SdpWriter::new(w);
    w.line(
        'm',
        format_args!("{} 0 {} {}", line.kind, line.proto, line.formats),
    )?;
    w.line('c', "IN IP4 0.0.0.0")?;
    w.attr("mid", mid)?;
    if line.is_rtp() {
        w.flag("inactive")?;
    }
    Ok(())
}

fn write_track_source(
    w: &mut SdpWriter<'_, dyn fmt::Write + '_>,
    t: &Transceiver<'_>,
) -> fmt::Result {
    if let Some(msid) = t.msid {
        w.attr("msid", msid)?;
    }
    if let (Some(ssrc), Some(rtx)) = (t.ssrc, t.rtx_ssrc) {
        w.attr("ssrc-group", format_args!("FID {ssrc} {rtx}"))?;
    }
    for s in [t.ssrc, t.rtx_ssrc].into_iter().flatten() {
        w.attr("ssrc", format_args!("{s} cname:{}", t.cname))?;
        if let Some(msid) = t.msid {
            w.attr("ssrc", format_args!("{s} msid:{msid}"))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Offer

/// Writes an offer (RFC 8829 §5.2) into `out`.
///
/// `previous` is our current local description (the last offer or answer we applied), or
/// `None` for the first offer. With it, every previous section keeps its place and mid: a
/// section whose transceiver is gone or stopped is written rejected (port 0), new
/// transceivers (and the data channel) take the place of the first rejected section
/// ("recycling", §5.2.2) or are appended, and the session version goes up by one if anything
/// changed.
pub fn create_offer<W: fmt::Write>(
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    out: &mut W,
) -> Result<(), JsepError> {
    if local.fingerprints.is_empty() {
        return Err(JsepError::NoFingerprint);
    }
    let plan = plan_offer(local, previous)?;
    let without_codecs = |s: &Slot<'_>| match s.content {
        Content::Track(i) => local
            .transceivers
            .get(i)
            .is_none_or(|t| local.codecs(t.kind).is_empty()),
        _ => false,
    };
    if plan.iter().any(without_codecs) {
        return Err(JsepError::NoCodecs);
    }
    let live = |s: &Slot<'_>| !matches!(s.content, Content::Rejected(_));
    let has_rtp = plan.iter().any(|s| matches!(s.content, Content::Track(_)));
    write_with_origin(local, previous, out, |w| {
        write_session_head(w, local, &plan, live, has_rtp)?;
        for slot in &plan {
            write_offer_section(w, local, previous, slot)?;
        }
        Ok(())
    })
}

/// [`create_offer`] into `buf`, returning the text.
pub fn offer_to_slice<'b>(
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    buf: &'b mut [u8],
) -> Result<&'b str, JsepError> {
    let mut result = Ok(());
    let text = crate::write::write_to_slice(buf, |w: &mut SliceWriter<'_>| {
        result = create_offer(local, previous, w);
        Ok(())
    })?;
    result.map(|()| text)
}

fn plan_offer<'a>(
    local: &Local<'a>,
    previous: Option<&Session<'a>>,
) -> Result<Plan<'a>, JsepError> {
    let mut plan = Plan::new();
    let mut data_placed = false;
    if let Some(prev) = previous {
        for m in prev.media() {
            let mid = m.mid().ok_or(JsepError::MissingMid { index: m.index() })?;
            let data = local
                .data_channel
                .filter(|d| d.mid == mid && m.media_line().is_datachannel());
            let track = local.transceivers.iter().position(|t| {
                t.mid == mid && !t.stopped && Some(t.kind) == TrackKind::of(m.kind())
            });
            let content = match (data, track) {
                (Some(_), _) => {
                    data_placed = true;
                    Content::Data
                }
                (None, Some(i)) => Content::Track(i),
                (None, None) => Content::Rejected(m.index()),
            };
            push(&mut plan, Slot { mid, content })?;
        }
    }
    let place = |plan: &mut Plan<'a>, slot: Slot<'a>| -> Result<(), JsepError> {
        if plan.iter().any(|s| s.mid == slot.mid) {
            return Err(JsepError::DuplicateMid);
        }
        // Recycle the first rejected section whose mid no transceiver still claims.
        let recyclable = plan.iter_mut().find(|s| {
            matches!(s.content, Content::Rejected(_))
                && !local
                    .transceivers
                    .iter()
                    .any(|t| t.mid == s.mid && !t.stopped)
        });
        match recyclable {
            Some(s) => {
                *s = slot;
                Ok(())
            }
            None => push(plan, slot),
        }
    };
    if let Some(d) = local.data_channel
        && !data_placed
    {
        place(
            &mut plan,
            Slot {
                mid: d.mid,
                content: Content::Data,
            },
        )?;
    }
    for (i, t) in local.transceivers.iter().enumerate() {
        let placed = plan
            .iter()
            .any(|s| matches!(s.content, Content::Track(j) if j == i));
        if !placed && !t.stopped {
            place(
                &mut plan,
                Slot {
                    mid: t.mid,
                    content: Content::Track(i),
                },
            )?;
        }
    }
    Ok(plan)
}

fn write_offer_section(
    w: &mut dyn fmt::Write,
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    slot: &Slot<'_>,
) -> fmt::Result {
    let (port, addr_type, address) = default_address(local);
    match slot.content {
        Content::Rejected(index) => match previous.and_then(|p| p.media_at(index)) {
            Some(m) => write_rejected(w, &m, slot.mid),
            None => Err(fmt::Error),
        },
        Content::Data => {
            let d = local.data_channel.ok_or(fmt::Error)?;
            let mut s = SdpWriter::new(&mut *w);
            s.line(
                'm',
                format_args!("application {port} UDP/DTLS/SCTP webrtc-datachannel"),
            )?;
            s.line('c', format_args!("IN {addr_type} {address}"))?;
            write_transport(w, local, Setup::Actpass)?;
            let mut s = SdpWriter::new(w);
            s.attr("mid", slot.mid)?;
            s.attr("sctp-port", d.sctp_port)?;
            s.attr("max-message-size", d.max_message_size)
        }
        // Offers are planned from our own transceivers only.
        Content::ReceiveOnly(_) => Err(fmt::Error),
        Content::Track(i) => {
            let t = local.transceivers.get(i).ok_or(fmt::Error)?;
            let codecs = local.codecs(t.kind);
            w.write_str("m=")?;
            write!(w, "{} {port} UDP/TLS/RTP/SAVPF", t.kind.media_kind())?;
            for c in codecs {
                write!(w, " {}", c.payload_type)?;
            }
            w.write_str("\r\n")?;
            SdpWriter::new(&mut *w).line('c', format_args!("IN {addr_type} {address}"))?;
            write_transport(w, local, Setup::Actpass)?;
            let mut s = SdpWriter::new(w);
            s.attr("mid", slot.mid)?;
            for e in local.extmaps(t.kind) {
                s.attr("extmap", e)?;
            }
            s.flag(t.direction.as_str())?;
            s.flag("rtcp-mux")?;
            s.flag("rtcp-rsize")?;
            for c in codecs {
                write_codec(&mut s, c, c.payload_type, c.fmtp, |_| true)?;
            }
            if t.direction.sends() {
                write_track_source(&mut s, t)?;
            }
            Ok(())
        }
    }
}

fn write_codec(
    s: &mut SdpWriter<'_, dyn fmt::Write + '_>,
    c: &CodecCapability<'_>,
    payload_type: u8,
    fmtp: Option<&str>,
    feedback_ok: impl Fn(&str) -> bool,
) -> fmt::Result {
    s.attr(
        "rtpmap",
        Rtpmap {
            payload_type,
            encoding: c.name,
            clock_rate: c.clock_rate,
            channels: c.channels,
        },
    )?;
    for fb in c.feedback.iter().filter(|f| feedback_ok(f)) {
        s.attr(
            "rtcp-fb",
            RtcpFb {
                payload_type: Some(payload_type),
                feedback: fb,
            },
        )?;
    }
    if let Some(p) = fmtp {
        s.attr("fmtp", format_args!("{payload_type} {p}"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Answer

/// Writes the answer to `offer` (RFC 8829 §5.3) into `out`.
///
/// Each offered section is answered in order with its mid: a data channel section is accepted
/// if `local.data_channel` is set, an audio/video section if some codec matches (and then with
/// the local transceiver of the same mid, or the first unmatched one of its kind, or as a
/// receive-only section); anything else is rejected with port 0. `previous` is our current
/// local description when this is a renegotiation (it keeps the session id and DTLS role).
pub fn create_answer<W: fmt::Write>(
    local: &Local<'_>,
    offer: &Session<'_>,
    previous: Option<&Session<'_>>,
    out: &mut W,
) -> Result<(), JsepError> {
    if local.fingerprints.is_empty() {
        return Err(JsepError::NoFingerprint);
    }
    let plan = plan_answer(local, offer)?;
    let offer_bundle = offer.bundle_group();
    let bundled = |s: &Slot<'_>| {
        !matches!(s.content, Content::Rejected(_))
            && offer_bundle.is_some_and(|g| g.contains(s.mid))
    };
    let role = answer_setup(local, offer, previous);
    let allow_mixed = offer.extmap_allow_mixed();
    write_with_origin(local, previous, out, |w| {
        write_session_head(w, local, &plan, bundled, allow_mixed)?;
        for (slot, m) in plan.iter().zip(offer.media()) {
            write_answer_section(w, local, &m, slot, role)?;
        }
        Ok(())
    })
}

/// [`create_answer`] into `buf`, returning the text.
pub fn answer_to_slice<'b>(
    local: &Local<'_>,
    offer: &Session<'_>,
    previous: Option<&Session<'_>>,
    buf: &'b mut [u8],
) -> Result<&'b str, JsepError> {
    let mut result = Ok(());
    let text = crate::write::write_to_slice(buf, |w: &mut SliceWriter<'_>| {
        result = create_answer(local, offer, previous, w);
        Ok(())
    })?;
    result.map(|()| text)
}

/// How an answer uses one offered section; see [`answer_sections`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionUse {
    /// Accepted as the data channel section.
    DataChannel,
    /// Accepted with `local.transceivers[index]`, which takes the section's mid.
    Transceiver(usize),
    /// Accepted for receiving only, without a local transceiver (the Peer creates one, as a
    /// browser does for a remote track).
    ReceiveOnly(TrackKind),
    /// Rejected (port 0).
    Rejected,
}

/// How [`create_answer`] uses each offered section, in offer order, with the section's mid:
/// the Peer uses this to associate its transceivers with mids (RFC 8829 §5.10).
pub fn answer_sections<'a>(
    local: &Local<'a>,
    offer: &Session<'a>,
) -> Result<heapless::Vec<(&'a str, SectionUse), MAX_MEDIA>, JsepError> {
    let plan = plan_answer(local, offer)?;
    let mut out = heapless::Vec::new();
    for slot in &plan {
        let use_ = match slot.content {
            Content::Data => SectionUse::DataChannel,
            Content::Track(i) => SectionUse::Transceiver(i),
            Content::ReceiveOnly(kind) => SectionUse::ReceiveOnly(kind),
            Content::Rejected(_) => SectionUse::Rejected,
        };
        out.push((slot.mid, use_))
            .map_err(|_| JsepError::TooManySections)?;
    }
    Ok(out)
}

/// Our DTLS role for an answer (RFC 8842 §5.3, §5.5).
fn answer_setup(local: &Local<'_>, offer: &Session<'_>, previous: Option<&Session<'_>>) -> Setup {
    let offered = offer
        .media()
        .find(|m| !m.is_rejected())
        .and_then(|m| m.setup())
        // RFC 4145 §4: no a=setup means the offerer is active.
        .unwrap_or(Setup::Active);
    let current = local.dtls_role.or_else(|| {
        previous
            .and_then(|p| p.media().find(|m| !m.is_rejected()))
            .and_then(|m| m.setup())
    });
    match offered {
        Setup::Actpass => match current {
            Some(r @ (Setup::Active | Setup::Passive)) => r,
            _ if local.answer_setup == Setup::Passive => Setup::Passive,
            _ => Setup::Active,
        },
        Setup::Active => Setup::Passive,
        Setup::Passive => Setup::Active,
        Setup::Holdconn => Setup::Holdconn,
    }
}

fn plan_answer<'a>(local: &Local<'a>, offer: &Session<'a>) -> Result<Plan<'a>, JsepError> {
    let mut plan = Plan::new();
    let mut data_used = false;
    for m in offer.media() {
        let mid = m.mid().ok_or(JsepError::MissingMid { index: m.index() })?;
        let line = m.media_line();
        let content = if m.is_rejected() {
            Content::Rejected(m.index())
        } else if line.is_datachannel() {
            if local.data_channel.is_some() && !data_used {
                data_used = true;
                Content::Data
            } else {
                Content::Rejected(m.index())
            }
        } else if let Some(kind) = TrackKind::of(m.kind()).filter(|_| is_dtls_srtp(line.proto)) {
            if accepted_codecs(local, kind, &m).next().is_none() {
                Content::Rejected(m.index())
            } else {
                let taken = |i: usize| {
                    plan.iter()
                        .any(|s: &Slot<'_>| matches!(s.content, Content::Track(j) if j == i))
                };
                let by_mid = local
                    .transceivers
                    .iter()
                    .position(|t| t.mid == mid && t.kind == kind && !t.stopped);
                // A transceiver that no offered section of its kind claims by mid is not yet
                // associated (RFC 8829 §5.10): it takes the first such section of its kind.
                let claimed = |t: &Transceiver<'_>| {
                    offer
                        .media()
                        .any(|o| o.mid() == Some(t.mid) && TrackKind::of(o.kind()) == Some(t.kind))
                };
                let free =
                    || {
                        local.transceivers.iter().enumerate().position(|(i, t)| {
                            t.kind == kind && !t.stopped && !taken(i) && !claimed(t)
                        })
                    };
                match by_mid.filter(|i| !taken(*i)).or_else(free) {
                    Some(i) => Content::Track(i),
                    None => Content::ReceiveOnly(kind),
                }
            }
        } else {
            Content::Rejected(m.index())
        };
        push(&mut plan, Slot { mid, content })?;
    }
    Ok(plan)
}

/// WebRTC media is DTLS-SRTP over UDP or TCP (`UDP/TLS/RTP/SAVPF`, RFC 8829 §5.1.2); we accept
/// the older `RTP/SAVPF` spelling too, as browsers do.
fn is_dtls_srtp(proto: &str) -> bool {
    proto.ends_with("RTP/SAVPF") || proto.ends_with("RTP/SAVP")
}

/// The rtpmap of an offered payload type, falling back to the RFC 3551 static assignments.
fn offered_rtpmap<'a>(m: &Media<'a>, pt: u8) -> Option<Rtpmap<'a>> {
    m.rtpmap(pt).or(match pt {
        0 => Some(Rtpmap {
            payload_type: 0,
            encoding: "PCMU",
            clock_rate: 8000,
            channels: None,
        }),
        8 => Some(Rtpmap {
            payload_type: 8,
            encoding: "PCMA",
            clock_rate: 8000,
            channels: None,
        }),
        9 => Some(Rtpmap {
            payload_type: 9,
            encoding: "G722",
            clock_rate: 8000,
            channels: None,
        }),
        _ => None,
    })
}

/// Whether the codec-specific fmtp parameters that select a different bitstream agree.
fn fmtp_compatible(name: &str, offered: Option<&str>, ours: Option<&str>) -> bool {
    fn get<'p>(params: Option<&'p str>, key: &str, default: &'static str) -> &'p str {
        params.and_then(|p| fmtp_get(p, key)).unwrap_or(default)
    }
    let same = |key: &str, default: &'static str| {
        get(offered, key, default).eq_ignore_ascii_case(get(ours, key, default))
    };
    if name.eq_ignore_ascii_case("H264") {
        // RFC 6184 §8.1: packetization mode must match; profile_idc (first byte of
        // profile-level-id) selects the profile, the level is negotiable.
        fn profile(p: Option<&str>) -> Option<&str> {
            get(p, "profile-level-id", "42001f").get(..2)
        }
        same("packetization-mode", "0")
            && matches!((profile(offered), profile(ours)), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
    } else if name.eq_ignore_ascii_case("VP9") {
        same("profile-id", "0")
    } else if name.eq_ignore_ascii_case("AV1") {
        same("profile", "0")
    } else {
        true
    }
}

/// The local codec that answers offered payload type `pt`, if any (not for RTX).
fn match_codec<'l>(
    local: &Local<'l>,
    kind: TrackKind,
    m: &Media<'_>,
    pt: u8,
) -> Option<&'l CodecCapability<'l>> {
    let map = offered_rtpmap(m, pt)?;
    if map.encoding.eq_ignore_ascii_case("rtx") {
        return None;
    }
    let offered_fmtp = m.fmtp(pt).map(|f| f.params);
    local.codecs(kind).iter().find(|c| {
        c.name.eq_ignore_ascii_case(map.encoding)
            && c.clock_rate == map.clock_rate
            && c.channels.unwrap_or(1) == map.channels.unwrap_or(1)
            && fmtp_compatible(c.name, offered_fmtp, c.fmtp)
    })
}

/// The offered payload types we accept, in the offer's order, with the local codec that
/// answers each and, for RTX, the payload type it repairs.
fn accepted_codecs<'l, 'm>(
    local: &'m Local<'l>,
    kind: TrackKind,
    m: &'m Media<'m>,
) -> impl Iterator<Item = (u8, &'l CodecCapability<'l>, Option<u8>)> + 'm {
    m.payload_types().filter_map(move |pt| {
        if let Some(c) = match_codec(local, kind, m, pt) {
            return Some((pt, c, None));
        }
        // RTX (RFC 4588) is accepted when what it repairs is and we do RTX at that rate.
        let map = offered_rtpmap(m, pt)?;
        if !map.encoding.eq_ignore_ascii_case("rtx") {
            return None;
        }
        let apt = crate::attr::parse_pt(m.fmtp(pt)?.get("apt")?)?;
        match_codec(local, kind, m, apt)?;
        let rtx = local
            .codecs(kind)
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case("rtx") && c.clock_rate == map.clock_rate)?;
        Some((pt, rtx, Some(apt)))
    })
}

fn write_answer_section(
    w: &mut dyn fmt::Write,
    local: &Local<'_>,
    m: &Media<'_>,
    slot: &Slot<'_>,
    role: Setup,
) -> fmt::Result {
    let (port, addr_type, address) = default_address(local);
    let line = m.media_line();
    let (kind, transceiver) = match slot.content {
        Content::Rejected(_) => return write_rejected(w, m, slot.mid),
        Content::Data => {
            let d = local.data_channel.ok_or(fmt::Error)?;
            let mut s = SdpWriter::new(&mut *w);
            s.line(
                'm',
                format_args!("application {port} {} webrtc-datachannel", line.proto),
            )?;
            s.line('c', format_args!("IN {addr_type} {address}"))?;
            write_transport(w, local, role)?;
            let mut s = SdpWriter::new(w);
            s.attr("mid", slot.mid)?;
            s.attr("sctp-port", d.sctp_port)?;
            return s.attr("max-message-size", d.max_message_size);
        }
        Content::Track(i) => {
            let t = local.transceivers.get(i).ok_or(fmt::Error)?;
            (t.kind, Some(t))
        }
        Content::ReceiveOnly(kind) => (kind, None),
    };
    let wanted = transceiver.map_or(Direction::RecvOnly, |t| t.direction);
    let direction = Direction::answer(m.direction(), wanted);
    write!(w, "m={} {port} {}", line.kind, line.proto)?;
    for (pt, _, _) in accepted_codecs(local, kind, m) {
        write!(w, " {pt}")?;
    }
    w.write_str("\r\n")?;
    SdpWriter::new(&mut *w).line('c', format_args!("IN {addr_type} {address}"))?;
    write_transport(w, local, role)?;
    let mut s = SdpWriter::new(w);
    s.attr("mid", slot.mid)?;
    let ours = local.extmaps(kind);
    for e in m.extmaps() {
        if ours.iter().any(|o| o.uri == e.uri) {
            s.attr(
                "extmap",
                Extmap {
                    direction: e.direction.map(|d| d.reversed()),
                    attributes: None,
                    ..e
                },
            )?;
        }
    }
    if m.has_attribute("extmap-allow-mixed") {
        s.flag("extmap-allow-mixed")?;
    }
    s.flag(direction.as_str())?;
    if m.rtcp_mux() || m.rtcp_mux_only() {
        s.flag("rtcp-mux")?;
    }
    if m.rtcp_rsize() {
        s.flag("rtcp-rsize")?;
    }
    for (pt, c, apt) in accepted_codecs(local, kind, m) {
        let offered_fb = |fb: &str| m.rtcp_fb(pt).any(|o| o.feedback.eq_ignore_ascii_case(fb));
        match apt {
            Some(apt) => {
                let mut params = heapless::String::<8>::new();
                write!(params, "apt={apt}")?;
                write_codec(&mut s, c, pt, Some(&params), offered_fb)?;
            }
            None => {
                // Where the parameters select the bitstream (H.264 profile and packetization
                // mode, VP9/AV1 profile) they matched; echo the offerer's so both sides name the
                // same stream. Elsewhere ours say what we want to receive.
                let offered = m.fmtp(pt).map(|f| f.params);
                let echo = ["H264", "VP9", "AV1"]
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(c.name));
                let fmtp = if echo { offered.or(c.fmtp) } else { c.fmtp };
                write_codec(&mut s, c, pt, fmtp, offered_fb)?;
            }
        }
    }
    // Simulcast (RFC 8853 §5.3): receive the layers the offerer sends.
    if let Some(send) = m
        .simulcast()
        .and_then(|sc| sc.send)
        .filter(|_| direction.receives())
    {
        for rid in m
            .rids()
            .filter(|r| r.direction == crate::attr::RidDirection::Send)
        {
            s.attr("rid", format_args!("{} recv", rid.id))?;
        }
        s.attr("simulcast", format_args!("recv {send}"))?;
    }
    if let Some(t) = transceiver.filter(|_| direction.sends()) {
        write_track_source(&mut s, t)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Helpers for the Peer

/// Whether `current` restarts ICE relative to `previous` (both from the same remote): some
/// section kept its mid but changed its ICE ufrag or password (RFC 8839 §4.4.1.1.1).
#[must_use]
pub fn is_ice_restart(previous: &Session<'_>, current: &Session<'_>) -> bool {
    current.media().filter(|m| !m.is_rejected()).any(|m| {
        let Some(old) = m.mid().and_then(|mid| previous.media_by_mid(mid)) else {
            return false;
        };
        old.ice_ufrag() != m.ice_ufrag() || old.ice_pwd() != m.ice_pwd()
    })
}

/// The largest message we may send to the peer whose data section is `remote`
/// (RFC 8841 §6): its `a=max-message-size`, 64 KiB if absent, `None` for 0 (no limit).
#[must_use]
pub fn remote_max_message_size(remote: &Media<'_>) -> Option<u64> {
    match remote.max_message_size() {
        Some(0) => None,
        Some(n) => Some(n),
        None => Some(IMPLICIT_MAX_MESSAGE_SIZE),
    }
}

/// Our DTLS role once the answer is known (RFC 8842 §5.2): the answerer's `active` makes us
/// the server (`Passive`) and the other way round. `None` for `actpass` (invalid in an
/// answer) and `holdconn`.
#[must_use]
pub fn offerer_role(answer: Setup) -> Option<Setup> {
    match answer {
        Setup::Active => Some(Setup::Passive),
        Setup::Passive => Some(Setup::Active),
        Setup::Actpass | Setup::Holdconn => None,
    }
}

/// Why a remote answer does not fit our offer; see [`check_answer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerError {
    /// The answer does not have one section per offered section (RFC 3264 §6).
    SectionCount,
    /// Section `index` has another media type or mid than the offered one (RFC 3264 §6,
    /// RFC 8829 §5.3.1).
    SectionMismatch {
        /// The section's index.
        index: usize,
    },
    /// Accepted section `index` has no ICE ufrag/pwd.
    MissingIceCredentials {
        /// The section's index.
        index: usize,
    },
    /// Accepted section `index` has no fingerprint (RFC 8122).
    MissingFingerprint {
        /// The section's index.
        index: usize,
    },
    /// Accepted section `index` answers with `actpass` (RFC 8842 §5.2 forbids it) or no
    /// usable role.
    BadSetup {
        /// The section's index.
        index: usize,
    },
    /// The answer's BUNDLE group names a mid the offer did not bundle (RFC 8843 §7.3).
    BundleNotOffered,
}

impl fmt::Display for AnswerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SectionCount => f.write_str("answer has a different number of sections"),
            Self::SectionMismatch { index } => write!(f, "answer section {index} does not match"),
            Self::MissingIceCredentials { index } => {
                write!(f, "answer section {index} has no ICE credentials")
            }
            Self::MissingFingerprint { index } => {
                write!(f, "answer section {index} has no fingerprint")
            }
            Self::BadSetup { index } => write!(f, "answer section {index} has a bad a=setup"),
            Self::BundleNotOffered => f.write_str("answer bundles a mid that was not offered"),
        }
    }
}

impl core::error::Error for AnswerError {}

/// Checks a remote answer against the offer we sent, before the Peer applies it: one section
/// per offered section with the same media type and mid, ICE credentials, a fingerprint and an
/// `active`/`passive` role in each accepted section, and a BUNDLE group within the offered one.
pub fn check_answer(offer: &Session<'_>, answer: &Session<'_>) -> Result<(), AnswerError> {
    if offer.media_count() != answer.media_count() {
        return Err(AnswerError::SectionCount);
    }
    for (o, a) in offer.media().zip(answer.media()) {
        let index = a.index();
        if o.kind() != a.kind() || (a.mid().is_some() && o.mid() != a.mid()) {
            return Err(AnswerError::SectionMismatch { index });
        }
        if a.is_rejected() {
            continue;
        }
        if a.ice_ufrag().is_none() || a.ice_pwd().is_none() {
            return Err(AnswerError::MissingIceCredentials { index });
        }
        if a.fingerprints().next().is_none() {
            return Err(AnswerError::MissingFingerprint { index });
        }
        // RFC 4145 §4: an answer without a=setup is active.
        if offerer_role(a.setup().unwrap_or(Setup::Active)).is_none() {
            return Err(AnswerError::BadSetup { index });
        }
    }
    for group in answer.groups().filter(|g| g.is_bundle()) {
        if !group.mids().all(|mid| offer.bundle_group_of(mid).is_some()) {
            return Err(AnswerError::BundleNotOffered);
        }
    }
    Ok(())
}
