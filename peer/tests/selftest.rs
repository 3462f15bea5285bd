//! The firmware's selftest run between two Peers, and what a Peer costs in memory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::certs;

#[test]
fn selftest_connects_and_echoes() {
    let mut sa = Box::new(peerless::Storage::<8192, 8192>::new());
    let mut sb = Box::new(peerless::Storage::<8192, 8192>::new());
    let (a_send, a_recv) = sa.areas();
    let (b_send, b_recv) = sb.areas();
    let (ca, cb) = certs();
    let mut a: peerless::SmallPeer<&mut [u8]> = peerless::Peer::new(
        peerless::selftest::config(ca, 1),
        peerless_base::Instant::ZERO,
        a_send,
        a_recv,
    );
    let mut b: peerless::SmallPeer<&mut [u8]> = peerless::Peer::new(
        peerless::selftest::config(cb, 2),
        peerless_base::Instant::ZERO,
        b_send,
        b_recv,
    );
    let (mut sdp, mut buf) = ([0u8; 2048], [0u8; 1500]);
    let mut calls = [0u32; 2];
    let report = peerless::selftest::run(&mut a, &mut b, &mut sdp, &mut buf, |side, call| {
        calls[side as usize] += 1;
        call();
    })
    .unwrap();
    println!("selftest: {report:?}, calls {calls:?}");
    assert!(report.open_us > 0 && report.echo_us >= report.open_us);
    assert_eq!(
        report.dtls_cipher, 0xC02B,
        "browsers' suite is negotiated first"
    );
    assert_eq!(report.srtp_profile, 0x0007, "AEAD_AES_128_GCM");
    assert!(report.datagrams >= 10);
}

#[test]
fn peer_size() {
    let default = std::mem::size_of::<peerless::Peer>();
    let small = std::mem::size_of::<peerless::SmallPeer>();
    println!(
        "size_of::<Peer>() = {default} bytes; size_of::<SmallPeer>() = {small} bytes (SCTP storage lent separately)"
    );
    println!(
        "  parts: ice::Agent {} + dtls::Endpoint {} + sctp::Association {} (small: {}) + srtp::Context x2 {} + SDP copies {} + early DTLS stash {}",
        std::mem::size_of::<peerless_ice::Agent>(),
        std::mem::size_of::<peerless_dtls::Endpoint>(),
        std::mem::size_of::<peerless_sctp::Association>(),
        std::mem::size_of::<peerless_sctp::Association<&'static mut [u8], 64, 4>>(),
        2 * std::mem::size_of::<peerless_srtp::Context>(),
        peerless::LOCAL_SDP_CAPACITY + peerless::REMOTE_SDP_CAPACITY,
        peerless::DTLS_BUFFER,
    );
    // The parts that grow with the host features or the signalling API, printed so a change
    // in size can be traced to them.
    println!(
        "  Event {} (SignalledCandidate {}), Stats {}, mdns: Querier<4> {} / <0> {}, Responder<4, 42> {} (the Peer's: room for UUID names)",
        std::mem::size_of::<peerless::Event<'static>>(),
        std::mem::size_of::<peerless::SignalledCandidate<'static>>(),
        std::mem::size_of::<peerless::Stats>(),
        std::mem::size_of::<peerless_mdns::Querier<4>>(),
        std::mem::size_of::<peerless_mdns::Querier<0>>(),
        std::mem::size_of::<peerless_mdns::Responder<4, 42>>(),
    );
    assert!(small < default);
    // The firmware builds without the host features (workspace dependencies take no default
    // features): that build keeps the 40 KiB (40 432 B), so two small Peers and their storage
    // fit a 128 KiB MCU. On a host (x86-64) the features add their tables, 6 768 B in all:
    // `turn` (two servers with credentials, two allocations: about 3.3 KiB, 2 320 B of it in
    // the ICE agent), `mdns` (four kept candidate lines, a querier for four names, a responder
    // publishing four UUID names: about 2.9 KiB) and `rsa` (room for a 4096-bit modulus: 464 B).
    let host_features = cfg!(feature = "turn") || cfg!(feature = "mdns") || cfg!(feature = "rsa");
    // The aws-lc-rs crypto backend (servers only, never firmware) keeps AWS-LC's HMAC and AEAD
    // contexts inline in each SRTP context (4 384 B instead of 1 664 B, two per Peer) while
    // its DTLS endpoint is 768 B smaller: 6 KiB more in that build.
    let aws_lc = if peerless_crypto::BACKEND == "aws-lc-rs" {
        6 * 1024
    } else {
        0
    };
    let budget = if host_features { 47 } else { 40 } * 1024 + aws_lc;
    assert!(
        small <= budget,
        "SmallPeer {small} B over its {budget} B budget"
    );
    // Media added four transceivers with their streams' state (about 5 KiB each; the bytes
    // are lent) and 6 KiB more for our descriptions; the host features as above
    // (116 864 B with them, 110 064 B without).
    let budget = if host_features { 116 } else { 112 } * 1024 + aws_lc;
    assert!(
        default <= budget,
        "the Peer stays inline and bounded: {default} B"
    );
}
