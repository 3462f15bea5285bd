//! The Peer on the deterministic network simulator (`peerless_proptest::sim`): two Peers
//! connect and exchange messages under loss, duplication, reordering and NAT rebinding, in
//! virtual time, from one seed; the packet trace hash proves a seed replays exactly.
//!
//! `PEERLESS_SIM_SEEDS=N` runs N seeds per scenario instead of the CI default (soak mode), from
//! seed `PEERLESS_SIM_SEED_BASE` (default 0).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use common::{Ev, addr, areas, certs};
use peerless::{ChannelId, Config, ConnectionState, Event, MessageKind, Peer, SdpType};
use peerless_base::{BufferTooSmall, Instant};
use peerless_proptest::sim::{Burst, LinkConfig, Network, Node, Outgoing, seeded_rng};

/// A Peer as a simulator node: it records events, echoes (answerer) or sends a workload and
/// checks the echoes (offerer).
struct SimPeer {
    peer: Peer,
    events: Vec<Ev>,
    echo: bool,
    channel: Option<ChannelId>,
    to_send: VecDeque<(ChannelId, bool, Vec<u8>)>,
    expected: VecDeque<(bool, Vec<u8>)>,
    workload: VecDeque<(bool, Vec<u8>)>,
    echoed: usize,
    mismatched: usize,
    open_at: Option<Instant>,
}

impl SimPeer {
    fn new(peer: Peer, echo: bool) -> Self {
        SimPeer {
            peer,
            events: Vec::new(),
            echo,
            channel: None,
            to_send: VecDeque::new(),
            expected: VecDeque::new(),
            workload: VecDeque::new(),
            echoed: 0,
            mismatched: 0,
            open_at: None,
        }
    }

    fn has(&self, ev: &Ev) -> bool {
        self.events.contains(ev)
    }

    fn pump_sends(&mut self) {
        while let Some((ch, binary, data)) = self.to_send.pop_front() {
            let kind = if binary {
                MessageKind::Binary
            } else {
                MessageKind::Text
            };
            if self.peer.send(ch, kind, &data).is_err() {
                self.to_send.push_front((ch, binary, data));
                break;
            }
        }
    }
}

impl Node for SimPeer {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        self.peer.handle_packet(now, from, to, packet);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.peer.handle_timeout(now);
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        self.peer.poll_transmit(buf).map(|o| o.map(Into::into))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        self.peer.poll_timeout()
    }
    fn drain_events(&mut self, now: Instant) {
        let mut incoming = Vec::new();
        while let Some(ev) = self.peer.poll_event() {
            let owned = match ev {
                Event::ChannelOpen {
                    channel,
                    label,
                    remote,
                    ..
                } => {
                    if self.open_at.is_none() {
                        self.open_at = Some(now);
                    }
                    if Some(channel) == self.channel {
                        for (b, d) in self.workload.drain(..) {
                            self.expected.push_back((b, d.clone()));
                            self.to_send.push_back((channel, b, d));
                        }
                    }
                    Ev::Open {
                        channel: channel.0,
                        label: label.to_string(),
                        remote,
                    }
                }
                Event::Message {
                    channel,
                    kind,
                    data,
                } => {
                    incoming.push((channel, kind == MessageKind::Binary, data.to_vec()));
                    continue;
                }
                Event::ConnectionState(s) => Ev::Conn(s),
                Event::IceState(s) => Ev::Ice(s),
                Event::BufferedAmountLow(c) => Ev::Low(c.0),
                Event::ChannelClosed(c) => Ev::Closed(c.0),
                Event::SctpConnected => Ev::Sctp,
                Event::SctpClosed(_) => Ev::SctpClosed,
                _ => Ev::Other,
            };
            self.events.push(owned);
        }
        for (ch, binary, data) in incoming {
            if self.echo {
                self.to_send.push_back((ch, binary, data));
            } else if self
                .expected
                .front()
                .is_some_and(|(b, d)| *b == binary && *d == data)
            {
                self.expected.pop_front();
                self.echoed += 1;
            } else {
                self.mismatched += 1;
            }
        }
        self.pump_sends();
    }
}

