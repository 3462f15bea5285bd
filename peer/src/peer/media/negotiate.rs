//! What an exchange agreed for each transceiver (RFC 8829 §5.10, §5.9): the association of
//! transceivers with media sections, then, once an answer is applied, the payload types, the
//! header extension ids, the peer's sources and the current direction.
//!
//! ```text
//!   our offer:      transceivers without a mid get the lowest free one ("0", "1", ...)
//!   remote offer:   each section -> the transceiver with its mid, else the first unassociated
//!                   one of its kind (add_track before the offer), else a new recvonly one
//!                   (no free slot: the answer rejects the section)
//!   answer applied: per associated section of the answer
//!                     rejected         -> stopped, streams end, areas back to the pool
//!                     accepted         -> currentDirection (the answer's, reversed if we
//!                                         offered), codecs by payload type with RTX and
//!                                         rtcp-fb, extension ids, the peer's SSRCs/rids/msid
//!                     peer starts sending -> Event::Track
//! ```

use peerless_rtp::extension::{ExtensionKind, ExtensionMap};

use super::*;

/// One negotiated media payload type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(in crate::peer) struct NegotiatedCodec {
    pub(in crate::peer) pt: u8,
    pub(in crate::peer) codec: Codec,
    /// Its RTX payload type (RFC 4588), when both sides have one.
    pub(in crate::peer) rtx: Option<u8>,
    /// `a=rtcp-fb:<pt> nack`.
    pub(in crate::peer) nack: bool,
    /// `a=rtcp-fb:<pt> nack pli`.
    pub(in crate::peer) pli: bool,
    /// `a=rtcp-fb:<pt> ccm fir`.
    pub(in crate::peer) fir: bool,
}

/// What the last exchange agreed for one transceiver.
#[derive(Clone, Copy, Debug, Default)]
pub(in crate::peer) struct Negotiated {
    pub(in crate::peer) codecs: [Option<NegotiatedCodec>; MAX_PAYLOAD_TYPES],
    /// telephone-event's payload type and clock rate (RFC 4733).
    pub(in crate::peer) dtmf: Option<(u8, u32)>,
    pub(in crate::peer) extensions: ExtensionMap,
    /// The peer's media SSRCs with their RTX SSRCs (`a=ssrc-group:FID`).
    pub(in crate::peer) remote_ssrcs: [Option<(u32, Option<u32>)>; MAX_RIDS],
    /// The rids the peer sends (simulcast), in its order.
    pub(in crate::peer) rids: [Text<MAX_RID>; MAX_RIDS],
    /// `a=rtcp-rsize` agreed.
    pub(in crate::peer) reduced_size: bool,
}

impl Negotiated {
    pub(in crate::peer) fn codec(&self, pt: u8) -> Option<&NegotiatedCodec> {
        self.codecs.iter().flatten().find(|c| c.pt == pt)
    }

    /// The media payload type an RTX payload type repairs.
    pub(in crate::peer) fn repaired(&self, rtx_pt: u8) -> Option<&NegotiatedCodec> {
        self.codecs.iter().flatten().find(|c| c.rtx == Some(rtx_pt))
    }

