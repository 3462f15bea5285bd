//! TURN relayed candidates (RFC 8656) through the agent's verbs on the simulator: two agents
//! behind symmetric NATs reach each other only through a TURN server (a fixture in
//! `turn_server/`); the allocation survives its lifetime by refreshing, data moves through
//! Send indications and then a channel, close releases the allocations; a relay-only agent
//! signals nothing but its relayed candidate; a server that never answers or refuses the
//! credentials gives `CandidateError` and gathering still completes.

#![cfg(feature = "turn")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod turn_server;

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Instant, Transmit};
use peerless_ice::{Agent, Candidate, CandidateType, Config, Event, IceState, Role};
use peerless_proptest::sim::{LinkConfig, NatConfig, Network, Node, Outgoing, Realm};
use peerless_stun::{RetransmitConfig, is_stun};
use turn_server::TurnServer;

struct Peer {
    agent: Agent,
    candidates: Vec<Candidate>,
    gathered: bool,
    errors: Vec<(u16, String, String)>,
    /// Application datagrams to send over the selected pair.
    outbox: Vec<Vec<u8>>,
    /// Application datagrams received, with the address they came from.
    received: Vec<(SocketAddr, Vec<u8>)>,
}

#[allow(clippy::large_enum_variant)]
enum SimNode {
    Ice(Peer),
    Turn(TurnServer),
}

impl Node for SimNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        match self {
            SimNode::Ice(p) => {
                // What a host does: unwrap relayed traffic, then STUN to the agent and the
                // rest to the application.
                let (from, to, range) = match p.agent.unwrap_relayed(from, to, packet) {
                    Some(x) => x,
                    None => (from, to, 0..packet.len()),
                };
                let inner = &packet[range];
                if is_stun(inner) {
                    p.agent.handle_packet(now, from, to, inner);
                } else if p.agent.knows_remote(from) {
                    p.received.push((from, inner.to_vec()));
                }
            }
            SimNode::Turn(t) => t.handle_packet(now, from, to, packet),
        }
    }
    fn handle_timeout(&mut self, now: Instant) {
        if let SimNode::Ice(p) = self {
            p.agent.handle_timeout(now);
        }
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        match self {
            SimNode::Ice(p) => {
                // The agent writes from buf[0]; only the addresses and length leave the borrow.
                let got = p
                    .agent
                    .poll_transmit(buf)?
                    .map(|t| (t.source, t.destination, t.payload.len()));
                if let Some((from, to, n)) = got {
                    return Ok(Some(Transmit::between(from, to, &buf[..n]).into()));
                }
                if let Some((local, remote)) = p.agent.selected_pair()
                    && !p.outbox.is_empty()
                {
                    let data = p.outbox.remove(0);
                    buf[..data.len()].copy_from_slice(&data);
                    let (from, to, range) =
                        p.agent.relay_transmit(local, remote, buf, 0..data.len())?;
                    return Ok(Some(Transmit::between(from, to, &buf[range]).into()));
                }
                Ok(None)
            }
            SimNode::Turn(t) => t.poll_transmit(buf).map(|o| o.map(Into::into)),
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            SimNode::Ice(p) => p.agent.poll_timeout(),
            SimNode::Turn(_) => None,
        }
    }
    fn drain_events(&mut self, _now: Instant) {
        if let SimNode::Ice(p) = self {
            while let Some(e) = p.agent.poll_event() {
                match e {
                    Event::LocalCandidate(c) => p.candidates.push(c),
                    Event::GatheringComplete => p.gathered = true,
                    Event::CandidateError {
                        code, text, url, ..
                    } => p
                        .errors
                        .push((code, text.as_str().into(), url.as_str().into())),
                    _ => {}
                }
            }
        }
    }
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn peer(net: &Network<SimNode>, id: usize) -> &Peer {
    match net.node(id) {
        SimNode::Ice(p) => p,
        SimNode::Turn(_) => unreachable!(),
    }
}

fn peer_mut(net: &mut Network<SimNode>, id: usize) -> &mut Peer {
    match net.node_mut(id) {
        SimNode::Ice(p) => p,
        SimNode::Turn(_) => unreachable!(),
    }
}

fn turn(net: &Network<SimNode>, id: usize) -> &TurnServer {
    match net.node(id) {
        SimNode::Turn(t) => t,
        SimNode::Ice(_) => unreachable!(),
    }
}

