//! Server-reflexive gathering through the agent's verbs: an agent behind a NAT asks a STUN
//! server (a minimal RFC 8489 Binding server on the simulated network), reports the srflx
//! candidate, and the peer reaches it through that candidate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Instant, Transmit};
use peerless_ice::{Agent, Candidate, CandidateType, Config, Event, IceState, Role};
use peerless_proptest::sim::{LinkConfig, Network, Node, Outgoing};
use peerless_stun::{Class, Message, Method};

/// A STUN Binding server: answers every Binding request with the source address it saw.
struct StunServer {
    addr: SocketAddr,
    outbox: Vec<(SocketAddr, Vec<u8>)>,
    answered: u32,
}

#[allow(clippy::large_enum_variant)] // two nodes of each kind in a test
enum SimNode {
    Ice {
        agent: Agent,
        candidates: Vec<Candidate>,
        gathered: bool,
        states: Vec<IceState>,
    },
    Stun(StunServer),
}

impl Node for SimNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        match self {
            SimNode::Ice { agent, .. } => agent.handle_packet(now, from, to, packet),
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
                    .software("sim stun server")
                    .fingerprint()
                    .emit(&mut buf)
                    .unwrap();
                buf.truncate(n);
                s.outbox.push((from, buf));
                s.answered += 1;
            }
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        if let SimNode::Ice { agent, .. } = self {
            agent.handle_timeout(now);
        }
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        match self {
            SimNode::Ice { agent, .. } => agent.poll_transmit(buf).map(|o| o.map(Into::into)),
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
            SimNode::Ice { agent, .. } => agent.poll_timeout(),
            SimNode::Stun(_) => None,
        }
    }
    fn drain_events(&mut self, _now: Instant) {
        if let SimNode::Ice {
            agent,
            candidates,
            gathered,
            states,
        } = self
        {
            while let Some(e) = agent.poll_event() {
                match e {
                    Event::LocalCandidate(c) => candidates.push(c),
                    Event::GatheringComplete => *gathered = true,
                    Event::StateChanged(s) => states.push(s),
                    _ => {}
                }
            }
        }
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ice(net: &Network<SimNode>, id: usize) -> (&Agent, &Vec<Candidate>, bool) {
    match net.node(id) {
        SimNode::Ice {
            agent,
            candidates,
            gathered,
            ..
        } => (agent, candidates, *gathered),
        SimNode::Stun(_) => unreachable!(),
    }
}

fn ice_mut(net: &mut Network<SimNode>, id: usize) -> &mut Agent {
    match net.node_mut(id) {
        SimNode::Ice { agent, .. } => agent,
        SimNode::Stun(_) => unreachable!(),
    }
}

#[test]
fn an_agent_behind_a_nat_is_reached_through_its_server_reflexive_candidate() {
    let (a_local, a_public) = (addr("10.0.0.1:1000"), addr("203.0.113.1:40000"));
    let (b, server) = (addr("198.51.100.2:2000"), addr("198.51.100.1:3478"));
    let mut net = Network::new(11);
    let config = Config::new(Role::Controlling, [21; 32]).with_stun_server(server);
    let mut a: Agent = Agent::new(config, Instant::ZERO);
    a.add_local_candidate(a_local).unwrap();
    let mut bb: Agent = Agent::new(Config::new(Role::Controlled, [22; 32]), Instant::ZERO);
    bb.add_local_candidate(b).unwrap();
    let node = |agent| SimNode::Ice {
        agent,
        candidates: Vec::new(),
        gathered: false,
        states: Vec::new(),
    };
    net.add(node(a), a_local, LinkConfig::default());
    net.add(node(bb), b, LinkConfig::default());
    net.add(
        SimNode::Stun(StunServer {
            addr: server,
            outbox: Vec::new(),
            answered: 0,
        }),
        server,
        LinkConfig::default(),
    );
    net.set_public_address(0, a_public);

    // Gathering: host at once, srflx after one round trip to the server, then complete.
    assert!(net.run_until(Duration::from_secs(2), |n| ice(n, 0).2));
    let (_, cands, _) = ice(&net, 0);
    assert_eq!(cands.len(), 2, "{cands:?}");
    let srflx = cands
        .iter()
        .find(|c| c.kind == CandidateType::ServerReflexive)
        .expect("srflx");
    assert_eq!(srflx.address, a_public);
    assert_eq!(srflx.related, Some(a_local));
    assert!(srflx.priority < cands[0].priority);
    assert!(
        srflx
            .to_string()
            .contains(" typ srflx raddr 10.0.0.1 rport 1000")
    );

    // Signalling both ways (text, as a browser would trickle it).
    let lines: Vec<String> = cands.iter().map(|c| c.to_string()).collect();
    let creds = *ice(&net, 0).0.local_credentials();
    let peer = ice_mut(&mut net, 1);
    peer.set_remote_credentials(creds.ufrag.as_str(), creds.pwd.as_str())
        .unwrap();
    for l in &lines {
        peer.add_remote_candidate(l).unwrap();
    }
    peer.end_of_remote_candidates();
    net.kick(1);
    let creds = *ice(&net, 1).0.local_credentials();
    let line = ice(&net, 1).1[0].to_string();
    let me = ice_mut(&mut net, 0);
    me.set_remote_credentials(creds.ufrag.as_str(), creds.pwd.as_str())
        .unwrap();
    me.add_remote_candidate(&line).unwrap();
    me.end_of_remote_candidates();
    net.kick(0);

    let up = |s: IceState| matches!(s, IceState::Connected | IceState::Completed);
    assert!(
        net.run_until(Duration::from_secs(10), |n| up(ice(n, 0).0.state())
            && up(ice(n, 1).0.state()))
    );
    assert_eq!(ice(&net, 0).0.selected_pair(), Some((a_local, b)));
    assert_eq!(ice(&net, 1).0.selected_pair(), Some((b, a_public)));
    if let SimNode::Stun(s) = net.node(2) {
        assert!(s.answered >= 1);
    }
}