    /// Reads the answer's section (agreed payload types, feedback and extension ids) and the
    /// peer's (its sources).
    fn read(answer: &sdp::Media<'_>, remote: &sdp::Media<'_>) -> Self {
        let mut n = Negotiated {
            reduced_size: answer.rtcp_rsize(),
            ..Negotiated::default()
        };
        let mut slots = n.codecs.iter_mut();
        let mut dtmf_offers: [Option<(u8, u32)>; 2] = [None; 2];
        let mut dtmf_count = 0u8;
        for pt in answer.payload_types() {
            // Static payload types may come without an rtpmap (RFC 3551 §6).
            let codec = match answer.rtpmap(pt).or_else(|| remote.rtpmap(pt)) {
                Some(map) if map.encoding.eq_ignore_ascii_case("telephone-event") => {
                    if let Some(slot) = dtmf_offers.get_mut(usize::from(dtmf_count)) {
                        *slot = Some((pt, map.clock_rate));
                    }
                    dtmf_count = dtmf_count.saturating_add(1);
                    continue;
                }
                Some(map) => Codec::from_rtpmap(map.encoding, map.clock_rate),
                None => Codec::from_static_payload_type(pt),
            };
            let Some(codec) = codec else {
                continue;
            };
            let fb = |name: &str| {
                answer
                    .rtcp_fb(pt)
                    .any(|f| f.feedback.eq_ignore_ascii_case(name))
            };
            if let Some(slot) = slots.next() {
                *slot = Some(NegotiatedCodec {
                    pt,
                    codec,
                    rtx: None,
                    nack: fb("nack"),
                    pli: fb("nack pli"),
                    fir: fb("ccm fir"),
                });
            }
        }
        // telephone-event on the first audio codec's clock (RFC 4733 §2.1), else the first.
        let audio_clock = n
            .codecs
            .iter()
            .flatten()
            .next()
            .map(|c| c.codec.clock_rate());
        n.dtmf = dtmf_offers
            .iter()
            .flatten()
            .find(|(_, clock)| Some(*clock) == audio_clock)
            .or(dtmf_offers.iter().flatten().next())
            .copied();
        for pt in answer.payload_types() {
            let is_rtx = answer
                .rtpmap(pt)
                .is_some_and(|m| m.encoding.eq_ignore_ascii_case("rtx"));
            let apt = answer
                .fmtp(pt)
                .and_then(|f| f.get("apt"))
                .and_then(|apt| apt.trim().parse::<u8>().ok());
            if let (true, Some(apt)) = (is_rtx, apt)
                && let Some(c) = n.codecs.iter_mut().flatten().find(|c| c.pt == apt)
            {
                c.rtx = Some(pt);
            }
        }
        for e in answer.extmaps() {
            if let Ok(id) = u8::try_from(e.id) {
                let _ = n.extensions.insert_uri(id, e.uri);
            }
        }
        // The peer's sources: each FID group pairs a media SSRC with its RTX; a lone SSRC is
        // media. Simulcast peers (rids) usually signal none: they are learned from packets.
        let mut sources = n.remote_ssrcs.iter_mut();
        for g in remote.ssrc_groups().filter(|g| g.semantics == "FID") {
            let mut it = g.ssrcs();
            if let (Some(media), Some(slot)) = (it.next(), sources.next()) {
                *slot = Some((media, it.next()));
            }
        }
        let grouped = |ssrc: u32, list: &[Option<(u32, Option<u32>)>]| {
            list.iter()
                .flatten()
                .any(|(m, r)| *m == ssrc || *r == Some(ssrc))
        };
        for s in remote.ssrcs() {
            if grouped(s.ssrc, &n.remote_ssrcs) {
                continue;
            }
            if let Some(slot) = n.remote_ssrcs.iter_mut().find(|s| s.is_none()) {
                *slot = Some((s.ssrc, None));
            }
        }
        let sends = remote
            .rids()
            .filter(|r| r.direction == sdp::attr::RidDirection::Send);
        for (slot, rid) in n.rids.iter_mut().zip(sends) {
            *slot = Text::copy_from(rid.id).unwrap_or_default();
        }
        n
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
    /// Before our offer: every transceiver that has no mid gets the lowest number not used
    /// by a section of either description, the data section or another transceiver.
    pub(in crate::peer) fn assign_mids(&mut self) {
        let local = self.local.latest().and_then(|t| Session::parse(t).ok());
        let remote = self.remote.latest().and_then(|t| Session::parse(t).ok());
        let data_mid = Text::<MAX_MID>::copy_from(self.sdp_mid()).unwrap_or_default();
        let data_mid = data_mid.as_str();
        for slot in 0..TRANSCEIVERS {
            let needs = self
                .media
                .transceivers
                .get(slot)
                .and_then(Option::as_ref)
                .is_some_and(|t| t.mid.is_empty() && !t.stopped);
            if !needs {
                continue;
            }
            let mut candidate = Text::<MAX_MID>::new();
            for n in 0u32.. {
                candidate.clear();
                let _ = candidate.push(peerless_base::text::Ascii::decimal(u64::from(n)).as_str());
                let m = candidate.as_str();
                let in_desc = |s: &Option<Session<'_>>| {
                    s.as_ref()
                        .is_some_and(|s| s.media().any(|x| x.mid() == Some(m)))
                };
                let taken = in_desc(&local)
                    || in_desc(&remote)
                    || (self.offers_data() && m == data_mid)
                    || self.media.by_mid(m).is_some();
                if !taken {
                    break;
                }
            }
            if let Some(Some(t)) = self.media.transceivers.get_mut(slot) {
                t.mid = candidate;
            }
        }
    }

    /// Whether our descriptions carry a data section: a channel exists, the current
    /// description has one, or there is no media (a Peer with nothing offers data, as the
    /// data-channel Peer always did).
    pub(in crate::peer) fn offers_data(&self) -> bool {
        if self.channels.iter().any(|c| c.state != ChannelState::Free) || !self.media.any() {
            return true;
        }
        [self.local.current(), self.remote.current()]
            .into_iter()
            .flatten()
            .filter_map(|t| Session::parse(t).ok())
            .any(|s| data_section(&s).is_some())
    }

