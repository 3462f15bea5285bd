//! Server-reflexive gathering through the Peer: A sits behind a NAT and has a STUN server in
//! its configuration. Its complete offer (sent once gathering is complete) carries the srflx
//! candidate, and B, which cannot route to A's private address, connects through it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{addr, areas, certs};
use peerless::{ChannelId, Config, Event, Peer, SdpType};
use peerless_base::{BufferTooSmall, Instant, Transmit};
use peerless_proptest::sim::{LinkConfig, NatConfig, Network, Node, Outgoing};
use peerless_stun::{Class, Message, Method};

/// A STUN Binding server: answers every Binding request with the source address it saw.
struct StunServer {
    addr: SocketAddr,
    outbox: Vec<(SocketAddr, Vec<u8>)>,
    answered: u32,
}

struct PeerNode {
    peer: Peer,
    channel: Option<ChannelId>,
    gathered: bool,
    opened: bool,
    received: Vec<Vec<u8>>,
    echo: bool,
}

#[allow(clippy::large_enum_variant)] // a handful of nodes per test
enum SimNode {
    Peer(PeerNode),
    Stun(StunServer),
}

impl Node for SimNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        match self {
            SimNode::Peer(p) => p.peer.handle_packet(now, from, to, packet),
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
        if let SimNode::Peer(p) = self {
            p.peer.handle_timeout(now);
        }
    }
    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        match self {
            SimNode::Peer(p) => p.peer.poll_transmit(buf).map(|o| o.map(Into::into)),
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
            SimNode::Peer(p) => p.peer.poll_timeout(),
            SimNode::Stun(_) => None,
        }
    }
    fn drain_events(&mut self, _now: Instant) {
        let SimNode::Peer(p) = self else { return };
        let mut echo = Vec::new();
        while let Some(e) = p.peer.poll_event() {
            match e {
                Event::GatheringComplete => p.gathered = true,
                Event::ChannelOpen { .. } => p.opened = true,
                Event::Message {
                    channel,
                    kind,
                    data,
                } => {
                    p.received.push(data.to_vec());
                    if p.echo {
                        echo.push((channel, kind, data.to_vec()));
                    }
                }
                _ => {}
            }
        }
        for (c, b, d) in echo {
            p.peer.send(c, b, &d).unwrap();
        }
    }
}

fn peer_mut(net: &mut Network<SimNode>, id: usize) -> &mut PeerNode {
    match net.node_mut(id) {
        SimNode::Peer(p) => p,
        SimNode::Stun(_) => unreachable!(),
    }
}

fn peer(net: &Network<SimNode>, id: usize) -> &PeerNode {
    match net.node(id) {
        SimNode::Peer(p) => p,
        SimNode::Stun(_) => unreachable!(),
    }
}

#[test]
fn a_peer_behind_a_nat_is_reached_through_its_server_reflexive_candidate() {
    let (a_local, a_public) = (addr("10.0.0.1:1000"), addr("203.0.113.1:40000"));
    let (b_addr, server) = (addr("198.51.100.2:2000"), addr("198.51.100.1:3478"));
    let (ca, cb) = certs();
    let (s, r) = areas();
    let mut a = Peer::new(
        Config::new(ca, [31; 32]).with_stun_server(server),
        Instant::ZERO,
        s,
        r,
    );
    let channel = Some(a.create_data_channel("chat", Default::default()).unwrap());
    let (s, r) = areas();
    let b = Peer::new(Config::new(cb, [32; 32]), Instant::ZERO, s, r);
    let node = |peer, channel, echo| {
        SimNode::Peer(PeerNode {
            peer,
            channel,
            gathered: false,
            opened: false,
            received: Vec::new(),
            echo,
        })
    };
    let mut net = Network::new(31);
    let link = LinkConfig::with_delay(Duration::from_millis(15));
    // A port-restricted cone (RFC 4787: endpoint-independent mapping, address-and-port-
    // dependent filtering): B's checks get in only once A has sent to B.
    let nat = net.add_nat(NatConfig::port_restricted_cone(a_public.ip()));
    let ia = net.add_behind_nat(nat, node(a, channel, false), a_local, link.clone());
    let ib = net.add(node(b, None, true), b_addr, link.clone());
    net.add(
        SimNode::Stun(StunServer {
            addr: server,
            outbox: Vec::new(),
            answered: 0,
        }),
        server,
        link,
    );

    // A gathers, then sends one complete offer (no trickle needed).
    peer_mut(&mut net, ia)
        .peer
        .add_local_candidate(a_local)
        .unwrap();
    net.kick(ia);
    assert!(net.run_until(Duration::from_secs(10), |n| peer(n, ia).gathered));
    let mut buf = vec![0u8; 4096];
    let offer = peer_mut(&mut net, ia)
        .peer
        .create_offer(&mut buf)
        .unwrap()
        .to_string();
    assert!(
        offer.contains("typ srflx raddr 10.0.0.1 rport 1000"),
        "{offer}"
    );
    assert!(offer.contains("203.0.113.1 40000 typ srflx"));
    assert!(offer.contains("a=end-of-candidates"));
    peer_mut(&mut net, ia)
        .peer
        .set_local_description(SdpType::Offer, &offer)
        .unwrap();
    let pb = &mut peer_mut(&mut net, ib).peer;
    pb.add_local_candidate(b_addr).unwrap();
    pb.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = pb.create_answer(&mut buf).unwrap().to_string();
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
    let ch = peer(&net, ia).channel.unwrap();
    peer_mut(&mut net, ia)
        .peer
        .send(ch, peerless::MessageKind::Text, b"through the NAT")
        .unwrap();
    net.kick(ia);
    assert!(net.run_until(Duration::from_secs(5), |n| !peer(n, ia).received.is_empty()));
    assert_eq!(peer(&net, ia).received, vec![b"through the NAT".to_vec()]);
    // B talks to A's public (server-reflexive) address; A sends from its private socket.
    assert_eq!(
        peer(&net, ib).peer.selected_pair(),
        Some((b_addr, a_public))
    );
    assert_eq!(peer(&net, ia).peer.selected_pair(), Some((a_local, b_addr)));
    // One mapping served the STUN server and B alike.
    assert_eq!(net.nat(nat).mappings(net.now()), [(a_local, a_public)]);
    assert_eq!(net.nat(nat).stats().mappings_created, 1);
}
