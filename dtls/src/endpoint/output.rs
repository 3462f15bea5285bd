//! What an endpoint reports: events, keys, close reasons, errors and counters.

use super::Role;
use crate::wire::{AlertDescription, CipherSuite, SrtpProfile};

/// The EXTRACTOR-dtls_srtp keying material (RFC 5764 §4.2), split as RFC 5764 lays it out:
/// client key, server key, client salt, server salt.
///
/// Not `Copy`, and wiped when dropped: copies of keys are what outlive their use.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    pub(super) profile: SrtpProfile,
    pub(super) material: [u8; 88],
    pub(super) key_len: usize,
    pub(super) salt_len: usize,
}

impl Drop for SrtpKeyingMaterial {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.material);
    }
}

/// The profile only, never the keys.
#[cfg(feature = "defmt")]
impl defmt::Format for SrtpKeyingMaterial {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "SrtpKeyingMaterial {{ profile: {}, .. }}", self.profile);
    }
}

impl core::fmt::Debug for SrtpKeyingMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SrtpKeyingMaterial")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl SrtpKeyingMaterial {
    /// The negotiated profile these keys are for.
    #[must_use]
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }
    /// The whole exported block (`2 * (key + salt)` bytes), as OpenSSL prints it.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.material
            .get(..2 * (self.key_len + self.salt_len))
            .unwrap_or_default()
    }
    fn part(&self, start: usize, len: usize) -> &[u8] {
        self.material.get(start..start + len).unwrap_or_default()
    }
    /// The client's SRTP master key.
    #[must_use]
    pub fn client_key(&self) -> &[u8] {
        self.part(0, self.key_len)
    }
    /// The server's SRTP master key.
    #[must_use]
    pub fn server_key(&self) -> &[u8] {
        self.part(self.key_len, self.key_len)
    }
    /// The client's SRTP master salt.
    #[must_use]
    pub fn client_salt(&self) -> &[u8] {
        self.part(2 * self.key_len, self.salt_len)
    }
    /// The server's SRTP master salt.
    #[must_use]
    pub fn server_salt(&self) -> &[u8] {
        self.part(2 * self.key_len + self.salt_len, self.salt_len)
    }
    /// (key, salt) this side protects outgoing SRTP with.
    #[must_use]
    pub fn local(&self, role: Role) -> (&[u8], &[u8]) {
        match role {
            Role::Client => (self.client_key(), self.client_salt()),
            Role::Server => (self.server_key(), self.server_salt()),
        }
    }
    /// (key, salt) the peer protects its SRTP with.
    #[must_use]
    pub fn remote(&self, role: Role) -> (&[u8], &[u8]) {
        match role {
            Role::Client => (self.server_key(), self.server_salt()),
            Role::Server => (self.client_key(), self.client_salt()),
        }
    }
}

/// Why the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CloseReason {
    /// The peer sent close_notify.
    PeerClosed,
    /// We called [`Endpoint::close`](crate::Endpoint::close).
    LocalClose,
    /// The peer sent this fatal alert.
    PeerAlert(AlertDescription),
    /// We aborted the handshake and sent this fatal alert.
    HandshakeFailed(AlertDescription),
    /// The peer's certificate does not match the fingerprint from SDP.
    FingerprintMismatch,
    /// The handshake did not complete within [`Config::handshake_timeout`](crate::Config::handshake_timeout).
    HandshakeTimeout,
    /// Our record sequence numbers reached 2^48 - 1 (RFC 6347 §4.1): sending more would reuse
    /// one, and with it an AEAD nonce, so the connection ends instead.
    SequenceExhausted,
}

/// What the endpoint reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The handshake completed and the peer's certificate matched its fingerprint.
    Connected {
        /// The negotiated suite.
        cipher_suite: CipherSuite,
        /// The negotiated SRTP profile, if the peers agreed on one.
        srtp_profile: Option<SrtpProfile>,
        /// The SRTP keys exported for that profile.
        keys: Option<SrtpKeyingMaterial>,
    },
    /// Application data from the peer (valid until the next call on the endpoint).
    ApplicationData(&'a [u8]),
    /// The connection ended.
    Closed(CloseReason),
}

/// Why [`Endpoint::send`](crate::Endpoint::send) refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SendError {
    /// The handshake has not completed (or the peer is not yet authenticated).
    NotConnected,
    /// The connection is closed.
    Closed,
    /// The data does not fit one record at the configured MTU.
    TooLarge,
    /// The outgoing queue is full; poll_transmit first.
    QueueFull,
}

/// Counters; network input never fails a call, it is counted here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams handed to `handle_packet`.
    pub datagrams_received: u64,
    /// Datagrams produced by `poll_transmit`.
    pub datagrams_sent: u64,
    /// Records that failed to parse (the rest of their datagram is dropped too).
    pub dropped_malformed: u64,
    /// Records that failed authentication.
    pub dropped_decrypt: u64,
    /// Records dropped by the anti-replay window.
    pub dropped_replayed: u64,
    /// Records dropped for another reason (wrong epoch, no room in the early-record stash,
    /// unexpected type, or any datagram to a client before
    /// [`Endpoint::connect`](crate::Endpoint::connect)).
    pub dropped_unexpected: u64,
    /// Application data records dropped because the receive buffer or the queue of received
    /// records was full (the host did not drain `poll_event`). They are not marked seen by
    /// the replay window, so a retransmission of them (SCTP's) is accepted.
    pub dropped_rx_full: u64,
    /// Handshake fragments dropped (outside the window, no room, a type or epoch the peer
    /// cannot send there, or disagreeing with the first fragment of their message).
    pub dropped_fragments: u64,
    /// Server with cookies: ClientHellos dropped without an answer because they did not
    /// parse (nothing unauthenticated ends a stateless server).
    pub dropped_hellos: u64,
    /// Renegotiation requests after the handshake, answered with a no_renegotiation warning.
    pub renegotiations_refused: u64,
    /// Flights sent again.
    pub retransmissions: u64,
    /// Application data records delivered.
    pub app_records_received: u64,
    /// Application data records sent.
    pub app_records_sent: u64,
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SendError::NotConnected => "not connected yet",
            SendError::Closed => "the connection is closed",
            SendError::TooLarge => "the data does not fit one record at the MTU",
            SendError::QueueFull => "the send queue is full",
        })
    }
}

impl core::error::Error for SendError {}

impl core::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("the peer sent close_notify"),
            CloseReason::LocalClose => f.write_str("closed locally"),
            CloseReason::PeerAlert(a) => write!(f, "the peer sent the fatal alert {a:?}"),
            CloseReason::HandshakeFailed(a) => {
                write!(f, "the handshake failed with the alert {a:?}")
            }
            CloseReason::FingerprintMismatch => {
                f.write_str("the peer's certificate does not match the fingerprint from SDP")
            }
            CloseReason::HandshakeTimeout => f.write_str("the handshake timed out"),
            CloseReason::SequenceExhausted => f.write_str("the record sequence numbers ran out"),
        }
    }
}

/// The keys are never logged: `Connected` shows the suite and the SRTP profile only.
#[cfg(feature = "defmt")]
impl defmt::Format for Event<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            Event::Connected {
                cipher_suite,
                srtp_profile,
                ..
            } => defmt::write!(
                f,
                "Connected {{ cipher_suite: {}, srtp_profile: {} }}",
                cipher_suite,
                srtp_profile
            ),
            Event::ApplicationData(data) => {
                defmt::write!(f, "ApplicationData({} bytes)", data.len())
            }
            Event::Closed(reason) => defmt::write!(f, "Closed({})", reason),
        }
    }
}
