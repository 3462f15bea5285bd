//! Typed views of the SDP attributes WebRTC uses, each with a checked parser and a `Display`
//! emitter that writes the attribute value back in the form browsers accept.
//!
//! Every type here borrows from the description text; nothing is copied. A value that parses
//! always displays to text that parses back to an equal value (a property test checks this).
//! Names are matched case-sensitively as RFC 8866 §5.13 says attribute names are, but enumerated
//! values (`sha-256`, `actpass`, `send`) are accepted in any case because peers in the wild
//! capitalise them.

use core::fmt;

use peerless_base::text::Sink;

use crate::write::Value;

/// `Display` for a type whose SDP text is its [`Value`]: one writer for both.
macro_rules! display_by_value {
    ($($t:ident),*) => {$(
        impl fmt::Display for $t<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.put_to(f)
            }
        }
    )*};
}

/// Splits `s` at the first space: `(head, rest)`, `rest` without leading spaces.
pub(crate) fn split_word(s: &str) -> (&str, Option<&str>) {
    match s.split_once(' ') {
        Some((head, rest)) => {
            let rest = rest.trim_start_matches(' ');
            (head, if rest.is_empty() { None } else { Some(rest) })
        }
        None => (s, None),
    }
}

/// A non-empty run of visible ASCII characters without spaces (RFC 8866 `token`-ish; we accept
/// any visible character because browsers put braces and slashes into ids).
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic())
}

/// Decimal digits only, no sign, no spaces (`u32::from_str` would accept a leading `+`).
fn digits<T: core::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

pub(crate) fn parse_u8(s: &str) -> Option<u8> {
    digits(s)
}
pub(crate) fn parse_u16(s: &str) -> Option<u16> {
    digits(s)
}
pub(crate) fn parse_u32(s: &str) -> Option<u32> {
    digits(s)
}
pub(crate) fn parse_u64(s: &str) -> Option<u64> {
    digits(s)
}

/// An RTP payload type: 0..=127 (RFC 3550 has 7 bits for it).
pub(crate) fn parse_pt(s: &str) -> Option<u8> {
    parse_u8(s).filter(|pt| *pt <= 127)
}

// ---------------------------------------------------------------------------------------------
// Fingerprint (RFC 8122)

/// The hash function of a certificate fingerprint (RFC 8122 §5, the IANA "Hash Function
/// Textual Names" registry). Unknown names are kept so they round-trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HashFunction<'a> {
    /// `sha-1` (20 bytes).
    Sha1,
    /// `sha-224` (28 bytes).
    Sha224,
    /// `sha-256` (32 bytes): what every browser sends.
    Sha256,
    /// `sha-384` (48 bytes).
    Sha384,
    /// `sha-512` (64 bytes).
    Sha512,
    /// Any other registered or private name (`md5`, `md2`, ...), kept as written.
    Other(&'a str),
}

impl<'a> HashFunction<'a> {
    /// Parses a hash function name, case-insensitively.
    #[must_use]
    pub fn parse(name: &'a str) -> Option<Self> {
        if !is_token(name) {
            return None;
        }
        Some(match name {
            n if n.eq_ignore_ascii_case("sha-1") => Self::Sha1,
            n if n.eq_ignore_ascii_case("sha-224") => Self::Sha224,
            n if n.eq_ignore_ascii_case("sha-256") => Self::Sha256,
            n if n.eq_ignore_ascii_case("sha-384") => Self::Sha384,
            n if n.eq_ignore_ascii_case("sha-512") => Self::Sha512,
            other => Self::Other(other),
        })
    }

    /// The name as written in SDP (lower case for the known ones).
    #[must_use]
    pub fn name(&self) -> &'a str {
        match self {
            Self::Sha1 => "sha-1",
            Self::Sha224 => "sha-224",
            Self::Sha256 => "sha-256",
            Self::Sha384 => "sha-384",
            Self::Sha512 => "sha-512",
            Self::Other(name) => name,
        }
    }

    /// The digest length in bytes, for the functions we know.
    #[must_use]
    pub const fn digest_len(&self) -> Option<usize> {
        match self {
            Self::Sha1 => Some(20),
            Self::Sha224 => Some(28),
            Self::Sha256 => Some(32),
            Self::Sha384 => Some(48),
            Self::Sha512 => Some(64),
            Self::Other(_) => None,
        }
    }
}

