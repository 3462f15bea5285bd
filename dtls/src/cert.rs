//! Self-signed ECDSA P-256 X.509 v3 certificates without an allocator, and fingerprints.
//!
//! WebRTC authenticates a DTLS peer by the hash of its certificate, carried in SDP
//! (`a=fingerprint`, RFC 8122), not by a chain of trust: a certificate here only needs to carry
//! the key. We write ours field by field into fixed storage (DER headers by hand in `asn1`, no
//! ASN.1 library) and, from a peer's certificate, take only its subject public key (the
//! signature that proves possession of it is the handshake's CertificateVerify).
//!
//! ```text
//!  generate: key, serial, CN ──► TBSCertificate ──SHA-256, ECDSA──► Certificate (~310 bytes)
//!    Certificate    ::= SEQUENCE { tbsCertificate, ecdsa-with-SHA256, signature BIT STRING }
//!    TBSCertificate ::= SEQUENCE { [0] v3, serial (16 bytes), ecdsa-with-SHA256, issuer CN,
//!                                  validity (UTCTime to 2049, else GeneralizedTime),
//!                                  subject CN, SPKI { id-ecPublicKey prime256v1, point } }
//!  a peer's DER ──SubjectKeyView──► SPKI algorithm ──► PeerKey::Ecdsa (P-256 point)
//!                 (shape checked,                  └─► PeerKey::Rsa (RSAPublicKey, 2048..4096)
//!                  rest skipped)                   └─► anything else: UnsupportedKey
//! ```

pub(crate) mod asn1;

use asn1::{Malformed, oid, tag};
use peerless_base::{Drbg, Reader, Writer};
use peerless_crypto::{P256SigningKey, P256VerifyingKey, Sha256, Sha384, Sha512};
use sha1::Digest;

use crate::wire::SignatureScheme;

/// Room for our DER certificate: a P-256 self-signed certificate is about 300 bytes.
pub const MAX_CERTIFICATE_LEN: usize = 512;

/// Why a certificate could not be built or read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CertificateError {
    /// The DER did not parse as an X.509 certificate.
    Malformed,
    /// The subject key is neither ECDSA P-256 nor (with the `rsa` feature) RSA of 2048 to
    /// 4096 bits with an odd exponent below 2^32; our own certificate must be ECDSA P-256.
    UnsupportedKey,
    /// The private key does not match the certificate, or is not a valid P-256 scalar.
    BadPrivateKey,
    /// The encoding does not fit [`MAX_CERTIFICATE_LEN`].
    TooLarge,
    /// The validity window cannot be encoded (before 1950 or after 9999).
    BadValidity,
}

/// The validity window of a generated certificate, in seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Validity {
    /// notBefore.
    pub not_before: u64,
    /// notAfter.
    pub not_after: u64,
}

impl Validity {
    /// A window starting at `start` (Unix seconds) for `days` days.
    #[must_use]
    pub const fn days_from(start: u64, days: u64) -> Self {
        Validity {
            not_before: start,
            not_after: start.saturating_add(days.saturating_mul(86_400)),
        }
    }
}

/// Our certificate and its private key: the DER in fixed storage and an ECDSA P-256 key.
#[derive(Clone)]
pub struct Certificate {
    der: [u8; MAX_CERTIFICATE_LEN],
    der_len: usize,
    key: P256SigningKey,
}

impl core::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Certificate")
            .field("der_len", &self.der_len)
            .finish_non_exhaustive()
    }
}

/// As `Debug`: never the private key.
#[cfg(feature = "defmt")]
impl defmt::Format for Certificate {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Certificate {{ der_len: {=usize}, .. }}", self.der_len);
    }
}

/// The Name `CN=<cn>`: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String } } }; `cn` is
/// at most 40 bytes (ours are 16 hex digits), so every length here is one byte.
fn emit_name(w: &mut Writer<'_>, cn: &[u8]) {
    let atv = asn1::tlv_len(oid::COMMON_NAME.len()) + asn1::tlv_len(cn.len());
    let set = asn1::tlv_len(atv);
    asn1::header(w, tag::SEQUENCE, asn1::tlv_len(set));
    asn1::header(w, tag::SET, set);
    asn1::header(w, tag::SEQUENCE, atv);
    asn1::tlv(w, tag::OID, oid::COMMON_NAME);
    asn1::tlv(w, tag::UTF8_STRING, cn);
}

/// The bytes [`emit_name`] writes.
fn name_len(cn: &[u8]) -> usize {
    let atv = asn1::tlv_len(oid::COMMON_NAME.len()) + asn1::tlv_len(cn.len());
    asn1::tlv_len(asn1::tlv_len(asn1::tlv_len(atv)))
}

