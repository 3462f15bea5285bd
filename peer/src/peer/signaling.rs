//! Signaling: local and remote candidates, and the descriptions (JSEP, RFC 8829) that carry
//! ICE credentials, the certificate fingerprint, the DTLS role and the SCTP parameters.
//!
//! ```text
//!   create_offer --> set_local(Offer) ---> have-local-offer --set_remote(Pranswer)--> have-remote-pranswer
//!                                             |   |  set_remote(Answer): stable          | set_remote(Answer)
//!                                             |   +-- set_local(Rollback): stable        v
//!                                             |                                        stable
//!                                             +-- set_remote(Offer), glare: polite rolls back
//!                                                 its offer and goes on below; impolite refuses
//!   set_remote(Offer) --> have-remote-offer --set_local(Pranswer)--> have-local-pranswer
//!                            |  set_local(Answer): stable                | set_local(Answer)
//!                            +-- set_remote(Rollback): stable            v stable
//!
//!   descriptions: pending (the offer or pranswer in flight) beside current (the last agreed)
//!   in one buffer per side; an answer commits both sides' pending, a rollback forgets it
//!   stable again: NegotiationNeeded if a channel or an ICE restart still wants an offer
//! ```

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
    // -----------------------------------------------------------------------------------------
    // Candidates
    // -----------------------------------------------------------------------------------------

    /// A host socket (`addr` is what it is bound to): it becomes a host candidate, reported
    /// as [`Event::LocalCandidate`], and server-reflexive gathering starts from it.
    pub fn add_local_candidate(&mut self, addr: SocketAddr) -> Result<(), CandidateError> {
        if self.closed {
            return Err(CandidateError::Closed);
        }
        if !self.hosts.contains(&Some(addr)) {
            let slot = self
                .hosts
                .iter_mut()
                .find(|h| h.is_none())
                .ok_or(CandidateError::TooManyHosts)?;
            *slot = Some(addr);
        }
        self.ice
            .add_local_candidate(addr)
            .map_err(CandidateError::Ice)?;
        self.mdns_publish(addr.ip());
        self.pump();
        Ok(())
    }

    /// A remote candidate from signalling (`addIceCandidate`): `candidate:...` with or
    /// without `a=`; an empty string means end-of-candidates.
    pub fn add_remote_candidate(&mut self, line: &str) -> Result<(), CandidateError> {
        if self.closed {
            return Err(CandidateError::Closed);
        }
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.trim_start_matches("a=") == "end-of-candidates" {
            Self::end_of_candidates(&mut self.ice, &mut self.mdns);
        } else {
            match self.ice.add_remote_candidate(trimmed) {
                Ok(()) => {}
                // A `.local` name: resolved through mDNS when the host lent a socket.
                Err(e @ ice::AddCandidateError::Parse(ice::ParseError::Hostname)) => {
                    if !Self::mdns_candidate(&mut self.mdns, &mut self.stats, self.now, trimmed)? {
                        return Err(CandidateError::Ice(e));
                    }
                }
                Err(e) => return Err(CandidateError::Ice(e)),
            }
        }
        self.pump();
        Ok(())
    }

    /// A candidate from the peer's description. A TCP or other-component candidate is not
    /// used, as browsers skip them; one the ICE agent has no room for is counted and reported
    /// once per description ([`Event::RemoteCandidatesRefused`]).
    fn add_signalled_candidate(
        ice: &mut Agent<REMOTE_CANDIDATES>,
        mdns: &mut mdns::MdnsCandidates,
        stats: &mut Stats,
        now: Instant,
        line: &str,
    ) -> bool {
        match ice.add_remote_candidate(line) {
            Ok(()) => true,
            Err(ice::AddCandidateError::Parse(ice::ParseError::Hostname)) => {
                match Self::mdns_candidate(mdns, stats, now, line) {
                    Ok(true) => true,
                    Ok(false) => {
                        stats.remote_candidates_unusable += 1;
                        true
                    }
                    // Counted as refused already.
                    Err(_) => false,
                }
            }
            Err(ice::AddCandidateError::Full) => {
                stats.remote_candidates_refused += 1;
                false
            }
            Err(_) => {
                stats.remote_candidates_unusable += 1;
                true
            }
        }
    }

    /// Restarts ICE (`restartIce()`): new credentials in the next offer; the current pair
    /// keeps carrying traffic until a new one is selected.
    pub fn restart_ice(&mut self) {
        if self.closed {
            return;
        }
        self.ice.restart();
        self.pump();
        self.update_negotiation_needed(false);
    }

    // -----------------------------------------------------------------------------------------
    // Descriptions (JSEP)
    // -----------------------------------------------------------------------------------------

    /// The mid of the data section (`sdpMid` of our candidates): "0" before any description.
    pub(super) fn sdp_mid(&self) -> &str {
        if self.data_mid.is_empty() {
            "0"
        } else {
            self.data_mid.as_str()
        }
    }

    pub(super) fn with_local<R>(&self, f: impl FnOnce(&jsep::Local<'_>) -> R) -> R {
        self.with_local_for(false, f)
    }

    /// Our capabilities for JSEP. `receive_only`: an offered media section no transceiver
    /// takes is accepted receive-only (only while associating a remote offer, which then
    /// creates the transceiver).
    pub(super) fn with_local_for<R>(
        &self,
        receive_only: bool,
        f: impl FnOnce(&jsep::Local<'_>) -> R,
    ) -> R {
        let creds = self.ice.local_credentials();
        let Some(fp) = sdp::attr::Fingerprint::parse(self.fingerprint.as_str()) else {
            // Our own fingerprint always parses; an empty list makes JSEP refuse cleanly.
            let local = jsep::Local::new(self.session_id, jsep::IceCredentials::new("", ""), &[]);
            return f(&local);
        };
        let fps = [fp];
        // Candidate lines without the `candidate:` prefix, as `a=candidate:` values.
        let mut texts = [Text::<200>::new(); 8];
        let mut n = 0;
        let hide_related = self.mdns.hiding();
        for (c, t) in self.ice.local_candidates().zip(texts.iter_mut()) {
            // A host address hidden behind its mDNS name (`Config::obfuscate_host_addresses`).
            let name = (c.kind == ice::CandidateType::Host)
                .then(|| self.mdns.name_for(c.address.ip()))
                .flatten();
            let _ = mdns::write_candidate(t, c, name, hide_related);
            n += 1;
        }
        let mut lines = [""; 8];
        for (l, t) in lines.iter_mut().zip(texts.iter()).take(n) {
            *l = t.as_str().strip_prefix("candidate:").unwrap_or(t.as_str());
        }
        let mid = self.sdp_mid();
        let mut local = jsep::Local::new(
            self.session_id,
            jsep::IceCredentials::new(creds.ufrag.as_str(), creds.pwd.as_str()),
            &fps,
        );
        local.trickle = self.config.trickle;
        local.candidates = lines.get(..n).unwrap_or_default();
        local.end_of_candidates = self.gathering_complete();
        local.answer_setup = self.config.answer_setup;
        local.dtls_role = self.dtls_role().map(|r| match r {
            dtls::Role::Client => Setup::Active,
            dtls::Role::Server => Setup::Passive,
        });
        local.audio_codecs = self.config.audio_codecs;
        local.video_codecs = self.config.video_codecs;
        local.audio_extmaps = media::AUDIO_EXTENSIONS;
        local.video_extmaps = media::VIDEO_EXTENSIONS;
        local.receive_only = receive_only;
        // Our transceivers in slot order (`live_slot` maps an index back to its slot), each
        // with its codec preferences expanded here.
        let mut preferred = [[media::NO_CODEC; media::MAX_PREFERRED_ENTRIES]; TRANSCEIVERS];
        let mut preferred_len = [0usize; TRANSCEIVERS];
        let mut transceivers = [jsep::Transceiver::new("", jsep::TrackKind::Audio); TRANSCEIVERS];
        let mut count = 0;
        // A Peer without transceivers lists none: skipped outright, because at opt-level z
        // the zipped iterators below stay out of line and would keep the codec code linked.
        if Self::HAS_MEDIA {
            for (((_, t), list), len) in self
                .media
                .iter()
                .zip(preferred.iter_mut())
                .zip(preferred_len.iter_mut())
            {
                let all = match t.kind {
                    jsep::TrackKind::Audio => self.config.audio_codecs,
                    jsep::TrackKind::Video => self.config.video_codecs,
                };
                if t.codec_preferences.iter().any(Option::is_some) {
                    *len = media::preferred_codecs(all, &t.codec_preferences, list);
                }
            }
            for ((((_, t), dst), list), len) in self
                .media
                .iter()
                .zip(transceivers.iter_mut())
                .zip(preferred.iter())
                .zip(preferred_len.iter())
            {
                let mut j = jsep::Transceiver::new(t.mid.as_str(), t.kind);
                j.codecs = list.get(..*len).filter(|l| !l.is_empty());
                j.direction = t.direction;
                j.stopped = t.stopped;
                j.cname = self.media.cname.as_str();
                if t.direction.sends() {
                    let stream = if t.stream_id.is_empty() {
                        "-"
                    } else {
                        t.stream_id.as_str()
                    };
                    j.msid = Some(sdp::attr::Msid {
                        stream,
                        track: Some(t.mid.as_str()),
                    });
                    j.ssrc = Some(t.ssrc);
                    let rtx = match t.kind {
                        jsep::TrackKind::Audio => local.audio_codecs,
                        jsep::TrackKind::Video => local.video_codecs,
                    }
                    .iter()
                    .any(|c| c.name.eq_ignore_ascii_case("rtx"));
                    j.rtx_ssrc = rtx.then_some(t.rtx_ssrc);
                }
                *dst = j;
                count += 1;
            }
        }
        local.transceivers = transceivers.get(..count).unwrap_or_default();
        let mut dc = jsep::DataChannel::new(mid);
        dc.max_message_size = self.local_max_message_size as u64;
        let answering = matches!(
            self.signaling,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        );
        local.data_channel = (answering || self.offers_data()).then_some(dc);
        f(&local)
    }

    pub(super) fn gathering_complete(&self) -> bool {
        // The agent says so once every host socket's candidates (and the server-reflexive
        // ones, with STUN servers) are out; before any socket there is nothing to complete.
        self.gathering == IceGatheringState::Complete
            && self.ice.local_candidates().next().is_some()
    }

    /// Writes an offer (`createOffer`) with one data channel section into `buf`, built on our
    /// latest description (sections keep their place, the session version goes up).
    pub fn create_offer<'b>(&mut self, buf: &'b mut [u8]) -> Result<&'b str, SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        if matches!(
            self.signaling,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(SdpError::WrongState);
        }
        self.assign_mids();
        let previous = self.local.latest().and_then(|t| Session::parse(t).ok());
        let len = self
            .with_local(|local| jsep::offer_to_slice(local, previous.as_ref(), buf).map(str::len));
        Self::written(buf, len)
    }

    /// Writes the answer to the applied remote offer (`createAnswer`) into `buf`; it may be
    /// applied as a provisional answer ([`SdpType::Pranswer`]) or the final one.
    pub fn create_answer<'b>(&mut self, buf: &'b mut [u8]) -> Result<&'b str, SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        if !matches!(
            self.signaling,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(SdpError::WrongState);
        }
        let offer =
            Session::parse(self.remote.latest().unwrap_or_default()).map_err(SdpError::Parse)?;
        let previous = self.local.latest().and_then(|t| Session::parse(t).ok());
        let len = self.with_local(|local| {
            jsep::answer_to_slice(local, &offer, previous.as_ref(), buf).map(str::len)
        });
        Self::written(buf, len)
    }

    fn written(buf: &[u8], len: Result<usize, jsep::JsepError>) -> Result<&str, SdpError> {
        match len {
            Ok(n) => Ok(core::str::from_utf8(buf.get(..n).unwrap_or_default()).unwrap_or_default()),
            Err(jsep::JsepError::BufferTooSmall(n)) => Err(SdpError::BufferTooSmall(n)),
            Err(e) => Err(SdpError::Jsep(e)),
        }
    }

    // -----------------------------------------------------------------------------------------
    // The descriptions as the browser shows them
    // -----------------------------------------------------------------------------------------

    /// `localDescription`: the pending one if an exchange is open, else the current one.
    #[must_use]
    pub fn local_description(&self) -> Option<&str> {
        self.local.latest()
    }

    /// `currentLocalDescription`: ours as last agreed (offer or answer of a finished exchange).
    #[must_use]
    pub fn current_local_description(&self) -> Option<&str> {
        self.local.current()
    }

    /// `pendingLocalDescription`: our offer or provisional answer still being negotiated.
    #[must_use]
    pub fn pending_local_description(&self) -> Option<&str> {
        self.local.pending()
    }

    /// `remoteDescription`: the pending one if an exchange is open, else the current one.
    #[must_use]
    pub fn remote_description(&self) -> Option<&str> {
        self.remote.latest()
    }

    /// `currentRemoteDescription`: the peer's as last agreed.
    #[must_use]
    pub fn current_remote_description(&self) -> Option<&str> {
        self.remote.current()
    }

    /// `pendingRemoteDescription`: the peer's offer or provisional answer being negotiated.
    #[must_use]
    pub fn pending_remote_description(&self) -> Option<&str> {
        self.remote.pending()
    }

    /// `canTrickleIceCandidates`: whether the peer's description announces
    /// `a=ice-options:trickle`; `None` before any remote description.
    #[must_use]
    pub fn can_trickle_ice_candidates(&self) -> Option<bool> {
        let session = Session::parse(self.remote.latest()?).ok()?;
        let trickle = |o: &str| o == "trickle";
        Some(match data_section(&session) {
            Some(data) => jsep::bundle_transport(&session, &data)
                .ice_options()
                .any(trickle),
            None => session.ice_options().any(trickle),
        })
    }

    // -----------------------------------------------------------------------------------------
    // Applying descriptions (JSEP §5.7)
    // -----------------------------------------------------------------------------------------

    /// Applies our own description (`setLocalDescription`), as written by
    /// [`Peer::create_offer`] or [`Peer::create_answer`]. An answer or provisional answer fixes
    /// our DTLS role and starts DTLS and SCTP; [`SdpType::Rollback`] withdraws our offer.
    pub fn set_local_description(&mut self, kind: SdpType, text: &str) -> Result<(), SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        if kind == SdpType::Rollback {
            return self.rollback_local();
        }
        let session = Session::parse(text).map_err(SdpError::Parse)?;
        let data = transport_section(&session).ok_or(SdpError::NoDataSection)?;
        let next = self
            .signaling
            .after(kind, Applied::Local)
            .ok_or(SdpError::WrongState)?;
        let role = match kind {
            SdpType::Offer => None,
            _ => Some(match data.setup() {
                Some(Setup::Active) => dtls::Role::Client,
                Some(Setup::Passive) => dtls::Role::Server,
                _ => return Err(SdpError::BadSetup),
            }),
        };
        // Checked before anything changes: a refused description leaves the Peer as it was.
        let stored = if next == SignalingState::Stable {
            self.local.set_current(text)
        } else {
            self.local.set_pending(text)
        };
        if !stored {
            return Err(SdpError::TooLarge);
        }
        if next == SignalingState::Stable {
            self.remote.commit();
        }
        // `session` is the text just stored: our latest description, and in stable our
        // current one. Handing it on saves parsing it twice more.
        self.refresh_data_mid_with(Some(&session), None);
        self.set_signaling(next);
        if let Some(role) = role {
            self.start_transport(role);
        }
        if next == SignalingState::Stable {
            self.apply_negotiation(true);
        }
        self.pump();
        let current = (next == SignalingState::Stable).then_some(&session);
        self.update_negotiation_needed_with(true, current);
        Ok(())
    }

    /// Applies the peer's description (`setRemoteDescription`): its ICE credentials and
    /// candidates, its certificate fingerprint, its DTLS role and SCTP parameters.
    ///
    /// A remote offer while our own is outstanding (glare) is applied by a
    /// [`Config::polite`] Peer, which first rolls its own offer back as a browser does; an
    /// impolite one refuses it with [`SdpError::OfferCollision`]. [`SdpType::Rollback`]
    /// withdraws the remote offer and restores the peer's transport parameters it replaced.
    ///
    /// # Perfect negotiation
    ///
    /// MDN's pattern, with the Peer's synchronous calls (so `makingOffer` is only ever true
    /// inside the offer code, and the signaling state tells the rest):
    ///
    /// ```
    /// use peerless::{Config, Event, Peer, SdpError, SdpType, SignalingState, Storage};
    /// use peerless_base::Instant;
    ///
    /// let (a_cert, b_cert) = peerless::selftest::certificates().map_err(|e| format!("{e:?}"))?;
    /// let (mut sa, mut sb) = (Box::new(Storage::<8192, 8192>::new()), Box::new(Storage::<8192, 8192>::new()));
    /// let (s, r) = sa.areas();
    /// let mut impolite: Peer<&mut [u8]> = Peer::new(Config::new(a_cert, [1; 32]), Instant::ZERO, s, r);
    /// let (s, r) = sb.areas();
    /// let mut polite: Peer<&mut [u8]> =
    ///     Peer::new(Config::new(b_cert, [2; 32]).with_polite(true), Instant::ZERO, s, r);
    ///
    /// // Both create a channel; each host offers on `NegotiationNeeded`, at the same time.
    /// let mut offers = Vec::new();
    /// for peer in [&mut impolite, &mut polite] {
    ///     peer.create_data_channel("chat", Default::default()).map_err(|e| format!("{e}"))?;
    ///     while let Some(e) = peer.poll_event() {
    ///         if e == Event::NegotiationNeeded {
    ///             let mut buf = [0u8; 2048];
    ///             let offer = peer.create_offer(&mut buf)?.to_owned();
    ///             peer.set_local_description(SdpType::Offer, &offer)?;
    ///             offers.push(offer);
    ///         }
    ///     }
    /// }
    /// // The offers cross. The impolite side ignores the polite one's offer...
    /// assert_eq!(
    ///     impolite.set_remote_description(SdpType::Offer, &offers[1]),
    ///     Err(SdpError::OfferCollision)
    /// );
    /// // ...the polite side rolls its own back and answers.
    /// polite.set_remote_description(SdpType::Offer, &offers[0])?;
    /// let mut buf = [0u8; 2048];
    /// let answer = polite.create_answer(&mut buf)?.to_owned();
    /// polite.set_local_description(SdpType::Answer, &answer)?;
    /// impolite.set_remote_description(SdpType::Answer, &answer)?;
    /// assert_eq!(impolite.signaling_state(), SignalingState::Stable);
    /// assert_eq!(polite.signaling_state(), SignalingState::Stable);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_remote_description(&mut self, kind: SdpType, text: &str) -> Result<(), SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        if kind == SdpType::Rollback {
            return self.rollback_remote();
        }
        let (role, next) = self.apply_remote_description(kind, text)?;
        if let Some(role) = role {
            self.start_transport(role);
        }
        if next == SignalingState::Stable {
            self.apply_negotiation(false);
        }
        self.pump();
        self.update_negotiation_needed(true);
        Ok(())
    }

    /// `set_remote_description` up to the transport: parses and checks the description and
    /// applies it to ICE, the descriptions and the media; returns the DTLS role it fixes (an
    /// answer) and the signaling state it moved to. Not inlined: the parsed descriptions (about
    /// 5 KB on the Cortex-M4) are gone before the transport starts, which is the deepest step
    /// of a handshake.
    #[inline(never)]
    fn apply_remote_description(
        &mut self,
        kind: SdpType,
        text: &str,
    ) -> Result<(Option<dtls::Role>, SignalingState), SdpError> {
        let session = Session::parse(text).map_err(SdpError::Parse)?;
        let data = transport_section(&session).ok_or(SdpError::NoDataSection)?;
        let collision = kind == SdpType::Offer && self.signaling == SignalingState::HaveLocalOffer;
        if collision && !self.config.polite {
            return Err(SdpError::OfferCollision);
        }
        // The implicit rollback happens only once the offer is known to be usable.
        let from = if collision {
            SignalingState::Stable
        } else {
            self.signaling
        };
        let next = from
            .after(kind, Applied::Remote)
            .ok_or(SdpError::WrongState)?;
        let fits = if next == SignalingState::Stable {
            Descriptions::<REMOTE_SDP>::fits_current(text.len())
        } else {
            self.remote.fits_pending(text.len())
        };
        if !fits {
            return Err(SdpError::TooLarge);
        }
        if kind != SdpType::Offer {
            let offer = Session::parse(self.local.pending().unwrap_or_default())
                .map_err(SdpError::Parse)?;
            jsep::check_answer(&offer, &session).map_err(SdpError::Answer)?;
        }
        let params = RemoteTransport::of(&session, &data)?;
        let role = if kind == SdpType::Offer {
            if params.setup == Setup::Holdconn {
                return Err(SdpError::BadSetup);
            }
            None
        } else {
            match jsep::offerer_role(params.setup) {
                Some(Setup::Active) => Some(dtls::Role::Client),
                Some(Setup::Passive) => Some(dtls::Role::Server),
                _ => return Err(SdpError::BadSetup),
            }
        };

        // Checked: from here on the description is applied.
        if collision {
            self.local.rollback();
            self.set_signaling(SignalingState::Stable);
        }
        if kind == SdpType::Offer {
            // The offerer controls (RFC 8445 §6.1.1), unless it is lite and we are not.
            let want = if params.ice_lite {
                ice::Role::Controlling
            } else {
                ice::Role::Controlled
            };
            if self.ice.role() != want && self.ice_state == IceState::New {
                // Keeps what was gathered (an answerer may gather before the offer comes).
                self.ice.set_role(want);
            }
        }
        let restart = !self.remote_ufrag.is_empty() && self.remote_ufrag.as_str() != params.ufrag;
        if restart && kind == SdpType::Offer {
            // An ICE restart from the peer: our answer carries new credentials too (RFC 8839
            // §4.4.1.1.1).
            self.ice.restart();
        }
        if self
            .ice
            .set_remote_credentials(params.ufrag, params.pwd)
            .is_err()
        {
            // Checked by `RemoteTransport::of`.
            return Err(SdpError::BadCredentials);
        }
        self.remote_ufrag = Text::copy_from(params.ufrag).unwrap_or_default();
        self.add_description_candidates(&session, &data);
        self.set_remote_transport(&params);
        let stored = if next == SignalingState::Stable {
            self.remote.set_current(text)
        } else {
            self.remote.set_pending(text)
        };
        debug_assert!(stored, "checked above");
        if next == SignalingState::Stable {
            self.local.commit();
        }
        // `session` is the text just stored, the peer's latest description.
        self.refresh_data_mid_with(None, Some(&session));
        self.set_signaling(next);
        if kind == SdpType::Offer {
            self.associate_remote_offer(&session);
        }
        Ok((role, next))
    }

    /// The ICE agent again, with `role` and our credentials and host sockets (its role can
    /// change only before any check).
    fn replace_agent(&mut self, role: ice::Role) {
        let creds = *self.ice.local_credentials();
        let mut seed = [0u8; SEED_LEN];
        self.rng.fill(&mut seed);
        // In place: the agent's tables are kilobytes.
        let config = Self::agent_config(&self.config, seed, role, Some(creds));
        self.ice.reset(config, self.now);
        for h in self.hosts.into_iter().flatten() {
            let _ = self.ice.add_local_candidate(h);
        }
        self.readd_tcp_hosts();
    }

    /// The candidates of every section bundled with the data section; how many found no room
    /// is reported once ([`Event::RemoteCandidatesRefused`]).
    fn add_description_candidates(&mut self, session: &Session<'_>, data: &sdp::Media<'_>) {
        let refused = Self::add_candidates(
            &mut self.ice,
            &mut self.mdns,
            &mut self.stats,
            self.now,
            session,
            data,
        );
        if refused > 0 {
            self.push(Queued::Ready(Ready::RemoteCandidatesRefused(refused)));
        }
    }

    fn add_candidates(
        ice: &mut Agent<REMOTE_CANDIDATES>,
        mdns: &mut mdns::MdnsCandidates,
        stats: &mut Stats,
        now: Instant,
        session: &Session<'_>,
        data: &sdp::Media<'_>,
    ) -> u32 {
        let mut end_of_candidates = false;
        // A candidate that took the place of an earlier one of this description (the table
        // keeps a mix of types) leaves that one out just the same: both count.
        let evicted_before = ice.stats().evicted;
        let mut refused = 0u32;
        for m in jsep::bundled_sections(session, data) {
            for c in m.candidates() {
                if !Self::add_signalled_candidate(ice, mdns, stats, now, c) {
                    refused += 1;
                }
            }
            end_of_candidates |= m.end_of_candidates();
        }
        let evicted = ice.stats().evicted.saturating_sub(evicted_before);
        stats.remote_candidates_refused += evicted;
        if end_of_candidates {
            Self::end_of_candidates(ice, mdns);
        }
        refused.saturating_add(u32::try_from(evicted).unwrap_or(u32::MAX))
    }

    /// The peer's SCTP port, message size limit and fingerprint, also into a running
    /// transport.
    fn set_remote_transport(&mut self, params: &RemoteTransport<'_>) {
        self.remote_sctp_port = params.sctp_port;
        self.remote_max_message_size = params.max_message_size;
        self.remote_fingerprint = params.fingerprint;
        if let Some(sctp) = self.transport.sctp() {
            if let Some(fp) = params.fingerprint {
                self.dtls.set_remote_fingerprint(fp);
            }
            sctp.set_remote_max_message_size(
                self.remote_max_message_size
                    .map_or(0, |m| usize::try_from(m).unwrap_or(usize::MAX)),
            );
        }
    }

    /// `setLocalDescription({type: "rollback"})`: our offer is withdrawn. Applying it changed
    /// only the descriptions (our credentials and candidates are ours either way), so
    /// forgetting the pending one is the whole undo.
    fn rollback_local(&mut self) -> Result<(), SdpError> {
        if self.signaling != SignalingState::HaveLocalOffer {
            return Err(SdpError::WrongState);
        }
        self.local.rollback();
        self.refresh_data_mid();
        self.set_signaling(SignalingState::Stable);
        self.pump();
        self.update_negotiation_needed(true);
        Ok(())
    }

    /// `setRemoteDescription({type: "rollback"})`: the peer's offer is withdrawn, and what it
    /// set comes from the current remote description again. With none (a first offer), the
    /// ICE agent starts over as before it (our role, no remote credentials or candidates). An
    /// offer that restarted ICE gave us new credentials that stay: `NegotiationNeeded` then
    /// asks for an offer carrying them.
    fn rollback_remote(&mut self) -> Result<(), SdpError> {
        if self.signaling != SignalingState::HaveRemoteOffer {
            return Err(SdpError::WrongState);
        }
        self.remote.rollback();
        // The current remote description was checked when it was applied.
        let current = self.remote.current().and_then(|text| {
            let session = Session::parse(text).ok()?;
            let data = transport_section(&session)?;
            let p = RemoteTransport::of(&session, &data).ok()?;
            let creds = ice::Credentials::new(p.ufrag, p.pwd).ok()?;
            let ufrag = Text::<256>::copy_from(p.ufrag)?;
            Some((creds, ufrag, p.sctp_port, p.max_message_size, p.fingerprint))
        });
        match current {
            None => {
                if self.transport.running().is_none() {
                    self.replace_agent(ice::Role::Controlling);
                    // Checks ran while the offer stood: a pair they selected goes with it.
                    if self.selected.take().is_some() {
                        self.report.selected_changed();
                    }
                    if self.ice_state != IceState::New {
                        self.ice_state = IceState::New;
                        self.push(Queued::Ready(Ready::IceState(IceState::New)));
                    }
                }
                self.remote_ufrag = Text::new();
                self.remote_sctp_port = 5000;
                self.remote_max_message_size = Some(jsep::IMPLICIT_MAX_MESSAGE_SIZE);
                self.remote_fingerprint = None;
            }
            Some((creds, ufrag, sctp_port, max_message_size, fingerprint)) => {
                if self.remote_ufrag.as_str() != ufrag.as_str() {
                    // The offer restarted ICE: the checks start over under the agreed remote
                    // credentials, with the agreed candidates (the old pair goes on meanwhile).
                    let _ = self
                        .ice
                        .set_remote_credentials(creds.ufrag.as_str(), creds.pwd.as_str());
                    self.remote_ufrag = ufrag;
                    let mut refused = 0;
                    if let Some(session) =
                        self.remote.current().and_then(|t| Session::parse(t).ok())
                        && let Some(data) = transport_section(&session)
                    {
                        refused = Self::add_candidates(
                            &mut self.ice,
                            &mut self.mdns,
                            &mut self.stats,
                            self.now,
                            &session,
                            &data,
                        );
                    }
                    if refused > 0 {
                        self.push(Queued::Ready(Ready::RemoteCandidatesRefused(refused)));
                    }
                }
                self.set_remote_transport(&RemoteTransport {
                    ufrag: "",
                    pwd: "",
                    fingerprint,
                    setup: Setup::Actpass,
                    sctp_port,
                    max_message_size,
                    ice_lite: false,
                });
            }
        }
        self.refresh_data_mid();
        self.set_signaling(SignalingState::Stable);
        self.pump();
        self.update_negotiation_needed(true);
        Ok(())
    }

    /// The data section's mid and index, from our latest description, else the peer's.
    fn refresh_data_mid(&mut self) {
        self.refresh_data_mid_with(None, None);
    }

    /// As [`Self::refresh_data_mid`], with our latest description (`local`) or the peer's
    /// (`remote`) already parsed by the caller; the others are parsed here.
    fn refresh_data_mid_with(&mut self, local: Option<&Session<'_>>, remote: Option<&Session<'_>>) {
        let from = |given: Option<&Session<'_>>, text: Option<&str>| match given {
            Some(session) => data_mid_of(session),
            None => data_mid_of(&Session::parse(text?).ok()?),
        };
        let found = from(local, self.local.latest()).or_else(|| from(remote, self.remote.latest()));
        (self.data_mid, self.data_mline) = found.unwrap_or_default();
    }

    pub(super) fn set_signaling(&mut self, state: SignalingState) {
        if self.signaling != state {
            self.signaling = state;
            self.push(Queued::Ready(Ready::SignalingState(state)));
        }
    }

    /// Whether an offer is needed: a data channel exists but no agreed description of ours
    /// has a data section, or our ICE credentials are not the agreed ones (a restart).
    /// `current`: our current description, if the caller has it parsed.
    fn needs_negotiation(&self, current: Option<&Session<'_>>) -> bool {
        let channels = self.channels.iter().any(|c| c.state != ChannelState::Free);
        let parsed;
        let session = match current {
            Some(session) => session,
            None => match self.local.current().and_then(|t| Session::parse(t).ok()) {
                Some(session) => {
                    parsed = session;
                    &parsed
                }
                None => return channels || self.media.any(),
            },
        };
        if self.media_needs_negotiation(session) {
            return true;
        }
        let Some(data) = data_section(session) else {
            return channels
                || transport_section(session).is_some_and(|t| {
                    jsep::bundle_transport(session, &t).ice_ufrag()
                        != Some(self.ice.local_credentials().ufrag.as_str())
                });
        };
        jsep::bundle_transport(session, &data).ice_ufrag()
            != Some(self.ice.local_credentials().ufrag.as_str())
    }

    /// W3C "check if negotiation is needed", for transceivers: one not yet in a description,
    /// one stopped whose section is still live, or one whose direction is not what our
    /// current description says.
    fn media_needs_negotiation(&self, local: &Session<'_>) -> bool {
        // No transceiver, no need: and no parse of the remote description to find that out.
        if !self.media.any() {
            return false;
        }
        let remote = self.remote.current().and_then(|t| Session::parse(t).ok());
        let we_offered = self.local_is_offer();
        self.media.iter().any(|(_, t)| {
            if t.mid.is_empty() {
                return !t.stopped;
            }
            let Some(section) = local.media_by_mid(t.mid.as_str()) else {
                return !t.stopped;
            };
            if t.stopped {
                return !section.is_rejected();
            }
            if section.is_rejected() {
                return false;
            }
            let wanted = if we_offered {
                t.direction
            } else {
                let offered = remote
                    .as_ref()
                    .and_then(|r| r.media_by_mid(t.mid.as_str()))
                    .map_or(Direction::SendRecv, |m| m.direction());
                Direction::answer(offered, t.direction)
            };
            section.direction() != wanted
        })
    }

    /// W3C "update the negotiation-needed flag": in stable only, raise
    /// [`Event::NegotiationNeeded`] when a need appears, or again after a negotiation
    /// (`negotiated`) that did not settle it; the flag drops when the need is gone.
    pub(super) fn update_negotiation_needed(&mut self, negotiated: bool) {
        self.update_negotiation_needed_with(negotiated, None);
    }

    /// As [`Self::update_negotiation_needed`], with our current description already parsed.
    fn update_negotiation_needed_with(&mut self, negotiated: bool, current: Option<&Session<'_>>) {
        if self.closed || self.signaling != SignalingState::Stable {
            return;
        }
        let need = self.needs_negotiation(current);
        let raise = need && (!self.negotiation_needed || negotiated);
        self.negotiation_needed = need;
        if raise {
            self.push(Queued::Ready(Ready::NegotiationNeeded));
        }
    }
}

