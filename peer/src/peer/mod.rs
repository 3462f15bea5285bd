//! The Peer: ICE + DTLS + SCTP (+ SRTP keys) behind one set of verbs, negotiated with JSEP.
//!
//! The rooms: `config` (what a host chooses), `types` (what a host sees: events, states,
//! errors, stats), `signaling` (candidates and descriptions), `transport` (DTLS, SCTP and SRTP
//! through their life), `channels` (data channels), `events` (what `poll_event` hands out) and
//! `verbs` (the five verbs and `close`).
//!
//! ```text
//!   host sockets --add_local_candidate--> ICE agent --Event::LocalCandidate--> signalling
//!   create_offer / create_answer --> SDP text --> set_local_description(offer|pranswer|answer)
//!   set_remote_description(offer|pranswer|answer) --> ICE credentials + candidates, fingerprint,
//!                                            a=setup (our DTLS role), sctp-port, max size
//!
//!   datagram --handle_packet--> demux (RFC 7983)
//!       [0..3]   STUN  --> ICE agent (checks, consent) --> selected pair
//!       [20..63] DTLS  --> (no role yet: kept in the early stash, replayed later)
//!                          DTLS endpoint --ApplicationData--> SCTP association
//!                                            --DCEP/DATA--> Event::ChannelOpen / Message
//!       [128..191] SRTP/SRTCP --> unprotected in place with the DTLS-SRTP keys (counted);
//!                                 without transceivers dropped unread (no keys are made)
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

use peerless_base::{BufferTooSmall, Drbg, Instant, Queue, SEED_LEN, Transmit, debug};
use peerless_dtls as dtls;
use peerless_ice as ice;
use peerless_sctp as sctp;
use peerless_sdp as sdp;
use peerless_srtp as srtp;
pub use sctp::Area;
use sdp::attr::{HashFunction, Setup};
use sdp::{Session, jsep};

use crate::demux::{self, Protocol};
use crate::text::Text;

mod channels;
mod config;
mod data_channel;
mod descriptions;
mod events;
mod ice_tcp;
mod mdns;
mod media;
mod signaling;
mod stats_report;
mod transport;
mod types;
mod verbs;
mod views;

use channels::{Channel, ChannelState, FREE};
use descriptions::Descriptions;
use events::{Queued, Ready};
use transport::{DtlsState, EarlyStash, Phase, Transport, idle_dtls_config, idle_sctp_config};

pub use config::{Config, DefaultStorage, RELAY_OVERHEAD, SmallStorage, Storage};
pub use data_channel::{DataChannel, ReadyState};
pub use ice::IceState;
pub use mdns::SignalledCandidate;
use media::Media;
pub use media::{
    AUDIO_CODECS, AUDIO_EXTENSIONS, AreaUse, BandwidthUsage, BitrateLimitsError, Codec, Direction,
    EstimateParts, KeyframeKind, MAX_PREFERENCES, MAX_TONES, MEDIA_AREAS, MediaData, MediaError,
    MediaKind, MediaStats, RtpSource, TransceiverId, VIDEO_CODECS, VIDEO_EXTENSIONS,
};
use sctp::StreamId;
pub use sctp::{ChannelOptions, MessageKind, Reliability};
pub use stats_report::{
    CandidatePairStats, CandidateStats, CertificateStats, CodecStats, DataChannelStats,
    DtlsTransportState, InboundRtpStats, OutboundRtpStats, PairTraffic, PeerConnectionStats,
    RemoteInboundRtpStats, RemoteOutboundRtpStats, StatsEntry, StatsId, StatsValue, TransportStats,
};
pub use transport::SrtpContexts;
use types::Applied;
pub use types::{
    CandidateError, ChannelError, ChannelId, ChannelInit, ChannelStats, ConnectionState, Event,
    IceGatheringState, SdpError, SdpType, SendError, SignalingState, Stats,
};
pub use views::{DtlsFailure, DtlsTransport, IceTransport, SctpTransport, SctpTransportState};

