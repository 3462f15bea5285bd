//! Two ICE agents on the deterministic network simulator: they select a pair (full/full,
//! full/lite), resolve a role conflict, survive 30 % loss, discover a NAT rebinding as a
//! peer-reflexive candidate, and fail in RFC 7675's time when consent stops.
//!
//! `PEERLESS_SIM_SEEDS=n` runs the seeded tests over `n` seeds (default 3).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Instant, Transmit};
use peerless_ice::{Agent, CandidateType, Config, Event, IceState, Role};
use peerless_proptest::sim::{LinkConfig, Network, Node, Outgoing};

struct IceNode {
    agent: Agent,
    states: Vec<(Instant, IceState)>,
    selected: Vec<(Instant, SocketAddr, SocketAddr)>,
    /// Application datagrams received on the selected pair (anything not STUN).
    data: Vec<Vec<u8>>,
    outbox: Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    /// The selected pair as the events told it.
    mirror: Option<(SocketAddr, SocketAddr)>,
}

impl IceNode {
    fn new(config: Config, local: SocketAddr) -> Self {
        let mut agent = Agent::new(config, Instant::ZERO);
        agent.add_local_candidate(local).unwrap();
        IceNode {
            agent,
            states: Vec::new(),
            selected: Vec::new(),
            data: Vec::new(),
            outbox: Vec::new(),
            mirror: None,
        }
    }

    fn state(&self) -> IceState {
        self.agent.state()
    }

    /// Sends application data on the selected pair, as the Peer does with DTLS.
    fn send(&mut self, payload: &[u8]) -> bool {
        match self.agent.send_to_selected(payload) {
            Some(t) => {
                self.outbox
                    .push((t.source, t.destination, payload.to_vec()));
                true
            }
            None => false,
        }
    }
}

