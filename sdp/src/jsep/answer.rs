//! Answers (RFC 8829 §5.3): which offered section each local transceiver takes, the codec
//! intersection, the DTLS role and the directions, then the text.
//!
//! ```text
//!   offered section ─┬─ port 0 (not bundle-only) ──────────────► rejected, port 0
//!                    ├─ UDP/DTLS/SCTP webrtc-datachannel ───────► data section (if wanted)
//!                    ├─ audio/video over DTLS-SRTP, codec ∩ ≠ ∅ ─► transceiver with its mid,
//!                    │                                             else first free of its kind,
//!                    │                                             else receive-only
//!                    └─ anything else ──────────────────────────► rejected, port 0
//!   setup: actpass ─► current role, else Local::answer_setup (active); active ◄─► passive
//!   BUNDLE: the offered group minus what we reject
//! ```

use core::fmt;

use peerless_base::text::{Ascii, Sink};

use super::shared::{
    Content, Plan, Slot, default_address, push, write_codec, write_credentials, write_rejected,
    write_session_head, write_track_source, write_transport, write_with_origin,
};
use super::{CodecCapability, JsepError, Local, TrackKind, Transceiver};
use crate::attr::{Direction, Extmap, Rtpmap, Setup, fmtp_get};
use crate::session::{MAX_MEDIA, Media, Session};
use crate::write::{Out, SliceWriter};

/// Writes the answer to `offer` (RFC 8829 §5.3) into `out`.
///
/// Each offered section is answered in order with its mid: a data channel section is accepted
/// if `local.data_channel` is set, an audio/video section if some codec matches (and then with
/// the local transceiver of the same mid, or the first unmatched one of its kind, or as a
/// receive-only section); anything else is rejected with port 0. `previous` is our current
/// local description when this is a renegotiation (it keeps the session id and DTLS role).
pub fn create_answer<W: fmt::Write>(
    local: &Local<'_>,
    offer: &Session<'_>,
    previous: Option<&Session<'_>>,
    out: &mut W,
) -> Result<(), JsepError> {
    write_answer(local, offer, previous, out)
}

/// [`create_answer`] into a `dyn Sink`: one copy of the writer whatever the output.
fn write_answer(
    local: &Local<'_>,
    offer: &Session<'_>,
    previous: Option<&Session<'_>>,
    out: &mut dyn Sink,
) -> Result<(), JsepError> {
    if local.fingerprints.is_empty() {
        return Err(JsepError::NoFingerprint);
    }
    let plan = plan_answer(local, offer)?;
    let offer_bundle = offer.bundle_group();
    let bundled = |s: &Slot<'_>| {
        !matches!(s.content, Content::Rejected(_))
            && offer_bundle.is_some_and(|g| g.contains(s.mid))
    };
    let role = answer_setup(local, offer, previous);
    let allow_mixed = offer.extmap_allow_mixed();
    write_with_origin(local, previous, out, |w| {
        write_session_head(w, local, &plan, bundled, allow_mixed)?;
        for (slot, m) in plan.iter().zip(offer.media()) {
            write_answer_section(w, local, &m, slot, role)?;
        }
        Ok(())
    })
}

/// [`create_answer`] into `buf`, returning the text.
pub fn answer_to_slice<'b>(
    local: &Local<'_>,
    offer: &Session<'_>,
    previous: Option<&Session<'_>>,
    buf: &'b mut [u8],
) -> Result<&'b str, JsepError> {
    let mut result = Ok(());
    let text = crate::write::write_to_slice(buf, |w: &mut SliceWriter<'_>| {
        result = write_answer(local, offer, previous, w);
        Ok(())
    })?;
    result.map(|()| text)
}

/// How an answer uses one offered section; see [`answer_sections`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SectionUse {
    /// Accepted as the data channel section.
    DataChannel,
    /// Accepted with `local.transceivers[index]`, which takes the section's mid.
    Transceiver(usize),
    /// Accepted for receiving only, without a local transceiver (the Peer creates one, as a
    /// browser does for a remote track).
    ReceiveOnly(TrackKind),
    /// Kept `inactive` only because it is the BUNDLE group's tagged section, whose transport
    /// the accepted sections share: no media flows.
    BundleTag,
    /// Rejected (port 0).
    Rejected,
}

