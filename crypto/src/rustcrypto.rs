//! The RustCrypto backend: the default, and the only one firmware builds.
//!
//! ```text
//!   peerless-crypto type ──(newtype, same size)──► RustCrypto state, inline
//!   Aes128Gcm  = AesGcm<Aes128Enc, U12>    AesCtr128 = Aes128Enc (key schedule only)
//!   HmacSha1   = Hmac<Sha1> (keyed pads)   P256SigningKey = ecdsa::SigningKey ...
//! ```
//!
//! Every type is a newtype over the RustCrypto type the stack used before this crate existed,
//! so a machine's state does not grow, and every secret wipes itself on drop as before
//! (the `zeroize` features of aes, aes-gcm, chacha20poly1305 and hmac).

use aes::{Aes128Enc, Aes256Enc};
use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
use cipher::{InnerIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use sha2::Digest;

use crate::{Error, SharedSecret, TAG_LEN};

macro_rules! aead {
    ($(#[$doc:meta])* $name:ident, $inner:ty, $key_len:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name($inner);

        impl $name {
            /// Key length in bytes.
            pub const KEY_LEN: usize = $key_len;

            /// Keys the cipher (expands the key schedule once).
            #[must_use]
            pub fn new(key: &[u8; $key_len]) -> Self {
                $name(<$inner as KeyInit>::new(key.into()))
            }

            /// Keys the cipher from a slice; [`Error`] unless it is [`Self::KEY_LEN`] long.
            pub fn from_slice(key: &[u8]) -> Result<Self, Error> {
                let key: &[u8; $key_len] = key.try_into().map_err(|_| Error)?;
                Ok(Self::new(key))
            }

            /// Encrypts `buf` in place and returns the tag (authenticating `aad` too).
            #[inline]
            pub fn seal_in_place_detached(
                &self,
                nonce: &[u8; 12],
                aad: &[u8],
                buf: &mut [u8],
            ) -> Result<[u8; TAG_LEN], Error> {
                self.0
                    .encrypt_inout_detached(nonce.into(), aad, buf.into())
                    .map(Into::into)
                    .map_err(|_| Error)
            }

            /// Verifies `tag` over `aad` and the ciphertext in `buf`, then decrypts `buf` in
            /// place. On [`Error`] the contents of `buf` are unspecified.
            #[inline]
            pub fn open_in_place_detached(
                &self,
                nonce: &[u8; 12],
                aad: &[u8],
                buf: &mut [u8],
                tag: &[u8; TAG_LEN],
            ) -> Result<(), Error> {
                self.0
                    .decrypt_inout_detached(nonce.into(), aad, buf.into(), tag.into())
                    .map_err(|_| Error)
            }

            /// As [`Self::open_in_place_detached`], reading `ciphertext` and writing the
            /// plaintext to `out` (of the same length).
            #[inline]
            pub fn open_detached_into(
                &self,
                nonce: &[u8; 12],
                aad: &[u8],
                ciphertext: &[u8],
                tag: &[u8; TAG_LEN],
                out: &mut [u8],
            ) -> Result<(), Error> {
                let buf = InOutBuf::new(ciphertext, out).map_err(|_| Error)?;
                self.0
                    .decrypt_inout_detached(nonce.into(), aad, buf, tag.into())
                    .map_err(|_| Error)
            }
        }
    };
}

aead!(
    /// AES-128-GCM with a 96-bit nonce and a 128-bit tag (NIST SP 800-38D).
    Aes128Gcm,
    AesGcm<Aes128Enc, U12>,
    16
);
aead!(
    /// AES-256-GCM with a 96-bit nonce and a 128-bit tag (NIST SP 800-38D).
    Aes256Gcm,
    AesGcm<Aes256Enc, U12>,
    32
);
#[cfg(feature = "chacha20-poly1305")]
aead!(
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
    chacha20poly1305::ChaCha20Poly1305,
    32
);

macro_rules! ctr {
    ($(#[$doc:meta])* $name:ident, $aes:ty, $key_len:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name($aes);

        impl $name {
            /// Keys the cipher (expands the key schedule once).
            #[must_use]
            pub fn new(key: &[u8; $key_len]) -> Self {
                $name(<$aes as cipher::KeyInit>::new(key.into()))
            }

            /// Keys the cipher from a slice; [`Error`] unless it is the key length.
            pub fn from_slice(key: &[u8]) -> Result<Self, Error> {
                let key: &[u8; $key_len] = key.try_into().map_err(|_| Error)?;
                Ok(Self::new(key))
            }

            /// XORs `data` with the keystream AES(iv), AES(iv + 1), ... (the counter block is
            /// one 128-bit big-endian number, as RFC 3711's AES-CM and SP 800-38A's CTR).
            #[inline]
            pub fn apply_keystream(&self, iv: &[u8; 16], data: &mut [u8]) {
                // The 32-bit counter flavour is RustCrypto's fast path; it equals the 128-bit
                // one whenever the low word does not wrap within `data` (every SRTP packet).
                let low = u32::from_be_bytes([iv[12], iv[13], iv[14], iv[15]]);
                let blocks = data.len().div_ceil(16) as u64;
                if u64::from(low) + blocks <= 1 << 32 {
                    let core = ctr::CtrCore::<&$aes, ctr::flavors::Ctr32BE>::inner_iv_init(
                        &self.0,
                        iv.into(),
                    );
                    cipher::StreamCipherCoreWrapper::from_core(core).apply_keystream(data);
                } else {
                    let core = ctr::CtrCore::<&$aes, ctr::flavors::Ctr128BE>::inner_iv_init(
                        &self.0,
                        iv.into(),
                    );
                    cipher::StreamCipherCoreWrapper::from_core(core).apply_keystream(data);
                }
            }
        }
    };
}

ctr!(
    /// AES-128 in counter mode (keystream XOR; encryption and decryption are the same call).
    AesCtr128,
    Aes128Enc,
    16
);
ctr!(
    /// AES-256 in counter mode (keystream XOR; encryption and decryption are the same call).
    AesCtr256,
    Aes256Enc,
    32
);

macro_rules! hmac {
    ($(#[$doc:meta])* $name:ident, $hash:ty, $len:expr) => {
        $(#[$doc])*
        ///
        /// The keyed state (inner and outer pads) is computed once in `new`; clone it to
        /// start one MAC per message without rehashing the key.
        #[derive(Clone)]
        pub struct $name(Hmac<$hash>);

        impl $name {
            /// Output length in bytes.
            pub const LEN: usize = $len;

            /// Keys the MAC (any key length, as HMAC allows).
            #[must_use]
            pub fn new(key: &[u8]) -> Self {
                // HMAC takes keys of any length: RustCrypto's constructor cannot fail for
                // it, and the fallback is never reached.
                $name(
                    <Hmac<$hash> as hmac::digest::KeyInit>::new_from_slice(key)
                        .unwrap_or_else(|_| <Hmac<$hash> as hmac::digest::KeyInit>::new(&Default::default())),
                )
            }

            /// Feeds `data` into the MAC.
            #[inline]
            pub fn update(&mut self, data: &[u8]) {
                self.0.update(data);
            }

            /// The tag.
            #[must_use]
            #[inline(always)]
            pub fn finalize(self) -> [u8; $len] {
                self.0.finalize().into_bytes().into()
            }

            /// Whether `tag` equals the first `tag.len()` bytes of the tag, compared in
            /// constant time (an empty or over-long `tag` never verifies).
            #[must_use]
            #[inline(always)]
            pub fn verify(self, tag: &[u8]) -> bool {
                crate::ct_prefix_eq(&self.finalize(), tag)
            }

            /// One-shot MAC of the concatenation of `parts`.
            #[must_use]
            pub fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; $len] {
                let mut m = Self::new(key);
                for p in parts {
                    m.update(p);
                }
                m.finalize()
            }
        }
    };
}

hmac!(
    /// HMAC-SHA1 (RFC 2104): SRTP's AES-CM profiles, STUN's MESSAGE-INTEGRITY.
    HmacSha1,
    sha1::Sha1,
    20
);
hmac!(
    /// HMAC-SHA256 (RFC 4868): the DRBG, STUN's MESSAGE-INTEGRITY-SHA256, the TLS PRF,
    /// SCTP and DTLS cookies.
    HmacSha256,
    sha2::Sha256,
    32
);
hmac!(
    /// HMAC-SHA384: the TLS PRF of the AES-256-GCM suites.
    HmacSha384,
    sha2::Sha384,
    48
);

macro_rules! hash {
    ($(#[$doc:meta])* $name:ident, $hash:ty, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone, Default)]
        pub struct $name($hash);

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(stringify!($name))
            }
        }

        impl $name {
            /// Output length in bytes.
            pub const LEN: usize = $len;

            /// An empty hash.
            #[must_use]
            pub fn new() -> Self {
                $name(<$hash>::new())
            }

            /// Feeds `data` into the hash.
            #[inline]
            pub fn update(&mut self, data: &[u8]) {
                Digest::update(&mut self.0, data);
            }

            /// The digest.
            #[must_use]
            #[inline]
            pub fn finalize(self) -> [u8; $len] {
                self.0.finalize().into()
            }

            /// One-shot digest of `data`.
            #[must_use]
            pub fn digest(data: &[u8]) -> [u8; $len] {
                <$hash>::digest(data).into()
            }
        }
    };
}

hash!(
    /// SHA-256 (FIPS 180-4).
    Sha256,
    sha2::Sha256,
    32
);
hash!(
    /// SHA-384 (FIPS 180-4).
    Sha384,
    sha2::Sha384,
    48
);
hash!(
    /// SHA-512 (FIPS 180-4): certificate fingerprints only.
    Sha512,
    sha2::Sha512,
    64
);

/// An ephemeral P-256 private key for ECDH (ECDHE key exchange).
#[derive(Clone)]
pub struct P256SecretKey(p256::SecretKey);

impl P256SecretKey {
    /// A fresh key drawn from `rng` (the host's DRBG).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        P256SecretKey(<p256::SecretKey as p256::elliptic_curve::Generate>::generate_from_rng(rng))
    }

    /// The key with scalar `bytes` (big-endian); [`Error`] when it is 0 or not below the
    /// group order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        p256::SecretKey::from_slice(bytes)
            .map(P256SecretKey)
            .map_err(|_| Error)
    }

    /// The public key as an uncompressed SEC1 point (`04 ‖ x ‖ y`).
    #[must_use]
    pub fn public_key(&self) -> [u8; 65] {
        use p256::elliptic_curve::sec1::ToSec1Point;
        let point = self.0.public_key().to_sec1_point(false);
        let mut out = [0u8; 65];
        for (o, b) in out.iter_mut().zip(point.as_bytes()) {
            *o = *b;
        }
        out
    }

    /// ECDH with the peer's SEC1 public key: the x coordinate of the shared point;
    /// [`Error`] when the peer's point is not on the curve.
    pub fn diffie_hellman(&self, peer: &[u8]) -> Result<SharedSecret, Error> {
        let pk = p256::PublicKey::from_sec1_bytes(peer).map_err(|_| Error)?;
        let shared = p256::ecdh::diffie_hellman(self.0.to_nonzero_scalar(), pk.as_affine());
        let mut out = [0u8; 32];
        out.copy_from_slice(shared.raw_secret_bytes());
        Ok(SharedSecret(out))
    }
}

/// A long-term P-256 ECDSA signing key (a certificate's key).
#[derive(Clone)]
pub struct P256SigningKey(pub(crate) p256::ecdsa::SigningKey);

impl P256SigningKey {
    /// A fresh key drawn from `rng` (the host's DRBG).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        P256SigningKey(
            <p256::ecdsa::SigningKey as p256::elliptic_curve::Generate>::generate_from_rng(rng),
        )
    }

    /// The key with scalar `bytes` (big-endian, 32 bytes); [`Error`] when it is 0, not below
    /// the group order or not 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        p256::ecdsa::SigningKey::from_slice(bytes)
            .map(P256SigningKey)
            .map_err(|_| Error)
    }

    /// The scalar, big-endian (for exporting the key; wipe it after use).
    #[must_use]
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.0.to_bytes().into())
    }

    /// The public key as an uncompressed SEC1 point (`04 ‖ x ‖ y`).
    #[must_use]
    pub fn public_key(&self) -> [u8; 65] {
        let point = self.0.verifying_key().to_sec1_point(false);
        let mut out = [0u8; 65];
        for (o, b) in out.iter_mut().zip(point.as_bytes()) {
            *o = *b;
        }
        out
    }

    /// Signs a SHA-256 digest (deterministic nonces, RFC 6979); returns `r ‖ s`.
    pub fn sign_prehash(&self, digest: &[u8; 32]) -> Result<[u8; 64], Error> {
        let sig: p256::ecdsa::Signature = self.0.sign_prehash(digest).map_err(|_| Error)?;
        Ok(sig.to_bytes().into())
    }
}

