//! H.264 (RFC 6184): aggregation, fragmentation and parameter-set repetition written out by
//! hand from the RFC's layouts; packetize-then-depacketize returns the access unit for any
//! units and payload size; arbitrary payloads never panic. The GStreamer known answers are in
//! h264_interop.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod payload_support;

use payload_support::{annexb, annexb4, depacketize, packetize};
use peerless_rtp::codec::h264::{H264Depacketizer, H264Packetizer};
use peerless_rtp::codec::{
    CodecError, Depacketizer, FrameBuf, PacketizationMode, Packetizer, Packets,
};
use proptest::prelude::*;

const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1e, 0xda, 0x02, 0x80, 0xbf, 0xe5];
const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

fn idr(len: usize) -> Vec<u8> {
    let mut u = vec![0x65];
    u.extend((1..len).map(|i| (i % 251 + 1) as u8));
    u
}

fn slice(len: usize) -> Vec<u8> {
    let mut u = vec![0x41];
    u.extend((1..len).map(|i| (i % 13 + 3) as u8));
    u
}

#[test]
fn keyframe_is_stap_a_then_fu_a() {
    let big = idr(3000);
    let frame = annexb(
        &[SPS.to_vec(), PPS.to_vec(), big.clone()],
        &[true, false, true],
    );
    let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
    let payloads = packetize(&mut p, &frame, 1200).unwrap();

    // STAP-A: F 0, NRI the highest (3), type 24; then each unit behind its 16-bit size.
    let mut stap = vec![0x78, 0, SPS.len() as u8];
    stap.extend_from_slice(SPS);
    stap.extend_from_slice(&[0, PPS.len() as u8]);
    stap.extend_from_slice(PPS);
    assert_eq!(payloads[0], stap);

    // FU-A: indicator NRI 3 | 28, header S/E | type 5, then 1198 bytes of the unit at most.
    let body = &big[1..];
    let parts: Vec<&[u8]> = body.chunks(1198).collect();
    assert_eq!(payloads.len(), 1 + parts.len());
    for (i, part) in parts.iter().enumerate() {
        let s = if i == 0 { 0x80 } else { 0 };
        let e = if i == parts.len() - 1 { 0x40 } else { 0 };
        let mut want = vec![0x7c, s | e | 5];
        want.extend_from_slice(part);
        assert_eq!(payloads[1 + i], want, "fragment {i}");
    }

    let (out, info) = depacketize(&mut H264Depacketizer::new(), &payloads).unwrap();
    assert_eq!(out, annexb4(&[SPS, PPS, &big]));
    assert!(info.keyframe);
}

#[test]
fn stap_a_nri_is_the_highest_and_f_any() {
    let a = [0x06, 1, 2]; // SEI, NRI 0
    let b = [0xa1, 3]; // F set, NRI 1, type 1
    let c = [0x41, 4]; // NRI 2
    let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
    let payloads = packetize(
        &mut p,
        &annexb(&[a.to_vec(), b.to_vec(), c.to_vec()], &[]),
        1200,
    )
    .unwrap();
    assert_eq!(
        payloads,
        [vec![
            0x80 | 0x40 | 24,
            0,
            3,
            0x06,
            1,
            2,
            0,
            2,
            0xa1,
            3,
            0,
            2,
            0x41,
            4
        ]]
    );
}

#[test]
fn aggregation_stops_where_the_next_unit_does_not_fit() {
    // 1 + (2+500) + (2+500) = 1005; a third 500-byte unit would make 1507 > 1200.
    let u = slice(500);
    let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
    let payloads = packetize(
        &mut p,
        &annexb(&[u.clone(), u.clone(), u.clone()], &[]),
        1200,
    )
    .unwrap();
    assert_eq!(payloads.len(), 2);
    assert_eq!(payloads[0].len(), 1005);
    assert_eq!(payloads[0][0] & 0x1f, 24);
    assert_eq!(payloads[1], u, "a lone unit goes as a single-unit packet");
}

#[test]
fn idr_without_parameter_sets_gets_the_last_ones_seen() {
    let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
    packetize(
        &mut p,
        &annexb(&[SPS.to_vec(), PPS.to_vec(), idr(50)], &[]),
        1200,
    )
    .unwrap();
    assert_eq!((p.sps(), p.pps()), (SPS, PPS));

    // A P-frame goes alone; the next IDR gets SPS and PPS in front of it, after the SEI.
    let payloads = packetize(&mut p, &annexb(&[slice(40)], &[]), 1200).unwrap();
    assert_eq!(payloads, [slice(40)]);
    let sei = vec![0x06, 5, 1, 0x80];
    let payloads = packetize(&mut p, &annexb(&[sei.clone(), idr(2000)], &[]), 1200).unwrap();
    let (out, info) = depacketize(&mut H264Depacketizer::new(), &payloads).unwrap();
    assert_eq!(out, annexb4(&[&sei, SPS, PPS, &idr(2000)]));
    assert!(info.keyframe);

    // A new PPS in the stream replaces the remembered one; the SPS stays.
    let pps2 = [0x68, 0xce, 0x3c, 0x81];
    packetize(&mut p, &annexb(&[pps2.to_vec(), slice(10)], &[]), 1200).unwrap();
    let payloads = packetize(&mut p, &annexb(&[idr(30)], &[]), 1200).unwrap();
    let (out, _) = depacketize(&mut H264Depacketizer::new(), &payloads).unwrap();
    assert_eq!(out, annexb4(&[SPS, &pps2, &idr(30)]));
}

