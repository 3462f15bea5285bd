//! When to send RTCP reports (RFC 3550 §6.2, §6.3, A.7) and what goes in them: SR or RR with
//! report blocks, SDES CNAME, BYE; feedback compounds, reduced-size (RFC 5506) when negotiated.
//!
//! ```text
//!   new ──▶ first report at T(initial: half the minimum) ──▶ handle_timeout(tn)
//!             │                                                 │ T = interval(now's members, sizes)
//!             │                                                 ├─ tp + T > now: not yet, tn = tp + T (reconsideration)
//!             │                                                 └─ due ─▶ write_report: SR (sent RTP in the last two
//!             │                                                          intervals) or RR, blocks, SDES CNAME;
//!             │                                                          tp = now, tn = now + T
//!   a member leaves ─▶ tn and tp pulled in by members/pmembers (reverse reconsideration, §6.3.4)
//!   bye(now) ─▶ due at once (fewer than 50 members, §6.3.7) ─▶ write_report adds BYE ─▶ no more timeouts
//!   write_feedback: RR + SDES + feedback, or the feedback alone when reduced size is negotiated
//! ```
//!
//! The interval T is RFC 3550 A.7's `rtcp_interval`: the RTCP bandwidth (5 % of the session's)
//! shared among members, a quarter for senders when they are few, never below the minimum,
//! times a random factor in [0.5, 1.5), divided by e - 3/2 to make up for the reconsideration's
//! bias. Integer arithmetic only (microseconds and bytes), so firmware needs no float.

use core::fmt;
use core::time::Duration;

use peerless_base::{Drbg, Instant};

use crate::rtcp::{CompoundBuilder, ReportBlock, SdesChunkRepr, SdesItem, SdesType, SenderInfo};

/// RFC 3550 §6.2's fixed minimum interval.
pub const RFC3550_MINIMUM: Duration = Duration::from_secs(5);

/// e - 3/2 in millionths, with e to five decimals as RFC 3550 A.7 writes it (2.71828).
const COMPENSATION_MILLIONTHS: u128 = 1_218_280;
const MILLION: u128 = 1_000_000;

/// What the interval depends on (RFC 3550 A.7's `rtcp_interval` arguments).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IntervalInputs {
    /// Members of the session, us included.
    pub members: u32,
    /// Senders among them, us included if we sent.
    pub senders: u32,
    /// The RTCP bandwidth in bytes per second (5 % of the session bandwidth).
    pub rtcp_bytes_per_second: u32,
    /// We sent RTP since the second-last report.
    pub we_sent: bool,
    /// The average compound size in bytes, lower layers included.
    pub avg_rtcp_size: u32,
    /// No report sent yet: the minimum is halved.
    pub initial: bool,
    /// The minimum interval (before halving).
    pub minimum: Duration,
}

/// The deterministic interval of RFC 3550 A.7, before randomization.
#[must_use]
pub fn deterministic_interval(inputs: &IntervalInputs) -> Duration {
    let minimum = if inputs.initial {
        inputs.minimum / 2
    } else {
        inputs.minimum
    };
    let mut n = inputs.members.max(1);
    // Senders get a quarter of the bandwidth when they are at most a quarter of the members.
    let mut bandwidth_quarters = 4u128;
    if u64::from(inputs.senders) * 4 <= u64::from(inputs.members) {
        if inputs.we_sent {
            bandwidth_quarters = 1;
            n = inputs.senders.max(1);
        } else {
            bandwidth_quarters = 3;
            n = inputs.members.saturating_sub(inputs.senders).max(1);
        }
    }
    // t = avg_size * n / (bw * quarters / 4), in microseconds.
    let bandwidth = u128::from(inputs.rtcp_bytes_per_second.max(1)) * bandwidth_quarters;
    let micros = u128::from(inputs.avg_rtcp_size) * u128::from(n) * 4 * MILLION / bandwidth;
    let t = Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX));
    t.max(minimum)
}

/// RFC 3550 A.7's interval for a random draw `uniform_millionths` in 0..1 000 000 (the
/// factor 0.5 + draw), compensated by e - 3/2.
#[must_use]
pub fn randomized_interval(inputs: &IntervalInputs, uniform_millionths: u32) -> Duration {
    let t = deterministic_interval(inputs).as_micros();
    let factor = MILLION / 2 + u128::from(uniform_millionths.min(999_999));
    let micros = t * factor / COMPENSATION_MILLIONTHS;
    Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
}

