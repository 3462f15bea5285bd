//! Two Peers behind the simulator's NATs (RFC 4787 behaviours), each with a STUN server in its
//! configuration: every combination of no NAT, full cone, restricted cone, port-restricted
//! cone and symmetric, in both offer directions. The ones ICE can traverse without TURN
//! connect, over the candidate types RFC 8445 predicts; symmetric facing port-restricted or
//! symmetric cannot, and must end in ICE failed rather than hang. Also: a soak of the
//! traversable pairings over random links, two Peers on one LAN behind one NAT, a node with
//! two addresses (one unreachable), and NAT mapping lifetimes against consent checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use common::{addr, areas, certs};
use peerless::{ChannelId, Config, ConnectionState, Event, IceState, Peer, SdpType};
use peerless_base::{BufferTooSmall, Instant, Transmit};
use peerless_proptest::sim::{
    LinkConfig, NatConfig, Network, Node, NodeId, Outgoing, Realm, seeded_rng,
};
use peerless_stun::{Class, Message, Method};

/// A STUN Binding server: answers every Binding request with the source address it saw.
struct StunServer {
    addr: SocketAddr,
    outbox: Vec<(SocketAddr, Vec<u8>)>,
    /// Every source address it answered: the server-reflexive addresses it handed out.
    seen: Vec<SocketAddr>,
}

struct PeerNode {
    peer: Peer,
    channel: Option<ChannelId>,
    gathered: bool,
    opened: bool,
    received: Vec<Vec<u8>>,
    echo: bool,
    conn: Vec<ConnectionState>,
    ice: Vec<IceState>,
}

#[allow(clippy::large_enum_variant)] // a handful of nodes per test
enum SimNode {
    Peer(PeerNode),
    Stun(StunServer),
}

impl Node for SimNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        match self {
            SimNode::Peer(p) => p.peer.handle_packet(now, from, to, packet),
            SimNode::Stun(s) => {
                let Ok(req) = Message::parse(packet) else {
                    return;
                };
                if req.class() != Class::Request || req.method() != Method::BINDING {
                    return;
                }
                let mut buf = vec![0u8; 128];
                let n = Message::builder(Class::Success, Method::BINDING, req.transaction_id())
                    .xor_mapped_address(from)
                    .fingerprint()
                    .emit(&mut buf)
                    .unwrap();
                buf.truncate(n);
                s.outbox.push((from, buf));
                s.seen.push(from);
            }
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        if let SimNode::Peer(p) = self {
            p.peer.handle_timeout(now);
        }
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        match self {
            SimNode::Peer(p) => p.peer.poll_transmit(buf).map(|o| o.map(Into::into)),
            SimNode::Stun(s) => {
                let Some((to, bytes)) = s.outbox.pop() else {
                    return Ok(None);
                };
                let out = &mut buf[..bytes.len()];
                out.copy_from_slice(&bytes);
                Ok(Some(Transmit::between(s.addr, to, out).into()))
            }
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            SimNode::Peer(p) => p.peer.poll_timeout(),
            SimNode::Stun(_) => None,
        }
    }
    fn drain_events(&mut self, _now: Instant) {
        let SimNode::Peer(p) = self else { return };
        let mut echo = Vec::new();
        while let Some(e) = p.peer.poll_event() {
            match e {
                Event::GatheringComplete => p.gathered = true,
                Event::ChannelOpen { .. } => p.opened = true,
                Event::ConnectionState(s) => p.conn.push(s),
                Event::IceState(s) => p.ice.push(s),
                Event::Message {
                    channel,
                    kind,
                    data,
                } => {
                    p.received.push(data.to_vec());
                    if p.echo {
                        echo.push((channel, kind, data.to_vec()));
                    }
                }
                _ => {}
            }
        }
        for (c, b, d) in echo {
            p.peer.send(c, b, &d).unwrap();
        }
    }
}

fn peer(net: &Network<SimNode>, id: NodeId) -> &PeerNode {
    match net.node(id) {
        SimNode::Peer(p) => p,
        SimNode::Stun(_) => unreachable!(),
    }
}

