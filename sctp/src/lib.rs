//! SCTP over DTLS (RFC 9260, RFC 8261) and data channels (RFC 8831, RFC 8832): a sans-IO state machine, no allocator.
//!
//! This crate is being built; see the README feature table for what is done.
#![no_std]

#[cfg(feature = "std")]
extern crate std;
