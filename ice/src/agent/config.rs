//! How an agent is set up: its role, its credentials, its STUN servers and its timers.
//!
//! ```text
//!  Config::new(role, seed) --with_lite / with_credentials / with_stun_server--> Agent::new
//!      with_ice_server(url, username, credential)     stun: -> stun_servers, turn: -> turn_servers
//!      with_resolved_ice_server(url, ip, ..)          the same, for a URL naming a host
//!      with_relay_only()                              iceTransportPolicy "relay"
//!      with_turn_dual_stack()                         IPv4 + IPv6 relayed candidates
//!  Credentials: ufrag (4..32 ice-chars) + pwd (22..64), random from the seed when not given
//! ```

use super::*;
use crate::ice_server::{IceServerUrl, TurnServer, UrlError};

/// Up to this many STUN servers for server-reflexive gathering.
pub const MAX_STUN_SERVERS: usize = 4;

/// Up to this many TURN servers for relayed candidates: 2 with the `turn` feature, 0 (no
/// tables, no TURN) without it.
pub const MAX_TURN_SERVERS: usize = if cfg!(feature = "turn") { 2 } else { 0 };

/// Our role in the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// Picks the pair (the offerer, or the full agent facing a lite one).
    Controlling,
    /// Follows the controlling agent's nomination.
    Controlled,
}

/// A username fragment and password (`a=ice-ufrag`, `a=ice-pwd`: RFC 8839 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The username fragment (4 to 32 characters here).
    pub ufrag: Str<32>,
    /// The password (22 to 64 characters here). `Debug` shows it: never log credentials.
    pub pwd: Str<64>,
}

/// The ufrag only: unlike `Debug`, the `defmt` form never shows the password.
#[cfg(feature = "defmt")]
impl defmt::Format for Credentials {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Credentials {{ ufrag: {}, .. }}", self.ufrag);
    }
}

/// Why credentials were rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CredentialsError {
    /// The ufrag is not 4 to 32 ice-chars (or contains ':').
    BadUfrag,
    /// The password is not 22 to 64 ice-chars.
    BadPassword,
}

impl core::fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CredentialsError::BadUfrag => "ICE ufrag is not 4 to 32 ice-chars",
            CredentialsError::BadPassword => "ICE password is not 22 to 64 ice-chars",
        })
    }
}

impl core::error::Error for CredentialsError {}

pub(super) const ICE_CHARS: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Credentials {
    /// Checked credentials. RFC 8445 allows up to 256 characters; this agent stores 32 and 64,
    /// more than any browser sends.
    pub fn new(ufrag: &str, pwd: &str) -> Result<Self, CredentialsError> {
        let ok = |s: &str| s.bytes().all(|b| ICE_CHARS.contains(&b));
        if !(4..=32).contains(&ufrag.len()) || !ok(ufrag) {
            return Err(CredentialsError::BadUfrag);
        }
        if !(22..=64).contains(&pwd.len()) || !ok(pwd) {
            return Err(CredentialsError::BadPassword);
        }
        Ok(Credentials {
            ufrag: Str::copy_from(ufrag).ok_or(CredentialsError::BadUfrag)?,
            pwd: Str::copy_from(pwd).ok_or(CredentialsError::BadPassword)?,
        })
    }

    /// Fresh random credentials: an 8-character ufrag and a 24-character (144-bit) password.
    pub fn random(rng: &mut Drbg) -> Self {
        let mut random = [0u8; 32];
        rng.fill(&mut random);
        Self::from_random(&random)
    }

    /// Credentials from 32 random bytes (one per character), for a caller that drew them in
    /// one DRBG request with other values.
    pub(crate) fn from_random(random: &[u8; 32]) -> Self {
        // 64 ice-chars: the low six bits of a random byte pick one without bias, so one DRBG
        // call serves all 32 characters (a call per character cost more than the rest of a
        // Peer's setup).
        let mut ufrag = [0u8; 8];
        let mut pwd = [0u8; 24];
        for (b, r) in ufrag
            .iter_mut()
            .chain(pwd.iter_mut())
            .zip(random.iter().copied())
        {
            // `r & 63` indexes the 64-byte table: never out of range.
            *b = ICE_CHARS.get(usize::from(r & 63)).copied().unwrap_or(b'A');
        }
        Credentials {
            ufrag: Str::copy_from(core::str::from_utf8(&ufrag).unwrap_or_default())
                .unwrap_or_default(),
            pwd: Str::copy_from(core::str::from_utf8(&pwd).unwrap_or_default()).unwrap_or_default(),
        }
    }
}

