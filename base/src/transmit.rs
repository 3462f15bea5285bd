//! Output written into the caller's buffer.

use core::fmt;
use core::net::SocketAddr;

/// A datagram to send from one local address to one remote address, borrowed from the buffer
/// the caller passed to `poll_transmit`.
///
/// Machines that choose among paths (ICE, the Peer) return a `Transmit`: both addresses are
/// always known, so neither is optional. Machines that sit on one connected path (DTLS over
/// ICE, SCTP over DTLS) return just the datagram they wrote (`&[u8]`): the layer below decides
/// where the bytes go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transmit<'b> {
    /// The local address to send from (the candidate's base; a host with one socket sends
    /// from it).
    pub source: SocketAddr,
    /// Where to send.
    pub destination: SocketAddr,
    /// The bytes to send: one datagram.
    pub payload: &'b [u8],
}

impl<'b> Transmit<'b> {
    /// A datagram from `source` to `destination`.
    #[must_use]
    pub const fn between(source: SocketAddr, destination: SocketAddr, payload: &'b [u8]) -> Self {
        Transmit {
            source,
            destination,
            payload,
        }
    }
}

/// The caller's buffer cannot hold the output; `needed` bytes would.
///
/// Nothing was lost: the machine keeps the output until it is polled with a large enough buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BufferTooSmall {
    /// The buffer length that would have been enough.
    pub needed: usize,
}

impl fmt::Display for BufferTooSmall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer too small: {} bytes needed", self.needed)
    }
}

impl core::error::Error for BufferTooSmall {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_fills_both_addresses() {
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "[::1]:2000".parse().unwrap();
        let t = Transmit::between(a, b, b"x");
        assert_eq!((t.source, t.destination, t.payload), (a, b, &b"x"[..]));
    }

    #[test]
    fn buffer_too_small_says_how_much() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(
            BufferTooSmall { needed: 42 }.to_string(),
            "buffer too small: 42 bytes needed"
        );
    }
}
