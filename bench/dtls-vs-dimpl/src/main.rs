//! Full DTLS 1.2 handshake CPU time, both sides in memory, pre-made P-256 certificates:
//! peerless-dtls and dimpl (RustCrypto provider; with the feature `aws-lc-rs`, peerless on
//! peerless-crypto's aws-lc-rs backend and dimpl with its aws-lc-rs provider) in the same run, same suite
//! (ECDHE-ECDSA-AES128-GCM-SHA256), same group (P-256), mutual authentication, use_srtp.
//! Each side's time is the sum of the time spent inside its own calls. Before timing, the two
//! are run against each other (both roles, all three suites) as an in-memory interop check.

use std::sync::Arc;
use std::time::{Duration, Instant};

use peerless_base::Drbg;
use peerless_dtls as ours;

/// PKCS#8 wrapping of a raw P-256 scalar (RFC 5208 + RFC 5915, no public key), for dimpl.
fn pkcs8(scalar: &[u8; 32]) -> Vec<u8> {
    let mut v = vec![
        0x30, 0x41, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
        0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x27, 0x30, 0x25, 0x02, 0x01,
        0x01, 0x04, 0x20,
    ];
    v.extend_from_slice(scalar);
    v
}

struct Certs {
    client: ours::Certificate,
    server: ours::Certificate,
}

fn timed<T>(acc: &mut Duration, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    *acc += t.elapsed();
    r
}

fn peerless_handshake(certs: &Certs, seed: u8) -> (Duration, Duration) {
    let (mut tc, mut ts) = (Duration::ZERO, Duration::ZERO);
    let now = peerless_base::Instant::from_secs(1);
    let profiles: &'static [ours::SrtpProfile] = &[ours::SrtpProfile::AEAD_AES_128_GCM];
    let cfg = |cert: &ours::Certificate, s: u8, role| {
        ours::Config::new(role, cert.clone(), [s; 32])
            .with_cipher_suites(&[ours::CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256])
            .expect("a known suite")
            .with_groups(&[ours::NamedGroup::SECP256R1])
            .expect("a known group")
            .with_srtp_profiles(profiles)
    };
    let mut client: ours::Endpoint =
        timed(&mut tc, || ours::Endpoint::new(cfg(&certs.client, seed, ours::Role::Client), now));
    timed(&mut tc, || client.connect(now));
    let mut server: ours::Endpoint =
        timed(&mut ts, || ours::Endpoint::new(cfg(&certs.server, seed ^ 1, ours::Role::Server), now));
    timed(&mut tc, || client.set_remote_fingerprint(certs.server.fingerprint(ours::HashAlgorithm::Sha256)));
    timed(&mut ts, || server.set_remote_fingerprint(certs.client.fingerprint(ours::HashAlgorithm::Sha256)));
    let mut buf = [0u8; 1500];
    let (mut c_ok, mut s_ok) = (false, false);
    for _ in 0..20 {
        while let Some(n) = timed(&mut tc, || client.poll_transmit(&mut buf).unwrap().map(|t| t.len())) {
            timed(&mut ts, || server.handle_packet(now, &mut buf[..n]));
        }
        while let Some(n) = timed(&mut ts, || server.poll_transmit(&mut buf).unwrap().map(|t| t.len())) {
            timed(&mut tc, || client.handle_packet(now, &mut buf[..n]));
        }
        timed(&mut tc, || while let Some(ev) = client.poll_event() {
            c_ok |= matches!(ev, ours::Event::Connected { keys: Some(_), .. });
        });
        timed(&mut ts, || while let Some(ev) = server.poll_event() {
            s_ok |= matches!(ev, ours::Event::Connected { keys: Some(_), .. });
        });
        if c_ok && s_ok {
            return (tc, ts);
        }
    }
    panic!("peerless handshake did not complete");
}

