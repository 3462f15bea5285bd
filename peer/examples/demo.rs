//! The demo: a local web page whose browser connects a data channel to a peerless Peer.
//!
//! ```text
//!   cargo run --release -p peerless --example demo            serve http://127.0.0.1:8080
//!   cargo run --release -p peerless --example demo -- --selftest   two Peers over UDP, no browser
//!   ... -- --selftest --ipv6                                          the same on ::1
//!
//!   browser --GET /--> page (chat + live stats)
//!   browser --POST /offer (SDP, candidates gathered)--> new session thread: UDP socket,
//!       Peer answers --> answer SDP --> browser
//!   browser <==== ICE / DTLS / SCTP over UDP on 127.0.0.1 ====> Peer: greets, echoes
//!   browser --GET /stats (every second)--> the Peer's getStats report (write_stats_json), shown
//!       as a table per entry
//! ```

#[path = "host/mod.rs"]
mod host;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as WallInstant};

use peerless::{
    ChannelId, Config, ConnectionState, Event, MessageKind, Peer, SdpType, Stats, Storage,
};

const PAGE: &str = include_str!("demo.html");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.iter().any(|a| a == "--selftest") {
        let count = value(&args, "--count")
            .and_then(|v| v.parse().ok())
            .unwrap_or(200);
        // --ipv6: both Peers on ::1 (IPv6 host candidates, pairs within the family).
        let loopback = if args.iter().any(|a| a == "--ipv6") {
            "[::1]:0"
        } else {
            "127.0.0.1:0"
        };
        selftest(count, loopback)
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

// ---------------------------------------------------------------------------------------------
// The web server

fn serve(addr: &str) -> Result<(), Error> {
    let listener = TcpListener::bind(addr)?;
    println!(
        "peerless demo: open http://{} in a browser (Ctrl-C to stop)",
        listener.local_addr()?
    );
    let stats = Arc::new(Mutex::new(String::from("[]")));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        if let Err(e) = handle_http(stream, &stats) {
            eprintln!("demo: http: {e}");
        }
    }
    Ok(())
}

fn handle_http(mut stream: TcpStream, stats: &Arc<Mutex<String>>) -> Result<(), Error> {
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
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, kind, content) = match (method, path) {
        ("GET", "/") => ("200 OK", "text/html; charset=utf-8", PAGE.to_string()),
        ("GET", "/stats") => (
            "200 OK",
            "application/json",
            stats.lock().map_err(err)?.clone(),
        ),
        ("POST", "/offer") => {
            let offer = String::from_utf8(body)?;
            match start_session(offer, Arc::clone(stats)) {
                Ok(answer) => ("200 OK", "application/sdp", answer),
                Err(e) => ("400 Bad Request", "text/plain", e.to_string()),
            }
        }
        _ => ("404 Not Found", "text/plain", "not found".to_string()),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{content}",
        content.len()
    )?;
    Ok(())
}

/// A session thread owns its socket, storage and Peer; it sends the answer back, then runs.
fn start_session(offer: String, stats: Arc<Mutex<String>>) -> Result<String, Error> {
    let (tx, rx) = mpsc::channel::<Result<String, String>>();
    std::thread::spawn(move || {
        if let Err(e) = session(&offer, &tx, &stats) {
            let _ = tx.send(Err(e.to_string()));
            eprintln!("demo: session: {e}");
        }
    });
    rx.recv_timeout(Duration::from_secs(10))?
        .map_err(Into::into)
}

