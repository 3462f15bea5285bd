//! Transport-wide congestion control feedback against GStreamer's rtpsession (rtptwcc.c):
//!
//! - feedback GStreamer wrote as a receiver (real arrivals: losses, a run of 20 lost, a
//!   reordered pair, an 80 ms pause) reads with our view exactly as GStreamer's own sender
//!   side reads it: the same packets lost, the same arrival time for every other;
//! - feedback our `CompoundBuilder::transport_cc` writes (run-length chunks, one- and two-bit
//!   status vectors, 8- and 16-bit deltas, negative deltas) reads in GStreamer as we meant it,
//!   and the builder still writes those bytes;
//! - our builder rewrites GStreamer's feedback to the same meaning, never longer.
//!
//! `tests/data/twcc_gst.txt` holds GStreamer's results (`scripts/interop/rtp-transport-cc.sh`
//! makes them again); `PEERLESS_RTP_DATA` points at fresh ones, `PEERLESS_RTP_OUT` makes the
//! test write our feedback for the script.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use peerless_rtp::rtcp::{
    Compound, CompoundBuilder, FeedbackSsrcs, Kind, TccStatus, TransportCc, TransportCcRepr,
};

fn data(name: &str) -> String {
    let dir = std::env::var_os("PEERLESS_RTP_DATA").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data"),
        PathBuf::from,
    );
    let path = dir.join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The transport-cc packet of a compound (alone, or after GStreamer's other packets).
fn view(bytes: &[u8]) -> TransportCc<'_> {
    let compound = Compound::parse(bytes).unwrap();
    compound
        .packets()
        .find_map(|p| match p.kind() {
            Ok(Kind::TransportCc(t)) => Some(t),
            _ => None,
        })
        .expect("a transport-cc packet")
}

/// What a sender rebuilds from feedback: per sequence number, lost or the arrival time in ns
/// (reference time in 64 ms plus the deltas so far, in 250 µs).
fn arrivals(t: &TransportCc<'_>) -> Vec<(u16, Option<i64>)> {
    let mut at = i64::from(t.reference_time()) * 64_000_000;
    t.packets()
        .map(|p| match p.status {
            TccStatus::NotReceived => (p.sequence, None),
            TccStatus::Received(delta) => {
                at += i64::from(delta) * 250_000;
                (p.sequence, Some(at))
            }
        })
        .collect()
}

fn build(repr: &TransportCcRepr<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 1500];
    let mut b = CompoundBuilder::new(&mut buf);
    b.transport_cc(repr);
    let n = b.finish().unwrap();
    buf.truncate(n);
    buf
}

const SSRCS: FeedbackSsrcs = FeedbackSsrcs {
    sender: 0x5678,
    media: 0x1234,
};

/// Our feedback scenarios: (base sequence, reference time, statuses). GStreamer's sender in
/// the script sent sequence numbers 0-199, so every scenario stays within them.
fn scenarios() -> Vec<(u16, i32, Vec<TccStatus>)> {
    use TccStatus::{NotReceived as L, Received as R};
    let mut out = Vec::new();
    // 1. A run of equal small deltas: one run-length chunk.
    out.push((0, 100, vec![R(10); 40]));
    // 2. Losses among small deltas: one-bit vectors and a run of 20 lost.
    let mut s: Vec<TccStatus> = (0..30)
        .map(|i| if i % 5 == 3 { L } else { R(4 + i % 7) })
        .collect();
    s.extend([L; 20]);
    s.extend((0..16).map(|i| R(i * 16)));
    out.push((20, 200, s));
    // 3. Large and negative deltas (16 bits): two-bit vectors and a run of 7 large.
    let mut s = vec![R(300), L, R(-40), R(5), R(256), L, L, R(0), R(1000)];
    s.extend([R(-2); 7]);
    s.extend([R(255), R(-1), R(12_000), L, R(3)]);
    out.push((60, 300, s));
    // 4. A long mixed report: 150 statuses from a fixed generator.
    let mut x = 0x2545_f491_u32;
    let s = (0..150)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            match x % 10 {
                0 | 1 => L,
                2 => R((x >> 8) as i16 % 2000 - 1000),
                _ => R(((x >> 8) % 120) as i16),
            }
        })
        .chain([R(7)])
        .collect();
    out.push((40, 400, s));
    out
}

