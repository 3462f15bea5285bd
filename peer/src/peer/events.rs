//! What `poll_event` hands out, in order: connection-level events from a queue that coalesces
//! by kind instead of dropping, then each channel's announcements, then SCTP's own.

use super::Area;
use super::*;

/// Events produced while handling input, handed out by `poll_event` before SCTP's own.
#[derive(Clone, Copy, Debug)]
pub(super) enum Queued {
    /// A local candidate, found again in the agent by its address and type when handed out
    /// (a queue of whole candidates would cost kilobytes); skipped if an ICE restart
    /// replaced it meanwhile.
    LocalCandidate(SocketAddr, ice::CandidateType),
    Ready(Ready),
}

/// Queued events that need nothing but the Peer's own tables to be handed out.
#[derive(Clone, Copy, Debug)]
pub(super) enum Ready {
    GatheringComplete,
    IceGatheringState(IceGatheringState),
    /// A STUN or TURN server (the second address) did not answer requests from a host socket
    /// (701) or refused them (the STUN error code).
    IceCandidateError(SocketAddr, SocketAddr, u16),
    SignalingState(SignalingState),
    NegotiationNeeded,
    IceState(IceState),
    ConnectionState(ConnectionState),
    SelectedPair(SocketAddr, SocketAddr),
    RemoteCandidatesRefused(u32),
}

