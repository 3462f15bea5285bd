//! STUN and TURN messages (RFC 8489, RFC 8656): checked views and emitters, no allocator.
//!
//! - [`Message::parse`] checks a datagram once and gives a zero-copy view: class, method,
//!   transaction id, an attribute iterator and typed getters for every attribute WebRTC and
//!   TURN use ([`AttrType`] has a const for each; unknown types round-trip).
//! - [`Message::builder`] collects attributes and emits into the caller's buffer, computing
//!   MESSAGE-INTEGRITY (HMAC-SHA1), MESSAGE-INTEGRITY-SHA256 and FINGERPRINT.
//! - Credentials: short-term (the password is the key) and long-term
//!   ([`long_term_key_md5`], [`long_term_key_sha256`]); MACs are compared in constant time.
//! - [`ChannelData`] framing for TURN channels; [`stream_frame_len`] splits a TURN byte stream
//!   (TCP or TLS to the server) into messages.
//! - [`ClientTransaction`]: one request retransmitted per RFC 8489 §6.2.1 through the sans-IO
//!   verbs; [`Retransmit`] is its schedule alone.
//!
//! Non-goals: no STUN server logic beyond what ICE needs (the ICE agent answers binding
//! requests itself), no SASLprep (pass prepared strings), no allocation.
//!
//! # The run loop
//!
//! ```
//! use peerless_base::Instant;
//! use peerless_stun::{ClientTransaction, Class, Message, Method, RetransmitConfig, TransactionId, TxEvent};
//!
//! let server = "192.0.2.1:3478".parse()?;
//! let local = "192.0.2.9:50000".parse()?; // the socket's own address
//! let mut req = [0u8; 64];
//! let n = Message::builder(Class::Request, Method::BINDING, TransactionId([1; 12]))
//!     .fingerprint()
//!     .emit(&mut req)?;
//! let mut tx = ClientTransaction::<256>::start(Instant::ZERO, &req[..n], local, server, RetransmitConfig::default())
//!     .map_err(|_| "start")?;
//! let mut buf = [0u8; 1500];
//! let mut now = Instant::ZERO;
//! let mut sends = 0;
//! loop {
//!     while let Some(t) = tx.poll_transmit(&mut buf)? {
//!         assert_eq!((t.source, t.destination), (local, server));
//!         sends += 1; // socket.send_to(t.payload, t.destination) in a real host
//!     }
//!     if let Some(TxEvent::TimedOut) = tx.poll_event() {
//!         break;
//!     }
//!     let Some(wake) = tx.poll_timeout() else { break };
//!     now = wake; // sleep until `wake`, or until a datagram arrives for handle_packet
//!     tx.handle_timeout(now);
//! }
//! assert_eq!((sends, now.as_millis()), (7, 39_500));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Error contract
//!
//! Nothing here panics on any input. [`Message::parse`] returns [`Error`] for bytes that are
//! not one well-formed STUN message; a malformed value of a known attribute makes its typed
//! getter return `None` (and [`Message::attributes`] yield an `Err`). Emitting reports a
//! buffer that is too small with the size needed ([`EmitError`]).
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

#[cfg(feature = "std")]
extern crate std;

mod attr;
mod channel;
mod integrity;
mod message;
mod transaction;

pub use attr::{
    AddressFamily, AlgorithmList, AttrList, AttrType, Attribute, BadAttribute, ErrorCode,
    PasswordAlgorithm,
};
pub use channel::{CHANNEL_MAX, CHANNEL_MIN, ChannelData, ChannelDataError, stream_frame_len};
pub use integrity::{FINGERPRINT_XOR, long_term_key_md5, long_term_key_sha256, userhash};
pub use message::{
    Builder, Class, EmitError, Error, HEADER_LEN, MAGIC_COOKIE, Message, Method, TransactionId,
    is_stun, message_type,
};
pub use transaction::{
    ClientTransaction, Event as TxEvent, Retransmit, RetransmitConfig, RetransmitStep, StartError,
    peek_transaction_id,
};
