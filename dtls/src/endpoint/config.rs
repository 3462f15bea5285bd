//! What an endpoint is configured with, and its role.

use core::time::Duration;

use crate::cert::Certificate;
use crate::wire::{CipherSuite, NamedGroup, SrtpProfile};

/// Which side of the handshake this endpoint plays. In WebRTC the SDP `a=setup` outcome
/// decides: `active` is the DTLS client, `passive` the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// Sends the ClientHello (`a=setup:active`).
    Client,
    /// Answers it (`a=setup:passive`).
    Server,
}

/// Everything an [`Endpoint`](crate::Endpoint) is configured with.
#[derive(Clone)]
pub struct Config {
    /// Which side of the handshake we play (the SDP `a=setup` outcome).
    pub role: Role,
    /// Our certificate and key.
    pub certificate: Certificate,
    /// 32 bytes of entropy from the host (TRNG or OS); expanded by HMAC-DRBG.
    pub seed: [u8; 32],
    /// Cipher suites we allow, in preference order (default: [`ALL_CIPHER_SUITES`]).
    pub cipher_suites: CipherSuites,
    /// ECDHE groups we allow, in preference order (default: [`ALL_GROUPS`]). As a client we
    /// also list secp256r1 in supported_groups when it is missing here (RFC 8422 §5.1.1: it
    /// names the curve of our ECDSA certificate), but refuse a server that picks it for ECDHE.
    pub groups: NamedGroups,
    /// SRTP profiles in preference order (empty: no use_srtp).
    pub srtp_profiles: &'static [SrtpProfile],
    /// Largest datagram we send (DTLS header and all), within [`MIN_MTU`]..=[`MAX_MTU`].
    pub mtu: usize,
    /// First retransmission timeout (RFC 6347 suggests 1 s).
    pub retransmit_initial: Duration,
    /// Ceiling of the doubling retransmission timeout (RFC 6347: 60 s).
    pub retransmit_max: Duration,
    /// The handshake fails with [`CloseReason::HandshakeTimeout`](crate::CloseReason::HandshakeTimeout) after this long.
    pub handshake_timeout: Duration,
    /// Server: answer a ClientHello without a valid cookie with a HelloVerifyRequest.
    pub cookies: bool,
}

/// As `Debug`: everything but the seed.
#[cfg(feature = "defmt")]
impl defmt::Format for Config {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Config {{ role: {}, certificate: {}, cipher_suites: {}, groups: {}, \
             srtp_profiles: {}, mtu: {=usize}, retransmit_initial: {}, retransmit_max: {}, \
             handshake_timeout: {}, cookies: {}, .. }}",
            self.role,
            self.certificate,
            self.cipher_suites,
            self.groups,
            self.srtp_profiles,
            self.mtu,
            self.retransmit_initial,
            self.retransmit_max,
            self.handshake_timeout,
            self.cookies
        );
    }
}

/// Everything but the seed (a secret: it determines every key the endpoint makes).
impl core::fmt::Debug for Config {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Config")
            .field("role", &self.role)
            .field("certificate", &self.certificate)
            .field("cipher_suites", &self.cipher_suites)
            .field("groups", &self.groups)
            .field("srtp_profiles", &self.srtp_profiles)
            .field("mtu", &self.mtu)
            .field("retransmit_initial", &self.retransmit_initial)
            .field("retransmit_max", &self.retransmit_max)
            .field("handshake_timeout", &self.handshake_timeout)
            .field("cookies", &self.cookies)
            .finish_non_exhaustive()
    }
}

/// The smallest MTU an endpoint uses: a larger configured value is kept, a smaller one raised.
pub const MIN_MTU: usize = 64;
/// The largest MTU an endpoint uses (one maximal DTLS record).
pub const MAX_MTU: usize = 16384 + 256;

// What this build implements is chosen by cargo features, so that firmware links only what it
// offers (P-256 and AES-128-GCM: curve25519-dalek, ChaCha20-Poly1305, AES-256-GCM and the
// SHA-384 PRF cost it flash and nothing else):
//   rsa                ECDHE_RSA suites (client side) and RSA signature checks
//   aes-256-gcm        the _AES_256_GCM_SHA384 suites
//   chacha20-poly1305  the _CHACHA20_POLY1305_SHA256 suites
//   x25519             the x25519 group
// All on by default. A left-out suite or group is not in `ALL_*`, so `CipherSuites::new` and
// `NamedGroups::new` refuse it (`ListError::Unknown`): it is never offered, and since a
// ClientHello or ServerHello is matched against the configured list, never accepted.

