//! SRTP keyed from DTLS between two Peers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::open_pair;

#[test]
fn srtp_contexts_from_the_dtls_keys_protect_what_the_other_side_unprotects() {
    let (mut pair, _) = open_pair();
    let header = peerless::rtp::packet::Header {
        payload_type: 111,
        sequence_number: 7,
        timestamp: 960,
        ssrc: 0x1234_5678,
        ..Default::default()
    };
    let mut buf = [0u8; 1500];
    let len = header.emit(b"an opus frame", &mut buf).unwrap();
    let n = pair
        .a
        .srtp()
        .unwrap()
        .outbound
        .protect_rtp(&mut buf, len)
        .unwrap();
    assert!(n > len, "the tag is appended");
    let mut tampered = buf;
    let (from, to) = (common::addr(common::A), common::addr(common::B));
    pair.b.handle_packet(pair.now, from, to, &mut buf[..n]);
    assert_eq!(pair.b.stats().srtp_received, 1);
    tampered[n - 1] ^= 1;
    pair.b.handle_packet(pair.now, from, to, &mut tampered[..n]);
    assert_eq!(
        pair.b.stats().dropped_srtp,
        1,
        "a forged tag is dropped and counted"
    );
}
