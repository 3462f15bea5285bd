//! A checked cursor that emits into the caller's buffer.

use crate::BufferTooSmall;

/// A big-endian writer into `&mut [u8]` that never writes out of bounds.
///
/// Writing past the end does not fail each call: the writer remembers how far the output would
/// have gone and [`Writer::finish`] reports it once, as [`BufferTooSmall`] with the exact length
/// that would have been enough. Emit code therefore reads as a straight list of fields and the
/// caller learns the size to retry with.
///
/// ```
/// use peerless_base::{BufferTooSmall, Writer};
/// let mut buf = [0u8; 8];
/// let mut w = Writer::new(&mut buf);
/// w.u16(0x0001);
/// let length_at = w.position();
/// w.u16(0);                      // length, patched below
/// w.bytes(b"abc");
/// w.patch_u16(length_at, 3);
/// assert_eq!(w.finish(), Ok(7));
/// assert_eq!(&buf[..7], &[0, 1, 0, 3, b'a', b'b', b'c']);
///
/// let mut small = [0u8; 4];
/// let mut w = Writer::new(&mut small);
/// w.bytes(b"too long");
/// assert_eq!(w.finish(), Err(BufferTooSmall { needed: 8 }));
/// ```
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    /// Bytes emitted so far, counting those that did not fit.
    position: usize,
    /// End of the bytes actually in `buf`: `position` until the first write that did not fit.
    filled: usize,
}

impl<'a> Writer<'a> {
    /// A writer at the start of `buf`.
    #[must_use]
    pub fn new(buf: &'a mut [u8]) -> Self {
        Writer {
            buf,
            position: 0,
            filled: 0,
        }
    }

    /// Bytes emitted so far (including any that did not fit).
    #[must_use]
    pub const fn position(&self) -> usize {
        self.position
    }

    /// Whether some output did not fit.
    #[must_use]
    pub const fn is_overflowed(&self) -> bool {
        self.position > self.buf.len()
    }

