//! Helpers the payload format tests share: run a packetizer over a frame and a depacketizer
//! over the payloads, checking the contract every format keeps on the way.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_rtp::codec::{CodecError, Depacketizer, FrameBuf, FrameInfo, Packetizer, Packets};

pub(crate) fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

/// All payloads of `frame`, each checked to be at most `max_payload` bytes and the marker set
/// on the last only.
pub(crate) fn packetize<P: Packetizer>(
    p: &mut P,
    frame: &[u8],
    max_payload: usize,
) -> Result<Vec<Vec<u8>>, CodecError> {
    let mut packets = p.packetize(frame, max_payload)?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; max_payload];
    let mut markers = Vec::new();
    while let Some(payload) = packets.next_payload(&mut buf) {
        let payload = payload?;
        assert!(payload.len <= max_payload, "payload over max_payload");
        out.push(buf[..payload.len].to_vec());
        markers.push(payload.marker);
    }
    let last = markers.len().saturating_sub(1);
    for (i, m) in markers.iter().enumerate() {
        assert_eq!(*m, i == last, "marker on payload {i} of {}", markers.len());
    }
    Ok(out)
}

/// The frame rebuilt from `payloads`.
pub(crate) fn depacketize<D: Depacketizer>(
    d: &mut D,
    payloads: &[Vec<u8>],
) -> Result<(Vec<u8>, FrameInfo), CodecError> {
    let mut buf = vec![0u8; payloads.iter().map(Vec::len).sum::<usize>() * 2 + 64];
    let mut frame = FrameBuf::new(&mut buf);
    for p in payloads {
        d.inspect(p)?;
        d.push(p, &mut frame)?;
    }
    let info = d.finish(&mut frame)?;
    Ok((frame.as_slice().to_vec(), info))
}

/// An Annex-B stream of `units`, with 3- or 4-byte start codes as `long` says per unit.
pub(crate) fn annexb(units: &[Vec<u8>], long: &[bool]) -> Vec<u8> {
    let mut s = Vec::new();
    for (i, u) in units.iter().enumerate() {
        if long.get(i).copied().unwrap_or(true) {
            s.push(0);
        }
        s.extend_from_slice(&[0, 0, 1]);
        s.extend_from_slice(u);
    }
    s
}

/// The Annex-B form a depacketizer writes: a 4-byte start code before every unit.
pub(crate) fn annexb4(units: &[&[u8]]) -> Vec<u8> {
    let mut s = Vec::new();
    for u in units {
        s.extend_from_slice(&[0, 0, 0, 1]);
        s.extend_from_slice(u);
    }
    s
}

/// Splits a stream file into access units: a new one starts at each unit for which
/// `starts_au` says so, given the type byte(s).
pub(crate) fn read(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR")))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}
