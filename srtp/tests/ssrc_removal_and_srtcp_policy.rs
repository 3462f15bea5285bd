//! Removing an SSRC never lets an (SSRC, index) be protected twice, and SRTCP follows the
//! E-flag policy: each test here failed before its fix.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use peerless_srtp::{Config, Context, Error, Profile};

fn context<const S: usize>(p: Profile, config: Config) -> Context<S> {
    let key: Vec<u8> = (0..p.master_key_len() as u8).collect();
    let salt: Vec<u8> = (0..p.master_salt_len() as u8).map(|i| i ^ 0x5a).collect();
    Context::new(p, &key, &salt, config).unwrap()
}

fn rtp(ssrc: u32, seq: u16) -> Vec<u8> {
    let mut v = vec![0x80, 96];
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&1234u32.to_be_bytes());
    v.extend_from_slice(&ssrc.to_be_bytes());
    v.extend_from_slice(b"the same payload, twice");
    v
}

fn protect<const S: usize>(ctx: &mut Context<S>, plain: &[u8]) -> Result<Vec<u8>, Error> {
    let mut buf = plain.to_vec();
    buf.resize(plain.len() + ctx.profile().rtp_overhead(), 0);
    ctx.protect_rtp(&mut buf, plain.len())?;
    Ok(buf)
}

fn unprotect<const S: usize>(ctx: &mut Context<S>, packet: &[u8]) -> Result<usize, Error> {
    ctx.unprotect_rtp(&mut packet.to_vec())
}

/// An RTCP receiver report of `ssrc`, protected; returns the packet and its SRTCP index.
fn protect_rtcp<const S: usize>(ctx: &mut Context<S>, ssrc: u32) -> Result<(Vec<u8>, u32), Error> {
    let mut plain = vec![0x80, 201, 0, 1];
    plain.extend_from_slice(&ssrc.to_be_bytes());
    let len = plain.len();
    plain.resize(len + ctx.profile().rtcp_overhead(), 0);
    ctx.protect_rtcp(&mut plain, len)?;
    // AES-CM: packet | E+index | tag; AEAD: packet | tag | E+index.
    let at = if ctx.profile().is_aead() {
        plain.len() - 4
    } else {
        len
    };
    let word = u32::from_be_bytes(plain[at..at + 4].try_into().unwrap());
    Ok((plain, word & 0x7fff_ffff))
}

/// RFC 7714 §8.1: (SSRC, index) is the AES-GCM nonce, and a nonce used twice under one key
/// gives away the XOR of two plaintexts and the GHASH key. After `remove_ssrc` the SSRC may
/// come back (a new transceiver reusing it, a bug in the caller): it must continue past the
/// indices it used, never repeat one. The same holds for AES-CM's keystream, and for SRTCP.
#[test]
fn a_removed_ssrc_never_protects_an_index_twice() {
    for p in Profile::ALL {
        let mut tx: Context = context(p, Config::default());
        let mut rx: Context = context(p, Config::default());
        let sent: Vec<Vec<u8>> = (100..110)
            .map(|seq| protect(&mut tx, &rtp(9, seq)).unwrap())
            .collect();
        for packet in &sent {
            unprotect(&mut rx, packet).unwrap();
        }
        let (_, first) = protect_rtcp(&mut tx, 9).unwrap();
        let (_, second) = protect_rtcp(&mut tx, 9).unwrap();
        assert_eq!((first, second), (1, 2));

        assert!(tx.remove_ssrc(9));
        assert!(rx.remove_ssrc(9));
        assert_eq!(tx.ssrcs().count(), 0, "the slot is free");

        // The same (SSRC, index) again: refused, not a second packet under the same nonce.
        assert_eq!(
            protect(&mut tx, &rtp(9, 105)),
            Err(Error::Replayed),
            "{p:?}"
        );
        assert_eq!(
            protect(&mut tx, &rtp(9, 109)),
            Err(Error::Replayed),
            "{p:?}"
        );
        // An old packet replayed to the receiver is refused too.
        assert_eq!(unprotect(&mut rx, &sent[5]), Err(Error::Replayed), "{p:?}");
        // Past the last index the stream goes on, on both sides.
        let next = protect(&mut tx, &rtp(9, 110)).unwrap();
        assert_eq!(unprotect(&mut rx, &next), Ok(rtp(9, 110).len()));
        // SRTCP goes on from the last index sent.
        let (_, third) = protect_rtcp(&mut tx, 9).unwrap();
        assert_eq!(third, 3, "{p:?}");
    }
}

/// The tombstones are a fixed table as big as the SSRC table; when it is full, removing
/// another SSRC keeps its stream (and says so) rather than forget its indices.
#[test]
fn with_every_tombstone_taken_remove_ssrc_keeps_the_stream() {
    let p = Profile::AeadAes128Gcm;
    let mut tx: Context<2> = context(p, Config::default());
    for ssrc in [1, 2] {
        protect(&mut tx, &rtp(ssrc, 7)).unwrap();
        assert!(tx.remove_ssrc(ssrc));
    }
    protect(&mut tx, &rtp(3, 7)).unwrap();
    assert!(!tx.remove_ssrc(3), "no tombstone left: the stream stays");
    assert_eq!(tx.ssrcs().collect::<Vec<_>>(), vec![3]);
    assert_eq!(protect(&mut tx, &rtp(3, 7)), Err(Error::Replayed));
    // SSRC 1 comes back from its tombstone, which frees a tombstone for SSRC 3.
    assert_eq!(protect(&mut tx, &rtp(1, 7)), Err(Error::Replayed));
    protect(&mut tx, &rtp(1, 8)).unwrap();
    assert!(tx.remove_ssrc(3));
    assert_eq!(protect(&mut tx, &rtp(3, 7)), Err(Error::Replayed));
    assert!(!tx.remove_ssrc(42), "unknown");
}

/// RFC 3711 §3.4: the E flag says whether the SRTCP payload is encrypted. A packet whose
/// flag disagrees with our policy is refused and counted: accepting an unencrypted packet
/// when we require encryption would let anyone who can make the sender's policy differ (or
/// a buggy peer) put plaintext RTCP where we expect confidentiality.
#[test]
fn srtcp_e_flag_must_match_the_policy() {
    for p in Profile::ALL {
        for (send_encrypted, want_encrypted) in [(true, false), (false, true)] {
            let mut tx: Context = context(p, Config::default().with_encrypt_rtcp(send_encrypted));
            let mut rx: Context = context(p, Config::default().with_encrypt_rtcp(want_encrypted));
            let (mut packet, _) = protect_rtcp(&mut tx, 5).unwrap();
            assert_eq!(
                rx.unprotect_rtcp(&mut packet),
                Err(Error::EncryptionMismatch),
                "{p:?} sent encrypted {send_encrypted}"
            );
            assert_eq!(rx.stats().dropped_encryption_mismatch, 1);
            assert_eq!(rx.stats().rtcp_unprotected, 0);
            assert_eq!(rx.ssrcs().count(), 0, "no table slot taken");
        }
        // Agreeing policies still work.
        for encrypted in [true, false] {
            let config = Config::default().with_encrypt_rtcp(encrypted);
            let mut tx: Context = context(p, config);
            let mut rx: Context = context(p, config);
            let (mut packet, _) = protect_rtcp(&mut tx, 5).unwrap();
            assert_eq!(rx.unprotect_rtcp(&mut packet), Ok(8));
        }
    }
}
