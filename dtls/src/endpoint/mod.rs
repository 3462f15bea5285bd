//! The DTLS 1.2 endpoint: one handshake state machine for both roles (RFC 6347 §4.2,
//! RFC 5246 §7.3) with the WebRTC profile (mutual ECDSA authentication, use_srtp, EMS).
//!
//! ```text
//!   Client                                              Server
//!   ------                                              ------
//!   SendClientHello: connect(now)
//!   ClientHello (flight 1) ----------------------------> AwaitClientHello
//!                          <---------------------------- HelloVerifyRequest (flight 2, only with cookies)
//!   ClientHello + cookie (flight 3) ------------------->
//!   AwaitServerHello       <---------------------------- ServerHello         (flight 4)
//!   AwaitServerCertificate <---------------------------- Certificate
//!   AwaitServerKeyExchange <---------------------------- ServerKeyExchange (ECDHE, ECDSA-signed)
//!   AwaitServerHelloDone   <---------------------------- CertificateRequest
//!                          <---------------------------- ServerHelloDone
//!   Certificate (flight 5) ---------------------------> AwaitClientCertificate
//!   ClientKeyExchange      ---------------------------> AwaitClientKeyExchange
//!   CertificateVerify      ---------------------------> AwaitCertificateVerify
//!   [ChangeCipherSpec]     --------------------------->
//!   Finished (epoch 1)     ---------------------------> AwaitClientFinished
//!   AwaitServerFinished    <---------------------------- [ChangeCipherSpec] (flight 6)
//!                          <---------------------------- Finished (epoch 1)
//!   Connected  <======== application data, epoch 1 ========>  Connected
//! ```
//!
//! Flights are retransmitted whole when the timer fires (doubling up to a maximum) or when
//! the peer retransmits its previous flight (RFC 6347 §4.2.4). The server's last flight has
//! no timer: it is sent again when the client's Finished arrives again (at most 8 times).

mod admission;
mod buffers;
mod config;
mod handshake;
mod output;

use core::time::Duration;

use peerless_base::{BufferTooSmall, Drbg, Instant, Queue, Writer, debug};
use zeroize::Zeroize;

use crate::cert::{Fingerprint, HashAlgorithm, PeerKey};
use crate::crypto::{self, KeyShare, PrfHash, RecordCipher, Transcript};
use crate::wire::{
    ALERT_WARNING, AlertDescription, CipherSuite, ContentType, HANDSHAKE_HEADER_LEN,
    HandshakeFragment, HandshakeType, NamedGroup, ProtocolVersion, RECORD_HEADER_LEN, Record,
    SrtpProfile, emit_handshake_header,
};
use buffers::{EntryKind, Flight, Reassembly, ReplayWindow, SLOTS, STASH, Stash};
pub use config::{
    ALL_CIPHER_SUITES, ALL_GROUPS, ALL_SRTP_PROFILES, CipherSuites, Config, ListError, MAX_MTU,
    MIN_MTU, NamedGroups, Role,
};
pub use output::{CloseReason, Event, SendError, SrtpKeyingMaterial, Stats};

/// The handshake step we are at, named for what we wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum State {
    /// A client before `connect`: nothing sent, nothing accepted.
    SendClientHello,
    AwaitServerHello,
    AwaitServerCertificate,
    AwaitServerKeyExchange,
    AwaitServerHelloDone,
    AwaitServerFinished,
    AwaitClientHello,
    AwaitClientCertificate,
    AwaitClientKeyExchange,
    AwaitCertificateVerify,
    AwaitClientFinished,
    Connected,
    Closed,
}

/// Why a record was not written.
#[derive(Clone, Copy, Debug)]
pub(super) enum SealError {
    /// The caller's buffer is too small; the output stays queued.
    TooSmall(BufferTooSmall),
    /// The epoch's sequence numbers are used up (the connection must end).
    Exhausted,
}

impl From<BufferTooSmall> for SealError {
    fn from(e: BufferTooSmall) -> Self {
        SealError::TooSmall(e)
    }
}

/// A received application data record waiting for `poll_event`: where its plaintext sits in
/// the receive buffer.
#[derive(Clone, Copy, Debug)]
struct Received {
    start: usize,
    end: usize,
}

/// How many received records wait for `poll_event` at most; one more is dropped and counted
/// (`Stats::dropped_rx_full`) and SCTP's retransmission brings it again.
const RECEIVED: usize = 16;

/// The largest record sequence number (48 bits, RFC 6347 §4.1): a sequence number must not
/// wrap within an epoch, so the endpoint closes instead of sending past it.
pub(super) const MAX_SEQ: u64 = (1 << 48) - 1;

