//! The pacer in the Peer: a keyframe leaves spread over time at the pacing rate, audio written
//! beside it is never held, and a data-channel transfer shares the budget with a call without
//! starving it or being starved.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{A, B, Ev, Pair, addr, certs, drain, peer};
use peerless::{AreaUse, ChannelId, MediaKind, MessageKind, Peer};
use peerless_base::Instant;

fn lend(p: &mut Peer, kind: MediaKind, use_: AreaUse, bytes: usize) {
    let area: &'static mut [u8] = Box::leak(vec![0u8; bytes].into_boxed_slice());
    p.lend_media_area(kind, use_, area).unwrap();
}

/// A VP8 keyframe or delta frame the depacketizer takes, padded to `len`.
fn vp8_frame(n: u32, keyframe: bool, len: usize) -> Vec<u8> {
    let mut f = if keyframe {
        vec![0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]
    } else {
        vec![0x51, 0x42, 0x00]
    };
    f.resize(len.max(f.len()), n as u8);
    f
}

/// A sends audio (mid 1) and video (mid 2) to B beside a channel, connected.
fn connected() -> (Pair, ChannelId) {
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    for p in [&mut pair.a, &mut pair.b] {
        for use_ in [AreaUse::Send, AreaUse::Receive] {
            lend(p, MediaKind::Audio, use_, 64 * 1024);
            lend(p, MediaKind::Video, use_, 1024 * 1024);
        }
    }
    let ch = pair
        .a
        .create_data_channel("bulk", Default::default())
        .unwrap();
    pair.a.add_track(MediaKind::Audio, "s").unwrap();
    pair.a.add_track(MediaKind::Video, "s").unwrap();
    pair.signal();
    assert!(pair.run_until(Duration::from_secs(10), |p| p.opened(false)
        && p.opened(true)));
    (pair, ch)
}

/// What left A: (when, RTP payload type or `None` for DTLS, size).
type Sent = Vec<(Instant, Option<u8>, usize)>;

/// One step of a lossless, instant link: everything A and B have now crosses; A's events
/// go to `a_events`, B's to `b_events` with the time.
fn step(
    a: &mut Peer,
    b: &mut Peer,
    now: Instant,
    sent: &mut Sent,
    a_events: &mut Vec<Ev>,
    b_events: &mut Vec<(Instant, Ev)>,
) {
    let mut buf = vec![0u8; 2048];
    loop {
        let mut any = false;
        while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
            let n = t.payload.len();
            let pt = (128..192).contains(&buf[0]).then_some(buf[1] & 0x7f);
            // RTCP (payload types 200-206 with the marker bit) is not media.
            let pt = pt.filter(|&p| !(72..=76).contains(&p));
            sent.push((now, pt, n));
            b.handle_packet(now, addr(A), addr(B), &mut buf[..n]);
            any = true;
        }
        while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
            let n = t.payload.len();
            a.handle_packet(now, addr(B), addr(A), &mut buf[..n]);
            any = true;
        }
        a_events.extend(drain(a));
        b_events.extend(drain(b).into_iter().map(|e| (now, e)));
        if !any {
            return;
        }
    }
}

fn next_deadline(a: &Peer, b: &Peer, now: Instant, limit: Instant) -> Instant {
    [a.poll_timeout(), b.poll_timeout(), Some(limit)]
        .into_iter()
        .flatten()
        .min()
        .unwrap()
        .max(now + Duration::from_micros(1))
}

