//! Transport-layer feedback (RTPFB, packet type 205): generic NACK (RFC 4585 §6.2.1) and
//! transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-
//! extensions-01 §3.1).
//!
//! ```text
//!   transport-cc FCI = base seq | status count | reference time | fb count
//!                      packet status chunks (run-length or status vector) ...
//!                      receive deltas (1 byte small, 2 bytes large) ...
//! ```

use peerless_base::Reader;

use super::compound::{u16_at, u32_at};
use super::feedback::{Feedback, FeedbackSsrcs};
use crate::WireError;

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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Nack<'a>(pub(super) Feedback<'a>);

impl<'a> Nack<'a> {
    /// Sender and media SSRCs.
    #[must_use]
    pub fn ssrcs(&self) -> FeedbackSsrcs {
        self.0.ssrcs()
    }

    /// The entries as sent.
    pub fn pairs(&self) -> impl ExactSizeIterator<Item = NackPair> + 'a {
        self.0.fci.chunks_exact(4).map(|c| NackPair {
            pid: u16_at(c, 0),
            blp: u16_at(c, 2),
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
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
    pub(super) fn parse(fb: Feedback<'a>) -> Result<Self, WireError> {
        let mut probe = TransportCc { fb, chunks_len: 0 };
        if fb.fci.len() < 8 {
            return Err(WireError::Malformed);
        }
        // Walk every status once to find where the deltas start and that they all fit.
        let mut symbols = probe.symbols();
        let mut delta_bytes = 0usize;
        for _ in 0..probe.status_count() {
            match symbols.next_symbol().ok_or(WireError::Malformed)? {
                1 => delta_bytes += 1,
                2 => delta_bytes += 2,
                3 => return Err(WireError::Malformed),
                _ => {}
            }
        }
        probe.chunks_len = symbols.chunks.position();
        if 8 + probe.chunks_len + delta_bytes > fb.fci.len() {
            return Err(WireError::Malformed);
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
