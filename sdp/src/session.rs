//! The checked, zero-copy view of a session description (RFC 8866 §5).
//!
//! ```text
//!   text ──parse──► Session ─┬─ origin(), groups(), session-level attributes
//!   (LF or CRLF)     │       └─ media() ──► Media ─┬─ kind/port/proto/formats (m=)
//!                    │                             ├─ connection (c=)
//!                    │                             └─ attributes(): typed accessors, media
//!                    │                                level first, then session level where
//!                    │                                browsers put them (fingerprint, ice-*,
//!                    │                                setup, extmap-allow-mixed)
//!   every line checked once; each m= section's byte range kept in a fixed table
//! ```
//!
//! `parse` walks every line once, checks its form and the value of every attribute this crate
//! has a typed accessor for, and records where each media section starts. Accessors then
//! re-scan the (short) section text lazily, so nothing is copied and nothing allocated, and
//! they cannot fail: what they would parse was already checked.

use core::fmt;

use crate::attr::{
    self, Direction, Extmap, Fingerprint, Fmtp, Group, Msid, Rid, RtcpFb, Rtpmap, Setup, Simulcast,
    Ssrc, SsrcGroup,
};

/// The most media sections a [`Session`] indexes. A description with more is rejected with
/// [`ParseErrorKind::TooManyMedia`]; 32 is far above what browsers negotiate in practice
/// (one section per track plus one for data) and costs 32 × 3 words of stack.
pub const MAX_MEDIA: usize = 32;

/// Why a description did not parse, and on which line (1-based, counting every line of the
/// input including blank ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ParseError {
    /// The line the problem is on (the last line for problems of the whole description).
    pub line: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// What is wrong with a description.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ParseErrorKind {
    /// The input has no lines.
    Empty,
    /// A line is not `<letter>=<value>`.
    BadLine,
    /// The first line is not `v=0`.
    BadVersion,
    /// The `o=` line is missing before the first media section.
    MissingOrigin,
    /// The `o=` line does not have its six fields with numeric session id and version.
    BadOrigin,
    /// The `s=` line is missing before the first media section.
    MissingSessionName,
    /// A session-level line (`v=`, `o=`, `s=`) appears twice or inside a media section.
    Misplaced,
    /// An `m=` line is not `<media> <port>[/<n>] <proto> <fmt> ...`.
    BadMedia,
    /// A `c=` line is not `<nettype> <addrtype> <address>`.
    BadConnection,
    /// An attribute line has an empty name or a malformed value for an attribute we know.
    BadAttribute,
    /// More than [`MAX_MEDIA`] media sections.
    TooManyMedia,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SDP line {}: {:?}", self.line, self.kind)
    }
}

impl core::error::Error for ParseError {}

/// One line of a description: its type letter and value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// 1-based line number in the original text (only meaningful while parsing).
    pub(crate) number: usize,
    pub(crate) kind: u8,
    pub(crate) value: &'a str,
}

/// The lines of a text, LF or CRLF terminated, blank lines skipped.
#[derive(Clone, Debug)]
pub(crate) struct Lines<'a> {
    rest: &'a str,
    number: usize,
    offset: usize,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(text: &'a str, first_number: usize) -> Self {
        Lines {
            rest: text,
            number: first_number,
            offset: 0,
        }
    }
}

/// One line as found: its 1-based number, its byte offset in the text, and its content
/// without the line ending.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RawLine<'a> {
    pub(crate) number: usize,
    pub(crate) offset: usize,
    pub(crate) text: &'a str,
}

impl<'a> Iterator for Lines<'a> {
    type Item = RawLine<'a>;

    fn next(&mut self) -> Option<RawLine<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let (line, rest) = self.rest.split_once('\n').unwrap_or((self.rest, ""));
            // Trailing blanks carry nothing (RFC 8866 has none) and `Session::write` drops
            // them, so every check and accessor sees the line as it will be written: what
            // parses once parses again after a round trip.
            let raw = RawLine {
                number: self.number,
                offset: self.offset,
                text: line
                    .strip_suffix('\r')
                    .unwrap_or(line)
                    .trim_end_matches([' ', '\t']),
            };
            self.offset += self.rest.len() - rest.len();
            self.rest = rest;
            self.number += 1;
            // Trailing blank lines are common (a final CRLF doubled by a signalling layer);
            // RFC 8866 has none, but a blank line carries nothing, so it is skipped.
            if raw.text.trim().is_empty() {
                continue;
            }
            return Some(raw);
        }
    }
}