/// The mid and index of a description's data section, else (media only) of its first live
/// section: candidates belong to the BUNDLE transport either way.
fn data_mid_of(session: &Session<'_>) -> Option<(Text<32>, u16)> {
    let live = || {
        session
            .media()
            .enumerate()
            .filter(|(_, m)| !m.is_rejected())
    };
    let (index, data) = live()
        .find(|(_, m)| m.media_line().is_datachannel())
        .or_else(|| live().next())?;
    Some((
        Text::copy_from(data.mid().unwrap_or_default())?,
        u16::try_from(index).ok()?,
    ))
}

/// The section whose BUNDLE transport carries everything: the data section, else the first
/// live media section.
pub(super) fn transport_section<'s>(s: &Session<'s>) -> Option<sdp::Media<'s>> {
    data_section(s).or_else(|| {
        s.media()
            .find(|m| !m.is_rejected() && (m.media_line().is_rtp() || m.bundle_only()))
    })
}

/// The transport parameters a remote description sets, read from the data section's BUNDLE
/// transport (a browser's offer tags its first, audio, section, and only that one needs to
/// carry them).
struct RemoteTransport<'s> {
    ufrag: &'s str,
    pwd: &'s str,
    fingerprint: Option<dtls::Fingerprint>,
    setup: Setup,
    sctp_port: u16,
    max_message_size: Option<u64>,
    ice_lite: bool,
}

