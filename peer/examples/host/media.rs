//! Media files for the command-line peer and the demo: sources that hand out a clip frame by
//! frame with its RTP time, looping forever, and sinks that store received frames in a
//! container ffmpeg decodes.
//!
//! ```text
//!   clip.vp8.ivf | clip.h264 | tone.opus | tone.ulaw
//!     ──VideoSource/AudioSource::open──▶ frames in memory
//!     ──next_frame()──▶ (RTP time since start, frame)  every frame_interval(), looping
//!                           ──▶ Peer::write_frame(mid, pt, base + time, frame)
//!
//!   Event::MediaData { rtp_time, data, .. }
//!     ──VideoSink/AudioSink::write_frame(rtp_time, data)──▶ out.ivf|.h264|.h265|.opus|.ulaw|.alaw
//!     ──finish()──▶ IVF frame count patched, Ogg's last page marked
//! ```
//!
//! Video: IVF by its FourCC (VP80, VP90, AV01; timestamps from the file, 90 kHz RTP clock) and
//! Annex-B `.h264`/`.h265` (cut into access units, 30 fps). Audio: Ogg Opus `.opus` (48 kHz
//! clock, each packet's duration from its TOC octet) and raw 8 kHz G.711 `.ulaw`/`.alaw`
//! (160-octet, 20 ms frames). Frames go in and out as `peerless::rtp::codec`'s packetizers take
//! them and its depacketizers produce them: VP8/VP9/AV1 frames as IVF stores them, H.264/H.265
//! access units in Annex-B, one Opus packet, G.711 octets.
#![allow(dead_code)]

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use peerless::rtp::codec::opus::opus_packet_samples;
use peerless::rtp::container::access_units::{AccessUnits, NalCodec};
use peerless::rtp::container::ivf::{self, IvfHeader, IvfReader};
use peerless::rtp::container::ogg::{self, OggOpusWriter, OggReader, OpusHead};

/// The RTP clock of every video payload format.
pub(crate) const VIDEO_CLOCK: u32 = 90_000;
/// Annex-B files carry no timing: they are sent at this rate.
pub(crate) const ANNEXB_FPS: u32 = 30;
/// G.711 frames in a raw file: 20 ms at 8 kHz.
pub(crate) const G711_FRAME: usize = 160;

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// One stored frame: where it lies in the file, its RTP time from the clip's start, and
/// whether a decoder can start from it.
struct Frame {
    range: Range<usize>,
    time: u64,
    keyframe: bool,
}

/// A file's frames, handed out in order and then again from the first, with RTP times that
/// keep counting up across loops.
struct Clip {
    data: Vec<u8>,
    frames: Vec<Frame>,
    /// RTP ticks from the first frame of one loop to the first of the next.
    loop_ticks: u64,
    next: usize,
    loops: u64,
    last_keyframe: bool,
}

impl Clip {
    fn new(data: Vec<u8>, frames: Vec<Frame>, last_ticks: u64) -> io::Result<Self> {
        let last = frames
            .last()
            .ok_or_else(|| invalid("the file holds no frame"))?;
        Ok(Clip {
            loop_ticks: last.time + last_ticks.max(1),
            data,
            frames,
            next: 0,
            loops: 0,
            last_keyframe: false,
        })
    }

    /// The mean bitrate of one pass, bit/s, with times counted at `clock` Hz.
    fn bitrate_bps(&self, clock: u32) -> u64 {
        let octets: usize = self.frames.iter().map(|f| f.range.len()).sum();
        let micros = self.loop_ticks.saturating_mul(1_000_000) / u64::from(clock.max(1));
        (octets as u64).saturating_mul(8_000_000) / micros.max(1)
    }

    fn next_frame(&mut self) -> (u32, &[u8]) {
        let Some(frame) = self.frames.get(self.next) else {
            return (0, &[]);
        };
        let time = self
            .loops
            .wrapping_mul(self.loop_ticks)
            .wrapping_add(frame.time);
        self.last_keyframe = frame.keyframe;
        let range = frame.range.clone();
        self.next += 1;
        if self.next == self.frames.len() {
            self.next = 0;
            self.loops += 1;
        }
        // RTP time wraps at 2^32 by design.
        (time as u32, self.data.get(range).unwrap_or_default())
    }
}

/// A video clip to send: an IVF file (VP8, VP9, AV1) or an Annex-B H.264/H.265 stream.
pub(crate) struct VideoSource {
    codec: &'static str,
    clip: Clip,
    interval: Duration,
}