fn split_line(raw: RawLine<'_>) -> Option<Line<'_>> {
    match raw.text.as_bytes() {
        [kind, b'=', ..] if kind.is_ascii_lowercase() => Some(Line {
            number: raw.number,
            kind: *kind,
            value: raw.text.get(2..)?,
        }),
        _ => None,
    }
}

/// The well-formed lines of a text that has been checked by [`Session::parse`].
fn checked_lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    Lines::new(text, 1).filter_map(split_line)
}

/// An `a=` line: a name and an optional value (RFC 8866 §5.13: `a=<name>` or
/// `a=<name>:<value>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Attribute<'a> {
    /// The attribute name.
    pub name: &'a str,
    /// The value after the first `:`, if any.
    pub value: Option<&'a str>,
}

impl<'a> Attribute<'a> {
    fn parse(value: &'a str) -> Self {
        match value.split_once(':') {
            Some((name, value)) => Attribute {
                name,
                value: Some(value),
            },
            None => Attribute {
                name: value,
                value: None,
            },
        }
    }
}

impl fmt::Display for Attribute<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(v) => write!(f, "{}:{v}", self.name),
            None => f.write_str(self.name),
        }
    }
}

/// The attributes of one level (session or one media section), in order.
#[derive(Clone, Debug)]
pub struct Attributes<'a> {
    lines: Lines<'a>,
}

#[cfg(feature = "defmt")]
impl defmt::Format for Attributes<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Attributes {{ .. }}");
    }
}

impl<'a> Iterator for Attributes<'a> {
    type Item = Attribute<'a>;

    fn next(&mut self) -> Option<Attribute<'a>> {
        self.lines
            .by_ref()
            .filter_map(split_line)
            .find(|l| l.kind == b'a')
            .map(|l| Attribute::parse(l.value))
    }
}

/// `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <address>` (RFC 8866 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Origin<'a> {
    /// The user name (`-` in WebRTC).
    pub username: &'a str,
    /// The session id: digits, kept as text because some stacks exceed 64 bits.
    pub session_id: &'a str,
    /// The session version, incremented by the author on each change (RFC 8829 §5.2.2).
    pub session_version: u64,
    /// `IN`.
    pub net_type: &'a str,
    /// `IP4` or `IP6`.
    pub addr_type: &'a str,
    /// The unicast address (meaningless in WebRTC).
    pub address: &'a str,
}

impl<'a> Origin<'a> {
    /// Parses the value of an `o=` line.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let mut f = value.split(' ').filter(|w| !w.is_empty());
        let origin = Origin {
            username: f.next()?,
            session_id: f.next().filter(|s| s.bytes().all(|b| b.is_ascii_digit()))?,
            session_version: attr::parse_u64(f.next()?)?,
            net_type: f.next()?,
            addr_type: f.next()?,
            address: f.next()?,
        };
        f.next().is_none().then_some(origin)
    }
}

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {} {} {}",
            self.username,
            self.session_id,
            self.session_version,
            self.net_type,
            self.addr_type,
            self.address
        )
    }
}

/// `c=<nettype> <addrtype> <address>` (RFC 8866 §5.7).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Connection<'a> {
    /// `IN`.
    pub net_type: &'a str,
    /// `IP4` or `IP6`.
    pub addr_type: &'a str,
    /// The address (with an optional `/ttl` for multicast, kept as written).
    pub address: &'a str,
}

impl<'a> Connection<'a> {
    /// Parses the value of a `c=` line.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let mut f = value.split(' ').filter(|w| !w.is_empty());
        let c = Connection {
            net_type: f.next()?,
            addr_type: f.next()?,
            address: f.next()?,
        };
        f.next().is_none().then_some(c)
    }
}

impl fmt::Display for Connection<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.net_type, self.addr_type, self.address)
    }
}

/// The media type of an `m=` line. Unknown types are kept as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MediaKind<'a> {
    /// `audio`.
    Audio,
    /// `video`.
    Video,
    /// `application` (data channels).
    Application,
    /// Anything else (`text`, `message`, `image`).
    Other(&'a str),
}