/// Default DTLS buffer size (reassembly and flight, each): a fragmented browser ClientHello
/// with post-quantum key shares fits. Also the size of the early DTLS stash.
pub const DTLS_BUFFER: usize = 4096;
/// Default room for our own descriptions: the current one (the base of the next offer) and,
/// while an exchange is open, the pending one beside it (see [`Peer::pending_local_description`]).
pub const LOCAL_SDP_CAPACITY: usize = 8192;
/// Default room for the remote descriptions (an offer is answered later, when the host asks),
/// current and pending sharing it: during a renegotiation both must fit together. A
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
/// As DTLS server, how long to wait for the client's INIT before sending ours: several
/// round trips, so a client that initiates (every WebRTC stack does) is never collided with.
const SCTP_PASSIVE_WAIT: core::time::Duration = core::time::Duration::from_secs(3);
/// DTLS record overhead budget (header 13 + explicit nonce 8 + tag 16, rounded up).
const DTLS_OVERHEAD: usize = 48;

/// A WebRTC peer (`RTCPeerConnection`) with data channels, as a sans-IO machine.
///
/// `CHUNKS` and `CHANNELS` size the SCTP association (received chunks in reassembly, data
/// channels); the Peer's own channel table has `CHANNELS` slots too. `DTLS` sizes the DTLS
/// reassembly and flight buffers and the early DTLS stash; `LOCAL_SDP` and `REMOTE_SDP` the
/// descriptions it keeps (each side's current and pending ones share one buffer, so a pending
/// description must fit beside the current one, else `SdpError::TooLarge`).
///
/// `S` is the SCTP send and receive areas' storage ([`Area`]), not part of
/// `size_of::<Peer>()`: borrowed, `&mut [u8]` (the default is `&'static mut [u8]`, what
/// firmware lends from its statics; [`Storage`] holds both areas), or owned, `Vec<u8>`,
/// `Box<[u8]>`, `[u8; N]`, so a server keeps Peers in a struct or a `HashMap` with no
/// lifetime:
///
/// ```
/// use std::collections::HashMap;
/// use peerless::{Config, Peer, Storage};
/// use peerless_base::{Drbg, Instant};
/// use peerless_dtls::{Certificate, Validity};
///
/// let mut rng = Drbg::from_seed(&[1; 32], b"doc");
/// let cert = Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 30))?;
/// // Owned: the Peer can be moved into a map and dropped with it.
/// let mut sessions: HashMap<u32, Peer<Box<[u8]>>> = HashMap::new();
/// let (send, recv) = (vec![0u8; 65536].into(), vec![0u8; 65536].into());
/// sessions.insert(7, Peer::new(Config::new(cert.clone(), [2; 32]), Instant::ZERO, send, recv));
/// // Borrowed: the areas outlive the Peer (a `static` on a microcontroller).
/// let mut storage = Box::new(Storage::<65536, 65536>::new());
/// let (send, recv) = storage.areas();
/// let mut borrowed: Peer<&mut [u8]> = Peer::new(Config::new(cert, [3; 32]), Instant::ZERO, send, recv);
/// let owned = sessions.get_mut(&7).ok_or("no session")?;
/// owned.create_data_channel("chat", Default::default()).map_err(|e| format!("{e:?}"))?;
/// borrowed.create_data_channel("chat", Default::default()).map_err(|e| format!("{e:?}"))?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # The drain rule
///
/// After every `handle_packet`, `handle_timeout` or command, call `poll_transmit` until it
/// returns `Ok(None)` and `poll_event` until `None`, then arm a timer at `poll_timeout()`.
// Fuzzing only (cargo-fuzz's `--cfg fuzzing`): each input starts from a cloned connected Peer;
// a clone in a product would reuse its DTLS and SRTP nonces.
#[cfg_attr(fuzzing, derive(Clone))]
pub struct Peer<
    S = &'static mut [u8],
    const CHUNKS: usize = 256,
    const CHANNELS: usize = 32,
    const DTLS: usize = DTLS_BUFFER,
    const LOCAL_SDP: usize = LOCAL_SDP_CAPACITY,
    const REMOTE_SDP: usize = REMOTE_SDP_CAPACITY,
    const REMOTE_CANDIDATES: usize = REMOTE_CANDIDATE_CAPACITY,
    const TRANSCEIVERS: usize = 4,
