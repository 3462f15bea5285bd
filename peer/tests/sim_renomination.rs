//! Two Peers on the simulator, the offerer (ICE controlling) with two interfaces: the pair on
//! the first carries the data channels; that interface goes down; the offerer's agent checks
//! the other pairs again and renominates, the answerer's follows, and the channels carry on
//! over the second interface with the same DTLS and SCTP associations. An unreliable probe
//! channel (every 20 ms, echoed) measures the outage; a reliable message sent during it
//! arrives once SCTP retransmits over the new path.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{addr, areas, certs};
use peerless::{
    ChannelId, ChannelInit, ChannelOptions, Config, Event, IceState, MessageKind, Peer,
    Reliability, SdpType,
};
use peerless_base::Instant;
use peerless_proptest::sim::{LinkConfig, Network, Node, NodeId, Outgoing, Realm};

const PROBE_EVERY: Duration = Duration::from_millis(20);

struct PeerNode {
    peer: Peer,
    gathered: bool,
    /// Channels open, by label.
    probe: Option<ChannelId>,
    reliable: Option<ChannelId>,
    /// Probes sent every `PROBE_EVERY` while `Some` (the offerer).
    next_probe: Option<Instant>,
    seq: u32,
    /// Messages received: when, on which channel, what.
    received: Vec<(Instant, ChannelId, Vec<u8>)>,
    ice: Vec<IceState>,
    offerer: bool,
}

impl PeerNode {
    fn new(offerer: bool) -> Self {
        let (ca, cb) = certs();
        let (s, r) = areas();
        let config = Config::new(if offerer { ca } else { cb }, [u8::from(offerer) + 60; 32]);
        let mut peer = Peer::new(config, Instant::ZERO, s, r);
        if offerer {
            let probe = ChannelOptions {
                ordered: false,
                reliability: Reliability::MaxRetransmits(0),
                ..ChannelOptions::default()
            };
            peer.create_data_channel(
                "probe",
                ChannelInit {
                    options: probe,
                    protocol: "",
                },
            )
            .unwrap();
            peer.create_data_channel("reliable", ChannelInit::default())
                .unwrap();
        }
        PeerNode {
            peer,
            gathered: false,
            probe: None,
            reliable: None,
            next_probe: None,
            seq: 0,
            received: Vec::new(),
            ice: Vec::new(),
            offerer,
        }
    }

    /// Arrival times of probes (sent or echoed) from `since` on, with the one before it.
    fn longest_probe_gap(&self, since: Instant) -> Duration {
        let times: Vec<Instant> = self
            .received
            .iter()
            .filter(|m| Some(m.1) == self.probe)
            .map(|m| m.0)
            .collect();
        times
            .windows(2)
            .filter(|w| w[1] >= since)
            .map(|w| w[1] - w[0])
            .max()
            .unwrap_or(Duration::MAX)
    }
}

