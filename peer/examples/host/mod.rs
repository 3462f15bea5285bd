//! The std host side of a Peer: one UDP socket, the wall clock, and the drain rule.
//!
//! ```text
//!   loop {
//!       while let Some(t) = peer.poll_transmit(&mut buf)? { socket.send_to(t.payload, t.destination) }
//!       wait for a datagram, at most until peer.poll_timeout()
//!       datagram -> peer.handle_packet(now, from, local, bytes)    deadline -> peer.handle_timeout(now)
//!       (the caller drains peer.poll_event() after each turn)
//!   }
//! ```
#![allow(dead_code)]

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use peerless::Peer;
use peerless_base::Instant;

pub(crate) mod ice_tcp;

/// Waits shorter than this are sleeps between non-blocking reads instead of a socket read
/// timeout, which ends on a kernel tick.
const FINE_WAIT: Duration = Duration::from_millis(1);

/// How often such a short wait looks for a datagram.
const FINE_STEP: Duration = Duration::from_micros(100);

/// A UDP socket and a clock for one Peer.
pub(crate) struct Host {
    /// The socket.
    pub(crate) socket: UdpSocket,
    /// Its address (the host candidate).
    pub(crate) local: SocketAddr,
    start: std::time::Instant,
    buf: Vec<u8>,
    /// A TCP stream to a TURN server (`turn:...?transport=tcp`), when the CLI opened one.
    pub(crate) turn_stream: Option<TurnStream>,
    /// A TCP listener offered as a passive ICE candidate (`--tcp-listen`), with its connections.
    pub(crate) ice_tcp: Option<ice_tcp::IceTcp>,
    /// The mDNS socket (`--mdns`) and the address the Peer knows it by.
    pub(crate) mdns: Option<(UdpSocket, SocketAddr)>,
}

