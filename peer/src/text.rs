//! A fixed-capacity text buffer: SDP descriptions, candidate lines and fingerprints are kept
//! and formatted in it without an allocator. The Peer's own writers push `&str` pieces into it
//! (numbers and addresses through `peerless_base::text::Ascii`; as a `fmt::Write` it is also a
//! `peerless_base::text::Sink`), never `write!`, so no `core::fmt` machinery is linked for them.

use core::fmt;

/// Up to `N` bytes of UTF-8 text. Writing past the end fails (`fmt::Error`) and leaves the
/// text cut at a character boundary, never a panic.
#[derive(Clone, Copy)]
pub struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    /// The empty text.
    #[must_use]
    pub const fn new() -> Self {
        Text {
            bytes: [0; N],
            len: 0,
        }
    }

    /// A copy of `s`, if it fits.
    #[must_use]
    pub fn copy_from(s: &str) -> Option<Self> {
        let mut t = Self::new();
        t.push(s).ok()?;
        Some(t)
    }

    /// Empties the text.
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `s`, or fails without changing anything if it does not fit.
    pub fn push(&mut self, s: &str) -> Result<(), fmt::Error> {
        let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
        let dst = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }

    /// The text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever appended, so the bytes are UTF-8.
        core::str::from_utf8(self.bytes.get(..self.len).unwrap_or_default()).unwrap_or_default()
    }

    /// Whether the text is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> Default for Text<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for Text<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s)
    }
}

impl<const N: usize> fmt::Debug for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Text<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str());
    }
}

impl<const N: usize> fmt::Display for Text<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Text;
    use core::fmt::Write;

    #[test]
    fn writes_until_full_and_never_panics() {
        let mut t = Text::<8>::new();
        assert!(write!(t, "abc{}", 12).is_ok());
        assert_eq!(t.as_str(), "abc12");
        assert!(t.push("toolong").is_err());
        assert_eq!(t.as_str(), "abc12");
        assert!(Text::<2>::copy_from("abc").is_none());
    }
}
