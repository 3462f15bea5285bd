//! Writing compound RTCP packets, one packet per call.

use peerless_base::Writer;

use super::compound::{Fmt, PacketType};
use super::feedback::FeedbackSsrcs;
use super::psfb::FirEntry;
use super::report::{ReportBlock, SenderInfo};
use super::rtpfb::{NackPair, TccStatus};
use super::sdes_bye_app::SdesItem;
use crate::WireError;

/// One SDES chunk to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SdesChunkRepr<'a> {
    /// The source described.
    pub ssrc: u32,
    /// Its items (values of at most 255 bytes).
    pub items: &'a [SdesItem<'a>],
}

/// Transport-wide feedback to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
/// use peerless_rtp::rtcp::{Compound, CompoundBuilder, Kind, SdesChunkRepr, SdesItem, SdesType, SenderInfo};
/// let mut buf = [0u8; 256];
/// let mut b = CompoundBuilder::new(&mut buf);
/// b.sender_report(0x1234, &SenderInfo { packet_count: 3, ..Default::default() }, &[]);
/// b.sdes(&[SdesChunkRepr { ssrc: 0x1234, items: &[SdesItem { kind: SdesType::CNAME, value: b"peer" }] }]);
/// b.pli(0x1234, 0x5678);
/// let n = b.finish()?;
/// let compound = Compound::parse(&buf[..n])?;
/// assert_eq!(compound.packets().count(), 3);
/// # Ok::<(), peerless_rtp::WireError>(())
/// ```
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CompoundBuilder<'b> {
    w: Writer<'b>,
    error: Option<WireError>,
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
        self.error.get_or_insert(WireError::Unrepresentable);
    }

    /// Writes a packet: header, then `body` fills the rest; pads to 32 bits with zeros inside
    /// the body. (Never with the P bit: RFC 3550 §6.4.1 wants a padding count that is a
    /// multiple of four, which 1-3 bytes of alignment are not, and GStreamer drops such a
    /// compound as invalid.)
    fn packet(&mut self, count: u8, pt: PacketType, body: impl FnOnce(&mut Writer<'_>)) {
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
            self.w.u8(0);
        }
        let words = (self.w.position() - start) / 4 - 1;
        let Ok(words) = u16::try_from(words) else {
            return self.fail();
        };
        self.w.patch_u16(start + 2, words);
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
        self.packet(count, PacketType::SR, |w| {
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
        self.packet(count, PacketType::RR, |w| {
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
        self.packet(count, PacketType::SDES, |w| {
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
        self.packet(count, PacketType::BYE, |w| {
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
        self.packet(subtype, PacketType::APP, |w| {
            w.u32(ssrc);
            w.bytes(&name);
            w.bytes(data);
        });
        self
    }

    /// A generic NACK.
    pub fn nack(&mut self, ssrcs: FeedbackSsrcs, pairs: &[NackPair]) -> &mut Self {
        self.packet(Fmt::NACK.0, PacketType::RTPFB, |w| {
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
        self.packet(Fmt::PLI.0, PacketType::PSFB, |w| {
            w.u32(sender);
            w.u32(media);
        });
        self
    }

    /// A full intra request.
    pub fn fir(&mut self, sender: u32, entries: &[FirEntry]) -> &mut Self {
        self.packet(Fmt::FIR.0, PacketType::PSFB, |w| {
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
        self.packet(Fmt::AFB.0, PacketType::PSFB, |w| {
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

    /// Transport-wide feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1).
    ///
    /// Each chunk is the form that covers the most statuses from where the last one ended:
    /// a run-length chunk for a run of 14 or more equal statuses (or one that reaches the
    /// end), else a one-bit status vector of 14 while none of them needs a large delta, else
    /// a run-length chunk for a run of 7 or more, else a two-bit vector of 7. A delta in
    /// 0..=255 (250 µs units) takes one byte, any other two (signed); the FCI ends in zero
    /// padding, as the draft draws it.
    pub fn transport_cc(&mut self, fb: &TransportCcRepr<'_>) -> &mut Self {
        let Ok(status_count) = u16::try_from(fb.statuses.len()) else {
            self.fail();
            return self;
        };
        self.packet(Fmt::TRANSPORT_CC.0, PacketType::RTPFB, |w| {
            w.u32(fb.ssrcs.sender);
            w.u32(fb.ssrcs.media);
            w.u16(fb.base_sequence);
            w.u16(status_count);
            w.u24((fb.reference_time as u32) & 0x00ff_ffff);
            w.u8(fb.feedback_count);
            let mut rest = fb.statuses;
            while let Some((chunk, used)) = tcc_chunk(rest) {
                w.u16(chunk);
                rest = rest.get(used..).unwrap_or_default();
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
        self.packet(count, packet_type, |w| w.bytes(body));
        self
    }

    /// The compound's length, or the first error.
    pub fn finish(self) -> Result<usize, WireError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(self.w.finish()?)
    }
}

/// The status symbol (0 not received, 1 small delta, 2 large or negative delta).
fn tcc_symbol(s: &TccStatus) -> u16 {
    match s {
        TccStatus::NotReceived => 0,
        TccStatus::Received(d) if (0..=255).contains(d) => 1,
        TccStatus::Received(_) => 2,
    }
}

/// The next packet status chunk for `statuses` and how many statuses it covers (see
/// [`CompoundBuilder::transport_cc`]); `None` when none are left.
fn tcc_chunk(statuses: &[TccStatus]) -> Option<(u16, usize)> {
    let first = tcc_symbol(statuses.first()?);
    let run = statuses
        .iter()
        .take(0x1fff)
        .take_while(|s| tcc_symbol(s) == first)
        .count();
    let run_length = (first << 13 | run as u16, run);
    if run >= 14 || run == statuses.len() {
        return Some(run_length);
    }
    let next14 = statuses.iter().take(14);
    if next14.clone().all(|s| tcc_symbol(s) < 2) {
        // 1 | 0 | 14 one-bit symbols, the first in the highest bit.
        let chunk = next14
            .enumerate()
            .fold(0x8000, |c, (k, s)| c | tcc_symbol(s) << (13 - k));
        return Some((chunk, 14));
    }
    if run >= 7 {
        return Some(run_length);
    }
    // 1 | 1 | 7 two-bit symbols.
    let chunk = statuses
        .iter()
        .take(7)
        .enumerate()
        .fold(0xc000, |c, (k, s)| c | tcc_symbol(s) << (2 * (6 - k)));
    Some((chunk, 7))
}
