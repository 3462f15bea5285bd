//! Multicast DNS (RFC 6762) for ICE: resolve a browser's `<uuid>.local` host candidates, and
//! publish our own. Sans-IO, no allocator.
//!
//! - [`Message::parse`]: a checked view of a DNS message (questions; answer, authority and
//!   additional records), with RFC 1035 §4.1.4 name compression followed at most
//!   [`MAX_POINTER_HOPS`] hops and only backwards. [`emit_query`], [`emit_response`] and
//!   [`emit_legacy_response`] write into the caller's buffer.
//! - [`Querier`]: a fixed table of names being resolved; one-question queries to
//!   `224.0.0.251:5353` / `[ff02::fb]:5353`, resent at 1 s then doubling, a bounded number of tries
//!   ([`QuerierConfig`]: 3 tries, fail after 5 s), [`Event::Resolved`] or [`Event::Failed`].
//! - [`Responder`]: answers A/AAAA/ANY questions for names we publish.
//!
//! Non-goals: service discovery (RFC 6763), probing and conflict resolution for published names
//! (ours are random UUIDs), a record cache beyond the names asked for, known-answer
//! suppression.
//!
//! # The run loop
//!
//! ```
//! use core::net::SocketAddr;
//! use peerless_base::Instant;
//! use peerless_mdns::{Event, Querier, QuerierConfig, Responder};
//!
//! let ours: SocketAddr = "192.0.2.1:5353".parse()?;
//! let theirs: SocketAddr = "192.0.2.2:5353".parse()?;
//! let mut querier = Querier::<4>::new(QuerierConfig::default(), Instant::ZERO);
//! querier.add_socket(ours)?;
//! let mut responder = Responder::<2>::new(Instant::ZERO);
//! responder.add_socket(theirs)?;
//! responder.publish("0d3c1f6e-5f2b-4c1e-9a47-2f0e3b6d8c11.local", "192.0.2.2".parse()?)?;
//!
//! querier.query(Instant::ZERO, "0d3c1f6e-5f2b-4c1e-9a47-2f0e3b6d8c11.local")?;
//! let mut buf = [0u8; 512];
//! let mut reply = [0u8; 512];
//! // The host sends each transmit to the group; every member of the link receives it.
//! while let Some(t) = querier.poll_transmit(&mut buf)? {
//!     assert_eq!(t.destination, peerless_mdns::GROUP_V4);
//!     responder.handle_packet(Instant::ZERO, t.source, theirs, t.payload);
//! }
//! while let Some(t) = responder.poll_transmit(&mut reply)? {
//!     querier.handle_packet(Instant::ZERO, t.source, t.payload);
//! }
//! match querier.poll_event() {
//!     Some(Event::Resolved { name, addr }) => {
//!         assert_eq!(name.as_str(), "0d3c1f6e-5f2b-4c1e-9a47-2f0e3b6d8c11.local");
//!         assert_eq!(addr, "192.0.2.2".parse::<core::net::IpAddr>()?);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Error contract
//!
//! Nothing here panics on any input. A datagram that does not parse, or does not answer a
//! pending name, is dropped and counted ([`QuerierStats`], [`ResponderStats`]). Commands
//! return small error enums ([`QueryError`], [`PublishError`], [`SocketsFull`]); emitting
//! reports a short buffer with the size needed.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

#[cfg(feature = "std")]
extern crate std;

mod message;
mod querier;
mod responder;

pub use message::{
    CLASS_IN, EmitError, Error, HEADER_LEN, MAX_NAME_LEN, MAX_POINTER_HOPS, Message, Name,
    NameError, Question, Record, RecordType, check_local_name, emit_legacy_response, emit_query,
    emit_response,
};
pub use querier::{
    Event, GROUP_V4, GROUP_V6, HostName, MDNS_PORT, QTYPES, Querier, QuerierConfig, QuerierStats,
    QueryError, SOCKETS, SocketsFull, group_for,
};
pub use responder::{PublishError, Responder, ResponderStats};
