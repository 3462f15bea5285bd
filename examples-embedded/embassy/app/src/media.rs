//! Media from the device (feature `media`): a stored VP8 clip and a G.711 tone, sent beside
//! the data channel to whoever opens the session.
//!
//! ```text
//!   flash: clip/testsrc.ivf (include_bytes!) ─ Ivf::parse ─▶ Clip: next frame, looped
//!   flash: one period of a 500 Hz tone in µ-law (16 bytes) ─▶ a 20 ms frame (160 samples)
//!
//!   new Peer ─▶ lend: one send area per kind; add_tracks: a sendonly video and audio track,
//!       before a remote offer is applied (its sections take them) or before our own WHIP
//!       offer is made (its sections are theirs)
//!   Event::ConnectionState(Connected) ─▶ start: clocks at now, routes (mid, payload type)
//!   pump (the peer task's loop, at next_due):
//!       video due every 1/fps s: write_frame(VP8, 90 kHz time)  ─┐ Full / NotConnected:
//!       audio due every 20 ms:   write_frame(PCMU, 8 kHz time)  ─┘ the same frame in 5 ms
//!   Event::KeyframeRequest (PLI/FIR) ─▶ the clip starts again at its keyframe (frame 0),
//!       with the stream's clock running on
//! ```
//!
//! Nothing is allocated: frames are slices of the clip in flash, the audio frame is built
//! once from the tone table, and the send areas are in [`crate::PeerResources`].

use embassy_time::{Duration, Instant as EmbassyInstant};
use heapless::String;
use peerless::sdp::jsep::CodecCapability;
use peerless::{AreaUse, Codec, Config, ConnectionState, Direction, Event, MediaError, MediaKind};

use crate::AppPeer;
use crate::lent::AreaHome;
use crate::sizes::{AUDIO_SEND_AREA, VIDEO_SEND_AREA};

/// The demo page of the media build: the data-channel page plus recvonly video and audio, and a
/// video element that shows the clip (muted, so browsers autoplay it; its controls unmute the
/// tone).
pub const PAGE: &str = crate::http::demo_page!(
    "<video id=v autoplay playsinline muted controls width=320 height=240></video>\n<br>",
    r#"  pc.addTransceiver("video", {direction: "recvonly"});
  pc.addTransceiver("audio", {direction: "recvonly"});
  const ms = new MediaStream();
  pc.ontrack = e => { ms.addTrack(e.track); v.srcObject = ms; log("track: " + e.track.kind); };
"#
);

/// Transceivers of the Peer: one audio, one video.
pub const TRANSCEIVERS: usize = 2;

/// The stored clip: ffmpeg's testsrc, 320x240, 15 fps, 4 s, VP8 in IVF, one keyframe (the
/// first frame). Made by `scripts/gen-clip.sh`.
pub static CLIP: &[u8] = include_bytes!("../clip/testsrc.ivf");

/// The only video codec offered and accepted: VP8 with PLI (a keyframe request restarts the
/// clip) and no RTX (the clip is small and a loss heals at the next loop or PLI).
const VIDEO_CODECS: &[CodecCapability<'static>] = &[CodecCapability {
    payload_type: 96,
    name: "VP8",
    clock_rate: 90_000,
    channels: None,
    fmtp: None,
    feedback: &["nack pli", "ccm fir"],
}];

/// The only audio codec: G.711 µ-law (static payload type 0).
const AUDIO_CODECS: &[CodecCapability<'static>] = &[CodecCapability {
    payload_type: 0,
    name: "PCMU",
    clock_rate: 8_000,
    channels: None,
    fmtp: None,
    feedback: &[],
}];

/// The media stream id (`a=msid`) of the two tracks.
const STREAM_ID: &str = "peerless-device";

/// 20 ms of audio at 8 kHz.
const AUDIO_SAMPLES: usize = 160;
const AUDIO_INTERVAL: Duration = Duration::from_millis(20);
/// How soon a frame the Peer refused for lack of room (or keys) is tried again.
const RETRY: Duration = Duration::from_millis(5);
/// After a stall longer than this (the task was busy), the clocks restart at now rather
/// than sending a burst of late frames.
const MAX_LATE: Duration = Duration::from_secs(1);

