//! parse(emit(x)) == x for RTP headers (CSRCs, both extension forms, padding) and for every
//! RTCP packet type the builder writes. `PROPTEST_CASES` raises the case count.

// Test helpers outside #[test] functions: a failure must stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_rtp::packet::{Element, ExtensionForm, ExtensionProfile, Header, Packet};
use peerless_rtp::rtcp::{
    Compound, CompoundBuilder, FeedbackSsrcs, FirEntry, Kind, NackPair, ReportBlock, SdesChunkRepr,
    SdesItem, SdesType, SenderInfo,
};
use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
}

fn block() -> impl Strategy<Value = ReportBlock> {
    (
        any::<u32>(),
        any::<u8>(),
        -(1i32 << 23)..(1 << 23),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(
                ssrc,
                fraction_lost,
                cumulative_lost,
                highest_sequence,
                jitter,
                last_sr,
                delay_since_last_sr,
            )| {
                ReportBlock {
                    ssrc,
                    fraction_lost,
                    cumulative_lost,
                    highest_sequence,
                    jitter,
                    last_sr,
                    delay_since_last_sr,
                }
            },
        )
}

/// SDES chunks as (SSRC, [(item type, value)]).
type Chunks = Vec<(u32, Vec<(u8, Vec<u8>)>)>;

/// One RTCP packet to build, with what parsing it must give back.
#[derive(Debug, Clone)]
enum Repr {
    Sr(u32, SenderInfo, Vec<ReportBlock>),
    Rr(u32, Vec<ReportBlock>),
    Sdes(Chunks),
    Bye(Vec<u32>, Option<Vec<u8>>),
    App(u8, u32, [u8; 4], Vec<u8>),
    Nack(u32, u32, Vec<(u16, u16)>),
    Pli(u32, u32),
    Fir(u32, Vec<(u32, u8)>),
    Remb(u32, u64, Vec<u32>),
}

fn repr() -> impl Strategy<Value = Repr> {
    let info = (any::<u64>(), any::<u32>(), any::<u32>(), any::<u32>()).prop_map(
        |(ntp_timestamp, rtp_timestamp, packet_count, octet_count)| SenderInfo {
            ntp_timestamp,
            rtp_timestamp,
            packet_count,
            octet_count,
        },
    );
    let item = (1u8..=8, prop::collection::vec(any::<u8>(), 0..40));
    prop_oneof![
        (any::<u32>(), info, prop::collection::vec(block(), 0..5))
            .prop_map(|(s, i, b)| Repr::Sr(s, i, b)),
        (any::<u32>(), prop::collection::vec(block(), 0..5)).prop_map(|(s, b)| Repr::Rr(s, b)),
        prop::collection::vec((any::<u32>(), prop::collection::vec(item, 0..4)), 0..4)
            .prop_map(Repr::Sdes),
        (
            prop::collection::vec(any::<u32>(), 0..5),
            prop::option::of(prop::collection::vec(any::<u8>(), 0..40))
        )
            .prop_map(|(s, r)| Repr::Bye(s, r)),
        (
            0u8..32,
            any::<u32>(),
            any::<[u8; 4]>(),
            prop::collection::vec(any::<u32>(), 0..6)
        )
            .prop_map(|(t, s, n, d)| Repr::App(
                t,
                s,
                n,
                d.iter().flat_map(|w| w.to_be_bytes()).collect()
            )),
        (
            any::<u32>(),
            any::<u32>(),
            prop::collection::vec((any::<u16>(), any::<u16>()), 0..6)
        )
            .prop_map(|(a, b, p)| Repr::Nack(a, b, p)),
        (any::<u32>(), any::<u32>()).prop_map(|(a, b)| Repr::Pli(a, b)),
        (
            any::<u32>(),
            prop::collection::vec((any::<u32>(), any::<u8>()), 0..4)
        )
            .prop_map(|(a, e)| Repr::Fir(a, e)),
        (
            any::<u32>(),
            0u64..(1 << 18),
            0u32..46,
            prop::collection::vec(any::<u32>(), 0..4)
        )
            .prop_map(|(a, m, e, s)| Repr::Remb(a, m << e, s)),
    ]
}

fn build(b: &mut CompoundBuilder<'_>, r: &Repr) {
    match r {
        Repr::Sr(s, i, blocks) => {
            b.sender_report(*s, i, blocks);
        }
        Repr::Rr(s, blocks) => {
            b.receiver_report(*s, blocks);
        }
        Repr::Sdes(chunks) => {
            let items: Vec<Vec<SdesItem<'_>>> = chunks
                .iter()
                .map(|(_, items)| {
                    items
                        .iter()
                        .map(|(k, v)| SdesItem {
                            kind: SdesType(*k),
                            value: v,
                        })
                        .collect()
                })
                .collect();
            let reprs: Vec<SdesChunkRepr<'_>> = chunks
                .iter()
                .zip(&items)
                .map(|((ssrc, _), items)| SdesChunkRepr { ssrc: *ssrc, items })
                .collect();
            b.sdes(&reprs);
        }
        Repr::Bye(s, reason) => {
            b.bye(s, reason.as_deref());
        }
        Repr::App(t, s, n, d) => {
            b.app(*t, *s, *n, d);
        }
        Repr::Nack(a, m, pairs) => {
            let pairs: Vec<NackPair> = pairs
                .iter()
                .map(|&(pid, blp)| NackPair { pid, blp })
                .collect();
            b.nack(
                FeedbackSsrcs {
                    sender: *a,
                    media: *m,
                },
                &pairs,
            );
        }
        Repr::Pli(a, m) => {
            b.pli(*a, *m);
        }
        Repr::Fir(a, e) => {
            let e: Vec<FirEntry> = e
                .iter()
                .map(|&(ssrc, sequence)| FirEntry { ssrc, sequence })
                .collect();
            b.fir(*a, &e);
        }
        Repr::Remb(a, rate, s) => {
            b.remb(*a, *rate, s);
        }
    }
}

