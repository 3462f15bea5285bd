//! Areas lent to a Peer that lives in a `static` slot, and given back when it is dropped.
//!
//! ```text
//!   task start:  PeerResources' areas (SCTP send/recv, media send) ──put──▶ AreaHome (one each)
//!   first session: AreaHome::lend ──▶ Lent ──▶ Peer::new (SCTP), lend_media_area (media)
//!   next sessions: Peer::restart keeps the SCTP areas and drops the media ones ──▶
//!                  each Lent::drop puts its area back home ──▶ lend_media_area again
//! ```
//!
//! Why: the Peer lives in [`crate::PeerResources`] (static memory), so its type cannot borrow
//! with a lifetime shorter than `'static`; an area lent as `&'static mut [u8]` could then be
//! lent only once (a media area released by `Peer::restart` would be gone for good). A [`Lent`] is that `&'static mut [u8]` plus
//! the way home, so the borrow checker sees an owned value and each session's Peer gets the
//! same bytes again. No `unsafe`: the hand-over is a `Cell` behind embassy-sync's critical
//! section mutex (a static must be `Sync`), taken once per area per session.

use core::cell::Cell;

use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;

/// Where an area waits while no Peer holds it. Empty (`None`, all zero bytes) until the
/// task puts its area there, so a `static` of these is `.bss`.
pub struct AreaHome(Mutex<CriticalSectionRawMutex, Cell<Option<&'static mut [u8]>>>);

impl AreaHome {
    /// An empty home (a `const fn`: `.bss`).
    #[must_use]
    pub const fn new() -> Self {
        AreaHome(Mutex::new(Cell::new(None)))
    }

    /// Puts an area here (at task start; later, a dropped [`Lent`] does it).
    pub fn put(&self, area: &'static mut [u8]) {
        self.0.lock(|cell| cell.set(Some(area)));
    }

    /// Lends the area: it comes back when the [`Lent`] is dropped. An empty home (its area
    /// already lent: a bug of ours) lends an empty area, which the Peer refuses to fill
    /// rather than anything panicking.
    pub fn lend(&'static self) -> Lent {
        let area = self.0.lock(Cell::take).unwrap_or_default();
        Lent { area, home: self }
    }
}

impl Default for AreaHome {
    fn default() -> Self {
        Self::new()
    }
}

/// An area a Peer owns for one session ([`peerless::Area`]: `AsRef`/`AsMut<[u8]>`).
pub struct Lent {
    area: &'static mut [u8],
    home: &'static AreaHome,
}

impl AsRef<[u8]> for Lent {
    fn as_ref(&self) -> &[u8] {
        self.area
    }
}

impl AsMut<[u8]> for Lent {
    fn as_mut(&mut self) -> &mut [u8] {
        self.area
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        // An empty area (lent from an empty home) has nothing to give back, and must not
        // take the place of the real one.
        let area = core::mem::take(&mut self.area);
        if !area.is_empty() {
            self.home.put(area);
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    #[test]
    fn an_area_goes_home_when_its_holder_is_dropped() {
        static HOME: AreaHome = AreaHome::new();
        HOME.put(std::boxed::Box::leak(std::boxed::Box::new([0u8; 16])));
        let mut first = HOME.lend();
        assert_eq!(first.as_mut().len(), 16);
        first.as_mut()[0] = 7;
        // Lent out: a second lend gets nothing, and nothing panics; dropping it changes
        // nothing.
        assert_eq!(HOME.lend().as_ref().len(), 0);
        drop(first);
        let second = HOME.lend();
        assert_eq!(second.as_ref().len(), 16);
        assert_eq!(second.as_ref()[0], 7);
    }
}