fn node(config: Config, local: SocketAddr) -> SimNode {
    let mut agent = Agent::new(config, Instant::ZERO);
    agent.add_local_candidate(local).unwrap();
    SimNode::Ice(Peer {
        agent,
        candidates: Vec::new(),
        gathered: false,
        errors: Vec::new(),
        outbox: Vec::new(),
        received: Vec::new(),
    })
}

const SERVER: &str = "198.51.100.1:3478";
const URL: &str = "turn:198.51.100.1:3478?transport=udp";

/// Signals one agent's credentials and candidates to the other.
fn signal(net: &mut Network<SimNode>, from: usize, to: usize) {
    let creds = *peer(net, from).agent.local_credentials();
    let lines: Vec<String> = peer(net, from)
        .candidates
        .iter()
        .map(|c| c.to_string())
        .collect();
    let p = peer_mut(net, to);
    p.agent
        .set_remote_credentials(creds.ufrag.as_str(), creds.pwd.as_str())
        .unwrap();
    for l in &lines {
        p.agent.add_remote_candidate(l).unwrap();
    }
    p.agent.end_of_remote_candidates();
    net.kick(to);
}

/// A network with a TURN server (node 0) and agents A (node 1) and B (node 2), each behind
/// its own symmetric NAT, configured by `config(role, seed)`.
fn behind_symmetric_nats(
    seed: u64,
    config: impl Fn(Role, u8) -> Config,
    server: impl FnOnce(&mut TurnServer),
) -> Network<SimNode> {
    let mut net = Network::new(seed);
    let relays = [addr("198.51.100.1:50000"), addr("198.51.100.1:50001")];
    let mut t = TurnServer::new(addr(SERVER), &relays, "alice", "secret");
    server(&mut t);
    let id = net.add(SimNode::Turn(t), addr(SERVER), LinkConfig::default());
    for r in relays {
        net.add_address(id, r, Realm::PUBLIC);
    }
    let nat_a = net.add_nat(NatConfig::symmetric(addr("203.0.113.1:0").ip()));
    let nat_b = net.add_nat(NatConfig::symmetric(addr("203.0.113.2:0").ip()));
    let link = LinkConfig::with_delay(Duration::from_millis(10));
    net.add_behind_nat(
        nat_a,
        node(config(Role::Controlling, 1), addr("10.0.0.1:1000")),
        addr("10.0.0.1:1000"),
        link.clone(),
    );
    net.add_behind_nat(
        nat_b,
        node(config(Role::Controlled, 2), addr("10.0.0.1:1000")),
        addr("10.0.0.1:1000"),
        link.clone(),
    );
    net
}

fn with_turn(role: Role, seed: u8) -> Config {
    Config::new(role, [seed; 32])
        .with_ice_server(URL, "alice", "secret")
        .unwrap()
}

