//! RTP packets (RFC 3550 §5.1) with header extensions (RFC 8285): a checked view and an
//! emitter.
//!
//! ```text
//!    0                   1                   2                   3
//!   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//!   |                           timestamp                           |
//!   |                             SSRC                              |
//!   |                        CSRC list (CC × 32 bits)               |
//!   |  0xBEDE (one-byte) / 0x100x (two-byte)  |   length (words)    |  if X
//!   |                   extension elements, padded                  |
//!   |                            payload            ... | padding | count |  if P
//! ```

use peerless_base::{Reader, Writer};

use crate::WireError;

/// The size of the fixed RTP header.
pub const FIXED_HEADER_LEN: usize = 12;

/// The "defined by profile" field of a header extension, which says how to read its elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ExtensionProfile(pub u16);

impl ExtensionProfile {
    /// RFC 8285 §4.2 one-byte header elements.
    pub const ONE_BYTE: ExtensionProfile = ExtensionProfile(0xBEDE);
    /// RFC 8285 §4.3 two-byte header elements (`0x100` in the top 12 bits, the low 4 bits
    /// are "appbits" and free for the application).
    pub const TWO_BYTE: ExtensionProfile = ExtensionProfile(0x1000);

    /// Whether elements use the one-byte form.
    #[must_use]
    pub const fn is_one_byte(self) -> bool {
        self.0 == Self::ONE_BYTE.0
    }

    /// Whether elements use the two-byte form (any appbits).
    #[must_use]
    pub const fn is_two_byte(self) -> bool {
        self.0 & 0xfff0 == Self::TWO_BYTE.0
    }
}

/// The fixed header of an RTP packet and the length of its whole header (CSRCs and
/// extension), checked without looking at the payload.
///
/// This is what SRTP reads before it can authenticate or decrypt: the payload, and with it
/// the padding count in its last byte, is still ciphertext, so [`Packet::parse`] cannot be
/// used yet. [`Packet::parse`] starts with this view, so both agree on every header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HeaderView<'a> {
    bytes: &'a [u8],
    header_len: usize,
    first: u8,
    second: u8,
    sequence_number: u16,
    timestamp: u32,
    ssrc: u32,
}

impl<'a> HeaderView<'a> {
    /// Checks version 2 and that the fixed header, the CSRC list and the header extension
    /// (if X is set) lie within `bytes`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let first = r.u8()?;
        let second = r.u8()?;
        let sequence_number = r.u16()?;
        let timestamp = r.u32()?;
        let ssrc = r.u32()?;
        if first >> 6 != 2 {
            return Err(WireError::Malformed);
        }
        r.skip(4 * usize::from(first & 0x0f))?;
        if first & 0x10 != 0 {
            let _profile = r.u16()?;
            let words = r.u16()?;
            r.skip(4 * usize::from(words))?;
        }
        Ok(HeaderView {
            bytes,
            header_len: bytes.len() - r.remaining(),
            first,
            second,
            sequence_number,
            timestamp,
            ssrc,
        })
    }

    /// The length of the header: fixed part, CSRCs and extension.
    #[must_use]
    pub fn len(&self) -> usize {
        self.header_len
    }

    /// Always false: a header is at least [`FIXED_HEADER_LEN`] bytes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The marker bit.
    #[must_use]
    pub fn marker(&self) -> bool {
        self.second & 0x80 != 0
    }

    /// The payload type (7 bits).
    #[must_use]
    pub fn payload_type(&self) -> u8 {
        self.second & 0x7f
    }

    /// The sequence number.
    #[must_use]
    pub fn sequence_number(&self) -> u16 {
        self.sequence_number
    }

    /// The RTP timestamp.
    #[must_use]
    pub fn timestamp(&self) -> u32 {
        self.timestamp
    }

    /// The synchronisation source.
    #[must_use]
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The header bytes (what SRTP authenticates but does not encrypt).
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes.get(..self.header_len).unwrap_or_default()
    }
}

/// A checked view of an RTP packet. Every accessor is infallible once [`Packet::parse`]
/// succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Packet<'a> {
    header: HeaderView<'a>,
    padding_len: usize,
}

