//! The DER our certificates need, by hand: a checked reader of tag-length-value items and a
//! writer of their headers, instead of a general ASN.1 library.
//!
//! ```text
//!  read:  tag (one byte, low-tag-number form) | length (short, or 81..84 + minimal bytes) | value
//!         ──► (tag, &value): the whole item or `Malformed`, never a partial read
//!  write: header(tag, len) + the value the caller writes; lengths are computed up front, so
//!         an emitter is a straight list of fields (`tlv_len` sizes a nested item)
//! ```
//!
//! Only definite, minimal lengths are accepted (DER, X.690 §10.1): indefinite lengths, long
//! forms that fit a shorter one and lengths past the end of the input are `Malformed`, so a
//! hostile certificate can neither make us read out of bounds nor accept two encodings of one
//! key.

use peerless_base::{Reader, Writer};

/// Universal and context-specific tags we meet (X.680 §8.6; the constructed bit included).
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTF8_STRING: u8 = 0x0c;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    /// `[0] EXPLICIT` (constructed): the certificate's version.
    pub(crate) const CONTEXT_0: u8 = 0xa0;
    /// `[1] IMPLICIT BIT STRING`: issuerUniqueID.
    pub(crate) const CONTEXT_1: u8 = 0x81;
    /// `[2] IMPLICIT BIT STRING`: subjectUniqueID.
    pub(crate) const CONTEXT_2: u8 = 0x82;
    /// `[3] EXPLICIT` (constructed): extensions.
    pub(crate) const CONTEXT_3: u8 = 0xa3;
}

/// The object identifiers we compare, as their DER contents (without tag and length).
pub(crate) mod oid {
    /// 1.2.840.10045.2.1 id-ecPublicKey.
    pub(crate) const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
    /// 1.2.840.10045.3.1.7 prime256v1 (secp256r1).
    pub(crate) const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    /// 1.2.840.10045.4.3.2 ecdsa-with-SHA256.
    pub(crate) const ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    /// 1.2.840.113549.1.1.1 rsaEncryption.
    #[cfg(feature = "rsa")]
    pub(crate) const RSA_ENCRYPTION: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    /// 2.5.4.3 commonName.
    pub(crate) const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
}

/// The input is not the DER we expect (the reason does not matter to a caller: the
/// certificate is refused either way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

impl From<peerless_base::ReadError> for Malformed {
    fn from(_: peerless_base::ReadError) -> Self {
        Malformed
    }
}

/// The next item: its tag and its value. Consumes the whole item, or nothing on error.
pub(crate) fn read<'a>(r: &mut Reader<'a>) -> Result<(u8, &'a [u8]), Malformed> {
    // Work on a copy so a failed read leaves `r` where it was.
    let mut c = r.clone();
    let tag = c.u8()?;
    if tag & 0x1f == 0x1f {
        // High-tag-number form: nothing in a certificate we read uses it.
        return Err(Malformed);
    }
    let first = c.u8()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        // 0x80 is BER's indefinite length; more than four length bytes cannot fit any input.
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return Err(Malformed);
        }
        let mut len = 0usize;
        for _ in 0..n {
            len = (len << 8) | usize::from(c.u8()?);
        }
        // Minimal: a long form only for 128 and up, and no leading zero byte.
        if len < 0x80 || len >> (8 * (n - 1)) == 0 {
            return Err(Malformed);
        }
        len
    };
    let value = c.take(len)?;
    *r = c;
    Ok((tag, value))
}

/// The next item, which must have tag `expected`: its value.
pub(crate) fn expect<'a>(r: &mut Reader<'a>, expected: u8) -> Result<&'a [u8], Malformed> {
    match read(r)? {
        (tag, value) if tag == expected => Ok(value),
        _ => Err(Malformed),
    }
}

/// The next item's value if it has tag `wanted`; nothing consumed otherwise.
pub(crate) fn optional<'a>(r: &mut Reader<'a>, wanted: u8) -> Result<Option<&'a [u8]>, Malformed> {
    if r.peek_u8().ok() == Some(wanted) {
        expect(r, wanted).map(Some)
    } else {
        Ok(None)
    }
}

/// A DER INTEGER that must be non-negative (an RSA modulus or exponent): its magnitude,
/// big-endian, without the sign byte. Negative and non-minimal encodings are `Malformed`.
#[cfg(feature = "rsa")]
pub(crate) fn unsigned<'a>(r: &mut Reader<'a>) -> Result<&'a [u8], Malformed> {
    let value = expect(r, tag::INTEGER)?;
    match value {
        [] => Err(Malformed),
        [b, ..] if b & 0x80 != 0 => Err(Malformed),
        [0, next, ..] if next & 0x80 == 0 => Err(Malformed),
        [0, rest @ ..] if !rest.is_empty() => Ok(rest),
        _ => Ok(value),
    }
}