#[test]
fn agents_behind_symmetric_nats_connect_only_through_the_turn_server() {
    let mut net = behind_symmetric_nats(5, with_turn, |t| {
        t.stale_once = true;
        t.lifetime = 300;
    });
    assert!(
        net.run_until(Duration::from_secs(5), |n| peer(n, 1).gathered
            && peer(n, 2).gathered)
    );
    for id in [1, 2] {
        let p = peer(&net, id);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let kinds: Vec<CandidateType> = p.candidates.iter().map(|c| c.kind).collect();
        // The Allocate response's XOR-MAPPED-ADDRESS gives the server-reflexive one too.
        assert_eq!(
            kinds,
            [
                CandidateType::Host,
                CandidateType::ServerReflexive,
                CandidateType::Relayed
            ]
        );
        let relay = p.candidates[2];
        assert_eq!(relay.address.ip(), addr(SERVER).ip());
        assert_eq!(relay.priority >> 24, 0, "type preference 0");
        assert_eq!(relay.related, Some(p.candidates[1].address));
        assert!(relay.to_string().contains(" typ relay raddr 203.0.113."));
    }
    // 401 for each first Allocate, 438 for the requests carrying the nonce the fixture
    // expired, then success.
    let c = turn(&net, 0).counters;
    assert_eq!((c.unauthenticated, c.allocations), (2, 2));
    assert!((1..=2).contains(&c.stale), "{c:?}");

    signal(&mut net, 1, 2);
    signal(&mut net, 2, 1);
    let up = |s: IceState| matches!(s, IceState::Connected | IceState::Completed);
    assert!(
        net.run_until(Duration::from_secs(30), |n| up(peer(n, 1).agent.state())
            && up(peer(n, 2).agent.state()))
    );
    // Host and server-reflexive paths cannot cross two symmetric NATs: the selected pair
    // runs through a relayed address (A's checks from its host socket through its NAT to
    // B's relayed address win on priority over relay-to-relay: the browsers' "relay, host").
    let relay_a = peer(&net, 1).candidates[2].address;
    let relay_b = peer(&net, 2).candidates[2].address;
    let (a_local, a_remote) = peer(&net, 1).agent.selected_pair().unwrap();
    let (b_local, b_remote) = peer(&net, 2).agent.selected_pair().unwrap();
    assert!(
        a_local == relay_a || a_remote == relay_b,
        "{a_local} {a_remote}"
    );
    assert!(
        b_local == relay_b || b_remote == relay_a,
        "{b_local} {b_remote}"
    );

    // Data both ways over the relay; the channel is bound once the pair is selected.
    net.run_for(Duration::from_secs(1));
    assert!(turn(&net, 0).counters.binds >= 1);
    peer_mut(&mut net, 1).outbox.push(b"hello from a".to_vec());
    peer_mut(&mut net, 2).outbox.push(b"hello from b".to_vec());
    net.kick(1);
    net.kick(2);
    net.run_for(Duration::from_secs(1));
    assert_eq!(
        peer(&net, 2).received,
        vec![(b_remote, b"hello from a".to_vec())]
    );
    assert_eq!(
        peer(&net, 1).received,
        vec![(a_remote, b"hello from b".to_vec())]
    );
    let c = turn(&net, 0).counters;
    assert!(
        c.sent_by_channel >= 1 && c.delivered_by_channel >= 1,
        "{c:?}"
    );
    assert!(c.permissions >= 2, "{c:?}");
    let relayed = |id| {
        let s = peer(&net, id).agent.stats();
        s.relayed_sent + s.relayed_received
    };
    assert!(relayed(1) + relayed(2) > 0);

    // Twelve minutes: the 300 s allocations live on by refreshing (every 240 s) and their
    // NAT mappings by keepalives (the NATs forget after 120 s), consent keeps flowing.
    net.run_for(Duration::from_secs(720));
    let c = turn(&net, 0).counters;
    assert_eq!(c.refreshes, 2 * 3, "{c:?}");
    assert!(peer(&net, 1).errors.is_empty() && peer(&net, 2).errors.is_empty());
    assert_eq!(turn(&net, 0).allocations().len(), 2);
    assert!(up(peer(&net, 1).agent.state()) && up(peer(&net, 2).agent.state()));
    assert_eq!(
        peer(&net, 1).agent.selected_pair(),
        Some((a_local, a_remote))
    );

    // Close releases both allocations (Refresh with lifetime 0).
    for id in [1, 2] {
        let now = net.now();
        peer_mut(&mut net, id).agent.close(now);
        net.kick(id);
    }
    net.run_for(Duration::from_secs(1));
    assert_eq!(turn(&net, 0).counters.released, 2);
    assert!(turn(&net, 0).allocations().is_empty());
}

#[test]
fn a_relay_only_agent_signals_and_uses_only_its_relayed_candidate() {
    let relay_only = |role, seed| with_turn(role, seed).with_relay_only();
    let mut net = behind_symmetric_nats(6, relay_only, |_| {});
    assert!(
        net.run_until(Duration::from_secs(5), |n| peer(n, 1).gathered
            && peer(n, 2).gathered)
    );
    for id in [1, 2] {
        let p = peer(&net, id);
        let kinds: Vec<CandidateType> = p.candidates.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [CandidateType::Relayed]);
        let listed: Vec<CandidateType> = p.agent.local_candidates().map(|c| c.kind).collect();
        assert_eq!(listed, [CandidateType::Relayed]);
    }
    signal(&mut net, 1, 2);
    signal(&mut net, 2, 1);
    let up = |s: IceState| matches!(s, IceState::Connected | IceState::Completed);
    assert!(
        net.run_until(Duration::from_secs(30), |n| up(peer(n, 1).agent.state())
            && up(peer(n, 2).agent.state()))
    );
    let relay_a = peer(&net, 1).candidates[0].address;
    let relay_b = peer(&net, 2).candidates[0].address;
    assert_eq!(
        peer(&net, 1).agent.selected_pair(),
        Some((relay_a, relay_b))
    );
}

