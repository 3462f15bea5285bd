//! SDP parse/write (RFC 8866) and the JSEP offer/answer rules (RFC 8829), without an allocator.
//!
//! - [`Session::parse`] checks a description once and gives a zero-copy view: media sections,
//!   attribute iterators and typed accessors for everything WebRTC negotiates (BUNDLE, mid,
//!   ICE credentials and options, fingerprints, DTLS setup, candidates, SCTP port and message
//!   size, codecs with rtpmap/fmtp/rtcp-fb, header extensions, SSRCs, msid, direction, RTCP
//!   multiplexing, rid and simulcast). Attributes browsers put at session level (fingerprint,
//!   ICE, setup) are found from the media section too.
//! - [`SdpWriter`] writes lines into any `core::fmt::Write`; [`SliceWriter`] is one over
//!   `&mut [u8]`. Every typed value displays as its SDP text.
//! - [`jsep`] holds the offer/answer rules as pure functions: [`jsep::create_offer`] and
//!   [`jsep::create_answer`] turn local capabilities (and the previous description, for
//!   renegotiation) into SDP text; [`jsep::answer_sections`] tells which offered section each
//!   transceiver took; [`jsep::check_answer`] checks a remote answer against our offer;
//!   [`jsep::is_ice_restart`] spots new remote credentials.
//!
//! # Limits and memory
//!
//! A [`Session`] indexes at most [`MAX_MEDIA`] (32) media sections and is under 1 KiB
//! (tested); it borrows the text and copies nothing. Accessors re-scan the section's lines
//! lazily, so their cost is linear in the section length. The JSEP functions keep one
//! 32-entry table of section plans on the stack (about 1 KiB) and write straight into the
//! caller's `fmt::Write`; to decide whether the session version changes they write the body
//! twice, once into a comparator against the previous description. They write numbers with
//! `peerless_base::text::Ascii` and text through a `dyn peerless_base::text::Sink`, never
//! through `write!` or `Display`, so a firmware that makes offers and answers links none of
//! `core::fmt`'s machinery (the typed values' `Display`, for users, is the same code).
//!
//! Closed value sets (`a=setup`, directions, `send`/`recv`) are enums; open ones (hash function
//! names, media types) have an `Other(&str)` variant so unknown values round-trip. Unknown line
//! types and attributes are kept and skippable (RFC 8866 §5).
//!
//! Non-goals: SDP for anything but WebRTC-style sessions (no multicast, no `k=` keys, no
//! `r=`/`z=` timing logic — those lines are kept and skipped), legacy SDES-SRTP (`a=crypto`),
//! Plan B. Candidate strings are handed out raw: `peerless-ice` parses them.
//!
//! # Use
//!
//! ```
//! use peerless_sdp::{jsep, attr::{Fingerprint, Setup}, Session};
//! let fingerprint = Fingerprint::parse(
//!     "sha-256 AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB:AB",
//! ).unwrap();
//! let fingerprints = [fingerprint];
//! let mut local = jsep::Local::new(7, jsep::IceCredentials::new("ufrag", "passwordpasswordpassword"), &fingerprints);
//! local.data_channel = Some(jsep::DataChannel::new("0"));
//! let mut buf = [0u8; 2048];
//! let offer = jsep::offer_to_slice(&local, None, &mut buf).unwrap();
//! let parsed = Session::parse(offer).unwrap();
//! let data = parsed.media_by_mid("0").unwrap();
//! assert_eq!(data.setup(), Some(Setup::Actpass));
//! assert_eq!(data.sctp_port(), Some(5000));
//! ```
//!
//! # Error contract
//!
//! Nothing here panics on any input. [`Session::parse`] returns a [`ParseError`] with the line
//! number for anything malformed (including a malformed value of an attribute it has a typed
//! accessor for); after a successful parse every accessor is infallible. Writing into a
//! [`SliceWriter`] reports [`peerless_base::BufferTooSmall`] with the size needed. The JSEP
//! functions return a [`jsep::JsepError`] for descriptions they cannot answer.
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

#[cfg(feature = "std")]
extern crate std;

pub mod attr;
pub mod jsep;
mod session;
mod write;

pub use session::{
    Attribute, Attributes, Codec, Connection, MAX_MEDIA, Media, MediaKind, MediaLine, Origin,
    ParseError, ParseErrorKind, Session,
};
pub use write::{SdpWriter, SliceWriter, WriteError, write_to_slice};