impl VideoSource {
    /// Reads the whole file: IVF by its FourCC, `.h264`/`.264` or `.h265`/`.265`/`.hevc` by
    /// the extension.
    pub(crate) fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let data = std::fs::read(path)?;
        if data.starts_with(b"DKIF") {
            return Self::ivf(data);
        }
        let codec = match extension(path).as_str() {
            "h264" | "264" => NalCodec::H264,
            "h265" | "265" | "hevc" => NalCodec::H265,
            other => {
                return Err(invalid(format!(
                    "{}: not IVF, and .{other} is not .h264 or .h265",
                    path.display()
                )));
            }
        };
        let tick = u64::from(VIDEO_CLOCK / ANNEXB_FPS);
        let units = AccessUnits::new(&data, codec)
            .map_err(|_| invalid("the Annex-B stream does not open with a start code"))?;
        let frames = units
            .enumerate()
            .map(|(i, au)| Frame {
                range: offset_in(&data, au.data),
                time: i as u64 * tick,
                keyframe: au.keyframe,
            })
            .collect();
        Ok(VideoSource {
            codec: match codec {
                NalCodec::H264 => "H264",
                NalCodec::H265 => "H265",
            },
            clip: Clip::new(data, frames, tick)?,
            interval: Duration::from_secs(1) / ANNEXB_FPS,
        })
    }

    fn ivf(data: Vec<u8>) -> io::Result<Self> {
        let (header, reader) = IvfReader::new(&data).map_err(|e| invalid(e.to_string()))?;
        let codec = match &header.fourcc {
            b"VP80" => "VP8",
            b"VP90" => "VP9",
            b"AV01" => "AV1",
            other => {
                return Err(invalid(format!(
                    "IVF FourCC {:?} is not VP80, VP90 or AV01",
                    String::from_utf8_lossy(other)
                )));
            }
        };
        let (num, den) = (
            u64::from(header.timebase_numerator),
            u64::from(header.timebase_denominator),
        );
        if num == 0 || den == 0 {
            return Err(invalid("IVF timebase with a zero term"));
        }
        let to_ticks = |ts: u64| {
            ts.saturating_mul(num)
                .saturating_mul(u64::from(VIDEO_CLOCK))
                / den
        };
        let mut frames = Vec::new();
        let mut first = None;
        for frame in reader {
            let frame = frame.map_err(|e| invalid(e.to_string()))?;
            let first = *first.get_or_insert(frame.timestamp);
            frames.push(Frame {
                range: offset_in(&data, frame.data),
                time: to_ticks(frame.timestamp.saturating_sub(first)),
                keyframe: video_keyframe(codec, frame.data),
            });
        }
        // The pace: the clip's mean frame spacing (the timebase unit for a one-frame clip).
        let span = frames.last().map_or(0, |f| f.time);
        let ticks = match frames.len() {
            0 | 1 => to_ticks(1),
            n => span / (n as u64 - 1),
        }
        .max(1);
        Ok(VideoSource {
            codec,
            clip: Clip::new(data, frames, ticks)?,
            interval: Duration::from_micros(ticks * 1_000_000 / u64::from(VIDEO_CLOCK)),
        })
    }

    /// "VP8", "VP9", "AV1", "H264" or "H265".
    pub(crate) fn codec(&self) -> &'static str {
        self.codec
    }

    /// The next frame and its RTP time (90 kHz) since the first frame; after the last frame
    /// the clip starts again, one frame interval later.
    pub(crate) fn next_frame(&mut self) -> (u32, &[u8]) {
        self.clip.next_frame()
    }

    /// Whether the frame `next_frame` returned last is a keyframe.
    pub(crate) fn is_keyframe(&self) -> bool {
        self.clip.last_keyframe
    }

    /// How often to send a frame.
    pub(crate) fn frame_interval(&self) -> Duration {
        self.interval
    }

    /// Frames in one pass of the clip.
    pub(crate) fn frames(&self) -> usize {
        self.clip.frames.len()
    }

    /// The clip's mean bitrate, bit/s: every frame's octets over one pass's duration.
    pub(crate) fn bitrate_bps(&self) -> u64 {
        self.clip.bitrate_bps(VIDEO_CLOCK)
    }

    /// Whether frame `index` of a pass is a keyframe.
    fn keyframe_at(&self, index: usize) -> bool {
        self.clip.frames.get(index).is_some_and(|f| f.keyframe)
    }

    /// The index in the pass of the frame `next_frame` returns next.
    fn next_index(&self) -> usize {
        self.clip.next
    }
}

