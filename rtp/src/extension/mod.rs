//! Typed RTP header extensions (RFC 8285 elements with a meaning): which local id carries
//! which extension, and each extension's value read from and written to its element bytes.
//!
//! ```text
//!   SDP  a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid     ExtensionMap: kind <-> id
//!        a=extmap:5 http://www.ietf.org/id/draft-holmer-...   (one id per kind, 1-255)
//!
//!   receive:  Packet ──map.read::<Mid>()──────────────▶ Some(Mid("0"))
//!             Packet ──map.values()───────────────────▶ ExtensionValues { mid, tsn, ... }
//!   send:     ExtensionWriter::new(&map)
//!               .put(Mid(..)).put(TransportSequenceNumber(7)) ──elements()──▶ Header
//!               (one-byte form unless an element needs two bytes: id > 14, > 16 bytes)
//! ```
//!
//! | kind | URI | data |
//! |---|---|---|
//! | [`Mid`] | RFC 8843 §15 | the media section's `a=mid` |
//! | [`Rid`], [`RepairedRid`] | RFC 8852 §3 | the RTP stream id (simulcast layer, its RTX stream) |
//! | [`AbsSendTime`] | webrtc.org abs-send-time | 24 bits, 6.18 fixed-point seconds |
//! | [`TransportSequenceNumber`] | draft-holmer-rmcat-transport-wide-cc-extensions-01 §2 | 16 bits |
//! | [`AudioLevel`] | RFC 6464 | V flag, level in -dBov (0-127) |
//! | [`VideoOrientation`] | 3GPP TS 26.114 §7.4.5 (CVO) | camera, flip, rotation |
//! | [`PlayoutDelay`] | webrtc.org playout-delay | min and max, 12 bits each, 10 ms units |
//! | [`AbsCaptureTime`] | webrtc.org abs-capture-time | NTP Q32.32 capture time, optional clock offset |
//!
//! Values are read from a parsed [`Packet`](crate::packet::Packet) by the id the map gives,
//! and checked: an element whose length or contents do not fit its kind is
//! [`ExtensionError::Malformed`] (count it, use the packet without it), never a panic.

mod map;
mod values;
mod writer;

use core::fmt;

pub use map::{ExtensionMap, ExtensionValues};
pub use values::{
    AbsCaptureTime, AbsSendTime, AudioLevel, Mid, PlayoutDelay, RepairedRid, Rid, Rotation,
    TransportSequenceNumber, VideoOrientation,
};
pub use writer::{ExtensionWriter, WrittenElements};

/// The `a=extmap` URIs of the extensions this module reads and writes.
pub mod uri {
    /// RFC 8843 §15: the media identification (BUNDLE).
    pub const MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";
    /// RFC 8852 §3.1: the RTP stream identifier.
    pub const RID: &str = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id";
    /// RFC 8852 §3.2: the repaired RTP stream identifier (on RTX and FEC streams).
    pub const REPAIRED_RID: &str = "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id";
    /// The absolute send time (webrtc.org, used by REMB).
    pub const ABS_SEND_TIME: &str = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
    /// The transport-wide sequence number (draft-holmer-rmcat-transport-wide-cc-extensions-01).
    pub const TRANSPORT_SEQUENCE_NUMBER: &str =
        "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
    /// RFC 6464: client-to-mixer audio level.
    pub const AUDIO_LEVEL: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
    /// 3GPP TS 26.114: coordination of video orientation (CVO).
    pub const VIDEO_ORIENTATION: &str = "urn:3gpp:video-orientation";
    /// The playout delay limits (webrtc.org).
    pub const PLAYOUT_DELAY: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
    /// The absolute capture time (webrtc.org).
    pub const ABS_CAPTURE_TIME: &str =
        "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time";
}

/// The extensions this module knows, one per `a=extmap` URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ExtensionKind {
    /// [`uri::MID`]
    Mid,
    /// [`uri::RID`]
    Rid,
    /// [`uri::REPAIRED_RID`]
    RepairedRid,
    /// [`uri::ABS_SEND_TIME`]
    AbsSendTime,
    /// [`uri::TRANSPORT_SEQUENCE_NUMBER`]
    TransportSequenceNumber,
    /// [`uri::AUDIO_LEVEL`]
    AudioLevel,
    /// [`uri::VIDEO_ORIENTATION`]
    VideoOrientation,
    /// [`uri::PLAYOUT_DELAY`]
    PlayoutDelay,
    /// [`uri::ABS_CAPTURE_TIME`]
    AbsCaptureTime,
}

impl ExtensionKind {
    /// Every kind, in the order of the map's table.
    pub const ALL: [ExtensionKind; 9] = [
        ExtensionKind::Mid,
        ExtensionKind::Rid,
        ExtensionKind::RepairedRid,
        ExtensionKind::AbsSendTime,
        ExtensionKind::TransportSequenceNumber,
        ExtensionKind::AudioLevel,
        ExtensionKind::VideoOrientation,
        ExtensionKind::PlayoutDelay,
        ExtensionKind::AbsCaptureTime,
    ];

    /// The `a=extmap` URI.
    #[must_use]
    pub const fn uri(self) -> &'static str {
        match self {
            ExtensionKind::Mid => uri::MID,
            ExtensionKind::Rid => uri::RID,
            ExtensionKind::RepairedRid => uri::REPAIRED_RID,
            ExtensionKind::AbsSendTime => uri::ABS_SEND_TIME,
            ExtensionKind::TransportSequenceNumber => uri::TRANSPORT_SEQUENCE_NUMBER,
            ExtensionKind::AudioLevel => uri::AUDIO_LEVEL,
            ExtensionKind::VideoOrientation => uri::VIDEO_ORIENTATION,
            ExtensionKind::PlayoutDelay => uri::PLAYOUT_DELAY,
            ExtensionKind::AbsCaptureTime => uri::ABS_CAPTURE_TIME,
        }
    }

    /// The kind an `a=extmap` URI names, `None` for one this module does not know.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.uri() == uri)
    }

    /// The position in [`ExtensionKind::ALL`].
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// An extension value with a wire form: read from an element's data, written into a buffer.
pub trait Extension<'a>: Sized {
    /// Which extension this is.
    const KIND: ExtensionKind;

    /// Reads the value from an element's data.
    fn parse(data: &'a [u8]) -> Result<Self, ExtensionError>;

    /// Writes the element's data into `out`; returns its length (1-255).
    fn emit(&self, out: &mut [u8]) -> Result<usize, ExtensionError>;
}

/// Why an extension was not read, mapped or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ExtensionError {
    /// An element's data does not fit its kind (length, reserved values, characters).
    Malformed,
    /// The kind has no id in the map: it was not negotiated.
    NotNegotiated,
    /// An id outside 1-255, or one already given to another kind.
    InvalidId,
    /// The value cannot be written: a string that is empty, too long or not printable ASCII,
    /// a number out of its field's range.
    InvalidValue,
    /// The writer's fixed element table or byte area is full.
    Full,
}

impl fmt::Display for ExtensionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExtensionError::Malformed => "malformed header extension element",
            ExtensionError::NotNegotiated => "header extension not negotiated",
            ExtensionError::InvalidId => "invalid or duplicate header extension id",
            ExtensionError::InvalidValue => "header extension value cannot be written",
            ExtensionError::Full => "header extension writer full",
        })
    }
}

impl core::error::Error for ExtensionError {}
