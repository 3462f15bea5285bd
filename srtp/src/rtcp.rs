//! RTCP compound packets (RFC 3550 §6, RFC 4585, RFC 5104, RFC 5506): an iterator with typed
//! views, and a compound builder.
//!
//! ```text
//!   compound = packet packet ...          (reduced-size, RFC 5506: any single packet)
//!   packet   = |V=2|P| count |  type  |  length (32-bit words - 1)  |  body ... [padding]
//!     200 SR    sender info + report blocks      205 RTPFB  fmt 1 generic NACK
//!     201 RR    report blocks                               fmt 15 transport-wide CC
//!     202 SDES  chunks of (SSRC, items)          206 PSFB   fmt 1 PLI, fmt 4 FIR
//!     203 BYE   SSRCs + reason                              fmt 15 REMB (AFB "REMB")
//!     204 APP   subtype, SSRC, name, data
//! ```
//!
//! [`Compound::parse`] checks the framing of every packet once; [`Packet::kind`] checks a
//! packet's body and gives its typed view. Views never panic after parse and never copy.

use peerless_base::{Reader, Writer};

use crate::Error;

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

/// An SDES item type (RFC 3550 §6.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SdesType(pub u8);

impl SdesType {
    /// Canonical end-point identifier.
    pub const CNAME: SdesType = SdesType(1);
    /// User name.
    pub const NAME: SdesType = SdesType(2);
    /// E-mail address.
    pub const EMAIL: SdesType = SdesType(3);
    /// Phone number.
    pub const PHONE: SdesType = SdesType(4);
    /// Geographic location.
    pub const LOC: SdesType = SdesType(5);
    /// Application or tool name.
    pub const TOOL: SdesType = SdesType(6);
    /// Notice/status.
    pub const NOTE: SdesType = SdesType(7);
    /// Private extensions.
    pub const PRIV: SdesType = SdesType(8);
}

const HEADER_LEN: usize = 4;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes
        .get(at..at + 4)
        .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// Whether a datagram on an RTP/RTCP-multiplexed port is RTCP (RFC 5761 §4): its second
/// octet, read as an RTP marker bit and payload type, falls in 192-223 (RTCP packet types
/// 192-223 where RTP payload types 64-95 would be, which RFC 5761 sets aside).
#[must_use]
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram.get(1).is_some_and(|b| (192..=223).contains(b))
}

/// A checked compound RTCP packet: one or more RTCP packets back to back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Compound<'a> {
    bytes: &'a [u8],
}

impl<'a> Compound<'a> {
    /// Checks the framing of every packet: version 2, length within the datagram, and a
    /// padding count (if P is set) within the packet. Any packet type may come first, so
    /// reduced-size RTCP (RFC 5506) is accepted; at least one packet is required.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        if bytes.is_empty() {
            return Err(Error::Malformed);
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let (_, len) = Packet::frame(rest)?;
            rest = rest.get(len..).ok_or(Error::Malformed)?;
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
pub struct Packet<'a> {
    bytes: &'a [u8],
    padding_len: usize,
}

impl<'a> Packet<'a> {
    /// Checks one packet at the start of `bytes`; returns it and its length.
    fn frame(bytes: &'a [u8]) -> Result<(Self, usize), Error> {
        let header = bytes.get(..HEADER_LEN).ok_or(Error::Malformed)?;
        if header[0] >> 6 != 2 {
            return Err(Error::Malformed);
        }
        let len = 4 * (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1);
        let bytes = bytes.get(..len).ok_or(Error::Malformed)?;
        let padding_len = if header[0] & 0x20 != 0 {
            let count = usize::from(bytes[len - 1]);
            if count == 0 || count > len - HEADER_LEN {
                return Err(Error::Malformed);
            }
            count
        } else {
            0
        };
        Ok((Packet { bytes, padding_len }, len))
    }

