//! The command-line peer's media: tracks from files, frames paced onto the Peer, received
//! frames counted and written to files, and what the summary says of them.
//!
//! ```text
//!   --video/--audio FILE ─VideoSource/AudioSource─▶ a frame every frame interval, looped
//!   --video-ladder A,B,C ─VideoLadder─▶ the same, from the rendition that fits the budget
//!        (Peer::bitrate_estimate × 0.95 − the audio file's bitrate), switched at keyframes
//!        ─▶ Peer::write_frame (Full: the same frame again next turn; KeyframeRequest: skip to
//!           the file's next keyframe, which takes the RTP time of the frame it replaces)
//!   Event::MediaData ─▶ counted ─▶ VideoSink/AudioSink (video from a keyframe on, and again
//!        from the next keyframe after a gap) ─▶ --recv-video/--recv-audio OUT
//!   Event::BitrateEstimate, Peer::bitrate_estimate(_parts) once a second ─▶ the summary's
//!        "bitrate"
//! ```
//!
//! The file's codec (or `--video-codec`/`--audio-codec`) narrows the codecs the Peer offers
//! and accepts to that one, its RTX and telephone-event.

use std::time::{Duration, Instant as WallInstant};

use crate::media::{AudioSink, AudioSource, VideoLadder, VideoSink, VideoSource};
use peerless::sdp::jsep::CodecCapability;
use peerless::{
    AUDIO_CODECS, AreaUse, Codec, Config, Direction, MediaData, MediaError, MediaKind, Peer,
    TransceiverId, VIDEO_CODECS,
};

/// Media areas the CLI lends (bytes): a video send history, a video jitter buffer with its
/// largest frame, and audio's two.
const VIDEO_SEND_AREA: usize = 512 * 1024;
const VIDEO_RECEIVE_AREA: usize = 1024 * 1024;
const AUDIO_AREA: usize = 64 * 1024;
/// The media stream id (`a=msid`) of the tracks we send.
const STREAM_ID: &str = "peerless-cli";
/// The share of the target a ladder's video may take (percent): the rest is left for the RTP,
/// SRTP and UDP headers the target counts and the encoders' own bitrates do not.
const LADDER_SHARE_PERCENT: u64 = 95;

/// The CLI's Peer: every area is leaked, lent for the process's life.
pub(crate) type CliPeer = Peer<&'static mut [u8]>;

/// The media options of the command line.
#[derive(Default)]
pub(crate) struct MediaOptions {
    pub(crate) video: Option<String>,
    /// `--video-ladder A,B,C`: renditions of one clip, switched to follow the target.
    pub(crate) video_ladder: Option<String>,
    /// `--bitrate-limits MIN,START,MAX` (bit/s), for `Peer::set_bitrate_limits`.
    pub(crate) bitrate_limits: Option<(u64, u64, u64)>,
    pub(crate) audio: Option<String>,
    pub(crate) recv_video: Option<String>,
    pub(crate) recv_audio: Option<String>,
    pub(crate) video_codec: Option<String>,
    pub(crate) audio_codec: Option<String>,
    pub(crate) no_data: bool,
    pub(crate) min_frames: Option<u64>,
}

impl MediaOptions {
    /// Whether any option asks for media (then both kinds get receive areas).
    pub(crate) fn any(&self) -> bool {
        self.video.is_some()
            || self.video_ladder.is_some()
            || self.audio.is_some()
            || self.recv_video.is_some()
            || self.recv_audio.is_some()
            || self.video_codec.is_some()
            || self.audio_codec.is_some()
    }
}

/// The codec a name means ("vp8", "H264", "hevc", "pcmu" ...), of the kind asked for.
fn codec_named(name: &str, kind: MediaKind) -> Result<Codec, String> {
    let name = if name.eq_ignore_ascii_case("hevc") {
        "H265"
    } else {
        name
    };
    Codec::ALL
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name) && codec_kind(*c) == Some(kind))
        .ok_or_else(|| format!("{name} is not a {} codec we send", kind_name(kind)))
}

