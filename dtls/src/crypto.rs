//! The cryptography of a DTLS 1.2 session: the TLS PRF (RFC 5246 §5), extended master secret
//! (RFC 7627), key expansion, record AEAD (RFC 5288, RFC 7905), ephemeral ECDH and ECDSA.
//!
//! ```text
//!  pre_master --PRF("extended master secret", session_hash)--> master_secret (48)
//!  master_secret --PRF("key expansion", server_random+client_random)--> keys and IVs
//!  master_secret --PRF("client|server finished", transcript_hash)--> verify_data (12)
//!  master_secret --PRF("EXTRACTOR-dtls_srtp", client_random+server_random)--> SRTP keys
//! ```
//!
//! What a build implements follows its features: AES-128-GCM and P-256 always;
//! AES-256-GCM (with its SHA-384 PRF) under `aes-256-gcm`, ChaCha20-Poly1305 under
//! `chacha20-poly1305`, x25519 under `x25519`. A suite or group left out has no variant
//! here at all, so nothing can construct it; `endpoint/config.rs` keeps it out of every list
//! (refused with `ListError::Unknown`, never offered, never accepted).

use peerless_base::Drbg;
#[cfg(feature = "chacha20-poly1305")]
use peerless_crypto::ChaCha20Poly1305;
#[cfg(feature = "x25519")]
use peerless_crypto::X25519SecretKey;
use peerless_crypto::{
    Aes128Gcm, HmacSha256, P256SecretKey, P256SigningKey, P256VerifyingKey, Sha256, Sha384,
};
#[cfg(feature = "aes-256-gcm")]
use peerless_crypto::{Aes256Gcm, HmacSha384};

use crate::wire::{CipherSuite, NamedGroup};

/// The PRF hash of a cipher suite: SHA-384 only for the AES-256-GCM suites, so a build
/// without them has no SHA-384 PRF (HMAC-SHA384) to link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PrfHash {
    Sha256,
    #[cfg(feature = "aes-256-gcm")]
    Sha384,
}

impl PrfHash {
    pub(crate) fn of(suite: CipherSuite) -> Self {
        match suite {
            #[cfg(feature = "aes-256-gcm")]
            CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384
            | CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384 => PrfHash::Sha384,
            _ => PrfHash::Sha256,
        }
    }
}

/// P_hash (RFC 5246 §5) with one HMAC: A(0) = seed; A(i) = HMAC(secret, A(i-1)); output =
/// HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
macro_rules! p_hash {
    ($mac:ty, $secret:expr, $parts:expr, $out:expr) => {{
        let (secret, parts, out): (&[u8], &[&[u8]], &mut [u8]) = ($secret, $parts, $out);
        let base = <$mac>::new(secret);
        let mut a_mac = base.clone();
        for p in parts {
            a_mac.update(p);
        }
        let mut a = a_mac.finalize();
        for chunk in out.chunks_mut(a.len()) {
            let mut m = base.clone();
            m.update(&a);
            for p in parts {
                m.update(p);
            }
            let mut block = m.finalize();
            // `chunks_mut(a.len())`: a chunk is never longer than a block.
            for (out, byte) in chunk.iter_mut().zip(block.iter()) {
                *out = *byte;
            }
            zeroize::Zeroize::zeroize(&mut block[..]);
            let mut next = base.clone();
            next.update(&a);
            zeroize::Zeroize::zeroize(&mut a[..]);
            a = next.finalize();
        }
        // A(i) and each block are key material (master secret, key block, SRTP keys).
        zeroize::Zeroize::zeroize(&mut a[..]);
    }};
}

/// TLS 1.2 PRF(secret, label, seed) with the suite's hash, written to `out`.
pub(crate) fn prf(hash: PrfHash, secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    let mut parts: [&[u8]; 6] = [label, &[], &[], &[], &[], &[]];
    for (slot, s) in parts.iter_mut().skip(1).zip(seed) {
        *slot = s;
    }
    match hash {
        PrfHash::Sha256 => p_hash!(HmacSha256, secret, &parts, out),
        #[cfg(feature = "aes-256-gcm")]
        PrfHash::Sha384 => p_hash!(HmacSha384, secret, &parts, out),
    }
}

/// The running handshake transcript, hashed with SHA-256 and SHA-384 until the suite is known
/// (SHA-384 also for a CertificateVerify signed with a SHA-384 scheme, whatever the suite).
#[derive(Clone, Debug)]
pub(crate) struct Transcript {
    sha256: Sha256,
    sha384: Sha384,
}

