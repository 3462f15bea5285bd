//! A peer with an RSA certificate (feature `rsa`): the messages we must refuse, crafted here
//! around the OpenSSL-made certificates of tests/data/rsa. (That real RSA peers connect, both
//! roles, is shown against OpenSSL, GnuTLS and GStreamer by scripts/interop.)
//!
//! ```text
//!  our server <- ClientHello (a real one of ours) ; Certificate(RSA) ClientKeyExchange
//!                CertificateVerify(bad signature)  => decrypt_error
//!  our client <- ServerHello(ECDHE_RSA) Certificate(RSA) ServerKeyExchange(bad) => decrypt_error
//!  either     <- an RSA certificate of 1024 or 4104 bits            => unsupported_certificate
//! ```
#![cfg(feature = "rsa")]
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use std::time::Instant as WallClock;

use common::*;
use peerless_base::{Instant, Writer};
use peerless_dtls::wire::{
    CertificateRequest, ClientHello, ContentType, ExtensionType, HandshakeFragment, HandshakeType,
    ProtocolVersion, Record, SignatureScheme, emit_handshake_header, emit_record_header,
    parse_u16_vector,
};
use peerless_dtls::*;

const RSA2048: &[u8] = include_bytes!("data/rsa/rsa2048-e65537.cert.der");
const RSA4096: &[u8] = include_bytes!("data/rsa/rsa4096-e65537.cert.der");
const RSA1024: &[u8] = include_bytes!("data/rsa/rsa1024-e65537.cert.der");
const RSA4104: &[u8] = include_bytes!("data/rsa/rsa4104-e65537.cert.der");

/// One epoch-0 handshake record holding one whole message.
fn record(ty: HandshakeType, msg_seq: u16, body: &[u8], record_seq: u64) -> Vec<u8> {
    let mut out = vec![0u8; 13 + 12 + body.len()];
    let mut w = Writer::new(&mut out);
    emit_record_header(
        &mut w,
        ContentType::HANDSHAKE,
        ProtocolVersion::DTLS_1_2,
        0,
        record_seq,
        12 + body.len(),
    );
    emit_handshake_header(&mut w, ty, body.len(), msg_seq, 0, body.len());
    w.bytes(body);
    w.finish().unwrap();
    out
}

fn certificate_body(der: &[u8]) -> Vec<u8> {
    let n = der.len() as u32;
    let mut v = (n + 3).to_be_bytes()[1..].to_vec();
    v.extend_from_slice(&n.to_be_bytes()[1..]);
    v.extend_from_slice(der);
    v
}

fn signed(scheme: SignatureScheme, sig: &[u8]) -> Vec<u8> {
    let mut v = scheme.0.to_be_bytes().to_vec();
    v.extend_from_slice(&(sig.len() as u16).to_be_bytes());
    v.extend_from_slice(sig);
    v
}

fn transmit_all(ep: &mut Endpoint) -> Vec<Vec<u8>> {
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    while let Some(t) = ep.poll_transmit(&mut buf).unwrap() {
        out.push(t.to_vec());
    }
    out
}

fn closed_reason(ep: &mut Endpoint) -> Option<CloseReason> {
    let mut reason = None;
    while let Some(ev) = ep.poll_event() {
        if let Event::Closed(r) = ev {
            reason = Some(r);
        }
    }
    reason
}

/// Every handshake message (type, body) in a flight's epoch-0 records (whole messages only).
fn messages(flight: &[Vec<u8>]) -> Vec<(HandshakeType, Vec<u8>)> {
    let mut out = Vec::new();
    for d in flight {
        let mut rest = &d[..];
        while !rest.is_empty() {
            let r = Record::parse(rest).unwrap();
            let len = 13 + r.fragment().len();
            if r.content_type() == ContentType::HANDSHAKE && r.epoch() == 0 {
                // A record may carry several messages.
                let mut frags = r.fragment();
                while !frags.is_empty() {
                    let f = HandshakeFragment::parse(frags).unwrap();
                    out.push((f.msg_type(), f.body().to_vec()));
                    frags = &frags[12 + f.body().len()..];
                }
            }
            rest = &rest[len..];
        }
    }
    out
}

/// An ECDHE public value the other side accepts, with its group: x25519's base point 9 where
/// the build has x25519 (both sides then pick it), else a P-256 point (RFC 5903 §8.1's g^i).
fn ecdhe_share() -> (u16, Vec<u8>) {
    if cfg!(feature = "x25519") {
        let mut u = vec![9];
        u.extend_from_slice(&[0; 31]);
        (29, u)
    } else {
        let g = hex_literal::hex!(
            "04dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c37725811"
            "805271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3"
        );
        (23, g.to_vec())
    }
}

