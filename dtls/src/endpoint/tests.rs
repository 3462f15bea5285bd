//! Unit tests of the endpoint that need its private state (sequence numbers, ciphers,
//! buffers).

use super::*;
use crate::cert::{Certificate, Validity};
use crate::wire::Record;
extern crate std;
use std::vec::Vec;

fn endpoint(role: Role, seed: u8) -> Endpoint {
    let mut rng = Drbg::from_seed(&[seed; 32], b"unit");
    let cert = Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 1)).unwrap();
    let mut endpoint = Endpoint::new(Config::new(role, cert, [seed; 32]), Instant::ZERO);
    endpoint.connect(Instant::ZERO);
    endpoint
}

fn flush(from: &mut Endpoint, to: &mut Endpoint) -> usize {
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    while let Some(t) = from.poll_transmit(&mut buf).unwrap() {
        out.push(t.to_vec());
    }
    for d in &mut out {
        to.handle_packet(Instant::ZERO, d);
    }
    out.len()
}

/// A Finished whose verify_data is wrong but whose record is correctly protected (the
/// tamper happens before encryption) fails the handshake with decrypt_error.
#[test]
fn tampered_finished_verify_data_is_fatal() {
    let (mut client, mut server) = (endpoint(Role::Client, 1), endpoint(Role::Server, 2));
    flush(&mut client, &mut server);
    flush(&mut server, &mut client);
    assert_eq!(client.core.state, State::AwaitServerFinished);
    let finished = client.tx.entries[..client.tx.count]
        .iter()
        .find(|e| e.epoch == 1)
        .copied()
        .unwrap();
    client.tx.buf[finished.start + HANDSHAKE_HEADER_LEN + 3] ^= 1;
    flush(&mut client, &mut server);
    assert_eq!(
        server.core.stats.dropped_decrypt, 0,
        "the record itself was genuine"
    );
    assert_eq!(
        server.poll_event(),
        Some(Event::Closed(CloseReason::HandshakeFailed(
            AlertDescription::DECRYPT_ERROR
        )))
    );
    flush(&mut server, &mut client);
    assert_eq!(
        client.poll_event(),
        Some(Event::Closed(CloseReason::PeerAlert(
            AlertDescription::DECRYPT_ERROR
        )))
    );
}

fn connected() -> (Endpoint, Endpoint) {
    let (mut client, mut server) = (endpoint(Role::Client, 1), endpoint(Role::Server, 2));
    let fp = |e: &Endpoint| e.core.config.certificate.fingerprint(HashAlgorithm::Sha256);
    let (client_fp, server_fp) = (fp(&client), fp(&server));
    client.set_remote_fingerprint(server_fp);
    server.set_remote_fingerprint(client_fp);
    for _ in 0..4 {
        flush(&mut client, &mut server);
        flush(&mut server, &mut client);
    }
    while client.poll_event().is_some() {}
    while server.poll_event().is_some() {}
    assert!(client.is_connected() && server.is_connected());
    (client, server)
}

/// Every datagram `from` has queued, as records: (content type, epoch, fragment length).
fn records_out(from: &mut Endpoint) -> Vec<(ContentType, u16, usize)> {
    let mut buf = [0u8; 1500];
    let mut out = Vec::new();
    while let Some(t) = from.poll_transmit(&mut buf).unwrap() {
        let mut d = t;
        while let Ok(r) = Record::parse(d) {
            out.push((r.content_type(), r.epoch(), r.fragment().len()));
            d = &d[r.len()..];
        }
    }
    out
}

