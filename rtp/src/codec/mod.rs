//! Payload formats: how a codec's frames ride in RTP payloads.
//!
//! ```text
//!   send:    frame ──Packetizer::packetize──▶ Packets ──next_payload(buf)──▶ payload, payload, … (marker on the last)
//!   receive: payload, payload, … (in sequence order, one frame) ──Depacketizer::push──▶ FrameBuf ──finish──▶ FrameInfo
//! ```
//!
//! Every format has the same two shapes, so the jitter buffer and the Peer are written once:
//!
//! - a [`Packetizer`] keeps what lives across frames (a VP8 picture id, an H.264 SPS/PPS to
//!   send before each IDR) and, for one frame, hands out a [`Packets`] cursor that writes one
//!   payload at a time into the caller's buffer. Nothing is buffered: the frame is borrowed
//!   until the cursor is dropped.
//! - a [`Depacketizer`] is fed the payloads of one frame in sequence order (the jitter buffer
//!   groups them by timestamp) and appends the codec's bitstream to a [`FrameBuf`] lent by the
//!   caller; [`Depacketizer::finish`] closes the frame and tells whether it is a keyframe.
//!   [`Depacketizer::inspect`] reads one payload without copying, so the jitter buffer can
//!   tell a frame's first packet and a keyframe before it has the whole frame.
//!
//! The RTP header (sequence number, timestamp, marker, SSRC) is not the codec's business: the
//! caller writes it, setting the marker bit from [`Payload::marker`].
//!
//! A caller that learns its formats at run time (a Peer, from SDP) names them with [`Codec`]
//! (`Codec::from_rtpmap`) and uses [`AnyPacketizer`] and [`AnyDepacketizer`], enums over every
//! format's machines with the same two shapes.

use core::fmt;

pub mod annexb;
mod any;
pub mod av1;
pub mod h264;
pub mod h265;
mod nal;

pub use any::{AnyDepacketizer, AnyPacketizer, AnyPackets, Codec, PacketizerOptions};
pub use nal::PacketizationMode;

/// What a packetizer wrote into the caller's buffer: one RTP payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Payload {
    /// Bytes written at the start of the buffer.
    pub len: usize,
    /// The last payload of the frame: the RTP marker bit (RFC 3551 §4.1 for video; audio
    /// formats set it as their RFC says, e.g. at the start of a talkspurt).
    pub marker: bool,
}

/// A frame turned into RTP payloads. Create one per frame with [`Packetizer::packetize`].
pub trait Packetizer {
    /// The cursor over one frame's payloads.
    type Packets<'a>: Packets
    where
        Self: 'a;

    /// Starts packetizing `frame` into payloads of at most `max_payload` bytes each.
    ///
    /// `frame` is in the codec's usual stored form: an Annex-B byte stream for H.264/H.265, a
    /// temporal unit of OBUs with size fields (low-overhead format) for AV1, the raw frame for
    /// VP8/VP9 (as in IVF), one Opus packet, PCM samples for G.711/G.722.
    ///
    /// # Errors
    ///
    /// [`CodecError::PayloadTooSmall`] when `max_payload` cannot hold even the format's own
    /// header plus one byte of media; [`CodecError::Malformed`] when the frame is not in the
    /// expected form.
    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<Self::Packets<'a>, CodecError>;
}

/// One frame's payloads, written one at a time.
pub trait Packets {
    /// Writes the next payload into `out`, or returns `None` when the frame is done.
    ///
    /// # Errors
    ///
    /// [`CodecError::BufferTooSmall`] when `out` is shorter than the next payload (at most the
    /// `max_payload` given to [`Packetizer::packetize`]); the cursor does not move, so the call
    /// can be repeated with a larger buffer.
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>>;
}

/// What one payload says before the frame is complete.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PayloadInfo {
    /// The payload starts a frame (VP8 S bit with partition 0, VP9 B bit, H.264 single NAL or
    /// FU-A start, AV1 with Z clear and N or the first OBU, every audio payload).
    pub starts_frame: bool,
    /// The payload belongs to a keyframe (VP8 P bit clear, VP9 P bit clear, H.264 IDR or SPS,
    /// H.265 IRAP, AV1 N bit or a sequence header). Only reliable on the frame's first payload.
    pub keyframe: bool,
}