impl<'a> MediaKind<'a> {
    /// Parses a media type.
    #[must_use]
    pub fn parse(s: &'a str) -> Self {
        match s {
            "audio" => Self::Audio,
            "video" => Self::Video,
            "application" => Self::Application,
            other => Self::Other(other),
        }
    }

    /// The media type as written.
    #[must_use]
    pub fn as_str(&self) -> &'a str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Application => "application",
            Self::Other(s) => s,
        }
    }
}

impl fmt::Display for MediaKind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of an `m=` line (RFC 8866 §5.14).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MediaLine<'a> {
    /// The media type.
    pub kind: MediaKind<'a>,
    /// The transport port; 0 rejects the section (RFC 3264 §6) unless it is `bundle-only`.
    pub port: u16,
    /// The number of ports after `/`, if given.
    pub port_count: Option<u16>,
    /// The transport protocol (`UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`).
    pub proto: &'a str,
    /// The space-separated formats, as written (payload types, or `webrtc-datachannel`).
    pub formats: &'a str,
}

impl<'a> MediaLine<'a> {
    /// Parses the value of an `m=` line.
    #[must_use]
    pub fn parse(value: &'a str) -> Option<Self> {
        let (kind, rest) = attr::split_word(value);
        let (port, rest) = attr::split_word(rest?);
        let (proto, formats) = attr::split_word(rest?);
        let (port, port_count) = match port.split_once('/') {
            Some((p, n)) => (p, Some(attr::parse_u16(n)?)),
            None => (port, None),
        };
        Some(MediaLine {
            kind: MediaKind::parse(Some(kind).filter(|k| attr::is_token(k))?),
            port: attr::parse_u16(port)?,
            port_count,
            proto: Some(proto).filter(|p| attr::is_token(p))?,
            formats: formats?.trim_end_matches(' '),
        })
    }

    /// The formats, in order.
    pub fn formats(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.formats.split(' ').filter(|f| !f.is_empty())
    }

    /// Whether the protocol carries RTP (`RTP/AVP`, `UDP/TLS/RTP/SAVPF`, ...).
    #[must_use]
    pub fn is_rtp(&self) -> bool {
        self.proto.split('/').any(|p| p == "RTP")
    }

    /// Whether this is a WebRTC data channel section (RFC 8841: `UDP/DTLS/SCTP` or
    /// `TCP/DTLS/SCTP` with the format `webrtc-datachannel`).
    #[must_use]
    pub fn is_datachannel(&self) -> bool {
        self.proto.ends_with("DTLS/SCTP") && self.formats().any(|f| f == "webrtc-datachannel")
    }
}

impl fmt::Display for MediaLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.port)?;
        if let Some(n) = self.port_count {
            write!(f, "/{n}")?;
        }
        write!(f, " {} {}", self.proto, self.formats)
    }
}

/// Where a media section is in the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Span {
    start: usize,
    end: usize,
    first_line: usize,
}

/// A parsed session description: a view over the text, checked once.
///
/// ```
/// let text = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
///             a=group:BUNDLE 0\r\n\
///             a=fingerprint:sha-1 4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB\r\n\
///             m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n\
///             a=mid:0\r\na=ice-ufrag:abcd\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaa\r\n\
///             a=setup:actpass\r\na=sctp-port:5000\r\n";
/// let session = peerless_sdp::Session::parse(text)?;
/// let media = session.media().next().unwrap();
/// assert_eq!(media.mid(), Some("0"));
/// assert_eq!(media.sctp_port(), Some(5000));
/// assert_eq!(media.fingerprints().count(), 1); // found at session level
/// assert_eq!(session.bundle_group().unwrap().mids().count(), 1);
/// # Ok::<(), peerless_sdp::ParseError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Session<'a> {
    text: &'a str,
    /// End of the session-level part (start of the first `m=` line).
    session_end: usize,
    origin: Origin<'a>,
    name: &'a str,
    media: [Span; MAX_MEDIA],
    media_count: usize,
}

/// The origin, the name and how many media sections; not the text.
#[cfg(feature = "defmt")]
impl defmt::Format for Session<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Session {{ origin: {}, name: {=str}, media: {=usize}, .. }}",
            self.origin,
            self.name,
            self.media_count
        );
    }
}

