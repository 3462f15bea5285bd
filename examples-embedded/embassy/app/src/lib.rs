//! peerless on embassy: one WebRTC [`Peer`] on an embassy-net UDP socket, answering offers
//! POSTed to a WHIP-shaped HTTP endpoint on embassy-net TCP, and echoing every data-channel
//! message. `no_std`, no allocator, no `unsafe`; every buffer is in [`PeerResources`] and
//! [`HttpResources`], sized in [`sizes`].
//!
//! ```text
//!   browser / aiortc              http task                      peer task
//!     | POST /whip (offer) ---------> |                              |
//!     |                               | -- Signaling::offer -------> |  new Peer, host candidate
//!     |                               |                              |  set_remote_description
//!     |                               | <-------- Signaling::answer  |  create_answer (complete)
//!     | <------- 201 Created (answer) |                              |
//!     | ======== STUN checks, DTLS handshake, SCTP over UDP =======> |  handle_packet / timeout
//!     | -- data channel "x" ----------------------------------------> |  ChannelOpen
//!     | -- message ---------------------------------------------------> |  Message -> send (echo)
//!     | <------------------------------------------------------ echo  |
//!     | DELETE /whip/session -------> | -- Signaling::close -------> |  close (close_notify)
//! ```
//!
//! A board brings up embassy-net, then spawns the two tasks (the run loop of the README):
//!
//! ```text
//! static SIGNALING: Signaling = Signaling::new();
//! static PEER: ConstStaticCell<PeerResources> = ConstStaticCell::new(PeerResources::new());
//! static HTTP: ConstStaticCell<HttpResources> = ConstStaticCell::new(HttpResources::new());
//!
//! let identity = Identity { seed: trng_bytes(), unix_time: 1_763_700_000 };
//! spawner.spawn(net_task(runner)?);                                  // embassy-net
//! spawner.spawn(peer_task(stack, PEER.take(), &SIGNALING, identity)?); // UDP 5000: the Peer
//! spawner.spawn(http_task(stack, HTTP.take(), &SIGNALING)?);           // TCP 8080: POST /whip
//! ```
//!
//! One session at a time: a new offer replaces the running Peer (the old one is closed first,
//! so its remote gets a DTLS close_notify rather than waiting for consent to expire). The Peer answers with a complete description (its host
//! candidate and `a=end-of-candidates`), as WHIP has no trickle without PATCH.
//!
//! Or the application publishes: [`whip::whip_task`], spawned instead of the peer and HTTP
//! tasks, is a WHIP client (RFC 9725) that POSTs its own offer to a configured endpoint.
//!
//! Logging: `defmt` with the `defmt` feature, the `log` crate with `log` (which also turns on
//! the stack's own logs), nothing otherwise.
#![no_std]

#[macro_use]
mod fmt;
pub mod http;
pub mod lent;
#[cfg(feature = "media")]
pub mod media;
#[cfg(not(feature = "media"))]
#[path = "no_media.rs"]
mod media;
pub mod sizes;
pub mod whip;

use core::mem::MaybeUninit;
use core::net::{IpAddr, SocketAddr, SocketAddrV4};

use embassy_futures::join::join;
use embassy_futures::select::{Either4, select4};
use embassy_net::tcp::TcpSocket;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::mutex::Mutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer, with_timeout};
use peerless::{Config, ConnectionState, Event, Peer, SdpType, SendError, Storage};
use peerless_base::{Drbg, Instant};
use peerless_dtls::{Certificate, Validity};

use lent::{AreaHome, Lent};
use sizes::*;

/// The Peer as this application sizes it (see [`sizes`]): data channels only, so no
/// transceivers (a page's media sections are answered with port 0); with the `media`
/// feature, one audio and one video transceiver (`media.rs`). Its areas are [`Lent`] from
/// [`PeerResources`], so it can live there too, in static memory, session after session.
pub type AppPeer = Peer<
    Lent,
    SCTP_CHUNKS,
    CHANNELS,
    DTLS_BUFFER,
    ANSWER_MAX,
    OFFER_MAX,
    REMOTE_CANDIDATES,
    { media::TRANSCEIVERS },
