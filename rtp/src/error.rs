//! The one error type of the wire views and builders.

use core::fmt;

/// Why bytes were not read as an RTP/RTCP packet, or a packet not written.
///
/// Parsing network input returns [`WireError::Malformed`] for the caller to count and drop;
/// nothing panics on any input. Emitting returns [`WireError::BufferTooSmall`] (with the exact
/// size to retry with) or [`WireError::Unrepresentable`] for a caller mistake.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WireError {
    /// Not a packet this crate can read: wrong version, truncated header, or lengths, counts
    /// or padding that run past the end.
    Malformed,
    /// The output buffer cannot hold the packet; `needed` bytes would.
    BufferTooSmall {
        /// The buffer length that would have been enough.
        needed: usize,
    },
    /// What was asked cannot be written on the wire: more than 15 CSRCs, a header extension
    /// element that does not fit its form, more items or bytes than a count or length field
    /// can say.
    Unrepresentable,
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Malformed => f.write_str("malformed RTP/RTCP packet"),
            WireError::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            WireError::Unrepresentable => f.write_str("packet cannot be expressed on the wire"),
        }
    }
}

impl core::error::Error for WireError {}

impl From<peerless_base::BufferTooSmall> for WireError {
    fn from(e: peerless_base::BufferTooSmall) -> Self {
        WireError::BufferTooSmall { needed: e.needed }
    }
}

/// A read past the end of a field is a malformed packet.
impl From<peerless_base::ReadError> for WireError {
    fn from(_: peerless_base::ReadError) -> Self {
        WireError::Malformed
    }
}
