//! What a host sees: descriptions, states, events, errors and counters, as the browser names
//! them.

use core::fmt;

use super::*;

/// `RTCSdpType`: which step of the offer/answer exchange a description is (RFC 8829 §4.1.8).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer: applied like an answer (the transport starts) but the exchange
    /// stays open for the final one.
    Pranswer,
    /// The final answer.
    Answer,
    /// Cancels the offer being negotiated (ours with `set_local_description`, the peer's
    /// with `set_remote_description`): back to stable with what that offer changed undone.
    /// The text passed with it is ignored.
    Rollback,
}

impl SdpType {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

/// `RTCSignalingState` (RFC 8829 §3.2, W3C webrtc §4.3.1).
///
/// ```text
///            set_local(offer)                         set_remote(offer)
///   stable ------------------> have-local-offer       stable -------------------> have-remote-offer
///     ^  <-- set_remote(answer) ---|  |                 ^  <-- set_local(answer) -----|  |
///     |  <-- set_local(rollback) --+  | set_remote      |  <-- set_remote(rollback) --+  | set_local
///     |                               v (pranswer)      |                                v (pranswer)
///     +---- set_remote(answer) -- have-remote-pranswer  +---- set_local(answer) --- have-local-pranswer
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalingState {
    /// No offer outstanding.
    Stable,
    /// We applied our offer; waiting for the answer.
    HaveLocalOffer,
    /// We applied the remote offer; our answer is due.
    HaveRemoteOffer,
    /// We applied the remote offer and our provisional answer; the final answer is due.
    HaveLocalPranswer,
    /// We applied our offer and the peer's provisional answer; its final answer is due.
    HaveRemotePranswer,
    /// [`Peer::close`] was called.
    Closed,
}

impl SignalingState {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPranswer => "have-local-pranswer",
            SignalingState::HaveRemotePranswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        }
    }
}

/// `RTCIceGatheringState`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IceGatheringState {
    /// No host socket yet.
    New,
    /// Candidates are being found (server-reflexive ones wait for their STUN server).
    Gathering,
    /// Every candidate has been reported, until a new socket or an ICE restart.
    Complete,
}

impl IceGatheringState {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            IceGatheringState::New => "new",
            IceGatheringState::Gathering => "gathering",
            IceGatheringState::Complete => "complete",
        }
    }
}

/// Which side's description a signaling transition applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Applied {
    /// `setLocalDescription`.
    Local,
    /// `setRemoteDescription`.
    Remote,
}

impl SignalingState {
    /// The state after applying a `kind` description from one side (JSEP, RFC 8829 §4.1.8 to
    /// §4.1.10), or `None` where JSEP does not allow it. One table for both sides: each is the
    /// other's mirror. Rollback is handled by the caller.
    pub(super) fn after(self, kind: SdpType, side: Applied) -> Option<SignalingState> {
        use SignalingState as S;
        let (own_offer, their_offer, own_pranswer) = match side {
            Applied::Local => (S::HaveLocalOffer, S::HaveRemoteOffer, S::HaveLocalPranswer),
            Applied::Remote => (S::HaveRemoteOffer, S::HaveLocalOffer, S::HaveRemotePranswer),
        };
        match kind {
            SdpType::Offer if self == S::Stable || self == own_offer => Some(own_offer),
            SdpType::Pranswer if self == their_offer || self == own_pranswer => Some(own_pranswer),
            SdpType::Answer if self == their_offer || self == own_pranswer => Some(S::Stable),
            _ => None,
        }
    }
}

/// `RTCPeerConnectionState`: ICE and DTLS together, as the browser reports them.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionState {
    /// Nothing started.
    New,
    /// ICE is checking or DTLS is handshaking.
    Connecting,
    /// ICE has a pair and DTLS is connected.
    Connected,
    /// ICE consent is missing for now.
    Disconnected,
    /// ICE failed (or consent was lost) or DTLS failed (such as a fingerprint mismatch).
    Failed,
    /// [`Peer::close`] was called.
    Closed,
}

impl ConnectionState {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ConnectionState::New => "new",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Failed => "failed",
            ConnectionState::Closed => "closed",
        }
    }
}

