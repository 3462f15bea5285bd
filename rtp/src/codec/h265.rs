//! H.265 (HEVC) video over RTP (RFC 7798), without DONL (sprop-max-don-diff 0) and without
//! PACI.
//!
//! ```text
//!   Annex-B access unit (VPS SPS PPS IDR_W_RADL …)
//!     ──H265Packetizer──▶ AP [VPS SPS PPS] | FU(S) | FU | … | FU(E)+marker
//!     ──H265Depacketizer──▶ 00 00 00 01 VPS 00 00 00 01 SPS 00 00 00 01 PPS 00 00 00 01 IDR
//!
//!   NAL header  F|Type(6)|LayerId(6)|TID(3)   Type 0-47 a unit, 48 AP, 49 FU
//!   AP          [F|48|min LayerId|min TID] [size u16][unit] [size u16][unit] …
//!   FU          [F|49|LayerId|TID] [S|E|FuType] part of the unit after its header
//! ```
//!
//! The packetizer remembers the last VPS, SPS and PPS and sends those a frame lacks before an
//! IRAP picture (types 16-21, the keyframes).

use super::nal::{NalDepacketizer, NalPacketizer, NalPackets, NalSyntax, PayloadKind};
use super::{
    CodecError, Depacketizer, FrameBuf, FrameInfo, PacketizationMode, Packetizer, Packets, Payload,
    PayloadInfo,
};

/// NAL unit types (ITU-T H.265 Table 7-1, RFC 7798 §4.4) this format acts on.
pub mod unit_type {
    /// First IRAP type (BLA_W_LP); IRAP pictures are keyframes.
    pub const IRAP_FIRST: u8 = 16;
    /// Last IRAP type (CRA_NUT).
    pub const IRAP_LAST: u8 = 21;
    /// Video parameter set.
    pub const VPS: u8 = 32;
    /// Sequence parameter set.
    pub const SPS: u8 = 33;
    /// Picture parameter set.
    pub const PPS: u8 = 34;
    /// Aggregation packet.
    pub const AP: u8 = 48;
    /// Fragmentation unit.
    pub const FU: u8 = 49;
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct H265;

fn layer_id(h: [u8; 2]) -> u8 {
    ((h[0] & 1) << 5) | (h[1] >> 3)
}

fn header(unit: &[u8]) -> [u8; 2] {
    [
        unit.first().copied().unwrap_or(0),
        unit.get(1).copied().unwrap_or(0),
    ]
}

impl NalSyntax for H265 {
    const HEADER_LEN: usize = 2;

    fn unit_type(unit: &[u8]) -> u8 {
        unit.first().map_or(0, |h| (h >> 1) & 0x3f)
    }

    fn param_slot(unit_type: u8) -> Option<usize> {
        match unit_type {
            unit_type::VPS => Some(0),
            unit_type::SPS => Some(1),
            unit_type::PPS => Some(2),
            _ => None,
        }
    }

    fn is_keyframe(unit_type: u8) -> bool {
        (unit_type::IRAP_FIRST..=unit_type::IRAP_LAST).contains(&unit_type)
    }

    fn aggregate_header<'a>(units: impl Iterator<Item = &'a [u8]>) -> [u8; 2] {
        // RFC 7798 §4.4.2: F if any unit's F, the lowest LayerId and the lowest TID.
        let (f, layer, tid) = units
            .map(header)
            .fold((0, u8::MAX, u8::MAX), |(f, l, t), h| {
                (f | (h[0] & 0x80), l.min(layer_id(h)), t.min(h[1] & 7))
            });
        [
            f | (unit_type::AP << 1) | (layer >> 5),
            ((layer & 0x1f) << 3) | tid,
        ]
    }

    fn fragment_header(unit: &[u8], start: bool, end: bool) -> [u8; 3] {
        let h = header(unit);
        let flags = (u8::from(start) << 7) | (u8::from(end) << 6);
        [
            (h[0] & 0x81) | (unit_type::FU << 1),
            h[1],
            flags | Self::unit_type(unit),
        ]
    }