impl<'a> Session<'a> {
    /// Parses and checks a description. See [`ParseErrorKind`] for what is rejected; unknown
    /// line types and unknown attributes are accepted and kept.
    pub fn parse(text: &'a str) -> Result<Self, ParseError> {
        let mut session = Session {
            text,
            session_end: text.len(),
            origin: Origin {
                username: "",
                session_id: "",
                session_version: 0,
                net_type: "",
                addr_type: "",
                address: "",
            },
            name: "",
            media: [Span::default(); MAX_MEDIA],
            media_count: 0,
        };
        let mut seen_origin = false;
        let mut seen_name = false;
        let mut last_line = 0;
        for (index, raw) in Lines::new(text, 1).enumerate() {
            last_line = raw.number;
            let err = |kind| ParseError {
                line: raw.number,
                kind,
            };
            let line = split_line(raw).ok_or(err(ParseErrorKind::BadLine))?;
            let offset = raw.offset;
            let in_media = session.media_count > 0;
            match line.kind {
                b'v' if index == 0 && line.value.trim() == "0" => {}
                _ if index == 0 => return Err(err(ParseErrorKind::BadVersion)),
                b'v' => return Err(err(ParseErrorKind::Misplaced)),
                b'o' if !in_media && !seen_origin => {
                    session.origin =
                        Origin::parse(line.value).ok_or(err(ParseErrorKind::BadOrigin))?;
                    seen_origin = true;
                }
                b's' if !in_media && !seen_name => {
                    session.name = line.value;
                    seen_name = true;
                }
                b'o' | b's' => return Err(err(ParseErrorKind::Misplaced)),
                b'm' => {
                    if !seen_origin {
                        return Err(err(ParseErrorKind::MissingOrigin));
                    }
                    if !seen_name {
                        return Err(err(ParseErrorKind::MissingSessionName));
                    }
                    MediaLine::parse(line.value).ok_or(err(ParseErrorKind::BadMedia))?;
                    if let Some(prev) = session.media_count.checked_sub(1) {
                        if let Some(span) = session.media.get_mut(prev) {
                            span.end = offset;
                        }
                    } else {
                        session.session_end = offset;
                    }
                    let span = session
                        .media
                        .get_mut(session.media_count)
                        .ok_or(err(ParseErrorKind::TooManyMedia))?;
                    *span = Span {
                        start: offset,
                        end: text.len(),
                        first_line: raw.number,
                    };
                    session.media_count += 1;
                }
                b'c' => {
                    Connection::parse(line.value).ok_or(err(ParseErrorKind::BadConnection))?;
                }
                b'a' => {
                    let a = Attribute::parse(line.value);
                    if a.name.is_empty() || !attr::is_valid(a.name, a.value) {
                        return Err(err(ParseErrorKind::BadAttribute));
                    }
                }
                // t=, b=, i=, u=, e=, p=, r=, z=, k= and letters defined later: kept, unchecked.
                _ => {}
            }
        }
        let end = ParseError {
            line: last_line.max(1),
            kind: ParseErrorKind::Empty,
        };
        if last_line == 0 {
            return Err(end);
        }
        if !seen_origin {
            return Err(ParseError {
                kind: ParseErrorKind::MissingOrigin,
                ..end
            });
        }
        if !seen_name {
            return Err(ParseError {
                kind: ParseErrorKind::MissingSessionName,
                ..end
            });
        }
        Ok(session)
    }

