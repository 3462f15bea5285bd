//! Sender statistics for the SR (RFC 3550 §6.4.1): packets, octets, and the NTP/RTP time
//! mapping; the round-trip time from a report block's LSR and DLSR.
//!
//! ```text
//!   on_sent(now, rtp ts, payload octets) ── counts; a new timestamp anchors (now ↔ ts)
//!   sender_info(now) ── NTP(now) = origin + now;  RTP(now) = anchor ts + (now - anchor) x clock rate
//!
//!   us ──SR (NTP T1)────────────────▶ them      A   = NTP middle 32 bits when the RR arrives
//!   us ◀──RR (LSR = T1 mid, DLSR)──── them      RTT = A - LSR - DLSR   (1/65536 s)
//! ```
//!
//! Time is the host's [`Instant`]; wall-clock time enters once, as the NTP time of
//! `Instant::ZERO` ([`NtpTime::from_unix`] of the host's clock at that origin), so the SR's
//! NTP timestamps advance exactly with the instants the machines see.

use core::time::Duration;

use peerless_base::Instant;

use crate::rtcp::{ReportBlock, SenderInfo};

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// An NTP timestamp (RFC 3550 §4): seconds since 1900 in 32.32 fixed point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NtpTime(pub u64);

impl NtpTime {
    /// The NTP time of a moment given as time since the Unix epoch (e.g.
    /// `SystemTime::now().duration_since(UNIX_EPOCH)`).
    #[must_use]
    pub fn from_unix(since_unix_epoch: Duration) -> Self {
        NtpTime(0).add_duration(since_unix_epoch + Duration::from_secs(NTP_UNIX_OFFSET_SECS))
    }

    /// This time plus `d` (wrapping like the 32-bit seconds field, in 2036).
    #[must_use]
    pub fn add_duration(self, d: Duration) -> Self {
        let seconds = d.as_secs() << 32;
        // Nanoseconds to 2^-32 s, rounded to nearest.
        let fraction = ((u64::from(d.subsec_nanos()) << 32) + 500_000_000) / 1_000_000_000;
        NtpTime(self.0.wrapping_add(seconds).wrapping_add(fraction))
    }

    /// The middle 32 bits (16.16 fixed point): what LSR carries.
    #[must_use]
    pub fn middle_32(self) -> u32 {
        (self.0 >> 16) as u32
    }
}

/// A 16.16 fixed-point count of seconds (DLSR, and RTT's unit) as a duration, rounded to the
/// nearest microsecond.
#[must_use]
pub fn duration_from_16_16(units: u32) -> Duration {
    Duration::from_micros((u64::from(units) * 1_000_000 + 32_768) >> 16)
}

/// A duration as 16.16 fixed-point seconds (a DLSR), rounded to nearest, saturating.
#[must_use]
pub fn duration_to_16_16(d: Duration) -> u32 {
    let units = (d.as_micros() << 16).saturating_add(500_000) / 1_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// The round-trip time from a report block about our stream (RFC 3550 §6.4.1): `arrival` is
/// our NTP time when the report arrived. `None` when the reporter has no SR of ours yet
/// (LSR 0) or when the times do not add up (the delay since our SR exceeds the time since
/// we sent it: a clock or a reporter to distrust).
#[must_use]
pub fn round_trip_time(arrival: NtpTime, block: &ReportBlock) -> Option<Duration> {
    if block.last_sr == 0 {
        return None;
    }
    let since_sr = arrival.middle_32().wrapping_sub(block.last_sr);
    // More than half the 16.16 range (9 hours) means the SR is "in the future".
    if since_sr >= 0x8000_0000 {
        return None;
    }
    since_sr
        .checked_sub(block.delay_since_last_sr)
        .map(duration_from_16_16)
}

/// Counts and the time mapping of one sending SSRC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SenderStats {
    clock_rate: u32,
    ntp_origin: NtpTime,
    packets: u32,
    octets: u32,
    packets_total: u64,
    octets_total: u64,
    /// The instant and RTP timestamp of the first packet with the newest timestamp.
    anchor: Option<(Instant, u32)>,
    last_sent: Option<Instant>,
    now: Instant,
}

impl SenderStats {
    /// Statistics of a stream whose RTP clock runs at `clock_rate` Hz (90 000 for video,
    /// 48 000 for Opus), with `ntp_origin` the NTP time of `Instant::ZERO`.
    #[must_use]
    pub fn new(clock_rate: u32, ntp_origin: NtpTime) -> Self {
        SenderStats {
            clock_rate,
            ntp_origin,
            packets: 0,
            octets: 0,
            packets_total: 0,
            octets_total: 0,
            anchor: None,
            last_sent: None,
            now: Instant::ZERO,
        }
    }

    /// A packet left at `now` with this RTP timestamp and `payload_octets` of payload (RFC
    /// 3550 counts the payload only: no header, no padding). The first packet of each new
    /// timestamp anchors the RTP clock to `now`, the closest we know to the capture time.
    pub fn on_sent(&mut self, now: Instant, rtp_timestamp: u32, payload_octets: usize) {
        let now = self.now.advance(now);
        self.packets = self.packets.wrapping_add(1);
        let octets = u32::try_from(payload_octets).unwrap_or(u32::MAX);
        self.octets = self.octets.wrapping_add(octets);
        self.packets_total += 1;
        self.octets_total += payload_octets as u64;
        if self.anchor.is_none_or(|(_, ts)| ts != rtp_timestamp) {
            self.anchor = Some((now, rtp_timestamp));
        }
        self.last_sent = Some(now);
    }

    /// Packets sent (not wrapping).
    #[must_use]
    pub fn packets(&self) -> u64 {
        self.packets_total
    }

    /// Payload octets sent (not wrapping).
    #[must_use]
    pub fn octets(&self) -> u64 {
        self.octets_total
    }

    /// When the last packet left.
    #[must_use]
    pub fn last_sent(&self) -> Option<Instant> {
        self.last_sent
    }

    /// The NTP time of `now`.
    #[must_use]
    pub fn ntp(&self, now: Instant) -> NtpTime {
        self.ntp_origin.add_duration(now.since_origin())
    }

    /// The RTP timestamp that corresponds to `now`: the anchor's, advanced at the clock rate
    /// (rounded to the nearest tick; backwards for a `now` before the anchor).
    #[must_use]
    pub fn rtp_timestamp_at(&self, now: Instant) -> Option<u32> {
        let (at, ts) = self.anchor?;
        let ticks = |d: Duration| {
            let t = (d.as_micros() * u128::from(self.clock_rate) + 500_000) / 1_000_000;
            t as u32 // the RTP clock wraps: only the low 32 bits matter
        };
        Some(if now >= at {
            ts.wrapping_add(ticks(now.saturating_duration_since(at)))
        } else {
            ts.wrapping_sub(ticks(at.saturating_duration_since(now)))
        })
    }

    /// The SR's sender information at `now`, `None` before the first packet.
    #[must_use]
    pub fn sender_info(&self, now: Instant) -> Option<SenderInfo> {
        Some(SenderInfo {
            ntp_timestamp: self.ntp(now).0,
            rtp_timestamp: self.rtp_timestamp_at(now)?,
            packet_count: self.packets,
            octet_count: self.octets,
        })
    }

    /// The round-trip time from a report block about this stream that arrived at `now`.
    #[must_use]
    pub fn round_trip_time(&self, now: Instant, block: &ReportBlock) -> Option<Duration> {
        round_trip_time(self.ntp(now), block)
    }
}
