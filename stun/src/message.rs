//! The STUN message: a checked view over received bytes and a builder that emits into a buffer.
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |0 0|  M M M M M C M M M C M M M M |        Message Length         |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                   Magic Cookie 0x2112A442                     |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                  Transaction ID (96 bits)                     |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  | attributes ... [MESSAGE-INTEGRITY] [MESSAGE-INTEGRITY-SHA256] [FINGERPRINT]
//! ```
//!
//! Parsing walks every attribute once and remembers where the integrity attributes and the
//! fingerprint sit; attributes after MESSAGE-INTEGRITY (other than MESSAGE-INTEGRITY-SHA256
//! and FINGERPRINT) and after FINGERPRINT are ignored, as RFC 8489 §14.5-14.7 require.

use core::fmt;
use core::net::SocketAddr;

use peerless_base::{BufferTooSmall, Reader, Writer, ct_eq};

use crate::attr::{AttrList, AttrType, Attribute, ErrorCode, padded};
use crate::integrity::{fingerprint, hmac_sha1, hmac_sha256};

/// The fixed value in every STUN header (RFC 8489 §5).
pub const MAGIC_COOKIE: u32 = 0x2112_A442;

/// The length of the STUN header.
pub const HEADER_LEN: usize = 20;

/// The message class: the two C bits of the message type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Class {
    /// A request: expects a response.
    Request,
    /// An indication: no response.
    Indication,
    /// A success response.
    Success,
    /// An error response (carries ERROR-CODE).
    Error,
}

impl Class {
    const fn bits(self) -> u16 {
        match self {
            Class::Request => 0b00,
            Class::Indication => 0b01,
            Class::Success => 0b10,
            Class::Error => 0b11,
        }
    }

    const fn from_bits(bits: u16) -> Class {
        match bits & 0b11 {
            0b00 => Class::Request,
            0b01 => Class::Indication,
            0b10 => Class::Success,
            _ => Class::Error,
        }
    }
}

/// A STUN method (12 bits). Unknown methods round-trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Method(pub u16);

impl Method {
    /// Binding (RFC 8489).
    pub const BINDING: Method = Method(0x001);
    /// Allocate (RFC 8656).
    pub const ALLOCATE: Method = Method(0x003);
    /// Refresh (RFC 8656).
    pub const REFRESH: Method = Method(0x004);
    /// Send (RFC 8656).
    pub const SEND: Method = Method(0x006);
    /// Data (RFC 8656).
    pub const DATA: Method = Method(0x007);
    /// CreatePermission (RFC 8656).
    pub const CREATE_PERMISSION: Method = Method(0x008);
    /// ChannelBind (RFC 8656).
    pub const CHANNEL_BIND: Method = Method(0x009);
}

/// The 96-bit transaction id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TransactionId(pub [u8; 12]);

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TransactionId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Encodes method and class into the 14-bit message type.
#[must_use]
pub const fn message_type(class: Class, method: Method) -> u16 {
    let m = method.0 & 0x0fff;
    let c = class.bits();
    (m & 0x000f) | ((c & 1) << 4) | ((m & 0x0070) << 1) | ((c & 2) << 7) | ((m & 0x0f80) << 2)
}

/// Why bytes are not a STUN message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// Shorter than the header or than the header's length says.
    Truncated,
    /// The two top bits are set or the magic cookie is wrong: not STUN (RFC 7983 demux).
    NotStun,
    /// The length is not a multiple of four, or the datagram is longer than the message.
    BadLength,
    /// An attribute runs past the end of the message.
    BadAttributeLength,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "STUN message truncated",
            Error::NotStun => "not a STUN message",
            Error::BadLength => "STUN length does not match the datagram",
            Error::BadAttributeLength => "STUN attribute runs past the message",
        })
    }
}

impl core::error::Error for Error {}

