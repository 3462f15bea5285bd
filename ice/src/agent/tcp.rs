//! ICE over TCP (RFC 6544), passive side only: a host that runs a TCP listener offers it as a
//! `tcptype passive` host candidate; the peer's active candidates connect to it.
//!
//! ```text
//!  host: TcpListener on L --add_local_candidate_tcp_passive(L)--> "tcp ... L typ host tcptype passive"
//!  peer connects from R (its active candidate says port 9: the real port is only seen here)
//!  host: each RFC 4571 frame (crate::tcp::FrameReader) --handle_packet(now, R, L, datagram)-->
//!        check from R on L: R becomes a peer-reflexive remote, transport tcp, tcptype active
//!        (RFC 6544 §7.2); pair (L, R); answer + triggered check go back as Transmits from L to R
//!  host: a Transmit whose source is L goes on the connection to R, framed (frame_header)
//!  checks and consent requests on a connection are sent once (reliable: RFC 8489 §6.2.2)
//!  connection from R closed --tcp_connection_closed(L, R)--> its pairs fail (selection cleared)
//! ```
//!
//! RFC 6544 §6.2: our passive candidate pairs only with the peer's active ones, and only with
//! one that has connected (a signalled active candidate has no port to check: we never open
//! connections). A TCP candidate's address must not be a UDP candidate's too, so the address a
//! datagram arrived on says its transport and the host's routing stays one lookup by source.

use super::*;
use crate::candidate::TcpType;

/// RFC 6544 §4.2: direction preference of a passive host candidate (active 6, passive 4, so 2).
const PASSIVE_DIRECTION_PREF: u16 = 4;

impl<
    const CANDIDATES: usize,
    const PAIRS: usize,
    const TRANSACTIONS: usize,
    const REMOTE_CANDIDATES: usize,
