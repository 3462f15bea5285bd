//! The getStats report (W3C webrtc-stats) without an allocator: [`Peer::stats_report`] hands
//! out typed entries one at a time, [`Peer::write_stats_json`] writes the same entries as a JSON
//! array into any `core::fmt::Write`.
//!
//! ```text
//!   peer-connection  P          dataChannelsOpened, dataChannelsClosed
//!   transport        T01 ---selectedCandidatePairId---> CP<l>_<r>
//!                        ---local/remoteCertificateId-> CF<fingerprint>
//!   candidate-pair   CP<l>_<r>  every pair the ICE agent has --localCandidateId--> I<l>
//!                                                             --remoteCandidateId-> I<r>
//!   local-candidate  I<l>       remote-candidate  I<r>       (transportId T01)
//!   certificate      CF<..>     ours with base64Certificate; the peer's without (DTLS keeps
//!                               only the fingerprints of what it received, not the DER)
//!   data-channel     D<slot>    every channel in the table
//!   codec, outbound-rtp, remote-inbound-rtp, inbound-rtp, remote-outbound-rtp: see `rtp`
//! ```
//!
//! Ids are stable while the thing they name lives: a candidate's is a hash of what it is (side,
//! type, protocol, address, foundation), so a pair's id follows from its candidates' and needs no
//! table. Entries borrow the Peer, so the report is built on the stack, one entry at a time.
//!
//! `media-source` and `media-playout` are left out: the host captures and plays the media,
//! the Peer never sees a track's samples.

use core::fmt;
use core::net::IpAddr;

use super::Area;
use super::*;

mod rtp;

pub use rtp::{
    CodecStats, InboundRtpStats, OutboundRtpStats, RemoteInboundRtpStats, RemoteOutboundRtpStats,
};

/// The id of a report entry. Written with `Display` (`P`, `T01`, `I1A2B3C4D`,
/// `CP1A2B3C4D_5E6F7A8B`, `CFAB:CD:..`, `D0`, `C96`, `OR<ssrc>`, `IR<ssrc>`, `RI<ssrc>`,
/// `RO<ssrc>`, the SSRC in decimal); equal ids name the same object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StatsId<'r> {
    /// The one `peer-connection` entry.
    PeerConnection,
    /// The one `transport` (everything is bundled on one ICE/DTLS transport).
    Transport,
    /// A local or remote candidate, by its hash.
    Candidate(u32),
    /// A candidate pair, by its candidates' hashes (local, remote).
    CandidatePair(u32, u32),
    /// A certificate, by its SHA-256 digest.
    Certificate(&'r [u8]),
    /// A data channel, by its slot in the Peer's table ([`ChannelId`]).
    DataChannel(u16),
    /// A codec, by its payload type (every section shares the one transport).
    Codec(u8),
    /// An `outbound-rtp` stream, by our SSRC.
    OutboundRtp(u32),
    /// An `inbound-rtp` stream, by the peer's SSRC.
    InboundRtp(u32),
    /// A `remote-inbound-rtp` entry, by our SSRC it reports on.
    RemoteInboundRtp(u32),
    /// A `remote-outbound-rtp` entry, by the peer's SSRC it reports on.
    RemoteOutboundRtp(u32),
}

impl fmt::Display for StatsId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            StatsId::PeerConnection => f.write_str("P"),
            StatsId::Transport => f.write_str("T01"),
            StatsId::Candidate(h) => write!(f, "I{h:08X}"),
            StatsId::CandidatePair(l, r) => write!(f, "CP{l:08X}_{r:08X}"),
            StatsId::Certificate(digest) => write!(f, "CF{}", Hex(digest)),
            StatsId::DataChannel(slot) => write!(f, "D{slot}"),
            // Two letters that are not hex digits: no candidate's `I<hash>` looks the same.
            StatsId::Codec(pt) => write!(f, "C{pt}"),
            StatsId::OutboundRtp(ssrc) => write!(f, "OR{ssrc}"),
            StatsId::InboundRtp(ssrc) => write!(f, "IR{ssrc}"),
            StatsId::RemoteInboundRtp(ssrc) => write!(f, "RI{ssrc}"),
            StatsId::RemoteOutboundRtp(ssrc) => write!(f, "RO{ssrc}"),
        }
    }
}

/// `RTCDtlsTransportState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum DtlsTransportState {
    /// No DTLS role yet.
    New,
    /// Handshaking.
    Connecting,
    /// Connected.
    Connected,
    /// close_notify sent or received.
    Closed,
    /// Failed (an alert, a fingerprint mismatch, the DTLS timeout).
    Failed,
}

