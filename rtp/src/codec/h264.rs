//! H.264 video over RTP (RFC 6184), packetization modes 0 and 1.
//!
//! ```text
//!   Annex-B access unit (00 00 01 SPS 00 00 01 PPS 00 00 01 IDR …)
//!     ──H264Packetizer──▶ STAP-A [SPS PPS] | IDR FU-A(S) | FU-A | … | FU-A(E)+marker
//!     ──H264Depacketizer──▶ 00 00 00 01 SPS 00 00 00 01 PPS 00 00 00 01 IDR
//!
//!   NAL header   F|NRI|Type          Type 1-23 a unit, 24 STAP-A, 28 FU-A
//!   STAP-A       [F|max NRI|24] [size u16][unit] [size u16][unit] …
//!   FU-A         [F|NRI|28] [S|E|R|Type] part of the unit after its header
//! ```
//!
//! The packetizer remembers the last SPS and PPS it saw and sends them before an IDR that
//! comes without them, so a receiver joining late can decode from the next keyframe. Mode 0
//! sends every unit whole (an encoder must then cut slices below the MTU); mode 1 also
//! aggregates small units and fragments large ones. STAP-B, MTAPs and FU-B (mode 2) are
//! refused by the depacketizer as malformed.

use super::nal::{NalDepacketizer, NalPacketizer, NalPackets, NalSyntax, PayloadKind};
use super::{
    CodecError, Depacketizer, FrameBuf, FrameInfo, PacketizationMode, Packetizer, Packets, Payload,
    PayloadInfo,
};

/// NAL unit types (ITU-T H.264 Table 7-1, RFC 6184 Table 1) this format acts on.
pub mod unit_type {
    /// Coded slice of an IDR picture: a keyframe.
    pub const IDR: u8 = 5;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Single-time aggregation packet A.
    pub const STAP_A: u8 = 24;
    /// Fragmentation unit A.
    pub const FU_A: u8 = 28;
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct H264;

impl NalSyntax for H264 {
    const HEADER_LEN: usize = 1;

    fn unit_type(unit: &[u8]) -> u8 {
        unit.first().map_or(0, |h| h & 0x1f)
    }

    fn param_slot(unit_type: u8) -> Option<usize> {
        match unit_type {
            unit_type::SPS => Some(0),
            unit_type::PPS => Some(1),
            _ => None,
        }
    }

    fn is_keyframe(unit_type: u8) -> bool {
        unit_type == unit_type::IDR
    }

    fn aggregate_header<'a>(units: impl Iterator<Item = &'a [u8]>) -> [u8; 2] {
        // RFC 6184 §5.7: F is set if any unit's is, NRI is the highest of the units'.
        let (f, nri) = units
            .filter_map(|u| u.first())
            .fold((0, 0), |(f, nri), &h| (f | (h & 0x80), nri.max(h & 0x60)));
        [f | nri | unit_type::STAP_A, 0]
    }

    fn fragment_header(unit: &[u8], start: bool, end: bool) -> [u8; 3] {
        let h = unit.first().copied().unwrap_or(0);
        let flags = (u8::from(start) << 7) | (u8::from(end) << 6);
        [(h & 0xe0) | unit_type::FU_A, flags | (h & 0x1f), 0]
    }

    fn classify(payload: &[u8]) -> Result<PayloadKind<'_>, CodecError> {
        let (&indicator, rest) = payload.split_first().ok_or(CodecError::Malformed)?;
        match indicator & 0x1f {
            1..=23 => Ok(PayloadKind::Single),
            unit_type::STAP_A => Ok(PayloadKind::Aggregate(rest)),
            unit_type::FU_A => {
                let (&fu, part) = rest.split_first().ok_or(CodecError::Malformed)?;
                let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
                let inner = fu & 0x1f;
                // A fragment both starting and ending a unit, or carrying a type that is not
                // a NAL unit's, is refused (RFC 6184 §5.8).
                if (start && end) || !(1..=23).contains(&inner) {
                    return Err(CodecError::Malformed);
                }
                Ok(PayloadKind::Fragment {
                    header: [(indicator & 0xe0) | inner, 0],
                    start,
                    end,
                    part,
                })
            }
            // 0 and 30-31 are undefined, 25-27 and 29 belong to the interleaved mode.
            _ => Err(CodecError::Malformed),
        }
    }
}

/// Turns Annex-B access units into RTP payloads. `PARAM_CAP` bounds the SPS and PPS it
/// remembers (each); a longer one is refused with [`CodecError::BufferTooSmall`].
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct H264Packetizer<const PARAM_CAP: usize = 256> {
    inner: NalPacketizer<H264, PARAM_CAP>,
}

impl H264Packetizer {
    /// A packetizer for `mode`, remembering parameter sets of up to 256 bytes.
    #[must_use]
    pub fn new(mode: PacketizationMode) -> Self {
        Self::with_param_capacity(mode)
    }
}

impl<const PARAM_CAP: usize> H264Packetizer<PARAM_CAP> {
    /// A packetizer for `mode`, remembering parameter sets of up to `PARAM_CAP` bytes.
    #[must_use]
    pub fn with_param_capacity(mode: PacketizationMode) -> Self {
        H264Packetizer {
            inner: NalPacketizer::new(mode),
        }
    }

    /// The packetization mode (the SDP `packetization-mode` parameter).
    #[must_use]
    pub fn mode(&self) -> PacketizationMode {
        self.inner.mode()
    }

    /// The last SPS seen, without start code (empty before the first).
    #[must_use]
    pub fn sps(&self) -> &[u8] {
        self.inner.stored_param(0)
    }

    /// The last PPS seen, without start code (empty before the first).
    #[must_use]
    pub fn pps(&self) -> &[u8] {
        self.inner.stored_param(1)
    }
}

impl<const PARAM_CAP: usize> Packetizer for H264Packetizer<PARAM_CAP> {
    type Packets<'a> = H264Packets<'a>;

    /// `frame` is one access unit in Annex-B form (3- or 4-byte start codes).
    ///
    /// # Errors
    ///
    /// Besides the trait's: in mode 0, [`CodecError::PayloadTooSmall`] when a unit (or a
    /// parameter set to repeat) is larger than `max_payload`; [`CodecError::BufferTooSmall`]
    /// when an SPS or PPS is larger than `PARAM_CAP`. Nothing is remembered from a refused
    /// frame.
    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<H264Packets<'a>, CodecError> {
        Ok(H264Packets(self.inner.packetize(frame, max_payload)?))
    }
}

/// One H.264 access unit's payloads.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct H264Packets<'a>(NalPackets<'a, H264>);

impl Packets for H264Packets<'_> {
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        self.0.next_payload(out)
    }
}

/// Rebuilds Annex-B access units (4-byte start codes) from RTP payloads of mode 0 or 1.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct H264Depacketizer(NalDepacketizer<H264>);

impl H264Depacketizer {
    /// A depacketizer waiting for a frame's first payload.
    #[must_use]
    pub fn new() -> Self {
        H264Depacketizer(NalDepacketizer::new())
    }
}

impl Default for H264Depacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Depacketizer for H264Depacketizer {
    /// A payload starts a frame when it holds whole units or a fragment's start; it is a
    /// keyframe's when one of those is an IDR or an SPS.
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        NalDepacketizer::<H264>::inspect(payload, |t| t == unit_type::IDR || t == unit_type::SPS)
    }

    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError> {
        self.0.push(payload, frame)
    }

    /// A frame is a keyframe when it holds an IDR slice.
    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        self.0.finish(frame)
    }

    fn reset(&mut self) {
        self.0.reset();
    }
}
