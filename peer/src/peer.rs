//! The Peer: ICE + DTLS + SCTP (+ SRTP keys) behind one set of verbs, negotiated with JSEP.
//!
//! ```text
//!   host sockets --add_local_candidate--> ICE agent --Event::LocalCandidate--> signalling
//!   create_offer / create_answer --> SDP text --> set_local_description
//!   set_remote_description(offer|answer) --> ICE credentials + candidates, fingerprint,
//!                                            a=setup (our DTLS role), sctp-port, max size
//!
//!   datagram --handle_packet--> demux (RFC 7983)
//!       [0..3]   STUN  --> ICE agent (checks, consent) --> selected pair
//!       [20..63] DTLS  --> (no role yet: kept in the early stash, replayed later)
//!                          DTLS endpoint --ApplicationData--> SCTP association
//!                                            --DCEP/DATA--> Event::ChannelOpen / Message
//!       [128..191] SRTP/SRTCP --> unprotected in place with the DTLS-SRTP keys (counted)
//!
//!   poll_transmit: ICE first (checks, responses), then DTLS records over the selected pair;
//!                  when DTLS has nothing queued, one SCTP packet is sealed into a record.
//!
//!   connectionState: new -> connecting (ICE checking or DTLS handshaking)
//!                        -> connected (ICE connected/completed and DTLS connected)
//!                        -> disconnected (consent missing) -> failed (consent lost,
//!                           ICE failed, DTLS failed such as a fingerprint mismatch)
//! ```

use core::fmt::Write as _;
use core::net::SocketAddr;
use core::ops::Range;

use peerless_base::{BufferTooSmall, Drbg, Instant, SEED_LEN, Transmit, debug};
use peerless_dtls as dtls;
use peerless_ice as ice;
use peerless_sctp as sctp;
use peerless_sdp as sdp;
use peerless_srtp as srtp;
use sdp::attr::{HashFunction, Setup};
use sdp::{Session, jsep};

use heapless::Deque;

use crate::demux::{self, Protocol};
use crate::text::Text;

pub use ice::IceState;
pub use sctp::{ChannelOptions, Reliability};

/// Default DTLS buffer size (reassembly and flight, each): a fragmented browser ClientHello
/// with post-quantum key shares fits. Also the size of the early DTLS stash.
pub const DTLS_BUFFER: usize = 4096;
/// Default largest SDP we keep of our own (the previous description, for renegotiation).
pub const LOCAL_SDP_CAPACITY: usize = 2048;
/// Default largest remote SDP we keep (an offer is answered later, when the host asks). A
/// browser's audio + video + data offer is 4.5 KB (Firefox) to 6.5 KB (Chromium) with one host
/// candidate; each more candidate adds about 100 bytes per bundled section, and newer codecs
/// (H.265, AV1 profiles) a few hundred: 16 KiB leaves room for a multi-homed Chromium with
/// server-reflexive and relay candidates.
pub const REMOTE_SDP_CAPACITY: usize = 16 * 1024;
/// Default room for remote candidates: what a multi-homed browser signals (host and
/// server-reflexive per interface, relayed per TURN server) plus those learned from its checks.
pub const REMOTE_CANDIDATE_CAPACITY: usize = 16;
/// The ICE agent a Peer runs: the ice crate's default tables but for the remote candidates.
type Agent<const REMOTE_CANDIDATES: usize> = ice::Agent<8, 32, 16, REMOTE_CANDIDATES>;
/// Host sockets (local host candidates) the Peer remembers.
pub const MAX_HOSTS: usize = 4;
/// Early DTLS datagrams kept before our DTLS role is known.
pub const EARLY_DTLS_DATAGRAMS: usize = 8;
/// Longest label (and, separately, sub-protocol) of a data channel, in bytes.
pub const MAX_LABEL: usize = 64;
/// Connection-level events waiting for `poll_event`. Channel events are not queued here (each
/// channel's slot remembers what it has to announce), and each kind here is coalesced when the
/// queue is full, so this bound is never reached by a host that drains: see [`Peer::push`].
const EVENT_QUEUE: usize = 32;
/// The largest SCTP packet handed over by DTLS that the Peer copies for SCTP.
const SCTP_SCRATCH: usize = 1500;
/// As DTLS server, how long to wait for the client's INIT before sending ours: several
/// round trips, so a client that initiates (every WebRTC stack does) is never collided with.
const SCTP_PASSIVE_WAIT: core::time::Duration = core::time::Duration::from_secs(3);
/// DTLS record overhead budget (header 13 + explicit nonce 8 + tag 16, rounded up).
const DTLS_OVERHEAD: usize = 48;

/// How a Peer runs: the browser's `RTCConfiguration` plus the sizes a firmware picks.
#[derive(Clone, Debug)]
pub struct Config {
    /// The host's 32 random bytes (a TRNG on an MCU, the OS on a server). Every machine's
    /// randomness is derived from them: the same seed and inputs give the same bytes out.
    pub seed: [u8; SEED_LEN],
    /// Our DTLS certificate (`RTCCertificate`); its fingerprint goes into our SDP.
    pub certificate: dtls::Certificate,
    /// STUN servers for server-reflexive candidates (`iceServers`; empty: host only).
    pub stun_servers: [Option<SocketAddr>; ice::MAX_STUN_SERVERS],
    /// The `a=setup` we answer an `actpass` offer with: `Active` (we are the DTLS client, as
    /// browsers answer, RFC 8829 §5.3.1) or `Passive`.
    pub answer_setup: Setup,
    /// Announce trickle ICE (`a=ice-options:trickle`). Descriptions always carry the
    /// candidates gathered so far (and `a=end-of-candidates` once gathering is complete), so
    /// a host that waits for [`Event::GatheringComplete`] gets a complete description.
    pub trickle: bool,
    /// The largest datagram we send (DTLS records; SCTP packets are sized to fit in them).
    pub mtu: usize,
    /// Overrides of the ICE timers (consent, pacing); `None`: RFC defaults.
    pub ice: Option<ice::Config>,
    /// DTLS flight retransmission: first timeout and the most it backs off to. 500 ms and 4 s
    /// by default: a handshake over a lossy path gets about fifteen tries within the 60 s
    /// handshake limit instead of six with RFC 6347's 1 s doubling to 60 s, which at 20 %
    /// loss each way leaves about one handshake in 500 unfinished (found by simulation).
    pub dtls_retransmit: (core::time::Duration, core::time::Duration),
    /// How long DTLS may take to connect once ICE has a path: past it the connection fails.
    /// 30 s by default, about what a browser waits; without it a Peer that is the DTLS
    /// server and never hears a ClientHello would stay "connecting" forever.
    pub dtls_timeout: core::time::Duration,
}

impl Config {
    /// Browser-compatible defaults: no STUN servers, answer as DTLS client, trickle, MTU 1200.
    #[must_use]
    pub fn new(certificate: dtls::Certificate, seed: [u8; SEED_LEN]) -> Self {
        Config {
            seed,
            certificate,
            stun_servers: [None; ice::MAX_STUN_SERVERS],
            answer_setup: Setup::Active,
            trickle: true,
            mtu: 1200,
            ice: None,
            dtls_retransmit: (
                core::time::Duration::from_millis(500),
                core::time::Duration::from_secs(4),
            ),
            dtls_timeout: core::time::Duration::from_secs(30),
        }
    }

    /// Adds a STUN server (beyond [`ice::MAX_STUN_SERVERS`] it is ignored).
    #[must_use]
    pub fn with_stun_server(mut self, server: SocketAddr) -> Self {
        if let Some(slot) = self.stun_servers.iter_mut().find(|s| s.is_none()) {
            *slot = Some(server);
        }
        self
    }

    /// Answer `actpass` offers with this `a=setup` (`Active` or `Passive`).
    #[must_use]
    pub fn with_answer_setup(mut self, setup: Setup) -> Self {
        self.answer_setup = setup;
        self
    }

    /// The largest datagram to send.
    #[must_use]
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }
}

/// The SCTP storage a Peer borrows: what it may queue for sending and reassemble on
/// receiving. The receive size is the `a=max-message-size` we announce.
pub struct Storage<const SEND: usize, const RECV: usize> {
    send: [u8; SEND],
    recv: [u8; RECV],
}

