//! Publishing with WHIP (RFC 9725): the application as a WHIP *client*. Instead of waiting
//! for offers, it makes its own (a data channel; with the `media` feature also the stored
//! clip and tone as sendonly video and audio), POSTs it to a configured endpoint, applies the
//! answer and runs the session; on shutdown, or when the connection fails or the server
//! closes it, it DELETEs the session.
//!
//! ```text
//!   whip_task                                    WHIP endpoint (server)
//!     | new Peer, data channel, [tracks], host cand.|
//!     | create_offer (complete: candidates and      |
//!     |   a=end-of-candidates; no trickle)          |
//!     | POST <endpoint> application/sdp, Bearer --> |
//!     | <--------- 307/308 Location: <endpoint'>    |  (followed, up to MAX_REDIRECTS)
//!     | POST <endpoint'> ------------------------> |
//!     | <--------- 201 Created, Location, answer    |  (anything else: a WhipError)
//!     | set_remote_description(answer)              |
//!     | ======== ICE, DTLS, SCTP (the session) ===> |  echo every data-channel message
//!     | stop() / connection failed or closed        |
//!     | DELETE <Location> -----------------------> |
//!     | <--------- 200                              |
//!     | stopped: WhipControl::finished; otherwise   |
//!     | wait RETRY and publish again                |
//! ```
//!
//! Plain `http://` to an IPv4 address only: `https://` needs a TLS client and a name needs a
//! DNS resolver, and the application has neither (see [`wire::UrlError`]). Every failure is
//! a [`WhipError`] value, logged; nothing here panics on what a server sends.

pub mod wire;

use core::net::SocketAddrV4;
use core::ops::Range;
use core::sync::atomic::{AtomicBool, Ordering};

use embassy_futures::select::{Either, select};
use embassy_net::tcp::TcpSocket;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpEndpoint, Stack};
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer, with_timeout};
use peerless::{ChannelInit, Config, SdpType};
use peerless_base::Drbg;

use crate::sizes::*;
use crate::{AppPeer, Identity, PeerResources};
use wire::{Method, UrlError};

/// Redirects (307/308) followed for one POST.
pub const MAX_REDIRECTS: usize = 3;
/// How long a TCP connection to the server may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one whole request/response exchange may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long to wait before publishing again after the end of a session; doubled after each
/// failed publication, up to [`RETRY_MAX`], so a server that refuses is not hammered.
pub const RETRY: Duration = Duration::from_secs(3);
/// The longest wait between publications.
pub const RETRY_MAX: Duration = Duration::from_secs(60);

/// Where to publish.
#[derive(Clone, Copy, Debug)]
pub struct WhipConfig<'a> {
    /// The WHIP endpoint: `http://A.B.C.D[:PORT]/path`.
    pub url: &'a str,
    /// Sent as `Authorization: Bearer <token>` with every request, if set.
    pub token: Option<&'a str>,
}

/// What went wrong while publishing (logged, and the last one reported by
/// [`WhipControl::finished`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum WhipError {
    /// The endpoint URL, or a `Location` or redirect target, cannot be used.
    Url(UrlError),
    /// The token has characters a header cannot carry.
    Token,
    /// No TCP connection to the server (refused, unreachable, or it took too long).
    Connect,
    /// The connection broke during the exchange.
    Io,
    /// The exchange took longer than its bound.
    Timeout,
    /// The request head does not fit [`WHIP_HEAD`] (a long token or path).
    RequestTooLarge,
    /// The response does not fit [`WHIP_RESPONSE`], or a URL does not fit [`WHIP_URL`].
    ResponseTooLarge,
    /// The response is not HTTP/1.x.
    Malformed,
    /// The connection closed before the whole response arrived.
    Truncated,
    /// The response body is chunked (refused: see [`wire`]).
    Chunked,
    /// The server answered with this status (4xx, 5xx, or anything but 201 / 307 / 308).
    Status(u16),
    /// More than [`MAX_REDIRECTS`] redirects.
    TooManyRedirects,
    /// A 201 or a redirect without `Location`.
    NoLocation,
    /// The 201's body is not `application/sdp` (or not UTF-8).
    NotSdp,
    /// The Peer refused the answer (malformed, or not an answer to our offer).
    Answer,
    /// The Peer could not make an offer.
    Offer,
    /// The network has no IPv4 address yet (no host candidate to offer).
    NoAddress,
}

