//! DTLS 1.2 wire formats: checked views over received bytes and emitters into the caller's
//! buffer (RFC 6347 §4.1 and §4.2.2, RFC 5246 §7.4, RFC 8422, RFC 5764 §4.1.1).
//!
//! ```text
//!  datagram = record+            record    = type(1) version(2) epoch(2) seq(6) length(2) fragment
//!  handshake fragment = msg_type(1) length(3) message_seq(2) fragment_offset(3) fragment_length(3) body
//! ```
//!
//! Every codepoint is a newtype with named constants, so a value we do not know parses and
//! round-trips instead of failing the whole message.

use peerless_base::{ReadError, Reader, Writer};

/// Why bytes could not be read as the message they claim to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum WireError {
    /// The input ends inside a field.
    Truncated,
    /// A length or value is outside what the RFC allows.
    Invalid,
}

impl core::fmt::Display for WireError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            WireError::Truncated => "the input ends inside a field",
            WireError::Invalid => "a length or value is outside what the RFC allows",
        })
    }
}

impl core::error::Error for WireError {}

impl From<ReadError> for WireError {
    fn from(_: ReadError) -> Self {
        WireError::Truncated
    }
}

macro_rules! codepoint {
    ($(#[$doc:meta])* $name:ident($inner:ty) { $($(#[$cdoc:meta])* $konst:ident = $val:expr,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name(pub $inner);
        impl $name {
            $($(#[$cdoc])* pub const $konst: $name = $name($val);)*
        }
    };
}

codepoint!(
    /// `ContentType` of a record (RFC 5246 §6.2.1).
    ContentType(u8) {
        /// change_cipher_spec.
        CHANGE_CIPHER_SPEC = 20,
        /// alert.
        ALERT = 21,
        /// handshake.
        HANDSHAKE = 22,
        /// application_data.
        APPLICATION_DATA = 23,
    }
);

codepoint!(
    /// A protocol version as it appears on the wire (DTLS counts down: 1.2 is `0xFEFD`).
    ProtocolVersion(u16) {
        /// DTLS 1.0 (RFC 4347), allowed in HelloVerifyRequest and first ClientHello records.
        DTLS_1_0 = 0xFEFF,
        /// DTLS 1.2 (RFC 6347).
        DTLS_1_2 = 0xFEFD,
        /// DTLS 1.3 (RFC 9147), seen only inside supported_versions.
        DTLS_1_3 = 0xFEFC,
    }
);

codepoint!(
    /// `HandshakeType` (RFC 5246 §7.4, RFC 6347 §4.3.2).
    HandshakeType(u8) {
        /// hello_request.
        HELLO_REQUEST = 0,
        /// client_hello.
        CLIENT_HELLO = 1,
        /// server_hello.
        SERVER_HELLO = 2,
        /// hello_verify_request.
        HELLO_VERIFY_REQUEST = 3,
        /// certificate.
        CERTIFICATE = 11,
        /// server_key_exchange.
        SERVER_KEY_EXCHANGE = 12,
        /// certificate_request.
        CERTIFICATE_REQUEST = 13,
        /// server_hello_done.
        SERVER_HELLO_DONE = 14,
        /// certificate_verify.
        CERTIFICATE_VERIFY = 15,
        /// client_key_exchange.
        CLIENT_KEY_EXCHANGE = 16,
        /// finished.
        FINISHED = 20,
    }
);

codepoint!(
    /// A TLS cipher suite identifier.
    CipherSuite(u16) {
        /// TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 (RFC 5289): what browsers pick.
        ECDHE_ECDSA_AES_128_GCM_SHA256 = 0xC02B,
        /// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 (RFC 5289).
        ECDHE_ECDSA_AES_256_GCM_SHA384 = 0xC02C,
        /// TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905): for MCUs without AES hardware.
        ECDHE_ECDSA_CHACHA20_POLY1305_SHA256 = 0xCCA9,
        /// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 (RFC 5289): a server with an RSA certificate.
        ECDHE_RSA_AES_128_GCM_SHA256 = 0xC02F,
        /// TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (RFC 5289).
        ECDHE_RSA_AES_256_GCM_SHA384 = 0xC030,
        /// TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 (RFC 7905).
        ECDHE_RSA_CHACHA20_POLY1305_SHA256 = 0xCCA8,
        /// TLS_EMPTY_RENEGOTIATION_INFO_SCSV (RFC 5746 §3.3).
        EMPTY_RENEGOTIATION_INFO_SCSV = 0x00FF,
    }
);

codepoint!(
    /// A hello extension type.
    ExtensionType(u16) {
        /// supported_groups (RFC 8422 §5.1.1).
        SUPPORTED_GROUPS = 10,
        /// ec_point_formats (RFC 8422 §5.1.2).
        EC_POINT_FORMATS = 11,
        /// signature_algorithms (RFC 5246 §7.4.1.4.1).
        SIGNATURE_ALGORITHMS = 13,
        /// use_srtp (RFC 5764 §4.1.1).
        USE_SRTP = 14,
        /// padding (RFC 7685): its length depends on the rest of the hello.
        PADDING = 21,
        /// extended_master_secret (RFC 7627).
        EXTENDED_MASTER_SECRET = 23,
        /// supported_versions (RFC 8446): a DTLS 1.3 client's offer, ignored by a 1.2 server.
        SUPPORTED_VERSIONS = 43,
        /// key_share (RFC 8446): ignored by a 1.2 server.
        KEY_SHARE = 51,
        /// renegotiation_info (RFC 5746).
        RENEGOTIATION_INFO = 0xFF01,
    }
);

codepoint!(
    /// A named group for ECDHE (RFC 8422 §5.1.1).
    NamedGroup(u16) {
        /// secp256r1 (NIST P-256).
        SECP256R1 = 23,
        /// x25519 (RFC 7748).
        X25519 = 29,
    }
);

codepoint!(
    /// A TLS 1.2 SignatureAndHashAlgorithm, written as its TLS 1.3 scheme number.
    SignatureScheme(u16) {
        /// ecdsa_secp256r1_sha256: hash SHA-256 (4), signature ECDSA (3).
        ECDSA_SECP256R1_SHA256 = 0x0403,
        /// rsa_pkcs1_sha256: RSASSA-PKCS1-v1_5 with SHA-256.
        RSA_PKCS1_SHA256 = 0x0401,
        /// rsa_pkcs1_sha384: RSASSA-PKCS1-v1_5 with SHA-384.
        RSA_PKCS1_SHA384 = 0x0501,
        /// rsa_pss_rsae_sha256: RSASSA-PSS with SHA-256 and an rsaEncryption key (RFC 8446).
        RSA_PSS_RSAE_SHA256 = 0x0804,
        /// rsa_pss_rsae_sha384: RSASSA-PSS with SHA-384 and an rsaEncryption key.
        RSA_PSS_RSAE_SHA384 = 0x0805,
    }
);

codepoint!(
    /// An SRTP protection profile (RFC 5764 §4.1.2, RFC 7714 §14.2).
    SrtpProfile(u16) {
        /// SRTP_AES128_CM_HMAC_SHA1_80.
        AES128_CM_HMAC_SHA1_80 = 0x0001,
        /// SRTP_AES128_CM_HMAC_SHA1_32.
        AES128_CM_HMAC_SHA1_32 = 0x0002,
        /// SRTP_AEAD_AES_128_GCM.
        AEAD_AES_128_GCM = 0x0007,
        /// SRTP_AEAD_AES_256_GCM.
        AEAD_AES_256_GCM = 0x0008,
    }
);

impl SrtpProfile {
    /// (master key, master salt) lengths in bytes, or `None` for a profile we do not know.
    #[must_use]
    pub const fn key_salt_len(self) -> Option<(usize, usize)> {
        match self.0 {
            0x0001 | 0x0002 => Some((16, 14)),
            0x0007 => Some((16, 12)),
            0x0008 => Some((32, 12)),
            _ => None,
        }
    }
}

codepoint!(
    /// An alert description (RFC 5246 §7.2).
    AlertDescription(u8) {
        /// close_notify.
        CLOSE_NOTIFY = 0,
        /// unexpected_message.
        UNEXPECTED_MESSAGE = 10,
        /// bad_record_mac.
        BAD_RECORD_MAC = 20,
        /// handshake_failure.
        HANDSHAKE_FAILURE = 40,
        /// bad_certificate.
        BAD_CERTIFICATE = 42,
        /// unsupported_certificate.
        UNSUPPORTED_CERTIFICATE = 43,
        /// illegal_parameter.
        ILLEGAL_PARAMETER = 47,
        /// decode_error.
        DECODE_ERROR = 50,
        /// decrypt_error.
        DECRYPT_ERROR = 51,
        /// protocol_version.
        PROTOCOL_VERSION = 70,
        /// insufficient_security.
        INSUFFICIENT_SECURITY = 71,
        /// internal_error.
        INTERNAL_ERROR = 80,
        /// no_renegotiation.
        NO_RENEGOTIATION = 100,
    }
);

/// Alert level: warning (1) or fatal (2).
pub const ALERT_FATAL: u8 = 2;
/// Alert level warning.
pub const ALERT_WARNING: u8 = 1;

/// Length of a DTLS record header.
pub const RECORD_HEADER_LEN: usize = 13;
/// Length of a DTLS handshake message header.
pub const HANDSHAKE_HEADER_LEN: usize = 12;
/// Largest record fragment RFC 6347 allows (2^14 plus expansion).
pub const MAX_FRAGMENT_LEN: usize = 16384 + 2048;

/// A checked view of one DTLS record (RFC 6347 §4.1): its header fields and its fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Record<'a> {
    content_type: ContentType,
    version: ProtocolVersion,
    epoch: u16,
    sequence: u64,
    fragment: &'a [u8],
}

impl<'a> Record<'a> {
    /// Parses the first record of `bytes`; [`Record::len`] says where the next one starts.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let content_type = ContentType(r.u8()?);
        let version = ProtocolVersion(r.u16()?);
        let epoch = r.u16()?;
        let sequence = r.u48()?;
        let length = usize::from(r.u16()?);
        if length > MAX_FRAGMENT_LEN {
            return Err(WireError::Invalid);
        }
        let fragment = r.take(length)?;
        Ok(Record {
            content_type,
            version,
            epoch,
            sequence,
            fragment,
        })
    }

    /// The content type.
    #[must_use]
    pub fn content_type(&self) -> ContentType {
        self.content_type
    }
    /// The record-layer version.
    #[must_use]
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }
    /// The epoch (0 before ChangeCipherSpec, 1 after).
    #[must_use]
    pub fn epoch(&self) -> u16 {
        self.epoch
    }
    /// The 48-bit sequence number within the epoch.
    #[must_use]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }
    /// The record body (plaintext in epoch 0, AEAD ciphertext after).
    #[must_use]
    pub fn fragment(&self) -> &'a [u8] {
        self.fragment
    }
    /// Header plus fragment: the offset of the next record in the datagram.
    #[must_use]
    pub fn len(&self) -> usize {
        RECORD_HEADER_LEN + self.fragment.len()
    }
    /// Whether the fragment is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fragment.is_empty()
    }
}

