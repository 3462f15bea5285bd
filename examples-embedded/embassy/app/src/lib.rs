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
//! ```
//!
//! A board wires it up with two tasks (the ten-line run loop of the README):
//!
//! ```text
//! #[embassy_executor::task]
//! async fn peer_task(stack: Stack<'static>, r: &'static mut PeerResources, id: Identity) {
//!     let _ = peerless_embassy_app::run_peer(stack, r, &SIGNALING, id).await;
//! }
//! #[embassy_executor::task]
//! async fn http_task(stack: Stack<'static>, r: &'static mut HttpResources) {
//!     peerless_embassy_app::run_http(stack, r, &SIGNALING).await
//! }
//! ```
//!
//! One session at a time: a new offer replaces the running Peer (the old one is dropped, its
//! remote sees consent expire). The Peer answers with a complete description (its host
//! candidate and `a=end-of-candidates`), as WHIP has no trickle without PATCH.
//!
//! Logging goes through `peerless_base`'s macros: `defmt` with the `defmt` feature, the `log`
//! crate with `log`, nothing otherwise.
#![no_std]

pub mod http;
pub mod sizes;

use core::net::{IpAddr, SocketAddr, SocketAddrV4};

use embassy_futures::select::{Either3, select3};
use embassy_net::tcp::TcpSocket;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer, with_timeout};
use peerless::{Config, ConnectionState, Event, Peer, SdpType, SendError, Storage};
use peerless_base::{Drbg, Instant, debug, info, warn};
use peerless_dtls::{Certificate, Validity};

use sizes::*;

/// The Peer as this application sizes it.
pub type AppPeer<'a> = Peer<'a, SCTP_CHUNKS, CHANNELS>;

/// An SDP offer as the HTTP task hands it to the peer task.
pub type Offer = heapless::Vec<u8, OFFER_MAX>;
/// An SDP answer as the peer task hands it back.
pub type Answer = heapless::Vec<u8, ANSWER_MAX>;

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
pub struct Signaling {
    offer: Signal<CriticalSectionRawMutex, Offer>,
    answer: Signal<CriticalSectionRawMutex, Result<Answer, Refusal>>,
}

