//! Access units out of an Annex-B H.264 or H.265 byte stream (`.h264`, `.h265` files), so a
//! sender can hand the packetizer one picture at a time.
//!
//! ```text
//!   00 00 00 01 AUD | SPS | PPS | SEI | slice (first) | slice | 00 00 01 SEI | slice (first) …
//!   ╰───────────────────── access unit ──────────────────────╯ ╰────── next access unit ──────
//!
//!   after a picture's slices, a new unit starts at
//!     H.264 (7.4.1.2.3): AUD 9, SPS 7, PPS 8, SEI 6, types 14-18,
//!                        or a slice with first_mb_in_slice 0
//!     H.265 (7.4.2.4.4): AUD 35, VPS 32, SPS 33, PPS 34, prefix SEI 39, types 41-44 and 48-55,
//!                        or a slice with first_slice_segment_in_pic_flag 1 (layer 0 only)
//! ```
//!
//! A picture's first slice is recognised by its first slice header field alone: for H.264 that
//! is `first_mb_in_slice == 0`, which holds for every stream without arbitrary slice order or
//! redundant pictures (neither of which WebRTC's profiles use); H.265 signals it directly.
//! Units after the last slice that do not start a picture (end of sequence, filler, suffix SEI)
//! stay with the picture before them.

use crate::codec::CodecError;
use crate::codec::annexb::NalUnits;

/// Which NAL unit syntax the stream uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum NalCodec {
    /// ITU-T H.264: one-octet NAL header.
    H264,
    /// ITU-T H.265: two-octet NAL header.
    H265,
}

/// How one NAL unit bears on the access unit boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// A slice that opens a picture.
    FirstSlice,
    /// A further slice of the current picture.
    Slice,
    /// A unit that opens a new access unit when it follows a picture's slices.
    Prefix,
    /// A unit that belongs to the access unit it follows.
    Other,
}

impl NalCodec {
    fn role(self, unit: &[u8]) -> Role {
        let first_bit = |at: usize| unit.get(at).is_some_and(|b| b & 0x80 != 0);
        let h = unit.first().copied().unwrap_or(0);
        match self {
            NalCodec::H264 => match h & 0x1f {
                // first_mb_in_slice is the first ue(v) of the slice header: 0 codes as a
                // single 1 bit.
                1..=5 if first_bit(1) => Role::FirstSlice,
                1..=5 => Role::Slice,
                6..=9 | 14..=18 => Role::Prefix,
                _ => Role::Other,
            },
            NalCodec::H265 => {
                let layer =
                    (u16::from(h & 1) << 5) | u16::from(unit.get(1).copied().unwrap_or(0) >> 3);
                match (h >> 1) & 0x3f {
                    // Units of other layers belong to the base layer's access unit.
                    _ if layer != 0 => Role::Other,
                    0..=31 if first_bit(2) => Role::FirstSlice,
                    0..=31 => Role::Slice,
                    32..=35 | 39 | 41..=44 | 48..=55 => Role::Prefix,
                    _ => Role::Other,
                }
            }
        }
    }

    fn is_keyframe(self, unit: &[u8]) -> bool {
        let h = unit.first().copied().unwrap_or(0);
        match self {
            NalCodec::H264 => h & 0x1f == 5,
            // IRAP pictures: BLA, IDR, CRA (16-21) and the reserved IRAP types 22-23.
            NalCodec::H265 => (16..=23).contains(&((h >> 1) & 0x3f)),
        }
    }
}

/// One access unit: its NAL units with their start codes, as they lie in the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AccessUnit<'a> {
    /// From the first unit's start code to the end of the last unit (Annex-B, as the H.264
    /// and H.265 packetizers take it).
    pub data: &'a [u8],
    /// It holds an IDR (H.264) or IRAP (H.265) picture.
    pub keyframe: bool,
}

/// The access units of an Annex-B stream held in memory, in order.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AccessUnits<'a> {
    stream: &'a [u8],
    units: NalUnits<'a>,
    /// A unit read ahead: the first of the next access unit.
    pending: Option<&'a [u8]>,
    codec: NalCodec,
}

impl<'a> AccessUnits<'a> {
    /// The access units of `stream`, which must open with a start code.
    ///
    /// # Errors
    ///
    /// [`CodecError::Malformed`] when `stream` does not open with a start code.
    pub fn new(stream: &'a [u8], codec: NalCodec) -> Result<Self, CodecError> {
        let mut units = NalUnits::new(stream)?;
        let pending = units.next();
        Ok(AccessUnits {
            stream,
            units,
            pending,
            codec,
        })
    }

    /// Where `unit` (a slice of `stream`) starts in `stream`.
    fn offset(&self, unit: &[u8]) -> usize {
        (unit.as_ptr() as usize).wrapping_sub(self.stream.as_ptr() as usize)
    }
}

impl<'a> Iterator for AccessUnits<'a> {
    type Item = AccessUnit<'a>;

