//! In-memory handshakes between two endpoints: every suite, group and SRTP profile, both roles.

mod common;

use common::*;
use peerless_dtls::*;

#[test]
fn every_suite_group_and_profile_connects_and_exports_equal_keys() {
    // Both ends here have ECDSA certificates: the ECDHE_RSA suites (client side only, for RSA
    // servers) are shown against OpenSSL and GnuTLS by scripts/interop, and refused by
    // tests/rsa_peer.rs when a client offers nothing else.
    let rsa = [
        CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256,
        CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384,
        CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256,
    ];
    let ecdsa = ALL_CIPHER_SUITES.iter().filter(|s| !rsa.contains(s));
    // AES-128-GCM always, the other two with their features (firmware builds leave them out).
    let optional = usize::from(cfg!(feature = "aes-256-gcm"))
        + usize::from(cfg!(feature = "chacha20-poly1305"));
    assert_eq!(ecdsa.clone().count(), 1 + optional);
    assert_eq!(ALL_GROUPS.len(), 1 + usize::from(cfg!(feature = "x25519")));
    for (i, suite) in ecdsa.enumerate() {
        for (j, group) in ALL_GROUPS.iter().enumerate() {
            for (k, profile) in ALL_SRTP_PROFILES.iter().enumerate() {
                let seed = (i * 100 + j * 10 + k) as u8;
                let mut pair = Pair::new(seed, |c| {
                    c.with_cipher_suites(std::slice::from_ref(suite))
                        .unwrap()
                        .with_groups(std::slice::from_ref(group))
                        .unwrap()
                        .with_srtp_profiles(std::slice::from_ref(profile))
                });
                pair.run_until_connected();
                let (a, b) = (
                    pair.client_connected.clone().unwrap(),
                    pair.server_connected.clone().unwrap(),
                );
                assert_eq!(a.0, *suite);
                assert_eq!(a.1, Some(*profile));
                assert_eq!(a, b);
                let (klen, slen) = profile.key_salt_len().unwrap();
                assert_eq!(a.2.as_bytes().len(), 2 * (klen + slen));
                assert_eq!(a.2.client_key().len(), klen);
                assert_eq!(a.2.server_salt().len(), slen);
                pair.exchange_app_data();
            }
        }
    }
}

#[test]
fn exporter_matches_on_both_sides() {
    let mut pair = Pair::new(1, |c| c);
    pair.run_until_connected();
    let mut a = [0u8; 40];
    let mut b = [0u8; 40];
    pair.client
        .export_keying_material(b"EXPERIMENTAL-x", Some(b"ctx"), &mut a)
        .unwrap();
    pair.server
        .export_keying_material(b"EXPERIMENTAL-x", Some(b"ctx"), &mut b)
        .unwrap();
    assert_eq!(a, b);
    let mut c = [0u8; 40];
    pair.server
        .export_keying_material(b"EXPERIMENTAL-x", None, &mut c)
        .unwrap();
    assert_ne!(a, c);
}

#[test]
fn close_notify_reaches_the_peer() {
    let mut pair = Pair::new(2, |c| c);
    pair.run_until_connected();
    pair.client.close(pair.now);
    pair.pump();
    assert_eq!(pair.client_closed, Some(CloseReason::LocalClose));
    assert_eq!(pair.server_closed, Some(CloseReason::PeerClosed));
    assert_eq!(pair.server.send(b"x"), Err(SendError::Closed));
}

#[test]
fn cookies_and_late_fingerprint() {
    let mut pair = Pair::new(3, |c| c.with_cookies(true));
    pair.late_fingerprint = true;
    pair.pump();
    assert!(
        pair.client_connected.is_none(),
        "no Connected before the fingerprint is known"
    );
    pair.set_fingerprints();
    pair.pump();
    assert!(pair.client_connected.is_some() && pair.server_connected.is_some());
    pair.exchange_app_data();
}

