//! SRTP/SRTCP packet protection (RFC 3711, RFC 7714) and DTLS-SRTP keys (RFC 5764), no
//! allocator.
//!
//! This crate turns the keys a DTLS-SRTP handshake exports into packet protection. The RTP
//! and RTCP packets themselves are read and written by `peerless-rtp` (`peerless_rtp::packet`,
//! `peerless_rtp::rtcp`); this crate reads only what protection needs, through rtp's header
//! views (`peerless_rtp::packet::HeaderView`: where the header ends, the SSRC and sequence
//! number; `peerless_rtp::rtcp::sender_ssrc`), and parses no header of its own:
//!
//! - [`Context`]: SRTP and SRTCP protect/unprotect, in place, for the four profiles WebRTC
//!   uses ([`Profile`]), with the RFC 3711 key derivation, per-SSRC rollover counters
//!   (RFC 3711 Appendix A), a replay window of configurable size and the SRTCP index;
//! - [`SessionKeys`]: the split of DTLS-SRTP exported keying material (RFC 5764 §4.2) into
//!   the context for what we send and the one for what we receive;
//! - `selftest` (feature `selftest`): an on-target known answer and a per-packet cost probe for
//!   firmware.
//!
//! Non-goals: MKI, key derivation rates other than 0, SDES key exchange, encrypted header
//! extensions (RFC 6904, cryptex), the NULL cipher. No clock, no sockets, no allocation, no
//! `unsafe`.
//!
//! # Use
//!
//! A context is a pure transform, not a machine: call it on each packet the host sends or
//! receives. After the DTLS handshake:
//!
//! ```
//! use peerless_srtp::{Config, Context, Error, Profile, Role, SessionKeys};
//! # let exported = [1u8; 56];
//! // `exported`: the EXTRACTOR-dtls_srtp bytes from the DTLS endpoint.
//! let keys = SessionKeys::from_dtls_srtp(Profile::AeadAes128Gcm, &exported, Role::Client)?;
//! let mut outbound: Context = keys.local_context(Config::default())?;
//! let mut inbound: Context = keys.remote_context(Config::default())?;
//!
//! // Sending: write RTP into a buffer with room for the tag, protect in place.
//! let mut buf = [0u8; 1500];
//! let header = peerless_rtp::packet::Header { payload_type: 111, sequence_number: 1, ssrc: 7, ..Default::default() };
//! let len = header.emit(b"audio frame", &mut buf)?;
//! let n = outbound.protect_rtp(&mut buf, len)?;
//! // socket.send(&buf[..n]);
//!
//! // Receiving: unprotect in place; an error means count and drop.
//! # let mut datagram = [0u8; 64];
//! # let mut peer_out: Context = SessionKeys::from_dtls_srtp(Profile::AeadAes128Gcm, &exported, Role::Server)?.local_context(Config::default())?;
//! # let dlen = header.emit(b"hello", &mut datagram)?;
//! # let dlen = peer_out.protect_rtp(&mut datagram, dlen)?;
//! # let datagram = &mut datagram[..dlen];
//! match inbound.unprotect_rtp(datagram) {
//!     Ok(m) => {
//!         let packet = peerless_rtp::packet::Packet::parse(&datagram[..m])?;
//!         assert_eq!(packet.payload(), b"hello");
//!     }
//!     Err(Error::AuthenticationFailed | Error::Replayed | Error::TooOld) => { /* counted in stats() */ }
//!     Err(_) => {}
//! }
//! # let _ = n;
//! # Ok::<(), Error>(())
//! ```
//!
//! # Error contract
//!
//! Nothing in this crate panics on any input, and no call allocates. Protect calls fail only
//! for caller mistakes or exhaustion ([`Error::BufferTooSmall`], [`Error::Malformed`],
//! [`Error::KeyExhausted`], ...). Unprotect calls return [`Error::AuthenticationFailed`],
//! [`Error::Replayed`] or [`Error::TooOld`] for packets to drop, count them in
//! [`Context::stats`], and leave the context unchanged. Tags are compared in constant time.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]
#![deny(missing_docs)]

#[cfg(any(test, feature = "std"))]
extern crate std;

mod context;
mod error;
mod kdf;
mod keys;
mod profile;
mod replay;
#[cfg(feature = "selftest")]
pub mod selftest;

pub use context::{Config, Context, Stats};
pub use error::Error;
pub use keys::{Role, SessionKeys};
pub use profile::Profile;

#[cfg(test)]
mod known_answers;
