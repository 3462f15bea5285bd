//! The ICE agent (RFC 8445, RFC 8838 trickle, RFC 7675 consent freshness, ICE-lite): a sans-IO
//! state machine, no allocator.
//!
//! [`Agent`] finds a working path between two peers: it pairs our candidates (the host's
//! sockets, what STUN servers see of them, and addresses relayed by TURN servers) with the
//! peer's, checks the pairs with
//! authenticated STUN Binding requests, nominates one, and then keeps checking that the peer
//! still consents to receive. [`Candidate`] parses and writes `a=candidate` lines as browsers do.
//!
//! Non-goals: no sockets (the host owns them and tells the agent which one received what), no
//! demultiplexing (the Peer separates STUN from DTLS and media by RFC 7983 first), no DNS
//! ([`IceServerUrl`] hands a host name back to be resolved), no TLS (a `turns:` server runs
//! over a TLS stream the host opens), no TCP candidates (parsed, not checked), one component (rtcp-mux, as
//! WebRTC always negotiates).
//!
//! # TURN
//!
//! `Config::with_ice_server("turn:192.0.2.1?transport=udp", user, credential)` adds a TURN
//! server (RFC 8656): each host socket allocates a relayed candidate, and everything from the
//! relayed address (checks, responses, and the host's DTLS/SRTP through
//! [`Agent::relay_transmit`]) leaves the host socket framed for the server. A host hands every
//! datagram to [`Agent::unwrap_relayed`] first: relayed traffic comes back as the peer's
//! datagram addressed to the relayed address. `with_relay_only()` is `iceTransportPolicy:
//! "relay"`. For `?transport=tcp` and `turns:` the host opens the stream and calls
//! [`Agent::turn_stream_connected`]; transmits from that stream's local address go on it, and
//! [`peerless_stun::stream_frame_len`] splits what comes back into messages.
//!
//! # The run loop
//!
//! ```
//! use peerless_base::Instant;
//! use peerless_ice::{Agent, Config, Event, Role};
//!
//! let now = Instant::ZERO;
//! let mut agent: Agent = Agent::new(Config::new(Role::Controlling, [7; 32]), now);
//! agent.add_local_candidate("192.0.2.10:5000".parse()?).map_err(|e| format!("{e:?}"))?;
//! // From the peer's description (signalling is the host's business):
//! agent.set_remote_credentials("peer", "aPasswordOf22CharsXYZ0").map_err(|e| format!("{e:?}"))?;
//! agent.add_remote_candidate("candidate:1 1 udp 2130706431 192.0.2.20 6000 typ host")
//!     .map_err(|e| format!("{e:?}"))?;
//!
//! let mut buf = [0u8; 1500];
//! agent.handle_timeout(now);
//! while let Some(t) = agent.poll_transmit(&mut buf)? {
//!     // socket(t.source).send_to(t.payload, t.destination)
//!     assert_eq!(t.destination, "192.0.2.20:6000".parse()?);
//! }
//! while let Some(event) = agent.poll_event() {
//!     if let Event::LocalCandidate(c) = event {
//!         println!("a={c}"); // trickle it to the peer
//!     }
//! }
//! let wake_at = agent.poll_timeout(); // call handle_timeout then, or handle_packet sooner
//! # assert!(wake_at.is_some());
//! // What a host asks before sending data or accepting non-STUN traffic:
//! assert!(!agent.can_send()); // no selected pair yet
//! assert!(agent.knows_remote("192.0.2.20:6000".parse()?));
//! assert!(!agent.knows_remote("198.51.100.1:6000".parse()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Memory
//!
//! Everything is inline: `Agent<CANDIDATES = 8, PAIRS = 32, TRANSACTIONS = 16,
//! REMOTE_CANDIDATES = 16>` is 15 760 bytes on x86-64 with the `turn` feature and 13 440
//! without it (asserted by a test; 32 bytes of each pair are its statistics counters; the
//! 2 320 bytes of TURN are two configured servers with their credentials and two allocations
//! with their nonce, permissions and channels). Shrink the const parameters for a small MCU,
//! and leave `turn` off where no relay is needed (workspace dependents take no default
//! features: the firmware has no TURN tables).
//!
//! # Error contract
//!
//! Network input never fails a call and never panics: malformed, unauthenticated and unmatched
//! packets are dropped without a response and counted in [`Stats`]. Commands return small
//! `Copy` errors ([`AddCandidateError`], [`CredentialsError`]). A full candidate table keeps a
//! mix of types: the most numerous type gives up its lowest-priority entry (never the selected
//! pair's), or the newcomer is refused with `AddCandidateError::Full` if it would be that
//! entry; so relayed candidates are not the first to go. A full pair table prunes the
//! lowest-priority pair (RFC 8445 §6.1.2.5).
#![no_std]
#![cfg_attr(not(test), deny(clippy::indexing_slicing))]

#[cfg(feature = "std")]
extern crate std;

mod agent;
mod candidate;
pub mod ice_server;
pub mod tcp;

pub use agent::{
    AddCandidateError, Agent, CandidatePairState, Config, Credentials, CredentialsError, Event,
    IceState, MAX_STUN_SERVERS, MAX_TURN_SERVERS, PairView, Role, Stats, UNREACHABLE,
};
pub use candidate::{Candidate, CandidateType, ParseError, Str, TcpType, Transport, priority};
pub use ice_server::{IceServerUrl, TurnServer, UrlError};
pub use tcp::{FrameReader, FrameTooLong, frame_header};