/// The longest digest a fingerprint can carry (SHA-512).
pub const MAX_FINGERPRINT_LEN: usize = 64;

/// `a=fingerprint:<hash-func> <XX:XX:...>` (RFC 8122 §5): the hash of the DTLS certificate the
/// peer will present.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fingerprint<'a> {
    /// The hash function.
    pub hash: HashFunction<'a>,
    /// The digest as colon-separated hex pairs, as written (either case).
    pub value: &'a str,
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

impl<'a> Fingerprint<'a> {
    /// Parses the attribute value. The digest must be colon-separated hex pairs, and as long as
    /// the hash function's output when the function is known.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (hash, digest) = split_word(value);
        let fp = Fingerprint {
            hash: HashFunction::parse(hash)?,
            value: digest?.trim_end_matches(' '),
        };
        let mut buf = [0u8; MAX_FINGERPRINT_LEN];
        let len = fp.decode(&mut buf)?.len();
        match fp.hash.digest_len() {
            Some(expected) if expected != len => None,
            _ => Some(fp),
        }
    }

    /// Decodes the digest into `out`; `None` if it is not hex pairs or does not fit.
    pub fn decode<'b>(&self, out: &'b mut [u8; MAX_FINGERPRINT_LEN]) -> Option<&'b [u8]> {
        // `HH:HH:...:HH`: n pairs take 3n - 1 bytes. Walked byte by byte, not split at the
        // colons: every parse of a description checks its fingerprint through here.
        let value = self.value.as_bytes();
        if value.len() % 3 != 2 {
            return None;
        }
        let mut n = 0;
        for chunk in value.chunks(3) {
            let (hi, lo) = match *chunk {
                [hi, lo, b':'] | [hi, lo] => (hi, lo),
                _ => return None,
            };
            let slot = out.get_mut(n)?;
            *slot = (hex_val(hi)? << 4) | hex_val(lo)?;
            n += 1;
        }
        out.get(..n)
    }

    /// Whether this fingerprint is `digest` (a hash the caller computed over the peer's
    /// certificate with [`Fingerprint::hash`]).
    #[must_use]
    pub fn matches(&self, digest: &[u8]) -> bool {
        let mut buf = [0u8; MAX_FINGERPRINT_LEN];
        self.decode(&mut buf)
            .is_some_and(|mine| peerless_base::ct_eq(mine, digest))
    }
}

impl Value for Fingerprint<'_> {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        out.put(self.hash.name())?;
        out.put(" ")?;
        out.put(self.value)
    }
}

/// Writes `digest` as an upper-case colon-separated hex fingerprint value into `out`, returning
/// the text (`out` needs `3 * digest.len()` bytes; `None` if it is too small).
pub fn format_fingerprint<'b>(digest: &[u8], out: &'b mut [u8]) -> Option<&'b str> {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let len = digest.len().saturating_mul(3).saturating_sub(1);
    let text = out.get_mut(..len)?;
    for (i, chunk) in text.chunks_mut(3).enumerate() {
        let b = *digest.get(i)?;
        for (j, c) in chunk.iter_mut().enumerate() {
            *c = match j {
                0 => *HEX.get(usize::from(b >> 4))?,
                1 => *HEX.get(usize::from(b & 15))?,
                _ => b':',
            };
        }
    }
    core::str::from_utf8(text).ok()
}

// ---------------------------------------------------------------------------------------------
// Setup (RFC 4145, RFC 8842)

/// `a=setup` (RFC 4145 §4, RFC 8842): which side opens the DTLS association.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Setup {
    /// The offerer lets the answerer choose (every JSEP offer).
    Actpass,
    /// This side is the DTLS client.
    Active,
    /// This side is the DTLS server.
    Passive,
    /// No connection for now.
    Holdconn,
}

