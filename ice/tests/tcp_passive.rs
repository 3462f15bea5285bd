//! ICE over TCP (RFC 6544), passive side: an agent whose only candidate is a passive TCP host
//! candidate is reached by a peer that connects to it. The connection is a byte stream in
//! both directions carrying RFC 4571 frames, cut into segments of 1 to 13 bytes, split again
//! by `FrameReader`. Peerless has no active TCP candidates, so the active side is a second
//! agent whose datagrams the test host carries on that connection, as a browser's active
//! candidate would (its checks come from the connection's ephemeral port, which the passive
//! agent learns as a peer-reflexive TCP candidate).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::Instant;
use peerless_ice::{
    Agent, CandidateType, Config, Event, FrameReader, IceState, Role, TcpType, Transport,
    frame_header,
};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn other(r: Role) -> Role {
    match r {
        Role::Controlling => Role::Controlled,
        Role::Controlled => Role::Controlling,
    }
}

/// The passive agent's listener and the active side's end of the connection.
const LISTEN: &str = "10.0.0.1:443";
const CONNECTED_FROM: &str = "10.0.0.2:50123";

/// One direction of a TCP connection: bytes in order, delivered in small segments.
#[derive(Default)]
struct Pipe {
    bytes: Vec<u8>,
    segment: usize,
}

impl Pipe {
    fn write_datagram(&mut self, d: &[u8]) {
        self.bytes
            .extend_from_slice(&frame_header(d.len()).unwrap());
        self.bytes.extend_from_slice(d);
    }

    /// Up to one segment of what was written (1..=13 bytes, varying).
    fn read_segment(&mut self) -> Vec<u8> {
        self.segment = self.segment % 13 + 1;
        let n = self.segment.min(self.bytes.len());
        self.bytes.drain(..n).collect()
    }
}

struct Host {
    agent: Agent,
    reader: FrameReader,
    /// Non-STUN datagrams received over the connection.
    data: Vec<Vec<u8>>,
    events: Vec<Event>,
}

impl Host {
    fn new(agent: Agent) -> Self {
        Host {
            agent,
            reader: FrameReader::new(),
            data: Vec::new(),
            events: Vec::new(),
        }
    }

    /// Feeds one segment of the stream; every whole datagram goes to the agent (STUN) or
    /// to `data`.
    fn feed(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, segment: &[u8]) {
        let mut input = segment;
        while let Some(d) = self.reader.next(&mut input) {
            let d = d.to_vec();
            if d.first().is_some_and(|b| *b < 4) {
                self.agent.handle_packet(now, from, to, &d);
            } else if self.agent.knows_remote(from) {
                self.data.push(d);
            }
        }
        assert!(input.is_empty());
    }

    fn drain(&mut self, out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>) {
        let mut buf = [0u8; 1500];
        while let Some(t) = self.agent.poll_transmit(&mut buf).unwrap() {
            out.push((t.source, t.destination, t.payload.to_vec()));
        }
        while let Some(e) = self.agent.poll_event() {
            self.events.push(e);
        }
    }
}

fn passive_agent(role: Role) -> Agent {
    let mut a: Agent = Agent::new(Config::new(role, [1; 32]), Instant::ZERO);
    a.add_local_candidate_tcp_passive(addr(LISTEN)).unwrap();
    a
}

/// Signals `from`'s credentials (and, when `candidates`, its candidates) to `to`.
fn signal_creds(from: &Agent, to: &mut Agent) {
    let c = *from.local_credentials();
    to.set_remote_credentials(c.ufrag.as_str(), c.pwd.as_str())
        .unwrap();
}

/// Runs the two hosts over one connection for `duration` in 1 ms steps.
fn run(passive: &mut Host, active: &mut Host, p2a: &mut Pipe, a2p: &mut Pipe, duration: Duration) {
    let (listen, from) = (addr(LISTEN), addr(CONNECTED_FROM));
    let mut now = Instant::ZERO;
    let end = now + duration;
    while now < end {
        now += Duration::from_millis(1);
        for h in [&mut *passive, &mut *active] {
            if h.agent.poll_timeout().is_some_and(|t| t <= now) {
                h.agent.handle_timeout(now);
            }
        }
        let mut out = Vec::new();
        passive.drain(&mut out);
        for (src, dst, d) in out.drain(..) {
            // Everything the passive agent sends is for the connection.
            assert_eq!((src, dst), (listen, from));
            assert!(passive.agent.is_tcp_source(src));
            p2a.write_datagram(&d);
        }
        active.drain(&mut out);
        for (src, dst, d) in out.drain(..) {
            assert_eq!((src, dst), (from, listen));
            a2p.write_datagram(&d);
        }
        let seg = a2p.read_segment();
        passive.feed(now, from, listen, &seg);
        let seg = p2a.read_segment();
        active.feed(now, listen, from, &seg);
    }
}

