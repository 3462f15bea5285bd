//! Every buffer the application owns, sized here and nowhere else.
//!
//! All of them live in [`crate::PeerResources`] and [`crate::HttpResources`], which a firmware
//! places in `static` storage (`ConstStaticCell`), so the linker's `.bss` is the whole RAM
//! bill apart from the two task futures (the Peer itself lives in the peer task's future,
//! which embassy also allocates statically). Shrinking a board's RAM use means editing this
//! file; `scripts/boards.sh` prints what the result costs.

/// UDP port of the Peer's socket: the port of our ICE host candidate.
pub const UDP_PORT: u16 = 5000;

/// TCP port of the WHIP-shaped HTTP endpoint (`POST /whip` with an SDP offer).
pub const HTTP_PORT: u16 = 8080;

/// SCTP send area lent to the Peer: the most data-channel bytes queued for sending (so at
/// least [`MAX_MESSAGE`], or an echo could never be queued).
pub const SCTP_SEND: usize = 8 * 1024;

/// SCTP receive area lent to the Peer: reassembly of incoming messages. The Peer announces
/// `a=max-message-size` = this minus 4096 (room for per-chunk bookkeeping): 4096 here, which
/// browsers and aiortc respect. Raise both areas for larger messages.
pub const SCTP_RECV: usize = 8 * 1024;

/// The largest message a remote may send us (our `a=max-message-size`), as the Peer derives
/// it from [`SCTP_RECV`].
pub const MAX_MESSAGE: usize = SCTP_RECV.saturating_sub(4096);

/// Received SCTP chunks the Peer tracks at once (its `CHUNKS` parameter).
pub const SCTP_CHUNKS: usize = 64;

/// Data channels at once (the Peer's `CHANNELS` parameter).
pub const CHANNELS: usize = 4;

/// The echo copy: the largest message we can receive.
pub const ECHO_MAX: usize = MAX_MESSAGE;

/// One datagram in or out. The Peer's MTU is 1200; browsers' DTLS flights and STUN checks fit
/// in 1500 (Ethernet).
pub const DATAGRAM: usize = 1500;

/// embassy-net UDP socket payload buffers (received and not yet handed to the Peer; sent and
/// not yet on the wire): a whole DTLS flight (certificate + key exchange) both ways.
pub const UDP_RX_BYTES: usize = 4 * 1536;
/// See [`UDP_RX_BYTES`].
pub const UDP_TX_BYTES: usize = 4 * 1536;
/// embassy-net UDP socket datagram slots, each way.
pub const UDP_PACKETS: usize = 8;

/// embassy-net TCP socket buffers of each of the HTTP endpoint's two listening sockets
/// (window, not request size).
pub const TCP_RX_BYTES: usize = 1024;
/// See [`TCP_RX_BYTES`].
pub const TCP_TX_BYTES: usize = 1024;

/// The largest SDP offer accepted: the Peer's copy of the remote description. A browser's
/// data-channel-only offer is 0.6 to 1.5 KB (aiortc's: 907 bytes); 4 KiB leaves room for
/// many candidates. (peerless's default, 6 KiB, also fits offers with media sections.)
#[cfg(not(feature = "media"))]
pub const OFFER_MAX: usize = 4096;
/// With `media`: an offer with audio and video sections too (aiortc's recvonly audio + video
/// + data offer is about 3 KB, Chromium's 6.4 KB).
#[cfg(feature = "media")]
pub const OFFER_MAX: usize = 8192;

/// The largest SDP answer: the Peer's copy of its local description. A data-channel answer
/// is about 600 bytes (media sections rejected with port 0 add about 60 each); peerless's
/// default (8 KiB) is sized for offers and answers with media.
#[cfg(not(feature = "media"))]
pub const ANSWER_MAX: usize = 2048;
/// With `media`: two media sections of one codec each (VP8, PCMU) with their candidates,
/// about 2.3 KB.
#[cfg(feature = "media")]
pub const ANSWER_MAX: usize = 4096;

/// The Peer's DTLS handshake buffers. peerless's default (4 KiB) takes the large
/// ClientHellos of browsers that offer post-quantum key shares; as the answerer we are the
/// DTLS client (`a=setup:active`), so 2 KiB would do unless the remote answers `passive`.
pub const DTLS_BUFFER: usize = peerless::DTLS_BUFFER;

/// With `media`: the video send area, where the clip's packets wait for `poll_transmit`
/// (and stay for retransmission until overwritten). It must hold the largest frame's
/// packets (the clip's keyframe: 3.9 KB) and their index; when it cannot take a frame yet,
/// the frame is tried again 5 ms later (the host test saw that twice in 8 s, after a PLI).
#[cfg(feature = "media")]
pub const VIDEO_SEND_AREA: usize = 8 * 1024;

/// With `media`: the audio send area (a 20 ms G.711 frame is one 172-byte packet).
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