/// What a finished frame is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameInfo {
    /// Bytes of the frame at the start of the [`FrameBuf`].
    pub len: usize,
    /// The frame can be decoded without any earlier frame.
    pub keyframe: bool,
}

/// Payloads of one frame turned back into the codec's bitstream.
pub trait Depacketizer {
    /// Reads one payload without copying it.
    ///
    /// # Errors
    ///
    /// [`CodecError::Malformed`] when the payload is not valid for the format.
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError>;

    /// Appends one payload's media to `frame`. Payloads must come in sequence order and all
    /// belong to the frame being built; a payload that does not continue the frame (a lost
    /// fragment) is an error, and the caller drops the frame with [`Depacketizer::reset`].
    ///
    /// # Errors
    ///
    /// [`CodecError::Malformed`] for a payload the format does not allow here,
    /// [`CodecError::BufferTooSmall`] when `frame` is full.
    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError>;

    /// Closes the frame built since the last `finish` or `reset`.
    ///
    /// # Errors
    ///
    /// [`CodecError::Incomplete`] when the payloads so far do not make a whole frame (a
    /// fragmented unit without its end).
    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError>;

    /// Forgets a partly built frame.
    fn reset(&mut self);
}

/// A frame being rebuilt in a buffer the caller lends.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FrameBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> FrameBuf<'a> {
    /// An empty frame over `buf`.
    #[must_use]
    pub fn new(buf: &'a mut [u8]) -> Self {
        FrameBuf { buf, len: 0 }
    }

    /// Bytes of the frame so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing was written yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The lent buffer's size.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// The frame so far.
    #[must_use]
    pub fn as_slice(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The frame so far, writable (AV1 restores OBU size fields in place).
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.len).unwrap_or_default()
    }

    /// Appends `bytes`.
    ///
    /// # Errors
    ///
    /// [`CodecError::BufferTooSmall`] when they do not fit; nothing is written then.
    pub fn extend(&mut self, bytes: &[u8]) -> Result<(), CodecError> {
        let end = self.len + bytes.len();
        let room = self
            .buf
            .get_mut(self.len..end)
            .ok_or(CodecError::BufferTooSmall { needed: end })?;
        room.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Inserts `bytes` at `at` (at most [`FrameBuf::len`]), moving what follows.
    ///
    /// # Errors
    ///
    /// [`CodecError::BufferTooSmall`] when they do not fit, [`CodecError::Malformed`] when
    /// `at` is past the end; nothing is written then.
    pub fn insert(&mut self, at: usize, bytes: &[u8]) -> Result<(), CodecError> {
        if at > self.len {
            return Err(CodecError::Malformed);
        }
        let end = self.len + bytes.len();
        if end > self.buf.len() {
            return Err(CodecError::BufferTooSmall { needed: end });
        }
        self.buf.copy_within(at..self.len, at + bytes.len());
        let room = self
            .buf
            .get_mut(at..at + bytes.len())
            .ok_or(CodecError::BufferTooSmall { needed: end })?;
        room.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// Drops everything after the first `len` bytes.
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Empties the frame, keeping the buffer.
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

/// Why a payload format refused a frame or a payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CodecError {
    /// A buffer lent for output is too small; `needed` is the size that would have fitted
    /// what was being written (a lower bound for the whole frame).
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
    },
    /// The maximum payload size cannot carry the format's header and any media.
    PayloadTooSmall,
    /// The frame or payload is not valid for the format.
    Malformed,
    /// The frame's payloads ended in the middle of a fragmented unit.
    Incomplete,
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            CodecError::PayloadTooSmall => {
                f.write_str("maximum payload size too small for the format")
            }
            CodecError::Malformed => f.write_str("malformed frame or payload"),
            CodecError::Incomplete => f.write_str("frame ends inside a fragmented unit"),
        }
    }
}

impl core::error::Error for CodecError {}

pub mod g711;
pub mod g722;
pub mod opus;
pub mod telephone_event;
pub mod vp8;
pub mod vp9;