impl<'a> Packet<'a> {
    /// Checks `bytes` as an RTP packet: version 2, CSRC list and header extension within the
    /// packet, and a padding count (if P is set) that is at least 1 and fits in the payload.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, WireError> {
        let header = HeaderView::parse(bytes)?;
        let padding_len = if header.first & 0x20 != 0 {
            let count = usize::from(*bytes.last().ok_or(WireError::Malformed)?);
            if count == 0 || count > bytes.len() - header.len() {
                return Err(WireError::Malformed);
            }
            count
        } else {
            0
        };
        Ok(Packet {
            header,
            padding_len,
        })
    }

    /// The checked header.
    #[must_use]
    pub fn header_view(&self) -> HeaderView<'a> {
        self.header
    }

    /// The whole packet.
    #[must_use]
    pub fn as_bytes(&self) -> &'a [u8] {
        self.header.bytes
    }

    /// The version field (always 2 after a successful parse).
    #[must_use]
    pub fn version(&self) -> u8 {
        self.header.first >> 6
    }

    /// Whether the P bit is set (the payload ends with padding).
    #[must_use]
    pub fn has_padding(&self) -> bool {
        self.header.first & 0x20 != 0
    }

    /// Whether the X bit is set (a header extension follows the CSRCs).
    #[must_use]
    pub fn has_extension(&self) -> bool {
        self.header.first & 0x10 != 0
    }

    /// The marker bit.
    #[must_use]
    pub fn marker(&self) -> bool {
        self.header.marker()
    }

    /// The payload type (7 bits).
    #[must_use]
    pub fn payload_type(&self) -> u8 {
        self.header.payload_type()
    }

    /// The sequence number.
    #[must_use]
    pub fn sequence_number(&self) -> u16 {
        self.header.sequence_number
    }

    /// The RTP timestamp.
    #[must_use]
    pub fn timestamp(&self) -> u32 {
        self.header.timestamp
    }

    /// The synchronisation source.
    #[must_use]
    pub fn ssrc(&self) -> u32 {
        self.header.ssrc
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        let count = usize::from(self.header.first & 0x0f);
        let list = self
            .header
            .bytes
            .get(FIXED_HEADER_LEN..FIXED_HEADER_LEN + 4 * count)
            .unwrap_or_default();
        list.chunks_exact(4)
            .map(|c| c.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b)))
    }

    /// The header extension's profile field and data, if the X bit is set.
    #[must_use]
    pub fn extension(&self) -> Option<(ExtensionProfile, &'a [u8])> {
        if !self.has_extension() {
            return None;
        }
        let at = FIXED_HEADER_LEN + 4 * usize::from(self.header.first & 0x0f);
        let ext = self.header.bytes.get(at..self.header.len())?;
        let mut r = Reader::new(ext);
        let profile = r.u16().ok()?;
        let _words = r.u16().ok()?;
        Some((ExtensionProfile(profile), r.rest()))
    }

    /// The RFC 8285 extension elements, in either form. Empty if there is no extension or its
    /// profile is neither form; the iterator stops at the first malformed element.
    #[must_use]
    pub fn extensions(&self) -> Extensions<'a> {
        match self.extension() {
            Some((profile, data)) if profile.is_one_byte() => Extensions {
                reader: Reader::new(data),
                two_byte: false,
            },
            Some((profile, data)) if profile.is_two_byte() => Extensions {
                reader: Reader::new(data),
                two_byte: true,
            },
            _ => Extensions {
                reader: Reader::new(&[]),
                two_byte: false,
            },
        }
    }

    /// The length of the header: fixed part, CSRCs and extension.
    #[must_use]
    pub fn header_len(&self) -> usize {
        self.header.len()
    }

    /// The header bytes (what SRTP authenticates but does not encrypt).
    #[must_use]
    pub fn header(&self) -> &'a [u8] {
        self.header.as_bytes()
    }

    /// The payload, without padding.
    #[must_use]
    pub fn payload(&self) -> &'a [u8] {
        let bytes = self.header.bytes;
        bytes
            .get(self.header.len()..bytes.len() - self.padding_len)
            .unwrap_or_default()
    }

    /// Bytes of padding at the end (including the count byte), 0 without the P bit.
    #[must_use]
    pub fn padding_len(&self) -> usize {
        self.padding_len
    }
}

/// One header extension element (RFC 8285): a local identifier and its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Element<'a> {
    /// The local identifier negotiated with `a=extmap` (1-14 in the one-byte form, 1-255 in
    /// the two-byte form).
    pub id: u8,
    /// The element's data (1-16 bytes in the one-byte form, 0-255 in the two-byte form).
    pub data: &'a [u8],
}

/// Iterator over the elements of a one- or two-byte header extension.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Extensions<'a> {
    reader: Reader<'a>,
    two_byte: bool,
}

impl<'a> Iterator for Extensions<'a> {
    type Item = Element<'a>;

    fn next(&mut self) -> Option<Element<'a>> {
        loop {
            let first = self.reader.u8().ok()?;
            if self.two_byte {
                if first == 0 {
                    continue; // padding
                }
                let len = usize::from(self.reader.u8().ok()?);
                let data = self.reader.take(len).ok()?;
                return Some(Element { id: first, data });
            }
            let id = first >> 4;
            match id {
                0 => continue, // padding byte
                // RFC 8285 §4.2: ID 15 is reserved and ends the processing of the extension.
                15 => {
                    self.reader.rest();
                    return None;
                }
                _ => {
                    let len = usize::from(first & 0x0f) + 1;
                    let data = self.reader.take(len).ok()?;
                    return Some(Element { id, data });
                }
            }
        }
    }
}

