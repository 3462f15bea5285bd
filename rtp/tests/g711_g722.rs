//! G.711 PCMU/PCMA and G.722 (RFC 3551): our 20 ms payloads equal GStreamer's `rtppcmupay`,
//! `rtppcmapay` and `rtpg722pay` on the same encoded audio (100 ms buffers cut in five), the
//! timestamps move one tick per octet (G.722's 8 kHz clock for 16 kHz audio), and GStreamer's
//! RTP depacketizes to the encoder's bytes, which ffmpeg decodes (the interop script).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codec_support;

use codec_support::*;
use peerless_rtp::codec::g711::{G711Depacketizer, G711Packetizer, g711_timestamp_increment};
use peerless_rtp::codec::g722::{
    G722_RTP_CLOCK_HZ, G722Depacketizer, G722Packetizer, g722_samples, g722_timestamp_increment,
};
use peerless_rtp::codec::{CodecError, Depacketizer, FrameBuf, Packetizer};
use proptest::prelude::*;

/// GStreamer's buffers: 100 ms of audio each.
const BUFFER: usize = 800;

fn known_answer<P: Packetizer, D: Depacketizer>(
    name: &str,
    mut ours: P,
    mut depacketizer: D,
    increment: fn(usize) -> u32,
    payload_type: u8,
) {
    let encoded = read(&format!("{name}_gst.{name}"));
    let rtp_stream = read(&format!("{name}_gst.rtp"));
    let theirs = rfc4571_packets(&rtp_stream);
    let mut next = theirs.iter();
    let mut previous: Option<(u32, u32)> = None;
    let mut rebuilt = Vec::new();
    let mut stream = RtpStream::new(payload_type);
    let mut timestamp = 0u32;
    for buffer in encoded.chunks(BUFFER) {
        for (payload, marker) in packetize_all(&mut ours, buffer, 1200).unwrap() {
            let packet = next.next().expect("GStreamer sent fewer packets");
            assert_eq!(packet[1] & 0x7f, payload_type);
            let theirs = rtp(packet);
            assert_eq!(payload.len(), 160);
            stream.push(&payload, marker, timestamp);
            timestamp += increment(payload.len());
            assert_eq!(payload, theirs.payload);
            assert_eq!(marker, theirs.marker);
            if let Some((ts, n)) = previous {
                assert_eq!(theirs.timestamp.wrapping_sub(ts), n);
            }
            previous = Some((theirs.timestamp, increment(payload.len())));
            let (frame, info) = depacketize_all(&mut depacketizer, &[theirs.payload], 200).unwrap();
            assert!(info.keyframe);
            rebuilt.extend_from_slice(&frame);
        }
    }
    assert!(next.next().is_none(), "GStreamer sent more packets");
    assert_eq!(rebuilt, encoded);
    write_out(&format!("{name}_from_gst.{name}"), &rebuilt);
    stream.write_out(&format!("{name}_ours.rtp"));
}

#[test]
fn pcmu_equals_gstreamer_rtppcmupay() {
    known_answer(
        "pcmu",
        G711Packetizer::new(20),
        G711Depacketizer::new(),
        g711_timestamp_increment,
        0,
    );
}

#[test]
fn pcma_equals_gstreamer_rtppcmapay() {
    known_answer(
        "pcma",
        G711Packetizer::new(20),
        G711Depacketizer::new(),
        g711_timestamp_increment,
        8,
    );
}

#[test]
fn g722_equals_gstreamer_rtpg722pay_with_its_8khz_clock() {
    known_answer(
        "g722",
        G722Packetizer::new(20),
        G722Depacketizer::new(),
        g722_timestamp_increment,
        9,
    );
    // 20 ms: 160 octets, 320 samples at 16 kHz, 160 ticks of the 8 kHz RTP clock.
    assert_eq!(g722_samples(160), 320);
    assert_eq!(g722_timestamp_increment(160), G722_RTP_CLOCK_HZ / 50);
}

#[test]
fn the_marker_starts_each_talkspurt_and_ptime_is_fixed() {
    let mut p = G711Packetizer::new(10);
    let first = packetize_all(&mut p, &[0xff; 200], 1200).unwrap();
    let sizes: Vec<_> = first.iter().map(|(b, m)| (b.len(), *m)).collect();
    assert_eq!(sizes, [(80, true), (80, false), (40, false)]);
    assert!(
        packetize_all(&mut p, &[0xff; 80], 1200)
            .unwrap()
            .iter()
            .all(|(_, m)| !m)
    );
    p.start_talkspurt();
    assert!(packetize_all(&mut p, &[0xff; 80], 1200).unwrap()[0].1);
    // A payload smaller than the packet time is refused, not a different ptime.
    assert!(matches!(
        p.packetize(&[0; 80], 79),
        Err(CodecError::PayloadTooSmall)
    ));
    let mut g = G722Packetizer::new(30);
    assert!(matches!(
        g.packetize(&[0; 240], 239),
        Err(CodecError::PayloadTooSmall)
    ));
}

proptest! {
    #[test]
    fn any_audio_round_trips(audio in proptest::collection::vec(any::<u8>(), 1..3000), ptime in 1u16..120, g722 in any::<bool>()) {
        let payloads = if g722 {
            packetize_all(&mut G722Packetizer::new(ptime), &audio, 1000)
        } else {
            packetize_all(&mut G711Packetizer::new(ptime), &audio, 1000)
        };
        let ptime_octets = usize::from(ptime) * 8;
        match payloads {
            Ok(payloads) => {
                let mut d = G711Depacketizer::new();
                let mut back = Vec::new();
                for (i, (payload, marker)) in payloads.iter().enumerate() {
                    prop_assert_eq!(*marker, i == 0);
                    prop_assert!(payload.len() == ptime_octets || i + 1 == payloads.len());
                    back.extend(depacketize_all(&mut d, &[payload], 1000).unwrap().0);
                }
                prop_assert_eq!(back, audio);
            }
            Err(e) => {
                prop_assert_eq!(e, CodecError::PayloadTooSmall);
                prop_assert!(ptime_octets > 1000);
            }
        }
    }

    #[test]
    fn arbitrary_payloads_never_panic(payloads in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..16), 0..8)) {
        let mut a = G711Depacketizer::new();
        let mut b = G722Depacketizer::new();
        let mut buf = [0u8; 8];
        for p in &payloads {
            for d in [&mut a as &mut dyn Depacketizer, &mut b] {
                let mut frame = FrameBuf::new(&mut buf);
                let _ = d.inspect(p);
                if d.push(p, &mut frame).is_ok() {
                    prop_assert_eq!(d.finish(&mut frame).unwrap().len, p.len());
                } else {
                    d.reset();
                }
            }
        }
    }
}