#[test]
fn a_silent_turn_server_ends_in_a_candidate_error_and_gathering_completes() {
    let mut net = Network::new(7);
    // Nothing listens at the server's address; requests retransmit 3 times over 1.5 s.
    let mut config = with_turn(Role::Controlling, 3);
    config.retransmit = RetransmitConfig {
        rto: Duration::from_millis(250),
        max_sends: 3,
        last_wait: 2,
        max_rto: None,
    };
    net.add(
        node(config, addr("192.0.2.1:1000")),
        addr("192.0.2.1:1000"),
        LinkConfig::default(),
    );
    assert!(!net.run_until(Duration::from_secs(1), |n| peer(n, 0).gathered));
    assert!(net.run_until(Duration::from_secs(5), |n| peer(n, 0).gathered));
    let p = peer(&net, 0);
    assert_eq!(p.errors.len(), 1);
    assert_eq!(p.errors[0].0, peerless_ice::UNREACHABLE);
    assert_eq!(p.errors[0].2, URL);
    assert_eq!(p.candidates.len(), 1, "host only");
}

#[test]
fn wrong_credentials_end_in_a_401_candidate_error() {
    let wrong = |role, seed| {
        Config::new(role, [seed; 32])
            .with_ice_server(URL, "alice", "not the secret")
            .unwrap()
    };
    let mut net = behind_symmetric_nats(8, wrong, |_| {});
    assert!(net.run_until(Duration::from_secs(5), |n| peer(n, 1).gathered));
    let p = peer(&net, 1);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].0, 401);
    assert_eq!(p.errors[0].1, "Unauthorized");
    assert!(
        p.candidates
            .iter()
            .all(|c| c.kind != CandidateType::Relayed)
    );
    assert_eq!(turn(&net, 0).counters.allocations, 0);
}

