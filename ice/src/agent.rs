//! The ICE agent: RFC 8445 (full and lite), RFC 8838 (trickle), RFC 7675 (consent freshness).
//!
//! ```text
//!  host sockets --add_local_candidate--> host candidates --(Ta)--> Binding to STUN servers --> srflx
//!  signalling --set_remote_credentials / add_remote_candidate / end_of_remote_candidates--+
//!                                                                                          v
//!  New -> Checking: pairs = host locals x remotes (same family), ordered by pair priority
//!           every Ta: triggered queue first, else the best Waiting pair (unfreezing by foundation)
//!           Binding request  USERNAME=theirs:ours PRIORITY ICE-CONTROLLING|ICE-CONTROLLED
//!                            [USE-CANDIDATE] MESSAGE-INTEGRITY(their pwd) FINGERPRINT
//!           <-- success (XOR-MAPPED-ADDRESS, MI with their pwd) -> pair valid (unknown mapped
//!                                                                    address: local prflx)
//!           <-- 487 -> switch role, check again          <-- request -> triggered check,
//!                                                             unknown source: remote prflx
//!        controlling: best valid pair, checked again with USE-CANDIDATE -> nominated
//!        controlled:  USE-CANDIDATE on a valid pair (or once its check succeeds) -> nominated
//!     -> Connected (selected = best nominated pair) -> Completed (checks done, end-of-candidates)
//!           consent: Binding request on the selected pair every 4-6 s; a response refreshes
//!           no response for 10 s -> Disconnected;  for 30 s -> Failed (sending stops)
//!  restart(): new ufrag/pwd, new checks; the old selected pair keeps carrying traffic (and its
//!             consent, with the old credentials) until a new pair is selected.
//! ```

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Drbg, Instant, Queue, SEED_LEN, Transmit, debug, trace};
use peerless_stun::{
    AttrType, Class, ErrorCode, Message, Method, Retransmit, RetransmitConfig, RetransmitStep,
    TransactionId, is_stun, peek_transaction_id,
};

use crate::candidate::{Candidate, CandidateType, Str, Transport, priority};

mod report;
pub use report::{CandidatePairState, PairView};

/// Up to this many STUN servers for server-reflexive gathering.
pub const MAX_STUN_SERVERS: usize = 4;
/// Responses waiting to be sent; a request that finds this full is dropped (the peer retries).
const RESPONSE_QUEUE: usize = 8;
/// Events waiting to be polled.
const EVENT_QUEUE: usize = 16;
/// Server-reflexive gathering jobs waiting for their Ta slot.
const GATHER_QUEUE: usize = 8;

/// Our role in the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// Picks the pair (the offerer, or the full agent facing a lite one).
    Controlling,
    /// Follows the controlling agent's nomination.
    Controlled,
}

/// The browser's `iceConnectionState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IceState {
    /// Nothing to check yet.
    New,
    /// Checks are running; no pair selected.
    Checking,
    /// A pair is selected; checks may still run or more candidates may come.
    Connected,
    /// A pair is selected, checks are done and the remote said end-of-candidates.
    Completed,
    /// Consent responses stopped coming (10 s); may come back.
    Disconnected,
    /// Every pair failed after end-of-candidates, or consent expired (30 s).
    Failed,
    /// [`Agent::close`] was called.
    Closed,
}

impl IceState {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            IceState::New => "new",
            IceState::Checking => "checking",
            IceState::Connected => "connected",
            IceState::Completed => "completed",
            IceState::Disconnected => "disconnected",
            IceState::Failed => "failed",
            IceState::Closed => "closed",
        }
    }
}

/// A username fragment and password (`a=ice-ufrag`, `a=ice-pwd`: RFC 8839 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The username fragment (4 to 32 characters here).
    pub ufrag: Str<32>,
    /// The password (22 to 64 characters here). `Debug` shows it: never log credentials.
    pub pwd: Str<64>,
}

/// Why credentials were rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CredentialsError {
    /// The ufrag is not 4 to 32 ice-chars (or contains ':').
    BadUfrag,
    /// The password is not 22 to 64 ice-chars.
    BadPassword,
}

impl core::fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CredentialsError::BadUfrag => "ICE ufrag is not 4 to 32 ice-chars",
            CredentialsError::BadPassword => "ICE password is not 22 to 64 ice-chars",
        })
    }
}

impl core::error::Error for CredentialsError {}

const ICE_CHARS: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Credentials {
    /// Checked credentials. RFC 8445 allows up to 256 characters; this agent stores 32 and 64,
    /// more than any browser sends.
    pub fn new(ufrag: &str, pwd: &str) -> Result<Self, CredentialsError> {
        let ok = |s: &str| s.bytes().all(|b| ICE_CHARS.contains(&b));
        if !(4..=32).contains(&ufrag.len()) || !ok(ufrag) {
            return Err(CredentialsError::BadUfrag);
        }
        if !(22..=64).contains(&pwd.len()) || !ok(pwd) {
            return Err(CredentialsError::BadPassword);
        }
        Ok(Credentials {
            ufrag: Str::copy_from(ufrag).ok_or(CredentialsError::BadUfrag)?,
            pwd: Str::copy_from(pwd).ok_or(CredentialsError::BadPassword)?,
        })
    }

    /// Fresh random credentials: an 8-character ufrag and a 24-character (144-bit) password.
    pub fn random(rng: &mut Drbg) -> Self {
        // 64 ice-chars: the low six bits of a random byte pick one without bias, so one DRBG
        // call serves all 32 characters (a call per character cost more than the rest of a
        // Peer's setup).
        let mut random = [0u8; 32];
        rng.fill(&mut random);
        let mut ufrag = [0u8; 8];
        let mut pwd = [0u8; 24];
        for (b, r) in ufrag.iter_mut().chain(pwd.iter_mut()).zip(random) {
            *b = ICE_CHARS[usize::from(r & 63)];
        }
        Credentials {
            ufrag: Str::copy_from(core::str::from_utf8(&ufrag).unwrap_or_default())
                .unwrap_or_default(),
            pwd: Str::copy_from(core::str::from_utf8(&pwd).unwrap_or_default()).unwrap_or_default(),
        }
    }
}

/// How the agent runs.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The initial role (a role conflict may change it).
    pub role: Role,
    /// An ICE-lite agent: answers checks, sends none (RFC 8445 §2.5). Always controlled.
    pub lite: bool,
    /// The host's 32 random bytes: credentials, tie-breaker and transaction ids come from them.
    pub seed: [u8; SEED_LEN],
    /// Our credentials; random when `None`.
    pub credentials: Option<Credentials>,
    /// STUN servers for server-reflexive candidates (empty: host candidates only).
    pub stun_servers: [Option<SocketAddr>; MAX_STUN_SERVERS],
    /// The pacing interval Ta (RFC 8445 §14.2: 50 ms).
    pub ta: Duration,
    /// Retransmission of requests to STUN servers (RFC 8489 defaults: RTO 500 ms, 7 sends,
    /// 16 RTOs of final wait: 39.5 s).
    pub retransmit: RetransmitConfig,
    /// Retransmission of connectivity and consent checks: RTO 500 ms doubling up to 1.6 s,
    /// 12 sends, 8 s of final wait, so a dead pair fails after 23.9 s (browsers take about
    /// 30 s) and a check gets through 30 % loss each way with probability 1 - 0.51^12. RFC
    /// 8445 §14.3 makes this configurable; RFC 8489's plain schedule would send 7 times over
    /// 39.5 s.
    pub check_retransmit: RetransmitConfig,
    /// The mean consent check interval (RFC 7675: 5 s, randomised +-20 %).
    pub consent_interval: Duration,
    /// Consent lost after this long without a response (RFC 7675: 30 s).
    pub consent_timeout: Duration,
    /// `disconnected` after this long without a consent response.
    pub disconnected_after: Duration,
    /// As controlling, how long to wait for better pairs after the first valid one before
    /// nominating the best valid pair (it nominates sooner once no better pair is pending).
    pub nomination_delay: Duration,
}

impl Config {
    /// RFC defaults for `role`, with the host's random `seed`.
    #[must_use]
    pub fn new(role: Role, seed: [u8; SEED_LEN]) -> Self {
        Config {
            role,
            lite: false,
            seed,
            credentials: None,
            stun_servers: [None; MAX_STUN_SERVERS],
            ta: Duration::from_millis(50),
            retransmit: RetransmitConfig::default(),
            check_retransmit: RetransmitConfig {
                rto: Duration::from_millis(500),
                max_sends: 12,
                last_wait: 16,
                max_rto: Some(Duration::from_millis(1600)),
            },
            consent_interval: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            disconnected_after: Duration::from_secs(10),
            nomination_delay: Duration::from_secs(1),
        }
    }

    /// An ICE-lite agent.
    #[must_use]
    pub fn with_lite(mut self) -> Self {
        self.lite = true;
        self.role = Role::Controlled;
        self
    }

    /// These local credentials instead of random ones.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Adds a STUN server (beyond [`MAX_STUN_SERVERS`] it is ignored).
    #[must_use]
    pub fn with_stun_server(mut self, server: SocketAddr) -> Self {
        if let Some(slot) = self.stun_servers.iter_mut().find(|s| s.is_none()) {
            *slot = Some(server);
        }
        self
    }
}

