//! Keyframe requests: a video hole given up by the jitter buffer asks for a keyframe, the
//! request repeats at the rate limit until one arrives, and FIR numbers requests as RFC 5104
//! says (a repetition keeps its number, a new request takes the next).

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use peerless_base::Instant;
use peerless_rtp::receive::{
    Config, FirEntry, JitterBuffer, KeyframeMethod, KeyframeRequest, KeyframeRequests,
};
use support::{Tagged, video_stream};

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

#[test]
fn a_given_up_hole_asks_for_a_keyframe_rate_limited_until_one_arrives() {
    // 30 frames of 2 packets, 33 ms apart; keyframes at 0 and 20; frame 3 loses a packet.
    let mut stream = video_stream(0, 0, 30, 20, |_| 2);
    stream.retain(|p| p.sequence != 7);
    let config = Config {
        max_delay: Duration::from_millis(100),
        max_frame: 64,
        slot_size: 64,
        ..Config::video()
    };
    let mut jb = JitterBuffer::new(config, Tagged::default(), vec![0u8; config.area_for(64)]);
    let mut kf = KeyframeRequests::new(0x5678, KeyframeMethod::Pli, Duration::from_millis(300));
    let mut sent = Vec::new();
    let mut released = Vec::new();
    for p in &stream {
        let now = ms(u64::from(p.timestamp / 90));
        jb.insert(now, p.as_media()).unwrap();
        jb.handle_timeout(now);
        while let Some(f) = jb.poll_frame() {
            let f = f.unwrap();
            if f.keyframe {
                kf.keyframe_received();
            }
            released.push(f.data[0]);
        }
        // The application's rule: ask while the buffer waits for a keyframe (after the first).
        if jb.needs_keyframe() && !released.is_empty() {
            kf.request(now);
        }
        if let Some(r) = kf.poll_request(now) {
            sent.push((now.as_millis(), r));
        }
    }
    let pli = KeyframeRequest::Pli { media_ssrc: 0x5678 };
    // Frame i arrives at 33.3 i ms. Frame 3 lost its last packet: the hole shows when frame 4
    // arrives (133 ms) and is given up 100 ms later, as frame 7 arrives (233 ms); the request
    // repeats every 300 ms until frame 20 (666 ms).
    let times: Vec<u64> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        [233, 533],
        "first at the give-up, again 300 ms later"
    );
    assert!(sent.iter().all(|(_, r)| *r == pli));
    assert_eq!(released, [0, 1, 2, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    assert!(!kf.is_pending());
    assert_eq!(kf.stats().requests, 1);
    assert_eq!(kf.stats().sent, 2);
}

#[test]
fn fir_repeats_keep_their_sequence_number_and_new_requests_take_the_next() {
    let mut kf = KeyframeRequests::new(42, KeyframeMethod::Fir, Duration::from_millis(500));
    assert_eq!(kf.poll_request(ms(0)), None, "nothing asked");
    kf.request(ms(10));
    let first = kf.poll_request(ms(10)).unwrap();
    assert_eq!(
        first,
        KeyframeRequest::Fir(FirEntry {
            ssrc: 42,
            sequence: 1
        })
    );
    kf.request(ms(20)); // folded into the pending one
    assert_eq!(kf.poll_request(ms(509)), None);
    assert_eq!(kf.poll_timeout(), Some(ms(510)));
    assert_eq!(
        kf.poll_request(ms(510)),
        Some(first),
        "a repetition: same number"
    );
    kf.keyframe_received();
    assert_eq!(kf.poll_timeout(), None);
    kf.request(ms(600));
    // Still rate limited from 510.
    assert_eq!(kf.poll_request(ms(600)), None);
    assert_eq!(
        kf.poll_request(ms(1010)),
        Some(KeyframeRequest::Fir(FirEntry {
            ssrc: 42,
            sequence: 2
        }))
    );
    assert_eq!(kf.stats().coalesced, 1);
}

#[test]
fn requests_written_by_the_rtcp_builder_parse_as_pli_and_fir() {
    use peerless_rtp::rtcp::{Compound, CompoundBuilder, FeedbackSsrcs, Kind};
    let mut buf = [0u8; 128];
    let mut b = CompoundBuilder::new(&mut buf);
    KeyframeRequest::Pli { media_ssrc: 0x22 }.write(0x11, &mut b);
    KeyframeRequest::Fir(FirEntry {
        ssrc: 0x22,
        sequence: 7,
    })
    .write(0x11, &mut b);
    let n = b.finish().unwrap();
    let compound = Compound::parse(&buf[..n]).unwrap();
    let mut packets = compound.packets();
    assert!(matches!(
        packets.next().unwrap().kind(),
        Ok(Kind::Pli(FeedbackSsrcs {
            sender: 0x11,
            media: 0x22
        }))
    ));
    let Ok(Kind::Fir(fir)) = packets.next().unwrap().kind() else {
        panic!("not a FIR");
    };
    assert_eq!(fir.sender_ssrc(), 0x11);
    assert_eq!(
        fir.entries().collect::<Vec<_>>(),
        [FirEntry {
            ssrc: 0x22,
            sequence: 7
        }]
    );
}
