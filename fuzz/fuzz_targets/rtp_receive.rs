//! The receive side (rtp/src/receive/) on arbitrary packets and times: a VP8 jitter buffer
//! (its frame output smaller than many frames, which are then skipped) over a borrowed area
//! and an Opus one over an owned array, receiver
//! statistics, NACK, keyframe and transport-cc machines never panic,
//! keep every packet or count it, and never ask to be woken in the past after their timeout.
#![no_main]

use core::time::Duration;

use libfuzzer_sys::fuzz_target;
use peerless_base::Instant;
use peerless_rtp::codec::opus::OpusDepacketizer;
use peerless_rtp::codec::vp8::Vp8Depacketizer;
use peerless_rtp::receive::{
    Config, JitterBuffer, KeyframeMethod, KeyframeRequests, MediaPacket, NackConfig, NackPair,
    NackRequests, ReceiverStats, TccStatus, TwccConfig, TwccFeedback,
};

fuzz_target!(|data: &[u8]| {
    const VIDEO: Config = Config {
        max_frame: 1024,
        slot_size: 128,
        ..Config::video()
    };
    const AUDIO: Config = Config {
        max_frame: 128,
        slot_size: 128,
        ..Config::audio()
    };
    let mut video_area = [0u8; VIDEO.area_for(32)];
    let mut video = JitterBuffer::new(VIDEO, Vp8Depacketizer::new(), &mut video_area[..]);
    let mut audio = JitterBuffer::new(AUDIO, OpusDepacketizer::new(), [0u8; AUDIO.area_for(8)]);
    let mut stats = ReceiverStats::new(1, 90_000);
    let mut nack = NackRequests::<32>::new(NackConfig::default());
    let mut keyframe = KeyframeRequests::new(1, KeyframeMethod::Fir, Duration::from_millis(300));
    let mut twcc = TwccFeedback::<64>::new(TwccConfig::default());
    let mut pairs = [NackPair::default(); 4];
    let mut statuses = [TccStatus::NotReceived; 16];
    let mut now = Instant::ZERO;
    let mut inserted = 0u64;
    let mut refused = 0u64;
    // Each record: flags, sequence (2), timestamp (4), time step (2, in 100 µs), length, payload.
    let mut rest = data;
    while rest.len() >= 10 {
        let (head, tail) = rest.split_at(10);
        let flags = head[0];
        let sequence = u16::from_be_bytes([head[1], head[2]]);
        let timestamp = u32::from_be_bytes([head[3], head[4], head[5], head[6]]);
        let step = u64::from(u16::from_be_bytes([head[7], head[8]])) * 100;
        let (payload, next) = tail.split_at(usize::from(head[9]).min(tail.len()));
        rest = next;
        now = now + Duration::from_micros(step);
        let packet = MediaPacket {
            sequence,
            timestamp,
            marker: flags & 1 != 0,
            payload,
        };
        let jb_result = if flags & 2 == 0 {
            video.insert(now, packet)
        } else {
            audio.insert(now, packet)
        };
        if jb_result.is_ok() {
            inserted += 1
        } else {
            refused += 1
        }
        stats.record(now, sequence, timestamp);
        nack.record(now, sequence);
        twcc.record(now, sequence ^ u16::from(flags));
        if flags & 4 != 0 {
            stats.sender_report(now, u64::from(timestamp) << 16);
            let _ = stats.report_block(now);
        }
        if flags & 8 != 0 {
            nack.set_round_trip_time(Duration::from_micros(step));
        }
        if flags & 16 != 0 {
            if let Some(next) = video.next_sequence() {
                nack.forget_before(next);
            }
        }
        video.handle_timeout(now);
        audio.handle_timeout(now);
        nack.handle_timeout(now);
        twcc.handle_timeout(now);
        keyframe.handle_timeout(now);
        // A frame larger than the frame output is refused, then skipped.
        while let Some(f) = video.poll_frame() {
            match f {
                Ok(f) if f.keyframe => keyframe.keyframe_received(),
                Ok(_) => {}
                Err(_) => assert!(video.skip_frame() > 0),
            }
        }
        while audio.poll_frame().is_some() {}
        if video.needs_keyframe() {
            keyframe.request(now);
        }
        while nack.poll_nack(now, &mut pairs) > 0 {}
        while twcc.poll_feedback(now, &mut statuses).is_some() {}
        while keyframe.poll_request(now).is_some() {}
        // Drained: nothing is due now any more (a host loop would spin otherwise).
        assert!(video.poll_timeout().is_none_or(|t| t > now));
        assert!(audio.poll_timeout().is_none_or(|t| t > now));
        assert!(nack.poll_timeout().is_none_or(|t| t > now));
        assert!(twcc.poll_timeout().is_none_or(|t| t > now));
        assert!(keyframe.poll_timeout().is_none_or(|t| t > now));
    }
    let s = video.stats();
    let a = audio.stats();
    assert_eq!(s.packets + a.packets, inserted);
    let dropped = |s: peerless_rtp::receive::Stats| {
        s.dropped_duplicate
            + s.dropped_late
            + s.dropped_too_large
            + s.dropped_malformed
            + s.dropped_full
            + s.dropped_no_slots
    };
    assert_eq!(dropped(s) + dropped(a), refused);
});
