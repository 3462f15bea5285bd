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
const VIDEO_SLOT: usize = 1200;
/// The largest 720p frame the application takes (a 2 Mbit keyframe).
const VIDEO_FRAME: usize = 256 * 1024;
/// 20 ms Opus packets, at most 1275 bytes (RFC 6716 §3.4): 16 slots are 320 ms.
const OPUS_SLOTS: usize = 16;
const OPUS_SLOT: usize = 1276;

#[test]
fn print_the_receive_machines_and_their_lent_storage() {
    let video_jb = size_of::<JitterBuffer<'static, Vp8Depacketizer, VIDEO_SLOTS>>();
    let opus_jb = size_of::<JitterBuffer<'static, OpusDepacketizer, OPUS_SLOTS>>();
    let stats = size_of::<ReceiverStats>();
    let nack = size_of::<NackRequests<VIDEO_SLOTS>>();
    let keyframe = size_of::<KeyframeRequests>();
    let twcc = size_of::<TwccFeedback<512>>();
    println!("size_of JitterBuffer<Vp8Depacketizer, {VIDEO_SLOTS}> = {video_jb}");
    println!("size_of JitterBuffer<OpusDepacketizer, {OPUS_SLOTS}> = {opus_jb}");
    println!("size_of ReceiverStats = {stats}");
    println!("size_of NackRequests<{VIDEO_SLOTS}> = {nack}");
    println!("size_of KeyframeRequests = {keyframe}");
    println!("size_of TwccFeedback<512> = {twcc}");
    let video_area = VIDEO_SLOTS * VIDEO_SLOT;
    let opus_area = OPUS_SLOTS * OPUS_SLOT;
    println!(
        "720p30 video receiver: jitter area {video_area} B + frame buffer {VIDEO_FRAME} B lent; machines {} B",
        video_jb + stats + nack + keyframe + twcc
    );
    println!(
        "Opus receiver: jitter area {opus_area} B + frame buffer {OPUS_SLOT} B lent; machines {} B",
        opus_jb + stats
    );
    // The area is cut exactly as documented.
    let mut area = vec![0u8; video_area];
    let jb =
        JitterBuffer::<_, VIDEO_SLOTS>::new(Config::video(), Vp8Depacketizer::new(), &mut area);
    assert_eq!(jb.slot_size(), VIDEO_SLOT);
    let mut area = vec![0u8; opus_area];
    let jb =
        JitterBuffer::<_, OPUS_SLOTS>::new(Config::audio(), OpusDepacketizer::new(), &mut area);
    assert_eq!(jb.slot_size(), OPUS_SLOT);
    // The per-slot bookkeeping stays small next to the slot itself (here under 4 %).
    assert!(video_jb < VIDEO_SLOTS * 48 + 512, "{video_jb}");
}
