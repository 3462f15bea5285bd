//! Payload formats of rtp-codec-a (VP8, VP9, Opus, G.711, G.722, telephone-event): any bytes, cut into payloads, through each depacketizer's
//! inspect, push and finish never panic, and a frame it finishes fits what was pushed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use peerless_rtp::codec::g711::G711Depacketizer;
use peerless_rtp::codec::g722::G722Depacketizer;
use peerless_rtp::codec::opus::{OpusDepacketizer, opus_packet_samples};
use peerless_rtp::codec::telephone_event::TelephoneEventReceiver;
use peerless_rtp::codec::vp8::Vp8Depacketizer;
use peerless_rtp::codec::vp9::{Vp9Depacketizer, Vp9Payload};
use peerless_rtp::codec::{Depacketizer, FrameBuf};

fn run<D: Depacketizer>(d: &mut D, data: &[u8]) {
    let mut buf = [0u8; 512];
    let mut frame = FrameBuf::new(&mut buf);
    let mut pushed = 0;
    // The first octet of each chunk is its length: a stream of payloads from one input.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let (payload, next) = tail.split_at(usize::from(len).min(tail.len()));
        rest = next;
        let _ = d.inspect(payload);
        if d.push(payload, &mut frame).is_ok() {
            pushed += payload.len();
        } else {
            d.reset();
            frame.clear();
            pushed = 0;
        }
        if len & 1 == 1 {
            if let Ok(info) = d.finish(&mut frame) {
                assert!(info.len <= pushed);
            }
            frame.clear();
            pushed = 0;
        }
    }
}

fuzz_target!(|data: &[u8]| {
    run(&mut Vp8Depacketizer::new(), data);
    run(&mut Vp9Depacketizer::new(), data);
    run(&mut OpusDepacketizer::new(), data);
    run(&mut G711Depacketizer::new(), data);
    run(&mut G722Depacketizer::new(), data);
    if let Some(ss) = Vp9Payload::parse(data)
        .ok()
        .and_then(|p| p.scalability_structure)
    {
        for i in 0..8 {
            let _ = ss.resolution(i);
        }
        let groups = ss.picture_group().count();
        assert!(groups <= usize::from(ss.picture_group_len().unwrap_or(0)));
    }
    let _ = opus_packet_samples(data);
    // telephone-event: each 8-octet chunk a timestamp and a payload.
    let mut events = TelephoneEventReceiver::new();
    for chunk in data.chunks(8) {
        let (ts, payload) = chunk.split_at(chunk.len().min(4));
        let mut t = [0u8; 4];
        t.get_mut(..ts.len()).map(|t| t.copy_from_slice(ts));
        let _ = events.receive(u32::from_be_bytes(t), payload);
        let _ = events.poll();
    }
    let _ = events.flush();
});
