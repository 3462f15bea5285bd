//! The echo host of `echo.rs` on tokio: the same drain rule with `tokio::net::UdpSocket` and
//! `tokio::time::sleep_until`, for servers that already run an async runtime. The Peer does
//! not care: it is the same sans-IO machine, driven from one task.
//!
//! ```text
//!   cargo run -p peerless --example tokio_echo < offer.sdp > answer.sdp
//! ```

use std::io::{Read, Write};
use std::time::Duration;

use peerless::{Config, ConnectionState, DefaultStorage, Event, Peer, SdpType};
use peerless_base::{Drbg, Instant};
use peerless_dtls::{Certificate, Validity};
use tokio::net::UdpSocket;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut seed)?;
    let unix_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let validity = Validity::days_from(unix_now.saturating_sub(86_400), 30);
    let certificate =
        Certificate::generate(&mut Drbg::from_seed(&seed, b"echo certificate"), validity)
            .map_err(|e| format!("{e}"))?;

    let socket = UdpSocket::bind("127.0.0.1:0").await?;
    let local = socket.local_addr()?;
    // One clock for the Peer and for tokio's timer: the Peer's `Instant` is microseconds since
    // `start`, and a deadline maps back to a tokio instant by the same origin.
    let start = tokio::time::Instant::now();
    let now = || Instant::from_micros(start.elapsed().as_micros() as u64);
    let at = |t: Instant| start + Duration::from_micros(t.as_micros());

    let mut storage = Box::new(DefaultStorage::new());
    let (send_area, recv_area) = storage.areas();
    let mut peer: Peer<&mut [u8]> =
        Peer::new(Config::new(certificate, seed), now(), send_area, recv_area);
    peer.add_local_candidate(local)?;

    let mut offer = String::new();
    std::io::stdin().read_to_string(&mut offer)?;
    peer.set_remote_description(SdpType::Offer, &offer)?;
    let mut sdp = vec![0u8; 16 * 1024];
    let answer = peer.create_answer(&mut sdp)?.to_owned();
    peer.set_local_description(SdpType::Answer, &answer)?;
    std::io::stdout().write_all(answer.as_bytes())?;
    std::io::stdout().flush()?;

    let mut buf = vec![0u8; 65_536];
    let mut echoes = Vec::new();
    loop {
        // The drain rule: every datagram out, every event handled, then wait for a datagram or
        // the Peer's deadline, whichever comes first.
        while let Some(t) = peer.poll_transmit(&mut buf)? {
            socket.send_to(t.payload, t.destination).await?;
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
            peer.send(channel, kind, &data)?;
        }
        let wake = peer
            .poll_timeout()
            .map_or(tokio::time::Instant::now() + Duration::from_secs(1), at);
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let (n, from) = received?;
                peer.handle_packet(now(), from, local, &mut buf[..n]);
            }
            () = tokio::time::sleep_until(wake) => peer.handle_timeout(now()),
        }
    }
}