/// Whether this build implements `suite` (the features above).
const fn suite_built(suite: CipherSuite) -> bool {
    match suite {
        CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256 => true,
        CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384 => cfg!(feature = "aes-256-gcm"),
        CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256 => cfg!(feature = "chacha20-poly1305"),
        CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256 => cfg!(feature = "rsa"),
        CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384 => {
            cfg!(feature = "rsa") && cfg!(feature = "aes-256-gcm")
        }
        CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256 => {
            cfg!(feature = "rsa") && cfg!(feature = "chacha20-poly1305")
        }
        _ => false,
    }
}

/// Whether this build implements `group`.
const fn group_built(group: NamedGroup) -> bool {
    group.0 == NamedGroup::SECP256R1.0
        || (group.0 == NamedGroup::X25519.0 && cfg!(feature = "x25519"))
}

/// Every suite the code knows, in the default preference order: ECDSA then RSA, AES-128-GCM
/// first (what browsers pick).
const KNOWN_CIPHER_SUITES: [CipherSuite; 6] = [
    CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256,
    CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384,
    CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
    CipherSuite::ECDHE_RSA_AES_128_GCM_SHA256,
    CipherSuite::ECDHE_RSA_AES_256_GCM_SHA384,
    CipherSuite::ECDHE_RSA_CHACHA20_POLY1305_SHA256,
];
/// Every group the code knows, x25519 first (cheaper).
const KNOWN_GROUPS: [NamedGroup; 2] = [NamedGroup::X25519, NamedGroup::SECP256R1];

// The known lists filtered by `*_built`, at compile time (`while let` over `split_first`:
// iterators are not const, and indexing is what the crate denies). The count comes first so
// the filtered array holds exactly the built entries.
macro_rules! built_list {
    ($item:ident, $known:ident, $built:ident, $count:ident, $list:ident) => {
        const $count: usize = {
            let mut n = 0;
            let mut rest: &[$item] = &$known;
            while let Some((first, tail)) = rest.split_first() {
                if $built(*first) {
                    n += 1;
                }
                rest = tail;
            }
            n
        };
        // `mem::take` is not const: `replace` with an empty slice is.
        #[allow(clippy::mem_replace_with_default)]
        const $list: [$item; $count] = {
            let mut out = [$item(0); $count];
            let mut rest: &[$item] = &$known;
            let mut slots: &mut [$item] = &mut out;
            while let Some((first, tail)) = rest.split_first() {
                if $built(*first) {
                    // `$count` slots for `$count` built entries: never `None`.
                    if let Some((slot, more)) =
                        core::mem::replace(&mut slots, &mut []).split_first_mut()
                    {
                        *slot = *first;
                        slots = more;
                    }
                }
                rest = tail;
            }
            out
        };
    };
}
built_list!(
    CipherSuite,
    KNOWN_CIPHER_SUITES,
    suite_built,
    BUILT_SUITES,
    BUILT_SUITE_LIST
);
built_list!(
    NamedGroup,
    KNOWN_GROUPS,
    group_built,
    BUILT_GROUPS,
    BUILT_GROUP_LIST
);

/// Every cipher suite this build implements, in the default preference order: ECDSA then
/// (feature `rsa`) RSA, AES-128-GCM first (what browsers pick), then (feature `aes-256-gcm`)
/// AES-256-GCM and (feature `chacha20-poly1305`) ChaCha20-Poly1305. As a server we pick only
/// ECDHE_ECDSA suites (our certificate is ECDSA); the ECDHE_RSA ones are offered as a client,
/// for servers with RSA certificates (GStreamer, SIP gateways). Without the optional
/// features (firmware) this is ECDHE_ECDSA_AES_128_GCM_SHA256 alone.
pub const ALL_CIPHER_SUITES: &[CipherSuite] = &BUILT_SUITE_LIST;
/// Every ECDHE group this build implements: x25519 first (cheaper; feature `x25519`), then
/// secp256r1 (always: our certificate's curve).
pub const ALL_GROUPS: &[NamedGroup] = &BUILT_GROUP_LIST;
/// Every SRTP profile, AEAD first.
pub const ALL_SRTP_PROFILES: &[SrtpProfile] = &[
    SrtpProfile::AEAD_AES_128_GCM,
    SrtpProfile::AEAD_AES_256_GCM,
    SrtpProfile::AES128_CM_HMAC_SHA1_80,
    SrtpProfile::AES128_CM_HMAC_SHA1_32,
];

