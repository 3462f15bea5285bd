//! Media keys from a DTLS-SRTP handshake (RFC 5764 §4.2).
//!
//! ```text
//!   EXTRACTOR-dtls_srtp, 2·(key+salt) bytes:
//!   ┌──────────────────┬──────────────────┬───────────────────┬───────────────────┐
//!   │ client write key │ server write key │ client write salt │ server write salt │
//!   └──────────────────┴──────────────────┴───────────────────┴───────────────────┘
//!   DTLS client: local = client key+salt (protects what it sends), remote = server's.
//!   DTLS server: the other way round.
//! ```

use crate::{Config, Context, Error, Profile};

/// Which side of the DTLS handshake we were, which decides which half of the keying
/// material protects what we send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// We sent the ClientHello (`a=setup:active`).
    Client,
    /// We answered it (`a=setup:passive`).
    Server,
}

/// One side's master key and salt (sized for the largest profile), wiped when dropped.
#[derive(Clone)]
struct Master {
    key: [u8; 32],
    salt: [u8; 14],
}

impl Drop for Master {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.key);
        zeroize::Zeroize::zeroize(&mut self.salt);
    }
}

/// The master keys of both directions of a DTLS-SRTP session.
///
/// ```
/// use peerless_srtp::{Config, Context, Profile, Role, SessionKeys};
/// // The 60 bytes `EXTRACTOR-dtls_srtp` gave both ends of the handshake.
/// let exported = [0x5a_u8; 60];
/// let ours = SessionKeys::from_dtls_srtp(Profile::AesCm128HmacSha1_80, &exported, Role::Client)?;
/// let theirs = SessionKeys::from_dtls_srtp(Profile::AesCm128HmacSha1_80, &exported, Role::Server)?;
/// let mut send: Context = ours.local_context(Config::default())?;
/// let mut peer_receive: Context = theirs.remote_context(Config::default())?;
///
/// let mut buf = [0u8; 64];
/// let rtp = [0x80, 0x00, 0x00, 0x01, 0, 0, 0, 1, 0, 0, 0, 2, 0xab];
/// buf[..13].copy_from_slice(&rtp);
/// let n = send.protect_rtp(&mut buf, 13)?;
/// assert_eq!(peer_receive.unprotect_rtp(&mut buf[..n])?, 13);
/// # Ok::<(), peerless_srtp::Error>(())
/// ```
///
/// Not `Copy`, and wiped when dropped: stray copies of keys are what outlive their use.
#[derive(Clone)]
pub struct SessionKeys {
    profile: Profile,
    local: Master,
    remote: Master,
}

/// The profile only, never the keys.
#[cfg(feature = "defmt")]
impl defmt::Format for SessionKeys {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "SessionKeys {{ profile: {}, .. }}", self.profile);
    }
}

impl core::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl SessionKeys {
    /// Splits the DTLS exporter output (`EXTRACTOR-dtls_srtp`, exactly
    /// [`Profile::keying_material_len`] bytes) into our keys and the peer's.
    ///
    /// Fails with [`Error::InvalidKeyLength`] if `exported` has the wrong length.
    pub fn from_dtls_srtp(profile: Profile, exported: &[u8], role: Role) -> Result<Self, Error> {
        if exported.len() != profile.keying_material_len() {
            return Err(Error::InvalidKeyLength);
        }
        let (k, s) = (profile.master_key_len(), profile.master_salt_len());
        let take = |key_at: usize, salt_at: usize| {
            let mut m = Master {
                key: [0; 32],
                salt: [0; 14],
            };
            // The length was checked above: each zip copies exactly k and s bytes.
            let key = exported.iter().skip(key_at).take(k);
            let salt = exported.iter().skip(salt_at).take(s);
            m.key.iter_mut().zip(key).for_each(|(d, b)| *d = *b);
            m.salt.iter_mut().zip(salt).for_each(|(d, b)| *d = *b);
            m
        };
        let client = take(0, 2 * k);
        let server = take(k, 2 * k + s);
        let (local, remote) = match role {
            Role::Client => (client, server),
            Role::Server => (server, client),
        };
        Ok(SessionKeys {
            profile,
            local,
            remote,
        })
    }

    /// The negotiated profile.
    #[must_use]
    pub fn profile(&self) -> Profile {
        self.profile
    }

    fn context<const S: usize, const W: usize>(
        &self,
        m: &Master,
        config: Config,
    ) -> Result<Context<S, W>, Error> {
        let (key, salt) = self.master(m);
        Context::new(self.profile, key, salt, config)
    }

    /// A master's key and salt at the profile's lengths (at most the arrays' 32 and 14).
    fn master<'m>(&self, m: &'m Master) -> (&'m [u8], &'m [u8]) {
        (
            m.key
                .get(..self.profile.master_key_len())
                .unwrap_or_default(),
            m.salt
                .get(..self.profile.master_salt_len())
                .unwrap_or_default(),
        )
    }

    /// The context that protects what we send (our write keys).
    pub fn local_context<const S: usize, const W: usize>(
        &self,
        config: Config,
    ) -> Result<Context<S, W>, Error> {
        self.context(&self.local, config)
    }

    /// The context that unprotects what the peer sends (its write keys).
    pub fn remote_context<const S: usize, const W: usize>(
        &self,
        config: Config,
    ) -> Result<Context<S, W>, Error> {
        self.context(&self.remote, config)
    }

    /// Our master key and salt, for handing to another SRTP implementation.
    #[must_use]
    pub fn local_master(&self) -> (&[u8], &[u8]) {
        self.master(&self.local)
    }

    /// The peer's master key and salt.
    #[must_use]
    pub fn remote_master(&self) -> (&[u8], &[u8]) {
        self.master(&self.remote)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Master keys and every keyed primitive wipe themselves when dropped.
    #[test]
    fn keys_are_wiped_on_drop() {
        // The keyed primitives wipe themselves: peerless-crypto tests that of its backends.
        assert!(core::mem::needs_drop::<peerless_crypto::AesCtr128>());
        assert!(core::mem::needs_drop::<peerless_crypto::Aes128Gcm>());
        assert!(core::mem::needs_drop::<peerless_crypto::HmacSha1>());
        assert!(core::mem::needs_drop::<Master>());
        assert!(core::mem::needs_drop::<SessionKeys>());
    }

    #[test]
    fn splits_rfc5764_layout_by_role() {
        let p = Profile::AeadAes128Gcm;
        let mut exported = [0u8; 56];
        for (i, b) in exported.iter_mut().enumerate() {
            *b = i as u8;
        }
        let client = SessionKeys::from_dtls_srtp(p, &exported, Role::Client).unwrap();
        let server = SessionKeys::from_dtls_srtp(p, &exported, Role::Server).unwrap();
        assert_eq!(client.local_master().0, &exported[0..16]);
        assert_eq!(client.remote_master().0, &exported[16..32]);
        assert_eq!(client.local_master().1, &exported[32..44]);
        assert_eq!(client.remote_master().1, &exported[44..56]);
        assert_eq!(server.local_master(), client.remote_master());
        assert_eq!(server.remote_master(), client.local_master());
        assert_eq!(
            SessionKeys::from_dtls_srtp(p, &exported[..55], Role::Client).unwrap_err(),
            Error::InvalidKeyLength
        );
    }
}