fn codec_kind(c: Codec) -> Option<MediaKind> {
    match c {
        Codec::Vp8 | Codec::Vp9 | Codec::H264 | Codec::H265 | Codec::Av1 => Some(MediaKind::Video),
        Codec::Opus | Codec::Pcmu | Codec::Pcma | Codec::G722 => Some(MediaKind::Audio),
        Codec::TelephoneEvent => None,
    }
}

pub(crate) fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
    }
}

/// `all` narrowed to `codec`, with the RTX entries that repair it and telephone-event: what
/// `--video-codec`/`--audio-codec` (or the file's codec) let us offer and accept.
fn narrowed(
    all: &'static [CodecCapability<'static>],
    codec: Codec,
) -> &'static [CodecCapability<'static>] {
    let chosen: Vec<u8> = all
        .iter()
        .filter(|c| c.name.eq_ignore_ascii_case(codec.name()))
        .map(|c| c.payload_type)
        .collect();
    let keep: Vec<CodecCapability<'static>> = all
        .iter()
        .filter(|c| {
            chosen.contains(&c.payload_type)
                || c.name.eq_ignore_ascii_case("telephone-event")
                || (c.name.eq_ignore_ascii_case("rtx")
                    && c.fmtp
                        .and_then(|f| f.strip_prefix("apt="))
                        .and_then(|apt| apt.parse().ok())
                        .is_some_and(|apt: u8| chosen.contains(&apt)))
        })
        .copied()
        .collect();
    // The Config wants a static slice; the CLI makes it once and keeps it for its life.
    Box::leak(keep.into_boxed_slice())
}

/// What a file source gives the sender: frames with RTP times and which are keyframes.
trait Source {
    fn next_frame(&mut self) -> (u32, &[u8]);
    fn is_keyframe(&self) -> bool;
    fn frame_interval(&self) -> Duration;
    fn frames(&self) -> usize;
    /// The file's mean bitrate (a ladder's: the current rendition's).
    fn bitrate_bps(&self) -> u64;
    /// What the source may use from now on; only a ladder follows it.
    fn set_budget(&mut self, _bps: u64) {}
    /// The frame `next_frame` gave last went out (a ladder counts it for its rendition).
    fn frame_sent(&mut self) {}
    /// The ladder, when the source is one.
    fn ladder(&self) -> Option<&VideoLadder> {
        None
    }
}

impl Source for VideoLadder {
    fn next_frame(&mut self) -> (u32, &[u8]) {
        VideoLadder::next_frame(self)
    }
    fn is_keyframe(&self) -> bool {
        VideoLadder::is_keyframe(self)
    }
    fn frame_interval(&self) -> Duration {
        VideoLadder::frame_interval(self)
    }
    fn frames(&self) -> usize {
        VideoLadder::frames(self)
    }
    fn bitrate_bps(&self) -> u64 {
        self.current_bps()
    }
    fn set_budget(&mut self, bps: u64) {
        VideoLadder::set_budget(self, bps);
    }
    fn frame_sent(&mut self) {
        VideoLadder::frame_sent(self);
    }
    fn ladder(&self) -> Option<&VideoLadder> {
        Some(self)
    }
}

impl Source for VideoSource {
    fn next_frame(&mut self) -> (u32, &[u8]) {
        VideoSource::next_frame(self)
    }
    fn is_keyframe(&self) -> bool {
        VideoSource::is_keyframe(self)
    }
    fn frame_interval(&self) -> Duration {
        VideoSource::frame_interval(self)
    }
    fn frames(&self) -> usize {
        VideoSource::frames(self)
    }
    fn bitrate_bps(&self) -> u64 {
        VideoSource::bitrate_bps(self)
    }
}

impl Source for AudioSource {
    fn next_frame(&mut self) -> (u32, &[u8]) {
        AudioSource::next_frame(self)
    }
    fn is_keyframe(&self) -> bool {
        true
    }
    fn frame_interval(&self) -> Duration {
        AudioSource::frame_interval(self)
    }
    fn frames(&self) -> usize {
        AudioSource::frames(self)
    }
    fn bitrate_bps(&self) -> u64 {
        AudioSource::bitrate_bps(self)
    }
}