#[test]
fn mode_0_sends_whole_units_and_refuses_large_ones() {
    let mut p = H264Packetizer::new(PacketizationMode::SingleNal);
    let frame = annexb(&[SPS.to_vec(), PPS.to_vec(), idr(1200)], &[]);
    let payloads = packetize(&mut p, &frame, 1200).unwrap();
    assert_eq!(payloads, [SPS.to_vec(), PPS.to_vec(), idr(1200)]);
    assert_eq!(
        p.packetize(&annexb(&[idr(1201)], &[]), 1200).err(),
        Some(CodecError::PayloadTooSmall)
    );
}

#[test]
fn parameter_set_larger_than_the_store_is_refused_and_not_remembered() {
    let mut p = H264Packetizer::<8>::with_param_capacity(PacketizationMode::NonInterleaved);
    assert_eq!(
        p.packetize(&annexb(&[SPS.to_vec(), idr(10)], &[]), 1200)
            .err(),
        Some(CodecError::BufferTooSmall { needed: SPS.len() })
    );
    assert!(p.sps().is_empty());
}

#[test]
fn short_buffer_leaves_the_cursor_in_place() {
    let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
    let frame = annexb(&[idr(3000)], &[]);
    let mut packets = p.packetize(&frame, 1200).unwrap();
    let mut small = [0u8; 100];
    assert_eq!(
        packets.next_payload(&mut small),
        Some(Err(CodecError::BufferTooSmall { needed: 1200 }))
    );
    let mut buf = [0u8; 1200];
    let first = packets.next_payload(&mut buf).unwrap().unwrap();
    assert_eq!(
        (first.len, buf[1]),
        (1200, 0x85),
        "the first fragment, start bit set"
    );
}

#[test]
fn frame_must_be_annex_b() {
    let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
    assert_eq!(
        p.packetize(&[0x65, 1, 2], 1200).err(),
        Some(CodecError::Malformed)
    );
    assert_eq!(
        p.packetize(&[0, 0, 1], 1200).err(),
        Some(CodecError::Malformed)
    );
    assert_eq!(
        p.packetize(&annexb(&[idr(10)], &[]), 2).err(),
        Some(CodecError::PayloadTooSmall)
    );
}

#[test]
fn depacketizer_refuses_what_modes_0_and_1_never_send() {
    let mut buf = [0u8; 64];
    let mut d = H264Depacketizer::new();
    let mut frame = FrameBuf::new(&mut buf);
    // STAP-B, MTAP16, MTAP24, FU-B, the undefined types.
    for t in [25u8, 26, 27, 29, 0, 30, 31] {
        assert_eq!(
            d.push(&[t, 0, 1, 2], &mut frame),
            Err(CodecError::Malformed),
            "type {t}"
        );
        assert_eq!(d.inspect(&[t, 0, 1, 2]), Err(CodecError::Malformed));
    }
    // FU-A with S and E both set, FU-A continuation without a start.
    assert_eq!(
        d.push(&[0x7c, 0xc5, 1], &mut frame),
        Err(CodecError::Malformed)
    );
    assert_eq!(
        d.push(&[0x7c, 0x05, 1], &mut frame),
        Err(CodecError::Malformed)
    );
    // STAP-A with a truncated unit, with an empty one.
    assert_eq!(
        d.push(&[0x78, 0, 5, 0x41, 1], &mut frame),
        Err(CodecError::Malformed)
    );
    assert_eq!(
        d.push(&[0x78, 0, 0], &mut frame),
        Err(CodecError::Malformed)
    );
    assert!(frame.is_empty(), "refused payloads add nothing");
    assert_eq!(d.push(&[], &mut frame), Err(CodecError::Malformed));
}

