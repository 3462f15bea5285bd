//! DTLS 1.2 for WebRTC (RFC 6347, RFC 5764, RFC 7627, RFC 5705): a sans-IO state machine with
//! no allocator, no runtime and no OS.
//!
//! One [`Endpoint`] is one side of one DTLS association on one path (the ICE-selected pair).
//! It plays the client or the server as the SDP `a=setup` outcome says, authenticates the peer
//! by the certificate fingerprint from SDP, and hands out the SRTP keys (RFC 5764) and the
//! application data channel (SCTP rides on it, RFC 8261).
//!
//! - Suites: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (what browsers pick),
//!   _AES_256_GCM_SHA384 (feature `aes-256-gcm`) and _CHACHA20_POLY1305_SHA256 (feature
//!   `chacha20-poly1305`); groups x25519 (feature `x25519`) and secp256r1; signatures
//!   ecdsa_secp256r1_sha256. The three features are on by default; firmware leaves them out
//!   (AES-128-GCM over secp256r1 only, 9.8 KB less flash on a Cortex-M4), and a build without
//!   one neither offers nor accepts it: it is missing from [`ALL_CIPHER_SUITES`] /
//!   [`ALL_GROUPS`], and a configured list naming it is refused ([`ListError::Unknown`]).
//! - Peers with RSA certificates (feature `rsa`, on by default; stock GStreamer webrtcbin,
//!   Asterisk, FreeSWITCH): as a client we also offer TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
//!   _AES_256_GCM_SHA384 and _CHACHA20_POLY1305_SHA256 and verify the server's RSA
//!   ServerKeyExchange; as a server we accept an RSA client certificate and verify its
//!   CertificateVerify. Verified: rsa_pss_rsae_sha256/384 and rsa_pkcs1_sha256/384, keys of
//!   2048 to 4096 bits (others are refused with unsupported_certificate before any
//!   arithmetic), no allocator. Our own certificate is always ECDSA P-256, so as a server we
//!   pick only ECDHE_ECDSA suites.
//! - Extensions: use_srtp (all four profiles), extended_master_secret (required),
//!   renegotiation_info, supported_groups, ec_point_formats, signature_algorithms. Anything
//!   else in a ClientHello (DTLS 1.3 supported_versions, key shares, unknown suites, groups
//!   and extensions) is ignored and DTLS 1.2 is negotiated.
//! - Mutual authentication with self-signed certificates (ours ECDSA P-256, [`Certificate`]),
//!   checked against the SDP fingerprint ([`Fingerprint`]).
//! - Fragmentation and reassembly at any MTU, flights retransmitted with exponential backoff,
//!   HelloVerifyRequest cookies (server, optional; bound to the whole ClientHello, secret
//!   rotated with [`Endpoint::rotate_cookie_secret`]; up to 255-byte cookies from servers),
//!   a 64-record anti-replay window.
//! - Hardening: with cookies on, nothing unauthenticated ends the server (an unreadable
//!   ClientHello is dropped and counted); a handshake fragment of a type or epoch the peer
//!   cannot send at that point takes no reassembly slot; duplicate hello extensions, a
//!   non-empty initial renegotiation_info and a foreign use_srtp MKI abort the handshake;
//!   the server's final flight is sent again only for a retransmitted (authenticated, not
//!   replayed) client Finished, at most 8 times; a renegotiation request gets a
//!   no_renegotiation warning; sequence numbers stop at 2^48 - 1
//!   ([`CloseReason::SequenceExhausted`]); secrets are wiped on drop.
//!
//! Non-goals: DTLS 1.0, RSA certificates of our own and RSA key exchange, PSK, session resumption, renegotiation (refused), DTLS 1.3 (a
//! later version), certificate chains and PKI (WebRTC pins fingerprints instead).
//!
//! # The run loop
//!
//! Like every peerless machine it speaks five verbs. After any input, drain `poll_transmit`
//! and `poll_event` until `None`, then arm one timer at `poll_timeout()`:
//!
//! ```
//! use peerless_base::{Drbg, Instant};
//! use peerless_dtls::{Certificate, Config, Endpoint, Event, HashAlgorithm, Role, Validity};
//!
//! let mut rng = Drbg::from_seed(&[9; 32], b"doc");
//! let validity = Validity::days_from(1_700_000_000, 30);
//! let (cert_a, cert_b) = (Certificate::generate(&mut rng, validity)?, Certificate::generate(&mut rng, validity)?);
//! let (fp_a, fp_b) = (cert_a.fingerprint(HashAlgorithm::Sha256), cert_b.fingerprint(HashAlgorithm::Sha256));
//! // a=setup:active makes us the client; the fingerprints come from the two SDPs.
//! let now = Instant::ZERO;
//! let mut client: Endpoint = Endpoint::new(Config::new(Role::Client, cert_a, [1; 32]), now);
//! let mut server: Endpoint = Endpoint::new(Config::new(Role::Server, cert_b, [2; 32]), now);
//! client.connect(now); // the client starts; the server answers
//! client.set_remote_fingerprint(fp_b);
//! server.set_remote_fingerprint(fp_a);
//!
//! let mut buf = [0u8; 1500];
//! let mut keys = None;
//! for _ in 0..10 {
//!     // A host sends each datagram on its socket; here they go straight to the other side.
//!     while let Some(datagram) = client.poll_transmit(&mut buf)? {
//!         let n = datagram.len();
//!         server.handle_packet(now, &mut buf[..n]);
//!     }
//!     while let Some(datagram) = server.poll_transmit(&mut buf)? {
//!         let n = datagram.len();
//!         client.handle_packet(now, &mut buf[..n]);
//!     }
//!     while let Some(event) = client.poll_event() {
//!         if let Event::Connected { keys: k, .. } = event {
//!             keys = k; // SRTP master keys and salts for both directions
//!         }
//!     }
//!     while server.poll_event().is_some() {}
//!     // A host arms its timer here: client.poll_timeout(), server.poll_timeout().
//! }
//! assert!(keys.is_some());
//! client.send(b"over DTLS")?;
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```
//!
//! # Error contract
//!
//! Network input never fails a call and never panics: malformed, replayed, unauthenticated or
//! unexpected records are dropped and counted in [`Stats`]. A failed handshake sends a fatal
//! alert and ends with [`Event::Closed`] and a [`CloseReason`]. Commands return small `Copy`
//! errors ([`SendError`]); output goes into the caller's buffer, and a buffer too small is
//! reported with the size needed.
//!
//! # Memory
//!
//! `Endpoint<RX, TX>` holds everything inline: `RX` bytes for handshake reassembly (each
//! message plus one bit per byte; reused for received application data afterwards) and `TX`
//! bytes for our current flight (kept for retransmission) plus queued application data, a
//! 512-byte stash for early next-epoch records, the record ciphers and the handshake state.
//! Up to 16 received records wait for `poll_event` (a `peerless_base::Queue`); one that finds
//! it, or the receive buffer, full is dropped and counted in `Stats::dropped_rx_full`.
//! Measured: `Endpoint` (4096/4096) is 12 848 bytes and `Endpoint<2048, 2048>` 8 752 bytes
//! on x86-64 (`cargo test -p peerless-dtls --test handshake -- --nocapture endpoint_size`);
//! the `rsa` feature adds 464 bytes to each (room for a peer's 4096-bit modulus), 13 312 and
//! 9 216;
//! `Endpoint<2048, 2048>` is about 7.6 KiB on Cortex-M4, where one full handshake costs about
//! 24.6 M instructions per side (x25519 + ECDSA P-256, the reference firmware under QEMU).
#![no_std]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

#[cfg(feature = "std")]
extern crate std;

mod cert;
mod crypto;
mod endpoint;
#[cfg(feature = "rsa")]
mod rsa;
#[cfg(feature = "selftest")]
pub mod selftest;
pub mod wire;

pub use cert::{
    BadFingerprint, Certificate, CertificateError, Fingerprint, HashAlgorithm, MAX_CERTIFICATE_LEN,
    Validity, certificate_public_key,
};
pub use endpoint::{
    ALL_CIPHER_SUITES, ALL_GROUPS, ALL_SRTP_PROFILES, CipherSuites, CloseReason, Config, Endpoint,
    Event, ListError, MAX_MTU, MIN_MTU, NamedGroups, Role, SendError, SrtpKeyingMaterial, Stats,
};
pub use wire::{AlertDescription, CipherSuite, NamedGroup, SrtpProfile};
