//! The ICE agent: RFC 8445 (full and lite), RFC 8838 (trickle), RFC 7675 (consent freshness).
//!
//! ```text
//!  host sockets --add_local_candidate--> host candidates --(Ta)--> Binding to STUN servers --> srflx
//!  signalling --set_remote_credentials / add_remote_candidate / end_of_remote_candidates--+
//!                                                                                          v
//!  New -> Checking: pairs = host locals x remotes (same family), ordered by pair priority
//!           at once: triggered checks and the first check of each Waiting pair;
//!           every Ta after: the best Waiting pair (unfreezing by foundation), gathering
//!           Binding request  USERNAME=theirs:ours PRIORITY ICE-CONTROLLING|ICE-CONTROLLED
//!                            [USE-CANDIDATE] MESSAGE-INTEGRITY(their pwd) FINGERPRINT
//!           <-- success (XOR-MAPPED-ADDRESS, MI with their pwd) -> pair valid (unknown mapped
//!                                                                    address: local prflx)
//!           <-- 487 -> switch role, check again          <-- request -> triggered check,
//!                                                             unknown source: remote prflx
//!        controlling: best valid pair, checked again with USE-CANDIDATE -> nominated
//!        controlled:  USE-CANDIDATE on a valid pair (or once its check succeeds) -> nominated;
//!                     a later USE-CANDIDATE on another pair moves the selection there
//!     -> Connected (selected = best nominated pair) -> Completed (checks done, end-of-candidates)
//!           consent: Binding request on the selected pair every 4-6 s; a response refreshes
//!           no response for 10 s -> Disconnected;  for 30 s -> Failed (sending stops)
//!  restart(): new ufrag/pwd, new checks; the old selected pair keeps carrying traffic (and its
//!             consent, with the old credentials) until a new pair is selected.
//! ```
//!
//! The rooms: this file holds the agent, its commands and the five verbs; `config` and `event`
//! what the host hands in and gets out; `pairs` the tables, pairing and eviction; `checks` the
//! pacer, our checks and the peer's; `gather` server-reflexive gathering; `nomination`
//! nomination, selection and consent; `emit` the STUN messages written; `report` the read-only
//! view of the pairs.

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Drbg, Instant, Queue, SEED_LEN, Transmit, debug, trace};
use peerless_stun::{
    AttrType, Attribute, Class, ErrorCode, Message, Method, Retransmit, RetransmitConfig,
    RetransmitStep, TransactionId, is_stun, peek_transaction_id,
};

use crate::candidate::{Candidate, CandidateType, Str, Transport, priority};

mod checks;
mod config;
mod emit;
mod event;
mod gather;
mod nomination;
mod pairs;
mod report;
mod tcp;
mod turn;

use checks::{Txn, TxnKind, find_attr};
pub use config::{Config, Credentials, CredentialsError, MAX_STUN_SERVERS, MAX_TURN_SERVERS, Role};
use emit::{PendingEvent, PendingResponse, ResponseKind};
pub use event::{AddCandidateError, Event, IceState, Stats};
use nomination::Selected;
use pairs::{Local, Pair, PairState, decimal};
pub use report::{CandidatePairState, PairView};
pub use turn::UNREACHABLE;
use turn::{Allocation, MAX_ALLOCATIONS};

/// Responses waiting to be sent; a request that finds this full is dropped (the peer retries).
const RESPONSE_QUEUE: usize = 8;
/// Events waiting to be polled.
const EVENT_QUEUE: usize = 16;
/// Server-reflexive gathering jobs waiting for their Ta slot.
const GATHER_QUEUE: usize = 8;

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
#[cfg_attr(fuzzing, derive(Clone))]
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
    /// TURN allocations (RFC 8656), one per server and host socket.
    allocations: [Option<Allocation>; MAX_ALLOCATIONS],
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
    /// Nominations counted: the peer's (controlled), to order them; ours (controlling), the
    /// NOMINATION value of the next one.
    nominations: u32,
    /// The highest NOMINATION value the peer sent (draft-thatcher-ice-renomination).
    peer_nomination: u32,
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

/// A summary, as `Debug` gives; never the credentials or the seed.
#[cfg(feature = "defmt")]
impl<const C: usize, const P: usize, const T: usize, const R: usize> defmt::Format
    for Agent<C, P, T, R>
{
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Agent {{ role: {}, state: {}, selected: {}, stats: {}, .. }}",
            self.role,
            self.state,
            self.selected_pair(),
            self.stats
        );
    }
}

