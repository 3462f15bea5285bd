//! G.711 PCMU and PCMA over RTP (RFC 3551 §4.5.14): one octet per sample at 8 kHz, payloads of a
//! fixed packet time, no header, no keyframes.
//!
//! ```text
//!   encoded samples ──G711Packetizer(ptime)──▶ [8 × ptime octets] [8 × ptime octets] … [rest]
//!                                               marker on the first payload of a talkspurt
//!   RTP timestamp: + payload length (one octet per 8 kHz sample)
//! ```
//!
//! PCMU (payload type 0) and PCMA (8) differ only in how the samples were companded, which is
//! the encoder's business: the same packetizer serves both. The frame handed to
//! [`G711Packetizer`] is already encoded; a frame that is not a multiple of the packet time
//! ends with a shorter payload (feed whole packet times to keep the ptime fixed).

use super::{
    CodecError, Depacketizer, FrameBuf, FrameInfo, Packetizer, Packets, Payload, PayloadInfo,
};

/// G.711 samples per millisecond (and octets, and RTP clock ticks).
pub const G711_OCTETS_PER_MS: usize = 8;

/// Cuts encoded audio into payloads of a fixed size (shared by G.711 and G.722, whose octet
/// rates are both 8 per millisecond).
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct FixedPtime {
    octets: usize,
    talkspurt: bool,
}

impl FixedPtime {
    pub(super) fn new(octets_per_payload: usize) -> Self {
        FixedPtime {
            octets: octets_per_payload.max(1),
            talkspurt: true,
        }
    }

    pub(super) fn start_talkspurt(&mut self) {
        self.talkspurt = true;
    }

    pub(super) fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<ChunkPackets<'a>, CodecError> {
        if frame.is_empty() {
            return Err(CodecError::Malformed);
        }
        if max_payload < self.octets {
            return Err(CodecError::PayloadTooSmall);
        }
        let marker_first = core::mem::take(&mut self.talkspurt);
        Ok(ChunkPackets {
            rest: frame,
            octets: self.octets,
            marker_first,
        })
    }
}

/// One frame of encoded audio as fixed-size payloads; see [`G711Packetizer`].
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChunkPackets<'a> {
    rest: &'a [u8],
    octets: usize,
    marker_first: bool,
}

impl Packets for ChunkPackets<'_> {
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        if self.rest.is_empty() {
            return None;
        }
        let (chunk, rest) = self.rest.split_at(self.octets.min(self.rest.len()));
        let Some(room) = out.get_mut(..chunk.len()) else {
            return Some(Err(CodecError::BufferTooSmall {
                needed: chunk.len(),
            }));
        };
        room.copy_from_slice(chunk);
        self.rest = rest;
        Some(Ok(Payload {
            len: chunk.len(),
            marker: core::mem::take(&mut self.marker_first),
        }))
    }
}

/// G.711 (PCMU or PCMA) packetizer: a fixed packet time, the marker at each talkspurt's start.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct G711Packetizer {
    chunks: FixedPtime,
}

impl G711Packetizer {
    /// Payloads of `ptime_ms` milliseconds (20 is the RFC 3551 default): 8 × `ptime_ms` octets.
    /// The first payload carries the marker.
    #[must_use]
    pub fn new(ptime_ms: u16) -> Self {
        G711Packetizer {
            chunks: FixedPtime::new(usize::from(ptime_ms) * G711_OCTETS_PER_MS),
        }
    }

    /// The next payload starts a talkspurt (after silence the sender did not send): it gets
    /// the marker (RFC 3551 §4.1).
    pub fn start_talkspurt(&mut self) {
        self.chunks.start_talkspurt();
    }
}

impl Packetizer for G711Packetizer {
    type Packets<'a> = ChunkPackets<'a>;

    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<ChunkPackets<'a>, CodecError> {
        self.chunks.packetize(frame, max_payload)
    }
}

/// How far the RTP timestamp moves for a G.711 payload: one tick per octet.
#[must_use]
pub fn g711_timestamp_increment(payload_len: usize) -> u32 {
    u32::try_from(payload_len).unwrap_or(u32::MAX)
}

/// Audio whose every payload is a whole frame (G.711, G.722, Opus): no header to strip, every
/// payload starts a frame and is independently decodable.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct WholePayloads {
    pushed: bool,
}

impl WholePayloads {
    pub(super) fn inspect(payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        if payload.is_empty() {
            return Err(CodecError::Malformed);
        }
        Ok(PayloadInfo {
            starts_frame: true,
            keyframe: true,
        })
    }

    pub(super) fn push(
        &mut self,
        payload: &[u8],
        frame: &mut FrameBuf<'_>,
    ) -> Result<(), CodecError> {
        // One payload is one frame: a second one without a finish is another frame's.
        if self.pushed || payload.is_empty() {
            return Err(CodecError::Malformed);
        }
        frame.extend(payload)?;
        self.pushed = true;
        Ok(())
    }

    pub(super) fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        if !core::mem::take(&mut self.pushed) {
            return Err(CodecError::Incomplete);
        }
        Ok(FrameInfo {
            len: frame.len(),
            keyframe: true,
        })
    }
}

/// G.711 depacketizer: each payload is a frame of encoded samples.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct G711Depacketizer {
    inner: WholePayloads,
}

impl G711Depacketizer {
    /// A depacketizer.
    #[must_use]
    pub fn new() -> Self {
        G711Depacketizer::default()
    }
}

impl Depacketizer for G711Depacketizer {
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        WholePayloads::inspect(payload)
    }

    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError> {
        self.inner.push(payload, frame)
    }

    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        self.inner.finish(frame)
    }

    fn reset(&mut self) {
        self.inner = WholePayloads::default();
    }
}
