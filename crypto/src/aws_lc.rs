//! The aws-lc-rs backend (feature `aws-lc-rs`, std hosts: servers and SFUs).
//!
//! ```text
//!   peerless-crypto type ──► aws-lc-rs object (AWS-LC: assembly AES-GCM, SHA, P-256)
//!   Aes128Gcm = aead::LessSafeKey            AesCtr128 = cipher::EncryptingKey (CTR)
//!   HmacSha1  = hmac::Context (keyed, cloned per message)
//!   P256VerifyingKey = ECDSA_P256_SHA256_FIXED verify_digest
//!   P256SecretKey, X25519SecretKey = agreement::PrivateKey
//!   P256SigningKey = RFC 6979 k (rfc6979) + k·G from AWS-LC (an ECDH key's public key) + p256 scalars
//! ```
//!
//! The same API and the same known answers as [`crate::rustcrypto`]. Some of these objects
//! hold their state behind AWS-LC's own allocations, so this backend needs std (and is never
//! in firmware). Constructors that cannot fail in RustCrypto cannot fail here either for the
//! lengths the types take; where AWS-LC could still refuse, the error surfaces as [`Error`]
//! from the first operation instead of a panic.

extern crate std;

use aws_lc_rs::{aead, agreement, cipher, digest, hmac, signature};

use crate::{Error, SharedSecret, TAG_LEN};