    fn classify(payload: &[u8]) -> Result<PayloadKind<'_>, CodecError> {
        if payload.len() < 2 {
            return Err(CodecError::Malformed);
        }
        let h = header(payload);
        let rest = payload.get(2..).unwrap_or_default();
        match Self::unit_type(payload) {
            0..=47 => Ok(PayloadKind::Single),
            unit_type::AP => Ok(PayloadKind::Aggregate(rest)),
            unit_type::FU => {
                let (&fu, part) = rest.split_first().ok_or(CodecError::Malformed)?;
                let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
                let inner = fu & 0x3f;
                // RFC 7798 §4.4.3: S and E never both set; FuType is a NAL unit's type.
                if (start && end) || inner >= unit_type::AP {
                    return Err(CodecError::Malformed);
                }
                Ok(PayloadKind::Fragment {
                    header: [(h[0] & 0x81) | (inner << 1), h[1]],
                    start,
                    end,
                    part,
                })
            }
            // 50 is PACI, 51-63 are undefined.
            _ => Err(CodecError::Malformed),
        }
    }
}

/// Turns Annex-B access units into RTP payloads. `PARAM_CAP` bounds the VPS, SPS and PPS it
/// remembers (each); a longer one is refused with [`CodecError::BufferTooSmall`].
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct H265Packetizer<const PARAM_CAP: usize = 256> {
    inner: NalPacketizer<H265, PARAM_CAP>,
}

impl H265Packetizer {
    /// A packetizer remembering parameter sets of up to 256 bytes.
    #[must_use]
    pub fn new() -> Self {
        Self::with_param_capacity()
    }
}

impl Default for H265Packetizer {
    fn default() -> Self {
        Self::new()
    }
}

impl<const PARAM_CAP: usize> H265Packetizer<PARAM_CAP> {
    /// A packetizer remembering parameter sets of up to `PARAM_CAP` bytes.
    #[must_use]
    pub fn with_param_capacity() -> Self {
        H265Packetizer {
            inner: NalPacketizer::new(PacketizationMode::NonInterleaved),
        }
    }

    /// The last VPS seen, without start code (empty before the first).
    #[must_use]
    pub fn vps(&self) -> &[u8] {
        self.inner.stored_param(0)
    }

    /// The last SPS seen, without start code (empty before the first).
    #[must_use]
    pub fn sps(&self) -> &[u8] {
        self.inner.stored_param(1)
    }

    /// The last PPS seen, without start code (empty before the first).
    #[must_use]
    pub fn pps(&self) -> &[u8] {
        self.inner.stored_param(2)
    }
}

impl<const PARAM_CAP: usize> Packetizer for H265Packetizer<PARAM_CAP> {
    type Packets<'a> = H265Packets<'a>;

    /// `frame` is one access unit in Annex-B form (3- or 4-byte start codes).
    ///
    /// # Errors
    ///
    /// Besides the trait's: [`CodecError::BufferTooSmall`] when a parameter set is larger than
    /// `PARAM_CAP`. Nothing is remembered from a refused frame.
    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<H265Packets<'a>, CodecError> {
        Ok(H265Packets(self.inner.packetize(frame, max_payload)?))
    }
}

/// One H.265 access unit's payloads.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct H265Packets<'a>(NalPackets<'a, H265>);

impl Packets for H265Packets<'_> {
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        self.0.next_payload(out)
    }
}

/// Rebuilds Annex-B access units (4-byte start codes) from RTP payloads.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct H265Depacketizer(NalDepacketizer<H265>);

impl H265Depacketizer {
    /// A depacketizer waiting for a frame's first payload.
    #[must_use]
    pub fn new() -> Self {
        H265Depacketizer(NalDepacketizer::new())
    }
}

impl Default for H265Depacketizer {
    fn default() -> Self {
        Self::new()
    }
}

impl Depacketizer for H265Depacketizer {
    /// A payload starts a frame when it holds whole units or a fragment's start; it is a
    /// keyframe's when one of those is an IRAP picture or a VPS/SPS.
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        NalDepacketizer::<H265>::inspect(payload, |t| {
            H265::is_keyframe(t) || t == unit_type::VPS || t == unit_type::SPS
        })
    }

    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError> {
        self.0.push(payload, frame)
    }

    /// A frame is a keyframe when it holds an IRAP picture.
    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        self.0.finish(frame)
    }

    fn reset(&mut self) {
        self.0.reset();
    }
}
