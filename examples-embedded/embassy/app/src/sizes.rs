//! Every buffer the application owns, sized here and nowhere else.
//!
//! All of them live in [`crate::PeerResources`] (with the Peer itself) and
//! [`crate::HttpResources`], which a firmware places in `static` storage (`ConstStaticCell`),
//! so the linker's `.bss` is the whole RAM bill apart from the task futures (small: embassy
//! allocates them statically too) and the stack. Shrinking a board's RAM use means editing
//! this file; `scripts/boards.sh` prints what the result costs.
//!
//! The data-channel build is sized for issue 19's goal, the NUCLEO-F429ZI's static RAM plus
//! the stack within 96 KiB: each size below says why it is what it is, and
//! `scripts/interop/embedded-host-*.sh` run the host build with these sizes against aiortc
//! and Chromium.

/// UDP port of the Peer's socket: the port of our ICE host candidate.
pub const UDP_PORT: u16 = 5000;

/// TCP port of the WHIP-shaped HTTP endpoint (`POST /whip` with an SDP offer).
pub const HTTP_PORT: u16 = 8080;

/// SCTP send area lent to the Peer: the most data-channel bytes queued for sending and kept
/// until acknowledged (so at least [`MAX_MESSAGE`], or an echo could never be queued). Twice
/// the largest message: one echo waits for acknowledgement while the next is queued (a full
/// area holds the echo back, `pending` in the peer task, until SACKs free it).
pub const SCTP_SEND: usize = 4 * 1024;

/// SCTP receive area lent to the Peer: reassembly of incoming messages (and our advertised
/// receive window). The Peer announces `a=max-message-size` = this minus 4096 (room for
/// per-chunk bookkeeping): 2048 here, which browsers and aiortc respect (the host test sends
/// a message of exactly that size). Raise it (and [`SCTP_SEND`]) for larger messages: each
/// KiB of message costs 3 KiB (receive, send, echo copy).
pub const SCTP_RECV: usize = 6 * 1024;

/// The largest message a remote may send us (our `a=max-message-size`), as the Peer derives
/// it from [`SCTP_RECV`].
pub const MAX_MESSAGE: usize = SCTP_RECV.saturating_sub(4096);

/// Received SCTP chunks the Peer tracks at once (its `CHUNKS` parameter).
pub const SCTP_CHUNKS: usize = 64;

/// Data channels at once (the Peer's `CHANNELS` parameter).
pub const CHANNELS: usize = 4;

/// The echo copy: the largest message we can receive (the Peer lends a received message
/// out of its own area, and sending the echo needs the Peer again, so it is copied here).
pub const ECHO_MAX: usize = MAX_MESSAGE;

/// One datagram in or out. The Peer's MTU is 1200; browsers' DTLS flights and STUN checks fit
/// in 1500 (Ethernet).
pub const DATAGRAM: usize = 1500;

/// embassy-net UDP socket receive buffer: datagrams that arrived while the peer task was busy
/// (a handshake step takes milliseconds of crypto). 4 KiB holds a browser's whole DTLS
/// flight (certificate + key exchange, about 1.2 KB) or three full-size SCTP packets of a
/// burst; beyond that a datagram is lost, which DTLS and SCTP retransmit.
pub const UDP_RX_BYTES: usize = 4 * 1024;
/// embassy-net UDP socket send buffer: `send_all` waits for room (`send_to().await`), so it
/// needs one full datagram (our DTLS flight is one 1.1 KB datagram; the MTU is 1200) and a
/// small one beside it; more only lets bursts out sooner.
pub const UDP_TX_BYTES: usize = 2 * 1024;
/// embassy-net UDP socket datagram slots, each way (8 bytes of metadata each: STUN checks
/// and ACKs are small, so slots run out before bytes do).
pub const UDP_PACKETS: usize = 8;

/// embassy-net TCP receive buffer of each of the HTTP endpoint's two listening sockets: our
/// window, not the request size (the request is read into the signaling buffer as it comes).
pub const TCP_RX_BYTES: usize = 1024;
/// TCP send buffer of each listening socket: the response is written through it in pieces
/// (`write_all` waits for acknowledgements), so it bounds speed, not size; 512 B sends the
/// 201's answer in two segments and the demo page in a dozen.
pub const TCP_TX_BYTES: usize = 512;