/// What the agent reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// A local candidate to signal to the peer (trickle): `a=` + its `Display`.
    LocalCandidate(Candidate),
    /// Every local candidate has been reported (signal end-of-candidates).
    GatheringComplete,
    /// `iceConnectionState` changed.
    StateChanged(IceState),
    /// Traffic now goes over this pair: emitted on every change of the selected pair, so a
    /// host keeps its copy of [`Agent::selected_pair`] by acting on this event and
    /// [`Event::SelectedPairCleared`] alone.
    SelectedPair {
        /// Our candidate (its base is the socket to send from).
        local: Candidate,
        /// The peer's candidate.
        remote: Candidate,
    },
    /// There is no selected pair any more: an ICE restart found no pair it could keep
    /// running (none was working, or consent had expired).
    SelectedPairCleared,
    /// A role conflict switched our role.
    RoleChanged(Role),
}

/// Why a command failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum AddCandidateError {
    /// The candidate string did not parse.
    Parse(crate::candidate::ParseError),
    /// TCP, a component other than 1, or a relayed local candidate: not handled.
    Unsupported,
    /// The candidate carries a ufrag of another generation.
    StaleGeneration,
    /// The table is full of candidates of higher priority.
    Full,
    /// The agent is closed.
    Closed,
}

impl core::fmt::Display for AddCandidateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            AddCandidateError::Parse(e) => core::fmt::Display::fmt(e, f),
            AddCandidateError::Unsupported => {
                f.write_str("candidate not handled (TCP, component other than 1, or relayed)")
            }
            AddCandidateError::StaleGeneration => {
                f.write_str("candidate of another ICE generation (ufrag)")
            }
            AddCandidateError::Full => f.write_str("candidate table full"),
            AddCandidateError::Closed => f.write_str("ICE agent closed"),
        }
    }
}

impl core::error::Error for AddCandidateError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            AddCandidateError::Parse(e) => Some(e),
            _ => None,
        }
    }
}

/// Counters (network input that was dropped never fails a call: it is counted here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// STUN packets handed to `handle_packet`.
    pub packets_received: u64,
    /// Dropped: not STUN or malformed.
    pub dropped_malformed: u64,
    /// Dropped: missing or wrong USERNAME, MESSAGE-INTEGRITY or FINGERPRINT.
    pub dropped_unauthenticated: u64,
    /// Dropped: a response matching no transaction (id or addresses).
    pub dropped_unmatched: u64,
    /// Dropped: arrived on an address that is no local candidate's base.
    pub dropped_unknown_local: u64,
    /// Dropped: a queue or table was full.
    pub dropped_full: u64,
    /// Binding requests answered.
    pub requests_answered: u64,
    /// Connectivity checks started (each transaction once).
    pub checks_sent: u64,
    /// Retransmissions of checks, consent and gathering requests.
    pub retransmits: u64,
    /// Consent requests started.
    pub consent_checks: u64,
    /// Role conflicts seen (487 sent or received, or a switch).
    pub role_conflicts: u64,
    /// Candidates or pairs evicted for higher-priority ones.
    pub evicted: u64,
}

#[derive(Clone, Copy, Debug)]
struct Local {
    cand: Candidate,
    base: SocketAddr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PairState {
    Frozen,
    Waiting,
    InProgress,
    Succeeded,
    Failed,
}

#[derive(Clone, Copy, Debug)]
struct Pair {
    local: usize,
    remote: usize,
    priority: u64,
    state: PairState,
    /// Waiting in the triggered-check queue; lower runs first.
    triggered: Option<u32>,
    /// The pair's next check carries USE-CANDIDATE (controlling).
    nominate_next: bool,
    /// Nominated: by our USE-CANDIDATE check succeeding, or by the peer's.
    nominated: bool,
    /// The peer nominated it before our check succeeded (controlled).
    nominate_on_success: bool,
    /// When a check on it last succeeded.
    last_success: Instant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TxnKind {
    Check {
        pair: usize,
        nominate: bool,
        controlling: bool,
    },
    Gather {
        local: usize,
    },
    Consent {
        old: bool,
    },
}

#[derive(Clone, Copy, Debug)]
struct Txn {
    tid: TransactionId,
    kind: TxnKind,
    source: SocketAddr,
    destination: SocketAddr,
    schedule: Retransmit,
    due: bool,
    /// Superseded: no retransmissions and no failure on timeout, a response still counts.
    cancelled: bool,
    /// The PRIORITY the request carries (for a local peer-reflexive candidate).
    prflx_priority: u32,
    /// When the request was first sent (round-trip time of unretransmitted requests).
    started: Instant,
}

#[derive(Clone, Copy, Debug)]
enum ResponseKind {
    Success,
    RoleConflict,
    UnknownAttributes { types: [AttrType; 4], count: usize },
}

#[derive(Clone, Copy, Debug)]
struct PendingResponse {
    tid: TransactionId,
    source: SocketAddr,
    destination: SocketAddr,
    kind: ResponseKind,
    old: bool,
}

#[derive(Clone, Copy, Debug)]
enum PendingEvent {
    LocalCandidate(usize, SocketAddr),
    GatheringComplete,
    State(IceState),
    Selected,
    Cleared,
    Role(Role),
}

#[derive(Clone, Copy, Debug)]
struct Selected {
    local: Candidate,
    remote: Candidate,
    base: SocketAddr,
    /// Index in the pair table; `None` once an ICE restart moved the table on.
    pair: Option<usize>,
    /// Chosen under the credentials an ICE restart replaced.
    old: bool,
    last_consent: Instant,
    next_consent: Instant,
}

/// An ICE agent with room for `CANDIDATES` local and `REMOTE_CANDIDATES` remote candidates,
/// `PAIRS` candidate pairs and `TRANSACTIONS` STUN transactions in flight.
///
/// The remote table's default, 16, holds what a browser signals for a multi-homed host (a host
/// and a server-reflexive candidate per interface and address family, three relayed ones per
/// TURN server) plus the peer-reflexive ones learned from its checks. A full table keeps a mix
/// of candidate types (see `eviction_victim`); what it refuses is an error
/// ([`AddCandidateError::Full`]) and counted (`Stats::dropped_full`).
///
/// The drain rule: after any `handle_*` call or command, drain [`Agent::poll_transmit`] and
/// [`Agent::poll_event`] until both return `None`, then wake at [`Agent::poll_timeout`].
pub struct Agent<
    const CANDIDATES: usize = 8,
    const PAIRS: usize = 32,
    const TRANSACTIONS: usize = 16,
    const REMOTE_CANDIDATES: usize = 16,
> {
    config: Config,
    rng: Drbg,
    role: Role,
    tie_breaker: u64,
    local_creds: Credentials,
    remote_creds: Option<Credentials>,
    /// The credentials an ICE restart replaced, while the old selected pair still runs.
    old_creds: Option<(Credentials, Credentials)>,
    locals: [Option<Local>; CANDIDATES],
    remotes: [Option<Candidate>; REMOTE_CANDIDATES],
    pairs: [Option<Pair>; PAIRS],
    txns: [Option<Txn>; TRANSACTIONS],
    responses: Queue<PendingResponse, RESPONSE_QUEUE>,
    events: Queue<PendingEvent, EVENT_QUEUE>,
    gather_queue: Queue<(usize, SocketAddr), GATHER_QUEUE>,
    gathering_reported: bool,
    remote_end_of_candidates: bool,
    selected: Option<Selected>,
    state: IceState,
    closed: bool,
    consent_expired: bool,
    /// When the next new transaction may start (Ta pacing).
    next_pace: Instant,
    /// When the controlling agent nominates even if better pairs are still pending.
    nominate_at: Option<Instant>,
    trigger_seq: u32,
    now: Instant,
    stats: Stats,
    /// Round-trip time of the last unretransmitted check or consent request.
    rtt: Option<Duration>,
}

impl<const C: usize, const P: usize, const T: usize, const R: usize> core::fmt::Debug
    for Agent<C, P, T, R>
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Agent")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("selected", &self.selected_pair())
            .field("stats", &self.stats)
            .field("pairs", &DebugList(&self.pairs))
            .field("transactions", &DebugList(&self.txns))
            .finish_non_exhaustive()
    }
}

/// Debug-prints the occupied slots of a table.
struct DebugList<'a, X, const N: usize>(&'a [Option<X>; N]);

impl<X: core::fmt::Debug, const N: usize> core::fmt::Debug for DebugList<'_, X, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.0.iter().flatten()).finish()
    }
}

/// RFC 8445 §6.1.2.3: pair priority from the controlling (g) and controlled (d) priorities.
const fn pair_priority(g: u32, d: u32) -> u64 {
    let (g, d) = (g as u64, d as u64);
    let (min, max) = if g < d { (g, d) } else { (d, g) };
    (min << 32) + 2 * max + if g > d { 1 } else { 0 }
}

/// A small stable hash for foundations: equal inputs, equal foundations.
fn foundation(kind: CandidateType, base: SocketAddr, server: Option<SocketAddr>) -> Str<32> {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    kind.as_str().bytes().for_each(&mut eat);
    match base.ip() {
        core::net::IpAddr::V4(ip) => ip.octets().into_iter().for_each(&mut eat),
        core::net::IpAddr::V6(ip) => ip.octets().into_iter().for_each(&mut eat),
    }
    if let Some(s) = server {
        match s.ip() {
            core::net::IpAddr::V4(ip) => ip.octets().into_iter().for_each(&mut eat),
            core::net::IpAddr::V6(ip) => ip.octets().into_iter().for_each(&mut eat),
        }
    }
    decimal(h)
}

/// `n` in decimal, as a foundation.
fn decimal(mut n: u32) -> Str<32> {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    Str::copy_from(core::str::from_utf8(digits.get(i..).unwrap_or_default()).unwrap_or_default())
        .unwrap_or_default()
}

