//! Deterministic simulations over `peerless_proptest::sim`: the handshake completes under 30%
//! loss with reordering and duplication, at MTU 200 (every flight fragmented), and when the
//! server's final flight is lost. `PEERLESS_SIM_SEEDS=N` runs N seeds instead of the default.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use core::net::SocketAddr;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Instant};
use peerless_dtls::wire::{ContentType, HandshakeFragment, Record};
use peerless_dtls::*;
use peerless_proptest::sim::{LinkConfig, Network, Node, Outgoing};

struct DtlsNode {
    ep: Endpoint,
    connected: Option<(CipherSuite, Option<SrtpProfile>, Vec<u8>)>,
    closed: Option<CloseReason>,
    received: Vec<Vec<u8>>,
    /// Drop the first datagram that starts with a ChangeCipherSpec (the server's flight 6).
    drop_first_ccs: bool,
    dropped_ccs: bool,
    sent: usize,
    largest: usize,
    /// Handshake fragments that are not a whole message.
    partial_fragments: usize,
}

impl DtlsNode {
    fn new(ep: Endpoint) -> Self {
        DtlsNode {
            ep,
            connected: None,
            closed: None,
            received: Vec::new(),
            drop_first_ccs: false,
            dropped_ccs: false,
            sent: 0,
            largest: 0,
            partial_fragments: 0,
        }
    }
}

