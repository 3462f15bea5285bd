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
//!  Failed{name} (3 tries, 5 s) -> its lines dropped, counted in Stats::mdns_failed
//!
//!  Publishing (Config::obfuscate_host_addresses, as browsers hide their host addresses):
//!  add_local_candidate(addr) -> a random UUID-v4 name per host IP (from the Peer's DRBG),
//!     published in a Responder on the same lent socket(s)
//!  descriptions / Event::LocalCandidate's `text`: "<uuid>.local" in place of the address
//!     (raddr 0.0.0.0 rport 0 on reflexive candidates), once a socket is lent
//!  a query for the name on that socket -> the Responder's answer (before our own queries),
//!     for as long as the host feeds the socket: the connection's life
//! ```

use core::net::{IpAddr, SocketAddr};

#[cfg(feature = "mdns")]
use peerless_base::Drbg;
use peerless_base::text::{Ascii, Sink};
use peerless_base::{BufferTooSmall, Instant, Transmit};
#[cfg(feature = "mdns")]
use peerless_mdns::Responder;
use peerless_mdns::{self as mdns, Querier, QuerierConfig};

use super::Area;
use super::*;
use crate::text::Text;

/// `.local` candidate lines waiting for their name (and names in flight); none without the
/// `mdns` feature, so a Peer built without it carries no tables.
pub(super) const PENDING: usize = if cfg!(feature = "mdns") { 4 } else { 0 };
/// A published name: a UUID and `.local` (the responder's room for each, not 255 bytes).
#[cfg(feature = "mdns")]
const UUID_NAME: usize = 42;
/// A candidate line we keep (the attribute is short: foundation, numbers, a UUID name, a few
/// extensions).
const LINE: usize = 256;

/// The Peer's mDNS part: a querier and the lines that wait for it.
#[derive(Clone, Debug)]
pub(super) struct MdnsCandidates {
    querier: Querier<PENDING>,
    sockets: [Option<SocketAddr>; mdns::SOCKETS],
    /// The kept lines; each one's name is its address field ([`local_name`]), not a copy
    /// (an `mdns::HostName` beside each line cost 4 x 256 B).
    lines: [Option<Text<LINE>>; PENDING],
    /// Answers queries for the names that hide our host addresses, and is the one table of
    /// them: our host IPs and the names they are signalled as
    /// ([`Config::obfuscate_host_addresses`]). Only with the `mdns` feature: even empty, its
    /// reply queue and sockets cost the firmware's Peer 704 B.
    #[cfg(feature = "mdns")]
    responder: Responder<PENDING, UUID_NAME>,
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
            #[cfg(feature = "mdns")]
            responder: Responder::new(now),
            end_deferred: false,
        }
    }

    /// Our replies to other hosts' queries, before our own queries.
    pub(super) fn poll_reply<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        #[cfg(feature = "mdns")]
        return self.responder.poll_transmit(buf);
        #[cfg(not(feature = "mdns"))]
        {
            let _ = buf;
            Ok(None)
        }
    }

    /// The name hiding host address `ip`, once the host lent a socket to answer for it.
    pub(super) fn name_for(&self, ip: IpAddr) -> Option<&str> {
        if !self.querier.has_socket() {
            return None;
        }
        #[cfg(feature = "mdns")]
        return self.responder.name_for(ip);
        #[cfg(not(feature = "mdns"))]
        {
            let _ = ip;
            None
        }
    }

    /// Whether our candidates are signalled with names (a name exists and can be answered).
    pub(super) fn hiding(&self) -> bool {
        #[cfg(feature = "mdns")]
        return self.querier.has_socket() && self.responder.is_publishing();
        #[cfg(not(feature = "mdns"))]
        false
    }

    /// Publishes a fresh name for host address `ip` (none for one that has a name already, or
    /// for the wildcard). A full table leaves the address unhidden, counted.
    #[cfg(feature = "mdns")]
    fn publish(&mut self, rng: &mut Drbg, ip: IpAddr, stats: &mut Stats) {
        if ip.is_unspecified() || self.responder.name_for(ip).is_some() {
            return;
        }
        let name = uuid_name(rng);
        if let Err(mdns::PublishError::Full) = self.responder.publish(name.as_str(), ip) {
            stats.mdns_publish_full += 1;
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

/// A random (version 4, RFC 9562 §5.4) UUID as a `.local` name, lower-case as browsers write
/// it: `xxxxxxxx-xxxx-4xxx-Yxxx-xxxxxxxxxxxx.local`.
#[cfg(feature = "mdns")]
fn uuid_name(rng: &mut Drbg) -> Text<48> {
    let mut b = [0u8; 16];
    rng.fill(&mut b);
    if let Some(v) = b.get_mut(6) {
        *v = (*v & 0x0f) | 0x40;
    }
    if let Some(v) = b.get_mut(8) {
        *v = (*v & 0x3f) | 0x80;
    }
    let mut out = Text::<48>::new();
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            let _ = out.push("-");
        }
        let _ = out.push(Ascii::hex(u64::from(*byte), 2).as_str());
    }
    let _ = out.push(".local");
    out
}