fn session(
    offer: &str,
    answer_tx: &mpsc::Sender<Result<String, String>>,
    stats: &Mutex<String>,
) -> Result<(), Error> {
    let mut host = host::Host::bind("127.0.0.1:0".parse()?)?;
    let (cert, seed) = host::identity()?;
    let mut storage = Box::new(Storage::<{ 256 * 1024 }, { 256 * 1024 }>::new());
    let (s, r) = storage.areas();
    let mut peer: Peer<&mut [u8]> = Peer::new(Config::new(cert, seed), host.now(), s, r);
    peer.add_local_candidate(host.local).map_err(err)?;
    peer.set_remote_description(SdpType::Offer, offer)
        .map_err(err)?;
    let mut buf = vec![0u8; 16384];
    let answer = peer.create_answer(&mut buf).map_err(err)?.to_string();
    peer.set_local_description(SdpType::Answer, &answer)
        .map_err(err)?;
    answer_tx.send(Ok(answer)).map_err(err)?;
    println!("demo: session on {}", host.local);
    let mut last_stats = WallInstant::now();
    let mut replies: std::collections::VecDeque<(ChannelId, MessageKind, Vec<u8>)> =
        std::collections::VecDeque::new();
    loop {
        host.turn(&mut peer, Duration::from_millis(50))?;
        host.poll_ready(&mut peer)?;
        let mut ended = false;
        while let Some(ev) = peer.poll_event() {
            match ev {
                Event::ChannelOpen { channel, label, .. } => {
                    println!("demo: channel '{label}' open");
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
                    println!("demo: connectionState {}", s.as_str());
                    ended |= matches!(s, ConnectionState::Failed | ConnectionState::Closed);
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
        if last_stats.elapsed() > Duration::from_millis(250) || ended {
            last_stats = WallInstant::now();
            let mut json = String::new();
            peer.write_stats_json(&mut json).map_err(err)?;
            *stats.lock().map_err(err)? = json;
        }
        if ended {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// --selftest: two Peers over real UDP on localhost (127.0.0.1, or ::1 with --ipv6)

fn selftest(count: usize, loopback: &'static str) -> Result<(), Error> {
    let t0 = WallInstant::now();
    let (offer_tx, offer_rx) = mpsc::channel::<String>();
    let (answer_tx, answer_rx) = mpsc::channel::<String>();
    let answerer = std::thread::spawn(move || -> Result<Stats, Error> {
        let mut host = host::Host::bind(loopback.parse()?)?;
        let (cert, seed) = host::identity()?;
        let mut storage = Box::new(Storage::<{ 256 * 1024 }, { 256 * 1024 }>::new());
        let (s, r) = storage.areas();
        let mut peer: Peer<&mut [u8]> = Peer::new(Config::new(cert, seed), host.now(), s, r);
        peer.add_local_candidate(host.local).map_err(err)?;
        let offer = offer_rx.recv()?;
        peer.set_remote_description(SdpType::Offer, &offer)
            .map_err(err)?;
        let mut buf = vec![0u8; 16384];
        let answer = peer.create_answer(&mut buf).map_err(err)?.to_string();
        peer.set_local_description(SdpType::Answer, &answer)
            .map_err(err)?;
        answer_tx.send(answer)?;
        let deadline = WallInstant::now() + Duration::from_secs(30);
        let mut echo = std::collections::VecDeque::new();
        while WallInstant::now() < deadline {
            host.turn(&mut peer, Duration::from_millis(20))?;
            host.poll_ready(&mut peer)?;
            let mut ended = false;
            while let Some(ev) = peer.poll_event() {
                match ev {
                    Event::Message {
                        channel,
                        kind,
                        data,
                    } => echo.push_back((channel, kind, data.to_vec())),
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
        Ok(peer.stats())
    });

    let mut host = host::Host::bind(loopback.parse()?)?;
    let (cert, seed) = host::identity()?;
    let mut storage = Box::new(Storage::<{ 256 * 1024 }, { 256 * 1024 }>::new());
    let (s, r) = storage.areas();
    let t_new = WallInstant::now();
    let mut peer: Peer<&mut [u8]> = Peer::new(Config::new(cert, seed), host.now(), s, r);
    let chat = peer
        .create_data_channel("selftest", Default::default())
        .map_err(err)?;
    peer.add_local_candidate(host.local).map_err(err)?;
    let mut buf = vec![0u8; 16384];
    let offer = peer.create_offer(&mut buf).map_err(err)?.to_string();
    peer.set_local_description(SdpType::Offer, &offer)
        .map_err(err)?;
    offer_tx.send(offer)?;
    let answer = answer_rx.recv_timeout(Duration::from_secs(10))?;
    let t_remote = WallInstant::now();
    peer.set_remote_description(SdpType::Answer, &answer)
        .map_err(err)?;

    let mut opened_at = None;
    let mut sent = 0usize;
    let mut echoed = 0usize;
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
    while WallInstant::now() < deadline && echoed < count {
        host.turn(&mut peer, Duration::from_millis(20))?;
        host.poll_ready(&mut peer)?;
        let mut got = Vec::new();
        while let Some(ev) = peer.poll_event() {
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
    }
    let elapsed = t0.elapsed();
    let stats = peer.stats();
    let report = report_summary(&peer)?;
    peer.close();
    host.flush(&mut peer)?;
    let other = answerer.join().map_err(|_| "answerer panicked")??;
    let (open, connect) = opened_at.ok_or("the channel never opened")?;
    println!(
        "peerless demo --selftest: two Peers over UDP on {}",
        host.local.ip()
    );
    println!(
        "  channel open after      {:.2} ms (wall time from Peer::new; signalling in-process)",
        open.as_secs_f64() * 1000.0
    );
    println!(
        "  connect time            {:.2} ms (set_remote_description to open channel)",
        connect.as_secs_f64() * 1000.0
    );
    println!(
        "  messages echoed         {echoed}/{count} in {:.1} ms",
        elapsed.as_secs_f64() * 1000.0
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
    if echoed != count {
        return Err(format!("only {echoed} of {count} echoes").into());
    }
    println!("selftest OK");
    Ok(())
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