/// How the agent runs.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// The initial role (a role conflict may change it).
    pub role: Role,
    /// An ICE-lite agent: answers checks, sends none (RFC 8445 §2.5). Always controlled.
    pub lite: bool,
    /// The host's 32 random bytes: credentials, tie-breaker and transaction ids come from them.
    pub seed: [u8; SEED_LEN],
    /// Our credentials; random when `None`.
    pub credentials: Option<Credentials>,
    /// STUN servers for server-reflexive candidates (empty: host candidates only).
    pub stun_servers: [Option<SocketAddr>; MAX_STUN_SERVERS],
    /// TURN servers for relayed candidates (RFC 8656; UDP to the server).
    pub turn_servers: [Option<TurnServer>; MAX_TURN_SERVERS],
    /// `iceTransportPolicy: "relay"`: only relayed candidates are signalled, paired and
    /// answered on; host sockets only carry the traffic to the TURN servers.
    pub relay_only: bool,
    /// The lifetime asked for in Allocate (RFC 8656 §7.2: the server's default is 10 min).
    pub turn_lifetime: Duration,
    /// Ask every TURN server for a dual allocation (ADDITIONAL-ADDRESS-FAMILY, RFC 8656
    /// §7.1): an IPv4 and an IPv6 relayed candidate from one allocation, whatever the host
    /// socket's family (RFC 6156's IPv4/IPv6 translation by the server). Without it an
    /// allocation's relayed address has the host socket's family (REQUESTED-ADDRESS-FAMILY
    /// IPv6 from an IPv6 socket, the server's IPv4 default from an IPv4 one).
    pub turn_dual_stack: bool,
    /// The pacing interval Ta (RFC 8445 §14.2: 50 ms).
    pub ta: Duration,
    /// Retransmission of requests to STUN servers (RFC 8489 defaults: RTO 500 ms, 7 sends,
    /// 16 RTOs of final wait: 39.5 s).
    pub retransmit: RetransmitConfig,
    /// Retransmission of connectivity and consent checks: RTO 500 ms doubling up to 1.6 s,
    /// 12 sends, 8 s of final wait, so a dead pair fails after 23.9 s (browsers take about
    /// 30 s) and a check gets through 30 % loss each way with probability 1 - 0.51^12. RFC
    /// 8445 §14.3 makes this configurable; RFC 8489's plain schedule would send 7 times over
    /// 39.5 s.
    pub check_retransmit: RetransmitConfig,
    /// The mean consent check interval (RFC 7675: 5 s, randomised +-20 %).
    pub consent_interval: Duration,
    /// Consent lost after this long without a response (RFC 7675: 30 s).
    pub consent_timeout: Duration,
    /// `disconnected` after this long without a consent response.
    pub disconnected_after: Duration,
    /// As controlling, how long to wait for better pairs after the first valid one before
    /// nominating the best valid pair (it nominates sooner once no better pair is pending).
    pub nomination_delay: Duration,
}

/// Never the seed (it gives the credentials and transaction ids) nor the password.
#[cfg(feature = "defmt")]
impl defmt::Format for Config {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Config {{ role: {}, lite: {=bool}, credentials: {}, stun_servers: {}, ta: {}, .. }}",
            self.role,
            self.lite,
            self.credentials,
            self.stun_servers,
            self.ta
        );
    }
}

