//! The one error type of this crate.

use core::fmt;

/// Why a packet was not protected or unprotected, or a context not built.
///
/// Network-facing calls (`unprotect_*`) return these for the caller to count and drop the
/// packet: nothing in this crate panics on any input. [`Error::AuthenticationFailed`],
/// [`Error::Replayed`] and [`Error::TooOld`] are the normal outcomes of an attack or a
/// duplicating network and say nothing about the state of the context, which is unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The buffer cannot hold the result; `needed` bytes would.
    BufferTooSmall {
        /// The buffer length that would have been enough.
        needed: usize,
    },
    /// Not an RTP (or RTCP) packet this crate can read: wrong version, truncated header,
    /// or lengths that run past the end (what `peerless_rtp`'s header views reject).
    Malformed,
    /// The authentication tag did not verify: the packet was forged, corrupted, or protected
    /// with other keys. The packet must be dropped; the buffer may hold garbage.
    AuthenticationFailed,
    /// This packet index was already received (or sent) in this context.
    Replayed,
    /// The packet index is older than the replay window can tell apart from a replay.
    TooOld,
    /// A new SSRC arrived and the context's fixed SSRC table is full.
    SsrcTableFull,
    /// An SRTCP packet's E flag (encrypted or not, RFC 3711 §3.4) disagrees with
    /// [`Config::encrypt_rtcp`](crate::Config::encrypt_rtcp).
    EncryptionMismatch,
    /// The key has protected as many packets as the index space allows (2^48 SRTP, 2^31
    /// SRTCP): re-key before sending more.
    KeyExhausted,
    /// A master key or salt has the wrong length for the profile, or the exported keying
    /// material has the wrong length.
    InvalidKeyLength,
    /// The configuration asks for something the context's capacity cannot give (a replay
    /// window larger than its storage, or a zero-size window).
    InvalidConfig,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::BufferTooSmall { needed } => {
                write!(f, "buffer too small: {needed} bytes needed")
            }
            Error::Malformed => f.write_str("malformed RTP/RTCP packet"),
            Error::AuthenticationFailed => f.write_str("authentication failed"),
            Error::Replayed => f.write_str("replayed packet"),
            Error::TooOld => f.write_str("packet older than the replay window"),
            Error::SsrcTableFull => f.write_str("SSRC table full"),
            Error::EncryptionMismatch => f.write_str("SRTCP E flag disagrees with the policy"),
            Error::KeyExhausted => f.write_str("packet index space exhausted; re-key"),
            Error::InvalidKeyLength => f.write_str("wrong key, salt or keying material length"),
            Error::InvalidConfig => f.write_str("invalid configuration"),
        }
    }
}

impl core::error::Error for Error {}

/// The header views' errors: a header that cannot be read is a malformed packet.
impl From<peerless_rtp::WireError> for Error {
    fn from(e: peerless_rtp::WireError) -> Self {
        match e {
            peerless_rtp::WireError::BufferTooSmall { needed } => Error::BufferTooSmall { needed },
            _ => Error::Malformed,
        }
    }
}

impl From<peerless_base::BufferTooSmall> for Error {
    fn from(e: peerless_base::BufferTooSmall) -> Self {
        Error::BufferTooSmall { needed: e.needed }
    }
}
