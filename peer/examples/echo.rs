//! The smallest complete host: one UDP socket, the wall clock, and the drain rule.
//!
//! Reads a complete offer on stdin, prints the complete answer on stdout, then echoes every
//! data-channel message until the connection ends. Everything else a host does is in here:
//!
//! ```text
//!   cargo run -p peerless --example echo < offer.sdp > answer.sdp
//! ```

use std::io::{Read, Write};
use std::net::UdpSocket;
use std::time::Duration;

use peerless::{Config, ConnectionState, DefaultStorage, Event, Peer, SdpType};
use peerless_base::{Drbg, Instant};
use peerless_dtls::{Certificate, Validity};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Entropy enters once: 32 bytes from the OS seed the certificate and the Peer.
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let validity = Validity::days_from(unix_now.saturating_sub(86_400), 30);
    let certificate =
        Certificate::generate(&mut Drbg::from_seed(&seed, b"echo certificate"), validity)
            .map_err(|e| format!("{e}"))?;

    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let local = socket.local_addr()?;
    let clock = std::time::Instant::now();
    let now = || Instant::from_micros(clock.elapsed().as_micros() as u64);

    let mut storage = Box::new(DefaultStorage::new());
    let (send_area, recv_area) = storage.areas();
    let mut peer: Peer<&mut [u8]> =
        Peer::new(Config::new(certificate, seed), now(), send_area, recv_area);
    peer.add_local_candidate(local)
        .map_err(|e| format!("{e:?}"))?;

    let mut offer = String::new();
    std::io::stdin().read_to_string(&mut offer)?;
    peer.set_remote_description(SdpType::Offer, &offer)
        .map_err(|e| format!("{e:?}"))?;
    let mut sdp = vec![0u8; 16 * 1024];
    let answer = peer
        .create_answer(&mut sdp)
        .map_err(|e| format!("{e:?}"))?
        .to_owned();
    peer.set_local_description(SdpType::Answer, &answer)
        .map_err(|e| format!("{e:?}"))?;
    std::io::stdout().write_all(answer.as_bytes())?;
    std::io::stdout().flush()?;

    let mut buf = vec![0u8; 65_536];
    let mut echoes = Vec::new();
    loop {
        // The drain rule: every datagram out, every event handled, then wait for the next
        // datagram or the Peer's deadline, whichever comes first.
        while let Some(t) = peer.poll_transmit(&mut buf)? {
            socket.send_to(t.payload, t.destination)?;
        }
        while let Some(event) = peer.poll_event() {
            match event {
                Event::Message {
                    channel,
                    kind,
                    data,
                } => echoes.push((channel, kind, data.to_vec())),
                Event::ConnectionState(ConnectionState::Failed | ConnectionState::Closed) => {
                    return Ok(());
                }
                _ => {}
            }
        }
        for (channel, kind, data) in echoes.drain(..) {
            peer.send(channel, kind, &data)
                .map_err(|e| format!("{e:?}"))?;
        }
        let wait = peer
            .poll_timeout()
            .map_or(Duration::from_secs(1), |t| t - now());
        socket.set_read_timeout(Some(wait.max(Duration::from_micros(100))))?;
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => peer.handle_packet(now(), from, local, &mut buf[..n]),
            Err(_) => peer.handle_timeout(now()),
        }
    }
}