impl Config {
    /// RFC defaults for `role`, with the host's random `seed`.
    #[must_use]
    pub fn new(role: Role, seed: [u8; SEED_LEN]) -> Self {
        Config {
            role,
            lite: false,
            seed,
            credentials: None,
            stun_servers: [None; MAX_STUN_SERVERS],
            turn_servers: [None; MAX_TURN_SERVERS],
            relay_only: false,
            turn_dual_stack: false,
            turn_lifetime: Duration::from_secs(600),
            ta: Duration::from_millis(50),
            retransmit: RetransmitConfig::default(),
            check_retransmit: RetransmitConfig {
                rto: Duration::from_millis(500),
                max_sends: 12,
                last_wait: 16,
                max_rto: Some(Duration::from_millis(1600)),
            },
            consent_interval: Duration::from_secs(5),
            consent_timeout: Duration::from_secs(30),
            disconnected_after: Duration::from_secs(10),
            nomination_delay: Duration::from_secs(1),
        }
    }

    /// An ICE-lite agent.
    #[must_use]
    pub fn with_lite(mut self) -> Self {
        self.lite = true;
        self.role = Role::Controlled;
        self
    }

    /// These local credentials instead of random ones.
    #[must_use]
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Adds a STUN server (beyond [`MAX_STUN_SERVERS`] it is ignored).
    #[must_use]
    pub fn with_stun_server(mut self, server: SocketAddr) -> Self {
        if let Some(slot) = self.stun_servers.iter_mut().find(|s| s.is_none()) {
            *slot = Some(server);
        }
        self
    }

    /// Adds a TURN server (beyond [`MAX_TURN_SERVERS`] it is ignored).
    #[must_use]
    pub fn with_turn_server(mut self, server: TurnServer) -> Self {
        if let Some(slot) = self.turn_servers.iter_mut().find(|s| s.is_none()) {
            *slot = Some(server);
        }
        self
    }

    /// `iceTransportPolicy: "relay"`: only relayed candidates.
    #[must_use]
    pub fn with_relay_only(mut self) -> Self {
        self.relay_only = true;
        self
    }

    /// Dual allocations: an IPv4 and an IPv6 relayed candidate per TURN server (see
    /// [`Config::turn_dual_stack`]).
    #[must_use]
    pub fn with_turn_dual_stack(mut self) -> Self {
        self.turn_dual_stack = true;
        self
    }

    /// Adds one `iceServers` URL with its username and credential (ignored for `stun:`).
    /// A URL naming a host gives [`UrlError::NeedsResolution`]: resolve the name
    /// ([`IceServerUrl::host_name`]) and call [`Config::with_resolved_ice_server`].
    pub fn with_ice_server(
        self,
        url: &str,
        username: &str,
        credential: &str,
    ) -> Result<Self, UrlError> {
        let parsed = IceServerUrl::parse(url)?;
        let address = parsed.address().ok_or(UrlError::NeedsResolution)?;
        self.add_ice_server(url, &parsed, address, username, credential)
    }

    /// As [`Config::with_ice_server`], for a URL whose host name the host resolved to `ip`.
    pub fn with_resolved_ice_server(
        self,
        url: &str,
        ip: core::net::IpAddr,
        username: &str,
        credential: &str,
    ) -> Result<Self, UrlError> {
        let parsed = IceServerUrl::parse(url)?;
        let address = parsed.address().unwrap_or(parsed.resolved(ip));
        self.add_ice_server(url, &parsed, address, username, credential)
    }

    fn add_ice_server(
        mut self,
        text: &str,
        url: &IceServerUrl<'_>,
        address: SocketAddr,
        username: &str,
        credential: &str,
    ) -> Result<Self, UrlError> {
        if url.scheme.is_turn() {
            let server = TurnServer::new(text, url, address, username, credential)?;
            let slot = self
                .turn_servers
                .iter_mut()
                .find(|s| s.is_none())
                .ok_or(UrlError::TooManyServers)?;
            *slot = Some(server);
        } else {
            if url.scheme.is_secure() {
                return Err(UrlError::UnsupportedTransport);
            }
            let slot = self
                .stun_servers
                .iter_mut()
                .find(|s| s.is_none())
                .ok_or(UrlError::TooManyServers)?;
            *slot = Some(address);
        }
        Ok(self)
    }
}
