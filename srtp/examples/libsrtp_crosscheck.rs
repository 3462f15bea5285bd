//! Cross-check against libsrtp2: the same random packets through peerless and through
//! libsrtp (the C harness in `bench/srtp/harness.c`, driven over stdin/stdout), for all four
//! profiles. Our protected bytes must equal libsrtp's, and each side must unprotect the
//! other's output back to the original packet.
//!
//! Run by `scripts/interop/srtp-libsrtp.sh`:
//! `cargo run -p peerless-srtp --example libsrtp_crosscheck -- HARNESS [PACKETS] [SEED]`.

// A test driver: a failed check must stop the run loudly, so panics are the point here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use peerless_rtp::packet::{Element, ExtensionForm, Header};
use peerless_srtp::{Config, Context, Profile};

/// A small deterministic generator (splitmix64): the run is reproducible from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

struct Harness {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Harness {
    fn spawn(path: &str) -> Harness {
        let mut child = Command::new(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Harness {
            _child: child,
            stdin,
            stdout,
        }
    }

    fn call(&mut self, line: &str) -> Result<Vec<u8>, String> {
        writeln!(self.stdin, "{line}").expect("write to harness");
        self.stdin.flush().expect("flush");
        let mut reply = String::new();
        self.stdout
            .read_line(&mut reply)
            .expect("read from harness");
        let reply = reply.trim_end();
        match reply.strip_prefix("ok") {
            Some(rest) => Ok(unhex(rest.trim())),
            None => Err(reply.to_string()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex from harness"))
        .collect()
}

/// A random RTP packet: random CSRCs, no/one-byte/two-byte extension, payload, padding.
fn random_rtp(rng: &mut Rng, ssrc: u32, seq: u16) -> Vec<u8> {
    let csrcs: Vec<u32> = (0..rng.below(4)).map(|_| rng.next() as u32).collect();
    let datas: Vec<Vec<u8>> = (0..rng.below(4))
        .map(|_| {
            let n = 1 + rng.below(16) as usize;
            rng.bytes(n)
        })
        .collect();
    let form = match rng.below(3) {
        0 => ExtensionForm::OneByte,
        1 => ExtensionForm::TwoByte,
        _ => ExtensionForm::Auto,
    };
    let elements: Vec<Element<'_>> = datas
        .iter()
        .enumerate()
        .map(|(i, d)| Element {
            id: 1 + i as u8,
            data: d,
        })
        .collect();
    let payload = {
        let n = rng.below(1200) as usize;
        rng.bytes(n)
    };
    let header = Header {
        marker: rng.below(2) == 1,
        payload_type: rng.below(128) as u8,
        sequence_number: seq,
        timestamp: rng.next() as u32,
        ssrc,
        csrcs: &csrcs,
        extensions: &elements,
        extension_form: form,
        padding: if rng.below(8) == 0 {
            1 + rng.below(8) as u8
        } else {
            0
        },
    };
    let mut buf = vec![0u8; 2048];
    let n = header.emit(&payload, &mut buf).expect("emit");
    buf.truncate(n);
    buf
}

/// A random RTCP packet: a sender report header from `ssrc` and a random body.
fn random_rtcp(rng: &mut Rng, ssrc: u32) -> Vec<u8> {
    let words = 6 + rng.below(40) as usize;
    let mut p = vec![0x80, 200, 0, words as u8];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend(rng.bytes(words * 4));
    p
}

fn protect(ctx: &mut Context, packet: &[u8], rtcp: bool) -> Vec<u8> {
    let mut buf = packet.to_vec();
    buf.resize(packet.len() + 64, 0);
    let n = if rtcp {
        ctx.protect_rtcp(&mut buf, packet.len())
    } else {
        ctx.protect_rtp(&mut buf, packet.len())
    }
    .expect("peerless protect");
    buf.truncate(n);
    buf
}

fn unprotect(
    ctx: &mut Context,
    packet: &[u8],
    rtcp: bool,
) -> Result<Vec<u8>, peerless_srtp::Error> {
    let mut buf = packet.to_vec();
    let n = if rtcp {
        ctx.unprotect_rtcp(&mut buf)
    } else {
        ctx.unprotect_rtp(&mut buf)
    }?;
    buf.truncate(n);
    Ok(buf)
}

/// Protects `packet` on both sides, compares, and cross-unprotects.
fn check_one(
    harness: &mut Harness,
    ours_out: &mut Context,
    ours_in: &mut Context,
    profile: Profile,
    n: usize,
    packet: &[u8],
    rtcp: bool,
) {
    let kind = if rtcp { "rtcp" } else { "rtp" };
    let ours = protect(ours_out, packet, rtcp);
    let theirs = harness
        .call(&format!("p{kind} {}", hex(packet)))
        .unwrap_or_else(|e| panic!("libsrtp protect {kind} failed: {e}"));
    assert_eq!(
        hex(&ours),
        hex(&theirs),
        "{profile} packet {n} ({kind}): protected bytes differ\nplain {}",
        hex(packet)
    );
    // Each side unprotects the other's output (equal bytes, but both receive paths run).
    let back = harness
        .call(&format!("u{kind} {}", hex(&ours)))
        .unwrap_or_else(|e| panic!("libsrtp unprotect of ours failed: {e}"));
    assert_eq!(back, packet, "{profile}: libsrtp unprotected ours wrongly");
    let back = unprotect(ours_in, &theirs, rtcp)
        .unwrap_or_else(|e| panic!("{profile} packet {n}: unprotect of libsrtp's: {e}"));
    assert_eq!(back, packet, "{profile}: we unprotected libsrtp's wrongly");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let harness_path = args
        .get(1)
        .expect("usage: libsrtp_crosscheck HARNESS [PACKETS] [SEED]");
    let packets: usize = args.get(2).map_or(600, |s| s.parse().expect("packets"));
    let seed: u64 = args
        .get(3)
        .map_or(0x5eed_5129, |s| s.parse().expect("seed"));
    let mut harness = Harness::spawn(harness_path);
    let mut rng = Rng(seed);
    let mut checked = 0usize;

    for profile in Profile::ALL {
        let key = rng.bytes(profile.master_key_len());
        let salt = rng.bytes(profile.master_salt_len());
        harness
            .call(&format!(
                "session {} {}{}",
                profile.dtls_id(),
                hex(&key),
                hex(&salt)
            ))
            .expect("libsrtp session");
        let mut ours_out: Context = Context::new(profile, &key, &salt, Config::default()).unwrap();
        let mut ours_in: Context = Context::new(profile, &key, &salt, Config::default()).unwrap();

        // Three SSRCs, each starting a little before a sequence number rollover so the
        // run crosses it (ROC 0 -> 1), plus one far from it.
        let mut streams: Vec<(u32, u16)> = (0..3)
            .map(|i| {
                let start = if i < 2 {
                    65535 - rng.below(packets as u64 / 6) as u16
                } else {
                    rng.next() as u16
                };
                (rng.next() as u32, start)
            })
            .collect();
        let mut pending: Option<(Vec<u8>, bool)> = None;
        for n in 0..packets {
            let which = rng.below(streams.len() as u64) as usize;
            let rtcp = rng.below(8) == 0;
            let packet = if rtcp {
                random_rtcp(&mut rng, streams[which].0)
            } else {
                let (ssrc, seq) = streams[which];
                streams[which].1 = seq.wrapping_add(1);
                random_rtp(&mut rng, ssrc, seq)
            };
            // Swap some neighbours: protection order then differs from sequence order,
            // exercising the ROC estimate on both sides of a wrap.
            let (packet, rtcp) = if rng.below(5) == 0 && pending.is_none() {
                pending = Some((packet, rtcp));
                continue;
            } else {
                (packet, rtcp)
            };
            let mut batch = vec![(packet, rtcp)];
            if let Some(p) = pending.take() {
                batch.push(p);
            }
            for (packet, rtcp) in batch {
                check_one(
                    &mut harness,
                    &mut ours_out,
                    &mut ours_in,
                    profile,
                    n,
                    &packet,
                    rtcp,
                );
                checked += 1;
            }
        }
        if let Some((packet, rtcp)) = pending.take() {
            check_one(
                &mut harness,
                &mut ours_out,
                &mut ours_in,
                profile,
                packets,
                &packet,
                rtcp,
            );
            checked += 1;
        }
        // A replay is rejected by both.
        let packet = random_rtp(&mut rng, streams[0].0, streams[0].1);
        let ours = protect(&mut ours_out, &packet, false);
        harness
            .call(&format!("urtp {}", hex(&ours)))
            .expect("first delivery");
        assert!(
            harness.call(&format!("urtp {}", hex(&ours))).is_err(),
            "libsrtp accepted a replay"
        );
        assert!(unprotect(&mut ours_in, &ours, false).is_ok());
        assert!(
            unprotect(&mut ours_in, &ours, false).is_err(),
            "we accepted a replay"
        );
        println!(
            "{profile}: {packets} packets equal to libsrtp and cross-unprotected; ROC now {:?}",
            ours_in.roc(streams[0].0)
        );
    }
    let _ = harness.call("quit");
    println!("libsrtp cross-check: {checked} packets, all four profiles, byte for byte: PASS");
}