#[test]
fn lost_fragment_end_is_incomplete_and_a_lost_middle_is_refused() {
    let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
    let frame = annexb(&[idr(5000)], &[]);
    let payloads = packetize(&mut p, &frame, 1200).unwrap();
    assert!(payloads.len() >= 4);
    let mut d = H264Depacketizer::new();
    assert_eq!(
        depacketize(&mut d, &payloads[..payloads.len() - 1]).err(),
        Some(CodecError::Incomplete)
    );
    // A new unit while a fragment is open means its end was lost.
    let mut buf = vec![0u8; 10_000];
    let mut fb = FrameBuf::new(&mut buf);
    d.push(&payloads[0], &mut fb).unwrap();
    assert_eq!(d.push(&slice(10), &mut fb), Err(CodecError::Malformed));
    d.reset();
    fb.clear();
    // After reset, a continuation alone is refused.
    assert_eq!(d.push(&payloads[1], &mut fb), Err(CodecError::Malformed));
}

#[test]
fn inspect_tells_frame_starts_and_keyframes() {
    let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
    let payloads = packetize(
        &mut p,
        &annexb(&[SPS.to_vec(), PPS.to_vec(), idr(3000)], &[]),
        1200,
    )
    .unwrap();
    let d = H264Depacketizer::new();
    let first = d.inspect(&payloads[0]).unwrap();
    assert!(first.starts_frame && first.keyframe);
    let fu_start = d.inspect(&payloads[1]).unwrap();
    assert!(fu_start.starts_frame && fu_start.keyframe);
    let fu_mid = d.inspect(&payloads[2]).unwrap();
    assert!(!fu_mid.starts_frame);
    let p_slice = d.inspect(&slice(10)).unwrap();
    assert!(p_slice.starts_frame && !p_slice.keyframe);
}

fn unit() -> impl Strategy<Value = Vec<u8>> {
    // Any NAL type of a single unit but the parameter sets and IDR (whose repetition the
    // second property covers); body bytes without zeros so no start code hides inside.
    (
        prop::sample::select(vec![1u8, 2, 3, 4, 6, 9, 10, 11, 12, 19, 20, 21, 23]),
        0u8..4,
        prop::collection::vec(1u8..=255, 0..3000),
    )
        .prop_map(|(t, nri, body)| {
            let mut u = vec![(nri << 5) | t];
            u.extend(body);
            u
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(payload_support::cases()))]

    #[test]
    fn round_trip_any_units_any_payload_size(
        units in prop::collection::vec(unit(), 1..12),
        long in prop::collection::vec(any::<bool>(), 12),
        max_payload in 3usize..1500,
    ) {
        let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
        let payloads = packetize(&mut p, &annexb(&units, &long), max_payload).unwrap();
        let (out, info) = depacketize(&mut H264Depacketizer::new(), &payloads).unwrap();
        let refs: Vec<&[u8]> = units.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(out, annexb4(&refs));
        prop_assert!(!info.keyframe);
    }

    #[test]
    fn round_trip_repeats_parameter_sets_before_idr(
        before in prop::collection::vec(unit(), 0..3),
        idr_len in 1usize..5000,
        max_payload in 3usize..1500,
    ) {
        let mut p = H264Packetizer::new(PacketizationMode::NonInterleaved);
        packetize(&mut p, &annexb(&[SPS.to_vec(), PPS.to_vec(), slice(5)], &[]), 1200).unwrap();
        let key = idr(idr_len);
        let mut units = before.clone();
        units.push(key.clone());
        let payloads = packetize(&mut p, &annexb(&units, &[]), max_payload).unwrap();
        let (out, info) = depacketize(&mut H264Depacketizer::new(), &payloads).unwrap();
        let mut want: Vec<&[u8]> = before.iter().map(Vec::as_slice).collect();
        want.extend([SPS, PPS, key.as_slice()]);
        prop_assert_eq!(out, annexb4(&want));
        prop_assert!(info.keyframe);
    }

    #[test]
    fn arbitrary_payloads_never_panic(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
        cap in 0usize..256,
    ) {
        let mut buf = vec![0u8; cap];
        let mut frame = FrameBuf::new(&mut buf);
        let mut d = H264Depacketizer::new();
        for p in &payloads {
            let _ = d.inspect(p);
            let _ = d.push(p, &mut frame);
        }
        let _ = d.finish(&mut frame);
    }

    #[test]
    fn arbitrary_frames_never_panic(
        frame in prop::collection::vec(prop::sample::select(vec![0u8, 1, 0x65, 0x67, 0x68, 0x41, 7]), 0..200),
        max_payload in 0usize..64,
        mode0 in any::<bool>(),
    ) {
        let mode = if mode0 { PacketizationMode::SingleNal } else { PacketizationMode::NonInterleaved };
        let mut p = H264Packetizer::<16>::with_param_capacity(mode);
        if let Ok(mut packets) = p.packetize(&frame, max_payload) {
            let mut out = [0u8; 64];
            let mut n = 0;
            while let Some(r) = packets.next_payload(&mut out) {
                let len = r.unwrap().len;
                prop_assert!(len <= max_payload);
                n += 1;
                prop_assert!(n < 1000);
            }
        }
    }
}
