//! VP8 over RTP (RFC 7741).
//!
//! ```text
//!   frame (as in IVF) ──Vp8Packetizer──▶ [descriptor | bytes 0..n] [descriptor | n..2n] … (marker on the last)
//!
//!   payload descriptor (§4.2):
//!        0 1 2 3 4 5 6 7
//!       +-+-+-+-+-+-+-+-+
//!       |X|R|N|S|R| PID |  S: a partition starts here; S=1 with PID=0 starts the frame
//!       +-+-+-+-+-+-+-+-+
//!   X:  |I|L|T|K| RSV   |
//!       +-+-+-+-+-+-+-+-+
//!   I:  |M| PictureID   |  M=1: a 15-bit picture id over two octets
//!       +-+-+-+-+-+-+-+-+
//!   L:  |   TL0PICIDX   |
//!       +-+-+-+-+-+-+-+-+
//!  T/K: |TID|Y| KEYIDX  |
//!       +-+-+-+-+-+-+-+-+
//!
//!   the frame's first octet (VP8 payload header, §4.3): |Size0|H| VER |P|  P=0: keyframe
//! ```
//!
//! The packetizer cuts the frame into equal slices (the last one shorter). With
//! [`Vp8Config::partitions`] it also reads the frame header, as GStreamer's `rtpvp8pay` does,
//! to label each payload with the partition its first octet belongs to and set S where a
//! partition starts; without it every payload has PID 0 and only the first has S, as
//! libwebrtc sends. Both are valid RFC 7741; receivers need neither.

use super::{
    CodecError, Depacketizer, FrameBuf, FrameInfo, Packetizer, Packets, Payload, PayloadInfo,
};

/// How the picture id is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PictureIdMode {
    /// No picture id (and no extension octet).
    None,
    /// A 7-bit picture id (M clear).
    Bits7,
    /// A 15-bit picture id (M set): what browsers send.
    Bits15,
}

impl PictureIdMode {
    fn wrap(self, id: u16) -> u16 {
        match self {
            PictureIdMode::None => 0,
            PictureIdMode::Bits7 => id & 0x7f,
            PictureIdMode::Bits15 => id & 0x7fff,
        }
    }
}

/// What a [`Vp8Packetizer`] writes besides the media.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp8Config {
    /// The picture id's width.
    pub picture_id: PictureIdMode,
    /// The first frame's picture id (wrapped to the mode's width); each frame adds one.
    pub first_picture_id: u16,
    /// Label payloads with their partition index (PID) and set S at partition starts.
    pub partitions: bool,
}

impl Default for Vp8Config {
    fn default() -> Self {
        Vp8Config {
            picture_id: PictureIdMode::Bits15,
            first_picture_id: 0,
            partitions: false,
        }
    }
}

/// The payload descriptor of one VP8 payload (RFC 7741 §4.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp8Descriptor {
    /// N: the frame is not used as a reference.
    pub non_reference: bool,
    /// S: the first octet of the payload starts a partition.
    pub partition_start: bool,
    /// PID: the partition index of the first octet.
    pub partition_index: u8,
    /// I: the picture id, 7 or 15 bits wide as [`Vp8Descriptor::long_picture_id`] says.
    pub picture_id: Option<u16>,
    /// M: the picture id is 15 bits wide.
    pub long_picture_id: bool,
    /// L: TL0PICIDX, the running index of the base temporal layer's frames.
    pub tl0_pic_idx: Option<u8>,
    /// T: TID, the temporal layer.
    pub temporal_layer: Option<u8>,
    /// Y: the frame depends only on the base layer (with T).
    pub layer_sync: bool,
    /// K: KEYIDX, the running index of keyframes.
    pub key_idx: Option<u8>,
}

