//! Two Peers behind symmetric NATs with `iceTransportPolicy: "relay"`: each gathers a relayed
//! candidate from a TURN server on the simulated network (the fixture in
//! `ice/tests/turn_server/`), signals only it, and the data channel opens through the relay
//! (STUN checks, DTLS and SCTP all framed as Send indications, then ChannelData).
#![cfg(feature = "turn")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
#[path = "../../ice/tests/turn_server/mod.rs"]
mod turn_server;

use std::net::SocketAddr;
use std::time::Duration;

use common::{addr, areas, certs};
use peerless::{AreaUse, ChannelId, Config, Event, MediaKind, Peer, SdpType};
use peerless_base::{BufferTooSmall, Instant};
use peerless_proptest::sim::{LinkConfig, NatConfig, Network, Node, Outgoing, Realm};
use turn_server::TurnServer;

struct PeerNode {
    peer: Peer,
    channel: Option<ChannelId>,
    gathered: bool,
    opened: bool,
    received: Vec<Vec<u8>>,
    errors: Vec<(u16, String)>,
    /// Video frames received.
    frames: usize,
    /// The largest datagram this Peer put on the wire.
    largest: usize,
}

#[allow(clippy::large_enum_variant)]
enum SimNode {
    Peer(PeerNode),
    Turn(TurnServer),
}

impl Node for SimNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        match self {
            SimNode::Peer(p) => p.peer.handle_packet(now, from, to, packet),
            SimNode::Turn(t) => t.handle_packet(now, from, to, packet),
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
            SimNode::Peer(p) => {
                let t = p.peer.poll_transmit(buf)?;
                if let Some(t) = &t {
                    p.largest = p.largest.max(t.payload.len());
                }
                Ok(t.map(Into::into))
            }
            SimNode::Turn(t) => t.poll_transmit(buf).map(|o| o.map(Into::into)),
        }
    }
    fn poll_timeout(&self) -> Option<Instant> {
        match self {
            SimNode::Peer(p) => p.peer.poll_timeout(),
            SimNode::Turn(_) => None,
        }
    }
    fn drain_events(&mut self, _now: Instant) {
        let SimNode::Peer(p) = self else { return };
        while let Some(e) = p.peer.poll_event() {
            match e {
                Event::GatheringComplete => p.gathered = true,
                Event::ChannelOpen { .. } => p.opened = true,
                Event::Message { data, .. } => p.received.push(data.to_vec()),
                Event::MediaData(_) => p.frames += 1,
                Event::IceCandidateError {
                    error_code, url, ..
                } => p.errors.push((error_code, url.to_string())),
                _ => {}
            }
        }
    }
}

fn peer_mut(net: &mut Network<SimNode>, id: usize) -> &mut PeerNode {
    match net.node_mut(id) {
        SimNode::Peer(p) => p,
        SimNode::Turn(_) => unreachable!(),
    }
}

fn peer(net: &Network<SimNode>, id: usize) -> &PeerNode {
    match net.node(id) {
        SimNode::Peer(p) => p,
        SimNode::Turn(_) => unreachable!(),
    }
}

