//! Time as the host hands it in.

use core::ops::{Add, AddAssign, Sub};
use core::time::Duration;

/// A point in time: microseconds since an origin the host picks (boot, process start, the
/// start of a simulation).
///
/// No peerless crate reads a clock: every `handle_*` call takes `now`. Arithmetic saturates
/// instead of panicking, and an `Instant` earlier than one seen before is treated by the
/// machines as "no time passed".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(u64);

impl Instant {
    /// The origin.
    pub const ZERO: Instant = Instant(0);
    /// The last representable instant (about 584 000 years after the origin).
    pub const MAX: Instant = Instant(u64::MAX);

    /// `micros` microseconds after the origin.
    #[must_use]
    pub const fn from_micros(micros: u64) -> Self {
        Instant(micros)
    }

    /// `millis` milliseconds after the origin (saturating).
    #[must_use]
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis.saturating_mul(1_000))
    }

    /// `secs` seconds after the origin (saturating).
    #[must_use]
    pub const fn from_secs(secs: u64) -> Self {
        Instant(secs.saturating_mul(1_000_000))
    }

    /// Microseconds since the origin.
    #[must_use]
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the origin.
    #[must_use]
    pub const fn as_millis(self) -> u64 {
        self.0 / 1_000
    }

    /// Time since the origin.
    #[must_use]
    pub const fn since_origin(self) -> Duration {
        Duration::from_micros(self.0)
    }

    /// `self - earlier`, or zero if `earlier` is later than `self`.
    #[must_use]
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }

    /// `self + duration`, or `None` past [`Instant::MAX`].
    #[must_use]
    pub fn checked_add(self, duration: Duration) -> Option<Instant> {
        let micros = u64::try_from(duration.as_micros()).ok()?;
        self.0.checked_add(micros).map(Instant)
    }

    /// `self - duration`, or `None` before the origin.
    #[must_use]
    pub fn checked_sub(self, duration: Duration) -> Option<Instant> {
        let micros = u64::try_from(duration.as_micros()).ok()?;
        self.0.checked_sub(micros).map(Instant)
    }

    /// `self + duration`, stopping at [`Instant::MAX`].
    #[must_use]
    pub fn saturating_add(self, duration: Duration) -> Instant {
        self.checked_add(duration).unwrap_or(Instant::MAX)
    }

    /// `self - duration`, stopping at the origin.
    #[must_use]
    pub fn saturating_sub(self, duration: Duration) -> Instant {
        self.checked_sub(duration).unwrap_or(Instant::ZERO)
    }

    /// Moves a machine's clock to `now` unless `now` is earlier, and returns the clock's time.
    ///
    /// This is the one place the rule "a `now` earlier than the last is no time passed" lives:
    /// every machine keeps its last `now` and starts each `handle_*` call with
    /// `let now = self.now.advance(now);`, so a host whose clock steps back (or two threads
    /// racing on one clock) can never make a deadline fire twice or an interval go negative.
    ///
    /// ```
    /// use peerless_base::Instant;
    /// let mut clock = Instant::from_millis(10);
    /// assert_eq!(clock.advance(Instant::from_millis(15)), Instant::from_millis(15));
    /// assert_eq!(clock.advance(Instant::from_millis(12)), Instant::from_millis(15));
    /// assert_eq!(clock, Instant::from_millis(15));
    /// ```
    pub fn advance(&mut self, now: Instant) -> Instant {
        if now > *self {
            *self = now;
        }
        *self
    }
}

/// Saturating: never panics.
impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, rhs: Duration) -> Instant {
        self.saturating_add(rhs)
    }
}

/// Saturating: never panics.
impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, rhs: Duration) {
        *self = self.saturating_add(rhs);
    }
}

/// Saturating: never panics.
impl Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, rhs: Duration) -> Instant {
        self.saturating_sub(rhs)
    }
}

/// The time between two instants; zero if `rhs` is the later one (time never runs backwards
/// for a machine).
impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_duration_since(rhs)
    }
}

/// A host clock over [`std::time::Instant`], with its origin at creation.
#[cfg(feature = "std")]
#[derive(Clone, Copy, Debug)]
pub struct StdClock {
    origin: std::time::Instant,
}

#[cfg(feature = "std")]
impl StdClock {
    /// A clock whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        StdClock {
            origin: std::time::Instant::now(),
        }
    }

    /// A clock with the given origin.
    #[must_use]
    pub fn with_origin(origin: std::time::Instant) -> Self {
        StdClock { origin }
    }

    /// The current time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.instant(std::time::Instant::now())
    }

    /// `at` as an [`Instant`] of this clock (the origin if `at` is earlier).
    #[must_use]
    pub fn instant(&self, at: std::time::Instant) -> Instant {
        Instant::ZERO + at.saturating_duration_since(self.origin)
    }

    /// `at` as a [`std::time::Instant`], for arming a host timer.
    #[must_use]
    pub fn std_instant(&self, at: Instant) -> std::time::Instant {
        self.origin + at.since_origin()
    }
}

/// `std::time::Instant` has no `defmt` form, and its value means nothing off the host.
#[cfg(all(feature = "std", feature = "defmt"))]
impl defmt::Format for StdClock {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "StdClock");
    }
}

#[cfg(feature = "std")]
impl Default for StdClock {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constructors_agree() {
        assert_eq!(Instant::from_secs(2), Instant::from_millis(2_000));
        assert_eq!(Instant::from_millis(3), Instant::from_micros(3_000));
        assert_eq!(Instant::from_micros(1_500).as_millis(), 1);
        assert_eq!(Instant::from_secs(u64::MAX), Instant::MAX);
    }

    #[test]
    fn arithmetic_saturates() {
        let t = Instant::from_millis(5);
        assert_eq!(t + Duration::from_millis(5), Instant::from_millis(10));
        assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
        assert_eq!(t + Duration::MAX, Instant::MAX);
        assert_eq!(t - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(t - Duration::from_millis(2), Instant::from_millis(3));
        assert_eq!(t.checked_add(Duration::MAX), None);
        assert_eq!(t.checked_sub(Duration::from_secs(1)), None);
        let mut u = t;
        u += Duration::from_micros(7);
        assert_eq!(u.as_micros(), 5_007);
    }

    #[test]
    fn a_clock_only_advances() {
        let mut clock = Instant::from_millis(7);
        assert_eq!(
            clock.advance(Instant::from_millis(3)),
            Instant::from_millis(7)
        );
        assert_eq!(clock, Instant::from_millis(7));
        assert_eq!(
            clock.advance(Instant::from_millis(9)),
            Instant::from_millis(9)
        );
        assert_eq!(clock.advance(Instant::MAX), Instant::MAX);
        assert_eq!(clock.advance(Instant::ZERO), Instant::MAX);
    }

    #[test]
    fn time_never_runs_backwards() {
        let early = Instant::from_millis(1);
        let late = Instant::from_millis(4);
        assert_eq!(late - early, Duration::from_millis(3));
        assert_eq!(early - late, Duration::ZERO);
    }

    #[cfg(feature = "std")]
    #[test]
    fn std_clock_round_trips() {
        let clock = StdClock::new();
        let later = std::time::Instant::now() + Duration::from_millis(250);
        let ours = clock.instant(later);
        assert!(ours >= Instant::from_millis(250));
        assert_eq!(
            clock.std_instant(ours),
            later - (later - clock.std_instant(ours))
        );
        assert!(clock.now() <= ours);
    }
}