/// RFC 3550 §6.2's reduced minimum: 360 / (session bandwidth in kbit/s) seconds.
#[must_use]
pub fn reduced_minimum(session_bits_per_second: u32) -> Duration {
    let kbps = u64::from(session_bits_per_second.max(1));
    Duration::from_micros(360 * 1_000_000 * 1000 / kbps)
}

/// How often to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ScheduleConfig {
    /// The session bandwidth in bits per second (`b=AS`, or the media's bitrate); RTCP takes
    /// 5 % of it.
    pub session_bits_per_second: u32,
    /// The minimum interval: [`RFC3550_MINIMUM`], [`reduced_minimum`] of the session
    /// bandwidth, or what a profile says (RFC 4585 AVPF drops it after the first report).
    /// The first report waits for half of it.
    pub minimum: Duration,
    /// Reduced-size RTCP (RFC 5506, `a=rtcp-rsize`) was negotiated: feedback may go alone.
    pub reduced_size: bool,
    /// Bytes below RTCP counted in each packet's size (UDP and IPv4: 28; add SRTCP's 14).
    pub lower_layer_overhead: u16,
}

impl ScheduleConfig {
    /// RFC 3550 with the 5 s minimum.
    #[must_use]
    pub const fn rfc3550(session_bits_per_second: u32) -> Self {
        ScheduleConfig {
            session_bits_per_second,
            minimum: RFC3550_MINIMUM,
            reduced_size: false,
            lower_layer_overhead: 28 + 14,
        }
    }

    fn rtcp_bytes_per_second(&self) -> u32 {
        // 5 % of the bandwidth, in bytes.
        (self.session_bits_per_second / 160).max(1)
    }
}

/// What one report says; the schedule adds the packets' order and the SR/RR choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ReportContent<'a> {
    /// Our SSRC (the sender's, or a receive-only SSRC).
    pub ssrc: u32,
    /// Sender information, when we send RTP ([`SenderStats::sender_info`](super::SenderStats::sender_info)).
    /// An SR is written when it is given and we sent RTP in the last two intervals.
    pub sender_info: Option<SenderInfo>,
    /// Reception report blocks (at most 31).
    pub blocks: &'a [ReportBlock],
    /// Our CNAME (RFC 7022: random, at most 255 bytes).
    pub cname: &'a [u8],
}

/// A report could not be written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ReportError {
    /// The buffer is too small; nothing was recorded as sent.
    BufferTooSmall {
        /// The compound's size.
        needed: usize,
    },
    /// More than 31 report blocks, or a CNAME longer than 255 bytes.
    Unencodable,
}

impl fmt::Display for ReportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReportError::BufferTooSmall { needed } => {
                write!(f, "RTCP compound needs {needed} bytes")
            }
            ReportError::Unencodable => {
                f.write_str("more than 31 report blocks or a CNAME over 255 bytes")
            }
        }
    }
}

impl core::error::Error for ReportError {}

impl From<crate::WireError> for ReportError {
    fn from(e: crate::WireError) -> Self {
        match e {
            crate::WireError::BufferTooSmall { needed } => ReportError::BufferTooSmall { needed },
            _ => ReportError::Unencodable,
        }
    }
}

/// The kind of report [`RtcpSchedule::write_report`] wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Written {
    /// Bytes written.
    pub len: usize,
    /// An SR (else an RR).
    pub sender_report: bool,
    /// It ended with a BYE: the schedule is finished.
    pub bye: bool,
}

/// The RTCP schedule of one participant (all its SSRCs report in one compound).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[cfg_attr(fuzzing, derive(Clone))]
pub struct RtcpSchedule {
    config: ScheduleConfig,
    rng: Drbg,
    now: Instant,
    joined: Instant,
    /// The last report's time (tp) and the one before (for "sent in the last two intervals").
    last_report: Option<Instant>,
    report_before: Option<Instant>,
    /// The next check (tn); `None` once BYE is written.
    next: Option<Instant>,
    remote_members: u32,
    remote_senders: u32,
    pmembers: u32,
    last_rtp_sent: Option<Instant>,
    /// Average compound size in 1/16 bytes.
    avg_size_sixteenths: u32,
    due: bool,
    bye: bool,
    reports: u64,
    deferred: u64,
}

impl fmt::Debug for RtcpSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtcpSchedule")
            .field("config", &self.config)
            .field("next", &self.next)
            .field("last_report", &self.last_report)
            .field("due", &self.due)
            .field("bye", &self.bye)
            .finish_non_exhaustive()
    }
}

