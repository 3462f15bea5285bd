//! What must fail, fails the right way; what must be dropped, is dropped and counted.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::*;
use peerless_dtls::wire::{ContentType, HandshakeFragment, HandshakeType, Record};
use peerless_dtls::*;

/// Offsets (in the datagram) of the bodies of handshake fragments of type `ty` in epoch 0.
fn find_fragment(d: &[u8], ty: HandshakeType) -> Option<(usize, usize)> {
    let mut pos = 0;
    while let Ok(r) = Record::parse(&d[pos..]) {
        if r.content_type() == ContentType::HANDSHAKE && r.epoch() == 0 {
            let mut off = pos + 13;
            while let Ok(f) = HandshakeFragment::parse(&d[off..pos + r.len()]) {
                if f.msg_type() == ty {
                    return Some((off + 12, f.body().len()));
                }
                off += f.wire_len();
            }
        }
        pos += r.len();
    }
    None
}

#[test]
fn wrong_fingerprint_closes_both_sides() {
    let mut pair = Pair::new(10, |c| c);
    pair.late_fingerprint = true;
    pair.client.set_remote_fingerprint(pair.server_fp);
    // The server expects some other certificate.
    pair.server
        .set_remote_fingerprint(cert(99).fingerprint(HashAlgorithm::Sha256));
    pair.pump();
    assert_eq!(pair.server_closed, Some(CloseReason::FingerprintMismatch));
    assert_eq!(
        pair.client_closed,
        Some(CloseReason::PeerAlert(AlertDescription::BAD_CERTIFICATE))
    );
    assert!(pair.client_connected.is_none() && pair.server_connected.is_none());
}

#[test]
fn fingerprint_arriving_after_the_handshake_is_still_checked() {
    let mut pair = Pair::new(11, |c| c);
    pair.late_fingerprint = true;
    pair.client.set_remote_fingerprint(pair.server_fp);
    pair.pump();
    assert!(pair.client_connected.is_some());
    assert!(
        pair.server_connected.is_none(),
        "Connected waits for the fingerprint"
    );
    assert_eq!(pair.server.send(b"x"), Err(SendError::NotConnected));
    pair.server
        .set_remote_fingerprint(cert(98).fingerprint(HashAlgorithm::Sha384));
    pair.pump();
    assert_eq!(pair.server_closed, Some(CloseReason::FingerprintMismatch));
}

#[test]
fn sha512_fingerprint_is_accepted() {
    let mut pair = Pair::new(12, |c| c);
    pair.late_fingerprint = true;
    let server_der_fp = pair.server_fp;
    assert_eq!(server_der_fp.algorithm(), HashAlgorithm::Sha256);
    pair.client.set_remote_fingerprint(server_der_fp);
    pair.server.set_remote_fingerprint(pair.client_fp);
    pair.pump();
    assert!(pair.server_connected.is_some());
    let fp512 = pair.client.peer_fingerprint(HashAlgorithm::Sha512).unwrap();
    assert_eq!(fp512.digest().len(), 64);
}

#[test]
fn bad_certificate_verify_signature_is_fatal() {
    let mut pair = Pair::new(13, |c| c);
    pair.c2s = Box::new(|mut d| {
        if let Some((at, len)) = find_fragment(&d, HandshakeType::CERTIFICATE_VERIFY) {
            d[at + len - 3] ^= 0x01; // inside the DER signature's s
        }
        vec![d]
    });
    pair.pump();
    assert_eq!(
        pair.server_closed,
        Some(CloseReason::HandshakeFailed(
            AlertDescription::DECRYPT_ERROR
        ))
    );
    assert_eq!(
        pair.client_closed,
        Some(CloseReason::PeerAlert(AlertDescription::DECRYPT_ERROR))
    );
}

#[test]
fn bad_server_key_exchange_signature_is_fatal() {
    let mut pair = Pair::new(14, |c| c);
    pair.s2c = Box::new(|mut d| {
        if let Some((at, len)) = find_fragment(&d, HandshakeType::SERVER_KEY_EXCHANGE) {
            d[at + len - 2] ^= 0x40;
        }
        vec![d]
    });
    pair.pump();
    assert_eq!(
        pair.client_closed,
        Some(CloseReason::HandshakeFailed(
            AlertDescription::DECRYPT_ERROR
        ))
    );
}

