//! RFC 5769 "Test Vectors for STUN": every vector parses, verifies (MESSAGE-INTEGRITY with the
//! RFC's credentials, FINGERPRINT) and is re-emitted by the builder byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use core::net::SocketAddr;

use hex_literal::hex;
use peerless_stun::{AttrType, Attribute, Class, Message, Method, long_term_key_md5};

/// §2.1 Sample Request (short-term credentials; padding is 0x20 in the RFC).
const REQUEST: [u8; 108] = hex!(
    "00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74"
    "00 24 00 04 6e 00 01 ff"
    "80 29 00 08 93 2f f9 b1 51 26 3b 36"
    "00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20"
    "00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2"
    "80 28 00 04 e5 7a 3b cf"
);

/// §2.2 Sample IPv4 Response.
const IPV4_RESPONSE: [u8; 80] = hex!(
    "01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 08 00 01 a1 47 e1 12 a6 43"
    "00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7"
    "80 28 00 04 c0 7d 4c 96"
);

/// §2.3 Sample IPv6 Response.
const IPV6_RESPONSE: [u8; 92] = hex!(
    "01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae"
    "80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20"
    "00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9"
    "00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41"
    "80 28 00 04 c8 fb 0b 4c"
);

/// §2.4 Sample Request with Long-Term Authentication.
const LONG_TERM_REQUEST: [u8; 116] = hex!(
    "00 01 00 60 21 12 a4 42 78 ad 34 33 c6 ad 72 c0 29 da 41 2e"
    "00 06 00 12 e3 83 9e e3 83 88 e3 83 aa e3 83 83 e3 82 af e3 82 b9 00 00"
    "00 15 00 1c 66 2f 2f 34 39 39 6b 39 35 34 64 36 4f 4c 33 34 6f 4c 39 46 53 54 76 79 36 34 73 41"
    "00 14 00 0b 65 78 61 6d 70 6c 65 2e 6f 72 67 00"
    "00 08 00 14 f6 70 24 65 6d d6 4a 3e 02 b8 e0 71 2e 85 c9 a2 8c a8 96 66"
);

const PASSWORD: &[u8] = b"VOkJxbRl1RmTxUk/WvJxBt";

#[test]
fn sample_request_parses_verifies_and_reemits() {
    let msg = Message::parse(&REQUEST).unwrap();
    assert_eq!(
        (msg.class(), msg.method()),
        (Class::Request, Method::BINDING)
    );
    assert_eq!(msg.transaction_id().0, hex!("b7e7a701bc34d686fa87dfae"));
    assert_eq!(msg.software(), Some("STUN test client"));
    assert_eq!(msg.priority(), Some(0x6e00_01ff));
    assert_eq!(msg.ice_controlled(), Some(0x932f_f9b1_5126_3b36));
    assert_eq!(msg.username(), Some("evtj:h6vY"));
    assert!(msg.verify_integrity(PASSWORD));
    assert!(!msg.verify_integrity(b"VOkJxbRl1RmTxUk/WvJxBu"));
    assert_eq!(msg.check_fingerprint(), Some(true));
    assert_eq!(msg.unknown_required().count(), 0);

    let mut buf = [0u8; 200];
    let n = Message::builder(Class::Request, Method::BINDING, msg.transaction_id())
        .padding(b' ')
        .software("STUN test client")
        .priority(0x6e00_01ff)
        .ice_controlled(0x932f_f9b1_5126_3b36)
        .username("evtj:h6vY")
        .integrity_sha1(PASSWORD)
        .fingerprint()
        .emit(&mut buf)
        .unwrap();
    assert_eq!(&buf[..n], &REQUEST[..]);
}

fn check_response(bytes: &[u8], mapped: &str) {
    let msg = Message::parse(bytes).unwrap();
    let mapped: SocketAddr = mapped.parse().unwrap();
    assert_eq!(
        (msg.class(), msg.method()),
        (Class::Success, Method::BINDING)
    );
    assert_eq!(msg.software(), Some("test vector"));
    assert_eq!(msg.xor_mapped_address(), Some(mapped));
    assert!(msg.verify_integrity(PASSWORD));
    assert_eq!(msg.check_fingerprint(), Some(true));
    let mut buf = [0u8; 200];
    let n = Message::builder(Class::Success, Method::BINDING, msg.transaction_id())
        .padding(b' ')
        .software("test vector")
        .xor_mapped_address(mapped)
        .integrity_sha1(PASSWORD)
        .fingerprint()
        .emit(&mut buf)
        .unwrap();
    assert_eq!(&buf[..n], bytes);
}