/// The send areas the Peer borrows for the two streams (in [`crate::PeerResources`]).
pub struct MediaAreas {
    video: [u8; VIDEO_SEND_AREA],
    audio: [u8; AUDIO_SEND_AREA],
    homes: Homes,
}

/// Where the video and the audio send area wait between sessions.
pub type Homes = [AreaHome; 2];

impl MediaAreas {
    /// Zeroed (a `const fn`, so it lands in `.bss`).
    #[must_use]
    pub const fn new() -> Self {
        MediaAreas {
            video: [0; VIDEO_SEND_AREA],
            audio: [0; AUDIO_SEND_AREA],
            homes: [AreaHome::new(), AreaHome::new()],
        }
    }
}

impl Default for MediaAreas {
    fn default() -> Self {
        Self::new()
    }
}

/// Narrows the Peer's codecs to what this device sends: VP8 and PCMU (a short answer, and
/// no negotiation can land on a codec we have no frames for).
pub fn configure(config: &mut Config) {
    config.video_codecs = VIDEO_CODECS;
    config.audio_codecs = AUDIO_CODECS;
}

/// Puts the two send areas in their homes (once, at task start).
pub fn settle(areas: &'static mut MediaAreas) -> &'static Homes {
    let MediaAreas {
        video,
        audio,
        homes,
    } = areas;
    let [video_home, audio_home] = &*homes;
    video_home.put(video);
    audio_home.put(audio);
    homes
}

/// Lends the two send areas to a new Peer (the previous Peer gave them back when dropped).
pub fn lend(peer: &mut AppPeer, homes: &'static Homes) {
    let [video, audio] = homes;
    // Two areas into an empty pool: cannot be refused.
    let _ = peer.lend_media_area(MediaKind::Video, AreaUse::Send, video.lend());
    let _ = peer.lend_media_area(MediaKind::Audio, AreaUse::Send, audio.lend());
}

/// A video and an audio track, `sendonly` (the device receives no media). Answering: called
/// before the offer is applied, as a browser's `addTrack`, so the offer's first section of
/// each kind takes them; an offer without media sections leaves them unused and the session
/// is the data channel alone. Publishing (WHIP): called before `create_offer`, so the offer
/// has a sendonly video and audio section.
pub fn add_tracks(peer: &mut AppPeer) {
    for kind in [MediaKind::Video, MediaKind::Audio] {
        let added = peer
            .add_track(kind, STREAM_ID)
            .and_then(|id| peer.set_direction(id, Direction::SendOnly));
        if added.is_err() {
            warn!("media: no {} track", kind_name(kind));
        }
    }
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        _ => "video",
    }
}

/// An IVF file (the container libvpx writes: a 32-byte header, then frames each behind a
/// 12-byte header), read in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ivf<'a> {
    /// The codec's FourCC (`VP80`).
    pub fourcc: [u8; 4],
    /// Picture size.
    pub width: u16,
    /// Picture size.
    pub height: u16,
    /// Frame rate as `rate / scale` frames per second.
    pub rate: u32,
    /// See [`Ivf::rate`].
    pub scale: u32,
    /// Every frame, with its header.
    frames: &'a [u8],
}

impl<'a> Ivf<'a> {
    /// Reads the header; `None` if it is not IVF or has no frame rate.
    #[must_use]
    pub fn parse(file: &'a [u8]) -> Option<Self> {
        let u16_at = |at: usize| Some(u16::from_le_bytes(file.get(at..at + 2)?.try_into().ok()?));
        let u32_at = |at: usize| Some(u32::from_le_bytes(file.get(at..at + 4)?.try_into().ok()?));
        if file.get(..4)? != b"DKIF" {
            return None;
        }
        let header_len = usize::from(u16_at(6)?);
        let ivf = Ivf {
            fourcc: file.get(8..12)?.try_into().ok()?,
            width: u16_at(12)?,
            height: u16_at(14)?,
            rate: u32_at(16)?,
            scale: u32_at(20)?,
            frames: file.get(header_len.max(32)..)?,
        };
        (ivf.rate > 0 && ivf.scale > 0).then_some(ivf)
    }

    /// The frame at byte `at` of the frame area and where the next one starts; `None` at the
    /// end or at a truncated frame.
    #[must_use]
    pub fn frame_at(&self, at: usize) -> Option<(&'a [u8], usize)> {
        let header = self.frames.get(at..at + 12)?;
        let len = u32::from_le_bytes(header.get(..4)?.try_into().ok()?) as usize;
        let start = at + 12;
        let frame = self.frames.get(start..start.checked_add(len)?)?;
        Some((frame, start + len))
    }