/// Writes a record header; the caller writes `length` bytes of fragment after it.
pub fn emit_record_header(
    w: &mut Writer<'_>,
    content_type: ContentType,
    version: ProtocolVersion,
    epoch: u16,
    sequence: u64,
    length: usize,
) {
    w.u8(content_type.0);
    w.u16(version.0);
    w.u16(epoch);
    w.u48(sequence);
    w.u16(u16::try_from(length).unwrap_or(u16::MAX));
}

/// A checked view of one handshake message fragment (RFC 6347 §4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HandshakeFragment<'a> {
    msg_type: HandshakeType,
    length: u32,
    message_seq: u16,
    fragment_offset: u32,
    body: &'a [u8],
}

impl<'a> HandshakeFragment<'a> {
    /// Parses the first fragment of `bytes` (a record may carry several); the fragment must lie
    /// inside the message it claims to be part of.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let msg_type = HandshakeType(r.u8()?);
        let length = r.u24()?;
        let message_seq = r.u16()?;
        let fragment_offset = r.u24()?;
        let fragment_length = r.u24()?;
        if u64::from(fragment_offset) + u64::from(fragment_length) > u64::from(length) {
            return Err(WireError::Invalid);
        }
        let body = r.take(fragment_length as usize)?;
        Ok(HandshakeFragment {
            msg_type,
            length,
            message_seq,
            fragment_offset,
            body,
        })
    }
    /// The message type.
    #[must_use]
    pub fn msg_type(&self) -> HandshakeType {
        self.msg_type
    }
    /// The length of the whole message body.
    #[must_use]
    pub fn length(&self) -> u32 {
        self.length
    }
    /// The message sequence number.
    #[must_use]
    pub fn message_seq(&self) -> u16 {
        self.message_seq
    }
    /// Where this fragment starts in the message body.
    #[must_use]
    pub fn fragment_offset(&self) -> u32 {
        self.fragment_offset
    }
    /// The fragment's bytes.
    #[must_use]
    pub fn body(&self) -> &'a [u8] {
        self.body
    }
    /// Header plus body: where the next fragment in the record starts.
    #[must_use]
    pub fn wire_len(&self) -> usize {
        HANDSHAKE_HEADER_LEN + self.body.len()
    }
}

