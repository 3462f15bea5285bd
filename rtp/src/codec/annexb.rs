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
    let mut i = 0;
    // A window whose third byte is above 1 cannot hold a start code at any of its three
    // positions, so the scan moves three bytes at a time through ordinary slice data.
    while let Some(&third) = data.get(i + 2) {
        if third > 1 {
            i += 3;
        } else if third == 1 && data.get(i..i + 2) == Some(&[0, 0][..]) {
            return Some(i);
        } else {
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn start_code_found_after_skipping() {
        // 0x02 at the third position moves the scan by three; a start code right after it
        // must still be seen.
        let s = [0, 0, 1, 5, 5, 2, 0, 0, 1, 9];
        assert_eq!(units(&s), [&[5, 5, 2][..], &[9]]);
    }
}
