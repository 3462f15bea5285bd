//! The simulator's own tests: links, queues, NATs, addresses, determinism.

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
    /// Our address each datagram arrived on, and when.
    arrivals: Vec<(SocketAddr, Instant)>,
    /// The address to send from (`None`: the node's first).
    source: Option<SocketAddr>,
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
            arrivals: Vec::new(),
            source: None,
        }
    }
}

impl Node for Pinger {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        self.arrivals.push((to, now));
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
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        let Some((to, bytes)) = self.outbox.first() else {
            return Ok(None);
        };
        let out = buf.get_mut(..bytes.len()).ok_or(BufferTooSmall {
            needed: bytes.len(),
        })?;
        out.copy_from_slice(bytes);
        let to = *to;
        self.outbox.remove(0);
        Ok(Some(match self.source {
            Some(source) => Outgoing::Between(Transmit::between(source, to, out)),
            None => Outgoing::To(to, out),
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

/// Sends `count` datagrams of `size` bytes to `peer` at once, at time zero.
struct Blaster {
    peer: SocketAddr,
    count: usize,
    size: usize,
    fired: bool,
}

impl Node for Blaster {
    fn handle_packet(&mut self, _: Instant, _: SocketAddr, _: SocketAddr, _: &mut [u8]) {}
    fn handle_timeout(&mut self, _now: Instant) {
        self.fired = true;
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        if !self.fired || self.count == 0 {
            return Ok(None);
        }
        self.count -= 1;
        let out = &mut buf[..self.size];
        out.fill(b'x');
        Ok(Some(Outgoing::To(self.peer, out)))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        (!self.fired).then_some(Instant::ZERO)
    }
    fn drain_events(&mut self, _now: Instant) {}
}

/// Blaster and Pinger share the network through this.
enum Either {
    B(Blaster),
    P(Pinger),
}

impl Node for Either {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, p: &mut [u8]) {
        match self {
            Either::B(b) => b.handle_packet(now, from, to, p),
            Either::P(x) => x.handle_packet(now, from, to, p),
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        match self {
            Either::B(b) => b.handle_timeout(now),
            Either::P(x) => x.handle_timeout(now),
        }
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        match self {
            Either::B(b) => b.poll_transmit(buf),
            Either::P(x) => x.poll_transmit(buf),
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            Either::B(b) => b.poll_timeout(),
            Either::P(x) => x.poll_timeout(),
        }
    }
    fn drain_events(&mut self, _now: Instant) {}
}

fn blast(link: LinkConfig, count: usize, size: usize) -> (Vec<Instant>, Network<Either>) {
    let (a, b) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let mut net = Network::new(1);
    let blaster = Blaster {
        peer: b,
        count,
        size,
        fired: false,
    };
    net.add(Either::B(blaster), a, link);
    let rx = net.add(Either::P(Pinger::new(a, 0)), b, LinkConfig::default());
    net.run_for(Duration::from_secs(10));
    let Either::P(p) = net.node(rx) else {
        unreachable!()
    };
    let times = p.arrivals.iter().map(|&(_, t)| t).collect();
    (times, net)
}

#[test]
fn the_bottleneck_serialises_at_its_rate() {
    // 1000-byte datagrams at 100 kB/s: one every 10 ms, each arriving 10 ms (its own
    // serialisation) plus 20 ms (the delay) after it starts.
    let link = LinkConfig {
        bandwidth: Some(100_000),
        ..LinkConfig::with_delay(Duration::from_millis(20))
    };
    let (times, net) = blast(link, 5, 1000);
    let ms: Vec<u64> = times.iter().map(|t| t.as_millis()).collect();
    assert_eq!(ms, [30, 40, 50, 60, 70]);
    assert_eq!(net.stats().queue_dropped, 0);
    assert_eq!(net.link_stats(0).peak_queue_bytes, 4000);
}

#[test]
fn a_full_bottleneck_queue_drops_the_tail() {
    // Ten 1000-byte datagrams at once into a 3500-byte queue: the first goes on the wire,
    // three wait, the last six do not fit.
    let link = LinkConfig::narrow(100_000, 3500, Duration::from_millis(20));
    let (times, net) = blast(link, 10, 1000);
    let ms: Vec<u64> = times.iter().map(|t| t.as_millis()).collect();
    assert_eq!(ms, [30, 40, 50, 60]);
    assert_eq!(net.stats().queue_dropped, 6);
    let ls = net.link_stats(0);
    assert_eq!(
        (ls.sent, ls.queue_dropped, ls.peak_queue_bytes),
        (4, 6, 3000)
    );
    // An unbounded queue keeps all ten.
    let (times, net) = blast(
        LinkConfig {
            queue_bytes: None,
            ..LinkConfig::narrow(100_000, 3500, Duration::from_millis(20))
        },
        10,
        1000,
    );
    assert_eq!(times.len(), 10);
    assert_eq!(net.stats().queue_dropped, 0);
}

#[test]
fn a_drained_queue_takes_datagrams_again() {
    // Pings every 10 ms of 5 bytes at 1000 B/s (5 ms each) never queue.
    let (a, b) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let mut net = Network::new(1);
    let pa = net.add(
        Pinger::new(b, 20),
        a,
        LinkConfig::narrow(1000, 1, Duration::from_millis(5)),
    );
    net.add(Pinger::new(a, 0), b, LinkConfig::default());
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(pa).pongs.len(), 20);
    assert_eq!(net.stats().queue_dropped, 0);
}

fn three_pingers_with_nats(
    a_nat: fn(core::net::IpAddr) -> NatConfig,
    b_nat: fn(core::net::IpAddr) -> NatConfig,
) -> (Network<Pinger>, NodeId, NodeId) {
    let mut net = Network::new(1);
    let na = net.add_nat(a_nat("203.0.113.1".parse().unwrap()));
    let nb = net.add_nat(b_nat("203.0.113.2".parse().unwrap()));
    // Both sides use the same private address: each NAT's inside is its own realm.
    let private = addr("192.168.1.10:5000");
    let pa = net.add_behind_nat(
        na,
        Pinger::new(addr("203.0.113.2:40000"), 5),
        private,
        LinkConfig::default(),
    );
    let pb = net.add_behind_nat(
        nb,
        Pinger::new(addr("203.0.113.1:40000"), 5),
        private,
        LinkConfig::default(),
    );
    (net, pa, pb)
}

#[test]
fn unsolicited_datagrams_stop_at_a_nat_until_the_inside_sends() {
    let (server, inside) = (addr("198.51.100.1:3478"), addr("10.0.0.1:5000"));
    let mut net: Network<Pinger> = Network::new(1);
    let nat = net.add_nat(NatConfig::port_restricted_cone(
        "203.0.113.1".parse().unwrap(),
    ));
    let public = net.add(
        Pinger::new(addr("203.0.113.1:40000"), 3),
        server,
        LinkConfig::default(),
    );
    let inner = net.add_behind_nat(nat, Pinger::new(server, 0), inside, LinkConfig::default());
    // The public node pings the NAT's first port before any mapping exists, and the
    // private address, which is not routable from outside.
    net.run_for(Duration::from_secs(1));
    assert!(net.node(inner).arrivals.is_empty());
    assert_eq!(net.stats().filtered, 3);
    assert_eq!(net.nat(nat).stats().dropped_no_mapping, 3);
    net.node_mut(public).peer = inside;
    net.node_mut(public).count = 6;
    net.node_mut(public).next_ping = Some(net.now());
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.stats().unroutable, 3);
    // Once the inside has sent to the server, the server gets in (and only it).
    net.node_mut(inner).count = 1;
    net.node_mut(inner).next_ping = Some(net.now());
    net.node_mut(public).peer = addr("203.0.113.1:40000");
    net.node_mut(public).count = 9;
    net.node_mut(public).next_ping = Some(net.now() + Duration::from_millis(100));
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(inner).pongs, [0]);
    assert_eq!(net.node(inner).arrivals.len(), 4, "a pong and three pings");
    assert_eq!(
        net.nat(nat).mappings(net.now()),
        [(inside, addr("203.0.113.1:40000"))]
    );
}

#[test]
fn port_restricted_nats_on_both_sides_are_punched_by_sending_both_ways() {
    let (mut net, pa, pb) = three_pingers_with_nats(
        NatConfig::port_restricted_cone,
        NatConfig::port_restricted_cone,
    );
    // B starts 25 ms after A: A's pings arriving at B's NAT at 10 ms and 20 ms find no
    // mapping; from B's first datagram on, both holes are open.
    net.node_mut(pb).next_ping = Some(Instant::from_millis(25));
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(pa).pongs, [2, 3, 4]);
    assert_eq!(net.node(pb).pongs, [0, 1, 2, 3, 4]);
    assert_eq!(net.stats().filtered, 2);
    assert_eq!(net.nat(1).stats().dropped_no_mapping, 2);
}

