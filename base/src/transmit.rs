//! Output written into the caller's buffer.

use core::fmt;
use core::net::SocketAddr;

/// A datagram to send, borrowed from the buffer the caller passed to `poll_transmit`.
///
/// Machines that sit on one connected path (DTLS over ICE, SCTP over DTLS) leave `destination`
/// empty: the layer below decides where the bytes go. ICE and the Peer always fill it, and say
/// from which local address (the candidate's base) to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Transmit<'b> {
    /// The local address to send from (`None`: any; the host's one socket).
    pub source: Option<SocketAddr>,
    /// Where to send (`None`: the one path this machine runs on).
    pub destination: Option<SocketAddr>,
    /// The bytes to send: one datagram.
    pub payload: &'b [u8],
}

impl<'b> Transmit<'b> {
    /// A datagram for a machine's single connected path.
    #[must_use]
    pub const fn on_path(payload: &'b [u8]) -> Self {
        Transmit {
            source: None,
            destination: None,
            payload,
        }
    }

    /// A datagram from `source` to `destination`.
    #[must_use]
    pub const fn between(source: SocketAddr, destination: SocketAddr, payload: &'b [u8]) -> Self {
        Transmit {
            source: Some(source),
            destination: Some(destination),
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
    fn constructors_fill_the_path() {
        let a: SocketAddr = "127.0.0.1:1000".parse().unwrap();
        let b: SocketAddr = "[::1]:2000".parse().unwrap();
        let t = Transmit::between(a, b, b"x");
        assert_eq!(
            (t.source, t.destination, t.payload),
            (Some(a), Some(b), &b"x"[..])
        );
        let t = Transmit::on_path(b"y");
        assert_eq!((t.source, t.destination), (None, None));
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