/// Writes candidate `c` as signalled: the address replaced by `name` when it hides it, and
/// the related address of a reflexive or relayed candidate as `0.0.0.0`/`::` port 0 when
/// `hide_related` (as browsers do once they hide host addresses).
pub(crate) fn write_candidate(
    f: &mut dyn Sink,
    c: &ice::Candidate,
    name: Option<&str>,
    hide_related: bool,
) -> core::fmt::Result {
    if name.is_none() && !hide_related {
        return c.write_to(f);
    }
    let mut text = Text::<LINE>::new();
    c.write_to(&mut text)?;
    let mut previous = "";
    for (i, field) in text.as_str().split_ascii_whitespace().enumerate() {
        if i > 0 {
            f.put(" ")?;
        }
        match (i, previous) {
            (4, _) if name.is_some() => f.put(name.unwrap_or(field))?,
            (_, "raddr") if hide_related => {
                f.put(if field.contains(':') { "::" } else { "0.0.0.0" })?;
            }
            (_, "rport") if hide_related => f.put("0")?,
            _ => f.put(field)?,
        }
        previous = field;
    }
    Ok(())
}

/// A local candidate as it is signalled ([`Event::LocalCandidate`]'s `text`): its `Display`
/// is the `candidate:...` line with its `ufrag`, and a `.local` name in place of a host address
/// the Peer hides ([`Config::obfuscate_host_addresses`]). It borrows the agent's candidate, so
/// the event stays small.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignalledCandidate<'e> {
    candidate: &'e ice::Candidate,
    ufrag: &'e ice::Str<32>,
    name: Option<&'e str>,
    hide_related: bool,
}

impl<'e> SignalledCandidate<'e> {
    pub(super) fn new(
        candidate: &'e ice::Candidate,
        ufrag: &'e ice::Str<32>,
        name: Option<&'e str>,
        hide_related: bool,
    ) -> Self {
        SignalledCandidate {
            candidate,
            ufrag,
            name,
            hide_related,
        }
    }

    /// The `.local` name signalled in place of the address, if hidden.
    #[must_use]
    pub fn mdns_name(&self) -> Option<&'e str> {
        self.name
    }
}

impl core::fmt::Display for SignalledCandidate<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut c = *self.candidate;
        c.ufrag = Some(*self.ufrag);
        write_candidate(f, &c, self.name, self.hide_related)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for SignalledCandidate<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Display2Format(self));
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
            out.push(Ascii::ip(addr).as_str()).ok()?;
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
        #[cfg(feature = "mdns")]
        self.mdns
            .responder
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

    /// A datagram on the mDNS socket `to`: answers for the querier, questions for the
    /// responder (each counts and drops the other kind).
    pub(super) fn mdns_packet(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        packet: &[u8],
    ) {
        self.mdns.querier.handle_packet(now, from, packet);
        #[cfg(feature = "mdns")]
        self.mdns.responder.handle_packet(now, from, to, packet);
        #[cfg(not(feature = "mdns"))]
        let _ = to;
        self.mdns_resolved();
    }

    /// A new host address: hidden behind a fresh name when the configuration says so.
    pub(super) fn mdns_publish(&mut self, ip: IpAddr) {
        #[cfg(feature = "mdns")]
        if self.config.obfuscate_host_addresses {
            self.mdns.publish(&mut self.rng, ip, &mut self.stats);
        }
        #[cfg(not(feature = "mdns"))]
        let _ = ip;
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
        *slot = Some(text);
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
                let Some(line) = entry else { continue };
                if !local_name(line.as_str()).is_some_and(|n| name.eq_ignore_case(n)) {
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

    #[test]
    fn signalled_lines_hide_the_address_and_the_related_address() {
        let host =
            ice::Candidate::parse("candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host").unwrap();
        let srflx = ice::Candidate::parse(
            "candidate:2 1 udp 1686052607 203.0.113.9 6000 typ srflx raddr 10.0.0.2 rport 5000",
        )
        .unwrap();
        let name = "0d3c1f6e-5f2b-4c1e-9a47-2f0e3b6d8c11.local";
        let mut out = Text::<LINE>::new();
        write_candidate(&mut out, &host, Some(name), true).unwrap();
        assert_eq!(
            out.as_str(),
            "candidate:1 1 udp 2122260223 0d3c1f6e-5f2b-4c1e-9a47-2f0e3b6d8c11.local 5000 typ host"
        );
        out.clear();
        write_candidate(&mut out, &srflx, None, true).unwrap();
        assert_eq!(
            out.as_str(),
            "candidate:2 1 udp 1686052607 203.0.113.9 6000 typ srflx raddr 0.0.0.0 rport 0"
        );
        out.clear();
        write_candidate(&mut out, &srflx, None, false).unwrap();
        let mut plain = Text::<LINE>::new();
        write!(plain, "{srflx}").unwrap();
        assert_eq!(out.as_str(), plain.as_str());
    }

    #[cfg(feature = "mdns")]
    #[test]
    fn published_names_are_uuid_v4() {
        let mut rng = Drbg::from_seed(&[7; 32], b"t");
        let n = uuid_name(&mut rng);
        let b = n.as_str().as_bytes();
        assert_eq!((n.as_str().len(), b[14], b[36]), (UUID_NAME, b'4', b'.'));
        assert!(matches!(b[19], b'8' | b'9' | b'a' | b'b'), "{}", n.as_str());
    }
}
