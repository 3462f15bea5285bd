//! In-memory handshakes between two endpoints: every suite, group and SRTP profile, both roles.

mod common;

use common::*;
use peerless_dtls::*;

#[test]
fn every_suite_group_and_profile_connects_and_exports_equal_keys() {
    for (i, suite) in ALL_CIPHER_SUITES.iter().enumerate() {
        for (j, group) in ALL_GROUPS.iter().enumerate() {
            for (k, profile) in ALL_SRTP_PROFILES.iter().enumerate() {
                let seed = (i * 100 + j * 10 + k) as u8;
                let mut pair = Pair::new(seed, |c| {
                    c.with_cipher_suites(std::slice::from_ref(suite))
                        .with_groups(std::slice::from_ref(group))
                        .with_srtp_profiles(std::slice::from_ref(profile))
                });
                pair.run_until_connected();
                let (a, b) = (
                    pair.client_connected.unwrap(),
                    pair.server_connected.unwrap(),
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
    pair.client.close();
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
        Config::new(cert(8), [4; 32]).with_handshake_timeout(core::time::Duration::from_secs(5)),
        Role::Client,
        pair.now,
    );
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