#[test]
fn tampered_finished_record_is_dropped_and_the_retransmission_completes() {
    let mut pair = Pair::new(15, |c| c);
    let mut tampered = false;
    pair.c2s = Box::new(move |mut d| {
        // The client's Finished is the epoch-1 record of flight 5: flip a ciphertext bit once.
        let mut pos = 0;
        while let Ok((epoch, len)) = Record::parse(&d[pos..]).map(|r| (r.epoch(), r.len())) {
            if epoch == 1 && !tampered {
                d[pos + len - 20] ^= 0x80;
                tampered = true;
            }
            pos += len;
        }
        vec![d]
    });
    pair.pump();
    assert!(pair.server_connected.is_none());
    assert_eq!(pair.server.stats().dropped_decrypt, 1);
    pair.run_until_connected();
    assert!(pair.client.stats().retransmissions >= 1);
    pair.exchange_app_data();
}

// A build without ChaCha20-Poly1305 has no second ECDSA suite to configure apart from
// AES-128-GCM; hostile_peer.rs shows its server refusing a ClientHello that offers only a
// left-out suite the same way.
#[cfg(feature = "chacha20-poly1305")]
#[test]
fn no_shared_cipher_suite_fails_with_handshake_failure() {
    let mut pair = Pair::new(16, |c| c);
    let sc = cert(40);
    pair.server = Endpoint::new(
        Config::new(Role::Server, sc, [9; 32])
            .with_cipher_suites(&[CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256])
            .unwrap(),
        pair.now,
    );
    pair.client = Endpoint::new(
        Config::new(Role::Client, cert(41), [8; 32])
            .with_cipher_suites(&[CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256])
            .unwrap(),
        pair.now,
    );
    pair.client.connect(pair.now);
    pair.pump();
    assert_eq!(
        pair.server_closed,
        Some(CloseReason::HandshakeFailed(
            AlertDescription::HANDSHAKE_FAILURE
        ))
    );
    assert_eq!(
        pair.client_closed,
        Some(CloseReason::PeerAlert(AlertDescription::HANDSHAKE_FAILURE))
    );
}

/// A client that allows only x25519 still names secp256r1 in supported_groups (the curve of
/// its ECDSA certificate, RFC 8422 §5.1.1), so a server may pick it for ECDHE: the client
/// refuses that ServerKeyExchange, as its configured list says, instead of running it.
#[cfg(feature = "x25519")]
#[test]
fn a_client_pinned_to_x25519_refuses_a_server_that_picks_secp256r1() {
    let mut pair = Pair::new(18, |c| c);
    pair.server = Endpoint::new(
        Config::new(Role::Server, cert(42), [9; 32])
            .with_groups(&[NamedGroup::SECP256R1])
            .unwrap(),
        pair.now,
    );
    pair.client = Endpoint::new(
        Config::new(Role::Client, cert(43), [8; 32])
            .with_groups(&[NamedGroup::X25519])
            .unwrap(),
        pair.now,
    );
    pair.client_fp = cert(43).fingerprint(HashAlgorithm::Sha256);
    pair.server_fp = cert(42).fingerprint(HashAlgorithm::Sha256);
    pair.client.connect(pair.now);
    pair.pump();
    assert_eq!(
        pair.client_closed,
        Some(CloseReason::HandshakeFailed(
            AlertDescription::ILLEGAL_PARAMETER
        ))
    );
    assert!(pair.server_connected.is_none());
}

