//! `iceServers` for the command-line peer: `--ice-server URL` (repeatable), `--ice-username`,
//! `--ice-credential`, `--relay-only`, `--turn-dual-stack`; waiting for gathering before a description is written
//! (the CLI signals one complete description, no trickle); the selected pair's candidate types.
//!
//! ```text
//!  URL --IceServerUrl::parse--> IP literal: Config::with_ice_server
//!                               host name:  resolve (std) -> Config::with_resolved_ice_server
//!  add_local_candidate -> turn the host until GatheringComplete (bounded) -> create_offer/answer
//!  --summary: "selected_types": [local type, remote type] from the stats report
//! ```
#![allow(dead_code)]

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

use peerless::{Config, Event, Peer, StatsEntry};
use peerless_ice::IceServerUrl;

/// The ICE server options of the command line.
#[derive(Default)]
pub(crate) struct IceServerOptions {
    pub(crate) urls: Vec<String>,
    pub(crate) username: String,
    pub(crate) credential: String,
    pub(crate) relay_only: bool,
    /// `--turn-dual-stack`: an IPv4 and an IPv6 relayed candidate per TURN server.
    pub(crate) dual_stack: bool,
    /// PEM certificates to trust for `turns:` (the CLI trusts nothing else).
    pub(crate) ca: Option<String>,
}

impl IceServerOptions {
    /// Takes `flag` (and its value from `value`) if it is one of ours.
    pub(crate) fn parse_flag(
        &mut self,
        flag: &str,
        value: &mut dyn FnMut() -> Result<String, String>,
    ) -> Result<bool, String> {
        match flag {
            "--ice-server" => self.urls.push(value()?),
            "--ice-username" => self.username = value()?,
            "--ice-credential" => self.credential = value()?,
            "--relay-only" => self.relay_only = true,
            "--turn-dual-stack" => self.dual_stack = true,
            "--ice-ca" => self.ca = Some(value()?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Adds the servers to `config`, resolving host names with the system resolver.
    pub(crate) fn apply(&self, mut config: Config) -> Result<Config, String> {
        for url in &self.urls {
            let parsed = IceServerUrl::parse(url).map_err(|e| format!("{url}: {e}"))?;
            config = match parsed.host_name() {
                None => config.with_ice_server(url, &self.username, &self.credential),
                Some(name) => {
                    let ip = (name, parsed.port)
                        .to_socket_addrs()
                        .map_err(|e| format!("{url}: {e}"))?
                        .find(SocketAddr::is_ipv4)
                        .ok_or_else(|| format!("{url}: no IPv4 address"))?
                        .ip();
                    config.with_resolved_ice_server(url, ip, &self.username, &self.credential)
                }
            }
            .map_err(|e| format!("{url}: {e}"))?;
        }
        if self.relay_only {
            config = config.with_relay_only();
        }
        if self.dual_stack {
            config = config.with_turn_dual_stack();
        }
        Ok(config)
    }

    /// Opens the TCP (or, for `turns:`, TLS) stream to the first such TURN server (one per
    /// run) and hands it to the Peer; call before adding the host candidate.
    pub(crate) fn connect_streams<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &self,
        turn_servers: &[Option<peerless_ice::TurnServer>],
        host: &mut super::host::Host,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) -> Result<(), String> {
        let Some(server) = turn_servers
            .iter()
            .flatten()
            .find(|s| s.transport == peerless_ice::ice_server::ServerTransport::Tcp)
        else {
            return Ok(());
        };
        let url = server.url.as_str();
        let stream = if server.secure {
            let ca = self
                .ca
                .as_deref()
                .ok_or_else(|| format!("{url}: turns: needs --ice-ca FILE"))?;
            // The certificate must name the URL's host (a name, or the IP literal).
            let name = match IceServerUrl::parse(url).ok().and_then(|u| u.host_name()) {
                Some(host) => rustls::pki_types::ServerName::try_from(host.to_string())
                    .map_err(|e| format!("{url}: {e}"))?,
                None => rustls::pki_types::ServerName::IpAddress(server.address.ip().into()),
            };
            super::host::TurnStream::connect_tls(server.address, name, ca)
        } else {
            super::host::TurnStream::connect(server.address)
        }
        .map_err(|e| format!("{url}: {e}"))?;
        eprintln!(
            "cli: {} to the TURN server {} from {}",
            if server.secure { "TLS" } else { "TCP" },
            stream.server,
            stream.local
        );
        peer.turn_stream_connected(stream.server, stream.local);
        host.turn_stream = Some(stream);
        Ok(())
    }

    /// Whether a description should wait for gathering (servers give candidates later).
    pub(crate) fn gathers(&self) -> bool {
        !self.urls.is_empty()
    }
}

/// Turns the host until the Peer's gathering completes (or `limit` passes). Candidate errors
/// are printed; other events before the description exists matter to nobody.
pub(crate) fn wait_gathered<
    S: peerless::Area,
    const K: usize,
    const C: usize,
    const D: usize,
    const L: usize,
    const R: usize,
    const T: usize,
>(
    host: &mut super::host::Host,
    peer: &mut Peer<S, K, C, D, L, R, T>,
    limit: Duration,
) -> std::io::Result<bool> {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        host.turn(peer, Duration::from_millis(20))?;
        while let Some(e) = peer.poll_event() {
            match e {
                Event::GatheringComplete => return Ok(true),
                Event::LocalCandidate { candidate, .. } => eprintln!("cli: candidate {candidate}"),
                Event::IceCandidateError {
                    url,
                    server,
                    error_code,
                    error_text,
                    ..
                } => eprintln!("cli: icecandidateerror {url} {server} {error_code} {error_text}"),
                _ => {}
            }
        }
    }
    Ok(false)
}

/// `,"selected_types":["relay","host"]` for the summary (empty names when nothing is
/// selected).
pub(crate) fn selected_types<
    S: peerless::Area,
    const K: usize,
    const C: usize,
    const D: usize,
    const L: usize,
    const R: usize,
    const T: usize,
>(
    peer: &Peer<S, K, C, D, L, R, T>,
) -> String {
    let Some((local, remote)) = peer.ice_transport().selected_pair else {
        return ",\"selected_types\":[]".into();
    };
    let (mut l, mut r) = ("", "prflx");
    peer.stats_report(|e| match e {
        StatsEntry::LocalCandidate(c) if SocketAddr::new(c.address, c.port) == local => {
            l = c.candidate_type.as_str();
        }
        StatsEntry::RemoteCandidate(c) if SocketAddr::new(c.address, c.port) == remote => {
            r = c.candidate_type.as_str();
        }
        _ => {}
    });
    // Our host candidate is the socket itself; a peer-reflexive local one never is selected
    // as such (the agent sends from the base).
    if l.is_empty() {
        l = "host";
    }
    format!(",\"selected_types\":[\"{l}\",\"{r}\"]")
}