#[test]
fn a_passive_only_agent_is_reached_over_one_tcp_connection() {
    for passive_role in [Role::Controlled, Role::Controlling] {
        let mut passive = Host::new(passive_agent(passive_role));
        let cand = passive.agent.local_candidates().next().copied().unwrap();
        // RFC 6544 §4.2: type 126, local preference 2^13 * 4 (passive) + 8191 - 32 (IPv4).
        assert_eq!(
            cand.priority,
            (126 << 24) + (((4 << 13) + 8191 - 32) << 8) + 255
        );
        let line = cand.to_string();
        assert!(
            line.ends_with(" 1 tcp 2124406783 10.0.0.1 443 typ host tcptype passive"),
            "{line}"
        );

        let mut active: Agent =
            Agent::new(Config::new(other(passive_role), [2; 32]), Instant::ZERO);
        active.add_local_candidate(addr(CONNECTED_FROM)).unwrap();
        // The active side checks toward the listener (the host carries it on the connection).
        active
            .add_remote_candidate(
                &line
                    .replace(" tcp ", " udp ")
                    .replace(" tcptype passive", ""),
            )
            .unwrap();
        signal_creds(&passive.agent, &mut active);
        signal_creds(&active, &mut passive.agent);
        // What a browser signals for its active candidate: port 9, nothing to check.
        let active_line = "candidate:2 1 tcp 1518280447 10.0.0.2 9 typ host tcptype active";
        assert!(passive.agent.add_remote_candidate(active_line).is_err());
        // Its UDP candidate may sit at the very address its connection comes from: another
        // candidate, which the TCP checks must not be taken for.
        passive
            .agent
            .add_remote_candidate("candidate:3 1 udp 2122260223 10.0.0.2 50123 typ host")
            .unwrap();
        passive.agent.end_of_remote_candidates();
        active.end_of_remote_candidates();
        let mut active = Host::new(active);

        // Before any connection the passive agent sends nothing: it never initiates TCP.
        passive
            .agent
            .handle_timeout(Instant::ZERO + Duration::from_secs(1));
        let mut out = Vec::new();
        passive.drain(&mut out);
        assert!(out.is_empty(), "{out:?}");

        let (mut p2a, mut a2p) = (Pipe::default(), Pipe::default());
        run(
            &mut passive,
            &mut active,
            &mut p2a,
            &mut a2p,
            Duration::from_secs(3),
        );

        for h in [&passive, &active] {
            assert!(
                matches!(h.agent.state(), IceState::Connected | IceState::Completed),
                "{:?}",
                h.agent
            );
        }
        assert_eq!(
            passive.agent.selected_pair(),
            Some((addr(LISTEN), addr(CONNECTED_FROM)))
        );
        let Some(Event::SelectedPair { local, remote }) = passive
            .events
            .iter()
            .rev()
            .find(|e| matches!(e, Event::SelectedPair { .. }))
            .cloned()
        else {
            panic!("no selected pair on the passive side: {:?}", passive.events);
        };
        assert_eq!(
            (local.transport, local.tcp_type),
            (Transport::Tcp, Some(TcpType::Passive))
        );
        assert_eq!(
            (remote.transport, remote.tcp_type, remote.kind),
            (
                Transport::Tcp,
                Some(TcpType::Active),
                CandidateType::PeerReflexive
            )
        );
        assert_eq!(passive.reader.dropped_too_long(), 0);

        // Application data both ways on the selected pair, through the framing.
        let t = passive.agent.send_to_selected(b"\x17from passive").unwrap();
        assert!(passive.agent.is_tcp_source(t.source));
        p2a.write_datagram(t.payload);
        let t = active.agent.send_to_selected(b"\x17from active").unwrap();
        a2p.write_datagram(t.payload);
        run(
            &mut passive,
            &mut active,
            &mut p2a,
            &mut a2p,
            Duration::from_millis(50),
        );
        assert_eq!(passive.data, [b"\x17from active".to_vec()]);
        assert_eq!(active.data, [b"\x17from passive".to_vec()]);

        // The connection closes: the pair on it goes.
        passive.events.clear();
        passive
            .agent
            .tcp_connection_closed(addr(LISTEN), addr(CONNECTED_FROM));
        passive.drain(&mut Vec::new());
        assert_eq!(passive.agent.selected_pair(), None);
        assert!(
            passive.events.contains(&Event::SelectedPairCleared),
            "{:?}",
            passive.events
        );
        assert!(!passive.agent.can_send());
    }
}