#[test]
fn a_keyframe_leaves_at_the_pacing_rate_and_audio_is_never_held() {
    let (pair, _) = connected();
    let Pair {
        mut a, mut b, now, ..
    } = pair;
    let t0 = now;
    let key = vp8_frame(0, true, 40_000);
    a.write_frame("2", 96, 0, &key).unwrap();
    for k in 0..5u32 {
        a.write_frame("1", 111, 960 * k, &[0x78, k as u8, 1, 2])
            .unwrap();
    }
    let (mut sent, mut events) = (Sent::new(), Vec::new());
    let mut now = t0;
    let end = t0 + Duration::from_secs(2);
    while now < end {
        a.handle_timeout(now);
        b.handle_timeout(now);
        step(&mut a, &mut b, now, &mut sent, &mut Vec::new(), &mut events);
        now = next_deadline(&a, &b, now, end);
    }
    // Audio went at once, ahead of the keyframe's packets.
    let audio: Vec<_> = sent.iter().filter(|s| s.1 == Some(111)).collect();
    assert_eq!(audio.len(), 5);
    assert!(audio.iter().all(|s| s.0 == t0), "{audio:?}");
    // The keyframe's 34 packets spread out: at most the fastest probe's 1.8 Mbit/s (the
    // pacing rate is 2.5x the 300 kbit/s start otherwise), never 40 KB at once.
    let video: Vec<_> = sent.iter().filter(|s| s.1 == Some(96)).collect();
    assert!(video.len() >= 34, "{}", video.len());
    let span = video.last().unwrap().0 - video[0].0;
    assert!(span >= Duration::from_millis(150), "{span:?}");
    for (i, first) in video.iter().enumerate() {
        let window: usize = video[i..]
            .iter()
            .take_while(|s| s.0 - first.0 < Duration::from_millis(10))
            .map(|s| s.2)
            .sum();
        assert!(
            window <= 6000,
            "{window} bytes within 10 ms from {:?}",
            first.0
        );
    }
    // And it arrived whole.
    let frames = events
        .iter()
        .filter(|(_, e)| matches!(e, Ev::Media { mid, .. } if mid == "2"))
        .count();
    assert_eq!(frames, 1);
    // The probes that rode on it were padded with RTX of its packets.
    let s = a.media_stats(a.transceiver("2").unwrap()).unwrap();
    assert!(s.padding_packets_sent > 0, "{s:?}");
}

#[test]
fn a_bulk_transfer_shares_the_budget_with_the_call() {
    let (pair, ch) = connected();
    let Pair {
        mut a, mut b, now, ..
    } = pair;
    let t0 = now;
    let end = t0 + Duration::from_secs(8);
    let (mut sent, mut events) = (Sent::new(), Vec::new());
    let mut target = a.bitrate_estimate().unwrap();
    let mut targets = Vec::new();
    let mut written = Vec::new();
    let mut next_frame = t0;
    let mut n = 0u32;
    let chunk = vec![0x5a; 16 * 1024];
    let mut now = t0;
    while now < end {
        a.handle_timeout(now);
        b.handle_timeout(now);
        if now >= next_frame {
            let bytes = (target / 30 / 8) as usize;
            a.write_frame(
                "2",
                96,
                3000 * n,
                &vp8_frame(n, n.is_multiple_of(60), bytes),
            )
            .unwrap();
            written.push(now);
            n += 1;
            next_frame = t0 + Duration::from_micros(33_333 * u64::from(n));
        }
        // The transfer always has more waiting.
        while a.buffered_amount(ch) < 256 * 1024 && a.send(ch, MessageKind::Binary, &chunk).is_ok()
        {
        }
        let mut a_events = Vec::new();
        step(&mut a, &mut b, now, &mut sent, &mut a_events, &mut events);
        for e in a_events {
            if let Ev::Bitrate(t) = e {
                target = t;
            }
        }
        targets.push((now, a.bitrate_estimate().unwrap()));
        now = next_deadline(&a, &b, now, end.min(next_frame));
    }
    // The call is not starved: every frame arrived, none later than 100 ms after it was
    // written.
    let arrived: Vec<Instant> = events
        .iter()
        .filter(|(_, e)| matches!(e, Ev::Media { mid, .. } if mid == "2"))
        .map(|(t, _)| *t)
        .collect();
    assert!(
        arrived.len() + 2 >= written.len(),
        "{} of {}",
        arrived.len(),
        written.len()
    );
    let worst = arrived
        .iter()
        .zip(&written)
        .map(|(r, w)| *r - *w)
        .max()
        .unwrap();
    assert!(worst <= Duration::from_millis(100), "{worst:?}");
    // The channel is not starved, and it is held to the estimate: over the last 4 s, data
    // took its share, the encoder (told the target less that share) the rest, and together
    // they stayed within the target (the link would carry anything: only the pacer holds SCTP
    // back).
    let from = t0 + Duration::from_secs(4);
    let bytes = |f: &dyn Fn(Option<u8>) -> bool| -> u64 {
        sent.iter()
            .filter(|s| s.0 >= from && f(s.1))
            .map(|s| s.2 as u64)
            .sum()
    };
    let data = bytes(&|pt| pt.is_none());
    let media = bytes(&|pt| pt.is_some());
    let share = data as f64 / (data + media) as f64;
    let mean_target = {
        let late: Vec<u64> = targets
            .iter()
            .filter(|t| t.0 >= from)
            .map(|t| t.1)
            .collect();
        late.iter().sum::<u64>() as f64 / late.len() as f64
    };
    let rate = (data + media) as f64 * 8.0 / 4.0;
    println!(
        "last 4 s: data {:.0} kbit/s, media {:.0} kbit/s, share {share:.2}, mean target {:.0} kbit/s, worst frame delay {worst:?}",
        data as f64 * 8.0 / 4000.0,
        media as f64 * 8.0 / 4000.0,
        mean_target / 1000.0
    );
    assert!(share >= 0.15, "data share {share}");
    assert!(
        share <= 0.5,
        "data share {share}: the call should have most of the budget"
    );
    assert!(
        rate <= 1.1 * mean_target,
        "{rate} against a target of {mean_target}"
    );
    assert!(
        media as f64 * 8.0 / 4.0 >= 0.6 * mean_target,
        "the encoder got the target less data's share"
    );
}

