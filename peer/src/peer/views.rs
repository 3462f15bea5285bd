//! The transports as the browser shows them: `RTCIceTransport`, `RTCDtlsTransport` and
//! `RTCSctpTransport`, read-only snapshots taken from the Peer's machines.

use super::Area;
use super::*;

/// `RTCIceTransport`: the ICE side of the one bundled transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct IceTransport {
    /// `state`.
    pub state: IceState,
    /// `gatheringState`.
    pub gathering_state: IceGatheringState,
    /// `role`.
    pub role: ice::Role,
    /// `getSelectedCandidatePair()`: our socket and the peer's address.
    pub selected_pair: Option<(SocketAddr, SocketAddr)>,
}

/// `RTCDtlsTransport`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct DtlsTransport {
    /// `state`.
    pub state: DtlsTransportState,
    /// Our role, once an answer fixed it (`a=setup`).
    pub role: Option<dtls::Role>,
    /// The fingerprint the peer's certificate must match, from its description (the browser's
    /// `getRemoteCertificates()` returns the certificate itself; this is what it was checked
    /// against). `None` before a remote description.
    pub remote_fingerprint: Option<dtls::Fingerprint>,
    /// Why the state is `failed` (the browser's `onerror` with an `RTCError`): a fingerprint
    /// mismatch is not just any failure.
    pub failure: Option<DtlsFailure>,
}

/// Why DTLS failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DtlsFailure {
    /// The peer's certificate does not match the fingerprint in its description.
    FingerprintMismatch,
    /// The peer sent this fatal alert.
    PeerAlert(dtls::AlertDescription),
    /// We aborted the handshake with this alert.
    HandshakeFailed(dtls::AlertDescription),
    /// DTLS did not connect within [`Config::dtls_timeout`] of ICE finding a path (or the
    /// endpoint's own handshake limit passed).
    Timeout,
    /// Our record sequence numbers ran out (RFC 6347 §4.1).
    SequenceExhausted,
}

impl DtlsFailure {
    /// The failure behind a DTLS close, or `None` for a close that is not one.
    pub(super) fn of(reason: dtls::CloseReason) -> Option<Self> {
        Some(match reason {
            dtls::CloseReason::FingerprintMismatch => DtlsFailure::FingerprintMismatch,
            dtls::CloseReason::PeerAlert(a) => DtlsFailure::PeerAlert(a),
            dtls::CloseReason::HandshakeFailed(a) => DtlsFailure::HandshakeFailed(a),
            dtls::CloseReason::HandshakeTimeout => DtlsFailure::Timeout,
            dtls::CloseReason::SequenceExhausted => DtlsFailure::SequenceExhausted,
            _ => return None,
        })
    }
}

/// `RTCSctpTransportState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SctpTransportState {
    /// The association is being set up (or waits for DTLS).
    Connecting,
    /// Channels can carry messages.
    Connected,
    /// The association ended.
    Closed,
}

/// `RTCSctpTransport`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct SctpTransport {
    /// `state`.
    pub state: SctpTransportState,
    /// `maxMessageSize`: the smaller of the peer's `a=max-message-size` and ours (RFC 8841
    /// §6; `None` is the browser's `Infinity`, both sides unlimited).
    pub max_message_size: Option<u64>,
    /// `maxChannels`: data channels open at once, once connected (`null` before); the Peer's
    /// channel table, which the association's matches.
    pub max_channels: Option<u16>,
}

/// The states a host watches, through the public getters (the fields hold keys and buffers).
#[cfg(feature = "defmt")]
impl<
    S: Area,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
    const TRANSCEIVERS: usize,
> defmt::Format
    for Peer<S, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES, TRANSCEIVERS>
{
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Peer {{ connection: {}, signaling: {}, ice: {}, selected_pair: {}, .. }}",
            self.connection_state(),
            self.signaling_state(),
            self.ice_state(),
            self.selected_pair()
        );
    }
}

impl<
    S: Area,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
    const TRANSCEIVERS: usize,
> Peer<S, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES, TRANSCEIVERS>
{
    /// `sctp.transport.iceTransport`.
    #[must_use]
    pub fn ice_transport(&self) -> IceTransport {
        IceTransport {
            state: self.ice_state,
            gathering_state: self.ice_gathering_state(),
            role: self.ice.role(),
            selected_pair: self.selected,
        }
    }

    /// `sctp.transport` (`RTCDtlsTransport`).
    #[must_use]
    pub fn dtls_transport(&self) -> DtlsTransport {
        DtlsTransport {
            state: self.dtls_transport_state(),
            role: self.dtls_role(),
            remote_fingerprint: self.remote_fingerprint,
            failure: self.transport.running().and_then(|r| r.dtls_failure),
        }
    }

    /// `sctp` (`RTCSctpTransport`); `None` before our DTLS role is known, as the browser's
    /// `sctp` is `null` until the description that negotiates it is applied.
    #[must_use]
    pub fn sctp_transport(&self) -> Option<SctpTransport> {
        let (sctp, run) = self.transport.parts()?;
        let state = if sctp.is_closed() {
            SctpTransportState::Closed
        } else if run.sctp_established {
            SctpTransportState::Connected
        } else {
            SctpTransportState::Connecting
        };
        let ours = u64::try_from(self.local_max_message_size).unwrap_or(u64::MAX);
        Some(SctpTransport {
            state,
            max_message_size: Some(self.remote_max_message_size.map_or(ours, |r| r.min(ours))),
            max_channels: (state == SctpTransportState::Connected)
                .then(|| u16::try_from(CHANNELS).unwrap_or(u16::MAX)),
        })
    }

    /// `RTCDtlsTransportState` of the transport.
    pub(super) fn dtls_transport_state(&self) -> DtlsTransportState {
        match self.transport.dtls_state() {
            DtlsState::New => DtlsTransportState::New,
            DtlsState::Connecting => DtlsTransportState::Connecting,
            DtlsState::Connected => DtlsTransportState::Connected,
            DtlsState::Failed => DtlsTransportState::Failed,
            DtlsState::Closed => DtlsTransportState::Closed,
        }
    }
}