fn same(r: &Repr, k: &Kind<'_>) -> bool {
    match (r, k) {
        (Repr::Sr(s, i, b), Kind::SenderReport(v)) => {
            v.ssrc() == *s && v.sender_info() == *i && v.reports().eq(b.iter().copied())
        }
        (Repr::Rr(s, b), Kind::ReceiverReport(v)) => {
            v.ssrc() == *s && v.reports().eq(b.iter().copied())
        }
        (Repr::Sdes(chunks), Kind::Sdes(v)) => {
            let got: Chunks = v
                .chunks()
                .map(|c| {
                    (
                        c.ssrc,
                        c.items().map(|i| (i.kind.0, i.value.to_vec())).collect(),
                    )
                })
                .collect();
            got == *chunks
        }
        (Repr::Bye(s, reason), Kind::Bye(v)) => {
            v.ssrcs().eq(s.iter().copied()) && v.reason() == reason.as_deref()
        }
        (Repr::App(t, s, n, d), Kind::App(v)) => {
            v.subtype() == *t && v.ssrc() == *s && v.name() == *n && v.data() == &d[..]
        }
        (Repr::Nack(a, m, p), Kind::Nack(v)) => {
            v.ssrcs()
                == FeedbackSsrcs {
                    sender: *a,
                    media: *m,
                }
                && v.pairs().map(|x| (x.pid, x.blp)).eq(p.iter().copied())
        }
        (Repr::Pli(a, m), Kind::Pli(v)) => {
            *v == FeedbackSsrcs {
                sender: *a,
                media: *m,
            }
        }
        (Repr::Fir(a, e), Kind::Fir(v)) => {
            v.sender_ssrc() == *a
                && v.entries()
                    .map(|x| (x.ssrc, x.sequence))
                    .eq(e.iter().copied())
        }
        (Repr::Remb(a, rate, s), Kind::Remb(v)) => {
            v.sender_ssrc() == *a && v.bitrate() == *rate && v.ssrcs().eq(s.iter().copied())
        }
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn rtp_header_round_trips(
        marker in any::<bool>(), pt in 0u8..128, seq in any::<u16>(), ts in any::<u32>(), ssrc in any::<u32>(),
        csrcs in prop::collection::vec(any::<u32>(), 0..16),
        elements in prop::collection::vec((1u8..=255, prop::collection::vec(any::<u8>(), 0..20)), 0..6),
        form in prop::sample::select(vec![ExtensionForm::Auto, ExtensionForm::OneByte, ExtensionForm::TwoByte]),
        payload in prop::collection::vec(any::<u8>(), 0..100), padding in any::<u8>(),
    ) {
        let elements: Vec<Element<'_>> = elements.iter().map(|(id, d)| Element { id: *id, data: d }).collect();
        let header = Header { marker, payload_type: pt, sequence_number: seq, timestamp: ts, ssrc,
            csrcs: &csrcs, extensions: &elements, extension_form: form, padding };
        let mut buf = [0u8; 2048];
        let one_byte_ok = elements.iter().all(|e| (1..=14).contains(&e.id) && (1..=16).contains(&e.data.len()));
        match header.emit(&payload, &mut buf) {
            Ok(n) => {
                let p = Packet::parse(&buf[..n]).unwrap();
                prop_assert_eq!((p.marker(), p.payload_type(), p.sequence_number(), p.timestamp(), p.ssrc()), (marker, pt, seq, ts, ssrc));
                prop_assert!(p.csrcs().eq(csrcs.iter().copied()));
                prop_assert!(p.extensions().eq(elements.iter().copied()));
                prop_assert_eq!(p.payload(), &payload[..]);
                prop_assert_eq!(p.padding_len(), usize::from(padding));
                if let Some((profile, _)) = p.extension() {
                    let two = form == ExtensionForm::TwoByte || (form == ExtensionForm::Auto && !one_byte_ok);
                    prop_assert_eq!(profile, if two { ExtensionProfile::TWO_BYTE } else { ExtensionProfile::ONE_BYTE });
                }
            }
            // Only a one-byte request the elements cannot meet may fail.
            Err(e) => prop_assert!(form == ExtensionForm::OneByte && !one_byte_ok, "{:?}", e),
        }
    }

    #[test]
    fn rtcp_compounds_round_trip(packets in prop::collection::vec(repr(), 1..6)) {
        let mut buf = [0u8; 8192];
        let mut b = CompoundBuilder::new(&mut buf);
        for r in &packets {
            build(&mut b, r);
        }
        let n = b.finish().unwrap();
        let compound = Compound::parse(&buf[..n]).unwrap();
        let kinds: Vec<Kind<'_>> = compound.packets().map(|p| p.kind().unwrap()).collect();
        prop_assert_eq!(kinds.len(), packets.len());
        for (r, k) in packets.iter().zip(&kinds) {
            prop_assert!(same(r, k), "{:?} came back as {:?}", r, k);
        }
    }
}
