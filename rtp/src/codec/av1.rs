//! AV1 video over RTP (AOMedia "RTP Payload Format for AV1", v1.0.0).
//!
//! ```text
//!   temporal unit (OBUs with size fields: TD SEQ FRAME …)
//!     ──Av1Packetizer──▶ [Z|Y|W|N] element element …   (TD and tile lists dropped, size fields
//!                                                         removed, large OBUs split across payloads)
//!     ──Av1Depacketizer──▶ TD SEQ FRAME …  (size fields restored as leb128, a TD in front)
//!
//!   aggregation header  Z: the first element continues an OBU from the last payload
//!                       Y: the last element continues in the next payload
//!                       W: 1-3 elements, the last without a length; 0: every element has one
//!                       N: first payload of a coded video sequence (a keyframe with its
//!                          sequence header)
//!   OBU element         [leb128 length] obu_header [extension] payload   (obu_has_size_field 0)
//! ```
//!
//! Payloads are filled greedily in OBU order: whole elements while they fit, then the next
//! element split to fill the payload. Up to three elements use W (the last one's length
//! implied); more use W = 0.

use peerless_base::Writer;

use super::{
    CodecError, Depacketizer, FrameBuf, FrameInfo, Packetizer, Packets, Payload, PayloadInfo,
};

/// OBU types (AV1 §6.2.2) this format acts on.
pub mod obu_type {
    /// Sequence header.
    pub const SEQUENCE_HEADER: u8 = 1;
    /// Temporal delimiter: dropped by the packetizer, written by the depacketizer.
    pub const TEMPORAL_DELIMITER: u8 = 2;
    /// Frame header.
    pub const FRAME_HEADER: u8 = 3;
    /// Frame (header and tile groups).
    pub const FRAME: u8 = 6;
    /// Tile list (large scale tile decoding only): dropped by the packetizer.
    pub const TILE_LIST: u8 = 8;
}

const Z: u8 = 0x80;
const Y: u8 = 0x40;
const N: u8 = 0x08;
const OBU_HAS_SIZE: u8 = 0x02;
const OBU_EXTENSION: u8 = 0x04;
/// A temporal delimiter with its (zero) size field.
const TEMPORAL_DELIMITER: [u8; 2] = [(obu_type::TEMPORAL_DELIMITER << 3) | OBU_HAS_SIZE, 0];

/// Bytes of `value` as leb128.
fn leb128_len(value: usize) -> usize {
    let mut len = 1;
    let mut v = value >> 7;
    while v != 0 {
        len += 1;
        v >>= 7;
    }
    len
}

fn write_leb128(w: &mut Writer<'_>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            w.u8(byte);
            return;
        }
        w.u8(byte | 0x80);
    }
}

/// Reads a leb128 (at most 8 bytes, AV1 §4.10.5) from the front of `bytes`.
fn read_leb128(bytes: &[u8]) -> Result<(usize, usize), CodecError> {
    let mut value: u64 = 0;
    for (i, &b) in bytes.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let value = usize::try_from(value).map_err(|_| CodecError::Malformed)?;
            return Ok((value, i + 1));
        }
    }
    Err(CodecError::Malformed)
}

fn obu_type_of(header: u8) -> u8 {
    (header >> 3) & 0x0f
}

/// One OBU of a temporal unit, as it goes into RTP: its header without the size field.
#[derive(Clone, Copy, Debug)]
struct Obu<'a> {
    header: [u8; 2],
    header_len: usize,
    payload: &'a [u8],
}

impl Obu<'_> {
    fn len(&self) -> usize {
        self.header_len + self.payload.len()
    }

    /// Writes bytes `from..to` of the element (header then payload).
    fn write(&self, w: &mut Writer<'_>, from: usize, to: usize) {
        let header = self.header.get(..self.header_len).unwrap_or_default();
        if from < self.header_len {
            w.bytes(
                header
                    .get(from..to.min(self.header_len))
                    .unwrap_or_default(),
            );
        }
        let start = from.saturating_sub(self.header_len);
        let end = to.saturating_sub(self.header_len);
        w.bytes(self.payload.get(start..end).unwrap_or_default());
    }
}

