//! Opus over RTP (RFC 7587): each payload is exactly one Opus packet, as the encoder made it.
//!
//! ```text
//!   Opus packet (TOC octet + frames) ──OpusPacketizer──▶ the same octets as one payload
//!   RTP clock 48 kHz whatever the coded bandwidth; timestamp + opus_packet_samples(packet)
//!
//!   with DTX (RFC 7587 §3.1.3): speech ─▶ 1-2 octet packets, or none at all, during silence
//!                                ─▶ speech again, the marker on its first packet
//! ```
//!
//! An Opus packet cannot be split across payloads: one larger than the maximum payload size is
//! refused ([`CodecError::PayloadTooSmall`]); the encoder must be told the size. Tiny packets
//! and gaps in the timestamps during DTX are normal and are not loss: the receiver's decoder
//! fills them with comfort noise.

use super::g711::WholePayloads;
use super::{
    CodecError, Depacketizer, FrameBuf, FrameInfo, Packetizer, Packets, Payload, PayloadInfo,
};

/// Opus packets this short carry no audio: DTX or comfort-noise frames (libopus emits a TOC
/// octet alone, or with one length octet, during silence).
pub const OPUS_DTX_MAX_LEN: usize = 2;

/// Whether an Opus packet is a silence (DTX) packet rather than speech.
#[must_use]
pub fn opus_is_dtx(packet: &[u8]) -> bool {
    packet.len() <= OPUS_DTX_MAX_LEN
}

/// How many 48 kHz samples an Opus packet lasts (RFC 6716 §3.1, the TOC octet and for code 3
/// the frame count): what the RTP timestamp advances by.
///
/// # Errors
///
/// [`CodecError::Malformed`] for an empty packet, a code-3 packet without its frame count
/// octet, or one that would last over 120 ms (RFC 6716 §3.2.5).
pub fn opus_packet_samples(packet: &[u8]) -> Result<u32, CodecError> {
    let toc = *packet.first().ok_or(CodecError::Malformed)?;
    let config = toc >> 3;
    // Frame duration in 48 kHz samples: SILK (0-11), hybrid (12-15), CELT (16-31).
    let per_frame: u32 = match config {
        0..=11 => match config & 3 {
            0 => 480,
            1 => 960,
            2 => 1920,
            _ => 2880,
        },
        12..=15 => 480 << (config & 1),
        _ => 120 << (config & 3),
    };
    let frames = match toc & 0x03 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(packet.get(1).ok_or(CodecError::Malformed)? & 0x3f),
    };
    let samples = per_frame * frames;
    if samples == 0 || samples > 5760 {
        return Err(CodecError::Malformed);
    }
    Ok(samples)
}

/// Opus packetizer: one packet, one payload; the marker on the first payload and on the first
/// speech payload after DTX silence.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OpusPacketizer {
    talkspurt: bool,
}

impl OpusPacketizer {
    /// A packetizer whose first payload carries the marker.
    #[must_use]
    pub fn new() -> Self {
        OpusPacketizer { talkspurt: true }
    }

    /// The next speech payload starts a talkspurt (after silence the sender did not send).
    pub fn start_talkspurt(&mut self) {
        self.talkspurt = true;
    }
}

impl Default for OpusPacketizer {
    fn default() -> Self {
        OpusPacketizer::new()
    }
}

impl Packetizer for OpusPacketizer {
    type Packets<'a> = OpusPackets<'a>;

    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<OpusPackets<'a>, CodecError> {
        if frame.is_empty() {
            return Err(CodecError::Malformed);
        }
        if frame.len() > max_payload {
            return Err(CodecError::PayloadTooSmall);
        }
        let marker = if opus_is_dtx(frame) {
            // Silence: the talkspurt starts at the next speech packet.
            self.talkspurt = true;
            false
        } else {
            core::mem::take(&mut self.talkspurt)
        };
        Ok(OpusPackets {
            packet: Some(frame),
            marker,
        })
    }
}

/// One Opus packet as its payload.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OpusPackets<'a> {
    packet: Option<&'a [u8]>,
    marker: bool,
}

impl Packets for OpusPackets<'_> {
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        let packet = self.packet?;
        let Some(room) = out.get_mut(..packet.len()) else {
            return Some(Err(CodecError::BufferTooSmall {
                needed: packet.len(),
            }));
        };
        room.copy_from_slice(packet);
        self.packet = None;
        Some(Ok(Payload {
            len: packet.len(),
            marker: self.marker,
        }))
    }
}

/// Opus depacketizer: each payload is one Opus packet; every packet is a frame the decoder can
/// start from.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OpusDepacketizer {
    inner: WholePayloads,
}

impl OpusDepacketizer {
    /// A depacketizer.
    #[must_use]
    pub fn new() -> Self {
        OpusDepacketizer::default()
    }
}

impl Depacketizer for OpusDepacketizer {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_durations_follow_rfc6716_toc() {
        // config 15 (hybrid FB 20 ms), code 0: 960 samples.
        assert_eq!(opus_packet_samples(&[15 << 3]), Ok(960));
        // config 31 (CELT FB 20 ms), code 1: two frames.
        assert_eq!(opus_packet_samples(&[31 << 3 | 1]), Ok(1920));
        // config 16 (CELT 2.5 ms), code 3 with 48 frames: 120 ms, the maximum.
        assert_eq!(opus_packet_samples(&[16 << 3 | 3, 48]), Ok(5760));
        // config 3 (SILK 60 ms), code 3 with 3 frames: 180 ms, too long.
        assert_eq!(
            opus_packet_samples(&[3 << 3 | 3, 3]),
            Err(CodecError::Malformed)
        );
        assert_eq!(
            opus_packet_samples(&[3 << 3 | 3]),
            Err(CodecError::Malformed)
        );
        assert_eq!(opus_packet_samples(&[]), Err(CodecError::Malformed));
    }
}