/// Whether `packet` looks like STUN: the top bits clear and the magic cookie in place.
/// Cheap enough for demultiplexing; [`Message::parse`] checks the rest.
#[must_use]
pub fn is_stun(packet: &[u8]) -> bool {
    packet.len() >= HEADER_LEN
        && packet.first().is_some_and(|b| b & 0xc0 == 0)
        && packet.get(4..8) == Some(&MAGIC_COOKIE.to_be_bytes()[..])
}

/// A parsed STUN message: a checked view over the received bytes.
#[derive(Clone, Copy)]
pub struct Message<'a> {
    bytes: &'a [u8],
    class: Class,
    method: Method,
    tid: TransactionId,
    /// End of the attributes that count (later ones are ignored).
    attrs_end: usize,
    integrity: Option<usize>,
    integrity_sha256: Option<usize>,
    fingerprint: Option<usize>,
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("class", &self.class)
            .field("method", &self.method)
            .field("tid", &self.tid)
            .field("attributes", &AttrsDebug(*self))
            .finish()
    }
}

/// Like `Debug`: the header and the attribute types, not their values.
#[cfg(feature = "defmt")]
impl defmt::Format for Message<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Message {{ class: {}, method: {}, tid: {}, attributes: [",
            self.class,
            self.method,
            self.tid
        );
        for (i, (t, _)) in self.raw_attributes().enumerate() {
            if i > 0 {
                defmt::write!(f, ", ");
            }
            defmt::write!(f, "{}", t);
        }
        defmt::write!(f, "] }}");
    }
}

struct AttrsDebug<'a>(Message<'a>);

impl fmt::Debug for AttrsDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.raw_attributes().map(|(t, _)| t))
            .finish()
    }
}

