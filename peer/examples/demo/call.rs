//! The demo's call: what the browser sends comes back to it, as a media server would return it.
//!
//! ```text
//!   Event::MediaData ─► counted per mid and rid (VP8 keyframes also give the layer's size)
//!      audio ─► write_frame on the same transceiver (the answer made it sendrecv)
//!      video ─► the layer echoed? (the widest seen on a keyframe; a switch waits for the new
//!               layer's keyframe and shifts RTP times so ours keep going forward)
//!               ─► write_frame; refused (Full ...) ─► counted, skip to the next keyframe,
//!                  request_keyframe towards the browser
//!   Event::KeyframeRequest (the browser lost ours) ─► request_keyframe on the echoed layer
//!   Event::BitrateEstimate, Peer::bitrate_estimate ─► /call's "bandwidth" (the page's stats)
//! ```

use std::collections::BTreeMap;

use peerless::{Codec, MediaData, MediaError};

use super::DemoPeer;

/// A received frame, copied out of the event.
pub(crate) struct Frame {
    mid: String,
    rid: Option<String>,
    codec: Codec,
    rtp_time: u32,
    keyframe: bool,
    data: Vec<u8>,
}

impl From<&MediaData<'_>> for Frame {
    fn from(m: &MediaData<'_>) -> Self {
        Frame {
            mid: m.mid.to_string(),
            rid: m.rid.map(str::to_string),
            codec: m.codec,
            rtp_time: m.rtp_time,
            keyframe: m.keyframe,
            data: m.data.to_vec(),
        }
    }
}

/// One incoming stream's counters (a transceiver's, or one simulcast layer's).
#[derive(Default)]
struct Layer {
    frames: u64,
    keyframes: u64,
    bytes: u64,
    /// From the last VP8 keyframe's header (RFC 6386 §9.1), 0 until one came.
    width: u16,
    height: u16,
}

/// What one transceiver sends back.
#[derive(Default)]
struct Echo {
    /// The rid echoed (`Some(None)`: the transceiver's only stream), once a keyframe chose it.
    source: Option<Option<String>>,
    /// Added to the source's RTP times, so a switch of layer keeps our times going forward.
    offset: u32,
    last_out: Option<u32>,
    /// A frame was refused: skip to the next keyframe (a decoder cannot use what follows).
    need_keyframe: bool,
    frames: u64,
    refused: BTreeMap<String, u64>,
}

#[derive(Default)]
pub(crate) struct Call {
    received: BTreeMap<(String, Option<String>), Layer>,
    echo: BTreeMap<String, Echo>,
    keyframe_requests: u64,
    keyframe_requests_forwarded: u64,
    pub(crate) dtmf: Vec<String>,
    /// Event::BitrateEstimate: how many, and the last target announced.
    estimates: u64,
    last_estimate_bps: Option<u64>,
}

/// A VP8 keyframe's size: after the 3-octet frame tag and the start code 9d 01 2a, two
/// little-endian 14-bit fields (RFC 6386 §9.1).
fn vp8_size(frame: &[u8]) -> Option<(u16, u16)> {
    match frame {
        [_, _, _, 0x9d, 0x01, 0x2a, w0, w1, h0, h1, ..] => Some((
            u16::from_le_bytes([*w0, *w1]) & 0x3fff,
            u16::from_le_bytes([*h0, *h1]) & 0x3fff,
        )),
        _ => None,
    }
}

impl Call {
    /// Counts a frame and writes it back on its own transceiver (the answer made it
    /// sendrecv). Video: one layer is echoed, the widest seen on a keyframe; switching waits
    /// for that layer's keyframe so the browser's decoder never sees a frame it cannot use.
    pub(crate) fn echo(&mut self, peer: &mut DemoPeer<'_>, f: Frame) {
        let layer = self
            .received
            .entry((f.mid.clone(), f.rid.clone()))
            .or_default();
        layer.frames += 1;
        layer.bytes += f.data.len() as u64;
        if f.keyframe {
            layer.keyframes += 1;
            if f.codec == Codec::Vp8
                && let Some((w, h)) = vp8_size(&f.data)
            {
                (layer.width, layer.height) = (w, h);
            }
        }
        let width = |rid: &Option<String>| {
            self.received
                .get(&(f.mid.clone(), rid.clone()))
                .map_or(0, |l| l.width)
        };
        let echo = self.echo.entry(f.mid.clone()).or_default();
        if f.codec.is_video() {
            let switch = f.keyframe
                && match &echo.source {
                    None => true,
                    Some(current) => current != &f.rid && width(&f.rid) > width(current),
                };
            if switch {
                echo.source = Some(f.rid.clone());
                echo.need_keyframe = false;
                echo.offset = echo
                    .last_out
                    .map_or(0, |last| last.wrapping_add(3000).wrapping_sub(f.rtp_time));
            }
            if echo.source.is_none() {
                // Nothing decodable yet: ask the browser for a keyframe on this stream.
                let _ = peer.request_keyframe(&f.mid, f.rid.as_deref());
                return;
            }
            if echo.source.as_ref() != Some(&f.rid) {
                return;
            }
            if echo.need_keyframe {
                if !f.keyframe {
                    return;
                }
                echo.need_keyframe = false;
            }
        }
        let Some(pt) = peer.payload_type(&f.mid, f.codec) else {
            *echo.refused.entry("no payload type".into()).or_default() += 1;
            return;
        };
        let out = f.rtp_time.wrapping_add(echo.offset);
        match peer.write_frame(&f.mid, pt, out, &f.data) {
            Ok(()) => {
                echo.frames += 1;
                echo.last_out = Some(out);
            }
            Err(e) => {
                *echo.refused.entry(e.to_string()).or_default() += 1;
                if f.codec.is_video() {
                    echo.need_keyframe = true;
                    let _ = peer.request_keyframe(&f.mid, f.rid.as_deref());
                }
                if e != MediaError::Full {
                    eprintln!("demo: write_frame on mid {}: {e}", f.mid);
                }
            }
        }
    }

