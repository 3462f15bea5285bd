//! H.264 and H.265 known answers from GStreamer (rtph264pay aggregate-mode=max-stap,
//! rtph265pay aggregate-mode=max, config-interval=0, mtu 1212) on frames from ffmpeg's
//! libx264/libx265, and H.264 with SPS/PPS dropped after the first IDR through rtph264pay
//! config-interval=-1 (the "repeat" set: both must put them back before the next IDR): our payloads equal GStreamer's byte for byte, and GStreamer's
//! payloads depacketize to h264parse's/h265parse's access units. The data in tests/data comes
//! from scripts/interop/rtp-h264-h265.sh (see tests/data/README.md); with
//! PEERLESS_RTP_DATA set the test reads fresh data from that folder instead, and with
//! PEERLESS_RTP_OUT it writes the rebuilt streams there for ffmpeg to decode.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod payload_support;

use payload_support::{annexb4, depacketize, packetize};
use peerless_rtp::codec::h264::{H264Depacketizer, H264Packetizer};
use peerless_rtp::codec::h265::{H265Depacketizer, H265Packetizer};
use peerless_rtp::codec::{Depacketizer, PacketizationMode, Packetizer};

const MAX_PAYLOAD: usize = 1200;

fn data(name: &str) -> Vec<u8> {
    match std::env::var("PEERLESS_RTP_DATA") {
        Ok(dir) => std::fs::read(format!("{dir}/{name}")).unwrap(),
        Err(_) => payload_support::read(name),
    }
}

/// Records behind a big-endian length of `width` bytes.
fn records(bytes: &[u8], width: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let len = rest[..width]
            .iter()
            .fold(0usize, |n, &b| n << 8 | usize::from(b));
        out.push(rest[width..width + len].to_vec());
        rest = &rest[width + len..];
    }
    out
}

/// RTP packets' payloads grouped into frames by the marker bit (RFC 3550 header, no padding
/// or extension expected from these payloaders but skipped if there).
fn frames(packets: &[Vec<u8>]) -> Vec<Vec<Vec<u8>>> {
    let mut frames = vec![Vec::new()];
    for p in packets {
        assert_eq!(p[0] >> 6, 2, "RTP version");
        let mut start = 12 + 4 * usize::from(p[0] & 0x0f);
        if p[0] & 0x10 != 0 {
            let words = usize::from(u16::from_be_bytes([p[start + 2], p[start + 3]]));
            start += 4 + 4 * words;
        }
        let end = if p[0] & 0x20 != 0 {
            p.len() - usize::from(p[p.len() - 1])
        } else {
            p.len()
        };
        frames.last_mut().unwrap().push(p[start..end].to_vec());
        if p[1] & 0x80 != 0 {
            frames.push(Vec::new());
        }
    }
    assert!(
        frames.pop().unwrap().is_empty(),
        "stream ends with a marker"
    );
    frames
}

fn units(au: &[u8]) -> Vec<&[u8]> {
    peerless_rtp::codec::annexb::NalUnits::new(au)
        .unwrap()
        .collect()
}

struct Format {
    name: &'static str,
    unit_type: fn(&[u8]) -> u8,
    params: &'static [u8],
    keyframe: fn(u8) -> bool,
}

const H264: Format = Format {
    name: "h264",
    unit_type: |u| u[0] & 0x1f,
    params: &[7, 8],
    keyframe: |t| t == 5,
};

const H265: Format = Format {
    name: "h265",
    unit_type: |u| (u[0] >> 1) & 0x3f,
    params: &[32, 33, 34],
    keyframe: |t| (16..=21).contains(&t),
};

