//! Properties of SRTP/SRTCP protection: round trips for every profile, no panic on any
//! input, replays and packets older than the window always rejected, and the rollover
//! counter followed through reordering across a wrap. `PROPTEST_CASES` raises the case count.

// Test helpers outside #[test] functions: a failure must stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_rtp::packet::{Element, ExtensionForm, Header, Packet};
use peerless_srtp::{Config, Context, Error, Profile};
use proptest::prelude::*;

fn profile() -> impl Strategy<Value = Profile> {
    prop::sample::select(Profile::ALL.to_vec())
}

fn pair(profile: Profile, seed: u8, config: Config) -> (Context, Context) {
    let key: Vec<u8> = (0..profile.master_key_len() as u8)
        .map(|i| i ^ seed)
        .collect();
    let salt: Vec<u8> = (0..profile.master_salt_len() as u8)
        .map(|i| i.wrapping_mul(seed))
        .collect();
    (
        Context::new(profile, &key, &salt, config).unwrap(),
        Context::new(profile, &key, &salt, config).unwrap(),
    )
}

#[derive(Debug, Clone)]
struct RtpParts {
    ssrc: u32,
    csrcs: Vec<u32>,
    extensions: Vec<(u8, Vec<u8>)>,
    form: ExtensionForm,
    payload: Vec<u8>,
    padding: u8,
}

fn rtp_parts() -> impl Strategy<Value = RtpParts> {
    (
        any::<u32>(),
        prop::collection::vec(any::<u32>(), 0..16),
        prop::collection::vec((1u8..15, prop::collection::vec(any::<u8>(), 1..17)), 0..5),
        prop::sample::select(vec![
            ExtensionForm::Auto,
            ExtensionForm::OneByte,
            ExtensionForm::TwoByte,
        ]),
        prop::collection::vec(any::<u8>(), 0..1300),
        prop_oneof![Just(0u8), 1u8..=16],
    )
        .prop_map(
            |(ssrc, csrcs, extensions, form, payload, padding)| RtpParts {
                ssrc,
                csrcs,
                extensions,
                form,
                payload,
                padding,
            },
        )
}

fn emit(parts: &RtpParts, seq: u16) -> Vec<u8> {
    let elements: Vec<Element<'_>> = parts
        .extensions
        .iter()
        .map(|(id, d)| Element { id: *id, data: d })
        .collect();
    let header = Header {
        marker: seq.is_multiple_of(2),
        payload_type: 96,
        sequence_number: seq,
        timestamp: u32::from(seq) * 3000,
        ssrc: parts.ssrc,
        csrcs: &parts.csrcs,
        extensions: &elements,
        extension_form: parts.form,
        padding: parts.padding,
    };
    let mut buf = vec![0u8; 2048];
    let n = header.emit(&parts.payload, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn protect(ctx: &mut Context, plain: &[u8]) -> Vec<u8> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + ctx.profile().rtp_overhead(), 0);
    let n = ctx.protect_rtp(&mut buf, plain.len()).unwrap();
    assert_eq!(n, buf.len());
    buf
}