/// How often the server sends its final flight again after the handshake when the client's
/// Finished arrives again (RFC 6347 §4.2.4). A client retransmits on its own doubling timer
/// (1 s, 2 s, 4 s, ... by default), so 8 answers outlast a minute of losses; a client still
/// retransmitting after that is not going to hear us.
const MAX_FINAL_FLIGHT_RESENDS: u8 = 8;

/// Everything but the large buffers, so a message borrowed from the reassembly buffer can be
/// processed while the rest of the state changes.
#[cfg_attr(fuzzing, derive(Clone))]
struct Core {
    config: Config,
    role: Role,
    state: State,
    rng: Drbg,
    now: Instant,
    started: Instant,
    client_random: [u8; 32],
    server_random: [u8; 32],
    /// Server: the HMAC key of our cookies, and the one before the last rotation.
    cookie_secret: [u8; 32],
    previous_cookie_secret: Option<[u8; 32]>,
    hello_verify_count: u8,
    /// Server: times the final flight was sent again after the handshake.
    final_flight_resends: u8,
    suite: CipherSuite,
    group: NamedGroup,
    srtp: Option<SrtpProfile>,
    peer_offered_renegotiation_info: bool,
    peer_offered_point_formats: bool,
    key_share: Option<KeyShare>,
    peer_key: Option<PeerKey>,
    peer_fingerprints: Option<[Fingerprint; 4]>,
    remote_fingerprint: Option<Fingerprint>,
    cert_requested: bool,
    pre_master: [u8; 32],
    master_secret: [u8; 48],
    transcript: Transcript,
    send_msg_seq: u16,
    recv_msg_seq: u16,
    write_seq: [u64; 2],
    write_epoch: u16,
    read_cipher: Option<RecordCipher>,
    write_cipher: Option<RecordCipher>,
    replay: ReplayWindow,
    rto: Duration,
    retransmit_at: Option<Instant>,
    handshake_complete: bool,
    connected_reported: bool,
    pending_alert: Option<(u8, AlertDescription)>,
    peer_retransmitted: bool,
    // The events `poll_event` hands out, in the only order they can happen: Connected, the
    // records received after it, Closed. A flag each for the first and last, so a full
    // queue of records can never cost either.
    connected_pending: bool,
    received: Queue<Received, RECEIVED>,
    closed_pending: Option<CloseReason>,
    app_top: usize,
    stats: Stats,
    /// Sequence number of the last epoch-0 record received: a HelloVerifyRequest reuses it.
    last_record_seq: u64,
}

impl Core {
    fn new(mut config: Config, now: Instant) -> Self {
        let role = config.role;
        // Below 64 bytes not even an encrypted one-byte handshake fragment fits a datagram.
        config.mtu = config.mtu.clamp(MIN_MTU, MAX_MTU);
        let mut rng = Drbg::from_seed(&config.seed, b"peerless-dtls");
        let mut cookie_secret = [0u8; 32];
        rng.fill(&mut cookie_secret);
        let rto = config.retransmit_initial;
        Core {
            role,
            state: match role {
                Role::Client => State::SendClientHello,
                Role::Server => State::AwaitClientHello,
            },
            rng,
            now,
            started: now,
            client_random: [0; 32],
            server_random: [0; 32],
            cookie_secret,
            previous_cookie_secret: None,
            hello_verify_count: 0,
            final_flight_resends: 0,
            suite: CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256,
            group: NamedGroup::SECP256R1,
            srtp: None,
            peer_offered_renegotiation_info: false,
            peer_offered_point_formats: false,
            key_share: None,
            peer_key: None,
            peer_fingerprints: None,
            remote_fingerprint: None,
            cert_requested: false,
            pre_master: [0; 32],
            master_secret: [0; 48],
            transcript: Transcript::new(),
            send_msg_seq: 0,
            recv_msg_seq: 0,
            write_seq: [0; 2],
            write_epoch: 0,
            read_cipher: None,
            write_cipher: None,
            replay: ReplayWindow::default(),
            rto,
            handshake_complete: false,
            connected_reported: false,
            pending_alert: None,
            peer_retransmitted: false,
            connected_pending: false,
            received: Queue::new(),
            closed_pending: None,
            app_top: 0,
            stats: Stats::default(),
            last_record_seq: 0,
            retransmit_at: None,
            config,
        }
    }
}