/// The largest SDP offer accepted (a larger one gets 413): the Peer's copy of the remote
/// description, and the signaling buffer's body. A browser's data-channel-only offer is 0.6
/// to 1.5 KB (aiortc's: 907 bytes; each host candidate adds about 100 bytes); 2.5 KiB leaves
/// room for ten more candidates than that. Each KiB here costs 2 KiB (the Peer's copy and the
/// signaling buffer): at 2.5 KiB the static RAM (83.2 KB on the NUCLEO) plus the Peer task's
/// deepest chain after the first `Peer::new` (14.8 KB) is within 96 KiB. (peerless's
/// default, 16 KiB, also fits offers with media sections.)
#[cfg(not(feature = "media"))]
pub const OFFER_MAX: usize = 2560;
/// With `media`: an offer with audio and video sections too (aiortc's recvonly audio + video
/// + data offer is about 3 KB, Chromium's 6.4 KB).
#[cfg(feature = "media")]
pub const OFFER_MAX: usize = 8192;

/// The largest SDP answer: the Peer's copy of its local description. A data-channel answer
/// is about 600 bytes (media sections rejected with port 0 add about 60 each); peerless's
/// default (8 KiB) is sized for offers and answers with media.
#[cfg(not(feature = "media"))]
pub const ANSWER_MAX: usize = 2048;
/// With `media`: two media sections of one codec each (VP8, PCMU) and the data section
/// with our candidate: 1 765 bytes answering aiortc's recvonly audio + video + data offer
/// (the media host test prints it), and our WHIP offer of the same sections is alike.
/// 2.5 KiB keeps the media build within the F429ZI's RAM with its stack.
#[cfg(feature = "media")]
pub const ANSWER_MAX: usize = 2560;

/// The Peer's two DTLS buffers (handshake reassembly, our flight). peerless's default
/// (4 KiB) takes the large ClientHellos of browsers that offer post-quantum key shares
/// (Firefox: a ClientHello over several datagrams), which only a DTLS *server* receives.
/// Answering an offer (the peer task) we are the DTLS client (`a=setup:active`, peerless's
/// answer to `actpass`, which every browser and aiortc offer), and what we then receive is the
/// server's flight, one message at a time (its certificate, about 0.5 KB, is the largest):
/// 2 KiB is plenty and saves 4 KiB. (A remote offering `active` makes us the server.)
/// Publishing (WHIP), we offer `actpass` and the server picks: a server that answers
/// `active` (Pion's and aiortc's default, so MediaMTX and Broadcast Box) makes us the DTLS
/// server, and its ClientHello must fit; theirs are DTLS 1.2 hellos of a few hundred bytes
/// (the host test publishes to aiortc, which answers `active`). A server whose ClientHello
/// carries post-quantum key shares would fail the handshake (counted, the connection
/// `failed`, the publisher retries): raise this to 4096 for such a server.
pub const DTLS_BUFFER: usize = 2048;

/// Remote candidates the Peer keeps (signalled, and learned from checks as peer-reflexive):
/// a browser on the LAN signals one host candidate per interface (and one srflx each if it
/// has a STUN server); 8 takes a four-homed browser with both kinds. peerless's default (16)
/// costs about 1.2 KB more.
pub const REMOTE_CANDIDATES: usize = 8;

/// With `media`: the video send area, where the clip's packets wait for `poll_transmit`
/// (and stay for retransmission until overwritten). It must hold the largest frame's
/// packets (the clip's keyframe: 3.9 KB) and their index; when it cannot take a frame yet,
/// the frame is tried again 5 ms later (the host test saw that twice in 8 s, after a PLI).
/// 6 KiB: the keyframe's packets with room for the index, and a few later frames (each a
/// few hundred bytes) behind it.
#[cfg(feature = "media")]
pub const VIDEO_SEND_AREA: usize = 6 * 1024;

/// With `media`: the audio send area (a 20 ms G.711 frame is one 172-byte packet). 2 KiB:
/// with 1 KiB the Peer refused every audio frame for room (the host media test decoded no
/// audio), so it stays at 2 KiB.
#[cfg(feature = "media")]
pub const AUDIO_SEND_AREA: usize = 2 * 1024;

/// The one signaling buffer: an HTTP request head plus an offer body (then the answer).
pub const REQUEST_MAX: usize = 1024 + OFFER_MAX;

/// WHIP publishing ([`crate::whip`]): the request head we write (path, `Host` and an
/// `Authorization: Bearer` token; about 200 bytes plus the token and the path).
pub const WHIP_HEAD: usize = 1024;

/// WHIP publishing: the response head plus the SDP answer, which the Peer keeps a copy of
/// in [`OFFER_MAX`] (the remote description's bound, whichever side offered). Also the
/// scratch area our offer is written into.
pub const WHIP_RESPONSE: usize = 1024 + OFFER_MAX;

/// WHIP publishing: the longest endpoint or session URL (after a redirect, or a `Location`).
pub const WHIP_URL: usize = 256;

/// The answer must fit where the offer was.
const _: () = assert!(ANSWER_MAX <= REQUEST_MAX && MAX_MESSAGE <= SCTP_SEND);
