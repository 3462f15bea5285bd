//! The receive side: packets in, frames and feedback out.
//!
//! ```text
//!   RTP ──▶ ReceiverStats::record ─────────────────────────▶ report_block ──▶ RR / SR blocks
//!      ├──▶ JitterBuffer::insert ──▶ poll_frame ──▶ Frame { contiguous, keyframe } (in its own area)
//!      │          │ gave up a hole (video) ──▶ needs_keyframe ──▶ KeyframeRequests ──▶ PLI / FIR
//!      ├──▶ NackRequests::record ──▶ poll_nack (retried every RTT, given up when too old) ──▶ NACK
//!      └──▶ TwccFeedback::record (transport-wide seq, arrival) ──▶ poll_feedback ──▶ transport-cc
//! ```
//!
//! Each part is its own machine, because a Peer, a media server and a camera wire them
//! differently (an SFU keeps no jitter buffer but sends NACKs; an audio-only device needs no
//! PLI). None of them writes RTCP on its own: they hand out the [`crate::rtcp`] types
//! ([`ReportBlock`], [`NackPair`], [`FirEntry`], [`TccStatus`]) and each has a `write_*` helper
//! that adds its packet to a [`crate::rtcp::CompoundBuilder`].
//!
//! # What a receiver costs
//!
//! Printed by `tests/receiver_sizes.rs` (x86-64; `cargo test -p peerless-rtp --test
//! receiver_sizes -- --nocapture`):
//!
//! | part | inline | lent |
//! |---|---|---|
//! | `JitterBuffer<Box<[u8]>, Vp8Depacketizer>` (`Config::video()`, 256 slots) | 384 B | 585 728 B: a 256 KiB frame output (a 720p keyframe), 256 x (1 232 + 32) B slots |
//! | `JitterBuffer<Box<[u8]>, OpusDepacketizer>` (`Config::audio()`, 16 slots) | 360 B | 21 456 B: a 1 232 B frame output, 16 x (1 232 + 32) B slots |
//! | `ReceiverStats` | 112 B | |
//! | `NackRequests<256>` | 10 400 B | |
//! | `KeyframeRequests` | 72 B | |
//! | `TwccFeedback<512>` | 12 440 B | |
//!
//! A 720p30 video receiver (all five) is 23 408 B of machines and about 572 KiB lent; an Opus
//! receiver (jitter buffer and statistics) is 472 B of machines and about 21 KiB lent. The
//! jitter buffer's slot index lives in its area, so its own size does not grow with the slots.

pub mod jitter;
pub mod keyframe;
pub mod nack;
pub mod seq;
pub mod stats;
pub mod twcc;

pub use crate::rtcp::{FirEntry, NackPair, ReportBlock, TccStatus};
pub use jitter::{
    Config, Frame, InsertError, JitterBuffer, MediaKind, MediaPacket, PollError, Stats,
};
pub use keyframe::{KeyframeMethod, KeyframeRequest, KeyframeRequests, KeyframeStats};
pub use nack::{NackConfig, NackRequests, NackStats};
pub use seq::{SequenceUnwrapper, TimestampUnwrapper, Unwrapper};
pub use stats::{Counters, ReceiverStats, Validity};
pub use twcc::{TwccConfig, TwccFeedback, TwccFeedbackStats, TwccReport};