/// One track we send from a file.
struct Outgoing {
    kind: MediaKind,
    codec: Codec,
    source: Box<dyn Source>,
    id: TransceiverId,
    /// The mid and payload type, once the negotiation gave them (`None` inside: it cannot
    /// send, said once).
    route: Option<Option<(String, u8)>>,
    /// When the next frame is due; `None` until the connection is up.
    next_due: Option<WallInstant>,
    /// A frame `write_frame` refused with `Full`, sent again next turn (dropping it would
    /// break the frames that refer to it).
    pending: Option<(u32, Vec<u8>)>,
    /// A random RTP time origin (RFC 3550 §5.1), and what skipping to keyframes took off.
    base: u32,
    offset: u32,
    skip_to_keyframe: bool,
    /// The last frame given to `write_frame` was a keyframe: a request that comes now most
    /// likely crossed it (the Peer asks as a stream starts, before its first keyframe is
    /// whole), and it answers the request already.
    keyframe_in_flight: bool,
    sent: u64,
    /// Octets of the frames written.
    octets: u64,
    full: u64,
    keyframe_requests: u64,
    keyframe_skips: u64,
    failed: u64,
}

impl Outgoing {
    fn new(kind: MediaKind, codec: Codec, source: Box<dyn Source>, id: TransceiverId) -> Self {
        Outgoing {
            kind,
            codec,
            source,
            id,
            route: None,
            next_due: None,
            pending: None,
            base: random_u32(),
            offset: 0,
            skip_to_keyframe: false,
            keyframe_in_flight: false,
            sent: 0,
            octets: 0,
            full: 0,
            keyframe_requests: 0,
            keyframe_skips: 0,
            failed: 0,
        }
    }

    /// The next frame of the file; after a keyframe request, the file's next keyframe
    /// instead, given the RTP time of the frame it replaces so the stream's clock runs on.
    fn take_frame(&mut self) -> (u32, Vec<u8>) {
        let (first, frame) = self.source.next_frame();
        let mut frame = (first, frame.to_vec());
        if std::mem::take(&mut self.skip_to_keyframe) && !self.source.is_keyframe() {
            self.keyframe_skips += 1;
            for _ in 0..self.source.frames() {
                if self.source.is_keyframe() {
                    break;
                }
                let (t, f) = self.source.next_frame();
                frame = (t, f.to_vec());
            }
            self.offset = self.offset.wrapping_add(first.wrapping_sub(frame.0));
        }
        (
            self.base.wrapping_add(self.offset).wrapping_add(frame.0),
            frame.1,
        )
    }

    /// Sends every frame that is due.
    fn pump(&mut self, peer: &mut CliPeer, now: WallInstant) {
        let Some(mut due) = self.next_due else {
            return;
        };
        if self.route.is_none() {
            let route = peer
                .current_direction(self.id)
                .filter(Direction::sends)
                .and_then(|_| peer.mid(self.id))
                .and_then(|mid| Some((mid.to_string(), peer.payload_type(mid, self.codec)?)));
            if route.is_none() {
                eprintln!(
                    "cli: the negotiation does not let us send {} {}",
                    kind_name(self.kind),
                    self.codec.name()
                );
            }
            self.route = Some(route);
        }
        let Some(Some((mid, pt))) = self.route.clone() else {
            return;
        };
        // After a stall, start again from now rather than sending a burst.
        if now.saturating_duration_since(due) > Duration::from_secs(1) {
            due = now;
        }
        while due <= now {
            let (rtp_time, frame) = match self.pending.take() {
                Some(p) => p,
                None => self.take_frame(),
            };
            match peer.write_frame(&mid, pt, rtp_time, &frame) {
                Ok(()) => {
                    self.sent += 1;
                    self.octets += frame.len() as u64;
                    self.source.frame_sent();
                    self.keyframe_in_flight =
                        self.kind == MediaKind::Video && self.source.is_keyframe();
                }
                Err(MediaError::Full) => {
                    self.full += 1;
                    self.pending = Some((rtp_time, frame));
                    break;
                }
                Err(MediaError::NotConnected) => {
                    self.pending = Some((rtp_time, frame));
                    break;
                }
                Err(e) => {
                    self.failed += 1;
                    eprintln!(
                        "cli: {} frame of {} bytes not sent: {e}",
                        self.codec.name(),
                        frame.len()
                    );
                }
            }
            due += self.source.frame_interval();
        }
        self.next_due = Some(due);
    }
}

