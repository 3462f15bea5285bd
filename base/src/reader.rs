//! A checked cursor over received bytes.

use core::fmt;

/// Why a [`Reader`] could not give what was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ReadError {
    /// The input ended before the field did.
    Truncated,
    /// [`Reader::finish`] found bytes after the last field.
    TrailingBytes,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadError::Truncated => "input ends inside a field",
            ReadError::TrailingBytes => "bytes after the last field",
        })
    }
}

impl core::error::Error for ReadError {}

/// A big-endian reader over a byte slice that never reads out of bounds.
///
/// Every read either returns the whole field and advances, or returns
/// [`ReadError::Truncated`] and leaves the cursor where it was. Slices it returns borrow the
/// input, so a parsed view holds no copies.
///
/// ```
/// use peerless_base::{ReadError, Reader};
/// let mut r = Reader::new(&[0x00, 0x01, 0x00, 0x02, 0xab, 0xcd, 0xee]);
/// assert_eq!(r.u16()?, 1);
/// let len = usize::from(r.u16()?);
/// let mut value = r.sub(len)?;   // a length-prefixed field
/// assert_eq!(value.take(2)?, &[0xab, 0xcd]);
/// value.finish()?;
/// assert_eq!(r.rest(), &[0xee]);
/// # Ok::<(), ReadError>(())
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reader<'a> {
    input: &'a [u8],
    position: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `input`.
    #[must_use]
    pub const fn new(input: &'a [u8]) -> Self {
        Reader { input, position: 0 }
    }

    /// Bytes consumed so far.
    #[must_use]
    pub const fn position(&self) -> usize {
        self.position
    }

    /// Bytes not yet consumed.
    #[must_use]
    pub const fn remaining(&self) -> usize {
        self.input.len() - self.position
    }

    /// Whether every byte has been consumed.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The whole input, consumed or not.
    #[must_use]
    pub const fn input(&self) -> &'a [u8] {
        self.input
    }

    /// The unconsumed bytes, without consuming them.
    #[must_use]
    pub fn peek_rest(&self) -> &'a [u8] {
        self.input.get(self.position..).unwrap_or_default()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], ReadError> {
        let end = self.position.checked_add(n).ok_or(ReadError::Truncated)?;
        let bytes = self
            .input
            .get(self.position..end)
            .ok_or(ReadError::Truncated)?;
        self.position = end;
        Ok(bytes)
    }

    /// The next `N` bytes as an array.
    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], ReadError> {
        let bytes = self.take(N)?;
        let mut array = [0u8; N];
        array.copy_from_slice(bytes);
        Ok(array)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<(), ReadError> {
        self.take(n).map(|_| ())
    }

    /// A reader over the next `n` bytes (a length-delimited field), consumed from this one.
    pub fn sub(&mut self, n: usize) -> Result<Reader<'a>, ReadError> {
        self.take(n).map(Reader::new)
    }

    /// Everything not yet consumed; the reader is empty afterwards.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.peek_rest();
        self.position = self.input.len();
        rest
    }

    /// Succeeds only if every byte has been consumed.
    pub fn finish(self) -> Result<(), ReadError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(ReadError::TrailingBytes)
        }
    }

    /// The next byte, without consuming it.
    pub fn peek_u8(&self) -> Result<u8, ReadError> {
        self.input
            .get(self.position)
            .copied()
            .ok_or(ReadError::Truncated)
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, ReadError> {
        Ok(self.uint::<1>()? as u8)
    }

    /// A big-endian 16-bit integer.
    pub fn u16(&mut self) -> Result<u16, ReadError> {
        Ok(self.uint::<2>()? as u16)
    }

    /// A big-endian 24-bit integer (TLS lengths, DTLS fragment offsets).
    pub fn u24(&mut self) -> Result<u32, ReadError> {
        Ok(self.uint::<3>()? as u32)
    }

    /// A big-endian 32-bit integer.
    pub fn u32(&mut self) -> Result<u32, ReadError> {
        Ok(self.uint::<4>()? as u32)
    }

    /// A big-endian 48-bit integer (DTLS record sequence numbers).
    pub fn u48(&mut self) -> Result<u64, ReadError> {
        self.uint::<6>()
    }

    /// A big-endian 64-bit integer.
    pub fn u64(&mut self) -> Result<u64, ReadError> {
        self.uint::<8>()
    }

    fn uint<const N: usize>(&mut self) -> Result<u64, ReadError> {
        let bytes = self.take_array::<N>()?;
        Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_width_big_endian() {
        let bytes = [
            0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
            0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
        ];
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8(), Ok(0x01));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.u24(), Ok(0x04_0506));
        assert_eq!(r.u32(), Ok(0x0708_090a));
        assert_eq!(r.u48(), Ok(0x0b0c_0d0e_0f10));
        assert_eq!(r.u64(), Ok(0x1112_1314_1516_1718));
        assert!(r.is_empty());
        assert_eq!(r.position(), 24);
        assert_eq!(r.finish(), Ok(()));
    }

    #[test]
    fn a_short_read_fails_and_consumes_nothing() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u32(), Err(ReadError::Truncated));
        assert_eq!(r.position(), 0);
        assert_eq!(r.take(usize::MAX), Err(ReadError::Truncated));
        assert_eq!(r.take_array::<2>(), Ok([1, 2]));
        assert_eq!(r.peek_u8(), Ok(3));
        assert_eq!(r.u16(), Err(ReadError::Truncated));
        assert_eq!(r.clone().finish(), Err(ReadError::TrailingBytes));
        assert_eq!(r.rest(), &[3]);
        assert_eq!(r.peek_u8(), Err(ReadError::Truncated));
        assert_eq!(r.rest(), &[] as &[u8]);
    }

    #[test]
    fn sub_reader_is_bounded_and_consumed() {
        let mut r = Reader::new(&[2, 0xaa, 0xbb, 0xcc]);
        let len = usize::from(r.u8().unwrap());
        let mut field = r.sub(len).unwrap();
        assert_eq!(field.u16(), Ok(0xaabb));
        assert_eq!(field.u8(), Err(ReadError::Truncated));
        assert_eq!(r.peek_rest(), &[0xcc]);
        assert_eq!(r.sub(2).map(|s| s.remaining()), Err(ReadError::Truncated));
        r.skip(1).unwrap();
        assert_eq!(r.input().len(), 4);
        assert!(r.finish().is_ok());
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_reads_never_panic(input in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
                                       ops in proptest::collection::vec(0u8..10, 0..32)) {
            let mut r = Reader::new(&input);
            for op in ops {
                let before = r.position();
                let ok = match op {
                    0 => r.u8().is_ok(),
                    1 => r.u16().is_ok(),
                    2 => r.u24().is_ok(),
                    3 => r.u32().is_ok(),
                    4 => r.u48().is_ok(),
                    5 => r.u64().is_ok(),
                    6 => r.take(5).is_ok(),
                    7 => r.sub(3).is_ok(),
                    8 => r.skip(7).is_ok(),
                    _ => { r.rest(); true }
                };
                proptest::prop_assert!(r.position() <= input.len());
                if !ok { proptest::prop_assert_eq!(r.position(), before); }
            }
        }
    }
}