/// Lists are checked when configured: empty, unknown and repeated code points are refused.
#[test]
fn suite_and_group_lists_refuse_empty_unknown_and_repeated_entries() {
    let cfg = || Config::new(Role::Client, cert(44), [1; 32]);
    assert_eq!(cfg().with_cipher_suites(&[]).err(), Some(ListError::Empty));
    assert_eq!(cfg().with_groups(&[]).err(), Some(ListError::Empty));
    // TLS 1.3's TLS_AES_128_GCM_SHA256, the renegotiation SCSV and secp384r1: not ours.
    assert_eq!(
        cfg().with_cipher_suites(&[CipherSuite(0x1301)]).err(),
        Some(ListError::Unknown(0x1301))
    );
    assert_eq!(
        CipherSuites::new(&[
            CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256,
            CipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV
        ]),
        Err(ListError::Unknown(0x00ff))
    );
    assert_eq!(
        cfg().with_groups(&[NamedGroup(24)]).err(),
        Some(ListError::Unknown(24))
    );
    assert_eq!(
        NamedGroups::new(&[NamedGroup::SECP256R1, NamedGroup::SECP256R1]),
        Err(ListError::Repeated(23))
    );
    #[cfg(feature = "x25519")]
    assert_eq!(
        NamedGroups::new(&[
            NamedGroup::X25519,
            NamedGroup::SECP256R1,
            NamedGroup::X25519
        ]),
        Err(ListError::Repeated(29))
    );
    #[cfg(not(feature = "rsa"))]
    assert_eq!(
        CipherSuites::new(&[CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256]),
        Err(ListError::Unknown(0xc02f))
    );
    // The full lists are the defaults, and a reordered one keeps its order.
    assert_eq!(*cfg().cipher_suites, *ALL_CIPHER_SUITES);
    assert_eq!(*cfg().groups, *ALL_GROUPS);
    assert_eq!(CipherSuites::new(ALL_CIPHER_SUITES), Ok(CipherSuites::ALL));
    #[cfg(feature = "x25519")]
    {
        let list = NamedGroups::new(&[NamedGroup::SECP256R1, NamedGroup::X25519]).unwrap();
        assert_eq!(*list, [NamedGroup::SECP256R1, NamedGroup::X25519]);
        assert_eq!(format!("{list:?}"), "[NamedGroup(23), NamedGroup(29)]");
    }
    let list = CipherSuites::new(&[CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256]).unwrap();
    assert_eq!(format!("{list:?}"), "[CipherSuite(49195)]");
}

#[test]
fn replayed_and_corrupted_records_are_dropped_and_counted() {
    let mut pair = Pair::new(17, |c| c);
    pair.run_until_connected();
    pair.client.send(b"once").unwrap();
    let mut buf = [0u8; 1500];
    let datagram = pair
        .client
        .poll_transmit(&mut buf)
        .unwrap()
        .unwrap()
        .to_vec();
    for _ in 0..3 {
        pair.server.handle_packet(pair.now, &mut datagram.clone());
    }
    let mut corrupted = datagram.clone();
    corrupted[20] ^= 0xff;
    corrupted[10] = corrupted[10].wrapping_add(1); // and a fresh sequence number
    pair.server.handle_packet(pair.now, &mut corrupted);
    pair.pump();
    assert_eq!(pair.server_data, vec![b"once".to_vec()]);
    let st = pair.server.stats();
    assert_eq!(st.dropped_replayed, 2);
    assert_eq!(st.dropped_decrypt, 1);
    // Garbage never panics and is counted.
    pair.server
        .handle_packet(pair.now, &mut [23, 0xfe, 0xfd, 0, 1, 0, 0]);
    assert_eq!(pair.server.stats().dropped_malformed, 1);
    pair.exchange_app_data();
}

#[test]
fn replay_window_accepts_late_records_within_64() {
    let mut pair = Pair::new(18, |c| c);
    pair.run_until_connected();
    let mut buf = [0u8; 1500];
    let mut datagrams = Vec::new();
    for i in 0..80u32 {
        pair.client.send(&i.to_be_bytes()).unwrap();
        datagrams.push(
            pair.client
                .poll_transmit(&mut buf)
                .unwrap()
                .unwrap()
                .to_vec(),
        );
    }
    // Deliver the newest first, then the rest oldest first: those 64 or more behind are dropped.
    pair.server
        .handle_packet(pair.now, &mut datagrams[79].clone());
    for d in &datagrams[..79] {
        pair.server.handle_packet(pair.now, &mut d.clone());
        pair.pump();
    }
    assert_eq!(
        pair.server_data.len(),
        64,
        "the newest and the 63 before it"
    );
    assert_eq!(pair.server.stats().dropped_replayed, 16);
}