/// Several encodings (renditions) of one clip at different bitrates, with keyframes on the
/// same frames, played in lockstep: at a frame that is a keyframe in every rendition the
/// ladder moves to the highest rendition whose bitrate fits the budget (the lowest when none
/// does), so the stream decodes across the switch and follows the bandwidth estimate.
///
/// ```text
///   set_budget(bps) ─▶ budget
///   next_frame: next index a keyframe in all? ─▶ current = highest rung with bitrate <= budget
///               every rendition advances one frame ─▶ the current one's frame (same RTP time)
/// ```
pub(crate) struct VideoLadder {
    /// Ascending by bitrate.
    rungs: Vec<(VideoSource, u64)>,
    current: usize,
    budget_bps: u64,
    switches: u64,
    /// Frames sent from each rung.
    sent: Vec<u64>,
    last_keyframe: bool,
}

impl VideoLadder {
    /// Reads each file; they must hold the same codec, frame count and frame rate, and every
    /// keyframe of one must be a keyframe in all (else a switch could land on a frame that
    /// needs another rendition's references). Starts on the lowest rendition.
    pub(crate) fn open(paths: &[impl AsRef<Path>]) -> io::Result<Self> {
        let mut rungs = Vec::new();
        for p in paths {
            let source = VideoSource::open(p)
                .map_err(|e| invalid(format!("{}: {e}", p.as_ref().display())))?;
            let bps = source.bitrate_bps();
            rungs.push((source, bps));
        }
        rungs.sort_by_key(|(_, bps)| *bps);
        let Some((first, _)) = rungs.first() else {
            return Err(invalid("a ladder needs at least one file"));
        };
        let (codec, frames, interval) = (first.codec(), first.frames(), first.frame_interval());
        for (r, _) in &rungs {
            if r.codec() != codec || r.frames() != frames || r.frame_interval() != interval {
                return Err(invalid(format!(
                    "the ladder's files differ: {} {} frames every {:?} against {codec} {frames} every {interval:?}",
                    r.codec(),
                    r.frames(),
                    r.frame_interval()
                )));
            }
            if let Some(i) = (0..frames).find(|&i| r.keyframe_at(i) != first.keyframe_at(i)) {
                return Err(invalid(format!(
                    "the ladder's files have keyframes on different frames (frame {i})"
                )));
            }
        }
        let sent = vec![0; rungs.len()];
        Ok(VideoLadder {
            rungs,
            current: 0,
            budget_bps: 0,
            switches: 0,
            sent,
            last_keyframe: false,
        })
    }

    /// What the video may use now, bit/s; taken at the next keyframe.
    pub(crate) fn set_budget(&mut self, bps: u64) {
        self.budget_bps = bps;
    }

    /// The rendition for `budget_bps`: the highest that fits, else the lowest.
    fn fitting(&self) -> usize {
        self.rungs
            .iter()
            .rposition(|(_, bps)| *bps <= self.budget_bps)
            .unwrap_or(0)
    }

    /// The next frame of the current rendition (switching first at a keyframe) and its RTP
    /// time since the clip's start.
    pub(crate) fn next_frame(&mut self) -> (u32, &[u8]) {
        let index = self.rungs.first().map_or(0, |(r, _)| r.next_index());
        let at_keyframe = self
            .rungs
            .first()
            .is_some_and(|(r, _)| r.keyframe_at(index));
        if at_keyframe {
            let fit = self.fitting();
            if fit != self.current {
                self.switches += 1;
                self.current = fit;
            }
        }
        let current = self.current;
        // Every rendition moves on, so all stand on the same frame at the next switch.
        for (i, (r, _)) in self.rungs.iter_mut().enumerate() {
            if i != current {
                r.next_frame();
            }
        }
        match self.rungs.get_mut(current) {
            Some((r, _)) => {
                self.last_keyframe = r.keyframe_at(index);
                r.next_frame()
            }
            None => (0, &[]),
        }
    }

    /// Whether the frame `next_frame` returned last is a keyframe.
    pub(crate) fn is_keyframe(&self) -> bool {
        self.last_keyframe
    }