>;

/// The one request buffer: the HTTP task reads a request into it, leaves the offer in it,
/// and the peer task replaces the offer with the answer. Zeroed bytes and a length, so a
/// `static` [`Signaling`] lands in `.bss` (not also in flash as `.data`).
struct Text<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> Text<N> {
    const fn new() -> Self {
        Text {
            bytes: [0; N],
            len: 0,
        }
    }

    fn get(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Why an offer got no answer (the HTTP status says which).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Refusal {
    /// The offer is not UTF-8, or the Peer refused it (`set_remote_description` failed).
    BadOffer,
    /// The Peer could not write an answer (it should always fit [`sizes::ANSWER_MAX`]).
    NoAnswer,
    /// The network has no IPv4 address yet, so there is no host candidate to offer.
    NoAddress,
}

/// The hand-over between the HTTP task and the peer task: one offer in, one answer out.
/// Put one in a `static` and give both tasks a reference.
///
/// One buffer serves both ways (the request, then the offer, then the answer), behind an
/// async mutex that is never held across the other task's wait; the signals say "the offer
/// is there" and "the answer is there (or why not)".
pub struct Signaling {
    text: Mutex<CriticalSectionRawMutex, Text<REQUEST_MAX>>,
    offer: Signal<CriticalSectionRawMutex, ()>,
    close: Signal<CriticalSectionRawMutex, ()>,
    answer: Signal<CriticalSectionRawMutex, Result<(), Refusal>>,
}

impl Signaling {
    /// An empty hand-over (usable in a `static`).
    #[must_use]
    pub const fn new() -> Self {
        Signaling {
            text: Mutex::new(Text::new()),

            offer: Signal::new(),
            close: Signal::new(),
            answer: Signal::new(),
        }
    }
}

impl Default for Signaling {
    fn default() -> Self {
        Self::new()
    }
}

/// What makes this device itself: the seed of all its randomness and the wall-clock time the
/// certificate's validity starts at.
#[derive(Clone, Copy)]
pub struct Identity {
    /// 32 bytes from the board's TRNG (or the OS on the host). Never reuse across boots.
    pub seed: [u8; 32],
    /// Seconds since 1970 at boot, if known (an RTC or SNTP); browsers check only the
    /// fingerprint, so any recent constant works when the board has no clock.
    pub unix_time: u64,
}

/// The peer task's memory: the Peer itself, its SCTP areas, the UDP socket's buffers, one
/// datagram each way and the echo copy. All zeroed or uninitialised bytes: build it in a
/// `ConstStaticCell` and it lands in `.bss` without passing through the stack. (The UDP
/// socket's packet slots are not zero-initialised, so they live in the peer task's future
/// instead, which embassy also allocates statically.)
///
/// The Peer is here rather than in the task's future because embassy builds a task's future
/// on the stack when it is spawned (measured on the NUCLEO: a 48 416 B frame with the Peer
/// inside); here it is made once (the first session) and restarted in place per session.
pub struct PeerResources {
    /// The Peer's slot: uninitialised (`.bss`) until the task writes `None` into it.
    peer: MaybeUninit<Option<AppPeer>>,
    /// Where the SCTP send and receive areas wait between sessions.
    homes: [AreaHome; 2],
    storage: Storage<SCTP_SEND, SCTP_RECV>,
    udp_rx: [u8; UDP_RX_BYTES],
    udp_tx: [u8; UDP_TX_BYTES],
    datagram_in: [u8; DATAGRAM],
    datagram_out: [u8; DATAGRAM],
    echo: [u8; ECHO_MAX],
    media: media::MediaAreas,
}

impl PeerResources {
    /// Zeroed buffers (a `const fn`, so the whole struct lands in `.bss`).
    #[must_use]
    pub const fn new() -> Self {
        PeerResources {
            peer: MaybeUninit::uninit(),
            homes: [AreaHome::new(), AreaHome::new()],
            storage: Storage::new(),
            udp_rx: [0; UDP_RX_BYTES],
            udp_tx: [0; UDP_TX_BYTES],

            datagram_in: [0; DATAGRAM],
            datagram_out: [0; DATAGRAM],
            echo: [0; ECHO_MAX],
            media: media::MediaAreas::new(),
        }
    }
}

/// A task's view of its [`PeerResources`]: the Peer's slot (empty), the areas at home, the
/// other buffers to borrow.
struct Parts {
    slot: &'static mut Option<AppPeer>,
    homes: &'static [AreaHome; 2],
    media: &'static media::Homes,
    udp_rx: &'static mut [u8],
    udp_tx: &'static mut [u8],
    datagram_in: &'static mut [u8],
    datagram_out: &'static mut [u8],
    echo: &'static mut [u8],
}

impl PeerResources {
    /// Puts every area in its home and the slot in order, once, at task start.
    fn split(&'static mut self) -> Parts {
        let PeerResources {
            peer,
            homes,
            storage,
            udp_rx,
            udp_tx,
            datagram_in,
            datagram_out,
            echo,
            media,
        } = self;
        let (send, recv) = storage.areas();
        let [send_home, recv_home] = &*homes;
        send_home.put(send);
        recv_home.put(recv);
        Parts {
            // Only the tag is written: the slot's bytes stay where they are.
            slot: peer.write(None),
            homes,
            media: media::settle(media),
            udp_rx,
            udp_tx,
            datagram_in,
            datagram_out,
            echo,
        }
    }
}

impl Default for PeerResources {
    fn default() -> Self {
        Self::new()
    }
}

/// The HTTP task's buffers: per listening socket, its windows and a response head (the
/// request itself goes into the [`Signaling`] buffer, where the peer task finds the offer).
pub struct HttpResources {
    /// Two listening sockets, so a connection is accepted while the last one is still closing
    /// (its FIN waits up to 2 s for the peer's acknowledgement): a browser's `GET /` and then
    /// `POST /whip` arrive back to back, and with one socket the second was refused.
    sockets: [HttpSocketBuffers; 2],
}

struct HttpSocketBuffers {
    tcp_rx: [u8; TCP_RX_BYTES],
    tcp_tx: [u8; TCP_TX_BYTES],
    head: [u8; 512],
}

impl HttpResources {
    /// Zeroed buffers (a `const fn`, so the whole struct lands in `.bss`).
    #[must_use]
    pub const fn new() -> Self {
        const EMPTY: HttpSocketBuffers = HttpSocketBuffers {
            tcp_rx: [0; TCP_RX_BYTES],
            tcp_tx: [0; TCP_TX_BYTES],
            head: [0; 512],
        };
        HttpResources {
            sockets: [EMPTY; 2],
        }
    }
}

impl Default for HttpResources {
    fn default() -> Self {
        Self::new()
    }
}

/// Now, as the Peer counts time: embassy-time's monotonic clock since boot.
#[must_use]
pub fn now() -> Instant {
    Instant::from_micros(embassy_time::Instant::now().as_micros())
}

/// The embassy-time instant of a Peer deadline, capped an hour ahead so tick arithmetic of
/// any `TICK_HZ` stays in range (the loop just wakes and asks again).
fn wake_at(deadline: Option<Instant>, now: Instant) -> embassy_time::Instant {
    let cap = now.saturating_add(core::time::Duration::from_secs(3600));
    let at = deadline.map_or(cap, |d| d.min(cap));
    embassy_time::Instant::from_micros(at.as_micros())
}

/// An embassy-net endpoint as the Peer's address type.
fn socket_addr(ep: IpEndpoint) -> SocketAddr {
    SocketAddr::from(ep)
}

/// A Peer destination as an embassy-net endpoint; `None` for IPv6 (this build is IPv4 only,
/// and the Peer only sends to addresses its remote offered, which we filter the same way).
fn endpoint(addr: SocketAddr) -> Option<IpEndpoint> {
    match addr {
        SocketAddr::V4(v4) => Some(IpEndpoint::from(v4)),
        SocketAddr::V6(_) => None,
    }
}

/// Our host candidate: the stack's IPv4 address and [`sizes::UDP_PORT`].
fn host_address(stack: Stack<'_>) -> Option<SocketAddr> {
    let v4 = stack.config_v4()?;
    Some(SocketAddr::V4(SocketAddrV4::new(
        v4.address.address(),
        UDP_PORT,
    )))
}

/// The peer task: one UDP socket, one Peer per offer, echo every message. Spawn it once;
/// it ends only if it cannot start (logged: no certificate, or the UDP port is taken).
///
/// The Peer itself is in `resources` (made once, restarted per session by `start_peer`), so the
/// task's future is small (2.7 KB on the NUCLEO: the UDP socket, its packet slots, the
/// certificate and the session's state), and embassy building it on the stack at spawn costs
/// little. It is still a task defined here rather than an `async fn` a board wraps: a future
/// awaited inside another task's future is built on the stack and moved too.
#[embassy_executor::task]
pub async fn peer_task(
    stack: Stack<'static>,
    resources: &'static mut PeerResources,
    signaling: &'static Signaling,
    identity: Identity,
) {
    let Parts {
        slot,
        homes,
        media: media_homes,
        udp_rx,
        udp_tx,
        datagram_in,
        datagram_out,
        echo,
    } = resources.split();
    let mut rng = Drbg::from_seed(&identity.seed, b"peerless-embassy-app");
    // One certificate per boot: generating it costs ~10 M instructions (an ECDSA key), and a
    // stable fingerprint lets a client pin this device for the boot.
    let Some(certificate) = make_certificate(&mut rng, identity.unix_time) else {
        error!("peer: no certificate: the seed gave no P-256 key");
        return;
    };
    let mut udp_rx_meta = [PacketMetadata::EMPTY; UDP_PACKETS];
    let mut udp_tx_meta = [PacketMetadata::EMPTY; UDP_PACKETS];
    let mut udp = UdpSocket::new(stack, &mut udp_rx_meta, udp_rx, &mut udp_tx_meta, udp_tx);
    if udp.bind(UDP_PORT).is_err() {
        error!("peer: UDP port {} is taken", UDP_PORT);
        return;
    }
    info!("peer: UDP port {} bound, waiting for offers", UDP_PORT);

    let mut offered = false;
    loop {
        if !offered {
            signaling.offer.wait().await;
        }

        let mut seed = [0u8; 32];
        rng.fill(&mut seed);
        let mut config = Config::new(certificate.clone(), seed);
        media::configure(&mut config);
        let peer = start_peer(slot, config, homes);
        media::lend(peer, media_homes);
        let mut media_seed = [0u8; 8];
        rng.fill(&mut media_seed);
        // A DELETE sent while no session ran must not end this one.
        signaling.close.reset();
        let answered = answer(peer, stack, &mut *signaling.text.lock().await);
        let ok = answered.is_ok();
        signaling.answer.signal(answered);
        let mut media = media::Media::new(media_seed);
        offered = ok
            && session(
                peer,
                &udp,
                &signaling.offer,
                &signaling.close,
                datagram_in,
                datagram_out,
                echo,
                &mut media,
            )
            .await;
    }
}

/// The session's Peer in `slot` (in [`PeerResources`]): made there the first time, and
/// from then on restarted in place (`Peer::restart`: a new RTCPeerConnection in the same
/// memory, the previous session's keys wiped, its SCTP areas kept, its media areas given
/// back home to be lent again), so no second Peer is ever built on the stack.
///
/// Not inlined, so `slot` is a `&mut` argument that `Peer::new` cannot see and LLVM can
/// write the new Peer straight into it (`scripts/boards.sh` prints this frame as
/// `start_peer`).
#[inline(never)]
fn start_peer<'s>(
    slot: &'s mut Option<AppPeer>,
    config: Config,
    homes: &'static [AreaHome; 2],
) -> &'s mut AppPeer {
    match *slot {
        Some(ref mut peer) => {
            restart_peer(peer, config);
            peer
        }
        None => new_peer(slot, config, homes),
    }
}

