//! The negotiated table of extension ids, and reading values from a packet through it.

use super::values::{
    AbsCaptureTime, AbsSendTime, AudioLevel, Mid, PlayoutDelay, RepairedRid, Rid,
    TransportSequenceNumber, VideoOrientation,
};
use super::{Extension, ExtensionError, ExtensionKind};
use crate::packet::Packet;

/// Which local id (`a=extmap:<id>`) carries each extension kind, for one direction of one
/// transport: a table of one byte per kind (0: not negotiated), so it costs 9 bytes and a
/// lookup either way is a scan of nine.
///
/// ```
/// use peerless_rtp::extension::{uri, ExtensionKind, ExtensionMap};
/// let mut map = ExtensionMap::new();
/// assert_eq!(map.insert_uri(3, uri::MID), Ok(Some(ExtensionKind::Mid)));
/// assert_eq!(map.insert_uri(9, "urn:example:unknown"), Ok(None)); // ignored
/// assert_eq!(map.id(ExtensionKind::Mid), Some(3));
/// assert_eq!(map.kind(3), Some(ExtensionKind::Mid));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ExtensionMap {
    ids: [u8; ExtensionKind::ALL.len()],
}

impl ExtensionMap {
    /// A map with nothing negotiated.
    #[must_use]
    pub const fn new() -> Self {
        ExtensionMap {
            ids: [0; ExtensionKind::ALL.len()],
        }
    }

    /// Gives `kind` the id `id` (1-255), replacing the id it had.
    ///
    /// Fails with [`ExtensionError::InvalidId`] for id 0 or an id another kind has: RFC 8285
    /// §5 gives each id one meaning per media section.
    pub fn insert(&mut self, id: u8, kind: ExtensionKind) -> Result<(), ExtensionError> {
        if id == 0 || self.kind(id).is_some_and(|k| k != kind) {
            return Err(ExtensionError::InvalidId);
        }
        if let Some(slot) = self.ids.get_mut(kind.index()) {
            *slot = id;
        }
        Ok(())
    }

    /// Maps `id` to the extension `uri` names (from `a=extmap:<id> <uri>`). Returns the kind,
    /// or `None` for a URI this module does not know (left out of the map, as RFC 8285 §5
    /// lets an endpoint ignore extensions it does not understand).
    pub fn insert_uri(
        &mut self,
        id: u8,
        uri: &str,
    ) -> Result<Option<ExtensionKind>, ExtensionError> {
        match ExtensionKind::from_uri(uri) {
            Some(kind) => self.insert(id, kind).map(|()| Some(kind)),
            None => Ok(None),
        }
    }

    /// Forgets `kind`.
    pub fn remove(&mut self, kind: ExtensionKind) {
        if let Some(slot) = self.ids.get_mut(kind.index()) {
            *slot = 0;
        }
    }

    /// The id of `kind`, if negotiated.
    #[must_use]
    pub fn id(&self, kind: ExtensionKind) -> Option<u8> {
        self.ids.get(kind.index()).copied().filter(|&id| id != 0)
    }

    /// The kind `id` carries, if any.
    #[must_use]
    pub fn kind(&self, id: u8) -> Option<ExtensionKind> {
        if id == 0 {
            return None;
        }
        ExtensionKind::ALL
            .into_iter()
            .zip(self.ids)
            .find_map(|(kind, mapped)| (mapped == id).then_some(kind))
    }

    /// The negotiated (id, kind) pairs, in the order of [`ExtensionKind::ALL`].
    pub fn iter(&self) -> impl Iterator<Item = (u8, ExtensionKind)> + '_ {
        ExtensionKind::ALL
            .into_iter()
            .zip(self.ids)
            .filter(|&(_, id)| id != 0)
            .map(|(kind, id)| (id, kind))
    }

    /// The value of extension `E` in `packet`: `Ok(None)` if it was not negotiated or the
    /// packet does not carry it, [`ExtensionError::Malformed`] if the element's data does not
    /// fit the kind. The first element with the id counts.
    pub fn read<'a, E: Extension<'a>>(
        &self,
        packet: &Packet<'a>,
    ) -> Result<Option<E>, ExtensionError> {
        let Some(id) = self.id(E::KIND) else {
            return Ok(None);
        };
        packet
            .extensions()
            .find(|e| e.id == id)
            .map(|e| E::parse(e.data))
            .transpose()
    }

    /// Every negotiated extension `packet` carries, read in one pass over its elements.
    /// Malformed elements are left out and counted in [`ExtensionValues::malformed`].
    #[must_use]
    pub fn values<'a>(&self, packet: &Packet<'a>) -> ExtensionValues<'a> {
        let mut v = ExtensionValues::default();
        for element in packet.extensions() {
            let Some(kind) = self.kind(element.id) else {
                continue;
            };
            let ok = match kind {
                ExtensionKind::Mid => set(&mut v.mid, element.data),
                ExtensionKind::Rid => set(&mut v.rid, element.data),
                ExtensionKind::RepairedRid => set(&mut v.repaired_rid, element.data),
                ExtensionKind::AbsSendTime => set(&mut v.abs_send_time, element.data),
                ExtensionKind::TransportSequenceNumber => {
                    set(&mut v.transport_sequence_number, element.data)
                }
                ExtensionKind::AudioLevel => set(&mut v.audio_level, element.data),
                ExtensionKind::VideoOrientation => set(&mut v.video_orientation, element.data),
                ExtensionKind::PlayoutDelay => set(&mut v.playout_delay, element.data),
                ExtensionKind::AbsCaptureTime => set(&mut v.abs_capture_time, element.data),
            };
            if !ok {
                v.malformed = v.malformed.saturating_add(1);
            }
        }
        v
    }
}

/// Parses `data` into `slot` unless an earlier element filled it; false if malformed.
fn set<'a, E: Extension<'a>>(slot: &mut Option<E>, data: &'a [u8]) -> bool {
    if slot.is_some() {
        return true;
    }
    match E::parse(data) {
        Ok(value) => {
            *slot = Some(value);
            true
        }
        Err(_) => false,
    }
}

/// The extension values of one packet ([`ExtensionMap::values`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct ExtensionValues<'a> {
    /// [`Mid`].
    pub mid: Option<Mid<'a>>,
    /// [`Rid`].
    pub rid: Option<Rid<'a>>,
    /// [`RepairedRid`].
    pub repaired_rid: Option<RepairedRid<'a>>,
    /// [`AbsSendTime`].
    pub abs_send_time: Option<AbsSendTime>,
    /// [`TransportSequenceNumber`].
    pub transport_sequence_number: Option<TransportSequenceNumber>,
    /// [`AudioLevel`].
    pub audio_level: Option<AudioLevel>,
    /// [`VideoOrientation`].
    pub video_orientation: Option<VideoOrientation>,
    /// [`PlayoutDelay`].
    pub playout_delay: Option<PlayoutDelay>,
    /// [`AbsCaptureTime`].
    pub abs_capture_time: Option<AbsCaptureTime>,
    /// Elements of a negotiated kind whose data did not fit it (left out above).
    pub malformed: u8,
}