impl Host {
    /// Binds `addr` (use a concrete IP: it becomes the host candidate).
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        let local = socket.local_addr()?;
        Ok(Host {
            socket,
            local,
            start: std::time::Instant::now(),
            buf: vec![0; 65536],
            turn_stream: None,
            ice_tcp: None,
            mdns: None,
        })
    }

    /// Opens the mDNS socket: 0.0.0.0:5353 shared with any responder on the machine
    /// (SO_REUSEADDR and SO_REUSEPORT), joined to 224.0.0.251 on the interface of our host
    /// address, multicast sent from that interface, looped back (a browser on the same
    /// machine must hear us). The Peer knows it as our IP with port 5353.
    pub(crate) fn open_mdns(&mut self) -> io::Result<SocketAddr> {
        use socket2::{Domain, Protocol, Socket, Type};
        let std::net::IpAddr::V4(ip) = self.local.ip() else {
            return Err(io::Error::other("--mdns needs an IPv4 --bind"));
        };
        let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
        s.set_reuse_address(true)?;
        s.set_reuse_port(true)?;
        s.bind(&SocketAddr::from(([0, 0, 0, 0], 5353)).into())?;
        s.join_multicast_v4(&std::net::Ipv4Addr::new(224, 0, 0, 251), &ip)?;
        s.set_multicast_if_v4(&ip)?;
        s.set_multicast_loop_v4(true)?;
        s.set_multicast_ttl_v4(255)?;
        s.set_nonblocking(true)?;
        let local = SocketAddr::new(ip.into(), 5353);
        self.mdns = Some((s.into(), local));
        Ok(local)
    }

    /// While no answer has come: only the mDNS socket is served (queries for our published
    /// name answered, our own resolved), the rest waits in the kernel as before.
    pub(crate) fn serve_mdns<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) {
        if self.mdns.is_none() {
            return;
        }
        peer.handle_timeout(self.now());
        self.read_mdns(peer);
        let _ = self.flush(peer);
    }

    /// Hands in whatever waits on the mDNS socket.
    fn read_mdns<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) {
        let now = self.now();
        let Some((socket, local)) = self.mdns.as_ref() else {
            return;
        };
        while let Ok((n, from)) = socket.recv_from(&mut self.buf) {
            peer.handle_packet(now, from, *local, &mut self.buf[..n]);
        }
    }

    /// Now, as the Peer counts time.
    pub(crate) fn now(&self) -> Instant {
        Instant::from_micros(self.start.elapsed().as_micros() as u64)
    }

    /// Sends everything the Peer has queued.
    pub(crate) fn flush<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) -> io::Result<()> {
        loop {
            let t = match peer.poll_transmit(&mut self.buf) {
                Ok(Some(t)) => t,
                Ok(None) => return Ok(()),
                Err(e) => return Err(io::Error::other(e)),
            };
            if let Some(tcp) = self.ice_tcp.as_mut()
                && peer.is_tcp_source(t.source)
            {
                tcp.send(t.destination, t.payload)?;
                continue;
            }
            if let Some(s) = self.turn_stream.as_mut().filter(|s| s.local == t.source) {
                s.write(t.payload)?;
                continue;
            }
            if let Some((socket, _)) = self.mdns.as_ref().filter(|(_, l)| *l == t.source) {
                let _ = socket.send_to(t.payload, t.destination);
                continue;
            }
            // A full socket buffer or an unreachable address is packet loss to the protocols.
            let _ = self.socket.send_to(t.payload, t.destination);
        }
    }

    /// One turn: flush, wait for one datagram or the Peer's deadline (at most `max_wait`),
    /// hand it in, flush again. Drain `poll_event` after it.
    pub(crate) fn turn<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        peer: &mut Peer<S, K, C, D, L, R, T>,
        max_wait: Duration,
    ) -> io::Result<()> {
        self.flush(peer)?;
        // The TCP connections are polled between waits on the UDP socket: keep those short.
        let max_wait = if self.ice_tcp.is_some() {
            max_wait.min(FINE_WAIT)
        } else {
            max_wait
        };
        let now = self.now();
        let wait = peer
            .poll_timeout()
            .map_or(max_wait, |t| t.saturating_duration_since(now).min(max_wait));
        // A socket read timeout (SO_RCVTIMEO) counts in kernel ticks: even 100 us sleeps
        // until the next tick (up to 4 ms at HZ=250). A deadline that is due now (a check the
        // ICE agent sends at once, a DTLS or SCTP reply to write) must not wait a tick: then
        // one non-blocking read; a deadline under FINE_WAIT away is waited for in sleeps
        // (precise) between non-blocking reads; longer waits block on the socket as before,
        // where a tick late costs nothing a connect waits for.
        if wait >= FINE_WAIT {
            self.socket.set_read_timeout(Some(wait))?;
            self.receive(peer)?;
            return self.after_wait(peer);
        }
        let deadline = std::time::Instant::now() + wait;
        self.socket.set_nonblocking(true)?;
        let read = loop {
            match self.receive(peer) {
                Ok(Some(true)) => break Ok(()),
                Ok(_) => {}
                Err(e) => break Err(e),
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break Ok(());
            }
            std::thread::sleep(left.min(FINE_STEP));
        };
        self.socket.set_nonblocking(false)?;
        read?;
        self.after_wait(peer)
    }

    /// One read: `Some(true)` a datagram went in, `Some(false)` an ICMP error came instead
    /// (loss to the protocols), `None` nothing (the timeout passed, or it would block).
    fn receive<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) -> io::Result<Option<bool>> {
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                let now = self.now();
                let local = self.local;
                peer.handle_packet(now, from, local, &mut self.buf[..n]);
                Ok(Some(true))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(None)
            }
            // ICMP port unreachable surfaces as ConnectionRefused/Reset on some systems: loss.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
                ) =>
            {
                Ok(Some(false))
            }
            Err(e) => Err(e),
        }
    }

    /// The end of a turn: the deadline if it passed, then whatever is queued goes out.
    fn after_wait<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) -> io::Result<()> {
        if let Some(s) = self.turn_stream.as_mut() {
            let now = Instant::from_micros(self.start.elapsed().as_micros() as u64);
            s.read(now, peer)?;
        }
        if let Some(tcp) = self.ice_tcp.as_mut() {
            let now = Instant::from_micros(self.start.elapsed().as_micros() as u64);
            tcp.poll(now, peer)?;
        }
        self.read_mdns(peer);
        let now = self.now();
        if peer.poll_timeout().is_some_and(|t| t <= now) {
            peer.handle_timeout(now);
        }
        self.flush(peer)
    }

    /// Hands in every datagram already waiting, without blocking.
    pub(crate) fn poll_ready<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) -> io::Result<()> {
        self.socket.set_nonblocking(true)?;
        let result = loop {
            match self.socket.recv_from(&mut self.buf) {
                Ok((n, from)) => {
                    let now = self.now();
                    let local = self.local;
                    peer.handle_packet(now, from, local, &mut self.buf[..n]);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
                    ) => {}
                Err(e) => break Err(e),
            }
        };
        self.socket.set_nonblocking(false)?;
        self.read_mdns(peer);
        let now = self.now();
        if peer.poll_timeout().is_some_and(|t| t <= now) {
            peer.handle_timeout(now);
        }
        result.and_then(|()| self.flush(peer))
    }
}