/// The first session's Peer, made in its slot (kept apart from the restart so each frame is
/// its own in `scripts/boards.sh`'s lines).
#[inline(never)]
fn new_peer<'s>(
    slot: &'s mut Option<AppPeer>,
    config: Config,
    homes: &'static [AreaHome; 2],
) -> &'s mut AppPeer {
    let [send, recv] = homes;
    slot.insert(Peer::new(config, now(), send.lend(), recv.lend()))
}

/// Every later session: the same Peer restarted in place.
#[inline(never)]
fn restart_peer(peer: &mut AppPeer, config: Config) {
    peer.restart(config, now());
}

/// Applies the offer in `text` and replaces it with the complete answer (at most
/// [`sizes::ANSWER_MAX`] bytes: the Peer's copy of its local description refuses more).
#[inline(never)]
fn answer<const N: usize>(
    peer: &mut AppPeer,
    stack: Stack<'_>,
    text: &mut Text<N>,
) -> Result<(), Refusal> {
    let offer = text.get();
    let offer_len = offer.len();
    let local = host_address(stack).ok_or(Refusal::NoAddress)?;
    let offer = core::str::from_utf8(offer).map_err(|_| Refusal::BadOffer)?;
    // The candidate first, so the answer (made below) carries it: WHIP answers are complete.
    peer.add_local_candidate(local)
        .map_err(|_| Refusal::NoAddress)?;
    // Tracks before the offer, as a browser's addTrack: the offer's sections take them.
    media::add_tracks(peer);
    peer.set_remote_description(SdpType::Offer, offer)
        .map_err(|e| {
            warn!("peer: offer refused: {}", fmt::sdp_error(e));
            Refusal::BadOffer
        })?;
    // The Peer keeps its own copy of the offer: the request buffer takes the answer, written
    // there directly (not into a stack buffer and copied: 2 KiB less stack).
    text.len = 0;
    let len = peer
        .create_answer(&mut text.bytes)
        .map_err(|_| Refusal::NoAnswer)?
        .len();
    let sdp = core::str::from_utf8(text.bytes.get(..len).unwrap_or_default())
        .map_err(|_| Refusal::NoAnswer)?;
    peer.set_local_description(SdpType::Answer, sdp)
        .map_err(|_| Refusal::NoAnswer)?;
    text.len = len;
    info!("peer: answered an offer of {} bytes", offer_len);
    Ok(())
}