    /// Every frame, in order.
    pub fn frames(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        let mut at = 0;
        core::iter::from_fn(move || {
            let (frame, next) = self.frame_at(at)?;
            at = next;
            Some(frame)
        })
    }
}

/// Whether a VP8 frame is a keyframe (RFC 6386 §9.1: bit 0 of the frame tag is 0).
#[must_use]
pub fn vp8_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 1 == 0)
}

/// G.711 µ-law of one 16-bit linear sample (ITU-T G.711, the usual biased segment search).
#[must_use]
pub const fn ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut s = sample as i32;
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    if s > CLIP {
        s = CLIP;
    }
    s += BIAS;
    // The segment: how far the highest set bit is above bit 7 (s is 0x84..=0x7FFF).
    let highest = 31 - s.leading_zeros() as i32;
    let exponent = if highest > 7 { highest - 7 } else { 0 };
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// One period of a 500 Hz sine at 8 kHz (16 samples), amplitude 8000 (about −12 dBFS).
const SINE: [i16; 16] = [
    0, 3061, 5657, 7391, 8000, 7391, 5657, 3061, 0, -3061, -5657, -7391, -8000, -7391, -5657, -3061,
];

/// The tone in µ-law: the table the audio frames repeat.
pub const TONE: [u8; 16] = {
    let mut t = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        t[i] = ulaw(SINE[i]);
        i += 1;
    }
    t
};

/// A 20 ms frame of the tone: 160 samples are exactly ten periods, so every frame is the
/// same and the tone runs on without a click.
pub const AUDIO_FRAME: [u8; AUDIO_SAMPLES] = {
    let mut f = [0u8; AUDIO_SAMPLES];
    let mut i = 0;
    while i < AUDIO_SAMPLES {
        f[i] = TONE[i % 16];
        i += 1;
    }
    f
};

/// Where a stream goes once negotiated: its mid and payload type.
struct Route {
    mid: String<16>,
    pt: u8,
}

/// One outgoing stream's clock: frames written since the start, when the next is due.
struct Stream {
    route: Option<Route>,
    /// The first frame's time (random, RFC 3550 §5.1) on the RTP clock.
    base: u32,
    /// Frames written (the RTP time and the due time follow from it).
    written: u64,
    /// When frame 0 was due: frame `n` is due `n` intervals later.
    start: EmbassyInstant,
    /// A refused frame waits until this instant.
    retry_at: Option<EmbassyInstant>,
    /// Frames the Peer refused and that were tried again later.
    refused: u64,
}

impl Stream {
    fn new(base: u32) -> Self {
        Stream {
            route: None,
            base,
            written: 0,
            start: EmbassyInstant::from_ticks(0),
            retry_at: None,
            refused: 0,
        }
    }
}

/// The media of one session: the clip's cursor and the two streams' clocks.
pub struct Media {
    clip: Option<Ivf<'static>>,
    /// The clip frame sent next: its byte offset in the frame area.
    cursor: usize,
    video: Stream,
    audio: Stream,
    started: bool,
    keyframe_requests: u32,
    loops: u32,
}

impl Media {
    /// A session's media; `seed` gives the streams' random RTP time origins.
    #[must_use]
    pub fn new(seed: [u8; 8]) -> Self {
        let [a, b, c, d, e, f, g, h] = seed;
        let clip = Ivf::parse(CLIP).filter(|c| &c.fourcc == b"VP80");
        if clip.is_none() {
            error!("media: the stored clip is not VP8 in IVF");
        }
        Media {
            clip,
            cursor: 0,
            video: Stream::new(u32::from_le_bytes([a, b, c, d])),
            audio: Stream::new(u32::from_le_bytes([e, f, g, h])),
            started: false,
            keyframe_requests: 0,
            loops: 0,
        }
    }

