//! Generic NACK requests (RFC 4585 §6.2.1): which sequence numbers to ask for again, and when.
//!
//! ```text
//!   record(now, seq) ── seq jumps past highest+1 ──▶ each skipped seq is missing (since now)
//!                    ── a missing seq arrives ─────▶ recovered
//!   poll_nack(now, pairs) ──▶ missing seqs due (reorder_delay after the gap, then once per RTT)
//!                             packed as PID + BLP pairs; each send is one try
//!   handle_timeout(now) ────▶ give up a seq after max_tries, or when it is older than max_age
//!   forget_before(seq) ─────▶ the jitter buffer moved past: stop asking
//! ```
//!
//! The missing set is a ring of `N` entries indexed by sequence number: a hole more than `N`
//! packets behind the newest is dropped (counted), never silently kept or silently lost.

use core::time::Duration;

use peerless_base::Instant;

use super::NackPair;
use super::seq::SequenceUnwrapper;

/// When to ask and when to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NackConfig {
    /// Wait this long after a gap appears before the first NACK (reordering is not loss).
    pub reorder_delay: Duration,
    /// Tries per sequence number before giving up.
    pub max_tries: u8,
    /// Give up a sequence number missing for longer than this (the jitter buffer's delay).
    pub max_age: Duration,
    /// Retry interval until [`NackRequests::set_round_trip_time`] tells the real round trip.
    pub initial_rtt: Duration,
}

impl Default for NackConfig {
    fn default() -> Self {
        NackConfig {
            reorder_delay: Duration::from_millis(5),
            max_tries: 10,
            max_age: Duration::from_millis(500),
            initial_rtt: Duration::from_millis(100),
        }
    }
}

/// What the NACK machine did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct NackStats {
    /// Sequence numbers found missing.
    pub missing: u64,
    /// Missing sequence numbers that arrived afterwards (retransmitted or late).
    pub recovered: u64,
    /// Sequence numbers asked for, counting every try.
    pub requested: u64,
    /// Given up after `max_tries` or `max_age`.
    pub gave_up: u64,
    /// Dropped because the jitter buffer moved past them.
    pub forgotten: u64,
    /// Holes that fell out of the ring (more than `N` behind the newest packet).
    pub dropped_too_old: u64,
}

#[derive(Clone, Copy, Debug, Default)]
struct Missing {
    used: bool,
    sequence: u64,
    since: Instant,
    last_sent: Option<Instant>,
    tries: u8,
}

/// The NACK machine for one SSRC, tracking up to `N` missing sequence numbers.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(fuzzing, derive(Clone))]
pub struct NackRequests<const N: usize> {
    config: NackConfig,
    rtt: Duration,
    entries: [Missing; N],
    sequences: SequenceUnwrapper,
    highest: Option<u64>,
    now: Instant,
    stats: NackStats,
}

impl<const N: usize> NackRequests<N> {
    /// A machine that has seen nothing.
    #[must_use]
    pub fn new(config: NackConfig) -> Self {
        NackRequests {
            config,
            rtt: config.initial_rtt.max(Duration::from_millis(1)),
            entries: [Missing::default(); N],
            sequences: SequenceUnwrapper::new(),
            highest: None,
            now: Instant::ZERO,
            stats: NackStats::default(),
        }
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> NackStats {
        self.stats
    }

    /// The round-trip time (from RTCP: LSR/DLSR, or XR): a NACK is repeated once per RTT
    /// (at least 1 ms apart, so a zero estimate cannot spend every try at once).
    pub fn set_round_trip_time(&mut self, rtt: Duration) {
        self.rtt = rtt.max(Duration::from_millis(1));
    }

    /// Sequence numbers missing now, oldest first.
    pub fn missing(&self) -> impl Iterator<Item = u64> + '_ {
        self.window().filter(|&s| self.entry(s).is_some())
    }

    /// Whether `sequence` is a hole still asked for (not received, not given up): a
    /// retransmission of anything else is a duplicate (a probe's padding, say).
    #[must_use]
    pub fn is_missing(&self, sequence: u16) -> bool {
        self.missing().any(|s| s as u16 == sequence)
    }

    /// Notes a packet received at `now` (original or retransmission).
    pub fn record(&mut self, now: Instant, sequence: u16) {
        let now = self.now.advance(now);
        let sequence = self.sequences.unwrap(u64::from(sequence));
        let Some(highest) = self.highest else {
            self.highest = Some(sequence);
            return;
        };
        if sequence <= highest {
            if let Some(entry) = self.entry_mut(sequence) {
                entry.used = false;
                self.stats.recovered += 1;
            }
            return;
        }
        // Only the newest N - 1 of a long gap fit beside the new packet's slot; the older ones
        // fall out (counted).
        let first = (highest + 1).max(sequence.saturating_sub(N.saturating_sub(1) as u64));
        self.stats.dropped_too_old += first - (highest + 1);
        for missing in first..sequence {
            self.add(now, missing);
        }
        // The slot the new packet lands on may still hold an old hole.
        self.evict(sequence);
        self.highest = Some(sequence);
    }