/// The OBUs of a temporal unit in low-overhead form, without temporal delimiters and tile
/// lists. An OBU without a size field takes the rest of the unit.
#[derive(Clone, Copy, Debug)]
struct Obus<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Obus<'a> {
    type Item = Result<Obu<'a>, CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (&header, rest) = self.rest.split_first()?;
            let obu = (|| {
                if header & 0x80 != 0 {
                    return Err(CodecError::Malformed);
                }
                let (extension, rest) = if header & OBU_EXTENSION != 0 {
                    let (&ext, rest) = rest.split_first().ok_or(CodecError::Malformed)?;
                    (Some(ext), rest)
                } else {
                    (None, rest)
                };
                let (payload, rest) = if header & OBU_HAS_SIZE != 0 {
                    let (size, used) = read_leb128(rest)?;
                    let rest = rest.get(used..).unwrap_or_default();
                    if size > rest.len() {
                        return Err(CodecError::Malformed);
                    }
                    rest.split_at(size)
                } else {
                    (rest, &[][..])
                };
                let obu = Obu {
                    header: [header & !OBU_HAS_SIZE, extension.unwrap_or(0)],
                    header_len: 1 + usize::from(extension.is_some()),
                    payload,
                };
                Ok((obu, rest))
            })();
            match obu {
                Ok((obu, rest)) => {
                    self.rest = rest;
                    let t = obu_type_of(obu.header[0]);
                    if t == obu_type::TEMPORAL_DELIMITER || t == obu_type::TILE_LIST {
                        continue;
                    }
                    return Some(Ok(obu));
                }
                Err(e) => {
                    self.rest = &[];
                    return Some(Err(e));
                }
            }
        }
    }
}

/// Whether a temporal unit starts a coded video sequence: it has a sequence header and its
/// first frame is a key frame shown now (or the sequence has only still key frames).
fn starts_sequence(obus: Obus<'_>) -> bool {
    let mut sequence_header = false;
    let mut reduced_still = false;
    for obu in obus.flatten() {
        match obu_type_of(obu.header[0]) {
            obu_type::SEQUENCE_HEADER => {
                sequence_header = true;
                // seq_profile(3) still_picture(1) reduced_still_picture_header(1)
                reduced_still = obu.payload.first().is_some_and(|b| b & 0x08 != 0);
            }
            obu_type::FRAME_HEADER | obu_type::FRAME => {
                // show_existing_frame(1) frame_type(2): KEY_FRAME is 0.
                let key = reduced_still || obu.payload.first().is_some_and(|b| b & 0xe0 == 0);
                return sequence_header && key;
            }
            _ => {}
        }
    }
    false
}

/// Turns AV1 temporal units into RTP payloads. It keeps nothing across frames.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Av1Packetizer;

impl Av1Packetizer {
    /// A packetizer.
    #[must_use]
    pub fn new() -> Self {
        Av1Packetizer
    }
}

impl Packetizer for Av1Packetizer {
    type Packets<'a> = Av1Packets<'a>;

    /// `frame` is one temporal unit in low-overhead bitstream format (every OBU with its size
    /// field, but for a last OBU that takes the rest), as in IVF or an `.obu` file.
    ///
    /// # Errors
    ///
    /// [`CodecError::PayloadTooSmall`] below 2 bytes; [`CodecError::Malformed`] for a
    /// truncated OBU, a forbidden bit, or a unit with nothing but temporal delimiters.
    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<Av1Packets<'a>, CodecError> {
        if max_payload < 2 {
            return Err(CodecError::PayloadTooSmall);
        }
        let obus = Obus { rest: frame };
        let mut any = false;
        for obu in obus {
            obu?;
            any = true;
        }
        if !any {
            return Err(CodecError::Malformed);
        }
        Ok(Av1Packets {
            obus,
            current: None,
            max_payload,
            new_sequence: starts_sequence(obus),
            first: true,
        })
    }
}

/// One temporal unit's payloads.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Av1Packets<'a> {
    obus: Obus<'a>,
    /// The OBU being sent and how many of its element bytes went out.
    current: Option<(Obu<'a>, usize)>,
    max_payload: usize,
    new_sequence: bool,
    first: bool,
}

/// What one payload holds: its element count, and whether the last element is cut.
struct Plan {
    elements: usize,
    cut: bool,
}