impl<'a> Message<'a> {
    /// Checks `bytes` as one whole STUN message (a UDP datagram) and indexes its attributes.
    pub fn parse(bytes: &'a [u8]) -> Result<Message<'a>, Error> {
        let mut r = Reader::new(bytes);
        let typ = r.u16().map_err(|_| Error::Truncated)?;
        let len = usize::from(r.u16().map_err(|_| Error::Truncated)?);
        let cookie = r.u32().map_err(|_| Error::Truncated)?;
        let tid = TransactionId(r.take_array::<12>().map_err(|_| Error::Truncated)?);
        if typ & 0xc000 != 0 || cookie != MAGIC_COOKIE {
            return Err(Error::NotStun);
        }
        if !len.is_multiple_of(4) {
            return Err(Error::BadLength);
        }
        let mut body = r.sub(len).map_err(|_| Error::Truncated)?;
        if !r.is_empty() {
            return Err(Error::BadLength);
        }
        let class = Class::from_bits(((typ >> 4) & 1) | ((typ >> 7) & 2));
        let method = Method((typ & 0x000f) | ((typ & 0x00e0) >> 1) | ((typ & 0x3e00) >> 2));
        let mut msg = Message {
            bytes,
            class,
            method,
            tid,
            attrs_end: HEADER_LEN,
            integrity: None,
            integrity_sha256: None,
            fingerprint: None,
        };
        // `ignoring` is set once an attribute that closes the message (integrity or
        // fingerprint) has been seen; later attributes are still length-checked.
        let mut ignoring = false;
        while !body.is_empty() {
            let at = HEADER_LEN + body.position();
            let t = AttrType(body.u16().map_err(|_| Error::BadAttributeLength)?);
            let l = usize::from(body.u16().map_err(|_| Error::BadAttributeLength)?);
            body.skip(padded(l))
                .map_err(|_| Error::BadAttributeLength)?;
            let end = HEADER_LEN + body.position();
            if ignoring && msg.fingerprint.is_some() {
                continue;
            }
            match t {
                AttrType::MESSAGE_INTEGRITY
                    if msg.integrity.is_none() && msg.integrity_sha256.is_none() =>
                {
                    msg.integrity = Some(at);
                }
                AttrType::MESSAGE_INTEGRITY_SHA256 if msg.integrity_sha256.is_none() => {
                    msg.integrity_sha256 = Some(at);
                }
                AttrType::FINGERPRINT => msg.fingerprint = Some(at),
                _ if ignoring => continue,
                _ => {}
            }
            ignoring = msg.integrity.is_some()
                || msg.integrity_sha256.is_some()
                || msg.fingerprint.is_some();
            msg.attrs_end = end;
        }
        Ok(msg)
    }

    /// The class.
    #[must_use]
    pub fn class(&self) -> Class {
        self.class
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> Method {
        self.method
    }

    /// The transaction id.
    #[must_use]
    pub fn transaction_id(&self) -> TransactionId {
        self.tid
    }

    /// The whole message.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Every attribute that counts, raw: type and value (without padding).
    pub fn raw_attributes(&self) -> impl Iterator<Item = (AttrType, &'a [u8])> + 'a {
        let mut r = Reader::new(
            self.bytes
                .get(HEADER_LEN..self.attrs_end)
                .unwrap_or_default(),
        );
        // 0: normal; 1: after MESSAGE-INTEGRITY; 2: after MESSAGE-INTEGRITY-SHA256.
        let mut closing = 0u8;
        core::iter::from_fn(move || {
            loop {
                let t = AttrType(r.u16().ok()?);
                let l = usize::from(r.u16().ok()?);
                let v = r.take(l).ok()?;
                r.skip(padded(l) - l).ok()?;
                let counts = match (closing, t) {
                    (_, AttrType::FINGERPRINT) => true,
                    (0, AttrType::MESSAGE_INTEGRITY) => {
                        closing = 1;
                        true
                    }
                    (0 | 1, AttrType::MESSAGE_INTEGRITY_SHA256) => {
                        closing = 2;
                        true
                    }
                    (0, _) => true,
                    _ => false,
                };
                if counts {
                    return Some((t, v));
                }
            }
        })
    }

    /// Every attribute that counts, decoded (`Err` for a malformed value of a known type).
    pub fn attributes(
        &self,
    ) -> impl Iterator<Item = Result<Attribute<'a>, crate::attr::BadAttribute>> + 'a {
        let tid = self.tid;
        self.raw_attributes()
            .map(move |(t, v)| Attribute::decode(t, v, &tid))
    }

    /// The value of the first attribute of type `t`.
    #[must_use]
    pub fn get(&self, t: AttrType) -> Option<&'a [u8]> {
        self.raw_attributes()
            .find(|(typ, _)| *typ == t)
            .map(|(_, v)| v)
    }

    /// The first attribute of type `t`, decoded; `None` if absent or malformed.
    #[must_use]
    pub fn get_decoded(&self, t: AttrType) -> Option<Attribute<'a>> {
        self.get(t)
            .and_then(|v| Attribute::decode(t, v, &self.tid).ok())
    }

    /// Comprehension-required attribute types this crate does not know: a request with any
    /// must be answered with 420 listing them (RFC 8489 §6.3.1); a response with any is a
    /// failed transaction.
    pub fn unknown_required(&self) -> impl Iterator<Item = AttrType> + 'a {
        self.raw_attributes()
            .map(|(t, _)| t)
            .filter(|t| t.is_comprehension_required() && !t.is_known())
    }

    /// XOR-MAPPED-ADDRESS.
    #[must_use]
    pub fn xor_mapped_address(&self) -> Option<SocketAddr> {
        match self.get_decoded(AttrType::XOR_MAPPED_ADDRESS)? {
            Attribute::XorMappedAddress(a) => Some(a),
            _ => None,
        }
    }

