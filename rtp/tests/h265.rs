//! H.265 (RFC 7798): aggregation packets, fragmentation units and VPS/SPS/PPS repetition
//! written out by hand from the RFC's layouts; packetize-then-depacketize returns the access
//! unit for any units and payload size; arbitrary payloads never panic. The GStreamer known
//! answers are in nal_interop.rs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod payload_support;

use payload_support::{annexb, annexb4, depacketize, packetize};
use peerless_rtp::codec::h265::{H265Depacketizer, H265Packetizer};
use peerless_rtp::codec::{CodecError, Depacketizer, FrameBuf};
use proptest::prelude::*;

/// A NAL unit header: type, LayerId, TID (nuh_temporal_id_plus1).
fn header(t: u8, layer: u8, tid: u8) -> [u8; 2] {
    [(t << 1) | (layer >> 5), ((layer & 0x1f) << 3) | tid]
}

fn unit(t: u8, len: usize) -> Vec<u8> {
    let mut u = header(t, 0, 1).to_vec();
    u.extend((2..len).map(|i| (i % 251 + 1) as u8));
    u
}

fn vps() -> Vec<u8> {
    unit(32, 23)
}
fn sps() -> Vec<u8> {
    unit(33, 44)
}
fn pps() -> Vec<u8> {
    unit(34, 8)
}

#[test]
fn irap_is_ap_then_fu() {
    let idr = unit(19, 3000);
    let frame = annexb(&[vps(), sps(), pps(), idr.clone()], &[]);
    let payloads = packetize(&mut H265Packetizer::new(), &frame, 1200).unwrap();

    // AP: type 48, LayerId 0, TID 1; then each unit behind its 16-bit size.
    let mut ap = vec![0x60, 0x01];
    for u in [vps(), sps(), pps()] {
        ap.extend_from_slice(&(u.len() as u16).to_be_bytes());
        ap.extend_from_slice(&u);
    }
    assert_eq!(payloads[0], ap);

    // FU: payload header type 49 with the unit's LayerId/TID, FU header S/E | type 19.
    let parts: Vec<&[u8]> = idr[2..].chunks(1197).collect();
    assert_eq!(payloads.len(), 1 + parts.len());
    for (i, part) in parts.iter().enumerate() {
        let s = if i == 0 { 0x80 } else { 0 };
        let e = if i == parts.len() - 1 { 0x40 } else { 0 };
        let mut want = vec![0x62, 0x01, s | e | 19];
        want.extend_from_slice(part);
        assert_eq!(payloads[1 + i], want, "fragment {i}");
    }
    let (out, info) = depacketize(&mut H265Depacketizer::new(), &payloads).unwrap();
    assert_eq!(out, annexb4(&[&vps(), &sps(), &pps(), &idr]));
    assert!(info.keyframe);
}

#[test]
fn ap_header_has_the_lowest_layer_and_tid_and_any_f() {
    let a = [header(1, 3, 2)[0] | 0x80, header(1, 3, 2)[1], 9]; // F set, LayerId 3, TID 2
    let b = [header(1, 34, 5)[0], header(1, 34, 5)[1], 8]; // LayerId 34, TID 5
    let payloads = packetize(
        &mut H265Packetizer::new(),
        &annexb(&[a.to_vec(), b.to_vec()], &[]),
        1200,
    )
    .unwrap();
    let h = header(48, 3, 2);
    assert_eq!(
        payloads,
        [vec![
            0x80 | h[0],
            h[1],
            0,
            3,
            a[0],
            a[1],
            9,
            0,
            3,
            b[0],
            b[1],
            8
        ]]
    );
}

#[test]
fn fu_keeps_the_layer_and_tid() {
    let mut u = header(1, 33, 4).to_vec();
    u.extend(std::iter::repeat_n(7u8, 300));
    let payloads = packetize(&mut H265Packetizer::new(), &annexb(&[u.clone()], &[]), 100).unwrap();
    let h = header(49, 33, 4);
    assert_eq!(&payloads[0][..3], &[h[0], h[1], 0x80 | 1]);
    let (out, _) = depacketize(&mut H265Depacketizer::new(), &payloads).unwrap();
    assert_eq!(out, annexb4(&[&u]));
}