    /// The text this view was parsed from.
    #[must_use]
    pub fn text(&self) -> &'a str {
        self.text
    }

    /// The `o=` line.
    #[must_use]
    pub fn origin(&self) -> Origin<'a> {
        self.origin
    }

    /// The `s=` line (`-` in WebRTC).
    #[must_use]
    pub fn session_name(&self) -> &'a str {
        self.name
    }

    fn session_text(&self) -> &'a str {
        self.text.get(..self.session_end).unwrap_or("")
    }

    /// The session-level attributes, in order.
    #[must_use]
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            lines: Lines::new(self.session_text(), 1),
        }
    }

    /// The session-level `c=` line, if any.
    #[must_use]
    pub fn connection(&self) -> Option<Connection<'a>> {
        checked_lines(self.session_text())
            .find(|l| l.kind == b'c')
            .and_then(|l| Connection::parse(l.value))
    }

    /// The other session-level lines (`t=`, `b=`, ...) as `(type letter, value)`, in order,
    /// without `v=`, `o=`, `s=`, `c=` and `a=` (which have their own accessors).
    pub fn other_lines(&self) -> impl Iterator<Item = (char, &'a str)> + 'a {
        other_lines(self.session_text(), b"vosca")
    }

    /// The value of the first session-level attribute named `name` (`Some("")` for a flag).
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<&'a str> {
        find_value(self.attributes(), name)
    }

    /// Whether a session-level attribute `name` is present.
    #[must_use]
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }

    /// The `a=group` lines (RFC 5888).
    pub fn groups(&self) -> impl Iterator<Item = Group<'a>> + 'a {
        typed(self.attributes(), "group", Group::parse)
    }

    /// The first BUNDLE group (RFC 8843); WebRTC endpoints use one.
    #[must_use]
    pub fn bundle_group(&self) -> Option<Group<'a>> {
        self.groups().find(Group::is_bundle)
    }

    /// The BUNDLE group `mid` is in, if any.
    #[must_use]
    pub fn bundle_group_of(&self, mid: &str) -> Option<Group<'a>> {
        self.groups().find(|g| g.is_bundle() && g.contains(mid))
    }

    /// `a=ice-lite` at session level (RFC 8839 §5.3).
    #[must_use]
    pub fn ice_lite(&self) -> bool {
        self.has_attribute("ice-lite")
    }

    /// Session-level `a=ice-ufrag`.
    #[must_use]
    pub fn ice_ufrag(&self) -> Option<&'a str> {
        self.attribute("ice-ufrag").map(trim)
    }

    /// Session-level `a=ice-pwd`.
    #[must_use]
    pub fn ice_pwd(&self) -> Option<&'a str> {
        self.attribute("ice-pwd").map(trim)
    }

    /// Session-level ICE options (`trickle`, `ice2`).
    pub fn ice_options(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes()
            .filter(|a| a.name == "ice-options")
            .flat_map(|a| attr::ice_options(a.value.unwrap_or("")))
    }

    /// Session-level fingerprints (Firefox puts them here).
    pub fn fingerprints(&self) -> impl Iterator<Item = Fingerprint<'a>> + 'a {
        typed(self.attributes(), "fingerprint", Fingerprint::parse)
    }

    /// Session-level `a=setup`.
    #[must_use]
    pub fn setup(&self) -> Option<Setup> {
        self.attribute("setup").and_then(Setup::parse)
    }

    /// Session-level direction attribute, if any (media sections without their own inherit it).
    #[must_use]
    pub fn direction(&self) -> Option<Direction> {
        self.attributes().find_map(|a| Direction::from_name(a.name))
    }

    /// Session-level `a=extmap-allow-mixed` (RFC 8285 §6).
    #[must_use]
    pub fn extmap_allow_mixed(&self) -> bool {
        self.has_attribute("extmap-allow-mixed")
    }

    /// The number of media sections.
    #[must_use]
    pub fn media_count(&self) -> usize {
        self.media_count
    }

    /// The media sections, in order.
    pub fn media(&self) -> impl Iterator<Item = Media<'a>> + '_ {
        (0..self.media_count).filter_map(|i| self.media_at(i))
    }

    /// The media section at `index`.
    #[must_use]
    pub fn media_at(&self, index: usize) -> Option<Media<'a>> {
        if index >= self.media_count {
            return None;
        }
        let span = self.media.get(index)?;
        let text = self.text.get(span.start..span.end)?;
        let (_, m) = checked_lines(text).next().map(|l| (l.number, l.value))?;
        Some(Media {
            index,
            line: MediaLine::parse(m)?,
            text,
            first_line: span.first_line,
            session: self.session_text(),
        })
    }

    /// The media section with `a=mid:<mid>`.
    #[must_use]
    pub fn media_by_mid(&self, mid: &str) -> Option<Media<'a>> {
        self.media().find(|m| m.mid() == Some(mid))
    }

    /// Writes the description back, every line in order with CRLF endings (RFC 8866 §5). What
    /// parsed keeps its meaning: this is how a received description is stored or forwarded.
    pub fn write(&self, out: &mut impl fmt::Write) -> fmt::Result {
        for line in Lines::new(self.text, 1) {
            out.write_str(line.text)?;
            out.write_str("\r\n")?;
        }
        Ok(())
    }
}

fn trim(s: &str) -> &str {
    s.trim_end_matches(' ')
}