impl<const SEND: usize, const RECV: usize> Storage<SEND, RECV> {
    /// Zeroed storage (put it in a `static` or on a big stack on an MCU).
    #[must_use]
    pub const fn new() -> Self {
        Storage {
            send: [0; SEND],
            recv: [0; RECV],
        }
    }

    /// The two areas, for [`Peer::new`].
    pub fn areas(&mut self) -> (&mut [u8], &mut [u8]) {
        (&mut self.send, &mut self.recv)
    }
}

impl<const SEND: usize, const RECV: usize> Default for Storage<SEND, RECV> {
    fn default() -> Self {
        Self::new()
    }
}

/// The default storage: 256 KiB to send, 256 KiB to receive (messages up to about 256 KiB,
/// what browsers and aiortc announce).
pub type DefaultStorage = Storage<{ 256 * 1024 }, { 256 * 1024 }>;
/// A small storage for an MCU: 8 KiB each way (messages up to about 7 KiB).
pub type SmallStorage = Storage<{ 8 * 1024 }, { 8 * 1024 }>;

/// `RTCSdpType`: which side of the offer/answer exchange a description is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SdpType {
    /// An offer.
    Offer,
    /// An answer.
    Answer,
}

/// `RTCSignalingState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalingState {
    /// No offer outstanding.
    Stable,
    /// We applied our offer; waiting for the answer.
    HaveLocalOffer,
    /// We applied the remote offer; our answer is due.
    HaveRemoteOffer,
    /// [`Peer::close`] was called.
    Closed,
}

/// `RTCPeerConnectionState`: ICE and DTLS together, as the browser reports them.
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub u16);

/// `RTCDataChannelInit`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ChannelInit<'a> {
    /// Ordered, reliability and negotiated id.
    pub options: ChannelOptions,
    /// The sub-protocol.
    pub protocol: &'a str,
}

/// What the Peer reports. Drain with [`Peer::poll_event`] until `None`.
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'e> {
    /// A local candidate to signal to the peer (`onicecandidate`): send `a=` + its text.
    LocalCandidate(ice::Candidate),
    /// Every local candidate has been reported (`onicecandidate` with `null`).
    GatheringComplete,
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
        /// Binary rather than text.
        binary: bool,
        /// The message.
        data: &'e [u8],
    },
    /// The channel's buffered amount fell to its low threshold (`bufferedamountlow`).
    BufferedAmountLow(ChannelId),
    /// The channel closed (`onclose`).
    ChannelClosed(ChannelId),
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
}

/// Why a description was refused. Nothing changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Dropped: STUN before the ICE agent could use it.
    pub dropped_stun_no_agent: u64,
    /// Dropped: early DTLS that did not fit the early stash.
    pub dropped_early_dtls: u64,
    /// Dropped: DTLS from an address that is not the selected pair's nor a known candidate.
    pub dropped_dtls_unknown_source: u64,
    /// Dropped: an SCTP packet larger than the Peer copies.
    pub dropped_sctp_too_large: u64,
    /// Dropped: SRTP/SRTCP before keys, or failing authentication or replay checks.
    pub dropped_srtp: u64,
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
}

/// A data channel's life in the Peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChannelState {
    Free,
    /// Created before the SCTP association exists (the stream id needs the DTLS role).
    AwaitAssociation,
    /// Registered with SCTP; `open` fires when the association is up.
    AwaitSctp,
    Open,
    Closing,
}

#[derive(Clone, Copy, Debug)]
struct Channel {
    state: ChannelState,
    stream: Option<u16>,
    label: Text<MAX_LABEL>,
    protocol: Text<MAX_LABEL>,
    options: ChannelOptions,
    remote: bool,
    low_threshold: usize,
    stats: ChannelStats,
    /// `ChannelOpen` is due to the host (the slot is in use until it is handed out).
    announce_open: bool,
    /// `ChannelClosed` is due to the host; the slot is freed when it is handed out.
    announce_close: bool,
}

const FREE: Channel = Channel {
    state: ChannelState::Free,
    stream: None,
    label: Text::new(),
    protocol: Text::new(),
    options: ChannelOptions {
        ordered: true,
        reliability: Reliability::Reliable,
        priority: 256,
        negotiated: None,
    },
    remote: false,
    low_threshold: 0,
    stats: ChannelStats {
        messages_sent: 0,
        messages_received: 0,
        bytes_sent: 0,
        bytes_received: 0,
    },
    announce_open: false,
    announce_close: false,
};

/// Events produced while handling input, handed out by `poll_event` before SCTP's own.
#[derive(Clone, Copy, Debug)]
enum Queued {
    /// A local candidate, found again in the agent by its address and type when handed out
    /// (a queue of whole candidates would cost kilobytes); skipped if an ICE restart
    /// replaced it meanwhile.
    LocalCandidate(SocketAddr, ice::CandidateType),
    Ready(Ready),
}

/// Queued events that need nothing but the Peer's own tables to be handed out.
#[derive(Clone, Copy, Debug)]
enum Ready {
    GatheringComplete,
    IceState(IceState),
    ConnectionState(ConnectionState),
    SelectedPair(SocketAddr, SocketAddr),
    RemoteCandidatesRefused(u32),
}

impl Queued {
    /// Events of one kind carry the latest value: a full queue replaces the queued one.
    fn same_kind(&self, other: &Queued) -> bool {
        match (self, other) {
            (Queued::LocalCandidate(a, k), Queued::LocalCandidate(b, l)) => a == b && k == l,
            (Queued::Ready(a), Queued::Ready(b)) => {
                core::mem::discriminant(a) == core::mem::discriminant(b)
            }
            _ => false,
        }
    }
}

/// DTLS state as the connection state needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DtlsState {
    New,
    Connecting,
    Connected,
    Failed,
    Closed,
}

/// DTLS datagrams that arrived before we knew our DTLS role (a browser answering our offer
/// sends its ClientHello as soon as ICE works, often before the host applies its answer).
struct EarlyStash<const N: usize> {
    bytes: [u8; N],
    used: usize,
    datagrams: [Option<(SocketAddr, Range<usize>)>; EARLY_DTLS_DATAGRAMS],
}

impl<const N: usize> EarlyStash<N> {
    const fn new() -> Self {
        EarlyStash {
            bytes: [0; N],
            used: 0,
            datagrams: [const { None }; EARLY_DTLS_DATAGRAMS],
        }
    }

    fn push(&mut self, from: SocketAddr, datagram: &[u8]) -> bool {
        let Some(slot) = self.datagrams.iter_mut().find(|d| d.is_none()) else {
            return false;
        };
        let end = self.used + datagram.len();
        let Some(dst) = self.bytes.get_mut(self.used..end) else {
            return false;
        };
        dst.copy_from_slice(datagram);
        *slot = Some((from, self.used..end));
        self.used = end;
        true
    }
}

/// The SRTP contexts made from the DTLS-SRTP keys: what we send and what we receive.
pub struct SrtpContexts {
    /// Protects what we send.
    pub outbound: srtp::Context,
    /// Unprotects what we receive.
    pub inbound: srtp::Context,
}

/// A WebRTC peer (`RTCPeerConnection`) with data channels, as a sans-IO machine.
///
/// `CHUNKS` and `CHANNELS` size the SCTP association (received chunks in reassembly, data
/// channels); the Peer's own channel table has `CHANNELS` slots too. `DTLS` sizes the DTLS
/// reassembly and flight buffers and the early DTLS stash; `LOCAL_SDP` and `REMOTE_SDP` the
/// copies of the descriptions it keeps. The SCTP byte areas are
/// lent by the caller ([`Storage`]), so they are not part of `size_of::<Peer>()`.
///
/// # The drain rule
///
/// After every `handle_packet`, `handle_timeout` or command, call `poll_transmit` until it
/// returns `Ok(None)` and `poll_event` until `None`, then arm a timer at `poll_timeout()`.
pub struct Peer<
    'a,
    const CHUNKS: usize = 256,
    const CHANNELS: usize = 32,
    const DTLS: usize = DTLS_BUFFER,
    const LOCAL_SDP: usize = LOCAL_SDP_CAPACITY,
    const REMOTE_SDP: usize = REMOTE_SDP_CAPACITY,
    const REMOTE_CANDIDATES: usize = REMOTE_CANDIDATE_CAPACITY,
