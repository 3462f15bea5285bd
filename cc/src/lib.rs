//! Send-side congestion control without an allocator: a bandwidth estimator in the manner
//! of Google Congestion Control (draft-ietf-rmcat-gcc-02, as libwebrtc's goog_cc runs it)
//! over transport-wide feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01), and a
//! pacer that spends the estimate.
//!
//! ```text
//!            host: encoder at target_bps            host: SCTP, RTX, padding
//!                 │ packets (id, class, size)             │
//!                 ▼                                       ▼
//!   ┌──────────────────────── Pacer ────────────────────────────┐
//!   │ leaky bucket at pacing rate, burst allowance;            │
//!   │ audio > retransmission > video ≍ data (shared) > padding │──▶ poll_send: "send id N"
//!   └───────────────────────────────▲───────────────────────────┘        │
//!             set_rates(target) │    start_probe(cluster)                 ▼ wire, with a
//!                               │                              transport-wide sequence number
//!   ┌──────────────────────── Estimator ───────────────────────┐        │ (TwccSendRecord)
//!   │ delay: groups (5 ms) → trendline (20, 0.9, ×4)           │        ▼
//!   │        → overuse detector (γ: k_up 0.0087, k_down 0.039)  │   receiver: TwccFeedback
//!   │        → AIMD (×0.85 acked; ×1.08/s or +1 packet/RTT)    │        │
//!   │ loss:  >10 % ×(1−p/2), <2 % ×1.05                         │◀───────┘ transport-cc
//!   │ probes: 3×, 6× start, then 2× each result; REMB caps      │   feedback: sent at, size,
//!   │ target = clamp(min(delay, loss, REMB), min, max)          │   arrival or lost
//!   └───────────────────────────────────────────────────────────┘
//!        │ Event::BitrateEstimate { target_bps } on a > 5 % move
//! ```
//!
//! # Wiring (what a Peer does)
//!
//! ```
//! use peerless_base::Instant;
//! use peerless_cc::{BitrateLimits, Class, Estimator, Event, Pacer, PacerConfig, Release};
//! use peerless_rtp::send::{TwccSendRecord, TwccSlot};
//!
//! let mut estimator = Estimator::new(BitrateLimits::default())?;
//! let mut pacer: Pacer<64> = Pacer::new(PacerConfig::default(), estimator.target_bps());
//! let mut slots = [TwccSlot::EMPTY; 512];
//! let mut record = TwccSendRecord::new(&mut slots, 0);
//! let now = Instant::from_millis(10);
//!
//! // The encoder's packets go in by id; the host keeps their bytes.
//! pacer.enqueue(now, 7, Class::Video, 1200)?;
//! // A probe the estimator wants goes to the pacer at once.
//! if let Some(cluster) = estimator.poll_probe(now) {
//!     pacer.start_probe(now, &cluster);
//! }
//! // Whatever the pacer releases gets a transport-wide sequence number as it leaves.
//! let later = Instant::from_millis(20);
//! while let Some(release) = pacer.poll_send(later) {
//!     let size = match release {
//!         Release::Packet { size, .. } => size,
//!         Release::Padding { size } => size, // an RTX padding packet of this size
//!     };
//!     let _transport_seq = record.on_sent(later, usize::from(size));
//! }
//! // On transport-cc feedback: estimator.on_feedback(now, record.feedback(&fb));
//! // then the new target to the pacer and, on an event, to the encoder.
//! pacer.set_target(later, estimator.target_bps());
//! while let Some(Event::BitrateEstimate { target_bps }) = estimator.poll_event() {
//!     assert_eq!(target_bps, 300_000); // the encoder's budget
//! }
//! // The host sleeps until the earliest of pacer.poll_timeout(), estimator.poll_timeout().
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! Arithmetic is `f32` and integers only (no `f64`, nothing beyond what `core` offers), so it
//! runs on a Cortex-M4F as on a server. Neither machine allocates, copies a packet nor panics
//! on any input; a full pacer queue is an error the caller sees.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![deny(missing_docs)]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod budget;
mod delay;
mod estimator;
mod loss;
mod pacer;
mod probe;
mod rate;

pub use budget::{Backlog, Class, Grant, PacerConfig, PacerStats, PacingBudget};
pub use delay::BandwidthUsage;
pub use estimator::{BitrateLimits, EstimateParts, Estimator, EstimatorStats, Event, LimitsError};
pub use pacer::{Pacer, PacerError, Release};
pub use probe::ProbeCluster;

#[cfg(test)]
mod sizes {
    #[test]
    fn state_sizes() {
        let estimator = core::mem::size_of::<crate::Estimator>();
        std::println!("Estimator: {estimator} bytes");
        assert!(
            estimator <= 1088,
            "the estimator grew a buffer: {estimator} bytes"
        );
        let budget = core::mem::size_of::<crate::PacingBudget>();
        std::println!("PacingBudget: {budget} bytes");
        let pacer = core::mem::size_of::<crate::Pacer<0>>();
        let entry = (core::mem::size_of::<crate::Pacer<64>>() - pacer) / 64;
        std::println!("Pacer<N>: {pacer} bytes + {entry} per queued packet id");
        assert!(
            budget <= 256 && pacer <= budget + 32 && entry <= 16,
            "the pacer grew: {pacer} + {entry}"
        );
    }
}
