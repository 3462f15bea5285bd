//! Two associations on the deterministic simulator: loss, duplication, reordering, collisions,
//! channel close and a receiver that stops reading.
//!
//! Each loss rate runs the workload: 1000 messages of 1 B .. 256 KiB on four channels
//! (reliable ordered, reliable unordered, max-retransmits, max-lifetime) plus a reverse stream.
//! `SCTP_SIM_SEEDS=n` repeats every loss rate with `n` seeds (default 1).

// Test code: a failed expectation is the assertion.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;

use peerless_base::{BufferTooSmall, Drbg, Instant};
use peerless_proptest::sim::{LinkConfig, Network, Node, Outgoing};
use peerless_sctp::wire::{ChunkType, Data, Packet};
use peerless_sctp::{
    Association, ChannelOptions, CloseReason, Config, DtlsRole, Event, MessageKind, Reliability,
    SendError, StreamId,
};

const SEND_AREA: usize = 600 * 1024;
const RECV_AREA: usize = 320 * 1024;

fn area(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

/// Content of message `seq` of `len` bytes on `channel`: the sequence number in the first four
/// bytes (when there is room), then a pattern both sides can recompute.
fn content(channel: StreamId, seq: u32, len: usize) -> Vec<u8> {
    let mut v: Vec<u8> = (0..len)
        .map(|i| (seq as usize * 31 + i * 7 + channel.0 as usize) as u8)
        .collect();
    if len >= 4 {
        v[..4].copy_from_slice(&seq.to_be_bytes());
    }
    v
}

#[derive(Default)]
struct Wire {
    /// Per TSN: (stream, first transmission, transmissions, last transmission).
    tsns: HashMap<u32, (u16, Instant, u32, Instant)>,
}

struct Peer {
    assoc: Association,
    /// Messages still to hand to `send`, in order.
    outbox: Vec<(StreamId, MessageKind, Vec<u8>, Instant)>,
    next_out: usize,
    received: BTreeMap<StreamId, Vec<Vec<u8>>>,
    opened: Vec<(StreamId, String, String, ChannelOptions)>,
    closed_channels: Vec<StreamId>,
    connected: bool,
    closed: Option<CloseReason>,
    low_events: u32,
    wire: Wire,
    /// Send times of messages by (channel, seq) for lifetime checks.
    sent_at: HashMap<(StreamId, u32), Instant>,
    pause_until: Option<Instant>,
    min_peer_rwnd_seen: usize,
    /// The time of the last input: `poll_transmit` runs right after it, at the same time.
    last_now: Instant,
    send_error: Option<SendError>,
}

impl Peer {
    fn new(role: DtlsRole, seed: u8, now: Instant) -> Self {
        let mut config = Config::new(role, [seed; 32]);
        // At 30 % loss each way a retransmission round fails about half the time; eleven
        // failures in a row (RFC 9260's Association.Max.Retrans of 10) then happen in a long
        // run by chance alone. A real path that lossy is kept alive by ICE consent, not by
        // this counter, so the simulations allow more.
        config.max_retransmits = 100;
        let mut assoc = Association::new(config, now, area(SEND_AREA), area(RECV_AREA));
        assoc.set_remote_max_message_size(RECV_AREA);
        Peer {
            assoc,
            outbox: Vec::new(),
            next_out: 0,
            received: BTreeMap::new(),
            opened: Vec::new(),
            closed_channels: Vec::new(),
            connected: false,
            closed: None,
            low_events: 0,
            wire: Wire::default(),
            sent_at: HashMap::new(),
            pause_until: None,
            min_peer_rwnd_seen: usize::MAX,
            last_now: now,
            send_error: None,
        }
    }

    fn top_up(&mut self, now: Instant) {
        while let Some((ch, binary, data, _)) = self.outbox.get(self.next_out) {
            match self.assoc.send(*ch, *binary, data) {
                Ok(()) => {
                    if data.len() >= 4 {
                        let seq = u32::from_be_bytes([data[0], data[1], data[2], data[3]]);
                        self.sent_at.insert((*ch, seq), now);
                    }
                    self.outbox[self.next_out].3 = now;
                    self.next_out += 1;
                }
                Err(SendError::BufferFull) => break,
                Err(e) => {
                    // Reported by the test's assertions (the association closed).
                    self.send_error = Some(e);
                    break;
                }
            }
        }
    }

    fn drain(&mut self, now: Instant) {
        self.last_now = now;
        if let Some(until) = self.pause_until
            && now >= until
        {
            self.pause_until = None;
            self.assoc.pause_receiving(false);
        }
        while let Some(event) = self.assoc.poll_event() {
            match event {
                Event::Connected => self.connected = true,
                Event::ChannelOpen {
                    stream: id,
                    label,
                    protocol,
                    options,
                } => {
                    self.opened
                        .push((id, label.to_string(), protocol.to_string(), options));
                }
                Event::Message {
                    stream: channel,
                    data,
                    ..
                } => {
                    self.received
                        .entry(channel)
                        .or_default()
                        .push(data.to_vec());
                }
                Event::BufferedAmountLow(_) => self.low_events += 1,
                Event::ChannelClosed(ch) => self.closed_channels.push(ch),
                Event::Closed(reason) => self.closed = Some(reason),
                _ => {}
            }
        }
        self.min_peer_rwnd_seen = self.min_peer_rwnd_seen.min(self.assoc.stats().peer_rwnd);
        self.top_up(now);
    }
}

impl Node for Peer {
    fn handle_packet(
        &mut self,
        now: Instant,
        _from: SocketAddr,
        _to: SocketAddr,
        packet: &mut [u8],
    ) {
        self.last_now = now;
        self.assoc.handle_packet(now, packet);
        self.drain(now);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.last_now = now;
        self.assoc.handle_timeout(now);
        self.drain(now);
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        let t = self.assoc.poll_transmit(buf)?;
        if let Some(t) = &t {
            // Sniff our own DATA chunks to check the partial-reliability budgets.
            let packet = Packet::parse(t).expect("we emit well-formed packets");
            for chunk in packet.chunks().flatten() {
                if chunk.chunk_type == ChunkType::DATA {
                    let d = Data::parse(&chunk).expect("we emit valid DATA");
                    // DCEP messages are always reliable, whatever the channel's policy.
                    if d.ppid == peerless_sctp::wire::Ppid::DCEP {
                        continue;
                    }
                    let now = self.last_now;
                    let e = self
                        .wire
                        .tsns
                        .entry(d.tsn)
                        .or_insert((d.stream, now, 0, now));
                    e.2 += 1;
                    e.3 = now;
                }
            }
        }
        Ok(t.map(Outgoing::OnPath))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        let t = self.assoc.poll_timeout();
        match (t, self.pause_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    fn drain_events(&mut self, now: Instant) {
        self.drain(now);
    }
}

fn addrs() -> (SocketAddr, SocketAddr) {
    (
        "10.0.0.1:5000".parse().unwrap(),
        "10.0.0.2:5000".parse().unwrap(),
    )
}

fn pair(seed: u64, link: LinkConfig, both_connect: bool) -> (Network<Peer>, usize, usize) {
    let (a_addr, b_addr) = addrs();
    let mut net = Network::new(seed);
    let mut a = Peer::new(DtlsRole::Client, seed as u8 ^ 0x55, Instant::ZERO);
    let mut b = Peer::new(DtlsRole::Server, seed as u8 ^ 0xaa, Instant::ZERO);
    a.assoc.connect(Instant::ZERO);
    if both_connect {
        b.assoc.connect(Instant::ZERO);
    }
    let ia = net.add(a, a_addr, link.clone());
    let ib = net.add(b, b_addr, link);
    net.set_default_peer(ia, b_addr);
    net.set_default_peer(ib, a_addr);
    (net, ia, ib)
}

fn run(net: &mut Network<Peer>, limit: Duration, done: impl FnMut(&Network<Peer>) -> bool) -> bool {
    net.run_until(limit, done)
}

fn seeds() -> u64 {
    std::env::var("SCTP_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

/// Message sizes from 1 B to `max`: mostly small, some up to the maximum (log-uniform).
fn sizes(rng: &mut Drbg, count: usize, max: usize) -> Vec<usize> {
    (0..count)
        .map(|i| {
            if i % 97 == 5 {
                return max;
            }
            let bits = (max as f64).log2();
            let e = (rng.below(1_000_000) as f64 / 1_000_000.0) * bits;
            (2f64.powf(e) as usize).clamp(1, max)
        })
        .collect()
}

struct Workload {
    reliable_ordered: StreamId,
    reliable_unordered: StreamId,
    rexmit: StreamId,
    timed: StreamId,
    sent: BTreeMap<StreamId, Vec<Vec<u8>>>,
}

fn start_workload(
    net: &mut Network<Peer>,
    ia: usize,
    ib: usize,
    seed: u64,
    count: usize,
    max: usize,
) -> Workload {
    let mut rng = Drbg::from_seed(&[seed as u8; 32], b"workload");
    let a = net.node_mut(ia);
    let ro = a
        .assoc
        .open_channel("ordered", "p1", ChannelOptions::default())
        .unwrap();
    let ru = a
        .assoc
        .open_channel(
            "unordered",
            "",
            ChannelOptions {
                ordered: false,
                ..ChannelOptions::default()
            },
        )
        .unwrap();
    let rx = a
        .assoc
        .open_channel(
            "rexmit",
            "",
            ChannelOptions {
                reliability: Reliability::MaxRetransmits(2),
                ..ChannelOptions::default()
            },
        )
        .unwrap();
    let tm = a
        .assoc
        .open_channel(
            "timed",
            "",
            ChannelOptions {
                ordered: false,
                reliability: Reliability::MaxLifetime(800),
                ..ChannelOptions::default()
            },
        )
        .unwrap();
    let channels = [ro, ru, rx, tm];
    let mut sent: BTreeMap<StreamId, Vec<Vec<u8>>> = BTreeMap::new();
    let mut seqs = [0u32; 4];
    for (i, len) in sizes(&mut rng, count, max).into_iter().enumerate() {
        let which = (rng.below(4)) as usize;
        let ch = channels[which];
        // Unordered and partial channels carry a sequence number: at least 4 bytes.
        let len = if which == 0 { len } else { len.max(4) };
        // Keep partial-reliability messages modest so their loss does not dominate.
        let len = if which >= 2 { len.min(8 * 1024) } else { len };
        let data = content(ch, seqs[which], len);
        seqs[which] += 1;
        sent.entry(ch).or_default().push(data.clone());
        a.outbox.push((
            ch,
            if i % 2 == 0 {
                MessageKind::Binary
            } else {
                MessageKind::Text
            },
            data,
            Instant::ZERO,
        ));
    }
    a.top_up(Instant::ZERO);
    // The other direction: a stream of replies on B's own channel.
    let b = net.node_mut(ib);
    let back = b
        .assoc
        .open_channel("back", "", ChannelOptions::default())
        .unwrap();
    for seq in 0..(count as u32 / 4).max(4) {
        let data = content(back, seq, 1 + (seq as usize * 997) % 3000);
        sent.entry(back).or_default().push(data.clone());
        b.outbox
            .push((back, MessageKind::Binary, data, Instant::ZERO));
    }
    b.top_up(Instant::ZERO);
    Workload {
        reliable_ordered: ro,
        reliable_unordered: ru,
        rexmit: rx,
        timed: tm,
        sent,
    }
}

fn workload_done(net: &Network<Peer>, ia: usize, ib: usize, w: &Workload) -> bool {
    let a = net.node(ia);
    let b = net.node(ib);
    let reliable_done = |peer: &Peer, ch: StreamId| {
        peer.received.get(&ch).map_or(0, Vec::len) == w.sent.get(&ch).map_or(0, Vec::len)
    };
    let back = *w.sent.keys().find(|&&k| k.0 % 2 == 1).unwrap();
    a.next_out == a.outbox.len()
        && reliable_done(b, w.reliable_ordered)
        && reliable_done(b, w.reliable_unordered)
        && reliable_done(a, back)
        && a.assoc.stats().flight_size == 0
        && a.assoc.buffered_amount(w.rexmit) == 0
        && a.assoc.buffered_amount(w.timed) == 0
        && a.assoc.is_established()
        && a.assoc
            .poll_timeout()
            .is_none_or(|_| a.assoc.stats().flight_size == 0)
}

fn check_workload(net: &Network<Peer>, ia: usize, ib: usize, w: &Workload, loss: f64, seed: u64) {
    let a = net.node(ia);
    let b = net.node(ib);
    assert!(
        a.closed.is_none() && b.closed.is_none(),
        "{:?} {:?}",
        a.closed,
        b.closed
    );
    // Reliable ordered: everything, exactly once, in order.
    assert!(
        b.received.get(&w.reliable_ordered) == w.sent.get(&w.reliable_ordered),
        "ordered channel differs at loss {loss}"
    );
    let back = *w.sent.keys().find(|&&k| k.0 % 2 == 1).unwrap();
    assert!(
        a.received.get(&back) == w.sent.get(&back),
        "reverse channel differs"
    );
    // Reliable unordered: everything exactly once.
    let mut got = b
        .received
        .get(&w.reliable_unordered)
        .cloned()
        .unwrap_or_default();
    let mut want = w
        .sent
        .get(&w.reliable_unordered)
        .cloned()
        .unwrap_or_default();
    got.sort();
    want.sort();
    assert!(got == want, "unordered channel differs at loss {loss}");
    // Partial reliability: what arrives is intact, never duplicated; the ordered one in order.
    for (ch, ordered) in [(w.rexmit, true), (w.timed, false)] {
        let sent = w.sent.get(&ch).cloned().unwrap_or_default();
        let got = b.received.get(&ch).cloned().unwrap_or_default();
        let mut last = None;
        let mut seen = std::collections::HashSet::new();
        for m in &got {
            let seq = u32::from_be_bytes([m[0], m[1], m[2], m[3]]);
            assert_eq!(m, &sent[seq as usize], "corrupt partial message");
            assert!(seen.insert(seq), "partial message {seq} delivered twice");
            if ordered {
                assert!(
                    last.is_none_or(|l| l < seq),
                    "out of order on partial ordered channel"
                );
            }
            last = Some(seq);
        }
        if loss == 0.0 {
            assert_eq!(
                got.len(),
                sent.len(),
                "nothing may be abandoned without loss"
            );
        }
    }
    // Budgets on the wire: a rexmit chunk is sent at most 1 + 2 times; a timed chunk is never
    // (re)sent after its message's lifetime.
    for (tsn, (stream, first, count, last)) in &a.wire.tsns {
        if *stream == w.rexmit.0 {
            assert!(
                *count <= 3,
                "TSN {tsn} sent {count} times on a MaxRetransmits(2) channel"
            );
        }
        if *stream == w.timed.0 && *count > 1 {
            // The lifetime runs from `send`, which is never after the first transmission.
            assert!(
                *last <= *first + Duration::from_millis(800),
                "TSN {tsn} retransmitted after its lifetime: first {first:?} last {last:?} count {count} (seed {seed})"
            );
        }
    }
    let opened: Vec<_> = b.opened.iter().map(|o| o.0).collect();
    for ch in [w.reliable_ordered, w.reliable_unordered, w.rexmit, w.timed] {
        assert!(
            opened.contains(&ch),
            "channel {ch} never opened at the peer"
        );
    }
}

fn lossy_runs(loss: f64, first_seed: u64) {
    for k in 0..seeds() {
        lossy_run(loss, first_seed + 10 * k);
    }
}

fn lossy_run(loss: f64, seed: u64) {
    let (count, max, limit) = (1000, 256 * 1024, 7200);
    let link = if loss == 0.0 {
        LinkConfig::default()
    } else {
        LinkConfig::lossy(loss, 0.02)
    };
    let (mut net, ia, ib) = pair(seed, link, true);
    let w = start_workload(&mut net, ia, ib, seed, count, max);
    let done = run(&mut net, Duration::from_secs(limit), |n| {
        workload_done(n, ia, ib, &w)
    });
    let a = net.node(ia);
    assert!(
        done,
        "loss {loss}: not done by {:?} (a closed {:?} {:?}, b closed {:?} {:?}); a {:?} sent {}/{} b got {:?}",
        net.now(),
        a.closed,
        a.send_error,
        net.node(ib).closed,
        net.node(ib).assoc.stats(),
        a.assoc.stats(),
        a.next_out,
        a.outbox.len(),
        net.node(ib)
            .received
            .iter()
            .map(|(k, v)| (*k, v.len()))
            .collect::<Vec<_>>()
    );
    check_workload(&net, ia, ib, &w, loss, seed);
    eprintln!(
        "loss {loss}: done at {:?}, net {:?}, a {:?}",
        net.now(),
        net.stats(),
        net.node(ia).assoc.stats()
    );
}

#[test]
fn clean_link_delivers_everything() {
    lossy_runs(0.0, 1);
}

#[test]
fn one_percent_loss() {
    lossy_runs(0.01, 2);
}

#[test]
fn ten_percent_loss() {
    lossy_runs(0.10, 3);
}

#[test]
fn thirty_percent_loss() {
    lossy_runs(0.30, 4);
}

#[test]
fn init_collision_and_passive_open_both_establish() {
    for both in [true, false] {
        let (mut net, ia, ib) = pair(11, LinkConfig::default(), both);
        let ok = run(&mut net, Duration::from_secs(5), |n| {
            n.node(ia).connected && n.node(ib).connected
        });
        assert!(ok, "collision={both}");
        // Exactly one Connected each, and data flows both ways afterwards.
        let ch = net
            .node_mut(ia)
            .assoc
            .open_channel("x", "", ChannelOptions::default())
            .unwrap();
        net.node_mut(ia)
            .assoc
            .send(ch, MessageKind::Text, b"ping")
            .unwrap();
        net.kick(ia);
        let ok = run(&mut net, Duration::from_secs(5), |n| {
            n.node(ib).received.contains_key(&ch)
        });
        assert!(ok);
        assert_eq!(net.node(ib).received[&ch], vec![b"ping".to_vec()]);
        assert_eq!(net.node(ib).opened[0].1, "x");
    }
}

#[test]
fn init_collision_under_loss_establishes() {
    for seed in 20..26 {
        let (mut net, ia, ib) = pair(seed, LinkConfig::lossy(0.3, 0.1), true);
        let ok = run(&mut net, Duration::from_secs(60), |n| {
            n.node(ia).connected && n.node(ib).connected
        });
        assert!(ok, "seed {seed}");
    }
}

#[test]
fn channel_close_by_stream_reset_both_ways() {
    let (mut net, ia, ib) = pair(5, LinkConfig::lossy(0.05, 0.0), true);
    let ch = net
        .node_mut(ia)
        .assoc
        .open_channel("c", "", ChannelOptions::default())
        .unwrap();
    let back = net
        .node_mut(ib)
        .assoc
        .open_channel("d", "", ChannelOptions::default())
        .unwrap();
    for i in 0..20u32 {
        net.node_mut(ia)
            .assoc
            .send(ch, MessageKind::Binary, &content(ch, i, 3000))
            .unwrap();
    }
    net.node_mut(ib)
        .assoc
        .send(back, MessageKind::Binary, b"x")
        .unwrap();
    net.kick(ia);
    net.kick(ib);
    let ok = run(&mut net, Duration::from_secs(30), |n| {
        n.node(ib).received.get(&ch).map_or(0, Vec::len) == 20
            && n.node(ia).received.contains_key(&back)
    });
    assert!(ok);
    // A closes its channel; B closes its own.
    net.node_mut(ia).assoc.close_channel(ch);
    net.node_mut(ib).assoc.close_channel(back);
    net.kick(ia);
    net.kick(ib);
    let ok = run(&mut net, Duration::from_secs(30), |n| {
        let (a, b) = (n.node(ia), n.node(ib));
        a.closed_channels.contains(&ch)
            && b.closed_channels.contains(&ch)
            && a.closed_channels.contains(&back)
            && b.closed_channels.contains(&back)
    });
    assert!(
        ok,
        "a {:?} b {:?}",
        net.node(ia).closed_channels,
        net.node(ib).closed_channels
    );
    assert_eq!(
        net.node_mut(ia)
            .assoc
            .send(ch, MessageKind::Binary, b"late"),
        Err(SendError::UnknownChannel)
    );
    // Every message sent before the close arrived, in order.
    let got = &net.node(ib).received[&ch];
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, m)| *m == content(ch, i as u32, 3000))
    );
    // The id is free again and a new channel on it works (SSNs restarted at 0).
    let again = net
        .node_mut(ia)
        .assoc
        .open_channel("again", "", ChannelOptions::default())
        .unwrap();
    assert_eq!(again, ch);
    net.node_mut(ia)
        .assoc
        .send(again, MessageKind::Text, b"fresh")
        .unwrap();
    net.kick(ia);
    let ok = run(&mut net, Duration::from_secs(30), |n| {
        n.node(ib)
            .received
            .get(&ch)
            .is_some_and(|v| v.last().is_some_and(|m| m == b"fresh"))
    });
    assert!(ok);
}

#[test]
fn a_receiver_that_stops_reading_closes_the_window_and_resumes() {
    let (mut net, ia, ib) = pair(7, LinkConfig::default(), true);
    let ch = net
        .node_mut(ia)
        .assoc
        .open_channel("bulk", "", ChannelOptions::default())
        .unwrap();
    let ok = run(&mut net, Duration::from_secs(5), |n| {
        n.node(ib).opened.len() == 1
    });
    assert!(ok);
    // B stops reading for 20 s while A has twice B's storage to send.
    net.node_mut(ib).assoc.pause_receiving(true);
    net.node_mut(ib).pause_until = Some(net.now() + Duration::from_secs(20));
    let total = 2 * RECV_AREA;
    let per = 16 * 1024;
    for i in 0..(total / per) as u32 {
        let data = content(ch, i, per);
        net.node_mut(ia)
            .outbox
            .push((ch, MessageKind::Binary, data, Instant::ZERO));
    }
    let now = net.now();
    net.node_mut(ia).top_up(now);
    net.kick(ia);
    run(&mut net, Duration::from_secs(10), |_| false);
    // The window closed: B holds at most its storage, A saw a zero window and keeps its data.
    let a = net.node(ia);
    assert_eq!(a.min_peer_rwnd_seen, 0);
    assert!(net.node(ib).received.get(&ch).is_none_or(Vec::is_empty));
    assert!(net.node(ib).assoc.stats().local_rwnd < 16 * 1024);
    assert!(a.closed.is_none());
    let ok = run(&mut net, Duration::from_secs(60), |n| {
        n.node(ib).received.get(&ch).map_or(0, Vec::len) == total / per
    });
    assert!(
        ok,
        "b got {:?}",
        net.node(ib).received.get(&ch).map(Vec::len)
    );
    let got = &net.node(ib).received[&ch];
    assert!(
        got.iter()
            .enumerate()
            .all(|(i, m)| *m == content(ch, i as u32, per))
    );
    assert!(net.node(ia).closed.is_none() && net.node(ib).closed.is_none());
}

#[test]
fn graceful_shutdown_and_abort() {
    let (mut net, ia, ib) = pair(9, LinkConfig::lossy(0.1, 0.0), true);
    let ch = net
        .node_mut(ia)
        .assoc
        .open_channel("s", "", ChannelOptions::default())
        .unwrap();
    for i in 0..10u32 {
        net.node_mut(ia)
            .assoc
            .send(ch, MessageKind::Binary, &content(ch, i, 5000))
            .unwrap();
    }
    net.kick(ia);
    assert!(run(&mut net, Duration::from_secs(10), |n| n
        .node(ia)
        .connected));
    let now = net.now();
    net.node_mut(ia).assoc.close(now);
    net.kick(ia);
    let ok = run(&mut net, Duration::from_secs(60), |n| {
        n.node(ia).closed.is_some() && n.node(ib).closed.is_some()
    });
    assert!(ok);
    assert_eq!(net.node(ia).closed, Some(CloseReason::Shutdown));
    assert_eq!(net.node(ib).closed, Some(CloseReason::Shutdown));
    // Everything queued before shutdown() was delivered first.
    assert_eq!(net.node(ib).received[&ch].len(), 10);

    let (mut net, ia, ib) = pair(10, LinkConfig::default(), true);
    assert!(run(&mut net, Duration::from_secs(5), |n| n
        .node(ia)
        .connected
        && n.node(ib).connected));
    let now = net.now();
    net.node_mut(ib).assoc.abort(now);
    net.kick(ib);
    assert!(run(&mut net, Duration::from_secs(5), |n| n
        .node(ia)
        .closed
        .is_some()));
    assert_eq!(net.node(ia).closed, Some(CloseReason::PeerAbort));
    assert_eq!(net.node(ib).closed, Some(CloseReason::LocalAbort));
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let once = || {
        let (mut net, ia, ib) = pair(3, LinkConfig::lossy(0.1, 0.05), true);
        let w = start_workload(&mut net, ia, ib, 3, 20, 8 * 1024);
        run(&mut net, Duration::from_secs(120), |n| {
            workload_done(n, ia, ib, &w)
        });
        net.trace_hash()
    };
    assert_eq!(once(), once());
}
