//! Attribute codepoints and typed attribute values (RFC 8489 §14, RFC 8656 §18, RFC 8445 §16).
//!
//! ```text
//!   0                   1                   2                   3
//!   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |         Type (AttrType)       |            Length             |
//!  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!  |                Value (Length bytes, padded to 4)          ....
//! ```
//!
//! [`Attribute`] is both what the parser hands out and what the builder emits, so
//! `parse(emit(attrs)) == attrs` is one equality.

use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use peerless_base::{Reader, Writer};

use crate::{MAGIC_COOKIE, TransactionId};

/// A STUN attribute type. Unknown values are kept as they are, so they round-trip.
///
/// Types below `0x8000` are comprehension-required: a receiver that does not know one must
/// reject the message (a request gets a 420 response listing it). Types from `0x8000` up are
/// comprehension-optional and skipped when unknown.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AttrType(pub u16);

impl AttrType {
    /// MAPPED-ADDRESS (RFC 8489 §14.1).
    pub const MAPPED_ADDRESS: AttrType = AttrType(0x0001);
    /// USERNAME (RFC 8489 §14.3).
    pub const USERNAME: AttrType = AttrType(0x0006);
    /// MESSAGE-INTEGRITY: HMAC-SHA1 (RFC 8489 §14.5).
    pub const MESSAGE_INTEGRITY: AttrType = AttrType(0x0008);
    /// ERROR-CODE (RFC 8489 §14.8).
    pub const ERROR_CODE: AttrType = AttrType(0x0009);
    /// UNKNOWN-ATTRIBUTES (RFC 8489 §14.13).
    pub const UNKNOWN_ATTRIBUTES: AttrType = AttrType(0x000A);
    /// CHANNEL-NUMBER (RFC 8656 §18.1).
    pub const CHANNEL_NUMBER: AttrType = AttrType(0x000C);
    /// LIFETIME (RFC 8656 §18.2).
    pub const LIFETIME: AttrType = AttrType(0x000D);
    /// XOR-PEER-ADDRESS (RFC 8656 §18.3).
    pub const XOR_PEER_ADDRESS: AttrType = AttrType(0x0012);
    /// DATA (RFC 8656 §18.4).
    pub const DATA: AttrType = AttrType(0x0013);
    /// REALM (RFC 8489 §14.9).
    pub const REALM: AttrType = AttrType(0x0014);
    /// NONCE (RFC 8489 §14.10).
    pub const NONCE: AttrType = AttrType(0x0015);
    /// XOR-RELAYED-ADDRESS (RFC 8656 §18.5).
    pub const XOR_RELAYED_ADDRESS: AttrType = AttrType(0x0016);
    /// REQUESTED-ADDRESS-FAMILY (RFC 8656 §18.6).
    pub const REQUESTED_ADDRESS_FAMILY: AttrType = AttrType(0x0017);
    /// EVEN-PORT (RFC 8656 §18.7).
    pub const EVEN_PORT: AttrType = AttrType(0x0018);
    /// REQUESTED-TRANSPORT (RFC 8656 §18.8).
    pub const REQUESTED_TRANSPORT: AttrType = AttrType(0x0019);
    /// DONT-FRAGMENT (RFC 8656 §18.9).
    pub const DONT_FRAGMENT: AttrType = AttrType(0x001A);
    /// MESSAGE-INTEGRITY-SHA256 (RFC 8489 §14.6).
    pub const MESSAGE_INTEGRITY_SHA256: AttrType = AttrType(0x001C);
    /// PASSWORD-ALGORITHM (RFC 8489 §14.12).
    pub const PASSWORD_ALGORITHM: AttrType = AttrType(0x001D);
    /// USERHASH (RFC 8489 §14.4).
    pub const USERHASH: AttrType = AttrType(0x001E);
    /// XOR-MAPPED-ADDRESS (RFC 8489 §14.2).
    pub const XOR_MAPPED_ADDRESS: AttrType = AttrType(0x0020);
    /// RESERVATION-TOKEN (RFC 8656 §18.10).
    pub const RESERVATION_TOKEN: AttrType = AttrType(0x0022);
    /// PRIORITY (RFC 8445 §16.1).
    pub const PRIORITY: AttrType = AttrType(0x0024);
    /// USE-CANDIDATE (RFC 8445 §16.1).
    pub const USE_CANDIDATE: AttrType = AttrType(0x0025);
    /// ADDITIONAL-ADDRESS-FAMILY (RFC 8656 §18.11).
    pub const ADDITIONAL_ADDRESS_FAMILY: AttrType = AttrType(0x8000);
    /// PASSWORD-ALGORITHMS (RFC 8489 §14.11).
    pub const PASSWORD_ALGORITHMS: AttrType = AttrType(0x8002);
    /// SOFTWARE (RFC 8489 §14.14).
    pub const SOFTWARE: AttrType = AttrType(0x8022);
    /// ALTERNATE-SERVER (RFC 8489 §14.15).
    pub const ALTERNATE_SERVER: AttrType = AttrType(0x8023);
    /// FINGERPRINT (RFC 8489 §14.7).
    pub const FINGERPRINT: AttrType = AttrType(0x8028);
    /// ICE-CONTROLLED (RFC 8445 §16.1).
    pub const ICE_CONTROLLED: AttrType = AttrType(0x8029);
    /// ICE-CONTROLLING (RFC 8445 §16.1).
    pub const ICE_CONTROLLING: AttrType = AttrType(0x802A);