/// Writes a handshake fragment header.
pub fn emit_handshake_header(
    w: &mut Writer<'_>,
    msg_type: HandshakeType,
    length: usize,
    message_seq: u16,
    fragment_offset: usize,
    fragment_length: usize,
) {
    w.u8(msg_type.0);
    w.u24(length as u32);
    w.u16(message_seq);
    w.u24(fragment_offset as u32);
    w.u24(fragment_length as u32);
}

/// An iterator over `(type, body)` of a hello's extensions; stops at the first malformed one.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Extensions<'a> {
    r: Reader<'a>,
}

impl<'a> Iterator for Extensions<'a> {
    type Item = (ExtensionType, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let ty = ExtensionType(self.r.u16().ok()?);
        let len = usize::from(self.r.u16().ok()?);
        let body = self.r.take(len).ok()?;
        Some((ty, body))
    }
}

/// An iterator over big-endian u16 values of a vector (cipher suites, groups, profiles).
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct U16List<'a> {
    r: Reader<'a>,
}

impl Iterator for U16List<'_> {
    type Item = u16;
    fn next(&mut self) -> Option<u16> {
        self.r.u16().ok()
    }
}

impl<'a> U16List<'a> {
    /// A list over `bytes` (an even number of bytes).
    #[must_use]
    pub fn new(bytes: &'a [u8]) -> Self {
        U16List {
            r: Reader::new(bytes),
        }
    }
}

