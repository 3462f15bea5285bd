//! VP8 (RFC 7741): our payloads equal GStreamer's `rtpvp8pay` byte for byte on the same frames,
//! GStreamer's RTP depacketizes back to the encoder's frames, and any frame at any payload
//! size survives the round trip; arbitrary payloads never panic the depacketizer.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codec_support;

use codec_support::*;
use peerless_rtp::codec::vp8::{
    PictureIdMode, Vp8Config, Vp8Depacketizer, Vp8Descriptor, Vp8Packetizer,
};
use peerless_rtp::codec::{CodecError, Depacketizer, FrameBuf, Packetizer};
use peerless_rtp::container::ivf::{IvfReader, emit_frame_header};
use proptest::prelude::*;

/// `rtpvp8pay mtu=500`: 488 octets after the 12-octet RTP header.
const GST_MAX_PAYLOAD: usize = 488;

#[test]
fn payloads_equal_gstreamer_rtpvp8pay_byte_for_byte() {
    let ivf = read("vp8_gst.ivf");
    let rtp_stream = read("vp8_gst.rtp");
    let theirs = rfc4571_packets(&rtp_stream);
    let (header, frames) = IvfReader::new(&ivf).unwrap();
    assert_eq!(&header.fourcc, b"VP80");
    let mut ours = Vp8Packetizer::new(Vp8Config {
        picture_id: PictureIdMode::Bits15,
        first_picture_id: 32760,
        partitions: true,
    });
    let mut next = theirs.iter();
    let mut frames_seen = 0;
    let mut partition_starts_after_the_first = 0;
    for frame in frames {
        let frame = frame.unwrap();
        for (payload, marker) in packetize_all(&mut ours, frame.data, GST_MAX_PAYLOAD).unwrap() {
            let theirs = rtp(next.next().expect("GStreamer sent fewer packets"));
            assert_eq!(payload, theirs.payload, "frame {frames_seen}");
            assert_eq!(marker, theirs.marker, "frame {frames_seen}");
            let (d, _) = Vp8Descriptor::parse(&payload).unwrap();
            partition_starts_after_the_first += usize::from(d.partition_index > 0);
        }
        frames_seen += 1;
    }
    assert!(next.next().is_none(), "GStreamer sent more packets");
    assert_eq!(frames_seen, 10);
    // The data has two token partitions: PIDs 1 and 2 appear, so the partition walk is tested.
    assert!(partition_starts_after_the_first > 10);
}

#[test]
fn gstreamer_rtp_depacketizes_to_the_encoded_frames() {
    let ivf = read("vp8_gst.ivf");
    let rtp_stream = read("vp8_gst.rtp");
    let packets = rfc4571_packets(&rtp_stream);
    let (header, frames) = IvfReader::new(&ivf).unwrap();
    let encoded: Vec<_> = frames.map(Result::unwrap).collect();
    let mut d = Vp8Depacketizer::new();
    let mut out = std::vec![0u8; 32];
    header.emit(&mut out).unwrap();
    let mut keyframes = Vec::new();
    let mut picture_ids = Vec::new();
    let by_ts = frames_by_timestamp(&packets);
    assert_eq!(by_ts.len(), encoded.len());
    for (i, (packets, original)) in by_ts.iter().zip(&encoded).enumerate() {
        let first = d.inspect(packets[0].payload).unwrap();
        assert!(first.starts_frame);
        assert!(
            packets[1..]
                .iter()
                .all(|p| !d.inspect(p.payload).unwrap().starts_frame)
        );
        let payloads: Vec<_> = packets.iter().map(|p| p.payload).collect();
        let (frame, info) = depacketize_all(&mut d, &payloads, 64 * 1024).unwrap();
        assert_eq!(frame, original.data, "frame {i}");
        assert_eq!(info.keyframe, first.keyframe);
        // A keyframe's start code (RFC 6386 §9.1), read independently of the P bit.
        assert_eq!(
            info.keyframe,
            frame.get(3..6) == Some(&[0x9d, 0x01, 0x2a][..])
        );
        if info.keyframe {
            keyframes.push(i);
        }
        picture_ids.push(d.last_descriptor().unwrap().picture_id.unwrap());
        let mut fh = [0u8; 12];
        emit_frame_header(frame.len(), original.timestamp, &mut fh).unwrap();
        out.extend_from_slice(&fh);
        out.extend_from_slice(&frame);
    }
    assert_eq!(keyframes, [0, 5]);
    assert_eq!(
        picture_ids,
        [32760, 32761, 32762, 32763, 32764, 32765, 32766, 32767, 0, 1]
    );
    write_out("vp8_from_gst.ivf", &out);
}