    /// The frame `next_frame` returned last was sent: counted for its rendition (frames
    /// skipped on the way to a keyframe are not).
    pub(crate) fn frame_sent(&mut self) {
        if let Some(n) = self.sent.get_mut(self.current) {
            *n += 1;
        }
    }

    pub(crate) fn codec(&self) -> &'static str {
        self.rungs.first().map_or("", |(r, _)| r.codec())
    }

    pub(crate) fn frame_interval(&self) -> Duration {
        self.rungs
            .first()
            .map_or(Duration::from_millis(33), |(r, _)| r.frame_interval())
    }

    pub(crate) fn frames(&self) -> usize {
        self.rungs.first().map_or(0, |(r, _)| r.frames())
    }

    /// Each rendition's bitrate, ascending.
    pub(crate) fn bitrates(&self) -> Vec<u64> {
        self.rungs.iter().map(|(_, bps)| *bps).collect()
    }

    /// The bitrate of the rendition being sent.
    pub(crate) fn current_bps(&self) -> u64 {
        self.rungs.get(self.current).map_or(0, |(_, bps)| *bps)
    }

    /// Times the ladder moved to another rendition.
    pub(crate) fn switches(&self) -> u64 {
        self.switches
    }

    /// Frames sent from each rendition (as `frame_sent` counted them), in `bitrates` order.
    pub(crate) fn frames_sent(&self) -> &[u64] {
        &self.sent
    }
}

/// Where `part` (a slice of `whole`) lies in `whole`.
fn offset_in(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = (part.as_ptr() as usize).saturating_sub(whole.as_ptr() as usize);
    start..start + part.len()
}

/// A keyframe by the codec's first header bits: VP8's frame tag (RFC 6386 §9.1), VP9's
/// uncompressed header (frame_type after the profile and show_existing_frame), AV1's sequence
/// header OBU, which libaom and browsers send with every key frame.
fn video_keyframe(codec: &str, frame: &[u8]) -> bool {
    let Some(&b) = frame.first() else {
        return false;
    };
    match codec {
        "VP8" => b & 1 == 0,
        "VP9" => {
            let profile = (b >> 5 & 1) | (b >> 3 & 2);
            // Bits from the top: frame_marker(2) profile(2) [reserved_zero if profile 3]
            // show_existing_frame frame_type.
            let at = if profile == 3 { 5 } else { 4 };
            let show_existing = b >> (7 - at) & 1 == 1;
            !show_existing && b >> (6 - at) & 1 == 0
        }
        "AV1" => av1_obus(frame).any(|obu_type| obu_type == 1),
        _ => false,
    }
}

/// The OBU types of an AV1 temporal unit in the low-overhead format (each OBU with its size).
fn av1_obus(mut tu: &[u8]) -> impl Iterator<Item = u8> + '_ {
    std::iter::from_fn(move || {
        let (&header, rest) = tu.split_first()?;
        let has_extension = header & 0x04 != 0;
        let rest = rest.get(usize::from(has_extension)..)?;
        if header & 0x02 == 0 {
            // No size field: the OBU runs to the end.
            tu = &[];
            return Some(header >> 3 & 0x0f);
        }
        let (mut size, mut used) = (0usize, 0);
        for (i, &b) in rest.iter().take(8).enumerate() {
            size |= usize::from(b & 0x7f) << (7 * i);
            used = i + 1;
            if b & 0x80 == 0 {
                break;
            }
        }
        tu = rest.get(used + size..).unwrap_or_default();
        Some(header >> 3 & 0x0f)
    })
}

/// An audio clip to send: Ogg Opus or raw G.711.
pub(crate) struct AudioSource {
    codec: &'static str,
    clip: Clip,
    interval: Duration,
    channels: u8,
}

