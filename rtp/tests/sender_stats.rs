//! Sender statistics: the SR's NTP/RTP mapping (known answers and a property), the RTT from
//! LSR/DLSR (RFC 3550's worked example, and an SR/RR exchange over a link with a known delay,
//! through the RTCP wire format), and the transport-wide send record matched with feedback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::time::Duration;

use peerless_base::Instant;
use peerless_rtp::rtcp::{
    Compound, CompoundBuilder, FeedbackSsrcs, Kind, ReportBlock, TccStatus, TransportCcRepr,
};
use peerless_rtp::send::{
    NtpTime, SenderStats, TwccSendRecord, TwccSlot, duration_from_16_16, duration_to_16_16,
    round_trip_time,
};
use proptest::prelude::*;

#[test]
fn ntp_time_known_answers() {
    // The Unix epoch is 2 208 988 800 s after the NTP epoch (RFC 868, RFC 5905).
    assert_eq!(NtpTime::from_unix(Duration::ZERO).0, 0x83aa_7e80_0000_0000);
    assert_eq!(
        NtpTime::from_unix(Duration::from_millis(1500)).0,
        0x83aa_7e81_8000_0000
    );
    // RFC 3550 §6.4.1: the middle 32 bits of 0xb705_2000_xxxx_xxxx... as LSR.
    assert_eq!(NtpTime(0x0000_b705_2000_0000).middle_32(), 0xb705_2000);
    assert_eq!(duration_to_16_16(Duration::from_millis(5250)), 0x0005_4000);
    assert_eq!(
        duration_from_16_16(0x0006_2000),
        Duration::from_millis(6125)
    );
}

/// RFC 3550 §6.4.1, Figure 2: an SR sent at 46 853.125 s (LSR 0xb705:2000), answered after
/// 5.250 s (DLSR 0x0005:4000), arriving at 46 864.500 s (A 0xb710:8000): RTT 6.125 s.
#[test]
fn rtt_from_rfc3550_figure_2() {
    let block = ReportBlock {
        last_sr: 0xb705_2000,
        delay_since_last_sr: 0x0005_4000,
        ..Default::default()
    };
    let arrival = NtpTime(0xb710_8000 << 16);
    assert_eq!(
        round_trip_time(arrival, &block),
        Some(Duration::from_millis(6125))
    );
    // No SR received yet: LSR 0.
    assert_eq!(
        round_trip_time(
            arrival,
            &ReportBlock {
                last_sr: 0,
                ..block
            }
        ),
        None
    );
    // A DLSR longer than the time since our SR: not believable.
    let liar = ReportBlock {
        delay_since_last_sr: 0x000c_0000,
        ..block
    };
    assert_eq!(round_trip_time(arrival, &liar), None);
}

/// An SR/RR exchange through the wire format: 40 ms each way, the far end holds the SR for
/// 300 ms before its RR. The RTT comes out as 80 ms, to the 16.16 format's resolution.
#[test]
fn rtt_from_an_sr_rr_exchange() {
    let origin = NtpTime::from_unix(Duration::from_secs(1_765_000_000));
    let mut us = SenderStats::new(90_000, origin);
    let ssrc = 0x1111_1111;
    for k in 0..30u32 {
        us.on_sent(
            Instant::from_millis(1000 + 33 * u64::from(k)),
            3000 * k,
            1000,
        );
    }
    let sr_at = Instant::from_millis(2000);
    let mut buf = [0u8; 256];
    let mut b = CompoundBuilder::new(&mut buf);
    b.sender_report(ssrc, &us.sender_info(sr_at).unwrap(), &[]);
    let n = b.finish().unwrap();

    // The far end: reads the SR at +40 ms, answers at +340 ms with LSR and DLSR.
    let compound = Compound::parse(&buf[..n]).unwrap();
    let Kind::SenderReport(sr) = compound.packets().next().unwrap().kind().unwrap() else {
        panic!()
    };
    let lsr = NtpTime(sr.sender_info().ntp_timestamp).middle_32();
    let block = ReportBlock {
        ssrc,
        last_sr: lsr,
        delay_since_last_sr: duration_to_16_16(Duration::from_millis(300)),
        ..Default::default()
    };
    let mut rr = [0u8; 256];
    let mut b = CompoundBuilder::new(&mut rr);
    b.receiver_report(0x2222_2222, &[block]);
    let n = b.finish().unwrap();

    // Back at us at +380 ms.
    let compound = Compound::parse(&rr[..n]).unwrap();
    let Kind::ReceiverReport(rr) = compound.packets().next().unwrap().kind().unwrap() else {
        panic!()
    };
    let got = rr.reports().next().unwrap();
    let rtt = us
        .round_trip_time(sr_at + Duration::from_millis(380), &got)
        .unwrap();
    let error = rtt.as_micros().abs_diff(80_000);
    assert!(error <= 31, "rtt {rtt:?}"); // 1/65536 s is 15.3 µs; two roundings
}