/// Drives one Peer until its connection ends or `end` is signalled (returns `false`), or
/// `offer` is signalled (returns `true`: a new offer is in the signaling buffer). The drain rule: after any input, send
/// every datagram and handle every event, then sleep until a datagram, the Peer's deadline,
/// or an offer.
///
/// Every call into the Peer goes through a small `#[inline(never)]` function below. With fat
/// LTO the optimiser would otherwise inline the whole stack into the task's `poll`, whose
/// stack frame then grows past 100 KiB (measured on thumbv7em: 116 224 bytes) and is
/// reserved on every poll; kept apart, each Peer call costs its own frame only while it runs.
// Eight: each buffer is a separate borrow of a PeerResources field, held across awaits.
#[allow(clippy::too_many_arguments)]
async fn session(
    peer: &mut AppPeer,
    udp: &UdpSocket<'_>,
    offer: &Signal<CriticalSectionRawMutex, ()>,
    end: &Signal<CriticalSectionRawMutex, ()>,
    datagram_in: &mut [u8],
    datagram_out: &mut [u8],
    echo: &mut [u8],
    media: &mut media::Media,
) -> bool {
    // A message waiting for room in the SCTP send area: (channel, kind, length in `echo`).
    let mut pending = None;
    loop {
        media.pump(peer);
        send_all(peer, udp, datagram_out).await;
        if pump_events(peer, echo, &mut pending, media) {
            // Send what the Peer still has (a DTLS close_notify, an SCTP ABORT) and stop.
            send_all(peer, udp, datagram_out).await;
            return false;
        }
        let at = next_wake(peer, pending.is_some());
        let at = media.next_due().map_or(at, |due| at.min(due));
        match select4(
            udp.recv_from(datagram_in),
            Timer::at(at),
            offer.wait(),
            end.wait(),
        )
        .await
        {
            Either4::First(Ok((len, meta))) => {
                let from = socket_addr(meta.endpoint);
                let to = match meta.local_address {
                    Some(local) => SocketAddr::new(IpAddr::from(local), UDP_PORT),
                    None => SocketAddr::new(from.ip(), UDP_PORT),
                };
                if let Some(packet) = datagram_in.get_mut(..len) {
                    feed_packet(peer, from, to, packet);
                }
            }
            // Truncated (larger than DATAGRAM): no protocol here sends those; drop it.
            Either4::First(Err(_)) => {}
            Either4::Second(()) => feed_timeout(peer),
            Either4::Third(()) => {
                info!("peer: a new offer replaces the session");
                close(peer);
                send_all(peer, udp, datagram_out).await;
                return true;
            }
            Either4::Fourth(()) => {
                info!("peer: session deleted");
                close(peer);
                send_all(peer, udp, datagram_out).await;
                return false;
            }
        }
    }
}

