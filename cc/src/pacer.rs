//! The pacer for a host that hands packets over by id: a queue of ids on the
//! [`PacingBudget`], which decides what may leave.
//!
//! ```text
//!   enqueue(id, class, size) ──▶ queue of N (ids only: the host keeps the packets)
//!   poll_send(now): backlog of the queue ─▶ PacingBudget::next
//!     Send(class)       ─▶ the oldest id of that class: Release::Packet
//!     Padding { size }  ─▶ Release::Padding: the host sends padding of that size
//! ```

use core::fmt;

use peerless_base::Instant;

use crate::budget::{Backlog, Class, Grant, PacerConfig, PacerStats, PacingBudget};
use crate::probe::ProbeCluster;

/// What may leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Release {
    /// Send the packet the host enqueued with this id.
    Packet {
        /// The id given to [`Pacer::enqueue`].
        id: u32,
        /// Its class.
        class: Class,
        /// Its size.
        size: u16,
    },
    /// A probe needs bytes and nothing waits: send padding (RTX padding packets) of this
    /// size, on the transport-wide sequence numbers like media.
    Padding {
        /// Bytes.
        size: u16,
    },
}

/// The queue is full: the host keeps the packet and retries or drops it knowingly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PacerError {
    /// Every slot holds a packet.
    QueueFull,
}

impl fmt::Display for PacerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PacerError::QueueFull => f.write_str("pacer queue full"),
        }
    }
}

impl core::error::Error for PacerError {}

#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Entry {
    id: u32,
    size: u16,
    class: Class,
    order: u32,
}

/// The pacer, holding up to `N` packet ids.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Pacer<const N: usize> {
    budget: PacingBudget,
    queue: [Option<Entry>; N],
    /// Packets waiting per class, so the class checks of every poll need no scan.
    waiting: [u32; 4],
    next_order: u32,
    queued_bytes: u64,
}

impl<const N: usize> Pacer<N> {
    /// A pacer at `target_bps` (the estimator's target).
    #[must_use]
    pub fn new(config: PacerConfig, target_bps: u64) -> Self {
        Pacer {
            budget: PacingBudget::new(config, target_bps),
            queue: [None; N],
            waiting: [0; 4],
            next_order: 0,
            queued_bytes: 0,
        }
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &PacerStats {
        self.budget.stats()
    }

    /// Bytes waiting.
    #[must_use]
    pub fn queued_bytes(&self) -> u64 {
        self.queued_bytes
    }

    /// A new target from the estimator.
    pub fn set_target(&mut self, now: Instant, target_bps: u64) {
        self.budget.set_target(now, target_bps);
    }

    /// What the encoder may use: the target, less data's share while data waits.
    #[must_use]
    pub fn media_target_bps(&self) -> u64 {
        self.budget.media_target_bps(&self.backlog())
    }

    /// Queues a packet the host holds under `id`.
    ///
    /// # Errors
    /// [`PacerError::QueueFull`] when `N` packets wait; the packet is not queued.
    pub fn enqueue(
        &mut self,
        now: Instant,
        id: u32,
        class: Class,
        size: u16,
    ) -> Result<(), PacerError> {
        self.budget.handle_timeout(now);
        let Some(slot) = self.queue.iter_mut().find(|e| e.is_none()) else {
            self.budget.stats_mut().rejected_full += 1;
            return Err(PacerError::QueueFull);
        };
        *slot = Some(Entry {
            id,
            size,
            class,
            order: self.next_order,
        });
        self.next_order = self.next_order.wrapping_add(1);
        self.queued_bytes += u64::from(size);
        if let Some(count) = self.waiting.get_mut(class as usize) {
            *count += 1;
        }
        Ok(())
    }

    /// Sends `cluster` from now: at its rate, media first and padding for the rest.
    pub fn start_probe(&mut self, now: Instant, cluster: &ProbeCluster) {
        self.budget.start_probe(now, cluster);
    }

    /// Whether a probe is running.
    #[must_use]
    pub fn probing(&self) -> bool {
        self.budget.probing()
    }

    /// Advances the budgets to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.budget.handle_timeout(now);
    }