    /// Checks `bytes` as exactly one RTCP packet.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let (packet, len) = Self::frame(bytes)?;
        if len != bytes.len() {
            return Err(Error::Malformed);
        }
        Ok(packet)
    }

    /// The packet type.
    #[must_use]
    pub fn packet_type(&self) -> PacketType {
        PacketType(self.bytes[1])
    }

    /// The 5-bit count field: report count, source count, APP subtype or feedback FMT.
    #[must_use]
    pub fn count(&self) -> u8 {
        self.bytes[0] & 0x1f
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
    pub fn kind(&self) -> Result<Kind<'a>, Error> {
        let body = self.body();
        let count = usize::from(self.count());
        Ok(match (self.packet_type(), Fmt(self.count())) {
            (PacketType::SR, _) => {
                let blocks = body
                    .get(4 + 20..4 + 20 + 24 * count)
                    .ok_or(Error::Malformed)?;
                Kind::SenderReport(SenderReport { body, blocks })
            }
            (PacketType::RR, _) => {
                let blocks = body.get(4..4 + 24 * count).ok_or(Error::Malformed)?;
                Kind::ReceiverReport(ReceiverReport { body, blocks })
            }
            (PacketType::SDES, _) => Kind::Sdes(Sdes::parse(body, count)?),
            (PacketType::BYE, _) => Kind::Bye(Bye::parse(body, count)?),
            (PacketType::APP, _) => {
                if body.len() < 8 {
                    return Err(Error::Malformed);
                }
                Kind::App(App {
                    subtype: self.count(),
                    body,
                })
            }
            (PacketType::RTPFB, Fmt::NACK) => {
                let fb = Feedback::parse(body)?;
                if fb.fci.len() % 4 != 0 {
                    return Err(Error::Malformed);
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
                    return Err(Error::Malformed);
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

/// Sender information of an SR (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SenderInfo {
    /// NTP timestamp (64-bit fixed point, seconds since 1900).
    pub ntp_timestamp: u64,
    /// The RTP timestamp corresponding to the NTP timestamp.
    pub rtp_timestamp: u32,
    /// Packets sent.
    pub packet_count: u32,
    /// Payload octets sent.
    pub octet_count: u32,
}

/// One reception report block (RFC 3550 §6.4.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReportBlock {
    /// The source this block reports on.
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed: duplicates can make it negative).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Interarrival jitter, in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the last SR's NTP timestamp.
    pub last_sr: u32,
    /// Delay since the last SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

impl ReportBlock {
    fn read(b: &[u8]) -> Self {
        let lost = u32_at(b, 4) & 0x00ff_ffff;
        // Sign-extend the 24-bit count.
        let cumulative_lost = ((lost << 8) as i32) >> 8;
        ReportBlock {
            ssrc: u32_at(b, 0),
            fraction_lost: b.get(4).copied().unwrap_or(0),
            cumulative_lost,
            highest_sequence: u32_at(b, 8),
            jitter: u32_at(b, 12),
            last_sr: u32_at(b, 16),
            delay_since_last_sr: u32_at(b, 20),
        }
    }

    fn write(&self, w: &mut Writer<'_>) {
        w.u32(self.ssrc);
        w.u8(self.fraction_lost);
        w.u24((self.cumulative_lost as u32) & 0x00ff_ffff);
        w.u32(self.highest_sequence);
        w.u32(self.jitter);
        w.u32(self.last_sr);
        w.u32(self.delay_since_last_sr);
    }
}

fn report_blocks(blocks: &[u8]) -> impl ExactSizeIterator<Item = ReportBlock> + '_ {
    blocks.chunks_exact(24).map(ReportBlock::read)
}

/// A sender report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SenderReport<'a> {
    body: &'a [u8],
    blocks: &'a [u8],
}

impl<'a> SenderReport<'a> {
    /// The sender's SSRC.
    #[must_use]
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The sender information.
    #[must_use]
    pub fn sender_info(&self) -> SenderInfo {
        SenderInfo {
            ntp_timestamp: u64::from(u32_at(self.body, 4)) << 32 | u64::from(u32_at(self.body, 8)),
            rtp_timestamp: u32_at(self.body, 12),
            packet_count: u32_at(self.body, 16),
            octet_count: u32_at(self.body, 20),
        }
    }

    /// The reception report blocks.
    pub fn reports(&self) -> impl ExactSizeIterator<Item = ReportBlock> + 'a {
        report_blocks(self.blocks)
    }

    /// Profile-specific extension bytes after the report blocks.
    #[must_use]
    pub fn extension(&self) -> &'a [u8] {
        self.body.get(24 + self.blocks.len()..).unwrap_or_default()
    }
}

/// A receiver report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceiverReport<'a> {
    body: &'a [u8],
    blocks: &'a [u8],
}

impl<'a> ReceiverReport<'a> {
    /// The reporter's SSRC.
    #[must_use]
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The reception report blocks.
    pub fn reports(&self) -> impl ExactSizeIterator<Item = ReportBlock> + 'a {
        report_blocks(self.blocks)
    }

    /// Profile-specific extension bytes after the report blocks.
    #[must_use]
    pub fn extension(&self) -> &'a [u8] {
        self.body.get(4 + self.blocks.len()..).unwrap_or_default()
    }
}

/// One SDES item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SdesItem<'a> {
    /// The item type.
    pub kind: SdesType,
    /// The item text (UTF-8 by RFC 3550, not checked here), at most 255 bytes.
    pub value: &'a [u8],
}

/// Source description packet: chunks of items per SSRC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sdes<'a> {
    body: &'a [u8],
}

impl<'a> Sdes<'a> {
    fn parse(body: &'a [u8], count: usize) -> Result<Self, Error> {
        let mut r = Reader::new(body);
        for _ in 0..count {
            Self::chunk(&mut r).ok_or(Error::Malformed)?;
        }
        Ok(Sdes { body })
    }

    /// Reads one chunk: SSRC, items up to the null item, padding to a 32-bit boundary.
    fn chunk<'r>(r: &mut Reader<'r>) -> Option<SdesChunk<'r>> {
        let start = r.position();
        let ssrc = r.u32().ok()?;
        let items_at = r.position();
        loop {
            let kind = r.u8().ok()?;
            if kind == 0 {
                break;
            }
            let len = usize::from(r.u8().ok()?);
            r.skip(len).ok()?;
        }
        let items_end = r.position() - 1;
        while (r.position() - start) % 4 != 0 {
            if r.u8().ok()? != 0 {
                return None;
            }
        }
        let items = r.input().get(items_at..items_end)?;
        Some(SdesChunk { ssrc, items })
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> impl Iterator<Item = SdesChunk<'a>> + 'a {
        let mut r = Reader::new(self.body);
        core::iter::from_fn(move || Self::chunk(&mut r))
    }
}

/// The items an SDES packet gives for one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesChunk<'a> {
    /// The source described.
    pub ssrc: u32,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The items, in order.
    pub fn items(&self) -> impl Iterator<Item = SdesItem<'a>> + 'a {
        let mut r = Reader::new(self.items);
        core::iter::from_fn(move || {
            let kind = SdesType(r.u8().ok()?);
            let len = usize::from(r.u8().ok()?);
            Some(SdesItem {
                kind,
                value: r.take(len).ok()?,
            })
        })
    }

    /// The CNAME item, if present.
    #[must_use]
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SdesType::CNAME)
            .map(|i| i.value)
    }
}

/// Goodbye packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bye<'a> {
    ssrcs: &'a [u8],
    reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    fn parse(body: &'a [u8], count: usize) -> Result<Self, Error> {
        let mut r = Reader::new(body);
        let ssrcs = r.take(4 * count).map_err(|_| Error::Malformed)?;
        let reason = if r.is_empty() {
            None
        } else {
            let len = usize::from(r.u8().map_err(|_| Error::Malformed)?);
            Some(r.take(len).map_err(|_| Error::Malformed)?)
        };
        Ok(Bye { ssrcs, reason })
    }

    /// The sources leaving.
    pub fn ssrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.ssrcs
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }

    /// The reason for leaving, if given.
    #[must_use]
    pub fn reason(&self) -> Option<&'a [u8]> {
        self.reason
    }
}

/// Application-defined packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct App<'a> {
    subtype: u8,
    body: &'a [u8],
}

