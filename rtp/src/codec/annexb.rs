//! Annex-B byte streams (H.264 and H.265 Annex B): NAL units behind start codes.
//!
//! ```text
//!   [00] 00 00 01 <NAL unit> [00 …] 00 00 01 <NAL unit> …
//!   ╰ 4-byte start code ╯    ╰ trailing zeros belong to no unit
//! ```
//!
//! A start code never occurs inside a NAL unit (emulation prevention bytes make sure), so a
//! scan for `00 00 01` finds every boundary.

use super::CodecError;

/// The 4-byte start code written before each NAL unit of a rebuilt frame.
pub(crate) const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The NAL units of an Annex-B byte stream, in order, without their start codes and trailing
/// zero bytes. Empty units (two start codes in a row) are skipped.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NalUnits<'a> {
    /// What follows the last start code found.
    rest: &'a [u8],
}

impl<'a> NalUnits<'a> {
    /// The units of `stream`, which must open with a start code (3 or 4 bytes, after any
    /// number of zero bytes).
    ///
    /// # Errors
    ///
    /// [`CodecError::Malformed`] when `stream` does not open with a start code.
    pub fn new(stream: &'a [u8]) -> Result<Self, CodecError> {
        let at = find_start_code(stream).ok_or(CodecError::Malformed)?;
        let (lead, after) = stream.split_at(at);
        if lead.iter().any(|&b| b != 0) {
            return Err(CodecError::Malformed);
        }
        Ok(NalUnits {
            rest: after.get(3..).unwrap_or_default(),
        })
    }
}

impl<'a> Iterator for NalUnits<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        while !self.rest.is_empty() {
            let (unit, rest) = match find_start_code(self.rest) {
                Some(at) => {
                    let (unit, after) = self.rest.split_at(at);
                    (unit, after.get(3..).unwrap_or_default())
                }
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            let end = unit
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |last| last + 1);
            if let Some(unit) = unit.get(..end).filter(|u| !u.is_empty()) {
                return Some(unit);
            }
        }
        None
    }
}

/// Where the first `00 00 01` in `data` starts.
fn find_start_code(data: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let at = |p: usize| data.get(p..p + 3) == Some(&[0, 0, 1][..]);
    let mut i = 0;
    // Eight bytes at a time: a start code begins with a zero byte, so a word without one
    // (the classic has-zero-byte test) holds no start of one.
    while let Some(word) = data.get(i..i + 8) {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let v = u64::from_le_bytes(bytes);
        if v.wrapping_sub(ONES) & !v & HIGHS != 0
            && let Some(p) = (i..i + 8).find(|&p| at(p))
        {
            return Some(p);
        }
        i += 8;
    }
    (i..data.len()).find(|&p| at(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec;

    fn units(stream: &[u8]) -> std::vec::Vec<&[u8]> {
        NalUnits::new(stream).unwrap().collect()
    }

    #[test]
    fn three_and_four_byte_start_codes() {
        let s = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        assert_eq!(units(&s), [&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 4, 5]]);
    }

    #[test]
    fn trailing_zeros_and_empty_units_dropped() {
        let s = [
            0, 0, 1, 0x09, 0xf0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0x41, 7, 0, 0,
        ];
        assert_eq!(units(&s), [&[0x09, 0xf0][..], &[0x41, 7]]);
    }

    #[test]
    fn stream_must_open_with_a_start_code() {
        assert_eq!(
            NalUnits::new(&[0x67, 0, 0, 1, 0x68]).err(),
            Some(CodecError::Malformed)
        );
        assert_eq!(NalUnits::new(&[0, 0]).err(), Some(CodecError::Malformed));
        assert_eq!(NalUnits::new(&[]).err(), Some(CodecError::Malformed));
    }

    #[test]
    fn start_code_at_every_offset_and_across_words() {
        for at in 0..20 {
            let mut s = vec![7u8; 24];
            s[at..at + 3].copy_from_slice(&[0, 0, 1]);
            assert_eq!(find_start_code(&s), Some(at), "at {at}");
            // Zeros that start no code do not hide the one after them.
            let mut z = vec![0u8, 5, 0, 0, 2, 0, 9, 0];
            z.extend(vec![3u8; at]);
            z.extend([0, 0, 1, 4]);
            assert_eq!(find_start_code(&z), Some(8 + at), "after zeros, at {at}");
        }
        assert_eq!(find_start_code(&[0, 0]), None);
        assert_eq!(find_start_code(&[9; 30]), None);
    }

    proptest::proptest! {
        #[test]
        fn finds_what_a_plain_scan_finds(
            data in proptest::collection::vec(proptest::sample::select(vec![0u8, 0, 1, 3, 0x65]), 0..80),
        ) {
            let plain = data.windows(3).position(|w| w == [0, 0, 1]);
            proptest::prop_assert_eq!(find_start_code(&data), plain);
        }
    }

    #[test]
    fn start_code_found_after_skipping() {
        // 0x02 at the third position moves the scan by three; a start code right after it
        // must still be seen.
        let s = [0, 0, 1, 5, 5, 2, 0, 0, 1, 9];
        assert_eq!(units(&s), [&[5, 5, 2][..], &[9]]);
    }
}