#[test]
fn endpoint_size_is_documented() {
    let size = core::mem::size_of::<Endpoint>();
    println!("size_of::<Endpoint>() = {size} bytes (RX = TX = 4096)");
    println!(
        "size_of::<Endpoint<2048, 2048>>() = {} bytes",
        core::mem::size_of::<Endpoint<2048, 2048>>()
    );
    assert!(size < 16 * 1024, "{size}");
}

#[test]
fn server_waits_for_a_late_client_and_its_clock_starts_at_the_client_hello() {
    let mut pair = Pair::new(4, |c| {
        c.with_handshake_timeout(core::time::Duration::from_secs(5))
    });
    // The server was created long before the client shows up (ICE took a while).
    pair.now = peerless_base::Instant::from_secs(100);
    pair.client = Endpoint::new(
        Config::new(Role::Client, cert(8), [4; 32])
            .with_handshake_timeout(core::time::Duration::from_secs(5)),
        pair.now,
    );
    pair.client.connect(pair.now);
    pair.client_fp = cert(8).fingerprint(HashAlgorithm::Sha256);
    // Lose the client's first flight 5 so the server's retransmission timer must run.
    let mut dropped = false;
    pair.c2s = Box::new(move |d| {
        if !dropped && d.first() == Some(&22) && d.len() > 300 {
            dropped = true;
            return Vec::new();
        }
        vec![d]
    });
    pair.run_until_connected();
    assert!(pair.server.stats().retransmissions >= 1 || pair.client.stats().retransmissions >= 1);
}

#[test]
fn lost_hello_verify_request_is_answered_again() {
    let mut pair = Pair::new(5, |c| c.with_cookies(true));
    let mut dropped = false;
    pair.s2c = Box::new(move |d| {
        // The first server datagram is the HelloVerifyRequest: lose it.
        if !dropped {
            dropped = true;
            return Vec::new();
        }
        vec![d]
    });
    pair.run_until_connected();
    assert!(pair.client.stats().retransmissions >= 1);
    pair.exchange_app_data();
}

#[test]
fn the_server_preference_picks_the_srtp_profile_and_suite() {
    // The suite the server prefers over AES-128-GCM: whichever optional one this build has
    // (a build with neither shows the SRTP profile's preference only).
    let other = [
        CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
        CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384,
    ]
    .into_iter()
    .find(|s| ALL_CIPHER_SUITES.contains(s))
    .unwrap_or(CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256);
    let aes128 = CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256;
    let mut client_suites = vec![aes128, other];
    client_suites.dedup();
    let mut server_suites = vec![other, aes128];
    server_suites.dedup();
    let mut pair = Pair::new(6, |c| c);
    pair.client = Endpoint::new(
        Config::new(Role::Client, cert(20), [1; 32])
            .with_srtp_profiles(&[
                SrtpProfile::AES128_CM_HMAC_SHA1_80,
                SrtpProfile::AEAD_AES_256_GCM,
            ])
            .with_cipher_suites(&client_suites)
            .unwrap(),
        pair.now,
    );
    pair.client.connect(pair.now);
    pair.client_fp = cert(20).fingerprint(HashAlgorithm::Sha256);
    pair.server = Endpoint::new(
        Config::new(Role::Server, cert(21), [2; 32])
            .with_srtp_profiles(&[
                SrtpProfile::AEAD_AES_256_GCM,
                SrtpProfile::AES128_CM_HMAC_SHA1_80,
            ])
            .with_cipher_suites(&server_suites)
            .unwrap(),
        pair.now,
    );
    pair.server_fp = cert(21).fingerprint(HashAlgorithm::Sha256);
    pair.run_until_connected();
    let c = pair.client_connected.clone().unwrap();
    assert_eq!(c.0, other);
    assert_eq!(c.1, Some(SrtpProfile::AEAD_AES_256_GCM));
    assert_eq!(c.2.client_key().len(), 32);
}

