//! A WebRTC peer (the browser's RTCPeerConnection) as a sans-IO state machine: no allocator, no runtime, no OS.
//!
//! This crate is being built; see the README feature table for what is done.
#![no_std]

#[cfg(feature = "std")]
extern crate std;