    /// MAPPED-ADDRESS (only old servers send it alone).
    #[must_use]
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        match self.get_decoded(AttrType::MAPPED_ADDRESS)? {
            Attribute::MappedAddress(a) => Some(a),
            _ => None,
        }
    }

    /// USERNAME.
    #[must_use]
    pub fn username(&self) -> Option<&'a str> {
        match self.get_decoded(AttrType::USERNAME)? {
            Attribute::Username(s) => Some(s),
            _ => None,
        }
    }

    /// REALM.
    #[must_use]
    pub fn realm(&self) -> Option<&'a str> {
        match self.get_decoded(AttrType::REALM)? {
            Attribute::Realm(s) => Some(s),
            _ => None,
        }
    }

    /// NONCE.
    #[must_use]
    pub fn nonce(&self) -> Option<&'a str> {
        match self.get_decoded(AttrType::NONCE)? {
            Attribute::Nonce(s) => Some(s),
            _ => None,
        }
    }

    /// SOFTWARE.
    #[must_use]
    pub fn software(&self) -> Option<&'a str> {
        match self.get_decoded(AttrType::SOFTWARE)? {
            Attribute::Software(s) => Some(s),
            _ => None,
        }
    }

    /// ERROR-CODE.
    #[must_use]
    pub fn error_code(&self) -> Option<ErrorCode<'a>> {
        match self.get_decoded(AttrType::ERROR_CODE)? {
            Attribute::ErrorCode(e) => Some(e),
            _ => None,
        }
    }

    /// UNKNOWN-ATTRIBUTES.
    #[must_use]
    pub fn unknown_attributes(&self) -> Option<AttrList<'a>> {
        match self.get_decoded(AttrType::UNKNOWN_ATTRIBUTES)? {
            Attribute::UnknownAttributes(l) => Some(l),
            _ => None,
        }
    }

    /// PRIORITY.
    #[must_use]
    pub fn priority(&self) -> Option<u32> {
        match self.get_decoded(AttrType::PRIORITY)? {
            Attribute::Priority(p) => Some(p),
            _ => None,
        }
    }

    /// Whether USE-CANDIDATE is present.
    #[must_use]
    pub fn use_candidate(&self) -> bool {
        self.get(AttrType::USE_CANDIDATE).is_some()
    }

    /// ICE-CONTROLLING's tie-breaker.
    #[must_use]
    pub fn ice_controlling(&self) -> Option<u64> {
        match self.get_decoded(AttrType::ICE_CONTROLLING)? {
            Attribute::IceControlling(t) => Some(t),
            _ => None,
        }
    }

    /// ICE-CONTROLLED's tie-breaker.
    #[must_use]
    pub fn ice_controlled(&self) -> Option<u64> {
        match self.get_decoded(AttrType::ICE_CONTROLLED)? {
            Attribute::IceControlled(t) => Some(t),
            _ => None,
        }
    }

    /// XOR-RELAYED-ADDRESS.
    #[must_use]
    pub fn xor_relayed_address(&self) -> Option<SocketAddr> {
        match self.get_decoded(AttrType::XOR_RELAYED_ADDRESS)? {
            Attribute::XorRelayedAddress(a) => Some(a),
            _ => None,
        }
    }

    /// Every XOR-RELAYED-ADDRESS (a dual allocation's response carries an IPv4 and an IPv6
    /// one, RFC 8656 §7.1).
    pub fn xor_relayed_addresses(&self) -> impl Iterator<Item = SocketAddr> + 'a {
        self.attributes().filter_map(|a| match a {
            Ok(Attribute::XorRelayedAddress(a)) => Some(a),
            _ => None,
        })
    }

    /// Every XOR-PEER-ADDRESS (a CreatePermission may carry several).
    pub fn xor_peer_addresses(&self) -> impl Iterator<Item = SocketAddr> + 'a {
        self.attributes().filter_map(|a| match a {
            Ok(Attribute::XorPeerAddress(a)) => Some(a),
            _ => None,
        })
    }

    /// LIFETIME in seconds.
    #[must_use]
    pub fn lifetime(&self) -> Option<u32> {
        match self.get_decoded(AttrType::LIFETIME)? {
            Attribute::Lifetime(l) => Some(l),
            _ => None,
        }
    }

    /// DATA.
    #[must_use]
    pub fn data(&self) -> Option<&'a [u8]> {
        self.get(AttrType::DATA)
    }

    /// CHANNEL-NUMBER.
    #[must_use]
    pub fn channel_number(&self) -> Option<u16> {
        match self.get_decoded(AttrType::CHANNEL_NUMBER)? {
            Attribute::ChannelNumber(c) => Some(c),
            _ => None,
        }
    }

    /// Whether MESSAGE-INTEGRITY is present.
    #[must_use]
    pub fn has_integrity(&self) -> bool {
        self.integrity.is_some()
    }

    /// Whether MESSAGE-INTEGRITY-SHA256 is present.
    #[must_use]
    pub fn has_integrity_sha256(&self) -> bool {
        self.integrity_sha256.is_some()
    }

    /// Whether FINGERPRINT is present.
    #[must_use]
    pub fn has_fingerprint(&self) -> bool {
        self.fingerprint.is_some()
    }

    /// The header with its length field counting up to `end`, as the checksum of the attribute
    /// ending there covers it.
    fn header_for(&self, end: usize) -> [u8; HEADER_LEN] {
        let mut header = [0u8; HEADER_LEN];
        header.copy_from_slice(self.bytes.get(..HEADER_LEN).unwrap_or(&[0; HEADER_LEN]));
        let len = u16::try_from(end - HEADER_LEN).unwrap_or(u16::MAX);
        header[2..4].copy_from_slice(&len.to_be_bytes());
        header
    }

    /// Checks MESSAGE-INTEGRITY (HMAC-SHA1) with `key` in constant time. `false` if absent.
    #[must_use]
    pub fn verify_integrity(&self, key: &[u8]) -> bool {
        let Some(at) = self.integrity else {
            return false;
        };
        let (Some(body), Some(mac)) = (
            self.bytes.get(HEADER_LEN..at),
            self.bytes.get(at + 4..at + 24),
        ) else {
            return false;
        };
        let expected = hmac_sha1(key, &self.header_for(at + 24), body);
        ct_eq(&expected, mac)
    }

    /// Checks MESSAGE-INTEGRITY-SHA256 with `key` in constant time. `false` if absent.
    #[must_use]
    pub fn verify_integrity_sha256(&self, key: &[u8]) -> bool {
        let Some(at) = self.integrity_sha256 else {
            return false;
        };
        let Some(len) = self
            .bytes
            .get(at + 2..at + 4)
            .and_then(|l| l.first_chunk::<2>())
            .map(|l| usize::from(u16::from_be_bytes(*l)))
        else {
            return false;
        };
        if !(16..=32).contains(&len) || !len.is_multiple_of(4) {
            return false;
        }
        let (Some(body), Some(mac)) = (
            self.bytes.get(HEADER_LEN..at),
            self.bytes.get(at + 4..at + 4 + len),
        ) else {
            return false;
        };
        let expected = hmac_sha256(key, &self.header_for(at + 4 + len), body);
        ct_eq(expected.get(..len).unwrap_or_default(), mac)
    }

    /// `Some(valid)` if FINGERPRINT is present.
    #[must_use]
    pub fn check_fingerprint(&self) -> Option<bool> {
        let at = self.fingerprint?;
        let body = self.bytes.get(HEADER_LEN..at)?;
        let value = self.bytes.get(at + 4..at + 8)?;
        let expected = fingerprint(&self.header_for(at + 8), body);
        Some(expected.to_be_bytes() == value)
    }
}

