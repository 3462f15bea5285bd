//! A WebRTC peer (the browser's `RTCPeerConnection`) as a sans-IO state machine: no allocator,
//! no runtime, no OS.
//!
//! The Peer composes the ICE agent, DTLS, SCTP data channels, SRTP and SDP/JSEP behind the five
//! verbs every peerless machine speaks. What exists so far is the first piece every datagram
//! meets: [`demux`], the RFC 7983 classifier that sends each datagram on the shared socket to
//! its protocol. The Peer itself is built on top of the protocol crates as they land (see the
//! README feature table).
#![no_std]

#[cfg(feature = "std")]
extern crate std;

pub mod demux;