impl Setup {
    /// Parses the attribute value, case-insensitively.
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let v = value.trim_end_matches(' ');
        [Self::Actpass, Self::Active, Self::Passive, Self::Holdconn]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(v))
    }

    /// The value as written in SDP.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Actpass => "actpass",
            Self::Active => "active",
            Self::Passive => "passive",
            Self::Holdconn => "holdconn",
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Value for Setup {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        out.put(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// Direction (RFC 8866 §6.7)

/// The media direction attribute (`a=sendrecv` ...; RFC 8866 §6.7), from this description's
/// author's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Direction {
    /// Sends and receives (the default when none is given).
    SendRecv,
    /// Sends only.
    SendOnly,
    /// Receives only.
    RecvOnly,
    /// Neither.
    Inactive,
}

impl Direction {
    /// The direction named by an attribute name (`sendrecv` ...).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sendrecv" => Some(Self::SendRecv),
            "sendonly" => Some(Self::SendOnly),
            "recvonly" => Some(Self::RecvOnly),
            "inactive" => Some(Self::Inactive),
            _ => None,
        }
    }

    /// The attribute name.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// Whether the author sends.
    #[must_use]
    pub const fn sends(&self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether the author receives.
    #[must_use]
    pub const fn receives(&self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The direction with these send and receive flags.
    #[must_use]
    pub const fn from_flags(send: bool, recv: bool) -> Self {
        match (send, recv) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// The same stream seen from the other end (`sendonly` <-> `recvonly`).
    #[must_use]
    pub const fn reversed(&self) -> Self {
        Self::from_flags(self.receives(), self.sends())
    }

    /// The answer's direction (RFC 8829 §5.3.1, RFC 3264 §6.1): send only what the offerer
    /// receives and receive only what it sends, limited by what `local` wants.
    #[must_use]
    pub const fn answer(offered: Self, local: Self) -> Self {
        Self::from_flags(
            offered.receives() && local.sends(),
            offered.sends() && local.receives(),
        )
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ---------------------------------------------------------------------------------------------
// RTP payload descriptions (RFC 8866 §6.6, §6.15; RFC 4585)

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]` (RFC 8866 §6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rtpmap<'a> {
    /// The payload type (0..=127).
    pub payload_type: u8,
    /// The encoding name (`opus`, `VP8`, `rtx`), case as written.
    pub encoding: &'a str,
    /// The RTP clock rate in Hz.
    pub clock_rate: u32,
    /// The encoding parameters: the channel count for audio.
    pub channels: Option<u16>,
}

impl<'a> Rtpmap<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (pt, rest) = split_word(value);
        let mut parts = rest?.trim_end_matches(' ').split('/');
        let encoding = parts.next().filter(|e| is_token(e))?;
        let clock_rate = parse_u32(parts.next()?)?;
        let channels = match parts.next() {
            Some(c) => Some(parse_u16(c)?),
            None => None,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Rtpmap {
            payload_type: parse_pt(pt)?,
            encoding,
            clock_rate,
            channels,
        })
    }
}

impl Value for Rtpmap<'_> {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        self.payload_type.put_to(out)?;
        out.put(" ")?;
        out.put(self.encoding)?;
        out.put("/")?;
        self.clock_rate.put_to(out)?;
        if let Some(c) = self.channels {
            out.put("/")?;
            c.put_to(out)?;
        }
        Ok(())
    }
}

/// `a=fmtp:<format> <parameters>` (RFC 8866 §6.15).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fmtp<'a> {
    /// The payload type the parameters apply to.
    pub payload_type: u8,
    /// The format-specific parameters as written (`minptime=10;useinbandfec=1`).
    pub params: &'a str,
}

impl<'a> Fmtp<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (pt, params) = split_word(value);
        Some(Fmtp {
            payload_type: parse_pt(pt)?,
            params: params?.trim_end_matches(' '),
        })
    }

    /// The `key=value` pairs of a `;`-separated parameter list (a bare word gives an empty
    /// value, as in telephone-event's `0-15`).
    pub fn pairs(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        fmtp_pairs(self.params)
    }

    /// The value of parameter `key` (names compared case-insensitively, RFC 6838 style).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&'a str> {
        fmtp_get(self.params, key)
    }
}

/// The `key=value` pairs of an fmtp parameter list.
pub fn fmtp_pairs(params: &str) -> impl Iterator<Item = (&str, &str)> {
    params.split(';').filter_map(|p| {
        let p = p.trim();
        if p.is_empty() {
            return None;
        }
        Some(match p.split_once('=') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (p, ""),
        })
    })
}

/// The value of `key` in an fmtp parameter list.
#[must_use]
pub fn fmtp_get<'a>(params: &'a str, key: &str) -> Option<&'a str> {
    fmtp_pairs(params)
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

impl fmt::Display for Fmtp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.payload_type, self.params)
    }
}

/// `a=rtcp-fb:<pt|*> <type> [<parameters>]` (RFC 4585 §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RtcpFb<'a> {
    /// The payload type, or `None` for `*` (every payload type of the section).
    pub payload_type: Option<u8>,
    /// The feedback type and its parameters as written (`nack pli`, `transport-cc`).
    pub feedback: &'a str,
}

impl<'a> RtcpFb<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (pt, feedback) = split_word(value);
        let payload_type = if pt == "*" { None } else { Some(parse_pt(pt)?) };
        Some(RtcpFb {
            payload_type,
            feedback: feedback?.trim_end_matches(' '),
        })
    }

    /// Whether this feedback applies to payload type `pt`.
    #[must_use]
    pub fn applies_to(&self, pt: u8) -> bool {
        self.payload_type.is_none_or(|p| p == pt)
    }
}

impl Value for RtcpFb<'_> {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        match self.payload_type {
            Some(pt) => pt.put_to(out)?,
            None => out.put("*")?,
        }
        out.put(" ")?;
        out.put(self.feedback)
    }
}

// ---------------------------------------------------------------------------------------------
// Header extensions (RFC 8285)

/// `a=extmap:<id>[/<direction>] <uri> [<attributes>]` (RFC 8285 §8).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Extmap<'a> {
    /// The local identifier (1..=14 one-byte, up to 255 two-byte; 4096..=4351 in offers that
    /// leave the choice to the answerer).
    pub id: u16,
    /// The direction restriction, if any.
    pub direction: Option<Direction>,
    /// The extension URI.
    pub uri: &'a str,
    /// Extension attributes, as written.
    pub attributes: Option<&'a str>,
}

impl<'a> Extmap<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (head, rest) = split_word(value);
        let (id, direction) = match head.split_once('/') {
            Some((id, dir)) => (id, Some(Direction::from_name(dir)?)),
            None => (head, None),
        };
        let (uri, attributes) = split_word(rest?);
        Some(Extmap {
            id: parse_u16(id).filter(|id| *id != 0)?,
            direction,
            uri: Some(uri).filter(|u| is_token(u))?,
            attributes: attributes.map(|a| a.trim_end_matches(' ')),
        })
    }
}

impl Value for Extmap<'_> {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        self.id.put_to(out)?;
        if let Some(d) = self.direction {
            out.put("/")?;
            out.put(d.as_str())?;
        }
        out.put(" ")?;
        out.put(self.uri)?;
        if let Some(a) = self.attributes {
            out.put(" ")?;
            out.put(a)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Sources and streams (RFC 5576, RFC 8830)

/// `a=ssrc:<ssrc> <attribute>[:<value>]` (RFC 5576 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Ssrc<'a> {
    /// The synchronization source.
    pub ssrc: u32,
    /// The source attribute name (`cname`, `msid`).
    pub attribute: &'a str,
    /// The source attribute value.
    pub value: Option<&'a str>,
}

impl<'a> Ssrc<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (ssrc, rest) = split_word(value);
        let rest = rest?.trim_end_matches(' ');
        let (attribute, value) = match rest.split_once(':') {
            Some((a, v)) => (a, Some(v)),
            None => (rest, None),
        };
        Some(Ssrc {
            ssrc: parse_u32(ssrc)?,
            attribute: Some(attribute).filter(|a| is_token(a))?,
            value,
        })
    }
}

impl fmt::Display for Ssrc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.ssrc, self.attribute)?;
        if let Some(v) = self.value {
            write!(f, ":{v}")?;
        }
        Ok(())
    }
}

/// `a=ssrc-group:<semantics> <ssrc>...` (RFC 5576 §4.2), e.g. `FID` pairing a stream with its
/// retransmissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SsrcGroup<'a> {
    /// The grouping semantics (`FID`, `SIM`, `FEC-FR`).
    pub semantics: &'a str,
    /// The space-separated sources, as written (all checked to be 32-bit numbers).
    pub ssrcs_text: &'a str,
}

impl<'a> SsrcGroup<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (semantics, rest) = split_word(value);
        let ssrcs_text = rest.unwrap_or("").trim_end_matches(' ');
        let group = SsrcGroup {
            semantics: Some(semantics).filter(|s| is_token(s))?,
            ssrcs_text,
        };
        ssrcs_text
            .split(' ')
            .filter(|s| !s.is_empty())
            .all(|s| parse_u32(s).is_some())
            .then_some(group)
    }

    /// The sources, in order.
    pub fn ssrcs(&self) -> impl Iterator<Item = u32> + 'a {
        self.ssrcs_text.split(' ').filter_map(parse_u32)
    }
}

impl fmt::Display for SsrcGroup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.semantics)?;
        if !self.ssrcs_text.is_empty() {
            write!(f, " {}", self.ssrcs_text)?;
        }
        Ok(())
    }
}

/// `a=msid:<stream id> [<track id>]` (RFC 8830 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Msid<'a> {
    /// The media stream id (`-` for none).
    pub stream: &'a str,
    /// The track id ("appdata").
    pub track: Option<&'a str>,
}

impl<'a> Msid<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (stream, track) = split_word(value);
        Some(Msid {
            stream: Some(stream).filter(|s| is_token(s))?,
            track: track.map(|t| t.trim_end_matches(' ')),
        })
    }
}

impl Value for Msid<'_> {
    fn put_to(&self, out: &mut dyn Sink) -> fmt::Result {
        out.put(self.stream)?;
        if let Some(t) = self.track {
            out.put(" ")?;
            out.put(t)?;
        }
        Ok(())
    }
}

display_by_value!(Fingerprint, Rtpmap, RtcpFb, Extmap, Msid);

/// `a=group:<semantics> <tag>...` (RFC 5888 §5), e.g. `BUNDLE 0 1 2` (RFC 8843).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Group<'a> {
    /// The semantics (`BUNDLE`, `LS`).
    pub semantics: &'a str,
    /// The space-separated identification tags (mids), as written.
    pub mids_text: &'a str,
}

impl<'a> Group<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (semantics, rest) = split_word(value);
        Some(Group {
            semantics: Some(semantics).filter(|s| is_token(s))?,
            mids_text: rest.unwrap_or("").trim_end_matches(' '),
        })
    }

    /// Whether this is a BUNDLE group (RFC 8843).
    #[must_use]
    pub fn is_bundle(&self) -> bool {
        self.semantics.eq_ignore_ascii_case("BUNDLE")
    }

    /// The mids, in order (the first is the offerer's BUNDLE tag).
    pub fn mids(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.mids_text.split(' ').filter(|m| !m.is_empty())
    }

    /// Whether `mid` is in the group.
    #[must_use]
    pub fn contains(&self, mid: &str) -> bool {
        self.mids().any(|m| m == mid)
    }
}

impl fmt::Display for Group<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.semantics)?;
        if !self.mids_text.is_empty() {
            write!(f, " {}", self.mids_text)?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Simulcast (RFC 8851, RFC 8853)

/// The direction of a restriction identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum RidDirection {
    /// The author sends this stream.
    Send,
    /// The author receives this stream.
    Recv,
}

impl RidDirection {
    fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("send") {
            Some(Self::Send)
        } else if s.eq_ignore_ascii_case("recv") {
            Some(Self::Recv)
        } else {
            None
        }
    }

    /// The keyword as written in SDP.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Send => "send",
            Self::Recv => "recv",
        }
    }
}

/// `a=rid:<id> <send|recv> [<restrictions>]` (RFC 8851 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rid<'a> {
    /// The RTP stream id.
    pub id: &'a str,
    /// Whether the author sends or receives it.
    pub direction: RidDirection,
    /// Payload type and other restrictions, as written (`pt=96;max-width=1280`).
    pub restrictions: Option<&'a str>,
}

impl<'a> Rid<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (id, rest) = split_word(value);
        let (dir, restrictions) = split_word(rest?);
        Some(Rid {
            id: Some(id).filter(|i| is_token(i))?,
            direction: RidDirection::parse(dir)?,
            restrictions: restrictions.map(|r| r.trim_end_matches(' ')),
        })
    }
}

impl fmt::Display for Rid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.direction.as_str())?;
        if let Some(r) = self.restrictions {
            write!(f, " {r}")?;
        }
        Ok(())
    }
}

/// `a=simulcast:[send <list>] [recv <list>]` (RFC 8853 §5.1). The lists are kept as written
/// (`a;b;~c`, alternatives separated by `,`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Simulcast<'a> {
    /// The streams the author sends.
    pub send: Option<&'a str>,
    /// The streams the author receives.
    pub recv: Option<&'a str>,
}

impl<'a> Simulcast<'a> {
    /// Parses the attribute value.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let mut out = Simulcast {
            send: None,
            recv: None,
        };
        let mut words = value.split(' ').filter(|w| !w.is_empty());
        while let Some(dir) = words.next() {
            let list = Some(words.next()?).filter(|l| is_token(l))?;
            let slot = match RidDirection::parse(dir)? {
                RidDirection::Send => &mut out.send,
                RidDirection::Recv => &mut out.recv,
            };
            if slot.replace(list).is_some() {
                return None;
            }
        }
        (out.send.is_some() || out.recv.is_some()).then_some(out)
    }

    /// The stream ids of a list, without the `~` (paused) marks, alternatives flattened.
    pub fn rids(list: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        list.split([';', ','])
            .map(|r| r.trim_start_matches('~'))
            .filter(|r| !r.is_empty())
    }
}

impl fmt::Display for Simulcast<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.send, self.recv) {
            (Some(s), Some(r)) => write!(f, "send {s} recv {r}"),
            (Some(s), None) => write!(f, "send {s}"),
            (None, Some(r)) => write!(f, "recv {r}"),
            (None, None) => Ok(()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// ICE (RFC 8839)

/// Whether `s` is 1..=256 `ice-char`s (ALPHA / DIGIT / "+" / "/"; RFC 8839 §5.4). The RFC's
/// minimum lengths (4 and 22) are not enforced: some stacks send shorter values and nothing
/// breaks if we accept them.
pub(crate) fn is_ice_chars(s: &str) -> bool {
    (1..=256).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// The ICE options of an `a=ice-options` value. Both the RFC's space separator and the commas
/// some stacks write (`ice2,trickle`) are accepted.
pub fn ice_options(value: &str) -> impl Iterator<Item = &str> {
    value.split([' ', ',']).filter(|o| !o.is_empty())
}

// ---------------------------------------------------------------------------------------------
// Validation at parse time

/// Checks the value of an attribute this crate has a typed accessor for, so that accessors
/// never have to drop a malformed line silently: a description that parses has only
/// well-formed known attributes. Unknown attributes are not looked at (RFC 8866 §5.13).
pub(crate) fn is_valid(name: &str, value: Option<&str>) -> bool {
    let trimmed = value.map(|v| v.trim_end_matches(' '));
    match (name, trimmed) {
        ("fingerprint", Some(v)) => Fingerprint::parse(v).is_some(),
        ("setup", Some(v)) => Setup::parse(v).is_some(),
        ("rtpmap", Some(v)) => Rtpmap::parse(v).is_some(),
        ("fmtp", Some(v)) => Fmtp::parse(v).is_some(),
        ("rtcp-fb", Some(v)) => RtcpFb::parse(v).is_some(),
        ("extmap", Some(v)) => Extmap::parse(v).is_some(),
        ("ssrc", Some(v)) => Ssrc::parse(v).is_some(),
        ("ssrc-group", Some(v)) => SsrcGroup::parse(v).is_some(),
        ("msid", Some(v)) => Msid::parse(v).is_some(),
        ("group", Some(v)) => Group::parse(v).is_some(),
        ("rid", Some(v)) => Rid::parse(v).is_some(),
        ("simulcast", Some(v)) => Simulcast::parse(v).is_some(),
        ("mid", Some(v)) => is_token(v),
        ("ice-ufrag" | "ice-pwd", Some(v)) => is_ice_chars(v),
        ("ice-options", Some(v)) => ice_options(v).all(is_token),
        ("candidate", Some(v)) => !v.is_empty(),
        ("sctp-port", Some(v)) => parse_u16(v).is_some(),
        ("max-message-size", Some(v)) => parse_u64(v).is_some(),
        (
            "fingerprint" | "setup" | "rtpmap" | "fmtp" | "rtcp-fb" | "extmap" | "ssrc"
            | "ssrc-group" | "msid" | "group" | "rid" | "simulcast" | "mid" | "ice-ufrag"
            | "ice-pwd" | "ice-options" | "candidate" | "sctp-port" | "max-message-size",
            None,
        ) => false,
        // Flags: a value on them is odd but harmless, so it is tolerated.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_checks_length_and_decodes() {
        let fp =
            Fingerprint::parse("sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB")
                .unwrap();
        assert_eq!(fp.hash, HashFunction::Sha1);
        let mut buf = [0; MAX_FINGERPRINT_LEN];
        assert_eq!(fp.decode(&mut buf).unwrap()[..3], [0x4a, 0xad, 0xb9]);
        assert!(Fingerprint::parse("sha-256 4A:AD").is_none());
        assert!(
            Fingerprint::parse("sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AG")
                .is_none()
        );
        assert!(Fingerprint::parse("md5 4A:AD").is_some());
        assert!(Fingerprint::parse("SHA-256").is_none());
        let digest = [0xabu8; 32];
        let mut text = [0u8; 96];
        let s = format_fingerprint(&digest, &mut text).unwrap();
        assert_eq!(s.len(), 95);
        let mut line = [0u8; 128];
        line[..8].copy_from_slice(b"sha-256 ");
        line[8..8 + s.len()].copy_from_slice(s.as_bytes());
        let v = core::str::from_utf8(&line[..8 + 95]).unwrap();
        assert!(Fingerprint::parse(v).unwrap().matches(&digest));
        assert!(!Fingerprint::parse(v).unwrap().matches(&[0xab; 31]));
    }

    #[test]
    fn fingerprint_decode_takes_only_colon_separated_pairs() {
        extern crate std;
        let decode = |value: &str| {
            let fp = Fingerprint {
                hash: HashFunction::Sha256,
                value,
            };
            let mut buf = [0; MAX_FINGERPRINT_LEN];
            fp.decode(&mut buf).map(<[u8]>::to_vec)
        };
        assert_eq!(decode("4a:AD:b9"), Some(std::vec![0x4a, 0xad, 0xb9]));
        assert_eq!(decode("4A"), Some(std::vec![0x4a]));
        for bad in [
            "", "4", "4A:", ":4A", "4A::AD", "4AD:B9", "4A-AD", "4A:A", "4A:ADB9", "G0",
        ] {
            assert_eq!(decode(bad), None, "{bad:?}");
        }
        // 64 pairs fit, 65 do not.
        let pairs = |n: usize| std::vec!["AB"; n].join(":");
        assert_eq!(
            decode(&pairs(MAX_FINGERPRINT_LEN)).map(|d| d.len()),
            Some(MAX_FINGERPRINT_LEN)
        );
        assert_eq!(decode(&pairs(MAX_FINGERPRINT_LEN + 1)), None);
    }

    #[test]
    fn answer_direction_follows_rfc3264() {
        use Direction::*;
        assert_eq!(Direction::answer(SendRecv, SendRecv), SendRecv);
        assert_eq!(Direction::answer(SendOnly, SendRecv), RecvOnly);
        assert_eq!(Direction::answer(RecvOnly, SendRecv), SendOnly);
        assert_eq!(Direction::answer(RecvOnly, RecvOnly), Inactive);
        assert_eq!(Direction::answer(Inactive, SendRecv), Inactive);
        assert_eq!(Direction::answer(SendRecv, RecvOnly), RecvOnly);
    }

    #[test]
    fn typed_values_parse() {
        let r = Rtpmap::parse("111 opus/48000/2").unwrap();
        assert_eq!(
            (r.payload_type, r.encoding, r.clock_rate, r.channels),
            (111, "opus", 48000, Some(2))
        );
        assert!(Rtpmap::parse("128 x/1").is_none());
        assert!(Rtpmap::parse("96 VP8").is_none());
        let e = Extmap::parse("2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level").unwrap();
        assert_eq!(e.direction, Some(Direction::RecvOnly));
        let s = Simulcast::parse("send a;~b recv c").unwrap();
        assert_eq!(
            Simulcast::rids(s.send.unwrap()).collect::<heapless::Vec<_, 4>>(),
            ["a", "b"]
        );
        assert!(Simulcast::parse("send").is_none());
        assert!(Simulcast::parse("send a send b").is_none());
        let g = SsrcGroup::parse("FID 1 2").unwrap();
        assert_eq!(g.ssrcs().sum::<u32>(), 3);
        assert!(SsrcGroup::parse("FID 1 x").is_none());
        assert_eq!(ice_options("ice2,trickle").count(), 2);
        assert_eq!(RtcpFb::parse("* nack").unwrap().payload_type, None);
    }
}