/// A fresh certificate from the OS's entropy, and a seed for the Peer.
pub(crate) fn identity() -> io::Result<(peerless_dtls::Certificate, [u8; 32])> {
    let mut entropy = [0u8; 64];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| io::Read::read_exact(&mut f, &mut entropy))?;
    let (a, b) = entropy.split_at(32);
    let mut rng = peerless_base::Drbg::from_seed(
        a.try_into().map_err(io::Error::other)?,
        b"peerless host certificate",
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(io::Error::other)?
        .as_secs();
    let cert = peerless_dtls::Certificate::generate(
        &mut rng,
        peerless_dtls::Validity::days_from(now.saturating_sub(86_400), 30),
    )
    .map_err(|e| io::Error::other(format!("{e}")))?;
    Ok((cert, b.try_into().map_err(io::Error::other)?))
}

/// `{"type":"offer","sdp":"..."}` on one line.
pub(crate) fn to_json(kind: &str, sdp: &str) -> String {
    let mut s = String::with_capacity(sdp.len() + 32);
    s.push_str("{\"type\":\"");
    s.push_str(kind);
    s.push_str("\",\"sdp\":\"");
    for c in sdp.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\r' => s.push_str("\\r"),
            '\t' => s.push_str("\\t"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push_str("\"}");
    s
}

/// The value of the string member `key` of a flat JSON object (enough for
/// `RTCSessionDescriptionInit`); `None` if absent or malformed.
pub(crate) fn json_string(json: &str, key: &str) -> Option<String> {
    let pattern = format!("\"{key}\"");
    let at = json.find(&pattern)? + pattern.len();
    let rest = json[at..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                }
                c => out.push(c),
            },
            c => out.push(c),
        }
    }
}

/// Reads a description: from stdin (`-`) until EOF (or one JSON line), or from a file once
/// it exists and is complete (JSON that parses, or SDP that stopped growing).
pub(crate) fn read_description(path: &str, json: bool, timeout: Duration) -> io::Result<String> {
    read_description_while(path, json, timeout, || {})
}

/// [`read_description`], calling `idle` every 100 ms while it waits (the offerer's mDNS
/// responder answers queries for its published name meanwhile: a browser resolves the offer's
/// names before it answers).
pub(crate) fn read_description_while(
    path: &str,
    json: bool,
    timeout: Duration,
    mut idle: impl FnMut(),
) -> io::Result<String> {
    let deadline = std::time::Instant::now() + timeout;
    let text = if path == "-" {
        let mut s = String::new();
        if json {
            io::stdin().read_line(&mut s)?;
        } else {
            io::Read::read_to_string(&mut io::stdin(), &mut s)?;
        }
        s
    } else {
        let mut last = String::new();
        loop {
            if std::time::Instant::now() > deadline {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no description in {path}"),
                ));
            }
            if let Ok(s) = std::fs::read_to_string(path) {
                let complete = if json {
                    json_string(&s, "sdp").is_some()
                } else {
                    !s.is_empty() && s == last
                };
                if complete {
                    break s;
                }
                last = s;
            }
            std::thread::sleep(Duration::from_millis(100));
            idle();
        }
    };
    if json {
        json_string(&text, "sdp")
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no \"sdp\" in the JSON"))
    } else {
        Ok(text)
    }
}

