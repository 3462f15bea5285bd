//! Media between two Peers on the deterministic network simulator (`peerless_proptest::sim`):
//! A sends 10 s of a real VP8 clip at 30 fps (`tests/media/clip.vp8.ivf`, looped, so its
//! keyframes are real), the real Opus tone (`tone.opus`) in 20 ms packets and a message every
//! 100 ms on a data channel beside them; B receives. Each scenario (a clean link, 5 % and
//! 20 % loss each way, reordering, a 100 ms round trip with loss, a 2 s outage) runs over
//! many seeds, checks what B got against what A wrote, byte for byte and in order, and
//! prints its row of the table: frames sent / delivered / bit-exact, the NACKs, RTX and
//! PLIs that repaired them, and the delivered frames' latency in virtual time.
//!
//! ```text
//!   A: both ends connected ─► every 33.3 ms write_frame(video, next clip frame)
//!                      every 20 ms write_frame(audio), every 100 ms a message
//!      Event::KeyframeRequest ─► the next video frame is the clip's next keyframe
//!            │                                   ▲
//!            ▼                                   │ NACK, PLI, reports
//!   sim links A→B and B→A: loss, delay, jitter (reordering), outages, from the seed
//!            │                                   │
//!            ▼                                   │
//!   B: Event::MediaData ─► (rtp time, bytes, arrival) ─► compared with what A wrote then
//! ```
//!
//! A failing run is named by scenario and seed with its trace (the frames missing, when
//! keyframe requests arrived, where frames came again). `PEERLESS_SIM_SEEDS=N` runs N seeds
//! per scenario instead of the CI default, from seed `PEERLESS_SIM_SEED_BASE` (default 0):
//! `PEERLESS_SIM_SEED_BASE=13 PEERLESS_SIM_SEEDS=1` replays seed 13.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use common::{addr, certs};
use peerless::rtp::container::ivf::IvfReader;
use peerless::rtp::container::ogg::OggReader;
use peerless::{
    AreaUse, ChannelId, Config, ConnectionState, Event, MediaError, MediaKind, MediaStats,
    MessageKind, Peer, SdpType,
};
use peerless_base::{BufferTooSmall, Instant};
use peerless_proptest::sim::{LinkConfig, Network, Node, Outgoing};

/// Peers that own their areas, so a run frees them when it ends.
type MediaPeer = Peer<Box<[u8]>>;

const A_ADDR: &str = "10.0.0.1:5000";
const B_ADDR: &str = "10.0.0.2:6000";
/// A's offer puts the channel first, then audio, then video (see `tests/media.rs`).
const AUDIO_MID: &str = "1";
const VIDEO_MID: &str = "2";
const VP8: u8 = 96;
const OPUS: u8 = 111;
/// How long A sends media.
const MEDIA_TIME: Duration = Duration::from_secs(10);
/// After the last frame: time for the last repairs and reports.
const DRAIN_TIME: Duration = Duration::from_millis(1500);
const VIDEO_FRAMES: u32 = 300;
const AUDIO_FRAMES: u32 = 500;
const MESSAGES: u32 = 100;

/// The media A sends: the VP8 clip's frames (with their keyframe flag, bit 0 of the frame
/// tag clear: RFC 6386 §9.1) and the Opus tone's packets.
struct Clip {
    video: Vec<(Vec<u8>, bool)>,
    audio: Vec<Vec<u8>>,
}

fn clip() -> &'static Clip {
    static CLIP: OnceLock<Clip> = OnceLock::new();
    CLIP.get_or_init(|| {
        let (_, frames) = IvfReader::new(include_bytes!("media/clip.vp8.ivf")).unwrap();
        let video: Vec<(Vec<u8>, bool)> = frames
            .map(|f| {
                let data = f.unwrap().data.to_vec();
                let key = data[0] & 1 == 0;
                (data, key)
            })
            .collect();
        let mut reader = OggReader::new(include_bytes!("media/tone.opus"));
        let mut buf = vec![0u8; 65_536];
        let mut audio = Vec::new();
        while let Some(p) = reader.next_packet(&mut buf) {
            audio.push(p.unwrap().data.to_vec());
        }
        // The first two packets are OpusHead and OpusTags (RFC 7845 §3), not audio.
        assert!(audio[0].starts_with(b"OpusHead") && audio[1].starts_with(b"OpusTags"));
        audio.drain(..2);
        assert_eq!(video.len(), 60);
        assert_eq!(
            video.iter().filter(|(_, k)| *k).count(),
            2,
            "keyframes at 0 and 30"
        );
        assert_eq!(audio.len(), 101);
        Clip { video, audio }
    })
}