macro_rules! aead {
    ($(#[$doc:meta])* $name:ident, $alg:expr, $key_len:expr) => {
        $(#[$doc])*
        ///
        /// Keeps its raw key (wiped on drop) beside AWS-LC's keyed context: `LessSafeKey` is
        /// not `Clone`, so a clone keys a new one.
        pub struct $name(Option<aead::LessSafeKey>, zeroize::Zeroizing<[u8; $key_len]>);

        impl Clone for $name {
            fn clone(&self) -> Self {
                Self::new(&self.1)
            }
        }

        impl $name {
            /// Key length in bytes.
            pub const KEY_LEN: usize = $key_len;

            /// Keys the cipher (expands the key schedule once).
            #[must_use]
            pub fn new(key: &[u8; $key_len]) -> Self {
                $name(
                    aead::UnboundKey::new(&$alg, key)
                        .ok()
                        .map(aead::LessSafeKey::new),
                    zeroize::Zeroizing::new(*key),
                )
            }

            /// Keys the cipher from a slice; [`Error`] unless it is [`Self::KEY_LEN`] long.
            pub fn from_slice(key: &[u8]) -> Result<Self, Error> {
                let key: &[u8; $key_len] = key.try_into().map_err(|_| Error)?;
                Ok(Self::new(key))
            }

            fn key(&self) -> Result<&aead::LessSafeKey, Error> {
                self.0.as_ref().ok_or(Error)
            }

            /// Encrypts `buf` in place and returns the tag (authenticating `aad` too).
            #[inline]
            pub fn seal_in_place_detached(
                &self,
                nonce: &[u8; 12],
                aad: &[u8],
                buf: &mut [u8],
            ) -> Result<[u8; TAG_LEN], Error> {
                let tag = self
                    .key()?
                    .seal_in_place_separate_tag(
                        aead::Nonce::assume_unique_for_key(*nonce),
                        aead::Aad::from(aad),
                        buf,
                    )
                    .map_err(|_| Error)?;
                tag.as_ref().try_into().map_err(|_| Error)
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
                self.key()?
                    .open_in_place_separate_tag(
                        aead::Nonce::assume_unique_for_key(*nonce),
                        aead::Aad::from(aad),
                        tag,
                        buf,
                    )
                    .map(|_| ())
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
                if ciphertext.len() != out.len() {
                    return Err(Error);
                }
                self.key()?
                    .open_separate_gather(
                        aead::Nonce::assume_unique_for_key(*nonce),
                        aead::Aad::from(aad),
                        ciphertext,
                        tag,
                        out,
                    )
                    .map_err(|_| Error)
            }
        }
    };
}

aead!(
    /// AES-128-GCM with a 96-bit nonce and a 128-bit tag (NIST SP 800-38D).
    Aes128Gcm,
    aead::AES_128_GCM,
    16
);
aead!(
    /// AES-256-GCM with a 96-bit nonce and a 128-bit tag (NIST SP 800-38D).
    Aes256Gcm,
    aead::AES_256_GCM,
    32
);
#[cfg(feature = "chacha20-poly1305")]
aead!(
    /// ChaCha20-Poly1305 (RFC 8439).
    ChaCha20Poly1305,
    aead::CHACHA20_POLY1305,
    32
);

macro_rules! ctr {
    ($(#[$doc:meta])* $name:ident, $alg:expr, $key_len:expr) => {
        $(#[$doc])*
        ///
        /// Keeps its raw key (wiped on drop) beside AWS-LC's key: `EncryptingKey` is not
        /// `Clone`, so a clone keys a new one.
        pub struct $name(Option<cipher::EncryptingKey>, zeroize::Zeroizing<[u8; $key_len]>);

        impl Clone for $name {
            fn clone(&self) -> Self {
                Self::new(&self.1)
            }
        }

        impl $name {
            /// Keys the cipher (expands the key schedule once).
            #[must_use]
            pub fn new(key: &[u8; $key_len]) -> Self {
                $name(
                    cipher::UnboundCipherKey::new(&$alg, key)
                        .and_then(cipher::EncryptingKey::ctr)
                        .ok(),
                    zeroize::Zeroizing::new(*key),
                )
            }

            /// Keys the cipher from a slice; [`Error`] unless it is the key length.
            pub fn from_slice(key: &[u8]) -> Result<Self, Error> {
                let key: &[u8; $key_len] = key.try_into().map_err(|_| Error)?;
                Ok(Self::new(key))
            }

            /// XORs `data` with the keystream AES(iv), AES(iv + 1), ... (the counter block is
            /// one 128-bit big-endian number, as RFC 3711's AES-CM and SP 800-38A's CTR).
            ///
            /// A key AWS-LC refused (never seen for a key of the right length) leaves `data`
            /// as it was; the MAC or AEAD check of the packet then fails.
            #[inline]
            pub fn apply_keystream(&self, iv: &[u8; 16], data: &mut [u8]) {
                if let Some(key) = &self.0 {
                    let context = cipher::EncryptionContext::Iv128((*iv).into());
                    let _ = key.less_safe_encrypt(data, context);
                }
            }
        }
    };
}

ctr!(
    /// AES-128 in counter mode (keystream XOR; encryption and decryption are the same call).
    AesCtr128,
    cipher::AES_128,
    16
);
ctr!(
    /// AES-256 in counter mode (keystream XOR; encryption and decryption are the same call).
    AesCtr256,
    cipher::AES_256,
    32
);

macro_rules! hmac {
    ($(#[$doc:meta])* $name:ident, $alg:expr, $len:expr) => {
        $(#[$doc])*
        ///
        /// The keyed state is computed once in `new`; clone it to start one MAC per message
        /// without rehashing the key.
        #[derive(Clone)]
        pub struct $name(hmac::Context);

        impl $name {
            /// Output length in bytes.
            pub const LEN: usize = $len;

            /// Keys the MAC (any key length, as HMAC allows).
            #[must_use]
            pub fn new(key: &[u8]) -> Self {
                $name(hmac::Context::with_key(&hmac::Key::new($alg, key)))
            }

            /// Feeds `data` into the MAC.
            #[inline]
            pub fn update(&mut self, data: &[u8]) {
                self.0.update(data);
            }

            /// The tag.
            #[must_use]
            #[inline]
            pub fn finalize(self) -> [u8; $len] {
                let mut out = [0u8; $len];
                for (o, b) in out.iter_mut().zip(self.0.sign().as_ref()) {
                    *o = *b;
                }
                out
            }

            /// Whether `tag` equals the first `tag.len()` bytes of the tag, compared in
            /// constant time (an empty or over-long `tag` never verifies).
            #[must_use]
            #[inline]
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
    hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
    20
);
hmac!(
    /// HMAC-SHA256 (RFC 4868): the DRBG, STUN's MESSAGE-INTEGRITY-SHA256, the TLS PRF,
    /// SCTP and DTLS cookies.
    HmacSha256,
    hmac::HMAC_SHA256,
    32
);
hmac!(
    /// HMAC-SHA384: the TLS PRF of the AES-256-GCM suites.
    HmacSha384,
    hmac::HMAC_SHA384,
    48
);

macro_rules! hash {
    ($(#[$doc:meta])* $name:ident, $alg:expr, $len:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(digest::Context);

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

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
                $name(digest::Context::new(&$alg))
            }

            /// Feeds `data` into the hash.
            #[inline]
            pub fn update(&mut self, data: &[u8]) {
                self.0.update(data);
            }

            /// The digest.
            #[must_use]
            #[inline]
            pub fn finalize(self) -> [u8; $len] {
                let mut out = [0u8; $len];
                for (o, b) in out.iter_mut().zip(self.0.finish().as_ref()) {
                    *o = *b;
                }
                out
            }

            /// One-shot digest of `data`.
            #[must_use]
            pub fn digest(data: &[u8]) -> [u8; $len] {
                let mut h = Self::new();
                h.update(data);
                h.finalize()
            }
        }
    };
}

hash!(
    /// SHA-256 (FIPS 180-4).
    Sha256,
    digest::SHA256,
    32
);
hash!(
    /// SHA-384 (FIPS 180-4).
    Sha384,
    digest::SHA384,
    48
);
hash!(
    /// SHA-512 (FIPS 180-4): certificate fingerprints only.
    Sha512,
    digest::SHA512,
    64
);

/// Draws 32 bytes from `rng` until `accept` takes them (a scalar below the group order: the
/// first draw almost always is).
fn draw<R: rand_core::CryptoRng + ?Sized, T>(
    rng: &mut R,
    mut accept: impl FnMut(&[u8; 32]) -> Option<T>,
) -> T {
    loop {
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *k);
        if let Some(t) = accept(&k) {
            return t;
        }
    }
}

/// An ephemeral P-256 private key for ECDH (ECDHE key exchange).
///
/// Keeps its scalar (wiped on drop) beside AWS-LC's key: `PrivateKey` is not `Clone`.
pub struct P256SecretKey {
    key: Option<agreement::PrivateKey>,
    scalar: zeroize::Zeroizing<[u8; 32]>,
    public: [u8; 65],
}

impl Clone for P256SecretKey {
    fn clone(&self) -> Self {
        P256SecretKey {
            key: agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, &*self.scalar).ok(),
            scalar: self.scalar.clone(),
            public: self.public,
        }
    }
}

impl P256SecretKey {
    /// A fresh key drawn from `rng` (the host's DRBG).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        draw(rng, |k| Self::from_bytes(k).ok())
    }

    /// The key with scalar `bytes` (big-endian); [`Error`] when it is 0 or not below the
    /// group order.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, Error> {
        let key = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, bytes)
            .map_err(|_| Error)?;
        let pk = key.compute_public_key().map_err(|_| Error)?;
        let public = pk.as_ref().try_into().map_err(|_| Error)?;
        Ok(P256SecretKey {
            key: Some(key),
            scalar: zeroize::Zeroizing::new(*bytes),
            public,
        })
    }

    /// The public key as an uncompressed SEC1 point (`04 ‖ x ‖ y`).
    #[must_use]
    pub fn public_key(&self) -> [u8; 65] {
        self.public
    }

    /// ECDH with the peer's SEC1 public key: the x coordinate of the shared point;
    /// [`Error`] when the peer's point is not on the curve.
    pub fn diffie_hellman(&self, peer: &[u8]) -> Result<SharedSecret, Error> {
        let key = self.key.as_ref().ok_or(Error)?;
        let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, peer);
        agreement::agree(key, peer, Error, |s| {
            s.try_into().map(SharedSecret).map_err(|_| Error)
        })
    }
}

/// A P-256 ECDSA signing key (our certificate's key) that signs with RFC 6979 deterministic
/// nonces, as the RustCrypto backend does, with AWS-LC doing the expensive part.
///
/// ```text
///   d, z ──► k = RFC 6979 HMAC-DRBG(d, z)            (rfc6979, HMAC-SHA256)
///   k    ──► x(k·G): k as an AWS-LC ECDH key, its public key (fixed-base tables)
///   r = x mod n,  s = k⁻¹·(z + r·d) mod n            (p256 scalar arithmetic, constant time)
/// ```
///
/// Why not AWS-LC's own `EcdsaKeyPair`: it draws the nonce from AWS-LC's generator, so a run
/// would depend on entropy other than the host's DRBG and no longer replay from its seed (the
/// simulations and fuzz reproductions rely on that). Why not RustCrypto's signer alone: its
/// k·G is about 1.2 M instructions, a third of a handshake's CPU. The public key of k taken as
/// an ECDH private key is exactly k·G, so the signature is bit-for-bit the RustCrypto one (the
/// RFC 6979 known answers check it), at AWS-LC's speed. Key generation, export and
/// the public key stay RustCrypto's (once per certificate).
#[derive(Clone)]
pub struct P256SigningKey(crate::rustcrypto::P256SigningKey);

impl P256SigningKey {
    /// A fresh key drawn from `rng` (the host's DRBG).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        P256SigningKey(crate::rustcrypto::P256SigningKey::generate(rng))
    }

    /// The key with scalar `bytes` (big-endian, 32 bytes); [`Error`] when it is 0, not below
    /// the group order or not 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        crate::rustcrypto::P256SigningKey::from_slice(bytes).map(P256SigningKey)
    }

    /// The scalar, big-endian (for exporting the key; wipe it after use).
    #[must_use]
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        self.0.to_bytes()
    }

    /// The public key as an uncompressed SEC1 point (`04 ‖ x ‖ y`).
    #[must_use]
    pub fn public_key(&self) -> [u8; 65] {
        self.0.public_key()
    }

    /// Signs a SHA-256 digest (deterministic nonces, RFC 6979); returns `r ‖ s`.
    pub fn sign_prehash(&self, digest: &[u8; 32]) -> Result<[u8; 64], Error> {
        use p256::elliptic_curve::Curve;
        use p256::elliptic_curve::ff::{Field, PrimeField};
        use p256::elliptic_curve::ops::Reduce;

        // bits2int then mod n, as ecdsa's `bytes2scalar` for a 256-bit digest and order.
        let reduce = |b: &[u8; 32]| {
            <p256::Scalar as Reduce<p256::U256>>::reduce(&p256::U256::from_be_slice(b))
        };
        let d = self.0.0.as_nonzero_scalar();
        let d_bytes = zeroize::Zeroizing::new(<[u8; 32]>::from(d.to_repr()));
        let order = p256::NistP256::ORDER;
        let mut kgen = rfc6979::KGenerator::<sha2::Sha256, p256::U256>::new(
            &*d_bytes,
            digest,
            &[],
            order.as_ref(),
        );
        let z = reduce(digest);
        // The DRBG gives k in [1, n) at once; r or s of zero (probability about 2^-256) asks
        // for the next k, as RFC 6979 §3.4 says. Bounded so that a broken AWS-LC cannot loop.
        for _ in 0..4 {
            let mut k = zeroize::Zeroizing::new([0u8; 32]);
            kgen.fill_next_k(&mut *k);
            let Some(k_scalar) =
                Option::<p256::NonZeroScalar>::from(p256::NonZeroScalar::from_repr((*k).into()))
            else {
                continue;
            };
            // k as an ECDH private key: its public key is k·G, computed with AWS-LC's
            // fixed-base tables; only x is used.
            let key = agreement::PrivateKey::from_private_key(&agreement::ECDH_P256, &*k)
                .map_err(|_| Error)?;
            let point = key.compute_public_key().map_err(|_| Error)?;
            let x: &[u8; 32] = point
                .as_ref()
                .get(1..33)
                .and_then(|x| x.try_into().ok())
                .ok_or(Error)?;
            let r = reduce(x);
            let Some(k_inv) = Option::<p256::Scalar>::from(Field::invert(k_scalar.as_ref())) else {
                continue;
            };
            let s = k_inv * (z + r * d.as_ref());
            if bool::from(r.is_zero()) || bool::from(s.is_zero()) {
                continue;
            }
            let mut out = [0u8; 64];
            let (r_out, s_out) = out.split_at_mut(32);
            r_out.copy_from_slice(&r.to_repr());
            s_out.copy_from_slice(&s.to_repr());
            return Ok(out);
        }
        Err(Error)
    }
}