/// Checks every extension's length and that no type appears twice (RFC 5246 §7.4.1.4:
/// "There MUST NOT be more than one extension of the same type"; a second copy would let the
/// two sides read different values, as `extension()` returns the first).
///
/// Duplicates are found by comparing each type with those after it: quadratic in the count,
/// which a hello that fits the reassembly buffer keeps in the hundreds.
fn check_extensions(bytes: &[u8]) -> Result<(), WireError> {
    let mut r = Reader::new(bytes);
    while !r.is_empty() {
        let ty = r.u16()?;
        let len = usize::from(r.u16()?);
        r.skip(len)?;
        let mut rest = Extensions { r: r.clone() };
        if rest.any(|(t, _)| t.0 == ty) {
            return Err(WireError::Invalid);
        }
    }
    Ok(())
}

/// A checked view of a ClientHello body (RFC 6347 §4.2.1, RFC 5246 §7.4.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ClientHello<'a> {
    version: ProtocolVersion,
    random: &'a [u8],
    session_id: &'a [u8],
    cookie: &'a [u8],
    cipher_suites: &'a [u8],
    compression_methods: &'a [u8],
    extensions: &'a [u8],
}

impl<'a> ClientHello<'a> {
    /// Parses a ClientHello body; every length is checked, extensions included.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let version = ProtocolVersion(r.u16()?);
        let random = r.take(32)?;
        let sid_len = usize::from(r.u8()?);
        if sid_len > 32 {
            return Err(WireError::Invalid);
        }
        let session_id = r.take(sid_len)?;
        let cookie_len = usize::from(r.u8()?);
        let cookie = r.take(cookie_len)?;
        let cs_len = usize::from(r.u16()?);
        if cs_len < 2 || cs_len % 2 != 0 {
            return Err(WireError::Invalid);
        }
        let cipher_suites = r.take(cs_len)?;
        let cm_len = usize::from(r.u8()?);
        if cm_len < 1 {
            return Err(WireError::Invalid);
        }
        let compression_methods = r.take(cm_len)?;
        let extensions = if r.is_empty() {
            &[][..]
        } else {
            let len = usize::from(r.u16()?);
            let ext = r.take(len)?;
            check_extensions(ext)?;
            ext
        };
        r.finish().map_err(|_| WireError::Invalid)?;
        Ok(ClientHello {
            version,
            random,
            session_id,
            cookie,
            cipher_suites,
            compression_methods,
            extensions,
        })
    }
    /// client_version.
    #[must_use]
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }
    /// The 32-byte client random.
    #[must_use]
    pub fn random(&self) -> &'a [u8] {
        self.random
    }
    /// The legacy session id (echoed by nobody here: no resumption).
    #[must_use]
    pub fn session_id(&self) -> &'a [u8] {
        self.session_id
    }
    /// The HelloVerifyRequest cookie (empty on a first ClientHello).
    #[must_use]
    pub fn cookie(&self) -> &'a [u8] {
        self.cookie
    }
    /// Offered cipher suites, in the client's order.
    pub fn cipher_suites(&self) -> impl Iterator<Item = CipherSuite> + 'a {
        U16List::new(self.cipher_suites).map(CipherSuite)
    }
    /// Offered compression methods (must include null, 0).
    #[must_use]
    pub fn compression_methods(&self) -> &'a [u8] {
        self.compression_methods
    }
    /// The extensions, in order.
    #[must_use]
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions {
            r: Reader::new(self.extensions),
        }
    }
    /// The body of the first extension of type `ty`.
    #[must_use]
    pub fn extension(&self, ty: ExtensionType) -> Option<&'a [u8]> {
        self.extensions().find(|(t, _)| *t == ty).map(|(_, b)| b)
    }
}