fn find_value<'a>(mut attrs: Attributes<'a>, name: &str) -> Option<&'a str> {
    attrs
        .find(|a| a.name == name)
        .map(|a| a.value.unwrap_or(""))
}

fn typed<'a, T: 'a>(
    attrs: Attributes<'a>,
    name: &'static str,
    parse: fn(&'a str) -> Option<T>,
) -> impl Iterator<Item = T> + 'a {
    attrs
        .filter(move |a| a.name == name)
        .filter_map(move |a| parse(a.value?))
}

fn other_lines<'a>(text: &'a str, skip: &'static [u8]) -> impl Iterator<Item = (char, &'a str)> {
    checked_lines(text)
        .filter(move |l| !skip.contains(&l.kind))
        .map(|l| (char::from(l.kind), l.value))
}

/// One media section (`m=` line and the lines up to the next one).
#[derive(Clone, Copy, Debug)]
pub struct Media<'a> {
    index: usize,
    line: MediaLine<'a>,
    text: &'a str,
    first_line: usize,
    session: &'a str,
}

/// Its index and `m=` line; not the text.
#[cfg(feature = "defmt")]
impl defmt::Format for Media<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Media {{ index: {=usize}, line: {}, .. }}",
            self.index,
            self.line
        );
    }
}

impl<'a> Media<'a> {
    /// The position of this section in the description (0-based).
    #[must_use]
    pub fn index(&self) -> usize {
        self.index
    }

    /// The line number of its `m=` line in the text it was parsed from.
    #[must_use]
    pub fn line_number(&self) -> usize {
        self.first_line
    }