/// How [`create_answer`] uses each offered section, in offer order, with the section's mid:
/// the Peer uses this to associate its transceivers with mids (RFC 8829 §5.10).
pub fn answer_sections<'a>(
    local: &Local<'a>,
    offer: &Session<'a>,
) -> Result<heapless::Vec<(&'a str, SectionUse), MAX_MEDIA>, JsepError> {
    let plan = plan_answer(local, offer)?;
    let mut out = heapless::Vec::new();
    for slot in &plan {
        let use_ = match slot.content {
            Content::Data => SectionUse::DataChannel,
            Content::Track(i) => SectionUse::Transceiver(i),
            Content::ReceiveOnly(kind) => SectionUse::ReceiveOnly(kind),
            Content::BundleTag => SectionUse::BundleTag,
            Content::Rejected(_) => SectionUse::Rejected,
        };
        out.push((slot.mid, use_))
            .map_err(|_| JsepError::TooManySections)?;
    }
    Ok(out)
}

/// Our DTLS role for an answer (RFC 8842 §5.3, §5.5).
fn answer_setup(local: &Local<'_>, offer: &Session<'_>, previous: Option<&Session<'_>>) -> Setup {
    let offered = offer
        .media()
        .find(|m| !m.is_rejected())
        .and_then(|m| m.setup())
        // RFC 4145 §4: no a=setup means the offerer is active.
        .unwrap_or(Setup::Active);
    let current = local.dtls_role.or_else(|| {
        previous
            .and_then(|p| p.media().find(|m| !m.is_rejected()))
            .and_then(|m| m.setup())
    });
    match offered {
        Setup::Actpass => match current {
            Some(r @ (Setup::Active | Setup::Passive)) => r,
            _ if local.answer_setup == Setup::Passive => Setup::Passive,
            _ => Setup::Active,
        },
        Setup::Active => Setup::Passive,
        Setup::Passive => Setup::Active,
        Setup::Holdconn => Setup::Holdconn,
    }
}

pub(super) fn plan_answer<'a>(
    local: &Local<'a>,
    offer: &Session<'a>,
) -> Result<Plan<'a>, JsepError> {
    let mut plan = Plan::new();
    let mut data_used = false;
    for m in offer.media() {
        let mid = m.mid().ok_or(JsepError::MissingMid { index: m.index() })?;
        let line = m.media_line();
        let content = if m.is_rejected() {
            Content::Rejected(m.index())
        } else if line.is_datachannel() {
            if local.data_channel.is_some() && !data_used {
                data_used = true;
                Content::Data
            } else {
                Content::Rejected(m.index())
            }
        } else if let Some(kind) = TrackKind::of(m.kind()).filter(|_| is_dtls_srtp(line.proto)) {
            // A section whose transceiver we stopped stays rejected (RFC 8829 §5.3.1).
            let stopped = local.transceivers.iter().any(|t| t.mid == mid && t.stopped);
            if stopped || accepted_codecs(local.codecs(kind), &m).next().is_none() {
                Content::Rejected(m.index())
            } else {
                let taken = |i: usize| {
                    plan.iter()
                        .any(|s: &Slot<'_>| matches!(s.content, Content::Track(j) if j == i))
                };
                let by_mid = local
                    .transceivers
                    .iter()
                    .position(|t| t.mid == mid && t.kind == kind && !t.stopped);
                // A transceiver that no offered section of its kind claims by mid is not yet
                // associated (RFC 8829 §5.10): it takes the first such section of its kind.
                let claimed = |t: &Transceiver<'_>| {
                    offer
                        .media()
                        .any(|o| o.mid() == Some(t.mid) && TrackKind::of(o.kind()) == Some(t.kind))
                };
                let free =
                    || {
                        local.transceivers.iter().enumerate().position(|(i, t)| {
                            t.kind == kind && !t.stopped && !taken(i) && !claimed(t)
                        })
                    };
                match by_mid.filter(|i| !taken(*i)).or_else(free) {
                    Some(i) => Content::Track(i),
                    None if local.receive_only => Content::ReceiveOnly(kind),
                    None => Content::Rejected(m.index()),
                }
            }
        } else {
            Content::Rejected(m.index())
        };
        push(&mut plan, Slot { mid, content })?;
    }
    keep_bundle_tag(local, offer, &mut plan);
    Ok(plan)
}