/// Two relay-only Peers behind symmetric NATs, connected through the TURN fixture with their
/// data channel open; A sends video on mid "1". `refuse_binds`: the server refuses every
/// ChannelBind, so everything stays in Send indications. Returns the network, A, B, the
/// server's node and the relayed addresses.
fn connected_through_relay(
    refuse_binds: bool,
) -> (Network<SimNode>, usize, usize, usize, [SocketAddr; 2]) {
    let server = addr("198.51.100.1:3478");
    let relays = [addr("198.51.100.1:50000"), addr("198.51.100.1:50001")];
    let url = "turn:198.51.100.1:3478?transport=udp";
    let (ca, cb) = certs();
    let config = |cert, seed| {
        Config::new(cert, [seed; 32])
            .with_ice_server(url, "alice", "secret")
            .unwrap()
            .with_relay_only()
    };
    let (s, r) = areas();
    let mut a = Peer::new(config(ca, 41), Instant::ZERO, s, r);
    let channel = Some(a.create_data_channel("chat", Default::default()).unwrap());
    let (s, r) = areas();
    let mut b = Peer::new(config(cb, 42), Instant::ZERO, s, r);
    // Video from A to B through the relay too (mid "1").
    let area = |n: usize| -> &'static mut [u8] { Box::leak(vec![0u8; n].into_boxed_slice()) };
    a.lend_media_area(MediaKind::Video, AreaUse::Send, area(256 * 1024))
        .unwrap();
    b.lend_media_area(MediaKind::Video, AreaUse::Receive, area(768 * 1024))
        .unwrap();
    a.add_track(MediaKind::Video, "cam").unwrap();
    let node = |peer, channel| {
        SimNode::Peer(PeerNode {
            peer,
            channel,
            gathered: false,
            opened: false,
            received: Vec::new(),
            errors: Vec::new(),
            frames: 0,
            largest: 0,
        })
    };
    let mut net = Network::new(41);
    let link = LinkConfig::with_delay(Duration::from_millis(15));
    let t = net.add(
        SimNode::Turn({
            let mut t = TurnServer::new(server, &relays, "alice", "secret");
            t.refuse_binds = refuse_binds;
            t
        }),
        server,
        link.clone(),
    );
    for r in relays {
        net.add_address(t, r, Realm::PUBLIC);
    }
    let nat_a = net.add_nat(NatConfig::symmetric(addr("203.0.113.1:0").ip()));
    let nat_b = net.add_nat(NatConfig::symmetric(addr("203.0.113.2:0").ip()));
    let local = addr("10.0.0.1:1000");
    let ia = net.add_behind_nat(nat_a, node(a, channel), local, link.clone());
    let ib = net.add_behind_nat(nat_b, node(b, None), local, link);

    for id in [ia, ib] {
        peer_mut(&mut net, id)
            .peer
            .add_local_candidate(local)
            .unwrap();
        net.kick(id);
    }
    assert!(
        net.run_until(Duration::from_secs(10), |n| peer(n, ia).gathered
            && peer(n, ib).gathered)
    );
    let mut buf = vec![0u8; 8192];
    let offer = peer_mut(&mut net, ia)
        .peer
        .create_offer(&mut buf)
        .unwrap()
        .to_string();
    // Only the relayed candidate is signalled; its related address is the NAT's mapping.
    assert!(
        offer.contains("198.51.100.1 50000 typ relay raddr 203.0.113.1"),
        "{offer}"
    );
    assert!(!offer.contains("typ host") && !offer.contains("typ srflx"));
    peer_mut(&mut net, ia)
        .peer
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    let pb = &mut peer_mut(&mut net, ib).peer;
    pb.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = pb.create_answer(&mut buf).unwrap().to_string();
    assert!(answer.contains("typ relay"), "{answer}");
    assert!(!answer.contains("typ host"));
    pb.set_local_description(SdpType::Answer, &answer).unwrap();
    peer_mut(&mut net, ia)
        .peer
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    net.kick(ia);
    net.kick(ib);
    assert!(
        net.run_until(Duration::from_secs(20), |n| peer(n, ia).opened
            && peer(n, ib).opened)
    );
    (net, ia, ib, t, relays)
}

/// The largest packets each layer makes: a 30 000-byte message both ways (full SCTP packets)
/// and five 6 000-byte video frames (full RTP packets); returns the largest datagram A and B
/// put on the wire.
fn big_packets(net: &mut Network<SimNode>, ia: usize, ib: usize) -> [usize; 2] {
    let ch = peer(net, ia).channel.unwrap();
    let net = &mut *net;
    // The largest packets each layer makes: a 30 000-byte message both ways (full SCTP
    // packets) and 6 000-byte video frames (full RTP packets). Through the relay each gains a
    // TURN header; what reaches the wire must still fit the 1200 bytes configured.
    let big: Vec<u8> = (0..30_000u32).map(|i| (i * 7) as u8).collect();
    for id in [ia, ib] {
        // B's end of the channel has the same stream id.
        let p = &mut peer_mut(net, id).peer;
        p.send(ch, peerless::MessageKind::Binary, &big).unwrap();
        net.kick(id);
    }
    let frame: Vec<u8> = (0..6000u32).map(|i| (i * 13) as u8).collect();
    for n in 0..5u32 {
        peer_mut(net, ia)
            .peer
            .write_frame("1", 96, 3000 * n, &frame)
            .unwrap();
        net.kick(ia);
        net.run_for(Duration::from_millis(33));
    }
    let done = net.run_until(Duration::from_secs(5), |n| {
        peer(n, ib).frames >= 5
            && peer(n, ib).received.len() == 1
            && peer(n, ia).received.len() == 1
    });
    assert!(
        done,
        "frames {} messages at B {} at A {}",
        peer(net, ib).frames,
        peer(net, ib).received.len(),
        peer(net, ia).received.len()
    );
    assert_eq!(peer(net, ib).received[0], big);
    [peer(net, ia).largest, peer(net, ib).largest]
}

