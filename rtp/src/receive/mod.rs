//! The receive side: packets in, frames and feedback out.
//!
//! ```text
//!   RTP ──▶ ReceiverStats::record ─────────────────────────▶ report_block ──▶ RR / SR blocks
//!      ├──▶ JitterBuffer::insert ──▶ poll_frame ──▶ Frame { contiguous, keyframe }
//!      │          │ gave up a hole (video) ──▶ needs_keyframe ──▶ KeyframeRequests ──▶ PLI / FIR
//!      ├──▶ NackRequests::record ──▶ poll_nack (retried every RTT, given up when too old) ──▶ NACK
//!      └──▶ TwccFeedback::record (transport-wide seq, arrival) ──▶ poll_feedback ──▶ transport-cc
//! ```
//!
//! Each part is its own machine, because a Peer, a media server and a camera wire them
//! differently (an SFU keeps no jitter buffer but sends NACKs; an audio-only device needs no
//! PLI). None of them writes RTCP: they hand out plain data ([`ReportBlock`], lost sequence
//! numbers, [`FirEntry`], transport-cc statuses) for the RTCP builder.

pub mod jitter;
pub mod keyframe;
pub mod nack;
pub mod seq;
pub mod stats;
pub mod twcc;

mod stand_in;

pub use jitter::{
    Config, Frame, InsertError, JitterBuffer, MediaKind, MediaPacket, PollError, Stats,
};
pub use keyframe::{KeyframeMethod, KeyframeRequest, KeyframeRequests, KeyframeStats};
pub use nack::{NackConfig, NackRequests, NackStats};
pub use seq::{SequenceUnwrapper, TimestampUnwrapper, Unwrapper};
pub use stand_in::{FirEntry, NackPair, ReportBlock, TccStatus};
pub use stats::{Counters, ReceiverStats, Validity, round_trip};
pub use twcc::{TwccConfig, TwccFeedback, TwccReport, TwccStats};
