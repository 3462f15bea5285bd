//! The ICE agent over a real UDP socket, with signalling through files: the host side of
//! `scripts/interop/ice-aioice.sh`.
//!
//! ```text
//! cargo run -p peerless-ice --example ice_udp -- <controlling|controlled> <dir>
//!   writes <dir>/rust.creds ("ufrag pwd") and <dir>/rust.cands (a=candidate values)
//!   reads  <dir>/peer.creds and <dir>/peer.cands, then checks, selects a pair and
//!   exchanges datagrams with the peer on it; exits 0 once it received the peer's data,
//!   the peer wrote <dir>/peer.done, and nothing failed.
//! ```

use std::fs;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant as StdInstant};

use peerless_base::Instant;
use peerless_ice::{Agent, Config, Event, IceState, Role};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, text)?;
    fs::rename(&tmp, path)?;
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (role, dir) = match args.as_slice() {
        [_, role, dir] if role == "controlling" => (Role::Controlling, PathBuf::from(dir)),
        [_, role, dir] if role == "controlled" => (Role::Controlled, PathBuf::from(dir)),
        _ => {
            eprintln!("usage: ice_udp <controlling|controlled> <dir>");
            std::process::exit(2);
        }
    };
    let start = StdInstant::now();
    let now = || Instant::from_micros(start.elapsed().as_micros() as u64);
    let mut seed = [0u8; 32];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut seed);
    }

    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let local: SocketAddr = socket.local_addr()?;
    let mut agent: Agent = Agent::new(Config::new(role, seed), now());
    agent
        .add_local_candidate(local)
        .map_err(|e| format!("{e:?}"))?;

    // Our side of the signalling.
    let mut lines = String::new();
    while let Some(event) = agent.poll_event() {
        if let Event::LocalCandidate(c) = event {
            lines.push_str(&format!("{c}\n"));
        }
    }
    let creds = *agent.local_credentials();
    write_atomic(&dir.join("rust.cands"), &lines)?;
    write_atomic(
        &dir.join("rust.creds"),
        &format!("{} {}\n", creds.ufrag, creds.pwd),
    )?;
    eprintln!("rust: {role:?} on {local}, waiting for the peer's description");

    // The peer's side.
    let deadline = StdInstant::now() + Duration::from_secs(30);
    let peer_creds = loop {
        if let Ok(text) = fs::read_to_string(dir.join("peer.creds"))
            && let Some((u, p)) = text.trim().split_once(' ')
        {
            break (u.to_string(), p.to_string());
        }
        if StdInstant::now() > deadline {
            eprintln!("rust: no peer credentials");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    agent
        .set_remote_credentials(&peer_creds.0, &peer_creds.1)
        .map_err(|e| format!("{e:?}"))?;
    let cands = fs::read_to_string(dir.join("peer.cands")).unwrap_or_default();
    for line in cands.lines().filter(|l| !l.trim().is_empty()) {
        match agent.add_remote_candidate(line) {
            Ok(()) => eprintln!("rust: remote {line}"),
            Err(e) => eprintln!("rust: skipped {line}: {e:?}"),
        }
    }
    agent.end_of_remote_candidates();

    let mut buf = [0u8; 1500];
    let mut out = [0u8; 1500];
    let mut got_peer_data = false;
    let mut sent = 0u32;
    let mut next_ping = StdInstant::now();
    let mut failed = false;
    while StdInstant::now() < deadline {
        agent.handle_timeout(now());
        while let Some(t) = agent.poll_transmit(&mut out)? {
            let _ = socket.send_to(t.payload, t.destination);
        }
        while let Some(event) = agent.poll_event() {
            match event {
                Event::StateChanged(s) => {
                    eprintln!("rust: state {}", s.as_str());
                    failed |= s == IceState::Failed;
                }
                Event::SelectedPair { local, remote } => {
                    eprintln!("rust: selected {} -> {}", local.address, remote.address);
                }
                Event::RoleChanged(r) => eprintln!("rust: role now {r:?}"),
                _ => {}
            }
        }
        if failed {
            break;
        }
        if StdInstant::now() >= next_ping
            && let Some(t) = agent.send_to_selected(b"ping from rust")
        {
            let _ = socket.send_to(t.payload, t.destination);
            sent += 1;
            next_ping = StdInstant::now() + Duration::from_millis(100);
        }
        if got_peer_data && sent > 0 && dir.join("peer.done").exists() {
            println!(
                "rust: OK: selected {:?}, sent {sent} datagrams, received the peer's",
                agent.selected_pair()
            );
            println!("rust: stats {:?}", agent.stats());
            return Ok(());
        }
        let wait = agent
            .poll_timeout()
            .map(|t| Duration::from_micros(t.as_micros().saturating_sub(now().as_micros())))
            .unwrap_or(Duration::from_millis(50))
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        socket.set_read_timeout(Some(wait))?;
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let packet = &mut buf[..n];
            // RFC 7983: 0..=3 is STUN; anything else here is the peer's data.
            if packet.first().is_some_and(|b| *b < 4) {
                agent.handle_packet(now(), from, local, packet);
            } else if agent.selected_pair().is_some_and(|(_, r)| r == from) {
                if !got_peer_data {
                    eprintln!(
                        "rust: data from {from}: {:?}",
                        String::from_utf8_lossy(packet)
                    );
                }
                got_peer_data = true;
            }
        }
    }
    eprintln!(
        "rust: FAILED (state {}, peer data {got_peer_data}, sent {sent})",
        agent.state().as_str()
    );
    std::process::exit(1);
}