/// A data channel of this Peer (an index into its channel table, not the SCTP stream id,
/// which is known only once the DTLS role is: see [`Peer::stream_id`]).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub u16);

/// `RTCDataChannelInit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChannelInit<'a> {
    /// Ordered, reliability and negotiated id.
    pub options: ChannelOptions,
    /// The sub-protocol.
    pub protocol: &'a str,
}

/// What the Peer reports. Drain with [`Peer::poll_event`] until `None`.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event<'e> {
    /// A local candidate to signal to the peer (`onicecandidate`, an `RTCIceCandidate`):
    /// send `a=` + the candidate's text with the mid, m-line index and ufrag it belongs to.
    LocalCandidate {
        /// The candidate as ICE knows it (its real address; for logs and the host's own use).
        candidate: ice::Candidate,
        /// What to signal: its `Display` is the `candidate:...` text, with the host address
        /// hidden behind a `.local` name when [`Config::obfuscate_host_addresses`] is on.
        text: SignalledCandidate<'e>,
        /// The media section it belongs to (`sdpMid`): the data channel's bundle.
        sdp_mid: &'e str,
        /// That section's index in the description (`sdpMLineIndex`).
        sdp_mline_index: u16,
        /// Our ICE ufrag (`usernameFragment`), which tells one ICE generation from the next.
        username_fragment: &'e str,
    },
    /// Every local candidate has been reported (`onicecandidate` with `null`).
    GatheringComplete,
    /// `iceGatheringState` changed (`onicegatheringstatechange`).
    IceGatheringState(IceGatheringState),
    /// A STUN server did not answer, or a TURN server did not answer or refused the
    /// allocation (`onicecandidateerror`): no server-reflexive or relayed candidate comes from
    /// this socket and server.
    IceCandidateError {
        /// The host socket the request left from (`address` and `port`).
        address: SocketAddr,
        /// The STUN or TURN server.
        server: SocketAddr,
        /// `url`: the TURN server's URL as configured (empty for a STUN server, which the
        /// configuration names by address).
        url: &'e str,
        /// `errorCode`: 701, the browser's code for a server that did not answer, or the TURN
        /// server's error code (401 wrong credentials, 486 quota, ...).
        error_code: u16,
        /// `errorText`.
        error_text: &'e str,
    },
    /// `signalingState` changed (`onsignalingstatechange`).
    SignalingState(SignalingState),
    /// Something needs a new offer (`onnegotiationneeded`): a data channel while the current
    /// local description has no data section, or an ICE restart. Raised only in stable, once
    /// per need (again only after a negotiation that did not settle it).
    NegotiationNeeded,
    /// `iceConnectionState` changed.
    IceState(IceState),
    /// `connectionState` changed.
    ConnectionState(ConnectionState),
    /// ICE selected this pair: (our socket, the peer's address).
    SelectedPair {
        /// Our socket address (the candidate's base).
        local: SocketAddr,
        /// The peer's address.
        remote: SocketAddr,
    },
    /// The SCTP association is up (`RTCSctpTransport` state `connected`).
    SctpConnected,
    /// The SCTP association ended (every channel is closed with it).
    SctpClosed(sctp::CloseReason),
    /// A channel opened: ours once the association is up, or the remote's (`ondatachannel`).
    ChannelOpen {
        /// The channel.
        channel: ChannelId,
        /// Its label.
        label: &'e str,
        /// Its sub-protocol.
        protocol: &'e str,
        /// Its options.
        options: ChannelOptions,
        /// Opened by the remote.
        remote: bool,
    },
    /// A message (`onmessage`), borrowed from the SCTP storage until the next call.
    Message {
        /// The channel.
        channel: ChannelId,
        /// Text or binary.
        kind: MessageKind,
        /// The message.
        data: &'e [u8],
    },
    /// The channel's buffered amount fell to its low threshold (`bufferedamountlow`).
    BufferedAmountLow(ChannelId),
    /// The peer started closing the channel (`onclosing`): its `ready_state` is now
    /// `Closing`, and `ChannelClosed` follows once both directions are reset. Not raised for
    /// a close this side started (the browser raises none either; the state is `Closing` all
    /// the same).
    ChannelClosing(ChannelId),
    /// The channel closed (`onclose`).
    ChannelClosed(ChannelId),
    /// The association failed under the channel (`onerror` with `RTCError` detail
    /// `sctp-failure`); its `ChannelClosed` follows. A close the application asked for is no
    /// error.
    ChannelError {
        /// The channel.
        channel: ChannelId,
        /// How the association ended.
        reason: sctp::CloseReason,
    },
    /// This many candidates of the last remote description did not fit the ICE agent's
    /// remote candidate table (counted in [`Stats::remote_candidates_refused`] too). The
    /// table keeps a mix of candidate types (see [`ice::Agent`]); the Peer's
    /// `REMOTE_CANDIDATES` parameter sizes it.
    RemoteCandidatesRefused(u32),
    /// SCTP reported a stream the Peer has no channel for: a remote channel that did not fit
    /// the channel table or whose label or protocol is longer than [`MAX_LABEL`], or traffic on
    /// such a stream. The stream is reset, so the remote sees its channel close (RFC 8831
    /// §6.7); counted in [`Stats::refused_channels`].
    ChannelRefused {
        /// The SCTP stream id.
        stream: u16,
    },
    /// The peer started sending on a transceiver (`ontrack`): a new remote track, or one
    /// whose direction now includes sending to us. Its frames come as [`Event::MediaData`].
    Track {
        /// The transceiver.
        transceiver: TransceiverId,
        /// Its mid.
        mid: &'e str,
        /// Audio or video.
        kind: MediaKind,
        /// The peer's media stream id (`a=msid`), if it gave one.
        stream_id: Option<&'e str>,
    },
    /// A frame, in order, borrowed from the stream's area until the next call.
    MediaData(MediaData<'e>),
    /// An RTP packet, unprotected, on a transceiver in raw mode
    /// ([`Peer::set_raw_receive`]), borrowed until the next call.
    Rtp {
        /// The transceiver's mid.
        mid: &'e str,
        /// The simulcast layer's rid, if any.
        rid: Option<&'e str>,
        /// The whole packet, header and payload.
        packet: &'e [u8],
    },
    /// The peer asks for a keyframe (PLI or FIR) on what we send: the host's encoder should
    /// make one.
    KeyframeRequest {
        /// The transceiver's mid.
        mid: &'e str,
        /// The simulcast layer asked about: always `None` (the Peer sends one layer).
        rid: Option<&'e str>,
        /// PLI or FIR.
        kind: KeyframeKind,
    },
    /// What the host's encoders together should aim at moved by more than 5 % (the first
    /// once media starts): the bandwidth estimate ([`Peer::bitrate_estimate`]), less the
    /// data channels' share (20 %) while a transfer waits beside the media.
    BitrateEstimate {
        /// Bit/s of RTP as it leaves (headers and the SRTP tag included).
        target_bps: u64,
    },
    /// A DTMF tone started (`ontonechange` with the tone), or the tone buffer ran out
    /// (`None`, the browser's empty string).
    ToneChange {
        /// The transceiver's mid.
        mid: &'e str,
        /// The tone.
        tone: Option<char>,
    },
    /// The peer sent a DTMF event (RFC 4733), reported once when it ends.
    Dtmf {
        /// The transceiver's mid.
        mid: &'e str,
        /// The key (`0`-`9`, `*`, `#`, `A`-`D`), or `None` for another event code.
        tone: Option<char>,
        /// The event code.
        code: u8,
        /// How long it lasted.
        duration: core::time::Duration,
    },
    /// A media stream found no lent area of its kind and use ([`Peer::lend_media_area`]):
    /// its packets are dropped (and counted) until one is lent.
    MediaAreaNeeded {
        /// The transceiver's mid.
        mid: &'e str,
        /// Audio or video.
        kind: MediaKind,
        /// Sending or receiving.
        use_: AreaUse,
    },
}