/// A checked view of a ServerHello body (RFC 5246 §7.4.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServerHello<'a> {
    version: ProtocolVersion,
    random: &'a [u8],
    session_id: &'a [u8],
    cipher_suite: CipherSuite,
    compression_method: u8,
    extensions: &'a [u8],
}

impl<'a> ServerHello<'a> {
    /// Parses a ServerHello body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let version = ProtocolVersion(r.u16()?);
        let random = r.take(32)?;
        let sid_len = usize::from(r.u8()?);
        if sid_len > 32 {
            return Err(WireError::Invalid);
        }
        let session_id = r.take(sid_len)?;
        let cipher_suite = CipherSuite(r.u16()?);
        let compression_method = r.u8()?;
        let extensions = if r.is_empty() {
            &[][..]
        } else {
            let len = usize::from(r.u16()?);
            let ext = r.take(len)?;
            check_extensions(ext)?;
            ext
        };
        r.finish().map_err(|_| WireError::Invalid)?;
        Ok(ServerHello {
            version,
            random,
            session_id,
            cipher_suite,
            compression_method,
            extensions,
        })
    }
    /// server_version.
    #[must_use]
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }
    /// The 32-byte server random.
    #[must_use]
    pub fn random(&self) -> &'a [u8] {
        self.random
    }
    /// The session id the server assigned.
    #[must_use]
    pub fn session_id(&self) -> &'a [u8] {
        self.session_id
    }
    /// The chosen cipher suite.
    #[must_use]
    pub fn cipher_suite(&self) -> CipherSuite {
        self.cipher_suite
    }
    /// The chosen compression method (must be 0).
    #[must_use]
    pub fn compression_method(&self) -> u8 {
        self.compression_method
    }
    /// The extensions, in order.
    #[must_use]
    pub fn extensions(&self) -> Extensions<'a> {
        Extensions {
            r: Reader::new(self.extensions),
        }
    }
    /// The body of the first extension of type `ty`.
    #[must_use]
    pub fn extension(&self, ty: ExtensionType) -> Option<&'a [u8]> {
        self.extensions().find(|(t, _)| *t == ty).map(|(_, b)| b)
    }
}