/// RFC 5246 §7.2.2: an authenticated renegotiation request after the handshake (a
/// ClientHello to the server, a HelloRequest to the client) is declined with a
/// no_renegotiation warning alert; the connection stays up and nothing else is sent.
#[test]
fn renegotiation_is_answered_with_a_no_renegotiation_warning() {
    fn ask(asker: &mut Endpoint, answerer: &mut Endpoint, ty: HandshakeType) {
        let body = [0x55u8; 40];
        let mut msg = [0u8; HANDSHAKE_HEADER_LEN + 40];
        let mut w = Writer::new(&mut msg);
        emit_handshake_header(&mut w, ty, body.len(), 9, 0, body.len());
        w.bytes(&body);
        let mut buf = [0u8; 200];
        let n = asker
            .core
            .seal_record(&mut buf, ContentType::HANDSHAKE, 1, &msg)
            .unwrap();
        let before = answerer.stats();
        answerer.handle_packet(Instant::ZERO, &mut buf[..n]);
        let out = records_out(answerer);
        // One encrypted two-byte alert, nothing else.
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].0, out[0].1), (ContentType::ALERT, 1));
        let overhead = answerer.core.write_cipher.as_ref().unwrap().overhead();
        assert_eq!(out[0].2, 2 + overhead);
        assert_eq!(answerer.stats().retransmissions, before.retransmissions);
        assert_eq!(answerer.stats().renegotiations_refused, 1);
        assert!(answerer.is_connected());
    }
    let (mut client, mut server) = connected();
    ask(&mut client, &mut server, HandshakeType::CLIENT_HELLO);
    ask(&mut server, &mut client, HandshakeType::HELLO_REQUEST);
    // The alert itself, decrypted by the asker, is a warning that ends nothing.
    assert!(client.is_connected() && server.is_connected());
    assert_eq!(client.poll_event(), None);
}

/// RFC 6347 §4.1: sequence numbers are 48 bits and must not wrap; the last one is used,
/// then the endpoint closes instead of sending seq 0 again (a repeated AEAD nonce).
#[test]
fn write_sequence_stops_at_the_last_48_bit_number() {
    let (mut client, mut server) = connected();
    client.core.write_seq[1] = MAX_SEQ;
    client.send(b"last").unwrap();
    let mut buf = [0u8; 1500];
    let t = client.poll_transmit(&mut buf).unwrap().unwrap();
    assert_eq!(Record::parse(t).unwrap().sequence(), MAX_SEQ);
    let mut d = t.to_vec();
    server.handle_packet(Instant::ZERO, &mut d);
    assert_eq!(server.poll_event(), Some(Event::ApplicationData(b"last")));
    client.send(b"one too many").unwrap();
    assert!(client.poll_transmit(&mut buf).unwrap().is_none());
    assert_eq!(
        client.poll_event(),
        Some(Event::Closed(CloseReason::SequenceExhausted))
    );
    assert!(client.is_closed());
    assert_eq!(client.send(b"x"), Err(SendError::Closed));
    assert!(client.poll_transmit(&mut buf).unwrap().is_none());
}

/// `{:?}` of an endpoint (or its configuration) shows no secret: not the master secret,
/// the cookie secret or the DRBG seed.
#[test]
fn debug_output_shows_no_secret() {
    let (client, server) = connected();
    for ep in [&client, &server] {
        let shown = std::format!("{ep:?} {:?}", ep.core.config);
        for secret in [
            std::format!("{:?}", ep.core.master_secret),
            std::format!("{:?}", ep.core.cookie_secret),
            std::format!("{:?}", ep.core.config.seed),
        ] {
            assert!(!shown.contains(&secret[1..secret.len() - 1]), "{shown}");
        }
        assert!(shown.contains("Connected"), "still useful: {shown}");
    }
}