/// AlgorithmIdentifier ecdsa-with-SHA256 (no parameters, RFC 5758 §3.2): our signature
/// algorithm, written twice (in the TBSCertificate and after it).
fn emit_ecdsa_sha256(w: &mut Writer<'_>) {
    asn1::header(w, tag::SEQUENCE, asn1::tlv_len(oid::ECDSA_SHA256.len()));
    asn1::tlv(w, tag::OID, oid::ECDSA_SHA256);
}

const ECDSA_SHA256_LEN: usize = asn1::tlv_len(asn1::tlv_len(oid::ECDSA_SHA256.len()));

/// `[0] EXPLICIT INTEGER 2`: version v3.
const VERSION_V3: [u8; 5] = [tag::CONTEXT_0, 3, tag::INTEGER, 1, 2];

/// The subject key's AlgorithmIdentifier: id-ecPublicKey with the named curve prime256v1.
const EC_P256_ALGORITHM_LEN: usize =
    asn1::tlv_len(oid::EC_PUBLIC_KEY.len()) + asn1::tlv_len(oid::PRIME256V1.len());

impl Certificate {
    /// Generates a fresh key and a self-signed certificate for it, with a random 16-byte
    /// serial number and a random common name, valid for `validity`.
    pub fn generate(rng: &mut Drbg, validity: Validity) -> Result<Self, CertificateError> {
        let key = P256SigningKey::generate(rng);
        let mut serial = [0u8; 16];
        rng.fill(&mut serial);
        serial[0] = (serial[0] & 0x7f) | 0x40; // positive and exactly 16 bytes
        let mut cn_raw = [0u8; 8];
        rng.fill(&mut cn_raw);
        let mut cn = [0u8; 16];
        hex_lower(&cn_raw, &mut cn);
        Self::build(key, &serial, &cn, validity)
    }

    /// The certificate for `key`. `serial` is positive with its top bit clear (so it needs no
    /// sign byte) and `cn` at most 40 bytes: `generate` makes them so.
    fn build(
        key: P256SigningKey,
        serial: &[u8],
        cn: &[u8],
        validity: Validity,
    ) -> Result<Self, CertificateError> {
        let cn = cn.get(..cn.len().min(40)).unwrap_or_default();
        // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050 (both times
        // GeneralizedTime when either needs it).
        let generalized = validity.not_before >= Y2050 || validity.not_after >= Y2050;
        let (mut nb, mut na) = ([0u8; 15], [0u8; 15]);
        let not_before = encode_time(validity.not_before, generalized, &mut nb)?;
        let not_after = encode_time(validity.not_after, generalized, &mut na)?;
        let time_tag = if generalized {
            tag::GENERALIZED_TIME
        } else {
            tag::UTC_TIME
        };
        let point = key.public_key();

        // Every length is known before anything is written, so each item's header goes out
        // first and the emitter is a straight list of fields.
        let validity_len = asn1::tlv_len(not_before.len()) + asn1::tlv_len(not_after.len());
        let spki_len = asn1::tlv_len(EC_P256_ALGORITHM_LEN) + asn1::tlv_len(1 + point.len());
        let tbs_len = VERSION_V3.len()
            + asn1::tlv_len(serial.len())
            + ECDSA_SHA256_LEN
            + 2 * name_len(cn)
            + asn1::tlv_len(validity_len)
            + asn1::tlv_len(spki_len);
        let mut tbs_buf = [0u8; MAX_CERTIFICATE_LEN];
        let mut w = Writer::new(&mut tbs_buf);
        asn1::header(&mut w, tag::SEQUENCE, tbs_len);
        w.bytes(&VERSION_V3);
        asn1::tlv(&mut w, tag::INTEGER, serial);
        emit_ecdsa_sha256(&mut w);
        emit_name(&mut w, cn); // issuer: self-signed, so the subject
        asn1::header(&mut w, tag::SEQUENCE, validity_len);
        asn1::tlv(&mut w, time_tag, not_before);
        asn1::tlv(&mut w, time_tag, not_after);
        emit_name(&mut w, cn);
        asn1::header(&mut w, tag::SEQUENCE, spki_len);
        asn1::header(&mut w, tag::SEQUENCE, EC_P256_ALGORITHM_LEN);
        asn1::tlv(&mut w, tag::OID, oid::EC_PUBLIC_KEY);
        asn1::tlv(&mut w, tag::OID, oid::PRIME256V1);
        asn1::header(&mut w, tag::BIT_STRING, 1 + point.len());
        w.u8(0); // no unused bits
        w.bytes(&point);
        let tbs_der_len = w.finish().map_err(|_| CertificateError::TooLarge)?;
        let tbs_der = tbs_buf
            .get(..tbs_der_len)
            .ok_or(CertificateError::TooLarge)?;

        let digest = Sha256::digest(tbs_der);
        let mut sig = [0u8; 72];
        let sig_len = crate::crypto::sign_sha256(&key, &digest, &mut sig)
            .ok_or(CertificateError::BadPrivateKey)?;
        let sig = sig.get(..sig_len).ok_or(CertificateError::BadPrivateKey)?;

        let mut der = [0u8; MAX_CERTIFICATE_LEN];
        let mut w = Writer::new(&mut der);
        asn1::header(
            &mut w,
            tag::SEQUENCE,
            tbs_der.len() + ECDSA_SHA256_LEN + asn1::tlv_len(1 + sig.len()),
        );
        w.bytes(tbs_der);
        emit_ecdsa_sha256(&mut w);
        asn1::header(&mut w, tag::BIT_STRING, 1 + sig.len());
        w.u8(0);
        w.bytes(sig);
        let der_len = w.finish().map_err(|_| CertificateError::TooLarge)?;
        Ok(Certificate { der, der_len, key })
    }