    /// A remote offer was applied: its sections are associated with transceivers (RFC 8829
    /// §5.10), creating recvonly ones for media sections nobody claims, as a browser does.
    pub(in crate::peer) fn associate_remote_offer(&mut self, offer: &Session<'_>) {
        // No transceivers, no slots to associate or create: every section is rejected.
        if !Self::HAS_MEDIA {
            return;
        }
        let plan = self.with_local_for(true, |local| {
            let mut owned =
                [(Text::<MAX_MID>::new(), sdp::jsep::SectionUse::Rejected); sdp::MAX_MEDIA];
            let plan = sdp::jsep::answer_sections(local, offer).ok()?;
            for ((mid, use_), dst) in plan.iter().zip(owned.iter_mut()) {
                *dst = (Text::copy_from(mid).unwrap_or_default(), *use_);
            }
            Some((owned, plan.len()))
        });
        let Some((plan, count)) = plan else {
            return;
        };
        for (mid, use_) in plan.iter().take(count) {
            let (mid, use_) = (mid.as_str(), *use_);
            match use_ {
                sdp::jsep::SectionUse::Transceiver(i) => {
                    // `with_local` lists the live transceivers in slot order.
                    if let Some(slot) = self.live_slot(i)
                        && let Some(Some(t)) = self.media.transceivers.get_mut(slot)
                        && t.mid.is_empty()
                    {
                        t.mid = Text::copy_from(mid).unwrap_or_default();
                    }
                }
                sdp::jsep::SectionUse::ReceiveOnly(kind) => {
                    // Media nobody asked for is taken only when the host lent an area to
                    // receive it in: without one it would arrive to be thrown away, so the
                    // answer rejects it (port 0) instead.
                    let promised = self
                        .media
                        .iter()
                        .filter(|(_, t)| t.kind == kind && t.current_direction.is_none())
                        .count();
                    let areas = self
                        .media
                        .pool
                        .iter()
                        .flatten()
                        .filter(|a| a.kind == kind && a.use_ == AreaUse::Receive)
                        .count();
                    let raw = self.config.raw_receive;
                    if self.media.by_mid(mid).is_some() || areas <= promised {
                        continue;
                    }
                    let (ssrc, rtx) = (self.rng.u32(), self.rng.u32());
                    if let Some(slot) = self.media.transceivers.iter_mut().find(|t| t.is_none()) {
                        let mut t = Transceiver::new(kind, Direction::RecvOnly, ssrc, rtx);
                        t.mid = Text::copy_from(mid).unwrap_or_default();
                        t.raw = raw;
                        *slot = Some(t);
                    }
                }
                _ => {}
            }
        }
    }

    /// The slot of the `i`-th transceiver `with_local` lists.
    pub(in crate::peer) fn live_slot(&self, i: usize) -> Option<usize> {
        self.media.iter().nth(i).map(|(slot, _)| slot)
    }

    /// An exchange finished (both current descriptions set): what it agreed takes effect.
    /// `we_answered` tells which description is the answer.
    pub(in crate::peer) fn apply_negotiation(&mut self, we_answered: bool) {
        let (Some(local_text), Some(remote_text)) = (self.local.current(), self.remote.current())
        else {
            return;
        };
        // No transceiver, nothing to apply: a data-only Peer skips parsing both descriptions
        // again (they were parsed when set; connect CPU, issue 18).
        if !self.media.any() {
            self.media.we_offered = !we_answered;
            return;
        }
        let (Ok(local), Ok(remote)) = (Session::parse(local_text), Session::parse(remote_text))
        else {
            return;
        };
        self.media.we_offered = !we_answered;
        let answer = if we_answered { &local } else { &remote };
        // What the descriptions say, read first (they borrow the Peer's buffers), then applied.
        let mut outcomes = [const { None }; TRANSCEIVERS];
        for ((_, t), out) in self.media.iter().zip(outcomes.iter_mut()) {
            let (Some(section), Some(remote_section)) = (
                answer
                    .media_by_mid(t.mid.as_str())
                    .filter(|_| !t.mid.is_empty()),
                remote.media_by_mid(t.mid.as_str()),
            ) else {
                continue;
            };
            let rejected = section.is_rejected() || remote_section.is_rejected();
            let d = section.direction();
            let stream = remote_section
                .msids()
                .next()
                .and_then(|m| Text::<MAX_STREAM_ID>::copy_from(m.stream))
                .unwrap_or_default();
            *out = Some(Outcome {
                rejected,
                direction: if we_answered { d } else { d.reversed() },
                negotiated: Negotiated::read(&section, &remote_section),
                remote_stream_id: stream,
            });
        }
        let live: [Option<usize>; TRANSCEIVERS] = {
            let mut live = [None; TRANSCEIVERS];
            for ((slot, _), dst) in self.media.iter().zip(live.iter_mut()) {
                *dst = Some(slot);
            }
            live
        };
        for (slot, outcome) in live.into_iter().zip(outcomes) {
            let (Some(slot), Some(o)) = (slot, outcome) else {
                continue;
            };
            let Some(Some(t)) = self.media.transceivers.get_mut(slot) else {
                continue;
            };
            let was_receiving = t.receives();
            if o.rejected {
                t.stopped = true;
                t.current_direction = None;
            } else {
                t.current_direction = Some(o.direction);
                t.negotiated = o.negotiated;
                if !o.remote_stream_id.is_empty() {
                    t.remote_stream_id = o.remote_stream_id;
                }
                if t.receives() && !was_receiving {
                    t.announce_track = true;
                }
            }
            self.update_streams(slot);
            // A stopped transceiver whose section is now rejected is gone (W3C "stop the
            // RTCRtpTransceiver", then removed from the set); its slot is free again.
            if o.rejected
                && self
                    .media
                    .transceivers
                    .get(slot)
                    .and_then(Option::as_ref)
                    .is_some_and(|t| t.stopped && t.send.is_none())
            {
                self.end_receive_streams(slot);
                if let Some(t) = self.media.transceivers.get_mut(slot) {
                    *t = None;
                }
            }
        }
    }

