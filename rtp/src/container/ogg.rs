//! Ogg (RFC 3533) pages and packets, and Ogg Opus (RFC 7845) files: what `ffmpeg`, `opusenc`
//! and browsers' recorders write for Opus audio at rest.
//!
//! ```text
//!   page:  "OggS" | version 0 | flags (1 continued, 2 first page, 4 last page)
//!          | granule u64 | serial u32 | sequence u32 | CRC-32 u32 | segments u8
//!          | lacing values (one octet each) | body (the sum of the lacing values)
//!   packet: lacing values 255, 255, …, n < 255 (a packet of 255·k octets ends with a 0);
//!           one still open at the page's end continues on the next page (flag 1)
//!
//!   Ogg Opus:  page 0  OpusHead (flag 2)             granule 0
//!              page 1  OpusTags                      granule 0
//!              page 2… audio packets                 granule = 48 kHz samples to the end
//!              last    … (flag 4)                              of the last packet ending on it
//! ```
//!
//! [`OggReader`] takes a whole file in memory and hands out the packets of its first logical
//! stream with the granule position of the page each ends on; a packet that fits on one page is
//! borrowed from the file, one that spans pages is joined in a buffer the caller lends. Every
//! page's CRC is checked; garbage is an error, never a panic. [`OggOpusWriter`] emits the two
//! Opus header pages and then one page per audio packet into the caller's buffer, keeping the
//! granule position from each packet's TOC octet ([`opus_packet_samples`]).

use core::fmt;

use crate::codec::opus::opus_packet_samples;

/// Why Ogg bytes could not be read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OggError {
    /// A page does not start with "OggS" and version 0.
    NotOgg,
    /// The input ends inside a page header, a page body or a packet.
    Truncated,
    /// A page's CRC-32 does not match its bytes.
    BadCrc,
    /// Pages are missing: a sequence number was skipped, or a page's continued flag does not
    /// match whether a packet was left open.
    Discontinuity,
    /// The first packet is not an `OpusHead` this writer or reader understands, or an audio
    /// packet has no valid TOC octet.
    NotOpus,
    /// The output (or the buffer joining a packet split across pages) is too small.
    BufferTooSmall,
    /// The stream's last packet was written already.
    Ended,
}

impl fmt::Display for OggError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OggError::NotOgg => "not an Ogg page",
            OggError::Truncated => "Ogg input ends inside a page or packet",
            OggError::BadCrc => "Ogg page CRC mismatch",
            OggError::Discontinuity => "Ogg pages missing (sequence gap or continuation mismatch)",
            OggError::NotOpus => "not an Ogg Opus header or packet",
            OggError::BufferTooSmall => "buffer too small for the Ogg page or packet",
            OggError::Ended => "the Ogg stream's last packet was written already",
        })
    }
}

impl core::error::Error for OggError {}

/// The fixed part of a page header (before the lacing values).
pub const PAGE_HEADER_LEN: usize = 27;
/// The most lacing values (segments) a page holds.
pub const MAX_SEGMENTS: usize = 255;
/// Page flag: the page's first packet continues one from the previous page.
pub const FLAG_CONTINUED: u8 = 0x01;
/// Page flag: the first page of a logical stream.
pub const FLAG_FIRST: u8 = 0x02;
/// Page flag: the last page of a logical stream.
pub const FLAG_LAST: u8 = 0x04;
/// The granule position of a page on which no packet ends.
pub const NO_GRANULE: u64 = u64::MAX;

/// The page CRC (RFC 3533 §6: polynomial 0x04c11db7, not reflected, initial value and final
/// XOR 0), one table lookup per octet.
const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut rest: &mut [u32] = &mut table;
    let mut i = 0u32;
    while let [slot, tail @ ..] = rest {
        let mut c = i << 24;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04c1_1db7
            } else {
                c << 1
            };
            bit += 1;
        }
        *slot = c;
        rest = tail;
        i += 1;
    }
    table
};