impl<'s> RemoteTransport<'s> {
    fn of(session: &Session<'s>, data: &sdp::Media<'s>) -> Result<Self, SdpError> {
        let transport = jsep::bundle_transport(session, data);
        let (Some(ufrag), Some(pwd)) = (transport.ice_ufrag(), transport.ice_pwd()) else {
            return Err(SdpError::NoDataSection);
        };
        if ice::Credentials::new(ufrag, pwd).is_err() {
            return Err(SdpError::BadCredentials);
        }
        // Prefer SHA-256 (what our DTLS checks most cheaply), else any hash we know.
        let fingerprint = transport
            .fingerprints()
            .filter_map(|f| to_dtls_fingerprint(&f))
            .min_by_key(|f| match f.algorithm() {
                dtls::HashAlgorithm::Sha256 => 0,
                dtls::HashAlgorithm::Sha384 => 1,
                dtls::HashAlgorithm::Sha512 => 2,
                dtls::HashAlgorithm::Sha1 => 3,
            })
            .ok_or(SdpError::NoFingerprint)?;
        Ok(RemoteTransport {
            ufrag,
            pwd,
            fingerprint: Some(fingerprint),
            // RFC 4145 §4: a description without a=setup is active (an offer like that leaves
            // us passive, which jsep's answer writes).
            setup: transport.setup().unwrap_or(Setup::Active),
            sctp_port: data.sctp_port().unwrap_or(5000),
            max_message_size: jsep::remote_max_message_size(data),
            ice_lite: session.ice_lite() || transport.ice_lite(),
        })
    }
}
