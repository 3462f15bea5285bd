//! The pacer: packets leave at the pacing rate instead of in the encoder's bursts, in order
//! of class, and data-channel traffic shares the estimate with the call.
//!
//! ```text
//!   enqueue(id, class, size) ──▶ queue of N (ids only: the host keeps the packets)
//!   poll_send(now):
//!     audio                 ─▶ at once (counted against both budgets)
//!     pacing budget ≤ 0     ─▶ wait (poll_timeout says until when)
//!     retransmission       ─▶ next
//!     video ≍ data          ─▶ data only within the average budget (target rate), and at
//!                              least its share of the bytes while both wait
//!     probe running, idle   ─▶ Padding { size }: the host sends padding of that size
//!   budgets: pacing = target × factor (bursty media drains fast), burst allowance on top;
//!            average = target (what data may use beside the media)
//! ```
//!
//! A queue that would take longer than `max_queue_time` at the pacing rate raises the rate
//! so the encoder's backlog does not grow into seconds of latency.

use core::fmt;
use core::time::Duration;

use peerless_base::Instant;

use crate::probe::ProbeCluster;

/// What a queued packet is, in order of priority (padding is never queued: the pacer asks
/// for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Class {
    /// Audio: small and late-sensitive, never held.
    Audio,
    /// Retransmissions (RTX or plain), before new media.
    Retransmission,
    /// Video.
    Video,
    /// Data-channel (SCTP) packets: the budget left beside the media, and a share while
    /// both wait.
    Data,
}

/// What may leave now.
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

/// Tuning.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PacerConfig {
    /// The pacing rate is the target times this, in percent (libwebrtc uses 250 %): a
    /// frame's burst drains in well under a frame time, but not at line rate.
    pub pacing_factor_percent: u32,
    /// Bytes the pacing budget may save up while idle, as time at the pacing rate.
    pub burst: Duration,
    /// What the average budget (at the target) may save up: how long data may burst.
    pub average_window: Duration,
    /// Data's share of the bytes, in percent, while media and data both wait.
    pub data_share_percent: u32,
    /// A queue taking longer than this at the pacing rate raises the rate.
    pub max_queue_time: Duration,
    /// The largest padding packet asked for.
    pub max_padding: u16,
}

impl Default for PacerConfig {
    fn default() -> Self {
        PacerConfig {
            pacing_factor_percent: 250,
            burst: Duration::from_millis(5),
            average_window: Duration::from_millis(40),
            data_share_percent: 20,
            max_queue_time: Duration::from_secs(2),
            max_padding: 1200,
        }
    }
}

/// Counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct PacerStats {
    /// Bytes released per class: audio, retransmission, video, data.
    pub bytes: [u64; 4],
    /// Padding bytes asked for.
    pub padding_bytes: u64,
    /// Enqueues refused because the queue was full.
    pub rejected_full: u64,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    id: u32,
    size: u16,
    class: Class,
    order: u32,
}

/// A leaky bucket in bits, refilled at a rate with the sub-bit remainder carried.
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Bucket {
    bits: i64,
    carry: u64,
}

impl Bucket {
    fn refill(&mut self, rate_bps: u64, micros: u64, cap_bits: i64) {
        let total = u128::from(rate_bps) * u128::from(micros) + u128::from(self.carry);
        let add = i64::try_from(total / 1_000_000).unwrap_or(i64::MAX);
        self.carry = (total % 1_000_000) as u64;
        self.bits = self.bits.saturating_add(add).min(cap_bits.max(0));
        if self.bits >= cap_bits.max(0) {
            self.carry = 0;
        }
    }

    fn spend(&mut self, bytes: u16) {
        self.bits = self.bits.saturating_sub(i64::from(bytes) * 8);
    }

    /// When the bucket is above zero again at `rate_bps`.
    fn positive_at(&self, now: Instant, rate_bps: u64) -> Instant {
        if self.bits > 0 {
            return now;
        }
        let missing = u128::from(self.bits.unsigned_abs() + 1) * 1_000_000;
        let micros = missing
            .saturating_sub(u128::from(self.carry))
            .div_ceil(u128::from(rate_bps.max(1)));
        now.saturating_add(Duration::from_micros(
            u64::try_from(micros).unwrap_or(u64::MAX),
        ))
    }
}

#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Probe {
    rate_bps: u64,
    bytes_left: u32,
}

/// The pacer, holding up to `N` packet ids.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Pacer<const N: usize> {
    config: PacerConfig,
    queue: [Option<Entry>; N],
    /// Packets waiting per class, so the class checks of every poll need no scan.
    waiting: [u32; 4],
    next_order: u32,
    queued_bytes: u64,
    target_bps: u64,
    pacing: Bucket,
    average: Bucket,
    last_refill: Option<Instant>,
    probe: Option<Probe>,
    /// Bytes each of media and data sent while both waited (reset when one runs dry).
    contended_video: u64,
    contended_data: u64,
    stats: PacerStats,
}