/// A HelloVerifyRequest body (RFC 6347 §4.2.1): `server_version` and the cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HelloVerifyRequest<'a> {
    /// The server's version; any DTLS version is accepted (RFC 6347 says 1.0 is fine here).
    pub version: ProtocolVersion,
    /// The cookie to echo in the second ClientHello.
    pub cookie: &'a [u8],
}

impl<'a> HelloVerifyRequest<'a> {
    /// Parses a HelloVerifyRequest body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let version = ProtocolVersion(r.u16()?);
        let len = usize::from(r.u8()?);
        let cookie = r.take(len)?;
        r.finish().map_err(|_| WireError::Invalid)?;
        Ok(HelloVerifyRequest { version, cookie })
    }
    /// Writes the body.
    pub fn emit(&self, w: &mut Writer<'_>) {
        w.u16(self.version.0);
        w.u8(self.cookie.len() as u8);
        w.bytes(self.cookie);
    }
}

/// The use_srtp extension body (RFC 5764 §4.1.1): profiles and the (ignored) MKI.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct UseSrtp<'a> {
    profiles: &'a [u8],
    /// srtp_mki: we never send one and ignore the peer's.
    pub mki: &'a [u8],
}

impl<'a> UseSrtp<'a> {
    /// Parses a use_srtp body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let len = usize::from(r.u16()?);
        if len % 2 != 0 {
            return Err(WireError::Invalid);
        }
        let profiles = r.take(len)?;
        let mki_len = usize::from(r.u8()?);
        let mki = r.take(mki_len)?;
        r.finish().map_err(|_| WireError::Invalid)?;
        Ok(UseSrtp { profiles, mki })
    }
    /// The offered (or chosen) profiles.
    pub fn profiles(&self) -> impl Iterator<Item = SrtpProfile> + 'a {
        U16List::new(self.profiles).map(SrtpProfile)
    }
}

/// Parses a `<2..2^16-2>` list of u16 (supported_groups, signature_algorithms).
pub fn parse_u16_vector(body: &[u8]) -> Result<U16List<'_>, WireError> {
    let mut r = Reader::new(body);
    let len = usize::from(r.u16()?);
    if len % 2 != 0 {
        return Err(WireError::Invalid);
    }
    let list = r.take(len)?;
    r.finish().map_err(|_| WireError::Invalid)?;
    Ok(U16List::new(list))
}

/// Writes an extension header and runs `body` to fill it, patching the length.
pub fn emit_extension(w: &mut Writer<'_>, ty: ExtensionType, body: impl FnOnce(&mut Writer<'_>)) {
    w.u16(ty.0);
    let at = w.position();
    w.u16(0);
    body(w);
    let len = w.position() - at - 2;
    w.patch_u16(at, len as u16);
}

/// Writes a `<..2^16-1>` vector of u16 values.
pub fn emit_u16_vector(w: &mut Writer<'_>, values: impl Iterator<Item = u16>) {
    let at = w.position();
    w.u16(0);
    for v in values {
        w.u16(v);
    }
    let len = w.position() - at - 2;
    w.patch_u16(at, len as u16);
}

