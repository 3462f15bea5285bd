//! DNS message parsing and emitting: avahi's responses (captured with
//! `tests/fixtures/avahi/capture.sh`) parse to the address avahi published and our emitters
//! reproduce them byte for byte; hand-built compressed responses (pointers into questions,
//! chains, loops, forward pointers); arbitrary bytes never panic.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use core::net::IpAddr;

use hex_literal::hex;
use peerless_mdns::{Error, Message, RecordType, emit_legacy_response, emit_query, emit_response};
use proptest::prelude::*;

const NAME: &str = "0d3c1f6e-5f2b-4c1e-9a47-2f0e3b6d8c11.local";
const AVAHI_MULTICAST: &[u8] = include_bytes!("fixtures/avahi/avahi-response.bin");
const AVAHI_LEGACY: &[u8] = include_bytes!("fixtures/avahi/avahi-legacy-response.bin");

fn published() -> IpAddr {
    "192.0.2.77".parse().unwrap()
}

#[test]
fn avahi_multicast_response_parses_and_is_what_we_emit() {
    let msg = Message::parse(AVAHI_MULTICAST).unwrap();
    assert!(msg.is_response());
    assert_eq!(msg.questions().count(), 0);
    let recs: Vec<_> = msg.records().collect();
    assert_eq!(recs.len(), 1);
    assert!(recs[0].name.eq_str(NAME));
    assert!(
        recs[0].name.eq_str(&NAME.to_uppercase()),
        "names compare case-insensitively"
    );
    assert!(!recs[0].name.eq_str("0d3c1f6e.local"));
    assert!(recs[0].cache_flush);
    assert_eq!(recs[0].ttl, 120);
    assert_eq!(recs[0].address(), Some(published()));
    let mut buf = [0u8; 512];
    let n = emit_response(&mut buf, NAME, published(), 120).unwrap();
    assert_eq!(&buf[..n], AVAHI_MULTICAST);
}

#[test]
fn avahi_legacy_response_follows_the_pointer_and_is_what_we_emit() {
    let msg = Message::parse(AVAHI_LEGACY).unwrap();
    assert_eq!(msg.id(), 0x1234);
    let q: Vec<_> = msg.questions().collect();
    assert_eq!(q.len(), 1);
    assert!(q[0].name.eq_str(NAME));
    assert_eq!(q[0].qtype, RecordType::A);
    let recs: Vec<_> = msg.records().collect();
    assert_eq!(recs.len(), 1);
    // The answer's name is the pointer c0 0c back to the question.
    assert_eq!(&AVAHI_LEGACY[0x3c..0x3e], &[0xc0, 0x0c]);
    assert!(recs[0].name.eq_str(NAME));
    let mut text = [0u8; 255];
    let n = recs[0].name.write_dotted(&mut text).unwrap();
    assert_eq!(&text[..n], NAME.as_bytes());
    assert_eq!((recs[0].ttl, recs[0].cache_flush), (10, false));
    assert_eq!(recs[0].address(), Some(published()));
    let mut buf = [0u8; 512];
    let n = emit_legacy_response(&mut buf, 0x1234, RecordType::A, NAME, published(), 120).unwrap();
    assert_eq!(&buf[..n], AVAHI_LEGACY);
}

#[test]
fn query_is_the_rfc_6762_shape() {
    let mut buf = [0u8; 64];
    let n = emit_query(&mut buf, "ab.local", RecordType::A, true).unwrap();
    assert_eq!(
        &buf[..n],
        hex!("0000 0000 0001 0000 0000 0000 02 6162 05 6c6f63616c 00 0001 8001")
    );
    let q = Message::parse(&buf[..n]).unwrap();
    assert!(!q.is_response());
    let only = q.questions().next().unwrap();
    assert!(only.unicast_response && only.name.eq_str("ab.local."));
    assert!(emit_query(&mut buf, "example.com", RecordType::A, false).is_err());
    assert!(emit_query(&mut buf, "a..local", RecordType::A, false).is_err());
    assert!(emit_query(&mut [0u8; 10], "ab.local", RecordType::A, false).is_err());
}

