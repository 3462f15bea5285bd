//! Known answers from the standards, run against every backend compiled in: the RustCrypto
//! one always, the aws-lc-rs one with `--features aws-lc-rs`. The crate-level names are
//! checked too, so whichever backend they resolve to passes the same vectors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hex_literal::hex;

/// A counter "RNG" (a test fixture, not a generator): distinct bytes per draw.
struct Counter(u8);

impl rand_core::TryRng for Counter {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            self.0 = self.0.wrapping_mul(13).wrapping_add(7);
            *b = self.0;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Counter {}

// McGrew & Viega GCM test cases 4 and 16 (the NIST GCM spec's AES-128 and AES-256 vectors
// with AAD and a 60-byte plaintext).
const GCM_P: [u8; 60] = hex!(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
);
const GCM_A: [u8; 20] = hex!("feedfacedeadbeeffeedfacedeadbeefabaddad2");
const GCM_IV: [u8; 12] = hex!("cafebabefacedbaddecaf888");
const GCM_K: [u8; 16] = hex!("feffe9928665731c6d6a8f9467308308");
const GCM128_C: [u8; 60] = hex!(
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091"
);
const GCM128_T: [u8; 16] = hex!("5bc94fbc3221a5db94fae95ae7121a47");
const GCM256_C: [u8; 60] = hex!(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
);
const GCM256_T: [u8; 16] = hex!("76fc6ece0f4e1768cddf8853bb2d551b");

// RFC 8439 §2.8.2.
#[cfg(feature = "chacha20-poly1305")]
const CHACHA_K: [u8; 32] = hex!("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
#[cfg(feature = "chacha20-poly1305")]
const CHACHA_N: [u8; 12] = hex!("070000004041424344454647");
#[cfg(feature = "chacha20-poly1305")]
const CHACHA_A: [u8; 12] = hex!("50515253c0c1c2c3c4c5c6c7");
#[cfg(feature = "chacha20-poly1305")]
const CHACHA_P: &[u8] = b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.";
#[cfg(feature = "chacha20-poly1305")]
const CHACHA_C: [u8; 114] = hex!(
    "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
    "3ff4def08e4b7a9de576d26586cec64b6116"
);
#[cfg(feature = "chacha20-poly1305")]
const CHACHA_T: [u8; 16] = hex!("1ae10b594f09e26a7e902ecbd0600691");

// NIST SP 800-38A F.5.1 and F.5.5 (CTR-AES128/256.Encrypt).
const CTR_IV: [u8; 16] = hex!("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
const CTR_P: [u8; 64] = hex!(
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
    "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
);
const CTR128_K: [u8; 16] = hex!("2b7e151628aed2a6abf7158809cf4f3c");
const CTR128_C: [u8; 64] = hex!(
    "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"
    "5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fbe03d1792170a0f3009cee"
);
const CTR256_K: [u8; 32] = hex!("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
const CTR256_C: [u8; 64] = hex!(
    "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
    "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"
);
// The counter's low 32 bits wrap within the data: the carry must reach the upper 96 bits
// (computed with OpenSSL's AES-128-CTR, whose counter is 128 bits).
const CTR_WRAP_IV: [u8; 16] = hex!("000102030405060708090a0bfffffffe");
const CTR_WRAP_KS: [u8; 80] = hex!(
    "08ff81431e8af8811d931e7bef271fc4bdb7c0ef49717942fc68eeb17692fcf4"
    "eef89e9494c1082ab27d4d9095feff60e4c55e024df3f265e436ab9720921bb4"
    "e342f69282bb2368f9e3a5c366000cbb"
);

// RFC 2202 test 2, RFC 4231 test cases 2 and 6.
const JEFE_DATA: &[u8] = b"what do ya want for nothing?";
const HMAC_SHA1_JEFE: [u8; 20] = hex!("effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
const HMAC_SHA256_JEFE: [u8; 32] =
    hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
const HMAC_SHA384_JEFE: [u8; 48] = hex!(
    "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
    "8e2240ca5e69e2c78b3239ecfab21649"
);
const HMAC_SHA256_LONG_KEY: [u8; 32] =
    hex!("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");

// FIPS 180-4 examples ("abc", and SHA-256's 448-bit message).
const SHA256_ABC: [u8; 32] =
    hex!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
const SHA256_448: [u8; 32] =
    hex!("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
const SHA384_ABC: [u8; 48] = hex!(
    "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
    "8086072ba1e7cc2358baeca134c825a7"
);
const SHA512_ABC: [u8; 64] = hex!(
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
);

// RFC 5903 §8.1 (ECDH P-256).
const P256_I: [u8; 32] = hex!("c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433");
const P256_GI: [u8; 65] = hex!(
    "04dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c37725811"
    "805271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3"
);
const P256_R: [u8; 32] = hex!("c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53");
const P256_GR: [u8; 65] = hex!(
    "04d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf"
    "6356fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab"
);
const P256_GIRX: [u8; 32] =
    hex!("d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de");

// RFC 6979 A.2.5 (ECDSA P-256, SHA-256, message "sample").
const ECDSA_X: [u8; 32] = hex!("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
const ECDSA_U: [u8; 65] = hex!(
    "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
    "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
);
const ECDSA_SIG: [u8; 64] = hex!(
    "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
    "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8"
);

// RFC 7748 §6.1 (X25519).
#[cfg(feature = "x25519")]
const X_A: [u8; 32] = hex!("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
#[cfg(feature = "x25519")]
const X_A_PUB: [u8; 32] = hex!("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
#[cfg(feature = "x25519")]
const X_B: [u8; 32] = hex!("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
#[cfg(feature = "x25519")]
const X_B_PUB: [u8; 32] = hex!("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
#[cfg(feature = "x25519")]
const X_SHARED: [u8; 32] = hex!("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

macro_rules! known_answers {
    ($m:ident, $b:path, deterministic_ecdsa = $det:expr) => {
        mod $m {
            use super::*;
            use $b as b;

            #[test]
            fn aes_gcm() {
                let g = b::Aes128Gcm::new(&GCM_K);
                let mut buf = GCM_P;
                let tag = g.seal_in_place_detached(&GCM_IV, &GCM_A, &mut buf).unwrap();
                assert_eq!((buf, tag), (GCM128_C, GCM128_T));
                g.open_in_place_detached(&GCM_IV, &GCM_A, &mut buf, &tag)
                    .unwrap();
                assert_eq!(buf, GCM_P);
                let mut out = [0u8; 60];
                g.open_detached_into(&GCM_IV, &GCM_A, &GCM128_C, &GCM128_T, &mut out)
                    .unwrap();
                assert_eq!(out, GCM_P);
                // A flipped bit in the tag, the AAD or the ciphertext never opens.
                let mut bad = GCM128_T;
                bad[15] ^= 1;
                let mut c = GCM128_C;
                assert!(
                    g.open_in_place_detached(&GCM_IV, &GCM_A, &mut c, &bad)
                        .is_err()
                );
                let mut c = GCM128_C;
                assert!(
                    g.open_in_place_detached(&GCM_IV, &GCM_A[1..], &mut c, &GCM128_T)
                        .is_err()
                );
                let mut c = GCM128_C;
                c[0] ^= 0x80;
                assert!(
                    g.open_in_place_detached(&GCM_IV, &GCM_A, &mut c, &GCM128_T)
                        .is_err()
                );
                // A clone is the same key.
                let g2 = g.clone();
                let mut c = GCM128_C;
                g2.open_in_place_detached(&GCM_IV, &GCM_A, &mut c, &GCM128_T)
                    .unwrap();

                let mut k256 = [0u8; 32];
                k256[..16].copy_from_slice(&GCM_K);
                k256[16..].copy_from_slice(&GCM_K);
                let g = b::Aes256Gcm::new(&k256);
                let mut buf = GCM_P;
                let tag = g.seal_in_place_detached(&GCM_IV, &GCM_A, &mut buf).unwrap();
                assert_eq!((buf, tag), (GCM256_C, GCM256_T));
                g.open_in_place_detached(&GCM_IV, &GCM_A, &mut buf, &tag)
                    .unwrap();
                assert_eq!(buf, GCM_P);
                assert!(b::Aes256Gcm::from_slice(&k256[..31]).is_err());
            }

            #[cfg(feature = "chacha20-poly1305")]
            #[test]
            fn chacha20_poly1305() {
                let c = b::ChaCha20Poly1305::new(&CHACHA_K);
                let mut buf = [0u8; 114];
                buf.copy_from_slice(CHACHA_P);
                let tag = c
                    .seal_in_place_detached(&CHACHA_N, &CHACHA_A, &mut buf)
                    .unwrap();
                assert_eq!((buf, tag), (CHACHA_C, CHACHA_T));
                c.open_in_place_detached(&CHACHA_N, &CHACHA_A, &mut buf, &tag)
                    .unwrap();
                assert_eq!(&buf[..], CHACHA_P);
                let mut bad = CHACHA_C;
                bad[113] ^= 1;
                assert!(
                    c.open_in_place_detached(&CHACHA_N, &CHACHA_A, &mut bad, &CHACHA_T)
                        .is_err()
                );
            }

            #[test]
            fn aes_ctr() {
                let mut buf = CTR_P;
                b::AesCtr128::new(&CTR128_K).apply_keystream(&CTR_IV, &mut buf);
                assert_eq!(buf, CTR128_C);
                b::AesCtr128::from_slice(&CTR128_K)
                    .unwrap()
                    .apply_keystream(&CTR_IV, &mut buf);
                assert_eq!(buf, CTR_P);
                let mut buf = CTR_P;
                b::AesCtr256::new(&CTR256_K).apply_keystream(&CTR_IV, &mut buf);
                assert_eq!(buf, CTR256_C);
                // An odd length ends mid-block.
                let mut buf = [0u8; 37];
                buf.copy_from_slice(&CTR_P[..37]);
                b::AesCtr128::new(&CTR128_K).apply_keystream(&CTR_IV, &mut buf);
                assert_eq!(buf[..], CTR128_C[..37]);
                // The 128-bit counter carries past its low 32 bits.
                let mut ks = [0u8; 80];
                b::AesCtr128::new(&CTR128_K).apply_keystream(&CTR_WRAP_IV, &mut ks);
                assert_eq!(ks, CTR_WRAP_KS);
            }

            #[test]
            fn hmac() {
                assert_eq!(b::HmacSha1::mac(b"Jefe", &[JEFE_DATA]), HMAC_SHA1_JEFE);
                assert_eq!(b::HmacSha256::mac(b"Jefe", &[JEFE_DATA]), HMAC_SHA256_JEFE);
                assert_eq!(b::HmacSha384::mac(b"Jefe", &[JEFE_DATA]), HMAC_SHA384_JEFE);
                // Incremental, split anywhere, from a cloned keyed state.
                let keyed = b::HmacSha256::new(b"Jefe");
                let mut m = keyed.clone();
                m.update(&JEFE_DATA[..5]);
                m.update(&JEFE_DATA[5..]);
                assert_eq!(m.finalize(), HMAC_SHA256_JEFE);
                // Keys longer than a block are hashed first.
                assert_eq!(
                    b::HmacSha256::mac(
                        &[0xaa; 131],
                        &[
                            b"Test Using Larger Than Block-",
                            b"Size Key - Hash Key First"
                        ]
                    ),
                    HMAC_SHA256_LONG_KEY
                );
                // verify: full and truncated tags (SRTP's 80 and 32 bits), never empty or
                // over-long, never a flipped bit.
                let mac = b::HmacSha1::new(b"Jefe");
                let verify = |tag: &[u8]| {
                    let mut m = mac.clone();
                    m.update(JEFE_DATA);
                    m.verify(tag)
                };
                assert!(verify(&HMAC_SHA1_JEFE));
                assert!(verify(&HMAC_SHA1_JEFE[..10]));
                assert!(verify(&HMAC_SHA1_JEFE[..4]));
                assert!(!verify(&[]));
                let mut long = [0u8; 21];
                long[..20].copy_from_slice(&HMAC_SHA1_JEFE);
                assert!(!verify(&long));
                let mut bad = HMAC_SHA1_JEFE;
                bad[9] ^= 1;
                assert!(!verify(&bad[..10]));
            }

            #[test]
            fn sha2() {
                assert_eq!(b::Sha256::digest(b"abc"), SHA256_ABC);
                assert_eq!(
                    b::Sha256::digest(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                    SHA256_448
                );
                assert_eq!(b::Sha384::digest(b"abc"), SHA384_ABC);
                assert_eq!(b::Sha512::digest(b"abc"), SHA512_ABC);
                // A snapshot (clone) of a running hash leaves it running.
                let mut h = b::Sha256::new();
                h.update(b"a");
                let snapshot = h.clone();
                h.update(b"bc");
                assert_eq!(h.finalize(), SHA256_ABC);
                let mut s = snapshot;
                s.update(b"bc");
                assert_eq!(s.finalize(), SHA256_ABC);
            }

            #[test]
            fn ecdh_p256() {
                let i = b::P256SecretKey::from_bytes(&P256_I).unwrap();
                let r = b::P256SecretKey::from_bytes(&P256_R).unwrap();
                assert_eq!(i.public_key(), P256_GI);
                assert_eq!(r.public_key(), P256_GR);
                assert_eq!(i.diffie_hellman(&P256_GR).unwrap().as_bytes(), &P256_GIRX);
                assert_eq!(
                    r.clone().diffie_hellman(&P256_GI).unwrap().as_bytes(),
                    &P256_GIRX
                );
                // A point off the curve, a truncated point and the zero scalar are refused.
                let mut off = P256_GR;
                off[64] ^= 1;
                assert!(i.diffie_hellman(&off).is_err());
                assert!(i.diffie_hellman(&P256_GR[..64]).is_err());
                assert!(b::P256SecretKey::from_bytes(&[0; 32]).is_err());
                assert!(b::P256SecretKey::from_bytes(&[0xff; 32]).is_err());
                // Generated keys agree with each other.
                let mut rng = Counter(1);
                let a = b::P256SecretKey::generate(&mut rng);
                let c = b::P256SecretKey::generate(&mut rng);
                assert_eq!(
                    a.diffie_hellman(&c.public_key()).unwrap().as_bytes(),
                    c.diffie_hellman(&a.public_key()).unwrap().as_bytes()
                );
            }

            #[test]
            fn ecdsa_p256() {
                let digest = b::Sha256::digest(b"sample");
                let key = b::P256SigningKey::from_slice(&ECDSA_X).unwrap();
                assert_eq!(key.public_key(), ECDSA_U);
                assert_eq!(&*key.to_bytes(), &ECDSA_X);
                let public = b::P256VerifyingKey::from_sec1(&ECDSA_U).unwrap();
                assert!(public.verify_prehash(&digest, &ECDSA_SIG));
                let sig = key.clone().sign_prehash(&digest).unwrap();
                if $det {
                    assert_eq!(sig, ECDSA_SIG, "RFC 6979 deterministic signature");
                }
                assert!(public.verify_prehash(&digest, &sig));
                let mut bad = sig;
                bad[63] ^= 1;
                assert!(!public.verify_prehash(&digest, &bad));
                let mut other = digest;
                other[0] ^= 1;
                assert!(!public.verify_prehash(&other, &sig));
                // DER in and out.
                let mut der = [0u8; peerless_crypto::der::MAX_LEN];
                let n = peerless_crypto::der::encode(&sig, &mut der);
                assert_eq!(peerless_crypto::der::decode(&der[..n]), Some(sig));
                // Compressed points parse to the same key; bad points do not.
                let mut compressed = [0u8; 33];
                compressed[0] = 0x02 | (ECDSA_U[64] & 1);
                compressed[1..].copy_from_slice(&ECDSA_U[1..33]);
                assert_eq!(b::P256VerifyingKey::from_sec1(&compressed).unwrap(), public);
                let mut off = ECDSA_U;
                off[40] ^= 1;
                assert!(b::P256VerifyingKey::from_sec1(&off).is_err());
                let generated = b::P256SigningKey::generate(&mut Counter(9));
                let s = generated.sign_prehash(&digest).unwrap();
                let p = b::P256VerifyingKey::from_sec1(&generated.public_key()).unwrap();
                assert!(p.verify_prehash(&digest, &s));
                assert!(!public.verify_prehash(&digest, &s));
            }

            #[cfg(feature = "x25519")]
            #[test]
            fn x25519() {
                let a = b::X25519SecretKey::from_bytes(&X_A);
                let bk = b::X25519SecretKey::from_bytes(&X_B);
                assert_eq!(a.public_key(), X_A_PUB);
                assert_eq!(bk.public_key(), X_B_PUB);
                assert_eq!(a.diffie_hellman(&X_B_PUB).unwrap().as_bytes(), &X_SHARED);
                assert_eq!(
                    bk.clone().diffie_hellman(&X_A_PUB).unwrap().as_bytes(),
                    &X_SHARED
                );
                // A small-order point (0) gives the all-zero secret: refused.
                assert!(a.diffie_hellman(&[0; 32]).is_err());
                assert!(a.diffie_hellman(&X_B_PUB[..31]).is_err());
                let g = b::X25519SecretKey::generate(&mut Counter(3));
                assert_eq!(
                    g.diffie_hellman(&a.public_key()).unwrap().as_bytes(),
                    a.diffie_hellman(&g.public_key()).unwrap().as_bytes()
                );
            }
        }
    };
}

known_answers!(
    rustcrypto,
    peerless_crypto::rustcrypto,
    deterministic_ecdsa = true
);
#[cfg(feature = "aws-lc-rs")]
known_answers!(aws_lc, peerless_crypto::aws_lc, deterministic_ecdsa = true);
// The crate-level names: whichever backend the build chose.
known_answers!(selected, peerless_crypto, deterministic_ecdsa = true);

#[test]
fn backend_name() {
    let expected = if cfg!(feature = "aws-lc-rs") {
        "aws-lc-rs"
    } else {
        "rustcrypto"
    };
    assert_eq!(peerless_crypto::BACKEND, expected);
}

/// The aws-lc-rs signer (RFC 6979 nonce, k·G from AWS-LC) against RustCrypto's, over many keys
/// and digests: the same `r ‖ s` bit for bit, accepted by both backends' verifiers, and a
/// tampered digest refused by both. Besides the RFC 6979 known answer above, this covers
/// digests at or above the group order and r values that need the reduction mod n.
#[cfg(feature = "aws-lc-rs")]
#[test]
fn ecdsa_aws_lc_signer_matches_rustcrypto() {
    use peerless_crypto::{aws_lc, rustcrypto};
    for i in 0..64u8 {
        let theirs = rustcrypto::P256SigningKey::generate(&mut Counter(i));
        let ours = aws_lc::P256SigningKey::from_slice(&*theirs.to_bytes()).unwrap();
        assert_eq!(ours.public_key(), theirs.public_key());
        let mut digest = rustcrypto::Sha256::digest(&[i; 5]);
        if i % 8 == 0 {
            // Above the order n (0xffffffff00000000ffff...): z mod n differs from z.
            digest = [0xff; 32];
            digest[31] = i;
        }
        let sig = ours.sign_prehash(&digest).unwrap();
        assert_eq!(sig, theirs.sign_prehash(&digest).unwrap(), "key {i}");
        let pk = ours.public_key();
        let v_rc = rustcrypto::P256VerifyingKey::from_sec1(&pk).unwrap();
        let v_lc = aws_lc::P256VerifyingKey::from_sec1(&pk).unwrap();
        assert!(v_rc.verify_prehash(&digest, &sig));
        assert!(v_lc.verify_prehash(&digest, &sig));
        let mut other = digest;
        other[5] ^= 0x40;
        assert!(!v_rc.verify_prehash(&other, &sig));
        assert!(!v_lc.verify_prehash(&other, &sig));
    }
}
