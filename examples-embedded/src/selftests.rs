//! The crates' on-target self-tests: the `selftests` variant image (feature `selftests`), apart
//! from the reference image so that image's flash is what a product links (two Peers, a data
//! channel) and not these checks and their drivers.
//!
//! ```text
//!   run -> base: DRBG known answer, wire cursor, saturating time
//!       -> dtls_handshake: two endpoints in memory (+ RSA known answer with `rsa`)
//!       -> srtp_packets: libsrtp's known answer, one 1200 B packet per profile
//!       -> rtp_media: VP8 with NACK/RTX through the jitter buffer, Opus, SR/RR
//!       -> Ok(every check passed)
//! ```
//!
//! Every line keeps the name and format it had when these ran in the reference image: the
//! README's instruction rows are read from them.

use core::fmt::Write;
use peerless_base::{Drbg, Instant, Reader, Writer};

use crate::app::Failed;

/// Runs every self-test and writes its `key=value` lines; `Ok(false)` on a wrong answer.
// Not inlined: each check's buffers and endpoints live only while it runs.
#[inline(never)]
pub fn run(out: &mut impl Write, instructions: &impl Fn() -> u64) -> Result<bool, Failed> {
    // NIST CAVP HMAC_DRBG SHA-256 no-reseed COUNT 0: the answer must match on the target too.
    let start = instructions();
    let mut kat = Drbg::instantiate(&KAT_ENTROPY, &KAT_NONCE, &[]);
    let mut block = [0u8; 128];
    kat.fill(&mut block);
    kat.fill(&mut block);
    let spent = instructions() - start;
    let kat_ok = block[..16] == KAT_EXPECTED_PREFIX;
    writeln!(out, "drbg_kat={}", if kat_ok { "pass" } else { "FAIL" })?;
    writeln!(out, "drbg_kat_instructions={spent}")?;

    // A device would seed from its TRNG; the proof uses a fixed seed so its output is checkable.
    let mut drbg = Drbg::from_seed(&[0x42; 32], b"peerless-firmware");
    let mut bytes = [0u8; 16];
    drbg.fill(&mut bytes);
    write!(out, "drbg_bytes=")?;
    for b in bytes {
        write!(out, "{b:02x}")?;
    }
    writeln!(out)?;

    // The wire cursor round-trips on the target's endianness and alignment.
    let mut buf = [0u8; 16];
    let mut w = Writer::new(&mut buf);
    w.u16(0x0001);
    w.u48(0x0000_1234_5678_9abc);
    w.u32(0x2112_a442);
    let n = w.finish().map_err(|_| Failed)?;
    let mut r = Reader::new(&buf[..n]);
    let wire_ok = r.u16() == Ok(1) && r.u48() == Ok(0x1234_5678_9abc) && r.u32() == Ok(0x2112_a442);
    writeln!(
        out,
        "wire_roundtrip={}",
        if wire_ok { "pass" } else { "FAIL" }
    )?;

    let later = Instant::from_millis(1) + core::time::Duration::from_secs(u64::MAX);
    let time_ok = later == Instant::MAX;
    writeln!(
        out,
        "instant_saturates={}",
        if time_ok { "pass" } else { "FAIL" }
    )?;

    let dtls_ok = dtls_handshake(out, instructions)?;
    let srtp_ok = srtp_packets(out, instructions)?;
    let rtp_ok = rtp_media(out, instructions)?;
    Ok(kat_ok && wire_ok && time_ok && dtls_ok && srtp_ok && rtp_ok)
}

/// Two DTLS endpoints complete one handshake in memory with the default configuration (ECDHE
/// over x25519, ECDSA P-256 certificates both ways, AES-128-GCM, use_srtp, extended master
/// secret); instructions are counted per side, certificate generation apart.
// Not inlined: its two endpoints (7.6 KB each) then live only while it runs instead of
// widening `run`'s frame, which the later checks sit on.
#[inline(never)]
fn dtls_handshake(out: &mut impl Write, instructions: &impl Fn() -> u64) -> Result<bool, Failed> {
    use peerless_dtls::{Certificate, Config, Endpoint, HashAlgorithm, Role, Validity, selftest};

    let start = instructions();
    let mut rng = Drbg::from_seed(&[7; 32], b"firmware-certificates");
    let validity = Validity::days_from(1_700_000_000, 30);
    let (Ok(a), Ok(b)) = (
        Certificate::generate(&mut rng, validity),
        Certificate::generate(&mut rng, validity),
    ) else {
        writeln!(out, "dtls_handshake=FAIL certificate")?;
        return Ok(false);
    };
    writeln!(
        out,
        "dtls_certificate_pair_instructions={}",
        instructions() - start
    )?;
    let (fa, fb) = (
        a.fingerprint(HashAlgorithm::Sha256),
        b.fingerprint(HashAlgorithm::Sha256),
    );
    let mut client: Endpoint<2048, 2048> =
        Endpoint::new(Config::new(Role::Client, a, [1; 32]), Instant::ZERO);
    let mut server: Endpoint<2048, 2048> =
        Endpoint::new(Config::new(Role::Server, b, [2; 32]), Instant::ZERO);
    client.set_remote_fingerprint(fb);
    server.set_remote_fingerprint(fa);
    let mut buf = [0u8; 1200];
    let mut spent = [0u64; 2];
    let result = selftest::handshake(&mut client, &mut server, &mut buf, |side, call| {
        let t = instructions();
        call();
        spent[side as usize] += instructions() - t;
    });
    let ok = result.is_ok();
    writeln!(out, "dtls_handshake={}", if ok { "pass" } else { "FAIL" })?;
    writeln!(out, "dtls_handshake_instructions_client={}", spent[0])?;
    writeln!(out, "dtls_handshake_instructions_server={}", spent[1])?;
    writeln!(
        out,
        "dtls_endpoint_bytes={}",
        core::mem::size_of::<Endpoint<2048, 2048>>()
    )?;
    // With `rsa`: what verifying an RSA peer's signature costs (two 2048-bit verifications:
    // OpenSSL's signature, and the same with one bit changed, which must be refused).
    #[cfg(feature = "rsa")]
    let ok = {
        let t = instructions();
        let rsa = selftest::rsa_known_answer();
        let spent = instructions() - t;
        writeln!(
            out,
            "dtls_rsa2048_verify={}",
            if rsa { "pass" } else { "FAIL" }
        )?;
        writeln!(out, "dtls_rsa2048_verify_instructions={}", spent / 2)?;
        ok && rsa
    };
    Ok(ok)
}