impl Config {
    /// A configuration for `role` with every suite, group and profile, MTU 1200, 1 s initial
    /// and 60 s maximum retransmission timeout, a 60 s handshake limit and no cookies.
    #[must_use]
    pub fn new(role: Role, certificate: Certificate, seed: [u8; 32]) -> Self {
        Config {
            role,
            certificate,
            seed,
            cipher_suites: CipherSuites::ALL,
            groups: NamedGroups::ALL,
            srtp_profiles: ALL_SRTP_PROFILES,
            mtu: 1200,
            retransmit_initial: Duration::from_secs(1),
            retransmit_max: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(60),
            cookies: false,
        }
    }
    /// Allows only these cipher suites, in this preference order; [`ListError`] when the list
    /// is empty, names a suite this build does not implement, or names one twice.
    pub fn with_cipher_suites(mut self, suites: &[CipherSuite]) -> Result<Self, ListError> {
        self.cipher_suites = CipherSuites::new(suites)?;
        Ok(self)
    }
    /// Allows only these ECDHE groups, in this preference order; [`ListError`] as for
    /// [`Config::with_cipher_suites`].
    pub fn with_groups(mut self, groups: &[NamedGroup]) -> Result<Self, ListError> {
        self.groups = NamedGroups::new(groups)?;
        Ok(self)
    }
    /// Sets the SRTP profiles.
    #[must_use]
    pub fn with_srtp_profiles(mut self, profiles: &'static [SrtpProfile]) -> Self {
        self.srtp_profiles = profiles;
        self
    }
    /// Sets the MTU.
    #[must_use]
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }
    /// Sets the initial and maximum retransmission timeouts.
    #[must_use]
    pub fn with_retransmit(mut self, initial: Duration, max: Duration) -> Self {
        self.retransmit_initial = initial;
        self.retransmit_max = max;
        self
    }
    /// Sets the handshake time limit.
    #[must_use]
    pub fn with_handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_timeout = limit;
        self
    }
    /// Server: use HelloVerifyRequest cookies.
    #[must_use]
    pub fn with_cookies(mut self, on: bool) -> Self {
        self.cookies = on;
        self
    }
}

/// Why a list of cipher suites or groups was refused (at configuration time, before any
/// handshake could fail on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ListError {
    /// The list is empty: no handshake could succeed.
    Empty,
    /// This code point is not one this build implements (e.g. an ECDHE_RSA suite without the
    /// `rsa` feature, x25519 without `x25519`); the value is the wire code point.
    Unknown(u16),
    /// This code point appears twice.
    Repeated(u16),
}

impl core::fmt::Display for ListError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ListError::Empty => f.write_str("empty list"),
            ListError::Unknown(v) => write!(f, "unknown code point 0x{v:04x}"),
            ListError::Repeated(v) => write!(f, "code point 0x{v:04x} listed twice"),
        }
    }
}

// A preference list in a fixed array: at most every known code point once, so the array is
// as long as the build's full list and `new` can never overflow it (unknown and repeated
// entries are refused first). Copy, no allocation; reads as a slice.
macro_rules! preference_list {
    ($(#[$doc:meta])* $name:ident, $item:ident, $all:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq)]
        pub struct $name {
            items: [$item; $all.len()],
            len: u8,
        }

        impl $name {
            /// Every one this build implements, in the default order.
            pub const ALL: $name = $name {
                items: match $all.first_chunk() {
                    Some(all) => *all,
                    None => [$item(0); $all.len()],
                },
                len: $all.len() as u8,
            };

            /// The list `list`, in this order; [`ListError`] when it is empty, names a code
            /// point this build does not implement, or names one twice.
            pub fn new(list: &[$item]) -> Result<Self, ListError> {
                if list.is_empty() {
                    return Err(ListError::Empty);
                }
                let mut out = $name {
                    items: [$item(0); $all.len()],
                    len: 0,
                };
                for (n, item) in list.iter().enumerate() {
                    if !$all.contains(item) {
                        return Err(ListError::Unknown(item.0));
                    }
                    if list.iter().take(n).any(|earlier| earlier == item) {
                        return Err(ListError::Repeated(item.0));
                    }
                    // n distinct known entries precede this one: n < $all.len().
                    let slot = out.items.get_mut(n).ok_or(ListError::Repeated(item.0))?;
                    *slot = *item;
                    out.len = out.len.saturating_add(1);
                }
                Ok(out)
            }

            /// The list as a slice, most preferred first.
            #[must_use]
            pub fn as_slice(&self) -> &[$item] {
                self.items.get(..usize::from(self.len)).unwrap_or(&[])
            }
        }

        impl core::ops::Deref for $name {
            type Target = [$item];
            fn deref(&self) -> &[$item] {
                self.as_slice()
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_list().entries(self.as_slice()).finish()
            }
        }

        #[cfg(feature = "defmt")]
        impl defmt::Format for $name {
            fn format(&self, f: defmt::Formatter<'_>) {
                defmt::write!(f, "{}", self.as_slice())
            }
        }
    };
}

preference_list!(
    /// The cipher suites an endpoint allows, in preference order: at most every suite of
    /// [`ALL_CIPHER_SUITES`], each once.
    CipherSuites,
    CipherSuite,
    ALL_CIPHER_SUITES
);
preference_list!(
    /// The ECDHE groups an endpoint allows, in preference order: at most every group of
    /// [`ALL_GROUPS`], each once.
    NamedGroups,
    NamedGroup,
    ALL_GROUPS
);