/// Why a [`Builder`] could not emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum EmitError {
    /// The buffer is too small.
    BufferTooSmall(BufferTooSmall),
    /// More attributes were added than the builder holds.
    TooManyAttributes,
    /// The message would exceed the 16-bit length field.
    TooLong,
}

impl From<BufferTooSmall> for EmitError {
    fn from(e: BufferTooSmall) -> Self {
        EmitError::BufferTooSmall(e)
    }
}

impl fmt::Display for EmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EmitError::BufferTooSmall(e) => e.fmt(f),
            EmitError::TooManyAttributes => f.write_str("too many STUN attributes for the builder"),
            EmitError::TooLong => f.write_str("STUN message longer than 65535 bytes"),
        }
    }
}

impl core::error::Error for EmitError {}

/// Collects attributes for one message and emits it into a caller's buffer, computing
/// MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and FINGERPRINT last, in that order.
///
/// Holds up to `N` attributes besides those three, on the stack.
///
/// ```
/// use peerless_stun::{Class, Message, Method, TransactionId};
/// let mut buf = [0u8; 128];
/// let n = Message::builder(Class::Request, Method::BINDING, TransactionId([7; 12]))
///     .username("remote:local")
///     .priority(1_853_824_767)
///     .ice_controlling(42)
///     .integrity_sha1(b"a password of the peer")
///     .fingerprint()
///     .emit(&mut buf)?;
/// let msg = Message::parse(&buf[..n])?;
/// assert_eq!(msg.username(), Some("remote:local"));
/// assert!(msg.verify_integrity(b"a password of the peer"));
/// assert_eq!(msg.check_fingerprint(), Some(true));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder<'a, const N: usize = 16> {
    class: Class,
    method: Method,
    tid: TransactionId,
    attrs: [Option<Attribute<'a>>; N],
    count: usize,
    overflow: bool,
    integrity: Option<&'a [u8]>,
    integrity_sha256: Option<(&'a [u8], usize)>,
    fingerprint: bool,
    padding: u8,
}

/// The header and the attributes so far; never the integrity keys.
#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for Builder<'_, N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Builder {{ class: {}, method: {}, tid: {}, attributes: {=usize}, integrity: {=bool}, \
             fingerprint: {=bool} }}",
            self.class,
            self.method,
            self.tid,
            self.count,
            self.integrity.is_some() || self.integrity_sha256.is_some(),
            self.fingerprint
        );
    }
}

