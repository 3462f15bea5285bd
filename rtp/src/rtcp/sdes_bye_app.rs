//! Source descriptions, goodbye and application-defined packets (RFC 3550 §6.5-6.7).

use peerless_base::Reader;

use super::compound::u32_at;
use crate::WireError;

/// An SDES item type (RFC 3550 §6.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SdesType(pub u8);

impl SdesType {
    /// Canonical end-point identifier.
    pub const CNAME: SdesType = SdesType(1);
    /// User name.
    pub const NAME: SdesType = SdesType(2);
    /// E-mail address.
    pub const EMAIL: SdesType = SdesType(3);
    /// Phone number.
    pub const PHONE: SdesType = SdesType(4);
    /// Geographic location.
    pub const LOC: SdesType = SdesType(5);
    /// Application or tool name.
    pub const TOOL: SdesType = SdesType(6);
    /// Notice/status.
    pub const NOTE: SdesType = SdesType(7);
    /// Private extensions.
    pub const PRIV: SdesType = SdesType(8);
}

/// One SDES item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SdesItem<'a> {
    /// The item type.
    pub kind: SdesType,
    /// The item text (UTF-8 by RFC 3550, not checked here), at most 255 bytes.
    pub value: &'a [u8],
}

/// Source description packet: chunks of items per SSRC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Sdes<'a> {
    body: &'a [u8],
}

impl<'a> Sdes<'a> {
    pub(super) fn parse(body: &'a [u8], count: usize) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        for _ in 0..count {
            Self::chunk(&mut r).ok_or(WireError::Malformed)?;
        }
        Ok(Sdes { body })
    }

    /// Reads one chunk: SSRC, items up to the null item, padding to a 32-bit boundary.
    fn chunk<'r>(r: &mut Reader<'r>) -> Option<SdesChunk<'r>> {
        let start = r.position();
        let ssrc = r.u32().ok()?;
        let items_at = r.position();
        loop {
            let kind = r.u8().ok()?;
            if kind == 0 {
                break;
            }
            let len = usize::from(r.u8().ok()?);
            r.skip(len).ok()?;
        }
        let items_end = r.position() - 1;
        while (r.position() - start) % 4 != 0 {
            if r.u8().ok()? != 0 {
                return None;
            }
        }
        let items = r.input().get(items_at..items_end)?;
        Some(SdesChunk { ssrc, items })
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> impl Iterator<Item = SdesChunk<'a>> + 'a {
        let mut r = Reader::new(self.body);
        core::iter::from_fn(move || Self::chunk(&mut r))
    }
}

/// The items an SDES packet gives for one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SdesChunk<'a> {
    /// The source described.
    pub ssrc: u32,
    items: &'a [u8],
}

impl<'a> SdesChunk<'a> {
    /// The items, in order.
    pub fn items(&self) -> impl Iterator<Item = SdesItem<'a>> + 'a {
        let mut r = Reader::new(self.items);
        core::iter::from_fn(move || {
            let kind = SdesType(r.u8().ok()?);
            let len = usize::from(r.u8().ok()?);
            Some(SdesItem {
                kind,
                value: r.take(len).ok()?,
            })
        })
    }

    /// The CNAME item, if present.
    #[must_use]
    pub fn cname(&self) -> Option<&'a [u8]> {
        self.items()
            .find(|i| i.kind == SdesType::CNAME)
            .map(|i| i.value)
    }
}

/// Goodbye packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bye<'a> {
    ssrcs: &'a [u8],
    reason: Option<&'a [u8]>,
}

impl<'a> Bye<'a> {
    pub(super) fn parse(body: &'a [u8], count: usize) -> Result<Self, WireError> {
        let mut r = Reader::new(body);
        let ssrcs = r.take(4 * count).map_err(|_| WireError::Malformed)?;
        let reason = if r.is_empty() {
            None
        } else {
            let len = usize::from(r.u8().map_err(|_| WireError::Malformed)?);
            Some(r.take(len).map_err(|_| WireError::Malformed)?)
        };
        Ok(Bye { ssrcs, reason })
    }

    /// The sources leaving.
    pub fn ssrcs(&self) -> impl ExactSizeIterator<Item = u32> + 'a {
        self.ssrcs.chunks_exact(4).map(|c| u32_at(c, 0))
    }

    /// The reason for leaving, if given.
    #[must_use]
    pub fn reason(&self) -> Option<&'a [u8]> {
        self.reason
    }
}

/// Application-defined packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct App<'a> {
    pub(super) subtype: u8,
    pub(super) body: &'a [u8],
}

impl<'a> App<'a> {
    /// The 5-bit subtype.
    #[must_use]
    pub fn subtype(&self) -> u8 {
        self.subtype
    }

    /// The sender's SSRC.
    #[must_use]
    pub fn ssrc(&self) -> u32 {
        u32_at(self.body, 0)
    }

    /// The four-character name.
    #[must_use]
    pub fn name(&self) -> [u8; 4] {
        let mut name = [0u8; 4];
        if let Some(n) = self.body.get(4..8) {
            name.copy_from_slice(n);
        }
        name
    }

    /// The application data.
    #[must_use]
    pub fn data(&self) -> &'a [u8] {
        self.body.get(8..).unwrap_or_default()
    }
}
