//! What a receiver costs: `size_of` of each receive machine and the storage a 720p30 video
//! receiver and an Opus receiver lend, printed (`cargo test -p peerless-rtp --test
//! receiver_sizes -- --nocapture`) and written in `rtp/src/receive/mod.rs`.

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::mem::size_of;

use peerless_rtp::codec::opus::OpusDepacketizer;
use peerless_rtp::codec::vp8::Vp8Depacketizer;
use peerless_rtp::receive::{
    Config, JitterBuffer, KeyframeRequests, NackRequests, ReceiverStats, TwccFeedback,
};

/// 720p30 at up to 2.5 Mbit/s in 1200-byte payloads is about 260 packets a second: 256 slots
/// hold the 500 ms the video buffer waits plus a keyframe's burst.
const VIDEO_SLOTS: usize = 256;
/// 20 ms Opus packets: 16 slots are 320 ms.
const OPUS_SLOTS: usize = 16;

#[test]
fn print_the_receive_machines_and_their_lent_storage() {
    // The machines own their areas here (`Box<[u8]>`, as a Peer on a host does); borrowed
    // ones (`&mut [u8]`) are the same size.
    let video_jb = size_of::<JitterBuffer<Box<[u8]>, Vp8Depacketizer>>();
    let opus_jb = size_of::<JitterBuffer<Box<[u8]>, OpusDepacketizer>>();
    assert_eq!(
        video_jb,
        size_of::<JitterBuffer<&mut [u8], Vp8Depacketizer>>()
    );
    let stats = size_of::<ReceiverStats>();
    let nack = size_of::<NackRequests<VIDEO_SLOTS>>();
    let keyframe = size_of::<KeyframeRequests>();
    let twcc = size_of::<TwccFeedback<512>>();
    println!("size_of JitterBuffer<Box<[u8]>, Vp8Depacketizer> = {video_jb}");
    println!("size_of JitterBuffer<Box<[u8]>, OpusDepacketizer> = {opus_jb}");
    println!("size_of ReceiverStats = {stats}");
    println!("size_of NackRequests<{VIDEO_SLOTS}> = {nack}");
    println!("size_of KeyframeRequests = {keyframe}");
    println!("size_of TwccFeedback<512> = {twcc}");
    let (video, opus) = (Config::video(), Config::audio());
    let video_area = video.area_for(VIDEO_SLOTS);
    let opus_area = opus.area_for(OPUS_SLOTS);
    println!(
        "720p30 video receiver: jitter area {video_area} B lent ({} B frame output, {VIDEO_SLOTS} x ({} + {}) B slots); machines {} B",
        video.max_frame,
        video.slot_size,
        JitterBuffer::<Box<[u8]>, Vp8Depacketizer>::INDEX_BYTES_PER_SLOT,
        video_jb + stats + nack + keyframe + twcc
    );
    println!(
        "Opus receiver: jitter area {opus_area} B lent ({} B frame output, {OPUS_SLOTS} x ({} + {}) B slots); machines {} B",
        opus.max_frame,
        opus.slot_size,
        JitterBuffer::<Box<[u8]>, OpusDepacketizer>::INDEX_BYTES_PER_SLOT,
        opus_jb + stats
    );
    // The area is cut exactly as documented.
    let jb = JitterBuffer::new(
        video,
        Vp8Depacketizer::new(),
        vec![0u8; video_area].into_boxed_slice(),
    );
    assert_eq!((jb.slot_size(), jb.slots()), (video.slot_size, VIDEO_SLOTS));
    let jb = JitterBuffer::new(opus, OpusDepacketizer::new(), vec![0u8; opus_area]);
    assert_eq!((jb.slot_size(), jb.slots()), (opus.slot_size, OPUS_SLOTS));
    // The index costs little next to the slots themselves (under 3 %).
    assert!(
        VIDEO_SLOTS * JitterBuffer::<Box<[u8]>, Vp8Depacketizer>::INDEX_BYTES_PER_SLOT * 100
            < video_area * 3
    );
    // Nothing grows with the slot count inline any more.
    assert!(video_jb < 512, "{video_jb}");
}