impl<'a> Av1Packets<'a> {
    /// Walks the elements of the next payload from the current position; with `w`, writes
    /// them (each with its length unless `implied_last` says the last goes without). Returns
    /// the plan and the position after the payload.
    #[allow(clippy::type_complexity)]
    fn walk(
        &self,
        mut w: Option<(&mut Writer<'_>, usize)>,
    ) -> (Plan, Obus<'a>, Option<(Obu<'a>, usize)>) {
        let mut obus = self.obus;
        let mut current = self.current;
        let mut room = self.max_payload - 1;
        let mut elements = 0;
        let mut cut = false;
        loop {
            let (obu, sent) = match current.take() {
                Some(c) => c,
                None => match obus.next() {
                    Some(Ok(obu)) => (obu, 0),
                    // Validated in packetize.
                    _ => break,
                },
            };
            let rest = obu.len() - sent;
            // Whole, with a length; whole as the last of at most three (no length); or cut
            // to fill the payload.
            let (take, with_length, last) = if rest + leb128_len(rest) <= room {
                (rest, true, false)
            } else if elements < 3 && rest <= room {
                (rest, false, true)
            } else if elements < 3 {
                (room, false, true)
            } else {
                let mut take = room.saturating_sub(leb128_len(room));
                while take > 0 && take + leb128_len(take) > room {
                    take -= 1;
                }
                if take == 0 {
                    current = Some((obu, sent));
                    break;
                }
                (take, true, true)
            };
            if let Some((w, count)) = w.as_mut() {
                // With W, the last element of the payload goes without its length.
                let implied = *count <= 3 && elements + 1 == *count;
                if !implied {
                    write_leb128(w, take);
                }
                obu.write(w, sent, sent + take);
            }
            elements += 1;
            room -= take + if with_length { leb128_len(take) } else { 0 };
            if sent + take < obu.len() {
                cut = true;
                current = Some((obu, sent + take));
                break;
            }
            if last || room == 0 {
                break;
            }
        }
        (Plan { elements, cut }, obus, current)
    }
}

impl Packets for Av1Packets<'_> {
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        let (plan, _, _) = self.walk(None);
        if plan.elements == 0 {
            return None;
        }
        let continues = self.current.is_some_and(|(_, sent)| sent > 0);
        let mut header = (u8::from(continues) * Z) | (u8::from(plan.cut) * Y);
        if plan.elements <= 3 {
            header |= (plan.elements as u8) << 4;
        }
        if self.first && self.new_sequence {
            header |= N;
        }
        let mut w = Writer::new(out);
        w.u8(header);
        let (_, obus, current) = self.walk(Some((&mut w, plan.elements)));
        let len = match w.finish() {
            Ok(len) => len,
            Err(_) => {
                return Some(Err(CodecError::BufferTooSmall {
                    needed: self.max_payload,
                }));
            }
        };
        self.obus = obus;
        self.current = current;
        self.first = false;
        let marker = self.current.is_none() && {
            let mut ahead = self.obus;
            ahead.next().is_none()
        };
        Some(Ok(Payload { len, marker }))
    }
}

/// Rebuilds temporal units (a temporal delimiter, then every OBU with its size field) from
/// RTP payloads.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Av1Depacketizer {
    /// Where the OBU still being received starts in the frame, if one is.
    open_obu: Option<usize>,
    started: bool,
    keyframe: bool,
}

impl Av1Depacketizer {
    /// A depacketizer waiting for a frame's first payload.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the size field of the OBU element that starts at `start` and runs to the end of
    /// the frame.
    fn close_obu(frame: &mut FrameBuf<'_>, start: usize) -> Result<(), CodecError> {
        let element = frame.as_slice().get(start..).unwrap_or_default();
        let &header = element.first().ok_or(CodecError::Malformed)?;
        if header & 0x80 != 0 {
            return Err(CodecError::Malformed);
        }
        let header_len = 1 + usize::from(header & OBU_EXTENSION != 0);
        if element.len() < header_len {
            return Err(CodecError::Malformed);
        }
        if header & OBU_HAS_SIZE != 0 {
            // The sender kept the size field; it must be right.
            let rest = element.get(header_len..).unwrap_or_default();
            let (size, used) = read_leb128(rest)?;
            // checked: on a 32-bit MCU a leb128 of up to 2^32 - 1 plus its length overflows.
            return if used.checked_add(size) == Some(rest.len()) {
                Ok(())
            } else {
                Err(CodecError::Malformed)
            };
        }
        let size = element.len() - header_len;
        let mut field = [0u8; 10];
        let mut w = Writer::new(&mut field);
        write_leb128(&mut w, size);
        let used = w.finish().map_err(|_| CodecError::Malformed)?;
        frame.insert(start + header_len, field.get(..used).unwrap_or_default())?;
        if let Some(h) = frame.as_mut_slice().get_mut(start) {
            *h |= OBU_HAS_SIZE;
        }
        Ok(())
    }
}

