//! `iceServers` URLs the browser's way: `stun:` / `stuns:` (RFC 7064) and `turn:` / `turns:`
//! (RFC 7065), parsed without allocation.
//!
//! ```text
//!  "turn:host:port?transport=udp" --IceServerUrl::parse--> { scheme, host, port, transport }
//!     host an IP literal ("192.0.2.1", "[2001:db8::1]") -> address() is the server
//!     host a name ("turn.example.org")                  -> the host resolves it and calls
//!                                                          resolved(ip) (no DNS in here)
//!  IceServer { url, username, credential } ----------> Config::with_ice_server
//! ```
//!
//! The agent does no DNS: a sans-IO machine cannot block on a resolver, so a URL with a host
//! name gives its name and port back and the host supplies the address it resolved.

use core::net::{IpAddr, SocketAddr};

use crate::candidate::Str;

/// The URL scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Scheme {
    /// `stun:` (RFC 7064), default port 3478.
    Stun,
    /// `stuns:` (STUN over TLS), default port 5349.
    Stuns,
    /// `turn:` (RFC 7065), default port 3478.
    Turn,
    /// `turns:` (TURN over TLS), default port 5349.
    Turns,
}

impl Scheme {
    /// Whether the server is a TURN server (gives relayed candidates).
    #[must_use]
    pub const fn is_turn(self) -> bool {
        matches!(self, Scheme::Turn | Scheme::Turns)
    }

    /// Whether the connection to the server runs over TLS.
    #[must_use]
    pub const fn is_secure(self) -> bool {
        matches!(self, Scheme::Stuns | Scheme::Turns)
    }

    /// The scheme's default port (RFC 7064 §3.1, RFC 7065 §3.1).
    #[must_use]
    pub const fn default_port(self) -> u16 {
        if self.is_secure() { 5349 } else { 3478 }
    }
}

/// The transport to the server (`?transport=` of a TURN URL).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ServerTransport {
    /// UDP (the default for `turn:` and `stun:`).
    Udp,
    /// TCP (the default for `turns:`, whose TLS runs over TCP).
    Tcp,
}

/// The server's host part.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Host<'a> {
    /// An IPv4 or IPv6 literal: no resolution needed.
    Ip(#[cfg_attr(feature = "defmt", defmt(Display2Format))] IpAddr),
    /// A name the host must resolve.
    Name(&'a str),
}

/// A parsed `iceServers` URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IceServerUrl<'a> {
    /// `stun:`, `stuns:`, `turn:` or `turns:`.
    pub scheme: Scheme,
    /// The host: an IP literal or a name to resolve.
    pub host: Host<'a>,
    /// The port (the scheme's default when the URL has none).
    pub port: u16,
    /// The transport to the server.
    pub transport: ServerTransport,
}

/// Why a URL was refused (the browser throws `SyntaxError` / `NotSupportedError`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum UrlError {
    /// Not `stun:`, `stuns:`, `turn:` or `turns:`.
    UnknownScheme,
    /// No host after the scheme.
    MissingHost,
    /// The host is neither an IP literal nor a valid name (or an IPv6 literal lacks `]`).
    BadHost,
    /// The port is not a number from 1 to 65535.
    BadPort,
    /// A query on a `stun:` URL, or one other than `transport=udp|tcp`.
    BadQuery,
    /// A TURN URL without a username and credential (the browser's `InvalidAccessError`).
    MissingCredentials,
    /// The username or credential is longer than this agent stores.
    CredentialsTooLong,
    /// The URL is longer than this agent stores for error events.
    TooLong,
    /// The host is a name: resolve it and use [`IceServerUrl::resolved`] /
    /// `Config::with_resolved_ice_server`.
    NeedsResolution,
    /// The configured table of servers of this kind is full.
    TooManyServers,
    /// A transport this agent does not run (`stuns:`, DTLS to a TURN server).
    UnsupportedTransport,
}

impl core::fmt::Display for UrlError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            UrlError::UnknownScheme => "ICE server URL scheme is not stun, stuns, turn or turns",
            UrlError::MissingHost => "ICE server URL has no host",
            UrlError::BadHost => "ICE server URL host is not an IP literal or a host name",
            UrlError::BadPort => "ICE server URL port is not 1 to 65535",
            UrlError::BadQuery => "ICE server URL query is not ?transport=udp or ?transport=tcp",
            UrlError::MissingCredentials => "TURN server needs a username and a credential",
            UrlError::CredentialsTooLong => "TURN username or credential is too long",
            UrlError::TooLong => "ICE server URL is too long",
            UrlError::NeedsResolution => "ICE server host name must be resolved by the host",
            UrlError::TooManyServers => "too many ICE servers",
            UrlError::UnsupportedTransport => "stuns: and turns: over UDP are not supported",
        })
    }
}

impl core::error::Error for UrlError {}

