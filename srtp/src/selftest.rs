//! On-target checks and a per-packet cost probe, for firmware (no allocation, no clock).
//!
//! [`known_answer`] reproduces libsrtp's `srtp_validate` packet on whatever CPU runs it;
//! [`PacketLoop`] protects and unprotects one 1200-byte RTP packet at a time, so a firmware
//! can count instructions around each call:
//!
//! ```
//! use peerless_srtp::{Profile, selftest::{PacketLoop, known_answer, PACKET_LEN}};
//! assert!(known_answer());
//! let mut buf = [0u8; PACKET_LEN + 16];
//! for profile in Profile::ALL {
//!     let mut probe = PacketLoop::new(profile, &mut buf)?;
//!     let n = probe.protect()?;      // <- count instructions around this
//!     probe.unprotect(n)?;           // <- and this
//! }
//! # Ok::<(), peerless_srtp::Error>(())
//! ```

use crate::{Config, Context, Error, Profile};

/// The RTP packet length [`PacketLoop`] protects (header included).
pub const PACKET_LEN: usize = 1200;

/// Protects libsrtp's validation packet with its test key and compares the bytes, then
/// unprotects it again. `true` when every byte matches.
#[must_use]
pub fn known_answer() -> bool {
    const KEY: [u8; 16] = [
        0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0, 0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41,
        0x39,
    ];
    const SALT: [u8; 14] = [
        0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe, 0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6,
    ];
    const PLAIN: [u8; 12] = [
        0x80, 0x0f, 0x12, 0x34, 0xde, 0xca, 0xfb, 0xad, 0xca, 0xfe, 0xba, 0xbe,
    ];
    const PROTECTED: [u8; 26] = [
        0x4e, 0x55, 0xdc, 0x4c, 0xe7, 0x99, 0x78, 0xd8, 0x8c, 0xa4, 0xd2, 0x15, 0x94, 0x9d, 0x24,
        0x02, 0xb7, 0x8d, 0x6a, 0xcc, 0x99, 0xea, 0x17, 0x9b, 0x8d, 0xbb,
    ];
    let profile = Profile::AesCm128HmacSha1_80;
    let (Ok(mut tx), Ok(mut rx)) = (
        Context::<1, 2>::new(profile, &KEY, &SALT, Config::default()),
        Context::<1, 2>::new(profile, &KEY, &SALT, Config::default()),
    ) else {
        return false;
    };
    let mut buf = [0xabu8; 38];
    buf[..12].copy_from_slice(&PLAIN);
    if tx.protect_rtp(&mut buf, 28) != Ok(38) || buf[..12] != PLAIN || buf[12..] != PROTECTED {
        return false;
    }
    rx.unprotect_rtp(&mut buf) == Ok(28) && buf[..28].iter().skip(12).all(|&b| b == 0xab)
}

/// A sender and a receiver context with one 1200-byte packet between them.
#[derive(Debug)]
pub struct PacketLoop<'b> {
    tx: Context<1, 2>,
    rx: Context<1, 2>,
    buf: &'b mut [u8],
    sequence: u16,
}

/// The sequence number reached; the contexts show no keys, the buffer is not shown.
#[cfg(feature = "defmt")]
impl defmt::Format for PacketLoop<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "PacketLoop {{ tx: {}, rx: {}, sequence: {=u16} }}",
            self.tx,
            self.rx,
            self.sequence
        );
    }
}

impl<'b> PacketLoop<'b> {
    /// Keys both contexts for `profile` (fixed test keys). `buf` needs
    /// `PACKET_LEN + profile.rtp_overhead()` bytes.
    pub fn new(profile: Profile, buf: &'b mut [u8]) -> Result<Self, Error> {
        let needed = PACKET_LEN + profile.rtp_overhead();
        if buf.len() < needed {
            return Err(Error::BufferTooSmall { needed });
        }
        let key = [0x11u8; 32];
        let salt = [0x22u8; 14];
        let key = key.get(..profile.master_key_len()).unwrap_or_default();
        let salt = salt.get(..profile.master_salt_len()).unwrap_or_default();
        Ok(PacketLoop {
            tx: Context::new(profile, key, salt, Config::default())?,
            rx: Context::new(profile, key, salt, Config::default())?,
            buf,
            sequence: 0,
        })
    }

    /// Writes the next 1200-byte RTP packet and protects it; returns the SRTP length.
    pub fn protect(&mut self) -> Result<usize, Error> {
        self.sequence = self.sequence.wrapping_add(1);
        let packet = self
            .buf
            .get_mut(..PACKET_LEN)
            .ok_or(Error::BufferTooSmall { needed: PACKET_LEN })?;
        packet.fill(0x5a);
        let [seq_hi, seq_lo] = self.sequence.to_be_bytes();
        if let Some(header) = packet.first_chunk_mut() {
            *header = [
                0x80, 0x60, seq_hi, seq_lo, 0, 0, 0x03, 0xc0, 0x12, 0x34, 0x56, 0x78,
            ];
        }
        self.tx.protect_rtp(self.buf, PACKET_LEN)
    }

    /// Unprotects the `len` bytes [`PacketLoop::protect`] produced and checks the payload
    /// came back intact ([`Error::AuthenticationFailed`] if not).
    pub fn unprotect(&mut self, len: usize) -> Result<(), Error> {
        let packet = self.buf.get_mut(..len).ok_or(Error::Malformed)?;
        let n = self.rx.unprotect_rtp(packet)?;
        let intact = n == PACKET_LEN
            && self
                .buf
                .get(12..n)
                .is_some_and(|p| p.iter().all(|&b| b == 0x5a));
        if intact {
            Ok(())
        } else {
            Err(Error::AuthenticationFailed)
        }
    }
}