impl Core {
    /// [`Core::new`] in place: every field by name (no `..`), so a field added to `Core`
    /// fails to compile here until its reset is written. The secrets are overwritten, and the
    /// key share, the record ciphers and the generator are dropped, which wipes them.
    fn reset(&mut self, mut config: Config, now: Instant) {
        let role = config.role;
        config.mtu = config.mtu.clamp(MIN_MTU, MAX_MTU);
        let mut rng = Drbg::from_seed(&config.seed, b"peerless-dtls");
        let mut cookie = [0u8; 32];
        rng.fill(&mut cookie);
        let Core {
            config: self_config,
            role: self_role,
            state,
            rng: self_rng,
            now: self_now,
            started,
            client_random,
            server_random,
            cookie_secret,
            previous_cookie_secret,
            hello_verify_count,
            final_flight_resends,
            suite,
            group,
            srtp,
            peer_offered_renegotiation_info,
            peer_offered_point_formats,
            key_share,
            peer_key,
            peer_fingerprints,
            remote_fingerprint,
            cert_requested,
            pre_master,
            master_secret,
            transcript,
            send_msg_seq,
            recv_msg_seq,
            write_seq,
            write_epoch,
            read_cipher,
            write_cipher,
            replay,
            rto,
            retransmit_at,
            handshake_complete,
            connected_reported,
            pending_alert,
            peer_retransmitted,
            connected_pending,
            received,
            closed_pending,
            app_top,
            stats,
            last_record_seq,
        } = self;
        *self_role = role;
        *state = match role {
            Role::Client => State::SendClientHello,
            Role::Server => State::AwaitClientHello,
        };
        *self_rng = rng;
        *self_now = now;
        *started = now;
        *client_random = [0; 32];
        *server_random = [0; 32];
        *cookie_secret = cookie;
        if let Some(previous) = previous_cookie_secret {
            previous.zeroize();
        }
        *previous_cookie_secret = None;
        *hello_verify_count = 0;
        *final_flight_resends = 0;
        *suite = CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256;
        *group = NamedGroup::SECP256R1;
        *srtp = None;
        *peer_offered_renegotiation_info = false;
        *peer_offered_point_formats = false;
        *key_share = None;
        *peer_key = None;
        *peer_fingerprints = None;
        *remote_fingerprint = None;
        *cert_requested = false;
        pre_master.zeroize();
        master_secret.zeroize();
        *transcript = Transcript::new();
        *send_msg_seq = 0;
        *recv_msg_seq = 0;
        *write_seq = [0; 2];
        *write_epoch = 0;
        *read_cipher = None;
        *write_cipher = None;
        *replay = ReplayWindow::default();
        *rto = config.retransmit_initial;
        *retransmit_at = None;
        *handshake_complete = false;
        *connected_reported = false;
        *pending_alert = None;
        *peer_retransmitted = false;
        *connected_pending = false;
        *received = Queue::new();
        *closed_pending = None;
        *app_top = 0;
        *stats = Stats::default();
        *last_record_seq = 0;
        *self_config = config;
    }
}

/// Never the secrets (master secret, cookie secrets, seed) nor the buffers (plaintext).
impl core::fmt::Debug for Core {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Core")
            .field("role", &self.role)
            .field("state", &self.state)
            .field("suite", &self.suite)
            .field("group", &self.group)
            .field("srtp", &self.srtp)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<const RX: usize, const TX: usize> core::fmt::Debug for Endpoint<RX, TX> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Endpoint")
            .field("core", &self.core)
            .finish_non_exhaustive()
    }
}

/// As `Debug`: never the secrets nor the buffers.
#[cfg(feature = "defmt")]
impl<const RX: usize, const TX: usize> defmt::Format for Endpoint<RX, TX> {
    fn format(&self, f: defmt::Formatter<'_>) {
        let c = &self.core;
        defmt::write!(
            f,
            "Endpoint {{ role: {}, state: {}, suite: {}, group: {}, srtp: {}, stats: {}, .. }}",
            c.role,
            c.state,
            c.suite,
            c.group,
            c.srtp,
            c.stats
        );
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // The record keys are wiped by the ciphers themselves and the key share by its key
        // (peerless-crypto's types wipe on drop).
        self.pre_master.zeroize();
        self.master_secret.zeroize();
        self.cookie_secret.zeroize();
        if let Some(previous) = &mut self.previous_cookie_secret {
            previous.zeroize();
        }
    }
}