impl<'a> IceServerUrl<'a> {
    /// Parses `url` (`scheme:host[:port][?transport=udp|tcp]`; IPv6 literals in brackets).
    pub fn parse(url: &'a str) -> Result<Self, UrlError> {
        let (scheme, rest) = url.split_once(':').ok_or(UrlError::UnknownScheme)?;
        let scheme = if scheme.eq_ignore_ascii_case("stun") {
            Scheme::Stun
        } else if scheme.eq_ignore_ascii_case("stuns") {
            Scheme::Stuns
        } else if scheme.eq_ignore_ascii_case("turn") {
            Scheme::Turn
        } else if scheme.eq_ignore_ascii_case("turns") {
            Scheme::Turns
        } else {
            return Err(UrlError::UnknownScheme);
        };
        let (authority, query) = match rest.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (rest, None),
        };
        let mut transport = if scheme == Scheme::Turns {
            ServerTransport::Tcp
        } else {
            ServerTransport::Udp
        };
        if let Some(q) = query {
            // RFC 7064 defines no query for STUN URIs.
            if !scheme.is_turn() {
                return Err(UrlError::BadQuery);
            }
            let value = q.strip_prefix("transport=").ok_or(UrlError::BadQuery)?;
            transport = if value.eq_ignore_ascii_case("udp") {
                ServerTransport::Udp
            } else if value.eq_ignore_ascii_case("tcp") {
                ServerTransport::Tcp
            } else {
                return Err(UrlError::BadQuery);
            };
        }
        if authority.is_empty() {
            return Err(UrlError::MissingHost);
        }
        // RFC 7064/7065 URIs have no "//" authority marker, no userinfo and no path.
        if authority.starts_with("//") || authority.contains(['@', '/']) {
            return Err(UrlError::BadHost);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (ip, after) = v6.split_once(']').ok_or(UrlError::BadHost)?;
            let ip: core::net::Ipv6Addr = ip.parse().map_err(|_| UrlError::BadHost)?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or(UrlError::BadHost)?),
            };
            (Host::Ip(IpAddr::V6(ip)), port)
        } else {
            let (h, p) = match authority.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            };
            if h.is_empty() {
                return Err(UrlError::MissingHost);
            }
            let host = match h.parse::<core::net::Ipv4Addr>() {
                Ok(ip) => Host::Ip(IpAddr::V4(ip)),
                Err(_) if is_host_name(h) => Host::Name(h),
                Err(_) => return Err(UrlError::BadHost),
            };
            (host, p)
        };
        let port = match port {
            None => scheme.default_port(),
            Some(p) => {
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(UrlError::BadPort);
                }
                match p.parse::<u16>() {
                    Ok(n) if n != 0 => n,
                    _ => return Err(UrlError::BadPort),
                }
            }
        };
        Ok(IceServerUrl {
            scheme,
            host,
            port,
            transport,
        })
    }

    /// The server's address when the host is an IP literal.
    #[must_use]
    pub fn address(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }

    /// The name to resolve, when the host is one.
    #[must_use]
    pub fn host_name(&self) -> Option<&'a str> {
        match self.host {
            Host::Name(n) => Some(n),
            Host::Ip(_) => None,
        }
    }

    /// The server's address once the host resolved the name to `ip`.
    #[must_use]
    pub fn resolved(&self, ip: IpAddr) -> SocketAddr {
        SocketAddr::new(ip, self.port)
    }
}

/// RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens.
fn is_host_name(h: &str) -> bool {
    h.len() <= 253
        && h.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        // An all-numeric dotted name is a malformed IPv4 literal, not a name.
        && !h.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// A TURN server as the agent keeps it: where it is, how to reach it and the long-term
/// credentials (RFC 8489 §9.2), plus the URL text for `icecandidateerror`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TurnServer {
    /// The server's address (resolved by the host when the URL had a name).
    pub address: SocketAddr,
    /// The transport to the server: UDP, or a byte stream the host opens (TCP for `turn:` with
    /// `?transport=tcp`, TLS over TCP for `turns:`; see `Agent::turn_stream_connected`).
    pub transport: ServerTransport,
    /// `turns:`: the host runs TLS on the stream (the agent sees the same bytes either way).
    pub secure: bool,
    /// The username (`iceServers[].username`).
    pub username: Str<64>,
    /// The credential (`iceServers[].credential`). Never printed.
    pub credential: Str<64>,
    /// The URL as configured, for [`crate::Event::CandidateError`].
    pub url: Str<96>,
}

impl core::fmt::Debug for TurnServer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TurnServer")
            .field("url", &self.url)
            .field("address", &self.address)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The URL and the username only: never the credential.
#[cfg(feature = "defmt")]
impl defmt::Format for TurnServer {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "TurnServer {{ url: {}, username: {}, .. }}",
            self.url,
            self.username
        );
    }
}