impl Queued {
    /// Events of one kind carry the latest value: a full queue replaces the queued one.
    pub(super) fn same_kind(&self, other: &Queued) -> bool {
        match (self, other) {
            (Queued::LocalCandidate(a, k), Queued::LocalCandidate(b, l)) => a == b && k == l,
            (Queued::Ready(a), Queued::Ready(b)) => {
                core::mem::discriminant(a) == core::mem::discriminant(b)
            }
            _ => false,
        }
    }
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
    /// The next event. Messages and channel labels borrow the Peer until the next call.
    ///
    /// Order: connection-level events (candidates, states, the selected pair), then what each
    /// channel has to announce (open before close), then what SCTP delivers (messages, remote
    /// channels, closes), so a channel's `ChannelOpen` always precedes its messages.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        // The raw packet the last event lent is done with.
        self.release_raw();
        // The event that refused a stream borrowed the association; its reset happens now.
        if let (Some(stream), Some(a)) = (self.refused_stream.take(), self.transport.sctp()) {
            a.close_channel(sctp::StreamId(stream));
        }
        let mut candidate = None;
        while let Some(q) = self.queue.pop() {
            match q {
                Queued::LocalCandidate(address, kind) => {
                    // Skipped if an ICE restart replaced it meanwhile.
                    candidate = self
                        .ice
                        .local_candidates()
                        .find(|c| c.address == address && c.kind == kind)
                        .copied();
                    if candidate.is_some() {
                        break;
                    }
                }
                // As the browser's task re-checks before firing: a need settled (or an
                // exchange opened) since it was queued is not announced.
                Queued::Ready(Ready::NegotiationNeeded)
                    if self.signaling != SignalingState::Stable || !self.negotiation_needed => {}
                Queued::Ready(r) => return Some(self.expand(r)),
            }
        }
        if let Some(mut candidate) = candidate {
            let creds = self.ice.local_credentials();
            candidate.ufrag = Some(creds.ufrag);
            let name = (candidate.kind == ice::CandidateType::Host)
                .then(|| self.mdns.name_for(candidate.address.ip()))
                .flatten();
            let signalled = self
                .ice
                .local_candidates()
                .find(|c| c.address == candidate.address && c.kind == candidate.kind)?;
            return Some(Event::LocalCandidate {
                candidate,
                text: SignalledCandidate::new(signalled, &creds.ufrag, name, self.mdns.hiding()),
                sdp_mid: self.sdp_mid(),
                sdp_mline_index: self.data_mline,
                username_fragment: creds.ufrag.as_str(),
            });
        }
        if let Some(slot) = self.channels.iter().position(|c| c.announce_open) {
            let c = self.channels.get_mut(slot)?;
            c.announce_open = false;
            return Some(Event::ChannelOpen {
                channel: ChannelId(slot as u16),
                label: c.label.as_str(),
                protocol: c.protocol.as_str(),
                options: c.options,
                remote: c.remote,
            });
        }
        if let Some(slot) = self
            .channels
            .iter()
            .position(|c| c.announce_error.is_some())
        {
            let c = self.channels.get_mut(slot)?;
            let reason = c.announce_error.take()?;
            return Some(Event::ChannelError {
                channel: ChannelId(slot as u16),
                reason,
            });
        }
        if let Some(slot) = self.channels.iter().position(|c| c.announce_close) {
            let c = self.channels.get_mut(slot)?;
            *c = FREE;
            self.stats.channels_closed += 1;
            return Some(Event::ChannelClosed(ChannelId(slot as u16)));
        }
        if let Some(target_bps) = self.poll_bitrate_estimate() {
            return Some(Event::BitrateEstimate { target_bps });
        }
        if self.has_media_announcement() {
            return self.poll_media_announcement();
        }
        if self.has_raw() {
            return self.poll_raw();
        }
        if let Some((i, meta)) = self.poll_media_frame() {
            return self.media_data(i, meta);
        }
        self.poll_sctp_event()
    }

    pub(super) fn expand(&self, q: Ready) -> Event<'_> {
        match q {
            Ready::GatheringComplete => Event::GatheringComplete,
            Ready::IceGatheringState(s) => Event::IceGatheringState(s),
            Ready::IceCandidateError(address, server, error_code) => Event::IceCandidateError {
                address,
                server,
                url: self
                    .config
                    .turn_servers
                    .iter()
                    .flatten()
                    .find(|s| s.address == server)
                    .map_or("", |s| s.url.as_str()),
                error_code,
                error_text: match error_code {
                    701 => "server did not answer",
                    401 => "TURN server refused the credentials",
                    _ => "TURN allocation failed",
                },
            },
            Ready::SignalingState(s) => Event::SignalingState(s),
            Ready::NegotiationNeeded => Event::NegotiationNeeded,
            Ready::IceState(s) => Event::IceState(s),
            Ready::ConnectionState(s) => Event::ConnectionState(s),
            Ready::SelectedPair(local, remote) => Event::SelectedPair { local, remote },
            Ready::RemoteCandidatesRefused(n) => Event::RemoteCandidatesRefused(n),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Internal plumbing
    // -----------------------------------------------------------------------------------------

    /// Queues a connection-level event. A full queue (a host that has not drained for a long
    /// time) coalesces instead of dropping: the newest queued event of the same kind takes the
    /// new value (the latest state, the sum of refused candidates), so the host still learns
    /// where things stand. With one entry per kind and per local candidate the queue cannot
    /// overflow; `dropped_events` stays a tripwire that tests assert is zero.
    pub(super) fn push(&mut self, q: Queued) {
        let Err(q) = self.queue.push(q) else {
            return;
        };
        match self.queue.iter_mut().rev().find(|old| old.same_kind(&q)) {
            Some(old) => {
                *old = match (*old, q) {
                    (
                        Queued::Ready(Ready::RemoteCandidatesRefused(a)),
                        Queued::Ready(Ready::RemoteCandidatesRefused(b)),
                    ) => Queued::Ready(Ready::RemoteCandidatesRefused(a.saturating_add(b))),
                    _ => q,
                };
                self.stats.coalesced_events += 1;
            }
            None => self.stats.dropped_events += 1,
        }
    }

    /// After any input: ICE events become Peer events, the selected pair is tracked, and the
    /// connection state is recomputed.
    pub(super) fn pump(&mut self) {
        while let Some(ev) = self.ice.poll_event() {
            match ev {
                ice::Event::LocalCandidate(c) => {
                    self.set_gathering(IceGatheringState::Gathering);
                    self.push(Queued::LocalCandidate(c.address, c.kind));
                }
                ice::Event::GatheringComplete => {
                    self.set_gathering(IceGatheringState::Complete);
                    self.push(Queued::Ready(Ready::GatheringComplete));
                }
                ice::Event::ServerUnreachable { local, server } => {
                    self.push(Queued::Ready(Ready::IceCandidateError(local, server, 701)));
                }
                ice::Event::CandidateError {
                    local,
                    server,
                    code,
                    ..
                } => {
                    self.push(Queued::Ready(Ready::IceCandidateError(local, server, code)));
                }
                ice::Event::StateChanged(s) if s != self.ice_state => {
                    self.ice_state = s;
                    self.push(Queued::Ready(Ready::IceState(s)));
                }
                ice::Event::SelectedPair { .. } => {
                    // The event names the candidates; the agent knows the base to send from.
                    let selected = self.ice.selected_pair();
                    if let Some((l, r)) = selected
                        && selected != self.selected
                    {
                        self.selected = selected;
                        self.report.selected_changed();
                        self.push(Queued::Ready(Ready::SelectedPair(l, r)));
                    }
                }
                ice::Event::SelectedPairCleared if self.selected.is_some() => {
                    self.selected = None;
                    self.report.selected_changed();
                }
                // RoleChanged, repeated states, and what later versions add.
                _ => {}
            }
        }
        self.update_connection_state();
        self.arm_dtls_deadline();
    }

    fn set_gathering(&mut self, state: IceGatheringState) {
        if self.gathering != state {
            self.gathering = state;
            self.push(Queued::Ready(Ready::IceGatheringState(state)));
        }
    }

    pub(super) fn update_connection_state(&mut self) {
        let ice_ok = matches!(self.ice_state, IceState::Connected | IceState::Completed);
        let state = if self.closed {
            ConnectionState::Closed
        } else if self.ice_state == IceState::Failed
            || self.transport.dtls_state() == DtlsState::Failed
        {
            ConnectionState::Failed
        } else if self.ice_state == IceState::Disconnected {
            ConnectionState::Disconnected
        } else if self.transport.dtls_state() == DtlsState::Closed {
            ConnectionState::Closed
        } else if ice_ok && self.transport.dtls_state() == DtlsState::Connected {
            ConnectionState::Connected
        } else if self.ice_state == IceState::New && self.transport.dtls_state() == DtlsState::New {
            ConnectionState::New
        } else {
            ConnectionState::Connecting
        };
        if state != self.connection_state {
            self.connection_state = state;
            self.push(Queued::Ready(Ready::ConnectionState(state)));
            if state == ConnectionState::Failed
                && let Some(a) = self.transport.sctp()
            {
                // Nothing can reach the peer any more: the channels close now (as in a
                // browser) instead of after SCTP's own timers.
                a.abort(self.now);
            }
        }
    }
}
