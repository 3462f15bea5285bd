//! One complete handshake between two endpoints in memory, `no_std` and without an allocator:
//! what the firmware runs on the emulated Cortex-M4 to count instructions per side.
//!
//! ```text
//!   client --datagram--> buf --handle_packet--> server
//!   client <--handle_packet-- buf <--datagram-- server     (until both report Connected)
//! ```
//!
//! Every call on one side runs inside `measure(side, call)`, so the caller can read a cycle or
//! instruction counter around it and sum per side.

use crate::endpoint::{Endpoint, Event, SrtpKeyingMaterial};
use peerless_base::Instant;

/// Which endpoint a measured call ran on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Side {
    /// The DTLS client.
    Client,
    /// The DTLS server.
    Server,
}

/// Why the self-test handshake did not complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SelftestError {
    /// `buf` cannot hold a datagram at the configured MTU.
    BufferTooSmall,
    /// An endpoint closed (bad configuration, fingerprint mismatch...).
    Closed,
    /// No progress after many exchanges.
    Stalled,
    /// Both connected but exported different SRTP keys (must never happen).
    KeysDiffer,
}

impl core::fmt::Display for SelftestError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SelftestError::BufferTooSmall => "the buffer cannot hold a datagram at the MTU",
            SelftestError::Closed => "an endpoint closed",
            SelftestError::Stalled => "the handshake made no progress",
            SelftestError::KeysDiffer => "the two sides exported different SRTP keys",
        })
    }
}

impl core::error::Error for SelftestError {}

/// Starts the client (`connect`) and runs the handshake between `client` and `server` (made
/// with `Role::Client` and `Role::Server`, fingerprints already set) until both report `Event::Connected`, shuttling
/// datagrams through `buf` (at least the MTU). Returns the client's SRTP keying material.
///
/// ```
/// use peerless_base::{Drbg, Instant};
/// use peerless_dtls::{selftest, Certificate, Config, Endpoint, HashAlgorithm, Role, Validity};
/// let mut rng = Drbg::from_seed(&[7; 32], b"certs");
/// let validity = Validity::days_from(1_700_000_000, 30);
/// let (a, b) = (Certificate::generate(&mut rng, validity).unwrap(), Certificate::generate(&mut rng, validity).unwrap());
/// let (fa, fb) = (a.fingerprint(HashAlgorithm::Sha256), b.fingerprint(HashAlgorithm::Sha256));
/// let mut client: Endpoint<2048, 2048> = Endpoint::new(Config::new(Role::Client, a, [1; 32]), Instant::ZERO);
/// let mut server: Endpoint<2048, 2048> = Endpoint::new(Config::new(Role::Server, b, [2; 32]), Instant::ZERO);
/// client.set_remote_fingerprint(fb);
/// server.set_remote_fingerprint(fa);
/// let mut buf = [0u8; 1200];
/// let mut calls = [0u32; 2];
/// let keys = selftest::handshake(&mut client, &mut server, &mut buf, |side, call| {
///     // On the MCU: read SysTick here, run the call, add the difference to `side`'s total.
///     calls[side as usize] += 1;
///     call();
/// }).unwrap();
/// assert_eq!(keys.as_bytes().len(), 56); // AEAD_AES_128_GCM: 2 * (16 + 12)
/// ```
pub fn handshake<const RX: usize, const TX: usize>(
    client: &mut Endpoint<RX, TX>,
    server: &mut Endpoint<RX, TX>,
    buf: &mut [u8],
    mut measure: impl FnMut(Side, &mut dyn FnMut()),
) -> Result<SrtpKeyingMaterial, SelftestError> {
    let mut client_keys = None;
    let mut server_keys = None;
    measure(Side::Client, &mut || client.connect(Instant::ZERO));
    for _ in 0..64 {
        let mut moved = flush(
            client,
            server,
            Side::Client,
            Side::Server,
            buf,
            &mut measure,
        )?;
        moved |= flush(
            server,
            client,
            Side::Server,
            Side::Client,
            buf,
            &mut measure,
        )?;
        for (ep, side, keys) in [
            (&mut *client, Side::Client, &mut client_keys),
            (&mut *server, Side::Server, &mut server_keys),
        ] {
            let mut closed = false;
            measure(side, &mut || {
                while let Some(ev) = ep.poll_event() {
                    match ev {
                        Event::Connected { keys: k, .. } => *keys = Some(k),
                        Event::Closed(_) => closed = true,
                        Event::ApplicationData(_) => {}
                    }
                }
            });
            if closed {
                return Err(SelftestError::Closed);
            }
        }
        if client_keys.is_some() && server_keys.is_some() {
            return match (client_keys.take().flatten(), server_keys.take().flatten()) {
                (Some(c), Some(s)) if c == s => Ok(c),
                _ => Err(SelftestError::KeysDiffer),
            };
        }
        if !moved {
            return Err(SelftestError::Stalled);
        }
    }
    Err(SelftestError::Stalled)
}

/// Moves every datagram `from` has to `to`; whether there was any.
fn flush<const RX: usize, const TX: usize>(
    from: &mut Endpoint<RX, TX>,
    to: &mut Endpoint<RX, TX>,
    side_from: Side,
    side_to: Side,
    buf: &mut [u8],
    measure: &mut impl FnMut(Side, &mut dyn FnMut()),
) -> Result<bool, SelftestError> {
    let mut moved = false;
    loop {
        let mut len = Ok(None);
        measure(side_from, &mut || {
            len = from.poll_transmit(buf).map(|t| t.map(|t| t.len()));
        });
        let Some(n) = len.map_err(|_| SelftestError::BufferTooSmall)? else {
            return Ok(moved);
        };
        moved = true;
        let datagram = buf.get_mut(..n).ok_or(SelftestError::BufferTooSmall)?;
        measure(side_to, &mut || to.handle_packet(Instant::ZERO, datagram));
    }
}

/// Verifies one RSA-2048 RSASSA-PKCS1-v1_5 SHA-256 signature made by OpenSSL (the known
/// answer in tests/data/rsa, from its certificate's key) and checks that the same signature
/// with one bit changed is refused: what the firmware runs to count the instructions an RSA
/// peer's signature costs. True when both hold.
///
/// ```
/// assert!(peerless_dtls::selftest::rsa_known_answer());
/// ```
#[cfg(feature = "rsa")]
pub fn rsa_known_answer() -> bool {
    use crate::cert::PeerKey;
    use crate::wire::SignatureScheme;
    use sha2::Digest;
    const CERT: &[u8] = include_bytes!("../tests/data/rsa/rsa2048-e65537.cert.der");
    const SIG: &[u8; 256] = include_bytes!("../tests/data/rsa/rsa2048-e65537.pkcs1-sha256.sig");
    const MESSAGE: &[u8] = include_bytes!("../tests/data/rsa/message.txt");
    let Ok(key) = PeerKey::from_certificate(CERT) else {
        return false;
    };
    let digest = sha2::Sha256::digest(MESSAGE);
    let good = key.verify(SignatureScheme::RSA_PKCS1_SHA256, &digest, SIG);
    let mut bad = *SIG;
    if let Some(b) = bad.last_mut() {
        *b ^= 1;
    }
    good && !key.verify(SignatureScheme::RSA_PKCS1_SHA256, &digest, &bad)
}
