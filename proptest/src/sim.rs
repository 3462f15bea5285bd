//! A deterministic network simulator for sans-IO machines.
//!
//! ```text
//!   node A --poll_transmit--> interface (by source address; down: dropped) --> NAT(A) mapping
//!      --> link(A): MTU, bottleneck queue + bandwidth, loss, dup, delay+jitter --+
//!      ^                                                                        |
//!      +-- handle_packet <-- NAT(B) filter <-- queue ordered by (deliver_at, seq) <--+
//!   clock: now = min(next delivery, every node's poll_timeout); nothing else advances it
//! ```
//!
//! Addresses live in realms (network segments): the public one, the inside of each NAT, and
//! isolated ones. A datagram goes straight to an address in its sender's realm; otherwise it
//! leaves through the sender's NAT (RFC 4787 mapping, see [`nat`]) into the public realm and
//! reaches a public node, or a NAT whose filter decides, when it arrives, whether it gets in.

pub mod nat;

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::{BinaryHeap, VecDeque};
use std::vec::Vec;

use peerless_base::{BufferTooSmall, Drbg, Instant, Transmit};

pub use nat::{Filtering, Mapping, Nat, NatConfig, NatStats};

/// A datagram a node hands the network.
///
/// `From` turns both shapes of machine output into it: a point-to-point machine's `&[u8]`
/// ([`Outgoing::OnPath`]) and an addressed [`Transmit`] ([`Outgoing::Between`]), so an
/// adapter's `poll_transmit` is `machine.poll_transmit(buf).map(|o| o.map(Into::into))`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outgoing<'b> {
    /// A machine on one connected path (DTLS, SCTP): from the node's first address to its
    /// default peer ([`Network::set_default_peer`]).
    OnPath(&'b [u8]),
    /// To `destination`, from the node's first address (a host with one socket).
    To(SocketAddr, &'b [u8]),
    /// From `source` (a local address the node does not have leaves through its first one) to
    /// `destination`.
    Between(Transmit<'b>),
}

impl<'b> From<&'b [u8]> for Outgoing<'b> {
    fn from(payload: &'b [u8]) -> Self {
        Outgoing::OnPath(payload)
    }
}

impl<'b> From<&'b mut [u8]> for Outgoing<'b> {
    fn from(payload: &'b mut [u8]) -> Self {
        Outgoing::OnPath(payload)
    }
}

impl<'b> From<Transmit<'b>> for Outgoing<'b> {
    fn from(t: Transmit<'b>) -> Self {
        Outgoing::Between(t)
    }
}

/// A machine as the simulator drives it: the five verbs, with events drained by the adapter.
pub trait Node {
    /// A datagram arrived from `from`, sent to our address `to`.
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]);
    /// A deadline passed.
    fn handle_timeout(&mut self, now: Instant);
    /// The next datagram to send.
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall>;
    /// The next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Drains the machine's events (the adapter records what its test asserts on).
    fn drain_events(&mut self, now: Instant);
}

/// A random stream for a test that depends on every bit of `seed` (and on `label`), so
/// parameters drawn from it do not repeat when only the high bits of the seed change.
#[must_use]
pub fn seeded_rng(seed: u64, label: &[u8]) -> Drbg {
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_be_bytes());
    Drbg::from_seed(&seed_bytes, label)
}

/// Conditions on the path out of one node.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// Probability that a datagram is lost (in the good state of the burst model).
    pub loss: f64,
    /// Bursty loss (Gilbert-Elliott): probability of entering the bad state per datagram, of
    /// leaving it, and the loss probability while in it. `None`: independent loss only.
    pub burst: Option<Burst>,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// One-way delay.
    pub delay: Duration,
    /// Uniform extra delay in `0..jitter`; datagrams overtake each other when it exceeds their
    /// spacing.
    pub jitter: Duration,
    /// Datagrams longer than this are dropped (as a path with DF set would).
    pub mtu: usize,
    /// Serialisation rate of the bottleneck in bytes per second; `None`: unlimited.
    pub bandwidth: Option<u64>,
    /// Bytes that may wait for the bottleneck (with `bandwidth`); a datagram that would
    /// exceed it is dropped at the tail, as a router's FIFO does. `None`: unbounded.
    pub queue_bytes: Option<usize>,
}

/// Parameters of the two-state burst loss model.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Burst {
    /// Probability of moving from the good to the bad state, per datagram.
    pub enter: f64,
    /// Probability of moving from the bad back to the good state, per datagram.
    pub exit: f64,
    /// Loss probability in the bad state.
    pub loss: f64,
}

