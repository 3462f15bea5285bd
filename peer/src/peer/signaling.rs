//! Signaling: local and remote candidates, and the descriptions (JSEP) that carry ICE
//! credentials, the certificate fingerprint, the DTLS role and the SCTP parameters.

use super::*;

impl<
    'a,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
> Peer<'a, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES>
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
            self.ice.end_of_remote_candidates();
        } else {
            self.ice
                .add_remote_candidate(trimmed)
                .map_err(CandidateError::Ice)?;
        }
        self.pump();
        Ok(())
    }

    /// A candidate from the peer's description. A TCP or other-component candidate is not
    /// used, as browsers skip them; one the ICE agent has no room for is counted and reported
    /// once per description ([`Event::RemoteCandidatesRefused`]).
    pub(super) fn add_signalled_candidate(&mut self, line: &str) -> bool {
        match self.ice.add_remote_candidate(line) {
            Ok(()) => true,
            Err(ice::AddCandidateError::Full) => {
                self.stats.remote_candidates_refused += 1;
                false
            }
            Err(_) => {
                self.stats.remote_candidates_unusable += 1;
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
        self.gathered = false;
        self.pump();
    }

    // -----------------------------------------------------------------------------------------
    // Descriptions (JSEP)
    // -----------------------------------------------------------------------------------------

    pub(super) fn with_local<R>(&self, f: impl FnOnce(&jsep::Local<'_>) -> R) -> R {
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
        for (c, t) in self.ice.local_candidates().zip(texts.iter_mut()) {
            let _ = write!(t, "{c}");
            n += 1;
        }
        let mut lines = [""; 8];
        for (l, t) in lines.iter_mut().zip(texts.iter()).take(n) {
            *l = t.as_str().strip_prefix("candidate:").unwrap_or(t.as_str());
        }
        let mid = if self.data_mid.is_empty() {
            "0"
        } else {
            self.data_mid.as_str()
        };
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
        // Until the Peer carries media, audio and video sections are rejected with port 0
        // (RFC 8829 §5.3.1): no codecs to answer with. Accepting them receive-only would make
        // the peer send media we would decrypt and throw away.
        local.audio_codecs = &[];
        local.video_codecs = &[];
        let mut dc = jsep::DataChannel::new(mid);
        dc.max_message_size = self.local_max_message_size as u64;
        local.data_channel = Some(dc);
        f(&local)
    }

    pub(super) fn gathering_complete(&self) -> bool {
        // The agent says so once every host socket's candidates (and the server-reflexive
        // ones, with STUN servers) are out; before any socket there is nothing to complete.
        self.gathered && self.ice.local_candidates().next().is_some()
    }

    /// Writes an offer (`createOffer`) with one data channel section into `buf`.
    pub fn create_offer<'b>(&mut self, buf: &'b mut [u8]) -> Result<&'b str, SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        if self.signaling == SignalingState::HaveRemoteOffer {
            return Err(SdpError::WrongState);
        }
        let previous_text = self.local_sdp;
        let previous = Session::parse(previous_text.as_str()).ok();
        let len = self
            .with_local(|local| jsep::offer_to_slice(local, previous.as_ref(), buf).map(str::len));
        match len {
            Ok(n) => Ok(core::str::from_utf8(buf.get(..n).unwrap_or_default()).unwrap_or_default()),
            Err(jsep::JsepError::BufferTooSmall(n)) => Err(SdpError::BufferTooSmall(n)),
            Err(e) => Err(SdpError::Jsep(e)),
        }
    }

    /// Writes the answer to the applied remote offer (`createAnswer`) into `buf`.
    pub fn create_answer<'b>(&mut self, buf: &'b mut [u8]) -> Result<&'b str, SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        if self.signaling != SignalingState::HaveRemoteOffer {
            return Err(SdpError::WrongState);
        }
        let remote_text = self.remote_sdp;
        let offer = Session::parse(remote_text.as_str()).map_err(SdpError::Parse)?;
        let previous_text = self.local_sdp;
        let previous = Session::parse(previous_text.as_str()).ok();
        let len = self.with_local(|local| {
            jsep::answer_to_slice(local, &offer, previous.as_ref(), buf).map(str::len)
        });
        match len {
            Ok(n) => Ok(core::str::from_utf8(buf.get(..n).unwrap_or_default()).unwrap_or_default()),
            Err(jsep::JsepError::BufferTooSmall(n)) => Err(SdpError::BufferTooSmall(n)),
            Err(e) => Err(SdpError::Jsep(e)),
        }
    }

    /// Applies our own description (`setLocalDescription`), as written by
    /// [`Peer::create_offer`] or [`Peer::create_answer`]. Applying an answer fixes our DTLS
    /// role and starts DTLS and SCTP.
    pub fn set_local_description(&mut self, kind: SdpType, text: &str) -> Result<(), SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        let session = Session::parse(text).map_err(SdpError::Parse)?;
        let data = data_section(&session).ok_or(SdpError::NoDataSection)?;
        let stored = Text::copy_from(text).ok_or(SdpError::TooLarge)?;
        match (kind, self.signaling) {
            (SdpType::Offer, SignalingState::Stable | SignalingState::HaveLocalOffer) => {
                self.signaling = SignalingState::HaveLocalOffer;
            }
            (SdpType::Answer, SignalingState::HaveRemoteOffer) => {
                let role = match data.setup() {
                    Some(Setup::Active) => dtls::Role::Client,
                    Some(Setup::Passive) => dtls::Role::Server,
                    _ => return Err(SdpError::BadSetup),
                };
                self.signaling = SignalingState::Stable;
                self.start_transport(role);
            }
            _ => return Err(SdpError::WrongState),
        }
        if let Some(mid) = data.mid().and_then(Text::copy_from) {
            self.data_mid = mid;
        }
        self.local_sdp = stored;
        self.pump();
        Ok(())
    }

    /// Applies the peer's description (`setRemoteDescription`): its ICE credentials and
    /// candidates, its certificate fingerprint, its DTLS role and SCTP parameters.
    pub fn set_remote_description(&mut self, kind: SdpType, text: &str) -> Result<(), SdpError> {
        if self.closed {
            return Err(SdpError::Closed);
        }
        let session = Session::parse(text).map_err(SdpError::Parse)?;
        let data = data_section(&session).ok_or(SdpError::NoDataSection)?;
        let stored = Text::<REMOTE_SDP>::copy_from(text).ok_or(SdpError::TooLarge)?;
        if kind == SdpType::Answer && self.signaling == SignalingState::HaveLocalOffer {
            let ours = self.local_sdp;
            let offer = Session::parse(ours.as_str()).map_err(SdpError::Parse)?;
            jsep::check_answer(&offer, &session).map_err(SdpError::Answer)?;
        }
        // ICE credentials, fingerprint and role are the BUNDLE transport's: a browser's offer
        // tags its first (audio) section, and only that one needs to carry them.
        let transport = jsep::bundle_transport(&session, &data);
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
        // RFC 4145 §4: a description without a=setup is active (an offer like that leaves us
        // passive, which jsep's answer writes).
        let setup = transport.setup().unwrap_or(Setup::Active);
        let role = match (kind, self.signaling) {
            (SdpType::Offer, SignalingState::Stable | SignalingState::HaveRemoteOffer) => {
                if setup == Setup::Holdconn {
                    return Err(SdpError::BadSetup);
                }
                None
            }
            (SdpType::Answer, SignalingState::HaveLocalOffer) => match jsep::offerer_role(setup) {
                Some(Setup::Active) => Some(dtls::Role::Client),
                Some(Setup::Passive) => Some(dtls::Role::Server),
                _ => return Err(SdpError::BadSetup),
            },
            _ => return Err(SdpError::WrongState),
        };
        if kind == SdpType::Offer {
            // The offerer controls (RFC 8445 §6.1.1), unless it is lite and we are not.
            let want = if session.ice_lite() || transport.ice_lite() {
                ice::Role::Controlling
            } else {
                ice::Role::Controlled
            };
            if self.ice.role() != want && self.ice_state == IceState::New {
                let creds = *self.ice.local_credentials();
                self.ice =
                    Self::make_agent(&self.config, &mut self.rng, want, Some(creds), self.now);
                for h in self.hosts.into_iter().flatten() {
                    let _ = self.ice.add_local_candidate(h);
                }
            }
            if let Some(mid) = data.mid().and_then(Text::copy_from) {
                self.data_mid = mid;
            }
            self.signaling = SignalingState::HaveRemoteOffer;
        } else {
            self.signaling = SignalingState::Stable;
        }
        let restart = !self.remote_ufrag.is_empty() && self.remote_ufrag.as_str() != ufrag;
        if restart && kind == SdpType::Offer {
            // An ICE restart from the peer: our answer carries new credentials too (RFC 8839
            // §4.4.1.1.1).
            self.ice.restart();
            self.gathered = false;
        }
        if self.ice.set_remote_credentials(ufrag, pwd).is_err() {
            return Err(SdpError::BadCredentials);
        }
        self.remote_ufrag = Text::copy_from(ufrag).unwrap_or_default();
        let mut end_of_candidates = false;
        // A candidate that took the place of an earlier one of this description (the table
        // keeps a mix of types) leaves that one out just the same: both count.
        let evicted_before = self.ice.stats().evicted;
        let mut refused = 0u32;
        for m in jsep::bundled_sections(&session, &data) {
            for c in m.candidates() {
                if !self.add_signalled_candidate(c) {
                    refused += 1;
                }
            }
            end_of_candidates |= m.end_of_candidates();
        }
        let evicted = self.ice.stats().evicted.saturating_sub(evicted_before);
        let refused = refused.saturating_add(u32::try_from(evicted).unwrap_or(u32::MAX));
        if refused > 0 {
            self.stats.remote_candidates_refused += evicted;
            self.push(Queued::Ready(Ready::RemoteCandidatesRefused(refused)));
        }
        if end_of_candidates {
            self.ice.end_of_remote_candidates();
        }
        self.remote_sctp_port = data.sctp_port().unwrap_or(5000);
        self.remote_max_message_size = jsep::remote_max_message_size(&data);
        self.remote_fingerprint = Some(fingerprint);
        if let Some(run) = self.transport.running_mut() {
            run.dtls.set_remote_fingerprint(fingerprint);
            run.sctp.set_remote_max_message_size(
                self.remote_max_message_size
                    .map_or(0, |m| usize::try_from(m).unwrap_or(usize::MAX)),
            );
        }
        self.remote_sdp = stored;
        if let Some(role) = role {
            self.start_transport(role);
        }
        self.pump();
        Ok(())
    }
}
