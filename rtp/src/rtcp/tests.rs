//! Known packets from other implementations and round trips through the builder.

use super::*;
use crate::WireError;
use hex_literal::hex;
use std::vec::Vec;

fn only(bytes: &[u8]) -> Kind<'_> {
    let compound = Compound::parse(bytes).unwrap();
    let mut packets = compound.packets();
    let kind = packets.next().unwrap().kind().unwrap();
    assert!(packets.next().is_none());
    kind
}

/// Pion's `TestTransportLayerCC_Unmarshal` example1: one packet, run-length chunk, a small
/// delta of 148 (37 ms), one byte of RTCP padding.
#[test]
fn transport_cc_known_packet() {
    let bytes = hex!("afcd0005 fa17fa17 43032fa0 00990001 3de80217 20019401");
    let Kind::TransportCc(tcc) = only(&bytes) else {
        panic!("not transport-cc")
    };
    assert_eq!(
        tcc.ssrcs(),
        FeedbackSsrcs {
            sender: 4195875351,
            media: 1124282272
        }
    );
    assert_eq!(tcc.base_sequence(), 153);
    assert_eq!(tcc.status_count(), 1);
    assert_eq!(tcc.reference_time(), 4057090);
    assert_eq!(tcc.feedback_count(), 23);
    assert!(tcc.packets().eq([TccPacket {
        sequence: 153,
        status: TccStatus::Received(148)
    }]));
}

/// More of Pion's transport-cc vectors: a run-length chunk with RTCP padding (emitted by
/// our builder too, but zero-padded: see below), a one-bit status vector, and a two-bit
/// vector with a large delta followed by a run longer than the status count.
#[test]
fn transport_cc_known_packets_all_chunk_kinds() {
    use TccStatus::{NotReceived as N, Received as R};
    // (packet, base sequence, reference time, feedback count, statuses)
    type Case<'a> = (&'a [u8], u16, i32, u8, &'a [TccStatus]);
    let cases: [Case<'_>; 3] = [
        (
            &hex!("afcd0007 fa17fa17 193dd8bb 00040007 10636e01 20074c24 24100c0c 10000003"),
            4,
            1074030,
            1,
            &[R(76), R(36), R(36), R(16), R(12), R(12), R(16)],
        ),
        (
            &hex!("afcd0006 fa17fa17 193dd8bb 0001000e 10636d00 ba00100c 0c100002"),
            1,
            1074029,
            0,
            &[R(16), R(12), R(12), N, R(16), N, N, N, N, N, N, N, N, N],
        ),
        (
            &hex!("afcd0007 9b74f61f 9371dcbc 853c0009 63f916b3 d5520030 9baa6aaa 7b010901"),
            34108,
            6551830,
            179,
            &[R(155), R(170), R(106), R(170), R(123), N, R(265), N, N],
        ),
    ];
    for (bytes, base, reference, count, statuses) in cases {
        let Kind::TransportCc(tcc) = only(bytes) else {
            panic!("not transport-cc")
        };
        assert_eq!(
            (
                tcc.base_sequence(),
                tcc.reference_time(),
                tcc.feedback_count()
            ),
            (base, reference, count)
        );
        let got: Vec<TccStatus> = tcc.packets().map(|p| p.status).collect();
        assert_eq!(got, statuses);
    }
    // The first is what our builder writes for the same statuses, but with the FCI's three
    // bytes of alignment as zeros inside it (the draft's "zero padding") instead of RTCP
    // padding with the P bit: a count of 3 breaks RFC 3550's multiple of four, and
    // GStreamer drops such a compound (tests/transport_cc_gst.rs).
    let zero_padded =
        hex!("8fcd0007 fa17fa17 193dd8bb 00040007 10636e01 20074c24 24100c0c 10000000");
    let mut buf = [0u8; 64];
    let mut b = CompoundBuilder::new(&mut buf);
    b.transport_cc(&TransportCcRepr {
        ssrcs: FeedbackSsrcs {
            sender: 0xfa17fa17,
            media: 0x193dd8bb,
        },
        base_sequence: 4,
        reference_time: 1074030,
        feedback_count: 1,
        statuses: cases[0].4,
    });
    let n = b.finish().unwrap();
    assert_eq!(&buf[..n], zero_padded);
}