fn crc_update(mut crc: u32, data: &[u8]) -> u32 {
    for &b in data {
        let at = usize::from((crc >> 24) as u8 ^ b);
        crc = (crc << 8) ^ CRC_TABLE.get(at).copied().unwrap_or(0);
    }
    crc
}

/// The CRC of a whole page whose CRC field (octets 22..26) is read as zero.
fn page_crc(page: &[u8]) -> u32 {
    let head = page.get(..22).unwrap_or_default();
    let tail = page.get(26..).unwrap_or_default();
    crc_update(crc_update(crc_update(0, head), &[0; 4]), tail)
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    if let Some(s) = b.get(at..at + 4) {
        a.copy_from_slice(s);
    }
    u32::from_le_bytes(a)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from(le_u32(b, at)) | u64::from(le_u32(b, at + 4)) << 32
}

/// One page, checked: capture pattern, version, lengths and CRC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OggPage<'a> {
    /// The flags ([`FLAG_CONTINUED`], [`FLAG_FIRST`], [`FLAG_LAST`]).
    pub flags: u8,
    /// The codec's position after the last packet that ends on this page, or [`NO_GRANULE`].
    pub granule: u64,
    /// Which logical stream the page belongs to.
    pub serial: u32,
    /// The page's number within its logical stream.
    pub sequence: u32,
    /// The lacing values: the packets' lengths in segments.
    pub lacing: &'a [u8],
    /// The packet bytes.
    pub body: &'a [u8],
}

impl<'a> OggPage<'a> {
    /// Reads the page at the start of `data`; returns it and its length in octets.
    ///
    /// # Errors
    ///
    /// [`OggError::NotOgg`] without "OggS" and version 0, [`OggError::Truncated`] when `data`
    /// ends inside the page, [`OggError::BadCrc`] when the CRC does not match.
    pub fn parse(data: &'a [u8]) -> Result<(OggPage<'a>, usize), OggError> {
        if data.get(..4).is_some_and(|c| c != b"OggS") || data.get(4).is_some_and(|&v| v != 0) {
            return Err(OggError::NotOgg);
        }
        let segments = usize::from(*data.get(26).ok_or(OggError::Truncated)?);
        let lacing = data
            .get(PAGE_HEADER_LEN..PAGE_HEADER_LEN + segments)
            .ok_or(OggError::Truncated)?;
        let body_len: usize = lacing.iter().map(|&l| usize::from(l)).sum();
        let len = PAGE_HEADER_LEN + segments + body_len;
        let page = data.get(..len).ok_or(OggError::Truncated)?;
        if page_crc(page) != le_u32(page, 22) {
            return Err(OggError::BadCrc);
        }
        let body = page.get(PAGE_HEADER_LEN + segments..).unwrap_or_default();
        let page = OggPage {
            flags: data.get(5).copied().unwrap_or(0),
            granule: le_u64(data, 6),
            serial: le_u32(data, 14),
            sequence: le_u32(data, 18),
            lacing,
            body,
        };
        Ok((page, len))
    }

    /// Whether the page's first packet continues one from the previous page.
    #[must_use]
    pub fn is_continued(&self) -> bool {
        self.flags & FLAG_CONTINUED != 0
    }

    /// Whether this is the first page of its logical stream.
    #[must_use]
    pub fn is_first(&self) -> bool {
        self.flags & FLAG_FIRST != 0
    }

    /// Whether this is the last page of its logical stream.
    #[must_use]
    pub fn is_last(&self) -> bool {
        self.flags & FLAG_LAST != 0
    }
}

/// One packet read from a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OggPacket<'a> {
    /// The packet's bytes.
    pub data: &'a [u8],
    /// The granule position of the page the packet ends on, when it is the last packet to end
    /// there (only that packet's position is in the file).
    pub granule: Option<u64>,
    /// The packet ends its logical stream.
    pub last: bool,
}

/// Where the reader stands inside the current page.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct PageCursor<'a> {
    page: OggPage<'a>,
    /// The next lacing value to read.
    segment: usize,
    /// Where the next packet bytes start in the body.
    offset: usize,
}

