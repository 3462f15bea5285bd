//! TURN (RFC 8656) over UDP: relayed candidates, and the relay under everything sent from them.
//!
//! ```text
//!  add_local_candidate(host) -> one Allocation per TURN server of the host's family
//!  Allocate REQUESTED-TRANSPORT=UDP LIFETIME [REQUESTED-ADDRESS-FAMILY=IPv6 from an IPv6
//!           socket | ADDITIONAL-ADDRESS-FAMILY=IPv6 when dual-stack] ------------> server
//!     <-- 401 REALM NONCE -> Allocate again: USERNAME REALM NONCE MI(MD5(user:realm:pwd))
//!     <-- 438 NONCE       -> the same request again with the new nonce (twice at most)
//!     <-- success XOR-RELAYED (one, or IPv4 + IPv6) XOR-MAPPED LIFETIME -> relayed
//!         candidate(s) (type preference 0, related address = the mapped one)
//!     <-- 300 ALTERNATE-SERVER -> Allocate again at that server (twice at most; signed if
//!                                 we had authenticated)
//!     <-- other error | no answer -> Event::CandidateError; gathering goes on without it
//!  Allocated:
//!     Refresh a minute before the lifetime ends (438 -> again with the new nonce)
//!     Binding indication to the server every 15 s (keeps the NAT mapping to it alive)
//!     each remote candidate's IP -> CreatePermission, refreshed every 4 min (RFC: 5)
//!     the selected pair on the relay -> ChannelBind 0x4000.., refreshed every 8 min (RFC: 10)
//!     out (from the relayed address): bound ? ChannelData : Send(XOR-PEER-ADDRESS, DATA)
//!     in  (from the server):          ChannelData | Data indication -> (peer, relayed, inner)
//!  close(): Refresh LIFETIME=0 once, unacknowledged (the agent is gone after it)
//!
//!  TCP/TLS to the server (RFC 8656 §3.1): the host opens the stream and calls
//!  turn_stream_connected(server, its local address); the allocation runs as above over it:
//!  transmits from that local address go on the stream (one request each, no retransmission:
//!  RFC 8489 §6.2.2), ChannelData padded to four; the host splits what arrives with
//!  peerless_stun::stream_frame_len and hands in each message as a datagram.
//! ```
//!
//! A relayed candidate's base is the relayed address itself (RFC 8445 §5.1.1.2), so checks,
//! responses and the host's data all name it as their source; only the last step, here,
//! turns "relayed address -> peer" into "host socket -> TURN server".

use core::net::IpAddr;
use core::ops::Range;

use peerless_stun::{AddressFamily, Attribute, ChannelData, long_term_key_md5};

use super::*;
use crate::candidate::Str;
use crate::ice_server::TurnServer;

/// The configured server of an allocation.
fn server_of(config: &Config, a: &Allocation) -> Option<TurnServer> {
    config.turn_servers.get(a.index).copied().flatten()
}

/// Allocations: one per TURN server and host socket of its family (a host with two sockets
/// of one family and two servers allocates on the first socket's; the table is the agent's
/// largest after the pairs, ~700 bytes an entry).
pub(super) const MAX_ALLOCATIONS: usize = MAX_TURN_SERVERS;
/// Peer IP addresses with a permission on one allocation.
const PERMISSIONS: usize = 8;
/// Channels on one allocation (the selected pair needs one; a renomination another).
const CHANNELS: usize = 4;
/// A permission lasts 300 s (RFC 8656 §9); refreshed a minute early.
const PERMISSION_REFRESH: Duration = Duration::from_secs(240);
/// A channel binding lasts 600 s (RFC 8656 §12); refreshed a minute early.
const CHANNEL_REFRESH: Duration = Duration::from_secs(540);
/// A failed CreatePermission or ChannelBind is tried again after this long.
const RETRY: Duration = Duration::from_secs(5);
/// A Binding indication to the server this often keeps the NAT's mapping of the host socket
/// alive between refreshes (NAT mappings may last 30 s; RFC 4787 REQ-5 asks for 2 min).
const KEEPALIVE: Duration = Duration::from_secs(15);
/// 438 Stale Nonce answers in a row before the request is given up.
const MAX_STALE: u8 = 2;
/// 300 Try Alternate redirections an allocation follows (RFC 8489 §10 asks clients to stop
/// a redirection loop).
const MAX_REDIRECTS: u8 = 2;
/// ADDITIONAL-ADDRESS-FAMILY at the code point of the draft before RFC 8656 (which assigned
/// 0x8000): coturn (4.6) still reads only this one, so a dual allocation carries both; both
/// are comprehension-optional, and a server ignores the one it does not know.
const COTURN_ADDITIONAL_ADDRESS_FAMILY: AttrType = AttrType(0x8032);
/// The code browsers put in `icecandidateerror` when the server never answered.
pub const UNREACHABLE: u16 = 701;

/// What a TURN transaction asks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TurnRequest {
    Allocate,
    Refresh,
    /// The permission's slot.
    Permission(u8),
    /// The channel's slot.
    Bind(u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AllocState {
    Allocating,
    Allocated,
    /// Refused, unanswered, expired or released: no relayed candidate.
    Failed,
}

/// The long-term credential's realm and nonce from the server, and the key they give.
#[derive(Clone, Copy)]
struct Auth {
    realm: Str<64>,
    nonce: Str<128>,
    key: [u8; 16],
}

impl core::fmt::Debug for Auth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Auth")
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug)]
struct Permission {
    ip: IpAddr,
    installed: bool,
    pending: bool,
    refresh_at: Instant,
}