fn peer_mut(net: &mut Network<SimNode>, id: NodeId) -> &mut PeerNode {
    match net.node_mut(id) {
        SimNode::Peer(p) => p,
        SimNode::Stun(_) => unreachable!(),
    }
}

const SERVER: &str = "198.51.100.1:3478";

/// A Peer whose randomness comes from all 64 bits of `seed` (and differs per side).
fn new_node(seed: u64, offerer: bool, stun: bool) -> SimNode {
    let (ca, cb) = certs();
    let (s, r) = areas();
    let mut bytes = [u8::from(offerer) + 1; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    let mut config = Config::new(if offerer { ca } else { cb }, bytes);
    if stun {
        config = config.with_stun_server(addr(SERVER));
    }
    let mut peer = Peer::new(config, Instant::ZERO, s, r);
    let channel = offerer.then(|| {
        peer.create_data_channel("chat", Default::default())
            .unwrap()
    });
    SimNode::Peer(PeerNode {
        peer,
        channel,
        gathered: false,
        opened: false,
        received: Vec::new(),
        echo: !offerer,
        conn: Vec::new(),
        ice: Vec::new(),
    })
}

/// Where a side sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nat {
    /// A public address, no NAT.
    Open,
    FullCone,
    RestrictedCone,
    PortRestrictedCone,
    Symmetric,
}

const ALL: [Nat; 5] = [
    Nat::Open,
    Nat::FullCone,
    Nat::RestrictedCone,
    Nat::PortRestrictedCone,
    Nat::Symmetric,
];

impl Nat {
    fn config(self, ip: IpAddr) -> Option<NatConfig> {
        match self {
            Nat::Open => None,
            Nat::FullCone => Some(NatConfig::full_cone(ip)),
            Nat::RestrictedCone => Some(NatConfig::restricted_cone(ip)),
            Nat::PortRestrictedCone => Some(NatConfig::port_restricted_cone(ip)),
            Nat::Symmetric => Some(NatConfig::symmetric(ip)),
        }
    }

    /// The candidate type under which the other side's selected pair knows this side:
    /// its own address without a NAT; behind an endpoint-independent mapping, the one the
    /// STUN server saw (server-reflexive); behind a symmetric NAT, a mapping made for the
    /// peer alone, which no candidate announced (peer-reflexive, RFC 8445 section 7.3.1.3).
    fn seen_as(self) -> &'static str {
        match self {
            Nat::Open => "host",
            Nat::FullCone | Nat::RestrictedCone | Nat::PortRestrictedCone => "srflx",
            Nat::Symmetric => "prflx",
        }
    }
}

/// RFC 8445 without TURN: a symmetric NAT's per-destination port is unknown to the peer, so
/// the peer's own NAT must let in a sender it has never sent to: only endpoint-independent
/// or address-dependent filtering (or no NAT) does.
fn traversable(a: Nat, b: Nat) -> bool {
    let blocks_unknown_ports = |n| matches!(n, Nat::PortRestrictedCone | Nat::Symmetric);
    !(a == Nat::Symmetric && blocks_unknown_ports(b)
        || b == Nat::Symmetric && blocks_unknown_ports(a))
}

/// One side of a scenario: its node, its socket and the addresses its candidates announce.
struct Side {
    id: NodeId,
    local: SocketAddr,
}

fn place(net: &mut Network<SimNode>, nat: Nat, node: SimNode, n: u8, link: &LinkConfig) -> Side {
    let public_ip: IpAddr = format!("203.0.113.{n}").parse().unwrap();
    match nat.config(public_ip) {
        None => {
            let local = addr(&format!("198.51.100.{}:{}", 10 * n, 5000 + u16::from(n)));
            let id = net.add(node, local, link.clone());
            Side { id, local }
        }
        Some(config) => {
            let nat = net.add_nat(config);
            // Both sides could use the same private network; they use different ones so
            // that a check to the other's private address is plainly unroutable.
            let local = addr(&format!("10.{n}.0.1:{}", 5000 + u16::from(n)));
            let id = net.add_behind_nat(nat, node, local, link.clone());
            Side { id, local }
        }
    }
}