/// One agent's allocation over a TCP stream (RFC 8656 §3.1), the bytes cut into 5-byte
/// segments both ways and reassembled with `stream_frame_len`; its peer is a plain agent on
/// UDP. The whole check/consent/data path then runs over the stream.
#[test]
fn a_relay_only_agent_runs_its_allocation_over_a_tcp_stream_the_host_provides() {
    use peerless_stun::stream_frame_len;
    let server = addr(SERVER);
    let relay = addr("198.51.100.1:50000");
    let (tcp_local, b_addr) = (addr("192.0.2.1:40000"), addr("198.51.100.9:7000"));
    let config = Config::new(Role::Controlling, [9; 32])
        .with_ice_server("turn:198.51.100.1:3478?transport=tcp", "alice", "secret")
        .unwrap()
        .with_relay_only();
    let mut a: Agent = Agent::new(config, Instant::ZERO);
    let mut b: Agent = Agent::new(Config::new(Role::Controlled, [10; 32]), Instant::ZERO);
    let mut t = TurnServer::new(server, &[relay], "alice", "secret");
    let mut now = Instant::ZERO;
    assert!(a.turn_stream_connected(now, server, tcp_local));
    assert!(!a.turn_stream_connected(now, addr("198.51.100.2:3478"), tcp_local));
    a.add_local_candidate(addr("192.0.2.1:1000")).unwrap();
    b.add_local_candidate(b_addr).unwrap();
    let (mut up, mut down): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    let (mut rx_up, mut rx_down): (Vec<u8>, Vec<u8>) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 2048];
    let (mut a_cands, mut b_cands) = (Vec::new(), Vec::new());
    let (mut signalled, mut a_got) = (false, Vec::new());
    let mut frames_up = 0;
    for step in 0..4000 {
        while let Some(tx) = a.poll_transmit(&mut buf).unwrap() {
            assert_eq!(
                (tx.source, tx.destination),
                (tcp_local, server),
                "all on the stream"
            );
            up.extend_from_slice(tx.payload);
        }
        while let Some(tx) = b.poll_transmit(&mut buf).unwrap() {
            let (from, to) = (tx.source, tx.destination);
            let data = tx.payload.to_vec();
            t.handle_packet(now, from, to, &data);
        }
        // 5-byte TCP segments up; the fixture sees whole messages.
        let seg: Vec<u8> = up.drain(..up.len().min(5)).collect();
        rx_up.extend(seg);
        while let Ok(Some(n)) = stream_frame_len(&rx_up) {
            if rx_up.len() < n {
                break;
            }
            let frame: Vec<u8> = rx_up.drain(..n).collect();
            assert_eq!(
                frame.len() % 4,
                0,
                "over a stream every message ends on four bytes"
            );
            frames_up += 1;
            t.handle_packet(now, tcp_local, server, &frame);
        }
        assert!(stream_frame_len(&rx_up).is_ok());
        while let Some(tx) = t.poll_transmit(&mut buf).unwrap() {
            if tx.destination == tcp_local {
                down.extend_from_slice(tx.payload);
            } else {
                assert_eq!(tx.destination, b_addr);
                let (from, payload) = (tx.source, tx.payload.to_vec());
                if is_stun(&payload) {
                    b.handle_packet(now, from, b_addr, &payload);
                }
            }
        }
        let seg: Vec<u8> = down.drain(..down.len().min(5)).collect();
        rx_down.extend(seg);
        while let Ok(Some(n)) = stream_frame_len(&rx_down) {
            if rx_down.len() < n {
                break;
            }
            let frame: Vec<u8> = rx_down.drain(..n).collect();
            match a.unwrap_relayed(server, tcp_local, &frame) {
                Some((from, to, range)) if is_stun(&frame[range.clone()]) => {
                    a.handle_packet(now, from, to, &frame[range]);
                }
                Some((from, _, range)) => a_got.push((from, frame[range].to_vec())),
                None => a.handle_packet(now, server, tcp_local, &frame),
            }
        }
        for (agent, cands) in [(&mut a, &mut a_cands), (&mut b, &mut b_cands)] {
            while let Some(e) = agent.poll_event() {
                if let Event::LocalCandidate(c) = e {
                    cands.push(c);
                }
            }
        }
        if !signalled && !a_cands.is_empty() {
            signalled = true;
            assert_eq!(a_cands.len(), 1);
            assert_eq!(a_cands[0].kind, CandidateType::Relayed);
            assert_eq!(a_cands[0].address, relay);
            let (ca, cb) = (*a.local_credentials(), *b.local_credentials());
            b.set_remote_credentials(ca.ufrag.as_str(), ca.pwd.as_str())
                .unwrap();
            b.add_remote(a_cands[0]).unwrap();
            a.set_remote_credentials(cb.ufrag.as_str(), cb.pwd.as_str())
                .unwrap();
            a.add_remote(b_cands[0]).unwrap();
        }
        if step == 3000 {
            // Data from B to A's relayed address arrives over the stream as ChannelData.
            let to = b.selected_pair().expect("B selected a pair").1;
            assert_eq!(to, relay);
            t.handle_packet(now, b_addr, relay, b"data over tcp!");
        }
        now += Duration::from_millis(5);
        a.handle_timeout(now);
        b.handle_timeout(now);
    }
    assert!(matches!(
        a.state(),
        IceState::Connected | IceState::Completed
    ));
    assert_eq!(a.selected_pair(), Some((relay, b_addr)));
    assert_eq!(a_got, vec![(b_addr, b"data over tcp!".to_vec())]);
    let c = t.counters;
    assert!(
        c.binds >= 1 && c.delivered_by_channel >= 1 && c.sent_by_channel >= 1,
        "{c:?}"
    );
    // No TURN request is retransmitted over the stream (checks through the relay are: the
    // leg beyond the server is UDP): one 401, one allocation, one permission, one binding.
    assert_eq!(
        (c.unauthenticated, c.allocations, c.permissions, c.binds),
        (1, 1, 1, 1)
    );
    assert!(frames_up > 10);
}

/// An agent with a live allocation (on the UDP fixture), driven by hand.
fn allocated_agent() -> (Agent, SocketAddr, SocketAddr) {
    let server = addr(SERVER);
    let base = addr("192.0.2.1:1000");
    let mut a: Agent = Agent::new(with_turn(Role::Controlling, 11), Instant::ZERO);
    let mut t = TurnServer::new(server, &[addr("198.51.100.1:50000")], "alice", "secret");
    a.add_local_candidate(base).unwrap();
    a.add_remote_candidate("candidate:1 1 udp 2130706431 198.51.100.9 7000 typ host")
        .unwrap();
    let mut buf = vec![0u8; 2048];
    // TURN requests keep to the Ta pacer: a few slots of 50 ms.
    let mut now = Instant::ZERO;
    for _ in 0..8 {
        a.handle_timeout(now);
        while let Some(tx) = a.poll_transmit(&mut buf).unwrap() {
            if tx.destination == server {
                let p = tx.payload.to_vec();
                t.handle_packet(now, base, server, &p);
            }
        }
        while let Some(tx) = t.poll_transmit(&mut buf).unwrap() {
            let p = tx.payload.to_vec();
            a.handle_packet(now, server, base, &p);
        }
        now += Duration::from_millis(50);
    }
    while a.poll_event().is_some() {}
    assert!(
        a.local_candidates()
            .any(|c| c.kind == CandidateType::Relayed)
    );
    (a, server, base)
}

