//! RTP/RTCP wire interop driver: emits random packets with their field values, and parses
//! packets it is given, in a line format an independent implementation (aiortc, driven by
//! `scripts/interop/rtp-aiortc-wire.sh`) produces and checks too.
//!
//! Commands on stdin, one per line; answers on stdout:
//!   emit-rtp SEED COUNT    -> COUNT lines "HEX DESCRIPTION"
//!   emit-rtcp SEED COUNT   -> COUNT lines "HEX DESCRIPTION"
//!   parse-rtp HEX          -> "DESCRIPTION" or "err"
//!   parse-rtcp HEX         -> "DESCRIPTION" or "err"
//! A description lists every field (see `describe_rtp` and `describe_rtcp`).

// A test driver: a broken setup must stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::io::{BufRead, Write};

use peerless_rtp::packet::{Element, ExtensionForm, Header, Packet};
use peerless_rtp::rtcp::{
    Compound, CompoundBuilder, FeedbackSsrcs, FirEntry, Kind, NackPair, ReportBlock, SdesChunkRepr,
    SdesItem, SdesType, SenderInfo,
};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

fn list<T: ToString>(items: impl Iterator<Item = T>) -> String {
    let v: Vec<String> = items.map(|i| i.to_string()).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(",")
    }
}

fn describe_rtp(p: &Packet<'_>) -> String {
    let ext = match p.extension() {
        None => "-".to_string(),
        Some((profile, _)) => format!(
            "{:04X}:{}",
            profile.0,
            list(p.extensions().map(|e| format!("{}={}", e.id, hex(e.data))))
        ),
    };
    format!(
        "pt={} m={} seq={} ts={} ssrc={} csrc={} ext={} pay={} pad={}",
        p.payload_type(),
        u8::from(p.marker()),
        p.sequence_number(),
        p.timestamp(),
        p.ssrc(),
        list(p.csrcs()),
        ext,
        hex(p.payload()),
        p.padding_len()
    )
}

fn report(r: &ReportBlock) -> String {
    format!(
        "{}/{}/{}/{}/{}/{}/{}",
        r.ssrc,
        r.fraction_lost,
        r.cumulative_lost,
        r.highest_sequence,
        r.jitter,
        r.last_sr,
        r.delay_since_last_sr
    )
}

fn describe_rtcp(c: &Compound<'_>) -> Option<String> {
    let mut parts = Vec::new();
    for packet in c.packets() {
        let mut s = String::new();
        match packet.kind().ok()? {
            Kind::SenderReport(sr) => {
                let i = sr.sender_info();
                write!(
                    s,
                    "sr {} {} {} {} {} {}",
                    sr.ssrc(),
                    i.ntp_timestamp,
                    i.rtp_timestamp,
                    i.packet_count,
                    i.octet_count,
                    list(sr.reports().map(|r| report(&r)))
                )
                .ok()?;
            }
            Kind::ReceiverReport(rr) => {
                write!(
                    s,
                    "rr {} {}",
                    rr.ssrc(),
                    list(rr.reports().map(|r| report(&r)))
                )
                .ok()?;
            }
            Kind::Sdes(sdes) => {
                s.push_str("sdes");
                for chunk in sdes.chunks() {
                    write!(
                        s,
                        " {}:{}",
                        chunk.ssrc,
                        list(
                            chunk
                                .items()
                                .map(|i| format!("{}={}", i.kind.0, hex(i.value)))
                        )
                    )
                    .ok()?;
                }
            }
            Kind::Bye(bye) => {
                write!(s, "bye {}", list(bye.ssrcs())).ok()?;
            }
            Kind::Nack(nack) => {
                let f = nack.ssrcs();
                write!(s, "nack {} {} {}", f.sender, f.media, list(nack.lost())).ok()?;
            }
            Kind::Pli(f) => {
                write!(s, "pli {} {}", f.sender, f.media).ok()?;
            }
            Kind::Fir(fir) => {
                write!(
                    s,
                    "fir {} {}",
                    fir.sender_ssrc(),
                    list(fir.entries().map(|e| format!("{}/{}", e.ssrc, e.sequence)))
                )
                .ok()?;
            }
            Kind::Remb(remb) => {
                write!(
                    s,
                    "remb {} {} {}",
                    remb.sender_ssrc(),
                    remb.bitrate(),
                    list(remb.ssrcs())
                )
                .ok()?;
            }
            Kind::App(_) | Kind::TransportCc(_) | Kind::Other(_) => {
                write!(s, "other {}", packet.packet_type().0).ok()?;
            }
        }
        parts.push(s);
    }
    Some(parts.join(" | "))
}

fn random_rtp(rng: &mut Rng) -> Vec<u8> {
    let csrcs: Vec<u32> = (0..rng.below(4)).map(|_| rng.next() as u32).collect();
    let form = rng.below(3);
    let values: Vec<(u8, Vec<u8>)> = (0..rng.below(5))
        .map(|i| {
            // Two-byte-only elements now and then: an id above 14 or an empty or long value.
            let id = if form == 2 && i == 0 {
                15 + rng.below(200) as u8
            } else {
                1 + i as u8
            };
            let len = if form == 1 {
                rng.below(17) as usize
            } else {
                1 + rng.below(16) as usize
            };
            (id, rng.bytes(len))
        })
        .collect();
    let elements: Vec<Element<'_>> = values
        .iter()
        .map(|(id, d)| Element { id: *id, data: d })
        .collect();
    let payload = {
        let n = rng.below(200) as usize;
        rng.bytes(n)
    };
    let header = Header {
        marker: rng.below(2) == 1,
        payload_type: rng.below(128) as u8,
        sequence_number: rng.next() as u16,
        timestamp: rng.next() as u32,
        ssrc: rng.next() as u32,
        csrcs: &csrcs,
        extensions: &elements,
        extension_form: ExtensionForm::Auto,
        padding: if rng.below(4) == 0 {
            1 + rng.below(12) as u8
        } else {
            0
        },
    };
    let mut buf = vec![0u8; 2048];
    let n = header.emit(&payload, &mut buf).expect("emit");
    buf.truncate(n);
    buf
}

