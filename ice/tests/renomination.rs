//! Renomination between two real agents on the simulator: the controlling agent has two
//! interfaces and the pair on the first is selected; that interface goes down; the
//! controlling agent checks the other pairs again, renominates the one that answers, and the
//! controlled agent follows the latest nomination. Data sent every 20 ms on the selected pair
//! measures the outage. A stale nomination (a delayed copy of the first one) and the old
//! interface coming back must not move either side back.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Instant, Transmit};
use peerless_ice::{Agent, Config, Event, IceState, Role};
use peerless_proptest::sim::{LinkConfig, Network, Node, Outgoing};
use peerless_stun::{AttrType, Class, Message};

/// Data sent on the selected pair: a tag byte (not STUN, RFC 7983) and a sequence number.
const DATA: u8 = 0x17;
const DATA_EVERY: Duration = Duration::from_millis(20);

struct IceNode {
    agent: Agent,
    /// Selected pairs as the events told them, with when.
    selected: Vec<(Instant, SocketAddr, SocketAddr)>,
    /// Data received: when, on which of our addresses, from where.
    data: Vec<(Instant, SocketAddr, SocketAddr)>,
    /// Every USE-CANDIDATE request this agent sent: source, destination, bytes.
    nominations_sent: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    next_data: Option<Instant>,
    seq: u32,
    outbox: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
}

impl IceNode {
    fn new(config: Config, locals: &[SocketAddr]) -> Self {
        let mut agent = Agent::new(config, Instant::ZERO);
        for l in locals {
            agent.add_local_candidate(*l).unwrap();
        }
        IceNode {
            agent,
            selected: Vec::new(),
            data: Vec::new(),
            nominations_sent: Vec::new(),
            next_data: None,
            seq: 0,
            outbox: Vec::new(),
        }
    }

    fn pair(&self) -> Option<(SocketAddr, SocketAddr)> {
        self.agent.selected_pair()
    }
}

