//! G.722 over RTP (RFC 3551 §4.5.2): 16 kHz audio at 64 kbit/s, one octet per two samples,
//! payloads of a fixed packet time, no header, no keyframes.
//!
//! ```text
//!   encoded octets ──G722Packetizer(ptime)──▶ [8 × ptime octets] … (marker at a talkspurt's start)
//!   RTP timestamp: + payload length. The RTP clock is 8 kHz although the audio is sampled at
//!   16 kHz: an error in RFC 1890 kept for compatibility (RFC 3551 §4.5.2), so SDP says
//!   G722/8000 and one octet (two 16 kHz samples) is one 8 kHz tick.
//! ```

use super::g711::{ChunkPackets, FixedPtime, WholePayloads};
use super::{CodecError, Depacketizer, FrameBuf, FrameInfo, Packetizer, PayloadInfo};

/// G.722 octets per millisecond (64 kbit/s), and RTP clock ticks per millisecond (8 kHz).
pub const G722_OCTETS_PER_MS: usize = 8;

/// The RTP clock rate G.722 is signalled with (RFC 3551 §4.5.2), not its sampling rate.
pub const G722_RTP_CLOCK_HZ: u32 = 8_000;

/// G.722 packetizer: a fixed packet time, the marker at each talkspurt's start.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct G722Packetizer {
    chunks: FixedPtime,
}

impl G722Packetizer {
    /// Payloads of `ptime_ms` milliseconds (20 is usual): 8 × `ptime_ms` octets.
    #[must_use]
    pub fn new(ptime_ms: u16) -> Self {
        G722Packetizer {
            chunks: FixedPtime::new(usize::from(ptime_ms) * G722_OCTETS_PER_MS),
        }
    }

    /// The next payload starts a talkspurt: it gets the marker (RFC 3551 §4.1).
    pub fn start_talkspurt(&mut self) {
        self.chunks.start_talkspurt();
    }
}

impl Packetizer for G722Packetizer {
    type Packets<'a> = ChunkPackets<'a>;

    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<ChunkPackets<'a>, CodecError> {
        self.chunks.packetize(frame, max_payload)
    }
}

/// How far the RTP timestamp moves for a G.722 payload: one 8 kHz tick per octet, though
/// each octet holds two 16 kHz samples.
#[must_use]
pub fn g722_timestamp_increment(payload_len: usize) -> u32 {
    u32::try_from(payload_len).unwrap_or(u32::MAX)
}

/// 16 kHz samples in a G.722 payload (two per octet), for the decoder's output size.
#[must_use]
pub fn g722_samples(payload_len: usize) -> usize {
    payload_len.saturating_mul(2)
}

/// G.722 depacketizer: each payload is a frame.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct G722Depacketizer {
    inner: WholePayloads,
}

impl G722Depacketizer {
    /// A depacketizer.
    #[must_use]
    pub fn new() -> Self {
        G722Depacketizer::default()
    }
}

impl Depacketizer for G722Depacketizer {
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