    /// The browser lost what we sent: it needs a keyframe from the layer we echo, which only
    /// the browser's encoder can make.
    pub(crate) fn keyframe_requested(&mut self, peer: &mut DemoPeer<'_>, mid: &str) {
        self.keyframe_requests += 1;
        let rid = self.echo.get(mid).and_then(|e| e.source.clone()).flatten();
        if peer.request_keyframe(mid, rid.as_deref()).is_ok() {
            self.keyframe_requests_forwarded += 1;
        }
    }

    /// The Peer's bandwidth estimate moved (`Event::BitrateEstimate`).
    pub(crate) fn bitrate_estimate(&mut self, target_bps: u64) {
        self.estimates += 1;
        self.last_estimate_bps = Some(target_bps);
    }

    pub(crate) fn to_json(&self, peer: &DemoPeer<'_>) -> serde_json::Value {
        use serde_json::json;
        let received: Vec<_> = self
            .received
            .iter()
            .map(|((mid, rid), l)| {
                json!({"mid": mid, "rid": rid, "frames": l.frames, "keyframes": l.keyframes,
                    "bytes": l.bytes, "width": l.width, "height": l.height})
            })
            .collect();
        let echoed: Vec<_> = self
            .echo
            .iter()
            .map(|(mid, e)| {
                json!({"mid": mid, "rid": e.source.clone().flatten(), "frames": e.frames,
                    "refused": e.refused})
            })
            .collect();
        let parts = peer.bitrate_estimate_parts();
        let transceivers: Vec<_> = peer
            .transceivers()
            .filter_map(|t| {
                let s = peer.media_stats(t)?;
                Some(json!({
                    "mid": peer.mid(t), "kind": format!("{:?}", peer.kind(t)?),
                    "currentDirection": peer.current_direction(t).map(|d| d.as_str()),
                    "packetsReceived": s.packets_received, "framesReceived": s.frames_received,
                    "packetsLost": s.packets_lost, "nacksSent": s.nacks_sent,
                    "plisSent": s.plis_sent, "packetsSent": s.packets_sent,
                    "framesSent": s.frames_sent, "retransmissionsSent": s.retransmissions_sent,
                    "plisReceived": s.plis_received, "firsReceived": s.firs_received,
                }))
            })
            .collect();
        json!({
            "received": received,
            "echoed": echoed,
            "transceivers": transceivers,
            "keyframeRequests": self.keyframe_requests,
            "keyframeRequestsForwarded": self.keyframe_requests_forwarded,
            "dtmf": self.dtmf,
            // What the estimator lets us send now (the echo does not follow it: it returns
            // what the browser's encoder made), and its events.
            "bandwidth": {
                "targetBps": peer.bitrate_estimate(),
                "delayBps": parts.map(|p| p.delay_bps),
                "lossBps": parts.map(|p| p.loss_bps),
                "rembBps": parts.and_then(|p| p.remb_bps),
                "ackedBps": parts.and_then(|p| p.acked_bps),
                "estimateEvents": self.estimates,
                "lastEventBps": self.last_estimate_bps,
            },
        })
    }

    /// One line for the log: frames per stream received and echoed, tones.
    pub(crate) fn summary(&self) -> String {
        let received: Vec<String> = self
            .received
            .iter()
            .map(|((mid, rid), l)| match rid {
                Some(rid) => format!("{mid}/{rid} {}", l.frames),
                None => format!("{mid} {}", l.frames),
            })
            .collect();
        let echoed: Vec<String> = self
            .echo
            .iter()
            .map(|(mid, e)| format!("{mid} {}", e.frames))
            .collect();
        format!(
            "frames received {} | echoed {} | keyframe requests {} | dtmf \"{}\" | {} bitrate estimates, last {} bit/s",
            received.join(", "),
            echoed.join(", "),
            self.keyframe_requests,
            self.dtmf.concat(),
            self.estimates,
            self.last_estimate_bps.unwrap_or(0)
        )
    }
}