/// Which RFC 8285 form [`Header::emit`] writes the extension elements in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ExtensionForm {
    /// One-byte if every element fits it (id 1-14, 1-16 bytes), otherwise two-byte.
    #[default]
    Auto,
    /// One-byte elements (profile 0xBEDE).
    OneByte,
    /// Two-byte elements (profile 0x1000).
    TwoByte,
}

/// An RTP header to emit: the fields a sender chooses.
///
/// ```
/// use peerless_rtp::packet::{Element, Header, Packet};
/// let header = Header {
///     marker: true,
///     payload_type: 111,
///     sequence_number: 7,
///     timestamp: 960,
///     ssrc: 0x1234_5678,
///     extensions: &[Element { id: 1, data: &[0xaa] }],
///     ..Header::default()
/// };
/// let mut buf = [0u8; 64];
/// let n = header.emit(b"opus", &mut buf)?;
/// let packet = Packet::parse(&buf[..n])?;
/// assert_eq!(packet.payload(), b"opus");
/// assert_eq!(packet.extensions().next(), Some(Element { id: 1, data: &[0xaa] }));
/// # Ok::<(), peerless_rtp::WireError>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header<'h> {
    /// The marker bit.
    pub marker: bool,
    /// The payload type (7 bits; the top bit is ignored).
    pub payload_type: u8,
    /// The sequence number.
    pub sequence_number: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The synchronisation source.
    pub ssrc: u32,
    /// Contributing sources (at most 15; more is an error).
    pub csrcs: &'h [u32],
    /// Header extension elements; none means no X bit.
    pub extensions: &'h [Element<'h>],
    /// The form to write `extensions` in.
    pub extension_form: ExtensionForm,
    /// Padding bytes to append after the payload, including the count byte (0 for none).
    pub padding: u8,
}

