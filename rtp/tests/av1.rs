//! AV1 (AOMedia RTP payload format v1.0): the aggregation header and OBU elements written out
//! by hand from the specification; libaom's temporal units (tests/data/av1_aom.ivf) through
//! packetizer and depacketizer come back as the same OBUs with their size fields, N set on
//! the keyframes only; round trip for any OBUs and payload size; arbitrary payloads never
//! panic. With PEERLESS_RTP_OUT set, the rebuilt stream is written as IVF for ffmpeg to decode
//! (scripts/interop/rtp-av1.sh).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod payload_support;

use payload_support::{depacketize, packetize};
use peerless_rtp::codec::av1::{Av1Depacketizer, Av1Packetizer};
use peerless_rtp::codec::{CodecError, Depacketizer, FrameBuf, Packetizer};
use peerless_rtp::container::ivf::IvfReader;
use proptest::prelude::*;

fn leb128(mut v: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// An OBU: header (type, extension), optional size field, payload.
fn obu(t: u8, ext: Option<u8>, sized: bool, payload: &[u8]) -> Vec<u8> {
    let mut o = vec![(t << 3) | if ext.is_some() { 4 } else { 0 } | if sized { 2 } else { 0 }];
    o.extend(ext);
    if sized {
        o.extend(leb128(payload.len()));
    }
    o.extend_from_slice(payload);
    o
}

const TD: [u8; 2] = [0x12, 0x00];

fn body(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn keyframe_by_hand() {
    // TD, sequence header (10 bytes, profile 0 not reduced), key frame (2000 bytes, first
    // byte 0x10: show_existing_frame 0, frame_type KEY).
    let seq = body(10, 1);
    let mut frame = body(2000, 2);
    frame[0] = 0x10;
    let tu = [
        TD.to_vec(),
        obu(1, None, true, &seq),
        obu(6, None, true, &frame),
    ]
    .concat();
    let payloads = packetize(&mut Av1Packetizer::new(), &tu, 1200).unwrap();
    assert_eq!(payloads.len(), 2);

    // First: Z0 Y1 W2 N1; the sequence header with its length (11 = header + 10), then the
    // frame's first 1200 - 1 - 12 = 1187 bytes, the last element's length implied.
    let mut first = vec![0x40 | 0x20 | 0x08, 11, 0x08];
    first.extend_from_slice(&seq);
    first.push(0x30);
    first.extend_from_slice(&frame[..1186]);
    assert_eq!(payloads[0], first);
    // Second: Z1 Y0 W1; the rest of the frame OBU.
    let mut second = vec![0x80 | 0x10];
    second.extend_from_slice(&frame[1186..]);
    assert_eq!(payloads[1], second);

    let (out, info) = depacketize(&mut Av1Depacketizer::new(), &payloads).unwrap();
    assert_eq!(out, tu, "TD in front, size fields restored");
    assert!(info.keyframe);
}

#[test]
fn more_than_three_elements_use_w_0() {
    let obus: Vec<Vec<u8>> = (0..5).map(|i| body(20, i)).collect();
    let tu: Vec<u8> = obus
        .iter()
        .flat_map(|b| obu(5, Some(0x08), true, b))
        .collect();
    let payloads = packetize(&mut Av1Packetizer::new(), &tu, 1200).unwrap();
    let mut want = vec![0x00];
    for b in &obus {
        want.push(22);
        want.extend_from_slice(&[0x2c, 0x08]);
        want.extend_from_slice(b);
    }
    assert_eq!(payloads, [want]);
    let (out, info) = depacketize(&mut Av1Depacketizer::new(), &payloads).unwrap();
    assert_eq!(out, [TD.to_vec(), tu].concat());
    assert!(!info.keyframe);
}

#[test]
fn temporal_delimiters_and_tile_lists_dropped_last_obu_without_size() {
    let tu = [
        TD.to_vec(),
        obu(8, None, true, &[1, 2, 3]),
        obu(6, None, false, &[0x30, 9, 9]),
    ]
    .concat();
    let payloads = packetize(&mut Av1Packetizer::new(), &tu, 1200).unwrap();
    assert_eq!(payloads, [vec![0x10, 0x30, 0x30, 9, 9]]);
    let (out, _) = depacketize(&mut Av1Depacketizer::new(), &payloads).unwrap();
    assert_eq!(
        out,
        [TD.to_vec(), obu(6, None, true, &[0x30, 9, 9])].concat()
    );
}

#[test]
fn refused_frames_and_payloads() {
    let mut p = Av1Packetizer::new();
    assert_eq!(
        p.packetize(&TD, 1200).err(),
        Some(CodecError::Malformed),
        "only a TD"
    );
    assert_eq!(
        p.packetize(&[0x32, 5, 1], 1200).err(),
        Some(CodecError::Malformed),
        "truncated"
    );
    assert_eq!(
        p.packetize(&[0xb2, 0], 1200).err(),
        Some(CodecError::Malformed),
        "forbidden bit"
    );
    assert_eq!(
        p.packetize(&obu(6, None, true, &[1]), 1).err(),
        Some(CodecError::PayloadTooSmall)
    );

    let mut buf = [0u8; 64];
    let mut frame = FrameBuf::new(&mut buf);
    let mut d = Av1Depacketizer::new();
    // Z and N together; a continuation without its start; an element longer than the payload;
    // an empty element; no element at all.
    for p in [
        &[0x88, 0x30][..],
        &[0x90, 0x30],
        &[0x00, 5, 0x30],
        &[0x00, 0],
        &[0x10],
    ] {
        assert_eq!(
            d.push(p, &mut frame),
            Err(CodecError::Malformed),
            "{p:02x?}"
        );
    }
    // An open OBU, then a payload that does not continue it.
    d.push(&[0x50, 0x30, 1], &mut frame).unwrap();
    assert_eq!(
        d.push(&[0x10, 0x30, 2], &mut frame),
        Err(CodecError::Malformed)
    );
    assert_eq!(d.finish(&mut frame), Err(CodecError::Incomplete));
}

/// The OBUs of a temporal unit, normalized as the depacketizer writes them: a TD first, tile
/// lists and other TDs left out, every OBU with a minimal size field.
fn normalized(tu: &[u8]) -> Vec<u8> {
    let mut out = TD.to_vec();
    let mut rest = tu;
    while let Some(&h) = rest.first() {
        let hl = 1 + usize::from(h & 4 != 0);
        let (size, used) = if h & 2 != 0 {
            let mut v = 0usize;
            let mut n = 0;
            loop {
                let b = rest[hl + n];
                v |= usize::from(b & 0x7f) << (7 * n);
                n += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
            (v, n)
        } else {
            (rest.len() - hl, 0)
        };
        let t = (h >> 3) & 0xf;
        if t != 2 && t != 8 {
            out.push(h | 2);
            out.extend_from_slice(&rest[1..hl]);
            out.extend(leb128(size));
            out.extend_from_slice(&rest[hl + used..hl + used + size]);
        }
        rest = &rest[hl + used + size..];
    }
    out
}

#[test]
fn libaom_temporal_units_round_trip_with_n_on_keyframes() {
    let file = payload_support::read("av1_aom.ivf");
    let (header, frames) = IvfReader::new(&file).unwrap();
    assert_eq!(&header.fourcc, b"AV01");
    let mut rebuilt_ivf = file[..32].to_vec();
    let mut count = 0;
    for (i, frame) in frames.enumerate() {
        let frame = frame.unwrap();
        for max_payload in [1200, 300] {
            let payloads = packetize(&mut Av1Packetizer::new(), frame.data, max_payload).unwrap();
            let keyframe = i % 5 == 0;
            assert_eq!(payloads[0][0] & 0x08 != 0, keyframe, "N on frame {i}");
            assert!(
                payloads.iter().skip(1).all(|p| p[0] & 0x08 == 0),
                "N on the first payload only"
            );
            let (out, info) = depacketize(&mut Av1Depacketizer::new(), &payloads).unwrap();
            assert_eq!(out, normalized(frame.data), "frame {i} at {max_payload}");
            assert_eq!(info.keyframe, keyframe);
            if max_payload == 1200 {
                rebuilt_ivf.extend_from_slice(&(out.len() as u32).to_le_bytes());
                rebuilt_ivf.extend_from_slice(&frame.timestamp.to_le_bytes());
                rebuilt_ivf.extend_from_slice(&out);
            }
        }
        count += 1;
    }
    assert_eq!(count, 10);
    if let Some(dir) = std::env::var_os("PEERLESS_RTP_OUT") {
        std::fs::write(
            std::path::Path::new(&dir).join("av1_rebuilt.ivf"),
            rebuilt_ivf,
        )
        .unwrap();
    }
}

fn any_obu() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![1u8, 3, 4, 5, 6, 15]),
        prop::option::of(any::<u8>()),
        prop::collection::vec(any::<u8>(), 0..3000),
    )
        .prop_map(|(t, ext, payload)| obu(t, ext, true, &payload))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(payload_support::cases()))]

    #[test]
    fn round_trip_any_obus_any_payload_size(
        obus in prop::collection::vec(any_obu(), 1..10),
        td in any::<bool>(),
        max_payload in 2usize..1500,
    ) {
        let mut tu = if td { TD.to_vec() } else { Vec::new() };
        tu.extend(obus.concat());
        let payloads = packetize(&mut Av1Packetizer::new(), &tu, max_payload).unwrap();
        let (out, _) = depacketize(&mut Av1Depacketizer::new(), &payloads).unwrap();
        prop_assert_eq!(out, normalized(&tu));
    }

    #[test]
    fn arbitrary_payloads_never_panic(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
        cap in 0usize..256,
    ) {
        let mut buf = vec![0u8; cap];
        let mut frame = FrameBuf::new(&mut buf);
        let mut d = Av1Depacketizer::new();
        for p in &payloads {
            let _ = d.inspect(p);
            let _ = d.push(p, &mut frame);
        }
        let _ = d.finish(&mut frame);
    }

    #[test]
    fn arbitrary_frames_never_panic(
        frame in prop::collection::vec(any::<u8>(), 0..200),
        max_payload in 0usize..64,
    ) {
        let mut p = Av1Packetizer::new();
        if let Ok(payloads) = packetize(&mut p, &frame, max_payload) {
            prop_assert!(!payloads.is_empty());
        }
    }
}