fn unprotect(ctx: &mut Context, packet: &[u8]) -> Result<Vec<u8>, Error> {
    let mut buf = packet.to_vec();
    let n = ctx.unprotect_rtp(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(64)))]

    /// unprotect(protect(p)) == p for RTP with CSRCs, both extension forms and padding.
    #[test]
    fn rtp_round_trips(p in profile(), seed in any::<u8>(), parts in rtp_parts(), seq in any::<u16>()) {
        let (mut tx, mut rx) = pair(p, seed, Config::default());
        let plain = emit(&parts, seq);
        let protected = protect(&mut tx, &plain);
        // The header stays readable; the payload does not (unless empty).
        prop_assert_eq!(&protected[..Packet::parse(&plain).unwrap().header_len()],
                        &plain[..Packet::parse(&plain).unwrap().header_len()]);
        prop_assert_eq!(unprotect(&mut rx, &protected).unwrap(), plain);
    }

    /// unprotect(protect(p)) == p for RTCP, encrypted or not.
    #[test]
    fn rtcp_round_trips(p in profile(), seed in any::<u8>(), ssrc in any::<u32>(),
                        body in prop::collection::vec(any::<u8>(), 0..400), encrypt in any::<bool>()) {
        let (mut tx, mut rx) = pair(p, seed, Config::default().with_encrypt_rtcp(encrypt));
        let words = body.len() / 4 + 1;
        let mut plain = vec![0x80, 201, 0, words as u8];
        plain.extend_from_slice(&ssrc.to_be_bytes());
        plain.extend_from_slice(&body[..(words - 1) * 4]);
        let mut buf = plain.clone();
        buf.resize(plain.len() + p.rtcp_overhead(), 0);
        let n = tx.protect_rtcp(&mut buf, plain.len()).unwrap();
        prop_assert_eq!(n, buf.len());
        prop_assert_eq!(rx.unprotect_rtcp(&mut buf), Ok(plain.len()));
        prop_assert_eq!(&buf[..plain.len()], &plain[..]);
    }

    /// Arbitrary bytes never panic in RTP parse or in unprotect, and never authenticate.
    #[test]
    fn arbitrary_bytes_never_panic(p in profile(), mut bytes in prop::collection::vec(any::<u8>(), 0..200), rtpish in any::<bool>()) {
        if rtpish && !bytes.is_empty() {
            bytes[0] = 0x80 | (bytes[0] & 0x3f); // version 2: reach the deeper checks
        }
        if let Ok(packet) = Packet::parse(&bytes) {
            let _ = (packet.csrcs().count(), packet.extensions().count(), packet.payload(), packet.extension());
        }
        let (mut a, mut b) = pair(p, 1, Config::default());
        let mut copy = bytes.clone();
        prop_assert!(a.unprotect_rtp(&mut copy).is_err());
        let mut copy = bytes.clone();
        prop_assert!(b.unprotect_rtcp(&mut copy).is_err());
        prop_assert_eq!(a.ssrcs().count() + b.ssrcs().count(), 0, "a forged packet took a table slot");
    }

    /// Any delivery order with duplicates: every outcome is the one RFC 3711 predicts, so each
    /// packet is accepted at most once and every second copy is rejected as a replay.
    ///
    /// The model is the receiver of RFC 3711: its rollover counter starts at 0 with the first
    /// packet it accepts (§3.3.1), and each index is guessed from the highest one accepted so
    /// far (Appendix A). The sender started at ROC 0 with `start`, so when `start` is within
    /// 60 of the wrap, a packet from after the wrap that arrives before any from before it is
    /// guessed at ROC 0, fails authentication and changes nothing; that is what the receiver
    /// must do, not a flake. TooOld needs an index a whole window (128) behind the highest.
    #[test]
    fn replays_are_always_rejected(p in profile(), start in any::<u16>(),
                                   order in prop::collection::vec(0usize..60, 1..200)) {
        let (mut tx, mut rx) = pair(p, 3, Config::default());
        let parts = RtpParts { ssrc: 9, csrcs: vec![], extensions: vec![], form: ExtensionForm::Auto, payload: vec![1; 20], padding: 0 };
        let plains: Vec<Vec<u8>> = (0..60u16).map(|i| emit(&parts, start.wrapping_add(i))).collect();
        let packets: Vec<Vec<u8>> = plains.iter().map(|pl| protect(&mut tx, pl)).collect();
        let true_index = |i: usize| u64::from(start) + i as u64;
        let mut top: Option<u64> = None;
        let mut accepted = std::collections::BTreeSet::new();
        for i in order {
            let seq = start.wrapping_add(i as u16);
            let guess = top.map_or(u64::from(seq), |t| rfc3711_guess(t, seq));
            let expected = if guess != true_index(i) {
                Err(Error::AuthenticationFailed)
            } else if top.is_some_and(|t| guess <= t && t - guess >= 128) {
                Err(Error::TooOld)
            } else if accepted.contains(&i) {
                Err(Error::Replayed)
            } else {
                Ok(plains[i].clone())
            };
            prop_assert_eq!(unprotect(&mut rx, &packets[i]), expected, "packet {} (seq {})", i, seq);
            if guess == true_index(i) && accepted.insert(i) {
                top = Some(top.map_or(guess, |t| t.max(guess)));
            }
        }
    }

    /// A packet at least `window` behind the highest index is rejected, even though it
    /// authenticates; one just inside the window is accepted.
    #[test]
    fn outside_the_window_is_rejected(p in profile(), window in 64u32..=256, start in any::<u16>(), extra in 0u16..100) {
        let config = Config::default().with_replay_window(window);
        let key = vec![5u8; p.master_key_len()];
        let salt = vec![6u8; p.master_salt_len()];
        let mut tx: Context<4, 4> = Context::new(p, &key, &salt, config).unwrap();
        let mut rx: Context<4, 4> = Context::new(p, &key, &salt, config).unwrap();
        let parts = RtpParts { ssrc: 1, csrcs: vec![], extensions: vec![], form: ExtensionForm::Auto, payload: vec![2; 10], padding: 0 };
        let span = window as u16 + extra + 1;
        let mut packets = Vec::new();
        for i in 0..span {
            let plain = emit(&parts, start.wrapping_add(i));
            let mut buf = plain.clone();
            buf.resize(plain.len() + p.rtp_overhead(), 0);
            tx.protect_rtp(&mut buf, plain.len()).unwrap();
            packets.push(buf);
        }
        // The receiver learns the stream from its first packet (ROC 0), then jumps ahead.
        let mut first = packets[0].clone();
        prop_assert!(rx.unprotect_rtp(&mut first).is_ok());
        let mut newest = packets[span as usize - 1].clone();
        prop_assert!(rx.unprotect_rtp(&mut newest).is_ok());
        let too_old = span as usize - 1 - window as usize;
        let mut old = packets[too_old].clone();
        prop_assert_eq!(rx.unprotect_rtp(&mut old), Err(Error::TooOld));
        let mut inside = packets[too_old + 1].clone();
        prop_assert!(rx.unprotect_rtp(&mut inside).is_ok());
    }

    /// Packets crossing a rollover, delivered with bounded reordering: all accepted exactly
    /// once, each decrypting to its own plaintext (a wrong ROC guess would fail the tag).
    #[test]
    fn reordering_across_a_wrap_is_followed(p in profile(), before in 1u16..200,
                                            delays in prop::collection::vec(0usize..60, 400)) {
        let (mut tx, mut rx) = pair(p, 7, Config::default());
        let parts = RtpParts { ssrc: 77, csrcs: vec![1], extensions: vec![(3, vec![9, 9])], form: ExtensionForm::Auto, payload: vec![3; 50], padding: 0 };
        let start = 0u16.wrapping_sub(before);
        let plains: Vec<Vec<u8>> = (0..400u16).map(|i| emit(&parts, start.wrapping_add(i))).collect();
        let protected: Vec<Vec<u8>> = plains.iter().map(|pl| protect(&mut tx, pl)).collect();
        // Packet i arrives at time i + delay_i: any packet overtakes by fewer than 60,
        // inside the 128-packet window.
        let mut order: Vec<usize> = (0..400).collect();
        order.sort_by_key(|&i| (i + delays[i], i));
        // The first packet the receiver sees fixes ROC 0 (RFC 3711 §3.3.1): make it the
        // first one sent, as a real session's first packet is before any wrap.
        order.retain(|&i| i != 0);
        order.insert(0, 0);
        for i in order {
            prop_assert_eq!(unprotect(&mut rx, &protected[i]).unwrap(), plains[i].clone(), "packet {}", i);
        }
        prop_assert_eq!(rx.roc(77), Some(1));
    }
}