const A_ADDR: &str = "10.0.0.1:5000";
const B_ADDR: &str = "10.0.0.2:6000";

fn seeds(default: u64) -> u64 {
    std::env::var("PEERLESS_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The first seed of each soak: `PEERLESS_SIM_SEED_BASE` (or its older name
/// `PEERLESS_SIM_FIRST`), so a manual soak can explore seeds CI never ran.
fn seed_base() -> u64 {
    ["PEERLESS_SIM_SEED_BASE", "PEERLESS_SIM_FIRST"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
        .unwrap_or(0)
}

/// The link of the random-link soak for `seed`: loss (random and bursty), duplication,
/// jitter (reordering), delay, and on some links a bottleneck with a tail-drop queue. Drawn
/// from all 64 bits of the seed, so seeds 256 apart are different links.
fn random_link(seed: u64) -> LinkConfig {
    let mut rng = seeded_rng(seed, b"link");
    let loss = rng.below(25) as f64 / 100.0;
    let burst = (rng.below(3) == 0).then_some(Burst {
        enter: 0.05,
        exit: 0.3,
        loss: 0.8,
    });
    let duplicate = rng.below(10) as f64 / 100.0;
    let delay = Duration::from_millis(1 + rng.below(150));
    let jitter = Duration::from_millis(rng.below(40));
    // Some links are slow (256 kbit/s to 8 Mbit/s): datagrams queue behind each other, and
    // most of those queues are short (4 to 64 kB, tail drop), as a home router's are.
    let bandwidth = (rng.below(3) == 0).then(|| 32_000 + rng.below(1_000_000));
    let queue_bytes =
        bandwidth.and_then(|_| (rng.below(4) != 0).then(|| 4_000 + rng.below(60_000) as usize));
    LinkConfig {
        loss,
        burst,
        duplicate,
        delay,
        jitter,
        mtu: 1500,
        bandwidth,
        queue_bytes,
    }
}

fn new_peer(cert: peerless_dtls::Certificate, seed: u64, tag: u8) -> Peer {
    let (s, r) = areas();
    let mut bytes = [tag; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    Peer::new(Config::new(cert, bytes), Instant::ZERO, s, r)
}

fn workload(n: usize, seed: u64) -> VecDeque<(bool, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let len = (i * 131 + seed as usize * 17) % 1800;
            if i % 3 == 0 {
                (
                    false,
                    format!("m{i}:{}", "x".repeat(len % 200)).into_bytes(),
                )
            } else {
                (true, (0..len).map(|x| (x ^ i) as u8).collect())
            }
        })
        .collect()
}

/// Offer from A to B over the network's signalling (out of band, instantly).
fn signal(net: &mut Network<SimPeer>, a: usize, b: usize) {
    let mut buf = vec![0u8; 4096];
    let pa = &mut net.node_mut(a).peer;
    pa.add_local_candidate(addr(A_ADDR)).unwrap();
    let offer = pa.create_offer(&mut buf).unwrap().to_string();
    pa.set_local_description(SdpType::Offer, &offer).unwrap();
    let pb = &mut net.node_mut(b).peer;
    pb.add_local_candidate(addr(B_ADDR)).unwrap();
    pb.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = pb.create_answer(&mut buf).unwrap().to_string();
    pb.set_local_description(SdpType::Answer, &answer).unwrap();
    net.node_mut(a)
        .peer
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    net.kick(a);
    net.kick(b);
}

/// A network with A (offerer, sends `messages`) and B (answerer, echoes) on `link`.
fn setup(seed: u64, link: LinkConfig, messages: usize) -> (Network<SimPeer>, usize, usize) {
    let (ca, cb) = certs();
    let mut a = SimPeer::new(new_peer(ca, seed, 1), false);
    a.channel = Some(
        a.peer
            .create_data_channel("chat", Default::default())
            .unwrap(),
    );
    a.workload = workload(messages, seed);
    let b = SimPeer::new(new_peer(cb, seed, 2), true);
    let mut net = Network::new(seed);
    let ia = net.add(a, addr(A_ADDR), link.clone());
    let ib = net.add(b, addr(B_ADDR), link);
    signal(&mut net, ia, ib);
    (net, ia, ib)
}

fn exchange(seed: u64, link: LinkConfig, messages: usize, limit: Duration) -> (u64, Duration) {
    let (mut net, a, b) = setup(seed, link.clone(), messages);
    let done = net.run_until(limit, |n| {
        let a = n.node(a);
        a.open_at.is_some()
            && a.workload.is_empty()
            && a.expected.is_empty()
            && a.to_send.is_empty()
    });
    let na = net.node(a);
    if !done {
        eprintln!(
            "A: {:#?}\nB: {:#?}",
            na.peer.stats(),
            net.node(b).peer.stats()
        );
    }
    assert!(
        done,
        "seed {seed} {link:?}: {} of {messages} echoed by {:?}, events {:?}",
        na.echoed,
        net.now(),
        na.events
    );
    assert_eq!(na.echoed, messages, "seed {seed}");
    assert_eq!(
        na.mismatched, 0,
        "seed {seed}: every echo is the message sent, in order"
    );
    assert!(net.node(b).has(&Ev::Conn(ConnectionState::Connected)));
    (net.trace_hash(), net.now().since_origin())
}

#[test]
fn thousand_messages_under_0_5_and_20_percent_loss() {
    let first = seed_base();
    for (loss, n) in [(0.0, seeds(4)), (0.05, seeds(4)), (0.20, seeds(3))] {
        for seed in first..first + n {
            let link = LinkConfig {
                loss,
                jitter: Duration::from_millis(5),
                ..LinkConfig::with_delay(Duration::from_millis(20))
            };
            let (_, took) = exchange(seed, link, 1000, Duration::from_secs(600));
            println!(
                "loss {:>4.0} % seed {seed}: 1000 messages echoed in {took:?} of virtual time",
                loss * 100.0
            );
        }
    }
}

/// A connect waits on no timer, only on the network: with signalling done at time zero and
/// 10 ms each way, the offerer's channel opens after exactly ten one-way trips. ICE: both
/// first checks go out at once (0), each side answers the other's (10), the offerer's check
/// succeeds and it nominates at once (20), the answerer selects the pair and sends its
/// ClientHello (30); DTLS: server flight (40), client flight (50), server Finished (60), the
/// client is connected and sends INIT (70); SCTP: INIT-ACK (80), COOKIE-ECHO (90),
/// COOKIE-ACK (100), and the offerer's channel is open. A triggered check or the nomination
/// held for the next Ta, a nomination delay, or a DTLS or SCTP timer would each add 40 ms
/// or more (triggered checks held by the pacer make it fail).
#[test]
fn a_connect_waits_on_no_timer_only_on_the_network() {
    let one_way = Duration::from_millis(10);
    for seed in 0..seeds(3) {
        let (mut net, a, b) = setup(seed, LinkConfig::with_delay(one_way), 0);
        assert!(
            net.run_until(Duration::from_secs(10), |n| n.node(a).open_at.is_some()
                && n.node(b).open_at.is_some())
        );
        let open = net.node(a).open_at.unwrap().since_origin();
        assert_eq!(
            open,
            one_way * 10,
            "seed {seed}: events {:?}",
            net.node(a).events
        );
    }
}

#[test]
fn connects_over_hundreds_of_random_links() {
    // Every seed runs even after one fails, so a soak names all its failing seeds at once
    // (each failure's own message is printed as it happens).
    let first = seed_base();
    let failed: Vec<u64> = (first..first + seeds(200))
        .filter(|&seed| {
            std::panic::catch_unwind(|| {
                exchange(seed, random_link(seed), 5, Duration::from_secs(300));
            })
            .is_err()
        })
        .collect();
    assert!(failed.is_empty(), "failing seeds: {failed:?}");
}

/// Links on which ICE used to spin: a check succeeded and armed the nomination timer, then the
/// pair failed, and `poll_timeout` kept returning that deadline in the past (the simulator
/// fails such a run). At this loss the connection may fail; it must never spin.
#[test]
fn no_link_makes_ice_ask_to_be_woken_in_the_past() {
    for seed in [7729, 9508, 11044] {
        let result = std::panic::catch_unwind(|| {
            exchange(seed, random_link(seed), 5, Duration::from_secs(300));
        });
        if let Err(panic) = result {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_default();
            assert!(!text.contains("spin"), "seed {seed}: {text}");
        }
    }
}

#[test]
fn random_links_use_the_whole_seed() {
    // The link used to come from the seed's low byte only: seeds 256 apart were one link.
    for s in [0, 1, 7, 255, 1000, u64::MAX - 300] {
        assert_ne!(random_link(s), random_link(s + 256), "seed {s}");
    }
    // And over 200 seeds, every kind of link occurs.
    let links: Vec<LinkConfig> = (0..200).map(random_link).collect();
    assert!(links.iter().any(|l| l.burst.is_some()));
    assert!(
        links
            .iter()
            .any(|l| l.bandwidth.is_some() && l.queue_bytes.is_some())
    );
    assert!(
        links
            .iter()
            .any(|l| l.bandwidth.is_some() && l.queue_bytes.is_none())
    );
    assert!(links.iter().any(|l| l.bandwidth.is_none()));
}

#[test]
fn a_transfer_through_a_narrow_link_with_a_short_queue_completes() {
    // 256 kbit/s each way behind an 8 kB FIFO: SCTP's window outgrows the queue, datagrams
    // are dropped at its tail, and congestion control must back off and recover (RFC 9260
    // section 7.2) until every message is echoed, in order.
    let link = LinkConfig::narrow(32_000, 8_000, Duration::from_millis(30));
    let (mut net, a, b) = setup(21, link.clone(), 300);
    let done = net.run_until(Duration::from_secs(600), |n| {
        let a = n.node(a);
        a.open_at.is_some()
            && a.workload.is_empty()
            && a.expected.is_empty()
            && a.to_send.is_empty()
    });
    let (la, lb) = (net.link_stats(a), net.link_stats(b));
    assert!(
        done,
        "{} of 300 echoed by {:?}; links {la:?} {lb:?}",
        net.node(a).echoed,
        net.now()
    );
    assert_eq!((net.node(a).echoed, net.node(a).mismatched), (300, 0));
    assert!(
        la.queue_dropped + lb.queue_dropped > 0,
        "the queue never overflowed: {la:?} {lb:?}"
    );
    assert_eq!(
        net.stats().queue_dropped,
        la.queue_dropped + lb.queue_dropped
    );
    println!(
        "300 messages over 256 kbit/s with an 8 kB queue: {:?} of virtual time, {} + {} tail drops",
        net.now().since_origin(),
        la.queue_dropped,
        lb.queue_dropped
    );
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let link = LinkConfig {
        loss: 0.1,
        duplicate: 0.05,
        jitter: Duration::from_millis(30),
        ..LinkConfig::with_delay(Duration::from_millis(25))
    };
    let (h1, t1) = exchange(7, link.clone(), 50, Duration::from_secs(120));
    let (h2, t2) = exchange(7, link.clone(), 50, Duration::from_secs(120));
    let (h3, _) = exchange(8, link, 50, Duration::from_secs(120));
    assert_eq!((h1, t1), (h2, t2), "same seed, same packets, same times");
    assert_ne!(h1, h3, "another seed is another run");
}

#[test]
fn ice_restart_keeps_the_session_and_moves_to_new_credentials() {
    let (mut net, a, b) = setup(3, LinkConfig::with_delay(Duration::from_millis(15)), 20);
    assert!(net.run_until(Duration::from_secs(30), |n| n.node(a).echoed == 20));
    let old = net.node(a).peer.stats().ice.checks_sent;
    // A restarts ICE: new offer, new answer.
    let mut buf = vec![0u8; 4096];
    let before = net
        .node_mut(a)
        .peer
        .create_offer(&mut buf)
        .unwrap()
        .to_string();
    net.node_mut(a).peer.restart_ice();
    let offer = net
        .node_mut(a)
        .peer
        .create_offer(&mut buf)
        .unwrap()
        .to_string();
    net.node_mut(a)
        .peer
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    net.node_mut(b)
        .peer
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = net
        .node_mut(b)
        .peer
        .create_answer(&mut buf)
        .unwrap()
        .to_string();
    net.node_mut(b)
        .peer
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    net.node_mut(a)
        .peer
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    let ufrag = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
            .unwrap()
            .to_string()
    };
    assert_ne!(
        ufrag(&offer),
        ufrag(&before),
        "the restart offer carries new credentials"
    );
    assert_ne!(ufrag(&answer), "", "the answer carries credentials");
    net.kick(a);
    net.kick(b);
    // More traffic after the restart.
    let ch = net.node(a).channel.unwrap();
    for (bin, d) in workload(20, 9) {
        net.node_mut(a).expected.push_back((bin, d.clone()));
        net.node_mut(a).to_send.push_back((ch, bin, d));
    }
    net.node_mut(a).pump_sends();
    net.kick(a);
    assert!(net.run_until(Duration::from_secs(30), |n| n.node(a).echoed == 40));
    assert!(
        net.node(a).peer.stats().ice.checks_sent > old,
        "new checks ran with the new credentials"
    );
    assert_eq!(net.node(a).mismatched, 0);
    assert!(!net.node(a).has(&Ev::Conn(ConnectionState::Failed)));
}

#[test]
fn nat_rebinding_mid_session_keeps_the_channel() {
    // A (controlling) sits behind a NAT whose mapping changes mid-session.
    let (mut net, a, _b) = setup(5, LinkConfig::with_delay(Duration::from_millis(10)), 10);
    assert!(net.run_until(Duration::from_secs(30), |n| n.node(a).echoed == 10));
    net.set_public_address(a, addr("10.0.0.1:7777"));
    let ch = net.node(a).channel.unwrap();
    for (bin, d) in workload(10, 11) {
        net.node_mut(a).expected.push_back((bin, d.clone()));
        net.node_mut(a).to_send.push_back((ch, bin, d));
    }
    net.node_mut(a).pump_sends();
    net.kick(a);
    let ok = net.run_until(Duration::from_secs(60), |n| n.node(a).echoed == 20);
    assert!(
        ok,
        "after rebinding: {} echoed, events {:?}",
        net.node(a).echoed,
        net.node(a).events
    );
    assert_eq!(net.node(a).mismatched, 0);
}

#[test]
fn the_remote_vanishing_is_disconnected_then_failed_within_consent_timeouts() {
    let (mut net, a, b) = setup(6, LinkConfig::with_delay(Duration::from_millis(10)), 5);
    assert!(net.run_until(Duration::from_secs(30), |n| n.node(a).echoed == 5));
    let t0 = net.now();
    net.set_link(
        b,
        LinkConfig {
            loss: 1.0,
            ..LinkConfig::default()
        },
    );
    assert!(net.run_until(Duration::from_secs(60), |n| {
        n.node(a).has(&Ev::Conn(ConnectionState::Disconnected))
    }));
    let disconnected = net.now() - t0;
    assert!(net.run_until(Duration::from_secs(60), |n| {
        n.node(a).has(&Ev::Conn(ConnectionState::Failed))
    }));
    let failed = net.now() - t0;
    // RFC 7675: consent expires 30 s after the last response; checks run every 4-6 s.
    assert!(
        disconnected >= Duration::from_secs(5) && disconnected <= Duration::from_secs(16),
        "{disconnected:?}"
    );
    assert!(
        failed >= Duration::from_secs(25) && failed <= Duration::from_secs(36),
        "{failed:?}"
    );
    assert!(net.node(a).has(&Ev::Ice(peerless::IceState::Failed)));
    // The channels close with the connection.
    net.run_for(Duration::from_millis(10));
    assert!(net.node(a).has(&Ev::SctpClosed) && net.node(a).has(&Ev::Closed(0)));
}

#[test]
fn a_browser_shaped_remote_sends_its_client_hello_before_our_answer_is_applied() {
    // B answers as the DTLS server but its host applies the answer 300 ms after sending it:
    // A's ClientHello (and retransmissions of nothing) arrive at B first.
    let (ca, cb) = certs();
    let mut a = SimPeer::new(new_peer(ca, 4, 1), false);
    a.channel = Some(
        a.peer
            .create_data_channel("chat", Default::default())
            .unwrap(),
    );
    a.workload = workload(10, 4);
    let (s, r) = areas();
    let pb = Peer::new(
        Config::new(cb, [2; 32]).with_answer_setup(peerless::sdp::attr::Setup::Passive),
        Instant::ZERO,
        s,
        r,
    );
    let b = SimPeer::new(pb, true);
    let mut net = Network::new(4);
    let ia = net.add(
        a,
        addr(A_ADDR),
        LinkConfig::with_delay(Duration::from_millis(20)),
    );
    let ib = net.add(
        b,
        addr(B_ADDR),
        LinkConfig::with_delay(Duration::from_millis(20)),
    );
    let mut buf = vec![0u8; 4096];
    net.node_mut(ia)
        .peer
        .add_local_candidate(addr(A_ADDR))
        .unwrap();
    net.node_mut(ib)
        .peer
        .add_local_candidate(addr(B_ADDR))
        .unwrap();
    let offer = net
        .node_mut(ia)
        .peer
        .create_offer(&mut buf)
        .unwrap()
        .to_string();
    net.node_mut(ia)
        .peer
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    net.node_mut(ib)
        .peer
        .set_remote_description(SdpType::Offer, &offer)
        .unwrap();
    let answer = net
        .node_mut(ib)
        .peer
        .create_answer(&mut buf)
        .unwrap()
        .to_string();
    net.node_mut(ia)
        .peer
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    net.kick(ia);
    net.kick(ib);
    assert!(net.run_until(
        Duration::from_millis(300),
        |n| n.node(ib).peer.stats().packets_received > 0
            && n.node(ia).peer.stats().dtls.datagrams_sent > 0
    ));
    net.run_for(Duration::from_millis(100));
    assert!(
        net.node(ib).peer.dtls_role().is_none(),
        "B has not applied its answer yet"
    );
    net.node_mut(ib)
        .peer
        .set_local_description(SdpType::Answer, &answer)
        .unwrap();
    net.kick(ib);
    let t0 = net.now();
    assert!(net.run_until(Duration::from_secs(10), |n| n.node(ia).echoed == 10));
    assert_eq!(net.node(ib).peer.stats().dropped_early_dtls, 0);
    // The stashed ClientHello was answered at once, not after A's 1 s retransmission.
    assert!(
        net.now() - t0 < Duration::from_millis(900),
        "{:?}",
        net.now() - t0
    );
}

#[test]
fn stats_report_the_pair_its_rtt_and_the_transport() {
    let (mut net, a, b) = setup(12, LinkConfig::with_delay(Duration::from_millis(20)), 10);
    assert!(net.run_until(Duration::from_secs(30), |n| n.node(a).echoed == 10));
    let s = net.node(a).peer.stats();
    assert_eq!(s.selected_pair, Some((addr(A_ADDR), addr(B_ADDR))));
    // 20 ms each way on the simulated link, answered at once.
    assert_eq!(s.stun_rtt, Some(Duration::from_millis(40)));
    assert_eq!(
        s.dtls_cipher,
        Some(peerless_dtls::CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256)
    );
    assert_eq!(s.srtp_profile, Some(peerless::srtp::Profile::AeadAes128Gcm));
    assert_eq!(s.messages_sent, 10);
    assert_eq!(s.messages_received, 10);
    assert!(s.packets_sent > 10 && s.bytes_sent > s.packets_sent * 50);
    assert!(
        s.sctp.cwnd >= 1200 && s.sctp.peer_rwnd > 0 && s.sctp.rto >= Duration::from_millis(200)
    );
    let sb = net.node(b).peer.stats();
    assert_eq!(sb.messages_received, 10);
    assert_eq!(
        sb.dropped_unknown_protocol + sb.dropped_dtls_unknown_source + sb.dropped_srtp,
        0
    );
}
