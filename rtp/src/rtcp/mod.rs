//! RTCP compound packets (RFC 3550 §6, RFC 4585, RFC 5104, RFC 5506): an iterator with typed
//! views, and a compound builder.
//!
//! ```text
//!   compound = packet packet ...          (reduced-size, RFC 5506: any single packet)
//!   packet   = |V=2|P| count |  type  |  length (32-bit words - 1)  |  body ... [padding]
//!     200 SR    sender info + report blocks      205 RTPFB  fmt 1 generic NACK
//!     201 RR    report blocks                               fmt 15 transport-wide CC
//!     202 SDES  chunks of (SSRC, items)          206 PSFB   fmt 1 PLI, fmt 4 FIR
//!     203 BYE   SSRCs + reason                              fmt 15 REMB (AFB "REMB")
//!     204 APP   subtype, SSRC, name, data
//! ```
//!
//! [`Compound::parse`] checks the framing of every packet once; [`Packet::kind`] checks a
//! packet's body and gives its typed view. Views never panic after parse and never copy.
//!
//! One file per packet family (the folder moved here whole from `peerless-srtp`): the header, the
//! compound iterator and the typed view (`compound`), sender and receiver reports (`report`),
//! SDES/BYE/APP (`sdes_bye_app`), the feedback common part (`feedback`), transport feedback
//! (`rtpfb`), payload-specific feedback (`psfb`) and the builder (`builder`).

mod builder;
mod compound;
mod feedback;
mod psfb;
mod report;
mod rtpfb;
mod sdes_bye_app;
#[cfg(test)]
mod tests;

pub use builder::{CompoundBuilder, SdesChunkRepr, TransportCcRepr};
pub use compound::{Compound, Fmt, Kind, Packet, PacketType, Packets, is_rtcp, sender_ssrc};
pub use feedback::FeedbackSsrcs;
pub use psfb::{Fir, FirEntry, Remb};
pub use report::{ReceiverReport, ReportBlock, SenderInfo, SenderReport};
pub use rtpfb::{Nack, NackPair, TccPacket, TccStatus, TransportCc};
pub use sdes_bye_app::{App, Bye, Sdes, SdesChunk, SdesItem, SdesType};
