//! A command-line WebRTC peer for interop tests: one UDP socket, a data channel, echo checks,
//! and media from files into files.
//!
//! ```text
//!   cli answer --offer FILE|- --answer-out FILE|-   [common options]
//!       read a complete offer, write a complete answer, echo every message unchanged
//!   cli offer --offer-out FILE|- --answer-in FILE|- [--count N] [common options]
//!       create channel "chat" (unless --no-data), write the offer, read the answer, send N
//!       text and binary messages (one of 60 000 bytes, or `--big BYTES`) and check every echo
//!   common: --json  --greet  --duration S  --bind ADDR (127.0.0.1:0)  --summary FILE
//!           --tcp-listen ADDR (a passive ICE-TCP candidate, RFC 6544)  --no-udp (no UDP one)
//!           --mdns (resolve the peer's `.local` candidates: a socket on 0.0.0.0:5353 joined
//!           to 224.0.0.251 on --bind's interface; the summary's "mdns" counts them)
//!           --mdns-publish (implies --mdns: hide our host address behind a random
//!           `<uuid>.local` name in descriptions and answer queries for it, as browsers do;
//!           Config::obfuscate_host_addresses)
//!   ICE:    --ice-server URL (stun:/turn:, repeatable)  --ice-username U  --ice-credential C
//!           --relay-only (iceTransportPolicy "relay")  --turn-dual-stack (IPv4 + IPv6 relayed
//!           candidates: ADDITIONAL-ADDRESS-FAMILY)  --ice-ca PEM (trust for turns:, TLS
//!           by rustls; turn:?transport=tcp opens TCP); with servers, descriptions wait for
//!           gathering; the summary's "selected_types" names the selected pair's types
//!   media:  --video FILE (.ivf VP8/VP9/AV1, .h264, .h265)  --audio FILE (.opus, .ulaw, .alaw)
//!           --recv-video OUT (.ivf, .h264, .h265)  --recv-audio OUT (.opus, .ulaw, .alaw)
//!           --video-codec vp8|vp9|h264|h265|av1  --audio-codec opus|pcmu|pcma
//!           --no-data  --min-frames N
//!   bandwidth: --video-ladder A.ivf,B.ivf,...  (renditions of one clip, keyframes on the same
//!           frames: at each keyframe the highest whose bitrate fits the target is sent)
//!           --bitrate-limits MIN,START,MAX  (bit/s, Peer::set_bitrate_limits)
//! ```
//!
//! Media (host/cli_media.rs) plays the files from the moment the connection is up, at their
//! frame rate, looped, and writes what arrives so that ffmpeg decodes it. With any media
//! option both kinds get receive areas, so an answer accepts every media section the offer
//! has and receives what the peer sends. Without one the CLI is the data-channel peer it
//! always was.
//!
//! With media the summary carries "bitrate": the estimator's target at the end
//! (`target_bps_last`), the lowest and highest seen (`target_bps_min`, `target_bps_max`),
//! `events` (Event::BitrateEstimate), the parts at the end (`delay_bps_last`, `loss_bps_last`,
//! `remb_bps_last` and `acked_bps_last`, null when there is none: Peer::bitrate_estimate_parts),
//! the ladder's `renditions_bps` (each file's mean bitrate, ascending), `rendition_bps_last`,
//! `rendition_switches` and `rendition_frames` (frames sent from each), and `samples`, one a
//! second: [ms since the media started, target, rendition bit/s (0 without a ladder), video
//! bit/s written in that second, the peer's last REMB (0 before any)].
//!
//! Exit status 0 only when everything asked for held: the channel open (unless `--no-data`;
//! in offer mode every echo matched); every `--video`/`--audio` file sent frames, none
//! refused; every kind the peer sends arrived `--min-frames` times (a `--recv-*` file wants
//! at least one frame), and every output file was written. The offerer ends the call once
//! that holds and the echoes are checked (with `--min-frames`, after sending as many frames
//! too); without a channel either side ends it once `--min-frames` holds; an answerer with a
//! channel waits for the offerer to close it. Otherwise the run ends at `--duration`.

#[path = "host/cli_media.rs"]
mod cli_media;
#[path = "host/mod.rs"]
mod host;
#[path = "host/ice_servers.rs"]
mod ice_servers;
#[path = "host/media.rs"]
mod media;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant as WallInstant};