    /// Room left in the buffer.
    #[must_use]
    pub const fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.position)
    }

    /// The capacity of the underlying buffer.
    #[must_use]
    pub const fn capacity(&self) -> usize {
        self.buf.len()
    }

    /// What has been written and fit, for computing a MAC or checksum over it.
    #[must_use]
    pub fn written(&self) -> &[u8] {
        self.buf.get(..self.filled).unwrap_or_default()
    }

    /// Mutable access to what has been written and fit.
    pub fn written_mut(&mut self) -> &mut [u8] {
        self.buf.get_mut(..self.filled).unwrap_or_default()
    }

    /// Appends `bytes`.
    pub fn bytes(&mut self, bytes: &[u8]) {
        if let Some(out) = self.reserve(bytes.len()) {
            out.copy_from_slice(bytes);
        }
    }

    /// Appends `n` copies of `byte` (padding).
    pub fn fill(&mut self, byte: u8, n: usize) {
        if let Some(out) = self.reserve(n) {
            out.fill(byte);
        }
    }

    /// Claims the next `n` bytes to be filled in place (a MAC computed later, a body written
    /// by another emitter). `None` if they do not fit; the claim is counted either way.
    pub fn reserve(&mut self, n: usize) -> Option<&mut [u8]> {
        let start = self.position;
        self.position = self.position.saturating_add(n);
        let out = self.buf.get_mut(start..self.position)?;
        self.filled = self.position;
        Some(out)
    }

    /// One byte.
    pub fn u8(&mut self, v: u8) {
        self.bytes(&[v]);
    }

    /// A big-endian 16-bit integer.
    pub fn u16(&mut self, v: u16) {
        self.bytes(&v.to_be_bytes());
    }

    /// A big-endian 24-bit integer (the low 24 bits of `v`).
    pub fn u24(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes()[1..]);
    }

    /// A big-endian 32-bit integer.
    pub fn u32(&mut self, v: u32) {
        self.bytes(&v.to_be_bytes());
    }

    /// A big-endian 48-bit integer (the low 48 bits of `v`).
    pub fn u48(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes()[2..]);
    }

    /// A big-endian 64-bit integer.
    pub fn u64(&mut self, v: u64) {
        self.bytes(&v.to_be_bytes());
    }

    /// Overwrites bytes written earlier at `at` (a length field known only at the end). Does
    /// nothing for bytes that did not fit: the overflow is already reported by `finish`.
    pub fn patch(&mut self, at: usize, bytes: &[u8]) {
        let end = at.saturating_add(bytes.len()).min(self.filled);
        if let Some(out) = self.buf.get_mut(at..end)
            && out.len() == bytes.len()
        {
            out.copy_from_slice(bytes);
        }
    }

    /// Overwrites a big-endian 16-bit integer written earlier at `at`.
    pub fn patch_u16(&mut self, at: usize, v: u16) {
        self.patch(at, &v.to_be_bytes());
    }

    /// Overwrites a big-endian 24-bit integer written earlier at `at`.
    pub fn patch_u24(&mut self, at: usize, v: u32) {
        self.patch(at, &v.to_be_bytes()[1..]);
    }

    /// Overwrites a big-endian 32-bit integer written earlier at `at`.
    pub fn patch_u32(&mut self, at: usize, v: u32) {
        self.patch(at, &v.to_be_bytes());
    }

    /// The number of bytes written, or the buffer length that would have held them all.
    pub fn finish(self) -> Result<usize, BufferTooSmall> {
        if self.is_overflowed() {
            Err(BufferTooSmall {
                needed: self.position,
            })
        } else {
            Ok(self.position)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Reader;

    #[test]
    fn writes_every_width_and_reads_back() {
        let mut buf = [0u8; 32];
        let mut w = Writer::new(&mut buf);
        w.u8(0x01);
        w.u16(0x0203);
        w.u24(0xff04_0506); // the top byte is not part of a u24
        w.u32(0x0708_090a);
        w.u48(0xffff_0b0c_0d0e_0f10);
        w.u64(0x1112_1314_1516_1718);
        w.fill(0xee, 2);
        assert_eq!(w.remaining(), 6);
        assert_eq!(w.written().len(), 26);
        let n = w.finish().unwrap();
        let mut r = Reader::new(&buf[..n]);
        assert_eq!(r.u8(), Ok(0x01));
        assert_eq!(r.u16(), Ok(0x0203));
        assert_eq!(r.u24(), Ok(0x04_0506));
        assert_eq!(r.u32(), Ok(0x0708_090a));
        assert_eq!(r.u48(), Ok(0x0b0c_0d0e_0f10));
        assert_eq!(r.u64(), Ok(0x1112_1314_1516_1718));
        assert_eq!(r.rest(), &[0xee, 0xee]);
    }

    #[test]
    fn overflow_reports_the_exact_size_needed() {
        let mut buf = [0u8; 5];
        let mut w = Writer::new(&mut buf);
        w.u32(1);
        assert!(!w.is_overflowed());
        w.u32(2); // does not fit: nothing of it is written
        w.u16(3);
        assert!(w.is_overflowed());
        assert_eq!(w.remaining(), 0);
        assert_eq!(w.written(), &[0, 0, 0, 1]);
        w.patch_u16(8, 9); // beyond the buffer: ignored, no panic
        assert_eq!(w.finish(), Err(BufferTooSmall { needed: 10 }));
        assert_eq!(buf, [0, 0, 0, 1, 0]);
    }

    #[test]
    fn patches_and_reservations() {
        let mut buf = [0u8; 8];
        let mut w = Writer::new(&mut buf);
        w.u16(0);
        w.reserve(3).unwrap().copy_from_slice(b"xyz");
        w.patch_u16(0, 3);
        w.patch_u24(2, 0x61_6263);
        w.patch_u32(4, 0); // would run past what was written: ignored
        w.written_mut()[4] = b'!';
        assert!(w.reserve(4).is_none());
        assert_eq!(w.finish(), Err(BufferTooSmall { needed: 9 }));
        assert_eq!(&buf[..5], &[0, 3, b'a', b'b', b'!']);
        let mut w = Writer::new(&mut buf);
        w.reserve(usize::MAX);
        w.u8(1);
        assert_eq!(w.finish(), Err(BufferTooSmall { needed: usize::MAX }));
    }

    proptest::proptest! {
        #[test]
        fn finish_is_ok_exactly_when_everything_fit(cap in 0usize..40, chunks in proptest::collection::vec(0usize..10, 0..8)) {
            let mut buf = [0u8; 40];
            let mut w = Writer::new(&mut buf[..cap]);
            let total: usize = chunks.iter().sum();
            for (i, &n) in chunks.iter().enumerate() {
                w.fill(i as u8, n);
            }
            match w.finish() {
                Ok(n) => { proptest::prop_assert!(total <= cap); proptest::prop_assert_eq!(n, total); }
                Err(e) => { proptest::prop_assert!(total > cap); proptest::prop_assert_eq!(e.needed, total); }
            }
        }
    }
}