/// Why a description was refused. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SdpError {
    /// The text does not parse.
    Parse(sdp::ParseError),
    /// The description has no usable data channel section (or no ICE credentials in it).
    NoDataSection,
    /// No fingerprint with a hash we can check.
    NoFingerprint,
    /// Bad ICE credentials.
    BadCredentials,
    /// An answer whose `a=setup` is not `active` or `passive`, or an offer without `actpass`
    /// that leaves no role for us.
    BadSetup,
    /// Not allowed in this signaling state (an answer without an offer, say).
    WrongState,
    /// A remote offer arrived while our own offer is outstanding (glare) and this Peer is not
    /// [`Config::polite`]: nothing changed; the perfect-negotiation host ignores the offer
    /// (the polite side rolls its own back and answers ours).
    OfferCollision,
    /// The description is larger than the Peer keeps.
    TooLarge,
    /// The answer does not fit our offer (RFC 3264 §6, RFC 8843 §7.3).
    Answer(jsep::AnswerError),
    /// Writing the description failed (buffer too small: this many bytes needed).
    BufferTooSmall(usize),
    /// The JSEP rules refused.
    Jsep(jsep::JsepError),
    /// The Peer is closed.
    Closed,
}

/// Why a candidate was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CandidateError {
    /// The ICE agent refused it.
    Ice(ice::AddCandidateError),
    /// Too many host sockets.
    TooManyHosts,
    /// The Peer is closed.
    Closed,
}