/// A P-256 ECDSA public key (a peer certificate's key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct P256VerifyingKey([u8; 65]);

impl P256VerifyingKey {
    /// Parses a SEC1 point (uncompressed or compressed); [`Error`] when it is not on the curve.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self, Error> {
        // AWS-LC parses the point when verifying; parse it now (and decompress) through the
        // RustCrypto arithmetic, which is what rejecting a bad key at certificate time needs.
        let key = p256::PublicKey::from_sec1_bytes(bytes).map_err(|_| Error)?;
        use p256::elliptic_curve::sec1::ToSec1Point;
        let mut out = [0u8; 65];
        for (o, b) in out.iter_mut().zip(key.to_sec1_point(false).as_bytes()) {
            *o = *b;
        }
        Ok(P256VerifyingKey(out))
    }

    /// The key as an uncompressed SEC1 point (`04 ‖ x ‖ y`).
    #[must_use]
    pub fn to_uncompressed(&self) -> [u8; 65] {
        self.0
    }

    /// Whether `signature` (`r ‖ s`) signs `digest` (a SHA-256 digest) under this key.
    #[must_use]
    pub fn verify_prehash(&self, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
        let Ok(digest) = digest::Digest::import_less_safe(digest, &digest::SHA256) else {
            return false;
        };
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &self.0)
            .verify_digest(&digest, signature)
            .is_ok()
    }
}