fn dimpl_handshake(certs: &(dimpl::DtlsCertificate, dimpl::DtlsCertificate), config: &Arc<dimpl::Config>) -> (Duration, Duration) {
    let (mut tc, mut ts) = (Duration::ZERO, Duration::ZERO);
    let now = Instant::now();
    let mut client = timed(&mut tc, || {
        let mut d = dimpl::Dtls::new_12(config.clone(), certs.0.clone(), now);
        d.set_active(true);
        // dimpl starts its first flight from a timeout.
        d.handle_timeout(now).unwrap();
        d
    });
    let mut server = timed(&mut ts, || {
        let mut d = dimpl::Dtls::new_12(config.clone(), certs.1.clone(), now);
        d.handle_timeout(now).unwrap();
        d
    });
    let mut buf = vec![0u8; 2048];
    let (mut c_ok, mut s_ok) = (false, false);
    let mut c_keys = false;
    for _ in 0..20 {
        let mut to_server = Vec::new();
        timed(&mut tc, || loop {
            match client.poll_output(&mut buf) {
                dimpl::Output::Packet(p) => to_server.push(p.to_vec()),
                dimpl::Output::Connected => c_ok = true,
                dimpl::Output::KeyingMaterial(..) => c_keys = true,
                dimpl::Output::Timeout(_) => break,
                _ => {}
            }
        });
        for p in &to_server {
            timed(&mut ts, || server.handle_packet(p).unwrap());
        }
        let mut to_client = Vec::new();
        timed(&mut ts, || loop {
            match server.poll_output(&mut buf) {
                dimpl::Output::Packet(p) => to_client.push(p.to_vec()),
                dimpl::Output::Connected => s_ok = true,
                dimpl::Output::Timeout(_) => break,
                _ => {}
            }
        });
        for p in &to_client {
            timed(&mut tc, || client.handle_packet(p).unwrap());
        }
        if c_ok && s_ok && c_keys && to_client.is_empty() && to_server.is_empty() {
            return (tc, ts);
        }
    }
    panic!("dimpl handshake did not complete (client {c_ok}, server {s_ok}, keys {c_keys})");
}

/// peerless against dimpl in memory, `ours` playing `role`, for each of our cipher suites: the
/// handshake completes, application data goes both ways, and both export the same SRTP keys.
fn interop(certs: &Certs, dimpl_cert: &dimpl::DtlsCertificate, config: &Arc<dimpl::Config>, role: ours::Role, suite: &'static [ours::CipherSuite]) -> String {
    let now = peerless_base::Instant::from_secs(1);
    let std_now = Instant::now();
    let our_cert = if role == ours::Role::Client { &certs.client } else { &certs.server };
    let mut ep: ours::Endpoint = ours::Endpoint::new(ours::Config::new(role, our_cert.clone(), [7; 32]).with_cipher_suites(suite).expect("a known suite"), now);
    ep.connect(now); // a server ignores it
    let mut peer = dimpl::Dtls::new_12(config.clone(), dimpl_cert.clone(), std_now);
    peer.set_active(role == ours::Role::Server);
    peer.handle_timeout(std_now).unwrap();
    ep.set_remote_fingerprint(ours::Fingerprint::of(&dimpl_cert.certificate, ours::HashAlgorithm::Sha256));
    let mut buf = vec![0u8; 2048];
    let (mut our_keys, mut their_keys, mut got_theirs, mut got_ours, mut sent) = (None, None, false, false, false);
    for _ in 0..30 {
        let mut to_peer = Vec::new();
        while let Some(t) = ep.poll_transmit(&mut buf).unwrap() {
            to_peer.push(t.to_vec());
        }
        for p in &to_peer {
            peer.handle_packet(p).unwrap();
        }
        let mut to_us = Vec::new();
        loop {
            match peer.poll_output(&mut buf) {
                dimpl::Output::Packet(p) => to_us.push(p.to_vec()),
                dimpl::Output::KeyingMaterial(km, _) => their_keys = Some(km.to_vec()),
                dimpl::Output::ApplicationData(d) => got_ours |= d == b"from peerless",
                dimpl::Output::Connected => {
                    peer.send_application_data(b"from dimpl").unwrap();
                }
                dimpl::Output::Timeout(_) => break,
                _ => {}
            }
        }
        for p in &mut to_us {
            ep.handle_packet(now, p);
        }
        while let Some(ev) = ep.poll_event() {
            match ev {
                ours::Event::Connected { keys, .. } => our_keys = keys.map(|k| k.as_bytes().to_vec()),
                ours::Event::ApplicationData(d) => got_theirs |= d == b"from dimpl",
                ours::Event::Closed(r) => panic!("peerless closed: {r:?}"),
                other => panic!("an event this bench does not know: {other:?}"),
            }
        }
        if our_keys.is_some() && !sent {
            ep.send(b"from peerless").unwrap();
            sent = true;
        }
        if got_ours && got_theirs && to_peer.is_empty() && to_us.is_empty() {
            break;
        }
    }
    assert!(our_keys.is_some() && our_keys == their_keys, "{role:?}: keys differ: {our_keys:02x?} vs {their_keys:02x?}");
    assert!(got_ours && got_theirs, "{role:?}: application data did not go both ways ({got_ours} {got_theirs})");
    format!("interop ok: peerless {role:?} <-> dimpl, suite {:04X}, equal SRTP keying material ({} bytes)", suite[0].0, our_keys.map_or(0, |k| k.len()))
}