/// Start and stop: give the task a `static` one and call [`WhipControl::stop`] to end the
/// publication (the session is closed and DELETEd), then await
/// [`WhipControl::finished`].
pub struct WhipControl {
    stop: Signal<CriticalSectionRawMutex, ()>,
    stopping: AtomicBool,
    finished: Signal<CriticalSectionRawMutex, Result<(), WhipError>>,
}

impl WhipControl {
    /// A control nobody has stopped yet (usable in a `static`).
    #[must_use]
    pub const fn new() -> Self {
        WhipControl {
            stop: Signal::new(),
            stopping: AtomicBool::new(false),
            finished: Signal::new(),
        }
    }

    /// Ends the publication: close the session, DELETE it, and let the task end.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        self.stop.signal(());
    }

    /// Waits until the task has ended after [`WhipControl::stop`] (or could not start): the
    /// last round's result, that is the last DELETE's when a session was created, else the
    /// last publishing error (`Ok` if the last round published and deleted cleanly), or why
    /// the task could not run.
    pub async fn finished(&self) -> Result<(), WhipError> {
        self.finished.wait().await
    }

    fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }
}

impl Default for WhipControl {
    fn default() -> Self {
        Self::new()
    }
}

/// The WHIP task's own buffers (the Peer's are the [`PeerResources`] it shares the layout
/// of with [`crate::peer_task`]; a board runs one or the other).
pub struct WhipResources {
    tcp_rx: [u8; TCP_RX_BYTES],
    tcp_tx: [u8; TCP_TX_BYTES],
    head: [u8; WHIP_HEAD],
    response: [u8; WHIP_RESPONSE],
    endpoint: [u8; WHIP_URL],
    location: [u8; WHIP_URL],
}

impl WhipResources {
    /// Zeroed buffers (a `const fn`, so the whole struct lands in `.bss`).
    #[must_use]
    pub const fn new() -> Self {
        WhipResources {
            tcp_rx: [0; TCP_RX_BYTES],
            tcp_tx: [0; TCP_TX_BYTES],
            head: [0; WHIP_HEAD],
            response: [0; WHIP_RESPONSE],
            endpoint: [0; WHIP_URL],
            location: [0; WHIP_URL],
        }
    }
}

impl Default for WhipResources {
    fn default() -> Self {
        Self::new()
    }
}