/// Reads the packets of the first logical stream of an Ogg file held in memory.
///
/// Pages of other logical streams are skipped; the reader stops after the stream's last page.
/// After an error it yields nothing more: what follows cannot be trusted to be framed.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OggReader<'a> {
    rest: &'a [u8],
    cursor: Option<PageCursor<'a>>,
    serial: Option<u32>,
    next_sequence: u32,
    done: bool,
}

impl<'a> OggReader<'a> {
    /// A reader over `file`.
    #[must_use]
    pub fn new(file: &'a [u8]) -> Self {
        OggReader {
            rest: file,
            cursor: None,
            serial: None,
            next_sequence: 0,
            done: false,
        }
    }

    /// The next page of the stream, checked for order.
    fn next_page(&mut self) -> Option<Result<OggPage<'a>, OggError>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (page, len) = match OggPage::parse(self.rest) {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
            self.rest = self.rest.get(len..).unwrap_or_default();
            match self.serial {
                None => self.serial = Some(page.serial),
                Some(s) if s != page.serial => continue,
                Some(_) if page.sequence != self.next_sequence => {
                    return Some(Err(OggError::Discontinuity));
                }
                Some(_) => {}
            }
            self.next_sequence = page.sequence.wrapping_add(1);
            return Some(Ok(page));
        }
    }

    /// The next packet. One that lies within a page is borrowed from the file; one that spans
    /// pages is joined in `buf`.
    ///
    /// # Errors
    ///
    /// Those of [`OggPage::parse`], [`OggError::Discontinuity`] when pages are missing,
    /// [`OggError::Truncated`] when the file ends inside a packet, and
    /// [`OggError::BufferTooSmall`] when a packet spanning pages does not fit in `buf`.
    pub fn next_packet<'s>(&mut self, buf: &'s mut [u8]) -> Option<Result<OggPacket<'s>, OggError>>
    where
        'a: 's,
    {
        if self.done {
            return None;
        }
        let packet = self.read_packet(buf);
        if !matches!(packet, Some(Ok(_))) {
            self.done = true;
        }
        packet
    }

    fn read_packet<'s>(&mut self, buf: &'s mut [u8]) -> Option<Result<OggPacket<'s>, OggError>>
    where
        'a: 's,
    {
        // Octets of a packet still open at the end of the previous page, already in `buf`.
        let mut joined: Option<usize> = None;
        loop {
            let mut cursor = match self.cursor.take() {
                Some(c) if c.segment < c.page.lacing.len() => c,
                Some(c) if c.page.is_last() => {
                    return joined.map(|_| Err(OggError::Truncated));
                }
                _ => {
                    let page = match self.next_page() {
                        None if joined.is_some() => return Some(Err(OggError::Truncated)),
                        None => return None,
                        Some(Err(e)) => return Some(Err(e)),
                        Some(Ok(page)) => page,
                    };
                    if page.is_continued() != joined.is_some() {
                        return Some(Err(OggError::Discontinuity));
                    }
                    PageCursor {
                        page,
                        segment: 0,
                        offset: 0,
                    }
                }
            };
            if cursor.segment >= cursor.page.lacing.len() {
                // A page without lacing values carries no packet bytes.
                self.cursor = Some(cursor);
                continue;
            }
            let start = cursor.offset;
            let mut ended = false;
            while let Some(&l) = cursor.page.lacing.get(cursor.segment) {
                cursor.segment += 1;
                cursor.offset += usize::from(l);
                if l < 255 {
                    ended = true;
                    break;
                }
            }
            let piece = cursor
                .page
                .body
                .get(start..cursor.offset)
                .unwrap_or_default();
            let page = cursor.page;
            let last_on_page = !cursor
                .page
                .lacing
                .get(cursor.segment..)
                .is_some_and(|rest| {
                    // Another packet ends on this page after this one.
                    rest.iter().any(|&l| l < 255)
                });
            self.cursor = Some(cursor);
            let data: &'s [u8] = match joined {
                None if ended => piece,
                _ => {
                    let at = joined.unwrap_or(0);
                    let end = at + piece.len();
                    let Some(room) = buf.get_mut(at..end) else {
                        return Some(Err(OggError::BufferTooSmall));
                    };
                    room.copy_from_slice(piece);
                    joined = Some(end);
                    if !ended {
                        continue;
                    }
                    let buf: &'s [u8] = buf;
                    buf.get(..end).unwrap_or_default()
                }
            };
            return Some(Ok(OggPacket {
                data,
                granule: (last_on_page && page.granule != NO_GRANULE).then_some(page.granule),
                last: last_on_page && page.is_last(),
            }));
        }
    }
}