impl<const N: usize> Pacer<N> {
    /// A pacer at `target_bps` (the estimator's target).
    #[must_use]
    pub fn new(config: PacerConfig, target_bps: u64) -> Self {
        Pacer {
            config,
            queue: [None; N],
            waiting: [0; 4],
            next_order: 0,
            queued_bytes: 0,
            target_bps,
            pacing: Bucket::default(),
            average: Bucket::default(),
            last_refill: None,
            probe: None,
            contended_video: 0,
            contended_data: 0,
            stats: PacerStats::default(),
        }
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &PacerStats {
        &self.stats
    }

    /// Bytes waiting.
    #[must_use]
    pub fn queued_bytes(&self) -> u64 {
        self.queued_bytes
    }

    /// A new target from the estimator.
    pub fn set_target(&mut self, now: Instant, target_bps: u64) {
        self.refill(now);
        self.target_bps = target_bps;
    }

    /// What the encoder may use: the target, less data's share while data waits.
    #[must_use]
    pub fn media_target_bps(&self) -> u64 {
        if self.waiting(Class::Data) {
            self.target_bps
                .saturating_mul(u64::from(100 - self.config.data_share_percent.min(100)))
                / 100
        } else {
            self.target_bps
        }
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
        self.refill(now);
        let Some(slot) = self.queue.iter_mut().find(|e| e.is_none()) else {
            self.stats.rejected_full += 1;
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
        self.refill(now);
        self.pacing = Bucket::default();
        self.probe = Some(Probe {
            rate_bps: cluster.bitrate_bps,
            bytes_left: cluster.bytes,
        });
    }

    /// Whether a probe is running.
    #[must_use]
    pub fn probing(&self) -> bool {
        self.probe.is_some()
    }

    /// Advances the budgets to `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.refill(now);
    }

    /// The next packet (or padding) that may leave at `now`.
    pub fn poll_send(&mut self, now: Instant) -> Option<Release> {
        self.refill(now);
        if let Some(i) = self.oldest(Class::Audio) {
            return self.release(i);
        }
        if self.pacing.bits <= 0 {
            return None;
        }
        if let Some(i) = self.oldest(Class::Retransmission) {
            return self.release(i);
        }
        let video = self.oldest(Class::Video);
        let data = self.oldest(Class::Data);
        let pick = match (video, data) {
            (Some(v), Some(d)) => {
                // Both wait: data takes its share of the bytes whatever the average budget
                // says, so a video backlog cannot starve it, nor it the video.
                let share = u64::from(self.config.data_share_percent.min(100));
                let data_behind =
                    self.contended_data * (100 - share) <= self.contended_video * share;
                Some(if data_behind { d } else { v })
            }
            (video, data) => {
                self.contended_video = 0;
                self.contended_data = 0;
                // Data alone: only what the target leaves beside the media.
                video.or(data.filter(|_| self.average.bits > 0))
            }
        };
        if let Some(i) = pick {
            return self.release(i);
        }
        let probe = self.probe.as_mut()?;
        let size = self
            .config
            .max_padding
            .min(u16::try_from(probe.bytes_left).unwrap_or(u16::MAX));
        let size = size.max(1);
        self.pacing.spend(size);
        self.average.spend(size);
        self.stats.padding_bytes += u64::from(size);
        self.count_probe(size);
        Some(Release::Padding { size })
    }

    /// When [`poll_send`](Self::poll_send) may give something.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let now = self.last_refill.unwrap_or(Instant::ZERO);
        if self.waiting(Class::Audio) {
            return Some(now);
        }
        let media = self.waiting(Class::Retransmission)
            || self.waiting(Class::Video)
            || self.probe.is_some();
        let paced = self.pacing.positive_at(now, self.pacing_rate());
        if media {
            return Some(paced);
        }
        if self.waiting(Class::Data) {
            return Some(paced.max(self.average.positive_at(now, self.target_bps)));
        }
        None
    }

    fn pacing_rate(&self) -> u64 {
        if let Some(p) = self.probe {
            return p.rate_bps;
        }
        let paced = self
            .target_bps
            .saturating_mul(u64::from(self.config.pacing_factor_percent))
            / 100;
        let max_queue_micros = (self.config.max_queue_time.as_micros() as u64).max(1);
        let drain = self.queued_bytes.saturating_mul(8_000_000) / max_queue_micros;
        paced.max(drain)
    }

    fn refill(&mut self, now: Instant) {
        let last = *self.last_refill.get_or_insert(now);
        let micros = now.saturating_duration_since(last).as_micros() as u64;
        if micros == 0 {
            return;
        }
        let rate = self.pacing_rate();
        let burst_micros = self.config.burst.as_micros() as u64;
        let cap = i64::try_from(u128::from(rate) * u128::from(burst_micros) / 1_000_000)
            .unwrap_or(i64::MAX);
        self.pacing.refill(rate, micros, cap);
        let window = self.config.average_window.as_micros() as u64;
        let cap = i64::try_from(u128::from(self.target_bps) * u128::from(window) / 1_000_000)
            .unwrap_or(i64::MAX);
        self.average.refill(self.target_bps, micros, cap);
        self.last_refill = Some(now);
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

    fn release(&mut self, index: usize) -> Option<Release> {
        let entry = self.queue.get_mut(index)?.take()?;
        if let Some(count) = self.waiting.get_mut(entry.class as usize) {
            *count = count.saturating_sub(1);
        }
        self.queued_bytes = self.queued_bytes.saturating_sub(u64::from(entry.size));
        self.pacing.spend(entry.size);
        self.average.spend(entry.size);
        let size = u64::from(entry.size);
        let class_index = entry.class as usize;
        if let Some(b) = self.stats.bytes.get_mut(class_index) {
            *b += size;
        }
        match entry.class {
            Class::Video if self.waiting(Class::Data) => self.contended_video += size,
            Class::Data if self.waiting(Class::Video) => self.contended_data += size,
            _ => {}
        }
        self.count_probe(entry.size);
        Some(Release::Packet {
            id: entry.id,
            class: entry.class,
            size: entry.size,
        })
    }

    fn count_probe(&mut self, size: u16) {
        if let Some(p) = self.probe.as_mut() {
            p.bytes_left = p.bytes_left.saturating_sub(u32::from(size));
            if p.bytes_left == 0 {
                self.probe = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