impl Vp8Descriptor {
    /// Reads the descriptor at the start of `payload`; returns it and the media after it.
    ///
    /// # Errors
    ///
    /// [`CodecError::Malformed`] when the payload ends inside the descriptor.
    pub fn parse(payload: &[u8]) -> Result<(Vp8Descriptor, &[u8]), CodecError> {
        let mut at = 0usize;
        let mut octet = || -> Result<u8, CodecError> {
            let b = payload.get(at).copied().ok_or(CodecError::Malformed)?;
            at += 1;
            Ok(b)
        };
        let first = octet()?;
        let mut d = Vp8Descriptor {
            non_reference: first & 0x20 != 0,
            partition_start: first & 0x10 != 0,
            partition_index: first & 0x07,
            ..Vp8Descriptor::default()
        };
        if first & 0x80 != 0 {
            let ext = octet()?;
            if ext & 0x80 != 0 {
                let high = octet()?;
                if high & 0x80 != 0 {
                    d.long_picture_id = true;
                    d.picture_id = Some(u16::from(high & 0x7f) << 8 | u16::from(octet()?));
                } else {
                    d.picture_id = Some(u16::from(high));
                }
            }
            if ext & 0x40 != 0 {
                d.tl0_pic_idx = Some(octet()?);
            }
            // T and K share one octet; either one brings it.
            if ext & 0x30 != 0 {
                let tk = octet()?;
                if ext & 0x20 != 0 {
                    d.temporal_layer = Some(tk >> 6);
                    d.layer_sync = tk & 0x20 != 0;
                }
                if ext & 0x10 != 0 {
                    d.key_idx = Some(tk & 0x1f);
                }
            }
        }
        let media = payload.get(at..).ok_or(CodecError::Malformed)?;
        Ok((d, media))
    }

    /// How many octets [`Vp8Descriptor::emit`] writes.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        let pid = match self.picture_id {
            None => 0,
            Some(_) if self.long_picture_id => 2,
            Some(_) => 1,
        };
        let l = usize::from(self.tl0_pic_idx.is_some());
        let tk = usize::from(self.temporal_layer.is_some() || self.key_idx.is_some());
        let ext = pid + l + tk;
        1 + if ext > 0 { 1 + ext } else { 0 }
    }

    /// Writes the descriptor at the start of `out`; returns its length.
    ///
    /// # Errors
    ///
    /// [`CodecError::BufferTooSmall`] when `out` is shorter than [`Vp8Descriptor::encoded_len`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, CodecError> {
        // Built in a register-sized array and copied once: the descriptor is at most six
        // octets and is written for every payload.
        let mut bytes = [0u8; 6];
        let mut len = 0;
        let mut push = |b: u8| {
            if let Some(slot) = bytes.get_mut(len) {
                *slot = b;
            }
            len += 1;
        };
        let first = u8::from(self.non_reference) << 5
            | u8::from(self.partition_start) << 4
            | (self.partition_index & 0x07);
        let has_tk = self.temporal_layer.is_some() || self.key_idx.is_some();
        let ext = u8::from(self.picture_id.is_some()) << 7
            | u8::from(self.tl0_pic_idx.is_some()) << 6
            | u8::from(self.temporal_layer.is_some()) << 5
            | u8::from(self.key_idx.is_some()) << 4;
        if ext == 0 {
            push(first);
        } else {
            push(first | 0x80);
            push(ext);
        }
        match self.picture_id {
            Some(id) if self.long_picture_id => {
                let [high, low] = (0x8000 | (id & 0x7fff)).to_be_bytes();
                push(high);
                push(low);
            }
            Some(id) => push((id & 0x7f) as u8),
            None => {}
        }
        if let Some(tl0) = self.tl0_pic_idx {
            push(tl0);
        }
        if has_tk {
            let tid = self.temporal_layer.map_or(0, |t| (t & 0x03) << 6);
            let sync = if self.temporal_layer.is_some() {
                u8::from(self.layer_sync) << 5
            } else {
                0
            };
            push(tid | sync | self.key_idx.unwrap_or(0) & 0x1f);
        }
        let written = bytes
            .get(..len)
            .ok_or(CodecError::BufferTooSmall { needed: len })?;
        out.get_mut(..len)
            .ok_or(CodecError::BufferTooSmall { needed: len })?
            .copy_from_slice(written);
        Ok(len)
    }
}