    /// The next packet (or padding) that may leave at `now`.
    pub fn poll_send(&mut self, now: Instant) -> Option<Release> {
        let backlog = self.backlog();
        match self.budget.next(now, &backlog)? {
            Grant::Send(class) => {
                let i = self.oldest(class)?;
                let entry = self.queue.get_mut(i)?.take()?;
                if let Some(count) = self.waiting.get_mut(class as usize) {
                    *count = count.saturating_sub(1);
                }
                self.queued_bytes = self.queued_bytes.saturating_sub(u64::from(entry.size));
                self.budget
                    .on_sent(class, usize::from(entry.size), &backlog);
                Some(Release::Packet {
                    id: entry.id,
                    class,
                    size: entry.size,
                })
            }
            Grant::Padding { size } => {
                self.budget.on_padding_sent(usize::from(size));
                Some(Release::Padding { size })
            }
        }
    }

    /// When [`poll_send`](Self::poll_send) may give something.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.budget.poll_timeout(&self.backlog())
    }

    /// What waits, for the budget. A host of this pacer can always pad (it is asked to).
    fn backlog(&self) -> Backlog {
        let mut backlog = Backlog {
            bytes: self.queued_bytes,
            can_pad: true,
            ..Backlog::default()
        };
        for class in Class::ALL {
            if self.waiting(class) {
                backlog.add(class);
            }
        }
        backlog
    }

    fn waiting(&self, class: Class) -> bool {
        self.waiting.get(class as usize).is_some_and(|&n| n > 0)
    }

    fn oldest(&self, class: Class) -> Option<usize> {
        if !self.waiting(class) {
            return None;
        }
        let base = self.next_order;
        self.queue
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.filter(|e| e.class == class).map(|e| (i, e)))
            // Oldest by age modulo the wrap: the largest distance back from next_order.
            .max_by_key(|(_, e)| base.wrapping_sub(e.order))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use super::*;

    /// Drives the pacer like a host until `until`, returning (time, release) pairs.
    fn drain<const N: usize>(
        p: &mut Pacer<N>,
        from: Instant,
        until: Instant,
        out: &mut std::vec::Vec<(Instant, Release)>,
    ) {
        let mut now = from;
        loop {
            while let Some(r) = p.poll_send(now) {
                out.push((now, r));
            }
            match p.poll_timeout() {
                Some(t) if t <= until => now = t.max(now),
                _ => return,
            }
        }
    }

    #[test]
    fn video_leaves_at_the_pacing_rate() {
        let config = PacerConfig {
            pacing_factor_percent: 100,
            ..PacerConfig::default()
        };
        let mut p: Pacer<64> = Pacer::new(config, 960_000);
        let t0 = Instant::ZERO;
        for id in 0..50 {
            p.enqueue(t0, id, Class::Video, 1200).expect("room");
        }
        let mut out = std::vec::Vec::new();
        drain(&mut p, t0, Instant::from_secs(2), &mut out);
        assert_eq!(out.len(), 50);
        // 1200 bytes at 960 kbit/s is 10 ms each; the first goes at once on the budget's
        // first bit... which it does not have yet: it goes 1 µs in.
        let last = out.last().expect("sent").0;
        assert!(last.as_micros().abs_diff(490_000) <= 10, "{last:?}");
        let gaps: std::vec::Vec<u64> = out
            .windows(2)
            .map(|w| (w[1].0 - w[0].0).as_micros() as u64)
            .collect();
        assert!(gaps.iter().all(|g| g.abs_diff(10_000) <= 1), "{gaps:?}");
    }

    #[test]
    fn classes_leave_in_priority_order_and_audio_is_never_held() {
        let mut p: Pacer<16> = Pacer::new(PacerConfig::default(), 100_000);
        let t0 = Instant::ZERO;
        p.enqueue(t0, 1, Class::Video, 1000).expect("room");
        p.enqueue(t0, 2, Class::Retransmission, 1000).expect("room");
        p.enqueue(t0, 3, Class::Audio, 100).expect("room");
        p.enqueue(t0, 4, Class::Audio, 100).expect("room");
        assert_eq!(
            p.poll_send(t0),
            Some(Release::Packet {
                id: 3,
                class: Class::Audio,
                size: 100
            })
        );
        assert_eq!(
            p.poll_send(t0),
            Some(Release::Packet {
                id: 4,
                class: Class::Audio,
                size: 100
            })
        );
        assert_eq!(p.poll_send(t0), None, "no budget yet");
        let mut out = std::vec::Vec::new();
        drain(&mut p, t0, Instant::from_secs(1), &mut out);
        let ids: std::vec::Vec<u32> = out
            .iter()
            .map(|(_, r)| match r {
                Release::Packet { id, .. } => *id,
                Release::Padding { .. } => 0,
            })
            .collect();
        assert_eq!(ids, [2, 1]);
    }

    #[test]
    fn a_full_queue_is_an_error() {
        let mut p: Pacer<2> = Pacer::new(PacerConfig::default(), 100_000);
        p.enqueue(Instant::ZERO, 1, Class::Video, 100)
            .expect("room");
        p.enqueue(Instant::ZERO, 2, Class::Video, 100)
            .expect("room");
        assert_eq!(
            p.enqueue(Instant::ZERO, 3, Class::Video, 100),
            Err(PacerError::QueueFull)
        );
        assert_eq!(p.stats().rejected_full, 1);
    }

    #[test]
    fn data_gets_its_share_beside_video_and_the_rest_of_the_target_alone() {
        let mut p: Pacer<256> = Pacer::new(PacerConfig::default(), 1_000_000);
        let mut now = Instant::ZERO;
        let mut id = 0;
        // Both always have 20 packets waiting for 5 s: a video backlog and a big transfer.
        while now < Instant::from_secs(5) {
            for class in [Class::Video, Class::Data] {
                while p
                    .queue
                    .iter()
                    .flatten()
                    .filter(|e| e.class == class)
                    .count()
                    < 20
                {
                    id += 1;
                    p.enqueue(now, id, class, 1000).expect("room");
                }
            }
            while p.poll_send(now).is_some() {}
            now = p
                .poll_timeout()
                .expect("waiting")
                .max(now + Duration::from_micros(1));
        }
        let [_, _, video, data] = p.stats().bytes;
        let share = data as f64 / (video + data) as f64;
        assert!((share - 0.20).abs() < 0.01, "data share {share}");
        // Data alone: what the average budget allows, the target.
        let mut p: Pacer<256> = Pacer::new(PacerConfig::default(), 1_000_000);
        let mut now = Instant::ZERO;
        while now < Instant::from_secs(5) {
            while p.queue.iter().flatten().count() < 20 {
                id += 1;
                p.enqueue(now, id, Class::Data, 1000).expect("room");
            }
            while p.poll_send(now).is_some() {}
            now = p
                .poll_timeout()
                .expect("waiting")
                .max(now + Duration::from_micros(1));
        }
        let rate = p.stats().bytes[3] as f64 * 8.0 / 5.0;
        assert!((rate - 1_000_000.0).abs() < 20_000.0, "data alone {rate}");
    }

    #[test]
    fn a_probe_fills_with_padding_at_its_rate() {
        let mut p: Pacer<16> = Pacer::new(PacerConfig::default(), 300_000);
        let cluster = ProbeCluster {
            id: 0,
            bitrate_bps: 1_920_000,
            bytes: 6000,
        };
        p.start_probe(Instant::ZERO, &cluster);
        p.enqueue(Instant::ZERO, 7, Class::Video, 1200)
            .expect("room");
        let mut out = std::vec::Vec::new();
        drain(&mut p, Instant::ZERO, Instant::from_secs(1), &mut out);
        assert!(!p.probing());
        assert_eq!(out.len(), 5, "{out:?}");
        assert!(matches!(out[0].1, Release::Packet { id: 7, .. }));
        assert!(
            out[1..]
                .iter()
                .all(|(_, r)| *r == Release::Padding { size: 1200 })
        );
        // 1200 bytes at 1.92 Mbit/s: 5 ms apart.
        let span = (out[4].0 - out[0].0).as_micros() as u64;
        assert!(span.abs_diff(20_000) <= 4, "{span}");
        assert_eq!(p.stats().padding_bytes, 4800);
    }
}
