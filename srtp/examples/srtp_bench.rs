//! SRTP benchmark: peerless vs libsrtp (the C harness, one process per libsrtp build given on
//! the command line as `LABEL=PATH`: `scripts/bench/srtp.sh` passes libsrtp 2.5.0 built with
//! OpenSSL and Debian's NSS build) vs a bare RustCrypto loop of the same shape (the floor: the
//! cipher and MAC calls alone, without header parsing, SSRC lookup or replay window), all in
//! the same run. Each side is a column; each ratio a column that names its two sides.
//!
//! Every row protects N packets (copy a template in, set the sequence number, protect, drop
//! the result) and unprotects N packets prepared beforehand, in order (copy in, unprotect),
//! exactly as the C harness does. Each side runs five rounds, interleaved; the best round counts.
//! Prints, never gates. Run by `scripts/bench/srtp.sh` in release mode; no
//! `-C target-cpu=native`: aes, sha1 and polyval pick AES-NI, SHA-NI and PCLMULQDQ at run
//! time.

// A measuring tool: a broken setup must stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

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

/// This thread's CPU time: other processes on a shared machine preempt the loop without
/// counting (the C harness reads the same clock).
fn cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
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
    let t0 = cpu_now();
    for i in 0..count {
        buf[..size].copy_from_slice(&t);
        buf[2..4].copy_from_slice(&(i as u16).to_be_bytes());
        let n = protect(&mut buf, size, i);
        sink ^= buf[n - 1];
    }
    let t1 = cpu_now();
    for i in 0..count {
        let out = &mut store[i * stride..(i + 1) * stride];
        out[..size].copy_from_slice(&t);
        out[2..4].copy_from_slice(&(i as u16).to_be_bytes());
        lens[i] = prepare(out, size, i);
    }
    let t2 = cpu_now();
    for i in 0..count {
        let n = lens[i];
        buf[..n].copy_from_slice(&store[i * stride..i * stride + n]);
        unprotect(&mut buf[..n], i);
        sink ^= buf[0];
    }
    let t3 = cpu_now();
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

/// A libsrtp harness process (`bench/srtp/harness.c`), one per libsrtp build.
struct Harness {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Harness {
    fn start(path: &str) -> Harness {
        let mut child = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start harness {path}: {e}"));
        Harness {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
        }
    }

