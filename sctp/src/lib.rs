//! SCTP over DTLS (RFC 9260, RFC 8261) and WebRTC data channels (RFC 8831, RFC 8832): a
//! sans-IO state machine with no allocator.
//!
//! [`Association`] takes SCTP packets (the payloads of DTLS application-data records) and the
//! time, and gives back packets, events and a deadline. It carries data channels: DCEP
//! open/ack, ordered and unordered delivery, partial reliability (RFC 3758 FORWARD-TSN), channel
//! close by stream reset (RFC 6525), zero checksum over DTLS (RFC 9653), and sending order
//! among channels by their DCEP priority (weighted fair queueing, RFC 8831 §6.4).
//!
//! Non-goals: multi-homing, IP addresses and ports other than the SCTP ports of RFC 8261,
//! I-DATA interleaving (RFC 8260: a message is never split by another's chunks),
//! sending HEARTBEATs (DTLS and ICE consent already watch the path; received HEARTBEATs are
//! answered).
//!
//! # Memory
//!
//! Everything lives in the association or in two byte areas the user lends:
//! the send area (queued and unacknowledged messages, each chunk with a 40-byte header) and the
//! receive area (the reassembly storage; the receive window advertised is its free space,
//! bounded by the free chunk records at one full-size chunk each). Received fragments of one
//! message that arrive next to each other share one record, so `CHUNKS` bounds the holes in
//! the received sequence, not the size of a message: anything up to
//! [`Association::local_max_message_size`] (the receive area) arrives.
//! A message larger than the send area is refused by [`Association::send`]; a peer's message
//! larger than the receive area cannot be reassembled and ends the association with
//! [`CloseReason::MessageTooLarge`] (an abort, as RFC 8841 allows), never a panic. Announce
//! [`Association::local_max_message_size`] in SDP so a well-behaved peer never does that.
//! Received data that nothing will read (on a stream with no channel) is discarded and
//! counted instead of holding storage.
//!
//! Events never queue up in a separate table: `Connected` and `Closed` are one flag each, and
//! a channel's `BufferedAmountLow` and `ChannelClosed` are held in its own slot (a closed
//! channel's slot is free again once its `ChannelClosed` was polled), so none can be lost.
//!
//! With the default parameters (`CHUNKS = 256` receive records, `CHANNELS = 32`) an
//! `Association` is 11168 bytes on a 64-bit host (printed and bounded by
//! `tests/limits.rs`), beyond the two areas.
//!
//! # The run loop
//!
//! After any `handle_*` call or command, drain `poll_transmit` and `poll_event` until both
//! return `None`, then arm a timer at `poll_timeout()`:
//!
//! ```
//! use peerless_base::Instant;
//! use peerless_sctp::{Association, Config, DtlsRole, Event};
//! let (mut send_area, mut recv_area) = ([0u8; 4096], [0u8; 4096]);
//! let now = Instant::from_millis(1);
//! let mut assoc: Association<&mut [u8]> =
//!     Association::new(Config::new(DtlsRole::Client, [7; 32]), now, &mut send_area[..], &mut recv_area[..]);
//! assoc.connect(now);
//! let mut buf = [0u8; 1200];
//! while let Some(transmit) = assoc.poll_transmit(&mut buf).unwrap() {
//!     // dtls.send_application_data(transmit) in a real host
//!     assert_eq!(&transmit[12..13], &[1]); // an INIT chunk
//! }
//! while let Some(event) = assoc.poll_event() {
//!     if let Event::Message { stream, kind, data } = event { let _ = (stream, kind, data); }
//! }
//! assert!(assoc.poll_timeout().is_some()); // T1-init
//! ```
//!
//! # Error contract
//!
//! Network input never fails a call and never panics: malformed, unauthenticated or
//! out-of-place packets are dropped and counted in [`Stats`]. Commands return small `Copy`
//! errors ([`SendError`], [`ChannelError`]). The end of the association is an event,
//! [`Event::Closed`].
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

#[cfg(any(feature = "std", test))]
extern crate std;

mod association;
pub mod dcep;
mod recv;
mod send;
pub mod wire;

pub use association::{
    Association, ChannelError, ChannelOptions, CloseReason, Config, DtlsRole, Event, MessageKind,
    Reliability, SendError, Stats, StreamId,
};

/// The bytes an association keeps its send queue or its reassembly in: borrowed (`&mut [u8]`,
/// as firmware lends a `static`) or owned (`[u8; N]`, and on a host `Vec<u8>` or `Box<[u8]>`).
/// The one storage trait of every peerless machine, from [`peerless_base`].
pub use peerless_base::Area;
