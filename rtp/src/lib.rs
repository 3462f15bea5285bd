//! The media engine's parts, without an allocator: the RTP/RTCP wire views, RTP payload
//! formats, a jitter buffer, receiver and sender reports, NACK/RTX and keyframe requests.
//!
//! Every part is either a pure function or a small machine over storage the caller lends, so a
//! Peer, a media server or firmware can use it. The machines with large buffers (the jitter
//! buffer, the send history) take one byte area ([`peerless_base::Area`]: `&mut [u8]`, an
//! array, `Vec<u8>` or `Box<[u8]>`) and lay out their index inside it, so an owner needs no
//! lifetime:
//!
//! - [`packet`]: the RTP header as a checked view ([`packet::Packet`], and
//!   [`packet::HeaderView`] for a packet whose payload is still encrypted) with RFC 8285
//!   header extensions (one- and two-byte forms), and an emitter ([`packet::Header`]);
//! - [`extension`]: typed header extensions (mid, rid, repaired-rid, abs-send-time,
//!   transport-wide sequence number, audio level, video orientation, playout delay,
//!   abs-capture-time) through the negotiated [`extension::ExtensionMap`];
//! - [`rtcp`]: compound RTCP packets (RFC 3550, 4585, 5104, 5506): an iterator and typed
//!   views of SR, RR, SDES, BYE, APP, generic NACK, transport-wide congestion control
//!   feedback, PLI, FIR and REMB, and a compound writer; [`rtcp::is_rtcp`] tells RTCP from
//!   RTP on a multiplexed port (RFC 5761). Both report [`WireError`];
//! - [`codec`]: one packetizer and one depacketizer per payload format. A packetizer turns a
//!   frame into RTP payloads of at most a given size, one at a time, into the caller's buffer;
//!   a depacketizer rebuilds a frame from payloads handed to it in sequence order, into a lent
//!   buffer, and says whether it is a keyframe. Audio: Opus, G.711, G.722, telephone-event
//!   (RFC 4733 DTMF); video: VP8, VP9. [`codec::Codec`] names a format from its SDP rtpmap,
//!   and [`codec::AnyPacketizer`] / [`codec::AnyDepacketizer`] pick its machines at run time.
//! - [`codec::h264`] (RFC 6184, modes 0 and 1) and [`codec::h265`] (RFC 7798): Annex-B access
//!   units in and out, single NAL units, STAP-A/AP aggregation, FU-A/FU fragmentation, the last
//!   parameter sets repeated before a keyframe that lacks them; [`codec::annexb`] splits a byte
//!   stream into NAL units. [`codec::av1`] (AOM AV1 RTP v1.0): temporal units of OBUs in and
//!   out, OBU size fields removed and restored, temporal delimiters and tile lists dropped, N
//!   on a new coded video sequence.
//! - [`container`]: IVF (VP8/VP9/AV1 frames at rest) for tests and tools; off the packet path.
//! - [`send`]: the sender's parts: a send history that is also the send queue (packets wait
//!   unsent, then stay to answer NACKs as RTX or plain retransmissions within a byte budget),
//!   sender statistics for SR, the send record of transport-wide sequence numbers, and the
//!   RTCP report schedule.
//! - [`receive`]: the receive side: a jitter buffer that releases whole frames in order,
//!   receiver statistics and report blocks (RFC 3550), NACK requests
//!   (RFC 4585), keyframe requests (PLI, FIR), transport-wide congestion control feedback.
//! - `selftest` (feature `selftest`): the media path end to end (a VP8 frame with a loss
//!   answered by RTX, an Opus stream, an SR/RR exchange) for firmware to run on the target.
//!
//! Non-goals: encoding or decoding media, clocks, sockets, allocation, `unsafe`.
//!
//! # Error contract
//!
//! Nothing in this crate panics on any input, and no call allocates. Malformed payloads from
//! the network are errors the caller counts and drops; a lent buffer that is too small is an
//! error that says so, never a silent truncation.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![deny(missing_docs)]

#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod codec;
pub mod container;
mod error;
pub mod extension;
pub mod packet;
pub mod receive;
pub mod rtcp;
#[cfg(feature = "selftest")]
pub mod selftest;
pub mod send;

pub use error::WireError;