/// A random RTP time origin; without /dev/urandom it is 0, which RFC 3550 only advises against.
fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b));
    u32::from_le_bytes(b)
}

enum Sink {
    Video(VideoSink),
    Audio(AudioSink),
}

/// What we receive of one kind: counted, and written to a file when one was asked for.
#[derive(Default)]
struct Incoming {
    path: Option<String>,
    sink: Option<Sink>,
    frames: u64,
    written: u64,
    /// Video is written from a keyframe on; a gap waits for the next keyframe, so the file
    /// decodes without errors.
    in_sync: bool,
    error: Option<String>,
}

impl Incoming {
    fn new(path: Option<String>) -> Self {
        Incoming {
            path,
            ..Incoming::default()
        }
    }

    fn frame(&mut self, d: &MediaData<'_>) {
        let codec = d.codec;
        self.frames += 1;
        let Some(path) = &self.path else {
            return;
        };
        if self.error.is_some() {
            return;
        }
        let video = codec_kind(codec) == Some(MediaKind::Video);
        if video {
            self.in_sync = d.keyframe || (self.in_sync && d.contiguous);
            if !self.in_sync {
                return;
            }
        }
        if self.sink.is_none() {
            let sink = if video {
                VideoSink::create(path, codec.name()).map(Sink::Video)
            } else {
                AudioSink::create(path, codec.name()).map(Sink::Audio)
            };
            match sink {
                Ok(s) => self.sink = Some(s),
                Err(e) => {
                    eprintln!("cli: {path}: {e}");
                    self.error = Some(e.to_string());
                    return;
                }
            }
        }
        let written = match self.sink.as_mut() {
            Some(Sink::Video(s)) => s.write_frame(d.rtp_time, d.data),
            Some(Sink::Audio(s)) => s.write_frame(d.rtp_time, d.data),
            None => Ok(()),
        };
        match written {
            Ok(()) => self.written += 1,
            Err(e) => {
                eprintln!("cli: {path}: {e}");
                self.error = Some(e.to_string());
            }
        }
    }

    /// Closes the file; whether it holds what was received (a file that was asked for and got
    /// no frame is an error too).
    fn finish(&mut self) -> bool {
        let result = match self.sink.take() {
            Some(Sink::Video(s)) => s.finish(),
            Some(Sink::Audio(s)) => s.finish(),
            None => Ok(()),
        };
        if let Err(e) = result {
            self.error = Some(e.to_string());
        }
        if self.path.is_some() && self.written == 0 && self.error.is_none() {
            self.error = Some("no frame written".to_string());
        }
        if let (Some(p), Some(e)) = (&self.path, &self.error) {
            eprintln!("cli: {p}: {e}");
        }
        self.error.is_none()
    }
}

/// What the bandwidth estimator said during the run, for the summary's "bitrate".
#[derive(Default)]
struct Bitrate {
    events: u64,
    /// The lowest and highest target seen (events and once-a-second samples).
    min: Option<u64>,
    max: Option<u64>,
    /// When the media started, and the next sample is due.
    started: Option<WallInstant>,
    next_sample: Option<WallInstant>,
    /// Once a second: (ms since the start, target, the ladder's rendition or 0, video bit/s
    /// written in that second, the peer's last REMB or 0).
    samples: Vec<(u128, u64, u64, u64, u64)>,
    video_octets: u64,
}

impl Bitrate {
    fn seen(&mut self, bps: u64) {
        self.min = Some(self.min.map_or(bps, |m| m.min(bps)));
        self.max = Some(self.max.map_or(bps, |m| m.max(bps)));
    }
}

/// The media side of a run: what we send and what we receive, by kind.
pub(crate) struct Media {
    /// The files to send, until `add_tracks` gives them transceivers.
    sources: Vec<(MediaKind, Codec, Box<dyn Source>)>,
    outgoing: Vec<Outgoing>,
    video_in: Incoming,
    audio_in: Incoming,
    min_frames: Option<u64>,
    /// Any media option was given (else the CLI is the data-channel peer it always was).
    on: bool,
    bitrate: Bitrate,
    limits: Option<(u64, u64, u64)>,
}

