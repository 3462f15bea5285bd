//! The demo: a local web page whose browser connects a data channel to a peerless Peer, then
//! calls it with camera and microphone and gets its own media back.
//!
//! ```text
//!   cargo run --release -p peerless --example demo            serve http://127.0.0.1:8080
//!   cargo run --release -p peerless --example demo -- --selftest   two Peers over UDP, no browser
//!   ... -- --selftest --ipv6                                          the same on ::1
//!   ... -- --selftest --dual-stack             each Peer on 127.0.0.1 and ::1 (pairs per family)
//!
//!   browser --GET /--> page (chat, call, DTMF keypad, live stats)
//!   browser --POST /offer (SDP, candidates gathered)--> new session thread: UDP socket,
//!       media areas lent, Peer answers --> answer SDP + X-Session id --> browser
//!   browser <==== ICE / DTLS / SCTP over UDP on 127.0.0.1 ====> Peer: greets, echoes
//!   "Call": getUserMedia, addTrack x2 --POST /offer?session=id--> the session's Peer takes
//!       the new offer (renegotiation), adds a track of each kind, answers sendrecv
//!   browser ==camera, microphone (SRTP)==> Peer --MediaData--> write_frame on the same
//!       transceiver ==> browser shows it as the remote video (a media server's echo):
//!       KeyframeRequest from the browser --> request_keyframe towards the browser;
//!       simulcast layers (rids): the widest keyframe's layer is the one echoed
//!   RTCDTMFSender.insertDTMF --> Event::Dtmf --> "dtmf 1 100ms" on the data channel
//!   browser --GET /stats, /call (every second)--> the Peer's getStats report and the call's
//!       counters (frames per mid and rid, echoed, tones, the bandwidth estimator's target
//!       bitrate), shown as tables
//! ```

#[path = "demo/call.rs"]
mod call;
#[path = "host/mod.rs"]
mod host;
#[path = "host/media.rs"]
mod media;

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as WallInstant};

use call::{Call, Frame};
use peerless::{
    AreaUse, ChannelId, Codec, Config, ConnectionState, Event, MediaError, MediaKind, MessageKind,
    Peer, SdpType, Stats, Storage,
};

const PAGE: &str = include_str!("demo.html");

/// The areas a session lends for media: audio and video each way, and two more video receive
/// areas for the simulcast layers a browser may send (one area per incoming stream).
const AREAS: [(MediaKind, AreaUse, usize); 6] = [
    (MediaKind::Audio, AreaUse::Send, 64 * 1024),
    (MediaKind::Audio, AreaUse::Receive, 64 * 1024),
    (MediaKind::Video, AreaUse::Send, 1024 * 1024),
    (MediaKind::Video, AreaUse::Receive, 1024 * 1024),
    (MediaKind::Video, AreaUse::Receive, 1024 * 1024),
    (MediaKind::Video, AreaUse::Receive, 1024 * 1024),
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.iter().any(|a| a == "--selftest") {
        let count = value(&args, "--count")
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        // --ipv6: both Peers on ::1 (IPv6 host candidates, pairs within the family);
        // --dual-stack: each Peer on 127.0.0.1 and ::1 (two sockets, two host candidates).
        let loopback: &'static [&'static str] = if args.iter().any(|a| a == "--dual-stack") {
            &["127.0.0.1:0", "[::1]:0"]
        } else if args.iter().any(|a| a == "--ipv6") {
            &["[::1]:0"]
        } else {
            &["127.0.0.1:0"]
        };
        let clips = Clips {
            video: value(&args, "--video").unwrap_or(DEFAULT_VIDEO).to_string(),
            audio: value(&args, "--audio").unwrap_or(DEFAULT_AUDIO).to_string(),
        };
        selftest(count, loopback, &clips)
    } else {
        let addr = value(&args, "--http").unwrap_or("127.0.0.1:8080");
        serve(addr)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::FAILURE
        }
    }
}

fn value<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
}

type Error = Box<dyn std::error::Error + Send + Sync>;

fn err(e: impl std::fmt::Debug) -> Error {
    format!("{e:?}").into()
}

type DemoPeer<'a> = Peer<&'a mut [u8]>;

/// Lends the session's media areas (before any remote offer: a media section is accepted only
/// when an area of its kind waits to receive it).
fn lend_areas<'a>(peer: &mut DemoPeer<'a>, areas: &'a mut [Vec<u8>]) -> Result<(), Error> {
    for ((kind, use_, _), bytes) in AREAS.iter().zip(areas.iter_mut()) {
        peer.lend_media_area(*kind, *use_, bytes.as_mut_slice())
            .map_err(|_| "the Peer's media area pool is full")?;
    }
    Ok(())
}