#[test]
fn client_hello_split_across_three_datagrams_out_of_order() {
    let mut pair = Pair::new(19, |c| c);
    // A small MTU on the client splits its ClientHello over exactly three datagrams...
    pair.client = Endpoint::new(
        Config::new(Role::Client, cert(50), [5; 32]).with_mtu(64),
        pair.now,
    );
    pair.client.connect(pair.now);
    pair.client_fp = cert(50).fingerprint(HashAlgorithm::Sha256);
    pair.set_fingerprints();
    let mut buf = [0u8; 1500];
    let mut first = Vec::new();
    while let Some(t) = pair.client.poll_transmit(&mut buf).unwrap() {
        first.push(t.to_vec());
    }
    assert_eq!(first.len(), 3);
    // ...delivered last, first, middle.
    for i in [2, 0, 1] {
        pair.server.handle_packet(pair.now, &mut first[i].clone());
    }
    pair.run_until_connected();
    assert_eq!(pair.server.stats().retransmissions, 0);
    assert_eq!(pair.client.stats().retransmissions, 0);
    pair.exchange_app_data();
}

/// A ClientHello as a DTLS 1.3-capable browser sends it: supported_versions with 1.3 and 1.2,
/// a large post-quantum key share, unknown groups, suites and extensions, over several
/// fragments. A 1.2 server must answer with a plain DTLS 1.2 ServerHello.
#[test]
fn dtls13_style_client_hello_negotiates_1_2() {
    let mut body = Vec::new();
    body.extend_from_slice(&[0xfe, 0xfd]);
    body.extend_from_slice(&[0x42; 32]);
    body.push(0); // session id
    body.push(0); // cookie
    let suites: [u16; 6] = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0x00ff];
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    suites
        .iter()
        .for_each(|s| body.extend_from_slice(&s.to_be_bytes()));
    body.extend_from_slice(&[1, 0]);
    let mut ext = Vec::new();
    let mut push_ext = |ty: u16, data: &[u8]| {
        ext.extend_from_slice(&ty.to_be_bytes());
        ext.extend_from_slice(&(data.len() as u16).to_be_bytes());
        ext.extend_from_slice(data);
    };
    push_ext(0x0000, b"\x00\x0c\x00\x00\x09localhost"); // server_name
    push_ext(
        0x000a,
        &[0, 8, 0x11, 0xec, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18],
    ); // X25519MLKEM768, x25519, p256, p384
    push_ext(0x000b, &[1, 0]);
    push_ext(0x000d, &[0, 6, 0x04, 0x03, 0x08, 0x04, 0x05, 0x03]);
    push_ext(0x000e, &[0, 4, 0, 7, 0, 1, 0]);
    push_ext(0x0017, &[]);
    push_ext(0xff01, &[0]);
    push_ext(0x002b, &[4, 0xfe, 0xfc, 0xfe, 0xfd]); // supported_versions: DTLS 1.3, 1.2
    let mut ks = Vec::new();
    ks.extend_from_slice(&[0x11, 0xec]);
    ks.extend_from_slice(&1216u16.to_be_bytes());
    ks.extend_from_slice(&[0x33; 1216]);
    ks.extend_from_slice(&[0x00, 0x1d, 0x00, 0x20]);
    ks.extend_from_slice(&[0x44; 32]);
    let mut ks_ext = (ks.len() as u16).to_be_bytes().to_vec();
    ks_ext.extend_from_slice(&ks);
    push_ext(0x0033, &ks_ext); // key_share
    push_ext(0xfe0d, &[0x55; 40]); // an unknown extension (ECH-like)
    push_ext(0x002d, &[1, 1]); // psk_key_exchange_modes
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    assert!(body.len() > 1400);

    let mut server =
        Endpoint::<4096, 4096>::new(Config::new(Role::Server, cert(60), [6; 32]), pair_now());
    // Fragments of 500 bytes, one record per datagram, delivered in reverse order.
    let mut datagrams = Vec::new();
    for (i, chunk) in body.chunks(500).enumerate() {
        let mut rec = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, i as u8];
        rec.extend_from_slice(&((12 + chunk.len()) as u16).to_be_bytes());
        rec.push(1);
        rec.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        rec.extend_from_slice(&[0, 0]);
        rec.extend_from_slice(&((i * 500) as u32).to_be_bytes()[1..]);
        rec.extend_from_slice(&(chunk.len() as u32).to_be_bytes()[1..]);
        rec.extend_from_slice(chunk);
        datagrams.push(rec);
    }
    assert!(datagrams.len() >= 3);
    for d in datagrams.iter_mut().rev() {
        server.handle_packet(pair_now(), d);
    }
    let mut buf = [0u8; 1500];
    let reply = server
        .poll_transmit(&mut buf)
        .unwrap()
        .expect("a ServerHello");
    let rec = Record::parse(reply).unwrap();
    let f = HandshakeFragment::parse(rec.fragment()).unwrap();
    assert_eq!(f.msg_type(), HandshakeType::SERVER_HELLO);
    let sh = peerless_dtls::wire::ServerHello::parse(f.body()).unwrap();
    assert_eq!(sh.version(), peerless_dtls::wire::ProtocolVersion::DTLS_1_2);
    assert_eq!(
        sh.cipher_suite(),
        CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256
    );
    assert!(
        sh.extension(peerless_dtls::wire::ExtensionType::SUPPORTED_VERSIONS)
            .is_none()
    );
    assert!(
        sh.extension(peerless_dtls::wire::ExtensionType::EXTENDED_MASTER_SECRET)
            .is_some()
    );
    assert!(!server.is_closed());
}

