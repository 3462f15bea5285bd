//! SRTP benchmark: peerless vs libsrtp2 (the C harness, same machine, same run) vs a bare
//! RustCrypto loop of the same shape (the floor: the cipher and MAC calls alone, without
//! header parsing, SSRC lookup or replay window).
//!
//! Every row protects N packets (copy a template in, set the sequence number, protect, drop
//! the result) and unprotects N packets prepared beforehand, in order (copy in, unprotect),
//! exactly as the C harness does. Each implementation runs three rounds, interleaved; the best round counts.
//! Prints, never gates. Run by `scripts/bench/srtp.sh` in release mode; no
//! `-C target-cpu=native`: aes, sha1 and polyval pick AES-NI, SHA-NI and PCLMULQDQ at run
//! time.

// A measuring tool: a broken setup must stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use aes::Aes128Enc;
use aes_gcm::AesGcm;
use aes_gcm::aead::AeadInOut;
use aes_gcm::aead::consts::U12;
use cipher::{InnerIvInit, KeyInit, StreamCipher};
use hmac::{Hmac, Mac};
use peerless_srtp::{Config, Context, Profile};
use sha1::Sha1;

const SSRC: u32 = 0x1234_5678;
const ROUNDS: usize = 5;

fn template(size: usize) -> Vec<u8> {
    let mut t = vec![0xab; size];
    t[0] = 0x80;
    t[1] = 0x60;
    t[8..12].copy_from_slice(&SSRC.to_be_bytes());
    t
}

/// One measured round: ns per packet for protect and for unprotect.
type Round = (f64, f64);

/// Times `protect` over `count` packets (the result dropped, as a sender hands it to the
/// socket), then, untimed, has `prepare` protect the packets `unprotect` is timed on.
fn measure(
    size: usize,
    count: usize,
    mut protect: impl FnMut(&mut [u8], usize, usize) -> usize,
    mut prepare: impl FnMut(&mut [u8], usize, usize) -> usize,
    mut unprotect: impl FnMut(&mut [u8], usize),
) -> Round {
    let t = template(size);
    let stride = size + 16;
    let mut store = vec![0u8; stride * count];
    let mut lens = vec![0usize; count];
    let mut buf = [0u8; 2048];
    let mut sink = 0u8;
    let t0 = Instant::now();
    for i in 0..count {
        buf[..size].copy_from_slice(&t);
        buf[2..4].copy_from_slice(&(i as u16).to_be_bytes());
        let n = protect(&mut buf, size, i);
        sink ^= buf[n - 1];
    }
    let t1 = Instant::now();
    for i in 0..count {
        let out = &mut store[i * stride..(i + 1) * stride];
        out[..size].copy_from_slice(&t);
        out[2..4].copy_from_slice(&(i as u16).to_be_bytes());
        lens[i] = prepare(out, size, i);
    }
    let t2 = Instant::now();
    for i in 0..count {
        let n = lens[i];
        buf[..n].copy_from_slice(&store[i * stride..i * stride + n]);
        unprotect(&mut buf[..n], i);
        sink ^= buf[0];
    }
    let t3 = Instant::now();
    black_box(sink);
    (
        (t1 - t0).as_nanos() as f64 / count as f64,
        (t3 - t2).as_nanos() as f64 / count as f64,
    )
}

fn ours(profile: Profile, size: usize, count: usize) -> Round {
    let key = vec![3u8; profile.master_key_len()];
    let salt = vec![4u8; profile.master_salt_len()];
    let new = || -> Context { Context::new(profile, &key, &salt, Config::default()).unwrap() };
    let (mut tx, mut prep, mut rx) = (new(), new(), new());
    measure(
        size,
        count,
        |buf, len, _| tx.protect_rtp(buf, len).unwrap(),
        |buf, len, _| prep.protect_rtp(buf, len).unwrap(),
        |buf, _| {
            black_box(rx.unprotect_rtp(buf).unwrap());
        },
    )
}

