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

use core::fmt;

use crate::attr::{Direction, Extmap, Fingerprint, Msid, Setup};
use crate::session::{Media, MediaKind, Session};
use crate::write::WriteError;

mod answer;
mod offer;
mod shared;

pub use answer::{SectionUse, answer_sections, answer_to_slice, create_answer};
pub use offer::{create_offer, offer_to_slice};

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

/// The ufrag only: the password never goes to a log.
#[cfg(feature = "defmt")]
impl defmt::Format for IceCredentials<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "IceCredentials {{ ufrag: {=str}, .. }}", self.ufrag);
    }
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
    /// Its codec preferences (`setCodecPreferences`): the codecs, in order, it offers and
    /// accepts instead of [`Local`]'s list for its kind (RTX entries included as wanted).
    pub codecs: Option<&'a [CodecCapability<'a>]>,
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
            codecs: None,
        }
    }
}

/// Everything we bring to a negotiation. Built by the `Peer` from its configuration, its
/// certificate, its ICE agent and its transceivers.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
    /// An offered audio or video section that no local transceiver takes is accepted
    /// receive-only (a browser creates a transceiver for it); `false` rejects it instead, for
    /// a caller with no room for another transceiver.
    pub receive_only: bool,
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
            receive_only: true,
        }
    }

    /// The codecs of `transceiver` (its preferences, else ours for its kind).
    fn codecs_of(
        &self,
        kind: TrackKind,
        transceiver: Option<&Transceiver<'a>>,
    ) -> &'a [CodecCapability<'a>] {
        transceiver
            .and_then(|t| t.codecs)
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| self.codecs(kind))
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum JsepError {
    /// A section of the offer or of the previous description has no `a=mid` (RFC 8829 §5.2.1
    /// requires one).
    MissingMid {
        /// The section's index.
        index: usize,
    },
    /// Two sections would get the same mid.
    DuplicateMid,
    /// More than [`crate::MAX_MEDIA`] sections.
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

/// The section that carries the transport of `section` (RFC 8843 §7.1, §7.3): in a BUNDLE group,
/// the tagged one (the first mid of the group whose section is not rejected), whose ICE
/// credentials, fingerprint and `a=setup` the whole group uses; otherwise `section` itself.
///
/// The first mid is the offerer's tag in an offer and the answerer's in an answer; an answerer
/// that rejected the offerer's tag (our Peer answers media with port 0 today) tags the next one,
/// as libwebrtc does when it accepts such an answer.
#[must_use]
pub fn bundle_transport<'a>(session: &Session<'a>, section: &Media<'a>) -> Media<'a> {
    let Some(group) = section.mid().and_then(|mid| session.bundle_group_of(mid)) else {
        return *section;
    };
    group
        .mids()
        .filter_map(|mid| session.media_by_mid(mid))
        .find(|m| !m.is_rejected())
        .unwrap_or(*section)
}

/// Every section that shares `section`'s transport (its BUNDLE group, or only itself), rejected
/// ones left out: their candidates all belong to the one transport (RFC 8843 §10.1; browsers
/// repeat the same candidates in each bundled section).
pub fn bundled_sections<'a, 's>(
    session: &'s Session<'a>,
    section: &Media<'a>,
) -> impl Iterator<Item = Media<'a>> + 's {
    let group = section.mid().and_then(|mid| session.bundle_group_of(mid));
    let own = section.index();
    session.media().filter(move |m| {
        !m.is_rejected()
            && (m.index() == own
                || group.is_some_and(|g| m.mid().is_some_and(|mid| g.contains(mid))))
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