/// Sends every datagram the Peer has queued. A full socket or no route is packet loss to
/// the protocols above, so send errors are dropped.
async fn send_all(peer: &mut AppPeer, udp: &UdpSocket<'_>, buf: &mut [u8]) {
    while let Some((start, len, to)) = next_datagram(peer, buf) {
        if let Some(payload) = buf.get(start..start + len) {
            let _ = udp.send_to(payload, to).await;
        }
    }
}

/// The next datagram: where it is in `buf` and where it goes (IPv6 destinations, which this
/// IPv4 build cannot reach, are skipped).
#[inline(never)]
fn next_datagram(peer: &mut AppPeer, buf: &mut [u8]) -> Option<(usize, usize, IpEndpoint)> {
    let base = buf.as_ptr() as usize;
    loop {
        let t = peer.poll_transmit(buf).ok()??;
        let Some(to) = endpoint(t.destination) else {
            continue;
        };
        // The payload is a slice of `buf`; its offset is a plain address difference.
        let start = (t.payload.as_ptr() as usize).wrapping_sub(base);
        return Some((start, t.payload.len(), to));
    }
}

/// Handles every event: logs, echoes messages (holding one in `pending` while the SCTP send
/// area is full, which stops event draining: the back-pressure), and says whether the
/// connection ended.
#[inline(never)]
fn pump_events(
    peer: &mut AppPeer,
    echo: &mut [u8],
    pending: &mut Option<(peerless::ChannelId, peerless::MessageKind, usize)>,
    media: &mut media::Media,
) -> bool {
    if let Some((channel, kind, len)) = *pending {
        match peer.send(channel, kind, echo.get(..len).unwrap_or_default()) {
            Err(SendError::Sctp(peerless::sctp::SendError::BufferFull)) => return false,
            _ => *pending = None,
        }
    }
    let mut ended = false;
    while pending.is_none() {
        let Some(event) = peer.poll_event() else {
            break;
        };
        media.on_event(&event);
        match event {
            Event::ChannelOpen { channel, label, .. } => {
                info!("peer: channel {} '{}' open", channel.0, label)
            }
            Event::Message {
                channel,
                kind,
                data,
            } => {
                let len = data.len();
                let Some(copy) = echo.get_mut(..len) else {
                    warn!("peer: {} byte message too large to echo", len);
                    continue;
                };
                copy.copy_from_slice(data);
                debug!("peer: echo {} bytes on channel {}", len, channel.0);
                match peer.send(channel, kind, echo.get(..len).unwrap_or_default()) {
                    Err(SendError::Sctp(peerless::sctp::SendError::BufferFull)) => {
                        *pending = Some((channel, kind, len));
                    }
                    Err(e) => warn!("peer: echo failed: {}", fmt::send_error(e)),
                    Ok(()) => {}
                }
            }
            Event::ConnectionState(state) => {
                info!("peer: connection {}", state.as_str());
                ended |= matches!(state, ConnectionState::Failed | ConnectionState::Closed);
            }
            Event::ChannelClosed(channel) => info!("peer: channel {} closed", channel.0),
            _ => {}
        }
    }
    ended
}