/// Turns VP8 frames into RTP payloads, numbering the frames with picture ids.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp8Packetizer {
    config: Vp8Config,
    next_picture_id: u16,
}

impl Vp8Packetizer {
    /// A packetizer whose first frame gets `config.first_picture_id`.
    #[must_use]
    pub fn new(config: Vp8Config) -> Self {
        Vp8Packetizer {
            config,
            next_picture_id: config.picture_id.wrap(config.first_picture_id),
        }
    }

    /// The picture id the next frame will carry (`None` without picture ids).
    #[must_use]
    pub fn next_picture_id(&self) -> Option<u16> {
        (self.config.picture_id != PictureIdMode::None).then_some(self.next_picture_id)
    }
}

impl Default for Vp8Packetizer {
    fn default() -> Self {
        Vp8Packetizer::new(Vp8Config::default())
    }
}

impl Packetizer for Vp8Packetizer {
    type Packets<'a> = Vp8Packets<'a>;

    fn packetize<'a>(
        &'a mut self,
        frame: &'a [u8],
        max_payload: usize,
    ) -> Result<Vp8Packets<'a>, CodecError> {
        if frame.is_empty() {
            return Err(CodecError::Malformed);
        }
        let mode = self.config.picture_id;
        let descriptor = Vp8Descriptor {
            picture_id: (mode != PictureIdMode::None).then_some(self.next_picture_id),
            long_picture_id: mode == PictureIdMode::Bits15,
            ..Vp8Descriptor::default()
        };
        let media_per_payload = max_payload
            .checked_sub(descriptor.encoded_len())
            .filter(|&n| n > 0)
            .ok_or(CodecError::PayloadTooSmall)?;
        let partitions = if self.config.partitions {
            Partitions::of(frame).unwrap_or_else(Partitions::whole)
        } else {
            Partitions::whole()
        };
        self.next_picture_id = mode.wrap(self.next_picture_id.wrapping_add(1));
        Ok(Vp8Packets {
            frame,
            offset: 0,
            media_per_payload,
            descriptor,
            partitions,
        })
    }
}

/// One VP8 frame's payloads; see [`Vp8Packetizer`].
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp8Packets<'a> {
    frame: &'a [u8],
    offset: usize,
    media_per_payload: usize,
    descriptor: Vp8Descriptor,
    partitions: Partitions,
}

impl Packets for Vp8Packets<'_> {
    fn next_payload(&mut self, out: &mut [u8]) -> Option<Result<Payload, CodecError>> {
        let rest = self.frame.get(self.offset..).filter(|r| !r.is_empty())?;
        let media = rest.get(..self.media_per_payload).unwrap_or(rest);
        let (index, start) = self.partitions.at(self.offset);
        let descriptor = Vp8Descriptor {
            partition_start: start,
            partition_index: index,
            ..self.descriptor
        };
        let header = descriptor.encoded_len();
        let needed = header + media.len();
        let Some(room) = out.get_mut(..needed) else {
            return Some(Err(CodecError::BufferTooSmall { needed }));
        };
        let (head, body) = room.split_at_mut(header);
        if let Err(e) = descriptor.emit(head) {
            return Some(Err(e));
        }
        body.copy_from_slice(media);
        self.offset += media.len();
        Some(Ok(Payload {
            len: needed,
            marker: self.offset == self.frame.len(),
        }))
    }
}

/// Where a frame's partitions start (RFC 6386 §9): partition 0 is the frame header, the
/// first partition and the table of token partition sizes; then one per token partition.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Partitions {
    starts: [usize; 9],
    count: usize,
}

impl Partitions {
    fn whole() -> Self {
        Partitions {
            starts: [0; 9],
            count: 1,
        }
    }