#[test]
fn relay_only_peers_behind_symmetric_nats_open_a_data_channel_through_turn() {
    let (mut net, ia, ib, t, relays) = connected_through_relay(false);
    let ch = peer(&net, ia).channel.unwrap();
    let mut sent = Vec::new();
    for i in 0..20u32 {
        let msg = format!("through the relay {i}").into_bytes();
        peer_mut(&mut net, ia)
            .peer
            .send(ch, peerless::MessageKind::Text, &msg)
            .unwrap();
        sent.push(msg);
    }
    net.kick(ia);
    assert!(net.run_until(Duration::from_secs(5), |n| peer(n, ib).received.len() == 20));
    assert_eq!(peer(&net, ib).received, sent);

    assert_eq!(
        peer(&net, ia).peer.selected_pair(),
        Some((relays[0], relays[1]))
    );
    assert_eq!(
        peer(&net, ib).peer.selected_pair(),
        Some((relays[1], relays[0]))
    );
    assert!(peer(&net, ia).errors.is_empty() && peer(&net, ib).errors.is_empty());
    let SimNode::Turn(t) = net.node(t) else {
        unreachable!()
    };
    let c = t.counters;
    // The first checks went as Send indications, the rest over the bound channels.
    assert!(c.sent_by_indication > 0 && c.sent_by_channel > 0, "{c:?}");
    assert_eq!(c.allocations, 2);
}

/// Through the relay each datagram gains a TURN header on its way to the server (4 bytes on a
/// channel, 36 in a Send indication from an IPv4 relayed address); the Peer leaves room for it
/// so what reaches the wire still fits the 1200 bytes configured, with the channel bound and
/// with a server that refuses channels (every packet in a Send indication).
#[test]
fn relayed_datagrams_stay_within_the_configured_mtu() {
    for refuse_binds in [false, true] {
        let (mut net, ia, ib, t, _) = connected_through_relay(refuse_binds);
        let largest = big_packets(&mut net, ia, ib);
        let SimNode::Turn(server) = net.node(t) else {
            unreachable!()
        };
        let c = server.counters;
        if refuse_binds {
            assert_eq!(c.sent_by_channel, 0, "{c:?}");
        } else {
            assert!(c.sent_by_channel > 0, "{c:?}");
        }
        eprintln!(
            "refuse_binds {refuse_binds}: largest datagram A {} B {} (mtu 1200)",
            largest[0], largest[1]
        );
        for (id, largest) in largest.into_iter().enumerate() {
            assert!(largest <= 1200, "peer {id}: a {largest}-byte datagram");
            // Full-size packets were made: within the relay's overhead of the limit.
            assert!(
                largest > 1200 - peerless::RELAY_OVERHEAD - 16,
                "peer {id}: largest {largest}"
            );
        }
    }
}

#[test]
fn refused_credentials_are_an_icecandidateerror_with_the_url() {
    let server = addr("198.51.100.1:3478");
    let url = "turn:198.51.100.1:3478";
    let (ca, _) = certs();
    let config = Config::new(ca, [43; 32])
        .with_ice_server(url, "alice", "wrong")
        .unwrap()
        .with_ice_server("stun:198.51.100.1", "", "")
        .unwrap();
    assert_eq!(config.stun_servers[0], Some(server));
    assert!(matches!(
        Config::new(certs().0, [1; 32]).with_ice_server("turn:host.invalid", "a", "b"),
        Err(peerless_ice::UrlError::NeedsResolution)
    ));
    let (s, r) = areas();
    let a = Peer::new(config, Instant::ZERO, s, r);
    let mut net = Network::new(43);
    net.add(
        SimNode::Turn(TurnServer::new(
            server,
            &[addr("198.51.100.1:50000")],
            "alice",
            "secret",
        )),
        server,
        LinkConfig::default(),
    );
    let local = addr("192.0.2.1:1000");
    let ia = net.add(
        SimNode::Peer(PeerNode {
            peer: a,
            channel: None,
            gathered: false,
            opened: false,
            received: Vec::new(),
            errors: Vec::new(),
            frames: 0,
            largest: 0,
        }),
        local,
        LinkConfig::default(),
    );
    peer_mut(&mut net, ia)
        .peer
        .add_local_candidate(local)
        .unwrap();
    net.kick(ia);
    assert!(net.run_until(Duration::from_secs(10), |n| peer(n, ia).gathered));
    assert!(
        peer(&net, ia).errors.contains(&(401, url.to_string())),
        "{:?}",
        peer(&net, ia).errors
    );
}
