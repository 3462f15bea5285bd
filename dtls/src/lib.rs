//! DTLS 1.2 for WebRTC (RFC 6347, RFC 5764, RFC 7627, RFC 5705): a sans-IO state machine, no allocator.
#![no_std]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

mod cert;
mod crypto;
mod endpoint;
pub mod wire;

pub use cert::{
    BadFingerprint, Certificate, CertificateError, Fingerprint, HashAlgorithm, MAX_CERTIFICATE_LEN,
    Validity,
};
pub use endpoint::{
    ALL_CIPHER_SUITES, ALL_GROUPS, ALL_SRTP_PROFILES, CloseReason, Config, Endpoint, Event, Role,
    SendError, SrtpKeyingMaterial, Stats,
};
pub use wire::{AlertDescription, CipherSuite, NamedGroup, SrtpProfile};