/// libsrtp's validation packet, then one 1200 B packet protected and unprotected per profile.
// Not inlined: its packet buffer then lives only while it runs, not under the later checks.
#[inline(never)]
fn srtp_packets(out: &mut impl Write, instructions: &impl Fn() -> u64) -> Result<bool, Failed> {
    use peerless_srtp::{Profile, selftest};

    let mut ok = selftest::known_answer();
    writeln!(
        out,
        "srtp_libsrtp_known_answer={}",
        if ok { "pass" } else { "FAIL" }
    )?;
    let mut buf = [0u8; selftest::PACKET_LEN + 16];
    for profile in Profile::ALL {
        let Ok(mut probe) = selftest::PacketLoop::new(profile, &mut buf) else {
            ok = false;
            continue;
        };
        let t0 = instructions();
        let protected = probe.protect();
        let t1 = instructions();
        let unprotected = protected.map(|n| probe.unprotect(n));
        let t2 = instructions();
        let pass = matches!(unprotected, Ok(Ok(())));
        ok &= pass;
        writeln!(
            out,
            "srtp_1200B profile={profile:?} protect_instructions={} unprotect_instructions={} roundtrip={}",
            t1 - t0,
            t2 - t1,
            if pass { "pass" } else { "FAIL" }
        )?;
    }
    Ok(ok)
}

/// The media path: a 5000 B VP8 keyframe cut into RTP packets at MTU 1200, one lost and
/// answered as RTX after a NACK, released whole by the jitter buffer; an Opus stream through a
/// 4-slot jitter buffer; an SR/RR exchange. Instructions per packet for each step.
// Not inlined: its buffers then live only while it runs instead of widening `run`'s frame.
#[inline(never)]
fn rtp_media(out: &mut impl Write, instructions: &impl Fn() -> u64) -> Result<bool, Failed> {
    use peerless_rtp::selftest;

    let report = match selftest::run(instructions) {
        Ok(report) => report,
        Err(failure) => {
            writeln!(out, "rtp_media=FAIL {failure}")?;
            return Ok(false);
        }
    };
    let spent = report.instructions;
    let per = |total: u64, packets: usize| total / (packets.max(1) as u64);
    writeln!(out, "rtp_media=pass")?;
    writeln!(
        out,
        "rtp_vp8 frame_bytes={} packets={} retransmitted={} rtcp_bytes={} rtt_us={}",
        report.video_frame_bytes,
        report.video_packets,
        report.retransmitted,
        report.rtcp_bytes,
        // u64, not the u128 of `as_micros`: u128's Display is 1.4 KB of flash.
        u64::try_from(report.rtt.as_micros()).unwrap_or(u64::MAX)
    )?;
    // The jitter buffer took as many packets as were sent: the ones that arrived plus the RTX.
    let inserted = report.video_packets;
    writeln!(
        out,
        "rtp_vp8_instructions_per_packet packetize={} jitter_insert_release={} nack_rtx={}",
        per(spent.packetize, report.video_packets),
        per(spent.jitter, inserted),
        per(spent.nack_rtx, report.retransmitted)
    )?;
    writeln!(
        out,
        "rtp_opus frames={} gaps={} instructions_per_packet={}",
        report.audio_frames,
        report.audio_gaps,
        per(spent.audio, selftest::AUDIO_PACKETS - 1)
    )?;
    Ok(true)
}

const KAT_ENTROPY: [u8; 32] = [
    0xca, 0x85, 0x19, 0x11, 0x34, 0x93, 0x84, 0xbf, 0xfe, 0x89, 0xde, 0x1c, 0xbd, 0xc4, 0x6e, 0x68,
    0x31, 0xe4, 0x4d, 0x34, 0xa4, 0xfb, 0x93, 0x5e, 0xe2, 0x85, 0xdd, 0x14, 0xb7, 0x1a, 0x74, 0x88,
];
const KAT_NONCE: [u8; 16] = [
    0x65, 0x9b, 0xa9, 0x6c, 0x60, 0x1d, 0xc6, 0x9f, 0xc9, 0x02, 0x94, 0x08, 0x05, 0xec, 0x0c, 0xa8,
];
const KAT_EXPECTED_PREFIX: [u8; 16] = [
    0xe5, 0x28, 0xe9, 0xab, 0xf2, 0xde, 0xce, 0x54, 0xd4, 0x7c, 0x7e, 0x75, 0xe5, 0xfe, 0x30, 0x21,
];