    /// Sees every event before the application handles it: the connection coming up starts
    /// the clocks, a keyframe request on the video restarts the clip.
    pub fn on_event(&mut self, event: &Event<'_>) {
        match event {
            Event::ConnectionState(ConnectionState::Connected) if !self.started => {
                self.started = true;
                self.video.written = 0;
                self.audio.written = 0;
                let now = EmbassyInstant::now();
                self.video.start = now;
                self.audio.start = now;
            }
            Event::KeyframeRequest { mid, .. }
                if self
                    .video
                    .route
                    .as_ref()
                    .is_some_and(|r| r.mid.as_str() == *mid) =>
            {
                self.keyframe_requests += 1;
                self.cursor = 0;
            }
            _ => {}
        }
    }

    fn frame_interval(&self) -> Option<(Duration, u32)> {
        let clip = self.clip.as_ref()?;
        let us = 1_000_000 * u64::from(clip.scale) / u64::from(clip.rate);
        let ticks = 90_000 * u64::from(clip.scale) / u64::from(clip.rate);
        Some((Duration::from_micros(us), ticks as u32))
    }

    /// When [`Media::pump`] has something to do; `None` before the connection is up or when
    /// nothing is negotiated to send.
    #[must_use]
    pub fn next_due(&self) -> Option<EmbassyInstant> {
        if !self.started {
            return None;
        }
        let video = self
            .frame_interval()
            .and_then(|(every, _)| due(&self.video, every));
        let audio = due(&self.audio, AUDIO_INTERVAL);
        match (video, audio) {
            (Some(v), Some(a)) => Some(v.min(a)),
            (v, a) => v.or(a),
        }
    }

    /// Writes every frame that is due.
    #[inline(never)]
    pub fn pump(&mut self, peer: &mut AppPeer) {
        if !self.started {
            return;
        }
        let now = EmbassyInstant::now();
        if self.video.route.is_none() && self.audio.route.is_none() {
            self.video.route = route(peer, MediaKind::Video, Codec::Vp8);
            self.audio.route = route(peer, MediaKind::Audio, Codec::Pcmu);
            if let (Some(r), Some(clip)) = (&self.video.route, &self.clip) {
                info!(
                    "media: sending VP8 {}x{} at {}/{} fps on mid {} (pt {})",
                    clip.width,
                    clip.height,
                    clip.rate,
                    clip.scale,
                    r.mid.as_str(),
                    r.pt
                );
            }
            if let Some(r) = &self.audio.route {
                info!(
                    "media: sending PCMU on mid {} (pt {})",
                    r.mid.as_str(),
                    r.pt
                );
            }
        }
        if let Some((every, ticks)) = self.frame_interval() {
            while due(&self.video, every).is_some_and(|at| at <= now) {
                catch_up(&mut self.video, every, now);
                let Some(clip) = self.clip else { break };
                let (frame, next) = match clip.frame_at(self.cursor) {
                    Some(f) => f,
                    None => {
                        // The end: loop back to the first frame, the keyframe.
                        self.loops += 1;
                        self.cursor = 0;
                        match clip.frame_at(0) {
                            Some(f) => f,
                            None => break,
                        }
                    }
                };
                let time = self
                    .video
                    .base
                    .wrapping_add(ticks.wrapping_mul(self.video.written as u32));
                if !write(peer, &mut self.video, time, frame, now) {
                    break;
                }
                self.cursor = next;
            }
        }
        while due(&self.audio, AUDIO_INTERVAL).is_some_and(|at| at <= now) {
            catch_up(&mut self.audio, AUDIO_INTERVAL, now);
            let time = self
                .audio
                .base
                .wrapping_add((AUDIO_SAMPLES as u32).wrapping_mul(self.audio.written as u32));
            if !write(peer, &mut self.audio, time, &AUDIO_FRAME, now) {
                break;
            }
        }
    }
}

impl Drop for Media {
    /// The session's tally, in the log (the host test reads it).
    fn drop(&mut self) {
        if self.started {
            info!(
                "media: sent {} video frames ({} loops, {} keyframe requests) and {} audio frames; {} refused for room",
                self.video.written,
                self.loops,
                self.keyframe_requests,
                self.audio.written,
                self.video.refused + self.audio.refused
            );
        }
    }
}

/// When a stream's next frame is due (a refused frame: its retry), if it has a route.
fn due(s: &Stream, every: Duration) -> Option<EmbassyInstant> {
    s.route.as_ref()?;
    let at = s.start + every * (s.written as u32);
    Some(s.retry_at.map_or(at, |r| r.max(at)))
}