/// A BIT STRING's bytes, which must be whole (no unused bits), as keys and signatures are.
pub(crate) fn whole_bits(value: &[u8]) -> Result<&[u8], Malformed> {
    match value {
        [0, bits @ ..] => Ok(bits),
        _ => Err(Malformed),
    }
}

/// How many bytes an item with `len` bytes of value takes, header included.
pub(crate) const fn tlv_len(len: usize) -> usize {
    len + header_len(len)
}

const fn header_len(len: usize) -> usize {
    match len {
        0..0x80 => 2,
        0x80..0x100 => 3,
        0x100..0x1_0000 => 4,
        _ => 5,
    }
}

/// Writes the header of an item whose value (`len` bytes, below 16 MiB: our certificate is a
/// few hundred) the caller writes next.
pub(crate) fn header(w: &mut Writer<'_>, tag: u8, len: usize) {
    w.u8(tag);
    match len {
        0..0x80 => w.u8(len as u8),
        0x80..0x100 => w.bytes(&[0x81, len as u8]),
        0x100..0x1_0000 => {
            w.u8(0x82);
            w.u16(len as u16);
        }
        _ => {
            w.u8(0x83);
            w.u24(len as u32);
        }
    }
}

/// Writes a whole item.
pub(crate) fn tlv(w: &mut Writer<'_>, tag: u8, value: &[u8]) {
    header(w, tag, value.len());
    w.bytes(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    fn one(bytes: &[u8]) -> Result<(u8, &[u8]), Malformed> {
        let mut r = Reader::new(bytes);
        let item = read(&mut r)?;
        r.finish()?;
        Ok(item)
    }

    #[test]
    fn lengths_must_be_definite_minimal_and_in_bounds() {
        assert_eq!(one(&[0x02, 0x01, 0x05]), Ok((0x02, &[5u8][..])));
        let mut long = [0u8; 3 + 200];
        long[..3].copy_from_slice(&[0x04, 0x81, 200]);
        assert_eq!(one(&long).map(|(_, v)| v.len()), Ok(200));
        let mut longer = [0u8; 4 + 300];
        longer[..4].copy_from_slice(&[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(one(&longer).map(|(_, v)| v.len()), Ok(300));
        for bad in [
            &[0x02][..],                           // no length
            &[0x02, 0x02, 0x05],                   // value past the end
            &[0x30, 0x80, 0x00, 0x00],             // indefinite
            &[0x02, 0x81, 0x01, 0x05],             // long form for a short length
            &[0x04, 0x82, 0x00, 0x81],             // leading zero length byte
            &[0x04, 0x85, 0, 0, 0, 0, 1],          // five length bytes
            &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff], // huge, past the end
            &[0x1f, 0x01, 0x00],                   // high tag number
        ] {
            assert_eq!(one(bad), Err(Malformed), "{bad:02x?}");
        }
        // A failed read consumes nothing.
        let mut r = Reader::new(&[0x02, 0x05, 0x01]);
        assert!(read(&mut r).is_err());
        assert_eq!(r.position(), 0);
    }

    #[test]
    fn headers_round_trip() {
        for len in [0usize, 1, 127, 128, 255, 256, 1000, 70_000] {
            let mut buf = std::vec![0u8; 70_010];
            let mut w = Writer::new(&mut buf);
            header(&mut w, tag::SEQUENCE, len);
            w.fill(0xaa, len);
            let n = w.finish().unwrap();
            assert_eq!(n, tlv_len(len));
            assert_eq!(one(&buf[..n]).map(|(t, v)| (t, v.len())), Ok((0x30, len)));
        }
    }

    #[cfg(feature = "rsa")]
    #[test]
    fn unsigned_integers_are_minimal_and_non_negative() {
        let int = |v: &[u8]| {
            let mut bytes = std::vec![0x02, v.len() as u8];
            bytes.extend_from_slice(v);
            unsigned(&mut Reader::new(&bytes)).map(<[u8]>::to_vec)
        };
        assert_eq!(int(&[0x01, 0x00, 0x01]), Ok(std::vec![1, 0, 1]));
        assert_eq!(int(&[0x00, 0x80]), Ok(std::vec![0x80]));
        assert_eq!(int(&[0x00]), Ok(std::vec![0]));
        assert_eq!(int(&[]), Err(Malformed));
        assert_eq!(int(&[0x80]), Err(Malformed)); // negative
        assert_eq!(int(&[0x00, 0x01]), Err(Malformed)); // non-minimal
    }
}