impl Message<'_> {
    /// A builder for a message of `class` and `method` with transaction id `tid`.
    #[must_use]
    pub fn builder<'a>(class: Class, method: Method, tid: TransactionId) -> Builder<'a> {
        Builder::new(class, method, tid)
    }
}

impl<'a, const N: usize> Builder<'a, N> {
    /// An empty message.
    #[must_use]
    pub fn new(class: Class, method: Method, tid: TransactionId) -> Self {
        Builder {
            class,
            method,
            tid,
            attrs: [None; N],
            count: 0,
            overflow: false,
            integrity: None,
            integrity_sha256: None,
            fingerprint: false,
            padding: 0,
        }
    }

    /// Appends any attribute.
    #[must_use]
    pub fn attr(mut self, attr: Attribute<'a>) -> Self {
        match self.attrs.get_mut(self.count) {
            Some(slot) => {
                *slot = Some(attr);
                self.count += 1;
            }
            None => self.overflow = true,
        }
        self
    }

    /// The byte used to pad variable-length values (0 unless set; receivers ignore it, and
    /// RFC 5769's vectors use spaces).
    #[must_use]
    pub fn padding(mut self, byte: u8) -> Self {
        self.padding = byte;
        self
    }

    /// USERNAME.
    #[must_use]
    pub fn username(self, username: &'a str) -> Self {
        self.attr(Attribute::Username(username))
    }

    /// SOFTWARE.
    #[must_use]
    pub fn software(self, software: &'a str) -> Self {
        self.attr(Attribute::Software(software))
    }

    /// PRIORITY.
    #[must_use]
    pub fn priority(self, priority: u32) -> Self {
        self.attr(Attribute::Priority(priority))
    }

    /// USE-CANDIDATE.
    #[must_use]
    pub fn use_candidate(self) -> Self {
        self.attr(Attribute::UseCandidate)
    }

    /// ICE-CONTROLLING with our tie-breaker.
    #[must_use]
    pub fn ice_controlling(self, tie_breaker: u64) -> Self {
        self.attr(Attribute::IceControlling(tie_breaker))
    }

    /// ICE-CONTROLLED with our tie-breaker.
    #[must_use]
    pub fn ice_controlled(self, tie_breaker: u64) -> Self {
        self.attr(Attribute::IceControlled(tie_breaker))
    }

    /// XOR-MAPPED-ADDRESS.
    #[must_use]
    pub fn xor_mapped_address(self, addr: SocketAddr) -> Self {
        self.attr(Attribute::XorMappedAddress(addr))
    }

