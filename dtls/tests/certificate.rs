//! Our certificate, byte for byte, and peers' certificates read safely.
//!
//! ```text
//!  Certificate::generate(seed, window) == tests/data/cert/ours-*.der   (made by the `der`-crate
//!                                                                       encoder, peerless 1e98e4c)
//!  real certificates (ours, OpenSSL, GnuTLS, Chromium) truncated, extended, mutated, or
//!  random bytes ──certificate_public_key / Certificate::from_der──► Ok or Err, never a panic
//! ```
#![allow(clippy::unwrap_used, clippy::panic)]

use peerless_base::Drbg;
use peerless_dtls::*;
use proptest::prelude::*;

macro_rules! data {
    ($name:literal) => {
        include_bytes!(concat!("data/cert/", $name))
    };
}

/// (fixture, DRBG seed byte, notBefore, days): the certificates the old encoder made.
const KNOWN: [(&[u8], u8, u64, u64); 7] = [
    (data!("ours-utc-2023.der"), 5, 1_700_000_000, 30),
    (data!("ours-generalized-2052.der"), 6, 2_600_000_000, 1),
    // Starts in 2049, ends in 2051: both times become GeneralizedTime.
    (data!("ours-straddle-2049-2051.der"), 8, 2_500_000_000, 800),
    (data!("ours-epoch-1970.der"), 9, 0, 1),
    // Ends at 2049-12-31T23:59:59Z, the last second UTCTime can carry.
    (
        data!("ours-last-utc-2049.der"),
        10,
        2_524_607_999 - 86_400,
        1,
    ),
    // Ends at 9999-12-31T23:59:59Z, the last second GeneralizedTime can carry.
    (data!("ours-year-9999.der"), 11, 253_402_300_799 - 86_400, 1),
    (data!("ours-leap-2024-02-29.der"), 12, 1_709_164_800, 366),
];

/// Certificates made by other implementations, with an ECDSA P-256 or RSA key.
const PEERS: [&[u8]; 6] = [
    data!("openssl-p256.der"),
    data!("openssl-rsa2048.der"),
    data!("gnutls-p256.der"),
    data!("gnutls-rsa2048.der"),
    data!("chromium.der"),
    include_bytes!("data/rsa/rsa4096-e65537.cert.der"),
];

fn generate(seed: u8, start: u64, days: u64) -> Result<Certificate, CertificateError> {
    let mut rng = Drbg::from_seed(&[seed; 32], b"cert");
    Certificate::generate(&mut rng, Validity::days_from(start, days))
}

#[test]
fn generated_certificates_match_the_old_encoder_byte_for_byte() {
    for (fixture, seed, start, days) in KNOWN {
        let cert = generate(seed, start, days).unwrap();
        assert_eq!(cert.der(), fixture, "seed {seed} start {start}");
        // And it reads back, with its own key.
        assert_eq!(
            certificate_public_key(cert.der()).unwrap(),
            certificate_public_key(fixture).unwrap()
        );
        assert!(Certificate::from_der(fixture, &cert.private_key()).is_ok());
    }
}

#[test]
fn validity_past_year_9999_is_refused() {
    // 10000-01-01T00:00:00Z cannot be written in four digits; one second earlier can.
    assert_eq!(
        generate(13, 253_402_300_800 - 86_400, 1).unwrap_err(),
        CertificateError::BadValidity
    );
    assert!(generate(13, 253_402_300_799 - 86_400, 1).is_ok());
    let mut rng = Drbg::from_seed(&[13; 32], b"cert");
    let forever = Validity {
        not_before: 0,
        not_after: u64::MAX,
    };
    assert_eq!(
        Certificate::generate(&mut rng, forever).unwrap_err(),
        CertificateError::BadValidity
    );
}

#[test]
fn every_truncation_and_any_trailing_byte_is_malformed() {
    for der in KNOWN.iter().map(|k| k.0).chain(PEERS) {
        assert_ne!(
            certificate_public_key(der),
            Err(CertificateError::Malformed)
        );
        for len in 0..der.len() {
            assert_eq!(
                certificate_public_key(&der[..len]),
                Err(CertificateError::Malformed),
                "truncated to {len}"
            );
        }
        let mut long = der.to_vec();
        long.push(0);
        assert_eq!(
            certificate_public_key(&long),
            Err(CertificateError::Malformed)
        );
    }
}

#[test]
fn lengths_that_lie_are_malformed() {
    let der = KNOWN[0].0;
    // The outer SEQUENCE: 30 82 01 30. One more or one less than the truth; the same length
    // in a non-minimal form (83 00 01 30); indefinite (80); four bytes of huge length.
    for header in [
        &[0x30, 0x82, 0x01, 0x31][..],
        &[0x30, 0x82, 0x01, 0x2f],
        &[0x30, 0x83, 0x00, 0x01, 0x30],
        &[0x30, 0x80],
        &[0x30, 0x84, 0xff, 0xff, 0xff, 0xff],
    ] {
        let mut bad = header.to_vec();
        bad.extend_from_slice(&der[4..]);
        assert_eq!(
            certificate_public_key(&bad),
            Err(CertificateError::Malformed),
            "{header:02x?}"
        );
    }
    // The subject key's BIT STRING (03 42 00 04 ...) with unused bits.
    let at = der
        .windows(3)
        .position(|w| w == [0x03, 0x42, 0x00])
        .unwrap();
    let mut bad = der.to_vec();
    bad[at + 2] = 1;
    assert_eq!(
        certificate_public_key(&bad),
        Err(CertificateError::Malformed)
    );
}

#[test]
fn other_keys_are_unsupported_not_malformed() {
    for der in [
        &data!("openssl-p384.der")[..],
        data!("openssl-ed25519.der"),
        data!("openssl-rsa2048.der"), // RSA has no SEC1 point
    ] {
        assert_eq!(
            certificate_public_key(der),
            Err(CertificateError::UnsupportedKey)
        );
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = certificate_public_key(&bytes);
        prop_assert!(Certificate::from_der(&bytes, &[7; 32]).is_err());
    }

    /// A real certificate with bytes overwritten, inserted or removed: read or refused, never
    /// a panic (the fuzz target `dtls_handshake` reaches the same code through Certificate
    /// messages).
    #[test]
    fn mutated_certificates_never_panic(
        which in 0usize..13,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let original = KNOWN.iter().map(|k| k.0).chain(PEERS).nth(which).unwrap();
        let mut der = original.to_vec();
        for (at, byte, kind) in edits {
            let i = at.index(der.len() + 1);
            match kind {
                0 if i < der.len() => der[i] = byte,
                1 => der.insert(i, byte),
                _ if i < der.len() => { der.remove(i); }
                _ => {}
            }
        }
        let key = certificate_public_key(&der);
        if der == original {
            prop_assert_eq!(key, certificate_public_key(original));
        }
    }
}