impl Node for IceNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        if packet.first() == Some(&DATA) {
            self.data.push((now, to, from));
        } else {
            self.agent.handle_packet(now, from, to, packet);
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.agent.handle_timeout(now);
        if self.next_data.is_some_and(|t| t <= now) {
            self.next_data = Some(now + DATA_EVERY);
            self.seq += 1;
            let mut payload = vec![DATA];
            payload.extend_from_slice(&self.seq.to_be_bytes());
            if let Some(t) = self.agent.send_to_selected(&payload) {
                self.outbox.push((t.source, t.destination, payload.clone()));
            }
        }
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        if let Some((from, to, bytes)) = self.outbox.pop() {
            let out = &mut buf[..bytes.len()];
            out.copy_from_slice(&bytes);
            return Ok(Some(Transmit::between(from, to, out).into()));
        }
        let Some(t) = self.agent.poll_transmit(buf)? else {
            return Ok(None);
        };
        if let Ok(m) = Message::parse(t.payload)
            && m.class() == Class::Request
            && m.use_candidate()
        {
            self.nominations_sent
                .push((t.source, t.destination, t.payload.to_vec()));
        }
        Ok(Some(t.into()))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match (self.agent.poll_timeout(), self.next_data) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    fn drain_events(&mut self, now: Instant) {
        while let Some(e) = self.agent.poll_event() {
            if let Event::SelectedPair { local, remote } = e {
                self.selected.push((now, local.address, remote.address));
            }
        }
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn signal(net: &mut Network<IceNode>, from: usize, to: usize) {
    let creds = *net.node(from).agent.local_credentials();
    let lines: Vec<String> = net
        .node(from)
        .agent
        .local_candidates()
        .map(|c| c.to_string())
        .collect();
    let peer = &mut net.node_mut(to).agent;
    peer.set_remote_credentials(creds.ufrag.as_str(), creds.pwd.as_str())
        .unwrap();
    for line in lines {
        peer.add_remote_candidate(&format!("a={line}")).unwrap();
    }
    peer.end_of_remote_candidates();
    net.kick(to);
}

fn connected(s: IceState) -> bool {
    matches!(s, IceState::Connected | IceState::Completed)
}

/// The longest time between two data arrivals at `node` that ends after `since` (the gap
/// that spans `since` included).
fn longest_gap(net: &Network<IceNode>, node: usize, since: Instant) -> Duration {
    let times: Vec<Instant> = net.node(node).data.iter().map(|d| d.0).collect();
    times
        .windows(2)
        .filter(|w| w[1] >= since)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or(Duration::MAX)
}

/// NOMINATION's value in a request (0xC001, draft-thatcher-ice-renomination).
fn nomination_value(bytes: &[u8]) -> Option<u32> {
    let m = Message::parse(bytes).ok()?;
    let v = m.get(AttrType(0xC001))?;
    Some(u32::from_be_bytes(v.try_into().ok()?))
}

/// Controlling agent on interfaces `a1` (preferred) and `a2`, controlled agent on `b`;
/// data flowing both ways once connected on the pair through `a1`.
fn connected_on_a1(
    seed: u64,
    link: LinkConfig,
    a1: SocketAddr,
    a2: SocketAddr,
    b: SocketAddr,
) -> Network<IceNode> {
    let mut net = Network::new(seed);
    let c = IceNode::new(Config::new(Role::Controlling, [1; 32]), &[a1, a2]);
    let d = IceNode::new(Config::new(Role::Controlled, [2; 32]), &[b]);
    net.add(c, a1, link.clone());
    net.add_address(0, a2, peerless_proptest::sim::Realm::PUBLIC);
    net.add(d, b, link);
    signal(&mut net, 0, 1);
    signal(&mut net, 1, 0);
    let done = net.run_until(Duration::from_secs(5), |n| {
        connected(n.node(0).agent.state()) && connected(n.node(1).agent.state())
    });
    assert!(
        done,
        "{:?} {:?}",
        net.node(0).selected,
        net.node(1).selected
    );
    assert_eq!(net.node(0).pair(), Some((a1, b)));
    assert_eq!(net.node(1).pair(), Some((b, a1)));
    let now = net.now();
    for n in 0..2 {
        net.node_mut(n).next_data = Some(now);
        net.kick(n);
    }
    // A while on the first path: consent runs, data flows.
    net.run_for(Duration::from_secs(7));
    net
}

#[test]
fn the_controlled_agent_follows_a_renomination_when_an_interface_goes_down() {
    interface_down(
        7,
        LinkConfig::with_delay(Duration::from_millis(15)),
        "clean link",
    );
}

#[test]
fn renomination_survives_reordering_duplication_and_loss() {
    // Jitter of 40 ms against 20 ms of data spacing reorders datagrams; each one may also be
    // duplicated or lost: late copies of nominations and checks reach the controlled agent.
    let link = LinkConfig {
        loss: 0.03,
        duplicate: 0.1,
        delay: Duration::from_millis(15),
        jitter: Duration::from_millis(40),
        ..LinkConfig::default()
    };
    let seeds = std::env::var("PEERLESS_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3u64);
    for seed in 0..seeds {
        interface_down(
            100 + seed,
            link.clone(),
            &format!("jitter, dup, loss, seed {seed}"),
        );
    }
}

fn interface_down(seed: u64, link: LinkConfig, label: &str) {
    let (a1, a2, b) = (
        addr("10.0.0.1:1000"),
        addr("10.0.1.1:1000"),
        addr("10.0.0.2:2000"),
    );
    let lossy = link.loss > 0.0;
    let mut net = connected_on_a1(seed, link, a1, a2, b);
    let first_nomination = net.node(0).nominations_sent.first().cloned().unwrap();
    assert_eq!((first_nomination.0, first_nomination.1), (a1, b));
    assert_eq!(nomination_value(&first_nomination.2), Some(1));

    // The controlling side's first interface goes down (Wi-Fi lost; the host has Ethernet).
    let cut = net.now();
    net.set_address_up(0, a1, false);
    let done = net.run_until(Duration::from_secs(30), |n| {
        n.node(0).pair() == Some((a2, b)) && n.node(1).pair() == Some((b, a2))
    });
    assert!(
        done,
        "controlling {:?}, controlled {:?}",
        net.node(0).selected,
        net.node(1).selected
    );
    let switched = net.now() - cut;
    // The renomination went out on the second interface with the next NOMINATION value;
    // everything that nominated the first pair (the nomination, then its consent checks)
    // carried 1.
    let sent = &net.node(0).nominations_sent;
    let (_, dst, bytes) = sent.iter().rev().find(|n| n.0 == a2).unwrap();
    assert_eq!((*dst, nomination_value(bytes)), (b, Some(2)));
    assert!(
        sent.iter()
            .filter(|n| n.0 == a1)
            .all(|n| nomination_value(&n.2) == Some(1))
    );
    net.run_for(Duration::from_secs(2));
    let outage_c = longest_gap(&net, 0, cut);
    let outage_d = longest_gap(&net, 1, cut);
    println!(
        "{label}: interface down at {cut:?}: both ends on the second pair {switched:?} later; \
         longest gap in data (every {DATA_EVERY:?}): controlling {outage_c:?}, controlled {outage_d:?}"
    );
    // The silence that sends the controlling agent looking is `disconnected_after` (10 s)
    // from the last consent answer, which came at most one consent interval (6 s) before the
    // cut; the new pair then costs two round trips (check, nomination) plus a consent phase.
    // With loss, a lost consent answer can make the last one before the cut older.
    let slack = if lossy {
        Duration::from_secs(3)
    } else {
        Duration::from_millis(500)
    };
    assert!(switched <= Duration::from_secs(10) + slack, "{switched:?}");
    assert!(switched >= Duration::from_secs(4), "{switched:?}");
    for outage in [outage_c, outage_d] {
        assert!(
            outage <= switched + Duration::from_millis(300),
            "{outage:?}"
        );
    }
    // Data arrives on the new path, both ways.
    let after = net.now() - Duration::from_secs(1);
    assert!(
        net.node(1)
            .data
            .iter()
            .any(|&(t, to, from)| t >= after && to == b && from == a2)
    );
    assert!(
        net.node(0)
            .data
            .iter()
            .any(|&(t, to, from)| t >= after && to == a2 && from == b)
    );
    assert!(connected(net.node(0).agent.state()) && connected(net.node(1).agent.state()));
    // One change each: no flapping on the way.
    assert_eq!(net.node(1).selected.len(), 2, "{:?}", net.node(1).selected);
    assert_eq!(net.node(0).selected.len(), 2, "{:?}", net.node(0).selected);

    // A delayed copy of the first nomination (pair A, NOMINATION 1) reaches the controlled
    // agent after the renomination: stale, it changes nothing.
    let stale = net.node(1).agent.stats().stale_nominations;
    let now = net.now();
    net.node_mut(1)
        .agent
        .handle_packet(now, a1, b, &first_nomination.2);
    net.kick(1);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(1).pair(), Some((b, a2)));
    assert_eq!(net.node(1).agent.stats().stale_nominations, stale + 1);

    // The first interface comes back: nothing moves back to it.
    net.set_address_up(0, a1, true);
    net.run_for(Duration::from_secs(30));
    assert_eq!(net.node(0).pair(), Some((a2, b)));
    assert_eq!(net.node(1).pair(), Some((b, a2)));
    assert_eq!(net.node(1).selected.len(), 2, "{:?}", net.node(1).selected);
    if !lossy {
        assert!(longest_gap(&net, 1, now) <= DATA_EVERY * 2);
    }
    assert!(net.stats().iface_down > 0);
}

#[test]
fn the_controlled_agent_follows_when_its_own_interface_goes_down() {
    // The controlled side is the multi-homed one: its preferred address dies. The controlling
    // agent sees the silence, re-checks, and nominates the pair to the peer's other address.
    let (c, b1, b2) = (
        addr("10.0.0.1:1000"),
        addr("10.0.0.2:2000"),
        addr("10.0.1.2:2000"),
    );
    let mut net = Network::new(3);
    net.add(
        IceNode::new(Config::new(Role::Controlling, [3; 32]), &[c]),
        c,
        LinkConfig::default(),
    );
    net.add(
        IceNode::new(Config::new(Role::Controlled, [4; 32]), &[b1, b2]),
        b1,
        LinkConfig::default(),
    );
    net.add_address(1, b2, peerless_proptest::sim::Realm::PUBLIC);
    signal(&mut net, 0, 1);
    signal(&mut net, 1, 0);
    assert!(net.run_until(Duration::from_secs(5), |n| {
        n.node(0).pair() == Some((c, b1)) && n.node(1).pair() == Some((b1, c))
    }));
    for n in 0..2 {
        let now = net.now();
        net.node_mut(n).next_data = Some(now);
        net.kick(n);
    }
    net.run_for(Duration::from_secs(3));
    let cut = net.now();
    net.set_address_up(1, b1, false);
    let done = net.run_until(Duration::from_secs(30), |n| {
        n.node(0).pair() == Some((c, b2)) && n.node(1).pair() == Some((b2, c))
    });
    assert!(
        done,
        "controlling {:?}, controlled {:?}",
        net.node(0).selected,
        net.node(1).selected
    );
    net.run_for(Duration::from_secs(1));
    let gap = longest_gap(&net, 0, cut).max(longest_gap(&net, 1, cut));
    println!("controlled side's interface down: data back after {gap:?}");
    assert!(gap <= Duration::from_secs(11), "{gap:?}");
    assert_eq!(net.node(1).selected.len(), 2, "{:?}", net.node(1).selected);
}