/// The property tests' case count: `PROPTEST_CASES` when set (CI raises it), else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(cases(64)))]

    /// Whatever a TURN server (or someone spoofing it) sends: ChannelData-shaped, Data
    /// indication-shaped or noise, it is dropped or unwrapped within bounds, never a panic.
    #[test]
    fn arbitrary_bytes_from_the_turn_server_never_panic(
        packets in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200), 1..8)
    ) {
        let (mut a, server, base) = allocated_agent();
        let mut buf = vec![0u8; 2048];
        for (i, mut p) in packets.into_iter().enumerate() {
            match (i % 3, p.len()) {
                // ChannelData-shaped: a channel number and a length that may lie.
                (0, 4..) => p[0] = 0x40 | (p[0] & 0x0f),
                // A Data indication's header with random attributes.
                (1, 20..) => {
                    p[..8].copy_from_slice(&[0x00, 0x17, 0, 0, 0x21, 0x12, 0xa4, 0x42]);
                    let len = ((p.len() - 20) & !3) as u16;
                    p[2..4].copy_from_slice(&len.to_be_bytes());
                }
                _ => {}
            }
            if let Some((_, _, range)) = a.unwrap_relayed(server, base, &p) {
                proptest::prop_assert!(range.end <= p.len());
            }
            a.handle_packet(Instant::ZERO, server, base, &p);
            while a.poll_transmit(&mut buf).unwrap().is_some() {}
            while a.poll_event().is_some() {}
        }
    }
}

/// RFC 8445 §14.1: TURN transactions count against the same Ta as checks and gathering. Two
/// TURN servers, one host socket, one remote candidate, a server that answers at once: the
/// Allocates, their 401 retries and the CreatePermissions start one per Ta (50 ms), never two
/// in one slot.
#[test]
fn turn_requests_keep_to_the_ta_pacer() {
    use peerless_stun::Method;
    let (s1, s2) = (addr(SERVER), addr("198.51.100.2:3478"));
    let base = addr("192.0.2.1:1000");
    let config = with_turn(Role::Controlling, 12)
        .with_ice_server("turn:198.51.100.2:3478", "alice", "secret")
        .unwrap();
    let ta = config.ta;
    let mut a: Agent = Agent::new(config, Instant::ZERO);
    let mut servers = [
        TurnServer::new(s1, &[addr("198.51.100.1:50000")], "alice", "secret"),
        TurnServer::new(s2, &[addr("198.51.100.2:50000")], "alice", "secret"),
    ];
    a.add_local_candidate(base).unwrap();
    a.add_remote_candidate("candidate:1 1 udp 2130706431 198.51.100.9 7000 typ host")
        .unwrap();
    let started: Vec<(Instant, Method)> = drive(&mut a, &mut servers, base)
        .into_iter()
        .map(|(t, m, _)| (t, m))
        .collect();
    let methods: Vec<Method> = started.iter().map(|(_, m)| *m).collect();
    let count = |m| methods.iter().filter(|x| **x == m).count();
    // Per server: Allocate (401), Allocate with credentials, CreatePermission.
    assert_eq!(
        (count(Method::ALLOCATE), count(Method::CREATE_PERMISSION)),
        (4, 2),
        "{started:?}"
    );
    for w in started.windows(2) {
        assert!(w[1].0 - w[0].0 >= ta, "{started:?}");
    }
    assert!(
        started[0].0 == Instant::ZERO,
        "the first Allocate goes at once"
    );
    assert!(servers.iter().all(|t| t.counters.allocations == 1));
}