impl DtlsTransportState {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            DtlsTransportState::New => "new",
            DtlsTransportState::Connecting => "connecting",
            DtlsTransportState::Connected => "connected",
            DtlsTransportState::Closed => "closed",
            DtlsTransportState::Failed => "failed",
        }
    }
}

/// `RTCPeerConnectionStats` (`type: "peer-connection"`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct PeerConnectionStats {
    /// `timestamp`: see [`StatsEntry::timestamp`].
    pub timestamp: f64,
    /// `dataChannelsOpened`.
    pub data_channels_opened: u64,
    /// `dataChannelsClosed`.
    pub data_channels_closed: u64,
}

/// `RTCTransportStats` (`type: "transport"`): the one bundled ICE + DTLS transport.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct TransportStats<'r> {
    /// `timestamp`.
    pub timestamp: f64,
    /// `packetsSent`: every datagram [`Peer::poll_transmit`] returned (STUN included).
    pub packets_sent: u64,
    /// `packetsReceived`: every datagram handed to [`Peer::handle_packet`].
    pub packets_received: u64,
    /// `bytesSent`: their UDP payload bytes.
    pub bytes_sent: u64,
    /// `bytesReceived`.
    pub bytes_received: u64,
    /// `iceRole`.
    pub ice_role: ice::Role,
    /// `iceLocalUsernameFragment`.
    pub ice_local_username_fragment: &'r str,
    /// `dtlsState`.
    pub dtls_state: DtlsTransportState,
    /// `iceState`.
    pub ice_state: IceState,
    /// `selectedCandidatePairId`, once ICE selected a pair that is in its table.
    pub selected_candidate_pair_id: Option<StatsId<'r>>,
    /// `localCertificateId`.
    pub local_certificate_id: StatsId<'r>,
    /// `remoteCertificateId`, once DTLS received the peer's certificate.
    pub remote_certificate_id: Option<StatsId<'r>>,
    /// `tlsVersion` (`FEFD`, DTLS 1.2, once connected).
    pub tls_version: Option<&'static str>,
    /// `dtlsCipher`: the IANA name of the suite, once connected.
    pub dtls_cipher: Option<&'static str>,
    /// `dtlsRole`: `None` is the spec's `unknown`.
    pub dtls_role: Option<dtls::Role>,
    /// `srtpCipher`: the DTLS-SRTP profile's name, once negotiated.
    pub srtp_cipher: Option<&'static str>,
    /// `selectedCandidatePairChanges`: how often the selected pair was set or lost.
    pub selected_candidate_pair_changes: u64,
}

/// `RTCIceCandidatePairStats` (`type: "candidate-pair"`), for every pair the ICE agent has.
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct CandidatePairStats<'r> {
    /// `timestamp`.
    pub timestamp: f64,
    /// `id`.
    pub id: StatsId<'r>,
    /// `localCandidateId`.
    pub local_candidate_id: StatsId<'r>,
    /// `remoteCandidateId`.
    pub remote_candidate_id: StatsId<'r>,
    /// `state`.
    pub state: ice::CandidatePairState,
    /// `nominated`.
    pub nominated: bool,
    /// `packetsSent`, `packetsReceived`, `bytesSent`, `bytesReceived`: the datagrams other
    /// than STUN (DTLS, SRTP) since the pair was selected; only the selected pair has them.
    pub traffic: Option<PairTraffic>,
    /// `currentRoundTripTime` in seconds: the pair's latest check or consent request answered
    /// without a retransmission.
    pub current_round_trip_time: Option<f64>,
    /// `totalRoundTripTime` in seconds: the sum over `responsesReceived`, each from its
    /// request's first send.
    pub total_round_trip_time: f64,
    /// `requestsSent`: Binding requests on the pair, checks and consent, not retransmissions.
    pub requests_sent: u64,
    /// `responsesReceived`: success responses to them.
    pub responses_received: u64,
    /// `consentRequestsSent`.
    pub consent_requests_sent: u64,
    /// `requestsReceived`: the peer's authenticated checks and consent requests on the pair.
    pub requests_received: u64,
    /// `responsesSent`: our success responses to them.
    pub responses_sent: u64,
    /// `availableOutgoingBitrate` in bit/s: the bandwidth estimator's target, on the selected
    /// pair of a Peer that sends media.
    pub available_outgoing_bitrate: Option<u64>,
}

/// What went over the selected pair besides STUN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct PairTraffic {
    /// Datagrams sent.
    pub packets_sent: u64,
    /// Datagrams received.
    pub packets_received: u64,
    /// Their bytes, sent.
    pub bytes_sent: u64,
    /// Their bytes, received.
    pub bytes_received: u64,
}

