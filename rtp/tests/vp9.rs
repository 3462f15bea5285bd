//! VP9 (RFC 9628): our payloads equal GStreamer's `rtpvp9pay` byte for byte on the same frames
//! (non-flexible mode, the SS on each keyframe), GStreamer's RTP depacketizes to the encoder's
//! frames with their keyframes and layout; pictures of several spatial layers report the layers
//! received; flexible mode round-trips; arbitrary payloads never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codec_support;

use codec_support::*;
use peerless_rtp::codec::vp8::PictureIdMode;
use peerless_rtp::codec::vp9::{Vp9Config, Vp9Depacketizer, Vp9Packetizer, Vp9Payload};
use peerless_rtp::codec::{CodecError, Depacketizer, FrameBuf, Packetizer};
use peerless_rtp::container::ivf::{IvfReader, emit_frame_header};
use proptest::prelude::*;

const GST_MAX_PAYLOAD: usize = 488;

#[test]
fn payloads_equal_gstreamer_rtpvp9pay_byte_for_byte() {
    let ivf = read("vp9_gst.ivf");
    let rtp_stream = read("vp9_gst.rtp");
    let theirs = rfc4571_packets(&rtp_stream);
    let first = Vp9Payload::parse(rtp(theirs[0]).payload).unwrap();
    let mut ours = Vp9Packetizer::new(Vp9Config {
        picture_id: PictureIdMode::Bits15,
        first_picture_id: first.descriptor.picture_id.unwrap(),
        flexible: false,
        scalability_structure: true,
    });
    let (header, frames) = IvfReader::new(&ivf).unwrap();
    assert_eq!(&header.fourcc, b"VP90");
    let mut next = theirs.iter();
    let mut count = 0;
    for frame in frames {
        let frame = frame.unwrap();
        for (payload, marker) in packetize_all(&mut ours, frame.data, GST_MAX_PAYLOAD).unwrap() {
            let theirs = rtp(next.next().expect("GStreamer sent fewer packets"));
            assert_eq!(payload, theirs.payload, "frame {count}");
            assert_eq!(marker, theirs.marker, "frame {count}");
        }
        count += 1;
    }
    assert!(next.next().is_none(), "GStreamer sent more packets");
    assert_eq!(count, 10);
}

#[test]
fn gstreamer_rtp_depacketizes_to_the_encoded_frames() {
    let ivf = read("vp9_gst.ivf");
    let rtp_stream = read("vp9_gst.rtp");
    let packets = rfc4571_packets(&rtp_stream);
    let (header, frames) = IvfReader::new(&ivf).unwrap();
    let encoded: Vec<_> = frames.map(Result::unwrap).collect();
    let mut out = std::vec![0u8; 32];
    header.emit(&mut out).unwrap();
    let mut d = Vp9Depacketizer::new();
    let mut keyframes = Vec::new();
    let by_ts = frames_by_timestamp(&packets);
    assert_eq!(by_ts.len(), encoded.len());
    let first_id = Vp9Payload::parse(by_ts[0][0].payload)
        .unwrap()
        .descriptor
        .picture_id
        .unwrap();
    for (i, (packets, original)) in by_ts.iter().zip(&encoded).enumerate() {
        let info = d.inspect(packets[0].payload).unwrap();
        assert!(info.starts_frame);
        let payloads: Vec<_> = packets.iter().map(|p| p.payload).collect();
        let (frame, finished) = depacketize_all(&mut d, &payloads, 64 * 1024).unwrap();
        assert_eq!(frame, original.data, "frame {i}");
        assert_eq!(finished.keyframe, info.keyframe);
        if finished.keyframe {
            keyframes.push(i);
        }
        let picture = d.picture();
        assert_eq!(picture.spatial_layers, 1);
        assert_eq!(picture.picture_id, Some((first_id + i as u16) & 0x7fff));
        let mut fh = [0u8; 12];
        emit_frame_header(frame.len(), original.timestamp, &mut fh).unwrap();
        out.extend_from_slice(&fh);
        out.extend_from_slice(&frame);
    }
    assert_eq!(keyframes, [0, 5]);
    let layout = d.layout().unwrap();
    assert_eq!(layout.spatial_layers, 1);
    assert_eq!(layout.resolutions[0], Some((320, 240)));
    assert_eq!(layout.picture_group_len, Some(1));
    write_out("vp9_from_gst.ivf", &out);
}

