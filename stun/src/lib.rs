//! STUN and TURN messages (RFC 8489, RFC 8656): checked views and emitters, no allocator.
//!
//! This crate is being built; see the README feature table for what is done.
#![no_std]

#[cfg(feature = "std")]
extern crate std;