    /// A certificate made elsewhere (OpenSSL, a stored one) and its 32-byte P-256 private
    /// scalar; the key must match the certificate's public key.
    pub fn from_der(der: &[u8], private_key: &[u8; 32]) -> Result<Self, CertificateError> {
        if der.len() > MAX_CERTIFICATE_LEN {
            return Err(CertificateError::TooLarge);
        }
        let key =
            P256SigningKey::from_slice(private_key).map_err(|_| CertificateError::BadPrivateKey)?;
        let peer = PeerKey::from_certificate(der)?;
        if peer.ecdsa().map(P256VerifyingKey::to_uncompressed) != Some(key.public_key()) {
            return Err(CertificateError::BadPrivateKey);
        }
        let mut buf = [0u8; MAX_CERTIFICATE_LEN];
        buf.get_mut(..der.len())
            .ok_or(CertificateError::TooLarge)?
            .copy_from_slice(der);
        Ok(Certificate {
            der: buf,
            der_len: der.len(),
            key,
        })
    }

    /// The DER encoding, as sent in the Certificate message.
    #[must_use]
    pub fn der(&self) -> &[u8] {
        self.der.get(..self.der_len).unwrap_or_default()
    }

    /// The fingerprint to put in SDP (`a=fingerprint:sha-256 ...`).
    #[must_use]
    pub fn fingerprint(&self, algorithm: HashAlgorithm) -> Fingerprint {
        Fingerprint::of(self.der(), algorithm)
    }

    /// The 32-byte private scalar, to store the certificate and load it again with
    /// [`Certificate::from_der`] (as a browser persists an `RTCCertificate`). It is secret.
    #[must_use]
    pub fn private_key(&self) -> [u8; 32] {
        *self.key.to_bytes()
    }

    pub(crate) fn signing_key(&self) -> &P256SigningKey {
        &self.key
    }
}

fn hex_lower(input: &[u8], out: &mut [u8]) {
    fn digit(nibble: u8) -> u8 {
        if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        }
    }
    for (pair, b) in out.chunks_mut(2).zip(input) {
        if let [hi, lo] = pair {
            *hi = digit(b >> 4);
            *lo = digit(b & 15);
        }
    }
}

/// 2050-01-01T00:00:00Z, from which RFC 5280 wants GeneralizedTime.
const Y2050: u64 = 2_524_608_000;
/// 10000-01-01T00:00:00Z: GeneralizedTime has four year digits.
const Y10000: u64 = 253_402_300_800;

/// `secs` (Unix time) as UTCTime `YYMMDDHHMMSSZ` or GeneralizedTime `YYYYMMDDHHMMSSZ`
/// (RFC 5280 §4.1.2.5: seconds, no fraction, Zulu), into `out`.
fn encode_time(
    secs: u64,
    generalized: bool,
    out: &mut [u8; 15],
) -> Result<&[u8], CertificateError> {
    if secs >= Y10000 {
        return Err(CertificateError::BadValidity);
    }
    let (year, month, day) = civil_from_days(secs / 86_400);
    let s = secs % 86_400;
    let fields = [
        year / 100,
        year % 100,
        month,
        day,
        s / 3600,
        s / 60 % 60,
        s % 60,
    ];
    let mut w = Writer::new(out);
    // UTCTime has two year digits: 1970..=2049 cannot be ambiguous (RFC 5280's 50/50 split).
    for f in fields.iter().skip(usize::from(!generalized)) {
        w.u8(b'0' + (f / 10) as u8);
        w.u8(b'0' + (f % 10) as u8);
    }
    w.u8(b'Z');
    let len = w.finish().map_err(|_| CertificateError::BadValidity)?;
    out.get(..len).ok_or(CertificateError::BadValidity)
}

/// The proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (below
/// 3 000 000, so nothing overflows): the era arithmetic of H. Hinnant's `civil_from_days`,
/// with years starting in March so the leap day is last.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468; // days since 0000-03-01
    let era = z / 146_097; // 400-year cycles
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153; // month, March = 0
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + u64::from(month <= 2), month, day)
}