/// What a receiver must rebuild for each access unit: the unit itself, with the last
/// parameter sets seen put before the first keyframe unit of an access unit lacking them.
fn expected(format: &Format, aus: &[Vec<u8>]) -> Vec<(Vec<u8>, bool)> {
    let mut last: Vec<Option<Vec<u8>>> = vec![None; format.params.len()];
    aus.iter()
        .map(|au| {
            let units = units(au);
            let types: Vec<u8> = units.iter().map(|u| (format.unit_type)(u)).collect();
            let keyframe = types.iter().any(|&t| (format.keyframe)(t));
            let mut want: Vec<&[u8]> = Vec::new();
            let mut injected = false;
            for (u, &t) in units.iter().zip(&types) {
                if (format.keyframe)(t) && !injected {
                    injected = true;
                    for (slot, p) in format.params.iter().enumerate() {
                        if !types.contains(p) {
                            want.extend(last[slot].as_deref());
                        }
                    }
                }
                want.push(u);
            }
            let rebuilt = annexb4(&want);
            for (u, t) in units.iter().zip(&types) {
                if let Some(slot) = format.params.iter().position(|p| p == t) {
                    last[slot] = Some(u.to_vec());
                }
            }
            (rebuilt, keyframe)
        })
        .collect()
}

/// Payload lists equal, or a short account of the first difference.
fn same(ours: &[Vec<u8>], theirs: &[Vec<u8>], what: &str) {
    let lens = |v: &[Vec<u8>]| v.iter().map(Vec::len).collect::<Vec<_>>();
    for (k, (a, b)) in ours.iter().zip(theirs).enumerate() {
        if a != b {
            let at = a
                .iter()
                .zip(b)
                .position(|(x, y)| x != y)
                .unwrap_or(a.len().min(b.len()));
            panic!(
                "{what}: payload {k} differs at byte {at}; sizes {:?} vs {:?}; heads {:02x?} vs {:02x?}",
                lens(ours),
                lens(theirs),
                &a[..a.len().min(8)],
                &b[..b.len().min(8)]
            );
        }
    }
    assert_eq!(lens(ours), lens(theirs), "{what}: payload counts");
}

fn check<P: Packetizer, D: Depacketizer>(format: &Format, set: &str, mut p: P, mut d: D) {
    let aus = records(&data(&format!("{set}_gst_au.bin")), 4);
    let gst = frames(&records(&data(&format!("{set}_gst_rtp.bin")), 2));
    assert_eq!(aus.len(), gst.len(), "one RTP frame per access unit");
    assert!(aus.len() >= 10);
    let mut rebuilt_stream = Vec::new();
    let mut repeated = 0;
    for (i, ((au, gst), (want, keyframe))) in
        aus.iter().zip(&gst).zip(expected(format, &aus)).enumerate()
    {
        let ours = packetize(&mut p, au, MAX_PAYLOAD).unwrap();
        // rtph264pay with config-interval=-1 sends SPS and PPS in front of every IDR, a second
        // time when the access unit carries its own (we send what the unit has): such units
        // are compared in the config-interval=0 set instead.
        let own_params = units(au)
            .iter()
            .any(|u| format.params.contains(&(format.unit_type)(u)));
        let (rebuilt, info) = depacketize(&mut d, gst).unwrap();
        rebuilt_stream.extend_from_slice(&rebuilt);
        assert_eq!(info.keyframe, keyframe, "{set} access unit {i}");
        assert_eq!(
            d.inspect(&gst[0]).unwrap().keyframe,
            keyframe,
            "{set} access unit {i}"
        );
        if set.ends_with("repeat") && own_params {
            continue;
        }
        same(
            &ours,
            gst,
            &format!("{set} access unit {i}: our payloads vs GStreamer's"),
        );
        assert_eq!(
            rebuilt, want,
            "{set} access unit {i} rebuilt from GStreamer's RTP"
        );
        repeated += usize::from(keyframe && !own_params);
    }
    if set.ends_with("repeat") {
        assert!(
            repeated > 0,
            "{set}: a keyframe without its own parameter sets was compared"
        );
    }
    if let Ok(dir) = std::env::var("PEERLESS_RTP_OUT") {
        let path = format!("{dir}/{set}_from_gst.{}", format.name);
        std::fs::write(path, rebuilt_stream).unwrap();
    }
}

#[test]
fn h264_equals_rtph264pay_and_depacketizes_its_rtp() {
    for set in ["h264", "h264_repeat"] {
        check(
            &H264,
            set,
            H264Packetizer::new(PacketizationMode::NonInterleaved),
            H264Depacketizer::new(),
        );
    }
}

#[test]
fn h265_equals_rtph265pay_and_depacketizes_its_rtp() {
    check(
        &H265,
        "h265",
        H265Packetizer::new(),
        H265Depacketizer::new(),
    );
}
