//! H.264 and H.265 payload formats on any bytes: the depacketizers take any sequence of
//! payloads without panicking and never write past the frame buffer; the packetizers take any
//! frame and payload size, and every payload they write fits that size and ends in one marker.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_rtp::codec::h264::{H264Depacketizer, H264Packetizer};
use peerless_rtp::codec::h265::{H265Depacketizer, H265Packetizer};
use peerless_rtp::codec::{Depacketizer, FrameBuf, PacketizationMode, Packetizer, Packets};

fn depacketize<D: Depacketizer>(mut d: D, data: &[u8]) {
    let mut buf = [0u8; 2048];
    let mut frame = FrameBuf::new(&mut buf);
    // Payloads behind a one-byte length.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (payload, tail) = tail.split_at(usize::from(len).min(tail.len()));
        let _ = d.inspect(payload);
        if d.push(payload, &mut frame).is_err() {
            d.reset();
            frame.clear();
        }
        rest = tail;
    }
    if let Ok(info) = d.finish(&mut frame) {
        assert_eq!(info.len, frame.len());
    }
}

fn packetize<P: Packetizer>(mut p: P, frame: &[u8], max_payload: usize) {
    let mut out = [0u8; 300];
    let Ok(mut packets) = p.packetize(frame, max_payload) else {
        return;
    };
    let mut count = 0;
    let mut marker_seen = false;
    while let Some(payload) = packets.next_payload(&mut out) {
        let payload = payload.expect("out holds max_payload");
        assert!(payload.len <= max_payload && !marker_seen);
        marker_seen = payload.marker;
        count += 1;
        assert!(count <= frame.len() + 3, "more payloads than bytes");
    }
    assert!(marker_seen, "the last payload carries the marker");
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let max_payload = usize::from(selector >> 2) * 4 + 1;
    match selector & 3 {
        0 => depacketize(H264Depacketizer::new(), rest),
        1 => depacketize(H265Depacketizer::new(), rest),
        2 => packetize(H264Packetizer::new(PacketizationMode::NonInterleaved), rest, max_payload),
        _ => packetize(H265Packetizer::new(), rest, max_payload),
    }
});
