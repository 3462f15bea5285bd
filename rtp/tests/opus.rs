//! Opus (RFC 7587): our payloads equal GStreamer's `rtpopuspay` on the same Opus packets
//! (speech, DTX silence of one-octet packets, speech again), GStreamer's RTP depacketizes to
//! the encoder's packets, which an Ogg file of them lets ffmpeg decode (the interop script);
//! the marker starts each talkspurt; any packet round-trips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod codec_support;

use codec_support::*;
use peerless_rtp::codec::opus::{
    OpusDepacketizer, OpusPacketizer, opus_is_dtx, opus_packet_samples,
};
use peerless_rtp::codec::{CodecError, Depacketizer, FrameBuf, Packetizer};
use proptest::prelude::*;

fn encoded_packets() -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let mut all = ogg::packets(&read("opus_gst.ogg"));
    let audio = all.split_off(2);
    assert!(all[0].starts_with(b"OpusHead") && all[1].starts_with(b"OpusTags"));
    (all, audio)
}

#[test]
fn payloads_equal_gstreamer_rtpopuspay_and_the_marker_starts_talkspurts() {
    let (_, audio) = encoded_packets();
    let rtp_stream = read("opus_gst.rtp");
    let theirs = rfc4571_packets(&rtp_stream);
    assert_eq!(theirs.len(), audio.len());
    let mut ours = OpusPacketizer::new();
    let mut stream = RtpStream::new(111);
    let mut dtx = 0;
    let mut talkspurts = Vec::new();
    for (i, (packet, theirs)) in audio.iter().zip(&theirs).enumerate() {
        let theirs = rtp(theirs);
        let payloads = packetize_all(&mut ours, packet, 1200).unwrap();
        assert_eq!(payloads.len(), 1);
        let (payload, marker) = &payloads[0];
        assert_eq!(payload, theirs.payload, "packet {i}");
        dtx += usize::from(opus_is_dtx(payload));
        stream.push(payload, *marker, i as u32 * 960);
        if *marker {
            talkspurts.push(i);
        }
        // GStreamer marks only the stream's first packet; we also mark speech after DTX.
        if theirs.marker {
            assert!(marker);
        }
    }
    stream.write_out("opus_ours.rtp");
    assert!(dtx > 20, "the data has DTX silence ({dtx} packets)");
    // The first packet, and the first speech after each silence.
    assert_eq!(talkspurts, [0, 31, 49]);
}

#[test]
fn gstreamer_rtp_depacketizes_to_the_encoded_packets_and_timestamps_follow_the_toc() {
    let (headers, audio) = encoded_packets();
    let rtp_stream = read("opus_gst.rtp");
    let packets = rfc4571_packets(&rtp_stream);
    let mut d = OpusDepacketizer::new();
    let mut granule = 0u64;
    let mut pages = Vec::new();
    let mut previous: Option<(u32, u32)> = None;
    for (packet, original) in packets.iter().zip(&audio) {
        let r = rtp(packet);
        let (frame, info) = depacketize_all(&mut d, &[r.payload], 1500).unwrap();
        assert_eq!(&frame, original);
        assert!(info.keyframe);
        let samples = opus_packet_samples(&frame).unwrap();
        assert_eq!(samples, 960); // 20 ms frames at 48 kHz
        // GStreamer's second timestamp is short by the Ogg pre-skip (312); from then on
        // each packet advances by its duration.
        if let Some((ts, n)) = previous.filter(|_| pages.len() >= 2) {
            assert_eq!(r.timestamp.wrapping_sub(ts), n);
        }
        previous = Some((r.timestamp, samples));
        granule += u64::from(samples);
        pages.push((frame, granule));
    }
    write_out(
        "opus_from_gst.ogg",
        &ogg::write_opus(&headers[0], &headers[1], &pages),
    );
}

#[test]
fn a_packet_larger_than_the_payload_is_refused_and_empty_payloads_are_malformed() {
    let mut p = OpusPacketizer::new();
    assert!(matches!(
        p.packetize(&[0x78; 100], 99),
        Err(CodecError::PayloadTooSmall)
    ));
    assert!(matches!(p.packetize(&[], 99), Err(CodecError::Malformed)));
    let d = OpusDepacketizer::new();
    assert_eq!(d.inspect(&[]), Err(CodecError::Malformed));
    // Two payloads are two frames: the second without a finish is refused.
    let mut d = OpusDepacketizer::new();
    assert_eq!(
        depacketize_all(&mut d, &[[0x78u8], [0x78]], 10),
        Err(CodecError::Malformed)
    );
    let mut buf = [0u8; 4];
    assert_eq!(
        d.finish(&mut FrameBuf::new(&mut buf)),
        Err(CodecError::Incomplete)
    );
}

proptest! {
    #[test]
    fn any_packet_round_trips(packet in proptest::collection::vec(any::<u8>(), 1..1500), mtu in 1usize..1600) {
        let mut p = OpusPacketizer::new();
        let mut d = OpusDepacketizer::new();
        match packetize_all(&mut p, &packet, mtu) {
            Ok(payloads) => {
                prop_assert_eq!(payloads.len(), 1);
                let (back, _) = depacketize_all(&mut d, &[&payloads[0].0], packet.len()).unwrap();
                prop_assert_eq!(back, packet);
            }
            Err(e) => {
                prop_assert_eq!(e, CodecError::PayloadTooSmall);
                prop_assert!(packet.len() > mtu);
            }
        }
    }

    #[test]
    fn arbitrary_payloads_never_panic(payloads in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..16), 0..8)) {
        let mut d = OpusDepacketizer::new();
        let mut buf = [0u8; 64];
        for p in &payloads {
            let mut frame = FrameBuf::new(&mut buf);
            let _ = d.inspect(p);
            let _ = opus_packet_samples(p);
            if d.push(p, &mut frame).is_ok() {
                prop_assert_eq!(d.finish(&mut frame).unwrap().len, p.len());
            } else {
                d.reset();
            }
        }
    }
}