#[test]
fn irap_without_parameter_sets_gets_the_last_ones_seen() {
    let mut p = H265Packetizer::new();
    packetize(
        &mut p,
        &annexb(&[vps(), sps(), pps(), unit(19, 100)], &[]),
        1200,
    )
    .unwrap();
    assert_eq!(
        (p.vps(), p.sps(), p.pps()),
        (&vps()[..], &sps()[..], &pps()[..])
    );
    assert_eq!(
        packetize(&mut p, &annexb(&[unit(1, 50)], &[]), 1200).unwrap(),
        [unit(1, 50)]
    );
    // A CRA (21) is an IRAP too; the SEI before it stays first.
    let sei = unit(39, 20);
    let cra = unit(21, 2000);
    let payloads = packetize(&mut p, &annexb(&[sei.clone(), cra.clone()], &[]), 1200).unwrap();
    let (out, info) = depacketize(&mut H265Depacketizer::new(), &payloads).unwrap();
    assert_eq!(out, annexb4(&[&sei, &vps(), &sps(), &pps(), &cra]));
    assert!(info.keyframe);
}

#[test]
fn depacketizer_refuses_paci_undefined_and_broken_fragments() {
    let mut buf = [0u8; 64];
    let mut d = H265Depacketizer::new();
    let mut frame = FrameBuf::new(&mut buf);
    for t in [50u8, 51, 63] {
        let h = header(t, 0, 1);
        assert_eq!(
            d.push(&[h[0], h[1], 1, 2], &mut frame),
            Err(CodecError::Malformed),
            "type {t}"
        );
    }
    let fu = header(49, 0, 1);
    // S and E together; FuType 48 (an AP's); a continuation without a start; no FU header.
    for p in [
        [fu[0], fu[1], 0xc1, 1],
        [fu[0], fu[1], 0x80 | 48, 1],
        [fu[0], fu[1], 0x01, 1],
    ] {
        assert_eq!(
            d.push(&p, &mut frame),
            Err(CodecError::Malformed),
            "{p:02x?}"
        );
    }
    assert_eq!(d.push(&fu, &mut frame), Err(CodecError::Malformed));
    let ap = header(48, 0, 1);
    assert_eq!(
        d.push(&[ap[0], ap[1], 0, 9, 2, 1], &mut frame),
        Err(CodecError::Malformed)
    );
    assert_eq!(
        d.push(&[ap[0], ap[1], 0, 1, 2], &mut frame),
        Err(CodecError::Malformed),
        "unit shorter than its header"
    );
    assert_eq!(d.push(&[0x02], &mut frame), Err(CodecError::Malformed));
    assert!(frame.is_empty());
    assert_eq!(
        d.finish(&mut frame),
        Err(CodecError::Incomplete),
        "no unit at all"
    );
}

fn any_unit() -> impl Strategy<Value = Vec<u8>> {
    // Types that are neither parameter sets nor IRAP (the repetition has its own test), any
    // LayerId and TID 1-7, bodies without zeros.
    (
        prop::sample::select(vec![0u8, 1, 2, 9, 35, 39, 40, 47]),
        0u8..64,
        1u8..8,
        prop::collection::vec(1u8..=255, 0..3000),
    )
        .prop_map(|(t, layer, tid, body)| {
            let mut u = header(t, layer, tid).to_vec();
            u.extend(body);
            u
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(payload_support::cases()))]

    #[test]
    fn round_trip_any_units_any_payload_size(
        units in prop::collection::vec(any_unit(), 1..12),
        long in prop::collection::vec(any::<bool>(), 12),
        max_payload in 4usize..1500,
    ) {
        let payloads = packetize(&mut H265Packetizer::new(), &annexb(&units, &long), max_payload).unwrap();
        let (out, info) = depacketize(&mut H265Depacketizer::new(), &payloads).unwrap();
        let refs: Vec<&[u8]> = units.iter().map(Vec::as_slice).collect();
        prop_assert_eq!(out, annexb4(&refs));
        prop_assert!(!info.keyframe);
    }

    #[test]
    fn arbitrary_payloads_never_panic(
        payloads in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
        cap in 0usize..256,
    ) {
        let mut buf = vec![0u8; cap];
        let mut frame = FrameBuf::new(&mut buf);
        let mut d = H265Depacketizer::new();
        for p in &payloads {
            let _ = d.inspect(p);
            let _ = d.push(p, &mut frame);
        }
        let _ = d.finish(&mut frame);
    }
}