/// The parts of an X.509 certificate (RFC 5280 §4.1) we use: the subject key's algorithm
/// OID, its parameters (tag and value) and its bits. The items before it are checked for
/// shape only (issuer, validity and subject are any one item each), as WebRTC trusts the
/// fingerprint over the whole encoding, not what it says.
struct SubjectKeyView<'a> {
    algorithm: &'a [u8],
    parameters: Option<(u8, &'a [u8])>,
    key: &'a [u8],
}

impl<'a> SubjectKeyView<'a> {
    fn parse(der: &'a [u8]) -> Result<Self, Malformed> {
        let mut r = Reader::new(der);
        let mut cert = Reader::new(asn1::expect(&mut r, tag::SEQUENCE)?);
        r.finish()?;
        let mut tbs = Reader::new(asn1::expect(&mut cert, tag::SEQUENCE)?);
        asn1::expect(&mut cert, tag::SEQUENCE)?; // signatureAlgorithm
        match asn1::expect(&mut cert, tag::BIT_STRING)? {
            [0, ..] | [1..=7, _, ..] => {} // unused bits, then at least one byte if any
            _ => return Err(Malformed),
        }
        cert.finish()?;

        if let Some(version) = asn1::optional(&mut tbs, tag::CONTEXT_0)? {
            let mut v = Reader::new(version);
            asn1::expect(&mut v, tag::INTEGER)?;
            v.finish()?;
        }
        if asn1::expect(&mut tbs, tag::INTEGER)?.is_empty() {
            return Err(Malformed); // serialNumber
        }
        asn1::expect(&mut tbs, tag::SEQUENCE)?; // signature
        asn1::read(&mut tbs)?; // issuer
        asn1::read(&mut tbs)?; // validity
        asn1::read(&mut tbs)?; // subject
        let mut spki = Reader::new(asn1::expect(&mut tbs, tag::SEQUENCE)?);
        for optional in [tag::CONTEXT_1, tag::CONTEXT_2, tag::CONTEXT_3] {
            asn1::optional(&mut tbs, optional)?;
        }
        tbs.finish()?;

        let mut algorithm = Reader::new(asn1::expect(&mut spki, tag::SEQUENCE)?);
        let key = asn1::whole_bits(asn1::expect(&mut spki, tag::BIT_STRING)?)?;
        spki.finish()?;
        let oid = asn1::expect(&mut algorithm, tag::OID)?;
        let parameters = if algorithm.is_empty() {
            None
        } else {
            Some(asn1::read(&mut algorithm)?)
        };
        algorithm.finish()?;
        Ok(SubjectKeyView {
            algorithm: oid,
            parameters,
            key,
        })
    }
}

impl From<Malformed> for CertificateError {
    fn from(_: Malformed) -> Self {
        CertificateError::Malformed
    }
}

/// A peer's certificate key, from its subjectPublicKeyInfo: ECDSA P-256 or (with the `rsa`
/// feature) RSA of 2048 to 4096 bits.
#[derive(Clone, Debug, PartialEq, Eq)]
// No allocator to box the RSA key in: it lives inline, one per endpoint (about 530 bytes).
#[allow(clippy::large_enum_variant)]
pub(crate) enum PeerKey {
    /// id-ecPublicKey on prime256v1.
    Ecdsa(P256VerifyingKey),
    /// rsaEncryption.
    #[cfg(feature = "rsa")]
    Rsa(crate::rsa::PublicKey),
}

impl PeerKey {
    /// Parses an X.509 certificate and takes its subject key.
    pub(crate) fn from_certificate(der: &[u8]) -> Result<Self, CertificateError> {
        let spki = SubjectKeyView::parse(der)?;
        #[cfg(feature = "rsa")]
        if spki.algorithm == oid::RSA_ENCRYPTION {
            // The RSAPublicKey's size is checked before any arithmetic can see it.
            return crate::rsa::PublicKey::from_der(spki.key)
                .map(PeerKey::Rsa)
                .map_err(|_| CertificateError::UnsupportedKey);
        }
        if spki.algorithm != oid::EC_PUBLIC_KEY
            || spki.parameters != Some((tag::OID, oid::PRIME256V1))
        {
            return Err(CertificateError::UnsupportedKey);
        }
        P256VerifyingKey::from_sec1(spki.key)
            .map(PeerKey::Ecdsa)
            .map_err(|_| CertificateError::UnsupportedKey)
    }

    /// Whether this is an RSA key (it can only sign for ECDHE_RSA suites, and ECDSA keys
    /// only for ECDHE_ECDSA ones).
    pub(crate) fn is_rsa(&self) -> bool {
        match self {
            PeerKey::Ecdsa(_) => false,
            #[cfg(feature = "rsa")]
            PeerKey::Rsa(_) => true,
        }
    }

