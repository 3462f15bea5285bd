//! AV1 payload format on any bytes: the depacketizer takes any sequence of payloads without
//! panicking; the packetizer
//! takes any temporal unit and payload size, every payload fits, the last has the marker.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_rtp::codec::av1::{Av1Depacketizer, Av1Packetizer};
use peerless_rtp::codec::{Depacketizer, FrameBuf, Packetizer, Packets};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector & 1 == 0 {
        let mut d = Av1Depacketizer::new();
        let mut buf = [0u8; 2048];
        let mut frame = FrameBuf::new(&mut buf);
        let mut rest = rest;
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
    } else {
        let max_payload = usize::from(selector >> 1) + 1;
        let mut p = Av1Packetizer::new();
        let Ok(mut packets) = p.packetize(rest, max_payload) else {
            return;
        };
        let mut out = [0u8; 256];
        let mut marker = false;
        let mut count = 0;
        while let Some(payload) = packets.next_payload(&mut out) {
            let payload = payload.expect("out holds max_payload");
            assert!(payload.len <= max_payload && !marker);
            marker = payload.marker;
            count += 1;
            assert!(count <= rest.len() + 1);
        }
        assert!(marker);
    }
});