impl Default for LinkConfig {
    fn default() -> Self {
        LinkConfig {
            loss: 0.0,
            burst: None,
            duplicate: 0.0,
            delay: Duration::from_millis(10),
            jitter: Duration::ZERO,
            mtu: 1500,
            bandwidth: None,
            queue_bytes: None,
        }
    }
}

impl LinkConfig {
    /// A clean link with `delay`.
    #[must_use]
    pub fn with_delay(delay: Duration) -> Self {
        LinkConfig {
            delay,
            ..Self::default()
        }
    }

    /// Independent loss, duplication and reordering (jitter of twice the delay).
    #[must_use]
    pub fn lossy(loss: f64, duplicate: f64) -> Self {
        LinkConfig {
            loss,
            duplicate,
            jitter: Duration::from_millis(20),
            ..Self::default()
        }
    }

    /// A clean link with a bottleneck of `bandwidth` bytes per second behind a FIFO of
    /// `queue_bytes` (tail drop), and `delay`.
    #[must_use]
    pub fn narrow(bandwidth: u64, queue_bytes: usize, delay: Duration) -> Self {
        LinkConfig {
            delay,
            bandwidth: Some(bandwidth),
            queue_bytes: Some(queue_bytes),
            ..Self::default()
        }
    }
}

/// Counters for one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Datagrams handed to the network.
    pub sent: u64,
    /// Datagrams delivered (duplicates counted).
    pub delivered: u64,
    /// Lost to random or burst loss.
    pub lost: u64,
    /// Dropped for exceeding the MTU.
    pub too_big: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Sent to an address no node has (or no NAT port was free).
    pub unroutable: u64,
    /// Dropped at the tail of a full bottleneck queue.
    pub queue_dropped: u64,
    /// Dropped by a NAT on the way in: no live mapping, or its filter refused the sender.
    pub filtered: u64,
    /// Sent from, or arriving at, an interface that is down ([`Network::set_address_up`]).
    pub iface_down: u64,
}

/// Counters for the link out of one node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams that entered the link (after the MTU check).
    pub sent: u64,
    /// Bytes that entered the link.
    pub bytes: u64,
    /// Dropped at the tail of the full bottleneck queue.
    pub queue_dropped: u64,
    /// Lost to random or burst loss.
    pub lost: u64,
    /// The most bytes ever waiting for the bottleneck.
    pub peak_queue_bytes: usize,
}

/// A network segment. Addresses are looked up per realm, so two NATs' insides may reuse
/// the same private addresses, and a node's address in one realm is unreachable from another
/// except through a NAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Realm(usize);

impl Realm {
    /// The public internet: every node added with [`Network::add`], and every NAT's outside.
    pub const PUBLIC: Realm = Realm(0);
}

/// Index of a NAT in its [`Network`].
pub type NatId = usize;

/// One address of a node.
struct Iface {
    /// The address the node's socket has.
    addr: SocketAddr,
    /// The address others reach it at in its realm: `addr`, unless a static one-to-one NAT
    /// ([`Network::set_public_address`]) sits in front of it.
    seen_as: SocketAddr,
    realm: Realm,
    /// `false` while the interface is down: nothing leaves or arrives through it.
    up: bool,
}

struct Host<N> {
    node: N,
    ifaces: Vec<Iface>,
    /// Where an [`Outgoing::OnPath`] datagram goes (point-to-point machines).
    default_peer: Option<SocketAddr>,
    link: LinkConfig,
    burst_bad: bool,
    /// When the bottleneck out of this node is next free (bandwidth limit).
    link_free_at: Instant,
    /// Datagrams waiting for the bottleneck: when each starts serialising, and its size.
    backlog: VecDeque<(Instant, usize)>,
    link_stats: LinkStats,
    /// Timeouts handled in a row after which the node's deadline was still not in the future.
    stale_timeouts: u32,
}

