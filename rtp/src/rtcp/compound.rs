//! The RTCP packet header, the compound iterator and the typed view of each packet.
//!
//! ```text
//!   datagram --Compound::parse--> framing of every packet checked once
//!            --packets()-------> Packet, Packet, ...
//!   Packet   --kind()----------> Kind::{SenderReport, ReceiverReport, Sdes, Bye, App,
//!                                      Nack, TransportCc, Pli, Fir, Remb, Other}
//! ```

use super::feedback::{Feedback, FeedbackSsrcs};
use super::psfb::{Fir, Remb};
use super::report::{ReceiverReport, SenderReport};
use super::rtpfb::{Nack, TransportCc};
use super::sdes_bye_app::{App, Bye, Sdes};
use crate::WireError;

/// The RTCP packet type (the second octet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PacketType(pub u8);

impl PacketType {
    /// Sender report (RFC 3550 §6.4.1).
    pub const SR: PacketType = PacketType(200);
    /// Receiver report (RFC 3550 §6.4.2).
    pub const RR: PacketType = PacketType(201);
    /// Source description (RFC 3550 §6.5).
    pub const SDES: PacketType = PacketType(202);
    /// Goodbye (RFC 3550 §6.6).
    pub const BYE: PacketType = PacketType(203);
    /// Application-defined (RFC 3550 §6.7).
    pub const APP: PacketType = PacketType(204);
    /// Transport-layer feedback (RFC 4585 §6.2).
    pub const RTPFB: PacketType = PacketType(205);
    /// Payload-specific feedback (RFC 4585 §6.3).
    pub const PSFB: PacketType = PacketType(206);
    /// Extended reports (RFC 3611); carried as [`Kind::Other`].
    pub const XR: PacketType = PacketType(207);
}

/// The feedback message type (FMT, in the count field) of RTPFB and PSFB packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fmt(pub u8);

impl Fmt {
    /// RTPFB generic NACK (RFC 4585 §6.2.1).
    pub const NACK: Fmt = Fmt(1);
    /// RTPFB transport-wide congestion control feedback
    /// (draft-holmer-rmcat-transport-wide-cc-extensions-01).
    pub const TRANSPORT_CC: Fmt = Fmt(15);
    /// PSFB picture loss indication (RFC 4585 §6.3.1).
    pub const PLI: Fmt = Fmt(1);
    /// PSFB full intra request (RFC 5104 §4.3.1).
    pub const FIR: Fmt = Fmt(4);
    /// PSFB application layer feedback (RFC 4585 §6.4), which carries REMB.
    pub const AFB: Fmt = Fmt(15);
}

pub(super) const HEADER_LEN: usize = 4;

/// The big-endian word at `at`, 0 past the end (views call it only where parse checked).
pub(super) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |b| u32::from_be_bytes(*b))
}

/// The big-endian half-word at `at`, 0 past the end.
pub(super) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk)
        .map_or(0, |b| u16::from_be_bytes(*b))
}

/// Whether a datagram on an RTP/RTCP-multiplexed port is RTCP (RFC 5761 §4): its second
/// octet, read as an RTP marker bit and payload type, falls in 192-223 (RTCP packet types
/// 192-223 where RTP payload types 64-95 would be, which RFC 5761 sets aside).
#[must_use]
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram.get(1).is_some_and(|b| (192..=223).contains(b))
}

/// The SSRC of the first packet's sender (the word after its header), checking only version 2
/// and that the 8 bytes are there: what SRTCP reads before the rest can be decrypted.
pub fn sender_ssrc(datagram: &[u8]) -> Result<u32, WireError> {
    match datagram.first_chunk::<8>() {
        Some(&[first, _, _, _, a, b, c, d]) if first >> 6 == 2 => {
            Ok(u32::from_be_bytes([a, b, c, d]))
        }
        _ => Err(WireError::Malformed),
    }
}

/// A checked compound RTCP packet: one or more RTCP packets back to back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Compound<'a> {
    bytes: &'a [u8],
}

impl<'a> Compound<'a> {
    /// Checks the framing of every packet: version 2, length within the datagram, and a
    /// padding count (if P is set) within the packet. Any packet type may come first, so
    /// reduced-size RTCP (RFC 5506) is accepted; at least one packet is required.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        if bytes.is_empty() {
            return Err(WireError::Malformed);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let (_, len) = Packet::frame(rest)?;
            rest = rest.get(len..).ok_or(WireError::Malformed)?;
        }
        Ok(Compound { bytes })
    }

    /// The packets, in order.
    #[must_use]
    pub fn packets(&self) -> Packets<'a> {
        Packets { rest: self.bytes }
    }

    /// The whole compound packet.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }
}

/// Iterator over the packets of a [`Compound`].
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Packets<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Packets<'a> {
    type Item = Packet<'a>;

    fn next(&mut self) -> Option<Packet<'a>> {
        let (packet, len) = Packet::frame(self.rest).ok()?;
        self.rest = self.rest.get(len..).unwrap_or_default();
        Some(packet)
    }
}

/// One RTCP packet of a compound: its header and body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Packet<'a> {
    bytes: &'a [u8],
    padding_len: usize,
}