impl AudioSource {
    /// Reads the whole file: `.opus` (Ogg Opus), `.ulaw`/`.pcmu` or `.alaw`/`.pcma` (8 kHz
    /// mono G.711, cut into 20 ms frames; a shorter tail is dropped).
    pub(crate) fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref();
        let data = std::fs::read(path)?;
        let codec = match extension(path).as_str() {
            "opus" | "ogg" => return Self::opus(data),
            "ulaw" | "pcmu" => "PCMU",
            "alaw" | "pcma" => "PCMA",
            other => {
                return Err(invalid(format!(
                    "{}: .{other} is not .opus, .ulaw or .alaw",
                    path.display()
                )));
            }
        };
        let frames = (0..data.len() / G711_FRAME)
            .map(|i| Frame {
                range: i * G711_FRAME..(i + 1) * G711_FRAME,
                time: (i * G711_FRAME) as u64,
                keyframe: true,
            })
            .collect();
        Ok(AudioSource {
            codec,
            clip: Clip::new(data, frames, G711_FRAME as u64)?,
            interval: Duration::from_millis(20),
            channels: 1,
        })
    }

    fn opus(data: Vec<u8>) -> io::Result<Self> {
        let mut reader = OggReader::new(&data);
        // An Opus packet is at most 120 ms of 1275-octet frames; a page holds one easily, but
        // a writer may still split one across pages.
        let mut joined = vec![0u8; 64 * 1024];
        let head = next(&mut reader, &mut joined)?.ok_or_else(|| invalid("empty Ogg file"))?;
        let head = OpusHead::parse(&head).map_err(|e| invalid(e.to_string()))?;
        next(&mut reader, &mut joined)?.ok_or_else(|| invalid("Ogg Opus without OpusTags"))?;
        // The packets are copied out of their pages into one buffer, back to back.
        let mut packets = Vec::new();
        let mut frames = Vec::new();
        let mut time = 0u64;
        let mut durations = (None, 0);
        while let Some(p) = next(&mut reader, &mut joined)? {
            let samples = opus_packet_samples(&p)
                .map_err(|_| invalid("an Opus packet without a valid TOC octet"))?;
            frames.push(Frame {
                range: packets.len()..packets.len() + p.len(),
                time,
                keyframe: true,
            });
            packets.extend_from_slice(&p);
            time += u64::from(samples);
            durations = (durations.0.or(Some(samples)), samples);
        }
        let (first, last) = (
            u64::from(durations.0.unwrap_or(960)),
            u64::from(durations.1),
        );
        Ok(AudioSource {
            codec: "opus",
            clip: Clip::new(packets, frames, last)?,
            interval: Duration::from_micros(first * 1_000 / 48),
            channels: head.channels,
        })
    }

    /// "opus", "PCMU" or "PCMA".
    pub(crate) fn codec(&self) -> &'static str {
        self.codec
    }

    /// The next frame and its RTP time since the first (48 kHz for Opus, 8 kHz for G.711);
    /// looping like [`VideoSource::next_frame`].
    pub(crate) fn next_frame(&mut self) -> (u32, &[u8]) {
        self.clip.next_frame()
    }

    /// How often to send a frame (the first packet's duration for Opus, 20 ms for G.711).
    pub(crate) fn frame_interval(&self) -> Duration {
        self.interval
    }

    /// Frames in one pass of the clip.
    pub(crate) fn frames(&self) -> usize {
        self.clip.frames.len()
    }

    /// The clip's mean bitrate, bit/s (payload octets only).
    pub(crate) fn bitrate_bps(&self) -> u64 {
        self.clip.bitrate_bps(self.clock_rate())
    }

    /// The RTP clock of [`AudioSource::next_frame`]'s times: 48000 for Opus, 8000 for G.711.
    pub(crate) fn clock_rate(&self) -> u32 {
        if self.codec == "opus" { 48_000 } else { 8_000 }
    }

    /// The clip's channel count (Opus: from its OpusHead; G.711: 1).
    pub(crate) fn channels(&self) -> u8 {
        self.channels
    }
}

/// The next packet of an Ogg stream, copied out.
fn next(reader: &mut OggReader<'_>, buf: &mut [u8]) -> io::Result<Option<Vec<u8>>> {
    match reader.next_packet(buf) {
        None => Ok(None),
        Some(Ok(p)) => Ok(Some(p.data.to_vec())),
        Some(Err(e)) => Err(invalid(e.to_string())),
    }
}

/// The canonical name of a codec given in any case ("vp8", "H264", "pcmu" ...).
fn codec_name(name: &str) -> io::Result<&'static str> {
    Ok(match name.to_ascii_uppercase().as_str() {
        "VP8" => "VP8",
        "VP9" => "VP9",
        "AV1" => "AV1",
        "H264" => "H264",
        "H265" | "HEVC" => "H265",
        "OPUS" => "opus",
        "PCMU" => "PCMU",
        "PCMA" => "PCMA",
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("unknown codec {name}"),
            ));
        }
    })
}

fn mismatch(path: &Path, codec: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{} cannot hold {codec}", path.display()),
    )
}