/// A P-256 ECDSA public key (a peer certificate's key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P256VerifyingKey(p256::ecdsa::VerifyingKey);

impl P256VerifyingKey {
    /// Parses a SEC1 point (uncompressed or compressed); [`Error`] when it is not on the curve.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, Error> {
        p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
            .map(P256VerifyingKey)
            .map_err(|_| Error)
    }

    /// The key as an uncompressed SEC1 point (`04 ‖ x ‖ y`).
    #[must_use]
    pub fn to_uncompressed(&self) -> [u8; 65] {
        let point = self.0.to_sec1_point(false);
        let mut out = [0u8; 65];
        for (o, b) in out.iter_mut().zip(point.as_bytes()) {
            *o = *b;
        }
        out
    }

    /// Whether `signature` (`r ‖ s`) signs `digest` (a SHA-256 digest) under this key.
    #[must_use]
    pub fn verify_prehash(&self, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
        let Ok(sig) = p256::ecdsa::Signature::from_slice(signature) else {
            return false;
        };
        self.0.verify_prehash(digest, &sig).is_ok()
    }
}

/// An X25519 private key (RFC 7748), the scalar as drawn (clamped when used).
#[cfg(feature = "x25519")]
#[derive(Clone)]
pub struct X25519SecretKey([u8; 32]);