> {
    config: Config,
    rng: Drbg,
    now: Instant,
    session_id: u64,
    fingerprint: Text<128>,
    signaling: SignalingState,
    ice: Agent<REMOTE_CANDIDATES>,
    hosts: [Option<SocketAddr>; MAX_HOSTS],
    remote_ufrag: Text<256>,
    dtls: Option<dtls::Endpoint<DTLS, DTLS>>,
    dtls_role: Option<dtls::Role>,
    dtls_state: DtlsState,
    remote_fingerprint: Option<dtls::Fingerprint>,
    sctp: Option<sctp::Association<'a, CHUNKS, CHANNELS>>,
    areas: Option<(&'a mut [u8], &'a mut [u8])>,
    sctp_established: bool,
    /// As DTLS server: when to send our own INIT if the client's has not come.
    sctp_connect_at: Option<Instant>,
    remote_sctp_port: u16,
    remote_max_message_size: Option<u64>,
    local_max_message_size: usize,
    srtp: Option<SrtpContexts>,
    early: EarlyStash<DTLS>,
    channels: [Channel; CHANNELS],
    queue: Deque<Queued, EVENT_QUEUE>,
    /// When DTLS must be connected by ([`Config::dtls_timeout`] after ICE found a path).
    dtls_deadline: Option<Instant>,
    /// `close()` ran: DTLS sends close_notify once SCTP's last packets (the ABORT) are out.
    dtls_close_pending: bool,
    /// A stream [`Event::ChannelRefused`] reported, reset on the next `poll_event`.
    refused_stream: Option<u16>,
    local_sdp: Text<LOCAL_SDP>,
    remote_sdp: Text<REMOTE_SDP>,
    data_mid: Text<32>,
    ice_state: IceState,
    connection_state: ConnectionState,
    selected: Option<(SocketAddr, SocketAddr)>,
    gathered: bool,
    closed: bool,
    stats: Stats,
}

/// The offset range of `part` inside `whole` (both from the same buffer).
fn range_in(base: usize, part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(base);
    start..start + part.len()
}

/// A sealed-off copy of a transmit's addresses and where its payload sits in the buffer, so
/// the buffer can be lent again (a conditional return of a reborrow would pin it).
type Out = (Option<SocketAddr>, Option<SocketAddr>, Range<usize>);

fn detach(base: usize, t: &Transmit<'_>) -> Out {
    (t.source, t.destination, range_in(base, t.payload))
}

fn to_dtls_fingerprint(fp: &sdp::attr::Fingerprint<'_>) -> Option<dtls::Fingerprint> {
    let algorithm = match fp.hash {
        HashFunction::Sha1 => dtls::HashAlgorithm::Sha1,
        HashFunction::Sha256 => dtls::HashAlgorithm::Sha256,
        HashFunction::Sha384 => dtls::HashAlgorithm::Sha384,
        HashFunction::Sha512 => dtls::HashAlgorithm::Sha512,
        _ => return None,
    };
    let mut digest = [0u8; sdp::attr::MAX_FINGERPRINT_LEN];
    let d = fp.decode(&mut digest)?;
    dtls::Fingerprint::new(algorithm, d)
}

fn srtp_profile(p: dtls::SrtpProfile) -> Option<srtp::Profile> {
    srtp::Profile::ALL.into_iter().find(|x| x.dtls_id() == p.0)
}

/// The first non-rejected data channel section of a description.
fn data_section<'s>(s: &Session<'s>) -> Option<sdp::Media<'s>> {
    s.media()
        .find(|m| !m.is_rejected() && m.media_line().is_datachannel())
}

impl<
    'a,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
