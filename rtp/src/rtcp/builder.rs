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
                let rest = fb.statuses.get(i..).unwrap_or_default();
                let run = rest
                    .iter()
                    .take(0x1fff)
                    .take_while(|x| symbol(x) == s)
                    .count();
                if run >= 7 {
                    w.u16(s << 13 | run as u16);
                    i += run;
                } else {
                    let mut chunk = 0xc000u16;
                    for (k, x) in rest.iter().take(7).enumerate() {
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
    pub fn finish(self) -> Result<usize, WireError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        Ok(self.w.finish()?)
    }
}