    /// ERROR-CODE.
    #[must_use]
    pub fn error_code(self, code: u16, reason: &'a str) -> Self {
        self.attr(Attribute::ErrorCode(ErrorCode { code, reason }))
    }

    /// UNKNOWN-ATTRIBUTES listing `types`.
    #[must_use]
    pub fn unknown_attributes(self, types: &'a [AttrType]) -> Self {
        self.attr(Attribute::UnknownAttributes(AttrList::Types(types)))
    }

    /// REALM.
    #[must_use]
    pub fn realm(self, realm: &'a str) -> Self {
        self.attr(Attribute::Realm(realm))
    }

    /// NONCE.
    #[must_use]
    pub fn nonce(self, nonce: &'a str) -> Self {
        self.attr(Attribute::Nonce(nonce))
    }

    /// MESSAGE-INTEGRITY (HMAC-SHA1) with `key`: the password for short-term credentials, the
    /// [`long_term_key_md5`](crate::long_term_key_md5) for long-term ones.
    #[must_use]
    pub fn integrity_sha1(mut self, key: &'a [u8]) -> Self {
        self.integrity = Some(key);
        self
    }

    /// MESSAGE-INTEGRITY-SHA256 with `key`, truncated to `len` bytes (16 to 32, a multiple of
    /// four; other values are rounded into that range).
    #[must_use]
    pub fn integrity_sha256(mut self, key: &'a [u8], len: usize) -> Self {
        let len = len.clamp(16, 32) & !3;
        self.integrity_sha256 = Some((key, len));
        self
    }

    /// FINGERPRINT, last.
    #[must_use]
    pub fn fingerprint(mut self) -> Self {
        self.fingerprint = true;
        self
    }

    /// Writes the message into `buf` and returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, EmitError> {
        if self.overflow {
            return Err(EmitError::TooManyAttributes);
        }
        let mut w = Writer::new(buf);
        w.u16(message_type(self.class, self.method));
        w.u16(0);
        w.u32(MAGIC_COOKIE);
        w.bytes(&self.tid.0);
        for attr in self.attrs.iter().flatten() {
            attr.emit(&mut w, &self.tid, self.padding);
        }
        let set_len = |w: &mut Writer<'_>, end: usize| -> Result<(), EmitError> {
            let len = u16::try_from(end - HEADER_LEN).map_err(|_| EmitError::TooLong)?;
            w.patch_u16(2, len);
            Ok(())
        };
        if let Some(key) = self.integrity {
            let at = w.position();
            set_len(&mut w, at + 24)?;
            let mac = split_mac(&w, |header, body| hmac_sha1(key, header, body));
            w.u16(AttrType::MESSAGE_INTEGRITY.0);
            w.u16(20);
            w.bytes(&mac);
        }
        if let Some((key, len)) = self.integrity_sha256 {
            let at = w.position();
            set_len(&mut w, at + 4 + len)?;
            let mac = split_mac(&w, |header, body| hmac_sha256(key, header, body));
            w.u16(AttrType::MESSAGE_INTEGRITY_SHA256.0);
            w.u16(len as u16);
            w.bytes(mac.get(..len).unwrap_or_default());
        }
        if self.fingerprint {
            let at = w.position();
            set_len(&mut w, at + 8)?;
            let crc = split_mac(&w, fingerprint);
            w.u16(AttrType::FINGERPRINT.0);
            w.u16(4);
            w.u32(crc);
        }
        let end = w.position();
        set_len(&mut w, end)?;
        Ok(w.finish()?)
    }
}

/// Runs a checksum over what the writer holds, split into header and body. When the writer
/// has overflowed the value does not matter: `finish` reports the size needed.
fn split_mac<T>(w: &Writer<'_>, f: impl FnOnce(&[u8], &[u8]) -> T) -> T {
    let written = w.written();
    let (header, body) = written.split_at(HEADER_LEN.min(written.len()));
    f(header, body)
}
