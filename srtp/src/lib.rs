//! RTP/RTCP wire views and SRTP/SRTCP contexts (RFC 3550, RFC 3711, RFC 7714), no allocator.
//!
//! This crate is being built; see the README feature table for what is done.
#![no_std]

#[cfg(feature = "std")]
extern crate std;