/// When to wake: the Peer's deadline, or soon while an echo waits for room (acknowledgements
/// free the send area).
#[inline(never)]
fn next_wake(peer: &AppPeer, echo_waiting: bool) -> embassy_time::Instant {
    let at = wake_at(peer.poll_timeout(), now());
    if echo_waiting {
        at.min(embassy_time::Instant::now() + Duration::from_millis(5))
    } else {
        at
    }
}

#[inline(never)]
fn feed_packet(peer: &mut AppPeer, from: SocketAddr, to: SocketAddr, packet: &mut [u8]) {
    peer.handle_packet(now(), from, to, packet);
}

#[inline(never)]
fn feed_timeout(peer: &mut AppPeer) {
    peer.handle_timeout(now());
}

#[inline(never)]
fn close(peer: &mut AppPeer) {
    peer.close();
}

/// One certificate per boot (kept out of line for the same reason as the Peer calls).
#[inline(never)]
fn make_certificate(rng: &mut Drbg, unix_time: u64) -> Option<Certificate> {
    Certificate::generate(rng, Validity::days_from(unix_time, 30)).ok()
}

/// How long the HTTP task waits for the peer task's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP task: accept one connection at a time on [`sizes::HTTP_PORT`], answer it, close.
/// Spawn it once, next to [`peer_task`] with the same [`Signaling`].
#[embassy_executor::task]
pub async fn http_task(
    stack: Stack<'static>,
    resources: &'static mut HttpResources,
    signaling: &'static Signaling,
) -> ! {
    stack.wait_config_up().await;
    if let Some(v4) = stack.config_v4() {
        info!(
            "http: open http://{}:{}/ in a browser (WHIP endpoint {})",
            v4.address.address(),
            HTTP_PORT,
            http::WHIP_PATH
        );
    }
    let [first, second] = &mut resources.sockets;
    let (never, _) = join(
        listen(stack, first, signaling),
        listen(stack, second, signaling),
    )
    .await;
    never
}