#[test]
fn a_symmetric_nat_facing_a_port_restricted_one_never_gets_through() {
    // Both first learn their server-reflexive address from a server, as ICE gathering
    // does.
    let mut net: Network<Pinger> = Network::new(1);
    let na = net.add_nat(NatConfig::symmetric("203.0.113.1".parse().unwrap()));
    let nb = net.add_nat(NatConfig::port_restricted_cone(
        "203.0.113.2".parse().unwrap(),
    ));
    let server = addr("198.51.100.1:3478");
    let (a_in, b_in) = (addr("10.0.0.1:5000"), addr("10.0.0.2:5000"));
    let sa = net.add_behind_nat(na, Pinger::new(server, 1), a_in, LinkConfig::default());
    let sb = net.add_behind_nat(nb, Pinger::new(server, 1), b_in, LinkConfig::default());
    net.add(Pinger::new(server, 0), server, LinkConfig::default());
    net.run_for(Duration::from_secs(1));
    // What each learnt as its server-reflexive address.
    assert_eq!(
        net.nat(na).mappings(net.now()),
        [(a_in, addr("203.0.113.1:40000"))]
    );
    assert_eq!(
        net.nat(nb).mappings(net.now()),
        [(b_in, addr("203.0.113.2:40000"))]
    );
    // Each now aims at the other's server-reflexive address, as ICE would.
    for (id, peer) in [(sa, "203.0.113.2:40000"), (sb, "203.0.113.1:40000")] {
        let now = net.now();
        let p = net.node_mut(id);
        p.peer = addr(peer);
        p.count = 11;
        p.next_ping = Some(now);
        p.pongs.clear();
    }
    net.run_for(Duration::from_secs(2));
    // A's datagrams leave from a new port (40001) that B never sent to; B's go to A's
    // mapping for the server, which admits only the server.
    assert!(net.node(sa).pongs.is_empty() && net.node(sb).pongs.is_empty());
    assert_eq!(net.nat(na).stats().dropped_filtered, 10);
    assert_eq!(net.nat(nb).stats().dropped_filtered, 10);
}

