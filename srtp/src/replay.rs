//! Replay protection (RFC 3711 §3.3.2) and rollover-counter estimation (RFC 3711 Appendix A).
//!
//! ```text
//!             older than window        inside the window            newer
//!   ... ───────────────────────┼──────────────────────────────┼───────────────►  index
//!            TooOld            │  bit set: Replayed            │ top    accepted, window
//!                              │  bit clear: accepted          │        slides forward
//! ```
//!
//! The window is a bitmap of `64 * W` bits: bit `i` says whether index `top - i` was seen.
//! A packet is checked before its tag is verified (cheap rejection) and recorded only after
//! it authenticated, so a forged packet never moves the window.

use crate::Error;

/// The receive (or send) state of one stream: the highest index seen and which of the
/// `64 * W` indices below it were seen too.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window<const W: usize> {
    top: u64,
    bits: [u64; W],
}

impl<const W: usize> Window<W> {
    /// The state after the first accepted packet, `index`.
    pub(crate) fn starting_at(index: u64) -> Self {
        let mut bits = [0u64; W];
        if let Some(first) = bits.first_mut() {
            *first = 1;
        }
        Window { top: index, bits }
    }

    /// The state of a stream that used every index up to `top` (a retired SSRC coming
    /// back): nothing at or below `top` is accepted again.
    pub(crate) fn all_seen_up_to(top: u64) -> Self {
        Window {
            top,
            bits: [u64::MAX; W],
        }
    }

    /// The highest index accepted so far.
    pub(crate) fn top(&self) -> u64 {
        self.top
    }

    /// Whether `index` may be accepted with a window of `size` packets.
    pub(crate) fn check(&self, index: u64, size: u64) -> Result<(), Error> {
        if index > self.top {
            return Ok(());
        }
        let back = self.top - index;
        if back >= size {
            return Err(Error::TooOld);
        }
        if self.bit(back) {
            return Err(Error::Replayed);
        }
        Ok(())
    }

    /// Records `index` as seen (after it passed [`Window::check`] and authenticated).
    pub(crate) fn accept(&mut self, index: u64) {
        if index > self.top {
            self.shift(index - self.top);
            self.top = index;
            self.set(0);
        } else {
            self.set(self.top - index);
        }
    }

    fn bit(&self, back: u64) -> bool {
        let (word, bit) = (back / 64, back % 64);
        usize::try_from(word)
            .ok()
            .and_then(|w| self.bits.get(w))
            .is_some_and(|w| w >> bit & 1 == 1)
    }

    fn set(&mut self, back: u64) {
        let (word, bit) = (back / 64, back % 64);
        if let Some(w) = usize::try_from(word)
            .ok()
            .and_then(|w| self.bits.get_mut(w))
        {
            *w |= 1 << bit;
        }
    }

    /// Moves every bit `by` places up (towards older), dropping what falls off the end.
    fn shift(&mut self, by: u64) {
        let Some(words) = usize::try_from(by / 64).ok().filter(|&w| w < W) else {
            self.bits = [0; W];
            return;
        };
        if words > 0 {
            self.bits.copy_within(..W - words, words);
            self.bits[..words].fill(0);
        }
        let bits = (by % 64) as u32;
        if bits > 0 {
            let mut carry = 0;
            for word in &mut self.bits {
                let out = *word >> (64 - bits);
                *word = *word << bits | carry;
                carry = out;
            }
        }
    }
}

