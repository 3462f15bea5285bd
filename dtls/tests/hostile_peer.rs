//! What a hostile or broken peer cannot do: each test here failed before the fix it names.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use common::*;
use peerless_base::{Instant, Writer};
use peerless_dtls::wire::{
    ClientHello, ContentType, ExtensionType, HandshakeFragment, HandshakeType, ProtocolVersion,
    Record, ServerHello, emit_handshake_header, emit_record_header,
};
use peerless_dtls::*;

// ---------------------------------------------------------------------------------------------
// Crafting hellos.

/// A ClientHello taken apart, to be changed and put back together.
#[derive(Clone, Debug)]
struct Hello {
    version: u16,
    random: Vec<u8>,
    session_id: Vec<u8>,
    cookie: Vec<u8>,
    suites: Vec<u16>,
    compression: Vec<u8>,
    extensions: Vec<(u16, Vec<u8>)>,
}

impl Hello {
    fn parse(body: &[u8]) -> Self {
        let ch = ClientHello::parse(body).unwrap();
        Hello {
            version: ch.version().0,
            random: ch.random().to_vec(),
            session_id: ch.session_id().to_vec(),
            cookie: ch.cookie().to_vec(),
            suites: ch.cipher_suites().map(|s| s.0).collect(),
            compression: ch.compression_methods().to_vec(),
            extensions: ch.extensions().map(|(t, b)| (t.0, b.to_vec())).collect(),
        }
    }

    fn emit(&self) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend_from_slice(&self.version.to_be_bytes());
        v.extend_from_slice(&self.random);
        v.push(self.session_id.len() as u8);
        v.extend_from_slice(&self.session_id);
        v.push(self.cookie.len() as u8);
        v.extend_from_slice(&self.cookie);
        v.extend_from_slice(&((self.suites.len() * 2) as u16).to_be_bytes());
        for s in &self.suites {
            v.extend_from_slice(&s.to_be_bytes());
        }
        v.push(self.compression.len() as u8);
        v.extend_from_slice(&self.compression);
        v.extend_from_slice(&emit_extensions(&self.extensions));
        v
    }

    fn set_extension(&mut self, ty: ExtensionType, body: &[u8]) {
        for e in &mut self.extensions {
            if e.0 == ty.0 {
                e.1 = body.to_vec();
            }
        }
    }
}