fn new_areas() -> Vec<Vec<u8>> {
    AREAS.iter().map(|(_, _, size)| vec![0u8; *size]).collect()
}

// ---------------------------------------------------------------------------------------------
// The web server

/// A later offer for a running session, and where its answer goes.
type Renegotiation = (String, mpsc::Sender<Result<String, String>>);

/// What the HTTP handler and the session threads share.
#[derive(Default)]
struct Shared {
    /// The newest session's getStats report (JSON).
    stats: Mutex<String>,
    /// The newest session's call counters (JSON).
    call: Mutex<String>,
    /// Running sessions, by id: where renegotiation offers go.
    sessions: Mutex<HashMap<u64, mpsc::Sender<Renegotiation>>>,
    /// The last session id handed out; only that session publishes its reports (an older tab
    /// keeps chatting but does not overwrite the panel).
    latest: AtomicU64,
}

fn serve(addr: &str) -> Result<(), Error> {
    let listener = TcpListener::bind(addr)?;
    println!(
        "peerless demo: open http://{} in a browser (Ctrl-C to stop)",
        listener.local_addr()?
    );
    let shared = Arc::new(Shared::default());
    *shared.stats.lock().map_err(err)? = "[]".into();
    *shared.call.lock().map_err(err)? = "{}".into();
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        // A renegotiation waits for its session's answer: one thread per request keeps the
        // page's stats polling from queueing behind it.
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || {
            if let Err(e) = handle_http(stream, &shared) {
                eprintln!("demo: http: {e}");
            }
        });
    }
    Ok(())
}

fn handle_http(mut stream: TcpStream, shared: &Arc<Shared>) -> Result<(), Error> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0).min(1 << 20);
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let mut parts = request.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut extra = String::new();
    let (status, kind, content) = match (method, path) {
        ("GET", "/") => ("200 OK", "text/html; charset=utf-8", PAGE.to_string()),
        ("GET", "/stats") => (
            "200 OK",
            "application/json",
            shared.stats.lock().map_err(err)?.clone(),
        ),
        ("GET", "/call") => (
            "200 OK",
            "application/json",
            shared.call.lock().map_err(err)?.clone(),
        ),
        ("POST", "/offer") => {
            let offer = String::from_utf8(body)?;
            let session = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("session="))
                .and_then(|v| v.parse::<u64>().ok());
            let result = match session {
                None => start_session(offer, Arc::clone(shared)).map(|(id, answer)| {
                    extra = format!("X-Session: {id}\r\n");
                    answer
                }),
                Some(id) => renegotiate(id, offer, shared),
            };
            match result {
                Ok(answer) => ("200 OK", "application/sdp", answer),
                Err(e) => ("400 Bad Request", "text/plain", e.to_string()),
            }
        }
        _ => ("404 Not Found", "text/plain", "not found".to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n{extra}Cache-Control: no-store\r\nConnection: close\r\n\r\n{content}",
        content.len()
    )?;
    Ok(())
}

/// A session thread owns its socket, storage, media areas and Peer; it sends the answer back,
/// then runs until the connection fails or closes.
fn start_session(offer: String, shared: Arc<Shared>) -> Result<(u64, String), Error> {
    let id = shared.latest.fetch_add(1, Ordering::SeqCst) + 1;
    let (tx, rx) = mpsc::channel::<Result<String, String>>();
    let (offers_tx, offers_rx) = mpsc::channel::<Renegotiation>();
    shared.sessions.lock().map_err(err)?.insert(id, offers_tx);
    std::thread::spawn(move || {
        if let Err(e) = session(id, &offer, &tx, &offers_rx, &shared) {
            let _ = tx.send(Err(e.to_string()));
            eprintln!("demo: session {id}: {e}");
        }
        if let Ok(mut s) = shared.sessions.lock() {
            s.remove(&id);
        }
    });
    let answer = rx.recv_timeout(Duration::from_secs(10))??;
    Ok((id, answer))
}

/// Hands a later offer of the page (its call) to the session's thread and waits for the answer.
fn renegotiate(id: u64, offer: String, shared: &Shared) -> Result<String, Error> {
    let to = shared
        .sessions
        .lock()
        .map_err(err)?
        .get(&id)
        .cloned()
        .ok_or("no such session")?;
    let (tx, rx) = mpsc::channel();
    to.send((offer, tx)).map_err(|_| "the session ended")?;
    Ok(rx.recv_timeout(Duration::from_secs(10))??)
}

