//! The transport under the channels and the media: DTLS over ICE's selected pair, SCTP inside
//! DTLS, SRTP keyed by DTLS, as one type that goes through its life.
//!
//! ```text
//!   AwaitRole(early)                    our a=setup is not known yet: DTLS that arrives is
//!        |                               kept in the early stash; the association (over the
//!        |                               host's areas) and the DTLS endpoint sit idle
//!        | the answer is applied (set_local_description or set_remote_description):
//!        | both restarted in place in our role, the stash replayed into DTLS
//!        v
//!   Running { dtls_state, srtp, .. }    the endpoint is a client or a server
//!        DTLS Connecting --handshake--> Connected --close_notify--> Closed
//!              \--alert, fingerprint mismatch, Config::dtls_timeout--> Failed
//!        SCTP: the DTLS client sends INIT at once; the server sends its own only if the
//!              client stayed silent for SCTP_PASSIVE_WAIT (two Peers never collide)
//!        SRTP: contexts from the exported keys when DTLS connects with use_srtp
//! ```

use super::Area;
use super::*;

/// DTLS state as the connection state needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DtlsState {
    /// No role yet: the transport awaits it.
    New,
    Connecting,
    Connected,
    Failed,
    Closed,
}

/// The transport: the SCTP association, always here (idle until our DTLS role is known,
/// then restarted in place), and the phase of its life.
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct Transport<S, const CHUNKS: usize, const CHANNELS: usize, const DTLS: usize> {
    /// Built over the host's areas when the Peer is made and restarted in place when the
    /// transport starts (and when the Peer restarts): never built on the stack and moved in,
    /// which cost 13 KB of stack on the Cortex-M4 proof.
    pub(super) sctp: sctp::Association<S, CHUNKS, CHANNELS>,
    pub(super) phase: Phase<DTLS>,
}

/// Before and after our DTLS role is known.
#[allow(
    clippy::large_enum_variant,
    reason = "no allocator to box into: the running state lives inline, and the stash before \
              it shares its space"
)]
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) enum Phase<const DTLS: usize> {
    /// No answer applied yet, so no DTLS role: DTLS that arrives waits in the stash (a
    /// browser answering our offer sends its ClientHello as soon as ICE works, often before
    /// the host applies its answer).
    AwaitRole(EarlyStash<DTLS>),
    /// DTLS runs in its role and SCTP rides on it.
    Running(Running),
}

/// The running transport's state beside the association.
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct Running {
    // The DTLS endpoint is the Peer's own field (`Peer::dtls`), restarted in place when the
    // transport starts: here it was built on the stack and moved in with the rest, twice its
    // 7.6 KB on the Cortex-M4.
    /// Never `New`: a running transport has a role.
    pub(super) dtls_state: DtlsState,
    /// When DTLS must be connected by ([`Config::dtls_timeout`] after ICE found a path).
    pub(super) dtls_deadline: Option<Instant>,
    /// `close()` ran: DTLS sends close_notify once SCTP's last packets (the ABORT) are out.
    pub(super) close_pending: bool,
    pub(super) sctp_established: bool,
    /// As DTLS server: when to send our own INIT if the client's has not come.
    pub(super) sctp_connect_at: Option<Instant>,
    pub(super) srtp: Option<SrtpContexts>,
    /// Why DTLS failed, once it has.
    pub(super) dtls_failure: Option<DtlsFailure>,
}

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize, const DTLS: usize>
    Transport<S, CHUNKS, CHANNELS, DTLS>
{
    pub(super) fn running(&self) -> Option<&Running> {
        match &self.phase {
            Phase::Running(state) => Some(state),
            Phase::AwaitRole(_) => None,
        }
    }

    pub(super) fn running_mut(&mut self) -> Option<&mut Running> {
        match &mut self.phase {
            Phase::Running(state) => Some(state),
            Phase::AwaitRole(_) => None,
        }
    }

    /// The association and the state beside it, once the transport runs.
    pub(super) fn parts(&self) -> Option<(&sctp::Association<S, CHUNKS, CHANNELS>, &Running)> {
        match &self.phase {
            Phase::Running(state) => Some((&self.sctp, state)),
            Phase::AwaitRole(_) => None,
        }
    }

    /// As [`parts`](Self::parts), to change.
    pub(super) fn parts_mut(
        &mut self,
    ) -> Option<(&mut sctp::Association<S, CHUNKS, CHANNELS>, &mut Running)> {
        match &mut self.phase {
            Phase::Running(state) => Some((&mut self.sctp, state)),
            Phase::AwaitRole(_) => None,
        }
    }

    pub(super) fn dtls_state(&self) -> DtlsState {
        self.running().map_or(DtlsState::New, |r| r.dtls_state)
    }

    /// The association, once it runs.
    pub(super) fn sctp(&mut self) -> Option<&mut sctp::Association<S, CHUNKS, CHANNELS>> {
        self.parts_mut().map(|(sctp, _)| sctp)
    }

    /// Back to awaiting a role, in place: the association idle again (restarted from
    /// `idle`, its areas kept), the stash empty, the running state (SRTP keys included,
    /// wiped by their drop) gone.
    pub(super) fn reset(&mut self, idle: sctp::Config, now: Instant) {
        self.sctp.restart(idle, now);
        match &mut self.phase {
            Phase::AwaitRole(early) => early.clear(),
            Phase::Running(_) => self.phase = Phase::AwaitRole(EarlyStash::new()),
        }
    }
}