/// The elements of a payload after its aggregation header.
fn elements(payload: &[u8]) -> impl Iterator<Item = Result<&[u8], CodecError>> + '_ {
    let header = payload.first().copied().unwrap_or(0);
    let count = usize::from((header >> 4) & 3);
    let mut rest = payload.get(1..).unwrap_or_default();
    let mut index = 0;
    core::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        index += 1;
        let element = if count != 0 && index == count {
            Ok(core::mem::take(&mut rest))
        } else {
            read_leb128(rest).and_then(|(len, used)| {
                // checked: on a 32-bit MCU a leb128 near 2^32 plus its length overflows.
                let end = used.checked_add(len).ok_or(CodecError::Malformed)?;
                let body = rest.get(used..end).ok_or(CodecError::Malformed)?;
                rest = rest.get(end..).unwrap_or_default();
                Ok(body)
            })
        };
        if element.is_err() {
            rest = &[];
        }
        Some(element.and_then(|e| {
            if e.is_empty() {
                Err(CodecError::Malformed)
            } else {
                Ok(e)
            }
        }))
    })
}

impl Depacketizer for Av1Depacketizer {
    /// A payload starts a frame when its first element starts an OBU (Z clear); it is a
    /// keyframe's when N is set.
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        let &header = payload.first().ok_or(CodecError::Malformed)?;
        // N only on a payload that starts an OBU; no payload without an element.
        if (header & Z != 0 && header & N != 0) || payload.len() < 2 {
            return Err(CodecError::Malformed);
        }
        for element in elements(payload) {
            element?;
        }
        Ok(PayloadInfo {
            starts_frame: header & Z == 0,
            keyframe: header & N != 0,
        })
    }

    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError> {
        let info = self.inspect(payload)?;
        let &header = payload.first().ok_or(CodecError::Malformed)?;
        let continues = header & Z != 0;
        if continues != self.open_obu.is_some() {
            // A continuation without its start, or a new OBU while one is open: a payload
            // between was lost.
            return Err(CodecError::Malformed);
        }
        if !self.started {
            frame.extend(&TEMPORAL_DELIMITER)?;
            self.started = true;
            self.keyframe = info.keyframe;
        }
        let count = elements(payload).count();
        for (i, element) in elements(payload).enumerate() {
            let element = element?;
            let start = match self.open_obu.take() {
                Some(start) if i == 0 => start,
                _ => frame.len(),
            };
            frame.extend(element)?;
            if i + 1 == count && header & Y != 0 {
                self.open_obu = Some(start);
            } else {
                Self::close_obu(frame, start)?;
            }
        }
        Ok(())
    }

    /// The frame is a keyframe when its first payload had N set.
    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        let done = self.started && self.open_obu.is_none();
        let info = FrameInfo {
            len: frame.len(),
            keyframe: self.keyframe,
        };
        self.reset();
        if done {
            Ok(info)
        } else {
            Err(CodecError::Incomplete)
        }
    }

    fn reset(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_round_trip() {
        for v in [0usize, 1, 127, 128, 300, 16_383, 16_384, 1 << 28] {
            let mut buf = [0u8; 10];
            let mut w = Writer::new(&mut buf);
            write_leb128(&mut w, v);
            let n = w.finish().unwrap();
            assert_eq!(n, leb128_len(v));
            assert_eq!(read_leb128(&buf[..n]).unwrap(), (v, n));
        }
        assert_eq!(read_leb128(&[0x80; 9]), Err(CodecError::Malformed));
    }
}