/// If the offerer-tagged section of a BUNDLE group is an RTP section we would reject for want of
/// codecs or a transceiver while we accept another section of the group, it stays, `inactive`
/// (see [`Content::BundleTag`]).
///
/// Rejecting it and tagging an accepted section instead works with a balanced offer, where
/// every section has its own transport, but not with a max-bundle one: Chromium then refuses
/// the answer ("Failed to setup RTCP mux") and Firefox's ICE fails, and nothing in Chromium's
/// max-bundle offer (ports 9, no `bundle-only`) tells the two apart. So the tag always stays.
fn keep_bundle_tag(local: &Local<'_>, offer: &Session<'_>, plan: &mut Plan<'_>) {
    let Some(group) = offer.bundle_group() else {
        return;
    };
    let Some(tag) = group.mids().next() else {
        return;
    };
    let needs_tag = plan.iter().any(|s| {
        s.mid != tag && group.contains(s.mid) && !matches!(s.content, Content::Rejected(_))
    });
    let Some(m) = offer.media_by_mid(tag) else {
        return;
    };
    // A transceiver the application stopped rejects its section whatever the cost (§5.3.1).
    let stopped = local.transceivers.iter().any(|t| t.mid == tag && t.stopped);
    if !needs_tag || stopped || m.is_rejected() || !m.media_line().is_rtp() {
        return;
    }
    if let Some(slot) = plan
        .iter_mut()
        .find(|s| s.mid == tag && matches!(s.content, Content::Rejected(_)))
    {
        slot.content = Content::BundleTag;
    }
}

/// WebRTC media is DTLS-SRTP over UDP or TCP (`UDP/TLS/RTP/SAVPF`, RFC 8829 §5.1.2); we accept
/// the older `RTP/SAVPF` spelling too, as browsers do.
fn is_dtls_srtp(proto: &str) -> bool {
    proto.ends_with("RTP/SAVPF") || proto.ends_with("RTP/SAVP")
}

/// The rtpmap of an offered payload type, falling back to the RFC 3551 static assignments.
fn offered_rtpmap<'a>(m: &Media<'a>, pt: u8) -> Option<Rtpmap<'a>> {
    m.rtpmap(pt).or(match pt {
        0 => Some(Rtpmap {
            payload_type: 0,
            encoding: "PCMU",
            clock_rate: 8000,
            channels: None,
        }),
        8 => Some(Rtpmap {
            payload_type: 8,
            encoding: "PCMA",
            clock_rate: 8000,
            channels: None,
        }),
        9 => Some(Rtpmap {
            payload_type: 9,
            encoding: "G722",
            clock_rate: 8000,
            channels: None,
        }),
        _ => None,
    })
}

/// Whether the codec-specific fmtp parameters that select a different bitstream agree.
fn fmtp_compatible(name: &str, offered: Option<&str>, ours: Option<&str>) -> bool {
    fn get<'p>(params: Option<&'p str>, key: &str, default: &'static str) -> &'p str {
        params.and_then(|p| fmtp_get(p, key)).unwrap_or(default)
    }
    let same = |key: &str, default: &'static str| {
        get(offered, key, default).eq_ignore_ascii_case(get(ours, key, default))
    };
    if name.eq_ignore_ascii_case("H264") {
        // RFC 6184 §8.1: packetization mode must match; profile_idc (first byte of
        // profile-level-id) selects the profile, the level is negotiable.
        fn profile(p: Option<&str>) -> Option<&str> {
            get(p, "profile-level-id", "42001f").get(..2)
        }
        same("packetization-mode", "0")
            && matches!((profile(offered), profile(ours)), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
    } else if name.eq_ignore_ascii_case("VP9") {
        same("profile-id", "0")
    } else if name.eq_ignore_ascii_case("AV1") {
        same("profile", "0")
    } else {
        true
    }
}