/// Runs one agent on `base` against TURN fixtures for two simulated seconds, answering at
/// once; returns the first send of every request: (when, method, to whom).
fn drive(
    a: &mut Agent,
    servers: &mut [TurnServer],
    base: SocketAddr,
) -> Vec<(Instant, peerless_stun::Method, SocketAddr)> {
    use peerless_stun::{Class, Message};
    let mut buf = vec![0u8; 2048];
    let mut seen = std::collections::HashSet::new();
    let mut started = Vec::new();
    let mut now = Instant::ZERO;
    while now < Instant::ZERO + Duration::from_secs(2) {
        if a.poll_timeout().is_some_and(|t| t <= now) {
            a.handle_timeout(now);
        }
        while let Some(tx) = a.poll_transmit(&mut buf).unwrap() {
            let p = tx.payload.to_vec();
            let dest = tx.destination;
            let msg = Message::parse(&p).unwrap();
            if msg.class() == Class::Request && seen.insert(msg.transaction_id()) {
                started.push((now, msg.method(), dest));
            }
            for t in servers.iter_mut().filter(|t| t.addr == dest) {
                t.handle_packet(now, base, dest, &p);
            }
        }
        for t in servers.iter_mut() {
            while let Some(tx) = t.poll_transmit(&mut buf).unwrap() {
                let (from, p) = (tx.source, tx.payload.to_vec());
                a.handle_packet(now, from, base, &p);
            }
        }
        now += Duration::from_millis(1);
    }
    started
}

/// 300 Try Alternate (RFC 8656 §7.2, RFC 8489 §10): the configured server redirects the
/// authenticated Allocate to another; the agent allocates there (its own 401 first), takes
/// the relayed address from it and keeps talking to it. A server redirecting to itself or in
/// a circle ends in a 300 candidate error after two redirections.
#[test]
fn a_300_try_alternate_moves_the_allocation_to_the_alternate_server() {
    use peerless_stun::Method;
    let (s1, s2) = (addr(SERVER), addr("198.51.100.2:3478"));
    let base = addr("192.0.2.1:1000");
    let mut a: Agent = Agent::new(with_turn(Role::Controlling, 13), Instant::ZERO);
    let mut servers = [
        TurnServer::new(s1, &[addr("198.51.100.1:50000")], "alice", "secret"),
        TurnServer::new(s2, &[addr("198.51.100.2:50000")], "alice", "secret"),
    ];
    servers[0].alternate = Some(s2);
    a.add_local_candidate(base).unwrap();
    a.add_remote_candidate("candidate:1 1 udp 2130706431 198.51.100.9 7000 typ host")
        .unwrap();
    let started = drive(&mut a, &mut servers, base);
    let mut events = Vec::new();
    while let Some(e) = a.poll_event() {
        events.push(format!("{e:?}"));
    }
    let relayed: Vec<Candidate> = a
        .local_candidates()
        .filter(|c| c.kind == CandidateType::Relayed)
        .copied()
        .collect();
    assert_eq!(relayed.len(), 1, "{events:?}");
    assert_eq!(relayed[0].address, addr("198.51.100.2:50000"));
    assert_eq!(servers[0].counters.redirected, 1);
    assert_eq!(servers[0].counters.allocations, 0);
    assert_eq!(servers[1].counters.allocations, 1);
    // 401 at the first, 300, then the alternate's own 401, then success there.
    assert_eq!(
        (
            servers[0].counters.unauthenticated,
            servers[1].counters.unauthenticated
        ),
        (1, 1)
    );
    // Everything after the redirection goes to the alternate, the permission included.
    let after: Vec<(Method, SocketAddr)> = started[2..].iter().map(|(_, m, d)| (*m, *d)).collect();
    assert_eq!(
        after,
        [
            (Method::ALLOCATE, s2),
            (Method::ALLOCATE, s2),
            (Method::CREATE_PERMISSION, s2)
        ]
    );
    assert!(
        !events.iter().any(|e| e.contains("CandidateError")),
        "{events:?}"
    );

    // A loop: each server sends the agent to the other.
    let mut a: Agent = Agent::new(with_turn(Role::Controlling, 14), Instant::ZERO);
    servers[1].alternate = Some(s1);
    a.add_local_candidate(base).unwrap();
    drive(&mut a, &mut servers, base);
    let mut errors = Vec::new();
    while let Some(e) = a.poll_event() {
        if let Event::CandidateError { code, .. } = e {
            errors.push(code);
        }
    }
    assert_eq!(errors, [300]);
    assert!(
        a.local_candidates()
            .all(|c| c.kind != CandidateType::Relayed)
    );
}