/// The packet index (ROC * 2^16 + SEQ) a sequence number most likely belongs to, given the
/// highest index seen so far (RFC 3711 Appendix A).
///
/// The guess picks the rollover counter that puts `seq` closest to the last sequence number,
/// so a packet delayed from just before a wrap lands in the old ROC and one from just after in
/// the new. A ROC cannot go below zero: a sequence number that would need ROC -1 is taken at
/// ROC 0, as libsrtp does. Returns `None` if the index would exceed 48 bits.
pub(crate) fn estimate_index(top: u64, seq: u16) -> Option<u64> {
    let roc = top >> 16;
    let s_l = top as u16;
    let v = if s_l < 0x8000 {
        if seq > s_l && seq - s_l > 0x8000 {
            roc.saturating_sub(1)
        } else {
            roc
        }
    } else if s_l - 0x8000 > seq {
        roc + 1
    } else {
        roc
    };
    (v <= u64::from(u32::MAX)).then_some(v << 16 | u64::from(seq))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_across_a_wrap_in_both_directions() {
        // Appendix A: just after a wrap, a late packet from before it keeps the old ROC.
        let top = 5 << 16 | 10; // ROC 5, seq 10
        assert_eq!(estimate_index(top, 65530), Some(4 << 16 | 65530));
        assert_eq!(estimate_index(top, 11), Some(5 << 16 | 11));
        // Just before a wrap, a packet from after it gets the next ROC.
        let top = 5 << 16 | 65530;
        assert_eq!(estimate_index(top, 3), Some(6 << 16 | 3));
        assert_eq!(estimate_index(top, 65000), Some(5 << 16 | 65000));
        // Half-way boundaries.
        let top = 5 << 16 | 0x8000;
        assert_eq!(estimate_index(top, 0), Some(5 << 16));
        assert_eq!(estimate_index(top, 0xffff), Some(5 << 16 | 0xffff));
        // ROC 0 never goes negative.
        assert_eq!(estimate_index(10, 65530), Some(65530));
        // The 48-bit index space ends.
        assert_eq!(estimate_index(u64::from(u32::MAX) << 16 | 65530, 3), None);
    }

    #[test]
    fn window_accepts_new_rejects_replays_and_old() {
        let mut w = Window::<2>::starting_at(1000);
        assert_eq!(w.check(1000, 128), Err(Error::Replayed));
        assert_eq!(w.check(999, 128), Ok(()));
        w.accept(999);
        assert_eq!(w.check(999, 128), Err(Error::Replayed));
        assert_eq!(w.check(1000 - 127, 128), Ok(()));
        assert_eq!(w.check(1000 - 128, 128), Err(Error::TooOld));
        w.accept(1070);
        assert_eq!(w.top(), 1070);
        assert_eq!(w.check(1000, 128), Err(Error::Replayed));
        assert_eq!(w.check(999, 128), Err(Error::Replayed));
        assert_eq!(w.check(998, 128), Ok(()));
        assert_eq!(w.check(1070 - 128, 128), Err(Error::TooOld));
        w.accept(1070 + 64);
        assert_eq!(w.check(1000, 128), Err(Error::TooOld));
        assert_eq!(w.check(1006, 128), Err(Error::TooOld));
        assert_eq!(w.check(1007, 128), Ok(()));
        assert_eq!(w.check(1070, 128), Err(Error::Replayed));
        w.accept(1070 + 64 + 200);
        assert_eq!(w.check(1070 + 64, 128), Err(Error::TooOld));
        assert_eq!(w.check(1070 + 64 + 199, 128), Ok(()));
    }

    proptest::proptest! {
        /// The window agrees with a plain set of everything accepted.
        #[test]
        fn window_matches_a_model(steps in proptest::collection::vec(0u64..400, 1..200)) {
            let size = 128u64;
            let mut seen = std::collections::BTreeSet::new();
            let mut w = Window::<2>::starting_at(1000);
            seen.insert(1000u64);
            for s in steps {
                let index = 800 + s;
                let top = *seen.iter().next_back().unwrap();
                let expected = if index > top {
                    Ok(())
                } else if top - index >= size {
                    Err(Error::TooOld)
                } else if seen.contains(&index) {
                    Err(Error::Replayed)
                } else {
                    Ok(())
                };
                proptest::prop_assert_eq!(w.check(index, size), expected);
                if expected.is_ok() {
                    w.accept(index);
                    seen.insert(index);
                }
            }
        }
    }
}