/// A DTLS 1.2 endpoint: one side of one association, on one path.
///
/// `RX` bytes hold handshake reassembly (each message plus one bit per byte) and, after the
/// handshake, received application data until it is polled; `TX` bytes hold our current
/// flight (kept for retransmission) and queued application data. The defaults (4 KiB each)
/// take a fragmented browser ClientHello with post-quantum key shares and a 1200-byte MTU.
///
/// # The drain rule
///
/// After every `handle_packet`, `handle_timeout` or command, call `poll_transmit` until it
/// returns `Ok(None)` and `poll_event` until `None`, then arm a timer at `poll_timeout()`.
// Fuzzing only: a cloned endpoint would reuse its keys' nonces and sequence numbers.
#[cfg_attr(fuzzing, derive(Clone))]
pub struct Endpoint<const RX: usize = 4096, const TX: usize = 4096> {
    core: Core,
    rx: Reassembly<RX>,
    tx: Flight<TX>,
    stash: Stash,
}

impl<const RX: usize, const TX: usize> Endpoint<RX, TX> {
    /// A new endpoint playing `config.role`. A server waits for a ClientHello; a client sends
    /// nothing until [`connect`](Self::connect).
    ///
    /// The endpoint is built as the return value itself and the ClientHello is written by
    /// `connect`, so `new` needs no stack beyond the endpoint (on a microcontroller an extra
    /// copy of it is kilobytes).
    #[must_use]
    pub fn new(config: Config, now: Instant) -> Self {
        Endpoint {
            core: Core::new(config, now),
            rx: Reassembly::new(),
            tx: Flight::new(),
            stash: Stash {
                buf: [0; STASH],
                len: 0,
            },
        }
    }

    /// Starts this endpoint over as a new one made from `config`, in place: what
    /// [`new`](Self::new) would build, without a second endpoint on the stack (a host that
    /// keeps one endpoint in its own state, built before the role was known, restarts it when
    /// the role is). The previous handshake's secrets are wiped.
    pub fn restart(&mut self, config: Config, now: Instant) {
        // Field by field: a new `Core` built here would be a temporary of kilobytes.
        self.core.reset(config, now);
        self.rx.reset();
        self.tx.clear();
        self.stash.len = 0;
    }

    /// Client: starts the handshake; the ClientHello is ready in `poll_transmit`. A server
    /// (it answers, it does not start), a client already started and a closed endpoint ignore
    /// it.
    pub fn connect(&mut self, now: Instant) {
        let now = self.core.advance(now);
        if self.core.state == State::SendClientHello {
            self.core.state = State::AwaitServerHello;
            self.core.started = now;
            let mut random = [0u8; 32];
            self.core.rng.fill(&mut random);
            self.core.client_random = random;
            if self.core.send_client_hello(&mut self.tx, &[]).is_err() {
                self.core.fail(AlertDescription::INTERNAL_ERROR, None);
            }
        }
    }

    /// Our role.
    #[must_use]
    pub fn role(&self) -> Role {
        self.core.role
    }

