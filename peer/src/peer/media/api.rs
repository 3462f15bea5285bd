//! The browser's media API on the Peer: `addTransceiver`, `addTrack`, `removeTrack`,
//! `direction`, `stop`, the areas that hold media, and the transceivers' state.

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
    /// Lends an area for one media stream of `kind`: for [`AreaUse::Send`], the packets of a
    /// stream we send wait in it to leave and stay there for retransmission; for
    /// [`AreaUse::Receive`], one incoming stream's jitter buffer and its largest frame. A
    /// stream takes an area of its kind and use when it starts and gives it back when it ends.
    ///
    /// Sizes (see the crate docs' table): audio 16 KiB each way is plenty; 720p video wants a
    /// send area of 256 KiB (a second of packets at 2 Mbit/s for retransmission) and a receive
    /// area of 768 KiB (a 256 KiB keyframe plus 400 packet slots).
    ///
    /// # Errors
    ///
    /// The area back, when [`MEDIA_AREAS`] areas are already lent.
    pub fn lend_media_area(&mut self, kind: MediaKind, use_: AreaUse, area: S) -> Result<(), S> {
        let lent = self.media.pool.iter().filter(|a| a.is_some()).count();
        let in_use = self.media.iter().filter(|(_, t)| t.send.is_some()).count()
            + self.media.receivers.iter().filter(|r| r.is_some()).count();
        if lent + in_use >= MEDIA_AREAS {
            return Err(area);
        }
        match self.media.pool.iter_mut().find(|a| a.is_none()) {
            Some(slot) => {
                *slot = Some(LentArea { kind, use_, area });
                // A stream that waited for an area may start now.
                for slot in 0..TRANSCEIVERS {
                    if self
                        .media
                        .get(TransceiverId(slot as u8))
                        .is_some_and(|t| t.sends() && t.send.is_none())
                    {
                        self.update_streams(slot);
                    }
                }
                Ok(())
            }
            None => Err(area),
        }
    }

    /// `addTransceiver(kind, {direction})`: a new transceiver, associated with a media section
    /// by the next negotiation (raises [`Event::NegotiationNeeded`]).
    ///
    /// # Errors
    ///
    /// [`MediaError::TooManyTransceivers`] when every slot is taken, [`MediaError::Closed`].
    pub fn add_transceiver(
        &mut self,
        kind: MediaKind,
        direction: Direction,
    ) -> Result<TransceiverId, MediaError> {
        if self.closed {
            return Err(MediaError::Closed);
        }
        let (ssrc, rtx) = self.new_ssrcs();
        let slot = self
            .media
            .transceivers
            .iter()
            .position(Option::is_none)
            .ok_or(MediaError::TooManyTransceivers)?;
        if let Some(s) = self.media.transceivers.get_mut(slot) {
            let mut t = Transceiver::new(kind, direction, ssrc, rtx);
            t.raw = self.config.raw_receive;
            *s = Some(t);
        }
        self.update_negotiation_needed(false);
        Ok(TransceiverId(slot as u8))
    }

    /// `addTrack(track, stream)`: a track of `kind` to send, in the media stream
    /// `stream_id` (`a=msid`). It takes a transceiver of its kind that never had a track
    /// (one the peer's offer created, so the answer sends on it) or a new `sendrecv` one.
    ///
    /// # Errors
    ///
    /// As [`Peer::add_transceiver`].
    pub fn add_track(
        &mut self,
        kind: MediaKind,
        stream_id: &str,
    ) -> Result<TransceiverId, MediaError> {
        if self.closed {
            return Err(MediaError::Closed);
        }
        let reusable = self
            .media
            .iter()
            .find(|(_, t)| t.kind == kind && !t.had_track && !t.stopped)
            .map(|(slot, _)| slot);
        let id = match reusable {
            Some(slot) => TransceiverId(slot as u8),
            None => self.add_transceiver(kind, Direction::SendRecv)?,
        };
        let t = self
            .media
            .get_mut(id)
            .ok_or(MediaError::UnknownTransceiver)?;
        t.had_track = true;
        t.stream_id = Text::copy_from(stream_id).unwrap_or_default();
        t.direction = Direction::from_flags(true, t.direction.receives());
        self.update_negotiation_needed(false);
        Ok(id)
    }

    /// `removeTrack(sender)`: the transceiver stops sending after the next negotiation.
    ///
    /// # Errors
    ///
    /// [`MediaError::UnknownTransceiver`].
    pub fn remove_track(&mut self, id: TransceiverId) -> Result<(), MediaError> {
        let t = self
            .media
            .get_mut(id)
            .ok_or(MediaError::UnknownTransceiver)?;
        t.direction = Direction::from_flags(false, t.direction.receives());
        self.update_negotiation_needed(false);
        Ok(())
    }

    /// `transceiver.direction = ...`: takes effect with the next negotiation.
    ///
    /// # Errors
    ///
    /// [`MediaError::UnknownTransceiver`], [`MediaError::Stopped`].
    pub fn set_direction(
        &mut self,
        id: TransceiverId,
        direction: Direction,
    ) -> Result<(), MediaError> {
        let t = self
            .media
            .get_mut(id)
            .ok_or(MediaError::UnknownTransceiver)?;
        if t.stopped {
            return Err(MediaError::Stopped);
        }
        t.direction = direction;
        self.update_negotiation_needed(false);
        Ok(())
    }

    /// `transceiver.stop()`: it sends and receives nothing from now on, and the next
    /// negotiation rejects its section (port 0).
    ///
    /// # Errors
    ///
    /// [`MediaError::UnknownTransceiver`].
    pub fn stop_transceiver(&mut self, id: TransceiverId) -> Result<(), MediaError> {
        let t = self
            .media
            .get_mut(id)
            .ok_or(MediaError::UnknownTransceiver)?;
        t.stopped = true;
        t.current_direction = None;
        self.update_streams(usize::from(id.0));
        self.update_negotiation_needed(false);
        Ok(())
    }

    /// Raw mode for what the transceiver receives (a media server that forwards packets):
    /// every RTP packet is handed out as it comes, unprotected, in [`Event::Rtp`], with no
    /// jitter buffer: the stream's receive area queues whole packets until they are handed
    /// out (a host that reads datagrams in batches before draining loses none while the area
    /// has room); RTX is restored to the original packet; statistics, receiver reports and
    /// NACKs go on as in frame mode. Applies to streams that start after the call (set it
    /// before the negotiation).
    ///
    /// # Errors
    ///
    /// [`MediaError::UnknownTransceiver`].
    pub fn set_raw_receive(&mut self, id: TransceiverId, raw: bool) -> Result<(), MediaError> {
        self.media
            .get_mut(id)
            .ok_or(MediaError::UnknownTransceiver)?
            .raw = raw;
        Ok(())
    }

    /// `setCodecPreferences(codecs)`: the codecs this transceiver offers and accepts, in this
    /// order, from the configured ones of its kind (their RTX entries and telephone-event
    /// follow on their own); an empty list goes back to all of them. Takes effect with the
    /// next negotiation (it does not by itself need one, as in the browser).
    ///
    /// # Errors
    ///
    /// [`MediaError::UnknownTransceiver`]; [`MediaError::Unsupported`] for a codec not
    /// configured for the transceiver's kind, or more than [`MAX_PREFERENCES`].
    pub fn set_codec_preferences(
        &mut self,
        id: TransceiverId,
        codecs: &[Codec],
    ) -> Result<(), MediaError> {
        let (audio, video) = (self.config.audio_codecs, self.config.video_codecs);
        let t = self
            .media
            .get_mut(id)
            .ok_or(MediaError::UnknownTransceiver)?;
        let all = match t.kind {
            MediaKind::Audio => audio,
            MediaKind::Video => video,
        };
        let known = |c: &Codec| {
            all.iter()
                .any(|x| Codec::from_rtpmap(x.name, x.clock_rate) == Some(*c))
        };
        if codecs.len() > MAX_PREFERENCES || !codecs.iter().all(known) {
            return Err(MediaError::Unsupported);
        }
        t.codec_preferences = [None; MAX_PREFERENCES];
        for (slot, c) in t.codec_preferences.iter_mut().zip(codecs) {
            *slot = Some(*c);
        }
        Ok(())
    }

    /// `receiver.getSynchronizationSources()`: each source the transceiver receives (one
    /// per simulcast layer), with when its last packet arrived and that packet's RTP
    /// timestamp. No audio level: the extension is not negotiated.
    pub fn synchronization_sources(
        &self,
        id: TransceiverId,
    ) -> impl Iterator<Item = RtpSource> + '_ {
        let slot = usize::from(id.0);
        self.media
            .receivers
            .iter()
            .flatten()
            .filter(move |r| r.transceiver == slot)
            .filter_map(|r| {
                let (timestamp, rtp_timestamp) = r.last_packet?;
                Some(RtpSource {
                    source: r.ssrc,
                    timestamp,
                    rtp_timestamp,
                })
            })
    }

    /// `receiver.getContributingSources()`: the CSRCs of the last packet of each stream
    /// (what a mixer names as its inputs), with that packet's arrival and RTP timestamp.
    pub fn contributing_sources(&self, id: TransceiverId) -> impl Iterator<Item = RtpSource> + '_ {
        let slot = usize::from(id.0);
        self.media
            .receivers
            .iter()
            .flatten()
            .filter(move |r| r.transceiver == slot)
            .flat_map(|r| {
                let last = r.last_packet;
                r.csrcs
                    .iter()
                    .take(usize::from(r.csrc_count))
                    .filter_map(move |&c| {
                        let (timestamp, rtp_timestamp) = last?;
                        Some(RtpSource {
                            source: c,
                            timestamp,
                            rtp_timestamp,
                        })
                    })
            })
    }

    /// The transceivers, in creation order of their slots.
    pub fn transceivers(&self) -> impl Iterator<Item = TransceiverId> + '_ {
        self.media.iter().map(|(slot, _)| TransceiverId(slot as u8))
    }

    /// The transceiver associated with `mid`.
    #[must_use]
    pub fn transceiver(&self, mid: &str) -> Option<TransceiverId> {
        self.media.by_mid(mid).map(|slot| TransceiverId(slot as u8))
    }

    /// `transceiver.mid`: `None` until a negotiation associates it.
    #[must_use]
    pub fn mid(&self, id: TransceiverId) -> Option<&str> {
        self.media
            .get(id)
            .map(|t| t.mid.as_str())
            .filter(|m| !m.is_empty())
    }

    /// `transceiver.receiver.track.kind`.
    #[must_use]
    pub fn kind(&self, id: TransceiverId) -> Option<MediaKind> {
        self.media.get(id).map(|t| t.kind)
    }

    /// `transceiver.direction`: what we asked for.
    #[must_use]
    pub fn direction(&self, id: TransceiverId) -> Option<Direction> {
        self.media.get(id).map(|t| t.direction)
    }

    /// `transceiver.currentDirection`: what the last negotiation agreed, from our side.
    #[must_use]
    pub fn current_direction(&self, id: TransceiverId) -> Option<Direction> {
        self.media.get(id).and_then(|t| t.current_direction)
    }

    /// `transceiver.stopped` (a stopped transceiver is gone after the next negotiation).
    #[must_use]
    pub fn is_stopped(&self, id: TransceiverId) -> bool {
        self.media.get(id).is_none_or(|t| t.stopped)
    }

    /// The negotiated media codecs of a transceiver with their payload types, in the
    /// answer's order (`sender.getParameters().codecs`).
    pub fn codecs(&self, id: TransceiverId) -> impl Iterator<Item = (u8, Codec)> + '_ {
        self.media
            .get(id)
            .into_iter()
            .flat_map(|t| t.negotiated.codecs.iter().flatten())
            .map(|c| (c.pt, c.codec))
    }

    /// The negotiated payload type of `codec` on the transceiver with `mid`.
    #[must_use]
    pub fn payload_type(&self, mid: &str, codec: Codec) -> Option<u8> {
        let id = self.transceiver(mid)?;
        self.codecs(id).find(|(_, c)| *c == codec).map(|(pt, _)| pt)
    }

    /// A transceiver's counters.
    #[must_use]
    pub fn media_stats(&self, id: TransceiverId) -> Option<MediaStats> {
        let t = self.media.get(id)?;
        let mut s = t.stats;
        let slot = usize::from(id.0);
        for r in self.media.receivers.iter().flatten() {
            if r.transceiver == slot {
                r.add_stats(&mut s);
            }
        }
        if let Some(send) = &t.send {
            send.add_stats(&mut s);
        }
        Some(s)
    }

    /// Two fresh SSRCs, distinct from every one in use.
    fn new_ssrcs(&mut self) -> (u32, u32) {
        let mut pick = |media: &Media<S, TRANSCEIVERS>| loop {
            let s = self.rng.u32();
            if s != 0 && !media.iter().any(|(_, t)| t.ssrc == s || t.rtx_ssrc == s) {
                break s;
            }
        };
        let a = pick(&self.media);
        let mut b = pick(&self.media);
        while b == a {
            b = pick(&self.media);
        }
        (a, b)
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
    /// Whether a transceiver's slot has something to announce.
    pub(in crate::peer) fn has_media_announcement(&mut self) -> bool {
        self.media.transceivers.iter_mut().flatten().any(|t| {
            t.announce_track
                || t.announce_keyframe.is_some()
                || t.announce_area_needed.is_some()
                || t.dtmf
                    .as_mut()
                    .is_some_and(|d| d.announce.is_some() || d.has_received())
        })
    }

    /// What a transceiver's slot has to announce: a new track, a keyframe request, a missing
    /// area, DTMF.
    pub(in crate::peer) fn poll_media_announcement(&mut self) -> Option<Event<'_>> {
        let slot = self.media.transceivers.iter_mut().position(|t| {
            t.as_mut().is_some_and(|t| {
                t.announce_track
                    || t.announce_keyframe.is_some()
                    || t.announce_area_needed.is_some()
                    || t.dtmf
                        .as_mut()
                        .is_some_and(|d| d.announce.is_some() || d.has_received())
            })
        })?;
        let t = self.media.transceivers.get_mut(slot)?.as_mut()?;
        if let Some(d) = t.dtmf.as_mut() {
            if let Some(tone) = d.announce.take() {
                return Some(Event::ToneChange {
                    mid: t.mid.as_str(),
                    tone,
                });
            }
            if let Some(e) = d.poll_received() {
                let clock = t.negotiated.dtmf.map_or(8000, |(_, c)| c).max(1);
                return Some(Event::Dtmf {
                    mid: t.mid.as_str(),
                    tone: peerless_rtp::codec::telephone_event::dtmf_key(e.code),
                    code: e.code,
                    duration: core::time::Duration::from_micros(
                        u64::from(e.duration) * 1_000_000 / u64::from(clock),
                    ),
                });
            }
        }
        if core::mem::take(&mut t.announce_track) {
            return Some(Event::Track {
                transceiver: TransceiverId(slot as u8),
                mid: t.mid.as_str(),
                kind: t.kind,
                stream_id: Some(t.remote_stream_id.as_str()).filter(|s| !s.is_empty() && *s != "-"),
            });
        }
        if let Some(kind) = t.announce_keyframe.take() {
            return Some(Event::KeyframeRequest {
                mid: t.mid.as_str(),
                rid: None,
                kind,
            });
        }
        let use_ = t.announce_area_needed.take()?;
        Some(Event::MediaAreaNeeded {
            mid: t.mid.as_str(),
            kind: t.kind,
            use_,
        })
    }

    /// Whether a raw-mode stream has a packet queued.
    pub(in crate::peer) fn has_raw(&self) -> bool {
        self.media
            .receivers
            .iter()
            .flatten()
            .any(|r| r.raw.as_ref().is_some_and(|q| !q.is_empty()))
    }

    /// The packet `Event::Rtp` lent out last leaves its queue.
    pub(in crate::peer) fn release_raw(&mut self) {
        if let Some(i) = self.media.raw_lent.take()
            && let Some(Some(r)) = self.media.receivers.get_mut(i)
            && let Some(q) = r.raw.as_mut()
        {
            q.pop();
        }
    }

    /// `Event::Rtp` for the oldest packet of the first raw stream with one queued.
    pub(in crate::peer) fn poll_raw(&mut self) -> Option<Event<'_>> {
        let i = self.media.receivers.iter().position(|r| {
            r.as_ref()
                .and_then(|r| r.raw.as_ref())
                .is_some_and(|q| !q.is_empty())
        })?;
        self.media.raw_lent = Some(i);
        let r = self.media.receivers.get(i)?.as_ref()?;
        let t = self.media.transceivers.get(r.transceiver)?.as_ref()?;
        Some(Event::Rtp {
            mid: t.mid.as_str(),
            rid: Some(r.rid.as_str()).filter(|s| !s.is_empty()),
            packet: r.raw.as_ref()?.front()?,
        })
    }

    /// The first incoming stream with a frame released: its index and the frame's facts.
    pub(in crate::peer) fn poll_media_frame(&mut self) -> Option<(usize, receive::FrameMeta)> {
        self.media
            .receivers
            .iter_mut()
            .enumerate()
            .find_map(|(i, r)| Some((i, r.as_mut()?.poll_frame()?)))
    }

    /// `Event::MediaData` for the frame `poll_media_frame` released.
    pub(in crate::peer) fn media_data(
        &self,
        i: usize,
        meta: receive::FrameMeta,
    ) -> Option<Event<'_>> {
        let r = self.media.receivers.get(i)?.as_ref()?;
        let t = self.media.transceivers.get(r.transceiver)?.as_ref()?;
        Some(Event::MediaData(MediaData {
            mid: t.mid.as_str(),
            rid: Some(r.rid.as_str()).filter(|s| !s.is_empty()),
            pt: r.pt,
            codec: r.codec,
            rtp_time: meta.rtp_time,
            contiguous: meta.contiguous,
            keyframe: meta.keyframe,
            data: r.frame(&meta),
        }))
    }

    /// `write_frame`: packetizes one frame of the negotiated payload type `pt` and queues
    /// its packets for `poll_transmit` (`RTCRtpSender` fed by an encoder).
    ///
    /// # Errors
    ///
    /// [`MediaError::UnknownTransceiver`], [`MediaError::NotSending`] (not negotiated to
    /// send), [`MediaError::NotConnected`] (no SRTP keys yet: the frame is not queued),
    /// [`MediaError::UnknownPayloadType`], [`MediaError::Full`] (backpressure: the send area
    /// holds packets that have not left yet), [`MediaError::NoArea`].
    pub fn write_frame(
        &mut self,
        mid: &str,
        pt: u8,
        rtp_time: u32,
        frame: &[u8],
    ) -> Result<(), MediaError> {
        let (now, mtu) = (self.now, self.config.payload_mtu());
        let connected = self.transport.running().is_some_and(|r| r.srtp.is_some());
        let t = self.sending(mid)?;
        let codec = *t
            .negotiated
            .codec(pt)
            .ok_or(MediaError::UnknownPayloadType)?;
        if !connected {
            return Err(MediaError::NotConnected);
        }
        let send = t.send.as_mut().ok_or(MediaError::NoArea)?;
        send.write_frame(now, &codec, rtp_time, frame, mtu)
    }

    /// `write_rtp`: one RTP packet the host has already (a media server forwarding): its
    /// payload type (negotiated on this transceiver), marker, timestamp and payload are
    /// sent under our SSRC, sequence numbers and header extensions.
    ///
    /// # Errors
    ///
    /// As [`Peer::write_frame`], and [`MediaError::Malformed`] for a packet that does not
    /// parse.
    pub fn write_rtp(&mut self, mid: &str, packet: &[u8]) -> Result<(), MediaError> {
        let now = self.now;
        let connected = self.transport.running().is_some_and(|r| r.srtp.is_some());
        let packet =
            peerless_rtp::packet::Packet::parse(packet).map_err(|_| MediaError::Malformed)?;
        let t = self.sending(mid)?;
        let codec = *t
            .negotiated
            .codec(packet.payload_type())
            .ok_or(MediaError::UnknownPayloadType)?;
        if !connected {
            return Err(MediaError::NotConnected);
        }
        let send = t.send.as_mut().ok_or(MediaError::NoArea)?;
        send.write_rtp(now, &packet, codec.codec.clock_rate())
    }

    /// `request_keyframe`: asks the peer for a keyframe on what it sends on `mid` (all its
    /// layers, or the one with `rid`), by PLI or FIR as negotiated.
    ///
    /// # Errors
    ///
    /// [`MediaError::UnknownTransceiver`]; [`MediaError::Unsupported`] when neither PLI nor
    /// FIR was negotiated or nothing is received yet.
    pub fn request_keyframe(&mut self, mid: &str, rid: Option<&str>) -> Result<(), MediaError> {
        let now = self.now;
        let slot = self
            .media
            .by_mid(mid)
            .ok_or(MediaError::UnknownTransceiver)?;
        let mut any = false;
        for r in self.media.receivers.iter_mut().flatten() {
            if r.transceiver != slot || rid.is_some_and(|rid| r.rid.as_str() != rid) {
                continue;
            }
            if let Some(k) = r.keyframes.as_mut() {
                k.request(now);
                any = true;
            }
        }
        if any {
            Ok(())
        } else {
            Err(MediaError::Unsupported)
        }
    }

    pub(in crate::peer) fn sending(
        &mut self,
        mid: &str,
    ) -> Result<&mut Transceiver<S>, MediaError> {
        if self.closed {
            return Err(MediaError::Closed);
        }
        let slot = self
            .media
            .by_mid(mid)
            .ok_or(MediaError::UnknownTransceiver)?;
        let t = self
            .media
            .transceivers
            .get_mut(slot)
            .and_then(Option::as_mut)
            .ok_or(MediaError::UnknownTransceiver)?;
        if t.stopped {
            return Err(MediaError::Stopped);
        }
        if !t.sends() {
            return Err(MediaError::NotSending);
        }
        Ok(t)
    }
}