    fn add(&mut self, now: Instant, sequence: u64) {
        self.evict(sequence);
        if let Some(slot) = self.entries.get_mut(index::<N>(sequence)) {
            *slot = Missing {
                used: true,
                sequence,
                since: now,
                last_sent: None,
                tries: 0,
            };
            self.stats.missing += 1;
        }
    }

    fn evict(&mut self, sequence: u64) {
        if let Some(slot) = self.entries.get_mut(index::<N>(sequence))
            && slot.used
            && slot.sequence != sequence
        {
            slot.used = false;
            self.stats.dropped_too_old += 1;
        }
    }

    /// Stops asking for anything before `sequence` (an extended sequence number, as the jitter
    /// buffer's [`next_sequence`](super::JitterBuffer::next_sequence)).
    pub fn forget_before(&mut self, sequence: u64) {
        for entry in &mut self.entries {
            if entry.used && entry.sequence < sequence {
                entry.used = false;
                self.stats.forgotten += 1;
            }
        }
    }

    fn due(&self, entry: &Missing) -> Instant {
        match entry.last_sent {
            None => entry.since.saturating_add(self.config.reorder_delay),
            Some(sent) => sent.saturating_add(self.rtt),
        }
    }

    fn expiry(&self, entry: &Missing) -> Instant {
        entry.since.saturating_add(self.config.max_age)
    }

    /// The next time a NACK is due or an entry expires.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.entries
            .iter()
            .filter(|e| e.used)
            .map(|e| self.due(e).min(self.expiry(e)))
            .min()
    }

    /// Gives up entries too old or tried too often.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.now.advance(now);
        let max_age = self.config.max_age;
        let max_tries = self.config.max_tries;
        for entry in &mut self.entries {
            if entry.used
                && (entry.since.saturating_add(max_age) <= now || entry.tries >= max_tries)
            {
                entry.used = false;
                self.stats.gave_up += 1;
            }
        }
    }

    /// Writes the NACKs due at `now` into `pairs`, oldest first, and returns how many were
    /// written. Entries that do not fit stay due for the next call.
    pub fn poll_nack(&mut self, now: Instant, pairs: &mut [NackPair]) -> usize {
        let now = self.now.advance(now);
        self.handle_timeout(now);
        let mut written = 0;
        let Some(highest) = self.highest else {
            return 0;
        };
        let mut current: Option<(u64, NackPair)> = None;
        for sequence in highest.saturating_sub(N as u64)..highest {
            let Some(entry) = self.entry(sequence).copied() else {
                continue;
            };
            if self.due(&entry) > now {
                continue;
            }
            match &mut current {
                Some((pid, pair)) if sequence - *pid <= 16 => {
                    pair.blp |= 1 << (sequence - *pid - 1);
                }
                _ => {
                    if let Some((_, pair)) = current.take() {
                        let Some(slot) = pairs.get_mut(written) else {
                            break;
                        };
                        *slot = pair;
                        written += 1;
                    }
                    if written >= pairs.len() {
                        break;
                    }
                    current = Some((
                        sequence,
                        NackPair {
                            pid: sequence as u16,
                            blp: 0,
                        },
                    ));
                }
            }
            if let Some(e) = self.entry_mut(sequence) {
                e.last_sent = Some(now);
                e.tries = e.tries.saturating_add(1);
            }
            self.stats.requested += 1;
        }
        if let Some((_, pair)) = current
            && let Some(slot) = pairs.get_mut(written)
        {
            *slot = pair;
            written += 1;
        }
        written
    }

    fn window(&self) -> core::ops::Range<u64> {
        match self.highest {
            None => 0..0,
            Some(h) => h.saturating_sub(N as u64)..h,
        }
    }

    fn entry(&self, sequence: u64) -> Option<&Missing> {
        self.entries
            .get(index::<N>(sequence))
            .filter(|e| e.used && e.sequence == sequence)
    }

    fn entry_mut(&mut self, sequence: u64) -> Option<&mut Missing> {
        self.entries
            .get_mut(index::<N>(sequence))
            .filter(|e| e.used && e.sequence == sequence)
    }
}

fn index<const N: usize>(sequence: u64) -> usize {
    (sequence % (N.max(1) as u64)) as usize
}