impl RtcpSchedule {
    /// A schedule starting at `now`, drawing its random factors from `rng`, with one other
    /// member that sends (a peer connection's far end); see [`set_remote`](Self::set_remote).
    #[must_use]
    pub fn new(config: ScheduleConfig, now: Instant, rng: Drbg) -> Self {
        let mut schedule = RtcpSchedule {
            config,
            rng,
            now,
            joined: now,
            last_report: None,
            report_before: None,
            next: None,
            remote_members: 1,
            remote_senders: 1,
            pmembers: 2,
            last_rtp_sent: None,
            // RFC 3550 §6.3.2: start from the size of the first packet we will send; an SR
            // with one block and a short CNAME is about 100 bytes.
            avg_size_sixteenths: (100 + u32::from(config.lower_layer_overhead)) * 16,
            due: false,
            bye: false,
            reports: 0,
            deferred: 0,
        };
        let t = schedule.draw_interval();
        schedule.next = Some(now.saturating_add(t));
        schedule
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ScheduleConfig {
        &self.config
    }

    /// Changes the bandwidth or minimum from the next interval on.
    pub fn set_config(&mut self, config: ScheduleConfig) {
        self.config = config;
    }

    /// When to call [`handle_timeout`](Self::handle_timeout): the next scheduled report
    /// (tn), `None` while a report is due or after BYE.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.due { None } else { self.next }
    }