/// The client answers a HelloVerifyRequest of any version (RFC 6347 §4.2.1 allows 1.0 and 1.2)
/// with a ClientHello carrying the cookie.
#[test]
fn client_echoes_the_cookie_of_any_hello_verify_request_version() {
    use peerless_dtls::wire::{ClientHello, HandshakeFragment, Record};
    for version in [0xfeffu16, 0xfefd] {
        let mut client: Endpoint = Endpoint::new(
            Config::new(Role::Client, cert(30), [3; 32]),
            peerless_base::Instant::ZERO,
        );
        client.connect(peerless_base::Instant::ZERO);
        let mut buf = [0u8; 1500];
        let first = client.poll_transmit(&mut buf).unwrap().unwrap().to_vec();
        let cookie = [0xc0, 0x0c, 0x1e, 0x5e, 0x01];
        let mut hvr = vec![22];
        hvr.extend_from_slice(&version.to_be_bytes());
        hvr.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 20]);
        hvr.extend_from_slice(&[3, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 8]);
        hvr.extend_from_slice(&version.to_be_bytes());
        hvr.push(cookie.len() as u8);
        hvr.extend_from_slice(&cookie);
        client.handle_packet(peerless_base::Instant::ZERO, &mut hvr);
        let second = client.poll_transmit(&mut buf).unwrap().unwrap().to_vec();
        let f1 = HandshakeFragment::parse(Record::parse(&first).unwrap().fragment()).unwrap();
        let f2 = HandshakeFragment::parse(Record::parse(&second).unwrap().fragment()).unwrap();
        assert_eq!((f1.message_seq(), f2.message_seq()), (0, 1));
        let (ch1, ch2) = (
            ClientHello::parse(f1.body()).unwrap(),
            ClientHello::parse(f2.body()).unwrap(),
        );
        assert_eq!(ch1.cookie(), b"");
        assert_eq!(ch2.cookie(), cookie);
        assert_eq!(
            ch1.random(),
            ch2.random(),
            "the same random in both ClientHellos"
        );
    }
}

/// supported_groups also names the curves a TLS 1.2 client verifies ECDSA on (RFC 8422
/// §5.1.1): secp256r1 is offered even when only x25519 is configured for ECDHE.
#[cfg(feature = "x25519")]
#[test]
fn client_hello_always_offers_secp256r1() {
    use peerless_dtls::wire::{
        ClientHello, ExtensionType, HandshakeFragment, Record, parse_u16_vector,
    };
    let mut client: Endpoint = Endpoint::new(
        Config::new(Role::Client, cert(31), [3; 32])
            .with_groups(&[NamedGroup::X25519])
            .unwrap(),
        peerless_base::Instant::ZERO,
    );
    client.connect(peerless_base::Instant::ZERO);
    let mut buf = [0u8; 1500];
    let first = client.poll_transmit(&mut buf).unwrap().unwrap().to_vec();
    let f = HandshakeFragment::parse(Record::parse(&first).unwrap().fragment()).unwrap();
    let ch = ClientHello::parse(f.body()).unwrap();
    let groups: Vec<u16> = parse_u16_vector(ch.extension(ExtensionType::SUPPORTED_GROUPS).unwrap())
        .unwrap()
        .collect();
    assert_eq!(groups, vec![29, 23]);
}

/// RFC 6347 §4.2.1: a HelloVerifyRequest carries the record sequence number of the
/// ClientHello it answers.
#[test]
fn hello_verify_request_reuses_the_client_hello_record_sequence() {
    use peerless_dtls::wire::Record;
    let mut client: Endpoint = Endpoint::new(
        Config::new(Role::Client, cert(32), [3; 32]),
        peerless_base::Instant::ZERO,
    );
    client.connect(peerless_base::Instant::ZERO);
    let mut server: Endpoint = Endpoint::new(
        Config::new(Role::Server, cert(33), [4; 32]).with_cookies(true),
        peerless_base::Instant::ZERO,
    );
    let mut buf = [0u8; 1500];
    let mut ch = client.poll_transmit(&mut buf).unwrap().unwrap().to_vec();
    ch[10] = 9; // as if it were the client's tenth record
    server.handle_packet(peerless_base::Instant::ZERO, &mut ch);
    let hvr = server.poll_transmit(&mut buf).unwrap().unwrap().to_vec();
    assert_eq!(Record::parse(&hvr).unwrap().sequence(), 9);
}