#[test]
fn sample_ipv4_response() {
    check_response(&IPV4_RESPONSE, "192.0.2.1:32853");
}

#[test]
fn sample_ipv6_response() {
    check_response(
        &IPV6_RESPONSE,
        "[2001:db8:1234:5678:11:2233:4455:6677]:32853",
    );
}

#[test]
fn sample_request_with_long_term_authentication() {
    let msg = Message::parse(&LONG_TERM_REQUEST).unwrap();
    let username = "\u{30DE}\u{30C8}\u{30EA}\u{30C3}\u{30AF}\u{30B9}";
    assert_eq!(msg.username(), Some(username));
    assert_eq!(msg.nonce(), Some("f//499k954d6OL34oL9FSTvy64sA"));
    assert_eq!(msg.realm(), Some("example.org"));
    assert_eq!(msg.check_fingerprint(), None);
    // The RFC's password "TheMatrIX" is the SASLprep output of "TheM\u{00AA}tr\u{2168}".
    let key = long_term_key_md5(username, "example.org", "TheMatrIX");
    assert!(msg.verify_integrity(&key));
    assert!(!msg.verify_integrity(&long_term_key_md5(username, "example.org", "thematrix")));

    let mut buf = [0u8; 200];
    let n = Message::builder(Class::Request, Method::BINDING, msg.transaction_id())
        .username(username)
        .nonce("f//499k954d6OL34oL9FSTvy64sA")
        .realm("example.org")
        .integrity_sha1(&key)
        .emit(&mut buf)
        .unwrap();
    assert_eq!(&buf[..n], &LONG_TERM_REQUEST[..]);
}

#[test]
fn any_flipped_bit_breaks_integrity_or_fingerprint() {
    for i in 20..REQUEST.len() {
        for bit in 0..8 {
            let mut bytes = REQUEST;
            bytes[i] ^= 1 << bit;
            if let Ok(msg) = Message::parse(&bytes) {
                assert!(
                    !(msg.verify_integrity(PASSWORD) && msg.check_fingerprint() == Some(true)),
                    "byte {i} bit {bit}"
                );
            }
        }
    }
}

#[test]
fn attributes_after_integrity_are_ignored_and_fingerprint_still_counts() {
    // Append an (ignored) SOFTWARE after MESSAGE-INTEGRITY, before FINGERPRINT.
    let mut bytes = std::vec::Vec::from(&REQUEST[..REQUEST.len() - 8]);
    bytes.extend_from_slice(&hex!("80 22 00 04 61 62 63 64"));
    bytes.extend_from_slice(&REQUEST[REQUEST.len() - 8..]);
    let len = (bytes.len() - 20) as u16;
    bytes[2..4].copy_from_slice(&len.to_be_bytes());
    let msg = Message::parse(&bytes).unwrap();
    assert!(msg.verify_integrity(PASSWORD));
    assert_eq!(msg.software(), Some("STUN test client"));
    let types: std::vec::Vec<_> = msg.raw_attributes().map(|(t, _)| t).collect();
    assert_eq!(
        types,
        [
            AttrType::SOFTWARE,
            AttrType::PRIORITY,
            AttrType::ICE_CONTROLLED,
            AttrType::USERNAME,
            AttrType::MESSAGE_INTEGRITY,
            AttrType::FINGERPRINT
        ]
    );
    // The fingerprint was computed over the original message, so it no longer matches.
    assert_eq!(msg.check_fingerprint(), Some(false));
    assert!(matches!(
        msg.attributes().next(),
        Some(Ok(Attribute::Software("STUN test client")))
    ));
}

#[test]
fn long_term_keys_and_userhash_are_the_rfc_8489_hashes() {
    use peerless_stun::{long_term_key_sha256, userhash};
    // Pinned with coreutils: printf 'user:realm:pass' | md5sum / sha256sum, and
    // printf 'user:realm' | sha256sum.
    assert_eq!(
        long_term_key_md5("user", "realm", "pass"),
        hex!("8493fbc53ba582fb4c044c456bdc40eb")
    );
    assert_eq!(
        long_term_key_sha256("user", "realm", "pass"),
        hex!("07e934117abd40836e7c6329b54731b2b2d2a5f9a71f544922d75e0730d8251b")
    );
    assert_eq!(
        userhash("user", "realm"),
        hex!("6a3029116b47aa98bcaa325399733dc1a23cd57e26b81bef3ff6531ce624e2da")
    );
}
