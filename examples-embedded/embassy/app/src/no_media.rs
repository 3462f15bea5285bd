//! Without the `media` feature: the same hooks as `media.rs`, doing nothing, so the
//! data-channel build has no transceivers, no clip in flash and no media areas.

use peerless::{Config, Event};

use crate::AppPeer;

/// The demo page: a data channel only.
pub const PAGE: &str = crate::http::PAGE;

/// No transceivers: media sections of an offer are answered with port 0.
pub const TRANSCEIVERS: usize = 0;

/// No areas.
pub struct MediaAreas;

impl MediaAreas {
    /// Nothing.
    #[must_use]
    pub const fn new() -> Self {
        MediaAreas
    }
}

/// No homes either.
pub type Homes = MediaAreas;

pub fn configure(_: &mut Config) {}
pub fn settle(areas: &'static mut MediaAreas) -> &'static Homes {
    areas
}
pub fn lend(_: &mut AppPeer, _: &'static Homes) {}
pub fn add_tracks(_: &mut AppPeer) {}

/// No media.
pub struct Media;

impl Media {
    pub fn new(_: [u8; 8]) -> Self {
        Media
    }
    pub fn on_event(&mut self, _: &Event<'_>) {}
    pub fn next_due(&self) -> Option<embassy_time::Instant> {
        None
    }
    pub fn pump(&mut self, _: &mut AppPeer) {}
}