    /// The partition an offset falls in (capped at 7, the largest PID) and whether it starts
    /// there.
    fn at(&self, offset: usize) -> (u8, bool) {
        let starts = self.starts.get(..self.count).unwrap_or_default();
        let index = starts.iter().rposition(|&s| s <= offset).unwrap_or(0);
        let start = starts.get(index) == Some(&offset);
        ((index.min(7)) as u8, start)
    }

    /// Reads the frame header up to the token partition count; `None` when the frame is
    /// too short for what it declares.
    fn of(frame: &[u8]) -> Option<Partitions> {
        let tag = frame.get(..3)?;
        let keyframe = tag.first()? & 0x01 == 0;
        let first_size = (usize::from(*tag.get(2)?) << 11)
            | (usize::from(*tag.get(1)?) << 3)
            | usize::from(tag.first()? >> 5);
        let header = if keyframe { 10 } else { 3 };
        let mut bits = BoolDecoder::new(frame.get(header..)?);
        if keyframe {
            bits.literal(2); // colour space, clamping type
        }
        if bits.flag() {
            // segmentation
            let update_map = bits.flag();
            if bits.flag() {
                bits.literal(1); // segment feature mode
                for _ in 0..4 {
                    if bits.flag() {
                        bits.literal(8); // quantizer: 7 bits and a sign
                    }
                }
                for _ in 0..4 {
                    if bits.flag() {
                        bits.literal(7); // loop filter: 6 bits and a sign
                    }
                }
            }
            if update_map {
                for _ in 0..3 {
                    if bits.flag() {
                        bits.literal(8);
                    }
                }
            }
        }
        bits.literal(1 + 6 + 3); // filter type, level, sharpness
        if bits.flag() && bits.flag() {
            // loop filter deltas
            for _ in 0..8 {
                if bits.flag() {
                    bits.literal(7);
                }
            }
        }
        let tokens = 1usize << bits.literal(2);
        let table = header + first_size;
        let mut p = Partitions {
            starts: [0; 9],
            count: tokens + 1,
        };
        let mut start = table + (tokens - 1) * 3;
        for i in 0..tokens {
            if start >= frame.len() {
                return None;
            }
            *p.starts.get_mut(i + 1)? = start;
            if i + 1 < tokens {
                let size = frame.get(table + i * 3..table + i * 3 + 3)?;
                start += usize::from(*size.first()?)
                    | usize::from(*size.get(1)?) << 8
                    | usize::from(*size.get(2)?) << 16;
            }
        }
        Some(p)
    }
}

/// The boolean entropy decoder of RFC 6386 §7, only as far as the frame header needs it.
/// Reads past the end as zeros: a short frame then fails the partition bounds check.
struct BoolDecoder<'a> {
    input: &'a [u8],
    at: usize,
    value: u32,
    range: u32,
    bit_count: u32,
}

impl<'a> BoolDecoder<'a> {
    fn new(input: &'a [u8]) -> Self {
        let mut d = BoolDecoder {
            input,
            at: 0,
            value: 0,
            range: 255,
            bit_count: 0,
        };
        d.value = u32::from(d.next_octet()) << 8 | u32::from(d.next_octet());
        d
    }

    fn next_octet(&mut self) -> u8 {
        let b = self.input.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }

    /// One bool at probability 1/2 (the header's flags and literals).
    fn flag(&mut self) -> bool {
        let split = 1 + (((self.range - 1) * 128) >> 8);
        let big_split = split << 8;
        let bit = if self.value >= big_split {
            self.range -= split;
            self.value -= big_split;
            true
        } else {
            self.range = split;
            false
        };
        while self.range < 128 {
            self.value <<= 1;
            self.range <<= 1;
            self.bit_count += 1;
            if self.bit_count == 8 {
                self.bit_count = 0;
                self.value |= u32::from(self.next_octet());
            }
        }
        bit
    }

    /// An unsigned `n`-bit literal, most significant bit first.
    fn literal(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |v, _| v << 1 | u32::from(self.flag()))
    }
}