#[test]
fn a_hairpinned_datagram_comes_back_in_through_the_nat() {
    let mut net: Network<Pinger> = Network::new(1);
    let nat = net.add_nat(NatConfig::full_cone("203.0.113.1".parse().unwrap()));
    let (a_in, b_in) = (addr("10.0.0.1:5000"), addr("10.0.0.2:5000"));
    let b = net.add_behind_nat(
        nat,
        Pinger::new(addr("198.51.100.1:1"), 1),
        b_in,
        LinkConfig::default(),
    );
    // B opens 203.0.113.1:40000; A, on the same LAN, reaches B through the public side.
    let a = net.add_behind_nat(
        nat,
        Pinger::new(addr("203.0.113.1:40000"), 2),
        a_in,
        LinkConfig::default(),
    );
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(a).pongs, [0, 1]);
    assert_eq!(net.node(b).arrivals.len(), 2);
}

#[test]
fn a_mapping_left_idle_expires_in_the_network() {
    let server = addr("198.51.100.1:3478");
    let mut net: Network<Pinger> = Network::new(1);
    let nat = net.add_nat(
        NatConfig::full_cone("203.0.113.1".parse().unwrap()).with_lifetime(Duration::from_secs(30)),
    );
    let inner = net.add_behind_nat(
        nat,
        Pinger::new(server, 1),
        addr("10.0.0.1:5000"),
        LinkConfig::default(),
    );
    let public = net.add(
        Pinger::new(addr("203.0.113.1:40000"), 0),
        server,
        LinkConfig::default(),
    );
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(inner).pongs, [0]);
    // 40 s later the mapping is gone: the server's datagram is dropped.
    net.run_for(Duration::from_secs(40));
    net.node_mut(public).count = 1;
    net.node_mut(public).next_ping = Some(net.now());
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(inner).arrivals.len(), 1);
    assert_eq!(net.nat(nat).stats().dropped_no_mapping, 1);
}