/// Offer/answer with complete descriptions (no trickle): A gathers and offers; B takes the
/// offer, then gathers and answers. (B gathers after the offer as a browser does at
/// setLocalDescription: the Peer rebuilds its ICE agent as controlled when an offer arrives.)
/// Returns the offer and the answer.
fn negotiate(
    net: &mut Network<SimNode>,
    (ia, a_local): (NodeId, &[SocketAddr]),
    (ib, b_local): (NodeId, SocketAddr),
) -> (String, String) {
    for &l in a_local {
        peer_mut(net, ia).peer.add_local_candidate(l).unwrap();
    }
    net.kick(ia);
    assert!(
        net.run_until(Duration::from_secs(10), |n| peer(n, ia).gathered),
        "A's gathering did not complete"
    );
    let mut buf = vec![0u8; 4096];
    let pa = &mut peer_mut(net, ia).peer;
    let offer = pa.create_offer(&mut buf).unwrap().to_string();
    pa.set_local_description(SdpType::Offer, &offer).unwrap();
    let pb = &mut peer_mut(net, ib).peer;
    pb.set_remote_description(SdpType::Offer, &offer).unwrap();
    pb.add_local_candidate(b_local).unwrap();
    net.kick(ib);
    assert!(
        net.run_until(Duration::from_secs(10), |n| peer(n, ib).gathered),
        "B's gathering did not complete"
    );
    let pb = &mut peer_mut(net, ib).peer;
    let answer = pb.create_answer(&mut buf).unwrap().to_string();
    pb.set_local_description(SdpType::Answer, &answer).unwrap();
    peer_mut(net, ia)
        .peer
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    net.kick(ia);
    net.kick(ib);
    (offer, answer)
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// Connected and echoed; how A's pair knows B and how B's pair knows A.
    Connected { a_sees_b: String, b_sees_a: String },
    /// Both sides reported ICE failed and connection failed, after this long.
    Failed(Duration),
}

/// A (offerer, controlling) behind `a`, B (answerer) behind `b`, both with the STUN server;
/// both gather, exchange complete descriptions, and run until connected or failed.
fn scenario(a: Nat, b: Nat, seed: u64, link: &LinkConfig) -> Outcome {
    let mut net = Network::new(seed);
    let sa = place(&mut net, a, new_node(seed, true, true), 1, link);
    let sb = place(&mut net, b, new_node(seed, false, true), 2, link);
    let stun = net.add(
        SimNode::Stun(StunServer {
            addr: addr(SERVER),
            outbox: Vec::new(),
            seen: Vec::new(),
        }),
        addr(SERVER),
        LinkConfig::with_delay(link.delay),
    );
    negotiate(&mut net, (sa.id, &[sa.local]), (sb.id, sb.local));
    let t0 = net.now();
    // The last state counts: B, given the offer's candidates and end-of-candidates before it
    // has a socket, reports failed at once and checks again when its candidate comes (RFC
    // 8838 section 8 would have it wait for its own gathering: a Peer defect, reported).
    let failed = |p: &PeerNode| p.conn.last() == Some(&ConnectionState::Failed);
    net.run_until(Duration::from_secs(120), |n| {
        let (pa, pb) = (peer(n, sa.id), peer(n, sb.id));
        (pa.opened && pb.opened) || (failed(pa) && failed(pb))
    });
    let (pa, pb) = (peer(&net, sa.id), peer(&net, sb.id));
    if !(pa.opened && pb.opened) {
        assert!(
            failed(pa) && failed(pb),
            "{a:?}/{b:?} hangs: neither connected nor failed after {:?}: A {:?} {:?}, B {:?} {:?}",
            net.now() - t0,
            pa.ice,
            pa.conn,
            pb.ice,
            pb.conn
        );
        assert!(pa.ice.contains(&IceState::Failed) && pb.ice.contains(&IceState::Failed));
        assert!(!pa.conn.contains(&ConnectionState::Connected));
        return Outcome::Failed(net.now() - t0);
    }
    // The channel carries data both ways through the NATs.
    let ch = pa.channel.unwrap();
    peer_mut(&mut net, sa.id)
        .peer
        .send(ch, peerless::MessageKind::Text, b"through the NATs")
        .unwrap();
    net.kick(sa.id);
    assert!(net.run_until(Duration::from_secs(10), |n| {
        !peer(n, sa.id).received.is_empty()
    }));
    assert_eq!(peer(&net, sa.id).received, [b"through the NATs".to_vec()]);
    let (a_pair, b_pair) = (
        peer(&net, sa.id).peer.selected_pair().unwrap(),
        peer(&net, sb.id).peer.selected_pair().unwrap(),
    );
    // A pair's local side is always the socket (a reflexive candidate's base).
    assert_eq!((a_pair.0, b_pair.0), (sa.local, sb.local), "{a:?}/{b:?}");
    // Classified by address, not by the type a description gave it: the address a side's
    // socket has is host, one the STUN server saw is server-reflexive, and any other is a
    // mapping made for the peer alone (peer-reflexive).
    let SimNode::Stun(server) = net.node(stun) else {
        unreachable!()
    };
    let kind = |other: &Side, remote: SocketAddr| {
        if remote == other.local {
            "host"
        } else if server.seen.contains(&remote) {
            "srflx"
        } else {
            "prflx"
        }
        .to_string()
    };
    Outcome::Connected {
        a_sees_b: kind(&sb, a_pair.1),
        b_sees_a: kind(&sa, b_pair.1),
    }
}

