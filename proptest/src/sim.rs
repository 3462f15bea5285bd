//! A deterministic network simulator for sans-IO machines.
//!
//! ```text
//!   node A --poll_transmit--> link(A->B): MTU, loss, dup, delay+jitter, bandwidth --+
//!      ^                                                                           |
//!      +---handle_packet <-- NAT(B) <-- queue ordered by (deliver_at, seq) <-------+
//!   clock: now = min(next delivery, every node's poll_timeout); nothing else advances it
//! ```

use core::net::SocketAddr;
use core::time::Duration;
use std::collections::BinaryHeap;
use std::vec::Vec;

use peerless_base::{BufferTooSmall, Drbg, Instant, Transmit};

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
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall>;
    /// The next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Drains the machine's events (the adapter records what its test asserts on).
    fn drain_events(&mut self, now: Instant);
}

/// Conditions on the path out of one node.
#[derive(Clone, Debug)]
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
    /// Serialisation rate in bytes per second; `None`: unlimited.
    pub bandwidth: Option<u64>,
}

/// Parameters of the two-state burst loss model.
#[derive(Clone, Copy, Debug)]
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
    /// Sent to an address no node has.
    pub unroutable: u64,
}

struct Host<N> {
    node: N,
    /// The address the node believes it has (its socket).
    local: SocketAddr,
    /// The address others see (after NAT); equal to `local` without NAT.
    public: SocketAddr,
    /// Where a `Transmit` with no destination goes (point-to-point machines).
    default_peer: Option<SocketAddr>,
    link: LinkConfig,
    burst_bad: bool,
    /// When the link out of this node is next free (bandwidth limit).
    link_free_at: Instant,
}

#[derive(PartialEq, Eq)]
struct InFlight {
    at: Instant,
    seq: u64,
    to: usize,
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

/// The network: nodes, links, the virtual clock and the random source.
pub struct Network<N: Node> {
    hosts: Vec<Host<N>>,
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
        let mut seed_bytes = [0u8; 32];
        seed_bytes[..8].copy_from_slice(&seed.to_be_bytes());
        Network {
            hosts: Vec::new(),
            queue: BinaryHeap::new(),
            now: Instant::ZERO,
            rng: Drbg::from_seed(&seed_bytes, b"peerless-sim"),
            seq: 0,
            trace: FNV_OFFSET,
            stats: NetStats::default(),
            buf: std::vec![0u8; 65_536],
        }
    }

    /// Adds a node at `addr` whose outgoing link has `link`'s conditions.
    pub fn add(&mut self, node: N, addr: SocketAddr, link: LinkConfig) -> NodeId {
        self.hosts.push(Host {
            node,
            local: addr,
            public: addr,
            default_peer: None,
            link,
            burst_bad: false,
            link_free_at: Instant::ZERO,
        });
        self.hosts.len() - 1
    }

    /// Where `id`'s datagrams without a destination go (for DTLS and SCTP, which sit on one path).
    pub fn set_default_peer(&mut self, id: NodeId, peer: SocketAddr) {
        if let Some(h) = self.hosts.get_mut(id) {
            h.default_peer = Some(peer);
        }
    }

    /// Puts `id` behind a NAT: others see `public`; the node keeps its local address. Calling
    /// it again mid-run is a NAT rebinding.
    pub fn set_public_address(&mut self, id: NodeId, public: SocketAddr) {
        if let Some(h) = self.hosts.get_mut(id) {
            h.public = public;
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
    /// passed or nothing is left to do. Returns whether `done` held.
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
            let Some(mut p) = self.queue.pop() else { break };
            self.stats.delivered += 1;
            let host = &mut self.hosts[p.to];
            host.node
                .handle_packet(now, p.from, p.to_addr, &mut p.bytes);
            self.flush(p.to);
        }
        for id in 0..self.hosts.len() {
            if self.hosts[id].node.poll_timeout().is_some_and(|t| t <= now) {
                self.hosts[id].node.handle_timeout(now);
                self.flush(id);
            }
        }
    }