    /// Whether `signature` made with `scheme` over `digest` (the scheme's hash of the signed
    /// bytes; see [`scheme_hash`]) verifies with this key. A scheme of the other key type, or
    /// one we do not implement, fails.
    pub(crate) fn verify(&self, scheme: SignatureScheme, digest: &[u8], signature: &[u8]) -> bool {
        match self {
            PeerKey::Ecdsa(key) => {
                scheme == SignatureScheme::ECDSA_SECP256R1_SHA256
                    && <&[u8; 32]>::try_from(digest)
                        .is_ok_and(|d| crate::crypto::verify_sha256(key, d, signature))
            }
            #[cfg(feature = "rsa")]
            PeerKey::Rsa(key) => {
                let padding = match scheme {
                    SignatureScheme::RSA_PKCS1_SHA256 | SignatureScheme::RSA_PKCS1_SHA384 => {
                        crate::rsa::Padding::Pkcs1
                    }
                    SignatureScheme::RSA_PSS_RSAE_SHA256 | SignatureScheme::RSA_PSS_RSAE_SHA384 => {
                        crate::rsa::Padding::Pss
                    }
                    _ => return false,
                };
                scheme_hash(scheme).is_some_and(|h| h.len() == digest.len())
                    && key.verify(padding, digest, signature)
            }
        }
    }

    /// The key if it is ECDSA P-256.
    fn ecdsa(&self) -> Option<&P256VerifyingKey> {
        match self {
            PeerKey::Ecdsa(key) => Some(key),
            #[cfg(feature = "rsa")]
            PeerKey::Rsa(_) => None,
        }
    }
}

/// The signature schemes we verify, in the order we prefer them (signature_algorithms in
/// our ClientHello and CertificateRequest).
#[cfg(feature = "rsa")]
pub(crate) const VERIFY_SCHEMES: &[SignatureScheme] = &[
    SignatureScheme::ECDSA_SECP256R1_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA256,
    SignatureScheme::RSA_PKCS1_SHA256,
    SignatureScheme::RSA_PSS_RSAE_SHA384,
    SignatureScheme::RSA_PKCS1_SHA384,
];
/// The signature schemes we verify (signature_algorithms).
#[cfg(not(feature = "rsa"))]
pub(crate) const VERIFY_SCHEMES: &[SignatureScheme] = &[SignatureScheme::ECDSA_SECP256R1_SHA256];

/// The hash a signature scheme we verify signs with, or `None` for any other scheme.
pub(crate) fn scheme_hash(scheme: SignatureScheme) -> Option<HashAlgorithm> {
    match scheme {
        SignatureScheme::ECDSA_SECP256R1_SHA256 => Some(HashAlgorithm::Sha256),
        #[cfg(feature = "rsa")]
        SignatureScheme::RSA_PKCS1_SHA256 | SignatureScheme::RSA_PSS_RSAE_SHA256 => {
            Some(HashAlgorithm::Sha256)
        }
        #[cfg(feature = "rsa")]
        SignatureScheme::RSA_PKCS1_SHA384 | SignatureScheme::RSA_PSS_RSAE_SHA384 => {
            Some(HashAlgorithm::Sha384)
        }
        _ => None,
    }
}

/// The subject public key of an X.509 certificate (which must be ECDSA P-256), as the
/// uncompressed SEC1 point `04 || x || y`; an RSA certificate is `UnsupportedKey` here.
pub fn certificate_public_key(der: &[u8]) -> Result<[u8; 65], CertificateError> {
    let key = PeerKey::from_certificate(der)?;
    key.ecdsa()
        .map(P256VerifyingKey::to_uncompressed)
        .ok_or(CertificateError::UnsupportedKey)
}

/// A hash function for certificate fingerprints (RFC 8122 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HashAlgorithm {
    /// sha-1 (accepted from peers; never our first choice).
    Sha1,
    /// sha-256: what every browser sends.
    Sha256,
    /// sha-384.
    Sha384,
    /// sha-512.
    Sha512,
}

impl HashAlgorithm {
    /// The SDP name (`sha-256`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
        }
    }
    /// Digest length in bytes.
    #[must_use]
    pub const fn len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }
    /// Never true: every digest has bytes (present for clippy's `len` convention).
    #[must_use]
    pub const fn is_empty(self) -> bool {
        false
    }
}

/// A certificate fingerprint: a hash algorithm and the digest of the DER certificate.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    algorithm: HashAlgorithm,
    digest: [u8; 64],
}

/// An `a=fingerprint` value that could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct BadFingerprint;