/// ffmpeg's RTP packetizer, a second independent sender: a one-octet descriptor (B and E, no
/// picture id, P never set), so keyframes are told by the frame header.
#[test]
fn ffmpeg_rtp_depacketizes_to_the_encoded_frames() {
    let ivf = read("vp9_gst.ivf");
    let rtp_stream = read("vp9_ffmpeg.rtp");
    let packets = rfc4571_packets(&rtp_stream);
    let (_, frames) = IvfReader::new(&ivf).unwrap();
    let encoded: Vec<_> = frames.map(Result::unwrap).collect();
    let by_ts = frames_by_timestamp(&packets);
    assert_eq!(by_ts.len(), encoded.len());
    let mut d = Vp9Depacketizer::new();
    let mut keyframes = Vec::new();
    for (i, (packets, original)) in by_ts.iter().zip(&encoded).enumerate() {
        let first = Vp9Payload::parse(packets[0].payload).unwrap().descriptor;
        assert!(!first.inter_picture && first.picture_id.is_none());
        let payloads: Vec<_> = packets.iter().map(|p| p.payload).collect();
        let (frame, info) = depacketize_all(&mut d, &payloads, 64 * 1024).unwrap();
        assert_eq!(frame, original.data, "frame {i}");
        assert_eq!(info.keyframe, d.inspect(payloads[0]).unwrap().keyframe);
        if info.keyframe {
            keyframes.push(i);
        }
    }
    assert_eq!(keyframes, [0, 5]);
}

/// Our own packets of the encoder's frames in flexible mode, which the interop script also
/// feeds to GStreamer's `rtpvp9depay` and decodes with ffmpeg.
#[test]
fn our_flexible_mode_payloads_of_the_encoded_frames_come_back_whole() {
    let ivf = read("vp9_gst.ivf");
    let (_, frames) = IvfReader::new(&ivf).unwrap();
    let mut p = Vp9Packetizer::new(Vp9Config {
        flexible: true,
        first_picture_id: 32000,
        ..Vp9Config::default()
    });
    let mut d = Vp9Depacketizer::new();
    let mut stream = RtpStream::new(98);
    for (i, frame) in frames.enumerate() {
        let frame = frame.unwrap();
        let payloads = packetize_all(&mut p, frame.data, 1188).unwrap();
        for (payload, marker) in &payloads {
            stream.push(payload, *marker, i as u32 * 3000);
        }
        let only: Vec<_> = payloads.iter().map(|(p, _)| p.as_slice()).collect();
        let (back, info) = depacketize_all(&mut d, &only, 64 * 1024).unwrap();
        assert_eq!(back, frame.data);
        assert_eq!(info.keyframe, i % 5 == 0);
        assert!(d.picture().flexible);
    }
    stream.write_out("vp9_ours.rtp");
}

/// A non-flexible payload: I (15-bit id), L (TID, U, SID, D) and TL0PICIDX, maybe an SS.
fn svc_payload(b: bool, e: bool, p: bool, sid: u8, tid: u8, ss: &[u8], media: &[u8]) -> Vec<u8> {
    let mut v = std::vec![
        0x80 | u8::from(p) << 6
            | 0x20
            | u8::from(b) << 3
            | u8::from(e) << 2
            | u8::from(!ss.is_empty()) << 1,
        0x80 | 0x12,
        0x34,
        tid << 5 | sid << 1 | u8::from(sid > 0),
        7,
    ];
    v.extend_from_slice(ss);
    v.extend_from_slice(media);
    v
}

#[test]
fn a_picture_of_two_spatial_layers_reports_both_and_the_scalability_structure() {
    // SS: two layers with resolutions, a picture group of two entries (TID 0 refs 1; TID 1
    // refs 1 and 2).
    let ss = [
        0x38, 0x00, 0xa0, 0x00, 0x78, 0x01, 0x40, 0x00, 0xf0, 2, 0x04, 1, 0x38, 1, 2,
    ];
    let payloads = [
        svc_payload(true, false, false, 0, 0, &ss, b"base-"),
        svc_payload(false, true, false, 0, 0, &[], b"layer"),
        svc_payload(true, true, false, 1, 0, &[], b"+upper"),
    ];
    let mut d = Vp9Depacketizer::new();
    assert!(d.inspect(&payloads[0]).unwrap().keyframe);
    assert!(!d.inspect(&payloads[2]).unwrap().starts_frame);
    let (frame, info) = depacketize_all(&mut d, &payloads, 100).unwrap();
    assert_eq!(frame, b"base-layer+upper");
    assert!(info.keyframe);
    let picture = d.picture();
    assert_eq!(picture.spatial_layers, 0b11);
    assert_eq!(picture.tl0_pic_idx, Some(7));
    assert_eq!(picture.picture_id, Some(0x1234));
    let layout = d.layout().unwrap();
    assert_eq!(layout.spatial_layers, 2);
    assert_eq!(
        layout.resolutions[..3],
        [Some((160, 120)), Some((320, 240)), None]
    );
    assert_eq!(layout.picture_group_len, Some(2));
    let parsed = Vp9Payload::parse(&payloads[0]).unwrap();
    let groups: Vec<_> = parsed
        .scalability_structure
        .unwrap()
        .picture_group()
        .map(|g| (g.temporal, g.switching_up, g.reference_diffs.to_vec()))
        .collect();
    assert_eq!(
        groups,
        [(0, false, std::vec![1]), (1, true, std::vec![1, 2])]
    );

    // The upper layer alone (its base lost): refused. The base layer without its end: the
    // picture is incomplete. A second start inside a layer frame: refused.
    assert_eq!(
        depacketize_all(&mut d, &payloads[2..], 100),
        Err(CodecError::Malformed)
    );
    assert_eq!(
        depacketize_all(&mut d, &payloads[..1], 100),
        Err(CodecError::Incomplete)
    );
    let restart = [payloads[0].clone(), payloads[0].clone()];
    assert_eq!(
        depacketize_all(&mut d, &restart, 100),
        Err(CodecError::Malformed)
    );
    // An upper layer that does not depend on the base (D clear), as an SFU forwards it alone,
    // opens a picture; with P clear it is a keyframe for its layer.
    let mut independent = payloads[2].clone();
    independent[3] &= !0x01;
    let (frame, info) = depacketize_all(&mut d, &[independent], 100).unwrap();
    assert_eq!((frame.as_slice(), info.keyframe), (&b"+upper"[..], true));
    assert_eq!(d.picture().spatial_layers, 0b10);
    // An upper layer's delta picture: temporal layer reported, not a keyframe.
    let delta = [svc_payload(true, true, true, 0, 2, &[], b"d")];
    let (_, info) = depacketize_all(&mut d, &delta, 100).unwrap();
    assert!(!info.keyframe);
    assert_eq!(d.picture().temporal_layer, 2);
}

