//! Extended sequence numbers and timestamps: the 16-bit RTP sequence number and the 32-bit
//! timestamp wrap; every receive machine counts in 64 bits instead, so "older" and "newer" stay
//! plain comparisons across a wrap.
//!
//! ```text
//!   wire:      65534  65535      0      1        (u16, wraps)
//!   extended:  65534  65535  65536  65537        (u64, never wraps)
//! ```
//!
//! A new value is placed in the cycle that puts it nearest the last one seen (RFC 3550 A.1's
//! rule, without its probation, which [`super::stats`] keeps for the statistics).

/// Extends a wrapping counter of `BITS` bits to 64 bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Unwrapper<const BITS: u32> {
    last: Option<u64>,
}

/// Extends 16-bit RTP sequence numbers.
pub type SequenceUnwrapper = Unwrapper<16>;
/// Extends 32-bit RTP timestamps.
pub type TimestampUnwrapper = Unwrapper<32>;

impl<const BITS: u32> Unwrapper<BITS> {
    const MODULUS: u64 = 1 << BITS;
    const HALF: u64 = 1 << (BITS - 1);

    /// An unwrapper that has seen nothing; the first value starts one cycle up, so a value
    /// just before it (a reordered packet) still has a place.
    #[must_use]
    pub const fn new() -> Self {
        Unwrapper { last: None }
    }

    /// The extended value of `value` without remembering it.
    #[must_use]
    pub fn peek(&self, value: u64) -> u64 {
        let value = value & (Self::MODULUS - 1);
        let Some(last) = self.last else {
            return Self::MODULUS + value;
        };
        let last_low = last & (Self::MODULUS - 1);
        let forward = value.wrapping_sub(last_low) & (Self::MODULUS - 1);
        if forward < Self::HALF {
            last + forward
        } else {
            // Behind the last value; never below zero (the first cycle is 1, so only a
            // stream far older than its start could get here).
            last.saturating_sub(Self::MODULUS - forward)
        }
    }

    /// The extended value of `value`, remembered as the reference when it is the newest.
    pub fn unwrap(&mut self, value: u64) -> u64 {
        let extended = self.peek(value);
        if self.last.is_none_or(|last| extended > last) {
            self.last = Some(extended);
        }
        extended
    }

    /// The newest extended value seen.
    #[must_use]
    pub fn last(&self) -> Option<u64> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_forward_and_reorders_back() {
        let mut u = SequenceUnwrapper::new();
        assert_eq!(u.unwrap(65534), 65536 + 65534);
        assert_eq!(u.unwrap(65535), 65536 + 65535);
        assert_eq!(u.unwrap(1), 2 * 65536 + 1);
        // A straggler from before the wrap lands in the previous cycle.
        assert_eq!(u.unwrap(65533), 65536 + 65533);
        assert_eq!(u.last(), Some(2 * 65536 + 1));
        assert_eq!(u.unwrap(0), 2 * 65536);
    }

    #[test]
    fn timestamp_wraps_at_2_pow_32() {
        let mut u = TimestampUnwrapper::new();
        let a = u.unwrap(u64::from(u32::MAX - 1000));
        let b = u.unwrap(2000);
        assert_eq!(b - a, 3001);
    }
}