#[test]
fn every_type_round_trips_through_the_builder() {
    let block = ReportBlock {
        ssrc: 0xaabbccdd,
        fraction_lost: 12,
        cumulative_lost: -3,
        highest_sequence: 0x0001_0005,
        jitter: 77,
        last_sr: 0x1234_5678,
        delay_since_last_sr: 65536,
    };
    let info = SenderInfo {
        ntp_timestamp: 0xe000_0000_8000_0000,
        rtp_timestamp: 90000,
        packet_count: 10,
        octet_count: 12000,
    };
    let statuses = [
        TccStatus::Received(4),
        TccStatus::NotReceived,
        TccStatus::Received(-20),
        TccStatus::Received(1000),
    ]
    .into_iter()
    .chain([TccStatus::Received(1); 9])
    .chain([TccStatus::NotReceived; 3])
    .chain([TccStatus::Received(5)])
    .collect::<Vec<_>>();
    let fb = FeedbackSsrcs {
        sender: 1,
        media: 2,
    };
    let mut buf = [0u8; 1024];
    let mut b = CompoundBuilder::new(&mut buf);
    b.sender_report(1, &info, &[block, block])
        .receiver_report(1, &[block])
        .sdes(&[
            SdesChunkRepr {
                ssrc: 1,
                items: &[SdesItem {
                    kind: SdesType::CNAME,
                    value: b"abc",
                }],
            },
            SdesChunkRepr {
                ssrc: 2,
                items: &[
                    SdesItem {
                        kind: SdesType::CNAME,
                        value: b"wxyz",
                    },
                    SdesItem {
                        kind: SdesType::TOOL,
                        value: b"peerless",
                    },
                ],
            },
        ])
        .bye(&[1, 2], Some(b"done"))
        .app(3, 1, *b"TEST", &[1, 2, 3, 4])
        .nack(
            fb,
            &[NackPair {
                pid: 65535,
                blp: 0b101,
            }],
        )
        .transport_cc(&TransportCcRepr {
            ssrcs: fb,
            base_sequence: 65530,
            reference_time: -2,
            feedback_count: 9,
            statuses: &statuses,
        })
        .pli(1, 2)
        .fir(
            1,
            &[FirEntry {
                ssrc: 2,
                sequence: 7,
            }],
        )
        .remb(1, 1_500_000_000, &[2, 3])
        .raw(0, PacketType::XR, &[0xde, 0xad, 0xbe, 0xef]);
    let n = b.finish().unwrap();
    let compound = Compound::parse(&buf[..n]).unwrap();
    let kinds: Vec<Kind<'_>> = compound.packets().map(|p| p.kind().unwrap()).collect();
    assert_eq!(kinds.len(), 11);

    let Kind::SenderReport(sr) = kinds[0] else {
        panic!()
    };
    assert_eq!((sr.ssrc(), sr.sender_info()), (1, info));
    assert!(sr.reports().eq([block, block]));
    assert!(sr.extension().is_empty());
    let Kind::ReceiverReport(rr) = kinds[1] else {
        panic!()
    };
    assert_eq!(rr.ssrc(), 1);
    assert!(rr.reports().eq([block]));
    let Kind::Sdes(sdes) = kinds[2] else { panic!() };
    let chunks: Vec<_> = sdes.chunks().collect();
    assert_eq!(chunks.len(), 2);
    assert_eq!((chunks[0].ssrc, chunks[0].cname()), (1, Some(&b"abc"[..])));
    assert_eq!(chunks[1].items().nth(1).unwrap().value, b"peerless");
    let Kind::Bye(bye) = kinds[3] else { panic!() };
    assert!(bye.ssrcs().eq([1, 2]));
    assert_eq!(bye.reason(), Some(&b"done"[..]));
    let Kind::App(app) = kinds[4] else { panic!() };
    assert_eq!(
        (app.subtype(), app.ssrc(), app.name(), app.data()),
        (3, 1, *b"TEST", &[1, 2, 3, 4][..])
    );
    let Kind::Nack(nack) = kinds[5] else { panic!() };
    assert_eq!(nack.ssrcs(), fb);
    assert!(nack.lost().eq([65535, 0, 2]));
    let Kind::TransportCc(tcc) = kinds[6] else {
        panic!()
    };
    assert_eq!(
        (
            tcc.base_sequence(),
            tcc.reference_time(),
            tcc.feedback_count()
        ),
        (65530, -2, 9)
    );
    let got: Vec<_> = tcc.packets().collect();
    assert_eq!(got.len(), statuses.len());
    for (i, (p, s)) in got.iter().zip(&statuses).enumerate() {
        assert_eq!(p.status, *s);
        assert_eq!(p.sequence, 65530u16.wrapping_add(i as u16));
    }
    assert!(
        !compound.packets().nth(6).unwrap().has_padding(),
        "zero padding, no P bit"
    );
    assert_eq!(
        kinds[7],
        Kind::Pli(FeedbackSsrcs {
            sender: 1,
            media: 2
        })
    );
    let Kind::Fir(fir) = kinds[8] else { panic!() };
    assert_eq!(fir.sender_ssrc(), 1);
    assert!(fir.entries().eq([FirEntry {
        ssrc: 2,
        sequence: 7
    }]));
    let Kind::Remb(remb) = kinds[9] else { panic!() };
    assert_eq!(remb.sender_ssrc(), 1);
    // 1.5 Gbit/s needs a 13-bit shift of an 18-bit mantissa: rounded down to the grid.
    assert!(remb.bitrate() <= 1_500_000_000 && remb.bitrate() > 1_499_990_000);
    assert!(remb.ssrcs().eq([2, 3]));
    let Kind::Other(xr) = kinds[10] else { panic!() };
    assert_eq!(
        (xr.packet_type(), xr.body()),
        (PacketType::XR, &[0xde, 0xad, 0xbe, 0xef][..])
    );
}