#[test]
fn sender_report_maps_ntp_to_rtp_time() {
    let origin = NtpTime::from_unix(Duration::from_secs(1_700_000_000));
    // Video at 90 kHz: a frame every 33 ms, three packets each, sent over 2 ms.
    let mut video = SenderStats::new(90_000, origin);
    for frame in 0..30u64 {
        let ts = 1_000 + 3_000 * frame as u32;
        for p in 0..3 {
            video.on_sent(
                Instant::from_micros(1_000_000 + frame * 33_333 + p * 1000),
                ts,
                1100,
            );
        }
    }
    // The last frame (ts 88 000) was first sent at 1.966 657 s; the SR at 2.5 s is 533 343 µs
    // later: 48 000.87 ticks, rounded to 48 001.
    let info = video.sender_info(Instant::from_millis(2500)).unwrap();
    assert_eq!(info.rtp_timestamp, 88_000 + 48_001);
    assert_eq!(info.ntp_timestamp, origin.0 + (2 << 32) + 0x8000_0000);
    assert_eq!((info.packet_count, info.octet_count), (90, 99_000));
    // Opus at 48 kHz, 20 ms packets, the timestamp wrapping on the way.
    let mut audio = SenderStats::new(48_000, origin);
    for k in 0..100u32 {
        audio.on_sent(
            Instant::from_millis(20 * u64::from(k)),
            (u32::MAX - 10_000).wrapping_add(960 * k),
            80,
        );
    }
    let info = audio.sender_info(Instant::from_millis(2005)).unwrap();
    // The last packet: ts MAX - 10 000 + 95 040 at 1.980 s; 25 ms later is 1200 ticks.
    assert_eq!(
        info.rtp_timestamp,
        (u32::MAX - 10_000).wrapping_add(95_040 + 1200)
    );
    assert_eq!(
        SenderStats::new(8000, origin).sender_info(Instant::ZERO),
        None
    );
}

proptest! {
    /// Between any two SRs, the RTP timestamps advance by the NTP time between them times the
    /// clock rate (to a tick), whatever was sent in between.
    #[test]
    fn sr_rtp_advances_with_ntp(
        clock in prop_oneof![Just(8_000u32), Just(48_000), Just(90_000)],
        start_ts in any::<u32>(),
        first in 0u64..10_000_000,
        a in 0u64..30_000_000,
        b in 0u64..30_000_000,
    ) {
        let mut s = SenderStats::new(clock, NtpTime::from_unix(Duration::from_secs(1_800_000_000)));
        s.on_sent(Instant::from_micros(first), start_ts, 100);
        let (a, b) = (Instant::from_micros(first + a.min(b)), Instant::from_micros(first + a.max(b)));
        let (ia, ib) = (s.sender_info(a).unwrap(), s.sender_info(b).unwrap());
        let ntp_seconds = (ib.ntp_timestamp - ia.ntp_timestamp) as f64 / 4_294_967_296.0;
        let rtp_ticks = ib.rtp_timestamp.wrapping_sub(ia.rtp_timestamp) as f64;
        prop_assert!((rtp_ticks - ntp_seconds * f64::from(clock)).abs() <= 1.01);
    }
}