struct NatBox {
    nat: Nat,
    inside: Realm,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Target {
    /// A node's interface.
    Host { host: usize, iface: usize },
    /// A NAT's public address: its filter decides on arrival.
    Nat(NatId),
}

#[derive(PartialEq, Eq)]
struct InFlight {
    at: Instant,
    seq: u64,
    target: Target,
    from: SocketAddr,
    to_addr: SocketAddr,
    bytes: Vec<u8>,
}

impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> core::cmp::Ordering {
        // BinaryHeap is a max-heap: the earliest (then lowest seq) must compare greatest.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<core::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The network: nodes, NATs, links, the virtual clock and the random source.
pub struct Network<N: Node> {
    hosts: Vec<Host<N>>,
    nats: Vec<NatBox>,
    realms: usize,
    queue: BinaryHeap<InFlight>,
    now: Instant,
    rng: Drbg,
    seq: u64,
    trace: u64,
    stats: NetStats,
    buf: Vec<u8>,
}

/// Index of a node in its [`Network`].
pub type NodeId = usize;

impl<N: Node> Network<N> {
    /// An empty network whose every random choice comes from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Network {
            hosts: Vec::new(),
            nats: Vec::new(),
            realms: 1,
            queue: BinaryHeap::new(),
            now: Instant::ZERO,
            rng: seeded_rng(seed, b"peerless-sim"),
            seq: 0,
            trace: FNV_OFFSET,
            stats: NetStats::default(),
            buf: std::vec![0u8; 65_536],
        }
    }

    /// Adds a node at public address `addr` whose outgoing link has `link`'s conditions.
    pub fn add(&mut self, node: N, addr: SocketAddr, link: LinkConfig) -> NodeId {
        self.add_in(Realm::PUBLIC, node, addr, link)
    }

    /// Adds a node at `addr` in `realm`.
    pub fn add_in(&mut self, realm: Realm, node: N, addr: SocketAddr, link: LinkConfig) -> NodeId {
        self.hosts.push(Host {
            node,
            ifaces: std::vec![Iface {
                addr,
                seen_as: addr,
                realm,
                up: true,
            }],
            default_peer: None,
            link,
            burst_bad: false,
            link_free_at: Instant::ZERO,
            backlog: VecDeque::new(),
            link_stats: LinkStats::default(),
            stale_timeouts: 0,
        });
        self.hosts.len() - 1
    }

    /// Adds a node at `addr` on the inside of NAT `nat`.
    pub fn add_behind_nat(
        &mut self,
        nat: NatId,
        node: N,
        addr: SocketAddr,
        link: LinkConfig,
    ) -> NodeId {
        let realm = self.nat_realm(nat);
        self.add_in(realm, node, addr, link)
    }

    /// Gives node `id` another address (a second interface, or IPv6 beside IPv4) in `realm`.
    /// Datagrams to it arrive with it as their `to`; an [`Outgoing::Between`] whose `source` is it leaves
    /// through it. All of a node's interfaces share its one outgoing link.
    pub fn add_address(&mut self, id: NodeId, addr: SocketAddr, realm: Realm) {
        if let Some(h) = self.hosts.get_mut(id) {
            h.ifaces.push(Iface {
                addr,
                seen_as: addr,
                realm,
                up: true,
            });
        }
    }

    /// A new network segment with no route to any other (a LAN the other nodes are not on).
    pub fn new_realm(&mut self) -> Realm {
        self.realms += 1;
        Realm(self.realms - 1)
    }

    /// Adds a NAT between a new inside realm and the public one.
    pub fn add_nat(&mut self, config: NatConfig) -> NatId {
        let inside = self.new_realm();
        self.nats.push(NatBox {
            nat: Nat::new(config),
            inside,
        });
        self.nats.len() - 1
    }

    /// The realm on the inside of NAT `nat`.
    ///
    /// # Panics
    /// If there is no such NAT (a test bug).
    #[must_use]
    pub fn nat_realm(&self, nat: NatId) -> Realm {
        self.nats[nat].inside
    }

    /// The NAT (its mappings and counters).
    #[must_use]
    pub fn nat(&self, nat: NatId) -> &Nat {
        &self.nats[nat].nat
    }

    /// The NAT, mutably (to rebind it).
    pub fn nat_mut(&mut self, nat: NatId) -> &mut Nat {
        &mut self.nats[nat].nat
    }

    /// Where `id`'s [`Outgoing::OnPath`] datagrams go (for DTLS and SCTP, which sit on one path).
    pub fn set_default_peer(&mut self, id: NodeId, peer: SocketAddr) {
        if let Some(h) = self.hosts.get_mut(id) {
            h.default_peer = Some(peer);
        }
    }

