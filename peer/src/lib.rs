//! A WebRTC peer (the browser's `RTCPeerConnection`) as a sans-IO state machine: no allocator,
//! no runtime, no OS.
//!
//! [`Peer`] composes the ICE agent (`peerless-ice`), DTLS (`peerless-dtls`), SCTP data
//! channels (`peerless-sctp`), SRTP (`peerless-srtp`), media (`peerless-rtp`: transceivers,
//! frames in and out, RTCP, NACK/RTX, PLI/FIR, DTMF) and SDP/JSEP (`peerless-sdp`) behind the
//! five verbs every peerless machine speaks. Datagrams on the shared socket are told apart by
//! their first byte ([`demux`], RFC 7983).
//!
//! Non-goals (for now): TURN relays, sending simulcast, a pacer (the Peer estimates the
//! bandwidth and tells the host, `Event::BitrateEstimate`, but sends media as the host writes
//! it). Perfect
//! negotiation (provisional answers, rollback, a polite Peer that yields to a colliding offer)
//! is in: see [`Peer::set_remote_description`].
//!
//! # The run loop
//!
//! The host owns the socket and the clock. After any input, drain `poll_transmit` and
//! `poll_event` until both say `None`, then sleep until `poll_timeout()` or the next datagram:
//!
//! ```
//! use peerless::{Config, Event, Peer, SdpType, Storage};
//! use peerless_base::{Drbg, Instant};
//! use peerless_dtls::{Certificate, Validity};
//!
//! let mut rng = Drbg::from_seed(&[1; 32], b"doc");
//! let cert = Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 30))?;
//! let mut storage = Box::new(Storage::<65536, 65536>::new());
//! let (send, recv) = storage.areas();
//! let now = Instant::ZERO;
//! let mut peer: Peer<&mut [u8]> = Peer::new(Config::new(cert, [2; 32]), now, send, recv);
//! let chat = peer.create_data_channel("chat", Default::default()).map_err(|e| format!("{e:?}"))?;
//! peer.add_local_candidate("127.0.0.1:5000".parse()?).map_err(|e| format!("{e:?}"))?;
//! let mut sdp = [0u8; 2048];
//! let offer = peer.create_offer(&mut sdp).map_err(|e| format!("{e:?}"))?;
//! assert!(offer.contains("m=application"));
//! let offer = offer.to_owned();
//! peer.set_local_description(SdpType::Offer, &offer).map_err(|e| format!("{e:?}"))?;
//! // ... send the offer, apply the answer with set_remote_description, then loop:
//! let mut buf = [0u8; 1500];
//! while let Some(t) = peer.poll_transmit(&mut buf)? {
//!     // socket.send_to(t.payload, t.destination)
//!     let _ = t;
//! }
//! while let Some(event) = peer.poll_event() {
//!     if let Event::Message { channel, data, .. } = event { let _ = (channel, data); }
//! }
//! let _wake_at = peer.poll_timeout();
//! # let _ = chat;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Memory
//!
//! Everything is inline except the two SCTP areas, which the caller lends (`&mut [u8]`, e.g.
//! from a [`Storage`] in a `static`) or hands over (`Vec<u8>`, `Box<[u8]>`: then the Peer owns
//! them and needs no lifetime; see [`Area`]). On x86-64
//! a default [`Peer`] (what browsers need: 4 KiB DTLS buffers for their post-quantum
//! ClientHellos, 32 channels, a 16 KiB remote SDP) is 116 864 bytes and a [`SmallPeer`] (2 KiB
//! DTLS buffers, 4 channels, 64 SCTP chunks, 1.5/2 KiB SDP copies, 8 remote candidates) is
//! 47 232 bytes with the default host features (`turn`, `mdns`, `rsa`: their tables and room
//! for an RSA modulus), 110 064 and 40 432 bytes without them, as the firmware builds; both
//! are printed by `cargo test -p peerless --test selftest -- --nocapture peer_size` with the
//! parts (ICE agent, DTLS endpoint, SCTP association, SRTP contexts, SDP copies).
//!
//! Media bytes are lent the same way, one area per stream ([`Peer::lend_media_area`]); the
//! Peer's own media state is `TRANSCEIVERS` slots (about 8 KiB each on x86-64, with their share of
//! the transport-wide congestion state; 1 KiB for the estimator whatever the count). Measured by
//! `cargo test -p peerless --test media -- --nocapture documented`, which carries the media
//! whole through these sizes:
//!
//! | Peer | Peer struct | areas lent |
//! |---|---|---|
//! | audio-only device: `Peer<_, 64, 4, 2048, 4096, 8192, 8, 1>` (one transceiver, 4/8 KiB SDP) | 63 616 B | audio: send 8 KiB, receive 24 KiB (Opus or G.711 both ways) |
//! | 720p host: the default [`Peer`] (4 transceivers) | 116 864 B | video: send 512 KiB (about 2 s at 2.5 Mbit/s kept for NACKs), receive 1 MiB (a 256 KiB keyframe and 630 packet slots); audio: 64 KiB each way |
//!
//! A receive area holds the largest frame (`rtp::receive::jitter::Config::max_frame`: 256 KiB
//! for video, one packet for audio) and then packet slots of 1 264 bytes; a send area holds a
//! 27-byte index record and the bytes of each packet it keeps.
//!
//! # Error contract
//!
//! Network input never fails a call and never panics: what cannot be used is dropped and
//! counted in [`Stats`]. Commands return small `Copy` errors ([`SdpError`],
//! [`CandidateError`], [`ChannelError`], [`SendError`]). The end of a connection is an event
//! ([`Event::ConnectionState`] with `Failed` or `Closed`).
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]
#![deny(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod demux;
mod peer;
#[cfg(feature = "selftest")]
pub mod selftest;
mod text;

