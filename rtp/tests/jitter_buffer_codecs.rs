//! The jitter buffer with real payload formats on an independent sender's RTP: GStreamer's
//! `rtpvp8pay` and `rtpopuspay` streams (rtp/tests/data/README.md), shuffled within a window
//! and partly duplicated, come out as the encoder's frames byte for byte; a lost VP8 packet
//! skips its frame and the deltas up to the next keyframe.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codec_support;

use codec_support::{ogg, read, rfc4571_packets, rtp};
use peerless_base::Instant;
use peerless_rtp::codec::opus::OpusDepacketizer;
use peerless_rtp::codec::vp8::Vp8Depacketizer;
use peerless_rtp::container::ivf::IvfReader;
use peerless_rtp::receive::{Config, JitterBuffer, MediaPacket};

/// A fixed shuffle: each packet but the first moves up to `window` places (a deterministic
/// LCG, so the test is the same every run), and every seventh is sent twice. The first stays
/// first: the buffer opens the stream at the first packet it sees, and an older one arriving
/// after a frame was released is late.
fn shuffle<T: Clone>(items: &[T], window: usize) -> Vec<T> {
    let mut out: Vec<T> = items.to_vec();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for i in 1..out.len() {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (i + (state >> 33) as usize % window).min(out.len() - 1);
        out.swap(i, j);
    }
    let mut with_dups = Vec::new();
    for (i, x) in out.into_iter().enumerate() {
        if i % 7 == 3 {
            with_dups.push(x.clone());
        }
        with_dups.push(x);
    }
    with_dups
}

fn vp8_frames() -> Vec<Vec<u8>> {
    let ivf = read("vp8_gst.ivf");
    let (_, frames) = IvfReader::new(&ivf).unwrap();
    frames.map(|f| f.unwrap().data.to_vec()).collect()
}

#[test]
fn gstreamer_vp8_shuffled_comes_out_as_the_encoders_frames() {
    let stream = read("vp8_gst.rtp");
    let packets = rfc4571_packets(&stream);
    let arrivals = shuffle(&packets, 8);
    let config = Config {
        max_frame: 64 * 1024,
        slot_size: 1200,
        ..Config::video()
    };
    let mut jb = JitterBuffer::new(
        config,
        Vp8Depacketizer::new(),
        vec![0u8; config.area_for(256)],
    );
    let mut out = Vec::new();
    for (i, p) in arrivals.iter().enumerate() {
        // Through rtp-wire's packet view this time (the other tests use the test helper).
        let packet = peerless_rtp::packet::Packet::parse(p).unwrap();
        let _ = jb.insert(Instant::from_millis(i as u64), MediaPacket::from(&packet));
        while let Some(f) = jb.poll_frame() {
            let f = f.unwrap();
            assert!(f.contiguous);
            out.push((f.data.to_vec(), f.keyframe));
        }
    }
    let frames = vp8_frames();
    assert_eq!(out.len(), frames.len());
    for (i, ((got, keyframe), want)) in out.iter().zip(&frames).enumerate() {
        assert_eq!(got, want, "frame {i}");
        assert_eq!(*keyframe, i % 5 == 0, "frame {i}");
    }
    let s = jb.stats();
    assert!(s.dropped_duplicate + s.dropped_late > 0);
    assert_eq!(s.gaps_given_up, 0);
}

#[test]
fn a_lost_vp8_packet_skips_to_the_next_keyframe() {
    let stream = read("vp8_gst.rtp");
    let packets = rfc4571_packets(&stream);
    // Lose the last packet of frame 2 (frames 0 and 5 are keyframes).
    let mut timestamps: Vec<u32> = packets.iter().map(|p| rtp(p).timestamp).collect();
    timestamps.dedup();
    let lost_frame = 2;
    let victim = packets
        .iter()
        .rposition(|p| rtp(p).timestamp == timestamps[lost_frame])
        .unwrap();
    let config = Config {
        max_frame: 64 * 1024,
        slot_size: 1200,
        ..Config::video()
    };
    let mut jb = JitterBuffer::new(
        config,
        Vp8Depacketizer::new(),
        vec![0u8; config.area_for(256)],
    );
    let mut out = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if i == victim {
            continue;
        }
        let r = rtp(p);
        let now =
            Instant::from_millis(r.timestamp.wrapping_sub(rtp(packets[0]).timestamp) as u64 / 90);
        jb.insert(
            now,
            MediaPacket {
                sequence: r.sequence,
                timestamp: r.timestamp,
                marker: r.marker,
                payload: r.payload,
            },
        )
        .unwrap();
        jb.handle_timeout(now);
        while let Some(f) = jb.poll_frame() {
            let f = f.unwrap();
            out.push((f.data.to_vec(), f.contiguous));
        }
    }
    jb.handle_timeout(Instant::from_secs(100));
    while let Some(f) = jb.poll_frame() {
        let f = f.unwrap();
        out.push((f.data.to_vec(), f.contiguous));
    }
    let frames = vp8_frames();
    let released: Vec<usize> = out
        .iter()
        .map(|(data, _)| frames.iter().position(|f| f == data).unwrap())
        .collect();
    let expected: Vec<usize> = (0..lost_frame).chain(5..frames.len()).collect();
    assert_eq!(released, expected);
    assert!(
        !out[lost_frame].1,
        "the keyframe after the skip is not contiguous"
    );
    assert!(
        jb.stats().dropped_waiting_for_keyframe > 0,
        "frames 3 and 4 are deltas"
    );
}