/// `RTCIceCandidateStats` (`type: "local-candidate"` or `"remote-candidate"`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct CandidateStats<'r> {
    /// `timestamp`.
    pub timestamp: f64,
    /// `id`.
    pub id: StatsId<'r>,
    /// `address`.
    pub address: IpAddr,
    /// `port`.
    pub port: u16,
    /// `protocol` (`udp`, `tcp`).
    pub protocol: ice::Transport,
    /// `candidateType`.
    pub candidate_type: ice::CandidateType,
    /// `priority`.
    pub priority: u32,
    /// `foundation`.
    pub foundation: &'r str,
    /// `relatedAddress` and `relatedPort` (`raddr`/`rport`).
    pub related: Option<SocketAddr>,
    /// `usernameFragment`: ours for a local candidate; the candidate's `ufrag` or the remote
    /// description's for a remote one.
    pub username_fragment: Option<&'r str>,
    /// `tcpType`.
    pub tcp_type: Option<ice::TcpType>,
}

/// `RTCCertificateStats` (`type: "certificate"`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct CertificateStats<'r> {
    /// `timestamp`.
    pub timestamp: f64,
    /// `id`.
    pub id: StatsId<'r>,
    /// `fingerprint`: the digest (JSON writes it as RFC 4572 hex, `AB:CD:..`).
    pub fingerprint: &'r [u8],
    /// `fingerprintAlgorithm`.
    pub fingerprint_algorithm: dtls::HashAlgorithm,
    /// `base64Certificate`: the DER (JSON writes it in base64). Our certificate has it; the
    /// peer's does not, because DTLS keeps only the fingerprints of what it received.
    pub certificate_der: Option<&'r [u8]>,
}

/// `RTCDataChannelStats` (`type: "data-channel"`).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct DataChannelStats<'r> {
    /// `timestamp`.
    pub timestamp: f64,
    /// `id`.
    pub id: StatsId<'r>,
    /// `label`.
    pub label: &'r str,
    /// `protocol`.
    pub protocol: &'r str,
    /// `dataChannelIdentifier`: the SCTP stream id, once the DTLS role fixed it.
    pub data_channel_identifier: Option<u16>,
    /// `state`: as the channel's handle says ([`Peer::channel`]).
    pub state: ReadyState,
    /// `messagesSent`, `bytesSent`, `messagesReceived`, `bytesReceived`.
    pub counters: ChannelStats,
}