    fn next(&mut self) -> Option<AccessUnit<'a>> {
        let first = self.pending.take()?;
        let mut last = first;
        let mut has_slice = matches!(self.codec.role(first), Role::FirstSlice | Role::Slice);
        let mut keyframe = self.codec.is_keyframe(first);
        for unit in self.units.by_ref() {
            let opens = match self.codec.role(unit) {
                Role::FirstSlice | Role::Prefix => has_slice,
                Role::Slice | Role::Other => false,
            };
            if opens {
                self.pending = Some(unit);
                break;
            }
            has_slice |= matches!(self.codec.role(unit), Role::FirstSlice | Role::Slice);
            keyframe |= self.codec.is_keyframe(unit);
            last = unit;
        }
        // Include the start code before the first unit, with its leading zero octet when the
        // stream has one (the 4-octet form H.264 B.1.2 asks for at an access unit's start).
        let start = self.offset(first);
        let start = match self.stream.get(start.saturating_sub(4)..start) {
            Some([0, 0, 0, 1]) => start - 4,
            _ => start.saturating_sub(3),
        };
        let end = self.offset(last).saturating_add(last.len());
        let data = self.stream.get(start..end).unwrap_or_default();
        Some(AccessUnit { data, keyframe })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    fn split(stream: &[u8], codec: NalCodec) -> Vec<(&[u8], bool)> {
        AccessUnits::new(stream, codec)
            .unwrap()
            .map(|au| (au.data, au.keyframe))
            .collect()
    }

    #[test]
    fn h264_parameter_sets_and_first_slices_open_units() {
        let s: &[u8] = &[
            0, 0, 0, 1, 0x67, 0x42, // SPS
            0, 0, 1, 0x68, 0xce, // PPS
            0, 0, 1, 0x65, 0x88, 1, // IDR, first_mb_in_slice 0
            0, 0, 1, 0x65, 0x40, 2, // IDR, a later slice of the same picture
            0, 0, 0, 1, 0x41, 0x9a, 3, // P, first slice: a new picture
            0, 0, 1, 0x06, 5, 0x80, // SEI: opens the next unit
            0, 0, 1, 0x41, 0x9a, 4, // P
            0, 0, 1, 0x0a, // end of sequence: stays with its picture
            0, 0, 0, 1, 0x09, 0xf0, // AUD
            0, 0, 1, 0x41, 0x9a, 5, 0, 0, // P, trailing zeros
        ];
        assert_eq!(
            split(s, NalCodec::H264),
            [
                (&s[..23], true),
                (&s[23..30], false),
                (&s[30..46], false),
                (&s[46..58], false),
            ]
        );
    }

    #[test]
    fn h265_first_slice_flag_and_prefix_units() {
        let s: &[u8] = &[
            0, 0, 0, 1, 0x40, 0x01, 0x0c, // VPS
            0, 0, 1, 0x42, 0x01, 0x01, // SPS
            0, 0, 1, 0x44, 0x01, 0xc1, // PPS
            0, 0, 1, 0x26, 0x01, 0xaf, // IDR_W_RADL, first slice segment
            0, 0, 1, 0x26, 0x01, 0x2f, // IDR_W_RADL, a later segment
            0, 0, 1, 0x50, 0x01, 0x01, // suffix SEI (40): stays
            0, 0, 1, 0x02, 0x01, 0xd0, // TRAIL_R, first slice segment
            0, 0, 1, 0x02, 0x09, 0x80, // TRAIL_R of layer 1: stays
            0, 0, 1, 0x4e, 0x01, 0x05, // prefix SEI (39): opens
            0, 0, 1, 0x02, 0x01, 0xd0, // TRAIL_R
        ];
        assert_eq!(
            split(s, NalCodec::H265),
            [(&s[..37], true), (&s[37..49], false), (&s[49..], false)]
        );
    }

    #[test]
    fn no_start_code_is_an_error() {
        assert!(AccessUnits::new(&[0x65, 1, 2], NalCodec::H264).is_err());
        assert_eq!(split(&[0, 0, 1], NalCodec::H264), []);
    }

    proptest::proptest! {
        #[test]
        fn units_cover_the_stream_in_order(
            units in proptest::collection::vec(
                (proptest::sample::select(
                    std::vec![0x09u8, 0x67, 0x68, 0x06, 0x65, 0x41, 0x01, 0x0c]),
                 proptest::num::u8::ANY, 1usize..6),
                1..30),
            four in proptest::collection::vec(proptest::bool::ANY, 30),
        ) {
            let mut s = Vec::new();
            for (i, (h, b, n)) in units.iter().enumerate() {
                if four[i] { s.push(0); }
                s.extend_from_slice(&[0, 0, 1, *h]);
                s.extend(core::iter::repeat_n(*b | 1, *n));
            }
            let aus: Vec<_> = AccessUnits::new(&s, NalCodec::H264).unwrap().collect();
            // Concatenated, the access units hold every NAL unit once, in order.
            let from_aus: Vec<&[u8]> = aus
                .iter()
                .flat_map(|au| NalUnits::new(au.data).unwrap())
                .collect();
            let all: Vec<&[u8]> = NalUnits::new(&s).unwrap().collect();
            proptest::prop_assert_eq!(from_aus, all);
            for au in &aus {
                proptest::prop_assert!(
                    au.data.starts_with(&[0, 0, 1]) || au.data.starts_with(&[0, 0, 0, 1]));
            }
        }
    }
}