    /// Drains node `id`'s transmits onto the network and its events into its adapter.
    fn flush(&mut self, id: NodeId) {
        let now = self.now;
        let mut buf = core::mem::take(&mut self.buf);
        loop {
            let host = &mut self.hosts[id];
            let (to_addr, bytes) = match host.node.poll_transmit(&mut buf) {
                Ok(Some(t)) => match t.destination.or(host.default_peer) {
                    Some(dest) => (dest, t.payload.to_vec()),
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
            self.send(id, to_addr, bytes);
        }
        self.buf = buf;
        self.hosts[id].node.drain_events(now);
    }

    fn send(&mut self, from_id: NodeId, to_addr: SocketAddr, bytes: Vec<u8>) {
        self.stats.sent += 1;
        let from = self.hosts[from_id].public;
        let link = self.hosts[from_id].link.clone();
        let Some(to) = self.hosts.iter().position(|h| h.public == to_addr) else {
            self.stats.unroutable += 1;
            self.record(b'U', from, to_addr, &bytes);
            return;
        };
        if bytes.len() > link.mtu {
            self.stats.too_big += 1;
            self.record(b'M', from, to_addr, &bytes);
            return;
        }
        let loss = match link.burst {
            Some(b) => {
                let host = &mut self.hosts[from_id];
                let flip = if host.burst_bad { b.exit } else { b.enter };
                let bad = host.burst_bad;
                let r = self.chance(flip);
                let host = &mut self.hosts[from_id];
                if r {
                    host.burst_bad = !bad;
                }
                if host.burst_bad { b.loss } else { link.loss }
            }
            None => link.loss,
        };
        if self.chance(loss) {
            self.stats.lost += 1;
            self.record(b'L', from, to_addr, &bytes);
            return;
        }
        let copies = if self.chance(link.duplicate) { 2 } else { 1 };
        let local_to = self.hosts[to].local;
        for copy in 0..copies {
            let mut at = self.now + link.delay + self.jitter(link.jitter);
            if let Some(rate) = link.bandwidth.filter(|&r| r > 0) {
                let host = &mut self.hosts[from_id];
                let start = host.link_free_at.max(self.now);
                let serialise = Duration::from_micros(bytes.len() as u64 * 1_000_000 / rate);
                host.link_free_at = start + serialise;
                at = at.max(host.link_free_at + link.delay);
            }
            if copy == 1 {
                self.stats.duplicated += 1;
            }
            self.record(b'D', from, to_addr, &bytes);
            self.seq += 1;
            self.queue.push(InFlight {
                at,
                seq: self.seq,
                to,
                from,
                to_addr: local_to,
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

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

#[cfg(test)]
mod tests {
    use super::*;

    /// Sends `count` numbered pings, one every 10 ms, to its peer; echoes what it receives
    /// unless it is a pong already.
    struct Pinger {
        peer: SocketAddr,
        next_ping: Option<Instant>,
        sent: u32,
        count: u32,
        outbox: Vec<(SocketAddr, Vec<u8>)>,
        pongs: Vec<u32>,
    }

    impl Pinger {
        fn new(peer: SocketAddr, count: u32) -> Self {
            Pinger {
                peer,
                next_ping: Some(Instant::ZERO),
                sent: 0,
                count,
                outbox: Vec::new(),
                pongs: Vec::new(),
            }
        }
    }

    impl Node for Pinger {
        fn handle_packet(
            &mut self,
            _now: Instant,
            from: SocketAddr,
            _to: SocketAddr,
            packet: &mut [u8],
        ) {
            match packet {
                [b'p', n @ ..] => {
                    let mut reply = std::vec![b'P'];
                    reply.extend_from_slice(n);
                    self.outbox.push((from, reply));
                }
                [b'P', a, b, c, d] => self.pongs.push(u32::from_be_bytes([*a, *b, *c, *d])),
                _ => {}
            }
        }
        fn handle_timeout(&mut self, now: Instant) {
            if self.sent < self.count {
                let mut ping = std::vec![b'p'];
                ping.extend_from_slice(&self.sent.to_be_bytes());
                self.outbox.push((self.peer, ping));
                self.sent += 1;
                self.next_ping = Some(now + Duration::from_millis(10));
            } else {
                self.next_ping = None;
            }
        }
        fn poll_transmit<'b>(
            &mut self,
            buf: &'b mut [u8],
        ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
            let Some((to, bytes)) = self.outbox.first() else {
                return Ok(None);
            };
            let out = buf.get_mut(..bytes.len()).ok_or(BufferTooSmall {
                needed: bytes.len(),
            })?;
            out.copy_from_slice(bytes);
            let to = *to;
            self.outbox.remove(0);
            Ok(Some(Transmit {
                source: None,
                destination: Some(to),
                payload: out,
            }))
        }
        fn poll_timeout(&self) -> Option<Instant> {
            self.next_ping
        }
        fn drain_events(&mut self, _now: Instant) {}
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn run(seed: u64, link: LinkConfig) -> (u64, Vec<u32>, NetStats) {
        let (a, b) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
        let mut net = Network::new(seed);
        let pa = net.add(Pinger::new(b, 200), a, link.clone());
        net.add(Pinger::new(a, 0), b, link);
        net.run_for(Duration::from_secs(10));
        (net.trace_hash(), net.node(pa).pongs.clone(), net.stats())
    }

    #[test]
    fn a_clean_link_delivers_everything_in_order() {
        let (_, pongs, stats) = run(1, LinkConfig::default());
        assert_eq!(pongs, (0..200).collect::<Vec<_>>());
        assert_eq!((stats.lost, stats.duplicated), (0, 0));
    }

    #[test]
    fn the_same_seed_gives_the_same_trace_and_another_seed_does_not() {
        let link = LinkConfig::lossy(0.2, 0.05);
        let first = run(7, link.clone());
        assert_eq!(first, run(7, link.clone()));
        assert_ne!(first.0, run(8, link).0);
    }

    #[test]
    fn loss_duplication_and_reordering_happen_at_the_configured_rates() {
        let link = LinkConfig {
            jitter: Duration::from_millis(50),
            ..LinkConfig::lossy(0.3, 0.1)
        };
        let (_, pongs, stats) = run(3, link);
        // Two legs at 30 % loss: about half the pings come back.
        assert!((70..140).contains(&pongs.len()), "{} pongs", pongs.len());
        assert!(stats.duplicated > 5, "{stats:?}");
        assert!(
            pongs.windows(2).any(|w| w[0] > w[1]),
            "jitter should reorder"
        );
    }

    #[test]
    fn mtu_and_nat_are_enforced() {
        let (a, b) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
        let mut net = Network::new(1);
        let pa = net.add(
            Pinger::new(b, 5),
            a,
            LinkConfig {
                mtu: 4,
                ..LinkConfig::default()
            },
        );
        net.add(Pinger::new(a, 0), b, LinkConfig::default());
        net.run_for(Duration::from_secs(1));
        assert_eq!(net.stats().too_big, 5);
        assert!(net.node(pa).pongs.is_empty());

        // Behind a NAT the peer answers the public address, which routes back.
        let mut net = Network::new(1);
        let pa = net.add(Pinger::new(b, 3), a, LinkConfig::default());
        net.add(
            Pinger::new(addr("203.0.113.9:4000"), 0),
            b,
            LinkConfig::default(),
        );
        net.set_public_address(pa, addr("203.0.113.9:4000"));
        net.run_for(Duration::from_secs(1));
        assert_eq!(net.node(pa).pongs, std::vec![0, 1, 2]);
    }

    #[test]
    fn bandwidth_spaces_datagrams_out() {
        let (a, b) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
        let mut net = Network::new(1);
        // 5 bytes at 50 B/s: 100 ms each, slower than the 10 ms ping interval.
        let slow = LinkConfig {
            bandwidth: Some(50),
            ..LinkConfig::default()
        };
        let pa = net.add(Pinger::new(b, 10), a, slow);
        net.add(Pinger::new(a, 0), b, LinkConfig::default());
        net.run_for(Duration::from_millis(500));
        assert!(net.node(pa).pongs.len() <= 5, "{:?}", net.node(pa).pongs);
    }
}