> {
    config: Config,
    rng: Drbg,
    now: Instant,
    session_id: u64,
    fingerprint: Text<128>,
    signaling: SignalingState,
    ice: Agent<REMOTE_CANDIDATES>,
    hosts: [Option<SocketAddr>; MAX_HOSTS],
    /// TCP listeners offered as passive candidates (see `ice_tcp`).
    tcp_hosts: [Option<SocketAddr>; ice_tcp::MAX_TCP_HOSTS],
    remote_ufrag: Text<256>,
    remote_fingerprint: Option<dtls::Fingerprint>,
    /// DTLS, SCTP and SRTP, once our DTLS role is known.
    transport: Transport<S, CHUNKS, CHANNELS, DTLS>,
    /// The DTLS endpoint, idle until the transport starts (`Transport::Running`), then
    /// restarted in place in our role: kept out of the transport so that starting it never
    /// builds an endpoint on the stack.
    dtls: dtls::Endpoint<DTLS, DTLS>,
    remote_sctp_port: u16,
    remote_max_message_size: Option<u64>,
    local_max_message_size: usize,
    channels: [Channel; CHANNELS],
    queue: Queue<Queued, EVENT_QUEUE>,
    /// A stream [`Event::ChannelRefused`] reported, reset on the next `poll_event`.
    refused_stream: Option<u16>,
    /// Our current and pending descriptions, sharing one buffer (see `descriptions`).
    local: Descriptions<LOCAL_SDP>,
    /// The peer's current and pending descriptions.
    remote: Descriptions<REMOTE_SDP>,
    data_mid: Text<32>,
    /// The data section's index in the descriptions (`sdpMLineIndex`).
    data_mline: u16,
    ice_state: IceState,
    connection_state: ConnectionState,
    selected: Option<(SocketAddr, SocketAddr)>,
    gathering: IceGatheringState,
    /// `NegotiationNeeded` was raised and no negotiation has settled the need since.
    negotiation_needed: bool,
    closed: bool,
    stats: Stats,
    report: stats_report::ReportCounters,
    /// Transceivers, their streams and the media areas.
    media: Media<S, TRANSCEIVERS>,
    /// `.local` remote candidates waiting for mDNS (`mdns.rs`).
    mdns: mdns::MdnsCandidates,
}

/// What a new (or restarted) Peer draws from its seed.
struct Drawn {
    rng: Drbg,
    session_id: u64,
    ice_seed: [u8; SEED_LEN],
    cname: u64,
    twcc: u16,
}

impl Drawn {
    fn from(config: &Config) -> Self {
        let mut rng = Drbg::from_seed(&config.seed, b"peerless-peer");
        // Everything Peer::new draws, in one DRBG request (each request costs three HMACs
        // whatever its length up to 32 bytes, and two more per 32 bytes past it): the session
        // id, the ICE agent's seed, the CNAME and the first transport-wide sequence number.
        let mut random = [0u8; 8 + SEED_LEN + 8 + 8];
        rng.fill(&mut random);
        let (session_id, rest) = random.split_at(8);
        let (ice_seed, rest) = rest.split_at(SEED_LEN);
        let (cname, twcc) = rest.split_at(8);
        let be64 = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or_default());
        Drawn {
            rng,
            session_id: be64(session_id) >> 1,
            ice_seed: ice_seed.try_into().unwrap_or_default(),
            cname: be64(cname),
            twcc: be64(twcc) as u16,
        }
    }
}

/// The offset range of `part` inside `whole` (both from the same buffer).
fn range_in(base: usize, part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(base);
    start..start + part.len()
}

/// A sealed-off copy of a transmit's addresses and where its payload sits in the buffer, so
/// the buffer can be lent again (a conditional return of a reborrow would pin it).
type Out = (SocketAddr, SocketAddr, Range<usize>);

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

