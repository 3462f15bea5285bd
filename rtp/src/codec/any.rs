//! One type over every payload format, picked at run time from what SDP negotiated.
//!
//! ```text
//!   a=rtpmap:<pt> <name>/<clock rate> ──Codec::from_rtpmap──▶ Codec ──AnyPacketizer::new(codec, options)──▶ packetize
//!                                                                  └──AnyDepacketizer::new(codec)─────────▶ jitter buffer
//! ```
//!
//! A Peer learns its formats from the remote description, so it cannot name a packetizer type
//! at compile time; [`AnyPacketizer`] and [`AnyDepacketizer`] are enums over the formats'
//! own machines and forward each call to the one inside (a `match`, no dynamic dispatch, no
//! allocation). telephone-event (RFC 4733) is a [`Codec`] but not a byte-frame format: it has
//! its own sender and receiver ([`super::telephone_event`]), and the `new`s here refuse it.
//! So do the formats that only wrap another one (rtx, red, ulpfec, flexfec, CN): they are not
//! a [`Codec`].

use core::fmt;

use super::av1::{Av1Depacketizer, Av1Packetizer, Av1Packets};
use super::g711::{ChunkPackets, G711Depacketizer, G711Packetizer};
use super::g722::{G722Depacketizer, G722Packetizer};
use super::h264::{H264Depacketizer, H264Packetizer, H264Packets};
use super::h265::{H265Depacketizer, H265Packetizer, H265Packets};
use super::opus::{OpusDepacketizer, OpusPacketizer, OpusPackets};
use super::vp8::{Vp8Config, Vp8Depacketizer, Vp8Packetizer, Vp8Packets};
use super::vp9::{Vp9Config, Vp9Depacketizer, Vp9Packetizer, Vp9Packets};
use super::{
    CodecError, Depacketizer, FrameBuf, FrameInfo, PacketizationMode, Packetizer, Packets, Payload,
    PayloadInfo,
};

/// A payload format as SDP names it (`a=rtpmap`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Codec {
    /// VP8 (RFC 7741), 90 kHz.
    Vp8,
    /// VP9 (RFC 9628), 90 kHz.
    Vp9,
    /// H.264 (RFC 6184), 90 kHz.
    H264,
    /// H.265 (RFC 7798), 90 kHz.
    H265,
    /// AV1 (AOM AV1 RTP specification v1.0), 90 kHz.
    Av1,
    /// Opus (RFC 7587), always 48 kHz in SDP whatever the audio's rate.
    Opus,
    /// G.711 µ-law (RFC 3551, static payload type 0), 8 kHz.
    Pcmu,
    /// G.711 A-law (RFC 3551, static payload type 8), 8 kHz.
    Pcma,
    /// G.722 (RFC 3551, static payload type 9), signalled at 8 kHz though sampled at 16.
    G722,
    /// DTMF events (RFC 4733), at the clock rate of the audio it goes with.
    TelephoneEvent,
}

impl Codec {
    /// Every format, in the order of the enum.
    pub const ALL: [Codec; 10] = [
        Codec::Vp8,
        Codec::Vp9,
        Codec::H264,
        Codec::H265,
        Codec::Av1,
        Codec::Opus,
        Codec::Pcmu,
        Codec::Pcma,
        Codec::G722,
        Codec::TelephoneEvent,
    ];