#[test]
fn tcp_and_udp_candidates_pair_only_with_their_own_transport() {
    let mut a: Agent = Agent::new(Config::new(Role::Controlled, [3; 32]), Instant::ZERO);
    a.add_local_candidate_tcp_passive(addr(LISTEN)).unwrap();
    // One address is one transport: the host routes transmits by their source.
    assert!(a.add_local_candidate(addr(LISTEN)).is_err());
    a.add_local_candidate(addr("10.0.0.1:5000")).unwrap();
    assert!(
        a.add_local_candidate_tcp_passive(addr("10.0.0.1:5000"))
            .is_err()
    );
    assert!(a.is_tcp_source(addr(LISTEN)));
    assert!(!a.is_tcp_source(addr("10.0.0.1:5000")));
    a.set_remote_credentials("peer", "aPasswordOf22CharsXYZ0")
        .unwrap();
    a.add_remote_candidate("candidate:1 1 udp 2122260223 10.0.0.2 6000 typ host")
        .unwrap();
    let pairs: Vec<_> = a
        .pairs()
        .map(|p| (p.local.transport, p.remote.address))
        .collect();
    assert_eq!(pairs, [(Transport::Udp, addr("10.0.0.2:6000"))]);
    // Both candidates are signalled, the TCP one below the UDP one.
    let locals: Vec<_> = a.local_candidates().copied().collect();
    assert_eq!(locals.len(), 2);
    let (tcp, udp) = (locals[0], locals[1]);
    assert_eq!(tcp.transport, Transport::Tcp);
    assert!(tcp.priority < udp.priority);
    assert_ne!(tcp.foundation, udp.foundation);
}

#[test]
fn a_passive_agent_waits_for_the_connection_instead_of_failing() {
    // The peer's candidates are all UDP (or TCP active) and it said end-of-candidates: no
    // pair can form until it connects, which is no failure.
    let mut a = passive_agent(Role::Controlled);
    a.set_remote_credentials("peer", "aPasswordOf22CharsXYZ0")
        .unwrap();
    a.add_remote_candidate("candidate:1 1 udp 2122260223 10.0.0.2 6000 typ host")
        .unwrap();
    a.end_of_remote_candidates();
    a.handle_timeout(Instant::ZERO + Duration::from_secs(40));
    assert_eq!(a.state(), IceState::Checking);
}

#[test]
fn checks_over_tcp_are_not_retransmitted() {
    // RFC 8489 §6.2.2: on a reliable transport a request goes once. The peer's check arrives,
    // our answer and triggered check go out, and then nothing comes back for 20 s (on UDP the
    // triggered check would have been sent eight times by then).
    let mut active: Agent = Agent::new(Config::new(Role::Controlling, [2; 32]), Instant::ZERO);
    active.add_local_candidate(addr(CONNECTED_FROM)).unwrap();
    let mut passive = passive_agent(Role::Controlled);
    let line = passive.local_candidates().next().unwrap().to_string();
    active
        .add_remote_candidate(
            &line
                .replace(" tcp ", " udp ")
                .replace(" tcptype passive", ""),
        )
        .unwrap();
    signal_creds(&passive, &mut active);
    signal_creds(&active, &mut passive);
    active.handle_timeout(Instant::ZERO);
    let mut buf = [0u8; 1500];
    let check = active
        .poll_transmit(&mut buf)
        .unwrap()
        .unwrap()
        .payload
        .to_vec();
    passive.handle_packet(Instant::ZERO, addr(CONNECTED_FROM), addr(LISTEN), &check);
    let mut sent = 0;
    let mut now = Instant::ZERO;
    while now < Instant::ZERO + Duration::from_secs(20) {
        while passive.poll_transmit(&mut buf).unwrap().is_some() {
            sent += 1;
        }
        now = passive
            .poll_timeout()
            .unwrap()
            .max(now + Duration::from_millis(1));
        passive.handle_timeout(now);
    }
    assert_eq!(sent, 2, "one response, one triggered check");
    assert_eq!(passive.stats().retransmits, 0);
}
