//! Sender and receiver reports (RFC 3550 §6.4): sender information and reception report
//! blocks.

use peerless_base::Writer;

use super::compound::u32_at;

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

    pub(super) fn write(&self, w: &mut Writer<'_>) {
        w.u32(self.ssrc);
        w.u8(self.fraction_lost);
        w.u24((self.cumulative_lost as u32) & 0x00ff_ffff);
        w.u32(self.highest_sequence);
        w.u32(self.jitter);
        w.u32(self.last_sr);
        w.u32(self.delay_since_last_sr);
    }
}

pub(super) fn report_blocks(blocks: &[u8]) -> impl ExactSizeIterator<Item = ReportBlock> + '_ {
    blocks.chunks_exact(24).map(ReportBlock::read)
}

/// A sender report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SenderReport<'a> {
    pub(super) body: &'a [u8],
    pub(super) blocks: &'a [u8],
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReceiverReport<'a> {
    pub(super) body: &'a [u8],
    pub(super) blocks: &'a [u8],
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