/// The local codec that answers offered payload type `pt`, if any (not for RTX).
fn match_codec<'l>(
    codecs: &'l [CodecCapability<'l>],
    m: &Media<'_>,
    pt: u8,
) -> Option<&'l CodecCapability<'l>> {
    let map = offered_rtpmap(m, pt)?;
    if map.encoding.eq_ignore_ascii_case("rtx") {
        return None;
    }
    let offered_fmtp = m.fmtp(pt).map(|f| f.params);
    codecs.iter().find(|c| {
        c.name.eq_ignore_ascii_case(map.encoding)
            && c.clock_rate == map.clock_rate
            && c.channels.unwrap_or(1) == map.channels.unwrap_or(1)
            && fmtp_compatible(c.name, offered_fmtp, c.fmtp)
    })
}

/// The offered payload types we accept, in the offer's order, with the local codec that
/// answers each and, for RTX, the payload type it repairs.
fn accepted_codecs<'l, 'm>(
    codecs: &'l [CodecCapability<'l>],
    m: &'m Media<'m>,
) -> impl Iterator<Item = (u8, &'l CodecCapability<'l>, Option<u8>)> + 'm
where
    'l: 'm,
{
    m.payload_types().filter_map(move |pt| {
        if let Some(c) = match_codec(codecs, m, pt) {
            return Some((pt, c, None));
        }
        // RTX (RFC 4588) is accepted when what it repairs is and we do RTX at that rate.
        let map = offered_rtpmap(m, pt)?;
        if !map.encoding.eq_ignore_ascii_case("rtx") {
            return None;
        }
        let apt = crate::attr::parse_pt(m.fmtp(pt)?.get("apt")?)?;
        match_codec(codecs, m, apt)?;
        let rtx = codecs
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case("rtx") && c.clock_rate == map.clock_rate)?;
        Some((pt, rtx, Some(apt)))
    })
}

/// An audio or video section answered without media: the first offered format, `inactive`,
/// with `a=rtcp-mux` if offered. The BUNDLE-tagged section is kept this way for the transport
/// (`rejected` false); any other is rejected with port 0 and keeps our credentials but no
/// candidates (`rejected` true). aiortc refuses an answer whose audio or video section, even a
/// rejected one, lacks ICE credentials, a DTLS role, rtcp-mux or a codec it knows.
fn write_inactive_rtp(
    w: &mut Out<'_>,
    local: &Local<'_>,
    m: &Media<'_>,
    mid: &str,
    role: Setup,
    rejected: bool,
) -> fmt::Result {
    let (port, addr_type, address) = if rejected {
        (0, "IP4", "0.0.0.0")
    } else {
        default_address(local)
    };
    let line = m.media_line();
    // A media codec, not a repair or redundancy format that would need its own parameters.
    let is_media = |pt: &u8| {
        offered_rtpmap(m, *pt).is_none_or(|r| {
            !["rtx", "red", "ulpfec", "flexfec-03"]
                .iter()
                .any(|n| r.encoding.eq_ignore_ascii_case(n))
        })
    };
    let media = m.payload_types().find(is_media);
    let pt = media
        .or_else(|| m.payload_types().next())
        .ok_or(fmt::Error)?;
    w.line(
        "m=",
        &[
            &line.kind.as_str(),
            &" ",
            &port,
            &" ",
            &line.proto,
            &" ",
            &pt,
        ],
    )?;
    w.line("c=IN ", &[&addr_type, &" ", &address])?;
    if rejected {
        write_credentials(w, local, role, false)?;
    } else {
        write_transport(w, local, role)?;
    }
    let s = w;
    s.attr("mid", &mid)?;
    s.flag("inactive")?;
    if m.rtcp_mux() || m.rtcp_mux_only() {
        s.flag("rtcp-mux")?;
    }
    // A lone repair format would name a codec the answer lacks: leave it unnamed.
    if let Some(map) = media.and_then(|pt| offered_rtpmap(m, pt)) {
        s.attr("rtpmap", &map)?;
    }
    Ok(())
}