/// The publishing task: spawn it *instead of* [`crate::peer_task`] and [`crate::http_task`]
/// (same [`PeerResources`]). It publishes, runs the session, DELETEs it when it ends, and
/// publishes again after [`RETRY`] (longer after failures) until [`WhipControl::stop`].
#[embassy_executor::task]
pub async fn whip_task(
    stack: Stack<'static>,
    resources: &'static mut PeerResources,
    whip: &'static mut WhipResources,
    control: &'static WhipControl,
    identity: Identity,
    config: WhipConfig<'static>,
) {
    if let Err(e) = check_config(&config) {
        error!("whip: cannot publish to {}: {:?}", config.url, e);
        control.finished.signal(Err(e));
        return;
    }
    let crate::Parts {
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
    let Some(certificate) = crate::make_certificate(&mut rng, identity.unix_time) else {
        error!("whip: no certificate: the seed gave no P-256 key");
        control.finished.signal(Err(WhipError::Offer));
        return;
    };
    let mut udp_rx_meta = [PacketMetadata::EMPTY; UDP_PACKETS];
    let mut udp_tx_meta = [PacketMetadata::EMPTY; UDP_PACKETS];
    let mut udp = UdpSocket::new(stack, &mut udp_rx_meta, udp_rx, &mut udp_tx_meta, udp_tx);
    if udp.bind(UDP_PORT).is_err() {
        error!("whip: UDP port {} is taken", UDP_PORT);
        control.finished.signal(Err(WhipError::NoAddress));
        return;
    }
    stack.wait_config_up().await;
    // Nobody offers to a publisher: the session's "new offer" wake-up never fires.
    let no_offer = Signal::<CriticalSectionRawMutex, ()>::new();
    let mut last = Ok(());
    let mut retry = RETRY;
    while !control.stopping() {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed);
        let mut peer_config = Config::new(certificate.clone(), seed);
        crate::media::configure(&mut peer_config);
        let peer = crate::start_peer(slot, peer_config, homes);
        crate::media::lend(peer, media_homes);
        let mut media_seed = [0u8; 8];
        rng.fill(&mut media_seed);
        let mut media = crate::media::Media::new(media_seed);
        // Set once the server has created a session (201): from then on it must be DELETEd.
        let mut location = None;
        let published = publish(peer, stack, whip, &config, &mut location).await;
        match published {
            Ok(()) => {
                retry = RETRY;
                info!(
                    "whip: published, session {}",
                    url_text(&whip.location, location)
                );
                crate::session(
                    peer,
                    &udp,
                    &no_offer,
                    &control.stop,
                    datagram_in,
                    datagram_out,
                    echo,
                    &mut media,
                )
                .await;
            }
            Err(e) => {
                warn!("whip: publishing failed: {:?}", e);
                retry = (retry * 2).min(RETRY_MAX);
                crate::close(peer);
                crate::send_all(peer, &udp, datagram_out).await;
            }
        }
        last = match location {
            Some(len) => {
                let deleted = delete(stack, whip, &config, len).await;
                match deleted {
                    Ok(()) => info!(
                        "whip: session {} deleted",
                        url_text(&whip.location, location)
                    ),
                    Err(e) => warn!("whip: DELETE failed: {:?}", e),
                }
                deleted
            }
            None => published,
        };
        if control.stopping() {
            break;
        }
        info!("whip: publishing again in {} s", retry.as_secs());
        if let Either::Second(()) = select(Timer::after(retry), control.stop.wait()).await {
            break;
        }
    }
    info!("whip: stopped");
    control.finished.signal(last);
}

fn check_config(config: &WhipConfig<'_>) -> Result<(), WhipError> {
    wire::parse_url(config.url).map_err(WhipError::Url)?;
    match config.token {
        Some(t) if !wire::token_ok(t) => Err(WhipError::Token),
        _ => Ok(()),
    }
}

/// The session URL kept in `buf` (for logs).
fn url_text(buf: &[u8], len: Option<usize>) -> &str {
    len.and_then(|n| buf.get(..n))
        .and_then(|b| core::str::from_utf8(b).ok())
        .unwrap_or("-")
}

/// Offer, POST (following redirects), apply the answer. `location` is set as soon as the
/// server has answered 201: then there is a session to DELETE even if its answer is refused.
async fn publish(
    peer: &mut AppPeer,
    stack: Stack<'_>,
    whip: &mut WhipResources,
    config: &WhipConfig<'_>,
    location: &mut Option<usize>,
) -> Result<(), WhipError> {
    make_offer(peer, stack, &mut whip.response)?;
    let offer = peer.local_description().ok_or(WhipError::Offer)?;
    let (answer, location_len) = post(stack, whip, config, offer.as_bytes()).await?;
    *location = Some(location_len);
    let answer = whip.response.get(answer).ok_or(WhipError::NotSdp)?;
    let answer = core::str::from_utf8(answer).map_err(|_| WhipError::NotSdp)?;
    apply_answer(peer, answer)
}

/// The complete offer: a data channel (and with `media` the two sendonly tracks) and our host
/// candidate, gathered before the offer is written, so it carries the candidate and
/// `a=end-of-candidates` (WHIP without trickle).
#[inline(never)]
fn make_offer(peer: &mut AppPeer, stack: Stack<'_>, scratch: &mut [u8]) -> Result<(), WhipError> {
    let local = crate::host_address(stack).ok_or(WhipError::NoAddress)?;
    peer.create_data_channel("peerless", ChannelInit::default())
        .map_err(|_| WhipError::Offer)?;
    // With `media`: sendonly video and audio sections (the clip and the tone).
    crate::media::add_tracks(peer);
    peer.add_local_candidate(local)
        .map_err(|_| WhipError::NoAddress)?;
    let offer = peer.create_offer(scratch).map_err(|_| WhipError::Offer)?;
    peer.set_local_description(SdpType::Offer, offer)
        .map_err(|_| WhipError::Offer)
}