/// The secrets' types wipe themselves (checked at compile time).
#[test]
fn secrets_are_wiped_on_drop() {
    // The record ciphers and ECDHE keys are peerless-crypto's, whose backends wipe their
    // keyed state on drop (its tests check the RustCrypto types are `ZeroizeOnDrop`).
    assert!(core::mem::needs_drop::<peerless_crypto::Aes128Gcm>());
    assert!(core::mem::needs_drop::<peerless_crypto::Aes256Gcm>());
    #[cfg(feature = "chacha20-poly1305")]
    assert!(core::mem::needs_drop::<peerless_crypto::ChaCha20Poly1305>());
    assert!(core::mem::needs_drop::<peerless_crypto::P256SecretKey>());
    #[cfg(feature = "x25519")]
    assert!(core::mem::needs_drop::<peerless_crypto::X25519SecretKey>());
    // Core, KeyShare, SrtpKeyingMaterial and Drbg implement Drop by hand: a dropped
    // endpoint's master secret is zero by the time its memory is reused.
    fn has_drop<T>() -> bool {
        core::mem::needs_drop::<T>()
    }
    assert!(has_drop::<Core>());
    assert!(has_drop::<SrtpKeyingMaterial>());
    assert!(has_drop::<crate::crypto::KeyShare>());
    assert!(has_drop::<Drbg>());
}

#[test]
fn where_the_bytes_go() {
    use core::mem::size_of;
    std::println!(
        "Core {} (Config {}, Certificate {}, RecordCipher {} x2, Transcript {}, KeyShare {}, \
         PeerKey {}, fingerprints {}), Reassembly<4096> {}, Flight<4096> {}, Stash {}",
        size_of::<Core>(),
        size_of::<Config>(),
        size_of::<Certificate>(),
        size_of::<Option<RecordCipher>>(),
        size_of::<Transcript>(),
        size_of::<Option<KeyShare>>(),
        size_of::<Option<PeerKey>>(),
        size_of::<Option<[Fingerprint; 4]>>(),
        size_of::<Reassembly<4096>>(),
        size_of::<Flight<4096>>(),
        size_of::<Stash>(),
    );
    assert!(size_of::<Core>() < 6 * 1024);
}

#[test]
fn replay_window_slides() {
    let mut w = ReplayWindow::default();
    assert!(w.check(0));
    w.accept(0);
    assert!(!w.check(0));
    w.accept(100);
    assert!(w.check(37) && !w.check(36) && !w.check(100));
    w.accept(37);
    assert!(!w.check(37));
    assert!(w.check(99));
    w.accept(1000);
    assert!(!w.check(936) && w.check(937));
}

#[test]
fn reassembly_handles_overlap_and_duplicates() {
    let mut r = Reassembly::<256>::new();
    let msg: Vec<u8> = (0..100u8).collect();
    let frag = |off: usize, len: usize| {
        let mut b = Vec::new();
        let mut w_buf = [0u8; 12];
        let mut w = Writer::new(&mut w_buf);
        emit_handshake_header(&mut w, HandshakeType::CERTIFICATE, 100, 3, off, len);
        b.extend_from_slice(&w_buf);
        b.extend_from_slice(&msg[off..off + len]);
        b
    };
    for (off, len) in [(50, 50), (10, 60), (50, 50), (0, 20)] {
        let bytes = frag(off, len);
        let f = HandshakeFragment::parse(&bytes).unwrap();
        assert!(r.insert(&f, 0));
    }
    let (ty, range, epoch) = r.complete(3).unwrap();
    assert_eq!((ty, epoch), (HandshakeType::CERTIFICATE, 0));
    assert_eq!(&r.buf[range], &msg[..]);
    r.release(3);
    assert_eq!(r.top, 0);
    // A message larger than the buffer is refused, not a panic.
    let mut big = [0u8; 12];
    let mut w = Writer::new(&mut big);
    emit_handshake_header(&mut w, HandshakeType::CERTIFICATE, 10_000, 4, 0, 0);
    assert!(!r.insert(&HandshakeFragment::parse(&big).unwrap(), 0));
}