/// After a stall, the stream's clock restarts at now (the RTP time runs on from the frames
/// written, so the receiver sees a gap, not a burst).
fn catch_up(s: &mut Stream, every: Duration, now: EmbassyInstant) {
    let at = s.start + every * (s.written as u32);
    if now > at + MAX_LATE {
        s.start = now - every * (s.written as u32);
    }
}

/// Writes one frame; `false` when the Peer had no room (the frame is tried again in
/// [`RETRY`]) or the stream cannot send (it stops).
fn write(peer: &mut AppPeer, s: &mut Stream, time: u32, frame: &[u8], now: EmbassyInstant) -> bool {
    let Some(r) = &s.route else { return false };
    match peer.write_frame(r.mid.as_str(), r.pt, time, frame) {
        Ok(()) => {
            s.written += 1;
            s.retry_at = None;
            true
        }
        Err(MediaError::Full | MediaError::NotConnected) => {
            s.refused += 1;
            s.retry_at = Some(now + RETRY);
            false
        }
        Err(_) => {
            warn!("media: the Peer cannot send on mid {}", r.mid.as_str());
            s.route = None;
            false
        }
    }
}

/// The mid and payload type the negotiation gave a kind's sending transceiver.
fn route(peer: &AppPeer, kind: MediaKind, codec: Codec) -> Option<Route> {
    let id = peer.transceivers().find(|&id| {
        peer.kind(id) == Some(kind) && peer.current_direction(id).is_some_and(|d| d.sends())
    })?;
    let mid = peer.mid(id)?;
    let pt = peer.payload_type(mid, codec)?;
    let mut m = String::new();
    m.push_str(mid).ok()?;
    Some(Route { mid: m, pt })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_clip_is_vp8_320x240_at_15_fps_starting_with_a_keyframe() {
        let ivf = Ivf::parse(CLIP).unwrap();
        assert_eq!(&ivf.fourcc, b"VP80");
        assert_eq!(
            (ivf.width, ivf.height, ivf.rate, ivf.scale),
            (320, 240, 15, 1)
        );
        assert_eq!(ivf.frames().count(), 60);
        let keyframes = ivf.frames().enumerate().filter(|(_, f)| vp8_keyframe(f));
        assert!(keyframes.map(|(i, _)| i).eq([0]));
        // Every byte of the file is a header or a frame: nothing skipped, nothing truncated.
        let total: usize = ivf.frames().map(|f| f.len() + 12).sum();
        assert_eq!(total + 32, CLIP.len());
        // A VP8 keyframe's own header says the size too (RFC 6386 §9.1).
        let k = ivf.frames().next().unwrap();
        assert_eq!(&k[3..6], &[0x9d, 0x01, 0x2a]);
        assert_eq!(u16::from_le_bytes([k[6], k[7]]) & 0x3fff, 320);
        assert_eq!(u16::from_le_bytes([k[8], k[9]]) & 0x3fff, 240);
    }

    #[test]
    fn broken_ivf_is_refused_or_ends_without_panicking() {
        assert_eq!(Ivf::parse(b"RIFF"), None);
        assert_eq!(Ivf::parse(&CLIP[..20]), None);
        let cut = Ivf::parse(&CLIP[..32 + 12 + 10]).unwrap();
        assert_eq!(cut.frames().count(), 0);
    }

    #[test]
    fn ulaw_matches_g711() {
        // Known answers: silence, full scale both ways, and segment edges.
        assert_eq!(ulaw(0), 0xff);
        assert_eq!(ulaw(i16::MAX), 0x80);
        assert_eq!(ulaw(i16::MIN), 0x00);
        assert_eq!(ulaw(-1), 0x7f);
        assert_eq!(ulaw(8000), 0xa0);
        // Decoding (the G.711 expansion) gives back the sine within the segment's step.
        let decode = |u: u8| {
            let u = !u;
            let t = ((i32::from(u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
            if u & 0x80 != 0 { 0x84 - t } else { t - 0x84 }
        };
        for (&s, &u) in SINE.iter().zip(TONE.iter()) {
            assert!((decode(u) - i32::from(s)).abs() <= 256, "{s} {u:#x}");
        }
        assert_eq!(&AUDIO_FRAME[..16], &TONE);
        assert_eq!(&AUDIO_FRAME[144..], &TONE);
    }
}
