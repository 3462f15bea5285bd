//! Writing typed values as the header extension elements of a packet to send.

use super::{Extension, ExtensionError, ExtensionMap};
use crate::packet::Element;

/// Collects the extension values of one packet as RFC 8285 elements, in its own fixed
/// storage (`N` elements, `B` bytes of element data), for a [`Header`](crate::packet::Header)
/// to emit. The header picks the one-byte form unless an element needs two bytes (an id
/// above 14, data over 16 bytes): `ExtensionForm::Auto`.
///
/// ```
/// use peerless_rtp::extension::{uri, ExtensionMap, ExtensionWriter, Mid, TransportSequenceNumber};
/// use peerless_rtp::packet::{Header, Packet};
/// let mut map = ExtensionMap::new();
/// map.insert_uri(1, uri::MID)?;
/// map.insert_uri(3, uri::TRANSPORT_SEQUENCE_NUMBER)?;
///
/// let mut ext = ExtensionWriter::<4, 32>::new(&map);
/// ext.put(&Mid("0"))?;
/// ext.put(&TransportSequenceNumber(7))?;
/// let elements = ext.elements();
/// let header = Header { payload_type: 96, ssrc: 1, extensions: elements.as_slice(), ..Header::default() };
/// let mut buf = [0u8; 64];
/// let n = header.emit(b"payload", &mut buf).unwrap();
///
/// let packet = Packet::parse(&buf[..n]).unwrap();
/// assert_eq!(map.read::<Mid>(&packet)?, Some(Mid("0")));
/// assert_eq!(map.values(&packet).transport_sequence_number, Some(TransportSequenceNumber(7)));
/// # Ok::<(), peerless_rtp::extension::ExtensionError>(())
/// ```
#[derive(Clone, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ExtensionWriter<'m, const N: usize = 8, const B: usize = 64> {
    map: &'m ExtensionMap,
    bytes: [u8; B],
    used: usize,
    /// (id, start, length) of each element in `bytes`.
    entries: [(u8, usize, usize); N],
    count: usize,
}

impl<'m, const N: usize, const B: usize> ExtensionWriter<'m, N, B> {
    /// An empty writer for the ids of `map`.
    #[must_use]
    pub fn new(map: &'m ExtensionMap) -> Self {
        ExtensionWriter {
            map,
            bytes: [0; B],
            used: 0,
            entries: [(0, 0, 0); N],
            count: 0,
        }
    }

    /// Adds `value` as an element with its negotiated id.
    ///
    /// Fails with [`ExtensionError::NotNegotiated`] if the map has no id for it,
    /// [`ExtensionError::InvalidValue`] if it cannot be written, [`ExtensionError::Full`] if
    /// the writer has no room; the writer is unchanged then.
    pub fn put<'v, E: Extension<'v>>(&mut self, value: &E) -> Result<&mut Self, ExtensionError> {
        let id = self.map.id(E::KIND).ok_or(ExtensionError::NotNegotiated)?;
        let slot = self
            .entries
            .get_mut(self.count)
            .ok_or(ExtensionError::Full)?;
        let room = self
            .bytes
            .get_mut(self.used..)
            .ok_or(ExtensionError::Full)?;
        let len = value.emit(room)?;
        *slot = (id, self.used, len);
        self.used += len;
        self.count += 1;
        Ok(self)
    }

    /// Forgets every element (the map stays).
    pub fn clear(&mut self) {
        self.used = 0;
        self.count = 0;
    }

    /// The elements written so far, borrowing the writer's bytes.
    #[must_use]
    pub fn elements(&self) -> WrittenElements<'_, N> {
        let mut list = [Element { id: 0, data: &[] }; N];
        for (element, &(id, start, len)) in list.iter_mut().zip(&self.entries).take(self.count) {
            *element = Element {
                id,
                data: self.bytes.get(start..start + len).unwrap_or_default(),
            };
        }
        WrittenElements {
            list,
            len: self.count,
        }
    }
}

/// The elements of an [`ExtensionWriter`], as the slice a [`Header`](crate::packet::Header)
/// takes.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WrittenElements<'a, const N: usize> {
    list: [Element<'a>; N],
    len: usize,
}

impl<'a, const N: usize> WrittenElements<'a, N> {
    /// The elements, in the order they were put.
    #[must_use]
    pub fn as_slice(&self) -> &[Element<'a>] {
        self.list.get(..self.len).unwrap_or_default()
    }
}