/// A fragment whose bytes disagree with bytes already received for the same message (a forged
/// overlap) is dropped whole: it cannot overwrite what arrived first, and the message still
/// completes with the first bytes. A fragment of another type or length is dropped too.
#[test]
fn reassembly_keeps_the_first_bytes_of_an_overlap() {
    let mut r = Reassembly::<256>::new();
    let msg: Vec<u8> = (0..100u8).collect();
    let frag = |ty: HandshakeType, total: usize, off: usize, body: &[u8]| {
        let mut b = std::vec![0u8; 12];
        let mut w = Writer::new(&mut b);
        emit_handshake_header(&mut w, ty, total, 3, off, body.len());
        b.extend_from_slice(body);
        b
    };
    let first = frag(HandshakeType::CERTIFICATE, 100, 0, &msg[..60]);
    assert!(r.insert(&HandshakeFragment::parse(&first).unwrap(), 0));
    // Forged: overlaps 40..60 with other bytes, and brings 60..100.
    let forged = frag(HandshakeType::CERTIFICATE, 100, 40, &[0xee; 60]);
    assert!(
        !r.insert(&HandshakeFragment::parse(&forged).unwrap(), 0),
        "disagrees with bytes 40..60"
    );
    assert!(r.complete(3).is_none(), "the forged tail was not taken");
    // Another type or total length for the same message: dropped.
    let other_type = frag(HandshakeType::SERVER_KEY_EXCHANGE, 100, 60, &msg[60..]);
    assert!(!r.insert(&HandshakeFragment::parse(&other_type).unwrap(), 0));
    let other_len = frag(HandshakeType::CERTIFICATE, 101, 60, &msg[60..]);
    assert!(!r.insert(&HandshakeFragment::parse(&other_len).unwrap(), 0));
    // The genuine rest, overlapping what we have with the same bytes: taken.
    let rest = frag(HandshakeType::CERTIFICATE, 100, 50, &msg[50..]);
    assert!(r.insert(&HandshakeFragment::parse(&rest).unwrap(), 0));
    let (ty, range, _) = r.complete(3).unwrap();
    assert_eq!(ty, HandshakeType::CERTIFICATE);
    assert_eq!(&r.buf[range], &msg[..]);
}

/// `restart` leaves nothing of the previous association: two endpoints that connected, each
/// restarted in the other role with a fresh seed, handshake again and agree on new keys; a
/// record of the old association is not accepted by the new one.
#[test]
fn restart_in_place_is_a_new_endpoint() {
    let (mut a, mut b) = connected();
    let mut buf = [0u8; 1500];
    a.send(b"old").unwrap();
    let old = a.poll_transmit(&mut buf).unwrap().unwrap().to_vec();
    let old_master = a.core.master_secret;

    let cert = |e: &Endpoint| e.core.config.certificate.clone();
    let (ca, cb) = (cert(&a), cert(&b));
    a.restart(Config::new(Role::Server, ca, [3; 32]), Instant::ZERO);
    b.restart(Config::new(Role::Client, cb, [4; 32]), Instant::ZERO);
    assert_eq!(a.role(), Role::Server);
    assert!(!a.is_connected() && !b.is_connected());
    assert_eq!(a.poll_transmit(&mut buf).unwrap().map(<[u8]>::len), None);
    b.connect(Instant::ZERO);
    let fp = |e: &Endpoint| e.core.config.certificate.fingerprint(HashAlgorithm::Sha256);
    let (fa, fb) = (fp(&a), fp(&b));
    a.set_remote_fingerprint(fb);
    b.set_remote_fingerprint(fa);
    for _ in 0..4 {
        flush(&mut b, &mut a);
        flush(&mut a, &mut b);
    }
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    assert!(a.is_connected() && b.is_connected());
    assert_ne!(a.core.master_secret, old_master, "new keys");

    let mut old = old;
    b.handle_packet(Instant::ZERO, &mut old);
    assert_eq!(
        b.poll_event(),
        None,
        "the old association's record is not data"
    );
    a.send(b"new").unwrap();
    flush(&mut a, &mut b);
    assert_eq!(b.poll_event(), Some(Event::ApplicationData(b"new")));
}