/// One entry of the report, as the spec's `RTCStats` dictionaries (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum StatsEntry<'r> {
    /// `peer-connection`.
    PeerConnection(PeerConnectionStats),
    /// `transport`.
    Transport(TransportStats<'r>),
    /// `candidate-pair`.
    CandidatePair(CandidatePairStats<'r>),
    /// `local-candidate`.
    LocalCandidate(CandidateStats<'r>),
    /// `remote-candidate`.
    RemoteCandidate(CandidateStats<'r>),
    /// `certificate`.
    Certificate(CertificateStats<'r>),
    /// `data-channel`.
    DataChannel(DataChannelStats<'r>),
    /// `codec`.
    Codec(CodecStats<'r>),
    /// `outbound-rtp`.
    OutboundRtp(OutboundRtpStats<'r>),
    /// `remote-inbound-rtp`.
    RemoteInboundRtp(RemoteInboundRtpStats<'r>),
    /// `inbound-rtp`.
    InboundRtp(InboundRtpStats<'r>),
    /// `remote-outbound-rtp`.
    RemoteOutboundRtp(RemoteOutboundRtpStats<'r>),
}

/// One member's value, as JSON writes it.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub enum StatsValue<'v> {
    /// A string (written escaped).
    Str(&'v dyn fmt::Display),
    /// An integer.
    Uint(u64),
    /// An integer that may be negative (`packetsLost`).
    Int(i64),
    /// A number (`null` if not finite).
    Float(f64),
    /// A boolean.
    Bool(bool),
}

impl fmt::Debug for StatsValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsValue::Str(s) => write!(f, "\"{s}\""),
            StatsValue::Uint(n) => write!(f, "{n}"),
            StatsValue::Int(n) => write!(f, "{n}"),
            StatsValue::Float(x) => write!(f, "{x}"),
            StatsValue::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// A string member is any `Display`, so it goes through `Display2Format`.
#[cfg(feature = "defmt")]
impl defmt::Format for StatsValue<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        match self {
            StatsValue::Str(s) => defmt::write!(f, "\"{}\"", defmt::Display2Format(s)),
            StatsValue::Uint(n) => defmt::write!(f, "{=u64}", n),
            StatsValue::Int(n) => defmt::write!(f, "{=i64}", n),
            StatsValue::Float(x) => defmt::write!(f, "{=f64}", x),
            StatsValue::Bool(b) => defmt::write!(f, "{=bool}", b),
        }
    }
}

impl<'r> StatsEntry<'r> {
    /// `type`.
    #[must_use]
    pub const fn type_name(&self) -> &'static str {
        match self {
            StatsEntry::PeerConnection(_) => "peer-connection",
            StatsEntry::Transport(_) => "transport",
            StatsEntry::CandidatePair(_) => "candidate-pair",
            StatsEntry::LocalCandidate(_) => "local-candidate",
            StatsEntry::RemoteCandidate(_) => "remote-candidate",
            StatsEntry::Certificate(_) => "certificate",
            StatsEntry::DataChannel(_) => "data-channel",
            StatsEntry::Codec(_) => "codec",
            StatsEntry::OutboundRtp(_) => "outbound-rtp",
            StatsEntry::RemoteInboundRtp(_) => "remote-inbound-rtp",
            StatsEntry::InboundRtp(_) => "inbound-rtp",
            StatsEntry::RemoteOutboundRtp(_) => "remote-outbound-rtp",
        }
    }

    /// `id`.
    #[must_use]
    pub const fn id(&self) -> StatsId<'r> {
        match self {
            StatsEntry::PeerConnection(_) => StatsId::PeerConnection,
            StatsEntry::Transport(_) => StatsId::Transport,
            StatsEntry::CandidatePair(e) => e.id,
            StatsEntry::LocalCandidate(e) | StatsEntry::RemoteCandidate(e) => e.id,
            StatsEntry::Certificate(e) => e.id,
            StatsEntry::DataChannel(e) => e.id,
            StatsEntry::Codec(e) => StatsId::Codec(e.payload_type),
            StatsEntry::OutboundRtp(e) => StatsId::OutboundRtp(e.ssrc),
            StatsEntry::RemoteInboundRtp(e) => StatsId::RemoteInboundRtp(e.ssrc),
            StatsEntry::InboundRtp(e) => StatsId::InboundRtp(e.ssrc),
            StatsEntry::RemoteOutboundRtp(e) => StatsId::RemoteOutboundRtp(e.ssrc),
        }
    }

    /// `timestamp`: milliseconds since the origin of the host's [`Instant`]s (the spec counts
    /// from the page's time origin; a Peer has no other clock), at the Peer's latest `now`;
    /// for `remote-inbound-rtp` and `remote-outbound-rtp`, when their RTCP report arrived.
    #[must_use]
    pub const fn timestamp(&self) -> f64 {
        match self {
            StatsEntry::PeerConnection(e) => e.timestamp,
            StatsEntry::Transport(e) => e.timestamp,
            StatsEntry::CandidatePair(e) => e.timestamp,
            StatsEntry::LocalCandidate(e) | StatsEntry::RemoteCandidate(e) => e.timestamp,
            StatsEntry::Certificate(e) => e.timestamp,
            StatsEntry::DataChannel(e) => e.timestamp,
            StatsEntry::Codec(e) => e.timestamp,
            StatsEntry::OutboundRtp(e) => e.timestamp,
            StatsEntry::RemoteInboundRtp(e) => e.timestamp,
            StatsEntry::InboundRtp(e) => e.timestamp,
            StatsEntry::RemoteOutboundRtp(e) => e.timestamp,
        }
    }

    /// Calls `member` with each member the entry has, named as the spec's dictionary names
    /// it, `id`, `timestamp` and `type` first; members without a value are left out. Stops at
    /// the first error and returns it.
    pub fn members(
        &self,
        member: &mut dyn FnMut(&'static str, StatsValue<'_>) -> fmt::Result,
    ) -> fmt::Result {
        use StatsValue::{Bool, Float, Str, Uint};
        let id = self.id();
        member("id", Str(&id))?;
        member("timestamp", Float(self.timestamp()))?;
        member("type", Str(&self.type_name()))?;
        match self {
            StatsEntry::PeerConnection(e) => {
                member("dataChannelsOpened", Uint(e.data_channels_opened))?;
                member("dataChannelsClosed", Uint(e.data_channels_closed))?;
            }
            StatsEntry::Transport(e) => {
                member("packetsSent", Uint(e.packets_sent))?;
                member("packetsReceived", Uint(e.packets_received))?;
                member("bytesSent", Uint(e.bytes_sent))?;
                member("bytesReceived", Uint(e.bytes_received))?;
                let role = match e.ice_role {
                    ice::Role::Controlling => "controlling",
                    ice::Role::Controlled => "controlled",
                };
                member("iceRole", Str(&role))?;
                member(
                    "iceLocalUsernameFragment",
                    Str(&e.ice_local_username_fragment),
                )?;
                member("dtlsState", Str(&e.dtls_state.as_str()))?;
                member("iceState", Str(&e.ice_state.as_str()))?;
                if let Some(pair) = &e.selected_candidate_pair_id {
                    member("selectedCandidatePairId", Str(pair))?;
                }
                member("localCertificateId", Str(&e.local_certificate_id))?;
                if let Some(cert) = &e.remote_certificate_id {
                    member("remoteCertificateId", Str(cert))?;
                }
                if let Some(v) = &e.tls_version {
                    member("tlsVersion", Str(v))?;
                }
                if let Some(c) = &e.dtls_cipher {
                    member("dtlsCipher", Str(c))?;
                }
                let role = match e.dtls_role {
                    Some(dtls::Role::Client) => "client",
                    Some(dtls::Role::Server) => "server",
                    None => "unknown",
                };
                member("dtlsRole", Str(&role))?;
                if let Some(c) = &e.srtp_cipher {
                    member("srtpCipher", Str(c))?;
                }
                member(
                    "selectedCandidatePairChanges",
                    Uint(e.selected_candidate_pair_changes),
                )?;
            }
            StatsEntry::CandidatePair(e) => {
                member("transportId", Str(&StatsId::Transport))?;
                member("localCandidateId", Str(&e.local_candidate_id))?;
                member("remoteCandidateId", Str(&e.remote_candidate_id))?;
                member("state", Str(&e.state.as_str()))?;
                member("nominated", Bool(e.nominated))?;
                if let Some(t) = &e.traffic {
                    member("packetsSent", Uint(t.packets_sent))?;
                    member("packetsReceived", Uint(t.packets_received))?;
                    member("bytesSent", Uint(t.bytes_sent))?;
                    member("bytesReceived", Uint(t.bytes_received))?;
                }
                member("totalRoundTripTime", Float(e.total_round_trip_time))?;
                if let Some(rtt) = e.current_round_trip_time {
                    member("currentRoundTripTime", Float(rtt))?;
                }
                member("requestsSent", Uint(e.requests_sent))?;
                member("responsesReceived", Uint(e.responses_received))?;
                member("consentRequestsSent", Uint(e.consent_requests_sent))?;
                member("requestsReceived", Uint(e.requests_received))?;
                member("responsesSent", Uint(e.responses_sent))?;
                if let Some(bps) = e.available_outgoing_bitrate {
                    member("availableOutgoingBitrate", Uint(bps))?;
                }
            }
            StatsEntry::LocalCandidate(e) | StatsEntry::RemoteCandidate(e) => {
                member("transportId", Str(&StatsId::Transport))?;
                member("address", Str(&e.address))?;
                member("port", Uint(u64::from(e.port)))?;
                let protocol = match e.protocol {
                    ice::Transport::Udp => "udp",
                    ice::Transport::Tcp => "tcp",
                };
                member("protocol", Str(&protocol))?;
                member("candidateType", Str(&e.candidate_type.as_str()))?;
                member("priority", Uint(u64::from(e.priority)))?;
                member("foundation", Str(&e.foundation))?;
                if let Some(r) = &e.related {
                    member("relatedAddress", Str(&r.ip()))?;
                    member("relatedPort", Uint(u64::from(r.port())))?;
                }
                if let Some(u) = &e.username_fragment {
                    member("usernameFragment", Str(u))?;
                }
                if let Some(t) = e.tcp_type {
                    let t = match t {
                        ice::TcpType::Active => "active",
                        ice::TcpType::Passive => "passive",
                        ice::TcpType::So => "so",
                    };
                    member("tcpType", Str(&t))?;
                }
            }
            StatsEntry::Certificate(e) => {
                member("fingerprint", Str(&Hex(e.fingerprint)))?;
                member("fingerprintAlgorithm", Str(&e.fingerprint_algorithm.name()))?;
                if let Some(der) = e.certificate_der {
                    member("base64Certificate", Str(&Base64(der)))?;
                }
            }
            StatsEntry::DataChannel(e) => {
                member("label", Str(&e.label))?;
                member("protocol", Str(&e.protocol))?;
                if let Some(stream) = e.data_channel_identifier {
                    member("dataChannelIdentifier", Uint(u64::from(stream)))?;
                }
                member("state", Str(&e.state.as_str()))?;
                member("messagesSent", Uint(e.counters.messages_sent))?;
                member("bytesSent", Uint(e.counters.bytes_sent))?;
                member("messagesReceived", Uint(e.counters.messages_received))?;
                member("bytesReceived", Uint(e.counters.bytes_received))?;
            }
            StatsEntry::Codec(e) => e.members(member)?,
            StatsEntry::OutboundRtp(e) => e.members(member)?,
            StatsEntry::RemoteInboundRtp(e) => e.members(member)?,
            StatsEntry::InboundRtp(e) => e.members(member)?,
            StatsEntry::RemoteOutboundRtp(e) => e.members(member)?,
        }
        Ok(())
    }

    /// Writes the entry as one JSON object.
    pub fn write_json(&self, w: &mut dyn fmt::Write) -> fmt::Result {
        w.write_char('{')?;
        let mut first = true;
        self.members(&mut |name, value| {
            if !first {
                w.write_char(',')?;
            }
            first = false;
            write!(w, "\"{name}\":")?;
            match value {
                StatsValue::Str(s) => {
                    w.write_char('"')?;
                    write!(JsonEscape(&mut *w), "{s}")?;
                    w.write_char('"')
                }
                StatsValue::Uint(n) => write!(w, "{n}"),
                StatsValue::Int(n) => write!(w, "{n}"),
                StatsValue::Float(x) if x.is_finite() => write!(w, "{x}"),
                StatsValue::Float(_) => w.write_str("null"),
                StatsValue::Bool(b) => write!(w, "{b}"),
            }
        })?;
        w.write_char('}')
    }
}

/// Counters the report needs that [`Stats`] does not carry.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReportCounters {
    /// Non-STUN traffic over the selected pair since it was selected.
    pub(super) selected: PairTraffic,
    /// Times the selected pair was set or lost.
    pub(super) selected_changes: u64,
}

impl ReportCounters {
    /// The selected pair changed: its traffic starts from zero.
    pub(super) fn selected_changed(&mut self) {
        self.selected = PairTraffic::default();
        self.selected_changes += 1;
    }

    pub(super) fn sent(&mut self, len: usize) {
        self.selected.packets_sent += 1;
        self.selected.bytes_sent += len as u64;
    }

    pub(super) fn received(&mut self, len: usize) {
        self.selected.packets_received += 1;
        self.selected.bytes_received += len as u64;
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
    /// The getStats report (`getStats()`): calls `visit` with each entry, named and shaped as
    /// the W3C webrtc-stats dictionaries (see [`StatsEntry`]): the peer connection, the
    /// transport, every candidate pair of the ICE agent, the local and remote candidates, the
    /// certificates, every data channel, then the codecs in use, each sending transceiver's
    /// `outbound-rtp` (and `remote-inbound-rtp` once the peer reported on it) and each incoming
    /// stream's `inbound-rtp` (and `remote-outbound-rtp` once the peer sent a sender report).
    /// Nothing is allocated; entries borrow the Peer.
    ///
    /// ```
    /// # use peerless::{Config, Peer, StatsEntry, Storage};
    /// # use peerless_base::{Drbg, Instant};
    /// # let mut rng = Drbg::from_seed(&[1; 32], b"doc");
    /// # let cert = peerless_dtls::Certificate::generate(&mut rng,
    /// #     peerless_dtls::Validity::days_from(1_700_000_000, 30))?;
    /// # let mut storage = Box::new(Storage::<65536, 65536>::new());
    /// # let (send, recv) = storage.areas();
    /// let peer: Peer<&mut [u8]> = Peer::new(Config::new(cert, [2; 32]), Instant::ZERO, send, recv);
    /// let mut types = Vec::new();
    /// peer.stats_report(|entry| types.push(entry.type_name()));
    /// assert_eq!(types, ["peer-connection", "transport", "certificate"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stats_report(&self, mut visit: impl FnMut(StatsEntry<'_>)) {
        let timestamp = self.now.as_micros() as f64 / 1000.0;
        let stats = self.stats();
        visit(StatsEntry::PeerConnection(PeerConnectionStats {
            timestamp,
            data_channels_opened: stats.channels_opened,
            data_channels_closed: stats.channels_closed,
        }));

        let sha256 = dtls::HashAlgorithm::Sha256;
        let local_fp = self.config.certificate.fingerprint(sha256);
        let run = self.transport.running();
        let remote_fp = run.and_then(|_| self.dtls.peer_fingerprint(sha256));
        let ours = &self.ice.local_credentials().ufrag;
        let pair_id = |p: &ice::PairView<'_>| {
            StatsId::CandidatePair(candidate_key(true, p.local), candidate_key(false, p.remote))
        };
        let connected = stats.dtls_cipher.is_some();
        visit(StatsEntry::Transport(TransportStats {
            timestamp,
            packets_sent: stats.packets_sent,
            packets_received: stats.packets_received,
            bytes_sent: stats.bytes_sent,
            bytes_received: stats.bytes_received,
            ice_role: self.ice.role(),
            ice_local_username_fragment: ours.as_str(),
            dtls_state: self.dtls_transport_state(),
            ice_state: self.ice_state,
            selected_candidate_pair_id: self.ice.pairs().find(|p| p.selected).map(|p| pair_id(&p)),
            local_certificate_id: StatsId::Certificate(local_fp.digest()),
            remote_certificate_id: remote_fp.as_ref().map(|f| StatsId::Certificate(f.digest())),
            tls_version: connected.then_some("FEFD"),
            dtls_cipher: stats.dtls_cipher.and_then(cipher_name),
            dtls_role: run.map(|_| self.dtls.role()),
            srtp_cipher: stats.srtp_profile.map(srtp::Profile::name),
            selected_candidate_pair_changes: self.report.selected_changes,
        }));

        for p in self.ice.pairs() {
            visit(StatsEntry::CandidatePair(CandidatePairStats {
                timestamp,
                id: pair_id(&p),
                local_candidate_id: StatsId::Candidate(candidate_key(true, p.local)),
                remote_candidate_id: StatsId::Candidate(candidate_key(false, p.remote)),
                state: p.state,
                nominated: p.nominated,
                traffic: p.selected.then_some(self.report.selected),
                current_round_trip_time: p.current_round_trip_time.map(|d| d.as_secs_f64()),
                total_round_trip_time: p.total_round_trip_time.as_secs_f64(),
                requests_sent: p.requests_sent,
                responses_received: p.responses_received,
                consent_requests_sent: p.consent_requests_sent,
                requests_received: p.requests_received,
                responses_sent: p.responses_sent,
                available_outgoing_bitrate: self
                    .bitrate_estimate()
                    .filter(|_| p.selected && self.media.sends()),
            }));
        }
        let candidate = |local, c| candidate_stats(timestamp, local, c);
        for c in self.ice.local_candidates() {
            visit(StatsEntry::LocalCandidate(CandidateStats {
                username_fragment: Some(ours.as_str()),
                ..candidate(true, c)
            }));
        }
        for c in self.ice.remote_candidates() {
            let ufrag = c.ufrag.as_ref().map(|u| u.as_str());
            let theirs = Some(self.remote_ufrag.as_str()).filter(|u| !u.is_empty());
            visit(StatsEntry::RemoteCandidate(CandidateStats {
                username_fragment: ufrag.or(theirs),
                ..candidate(false, c)
            }));
        }

        visit(StatsEntry::Certificate(CertificateStats {
            timestamp,
            id: StatsId::Certificate(local_fp.digest()),
            fingerprint: local_fp.digest(),
            fingerprint_algorithm: sha256,
            certificate_der: Some(self.config.certificate.der()),
        }));
        if let Some(fp) = &remote_fp {
            visit(StatsEntry::Certificate(CertificateStats {
                timestamp,
                id: StatsId::Certificate(fp.digest()),
                fingerprint: fp.digest(),
                fingerprint_algorithm: sha256,
                certificate_der: None,
            }));
        }

        for (slot, c) in self.channels.iter().enumerate() {
            if c.state == ChannelState::Free {
                continue;
            }
            visit(StatsEntry::DataChannel(DataChannelStats {
                timestamp,
                id: StatsId::DataChannel(slot as u16),
                label: c.label.as_str(),
                protocol: c.protocol.as_str(),
                data_channel_identifier: c.stream,
                state: c.state.ready_state(),
                counters: c.stats,
            }));
        }

        self.rtp_report(timestamp, &mut visit);
    }

    /// The getStats report as JSON (an array of the entries of [`Peer::stats_report`], each
    /// an object with the spec's member names), written into `w` without allocating.
    ///
    /// ```
    /// # use peerless::{Config, Peer, Storage};
    /// # use peerless_base::{Drbg, Instant};
    /// # let mut rng = Drbg::from_seed(&[1; 32], b"doc");
    /// # let cert = peerless_dtls::Certificate::generate(&mut rng,
    /// #     peerless_dtls::Validity::days_from(1_700_000_000, 30))?;
    /// # let mut storage = Box::new(Storage::<65536, 65536>::new());
    /// # let (send, recv) = storage.areas();
    /// let peer: Peer<&mut [u8]> = Peer::new(Config::new(cert, [2; 32]), Instant::ZERO, send, recv);
    /// let mut json = String::new();
    /// peer.write_stats_json(&mut json)?;
    /// assert!(json.starts_with(r#"[{"id":"P","timestamp":0,"type":"peer-connection","#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_stats_json(&self, w: &mut impl fmt::Write) -> fmt::Result {
        w.write_char('[')?;
        let mut result = Ok(());
        let mut first = true;
        self.stats_report(|entry| {
            if result.is_ok() {
                result = if first { Ok(()) } else { w.write_char(',') }
                    .and_then(|()| entry.write_json(w));
                first = false;
            }
        });
        result?;
        w.write_char(']')
    }
}

fn candidate_stats(timestamp: f64, local: bool, c: &ice::Candidate) -> CandidateStats<'_> {
    CandidateStats {
        timestamp,
        id: StatsId::Candidate(candidate_key(local, c)),
        address: c.address.ip(),
        port: c.address.port(),
        protocol: c.transport,
        candidate_type: c.kind,
        priority: c.priority,
        foundation: c.foundation.as_str(),
        related: c.related,
        username_fragment: None,
        tcp_type: c.tcp_type,
    }
}

/// The IANA name of a cipher suite the DTLS endpoint negotiates.
fn cipher_name(suite: dtls::CipherSuite) -> Option<&'static str> {
    Some(match suite {
        dtls::CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256 => {
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        }
        dtls::CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384 => {
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
        }
        dtls::CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256 => {
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        dtls::CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256 => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        dtls::CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        dtls::CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256 => {
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        _ => return None,
    })
}

/// A candidate's id hash (FNV-1a): what the candidate is, so the same candidate keeps its id
/// from one report to the next, and a pair's id follows from its candidates'.
fn candidate_key(local: bool, c: &ice::Candidate) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u32::from(b);
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    eat(if local { b"L" } else { b"R" });
    eat(c.kind.as_str().as_bytes());
    eat(&[u8::from(c.transport == ice::Transport::Tcp)]);
    match c.address.ip() {
        IpAddr::V4(ip) => eat(&ip.octets()),
        IpAddr::V6(ip) => eat(&ip.octets()),
    }
    eat(&c.address.port().to_be_bytes());
    eat(c.foundation.as_str().as_bytes());
    h
}

/// Bytes as RFC 4572 writes a fingerprint: upper-case hex pairs joined by colons.
struct Hex<'b>(&'b [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// Bytes in base64 (RFC 4648 §4, padded), written as it goes.
struct Base64<'b>(&'b [u8]);

impl fmt::Display for Base64<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let digit = |n: u32| char::from(ALPHABET.get((n & 63) as usize).copied().unwrap_or(b'='));
        for chunk in self.0.chunks(3) {
            let [a, b, c] = [0, 1, 2].map(|i| chunk.get(i).copied().map_or(0, u32::from));
            let n = (a << 16) | (b << 8) | c;
            let mut out = [digit(n >> 18), digit(n >> 12), digit(n >> 6), digit(n)];
            // One input byte makes two digits, two make three; the rest is padding.
            for pad in out.iter_mut().skip(chunk.len() + 1) {
                *pad = '=';
            }
            for ch in out {
                f.write_char(ch)?;
            }
        }
        Ok(())
    }
}