pub use peer::{
    AUDIO_CODECS, AUDIO_EXTENSIONS, AreaUse, BandwidthUsage, BitrateLimitsError, Codec, Direction,
    EstimateParts, KeyframeKind, MAX_PREFERENCES, MAX_TONES, MEDIA_AREAS, MediaData, MediaError,
    MediaKind, MediaStats, RtpSource, TransceiverId, VIDEO_CODECS, VIDEO_EXTENSIONS,
};
pub use peer::{
    Area, CandidateError, ChannelError, ChannelId, ChannelInit, ChannelOptions, ChannelStats,
    Config, ConnectionState, DTLS_BUFFER, DataChannel, DefaultStorage, EARLY_DTLS_DATAGRAMS, Event,
    IceGatheringState, IceState, LOCAL_SDP_CAPACITY, MAX_HOSTS, MAX_LABEL, MessageKind, Peer,
    RELAY_OVERHEAD, REMOTE_CANDIDATE_CAPACITY, REMOTE_SDP_CAPACITY, ReadyState, Reliability,
    SdpError, SdpType, SendError, SignalingState, SignalledCandidate, SmallStorage, SrtpContexts,
    Stats, Storage,
};
pub use peer::{
    CandidatePairStats, CandidateStats, CertificateStats, CodecStats, DataChannelStats,
    DtlsTransportState, InboundRtpStats, OutboundRtpStats, PairTraffic, PeerConnectionStats,
    RemoteInboundRtpStats, RemoteOutboundRtpStats, StatsEntry, StatsId, StatsValue, TransportStats,
};
pub use peer::{DtlsFailure, DtlsTransport, IceTransport, SctpTransport, SctpTransportState};
pub use text::Text;

/// A Peer sized for a small MCU: 64 received SCTP chunks, 4 data channels, 2 KiB DTLS
/// buffers (enough for peerless and aiortc handshakes; a browser's post-quantum ClientHello
/// needs the default 4 KiB), 1.5 KiB for our description, 2 KiB for the remote's and 8 remote
/// candidates (a browser on one network offers two or three; the table keeps a mix of types
/// when more come).
///
/// Which offers fit (`tests/browser_offers.rs` checks every fixture): a data-channel-only
/// offer from Chromium (690 bytes) or Firefox (769 bytes) with a few candidates does; a
/// browser app's audio + video + data offer (Firefox 4.5 KB, Chromium 6.4 KB) does not and is
/// refused with `SdpError::TooLarge`: such an app needs the default [`Peer`]. No
/// transceivers: media sections are answered with port 0.
pub type SmallPeer<S = &'static mut [u8]> = Peer<S, 64, 4, 2048, 1536, 2048, 8, 0>;

pub use peerless_dtls as dtls;
pub use peerless_ice as ice;
pub use peerless_rtp as rtp;
pub use peerless_sctp as sctp;
pub use peerless_sdp as sdp;
pub use peerless_srtp as srtp;
