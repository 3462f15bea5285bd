//! The RTCP schedule: intervals equal to RFC 3550 A.7's (its C, run by
//! scripts/interop/rtp-send.sh), the mean and bounds of the intervals over many seeds (timer
//! reconsideration brings the mean to the deterministic interval), reconsideration when the
//! average size grows, reverse reconsideration when a member leaves, SR or RR by whether we
//! sent, BYE, and feedback compounds with and without reduced size (RFC 5506).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use peerless_base::{Drbg, Instant};
use peerless_rtp::rtcp::{
    Compound, CompoundBuilder, FeedbackSsrcs, Kind, NackPair, ReportBlock, SenderInfo,
};
use peerless_rtp::send::{
    IntervalInputs, RFC3550_MINIMUM, ReportContent, RtcpSchedule, ScheduleConfig,
    deterministic_interval, randomized_interval, reduced_minimum,
};

fn rng(seed: u64) -> Drbg {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    Drbg::from_seed(&s, b"rtcp schedule test")
}

const CONTENT: ReportContent<'static> = ReportContent {
    ssrc: 0x1234_5678,
    sender_info: Some(SenderInfo {
        ntp_timestamp: 0xe000_0000_8000_0000,
        rtp_timestamp: 90_000,
        packet_count: 10,
        octet_count: 12_000,
    }),
    blocks: &[ReportBlock {
        ssrc: 0x9abc_def0,
        fraction_lost: 3,
        cumulative_lost: 17,
        highest_sequence: 70_000,
        jitter: 40,
        last_sr: 0x1234_8000,
        delay_since_last_sr: 0x0001_0000,
    }],
    cname: b"k3Jv0q7TgmZ1QwEr",
};

/// Runs a schedule for `secs` seconds and returns the report times.
fn run(schedule: &mut RtcpSchedule, from: Instant, secs: u64) -> Vec<Instant> {
    let mut buf = [0u8; 512];
    let mut times = Vec::new();
    let end = from + Duration::from_secs(secs);
    while let Some(at) = schedule.poll_timeout() {
        if at > end {
            break;
        }
        schedule.handle_timeout(at);
        if schedule.is_due() {
            schedule.write_report(at, &mut buf, &CONTENT).unwrap();
            times.push(at);
        }
    }
    times
}

#[test]
fn interval_matches_rfc3550_a7() {
    let path = std::env::var("RTCP_INTERVAL_KNOWN_ANSWERS").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/rtcp_interval_rfc3550.txt"
        )
        .into()
    });
    let text = std::fs::read_to_string(path).unwrap();
    let mut cases = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split(' ').collect();
        let n = |i: usize| f[i].parse::<u64>().unwrap();
        let inputs = IntervalInputs {
            members: n(0) as u32,
            senders: n(1) as u32,
            rtcp_bytes_per_second: n(2) as u32,
            we_sent: n(3) == 1,
            avg_rtcp_size: n(4) as u32,
            initial: n(5) == 1,
            minimum: Duration::from_micros(n(6)),
        };
        let expected: f64 = f[8].parse().unwrap();
        let ours = randomized_interval(&inputs, n(7) as u32).as_micros() as f64;
        assert!(
            (ours - expected).abs() <= 2.0,
            "{line}: ours {ours} µs, RFC 3550 A.7 {expected} µs"
        );
        cases += 1;
    }
    assert!(cases > 800, "{cases}");
}