enum VideoOut {
    Ivf {
        /// The first frame's RTP time and the running timestamp, unwrapped.
        last_rtp: Option<u32>,
        timestamp: i64,
        size: Option<(u16, u16)>,
    },
    AnnexB,
}

/// Where received video frames go: IVF for VP8, VP9 and AV1; Annex-B for H.264 and H.265.
pub(crate) struct VideoSink {
    out: BufWriter<File>,
    codec: &'static str,
    kind: VideoOut,
    frames: u32,
}

impl VideoSink {
    /// Creates `path` for `codec`: `.ivf` for VP8/VP9/AV1, `.h264` for H.264, `.h265`/`.hevc`
    /// for H.265.
    pub(crate) fn create(path: impl AsRef<Path>, codec: &str) -> io::Result<Self> {
        let path = path.as_ref();
        let codec = codec_name(codec)?;
        let (kind, fourcc) = match (extension(path).as_str(), codec) {
            ("ivf", "VP8") => (VideoOut::ivf(), *b"VP80"),
            ("ivf", "VP9") => (VideoOut::ivf(), *b"VP90"),
            ("ivf", "AV1") => (VideoOut::ivf(), *b"AV01"),
            ("h264" | "264", "H264") | ("h265" | "265" | "hevc", "H265") => {
                (VideoOut::AnnexB, [0; 4])
            }
            _ => return Err(mismatch(path, codec)),
        };
        let mut out = BufWriter::new(File::create(path)?);
        if matches!(kind, VideoOut::Ivf { .. }) {
            let mut header = [0u8; ivf::HEADER_LEN];
            ivf_header(fourcc, (0, 0), 0)
                .emit(&mut header)
                .map_err(|e| invalid(e.to_string()))?;
            out.write_all(&header)?;
        }
        Ok(VideoSink {
            out,
            codec,
            kind,
            frames: 0,
        })
    }

    /// Appends one frame received at `rtp_time` (90 kHz).
    pub(crate) fn write_frame(&mut self, rtp_time: u32, data: &[u8]) -> io::Result<()> {
        match &mut self.kind {
            VideoOut::AnnexB => self.out.write_all(data)?,
            VideoOut::Ivf {
                last_rtp,
                timestamp,
                size,
            } => {
                if let Some(last) = *last_rtp {
                    // RTP time wraps; frames arrive in order, a step back (B-frames) stays
                    // signed.
                    *timestamp =
                        (*timestamp + i64::from(rtp_time.wrapping_sub(last) as i32)).max(0);
                }
                *last_rtp = Some(rtp_time);
                if size.is_none() && self.codec == "VP8" {
                    *size = vp8_size(data);
                }
                // The AV1 depacketizer drops temporal delimiters (RTP format §5); the
                // low-overhead format that IVF holds opens each temporal unit with one.
                let delimiter: &[u8] = match av1_obus(data).next() {
                    Some(2) => &[],
                    _ if self.codec == "AV1" => &[0x12, 0x00],
                    _ => &[],
                };
                let mut head = [0u8; ivf::FRAME_HEADER_LEN];
                ivf::emit_frame_header(delimiter.len() + data.len(), *timestamp as u64, &mut head)
                    .map_err(|e| invalid(e.to_string()))?;
                self.out.write_all(&head)?;
                self.out.write_all(delimiter)?;
                self.out.write_all(data)?;
            }
        }
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub(crate) fn frames(&self) -> u32 {
        self.frames
    }

    /// Flushes the file; for IVF, writes the frame count (and a VP8 stream's picture size) into
    /// the header.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if let VideoOut::Ivf { size, .. } = self.kind {
            let fourcc = match self.codec {
                "VP8" => *b"VP80",
                "VP9" => *b"VP90",
                _ => *b"AV01",
            };
            let mut header = [0u8; ivf::HEADER_LEN];
            ivf_header(fourcc, size.unwrap_or((0, 0)), self.frames)
                .emit(&mut header)
                .map_err(|e| invalid(e.to_string()))?;
            self.out.seek(SeekFrom::Start(0))?;
            self.out.write_all(&header)?;
        }
        self.out.flush()
    }
}

impl VideoOut {
    fn ivf() -> Self {
        VideoOut::Ivf {
            last_rtp: None,
            timestamp: 0,
            size: None,
        }
    }
}