impl Transcript {
    pub(crate) fn new() -> Self {
        Transcript {
            sha256: Sha256::new(),
            sha384: Sha384::new(),
        }
    }
    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.sha256.update(bytes);
        self.sha384.update(bytes);
    }
    /// The hash so far with `hash`; returns its length in `out`.
    pub(crate) fn snapshot<'o>(&self, hash: PrfHash, out: &'o mut [u8; 48]) -> &'o [u8] {
        match hash {
            PrfHash::Sha256 => {
                out[..32].copy_from_slice(&self.sha256.clone().finalize());
                &out[..32]
            }
            #[cfg(feature = "aes-256-gcm")]
            PrfHash::Sha384 => {
                *out = self.sha384();
                out
            }
        }
    }
    /// SHA-256 of the transcript so far (what ecdsa_secp256r1_sha256 signs).
    pub(crate) fn sha256(&self) -> [u8; 32] {
        self.sha256.clone().finalize()
    }
    /// SHA-384 of the transcript so far (what a SHA-384 signature scheme signs).
    pub(crate) fn sha384(&self) -> [u8; 48] {
        self.sha384.clone().finalize()
    }
}

/// One direction's record protection: the AEAD and its implicit IV.
#[derive(Clone)]
pub(crate) enum RecordCipher {
    Aes128Gcm(Aes128Gcm, [u8; 4]),
    #[cfg(feature = "aes-256-gcm")]
    Aes256Gcm(Aes256Gcm, [u8; 4]),
    #[cfg(feature = "chacha20-poly1305")]
    ChaCha(ChaCha20Poly1305, [u8; 12]),
}

impl core::fmt::Debug for RecordCipher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RecordCipher::Aes128Gcm(..) => "Aes128Gcm",
            #[cfg(feature = "aes-256-gcm")]
            RecordCipher::Aes256Gcm(..) => "Aes256Gcm",
            #[cfg(feature = "chacha20-poly1305")]
            RecordCipher::ChaCha(..) => "ChaCha20Poly1305",
        })
    }
}

/// Whether a suite authenticates the server with an RSA key (ECDHE_RSA): we offer those as a
/// client only, since our own certificate is ECDSA.
pub(crate) fn suite_is_rsa(suite: CipherSuite) -> bool {
    matches!(
        suite,
        CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256
            | CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384
            | CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256
    )
}

/// Tag length of every suite here.
pub(crate) const TAG_LEN: usize = 16;

/// Lengths of (key, fixed IV) for a suite.
pub(crate) fn key_iv_len(suite: CipherSuite) -> (usize, usize) {
    match suite {
        #[cfg(feature = "aes-256-gcm")]
        CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384 | CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384 => {
            (32, 4)
        }
        #[cfg(feature = "chacha20-poly1305")]
        CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256
        | CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256 => (32, 12),
        _ => (16, 4),
    }
}

/// A record's AEAD failed to authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BadRecordMac;

impl RecordCipher {
    pub(crate) fn new(suite: CipherSuite, key: &[u8], iv: &[u8]) -> Option<Self> {
        match suite {
            CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256
            | CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256 => Some(RecordCipher::Aes128Gcm(
                Aes128Gcm::from_slice(key).ok()?,
                iv.try_into().ok()?,
            )),
            #[cfg(feature = "aes-256-gcm")]
            CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384
            | CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384 => Some(RecordCipher::Aes256Gcm(
                Aes256Gcm::from_slice(key).ok()?,
                iv.try_into().ok()?,
            )),
            #[cfg(feature = "chacha20-poly1305")]
            CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256
            | CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256 => Some(RecordCipher::ChaCha(
                ChaCha20Poly1305::from_slice(key).ok()?,
                iv.try_into().ok()?,
            )),
            _ => None,
        }
    }

    /// Bytes an encrypted record adds to its plaintext (explicit nonce and tag).
    pub(crate) fn overhead(&self) -> usize {
        self.explicit_nonce_len() + TAG_LEN
    }

    /// GCM suites carry the 8-byte nonce_explicit in the record (RFC 5288 §3); ChaCha20 does
    /// not (RFC 7905 §2).
    pub(crate) fn explicit_nonce_len(&self) -> usize {
        match self {
            #[cfg(feature = "chacha20-poly1305")]
            RecordCipher::ChaCha(..) => 0,
            _ => 8,
        }
    }