impl Node for IceNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        // The host's RFC 7983 demultiplexing: the first byte 0..=3 is STUN.
        if packet.first().is_some_and(|b| *b < 4) {
            self.agent.handle_packet(now, from, to, packet);
        } else {
            self.data.push(packet.to_vec());
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.agent.handle_timeout(now);
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
        self.agent.poll_transmit(buf).map(|o| o.map(Into::into))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.agent.poll_timeout()
    }
    fn drain_events(&mut self, now: Instant) {
        while let Some(e) = self.agent.poll_event() {
            match e {
                Event::StateChanged(s) => self.states.push((now, s)),
                Event::SelectedPair { local, remote } => {
                    // The local candidate is the host candidate whose base we send from.
                    self.selected.push((now, local.address, remote.address));
                    self.mirror = Some((local.address, remote.address));
                }
                Event::SelectedPairCleared => self.mirror = None,
                _ => {}
            }
        }
        // The events alone tell a host the selected pair (the Peer relies on it).
        assert_eq!(self.mirror, self.agent.selected_pair());
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn seed(n: u8) -> [u8; 32] {
    [n; 32]
}

/// Signalling between the two nodes: credentials, every local candidate as text, and
/// end-of-candidates.
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

const A: &str = "10.0.0.1:1000";
const B: &str = "10.0.0.2:2000";

fn two(seed_n: u64, a: Config, b: Config, link: LinkConfig) -> Network<IceNode> {
    let mut net = Network::new(seed_n);
    net.add(IceNode::new(a, addr(A)), addr(A), link.clone());
    net.add(IceNode::new(b, addr(B)), addr(B), link);
    signal(&mut net, 0, 1);
    signal(&mut net, 1, 0);
    net
}

fn connected(s: IceState) -> bool {
    matches!(s, IceState::Connected | IceState::Completed)
}

fn assert_mirrored(net: &Network<IceNode>) {
    let a = net.node(0).agent.selected_pair().expect("A selected");
    let b = net.node(1).agent.selected_pair().expect("B selected");
    assert_eq!(a, (addr(A), addr(B)));
    assert_eq!(b, (addr(B), addr(A)));
}

fn exchange_data(net: &mut Network<IceNode>) {
    assert!(net.node_mut(0).send(b"\x17hello from A"));
    net.kick(0);
    assert!(net.node_mut(1).send(b"\x17hello from B"));
    net.kick(1);
    net.run_for(Duration::from_millis(200));
    assert!(net.node(1).data.iter().any(|d| d == b"\x17hello from A"));
    assert!(net.node(0).data.iter().any(|d| d == b"\x17hello from B"));
}

fn seeds() -> u64 {
    std::env::var("PEERLESS_SIM_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

#[test]
fn two_full_agents_select_a_pair_and_complete() {
    let mut net = two(
        1,
        Config::new(Role::Controlling, seed(1)),
        Config::new(Role::Controlled, seed(2)),
        LinkConfig::default(),
    );
    let done = net.run_until(Duration::from_secs(5), |n| {
        n.node(0).state() == IceState::Completed && n.node(1).state() == IceState::Completed
    });
    assert!(
        done,
        "A {:?} B {:?}",
        net.node(0).states,
        net.node(1).states
    );
    assert_mirrored(&net);
    // new -> checking -> connected -> completed, as a browser reports it.
    let a_states: Vec<_> = net.node(0).states.iter().map(|(_, s)| *s).collect();
    assert_eq!(
        a_states,
        [IceState::Checking, IceState::Connected, IceState::Completed]
    );
    assert_eq!(net.node(0).selected.len(), 1);
    assert!(net.now() < Instant::from_secs(2), "took {:?}", net.now());
    exchange_data(&mut net);
    // Consent keeps it up for a minute, with a check every 4-6 s.
    let before = net.node(0).agent.stats().consent_checks;
    net.run_for(Duration::from_secs(60));
    assert_eq!(net.node(0).state(), IceState::Completed);
    let consent = net.node(0).agent.stats().consent_checks - before;
    assert!(
        (10..=15).contains(&consent),
        "{consent} consent checks in 60 s"
    );
    assert_eq!(net.node(0).agent.stats().dropped_unauthenticated, 0);
}

#[test]
fn a_full_agent_connects_to_a_lite_one() {
    let mut net = two(
        2,
        Config::new(Role::Controlling, seed(3)),
        Config::new(Role::Controlled, seed(4)).with_lite(),
        LinkConfig::default(),
    );
    let done = net.run_until(Duration::from_secs(5), |n| {
        connected(n.node(0).state()) && connected(n.node(1).state())
    });
    assert!(
        done,
        "A {:?} B {:?}",
        net.node(0).states,
        net.node(1).states
    );
    assert_mirrored(&net);
    // The lite agent sent nothing but responses.
    assert_eq!(net.node(1).agent.stats().checks_sent, 0);
    exchange_data(&mut net);
}

#[test]
fn a_role_conflict_is_resolved_by_tie_breakers() {
    for both in [Role::Controlling, Role::Controlled] {
        let mut net = two(
            3,
            Config::new(both, seed(5)),
            Config::new(both, seed(6)),
            LinkConfig::default(),
        );
        let done = net.run_until(Duration::from_secs(10), |n| {
            connected(n.node(0).state()) && connected(n.node(1).state())
        });
        assert!(
            done,
            "{both:?}: A {:?} B {:?}",
            net.node(0).states,
            net.node(1).states
        );
        let (ra, rb) = (net.node(0).agent.role(), net.node(1).agent.role());
        assert_ne!(ra, rb, "exactly one controlling");
        // The higher tie-breaker controls (RFC 8445 §7.3.1.1).
        let (ta, tb) = (
            net.node(0).agent.tie_breaker(),
            net.node(1).agent.tie_breaker(),
        );
        assert_eq!(ra == Role::Controlling, ta > tb);
        assert!(
            net.node(0).agent.stats().role_conflicts + net.node(1).agent.stats().role_conflicts > 0
        );
        assert_mirrored(&net);
    }
}

#[test]
fn thirty_percent_loss_still_connects() {
    for s in 0..seeds() {
        let link = LinkConfig::lossy(0.3, 0.02);
        let mut net = two(
            100 + s,
            Config::new(Role::Controlling, seed(7)),
            Config::new(Role::Controlled, seed(8)),
            link,
        );
        let done = net.run_until(Duration::from_secs(30), |n| {
            connected(n.node(0).state()) && connected(n.node(1).state())
        });
        assert!(
            done,
            "seed {s}: A {:?} B {:?}",
            net.node(0).states,
            net.node(1).states
        );
        assert_mirrored(&net);
        // Consent survives the loss for two minutes: no spurious failure.
        net.run_for(Duration::from_secs(120));
        assert!(
            net.node(0).state() != IceState::Failed,
            "seed {s}: {:?}",
            net.node(0).states
        );
        assert!(net.stats().lost > 0);
    }
}

#[test]
fn nat_rebinding_is_discovered_as_peer_reflexive() {
    // B sits behind a NAT: A only knows B's private host candidate, which does not route.
    let mut net = Network::new(4);
    let b_public = addr("203.0.113.9:40000");
    net.add(
        IceNode::new(Config::new(Role::Controlling, seed(9)), addr(A)),
        addr(A),
        LinkConfig::default(),
    );
    net.add(
        IceNode::new(Config::new(Role::Controlled, seed(10)), addr(B)),
        addr(B),
        LinkConfig::default(),
    );
    net.set_public_address(1, b_public);
    signal(&mut net, 0, 1);
    signal(&mut net, 1, 0);
    let done = net.run_until(Duration::from_secs(10), |n| {
        connected(n.node(0).state()) && connected(n.node(1).state())
    });
    assert!(
        done,
        "A {:?} B {:?}",
        net.node(0).states,
        net.node(1).states
    );
    assert_eq!(net.node(0).agent.selected_pair(), Some((addr(A), b_public)));
    let prflx = |net: &Network<IceNode>, a: SocketAddr| {
        net.node(0)
            .agent
            .remote_candidates()
            .any(|c| c.address == a && c.kind == CandidateType::PeerReflexive)
    };
    assert!(prflx(&net, b_public));

    // The NAT rebinds B to a new public port mid-session.
    let rebound = addr("203.0.113.9:40001");
    net.set_public_address(1, rebound);
    let t0 = net.now();
    let done = net.run_until(Duration::from_secs(20), |n| {
        n.node(0).agent.selected_pair() == Some((addr(A), rebound))
    });
    assert!(
        done,
        "A {:?} selected {:?}",
        net.node(0).states,
        net.node(0).selected
    );
    assert!(prflx(&net, rebound));
    // Found through consent going quiet (10 s) and renomination, well before consent expires.
    assert!(
        net.now() - t0 < Duration::from_secs(15),
        "{:?}",
        net.now() - t0
    );
    net.run_for(Duration::from_secs(1));
    assert!(connected(net.node(0).state()) && connected(net.node(1).state()));
    // Data flows again, both ways, over the new binding.
    assert!(net.node_mut(0).send(b"\x17after rebinding"));
    net.kick(0);
    net.run_for(Duration::from_millis(100));
    assert!(net.node(1).data.iter().any(|d| d == b"\x17after rebinding"));
}

#[test]
fn consent_loss_fails_in_the_rfc_time() {
    let mut net = two(
        5,
        Config::new(Role::Controlling, seed(11)),
        Config::new(Role::Controlled, seed(12)),
        LinkConfig::default(),
    );
    assert!(net.run_until(Duration::from_secs(5), |n| n.node(0).state()
        == IceState::Completed));
    net.run_for(Duration::from_secs(7));
    // The path dies in both directions.
    let dead = LinkConfig {
        loss: 1.0,
        ..LinkConfig::default()
    };
    net.set_link(0, dead.clone());
    net.set_link(1, dead);
    let cut = net.now();
    assert!(net.run_until(Duration::from_secs(60), |n| n.node(0).state()
        == IceState::Failed));
    let states = &net.node(0).states;
    let at = |s: IceState| {
        states
            .iter()
            .rev()
            .find(|(_, x)| *x == s)
            .map(|(t, _)| *t - cut)
            .unwrap()
    };
    let disconnected = at(IceState::Disconnected);
    let failed = at(IceState::Failed);
    // The last consent response came at most one interval (<= 6 s) before the cut.
    assert!(
        disconnected <= Duration::from_secs(10) && disconnected >= Duration::from_secs(4),
        "{disconnected:?}"
    );
    assert!(
        failed <= Duration::from_secs(30) && failed >= Duration::from_secs(24),
        "{failed:?}"
    );
    // Sending stops (RFC 7675 §5.1).
    assert!(!net.node_mut(0).send(b"\x17x"));
}

#[test]
fn an_ice_restart_keeps_traffic_on_the_old_pair_until_a_new_one_is_selected() {
    let mut net = two(
        6,
        Config::new(Role::Controlling, seed(15)),
        Config::new(Role::Controlled, seed(16)),
        LinkConfig::default(),
    );
    assert!(net.run_until(Duration::from_secs(5), |n| n.node(0).state()
        == IceState::Completed
        && n.node(1).state() == IceState::Completed));
    let old_ufrag = net.node(0).agent.local_credentials().ufrag;
    let selections = (net.node(0).selected.len(), net.node(1).selected.len());
    let history = (net.node(0).states.len(), net.node(1).states.len());
    // Both restart (JSEP: the answer to a restarting offer has new credentials too) ...
    net.node_mut(0).agent.restart();
    net.node_mut(1).agent.restart();
    assert_ne!(net.node(0).agent.local_credentials().ufrag, old_ufrag);
    // ... and data keeps flowing on the old pair while the new description travels (1 s).
    for _ in 0..10 {
        assert!(net.node_mut(0).send(b"\x17during restart"));
        net.kick(0);
        net.run_for(Duration::from_millis(100));
    }
    assert_eq!(
        net.node(1)
            .data
            .iter()
            .filter(|d| d.as_slice() == b"\x17during restart")
            .count(),
        10
    );
    signal(&mut net, 0, 1);
    signal(&mut net, 1, 0);
    let done = net.run_until(Duration::from_secs(5), |n| {
        n.node(0).selected.len() > selections.0 && n.node(1).selected.len() > selections.1
    });
    assert!(
        done,
        "A {:?} B {:?}",
        net.node(0).states,
        net.node(1).states
    );
    net.run_for(Duration::from_secs(1));
    // The state never dropped below connected during the restart.
    for (node, seen) in [(0, history.0), (1, history.1)] {
        let after = &net.node(node).states[seen..];
        assert!(
            after.iter().all(|(_, s)| connected(*s)),
            "node {node}: {after:?}"
        );
        assert!(connected(net.node(node).state()));
    }
    assert_mirrored(&net);
    exchange_data(&mut net);
    // The old credentials are gone: a request under them is no longer accepted.
    let old_request = {
        let mut buf = [0u8; 128];
        let n = peerless_stun::Message::builder(
            peerless_stun::Class::Request,
            peerless_stun::Method::BINDING,
            peerless_stun::TransactionId([1; 12]),
        )
        .username(&format!("{}:x", old_ufrag))
        .emit(&mut buf)
        .unwrap();
        buf[..n].to_vec()
    };
    assert!(!net.node(0).agent.accepts(addr(B), &old_request));
    // Consent runs on the new pair for a minute without trouble.
    net.run_for(Duration::from_secs(60));
    assert!(connected(net.node(0).state()) && connected(net.node(1).state()));
}

#[test]
fn trickled_candidates_connect_and_unreachable_ones_fail_after_end_of_candidates() {
    // B learns A's candidate only after checks could have started (trickle).
    let mut net = Network::new(7);
    net.add(
        IceNode::new(Config::new(Role::Controlling, seed(17)), addr(A)),
        addr(A),
        LinkConfig::default(),
    );
    net.add(
        IceNode::new(Config::new(Role::Controlled, seed(18)), addr(B)),
        addr(B),
        LinkConfig::default(),
    );
    let creds = *net.node(0).agent.local_credentials();
    net.node_mut(1)
        .agent
        .set_remote_credentials(creds.ufrag.as_str(), creds.pwd.as_str())
        .unwrap();
    let creds = *net.node(1).agent.local_credentials();
    net.node_mut(0)
        .agent
        .set_remote_credentials(creds.ufrag.as_str(), creds.pwd.as_str())
        .unwrap();
    net.run_for(Duration::from_millis(500));
    assert_eq!(net.node(0).state(), IceState::New);
    // A trickles a dead candidate first, then B's real one arrives at A.
    net.node_mut(0)
        .agent
        .add_remote_candidate("candidate:9 1 udp 2130706431 10.9.9.9 9 typ host")
        .unwrap();
    net.kick(0);
    net.run_for(Duration::from_millis(300));
    assert_eq!(net.node(0).state(), IceState::Checking);
    let b_line = net
        .node(1)
        .agent
        .local_candidates()
        .next()
        .unwrap()
        .to_string();
    net.node_mut(0).agent.add_remote_candidate(&b_line).unwrap();
    net.kick(0);
    assert!(
        net.run_until(Duration::from_secs(5), |n| connected(n.node(0).state())
            && connected(n.node(1).state()))
    );
    assert_mirrored(&net);
    // Not completed until the peer says end-of-candidates.
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.node(0).state(), IceState::Connected);
    net.node_mut(0).agent.end_of_remote_candidates();
    net.kick(0);
    net.run_for(Duration::from_millis(10));
    assert_eq!(net.node(0).state(), IceState::Completed);

    // An agent whose every remote candidate is unreachable fails once end-of-candidates is
    // known and the checks have timed out (23.9 s with the default check schedule).
    let mut net = Network::new(8);
    net.add(
        IceNode::new(Config::new(Role::Controlling, seed(19)), addr(A)),
        addr(A),
        LinkConfig::default(),
    );
    let agent = &mut net.node_mut(0).agent;
    agent
        .set_remote_credentials("peer", "peerPassword0123456789x")
        .unwrap();
    agent
        .add_remote_candidate("candidate:1 1 udp 2130706431 10.9.9.9 9 typ host")
        .unwrap();
    agent.end_of_remote_candidates();
    assert!(net.run_until(Duration::from_secs(60), |n| n.node(0).state()
        == IceState::Failed));
    assert!(
        net.now() >= Instant::from_millis(23_900) && net.now() <= Instant::from_secs(25),
        "{:?}",
        net.now()
    );
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = |s| {
        let mut net = two(
            s,
            Config::new(Role::Controlling, seed(13)),
            Config::new(Role::Controlled, seed(14)),
            LinkConfig::lossy(0.2, 0.05),
        );
        net.run_for(Duration::from_secs(20));
        (net.trace_hash(), net.node(0).states.clone())
    };
    assert_eq!(run(9), run(9));
}

#[test]
fn lite_and_role_conflict_survive_loss_duplication_and_reordering() {
    for s in 0..seeds() {
        let link = LinkConfig::lossy(0.15, 0.05);
        let cases = [
            (
                Config::new(Role::Controlling, seed(30)),
                Config::new(Role::Controlled, seed(31)).with_lite(),
            ),
            // A full agent wrongly configured as controlled learns from the lite one's 487.
            // (The seeds give the lite agent the larger tie-breaker.)
            (
                Config::new(Role::Controlled, seed(37)),
                Config::new(Role::Controlled, seed(36)).with_lite(),
            ),
            (
                Config::new(Role::Controlling, seed(32)),
                Config::new(Role::Controlling, seed(33)),
            ),
            (
                Config::new(Role::Controlled, seed(34)),
                Config::new(Role::Controlled, seed(35)),
            ),
        ];
        for (i, (a, b)) in cases.into_iter().enumerate() {
            let mut net = two(200 + s, a, b, link.clone());
            let done = net.run_until(Duration::from_secs(30), |n| {
                connected(n.node(0).state()) && connected(n.node(1).state())
            });
            assert!(
                done,
                "seed {s} case {i}: A {:?} B {:?}",
                net.node(0).states,
                net.node(1).states
            );
            assert_mirrored(&net);
            assert_ne!(net.node(0).agent.role(), net.node(1).agent.role());
        }
    }
}

#[test]
fn dual_stack_agents_pair_within_a_family() {
    let (a4, a6) = (addr("10.0.0.1:1000"), addr("[2001:db8::1]:1000"));
    let (b4, b6) = (addr("10.0.0.2:2000"), addr("[2001:db8::2]:2000"));
    let mut net = Network::new(12);
    // Each agent has an IPv4 and an IPv6 host candidate; the simulated network routes only
    // the IPv6 addresses (a node has one address there).
    let mut a = IceNode::new(Config::new(Role::Controlling, seed(40)), a4);
    a.agent.add_local_candidate(a6).unwrap();
    let mut b = IceNode::new(Config::new(Role::Controlled, seed(41)), b4);
    b.agent.add_local_candidate(b6).unwrap();
    let v6_first = a
        .agent
        .local_candidates()
        .find(|c| c.address == a6)
        .unwrap()
        .priority
        > a.agent
            .local_candidates()
            .find(|c| c.address == a4)
            .unwrap()
            .priority;
    assert!(!v6_first, "the first socket added is preferred");
    assert_eq!(a.agent.local_candidates().count(), 2);
    net.add(a, a6, LinkConfig::default());
    net.add(b, b6, LinkConfig::default());
    signal(&mut net, 0, 1);
    signal(&mut net, 1, 0);
    let done = net.run_until(Duration::from_secs(10), |n| {
        connected(n.node(0).state()) && connected(n.node(1).state())
    });
    assert!(
        done,
        "A {:?} B {:?}",
        net.node(0).states,
        net.node(1).states
    );
    // Only the IPv6 addresses route in this network: the IPv4 pair fails, the IPv6 one wins.
    assert_eq!(net.node(0).agent.selected_pair(), Some((a6, b6)));
    assert_eq!(net.node(1).agent.selected_pair(), Some((b6, a6)));
    exchange_data_v6(&mut net);
}

fn exchange_data_v6(net: &mut Network<IceNode>) {
    assert!(net.node_mut(0).send(b"\x17over ipv6"));
    net.kick(0);
    net.run_for(Duration::from_millis(100));
    assert!(net.node(1).data.iter().any(|d| d == b"\x17over ipv6"));
}