    /// The format an rtpmap names: the encoding name (case-insensitive, RFC 4855 §3) and the
    /// clock rate, e.g. `"VP8", 90000`, `"opus", 48000`, `"PCMU", 8000`,
    /// `"telephone-event", 8000` (or 16000, 48000: it follows its audio). `None` for a name we
    /// have no format for, for the formats that only carry another one (rtx, red, ulpfec,
    /// flexfec) and for comfort noise, and for a clock rate the format is never sent at.
    #[must_use]
    pub fn from_rtpmap(name: &str, clock_rate: u32) -> Option<Codec> {
        if name.eq_ignore_ascii_case("telephone-event") {
            return matches!(clock_rate, 8_000 | 16_000 | 32_000 | 44_100 | 48_000)
                .then_some(Codec::TelephoneEvent);
        }
        Codec::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name) && c.clock_rate() == clock_rate)
    }

    /// The format a static payload type stands for without an rtpmap (RFC 3551 §6): 0 PCMU,
    /// 8 PCMA, 9 G722.
    #[must_use]
    pub fn from_static_payload_type(payload_type: u8) -> Option<Codec> {
        match payload_type {
            0 => Some(Codec::Pcmu),
            8 => Some(Codec::Pcma),
            9 => Some(Codec::G722),
            _ => None,
        }
    }

    /// The encoding name as SDP writes it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Codec::Vp8 => "VP8",
            Codec::Vp9 => "VP9",
            Codec::H264 => "H264",
            Codec::H265 => "H265",
            Codec::Av1 => "AV1",
            Codec::Opus => "opus",
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
            Codec::G722 => "G722",
            Codec::TelephoneEvent => "telephone-event",
        }
    }

    /// The RTP clock rate SDP gives it (telephone-event: 8000, its usual one; the rtpmap says
    /// which it is paired with).
    #[must_use]
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Vp8 | Codec::Vp9 | Codec::H264 | Codec::H265 | Codec::Av1 => 90_000,
            Codec::Opus => 48_000,
            Codec::Pcmu | Codec::Pcma | Codec::G722 | Codec::TelephoneEvent => 8_000,
        }
    }

    /// A video format (an `m=video` section, frames of many packets).
    #[must_use]
    pub fn is_video(self) -> bool {
        matches!(
            self,
            Codec::Vp8 | Codec::Vp9 | Codec::H264 | Codec::H265 | Codec::Av1
        )
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the packetizers need beyond the format: the negotiated or chosen settings, each used
/// by its format only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PacketizerOptions {
    /// H.264 `packetization-mode` from the fmtp (mode 1 by default, what browsers offer).
    pub h264_mode: PacketizationMode,
    /// VP8 picture id width and first value (a random first one is what RFC 7741 asks).
    pub vp8: Vp8Config,
    /// VP9 picture id, flexible or not, scalability structure.
    pub vp9: Vp9Config,
    /// G.711 / G.722 packet time in milliseconds (`a=ptime`, 20 by default).
    pub ptime_ms: u16,
}

impl Default for PacketizerOptions {
    fn default() -> Self {
        PacketizerOptions {
            h264_mode: PacketizationMode::NonInterleaved,
            vp8: Vp8Config::default(),
            vp9: Vp9Config::default(),
            ptime_ms: 20,
        }
    }
}

/// The packetizer of any format but telephone-event.
#[derive(Clone, Debug)]
pub enum AnyPacketizer {
    /// VP8.
    Vp8(Vp8Packetizer),
    /// VP9.
    Vp9(Vp9Packetizer),
    /// H.264.
    H264(H264Packetizer),
    /// H.265.
    H265(H265Packetizer),
    /// AV1.
    Av1(Av1Packetizer),
    /// Opus.
    Opus(OpusPacketizer),
    /// PCMU or PCMA (the same packetizer: the companding is the encoder's).
    G711(G711Packetizer),
    /// G.722.
    G722(G722Packetizer),
}

// By hand: the NAL packetizers' parameter-set stores have no `defmt::Format`, and the format's
// name is what a log wants.
#[cfg(feature = "defmt")]
impl defmt::Format for AnyPacketizer {
    fn format(&self, f: defmt::Formatter<'_>) {
        let name = match self {
            AnyPacketizer::Vp8(_) => "VP8",
            AnyPacketizer::Vp9(_) => "VP9",
            AnyPacketizer::H264(_) => "H264",
            AnyPacketizer::H265(_) => "H265",
            AnyPacketizer::Av1(_) => "AV1",
            AnyPacketizer::Opus(_) => "opus",
            AnyPacketizer::G711(_) => "G711",
            AnyPacketizer::G722(_) => "G722",
        };
        defmt::write!(f, "AnyPacketizer({=str})", name);
    }
}

impl AnyPacketizer {
    /// The packetizer for `codec`, set up from `options`; `None` for telephone-event.
    #[must_use]
    pub fn new(codec: Codec, options: &PacketizerOptions) -> Option<Self> {
        Some(match codec {
            Codec::Vp8 => AnyPacketizer::Vp8(Vp8Packetizer::new(options.vp8)),
            Codec::Vp9 => AnyPacketizer::Vp9(Vp9Packetizer::new(options.vp9)),
            Codec::H264 => AnyPacketizer::H264(H264Packetizer::new(options.h264_mode)),
            Codec::H265 => AnyPacketizer::H265(H265Packetizer::new()),
            Codec::Av1 => AnyPacketizer::Av1(Av1Packetizer::new()),
            Codec::Opus => AnyPacketizer::Opus(OpusPacketizer::new()),
            Codec::Pcmu | Codec::Pcma => AnyPacketizer::G711(G711Packetizer::new(options.ptime_ms)),
            Codec::G722 => AnyPacketizer::G722(G722Packetizer::new(options.ptime_ms)),
            Codec::TelephoneEvent => return None,
        })
    }
}