#[test]
fn every_nat_combination_connects_or_fails_as_rfc_8445_predicts() {
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for (i, a) in ALL.into_iter().enumerate() {
        for (j, b) in ALL.into_iter().enumerate() {
            let link = LinkConfig::with_delay(Duration::from_millis(15));
            let got = scenario(a, b, (i * 5 + j) as u64 + 1, &link);
            let as_expected = match &got {
                Outcome::Connected { a_sees_b, b_sees_a } => {
                    traversable(a, b) && a_sees_b == b.seen_as() && b_sees_a == a.seen_as()
                }
                // Checks give up within RFC 8445's budget, not at the harness's limit.
                Outcome::Failed(after) => !traversable(a, b) && *after < Duration::from_secs(60),
            };
            report.push(format!("{a:?} -> {b:?}: {got:?}"));
            if !as_expected {
                wrong.push(format!("{a:?} -> {b:?}: {got:?}"));
            }
        }
    }
    println!("{}", report.join("\n"));
    assert!(
        wrong.is_empty(),
        "unexpected outcomes:\n{}",
        wrong.join("\n")
    );
}

fn seeds(default: u64) -> u64 {
    std::env::var("PEERLESS_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn seed_base() -> u64 {
    ["PEERLESS_SIM_SEED_BASE", "PEERLESS_SIM_FIRST"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
        .unwrap_or(0)
}

#[test]
fn traversable_nat_pairs_connect_over_random_links() {
    // Soak (PEERLESS_SIM_SEEDS, PEERLESS_SIM_SEED_BASE): per seed, a NAT pairing ICE can
    // traverse and a link with some loss, duplication, jitter and sometimes a narrow
    // bottleneck with a short queue. Loss stays at 5 % or less: what is tested here is the
    // traversal, not ICE's retransmission budget (sim.rs soaks that).
    let pairs: Vec<(Nat, Nat)> = ALL
        .into_iter()
        .flat_map(|a| ALL.into_iter().map(move |b| (a, b)))
        .filter(|&(a, b)| traversable(a, b))
        .collect();
    for seed in seed_base()..seed_base() + seeds(20) {
        let mut rng = seeded_rng(seed, b"nat-link");
        let (a, b) = pairs[rng.below(pairs.len() as u64) as usize];
        let bandwidth = (rng.below(3) == 0).then(|| 32_000 + rng.below(1_000_000));
        let link = LinkConfig {
            loss: rng.below(6) as f64 / 100.0,
            duplicate: rng.below(5) as f64 / 100.0,
            delay: Duration::from_millis(1 + rng.below(100)),
            jitter: Duration::from_millis(rng.below(30)),
            bandwidth,
            queue_bytes: bandwidth.map(|_| 4_000 + rng.below(60_000) as usize),
            ..LinkConfig::default()
        };
        let got = scenario(a, b, seed, &link);
        let want = Outcome::Connected {
            a_sees_b: b.seen_as().to_string(),
            b_sees_a: a.seen_as().to_string(),
        };
        assert_eq!(got, want, "seed {seed}: {a:?} -> {b:?} over {link:?}");
    }
}

#[test]
fn two_peers_behind_one_symmetric_nat_connect_over_their_lan() {
    // Same LAN, same (symmetric) NAT: the host candidates reach each other directly, and
    // nothing has to cross the NAT that could not.
    let mut net = Network::new(71);
    let link = LinkConfig::with_delay(Duration::from_millis(2));
    let nat = net.add_nat(NatConfig::symmetric("203.0.113.1".parse().unwrap()));
    let (a_in, b_in) = (addr("192.168.1.10:5000"), addr("192.168.1.20:6000"));
    let ia = net.add_behind_nat(nat, new_node(71, true, true), a_in, link.clone());
    let ib = net.add_behind_nat(nat, new_node(71, false, true), b_in, link.clone());
    net.add(
        SimNode::Stun(StunServer {
            addr: addr(SERVER),
            outbox: Vec::new(),
            seen: Vec::new(),
        }),
        addr(SERVER),
        link,
    );
    negotiate(&mut net, (ia, &[a_in]), (ib, b_in));
    assert!(
        net.run_until(Duration::from_secs(30), |n| peer(n, ia).opened
            && peer(n, ib).opened)
    );
    assert_eq!(peer(&net, ia).peer.selected_pair(), Some((a_in, b_in)));
    assert_eq!(peer(&net, ib).peer.selected_pair(), Some((b_in, a_in)));
}

#[test]
fn a_peer_with_an_unreachable_second_address_connects_over_the_other() {
    // A has two interfaces: one on a LAN B is not on (a VPN, a second Wi-Fi), announced
    // first, and a public one. B's checks to the first are unroutable; the second works.
    let mut net = Network::new(41);
    let link = LinkConfig::with_delay(Duration::from_millis(10));
    let (a_lan, a_pub, b_addr) = (
        addr("192.168.77.1:5000"),
        addr("198.51.100.10:5000"),
        addr("198.51.100.20:6000"),
    );
    let lan = net.new_realm();
    let ia = net.add_in(lan, new_node(41, true, false), a_lan, link.clone());
    net.add_address(ia, a_pub, Realm::PUBLIC);
    let ib = net.add(new_node(42, false, false), b_addr, link);
    // The LAN address first: without priorities to tell them apart, it is checked first.
    let (offer, _) = negotiate(&mut net, (ia, &[a_lan, a_pub]), (ib, b_addr));
    assert!(
        offer.contains("192.168.77.1 5000 typ host")
            && offer.contains("198.51.100.10 5000 typ host")
    );
    assert!(
        net.run_until(Duration::from_secs(30), |n| peer(n, ia).opened
            && peer(n, ib).opened),
        "A {:?} {:?}, B {:?} {:?}",
        peer(&net, ia).ice,
        peer(&net, ia).conn,
        peer(&net, ib).ice,
        peer(&net, ib).conn,
    );
    assert_eq!(peer(&net, ia).peer.selected_pair(), Some((a_pub, b_addr)));
    assert_eq!(peer(&net, ib).peer.selected_pair(), Some((b_addr, a_pub)));
    assert!(
        net.stats().unroutable > 0,
        "checks on the LAN address went nowhere"
    );
    let ch = peer(&net, ia).channel.unwrap();
    peer_mut(&mut net, ia)
        .peer
        .send(ch, peerless::MessageKind::Binary, &[7; 1000])
        .unwrap();
    net.kick(ia);
    assert!(net.run_until(Duration::from_secs(5), |n| !peer(n, ia).received.is_empty()));
    assert_eq!(peer(&net, ia).received, [vec![7; 1000]]);
}

#[test]
fn consent_checks_keep_30_second_nat_mappings_open_through_a_quiet_session() {
    // Port-restricted NATs on both sides that forget a mapping after 30 s without outbound
    // traffic. Three quiet minutes later the channel still works: consent checks (RFC 7675,
    // every 4 to 6 s) refresh both mappings and both permissions.
    let mut net = Network::new(51);
    let link = LinkConfig::with_delay(Duration::from_millis(20));
    let short = |ip: &str| {
        NatConfig::port_restricted_cone(ip.parse().unwrap()).with_lifetime(Duration::from_secs(30))
    };
    let (na, nb) = (
        net.add_nat(short("203.0.113.1")),
        net.add_nat(short("203.0.113.2")),
    );
    let (a_in, b_in) = (addr("10.1.0.1:5000"), addr("10.2.0.1:6000"));
    let ia = net.add_behind_nat(na, new_node(51, true, true), a_in, link.clone());
    let ib = net.add_behind_nat(nb, new_node(52, false, true), b_in, link.clone());
    net.add(
        SimNode::Stun(StunServer {
            addr: addr(SERVER),
            outbox: Vec::new(),
            seen: Vec::new(),
        }),
        addr(SERVER),
        link,
    );
    negotiate(&mut net, (ia, &[a_in]), (ib, b_in));
    assert!(
        net.run_until(Duration::from_secs(30), |n| peer(n, ia).opened
            && peer(n, ib).opened)
    );
    let created = net.nat(na).stats().mappings_created + net.nat(nb).stats().mappings_created;
    net.run_for(Duration::from_secs(180));
    let ch = peer(&net, ia).channel.unwrap();
    peer_mut(&mut net, ia)
        .peer
        .send(ch, peerless::MessageKind::Text, b"still here")
        .unwrap();
    net.kick(ia);
    assert!(net.run_until(Duration::from_secs(5), |n| !peer(n, ia).received.is_empty()));
    for id in [ia, ib] {
        let p = peer(&net, id);
        assert!(
            !p.conn.contains(&ConnectionState::Disconnected),
            "{:?}",
            p.conn
        );
    }
    // Endpoint-independent mapping: the one mapping each side made for the STUN server is
    // the one ICE uses, and it never lapsed.
    for nat in [na, nb] {
        let s = net.nat(nat).stats();
        assert_eq!((s.mappings_created, s.mappings_expired), (1, 0), "{s:?}");
    }
    assert_eq!(created, 2);
}

#[test]
fn a_mapping_lifetime_shorter_than_the_consent_interval_rebinds_at_every_check() {
    // The control for the test above: with a 3 s lifetime, shorter than the 4 to 6 s
    // consent interval, A's mapping lapses between checks, each check leaves from a new
    // port (a NAT rebinding every time), and B's datagrams to a lapsed port are dropped. The
    // simulator must make that visible, not paper over it.
    let mut net = Network::new(61);
    let link = LinkConfig::with_delay(Duration::from_millis(20));
    let short = |ip: &str| {
        NatConfig::port_restricted_cone(ip.parse().unwrap()).with_lifetime(Duration::from_secs(3))
    };
    let na = net.add_nat(short("203.0.113.1"));
    let a_in = addr("10.1.0.1:5000");
    let b_addr = addr("198.51.100.20:6000");
    let ia = net.add_behind_nat(na, new_node(61, true, true), a_in, link.clone());
    let ib = net.add(new_node(62, false, true), b_addr, link.clone());
    net.add(
        SimNode::Stun(StunServer {
            addr: addr(SERVER),
            outbox: Vec::new(),
            seen: Vec::new(),
        }),
        addr(SERVER),
        link,
    );
    negotiate(&mut net, (ia, &[a_in]), (ib, b_addr));
    assert!(
        net.run_until(Duration::from_secs(30), |n| peer(n, ia).opened
            && peer(n, ib).opened)
    );
    let first = net.nat(na).mappings(net.now());
    assert_eq!(first.len(), 1, "{first:?}");
    net.run_for(Duration::from_secs(120));
    let nat = net.nat(na).stats();
    // About one new mapping per consent check in 120 s.
    assert!(nat.mappings_created >= 15, "{nat:?}");
    assert_eq!(nat.mappings_expired + 1, nat.mappings_created, "{nat:?}");
    assert!(nat.dropped_no_mapping > 0, "{nat:?}");
    // B followed A to a later mapping (RFC 8445 section 7.3.1.3: the check came from a new
    // peer-reflexive address).
    let (_, b_remote) = peer(&net, ib).peer.selected_pair().unwrap();
    assert_ne!(b_remote, first[0].1);
    assert_eq!(b_remote.ip(), first[0].1.ip());
}