#[test]
fn an_mtu_below_the_minimum_is_raised_not_a_livelock() {
    let mut pair = Pair::new(9, |c| c.with_mtu(10));
    pair.run_until_connected();
    pair.exchange_app_data();
    let mut buf = [0u8; 1500];
    pair.client.send(b"x").unwrap();
    assert!(pair.client.poll_transmit(&mut buf).unwrap().unwrap().len() <= MIN_MTU);
}

/// The one start rule: `new` sends nothing; a client starts with `connect`, once; a server
/// ignores it and answers. Before `connect` a client takes nothing either (it has no
/// transcript to take a reply into): every datagram is dropped and counted.
#[test]
fn a_client_starts_with_connect_and_only_once() {
    use peerless_base::Instant;
    let t0 = Instant::from_secs(5);
    let mut client: Endpoint = Endpoint::new(Config::new(Role::Client, cert(70), [7; 32]), t0);
    let mut server: Endpoint = Endpoint::new(Config::new(Role::Server, cert(71), [8; 32]), t0);
    let mut buf = [0u8; 1500];
    assert_eq!(client.role(), Role::Client);
    assert!(
        client.poll_transmit(&mut buf).unwrap().is_none(),
        "new sent a ClientHello"
    );
    assert_eq!(client.poll_timeout(), None);
    client.handle_timeout(Instant::from_secs(9));
    assert!(
        client.poll_transmit(&mut buf).unwrap().is_none(),
        "a timeout started the client"
    );

    let mut stray = [22u8, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0];
    client.handle_packet(t0, &mut stray);
    assert_eq!(client.stats().dropped_unexpected, 1);
    assert_eq!(client.stats().datagrams_received, 1);
    assert!(
        client.poll_transmit(&mut buf).unwrap().is_none(),
        "a datagram started the client"
    );

    server.connect(t0);
    assert!(
        server.poll_transmit(&mut buf).unwrap().is_none(),
        "connect started a server"
    );
    assert_eq!(server.poll_timeout(), None);

    // The clock went to 9 s with handle_timeout; a connect at an earlier `now` is "no time
    // passed", so the retransmission timer runs from 9 s.
    client.connect(t0);
    let hello = client
        .poll_transmit(&mut buf)
        .unwrap()
        .expect("ClientHello")
        .to_vec();
    assert_eq!(hello.first(), Some(&22), "a handshake record");
    assert!(client.poll_transmit(&mut buf).unwrap().is_none());
    assert_eq!(client.poll_timeout(), Some(Instant::from_secs(10)));
    client.connect(Instant::from_secs(9));
    assert!(
        client.poll_transmit(&mut buf).unwrap().is_none(),
        "a second connect sent again"
    );
    assert_eq!(client.stats().datagrams_sent, 1);
}

/// `close(now)` sends close_notify once and ends the endpoint; the peer sees `PeerClosed`.
#[test]
fn close_sends_close_notify_once() {
    let mut pair = Pair::new(72, |c| c);
    pair.run_until_connected();
    pair.client.close(pair.now);
    assert!(pair.client.is_closed());
    let mut buf = [0u8; 1500];
    let alert = pair
        .client
        .poll_transmit(&mut buf)
        .unwrap()
        .expect("close_notify")
        .to_vec();
    assert_eq!(alert.first(), Some(&21), "an alert record");
    pair.client.close(pair.now);
    assert!(
        pair.client.poll_transmit(&mut buf).unwrap().is_none(),
        "close_notify twice"
    );
    let mut alert = alert;
    pair.server.handle_packet(pair.now, &mut alert);
    assert!(pair.server.is_closed());
    assert_eq!(
        pair.server.poll_event(),
        Some(Event::Closed(CloseReason::PeerClosed))
    );
}