#[test]
fn our_feedback_reads_back_and_is_written_for_the_interop_script() {
    let mut lines = String::new();
    for (count, (base, reference_time, statuses)) in scenarios().into_iter().enumerate() {
        let repr = TransportCcRepr {
            ssrcs: SSRCS,
            base_sequence: base,
            reference_time,
            feedback_count: count as u8,
            statuses: &statuses,
        };
        let bytes = build(&repr);
        let t = view(&bytes);
        assert_eq!(
            (t.base_sequence(), t.reference_time(), t.feedback_count()),
            (base, reference_time, count as u8)
        );
        assert!(t.packets().map(|p| p.status).eq(statuses.iter().copied()));
        lines += &format!("feedback ours {}\n", hex(&bytes));
    }
    if let Some(out) = std::env::var_os("PEERLESS_RTP_OUT") {
        std::fs::write(PathBuf::from(out).join("twcc_ours.txt"), lines).unwrap();
    }
}

/// One feedback and what GStreamer's sender read in it.
struct Block {
    kind: String,
    bytes: Vec<u8>,
    gst: Vec<(u16, Option<i64>)>,
}

fn blocks() -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for line in data("twcc_gst.txt").lines() {
        let f: Vec<&str> = line.split(' ').collect();
        match f[..] {
            ["feedback", kind, h] => out.push(Block {
                kind: kind.into(),
                bytes: unhex(h),
                gst: Vec::new(),
            }),
            ["packet", seq, lost, remote] => {
                let remote: i64 = remote.parse().unwrap();
                out.last_mut()
                    .unwrap()
                    .gst
                    .push((seq.parse().unwrap(), (lost == "0").then_some(remote)));
            }
            _ => panic!("bad line {line}"),
        }
    }
    out
}

#[test]
fn gstreamer_reads_every_feedback_as_we_do() {
    let blocks = blocks();
    assert!(blocks.iter().filter(|b| b.kind == "gst").count() >= 2);
    assert_eq!(
        blocks.iter().filter(|b| b.kind == "ours").count(),
        scenarios().len()
    );
    for b in &blocks {
        let ours = arrivals(&view(&b.bytes));
        // GStreamer reports the packets of this feedback, each once, in order.
        assert_eq!(ours, b.gst, "{} feedback {}", b.kind, hex(&b.bytes));
    }
}

#[test]
fn our_builder_still_writes_the_feedback_gstreamer_read() {
    let ours: Vec<Block> = blocks().into_iter().filter(|b| b.kind == "ours").collect();
    for ((base, reference_time, statuses), (count, b)) in
        scenarios().into_iter().zip(ours.iter().enumerate())
    {
        let repr = TransportCcRepr {
            ssrcs: SSRCS,
            base_sequence: base,
            reference_time,
            feedback_count: count as u8,
            statuses: &statuses,
        };
        assert_eq!(hex(&build(&repr)), hex(&b.bytes), "scenario {count}");
    }
}

#[test]
fn our_builder_rewrites_gstreamers_feedback_to_the_same_meaning_never_longer() {
    for b in blocks().iter().filter(|b| b.kind == "gst") {
        let t = view(&b.bytes);
        let statuses: Vec<TccStatus> = t.packets().map(|p| p.status).collect();
        let repr = TransportCcRepr {
            ssrcs: t.ssrcs(),
            base_sequence: t.base_sequence(),
            reference_time: t.reference_time(),
            feedback_count: t.feedback_count(),
            statuses: &statuses,
        };
        let ours = build(&repr);
        let again = view(&ours);
        assert_eq!(arrivals(&again), arrivals(&t));
        assert_eq!(again.feedback_count(), t.feedback_count());
        let theirs = Compound::parse(&b.bytes)
            .unwrap()
            .packets()
            .find(|p| matches!(p.kind(), Ok(Kind::TransportCc(_))))
            .unwrap()
            .as_bytes()
            .len();
        println!(
            "{} statuses: ours {} bytes, GStreamer's {theirs}",
            statuses.len(),
            ours.len()
        );
        assert!(
            ours.len() <= theirs,
            "ours {} > GStreamer's {theirs}",
            ours.len()
        );
    }
}