/// One frame's payloads, from whichever format's packetizer.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AnyPackets<'a> {
    /// VP8.
    Vp8(Vp8Packets<'a>),
    /// VP9.
    Vp9(Vp9Packets<'a>),
    /// H.264.
    H264(H264Packets<'a>),
    /// H.265.
    H265(H265Packets<'a>),
    /// AV1.
    Av1(Av1Packets<'a>),
    /// Opus.
    Opus(OpusPackets<'a>),
    /// G.711 and G.722: fixed-size chunks.
    Chunks(ChunkPackets<'a>),
}

impl Packetizer for AnyPacketizer {
    type Packets<'a> = AnyPackets<'a>;

    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<AnyPackets<'a>, CodecError> {
        Ok(match self {
            AnyPacketizer::Vp8(p) => AnyPackets::Vp8(p.packetize(frame, max_payload)?),
            AnyPacketizer::Vp9(p) => AnyPackets::Vp9(p.packetize(frame, max_payload)?),
            AnyPacketizer::H264(p) => AnyPackets::H264(p.packetize(frame, max_payload)?),
            AnyPacketizer::H265(p) => AnyPackets::H265(p.packetize(frame, max_payload)?),
            AnyPacketizer::Av1(p) => AnyPackets::Av1(p.packetize(frame, max_payload)?),
            AnyPacketizer::Opus(p) => AnyPackets::Opus(p.packetize(frame, max_payload)?),
            AnyPacketizer::G711(p) => AnyPackets::Chunks(p.packetize(frame, max_payload)?),
            AnyPacketizer::G722(p) => AnyPackets::Chunks(p.packetize(frame, max_payload)?),
        })
    }
}

impl Packets for AnyPackets<'_> {
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        match self {
            AnyPackets::Vp8(p) => p.next_payload(out),
            AnyPackets::Vp9(p) => p.next_payload(out),
            AnyPackets::H264(p) => p.next_payload(out),
            AnyPackets::H265(p) => p.next_payload(out),
            AnyPackets::Av1(p) => p.next_payload(out),
            AnyPackets::Opus(p) => p.next_payload(out),
            AnyPackets::Chunks(p) => p.next_payload(out),
        }
    }
}

/// The depacketizer of any format but telephone-event.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AnyDepacketizer {
    /// VP8.
    Vp8(Vp8Depacketizer),
    /// VP9.
    Vp9(Vp9Depacketizer),
    /// H.264.
    H264(H264Depacketizer),
    /// H.265.
    H265(H265Depacketizer),
    /// AV1.
    Av1(Av1Depacketizer),
    /// Opus.
    Opus(OpusDepacketizer),
    /// PCMU or PCMA.
    G711(G711Depacketizer),
    /// G.722.
    G722(G722Depacketizer),
}

impl AnyDepacketizer {
    /// The depacketizer for `codec`; `None` for telephone-event.
    #[must_use]
    pub fn new(codec: Codec) -> Option<Self> {
        Some(match codec {
            Codec::Vp8 => AnyDepacketizer::Vp8(Vp8Depacketizer::new()),
            Codec::Vp9 => AnyDepacketizer::Vp9(Vp9Depacketizer::new()),
            Codec::H264 => AnyDepacketizer::H264(H264Depacketizer::new()),
            Codec::H265 => AnyDepacketizer::H265(H265Depacketizer::new()),
            Codec::Av1 => AnyDepacketizer::Av1(Av1Depacketizer::new()),
            Codec::Opus => AnyDepacketizer::Opus(OpusDepacketizer::new()),
            Codec::Pcmu | Codec::Pcma => AnyDepacketizer::G711(G711Depacketizer::new()),
            Codec::G722 => AnyDepacketizer::G722(G722Depacketizer::new()),
            Codec::TelephoneEvent => return None,
        })
    }
}

/// Forwards one call to the format inside.
macro_rules! each_depacketizer {
    ($self:expr, $d:ident => $call:expr) => {
        match $self {
            AnyDepacketizer::Vp8($d) => $call,
            AnyDepacketizer::Vp9($d) => $call,
            AnyDepacketizer::H264($d) => $call,
            AnyDepacketizer::H265($d) => $call,
            AnyDepacketizer::Av1($d) => $call,
            AnyDepacketizer::Opus($d) => $call,
            AnyDepacketizer::G711($d) => $call,
            AnyDepacketizer::G722($d) => $call,
        }
    };
}

impl Depacketizer for AnyDepacketizer {
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        each_depacketizer!(self, d => d.inspect(payload))
    }

    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError> {
        each_depacketizer!(self, d => d.push(payload, frame))
    }

    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        each_depacketizer!(self, d => d.finish(frame))
    }

    fn reset(&mut self) {
        each_depacketizer!(self, d => d.reset());
    }
}