    /// Puts `id`'s first address behind a static one-to-one NAT: others see and reach
    /// `public`; the node keeps its local address. There is no filtering and no lifetime (for
    /// those, see [`Network::add_nat`]). Calling it again mid-run is a NAT rebinding.
    pub fn set_public_address(&mut self, id: NodeId, public: SocketAddr) {
        if let Some(i) = self.hosts.get_mut(id).and_then(|h| h.ifaces.first_mut()) {
            i.seen_as = public;
        }
    }

    /// Takes node `id`'s interface at local address `addr` down (`up == false`) or brings it
    /// back: while it is down, datagrams the node sends from it and datagrams that reach it
    /// (including those already in flight) are dropped and counted in
    /// [`NetStats::iface_down`]. The node is not told, as a host whose Wi-Fi drops is not: its
    /// machines must notice from the silence. Its other interfaces keep working.
    pub fn set_address_up(&mut self, id: NodeId, addr: SocketAddr, up: bool) {
        if let Some(i) = self
            .hosts
            .get_mut(id)
            .and_then(|h| h.ifaces.iter_mut().find(|i| i.addr == addr))
        {
            i.up = up;
        }
    }

    /// Replaces the conditions on `id`'s outgoing link.
    pub fn set_link(&mut self, id: NodeId, link: LinkConfig) {
        if let Some(h) = self.hosts.get_mut(id) {
            h.link = link;
        }
    }

    /// The node.
    #[must_use]
    pub fn node(&self, id: NodeId) -> &N {
        &self.hosts[id].node
    }

    /// The node, mutably (to issue commands; call [`Network::kick`] after).
    pub fn node_mut(&mut self, id: NodeId) -> &mut N {
        &mut self.hosts[id].node
    }

    /// The virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Network counters so far.
    #[must_use]
    pub fn stats(&self) -> NetStats {
        self.stats
    }

    /// Counters of the link out of node `id`.
    #[must_use]
    pub fn link_stats(&self, id: NodeId) -> LinkStats {
        self.hosts[id].link_stats
    }

    /// A hash of every datagram's fate so far (time, addresses, bytes, lost or delivered): two
    /// runs are the same run exactly when their hashes are equal.
    #[must_use]
    pub fn trace_hash(&self) -> u64 {
        self.trace
    }

    /// Collects output after a command was issued to node `id` outside a handle call.
    pub fn kick(&mut self, id: NodeId) {
        self.flush(id);
    }