fn emit_extensions(extensions: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let mut ext = Vec::new();
    for (t, b) in extensions {
        ext.extend_from_slice(&t.to_be_bytes());
        ext.extend_from_slice(&(b.len() as u16).to_be_bytes());
        ext.extend_from_slice(b);
    }
    let mut v = (ext.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(&ext);
    v
}

/// One epoch-0 handshake record holding one fragment.
fn fragment_record(
    ty: HandshakeType,
    msg_seq: u16,
    total: usize,
    offset: usize,
    frag: &[u8],
    record_seq: u64,
) -> Vec<u8> {
    let mut out = vec![0u8; 13 + 12 + frag.len()];
    let mut w = Writer::new(&mut out);
    emit_record_header(
        &mut w,
        ContentType::HANDSHAKE,
        ProtocolVersion::DTLS_1_2,
        0,
        record_seq,
        12 + frag.len(),
    );
    emit_handshake_header(&mut w, ty, total, msg_seq, offset, frag.len());
    w.bytes(frag);
    w.finish().unwrap();
    out
}

/// One epoch-0 handshake record holding one whole message.
fn message_record(ty: HandshakeType, msg_seq: u16, body: &[u8], record_seq: u64) -> Vec<u8> {
    fragment_record(ty, msg_seq, body.len(), 0, body, record_seq)
}

/// The first handshake message of a datagram (which must be whole): type, seq, body.
fn first_message(d: &[u8]) -> (HandshakeType, u16, Vec<u8>) {
    let r = Record::parse(d).unwrap();
    assert_eq!(r.content_type(), ContentType::HANDSHAKE);
    let f = HandshakeFragment::parse(r.fragment()).unwrap();
    assert_eq!(f.body().len(), f.length() as usize, "fragmented");
    (f.msg_type(), f.message_seq(), f.body().to_vec())
}

fn client(seed: u8) -> Endpoint {
    let mut client = Endpoint::new(
        Config::new(Role::Client, cert(seed), [seed; 32]),
        Instant::ZERO,
    );
    client.connect(Instant::ZERO);
    client
}

fn server(seed: u8, cookies: bool) -> Endpoint {
    Endpoint::new(
        Config::new(Role::Server, cert(seed), [seed; 32]).with_cookies(cookies),
        Instant::ZERO,
    )
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

/// The alert (level, description) in a datagram's first record, if it is a plaintext alert.
fn plain_alert(d: &[u8]) -> Option<(u8, u8)> {
    let r = Record::parse(d).ok()?;
    (r.content_type() == ContentType::ALERT && r.epoch() == 0)
        .then(|| (r.fragment()[0], r.fragment()[1]))
}

/// A client's first ClientHello, taken apart.
fn first_client_hello(seed: u8) -> Hello {
    let mut c = client(seed);
    let d = transmit_all(&mut c).remove(0);
    let (ty, _, body) = first_message(&d);
    assert_eq!(ty, HandshakeType::CLIENT_HELLO);
    Hello::parse(&body)
}

/// Feeds a ClientHello to a server; returns what the server sent and how it closed.
fn offer(
    server: &mut Endpoint,
    hello: &Hello,
    msg_seq: u16,
) -> (Vec<Vec<u8>>, Option<CloseReason>) {
    let mut d = message_record(HandshakeType::CLIENT_HELLO, msg_seq, &hello.emit(), 0);
    server.handle_packet(Instant::ZERO, &mut d);
    (transmit_all(server), closed_reason(server))
}

// ---------------------------------------------------------------------------------------------
// 1. The exporter.

/// RFC 8827 §6.5: keys are only usable once the peer's fingerprint is verified; after close
/// there are none.
#[test]
fn exporter_answers_only_when_verified_and_open() {
    let mut pair = Pair::new(40, |c| c);
    pair.late_fingerprint = true;
    pair.client.set_remote_fingerprint(pair.server_fp);
    pair.pump();
    assert!(pair.client_connected.is_some());
    let mut out = [0u8; 60];
    assert_eq!(
        pair.server
            .export_keying_material(b"EXTRACTOR-dtls_srtp", None, &mut out),
        None,
        "the handshake is complete but the server has no fingerprint to check yet"
    );
    pair.server.set_remote_fingerprint(pair.client_fp);
    pair.pump();
    assert!(pair.server_connected.is_some());
    assert_eq!(
        pair.server
            .export_keying_material(b"EXTRACTOR-dtls_srtp", None, &mut out),
        Some(())
    );
    let expected = pair.server_connected.clone().unwrap().2;
    assert_eq!(&out[..expected.as_bytes().len()], expected.as_bytes());
    pair.server.close(pair.now);
    assert_eq!(
        pair.server
            .export_keying_material(b"EXTRACTOR-dtls_srtp", None, &mut out),
        None,
        "closed"
    );
}

/// A mismatching fingerprint closes the endpoint and the exporter says nothing.
#[test]
fn exporter_is_silent_after_a_fingerprint_mismatch() {
    let mut pair = Pair::new(41, |c| c);
    pair.late_fingerprint = true;
    pair.client.set_remote_fingerprint(pair.server_fp);
    pair.pump();
    pair.server
        .set_remote_fingerprint(cert(97).fingerprint(HashAlgorithm::Sha256));
    let mut out = [0u8; 16];
    assert_eq!(
        pair.server.export_keying_material(b"x", None, &mut out),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Lengths from outside.

#[test]
fn fingerprint_new_refuses_a_digest_of_the_wrong_length() {
    for alg in [
        HashAlgorithm::Sha1,
        HashAlgorithm::Sha256,
        HashAlgorithm::Sha384,
        HashAlgorithm::Sha512,
    ] {
        for len in [0, alg.len() - 1, alg.len() + 1, 65, 200] {
            assert_eq!(Fingerprint::new(alg, &vec![7; len]), None, "{alg:?} {len}");
        }
        let fp = Fingerprint::new(alg, &vec![7; alg.len()]).unwrap();
        assert_eq!(fp.digest(), &vec![7; alg.len()][..]);
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Garbage before the cookie, and reassembly slots.

/// With cookies on, nothing unauthenticated ends the server: a ClientHello that does not
/// parse, or one with a version we cannot speak, is dropped without an alert, and a good
/// client connects afterwards.
#[test]
fn garbage_client_hello_with_cookies_is_dropped_silently() {
    let mut pair = Pair::new(42, |c| c.with_cookies(true));
    let garbage: Vec<Vec<u8>> = vec![
        message_record(HandshakeType::CLIENT_HELLO, 0, &[1, 2, 3, 4, 5], 0),
        message_record(HandshakeType::CLIENT_HELLO, 0, &[0xfe; 300], 1),
        message_record(HandshakeType::CLIENT_HELLO, 1, &[], 2),
    ];
    for mut g in garbage {
        pair.server.handle_packet(pair.now, &mut g);
        assert!(transmit_all(&mut pair.server).is_empty(), "no answer");
        assert_eq!(closed_reason(&mut pair.server), None);
    }
    assert_eq!(pair.server.stats().dropped_hellos, 3);
    // Hellos that parse but that we would refuse (a version we do not speak, no EMS) get a
    // HelloVerifyRequest like any other: they are judged once the cookie comes back.
    let good = first_client_hello(1);
    let mut bad_version = good.clone();
    bad_version.version = 0xFEFF; // DTLS 1.0 only: versions count down
    let mut no_ems = good.clone();
    no_ems
        .extensions
        .retain(|e| e.0 != ExtensionType::EXTENDED_MASTER_SECRET.0);
    for hello in [bad_version, no_ems] {
        let (out, closed) = offer(&mut pair.server, &hello, 0);
        assert_eq!(closed, None);
        assert_eq!(out.len(), 1);
        assert_eq!(
            first_message(&out[0]).0,
            HandshakeType::HELLO_VERIFY_REQUEST
        );
    }
    assert!(!pair.server.is_closed());
    pair.run_until_connected();
}

/// A forged first fragment of the ClientHello (another length) cannot keep the genuine
/// ClientHello out: before a ClientHello is accepted the server keeps no state, and a
/// ClientHello fragment that disagrees with the slot starts the slot over.
#[test]
fn forged_client_hello_fragment_cannot_poison_the_slot() {
    // The length of the real ClientHello, for a forgery that agrees on it but not on bytes.
    let real_len = first_client_hello(43).emit().len();
    for cookies in [false, true] {
        for total in [900, real_len] {
            let mut pair = Pair::new(43, |c| c.with_cookies(cookies));
            let mut forged = fragment_record(HandshakeType::CLIENT_HELLO, 0, total, 0, &[0; 10], 0);
            pair.server.handle_packet(pair.now, &mut forged);
            pair.run_until_connected();
        }
    }
}

/// A fragment of a type the server cannot take first (a Certificate where the ClientHello
/// must come) is dropped and counted; it takes no slot.
#[test]
fn fragment_of_an_unexpected_type_takes_no_slot() {
    let mut pair = Pair::new(44, |c| c);
    let mut forged = fragment_record(HandshakeType::CERTIFICATE, 0, 900, 0, &[0; 10], 0);
    pair.server.handle_packet(pair.now, &mut forged);
    assert_eq!(pair.server.stats().dropped_fragments, 1);
    // And on the client, a ClientHello where the ServerHello must come.
    let mut d = transmit_all(&mut pair.client);
    let mut forged = fragment_record(HandshakeType::CLIENT_HELLO, 0, 900, 0, &[0; 10], 0);
    pair.client.handle_packet(pair.now, &mut forged);
    assert_eq!(pair.client.stats().dropped_fragments, 1);
    for d in &mut d {
        pair.server.handle_packet(pair.now, d);
    }
    pair.run_until_connected();
}

// ---------------------------------------------------------------------------------------------
// 4. After the handshake.

/// Whether a datagram carries a ChangeCipherSpec (the server's final flight does).
fn has_ccs(d: &[u8]) -> bool {
    let mut d = d;
    while let Ok(r) = Record::parse(d) {
        if r.content_type() == ContentType::CHANGE_CIPHER_SPEC {
            return true;
        }
        d = &d[r.len()..];
    }
    false
}

/// A pair whose client retransmits every 10 ms for 10 minutes, and whose server's final
/// flight (CCS + Finished) is lost while `lose` says so.
fn lossy_final_flight(seed: u8, lose: std::rc::Rc<std::cell::Cell<bool>>) -> Pair {
    let mut pair = Pair::new(seed, |c| {
        c.with_retransmit(
            std::time::Duration::from_millis(10),
            std::time::Duration::from_millis(10),
        )
        .with_handshake_timeout(std::time::Duration::from_secs(600))
    });
    pair.s2c = Box::new(move |d| {
        if lose.get() && has_ccs(&d) {
            vec![]
        } else {
            vec![d]
        }
    });
    pair
}

/// Fires the timers of both sides `times` times, pumping in between.
fn tick(pair: &mut Pair, times: usize) {
    for _ in 0..times {
        pair.pump();
        let Some(next) = [pair.client.poll_timeout(), pair.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
        else {
            return;
        };
        pair.now = pair.now.max(next);
        pair.client.handle_timeout(pair.now);
        pair.server.handle_timeout(pair.now);
    }
}

/// RFC 6347 §4.2.4: a server whose final flight was lost sends it again when the client's
/// flight 5 comes again, and the client connects.
#[test]
fn a_lost_final_flight_is_sent_again() {
    let lose = std::rc::Rc::new(std::cell::Cell::new(true));
    let mut pair = lossy_final_flight(49, lose.clone());
    tick(&mut pair, 3);
    assert!(pair.server_connected.is_some() && pair.client_connected.is_none());
    lose.set(false);
    tick(&mut pair, 3);
    assert!(pair.client_connected.is_some());
    assert!(pair.server.stats().retransmissions >= 1);
    pair.exchange_app_data();
}

/// ... but a bounded number of times: a client that keeps retransmitting gets at most 8 more
/// copies, not one per retransmission forever.
#[test]
fn server_final_flight_retransmissions_are_bounded() {
    let lose = std::rc::Rc::new(std::cell::Cell::new(true));
    let mut pair = lossy_final_flight(45, lose);
    tick(&mut pair, 60);
    assert!(pair.server_connected.is_some() && pair.client_connected.is_none());
    let client_resends = pair.client.stats().retransmissions;
    assert!(client_resends >= 40, "{client_resends}");
    assert_eq!(pair.server.stats().retransmissions, 8);
}

/// Copies of the client's flight 5 (a replay, not a retransmission: the same record numbers)
/// make the connected server send nothing: its epoch-0 records are unauthenticated and its
/// Finished fails the replay window.
#[test]
fn replayed_flight_5_makes_the_server_send_nothing() {
    let mut pair = Pair::new(50, |c| c);
    let flight5: std::rc::Rc<std::cell::RefCell<Vec<Vec<u8>>>> = Default::default();
    let keep = flight5.clone();
    pair.c2s = Box::new(move |d| {
        keep.borrow_mut().push(d.clone());
        vec![d]
    });
    pair.run_until_connected();
    let flight5: Vec<Vec<u8>> = flight5.borrow()[1..].to_vec();
    let before = pair.server.stats();
    for _ in 0..100 {
        for d in &flight5 {
            pair.server.handle_packet(pair.now, &mut d.clone());
        }
        assert!(transmit_all(&mut pair.server).is_empty());
    }
    assert_eq!(pair.server.stats().retransmissions, before.retransmissions);
    assert!(pair.server.stats().dropped_replayed >= 100);
    assert!(pair.server.is_connected());
    pair.exchange_app_data();
}

// ---------------------------------------------------------------------------------------------
// 5. Hello extensions.

/// RFC 5246 §7.4.1.4: at most one extension of each type; a ClientHello with two is refused
/// with decode_error.
#[test]
fn duplicate_client_hello_extension_is_refused() {
    let mut hello = first_client_hello(2);
    let dup = hello
        .extensions
        .iter()
        .find(|e| e.0 == ExtensionType::SUPPORTED_GROUPS.0)
        .unwrap()
        .clone();
    hello.extensions.push(dup);
    let mut s = server(3, false);
    let (out, closed) = offer(&mut s, &hello, 0);
    assert_eq!(
        closed,
        Some(CloseReason::HandshakeFailed(AlertDescription::DECODE_ERROR))
    );
    assert_eq!(out.len(), 1);
    assert_eq!(plain_alert(&out[0]), Some((2, 50)));
}

/// A ServerHello with a duplicate extension is refused by the client.
#[test]
fn duplicate_server_hello_extension_is_refused() {
    let mut pair = Pair::new(46, |c| c);
    pair.s2c = Box::new(|d| {
        vec![rewrite_server_hello(&d, |ext| {
            let ems = ext
                .iter()
                .find(|e| e.0 == ExtensionType::EXTENDED_MASTER_SECRET.0)
                .unwrap()
                .clone();
            ext.push(ems);
        })]
    });
    pair.pump();
    assert_eq!(
        pair.client_closed,
        Some(CloseReason::HandshakeFailed(AlertDescription::DECODE_ERROR))
    );
}

/// RFC 5746 §3.6: in the initial handshake renegotiation_info must be empty.
#[test]
fn non_empty_renegotiation_info_in_the_initial_client_hello_is_refused() {
    let mut hello = first_client_hello(4);
    hello.set_extension(
        ExtensionType::RENEGOTIATION_INFO,
        &[12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
    );
    let mut s = server(5, false);
    let (out, closed) = offer(&mut s, &hello, 0);
    assert_eq!(
        closed,
        Some(CloseReason::HandshakeFailed(
            AlertDescription::HANDSHAKE_FAILURE
        ))
    );
    assert_eq!(plain_alert(&out[0]), Some((2, 40)));
}

/// Rewrites the ServerHello (the first message of the server's first datagram) with `edit`
/// applied to its extensions; returns a datagram holding only that record.
fn rewrite_server_hello(d: &[u8], edit: impl FnOnce(&mut Vec<(u16, Vec<u8>)>)) -> Vec<u8> {
    let Ok(r) = Record::parse(d) else {
        return d.to_vec();
    };
    if r.content_type() != ContentType::HANDSHAKE || r.epoch() != 0 {
        return d.to_vec();
    }
    let Ok(f) = HandshakeFragment::parse(r.fragment()) else {
        return d.to_vec();
    };
    if f.msg_type() != HandshakeType::SERVER_HELLO {
        return d.to_vec();
    }
    let body = f.body();
    let sh = ServerHello::parse(body).unwrap();
    let mut ext: Vec<(u16, Vec<u8>)> = sh.extensions().map(|(t, b)| (t.0, b.to_vec())).collect();
    edit(&mut ext);
    // version, random, session id, suite, compression: everything before the extensions.
    let fixed = 2 + 32 + 1 + sh.session_id().len() + 2 + 1;
    let mut new_body = body[..fixed].to_vec();
    new_body.extend_from_slice(&emit_extensions(&ext));
    message_record(
        HandshakeType::SERVER_HELLO,
        f.message_seq(),
        &new_body,
        r.sequence(),
    )
}

/// RFC 5764 §4.1.1: a server's use_srtp MKI must be the one the client offered (ours is
/// empty); otherwise the client aborts with illegal_parameter.
#[test]
fn server_use_srtp_mki_must_match_the_offer() {
    let mut pair = Pair::new(47, |c| c);
    pair.s2c = Box::new(|d| {
        vec![rewrite_server_hello(&d, |ext| {
            for e in ext.iter_mut() {
                if e.0 == ExtensionType::USE_SRTP.0 {
                    let mki_len = usize::from(*e.1.last().unwrap());
                    assert_eq!(mki_len, 0);
                    e.1.pop();
                    e.1.extend_from_slice(&[4, 1, 2, 3, 4]);
                }
            }
        })]
    });
    pair.pump();
    assert_eq!(
        pair.client_closed,
        Some(CloseReason::HandshakeFailed(
            AlertDescription::ILLEGAL_PARAMETER
        ))
    );
}

/// A HelloVerifyRequest may carry up to 255 cookie bytes (RFC 6347 §4.2.1, `cookie<0..2^8-1>`):
/// the client echoes all of them.
#[test]
fn a_255_byte_cookie_is_echoed() {
    let mut c = client(6);
    let first = transmit_all(&mut c);
    assert_eq!(first.len(), 1);
    let cookie: Vec<u8> = (0..255u32).map(|i| (i * 7 + 1) as u8).collect();
    let mut body = vec![0xfe, 0xff, 255];
    body.extend_from_slice(&cookie);
    let mut hvr = message_record(HandshakeType::HELLO_VERIFY_REQUEST, 0, &body, 0);
    c.handle_packet(Instant::ZERO, &mut hvr);
    assert_eq!(closed_reason(&mut c), None);
    let second = transmit_all(&mut c);
    assert_eq!(second.len(), 1);
    let (ty, seq, body) = first_message(&second[0]);
    assert_eq!((ty, seq), (HandshakeType::CLIENT_HELLO, 1));
    let ch = ClientHello::parse(&body).unwrap();
    assert_eq!(ch.cookie(), &cookie[..]);
}

// ---------------------------------------------------------------------------------------------
// 6. The server's cookie.

/// RFC 6347 §4.2.1: the cookie is bound to the ClientHello's parameters, not only its random:
/// a cookie earned by one ClientHello does not admit a different one with the same random.
#[test]
fn cookie_is_bound_to_the_client_hello_parameters() {
    let mut s = server(7, true);
    let mut hello = first_client_hello(8);
    let (out, _) = offer(&mut s, &hello, 0);
    let (ty, _, body) = first_message(&out[0]);
    assert_eq!(ty, HandshakeType::HELLO_VERIFY_REQUEST);
    let cookie = body[3..].to_vec();
    hello.cookie = cookie;
    // Same random, other suites (one more, TLS 1.3's TLS_AES_128_GCM_SHA256: a build without
    // the optional suites offers only AES-128-GCM and the SCSV, nothing to take away): a new
    // HelloVerifyRequest, not a ServerHello.
    let mut other = hello.clone();
    other.suites.insert(0, 0x1301);
    let (out, closed) = offer(&mut s, &other, 1);
    assert_eq!(closed, None);
    assert_eq!(
        first_message(&out[0]).0,
        HandshakeType::HELLO_VERIFY_REQUEST
    );
    // Same random, another extension list.
    let mut other = hello.clone();
    other
        .extensions
        .retain(|e| e.0 != ExtensionType::USE_SRTP.0);
    let (out, _) = offer(&mut s, &other, 1);
    assert_eq!(
        first_message(&out[0]).0,
        HandshakeType::HELLO_VERIFY_REQUEST
    );
    // The ClientHello that earned it is admitted.
    let (out, _) = offer(&mut s, &hello, 1);
    assert_eq!(first_message(&out[0]).0, HandshakeType::SERVER_HELLO);
}

/// The cookie secret rotates; a cookie made before one rotation is still good (a client may
/// be between its two ClientHellos), one made before two rotations is not.
#[test]
fn a_cookie_outlives_one_rotation_of_the_secret_but_not_two() {
    for rotations in [0, 1, 2] {
        let mut s = server(9, true);
        let mut hello = first_client_hello(10);
        let (out, _) = offer(&mut s, &hello, 0);
        let (ty, _, body) = first_message(&out[0]);
        assert_eq!(ty, HandshakeType::HELLO_VERIFY_REQUEST);
        hello.cookie = body[3..].to_vec();
        for _ in 0..rotations {
            s.rotate_cookie_secret();
        }
        let (out, closed) = offer(&mut s, &hello, 1);
        assert_eq!(closed, None);
        let (ty, _, body) = first_message(&out[0]);
        if rotations < 2 {
            assert_eq!(ty, HandshakeType::SERVER_HELLO, "{rotations} rotations");
        } else {
            assert_eq!(ty, HandshakeType::HELLO_VERIFY_REQUEST);
            assert_ne!(
                &body[3..],
                &hello.cookie[..],
                "a cookie under the new secret"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. What this build leaves out: the suites and the group behind the features `aes-256-gcm`,
// `chacha20-poly1305` and `x25519` (firmware builds without them). A left-out one is neither
// offered nor accepted; with its feature, it is both.

/// The optional suites and group, each with whether this build implements it.
fn optional_suites() -> [(CipherSuite, bool); 4] {
    let (aes256, chacha, rsa) = (
        cfg!(feature = "aes-256-gcm"),
        cfg!(feature = "chacha20-poly1305"),
        cfg!(feature = "rsa"),
    );
    [
        (CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384, aes256),
        (CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256, chacha),
        (CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384, aes256 && rsa),
        (
            CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256,
            chacha && rsa,
        ),
    ]
}

/// A default client offers exactly what the build implements: AES-128-GCM and secp256r1
/// always, the optional suites and x25519 only with their features.
#[test]
fn a_client_offers_only_the_suites_and_groups_this_build_implements() {
    let hello = first_client_hello(60);
    let offered: Vec<u16> = hello
        .suites
        .iter()
        .copied()
        .filter(|&s| s != CipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV.0)
        .collect();
    let built: Vec<u16> = ALL_CIPHER_SUITES.iter().map(|s| s.0).collect();
    assert_eq!(offered, built);
    assert!(offered.contains(&CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256.0));
    for (suite, built) in optional_suites() {
        assert_eq!(offered.contains(&suite.0), built, "{suite:?}");
    }
    let groups = &hello
        .extensions
        .iter()
        .find(|e| e.0 == ExtensionType::SUPPORTED_GROUPS.0)
        .unwrap()
        .1;
    let groups: Vec<u16> = groups[2..]
        .chunks(2)
        .map(|g| u16::from_be_bytes([g[0], g[1]]))
        .collect();
    let expected: &[u16] = if cfg!(feature = "x25519") {
        &[29, 23]
    } else {
        &[23]
    };
    assert_eq!(groups, expected);
    // And a configured list cannot name a left-out one.
    let config = || Config::new(Role::Client, cert(60), [60; 32]);
    for (suite, built) in optional_suites() {
        let refused = config().with_cipher_suites(&[suite]).err();
        assert_eq!(refused, (!built).then_some(ListError::Unknown(suite.0)));
    }
    let refused = config().with_groups(&[NamedGroup::X25519]).err();
    assert_eq!(
        refused,
        (!cfg!(feature = "x25519")).then_some(ListError::Unknown(29))
    );
}

/// A server given a ClientHello that offers only a left-out suite, or only a left-out group,
/// ends the handshake with handshake_failure; with the feature, it picks that suite or group.
#[test]
fn a_server_accepts_an_optional_suite_or_group_only_when_built() {
    for (suite, built) in optional_suites()
        .into_iter()
        .filter(|(s, _)| *s != CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384)
        .filter(|(s, _)| *s != CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256)
    {
        let mut hello = first_client_hello(61);
        hello.suites = vec![suite.0];
        let mut s = server(62, false);
        let (out, closed) = offer(&mut s, &hello, 0);
        if built {
            assert_eq!(closed, None, "{suite:?}");
            let (ty, _, body) = first_message(&out[0]);
            assert_eq!(ty, HandshakeType::SERVER_HELLO);
            assert_eq!(ServerHello::parse(&body).unwrap().cipher_suite(), suite);
        } else {
            assert_eq!(
                closed,
                Some(CloseReason::HandshakeFailed(
                    AlertDescription::HANDSHAKE_FAILURE
                )),
                "{suite:?}"
            );
            assert_eq!(plain_alert(&out[0]), Some((2, 40)));
        }
    }
    // supported_groups naming x25519 alone.
    let mut hello = first_client_hello(63);
    hello.set_extension(ExtensionType::SUPPORTED_GROUPS, &[0, 2, 0, 29]);
    let mut s = server(64, false);
    let (out, closed) = offer(&mut s, &hello, 0);
    if cfg!(feature = "x25519") {
        assert_eq!(closed, None);
        assert_eq!(first_message(&out[0]).0, HandshakeType::SERVER_HELLO);
    } else {
        assert_eq!(
            closed,
            Some(CloseReason::HandshakeFailed(
                AlertDescription::HANDSHAKE_FAILURE
            ))
        );
        assert_eq!(plain_alert(&out[0]), Some((2, 40)));
    }
}

/// A client refuses a ServerHello that picks a suite it did not offer, as every suite this
/// build leaves out is (here patched into a real ServerHello in place of AES-128-GCM, to a
/// client configured with AES-128-GCM alone, which any build can be): illegal_parameter,
/// before any key is made.
#[test]
fn a_client_refuses_a_server_hello_with_a_suite_it_did_not_offer() {
    for (suite, _) in optional_suites() {
        let mut c = Endpoint::new(
            Config::new(Role::Client, cert(65), [65; 32])
                .with_cipher_suites(&[CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256])
                .unwrap(),
            Instant::ZERO,
        );
        c.connect(Instant::ZERO);
        let hello = transmit_all(&mut c);
        let mut s = server(66, false);
        let mut d = hello[0].clone();
        s.handle_packet(Instant::ZERO, &mut d);
        let flight = transmit_all(&mut s);
        let (ty, seq, mut body) = first_message(&flight[0]);
        assert_eq!(ty, HandshakeType::SERVER_HELLO);
        // version (2), random (32), session id (1 + n): then the suite.
        let at = 2 + 32 + 1 + usize::from(body[34]);
        assert_eq!(
            u16::from_be_bytes([body[at], body[at + 1]]),
            CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256.0
        );
        body[at..at + 2].copy_from_slice(&suite.0.to_be_bytes());
        let mut patched = message_record(HandshakeType::SERVER_HELLO, seq, &body, 1);
        c.handle_packet(Instant::ZERO, &mut patched);
        assert_eq!(
            closed_reason(&mut c),
            Some(CloseReason::HandshakeFailed(
                AlertDescription::ILLEGAL_PARAMETER
            )),
            "{suite:?}"
        );
    }
}

/// A forged epoch-0 Finished cannot take the slot of the real (epoch-1) one.
#[test]
fn forged_plaintext_finished_takes_no_slot() {
    let mut pair = Pair::new(48, |c| c);
    // After the ClientHello (seq 0) the server waits for flight 5: Finished is seq 4.
    let mut forged = fragment_record(HandshakeType::FINISHED, 4, 12, 0, &[0; 6], 99);
    for mut d in transmit_all(&mut pair.client) {
        pair.server.handle_packet(pair.now, &mut d);
    }
    pair.server.handle_packet(pair.now, &mut forged);
    assert_eq!(pair.server.stats().dropped_fragments, 1);
    pair.run_until_connected();
}

/// A forged ClientHello with record sequence number 2^48 - 1 gets a HelloVerifyRequest with
/// that number (RFC 6347 §4.2.1); it must not leave the server's epoch-0 numbers exhausted for
/// the real client that comes back with its cookie right after.
#[test]
fn a_forged_hello_at_the_last_sequence_number_does_not_exhaust_the_server() {
    let mut pair = Pair::new(51, |c| c.with_cookies(true));
    pair.set_fingerprints();
    pair.late_fingerprint = true;
    for mut d in transmit_all(&mut pair.client) {
        pair.server.handle_packet(pair.now, &mut d);
    }
    for mut d in transmit_all(&mut pair.server) {
        pair.client.handle_packet(pair.now, &mut d);
    }
    let second = transmit_all(&mut pair.client);
    let mut forged = message_record(
        HandshakeType::CLIENT_HELLO,
        0,
        &first_client_hello(52).emit(),
        (1 << 48) - 1,
    );
    pair.server.handle_packet(pair.now, &mut forged);
    let hvr = transmit_all(&mut pair.server);
    assert_eq!(Record::parse(&hvr[0]).unwrap().sequence(), (1 << 48) - 1);
    for mut d in second {
        pair.server.handle_packet(pair.now, &mut d);
    }
    pair.run_until_connected();
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: cases(), ..Default::default() })]

    /// With cookies, no unauthenticated ClientHello (any body, whole or in fragments) ends the
    /// server or gets more than a HelloVerifyRequest, and a real client connects afterwards.
    #[test]
    fn nothing_before_the_cookie_ends_a_server(
        bodies in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), 1..6),
        fragment in proptest::prelude::any::<bool>(),
        seed in 0u8..255,
    ) {
        let mut pair = Pair::new(seed, |c| c.with_cookies(true));
        for (i, body) in bodies.iter().enumerate() {
            let mut d = if fragment && body.len() > 2 {
                fragment_record(HandshakeType::CLIENT_HELLO, 0, body.len() + 10, 1, &body[1..], i as u64)
            } else {
                message_record(HandshakeType::CLIENT_HELLO, i as u16 % 2, body, i as u64)
            };
            pair.server.handle_packet(pair.now, &mut d);
            for out in transmit_all(&mut pair.server) {
                proptest::prop_assert_eq!(first_message(&out).0, HandshakeType::HELLO_VERIFY_REQUEST);
            }
            proptest::prop_assert_eq!(closed_reason(&mut pair.server), None);
        }
        pair.run_until_connected();
    }
}
