//! The five verbs (`handle_packet`, `handle_timeout`, `poll_transmit`, `poll_timeout`; the fifth,
//! `poll_event`, lives with the events) and `close`.

use super::Area;
use super::*;

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
    /// Closes the connection (`close()`): SCTP aborts, DTLS sends close_notify, ICE stops.
    pub fn close(&mut self) {
        if self.closed {
            return;
        }
        // Each RTP source says goodbye (RFC 3550 §6.6) before SCTP's ABORT and DTLS's
        // close_notify: media leaves `poll_transmit` ahead of them.
        let now = self.now;
        for r in self.media.rtcp.iter_mut().flatten() {
            r.bye(now);
        }
        self.close_transport();
        self.closed = true;
        self.signaling = SignalingState::Closed;
        self.update_connection_state();
        self.ice.close(self.now);
    }

    // -----------------------------------------------------------------------------------------
    // The five verbs
    // -----------------------------------------------------------------------------------------

    /// One datagram that arrived on our socket `to` from `from`. Never fails: what cannot be
    /// used is dropped and counted in [`Stats`].
    pub fn handle_packet(
        &mut self,
        now: Instant,
        from: SocketAddr,
        to: SocketAddr,
        packet: &mut [u8],
    ) {
        let now = self.now.advance(now);
        self.stats.packets_received += 1;
        self.stats.bytes_received += packet.len() as u64;
        if self.is_mdns_socket(to) {
            self.mdns_packet(now, from, to, packet);
            self.pump();
            return;
        }
        // Through a TURN relay: the peer's datagram, from the peer to our relayed address.
        let (from, to, packet) = match self.ice.unwrap_relayed(from, to, packet) {
            Some((peer, relayed, range)) => match packet.get_mut(range) {
                Some(inner) => (peer, relayed, inner),
                None => return,
            },
            None => (from, to, packet),
        };
        let protocol = demux::classify(packet);
        if self.selected == Some((to, from)) && !matches!(protocol, Some(Protocol::Stun)) {
            self.report.received(packet.len());
        }
        match protocol {
            Some(Protocol::Stun) => self.ice.handle_packet(now, from, to, packet),
            Some(Protocol::Dtls) => self.handle_dtls(now, from, packet),
            Some(Protocol::Rtp) => self.handle_srtp(now, packet, false),
            Some(Protocol::Rtcp) => self.handle_srtp(now, packet, true),
            _ => self.stats.dropped_unknown_protocol += 1,
        }
        self.pump();
    }

    /// The host opened a TCP or TLS stream from `local` to a TURN server configured with
    /// `?transport=tcp` or `turns:` (see [`ice::Agent::turn_stream_connected`]): the allocation
    /// runs over it. Transmits from `local` go on the stream; what arrives is split with
    /// `peerless_stun::stream_frame_len` and each message handed to
    /// [`Peer::handle_packet`] as from the server to `local`. Call it before adding the host
    /// candidates. `false`: no such server.
    pub fn turn_stream_connected(&mut self, server: SocketAddr, local: SocketAddr) -> bool {
        let ok = self.ice.turn_stream_connected(self.now, server, local);
        self.pump();
        ok
    }

    /// The host's stream to a TURN server closed: its relayed candidate is gone.
    pub fn turn_stream_closed(&mut self, server: SocketAddr, local: SocketAddr) {
        self.ice.turn_stream_closed(server, local);
        self.pump();
    }

    /// Whether a datagram that arrived from `from` is this Peer's, so that a server can serve
    /// many Peers on one UDP socket: a STUN request whose USERNAME starts with our ICE ufrag
    /// (RFC 8445 §7.2.2: "ours:theirs"; during an ICE restart the old one too), STUN from one of
    /// our STUN servers, or anything from an address ICE knows as the peer's (the selected pair
    /// or a remote candidate: STUN responses, DTLS, SRTP). Several Peers with the same STUN
    /// server all accept its responses; the one whose transaction it is uses it, the others
    /// drop it as unmatched. A datagram no Peer
    /// accepts is a new client's first check (its offer is not applied yet) or noise.
    #[must_use]
    pub fn accepts(&self, from: SocketAddr, datagram: &[u8]) -> bool {
        // What a TURN server sends (responses, ChannelData, Data indications) is ours too.
        if self.knows_remote(from) || self.ice.is_stun_server(from) {
            return true;
        }
        if demux::classify(datagram) != Some(Protocol::Stun) {
            return false;
        }
        let Ok(msg) = peerless_stun::Message::parse(datagram) else {
            return false;
        };
        // A STUN server's answer to our gathering request; else a request for our ufrag, the
        // current one or the one an ICE restart is replacing.
        self.ice.is_stun_server(from)
            || msg
                .username()
                .and_then(|u| u.split(':').next())
                .is_some_and(|u| self.ice.is_local_ufrag(u))
    }

    /// The selected pair's remote or any remote candidate.
    pub(super) fn knows_remote(&self, addr: SocketAddr) -> bool {
        self.ice.knows_remote(addr)
    }

    /// A deadline from [`Peer::poll_timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.now.advance(now);
        self.mdns_timeout(now);
        self.ice.handle_timeout(now);
        self.transport_timeout(now);
        self.media_timeout(now);
        self.pump();
    }

    /// The next deadline of any part.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = self.ice.poll_timeout();
        let mut take = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        if let Some((sctp, run)) = self.transport.parts() {
            take(self.dtls.poll_timeout());
            take(sctp.poll_timeout());
            take(run.sctp_connect_at);
            take(run.dtls_deadline);
        }
        take(self.media_poll_timeout());
        take(self.mdns.poll_timeout());
        next
    }

    /// The next datagram to send, written into `buf` (at least the MTU): ICE first, then
    /// DTLS records over the selected pair, sealing one SCTP packet at a time.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        let out = self.next_transmit(buf)?;
        let Some((source, destination, range)) = out else {
            return Ok(None);
        };
        let payload: &'b [u8] = buf.get(range).unwrap_or_default();
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += payload.len() as u64;
        Ok(Some(Transmit::between(source, destination, payload)))
    }

    pub(super) fn next_transmit(&mut self, buf: &mut [u8]) -> Result<Option<Out>, BufferTooSmall> {
        let base = buf.as_ptr() as usize;
        // Our mDNS answers for other hosts first, then our own queries, then ICE.
        if let Some(t) = self.mdns.poll_reply(buf)? {
            let out = detach(base, &t);
            self.stats.mdns_answered += 1;
            return Ok(Some(out));
        }
        if let Some(t) = self.mdns.poll_transmit(buf)? {
            let out = detach(base, &t);
            return Ok(Some(out));
        }
        if let Some(t) = self.ice.poll_transmit(buf)? {
            let out = detach(base, &t);
            return Ok(Some(out));
        }
        let Some((local, remote)) = self.selected else {
            return Ok(None);
        };
        if !self.closed && !self.ice.can_send() {
            // Consent lost (RFC 7675 §5.1): nothing but ICE goes out.
            return Ok(None);
        }
        // Over a relayed candidate the datagram is written after room for the TURN framing.
        let head = self.ice.relay_headroom(local, remote);
        let grow = |e: BufferTooSmall| BufferTooSmall {
            needed: e.needed + head + 3,
        };
        let inner = buf
            .get_mut(head..)
            .ok_or(BufferTooSmall { needed: head + 1 })?;
        // DTLS's own records (handshake, retransmissions) before media; media and SCTP's
        // DATA as the pacer's one budget lets them out (`media/pacing.rs`).
        let out = match self.transport_handshake_transmit(inner).map_err(grow)? {
            Some(r) => Some(r),
            None => match self.media_transmit(inner).map_err(grow)? {
                Some(r) => Some(r),
                None => self.transport_transmit(inner).map_err(grow)?,
            },
        };
        let Some(range) = out else {
            return Ok(None);
        };
        self.report.sent(range.len());
        let range = range.start + head..range.end + head;
        Ok(Some(self.ice.relay_transmit(local, remote, buf, range)?))
    }
}
