//! ICE over TCP (RFC 6544), passive host candidates: the Peer's side of a host's TCP listener.
//!
//! ```text
//!  host: TcpListener on L --add_local_candidate_tcp_passive(L)--> "tcp ... typ host tcptype passive"
//!  host: accepted connection from R: each RFC 4571 frame (ice::FrameReader)
//!          --handle_packet(now, R, L, datagram)--> STUN, DTLS, SRTP as over UDP
//!  Peer: poll_transmit() from L (is_tcp_source(L)) --ice::frame_header ++ payload--> connection to R
//!  host: connection from R closed --tcp_connection_closed(L, R)--> its ICE pairs fail
//! ```
//!
//! Nothing else in the Peer knows about TCP: the agent keeps the candidate, the peer-reflexive
//! remote each connection makes and their pairs; the host keeps the connections.

use super::Area;
use super::*;

/// How many TCP listeners a Peer takes as passive candidates (more: `TooManyHosts`).
pub(super) const MAX_TCP_HOSTS: usize = 2;

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
    /// A TCP listener bound to `addr` becomes a passive TCP host candidate (RFC 6544), reported
    /// as [`Event::LocalCandidate`] and written in descriptions. Hand every datagram of an
    /// accepted connection to [`Peer::handle_packet`] as from the connection's remote address
    /// to `addr` (split the stream with `peerless_ice::FrameReader`), and send every transmit
    /// whose source [`Peer::is_tcp_source`] on the connection to its destination, preceded by
    /// `peerless_ice::frame_header`. `addr` must not be a UDP host candidate's too.
    pub fn add_local_candidate_tcp_passive(
        &mut self,
        addr: SocketAddr,
    ) -> Result<(), CandidateError> {
        if self.closed {
            return Err(CandidateError::Closed);
        }
        if !self.tcp_hosts.contains(&Some(addr)) {
            let slot = self
                .tcp_hosts
                .iter_mut()
                .find(|h| h.is_none())
                .ok_or(CandidateError::TooManyHosts)?;
            *slot = Some(addr);
        }
        let added = self.ice.add_local_candidate_tcp_passive(addr);
        if added.is_err() {
            self.tcp_hosts
                .iter_mut()
                .filter(|h| **h == Some(addr))
                .for_each(|h| *h = None);
        }
        added.map_err(CandidateError::Ice)?;
        self.pump();
        Ok(())
    }

    /// Whether a transmit from `source` goes on a TCP connection (to its destination, framed):
    /// `source` is one of our passive TCP candidates.
    #[must_use]
    pub fn is_tcp_source(&self, source: SocketAddr) -> bool {
        self.ice.is_tcp_source(source)
    }

    /// The host's connection from `remote` to our TCP listener `local` closed: the ICE pairs
    /// on it fail (a selected pair on it is cleared).
    pub fn tcp_connection_closed(&mut self, local: SocketAddr, remote: SocketAddr) {
        self.ice.tcp_connection_closed(local, remote);
        self.pump();
    }

    /// After the agent was replaced (a new role from the descriptions): the TCP listeners are
    /// its candidates again.
    pub(super) fn readd_tcp_hosts(&mut self) {
        for h in self.tcp_hosts.into_iter().flatten() {
            let _ = self.ice.add_local_candidate_tcp_passive(h);
        }
    }
}