/// Escapes what it is given as a JSON string body (RFC 8259 §7): quote, backslash and the
/// control characters. Labels and protocols come from the peer, so nothing is trusted.
struct JsonEscape<'w>(&'w mut dyn fmt::Write);

impl fmt::Write for JsonEscape<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for ch in s.chars() {
            match ch {
                '"' => self.0.write_str("\\\"")?,
                '\\' => self.0.write_str("\\\\")?,
                '\n' => self.0.write_str("\\n")?,
                '\r' => self.0.write_str("\\r")?,
                '\t' => self.0.write_str("\\t")?,
                c if u32::from(c) < 0x20 => write!(self.0, "\\u{:04x}", u32::from(c))?,
                c => self.0.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Base64, Hex, JsonEscape};
    use core::fmt::Write;

    /// Formats into a fixed buffer (the crate has no `alloc`).
    fn show(x: impl core::fmt::Display) -> crate::Text<256> {
        let mut t = crate::Text::new();
        write!(t, "{x}").unwrap_or_default();
        t
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
            (b"foobar", "Zm9vYmFy"),
            (&[0xFB, 0xFF, 0xBF], "+/+/"),
        ] {
            assert_eq!(show(Base64(input)).as_str(), want, "{input:?}");
        }
    }

    #[test]
    fn hex_is_upper_case_pairs_with_colons() {
        assert_eq!(show(Hex(&[0xAB, 0x01, 0xFF])).as_str(), "AB:01:FF");
        assert_eq!(show(Hex(&[])).as_str(), "");
    }

    #[test]
    fn json_escape_covers_quotes_backslashes_and_control_characters() {
        let mut t = crate::Text::<64>::new();
        write!(JsonEscape(&mut t), "a\"b\\c\nd\u{1}e\u{7f}é").unwrap_or_default();
        assert_eq!(t.as_str(), "a\\\"b\\\\c\\nd\\u0001e\u{7f}é");
    }
}