use cli_media::{CliPeer, Media, MediaOptions, kind_name};
use peerless::{
    ChannelId, Config, ConnectionState, Event, MessageKind, Peer, SdpType, SendError, Storage,
};

const GREETING: &str = "hello from peerless";

struct Options {
    mode: String,
    offer: String,
    answer: String,
    count: usize,
    big: usize,
    json: bool,
    greet: bool,
    duration: Duration,
    bind: SocketAddr,
    /// `--tcp-listen`: a passive ICE-TCP candidate on this address.
    tcp_listen: Option<SocketAddr>,
    /// `--no-udp`: no UDP host candidate (with `--tcp-listen`: reachable over TCP only).
    no_udp: bool,
    summary: Option<String>,
    mdns: bool,
    mdns_publish: bool,
    media: MediaOptions,
    ice: ice_servers::IceServerOptions,
}

fn usage() -> String {
    "usage: cli answer --offer FILE|- --answer-out FILE|- | offer --offer-out FILE|- --answer-in FILE|- [--count N]\n\
     \x20      [--json] [--greet] [--duration S] [--bind ADDR] [--summary FILE] [--tcp-listen ADDR] [--no-udp] [--mdns] [--mdns-publish]\n\
     \x20      [--ice-server URL].. [--ice-username U] [--ice-credential C] [--relay-only] [--turn-dual-stack] [--ice-ca PEM]\n\
     \x20      [--video FILE] [--audio FILE] [--recv-video OUT] [--recv-audio OUT]\n\
     \x20      [--video-codec vp8|vp9|h264|h265|av1] [--audio-codec opus|pcmu|pcma] [--no-data] [--min-frames N]\n\
     \x20      [--video-ladder A.ivf,B.ivf,...] [--bitrate-limits MIN,START,MAX]"
        .to_string()
}

fn parse_args() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or_else(usage)?;
    if mode != "answer" && mode != "offer" {
        return Err(usage());
    }
    let mut o = Options {
        mode,
        offer: String::new(),
        answer: String::new(),
        count: 100,
        big: 60_000,
        json: false,
        greet: false,
        duration: Duration::from_secs(30),
        bind: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        tcp_listen: None,
        no_udp: false,
        summary: None,
        mdns: false,
        mdns_publish: false,
        media: MediaOptions::default(),
        ice: Default::default(),
    };
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        let m = &mut o.media;
        match a.as_str() {
            "--offer" | "--offer-out" => o.offer = value()?,
            "--answer-out" | "--answer-in" => o.answer = value()?,
            "--count" => o.count = value()?.parse().map_err(|e| format!("--count: {e}"))?,
            "--big" => o.big = value()?.parse().map_err(|e| format!("--big: {e}"))?,
            "--json" => o.json = true,
            "--greet" => o.greet = true,
            "--duration" => {
                o.duration = Duration::from_secs_f64(
                    value()?.parse().map_err(|e| format!("--duration: {e}"))?,
                )
            }
            "--bind" => o.bind = value()?.parse().map_err(|e| format!("--bind: {e}"))?,
            "--summary" => o.summary = Some(value()?),
            "--tcp-listen" => {
                o.tcp_listen = Some(value()?.parse().map_err(|e| format!("--tcp-listen: {e}"))?)
            }
            "--no-udp" => o.no_udp = true,
            "--mdns" => o.mdns = true,
            "--mdns-publish" => {
                o.mdns = true;
                o.mdns_publish = true;
            }
            "--video" => m.video = Some(value()?),
            "--video-ladder" => m.video_ladder = Some(value()?),
            "--bitrate-limits" => {
                let v = value()?;
                let n: Vec<u64> = v
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("--bitrate-limits: {e}"))?;
                let [min, start, max] = n[..] else {
                    return Err("--bitrate-limits MIN,START,MAX".to_string());
                };
                m.bitrate_limits = Some((min, start, max));
            }
            "--audio" => m.audio = Some(value()?),
            "--recv-video" => m.recv_video = Some(value()?),
            "--recv-audio" => m.recv_audio = Some(value()?),
            "--video-codec" => m.video_codec = Some(value()?),
            "--audio-codec" => m.audio_codec = Some(value()?),
            "--no-data" => m.no_data = true,
            "--min-frames" => {
                m.min_frames = Some(value()?.parse().map_err(|e| format!("--min-frames: {e}"))?)
            }
            flag if o.ice.parse_flag(flag, &mut value)? => {}
            _ => return Err(format!("unknown option {a}\n{}", usage())),
        }
    }
    if o.offer.is_empty() || o.answer.is_empty() {
        return Err(usage());
    }
    Ok(o)
}