/// A video frame A wrote: which clip frame, and when.
#[derive(Clone, Copy, Debug)]
struct Written {
    clip_index: usize,
    at: Instant,
}

/// A frame B received.
#[derive(Clone, Debug)]
struct Received {
    rtp_time: u32,
    data: Vec<u8>,
    at: Instant,
    keyframe: bool,
    contiguous: bool,
}

/// A Peer as a simulator node, sending (A) or receiving (B) the workload; its own deadlines
/// (the next frame, the next message) join the Peer's in `poll_timeout`.
struct MediaNode {
    peer: MediaPeer,
    /// A's channel (its messages wait in `unsent` until it opens).
    channel: Option<ChannelId>,
    /// When media started (both ends connected).
    started: Option<Instant>,
    video_written: Vec<Written>,
    audio_written: Vec<usize>,
    /// The clip frame the next video frame is.
    clip_pos: usize,
    /// A keyframe request arrived: the next video frame is the clip's next keyframe.
    jump: bool,
    /// Send the clip's keyframes only when asked (after the first), as libwebrtc's encoders
    /// do: its own keyframe every second would otherwise hide a missing request. The delta
    /// frames then follow other keyframes than their own, which nothing here decodes.
    keyframes_on_request: bool,
    keyframe_requests: u64,
    /// When each keyframe request arrived.
    requested_at: Vec<Instant>,
    jumps: u64,
    messages_sent: u32,
    /// Messages `send` refused for now (a full buffer): sent again before newer ones.
    unsent: VecDeque<Vec<u8>>,
    write_errors: Vec<(Duration, &'static str, MediaError)>,
    // What B received.
    video: Vec<Received>,
    audio: Vec<Received>,
    messages: Vec<Vec<u8>>,
    other_mids: u64,
}

impl MediaNode {
    fn new(peer: MediaPeer) -> Self {
        MediaNode {
            peer,
            channel: None,
            started: None,
            video_written: Vec::new(),
            audio_written: Vec::new(),
            clip_pos: 0,
            jump: false,
            keyframes_on_request: false,
            keyframe_requests: 0,
            requested_at: Vec::new(),
            jumps: 0,
            messages_sent: 0,
            unsent: VecDeque::new(),
            write_errors: Vec::new(),
            video: Vec::new(),
            audio: Vec::new(),
            messages: Vec::new(),
            other_mids: 0,
        }
    }

    fn video_due(&self, start: Instant) -> Option<Instant> {
        let n = self.video_written.len() as u64;
        (n < u64::from(VIDEO_FRAMES)).then(|| start + Duration::from_micros(n * 1_000_000 / 30))
    }

    fn audio_due(&self, start: Instant) -> Option<Instant> {
        let n = self.audio_written.len() as u32;
        (n < AUDIO_FRAMES).then(|| start + Duration::from_millis(20) * n)
    }

    fn message_due(&self, start: Instant) -> Option<Instant> {
        (self.messages_sent < MESSAGES)
            .then(|| start + Duration::from_millis(100) * self.messages_sent)
    }

    /// Writes every frame and message due by `now`.
    fn send_due(&mut self, now: Instant) {
        let Some(start) = self.started else {
            return;
        };
        let clip = clip();
        while let Some(due) = self.video_due(start).filter(|&d| d <= now) {
            if self.jump {
                self.jump = false;
                self.jumps += 1;
                while !clip.video[self.clip_pos].1 {
                    self.clip_pos = (self.clip_pos + 1) % clip.video.len();
                }
            } else if self.keyframes_on_request && !self.video_written.is_empty() {
                while clip.video[self.clip_pos].1 {
                    self.clip_pos = (self.clip_pos + 1) % clip.video.len();
                }
            }
            let n = self.video_written.len() as u32;
            let (frame, _) = &clip.video[self.clip_pos];
            if let Err(e) = self.peer.write_frame(VIDEO_MID, VP8, 3000 * n, frame) {
                self.write_errors.push((due - start, "video", e));
            }
            self.video_written.push(Written {
                clip_index: self.clip_pos,
                at: due,
            });
            self.clip_pos = (self.clip_pos + 1) % clip.video.len();
        }
        while let Some(due) = self.audio_due(start).filter(|&d| d <= now) {
            let n = self.audio_written.len();
            let i = n % clip.audio.len();
            if let Err(e) = self
                .peer
                .write_frame(AUDIO_MID, OPUS, 960 * n as u32, &clip.audio[i])
            {
                self.write_errors.push((due - start, "audio", e));
            }
            self.audio_written.push(i);
        }
        while self.message_due(start).is_some_and(|d| d <= now) {
            self.unsent.push_back(message(self.messages_sent));
            self.messages_sent += 1;
        }
        self.send_messages();
    }