#[test]
fn a_node_with_two_addresses_sends_and_receives_on_each() {
    let (a1, a2, b) = (
        addr("10.0.0.1:1000"),
        addr("[fd00::1]:1000"),
        addr("10.0.0.2:2000"),
    );
    let mut net = Network::new(1);
    let pa = net.add(Pinger::new(b, 2), a1, LinkConfig::default());
    net.add_address(pa, a2, Realm::PUBLIC);
    let lan = net.new_realm();
    let hidden = addr("192.168.9.1:1000");
    net.add_address(pa, hidden, lan);
    let pb = net.add(Pinger::new(a2, 2), b, LinkConfig::default());
    net.run_for(Duration::from_secs(1));
    // B's pings to A's second address arrive on it; A's answers leave from its first
    // address (its default), and A's pings from it are answered there.
    let on = |id: NodeId, a: SocketAddr| net.node(id).arrivals.iter().filter(|x| x.0 == a).count();
    assert_eq!((on(pa, a1), on(pa, a2)), (2, 2));
    assert_eq!(net.node(pb).pongs, [0, 1]);
    // Sent from the address on the isolated LAN, nothing reaches B, and nothing reaches
    // that address from B.
    let unroutable = net.stats().unroutable;
    net.node_mut(pa).source = Some(hidden);
    net.node_mut(pa).count = 4;
    net.node_mut(pa).next_ping = Some(net.now());
    net.node_mut(pb).peer = hidden;
    net.node_mut(pb).count = 4;
    net.node_mut(pb).next_ping = Some(net.now());
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(pa).pongs, [0, 1]);
    assert_eq!(net.stats().unroutable - unroutable, 4);
}

#[test]
fn an_interface_that_is_down_neither_sends_nor_receives_until_it_is_back() {
    // A pings B every 10 ms (a ping sent at 10k ms is answered at 10k + 20 ms). A's only
    // interface is down from 305 ms to 605 ms.
    let (a, b) = (addr("10.0.0.1:1000"), addr("10.0.0.2:2000"));
    let mut net = Network::new(1);
    let pa = net.add(Pinger::new(b, 100), a, LinkConfig::default());
    net.add(Pinger::new(a, 0), b, LinkConfig::default());
    net.run_for(Duration::from_millis(305));
    net.set_address_up(pa, a, false);
    net.run_for(Duration::from_millis(300));
    net.set_address_up(pa, a, true);
    net.run_for(Duration::from_secs(2));
    // Pings 30..=60 (sent at 300..600 ms) never left; the pong to ping 29 (due at 310 ms)
    // was dropped on arrival. Everything before and after went through.
    let expected: Vec<u32> = (0..=28).chain(61..100).collect();
    assert_eq!(net.node(pa).pongs, expected);
    assert_eq!(net.stats().iface_down, 32);
    assert_eq!(net.stats().lost, 0);
}

#[test]
fn seeded_rng_uses_all_64_bits_of_the_seed() {
    for s in [0u64, 1, 255, 1 << 40] {
        let mut x = seeded_rng(s, b"link");
        let mut y = seeded_rng(s + 256, b"link");
        assert_ne!(x.u64(), y.u64(), "seed {s}");
        let mut z = seeded_rng(s + (1 << 63), b"link");
        assert_ne!(seeded_rng(s, b"link").u64(), z.u64(), "seed {s}");
    }
}

/// A machine whose timer is never re-armed: its deadline stays at 1 s whatever happens.
struct Stuck;

impl Node for Stuck {
    fn handle_packet(&mut self, _: Instant, _: SocketAddr, _: SocketAddr, _: &mut [u8]) {}
    fn handle_timeout(&mut self, _now: Instant) {}
    fn poll_transmit<'b>(
        &mut self,
        _: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        Ok(None)
    }
    fn poll_timeout(&self) -> Option<Instant> {
        Some(Instant::from_secs(1))
    }
    fn drain_events(&mut self, _now: Instant) {}
}

#[test]
#[should_panic(
    expected = "poll_timeout() is still Instant(1000000) after 1000 calls of handle_timeout(Instant(1000000)): a host loop would spin"
)]
fn a_deadline_that_stays_in_the_past_fails_the_run_instead_of_hanging_it() {
    let mut net = Network::new(1);
    net.add(Stuck, addr("10.0.0.1:1"), LinkConfig::default());
    net.run_for(Duration::from_secs(5));
}