/// Applies a remote offer and answers it: every media section the browser sends on gets a
/// track of its kind back (the answer says sendrecv), as a media server that returns what it
/// receives.
fn answer_offer(peer: &mut DemoPeer<'_>, offer: &str) -> Result<String, Error> {
    peer.set_remote_description(SdpType::Offer, offer)
        .map_err(err)?;
    let wants: Vec<MediaKind> = peer
        .transceivers()
        .filter(|&t| !peer.is_stopped(t) && peer.direction(t).is_some_and(|d| !d.sends()))
        .filter_map(|t| peer.kind(t))
        .collect();
    for kind in wants {
        peer.add_track(kind, "peerless-echo").map_err(err)?;
    }
    let mut buf = vec![0u8; 16384];
    let answer = peer.create_answer(&mut buf).map_err(err)?.to_string();
    peer.set_local_description(SdpType::Answer, &answer)
        .map_err(err)?;
    Ok(answer)
}

fn session(
    id: u64,
    offer: &str,
    answer_tx: &mpsc::Sender<Result<String, String>>,
    offers: &mpsc::Receiver<Renegotiation>,
    shared: &Shared,
) -> Result<(), Error> {
    let mut host = host::Host::bind("127.0.0.1:0".parse()?)?;
    let (cert, seed) = host::identity()?;
    let mut storage = Box::new(Storage::<{ 256 * 1024 }, { 256 * 1024 }>::new());
    let mut areas = new_areas();
    let (s, r) = storage.areas();
    let mut peer: DemoPeer<'_> = Peer::new(Config::new(cert, seed), host.now(), s, r);
    lend_areas(&mut peer, &mut areas)?;
    peer.add_local_candidate(host.local).map_err(err)?;
    let answer = answer_offer(&mut peer, offer)?;
    answer_tx.send(Ok(answer)).map_err(err)?;
    println!("demo: session {id} on {}", host.local);
    let mut last_stats = WallInstant::now();
    let mut replies: VecDeque<(ChannelId, MessageKind, Vec<u8>)> = VecDeque::new();
    let mut chat = None;
    let mut call = Call::default();
    loop {
        host.turn(&mut peer, Duration::from_millis(20))?;
        host.poll_ready(&mut peer)?;
        if let Ok((offer, reply)) = offers.try_recv() {
            let answer = answer_offer(&mut peer, &offer);
            if let Err(e) = &answer {
                eprintln!("demo: session {id}: renegotiation: {e}");
            }
            let _ = reply.send(answer.map_err(|e| e.to_string()));
        }
        let mut ended = false;
        // Each event is turned into owned values first: the Peer is free again for the reply
        // (write_frame, request_keyframe) in the same iteration.
        while let Some(ev) = peer.poll_event() {
            match ev {
                Event::ChannelOpen { channel, label, .. } => {
                    println!("demo: channel '{label}' open");
                    chat.get_or_insert(channel);
                    replies.push_back((
                        channel,
                        MessageKind::Text,
                        format!("hello from peerless: channel '{label}' is open").into_bytes(),
                    ));
                }
                Event::Message {
                    channel,
                    kind,
                    data,
                } => {
                    let reply = match kind {
                        MessageKind::Binary => data.to_vec(),
                        _ => format!("echo: {}", String::from_utf8_lossy(data)).into_bytes(),
                    };
                    replies.push_back((channel, kind, reply));
                }
                Event::ConnectionState(s) => {
                    println!("demo: session {id}: connectionState {}", s.as_str());
                    ended |= matches!(s, ConnectionState::Failed | ConnectionState::Closed);
                }
                Event::Track { mid, kind, .. } => {
                    println!("demo: session {id}: {kind:?} track on mid {mid}");
                }
                Event::MediaData(m) => {
                    let frame = Frame::from(&m);
                    call.echo(&mut peer, frame);
                }
                Event::KeyframeRequest { mid, .. } => {
                    let mid = mid.to_string();
                    call.keyframe_requested(&mut peer, &mid);
                }
                Event::BitrateEstimate { target_bps } => call.bitrate_estimate(target_bps),
                Event::Dtmf { tone, duration, .. } => {
                    let text = format!("dtmf {} {}ms", tone.unwrap_or('?'), duration.as_millis());
                    println!("demo: session {id}: {text}");
                    call.dtmf
                        .push(tone.map_or_else(|| "?".into(), String::from));
                    if let Some(ch) = chat {
                        replies.push_back((ch, MessageKind::Text, text.into_bytes()));
                    }
                }
                Event::MediaAreaNeeded { mid, kind, use_ } => {
                    eprintln!("demo: session {id}: no {use_:?} area for {kind:?} on mid {mid}");
                }
                _ => {}
            }
        }
        while let Some((ch, kind, data)) = replies.pop_front() {
            if peer.send(ch, kind, &data).is_err() {
                replies.push_front((ch, kind, data));
                break;
            }
        }
        let latest = shared.latest.load(Ordering::SeqCst) == id;
        if latest && (last_stats.elapsed() > Duration::from_millis(250) || ended) {
            last_stats = WallInstant::now();
            let mut json = String::new();
            peer.write_stats_json(&mut json).map_err(err)?;
            *shared.stats.lock().map_err(err)? = json;
            *shared.call.lock().map_err(err)? = call.to_json(&peer).to_string();
        }
        if ended {
            println!("demo: session {id} ended: {}", call.summary());
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --selftest: two Peers over real UDP on localhost (127.0.0.1, or ::1 with --ipv6), a data
// channel echo and a clip of each kind (VP8 video, Opus audio) from the offerer to the answerer

const DEFAULT_VIDEO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/media/clip.vp8.ivf");
const DEFAULT_AUDIO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/media/tone.opus");

/// The clips the selftest sends, one pass of each.
struct Clips {
    video: String,
    audio: String,
}

/// A frame as both sides see it: kind, RTP time, length and a hash of the bytes.
type FrameId = (MediaKind, u32, usize, u64);

fn frame_id(kind: MediaKind, rtp_time: u32, data: &[u8]) -> FrameId {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    (kind, rtp_time, data.len(), h.finish())
}

/// The answerer's side: it receives and counts frames, echoes messages.
fn selftest_answerer(
    loopback: &[&str],
    offer_rx: &mpsc::Receiver<String>,
    answer_tx: &mpsc::Sender<String>,
) -> Result<(Stats, Vec<FrameId>, Steps), Error> {
    let mut host = Sockets::bind(loopback)?;
    let (cert, seed) = host::identity()?;
    let mut storage = Box::new(Storage::<{ 256 * 1024 }, { 256 * 1024 }>::new());
    let mut areas = new_areas();
    let (s, r) = storage.areas();
    let mut peer: DemoPeer<'_> = Peer::new(Config::new(cert, seed), host.now(), s, r);
    lend_areas(&mut peer, &mut areas)?;
    host.add_candidates(&mut peer)?;
    let offer = offer_rx.recv()?;
    let set_remote = WallInstant::now();
    peer.set_remote_description(SdpType::Offer, &offer)
        .map_err(err)?;
    let mut buf = vec![0u8; 16384];
    let answer = peer.create_answer(&mut buf).map_err(err)?.to_string();
    peer.set_local_description(SdpType::Answer, &answer)
        .map_err(err)?;
    answer_tx.send(answer)?;
    let deadline = WallInstant::now() + Duration::from_secs(30);
    let mut echo = VecDeque::new();
    let mut frames = Vec::new();
    let mut steps = vec![("set_remote_description", set_remote)];
    while WallInstant::now() < deadline {
        host.turn(&mut peer, Duration::from_millis(20))?;
        host.poll_ready(&mut peer)?;
        let mut ended = false;
        while let Some(ev) = peer.poll_event() {
            record_step(&mut steps, &ev);
            match ev {
                Event::Message {
                    channel,
                    kind,
                    data,
                } => echo.push_back((channel, kind, data.to_vec())),
                Event::MediaData(m) => {
                    let kind = if m.codec.is_video() {
                        MediaKind::Video
                    } else {
                        MediaKind::Audio
                    };
                    frames.push(frame_id(kind, m.rtp_time, m.data));
                }
                Event::ConnectionState(ConnectionState::Closed | ConnectionState::Failed) => {
                    ended = true
                }
                _ => {}
            }
        }
        // Echo in order; a full send buffer waits for the next turn.
        while let Some((ch, b, d)) = echo.pop_front() {
            if peer.send(ch, b, &d).is_err() {
                echo.push_front((ch, b, d));
                break;
            }
        }
        if ended {
            break;
        }
    }
    Ok((peer.stats(), frames, steps))
}

/// When each step of a connect happened on one side: what the Peer reported, and the wall
/// time it was seen (the host sees an event after the turn that caused it).
type Steps = Vec<(&'static str, WallInstant)>;

/// Records the first time each step of a connect shows in the events.
fn record_step(steps: &mut Steps, ev: &Event<'_>) {
    let step = match ev {
        Event::SelectedPair { .. } => "ICE pair selected",
        Event::ConnectionState(ConnectionState::Connected) => "DTLS connected",
        Event::SctpConnected => "SCTP association up",
        Event::ChannelOpen { .. } => "data channel open",
        _ => return,
    };
    if steps.iter().all(|(s, _)| *s != step) {
        steps.push((step, WallInstant::now()));
    }
}

/// One line per side: each step in ms from `origin` (the offerer's set_remote_description).
fn print_steps(side: &str, steps: &Steps, origin: WallInstant) {
    let ms = |t: WallInstant| match t.checked_duration_since(origin) {
        Some(d) => d.as_secs_f64() * 1000.0,
        None => -origin.duration_since(t).as_secs_f64() * 1000.0,
    };
    let line: Vec<String> = steps
        .iter()
        .map(|(s, t)| format!("{s} {:+.2}", ms(*t)))
        .collect();
    println!("  {side:<23} {}", line.join(", "));
}

/// One clip being sent at its pace: the next frame goes when its time has come and the send
/// area takes it.
struct Sending<'c> {
    kind: MediaKind,
    mid: String,
    pt: u8,
    frames: Vec<(u32, &'c [u8])>,
    interval: Duration,
    next: usize,
    start: Option<WallInstant>,
    sent: Vec<FrameId>,
}

impl<'c> Sending<'c> {
    fn new(
        peer: &DemoPeer<'_>,
        kind: MediaKind,
        track: peerless::TransceiverId,
        codec: Codec,
        frames: &'c [(u32, Vec<u8>)],
        interval: Duration,
    ) -> Result<Self, Error> {
        let mid = peer.mid(track).ok_or("a track without a mid")?.to_string();
        let pt = peer
            .payload_type(&mid, codec)
            .ok_or_else(|| format!("{codec:?} not negotiated on mid {mid}"))?;
        Ok(Sending {
            kind,
            mid,
            pt,
            frames: frames.iter().map(|(t, f)| (*t, f.as_slice())).collect(),
            interval,
            next: 0,
            start: None,
            sent: Vec::new(),
        })
    }

    fn done(&self) -> bool {
        self.next >= self.frames.len()
    }

    fn pump(&mut self, peer: &mut DemoPeer<'_>) -> Result<(), Error> {
        let start = *self.start.get_or_insert_with(WallInstant::now);
        while let Some(&(rtp_time, frame)) = self.frames.get(self.next) {
            if start.elapsed() < self.interval * self.next as u32 {
                break;
            }
            match peer.write_frame(&self.mid, self.pt, rtp_time, frame) {
                Ok(()) => {
                    self.sent.push(frame_id(self.kind, rtp_time, frame));
                    self.next += 1;
                }
                // Backpressure: the same frame again next turn.
                Err(MediaError::Full) => break,
                Err(e) => return Err(format!("write_frame on mid {}: {e}", self.mid).into()),
            }
        }
        Ok(())
    }
}

fn selftest(count: usize, loopback: &'static [&'static str], clips: &Clips) -> Result<(), Error> {
    let mut video =
        media::VideoSource::open(&clips.video).map_err(|e| format!("{}: {e}", clips.video))?;
    let mut audio =
        media::AudioSource::open(&clips.audio).map_err(|e| format!("{}: {e}", clips.audio))?;
    let video_codec = Codec::from_rtpmap(video.codec(), 90_000).ok_or("no video codec")?;
    let audio_codec =
        Codec::from_rtpmap(audio.codec(), audio.clock_rate()).ok_or("no audio codec")?;
    let video_frames: Vec<(u32, Vec<u8>)> = (0..video.frames())
        .map(|_| {
            let (t, f) = video.next_frame();
            (t, f.to_vec())
        })
        .collect();
    let audio_frames: Vec<(u32, Vec<u8>)> = (0..audio.frames())
        .map(|_| {
            let (t, f) = audio.next_frame();
            (t, f.to_vec())
        })
        .collect();

    let t0 = WallInstant::now();
    let (offer_tx, offer_rx) = mpsc::channel::<String>();
    let (answer_tx, answer_rx) = mpsc::channel::<String>();
    let answerer = std::thread::spawn(move || selftest_answerer(loopback, &offer_rx, &answer_tx));

    let mut host = Sockets::bind(loopback)?;
    let (cert, seed) = host::identity()?;
    let mut storage = Box::new(Storage::<{ 256 * 1024 }, { 256 * 1024 }>::new());
    let mut areas = new_areas();
    let (s, r) = storage.areas();
    let t_new = WallInstant::now();
    let mut peer: DemoPeer<'_> = Peer::new(Config::new(cert, seed), host.now(), s, r);
    lend_areas(&mut peer, &mut areas)?;
    let chat = peer
        .create_data_channel("selftest", Default::default())
        .map_err(err)?;
    let audio_track = peer.add_track(MediaKind::Audio, "selftest").map_err(err)?;
    let video_track = peer.add_track(MediaKind::Video, "selftest").map_err(err)?;
    host.add_candidates(&mut peer)?;
    let mut buf = vec![0u8; 16384];
    let offer = peer.create_offer(&mut buf).map_err(err)?.to_string();
    peer.set_local_description(SdpType::Offer, &offer)
        .map_err(err)?;
    offer_tx.send(offer)?;
    let answer = answer_rx.recv_timeout(Duration::from_secs(10))?;
    let t_remote = WallInstant::now();
    peer.set_remote_description(SdpType::Answer, &answer)
        .map_err(err)?;
    let mut clips_out = [
        Sending::new(
            &peer,
            MediaKind::Video,
            video_track,
            video_codec,
            &video_frames,
            video.frame_interval(),
        )?,
        Sending::new(
            &peer,
            MediaKind::Audio,
            audio_track,
            audio_codec,
            &audio_frames,
            audio.frame_interval(),
        )?,
    ];

    let mut opened_at = None;
    let mut steps = vec![("set_remote_description", t_remote)];
    let mut sent = 0usize;
    let mut echoed = 0usize;
    let mut media_done_at = None;
    let deadline = WallInstant::now() + Duration::from_secs(30);
    let message = |i: usize| -> (bool, Vec<u8>) {
        if i.is_multiple_of(2) {
            (false, format!("selftest message {i}").into_bytes())
        } else {
            (
                true,
                (0..(i * 97) % 16_000).map(|x| (x ^ i) as u8).collect(),
            )
        }
    };
    // Done when every echo is back and the clips were sent a while ago (time for the last
    // packets and their repairs to arrive).
    while WallInstant::now() < deadline
        && (echoed < count
            || media_done_at.is_none_or(|t: WallInstant| t.elapsed() < Duration::from_millis(500)))
    {
        host.turn(&mut peer, Duration::from_millis(5))?;
        host.poll_ready(&mut peer)?;
        let mut got = Vec::new();
        while let Some(ev) = peer.poll_event() {
            record_step(&mut steps, &ev);
            match ev {
                Event::ChannelOpen { channel, .. } if channel == chat => {
                    opened_at = Some((t_new.elapsed(), t_remote.elapsed()))
                }
                Event::Message { kind, data, .. } => {
                    got.push((kind == MessageKind::Binary, data.to_vec()))
                }
                Event::ConnectionState(ConnectionState::Failed) => {
                    return Err("connection failed".into());
                }
                _ => {}
            }
        }
        for m in got {
            if m != message(echoed) {
                return Err(format!("echo {echoed} differs").into());
            }
            echoed += 1;
        }
        while opened_at.is_some() && sent < count {
            let (binary, d) = message(sent);
            let kind = if binary {
                MessageKind::Binary
            } else {
                MessageKind::Text
            };
            if peer.send(chat, kind, &d).is_err() {
                break; // buffer full: next turn
            }
            sent += 1;
        }
        // The channel is open: DTLS is done and SRTP has its keys.
        if opened_at.is_some() && media_done_at.is_none() {
            for c in &mut clips_out {
                c.pump(&mut peer)?;
            }
            if clips_out.iter().all(Sending::done) {
                media_done_at = Some(WallInstant::now());
            }
        }
    }
    let elapsed = t0.elapsed();
    let stats = peer.stats();
    let report = report_summary(&peer)?;
    let (pairs, families) = pair_families(&peer)?;
    let video_stats = peer.media_stats(video_track).unwrap_or_default();
    peer.close();
    host.flush(&mut peer)?;
    let (other, frames, answerer_steps) = answerer.join().map_err(|_| "answerer panicked")??;
    let (open, connect) = opened_at.ok_or("the channel never opened")?;
    println!(
        "peerless demo --selftest: two Peers over UDP on {}",
        host.ips()
    );
    println!(
        "  channel open after      {:.2} ms (wall time from Peer::new; signalling in-process)",
        open.as_secs_f64() * 1000.0
    );
    println!(
        "  connect time            {:.2} ms (set_remote_description to open channel)",
        connect.as_secs_f64() * 1000.0
    );
    println!("  Pion, same machine      2.4 ms (issue 17's quoted figure, not measured here)");
    println!("  connect steps (ms from the offerer's set_remote_description):");
    print_steps("offerer", &steps, t_remote);
    print_steps("answerer", &answerer_steps, t_remote);
    println!(
        "  messages echoed         {echoed}/{count} in {:.1} ms",
        elapsed.as_secs_f64() * 1000.0
    );
    let mut media_ok = true;
    for c in &clips_out {
        let got: Vec<&FrameId> = frames.iter().filter(|f| f.0 == c.kind).collect();
        let same = got.len() == c.sent.len() && got.iter().zip(&c.sent).all(|(g, s)| *g == s);
        media_ok &= same && c.done();
        println!(
            "  {:<23} {}/{} frames of {} arrived{}",
            format!("{:?} frames", c.kind).to_lowercase(),
            got.len(),
            c.frames.len(),
            c.mid_codec(&peer),
            if same {
                ", each equal to what was sent"
            } else {
                ", NOT as sent"
            }
        );
    }
    println!(
        "  video packets / rtx     {} / {} (NACKs received {})",
        video_stats.packets_sent, video_stats.retransmissions_sent, video_stats.nacks_received
    );
    println!("  selected pair           {:?}", stats.selected_pair);
    println!("  STUN RTT                {:?}", stats.stun_rtt);
    println!(
        "  DTLS cipher / SRTP      {:#06x} / {}",
        stats.dtls_cipher.map_or(0, |c| c.0),
        stats.srtp_profile.map_or("-", |p| p.name())
    );
    println!(
        "  packets out / in        {} / {}",
        stats.packets_sent, stats.packets_received
    );
    println!(
        "  bytes out / in          {} / {}",
        stats.bytes_sent, stats.bytes_received
    );
    println!(
        "  SCTP cwnd / rto / rtx   {} / {:?} / {}",
        stats.sctp.cwnd, stats.sctp.rto, stats.sctp.retransmissions
    );
    println!(
        "  answerer messages in/out {} / {}",
        other.messages_received, other.messages_sent
    );
    println!("  getStats report         {report}");
    println!("  candidate pairs         {pairs}");
    if echoed != count {
        return Err(format!("only {echoed} of {count} echoes").into());
    }
    if families < loopback.len() {
        return Err(format!(
            "pairs in {families} address families, sockets in {}",
            loopback.len()
        )
        .into());
    }
    if !media_ok {
        return Err("the clips did not arrive whole".into());
    }
    println!("selftest OK");
    Ok(())
}

impl Sending<'_> {
    /// "VP8 on mid 1".
    fn mid_codec(&self, peer: &DemoPeer<'_>) -> String {
        let codec = peer
            .transceiver(&self.mid)
            .and_then(|t| peer.codecs(t).find(|(pt, _)| *pt == self.pt))
            .map_or("?", |(_, c)| c.name());
        format!("{codec} on mid {}", self.mid)
    }
}

/// The selftest's sockets: one (the host loop as the other examples run it), or one per
/// address family with --dual-stack.
///
/// ```text
///   one socket:  Host::turn / Host::poll_ready
///   several:     flush, each datagram from the socket of its source address
///                read every socket without blocking, sleep FINE_STEP, until a datagram or
///                the Peer's deadline; handle_timeout when due; flush
/// ```
struct Sockets {
    hosts: Vec<host::Host>,
    buf: Vec<u8>,
}

/// How often the several-socket loop looks at its sockets.
const FINE_STEP: Duration = Duration::from_micros(100);

impl Sockets {
    fn bind(addrs: &[&str]) -> Result<Self, Error> {
        let mut hosts = Vec::new();
        for a in addrs {
            let h = host::Host::bind(a.parse()?)?;
            if addrs.len() > 1 {
                h.socket.set_nonblocking(true)?;
            }
            hosts.push(h);
        }
        Ok(Sockets {
            hosts,
            buf: vec![0; 65536],
        })
    }

    /// The Peer's clock (the first socket's).
    fn now(&self) -> peerless_base::Instant {
        self.hosts
            .first()
            .map_or(peerless_base::Instant::from_micros(0), host::Host::now)
    }

    /// The sockets' IPs, for the report.
    fn ips(&self) -> String {
        let ips: Vec<String> = self
            .hosts
            .iter()
            .map(|h| h.local.ip().to_string())
            .collect();
        ips.join(" and ")
    }

    /// A host candidate for every socket.
    fn add_candidates(&self, peer: &mut DemoPeer<'_>) -> Result<(), Error> {
        for h in &self.hosts {
            peer.add_local_candidate(h.local).map_err(err)?;
        }
        Ok(())
    }

    fn turn(&mut self, peer: &mut DemoPeer<'_>, max_wait: Duration) -> Result<(), Error> {
        if let [h] = self.hosts.as_mut_slice() {
            return Ok(h.turn(peer, max_wait)?);
        }
        self.flush(peer)?;
        let now = self.now();
        let wait = peer
            .poll_timeout()
            .map_or(max_wait, |t| t.saturating_duration_since(now).min(max_wait));
        let deadline = WallInstant::now() + wait;
        while !self.read_all(peer)? {
            let left = deadline.saturating_duration_since(WallInstant::now());
            if left.is_zero() {
                break;
            }
            std::thread::sleep(left.min(FINE_STEP));
        }
        let now = self.now();
        if peer.poll_timeout().is_some_and(|t| t <= now) {
            peer.handle_timeout(now);
        }
        self.flush(peer)
    }

    fn poll_ready(&mut self, peer: &mut DemoPeer<'_>) -> Result<(), Error> {
        if let [h] = self.hosts.as_mut_slice() {
            return Ok(h.poll_ready(peer)?);
        }
        self.read_all(peer)?;
        self.flush(peer)
    }

    /// Every datagram waiting on any socket goes in; whether there was one.
    fn read_all(&mut self, peer: &mut DemoPeer<'_>) -> Result<bool, Error> {
        let now = self.now();
        let mut any = false;
        for h in &self.hosts {
            loop {
                match h.socket.recv_from(&mut self.buf) {
                    Ok((n, from)) => {
                        peer.handle_packet(now, from, h.local, &mut self.buf[..n]);
                        any = true;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    // ICMP errors are loss to the protocols.
                    Err(e)
                        if matches!(
                            e.kind(),
                            std::io::ErrorKind::ConnectionRefused
                                | std::io::ErrorKind::ConnectionReset
                        ) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(any)
    }

    /// Sends what the Peer queued, each datagram from the socket of its source address.
    fn flush(&mut self, peer: &mut DemoPeer<'_>) -> Result<(), Error> {
        if let [h] = self.hosts.as_mut_slice() {
            return Ok(h.flush(peer)?);
        }
        while let Some(t) = peer.poll_transmit(&mut self.buf).map_err(err)? {
            let Some(h) = self.hosts.iter().find(|h| h.local == t.source) else {
                return Err(
                    format!("a datagram from {}, which is no socket of ours", t.source).into(),
                );
            };
            // A full socket buffer or an unreachable address is loss to the protocols.
            let _ = h.socket.send_to(t.payload, t.destination);
        }
        Ok(())
    }
}

/// The candidate pairs of the getStats report, by address, and how many address families
/// they cover: an error if a pair joins two families (ICE pairs candidates only within one,
/// RFC 8445 §6.1.2.2).
fn pair_families(peer: &Peer<&mut [u8]>) -> Result<(String, usize), Error> {
    let mut json = String::new();
    peer.write_stats_json(&mut json).map_err(err)?;
    let entries: Vec<serde_json::Value> = serde_json::from_str(&json)?;
    let address = |id: &serde_json::Value| -> Result<std::net::IpAddr, Error> {
        let e = entries
            .iter()
            .find(|e| e["id"] == *id)
            .ok_or_else(|| format!("no candidate {id}"))?;
        let a = e["address"]
            .as_str()
            .ok_or("a candidate without an address")?;
        Ok(a.trim_matches(['[', ']']).parse()?)
    };
    let mut pairs = Vec::new();
    let (mut v4, mut v6) = (false, false);
    for e in entries.iter().filter(|e| e["type"] == "candidate-pair") {
        let (l, r) = (
            address(&e["localCandidateId"])?,
            address(&e["remoteCandidateId"])?,
        );
        if l.is_ipv4() != r.is_ipv4() {
            return Err(format!("a pair across address families: {l} with {r}").into());
        }
        v4 |= l.is_ipv4();
        v6 |= l.is_ipv6();
        pairs.push(format!(
            "{l} with {r} {}",
            e["state"].as_str().unwrap_or("?")
        ));
    }
    let families = usize::from(v4) + usize::from(v6);
    Ok((format!("{}: {}", pairs.len(), pairs.join(", ")), families))
}

/// Checks the JSON report the page shows: it parses, has an entry of every type, and its
/// data channel counted what the selftest sent.
fn report_summary(peer: &Peer<&mut [u8]>) -> Result<String, Error> {
    let mut json = String::new();
    peer.write_stats_json(&mut json).map_err(err)?;
    let entries: Vec<serde_json::Value> = serde_json::from_str(&json)?;
    let mut types: Vec<&str> = entries.iter().filter_map(|e| e["type"].as_str()).collect();
    types.dedup();
    for want in [
        "peer-connection",
        "transport",
        "candidate-pair",
        "local-candidate",
        "remote-candidate",
        "certificate",
        "data-channel",
    ] {
        if !types.contains(&want) {
            return Err(format!("the stats report has no {want} entry: {json}").into());
        }
    }
    let sent = entries
        .iter()
        .find(|e| e["type"] == "data-channel")
        .and_then(|e| e["messagesSent"].as_u64());
    if sent != Some(peer.stats().messages_sent) {
        return Err(format!("the report's messagesSent {sent:?} is not the Peer's").into());
    }
    Ok(format!(
        "{} entries, {} bytes of JSON ({})",
        entries.len(),
        json.len(),
        types.join(", ")
    ))
}