    /// The `m=` line.
    #[must_use]
    pub fn media_line(&self) -> MediaLine<'a> {
        self.line
    }

    /// The media type.
    #[must_use]
    pub fn kind(&self) -> MediaKind<'a> {
        self.line.kind
    }

    /// The port of the `m=` line.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.line.port
    }

    /// The transport protocol.
    #[must_use]
    pub fn proto(&self) -> &'a str {
        self.line.proto
    }

    /// The formats of the `m=` line.
    pub fn formats(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.line.formats()
    }

    /// The formats that are RTP payload types.
    pub fn payload_types(&self) -> impl Iterator<Item = u8> + 'a {
        self.line.formats().filter_map(attr::parse_pt)
    }

    /// Whether the section is rejected or stopped: port 0 without `a=bundle-only`
    /// (RFC 3264 §6, RFC 8843 §6).
    #[must_use]
    pub fn is_rejected(&self) -> bool {
        self.line.port == 0 && !self.has_attribute("bundle-only")
    }

    /// The section's `c=` line, or the session's.
    #[must_use]
    pub fn connection(&self) -> Option<Connection<'a>> {
        checked_lines(self.text)
            .chain(checked_lines(self.session))
            .find(|l| l.kind == b'c')
            .and_then(|l| Connection::parse(l.value))
    }

    /// The other lines of the section (`b=`, `i=`, `k=` ...) as `(type letter, value)`,
    /// without `m=`, `c=` and `a=`.
    pub fn other_lines(&self) -> impl Iterator<Item = (char, &'a str)> + 'a {
        other_lines(self.text, b"mca")
    }

    /// The media-level attributes, in order (unknown ones included).
    #[must_use]
    pub fn attributes(&self) -> Attributes<'a> {
        Attributes {
            lines: Lines::new(self.text, 1),
        }
    }

    fn session_attributes(&self) -> Attributes<'a> {
        Attributes {
            lines: Lines::new(self.session, 1),
        }
    }

    /// The value of the first media-level attribute `name` (`Some("")` for a flag).
    #[must_use]
    pub fn attribute(&self, name: &str) -> Option<&'a str> {
        find_value(self.attributes(), name)
    }

    /// Whether the media-level attribute `name` is present.
    #[must_use]
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes().any(|a| a.name == name)
    }

    /// The media-level value of `name`, or the session-level one (RFC 8866 §5.13: a
    /// media-level attribute overrides the session's).
    fn attribute_or_session(&self, name: &str) -> Option<&'a str> {
        self.attribute(name)
            .or_else(|| find_value(self.session_attributes(), name))
    }

    /// `a=mid` (RFC 5888).
    #[must_use]
    pub fn mid(&self) -> Option<&'a str> {
        self.attribute("mid").map(trim)
    }

    /// `a=ice-ufrag`, media level first, then session level.
    #[must_use]
    pub fn ice_ufrag(&self) -> Option<&'a str> {
        self.attribute_or_session("ice-ufrag").map(trim)
    }

    /// `a=ice-pwd`, media level first, then session level.
    #[must_use]
    pub fn ice_pwd(&self) -> Option<&'a str> {
        self.attribute_or_session("ice-pwd").map(trim)
    }

    /// ICE options: the media-level ones if any, otherwise the session-level ones.
    pub fn ice_options(&self) -> impl Iterator<Item = &'a str> + 'a {
        let attrs = if self.has_attribute("ice-options") {
            self.attributes()
        } else {
            self.session_attributes()
        };
        attrs
            .filter(|a| a.name == "ice-options")
            .flat_map(|a| attr::ice_options(a.value.unwrap_or("")))
    }

    /// Whether `option` is among the ICE options (e.g. `trickle`, RFC 8840).
    #[must_use]
    pub fn has_ice_option(&self, option: &str) -> bool {
        self.ice_options().any(|o| o == option)
    }

    /// `a=ice-lite` (a session-level attribute; accepted at media level too).
    #[must_use]
    pub fn ice_lite(&self) -> bool {
        self.attribute_or_session("ice-lite").is_some()
    }

    /// Fingerprints: the media-level ones if any, otherwise the session-level ones (RFC 8122
    /// §5: several may be given, with different hash functions).
    pub fn fingerprints(&self) -> impl Iterator<Item = Fingerprint<'a>> + 'a {
        let attrs = if self.has_attribute("fingerprint") {
            self.attributes()
        } else {
            self.session_attributes()
        };
        typed(attrs, "fingerprint", Fingerprint::parse)
    }

    /// `a=setup`, media level first, then session level.
    #[must_use]
    pub fn setup(&self) -> Option<Setup> {
        self.attribute_or_session("setup").and_then(Setup::parse)
    }

    /// The raw `a=candidate` values (`<foundation> <component> <transport> ...`; the ICE crate
    /// parses them).
    pub fn candidates(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes()
            .filter(|a| a.name == "candidate")
            .filter_map(|a| a.value)
    }

    /// `a=end-of-candidates` (RFC 8840 §8.2), here or at session level.
    #[must_use]
    pub fn end_of_candidates(&self) -> bool {
        self.attribute_or_session("end-of-candidates").is_some()
    }

    /// `a=sctp-port` (RFC 8841 §5).
    #[must_use]
    pub fn sctp_port(&self) -> Option<u16> {
        self.attribute("sctp-port")
            .and_then(|v| attr::parse_u16(trim(v)))
    }

    /// `a=max-message-size` (RFC 8841 §6); absent means 64 KiB, 0 means no limit.
    #[must_use]
    pub fn max_message_size(&self) -> Option<u64> {
        self.attribute("max-message-size")
            .and_then(|v| attr::parse_u64(trim(v)))
    }

    /// The `a=rtpmap` lines.
    pub fn rtpmaps(&self) -> impl Iterator<Item = Rtpmap<'a>> + 'a {
        typed(self.attributes(), "rtpmap", Rtpmap::parse)
    }

    /// The `a=rtpmap` of payload type `pt`.
    #[must_use]
    pub fn rtpmap(&self, pt: u8) -> Option<Rtpmap<'a>> {
        self.rtpmaps().find(|r| r.payload_type == pt)
    }

    /// The `a=fmtp` lines.
    pub fn fmtps(&self) -> impl Iterator<Item = Fmtp<'a>> + 'a {
        typed(self.attributes(), "fmtp", Fmtp::parse)
    }

    /// The `a=fmtp` of payload type `pt`.
    #[must_use]
    pub fn fmtp(&self, pt: u8) -> Option<Fmtp<'a>> {
        self.fmtps().find(|f| f.payload_type == pt)
    }

    /// The `a=rtcp-fb` lines.
    pub fn rtcp_fbs(&self) -> impl Iterator<Item = RtcpFb<'a>> + 'a {
        typed(self.attributes(), "rtcp-fb", RtcpFb::parse)
    }

    /// The feedback that applies to payload type `pt` (its own lines and the `*` ones).
    pub fn rtcp_fb(&self, pt: u8) -> impl Iterator<Item = RtcpFb<'a>> + 'a {
        self.rtcp_fbs().filter(move |fb| fb.applies_to(pt))
    }

    /// The payload types with their rtpmap, fmtp and feedback, in `m=` line order. Static
    /// payload types without an rtpmap (PCMU is 0) have `rtpmap: None`.
    pub fn codecs(&self) -> impl Iterator<Item = Codec<'a>> + 'a {
        let media = *self;
        self.payload_types().map(move |pt| Codec {
            payload_type: pt,
            rtpmap: media.rtpmap(pt),
            fmtp: media.fmtp(pt),
            media,
        })
    }

    /// The `a=extmap` lines (RFC 8285).
    pub fn extmaps(&self) -> impl Iterator<Item = Extmap<'a>> + 'a {
        typed(self.attributes(), "extmap", Extmap::parse)
    }

    /// `a=extmap-allow-mixed` here or at session level (RFC 8285 §6).
    #[must_use]
    pub fn extmap_allow_mixed(&self) -> bool {
        self.attribute_or_session("extmap-allow-mixed").is_some()
    }

    /// The `a=ssrc` lines (RFC 5576).
    pub fn ssrcs(&self) -> impl Iterator<Item = Ssrc<'a>> + 'a {
        typed(self.attributes(), "ssrc", Ssrc::parse)
    }

    /// The `a=ssrc-group` lines (RFC 5576).
    pub fn ssrc_groups(&self) -> impl Iterator<Item = SsrcGroup<'a>> + 'a {
        typed(self.attributes(), "ssrc-group", SsrcGroup::parse)
    }

    /// The `a=msid` lines (RFC 8830).
    pub fn msids(&self) -> impl Iterator<Item = Msid<'a>> + 'a {
        typed(self.attributes(), "msid", Msid::parse)
    }

    /// The direction: the media-level attribute, else the session-level one, else `sendrecv`
    /// (RFC 8866 §6.7).
    #[must_use]
    pub fn direction(&self) -> Direction {
        self.attributes()
            .chain(self.session_attributes())
            .find_map(|a| Direction::from_name(a.name))
            .unwrap_or(Direction::SendRecv)
    }

    /// `a=rtcp-mux` (RFC 5761).
    #[must_use]
    pub fn rtcp_mux(&self) -> bool {
        self.has_attribute("rtcp-mux")
    }

    /// `a=rtcp-mux-only` (RFC 8858).
    #[must_use]
    pub fn rtcp_mux_only(&self) -> bool {
        self.has_attribute("rtcp-mux-only")
    }

    /// `a=rtcp-rsize` (RFC 5506).
    #[must_use]
    pub fn rtcp_rsize(&self) -> bool {
        self.has_attribute("rtcp-rsize")
    }

    /// `a=bundle-only` (RFC 8843 §6).
    #[must_use]
    pub fn bundle_only(&self) -> bool {
        self.has_attribute("bundle-only")
    }

    /// The `a=rid` lines (RFC 8851).
    pub fn rids(&self) -> impl Iterator<Item = Rid<'a>> + 'a {
        typed(self.attributes(), "rid", Rid::parse)
    }

    /// `a=simulcast` (RFC 8853).
    #[must_use]
    pub fn simulcast(&self) -> Option<Simulcast<'a>> {
        self.attribute("simulcast").and_then(Simulcast::parse)
    }
}

/// One payload type of a media section with what describes it.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Codec<'a> {
    /// The payload type.
    pub payload_type: u8,
    /// Its `a=rtpmap`, if any.
    pub rtpmap: Option<Rtpmap<'a>>,
    /// Its `a=fmtp`, if any.
    pub fmtp: Option<Fmtp<'a>>,
    media: Media<'a>,
}

impl<'a> Codec<'a> {
    /// The feedback that applies to it.
    pub fn rtcp_fb(&self) -> impl Iterator<Item = RtcpFb<'a>> + 'a {
        self.media.rtcp_fb(self.payload_type)
    }

    /// The encoding name: from the rtpmap, or the RFC 3551 static table for the common static
    /// payload types (0 PCMU, 8 PCMA, 9 G722).
    #[must_use]
    pub fn encoding(&self) -> Option<&'a str> {
        match (self.rtpmap, self.payload_type) {
            (Some(r), _) => Some(r.encoding),
            (None, 0) => Some("PCMU"),
            (None, 8) => Some("PCMA"),
            (None, 9) => Some("G722"),
            _ => None,
        }
    }
}