/// USERNAME for a request from us to them: `theirs:ours`.
fn username(buf: &mut [u8; 65], theirs: &Credentials, ours: &Credentials) -> usize {
    let mut w = peerless_base::Writer::new(buf);
    w.bytes(theirs.ufrag.as_str().as_bytes());
    w.u8(b':');
    w.bytes(ours.ufrag.as_str().as_bytes());
    w.finish().unwrap_or(0)
}

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    /// A new agent at `now`.
    #[must_use]
    pub fn new(config: Config, now: Instant) -> Self {
        let mut rng = Drbg::from_seed(&config.seed, b"peerless-ice");
        let tie_breaker = rng.u64();
        let local_creds = config
            .credentials
            .unwrap_or_else(|| Credentials::random(&mut rng));
        Agent {
            role: if config.lite {
                Role::Controlled
            } else {
                config.role
            },
            config,
            rng,
            tie_breaker,
            local_creds,
            remote_creds: None,
            old_creds: None,
            locals: [None; CANDIDATES],
            remotes: [None; REMOTE_CANDIDATES],
            pairs: [None; PAIRS],
            txns: [None; TRANSACTIONS],
            responses: Queue::new(),
            events: Queue::new(),
            gather_queue: Queue::new(),
            gathering_reported: false,
            remote_end_of_candidates: false,
            selected: None,
            state: IceState::New,
            closed: false,
            consent_expired: false,
            next_pace: now,
            nominate_at: None,
            trigger_seq: 0,
            now,
            stats: Stats::default(),
            rtt: None,
        }
    }

    /// Our credentials (for `a=ice-ufrag` / `a=ice-pwd`).
    #[must_use]
    pub fn local_credentials(&self) -> &Credentials {
        &self.local_creds
    }

    /// The current role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether this is a lite agent.
    #[must_use]
    pub fn is_lite(&self) -> bool {
        self.config.lite
    }

    /// The tie-breaker sent in ICE-CONTROLLING / ICE-CONTROLLED.
    #[must_use]
    pub fn tie_breaker(&self) -> u64 {
        self.tie_breaker
    }

    /// The current `iceConnectionState`.
    #[must_use]
    pub fn state(&self) -> IceState {
        self.state
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The round-trip time of the last connectivity check or consent request answered
    /// without a retransmission (the selected pair's, once one is selected).
    #[must_use]
    pub fn rtt(&self) -> Option<Duration> {
        self.rtt
    }

    /// The selected pair as (our base to send from, the peer's address).
    #[must_use]
    pub fn selected_pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.selected.map(|s| (s.base, s.remote.address))
    }

    /// Whether data may go out now: a pair is selected, the peer still consents to receive
    /// on it (RFC 7675 §5.1: once consent expires, sending must stop) and the agent is open.
    #[must_use]
    pub fn can_send(&self) -> bool {
        self.selected.is_some() && !self.consent_expired && !self.closed
    }

    /// Whether `addr` is an address of the peer that ICE knows: the selected pair's remote
    /// (which an ICE restart keeps running) or any remote candidate, signalled or
    /// peer-reflexive. A host accepts non-STUN traffic (DTLS, media) only from these.
    #[must_use]
    pub fn knows_remote(&self, addr: SocketAddr) -> bool {
        self.selected.is_some_and(|s| s.remote.address == addr)
            || self.remotes.iter().flatten().any(|r| r.address == addr)
    }

    /// `payload` addressed over the selected pair, or `None` when [`Agent::can_send`] is false.
    #[must_use]
    pub fn send_to_selected<'b>(&self, payload: &'b [u8]) -> Option<Transmit<'b>> {
        if !self.can_send() {
            return None;
        }
        let (from, to) = self.selected_pair()?;
        Some(Transmit::between(from, to, payload))
    }

    /// Our local candidates, as signalled.
    pub fn local_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.locals.iter().flatten().map(|l| &l.cand)
    }

    /// The remote candidates known (signalled or peer-reflexive).
    pub fn remote_candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.remotes.iter().flatten()
    }

    /// Sets the peer's `a=ice-ufrag` and `a=ice-pwd`. Checks start once they are known.
    pub fn set_remote_credentials(
        &mut self,
        ufrag: &str,
        pwd: &str,
    ) -> Result<(), CredentialsError> {
        let creds = Credentials::new(ufrag, pwd)?;
        if self.remote_creds.is_some_and(|c| c != creds) {
            // New remote credentials without our restart: the peer restarted.
            self.restart_keep_credentials();
        }
        self.remote_creds = Some(creds);
        self.update_state();
        Ok(())
    }

    /// Adds a local host candidate for one of the host's sockets (UDP, component 1). Returns
    /// the candidate; it is also reported as [`Event::LocalCandidate`]. With STUN servers
    /// configured, server-reflexive gathering from this socket starts.
    pub fn add_local_candidate(
        &mut self,
        address: SocketAddr,
    ) -> Result<Candidate, AddCandidateError> {
        if self.closed {
            return Err(AddCandidateError::Closed);
        }
        if let Some(l) = self
            .locals
            .iter()
            .flatten()
            .find(|l| l.base == address && l.cand.kind == CandidateType::Host)
        {
            return Ok(l.cand);
        }
        let hosts = self
            .locals
            .iter()
            .flatten()
            .filter(|l| l.cand.kind == CandidateType::Host)
            .count();
        // Earlier sockets are preferred; IPv6 over IPv4 at equal order (RFC 8421 spirit).
        let local_pref = 65535u16
            .saturating_sub((hosts as u16).saturating_mul(256))
            .saturating_sub(if address.is_ipv4() { 128 } else { 0 });
        let cand = self.make_local(CandidateType::Host, address, address, local_pref, None);
        let idx = self.insert_local(Local {
            cand,
            base: address,
        })?;
        self.emit(PendingEvent::LocalCandidate(idx, address));
        if !self.config.lite {
            let servers = self.config.stun_servers;
            for server in servers
                .into_iter()
                .flatten()
                .filter(|s| s.is_ipv4() == address.is_ipv4())
            {
                if self.gather_queue.push((idx, server)).is_err() {
                    self.stats.dropped_full += 1;
                }
            }
        }
        self.gathering_reported = false;
        self.pair_local(idx);
        self.check_gathering_done();
        self.update_state();
        Ok(cand)
    }

    /// Adds a remote candidate from its `a=candidate` text (trickle: at any time).
    pub fn add_remote_candidate(&mut self, line: &str) -> Result<(), AddCandidateError> {
        let cand = Candidate::parse(line).map_err(AddCandidateError::Parse)?;
        self.add_remote(cand)
    }

    /// Adds a parsed remote candidate.
    pub fn add_remote(&mut self, cand: Candidate) -> Result<(), AddCandidateError> {
        if self.closed {
            return Err(AddCandidateError::Closed);
        }
        if cand.transport != Transport::Udp || cand.component != 1 {
            return Err(AddCandidateError::Unsupported);
        }
        if let (Some(u), Some(creds)) = (cand.ufrag, self.remote_creds)
            && u != creds.ufrag
        {
            return Err(AddCandidateError::StaleGeneration);
        }
        if let Some(i) = self
            .remotes
            .iter()
            .position(|r| r.is_some_and(|r| r.address == cand.address))
        {
            // RFC 8838 (receiving trickled candidates): a signalled candidate replaces the
            // peer-reflexive one learned first; its pairs keep their state and get the new
            // priority.
            if let Some(existing) = self.remotes.get_mut(i).and_then(|r| r.as_mut())
                && existing.kind == CandidateType::PeerReflexive
            {
                *existing = cand;
                self.reprioritise();
            }
            return Ok(());
        }
        let idx = self.insert_remote(cand)?;
        self.pair_remote(idx);
        self.update_state();
        Ok(())
    }

    /// The peer signalled `a=end-of-candidates`.
    pub fn end_of_remote_candidates(&mut self) {
        self.remote_end_of_candidates = true;
        self.update_state();
    }

    /// ICE restart: new local credentials, checks start over once the peer's new credentials
    /// and candidates arrive. The selected pair keeps carrying traffic (and consent, with the
    /// old credentials) until a new pair is selected.
    pub fn restart(&mut self) {
        let fresh = Credentials::random(&mut self.rng);
        self.keep_selected_pair_running();
        self.local_creds = fresh;
        self.remote_creds = None;
        self.reset_checks();
        // Our candidates are signalled again with the new description.
        for i in 0..CANDIDATES {
            if let Some(l) = self.locals.get(i).copied().flatten()
                && l.cand.kind != CandidateType::PeerReflexive
            {
                self.emit(PendingEvent::LocalCandidate(i, l.cand.address));
            }
        }
        self.gathering_reported = false;
        self.check_gathering_done();
        self.update_state();
    }

    /// The peer restarted (new credentials) while we did not: keep our credentials.
    fn restart_keep_credentials(&mut self) {
        self.keep_selected_pair_running();
        self.reset_checks();
    }

    /// Before the checks start over: the selected pair goes on under the credentials it was
    /// chosen with (kept as `old_creds`) until a new pair is selected. A second restart before
    /// that keeps the credentials of the pair that actually carries the traffic.
    fn keep_selected_pair_running(&mut self) {
        match (self.selected, self.remote_creds) {
            (Some(sel), _) if sel.old => {}
            (Some(sel), Some(remote)) if !self.consent_expired => {
                self.old_creds = Some((self.local_creds, remote));
                self.selected = Some(Selected {
                    pair: None,
                    old: true,
                    ..sel
                });
            }
            _ => {
                if self.selected.take().is_some() {
                    self.emit(PendingEvent::Cleared);
                }
                self.old_creds = None;
                self.consent_expired = false;
            }
        }
    }

    fn reset_checks(&mut self) {
        self.remotes = [None; REMOTE_CANDIDATES];
        self.pairs = [None; PAIRS];
        for t in &mut self.txns {
            if !matches!(
                t,
                Some(Txn {
                    kind: TxnKind::Consent { .. } | TxnKind::Gather { .. },
                    ..
                })
            ) {
                *t = None;
            }
        }
        for t in self.txns.iter_mut().flatten() {
            if let TxnKind::Consent { old } = &mut t.kind {
                *old = true;
            }
        }
        self.remote_end_of_candidates = false;
        self.nominate_at = None;
        // Peer-reflexive locals belong to the old checks.
        for l in &mut self.locals {
            if l.is_some_and(|l| l.cand.kind == CandidateType::PeerReflexive) {
                *l = None;
            }
        }
    }

    /// Closes the agent: checks and consent stop, nothing more is sent or answered. ICE has no
    /// goodbye on the wire (the peer's consent checks simply go unanswered).
    pub fn close(&mut self, now: Instant) {
        self.now.advance(now);
        self.closed = true;
        self.txns = [None; TRANSACTIONS];
        self.responses.clear();
        self.update_state();
    }

    /// Whether [`Agent::close`] was called.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether `packet` from `from` is for this agent: a request whose USERNAME starts with our
    /// ufrag, or a response to one of our transactions. One socket can so serve many agents;
    /// only the USERNAME attribute is looked at, no integrity is checked here.
    #[must_use]
    pub fn accepts(&self, from: SocketAddr, packet: &[u8]) -> bool {
        if !is_stun(packet) {
            return false;
        }
        let Some(&[hi, lo]) = packet.first_chunk::<2>() else {
            return false;
        };
        let typ = u16::from_be_bytes([hi, lo]);
        let class = ((typ >> 4) & 1) | ((typ >> 7) & 2);
        match class {
            0 => {
                let Some(user) = find_attr(packet, AttrType::USERNAME) else {
                    return false;
                };
                let ours = user.split(|&b| b == b':').next().unwrap_or_default();
                ours == self.local_creds.ufrag.as_str().as_bytes()
                    || self
                        .old_creds
                        .is_some_and(|(l, _)| ours == l.ufrag.as_str().as_bytes())
            }
            2 | 3 => peek_transaction_id(packet).is_some_and(|tid| {
                self.txns
                    .iter()
                    .flatten()
                    .any(|t| t.tid == tid && t.destination == from)
            }),
            _ => false,
        }
    }

    /// A datagram arrived on our socket `to` from `from`. Only STUN is the agent's business:
    /// the host demultiplexes (RFC 7983) before calling this. Anything else, and anything
    /// unauthenticated, is dropped and counted.
    pub fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &[u8]) {
        let now = self.now.advance(now);
        self.stats.packets_received += 1;
        if self.closed {
            return;
        }
        let Ok(msg) = Message::parse(packet) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        if msg.method() != Method::BINDING || msg.check_fingerprint() == Some(false) {
            self.stats.dropped_malformed += 1;
            return;
        }
        match msg.class() {
            Class::Request => self.handle_request(now, from, to, &msg),
            Class::Success | Class::Error => self.handle_response(now, from, to, &msg),
            // Binding indications are keepalives: nothing to do.
            Class::Indication => {}
        }
        self.update_state();
    }

    fn handle_request(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        msg: &Message<'_>,
    ) {
        // RFC 8445 §7.3 / RFC 8489 §9.1.3: USERNAME and MESSAGE-INTEGRITY on every request,
        // failures dropped silently (no 400/401 that would help a prober).
        let Some(user) = msg.username() else {
            self.stats.dropped_unauthenticated += 1;
            return;
        };
        let (ours, theirs) = user.split_once(':').unwrap_or((user, ""));
        let (local, remote, old) = if ours == self.local_creds.ufrag.as_str() {
            (self.local_creds, self.remote_creds, false)
        } else if let Some((l, r)) = self.old_creds.filter(|(l, _)| ours == l.ufrag.as_str()) {
            (l, Some(r), true)
        } else {
            self.stats.dropped_unauthenticated += 1;
            return;
        };
        if remote.is_some_and(|r| r.ufrag.as_str() != theirs)
            || !msg.verify_integrity(local.pwd.as_str().as_bytes())
        {
            self.stats.dropped_unauthenticated += 1;
            return;
        }
        let tid = msg.transaction_id();
        let unknown = msg.unknown_required();
        let mut types = [AttrType(0); 4];
        let mut count = 0;
        for (slot, t) in types.iter_mut().zip(unknown) {
            *slot = t;
            count += 1;
        }
        if count > 0 {
            self.respond(
                tid,
                to,
                from,
                ResponseKind::UnknownAttributes { types, count },
                old,
            );
            return;
        }
        let Some(local_idx) = self.locals.iter().position(|l| {
            l.is_some_and(|l| {
                l.base == to && matches!(l.cand.kind, CandidateType::Host | CandidateType::Relayed)
            })
        }) else {
            self.stats.dropped_unknown_local += 1;
            return;
        };
        if old {
            // The old pair's consent: answer, nothing else.
            self.respond(tid, to, from, ResponseKind::Success, true);
            return;
        }
        // RFC 8445 §7.3.1.1: role conflicts.
        match (self.role, msg.ice_controlling(), msg.ice_controlled()) {
            (Role::Controlling, Some(theirs), _) => {
                self.stats.role_conflicts += 1;
                if self.tie_breaker >= theirs {
                    self.respond(tid, to, from, ResponseKind::RoleConflict, false);
                    return;
                }
                self.switch_role(Role::Controlled);
            }
            (Role::Controlled, _, Some(theirs)) => {
                self.stats.role_conflicts += 1;
                // A lite agent is always controlled (RFC 8445 §6.1.1): the full peer must
                // take the controlling role, whatever the tie-breakers say.
                if self.tie_breaker >= theirs && !self.config.lite {
                    self.switch_role(Role::Controlling);
                } else {
                    self.respond(tid, to, from, ResponseKind::RoleConflict, false);
                    return;
                }
            }
            _ => {}
        }
        self.respond(tid, to, from, ResponseKind::Success, false);

        // RFC 8445 §7.3.1.3: a source we do not know is a peer-reflexive candidate.
        let remote_idx = match self
            .remotes
            .iter()
            .position(|r| r.is_some_and(|r| r.address == from))
        {
            Some(i) => i,
            None => {
                let prio = msg
                    .priority()
                    .unwrap_or_else(|| priority(CandidateType::PeerReflexive, 65535, 1));
                let cand = Candidate {
                    foundation: decimal(self.rng.u32()),
                    component: 1,
                    transport: Transport::Udp,
                    priority: prio,
                    address: from,
                    kind: CandidateType::PeerReflexive,
                    related: None,
                    tcp_type: None,
                    generation: None,
                    ufrag: None,
                    network_id: None,
                    network_cost: None,
                };
                debug!("ice: peer-reflexive remote candidate, port {}", from.port());
                let Ok(i) = self.insert_remote(cand) else {
                    return;
                };
                i
            }
        };
        let Some(pair_idx) = self.find_or_add_pair(local_idx, remote_idx) else {
            return;
        };
        let use_candidate = msg.use_candidate() && self.role == Role::Controlled;
        let Some(pair) = self.pairs.get_mut(pair_idx).and_then(|p| p.as_mut()) else {
            return;
        };
        if self.config.lite {
            // A lite agent's pairs are valid as soon as a check arrives (RFC 8445 §7.3.1.5 note).
            pair.state = PairState::Succeeded;
            if use_candidate {
                pair.nominated = true;
            }
            self.update_selection(now);
            return;
        }
        // RFC 8445 §7.3.1.4: triggered checks.
        match pair.state {
            PairState::Succeeded => {
                if use_candidate {
                    pair.nominated = true;
                }
            }
            PairState::InProgress => {
                if use_candidate {
                    pair.nominate_on_success = true;
                }
                let seq = self.next_trigger();
                if let Some(p) = self.pairs.get_mut(pair_idx).and_then(|p| p.as_mut()) {
                    p.state = PairState::Waiting;
                    p.triggered = Some(seq);
                }
                for t in self.txns.iter_mut().flatten() {
                    if t.kind.check_pair() == Some(pair_idx) {
                        t.cancelled = true;
                        t.schedule.cancel(now);
                    }
                }
            }
            PairState::Frozen | PairState::Waiting | PairState::Failed => {
                if use_candidate {
                    pair.nominate_on_success = true;
                }
                let seq = self.next_trigger();
                if let Some(p) = self.pairs.get_mut(pair_idx).and_then(|p| p.as_mut()) {
                    p.state = PairState::Waiting;
                    p.triggered = Some(seq);
                }
            }
        }
        self.update_selection(now);
    }

    fn next_trigger(&mut self) -> u32 {
        self.trigger_seq = self.trigger_seq.wrapping_add(1);
        self.trigger_seq
    }

    /// Queues a triggered check on pair `idx` that carries USE-CANDIDATE.
    fn queue_nomination(&mut self, idx: usize) {
        let seq = self.next_trigger();
        if let Some(p) = self.pairs.get_mut(idx).and_then(|p| p.as_mut()) {
            p.nominate_next = true;
            p.triggered = Some(seq);
        }
    }

    fn handle_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        msg: &Message<'_>,
    ) {
        let tid = msg.transaction_id();
        let Some(ti) = self.txns.iter().position(|t| {
            t.is_some_and(|t| t.tid == tid && t.destination == from && t.source == to)
        }) else {
            self.stats.dropped_unmatched += 1;
            return;
        };
        let Some(txn) = self.txns.get(ti).copied().flatten() else {
            return;
        };
        // Checks and consent are authenticated with the peer's password; gathering responses
        // from a STUN server are not.
        let pwd = match txn.kind {
            TxnKind::Gather { .. } => None,
            TxnKind::Consent { old: true } => match self.old_creds {
                Some((_, r)) => Some(r.pwd),
                None => self.remote_creds.map(|r| r.pwd),
            },
            TxnKind::Check { .. } | TxnKind::Consent { old: false } => {
                self.remote_creds.map(|r| r.pwd)
            }
        };
        if let Some(pwd) = pwd
            && !msg.verify_integrity(pwd.as_str().as_bytes())
        {
            self.stats.dropped_unauthenticated += 1;
            return;
        }
        if let Some(slot) = self.txns.get_mut(ti) {
            *slot = None;
        }
        let failed = msg.unknown_required().next().is_some();
        let error = msg.class() == Class::Error || failed;
        match txn.kind {
            TxnKind::Gather { local } => {
                if let (false, Some(mapped)) = (
                    error,
                    msg.xor_mapped_address().or_else(|| msg.mapped_address()),
                ) {
                    self.add_srflx(local, txn.source, mapped, from);
                }
                self.check_gathering_done();
            }
            TxnKind::Consent { .. } => {
                if !error && let Some(sel) = self.selected.as_mut() {
                    sel.last_consent = now;
                    // Karn: a retransmitted request's response says nothing about the RTT.
                    if txn.schedule.sends() == 1 {
                        self.rtt = Some(now.saturating_duration_since(txn.started));
                    }
                }
            }
            TxnKind::Check {
                pair,
                nominate,
                controlling,
            } => {
                if error {
                    let code = msg.error_code().map(|e| e.code);
                    if code == Some(ErrorCode::ROLE_CONFLICT) {
                        self.stats.role_conflicts += 1;
                        // RFC 8445 §7.2.5.1: switch only if our role is still the one we sent.
                        let sent = if controlling {
                            Role::Controlling
                        } else {
                            Role::Controlled
                        };
                        if self.role == sent {
                            self.switch_role(if controlling {
                                Role::Controlled
                            } else {
                                Role::Controlling
                            });
                        }
                        let seq = self.next_trigger();
                        if let Some(p) = self.pairs.get_mut(pair).and_then(|p| p.as_mut()) {
                            p.state = PairState::Waiting;
                            p.triggered = Some(seq);
                        }
                    } else {
                        self.fail_pair(pair);
                    }
                    return;
                }
                if let Some(mapped) = msg.xor_mapped_address() {
                    self.learn_local_prflx(txn.source, mapped, txn.prflx_priority);
                }
                // Checks stop once a pair is selected (the list is pruned), so the last
                // answered check is the selected pair's until consent takes over.
                if txn.schedule.sends() == 1 {
                    self.rtt = Some(now.saturating_duration_since(txn.started));
                }
                self.pair_succeeded(now, pair, nominate);
            }
        }
    }

    fn pair_succeeded(&mut self, now: Instant, idx: usize, nominate: bool) {
        let Some(p) = self.pairs.get_mut(idx).and_then(|p| p.as_mut()) else {
            return;
        };
        p.state = PairState::Succeeded;
        // A nomination still waiting for its slot must go out even though an earlier check
        // of the pair has just succeeded.
        if nominate || !p.nominate_next {
            p.triggered = None;
        }
        p.last_success = now;
        if (nominate && self.role == Role::Controlling)
            || (p.nominate_on_success && self.role == Role::Controlled)
        {
            p.nominated = true;
        }
        if nominate {
            p.nominate_next = false;
        }
        // RFC 8445 §7.2.5.3.3: unfreeze pairs of the same foundation.
        let found = self.pair_foundation(idx);
        for j in 0..PAIRS {
            if j != idx
                && self
                    .pairs
                    .get(j)
                    .copied()
                    .flatten()
                    .is_some_and(|q| q.state == PairState::Frozen)
                && self.pair_foundation(j) == found
                && let Some(q) = self.pairs.get_mut(j).and_then(|q| q.as_mut())
            {
                q.state = PairState::Waiting;
            }
        }
        if self.role == Role::Controlling && self.nominate_at.is_none() {
            self.nominate_at = Some(now + self.config.nomination_delay);
        }
        self.update_selection(now);
        self.maybe_nominate(now);
    }

    fn fail_pair(&mut self, idx: usize) {
        if let Some(p) = self.pairs.get_mut(idx).and_then(|p| p.as_mut()) {
            p.state = PairState::Failed;
            p.triggered = None;
            p.nominate_next = false;
        }
    }

    fn pair_foundation(&self, idx: usize) -> Option<(Str<32>, Str<32>)> {
        let p = self.pairs.get(idx).copied().flatten()?;
        let l = self.locals.get(p.local).copied().flatten()?;
        let r = self.remotes.get(p.remote).copied().flatten()?;
        Some((l.cand.foundation, r.foundation))
    }

    /// RFC 8445 §8.1.1: the controlling agent nominates the best valid pair once no better
    /// pair can still succeed, or after `nomination_delay`.
    fn maybe_nominate(&mut self, now: Instant) {
        if self.role != Role::Controlling || self.config.lite || self.remote_creds.is_none() {
            return;
        }
        let pairs = self.pairs.iter().flatten();
        if pairs.clone().any(|p| p.nominated || p.nominate_next) {
            return;
        }
        let Some((best_idx, best)) = self
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(_, p)| p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority)
        else {
            return;
        };
        let better_pending = pairs.clone().any(|p| {
            p.priority > best.priority
                && matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                )
        });
        if better_pending && self.nominate_at.is_some_and(|at| now < at) {
            return;
        }
        debug!("ice: nominating pair {}", best_idx);
        self.queue_nomination(best_idx);
    }

    /// The selected pair stopped answering (a NAT rebinding, a dead interface) while another
    /// pair has just been validated, typically to a peer-reflexive address the peer's checks
    /// revealed: as controlling, nominate that one instead (the controlled agent accepts
    /// repeated nomination).
    fn maybe_renominate(&mut self, now: Instant) {
        let Some(sel) = self.selected else { return };
        if self.role != Role::Controlling
            || self.config.lite
            || sel.old
            || self.consent_expired
            || now.saturating_duration_since(sel.last_consent) < self.config.disconnected_after
            || self.pairs.iter().flatten().any(|p| p.nominate_next)
        {
            return;
        }
        let Some(old) = sel.pair else { return };
        let fresh = self
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(i, p)| {
                *i != old && p.state == PairState::Succeeded && p.last_success > sel.last_consent
            })
            .max_by_key(|(_, p)| p.priority)
            .map(|(i, _)| i);
        let Some(new) = fresh else { return };
        debug!("ice: selected pair unresponsive, renominating pair {}", new);
        if let Some(p) = self.pairs.get_mut(old).and_then(|p| p.as_mut()) {
            p.nominated = false;
            p.state = PairState::Failed;
        }
        self.queue_nomination(new);
    }

    /// Controlled: the selected pair stopped answering consent while the peer nominated
    /// another pair that works (its NAT rebound, so its checks come from a new address):
    /// follow the peer's latest nomination, as the controlling side's own renomination does.
    fn follow_renomination(&mut self, now: Instant) {
        let Some(sel) = self.selected else { return };
        if self.role != Role::Controlled
            || self.config.lite
            || sel.old
            || now.saturating_duration_since(sel.last_consent) < self.config.consent_interval
        {
            return;
        }
        let Some(old) = sel.pair else { return };
        let fresh = self
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(i, p)| {
                *i != old
                    && p.nominated
                    && p.state == PairState::Succeeded
                    && p.last_success > sel.last_consent
            })
            .max_by_key(|(_, p)| p.last_success);
        if fresh.is_none() {
            return;
        }
        debug!("ice: selected pair unresponsive, following the peer's nomination");
        if let Some(p) = self.pairs.get_mut(old).and_then(|p| p.as_mut()) {
            p.nominated = false;
            p.state = PairState::Failed;
        }
        self.update_selection(now);
    }

    /// Picks the best nominated valid pair; reports a change.
    fn update_selection(&mut self, now: Instant) {
        let best = self
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(_, p)| p.nominated && p.state == PairState::Succeeded)
            .max_by_key(|(_, p)| p.priority);
        let Some((idx, pair)) = best else { return };
        if self.selected.is_some_and(|s| s.pair == Some(idx)) {
            return;
        }
        let (Some(local), Some(remote)) = (
            self.locals.get(pair.local).copied().flatten(),
            self.remotes.get(pair.remote).copied().flatten(),
        ) else {
            return;
        };
        debug!(
            "ice: selected pair {}, remote port {}",
            idx,
            remote.address.port()
        );
        let jitter = self.consent_jitter();
        self.selected = Some(Selected {
            local: local.cand,
            remote,
            base: local.base,
            pair: Some(idx),
            old: false,
            last_consent: now,
            next_consent: now + jitter,
        });
        // A restart is complete once a new pair carries the traffic.
        self.old_creds = None;
        self.txns.iter_mut().for_each(|t| {
            if t.is_some_and(|t| matches!(t.kind, TxnKind::Consent { old: true })) {
                *t = None;
            }
        });
        self.consent_expired = false;
        self.emit(PendingEvent::Selected);
        // RFC 8445 §8.1.2: with a nominated pair for the (one) component, the rest of the
        // checklist goes: waiting and frozen pairs are removed, in-progress checks cancelled
        // (a late response still validates its pair).
        for p in self.pairs.iter_mut().flatten() {
            if matches!(
                p.state,
                PairState::Frozen | PairState::Waiting | PairState::InProgress
            ) && !p.nominate_next
            {
                p.state = PairState::Failed;
                p.triggered = None;
            }
        }
        for t in self.txns.iter_mut().flatten() {
            if let TxnKind::Check { pair, .. } = t.kind
                && Some(pair) != self.selected.and_then(|s| s.pair)
            {
                t.cancelled = true;
                t.schedule.cancel(now);
            }
        }
    }

    /// RFC 7675 §5.1: a random interval in [0.8, 1.2] x the consent interval.
    fn consent_jitter(&mut self) -> Duration {
        let base = self.config.consent_interval;
        let spread = u64::try_from((base * 2 / 5).as_micros()).unwrap_or(0);
        base * 4 / 5 + Duration::from_micros(self.rng.below(spread.max(1)))
    }

    fn switch_role(&mut self, role: Role) {
        if self.role == role || (self.config.lite && role == Role::Controlling) {
            return;
        }
        debug!("ice: role conflict, now {:?}", role);
        self.role = role;
        self.nominate_at = None;
        self.reprioritise();
        self.emit(PendingEvent::Role(role));
    }

    fn reprioritise(&mut self) {
        for i in 0..PAIRS {
            let Some(p) = self.pairs.get(i).copied().flatten() else {
                continue;
            };
            let (Some(l), Some(r)) = (
                self.locals.get(p.local).copied().flatten(),
                self.remotes.get(p.remote).copied().flatten(),
            ) else {
                continue;
            };
            let prio = self.priority_of(l.cand.priority, r.priority);
            if let Some(p) = self.pairs.get_mut(i).and_then(|p| p.as_mut()) {
                p.priority = prio;
            }
        }
    }

    fn priority_of(&self, local: u32, remote: u32) -> u64 {
        match self.role {
            Role::Controlling => pair_priority(local, remote),
            Role::Controlled => pair_priority(remote, local),
        }
    }

    fn respond(
        &mut self,
        tid: TransactionId,
        source: SocketAddr,
        destination: SocketAddr,
        kind: ResponseKind,
        old: bool,
    ) {
        let r = PendingResponse {
            tid,
            source,
            destination,
            kind,
            old,
        };
        if self.responses.push(r).is_ok() {
            self.stats.requests_answered += 1;
        } else {
            self.stats.dropped_full += 1;
        }
    }

    fn emit(&mut self, e: PendingEvent) {
        if self.events.push(e).is_err() {
            self.stats.dropped_full += 1;
        }
    }

    fn make_local(
        &self,
        kind: CandidateType,
        address: SocketAddr,
        base: SocketAddr,
        local_pref: u16,
        server: Option<SocketAddr>,
    ) -> Candidate {
        Candidate {
            foundation: foundation(kind, base, server),
            component: 1,
            transport: Transport::Udp,
            priority: priority(kind, local_pref, 1),
            address,
            kind,
            related: (kind != CandidateType::Host).then_some(base),
            tcp_type: None,
            generation: None,
            ufrag: None,
            network_id: None,
            network_cost: None,
        }
    }

    /// Stores a local candidate; a full table makes room by [`eviction_victim`].
    fn insert_local(&mut self, local: Local) -> Result<usize, AddCandidateError> {
        let in_use = self.selected_pair_indices().map(|(l, _)| l);
        let entries = self
            .locals
            .iter()
            .map(|l| l.map(|l| (l.cand.kind, l.cand.priority)));
        let Some(slot) = eviction_victim(entries, (local.cand.kind, local.cand.priority), in_use)
        else {
            self.stats.dropped_full += 1;
            return Err(AddCandidateError::Full);
        };
        if self.locals.get(slot).is_some_and(Option::is_some) {
            self.stats.evicted += 1;
            self.remove_pairs(|p| p.local == slot);
            self.txns.iter_mut().for_each(|t| {
                if t.is_some_and(|t| t.kind == TxnKind::Gather { local: slot }) {
                    *t = None;
                }
            });
            self.gather_queue.retain(|&(l, _)| l != slot);
        }
        if let Some(s) = self.locals.get_mut(slot) {
            *s = Some(local);
        }
        Ok(slot)
    }

    /// Stores a remote candidate; a full table makes room by [`eviction_victim`].
    fn insert_remote(&mut self, cand: Candidate) -> Result<usize, AddCandidateError> {
        let in_use = self.selected_pair_indices().map(|(_, r)| r);
        let entries = self.remotes.iter().map(|r| r.map(|r| (r.kind, r.priority)));
        let Some(slot) = eviction_victim(entries, (cand.kind, cand.priority), in_use) else {
            self.stats.dropped_full += 1;
            return Err(AddCandidateError::Full);
        };
        if self.remotes.get(slot).is_some_and(Option::is_some) {
            self.stats.evicted += 1;
            self.remove_pairs(|p| p.remote == slot);
        }
        if let Some(s) = self.remotes.get_mut(slot) {
            *s = Some(cand);
        }
        Ok(slot)
    }

    /// The (local, remote) table indices of the selected pair, which no eviction may touch.
    fn selected_pair_indices(&self) -> Option<(usize, usize)> {
        self.selected
            .and_then(|s| s.pair)
            .and_then(|p| self.pairs.get(p).copied().flatten())
            .map(|p| (p.local, p.remote))
    }

    fn remove_pairs(&mut self, doomed: impl Fn(&Pair) -> bool) {
        for i in 0..PAIRS {
            if self
                .pairs
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|p| doomed(&p))
            {
                if let Some(slot) = self.pairs.get_mut(i) {
                    *slot = None;
                }
                self.txns.iter_mut().for_each(|t| {
                    if t.is_some_and(|t| t.kind.check_pair() == Some(i)) {
                        *t = None;
                    }
                });
            }
        }
    }

    /// Pairs a new host local with every remote of its family.
    fn pair_local(&mut self, local: usize) {
        for r in 0..REMOTE_CANDIDATES {
            self.find_or_add_pair(local, r);
        }
    }

    fn pair_remote(&mut self, remote: usize) {
        let controlling_done =
            self.role == Role::Controlling && self.selected.is_some_and(|s| !s.old);
        if controlling_done || self.config.lite {
            // Nothing more to check: the lite agent checks nothing, the controlling agent has
            // nominated already.
            return;
        }
        for l in 0..CANDIDATES {
            self.find_or_add_pair(l, remote);
        }
    }

    fn find_or_add_pair(&mut self, local: usize, remote: usize) -> Option<usize> {
        let l = self.locals.get(local).copied().flatten()?;
        let r = self.remotes.get(remote).copied().flatten()?;
        // Only host (and, later, relayed) locals form pairs: a server-reflexive candidate
        // shares its base with its host candidate (RFC 8445 §6.1.2.4 pruning).
        if !matches!(l.cand.kind, CandidateType::Host | CandidateType::Relayed)
            || l.base.is_ipv4() != r.address.is_ipv4()
        {
            return None;
        }
        if let Some(i) = self
            .pairs
            .iter()
            .position(|p| p.is_some_and(|p| p.local == local && p.remote == remote))
        {
            return Some(i);
        }
        let prio = self.priority_of(l.cand.priority, r.priority);
        let foundation = (l.cand.foundation, r.foundation);
        // RFC 8445 §6.1.2.6: the first pair of a foundation waits, the others are frozen.
        let sibling = (0..PAIRS).any(|j| self.pair_foundation(j) == Some(foundation));
        let pair = Pair {
            local,
            remote,
            priority: prio,
            state: if sibling {
                PairState::Frozen
            } else {
                PairState::Waiting
            },
            triggered: None,
            nominate_next: false,
            nominated: false,
            nominate_on_success: false,
            last_success: Instant::ZERO,
        };
        if let Some(i) = self.pairs.iter().position(Option::is_none) {
            if let Some(slot) = self.pairs.get_mut(i) {
                *slot = Some(pair);
            }
            return Some(i);
        }
        let sel = self.selected.and_then(|s| s.pair);
        let (victim, low) = self
            .pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p)))
            .filter(|(i, p)| Some(*i) != sel && !p.nominated)
            .map(|(i, p)| (i, p.priority))
            .min_by_key(|(_, p)| *p)?;
        if low >= prio {
            self.stats.dropped_full += 1;
            return None;
        }
        self.stats.evicted += 1;
        self.txns.iter_mut().for_each(|t| {
            if t.is_some_and(|t| t.kind.check_pair() == Some(victim)) {
                *t = None;
            }
        });
        if let Some(slot) = self.pairs.get_mut(victim) {
            *slot = Some(pair);
        }
        Some(victim)
    }

    fn add_srflx(
        &mut self,
        local: usize,
        base: SocketAddr,
        mapped: SocketAddr,
        server: SocketAddr,
    ) {
        if mapped == base
            || self
                .locals
                .iter()
                .flatten()
                .any(|l| l.cand.address == mapped)
        {
            return;
        }
        let pref = self
            .locals
            .get(local)
            .copied()
            .flatten()
            .map_or(65535, |l| ((l.cand.priority >> 8) & 0xffff) as u16);
        let cand = self.make_local(
            CandidateType::ServerReflexive,
            mapped,
            base,
            pref,
            Some(server),
        );
        if let Ok(i) = self.insert_local(Local { cand, base }) {
            debug!("ice: server-reflexive candidate, port {}", mapped.port());
            self.emit(PendingEvent::LocalCandidate(i, mapped));
        }
    }

    /// RFC 8445 §7.2.5.3.1: a mapped address we do not know is a local peer-reflexive
    /// candidate (never signalled; it only tells us what the peer sees).
    fn learn_local_prflx(&mut self, base: SocketAddr, mapped: SocketAddr, prio: u32) {
        if self
            .locals
            .iter()
            .flatten()
            .any(|l| l.cand.address == mapped)
        {
            return;
        }
        let mut cand = self.make_local(CandidateType::PeerReflexive, mapped, base, 0, None);
        cand.priority = prio;
        // A full table refuses it (counted in `dropped_full`): it is never signalled, and the
        // checks that found it work without it.
        if self.insert_local(Local { cand, base }).is_err() {
            debug!("ice: no room for a local peer-reflexive candidate");
        }
    }

    fn check_gathering_done(&mut self) {
        let pending = !self.gather_queue.is_empty()
            || self
                .txns
                .iter()
                .flatten()
                .any(|t| matches!(t.kind, TxnKind::Gather { .. }));
        if !pending && !self.gathering_reported && self.locals.iter().any(Option::is_some) {
            self.gathering_reported = true;
            self.emit(PendingEvent::GatheringComplete);
        }
    }

    /// A deadline passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.now.advance(now);
        if self.closed {
            return;
        }
        // Retransmissions and timeouts.
        for i in 0..TRANSACTIONS {
            let Some(t) = self.txns.get_mut(i).and_then(|t| t.as_mut()) else {
                continue;
            };
            match t.schedule.step(now) {
                RetransmitStep::Wait => {}
                RetransmitStep::Send => {
                    if !t.cancelled {
                        t.due = true;
                        self.stats.retransmits += 1;
                    }
                }
                RetransmitStep::TimedOut => {
                    let t = *t;
                    if let Some(slot) = self.txns.get_mut(i) {
                        *slot = None;
                    }
                    match t.kind {
                        TxnKind::Check { pair, .. } if !t.cancelled => {
                            trace!("ice: check on pair {} timed out", pair);
                            self.fail_pair(pair);
                        }
                        TxnKind::Gather { .. } => self.check_gathering_done(),
                        _ => {}
                    }
                }
            }
        }
        // Consent freshness (RFC 7675) on the selected pair.
        if let Some(sel) = self.selected
            && !self.config.lite
            && !self.consent_expired
        {
            if now.saturating_duration_since(sel.last_consent) >= self.config.consent_timeout {
                debug!("ice: consent expired");
                self.consent_expired = true;
                self.txns.iter_mut().for_each(|t| {
                    if t.is_some_and(|t| matches!(t.kind, TxnKind::Consent { .. })) {
                        *t = None;
                    }
                });
            } else if now >= sel.next_consent {
                let jitter = self.consent_jitter();
                if let Some(s) = self.selected.as_mut() {
                    s.next_consent = now + jitter;
                }
                // A new consent request supersedes the previous one's retransmissions.
                for t in self.txns.iter_mut().flatten() {
                    if matches!(t.kind, TxnKind::Consent { .. }) {
                        t.cancelled = true;
                        t.schedule.cancel(now);
                    }
                }
                let prflx = priority(
                    CandidateType::PeerReflexive,
                    ((sel.local.priority >> 8) & 0xffff) as u16,
                    1,
                );
                self.start_txn(
                    now,
                    TxnKind::Consent { old: sel.old },
                    sel.base,
                    sel.remote.address,
                    prflx,
                );
                self.stats.consent_checks += 1;
            }
        }
        self.maybe_renominate(now);
        self.follow_renomination(now);
        if now >= self.next_pace {
            self.pace(now);
        }
        self.maybe_nominate(now);
        self.update_state();
    }

    /// One Ta slot: a triggered check, else a gathering request, else an ordinary check.
    fn pace(&mut self, now: Instant) {
        if self.config.lite {
            return;
        }
        let started = if let Some(i) = self.next_triggered() {
            self.start_check(now, i)
        } else if let Some((local, server)) = self.gather_queue.pop() {
            match self.locals.get(local).copied().flatten() {
                Some(l) => {
                    self.start_txn(now, TxnKind::Gather { local }, l.base, server, 0);
                    true
                }
                None => false,
            }
        } else if let Some(i) = self.next_ordinary() {
            self.start_check(now, i)
        } else {
            false
        };
        if started {
            self.next_pace = now + self.config.ta;
        }
    }

    fn next_triggered(&self) -> Option<usize> {
        self.remote_creds?;
        self.pairs
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.and_then(|p| p.triggered.map(|s| (i, s))))
            .min_by_key(|(_, s)| *s)
            .map(|(i, _)| i)
    }

    fn next_ordinary(&mut self) -> Option<usize> {
        self.remote_creds?;
        if self.role == Role::Controlling && self.selected.is_some_and(|s| !s.old) {
            return None;
        }
        let best = |state: PairState, pairs: &[Option<Pair>]| {
            pairs
                .iter()
                .enumerate()
                .filter_map(|(i, p)| p.map(|p| (i, p)))
                .filter(|(_, p)| p.state == state)
                .max_by_key(|(_, p)| p.priority)
                .map(|(i, _)| i)
        };
        if let Some(i) = best(PairState::Waiting, &self.pairs) {
            return Some(i);
        }
        // RFC 8445 §6.1.4.2: with nothing waiting, unfreeze the best frozen pair.
        best(PairState::Frozen, &self.pairs)
    }

    fn start_check(&mut self, now: Instant, idx: usize) -> bool {
        let Some(p) = self.pairs.get(idx).copied().flatten() else {
            return false;
        };
        let (Some(l), Some(r)) = (
            self.locals.get(p.local).copied().flatten(),
            self.remotes.get(p.remote).copied().flatten(),
        ) else {
            return false;
        };
        let nominate = p.nominate_next && self.role == Role::Controlling;
        if let Some(q) = self.pairs.get_mut(idx).and_then(|q| q.as_mut()) {
            q.state = PairState::InProgress;
            q.triggered = None;
        }
        let prflx = priority(
            CandidateType::PeerReflexive,
            ((l.cand.priority >> 8) & 0xffff) as u16,
            1,
        );
        let kind = TxnKind::Check {
            pair: idx,
            nominate,
            controlling: self.role == Role::Controlling,
        };
        self.start_txn(now, kind, l.base, r.address, prflx);
        self.stats.checks_sent += 1;
        true
    }

    fn start_txn(
        &mut self,
        now: Instant,
        kind: TxnKind,
        source: SocketAddr,
        destination: SocketAddr,
        prio: u32,
    ) {
        let mut tid = [0u8; 12];
        self.rng.fill(&mut tid);
        let mut config = match kind {
            TxnKind::Gather { .. } => self.config.retransmit,
            TxnKind::Check { .. } | TxnKind::Consent { .. } => self.config.check_retransmit,
        };
        if matches!(kind, TxnKind::Check { .. }) {
            // RFC 8445 §14.3: RTO = max(500 ms, Ta x active pairs).
            let active = self
                .pairs
                .iter()
                .flatten()
                .filter(|p| matches!(p.state, PairState::Waiting | PairState::InProgress))
                .count();
            config.rto = config
                .rto
                .max(self.config.ta * u32::try_from(active).unwrap_or(u32::MAX));
        }
        let mut schedule = Retransmit::new(now, config);
        schedule.step(now);
        let txn = Txn {
            tid: TransactionId(tid),
            kind,
            source,
            destination,
            schedule,
            due: true,
            cancelled: false,
            prflx_priority: prio,
            started: now,
        };
        if let Some(free) = self.txns.iter_mut().find(|t| t.is_none()) {
            *free = Some(txn);
            return;
        }
        // Full: the oldest cancelled transaction goes, else the one closest to giving up.
        let victim = self
            .txns
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .min_by_key(|(_, t)| (!t.cancelled, core::cmp::Reverse(t.schedule.sends())))
            .map(|(i, _)| i);
        if let Some(slot) = victim.and_then(|v| self.txns.get_mut(v)) {
            if let Some(TxnKind::Check { pair, .. }) = slot.map(|t| t.kind) {
                // Its pair will be checked again rather than left in progress forever.
                if let Some(p) = self.pairs.get_mut(pair).and_then(|p| p.as_mut())
                    && p.state == PairState::InProgress
                {
                    p.state = PairState::Waiting;
                }
            }
            *slot = Some(txn);
            self.stats.evicted += 1;
        }
    }

    /// The next datagram to send: responses first, then requests due.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        while let Some(&r) = self.responses.peek() {
            let emitted = self.emit_response(&r, buf)?;
            self.responses.pop();
            if let Some(n) = emitted {
                return Ok(Some(Transmit::between(
                    r.source,
                    r.destination,
                    buf.get(..n).unwrap_or_default(),
                )));
            }
        }
        for i in 0..TRANSACTIONS {
            let Some(t) = self.txns.get(i).copied().flatten() else {
                continue;
            };
            if !t.due {
                continue;
            }
            let n = match self.emit_request(&t, buf) {
                Ok(Some(n)) => n,
                Ok(None) => {
                    // Credentials went away (restart): the transaction cannot be sent.
                    if let Some(slot) = self.txns.get_mut(i) {
                        *slot = None;
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            if let Some(t) = self.txns.get_mut(i).and_then(|t| t.as_mut()) {
                t.due = false;
            }
            return Ok(Some(Transmit::between(
                t.source,
                t.destination,
                buf.get(..n).unwrap_or_default(),
            )));
        }
        Ok(None)
    }

    fn emit_request(&self, t: &Txn, buf: &mut [u8]) -> Result<Option<usize>, BufferTooSmall> {
        let b = Message::builder(Class::Request, Method::BINDING, t.tid);
        let (local, remote, nominate, controlling) = match t.kind {
            TxnKind::Gather { .. } => {
                return finish(b.fingerprint().emit(buf));
            }
            TxnKind::Check {
                nominate,
                controlling,
                ..
            } => match self.remote_creds {
                Some(r) => (self.local_creds, r, nominate, controlling),
                None => return Ok(None),
            },
            TxnKind::Consent { old } => {
                let creds = if old {
                    self.old_creds
                        .or(self.remote_creds.map(|r| (self.local_creds, r)))
                } else {
                    self.remote_creds.map(|r| (self.local_creds, r))
                };
                // The controlling agent repeats USE-CANDIDATE on the selected pair's consent
                // checks (as libwebrtc does): when its NAT rebinds, the peer sees the
                // nomination arrive from the new address and can follow it.
                let controlling = self.role == Role::Controlling;
                match creds {
                    Some((l, r)) => (l, r, controlling && !old, controlling),
                    None => return Ok(None),
                }
            }
        };
        let mut user = [0u8; 65];
        let n = username(&mut user, &remote, &local);
        let user = core::str::from_utf8(user.get(..n).unwrap_or_default()).unwrap_or_default();
        let mut b = b.username(user).priority(t.prflx_priority);
        b = if controlling {
            b.ice_controlling(self.tie_breaker)
        } else {
            b.ice_controlled(self.tie_breaker)
        };
        if nominate {
            b = b.use_candidate();
        }
        finish(
            b.integrity_sha1(remote.pwd.as_str().as_bytes())
                .fingerprint()
                .emit(buf),
        )
    }

    fn emit_response(
        &self,
        r: &PendingResponse,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let local = if r.old {
            self.old_creds.map_or(self.local_creds, |(l, _)| l)
        } else {
            self.local_creds
        };
        let key = local.pwd;
        // USERNAME is never echoed: a response carries only what the peer needs.
        let out = match r.kind {
            ResponseKind::Success => Message::builder(Class::Success, Method::BINDING, r.tid)
                .xor_mapped_address(r.destination)
                .integrity_sha1(key.as_str().as_bytes())
                .fingerprint()
                .emit(buf),
            ResponseKind::RoleConflict => Message::builder(Class::Error, Method::BINDING, r.tid)
                .error_code(ErrorCode::ROLE_CONFLICT, "Role Conflict")
                .integrity_sha1(key.as_str().as_bytes())
                .fingerprint()
                .emit(buf),
            ResponseKind::UnknownAttributes { types, count } => {
                Message::builder(Class::Error, Method::BINDING, r.tid)
                    .error_code(ErrorCode::UNKNOWN_ATTRIBUTE, "Unknown Attribute")
                    .unknown_attributes(types.get(..count).unwrap_or_default())
                    .integrity_sha1(key.as_str().as_bytes())
                    .fingerprint()
                    .emit(buf)
            }
        };
        finish(out)
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        loop {
            let e = self.events.pop()?;
            let out = match e {
                PendingEvent::LocalCandidate(i, addr) => {
                    match self.locals.get(i).copied().flatten() {
                        Some(l) if l.cand.address == addr => {
                            let mut c = l.cand;
                            c.ufrag = Some(self.local_creds.ufrag);
                            Some(Event::LocalCandidate(c))
                        }
                        _ => None,
                    }
                }
                PendingEvent::GatheringComplete => Some(Event::GatheringComplete),
                PendingEvent::State(s) => Some(Event::StateChanged(s)),
                PendingEvent::Selected => self.selected.map(|s| Event::SelectedPair {
                    local: s.local,
                    remote: s.remote,
                }),
                // Stale when a pair was selected again since: its own event follows.
                PendingEvent::Cleared => self
                    .selected
                    .is_none()
                    .then_some(Event::SelectedPairCleared),
                PendingEvent::Role(r) => Some(Event::RoleChanged(r)),
            };
            if out.is_some() {
                return out;
            }
        }
    }

    /// When `handle_timeout` is next due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for t in self.txns.iter().flatten() {
            at(t.schedule.deadline());
        }
        if !self.config.lite {
            let pacing_work = !self.gather_queue.is_empty()
                || (self.remote_creds.is_some()
                    && self.pairs.iter().flatten().any(|p| {
                        p.triggered.is_some()
                            || (matches!(p.state, PairState::Waiting | PairState::Frozen)
                                && !(self.role == Role::Controlling
                                    && self.selected.is_some_and(|s| !s.old)))
                    }));
            if pacing_work {
                at(self.next_pace.max(self.now));
            }
            if let Some(n) = self.nominate_at
                && self.role == Role::Controlling
                && !self
                    .pairs
                    .iter()
                    .flatten()
                    .any(|p| p.nominated || p.nominate_next)
            {
                at(n);
            }
            if let Some(sel) = self.selected
                && !self.consent_expired
            {
                at(sel.next_consent);
                at(sel.last_consent + self.config.consent_timeout);
                if self.state != IceState::Disconnected {
                    at(sel.last_consent + self.config.disconnected_after);
                }
            }
        }
        next
    }

    fn update_state(&mut self) {
        let new = self.compute_state();
        if new != self.state {
            debug!("ice: state {} -> {}", self.state.as_str(), new.as_str());
            // Browsers always pass through `connected` on the way to `completed`.
            if new == IceState::Completed
                && matches!(self.state, IceState::New | IceState::Checking)
            {
                self.emit(PendingEvent::State(IceState::Connected));
            }
            self.state = new;
            self.emit(PendingEvent::State(new));
        }
    }

    fn compute_state(&self) -> IceState {
        if self.closed {
            return IceState::Closed;
        }
        if let Some(sel) = self.selected {
            if self.consent_expired {
                return IceState::Failed;
            }
            if !self.config.lite
                && self.now.saturating_duration_since(sel.last_consent)
                    >= self.config.disconnected_after
            {
                return IceState::Disconnected;
            }
            let checking = self.pairs.iter().flatten().any(|p| {
                matches!(
                    p.state,
                    PairState::Frozen | PairState::Waiting | PairState::InProgress
                ) || p.triggered.is_some()
            });
            if sel.old || checking || !self.remote_end_of_candidates {
                return IceState::Connected;
            }
            return IceState::Completed;
        }
        if self.consent_expired {
            return IceState::Failed;
        }
        let has_pairs = self.pairs.iter().any(Option::is_some);
        if self.remote_creds.is_none() && !has_pairs {
            return IceState::New;
        }
        let all_failed = self
            .pairs
            .iter()
            .flatten()
            .all(|p| p.state == PairState::Failed);
        let checks_in_flight = self
            .txns
            .iter()
            .flatten()
            .any(|t| matches!(t.kind, TxnKind::Check { .. }));
        if !self.config.lite && self.remote_end_of_candidates && all_failed && !checks_in_flight {
            return IceState::Failed;
        }
        if !has_pairs && self.remotes.iter().all(Option::is_none) {
            return IceState::New;
        }
        IceState::Checking
    }
}