/// IPv6 relays (RFC 8656 §7.1, RFC 6156). A, on an IPv4-only host, asks its IPv4 server for a
/// dual allocation (ADDITIONAL-ADDRESS-FAMILY) and gets an IPv4 and an IPv6 relayed
/// candidate; C, on an IPv6-only host, asks an IPv6 server and gets an IPv6 relayed address
/// (REQUESTED-ADDRESS-FAMILY: that server has no IPv4 relay, and without the attribute it would
/// answer 440). B is a plain agent on an IPv6-only host: relay-only A and C both reach it
/// through their IPv6 relayed addresses, and data comes back the same way.
#[test]
fn ipv6_relayed_addresses_from_a_dual_allocation_and_from_an_ipv6_server() {
    let mut net = Network::new(21);
    let v4_server = addr(SERVER);
    let v6_server = addr("[2001:db8::1]:3478");
    let v4_relay = addr("198.51.100.1:50000");
    let v6_relay = addr("[2001:db8::1]:50000");
    let v6_only_relay = addr("[2001:db8::1]:50001");
    let link = LinkConfig::with_delay(Duration::from_millis(5));
    let t4 = net.add(
        SimNode::Turn(TurnServer::new(
            v4_server,
            &[v4_relay, v6_relay],
            "alice",
            "secret",
        )),
        v4_server,
        link.clone(),
    );
    for r in [v4_relay, v6_relay] {
        net.add_address(t4, r, Realm::PUBLIC);
    }
    let t6 = net.add(
        SimNode::Turn(TurnServer::new(
            v6_server,
            &[v6_only_relay],
            "alice",
            "secret",
        )),
        v6_server,
        link.clone(),
    );
    net.add_address(t6, v6_only_relay, Realm::PUBLIC);
    let (a_host, b_host, c_host) = (
        addr("192.0.2.1:1000"),
        addr("[2001:db8::2]:7000"),
        addr("[2001:db8::3]:1000"),
    );
    let a_config = with_turn(Role::Controlling, 22)
        .with_turn_dual_stack()
        .with_relay_only();
    let c_config = Config::new(Role::Controlling, [24; 32])
        .with_ice_server("turn:[2001:db8::1]:3478", "alice", "secret")
        .unwrap()
        .with_relay_only();
    let ia = net.add(node(a_config, a_host), a_host, link.clone());
    let ib = net.add(
        node(Config::new(Role::Controlled, [23; 32]), b_host),
        b_host,
        link.clone(),
    );
    let ic = net.add(node(c_config, c_host), c_host, link);
    assert!(net.run_until(Duration::from_secs(5), |n| {
        [ia, ib, ic].iter().all(|&i| peer(n, i).gathered)
    }));
    let relays = |id| -> Vec<SocketAddr> {
        peer(&net, id)
            .candidates
            .iter()
            .filter(|c| c.kind == CandidateType::Relayed)
            .map(|c| c.address)
            .collect()
    };
    assert_eq!(relays(ia), [v4_relay, v6_relay]);
    assert_eq!(relays(ic), [v6_only_relay]);
    let (c4, c6) = (turn(&net, t4).counters, turn(&net, t6).counters);
    assert_eq!((c4.dual, c4.requested_ipv6, c4.allocations), (1, 0, 1));
    assert_eq!((c6.dual, c6.requested_ipv6, c6.family_refused), (0, 1, 0));
    // Distinct priorities for the two families of one allocation.
    let a = &peer(&net, ia).candidates;
    assert_ne!(a[0].priority, a[1].priority);

    for (x, expect_relay) in [(ia, v6_relay), (ic, v6_only_relay)] {
        signal(&mut net, x, ib);
        signal(&mut net, ib, x);
        let up = |s: IceState| matches!(s, IceState::Connected | IceState::Completed);
        assert!(net.run_until(Duration::from_secs(10), |n| up(peer(n, x).agent.state())));
        assert_eq!(
            peer(&net, x).agent.selected_pair(),
            Some((expect_relay, b_host))
        );
        net.run_for(Duration::from_millis(500));
        peer_mut(&mut net, x).outbox.push(b"over ipv6".to_vec());
        net.kick(x);
        net.run_for(Duration::from_millis(200));
        assert!(
            peer(&net, ib)
                .received
                .contains(&(expect_relay, b"over ipv6".to_vec())),
            "{:?}",
            peer(&net, ib).received
        );
        // B has one peer at a time: reset it for the next.
        let fresh = node(Config::new(Role::Controlled, [25; 32]), b_host);
        *net.node_mut(ib) = fresh;
        net.kick(ib);
        net.run_until(Duration::from_secs(1), |n| peer(n, ib).gathered);
    }
}