#[inline(never)]
fn apply_answer(peer: &mut AppPeer, answer: &str) -> Result<(), WhipError> {
    peer.set_remote_description(SdpType::Answer, answer)
        .map_err(|e| {
            warn!("whip: answer refused: {}", crate::fmt::sdp_error(e));
            WhipError::Answer
        })
}

/// POSTs the offer to the endpoint, following 307/308 redirects. On 201 the session URL is
/// resolved into `whip.location` (its length returned) and the answer's range in
/// `whip.response` is returned with it.
async fn post(
    stack: Stack<'_>,
    whip: &mut WhipResources,
    config: &WhipConfig<'_>,
    offer: &[u8],
) -> Result<(Range<usize>, usize), WhipError> {
    let WhipResources {
        tcp_rx,
        tcp_tx,
        head,
        response,
        endpoint,
        location,
    } = whip;
    let mut endpoint_len = None;
    for _ in 0..=MAX_REDIRECTS {
        let target = match endpoint_len {
            None => config.url,
            Some(n) => core::str::from_utf8(endpoint.get(..n).unwrap_or_default())
                .map_err(|_| WhipError::Url(UrlError::Malformed))?,
        };
        let url = wire::parse_url(target).map_err(WhipError::Url)?;
        let exchange = Exchange {
            method: Method::Post,
            url: &url,
            token: config.token,
            body: offer,
        };
        let filled = exchange.run(stack, tcp_rx, tcp_tx, head, response).await?;
        let filled = response.get(..filled).unwrap_or_default();
        let r = wire::parse_response(filled).map_err(|_| WhipError::Malformed)?;
        let resolved = |location: &mut [u8; WHIP_URL]| {
            let value = r.location.ok_or(WhipError::NoLocation)?;
            wire::resolve(&url, value, location)
                .map(str::len)
                .map_err(|_| WhipError::ResponseTooLarge)
        };
        match r.status {
            201 => {
                let location_len = resolved(location)?;
                if r.content_type
                    .is_some_and(|t| !t.eq_ignore_ascii_case("application/sdp"))
                {
                    return Err(WhipError::NotSdp);
                }
                let answer = wire::body(&r, filled.len(), true)
                    .ok()
                    .flatten()
                    .ok_or(WhipError::Truncated)?;
                return Ok((answer, location_len));
            }
            307 | 308 => {
                let n = resolved(location)?;
                info!(
                    "whip: redirected ({}) to {}",
                    r.status,
                    url_text(location, Some(n))
                );
                let src = location.get(..n).ok_or(WhipError::ResponseTooLarge)?;
                endpoint
                    .get_mut(..n)
                    .ok_or(WhipError::ResponseTooLarge)?
                    .copy_from_slice(src);
                endpoint_len = Some(n);
            }
            status => return Err(WhipError::Status(status)),
        }
    }
    Err(WhipError::TooManyRedirects)
}

/// DELETEs the session whose URL is in `whip.location` (`len` bytes). Any 2xx is success.
async fn delete(
    stack: Stack<'_>,
    whip: &mut WhipResources,
    config: &WhipConfig<'_>,
    len: usize,
) -> Result<(), WhipError> {
    let WhipResources {
        tcp_rx,
        tcp_tx,
        head,
        response,
        location,
        ..
    } = whip;
    let target = core::str::from_utf8(location.get(..len).unwrap_or_default())
        .map_err(|_| WhipError::Url(UrlError::Malformed))?;
    let url = wire::parse_url(target).map_err(WhipError::Url)?;
    let exchange = Exchange {
        method: Method::Delete,
        url: &url,
        token: config.token,
        body: b"",
    };
    let filled = exchange.run(stack, tcp_rx, tcp_tx, head, response).await?;
    let r = wire::parse_response(response.get(..filled).unwrap_or_default())
        .map_err(|_| WhipError::Malformed)?;
    if (200..300).contains(&r.status) {
        Ok(())
    } else {
        Err(WhipError::Status(r.status))
    }
}