/// The Opus identification header (RFC 7845 §5.1), channel mapping family 0 (mono or stereo).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OpusHead {
    /// 1 or 2.
    pub channels: u8,
    /// 48 kHz samples the decoder drops at the start (the encoder's look-ahead).
    pub pre_skip: u16,
    /// The sample rate the audio was captured at (informational; Opus always decodes at
    /// 48 kHz).
    pub input_sample_rate: u32,
    /// Gain to apply on output, in Q7.8 dB.
    pub output_gain: i16,
}

/// The length of an `OpusHead` packet with channel mapping family 0.
pub const OPUS_HEAD_LEN: usize = 19;

impl OpusHead {
    /// A header for `channels` with libopus's usual pre-skip (312 samples, 6.5 ms) and a
    /// 48 kHz input rate.
    #[must_use]
    pub fn new(channels: u8) -> Self {
        OpusHead {
            channels,
            pre_skip: 312,
            input_sample_rate: 48_000,
            output_gain: 0,
        }
    }

    /// Reads an `OpusHead` packet.
    ///
    /// # Errors
    ///
    /// [`OggError::NotOpus`] without the magic, with a version other than 0.x (RFC 7845
    /// §5.1: a major version above 0 is incompatible), with no channels, or with a mapping
    /// family other than 0 (multichannel layouts are not read here).
    pub fn parse(packet: &[u8]) -> Result<Self, OggError> {
        if packet.get(..8) != Some(b"OpusHead") || packet.len() < OPUS_HEAD_LEN {
            return Err(OggError::NotOpus);
        }
        let at = |i: usize| packet.get(i).copied().unwrap_or(0);
        let channels = at(9);
        if at(8) & 0xf0 != 0 || channels == 0 || at(18) != 0 || channels > 2 {
            return Err(OggError::NotOpus);
        }
        Ok(OpusHead {
            channels,
            pre_skip: u16::from_le_bytes([at(10), at(11)]),
            input_sample_rate: le_u32(packet, 12),
            output_gain: i16::from_le_bytes([at(16), at(17)]),
        })
    }

    /// Writes the `OpusHead` packet.
    ///
    /// # Errors
    ///
    /// [`OggError::BufferTooSmall`] when `out` is shorter than [`OPUS_HEAD_LEN`],
    /// [`OggError::NotOpus`] for channel counts other than 1 and 2.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, OggError> {
        if !(1..=2).contains(&self.channels) {
            return Err(OggError::NotOpus);
        }
        let mut h = [0u8; OPUS_HEAD_LEN];
        h[..8].copy_from_slice(b"OpusHead");
        h[8] = 1;
        h[9] = self.channels;
        h[10..12].copy_from_slice(&self.pre_skip.to_le_bytes());
        h[12..16].copy_from_slice(&self.input_sample_rate.to_le_bytes());
        h[16..18].copy_from_slice(&self.output_gain.to_le_bytes());
        out.get_mut(..OPUS_HEAD_LEN)
            .ok_or(OggError::BufferTooSmall)?
            .copy_from_slice(&h);
        Ok(OPUS_HEAD_LEN)
    }
}