#[test]
fn deterministic_interval_known_answers() {
    // 2 members, both send, 1 Mbit/s session: 6250 B/s of RTCP, 100-byte reports: 32 ms, so
    // the 5 s minimum rules (2.5 s before the first report).
    let mut inputs = IntervalInputs {
        members: 2,
        senders: 2,
        rtcp_bytes_per_second: 6250,
        we_sent: true,
        avg_rtcp_size: 100,
        initial: false,
        minimum: RFC3550_MINIMUM,
    };
    assert_eq!(deterministic_interval(&inputs), Duration::from_secs(5));
    inputs.initial = true;
    assert_eq!(deterministic_interval(&inputs), Duration::from_millis(2500));
    // No minimum (AVPF after the first report): 100 x 2 / 6250 s.
    inputs.minimum = Duration::ZERO;
    assert_eq!(
        deterministic_interval(&inputs),
        Duration::from_micros(32_000)
    );
    // 1 sender of 8 members, we send: senders share a quarter: 100 x 1 / 1562.5 s = 64 ms.
    inputs = IntervalInputs {
        members: 8,
        senders: 1,
        ..inputs
    };
    assert_eq!(
        deterministic_interval(&inputs),
        Duration::from_micros(64_000)
    );
    // ... and a receiver among them shares three quarters with 6 others: 100 x 7 / 4687.5.
    inputs.we_sent = false;
    assert_eq!(
        deterministic_interval(&inputs),
        Duration::from_micros(149_333)
    );
    // RFC 3550 §6.2: the reduced minimum at 72 kbit/s is 5 s, at 360 kbit/s 1 s.
    assert_eq!(reduced_minimum(72_000), Duration::from_secs(5));
    assert_eq!(reduced_minimum(360_000), Duration::from_secs(1));
}

/// Over 1000 seeds: every interval lies in [0.5, 1.5) x 5 s / (e - 3/2), the first report in
/// half of that, and, because timer reconsideration redraws at each expiry and waits for the
/// later draw, the mean interval is the deterministic one (5 s; 2.5 s for the first): the
/// compensation factor cancels reconsideration's bias exactly (the expected final draw of that
/// process is e - 2 in units of the spread). Without reconsideration the mean would be 4.10 s.
#[test]
fn interval_mean_and_bounds_over_many_seeds() {
    let low = 5.0 * 0.5 / 1.21828;
    let high = 5.0 * 1.5 / 1.21828;
    let (mut sum, mut count, mut first_sum) = (0.0, 0u32, 0.0);
    let (mut min_seen, mut max_seen) = (f64::MAX, 0.0f64);
    for seed in 0..1000 {
        let start = Instant::from_secs(100);
        let mut s = RtcpSchedule::new(ScheduleConfig::rfc3550(1_000_000), start, rng(seed));
        s.on_rtp_sent(start);
        let times = run(&mut s, start, 120);
        let first = (times[0] - start).as_secs_f64();
        assert!(
            (low / 2.0..high / 2.0).contains(&first),
            "seed {seed}: first at {first}"
        );
        first_sum += first;
        for pair in times.windows(2) {
            let gap = (pair[1] - pair[0]).as_secs_f64();
            assert!((low..high).contains(&gap), "seed {seed}: gap {gap}");
            min_seen = min_seen.min(gap);
            max_seen = max_seen.max(gap);
            sum += gap;
            count += 1;
        }
    }
    let mean = sum / f64::from(count);
    let first_mean = first_sum / 1000.0;
    println!(
        "RTCP interval over 1000 seeds: mean {mean:.3} s of {count} (expected 5.000), range {min_seen:.3}..{max_seen:.3} s (bounds {low:.3}..{high:.3}); first report mean {first_mean:.3} s (expected 2.500)"
    );
    assert!((mean - 5.0).abs() < 0.05, "mean {mean}");
    assert!((first_mean - 2.5).abs() < 0.1, "first mean {first_mean}");
}

#[test]
fn larger_reports_defer_the_next_one() {
    // 16 kbit/s: 100 B/s of RTCP. Reports of ~100 bytes (+42) x 2 members: 2.8 s, below the
    // 5 s minimum; a flood of 1400-byte compounds from the other side raises the average to
    // a 27 s interval (at least 11 s drawn, past any deadline drawn from 5 s), and the timer
    // set before is reconsidered.
    let start = Instant::ZERO;
    let mut s = RtcpSchedule::new(ScheduleConfig::rfc3550(16_000), start, rng(7));
    let first = run(&mut s, start, 10);
    assert!(!first.is_empty());
    let tp = *first.last().unwrap();
    let tn = s.poll_timeout().unwrap();
    for _ in 0..40 {
        s.on_rtcp_received(1400);
    }
    let inputs = s.interval_inputs();
    assert!(inputs.avg_rtcp_size > 1100, "{inputs:?}");
    let t = deterministic_interval(&inputs);
    assert!(t > Duration::from_secs(26), "{t:?}");
    let deferred = s.reports_deferred();
    s.handle_timeout(tn);
    assert!(!s.is_due());
    assert_eq!(s.reports_deferred(), deferred + 1);
    let later = s.poll_timeout().unwrap();
    // Rescheduled at tp + T with T drawn from the new inputs: at least half of T / 1.21828.
    assert!(later > tn);
    assert!(later - tp >= t / 2 * 1_000_000 / 1_218_280);
}