    /// Hands the channel what it takes of the messages due.
    fn send_messages(&mut self) {
        let Some(ch) = self.channel else {
            return;
        };
        while let Some(m) = self.unsent.front() {
            if self.peer.send(ch, MessageKind::Binary, m).is_err() {
                break;
            }
            self.unsent.pop_front();
        }
    }

    fn next_send(&self) -> Option<Instant> {
        let start = self.started?;
        [
            self.video_due(start),
            self.audio_due(start),
            self.message_due(start),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

/// Message `i` of the channel's workload: 200 to 1100 bytes, each different.
fn message(i: u32) -> Vec<u8> {
    let len = 200 + (i as usize * 397) % 900;
    (0..len)
        .map(|x| (x as u32 ^ i.wrapping_mul(31)) as u8)
        .collect()
}

impl Node for MediaNode {
    fn handle_packet(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
        self.peer.handle_packet(now, from, to, packet);
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.peer.handle_timeout(now);
        self.send_due(now);
    }

    fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Outgoing<'b>>, BufferTooSmall> {
        self.peer.poll_transmit(buf).map(|o| o.map(Into::into))
    }

    fn poll_timeout(&self) -> Option<Instant> {
        [self.peer.poll_timeout(), self.next_send()]
            .into_iter()
            .flatten()
            .min()
    }

    fn drain_events(&mut self, now: Instant) {
        while let Some(ev) = self.peer.poll_event() {
            match ev {
                Event::Message { data, .. } => self.messages.push(data.to_vec()),
                Event::MediaData(m) => {
                    let r = Received {
                        rtp_time: m.rtp_time,
                        data: m.data.to_vec(),
                        at: now,
                        keyframe: m.keyframe,
                        contiguous: m.contiguous,
                    };
                    match m.mid {
                        VIDEO_MID => self.video.push(r),
                        AUDIO_MID => self.audio.push(r),
                        _ => self.other_mids += 1,
                    }
                }
                Event::KeyframeRequest { mid, .. } if mid == VIDEO_MID => {
                    self.keyframe_requests += 1;
                    self.requested_at.push(now);
                    self.jump = true;
                }
                _ => {}
            }
        }
        // The channel may open long after media starts: SCTP's association waits out
        // RFC 9260's doubling INIT timer when its first exchanges are lost.
        self.send_messages();
    }
}

fn lend(p: &mut MediaPeer, kind: MediaKind, use_: AreaUse, bytes: usize) {
    p.lend_media_area(kind, use_, vec![0u8; bytes].into_boxed_slice())
        .unwrap();
}

fn new_peer(cert: peerless_dtls::Certificate, seed: u64, tag: u8) -> MediaPeer {
    let mut bytes = [tag; 32];
    bytes[..8].copy_from_slice(&seed.to_be_bytes());
    let area = || vec![0u8; 128 * 1024].into_boxed_slice();
    Peer::new(Config::new(cert, bytes), Instant::ZERO, area(), area())
}

/// A (offerer: a channel, an audio and a video track) and B (answerer: receives) on `link`,
/// signalled and connecting.
fn setup(seed: u64, link: &LinkConfig) -> Network<MediaNode> {
    let (ca, cb) = certs();
    let mut a = new_peer(ca, seed, 1);
    let mut b = new_peer(cb, seed, 2);
    // The sizes `lend_media_area` recommends for 720p; B only receives, A only sends.
    lend(&mut a, MediaKind::Audio, AreaUse::Send, 16 * 1024);
    lend(&mut a, MediaKind::Video, AreaUse::Send, 256 * 1024);
    lend(&mut b, MediaKind::Audio, AreaUse::Receive, 16 * 1024);
    lend(&mut b, MediaKind::Video, AreaUse::Receive, 768 * 1024);
    let channel = a.create_data_channel("chat", Default::default()).unwrap();
    a.add_track(MediaKind::Audio, "clip").unwrap();
    a.add_track(MediaKind::Video, "clip").unwrap();
    let mut net = Network::new(seed);
    let mut sender = MediaNode::new(a);
    sender.channel = Some(channel);
    let ia = net.add(sender, addr(A_ADDR), link.clone());
    let ib = net.add(MediaNode::new(b), addr(B_ADDR), link.clone());
    let mut buf = vec![0u8; 16384];
    let pa = &mut net.node_mut(ia).peer;
    pa.add_local_candidate(addr(A_ADDR)).unwrap();
    let offer = pa.create_offer(&mut buf).unwrap().to_string();
    pa.set_local_description(SdpType::Offer, &offer).unwrap();
    let pb = &mut net.node_mut(ib).peer;
    pb.add_local_candidate(addr(B_ADDR)).unwrap();
    pb.set_remote_description(SdpType::Offer, &offer).unwrap();
    let answer = pb.create_answer(&mut buf).unwrap().to_string();
    pb.set_local_description(SdpType::Answer, &answer).unwrap();
    net.node_mut(ia)
        .peer
        .set_remote_description(SdpType::Answer, &answer)
        .unwrap();
    let video = net.node(ia).peer.transceiver(VIDEO_MID).unwrap();
    assert_eq!(net.node(ia).peer.kind(video), Some(MediaKind::Video));
    net.kick(ia);
    net.kick(ib);
    net
}

/// What one run gave, from both ends.
#[derive(Debug, Default)]
struct Outcome {
    video_sent: usize,
    video_delivered: usize,
    video_exact: usize,
    video_in_order: bool,
    audio_in_order: bool,
    /// Frames of a mid A never sent on.
    stray_frames: u64,
    audio_sent: usize,
    audio_delivered: usize,
    audio_exact: usize,
    messages_sent: u32,
    messages_intact: usize,
    /// Delivered video frames' latency (written to handed out), in virtual microseconds.
    latencies: Vec<u64>,
    keyframe_requests: u64,
    /// Requests that reached A before its last frame.
    requests_while_sending: usize,
    jumps: u64,
    /// A keyframe written after the last keyframe request reached A was delivered (or no
    /// request came, or it came too late to answer).
    last_request_answered: bool,
    /// The longest time without a video frame at B while A was sending.
    longest_gap: Duration,
    /// After an outage: from its end to the next video frame delivered.
    resumed_after: Option<Duration>,
    write_errors: usize,
    first_error: Option<String>,
    /// What went wrong when: frames missing, keyframe requests, restarts after a loss.
    trace: String,
    sent: MediaStats,
    received: MediaStats,
}

/// The link out of each node goes down for a while mid-run.
#[derive(Clone, Copy)]
struct Outage {
    after: Duration,
    lasts: Duration,
}

fn run(seed: u64, s: &Scenario) -> Outcome {
    let (link, outage) = (&s.link, s.outage);
    let mut net = setup(seed, link);
    net.node_mut(0).keyframes_on_request = s.keyframes_on_request;
    let (a, b) = (0, 1);
    // Media starts once both ends have their SRTP keys. (Started when A alone is connected,
    // the DTLS server, packets that overtake its last flight, or arrive while B waits to
    // retransmit for a lost one, are dropped at B: a lost first keyframe.)
    let connected = net.run_until(Duration::from_secs(30), |n| {
        [a, b]
            .iter()
            .all(|&i| n.node(i).peer.connection_state() == ConnectionState::Connected)
    });
    assert!(connected, "seed {seed}: never connected on {link:?}");
    let now = net.now();
    net.node_mut(a).started = Some(now);
    net.node_mut(a).send_due(now);
    net.kick(a);
    let start = now;
    if let Some(o) = outage {
        net.run_for(o.after);
        let down = LinkConfig {
            loss: 1.0,
            ..link.clone()
        };
        net.set_link(a, down.clone());
        net.set_link(b, down);
        net.run_for(o.lasts);
        net.set_link(a, link.clone());
        net.set_link(b, link.clone());
    }
    net.run_until(MEDIA_TIME + DRAIN_TIME, |n| {
        n.now() >= start + MEDIA_TIME + DRAIN_TIME
    });
    // The channel is reliable: under heavy loss its last messages (or its association)
    // may take longer than the media's last repairs, but they all arrive.
    net.run_until(Duration::from_secs(120), |n| {
        n.node(b).messages.len() >= MESSAGES as usize
    });
    let clip = clip();
    let (na, nb) = (net.node(a), net.node(b));
    let mut o = Outcome {
        video_sent: na.video_written.len(),
        audio_sent: na.audio_written.len(),
        messages_sent: na.messages_sent,
        keyframe_requests: na.keyframe_requests,
        jumps: na.jumps,
        write_errors: na.write_errors.len(),
        first_error: na.write_errors.first().map(|e| format!("{e:?}")),
        sent: na
            .peer
            .media_stats(na.peer.transceiver(VIDEO_MID).unwrap())
            .unwrap(),
        received: nb
            .peer
            .media_stats(nb.peer.transceiver(VIDEO_MID).unwrap())
            .unwrap(),
        video_in_order: nb.video.windows(2).all(|w| w[0].rtp_time < w[1].rtp_time),
        audio_in_order: nb.audio.windows(2).all(|w| w[0].rtp_time < w[1].rtp_time),
        stray_frames: nb.other_mids,
        ..Outcome::default()
    };
    let written = |r: &Received| na.video_written.get((r.rtp_time / 3000) as usize);
    for r in &nb.video {
        o.video_delivered += 1;
        let Some(w) = written(r) else {
            continue;
        };
        let (frame, key) = &clip.video[w.clip_index];
        if r.rtp_time % 3000 == 0 && r.data == *frame && r.keyframe == *key {
            o.video_exact += 1;
        }
        o.latencies.push((r.at - w.at).as_micros() as u64);
    }
    let arrivals = std::iter::once(start)
        .chain(nb.video.iter().map(|r| r.at))
        .chain(std::iter::once(start + MEDIA_TIME));
    o.longest_gap = arrivals
        .clone()
        .zip(arrivals.skip(1))
        .map(|(x, y)| y.max(x) - x)
        .max()
        .unwrap_or_default();
    if let Some(outage) = outage {
        let end = start + outage.after + outage.lasts;
        o.resumed_after = nb.video.iter().find(|r| r.at > end).map(|r| r.at - end);
    }
    let last_frame = na.video_written.last().map_or(start, |w| w.at);
    o.requests_while_sending = na.requested_at.iter().filter(|&&t| t < last_frame).count();
    o.last_request_answered = match na.requested_at.last() {
        Some(&t) if t < start + MEDIA_TIME - Duration::from_millis(100) => nb
            .video
            .iter()
            .any(|r| r.keyframe && written(r).is_some_and(|w| w.at >= t)),
        _ => true,
    };
    o.trace = trace(na, nb, start);
    for r in &nb.audio {
        o.audio_delivered += 1;
        let n = (r.rtp_time / 960) as usize;
        if r.rtp_time % 960 == 0
            && na
                .audio_written
                .get(n)
                .is_some_and(|&i| clip.audio[i] == r.data)
        {
            o.audio_exact += 1;
        }
    }
    o.messages_intact = nb
        .messages
        .iter()
        .enumerate()
        .filter(|(i, m)| **m == message(*i as u32))
        .count();
    o
}

/// The story of a run in virtual ms from the start of media: the runs of video frames B
/// never got (by when A wrote them), when keyframe requests reached A, and when frames
/// came again after a loss (and whether they were keyframes).
fn trace(a: &MediaNode, b: &MediaNode, start: Instant) -> String {
    let ms = |t: Instant| (t - start).as_millis();
    let got: std::collections::HashSet<u32> = b.video.iter().map(|r| r.rtp_time / 3000).collect();
    let mut out = Vec::new();
    let mut missing: Option<(usize, usize)> = None;
    for n in 0..=a.video_written.len() {
        let lost = n < a.video_written.len() && !got.contains(&(n as u32));
        missing = match (missing, lost) {
            (None, true) => Some((n, n)),
            (Some((f, _)), true) => Some((f, n)),
            (Some((f, l)), false) => {
                out.push(format!(
                    "frames {f}..={l} missing (written {}..{} ms)",
                    ms(a.video_written[f].at),
                    ms(a.video_written[l].at)
                ));
                None
            }
            (None, false) => None,
        };
    }
    for t in &a.requested_at {
        out.push(format!("keyframe request reached A at {} ms", ms(*t)));
    }
    for r in b.video.iter().filter(|r| !r.contiguous) {
        out.push(format!(
            "frame {} delivered at {} ms after a gap (keyframe: {})",
            r.rtp_time / 3000,
            ms(r.at),
            r.keyframe
        ));
    }
    if out.is_empty() {
        "every frame".into()
    } else {
        out.join("; ")
    }
}

/// A scenario: its link, what every seed's run must show, and what the seeds together must.
struct Scenario {
    name: &'static str,
    link: LinkConfig,
    outage: Option<Outage>,
    /// The sender makes keyframes only when asked.
    keyframes_on_request: bool,
    check: fn(&Outcome) -> Vec<String>,
    check_all: fn(&[Outcome]) -> Vec<String>,
    seeds: u64,
}

fn seeds(default: u64) -> u64 {
    std::env::var("PEERLESS_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn seed_base() -> u64 {
    std::env::var("PEERLESS_SIM_SEED_BASE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// What every run must show, whatever the link: every frame handed out is one A wrote,
/// byte for byte, in order; nothing was refused at A; every message arrived intact.
fn always(o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    if o.video_exact != o.video_delivered {
        bad.push(format!(
            "{} of {} video frames delivered are not the frame written",
            o.video_delivered - o.video_exact,
            o.video_delivered
        ));
    }
    if o.audio_exact != o.audio_delivered {
        bad.push(format!(
            "{} of {} audio frames delivered are not the frame written",
            o.audio_delivered - o.audio_exact,
            o.audio_delivered
        ));
    }
    if !o.video_in_order || !o.audio_in_order || o.stray_frames > 0 {
        bad.push(format!(
            "in order: video {}, audio {}; {} frames on another mid",
            o.video_in_order, o.audio_in_order, o.stray_frames
        ));
    }
    if o.write_errors > 0 {
        bad.push(format!(
            "{} frames refused by write_frame, first {:?}",
            o.write_errors, o.first_error
        ));
    }
    if (o.video_sent, o.audio_sent) != (VIDEO_FRAMES as usize, AUDIO_FRAMES as usize) {
        bad.push(format!(
            "wrote {} video, {} audio",
            o.video_sent, o.audio_sent
        ));
    }
    if o.messages_intact != MESSAGES as usize || o.messages_sent != MESSAGES {
        bad.push(format!(
            "{} of {} messages arrived intact",
            o.messages_intact, o.messages_sent
        ));
    }
    bad
}

fn percentile(sorted: &[u64], p: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[(sorted.len() - 1) * p / 100] as f64 / 1000.0
}

/// Runs every seed of the scenario (all of them, so a failure names every failing seed),
/// prints its row of the table and fails with the seeds whose runs broke a rule, each with
/// its trace (replay one with `PEERLESS_SIM_SEED_BASE=seed PEERLESS_SIM_SEEDS=1`).
fn scenario(s: &Scenario) {
    let first = seed_base();
    let mut outcomes = Vec::new();
    let mut failures = Vec::new();
    for seed in first..first + s.seeds {
        let o = run(seed, s);
        let mut bad = always(&o);
        bad.extend((s.check)(&o));
        if !bad.is_empty() {
            failures.push(format!(
                "seed {seed}: {}\n  trace: {}\n  sent {:?}\n  received {:?}",
                bad.join("; "),
                o.trace,
                o.sent,
                o.received
            ));
        }
        outcomes.push(o);
    }
    for bad in (s.check_all)(&outcomes) {
        failures.push(format!("seeds {first}..{}: {bad}", first + s.seeds));
    }
    let sum = |f: fn(&Outcome) -> u64| outcomes.iter().map(f).sum::<u64>();
    let mut latencies: Vec<u64> = outcomes.iter().flat_map(|o| o.latencies.clone()).collect();
    latencies.sort_unstable();
    let worst = outcomes.iter().map(|o| o.video_exact).min().unwrap_or(0);
    let gap = outcomes
        .iter()
        .map(|o| o.longest_gap)
        .max()
        .unwrap_or_default();
    println!(
        "{:<24} | {:>5} | {:>6} {:>6} {:>6} {:>4} | {:>6} {:>6} | {:>5} {:>5} {:>4} {:>4} | {:>6} {:>6} {:>6}\n\
         {:<24} | {:>5} | {:>6} {:>6} {:>6} {:>4} | {:>6} {:>6} | {:>5} {:>5} {:>4} {:>4} | {:>6.1} {:>6.1} {:>6}",
        "scenario",
        "seeds",
        "video",
        "deliv",
        "exact",
        "min",
        "audio",
        "exact",
        "NACK",
        "RTX",
        "PLI",
        "jump",
        "p50 ms",
        "p95 ms",
        "gap ms",
        s.name,
        s.seeds,
        sum(|o| o.video_sent as u64),
        sum(|o| o.video_delivered as u64),
        sum(|o| o.video_exact as u64),
        worst,
        sum(|o| o.audio_sent as u64),
        sum(|o| o.audio_exact as u64),
        sum(|o| o.received.nacks_sent),
        sum(|o| o.received.rtx_received),
        sum(|o| o.received.plis_sent),
        sum(|o| o.jumps),
        percentile(&latencies, 50),
        percentile(&latencies, 95),
        gap.as_millis(),
    );
    assert!(
        failures.is_empty(),
        "{}: {} failures:\n{}",
        s.name,
        failures.len(),
        failures.join("\n")
    );
}

/// At least `fraction` of the video frames arrived bit-exact.
fn at_least(o: &Outcome, fraction: f64) -> Vec<String> {
    let need = (f64::from(VIDEO_FRAMES) * fraction).ceil() as usize;
    if o.video_exact < need {
        vec![format!(
            "{} video frames bit-exact, fewer than {need}",
            o.video_exact
        )]
    } else {
        Vec::new()
    }
}

/// Every frame, audio and video, arrived; nothing was repaired or asked for again.
fn everything(o: &Outcome) -> Vec<String> {
    let mut bad = at_least(o, 1.0);
    if o.audio_exact != AUDIO_FRAMES as usize {
        bad.push(format!("{} audio frames", o.audio_exact));
    }
    if o.received.frames_dropped > 0 || o.received.plis_sent > 0 || o.keyframe_requests > 0 {
        bad.push(format!(
            "{} frames given up, {} PLIs",
            o.received.frames_dropped, o.received.plis_sent
        ));
    }
    bad
}

/// Keyframe requests that reached the sender while it was still sending were answered: it
/// jumped to a keyframe, and a keyframe written after the last request was delivered. (A PLI
/// may be lost on the way, and is not repeated once a keyframe arrives anyway.)
fn requests_answered(o: &Outcome) -> Vec<String> {
    let mut bad = Vec::new();
    if o.requests_while_sending > 0 && o.jumps == 0 {
        bad.push(format!(
            "{} requests reached A while it sent, no jump",
            o.requests_while_sending
        ));
    }
    if !o.last_request_answered {
        bad.push("no keyframe delivered after the last request".into());
    }
    bad
}

fn nothing(_: &[Outcome]) -> Vec<String> {
    Vec::new()
}

#[test]
fn a_clean_link_delivers_every_frame_in_order() {
    scenario(&Scenario {
        name: "clean, RTT 40 ms",
        link: LinkConfig::with_delay(Duration::from_millis(20)),
        outage: None,
        keyframes_on_request: false,
        check: |o| {
            let mut bad = everything(o);
            if o.received.nacks_sent + o.sent.retransmissions_sent > 0 {
                bad.push("repairs on a clean link".into());
            }
            bad
        },
        check_all: nothing,
        seeds: seeds(10),
    });
}

#[test]
fn five_percent_loss_is_repaired_by_nack_and_rtx() {
    scenario(&Scenario {
        name: "5 % loss, RTT 40 ms",
        link: LinkConfig {
            loss: 0.05,
            ..LinkConfig::with_delay(Duration::from_millis(20))
        },
        outage: None,
        keyframes_on_request: false,
        check: |o| {
            let mut bad = at_least(o, 0.98);
            if o.sent.retransmissions_sent == 0 || o.received.rtx_received == 0 {
                bad.push("no retransmissions".into());
            }
            bad.extend(requests_answered(o));
            bad
        },
        check_all: nothing,
        seeds: seeds(10),
    });
}

#[test]
fn twenty_percent_loss_keeps_frames_coming() {
    scenario(&Scenario {
        name: "20 % loss, RTT 40 ms",
        link: LinkConfig {
            loss: 0.20,
            ..LinkConfig::with_delay(Duration::from_millis(20))
        },
        outage: None,
        keyframes_on_request: true,
        check: |o| {
            let mut bad = at_least(o, 0.80);
            bad.extend(requests_answered(o));
            // The jitter buffer gives a hole up after 500 ms; a keyframe asked for then
            // comes a round trip later, or 300 ms later for every request lost on the way
            // (seed 8 of 200 lost three: 1.83 s).
            if o.longest_gap > Duration::from_secs(2) {
                bad.push(format!("no frame for {:?}", o.longest_gap));
            }
            bad
        },
        // NACK repairs most of it; where it cannot, the receiver asks for keyframes: every
        // run that gave a hole up sent a PLI (the rule, per run). Whether any of ten seeds
        // loses a frame for good depends on the draws (seeds 0..10 lost none for good once the
        // Peers' DRBG requests were merged); the outage scenario proves the PLI path on every
        // seed.
        check_all: |all| {
            all.iter()
                .filter(|o| o.received.frames_dropped > 0 && o.received.plis_sent == 0)
                .map(|o| format!("{} holes given up, no PLI sent", o.received.frames_dropped))
                .collect()
        },
        seeds: seeds(10),
    });
}

#[test]
fn an_outage_is_recovered_by_a_keyframe_request() {
    // Both ways down for two seconds in mid-stream: more packets missing than NACK tracks
    // (32, about a second of this clip), so the oldest holes are given up, the delta
    // frames behind them are dropped, the receiver asks for a keyframe and the sender
    // makes one. (A one-second outage is repaired whole by NACK.)
    scenario(&Scenario {
        name: "2 s outage, RTT 40 ms",
        link: LinkConfig::with_delay(Duration::from_millis(20)),
        outage: Some(Outage {
            after: Duration::from_millis(5200),
            lasts: Duration::from_secs(2),
        }),
        keyframes_on_request: true,
        check: |o| {
            // Two seconds lost, and the half second the holes are waited for.
            let mut bad = at_least(o, 0.70);
            bad.extend(requests_answered(o));
            if o.received.plis_sent == 0 || o.jumps == 0 {
                bad.push("no keyframe request".into());
            }
            // The holes given up 500 ms after the link is back, the request and its
            // keyframe a round trip and a frame later.
            if o.resumed_after
                .is_none_or(|d| d > Duration::from_millis(700))
            {
                bad.push(format!(
                    "frames resumed {:?} after the outage",
                    o.resumed_after
                ));
            }
            bad
        },
        check_all: nothing,
        seeds: seeds(10),
    });
}

#[test]
fn reordering_within_20_ms_loses_no_frame() {
    scenario(&Scenario {
        name: "reorder 0-20 ms, RTT 40",
        link: LinkConfig {
            jitter: Duration::from_millis(20),
            ..LinkConfig::with_delay(Duration::from_millis(20))
        },
        outage: None,
        keyframes_on_request: false,
        check: |o| {
            let mut bad = everything(o);
            // Negative: a packet NACKed while it was only late arrives twice (RFC 3550
            // counts duplicates as received).
            if o.received.packets_lost > 0 {
                bad.push(format!("{} packets counted lost", o.received.packets_lost));
            }
            bad
        },
        check_all: nothing,
        seeds: seeds(10),
    });
}

#[test]
fn a_100_ms_round_trip_with_5_percent_loss_is_repaired() {
    scenario(&Scenario {
        name: "5 % loss, RTT 100 ms",
        link: LinkConfig {
            loss: 0.05,
            ..LinkConfig::with_delay(Duration::from_millis(50))
        },
        outage: None,
        keyframes_on_request: false,
        check: |o| {
            let mut bad = at_least(o, 0.98);
            if o.sent.retransmissions_sent == 0 {
                bad.push("no retransmissions".into());
            }
            bad.extend(requests_answered(o));
            bad
        },
        check_all: nothing,
        seeds: seeds(10),
    });
}