/// dimpl's crypto provider for this build: the same library as peerless's backend.
fn dimpl_provider() -> dimpl::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc-rs")]
    return dimpl::crypto::aws_lc_rs::default_provider();
    #[cfg(not(feature = "aws-lc-rs"))]
    return dimpl::crypto::rust_crypto::default_provider();
}

fn main() {
    let iterations: u32 = std::env::var("BENCH_ITERATIONS").ok().and_then(|s| s.parse().ok()).unwrap_or(50);
    let mut rng = Drbg::from_seed(&[42; 32], b"bench-certs");
    let validity = ours::Validity::days_from(1_700_000_000, 365);
    let certs = Certs {
        client: ours::Certificate::generate(&mut rng, validity).unwrap(),
        server: ours::Certificate::generate(&mut rng, validity).unwrap(),
    };
    let dimpl_certs = (
        dimpl::DtlsCertificate { certificate: certs.client.der().to_vec(), private_key: pkcs8(&certs.client.private_key()) },
        dimpl::DtlsCertificate { certificate: certs.server.der().to_vec(), private_key: pkcs8(&certs.server.private_key()) },
    );
    let config = Arc::new(
        dimpl::Config::builder()
            .with_crypto_provider(dimpl_provider())
            .dtls12_cipher_suites(&[dimpl::crypto::Dtls12CipherSuite::ECDHE_ECDSA_AES128_GCM_SHA256])
            .kx_groups(&[dimpl::NamedGroup::Secp256r1])
            .build()
            .unwrap(),
    );
    // First, the two must talk to each other at all.
    if std::env::var("BENCH_ONLY").is_err() {
        let any_config = Arc::new(dimpl::Config::builder().with_crypto_provider(dimpl_provider()).build().unwrap());
        // Both sides' certificates here are ECDSA: the ECDHE_ECDSA suites (the ECDHE_RSA
        // ones in ALL_CIPHER_SUITES need a server with an RSA certificate).
        static ECDSA: [ours::CipherSuite; 3] = [
            ours::CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256,
            ours::CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384,
            ours::CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
        ];
        for suite in ECDSA.chunks(1) {
            println!("{}", interop(&certs, &dimpl_certs.1, &any_config, ours::Role::Client, suite));
            println!("{}", interop(&certs, &dimpl_certs.0, &any_config, ours::Role::Server, suite));
        }
    }
    // BENCH_ONLY=peerless|dimpl runs one side only (for instruction counts under callgrind).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    if !only.is_empty() {
        for i in 0..iterations {
            if only == "peerless" {
                peerless_handshake(&certs, i as u8);
            } else {
                dimpl_handshake(&dimpl_certs, &config);
            }
        }
        return;
    }
    // Warm up both, then interleave so machine noise hits both alike.
    peerless_handshake(&certs, 0);
    dimpl_handshake(&dimpl_certs, &config);
    let (mut oc, mut os, mut dc, mut ds) = (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    for i in 0..iterations {
        let (c, s) = peerless_handshake(&certs, i as u8);
        oc += c;
        os += s;
        let (c, s) = dimpl_handshake(&dimpl_certs, &config);
        dc += c;
        ds += s;
    }
    let per = |d: Duration| d.as_secs_f64() * 1e3 / f64::from(iterations);
    println!("full DTLS 1.2 handshake, in memory, ECDHE-ECDSA-AES128-GCM-SHA256, P-256, mutual auth, {iterations} runs");
    println!("crypto: peerless on peerless-crypto's {} backend, dimpl with its {} provider",
        peerless_crypto::BACKEND, if cfg!(feature = "aws-lc-rs") { "aws-lc-rs" } else { "rust-crypto" });
    println!("{:<10} {:>12} {:>12} {:>12}", "", "client ms", "server ms", "total ms");
    println!("{:<10} {:>12.3} {:>12.3} {:>12.3}", "peerless", per(oc), per(os), per(oc + os));
    println!("{:<10} {:>12.3} {:>12.3} {:>12.3}", "dimpl", per(dc), per(ds), per(dc + ds));
    println!("ratio peerless/dimpl: client {:.2}, server {:.2}, total {:.2}",
        oc.as_secs_f64() / dc.as_secs_f64(), os.as_secs_f64() / ds.as_secs_f64(), (oc + os).as_secs_f64() / (dc + ds).as_secs_f64());
}