#[test]
fn gstreamer_opus_shuffled_comes_out_as_the_encoders_packets() {
    let mut encoded = ogg::packets(&read("opus_gst.ogg"));
    let audio = encoded.split_off(2);
    let stream = read("opus_gst.rtp");
    let packets = rfc4571_packets(&stream);
    let arrivals = shuffle(&packets, 4);
    // Swaps chain, so a packet can travel far: wait long enough for the furthest. Opus
    // packets up to 1276 bytes (RFC 6716 §3.4's largest single frame, plus its TOC).
    let config = Config {
        max_delay: core::time::Duration::from_secs(2),
        max_frame: 1276,
        slot_size: 1276,
        ..Config::audio()
    };
    // Boxed: the Peer's own storage on a host.
    let mut jb = JitterBuffer::new(
        config,
        OpusDepacketizer::new(),
        vec![0u8; config.area_for(32)].into_boxed_slice(),
    );
    let mut out = Vec::new();
    for (i, p) in arrivals.iter().enumerate() {
        let r = rtp(p);
        let _ = jb.insert(
            Instant::from_millis(20 * i as u64),
            MediaPacket {
                sequence: r.sequence,
                timestamp: r.timestamp,
                marker: r.marker,
                payload: r.payload,
            },
        );
        while let Some(f) = jb.poll_frame() {
            let f = f.unwrap();
            assert!(f.contiguous);
            out.push(f.data.to_vec());
        }
    }
    assert_eq!(out, audio);
}

/// A frame that depacketizes larger than the host's only buffer (a STAP-A of one-byte units
/// grows by the start codes) stays at the head; before `skip_frame` every packet after it was
/// refused as full for ever. Skipping it lets the next frame out, and is counted.
#[test]
fn a_frame_larger_than_the_host_buffer_can_be_skipped() {
    use peerless_rtp::codec::h264::H264Depacketizer;
    use peerless_rtp::receive::{InsertError, PollError};
    let mut stap = vec![24u8];
    for _ in 0..20 {
        stap.extend_from_slice(&[0, 1, 0x65]);
    }
    let idr = [0x65u8, 0x88, 0x84, 0x00];
    let config = Config {
        max_frame: 64,
        slot_size: 64,
        ..Config::video()
    };
    // Inline: firmware's static array.
    let mut jb: JitterBuffer<[u8; 64 + 8 * (64 + 32)], _> =
        JitterBuffer::new(config, H264Depacketizer::new(), [0u8; 64 + 8 * (64 + 32)]);
    assert_eq!(jb.slots(), 8);
    let t = Instant::from_millis(0);
    let packet = |sequence: u16, timestamp: u32, payload| MediaPacket {
        sequence,
        timestamp,
        marker: true,
        payload,
    };
    jb.insert(t, packet(10, 0, &stap)).unwrap();
    jb.insert(t, packet(11, 3000, &idr)).unwrap();
    for _ in 0..3 {
        let polled = jb.poll_frame().unwrap();
        assert!(matches!(polled, Err(PollError::BufferTooSmall { .. })));
    }
    // Stuck: the window cannot move past the big frame.
    assert_eq!(jb.insert(t, packet(18, 6000, &idr)), Err(InsertError::Full));
    assert_eq!(jb.skip_frame(), 1);
    let frame = jb.poll_frame().unwrap().unwrap();
    assert_eq!(frame.data, [&[0, 0, 0, 1][..], &idr].concat());
    assert!(!frame.contiguous);
    assert!(jb.poll_frame().is_none());
    assert_eq!(jb.skip_frame(), 0);
    assert_eq!(jb.stats().dropped_skipped_frame, 1);
    jb.insert(t, packet(12, 6000, &idr)).unwrap();
    assert!(jb.poll_frame().unwrap().unwrap().contiguous);
}