/// Debug-prints the occupied slots of a table.
struct DebugList<'a, X, const N: usize>(&'a [Option<X>; N]);

impl<X: core::fmt::Debug, const N: usize> core::fmt::Debug for DebugList<'_, X, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.0.iter().flatten()).finish()
    }
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
        let (rng, tie_breaker, local_creds) = Self::draw(&config);
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
            allocations: [None; MAX_ALLOCATIONS],
            gathering_reported: false,
            remote_end_of_candidates: false,
            selected: None,
            state: IceState::New,
            closed: false,
            consent_expired: false,
            next_pace: now,
            nominate_at: None,
            trigger_seq: 0,
            nominations: 0,
            peer_nomination: 0,
            now,
            stats: Stats::default(),
            rtt: None,
        }
    }

    /// Starts this agent over as a new one made from `config`, in place: what
    /// [`new`](Self::new) would build, without a second agent on the stack (the tables are
    /// kilobytes; a host that keeps its agent inside a larger machine in a static restarts it
    /// per session). Nothing of the previous agent survives: candidates, pairs, transactions,
    /// credentials, queued events and counters are replaced. Not an ICE restart (that is
    /// [`restart`](Self::restart), which keeps the candidates and the selected pair).
    pub fn reset(&mut self, config: Config, now: Instant) {
        let (fresh_rng, fresh_tie_breaker, fresh_creds) = Self::draw(&config);
        // Every field by name (no `..`): a field added to the agent fails to compile here
        // until its reset value is written.
        let Agent {
            config: self_config,
            rng,
            role,
            tie_breaker,
            local_creds,
            remote_creds,
            old_creds,
            locals,
            remotes,
            pairs,
            txns,
            responses,
            events,
            gather_queue,
            allocations,
            gathering_reported,
            remote_end_of_candidates,
            selected,
            state,
            closed,
            consent_expired,
            next_pace,
            nominate_at,
            trigger_seq,
            nominations,
            peer_nomination,
            now: self_now,
            stats,
            rtt,
        } = self;
        *role = if config.lite {
            Role::Controlled
        } else {
            config.role
        };
        // The old generator is dropped (and wiped) here.
        *rng = fresh_rng;
        *tie_breaker = fresh_tie_breaker;
        *local_creds = fresh_creds;
        *remote_creds = None;
        *old_creds = None;
        locals.fill(None);
        remotes.fill(None);
        pairs.fill(None);
        txns.fill(None);
        *responses = Queue::new();
        *events = Queue::new();
        *gather_queue = Queue::new();
        allocations.fill(None);
        *gathering_reported = false;
        *remote_end_of_candidates = false;
        *selected = None;
        *state = IceState::New;
        *closed = false;
        *consent_expired = false;
        *next_pace = now;
        *nominate_at = None;
        *trigger_seq = 0;
        *nominations = 0;
        *peer_nomination = 0;
        *self_now = now;
        *stats = Stats::default();
        *rtt = None;
        *self_config = config;
    }

    /// The generator, tie-breaker and credentials a new agent starts with: the tie-breaker
    /// and the credentials in one DRBG request (each request costs three HMACs whatever its
    /// length up to 32 bytes).
    fn draw(config: &Config) -> (Drbg, u64, Credentials) {
        let mut rng = Drbg::from_seed(&config.seed, b"peerless-ice");
        let mut random = [0u8; 8 + 32];
        rng.fill(&mut random);
        let (tie, creds) = random.split_at(8);
        let tie_breaker = u64::from_be_bytes(tie.try_into().unwrap_or_default());
        let local_creds = config
            .credentials
            .unwrap_or_else(|| Credentials::from_random(creds.try_into().unwrap_or(&[0; 32])));
        (rng, tie_breaker, local_creds)
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

    /// Takes the role the descriptions give us (RFC 8445 §6.1.1: the offerer controls) without
    /// losing what was gathered: an answerer may have gathered (server-reflexive candidates
    /// included) before the offer came. A lite agent stays controlled; pair priorities follow.
    pub fn set_role(&mut self, role: Role) {
        self.switch_role(role);
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

    /// Whether `ufrag` is ours: the current one, or the one an ICE restart replaced while the
    /// old pair still runs (a server routing datagrams to agents by the USERNAME of a request).
    #[must_use]
    pub fn is_local_ufrag(&self, ufrag: &str) -> bool {
        self.local_creds.ufrag.as_str() == ufrag
            || self
                .old_creds
                .is_some_and(|(old, _)| old.ufrag.as_str() == ufrag)
    }

    /// Whether `addr` is one of the configured STUN or TURN servers (their responses, and
    /// what a TURN server relays, are ours).
    #[must_use]
    pub fn is_stun_server(&self, addr: SocketAddr) -> bool {
        self.config.stun_servers.contains(&Some(addr)) || self.is_turn_server(addr)
    }

    /// For a host sending over the selected pair (DTLS, SRTP): `buf[range]` is a datagram
    /// from `source` to `destination`. When `source` is a relayed address, the datagram is
    /// framed in place for the TURN server (ChannelData once the channel is bound, else a
    /// Send indication) and the host socket, the server and the framed range come back;
    /// otherwise the arguments come back unchanged. `buf` needs up to 52 bytes more than the
    /// datagram.
    pub fn relay_transmit(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        buf: &mut [u8],
        range: core::ops::Range<usize>,
    ) -> Result<(SocketAddr, SocketAddr, core::ops::Range<usize>), BufferTooSmall> {
        self.relay_in_place(source, destination, buf, range)
    }

    /// For a host receiving on socket `to` from `from`: when `packet` is a ChannelData message
    /// or a Data indication from one of our TURN servers, the peer's address, our relayed
    /// address and where the peer's datagram lies in `packet`. The host then handles that
    /// datagram as if it came from the peer to the relayed address (STUN to
    /// [`Agent::handle_packet`], the rest to DTLS/SRTP). `None`: not relayed traffic.
    pub fn unwrap_relayed(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        packet: &[u8],
    ) -> Option<(SocketAddr, SocketAddr, core::ops::Range<usize>)> {
        self.unwrap(from, to, packet)
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

    /// Our local candidates, as signalled (with a relay-only policy: the relayed ones).
    pub fn local_candidates(&self) -> impl Iterator<Item = &Candidate> {
        let relay_only = self.config.relay_only;
        self.locals
            .iter()
            .flatten()
            .filter(move |l| !relay_only || l.cand.kind == CandidateType::Relayed)
            .map(|l| &l.cand)
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
            // A passive TCP candidate's address cannot be a UDP one's too (see `tcp`).
            return match l.cand.transport {
                Transport::Udp => Ok(l.cand),
                Transport::Tcp => Err(AddCandidateError::Unsupported),
            };
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
        if !self.config.relay_only {
            self.emit(PendingEvent::LocalCandidate(idx, address));
        }
        if !self.config.lite {
            let now = self.now;
            self.start_allocations(now, address);
        }
        if !self.config.lite && !self.config.relay_only {
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
        let now = self.now;
        self.turn_maintain(now);
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
                && (!self.config.relay_only || l.cand.kind == CandidateType::Relayed)
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

    fn reset_checks(&mut self) {
        self.remotes = [None; REMOTE_CANDIDATES];
        self.pairs = [None; PAIRS];
        for t in &mut self.txns {
            if !matches!(
                t,
                Some(Txn {
                    kind: TxnKind::Consent { .. } | TxnKind::Gather { .. } | TxnKind::Turn { .. },
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
        // The restarted peer may count its nominations from 1 again.
        self.peer_nomination = 0;
        // Peer-reflexive locals belong to the old checks.
        for l in &mut self.locals {
            if l.is_some_and(|l| l.cand.kind == CandidateType::PeerReflexive) {
                *l = None;
            }
        }
    }

    /// Closes the agent: checks and consent stop, nothing more is answered. ICE has no
    /// goodbye on the wire (the peer's consent checks simply go unanswered); TURN allocations
    /// are released (a Refresh with lifetime 0 each, the last datagrams `poll_transmit` gives).
    pub fn close(&mut self, now: Instant) {
        self.now.advance(now);
        self.closed = true;
        self.release_allocations();
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
            self.stats.dropped_closed += 1;
            return;
        }
        // A check relayed by our TURN server (a host that does not unwrap it first).
        if let Some((peer, relayed, range)) = self.unwrap(from, to, packet) {
            if let Some(inner) = packet.get(range).filter(|p| is_stun(p)) {
                self.stats.packets_received = self.stats.packets_received.saturating_sub(1);
                self.handle_packet(now, peer, relayed, inner);
            } else {
                self.stats.dropped_malformed += 1;
            }
            return;
        }
        let Ok(msg) = Message::parse(packet) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        if msg.check_fingerprint() == Some(false) {
            self.stats.dropped_malformed += 1;
            return;
        }
        if matches!(
            msg.method(),
            Method::ALLOCATE | Method::REFRESH | Method::CREATE_PERMISSION | Method::CHANNEL_BIND
        ) && matches!(msg.class(), Class::Success | Class::Error)
        {
            self.handle_turn_response(now, from, to, &msg);
            self.turn_maintain(now);
            self.update_state();
            return;
        }
        if msg.method() != Method::BINDING {
            self.stats.dropped_malformed += 1;
            return;
        }
        match msg.class() {
            Class::Request => self.handle_request(now, from, to, &msg),
            Class::Success | Class::Error => self.handle_response(now, from, to, &msg),
            // Binding indications are keepalives: nothing to do.
            Class::Indication => {}
        }
        self.start_unpaced(now);
        self.turn_maintain(now);
        self.update_state();
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
                        TxnKind::Gather { local } => {
                            if let Some(server) = self
                                .config
                                .stun_servers
                                .iter()
                                .position(|s| *s == Some(t.destination))
                            {
                                self.emit(PendingEvent::ServerUnreachable(local, server));
                            }
                            self.check_gathering_done();
                        }
                        TxnKind::Turn { alloc, request } => {
                            self.turn_timed_out(usize::from(alloc), request);
                        }
                        _ => {}
                    }
                }
            }
        }
        self.refresh_consent(now);
        self.maybe_renominate(now);
        self.follow_renomination(now);
        self.maybe_nominate(now);
        self.start_unpaced(now);
        if now >= self.next_pace {
            self.pace(now);
        }
        self.maybe_nominate(now);
        self.turn_maintain(now);
        self.update_state();
    }

    /// The next datagram to send: responses first, then requests due.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        while let Some(&r) = self.responses.peek() {
            // From a relayed address, the response is written after room for the TURN framing.
            let head = self.relay_headroom(r.source, r.destination);
            let emitted = match buf.get_mut(head..) {
                Some(inner) => self.emit_response(&r, inner),
                None => Err(BufferTooSmall { needed: head }),
            }
            .map_err(|e| BufferTooSmall {
                needed: e.needed + head,
            })?;
            self.responses.pop();
            if let Some(n) = emitted {
                let (from, to, n) = self.frame_relayed(r.source, r.destination, buf, n)?;
                return Ok(Some(Transmit::between(
                    from,
                    to,
                    buf.get(..n).unwrap_or_default(),
                )));
            }
        }
        for i in 0..TRANSACTIONS {
            let Some(t) = self.txns.get(i).copied().flatten() else {
                continue;
            };
            // A check from a relayed candidate waits (still due) for its permission.
            if !t.due || self.awaits_permission(t.source, t.destination) {
                continue;
            }
            let head = self.relay_headroom(t.source, t.destination);
            let emitted = match buf.get_mut(head..) {
                Some(inner) => self.emit_request(&t, inner),
                None => Err(BufferTooSmall { needed: head }),
            }
            .map_err(|e| BufferTooSmall {
                needed: e.needed + head,
            });
            let n = match emitted {
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
            let (from, to, n) = self.frame_relayed(t.source, t.destination, buf, n)?;
            return Ok(Some(Transmit::between(
                from,
                to,
                buf.get(..n).unwrap_or_default(),
            )));
        }
        self.poll_release(buf)
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
                PendingEvent::CandidateError(alloc) => self.candidate_error(alloc),
                PendingEvent::ServerUnreachable(i, server) => {
                    let local = self.locals.get(i).copied().flatten();
                    let server = self.config.stun_servers.get(server).copied().flatten();
                    local
                        .zip(server)
                        .map(|(l, server)| Event::ServerUnreachable {
                            local: l.base,
                            server,
                        })
                }
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
        if let Some(t) = self.turn_deadline() {
            at(t);
        }
        if !self.config.lite {
            let pacing_work = !self.gather_queue.is_empty()
                || self.turn_queued()
                || (self.remote_creds.is_some()
                    && self.pairs.iter().flatten().any(|p| {
                        p.triggered.is_some()
                            || (matches!(p.state, PairState::Waiting | PairState::Frozen)
                                && !(self.role == Role::Controlling
                                    && self.selected.is_some_and(|s| !s.old)))
                    }));
            if self.unpaced_work() {
                at(self.now);
            } else if pacing_work {
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
        if !self.config.lite
            && self.remote_end_of_candidates
            && all_failed
            && !checks_in_flight
            && !self.awaits_tcp_connection()
        {
            return IceState::Failed;
        }
        if !has_pairs && self.remotes.iter().all(Option::is_none) {
            return IceState::New;
        }
        IceState::Checking
    }
}