> Peer<'a, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES>
{
    /// A new Peer at `now` (`new RTCPeerConnection(config)`), with the SCTP send and receive
    /// areas it borrows (see [`Storage`]).
    pub fn new(
        config: Config,
        now: Instant,
        send_area: &'a mut [u8],
        recv_area: &'a mut [u8],
    ) -> Self {
        let mut rng = Drbg::from_seed(&config.seed, b"peerless-peer");
        let session_id = rng.u64() >> 1;
        let mut fingerprint = Text::new();
        let fp = config.certificate.fingerprint(dtls::HashAlgorithm::Sha256);
        // 7 + 95 characters always fit.
        let _ = write!(fingerprint, "{fp}");
        let ice = Self::make_agent(&config, &mut rng, ice::Role::Controlling, None, now);
        // Reassembly keeps per-chunk headers: announce what the receive area can hold.
        let local_max_message_size = recv_area.len().saturating_sub(4096).max(1024);
        Peer {
            rng,
            now,
            session_id,
            fingerprint,
            signaling: SignalingState::Stable,
            ice,
            hosts: [None; MAX_HOSTS],
            remote_ufrag: Text::new(),
            dtls: None,
            dtls_role: None,
            dtls_state: DtlsState::New,
            remote_fingerprint: None,
            sctp: None,
            areas: Some((send_area, recv_area)),
            sctp_established: false,
            sctp_connect_at: None,
            remote_sctp_port: 5000,
            remote_max_message_size: Some(jsep::IMPLICIT_MAX_MESSAGE_SIZE),
            local_max_message_size,
            srtp: None,
            early: EarlyStash::new(),
            channels: [FREE; CHANNELS],
            queue: Deque::new(),
            refused_stream: None,
            dtls_close_pending: false,
            dtls_deadline: None,
            local_sdp: Text::new(),
            remote_sdp: Text::new(),
            data_mid: Text::new(),
            ice_state: IceState::New,
            connection_state: ConnectionState::New,
            selected: None,
            gathered: false,
            closed: false,
            stats: Stats::default(),
            config,
        }
    }

    fn make_agent(
        config: &Config,
        rng: &mut Drbg,
        role: ice::Role,
        credentials: Option<ice::Credentials>,
        now: Instant,
    ) -> Agent<REMOTE_CANDIDATES> {
        let mut seed = [0u8; SEED_LEN];
        rng.fill(&mut seed);
        let mut c = config.ice.unwrap_or_else(|| ice::Config::new(role, seed));
        c.role = role;
        c.seed = seed;
        c.stun_servers = config.stun_servers;
        if let Some(creds) = credentials {
            c.credentials = Some(creds);
        }
        Agent::new(c, now)
    }

    // -----------------------------------------------------------------------------------------
    // Accessors
    // -----------------------------------------------------------------------------------------

    /// `connectionState`.
    #[must_use]
    pub fn connection_state(&self) -> ConnectionState {
        self.connection_state
    }

    /// `iceConnectionState`.
    #[must_use]
    pub fn ice_state(&self) -> IceState {
        self.ice_state
    }

    /// `signalingState`.
    #[must_use]
    pub fn signaling_state(&self) -> SignalingState {
        self.signaling
    }

    /// Our certificate's SHA-256 fingerprint as SDP writes it (`sha-256 AB:CD:...`).
    #[must_use]
    pub fn local_fingerprint(&self) -> &str {
        self.fingerprint.as_str()
    }

    /// Our DTLS role, once negotiated.
    #[must_use]
    pub fn dtls_role(&self) -> Option<dtls::Role> {
        self.dtls_role
    }

    /// The largest message we accept (our `a=max-message-size`).
    #[must_use]
    pub fn local_max_message_size(&self) -> usize {
        self.local_max_message_size
    }

    /// The SRTP contexts (once DTLS is connected and a profile was negotiated): protect RTP
    /// with `outbound` and send it over [`Peer::selected_pair`].
    pub fn srtp(&mut self) -> Option<&mut SrtpContexts> {
        self.srtp.as_mut()
    }

    /// The selected pair (our socket, the peer's address).
    #[must_use]
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected
    }

    /// The SCTP stream id of a channel, once the DTLS role fixed it (the browser's
    /// `RTCDataChannel.id`).
    #[must_use]
    pub fn stream_id(&self, channel: ChannelId) -> Option<u16> {
        self.channel(channel).and_then(|c| c.stream)
    }

    /// A channel's label.
    #[must_use]
    pub fn label(&self, channel: ChannelId) -> Option<&str> {
        self.channel(channel).map(|c| c.label.as_str())
    }

    /// Whether the channel is open (`readyState == "open"`).
    #[must_use]
    pub fn is_open(&self, channel: ChannelId) -> bool {
        self.channel(channel)
            .is_some_and(|c| c.state == ChannelState::Open)
    }

    /// A channel's counters.
    #[must_use]
    pub fn channel_stats(&self, channel: ChannelId) -> Option<ChannelStats> {
        self.channel(channel).map(|c| c.stats)
    }

    /// Counters for the whole connection (`getStats()`).
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.ice = self.ice.stats();
        s.stun_rtt = self.ice.rtt();
        if let Some(d) = &self.dtls {
            s.dtls = d.stats();
        }
        if let Some(a) = &self.sctp {
            s.sctp = a.stats();
        }
        s.selected_pair = self.selected;
        s
    }

    fn channel(&self, channel: ChannelId) -> Option<&Channel> {
        self.channels
            .get(usize::from(channel.0))
            .filter(|c| c.state != ChannelState::Free)
    }

    // -----------------------------------------------------------------------------------------
    // Candidates
    // -----------------------------------------------------------------------------------------

    /// A host socket (`addr` is what it is bound to): it becomes a host candidate, reported
    /// as [`Event::LocalCandidate`], and server-reflexive gathering starts from it.
    pub fn add_local_candidate(&mut self, addr: SocketAddr) -> Result<(), CandidateError> {
        if self.closed {
            return Err(CandidateError::Closed);
        }
        if !self.hosts.contains(&Some(addr)) {
            let slot = self
                .hosts
                .iter_mut()
                .find(|h| h.is_none())
                .ok_or(CandidateError::TooManyHosts)?;
            *slot = Some(addr);
        }
        self.ice
            .add_local_candidate(addr)
            .map_err(CandidateError::Ice)?;
        self.pump();
        Ok(())
    }

    /// A remote candidate from signalling (`addIceCandidate`): `candidate:...` with or
    /// without `a=`; an empty string means end-of-candidates.
    pub fn add_remote_candidate(&mut self, line: &str) -> Result<(), CandidateError> {
        if self.closed {
            return Err(CandidateError::Closed);
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.trim_start_matches("a=") == "end-of-candidates" {
            self.ice.end_of_remote_candidates();
        } else {
            self.ice
                .add_remote_candidate(trimmed)
                .map_err(CandidateError::Ice)?;
        }
        self.pump();
        Ok(())
    }

    /// A candidate from the peer's description. A TCP or other-component candidate is not
    /// used, as browsers skip them; one the ICE agent has no room for is counted and reported
    /// once per description ([`Event::RemoteCandidatesRefused`]).
    fn add_signalled_candidate(&mut self, line: &str) -> bool {
        match self.ice.add_remote_candidate(line) {
            Ok(()) => true,
            Err(ice::AddCandidateError::Full) => {
                self.stats.remote_candidates_refused += 1;
                false
            }
            Err(_) => {
                self.stats.remote_candidates_unusable += 1;
                true
            }
        }
    }

    /// Restarts ICE (`restartIce()`): new credentials in the next offer; the current pair
    /// keeps carrying traffic until a new one is selected.
    pub fn restart_ice(&mut self) {
        if self.closed {
            return;
        }
        self.ice.restart();
        self.gathered = false;
        self.pump();
    }

    // -----------------------------------------------------------------------------------------
    // Descriptions (JSEP)
    // -----------------------------------------------------------------------------------------

    fn with_local<R>(&self, f: impl FnOnce(&jsep::Local<'_>) -> R) -> R {
        let creds = self.ice.local_credentials();
        let Some(fp) = sdp::attr::Fingerprint::parse(self.fingerprint.as_str()) else {
            // Our own fingerprint always parses; an empty list makes JSEP refuse cleanly.
            let local = jsep::Local::new(self.session_id, jsep::IceCredentials::new("", ""), &[]);
            return f(&local);
        };
        let fps = [fp];
        // Candidate lines without the `candidate:` prefix, as `a=candidate:` values.
        let mut texts = [Text::<200>::new(); 8];
        let mut n = 0;
        for (c, t) in self.ice.local_candidates().zip(texts.iter_mut()) {
            let _ = write!(t, "{c}");
            n += 1;
        }
        let mut lines = [""; 8];
        for (l, t) in lines.iter_mut().zip(texts.iter()).take(n) {
            *l = t.as_str().strip_prefix("candidate:").unwrap_or(t.as_str());
        }
        let mid = if self.data_mid.is_empty() {
            "0"
        } else {
            self.data_mid.as_str()
        };
        let mut local = jsep::Local::new(
            self.session_id,
            jsep::IceCredentials::new(creds.ufrag.as_str(), creds.pwd.as_str()),
            &fps,
        );
        local.trickle = self.config.trickle;
        local.candidates = lines.get(..n).unwrap_or_default();
        local.end_of_candidates = self.gathering_complete();
        local.answer_setup = self.config.answer_setup;
        local.dtls_role = self.dtls_role.map(|r| match r {
            dtls::Role::Client => Setup::Active,
            dtls::Role::Server => Setup::Passive,
        });
        // Until the Peer carries media, audio and video sections are rejected with port 0
        // (RFC 8829 §5.3.1): no codecs to answer with. Accepting them receive-only would make
        // the peer send media we would decrypt and throw away.
        local.audio_codecs = &[];
        local.video_codecs = &[];
        let mut dc = jsep::DataChannel::new(mid);
        dc.max_message_size = self.local_max_message_size as u64;
        local.data_channel = Some(dc);
        f(&local)
    }

    fn gathering_complete(&self) -> bool {
        // The agent says so once every host socket's candidates (and the server-reflexive
        // ones, with STUN servers) are out; before any socket there is nothing to complete.
        self.gathered && self.ice.local_candidates().next().is_some()
    }

    /// Writes an offer (`createOffer`) with one data channel section into `buf`.
    pub fn create_offer<'b>(&mut self, buf: &'b mut [u8]) -> Result<&'b str, SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        if self.signaling == SignalingState::HaveRemoteOffer {
            return Err(SdpError::WrongState);
        }
        let previous_text = self.local_sdp;
        let previous = Session::parse(previous_text.as_str()).ok();
        let len = self
            .with_local(|local| jsep::offer_to_slice(local, previous.as_ref(), buf).map(str::len));
        match len {
            Ok(n) => Ok(core::str::from_utf8(buf.get(..n).unwrap_or_default()).unwrap_or_default()),
            Err(jsep::JsepError::BufferTooSmall(n)) => Err(SdpError::BufferTooSmall(n)),
            Err(e) => Err(SdpError::Jsep(e)),
        }
    }

    /// Writes the answer to the applied remote offer (`createAnswer`) into `buf`.
    pub fn create_answer<'b>(&mut self, buf: &'b mut [u8]) -> Result<&'b str, SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        if self.signaling != SignalingState::HaveRemoteOffer {
            return Err(SdpError::WrongState);
        }
        let remote_text = self.remote_sdp;
        let offer = Session::parse(remote_text.as_str()).map_err(SdpError::Parse)?;
        let previous_text = self.local_sdp;
        let previous = Session::parse(previous_text.as_str()).ok();
        let len = self.with_local(|local| {
            jsep::answer_to_slice(local, &offer, previous.as_ref(), buf).map(str::len)
        });
        match len {
            Ok(n) => Ok(core::str::from_utf8(buf.get(..n).unwrap_or_default()).unwrap_or_default()),
            Err(jsep::JsepError::BufferTooSmall(n)) => Err(SdpError::BufferTooSmall(n)),
            Err(e) => Err(SdpError::Jsep(e)),
        }
    }

    /// Applies our own description (`setLocalDescription`), as written by
    /// [`Peer::create_offer`] or [`Peer::create_answer`]. Applying an answer fixes our DTLS
    /// role and starts DTLS and SCTP.
    pub fn set_local_description(&mut self, kind: SdpType, text: &str) -> Result<(), SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        let session = Session::parse(text).map_err(SdpError::Parse)?;
        let data = data_section(&session).ok_or(SdpError::NoDataSection)?;
        let stored = Text::copy_from(text).ok_or(SdpError::TooLarge)?;
        match (kind, self.signaling) {
            (SdpType::Offer, SignalingState::Stable | SignalingState::HaveLocalOffer) => {
                self.signaling = SignalingState::HaveLocalOffer;
            }
            (SdpType::Answer, SignalingState::HaveRemoteOffer) => {
                let role = match data.setup() {
                    Some(Setup::Active) => dtls::Role::Client,
                    Some(Setup::Passive) => dtls::Role::Server,
                    _ => return Err(SdpError::BadSetup),
                };
                self.signaling = SignalingState::Stable;
                self.start_transport(role);
            }
            _ => return Err(SdpError::WrongState),
        }
        if let Some(mid) = data.mid().and_then(Text::copy_from) {
            self.data_mid = mid;
        }
        self.local_sdp = stored;
        self.pump();
        Ok(())
    }

    /// Applies the peer's description (`setRemoteDescription`): its ICE credentials and
    /// candidates, its certificate fingerprint, its DTLS role and SCTP parameters.
    pub fn set_remote_description(&mut self, kind: SdpType, text: &str) -> Result<(), SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        let session = Session::parse(text).map_err(SdpError::Parse)?;
        let data = data_section(&session).ok_or(SdpError::NoDataSection)?;
        let stored = Text::<REMOTE_SDP>::copy_from(text).ok_or(SdpError::TooLarge)?;
        if kind == SdpType::Answer && self.signaling == SignalingState::HaveLocalOffer {
            let ours = self.local_sdp;
            let offer = Session::parse(ours.as_str()).map_err(SdpError::Parse)?;
            jsep::check_answer(&offer, &session).map_err(SdpError::Answer)?;
        }
        // ICE credentials, fingerprint and role are the BUNDLE transport's: a browser's offer
        // tags its first (audio) section, and only that one needs to carry them.
        let transport = jsep::bundle_transport(&session, &data);
        let (Some(ufrag), Some(pwd)) = (transport.ice_ufrag(), transport.ice_pwd()) else {
            return Err(SdpError::NoDataSection);
        };
        if ice::Credentials::new(ufrag, pwd).is_err() {
            return Err(SdpError::BadCredentials);
        }
        // Prefer SHA-256 (what our DTLS checks most cheaply), else any hash we know.
        let fingerprint = transport
            .fingerprints()
            .filter_map(|f| to_dtls_fingerprint(&f))
            .min_by_key(|f| match f.algorithm() {
                dtls::HashAlgorithm::Sha256 => 0,
                dtls::HashAlgorithm::Sha384 => 1,
                dtls::HashAlgorithm::Sha512 => 2,
                dtls::HashAlgorithm::Sha1 => 3,
            })
            .ok_or(SdpError::NoFingerprint)?;
        // RFC 4145 §4: a description without a=setup is active (an offer like that leaves us
        // passive, which jsep's answer writes).
        let setup = transport.setup().unwrap_or(Setup::Active);
        let role = match (kind, self.signaling) {
            (SdpType::Offer, SignalingState::Stable | SignalingState::HaveRemoteOffer) => {
                if setup == Setup::Holdconn {
                    return Err(SdpError::BadSetup);
                }
                None
            }
            (SdpType::Answer, SignalingState::HaveLocalOffer) => match jsep::offerer_role(setup) {
                Some(Setup::Active) => Some(dtls::Role::Client),
                Some(Setup::Passive) => Some(dtls::Role::Server),
                _ => return Err(SdpError::BadSetup),
            },
            _ => return Err(SdpError::WrongState),
        };
        if kind == SdpType::Offer {
            // The offerer controls (RFC 8445 §6.1.1), unless it is lite and we are not.
            let want = if session.ice_lite() || transport.ice_lite() {
                ice::Role::Controlling
            } else {
                ice::Role::Controlled
            };
            if self.ice.role() != want && self.ice_state == IceState::New {
                let creds = *self.ice.local_credentials();
                self.ice =
                    Self::make_agent(&self.config, &mut self.rng, want, Some(creds), self.now);
                for h in self.hosts.into_iter().flatten() {
                    let _ = self.ice.add_local_candidate(h);
                }
            }
            if let Some(mid) = data.mid().and_then(Text::copy_from) {
                self.data_mid = mid;
            }
            self.signaling = SignalingState::HaveRemoteOffer;
        } else {
            self.signaling = SignalingState::Stable;
        }
        let restart = !self.remote_ufrag.is_empty() && self.remote_ufrag.as_str() != ufrag;
        if restart && kind == SdpType::Offer {
            // An ICE restart from the peer: our answer carries new credentials too (RFC 8839
            // §4.4.1.1.1).
            self.ice.restart();
            self.gathered = false;
        }
        if self.ice.set_remote_credentials(ufrag, pwd).is_err() {
            return Err(SdpError::BadCredentials);
        }
        self.remote_ufrag = Text::copy_from(ufrag).unwrap_or_default();
        let mut end_of_candidates = false;
        // A candidate that took the place of an earlier one of this description (the table
        // keeps a mix of types) leaves that one out just the same: both count.
        let evicted_before = self.ice.stats().evicted;
        let mut refused = 0u32;
        for m in jsep::bundled_sections(&session, &data) {
            for c in m.candidates() {
                if !self.add_signalled_candidate(c) {
                    refused += 1;
                }
            }
            end_of_candidates |= m.end_of_candidates();
        }
        let evicted = self.ice.stats().evicted.saturating_sub(evicted_before);
        let refused = refused.saturating_add(u32::try_from(evicted).unwrap_or(u32::MAX));
        if refused > 0 {
            self.stats.remote_candidates_refused += evicted;
            self.push(Queued::Ready(Ready::RemoteCandidatesRefused(refused)));
        }
        if end_of_candidates {
            self.ice.end_of_remote_candidates();
        }
        self.remote_sctp_port = data.sctp_port().unwrap_or(5000);
        self.remote_max_message_size = jsep::remote_max_message_size(&data);
        self.remote_fingerprint = Some(fingerprint);
        if let Some(d) = &mut self.dtls {
            d.set_remote_fingerprint(fingerprint);
        }
        if let Some(a) = &mut self.sctp {
            a.set_remote_max_message_size(
                self.remote_max_message_size
                    .map_or(0, |m| usize::try_from(m).unwrap_or(usize::MAX)),
            );
        }
        self.remote_sdp = stored;
        if let Some(role) = role {
            self.start_transport(role);
        }
        self.pump();
        Ok(())
    }

    /// Creates the DTLS endpoint and the SCTP association once our DTLS role is known, opens
    /// the channels created so far and replays DTLS that arrived early.
    fn start_transport(&mut self, role: dtls::Role) {
        if self.dtls.is_some() {
            return;
        }
        let mut seed = [0u8; SEED_LEN];
        self.rng.fill(&mut seed);
        let dtls_config = dtls::Config::new(self.config.certificate.clone(), seed)
            .with_mtu(self.config.mtu)
            .with_retransmit(self.config.dtls_retransmit.0, self.config.dtls_retransmit.1);
        let mut endpoint = dtls::Endpoint::<DTLS, DTLS>::new(dtls_config, role, self.now);
        if let Some(fp) = self.remote_fingerprint {
            endpoint.set_remote_fingerprint(fp);
        }
        self.dtls = Some(endpoint);
        self.dtls_role = Some(role);
        self.dtls_state = DtlsState::Connecting;
        if let Some((send_area, recv_area)) = self.areas.take() {
            self.rng.fill(&mut seed);
            let mut c = sctp::Config::new(
                match role {
                    dtls::Role::Client => sctp::DtlsRole::Client,
                    dtls::Role::Server => sctp::DtlsRole::Server,
                },
                seed,
            );
            c.mtu = self.config.mtu.saturating_sub(DTLS_OVERHEAD).max(512);
            // ICE consent (RFC 7675) decides when the peer is gone; SCTP giving up after ten
            // unanswered retransmissions would end a channel on a path that still works (at
            // 20 % loss each way a soak of 1500 seeds hit it twice). Browsers' SCTP stacks
            // leave this to ICE as well.
            c.max_retransmits = u32::MAX;
            c.max_init_retransmits = u32::MAX;
            c.remote_port = self.remote_sctp_port;
            c.remote_max_message_size = self
                .remote_max_message_size
                .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
            let mut assoc = sctp::Association::new(c, self.now, send_area, recv_area);
            for ch in &mut self.channels {
                if ch.state != ChannelState::AwaitAssociation {
                    continue;
                }
                match assoc.open_channel(ch.label.as_str(), ch.protocol.as_str(), ch.options) {
                    Ok(id) => {
                        ch.stream = Some(id);
                        ch.state = ChannelState::AwaitSctp;
                        assoc.set_buffered_amount_low_threshold(id, ch.low_threshold);
                    }
                    Err(_) => {
                        ch.state = ChannelState::Closing;
                        ch.announce_close = true;
                    }
                }
            }
            self.sctp = Some(assoc);
        }
        // Replay what arrived before we knew our role.
        let stash = core::mem::replace(
            &mut self.early.datagrams,
            [const { None }; EARLY_DTLS_DATAGRAMS],
        );
        let mut bytes = [0u8; SCTP_SCRATCH];
        for (from, range) in stash.into_iter().flatten() {
            let Some(src) = self.early.bytes.get(range) else {
                continue;
            };
            let Some(dst) = bytes.get_mut(..src.len()) else {
                continue;
            };
            dst.copy_from_slice(src);
            let now = self.now;
            self.handle_dtls(now, from, dst);
        }
        self.early.used = 0;
        self.update_connection_state();
    }

    // -----------------------------------------------------------------------------------------
    // Data channels
    // -----------------------------------------------------------------------------------------

    /// Creates a data channel (`createDataChannel`). With `negotiated: None` it is announced
    /// in band (DCEP) once the association is up; with `Some(id)` the peer must create the
    /// same id. [`Event::ChannelOpen`] follows when it can carry messages.
    pub fn create_data_channel(
        &mut self,
        label: &str,
        init: ChannelInit<'_>,
    ) -> Result<ChannelId, ChannelError> {
        if self.closed {
            return Err(ChannelError::Closed);
        }
        let label_t = Text::copy_from(label).ok_or(ChannelError::LabelTooLong)?;
        let protocol_t = Text::copy_from(init.protocol).ok_or(ChannelError::LabelTooLong)?;
        let slot = self
            .channels
            .iter()
            .position(|c| c.state == ChannelState::Free)
            .ok_or(ChannelError::TooManyChannels)?;
        let mut ch = Channel {
            state: ChannelState::AwaitAssociation,
            label: label_t,
            protocol: protocol_t,
            options: init.options,
            ..FREE
        };
        if let Some(assoc) = &mut self.sctp {
            let id = assoc
                .open_channel(label, init.protocol, init.options)
                .map_err(ChannelError::Sctp)?;
            ch.stream = Some(id);
            ch.state = ChannelState::AwaitSctp;
        }
        if let Some(c) = self.channels.get_mut(slot) {
            *c = ch;
        }
        if self.sctp_established && ch.state == ChannelState::AwaitSctp {
            self.open_local_channel(slot);
        }
        Ok(ChannelId(slot as u16))
    }

    fn open_local_channel(&mut self, slot: usize) {
        if let Some(c) = self.channels.get_mut(slot) {
            c.state = ChannelState::Open;
            c.announce_open = true;
            self.stats.channels_opened += 1;
        }
    }

    /// Sends a message (`send`): text (`binary == false`, UTF-8 by convention) or binary.
    pub fn send(&mut self, channel: ChannelId, binary: bool, data: &[u8]) -> Result<(), SendError> {
        let slot = usize::from(channel.0);
        let c = self
            .channels
            .get(slot)
            .filter(|c| c.state != ChannelState::Free)
            .ok_or(SendError::UnknownChannel)?;
        let (ChannelState::Open, Some(stream)) = (c.state, c.stream) else {
            return Err(SendError::NotOpen);
        };
        let assoc = self.sctp.as_mut().ok_or(SendError::NotOpen)?;
        assoc.send(stream, binary, data).map_err(SendError::Sctp)?;
        if let Some(c) = self.channels.get_mut(slot) {
            c.stats.messages_sent += 1;
            c.stats.bytes_sent += data.len() as u64;
        }
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Sends a text message.
    pub fn send_text(&mut self, channel: ChannelId, text: &str) -> Result<(), SendError> {
        self.send(channel, false, text.as_bytes())
    }

    /// Bytes queued on the channel and not yet sent (`bufferedAmount`).
    #[must_use]
    pub fn buffered_amount(&self, channel: ChannelId) -> usize {
        match (self.channel(channel).and_then(|c| c.stream), &self.sctp) {
            (Some(stream), Some(a)) => a.buffered_amount(stream),
            _ => 0,
        }
    }

    /// Sets `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, channel: ChannelId, threshold: usize) {
        let Some(c) = self
            .channels
            .get_mut(usize::from(channel.0))
            .filter(|c| c.state != ChannelState::Free)
        else {
            return;
        };
        c.low_threshold = threshold;
        if let (Some(stream), Some(a)) = (c.stream, &mut self.sctp) {
            a.set_buffered_amount_low_threshold(stream, threshold);
        }
    }

    /// Closes a channel (`close`): its stream is reset; [`Event::ChannelClosed`] follows.
    pub fn close_channel(&mut self, channel: ChannelId) -> Result<(), ChannelError> {
        let slot = usize::from(channel.0);
        let c = self
            .channels
            .get_mut(slot)
            .filter(|c| c.state != ChannelState::Free)
            .ok_or(ChannelError::UnknownChannel)?;
        match (c.stream, &mut self.sctp) {
            (Some(stream), Some(a)) if c.state != ChannelState::Closing => {
                c.state = ChannelState::Closing;
                a.close_channel(stream);
            }
            (None, _) => {
                // Never reached SCTP: it closes at once.
                c.state = ChannelState::Closing;
                c.announce_close = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// Closes the connection (`close()`): SCTP aborts, DTLS sends close_notify, ICE stops.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        let now = self.now;
        if let Some(a) = &mut self.sctp {
            a.abort(now);
        }
        // The ABORT goes out sealed before close_notify, so the peer's channels close at once
        // instead of timing out: `poll_transmit` seals what SCTP still has, then closes DTLS.
        self.dtls_close_pending = self.dtls.is_some();
        self.closed = true;
        self.signaling = SignalingState::Closed;
        self.update_connection_state();
        self.ice.close();
    }

    // -----------------------------------------------------------------------------------------
    // The five verbs
    // -----------------------------------------------------------------------------------------

    /// One datagram that arrived on our socket `to` from `from`. Never fails: what cannot be
    /// used is dropped and counted in [`Stats`].
    pub fn handle_packet(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        packet: &mut [u8],
    ) {
        self.now = self.now.max(now);
        let now = self.now;
        self.stats.packets_received += 1;
        self.stats.bytes_received += packet.len() as u64;
        match demux::classify(packet) {
            Some(Protocol::Stun) => self.ice.handle_packet(now, from, to, packet),
            Some(Protocol::Dtls) => self.handle_dtls(now, from, packet),
            Some(Protocol::Rtp) => self.handle_srtp(packet, false),
            Some(Protocol::Rtcp) => self.handle_srtp(packet, true),
            _ => self.stats.dropped_unknown_protocol += 1,
        }
        self.pump();
    }

    fn handle_dtls(&mut self, now: Instant, from: SocketAddr, packet: &mut [u8]) {
        let Some(endpoint) = &mut self.dtls else {
            if !self.early.push(from, packet) {
                self.stats.dropped_early_dtls += 1;
            }
            return;
        };
        // DTLS comes over the selected pair, or from a candidate ICE knows before selection
        // (a browser starts its handshake as soon as a check succeeds).
        let known = self.selected.is_some_and(|(_, r)| r == from)
            || self.ice.remote_candidates().any(|c| c.address == from);
        if !known {
            self.stats.dropped_dtls_unknown_source += 1;
            return;
        }
        endpoint.handle_packet(now, packet);
        self.drain_dtls(now);
    }

    /// Moves DTLS events along: keys to SRTP, application data to SCTP, ends to the state.
    fn drain_dtls(&mut self, now: Instant) {
        let Some(endpoint) = &mut self.dtls else {
            return;
        };
        let mut scratch = [0u8; SCTP_SCRATCH];
        while let Some(ev) = endpoint.poll_event() {
            match ev {
                dtls::Event::Connected {
                    cipher_suite,
                    srtp_profile: profile,
                    keys,
                } => {
                    debug!("peer: DTLS connected");
                    self.dtls_state = DtlsState::Connected;
                    self.stats.dtls_cipher = Some(cipher_suite);
                    let role = match endpoint.role() {
                        dtls::Role::Client => srtp::Role::Client,
                        dtls::Role::Server => srtp::Role::Server,
                    };
                    if let (Some(p), Some(k)) = (profile.and_then(srtp_profile), keys) {
                        self.stats.srtp_profile = Some(p);
                        self.srtp = srtp::SessionKeys::from_dtls_srtp(p, k.as_bytes(), role)
                            .ok()
                            .and_then(|keys| {
                                Some(SrtpContexts {
                                    outbound: keys.local_context(srtp::Config::default()).ok()?,
                                    inbound: keys.remote_context(srtp::Config::default()).ok()?,
                                })
                            });
                    }
                    // The DTLS client opens the association at once; the server answers its
                    // INIT and sends its own only if none came (a peer that waits), so two
                    // peerless Peers never collide (RFC 9260 §5.2.1 handles it if a browser
                    // sends INIT from both sides, as usrsctp does).
                    match endpoint.role() {
                        dtls::Role::Client => {
                            if let Some(a) = &mut self.sctp {
                                a.connect(now);
                            }
                        }
                        dtls::Role::Server => self.sctp_connect_at = Some(now + SCTP_PASSIVE_WAIT),
                    }
                }
                dtls::Event::ApplicationData(data) => {
                    let Some(dst) = scratch.get_mut(..data.len()) else {
                        self.stats.dropped_sctp_too_large += 1;
                        continue;
                    };
                    dst.copy_from_slice(data);
                    if let Some(a) = &mut self.sctp {
                        a.handle_packet(now, dst);
                    }
                }
                dtls::Event::Closed(reason) => {
                    debug!("peer: DTLS closed");
                    self.dtls_state = match reason {
                        dtls::CloseReason::PeerClosed | dtls::CloseReason::LocalClose => {
                            DtlsState::Closed
                        }
                        _ => DtlsState::Failed,
                    };
                }
            }
        }
    }

    fn handle_srtp(&mut self, packet: &mut [u8], rtcp: bool) {
        let Some(s) = &mut self.srtp else {
            self.stats.dropped_srtp += 1;
            return;
        };
        let result = if rtcp {
            s.inbound.unprotect_rtcp(packet)
        } else {
            s.inbound.unprotect_rtp(packet)
        };
        match result {
            Ok(_) => self.stats.srtp_received += 1,
            Err(_) => self.stats.dropped_srtp += 1,
        }
    }

    /// A deadline from [`Peer::poll_timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        let now = self.now;
        self.ice.handle_timeout(now);
        if let Some(d) = &mut self.dtls {
            d.handle_timeout(now);
        }
        if let Some(a) = &mut self.sctp {
            if self.sctp_connect_at.is_some_and(|t| t <= now) {
                self.sctp_connect_at = None;
                // Only a silent peer is prompted: once its INIT arrived, our own would start
                // a collision (RFC 9260 §5.2.1) for nothing.
                if a.stats().packets_received == 0 {
                    a.connect(now);
                }
            }
            a.handle_timeout(now);
        }
        self.drain_dtls(now);
        if self.dtls_deadline.is_some_and(|t| t <= now) {
            self.dtls_deadline = None;
            if self.dtls_state == DtlsState::Connecting {
                debug!("peer: DTLS did not connect in time");
                self.dtls_state = DtlsState::Failed;
            }
        }
        self.pump();
    }

    /// The next deadline of any part.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.ice.poll_timeout();
        let mut take = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if let Some(d) = &self.dtls {
            take(d.poll_timeout());
        }
        if let Some(a) = &self.sctp {
            take(a.poll_timeout());
        }
        take(self.sctp_connect_at);
        take(self.dtls_deadline);
        next
    }

    /// The next datagram to send, written into `buf` (at least the MTU): ICE first, then
    /// DTLS records over the selected pair, sealing one SCTP packet at a time.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        let out = self.next_transmit(buf)?;
        let Some((source, destination, range)) = out else {
            return Ok(None);
        };
        let payload: &'b [u8] = buf.get(range).unwrap_or_default();
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += payload.len() as u64;
        Ok(Some(Transmit {
            source,
            destination,
            payload,
        }))
    }

    fn next_transmit(&mut self, buf: &mut [u8]) -> Result<Option<Out>, BufferTooSmall> {
        let base = buf.as_ptr() as usize;
        if let Some(t) = self.ice.poll_transmit(buf)? {
            let out = detach(base, &t);
            return Ok(Some(out));
        }
        let Some((local, remote)) = self.selected else {
            return Ok(None);
        };
        if !self.closed && self.ice.send_to_selected(&[]).is_none() {
            // Consent lost (RFC 7675 §5.1): nothing but ICE goes out.
            return Ok(None);
        }
        let Some(endpoint) = &mut self.dtls else {
            return Ok(None);
        };
        if let Some(t) = endpoint.poll_transmit(buf)? {
            let range = range_in(base, t.payload);
            return Ok(Some((Some(local), Some(remote), range)));
        }
        if !endpoint.is_connected() {
            return Ok(None);
        }
        // One SCTP packet into one record: DTLS keeps it until we poll it out just below.
        let sealed = match self
            .sctp
            .as_mut()
            .map(|a| a.poll_transmit(buf))
            .transpose()?
        {
            Some(Some(t)) => endpoint.send(t.payload).is_ok(),
            _ if self.dtls_close_pending => {
                // `close()` ran and SCTP's ABORT is out: now the close_notify.
                self.dtls_close_pending = false;
                endpoint.close();
                true
            }
            _ => return Ok(None),
        };
        if !sealed {
            return Ok(None);
        }
        if let Some(t) = endpoint.poll_transmit(buf)? {
            let range = range_in(base, t.payload);
            return Ok(Some((Some(local), Some(remote), range)));
        }
        Ok(None)
    }

    /// The next event. Messages and channel labels borrow the Peer until the next call.
    ///
    /// Order: connection-level events (candidates, states, the selected pair), then what each
    /// channel has to announce (open before close), then what SCTP delivers (messages, remote
    /// channels, closes), so a channel's `ChannelOpen` always precedes its messages.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        // The event that refused a stream borrowed the association; its reset happens now.
        if let (Some(stream), Some(a)) = (self.refused_stream.take(), &mut self.sctp) {
            a.close_channel(stream);
        }
        while let Some(q) = self.queue.pop_front() {
            match q {
                Queued::LocalCandidate(address, kind) => {
                    // Skipped if an ICE restart replaced it meanwhile.
                    if let Some(c) = self
                        .ice
                        .local_candidates()
                        .find(|c| c.address == address && c.kind == kind)
                    {
                        return Some(Event::LocalCandidate(*c));
                    }
                }
                Queued::Ready(r) => return Some(Self::expand(r)),
            }
        }
        if let Some(slot) = self.channels.iter().position(|c| c.announce_open) {
            let c = self.channels.get_mut(slot)?;
            c.announce_open = false;
            return Some(Event::ChannelOpen {
                channel: ChannelId(slot as u16),
                label: c.label.as_str(),
                protocol: c.protocol.as_str(),
                options: c.options,
                remote: c.remote,
            });
        }
        if let Some(slot) = self.channels.iter().position(|c| c.announce_close) {
            let c = self.channels.get_mut(slot)?;
            *c = FREE;
            self.stats.channels_closed += 1;
            return Some(Event::ChannelClosed(ChannelId(slot as u16)));
        }
        self.poll_sctp_event()
    }

    /// One SCTP event as a Peer event.
    ///
    /// The Peer's channel table mirrors the association's (same size; SCTP refuses what does
    /// not fit, labels longer than [`MAX_LABEL`] included, and frees its entry only through a
    /// `ChannelClosed` that reaches this function before any later open), and every pending
    /// announcement above is handed out before SCTP is polled, so a remote channel always finds
    /// a free slot and a message always its channel. Should that ever break, the stream is
    /// reset and [`Event::ChannelRefused`] says so: nothing is reported under a made-up id.
    fn poll_sctp_event(&mut self) -> Option<Event<'_>> {
        let assoc = self.sctp.as_mut()?;
        let ev = assoc.poll_event()?;
        let channels = &mut self.channels;
        let slot_of = |channels: &[Channel], stream: u16| {
            channels
                .iter()
                .position(|c| c.state != ChannelState::Free && c.stream == Some(stream))
        };
        Some(match ev {
            sctp::Event::Connected => {
                self.sctp_established = true;
                for c in channels.iter_mut() {
                    if c.state == ChannelState::AwaitSctp {
                        c.state = ChannelState::Open;
                        c.announce_open = true;
                        self.stats.channels_opened += 1;
                    }
                }
                Event::SctpConnected
            }
            sctp::Event::ChannelOpen {
                id,
                label,
                protocol,
                options,
            } => {
                let slot = channels.iter().position(|c| c.state == ChannelState::Free);
                let texts = Text::copy_from(label).zip(Text::copy_from(protocol));
                let (Some(slot), Some((label_t, protocol_t))) = (slot, texts) else {
                    self.refused_stream = Some(id);
                    self.stats.refused_channels += 1;
                    return Some(Event::ChannelRefused { stream: id });
                };
                if let Some(c) = channels.get_mut(slot) {
                    *c = Channel {
                        state: ChannelState::Open,
                        stream: Some(id),
                        label: label_t,
                        protocol: protocol_t,
                        options,
                        remote: true,
                        ..FREE
                    };
                }
                self.stats.channels_opened += 1;
                Event::ChannelOpen {
                    channel: ChannelId(slot as u16),
                    label,
                    protocol,
                    options,
                    remote: true,
                }
            }
            sctp::Event::Message {
                channel,
                binary,
                data,
            } => {
                let Some(slot) = slot_of(channels, channel) else {
                    self.refused_stream = Some(channel);
                    self.stats.refused_channels += 1;
                    return Some(Event::ChannelRefused { stream: channel });
                };
                if let Some(c) = channels.get_mut(slot) {
                    c.stats.messages_received += 1;
                    c.stats.bytes_received += data.len() as u64;
                }
                self.stats.messages_received += 1;
                Event::Message {
                    channel: ChannelId(slot as u16),
                    binary,
                    data,
                }
            }
            sctp::Event::BufferedAmountLow(stream) => match slot_of(channels, stream) {
                Some(slot) => Event::BufferedAmountLow(ChannelId(slot as u16)),
                // A channel closed meanwhile: its low mark means nothing to anyone.
                None => Event::ChannelRefused { stream },
            },
            sctp::Event::ChannelClosed(stream) => match slot_of(channels, stream) {
                Some(slot) => {
                    if let Some(c) = channels.get_mut(slot) {
                        *c = FREE;
                    }
                    self.stats.channels_closed += 1;
                    Event::ChannelClosed(ChannelId(slot as u16))
                }
                // The reset of a stream the Peer refused is done.
                None => Event::ChannelRefused { stream },
            },
            sctp::Event::Closed(reason) => {
                self.sctp_established = false;
                for c in channels.iter_mut() {
                    if c.state != ChannelState::Free {
                        c.state = ChannelState::Closing;
                        c.announce_close = true;
                    }
                }
                Event::SctpClosed(reason)
            }
        })
    }

    fn expand(q: Ready) -> Event<'static> {
        match q {
            Ready::GatheringComplete => Event::GatheringComplete,
            Ready::IceState(s) => Event::IceState(s),
            Ready::ConnectionState(s) => Event::ConnectionState(s),
            Ready::SelectedPair(local, remote) => Event::SelectedPair { local, remote },
            Ready::RemoteCandidatesRefused(n) => Event::RemoteCandidatesRefused(n),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Internal plumbing
    // -----------------------------------------------------------------------------------------

    /// Queues a connection-level event. A full queue (a host that has not drained for a long
    /// time) coalesces instead of dropping: the newest queued event of the same kind takes the
    /// new value (the latest state, the sum of refused candidates), so the host still learns
    /// where things stand. With one entry per kind and per local candidate the queue cannot
    /// overflow; `dropped_events` stays a tripwire that tests assert is zero.
    fn push(&mut self, q: Queued) {
        let Err(q) = self.queue.push_back(q) else {
            return;
        };
        match self.queue.iter_mut().rev().find(|old| old.same_kind(&q)) {
            Some(old) => {
                *old = match (*old, q) {
                    (
                        Queued::Ready(Ready::RemoteCandidatesRefused(a)),
                        Queued::Ready(Ready::RemoteCandidatesRefused(b)),
                    ) => Queued::Ready(Ready::RemoteCandidatesRefused(a.saturating_add(b))),
                    _ => q,
                };
                self.stats.coalesced_events += 1;
            }
            None => self.stats.dropped_events += 1,
        }
    }

    /// After any input: ICE events become Peer events, the selected pair is tracked, and the
    /// connection state is recomputed.
    fn pump(&mut self) {
        while let Some(ev) = self.ice.poll_event() {
            match ev {
                ice::Event::LocalCandidate(c) => {
                    self.gathered = false;
                    self.push(Queued::LocalCandidate(c.address, c.kind));
                }
                ice::Event::GatheringComplete => {
                    self.gathered = true;
                    self.push(Queued::Ready(Ready::GatheringComplete));
                }
                ice::Event::StateChanged(s) => {
                    if s != self.ice_state {
                        self.ice_state = s;
                        self.push(Queued::Ready(Ready::IceState(s)));
                    }
                }
                ice::Event::SelectedPair { .. } | ice::Event::RoleChanged(_) => {}
            }
            let selected = self.ice.selected_pair();
            if selected != self.selected {
                self.selected = selected;
                if let Some((l, r)) = selected {
                    self.push(Queued::Ready(Ready::SelectedPair(l, r)));
                }
            }
        }
        self.update_connection_state();
        // The DTLS clock starts once there is both a role and a path, and stops with DTLS.
        match self.dtls_state {
            DtlsState::Connecting if self.selected.is_some() => {
                if self.dtls_deadline.is_none() {
                    self.dtls_deadline = Some(self.now + self.config.dtls_timeout);
                }
            }
            _ => self.dtls_deadline = None,
        }
    }

    fn update_connection_state(&mut self) {
        let ice_ok = matches!(self.ice_state, IceState::Connected | IceState::Completed);
        let state = if self.closed {
            ConnectionState::Closed
        } else if self.ice_state == IceState::Failed || self.dtls_state == DtlsState::Failed {
            ConnectionState::Failed
        } else if self.ice_state == IceState::Disconnected {
            ConnectionState::Disconnected
        } else if self.dtls_state == DtlsState::Closed {
            ConnectionState::Closed
        } else if ice_ok && self.dtls_state == DtlsState::Connected {
            ConnectionState::Connected
        } else if self.ice_state == IceState::New && self.dtls_state == DtlsState::New {
            ConnectionState::New
        } else {
            ConnectionState::Connecting
        };
        if state != self.connection_state {
            self.connection_state = state;
            self.push(Queued::Ready(Ready::ConnectionState(state)));
            if state == ConnectionState::Failed
                && let Some(a) = &mut self.sctp
            {
                // Nothing can reach the peer any more: the channels close now (as in a
                // browser) instead of after SCTP's own timers.
                a.abort(self.now);
            }
        }
    }
}
