//! Credentials and the three checksums a STUN message can carry.
//!
//! ```text
//!   short-term (ICE):  key = password                                   (RFC 8489 §9.1.1)
//!   long-term (TURN):  key = MD5(username ":" realm ":" password)       (RFC 8489 §9.2.2)
//!                      key = SHA-256(username ":" realm ":" password)   (PASSWORD-ALGORITHM 2)
//!   MESSAGE-INTEGRITY         = HMAC-SHA1(key, header' | attrs before it)
//!   MESSAGE-INTEGRITY-SHA256  = HMAC-SHA256(key, ...) truncated to 16..32 bytes
//!   FINGERPRINT               = CRC-32(header' | attrs before it) ^ 0x5354554e
//!   header' = the header with Length counting up to the end of that attribute
//! ```
//!
//! Passwords are used as given: SASLprep / OpaqueString preparation (RFC 8265) is the caller's
//! business, since it needs Unicode tables no embedded target wants.

// MD5 stays RustCrypto's in every build (TURN's legacy key only; aws-lc-rs has no MD5).
use md5::{Digest, Md5};
use peerless_crypto::{HmacSha1, HmacSha256, Sha256};

/// XORed into the CRC-32 so that a FINGERPRINT never matches another protocol's CRC.
pub const FINGERPRINT_XOR: u32 = 0x5354_554e;

/// The long-term credential key with the MD5 password algorithm (the RFC 5389 key).
///
/// `username`, `realm` and `password` must already be prepared (SASLprep/OpaqueString).
#[must_use]
pub fn long_term_key_md5(username: &str, realm: &str, password: &str) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(realm.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    h.finalize().into()
}

/// The long-term credential key with the SHA-256 password algorithm (RFC 8489 §18.5.1.2).
#[must_use]
pub fn long_term_key_sha256(username: &str, realm: &str, password: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(realm.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    h.finalize()
}

/// USERHASH (RFC 8489 §14.4): SHA-256 of `username ":" realm` (both already prepared), sent
/// instead of USERNAME when the client hides its user name.
#[must_use]
pub fn userhash(username: &str, realm: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(username.as_bytes());
    h.update(b":");
    h.update(realm.as_bytes());
    h.finalize()
}

/// HMAC-SHA1 over `header` (20 bytes with the adjusted length) then `body`.
pub(crate) fn hmac_sha1(key: &[u8], header: &[u8], body: &[u8]) -> [u8; 20] {
    HmacSha1::mac(key, &[header, body])
}

/// HMAC-SHA256 over `header` then `body`.
pub(crate) fn hmac_sha256(key: &[u8], header: &[u8], body: &[u8]) -> [u8; 32] {
    HmacSha256::mac(key, &[header, body])
}

// FINGERPRINT's CRC-32 (ISO-HDLC): slice-by-16 on hosts for throughput; a 1 KiB table on
// microcontrollers, where a 16 KiB table (crc32fast's) was 5 % of the firmware's flash.
#[cfg(not(target_os = "none"))]
type CrcTable = crc::Table<16>;
#[cfg(target_os = "none")]
type CrcTable = crc::Table<1>;

static CRC32: crc::Crc<u32, CrcTable> = crc::Crc::<u32, CrcTable>::new(&crc::CRC_32_ISO_HDLC);

/// The FINGERPRINT value over `header` then `body`.
pub(crate) fn fingerprint(header: &[u8], body: &[u8]) -> u32 {
    let mut digest = CRC32.digest();
    digest.update(header);
    digest.update(body);
    digest.finalize() ^ FINGERPRINT_XOR
}