    /// Whether a receiver that does not know this type must reject the message.
    #[must_use]
    pub const fn is_comprehension_required(self) -> bool {
        self.0 < 0x8000
    }

    /// Whether this crate understands the type (an unknown comprehension-required type makes a
    /// request fail with 420).
    #[must_use]
    pub const fn is_known(self) -> bool {
        matches!(
            self.0,
            0x0001
                | 0x0006
                | 0x0008
                | 0x0009
                | 0x000A
                | 0x000C
                | 0x000D
                | 0x0012
                | 0x0013
                | 0x0014
                | 0x0015
                | 0x0016
                | 0x0017
                | 0x0018
                | 0x0019
                | 0x001A
                | 0x001C
                | 0x001D
                | 0x001E
                | 0x0020
                | 0x0022
                | 0x0024
                | 0x0025
                | 0x8000
                | 0x8002
                | 0x8022
                | 0x8023
                | 0x8028
                | 0x8029
                | 0x802A
        )
    }

    /// The registered name, if this crate knows the type.
    #[must_use]
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0001 => "MAPPED-ADDRESS",
            0x0006 => "USERNAME",
            0x0008 => "MESSAGE-INTEGRITY",
            0x0009 => "ERROR-CODE",
            0x000A => "UNKNOWN-ATTRIBUTES",
            0x000C => "CHANNEL-NUMBER",
            0x000D => "LIFETIME",
            0x0012 => "XOR-PEER-ADDRESS",
            0x0013 => "DATA",
            0x0014 => "REALM",
            0x0015 => "NONCE",
            0x0016 => "XOR-RELAYED-ADDRESS",
            0x0017 => "REQUESTED-ADDRESS-FAMILY",
            0x0018 => "EVEN-PORT",
            0x0019 => "REQUESTED-TRANSPORT",
            0x001A => "DONT-FRAGMENT",
            0x001C => "MESSAGE-INTEGRITY-SHA256",
            0x001D => "PASSWORD-ALGORITHM",
            0x001E => "USERHASH",
            0x0020 => "XOR-MAPPED-ADDRESS",
            0x0022 => "RESERVATION-TOKEN",
            0x0024 => "PRIORITY",
            0x0025 => "USE-CANDIDATE",
            0x8000 => "ADDITIONAL-ADDRESS-FAMILY",
            0x8002 => "PASSWORD-ALGORITHMS",
            0x8022 => "SOFTWARE",
            0x8023 => "ALTERNATE-SERVER",
            0x8028 => "FINGERPRINT",
            0x8029 => "ICE-CONTROLLED",
            0x802A => "ICE-CONTROLLING",
            _ => return None,
        })
    }
}

impl fmt::Debug for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "AttrType({:#06x})", self.0),
        }
    }
}

/// An address family as TURN names it (REQUESTED-ADDRESS-FAMILY, ADDITIONAL-ADDRESS-FAMILY).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct AddressFamily(pub u8);

impl AddressFamily {
    /// IPv4.
    pub const IPV4: AddressFamily = AddressFamily(0x01);
    /// IPv6.
    pub const IPV6: AddressFamily = AddressFamily(0x02);
}