    fn nonce(&self, epoch_seq: u64) -> [u8; 12] {
        let mut n = [0u8; 12];
        match self {
            RecordCipher::Aes128Gcm(_, iv) => {
                n[..4].copy_from_slice(iv);
                n[4..].copy_from_slice(&epoch_seq.to_be_bytes());
            }
            #[cfg(feature = "aes-256-gcm")]
            RecordCipher::Aes256Gcm(_, iv) => {
                n[..4].copy_from_slice(iv);
                n[4..].copy_from_slice(&epoch_seq.to_be_bytes());
            }
            #[cfg(feature = "chacha20-poly1305")]
            RecordCipher::ChaCha(_, iv) => {
                n.copy_from_slice(iv);
                for (b, s) in n[4..].iter_mut().zip(epoch_seq.to_be_bytes()) {
                    *b ^= s;
                }
            }
        }
        n
    }

    /// Encrypts a record body in place. `record` is `explicit_nonce | plaintext | tag room`;
    /// `header` is the 13-byte record header (its length already counts nonce and tag).
    pub(crate) fn seal(&self, header: &[u8; 13], record: &mut [u8]) -> Result<(), BadRecordMac> {
        let epoch_seq = u64::from_be_bytes(header[3..11].try_into().map_err(|_| BadRecordMac)?);
        let nonce = self.nonce(epoch_seq);
        let explicit = self.explicit_nonce_len();
        let plain_len = record
            .len()
            .checked_sub(explicit + TAG_LEN)
            .ok_or(BadRecordMac)?;
        let aad = aad(header, plain_len);
        let explicit_nonce = epoch_seq.to_be_bytes();
        record
            .get_mut(..explicit)
            .ok_or(BadRecordMac)?
            .copy_from_slice(explicit_nonce.get(..explicit).ok_or(BadRecordMac)?);
        let (body, tag_out) = record
            .get_mut(explicit..)
            .ok_or(BadRecordMac)?
            .split_at_mut(plain_len);
        let tag = match self {
            RecordCipher::Aes128Gcm(c, _) => c.seal_in_place_detached(&nonce, &aad, body),
            #[cfg(feature = "aes-256-gcm")]
            RecordCipher::Aes256Gcm(c, _) => c.seal_in_place_detached(&nonce, &aad, body),
            #[cfg(feature = "chacha20-poly1305")]
            RecordCipher::ChaCha(c, _) => c.seal_in_place_detached(&nonce, &aad, body),
        }
        .map_err(|_| BadRecordMac)?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Decrypts a record fragment in place; returns the plaintext's range within `fragment`.
    pub(crate) fn open(
        &self,
        header: &[u8; 13],
        fragment: &mut [u8],
    ) -> Result<core::ops::Range<usize>, BadRecordMac> {
        let explicit = self.explicit_nonce_len();
        let plain_len = fragment
            .len()
            .checked_sub(explicit + TAG_LEN)
            .ok_or(BadRecordMac)?;
        let mut nonce = self.nonce(u64::from_be_bytes(
            header[3..11].try_into().map_err(|_| BadRecordMac)?,
        ));
        if explicit == 8 {
            nonce[4..].copy_from_slice(fragment.get(..8).ok_or(BadRecordMac)?);
        }
        let aad = aad(header, plain_len);
        let (body, tag) = fragment
            .get_mut(explicit..)
            .ok_or(BadRecordMac)?
            .split_at_mut(plain_len);
        let tag: [u8; TAG_LEN] = (&*tag).try_into().map_err(|_| BadRecordMac)?;
        let ok = match self {
            RecordCipher::Aes128Gcm(c, _) => c.open_in_place_detached(&nonce, &aad, body, &tag),
            #[cfg(feature = "aes-256-gcm")]
            RecordCipher::Aes256Gcm(c, _) => c.open_in_place_detached(&nonce, &aad, body, &tag),
            #[cfg(feature = "chacha20-poly1305")]
            RecordCipher::ChaCha(c, _) => c.open_in_place_detached(&nonce, &aad, body, &tag),
        };
        ok.map_err(|_| BadRecordMac)?;
        Ok(explicit..explicit + plain_len)
    }
}

impl RecordCipher {
    /// Decrypts a record fragment straight into `out` (which must be exactly the plaintext
    /// length, `fragment.len() - overhead()`): the plaintext is written once, where it will be
    /// read, and the received datagram is left as it was.
    pub(crate) fn open_into(
        &self,
        header: &[u8; 13],
        fragment: &[u8],
        out: &mut [u8],
    ) -> Result<(), BadRecordMac> {
        let explicit = self.explicit_nonce_len();
        let plain_len = fragment
            .len()
            .checked_sub(explicit + TAG_LEN)
            .ok_or(BadRecordMac)?;
        if out.len() != plain_len {
            return Err(BadRecordMac);
        }
        let mut nonce = self.nonce(u64::from_be_bytes(
            header[3..11].try_into().map_err(|_| BadRecordMac)?,
        ));
        if explicit == 8 {
            nonce[4..].copy_from_slice(fragment.get(..8).ok_or(BadRecordMac)?);
        }
        let aad = aad(header, plain_len);
        let body = fragment
            .get(explicit..explicit + plain_len)
            .ok_or(BadRecordMac)?;
        let tag: [u8; TAG_LEN] = fragment
            .get(explicit + plain_len..)
            .ok_or(BadRecordMac)?
            .try_into()
            .map_err(|_| BadRecordMac)?;
        let ok = match self {
            RecordCipher::Aes128Gcm(c, _) => c.open_detached_into(&nonce, &aad, body, &tag, out),
            #[cfg(feature = "aes-256-gcm")]
            RecordCipher::Aes256Gcm(c, _) => c.open_detached_into(&nonce, &aad, body, &tag, out),
            #[cfg(feature = "chacha20-poly1305")]
            RecordCipher::ChaCha(c, _) => c.open_detached_into(&nonce, &aad, body, &tag, out),
        };
        ok.map_err(|_| BadRecordMac)
    }
}

/// additional_data = seq_num(epoch+seq) + type + version + length (RFC 5246 §6.2.3.3).
fn aad(header: &[u8; 13], plain_len: usize) -> [u8; 13] {
    let mut a = [0u8; 13];
    a[..8].copy_from_slice(&header[3..11]);
    a[8..11].copy_from_slice(&header[..3]);
    a[11..].copy_from_slice(&(plain_len as u16).to_be_bytes());
    a
}

/// Our ephemeral ECDHE key, for the group the handshake chose; each key wipes itself.
#[derive(Clone)]
pub(crate) enum KeyShare {
    P256(P256SecretKey),
    #[cfg(feature = "x25519")]
    X25519(X25519SecretKey),
}

impl core::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyShare(..)")
    }
}