impl<'a> App<'a> {
    /// The 5-bit subtype.
    #[must_use]
    pub fn subtype(&self) -> u8 {
        self.subtype
    }

    /// The sender's SSRC.
    #[must_use]
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The four-character name.
    #[must_use]
    pub fn name(&self) -> [u8; 4] {
        let mut name = [0u8; 4];
        if let Some(n) = self.body.get(4..8) {
            name.copy_from_slice(n);
        }
        name
    }

    /// The application data.
    #[must_use]
    pub fn data(&self) -> &'a [u8] {
        self.body.get(8..).unwrap_or_default()
    }
}

/// The sender and media SSRCs of a feedback message (RFC 4585 §6.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FeedbackSsrcs {
    /// The SSRC of the feedback's sender.
    pub sender: u32,
    /// The SSRC of the media source the feedback is about (0 where unused, as in FIR/REMB).
    pub media: u32,
}

/// The common part of RTPFB/PSFB messages: two SSRCs and the feedback control information.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Feedback<'a> {
    sender: u32,
    media: u32,
    fci: &'a [u8],
}

impl<'a> Feedback<'a> {
    fn parse(body: &'a [u8]) -> Result<Self, Error> {
        let fci = body.get(8..).ok_or(Error::Malformed)?;
        Ok(Feedback {
            sender: u32_at(body, 0),
            media: u32_at(body, 4),
            fci,
        })
    }

    fn ssrcs(&self) -> FeedbackSsrcs {
        FeedbackSsrcs {
            sender: self.sender,
            media: self.media,
        }
    }
}

/// One generic NACK entry: a lost packet ID and a bitmask of the 16 following.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NackPair {
    /// A lost sequence number.
    pub pid: u16,
    /// Bit i set: `pid + i + 1` is lost too.
    pub blp: u16,
}

/// Generic NACK (RFC 4585 §6.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nack<'a>(Feedback<'a>);

impl<'a> Nack<'a> {
    /// Sender and media SSRCs.
    #[must_use]
    pub fn ssrcs(&self) -> FeedbackSsrcs {
        self.0.ssrcs()
    }

    /// The entries as sent.
    pub fn pairs(&self) -> impl ExactSizeIterator<Item = NackPair> + 'a {
        self.0.fci.chunks_exact(4).map(|c| NackPair {
            pid: u16::from_be_bytes([c[0], c[1]]),
            blp: u16::from_be_bytes([c[2], c[3]]),
        })
    }

    /// Every sequence number reported lost, in order of the entries.
    pub fn lost(&self) -> impl Iterator<Item = u16> + 'a {
        self.pairs().flat_map(|p| {
            core::iter::once(p.pid).chain(
                (0..16u16)
                    .filter(move |i| p.blp >> i & 1 == 1)
                    .map(move |i| p.pid.wrapping_add(i + 1)),
            )
        })
    }
}

/// One FIR entry (RFC 5104 §4.3.1.1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct FirEntry {
    /// The media sender asked for a decoder refresh.
    pub ssrc: u32,
    /// The command sequence number.
    pub sequence: u8,
}

/// Full intra request (RFC 5104 §4.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fir<'a>(Feedback<'a>);

impl<'a> Fir<'a> {
    /// The SSRC of the request's sender.
    #[must_use]
    pub fn sender_ssrc(&self) -> u32 {
        self.0.sender
    }

    /// The requests.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = FirEntry> + 'a {
        self.0.fci.chunks_exact(8).map(|c| FirEntry {
            ssrc: u32::from_be_bytes([c[0], c[1], c[2], c[3]]),
            sequence: c[4],
        })
    }
}

/// Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb-03).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Remb<'a> {
    sender: u32,
    bitrate: u64,
    ssrcs: &'a [u8],
}

impl<'a> Remb<'a> {
    fn parse(fb: Feedback<'a>) -> Option<Self> {
        let mut r = Reader::new(fb.fci);
        if r.take(4).ok()? != b"REMB" {
            return None;
        }
        let count = usize::from(r.u8().ok()?);
        let exp_mantissa = r.u24().ok()?;
        let exp = exp_mantissa >> 18;
        let mantissa = u64::from(exp_mantissa & 0x3_ffff);
        // An exponent that pushes mantissa bits past 64 saturates instead of wrapping.
        let bitrate = if mantissa.leading_zeros() < exp {
            u64::MAX
        } else {
            mantissa << exp
        };
        let ssrcs = r.take(4 * count).ok()?;
        Some(Remb {
            sender: fb.sender,
            bitrate,
            ssrcs,
        })
    }

    /// The SSRC of the estimate's sender.
    #[must_use]
    pub fn sender_ssrc(&self) -> u32 {
        self.sender
    }

    /// The estimated maximum bitrate, in bits per second.
    #[must_use]
    pub fn bitrate(&self) -> u64 {
        self.bitrate
    }

    /// The media sources the estimate applies to.
    pub fn ssrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.ssrcs
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
    }
}

/// What transport-wide feedback says about one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TccStatus {
    /// Not received (yet).
    NotReceived,
    /// Received; arrival delta from the previous received packet (or the reference time),
    /// in 250 µs units.
    Received(i16),
}

/// One packet of transport-wide feedback: its transport-wide sequence number and status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TccPacket {
    /// The transport-wide sequence number.
    pub sequence: u16,
    /// Whether and when it arrived.
    pub status: TccStatus,
}

/// Transport-wide congestion control feedback
/// (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportCc<'a> {
    fb: Feedback<'a>,
    /// Bytes of packet status chunks, after the 8-byte fixed FCI part.
    chunks_len: usize,
}

/// Decodes packet status chunks into 2-bit symbols (0 not received, 1 small delta, 2 large
/// delta, 3 reserved).
#[derive(Clone, Debug)]
struct Symbols<'a> {
    chunks: Reader<'a>,
    chunk: u16,
    left_in_chunk: u16,
    left: u16,
}