    /// Whether the handshake completed and the peer is authenticated.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.core.state == State::Connected && self.core.connected_reported
    }

    /// Whether the connection has ended.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.core.state == State::Closed
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.core.stats
    }

    /// The fingerprint the peer's certificate must have (from its SDP). It may arrive before,
    /// during or after the handshake: the check runs as soon as both it and the certificate
    /// are known, and `Event::Connected` waits for it. A mismatch closes the connection with
    /// a bad_certificate alert and [`CloseReason::FingerprintMismatch`].
    pub fn set_remote_fingerprint(&mut self, fingerprint: Fingerprint) {
        self.core.remote_fingerprint = Some(fingerprint);
        self.core.check_fingerprint();
        self.core.maybe_connected();
    }

    /// The SHA-256 fingerprint of the peer's certificate, once received.
    #[must_use]
    pub fn peer_fingerprint(&self, algorithm: HashAlgorithm) -> Option<Fingerprint> {
        let fps = self.core.peer_fingerprints?;
        fps.into_iter().find(|f| f.algorithm() == algorithm)
    }

    /// RFC 5705 keying material exporter: `PRF(master_secret, label, client_random +
    /// server_random [+ context length + context])` into `out`. `None` until the handshake
    /// completed and the peer's certificate matched the fingerprint from SDP, and again once
    /// the endpoint is closed.
    pub fn export_keying_material(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Option<()> {
        // RFC 8827 §6.5: keys from a peer whose fingerprint is not verified must not be used,
        // so the exporter answers exactly when `Connected` was (or is about to be) reported.
        if !self.is_connected() {
            return None;
        }
        let c = &self.core;
        match context {
            Some(ctx) => {
                let len = u16::try_from(ctx.len()).ok()?.to_be_bytes();
                let seed: [&[u8]; 4] = [&c.client_random, &c.server_random, &len, ctx];
                crypto::prf(PrfHash::of(c.suite), &c.master_secret, label, &seed, out);
            }
            None => {
                let seed: [&[u8]; 2] = [&c.client_random, &c.server_random];
                crypto::prf(PrfHash::of(c.suite), &c.master_secret, label, &seed, out);
            }
        }
        Some(())
    }

    /// Queues application data for one record. Only after `Event::Connected`.
    pub fn send(&mut self, data: &[u8]) -> Result<(), SendError> {
        match self.core.state {
            State::Closed => return Err(SendError::Closed),
            State::Connected if self.core.connected_reported => {}
            _ => return Err(SendError::NotConnected),
        }
        let overhead = RECORD_HEADER_LEN
            + self
                .core
                .write_cipher
                .as_ref()
                .map_or(0, RecordCipher::overhead);
        if data.len() + overhead > self.core.config.mtu {
            return Err(SendError::TooLarge);
        }
        self.tx.queue_app(data)
    }

    /// Server: draws a new secret for HelloVerifyRequest cookies. Cookies made with the
    /// secret before stay valid until the next rotation, so a client between its two
    /// ClientHellos is not turned away; rotate at least as often as a cookie should live
    /// (RFC 6347 §4.2.1 suggests changing the secret frequently).
    pub fn rotate_cookie_secret(&mut self) {
        self.core.rotate_cookie_secret();
    }

    /// Sends close_notify and ends the connection ([`CloseReason::LocalClose`]); drain
    /// `poll_transmit` for the alert.
    pub fn close(&mut self, now: Instant) {
        self.core.advance(now);
        if self.core.state == State::Closed {
            return;
        }
        self.core.pending_alert = Some((ALERT_WARNING, AlertDescription::CLOSE_NOTIFY));
        self.core.close(CloseReason::LocalClose);
    }

    /// One received UDP datagram (one or more records). Never fails: what cannot be used is
    /// dropped and counted in [`Stats`]. Handshake records are decrypted in place;
    /// application data is decrypted straight from `packet` into the buffer the
    /// `Event::ApplicationData` slice borrows (the plaintext is never copied).
    pub fn handle_packet(&mut self, now: Instant, packet: &mut [u8]) {
        self.core.advance(now);
        self.core.stats.datagrams_received += 1;
        match self.core.state {
            State::Closed => return,
            State::SendClientHello => {
                // A client that has not started has no transcript to take a reply into.
                self.core.stats.dropped_unexpected += 1;
                return;
            }
            _ => {}
        }
        self.core.peer_retransmitted = false;
        let mut pos = 0;
        while pos < packet.len() {
            let Some(rest) = packet.get_mut(pos..) else {
                break;
            };
            let Ok(len) = Record::parse(rest).map(|r| r.len()) else {
                self.core.stats.dropped_malformed += 1;
                break;
            };
            if let Some(record) = rest.get_mut(..len) {
                self.handle_record(record);
            }
            pos += len;
        }
        self.replay_stash();
        if self.core.peer_retransmitted && self.core.retransmits_on_peer_retransmit() {
            if self.core.state == State::Connected {
                if self.core.final_flight_resends >= MAX_FINAL_FLIGHT_RESENDS {
                    return;
                }
                self.core.final_flight_resends += 1;
            }
            self.tx.restart();
            self.core.stats.retransmissions += 1;
        }
    }

    /// A deadline from [`Endpoint::poll_timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.core.advance(now);
        if self.core.state == State::Closed {
            return;
        }
        let Some(at) = self.core.retransmit_at else {
            return;
        };
        if now < at {
            return;
        }
        if now.saturating_duration_since(self.core.started) >= self.core.config.handshake_timeout {
            self.core.retransmit_at = None;
            self.core.close(CloseReason::HandshakeTimeout);
            return;
        }
        self.core.rto = (self.core.rto * 2).min(self.core.config.retransmit_max);
        self.core.retransmit_at = Some(now + self.core.rto);
        debug!(
            "dtls: retransmitting the flight, next timeout in {:?}",
            self.core.rto
        );
        self.tx.restart();
        self.core.stats.retransmissions += 1;
    }

    /// The next deadline: the flight retransmission timer while a reply is awaited.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.core.state == State::Closed {
            return None;
        }
        self.core.retransmit_at
    }

    /// The next event, if any. An `ApplicationData` borrows the endpoint until the next call.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        if core::mem::take(&mut self.core.connected_pending) {
            let keys = self.core.srtp_keys();
            return Some(Event::Connected {
                cipher_suite: self.core.suite,
                srtp_profile: keys.as_ref().map(|k| k.profile),
                keys,
            });
        }
        if let Some(Received { start, end }) = self.core.received.pop() {
            return Some(Event::ApplicationData(
                self.rx.buf.get(start..end).unwrap_or_default(),
            ));
        }
        self.core.closed_pending.take().map(Event::Closed)
    }

    /// The next datagram to send, written into `buf`: just its bytes, since the endpoint runs
    /// on one path and the layer below addresses them. A buffer smaller than the MTU still
    /// works if it holds the next record; otherwise [`BufferTooSmall`] says what would.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<&'b [u8]>, BufferTooSmall> {
        let limit = buf.len().min(self.core.config.mtu);
        let result = if self.core.pending_alert.is_some() {
            self.emit_alert(buf)
        } else if self.tx.cursor.is_some() && self.core.state != State::Closed {
            // `limit` is at most `buf.len()`; were it not, the empty slice reports the MTU
            // as the size needed.
            self.emit_flight(buf.get_mut(..limit).unwrap_or_default())
        } else if self.tx.app_head != self.tx.app_tail && self.core.state == State::Connected {
            self.emit_app(buf)
        } else {
            return Ok(None);
        };
        let n = match result {
            Ok(n) => n,
            Err(SealError::TooSmall(e)) => return Err(e),
            Err(SealError::Exhausted) => {
                // Not even an alert can go out without a fresh sequence number.
                self.core.pending_alert = None;
                self.tx.clear();
                if self.core.state != State::Closed {
                    self.core.close(CloseReason::SequenceExhausted);
                }
                return Ok(None);
            }
        };
        if n == 0 {
            return Ok(None);
        }
        let Some(datagram) = buf.get(..n) else {
            return Err(BufferTooSmall { needed: n });
        };
        self.core.stats.datagrams_sent += 1;
        Ok(Some(datagram))
    }

    fn emit_alert(&mut self, buf: &mut [u8]) -> Result<usize, SealError> {
        let Some((level, desc)) = self.core.pending_alert else {
            return Ok(0);
        };
        let n = self.core.seal_record(
            buf,
            ContentType::ALERT,
            self.core.write_epoch,
            &[level, desc.0],
        )?;
        self.core.pending_alert = None;
        Ok(n)
    }

    fn emit_app(&mut self, buf: &mut [u8]) -> Result<usize, SealError> {
        let head = self.tx.app_head;
        let len = self
            .tx
            .buf
            .get(head..)
            .and_then(<[u8]>::first_chunk::<2>)
            .map_or(0, |b| usize::from(u16::from_be_bytes(*b)));
        let data = self
            .tx
            .buf
            .get(head + 2..head + 2 + len)
            .unwrap_or_default();
        let n = self
            .core
            .seal_record(buf, ContentType::APPLICATION_DATA, 1, data)?;
        self.tx.app_head = head + 2 + len;
        if self.tx.app_head == self.tx.app_tail {
            self.tx.app_head = self.tx.len;
            self.tx.app_tail = self.tx.len;
        }
        self.core.stats.app_records_sent += 1;
        Ok(n)
    }

    /// Packs as much of the flight as fits into one datagram: records back to back, handshake
    /// messages of one epoch back to back in one record, fragmenting at the boundary.
    fn emit_flight(&mut self, buf: &mut [u8]) -> Result<usize, SealError> {
        let mut pos = 0;
        let Some((mut idx, mut off)) = self.tx.cursor else {
            return Ok(0);
        };
        let min_record = RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN + 1 + 24;
        while idx < self.tx.count {
            let Some(&entry) = self.tx.entries.get(idx) else {
                break;
            };
            // The datagram after the records already packed into it.
            let Some(rest) = buf.get_mut(pos..) else {
                break;
            };
            let room = rest.len();
            if entry.kind == EntryKind::ChangeCipherSpec {
                if room < RECORD_HEADER_LEN + 1 {
                    break;
                }
                let n = self
                    .core
                    .seal_record(rest, ContentType::CHANGE_CIPHER_SPEC, 0, &[1])?;
                pos += n;
                idx += 1;
                off = 0;
                continue;
            }
            let overhead = RECORD_HEADER_LEN
                + if entry.epoch == 1 {
                    self.core
                        .write_cipher
                        .as_ref()
                        .map_or(0, RecordCipher::overhead)
                } else {
                    0
                };
            if room < overhead + HANDSHAKE_HEADER_LEN + 1 || (pos > 0 && room < min_record) {
                break;
            }
            // Build the plaintext of one record: fragments of consecutive same-epoch messages.
            let explicit = if entry.epoch == 1 {
                self.core
                    .write_cipher
                    .as_ref()
                    .map_or(0, RecordCipher::explicit_nonce_len)
            } else {
                0
            };
            let body_start = RECORD_HEADER_LEN + explicit;
            let body_cap = room - overhead;
            let mut body_len = 0;
            let epoch = entry.epoch;
            while idx < self.tx.count {
                let Some(&e) = self.tx.entries.get(idx) else {
                    break;
                };
                if e.kind != EntryKind::Handshake || e.epoch != epoch {
                    break;
                }
                let left = body_cap - body_len;
                if left < HANDSHAKE_HEADER_LEN + 1 {
                    break;
                }
                let Some((header, msg_body)) = self
                    .tx
                    .buf
                    .get(e.start..e.start + e.len)
                    .and_then(<[u8]>::split_first_chunk::<HANDSHAKE_HEADER_LEN>)
                else {
                    break;
                };
                let frag = (msg_body.len() - off).min(left - HANDSHAKE_HEADER_LEN);
                if frag == 0 && !msg_body.is_empty() {
                    break;
                }
                let (Some(out), Some(piece)) = (
                    rest.get_mut(body_start + body_len..),
                    msg_body.get(off..off + frag),
                ) else {
                    break;
                };
                let mut w = Writer::new(out);
                emit_handshake_header(
                    &mut w,
                    HandshakeType(header[0]),
                    msg_body.len(),
                    u16::from_be_bytes([header[4], header[5]]),
                    off,
                    frag,
                );
                w.bytes(piece);
                body_len += HANDSHAKE_HEADER_LEN + frag;
                off += frag;
                if off == msg_body.len() {
                    idx += 1;
                    off = 0;
                } else {
                    break;
                }
            }
            if body_len == 0 {
                break;
            }
            let n = self
                .core
                .seal_in_place(rest, ContentType::HANDSHAKE, epoch, body_len)?;
            pos += n;
        }
        self.tx.cursor = if idx >= self.tx.count {
            None
        } else {
            Some((idx, off))
        };
        if pos == 0 && self.tx.cursor.is_some() {
            return Err(BufferTooSmall {
                needed: self.core.config.mtu,
            }
            .into());
        }
        Ok(pos)
    }

    fn handle_record(&mut self, record: &mut [u8]) {
        let Ok(view) = Record::parse(record) else {
            self.core.stats.dropped_malformed += 1;
            return;
        };
        let (ctype, epoch, seq, version) = (
            view.content_type(),
            view.epoch(),
            view.sequence(),
            view.version(),
        );
        if version != ProtocolVersion::DTLS_1_2 && version != ProtocolVersion::DTLS_1_0 {
            self.core.stats.dropped_unexpected += 1;
            return;
        }
        let range = match epoch {
            0 => {
                self.core.last_record_seq = seq;
                RECORD_HEADER_LEN..record.len()
            }
            1 => {
                let Some(cipher) = self.core.read_cipher.as_ref() else {
                    // Keys not derived yet: keep the record for when they are.
                    let end = self.stash.len + record.len();
                    if let Some(dst) = self.stash.buf.get_mut(self.stash.len..end) {
                        dst.copy_from_slice(record);
                        self.stash.len = end;
                    } else {
                        self.core.stats.dropped_unexpected += 1;
                    }
                    return;
                };
                if !self.core.replay.check(seq) {
                    self.core.stats.dropped_replayed += 1;
                    return;
                }
                // `Record::parse` checked the header is there.
                let Some((header, fragment)) = record.split_first_chunk_mut::<RECORD_HEADER_LEN>()
                else {
                    self.core.stats.dropped_malformed += 1;
                    return;
                };
                let header = *header;
                if ctype == ContentType::APPLICATION_DATA {
                    // Application data decrypts straight into the event buffer.
                    self.deliver(&header, seq, fragment);
                    return;
                }
                let Ok(r) = cipher.open(&header, fragment) else {
                    self.core.stats.dropped_decrypt += 1;
                    return;
                };
                self.core.replay.accept(seq);
                RECORD_HEADER_LEN + r.start..RECORD_HEADER_LEN + r.end
            }
            _ => {
                self.core.stats.dropped_unexpected += 1;
                return;
            }
        };
        let Some(payload) = record.get(range) else {
            self.core.stats.dropped_malformed += 1;
            return;
        };
        match ctype {
            ContentType::HANDSHAKE => self.handle_handshake(payload, epoch),
            ContentType::ALERT => self.core.handle_alert(payload, epoch),
            ContentType::CHANGE_CIPHER_SPEC => {
                // Epochs are explicit in DTLS records: the CCS itself changes nothing here.
            }
            _ => self.core.stats.dropped_unexpected += 1,
        }
    }

    /// An epoch-1 application data record: authenticated and decrypted straight into the
    /// event buffer (no plaintext copy), then handed out by `poll_event`.
    fn deliver(&mut self, header: &[u8; RECORD_HEADER_LEN], seq: u64, fragment: &[u8]) {
        if self.core.state != State::Connected || !self.core.connected_reported {
            self.core.stats.dropped_unexpected += 1;
            return;
        }
        let Some(cipher) = self.core.read_cipher.as_ref() else {
            return;
        };
        if self.core.received.is_empty() {
            self.core.app_top = 0;
        }
        let start = self.core.app_top;
        let len = fragment.len().saturating_sub(cipher.overhead());
        // Checked before decrypting: a record that cannot be queued must not enter the
        // replay window either, so the peer's retransmission of it is accepted.
        let room = !self.core.received.is_full();
        let Some(out) = self.rx.buf.get_mut(start..start + len).filter(|_| room) else {
            self.core.stats.dropped_rx_full += 1;
            return;
        };
        if cipher.open_into(header, fragment, out).is_err() {
            self.core.stats.dropped_decrypt += 1;
            return;
        }
        self.core.replay.accept(seq);
        self.core.app_top = start + len;
        self.core.stats.app_records_received += 1;
        let received = Received {
            start,
            end: start + len,
        };
        if self.core.received.push(received).is_err() {
            // Not reached: `room` was checked above and nothing was popped since.
            self.core.stats.dropped_rx_full += 1;
        }
    }

    fn handle_handshake(&mut self, mut payload: &[u8], epoch: u16) {
        if self.core.handshake_complete {
            self.core.handshake_after_completion(payload, epoch);
            return;
        }
        while !payload.is_empty() {
            let Ok(frag) = HandshakeFragment::parse(payload) else {
                self.core.stats.dropped_fragments += 1;
                return;
            };
            payload = payload.get(frag.wire_len()..).unwrap_or_default();
            if self.core.state == State::AwaitClientHello {
                if frag.msg_type() != HandshakeType::CLIENT_HELLO || epoch != 0 {
                    self.core.stats.dropped_fragments += 1;
                    continue;
                }
                if frag.message_seq() != self.core.recv_msg_seq || self.rx.conflicts(&frag, epoch) {
                    // Before a ClientHello is accepted the server keeps no state: one
                    // answering a HelloVerifyRequest (seq 1), a first one sent again because
                    // our HelloVerifyRequest was lost (seq 0), or one that disagrees with a
                    // (possibly forged) fragment seen before is simply taken as it comes, so
                    // an injected fragment cannot hold the slot against the real client.
                    self.rx.reset();
                    self.core.recv_msg_seq = frag.message_seq();
                }
            }
            let seq = frag.message_seq();
            if seq < self.core.recv_msg_seq {
                self.core.peer_retransmitted = true;
                continue;
            }
            let ahead = seq - self.core.recv_msg_seq;
            // A fragment of a message the peer cannot send here (or in the wrong epoch) would
            // claim the slot its real message needs: drop it before it takes one.
            if ahead >= SLOTS as u16 || !self.core.may_come(ahead, frag.msg_type(), epoch) {
                self.core.stats.dropped_fragments += 1;
                continue;
            }
            if !self.rx.insert(&frag, epoch) {
                self.core.stats.dropped_fragments += 1;
                if self.core.state == State::AwaitClientHello {
                    // Its bytes disagree with a fragment before it: stateless, the newest
                    // ClientHello wins (see above).
                    self.rx.reset();
                    if !self.rx.insert(&frag, epoch) {
                        self.core.stats.dropped_fragments += 1;
                    }
                }
            }
        }
        while let Some((ty, range, ep)) = self.rx.complete(self.core.recv_msg_seq) {
            let seq = self.core.recv_msg_seq;
            let body = self.rx.buf.get(range).unwrap_or_default();
            self.core.recv_msg_seq = seq.wrapping_add(1);
            self.core.handle_message(ty, seq, body, ep, &mut self.tx);
            self.rx.release(seq);
            if self.core.state == State::Closed {
                return;
            }
        }
        if self.core.handshake_complete {
            self.rx.reset();
        }
    }

    fn replay_stash(&mut self) {
        if self.stash.len == 0 || self.core.read_cipher.is_none() {
            return;
        }
        let mut stash = core::mem::replace(
            &mut self.stash,
            Stash {
                buf: [0; STASH],
                len: 0,
            },
        );
        let mut pos = 0;
        while pos < stash.len {
            let Some(rest) = stash.buf.get_mut(pos..stash.len) else {
                break;
            };
            let Ok(len) = Record::parse(rest).map(|r| r.len()) else {
                break;
            };
            if let Some(record) = rest.get_mut(..len) {
                self.handle_record(record);
            }
            pos += len;
        }
    }
}

#[cfg(test)]
mod tests;