pub(crate) const MAX_PUBLIC_LEN: usize = 65;

impl KeyShare {
    pub(crate) fn generate(group: NamedGroup, rng: &mut Drbg) -> Option<Self> {
        match group {
            NamedGroup::SECP256R1 => Some(KeyShare::P256(P256SecretKey::generate(rng))),
            #[cfg(feature = "x25519")]
            NamedGroup::X25519 => Some(KeyShare::X25519(X25519SecretKey::generate(rng))),
            _ => None,
        }
    }

    pub(crate) fn public(&self, out: &mut [u8; MAX_PUBLIC_LEN]) -> usize {
        match self {
            KeyShare::P256(sk) => {
                *out = sk.public_key();
                MAX_PUBLIC_LEN
            }
            #[cfg(feature = "x25519")]
            KeyShare::X25519(k) => {
                out[..32].copy_from_slice(&k.public_key());
                32
            }
        }
    }

    /// ECDH with the peer's share; `None` for a point off the curve or an all-zero X25519
    /// result (a small-order point).
    pub(crate) fn agree(&self, peer: &[u8], out: &mut [u8; 32]) -> Option<()> {
        let shared = match self {
            KeyShare::P256(sk) => sk.diffie_hellman(peer),
            #[cfg(feature = "x25519")]
            KeyShare::X25519(k) => k.diffie_hellman(peer),
        }
        .ok()?;
        out.copy_from_slice(shared.as_bytes());
        Some(())
    }
}

/// Signs a SHA-256 digest with our certificate's key (RFC 6979 nonces in every build),
/// DER-encoded into `out`.
pub(crate) fn sign_sha256(
    key: &P256SigningKey,
    prehash: &[u8; 32],
    out: &mut [u8; 72],
) -> Option<usize> {
    let sig = key.sign_prehash(prehash).ok()?;
    Some(der_signature(&sig, out))
}