fn random_block(rng: &mut Rng) -> ReportBlock {
    ReportBlock {
        ssrc: rng.next() as u32,
        fraction_lost: rng.next() as u8,
        cumulative_lost: (rng.below(1 << 24) as i32) - (1 << 23),
        highest_sequence: rng.next() as u32,
        jitter: rng.next() as u32,
        last_sr: rng.next() as u32,
        delay_since_last_sr: rng.next() as u32,
    }
}

fn random_rtcp(rng: &mut Rng) -> Vec<u8> {
    let mut buf = vec![0u8; 4096];
    let mut b = CompoundBuilder::new(&mut buf);
    for _ in 0..1 + rng.below(5) {
        let ssrc = rng.next() as u32;
        match rng.below(8) {
            0 => {
                let blocks: Vec<_> = (0..rng.below(4)).map(|_| random_block(rng)).collect();
                let info = SenderInfo {
                    ntp_timestamp: rng.next(),
                    rtp_timestamp: rng.next() as u32,
                    packet_count: rng.next() as u32,
                    octet_count: rng.next() as u32,
                };
                b.sender_report(ssrc, &info, &blocks);
            }
            1 => {
                let blocks: Vec<_> = (0..rng.below(4)).map(|_| random_block(rng)).collect();
                b.receiver_report(ssrc, &blocks);
            }
            2 => {
                // One chunk: aiortc (the peer this checks against) mis-frames chunks after the first.
                let values: Vec<Vec<Vec<u8>>> = (0..1)
                    .map(|_| {
                        (0..rng.below(3))
                            .map(|_| {
                                let n = 1 + rng.below(20) as usize;
                                rng.bytes(n)
                            })
                            .collect()
                    })
                    .collect();
                let items: Vec<Vec<SdesItem<'_>>> = values
                    .iter()
                    .map(|v| {
                        v.iter()
                            .enumerate()
                            .map(|(i, d)| SdesItem {
                                kind: SdesType(1 + i as u8),
                                value: d,
                            })
                            .collect()
                    })
                    .collect();
                let chunks: Vec<SdesChunkRepr<'_>> = items
                    .iter()
                    .map(|it| SdesChunkRepr {
                        ssrc: rng.next() as u32,
                        items: it,
                    })
                    .collect();
                b.sdes(&chunks);
            }
            3 => {
                let ssrcs: Vec<u32> = (0..1 + rng.below(3)).map(|_| rng.next() as u32).collect();
                b.bye(&ssrcs, None);
            }
            4 => {
                let pairs: Vec<NackPair> = (0..1 + rng.below(3))
                    .map(|_| NackPair {
                        pid: rng.below(60000) as u16,
                        blp: rng.next() as u16,
                    })
                    .collect();
                b.nack(
                    FeedbackSsrcs {
                        sender: ssrc,
                        media: rng.next() as u32,
                    },
                    &pairs,
                );
            }
            5 => {
                b.pli(ssrc, rng.next() as u32);
            }
            6 => {
                let entries: Vec<FirEntry> = (0..1 + rng.below(3))
                    .map(|_| FirEntry {
                        ssrc: rng.next() as u32,
                        sequence: rng.next() as u8,
                    })
                    .collect();
                b.fir(ssrc, &entries);
            }
            _ => {
                let ssrcs: Vec<u32> = (0..rng.below(3)).map(|_| rng.next() as u32).collect();
                // A bitrate the 18-bit mantissa holds exactly, so both sides agree on it.
                let bitrate = rng.below(1 << 18) << rng.below(20);
                b.remb(ssrc, bitrate, &ssrcs);
            }
        }
    }
    let n = b.finish().expect("compound");
    buf.truncate(n);
    buf
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let line = line.expect("stdin");
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some(cmd @ ("emit-rtp" | "emit-rtcp")), Some(seed), Some(count)) => {
                let mut rng = Rng(seed.parse().expect("seed"));
                for _ in 0..count.parse::<usize>().expect("count") {
                    if cmd == "emit-rtp" {
                        let bytes = random_rtp(&mut rng);
                        let desc = describe_rtp(&Packet::parse(&bytes).expect("own packet parses"));
                        writeln!(out, "{} {desc}", hex(&bytes)).unwrap();
                    } else {
                        let bytes = random_rtcp(&mut rng);
                        let desc =
                            describe_rtcp(&Compound::parse(&bytes).expect("own compound parses"))
                                .expect("own packets are typed");
                        writeln!(out, "{} {desc}", hex(&bytes)).unwrap();
                    }
                }
            }
            (Some("parse-rtp"), Some(h), None) => {
                let desc = unhex(h).and_then(|b| Packet::parse(&b).ok().map(|p| describe_rtp(&p)));
                writeln!(out, "{}", desc.unwrap_or_else(|| "err".into())).unwrap();
            }
            (Some("parse-rtcp"), Some(h), None) => {
                let desc =
                    unhex(h).and_then(|b| Compound::parse(&b).ok().and_then(|c| describe_rtcp(&c)));
                writeln!(out, "{}", desc.unwrap_or_else(|| "err".into())).unwrap();
            }
            _ => writeln!(out, "err").unwrap(),
        }
        out.flush().unwrap();
    }
}