/// RFC 3711 Appendix A, written from the RFC's pseudocode: the index of `seq` given the
/// highest accepted index `top` (`s_l` and ROC). A guess of ROC - 1 at ROC 0 stays at 0, as
/// libsrtp does (the RFC leaves it undefined).
fn rfc3711_guess(top: u64, seq: u16) -> u64 {
    let (roc, s_l) = ((top >> 16) as i64, i64::from(top as u16));
    let seq = i64::from(seq);
    let v = if s_l < 32768 {
        if seq - s_l > 32768 { roc - 1 } else { roc }
    } else if s_l - 32768 > seq {
        roc + 1
    } else {
        roc
    };
    (v.max(0) as u64) << 16 | seq as u64
}

#[test]
fn a_full_table_drops_new_ssrcs_and_a_bad_window_is_refused() {
    let p = Profile::AesCm128HmacSha1_80;
    let (key, salt) = ([1u8; 16], [2u8; 14]);
    let mut tx: Context<4> = Context::new(p, &key, &salt, Config::default()).unwrap();
    let mut rx: Context<2> = Context::new(p, &key, &salt, Config::default()).unwrap();
    for ssrc in 1..=3 {
        let parts = RtpParts {
            ssrc,
            csrcs: vec![],
            extensions: vec![],
            form: ExtensionForm::Auto,
            payload: vec![0; 4],
            padding: 0,
        };
        let plain = emit(&parts, 1);
        let mut buf = plain.clone();
        buf.resize(plain.len() + 10, 0);
        tx.protect_rtp(&mut buf, plain.len()).unwrap();
        let result = rx.unprotect_rtp(&mut buf);
        if ssrc <= 2 {
            assert_eq!(result, Ok(plain.len()));
        } else {
            assert_eq!(result, Err(Error::SsrcTableFull));
        }
    }
    assert_eq!(rx.stats().dropped_ssrc_table_full, 1);
    assert!(rx.remove_ssrc(1));
    assert_eq!(rx.ssrcs().collect::<Vec<_>>(), vec![2]);
    assert_eq!(
        Context::<2, 2>::new(p, &key, &salt, Config::default().with_replay_window(129)).err(),
        Some(Error::InvalidConfig)
    );
    assert_eq!(
        Context::<2, 2>::new(p, &key[..15], &salt, Config::default()).err(),
        Some(Error::InvalidKeyLength)
    );
    // Protect refuses to reuse an index unless asked, and reports a short buffer.
    let plain = emit(
        &RtpParts {
            ssrc: 1,
            csrcs: vec![],
            extensions: vec![],
            form: ExtensionForm::Auto,
            payload: vec![0; 4],
            padding: 0,
        },
        1,
    );
    let mut buf = plain.clone();
    buf.resize(plain.len() + 10, 0);
    assert_eq!(tx.protect_rtp(&mut buf, plain.len()), Err(Error::Replayed));
    assert_eq!(
        tx.protect_rtp(&mut buf[..plain.len() + 9], plain.len()),
        Err(Error::BufferTooSmall {
            needed: plain.len() + 10
        })
    );
    let mut repeat: Context =
        Context::new(p, &key, &salt, Config::default().with_allow_repeat_tx(true)).unwrap();
    let mut first = buf.clone();
    first[..plain.len()].copy_from_slice(&plain);
    let mut second = first.clone();
    repeat.protect_rtp(&mut first, plain.len()).unwrap();
    repeat.protect_rtp(&mut second, plain.len()).unwrap();
    assert_eq!(first, second);
}