/// The configuration of the association while it waits for a role (it is restarted with
/// the real one when the transport starts): passive, and seeded with nothing secret since it
/// never sends.
pub(super) fn idle_sctp_config() -> sctp::Config {
    sctp::Config::new(sctp::DtlsRole::Server, [0; SEED_LEN])
}

/// The configuration of the DTLS endpoint while it waits for a role (`start_transport`
/// restarts it in our role with a seed): never used to send.
pub(super) fn idle_dtls_config(certificate: &dtls::Certificate) -> dtls::Config {
    dtls::Config::new(dtls::Role::Server, certificate.clone(), [0; SEED_LEN])
}

/// DTLS datagrams that arrived before we knew our DTLS role.
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct EarlyStash<const N: usize> {
    bytes: [u8; N],
    used: usize,
    datagrams: [Option<(SocketAddr, Range<usize>)>; EARLY_DTLS_DATAGRAMS],
}

impl<const N: usize> EarlyStash<N> {
    pub(super) const fn new() -> Self {
        EarlyStash {
            bytes: [0; N],
            used: 0,
            datagrams: [const { None }; EARLY_DTLS_DATAGRAMS],
        }
    }

    /// Forgets every kept datagram, in place.
    pub(super) fn clear(&mut self) {
        self.bytes.fill(0);
        self.used = 0;
        self.datagrams = [const { None }; EARLY_DTLS_DATAGRAMS];
    }

    pub(super) fn push(&mut self, from: SocketAddr, datagram: &[u8]) -> bool {
        let Some(slot) = self.datagrams.iter_mut().find(|d| d.is_none()) else {
            return false;
        };
        let end = self.used + datagram.len();
        let Some(dst) = self.bytes.get_mut(self.used..end) else {
            return false;
        };
        dst.copy_from_slice(datagram);
        *slot = Some((from, self.used..end));
        self.used = end;
        true
    }

    /// The oldest kept datagram, taken out of the list; its bytes stay lent from the stash.
    fn pop_front(&mut self) -> Option<(SocketAddr, &mut [u8])> {
        let slot = self.datagrams.iter_mut().find(|d| d.is_some())?;
        let (from, range) = slot.take()?;
        Some((from, self.bytes.get_mut(range)?))
    }
}

/// The SRTP contexts made from the DTLS-SRTP keys: what we send and what we receive.
#[cfg_attr(fuzzing, derive(Clone))]
pub struct SrtpContexts {
    /// Protects what we send.
    pub outbound: srtp::Context,
    /// Unprotects what we receive.
    pub inbound: srtp::Context,
}

