//! What offers and answers share: the section plan, the `o=` line and version rule, and the
//! writers of the transport, session head, rejected sections, codecs and track sources.

use core::fmt;

use peerless_base::text::Sink;

use super::{CodecCapability, JsepError, Local, TrackKind, Transceiver};
use crate::attr::{RtcpFb, Rtpmap, Setup};
use crate::session::{MAX_MEDIA, Media, Session};
use crate::write::{Out, Value};

/// What fills one section of the description we write.
#[derive(Clone, Copy, Debug)]
pub(super) enum Content {
    /// The data channel.
    Data,
    /// `local.transceivers[i]`.
    Track(usize),
    /// A rejected section; the index of the section (in the previous description for an
    /// offer, in the offer for an answer) whose m= line it repeats with port 0.
    Rejected(usize),
    /// An answer accepting an offered RTP section without a local transceiver: we receive.
    ReceiveOnly(TrackKind),
    /// An answer keeping the offerer-tagged RTP section of a BUNDLE group it otherwise would
    /// reject, as `inactive` with one codec: the group's transport lives there (max-bundle
    /// offers have nothing else with a port), so rejecting it would take the transport of the
    /// sections we accept with it (RFC 8843 §7.3.3). libwebrtc never rejects that section
    /// either; it answers it without sending.
    BundleTag,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Slot<'a> {
    pub(super) mid: &'a str,
    pub(super) content: Content,
}

pub(super) type Plan<'a> = heapless::Vec<Slot<'a>, MAX_MEDIA>;

pub(super) fn push<'a>(plan: &mut Plan<'a>, slot: Slot<'a>) -> Result<(), JsepError> {
    if plan.iter().any(|s| s.mid == slot.mid) {
        return Err(JsepError::DuplicateMid);
    }
    plan.push(slot).map_err(|_| JsepError::TooManySections)
}

/// The `o=` session id: ours, or the one of the description we continue.
#[derive(Clone, Copy, Debug)]
pub(super) enum SessionId<'a> {
    New(u64),
    Continued(&'a str),
}

impl Value for SessionId<'_> {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        match self {
            Self::New(id) => id.put_to(out),
            Self::Continued(id) => out.put(id),
        }
    }
}

/// A `fmt::Write` that only checks whether the text equals `expected`.
pub(super) struct Compare<'e> {
    rest: &'e str,
    equal: bool,
}

impl fmt::Write for Compare<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        match self.rest.strip_prefix(s) {
            Some(rest) if self.equal => self.rest = rest,
            _ => self.equal = false,
        }
        Ok(())
    }
}

/// The text of `previous` after its `o=` line.
pub(super) fn body_after_origin<'p>(previous: &Session<'p>) -> Option<&'p str> {
    let text = previous.text();
    let at = text.find("\no=")?;
    let after = text.get(at + 1..)?;
    let end = after.find('\n')?;
    after.get(end + 1..)
}

/// Writes `v=`, `o=` and then the body; with a previous description, keeps its session id and
/// bumps its version only if the body changed (RFC 8829 §5.2.2, §5.3.2).
pub(super) fn write_with_origin(
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    out: &mut dyn Sink,
    body: impl Fn(&mut Out<'_>) -> fmt::Result,
) -> Result<(), JsepError> {
    let (id, version) = match previous {
        Some(p) => {
            let origin = p.origin();
            let unchanged = body_after_origin(p).is_some_and(|expected| {
                let mut cmp = Compare {
                    rest: expected,
                    equal: true,
                };
                body(&mut Out::new(&mut cmp)).is_ok() && cmp.equal && cmp.rest.is_empty()
            });
            let version = if unchanged {
                origin.session_version
            } else {
                origin.session_version.saturating_add(1)
            };
            (SessionId::Continued(origin.session_id), version)
        }
        None => (SessionId::New(local.session_id), 1),
    };
    let mut w = Out::new(out);
    w.put("v=0\r\n")?;
    w.line("o=- ", &[&id, &" ", &version, &" IN IP4 127.0.0.1"])?;
    body(&mut w)?;
    Ok(())
}

/// The port and address for the m= and c= lines: those of the first candidate, else the
/// "no candidates yet" placeholder `9` / `0.0.0.0` of RFC 8840 §4.1.1.
pub(super) fn default_address<'a>(local: &Local<'a>) -> (u16, &'a str, &'a str) {
    local
        .candidates
        .iter()
        .find_map(|c| {
            let mut f = c.split(' ').filter(|w| !w.is_empty());
            let address = f.nth(4)?;
            let port = crate::attr::parse_u16(f.next()?)?;
            // mDNS names and anything not an IP literal must not go into c= (RFC 8829
            // §5.2.1 uses 0.0.0.0 then).
            let ip6 = address.contains(':');
            let literal = address
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b':');
            literal.then_some((port, if ip6 { "IP6" } else { "IP4" }, address))
        })
        .unwrap_or((9, "IP4", "0.0.0.0"))
}