#[cfg(feature = "x25519")]
impl Drop for X25519SecretKey {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[cfg(feature = "x25519")]
impl X25519SecretKey {
    /// A fresh key: 32 bytes from `rng` (the host's DRBG).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        X25519SecretKey(k)
    }

    /// The key with these 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        X25519SecretKey(*bytes)
    }

    /// The public key (the u coordinate of scalar · 9).
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        x25519_dalek::x25519(self.0, x25519_dalek::X25519_BASEPOINT_BYTES)
    }

    /// X25519 with the peer's public key; [`Error`] when the result is all zeros (a
    /// small-order peer point, RFC 7748 §6.1) or `peer` is not 32 bytes.
    pub fn diffie_hellman(&self, peer: &[u8]) -> Result<SharedSecret, Error> {
        let peer: [u8; 32] = peer.try_into().map_err(|_| Error)?;
        let s = SharedSecret(x25519_dalek::x25519(self.0, peer));
        if s.0.iter().all(|&b| b == 0) {
            return Err(Error);
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    /// The keyed state behind every type wipes itself when dropped (as srtp and dtls relied
    /// on before this crate).
    #[test]
    fn secrets_wipe_on_drop() {
        fn wipes<T: zeroize::ZeroizeOnDrop>() {}
        wipes::<aes::Aes128Enc>();
        wipes::<aes::Aes256Enc>();
        wipes::<aes_gcm::AesGcm<aes::Aes128Enc, aes_gcm::aead::consts::U12>>();
        wipes::<aes_gcm::AesGcm<aes::Aes256Enc, aes_gcm::aead::consts::U12>>();
        #[cfg(feature = "chacha20-poly1305")]
        wipes::<chacha20poly1305::ChaCha20Poly1305>();
        wipes::<p256::SecretKey>();
        wipes::<p256::ecdsa::SigningKey>();
        #[cfg(feature = "x25519")]
        assert!(core::mem::needs_drop::<super::X25519SecretKey>());
        assert!(core::mem::needs_drop::<crate::SharedSecret>());
    }
}