/// Why a data channel command was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ChannelError {
    /// Every channel slot is in use.
    TooManyChannels,
    /// The label or sub-protocol is too long.
    LabelTooLong,
    /// SCTP refused it.
    Sctp(sctp::ChannelError),
    /// No such channel.
    UnknownChannel,
    /// The Peer is closed.
    Closed,
}

/// Why [`Peer::send`] refused a message. Nothing was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SendError {
    /// No such channel.
    UnknownChannel,
    /// The channel is not open (yet, or any more).
    NotOpen,
    /// SCTP refused: too large, buffer full (wait for `BufferedAmountLow`), not connected.
    Sctp(sctp::SendError),
}

/// Per-channel counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ChannelStats {
    /// Messages sent.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// Message bytes sent.
    pub bytes_sent: u64,
    /// Message bytes received.
    pub bytes_received: u64,
}

/// `getStats()`: a plain struct, no allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams handed to `handle_packet`.
    pub packets_received: u64,
    /// Their bytes.
    pub bytes_received: u64,
    /// Datagrams returned by `poll_transmit`.
    pub packets_sent: u64,
    /// Their bytes.
    pub bytes_sent: u64,
    /// The selected pair (our socket, the peer's address).
    pub selected_pair: Option<(SocketAddr, SocketAddr)>,
    /// The round-trip time of the last answered ICE check or consent request on the selected
    /// pair.
    pub stun_rtt: Option<core::time::Duration>,
    /// The negotiated DTLS cipher suite.
    pub dtls_cipher: Option<dtls::CipherSuite>,
    /// The negotiated SRTP profile.
    pub srtp_profile: Option<srtp::Profile>,
    /// ICE counters.
    pub ice: ice::Stats,
    /// DTLS counters.
    pub dtls: dtls::Stats,
    /// SCTP counters and congestion state (cwnd, rwnd, RTO).
    pub sctp: sctp::Stats,
    /// Data channels opened (both sides).
    pub channels_opened: u64,
    /// Data channels closed.
    pub channels_closed: u64,
    /// Messages sent on all channels.
    pub messages_sent: u64,
    /// Messages received on all channels.
    pub messages_received: u64,
    /// SRTP/SRTCP packets unprotected.
    pub srtp_received: u64,
    /// Dropped: a first byte no WebRTC protocol uses (RFC 7983), or ZRTP/TURN channel data.
    pub dropped_unknown_protocol: u64,
    /// Dropped: early DTLS that did not fit the early stash.
    pub dropped_early_dtls: u64,
    /// Dropped: DTLS from an address that is not the selected pair's nor a known candidate.
    pub dropped_dtls_unknown_source: u64,
    /// Dropped: DTLS after DTLS failed (an alert, a fingerprint mismatch, the DTLS timeout).
    pub dropped_dtls_after_failure: u64,
    /// Dropped: SRTP/SRTCP before keys, or failing authentication or replay checks.
    pub dropped_srtp: u64,
    /// RTP or RTCP we could not protect (a packet too large for the caller's buffer).
    pub dropped_srtp_protect: u64,
    /// Dropped: RTP for which no lent area was free (see [`Event::MediaAreaNeeded`]).
    pub dropped_media_no_area: u64,
    /// Dropped: RTP that matched no receiving transceiver, or RTCP about no stream of ours.
    pub dropped_media_unrouted: u64,
    /// Dropped: RTP or RTCP that did not parse after unprotecting.
    pub dropped_media_malformed: u64,
    /// Dropped unread: SRTP or SRTCP at a Peer without transceivers (`TRANSCEIVERS == 0`,
    /// such as [`crate::SmallPeer`]), which makes no SRTP keys and links no media code.
    pub dropped_media_no_transceivers: u64,
    /// Dropped: a raw packet ([`Event::Rtp`]) arrived before the previous one was handed out
    /// (the host did not drain events after `handle_packet`).
    pub dropped_media_undrained: u64,
    /// Dropped: an event did not fit the Peer's event queue. Never happens (each kind is
    /// coalesced first); a tripwire the tests assert is zero.
    pub dropped_events: u64,
    /// Events that took the place of a queued one of the same kind because the host had not
    /// drained (the latest state replaces the one before it).
    pub coalesced_events: u64,
    /// Remote data channels refused (see [`Event::ChannelRefused`]).
    pub refused_channels: u64,
    /// Remote candidates (signalled or in a description) the ICE agent had no room for.
    pub remote_candidates_refused: u64,
    /// Remote candidates in a description that ICE cannot use (TCP, another component, a
    /// stale generation, unparsable), skipped as browsers skip them.
    pub remote_candidates_unusable: u64,
    /// Remote `.local` candidates kept while their name is resolved (mDNS).
    pub mdns_queried: u64,
    /// Of those, resolved and handed to ICE.
    pub mdns_resolved: u64,
    /// Of those, dropped because no mDNS answer came (3 queries over 5 s).
    pub mdns_failed: u64,
    /// Host addresses left unhidden because the table of published names was full
    /// ([`Config::obfuscate_host_addresses`]).
    pub mdns_publish_full: u64,
    /// Answers we sent for our published names.
    pub mdns_answered: u64,
}

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(e) => write!(f, "the description does not parse: {e:?}"),
            Self::NoDataSection => f.write_str("no usable data channel section"),
            Self::NoFingerprint => f.write_str("no certificate fingerprint with a known hash"),
            Self::BadCredentials => f.write_str("bad ICE credentials"),
            Self::BadSetup => f.write_str("no DTLS role can be taken from a=setup"),
            Self::WrongState => f.write_str("not allowed in this signaling state"),
            Self::OfferCollision => {
                f.write_str("a remote offer collided with ours and this Peer is not polite")
            }
            Self::TooLarge => f.write_str("the description is larger than the Peer keeps"),
            Self::Answer(e) => write!(f, "the answer does not fit our offer: {e}"),
            Self::BufferTooSmall(n) => write!(f, "buffer too small: {n} bytes needed"),
            Self::Jsep(e) => write!(f, "JSEP refused: {e}"),
            Self::Closed => f.write_str("the Peer is closed"),
        }
    }
}

impl core::error::Error for SdpError {}

impl fmt::Display for CandidateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ice(e) => write!(f, "the ICE agent refused the candidate: {e:?}"),
            Self::TooManyHosts => write!(f, "more than {MAX_HOSTS} host sockets"),
            Self::Closed => f.write_str("the Peer is closed"),
        }
    }
}

impl core::error::Error for CandidateError {}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyChannels => f.write_str("every data channel slot is in use"),
            Self::LabelTooLong => write!(f, "label or protocol longer than {MAX_LABEL} bytes"),
            Self::Sctp(e) => write!(f, "SCTP refused the channel: {e:?}"),
            Self::UnknownChannel => f.write_str("no such data channel"),
            Self::Closed => f.write_str("the Peer is closed"),
        }
    }
}

impl core::error::Error for ChannelError {}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownChannel => f.write_str("no such data channel"),
            Self::NotOpen => f.write_str("the data channel is not open"),
            Self::Sctp(e) => write!(f, "SCTP refused the message: {e:?}"),
        }
    }
}

impl core::error::Error for SendError {}