/// A password algorithm (RFC 8489 §18.5): the codepoint and its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PasswordAlgorithm<'a> {
    /// The algorithm: [`PasswordAlgorithm::MD5`] or [`PasswordAlgorithm::SHA256`].
    pub algorithm: u16,
    /// Its parameters (empty for both registered algorithms).
    pub params: &'a [u8],
}

impl PasswordAlgorithm<'_> {
    /// MD5 (the RFC 5389 long-term key).
    pub const MD5: u16 = 0x0001;
    /// SHA-256.
    pub const SHA256: u16 = 0x0002;
}

/// ERROR-CODE: a code from 300 to 699 and a reason phrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ErrorCode<'a> {
    /// The code (`class * 100 + number`).
    pub code: u16,
    /// The reason phrase (UTF-8, at most 127 characters).
    pub reason: &'a str,
}

impl ErrorCode<'_> {
    /// 300 Try Alternate.
    pub const TRY_ALTERNATE: u16 = 300;
    /// 400 Bad Request.
    pub const BAD_REQUEST: u16 = 400;
    /// 401 Unauthenticated.
    pub const UNAUTHENTICATED: u16 = 401;
    /// 420 Unknown Attribute.
    pub const UNKNOWN_ATTRIBUTE: u16 = 420;
    /// 438 Stale Nonce.
    pub const STALE_NONCE: u16 = 438;
    /// 487 Role Conflict (RFC 8445).
    pub const ROLE_CONFLICT: u16 = 487;
    /// 500 Server Error.
    pub const SERVER_ERROR: u16 = 500;
}

/// A list of 16-bit values on the wire (UNKNOWN-ATTRIBUTES) or a slice to emit.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AttrList<'a> {
    /// Received: big-endian pairs of bytes.
    Wire(&'a [u8]),
    /// To send.
    Types(&'a [AttrType]),
}

impl<'a> AttrList<'a> {
    /// The types in order.
    pub fn iter(&self) -> impl Iterator<Item = AttrType> + 'a {
        let (wire, types): (&'a [u8], &'a [AttrType]) = match *self {
            AttrList::Wire(w) => (w, &[]),
            AttrList::Types(t) => (&[], t),
        };
        wire.chunks_exact(2)
            .filter_map(|c| c.first_chunk::<2>())
            .map(|c| AttrType(u16::from_be_bytes(*c)))
            .chain(types.iter().copied())
    }

    fn wire_len(&self) -> usize {
        match self {
            AttrList::Wire(w) => w.len() & !1,
            AttrList::Types(t) => t.len() * 2,
        }
    }
}

impl PartialEq for AttrList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for AttrList<'_> {}

impl fmt::Debug for AttrList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// PASSWORD-ALGORITHMS: a list of algorithms with parameters, on the wire or to send.
#[derive(Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AlgorithmList<'a> {
    /// Received: the attribute value.
    Wire(&'a [u8]),
    /// To send.
    Algorithms(&'a [PasswordAlgorithm<'a>]),
}

impl<'a> AlgorithmList<'a> {
    /// The algorithms in order (a malformed tail ends the list).
    pub fn iter(&self) -> impl Iterator<Item = PasswordAlgorithm<'a>> + 'a {
        let (mut reader, algs): (Reader<'a>, &'a [PasswordAlgorithm<'a>]) = match *self {
            AlgorithmList::Wire(w) => (Reader::new(w), &[]),
            AlgorithmList::Algorithms(a) => (Reader::new(&[]), a),
        };
        core::iter::from_fn(move || read_algorithm(&mut reader)).chain(algs.iter().copied())
    }

    fn wire_len(&self) -> usize {
        self.iter().map(|a| 4 + padded(a.params.len())).sum()
    }
}

impl PartialEq for AlgorithmList<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for AlgorithmList<'_> {}

impl fmt::Debug for AlgorithmList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

fn read_algorithm<'a>(r: &mut Reader<'a>) -> Option<PasswordAlgorithm<'a>> {
    let algorithm = r.u16().ok()?;
    let len = usize::from(r.u16().ok()?);
    let params = r.take(len).ok()?;
    r.skip(padded(len) - len).ok()?;
    Some(PasswordAlgorithm { algorithm, params })
}