#[test]
fn flexible_mode_reference_differences() {
    // I=0, P, F, B, E; P_DIFF 1 (N), 2 (N), 4: three references.
    let payload = [0x5c, 1 << 1 | 1, 2 << 1 | 1, 4 << 1, 0xaa];
    let p = Vp9Payload::parse(&payload).unwrap();
    assert!(p.descriptor.flexible);
    assert_eq!(p.descriptor.reference_count, 3);
    assert_eq!(p.descriptor.reference_diffs, [1, 2, 4]);
    assert_eq!(p.media, [0xaa]);
    // A fourth reference is malformed.
    assert_eq!(
        Vp9Payload::parse(&[0x5c, 3, 3, 3, 2, 0xaa]).err(),
        Some(CodecError::Malformed)
    );
}

#[test]
fn frames_that_are_not_vp9_and_tiny_payloads_are_refused() {
    let mut p = Vp9Packetizer::default();
    assert!(matches!(
        p.packetize(&[0x00, 1, 2], 100),
        Err(CodecError::Malformed)
    ));
    assert!(matches!(p.packetize(&[], 100), Err(CodecError::Malformed)));
    assert!(matches!(
        p.packetize(&[0x86, 1, 2], 3),
        Err(CodecError::PayloadTooSmall)
    ));
}

/// A frame the packetizer accepts: an inter frame's first octet, or a keyframe's header.
fn vp9_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..3000),
    )
        .prop_map(|(key, tail)| {
            let mut f = if key {
                std::vec![0x82, 0x49, 0x83, 0x42, 0x40, 0x13, 0xf0, 0x0e, 0xf0]
            } else {
                std::vec![0x86]
            };
            f.extend(tail);
            f
        })
}

proptest! {
    #[test]
    fn any_frame_at_any_payload_size_round_trips(
        frames in proptest::collection::vec(vp9_frame(), 1..4),
        max_payload in 13usize..1500,
        mode in 0..3u8,
        flexible in any::<bool>(),
        scalability_structure in any::<bool>(),
        first in any::<u16>(),
    ) {
        let mut p = Vp9Packetizer::new(Vp9Config {
            picture_id: [PictureIdMode::None, PictureIdMode::Bits7, PictureIdMode::Bits15][usize::from(mode)],
            first_picture_id: first,
            flexible,
            scalability_structure,
        });
        let mut d = Vp9Depacketizer::new();
        for frame in &frames {
            let id = p.next_picture_id();
            let payloads = packetize_all(&mut p, frame, max_payload).unwrap();
            prop_assert!(payloads.last().unwrap().1);
            prop_assert_eq!(payloads.iter().filter(|(_, m)| *m).count(), 1);
            let only: Vec<_> = payloads.iter().map(|(p, _)| p.as_slice()).collect();
            let (back, info) = depacketize_all(&mut d, &only, frame.len()).unwrap();
            prop_assert_eq!(&back, frame);
            prop_assert_eq!(info.keyframe, frame[0] == 0x82);
            prop_assert_eq!(d.picture().picture_id, id);
            prop_assert_eq!(d.picture().flexible, flexible);
            if info.keyframe && scalability_structure {
                prop_assert_eq!(d.layout().unwrap().resolutions[0], Some((320, 240)));
            }
        }
    }

    #[test]
    fn arbitrary_payloads_never_panic(payloads in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
        let mut d = Vp9Depacketizer::new();
        let mut buf = [0u8; 256];
        let mut frame = FrameBuf::new(&mut buf);
        for p in &payloads {
            let _ = d.inspect(p);
            if let Some(ss) = Vp9Payload::parse(p).ok().and_then(|p| p.scalability_structure) {
                let _ = (ss.resolution(7), ss.picture_group().count());
            }
            if d.push(p, &mut frame).is_err() {
                d.reset();
                frame.clear();
            }
        }
        let _ = d.finish(&mut frame);
    }
}