/// aiortc's VP8 payloader (`aiortc.codecs.vpx`), a third independent implementation: the same
/// descriptors and slices as ours with libwebrtc's layout, and its descriptor writer's bytes
/// for every optional field (picture id, TL0PICIDX, TID/Y, KEYIDX) equal ours.
#[test]
fn payloads_and_descriptors_equal_aiortc() {
    let ivf = read("vp8_gst.ivf");
    let (_, frames) = IvfReader::new(&ivf).unwrap();
    let frames: Vec<_> = frames.map(|f| f.unwrap().data).collect();
    let answers = String::from_utf8(read("vp8_aiortc.txt")).unwrap();
    let mut lines = answers.lines().filter(|l| !l.starts_with('#'));
    let max_payload: usize = lines
        .next()
        .unwrap()
        .strip_prefix("max_payload ")
        .unwrap()
        .parse()
        .unwrap();
    let mut theirs: Vec<Vec<(Vec<u8>, usize)>> = std::vec![Vec::new(); frames.len()];
    let mut descriptors = 0;
    for line in lines {
        let fields: Vec<&str> = line.split(' ').collect();
        match fields[0] {
            "payload" => {
                let frame: usize = fields[1].parse().unwrap();
                theirs[frame].push((hex(fields[2]), fields[3].parse().unwrap()));
            }
            "descriptor" => {
                let opt = |s: &str| (s != "-").then(|| s.parse::<u16>().unwrap());
                let d = Vp8Descriptor {
                    non_reference: false,
                    partition_start: fields[1] == "1",
                    partition_index: fields[2].parse().unwrap(),
                    picture_id: opt(fields[3]),
                    long_picture_id: true,
                    tl0_pic_idx: opt(fields[4]).map(|v| v as u8),
                    temporal_layer: opt(fields[5]).map(|v| v as u8),
                    layer_sync: fields[6] == "1",
                    key_idx: opt(fields[7]).map(|v| v as u8),
                };
                let mut out = [0u8; 6];
                let n = d.emit(&mut out).unwrap();
                assert_eq!(out[..n], hex(fields[8]), "{line}");
                let (back, media) = Vp8Descriptor::parse(&out[..n]).unwrap();
                assert_eq!(
                    back,
                    Vp8Descriptor {
                        long_picture_id: d.picture_id.is_some(),
                        ..d
                    }
                );
                assert!(media.is_empty());
                descriptors += 1;
            }
            other => panic!("unknown line {other}"),
        }
    }
    assert_eq!(descriptors, 200);
    let mut ours = Vp8Packetizer::new(Vp8Config {
        first_picture_id: 32700,
        ..Vp8Config::default()
    });
    for (i, frame) in frames.iter().enumerate() {
        let payloads = packetize_all(&mut ours, frame, max_payload).unwrap();
        assert_eq!(payloads.len(), theirs[i].len(), "frame {i}");
        let mut at = 0;
        for ((payload, _), (descriptor, media_len)) in payloads.iter().zip(&theirs[i]) {
            let (header, media) = payload.split_at(descriptor.len());
            assert_eq!(header, descriptor.as_slice(), "frame {i}");
            assert_eq!(media, &frame[at..at + media_len], "frame {i}");
            at += media_len;
        }
        assert_eq!(at, frame.len());
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// ffmpeg's RTP packetizer, a second independent sender: 15-bit picture ids from 0, no
/// partition labels.
#[test]
fn ffmpeg_rtp_depacketizes_to_the_encoded_frames() {
    let ivf = read("vp8_gst.ivf");
    let rtp_stream = read("vp8_ffmpeg.rtp");
    let packets = rfc4571_packets(&rtp_stream);
    let (_, frames) = IvfReader::new(&ivf).unwrap();
    let encoded: Vec<_> = frames.map(Result::unwrap).collect();
    let by_ts = frames_by_timestamp(&packets);
    assert_eq!(by_ts.len(), encoded.len());
    let mut d = Vp8Depacketizer::new();
    let mut keyframes = Vec::new();
    for (i, (packets, original)) in by_ts.iter().zip(&encoded).enumerate() {
        assert!(packets.last().unwrap().marker);
        let payloads: Vec<_> = packets.iter().map(|p| p.payload).collect();
        let (frame, info) = depacketize_all(&mut d, &payloads, 64 * 1024).unwrap();
        assert_eq!(frame, original.data, "frame {i}");
        if info.keyframe {
            keyframes.push(i);
        }
        let descriptor = d.last_descriptor().unwrap();
        assert_eq!(descriptor.picture_id, Some(i as u16));
        assert!(descriptor.long_picture_id);
    }
    assert_eq!(keyframes, [0, 5]);
}

/// Our own packets of the encoder's frames (libwebrtc's layout: no partition labels), which the
/// interop script also feeds to GStreamer's `rtpvp8depay` and decodes with ffmpeg.
#[test]
fn our_payloads_of_the_encoded_frames_come_back_whole() {
    let ivf = read("vp8_gst.ivf");
    let (_, frames) = IvfReader::new(&ivf).unwrap();
    let mut p = Vp8Packetizer::new(Vp8Config {
        first_picture_id: 1234,
        ..Vp8Config::default()
    });
    let mut d = Vp8Depacketizer::new();
    let mut stream = RtpStream::new(96);
    for (i, frame) in frames.enumerate() {
        let frame = frame.unwrap();
        let payloads = packetize_all(&mut p, frame.data, 1188).unwrap();
        for (payload, marker) in &payloads {
            stream.push(payload, *marker, i as u32 * 3000);
        }
        let only: Vec<_> = payloads.iter().map(|(p, _)| p.as_slice()).collect();
        assert_eq!(
            depacketize_all(&mut d, &only, 64 * 1024).unwrap().0,
            frame.data
        );
    }
    stream.write_out("vp8_ours.rtp");
}

#[test]
fn without_partitions_only_the_first_payload_starts_and_pid_is_zero() {
    let frame: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
    let mut p = Vp8Packetizer::new(Vp8Config {
        picture_id: PictureIdMode::Bits7,
        first_picture_id: 127,
        partitions: false,
    });
    let payloads = packetize_all(&mut p, &frame, 1000).unwrap();
    assert_eq!(payloads.len(), 4); // 997 media octets each after a 3-octet descriptor
    for (i, (payload, marker)) in payloads.iter().enumerate() {
        let expected_first = if i == 0 { 0x90 } else { 0x80 };
        assert_eq!(&payload[..3], &[expected_first, 0x80, 0x7f]);
        assert_eq!(*marker, i == 3);
    }
    assert_eq!(p.next_picture_id(), Some(0)); // 7-bit wrap
}

#[test]
fn a_frame_whose_start_was_lost_is_refused() {
    let frame = [0x10u8; 100];
    let mut p = Vp8Packetizer::default();
    let payloads = packetize_all(&mut p, &frame, 40).unwrap();
    let mut d = Vp8Depacketizer::new();
    let rest: Vec<_> = payloads[1..].iter().map(|(p, _)| p.as_slice()).collect();
    assert_eq!(
        depacketize_all(&mut d, &rest, 200),
        Err(CodecError::Malformed)
    );
    // A payload from the next picture inside this frame is refused too.
    let next = packetize_all(&mut p, &frame, 40).unwrap();
    let mixed = [payloads[0].0.as_slice(), next[1].0.as_slice()];
    assert_eq!(
        depacketize_all(&mut d, &mixed, 200),
        Err(CodecError::Malformed)
    );
    // And the depacketizer recovers on the next whole frame.
    let whole: Vec<_> = next.iter().map(|(p, _)| p.as_slice()).collect();
    assert_eq!(depacketize_all(&mut d, &whole, 200).unwrap().0, frame);
}

#[test]
fn too_small_payloads_and_buffers_are_errors() {
    let mut p = Vp8Packetizer::default(); // 4-octet descriptor
    assert!(matches!(
        p.packetize(&[1, 2, 3], 4),
        Err(CodecError::PayloadTooSmall)
    ));
    assert!(matches!(p.packetize(&[], 100), Err(CodecError::Malformed)));
    let mut d = Vp8Depacketizer::new();
    let payload = packetize_all(&mut p, &[0u8; 50], 100).unwrap().remove(0).0;
    let mut small = [0u8; 10];
    let mut frame = FrameBuf::new(&mut small);
    assert_eq!(
        d.push(&payload, &mut frame),
        Err(CodecError::BufferTooSmall { needed: 50 })
    );
}

fn config() -> impl Strategy<Value = Vp8Config> {
    (0..3u8, any::<u16>(), any::<bool>()).prop_map(|(mode, first, partitions)| Vp8Config {
        picture_id: [
            PictureIdMode::None,
            PictureIdMode::Bits7,
            PictureIdMode::Bits15,
        ][usize::from(mode)],
        first_picture_id: first,
        partitions,
    })
}

proptest! {
    #[test]
    fn any_frame_at_any_payload_size_round_trips(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..4000), 1..4),
        max_payload in 5usize..1500,
        config in config(),
    ) {
        let mut p = Vp8Packetizer::new(config);
        let mut d = Vp8Depacketizer::new();
        for frame in &frames {
            let expected_id = p.next_picture_id();
            let payloads = packetize_all(&mut p, frame, max_payload).unwrap();
            let markers: Vec<bool> = payloads.iter().map(|(_, m)| *m).collect();
            prop_assert_eq!(markers.iter().filter(|m| **m).count(), 1);
            prop_assert!(*markers.last().unwrap());
            let only: Vec<_> = payloads.iter().map(|(p, _)| p.as_slice()).collect();
            let (back, info) = depacketize_all(&mut d, &only, frame.len()).unwrap();
            prop_assert_eq!(&back, frame);
            prop_assert_eq!(info.keyframe, frame[0] & 1 == 0);
            prop_assert_eq!(d.last_descriptor().unwrap().picture_id, expected_id);
        }
    }

    #[test]
    fn arbitrary_payloads_never_panic(payloads in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let mut d = Vp8Depacketizer::new();
        let mut buf = [0u8; 256];
        let mut frame = FrameBuf::new(&mut buf);
        for p in &payloads {
            let _ = d.inspect(p);
            if d.push(p, &mut frame).is_err() {
                d.reset();
                frame.clear();
            }
        }
        let _ = d.finish(&mut frame);
    }

    #[test]
    fn descriptors_round_trip(first in any::<u8>(), ext in any::<u8>(), rest in any::<[u8; 4]>()) {
        let mut bytes = std::vec![first, ext];
        bytes.extend_from_slice(&rest);
        if let Ok((d, _)) = Vp8Descriptor::parse(&bytes) {
            let mut out = [0u8; 6];
            let n = d.emit(&mut out).unwrap();
            prop_assert_eq!(n, d.encoded_len());
            prop_assert_eq!(Vp8Descriptor::parse(&out[..n]).unwrap().0, d);
        }
    }
}