/// Whether the DER signature `der` signs the SHA-256 digest `prehash` under `key`.
pub(crate) fn verify_sha256(key: &P256VerifyingKey, prehash: &[u8; 32], der: &[u8]) -> bool {
    let Some(sig) = parse_der_signature(der) else {
        return false;
    };
    key.verify_prehash(prehash, &sig)
}

/// `r ‖ s` as the DER ECDSA-Sig-Value TLS carries.
pub(crate) fn der_signature(sig: &[u8; 64], out: &mut [u8; 72]) -> usize {
    peerless_crypto::der::encode(sig, out)
}

/// A DER ECDSA-Sig-Value as `r ‖ s`, or `None` when it is not one.
pub(crate) fn parse_der_signature(der: &[u8]) -> Option<[u8; 64]> {
    peerless_crypto::der::decode(der)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    /// The TLS 1.2 PRF test vectors posted to the IETF TLS list (label "test label"); the same
    /// bytes come out of `openssl kdf ... TLS1-PRF` with these inputs (checked by hand).
    #[test]
    fn prf_sha256_known_answer() {
        let secret = hex!("9bbe436ba940f017b17652849a71db35");
        let seed = hex!("a0ba9f936cda311827a6f796ffd5198c");
        let mut out = [0u8; 100];
        prf(PrfHash::Sha256, &secret, b"test label", &[&seed], &mut out);
        assert_eq!(
            out,
            hex!(
                "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a"
                "6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab"
                "4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff701"
                "87347b66"
            )
        );
    }

    #[cfg(feature = "aes-256-gcm")]
    #[test]
    fn prf_sha384_known_answer() {
        let secret = hex!("b80b733d6ceefcdc71566ea48e5567df");
        let seed = hex!("cd665cf6a8447dd6ff8b27555edb7465");
        let mut out = [0u8; 148];
        prf(PrfHash::Sha384, &secret, b"test label", &[&seed], &mut out);
        assert_eq!(
            out,
            hex!(
                "7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cd"
                "e9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd"
                "8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d918425"
                "9b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6"
                "91c8f3a26854308d5eaa3be85e0990703d73e56f"
            )
        );
    }

    #[test]
    fn der_signature_round_trip() {
        let mut rs = [0u8; 64];
        rs[..32].fill(0x80);
        rs[63] = 7;
        let mut out = [0u8; 72];
        let n = der_signature(&rs, &mut out);
        assert_eq!(&out[..6], &[0x30, (n - 2) as u8, 0x02, 33, 0x00, 0x80]);
        let sig = parse_der_signature(&out[..n]).unwrap();
        assert_eq!(sig, rs);
        assert!(parse_der_signature(&out[..n - 1]).is_none());
    }

    #[test]
    fn aead_round_trip_and_tamper() {
        // Every suite this build implements; a left-out one cannot even be keyed.
        for &suite in crate::ALL_CIPHER_SUITES {
            let (kl, il) = key_iv_len(suite);
            let c = RecordCipher::new(suite, &[7u8; 32][..kl], &[9u8; 12][..il]).unwrap();
            let header = [23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 5, 0, 0];
            let mut rec = [0u8; 64];
            let n = c.overhead() + 10;
            rec[c.explicit_nonce_len()..c.explicit_nonce_len() + 10].copy_from_slice(b"0123456789");
            c.seal(&header, &mut rec[..n]).unwrap();
            let mut copy = rec;
            let mut out = [0u8; 10];
            c.open_into(&header, &rec[..n], &mut out).unwrap();
            assert_eq!(&out, b"0123456789");
            let range = c.open(&header, &mut rec[..n]).unwrap();
            assert_eq!(&rec[range], b"0123456789");
            copy[n - 1] ^= 1;
            assert!(c.open(&header, &mut copy[..n]).is_err());
        }
        for (suite, built) in [
            (
                CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384,
                cfg!(feature = "aes-256-gcm"),
            ),
            (
                CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
                cfg!(feature = "chacha20-poly1305"),
            ),
        ] {
            assert_eq!(
                RecordCipher::new(suite, &[7u8; 32], &[9u8; 12][..key_iv_len(suite).1]).is_some(),
                built
            );
        }
        let mut rng = Drbg::from_seed(&[3; 32], b"test");
        assert_eq!(
            KeyShare::generate(NamedGroup::X25519, &mut rng).is_some(),
            cfg!(feature = "x25519")
        );
        assert!(KeyShare::generate(NamedGroup::SECP256R1, &mut rng).is_some());
    }
}