    /// Whether our current description is an offer (we offered in the last exchange).
    pub(in crate::peer) fn local_is_offer(&self) -> bool {
        self.media.we_offered
    }

    /// Starts or ends a transceiver's send stream and RTCP to match what was negotiated.
    pub(in crate::peer) fn update_streams(&mut self, slot: usize) {
        let now = self.now;
        let Some(Some(t)) = self.media.transceivers.get_mut(slot) else {
            return;
        };
        let (sends, live, kind) = (t.sends(), t.sends() || t.receives(), t.kind);
        if !sends && let Some(stream) = t.send.take() {
            let area = stream.into_area();
            self.media.return_area(kind, AreaUse::Send, area);
        }
        if !live {
            self.end_receive_streams(slot);
            if let Some(r) = self.media.rtcp.get_mut(slot) {
                *r = None;
            }
            return;
        }
        if sends
            && self
                .media
                .get(TransceiverId(slot as u8))
                .is_some_and(|t| t.send.is_none())
        {
            match self.media.take_area(kind, AreaUse::Send) {
                Some(area) => {
                    if let Some(Some(t)) = self.media.transceivers.get_mut(slot) {
                        t.send = Some(SendStream::new(t, area, now));
                    }
                }
                None => {
                    if let Some(Some(t)) = self.media.transceivers.get_mut(slot) {
                        t.announce_area_needed = Some(AreaUse::Send);
                    }
                    self.media.dropped_no_area += 1;
                }
            }
        }
        if let Some(Some(t)) = self.media.transceivers.get_mut(slot)
            && let Some(send) = t.send.as_mut()
        {
            send.configure(&t.negotiated);
        }
        let reduced = self
            .media
            .get(TransceiverId(slot as u8))
            .is_some_and(|t| t.negotiated.reduced_size);
        let mut seed = [0u8; SEED_LEN];
        self.rng.fill(&mut seed);
        if let Some(r) = self.media.rtcp.get_mut(slot) {
            let schedule = r.get_or_insert_with(|| {
                // RFC 3550's 5 s minimum would leave loss and round trip unknown for seconds;
                // 1 s is what libwebrtc uses for video (RFC 4585 AVPF allows less).
                let mut config = peerless_rtp::send::ScheduleConfig::rfc3550(1_000_000);
                config.minimum = core::time::Duration::from_secs(1);
                config.reduced_size = reduced;
                peerless_rtp::send::RtcpSchedule::new(
                    config,
                    now,
                    Drbg::from_seed(&seed, b"peerless-rtcp"),
                )
            });
            let mut config = *schedule.config();
            config.reduced_size = reduced;
            schedule.set_config(config);
        }
    }

    /// Every incoming stream of the transceiver in `slot` ends; their areas go back.
    pub(in crate::peer) fn end_receive_streams(&mut self, slot: usize) {
        for i in 0..TRANSCEIVERS {
            let ends = self
                .media
                .receivers
                .get(i)
                .and_then(Option::as_ref)
                .is_some_and(|r| r.transceiver == slot);
            if !ends {
                continue;
            }
            if let Some(r) = self.media.receivers.get_mut(i).and_then(Option::take) {
                let kind = r.kind;
                if let Some(area) = r.into_area() {
                    self.media.return_area(kind, AreaUse::Receive, area);
                }
            }
        }
    }
}

/// What one exchange agreed for one transceiver, read before it is applied.
struct Outcome {
    rejected: bool,
    direction: Direction,
    negotiated: Negotiated,
    remote_stream_id: Text<MAX_STREAM_ID>,
}

/// The extension ids we write on what we send.
pub(in crate::peer) fn mid_id(map: &ExtensionMap) -> Option<u8> {
    map.id(ExtensionKind::Mid)
}
