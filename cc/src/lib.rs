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
//! Arithmetic is `f32` and integers only (no `f64`, nothing beyond what `core` offers), so it
//! runs on a Cortex-M4F as on a server. Neither machine allocates, copies a packet nor panics
//! on any input; a full pacer queue is an error the caller sees.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![deny(missing_docs)]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod delay;
mod estimator;
mod loss;
mod pacer;
mod probe;
mod rate;

pub use delay::BandwidthUsage;
pub use estimator::{BitrateLimits, EstimateParts, Estimator, EstimatorStats, Event, LimitsError};
pub use pacer::{Class, Pacer, PacerConfig, PacerError, PacerStats, Release};
pub use probe::ProbeCluster;

#[cfg(test)]
mod sizes {
    #[test]
    fn state_sizes() {
        let estimator = core::mem::size_of::<crate::Estimator>();
        std::println!("Estimator: {estimator} bytes");
        assert!(
            estimator <= 1024,
            "the estimator grew a buffer: {estimator} bytes"
        );
        let pacer = core::mem::size_of::<crate::Pacer<0>>();
        let entry = (core::mem::size_of::<crate::Pacer<64>>() - pacer) / 64;
        std::println!("Pacer<N>: {pacer} bytes + {entry} per queued packet id");
        assert!(
            pacer <= 256 && entry <= 16,
            "the pacer grew: {pacer} + {entry}"
        );
    }
}