/// The floor: the same loop with only the RustCrypto calls SRTP needs (keys set up once).
fn floor(profile: Profile, size: usize, count: usize) -> Round {
    let salt = [4u8; 14];
    if profile.is_aead() {
        let gcm = AesGcm::<Aes128Enc, U12>::new(&[3u8; 16].into());
        let nonce = |i: usize| {
            let mut n = [0u8; 12];
            n[..].copy_from_slice(&salt[..12]);
            n[10] ^= (i >> 8) as u8;
            n[11] ^= i as u8;
            n
        };
        let seal = |buf: &mut [u8], size: usize, i: usize| {
            let (aad, body) = buf[..size].split_at_mut(12);
            let tag = gcm
                .encrypt_inout_detached(&nonce(i).into(), aad, body.into())
                .unwrap();
            buf[size..size + 16].copy_from_slice(&tag);
            size + 16
        };
        measure(size, count, seal, seal, |buf, i| {
            let n = buf.len();
            let (packet, tag) = buf.split_at_mut(n - 16);
            let tag: [u8; 16] = (&*tag).try_into().unwrap();
            let (aad, body) = packet.split_at_mut(12);
            gcm.decrypt_inout_detached(&nonce(i).into(), aad, body.into(), &tag.into())
                .unwrap();
        })
    } else {
        let aes = Aes128Enc::new(&[3u8; 16].into());
        let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(&[5u8; 20]).unwrap();
        let crypt = |i: usize, data: &mut [u8]| {
            let mut iv = [0u8; 16];
            iv[..14].copy_from_slice(&salt);
            iv[12] ^= (i >> 8) as u8;
            iv[13] ^= i as u8;
            let core =
                ctr::CtrCore::<&Aes128Enc, ctr::flavors::Ctr32BE>::inner_iv_init(&aes, &iv.into());
            cipher::StreamCipherCoreWrapper::from_core(core).apply_keystream(data);
        };
        let tag = |data: &[u8]| {
            let mut m = mac.clone();
            m.update(data);
            m.update(&0u32.to_be_bytes());
            m.finalize().into_bytes()
        };
        let seal = |buf: &mut [u8], size: usize, i: usize| {
            crypt(i, &mut buf[12..size]);
            let full = tag(&buf[..size]);
            buf[size..size + 10].copy_from_slice(&full[..10]);
            size + 10
        };
        measure(size, count, seal, seal, |buf, i| {
            let n = buf.len();
            let full = tag(&buf[..n - 10]);
            assert!(peerless_base::ct_eq(&full[..10], &buf[n - 10..n]));
            crypt(i, &mut buf[12..n - 10]);
        })
    }
}

struct Harness {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Harness {
    fn libsrtp(&mut self, profile: Profile, size: usize, count: usize) -> Round {
        writeln!(self.stdin, "bench {} {size} {count}", profile.dtls_id()).unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some("ok"), "harness: {line}");
        let p = parts.next().unwrap().parse().unwrap();
        let u = parts.next().unwrap().parse().unwrap();
        (p, u)
    }
}

fn best(rounds: &[Round]) -> Round {
    rounds
        .iter()
        .fold((f64::MAX, f64::MAX), |a, r| (a.0.min(r.0), a.1.min(r.1)))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let harness_path = args.get(1).expect("usage: srtp_bench HARNESS [PACKETS]");
    let count: usize = args.get(2).map_or(20_000, |s| s.parse().unwrap());
    let mut child = Command::new(harness_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start harness");
    let mut harness = Harness {
        stdin: child.stdin.take().unwrap(),
        stdout: BufReader::new(child.stdout.take().unwrap()),
    };

    println!(
        "SRTP benchmark: {count} packets per round, best of {ROUNDS} interleaved rounds, ns/packet"
    );
    println!(
        "{:<24} {:>5} {:<10} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "profile", "bytes", "op", "peerless", "libsrtp", "floor", "vs libsrtp", "vs floor"
    );
    let mut verdicts = Vec::new();
    for profile in [Profile::AesCm128HmacSha1_80, Profile::AeadAes128Gcm] {
        for size in [172usize, 1200] {
            let (mut o, mut l, mut f) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                o.push(ours(profile, size, count));
                l.push(harness.libsrtp(profile, size, count));
                f.push(floor(profile, size, count));
            }
            let (o, l, f) = (best(&o), best(&l), best(&f));
            for (op, ours, lib, floor) in [("protect", o.0, l.0, f.0), ("unprotect", o.1, l.1, f.1)]
            {
                let speedup = lib / ours;
                let over_floor = ours / floor;
                println!(
                    "{:<24} {:>5} {:<10} {:>9.0} {:>9.0} {:>9.0} {:>9.2}x {:>9.2}x",
                    profile.name(),
                    size,
                    op,
                    ours,
                    lib,
                    floor,
                    speedup,
                    over_floor
                );
                verdicts.push((speedup >= 1.2, over_floor <= 1.10));
            }
        }
    }
    let _ = writeln!(harness.stdin, "quit");
    let _ = child.wait();
    let fast = verdicts.iter().filter(|v| v.0).count();
    let lean = verdicts.iter().filter(|v| v.1).count();
    println!(
        "goals: >= 1.2x libsrtp throughput on {fast}/{} rows; <= 1.10x the floor on {lean}/{} rows (informational, never gates)",
        verdicts.len(),
        verdicts.len()
    );
}