#[test]
fn demultiplexes_rtp_and_rtcp() {
    assert!(is_rtcp(&hex!("80c8")));
    assert!(is_rtcp(&hex!("81cd")));
    assert!(!is_rtcp(&hex!("806f")));
    assert!(!is_rtcp(&hex!("80e0"))); // marker set, payload type 96
    assert!(!is_rtcp(&[0x80]));
}

#[test]
fn remb_exponent_saturates() {
    // Mantissa 0x3ffff with exponent 63 does not fit 64 bits.
    let bytes = hex!("8fce0005 00000001 00000000 52454d42 00ffffff 00000000");
    let bytes = &bytes[..20];
    let mut fixed = bytes.to_vec();
    fixed[3] = 4;
    let Kind::Remb(remb) = only(&fixed) else {
        panic!()
    };
    assert_eq!(remb.bitrate(), u64::MAX);
}

#[test]
fn reduced_size_and_framing_errors() {
    // A lone PLI (RFC 5506 reduced-size): accepted.
    let pli = hex!("81ce0002 00000001 00000002");
    assert_eq!(
        only(&pli),
        Kind::Pli(FeedbackSsrcs {
            sender: 1,
            media: 2
        })
    );
    assert_eq!(Compound::parse(&[]), Err(WireError::Malformed));
    // Version 1, length past the end, padding count 0 or too large.
    assert!(Compound::parse(&hex!("41ce0002 00000001 00000002")).is_err());
    assert!(Compound::parse(&hex!("81ce0003 00000001 00000002")).is_err());
    assert!(Compound::parse(&hex!("a1ce0002 00000001 00000000")).is_err());
    assert!(Compound::parse(&hex!("a1ce0000")).is_err());
    // A truncated second packet.
    assert!(Compound::parse(&hex!("81ce0002 00000001 00000002 81ce")).is_err());
    // SR whose report count promises a block that is not there.
    let sr = hex!("81c80006 00000001 00000000 00000000 00000000 00000000 00000000");
    let c = Compound::parse(&sr).unwrap();
    assert_eq!(
        c.packets().next().unwrap().kind(),
        Err(WireError::Malformed)
    );
    // Transport-cc whose status count needs more deltas than present.
    let tcc = hex!("8fcd0005 00000001 00000002 00000002 00000000 40020000");
    let c = Compound::parse(&tcc).unwrap();
    assert_eq!(
        c.packets().next().unwrap().kind(),
        Err(WireError::Malformed)
    );
    // Builder errors: too many report blocks, odd APP data, small buffer.
    let mut buf = [0u8; 2048];
    let mut b = CompoundBuilder::new(&mut buf);
    b.receiver_report(1, &[ReportBlock::default(); 32]);
    assert_eq!(b.finish(), Err(WireError::Unrepresentable));
    let mut b = CompoundBuilder::new(&mut buf);
    b.app(0, 1, *b"abcd", &[1]);
    assert_eq!(b.finish(), Err(WireError::Unrepresentable));
    let mut small = [0u8; 8];
    let mut b = CompoundBuilder::new(&mut small);
    b.pli(1, 2);
    assert_eq!(b.finish(), Err(WireError::BufferTooSmall { needed: 12 }));
}

