//! The cryptographic primitives of peerless behind one boundary, chosen at compile time.
//!
//! ```text
//!   srtp, dtls, stun, sctp, base ──► peerless_crypto::{Aes128Gcm, AesCtr128, HmacSha1, ...}
//!                                          │ (type aliases, resolved at compile time)
//!                     ┌────────────────────┴─────────────────────┐
//!          default: rustcrypto (no_std, no alloc)     feature `aws-lc-rs`: aws_lc (std hosts)
//! ```
//!
//! The API is a small set of concrete types, not trait objects: without an allocator there is
//! no `Box<dyn Aead>`, and keyed state (an expanded AES key schedule, GHASH powers, HMAC pads)
//! must live inline in a machine's state at a size known at compile time. Re-expanding a key
//! per packet behind a `&dyn` would cost more than the virtual call saves. (rustls and dimpl
//! use `&'static dyn` providers because they allocate their key objects; we cannot.)
//!
//! - AEAD: [`Aes128Gcm`], [`Aes256Gcm`], `ChaCha20Poly1305` (feature `chacha20-poly1305`, on
//!   by default): `new(key)`, `seal_in_place_detached(nonce, aad, buf) -> tag`,
//!   `open_in_place_detached`, `open_detached_into`;
//! - AES-CTR keystream: [`AesCtr128`], [`AesCtr256`] (`apply_keystream(iv, data)`, 128-bit
//!   big-endian counter);
//! - MAC: [`HmacSha1`], [`HmacSha256`], [`HmacSha384`]: incremental (clone the keyed state per
//!   message), one-shot `mac`, constant-time `verify` of a full or truncated tag;
//! - hashes: [`Sha256`], [`Sha384`], [`Sha512`];
//! - key agreement: [`P256SecretKey`], `X25519SecretKey` (feature `x25519`, on by default)
//!   (`diffie_hellman` gives a [`SharedSecret`] that wipes itself);
//! - signatures: [`P256SigningKey`] / [`P256VerifyingKey`] over a SHA-256 digest, raw `r ‖ s`,
//!   with [`der`] to convert to and from the DER form TLS carries.
//!
//! Backends: [`rustcrypto`] (the default and the only one firmware builds: no_std, no alloc;
//! every type a newtype over the RustCrypto type, so no state grows) and, with the feature
//! `aws-lc-rs` (implies std), `aws_lc`, whose types then stand behind the crate-level names.
//! The [`rustcrypto`] module stays compiled either way. Random numbers always come from the
//! caller (`generate` takes the host's DRBG): the DRBG's entropy input is the host's,
//! whichever backend. ECDSA signing is RFC 6979 (deterministic, RustCrypto's arithmetic) in
//! both backends, since AWS-LC would draw the nonce from its own generator and a run would no
//! longer replay from its seed; one signature per handshake and side.
//!
//! Not here: MD5 (TURN's long-term credential key, RFC 8489 §9.2.2) and RSA verification
//! (`peerless-dtls`, feature `rsa`) stay on RustCrypto / our own code in every build.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![deny(missing_docs)]

pub mod der;
pub mod rustcrypto;

#[cfg(feature = "aws-lc-rs")]
pub mod aws_lc;

#[cfg(feature = "aws-lc-rs")]
use aws_lc as backend;
#[cfg(not(feature = "aws-lc-rs"))]
use rustcrypto as backend;

pub use backend::{
    Aes128Gcm, Aes256Gcm, AesCtr128, AesCtr256, HmacSha1, HmacSha256, HmacSha384, P256SecretKey,
    P256SigningKey, P256VerifyingKey, Sha256, Sha384, Sha512,
};
// Optional, so that firmware which offers neither does not compile (or link) them: feature
// `chacha20-poly1305` (chacha20 + poly1305) and feature `x25519` (curve25519-dalek).
#[cfg(feature = "chacha20-poly1305")]
pub use backend::ChaCha20Poly1305;
#[cfg(feature = "x25519")]
pub use backend::X25519SecretKey;

/// The name of the backend behind the crate-level types (`"rustcrypto"` or `"aws-lc-rs"`),
/// for benchmarks and logs to print.
pub const BACKEND: &str = if cfg!(feature = "aws-lc-rs") {
    "aws-lc-rs"
} else {
    "rustcrypto"
};

/// The length of every AEAD tag here.
pub const TAG_LEN: usize = 16;

/// A primitive refused its input: a tag that did not verify, a key of the wrong length, a
/// point not on the curve. Deliberately without detail (as ring's `Unspecified`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error;

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("cryptographic operation failed")
    }
}

impl core::error::Error for Error {}

/// A Diffie-Hellman result (32 bytes: P-256's x coordinate or X25519's u), wiped on drop.
pub struct SharedSecret([u8; 32]);

impl SharedSecret {
    /// The secret's bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for SharedSecret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl core::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SharedSecret(..)")
    }
}

/// Whether `tag` is a non-empty prefix of `full`, in time independent of the bytes.
fn ct_prefix_eq(full: &[u8], tag: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    match full.get(..tag.len()) {
        Some(expected) if !tag.is_empty() => expected.ct_eq(tag).into(),
        _ => false,
    }
}
