//! Benchmark: a browser-like Binding request parsed, its USERNAME read, MESSAGE-INTEGRITY
//! (HMAC-SHA1) verified and FINGERPRINT checked, in ns per message; against the floor (the
//! same HMAC-SHA1 and CRC-32 over the same bytes, no parsing). Also the success response
//! emitted with integrity and fingerprint. `scripts/bench/stun.sh` runs it.
//!
//! `cargo run --release -p peerless-stun --example stun_bench -- [messages]`

use std::hint::black_box;
use std::time::Instant;

use hmac::{Hmac, KeyInit, Mac};
use peerless_stun::{AttrType, Attribute, Class, Message, Method, TransactionId};
use sha1::Sha1;

const PWD: &[u8] = b"Xz8UeeR1m6OkkNK3fVOe1ZN2";

fn request(buf: &mut [u8]) -> usize {
    // What Chrome sends in a connectivity check (with its GOOG-NETWORK-INFO attribute).
    Message::builder(
        Class::Request,
        Method::BINDING,
        TransactionId(*b"0123456789ab"),
    )
    .username("aBcD1234:eFgH5678")
    .attr(Attribute::Other {
        typ: AttrType(0xC057),
        value: &[0, 1, 0, 50],
    })
    .ice_controlling(0x1234_5678_9abc_def0)
    .use_candidate()
    .priority(1_853_824_767)
    .integrity_sha1(PWD)
    .fingerprint()
    .emit(buf)
    .unwrap_or(0)
}

fn ours(packet: &[u8]) -> bool {
    let Ok(msg) = Message::parse(packet) else {
        return false;
    };
    msg.username().is_some_and(|u| u.starts_with("aBcD1234:"))
        && msg.verify_integrity(PWD)
        && msg.check_fingerprint() == Some(true)
}

/// The work no implementation can skip: HMAC-SHA1 up to MESSAGE-INTEGRITY, CRC-32 up to
/// FINGERPRINT, with the positions known in advance.
fn floor(packet: &[u8]) -> bool {
    let mi = packet.len() - 8 - 24;
    let mut header = [0u8; 20];
    header.copy_from_slice(&packet[..20]);
    header[2..4].copy_from_slice(&((mi + 24 - 20) as u16).to_be_bytes());
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(PWD) else {
        return false;
    };
    mac.update(&header);
    mac.update(&packet[20..mi]);
    let ok = mac.verify_slice(&packet[mi + 4..mi + 24]).is_ok();
    let crc = crc32fast::hash(&packet[..packet.len() - 8]) ^ 0x5354_554e;
    ok && crc.to_be_bytes() == packet[packet.len() - 4..]
}

fn time(n: u32, mut f: impl FnMut() -> bool) -> f64 {
    // Warm up, then take the best of five rounds (the machine is shared and noisy).
    for _ in 0..n / 10 {
        assert!(black_box(f()));
    }
    (0..5)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..n {
                assert!(black_box(f()));
            }
            t.elapsed().as_nanos() as f64 / f64::from(n)
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let mut buf = [0u8; 256];
    let len = request(&mut buf);
    let packet = &buf[..len];
    assert!(ours(packet) && floor(packet));
    let parse_check = time(n, || ours(black_box(packet)));
    let floor_ns = time(n, || floor(black_box(packet)));
    let mut out = [0u8; 256];
    let emit = time(n, || {
        Message::builder(
            Class::Success,
            Method::BINDING,
            TransactionId(*b"0123456789ab"),
        )
        .xor_mapped_address(
            "192.0.2.1:50000"
                .parse()
                .unwrap_or(std::net::SocketAddr::from(([0, 0, 0, 0], 0))),
        )
        .integrity_sha1(PWD)
        .fingerprint()
        .emit(black_box(&mut out))
        .is_ok()
    });
    println!("stun bench: {len}-byte Binding request, {n} messages per round, best of 5");
    println!(
        "  peerless parse + USERNAME + MESSAGE-INTEGRITY + FINGERPRINT : {parse_check:8.1} ns/message"
    );
    println!(
        "  floor (HMAC-SHA1 + CRC-32 only, no parsing)                 : {floor_ns:8.1} ns/message"
    );
    println!(
        "  ratio peerless / floor                                       : {:8.2}",
        parse_check / floor_ns
    );
    println!(
        "  peerless emit success response (XOR-MAPPED-ADDRESS, MI, FP)  : {emit:8.1} ns/message"
    );
}