    /// Runs until `done` holds (checked after every step) or until `limit` of virtual time has
    /// passed (the clock then stands at the limit, also when nothing was left to do). Returns
    /// whether `done` held.
    pub fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Self) -> bool) -> bool {
        let end = self.now + limit;
        for id in 0..self.hosts.len() {
            self.flush(id);
        }
        loop {
            if done(self) {
                return true;
            }
            let Some(next) = self.next_event_time() else {
                // Idle: time still passes (NAT mappings age while nobody talks).
                self.now = end;
                return false;
            };
            if next > end {
                self.now = end;
                return false;
            }
            self.now = self.now.max(next);
            self.step();
        }
    }

    /// Runs for `duration` of virtual time.
    pub fn run_for(&mut self, duration: Duration) {
        self.run_until(duration, |_| false);
    }

    fn next_event_time(&self) -> Option<Instant> {
        let packet = self.queue.peek().map(|p| p.at);
        let timer = self
            .hosts
            .iter()
            .filter_map(|h| h.node.poll_timeout())
            .min();
        match (packet, timer) {
            (Some(p), Some(t)) => Some(p.min(t)),
            (p, t) => p.or(t),
        }
    }

    fn step(&mut self) {
        let now = self.now;
        while self.queue.peek().is_some_and(|p| p.at <= now) {
            let Some(p) = self.queue.pop() else { break };
            self.arrive(p);
        }
        for id in 0..self.hosts.len() {
            if self.hosts[id].node.poll_timeout().is_some_and(|t| t <= now) {
                self.hosts[id].node.handle_timeout(now);
                self.flush(id);
                self.check_spin(id);
            }
        }
    }

    /// A machine whose deadline is still not in the future after `handle_timeout` makes a
    /// host loop spin at full speed, and would stop this clock forever: fail loudly instead
    /// of hanging. A few repeats are tolerated (a machine may finish work at the same
    /// instant in steps).
    #[allow(clippy::panic)] // a test harness: the bug is in the machine under test
    fn check_spin(&mut self, id: NodeId) {
        let now = self.now;
        let host = &mut self.hosts[id];
        match host.node.poll_timeout() {
            Some(t) if t <= now => {
                host.stale_timeouts += 1;
                if host.stale_timeouts > SPIN_LIMIT {
                    panic!(
                        "node {id}: poll_timeout() is still {t:?} after {SPIN_LIMIT} calls of \
                         handle_timeout({now:?}): a host loop would spin"
                    );
                }
            }
            _ => host.stale_timeouts = 0,
        }
    }

    /// A datagram reaches the end of its link: a node, or a NAT that may let it in.
    fn arrive(&mut self, mut p: InFlight) {
        let (host, iface) = match p.target {
            Target::Host { host, iface } => (host, iface),
            Target::Nat(n) => {
                let inside = self.nats[n].inside;
                let Some(internal) = self.nats[n].nat.inbound(self.now, p.from, p.to_addr) else {
                    self.stats.filtered += 1;
                    self.record(b'F', p.from, p.to_addr, &p.bytes);
                    return;
                };
                match self.find(inside, internal) {
                    Some(Target::Host { host, iface }) => (host, iface),
                    _ => {
                        self.stats.unroutable += 1;
                        self.record(b'U', p.from, internal, &p.bytes);
                        return;
                    }
                }
            }
        };
        if !self.hosts[host].ifaces[iface].up {
            self.stats.iface_down += 1;
            self.record(b'X', p.from, p.to_addr, &p.bytes);
            return;
        }
        self.stats.delivered += 1;
        let h = &mut self.hosts[host];
        let to = h.ifaces[iface].addr;
        h.node.handle_packet(self.now, p.from, to, &mut p.bytes);
        self.flush(host);
    }

    /// Drains node `id`'s transmits onto the network and its events into its adapter.
    fn flush(&mut self, id: NodeId) {
        let now = self.now;
        let mut buf = core::mem::take(&mut self.buf);
        loop {
            let host = &mut self.hosts[id];
            let (source, to_addr, bytes) = match host.node.poll_transmit(&mut buf) {
                Ok(Some(Outgoing::Between(t))) => {
                    (Some(t.source), t.destination, t.payload.to_vec())
                }
                Ok(Some(Outgoing::To(to, payload))) => (None, to, payload.to_vec()),
                Ok(Some(Outgoing::OnPath(payload))) => match host.default_peer {
                    Some(dest) => (None, dest, payload.to_vec()),
                    None => {
                        self.stats.unroutable += 1;
                        continue;
                    }
                },
                Ok(None) => break,
                Err(BufferTooSmall { needed }) => {
                    buf.resize(needed, 0);
                    continue;
                }
            };
            self.send(id, source, to_addr, bytes);
        }
        self.buf = buf;
        self.hosts[id].node.drain_events(now);
    }

    /// The interface at `addr` in `realm`.
    fn find(&self, realm: Realm, addr: SocketAddr) -> Option<Target> {
        self.hosts.iter().enumerate().find_map(|(host, h)| {
            h.ifaces
                .iter()
                .position(|i| i.realm == realm && i.seen_as == addr)
                .map(|iface| Target::Host { host, iface })
        })
    }

    /// Where a datagram from `from` in `realm` to `to` goes, and the source it carries when it
    /// gets there (translated if it leaves through a NAT). `None`: nowhere.
    fn route(
        &mut self,
        realm: Realm,
        from: SocketAddr,
        to: SocketAddr,
    ) -> Option<(SocketAddr, Target)> {
        if let Some(t) = self.find(realm, to) {
            return Some((from, t));
        }
        let (from, realm) = match self.nats.iter().position(|b| b.inside == realm) {
            Some(n) => {
                let now = self.now;
                let external = self.nats[n].nat.outbound(now, from, to)?;
                if let Some(t) = self.find(Realm::PUBLIC, to) {
                    return Some((external, t));
                }
                (external, Realm::PUBLIC)
            }
            None => (from, realm),
        };
        if realm != Realm::PUBLIC {
            return None;
        }
        // Hairpinning (RFC 4787 REQ-9) falls out of this: a datagram to its own NAT's public
        // address comes back in through the filter like any other.
        self.nats
            .iter()
            .position(|b| b.nat.config().public_ip == to.ip())
            .map(|n| (from, Target::Nat(n)))
    }

    fn send(
        &mut self,
        from_id: NodeId,
        source: Option<SocketAddr>,
        to_addr: SocketAddr,
        bytes: Vec<u8>,
    ) {
        self.stats.sent += 1;
        let host = &self.hosts[from_id];
        // The interface the socket is bound to; a source the node does not have (or none)
        // leaves through its first address, as a host with one socket would.
        let iface = source
            .and_then(|s| host.ifaces.iter().find(|i| i.addr == s))
            .or(host.ifaces.first());
        let Some(&Iface {
            seen_as, realm, up, ..
        }) = iface
        else {
            self.stats.unroutable += 1;
            return;
        };
        if !up {
            self.stats.iface_down += 1;
            self.record(b'X', seen_as, to_addr, &bytes);
            return;
        }
        let link = host.link.clone();
        let Some((from, target)) = self.route(realm, seen_as, to_addr) else {
            self.stats.unroutable += 1;
            self.record(b'U', seen_as, to_addr, &bytes);
            return;
        };
        if bytes.len() > link.mtu {
            self.stats.too_big += 1;
            self.record(b'M', from, to_addr, &bytes);
            return;
        }
        // The bottleneck comes first: a datagram lost further on still took its turn on it.
        let now = self.now;
        let host = &mut self.hosts[from_id];
        let mut depart = now;
        if let Some(rate) = link.bandwidth.filter(|&r| r > 0) {
            while host.backlog.front().is_some_and(|&(start, _)| start <= now) {
                host.backlog.pop_front();
            }
            let waiting: usize = host.backlog.iter().map(|&(_, len)| len).sum();
            let start = host.link_free_at.max(now);
            // Only a datagram that has to wait needs room: an idle link takes any datagram.
            if start > now && link.queue_bytes.is_some_and(|q| waiting + bytes.len() > q) {
                host.link_stats.queue_dropped += 1;
                self.stats.queue_dropped += 1;
                self.record(b'Q', from, to_addr, &bytes);
                return;
            }
            let micros = (bytes.len() as u64 * 1_000_000).div_ceil(rate);
            host.link_free_at = start + Duration::from_micros(micros);
            if start > now {
                host.backlog.push_back((start, bytes.len()));
                host.link_stats.peak_queue_bytes =
                    host.link_stats.peak_queue_bytes.max(waiting + bytes.len());
            }
            depart = host.link_free_at;
        }
        host.link_stats.sent += 1;
        host.link_stats.bytes += bytes.len() as u64;
        let loss = match link.burst {
            Some(b) => {
                let bad = self.hosts[from_id].burst_bad;
                let flip = if bad { b.exit } else { b.enter };
                if self.chance(flip) {
                    self.hosts[from_id].burst_bad = !bad;
                }
                if self.hosts[from_id].burst_bad {
                    b.loss
                } else {
                    link.loss
                }
            }
            None => link.loss,
        };
        if self.chance(loss) {
            self.stats.lost += 1;
            self.hosts[from_id].link_stats.lost += 1;
            self.record(b'L', from, to_addr, &bytes);
            return;
        }
        let copies = if self.chance(link.duplicate) { 2 } else { 1 };
        for copy in 0..copies {
            let at = depart + link.delay + self.jitter(link.jitter);
            if copy == 1 {
                self.stats.duplicated += 1;
            }
            self.record(b'D', from, to_addr, &bytes);
            self.seq += 1;
            self.queue.push(InFlight {
                at,
                seq: self.seq,
                target,
                from,
                to_addr,
                bytes: bytes.clone(),
            });
        }
    }

    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        // 53 random bits as a float in [0, 1).
        let unit = (self.rng.u64() >> 11) as f64 / (1u64 << 53) as f64;
        unit < p
    }

    fn jitter(&mut self, max: Duration) -> Duration {
        let micros = max.as_micros() as u64;
        Duration::from_micros(self.rng.below(micros))
    }

    fn record(&mut self, fate: u8, from: SocketAddr, to: SocketAddr, bytes: &[u8]) {
        let mut h = self.trace;
        let mut eat = |data: &[u8]| {
            for &b in data {
                h ^= u64::from(b);
                h = h.wrapping_mul(FNV_PRIME);
            }
        };
        eat(&[fate]);
        eat(&self.now.as_micros().to_be_bytes());
        eat(std::format!("{from}>{to}").as_bytes());
        eat(&(bytes.len() as u64).to_be_bytes());
        eat(bytes);
        self.trace = h;
    }
}

/// Consecutive timeouts that leave a node's deadline in the past before the run fails.
const SPIN_LIMIT: u32 = 1000;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[cfg(test)]
mod tests;
