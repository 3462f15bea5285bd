//! Property tests and the deterministic network simulator for peerless.
//!
//! Placeholder until the simulator lands in this change.