impl Node for DtlsNode {
    fn handle_packet(
        &mut self,
        now: Instant,
        _from: SocketAddr,
        _to: SocketAddr,
        packet: &mut [u8],
    ) {
        self.ep.handle_packet(now, packet);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.ep.handle_timeout(now);
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        loop {
            let Some(t) = self.ep.poll_transmit(buf)? else {
                return Ok(None);
            };
            let len = t.len();
            if self.drop_first_ccs && !self.dropped_ccs && t.first() == Some(&20) {
                self.dropped_ccs = true;
                continue;
            }
            self.sent += 1;
            self.largest = self.largest.max(len);
            let mut rest = t;
            while let Ok(r) = Record::parse(rest) {
                if r.content_type() == ContentType::HANDSHAKE && r.epoch() == 0 {
                    let mut body = r.fragment();
                    while let Ok(f) = HandshakeFragment::parse(body) {
                        if f.body().len() as u32 != f.length() {
                            self.partial_fragments += 1;
                        }
                        body = &body[f.wire_len()..];
                    }
                }
                rest = &rest[r.len()..];
            }
            return Ok(Some(Outgoing::OnPath(&buf[..len])));
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.ep.poll_timeout()
    }
    fn drain_events(&mut self, _now: Instant) {
        while let Some(ev) = self.ep.poll_event() {
            match ev {
                Event::Connected {
                    cipher_suite,
                    srtp_profile,
                    keys,
                } => {
                    self.connected = Some((
                        cipher_suite,
                        srtp_profile,
                        keys.unwrap().as_bytes().to_vec(),
                    ));
                }
                Event::ApplicationData(d) => self.received.push(d.to_vec()),
                Event::Closed(r) => self.closed = Some(r),
                other => panic!("an event this harness does not know: {other:?}"),
            }
        }
    }
}

fn seeds() -> u64 {
    std::env::var("PEERLESS_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6)
}

/// Two endpoints on a simulated path; returns the network and the node ids.
fn network(seed: u64, mtu: usize, link: LinkConfig) -> (Network<DtlsNode>, usize, usize) {
    let s = seed as u8;
    let (cc, sc) = (
        common::cert(s.wrapping_mul(2)),
        common::cert(s.wrapping_mul(2) | 1),
    );
    let (cfp, sfp) = (
        cc.fingerprint(HashAlgorithm::Sha256),
        sc.fingerprint(HashAlgorithm::Sha256),
    );
    // Odd seeds also run the HelloVerifyRequest cookie exchange.
    let tweak = |c: Config| {
        c.with_mtu(mtu)
            .with_cookies(seed % 2 == 1)
            .with_retransmit(Duration::from_millis(200), Duration::from_secs(3))
            .with_handshake_timeout(Duration::from_secs(300))
    };
    let mut client = Endpoint::new(tweak(Config::new(Role::Client, cc, [s; 32])), Instant::ZERO);
    client.connect(Instant::ZERO);
    let mut server = Endpoint::new(
        tweak(Config::new(Role::Server, sc, [s ^ 0xaa; 32])),
        Instant::ZERO,
    );
    client.set_remote_fingerprint(sfp);
    server.set_remote_fingerprint(cfp);
    let (ca, sa): (SocketAddr, SocketAddr) = (
        "10.0.0.1:5000".parse().unwrap(),
        "10.0.0.2:5000".parse().unwrap(),
    );
    let mut net = Network::new(seed);
    let c = net.add(DtlsNode::new(client), ca, link.clone());
    let s = net.add(DtlsNode::new(server), sa, link);
    net.set_default_peer(c, sa);
    net.set_default_peer(s, ca);
    (net, c, s)
}

fn both_connected(net: &Network<DtlsNode>, c: usize, s: usize) -> bool {
    net.node(c).connected.is_some() && net.node(s).connected.is_some()
}

fn assert_same_keys(net: &Network<DtlsNode>, c: usize, s: usize) {
    let (a, b) = (
        net.node(c).connected.as_ref().unwrap(),
        net.node(s).connected.as_ref().unwrap(),
    );
    assert_eq!(a, b, "both sides agree on suite, profile and keys");
    assert!(net.node(c).closed.is_none() && net.node(s).closed.is_none());
}

#[test]
fn handshake_completes_under_loss_reordering_and_duplication() {
    let (mut lost, mut duplicated) = (0, 0);
    for seed in 0..seeds() {
        let mut link = LinkConfig::lossy(0.3, 0.1);
        link.jitter = Duration::from_millis(40);
        // MTU 300: flights span several datagrams, so reordering shuffles fragments too.
        let (mut net, c, s) = network(seed, 300, link);
        let done = net.run_until(Duration::from_secs(300), |n| both_connected(n, c, s));
        assert!(
            done,
            "seed {seed}: not connected; client {:?} server {:?}, net {:?}",
            net.node(c).ep.stats(),
            net.node(s).ep.stats(),
            net.stats()
        );
        assert_same_keys(&net, c, s);
        lost += net.stats().lost;
        duplicated += net.stats().duplicated;
        // Application data goes through the same lossy link: send until some arrives each way.
        for i in 0..20 {
            net.node_mut(c).ep.send(format!("c{i}").as_bytes()).unwrap();
            net.kick(c);
            net.node_mut(s).ep.send(format!("s{i}").as_bytes()).unwrap();
            net.kick(s);
        }
        net.run_for(Duration::from_secs(1));
        let (rc, rs) = (&net.node(c).received, &net.node(s).received);
        assert!(!rc.is_empty() && !rs.is_empty(), "seed {seed}");
        assert!(rs.iter().all(|d| d.starts_with(b"c")) && rc.iter().all(|d| d.starts_with(b"s")));
        // Duplicates are removed by the replay window: never more records than were sent.
        assert!(
            rc.len() <= 20 && rs.len() <= 20,
            "seed {seed}: {} {}",
            rc.len(),
            rs.len()
        );
    }
    assert!(
        lost > 0 && duplicated > 0,
        "the links lost and duplicated: {lost} {duplicated}"
    );
}

#[test]
fn mtu_200_fragments_every_flight() {
    for seed in 0..seeds().min(3) {
        let link = LinkConfig {
            mtu: 200,
            ..LinkConfig::default()
        };
        let (mut net, c, s) = network(seed, 200, link);
        assert!(
            net.run_until(Duration::from_secs(60), |n| both_connected(n, c, s)),
            "seed {seed}"
        );
        assert_same_keys(&net, c, s);
        assert_eq!(net.stats().too_big, 0);
        for id in [c, s] {
            let node = net.node(id);
            assert!(node.largest <= 200, "{}", node.largest);
            // Certificates (about 300 bytes) cannot fit: both flights 4 and 5 carry fragments.
            assert!(
                node.partial_fragments >= 2,
                "node {id}: {}",
                node.partial_fragments
            );
        }
        // Without losses no flight had to be sent twice.
        assert_eq!(net.node(c).ep.stats().retransmissions, 0);
    }
}

#[test]
fn lost_final_flight_is_recovered_by_the_clients_retransmission() {
    let (mut net, c, s) = network(7, 1200, LinkConfig::default());
    net.node_mut(s).drop_first_ccs = true;
    assert!(net.run_until(Duration::from_secs(30), |n| both_connected(n, c, s)));
    assert_same_keys(&net, c, s);
    assert!(net.node(s).dropped_ccs);
    // The client's timer sent flight 5 again; that made the server send flight 6 again.
    assert!(net.node(c).ep.stats().retransmissions >= 1);
    assert!(net.node(s).ep.stats().retransmissions >= 1);
}

#[test]
fn same_seed_same_trace() {
    let run = || {
        let (mut net, c, s) = network(3, 1200, LinkConfig::lossy(0.2, 0.1));
        net.run_until(Duration::from_secs(300), |n| both_connected(n, c, s));
        net.trace_hash()
    };
    assert_eq!(run(), run());
}