fn pair_now() -> peerless_base::Instant {
    peerless_base::Instant::from_secs(1)
}

#[test]
fn client_hello_without_extended_master_secret_is_refused() {
    let mut server =
        Endpoint::<4096, 4096>::new(Config::new(Role::Server, cert(61), [6; 32]), pair_now());
    let mut body = vec![0xfe, 0xfd];
    body.extend_from_slice(&[1; 32]);
    body.extend_from_slice(&[0, 0, 0, 2, 0xc0, 0x2b, 1, 0]);
    let mut rec = vec![22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0];
    rec.extend_from_slice(&((12 + body.len()) as u16).to_be_bytes());
    rec.push(1);
    rec.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    rec.extend_from_slice(&[0, 0, 0, 0, 0]);
    rec.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    rec.extend_from_slice(&body);
    server.handle_packet(pair_now(), &mut rec);
    assert!(server.is_closed());
    assert_eq!(
        server.poll_event(),
        Some(Event::Closed(CloseReason::HandshakeFailed(
            AlertDescription::HANDSHAKE_FAILURE
        )))
    );
    let mut buf = [0u8; 100];
    let alert = server.poll_transmit(&mut buf).unwrap().unwrap();
    assert_eq!(alert[0], 21);
    assert_eq!(&alert[13..], &[2, 40]);
}

#[test]
fn handshake_times_out_without_a_peer() {
    let mut client = Endpoint::<4096, 4096>::new(
        Config::new(Role::Client, cert(62), [1; 32])
            .with_handshake_timeout(core::time::Duration::from_secs(10)),
        pair_now(),
    );
    client.connect(pair_now());
    let mut buf = [0u8; 1500];
    let mut sent = 0;
    for _ in 0..20 {
        while client.poll_transmit(&mut buf).unwrap().is_some() {
            sent += 1;
        }
        let Some(t) = client.poll_timeout() else {
            break;
        };
        client.handle_timeout(t);
    }
    assert!(
        sent >= 3,
        "the ClientHello was retransmitted with backoff: {sent}"
    );
    assert_eq!(
        client.poll_event(),
        Some(Event::Closed(CloseReason::HandshakeTimeout))
    );
}

/// The client's Finished (epoch 1) overtakes the rest of flight 5: the server cannot decrypt
/// it yet, keeps it, and uses it once ClientKeyExchange gives it the keys.
#[test]
fn early_next_epoch_record_is_kept_not_dropped() {
    let mut pair = Pair::new(20, |c| c);
    pair.c2s = Box::new(|d| {
        let mut records = Vec::new();
        let mut pos = 0;
        while let Ok(r) = Record::parse(&d[pos..]) {
            records.push((r.epoch(), d[pos..pos + r.len()].to_vec()));
            pos += r.len();
        }
        if !records.iter().any(|(e, _)| *e == 1) {
            return vec![d];
        }
        // Epoch-1 records first, each record its own datagram.
        records.sort_by_key(|(e, _)| std::cmp::Reverse(*e));
        records.into_iter().map(|(_, r)| r).collect()
    });
    pair.run_until_connected();
    assert_eq!(pair.client.stats().retransmissions, 0);
    assert_eq!(pair.server.stats().dropped_unexpected, 0);
    pair.exchange_app_data();
}
