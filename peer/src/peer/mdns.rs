//! `.local` remote candidates (draft-ietf-mmusic-mdns-ice-candidates): browsers hide their host
//! addresses behind `<uuid>.local` names; with an mDNS socket from the host the Peer resolves
//! them and hands ICE the candidate with the address in place of the name.
//!
//! ```text
//!  add_remote_candidate / a description: "candidate:... udp ... <uuid>.local 5000 typ host"
//!     | ICE refuses the host name; no mDNS socket: counted unusable, as before
//!     '-- with a socket: the line is kept (PENDING lines), the querier asks for the name
//!  host: add_mdns_socket(local) once; datagrams arriving on it -> handle_packet(to = local)
//!  poll_transmit: queries to 224.0.0.251:5353 / [ff02::fb]:5353 from `local` (before ICE)
//!  Resolved{name, addr} -> every kept line with that name, the address written in, -> ICE
//!  Failed{name} (3 queries, 5 s) -> its lines dropped, counted in Stats::mdns_failed
//! ```

use core::fmt::Write as _;
use core::net::SocketAddr;

use peerless_base::{BufferTooSmall, Instant, Transmit};
use peerless_mdns::{self as mdns, HostName, Querier, QuerierConfig};

use super::Area;
use super::*;
use crate::text::Text;

/// `.local` candidate lines waiting for their name (and names in flight); none without the
/// `mdns` feature, so a Peer built without it carries no tables.
pub(super) const PENDING: usize = if cfg!(feature = "mdns") { 4 } else { 0 };
/// A candidate line we keep (the attribute is short: foundation, numbers, a UUID name, a few
/// extensions).
const LINE: usize = 256;

/// The Peer's mDNS part: a querier and the lines that wait for it.
#[derive(Clone, Debug)]
pub(super) struct MdnsCandidates {
    querier: Querier<PENDING>,
    sockets: [Option<SocketAddr>; mdns::SOCKETS],
    lines: [Option<(HostName, Text<LINE>)>; PENDING],
    /// The peer signalled end-of-candidates while names were pending: ICE hears it once they
    /// are settled (else it would fail for want of candidates that are on their way).
    end_deferred: bool,
}

impl MdnsCandidates {
    pub(super) fn new(now: Instant) -> Self {
        MdnsCandidates {
            querier: Querier::new(QuerierConfig::default(), now),
            sockets: [None; mdns::SOCKETS],
            lines: [const { None }; PENDING],
            end_deferred: false,
        }
    }

    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.querier.poll_timeout()
    }

    /// Our mDNS queries, before ICE's checks.
    pub(super) fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        self.querier.poll_transmit(buf)
    }
}

/// The connection-address field of an `a=candidate` line when it is a `.local` name on a UDP
/// component-1 candidate (the only kind ICE uses), else `None`.
fn local_name(line: &str) -> Option<&str> {
    let body = line
        .trim_start_matches("a=")
        .trim_start_matches("candidate:");
    let mut fields = body.split_ascii_whitespace();
    let _foundation = fields.next()?;
    let component = fields.next()?;
    let transport = fields.next()?;
    let _priority = fields.next()?;
    let address = fields.next()?;
    (component == "1"
        && transport.eq_ignore_ascii_case("udp")
        && mdns::check_local_name(address).is_ok())
    .then_some(address)
}

/// `line` with its connection address (the fifth field) replaced by `addr`.
fn with_address(line: &str, addr: core::net::IpAddr) -> Option<Text<LINE>> {
    let mut out = Text::<LINE>::new();
    for (i, field) in line.split_ascii_whitespace().enumerate() {
        if i > 0 {
            out.push(" ").ok()?;
        }
        if i == 4 {
            write!(out, "{addr}").ok()?;
        } else {
            out.push(field).ok()?;
        }
    }
    Some(out)
}

impl<
    S: Area,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
    const TRANSCEIVERS: usize,
