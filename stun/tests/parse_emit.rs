//! Parsing and emitting: parse(emit(m)) == m for generated messages; arbitrary bytes never
//! panic; unknown comprehension-required attributes are listed; framing errors are reported.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use peerless_stun::{
    AddressFamily, AlgorithmList, AttrList, AttrType, Attribute, Class, ErrorCode, Message, Method,
    PasswordAlgorithm, TransactionId,
};
use proptest::prelude::*;

/// Owned material from which one attribute of each kind is built.
#[derive(Clone, Debug)]
struct Raw {
    kind: u8,
    addr: SocketAddr,
    text: String,
    bytes: Vec<u8>,
    n: u64,
    types: Vec<AttrType>,
}

fn addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V4(Ipv4Addr::from(ip)), port)),
        (any::<[u8; 16]>(), any::<u16>())
            .prop_map(|(ip, port)| SocketAddr::new(IpAddr::V6(Ipv6Addr::from(ip)), port)),
    ]
}

fn raw() -> impl Strategy<Value = Raw> {
    (
        0u8..27,
        addr(),
        "[a-zA-Z0-9:+/ é]{0,40}",
        proptest::collection::vec(any::<u8>(), 0..40),
        any::<u64>(),
        proptest::collection::vec(any::<u16>().prop_map(AttrType), 0..5),
    )
        .prop_map(|(kind, addr, text, bytes, n, types)| Raw {
            kind,
            addr,
            text,
            bytes,
            n,
            types,
        })
}

fn build<'a>(r: &'a Raw, algs: &'a [PasswordAlgorithm<'a>]) -> Attribute<'a> {
    let n32 = r.n as u32;
    match r.kind {
        0 => Attribute::MappedAddress(r.addr),
        1 => Attribute::XorMappedAddress(r.addr),
        2 => Attribute::Username(&r.text),
        3 => Attribute::ErrorCode(ErrorCode {
            code: 300 + (r.n % 400) as u16,
            reason: &r.text,
        }),
        4 => Attribute::UnknownAttributes(AttrList::Types(&r.types)),
        5 => Attribute::Realm(&r.text),
        6 => Attribute::Nonce(&r.text),
        7 => Attribute::PasswordAlgorithm(PasswordAlgorithm {
            algorithm: r.n as u16,
            params: &r.bytes,
        }),
        8 => Attribute::PasswordAlgorithms(AlgorithmList::Algorithms(algs)),
        9 => Attribute::Userhash(&USERHASH),
        10 => Attribute::Software(&r.text),
        11 => Attribute::AlternateServer(r.addr),
        12 => Attribute::Priority(n32),
        13 => Attribute::UseCandidate,
        14 => Attribute::IceControlled(r.n),
        15 => Attribute::IceControlling(r.n),
        16 => Attribute::ChannelNumber(r.n as u16),
        17 => Attribute::Lifetime(n32),
        18 => Attribute::XorPeerAddress(r.addr),
        19 => Attribute::Data(&r.bytes),
        20 => Attribute::XorRelayedAddress(r.addr),
        21 => Attribute::RequestedAddressFamily(AddressFamily(r.n as u8)),
        22 => Attribute::EvenPort(r.n & 1 == 1),
        23 => Attribute::RequestedTransport(r.n as u8),
        24 => Attribute::DontFragment,
        25 => Attribute::ReservationToken(r.n.to_be_bytes()),
        _ => Attribute::AdditionalAddressFamily(AddressFamily(r.n as u8)),
    }
}

const USERHASH: [u8; 32] = [0x5a; 32];

