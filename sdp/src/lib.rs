//! SDP parse/write (RFC 8866) and the JSEP offer/answer rules (RFC 8829), no allocator.
//!
//! This crate is being built; see the README feature table for what is done.
#![no_std]

#[cfg(feature = "std")]
extern crate std;