/// Our server after a real ClientHello of ours, expecting an RSA client certificate `der`;
/// returns it and the messages of its flight 4.
fn server_after_hello(der: &[u8]) -> (Endpoint, Vec<(HandshakeType, Vec<u8>)>) {
    let mut client = Endpoint::new(Config::new(Role::Client, cert(1), [1; 32]), Instant::ZERO);
    client.connect(Instant::ZERO);
    let mut server = Endpoint::new(Config::new(Role::Server, cert(2), [2; 32]), Instant::ZERO);
    server.set_remote_fingerprint(Fingerprint::of(der, HashAlgorithm::Sha256));
    for mut d in transmit_all(&mut client) {
        server.handle_packet(Instant::ZERO, &mut d);
    }
    let flight = messages(&transmit_all(&mut server));
    assert_eq!(closed_reason(&mut server), None);
    (server, flight)
}

/// Our client after the server's first flight: ServerHello with `suite`, Certificate `der`,
/// and a ServerKeyExchange signed with `scheme` and `sig`.
fn client_after_server_flight(
    suite: CipherSuite,
    der: &[u8],
    scheme: SignatureScheme,
    sig: &[u8],
) -> (Option<CloseReason>, u128) {
    let mut client = Endpoint::new(Config::new(Role::Client, cert(3), [3; 32]), Instant::ZERO);
    client.connect(Instant::ZERO);
    client.set_remote_fingerprint(Fingerprint::of(der, HashAlgorithm::Sha256));
    let hello = transmit_all(&mut client);
    let (ty, ch) = messages(&hello).remove(0);
    assert_eq!(ty, HandshakeType::CLIENT_HELLO);
    // Our ClientHello says which RSA schemes we verify.
    let ch = ClientHello::parse(&ch).unwrap();
    let algs: Vec<u16> =
        parse_u16_vector(ch.extension(ExtensionType::SIGNATURE_ALGORITHMS).unwrap())
            .unwrap()
            .collect();
    for s in [0x0403, 0x0804, 0x0401, 0x0805, 0x0501] {
        assert!(algs.contains(&s), "{s:04x} in {algs:04x?}");
    }
    assert!(
        ch.cipher_suites()
            .any(|s| s == CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256)
    );

    let mut sh = vec![0xfe, 0xfd];
    sh.extend_from_slice(&[7; 32]);
    sh.push(0);
    sh.extend_from_slice(&suite.0.to_be_bytes());
    sh.push(0);
    sh.extend_from_slice(&[0, 4, 0, 23, 0, 0]); // extended_master_secret
    let (group, public) = ecdhe_share();
    let mut ske = vec![3];
    ske.extend_from_slice(&group.to_be_bytes());
    ske.push(public.len() as u8);
    ske.extend_from_slice(&public);
    ske.extend_from_slice(&signed(scheme, sig));
    let start = WallClock::now();
    for (i, (ty, body)) in [
        (HandshakeType::SERVER_HELLO, sh),
        (HandshakeType::CERTIFICATE, certificate_body(der)),
        (HandshakeType::SERVER_KEY_EXCHANGE, ske),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = record(ty, i as u16, &body, i as u64);
        client.handle_packet(Instant::ZERO, &mut d);
    }
    let took = start.elapsed().as_micros();
    (closed_reason(&mut client), took)
}

/// Feeds our server the client's Certificate `der`, a ClientKeyExchange and a
/// CertificateVerify; returns how it closed.
fn server_verifies(der: &[u8], scheme: SignatureScheme, sig: &[u8]) -> Option<CloseReason> {
    let (mut server, _) = server_after_hello(der);
    let (_, public) = ecdhe_share();
    let mut cke = vec![public.len() as u8];
    cke.extend_from_slice(&public);
    for (i, (ty, body)) in [
        (HandshakeType::CERTIFICATE, certificate_body(der)),
        (HandshakeType::CLIENT_KEY_EXCHANGE, cke),
        (HandshakeType::CERTIFICATE_VERIFY, signed(scheme, sig)),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = record(ty, 1 + i as u16, &body, 1 + i as u64);
        server.handle_packet(Instant::ZERO, &mut d);
    }
    closed_reason(&mut server)
}

fn failed(alert: AlertDescription) -> Option<CloseReason> {
    Some(CloseReason::HandshakeFailed(alert))
}

#[test]
fn our_server_asks_for_rsa_or_ecdsa_and_picks_an_ecdsa_suite() {
    let (_, flight) = server_after_hello(RSA2048);
    let (_, sh) = &flight[0];
    // ServerHello: version, random, session id (empty), then the suite.
    let suite = u16::from_be_bytes([sh[35], sh[36]]);
    assert_eq!(suite, CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256.0);
    let (ty, cr) = flight
        .iter()
        .find(|(t, _)| *t == HandshakeType::CERTIFICATE_REQUEST)
        .unwrap();
    assert_eq!(*ty, HandshakeType::CERTIFICATE_REQUEST);
    let cr = CertificateRequest::parse(cr).unwrap();
    assert_eq!(cr.certificate_types, &[64, 1]);
    let schemes: Vec<u16> = cr.schemes().map(|s| s.0).collect();
    assert_eq!(schemes, [0x0403, 0x0804, 0x0401, 0x0805, 0x0501]);
}

