//! The memory each audio/VP8/VP9 payload-format machine keeps: printed for the crate docs and
//! the README, and bounded so that a buffer hidden inside one (instead of lent by the caller)
//! fails here. Run with `--nocapture` to see the numbers.

use core::mem::size_of;

use peerless_rtp::codec::g711::{ChunkPackets, G711Depacketizer, G711Packetizer};
use peerless_rtp::codec::g722::{G722Depacketizer, G722Packetizer};
use peerless_rtp::codec::opus::{OpusDepacketizer, OpusPacketizer, OpusPackets};
use peerless_rtp::codec::telephone_event::{TelephoneEventReceiver, TelephoneEventSender};
use peerless_rtp::codec::vp8::{Vp8Depacketizer, Vp8Packetizer, Vp8Packets};
use peerless_rtp::codec::vp9::{Vp9Depacketizer, Vp9Packetizer, Vp9Packets};

#[test]
fn machines_hold_no_buffers() {
    let sizes = [
        ("Vp8Packetizer", size_of::<Vp8Packetizer>(), 16),
        (
            "Vp8Packets (one frame)",
            size_of::<Vp8Packets<'static>>(),
            160,
        ),
        ("Vp8Depacketizer", size_of::<Vp8Depacketizer>(), 32),
        ("Vp9Packetizer", size_of::<Vp9Packetizer>(), 16),
        (
            "Vp9Packets (one frame)",
            size_of::<Vp9Packets<'static>>(),
            64,
        ),
        ("Vp9Depacketizer", size_of::<Vp9Depacketizer>(), 96),
        ("OpusPacketizer", size_of::<OpusPacketizer>(), 8),
        (
            "OpusPackets (one packet)",
            size_of::<OpusPackets<'static>>(),
            32,
        ),
        ("OpusDepacketizer", size_of::<OpusDepacketizer>(), 8),
        ("G711Packetizer", size_of::<G711Packetizer>(), 16),
        ("G722Packetizer", size_of::<G722Packetizer>(), 16),
        (
            "ChunkPackets (G.711/G.722 frame)",
            size_of::<ChunkPackets<'static>>(),
            32,
        ),
        ("G711Depacketizer", size_of::<G711Depacketizer>(), 8),
        ("G722Depacketizer", size_of::<G722Depacketizer>(), 8),
        ("TelephoneEventSender", size_of::<TelephoneEventSender>(), 8),
        (
            "TelephoneEventReceiver",
            size_of::<TelephoneEventReceiver>(),
            64,
        ),
    ];
    for (name, size, bound) in sizes {
        println!("{name:34} {size:4} bytes");
        assert!(size <= bound, "{name} is {size} bytes, more than {bound}");
    }
}