impl Header<'_> {
    fn one_byte_fits(&self) -> bool {
        self.extensions
            .iter()
            .all(|e| (1..=14).contains(&e.id) && (1..=16).contains(&e.data.len()))
    }

    /// Writes the header, `payload` and any padding into `buf`; returns the packet length.
    ///
    /// Fails with [`WireError::Unrepresentable`] if the header cannot be expressed (more than 15 CSRCs,
    /// an element that does not fit the chosen form, an extension over 2^18 bytes) and with
    /// [`WireError::BufferTooSmall`] if `buf` is too short.
    pub fn emit(&self, payload: &[u8], buf: &mut [u8]) -> Result<usize, WireError> {
        let cc = u8::try_from(self.csrcs.len())
            .ok()
            .filter(|&c| c <= 15)
            .ok_or(WireError::Unrepresentable)?;
        let two_byte = match self.extension_form {
            ExtensionForm::Auto => !self.one_byte_fits(),
            ExtensionForm::OneByte if self.one_byte_fits() => false,
            ExtensionForm::OneByte => return Err(WireError::Unrepresentable),
            ExtensionForm::TwoByte => {
                if self
                    .extensions
                    .iter()
                    .any(|e| e.id == 0 || e.data.len() > 255)
                {
                    return Err(WireError::Unrepresentable);
                }
                true
            }
        };
        let has_ext = !self.extensions.is_empty();
        let mut w = Writer::new(buf);
        w.u8(0x80 | u8::from(self.padding != 0) << 5 | u8::from(has_ext) << 4 | cc);
        w.u8(u8::from(self.marker) << 7 | (self.payload_type & 0x7f));
        w.u16(self.sequence_number);
        w.u32(self.timestamp);
        w.u32(self.ssrc);
        for &csrc in self.csrcs {
            w.u32(csrc);
        }
        if has_ext {
            w.u16(if two_byte {
                ExtensionProfile::TWO_BYTE.0
            } else {
                ExtensionProfile::ONE_BYTE.0
            });
            let length_at = w.position();
            w.u16(0);
            let start = w.position();
            for e in self.extensions {
                if two_byte {
                    w.u8(e.id);
                    w.u8(e.data.len() as u8);
                } else {
                    w.u8(e.id << 4 | (e.data.len() - 1) as u8);
                }
                w.bytes(e.data);
            }
            while (w.position() - start) % 4 != 0 {
                w.u8(0);
            }
            let words = u16::try_from((w.position() - start) / 4)
                .map_err(|_| WireError::Unrepresentable)?;
            w.patch_u16(length_at, words);
        }
        w.bytes(payload);
        if self.padding != 0 {
            for _ in 1..self.padding {
                w.u8(0);
            }
            w.u8(self.padding);
        }
        Ok(w.finish()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn parses_every_field() {
        // V=2 P X CC=1, M, PT 96, seq 0x1234, ts, ssrc, one CSRC, one-byte extension with two
        // elements and padding, payload "hi", padding 2.
        let bytes = hex!(
            "b1e01234 00000064 cafebabe 01020304"
            "bede0002 11cafe00 20ba0000"
            "6869 0002"
        );
        let p = Packet::parse(&bytes).unwrap();
        assert_eq!(p.version(), 2);
        assert!(p.has_padding() && p.has_extension() && p.marker());
        assert_eq!(p.payload_type(), 96);
        assert_eq!(p.sequence_number(), 0x1234);
        assert_eq!(p.timestamp(), 100);
        assert_eq!(p.ssrc(), 0xcafebabe);
        assert!(p.csrcs().eq([0x01020304]));
        let elements: std::vec::Vec<_> = p.extensions().collect();
        assert_eq!(
            elements,
            [
                Element {
                    id: 1,
                    data: &[0xca, 0xfe]
                },
                Element {
                    id: 2,
                    data: &[0xba]
                }
            ]
        );
        assert_eq!(p.header_len(), 28);
        assert_eq!(p.payload(), b"hi");
        assert_eq!(p.padding_len(), 2);
    }

    #[test]
    fn two_byte_form_and_stop_id() {
        let bytes = hex!("90000001 00000000 00000001 10000002 0102aabb 00030000 11");
        let p = Packet::parse(&bytes).unwrap();
        let elements: std::vec::Vec<_> = p.extensions().collect();
        assert_eq!(
            elements,
            [
                Element {
                    id: 1,
                    data: &[0xaa, 0xbb]
                },
                Element { id: 3, data: &[] }
            ]
        );
        // One-byte ID 15 stops processing.
        let bytes = hex!("90000001 00000000 00000001 bede0001 10aaf0bb");
        let p = Packet::parse(&bytes).unwrap();
        assert!(p.extensions().eq([Element {
            id: 1,
            data: &[0xaa]
        }]));
    }

    #[test]
    fn rejects_what_does_not_fit() {
        assert_eq!(Packet::parse(&[]), Err(WireError::Malformed));
        assert_eq!(Packet::parse(&[0x80; 11]), Err(WireError::Malformed));
        assert_eq!(
            Packet::parse(&hex!("40000000 00000000 00000000")),
            Err(WireError::Malformed)
        );
        // CC says one CSRC, none present.
        assert_eq!(
            Packet::parse(&hex!("81000000 00000000 00000000")),
            Err(WireError::Malformed)
        );
        // Extension length past the end.
        assert_eq!(
            Packet::parse(&hex!("90000000 00000000 00000000 bede0002 00000000")),
            Err(WireError::Malformed)
        );
        // Padding count 0, and padding longer than the payload.
        assert_eq!(
            Packet::parse(&hex!("a0000000 00000000 00000000 00")),
            Err(WireError::Malformed)
        );
        assert_eq!(
            Packet::parse(&hex!("a0000000 00000000 00000000 0103")),
            Err(WireError::Malformed)
        );
        assert!(Packet::parse(&hex!("a0000000 00000000 00000000 0002")).is_ok());
    }

    #[test]
    fn emit_round_trips_with_csrcs_two_byte_and_padding() {
        let header = Header {
            marker: false,
            payload_type: 100,
            sequence_number: 65535,
            timestamp: 0xdeadbeef,
            ssrc: 42,
            csrcs: &[1, 2, 3],
            extensions: &[
                Element {
                    id: 20,
                    data: &[1, 2, 3],
                },
                Element { id: 2, data: &[] },
            ],
            extension_form: ExtensionForm::Auto,
            padding: 4,
        };
        let mut buf = [0u8; 128];
        let n = header.emit(b"payload", &mut buf).unwrap();
        let p = Packet::parse(&buf[..n]).unwrap();
        assert_eq!(p.extension().unwrap().0, ExtensionProfile::TWO_BYTE);
        assert!(p.csrcs().eq([1, 2, 3]));
        assert!(p.extensions().eq(header.extensions.iter().copied()));
        assert_eq!(p.payload(), b"payload");
        assert_eq!(p.padding_len(), 4);
        assert_eq!(p.sequence_number(), 65535);
        let mut small = [0u8; 20];
        assert_eq!(
            header.emit(b"payload", &mut small),
            Err(WireError::BufferTooSmall { needed: n })
        );
        let bad = Header {
            csrcs: &[0; 16],
            ..header
        };
        assert_eq!(bad.emit(b"", &mut buf), Err(WireError::Unrepresentable));
        let bad = Header {
            extension_form: ExtensionForm::OneByte,
            ..header
        };
        assert_eq!(bad.emit(b"", &mut buf), Err(WireError::Unrepresentable));
    }
}