> Peer<S, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES, TRANSCEIVERS>
{
    /// The host's mDNS socket, its own address `local`: bound to 5353 and joined to
    /// 224.0.0.251 (or ff02::fb) on the interface the peer is on, or an ephemeral port (a
    /// "one-shot" querier, RFC 6762 §5.1: responders answer it by unicast). From then on a
    /// remote `.local` candidate is resolved instead of refused: [`Peer::poll_transmit`]
    /// returns queries from `local` to the group, and datagrams that arrive on that socket go
    /// to [`Peer::handle_packet`] with `to = local`, as any other. One per address family.
    ///
    /// # Errors
    /// [`CandidateError::TooManyHosts`] beyond one socket per family, or always without the
    /// `mdns` feature.
    pub fn add_mdns_socket(&mut self, local: SocketAddr) -> Result<(), CandidateError> {
        if PENDING == 0 {
            return Err(CandidateError::TooManyHosts);
        }
        self.mdns
            .querier
            .add_socket(local)
            .map_err(|_| CandidateError::TooManyHosts)?;
        if let Some(slot) = self.mdns.sockets.iter_mut().find(|s| s.is_none()) {
            *slot = Some(local);
        }
        Ok(())
    }

    /// Whether `to` is one of the host's mDNS sockets.
    pub(super) fn is_mdns_socket(&self, to: SocketAddr) -> bool {
        self.mdns.sockets.contains(&Some(to))
    }

    /// A datagram on an mDNS socket.
    pub(super) fn mdns_packet(&mut self, now: Instant, from: SocketAddr, packet: &[u8]) {
        self.mdns.querier.handle_packet(now, from, packet);
        self.mdns_resolved();
    }

    pub(super) fn mdns_timeout(&mut self, now: Instant) {
        self.mdns.querier.handle_timeout(now);
        self.mdns_resolved();
    }

    /// A candidate ICE refused: kept and resolved if it is a `.local` one and the host lent a
    /// socket. `Ok(true)`: kept; `Ok(false)`: not an mDNS candidate (the caller's error
    /// stands).
    pub(super) fn mdns_candidate(
        mdns: &mut MdnsCandidates,
        stats: &mut Stats,
        now: Instant,
        line: &str,
    ) -> Result<bool, CandidateError> {
        let Some(name) = local_name(line) else {
            return Ok(false);
        };
        if !mdns.querier.has_socket() {
            return Ok(false);
        }
        let Ok(host) = HostName::new(name) else {
            return Ok(false);
        };
        let (Some(text), Some(slot)) = (
            Text::<LINE>::copy_from(line.trim_start_matches("a=")),
            mdns.lines.iter_mut().find(|l| l.is_none()),
        ) else {
            stats.remote_candidates_refused += 1;
            return Err(CandidateError::Ice(ice::AddCandidateError::Full));
        };
        if mdns.querier.query(now, name).is_err() {
            stats.remote_candidates_refused += 1;
            return Err(CandidateError::Ice(ice::AddCandidateError::Full));
        }
        *slot = Some((host, text));
        stats.mdns_queried += 1;
        Ok(true)
    }

    /// End-of-candidates for ICE, held back while `.local` names are pending.
    pub(super) fn end_of_candidates(ice: &mut Agent<REMOTE_CANDIDATES>, mdns: &mut MdnsCandidates) {
        if mdns.lines.iter().any(Option::is_some) {
            mdns.end_deferred = true;
        } else {
            ice.end_of_remote_candidates();
        }
    }

    /// Hands resolved lines to ICE and drops the failed ones.
    fn mdns_resolved(&mut self) {
        while let Some(event) = self.mdns.querier.poll_event() {
            let (name, addr) = match event {
                mdns::Event::Resolved { name, addr } => (name, Some(addr)),
                mdns::Event::Failed { name } => (name, None),
                _ => continue,
            };
            for entry in &mut self.mdns.lines {
                let Some((n, line)) = entry else { continue };
                if !n.eq_ignore_case(name.as_str()) {
                    continue;
                }
                match addr.and_then(|a| with_address(line.as_str(), a)) {
                    Some(resolved) => {
                        self.stats.mdns_resolved += 1;
                        match self.ice.add_remote_candidate(resolved.as_str()) {
                            Ok(()) => {}
                            Err(ice::AddCandidateError::Full) => {
                                self.stats.remote_candidates_refused += 1;
                            }
                            Err(_) => self.stats.remote_candidates_unusable += 1,
                        }
                    }
                    None => self.stats.mdns_failed += 1,
                }
                *entry = None;
            }
        }
        if self.mdns.end_deferred && self.mdns.lines.iter().all(Option::is_none) {
            self.mdns.end_deferred = false;
            self.ice.end_of_remote_candidates();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_field_is_found_and_replaced() {
        let line = "candidate:0 1 UDP 2122252543 9b36eaac-bb2e-49bb-bb78-21c41c499900.local 44323 typ host";
        assert_eq!(
            local_name(line),
            Some("9b36eaac-bb2e-49bb-bb78-21c41c499900.local")
        );
        assert_eq!(
            local_name("candidate:0 1 TCP 1 x.local 9 typ host tcptype active"),
            None
        );
        assert_eq!(local_name("candidate:0 2 UDP 1 x.local 9 typ host"), None);
        assert_eq!(local_name("candidate:0 1 UDP 1 192.0.2.1 9 typ host"), None);
        let out = with_address(line, "127.0.0.1".parse().unwrap()).unwrap();
        assert_eq!(
            out.as_str(),
            "candidate:0 1 UDP 2122252543 127.0.0.1 44323 typ host"
        );
    }
}
