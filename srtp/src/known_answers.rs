//! Known answers: RFC 3711 Appendix B, RFC 7714 §16-§17, and libsrtp's `srtp_validate`.

use hex_literal::hex;
use std::vec::Vec;

use crate::{Config, Context, Error, Profile};

/// libsrtp's `test_key`: the master key and salt its `srtp_validate()` uses.
const LIBSRTP_KEY: [u8; 16] = hex!("e1f97a0d3e018be0d64fa32c06de4139");
const LIBSRTP_SALT: [u8; 14] = hex!("0ec675ad498afeebb6960b3aabe6");

fn protect_rtp(ctx: &mut Context, plain: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 256];
    buf[..plain.len()].copy_from_slice(plain);
    let n = ctx.protect_rtp(&mut buf, plain.len()).unwrap();
    buf[..n].to_vec()
}

fn protect_rtcp(ctx: &mut Context, plain: &[u8]) -> Vec<u8> {
    let mut buf = [0u8; 256];
    buf[..plain.len()].copy_from_slice(plain);
    let n = ctx.protect_rtcp(&mut buf, plain.len()).unwrap();
    buf[..n].to_vec()
}

/// RFC 3711 Appendix B.2: the AES-CM keystream for session key 2B7E..., salt F0F1...,
/// SSRC 0 and index 0 (the IV is then the salt shifted by 16 bits).
#[test]
fn rfc3711_b2_aes_cm_keystream() {
    let key = hex!("2B7E151628AED2A6ABF7158809CF4F3C");
    let salt = hex!("F0F1F2F3F4F5F6F7F8F9FAFBFCFD");
    let mut stream = std::vec![0u8; 0xff02 * 16];
    crate::context::cm_keystream_for_test(&key, &salt, &mut stream);
    assert_eq!(
        stream[..48],
        hex!(
            "E03EAD0935C95E80E166B16DD92B4EB4"
            "D23513162B02D0F72A43A2FE4A5F97AB"
            "41E95B3BB0A2E8DD477901E4FCA894C0"
        )
    );
    assert_eq!(
        stream[0xfeff * 16..0xff00 * 16],
        hex!("EC8CDF7398607CB0F2D21675EA9EA1E4")
    );
    assert_eq!(
        stream[0xff00 * 16..0xff01 * 16],
        hex!("362B7C3C6773516318A077D7FC5073AE")
    );
    assert_eq!(
        stream[0xff01 * 16..0xff02 * 16],
        hex!("6A2CC3787889374FBEB4C81B17BA6C44")
    );
}

/// libsrtp's `srtp_validate()`: AES_CM_128_HMAC_SHA1_80 with its `test_key`, SSRC
/// 0xcafebabe, sequence 0x1234; its SRTCP packet carries index 1.
#[test]
fn libsrtp_srtp_validate() {
    let rtp = hex!("800f1234decafbadcafebabeabababababababababababababababab");
    let srtp = hex!("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb");
    let rtcp = hex!("81c8000bcafebabeabababababababababababababababab");
    let srtcp =
        hex!("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798");
    let p = Profile::AesCm128HmacSha1_80;
    let mut sender: Context =
        Context::new(p, &LIBSRTP_KEY, &LIBSRTP_SALT, Config::default()).unwrap();
    assert_eq!(protect_rtp(&mut sender, &rtp), srtp);
    assert_eq!(protect_rtcp(&mut sender, &rtcp), srtcp);

    let mut receiver: Context =
        Context::new(p, &LIBSRTP_KEY, &LIBSRTP_SALT, Config::default()).unwrap();
    let mut buf = srtp;
    assert_eq!(receiver.unprotect_rtp(&mut buf), Ok(rtp.len()));
    assert_eq!(buf[..rtp.len()], rtp);
    let mut buf = srtcp;
    assert_eq!(receiver.unprotect_rtcp(&mut buf), Ok(rtcp.len()));
    assert_eq!(buf[..rtcp.len()], rtcp);
    // Both again: replays.
    let mut buf = srtp;
    assert_eq!(receiver.unprotect_rtp(&mut buf), Err(Error::Replayed));
    let mut buf = srtcp;
    assert_eq!(receiver.unprotect_rtcp(&mut buf), Err(Error::Replayed));
    assert_eq!(receiver.stats().dropped_replayed, 2);
}

/// libsrtp's `srtp_validate_gcm()`: AEAD_AES_128_GCM through the KDF with `test_key_gcm`.
#[test]
fn libsrtp_srtp_validate_gcm() {
    let key = hex!("000102030405060708090a0b0c0d0e0f");
    let salt = hex!("a0a1a2a3a4a5a6a7a8a9aaab");
    let rtp = hex!("800f1234decafbadcafebabeabababababababababababababababab");
    let srtp = hex!(
        "800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392"
    );
    let rtcp = hex!("81c8000bcafebabeabababababababababababababababab");
    let srtcp = hex!(
        "81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001"
    );
    let p = Profile::AeadAes128Gcm;
    let mut sender: Context = Context::new(p, &key, &salt, Config::default()).unwrap();
    assert_eq!(protect_rtp(&mut sender, &rtp), srtp);
    assert_eq!(protect_rtcp(&mut sender, &rtcp), srtcp);
    let mut receiver: Context = Context::new(p, &key, &salt, Config::default()).unwrap();
    let mut buf = srtp;
    assert_eq!(receiver.unprotect_rtp(&mut buf), Ok(rtp.len()));
    assert_eq!(buf[..rtp.len()], rtp);
    let mut buf = srtcp;
    assert_eq!(receiver.unprotect_rtcp(&mut buf), Ok(rtcp.len()));
    assert_eq!(buf[..rtcp.len()], rtcp);
}