impl Media {
    /// Reads the files to send and narrows `config`'s codecs to theirs (or the ones
    /// `--video-codec`/`--audio-codec` name).
    pub(crate) fn new(m: &MediaOptions, config: &mut Config) -> Result<Self, String> {
        let video = m
            .video
            .as_ref()
            .map(|p| VideoSource::open(p).map_err(|e| format!("{p}: {e}")))
            .transpose()?;
        let ladder = match (&m.video_ladder, &video) {
            (Some(_), Some(_)) => {
                return Err("--video and --video-ladder exclude each other".into());
            }
            (Some(list), None) => {
                let paths: Vec<&str> = list.split(',').filter(|p| !p.is_empty()).collect();
                let ladder =
                    VideoLadder::open(&paths).map_err(|e| format!("--video-ladder: {e}"))?;
                eprintln!(
                    "cli: video ladder of {} renditions: {:?} bit/s",
                    paths.len(),
                    ladder.bitrates()
                );
                Some(ladder)
            }
            (None, _) => None,
        };
        let audio = m
            .audio
            .as_ref()
            .map(|p| AudioSource::open(p).map_err(|e| format!("{p}: {e}")))
            .transpose()?;
        let video_codec = pick(
            &m.video_codec,
            video
                .as_ref()
                .map(VideoSource::codec)
                .or(ladder.as_ref().map(VideoLadder::codec)),
            MediaKind::Video,
        )?;
        let audio_codec = pick(
            &m.audio_codec,
            audio.as_ref().map(AudioSource::codec),
            MediaKind::Audio,
        )?;
        if let Some(c) = video_codec {
            config.video_codecs = narrowed(VIDEO_CODECS, c);
        }
        if let Some(c) = audio_codec {
            config.audio_codecs = narrowed(AUDIO_CODECS, c);
        }
        let mut sources: Vec<(MediaKind, Codec, Box<dyn Source>)> = Vec::new();
        if let (Some(s), Some(c)) = (video, video_codec) {
            sources.push((MediaKind::Video, c, Box::new(s)));
        }
        if let (Some(s), Some(c)) = (ladder, video_codec) {
            sources.push((MediaKind::Video, c, Box::new(s)));
        }
        if let (Some(s), Some(c)) = (audio, audio_codec) {
            sources.push((MediaKind::Audio, c, Box::new(s)));
        }
        Ok(Media {
            sources,
            outgoing: Vec::new(),
            video_in: Incoming::new(m.recv_video.clone()),
            audio_in: Incoming::new(m.recv_audio.clone()),
            min_frames: m.min_frames,
            on: m.any(),
            bitrate: Bitrate::default(),
            limits: m.bitrate_limits,
        })
    }

    /// Lends the areas: receive areas of both kinds whenever media is on (so an answer accepts
    /// every media section the offer has), send areas for the files.
    /// The `--bitrate-limits` go to the Peer here too.
    pub(crate) fn lend_areas(&self, peer: &mut CliPeer) -> Result<(), String> {
        if let Some((min, start, max)) = self.limits {
            peer.set_bitrate_limits(min, start, max)
                .map_err(|e| format!("--bitrate-limits {min},{start},{max}: {e}"))?;
        }
        if !self.on {
            return Ok(());
        }
        lend(peer, MediaKind::Video, AreaUse::Receive, VIDEO_RECEIVE_AREA)?;
        lend(peer, MediaKind::Audio, AreaUse::Receive, AUDIO_AREA)?;
        for (kind, _, _) in &self.sources {
            let bytes = match kind {
                MediaKind::Video => VIDEO_SEND_AREA,
                MediaKind::Audio => AUDIO_AREA,
            };
            lend(peer, *kind, AreaUse::Send, bytes)?;
        }
        Ok(())
    }

