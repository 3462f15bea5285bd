//! The pacing budget: what may leave now, decided from what waits, for a host that keeps its
//! own queues (the Peer's send histories and SCTP's send queue) as for [`Pacer`](crate::Pacer),
//! which keeps ids.
//!
//! ```text
//!   next(now, backlog):
//!     audio waits            ─▶ Send(Audio) at once (counted against both budgets)
//!     pacing budget ≤ 0      ─▶ None (poll_timeout says until when)
//!     retransmission waits   ─▶ Send(Retransmission)
//!     video ≍ data           ─▶ data only within the average budget (target rate), and at
//!                               least its share of the bytes while both wait
//!     probe running, idle    ─▶ Padding { size } (if the host can pad; else the probe ends)
//!   on_sent(class, size) / on_padding_sent(size): the bytes that left, whatever was granted
//!   budgets: pacing = target × factor (bursty media drains fast), burst allowance on top;
//!            average = target (what data may use beside the media)
//! ```
//!
//! A backlog that would take longer than `max_queue_time` at the pacing rate raises the rate
//! so the encoder's backlog does not grow into seconds of latency.

use core::time::Duration;

use peerless_base::Instant;

use crate::probe::ProbeCluster;

/// What a packet is, in order of priority (padding is never queued: the budget asks for it).
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

impl Class {
    /// Every class, in order of priority.
    pub const ALL: [Class; 4] = [
        Class::Audio,
        Class::Retransmission,
        Class::Video,
        Class::Data,
    ];
}

/// What waits to leave, as the host's queues see it now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Backlog {
    /// Whether a packet of each class waits (audio, retransmission, video, data).
    pub waiting: [bool; 4],
    /// Media bytes waiting (what the drain-rate floor is computed from).
    pub bytes: u64,
    /// Whether the host can send padding for a probe (an RTX stream with a packet to resend).
    pub can_pad: bool,
}

impl Backlog {
    /// Whether a packet of `class` waits.
    #[must_use]
    pub fn has(&self, class: Class) -> bool {
        self.waiting.get(class as usize).copied().unwrap_or(false)
    }

    /// Marks `class` as waiting.
    pub fn add(&mut self, class: Class) {
        if let Some(w) = self.waiting.get_mut(class as usize) {
            *w = true;
        }
    }
}

/// What may leave now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Grant {
    /// One packet of this class.
    Send(Class),
    /// A probe needs bytes and nothing waits: send padding (an RTX packet) of about this
    /// size, on the transport-wide sequence numbers like media.
    Padding {
        /// Bytes.
        size: u16,
    },
}

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
    /// Bytes sent per class: audio, retransmission, video, data.
    pub bytes: [u64; 4],
    /// Padding bytes sent.
    pub padding_bytes: u64,
    /// Enqueues refused because the queue was full ([`Pacer`](crate::Pacer) only).
    pub rejected_full: u64,
    /// Probe clusters started.
    pub probes: u64,
    /// Probes ended early because nothing could be sent for them.
    pub probes_unpadded: u64,
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

    fn spend(&mut self, bytes: usize) {
        let bits = i64::try_from(bytes)
            .unwrap_or(i64::MAX / 8)
            .saturating_mul(8);
        self.bits = self.bits.saturating_sub(bits);
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

/// The budgets and the order of classes; the host keeps the packets.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PacingBudget {
    config: PacerConfig,
    target_bps: u64,
    pacing: Bucket,
    average: Bucket,
    last_refill: Option<Instant>,
    /// The media bytes waiting at the last decision: the drain-rate floor's input.
    backlog_bytes: u64,
    probe: Option<Probe>,
    /// Bytes each of video and data sent while both waited (reset when one runs dry).
    contended_video: u64,
    contended_data: u64,
    /// The encoders' share last announced ([`poll_media_target`](Self::poll_media_target)).
    announced_bps: Option<u64>,
    stats: PacerStats,
}