const RFC7714_KEY_128: [u8; 16] = hex!("000102030405060708090a0b0c0d0e0f");
const RFC7714_KEY_256: [u8; 32] =
    hex!("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
/// "Quid pro quo".
const RFC7714_SALT: [u8; 12] = hex!("517569642070726f2071756f");
/// The RTP packet of §16: "Gallia est omnis divisa in partes tres".
fn rfc7714_rtp() -> Vec<u8> {
    hex!(
        "8040f17b8041f8d35501a0b2"
        "47616c6c696120657374206f6d6e697320646976697361"
        "20696e207061727465732074726573"
    )
    .to_vec()
}

/// The RTCP packet of §17 (an SR from SSRC "Mars").
const RFC7714_RTCP: [u8; 52] = hex!(
    "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61"
    "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"
);

fn gcm(profile: Profile, config: Config) -> Context {
    let key: &[u8] = match profile {
        Profile::AeadAes256Gcm => &RFC7714_KEY_256,
        _ => &RFC7714_KEY_128,
    };
    Context::with_session_keys(profile, key, &RFC7714_SALT, config).unwrap()
}

/// RFC 7714 §16.1 (AEAD_AES_128_GCM) and §16.2 (AEAD_AES_256_GCM): SRTP encryption and
/// decryption of the same packet.
#[test]
fn rfc7714_16_srtp() {
    let cases = [
        (
            Profile::AeadAes128Gcm,
            hex!(
                "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a"
                "51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce"
            ),
        ),
        (
            Profile::AeadAes256Gcm,
            hex!(
                "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a02"
                "76ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13"
            ),
        ),
    ];
    let plain = rfc7714_rtp();
    for (profile, expected) in cases {
        let mut sender = gcm(profile, Config::default());
        assert_eq!(protect_rtp(&mut sender, &plain), expected, "{profile}");
        let mut receiver = gcm(profile, Config::default());
        let mut buf = expected;
        assert_eq!(receiver.unprotect_rtp(&mut buf), Ok(plain.len()));
        assert_eq!(buf[..plain.len()], plain[..]);
        // One flipped bit anywhere fails authentication.
        let mut receiver = gcm(profile, Config::default());
        let mut buf = expected;
        buf[20] ^= 1;
        assert_eq!(
            receiver.unprotect_rtp(&mut buf),
            Err(Error::AuthenticationFailed)
        );
    }
}

/// RFC 7714 §17.1-§17.4: SRTCP with encryption (E=1) and authentication only (E=0), index
/// 0x5d4, both key sizes.
#[test]
fn rfc7714_17_srtcp() {
    let cases = [
        (
            Profile::AeadAes128Gcm,
            true,
            hex!(
                "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda"
                "4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4"
            )
            .to_vec(),
        ),
        (
            Profile::AeadAes256Gcm,
            true,
            hex!(
                "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be"
                "8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4"
            )
            .to_vec(),
        ),
        (
            Profile::AeadAes128Gcm,
            false,
            hex!(
                "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeef"
                "deadbeefdeadbeefdeadbeef841dd9683dd78ec92ae58790125f62b3000005d4"
            )
            .to_vec(),
        ),
        (
            Profile::AeadAes256Gcm,
            false,
            hex!(
                "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeef"
                "deadbeefdeadbeefdeadbeef91db4afbfeee5a978fab4393ed2615fe000005d4"
            )
            .to_vec(),
        ),
    ];
    for (profile, encrypt, expected) in cases {
        let config = Config::default().with_encrypt_rtcp(encrypt);
        let mut sender = gcm(profile, config);
        sender.set_rtcp_sent(0x4d61_7273, 0x5d3);
        assert_eq!(
            protect_rtcp(&mut sender, &RFC7714_RTCP),
            expected,
            "{profile} E={encrypt}"
        );
        // The receiver's policy matches the sender's: a different E flag is refused.
        let mut receiver = gcm(profile, config);
        let mut buf = expected.clone();
        assert_eq!(receiver.unprotect_rtcp(&mut buf), Ok(RFC7714_RTCP.len()));
        assert_eq!(buf[..RFC7714_RTCP.len()], RFC7714_RTCP);
        let mut buf = expected.clone();
        assert_eq!(receiver.unprotect_rtcp(&mut buf), Err(Error::Replayed));
        // A forged index fails authentication (it is covered by the tag).
        let mut receiver = gcm(profile, config);
        let mut buf = expected.clone();
        let last = buf.len() - 1;
        buf[last] ^= 1;
        assert_eq!(
            receiver.unprotect_rtcp(&mut buf),
            Err(Error::AuthenticationFailed)
        );
    }
}

/// The footprint of a context is part of the API contract: print it and bound it.
#[test]
fn context_size_is_bounded() {
    let default = core::mem::size_of::<Context>();
    let small = core::mem::size_of::<Context<1, 1>>();
    let backend = peerless_crypto::BACKEND;
    std::println!("size_of Context<8, 2> = {default}, Context<1, 1> = {small} ({backend})");
    // The firmware's backend (RustCrypto) holds key schedules and HMAC pads inline within
    // 2 KiB; aws-lc-rs (servers only) keeps AWS-LC's larger HMAC and AEAD contexts inline.
    let bound = if backend == "rustcrypto" { 2048 } else { 5120 };
    assert!(default <= bound, "{default}");
}