    /// A track for each file. In an offer they make sendrecv sections, and a `--recv-*` file
    /// of a kind we do not send a recvonly one; in an answer (after the offer is applied)
    /// `add_track` takes the transceiver the offer's section created, so we send on it.
    pub(crate) fn add_tracks(&mut self, peer: &mut CliPeer, offer: bool) -> Result<(), String> {
        for (kind, codec, source) in self.sources.drain(..) {
            let id = peer
                .add_track(kind, STREAM_ID)
                .map_err(|e| format!("add_track: {e}"))?;
            self.outgoing.push(Outgoing::new(kind, codec, source, id));
        }
        if offer {
            for (kind, path) in [
                (MediaKind::Video, &self.video_in.path),
                (MediaKind::Audio, &self.audio_in.path),
            ] {
                if path.is_some() && self.outgoing.iter().all(|t| t.kind != kind) {
                    peer.add_transceiver(kind, Direction::RecvOnly)
                        .map_err(|e| format!("add_transceiver: {e}"))?;
                }
            }
        }
        Ok(())
    }

    /// The connection is up: the files start playing.
    pub(crate) fn start(&mut self, now: WallInstant) {
        for t in &mut self.outgoing {
            t.next_due.get_or_insert(now);
        }
        self.bitrate.started.get_or_insert(now);
        self.bitrate
            .next_sample
            .get_or_insert(now + Duration::from_secs(1));
    }

    /// `Event::BitrateEstimate`: counted and noted (the ladder reads the target each turn).
    pub(crate) fn bitrate_estimate(&mut self, target_bps: u64) {
        self.bitrate.events += 1;
        self.bitrate.seen(target_bps);
    }

    /// How long until the next frame is due, at most `max`.
    pub(crate) fn wait(&self, now: WallInstant, max: Duration) -> Duration {
        self.outgoing
            .iter()
            .filter_map(|t| t.next_due)
            .map(|d| d.saturating_duration_since(now))
            .fold(max, Duration::min)
    }

    /// Sends every frame that is due.
    pub(crate) fn pump(&mut self, peer: &mut CliPeer, now: WallInstant) {
        // The video's budget: the target less the audio files' bitrate and the headers.
        let target = peer.bitrate_estimate().unwrap_or(0);
        let audio: u64 = self
            .outgoing
            .iter()
            .filter(|t| t.kind == MediaKind::Audio)
            .map(|t| t.source.bitrate_bps())
            .sum();
        let budget = (target * LADDER_SHARE_PERCENT / 100).saturating_sub(audio);
        for t in &mut self.outgoing {
            if t.kind == MediaKind::Video {
                t.source.set_budget(budget);
            }
            t.pump(peer, now);
        }
        let b = &mut self.bitrate;
        if let (Some(start), Some(due)) = (b.started, b.next_sample)
            && now >= due
        {
            let octets: u64 = self
                .outgoing
                .iter()
                .filter(|t| t.kind == MediaKind::Video)
                .map(|t| t.octets)
                .sum();
            let rendition = self
                .outgoing
                .iter()
                .find_map(|t| t.source.ladder())
                .map_or(0, VideoLadder::current_bps);
            let span = now.saturating_duration_since(due) + Duration::from_secs(1);
            let video_bps = (octets - b.video_octets) * 8_000 / (span.as_millis() as u64).max(1);
            b.video_octets = octets;
            let remb = peer
                .bitrate_estimate_parts()
                .and_then(|p| p.remb_bps)
                .unwrap_or(0);
            b.samples.push((
                now.saturating_duration_since(start).as_millis(),
                target,
                rendition,
                video_bps,
                remb,
            ));
            b.seen(target);
            b.next_sample = Some(now + Duration::from_secs(1));
        }
    }

    /// A received frame: counted, and written when a file was asked for.
    pub(crate) fn frame(&mut self, d: &MediaData<'_>) {
        let incoming = match codec_kind(d.codec) {
            Some(MediaKind::Audio) => &mut self.audio_in,
            Some(MediaKind::Video) => &mut self.video_in,
            None => return,
        };
        incoming.frame(d);
    }