/// The octets a packet of `len` octets takes as pages (headers, lacing values and body).
#[must_use]
pub fn pages_len(len: usize) -> usize {
    let segments = len / 255 + 1;
    let pages = segments.div_ceil(MAX_SEGMENTS);
    pages * PAGE_HEADER_LEN + segments + len
}

/// Writes the pages of one logical stream: every packet starts a page, and one too long for a
/// page continues on the next.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OggPageWriter {
    serial: u32,
    sequence: u32,
    ended: bool,
}

impl OggPageWriter {
    /// A writer for the logical stream `serial`; its first page will carry [`FLAG_FIRST`].
    #[must_use]
    pub fn new(serial: u32) -> Self {
        OggPageWriter {
            serial,
            sequence: 0,
            ended: false,
        }
    }

    /// Pages written so far.
    #[must_use]
    pub fn pages(&self) -> u32 {
        self.sequence
    }

    /// Writes `packet` as one page (or several, [`pages_len`] octets in all) whose last carries
    /// `granule`; `last` marks the stream's end. Nothing is written on error.
    ///
    /// # Errors
    ///
    /// [`OggError::BufferTooSmall`] when `out` is shorter than [`pages_len`] of the packet,
    /// [`OggError::Ended`] after the last packet.
    pub fn write_packet(
        &mut self,
        packet: &[u8],
        granule: u64,
        last: bool,
        out: &mut [u8],
    ) -> Result<usize, OggError> {
        if self.ended {
            return Err(OggError::Ended);
        }
        let total = pages_len(packet.len());
        let out = out.get_mut(..total).ok_or(OggError::BufferTooSmall)?;
        let mut segments_left = packet.len() / 255 + 1;
        let mut body = packet;
        let mut written = 0;
        let mut continued = false;
        while segments_left > 0 {
            let segments = segments_left.min(MAX_SEGMENTS);
            segments_left -= segments;
            let final_page = segments_left == 0;
            let mut flags = 0;
            if continued {
                flags |= FLAG_CONTINUED;
            }
            if self.sequence == 0 && !continued {
                flags |= FLAG_FIRST;
            }
            if final_page && last {
                flags |= FLAG_LAST;
            }
            let take = if final_page {
                body.len()
            } else {
                segments * 255
            };
            let (now, later) = body.split_at(take.min(body.len()));
            let page_len = PAGE_HEADER_LEN + segments + now.len();
            let page = out
                .get_mut(written..written + page_len)
                .ok_or(OggError::BufferTooSmall)?;
            let mut header = [0u8; PAGE_HEADER_LEN];
            header[..4].copy_from_slice(b"OggS");
            header[5] = flags;
            let g = if final_page { granule } else { NO_GRANULE };
            header[6..14].copy_from_slice(&g.to_le_bytes());
            header[14..18].copy_from_slice(&self.serial.to_le_bytes());
            header[18..22].copy_from_slice(&self.sequence.to_le_bytes());
            // Segment count fits: `segments` is at most MAX_SEGMENTS.
            header[26] = segments as u8;
            let (head, rest) = page.split_at_mut(PAGE_HEADER_LEN);
            head.copy_from_slice(&header);
            let (lacing, data) = rest.split_at_mut(segments);
            lacing.fill(255);
            if final_page && let Some(l) = lacing.last_mut() {
                *l = (now.len() % 255) as u8;
            }
            data.copy_from_slice(now);
            let crc = page_crc(page);
            if let Some(field) = page.get_mut(22..26) {
                field.copy_from_slice(&crc.to_le_bytes());
            }
            written += page_len;
            self.sequence = self.sequence.wrapping_add(1);
            body = later;
            continued = true;
        }
        self.ended = last;
        Ok(written)
    }
}

/// The vendor string in the `OpusTags` this writer emits.
pub const VENDOR: &str = "peerless";

/// Writes an Ogg Opus file: the `OpusHead` and `OpusTags` pages when it starts, then a page per
/// audio packet with the granule position counted from the packets' TOC octets.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct OggOpusWriter {
    pages: OggPageWriter,
    granule: u64,
}

