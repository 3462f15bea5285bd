//! ICE candidates (RFC 8445 §5.1, RFC 8839 §5.1) and their `a=candidate` text as browsers
//! write it.
//!
//! ```text
//!   candidate:<foundation> <component> <udp|tcp> <priority> <address> <port> typ <host|srflx|prflx|relay>
//!       [raddr <address> rport <port>] [tcptype <active|passive|so>]
//!       [generation <n>] [ufrag <ufrag>] [network-id <n>] [network-cost <n>] [<name> <value>]...
//!
//!   priority = 2^24 * type preference + 2^8 * local preference + (256 - component)
//! ```

use core::fmt;
use core::net::{IpAddr, SocketAddr};

use peerless_base::text::{Ascii, Sink};

/// A short string stored inline (foundations, ufrags, passwords).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Str<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

impl<const N: usize> Str<N> {
    /// The empty string.
    #[must_use]
    pub const fn new() -> Self {
        Str {
            bytes: [0; N],
            len: 0,
        }
    }

    /// A copy of `s`, if it fits (at most `N` bytes, and at most 255).
    #[must_use]
    pub fn copy_from(s: &str) -> Option<Self> {
        let len = u8::try_from(s.len()).ok()?;
        let mut bytes = [0u8; N];
        bytes.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        Some(Str { bytes, len })
    }

    /// The string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // Only ever built from a `&str` (or ASCII), so the bytes are UTF-8.
        core::str::from_utf8(self.bytes.get(..usize::from(self.len)).unwrap_or_default())
            .unwrap_or_default()
    }
}

impl<const N: usize> Default for Str<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Debug for Str<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Str<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=str}", self.as_str());
    }
}

impl<const N: usize> fmt::Display for Str<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The candidate type, in RFC 8445's order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CandidateType {
    /// An address of one of the host's sockets.
    Host,
    /// The address a STUN server saw (the NAT's outside).
    ServerReflexive,
    /// An address learned from a connectivity check.
    PeerReflexive,
    /// An address on a TURN server.
    Relayed,
}

impl CandidateType {
    /// RFC 8445 §5.1.2.2's recommended type preference.
    #[must_use]
    pub const fn preference(self) -> u32 {
        match self {
            CandidateType::Host => 126,
            CandidateType::PeerReflexive => 110,
            CandidateType::ServerReflexive => 100,
            CandidateType::Relayed => 0,
        }
    }

    /// The `typ` token.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            CandidateType::Host => "host",
            CandidateType::ServerReflexive => "srflx",
            CandidateType::PeerReflexive => "prflx",
            CandidateType::Relayed => "relay",
        }
    }
}

/// The transport protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transport {
    /// UDP (the only one the agent checks).
    Udp,
    /// TCP (RFC 6544; parsed, not checked).
    Tcp,
}

/// The `tcptype` of a TCP candidate (RFC 6544).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TcpType {
    /// Opens connections.
    Active,
    /// Accepts connections.
    Passive,
    /// Simultaneous open.
    So,
}

impl TcpType {
    const fn as_str(self) -> &'static str {
        match self {
            TcpType::Active => "active",
            TcpType::Passive => "passive",
            TcpType::So => "so",
        }
    }
}

/// The candidate priority formula of RFC 8445 §5.1.2.1.
#[must_use]
pub const fn priority(kind: CandidateType, local_preference: u16, component: u16) -> u32 {
    let component = if component == 0 || component > 256 {
        256
    } else {
        component
    };
    (kind.preference() << 24) + ((local_preference as u32) << 8) + (256 - component as u32)
}

/// An ICE candidate, local or remote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Candidates with equal foundations are checked together (1 to 32 ice-chars).
    pub foundation: Str<32>,
    /// The component (1: RTP or the one muxed path).
    pub component: u16,
    /// UDP or TCP.
    pub transport: Transport,
    /// The priority.
    pub priority: u32,
    /// The transport address.
    pub address: SocketAddr,
    /// host, srflx, prflx or relay.
    pub kind: CandidateType,
    /// `raddr`/`rport`: the base of a reflexive candidate, the mapped address of a relayed one.
    pub related: Option<SocketAddr>,
    /// `tcptype`, for TCP candidates.
    pub tcp_type: Option<TcpType>,
    /// `generation` (Chrome).
    pub generation: Option<u32>,
    /// `ufrag`: the username fragment the candidate belongs to (Chrome, Firefox).
    pub ufrag: Option<Str<32>>,
    /// `network-id` (Chrome).
    pub network_id: Option<u32>,
    /// `network-cost` (Chrome).
    pub network_cost: Option<u32>,
}

