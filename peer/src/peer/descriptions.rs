//! One side's descriptions (JSEP's current and pending, RFC 8829 §4.1.8-§4.1.10) in one
//! buffer: the current description first, the pending one right after it.
//!
//! ```text
//!   stable:             [ current ......................... free ]
//!   offer applied:      [ current | pending ............... free ]
//!   answer (commit):    [ pending moved to the front ...... free ]
//!   rollback:           [ current ......................... free ]   (pending forgotten)
//! ```
//!
//! Why one buffer: a pending description exists only between an offer and its answer, and
//! then it usually differs little in size from the current one. Two buffers of the full size
//! would double what the Peer keeps (16 KiB more for the default remote side) for a state that
//! is short-lived; here a pending description must fit beside the current one instead, and a
//! description that does not is refused with `SdpError::TooLarge` and changes nothing.

/// The current and pending description of one side, back to back in `N` bytes.
#[derive(Clone, Copy)]
pub(super) struct Descriptions<const N: usize> {
    bytes: [u8; N],
    /// Length of the current description at `bytes[..current]` (0: none yet).
    current: usize,
    /// Length of the pending description at `bytes[current..current + pending]`, if any.
    pending: Option<usize>,
}

impl<const N: usize> Descriptions<N> {
    pub(super) const fn new() -> Self {
        Descriptions {
            bytes: [0; N],
            current: 0,
            pending: None,
        }
    }

    /// Both descriptions forgotten, their bytes wiped (they held ICE passwords), in place.
    pub(super) fn clear(&mut self) {
        self.bytes.fill(0);
        self.current = 0;
        self.pending = None;
    }

    fn text(&self, start: usize, len: usize) -> Option<&str> {
        let bytes = self.bytes.get(start..start.checked_add(len)?)?;
        // Only whole `&str`s are ever copied in, so the bytes are UTF-8.
        core::str::from_utf8(bytes).ok()
    }

    /// The description both sides agreed on last (`currentLocalDescription` and its remote
    /// twin).
    pub(super) fn current(&self) -> Option<&str> {
        (self.current > 0)
            .then(|| self.text(0, self.current))
            .flatten()
    }

    /// The offer or provisional answer still being negotiated.
    pub(super) fn pending(&self) -> Option<&str> {
        self.text(self.current, self.pending?)
    }

    /// The pending description if there is one, else the current one (`localDescription`).
    pub(super) fn latest(&self) -> Option<&str> {
        self.pending().or_else(|| self.current())
    }

    /// Whether `len` bytes fit as the pending description.
    pub(super) fn fits_pending(&self, len: usize) -> bool {
        self.current.checked_add(len).is_some_and(|end| end <= N)
    }

    /// Whether `len` bytes fit as the current description (replacing both).
    pub(super) fn fits_current(len: usize) -> bool {
        len <= N
    }

    /// Stores `text` as the pending description, replacing an earlier pending one. Returns
    /// `false` (nothing changed) if it does not fit beside the current one.
    pub(super) fn set_pending(&mut self, text: &str) -> bool {
        let start = self.current;
        let Some(dst) = start
            .checked_add(text.len())
            .and_then(|end| self.bytes.get_mut(start..end))
        else {
            return false;
        };
        dst.copy_from_slice(text.as_bytes());
        self.pending = Some(text.len());
        true
    }

    /// Stores `text` as the current description; a pending one is dropped. Returns `false`
    /// (nothing changed) if it does not fit.
    pub(super) fn set_current(&mut self, text: &str) -> bool {
        let Some(dst) = self.bytes.get_mut(..text.len()) else {
            return false;
        };
        dst.copy_from_slice(text.as_bytes());
        self.current = text.len();
        self.pending = None;
        true
    }

    /// The pending description becomes the current one (the answer arrived).
    pub(super) fn commit(&mut self) {
        let Some(len) = self.pending.take() else {
            return;
        };
        let start = self.current;
        self.bytes.copy_within(start..start.saturating_add(len), 0);
        self.current = len;
    }

    /// The pending description is forgotten (rollback): the current one stands.
    pub(super) fn rollback(&mut self) {
        self.pending = None;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::Descriptions;

    #[test]
    fn pending_sits_beside_current_and_commit_moves_it_to_the_front() {
        let mut d = Descriptions::<16>::new();
        assert_eq!((d.current(), d.pending(), d.latest()), (None, None, None));
        assert!(d.set_pending("offer-1"));
        assert_eq!((d.current(), d.latest()), (None, Some("offer-1")));
        d.commit();
        assert_eq!((d.current(), d.pending()), (Some("offer-1"), None));
        assert!(d.set_pending("offer-2"));
        assert!(d.set_pending("offer-3"), "a new pending replaces the last");
        assert_eq!(
            (d.current(), d.pending()),
            (Some("offer-1"), Some("offer-3"))
        );
        d.rollback();
        assert_eq!((d.current(), d.pending()), (Some("offer-1"), None));
        assert!(d.set_pending("offer-4"));
        d.commit();
        assert_eq!((d.current(), d.pending()), (Some("offer-4"), None));
    }

    #[test]
    fn a_pending_description_that_does_not_fit_changes_nothing() {
        let mut d = Descriptions::<16>::new();
        assert!(d.set_current("0123456789"));
        assert!(!d.fits_pending(7));
        assert!(!d.set_pending("abcdefg"));
        assert_eq!((d.current(), d.pending()), (Some("0123456789"), None));
        assert!(d.set_pending("abcdef"));
        assert!(!d.set_current("0123456789abcdefg"));
        assert_eq!(d.pending(), Some("abcdef"));
        assert!(Descriptions::<16>::fits_current(16));
    }
}