fn ivf_header(fourcc: [u8; 4], (width, height): (u16, u16), frame_count: u32) -> IvfHeader {
    IvfHeader {
        fourcc,
        width,
        height,
        timebase_denominator: VIDEO_CLOCK,
        timebase_numerator: 1,
        frame_count,
    }
}

/// A VP8 key frame's picture size (RFC 6386 §9.1: start code 9d 01 2a, then 14-bit width and
/// height, each with a 2-bit scale above).
fn vp8_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.first()? & 1 != 0 || frame.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let le = |at: usize| Some(u16::from_le_bytes([*frame.get(at)?, *frame.get(at + 1)?]) & 0x3fff);
    Some((le(6)?, le(8)?))
}

enum AudioOut {
    Opus {
        writer: Option<OggOpusWriter>,
        /// Held back one packet, so the last can close the stream at `finish`.
        pending: Option<Vec<u8>>,
        page: Vec<u8>,
    },
    Raw,
}

/// Where received audio frames go: Ogg Opus, or raw G.711.
pub(crate) struct AudioSink {
    out: BufWriter<File>,
    kind: AudioOut,
    frames: u32,
}

/// The Ogg serial number of the streams we write.
const OGG_SERIAL: u32 = 0x7065_6572;

impl AudioSink {
    /// Creates `path` for `codec`: `.opus`/`.ogg` for Opus, `.ulaw` for PCMU, `.alaw` for PCMA.
    pub(crate) fn create(path: impl AsRef<Path>, codec: &str) -> io::Result<Self> {
        let path = path.as_ref();
        let codec = codec_name(codec)?;
        let kind = match (extension(path).as_str(), codec) {
            ("opus" | "ogg", "opus") => AudioOut::Opus {
                writer: None,
                pending: None,
                page: Vec::new(),
            },
            ("ulaw" | "pcmu", "PCMU") | ("alaw" | "pcma", "PCMA") => AudioOut::Raw,
            _ => return Err(mismatch(path, codec)),
        };
        Ok(AudioSink {
            out: BufWriter::new(File::create(path)?),
            kind,
            frames: 0,
        })
    }

    /// Appends one frame (an Opus packet, or G.711 octets). An Opus packet without a valid TOC
    /// octet is refused (`InvalidData`) and not written. `rtp_time` is not needed by these
    /// containers: Ogg counts time from the packets themselves.
    pub(crate) fn write_frame(&mut self, _rtp_time: u32, data: &[u8]) -> io::Result<()> {
        match &mut self.kind {
            AudioOut::Raw => self.out.write_all(data)?,
            AudioOut::Opus {
                writer,
                pending,
                page,
            } => {
                opus_packet_samples(data).map_err(|_| invalid("not an Opus packet"))?;
                if writer.is_none() {
                    // The head's channel count follows the first packet's stereo flag.
                    let channels = if data.first().is_some_and(|toc| toc & 0x04 != 0) {
                        2
                    } else {
                        1
                    };
                    page.resize(ogg::OPUS_HEADERS_LEN, 0);
                    let (w, n) = OggOpusWriter::start(OGG_SERIAL, &OpusHead::new(channels), page)
                        .map_err(|e| invalid(e.to_string()))?;
                    self.out.write_all(page.get(..n).unwrap_or_default())?;
                    *writer = Some(w);
                }
                if let (Some(w), Some(previous)) = (writer.as_mut(), pending.take()) {
                    write_opus_page(&mut self.out, w, page, &previous, false)?;
                }
                *pending = Some(data.to_vec());
            }
        }
        self.frames += 1;
        Ok(())
    }

    /// Frames written so far.
    pub(crate) fn frames(&self) -> u32 {
        self.frames
    }

    /// Writes what is held back (Ogg: the last packet, on the stream's last page) and flushes.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if let AudioOut::Opus {
            writer: Some(w),
            pending: Some(last),
            page,
        } = &mut self.kind
        {
            write_opus_page(&mut self.out, w, page, last, true)?;
        }
        self.out.flush()
    }
}

fn write_opus_page(
    out: &mut impl Write,
    writer: &mut OggOpusWriter,
    page: &mut Vec<u8>,
    packet: &[u8],
    last: bool,
) -> io::Result<()> {
    page.resize(ogg::pages_len(packet.len()), 0);
    let n = writer
        .write_packet(packet, last, page)
        .map_err(|e| invalid(e.to_string()))?;
    out.write_all(page.get(..n).unwrap_or_default())
}