/// One STUN attribute, decoded. What [`crate::Message::attributes`] yields and what the
/// [`crate::Builder`] emits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[allow(missing_docs)] // each variant is the attribute of the same name (see AttrType)
pub enum Attribute<'a> {
    MappedAddress(SocketAddr),
    XorMappedAddress(SocketAddr),
    Username(&'a str),
    /// The 20-byte HMAC-SHA1 (emit it through the builder's `integrity_sha1` instead).
    MessageIntegrity(&'a [u8]),
    /// The 16 to 32-byte truncated HMAC-SHA256 (emit through `integrity_sha256`).
    MessageIntegritySha256(&'a [u8]),
    /// The CRC-32 value (emit through the builder's `fingerprint`).
    Fingerprint(u32),
    ErrorCode(ErrorCode<'a>),
    UnknownAttributes(AttrList<'a>),
    Realm(&'a str),
    Nonce(&'a str),
    PasswordAlgorithm(PasswordAlgorithm<'a>),
    PasswordAlgorithms(AlgorithmList<'a>),
    /// 32 bytes.
    Userhash(&'a [u8]),
    Software(&'a str),
    AlternateServer(SocketAddr),
    Priority(u32),
    UseCandidate,
    IceControlled(u64),
    IceControlling(u64),
    ChannelNumber(u16),
    /// Seconds.
    Lifetime(u32),
    XorPeerAddress(SocketAddr),
    Data(&'a [u8]),
    XorRelayedAddress(SocketAddr),
    RequestedAddressFamily(AddressFamily),
    /// The R bit: reserve the next-higher port too.
    EvenPort(bool),
    /// An IP protocol number (17: UDP).
    RequestedTransport(u8),
    DontFragment,
    ReservationToken([u8; 8]),
    AdditionalAddressFamily(AddressFamily),
    /// Any other type, raw.
    Other {
        typ: AttrType,
        value: &'a [u8],
    },
}

/// Why an attribute value could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct BadAttribute(pub AttrType);

impl core::fmt::Display for BadAttribute {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "malformed STUN attribute {:#06x}", (self.0).0)
    }
}

impl core::error::Error for BadAttribute {}

impl<'a> Attribute<'a> {
    /// The attribute's type.
    #[must_use]
    pub fn typ(&self) -> AttrType {
        match self {
            Attribute::MappedAddress(_) => AttrType::MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => AttrType::XOR_MAPPED_ADDRESS,
            Attribute::Username(_) => AttrType::USERNAME,
            Attribute::MessageIntegrity(_) => AttrType::MESSAGE_INTEGRITY,
            Attribute::MessageIntegritySha256(_) => AttrType::MESSAGE_INTEGRITY_SHA256,
            Attribute::Fingerprint(_) => AttrType::FINGERPRINT,
            Attribute::ErrorCode(_) => AttrType::ERROR_CODE,
            Attribute::UnknownAttributes(_) => AttrType::UNKNOWN_ATTRIBUTES,
            Attribute::Realm(_) => AttrType::REALM,
            Attribute::Nonce(_) => AttrType::NONCE,
            Attribute::PasswordAlgorithm(_) => AttrType::PASSWORD_ALGORITHM,
            Attribute::PasswordAlgorithms(_) => AttrType::PASSWORD_ALGORITHMS,
            Attribute::Userhash(_) => AttrType::USERHASH,
            Attribute::Software(_) => AttrType::SOFTWARE,
            Attribute::AlternateServer(_) => AttrType::ALTERNATE_SERVER,
            Attribute::Priority(_) => AttrType::PRIORITY,
            Attribute::UseCandidate => AttrType::USE_CANDIDATE,
            Attribute::IceControlled(_) => AttrType::ICE_CONTROLLED,
            Attribute::IceControlling(_) => AttrType::ICE_CONTROLLING,
            Attribute::ChannelNumber(_) => AttrType::CHANNEL_NUMBER,
            Attribute::Lifetime(_) => AttrType::LIFETIME,
            Attribute::XorPeerAddress(_) => AttrType::XOR_PEER_ADDRESS,
            Attribute::Data(_) => AttrType::DATA,
            Attribute::XorRelayedAddress(_) => AttrType::XOR_RELAYED_ADDRESS,
            Attribute::RequestedAddressFamily(_) => AttrType::REQUESTED_ADDRESS_FAMILY,
            Attribute::EvenPort(_) => AttrType::EVEN_PORT,
            Attribute::RequestedTransport(_) => AttrType::REQUESTED_TRANSPORT,
            Attribute::DontFragment => AttrType::DONT_FRAGMENT,
            Attribute::ReservationToken(_) => AttrType::RESERVATION_TOKEN,
            Attribute::AdditionalAddressFamily(_) => AttrType::ADDITIONAL_ADDRESS_FAMILY,
            Attribute::Other { typ, .. } => *typ,
        }
    }

    /// Decodes a value of type `typ`; XOR addresses need the message's transaction id.
    pub fn decode(
        typ: AttrType,
        value: &'a [u8],
        tid: &TransactionId,
    ) -> Result<Self, BadAttribute> {
        let bad = BadAttribute(typ);
        let mut r = Reader::new(value);
        let attr = match typ {
            AttrType::MAPPED_ADDRESS => {
                Attribute::MappedAddress(read_address(value, None).ok_or(bad)?)
            }
            AttrType::XOR_MAPPED_ADDRESS => {
                Attribute::XorMappedAddress(read_address(value, Some(tid)).ok_or(bad)?)
            }
            AttrType::XOR_PEER_ADDRESS => {
                Attribute::XorPeerAddress(read_address(value, Some(tid)).ok_or(bad)?)
            }
            AttrType::XOR_RELAYED_ADDRESS => {
                Attribute::XorRelayedAddress(read_address(value, Some(tid)).ok_or(bad)?)
            }
            AttrType::ALTERNATE_SERVER => {
                Attribute::AlternateServer(read_address(value, None).ok_or(bad)?)
            }
            AttrType::USERNAME => Attribute::Username(text(value, 513).ok_or(bad)?),
            AttrType::REALM => Attribute::Realm(text(value, 763).ok_or(bad)?),
            AttrType::NONCE => Attribute::Nonce(text(value, 763).ok_or(bad)?),
            AttrType::SOFTWARE => Attribute::Software(text(value, 763).ok_or(bad)?),
            AttrType::MESSAGE_INTEGRITY if value.len() == 20 => Attribute::MessageIntegrity(value),
            AttrType::MESSAGE_INTEGRITY_SHA256
                if (16..=32).contains(&value.len()) && value.len().is_multiple_of(4) =>
            {
                Attribute::MessageIntegritySha256(value)
            }
            AttrType::FINGERPRINT => Attribute::Fingerprint(exact(r.u32(), r).ok_or(bad)?),
            AttrType::ERROR_CODE => {
                let head = r.u32().map_err(|_| bad)?;
                let class = (head >> 8) & 0x7;
                let number = head & 0xff;
                if !(3..=6).contains(&class) || number > 99 {
                    return Err(bad);
                }
                let reason = text(r.rest(), 763).ok_or(bad)?;
                Attribute::ErrorCode(ErrorCode {
                    code: (class * 100 + number) as u16,
                    reason,
                })
            }
            AttrType::UNKNOWN_ATTRIBUTES if value.len().is_multiple_of(2) => {
                Attribute::UnknownAttributes(AttrList::Wire(value))
            }
            AttrType::PASSWORD_ALGORITHM => {
                let alg = read_algorithm(&mut r).ok_or(bad)?;
                r.finish().map_err(|_| bad)?;
                Attribute::PasswordAlgorithm(alg)
            }
            AttrType::PASSWORD_ALGORITHMS => {
                while !r.is_empty() {
                    read_algorithm(&mut r).ok_or(bad)?;
                }
                Attribute::PasswordAlgorithms(AlgorithmList::Wire(value))
            }
            AttrType::USERHASH if value.len() == 32 => Attribute::Userhash(value),
            AttrType::PRIORITY => Attribute::Priority(exact(r.u32(), r).ok_or(bad)?),
            AttrType::USE_CANDIDATE if value.is_empty() => Attribute::UseCandidate,
            AttrType::ICE_CONTROLLED => Attribute::IceControlled(exact(r.u64(), r).ok_or(bad)?),
            AttrType::ICE_CONTROLLING => Attribute::IceControlling(exact(r.u64(), r).ok_or(bad)?),
            AttrType::CHANNEL_NUMBER => {
                let v = exact(r.u32(), r).ok_or(bad)?;
                Attribute::ChannelNumber((v >> 16) as u16)
            }
            AttrType::LIFETIME => Attribute::Lifetime(exact(r.u32(), r).ok_or(bad)?),
            AttrType::DATA => Attribute::Data(value),
            AttrType::REQUESTED_ADDRESS_FAMILY => Attribute::RequestedAddressFamily(AddressFamily(
                (exact(r.u32(), r).ok_or(bad)? >> 24) as u8,
            )),
            AttrType::ADDITIONAL_ADDRESS_FAMILY => Attribute::AdditionalAddressFamily(
                AddressFamily((exact(r.u32(), r).ok_or(bad)? >> 24) as u8),
            ),
            AttrType::EVEN_PORT if value.len() == 1 => {
                Attribute::EvenPort(value.first().is_some_and(|b| b & 0x80 != 0))
            }
            AttrType::REQUESTED_TRANSPORT => {
                Attribute::RequestedTransport((exact(r.u32(), r).ok_or(bad)? >> 24) as u8)
            }
            AttrType::DONT_FRAGMENT if value.is_empty() => Attribute::DontFragment,
            AttrType::RESERVATION_TOKEN => {
                Attribute::ReservationToken(exact(r.take_array::<8>(), r).ok_or(bad)?)
            }
            t if t.is_known() => return Err(bad),
            typ => Attribute::Other { typ, value },
        };
        Ok(attr)
    }

    /// The length of the value on the wire, before padding.
    #[must_use]
    pub fn value_len(&self) -> usize {
        match self {
            Attribute::MappedAddress(a)
            | Attribute::XorMappedAddress(a)
            | Attribute::AlternateServer(a)
            | Attribute::XorPeerAddress(a)
            | Attribute::XorRelayedAddress(a) => {
                if a.is_ipv4() {
                    8
                } else {
                    20
                }
            }
            Attribute::Username(s)
            | Attribute::Realm(s)
            | Attribute::Nonce(s)
            | Attribute::Software(s) => s.len(),
            Attribute::MessageIntegrity(v)
            | Attribute::MessageIntegritySha256(v)
            | Attribute::Userhash(v)
            | Attribute::Data(v)
            | Attribute::Other { value: v, .. } => v.len(),
            Attribute::ErrorCode(e) => 4 + e.reason.len(),
            Attribute::UnknownAttributes(l) => l.wire_len(),
            Attribute::PasswordAlgorithm(a) => 4 + padded(a.params.len()),
            Attribute::PasswordAlgorithms(l) => l.wire_len(),
            Attribute::UseCandidate | Attribute::DontFragment => 0,
            Attribute::EvenPort(_) => 1,
            Attribute::IceControlled(_)
            | Attribute::IceControlling(_)
            | Attribute::ReservationToken(_) => 8,
            Attribute::Fingerprint(_)
            | Attribute::Priority(_)
            | Attribute::ChannelNumber(_)
            | Attribute::Lifetime(_)
            | Attribute::RequestedAddressFamily(_)
            | Attribute::RequestedTransport(_)
            | Attribute::AdditionalAddressFamily(_) => 4,
        }
    }

    /// Writes type, length, value and `pad` bytes of padding to a multiple of four.
    pub fn emit(&self, w: &mut Writer<'_>, tid: &TransactionId, pad: u8) {
        let len = self.value_len();
        w.u16(self.typ().0);
        w.u16(u16::try_from(len).unwrap_or(u16::MAX));
        match *self {
            Attribute::MappedAddress(a) | Attribute::AlternateServer(a) => {
                write_address(w, a, None)
            }
            Attribute::XorMappedAddress(a)
            | Attribute::XorPeerAddress(a)
            | Attribute::XorRelayedAddress(a) => {
                write_address(w, a, Some(tid));
            }
            Attribute::Username(s)
            | Attribute::Realm(s)
            | Attribute::Nonce(s)
            | Attribute::Software(s) => {
                w.bytes(s.as_bytes());
            }
            Attribute::MessageIntegrity(v)
            | Attribute::MessageIntegritySha256(v)
            | Attribute::Userhash(v)
            | Attribute::Data(v)
            | Attribute::Other { value: v, .. } => w.bytes(v),
            Attribute::Fingerprint(v) | Attribute::Priority(v) | Attribute::Lifetime(v) => w.u32(v),
            Attribute::ErrorCode(e) => {
                w.u16(0);
                w.u8((e.code / 100) as u8);
                w.u8((e.code % 100) as u8);
                w.bytes(e.reason.as_bytes());
            }
            Attribute::UnknownAttributes(l) => l.iter().for_each(|t| w.u16(t.0)),
            Attribute::PasswordAlgorithm(a) => write_algorithm(w, a),
            Attribute::PasswordAlgorithms(l) => l.iter().for_each(|a| write_algorithm(w, a)),
            Attribute::UseCandidate | Attribute::DontFragment => {}
            Attribute::IceControlled(v) | Attribute::IceControlling(v) => w.u64(v),
            Attribute::ChannelNumber(c) => w.u32(u32::from(c) << 16),
            Attribute::RequestedAddressFamily(f) | Attribute::AdditionalAddressFamily(f) => {
                w.u32(u32::from(f.0) << 24);
            }
            Attribute::EvenPort(r) => w.u8(if r { 0x80 } else { 0 }),
            Attribute::RequestedTransport(p) => w.u32(u32::from(p) << 24),
            Attribute::ReservationToken(t) => w.bytes(&t),
        }
        w.fill(pad, padded(len) - len);
    }
}

/// `len` rounded up to a multiple of four.
#[must_use]
pub(crate) const fn padded(len: usize) -> usize {
    (len + 3) & !3
}

fn exact<T>(v: Result<T, peerless_base::ReadError>, r: Reader<'_>) -> Option<T> {
    let v = v.ok()?;
    r.finish().ok()?;
    Some(v)
}

fn text(value: &[u8], max: usize) -> Option<&str> {
    if value.len() > max {
        return None;
    }
    core::str::from_utf8(value).ok()
}

fn write_algorithm(w: &mut Writer<'_>, a: PasswordAlgorithm<'_>) {
    w.u16(a.algorithm);
    w.u16(u16::try_from(a.params.len()).unwrap_or(u16::MAX));
    w.bytes(a.params);
    w.fill(0, padded(a.params.len()) - a.params.len());
}

/// The bytes an IPv6 address is XORed with: the magic cookie then the transaction id.
fn xor_pad(tid: &TransactionId) -> [u8; 16] {
    let mut pad = [0u8; 16];
    pad[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    pad[4..].copy_from_slice(&tid.0);
    pad
}

/// Reads a (XOR-)MAPPED-ADDRESS style value; `tid` set means XORed.
fn read_address(value: &[u8], tid: Option<&TransactionId>) -> Option<SocketAddr> {
    let mut r = Reader::new(value);
    let _reserved = r.u8().ok()?;
    let family = r.u8().ok()?;
    let mut port = r.u16().ok()?;
    if tid.is_some() {
        port ^= (MAGIC_COOKIE >> 16) as u16;
    }
    let ip = match family {
        0x01 => {
            let mut octets = r.take_array::<4>().ok()?;
            if tid.is_some() {
                let pad = MAGIC_COOKIE.to_be_bytes();
                octets.iter_mut().zip(pad).for_each(|(o, p)| *o ^= p);
            }
            IpAddr::V4(Ipv4Addr::from(octets))
        }
        0x02 => {
            let mut octets = r.take_array::<16>().ok()?;
            if let Some(tid) = tid {
                octets
                    .iter_mut()
                    .zip(xor_pad(tid))
                    .for_each(|(o, p)| *o ^= p);
            }
            IpAddr::V6(Ipv6Addr::from(octets))
        }
        _ => return None,
    };
    r.finish().ok()?;
    Some(SocketAddr::new(ip, port))
}

fn write_address(w: &mut Writer<'_>, addr: SocketAddr, tid: Option<&TransactionId>) {
    let xor = tid.is_some();
    w.u8(0);
    w.u8(if addr.is_ipv4() { 0x01 } else { 0x02 });
    w.u16(if xor {
        addr.port() ^ (MAGIC_COOKIE >> 16) as u16
    } else {
        addr.port()
    });
    match addr.ip() {
        IpAddr::V4(ip) => {
            let mut octets = ip.octets();
            if xor {
                octets
                    .iter_mut()
                    .zip(MAGIC_COOKIE.to_be_bytes())
                    .for_each(|(o, p)| *o ^= p);
            }
            w.bytes(&octets);
        }
        IpAddr::V6(ip) => {
            let mut octets = ip.octets();
            if let Some(tid) = tid {
                octets
                    .iter_mut()
                    .zip(xor_pad(tid))
                    .for_each(|(o, p)| *o ^= p);
            }
            w.bytes(&octets);
        }
    }
}