    /// The peer asked for a keyframe on `mid`: the next frame sent will be the file's next
    /// keyframe, unless the frame just sent was one (the request most likely crossed it).
    pub(crate) fn keyframe_request(&mut self, mid: &str) {
        let track = self.outgoing.iter_mut().find(|t| {
            t.route
                .as_ref()
                .and_then(Option::as_ref)
                .is_some_and(|(m, _)| m == mid)
        });
        if let Some(t) = track {
            t.keyframe_requests += 1;
            t.skip_to_keyframe |= !t.keyframe_in_flight;
        }
    }

    fn received(&self, kind: MediaKind) -> u64 {
        match kind {
            MediaKind::Audio => self.audio_in.frames,
            MediaKind::Video => self.video_in.frames,
        }
    }

    fn sent(&self, kind: MediaKind) -> u64 {
        self.outgoing
            .iter()
            .filter(|o| o.kind == kind)
            .map(|o| o.sent)
            .sum()
    }

    /// Frames of `kind` we must receive: `--min-frames` of every kind the peer sends, and one
    /// at least where a file was asked for.
    fn wanted(&self, peer: &CliPeer, kind: MediaKind) -> u64 {
        let peer_sends = peer.transceivers().any(|id| {
            peer.kind(id) == Some(kind) && peer.current_direction(id).is_some_and(|d| d.receives())
        });
        let file = match kind {
            MediaKind::Audio => self.audio_in.path.is_some(),
            MediaKind::Video => self.video_in.path.is_some(),
        };
        let min = if peer_sends {
            self.min_frames.unwrap_or(0)
        } else {
            0
        };
        if file { min.max(1) } else { min }
    }

    /// Whether what was asked of media held: each file sent frames (`--min-frames` of them
    /// when given, so the peer had as many to receive), each kind arrived often enough.
    pub(crate) fn done(&self, peer: &CliPeer) -> bool {
        if !self.on {
            return true;
        }
        let sent_enough = self
            .outgoing
            .iter()
            .all(|o| o.sent >= self.min_frames.unwrap_or(1).max(1));
        sent_enough
            && [MediaKind::Audio, MediaKind::Video]
                .into_iter()
                .all(|k| self.received(k) >= self.wanted(peer, k))
    }

    /// Closes the files; whether what was asked of media held (`done`, and every file sent
    /// frames and every output file was written), for the exit status.
    pub(crate) fn finish(&mut self, peer: &CliPeer) -> bool {
        let written = self.video_in.finish() & self.audio_in.finish();
        written
            && self.outgoing.iter().all(|t| t.sent > 0 && t.failed == 0)
            && [MediaKind::Audio, MediaKind::Video]
                .into_iter()
                .all(|k| self.received(k) >= self.wanted(peer, k))
    }