/// Why a candidate string was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ParseError {
    /// A required field is missing.
    Missing,
    /// The foundation is empty, too long or not ice-chars.
    BadFoundation,
    /// Component, priority, port or an extension number is not a number in range.
    BadNumber,
    /// The transport is neither UDP nor TCP.
    BadTransport,
    /// The connection address is a host name (an mDNS `.local` name, say): resolve it first.
    Hostname,
    /// The `typ` token is missing or unknown.
    BadType,
    /// `raddr`, `tcptype` or `ufrag` has a bad value.
    BadExtension,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Missing => "candidate: a field is missing",
            ParseError::BadFoundation => "candidate: bad foundation",
            ParseError::BadNumber => "candidate: bad number",
            ParseError::BadTransport => "candidate: unknown transport",
            ParseError::Hostname => "candidate: host name instead of an IP address",
            ParseError::BadType => "candidate: unknown type",
            ParseError::BadExtension => "candidate: bad extension value",
        })
    }
}

impl core::error::Error for ParseError {}

/// As its `a=candidate` text (`defmt` has no formatter for socket addresses).
#[cfg(feature = "defmt")]
impl defmt::Format for Candidate {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Display2Format(self));
    }
}

fn is_ice_chars(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

fn number<T: core::str::FromStr>(s: Option<&str>) -> Result<T, ParseError> {
    s.ok_or(ParseError::Missing)?
        .parse()
        .map_err(|_| ParseError::BadNumber)
}

impl Candidate {
    /// Parses the value of an `a=candidate` line, with or without the `a=` and `candidate:`
    /// prefixes (so the `candidate` member of a browser's `RTCIceCandidate` works too).
    pub fn parse(s: &str) -> Result<Candidate, ParseError> {
        let s = s.trim();
        let s = s.strip_prefix("a=").unwrap_or(s);
        let s = s.strip_prefix("candidate:").unwrap_or(s);
        let mut t = s.split_ascii_whitespace();
        let foundation_s = t.next().ok_or(ParseError::Missing)?;
        if !is_ice_chars(foundation_s) {
            return Err(ParseError::BadFoundation);
        }
        let foundation = Str::copy_from(foundation_s).ok_or(ParseError::BadFoundation)?;
        let component: u16 = number(t.next())?;
        if !(1..=256).contains(&component) {
            return Err(ParseError::BadNumber);
        }
        let transport = match t.next().ok_or(ParseError::Missing)? {
            x if x.eq_ignore_ascii_case("udp") => Transport::Udp,
            x if x.eq_ignore_ascii_case("tcp") => Transport::Tcp,
            _ => return Err(ParseError::BadTransport),
        };
        let priority: u32 = number(t.next())?;
        let ip: IpAddr = t
            .next()
            .ok_or(ParseError::Missing)?
            .parse()
            .map_err(|_| ParseError::Hostname)?;
        let port: u16 = number(t.next())?;
        if t.next() != Some("typ") {
            return Err(ParseError::BadType);
        }
        let kind = match t.next().ok_or(ParseError::BadType)? {
            "host" => CandidateType::Host,
            "srflx" => CandidateType::ServerReflexive,
            "prflx" => CandidateType::PeerReflexive,
            "relay" => CandidateType::Relayed,
            _ => return Err(ParseError::BadType),
        };
        let mut c = Candidate {
            foundation,
            component,
            transport,
            priority,
            address: SocketAddr::new(ip, port),
            kind,
            related: None,
            tcp_type: None,
            generation: None,
            ufrag: None,
            network_id: None,
            network_cost: None,
        };
        let (mut raddr, mut rport) = (None, None);
        while let Some(name) = t.next() {
            let value = t.next().ok_or(ParseError::Missing)?;
            match name {
                "raddr" => {
                    raddr = Some(
                        value
                            .parse::<IpAddr>()
                            .map_err(|_| ParseError::BadExtension)?,
                    )
                }
                "rport" => rport = Some(number::<u16>(Some(value))?),
                "tcptype" => {
                    c.tcp_type = Some(match value {
                        "active" => TcpType::Active,
                        "passive" => TcpType::Passive,
                        "so" => TcpType::So,
                        _ => return Err(ParseError::BadExtension),
                    });
                }
                "generation" => c.generation = Some(number(Some(value))?),
                "ufrag" => c.ufrag = Some(Str::copy_from(value).ok_or(ParseError::BadExtension)?),
                "network-id" => c.network_id = Some(number(Some(value))?),
                "network-cost" => c.network_cost = Some(number(Some(value))?),
                // RFC 8839: unknown extension attributes are ignored.
                _ => {}
            }
        }
        if let Some(ip) = raddr {
            c.related = Some(SocketAddr::new(ip, rport.unwrap_or(0)));
        }
        Ok(c)
    }
}

impl Candidate {
    /// Writes `candidate:...` as Chrome does (lower-case transport, extensions in its order)
    /// into `out`, without `core::fmt` (the `Display` is this): what the Peer puts into its
    /// descriptions.
    pub fn write_to(&self, out: &mut dyn Sink) -> fmt::Result {
        let number = |out: &mut dyn Sink, n: u64| out.put(Ascii::decimal(n).as_str());
        out.put("candidate:")?;
        out.put(self.foundation.as_str())?;
        out.put(" ")?;
        number(out, u64::from(self.component))?;
        out.put(match self.transport {
            Transport::Udp => " udp ",
            Transport::Tcp => " tcp ",
        })?;
        number(out, u64::from(self.priority))?;
        out.put(" ")?;
        out.put(Ascii::ip(self.address.ip()).as_str())?;
        out.put(" ")?;
        number(out, u64::from(self.address.port()))?;
        out.put(" typ ")?;
        out.put(self.kind.as_str())?;
        if let Some(r) = self.related {
            out.put(" raddr ")?;
            out.put(Ascii::ip(r.ip()).as_str())?;
            out.put(" rport ")?;
            number(out, u64::from(r.port()))?;
        }
        if let Some(t) = self.tcp_type {
            out.put(" tcptype ")?;
            out.put(t.as_str())?;
        }
        if let Some(g) = self.generation {
            out.put(" generation ")?;
            number(out, u64::from(g))?;
        }
        if let Some(u) = &self.ufrag {
            out.put(" ufrag ")?;
            out.put(u.as_str())?;
        }
        if let Some(n) = self.network_id {
            out.put(" network-id ")?;
            number(out, u64::from(n))?;
        }
        if let Some(n) = self.network_cost {
            out.put(" network-cost ")?;
            number(out, u64::from(n))?;
        }
        Ok(())
    }
}

/// Writes `candidate:...` as Chrome does: [`Candidate::write_to`].
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_to(f)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    #[test]
    fn chrome_style_round_trip() {
        let s = "candidate:3440189946 1 udp 2122260223 127.0.0.1 49259 typ host generation 0 network-id 1 network-cost 50";
        let c = Candidate::parse(s).unwrap();
        assert_eq!(c.address, "127.0.0.1:49259".parse().unwrap());
        assert_eq!(c.priority, 2_122_260_223);
        assert_eq!(
            (c.generation, c.network_id, c.network_cost),
            (Some(0), Some(1), Some(50))
        );
        assert_eq!(c.to_string(), s);
        let srflx = "candidate:842163049 1 udp 1677729535 203.0.113.7 61000 typ srflx raddr 10.0.0.2 rport 52000 generation 0 ufrag EsAw";
        let c = Candidate::parse(srflx).unwrap();
        assert_eq!(c.related, Some("10.0.0.2:52000".parse().unwrap()));
        assert_eq!(c.ufrag.unwrap().as_str(), "EsAw");
        assert_eq!(c.to_string(), srflx);
        let v6 = Candidate::parse("a=candidate:1 1 UDP 2122252543 ::1 36489 typ host").unwrap();
        assert_eq!(
            v6.to_string(),
            "candidate:1 1 udp 2122252543 ::1 36489 typ host"
        );
        assert_eq!(Candidate::parse(&v6.to_string()), Ok(v6));
    }

    #[test]
    fn bad_candidates_are_rejected() {
        assert_eq!(
            Candidate::parse("candidate:1 1 udp 1 abc.local 9 typ host"),
            Err(ParseError::Hostname)
        );
        assert_eq!(
            Candidate::parse("candidate:1 1 sctp 1 1.2.3.4 9 typ host"),
            Err(ParseError::BadTransport)
        );
        assert_eq!(
            Candidate::parse("candidate:1 0 udp 1 1.2.3.4 9 typ host"),
            Err(ParseError::BadNumber)
        );
        assert_eq!(
            Candidate::parse("candidate:1 1 udp 1 1.2.3.4 9 typ weird"),
            Err(ParseError::BadType)
        );
        assert_eq!(
            Candidate::parse("candidate:1 1 udp 1 1.2.3.4 99999 typ host"),
            Err(ParseError::BadNumber)
        );
        assert_eq!(
            Candidate::parse("candidate:a-b 1 udp 1 1.2.3.4 9 typ host"),
            Err(ParseError::BadFoundation)
        );
        assert_eq!(
            Candidate::parse("candidate:1 1 udp 1 1.2.3.4 9 typ host generation"),
            Err(ParseError::Missing)
        );
        assert_eq!(Candidate::parse(""), Err(ParseError::Missing));
    }

    #[test]
    fn priority_formula() {
        assert_eq!(priority(CandidateType::Host, 65535, 1), 2_130_706_431);
        assert_eq!(
            priority(CandidateType::ServerReflexive, 65535, 1),
            1_694_498_815
        );
        assert_eq!(priority(CandidateType::Relayed, 0, 1), 255);
    }
}