fn class(c: u8) -> Class {
    [
        Class::Request,
        Class::Indication,
        Class::Success,
        Class::Error,
    ][usize::from(c % 4)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn parse_of_emit_is_identity(
        c in any::<u8>(),
        method in 0u16..0x1000,
        tid in any::<[u8; 12]>(),
        raws in proptest::collection::vec(raw(), 0..12),
        other in proptest::collection::vec((0x8100u16..0xffff, proptest::collection::vec(any::<u8>(), 0..9)), 0..3),
        key in proptest::collection::vec(any::<u8>(), 0..40),
        integrity in 0u8..4,
        fp in any::<bool>(),
        pad in any::<u8>(),
    ) {
        let algs: Vec<_> = raws.iter().take(3).map(|r| PasswordAlgorithm { algorithm: r.n as u16, params: &r.bytes }).collect();
        let mut attrs: Vec<Attribute<'_>> = raws.iter().map(|r| build(r, &algs)).collect();
        attrs.extend(other.iter().map(|(t, v)| Attribute::Other { typ: AttrType(*t), value: v }));
        let tid = TransactionId(tid);
        let mut b = peerless_stun::Builder::<'_, 16>::new(class(c), Method(method), tid).padding(pad);
        for a in &attrs {
            b = b.attr(*a);
        }
        if integrity & 1 == 1 { b = b.integrity_sha1(&key); }
        if integrity & 2 == 2 { b = b.integrity_sha256(&key, 16 + usize::from(pad % 5) * 4); }
        if fp { b = b.fingerprint(); }
        let mut buf = vec![0u8; 4096];
        let n = b.emit(&mut buf).unwrap();
        // Too small a buffer says exactly how much was needed.
        prop_assert_eq!(b.emit(&mut buf[..n - 1]), Err(peerless_stun::EmitError::BufferTooSmall(peerless_base::BufferTooSmall { needed: n })));
        let msg = Message::parse(&buf[..n]).unwrap();
        prop_assert_eq!((msg.class(), msg.method(), msg.transaction_id()), (class(c), Method(method), tid));
        let parsed: Vec<_> = msg.attributes()
            .filter(|a| !matches!(a, Ok(Attribute::MessageIntegrity(_) | Attribute::MessageIntegritySha256(_) | Attribute::Fingerprint(_))))
            .collect::<Result<_, _>>().unwrap();
        prop_assert_eq!(parsed, attrs);
        prop_assert_eq!(msg.verify_integrity(&key), integrity & 1 == 1);
        prop_assert_eq!(msg.verify_integrity_sha256(&key), integrity & 2 == 2);
        prop_assert_eq!(msg.check_fingerprint(), fp.then_some(true));
        prop_assert_eq!(msg.unknown_required().count(), 0);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), stunlike in any::<bool>()) {
        let mut bytes = bytes;
        if stunlike && bytes.len() >= 20 {
            // Make the header valid so the attribute walk is exercised.
            bytes[0] &= 0x3f;
            let len = ((bytes.len() - 20) & !3) as u16;
            bytes[2..4].copy_from_slice(&len.to_be_bytes());
            bytes[4..8].copy_from_slice(&0x2112_a442u32.to_be_bytes());
            bytes.truncate(20 + usize::from(len));
        }
        if let Ok(msg) = Message::parse(&bytes) {
            let _ = msg.attributes().count();
            let _ = (msg.username(), msg.realm(), msg.nonce(), msg.software(), msg.error_code(), msg.priority());
            let _ = (msg.xor_mapped_address(), msg.mapped_address(), msg.ice_controlled(), msg.ice_controlling());
            let _ = (msg.lifetime(), msg.channel_number(), msg.xor_relayed_address(), msg.xor_peer_addresses().count());
            let _ = msg.unknown_attributes().map(|l| l.iter().count());
            let _ = (msg.verify_integrity(b"k"), msg.verify_integrity_sha256(b"k"), msg.check_fingerprint());
            let _ = msg.unknown_required().count();
        }
        let _ = peerless_stun::ChannelData::parse(&bytes);
    }
}

/// `PROPTEST_CASES` (or the older `PEERLESS_PROPTEST_CASES`) for a longer run (default 256).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .or_else(|_| std::env::var("PEERLESS_PROPTEST_CASES"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

#[test]
fn unknown_comprehension_required_attributes_are_listed() {
    let mut buf = [0u8; 128];
    let tid = TransactionId([9; 12]);
    let n = Message::builder(Class::Request, Method::BINDING, tid)
        .attr(Attribute::Other {
            typ: AttrType(0x7777),
            value: b"x",
        })
        .attr(Attribute::Other {
            typ: AttrType(0xC057),
            value: b"\x00\x01\x00\x00",
        })
        .emit(&mut buf)
        .unwrap();
    let msg = Message::parse(&buf[..n]).unwrap();
    assert_eq!(
        msg.unknown_required().collect::<Vec<_>>(),
        [AttrType(0x7777)]
    );
    // The 420 response a server sends back.
    let unknown: Vec<_> = msg.unknown_required().collect();
    let mut out = [0u8; 128];
    let m = Message::builder(Class::Error, Method::BINDING, tid)
        .error_code(ErrorCode::UNKNOWN_ATTRIBUTE, "Unknown Attribute")
        .unknown_attributes(&unknown)
        .fingerprint()
        .emit(&mut out)
        .unwrap();
    let resp = Message::parse(&out[..m]).unwrap();
    assert_eq!(resp.error_code().map(|e| e.code), Some(420));
    assert_eq!(
        resp.unknown_attributes()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [AttrType(0x7777)]
    );
}

#[test]
fn framing_errors_are_reported() {
    use peerless_stun::Error;
    assert_eq!(Message::parse(&[0; 19]).unwrap_err(), Error::Truncated);
    let mut ok = [0u8; 20];
    ok[1] = 1;
    ok[4..8].copy_from_slice(&0x2112_a442u32.to_be_bytes());
    assert!(Message::parse(&ok).is_ok());
    let mut bad = ok;
    bad[0] = 0x80;
    assert_eq!(Message::parse(&bad).unwrap_err(), Error::NotStun);
    let mut bad = ok;
    bad[4] = 0;
    assert_eq!(Message::parse(&bad).unwrap_err(), Error::NotStun);
    let mut bad = ok;
    bad[3] = 2;
    assert_eq!(Message::parse(&bad).unwrap_err(), Error::BadLength);
    let mut bad = ok;
    bad[3] = 4;
    assert_eq!(Message::parse(&bad).unwrap_err(), Error::Truncated);
    let mut long = [0u8; 24];
    long[..20].copy_from_slice(&ok);
    assert_eq!(Message::parse(&long).unwrap_err(), Error::BadLength);
    long[3] = 4;
    long[20..24].copy_from_slice(&[0x80, 0x22, 0x00, 0x05]);
    assert_eq!(
        Message::parse(&long).unwrap_err(),
        Error::BadAttributeLength
    );
}