/// One listening socket: accept, serve one request, close, again. Several of these run at
/// once, so the port stays open while one of them waits for its FIN to be acknowledged.
async fn listen(stack: Stack<'_>, buffers: &mut HttpSocketBuffers, signaling: &Signaling) -> ! {
    let HttpSocketBuffers {
        tcp_rx,
        tcp_tx,
        head,
    } = buffers;
    loop {
        let mut socket = TcpSocket::new(stack, tcp_rx, tcp_tx);
        socket.set_timeout(Some(REQUEST_TIMEOUT));
        if socket.accept(HTTP_PORT).await.is_err() {
            continue;
        }
        serve(&mut socket, head, signaling).await;
        socket.close();
        // Let the response and our FIN go out before the socket (and its buffers) is reused.
        let _ = with_timeout(Duration::from_secs(2), socket.flush()).await;
        socket.abort();
        let _ = with_timeout(Duration::from_millis(100), socket.flush()).await;
    }
}

/// Reads one request into the shared buffer and writes its response. For an offer, the lock
/// is released while the peer task answers, then taken again to send the answer.
async fn serve(socket: &mut TcpSocket<'_>, head_buf: &mut [u8], signaling: &Signaling) {
    let mut text = signaling.text.lock().await;
    let request = &mut text.bytes;
    let mut filled = 0;
    let parsed = loop {
        match http::parse_head(request.get(..filled).unwrap_or_default()) {
            Ok(head) => break Ok((head.head_len, http::route(&head, OFFER_MAX))),
            Err(http::HeadError::Malformed) => break Err(http::Status::BAD_REQUEST),
            Err(http::HeadError::Incomplete) => {}
        }
        let Some(space) = request.get_mut(filled..).filter(|s| !s.is_empty()) else {
            break Err(http::Status::PAYLOAD_TOO_LARGE);
        };
        match socket.read(space).await {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
    };
    let (status, content_type, location, body): (_, _, _, &[u8]) = match parsed {
        Err(status) => (status, None, None, b""),
        Ok((_, http::Route::Preflight)) => (http::Status::NO_CONTENT, None, None, b""),
        Ok((_, http::Route::Close)) => {
            signaling.close.signal(());
            (http::Status::OK, None, None, b"")
        }
        Ok((_, http::Route::Page)) => (
            http::Status::OK,
            Some("text/html; charset=utf-8"),
            None,
            media::PAGE.as_bytes(),
        ),
        Ok((_, http::Route::Refuse(status))) => (status, None, None, b""),
        // A long head leaves less room for the body than OFFER_MAX: refuse, don't truncate.
        Ok((head_len, http::Route::Offer(len))) if head_len + len > request.len() => {
            (http::Status::PAYLOAD_TOO_LARGE, None, None, b"")
        }
        Ok((head_len, http::Route::Offer(len))) => {
            let end = head_len + len;
            while filled < end {
                let Some(space) = request.get_mut(filled..end) else {
                    return;
                };
                match socket.read(space).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => filled += n,
                }
            }
            // The offer moves to the front of the buffer; the head is done with.
            request.copy_within(head_len..end, 0);
            text.len = len;
            drop(text);
            // A late answer to an abandoned request must not answer this one.
            signaling.answer.reset();
            signaling.offer.signal(());
            let answered = with_timeout(ANSWER_TIMEOUT, signaling.answer.wait()).await;
            text = signaling.text.lock().await;
            match answered {
                Ok(Ok(())) => (
                    http::Status::CREATED,
                    Some("application/sdp"),
                    Some(http::SESSION_PATH),
                    text.get(),
                ),
                Ok(Err(refusal)) => {
                    warn!("http: offer refused ({:?})", refusal);
                    let status = match refusal {
                        Refusal::BadOffer => http::Status::BAD_REQUEST,
                        Refusal::NoAnswer | Refusal::NoAddress => http::Status::SERVICE_UNAVAILABLE,
                    };
                    (status, None, None, b"")
                }
                Err(_) => (http::Status::SERVICE_UNAVAILABLE, None, None, b""),
            }
        }
    };
    let Ok(n) = http::write_head(head_buf, status, content_type, location, body.len()) else {
        return;
    };
    if write_all(socket, head_buf.get(..n).unwrap_or_default())
        .await
        .is_ok()
    {
        let _ = write_all(socket, body).await;
    }
}