    /// The summary's media members (none when media is off), each with its leading comma.
    pub(crate) fn summary(&self, peer: &CliPeer) -> String {
        if !self.on {
            return String::new();
        }
        let mut sections = Vec::new();
        for id in peer.transceivers() {
            let (Some(kind), Some(s)) = (peer.kind(id), peer.media_stats(id)) else {
                continue;
            };
            let sending = self.outgoing.iter().find(|o| o.id == id).map(|o| o.codec);
            let codec = sending
                .or_else(|| peer.codecs(id).map(|(_, c)| c).next())
                .map_or("", Codec::name);
            sections.push(format!(
                "{{\"mid\":\"{}\",\"kind\":\"{}\",\"codec\":\"{codec}\",\"direction\":\"{}\",\
                 \"packets_sent\":{},\"packets_received\":{},\"packets_lost\":{},\
                 \"nacks_sent\":{},\"nacks_received\":{},\"rtx_sent\":{},\"rtx_received\":{},\
                 \"plis_sent\":{},\"plis_received\":{},\"frames_sent\":{},\"frames_received\":{},\
                 \"frames_dropped\":{},\"rtt_ms\":{}}}",
                peer.mid(id).unwrap_or(""),
                kind_name(kind),
                peer.current_direction(id)
                    .map_or(if peer.is_stopped(id) { "stopped" } else { "" }, |d| {
                        d.as_str()
                    }),
                s.packets_sent,
                s.packets_received,
                s.packets_lost,
                s.nacks_sent,
                s.nacks_received,
                s.retransmissions_sent,
                s.rtx_received,
                s.plis_sent,
                s.plis_received,
                s.frames_sent,
                s.frames_received,
                s.frames_dropped,
                s.round_trip_time_us
                    .map_or("null".to_string(), |us| format!(
                        "{:.3}",
                        us as f64 / 1000.0
                    )),
            ));
        }
        let ladder = self.outgoing.iter().find_map(|t| t.source.ladder());
        let list = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let b = &self.bitrate;
        let parts = peer.bitrate_estimate_parts();
        let opt = |v: Option<u64>| v.map_or("null".to_string(), |v| v.to_string());
        let bitrate = format!(
            "{{\"target_bps_last\":{},\"target_bps_min\":{},\"target_bps_max\":{},\"events\":{},\
             \"delay_bps_last\":{},\"loss_bps_last\":{},\"remb_bps_last\":{},\"acked_bps_last\":{},\
             \"renditions_bps\":[{}],\"rendition_bps_last\":{},\"rendition_switches\":{},\
             \"rendition_frames\":[{}],\"samples\":[{}]}}",
            peer.bitrate_estimate()
                .map_or("null".into(), |t| t.to_string()),
            b.min.map_or("null".into(), |t| t.to_string()),
            b.max.map_or("null".into(), |t| t.to_string()),
            b.events,
            opt(parts.map(|p| p.delay_bps)),
            opt(parts.map(|p| p.loss_bps)),
            opt(parts.and_then(|p| p.remb_bps)),
            opt(parts.and_then(|p| p.acked_bps)),
            list(&ladder.map(VideoLadder::bitrates).unwrap_or_default()),
            ladder.map_or(0, VideoLadder::current_bps),
            ladder.map_or(0, VideoLadder::switches),
            list(ladder.map(VideoLadder::frames_sent).unwrap_or_default()),
            b.samples
                .iter()
                .map(|(ms, t, r, v, remb)| format!("[{ms},{t},{r},{v},{remb}]"))
                .collect::<Vec<_>>()
                .join(","),
        );
        let keyframes: u64 = self.outgoing.iter().map(|o| o.keyframe_requests).sum();
        let skips: u64 = self.outgoing.iter().map(|o| o.keyframe_skips).sum();
        let full: u64 = self.outgoing.iter().map(|o| o.full).sum();
        let failed: u64 = self.outgoing.iter().map(|o| o.failed).sum();
        format!(
            ",\"frames\":{{\"video\":{},\"audio\":{}}},\"frames_written\":{{\"video\":{},\"audio\":{}}},\
             \"frames_sent\":{{\"video\":{},\"audio\":{}}},\"keyframe_requests\":{keyframes},\"keyframe_skips\":{skips},\
             \"send_full\":{full},\"send_failed\":{failed},\"bitrate\":{bitrate},\"media\":[{}]",
            self.video_in.frames,
            self.audio_in.frames,
            self.video_in.written,
            self.audio_in.written,
            self.sent(MediaKind::Video),
            self.sent(MediaKind::Audio),
            sections.join(","),
        )
    }
}

/// The codec to use for a kind: the one asked for, else the file's; they must agree.
fn pick(
    asked: &Option<String>,
    file: Option<&'static str>,
    kind: MediaKind,
) -> Result<Option<Codec>, String> {
    let asked = asked.as_deref().map(|n| codec_named(n, kind)).transpose()?;
    let file = file.map(|n| codec_named(n, kind)).transpose()?;
    match (asked, file) {
        (Some(a), Some(f)) if a != f => Err(format!(
            "--{}-codec {} but the file holds {}",
            kind_name(kind),
            a.name(),
            f.name()
        )),
        (a, f) => Ok(a.or(f)),
    }
}

fn lend(peer: &mut CliPeer, kind: MediaKind, use_: AreaUse, bytes: usize) -> Result<(), String> {
    // The Peer borrows areas for its whole life, which in the CLI is the process's.
    let area: &'static mut [u8] = Box::leak(vec![0u8; bytes].into_boxed_slice());
    peer.lend_media_area(kind, use_, area)
        .map_err(|_| "the Peer took no more media areas".to_string())
}