impl TxnKind {
    fn check_pair(&self) -> Option<usize> {
        match self {
            TxnKind::Check { pair, .. } => Some(*pair),
            _ => None,
        }
    }
}

/// A too-small buffer is the caller's to fix; the other emit errors (too many attributes, a
/// message over 64 KiB) cannot happen with the few short attributes ICE sends, and would
/// drop the message rather than send a broken one.
fn finish(r: Result<usize, peerless_stun::EmitError>) -> Result<Option<usize>, BufferTooSmall> {
    match r {
        Ok(n) => Ok(Some(n)),
        Err(peerless_stun::EmitError::BufferTooSmall(e)) => Err(e),
        Err(_) => Ok(None),
    }
}

/// The value of the first attribute of type `t`, by walking the TLVs without checking more.
fn find_attr(packet: &[u8], t: AttrType) -> Option<&[u8]> {
    let mut r = peerless_base::Reader::new(packet.get(peerless_stun::HEADER_LEN..)?);
    while !r.is_empty() {
        let typ = r.u16().ok()?;
        let len = usize::from(r.u16().ok()?);
        let v = r.take(len).ok()?;
        r.skip((4 - len % 4) % 4).ok()?;
        if typ == t.0 {
            return Some(v);
        }
    }
    None
}

/// Where a new candidate goes in a table (`entries`: each slot's type and priority): a free
/// slot, else the slot of the candidate to evict, else `None` (the newcomer is the one to go).
///
/// A full table keeps a mix of types rather than the highest priorities: the crowded type (the
/// one with the most entries, counting the newcomer; ties go against the higher type
/// preference) gives up its lowest-priority member. Pure priority would evict relayed
/// candidates first, yet they are the ones that work when every other pair fails (symmetric
/// NATs, UDP-blocking firewalls), and a browser lists several host and reflexive candidates
/// per interface before them. `protected` (the selected pair's entry) is never evicted.
fn eviction_victim(
    entries: impl Iterator<Item = Option<(CandidateType, u32)>> + Clone,
    newcomer: (CandidateType, u32),
    protected: Option<usize>,
) -> Option<usize> {
    if let Some(free) = entries.clone().position(|e| e.is_none()) {
        return Some(free);
    }
    let count = |kind: CandidateType| {
        1 + entries
            .clone()
            .filter(|e| e.is_some_and(|(k, _)| k == kind))
            .count()
            - usize::from(kind != newcomer.0)
    };
    let kinds = [
        CandidateType::Relayed,
        CandidateType::ServerReflexive,
        CandidateType::PeerReflexive,
        CandidateType::Host,
    ];
    // `max_by_key` keeps the last of equals: the list runs from low to high type preference.
    let crowded = kinds.into_iter().max_by_key(|k| count(*k))?;
    let (victim, lowest) = entries
        .enumerate()
        .filter(|(i, _)| Some(*i) != protected)
        .filter_map(|(i, e)| e.filter(|(k, _)| *k == crowded).map(|(_, p)| (i, p)))
        .min_by_key(|(_, p)| *p)?;
    if newcomer.0 == crowded && newcomer.1 <= lowest {
        return None;
    }
    Some(victim)
}