    fn call(&mut self, command: &str) -> String {
        writeln!(self.stdin, "{command}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let rest = line.trim_end().strip_prefix("ok ");
        rest.unwrap_or_else(|| panic!("harness: {command}: {line}"))
            .to_string()
    }

    fn libsrtp(&mut self, profile: Profile, size: usize, count: usize) -> Round {
        let line = self.call(&format!("bench {} {size} {count}", profile.dtls_id()));
        let mut parts = line.split_whitespace();
        let p = parts.next().unwrap().parse().unwrap();
        let u = parts.next().unwrap().parse().unwrap();
        (p, u)
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

fn best(rounds: &[Round]) -> Round {
    rounds
        .iter()
        .fold((f64::MAX, f64::MAX), |a, r| (a.0.min(r.0), a.1.min(r.1)))
}

/// One column of the table: an implementation measured on every row, interleaved with the
/// others round by round. Adding a backend is adding a `Side` (and a `Ratio` to read it by).
struct Side {
    /// Column header.
    label: String,
    /// What this side ran, printed above the table.
    what: String,
    run: Box<dyn FnMut(Profile, usize, usize) -> Round>,
}

/// A goal as printed, and the test a ratio meets it by.
type Goal = (&'static str, fn(f64) -> bool);

/// A ratio column: `slow` ns / `fast` ns (above 1.0: `fast` is faster), by side label.
struct Ratio {
    label: String,
    fast: &'static str,
    slow: String,
    /// The goal this ratio is read against, if any (informational, never gates).
    goal: Option<Goal>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: srtp_bench PACKETS [LABEL=HARNESS ...]";
    let count: usize = args.get(1).expect(usage).parse().expect(usage);
    let mut sides = vec![
        Side {
            label: "peerless".into(),
            what: "peerless-srtp Context (RustCrypto: aes 0.9, ctr 0.10, hmac 0.13, sha1 0.11, aes-gcm 0.11)".into(),
            run: Box::new(ours),
        },
        Side {
            label: "floor".into(),
            what: "the same RustCrypto calls alone (AES-CTR + HMAC-SHA1, or AES-GCM; keys set up once; no header parsing, SSRC lookup or replay window)".into(),
            run: Box::new(floor),
        },
    ];
    let mut ratios = vec![Ratio {
        label: "peerless/floor".into(),
        fast: "floor",
        slow: "peerless".into(),
        goal: Some(("<= 1.10x", |x| x <= 1.10)),
    }];
    for arg in &args[2..] {
        let (label, path) = arg.split_once('=').expect(usage);
        let mut harness = Harness::start(path);
        // One small run first, so the crypto library's lazily loaded parts are mapped too.
        harness.libsrtp(Profile::AeadAes128Gcm, 172, 10);
        let version = harness.call("version");
        sides.push(Side {
            label: label.into(),
            what: format!("the C harness (gcc -O2) on {version}"),
            run: Box::new(move |profile, size, count| harness.libsrtp(profile, size, count)),
        });
        ratios.push(Ratio {
            label: format!("x {label}"),
            fast: "peerless",
            slow: label.into(),
            goal: Some((">= 1.2x", |x| x >= 1.2)),
        });
    }

    println!(
        "SRTP benchmark: {count} packets per round, best of {ROUNDS} interleaved rounds, ns/packet of thread CPU time; protect = copy a template in, set the sequence number, protect; unprotect = copy a prepared packet in, unprotect (in order)"
    );
    for side in &sides {
        println!("  {:<16} {}", side.label, side.what);
    }
    println!("  peerless/floor   peerless's ns / the floor's ns (goal <= 1.10x)");
    println!(
        "  x LABEL          LABEL's ns / peerless's ns: above 1, peerless is that many times faster (goal >= 1.2x)"
    );
    let width = |label: &str| label.len().max(8);
    print!("{:<24} {:>5} {:<9}", "profile", "bytes", "op");
    for side in &sides {
        print!(" {:>w$}", side.label, w = width(&side.label));
    }
    for ratio in &ratios {
        print!(" {:>w$}", ratio.label, w = width(&ratio.label));
    }
    println!();
    let index = |label: &str| sides.iter().position(|s| s.label == label).unwrap();
    let ratio_at: Vec<(usize, usize)> = ratios
        .iter()
        .map(|r| (index(r.fast), index(&r.slow)))
        .collect();
    let mut met = vec![0usize; ratios.len()];
    let mut rows = 0;
    for profile in [Profile::AesCm128HmacSha1_80, Profile::AeadAes128Gcm] {
        for size in [172usize, 1200] {
            let mut rounds: Vec<Vec<Round>> = sides.iter().map(|_| Vec::new()).collect();
            for _ in 0..ROUNDS {
                for (side, r) in sides.iter_mut().zip(rounds.iter_mut()) {
                    r.push((side.run)(profile, size, count));
                }
            }
            let results: Vec<Round> = rounds.iter().map(|r| best(r)).collect();
            for (op, pick) in [
                ("protect", (|r: &Round| r.0) as fn(&Round) -> f64),
                ("unprotect", |r: &Round| r.1),
            ] {
                rows += 1;
                print!("{:<24} {:>5} {:<9}", profile.name(), size, op);
                for (side, r) in sides.iter().zip(&results) {
                    print!(" {:>w$.0}", pick(r), w = width(&side.label));
                }
                for (i, (ratio, (fast, slow))) in ratios.iter().zip(&ratio_at).enumerate() {
                    let x = pick(&results[*slow]) / pick(&results[*fast]);
                    print!(" {:>w$.2}x", x, w = width(&ratio.label) - 1);
                    if ratio.goal.is_some_and(|(_, meets)| meets(x)) {
                        met[i] += 1;
                    }
                }
                println!();
            }
        }
    }
    for (ratio, met) in ratios.iter().zip(&met) {
        if let Some((goal, _)) = ratio.goal {
            println!(
                "goal {goal} {}: met on {met}/{rows} rows (informational, never gates)",
                ratio.label
            );
        }
    }
}
