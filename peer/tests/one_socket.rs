//! A server keeps many Peers behind one UDP socket and routes each datagram with
//! `Peer::accepts`: 100 clients connect, open a channel and get an echo, and every datagram
//! that reaches the server's address is accepted by exactly one of its Peers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{addr, certs};
use peerless::{ChannelInit, Config, Event, Peer, SdpType};
use peerless_base::Instant;

const CLIENTS: usize = 100;

/// A Peer owning its areas, as a server keeps it (in a `Vec` here, moved in and out).
fn small_peer(cert: peerless_dtls::Certificate, seed: u64) -> Peer<Vec<u8>> {
    let (s, r) = (vec![0u8; 32 * 1024], vec![0u8; 32 * 1024]);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    Peer::new(Config::new(cert, bytes), Instant::ZERO, s, r)
}

#[test]
fn a_hundred_peers_share_one_socket_and_each_datagram_finds_its_peer() {
    let (server_cert, client_cert) = certs();
    let server_addr = addr("10.0.0.1:5000");
    let client_addr = |i: usize| -> SocketAddr {
        format!("10.1.{}.{}:6000", i / 200, i % 200 + 1)
            .parse()
            .unwrap()
    };
    let mut servers: Vec<Peer<Vec<u8>>> = Vec::new();
    let mut clients: Vec<Peer<Vec<u8>>> = Vec::new();
    let mut buf = vec![0u8; 8192];
    for i in 0..CLIENTS {
        let mut c = small_peer(client_cert.clone(), 10_000 + i as u64);
        let mut s = small_peer(server_cert.clone(), i as u64);
        c.add_local_candidate(client_addr(i)).unwrap();
        s.add_local_candidate(server_addr).unwrap();
        c.create_data_channel("echo", ChannelInit::default())
            .unwrap();
        let offer = c.create_offer(&mut buf).unwrap().to_string();
        c.set_local_description(SdpType::Offer, &offer).unwrap();
        s.set_remote_description(SdpType::Offer, &offer).unwrap();
        let answer = s.create_answer(&mut buf).unwrap().to_string();
        s.set_local_description(SdpType::Answer, &answer).unwrap();
        c.set_remote_description(SdpType::Answer, &answer).unwrap();
        servers.push(s);
        clients.push(c);
    }

    let mut now = Instant::ZERO;
    let end = now + Duration::from_secs(30);
    let mut echoed = [false; CLIENTS];
    let mut routed = 0u64;
    let mut out = vec![0u8; 2048];
    while now < end && !echoed.iter().all(|e| *e) {
        loop {
            let mut moved = false;
            for i in 0..CLIENTS {
                while let Some(t) = clients[i].poll_transmit(&mut out).unwrap() {
                    moved = true;
                    assert_eq!(t.destination, server_addr);
                    let n = t.payload.len();
                    let from = client_addr(i);
                    let mut datagram = out[..n].to_vec();
                    // The server's routing: exactly one Peer takes it.
                    let takers: Vec<usize> = (0..CLIENTS)
                        .filter(|&j| servers[j].accepts(from, &datagram))
                        .collect();
                    assert_eq!(takers, [i], "datagram from client {i} taken by {takers:?}");
                    routed += 1;
                    servers[i].handle_packet(now, from, server_addr, &mut datagram);
                }
                while let Some(t) = servers[i].poll_transmit(&mut out).unwrap() {
                    moved = true;
                    let to = t.destination;
                    let j = (0..CLIENTS).find(|&j| client_addr(j) == to).unwrap();
                    assert_eq!(j, i);
                    let n = t.payload.len();
                    let mut datagram = out[..n].to_vec();
                    clients[j].handle_packet(now, server_addr, to, &mut datagram);
                }
                // The server echoes; the client checks the echo.
                let mut echo = None;
                while let Some(e) = servers[i].poll_event() {
                    if let Event::Message { channel, data, .. } = e {
                        echo = Some((channel, data.to_vec()));
                    }
                }
                if let Some((ch, data)) = echo {
                    servers[i]
                        .send(ch, peerless::MessageKind::Text, &data)
                        .unwrap();
                }
                let mut open = None;
                while let Some(e) = clients[i].poll_event() {
                    match e {
                        Event::ChannelOpen { channel, .. } => open = Some(channel),
                        Event::Message { data, .. } => {
                            assert_eq!(data, format!("hello {i}").as_bytes());
                            echoed[i] = true;
                        }
                        _ => {}
                    }
                }
                if let Some(ch) = open {
                    clients[i].send_text(ch, &format!("hello {i}")).unwrap();
                }
            }
            if !moved {
                break;
            }
        }
        let next = servers
            .iter()
            .chain(clients.iter())
            .filter_map(Peer::poll_timeout)
            .min()
            .unwrap();
        now = next.max(now + Duration::from_micros(1));
        for p in servers.iter_mut().chain(clients.iter_mut()) {
            p.handle_timeout(now);
        }
    }
    let done = echoed.iter().filter(|e| **e).count();
    assert_eq!(done, CLIENTS, "{done} of {CLIENTS} clients got their echo");
    // ICE, DTLS and SCTP all came in through the one address.
    for (i, s) in servers.iter().enumerate() {
        let st = s.stats();
        assert!(
            st.ice.requests_answered > 0 && st.dtls.datagrams_received > 0,
            "server {i}"
        );
        assert_eq!(st.messages_received, 1, "server {i}");
    }
    println!("{routed} datagrams routed to {CLIENTS} Peers on one socket");
}

#[test]
fn a_stranger_is_accepted_by_no_peer() {
    let (server_cert, _) = certs();
    let mut s = small_peer(server_cert, 1);
    s.add_local_candidate(addr("10.0.0.1:5000")).unwrap();
    let stranger = addr("192.0.2.9:4000");
    // A STUN binding request for another ufrag, DTLS and garbage from an unknown address.
    let mut req = vec![0u8; 64];
    let n = peerless_stun::Message::builder(
        peerless_stun::Class::Request,
        peerless_stun::Method::BINDING,
        peerless_stun::TransactionId([7; 12]),
    )
    .username("nobody:else")
    .emit(&mut req)
    .unwrap();
    assert!(!s.accepts(stranger, &req[..n]));
    assert!(!s.accepts(stranger, &[22, 254, 253, 0, 0]));
    assert!(!s.accepts(stranger, &[]));
    assert!(!s.accepts(stranger, &[0xff; 40]));
}