/// Writes a description to stdout (`-`) or atomically to a file.
pub(crate) fn write_description(path: &str, kind: &str, sdp: &str, json: bool) -> io::Result<()> {
    let text = if json {
        to_json(kind, sdp) + "\n"
    } else {
        sdp.to_string()
    };
    if path == "-" {
        use io::Write;
        let mut out = io::stdout();
        out.write_all(text.as_bytes())?;
        out.flush()
    } else {
        let tmp = format!("{path}.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)
    }
}

/// A TCP (or TLS over TCP, for `turns:`) stream to a TURN server (RFC 8656 §3.1): the Peer's
/// transmits from `local` are written to it, and what arrives is split into STUN and
/// ChannelData messages (`peerless_stun::stream_frame_len`) and handed in as datagrams from
/// `server` to `local`. The agent sees the same bytes over TCP and TLS.
pub(crate) struct TurnStream {
    conn: Conn,
    /// The server.
    pub(crate) server: SocketAddr,
    /// The stream's local address (the allocation's base).
    pub(crate) local: SocketAddr,
    rx: Vec<u8>,
}

enum Conn {
    Tcp(std::net::TcpStream),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>>),
}

impl io::Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl io::Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Tcp(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

impl TurnStream {
    /// Connects over TCP to `server` (5 s at most).
    pub(crate) fn connect(server: SocketAddr) -> io::Result<Self> {
        let stream = std::net::TcpStream::connect_timeout(&server, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let local = stream.local_addr()?;
        Ok(TurnStream {
            conn: Conn::Tcp(stream),
            server,
            local,
            rx: Vec::new(),
        })
    }

    /// Connects over TLS (rustls) to `server`, checking its certificate for `name` (the URL's
    /// host) against the PEM certificates in `ca`: the handshake runs here, blocking.
    pub(crate) fn connect_tls(
        server: SocketAddr,
        name: rustls::pki_types::ServerName<'static>,
        ca: &str,
    ) -> io::Result<Self> {
        use rustls::pki_types::{CertificateDer, pem::PemObject};
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(ca).map_err(io::Error::other)? {
            roots
                .add(cert.map_err(io::Error::other)?)
                .map_err(io::Error::other)?;
        }
        // ring: no C toolchain beyond cc, unlike aws-lc-rs (cmake). Its lack of post-quantum
        // key exchange (why rustls deprecates it) does not matter to a loopback test.
        #[allow(deprecated)]
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(io::Error::other)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name)
            .map_err(io::Error::other)?;
        let tcp = std::net::TcpStream::connect_timeout(&server, Duration::from_secs(5))?;
        tcp.set_nodelay(true)?;
        tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
        let local = tcp.local_addr()?;
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        while tls.conn.is_handshaking() {
            tls.conn.complete_io(&mut tls.sock)?;
        }
        // Afterwards a read waits at most a millisecond: the UDP socket is the host's clock.
        tls.sock.set_read_timeout(Some(Duration::from_millis(1)))?;
        Ok(TurnStream {
            conn: Conn::Tls(Box::new(tls)),
            server,
            local,
            rx: Vec::new(),
        })
    }

    fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        while !bytes.is_empty() {
            match self.conn.write(bytes) {
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_micros(200));
                }
                Err(e) => return Err(e),
            }
        }
        self.conn.flush()
    }

    /// Hands in every whole message that arrived.
    fn read<
        S: peerless::Area,
        const K: usize,
        const C: usize,
        const D: usize,
        const L: usize,
        const R: usize,
        const T: usize,
    >(
        &mut self,
        now: Instant,
        peer: &mut Peer<S, K, C, D, L, R, T>,
    ) -> io::Result<()> {
        use std::io::Read;
        let mut chunk = [0u8; 16384];
        loop {
            match self.conn.read(&mut chunk) {
                Ok(0) => {
                    peer.turn_stream_closed(self.server, self.local);
                    return Err(io::Error::other("TURN server closed the stream"));
                }
                Ok(n) => self.rx.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        loop {
            match peerless_stun::stream_frame_len(&self.rx) {
                Ok(Some(n)) if self.rx.len() >= n => {
                    let mut frame: Vec<u8> = self.rx.drain(..n).collect();
                    peer.handle_packet(now, self.server, self.local, &mut frame);
                }
                Ok(_) => return Ok(()),
                Err(_) => return Err(io::Error::other("not a TURN stream")),
            }
        }
    }
}