/// A checked view of a ServerKeyExchange for ECDHE_ECDSA or ECDHE_RSA (RFC 8422 §5.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ServerKeyExchange<'a> {
    /// The named curve of the server's ephemeral key.
    pub group: NamedGroup,
    /// The server's ephemeral public key.
    pub public: &'a [u8],
    /// The bytes that were signed after the two randoms: curve type, group and public key.
    pub params: &'a [u8],
    /// The signature scheme.
    pub scheme: SignatureScheme,
    /// The signature: DER ECDSA, or the RSA signature block.
    pub signature: &'a [u8],
}

impl<'a> ServerKeyExchange<'a> {
    /// Parses a ServerKeyExchange body; only named curves (type 3) are accepted.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        if r.u8()? != 3 {
            return Err(WireError::Invalid);
        }
        let group = NamedGroup(r.u16()?);
        let len = usize::from(r.u8()?);
        let public = r.take(len)?;
        let params = body.get(..4 + len).ok_or(WireError::Truncated)?;
        let scheme = SignatureScheme(r.u16()?);
        let sig_len = usize::from(r.u16()?);
        let signature = r.take(sig_len)?;
        r.finish().map_err(|_| WireError::Invalid)?;
        Ok(ServerKeyExchange {
            group,
            public,
            params,
            scheme,
            signature,
        })
    }
}

/// A checked view of a CertificateRequest (RFC 5246 §7.4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CertificateRequest<'a> {
    /// certificate_types (ecdsa_sign is 64).
    pub certificate_types: &'a [u8],
    schemes: &'a [u8],
}

impl<'a> CertificateRequest<'a> {
    /// Parses a CertificateRequest body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let n = usize::from(r.u8()?);
        let certificate_types = r.take(n)?;
        let n = usize::from(r.u16()?);
        if n % 2 != 0 {
            return Err(WireError::Invalid);
        }
        let schemes = r.take(n)?;
        let n = usize::from(r.u16()?);
        r.skip(n)?;
        r.finish().map_err(|_| WireError::Invalid)?;
        Ok(CertificateRequest {
            certificate_types,
            schemes,
        })
    }
    /// The signature schemes the server accepts.
    pub fn schemes(&self) -> impl Iterator<Item = SignatureScheme> + 'a {
        U16List::new(self.schemes).map(SignatureScheme)
    }
}

/// The first (end-entity) certificate of a Certificate message, or `None` for an empty list.
pub fn parse_certificate_list(body: &[u8]) -> Result<Option<&[u8]>, WireError> {
    let mut r = Reader::new(body);
    let total = r.u24()? as usize;
    let mut list = r.sub(total)?;
    r.finish().map_err(|_| WireError::Invalid)?;
    let mut first = None;
    while !list.is_empty() {
        let len = list.u24()? as usize;
        let cert = list.take(len)?;
        if cert.is_empty() {
            return Err(WireError::Invalid);
        }
        first.get_or_insert(cert);
    }
    Ok(first)
}

/// A checked view of a CertificateVerify (RFC 5246 §7.4.8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CertificateVerify<'a> {
    /// The signature scheme.
    pub scheme: SignatureScheme,
    /// The signature: DER ECDSA, or the RSA signature block.
    pub signature: &'a [u8],
}

impl<'a> CertificateVerify<'a> {
    /// Parses a CertificateVerify body.
    pub fn parse(body: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let scheme = SignatureScheme(r.u16()?);
        let n = usize::from(r.u16()?);
        let signature = r.take(n)?;
        r.finish().map_err(|_| WireError::Invalid)?;
        Ok(CertificateVerify { scheme, signature })
    }
}

/// Parses a ClientKeyExchange for ECDHE: the client's ephemeral public key.
pub fn parse_client_key_exchange(body: &[u8]) -> Result<&[u8], WireError> {
    let mut r = Reader::new(body);
    let n = usize::from(r.u8()?);
    let public = r.take(n)?;
    r.finish().map_err(|_| WireError::Invalid)?;
    Ok(public)
}