    /// The timer fired: decides, with the members and sizes as they are now, whether a report
    /// is due ([`is_due`](Self::is_due)) or the next check moves (timer reconsideration,
    /// RFC 3550 §6.3.6).
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.now.advance(now);
        let Some(next) = self.next else { return };
        if self.due || now < next {
            return;
        }
        let t = self.draw_interval();
        // Before the first report, tp is the time we joined (RFC 3550 §6.3.2).
        let tp = self.last_report.unwrap_or(self.joined);
        let at = tp.saturating_add(t);
        if at <= now {
            self.due = true;
        } else {
            self.deferred += 1;
            self.next = Some(at);
        }
    }

    /// A report should be written now with [`write_report`](Self::write_report).
    #[must_use]
    pub fn is_due(&self) -> bool {
        self.due
    }

    /// We sent an RTP packet at `now` (for the SR/RR choice and the senders' share).
    pub fn on_rtp_sent(&mut self, now: Instant) {
        let now = self.now.advance(now);
        self.last_rtp_sent = Some(now);
    }

    /// An RTCP compound of `len` bytes (RTCP only; the lower layers are added) arrived: it
    /// counts in the average size the interval is computed from (RFC 3550 §6.3.3).
    pub fn on_rtcp_received(&mut self, len: usize) {
        self.account_size(len);
    }

    /// The other participants now number `members`, `senders` of whom send. When members
    /// leave, the next report and the last one are pulled in proportionally (reverse
    /// reconsideration, RFC 3550 §6.3.4), so the survivors do not fall silent.
    pub fn set_remote(&mut self, now: Instant, members: u32, senders: u32) {
        let now = self.now.advance(now);
        self.remote_members = members;
        self.remote_senders = senders.min(members);
        let total = self.members();
        if total < self.pmembers {
            // In u128: `Duration * u32` panics on overflow, and a wait of years (a huge
            // session) times billions of members would.
            let scale = |d: Duration| {
                let micros = d.as_micros() * u128::from(total) / u128::from(self.pmembers.max(1));
                Duration::from_micros(u64::try_from(micros).unwrap_or(u64::MAX))
            };
            if let Some(next) = self.next {
                self.next = Some(now.saturating_add(scale(next.saturating_duration_since(now))));
            }
            if let Some(tp) = self.last_report {
                self.last_report =
                    Some(now.saturating_sub(scale(now.saturating_duration_since(tp))));
            }
        }
        self.pmembers = total;
    }

    /// Leave the session: the next report, due at once, ends with a BYE (with fewer than 50
    /// members RFC 3550 §6.3.7 lets it go without waiting).
    pub fn bye(&mut self, now: Instant) {
        self.now.advance(now);
        if self.next.is_some() {
            self.bye = true;
            self.due = true;
        }
    }

    /// Reports written so far.
    #[must_use]
    pub fn reports_sent(&self) -> u64 {
        self.reports
    }

    /// Times the timer fired and reconsideration moved the report later.
    #[must_use]
    pub fn reports_deferred(&self) -> u64 {
        self.deferred
    }

    /// We sent RTP since the second-last report (RFC 3550 §6.3.8), so we report as a sender.
    #[must_use]
    pub fn we_sent(&self) -> bool {
        match (self.last_rtp_sent, self.report_before) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(sent), Some(before)) => sent >= before,
        }
    }

    /// The interval's inputs as they are now (for tests and statistics).
    #[must_use]
    pub fn interval_inputs(&self) -> IntervalInputs {
        let we_sent = self.we_sent();
        IntervalInputs {
            members: self.members(),
            senders: self.remote_senders.saturating_add(u32::from(we_sent)),
            rtcp_bytes_per_second: self.config.rtcp_bytes_per_second(),
            we_sent,
            avg_rtcp_size: self.avg_size_sixteenths / 16,
            initial: self.last_report.is_none(),
            minimum: self.config.minimum,
        }
    }

    /// Writes the due report (or one on demand) into `buf`: an SR (sender information given
    /// and RTP sent in the last two intervals) or an RR, with `content.blocks`, then SDES with
    /// the CNAME, then BYE if [`bye`](Self::bye) was called. Schedules the next one.
    ///
    /// # Errors
    ///
    /// [`ReportError`]; the report stays due.
    pub fn write_report(
        &mut self,
        now: Instant,
        buf: &mut [u8],
        content: &ReportContent<'_>,
    ) -> Result<Written, ReportError> {
        let now = self.now.advance(now);
        let sender_report = content.sender_info.is_some() && self.we_sent();
        let mut b = CompoundBuilder::new(buf);
        Self::report_head(&mut b, content, sender_report);
        if self.bye {
            b.bye(&[content.ssrc], None);
        }
        let len = b.finish()?;
        self.account_size(len);
        self.report_before = self.last_report;
        self.last_report = Some(now);
        self.reports += 1;
        self.due = false;
        if self.bye {
            self.next = None;
        } else {
            let t = self.draw_interval();
            self.next = Some(now.saturating_add(t));
        }
        Ok(Written {
            len,
            sender_report,
            bye: self.bye,
        })
    }

    /// Writes feedback (NACK, PLI, FIR, transport-cc, REMB: whatever `feedback` adds) as a
    /// compound RFC 4585 allows between reports: with reduced size negotiated (RFC 5506) the
    /// feedback alone, else after an RR or SR (without report blocks) and SDES CNAME. Its size
    /// counts in the average; the regular schedule is unchanged.
    ///
    /// # Errors
    ///
    /// [`ReportError`] from the builder (a feedback packet that cannot be encoded, a buffer
    /// too small).
    pub fn write_feedback(
        &mut self,
        buf: &mut [u8],
        content: &ReportContent<'_>,
        feedback: impl FnOnce(&mut CompoundBuilder<'_>),
    ) -> Result<usize, ReportError> {
        let mut b = CompoundBuilder::new(buf);
        if !self.config.reduced_size {
            let bare = ReportContent {
                blocks: &[],
                ..*content
            };
            Self::report_head(
                &mut b,
                &bare,
                content.sender_info.is_some() && self.we_sent(),
            );
        }
        feedback(&mut b);
        let len = b.finish()?;
        self.account_size(len);
        Ok(len)
    }

    fn report_head(b: &mut CompoundBuilder<'_>, content: &ReportContent<'_>, sender_report: bool) {
        match content.sender_info {
            Some(info) if sender_report => b.sender_report(content.ssrc, &info, content.blocks),
            _ => b.receiver_report(content.ssrc, content.blocks),
        };
        b.sdes(&[SdesChunkRepr {
            ssrc: content.ssrc,
            items: &[SdesItem {
                kind: SdesType::CNAME,
                value: content.cname,
            }],
        }]);
    }

    fn members(&self) -> u32 {
        self.remote_members.saturating_add(1)
    }

    fn account_size(&mut self, len: usize) {
        let size = u32::try_from(len)
            .unwrap_or(u32::MAX / 32)
            .saturating_add(u32::from(self.config.lower_layer_overhead));
        // avg = size / 16 + avg * 15 / 16, kept in sixteenths: avg16 += size - avg16 / 16.
        self.avg_size_sixteenths = self
            .avg_size_sixteenths
            .saturating_sub(self.avg_size_sixteenths / 16)
            .saturating_add(size);
    }

    fn draw_interval(&mut self) -> Duration {
        let draw = self.rng.below(1_000_000) as u32;
        randomized_interval(&self.interval_inputs(), draw)
    }
}