impl Symbols<'_> {
    fn next_symbol(&mut self) -> Option<u8> {
        if self.left == 0 {
            return None;
        }
        if self.left_in_chunk == 0 {
            self.chunk = self.chunks.u16().ok()?;
            self.left_in_chunk = match self.chunk >> 14 {
                0 | 1 => self.chunk & 0x1fff, // run length
                2 => 14,                      // 1-bit vector
                _ => 7,                       // 2-bit vector
            };
            if self.left_in_chunk == 0 {
                return None;
            }
        }
        let symbol = match self.chunk >> 14 {
            0 | 1 => (self.chunk >> 13 & 0x3) as u8,
            2 => (self.chunk >> (self.left_in_chunk - 1) & 1) as u8,
            _ => (self.chunk >> (2 * (self.left_in_chunk - 1)) & 0x3) as u8,
        };
        self.left_in_chunk -= 1;
        self.left -= 1;
        Some(symbol)
    }
}

impl<'a> TransportCc<'a> {
    fn parse(fb: Feedback<'a>) -> Result<Self, Error> {
        let mut probe = TransportCc { fb, chunks_len: 0 };
        if fb.fci.len() < 8 {
            return Err(Error::Malformed);
        }
        // Walk every status once to find where the deltas start and that they all fit.
        let mut symbols = probe.symbols();
        let mut delta_bytes = 0usize;
        for _ in 0..probe.status_count() {
            match symbols.next_symbol().ok_or(Error::Malformed)? {
                1 => delta_bytes += 1,
                2 => delta_bytes += 2,
                3 => return Err(Error::Malformed),
                _ => {}
            }
        }
        probe.chunks_len = symbols.chunks.position();
        if 8 + probe.chunks_len + delta_bytes > fb.fci.len() {
            return Err(Error::Malformed);
        }
        Ok(probe)
    }

    fn symbols(&self) -> Symbols<'a> {
        Symbols {
            chunks: Reader::new(self.fb.fci.get(8..).unwrap_or_default()),
            chunk: 0,
            left_in_chunk: 0,
            left: self.status_count(),
        }
    }

    /// Sender and media SSRCs.
    #[must_use]
    pub fn ssrcs(&self) -> FeedbackSsrcs {
        self.fb.ssrcs()
    }

    /// The transport-wide sequence number of the first packet described.
    #[must_use]
    pub fn base_sequence(&self) -> u16 {
        (u32_at(self.fb.fci, 0) >> 16) as u16
    }

    /// How many packets are described.
    #[must_use]
    pub fn status_count(&self) -> u16 {
        u32_at(self.fb.fci, 0) as u16
    }

    /// The reference time, in multiples of 64 ms (24-bit signed).
    #[must_use]
    pub fn reference_time(&self) -> i32 {
        ((u32_at(self.fb.fci, 4) & 0xffff_ff00) as i32) >> 8
    }

    /// The feedback packet count, to detect lost feedback.
    #[must_use]
    pub fn feedback_count(&self) -> u8 {
        u32_at(self.fb.fci, 4) as u8
    }

    /// Every packet described, in sequence order.
    pub fn packets(&self) -> impl Iterator<Item = TccPacket> + 'a {
        let mut symbols = self.symbols();
        let mut deltas = Reader::new(self.fb.fci.get(8 + self.chunks_len..).unwrap_or_default());
        let mut sequence = self.base_sequence();
        core::iter::from_fn(move || {
            let status = match symbols.next_symbol()? {
                0 => TccStatus::NotReceived,
                1 => TccStatus::Received(i16::from(deltas.u8().ok()?)),
                _ => TccStatus::Received(deltas.u16().ok()? as i16),
            };
            let packet = TccPacket { sequence, status };
            sequence = sequence.wrapping_add(1);
            Some(packet)
        })
    }
}

/// One SDES chunk to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SdesChunkRepr<'a> {
    /// The source described.
    pub ssrc: u32,
    /// Its items (values of at most 255 bytes).
    pub items: &'a [SdesItem<'a>],
}

/// Transport-wide feedback to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransportCcRepr<'a> {
    /// Sender and media SSRCs.
    pub ssrcs: FeedbackSsrcs,
    /// The transport-wide sequence number of `statuses[0]`.
    pub base_sequence: u16,
    /// Reference time in multiples of 64 ms (24-bit signed).
    pub reference_time: i32,
    /// The feedback packet count.
    pub feedback_count: u8,
    /// One status per packet from `base_sequence` on (at most 65535).
    pub statuses: &'a [TccStatus],
}

/// Writes a compound RTCP packet into a buffer, one packet per call.
///
/// Errors (a buffer too small, a field that cannot be encoded) are remembered and reported
/// once by [`CompoundBuilder::finish`], so a compound reads as a list of calls:
///
/// ```
/// use peerless_srtp::rtcp::{Compound, CompoundBuilder, Kind, SdesChunkRepr, SdesItem, SdesType, SenderInfo};
/// let mut buf = [0u8; 256];
/// let mut b = CompoundBuilder::new(&mut buf);
/// b.sender_report(0x1234, &SenderInfo { packet_count: 3, ..Default::default() }, &[]);
/// b.sdes(&[SdesChunkRepr { ssrc: 0x1234, items: &[SdesItem { kind: SdesType::CNAME, value: b"peer" }] }]);
/// b.pli(0x1234, 0x5678);
/// let n = b.finish()?;
/// let compound = Compound::parse(&buf[..n])?;
/// assert_eq!(compound.packets().count(), 3);
/// # Ok::<(), peerless_srtp::Error>(())
/// ```
#[derive(Debug)]
pub struct CompoundBuilder<'b> {
    w: Writer<'b>,
    error: Option<Error>,
}

impl<'b> CompoundBuilder<'b> {
    /// A builder writing from the start of `buf`.
    #[must_use]
    pub fn new(buf: &'b mut [u8]) -> Self {
        CompoundBuilder {
            w: Writer::new(buf),
            error: None,
        }
    }

    fn fail(&mut self) {
        self.error.get_or_insert(Error::Malformed);
    }

