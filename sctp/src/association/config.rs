//! What the user sets before the association starts: its role, timers and sizes, and a
//! channel's options.
//!
//! ```text
//!   Config::new(role, seed) --> Association::new(config, now, ..) --> connect(now)
//!   ChannelOptions (ordered, reliability, priority, negotiated) --> open_channel(..)
//! ```

use core::time::Duration;

use peerless_base::SEED_LEN;

/// The DTLS role of this endpoint, which fixes the parity of the stream ids it picks
/// (RFC 8832 §6: the DTLS client uses even ids, the server odd ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DtlsRole {
    /// DTLS client: even stream ids.
    Client,
    /// DTLS server: odd stream ids.
    Server,
}

/// Association settings. `Config::new(role, seed)` gives the WebRTC defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// Our DTLS role (stream id parity).
    pub role: DtlsRole,
    /// 32 bytes of entropy from the host: verification tags, initial TSNs, the cookie key.
    pub seed: [u8; SEED_LEN],
    /// Our SCTP port (SDP `a=sctp-port`; 5000 by default).
    pub local_port: u16,
    /// The peer's SCTP port (its `a=sctp-port`; 5000 by default).
    pub remote_port: u16,
    /// Largest SCTP packet we send (1200 by default, which fits in any WebRTC path with DTLS).
    pub mtu: usize,
    /// RTO before any measurement (RFC 9260 §6.3.1; 1 s).
    pub rto_initial: Duration,
    /// Lowest RTO. RFC 9260 says 1 s; WebRTC stacks use far less on their low-latency paths
    /// (default 200 ms).
    pub rto_min: Duration,
    /// Highest RTO (default 10 s, so a data channel recovers quickly after an outage).
    pub rto_max: Duration,
    /// Longest delay before a SACK (RFC 9260 §6.2: at most 500 ms). Default 100 ms: half the
    /// default `rto_min`, so a peer with the same low minimum never times out waiting for the
    /// SACK of a lone packet.
    pub sack_delay: Duration,
    /// INIT or COOKIE-ECHO retransmissions before giving up (RFC 9260: 8).
    pub max_init_retransmits: u32,
    /// Consecutive T3-rtx expirations before the association is declared dead (RFC 9260: 10).
    pub max_retransmits: u32,
    /// Announce that we accept a zero checksum over DTLS (RFC 9653).
    pub zero_checksum: bool,
    /// The peer's `a=max-message-size` (65536 when the SDP does not say, per RFC 8841).
    pub remote_max_message_size: usize,
    /// How long a state cookie we issue stays valid (RFC 9260: 60 s).
    pub cookie_lifetime: Duration,
    /// Longest label and longest sub-protocol (bytes each) a peer's DATA_CHANNEL_OPEN may
    /// carry; a longer one is refused (RFC 8832 allows up to 65535 each). Default 64.
    pub max_label: u16,
}

/// Everything but the seed (it gives the verification tags and the cookie key).
#[cfg(feature = "defmt")]
impl defmt::Format for Config {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Config {{ role: {}, local_port: {=u16}, remote_port: {=u16}, mtu: {=usize}, \
             rto_initial: {}, rto_min: {}, rto_max: {}, sack_delay: {}, zero_checksum: {=bool}, \
             remote_max_message_size: {=usize}, .. }}",
            self.role,
            self.local_port,
            self.remote_port,
            self.mtu,
            self.rto_initial,
            self.rto_min,
            self.rto_max,
            self.sack_delay,
            self.zero_checksum,
            self.remote_max_message_size
        );
    }
}

/// The association's `defmt` form (here, beside its settings, to keep the machine's file to
/// the protocol): role, state and counters, never the cookie key or the queued data.
#[cfg(feature = "defmt")]
impl<const CHUNKS: usize, const CHANNELS: usize> defmt::Format
    for super::Association<&mut [u8], CHUNKS, CHANNELS>
{
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Association {{ role: {}, state: {}, stats: {}, .. }}",
            self.config.role,
            defmt::Debug2Format(&self.state),
            self.stats()
        );
    }
}

impl Config {
    /// WebRTC defaults for `role`, with the host's entropy.
    #[must_use]
    pub fn new(role: DtlsRole, seed: [u8; SEED_LEN]) -> Self {
        Config {
            role,
            seed,
            local_port: 5000,
            remote_port: 5000,
            mtu: 1200,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(10),
            sack_delay: Duration::from_millis(100),
            max_init_retransmits: 8,
            max_retransmits: 10,
            zero_checksum: true,
            remote_max_message_size: 65_536,
            cookie_lifetime: Duration::from_secs(60),
            max_label: 64,
        }
    }
}

/// How a channel retransmits (RFC 8831 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reliability {
    /// Every message arrives.
    Reliable,
    /// A message is abandoned after this many retransmissions.
    MaxRetransmits(u16),
    /// A message is abandoned this many milliseconds after `send`.
    MaxLifetime(u32),
}

/// An SCTP stream id: a data channel's id (RFC 8832 §6; even ids for the DTLS client, odd for
/// the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StreamId(pub u16);

impl From<u16> for StreamId {
    fn from(id: u16) -> Self {
        StreamId(id)
    }
}

impl From<StreamId> for u16 {
    fn from(id: StreamId) -> Self {
        id.0
    }
}

impl core::fmt::Display for StreamId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(&self.0, f)
    }
}

/// A data channel's options (the `RTCDataChannelInit` of the browser API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChannelOptions {
    /// In-order delivery.
    pub ordered: bool,
    /// Retransmission policy.
    pub reliability: Reliability,
    /// Priority as carried in DCEP (RFC 8831 §6.4: 128 below normal, 256 normal, 512 medium,
    /// 1024 high). Channels with data waiting share the sending in proportion to it (weighted
    /// fair queueing by bytes); equal priorities alternate.
    pub priority: u16,
    /// `Some(stream)`: negotiated out of band on this stream, no DCEP.
    pub negotiated: Option<StreamId>,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        ChannelOptions {
            ordered: true,
            reliability: Reliability::Reliable,
            priority: 256,
            negotiated: None,
        }
    }
}