/// The ICE and DTLS attributes of a section. Every accepted section gets them, bundled or
/// not: Chromium writes them that way, Chromium, Firefox and aiortc accept it, and a peer
/// that declines BUNDLE can still use each section on its own.
pub(super) fn write_transport(w: &mut Out<'_>, local: &Local<'_>, setup: Setup) -> fmt::Result {
    for c in local.candidates {
        w.attr("candidate", c)?;
    }
    if local.end_of_candidates {
        w.flag("end-of-candidates")?;
    }
    write_credentials(w, local, setup, local.trickle)
}

pub(super) fn write_session_head(
    sdp: &mut Out<'_>,
    local: &Local<'_>,
    plan: &Plan<'_>,
    accepted: impl Fn(&Slot<'_>) -> bool,
    allow_mixed: bool,
) -> fmt::Result {
    sdp.put("s=-\r\nt=0 0\r\n")?;
    if plan.iter().any(&accepted) {
        sdp.put("a=group:BUNDLE")?;
        for slot in plan.iter().filter(|s| accepted(s)) {
            sdp.put(" ")?;
            sdp.put(slot.mid)?;
        }
        sdp.put("\r\n")?;
    }
    if local.ice_lite {
        sdp.flag("ice-lite")?;
    }
    if allow_mixed {
        sdp.flag("extmap-allow-mixed")?;
    }
    sdp.attr("msid-semantic", &" WMS *")
}

/// A section rejected with port 0. In an answer it still carries our ICE and DTLS attributes
/// (not candidates), as Chromium writes it: RFC 3264 has the receiver ignore them, but aiortc
/// refuses an answer any of whose sections lacks ICE credentials or a DTLS role, rejected ones
/// included. (An answer's rejected audio or video section is written by `answer.rs`, which
/// also names one codec.)
pub(super) fn write_rejected(
    w: &mut Out<'_>,
    from: &Media<'_>,
    mid: &str,
    answer: Option<(&Local<'_>, Setup)>,
) -> fmt::Result {
    let line = from.media_line();
    w.line(
        "m=",
        &[
            &line.kind.as_str(),
            &" 0 ",
            &line.proto,
            &" ",
            &line.formats,
        ],
    )?;
    w.put("c=IN IP4 0.0.0.0\r\n")?;
    if let Some((local, setup)) = answer {
        write_credentials(w, local, setup, false)?;
    }
    w.attr("mid", &mid)?;
    if line.is_rtp() {
        w.flag("inactive")?;
    }
    Ok(())
}

/// Our ICE credentials, fingerprints and DTLS role without candidates (what a rejected section
/// of an answer carries, with no `ice-options`); [`write_transport`] adds the candidates.
pub(super) fn write_credentials(
    w: &mut Out<'_>,
    local: &Local<'_>,
    setup: Setup,
    trickle: bool,
) -> fmt::Result {
    w.attr("ice-ufrag", &local.ice.ufrag)?;
    w.attr("ice-pwd", &local.ice.pwd)?;
    if trickle {
        w.attr("ice-options", &"trickle")?;
    }
    for fp in local.fingerprints {
        w.attr("fingerprint", fp)?;
    }
    w.attr("setup", &setup)
}

pub(super) fn write_track_source(w: &mut Out<'_>, t: &Transceiver<'_>) -> fmt::Result {
    if let Some(msid) = t.msid {
        w.attr("msid", &msid)?;
    }
    if let (Some(ssrc), Some(rtx)) = (t.ssrc, t.rtx_ssrc) {
        w.line("a=ssrc-group:FID ", &[&ssrc, &" ", &rtx])?;
    }
    for s in [t.ssrc, t.rtx_ssrc].into_iter().flatten() {
        w.line("a=ssrc:", &[&s, &" cname:", &t.cname])?;
        if let Some(msid) = t.msid {
            w.line("a=ssrc:", &[&s, &" msid:", &msid])?;
        }
    }
    Ok(())
}

pub(super) fn write_codec(
    s: &mut Out<'_>,
    c: &CodecCapability<'_>,
    payload_type: u8,
    fmtp: Option<&str>,
    feedback_ok: impl Fn(&str) -> bool,
) -> fmt::Result {
    s.attr(
        "rtpmap",
        &Rtpmap {
            payload_type,
            encoding: c.name,
            clock_rate: c.clock_rate,
            channels: c.channels,
        },
    )?;
    for fb in c.feedback.iter().filter(|f| feedback_ok(f)) {
        s.attr(
            "rtcp-fb",
            &RtcpFb {
                payload_type: Some(payload_type),
                feedback: fb,
            },
        )?;
    }
    if let Some(p) = fmtp {
        s.line("a=fmtp:", &[&payload_type, &" ", &p])?;
    }
    Ok(())
}