#[derive(Clone, Copy, Debug)]
struct Channel {
    peer: SocketAddr,
    number: u16,
    bound: bool,
    pending: bool,
    refresh_at: Instant,
}

/// One allocation on one TURN server, from one host socket.
#[derive(Clone, Copy, Debug)]
pub(super) struct Allocation {
    /// The server's index in `Config::turn_servers`.
    index: usize,
    /// The server's address (also in the config; kept here for the per-datagram lookups).
    server: SocketAddr,
    /// The host socket the allocation's 5-tuple starts from.
    base: SocketAddr,
    state: AllocState,
    auth: Option<Auth>,
    stale: u8,
    /// 300 Try Alternate redirections followed so far (at most `MAX_REDIRECTS`).
    redirects: u8,
    /// The relayed addresses: one, or an IPv4 and an IPv6 one from a dual allocation.
    relayed: [Option<SocketAddr>; 2],
    refresh_at: Instant,
    refresh_pending: bool,
    /// Refresh LIFETIME=0 still to go out (after close).
    release: bool,
    /// Requests waiting for a Ta slot (see `queue_bit`): Allocate, Refresh, then one bit per
    /// permission slot and per channel slot.
    queued: u16,
    /// Over a byte stream (TCP/TLS) the host opened: `base` is its local address.
    stream: bool,
    /// When the next keepalive is due, and whether one waits for `poll_transmit`.
    keepalive_at: Instant,
    keepalive_due: bool,
    permissions: [Option<Permission>; PERMISSIONS],
    channels: [Option<Channel>; CHANNELS],
    next_channel: u16,
    /// The last error, for the pending `CandidateError` event.
    error_code: u16,
    error_text: Str<64>,
}

impl Allocation {
    /// Whether `addr` is one of this allocation's relayed addresses.
    fn relays(&self, addr: SocketAddr) -> bool {
        self.relayed.contains(&Some(addr))
    }

    /// The relayed address that talks to `peer`: the one of its family (RFC 8656 §7.1: a
    /// dual allocation's server picks by the peer's family too).
    fn relayed_for(&self, peer: SocketAddr) -> Option<SocketAddr> {
        self.relayed
            .iter()
            .flatten()
            .copied()
            .find(|r| r.is_ipv4() == peer.is_ipv4())
    }
}

/// Where a datagram from a relayed address goes: the allocation and how it is framed.
#[derive(Clone, Copy, Debug)]
struct Route {
    stream: bool,
    host: SocketAddr,
    server: SocketAddr,
    channel: Option<u16>,
}

impl Route {
    /// Bytes in front of the peer's datagram.
    fn header_len(&self, peer: SocketAddr) -> usize {
        match self.channel {
            Some(_) => 4,
            // STUN header, XOR-PEER-ADDRESS, DATA's type and length.
            None => 20 + if peer.is_ipv4() { 12 } else { 24 } + 4,
        }
    }
}

/// The bit of `Allocation::queued` for a request (slots are below PERMISSIONS and CHANNELS,
/// and 2 + 8 + 4 bits fit a u16).
fn queue_bit(request: TurnRequest) -> u16 {
    let bit = match request {
        TurnRequest::Allocate => 0,
        TurnRequest::Refresh => 1,
        TurnRequest::Permission(p) => 2 + u32::from(p),
        TurnRequest::Bind(c) => 2 + PERMISSIONS as u32 + u32::from(c),
    };
    1u16.checked_shl(bit).unwrap_or(0)
}

/// The request a bit of `Allocation::queued` stands for.
fn request_of_bit(bit: u8) -> Option<TurnRequest> {
    let p = PERMISSIONS as u8;
    match bit {
        0 => Some(TurnRequest::Allocate),
        1 => Some(TurnRequest::Refresh),
        b if b < 2 + p => Some(TurnRequest::Permission(b - 2)),
        b if b < 2 + p + CHANNELS as u8 => Some(TurnRequest::Bind(b - 2 - p)),
        _ => None,
    }
}