fn write_answer_section(
    w: &mut Out<'_>,
    local: &Local<'_>,
    m: &Media<'_>,
    slot: &Slot<'_>,
    role: Setup,
) -> fmt::Result {
    let (port, addr_type, address) = default_address(local);
    let line = m.media_line();
    let (kind, transceiver) = match slot.content {
        Content::Rejected(_) if line.is_rtp() && m.payload_types().next().is_some() => {
            return write_inactive_rtp(w, local, m, slot.mid, role, true);
        }
        Content::Rejected(_) => return write_rejected(w, m, slot.mid, Some((local, role))),
        Content::Data => {
            let d = local.data_channel.ok_or(fmt::Error)?;
            w.line(
                "m=application ",
                &[&port, &" ", &line.proto, &" webrtc-datachannel"],
            )?;
            w.line("c=IN ", &[&addr_type, &" ", &address])?;
            write_transport(w, local, role)?;
            w.attr("mid", &slot.mid)?;
            w.attr("sctp-port", &d.sctp_port)?;
            return w.attr("max-message-size", &d.max_message_size);
        }
        Content::Track(i) => {
            let t = local.transceivers.get(i).ok_or(fmt::Error)?;
            (t.kind, Some(t))
        }
        Content::ReceiveOnly(kind) => (kind, None),
        Content::BundleTag => return write_inactive_rtp(w, local, m, slot.mid, role, false),
    };
    // The transceiver's preferences, unless they leave nothing the offer has (then ours).
    let preferred = local.codecs_of(kind, transceiver);
    let codecs = if accepted_codecs(preferred, m).next().is_some() {
        preferred
    } else {
        local.codecs(kind)
    };
    let wanted = transceiver.map_or(Direction::RecvOnly, |t| t.direction);
    let direction = Direction::answer(m.direction(), wanted);
    w.put("m=")?;
    w.put(line.kind.as_str())?;
    w.put(" ")?;
    w.value(&port)?;
    w.put(" ")?;
    w.put(line.proto)?;
    for (pt, _, _) in accepted_codecs(codecs, m) {
        w.put(" ")?;
        w.value(&pt)?;
    }
    w.put("\r\n")?;
    w.line("c=IN ", &[&addr_type, &" ", &address])?;
    write_transport(w, local, role)?;
    let s = w;
    s.attr("mid", &slot.mid)?;
    let ours = local.extmaps(kind);
    for e in m.extmaps() {
        if ours.iter().any(|o| o.uri == e.uri) {
            s.attr(
                "extmap",
                &Extmap {
                    direction: e.direction.map(|d| d.reversed()),
                    attributes: None,
                    ..e
                },
            )?;
        }
    }
    if m.has_attribute("extmap-allow-mixed") {
        s.flag("extmap-allow-mixed")?;
    }
    s.flag(direction.as_str())?;
    if m.rtcp_mux() || m.rtcp_mux_only() {
        s.flag("rtcp-mux")?;
    }
    if m.rtcp_rsize() {
        s.flag("rtcp-rsize")?;
    }
    for (pt, c, apt) in accepted_codecs(codecs, m) {
        let offered_fb = |fb: &str| m.rtcp_fb(pt).any(|o| o.feedback.eq_ignore_ascii_case(fb));
        match apt {
            Some(apt) => {
                let mut params = heapless::String::<8>::new();
                params.push_str("apt=").map_err(|_| fmt::Error)?;
                params
                    .push_str(Ascii::decimal(u64::from(apt)).as_str())
                    .map_err(|_| fmt::Error)?;
                write_codec(s, c, pt, Some(&params), offered_fb)?;
            }
            None => {
                // Where the parameters select the bitstream (H.264 profile and packetization
                // mode, VP9/AV1 profile) they matched; echo the offerer's so both sides name the
                // same stream. Elsewhere ours say what we want to receive.
                let offered = m.fmtp(pt).map(|f| f.params);
                let echo = ["H264", "VP9", "AV1"]
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(c.name));
                let fmtp = if echo { offered.or(c.fmtp) } else { c.fmtp };
                write_codec(s, c, pt, fmtp, offered_fb)?;
            }
        }
    }
    // Simulcast (RFC 8853 §5.3): receive the layers the offerer sends.
    if let Some(send) = m
        .simulcast()
        .and_then(|sc| sc.send)
        .filter(|_| direction.receives())
    {
        for rid in m
            .rids()
            .filter(|r| r.direction == crate::attr::RidDirection::Send)
        {
            s.line("a=rid:", &[&rid.id, &" recv"])?;
        }
        s.line("a=simulcast:recv ", &[&send])?;
    }
    if let Some(t) = transceiver.filter(|_| direction.sends()) {
        write_track_source(s, t)?;
    }
    Ok(())
}