#[derive(Default)]
struct Tally {
    opened: bool,
    open_ms: Option<u128>,
    sent: u64,
    received: u64,
    echoed: u64,
    mismatched: u64,
    greeted: bool,
    bytes: u64,
    /// The DTMF keys the peer sent, in order (`?` for an event code that is no key).
    dtmf: String,
}

fn cipher_name(c: Option<peerless_dtls::CipherSuite>) -> &'static str {
    match c {
        Some(peerless_dtls::CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256) => {
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        }
        Some(peerless_dtls::CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384) => {
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
        }
        Some(peerless_dtls::CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256) => {
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        Some(peerless_dtls::CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256) => {
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        }
        Some(peerless_dtls::CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384) => {
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"
        }
        Some(peerless_dtls::CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256) => {
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"
        }
        Some(_) => "other",
        None => "",
    }
}

/// The messages the offerer sends: text and binary alternating, one binary of 60 000 bytes.
fn workload(count: usize, big: usize) -> VecDeque<(bool, Vec<u8>)> {
    (0..count)
        .map(|i| {
            if i == count / 2 {
                (
                    true,
                    (0..big as u32)
                        .map(|x| (x.wrapping_mul(31) ^ i as u32) as u8)
                        .collect(),
                )
            } else if i % 2 == 1 {
                (
                    true,
                    (0..(i * 37) % 1500 + 1).map(|x| (x ^ i) as u8).collect(),
                )
            } else {
                (false, format!("message {i} from peerless ✓").into_bytes())
            }
        })
        .collect()
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("cli: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Options) -> Result<bool, Box<dyn std::error::Error>> {
    let wall = WallInstant::now();
    let mut host = host::Host::bind(o.bind)?;
    let (cert, seed) = host::identity()?;
    // Leaked: the Peer holds the areas for the process's life, with the media areas' type.
    let storage = Box::leak(Box::new(Storage::<{ 256 * 1024 }, { 256 * 1024 }>::new()));
    let (send_area, recv_area) = storage.areas();
    let mut config = o.ice.apply(Config::new(cert, seed))?;
    config.obfuscate_host_addresses = o.mdns_publish;
    let m = &o.media;
    let mut media = Media::new(m, &mut config)?;
    let turn_servers = config.turn_servers;
    let mut peer: CliPeer = Peer::new(config, host.now(), send_area, recv_area);
    o.ice.connect_streams(&turn_servers, &mut host, &mut peer)?;
    let err = |e: &dyn std::fmt::Debug| format!("{e:?}");
    if let Some(addr) = o.tcp_listen {
        let tcp = host::ice_tcp::IceTcp::bind(addr)?;
        peer.add_local_candidate_tcp_passive(tcp.local)
            .map_err(|e| err(&e))?;
        eprintln!("cli: ICE-TCP passive candidate on {}", tcp.local);
        host.ice_tcp = Some(tcp);
    }
    if !o.no_udp {
        peer.add_local_candidate(host.local).map_err(|e| err(&e))?;
    }
    if o.mdns {
        let local = host.open_mdns()?;
        peer.add_mdns_socket(local).map_err(|e| err(&e))?;
    }
    media.lend_areas(&mut peer)?;
    let data = !m.no_data;
    let mut sdp = vec![0u8; 16384];
    let mut chat = None;
    // One complete description each way: with ICE servers, wait for their candidates.
    let gather = |host: &mut host::Host, peer: &mut CliPeer| -> std::io::Result<()> {
        if o.ice.gathers() && !ice_servers::wait_gathered(host, peer, Duration::from_secs(10))? {
            eprintln!("cli: gathering did not complete in 10 s");
        }
        Ok(())
    };
    if o.mode == "answer" {
        let offer = host::read_description(&o.offer, o.json, o.duration)?;
        peer.set_remote_description(SdpType::Offer, &offer)
            .map_err(|e| err(&e))?;
        gather(&mut host, &mut peer)?;
        media.add_tracks(&mut peer, false)?;
        let answer = peer
            .create_answer(&mut sdp)
            .map_err(|e| err(&e))?
            .to_string();
        peer.set_local_description(SdpType::Answer, &answer)
            .map_err(|e| err(&e))?;
        host::write_description(&o.answer, "answer", &answer, o.json)?;
    } else {
        if data {
            chat = Some(
                peer.create_data_channel("chat", Default::default())
                    .map_err(|e| err(&e))?,
            );
        }
        media.add_tracks(&mut peer, true)?;
        gather(&mut host, &mut peer)?;
        let offer = peer
            .create_offer(&mut sdp)
            .map_err(|e| err(&e))?
            .to_string();
        peer.set_local_description(SdpType::Offer, &offer)
            .map_err(|e| err(&e))?;
        host::write_description(&o.offer, "offer", &offer, o.json)?;
        let answer = host::read_description_while(&o.answer, o.json, o.duration, || {
            host.serve_mdns(&mut peer)
        })?;
        peer.set_remote_description(SdpType::Answer, &answer)
            .map_err(|e| err(&e))?;
    }
    eprintln!(
        "cli: {} on {}, fingerprint {}",
        o.mode,
        host.local,
        peer.local_fingerprint()
    );

    let mut tally = Tally::default();
    let mut to_send: VecDeque<(ChannelId, bool, Vec<u8>)> = VecDeque::new();
    let mut expected: VecDeque<(bool, Vec<u8>)> = VecDeque::new();
    let mut work = if o.mode == "offer" && data {
        workload(o.count, o.big)
    } else {
        VecDeque::new()
    };
    let mut finished = false;
    let mut ended = false;
    // Channels open now: an answerer's call ends when the offerer has closed them all.
    let mut open_channels = 0usize;
    let mut remote_closed = false;
    let deadline = wall + o.duration;
    while WallInstant::now() < deadline && !ended {
        // Wake for the next frame due as well as for the Peer.
        let wait = media.wait(WallInstant::now(), Duration::from_millis(20));
        host.turn(&mut peer, wait)?;
        host.poll_ready(&mut peer)?;
        let mut incoming = Vec::new();
        while let Some(ev) = peer.poll_event() {
            match ev {
                Event::ChannelOpen {
                    channel,
                    label,
                    remote,
                    ..
                } => {
                    eprintln!(
                        "cli: channel {} '{label}' open ({})",
                        channel.0,
                        if remote { "remote" } else { "ours" }
                    );
                    open_channels += 1;
                    if !tally.opened {
                        tally.opened = true;
                        tally.open_ms = Some(wall.elapsed().as_millis());
                    }
                    if o.greet && o.mode == "answer" {
                        to_send.push_back((channel, false, GREETING.as_bytes().to_vec()));
                    }
                    if o.mode == "offer" && Some(channel) == chat {
                        for (binary, data) in work.drain(..) {
                            expected.push_back((binary, data.clone()));
                            to_send.push_back((channel, binary, data));
                        }
                    }
                }
                Event::Message {
                    channel,
                    kind,
                    data,
                } => {
                    tally.received += 1;
                    tally.bytes += data.len() as u64;
                    incoming.push((channel, kind == MessageKind::Binary, data.to_vec()));
                }
                Event::ConnectionState(s) => {
                    eprintln!("cli: connectionState {}", s.as_str());
                    if matches!(s, ConnectionState::Failed | ConnectionState::Closed) {
                        ended = true;
                    }
                    if s == ConnectionState::Connected {
                        media.start(WallInstant::now());
                    }
                }
                Event::ChannelClosed(channel) => {
                    eprintln!("cli: channel {} closed", channel.0);
                    open_channels = open_channels.saturating_sub(1);
                    remote_closed |= o.mode == "answer" && open_channels == 0;
                }
                Event::SctpClosed(r) => {
                    eprintln!("cli: SCTP closed ({r:?})");
                    ended = true;
                }
                Event::Track {
                    mid,
                    kind,
                    stream_id,
                    ..
                } => eprintln!(
                    "cli: track: {} on mid {mid} (stream {})",
                    kind_name(kind),
                    stream_id.unwrap_or("-")
                ),
                Event::MediaData(d) => media.frame(&d),
                Event::BitrateEstimate { target_bps } => {
                    eprintln!("cli: bitrate estimate {target_bps} bit/s");
                    media.bitrate_estimate(target_bps);
                }
                Event::Dtmf {
                    mid,
                    tone,
                    code,
                    duration,
                } => {
                    eprintln!("cli: DTMF {tone:?} (event {code}, {duration:?}) on mid {mid}");
                    tally.dtmf.push(tone.unwrap_or('?'));
                }
                Event::KeyframeRequest { mid, kind, .. } => {
                    eprintln!("cli: keyframe request ({kind:?}) on mid {mid}");
                    media.keyframe_request(mid);
                }
                Event::MediaAreaNeeded { mid, kind, use_ } => eprintln!(
                    "cli: mid {mid} needs a {} {use_:?} area: its packets are dropped",
                    kind_name(kind)
                ),
                _ => {}
            }
        }
        for (channel, binary, data) in incoming {
            if o.mode == "answer" {
                to_send.push_back((channel, binary, data));
            } else if expected
                .front()
                .is_some_and(|(b, d)| *b == binary && *d == data)
            {
                expected.pop_front();
                tally.echoed += 1;
            } else if !binary
                && data.starts_with(b"hello from ")
                && tally.echoed == 0
                && !tally.greeted
            {
                tally.greeted = true;
            } else {
                tally.mismatched += 1;
                eprintln!(
                    "cli: unexpected message ({} bytes, binary {binary})",
                    data.len()
                );
            }
        }
        while let Some((channel, binary, data)) = to_send.pop_front() {
            let kind = if binary {
                MessageKind::Binary
            } else {
                MessageKind::Text
            };
            match peer.send(channel, kind, &data) {
                Ok(()) => tally.sent += 1,
                Err(SendError::Sctp(peerless::sctp::SendError::BufferFull)) => {
                    to_send.push_front((channel, binary, data));
                    break;
                }
                Err(e) => eprintln!("cli: send failed: {e:?}"),
            }
        }
        media.pump(&mut peer, WallInstant::now());
        let echoes_done = o.mode == "offer"
            && tally.opened
            && work.is_empty()
            && expected.is_empty()
            && to_send.is_empty();
        if echoes_done && !finished {
            finished = true;
            eprintln!("cli: all {} echoes checked", tally.echoed);
        }
        // The offerer ends once the echoes and the media are done; without a channel either
        // side ends when the media is. An answerer with a channel waits for the offerer to
        // close its channels (a stream reset, RFC 8831 §6.7) or the call.
        let media_ends = m.any() && media.done(&peer);
        let ends = if data {
            remote_closed || (finished && (!m.any() || media_ends))
        } else {
            media_ends && m.min_frames.is_some()
        };
        if ends {
            peer.close();
            host.flush(&mut peer)?;
            ended = true;
        }
    }
    let stats = peer.stats();
    let media_ok = media.finish(&peer);
    let data_ok = !data
        || (tally.opened
            && tally.mismatched == 0
            && (o.mode == "answer" || (finished && tally.echoed == o.count as u64))
            && (!o.greet || o.mode != "answer" || tally.sent > 0));
    let ok = data_ok && media_ok;
    let mut summary = format!(
        "{{\"mode\":\"{}\",\"ok\":{ok},\"opened\":{},\"open_ms\":{},\"sent\":{},\"received\":{},\"echoed\":{},\"mismatched\":{},\"bytes\":{},\"dtls_cipher\":\"{}\",\"srtp_profile\":\"{}\",\"selected_pair\":\"{}\",\"dtmf\":\"{}\"",
        o.mode,
        tally.opened,
        tally.open_ms.map_or("null".to_string(), |m| m.to_string()),
        tally.sent,
        tally.received,
        tally.echoed,
        tally.mismatched,
        tally.bytes,
        cipher_name(stats.dtls_cipher),
        stats.srtp_profile.map_or("", |p| p.name()),
        stats
            .selected_pair
            .map_or(String::new(), |(l, r)| format!("{l} -> {r}")),
        tally.dtmf,
    );
    summary.push_str(&media.summary(&peer));
    summary.push_str(&ice_servers::selected_types(&peer));
    if let Some(tcp) = &host.ice_tcp {
        summary.push_str(&format!(
            ",\"ice_tcp\":{{\"accepted\":{},\"sent\":{},\"received\":{},\"unroutable\":{}}}",
            tcp.accepted, tcp.sent, tcp.received, tcp.unroutable
        ));
    }
    summary.push_str(&format!(
        ",\"mdns\":{{\"queried\":{},\"resolved\":{},\"failed\":{},\"answered\":{}}}",
        stats.mdns_queried, stats.mdns_resolved, stats.mdns_failed, stats.mdns_answered
    ));
    summary.push('}');
    eprintln!("cli: {summary}");
    if let Some(path) = &o.summary {
        std::fs::write(path, summary + "\n")?;
    }
    Ok(ok)
}