/// One request and its response over a fresh TCP connection.
struct Exchange<'a> {
    method: Method,
    url: &'a wire::Url<'a>,
    token: Option<&'a str>,
    body: &'a [u8],
}

impl Exchange<'_> {
    /// Sends the request and reads the whole response into `response` (its length returned),
    /// bounded by [`EXCHANGE_TIMEOUT`].
    async fn run(
        &self,
        stack: Stack<'_>,
        tcp_rx: &mut [u8],
        tcp_tx: &mut [u8],
        head: &mut [u8],
        response: &mut [u8],
    ) -> Result<usize, WhipError> {
        let head_len =
            wire::write_request(head, self.method, self.url, self.token, self.body.len())
                .map_err(|_| WhipError::RequestTooLarge)?;
        let request = head.get(..head_len).unwrap_or_default();
        let mut socket = TcpSocket::new(stack, tcp_rx, tcp_tx);
        socket.set_timeout(Some(EXCHANGE_TIMEOUT));
        let result =
            match with_timeout(EXCHANGE_TIMEOUT, self.talk(&mut socket, request, response)).await {
                Ok(r) => r,
                Err(_) => Err(WhipError::Timeout),
            };
        socket.close();
        let _ = with_timeout(Duration::from_millis(500), socket.flush()).await;
        socket.abort();
        let _ = with_timeout(Duration::from_millis(100), socket.flush()).await;
        result
    }

    async fn talk(
        &self,
        socket: &mut TcpSocket<'_>,
        request: &[u8],
        response: &mut [u8],
    ) -> Result<usize, WhipError> {
        let to = IpEndpoint::from(SocketAddrV4::new(self.url.addr, self.url.port));
        match with_timeout(CONNECT_TIMEOUT, socket.connect(to)).await {
            Ok(Ok(())) => {}
            _ => return Err(WhipError::Connect),
        }
        write_all(socket, request).await?;
        write_all(socket, self.body).await?;
        let mut filled = 0;
        let mut closed = false;
        loop {
            match wire::progress(response, &mut filled, closed) {
                Ok(Some(end)) => return Ok(end),
                Ok(None) => {}
                Err(wire::ResponseError::Malformed) => return Err(WhipError::Malformed),
                Err(wire::ResponseError::Truncated) => return Err(WhipError::Truncated),
                Err(wire::ResponseError::Chunked) => return Err(WhipError::Chunked),
            }
            let space = response
                .get_mut(filled..)
                .filter(|s| !s.is_empty())
                .ok_or(WhipError::ResponseTooLarge)?;
            match socket.read(space).await {
                Ok(0) => closed = true,
                Ok(n) => filled += n,
                Err(_) => return Err(WhipError::Io),
            }
        }
    }
}

async fn write_all(socket: &mut TcpSocket<'_>, mut data: &[u8]) -> Result<(), WhipError> {
    while !data.is_empty() {
        match socket.write(data).await {
            Ok(0) | Err(_) => return Err(WhipError::Io),
            Ok(n) => data = data.get(n..).unwrap_or_default(),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whip_resources_are_what_sizes_says() {
        let expected = TCP_RX_BYTES + TCP_TX_BYTES + WHIP_HEAD + WHIP_RESPONSE + 2 * WHIP_URL;
        assert_eq!(core::mem::size_of::<WhipResources>(), expected);
    }

    #[test]
    fn a_bad_configuration_is_refused_before_anything_is_sent() {
        let config = |url, token| WhipConfig { url, token };
        assert_eq!(
            check_config(&config("http://10.0.0.1:8889/cam/whip", Some("t0k3n"))),
            Ok(())
        );
        assert_eq!(
            check_config(&config("https://10.0.0.1/whip", None)),
            Err(WhipError::Url(UrlError::Https))
        );
        assert_eq!(
            check_config(&config("http://10.0.0.1/whip", Some("bad token"))),
            Err(WhipError::Token)
        );
    }
}