impl Fingerprint {
    /// The fingerprint of `der` with `algorithm`.
    #[must_use]
    pub fn of(der: &[u8], algorithm: HashAlgorithm) -> Self {
        let mut digest = [0u8; 64];
        match algorithm {
            HashAlgorithm::Sha1 => digest[..20].copy_from_slice(&sha1::Sha1::digest(der)),
            HashAlgorithm::Sha256 => digest[..32].copy_from_slice(&Sha256::digest(der)),
            HashAlgorithm::Sha384 => digest[..48].copy_from_slice(&Sha384::digest(der)),
            HashAlgorithm::Sha512 => digest = Sha512::digest(der),
        }
        Fingerprint { algorithm, digest }
    }

    /// A fingerprint from its parts; `None` if `digest` has the wrong length.
    #[must_use]
    pub fn new(algorithm: HashAlgorithm, digest: &[u8]) -> Option<Self> {
        // The length comes from the SDP: check it before copying (a mismatch used to panic).
        if digest.len() != algorithm.len() {
            return None;
        }
        let mut d = [0u8; 64];
        d.get_mut(..digest.len())?.copy_from_slice(digest);
        Some(Fingerprint {
            algorithm,
            digest: d,
        })
    }

    /// Parses an SDP `a=fingerprint` value: `sha-256 AB:CD:...` (case-insensitive).
    pub fn parse(value: &str) -> Result<Self, BadFingerprint> {
        let mut parts = value.split_ascii_whitespace();
        let name = parts.next().ok_or(BadFingerprint)?;
        let hex = parts.next().ok_or(BadFingerprint)?;
        if parts.next().is_some() {
            return Err(BadFingerprint);
        }
        let algorithm = [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ]
        .into_iter()
        .find(|a| a.name().eq_ignore_ascii_case(name))
        .ok_or(BadFingerprint)?;
        let mut digest = [0u8; 64];
        let mut n = 0;
        for byte in hex.split(':') {
            let b = u8::from_str_radix(byte, 16).map_err(|_| BadFingerprint)?;
            if byte.len() != 2 {
                return Err(BadFingerprint);
            }
            *digest.get_mut(n).ok_or(BadFingerprint)? = b;
            n += 1;
        }
        if n != algorithm.len() {
            return Err(BadFingerprint);
        }
        Ok(Fingerprint { algorithm, digest })
    }

    /// The hash algorithm.
    #[must_use]
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// The digest bytes.
    #[must_use]
    pub fn digest(&self) -> &[u8] {
        self.digest.get(..self.algorithm.len()).unwrap_or_default()
    }

    /// Whether `der` hashes to this fingerprint (constant time in the digest).
    #[must_use]
    pub fn matches(&self, der: &[u8]) -> bool {
        let other = Fingerprint::of(der, self.algorithm);
        peerless_base::ct_eq(self.digest(), other.digest())
    }
}

impl core::fmt::Display for Fingerprint {
    /// The SDP form: `sha-256 AB:CD:...`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.algorithm.name())?;
        f.write_str(" ")?;
        for (i, b) in self.digest().iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl core::fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Display::fmt(self, f)
    }
}

/// The SDP form, as `Display` writes it.
#[cfg(feature = "defmt")]
impl defmt::Format for Fingerprint {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", defmt::Display2Format(self));
    }
}

impl core::fmt::Display for CertificateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            CertificateError::Malformed => "not a DER X.509 certificate",
            CertificateError::UnsupportedKey => {
                "the certificate key is not ECDSA P-256 (nor RSA 2048..4096 for a peer)"
            }
            CertificateError::BadPrivateKey => "the private key is invalid or does not match",
            CertificateError::TooLarge => "the certificate does not fit its storage",
            CertificateError::BadValidity => "the validity window cannot be encoded",
        })
    }
}

impl core::error::Error for CertificateError {}

impl core::fmt::Display for BadFingerprint {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("not an a=fingerprint value (`sha-256 AB:CD:...`)")
    }
}