/// A checked view of an alert (RFC 5246 §7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Alert {
    /// 1 warning, 2 fatal.
    pub level: u8,
    /// What happened.
    pub description: AlertDescription,
}

impl Alert {
    /// Parses an alert record body.
    pub fn parse(body: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let level = r.u8()?;
        let description = AlertDescription(r.u8()?);
        r.finish().map_err(|_| WireError::Invalid)?;
        Ok(Alert { level, description })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_header_round_trip() {
        let mut buf = [0u8; 32];
        let mut w = Writer::new(&mut buf);
        emit_record_header(
            &mut w,
            ContentType::HANDSHAKE,
            ProtocolVersion::DTLS_1_2,
            1,
            0x0000_1234_5678_9abc,
            3,
        );
        w.bytes(b"abc");
        let n = w.finish().unwrap();
        let r = Record::parse(&buf[..n]).unwrap();
        assert_eq!(r.content_type(), ContentType::HANDSHAKE);
        assert_eq!(r.version(), ProtocolVersion::DTLS_1_2);
        assert_eq!((r.epoch(), r.sequence()), (1, 0x1234_5678_9abc));
        assert_eq!(r.fragment(), b"abc");
        assert_eq!(r.len(), 16);
        assert_eq!(Record::parse(&buf[..15]), Err(WireError::Truncated));
    }

    #[test]
    fn fragment_must_lie_inside_its_message() {
        let mut buf = [0u8; 32];
        let mut w = Writer::new(&mut buf);
        emit_handshake_header(&mut w, HandshakeType::FINISHED, 12, 3, 10, 4);
        w.bytes(&[1, 2, 3, 4]);
        let n = w.finish().unwrap();
        assert_eq!(HandshakeFragment::parse(&buf[..n]), Err(WireError::Invalid));
        let mut w = Writer::new(&mut buf);
        emit_handshake_header(&mut w, HandshakeType::FINISHED, 12, 3, 8, 4);
        w.bytes(&[1, 2, 3, 4]);
        let n = w.finish().unwrap();
        let f = HandshakeFragment::parse(&buf[..n]).unwrap();
        assert_eq!(
            (f.msg_type(), f.length(), f.message_seq()),
            (HandshakeType::FINISHED, 12, 3)
        );
        assert_eq!((f.fragment_offset(), f.body()), (8, &[1u8, 2, 3, 4][..]));
    }

    proptest::proptest! {
        #[test]
        fn views_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = Record::parse(&bytes);
            let _ = HandshakeFragment::parse(&bytes);
            if let Ok(ch) = ClientHello::parse(&bytes) {
                let _ = ch.cipher_suites().count();
                let _ = ch.extensions().count();
            }
            let _ = ServerHello::parse(&bytes);
            let _ = ServerKeyExchange::parse(&bytes);
            let _ = CertificateRequest::parse(&bytes);
            let _ = parse_certificate_list(&bytes);
            let _ = HelloVerifyRequest::parse(&bytes);
            let _ = UseSrtp::parse(&bytes);
            let _ = Alert::parse(&bytes);
        }

        #[test]
        fn record_emit_parse_round_trip(ty in 0u8..=255, epoch in 0u16..=u16::MAX, seq in 0u64..(1u64 << 48),
                                        body in proptest::collection::vec(proptest::num::u8::ANY, 0..100)) {
            let mut buf = [0u8; 128];
            let mut w = Writer::new(&mut buf);
            emit_record_header(&mut w, ContentType(ty), ProtocolVersion::DTLS_1_2, epoch, seq, body.len());
            w.bytes(&body);
            let n = w.finish().unwrap();
            let r = Record::parse(&buf[..n]).unwrap();
            proptest::prop_assert_eq!((r.content_type(), r.epoch(), r.sequence(), r.fragment()), (ContentType(ty), epoch, seq, &body[..]));
        }
    }
}