/// Rebuilds VP8 frames from payloads and reports their descriptors.
#[derive(Clone, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Vp8Depacketizer {
    frame: Option<FrameState>,
    last: Option<Vp8Descriptor>,
}

#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct FrameState {
    keyframe: bool,
    picture_id: Option<u16>,
}

impl Vp8Depacketizer {
    /// A depacketizer waiting for a frame's first payload.
    #[must_use]
    pub fn new() -> Self {
        Vp8Depacketizer::default()
    }

    /// The descriptor of the last payload pushed: picture id, temporal layer, TL0PICIDX.
    #[must_use]
    pub fn last_descriptor(&self) -> Option<Vp8Descriptor> {
        self.last
    }
}

fn starts_frame(d: &Vp8Descriptor) -> bool {
    d.partition_start && d.partition_index == 0
}

impl Depacketizer for Vp8Depacketizer {
    fn inspect(&self, payload: &[u8]) -> Result<PayloadInfo, CodecError> {
        let (d, media) = Vp8Descriptor::parse(payload)?;
        let starts = starts_frame(&d);
        let keyframe = starts && media.first().ok_or(CodecError::Malformed)? & 0x01 == 0;
        Ok(PayloadInfo {
            starts_frame: starts,
            keyframe,
        })
    }

    fn push(&mut self, payload: &[u8], frame: &mut FrameBuf<'_>) -> Result<(), CodecError> {
        let (d, media) = Vp8Descriptor::parse(payload)?;
        match (self.frame, starts_frame(&d)) {
            (None, true) => {
                let keyframe = media.first().ok_or(CodecError::Malformed)? & 0x01 == 0;
                frame.extend(media)?;
                self.frame = Some(FrameState {
                    keyframe,
                    picture_id: d.picture_id,
                });
            }
            // A continuation of the frame being built, from the same picture.
            (Some(state), false) if state.picture_id == d.picture_id => frame.extend(media)?,
            // The frame's start was lost, a second start, or another picture's payload.
            _ => return Err(CodecError::Malformed),
        }
        self.last = Some(d);
        Ok(())
    }

    fn finish(&mut self, frame: &mut FrameBuf<'_>) -> Result<FrameInfo, CodecError> {
        let state = self.frame.take().ok_or(CodecError::Incomplete)?;
        Ok(FrameInfo {
            len: frame.len(),
            keyframe: state.keyframe,
        })
    }

    fn reset(&mut self) {
        self.frame = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_round_trips_every_optional_field() {
        let d = Vp8Descriptor {
            non_reference: true,
            partition_start: true,
            partition_index: 3,
            picture_id: Some(0x1234),
            long_picture_id: true,
            tl0_pic_idx: Some(9),
            temporal_layer: Some(2),
            layer_sync: true,
            key_idx: Some(17),
        };
        let mut buf = [0u8; 8];
        let n = d.emit(&mut buf).unwrap();
        assert_eq!(&buf[..n], &[0xb3, 0xf0, 0x92, 0x34, 9, 0xb1]);
        buf[n] = 0xaa;
        let (back, media) = Vp8Descriptor::parse(&buf[..=n]).unwrap();
        assert_eq!(back, d);
        assert_eq!(media, &[0xaa]);
    }

    #[test]
    fn rfc7741_example_short_descriptor() {
        // X=0, S=1, PID=0 followed by a keyframe's first octets.
        let (d, media) = Vp8Descriptor::parse(&[0x10, 0x50, 0x2b, 0x00]).unwrap();
        assert!(d.partition_start && d.picture_id.is_none());
        assert_eq!(media, &[0x50, 0x2b, 0x00]);
    }

    #[test]
    fn truncated_descriptors_are_malformed() {
        for p in [
            &[][..],
            &[0x80],
            &[0x80, 0x80],
            &[0x80, 0x80, 0x80],
            &[0x80, 0x40],
        ] {
            assert_eq!(
                Vp8Descriptor::parse(p).err(),
                Some(CodecError::Malformed),
                "{p:?}"
            );
        }
    }
}