#[test]
fn a_member_leaving_pulls_the_next_report_in() {
    let start = Instant::ZERO;
    // 8 kbit/s and 4 members: a deterministic interval far above the minimum.
    let mut config = ScheduleConfig::rfc3550(8_000);
    config.minimum = Duration::ZERO;
    let mut s = RtcpSchedule::new(config, start, rng(3));
    s.set_remote(start, 3, 3);
    let times = run(&mut s, start, 30);
    let now = *times.last().unwrap() + Duration::from_millis(100);
    let tn = s.poll_timeout().unwrap();
    // Three of four leave: the remaining wait shrinks to 2/4 (members 2 of pmembers 4).
    s.set_remote(now, 1, 1);
    let pulled = s.poll_timeout().unwrap();
    let expected = now + (tn - now) * 2 / 4;
    assert!(
        pulled.as_micros().abs_diff(expected.as_micros()) <= 1,
        "{pulled:?} vs {expected:?}"
    );
}

#[test]
fn sender_report_while_sending_receiver_report_after_two_quiet_intervals() {
    let start = Instant::ZERO;
    let mut s = RtcpSchedule::new(ScheduleConfig::rfc3550(1_000_000), start, rng(11));
    let mut buf = [0u8; 512];
    let mut kinds = Vec::new();
    let mut t = start;
    for round in 0..6 {
        if round < 2 {
            s.on_rtp_sent(t);
        }
        t = s.poll_timeout().unwrap();
        s.handle_timeout(t);
        while !s.is_due() {
            t = s.poll_timeout().unwrap();
            s.handle_timeout(t);
        }
        let w = s.write_report(t, &mut buf, &CONTENT).unwrap();
        let compound = Compound::parse(&buf[..w.len]).unwrap();
        let packets: Vec<_> = compound.packets().map(|p| p.kind().unwrap()).collect();
        match (&packets[0], w.sender_report) {
            (Kind::SenderReport(sr), true) => {
                assert_eq!(sr.sender_info(), CONTENT.sender_info.unwrap());
                assert_eq!(sr.reports().collect::<Vec<_>>(), CONTENT.blocks);
            }
            (Kind::ReceiverReport(rr), false) => {
                assert_eq!(rr.reports().collect::<Vec<_>>(), CONTENT.blocks)
            }
            other => panic!("{other:?}"),
        }
        let Kind::Sdes(sdes) = &packets[1] else {
            panic!("{:?}", packets[1])
        };
        assert_eq!(sdes.chunks().next().unwrap().cname(), Some(CONTENT.cname));
        assert_eq!(packets.len(), 2);
        kinds.push(w.sender_report);
    }
    // Sent before reports 1 and 2; report 3 still covers the interval before it; then quiet.
    assert_eq!(kinds, [true, true, true, false, false, false]);
}

#[test]
fn bye_is_written_at_once_and_ends_the_schedule() {
    let start = Instant::ZERO;
    let mut s = RtcpSchedule::new(ScheduleConfig::rfc3550(1_000_000), start, rng(5));
    s.bye(Instant::from_millis(300));
    assert!(s.is_due());
    assert_eq!(s.poll_timeout(), None);
    let mut buf = [0u8; 512];
    let w = s
        .write_report(Instant::from_millis(300), &mut buf, &CONTENT)
        .unwrap();
    assert!(w.bye);
    let compound = Compound::parse(&buf[..w.len]).unwrap();
    let kinds: Vec<_> = compound.packets().map(|p| p.kind().unwrap()).collect();
    assert!(matches!(kinds[0], Kind::ReceiverReport(_)));
    assert!(matches!(kinds[1], Kind::Sdes(_)));
    let Kind::Bye(bye) = &kinds[2] else {
        panic!("{kinds:?}")
    };
    assert_eq!(bye.ssrcs().collect::<Vec<_>>(), [CONTENT.ssrc]);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(Instant::from_secs(100));
    assert!(!s.is_due());
}