> Agent<CANDIDATES, PAIRS, TRANSACTIONS, REMOTE_CANDIDATES>
{
    /// Adds a passive TCP host candidate (RFC 6544) for the host's TCP listener bound to
    /// `address`; it is reported as [`Event::LocalCandidate`]. The host feeds each datagram
    /// of an accepted connection to [`Agent::handle_packet`] (from the connection's remote
    /// address, to `address`) after splitting the stream with [`crate::FrameReader`], and sends
    /// every transmit whose source is `address` on the connection to its destination,
    /// preceded by [`crate::frame_header`]. `Unsupported`: `address` is already a UDP
    /// candidate's (use another port), or the agent is lite.
    pub fn add_local_candidate_tcp_passive(
        &mut self,
        address: SocketAddr,
    ) -> Result<Candidate, AddCandidateError> {
        if self.closed {
            return Err(AddCandidateError::Closed);
        }
        if let Some(l) = self.locals.iter().flatten().find(|l| l.base == address) {
            return match l.cand.transport {
                Transport::Tcp => Ok(l.cand),
                Transport::Udp => Err(AddCandidateError::Unsupported),
            };
        }
        let tcp_hosts = self
            .locals
            .iter()
            .flatten()
            .filter(|l| l.cand.transport == Transport::Tcp)
            .count();
        // RFC 6544 §4.2: local preference = 2^13 * direction-pref + other-pref; earlier
        // listeners and IPv6 first, as for UDP. Below every UDP host candidate's (65535 - ...),
        // so UDP wins when both work.
        let other_pref = 8191u16
            .saturating_sub((tcp_hosts as u16).saturating_mul(64))
            .saturating_sub(if address.is_ipv4() { 32 } else { 0 });
        let local_pref = (PASSIVE_DIRECTION_PREF << 13) | other_pref;
        let mut cand = self.make_local(CandidateType::Host, address, address, local_pref, None);
        cand.transport = Transport::Tcp;
        cand.tcp_type = Some(TcpType::Passive);
        // RFC 8445 §5.1.1.3: candidates of different transports have different foundations.
        cand.foundation = tcp_foundation(address);
        let idx = self.insert_local(Local {
            cand,
            base: address,
        })?;
        if !self.config.relay_only {
            self.emit(PendingEvent::LocalCandidate(idx, address));
        }
        self.gathering_reported = false;
        self.pair_local(idx);
        self.check_gathering_done();
        self.update_state();
        Ok(cand)
    }

    /// The host's connection from `remote` to our passive TCP candidate `local` closed: its
    /// pairs fail (a selected pair on it is cleared, and ICE carries on with the other pairs or
    /// fails); a new connection from the same address starts them over.
    pub fn tcp_connection_closed(&mut self, local: SocketAddr, remote: SocketAddr) {
        if self.closed {
            return;
        }
        let Some(l) = self
            .locals
            .iter()
            .position(|l| l.is_some_and(|l| l.base == local && l.cand.transport == Transport::Tcp))
        else {
            return;
        };
        let Some(r) = self
            .remotes
            .iter()
            .position(|c| c.is_some_and(|c| c.address == remote && c.transport == Transport::Tcp))
        else {
            return;
        };
        let mut selected_gone = false;
        for i in 0..PAIRS {
            if self
                .pairs
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|p| p.local == l && p.remote == r)
            {
                selected_gone |= self.selected.and_then(|s| s.pair) == Some(i);
                self.fail_pair(i);
            }
        }
        if selected_gone {
            self.selected = None;
            self.emit(PendingEvent::Cleared);
        }
        let now = self.now;
        self.update_selection(now);
        self.update_state();
    }

    /// Whether `source` is one of our passive TCP candidates: a transmit from it goes on the
    /// TCP connection to its destination, framed (RFC 4571).
    #[must_use]
    pub fn is_tcp_source(&self, source: SocketAddr) -> bool {
        self.locals
            .iter()
            .flatten()
            .any(|l| l.base == source && l.cand.transport == Transport::Tcp)
    }

    /// Whether a passive TCP candidate still waits for the peer's first connection (no TCP pair
    /// yet): ICE is not failed for want of pairs then, the pairs come with the connection.
    pub(super) fn awaits_tcp_connection(&self) -> bool {
        let tcp_local = |i: usize| {
            self.locals
                .get(i)
                .copied()
                .flatten()
                .is_some_and(|l| l.cand.transport == Transport::Tcp)
        };
        (0..CANDIDATES).any(tcp_local) && !self.pairs.iter().flatten().any(|p| tcp_local(p.local))
    }

    /// The schedule of a check or consent request from `source`: over a TCP connection one
    /// send and RFC 8489's 39.5 s of waiting (§6.2.2: requests on reliable transports are not
    /// retransmitted; a lost connection is the host's `tcp_connection_closed`), else the UDP
    /// schedule.
    pub(super) fn check_retransmit(&self, source: SocketAddr) -> peerless_stun::RetransmitConfig {
        if self.is_tcp_source(source) {
            peerless_stun::RetransmitConfig {
                rto: Duration::from_millis(39_500),
                max_sends: 1,
                last_wait: 1,
                max_rto: None,
            }
        } else {
            self.config.check_retransmit
        }
    }

    /// RFC 6544 §6.2 and §7.2, for `find_or_add_pair`: UDP pairs with UDP; our passive TCP
    /// candidate pairs only with an active TCP candidate that has connected (the
    /// peer-reflexive one its first check made).
    pub(super) fn tcp_pairable(l: &Local, r: &Candidate) -> bool {
        match (l.cand.transport, r.transport) {
            (Transport::Udp, Transport::Udp) => true,
            (Transport::Tcp, Transport::Tcp) => {
                l.cand.tcp_type == Some(TcpType::Passive)
                    && r.tcp_type == Some(TcpType::Active)
                    && r.kind == CandidateType::PeerReflexive
            }
            _ => false,
        }
    }

    /// The transport and tcptype of a peer-reflexive remote learned from a check on `local`.
    pub(super) fn prflx_transport(&self, local: usize) -> (Transport, Option<TcpType>) {
        match self.locals.get(local).copied().flatten() {
            Some(l) if l.cand.transport == Transport::Tcp => {
                (Transport::Tcp, Some(TcpType::Active))
            }
            _ => (Transport::Udp, None),
        }
    }
}

/// A foundation for a TCP host candidate: the UDP one's hash with "tcp" in it.
fn tcp_foundation(base: SocketAddr) -> Str<32> {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |b: u8| {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    };
    b"tcp host".iter().copied().for_each(&mut eat);
    match base.ip() {
        core::net::IpAddr::V4(ip) => ip.octets().into_iter().for_each(&mut eat),
        core::net::IpAddr::V6(ip) => ip.octets().into_iter().for_each(&mut eat),
    }
    decimal(h)
}