impl Signaling {
    /// An empty hand-over (usable in a `static`).
    #[must_use]
    pub const fn new() -> Self {
        Signaling {
            offer: Signal::new(),
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

/// The peer task's buffers: SCTP areas, the UDP socket's buffers, one datagram each way and
/// the echo copy. Build it in a `ConstStaticCell` so it never passes through the stack.
pub struct PeerResources {
    storage: Storage<SCTP_SEND, SCTP_RECV>,
    udp_rx: [u8; UDP_RX_BYTES],
    udp_tx: [u8; UDP_TX_BYTES],
    udp_rx_meta: [PacketMetadata; UDP_PACKETS],
    udp_tx_meta: [PacketMetadata; UDP_PACKETS],
    datagram_in: [u8; DATAGRAM],
    datagram_out: [u8; DATAGRAM],
    echo: [u8; ECHO_MAX],
}

impl PeerResources {
    /// Zeroed buffers (a `const fn`, so the whole struct lands in `.bss`).
    #[must_use]
    pub const fn new() -> Self {
        PeerResources {
            storage: Storage::new(),
            udp_rx: [0; UDP_RX_BYTES],
            udp_tx: [0; UDP_TX_BYTES],
            udp_rx_meta: [PacketMetadata::EMPTY; UDP_PACKETS],
            udp_tx_meta: [PacketMetadata::EMPTY; UDP_PACKETS],
            datagram_in: [0; DATAGRAM],
            datagram_out: [0; DATAGRAM],
            echo: [0; ECHO_MAX],
        }
    }
}

impl Default for PeerResources {
    fn default() -> Self {
        Self::new()
    }
}

/// The HTTP task's buffers: the TCP socket's windows and one request.
pub struct HttpResources {
    tcp_rx: [u8; TCP_RX_BYTES],
    tcp_tx: [u8; TCP_TX_BYTES],
    request: [u8; REQUEST_MAX],
    head: [u8; 512],
}

impl HttpResources {
    /// Zeroed buffers (a `const fn`, so the whole struct lands in `.bss`).
    #[must_use]
    pub const fn new() -> Self {
        HttpResources {
            tcp_rx: [0; TCP_RX_BYTES],
            tcp_tx: [0; TCP_TX_BYTES],
            request: [0; REQUEST_MAX],
            head: [0; 512],
        }
    }
}

impl Default for HttpResources {
    fn default() -> Self {
        Self::new()
    }
}

/// The peer task could not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum StartError {
    /// The DTLS certificate could not be made (the seed gave no valid P-256 key repeatedly).
    Certificate,
    /// The UDP port is taken.
    Bind,
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

/// The peer task: one UDP socket, one Peer per offer, echo every message. Returns only if it
/// cannot start.
pub async fn run_peer(
    stack: Stack<'_>,
    resources: &mut PeerResources,
    signaling: &Signaling,
    identity: Identity,
) -> Result<core::convert::Infallible, StartError> {
    let PeerResources {
        storage,
        udp_rx,
        udp_tx,
        udp_rx_meta,
        udp_tx_meta,
        datagram_in,
        datagram_out,
        echo,
    } = resources;
    let mut rng = Drbg::from_seed(&identity.seed, b"peerless-embassy-app");
    // One certificate per boot: generating it costs ~10 M instructions (an ECDSA key), and a
    // stable fingerprint lets a client pin this device for the boot.
    let certificate = Certificate::generate(&mut rng, Validity::days_from(identity.unix_time, 30))
        .map_err(|_| StartError::Certificate)?;
    let mut udp = UdpSocket::new(stack, udp_rx_meta, udp_rx, udp_tx_meta, udp_tx);
    udp.bind(UDP_PORT).map_err(|_| StartError::Bind)?;
    info!("peer: UDP port {} bound, waiting for offers", UDP_PORT);

    let mut next = None;
    loop {
        let offer = match next.take() {
            Some(offer) => offer,
            None => signaling.offer.wait().await,
        };
        let mut seed = [0u8; 32];
        rng.fill(&mut seed);
        let (send_area, recv_area) = storage.areas();
        let mut peer: AppPeer<'_> = Peer::new(
            Config::new(certificate.clone(), seed),
            now(),
            send_area,
            recv_area,
        );
        let answered = answer(&mut peer, stack, &offer);
        let ok = answered.is_ok();
        signaling.answer.signal(answered);
        if ok {
            next = session(&mut peer, &udp, signaling, datagram_in, datagram_out, echo).await;
        }
    }
}

/// Applies the offer and writes the complete answer.
fn answer(peer: &mut AppPeer<'_>, stack: Stack<'_>, offer: &[u8]) -> Result<Answer, Refusal> {
    let local = host_address(stack).ok_or(Refusal::NoAddress)?;
    let offer = core::str::from_utf8(offer).map_err(|_| Refusal::BadOffer)?;
    // The candidate first, so the answer (made below) carries it: WHIP answers are complete.
    peer.add_local_candidate(local)
        .map_err(|_| Refusal::NoAddress)?;
    peer.set_remote_description(SdpType::Offer, offer)
        .map_err(|e| {
            warn!("peer: offer refused: {:?}", e);
            Refusal::BadOffer
        })?;
    let mut text = [0u8; ANSWER_MAX];
    let sdp = peer
        .create_answer(&mut text)
        .map_err(|_| Refusal::NoAnswer)?;
    let mut out = Answer::new();
    out.extend_from_slice(sdp.as_bytes())
        .map_err(|_| Refusal::NoAnswer)?;
    let sdp = core::str::from_utf8(&out).map_err(|_| Refusal::NoAnswer)?;
    peer.set_local_description(SdpType::Answer, sdp)
        .map_err(|_| Refusal::NoAnswer)?;
    info!("peer: answered an offer of {} bytes", offer.len());
    Ok(out)
}

/// Drives one Peer until its connection ends (returns `None`) or a new offer arrives
/// (returns it). The drain rule: after any input, send every datagram and handle every event,
/// then sleep until a datagram, the Peer's deadline, or an offer.
async fn session(
    peer: &mut AppPeer<'_>,
    udp: &UdpSocket<'_>,
    signaling: &Signaling,
    datagram_in: &mut [u8],
    datagram_out: &mut [u8],
    echo: &mut [u8],
) -> Option<Offer> {
    // A message waiting for room in the SCTP send area: (channel, binary, length in `echo`).
    let mut pending = None;
    loop {
        while let Ok(Some(t)) = peer.poll_transmit(datagram_out) {
            if let Some(to) = t.destination.and_then(endpoint) {
                // A full socket or no route is packet loss to the protocols above.
                let _ = udp.send_to(t.payload, to).await;
            }
        }
        // Echo a held message first: events stop being drained while it waits, which is the
        // back-pressure (the Peer's event queue and SCTP window fill and the remote slows).
        if let Some((channel, binary, len)) = pending {
            match peer.send(channel, binary, echo.get(..len).unwrap_or_default()) {
                Err(SendError::Sctp(peerless::sctp::SendError::BufferFull)) => {}
                _ => pending = None,
            }
        }
        let mut ended = false;
        while pending.is_none() {
            let Some(event) = peer.poll_event() else {
                break;
            };
            match event {
                Event::ChannelOpen { channel, label, .. } => {
                    info!("peer: channel {} '{}' open", channel.0, label)
                }
                Event::Message {
                    channel,
                    binary,
                    data,
                } => {
                    let Some(copy) = echo.get_mut(..data.len()) else {
                        warn!("peer: {} byte message too large to echo", data.len());
                        continue;
                    };
                    copy.copy_from_slice(data);
                    let len = data.len();
                    debug!("peer: echo {} bytes on channel {}", len, channel.0);
                    match peer.send(channel, binary, echo.get(..len).unwrap_or_default()) {
                        Err(SendError::Sctp(peerless::sctp::SendError::BufferFull)) => {
                            pending = Some((channel, binary, len));
                        }
                        Err(e) => warn!("peer: echo failed: {:?}", e),
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
        if ended {
            // Send what the Peer still has (a DTLS close_notify, an SCTP ABORT) and stop.
            while let Ok(Some(t)) = peer.poll_transmit(datagram_out) {
                if let Some(to) = t.destination.and_then(endpoint) {
                    let _ = udp.send_to(t.payload, to).await;
                }
            }
            return None;
        }
        let at = wake_at(peer.poll_timeout(), now());
        // With a held echo, poll again soon: acknowledgements free the send area.
        let at = if pending.is_some() {
            at.min(embassy_time::Instant::now() + Duration::from_millis(5))
        } else {
            at
        };
        match select3(
            udp.recv_from(datagram_in),
            Timer::at(at),
            signaling.offer.wait(),
        )
        .await
        {
            Either3::First(Ok((len, meta))) => {
                let from = socket_addr(meta.endpoint);
                let to = match meta.local_address {
                    Some(local) => SocketAddr::new(IpAddr::from(local), UDP_PORT),
                    None => SocketAddr::new(from.ip(), UDP_PORT),
                };
                if let Some(packet) = datagram_in.get_mut(..len) {
                    peer.handle_packet(now(), from, to, packet);
                }
            }
            // Truncated (larger than DATAGRAM): no protocol here sends those; drop it.
            Either3::First(Err(_)) => {}
            Either3::Second(()) => peer.handle_timeout(now()),
            Either3::Third(offer) => {
                info!("peer: a new offer replaces the session");
                peer.close();
                while let Ok(Some(t)) = peer.poll_transmit(datagram_out) {
                    if let Some(to) = t.destination.and_then(endpoint) {
                        let _ = udp.send_to(t.payload, to).await;
                    }
                }
                return Some(offer);
            }
        }
    }
}

/// How long the HTTP task waits for the peer task's answer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP task: accept one connection at a time on [`sizes::HTTP_PORT`], answer it, close.
pub async fn run_http(stack: Stack<'_>, resources: &mut HttpResources, signaling: &Signaling) -> ! {
    let HttpResources {
        tcp_rx,
        tcp_tx,
        request,
        head,
    } = resources;
    loop {
        let mut socket = TcpSocket::new(stack, tcp_rx, tcp_tx);
        socket.set_timeout(Some(REQUEST_TIMEOUT));
        if socket.accept(HTTP_PORT).await.is_err() {
            continue;
        }
        serve(&mut socket, request, head, signaling).await;
        socket.close();
        // Let the response and our FIN go out before the socket (and its buffers) is reused.
        let _ = with_timeout(Duration::from_secs(2), socket.flush()).await;
        socket.abort();
        let _ = with_timeout(Duration::from_millis(100), socket.flush()).await;
    }
}

/// Reads one request and writes its response.
async fn serve(
    socket: &mut TcpSocket<'_>,
    request: &mut [u8],
    head_buf: &mut [u8],
    signaling: &Signaling,
) {
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
        Ok((_, http::Route::Page)) => (
            http::Status::OK,
            Some("text/html; charset=utf-8"),
            None,
            http::PAGE.as_bytes(),
        ),
        Ok((_, http::Route::Refuse(status))) => (status, None, None, b""),
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
            let mut offer = Offer::new();
            if offer
                .extend_from_slice(request.get(head_len..end).unwrap_or_default())
                .is_err()
            {
                return;
            }
            // A late answer to an abandoned request must not answer this one.
            signaling.answer.reset();
            signaling.offer.signal(offer);
            match with_timeout(ANSWER_TIMEOUT, signaling.answer.wait()).await {
                Ok(Ok(answer)) => {
                    // The answer outlives the signal: copy it behind the request's head.
                    let n = answer.len().min(request.len());
                    if let Some(dst) = request.get_mut(..n) {
                        dst.copy_from_slice(answer.get(..n).unwrap_or_default());
                    }
                    (
                        http::Status::CREATED,
                        Some("application/sdp"),
                        Some(http::SESSION_PATH),
                        request.get(..n).unwrap_or_default(),
                    )
                }
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
        // Storage, socket buffers, datagrams and the echo copy: nothing hidden.
        let expected =
            SCTP_SEND + SCTP_RECV + UDP_RX_BYTES + UDP_TX_BYTES + 2 * DATAGRAM + ECHO_MAX;
        let actual = core::mem::size_of::<PeerResources>();
        assert!(actual >= expected && actual < expected + 1024, "{actual}");
    }
}