fn lifetime_refresh(now: Instant, lifetime: Option<u32>) -> Instant {
    let secs = u64::from(lifetime.unwrap_or(600));
    // A minute early, or halfway for short lifetimes.
    let at = if secs > 120 { secs - 60 } else { secs / 2 };
    now + Duration::from_secs(at.max(1))
}

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    /// The live allocation in slot `alloc`.
    fn allocation_mut(&mut self, alloc: usize) -> Option<&mut Allocation> {
        self.allocations.get_mut(alloc).and_then(Option::as_mut)
    }

    /// Starts an allocation on every TURN server of `base`'s family.
    pub(super) fn start_allocations(&mut self, now: Instant, base: SocketAddr) {
        let servers = self.config.turn_servers;
        for (index, server) in servers.iter().enumerate() {
            let Some(server) = server else { continue };
            if server.address.is_ipv4() != base.is_ipv4()
                || server.transport != crate::ice_server::ServerTransport::Udp
                || self
                    .allocations
                    .iter()
                    .flatten()
                    .any(|a| a.index == index && a.base == base)
            {
                continue;
            }
            self.new_allocation(now, index, server.address, base, false);
        }
    }

    /// The host opened a TCP (or TLS) stream from `local` to the TURN server at `server`
    /// (one configured with `?transport=tcp` or `turns:`): the allocation starts over it.
    /// Every transmit from `local` then goes on that stream; split what arrives with
    /// [`peerless_stun::stream_frame_len`] and hand each message to `handle_packet` (or the
    /// Peer's) with `from = server`, `to = local`. Connect before adding the host candidates:
    /// gathering completes once every allocation started has ended. `false`: no such server.
    pub fn turn_stream_connected(
        &mut self,
        now: Instant,
        server: SocketAddr,
        local: SocketAddr,
    ) -> bool {
        let now = self.now.advance(now);
        let Some(index) = self.config.turn_servers.iter().position(|s| {
            s.is_some_and(|s| {
                s.address == server && s.transport == crate::ice_server::ServerTransport::Tcp
            })
        }) else {
            return false;
        };
        if self.closed
            || self
                .allocations
                .iter()
                .flatten()
                .any(|a| a.index == index && a.base == local)
        {
            return false;
        }
        self.gathering_reported = false;
        self.new_allocation(now, index, server, local, true);
        true
    }

    /// The host's stream to `server` from `local` closed: its allocation is gone (a
    /// `CandidateError`, and its relayed candidate is withdrawn).
    pub fn turn_stream_closed(&mut self, server: SocketAddr, local: SocketAddr) {
        if let Some(i) = self
            .allocations
            .iter()
            .position(|a| a.is_some_and(|a| a.stream && a.server == server && a.base == local))
            && self
                .allocations
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|a| a.state != AllocState::Failed)
        {
            self.allocation_failed(i, UNREACHABLE, "TURN server stream closed");
        }
    }

    fn new_allocation(
        &mut self,
        now: Instant,
        index: usize,
        server: SocketAddr,
        base: SocketAddr,
        stream: bool,
    ) {
        // A failed allocation's slot is reused.
        let Some(slot) = self
            .allocations
            .iter()
            .position(|a| a.is_none_or(|a| a.state == AllocState::Failed && !a.release))
        else {
            self.stats.dropped_full += 1;
            return;
        };
        {
            if let Some(s) = self.allocations.get_mut(slot) {
                *s = Some(Allocation {
                    index,
                    server,
                    base,
                    state: AllocState::Allocating,
                    auth: None,
                    stale: 0,
                    redirects: 0,
                    relayed: [None; 2],
                    refresh_at: now,
                    refresh_pending: false,
                    release: false,
                    queued: 0,
                    stream,
                    keepalive_at: now + KEEPALIVE,
                    keepalive_due: false,
                    permissions: [None; PERMISSIONS],
                    channels: [None; CHANNELS],
                    next_channel: peerless_stun::CHANNEL_MIN,
                    error_code: 0,
                    error_text: Str::new(),
                });
            }
            self.start_turn(now, slot, TurnRequest::Allocate);
        }
    }

    /// The retransmission schedule of a TURN request: RFC 8489's over UDP; over a stream one
    /// send and 39.5 s of waiting (§6.2.2: reliable transports are not retransmitted on).
    pub(super) fn turn_retransmit(&self, alloc: usize) -> peerless_stun::RetransmitConfig {
        if self
            .allocations
            .get(alloc)
            .copied()
            .flatten()
            .is_some_and(|a| a.stream)
        {
            peerless_stun::RetransmitConfig {
                rto: Duration::from_millis(39_500),
                max_sends: 1,
                last_wait: 1,
                max_rto: None,
            }
        } else {
            self.config.retransmit
        }
    }

    /// Queues a TURN request for the pacer: TURN transactions take Ta slots like checks and
    /// server-reflexive gathering (RFC 8445 §14.1: all of an agent's STUN/TURN transactions
    /// count against one Ta). An ICE-lite agent has no pacer and sends at once.
    fn start_turn(&mut self, now: Instant, alloc: usize, request: TurnRequest) {
        if self.config.lite {
            self.send_turn(now, alloc, request);
            return;
        }
        if let Some(a) = self.allocation_mut(alloc) {
            a.queued |= queue_bit(request);
        }
    }

    /// The TURN request to start in this Ta slot, if any: allocations first (gathering), then
    /// refreshes, channels and permissions in slot order.
    pub(super) fn next_turn_request(&self) -> Option<(usize, TurnRequest)> {
        self.allocations.iter().enumerate().find_map(|(i, a)| {
            let a = a.as_ref().filter(|a| a.state != AllocState::Failed)?;
            (0..16u8)
                .filter(|b| a.queued & (1 << b) != 0)
                .find_map(request_of_bit)
                .map(|r| (i, r))
        })
    }

    /// Whether a TURN request waits for its Ta slot.
    pub(super) fn turn_queued(&self) -> bool {
        self.next_turn_request().is_some()
    }

    /// Starts the queued TURN request `request` on `alloc` (the pacer's slot).
    pub(super) fn send_turn(&mut self, now: Instant, alloc: usize, request: TurnRequest) {
        let Some(a) = self.allocation_mut(alloc) else {
            return;
        };
        a.queued &= !queue_bit(request);
        let a = *a;
        // Slots are below MAX_ALLOCATIONS, PERMISSIONS and CHANNELS: they fit a u8.
        let alloc = u8::try_from(alloc).unwrap_or(u8::MAX);
        self.start_txn(now, TxnKind::Turn { alloc, request }, a.base, a.server, 0);
    }

    /// Whether an allocation is still being made (gathering is not complete).
    pub(super) fn allocating(&self) -> bool {
        self.allocations
            .iter()
            .flatten()
            .any(|a| a.state == AllocState::Allocating)
    }

    /// Whether `addr` is the address of a configured TURN server, or of the one a 300 Try
    /// Alternate moved an allocation to.
    pub(super) fn is_turn_server(&self, addr: SocketAddr) -> bool {
        self.config
            .turn_servers
            .iter()
            .flatten()
            .any(|s| s.address == addr)
            || self.allocations.iter().flatten().any(|a| a.server == addr)
    }

    /// A TURN request rebuilt for (re)transmission.
    pub(super) fn emit_turn_request(
        &self,
        t: &Txn,
        alloc: usize,
        request: TurnRequest,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Some(a) = self.allocations.get(alloc).copied().flatten() else {
            return Ok(None);
        };
        let lifetime = u32::try_from(self.config.turn_lifetime.as_secs()).unwrap_or(u32::MAX);
        let b = match request {
            TurnRequest::Allocate => {
                let b = Message::builder(Class::Request, Method::ALLOCATE, t.tid)
                    .attr(Attribute::RequestedTransport(17))
                    .attr(Attribute::Lifetime(lifetime));
                // RFC 8656 §7.1: the two are exclusive; IPv4 is the server's default.
                if self.config.turn_dual_stack {
                    b.attr(Attribute::AdditionalAddressFamily(AddressFamily::IPV6))
                        .attr(Attribute::Other {
                            typ: COTURN_ADDITIONAL_ADDRESS_FAMILY,
                            value: &[AddressFamily::IPV6.0, 0, 0, 0],
                        })
                } else if a.base.is_ipv6() {
                    b.attr(Attribute::RequestedAddressFamily(AddressFamily::IPV6))
                } else {
                    b
                }
            }
            TurnRequest::Refresh => Message::builder(Class::Request, Method::REFRESH, t.tid)
                .attr(Attribute::Lifetime(lifetime)),
            TurnRequest::Permission(p) => {
                let Some(p) = a.permissions.get(usize::from(p)).copied().flatten() else {
                    return Ok(None);
                };
                Message::builder(Class::Request, Method::CREATE_PERMISSION, t.tid)
                    .attr(Attribute::XorPeerAddress(SocketAddr::new(p.ip, 0)))
            }
            TurnRequest::Bind(c) => {
                let Some(c) = a.channels.get(usize::from(c)).copied().flatten() else {
                    return Ok(None);
                };
                Message::builder(Class::Request, Method::CHANNEL_BIND, t.tid)
                    .attr(Attribute::ChannelNumber(c.number))
                    .attr(Attribute::XorPeerAddress(c.peer))
            }
        };
        let Some(server) = server_of(&self.config, &a) else {
            return Ok(None);
        };
        let out = match &a.auth {
            Some(auth) => b
                .username(server.username.as_str())
                .realm(auth.realm.as_str())
                .nonce(auth.nonce.as_str())
                .integrity_sha1(&auth.key)
                .fingerprint()
                .emit(buf),
            None => b.fingerprint().emit(buf),
        };
        emit::finish(out)
    }

    /// A response from a TURN server to one of our TURN transactions.
    pub(super) fn handle_turn_response(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        msg: &Message<'_>,
    ) {
        let tid = msg.transaction_id();
        let Some(ti) = self.txns.iter().position(|t| {
            t.is_some_and(|t| {
                t.tid == tid
                    && t.destination == from
                    && t.source == to
                    && matches!(t.kind, TxnKind::Turn { .. })
            })
        }) else {
            self.stats.dropped_unmatched += 1;
            return;
        };
        let Some(Txn {
            kind: TxnKind::Turn { alloc, request },
            ..
        }) = self.txns.get(ti).copied().flatten()
        else {
            return;
        };
        let alloc = usize::from(alloc);
        let Some(a) = self.allocations.get(alloc).copied().flatten() else {
            return;
        };
        let code = msg.error_code().map(|e| e.code);
        // A success must be signed with our key; 401 and 438 come unsigned (they hand out
        // the realm and nonce), anything else signed is checked too.
        if let Some(auth) = &a.auth
            && (msg.class() == Class::Success || msg.has_integrity())
            && !msg.verify_integrity(&auth.key)
        {
            self.stats.dropped_unauthenticated += 1;
            return;
        }
        // A redirection after we authenticated must be authenticated too (RFC 8489 §10):
        // otherwise anyone on the path could move the allocation.
        if code == Some(ErrorCode::TRY_ALTERNATE) && a.auth.is_some() && !msg.has_integrity() {
            self.stats.dropped_unauthenticated += 1;
            return;
        }
        if msg.class() == Class::Success && a.auth.is_none() {
            // The server asked for no credentials (allowed): fine for a server without auth.
            trace!("ice: TURN server answered without authentication");
        }
        if let Some(slot) = self.txns.get_mut(ti) {
            *slot = None;
        }
        let success = msg.class() == Class::Success;
        if !success
            && matches!(
                code,
                Some(ErrorCode::UNAUTHENTICATED | ErrorCode::STALE_NONCE)
            )
            && self.learn_nonce(alloc, msg, code == Some(ErrorCode::STALE_NONCE))
        {
            self.start_turn(now, alloc, request);
            return;
        }
        if let Some(a) = self.allocation_mut(alloc) {
            a.stale = 0;
        }
        match request {
            TurnRequest::Allocate if success => self.allocated(now, alloc, msg),
            TurnRequest::Allocate
                if code == Some(ErrorCode::TRY_ALTERNATE) && self.redirect(now, alloc, msg) => {}
            TurnRequest::Allocate => {
                let reason = msg.error_code().map(|e| e.reason).unwrap_or("");
                self.allocation_failed(alloc, code.unwrap_or(0), reason);
            }
            TurnRequest::Refresh => {
                if success {
                    if let Some(a) = self.allocation_mut(alloc) {
                        a.refresh_pending = false;
                        a.refresh_at = lifetime_refresh(now, msg.lifetime());
                    }
                } else {
                    // 437: the allocation is gone on the server.
                    let reason = msg.error_code().map(|e| e.reason).unwrap_or("");
                    self.allocation_failed(alloc, code.unwrap_or(0), reason);
                }
            }
            TurnRequest::Permission(p) => {
                if let Some(p) = self
                    .allocation_mut(alloc)
                    .and_then(|a| a.permissions.get_mut(usize::from(p)))
                    .and_then(|p| p.as_mut())
                {
                    p.pending = false;
                    p.installed = success;
                    p.refresh_at = now + if success { PERMISSION_REFRESH } else { RETRY };
                }
            }
            TurnRequest::Bind(c) => {
                let Some(a) = self.allocation_mut(alloc) else {
                    return;
                };
                let mut peer_ip = None;
                if let Some(c) = a.channels.get_mut(usize::from(c)).and_then(|c| c.as_mut()) {
                    c.pending = false;
                    c.bound = success;
                    c.refresh_at = now + if success { CHANNEL_REFRESH } else { RETRY };
                    peer_ip = success.then_some(c.peer.ip());
                }
                // A channel binding installs (and refreshes) the permission too.
                if let Some(p) = a
                    .permissions
                    .iter_mut()
                    .flatten()
                    .find(|p| Some(p.ip) == peer_ip)
                {
                    p.installed = true;
                    p.refresh_at = p.refresh_at.max(now + PERMISSION_REFRESH);
                }
            }
        }
    }

    /// Takes REALM and NONCE from a 401 or 438; `false` when the request should not be
    /// repeated (a 401 although we sent credentials: they are wrong; too many 438s).
    fn learn_nonce(&mut self, alloc: usize, msg: &Message<'_>, stale: bool) -> bool {
        let config = self.config;
        let Some(a) = self.allocation_mut(alloc) else {
            return false;
        };
        let Some(server) = server_of(&config, a) else {
            return false;
        };
        if (!stale && a.auth.is_some()) || (stale && a.stale >= MAX_STALE) {
            return false;
        }
        let realm = msg
            .realm()
            .or(a.auth.as_ref().map(|x| x.realm.as_str()))
            .and_then(Str::<64>::copy_from);
        let nonce = msg.nonce().and_then(Str::<128>::copy_from);
        let (Some(realm), Some(nonce)) = (realm, nonce) else {
            return false;
        };
        if stale {
            a.stale = a.stale.saturating_add(1);
        }
        a.auth = Some(Auth {
            realm,
            nonce,
            key: long_term_key_md5(
                server.username.as_str(),
                realm.as_str(),
                server.credential.as_str(),
            ),
        });
        true
    }

    /// 300 Try Alternate on an Allocate (RFC 8656 §7.2, RFC 8489 §10): the allocation starts
    /// again at the ALTERNATE-SERVER, from the same host socket, with a fresh 401 exchange
    /// (realm and nonce belong to a server). `false`: not followed (no usable address, a
    /// family the host socket cannot reach, over a stream the host would have to reopen, or
    /// too many redirections), and the 300 becomes the candidate error.
    fn redirect(&mut self, now: Instant, alloc: usize, msg: &Message<'_>) -> bool {
        let alternate = match msg.get_decoded(AttrType::ALTERNATE_SERVER) {
            Some(Attribute::AlternateServer(a)) => a,
            _ => return false,
        };
        let Some(a) = self.allocation_mut(alloc) else {
            return false;
        };
        if a.stream
            || a.redirects >= MAX_REDIRECTS
            || alternate.is_ipv4() != a.base.is_ipv4()
            || alternate == a.server
            || alternate.port() == 0
        {
            return false;
        }
        debug!("ice: TURN 300 Try Alternate, following");
        a.redirects += 1;
        a.server = alternate;
        a.auth = None;
        a.stale = 0;
        self.start_turn(now, alloc, TurnRequest::Allocate);
        true
    }

    fn allocated(&mut self, now: Instant, alloc: usize, msg: &Message<'_>) {
        let Some(a) = self.allocation_mut(alloc) else {
            return;
        };
        // One relayed address, or two of different families from a dual allocation (one
        // family may be refused with ADDRESS-ERROR-CODE: the other still serves).
        let mut relays = msg.xor_relayed_addresses();
        let first = relays.next();
        let second = relays
            .next()
            .filter(|r| first.is_some_and(|f| f.is_ipv4() != r.is_ipv4()));
        let Some(first) = first else {
            self.allocation_failed(alloc, 0, "no XOR-RELAYED-ADDRESS");
            return;
        };
        a.state = AllocState::Allocated;
        a.relayed = [Some(first), second];
        a.refresh_at = lifetime_refresh(now, msg.lifetime());
        let (base, server, index) = (a.base, a.server, a.index);
        let mapped = msg.xor_mapped_address();
        debug!("ice: TURN allocation, relayed port {}", first.port());
        // Browsers take the server-reflexive candidate an Allocate response reveals too.
        let stream = self
            .allocations
            .get(alloc)
            .copied()
            .flatten()
            .is_some_and(|a| a.stream);
        if let Some(m) = mapped
            && !self.config.relay_only
            && !stream
            && let Some(host) = self.locals.iter().position(|l| {
                l.is_some_and(|l| l.base == base && l.cand.kind == CandidateType::Host)
            })
        {
            self.add_srflx(host, base, m, server);
        }
        // Browsers' order: UDP to the server before TCP before TLS.
        let pref = 65535u16
            .saturating_sub(u16::try_from(index).unwrap_or(0).saturating_mul(256))
            .saturating_sub(if stream { 16384 } else { 0 });
        for (k, relayed) in [Some(first), second].into_iter().flatten().enumerate() {
            // The second family's candidate one below the first: priorities stay distinct.
            let pref = pref.saturating_sub(u16::try_from(k).unwrap_or(0));
            let mut cand = self.make_local(CandidateType::Relayed, relayed, relayed, pref, None);
            cand.foundation = pairs::foundation(CandidateType::Relayed, base, Some(server));
            cand.related = Some(mapped.unwrap_or(base));
            if let Ok(i) = self.insert_local(Local {
                cand,
                base: relayed,
            }) {
                self.emit(PendingEvent::LocalCandidate(i, relayed));
                self.pair_local(i);
            }
        }
        self.turn_maintain(now);
        self.check_gathering_done();
    }

    fn allocation_failed(&mut self, alloc: usize, code: u16, reason: &str) {
        let Some(a) = self.allocation_mut(alloc) else {
            return;
        };
        let was = a.state;
        a.state = AllocState::Failed;
        a.error_code = code;
        a.error_text = Str::copy_from(reason)
            .or_else(|| reason.get(..64).and_then(Str::copy_from))
            .unwrap_or_default();
        debug!("ice: TURN allocation failed, code {}", code);
        // Its relayed candidates and their pairs go (unless the selected pair still uses one).
        let relays = a.relayed;
        for relayed in relays.into_iter().flatten() {
            if was == AllocState::Allocated
                && let Some(i) = self
                    .locals
                    .iter()
                    .position(|l| l.is_some_and(|l| l.base == relayed))
                && self.selected_pair_indices().map(|(l, _)| l) != Some(i)
            {
                self.remove_pairs(|p| p.local == i);
                if let Some(l) = self.locals.get_mut(i) {
                    *l = None;
                }
            }
        }
        self.emit(PendingEvent::CandidateError(alloc));
        self.check_gathering_done();
    }

    /// A TURN transaction got no answer.
    pub(super) fn turn_timed_out(&mut self, alloc: usize, request: TurnRequest) {
        // A permission or channel that got no answer is asked for again after RETRY.
        let retry_at = self.now + RETRY;
        match request {
            TurnRequest::Allocate | TurnRequest::Refresh => {
                self.allocation_failed(alloc, UNREACHABLE, "TURN server did not answer");
            }
            TurnRequest::Permission(p) => {
                if let Some(p) = self
                    .allocation_mut(alloc)
                    .and_then(|a| a.permissions.get_mut(usize::from(p)))
                    .and_then(|p| p.as_mut())
                {
                    p.pending = false;
                    p.refresh_at = retry_at;
                }
            }
            TurnRequest::Bind(c) => {
                if let Some(c) = self
                    .allocation_mut(alloc)
                    .and_then(|a| a.channels.get_mut(usize::from(c)))
                    .and_then(|c| c.as_mut())
                {
                    c.pending = false;
                    c.refresh_at = retry_at;
                }
            }
        }
    }

    /// The `CandidateError` event for an allocation.
    pub(super) fn candidate_error(&self, alloc: usize) -> Option<Event> {
        let a = self.allocations.get(alloc).copied().flatten()?;
        Some(Event::CandidateError {
            local: a.base,
            server: a.server,
            url: server_of(&self.config, &a)
                .map(|s| s.url)
                .unwrap_or_default(),
            code: a.error_code,
            text: a.error_text,
        })
    }

    /// Refreshes what is due and asks for what is missing: permissions for every remote
    /// candidate's address, a channel for the selected pair when it runs over the relay.
    pub(super) fn turn_maintain(&mut self, now: Instant) {
        if self.closed {
            return;
        }
        let selected = self.selected.map(|s| (s.base, s.remote.address));
        for ai in 0..self.allocations.len() {
            let Some(a) = self.allocations.get(ai).copied().flatten() else {
                continue;
            };
            if a.state != AllocState::Allocated || a.relayed[0].is_none() {
                continue;
            }
            if now >= a.keepalive_at
                && !a.stream
                && let Some(a) = self.allocations.get_mut(ai).and_then(|a| a.as_mut())
            {
                a.keepalive_due = true;
                a.keepalive_at = now + KEEPALIVE;
            }
            if !a.refresh_pending && now >= a.refresh_at {
                if let Some(a) = self.allocations.get_mut(ai).and_then(|a| a.as_mut()) {
                    a.refresh_pending = true;
                }
                self.start_turn(now, ai, TurnRequest::Refresh);
            }
            // Permissions: one per peer IP of the relayed address's family.
            for r in 0..REMOTE_CANDIDATES {
                let Some(ip) = self
                    .remotes
                    .get(r)
                    .copied()
                    .flatten()
                    .map(|c| c.address)
                    .filter(|peer| a.relayed_for(*peer).is_some())
                    .map(|peer| peer.ip())
                else {
                    continue;
                };
                self.ensure_permission(ai, ip);
            }
            if let Some((base, peer)) = selected
                && a.relays(base)
            {
                self.ensure_permission(ai, peer.ip());
                self.ensure_channel(ai, peer);
            }
            let Some(a) = self.allocations.get(ai).copied().flatten() else {
                continue;
            };
            for (pi, p) in a.permissions.iter().enumerate() {
                if let Some(p) = p
                    && !p.pending
                    && now >= p.refresh_at
                {
                    self.set_permission_pending(ai, pi);
                    let pi = u8::try_from(pi).unwrap_or(u8::MAX);
                    self.start_turn(now, ai, TurnRequest::Permission(pi));
                }
            }
            for (ci, c) in a.channels.iter().enumerate() {
                if let Some(c) = c
                    && !c.pending
                    && now >= c.refresh_at
                {
                    if let Some(c) = self
                        .allocations
                        .get_mut(ai)
                        .and_then(|a| a.as_mut())
                        .and_then(|a| a.channels.get_mut(ci))
                        .and_then(|c| c.as_mut())
                    {
                        c.pending = true;
                    }
                    let ci = u8::try_from(ci).unwrap_or(u8::MAX);
                    self.start_turn(now, ai, TurnRequest::Bind(ci));
                }
            }
        }
    }

    fn set_permission_pending(&mut self, ai: usize, pi: usize) {
        if let Some(p) = self
            .allocations
            .get_mut(ai)
            .and_then(|a| a.as_mut())
            .and_then(|a| a.permissions.get_mut(pi))
            .and_then(|p| p.as_mut())
        {
            p.pending = true;
        }
    }

    fn ensure_permission(&mut self, ai: usize, ip: IpAddr) {
        let now = self.now;
        let Some(a) = self.allocations.get_mut(ai).and_then(|a| a.as_mut()) else {
            return;
        };
        if a.permissions.iter().flatten().any(|p| p.ip == ip) {
            return;
        }
        match a.permissions.iter_mut().find(|p| p.is_none()) {
            Some(slot) => {
                *slot = Some(Permission {
                    ip,
                    installed: false,
                    pending: false,
                    refresh_at: now,
                });
            }
            None => self.stats.dropped_full += 1,
        }
    }

    fn ensure_channel(&mut self, ai: usize, peer: SocketAddr) {
        let now = self.now;
        let Some(a) = self.allocations.get_mut(ai).and_then(|a| a.as_mut()) else {
            return;
        };
        if a.channels.iter().flatten().any(|c| c.peer == peer) {
            return;
        }
        if a.next_channel > peerless_stun::CHANNEL_MAX {
            return;
        }
        // A full table gives up its oldest binding that is not pending (the old selection).
        let slot = match a.channels.iter().position(Option::is_none) {
            Some(i) => i,
            None => match a
                .channels
                .iter()
                .position(|c| c.is_some_and(|c| !c.pending))
            {
                Some(i) => i,
                None => return,
            },
        };
        let number = a.next_channel;
        a.next_channel = a.next_channel.saturating_add(1);
        if let Some(s) = a.channels.get_mut(slot) {
            *s = Some(Channel {
                peer,
                number,
                bound: false,
                pending: false,
                refresh_at: now,
            });
        }
    }

    /// The earliest TURN refresh deadline.
    pub(super) fn turn_deadline(&self) -> Option<Instant> {
        let mut next: Option<Instant> = None;
        let mut at = |t: Instant| next = Some(next.map_or(t, |n| n.min(t)));
        for a in self.allocations.iter().flatten() {
            if a.state != AllocState::Allocated {
                continue;
            }
            if !a.refresh_pending {
                at(a.refresh_at);
            }
            if !a.stream {
                at(a.keepalive_at);
            }
            for p in a.permissions.iter().flatten().filter(|p| !p.pending) {
                at(p.refresh_at);
            }
            for c in a.channels.iter().flatten().filter(|c| !c.pending) {
                at(c.refresh_at);
            }
        }
        next
    }

    /// On close: every allocation is released with a Refresh of lifetime 0.
    pub(super) fn release_allocations(&mut self) {
        for a in self.allocations.iter_mut().flatten() {
            if a.state == AllocState::Allocated {
                a.release = true;
            }
            a.state = AllocState::Failed;
        }
    }

    /// The next keepalive or release to send, if any.
    pub(super) fn poll_release<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        if let Some(ai) = self
            .allocations
            .iter()
            .position(|a| a.is_some_and(|a| a.keepalive_due && a.state == AllocState::Allocated))
            && let Some(a) = self.allocations.get(ai).copied().flatten()
        {
            let mut tid = [0u8; 12];
            self.rng.fill(&mut tid);
            let out = Message::builder(Class::Indication, Method::BINDING, TransactionId(tid))
                .fingerprint()
                .emit(buf);
            let n = emit::finish(out)?;
            if let Some(a) = self.allocations.get_mut(ai).and_then(|a| a.as_mut()) {
                a.keepalive_due = false;
            }
            return Ok(
                n.map(|n| Transmit::between(a.base, a.server, buf.get(..n).unwrap_or_default()))
            );
        }
        let Some(ai) = self
            .allocations
            .iter()
            .position(|a| a.is_some_and(|a| a.release))
        else {
            return Ok(None);
        };
        let Some(a) = self.allocations.get(ai).copied().flatten() else {
            return Ok(None);
        };
        let mut tid = [0u8; 12];
        self.rng.fill(&mut tid);
        let b = Message::builder(Class::Request, Method::REFRESH, TransactionId(tid))
            .attr(Attribute::Lifetime(0));
        let username = server_of(&self.config, &a)
            .map(|s| s.username)
            .unwrap_or_default();
        let out = match &a.auth {
            Some(auth) => b
                .username(username.as_str())
                .realm(auth.realm.as_str())
                .nonce(auth.nonce.as_str())
                .integrity_sha1(&auth.key)
                .fingerprint()
                .emit(buf),
            None => b.fingerprint().emit(buf),
        };
        let n = emit::finish(out)?;
        if let Some(a) = self.allocations.get_mut(ai).and_then(|a| a.as_mut()) {
            a.release = false;
        }
        Ok(n.map(|n| Transmit::between(a.base, a.server, buf.get(..n).unwrap_or_default())))
    }

    fn route(&self, source: SocketAddr, peer: SocketAddr) -> Option<Route> {
        let a = self
            .allocations
            .iter()
            .flatten()
            .find(|a| a.relays(source))?;
        Some(Route {
            stream: a.stream,
            host: a.base,
            server: a.server,
            channel: a
                .channels
                .iter()
                .flatten()
                .find(|c| c.bound && c.peer == peer)
                .map(|c| c.number),
        })
    }

    /// Whether a request from the relayed address `source` to `destination` should wait: the
    /// permission for the peer's IP is being created, and the server would drop it until then
    /// (the retransmission would come 500 ms later).
    pub(super) fn awaits_permission(&self, source: SocketAddr, destination: SocketAddr) -> bool {
        self.allocations
            .iter()
            .flatten()
            .find(|a| a.relays(source))
            .is_some_and(|a| {
                a.permissions
                    .iter()
                    .flatten()
                    .any(|p| p.ip == destination.ip() && p.pending && !p.installed)
            })
    }

    /// Bytes to leave free in front of a datagram from `source` to `destination` for
    /// [`Agent::relay_transmit`]: 0 unless `source` is a relayed address, then 4 (a bound
    /// channel) or 36/48 (a Send indication, IPv4/IPv6).
    #[must_use]
    pub fn relay_headroom(&self, source: SocketAddr, destination: SocketAddr) -> usize {
        self.route(source, destination)
            .map_or(0, |r| r.header_len(destination))
    }

    /// Frames the datagram at `buf[head..head + n]` (`head` from `relay_headroom`) for the
    /// relay: returns the host socket, the server and the framed length from `buf[0]`.
    pub(super) fn frame_relayed(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        buf: &mut [u8],
        n: usize,
    ) -> Result<(SocketAddr, SocketAddr, usize), BufferTooSmall> {
        let Some(route) = self.route(source, destination) else {
            return Ok((source, destination, n));
        };
        let head = route.header_len(destination);
        let pad = match route.channel {
            // Over UDP the ChannelData padding is optional, over a stream it delimits the next
            // message (RFC 8656 §12.5).
            Some(_) if !route.stream => 0,
            _ => (4 - n % 4) % 4,
        };
        let total = head + n + pad;
        if buf.len() < total {
            return Err(BufferTooSmall { needed: total });
        }
        let len16 = u16::try_from(n).map_err(|_| BufferTooSmall { needed: total })?;
        let mut w = peerless_base::Writer::new(buf);
        match route.channel {
            Some(number) => {
                w.u16(number);
                w.u16(len16);
            }
            None => {
                let mut tid = [0u8; 12];
                self.rng.fill(&mut tid);
                let tid = TransactionId(tid);
                let attrs = head - 20 + n + pad;
                w.u16(peerless_stun::message_type(Class::Indication, Method::SEND));
                w.u16(u16::try_from(attrs).map_err(|_| BufferTooSmall { needed: total })?);
                w.u32(peerless_stun::MAGIC_COOKIE);
                w.bytes(&tid.0);
                Attribute::XorPeerAddress(destination).emit(&mut w, &tid, 0);
                w.u16(AttrType::DATA.0);
                w.u16(len16);
            }
        }
        w.finish()?;
        if let Some(p) = buf.get_mut(head + n..total) {
            p.fill(0);
        }
        self.stats.relayed_sent += 1;
        Ok((route.host, route.server, total))
    }

    /// See [`Agent::relay_transmit`].
    pub(super) fn relay_in_place(
        &mut self,
        source: SocketAddr,
        destination: SocketAddr,
        buf: &mut [u8],
        range: Range<usize>,
    ) -> Result<(SocketAddr, SocketAddr, Range<usize>), BufferTooSmall> {
        let head = self.relay_headroom(source, destination);
        if head == 0 {
            return Ok((source, destination, range));
        }
        let n = range.len();
        let pad = (4 - n % 4) % 4;
        let needed = head + n + pad;
        if buf.len() < needed || range.end > buf.len() {
            return Err(BufferTooSmall { needed });
        }
        if range.start != head {
            buf.copy_within(range, head);
        }
        let (from, to, total) = self.frame_relayed(source, destination, buf, n)?;
        Ok((from, to, 0..total))
    }

    /// See [`Agent::unwrap_relayed`].
    pub(super) fn unwrap(
        &mut self,
        from: SocketAddr,
        to: SocketAddr,
        packet: &[u8],
    ) -> Option<(SocketAddr, SocketAddr, Range<usize>)> {
        let a = self
            .allocations
            .iter()
            .flatten()
            .find(|a| a.base == to && a.server == from && a.relayed[0].is_some())?;
        let first = *packet.first()?;
        let (peer, range) = if (0x40..=0x4f).contains(&first) {
            let Ok(cd) = ChannelData::parse(packet) else {
                self.stats.dropped_malformed += 1;
                return None;
            };
            let Some(peer) = a
                .channels
                .iter()
                .flatten()
                .find(|c| c.number == cd.channel)
                .map(|c| c.peer)
            else {
                self.stats.dropped_unmatched += 1;
                return None;
            };
            (peer, 4..4 + cd.data.len())
        } else {
            let msg = Message::parse(packet).ok()?;
            if msg.class() != Class::Indication || msg.method() != Method::DATA {
                return None;
            }
            let (Some(peer), Some(data)) = (msg.xor_peer_addresses().next(), msg.data()) else {
                self.stats.dropped_malformed += 1;
                return None;
            };
            let start = (data.as_ptr() as usize).saturating_sub(packet.as_ptr() as usize);
            (peer, start..start + data.len())
        };
        packet.get(range.clone())?;
        // The peer's family names the relayed address it wrote to.
        let Some(relayed) = a.relayed_for(peer) else {
            self.stats.dropped_unmatched += 1;
            return None;
        };
        self.stats.relayed_received += 1;
        Some((peer, relayed, range))
    }
}