/// Firefox's offer agrees the transport-wide number on video only (its audio section has no
/// such extmap): each packet is numbered by its own stream's agreement, so the video still
/// gets feedback and the estimate moves.
#[test]
fn the_transport_wide_number_follows_each_streams_own_agreement() {
    use peerless::SdpType;
    let (ca, cb) = certs();
    let mut pair = Pair::new(peer(ca, 1), peer(cb, 2));
    for p in [&mut pair.a, &mut pair.b] {
        for use_ in [AreaUse::Send, AreaUse::Receive] {
            lend(p, MediaKind::Audio, use_, 64 * 1024);
            lend(p, MediaKind::Video, use_, 1024 * 1024);
        }
    }
    pair.b.add_track(MediaKind::Audio, "s").unwrap();
    pair.b.add_track(MediaKind::Video, "s").unwrap();
    pair.a.add_local_candidate(addr(A)).unwrap();
    pair.b.add_local_candidate(addr(B)).unwrap();
    let mut buf = vec![0u8; 16384];
    // A offers to receive; B answers, sending. The offer's audio section loses its
    // transport-wide extmap, as Firefox's has none.
    let offer = pair.b.create_offer(&mut buf).unwrap().to_string();
    pair.b
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    pair.a
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = pair.a.create_answer(&mut buf).unwrap().to_string();
    let twcc =
        "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n";
    let audio_end = answer.find("m=video").unwrap();
    let answer = format!(
        "{}{}",
        answer[..audio_end].replacen(twcc, "", 1),
        &answer[audio_end..]
    );
    assert_eq!(answer.matches(twcc).count(), 1, "{answer}");
    pair.a
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    pair.b
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    assert!(pair.run_until(Duration::from_secs(10), |p| {
        p.events_b
            .contains(&Ev::Conn(peerless::ConnectionState::Connected))
    }));
    // B sends both (audio first in its table, without the number).
    for n in 0..60u32 {
        pair.b
            .write_frame("0", 111, 960 * n, &[0x78, n as u8, 1])
            .unwrap();
        pair.b
            .write_frame("1", 96, 3000 * n, &vp8_frame(n, n == 0, 2000))
            .unwrap();
        pair.run_until(Duration::from_millis(33), |_| false);
    }
    // The video's feedback reached the estimator: its probes found more than the start.
    let parts = pair.b.bitrate_estimate_parts().unwrap();
    assert!(parts.delay_bps > 300_000, "{parts:?}");
    assert!(pair.b.bitrate_estimate().unwrap() > 300_000, "{parts:?}");
}
