//! DTLS 1.2 for WebRTC (RFC 6347, RFC 5764, RFC 7627, RFC 5705): a sans-IO state machine, no allocator.
//!
//! This crate is being built; see the README feature table for what is done.
#![no_std]

#[cfg(feature = "std")]
extern crate std;