fn status() -> impl proptest::strategy::Strategy<Value = TccStatus> {
    use proptest::prelude::*;
    prop_oneof![
        Just(TccStatus::NotReceived),
        (0i16..=255).prop_map(TccStatus::Received),
        proptest::num::i16::ANY.prop_map(TccStatus::Received),
    ]
}

proptest::proptest! {
    /// Arbitrary bytes never panic anywhere in parsing and walking a compound.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        walk(&bytes);
    }

    /// Mostly well-framed packets with random bodies reach the typed parsers.
    #[test]
    fn random_bodies_never_panic(pt in 200u8..=207, count in 0u8..32, body in proptest::collection::vec(proptest::num::u8::ANY, 0..120)) {
        let words = body.len() / 4;
        let mut bytes = std::vec![0x80 | count, pt, 0, words as u8];
        bytes.extend_from_slice(&body[..words * 4]);
        walk(&bytes);
    }

    /// Transport-cc statuses survive emit then parse, whatever the mix.
    #[test]
    fn transport_cc_round_trips(statuses in proptest::collection::vec(status(), 0..200), base in proptest::num::u16::ANY) {
        let mut buf = [0u8; 2048];
        let mut b = CompoundBuilder::new(&mut buf);
        b.transport_cc(&TransportCcRepr { ssrcs: FeedbackSsrcs { sender: 1, media: 2 }, base_sequence: base, reference_time: 5, feedback_count: 1, statuses: &statuses });
        let n = b.finish().unwrap();
        let Kind::TransportCc(tcc) = only(&buf[..n]) else { panic!() };
        let got: Vec<TccStatus> = tcc.packets().map(|p| p.status).collect();
        proptest::prop_assert_eq!(got, statuses);
    }
}

fn walk(bytes: &[u8]) {
    let Ok(compound) = Compound::parse(bytes) else {
        return;
    };
    for p in compound.packets() {
        let _ = (p.packet_type(), p.count(), p.body(), p.has_padding());
        match p.kind() {
            Ok(Kind::SenderReport(sr)) => {
                let _ = (
                    sr.ssrc(),
                    sr.sender_info(),
                    sr.reports().count(),
                    sr.extension(),
                );
            }
            Ok(Kind::ReceiverReport(rr)) => {
                let _ = (rr.ssrc(), rr.reports().count(), rr.extension());
            }
            Ok(Kind::Sdes(s)) => s.chunks().for_each(|c| {
                let _ = (c.items().count(), c.cname());
            }),
            Ok(Kind::Bye(b)) => {
                let _ = (b.ssrcs().count(), b.reason());
            }
            Ok(Kind::App(a)) => {
                let _ = (a.subtype(), a.ssrc(), a.name(), a.data());
            }
            Ok(Kind::Nack(n)) => {
                let _ = (n.ssrcs(), n.lost().count());
            }
            Ok(Kind::TransportCc(t)) => {
                let _ = (t.reference_time(), t.feedback_count(), t.packets().count());
            }
            Ok(Kind::Fir(f)) => {
                let _ = f.entries().count();
            }
            Ok(Kind::Remb(r)) => {
                let _ = (r.bitrate(), r.ssrcs().count());
            }
            Ok(Kind::Pli(_) | Kind::Other(_)) | Err(_) => {}
        }
    }
}