/// An X25519 private key (RFC 7748).
///
/// Keeps its bytes (wiped on drop) beside AWS-LC's key, which is not `Clone`.
#[cfg(feature = "x25519")]
pub struct X25519SecretKey {
    key: Option<agreement::PrivateKey>,
    bytes: zeroize::Zeroizing<[u8; 32]>,
}

#[cfg(feature = "x25519")]
impl Clone for X25519SecretKey {
    fn clone(&self) -> Self {
        Self::from_bytes(&self.bytes)
    }
}

#[cfg(feature = "x25519")]
impl X25519SecretKey {
    /// A fresh key: 32 bytes from `rng` (the host's DRBG).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut k = zeroize::Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *k);
        Self::from_bytes(&k)
    }

    /// The key with these 32 bytes.
    #[must_use]
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        // Every 32-byte string is an X25519 private key: AWS-LC takes all of them (a refusal
        // would surface as an error from `diffie_hellman`).
        X25519SecretKey {
            key: agreement::PrivateKey::from_private_key(&agreement::X25519, bytes).ok(),
            bytes: zeroize::Zeroizing::new(*bytes),
        }
    }

    /// The public key (the u coordinate of scalar · 9).
    #[must_use]
    pub fn public_key(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Some(pk) = self.key.as_ref().and_then(|k| k.compute_public_key().ok()) {
            for (o, b) in out.iter_mut().zip(pk.as_ref()) {
                *o = *b;
            }
        }
        out
    }

    /// X25519 with the peer's public key; [`Error`] when the result is all zeros (a
    /// small-order peer point, RFC 7748 §6.1) or `peer` is not 32 bytes.
    pub fn diffie_hellman(&self, peer: &[u8]) -> Result<SharedSecret, Error> {
        let key = self.key.as_ref().ok_or(Error)?;
        if peer.len() != 32 {
            return Err(Error);
        }
        let peer = agreement::UnparsedPublicKey::new(&agreement::X25519, peer);
        let s = agreement::agree(key, peer, Error, |s| {
            s.try_into().map(SharedSecret).map_err(|_| Error)
        })?;
        if s.0.iter().all(|&b| b == 0) {
            return Err(Error);
        }
        Ok(s)
    }
}
