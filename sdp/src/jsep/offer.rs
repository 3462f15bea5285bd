//! Offers (RFC 8829 §5.2): the section plan from the previous description and the local
//! transceivers, then the text.
//!
//! ```text
//!   previous description ──► one slot per previous section, same place, same mid:
//!                              data channel | live transceiver | rejected (port 0)
//!   local transceivers   ──► each new one takes the first rejected slot (recycling),
//!   and data channel          else is appended
//!   slots ──► v= o= (version + 1 iff the body changed) s= t= group:BUNDLE <live mids>
//!         ──► m= per slot: transport (setup:actpass), mid, extmaps, direction, rtcp-mux,
//!             rtcp-rsize, codecs with rtcp-fb and fmtp, SSRCs; or sctp-port/max-message-size
//! ```

use core::fmt;

use peerless_base::text::Sink;

use super::shared::{
    Content, Plan, Slot, default_address, push, write_codec, write_rejected, write_session_head,
    write_track_source, write_transport, write_with_origin,
};
use super::{JsepError, Local, TrackKind};
use crate::attr::Setup;
use crate::session::Session;
use crate::write::{Out, SliceWriter};

/// Writes an offer (RFC 8829 §5.2) into `out`.
///
/// `previous` is our current local description (the last offer or answer we applied), or
/// `None` for the first offer. With it, every previous section keeps its place and mid: a
/// section whose transceiver is gone or stopped is written rejected (port 0), new
/// transceivers (and the data channel) take the place of the first rejected section
/// ("recycling", §5.2.2) or are appended, and the session version goes up by one if anything
/// changed.
pub fn create_offer<W: fmt::Write>(
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    out: &mut W,
) -> Result<(), JsepError> {
    write_offer(local, previous, out)
}

/// [`create_offer`] into a `dyn Sink`: one copy of the writer whatever the output.
fn write_offer(
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    out: &mut dyn Sink,
) -> Result<(), JsepError> {
    if local.fingerprints.is_empty() {
        return Err(JsepError::NoFingerprint);
    }
    let plan = plan_offer(local, previous)?;
    let without_codecs = |s: &Slot<'_>| match s.content {
        Content::Track(i) => local
            .transceivers
            .get(i)
            .is_none_or(|t| local.codecs_of(t.kind, Some(t)).is_empty()),
        _ => false,
    };
    if plan.iter().any(without_codecs) {
        return Err(JsepError::NoCodecs);
    }
    let live = |s: &Slot<'_>| !matches!(s.content, Content::Rejected(_));
    let has_rtp = plan.iter().any(|s| matches!(s.content, Content::Track(_)));
    write_with_origin(local, previous, out, |w| {
        write_session_head(w, local, &plan, live, has_rtp)?;
        for slot in &plan {
            write_offer_section(w, local, previous, slot)?;
        }
        Ok(())
    })
}

/// [`create_offer`] into `buf`, returning the text.
pub fn offer_to_slice<'b>(
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    buf: &'b mut [u8],
) -> Result<&'b str, JsepError> {
    let mut result = Ok(());
    let text = crate::write::write_to_slice(buf, |w: &mut SliceWriter<'_>| {
        result = write_offer(local, previous, w);
        Ok(())
    })?;
    result.map(|()| text)
}

fn plan_offer<'a>(
    local: &Local<'a>,
    previous: Option<&Session<'a>>,
) -> Result<Plan<'a>, JsepError> {
    let mut plan = Plan::new();
    let mut data_placed = false;
    if let Some(prev) = previous {
        for m in prev.media() {
            let mid = m.mid().ok_or(JsepError::MissingMid { index: m.index() })?;
            let data = local
                .data_channel
                .filter(|d| d.mid == mid && m.media_line().is_datachannel());
            let track = local.transceivers.iter().position(|t| {
                t.mid == mid && !t.stopped && Some(t.kind) == TrackKind::of(m.kind())
            });
            let content = match (data, track) {
                (Some(_), _) => {
                    data_placed = true;
                    Content::Data
                }
                (None, Some(i)) => Content::Track(i),
                (None, None) => Content::Rejected(m.index()),
            };
            push(&mut plan, Slot { mid, content })?;
        }
    }
    let place = |plan: &mut Plan<'a>, slot: Slot<'a>| -> Result<(), JsepError> {
        if plan.iter().any(|s| s.mid == slot.mid) {
            return Err(JsepError::DuplicateMid);
        }
        // Recycle the first rejected section whose mid no transceiver still claims.
        let recyclable = plan.iter_mut().find(|s| {
            matches!(s.content, Content::Rejected(_))
                && !local
                    .transceivers
                    .iter()
                    .any(|t| t.mid == s.mid && !t.stopped)
        });
        match recyclable {
            Some(s) => {
                *s = slot;
                Ok(())
            }
            None => push(plan, slot),
        }
    };
    if let Some(d) = local.data_channel
        && !data_placed
    {
        place(
            &mut plan,
            Slot {
                mid: d.mid,
                content: Content::Data,
            },
        )?;
    }
    for (i, t) in local.transceivers.iter().enumerate() {
        let placed = plan
            .iter()
            .any(|s| matches!(s.content, Content::Track(j) if j == i));
        if !placed && !t.stopped {
            place(
                &mut plan,
                Slot {
                    mid: t.mid,
                    content: Content::Track(i),
                },
            )?;
        }
    }
    Ok(plan)
}

fn write_offer_section(
    w: &mut Out<'_>,
    local: &Local<'_>,
    previous: Option<&Session<'_>>,
    slot: &Slot<'_>,
) -> fmt::Result {
    let (port, addr_type, address) = default_address(local);
    match slot.content {
        Content::Rejected(index) => match previous.and_then(|p| p.media_at(index)) {
            Some(m) => write_rejected(w, &m, slot.mid, None),
            None => Err(fmt::Error),
        },
        Content::Data => {
            let d = local.data_channel.ok_or(fmt::Error)?;
            w.line(
                "m=application ",
                &[&port, &" UDP/DTLS/SCTP webrtc-datachannel"],
            )?;
            w.line("c=IN ", &[&addr_type, &" ", &address])?;
            write_transport(w, local, Setup::Actpass)?;
            w.attr("mid", &slot.mid)?;
            w.attr("sctp-port", &d.sctp_port)?;
            w.attr("max-message-size", &d.max_message_size)
        }
        // Offers are planned from our own transceivers only.
        Content::ReceiveOnly(_) | Content::BundleTag => Err(fmt::Error),
        Content::Track(i) => {
            let t = local.transceivers.get(i).ok_or(fmt::Error)?;
            let codecs = local.codecs_of(t.kind, Some(t));
            w.put("m=")?;
            w.put(t.kind.media_kind().as_str())?;
            w.put(" ")?;
            w.value(&port)?;
            w.put(" UDP/TLS/RTP/SAVPF")?;
            for c in codecs {
                w.put(" ")?;
                w.value(&c.payload_type)?;
            }
            w.put("\r\n")?;
            w.line("c=IN ", &[&addr_type, &" ", &address])?;
            write_transport(w, local, Setup::Actpass)?;
            let s = w;
            s.attr("mid", &slot.mid)?;
            for e in local.extmaps(t.kind) {
                s.attr("extmap", e)?;
            }
            s.flag(t.direction.as_str())?;
            s.flag("rtcp-mux")?;
            s.flag("rtcp-rsize")?;
            for c in codecs {
                write_codec(s, c, c.payload_type, c.fmtp, |_| true)?;
            }
            if t.direction.sends() {
                write_track_source(s, t)?;
            }
            Ok(())
        }
    }
}