impl Node for PeerNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        self.peer.handle_packet(now, from, to, packet);
    }
    fn handle_timeout(&mut self, now: Instant) {
        self.peer.handle_timeout(now);
        if self.next_probe.is_some_and(|t| t <= now) {
            self.next_probe = Some(now + PROBE_EVERY);
            self.seq += 1;
            if let Some(ch) = self.probe {
                // A full buffer while the path is down is the caller's to see; the probe is
                // simply not sent.
                let _ = self
                    .peer
                    .send(ch, MessageKind::Binary, &self.seq.to_be_bytes());
            }
        }
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, peerless_base::BufferTooSmall> {
        self.peer.poll_transmit(buf).map(|o| o.map(Into::into))
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match (self.peer.poll_timeout(), self.next_probe) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
    fn drain_events(&mut self, now: Instant) {
        let mut echo = Vec::new();
        while let Some(e) = self.peer.poll_event() {
            match e {
                Event::GatheringComplete => self.gathered = true,
                Event::IceState(s) => self.ice.push(s),
                Event::ChannelOpen { channel, label, .. } => match label {
                    "probe" => self.probe = Some(channel),
                    "reliable" => self.reliable = Some(channel),
                    _ => {}
                },
                Event::Message { channel, data, .. } => {
                    self.received.push((now, channel, data.to_vec()));
                    if !self.offerer && Some(channel) == self.probe {
                        echo.push((channel, data.to_vec()));
                    }
                }
                _ => {}
            }
        }
        for (c, d) in echo {
            let _ = self.peer.send(c, MessageKind::Binary, &d);
        }
    }
}

fn negotiate(
    net: &mut Network<PeerNode>,
    (ia, a_local): (NodeId, &[SocketAddr]),
    (ib, b): (NodeId, SocketAddr),
) {
    for &l in a_local {
        net.node_mut(ia).peer.add_local_candidate(l).unwrap();
    }
    net.kick(ia);
    assert!(net.run_until(Duration::from_secs(10), |n| n.node(ia).gathered));
    let mut buf = vec![0u8; 4096];
    let pa = &mut net.node_mut(ia).peer;
    let offer = pa.create_offer(&mut buf).unwrap().to_string();
    pa.set_local_description(SdpType::Offer, &offer).unwrap();
    let pb = &mut net.node_mut(ib).peer;
    pb.set_remote_description(SdpType::Offer, &offer).unwrap();
    pb.add_local_candidate(b).unwrap();
    net.kick(ib);
    assert!(net.run_until(Duration::from_secs(10), |n| n.node(ib).gathered));
    let pb = &mut net.node_mut(ib).peer;
    let answer = pb.create_answer(&mut buf).unwrap().to_string();
    pb.set_local_description(SdpType::Answer, &answer).unwrap();
    net.node_mut(ia)
        .peer
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    net.kick(ia);
    net.kick(ib);
}

#[test]
fn the_channels_carry_on_when_the_offerers_interface_goes_down() {
    let (a1, a2, b) = (
        addr("198.51.100.10:5000"),
        addr("203.0.113.10:5000"),
        addr("198.51.100.20:6000"),
    );
    let mut net = Network::new(77);
    let link = LinkConfig::with_delay(Duration::from_millis(15));
    let ia = net.add(PeerNode::new(true), a1, link.clone());
    net.add_address(ia, a2, Realm::PUBLIC);
    let ib = net.add(PeerNode::new(false), b, link);
    // The first interface is announced first: its pair has the higher priority.
    negotiate(&mut net, (ia, &[a1, a2]), (ib, b));
    let both_open = |n: &Network<PeerNode>| {
        [ia, ib]
            .iter()
            .all(|&i| n.node(i).probe.is_some() && n.node(i).reliable.is_some())
    };
    assert!(net.run_until(Duration::from_secs(10), both_open));
    assert_eq!(net.node(ia).peer.selected_pair(), Some((a1, b)));
    assert_eq!(net.node(ib).peer.selected_pair(), Some((b, a1)));
    let now = net.now();
    net.node_mut(ia).next_probe = Some(now);
    net.kick(ia);
    net.run_for(Duration::from_secs(6));
    let before = net.node(ia).received.len();
    assert!(before > 250, "{before} echoes in 6 s");

    let cut = net.now();
    let states_before = [net.node(ia).ice.len(), net.node(ib).ice.len()];
    net.set_address_up(ia, a1, false);
    // A reliable message sent into the outage.
    let ch = net.node(ia).reliable.unwrap();
    net.node_mut(ia)
        .peer
        .send(ch, MessageKind::Binary, b"sent while the path was down")
        .unwrap();
    net.kick(ia);
    let done = net.run_until(Duration::from_secs(30), |n| {
        n.node(ia).peer.selected_pair() == Some((a2, b))
            && n.node(ib).peer.selected_pair() == Some((b, a2))
    });
    assert!(
        done,
        "offerer {:?} {:?}, answerer {:?} {:?}",
        net.node(ia).peer.selected_pair(),
        net.node(ia).ice,
        net.node(ib).peer.selected_pair(),
        net.node(ib).ice
    );
    let switched = net.now() - cut;
    let reliable_at = net.run_until(Duration::from_secs(30), |n| {
        n.node(ib)
            .received
            .iter()
            .any(|m| m.2 == b"sent while the path was down")
    });
    assert!(reliable_at, "the reliable message never arrived");
    let reliable_delay = net.now() - cut;
    net.run_for(Duration::from_secs(2));
    let to_b = net.node(ib).longest_probe_gap(cut);
    let echoes = net.node(ia).longest_probe_gap(cut);
    println!(
        "offerer's interface down: both Peers on the second pair after {switched:?}; \
         probes every {PROBE_EVERY:?}: longest gap at the answerer {to_b:?}, echoes back \
         {echoes:?}; the reliable message sent at the cut arrived after {reliable_delay:?}"
    );
    // Renomination after `disconnected_after` (10 s) of silence, counted from the last
    // consent answer (up to 6 s before the cut), plus two round trips.
    assert!(
        (Duration::from_secs(4)..=Duration::from_millis(10_500)).contains(&switched),
        "{switched:?}"
    );
    for gap in [to_b, echoes] {
        assert!(gap <= switched + Duration::from_millis(200), "{gap:?}");
    }
    // SCTP's retransmission timer backed off during the outage: the message waits for its
    // next retransmission, which must come within one more backed-off RTO.
    assert!(
        reliable_delay <= switched + Duration::from_secs(20),
        "{reliable_delay:?}"
    );
    // The first interface comes back: neither side moves back to it, the probes go on.
    net.set_address_up(ia, a1, true);
    let back = net.now();
    net.run_for(Duration::from_secs(20));
    assert_eq!(net.node(ia).peer.selected_pair(), Some((a2, b)));
    assert_eq!(net.node(ib).peer.selected_pair(), Some((b, a2)));
    assert!(net.node(ia).longest_probe_gap(back) <= PROBE_EVERY * 2);
    // The same associations: no ICE failure on the way (disconnected, then connected again),
    // and both ends ended connected.
    for (i, from) in [(ia, states_before[0]), (ib, states_before[1])] {
        let during = &net.node(i).ice[from..];
        assert!(!during.contains(&IceState::Failed), "{i}: {during:?}");
        assert!(matches!(
            net.node(i).peer.ice_state(),
            IceState::Connected | IceState::Completed
        ));
    }
}