/// A response whose first answer spells the name out and whose second (AAAA, in the additional
/// section) is "x" + a pointer to "local" inside the first: a chain of labels then pointer.
#[test]
fn compressed_answers_and_additional_records() {
    let msg = hex!(
        "0000 8400 0000 0001 0000 0001"
        "03 616263 05 6c6f63616c 00  0001 8001 00000078 0004 c0000201" // abc.local A 192.0.2.1
        "01 78 c0 10                 001c 8001 00000078 0010 20010db8000000000000000000000001" // x.local AAAA
    );
    let m = Message::parse(&msg).unwrap();
    let recs: Vec<_> = m.records().collect();
    assert_eq!(recs.len(), 2);
    assert!(recs[0].name.eq_str("abc.local"));
    assert!(recs[1].name.eq_str("x.local"));
    assert_eq!(recs[1].address(), Some("2001:db8::1".parse().unwrap()));
}

#[test]
fn bad_pointers_are_refused() {
    // Points at itself.
    let own = hex!("0000 8400 0000 0001 0000 0000 c00c 0001 0001 00000078 0004 01020304");
    assert_eq!(Message::parse(&own), Err(Error::BadPointer));
    // Points forwards.
    let fwd = hex!("0000 8400 0000 0001 0000 0000 c00e 0001 0001 00000078 0004 01020304");
    assert_eq!(Message::parse(&fwd), Err(Error::BadPointer));
    // Reserved label type 0b01.
    let reserved = hex!("0000 8400 0000 0001 0000 0000 4000 0001 0001 00000078 0004 01020304");
    assert_eq!(Message::parse(&reserved), Err(Error::BadLabel));
    // Truncated RDATA, non-zero rcode, a name over 255 bytes.
    let short = hex!("0000 8400 0000 0001 0000 0000 00 0001 0001 00000078 0004 0102");
    assert_eq!(Message::parse(&short), Err(Error::Truncated));
    let rcode = hex!("0000 8403 0000 0000 0000 0000");
    assert_eq!(Message::parse(&rcode), Err(Error::ResponseCode));
    let mut big = hex!("0000 8400 0000 0001 0000 0000").to_vec();
    for _ in 0..5 {
        big.push(63);
        big.extend_from_slice(&[b'z'; 63]);
    }
    big.push(0);
    big.extend_from_slice(&hex!("0001 0001 00000078 0004 01020304"));
    assert_eq!(Message::parse(&big), Err(Error::NameTooLong));
}

/// Pointer hops are bounded: a name that is a chain of exactly MAX_POINTER_HOPS pointers
/// parses, one more does not.
#[test]
fn pointer_hops_are_bounded() {
    fn chain(hops: usize) -> Vec<u8> {
        // Questions: "a" then `hops - 1` names "b" + pointer to the previous one; the record's
        // name is a pointer to the last question name. Following it takes `hops` pointers.
        let qd = hops as u16;
        let mut m = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
        m[4..6].copy_from_slice(&qd.to_be_bytes());
        let mut prev = m.len() as u16;
        m.extend_from_slice(&[1, b'a', 5, b'l', b'o', b'c', b'a', b'l', 0, 0, 1, 0, 1]);
        for _ in 1..hops {
            let at = m.len() as u16;
            m.extend_from_slice(&[1, b'b']);
            m.extend_from_slice(&(0xc000 | prev).to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 1]);
            prev = at;
        }
        m.extend_from_slice(&(0xc000 | prev).to_be_bytes());
        m.extend_from_slice(&hex!("0001 0001 00000078 0004 01020304"));
        m
    }
    let ok = chain(peerless_mdns::MAX_POINTER_HOPS);
    let m = Message::parse(&ok).unwrap();
    let rec = m.records().next().unwrap();
    let expected = format!(
        "{}a.local",
        "b.".repeat(peerless_mdns::MAX_POINTER_HOPS - 1)
    );
    assert!(rec.name.eq_str(&expected));
    assert_eq!(
        Message::parse(&chain(peerless_mdns::MAX_POINTER_HOPS + 1)),
        Err(Error::BadPointer)
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = Message::parse(&bytes) {
            let mut text = [0u8; 255];
            for q in m.questions() {
                let _ = q.name.eq_str("a.local");
                let _ = q.name.write_dotted(&mut text);
            }
            for r in m.records() {
                let _ = (r.address(), r.name.eq_str("a.local"), r.name.write_dotted(&mut text));
            }
        }
    }

    /// Mutating one byte of avahi's compressed response never panics either.
    #[test]
    fn mutated_avahi_response_never_panics(at in 0usize..76, byte in any::<u8>()) {
        let mut m = AVAHI_LEGACY.to_vec();
        m[at] = byte;
        if let Ok(msg) = Message::parse(&m) {
            for r in msg.records() {
                let _ = (r.address(), r.name.eq_str(NAME));
            }
        }
    }
}