/// Nothing of the contexts: they hold the session keys.
#[cfg(feature = "defmt")]
impl defmt::Format for SrtpContexts {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "SrtpContexts {{ .. }}");
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
    /// Our DTLS role is known: the DTLS endpoint and the SCTP association start, the channels
    /// created so far register with SCTP, and the DTLS that arrived early is replayed.
    pub(super) fn start_transport(&mut self, role: dtls::Role) {
        if self.transport.running().is_some() {
            return;
        }

        // Both machines' seeds in one DRBG request (a request costs two HMACs besides one per
        // 32-byte output block: 4 instead of 6; connect CPU, issue 18).
        let mut seeds = [0u8; 2 * SEED_LEN];
        self.rng.fill(&mut seeds);
        let (mut seed, mut sctp_seed) = ([0u8; SEED_LEN], [0u8; SEED_LEN]);
        for (dst, src) in seed.iter_mut().chain(&mut sctp_seed).zip(seeds) {
            *dst = src;
        }
        let mut dtls_config = dtls::Config::new(role, self.config.certificate.clone(), seed)
            .with_mtu(self.config.payload_mtu())
            .with_retransmit(self.config.dtls_retransmit.0, self.config.dtls_retransmit.1);
        // Checked lists (Config::with_dtls_cipher_suites / with_dtls_groups): copied as they are.
        dtls_config.cipher_suites = self.config.dtls_cipher_suites;
        dtls_config.groups = self.config.dtls_groups;
        // In place: a new endpoint built here would be on the stack twice (it, then the
        // transport holding it) before landing in the Peer.
        self.dtls.restart(dtls_config, self.now);
        // A server ignores it.
        self.dtls.connect(self.now);
        if let Some(fp) = self.remote_fingerprint {
            self.dtls.set_remote_fingerprint(fp);
        }

        let mut c = sctp::Config::new(
            match role {
                dtls::Role::Client => sctp::DtlsRole::Client,
                dtls::Role::Server => sctp::DtlsRole::Server,
            },
            sctp_seed,
        );
        c.mtu = self
            .config
            .payload_mtu()
            .saturating_sub(DTLS_OVERHEAD)
            .max(512);
        // ICE consent (RFC 7675) decides when the peer is gone; SCTP giving up after ten
        // unanswered retransmissions would end a channel on a path that still works (at 20 %
        // loss each way a soak of 1500 seeds hit it twice). Browsers' SCTP stacks leave this to
        // ICE as well.
        c.max_retransmits = u32::MAX;
        c.max_init_retransmits = u32::MAX;
        c.remote_port = self.remote_sctp_port;
        c.remote_max_message_size = self
            .remote_max_message_size
            .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
        // The Peer stores what SCTP announces: a longer label is refused by SCTP itself.
        c.max_label = MAX_LABEL as u16;
        c.zero_checksum = self.config.sctp_zero_checksum;
        // In place, over the areas it already holds (see `Transport::sctp`).
        let assoc = &mut self.transport.sctp;
        assoc.restart(c, self.now);
        for ch in &mut self.channels {
            if ch.state != ChannelState::AwaitAssociation {
                continue;
            }
            match assoc.open_channel(ch.label.as_str(), ch.protocol.as_str(), ch.options) {
                Ok(id) => {
                    ch.stream = Some(id.0);
                    ch.state = ChannelState::AwaitSctp;
                    assoc.set_buffered_amount_low_threshold(id, ch.low_threshold);
                }
                Err(_) => {
                    ch.state = ChannelState::Closing;
                    ch.announce_close = true;
                }
            }
        }

        // Replay what arrived before we knew our role, decrypted in place in the stash (it is
        // ours now): no copy, and no datagram too large for a scratch buffer is skipped. Before
        // the transport runs, DTLS can report no keys and no application data (the peer has
        // not heard us yet), so its events wait for the one drain below.
        let now = self.now;
        if let Phase::AwaitRole(early) = &mut self.transport.phase {
            while let Some((from, datagram)) = early.pop_front() {
                if self.ice.knows_remote(from) {
                    self.dtls.handle_packet(now, datagram);
                } else {
                    self.stats.dropped_dtls_unknown_source += 1;
                }
            }
        }
        self.transport.phase = Phase::Running(Running {
            dtls_state: DtlsState::Connecting,
            dtls_deadline: None,
            close_pending: false,
            sctp_established: false,
            sctp_connect_at: None,
            srtp: None,
            dtls_failure: None,
        });
        self.drain_dtls(now);
        self.update_connection_state();
    }

    pub(super) fn handle_dtls(&mut self, now: Instant, from: SocketAddr, packet: &mut [u8]) {
        // DTLS comes over the selected pair, or from a candidate ICE knows before selection
        // (a browser starts its handshake as soon as a check succeeds).
        let known = self.knows_remote(from);
        match &mut self.transport.phase {
            Phase::AwaitRole(early) => {
                if !early.push(from, packet) {
                    self.stats.dropped_early_dtls += 1;
                }
                return;
            }
            Phase::Running(_) if !known => {
                self.stats.dropped_dtls_unknown_source += 1;
                return;
            }
            // Failed is final (a handshake past its deadline must not come back to life with
            // the association already aborted).
            Phase::Running(run) if run.dtls_state == DtlsState::Failed => {
                self.stats.dropped_dtls_after_failure += 1;
                return;
            }
            Phase::Running(_) => self.dtls.handle_packet(now, packet),
        }
        self.drain_dtls(now);
    }

    /// Moves DTLS events along: keys to SRTP, application data to SCTP, ends to the state.
    pub(super) fn drain_dtls(&mut self, now: Instant) {
        let Some((sctp, run)) = self.transport.parts_mut() else {
            return;
        };
        while let Some(ev) = self.dtls.poll_event() {
            if run.dtls_state == DtlsState::Failed {
                // Whatever the endpoint still reports after the Peer gave up is moot.
                continue;
            }
            match ev {
                dtls::Event::Connected {
                    cipher_suite,
                    srtp_profile: profile,
                    keys,
                } => {
                    debug!("peer: DTLS connected");
                    run.dtls_state = DtlsState::Connected;
                    run.dtls_deadline = None;
                    self.stats.dtls_cipher = Some(cipher_suite);
                    let role = match self.dtls.role() {
                        dtls::Role::Client => srtp::Role::Client,
                        dtls::Role::Server => srtp::Role::Server,
                    };
                    // use_srtp is negotiated with or without media (aiortc fails a handshake
                    // without it); a Peer without transceivers makes no contexts.
                    self.stats.srtp_profile = profile.and_then(srtp_profile);
                    if let (Some(p), Some(k), true) =
                        (self.stats.srtp_profile, keys, Self::HAS_MEDIA)
                    {
                        run.srtp = srtp::SessionKeys::from_dtls_srtp(p, k.as_bytes(), role)
                            .ok()
                            .and_then(|keys| {
                                Some(SrtpContexts {
                                    outbound: keys.local_context(srtp::Config::default()).ok()?,
                                    inbound: keys.remote_context(srtp::Config::default()).ok()?,
                                })
                            });
                    }
                    // The DTLS client opens the association at once; the server answers its
                    // INIT and sends its own only if none came (a peer that waits), so two
                    // peerless Peers never collide (RFC 9260 §5.2.1 handles it if a browser
                    // sends INIT from both sides, as usrsctp does).
                    match self.dtls.role() {
                        dtls::Role::Client => sctp.connect(now),
                        dtls::Role::Server => run.sctp_connect_at = Some(now + SCTP_PASSIVE_WAIT),
                    }
                }
                dtls::Event::ApplicationData(data) => sctp.handle_packet(now, data),
                dtls::Event::Closed(reason) => {
                    debug!("peer: DTLS closed");
                    run.dtls_failure = DtlsFailure::of(reason);
                    run.dtls_state = if run.dtls_failure.is_some() {
                        DtlsState::Failed
                    } else {
                        DtlsState::Closed
                    };
                }
                // Event is non-exhaustive; nothing else is reported today.
                _ => {}
            }
        }
    }

    /// The transport's timers: DTLS retransmission, SCTP's own, the passive INIT, and the
    /// DTLS deadline.
    pub(super) fn transport_timeout(&mut self, now: Instant) {
        let Some((sctp, run)) = self.transport.parts_mut() else {
            return;
        };
        self.dtls.handle_timeout(now);
        if run.sctp_connect_at.is_some_and(|t| t <= now) {
            run.sctp_connect_at = None;
            // Only a silent peer is prompted: once its INIT arrived, our own would start a
            // collision (RFC 9260 §5.2.1) for nothing.
            if sctp.stats().packets_received == 0 {
                sctp.connect(now);
            }
        }
        sctp.handle_timeout(now);
        if run.dtls_deadline.is_some_and(|t| t <= now) {
            run.dtls_deadline = None;
            if run.dtls_state == DtlsState::Connecting {
                debug!("peer: DTLS did not connect in time");
                run.dtls_state = DtlsState::Failed;
                run.dtls_failure = Some(DtlsFailure::Timeout);
            }
        }
        self.drain_dtls(now);
    }

    /// The DTLS clock starts once there is both a role and a path, and stops with DTLS.
    pub(super) fn arm_dtls_deadline(&mut self) {
        let (now, timeout, path) = (self.now, self.config.dtls_timeout, self.selected.is_some());
        if let Some(run) = self.transport.running_mut() {
            match run.dtls_state {
                DtlsState::Connecting if path => {
                    run.dtls_deadline.get_or_insert(now + timeout);
                }
                _ => run.dtls_deadline = None,
            }
        }
    }

    pub(super) fn handle_srtp(&mut self, now: Instant, packet: &mut [u8], rtcp: bool) {
        // No transceivers, no keys: dropped unread, so no SRTP or RTP/RTCP parser is linked.
        if !Self::HAS_MEDIA {
            self.stats.dropped_media_no_transceivers += 1;
            return;
        }
        let Some(s) = self.transport.running_mut().and_then(|r| r.srtp.as_mut()) else {
            self.stats.dropped_srtp += 1;
            return;
        };
        let result = if rtcp {
            s.inbound.unprotect_rtcp(packet)
        } else {
            s.inbound.unprotect_rtp(packet)
        };
        let Ok(len) = result else {
            self.stats.dropped_srtp += 1;
            return;
        };
        self.stats.srtp_received += 1;
        let plain = packet.get(..len).unwrap_or_default();
        if rtcp {
            self.handle_rtcp(now, plain);
        } else {
            self.handle_rtp(now, plain);
        }
    }

    /// DTLS's own output only (handshake flights, alerts), never SCTP.
    pub(super) fn transport_handshake_transmit(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<Range<usize>>, BufferTooSmall> {
        let base = buf.as_ptr() as usize;
        if self.transport.running().is_none() {
            return Ok(None);
        }
        Ok(self.dtls.poll_transmit(buf)?.map(|t| range_in(base, t)))
    }

    /// The next DTLS record over the selected pair: DTLS's own output first, then one SCTP
    /// packet sealed into a record, then (after `close()`) the close_notify.
    pub(super) fn transport_transmit(
        &mut self,
        buf: &mut [u8],
    ) -> Result<Option<Range<usize>>, BufferTooSmall> {
        let (base, now) = (buf.as_ptr() as usize, self.now);
        // While media flows, DATA waits for the pacer's grant (`media/pacing.rs`); control
        // chunks never wait, and DATA bundled with them is charged like any other.
        let data_may_send = self.data_may_send();
        let Some((sctp, run)) = self.transport.parts_mut() else {
            return Ok(None);
        };
        if let Some(t) = self.dtls.poll_transmit(buf)? {
            return Ok(Some(range_in(base, t)));
        }
        if !self.dtls.is_connected() {
            return Ok(None);
        }
        if !data_may_send && !sctp.control_waiting() && !run.close_pending {
            return Ok(None);
        }
        // One SCTP packet into one record: DTLS keeps it until we poll it out just below.
        let mut data_sent = 0;
        let sealed = match sctp.poll_transmit(buf)? {
            Some(packet) => {
                data_sent = packet.len();
                self.dtls.send(packet).is_ok()
            }
            None if run.close_pending => {
                // `close()` ran and SCTP's ABORT is out: now the close_notify.
                run.close_pending = false;
                self.dtls.close(now);
                true
            }
            None => return Ok(None),
        };
        if !sealed {
            return Ok(None);
        }
        let out = self.dtls.poll_transmit(buf)?.map(|t| range_in(base, t));
        if let Some(range) = &out
            && data_sent > 0
        {
            self.on_data_sent(range.len());
        }
        Ok(out)
    }

    /// `close()`: SCTP aborts now; the ABORT goes out sealed before close_notify, so the
    /// peer's channels close at once instead of timing out.
    pub(super) fn close_transport(&mut self) {
        let now = self.now;
        if let Some((sctp, run)) = self.transport.parts_mut() {
            sctp.abort(now);
            run.close_pending = true;
        }
    }
}
