//! A fixed table of deadlines, one per timer a machine runs.

use crate::Instant;

/// A machine's timer names: a fieldless enum mapped onto `0..COUNT`.
///
/// ```
/// use peerless_base::{Instant, TimerKey, Timers};
/// #[derive(Clone, Copy, Debug, PartialEq)]
/// enum Timer { Retransmit, Keepalive }
/// impl TimerKey for Timer {
///     const ALL: &'static [Self] = &[Timer::Retransmit, Timer::Keepalive];
///     fn index(self) -> usize { self as usize }
/// }
/// let mut timers = Timers::<Timer, 2>::new();
/// timers.set(Timer::Keepalive, Instant::from_secs(5));
/// timers.set(Timer::Retransmit, Instant::from_millis(200));
/// assert_eq!(timers.next_timeout(), Some(Instant::from_millis(200)));
/// assert_eq!(timers.pop_expired(Instant::from_secs(1)), Some(Timer::Retransmit));
/// assert_eq!(timers.pop_expired(Instant::from_secs(1)), None);
/// ```
pub trait TimerKey: Copy + 'static {
    /// Every timer, in the order they fire when due at the same instant.
    const ALL: &'static [Self];
    /// This timer's slot; less than `ALL.len()`.
    fn index(self) -> usize;
}

/// Deadlines for up to `N` timers keyed by `K`. A key whose index is out of range is ignored
/// (and never fires), so a mismatched `N` is a silent no-op rather than a panic; size `N` as
/// `K::ALL.len()`.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timers<K: TimerKey, const N: usize> {
    deadlines: [Option<Instant>; N],
    _key: core::marker::PhantomData<K>,
}

impl<K: TimerKey, const N: usize> Default for Timers<K, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: TimerKey, const N: usize> Timers<K, N> {
    /// No timer armed.
    #[must_use]
    pub const fn new() -> Self {
        Timers {
            deadlines: [None; N],
            _key: core::marker::PhantomData,
        }
    }

    /// Arms (or re-arms) `key` to fire at `at`.
    pub fn set(&mut self, key: K, at: Instant) {
        if let Some(slot) = self.deadlines.get_mut(key.index()) {
            *slot = Some(at);
        }
    }

    /// Arms `key` at `at` unless it is already armed earlier.
    pub fn set_earliest(&mut self, key: K, at: Instant) {
        if self.get(key).is_none_or(|current| at < current) {
            self.set(key, at);
        }
    }

    /// Disarms `key`.
    pub fn clear(&mut self, key: K) {
        if let Some(slot) = self.deadlines.get_mut(key.index()) {
            *slot = None;
        }
    }

    /// Disarms every timer.
    pub fn clear_all(&mut self) {
        self.deadlines = [None; N];
    }

    /// When `key` fires, if armed.
    #[must_use]
    pub fn get(&self, key: K) -> Option<Instant> {
        self.deadlines.get(key.index()).copied().flatten()
    }

    /// Whether `key` is armed.
    #[must_use]
    pub fn is_armed(&self, key: K) -> bool {
        self.get(key).is_some()
    }

    /// The earliest armed deadline: what a machine's `poll_timeout` returns.
    #[must_use]
    pub fn next_timeout(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarms and returns one timer due at `now`, earliest first (ties in `K::ALL` order).
    /// Call it until `None` from `handle_timeout`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<K> {
        let key = K::ALL
            .iter()
            .copied()
            .filter_map(|k| self.get(k).filter(|&at| at <= now).map(|at| (at, k)))
            .min_by_key(|&(at, _)| at)
            .map(|(_, k)| k)?;
        self.clear(key);
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum T {
        A,
        B,
        C,
    }
    impl TimerKey for T {
        const ALL: &'static [Self] = &[T::A, T::B, T::C];
        fn index(self) -> usize {
            self as usize
        }
    }

    #[test]
    fn fires_in_deadline_order_then_key_order() {
        let mut t = Timers::<T, 3>::new();
        assert_eq!(t.next_timeout(), None);
        t.set(T::C, Instant::from_millis(5));
        t.set(T::B, Instant::from_millis(5));
        t.set(T::A, Instant::from_millis(9));
        assert_eq!(t.next_timeout(), Some(Instant::from_millis(5)));
        assert_eq!(t.pop_expired(Instant::from_millis(4)), None);
        assert_eq!(t.pop_expired(Instant::from_millis(10)), Some(T::B));
        assert_eq!(t.pop_expired(Instant::from_millis(10)), Some(T::C));
        assert_eq!(t.pop_expired(Instant::from_millis(10)), Some(T::A));
        assert_eq!(t.pop_expired(Instant::from_millis(10)), None);
        assert!(!t.is_armed(T::A));
    }

    #[test]
    fn set_earliest_and_clear() {
        let mut t = Timers::<T, 3>::new();
        t.set_earliest(T::A, Instant::from_millis(7));
        t.set_earliest(T::A, Instant::from_millis(9));
        assert_eq!(t.get(T::A), Some(Instant::from_millis(7)));
        t.set_earliest(T::A, Instant::from_millis(3));
        assert_eq!(t.get(T::A), Some(Instant::from_millis(3)));
        t.set(T::B, Instant::ZERO);
        t.clear(T::A);
        assert_eq!(t.next_timeout(), Some(Instant::ZERO));
        t.clear_all();
        assert_eq!(t.next_timeout(), None);
    }

    #[test]
    fn a_table_too_small_ignores_keys_beyond_it() {
        let mut t = Timers::<T, 2>::new();
        t.set(T::C, Instant::ZERO);
        assert_eq!(t.get(T::C), None);
        assert_eq!(t.pop_expired(Instant::MAX), None);
    }
}