/// What [`OggOpusWriter::start`] writes: the header page and the tags page.
pub const OPUS_HEADERS_LEN: usize =
    2 * (PAGE_HEADER_LEN + 1) + OPUS_HEAD_LEN + 8 + 4 + VENDOR.len() + 4;

impl OggOpusWriter {
    /// Writes the `OpusHead` page (the stream's first) and an `OpusTags` page with no comments
    /// into `out` ([`OPUS_HEADERS_LEN`] octets).
    ///
    /// # Errors
    ///
    /// [`OggError::BufferTooSmall`] when `out` is shorter than [`OPUS_HEADERS_LEN`],
    /// [`OggError::NotOpus`] when `head` cannot be written.
    pub fn start(serial: u32, head: &OpusHead, out: &mut [u8]) -> Result<(Self, usize), OggError> {
        let out = out
            .get_mut(..OPUS_HEADERS_LEN)
            .ok_or(OggError::BufferTooSmall)?;
        let mut packet = [0u8; OPUS_HEAD_LEN];
        head.emit(&mut packet)?;
        let mut pages = OggPageWriter::new(serial);
        let mut at = pages.write_packet(&packet, 0, false, out)?;
        let mut tags = [0u8; 8 + 4 + VENDOR.len() + 4];
        tags[..8].copy_from_slice(b"OpusTags");
        tags[8..12].copy_from_slice(&(VENDOR.len() as u32).to_le_bytes());
        if let Some(vendor) = tags.get_mut(12..12 + VENDOR.len()) {
            vendor.copy_from_slice(VENDOR.as_bytes());
        }
        // The user comment count stays 0.
        at += pages.write_packet(&tags, 0, false, out.get_mut(at..).unwrap_or_default())?;
        Ok((OggOpusWriter { pages, granule: 0 }, at))
    }

    /// Writes one audio packet on its own page ([`pages_len`] octets); `last` ends the stream.
    /// Nothing is written on error.
    ///
    /// # Errors
    ///
    /// [`OggError::NotOpus`] when the packet's TOC octet gives no duration,
    /// [`OggError::BufferTooSmall`] and [`OggError::Ended`] as [`OggPageWriter::write_packet`].
    pub fn write_packet(
        &mut self,
        packet: &[u8],
        last: bool,
        out: &mut [u8],
    ) -> Result<usize, OggError> {
        let samples = opus_packet_samples(packet).map_err(|_| OggError::NotOpus)?;
        let granule = self.granule.saturating_add(u64::from(samples));
        let n = self.pages.write_packet(packet, granule, last, out)?;
        self.granule = granule;
        Ok(n)
    }