impl PacingBudget {
    /// A budget at `target_bps` (the estimator's target).
    #[must_use]
    pub fn new(config: PacerConfig, target_bps: u64) -> Self {
        PacingBudget {
            config,
            target_bps,
            pacing: Bucket::default(),
            average: Bucket::default(),
            last_refill: None,
            backlog_bytes: 0,
            probe: None,
            contended_video: 0,
            contended_data: 0,
            announced_bps: None,
            stats: PacerStats::default(),
        }
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &PacerStats {
        &self.stats
    }

    pub(crate) fn stats_mut(&mut self) -> &mut PacerStats {
        &mut self.stats
    }

    /// The target the budgets refill at.
    #[must_use]
    pub fn target_bps(&self) -> u64 {
        self.target_bps
    }

    /// A new target from the estimator.
    pub fn set_target(&mut self, now: Instant, target_bps: u64) {
        self.refill(now);
        self.target_bps = target_bps;
    }

    /// What the encoders may use: the target, less data's share while data waits.
    #[must_use]
    pub fn media_target_bps(&self, backlog: &Backlog) -> u64 {
        if backlog.has(Class::Data) {
            self.target_bps
                .saturating_mul(u64::from(100 - self.config.data_share_percent.min(100)))
                / 100
        } else {
            self.target_bps
        }
    }

    /// The encoders' share ([`media_target_bps`](Self::media_target_bps)) when it moved by more
    /// than 5 % since it was last given (the first time always): what a host announces to its
    /// encoders, by the estimator's rule for its own target.
    pub fn poll_media_target(&mut self, backlog: &Backlog) -> Option<u64> {
        let media = self.media_target_bps(backlog);
        if !crate::estimator::moved_enough(self.announced_bps, media) {
            return None;
        }
        self.announced_bps = Some(media);
        Some(media)
    }

    /// Sends `cluster` from now: at its rate, media first and padding for the rest.
    pub fn start_probe(&mut self, now: Instant, cluster: &ProbeCluster) {
        self.refill(now);
        self.pacing = Bucket::default();
        self.stats.probes += 1;
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

    /// What may leave at `now`, given what waits. Nothing is spent until the host says what
    /// it sent ([`on_sent`](Self::on_sent), [`on_padding_sent`](Self::on_padding_sent)).
    pub fn next(&mut self, now: Instant, backlog: &Backlog) -> Option<Grant> {
        self.refill(now);
        self.backlog_bytes = backlog.bytes;
        let media = [Class::Audio, Class::Retransmission, Class::Video]
            .into_iter()
            .any(|c| backlog.has(c));
        if self.probe.is_some() && !media && !backlog.can_pad {
            // Nothing to send it with: the estimator finds the probe unanswered.
            self.probe = None;
            self.stats.probes_unpadded += 1;
        }
        if backlog.has(Class::Audio) {
            return Some(Grant::Send(Class::Audio));
        }
        if self.pacing.bits <= 0 {
            return None;
        }
        if backlog.has(Class::Retransmission) {
            return Some(Grant::Send(Class::Retransmission));
        }
        match (backlog.has(Class::Video), backlog.has(Class::Data)) {
            (true, true) => {
                // Both wait: data takes its share of the bytes whatever the average budget
                // says, so a video backlog cannot starve it, nor it the video.
                let share = u64::from(self.config.data_share_percent.min(100));
                let data_behind =
                    self.contended_data * (100 - share) <= self.contended_video * share;
                return Some(Grant::Send(if data_behind {
                    Class::Data
                } else {
                    Class::Video
                }));
            }
            (video, data) => {
                self.contended_video = 0;
                self.contended_data = 0;
                if video {
                    return Some(Grant::Send(Class::Video));
                }
                // Data alone: only what the target leaves beside the media.
                if data && self.average.bits > 0 {
                    return Some(Grant::Send(Class::Data));
                }
            }
        }
        let probe = self.probe.as_ref().filter(|_| backlog.can_pad)?;
        let size = self
            .config
            .max_padding
            .min(u16::try_from(probe.bytes_left).unwrap_or(u16::MAX));
        Some(Grant::Padding { size: size.max(1) })
    }

    /// A packet of `class`, `size` bytes, left (granted or not: bytes that left count).
    /// `backlog` is what waited when it was chosen.
    pub fn on_sent(&mut self, class: Class, size: usize, backlog: &Backlog) {
        self.pacing.spend(size);
        self.average.spend(size);
        let bytes = size as u64;
        if let Some(b) = self.stats.bytes.get_mut(class as usize) {
            *b += bytes;
        }
        match class {
            Class::Video if backlog.has(Class::Data) => self.contended_video += bytes,
            Class::Data if backlog.has(Class::Video) => self.contended_data += bytes,
            _ => {}
        }
        self.count_probe(size);
    }

    /// Padding of `size` bytes left for the running probe.
    pub fn on_padding_sent(&mut self, size: usize) {
        self.pacing.spend(size);
        self.average.spend(size);
        self.stats.padding_bytes += size as u64;
        self.count_probe(size);
    }

    /// When [`next`](Self::next) may grant something for `backlog`.
    #[must_use]
    pub fn poll_timeout(&self, backlog: &Backlog) -> Option<Instant> {
        let now = self.last_refill.unwrap_or(Instant::ZERO);
        if backlog.has(Class::Audio) {
            return Some(now);
        }
        let media = backlog.has(Class::Retransmission)
            || backlog.has(Class::Video)
            || (self.probe.is_some() && backlog.can_pad);
        let rate = self.pacing_rate(backlog.bytes);
        let paced = self.pacing.positive_at(now, rate);
        if media {
            return Some(paced);
        }
        if backlog.has(Class::Data) {
            return Some(paced.max(self.average.positive_at(now, self.target_bps)));
        }
        None
    }

    fn pacing_rate(&self, backlog_bytes: u64) -> u64 {
        if let Some(p) = self.probe {
            return p.rate_bps;
        }
        let paced = self
            .target_bps
            .saturating_mul(u64::from(self.config.pacing_factor_percent))
            / 100;
        let max_queue_micros = (self.config.max_queue_time.as_micros() as u64).max(1);
        let drain = backlog_bytes.saturating_mul(8_000_000) / max_queue_micros;
        paced.max(drain)
    }

    fn refill(&mut self, now: Instant) {
        let last = *self.last_refill.get_or_insert(now);
        let micros = now.saturating_duration_since(last).as_micros() as u64;
        if micros == 0 {
            return;
        }
        let rate = self.pacing_rate(self.backlog_bytes);
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

    fn count_probe(&mut self, size: usize) {
        if let Some(p) = self.probe.as_mut() {
            p.bytes_left = p
                .bytes_left
                .saturating_sub(u32::try_from(size).unwrap_or(u32::MAX));
            if p.bytes_left == 0 {
                self.probe = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_with_nothing_to_pad_with_ends_and_is_counted() {
        let mut budget = PacingBudget::new(PacerConfig::default(), 300_000);
        let cluster = ProbeCluster {
            id: 1,
            bitrate_bps: 900_000,
            bytes: 3000,
        };
        let now = Instant::from_millis(1);
        budget.start_probe(now, &cluster);
        let idle = Backlog::default();
        assert_eq!(budget.next(now, &idle), None);
        assert!(!budget.probing());
        assert_eq!(budget.stats().probes_unpadded, 1);
        assert_eq!(
            budget.poll_timeout(&idle),
            None,
            "nothing waits: no deadline"
        );
    }

    #[test]
    fn a_host_queue_drains_at_the_pacing_rate_and_padding_fills_a_probe() {
        // The Peer's way: its queues say what waits, it sends what is granted.
        let mut budget = PacingBudget::new(
            PacerConfig {
                pacing_factor_percent: 100,
                ..PacerConfig::default()
            },
            960_000,
        );
        let mut queued = 10u32;
        let mut now = Instant::ZERO;
        let mut times = std::vec::Vec::new();
        while queued > 0 {
            let backlog = Backlog {
                waiting: [false, false, true, false],
                bytes: u64::from(queued) * 1200,
                can_pad: true,
            };
            match budget.next(now, &backlog) {
                Some(Grant::Send(Class::Video)) => {
                    budget.on_sent(Class::Video, 1200, &backlog);
                    queued -= 1;
                    times.push(now);
                }
                None => now = budget.poll_timeout(&backlog).expect("video waits"),
                other => panic!("{other:?}"),
            }
        }
        // 1200 bytes at 960 kbit/s: 10 ms apart.
        let span = (times[9] - times[0]).as_micros() as u64;
        assert!(span.abs_diff(90_000) <= 10, "{span}");
        // A probe while idle: padding until its bytes are spent.
        budget.start_probe(
            now,
            &ProbeCluster {
                id: 2,
                bitrate_bps: 1_920_000,
                bytes: 2400,
            },
        );
        let pad = Backlog {
            can_pad: true,
            ..Backlog::default()
        };
        let mut padded = 0;
        while budget.probing() {
            match budget.next(now, &pad) {
                Some(Grant::Padding { size }) => {
                    budget.on_padding_sent(usize::from(size));
                    padded += usize::from(size);
                }
                None => now = budget.poll_timeout(&pad).expect("probe runs"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(padded, 2400);
        assert_eq!(budget.stats().padding_bytes, 2400);
        assert_eq!(budget.stats().bytes[Class::Video as usize], 12_000);
    }

    #[test]
    fn the_encoders_share_is_announced_when_it_moves_by_more_than_five_percent() {
        let now = Instant::from_millis(1);
        let mut budget = PacingBudget::new(PacerConfig::default(), 1_000_000);
        let idle = Backlog::default();
        assert_eq!(
            budget.poll_media_target(&idle),
            Some(1_000_000),
            "the first always"
        );
        assert_eq!(budget.poll_media_target(&idle), None);
        budget.set_target(now, 1_040_000);
        assert_eq!(budget.poll_media_target(&idle), None, "4 %: not yet");
        // A transfer waits: data's 20 % comes off the encoders' share.
        let mut data = Backlog::default();
        data.add(Class::Data);
        assert_eq!(budget.poll_media_target(&data), Some(832_000));
        assert_eq!(budget.poll_media_target(&idle), Some(1_040_000));
    }
}
