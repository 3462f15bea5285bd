//! The ICE agent (RFC 8445, RFC 8838, RFC 7675): a sans-IO state machine, no allocator.
//!
//! This crate is being built; see the README feature table for what is done.
#![no_std]

#[cfg(feature = "std")]
extern crate std;