impl TurnServer {
    /// A TURN server from its parsed URL, the address it names (`url.address()` or the host's
    /// resolution) and the long-term credentials.
    pub fn new(
        url_text: &str,
        url: &IceServerUrl<'_>,
        address: SocketAddr,
        username: &str,
        credential: &str,
    ) -> Result<Self, UrlError> {
        if !url.scheme.is_turn() {
            return Err(UrlError::UnknownScheme);
        }
        // `turns:` with `?transport=udp` would be DTLS to the server: not run here.
        if url.scheme.is_secure() && url.transport == ServerTransport::Udp {
            return Err(UrlError::UnsupportedTransport);
        }
        if username.is_empty() || credential.is_empty() {
            return Err(UrlError::MissingCredentials);
        }
        Ok(TurnServer {
            address,
            transport: url.transport,
            secure: url.scheme.is_secure(),
            username: Str::copy_from(username).ok_or(UrlError::CredentialsTooLong)?,
            credential: Str::copy_from(credential).ok_or(UrlError::CredentialsTooLong)?,
            url: Str::copy_from(url_text).ok_or(UrlError::TooLong)?,
        })
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::format;

    #[test]
    fn rfc_7064_and_7065_forms() {
        let u = IceServerUrl::parse("stun:192.0.2.1").unwrap();
        assert_eq!(u.scheme, Scheme::Stun);
        assert_eq!(u.address(), Some("192.0.2.1:3478".parse().unwrap()));
        let u = IceServerUrl::parse("turns:[2001:db8::1]").unwrap();
        assert_eq!(u.address(), Some("[2001:db8::1]:5349".parse().unwrap()));
        assert_eq!(u.transport, ServerTransport::Tcp);
        let u = IceServerUrl::parse("turn:127.0.0.1:3479?transport=tcp").unwrap();
        assert_eq!(u.port, 3479);
        assert_eq!(u.transport, ServerTransport::Tcp);
        let u = IceServerUrl::parse("TURN:turn.example.org?transport=udp").unwrap();
        assert_eq!(u.scheme, Scheme::Turn);
        assert_eq!(u.host, Host::Name("turn.example.org"));
        assert_eq!(u.host_name(), Some("turn.example.org"));
        assert_eq!(u.address(), None);
        assert_eq!(
            u.resolved("198.51.100.7".parse().unwrap()),
            "198.51.100.7:3478".parse().unwrap()
        );
        let u = IceServerUrl::parse("stun:[::1]:19302").unwrap();
        assert_eq!(u.address(), Some("[::1]:19302".parse().unwrap()));
    }

    #[test]
    fn bad_urls_say_why() {
        for (url, err) in [
            ("http://example.org", UrlError::UnknownScheme),
            ("example.org", UrlError::UnknownScheme),
            ("stun:", UrlError::MissingHost),
            ("turn::3478", UrlError::MissingHost),
            ("stun://example.org", UrlError::BadHost),
            ("turn:user@example.org", UrlError::BadHost),
            ("turn:[::1", UrlError::BadHost),
            ("turn:[::1]x", UrlError::BadHost),
            ("turn:exa_mple.org", UrlError::BadHost),
            ("turn:1.2.3.256", UrlError::BadHost),
            ("turn:1.2.3.4:0", UrlError::BadPort),
            ("turn:1.2.3.4:65536", UrlError::BadPort),
            ("turn:1.2.3.4:+1", UrlError::BadPort),
            ("turn:1.2.3.4:", UrlError::BadPort),
            ("stun:1.2.3.4?transport=udp", UrlError::BadQuery),
            ("turn:1.2.3.4?transport=sctp", UrlError::BadQuery),
            ("turn:1.2.3.4?proto=udp", UrlError::BadQuery),
        ] {
            assert_eq!(IceServerUrl::parse(url), Err(err), "{url}");
        }
    }

    #[test]
    fn turn_server_needs_credentials_and_udp() {
        let text = "turn:192.0.2.1";
        let u = IceServerUrl::parse(text).unwrap();
        let a = u.address().unwrap();
        assert_eq!(
            TurnServer::new(text, &u, a, "", "x"),
            Err(UrlError::MissingCredentials)
        );
        let s = TurnServer::new(text, &u, a, "alice", "secret").unwrap();
        assert_eq!(s.url.as_str(), text);
        assert!(!format!("{s:?}").contains("secret"));
        let text = "turn:192.0.2.1?transport=tcp";
        let u = IceServerUrl::parse(text).unwrap();
        let s = TurnServer::new(text, &u, a, "alice", "secret").unwrap();
        assert_eq!((s.transport, s.secure), (ServerTransport::Tcp, false));
        let text = "turns:192.0.2.1";
        let u = IceServerUrl::parse(text).unwrap();
        let s = TurnServer::new(text, &u, a, "alice", "secret").unwrap();
        assert_eq!((s.transport, s.secure), (ServerTransport::Tcp, true));
        let text = "turns:192.0.2.1?transport=udp";
        let u = IceServerUrl::parse(text).unwrap();
        assert_eq!(
            TurnServer::new(text, &u, a, "alice", "secret"),
            Err(UrlError::UnsupportedTransport)
        );
    }
}