#[test]
fn transport_wide_feedback_is_matched_with_send_times() {
    let mut slots = [TwccSlot::EMPTY; 64];
    let mut record = TwccSendRecord::new(&mut slots, 65_530);
    let mut sent = Vec::new();
    for k in 0..100u64 {
        // 1200-byte packets every 5 ms; the transport sequence wraps at the sixth.
        let seq = record.on_sent(Instant::from_millis(5 * k), 1200);
        sent.push(seq);
    }
    assert_eq!(sent[6], 0);
    // Feedback for the last 20 (the first 36 of 100 are overwritten in 64 slots) plus 4 older
    // ones: every second packet received, 4 ms apart, reference time 1 (64 ms).
    let base = sent[76];
    let statuses: Vec<TccStatus> = (0..24)
        .map(|i| {
            if i % 2 == 0 {
                TccStatus::Received(16)
            } else {
                TccStatus::NotReceived
            }
        })
        .collect();
    let mut buf = [0u8; 256];
    let mut b = CompoundBuilder::new(&mut buf);
    b.transport_cc(&TransportCcRepr {
        ssrcs: FeedbackSsrcs {
            sender: 1,
            media: 2,
        },
        base_sequence: base.wrapping_sub(40),
        reference_time: 1,
        feedback_count: 0,
        statuses: &[&[TccStatus::NotReceived; 40][..], &statuses].concat(),
    });
    let n = b.finish().unwrap();
    let compound = Compound::parse(&buf[..n]).unwrap();
    let Kind::TransportCc(fb) = compound.packets().next().unwrap().kind().unwrap() else {
        panic!()
    };
    let results: Vec<_> = record.feedback(&fb).collect();
    assert_eq!(results.len(), 64);
    for (i, r) in results.iter().enumerate().skip(40) {
        let k = 76 + (i - 40);
        assert_eq!(r.sequence, sent[k]);
        let s = r.sent.unwrap();
        assert_eq!(
            (s.sent_at, s.size),
            (Instant::from_millis(5 * k as u64), 1200)
        );
        let j = (i - 40) as i64;
        let expected = (j % 2 == 0).then(|| 64_000 + (j / 2 + 1) * 4000);
        assert_eq!(r.arrival_micros, expected, "{i}");
    }
    // 40 entries before the record's window: 36..=75 are held, 76 - 40 = 36 is the first;
    // none unknown. Move the window: entries older than 64 packets are unknown.
    assert!(results[..40].iter().all(|r| r.sent.is_some()));
    assert_eq!(record.stats().dropped_feedback_unknown, 0);
    let mut b = CompoundBuilder::new(&mut buf);
    b.transport_cc(&TransportCcRepr {
        ssrcs: FeedbackSsrcs {
            sender: 1,
            media: 2,
        },
        base_sequence: sent[0],
        reference_time: 0,
        feedback_count: 1,
        statuses: &[TccStatus::Received(4); 10],
    });
    let n = b.finish().unwrap();
    let compound = Compound::parse(&buf[..n]).unwrap();
    let Kind::TransportCc(fb) = compound.packets().next().unwrap().kind().unwrap() else {
        panic!()
    };
    assert!(record.feedback(&fb).all(|r| r.sent.is_none()));
    assert_eq!(record.stats().dropped_feedback_unknown, 10);
}

/// An owner without a lifetime keeps the table and the next sequence number, and makes a
/// record per call: what one record wrote, the next one finds, and the numbering goes on.
#[test]
fn a_resumed_send_record_keeps_what_an_earlier_one_wrote() {
    let mut slots = [TwccSlot::EMPTY; 8];
    let mut next = 65_535;
    for k in 0..3u64 {
        let mut record = TwccSendRecord::resume(&mut slots, next);
        assert_eq!(
            record.on_sent(Instant::from_millis(10 * k), 100 + k as usize),
            next
        );
        next = record.next_sequence();
    }
    assert_eq!(next, 2);
    let record = TwccSendRecord::resume(&mut slots, next);
    for (k, seq) in [65_535u16, 0, 1].into_iter().enumerate() {
        let s = record.sent(seq).unwrap();
        assert_eq!(
            (s.sent_at, s.size),
            (Instant::from_millis(10 * k as u64), 100 + k as u16)
        );
    }
    assert_eq!(record.sent(2), None);
    // `new` starts over: nothing is held.
    let record = TwccSendRecord::new(&mut slots, 0);
    assert_eq!(record.sent(0), None);
}