impl<'a> Packet<'a> {
    /// Checks one packet at the start of `bytes`; returns it and its length.
    fn frame(bytes: &'a [u8]) -> Result<(Self, usize), WireError> {
        let &[first, _, len_hi, len_lo] = bytes
            .first_chunk::<HEADER_LEN>()
            .ok_or(WireError::Malformed)?;
        if first >> 6 != 2 {
            return Err(WireError::Malformed);
        }
        let len = 4 * (usize::from(u16::from_be_bytes([len_hi, len_lo])) + 1);
        let bytes = bytes.get(..len).ok_or(WireError::Malformed)?;
        let padding_len = if first & 0x20 != 0 {
            let count = usize::from(*bytes.last().ok_or(WireError::Malformed)?);
            if count == 0 || count > len - HEADER_LEN {
                return Err(WireError::Malformed);
            }
            count
        } else {
            0
        };
        Ok((Packet { bytes, padding_len }, len))
    }

    /// Checks `bytes` as exactly one RTCP packet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let (packet, len) = Self::frame(bytes)?;
        if len != bytes.len() {
            return Err(WireError::Malformed);
        }
        Ok(packet)
    }

    /// The packet type.
    #[must_use]
    pub fn packet_type(&self) -> PacketType {
        PacketType(self.bytes.get(1).copied().unwrap_or_default())
    }

    /// The 5-bit count field: report count, source count, APP subtype or feedback FMT.
    #[must_use]
    pub fn count(&self) -> u8 {
        self.bytes.first().copied().unwrap_or_default() & 0x1f
    }

    /// Whether the P bit is set.
    #[must_use]
    pub fn has_padding(&self) -> bool {
        self.padding_len != 0
    }

    /// The whole packet, header and padding included.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The body after the 4-byte header, without padding.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.bytes
            .get(HEADER_LEN..self.bytes.len() - self.padding_len)
            .unwrap_or_default()
    }

    /// The packet's typed view, after checking its body. Types and feedback formats this
    /// crate does not model are [`Kind::Other`].
    pub fn kind(&self) -> Result<Kind<'a>, WireError> {
        let body = self.body();
        let count = usize::from(self.count());
        Ok(match (self.packet_type(), Fmt(self.count())) {
            (PacketType::SR, _) => {
                let blocks = body
                    .get(4 + 20..4 + 20 + 24 * count)
                    .ok_or(WireError::Malformed)?;
                Kind::SenderReport(SenderReport { body, blocks })
            }
            (PacketType::RR, _) => {
                let blocks = body.get(4..4 + 24 * count).ok_or(WireError::Malformed)?;
                Kind::ReceiverReport(ReceiverReport { body, blocks })
            }
            (PacketType::SDES, _) => Kind::Sdes(Sdes::parse(body, count)?),
            (PacketType::BYE, _) => Kind::Bye(Bye::parse(body, count)?),
            (PacketType::APP, _) => {
                if body.len() < 8 {
                    return Err(WireError::Malformed);
                }
                Kind::App(App {
                    subtype: self.count(),
                    body,
                })
            }
            (PacketType::RTPFB, Fmt::NACK) => {
                let fb = Feedback::parse(body)?;
                if fb.fci.len() % 4 != 0 {
                    return Err(WireError::Malformed);
                }
                Kind::Nack(Nack(fb))
            }
            (PacketType::RTPFB, Fmt::TRANSPORT_CC) => {
                Kind::TransportCc(TransportCc::parse(Feedback::parse(body)?)?)
            }
            (PacketType::PSFB, Fmt::PLI) => Kind::Pli(Feedback::parse(body)?.ssrcs()),
            (PacketType::PSFB, Fmt::FIR) => {
                let fb = Feedback::parse(body)?;
                if fb.fci.len() % 8 != 0 {
                    return Err(WireError::Malformed);
                }
                Kind::Fir(Fir(fb))
            }
            (PacketType::PSFB, Fmt::AFB) => {
                let fb = Feedback::parse(body)?;
                match Remb::parse(fb) {
                    Some(remb) => Kind::Remb(remb),
                    None => Kind::Other(*self),
                }
            }
            _ => Kind::Other(*self),
        })
    }
}

/// The typed view of one RTCP packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Kind<'a> {
    /// A sender report.
    SenderReport(SenderReport<'a>),
    /// A receiver report.
    ReceiverReport(ReceiverReport<'a>),
    /// Source descriptions.
    Sdes(Sdes<'a>),
    /// Goodbye.
    Bye(Bye<'a>),
    /// Application-defined.
    App(App<'a>),
    /// Generic NACK.
    Nack(Nack<'a>),
    /// Transport-wide congestion control feedback.
    TransportCc(TransportCc<'a>),
    /// Picture loss indication: (sender SSRC, media SSRC).
    Pli(FeedbackSsrcs),
    /// Full intra request.
    Fir(Fir<'a>),
    /// Receiver estimated maximum bitrate.
    Remb(Remb<'a>),
    /// Any other packet type or feedback format, as its untyped packet.
    Other(Packet<'a>),
}
