//! A server that keeps many Peers behind one UDP socket, as a media server or an SFU does:
//! every datagram goes to the Peer that [`Peer::accepts`] it.
//!
//! ```text
//!   client 0 ──┐                      ┌── Peer 0
//!   client 1 ──┼── server socket ──accepts?──┼── Peer 1      (one ufrag each, so a new
//!      ...     │   (one port)         │   ...            client's first check finds its Peer;
//!   client N ──┘                      └── Peer N          then its address does)
//! ```
//!
//! The clients are Peers too, each on its own socket, in the same thread: every client opens a
//! channel and sends a message, its server Peer echoes it, and the run ends when every client
//! has its echo (exit 0) or after 30 s (exit 1). Signalling is a function call.
//!
//! Each Peer owns its SCTP storage (`Peer<Box<[u8]>>`), so the server keeps its Peers in a
//! `HashMap` by session with no lifetime to thread through and nothing leaked; firmware lends
//! `&'static mut [u8]` areas instead.
//!
//! ```text
//!   cargo run --release -p peerless --example one_socket -- [CLIENTS]   # 100 by default
//! ```

use std::collections::HashMap;
use std::net::UdpSocket;
use std::time::Duration;

use peerless::{ChannelInit, Config, Event, Peer, SdpType};
use peerless_base::{Drbg, Instant};
use peerless_dtls::{Certificate, Validity};

/// A Peer that owns its SCTP areas: it can live in a map, be moved, and be dropped.
type HostPeer = Peer<Box<[u8]>>;

/// 32 KiB each way per Peer: messages up to about 28 KiB, plenty for an echo.
const AREA: usize = 32 * 1024;

/// A session's id on the server (what a signalling server would hand out).
type SessionId = usize;

struct Side {
    peer: HostPeer,
    socket: UdpSocket,
}

fn new_peer(certificate: &Certificate, seed: &mut Drbg) -> HostPeer {
    let (send_area, recv_area) = (vec![0u8; AREA].into(), vec![0u8; AREA].into());
    let mut bytes = [0u8; 32];
    seed.fill(&mut bytes);
    Peer::new(
        Config::new(certificate.clone(), bytes),
        Instant::ZERO,
        send_area,
        recv_area,
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clients: usize = std::env::args()
        .nth(1)
        .map_or(Ok(100), |n| n.parse())
        .map_err(|e| format!("CLIENTS: {e}"))?;
    let mut seed = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut seed)?;
    let mut rng = Drbg::from_seed(&seed, b"one_socket");
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let validity = Validity::days_from(unix_now.saturating_sub(86_400), 30);
    let certificate = Certificate::generate(&mut rng, validity).map_err(|e| format!("{e}"))?;

    let clock = std::time::Instant::now();
    let now = || Instant::from_micros(clock.elapsed().as_micros() as u64);

    let server = UdpSocket::bind("127.0.0.1:0")?;
    server.set_nonblocking(true)?;
    let server_addr = server.local_addr()?;
    let mut served: HashMap<SessionId, HostPeer> = HashMap::with_capacity(clients);
    let mut sides: Vec<Side> = Vec::with_capacity(clients);
    let mut sdp = vec![0u8; 16 * 1024];
    for session in 0..clients {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        let mut client = new_peer(&certificate, &mut rng);
        let mut peer = new_peer(&certificate, &mut rng);
        client.add_local_candidate(socket.local_addr()?)?;
        peer.add_local_candidate(server_addr)?;
        client.create_data_channel("echo", ChannelInit::default())?;
        let offer = client.create_offer(&mut sdp)?.to_owned();
        client.set_local_description(SdpType::Offer, &offer)?;
        peer.set_remote_description(SdpType::Offer, &offer)?;
        let answer = peer.create_answer(&mut sdp)?.to_owned();
        peer.set_local_description(SdpType::Answer, &answer)?;
        client.set_remote_description(SdpType::Answer, &answer)?;
        served.insert(session, peer);
        sides.push(Side {
            peer: client,
            socket,
        });
    }

    let mut buf = vec![0u8; 65_536];
    let mut echoed = vec![false; clients];
    let (mut routed, mut unrouted) = (0u64, 0u64);
    let deadline = Duration::from_secs(30);
    while clock.elapsed() < deadline && !echoed.iter().all(|e| *e) {
        // The server's socket: each datagram to the Peer that accepts it.
        while let Ok((n, from)) = server.recv_from(&mut buf) {
            let datagram = &mut buf[..n];
            match served.values_mut().find(|p| p.accepts(from, datagram)) {
                Some(peer) => {
                    routed += 1;
                    peer.handle_packet(now(), from, server_addr, datagram);
                }
                None => unrouted += 1,
            }
        }
        for side in &mut sides {
            let local = side.socket.local_addr()?;
            while let Ok((n, from)) = side.socket.recv_from(&mut buf) {
                side.peer.handle_packet(now(), from, local, &mut buf[..n]);
            }
        }
        // The drain rule, for every Peer on both sides.
        for (i, side) in sides.iter_mut().enumerate() {
            let Some(peer) = served.get_mut(&i) else {
                continue;
            };
            for p in [&mut *peer, &mut side.peer] {
                if p.poll_timeout().is_some_and(|t| t <= now()) {
                    p.handle_timeout(now());
                }
            }
            while let Some(t) = peer.poll_transmit(&mut buf)? {
                server.send_to(t.payload, t.destination)?;
            }
            while let Some(t) = side.peer.poll_transmit(&mut buf)? {
                side.socket.send_to(t.payload, t.destination)?;
            }
            let mut echo = None;
            while let Some(event) = peer.poll_event() {
                if let Event::Message { channel, data, .. } = event {
                    echo = Some((channel, data.to_vec()));
                }
            }
            if let Some((channel, data)) = echo {
                peer.send(channel, peerless::MessageKind::Text, &data)?;
            }
            let mut open = None;
            while let Some(event) = side.peer.poll_event() {
                match event {
                    Event::ChannelOpen { channel, .. } => open = Some(channel),
                    Event::Message { data, .. } => {
                        echoed[i] = data == format!("hello {i}").as_bytes();
                    }
                    _ => {}
                }
            }
            if let Some(channel) = open {
                side.peer.send_text(channel, &format!("hello {i}"))?;
            }
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let done = echoed.iter().filter(|e| **e).count();
    println!(
        "one_socket: {done}/{clients} clients echoed through one server socket in {:.2} s \
         ({routed} datagrams routed by Peer::accepts, {unrouted} taken by no Peer)",
        clock.elapsed().as_secs_f64()
    );
    if done == clients {
        Ok(())
    } else {
        Err(format!("{} clients got no echo", clients - done).into())
    }
}