/// Our certificate's `sha-256 AB:CD:...` fingerprint into `text` (emptied first), written
/// without `core::fmt`: dtls's `Display` of it would link the formatting machinery into every
/// firmware. 7 + 95 characters always fit.
fn write_fingerprint<const N: usize>(text: &mut Text<N>, certificate: &dtls::Certificate) {
    text.clear();
    let fp = certificate.fingerprint(dtls::HashAlgorithm::Sha256);
    let mut hex = [0u8; 3 * 32];
    let _ = text.push(fp.algorithm().name());
    let _ = text.push(" ");
    let _ = text.push(sdp::attr::format_fingerprint(fp.digest(), &mut hex).unwrap_or(""));
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
    /// A new Peer at `now` (`new RTCPeerConnection(config)`), with the SCTP send and receive
    /// areas, borrowed or owned (see [`Area`] and [`Storage`]).
    pub fn new(config: Config, now: Instant, send_area: S, recv_area: S) -> Self {
        let Drawn {
            rng,
            session_id,
            ice_seed,
            cname,
            twcc,
        } = Drawn::from(&config);
        let mut fingerprint = Text::new();
        write_fingerprint(&mut fingerprint, &config.certificate);
        let ice = Agent::new(
            Self::agent_config(&config, ice_seed, ice::Role::Controlling, None),
            now,
        );
        let media = Media::new(cname, twcc);
        let mdns = mdns::MdnsCandidates::new(now);
        // Reassembly keeps per-chunk headers: announce what the receive area can hold.
        let local_max_message_size = recv_area.as_ref().len().saturating_sub(4096).max(1024);
        Peer {
            rng,
            now,
            session_id,
            fingerprint,
            signaling: SignalingState::Stable,
            ice,
            hosts: [None; MAX_HOSTS],
            tcp_hosts: [None; ice_tcp::MAX_TCP_HOSTS],
            remote_ufrag: Text::new(),
            remote_fingerprint: None,
            transport: Transport {
                sctp: sctp::Association::new(idle_sctp_config(), now, send_area, recv_area),
                phase: Phase::AwaitRole(EarlyStash::new()),
            },
            // Never used before `start_transport` restarts it with our role and a seed.
            dtls: dtls::Endpoint::new(idle_dtls_config(&config.certificate), now),
            remote_sctp_port: 5000,
            remote_max_message_size: Some(jsep::IMPLICIT_MAX_MESSAGE_SIZE),
            local_max_message_size,
            channels: [FREE; CHANNELS],
            queue: Queue::new(),
            refused_stream: None,
            local: Descriptions::new(),
            remote: Descriptions::new(),
            data_mid: Text::new(),
            data_mline: 0,
            ice_state: IceState::New,
            connection_state: ConnectionState::New,
            selected: None,
            gathering: IceGatheringState::New,
            negotiation_needed: false,
            closed: false,
            stats: Stats::default(),
            report: stats_report::ReportCounters::default(),
            media,
            mdns,
            config,
        }
    }

    /// A new RTCPeerConnection in this Peer's memory, keeping its areas: every part starts
    /// over in place as [`Peer::new`] would make it from `config` at `now` (the ICE agent, the
    /// descriptions, the channels, the queues, DTLS and the SCTP association, the media state),
    /// so an application makes its Peer once (at boot, into a static) and restarts it per
    /// session, without a second Peer on the stack. Nothing of the previous session survives:
    /// its events, channels, candidates, host sockets (add them again), descriptions, counters
    /// and keys are gone (the DTLS, SCTP, ICE and SRTP secrets are wiped as a drop wipes them).
    /// The SCTP send and receive areas stay lent to the Peer; media areas lent with
    /// [`Peer::lend_media_area`] are released (dropped) and must be lent again.
    ///
    /// A restart in the middle of a handshake abandons it without a word to the peer (call
    /// [`Peer::close`] and drain first to tell it). With the same `config` and `now`, the
    /// restarted Peer behaves byte for byte as a new one.
    pub fn restart(&mut self, config: Config, now: Instant) {
        let Drawn {
            rng,
            session_id,
            ice_seed,
            cname,
            twcc,
        } = Drawn::from(&config);
        let agent = Self::agent_config(&config, ice_seed, ice::Role::Controlling, None);
        // Every field by name (no `..`): a field added to the Peer fails to compile here
        // until its restart is written.
        let Peer {
            config: self_config,
            rng: self_rng,
            now: self_now,
            session_id: self_session_id,
            fingerprint,
            signaling,
            ice,
            hosts,
            tcp_hosts,
            remote_ufrag,
            remote_fingerprint,
            transport,
            dtls,
            remote_sctp_port,
            remote_max_message_size,
            // The areas are the same: what they can hold is too.
            local_max_message_size: _,
            channels,
            queue,
            refused_stream,
            local,
            remote,
            data_mid,
            data_mline,
            ice_state,
            connection_state,
            selected,
            gathering,
            negotiation_needed,
            closed,
            stats,
            report,
            media,
            mdns,
        } = self;
        // The old generator is dropped (and wiped) here.
        *self_rng = rng;
        *self_now = now;
        *self_session_id = session_id;
        write_fingerprint(fingerprint, &config.certificate);
        *signaling = SignalingState::Stable;
        ice.reset(agent, now);
        *hosts = [None; MAX_HOSTS];
        *tcp_hosts = [None; ice_tcp::MAX_TCP_HOSTS];
        remote_ufrag.clear();
        *remote_fingerprint = None;
        transport.reset(idle_sctp_config(), now);
        // Idle as in `new`; the old handshake's secrets are wiped.
        dtls.restart(idle_dtls_config(&config.certificate), now);
        *remote_sctp_port = 5000;
        *remote_max_message_size = Some(jsep::IMPLICIT_MAX_MESSAGE_SIZE);
        channels.fill(FREE);
        *queue = Queue::new();
        *refused_stream = None;
        local.clear();
        remote.clear();
        data_mid.clear();
        *data_mline = 0;
        *ice_state = IceState::New;
        *connection_state = ConnectionState::New;
        *selected = None;
        *gathering = IceGatheringState::New;
        *negotiation_needed = false;
        *closed = false;
        *stats = Stats::default();
        *report = stats_report::ReportCounters::default();
        *media = Media::new(cname, twcc);
        *mdns = mdns::MdnsCandidates::new(now);
        *self_config = config;
    }

    fn agent_config(
        config: &Config,
        seed: [u8; SEED_LEN],
        role: ice::Role,
        credentials: Option<ice::Credentials>,
    ) -> ice::Config {
        let mut c = config.ice.unwrap_or_else(|| ice::Config::new(role, seed));
        c.role = role;
        c.seed = seed;
        c.stun_servers = config.stun_servers;
        c.turn_servers = config.turn_servers;
        c.relay_only = config.relay_only;
        c.turn_dual_stack = config.turn_dual_stack;
        if let Some(creds) = credentials {
            c.credentials = Some(creds);
        }
        c
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

    /// `iceGatheringState`.
    #[must_use]
    pub fn ice_gathering_state(&self) -> IceGatheringState {
        self.gathering
    }

    /// Our certificate's SHA-256 fingerprint as SDP writes it (`sha-256 AB:CD:...`).
    #[must_use]
    pub fn local_fingerprint(&self) -> &str {
        self.fingerprint.as_str()
    }

    /// Our DTLS role, once negotiated.
    #[must_use]
    pub fn dtls_role(&self) -> Option<dtls::Role> {
        self.transport.running().map(|_| self.dtls.role())
    }

    /// The largest message we accept (our `a=max-message-size`).
    #[must_use]
    pub fn local_max_message_size(&self) -> usize {
        self.local_max_message_size
    }

    /// The SRTP contexts (once DTLS is connected and a profile was negotiated): protect RTP
    /// with `outbound` and send it over [`Peer::selected_pair`].
    /// A Peer without transceivers has none: it negotiates use_srtp but makes no contexts.
    pub fn srtp(&mut self) -> Option<&mut SrtpContexts> {
        if !Self::HAS_MEDIA {
            return None;
        }
        self.transport.running_mut()?.srtp.as_mut()
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
        self.channel_slot(channel).and_then(|c| c.stream)
    }

    /// A channel's label.
    #[must_use]
    pub fn label(&self, channel: ChannelId) -> Option<&str> {
        self.channel_slot(channel).map(|c| c.label.as_str())
    }

    /// Whether the channel is open (`readyState == "open"`).
    #[must_use]
    pub fn is_open(&self, channel: ChannelId) -> bool {
        self.channel_slot(channel)
            .is_some_and(|c| c.state == ChannelState::Open)
    }

    /// A channel's counters.
    #[must_use]
    pub fn channel_stats(&self, channel: ChannelId) -> Option<ChannelStats> {
        self.channel_slot(channel).map(|c| c.stats)
    }

    /// Counters for the whole connection (`getStats()`).
    #[must_use]
    pub fn stats(&self) -> Stats {
        let mut s = self.stats;
        s.ice = self.ice.stats();
        s.stun_rtt = self.ice.rtt();
        if let Some((sctp, _)) = self.transport.parts() {
            s.dtls = self.dtls.stats();
            s.sctp = sctp.stats();
        }
        s.dropped_media_no_area = self.media.dropped_no_area;
        s.dropped_media_unrouted = self.media.dropped_unrouted;
        s.dropped_media_malformed = self.media.dropped_malformed;
        s.dropped_media_undrained = self.media.dropped_undrained;
        s.selected_pair = self.selected;
        s
    }

    fn channel_slot(&self, channel: ChannelId) -> Option<&Channel> {
        self.channels
            .get(usize::from(channel.0))
            .filter(|c| c.state != ChannelState::Free)
    }
}
