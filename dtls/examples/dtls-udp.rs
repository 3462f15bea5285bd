//! Drives a peerless DTLS endpoint over a real UDP socket, for interop with other stacks
//! (`scripts/interop/dtls-openssl.sh` runs it against `openssl s_server` / `s_client`).
//!
//! ```text
//! dtls-udp --role client|server --addr 127.0.0.1:PORT --fingerprint "sha-256 AB:.." \
//!          --cert PREFIX [--cookies] [--mtu N] [--profile aes128gcm|sha1_80|...]
//!          [--suite aes128|aes256|chacha|rsa-aes128|rsa-aes256|rsa-chacha|all]
//!          [--expect TEXT] [--send TEXT]
//! ```
//!
//! `dtls-udp --gen-cert PREFIX` first writes a fresh certificate (PREFIX.pem for the peer's
//! `-CAfile`, PREFIX.der and PREFIX.key for `--cert`). A run prints
//! `Keying material: <HEX>` once connected, sends `--send` as application data, prints every
//! record it receives, and exits 0 once it has received a record containing `--expect`.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use peerless_base::{Drbg, StdClock};
use peerless_dtls::{
    CipherSuite, Config, Endpoint, Event, Fingerprint, NamedGroup, Role, SrtpProfile, Validity,
};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn pem(der: &[u8]) -> String {
    const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for chunk in der.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in s.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let role = match arg(&args, "--role").as_deref() {
        Some("server") => Role::Server,
        _ => Role::Client,
    };
    let expect = arg(&args, "--expect").unwrap_or_else(|| "hello-from-peer".into());
    let send = arg(&args, "--send").unwrap_or_else(|| "hello-from-peerless\n".into());
    let profiles: &'static [SrtpProfile] = match arg(&args, "--profile").as_deref() {
        Some("aes128gcm") => &[SrtpProfile::AEAD_AES_128_GCM],
        Some("aes256gcm") => &[SrtpProfile::AEAD_AES_256_GCM],
        Some("sha1_80") => &[SrtpProfile::AES128_CM_HMAC_SHA1_80],
        Some("sha1_32") => &[SrtpProfile::AES128_CM_HMAC_SHA1_32],
        _ => peerless_dtls::ALL_SRTP_PROFILES,
    };
    let suites: &'static [CipherSuite] = match arg(&args, "--suite").as_deref() {
        Some("aes256") => &[CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384],
        Some("chacha") => &[CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256],
        Some("aes128") => &[CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256],
        // A server with an RSA certificate (we verify it as a client; feature `rsa`).
        Some("rsa-aes128") => &[CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256],
        Some("rsa-aes256") => &[CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384],
        Some("rsa-chacha") => &[CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256],
        _ => peerless_dtls::ALL_CIPHER_SUITES,
    };
    let groups: &'static [NamedGroup] = match arg(&args, "--group").as_deref() {
        Some("p256") => &[NamedGroup::SECP256R1],
        Some("x25519") => &[NamedGroup::X25519],
        _ => peerless_dtls::ALL_GROUPS,
    };
    let mtu: usize = arg(&args, "--mtu").map_or(Ok(1200), |m| m.parse())?;

    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))?;
    if let Some(prefix) = arg(&args, "--gen-cert") {
        // Generate our certificate ahead of time so the peer can pin it (`-CAfile`).
        let mut rng = Drbg::from_seed(&seed, b"example-cert");
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs();
        let cert =
            peerless_dtls::Certificate::generate(&mut rng, Validity::days_from(unix - 3600, 30))
                .map_err(|e| format!("{e:?}"))?;
        std::fs::write(format!("{prefix}.pem"), pem(cert.der()))?;
        std::fs::write(format!("{prefix}.der"), cert.der())?;
        std::fs::write(format!("{prefix}.key"), cert.private_key())?;
        return Ok(());
    }
    let prefix = arg(&args, "--cert").ok_or("--cert PREFIX (made with --gen-cert PREFIX)")?;
    let der = std::fs::read(format!("{prefix}.der"))?;
    let key: [u8; 32] = std::fs::read(format!("{prefix}.key"))?
        .try_into()
        .map_err(|_| "key file is not 32 bytes")?;
    let cert = peerless_dtls::Certificate::from_der(&der, &key).map_err(|e| format!("{e:?}"))?;
    let config = Config::new(role, cert, seed)
        .with_srtp_profiles(profiles)
        .with_cipher_suites(suites)
        .map_err(|e| format!("--suite: {e}"))?
        .with_groups(groups)
        .map_err(|e| format!("--group: {e}"))?
        .with_mtu(mtu)
        .with_retransmit(Duration::from_millis(500), Duration::from_secs(4))
        .with_cookies(args.iter().any(|a| a == "--cookies"));

    let addr: SocketAddr = arg(&args, "--addr").ok_or("--addr")?.parse()?;
    let fingerprint = Fingerprint::parse(&arg(&args, "--fingerprint").ok_or("--fingerprint")?)
        .map_err(|_| "bad --fingerprint")?;
    let clock = StdClock::new();
    let socket = match role {
        Role::Client => {
            let s = UdpSocket::bind("127.0.0.1:0")?;
            s.connect(addr)?;
            s
        }
        Role::Server => UdpSocket::bind(addr)?,
    };
    let mut ep: Endpoint = Endpoint::new(config, clock.now());
    ep.connect(clock.now()); // a server ignores it
    ep.set_remote_fingerprint(fingerprint);
    let mut peer: Option<SocketAddr> = (role == Role::Client).then_some(addr);
    let mut out = vec![0u8; 2048];
    let mut inbuf = vec![0u8; 65536];
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let stdout = std::io::stdout();
    loop {
        // Drain output and events (the drain rule).
        while let Some(t) = ep.poll_transmit(&mut out).map_err(|e| format!("{e}"))? {
            if let Some(p) = peer {
                socket.send_to(t, p)?;
            }
        }
        let mut done = false;
        while let Some(ev) = ep.poll_event() {
            let mut o = stdout.lock();
            match ev {
                Event::Connected {
                    cipher_suite,
                    srtp_profile,
                    keys,
                } => {
                    writeln!(
                        o,
                        "CONNECTED suite={:04X} srtp={:?}",
                        cipher_suite.0,
                        srtp_profile.map(|p| p.0)
                    )?;
                    if let Some(k) = keys {
                        let hex: String = k.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
                        writeln!(o, "Keying material: {hex}")?;
                    }
                }
                Event::ApplicationData(d) => {
                    let text = String::from_utf8_lossy(d);
                    writeln!(o, "RECEIVED {text:?}")?;
                    if text.contains(&expect) {
                        done = true;
                    }
                }
                Event::Closed(r) => {
                    writeln!(o, "CLOSED {r:?}")?;
                    return Err(format!("closed: {r:?}").into());
                }
                _ => {}
            }
        }
        if ep.is_connected() && !send.is_empty() {
            ep.send(send.as_bytes()).map_err(|e| format!("{e:?}"))?;
            stdout.lock().write_all(b"SENT\n")?;
            // The queued record goes out at the top of the loop.
            while let Some(t) = ep.poll_transmit(&mut out).map_err(|e| format!("{e}"))? {
                if let Some(p) = peer {
                    socket.send_to(t, p)?;
                }
            }
            return finish(ep, socket, peer, &expect, done, deadline, &clock);
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("timeout; stats {:?}", ep.stats()).into());
        }
        let wait = ep
            .poll_timeout()
            .map(|t| {
                clock
                    .std_instant(t)
                    .saturating_duration_since(std::time::Instant::now())
            })
            .unwrap_or(Duration::from_millis(200))
            .clamp(Duration::from_millis(1), Duration::from_millis(200));
        socket.set_read_timeout(Some(wait))?;
        match socket.recv_from(&mut inbuf) {
            Ok((n, from)) => {
                peer.get_or_insert(from);
                ep.handle_packet(clock.now(), &mut inbuf[..n]);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                ep.handle_timeout(clock.now());
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// After sending: keep the endpoint running until the expected record arrives, then close.
fn finish(
    mut ep: Endpoint,
    socket: UdpSocket,
    peer: Option<SocketAddr>,
    expect: &str,
    mut done: bool,
    deadline: std::time::Instant,
    clock: &StdClock,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut out = vec![0u8; 2048];
    let mut inbuf = vec![0u8; 65536];
    while !done {
        if std::time::Instant::now() > deadline {
            return Err(format!(
                "no application data containing {expect:?}; stats {:?}",
                ep.stats()
            )
            .into());
        }
        socket.set_read_timeout(Some(Duration::from_millis(100)))?;
        match socket.recv_from(&mut inbuf) {
            Ok((n, _)) => ep.handle_packet(clock.now(), &mut inbuf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                ep.handle_timeout(clock.now());
            }
            Err(e) => return Err(e.into()),
        }
        while let Some(t) = ep.poll_transmit(&mut out).map_err(|e| format!("{e}"))? {
            if let Some(p) = peer {
                socket.send_to(t, p)?;
            }
        }
        while let Some(ev) = ep.poll_event() {
            match ev {
                Event::ApplicationData(d) => {
                    let text = String::from_utf8_lossy(d);
                    println!("RECEIVED {text:?}");
                    done |= text.contains(expect);
                }
                Event::Closed(r) => {
                    println!("CLOSED {r:?}");
                    if !done {
                        return Err(format!("closed before {expect:?}: {r:?}").into());
                    }
                }
                _ => {}
            }
        }
    }
    ep.close(clock.now());
    while let Some(t) = ep.poll_transmit(&mut out).map_err(|e| format!("{e}"))? {
        if let Some(p) = peer {
            socket.send_to(t, p)?;
        }
    }
    println!("OK");
    Ok(())
}