#[test]
fn a_bad_rsa_certificate_verify_is_a_decrypt_error() {
    for (der, len) in [(RSA2048, 256), (RSA4096, 512)] {
        for scheme in [
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            SignatureScheme::RSA_PSS_RSAE_SHA384,
        ] {
            let sig = vec![0x5a; len];
            assert_eq!(
                server_verifies(der, scheme, &sig),
                failed(AlertDescription::DECRYPT_ERROR),
                "{scheme:?}"
            );
        }
        // An ECDSA scheme with an RSA key, and an RSA scheme we do not implement.
        for scheme in [
            SignatureScheme::ECDSA_SECP256R1_SHA256,
            SignatureScheme(0x0201),
        ] {
            let expect = if scheme.0 == 0x0403 {
                AlertDescription::DECRYPT_ERROR
            } else {
                AlertDescription::ILLEGAL_PARAMETER
            };
            assert_eq!(server_verifies(der, scheme, &[1; 72]), failed(expect));
        }
    }
}

#[test]
fn rsa_keys_outside_2048_to_4096_bits_are_unsupported_certificates() {
    for der in [RSA1024, RSA4104] {
        assert_eq!(
            server_verifies(der, SignatureScheme::RSA_PKCS1_SHA256, &[1; 256]),
            failed(AlertDescription::UNSUPPORTED_CERTIFICATE)
        );
        let (reason, _) = client_after_server_flight(
            CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256,
            der,
            SignatureScheme::RSA_PKCS1_SHA256,
            &[1; 256],
        );
        assert_eq!(reason, failed(AlertDescription::UNSUPPORTED_CERTIFICATE));
    }
}

#[test]
fn our_client_checks_the_rsa_server_key_exchange() {
    for (der, len) in [(RSA2048, 256), (RSA4096, 512)] {
        for scheme in [
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PSS_RSAE_SHA384,
        ] {
            for sig in [
                vec![0x33; len],
                vec![0x33; len - 1],
                vec![0xff; len],
                vec![],
            ] {
                let (reason, micros) = client_after_server_flight(
                    // The SHA-384 PRF's suite where the build has it (feature `aes-256-gcm`).
                    *[
                        CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384,
                        CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256,
                    ]
                    .iter()
                    .find(|s| ALL_CIPHER_SUITES.contains(s))
                    .unwrap(),
                    der,
                    scheme,
                    &sig,
                );
                assert_eq!(
                    reason,
                    failed(AlertDescription::DECRYPT_ERROR),
                    "{scheme:?}"
                );
                println!(
                    "{}-byte key, {scheme:?}, bad signature refused in {micros} us",
                    len
                );
            }
        }
    }
    // The certificate must match the suite: RSA for ECDHE_RSA, never for ECDHE_ECDSA.
    let (reason, _) = client_after_server_flight(
        CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256,
        RSA2048,
        SignatureScheme::RSA_PKCS1_SHA256,
        &[1; 256],
    );
    assert_eq!(reason, failed(AlertDescription::UNSUPPORTED_CERTIFICATE));
    let ecdsa = cert(9);
    let (reason, _) = client_after_server_flight(
        CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256,
        ecdsa.der(),
        SignatureScheme::ECDSA_SECP256R1_SHA256,
        &[1; 70],
    );
    assert_eq!(reason, failed(AlertDescription::UNSUPPORTED_CERTIFICATE));
}

#[test]
fn a_client_offering_only_ecdhe_rsa_is_refused() {
    let mut client = Endpoint::new(
        Config::new(Role::Client, cert(4), [4; 32])
            .with_cipher_suites(
                &ALL_CIPHER_SUITES
                    .iter()
                    .copied()
                    .filter(|s| {
                        [
                            CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256,
                            CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384,
                            CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256,
                        ]
                        .contains(s)
                    })
                    .collect::<Vec<_>>(),
            )
            .unwrap(),
        Instant::ZERO,
    );
    client.connect(Instant::ZERO);
    let mut server = Endpoint::new(Config::new(Role::Server, cert(5), [5; 32]), Instant::ZERO);
    for mut d in transmit_all(&mut client) {
        server.handle_packet(Instant::ZERO, &mut d);
    }
    assert_eq!(
        closed_reason(&mut server),
        failed(AlertDescription::HANDSHAKE_FAILURE)
    );
}