    /// Writes a packet: header, then `body` fills the rest; pads to 32 bits (with the P bit
    /// if `pad_with_p`, else with zeros inside the body).
    fn packet(
        &mut self,
        count: u8,
        pt: PacketType,
        pad_with_p: bool,
        body: impl FnOnce(&mut Writer<'_>),
    ) {
        if count > 31 {
            return self.fail();
        }
        let start = self.w.position();
        self.w.u8(0x80 | count);
        self.w.u8(pt.0);
        self.w.u16(0);
        body(&mut self.w);
        let unpadded = self.w.position() - start;
        let pad = (4 - unpadded % 4) % 4;
        if pad != 0 {
            for _ in 1..pad {
                self.w.u8(0);
            }
            self.w.u8(if pad_with_p { pad as u8 } else { 0 });
        }
        let words = (self.w.position() - start) / 4 - 1;
        let Ok(words) = u16::try_from(words) else {
            return self.fail();
        };
        self.w.patch_u16(start + 2, words);
        if pad != 0
            && pad_with_p
            && !self.w.is_overflowed()
            && let Some(first) = self.w.written_mut().get_mut(start)
        {
            *first |= 0x20;
        }
    }

    /// A sender report with up to 31 report blocks.
    pub fn sender_report(
        &mut self,
        ssrc: u32,
        info: &SenderInfo,
        reports: &[ReportBlock],
    ) -> &mut Self {
        let Ok(count) = u8::try_from(reports.len()) else {
            self.fail();
            return self;
        };
        self.packet(count, PacketType::SR, false, |w| {
            w.u32(ssrc);
            w.u64(info.ntp_timestamp);
            w.u32(info.rtp_timestamp);
            w.u32(info.packet_count);
            w.u32(info.octet_count);
            for r in reports {
                r.write(w);
            }
        });
        self
    }

    /// A receiver report with up to 31 report blocks (none is valid: "I am here").
    pub fn receiver_report(&mut self, ssrc: u32, reports: &[ReportBlock]) -> &mut Self {
        let Ok(count) = u8::try_from(reports.len()) else {
            self.fail();
            return self;
        };
        self.packet(count, PacketType::RR, false, |w| {
            w.u32(ssrc);
            for r in reports {
                r.write(w);
            }
        });
        self
    }

    /// Source descriptions for up to 31 sources.
    pub fn sdes(&mut self, chunks: &[SdesChunkRepr<'_>]) -> &mut Self {
        let too_long = chunks
            .iter()
            .any(|c| c.items.iter().any(|i| i.value.len() > 255 || i.kind.0 == 0));
        let Ok(count) = u8::try_from(chunks.len()) else {
            self.fail();
            return self;
        };
        if too_long {
            self.fail();
            return self;
        }
        self.packet(count, PacketType::SDES, false, |w| {
            for c in chunks {
                let start = w.position();
                w.u32(c.ssrc);
                for item in c.items {
                    w.u8(item.kind.0);
                    w.u8(item.value.len() as u8);
                    w.bytes(item.value);
                }
                // The null item, then nulls to the next 32-bit boundary.
                w.u8(0);
                while (w.position() - start) % 4 != 0 {
                    w.u8(0);
                }
            }
        });
        self
    }

    /// Goodbye from up to 31 sources, with an optional reason (at most 255 bytes).
    pub fn bye(&mut self, ssrcs: &[u32], reason: Option<&[u8]>) -> &mut Self {
        let Ok(count) = u8::try_from(ssrcs.len()) else {
            self.fail();
            return self;
        };
        if reason.is_some_and(|r| r.len() > 255) {
            self.fail();
            return self;
        }
        self.packet(count, PacketType::BYE, false, |w| {
            for &s in ssrcs {
                w.u32(s);
            }
            if let Some(reason) = reason {
                w.u8(reason.len() as u8);
                w.bytes(reason);
            }
        });
        self
    }

    /// An application-defined packet; `data` must be a multiple of 4 bytes.
    pub fn app(&mut self, subtype: u8, ssrc: u32, name: [u8; 4], data: &[u8]) -> &mut Self {
        if !data.len().is_multiple_of(4) {
            self.fail();
            return self;
        }
        self.packet(subtype, PacketType::APP, false, |w| {
            w.u32(ssrc);
            w.bytes(&name);
            w.bytes(data);
        });
        self
    }

    /// A generic NACK.
    pub fn nack(&mut self, ssrcs: FeedbackSsrcs, pairs: &[NackPair]) -> &mut Self {
        self.packet(Fmt::NACK.0, PacketType::RTPFB, false, |w| {
            w.u32(ssrcs.sender);
            w.u32(ssrcs.media);
            for p in pairs {
                w.u16(p.pid);
                w.u16(p.blp);
            }
        });
        self
    }

    /// A picture loss indication.
    pub fn pli(&mut self, sender: u32, media: u32) -> &mut Self {
        self.packet(Fmt::PLI.0, PacketType::PSFB, false, |w| {
            w.u32(sender);
            w.u32(media);
        });
        self
    }

    /// A full intra request.
    pub fn fir(&mut self, sender: u32, entries: &[FirEntry]) -> &mut Self {
        self.packet(Fmt::FIR.0, PacketType::PSFB, false, |w| {
            w.u32(sender);
            w.u32(0);
            for e in entries {
                w.u32(e.ssrc);
                w.u8(e.sequence);
                w.u24(0);
            }
        });
        self
    }

    /// A REMB estimate of `bitrate` bits per second for up to 255 sources. The bitrate is
    /// encoded as an 18-bit mantissa and a 6-bit exponent, so large values are rounded down.
    pub fn remb(&mut self, sender: u32, bitrate: u64, ssrcs: &[u32]) -> &mut Self {
        let Ok(count) = u8::try_from(ssrcs.len()) else {
            self.fail();
            return self;
        };
        let mut exp = 0u32;
        while bitrate >> exp > 0x3_ffff {
            exp += 1;
        }
        let mantissa = (bitrate >> exp) as u32;
        self.packet(Fmt::AFB.0, PacketType::PSFB, false, |w| {
            w.u32(sender);
            w.u32(0);
            w.bytes(b"REMB");
            w.u8(count);
            w.u24(exp << 18 | mantissa);
            for &s in ssrcs {
                w.u32(s);
            }
        });
        self
    }

    /// Transport-wide feedback. Runs of seven or more equal statuses are written as
    /// run-length chunks, the rest as two-bit status vectors; padding uses the P bit, as
    /// libwebrtc does.
    pub fn transport_cc(&mut self, fb: &TransportCcRepr<'_>) -> &mut Self {
        let Ok(status_count) = u16::try_from(fb.statuses.len()) else {
            self.fail();
            return self;
        };
        let symbol = |s: &TccStatus| match s {
            TccStatus::NotReceived => 0u16,
            TccStatus::Received(d) if (0..=255).contains(d) => 1,
            TccStatus::Received(_) => 2,
        };
        self.packet(Fmt::TRANSPORT_CC.0, PacketType::RTPFB, true, |w| {
            w.u32(fb.ssrcs.sender);
            w.u32(fb.ssrcs.media);
            w.u16(fb.base_sequence);
            w.u16(status_count);
            w.u24((fb.reference_time as u32) & 0x00ff_ffff);
            w.u8(fb.feedback_count);
            let mut i = 0;
            while let Some(first) = fb.statuses.get(i) {
                let s = symbol(first);
                let run = fb.statuses[i..]
                    .iter()
                    .take(0x1fff)
                    .take_while(|x| symbol(x) == s)
                    .count();
                if run >= 7 {
                    w.u16(s << 13 | run as u16);
                    i += run;
                } else {
                    let mut chunk = 0xc000u16;
                    for (k, x) in fb.statuses[i..].iter().take(7).enumerate() {
                        chunk |= symbol(x) << (2 * (6 - k));
                    }
                    w.u16(chunk);
                    i += 7;
                }
            }
            for s in fb.statuses {
                match s {
                    TccStatus::NotReceived => {}
                    TccStatus::Received(d) if (0..=255).contains(d) => w.u8(*d as u8),
                    TccStatus::Received(d) => w.u16(*d as u16),
                }
            }
        });
        self
    }

    /// Any packet as raw parts: the count field, the type and a body of a multiple of 4
    /// bytes (XR, or feedback formats this crate does not model).
    pub fn raw(&mut self, count: u8, packet_type: PacketType, body: &[u8]) -> &mut Self {
        if !body.len().is_multiple_of(4) {
            self.fail();
            return self;
        }
        self.packet(count, packet_type, false, |w| w.bytes(body));
        self
    }

    /// The compound's length, or the first error.
    pub fn finish(self) -> Result<usize, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(self.w.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;
    use std::vec::Vec;

    fn only(bytes: &[u8]) -> Kind<'_> {
        let compound = Compound::parse(bytes).unwrap();
        let mut packets = compound.packets();
        let kind = packets.next().unwrap().kind().unwrap();
        assert!(packets.next().is_none());
        kind
    }

    /// Pion's `TestTransportLayerCC_Unmarshal` example1: one packet, run-length chunk, a small
    /// delta of 148 (37 ms), one byte of RTCP padding.
    #[test]
    fn transport_cc_known_packet() {
        let bytes = hex!("afcd0005 fa17fa17 43032fa0 00990001 3de80217 20019401");
        let Kind::TransportCc(tcc) = only(&bytes) else {
            panic!("not transport-cc")
        };
        assert_eq!(
            tcc.ssrcs(),
            FeedbackSsrcs {
                sender: 4195875351,
                media: 1124282272
            }
        );
        assert_eq!(tcc.base_sequence(), 153);
        assert_eq!(tcc.status_count(), 1);
        assert_eq!(tcc.reference_time(), 4057090);
        assert_eq!(tcc.feedback_count(), 23);
        assert!(tcc.packets().eq([TccPacket {
            sequence: 153,
            status: TccStatus::Received(148)
        }]));
    }

    /// More of Pion's transport-cc vectors: a run-length chunk with RTCP padding (emitted
    /// byte for byte by our builder too), a one-bit status vector, and a two-bit vector with a
    /// large delta followed by a run longer than the status count.
    #[test]
    fn transport_cc_known_packets_all_chunk_kinds() {
        use TccStatus::{NotReceived as N, Received as R};
        // (packet, base sequence, reference time, feedback count, statuses)
        type Case<'a> = (&'a [u8], u16, i32, u8, &'a [TccStatus]);
        let cases: [Case<'_>; 3] = [
            (
                &hex!("afcd0007 fa17fa17 193dd8bb 00040007 10636e01 20074c24 24100c0c 10000003"),
                4,
                1074030,
                1,
                &[R(76), R(36), R(36), R(16), R(12), R(12), R(16)],
            ),
            (
                &hex!("afcd0006 fa17fa17 193dd8bb 0001000e 10636d00 ba00100c 0c100002"),
                1,
                1074029,
                0,
                &[R(16), R(12), R(12), N, R(16), N, N, N, N, N, N, N, N, N],
            ),
            (
                &hex!("afcd0007 9b74f61f 9371dcbc 853c0009 63f916b3 d5520030 9baa6aaa 7b010901"),
                34108,
                6551830,
                179,
                &[R(155), R(170), R(106), R(170), R(123), N, R(265), N, N],
            ),
        ];
        for (bytes, base, reference, count, statuses) in cases {
            let Kind::TransportCc(tcc) = only(bytes) else {
                panic!("not transport-cc")
            };
            assert_eq!(
                (
                    tcc.base_sequence(),
                    tcc.reference_time(),
                    tcc.feedback_count()
                ),
                (base, reference, count)
            );
            let got: Vec<TccStatus> = tcc.packets().map(|p| p.status).collect();
            assert_eq!(got, statuses);
        }
        // The first is exactly what our builder writes for the same statuses.
        let mut buf = [0u8; 64];
        let mut b = CompoundBuilder::new(&mut buf);
        b.transport_cc(&TransportCcRepr {
            ssrcs: FeedbackSsrcs {
                sender: 0xfa17fa17,
                media: 0x193dd8bb,
            },
            base_sequence: 4,
            reference_time: 1074030,
            feedback_count: 1,
            statuses: cases[0].4,
        });
        let n = b.finish().unwrap();
        assert_eq!(&buf[..n], cases[0].0);
    }

    #[test]
    fn every_type_round_trips_through_the_builder() {
        let block = ReportBlock {
            ssrc: 0xaabbccdd,
            fraction_lost: 12,
            cumulative_lost: -3,
            highest_sequence: 0x0001_0005,
            jitter: 77,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65536,
        };
        let info = SenderInfo {
            ntp_timestamp: 0xe000_0000_8000_0000,
            rtp_timestamp: 90000,
            packet_count: 10,
            octet_count: 12000,
        };
        let statuses = [
            TccStatus::Received(4),
            TccStatus::NotReceived,
            TccStatus::Received(-20),
            TccStatus::Received(1000),
        ]
        .into_iter()
        .chain([TccStatus::Received(1); 9])
        .chain([TccStatus::NotReceived; 3])
        .chain([TccStatus::Received(5)])
        .collect::<Vec<_>>();
        let fb = FeedbackSsrcs {
            sender: 1,
            media: 2,
        };
        let mut buf = [0u8; 1024];
        let mut b = CompoundBuilder::new(&mut buf);
        b.sender_report(1, &info, &[block, block])
            .receiver_report(1, &[block])
            .sdes(&[
                SdesChunkRepr {
                    ssrc: 1,
                    items: &[SdesItem {
                        kind: SdesType::CNAME,
                        value: b"abc",
                    }],
                },
                SdesChunkRepr {
                    ssrc: 2,
                    items: &[
                        SdesItem {
                            kind: SdesType::CNAME,
                            value: b"wxyz",
                        },
                        SdesItem {
                            kind: SdesType::TOOL,
                            value: b"peerless",
                        },
                    ],
                },
            ])
            .bye(&[1, 2], Some(b"done"))
            .app(3, 1, *b"TEST", &[1, 2, 3, 4])
            .nack(
                fb,
                &[NackPair {
                    pid: 65535,
                    blp: 0b101,
                }],
            )
            .transport_cc(&TransportCcRepr {
                ssrcs: fb,
                base_sequence: 65530,
                reference_time: -2,
                feedback_count: 9,
                statuses: &statuses,
            })
            .pli(1, 2)
            .fir(
                1,
                &[FirEntry {
                    ssrc: 2,
                    sequence: 7,
                }],
            )
            .remb(1, 1_500_000_000, &[2, 3])
            .raw(0, PacketType::XR, &[0xde, 0xad, 0xbe, 0xef]);
        let n = b.finish().unwrap();
        let compound = Compound::parse(&buf[..n]).unwrap();
        let kinds: Vec<Kind<'_>> = compound.packets().map(|p| p.kind().unwrap()).collect();
        assert_eq!(kinds.len(), 11);

        let Kind::SenderReport(sr) = kinds[0] else {
            panic!()
        };
        assert_eq!((sr.ssrc(), sr.sender_info()), (1, info));
        assert!(sr.reports().eq([block, block]));
        assert!(sr.extension().is_empty());
        let Kind::ReceiverReport(rr) = kinds[1] else {
            panic!()
        };
        assert_eq!(rr.ssrc(), 1);
        assert!(rr.reports().eq([block]));
        let Kind::Sdes(sdes) = kinds[2] else { panic!() };
        let chunks: Vec<_> = sdes.chunks().collect();
        assert_eq!(chunks.len(), 2);
        assert_eq!((chunks[0].ssrc, chunks[0].cname()), (1, Some(&b"abc"[..])));
        assert_eq!(chunks[1].items().nth(1).unwrap().value, b"peerless");
        let Kind::Bye(bye) = kinds[3] else { panic!() };
        assert!(bye.ssrcs().eq([1, 2]));
        assert_eq!(bye.reason(), Some(&b"done"[..]));
        let Kind::App(app) = kinds[4] else { panic!() };
        assert_eq!(
            (app.subtype(), app.ssrc(), app.name(), app.data()),
            (3, 1, *b"TEST", &[1, 2, 3, 4][..])
        );
        let Kind::Nack(nack) = kinds[5] else { panic!() };
        assert_eq!(nack.ssrcs(), fb);
        assert!(nack.lost().eq([65535, 0, 2]));
        let Kind::TransportCc(tcc) = kinds[6] else {
            panic!()
        };
        assert_eq!(
            (
                tcc.base_sequence(),
                tcc.reference_time(),
                tcc.feedback_count()
            ),
            (65530, -2, 9)
        );
        let got: Vec<_> = tcc.packets().collect();
        assert_eq!(got.len(), statuses.len());
        for (i, (p, s)) in got.iter().zip(&statuses).enumerate() {
            assert_eq!(p.status, *s);
            assert_eq!(p.sequence, 65530u16.wrapping_add(i as u16));
        }
        assert!(compound.packets().nth(6).unwrap().has_padding());
        assert_eq!(
            kinds[7],
            Kind::Pli(FeedbackSsrcs {
                sender: 1,
                media: 2
            })
        );
        let Kind::Fir(fir) = kinds[8] else { panic!() };
        assert_eq!(fir.sender_ssrc(), 1);
        assert!(fir.entries().eq([FirEntry {
            ssrc: 2,
            sequence: 7
        }]));
        let Kind::Remb(remb) = kinds[9] else { panic!() };
        assert_eq!(remb.sender_ssrc(), 1);
        // 1.5 Gbit/s needs a 13-bit shift of an 18-bit mantissa: rounded down to the grid.
        assert!(remb.bitrate() <= 1_500_000_000 && remb.bitrate() > 1_499_990_000);
        assert!(remb.ssrcs().eq([2, 3]));
        let Kind::Other(xr) = kinds[10] else { panic!() };
        assert_eq!(
            (xr.packet_type(), xr.body()),
            (PacketType::XR, &[0xde, 0xad, 0xbe, 0xef][..])
        );
    }

    #[test]
    fn demultiplexes_rtp_and_rtcp() {
        assert!(is_rtcp(&hex!("80c8")));
        assert!(is_rtcp(&hex!("81cd")));
        assert!(!is_rtcp(&hex!("806f")));
        assert!(!is_rtcp(&hex!("80e0"))); // marker set, payload type 96
        assert!(!is_rtcp(&[0x80]));
    }

    #[test]
    fn remb_exponent_saturates() {
        // Mantissa 0x3ffff with exponent 63 does not fit 64 bits.
        let bytes = hex!("8fce0005 00000001 00000000 52454d42 00ffffff 00000000");
        let bytes = &bytes[..20];
        let mut fixed = bytes.to_vec();
        fixed[3] = 4;
        let Kind::Remb(remb) = only(&fixed) else {
            panic!()
        };
        assert_eq!(remb.bitrate(), u64::MAX);
    }

    #[test]
    fn reduced_size_and_framing_errors() {
        // A lone PLI (RFC 5506 reduced-size): accepted.
        let pli = hex!("81ce0002 00000001 00000002");
        assert_eq!(
            only(&pli),
            Kind::Pli(FeedbackSsrcs {
                sender: 1,
                media: 2
            })
        );
        assert_eq!(Compound::parse(&[]), Err(Error::Malformed));
        // Version 1, length past the end, padding count 0 or too large.
        assert!(Compound::parse(&hex!("41ce0002 00000001 00000002")).is_err());
        assert!(Compound::parse(&hex!("81ce0003 00000001 00000002")).is_err());
        assert!(Compound::parse(&hex!("a1ce0002 00000001 00000000")).is_err());
        assert!(Compound::parse(&hex!("a1ce0000")).is_err());
        // A truncated second packet.
        assert!(Compound::parse(&hex!("81ce0002 00000001 00000002 81ce")).is_err());
        // SR whose report count promises a block that is not there.
        let sr = hex!("81c80006 00000001 00000000 00000000 00000000 00000000 00000000");
        let c = Compound::parse(&sr).unwrap();
        assert_eq!(c.packets().next().unwrap().kind(), Err(Error::Malformed));
        // Transport-cc whose status count needs more deltas than present.
        let tcc = hex!("8fcd0005 00000001 00000002 00000002 00000000 40020000");
        let c = Compound::parse(&tcc).unwrap();
        assert_eq!(c.packets().next().unwrap().kind(), Err(Error::Malformed));
        // Builder errors: too many report blocks, odd APP data, small buffer.
        let mut buf = [0u8; 2048];
        let mut b = CompoundBuilder::new(&mut buf);
        b.receiver_report(1, &[ReportBlock::default(); 32]);
        assert_eq!(b.finish(), Err(Error::Malformed));
        let mut b = CompoundBuilder::new(&mut buf);
        b.app(0, 1, *b"abcd", &[1]);
        assert_eq!(b.finish(), Err(Error::Malformed));
        let mut small = [0u8; 8];
        let mut b = CompoundBuilder::new(&mut small);
        b.pli(1, 2);
        assert_eq!(b.finish(), Err(Error::BufferTooSmall { needed: 12 }));
    }

    fn status() -> impl proptest::strategy::Strategy<Value = TccStatus> {
        use proptest::prelude::*;
        prop_oneof![
            Just(TccStatus::NotReceived),
            (0i16..=255).prop_map(TccStatus::Received),
            proptest::num::i16::ANY.prop_map(TccStatus::Received),
        ]
    }

    proptest::proptest! {
        /// Arbitrary bytes never panic anywhere in parsing and walking a compound.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            walk(&bytes);
        }

        /// Mostly well-framed packets with random bodies reach the typed parsers.
        #[test]
        fn random_bodies_never_panic(pt in 200u8..=207, count in 0u8..32, body in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
            let words = body.len() / 4;
            let mut bytes = std::vec![0x80 | count, pt, 0, words as u8];
            bytes.extend_from_slice(&body[..words * 4]);
            walk(&bytes);
        }

        /// Transport-cc statuses survive emit then parse, whatever the mix.
        #[test]
        fn transport_cc_round_trips(statuses in proptest::collection::vec(status(), 0..200), base in proptest::num::u16::ANY) {
            let mut buf = [0u8; 2048];
            let mut b = CompoundBuilder::new(&mut buf);
            b.transport_cc(&TransportCcRepr { ssrcs: FeedbackSsrcs { sender: 1, media: 2 }, base_sequence: base, reference_time: 5, feedback_count: 1, statuses: &statuses });
            let n = b.finish().unwrap();
            let Kind::TransportCc(tcc) = only(&buf[..n]) else { panic!() };
            let got: Vec<TccStatus> = tcc.packets().map(|p| p.status).collect();
            proptest::prop_assert_eq!(got, statuses);
        }
    }

    fn walk(bytes: &[u8]) {
        let Ok(compound) = Compound::parse(bytes) else {
            return;
        };
        for p in compound.packets() {
            let _ = (p.packet_type(), p.count(), p.body(), p.has_padding());
            match p.kind() {
                Ok(Kind::SenderReport(sr)) => {
                    let _ = (
                        sr.ssrc(),
                        sr.sender_info(),
                        sr.reports().count(),
                        sr.extension(),
                    );
                }
                Ok(Kind::ReceiverReport(rr)) => {
                    let _ = (rr.ssrc(), rr.reports().count(), rr.extension());
                }
                Ok(Kind::Sdes(s)) => s.chunks().for_each(|c| {
                    let _ = (c.items().count(), c.cname());
                }),
                Ok(Kind::Bye(b)) => {
                    let _ = (b.ssrcs().count(), b.reason());
                }
                Ok(Kind::App(a)) => {
                    let _ = (a.subtype(), a.ssrc(), a.name(), a.data());
                }
                Ok(Kind::Nack(n)) => {
                    let _ = (n.ssrcs(), n.lost().count());
                }
                Ok(Kind::TransportCc(t)) => {
                    let _ = (t.reference_time(), t.feedback_count(), t.packets().count());
                }
                Ok(Kind::Fir(f)) => {
                    let _ = f.entries().count();
                }
                Ok(Kind::Remb(r)) => {
                    let _ = (r.bitrate(), r.ssrcs().count());
                }
                Ok(Kind::Pli(_) | Kind::Other(_)) | Err(_) => {}
            }
        }
    }
}