async fn write_all(socket: &mut TcpSocket<'_>, mut data: &[u8]) -> Result<(), ()> {
    while !data.is_empty() {
        match socket.write(data).await {
            Ok(0) | Err(_) => return Err(()),
            Ok(n) => data = data.get(n..).unwrap_or_default(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_map_to_embassy_time_and_are_capped() {
        let now = Instant::from_secs(10);
        assert_eq!(
            wake_at(Some(Instant::from_millis(10_250)), now).as_micros(),
            10_250_000
        );
        assert_eq!(wake_at(None, now).as_secs(), 3610);
        assert_eq!(wake_at(Some(Instant::MAX), now).as_secs(), 3610);
    }

    #[test]
    fn addresses_convert_both_ways() {
        let a: SocketAddr = "192.0.2.2:5000".parse().unwrap();
        let ep = endpoint(a).unwrap();
        assert_eq!(socket_addr(ep), a);
        assert_eq!(endpoint("[2001:db8::1]:5000".parse().unwrap()), None);
    }

    #[test]
    fn the_peer_resources_are_what_sizes_says() {
        // The Peer, storage, socket buffers, datagrams and the echo copy: nothing hidden.
        let expected = core::mem::size_of::<Option<AppPeer>>()
            + SCTP_SEND
            + SCTP_RECV
            + UDP_RX_BYTES
            + UDP_TX_BYTES
            + 2 * DATAGRAM
            + ECHO_MAX
            + core::mem::size_of::<media::MediaAreas>();
        let actual = core::mem::size_of::<PeerResources>();
        assert!(actual >= expected && actual < expected + 1024, "{actual}");
    }
}
