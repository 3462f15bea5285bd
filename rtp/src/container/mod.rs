//! Storage formats for frames at rest, for tests, tools and recorders: nothing here is on the
//! path a packet takes, and the firmware links none of it unless it asks.

pub mod access_units;
pub mod ivf;
pub mod ogg;
