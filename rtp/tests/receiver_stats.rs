//! Receiver statistics (RFC 3550 A.1, A.3, A.8) against aiortc on the same arrival trace, and
//! the RTT a sender computes from our report block after a known SR/RR exchange.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use peerless_base::Instant;
use peerless_rtp::receive::{ReceiverStats, Validity};
use peerless_rtp::send::{NtpTime, round_trip_time};

/// aiortc's reports on the trace (rtp/tests/data/README.md), or a fresh trace from
/// `RTP_STATS_TRACE` (scripts/interop/rtp-receiver-stats.sh).
fn trace() -> String {
    match std::env::var("RTP_STATS_TRACE") {
        Ok(path) => std::fs::read_to_string(path).unwrap(),
        Err(_) => include_str!("data/receiver_stats_aiortc.txt").to_owned(),
    }
}

#[test]
fn loss_jitter_and_highest_sequence_agree_with_aiortc() {
    let mut stats = ReceiverStats::new(0x1234, 8000);
    let mut reports = 0;
    for line in trace().lines() {
        let f: Vec<i64> = line[2..].split(' ').map(|x| x.parse().unwrap()).collect();
        match &line[..1] {
            "p" => {
                let now = Instant::from_micros(f[2] as u64);
                stats.record(now, f[0] as u16, f[1] as u32);
            }
            "r" => {
                let block = stats.report_block(Instant::ZERO).unwrap();
                assert_eq!(
                    i64::from(block.cumulative_lost),
                    f[1],
                    "report {reports}: lost"
                );
                assert_eq!(
                    i64::from(block.highest_sequence),
                    f[2],
                    "report {reports}: highest"
                );
                assert_eq!(i64::from(block.jitter), f[3], "report {reports}: jitter");
                // RFC 3550's probation counts from the second packet, aiortc from the first:
                // the first interval's expected count differs by one.
                if reports > 0 {
                    assert_eq!(
                        i64::from(block.fraction_lost),
                        f[0],
                        "report {reports}: fraction"
                    );
                }
                reports += 1;
            }
            _ => panic!("bad line {line}"),
        }
    }
    assert!(reports >= 20, "{reports} reports");
}

#[test]
fn jitter_of_a_steady_stream_is_zero_and_of_alternating_delay_converges() {
    // A.8 by hand: transit alternates 0 and 80 units, so |D| = 80 every packet and
    // J converges to 80 (J += (80 - J) / 16).
    let mut s = ReceiverStats::new(1, 8000);
    for i in 0..400u32 {
        let send_us = u64::from(i) * 20_000;
        let extra = if i % 2 == 1 { 10_000 } else { 0 }; // 10 ms = 80 units at 8 kHz
        s.record(Instant::from_micros(send_us + extra), i as u16, i * 160);
    }
    assert_eq!(s.jitter(), 79, "the integer form settles one below 80");
    let mut steady = ReceiverStats::new(1, 90000);
    for i in 0..100u32 {
        steady.record(
            Instant::from_micros(u64::from(i) * 33_333 + 7),
            i as u16,
            i * 3000,
        );
    }
    assert!(steady.jitter() <= 1);
}

#[test]
fn sequence_wrap_counts_cycles_and_a_restart_needs_two_packets() {
    let mut s = ReceiverStats::new(1, 8000);
    let t = Instant::ZERO;
    for seq in 65530u16..=65535 {
        s.record(t, seq, 0);
    }
    for seq in 0u16..5 {
        s.record(t, seq, 0);
    }
    assert_eq!(s.extended_highest(), (1 << 16) + 4);
    assert_eq!(s.cumulative_lost(), 0);
    // A jump of 10 000: the first is a bad sequence, the next in sequence restarts.
    assert_eq!(s.record(t, 10_004, 0), Validity::BadSequence);
    assert_eq!(s.record(t, 10_005, 0), Validity::Counted);
    assert_eq!(s.counters().restarts, 1);
    assert_eq!(s.extended_highest(), 10_005);
    // A loss of fewer than MAX_DROPOUT is loss.
    assert_eq!(s.record(t, 10_105, 0), Validity::Counted);
    assert_eq!(s.cumulative_lost(), 99);
}

#[test]
fn rtt_from_a_known_sr_rr_exchange() {
    // The sender sends an SR at its NTP time T; it takes 30 ms to arrive, the receiver holds
    // it 250 ms before its RR, which takes 30 ms back: the sender (rtp::send) computes 60 ms
    // from our block's LSR and DLSR.
    let t_sr =
        NtpTime::from_unix(Duration::from_secs(1_765_000_000) + Duration::from_micros(123_456));
    let mut rx = ReceiverStats::new(0xabc, 90000);
    rx.record(Instant::from_millis(1000), 1, 0);
    rx.record(Instant::from_millis(1010), 2, 900);
    rx.sender_report(Instant::from_millis(2030), t_sr.0);
    let block = rx.report_block(Instant::from_millis(2280)).unwrap();
    assert_eq!(block.last_sr, t_sr.middle_32());
    // 250 ms in 1/65536 s, rounded: 16384.
    assert_eq!(block.delay_since_last_sr, 16384);
    let arrival = t_sr.add_duration(Duration::from_millis(310));
    let rtt = round_trip_time(arrival, &block).unwrap();
    assert!(
        rtt.abs_diff(Duration::from_millis(60)) < Duration::from_micros(50),
        "{rtt:?}"
    );
    // No SR yet: LSR and DLSR are zero, and the sender gets no RTT.
    let mut fresh = ReceiverStats::new(1, 8000);
    fresh.record(Instant::ZERO, 1, 0);
    fresh.record(Instant::ZERO, 2, 0);
    let block = fresh.report_block(Instant::ZERO).unwrap();
    assert_eq!((block.last_sr, block.delay_since_last_sr), (0, 0));
    assert_eq!(round_trip_time(arrival, &block), None);
}