impl core::error::Error for BadFingerprint {}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    /// A certificate's signed part (the TBSCertificate, header included), its
    /// signatureAlgorithm's contents and its signature bits.
    pub(super) fn signed_parts(der: &[u8]) -> (&[u8], &[u8], &[u8]) {
        let mut r = Reader::new(der);
        let mut cert = Reader::new(asn1::expect(&mut r, tag::SEQUENCE).unwrap());
        let start = cert.position();
        asn1::expect(&mut cert, tag::SEQUENCE).unwrap();
        let tbs = &cert.input()[start..cert.position()];
        let alg = asn1::expect(&mut cert, tag::SEQUENCE).unwrap();
        let sig = asn1::whole_bits(asn1::expect(&mut cert, tag::BIT_STRING).unwrap()).unwrap();
        (tbs, alg, sig)
    }

    #[test]
    fn generated_certificate_parses_and_carries_its_key() {
        let mut rng = Drbg::from_seed(&[5; 32], b"cert");
        let cert = Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 30)).unwrap();
        let key = PeerKey::from_certificate(cert.der()).unwrap();
        assert_eq!(
            key.ecdsa().map(P256VerifyingKey::to_uncompressed),
            Some(cert.signing_key().public_key())
        );
        // The self-signature verifies with the certificate's own key.
        let (tbs, sig_alg, sig) = signed_parts(cert.der());
        assert_eq!(sig_alg, [&[tag::OID, 8][..], oid::ECDSA_SHA256].concat());
        assert!(key.verify(
            SignatureScheme::ECDSA_SECP256R1_SHA256,
            &Sha256::digest(tbs),
            sig
        ));
        assert_eq!(tbs.get(3..8), Some(&VERSION_V3[..]));
        // from_der accepts it back only with the matching key.
        let sk: [u8; 32] = *cert.signing_key().to_bytes();
        assert!(Certificate::from_der(cert.der(), &sk).is_ok());
        assert_eq!(
            Certificate::from_der(cert.der(), &[1; 32]).unwrap_err(),
            CertificateError::BadPrivateKey
        );
    }

    /// The known answers of tests/data/rsa (made by its make.sh with `openssl dgst -sign`).
    #[cfg(feature = "rsa")]
    mod rsa_known_answers {
        use super::*;
        use sha2::Sha384;

        macro_rules! data {
            ($($name:expr),+) => {
                include_bytes!(concat!("../tests/data/rsa/", $($name),+))
            };
        }
        const MESSAGE: &[u8] = data!("message.txt");

        /// (certificate, [pkcs1-sha256, pkcs1-sha384, pss-sha256, pss-sha384]) per key.
        type Case = (&'static str, &'static [u8], [&'static [u8]; 4]);
        macro_rules! case {
            ($name:literal) => {
                (
                    $name,
                    data!($name, ".cert.der"),
                    [
                        data!($name, ".pkcs1-sha256.sig"),
                        data!($name, ".pkcs1-sha384.sig"),
                        data!($name, ".pss-sha256.sig"),
                        data!($name, ".pss-sha384.sig"),
                    ],
                )
            };
        }
        const GOOD: [Case; 5] = [
            case!("rsa2048-e65537"),
            case!("rsa2048-e3"),
            case!("rsa2056-e65537"),
            case!("rsa3072-e65537"),
            case!("rsa4096-e65537"),
        ];
        const SCHEMES: [SignatureScheme; 4] = [
            SignatureScheme::RSA_PKCS1_SHA256,
            SignatureScheme::RSA_PKCS1_SHA384,
            SignatureScheme::RSA_PSS_RSAE_SHA256,
            SignatureScheme::RSA_PSS_RSAE_SHA384,
        ];

        fn digest(scheme: SignatureScheme) -> std::vec::Vec<u8> {
            match scheme_hash(scheme).unwrap() {
                HashAlgorithm::Sha256 => sha2::Sha256::digest(MESSAGE).to_vec(),
                _ => Sha384::digest(MESSAGE).to_vec(),
            }
        }

        #[test]
        fn openssl_signatures_verify() {
            for (name, cert, sigs) in GOOD {
                let key = PeerKey::from_certificate(cert).unwrap();
                assert!(key.is_rsa(), "{name}");
                for (scheme, sig) in SCHEMES.into_iter().zip(sigs) {
                    assert!(
                        key.verify(scheme, &digest(scheme), sig),
                        "{name} {scheme:?}"
                    );
                }
                // Each signature is for its own scheme only: PKCS#1 is not PSS, SHA-256 is
                // not SHA-384, and an ECDSA scheme never verifies with an RSA key.
                for (i, scheme) in SCHEMES.into_iter().enumerate() {
                    for (j, sig) in sigs.iter().enumerate() {
                        if i != j {
                            assert!(!key.verify(scheme, &digest(scheme), sig), "{name} {i} {j}");
                        }
                    }
                }
                assert!(!key.verify(
                    SignatureScheme::ECDSA_SECP256R1_SHA256,
                    &digest(SignatureScheme::RSA_PKCS1_SHA256),
                    sigs[0]
                ));
            }
        }

        #[test]
        fn tampered_signatures_and_messages_are_rejected() {
            for (name, cert, sigs) in GOOD {
                let key = PeerKey::from_certificate(cert).unwrap();
                for (scheme, sig) in SCHEMES.into_iter().zip(sigs) {
                    let d = digest(scheme);
                    // Every bit position class: first, middle, last byte of the signature.
                    for at in [0, sig.len() / 2, sig.len() - 1] {
                        let mut bad = sig.to_vec();
                        bad[at] ^= 0x01;
                        assert!(!key.verify(scheme, &d, &bad), "{name} {scheme:?} byte {at}");
                    }
                    let mut bad_digest = d.clone();
                    bad_digest[5] ^= 0x80;
                    assert!(!key.verify(scheme, &bad_digest, sig), "{name} {scheme:?}");
                    // Wrong lengths: one byte short, one byte long (leading zero), empty.
                    assert!(!key.verify(scheme, &d, &sig[1..]));
                    let mut long = std::vec![0u8];
                    long.extend_from_slice(sig);
                    assert!(!key.verify(scheme, &d, &long));
                    assert!(!key.verify(scheme, &d, &[]));
                    // All ones: above the modulus.
                    assert!(!key.verify(scheme, &d, &std::vec![0xff; sig.len()]));
                    // Digest of the other length.
                    assert!(!key.verify(scheme, &d[..20], sig));
                }
            }
        }

        #[test]
        fn keys_outside_2048_to_4096_bits_are_refused() {
            for cert in [
                &data!("rsa1024-e65537.cert.der")[..],
                &data!("rsa4104-e65537.cert.der")[..],
            ] {
                assert_eq!(
                    PeerKey::from_certificate(cert).unwrap_err(),
                    CertificateError::UnsupportedKey
                );
                // Never accepted as our own certificate either.
                assert!(Certificate::from_der(cert, &[1; 32]).is_err());
            }
            // An RSA certificate has no SEC1 point.
            assert_eq!(
                certificate_public_key(data!("rsa2048-e65537.cert.der")).unwrap_err(),
                CertificateError::UnsupportedKey
            );
        }
    }

    /// Certificates from other implementations (tests/data/cert/make.sh and browsers.mjs):
    /// each one's key is read and verifies the certificate's own signature, made by that
    /// implementation.
    #[test]
    fn peers_keys_verify_their_self_signatures() {
        macro_rules! data {
            ($name:literal) => {
                &include_bytes!(concat!("../tests/data/", $name))[..]
            };
        }
        let ecdsa = [
            data!("cert/openssl-p256.der"),
            data!("cert/gnutls-p256.der"),
            data!("cert/chromium.der"),
            data!("cert/ours-utc-2023.der"),
        ];
        for der in ecdsa {
            let key = PeerKey::from_certificate(der).unwrap();
            let (tbs, alg, sig) = signed_parts(der);
            assert_eq!(alg, [&[tag::OID, 8][..], oid::ECDSA_SHA256].concat());
            let digest = Sha256::digest(tbs);
            assert!(key.verify(SignatureScheme::ECDSA_SECP256R1_SHA256, &digest, sig));
            // One bit of the signed part changed: the signature no longer matches.
            let mut other = tbs.to_vec();
            *other.last_mut().unwrap() ^= 1;
            let digest = Sha256::digest(&other);
            assert!(!key.verify(SignatureScheme::ECDSA_SECP256R1_SHA256, &digest, sig));
        }
        #[cfg(feature = "rsa")]
        for der in [
            data!("cert/openssl-rsa2048.der"),
            data!("cert/gnutls-rsa2048.der"),
            data!("rsa/rsa3072-e65537.cert.der"),
        ] {
            let key = PeerKey::from_certificate(der).unwrap();
            assert!(key.is_rsa());
            let (tbs, alg, sig) = signed_parts(der);
            // sha256WithRSAEncryption (1.2.840.113549.1.1.11) with NULL parameters.
            assert_eq!(
                alg,
                [
                    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00
                ]
            );
            let digest = Sha256::digest(tbs);
            assert!(key.verify(SignatureScheme::RSA_PKCS1_SHA256, &digest, sig));
            assert!(!key.verify(SignatureScheme::RSA_PSS_RSAE_SHA256, &digest, sig));
        }
        for der in [
            data!("cert/openssl-p384.der"),
            data!("cert/openssl-ed25519.der"),
        ] {
            assert_eq!(
                PeerKey::from_certificate(der).unwrap_err(),
                CertificateError::UnsupportedKey
            );
        }
    }

    #[test]
    fn far_future_validity_uses_generalized_time() {
        let mut rng = Drbg::from_seed(&[6; 32], b"cert");
        let cert = Certificate::generate(&mut rng, Validity::days_from(2_600_000_000, 1)).unwrap();
        assert!(PeerKey::from_certificate(cert.der()).is_ok());
    }

    #[test]
    fn fingerprint_sdp_round_trip() {
        let mut rng = Drbg::from_seed(&[7; 32], b"cert");
        let cert = Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 30)).unwrap();
        for alg in [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            let fp = cert.fingerprint(alg);
            let text = fp.to_string();
            assert!(text.starts_with(alg.name()));
            let back = Fingerprint::parse(&text.to_ascii_lowercase()).unwrap();
            assert_eq!(back, fp);
            assert!(back.matches(cert.der()));
        }
        assert!(Fingerprint::parse("sha-256 AB:CD").is_err());
        assert!(Fingerprint::parse("md5 AB").is_err());
    }
}
