//! The ground every peerless machine stands on.
//!
//! peerless is a WebRTC stack made of pure state machines: bytes and time go in; bytes, events
//! and deadlines come out. This crate holds the few things all of them share:
//!
//! - [`Instant`]: time as the host hands it in (microseconds since an origin it picks), and
//!   [`Instant::advance`], the one rule for a `now` earlier than the last;
//! - [`Transmit`] (a datagram with both its addresses) and [`BufferTooSmall`]: output
//!   written into the caller's buffer;
//! - [`Reader`] and [`Writer`]: the checked byte cursor every wire format parses and emits with;
//! - [`Drbg`]: HMAC-DRBG (NIST SP 800-90A) over SHA-256, the only source of randomness;
//! - [`Timers`]: a fixed table of deadlines keyed by an enum;
//! - [`Queue`]: a fixed-capacity FIFO for pending events and replies (a full one gives the
//!   item back, so the drop is counted);
//! - [`Area`]: the byte storage a machine is lent, borrowed or owned;
//! - [`text`]: numbers and addresses as text and the [`text::Sink`] the description writers
//!   write into, without `core::fmt`;
//! - the logging shim (`trace!` .. `error!`), silent unless the `log` or `defmt` feature is on
//!   (with both, `defmt` wins).
//!
//! Non-goals: no clock, no sockets, no allocation, no `unsafe`.
//!
//! # The run loop every machine shares
//!
//! Every machine speaks the same five verbs: `handle_packet`, `handle_timeout`,
//! `poll_transmit`, `poll_event`, `poll_timeout`. After any input, drain `poll_transmit` and
//! `poll_event` until both say `None`, then arm one timer at `poll_timeout()`:
//!
//! ```
//! use core::net::SocketAddr;
//! use peerless_base::{BufferTooSmall, Instant, Transmit};
//! # struct Machine { out: Option<[u8; 3]>, local: SocketAddr, remote: SocketAddr }
//! # impl Machine {
//! #     fn handle_timeout(&mut self, _now: Instant) { self.out = Some(*b"abc"); }
//! #     fn poll_transmit<'b>(&mut self, buf: &'b mut [u8]) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
//! #         let Some(bytes) = self.out.take() else { return Ok(None) };
//! #         let out = buf.get_mut(..3).ok_or(BufferTooSmall { needed: 3 })?;
//! #         out.copy_from_slice(&bytes);
//! #         Ok(Some(Transmit::between(self.local, self.remote, out)))
//! #     }
//! #     fn poll_timeout(&self) -> Option<Instant> { None }
//! # }
//! # let local: SocketAddr = "192.0.2.1:5000".parse().unwrap();
//! # let remote: SocketAddr = "192.0.2.2:6000".parse().unwrap();
//! # let mut machine = Machine { out: None, local, remote };
//! let mut buf = [0u8; 1500];
//! let now = Instant::from_millis(10);
//! machine.handle_timeout(now);
//! while let Some(transmit) = machine.poll_transmit(&mut buf).unwrap() {
//!     // socket.send_to(transmit.payload, transmit.destination) in a real host,
//!     // from the socket bound to transmit.source
//!     assert_eq!((transmit.destination, transmit.payload), (remote, &b"abc"[..]));
//! }
//! let next_wakeup = machine.poll_timeout();
//! # assert!(next_wakeup.is_none());
//! ```
//!
//! Machines on one connected path (DTLS, SCTP) have the same verbs, but their `poll_transmit`
//! returns just the datagram they wrote, `Result<Option<&[u8]>, BufferTooSmall>`: the layer
//! below them picks the addresses.
//!
//! # Error contract
//!
//! Nothing here panics on any input. Reads past the end return [`ReadError`]; writes past the
//! end are remembered by the [`Writer`] and reported once, with the exact size that was needed.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "std")]
extern crate std;

mod drbg;
mod instant;
#[macro_use]
mod log;
mod queue;
mod reader;
pub mod text;
mod timer;
mod transmit;
mod writer;

pub use drbg::{Drbg, SEED_LEN};
pub use instant::Instant;
#[cfg(feature = "std")]
pub use instant::StdClock;
pub use queue::Queue;
pub use reader::{ReadError, Reader};
pub use timer::{TimerKey, Timers};
pub use transmit::{BufferTooSmall, Transmit};
pub use writer::Writer;

/// Bytes a machine keeps its buffers in: borrowed (`&mut [u8]`, as firmware lends a `static`)
/// or owned (`[u8; N]`, and on a host `Vec<u8>` or `Box<[u8]>`), so a struct or a map can own
/// the machine with no lifetime. Any type that is both `AsRef<[u8]>` and `AsMut<[u8]>` is one.
/// The machine lays out its own records inside it, so nothing else needs lending.
pub trait Area: AsRef<[u8]> + AsMut<[u8]> {}

impl<T: AsRef<[u8]> + AsMut<[u8]> + ?Sized> Area for T {}

/// Re-exports used by the logging macros; not part of the public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "defmt")]
    pub use defmt;
    #[cfg(feature = "log")]
    pub use log;
}

/// Constant-time equality of two byte strings, for MACs, tags and cookies.
///
/// The time taken depends on the lengths only, never on the contents. Different lengths compare
/// unequal (lengths of MACs are public).
#[must_use]
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the optimiser from turning the fold into an early-exit compare.
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::ct_eq;

    #[test]
    fn ct_eq_compares_contents_and_lengths() {
        assert!(ct_eq(b"", b""));
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"\x80bc", b"abc"));
    }
}