#[test]
fn feedback_goes_alone_only_with_reduced_size() {
    let nack = |b: &mut CompoundBuilder<'_>| {
        b.nack(
            FeedbackSsrcs {
                sender: CONTENT.ssrc,
                media: 0x9abc_def0,
            },
            &[NackPair {
                pid: 100,
                blp: 0b101,
            }],
        );
    };
    let mut buf = [0u8; 512];
    for reduced in [false, true] {
        let mut config = ScheduleConfig::rfc3550(1_000_000);
        config.reduced_size = reduced;
        let mut s = RtcpSchedule::new(config, Instant::ZERO, rng(1));
        let len = s.write_feedback(&mut buf, &CONTENT, nack).unwrap();
        let compound = Compound::parse(&buf[..len]).unwrap();
        let kinds: Vec<_> = compound.packets().map(|p| p.kind().unwrap()).collect();
        let Kind::Nack(n) = kinds.last().unwrap() else {
            panic!("{kinds:?}")
        };
        assert_eq!(n.lost().collect::<Vec<_>>(), [100, 101, 103]);
        if reduced {
            assert_eq!(kinds.len(), 1);
            assert_eq!(len, 16);
        } else {
            // RFC 4585 §3.1: a compound starts with a report and carries the CNAME; an early
            // packet's report has no blocks.
            assert_eq!(kinds.len(), 3);
            let Kind::ReceiverReport(rr) = &kinds[0] else {
                panic!("{kinds:?}")
            };
            assert_eq!(rr.reports().len(), 0);
            assert!(matches!(kinds[1], Kind::Sdes(_)));
        }
    }
}

#[test]
fn a_short_buffer_leaves_the_report_due() {
    let mut s = RtcpSchedule::new(ScheduleConfig::rfc3550(1_000_000), Instant::ZERO, rng(2));
    s.bye(Instant::ZERO);
    let mut small = [0u8; 20];
    let err = s
        .write_report(Instant::ZERO, &mut small, &CONTENT)
        .unwrap_err();
    assert!(
        matches!(
            err,
            peerless_rtp::send::ReportError::BufferTooSmall { needed: 68 }
        ),
        "{err:?}"
    );
    assert!(s.is_due());
    assert_eq!(s.reports_sent(), 0);
}

/// Member counts come from the SSRCs a peer shows us; a session claiming every SSRC, then
/// shrinking, must neither overflow the senders' count nor the scaled-down interval (a
/// `Duration * u32` panics even in release).
#[test]
fn huge_member_counts_do_not_overflow() {
    let t0 = Instant::from_millis(0);
    let mut schedule = RtcpSchedule::new(ScheduleConfig::rfc3550(160), t0, rng(7));
    schedule.on_rtp_sent(t0);
    schedule.set_remote(t0, u32::MAX, u32::MAX);
    let inputs = schedule.interval_inputs();
    assert_eq!(inputs.senders, u32::MAX);
    let mut buf = [0u8; 512];
    schedule.write_report(t0, &mut buf, &CONTENT).unwrap();
    let far = schedule.poll_timeout().unwrap();
    assert!(far > t0 + Duration::from_secs(1_000_000_000));
    // Half of them leave: the wait shrinks in proportion (RFC 3550 §6.3.4).
    schedule.set_remote(t0, 1 << 31, 1);
    let near = schedule.poll_timeout().unwrap();
    // Members (us included) went from u32::MAX (saturated) to 2^31 + 1.
    let (far, near) = ((far - t0).as_micros(), (near - t0).as_micros());
    assert_eq!(near, far * ((1 << 31) + 1) / u128::from(u32::MAX));
}