    /// 48 kHz samples written so far (the last page's granule position).
    #[must_use]
    pub fn granule(&self) -> u64 {
        self.granule
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;
    use std::vec::Vec;

    /// A packet read back: bytes, granule position, last flag.
    type Read = (Vec<u8>, Option<u64>, bool);

    fn packets(file: &[u8]) -> Result<Vec<Read>, OggError> {
        let mut reader = OggReader::new(file);
        let mut buf = vec![0u8; 1 << 17];
        let mut out = Vec::new();
        while let Some(p) = reader.next_packet(&mut buf) {
            let p = p?;
            out.push((p.data.to_vec(), p.granule, p.last));
        }
        Ok(out)
    }

    #[test]
    fn crc_known_answer() {
        // CRC-32/CKSUM (POSIX) has this polynomial and initial value 0, and checks "123456789"
        // as 0x765e7680 after its final XOR with all ones, which Ogg does not apply.
        assert_eq!(crc_update(0, b"123456789"), !0x765e_7680);
    }

    #[test]
    fn page_layout_known_answer() {
        let mut out = [0u8; 64];
        let mut w = OggPageWriter::new(0x0102_0304);
        let n = w
            .write_packet(&[0xaa, 0xbb, 0xcc], 7, true, &mut out)
            .unwrap();
        assert_eq!(n, 27 + 1 + 3);
        assert_eq!(&out[..4], b"OggS");
        assert_eq!(out[4], 0);
        assert_eq!(out[5], FLAG_FIRST | FLAG_LAST);
        assert_eq!(&out[6..14], &7u64.to_le_bytes());
        assert_eq!(&out[14..18], &[4, 3, 2, 1]);
        assert_eq!(&out[18..22], &[0; 4]);
        assert_eq!(&out[26..31], &[1, 3, 0xaa, 0xbb, 0xcc]);
        let (page, len) = OggPage::parse(&out[..n]).unwrap();
        assert_eq!(len, n);
        assert_eq!(page.body, &[0xaa, 0xbb, 0xcc]);
        assert_eq!(
            w.write_packet(&[1], 8, false, &mut out),
            Err(OggError::Ended)
        );
    }

    #[test]
    fn opus_head_known_answer() {
        let mut out = [0u8; 19];
        OpusHead::new(2).emit(&mut out).unwrap();
        // RFC 7845 §5.1: magic, version 1, channels, pre-skip 312 (0x138), 48000 (0xbb80),
        // gain 0, family 0.
        assert_eq!(
            out,
            *b"OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00"
        );
        assert_eq!(OpusHead::parse(&out), Ok(OpusHead::new(2)));
        out[8] = 0x10;
        assert_eq!(OpusHead::parse(&out), Err(OggError::NotOpus));
    }

    fn write_file(audio: &[Vec<u8>]) -> Vec<u8> {
        let mut file = vec![0u8; OPUS_HEADERS_LEN];
        let (mut w, n) = OggOpusWriter::start(7, &OpusHead::new(1), &mut file).unwrap();
        assert_eq!(n, OPUS_HEADERS_LEN);
        for (i, p) in audio.iter().enumerate() {
            let mut page = vec![0u8; pages_len(p.len())];
            let n = w.write_packet(p, i + 1 == audio.len(), &mut page).unwrap();
            assert_eq!(n, page.len());
            file.extend_from_slice(&page);
        }
        file
    }

    #[test]
    fn writer_round_trips_with_granules_and_spanning_packets() {
        // 20 ms CELT (config 31, 960 samples), then a code-3 packet of 3 × 20 ms, then packets
        // long enough to span one and two page boundaries (exactly 255·255 too).
        let mut audio = vec![vec![31 << 3, 1, 2, 3], vec![31 << 3 | 3, 3, 9]];
        for len in [254, 255, 510, 255 * 255, 255 * 255 + 1, 70_000] {
            let mut p = vec![31 << 3];
            p.extend((1..len).map(|i| (i % 251) as u8));
            audio.push(p);
        }
        let file = write_file(&audio);
        let back = packets(&file).unwrap();
        assert_eq!(back.len(), 2 + audio.len());
        assert_eq!(OpusHead::parse(&back[0].0), Ok(OpusHead::new(1)));
        assert!(back[1].0.starts_with(b"OpusTags"));
        let mut granule = 0;
        for (i, (p, (data, g, last))) in audio.iter().zip(&back[2..]).enumerate() {
            granule += u64::from(opus_packet_samples(p).unwrap());
            assert_eq!(data, p, "packet {i}");
            assert_eq!(*g, Some(granule), "packet {i}");
            assert_eq!(*last, i + 1 == audio.len());
        }
        assert_eq!(granule, 960 + 2880 + 6 * 960);
    }

    #[test]
    fn several_packets_on_one_page() {
        // A page as ffmpeg writes them: three packets, the middle one 255 octets (255, 0).
        let mut body = vec![1u8; 3];
        body.extend(vec![2u8; 255]);
        body.extend(vec![3u8; 4]);
        let lacing = [3u8, 255, 0, 4];
        let mut page = Vec::new();
        page.extend_from_slice(b"OggS\0\x02");
        page.extend_from_slice(&960u64.to_le_bytes());
        page.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4]);
        page.extend_from_slice(&lacing);
        page.extend_from_slice(&body);
        let crc = page_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        let back = packets(&page).unwrap();
        assert_eq!(
            back,
            [
                (vec![1; 3], None, false),
                (vec![2; 255], None, false),
                (vec![3; 4], Some(960), false)
            ]
        );
    }

    #[test]
    fn garbage_and_damage_are_errors() {
        let file = write_file(&[vec![31 << 3, 5], vec![31 << 3, 6]]);
        assert_eq!(packets(b"RIFF....").err(), Some(OggError::NotOgg));
        // One flipped bit anywhere in a page is a CRC error (or, in the capture pattern or
        // version, not Ogg; in a length, a truncation or a CRC error).
        for at in 0..file.len() {
            let mut bad = file.clone();
            bad[at] ^= 0x10;
            assert!(packets(&bad).is_err(), "flip at {at}");
        }
        for cut in 1..file.len() {
            if let Ok(p) = packets(&file[..cut]) {
                // A cut between pages is a shorter stream, never a changed packet.
                assert!(
                    p.len() < 4 && file[cut..].starts_with(b"OggS"),
                    "cut at {cut}"
                );
            }
        }
        // A missing middle page.
        let first = OPUS_HEADERS_LEN;
        let second = first + pages_len(2);
        let mut gap = file[..first].to_vec();
        gap.extend_from_slice(&file[second..]);
        assert_eq!(packets(&gap).err(), Some(OggError::Discontinuity));
        // A spanning packet that does not fit the lent buffer.
        let long = write_file(&[vec![31 << 3; 70_000]]);
        let mut reader = OggReader::new(&long);
        let mut small = [0u8; 100];
        assert!(reader.next_packet(&mut small).unwrap().is_ok());
        assert!(reader.next_packet(&mut small).unwrap().is_ok());
        assert_eq!(
            reader.next_packet(&mut small).unwrap().err(),
            Some(OggError::BufferTooSmall)
        );
        assert!(reader.next_packet(&mut small).is_none());
    }

    #[test]
    fn writer_refuses_what_it_cannot_write_whole() {
        let mut head = [0u8; OPUS_HEADERS_LEN];
        let (mut w, _) = OggOpusWriter::start(1, &OpusHead::new(2), &mut head).unwrap();
        let mut out = [0u8; 40];
        assert_eq!(
            w.write_packet(&[31 << 3; 20], false, &mut out),
            Err(OggError::BufferTooSmall)
        );
        assert_eq!(w.granule(), 0);
        assert_eq!(w.write_packet(&[], false, &mut out), Err(OggError::NotOpus));
        assert_eq!(w.write_packet(&[31 << 3; 4], true, &mut out), Ok(32));
        assert_eq!(w.granule(), 960);
        assert_eq!(
            w.write_packet(&[31 << 3; 4], true, &mut out),
            Err(OggError::Ended)
        );
        assert_eq!(
            OggOpusWriter::start(1, &OpusHead::new(3), &mut head).err(),
            Some(OggError::NotOpus)
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(
            data in proptest::collection::vec(proptest::num::u8::ANY, 0..600),
        ) {
            let mut with_magic = b"OggS\0".to_vec();
            with_magic.extend_from_slice(&data);
            for input in [&data[..], &with_magic[..]] {
                let mut reader = OggReader::new(input);
                let mut buf = [0u8; 64];
                while reader.next_packet(&mut buf).is_some() {}
                let _ = OpusHead::parse(input);
            }
        }

        #[test]
        fn any_packets_round_trip(
            lens in proptest::collection::vec(1usize..1200, 1..12),
            fill in proptest::num::u8::ANY,
        ) {
            let audio: Vec<Vec<u8>> = lens.iter().map(|&l| {
                let mut p = vec![fill; l];
                p[0] = 31 << 3;
                p
            }).collect();
            let back = packets(&write_file(&audio)).unwrap();
            let data: Vec<_> = back[2..].iter().map(|(d, _, _)| d.clone()).collect();
            proptest::prop_assert_eq!(data, audio);
        }
    }
}
