//! The DTLS 1.2 endpoint: one handshake state machine for both roles (RFC 6347 §4.2,
//! RFC 5246 §7.3) with the WebRTC profile (mutual ECDSA authentication, use_srtp, EMS).
//!
//! ```text
//!   Client                                              Server
//!   ------                                              ------
//!   SendClientHello
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
//! no timer: it is sent again when the client's flight 5 arrives again.

use core::ops::Range;
use core::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use peerless_base::{BufferTooSmall, Drbg, Instant, Transmit, Writer, ct_eq, debug, trace, warn};
use sha2::{Digest, Sha256};

use crate::cert::{Certificate, Fingerprint, HashAlgorithm, PeerKey};
use crate::crypto::{
    self, KeyShare, MAX_PUBLIC_LEN, PrfHash, RecordCipher, Transcript, key_iv_len,
};
use crate::wire::{
    ALERT_FATAL, ALERT_WARNING, Alert, AlertDescription, CertificateRequest, CertificateVerify,
    CipherSuite, ClientHello, ContentType, ExtensionType, HANDSHAKE_HEADER_LEN, HandshakeFragment,
    HandshakeType, HelloVerifyRequest, NamedGroup, ProtocolVersion, RECORD_HEADER_LEN, Record,
    ServerHello, ServerKeyExchange, SignatureScheme, SrtpProfile, UseSrtp, emit_extension,
    emit_handshake_header, emit_record_header, emit_u16_vector, parse_certificate_list,
    parse_client_key_exchange, parse_u16_vector,
};

/// Which side of the handshake this endpoint plays. In WebRTC the SDP `a=setup` outcome
/// decides: `active` is the DTLS client, `passive` the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// Sends the ClientHello (`a=setup:active`).
    Client,
    /// Answers it (`a=setup:passive`).
    Server,
}

/// Everything an [`Endpoint`] is configured with.
#[derive(Clone, Debug)]
pub struct Config {
    /// Our certificate and key.
    pub certificate: Certificate,
    /// 32 bytes of entropy from the host (TRNG or OS); expanded by HMAC-DRBG.
    pub seed: [u8; 32],
    /// Cipher suites in preference order.
    pub cipher_suites: &'static [CipherSuite],
    /// ECDHE groups in preference order.
    pub groups: &'static [NamedGroup],
    /// SRTP profiles in preference order (empty: no use_srtp).
    pub srtp_profiles: &'static [SrtpProfile],
    /// Largest datagram we send (DTLS header and all).
    pub mtu: usize,
    /// First retransmission timeout (RFC 6347 suggests 1 s).
    pub retransmit_initial: Duration,
    /// Ceiling of the doubling retransmission timeout (RFC 6347: 60 s).
    pub retransmit_max: Duration,
    /// The handshake fails with [`CloseReason::HandshakeTimeout`] after this long.
    pub handshake_timeout: Duration,
    /// Server: answer a ClientHello without a valid cookie with a HelloVerifyRequest.
    pub cookies: bool,
}

/// Every cipher suite, AES-128-GCM first (what browsers pick).
pub const ALL_CIPHER_SUITES: &[CipherSuite] = &[
    CipherSuite::ECDHE_ECDSA_AES_128_GCM_SHA256,
    CipherSuite::ECDHE_ECDSA_AES_256_GCM_SHA384,
    CipherSuite::ECDHE_ECDSA_CHACHA20_POLY1305_SHA256,
];
/// Both groups, x25519 first (cheaper).
pub const ALL_GROUPS: &[NamedGroup] = &[NamedGroup::X25519, NamedGroup::SECP256R1];
/// Every SRTP profile, AEAD first.
pub const ALL_SRTP_PROFILES: &[SrtpProfile] = &[
    SrtpProfile::AEAD_AES_128_GCM,
    SrtpProfile::AEAD_AES_256_GCM,
    SrtpProfile::AES128_CM_HMAC_SHA1_80,
    SrtpProfile::AES128_CM_HMAC_SHA1_32,
];

impl Config {
    /// A configuration with every suite, group and profile, MTU 1200, 1 s initial and 60 s
    /// maximum retransmission timeout, a 60 s handshake limit and no cookies.
    #[must_use]
    pub fn new(certificate: Certificate, seed: [u8; 32]) -> Self {
        Config {
            certificate,
            seed,
            cipher_suites: ALL_CIPHER_SUITES,
            groups: ALL_GROUPS,
            srtp_profiles: ALL_SRTP_PROFILES,
            mtu: 1200,
            retransmit_initial: Duration::from_secs(1),
            retransmit_max: Duration::from_secs(60),
            handshake_timeout: Duration::from_secs(60),
            cookies: false,
        }
    }
    /// Sets the cipher suites.
    #[must_use]
    pub fn with_cipher_suites(mut self, suites: &'static [CipherSuite]) -> Self {
        self.cipher_suites = suites;
        self
    }
    /// Sets the groups.
    #[must_use]
    pub fn with_groups(mut self, groups: &'static [NamedGroup]) -> Self {
        self.groups = groups;
        self
    }
    /// Sets the SRTP profiles.
    #[must_use]
    pub fn with_srtp_profiles(mut self, profiles: &'static [SrtpProfile]) -> Self {
        self.srtp_profiles = profiles;
        self
    }
    /// Sets the MTU.
    #[must_use]
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }
    /// Sets the initial and maximum retransmission timeouts.
    #[must_use]
    pub fn with_retransmit(mut self, initial: Duration, max: Duration) -> Self {
        self.retransmit_initial = initial;
        self.retransmit_max = max;
        self
    }
    /// Sets the handshake time limit.
    #[must_use]
    pub fn with_handshake_timeout(mut self, limit: Duration) -> Self {
        self.handshake_timeout = limit;
        self
    }
    /// Server: use HelloVerifyRequest cookies.
    #[must_use]
    pub fn with_cookies(mut self, on: bool) -> Self {
        self.cookies = on;
        self
    }
}

/// The EXTRACTOR-dtls_srtp keying material (RFC 5764 §4.2), split as RFC 5764 lays it out:
/// client key, server key, client salt, server salt.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SrtpKeyingMaterial {
    profile: SrtpProfile,
    material: [u8; 88],
    key_len: usize,
    salt_len: usize,
}

impl core::fmt::Debug for SrtpKeyingMaterial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SrtpKeyingMaterial")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl SrtpKeyingMaterial {
    /// The negotiated profile these keys are for.
    #[must_use]
    pub fn profile(&self) -> SrtpProfile {
        self.profile
    }
    /// The whole exported block (`2 * (key + salt)` bytes), as OpenSSL prints it.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.material
            .get(..2 * (self.key_len + self.salt_len))
            .unwrap_or_default()
    }
    fn part(&self, start: usize, len: usize) -> &[u8] {
        self.material.get(start..start + len).unwrap_or_default()
    }
    /// The client's SRTP master key.
    #[must_use]
    pub fn client_key(&self) -> &[u8] {
        self.part(0, self.key_len)
    }
    /// The server's SRTP master key.
    #[must_use]
    pub fn server_key(&self) -> &[u8] {
        self.part(self.key_len, self.key_len)
    }
    /// The client's SRTP master salt.
    #[must_use]
    pub fn client_salt(&self) -> &[u8] {
        self.part(2 * self.key_len, self.salt_len)
    }
    /// The server's SRTP master salt.
    #[must_use]
    pub fn server_salt(&self) -> &[u8] {
        self.part(2 * self.key_len + self.salt_len, self.salt_len)
    }
    /// (key, salt) this side protects outgoing SRTP with.
    #[must_use]
    pub fn local(&self, role: Role) -> (&[u8], &[u8]) {
        match role {
            Role::Client => (self.client_key(), self.client_salt()),
            Role::Server => (self.server_key(), self.server_salt()),
        }
    }
    /// (key, salt) the peer protects its SRTP with.
    #[must_use]
    pub fn remote(&self, role: Role) -> (&[u8], &[u8]) {
        match role {
            Role::Client => (self.server_key(), self.server_salt()),
            Role::Server => (self.client_key(), self.client_salt()),
        }
    }
}

/// Why the connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CloseReason {
    /// The peer sent close_notify.
    PeerClosed,
    /// We called [`Endpoint::close`].
    LocalClose,
    /// The peer sent this fatal alert.
    PeerAlert(AlertDescription),
    /// We aborted the handshake and sent this fatal alert.
    HandshakeFailed(AlertDescription),
    /// The peer's certificate does not match the fingerprint from SDP.
    FingerprintMismatch,
    /// The handshake did not complete within [`Config::handshake_timeout`].
    HandshakeTimeout,
}

/// What the endpoint reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// The handshake completed and the peer's certificate matched its fingerprint.
    Connected {
        /// The negotiated suite.
        cipher_suite: CipherSuite,
        /// The negotiated SRTP profile, if the peers agreed on one.
        srtp_profile: Option<SrtpProfile>,
        /// The SRTP keys exported for that profile.
        keys: Option<SrtpKeyingMaterial>,
    },
    /// Application data from the peer (valid until the next call on the endpoint).
    ApplicationData(&'a [u8]),
    /// The connection ended.
    Closed(CloseReason),
}

/// Why [`Endpoint::send`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendError {
    /// The handshake has not completed (or the peer is not yet authenticated).
    NotConnected,
    /// The connection is closed.
    Closed,
    /// The data does not fit one record at the configured MTU.
    TooLarge,
    /// The outgoing queue is full; poll_transmit first.
    QueueFull,
}

/// Counters; network input never fails a call, it is counted here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Datagrams handed to `handle_packet`.
    pub datagrams_received: u64,
    /// Datagrams produced by `poll_transmit`.
    pub datagrams_sent: u64,
    /// Records that failed to parse (the rest of their datagram is dropped too).
    pub malformed_records: u64,
    /// Records that failed authentication.
    pub decrypt_failures: u64,
    /// Records dropped by the anti-replay window.
    pub replayed_records: u64,
    /// Records dropped for another reason (wrong epoch, no room, unexpected type).
    pub dropped_records: u64,
    /// Handshake fragments dropped (outside the window, no room, inconsistent).
    pub dropped_fragments: u64,
    /// Flights sent again.
    pub retransmissions: u64,
    /// Application data records delivered.
    pub app_records_received: u64,
    /// Application data records sent.
    pub app_records_sent: u64,
}

/// The handshake step we are at, named for what we wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum State {
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

// ---------------------------------------------------------------------------------------------
// Handshake reassembly (RFC 6347 §4.2.3): fragments of up to SLOTS messages at once, each stored
// with a one-bit-per-byte map of what has arrived, carved from one buffer.

const SLOTS: usize = 8;

#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    used: bool,
    msg_seq: u16,
    msg_type: u8,
    epoch: u16,
    length: usize,
    start: usize,
    got: usize,
}

#[derive(Debug)]
struct Reassembly<const N: usize> {
    buf: [u8; N],
    top: usize,
    slots: [Slot; SLOTS],
}

impl<const N: usize> Reassembly<N> {
    fn new() -> Self {
        Reassembly {
            buf: [0; N],
            top: 0,
            slots: [Slot::default(); SLOTS],
        }
    }

    fn reset(&mut self) {
        self.top = 0;
        self.slots = [Slot::default(); SLOTS];
    }

    /// Stores a fragment; false if it had to be dropped.
    fn insert(&mut self, f: &HandshakeFragment<'_>, epoch: u16) -> bool {
        let length = f.length() as usize;
        let idx = match self
            .slots
            .iter()
            .position(|s| s.used && s.msg_seq == f.message_seq())
        {
            Some(i) => {
                let s = self.slots[i];
                if s.msg_type != f.msg_type().0 || s.length != length || s.epoch != epoch {
                    return false;
                }
                i
            }
            None => {
                let need = length + length.div_ceil(8);
                let Some(i) = self.slots.iter().position(|s| !s.used) else {
                    return false;
                };
                if self.top + need > N {
                    return false;
                }
                self.slots[i] = Slot {
                    used: true,
                    msg_seq: f.message_seq(),
                    msg_type: f.msg_type().0,
                    epoch,
                    length,
                    start: self.top,
                    got: 0,
                };
                if let Some(map) = self.buf.get_mut(self.top + length..self.top + need) {
                    map.fill(0);
                }
                self.top += need;
                i
            }
        };
        let slot = &mut self.slots[idx];
        let off = f.fragment_offset() as usize;
        let (data, map) =
            self.buf[slot.start..slot.start + length + length.div_ceil(8)].split_at_mut(length);
        if let Some(dst) = data.get_mut(off..off + f.body().len()) {
            dst.copy_from_slice(f.body());
        }
        for i in off..off + f.body().len() {
            if let Some(m) = map.get_mut(i / 8) {
                let bit = 1u8 << (i % 8);
                if *m & bit == 0 {
                    *m |= bit;
                    slot.got += 1;
                }
            }
        }
        true
    }

    /// The complete message with `msg_seq`, if all its bytes arrived.
    fn complete(&self, msg_seq: u16) -> Option<(HandshakeType, Range<usize>, u16)> {
        let s = self
            .slots
            .iter()
            .find(|s| s.used && s.msg_seq == msg_seq && s.got == s.length)?;
        Some((
            HandshakeType(s.msg_type),
            s.start..s.start + s.length,
            s.epoch,
        ))
    }

    fn release(&mut self, msg_seq: u16) {
        for s in self.slots.iter_mut().filter(|s| s.msg_seq == msg_seq) {
            s.used = false;
        }
        if self.slots.iter().all(|s| !s.used) {
            self.top = 0;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Our current flight, kept whole for retransmission, and the application-data queue after it.

const FLIGHT_ENTRIES: usize = 8;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EntryKind {
    #[default]
    Handshake,
    ChangeCipherSpec,
}

#[derive(Clone, Copy, Debug, Default)]
struct Entry {
    kind: EntryKind,
    epoch: u16,
    start: usize,
    len: usize,
}

#[derive(Debug)]
struct Flight<const N: usize> {
    buf: [u8; N],
    len: usize,
    entries: [Entry; FLIGHT_ENTRIES],
    count: usize,
    /// Next entry and byte offset to put on the wire; `None` when the flight is sent.
    cursor: Option<(usize, usize)>,
    /// Application records queued after the flight, as `u16` length + plaintext.
    app_head: usize,
    app_tail: usize,
}

impl<const N: usize> Flight<N> {
    fn new() -> Self {
        Flight {
            buf: [0; N],
            len: 0,
            entries: [Entry::default(); FLIGHT_ENTRIES],
            count: 0,
            cursor: None,
            app_head: 0,
            app_tail: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.count = 0;
        self.cursor = None;
        self.app_head = 0;
        self.app_tail = 0;
    }

    fn push_entry(&mut self, e: Entry) -> bool {
        let Some(slot) = self.entries.get_mut(self.count) else {
            return false;
        };
        *slot = e;
        self.count += 1;
        self.cursor.get_or_insert((0, 0));
        true
    }

    fn restart(&mut self) {
        if self.count > 0 {
            self.cursor = Some((0, 0));
        }
    }

    fn queue_app(&mut self, data: &[u8]) -> Result<(), SendError> {
        if self.app_head == self.app_tail {
            self.app_head = self.len;
            self.app_tail = self.len;
        }
        let end = self.app_tail + 2 + data.len();
        let dst = self
            .buf
            .get_mut(self.app_tail..end)
            .ok_or(SendError::QueueFull)?;
        dst[..2].copy_from_slice(&(data.len() as u16).to_be_bytes());
        dst[2..].copy_from_slice(data);
        self.app_tail = end;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Epoch-1 records that arrived before we could decrypt them (a Finished overtaking the
// ClientKeyExchange): kept, not dropped, and replayed once the keys exist.

const STASH: usize = 512;

#[derive(Debug)]
struct Stash {
    buf: [u8; STASH],
    len: usize,
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum PendingEvent {
    Connected,
    ApplicationData(usize, usize),
    Closed(CloseReason),
}

const EVENTS: usize = 16;

/// The 64-record sliding anti-replay window (RFC 6347 §4.1.2.6) for epoch 1.
#[derive(Clone, Copy, Debug, Default)]
struct ReplayWindow {
    /// Highest sequence number accepted so far plus one (0: none yet).
    top: u64,
    /// Bit i set: `top - 1 - i` was accepted.
    bits: u64,
}

impl ReplayWindow {
    fn check(&self, seq: u64) -> bool {
        if seq >= self.top {
            return true;
        }
        let back = self.top - 1 - seq;
        back < 64 && self.bits & (1 << back) == 0
    }
    fn accept(&mut self, seq: u64) {
        if seq >= self.top {
            let shift = seq + 1 - self.top;
            self.bits = if shift >= 64 { 0 } else { self.bits << shift };
            self.bits |= 1;
            self.top = seq + 1;
        } else {
            let back = self.top - 1 - seq;
            if back < 64 {
                self.bits |= 1 << back;
            }
        }
    }
}

/// Everything but the large buffers, so a message borrowed from the reassembly buffer can be
/// processed while the rest of the state changes.
#[derive(Debug)]
struct Core {
    config: Config,
    role: Role,
    state: State,
    rng: Drbg,
    now: Instant,
    started: Instant,
    client_random: [u8; 32],
    server_random: [u8; 32],
    cookie: [u8; 32],
    cookie_len: usize,
    cookie_secret: [u8; 32],
    hello_verify_count: u8,
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
    events: [Option<PendingEvent>; EVENTS],
    events_head: usize,
    events_len: usize,
    app_top: usize,
    stats: Stats,
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
#[derive(Debug)]
pub struct Endpoint<const RX: usize = 4096, const TX: usize = 4096> {
    core: Core,
    rx: Reassembly<RX>,
    tx: Flight<TX>,
    stash: Stash,
}

type HmacSha256 = Hmac<Sha256>;

impl<const RX: usize, const TX: usize> Endpoint<RX, TX> {
    /// A new endpoint. A client queues its ClientHello at once: drain `poll_transmit`.
    #[must_use]
    pub fn new(config: Config, role: Role, now: Instant) -> Self {
        let mut rng = Drbg::from_seed(&config.seed, b"peerless-dtls");
        let mut cookie_secret = [0u8; 32];
        rng.fill(&mut cookie_secret);
        let rto = config.retransmit_initial;
        let core = Core {
            role,
            state: match role {
                Role::Client => State::AwaitServerHello,
                Role::Server => State::AwaitClientHello,
            },
            rng,
            now,
            started: now,
            client_random: [0; 32],
            server_random: [0; 32],
            cookie: [0; 32],
            cookie_len: 0,
            cookie_secret,
            hello_verify_count: 0,
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
            retransmit_at: None,
            handshake_complete: false,
            connected_reported: false,
            pending_alert: None,
            peer_retransmitted: false,
            events: [None; EVENTS],
            events_head: 0,
            events_len: 0,
            app_top: 0,
            stats: Stats::default(),
            config,
        };
        let mut ep = Endpoint {
            core,
            rx: Reassembly::new(),
            tx: Flight::new(),
            stash: Stash {
                buf: [0; STASH],
                len: 0,
            },
        };
        if role == Role::Client {
            let mut random = [0u8; 32];
            ep.core.rng.fill(&mut random);
            ep.core.client_random = random;
            if ep.core.send_client_hello(&mut ep.tx).is_err() {
                ep.core.fail(AlertDescription::INTERNAL_ERROR, None);
            }
        }
        ep
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
    /// server_random [+ context length + context])` into `out`. `None` before the handshake
    /// completes.
    pub fn export_keying_material(
        &self,
        label: &[u8],
        context: Option<&[u8]>,
        out: &mut [u8],
    ) -> Option<()> {
        if !self.core.handshake_complete {
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

    /// Sends close_notify and ends the connection.
    pub fn close(&mut self) {
        if self.core.state == State::Closed {
            return;
        }
        self.core.pending_alert = Some((ALERT_WARNING, AlertDescription::CLOSE_NOTIFY));
        self.core.close(CloseReason::LocalClose);
    }

    /// One received UDP datagram (one or more records). Never fails: what cannot be used is
    /// dropped and counted in [`Stats`]. Decrypts in place.
    pub fn handle_packet(&mut self, now: Instant, packet: &mut [u8]) {
        self.core.advance(now);
        self.core.stats.datagrams_received += 1;
        if self.core.state == State::Closed {
            return;
        }
        self.core.peer_retransmitted = false;
        let mut pos = 0;
        while pos < packet.len() {
            let Some(rest) = packet.get_mut(pos..) else {
                break;
            };
            let Ok(len) = Record::parse(rest).map(|r| r.len()) else {
                self.core.stats.malformed_records += 1;
                break;
            };
            if let Some(record) = rest.get_mut(..len) {
                self.handle_record(record);
            }
            pos += len;
        }
        self.replay_stash();
        if self.core.peer_retransmitted && self.core.retransmits_on_peer_retransmit() {
            self.tx.restart();
            self.core.stats.retransmissions += 1;
        }
    }

    /// A deadline from [`Endpoint::poll_timeout`] passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.core.advance(now);
        let now = self.core.now;
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
        let ev = self.core.pop_event()?;
        Some(match ev {
            PendingEvent::Connected => {
                let keys = self.core.srtp_keys();
                Event::Connected {
                    cipher_suite: self.core.suite,
                    srtp_profile: keys.map(|k| k.profile),
                    keys,
                }
            }
            PendingEvent::ApplicationData(start, end) => {
                Event::ApplicationData(self.rx.buf.get(start..end).unwrap_or_default())
            }
            PendingEvent::Closed(r) => Event::Closed(r),
        })
    }

    /// The next datagram to send, written into `buf`. A buffer smaller than the MTU still
    /// works if it holds the next record; otherwise [`BufferTooSmall`] says what would.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        let limit = buf.len().min(self.core.config.mtu);
        let n = if self.core.pending_alert.is_some() {
            self.emit_alert(buf)?
        } else if self.tx.cursor.is_some() && self.core.state != State::Closed {
            self.emit_flight(&mut buf[..limit])?
        } else if self.tx.app_head != self.tx.app_tail && self.core.state == State::Connected {
            self.emit_app(buf)?
        } else {
            return Ok(None);
        };
        if n == 0 {
            return Ok(None);
        }
        self.core.stats.datagrams_sent += 1;
        Ok(Some(Transmit::on_path(&buf[..n])))
    }

    fn emit_alert(&mut self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
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

    fn emit_app(&mut self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let head = self.tx.app_head;
        let len = self
            .tx
            .buf
            .get(head..head + 2)
            .map_or(0, |b| usize::from(u16::from_be_bytes([b[0], b[1]])));
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
    fn emit_flight(&mut self, buf: &mut [u8]) -> Result<usize, BufferTooSmall> {
        let mut pos = 0;
        let Some((mut idx, mut off)) = self.tx.cursor else {
            return Ok(0);
        };
        let min_record = RECORD_HEADER_LEN + HANDSHAKE_HEADER_LEN + 1 + 24;
        while idx < self.tx.count {
            let entry = self.tx.entries[idx];
            let room = buf.len() - pos;
            if entry.kind == EntryKind::ChangeCipherSpec {
                if room < RECORD_HEADER_LEN + 1 {
                    break;
                }
                let n = self.core.seal_record(
                    &mut buf[pos..],
                    ContentType::CHANGE_CIPHER_SPEC,
                    0,
                    &[1],
                )?;
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
            let body_start = pos + RECORD_HEADER_LEN + explicit;
            let body_cap = room - overhead;
            let mut body_len = 0;
            let epoch = entry.epoch;
            while idx < self.tx.count {
                let e = self.tx.entries[idx];
                if e.kind != EntryKind::Handshake || e.epoch != epoch {
                    break;
                }
                let left = body_cap - body_len;
                if left < HANDSHAKE_HEADER_LEN + 1 {
                    break;
                }
                let msg = &self.tx.buf[e.start..e.start + e.len];
                let msg_body = &msg[HANDSHAKE_HEADER_LEN..];
                let frag = (msg_body.len() - off).min(left - HANDSHAKE_HEADER_LEN);
                if frag == 0 && !msg_body.is_empty() {
                    break;
                }
                let at = body_start + body_len;
                let mut w = Writer::new(&mut buf[at..]);
                emit_handshake_header(
                    &mut w,
                    HandshakeType(msg[0]),
                    msg_body.len(),
                    u16::from_be_bytes([msg[4], msg[5]]),
                    off,
                    frag,
                );
                w.bytes(&msg_body[off..off + frag]);
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
            let n = self.core.seal_in_place(
                &mut buf[pos..],
                ContentType::HANDSHAKE,
                epoch,
                body_len,
            )?;
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
            });
        }
        Ok(pos)
    }

    fn handle_record(&mut self, record: &mut [u8]) {
        let Ok(view) = Record::parse(record) else {
            self.core.stats.malformed_records += 1;
            return;
        };
        let (ctype, epoch, seq, version) = (
            view.content_type(),
            view.epoch(),
            view.sequence(),
            view.version(),
        );
        if version != ProtocolVersion::DTLS_1_2 && version != ProtocolVersion::DTLS_1_0 {
            self.core.stats.dropped_records += 1;
            return;
        }
        let range = match epoch {
            0 => RECORD_HEADER_LEN..record.len(),
            1 => {
                let Some(cipher) = self.core.read_cipher.as_ref() else {
                    // Keys not derived yet: keep the record for when they are.
                    let end = self.stash.len + record.len();
                    if let Some(dst) = self.stash.buf.get_mut(self.stash.len..end) {
                        dst.copy_from_slice(record);
                        self.stash.len = end;
                    } else {
                        self.core.stats.dropped_records += 1;
                    }
                    return;
                };
                if !self.core.replay.check(seq) {
                    self.core.stats.replayed_records += 1;
                    return;
                }
                let mut header = [0u8; RECORD_HEADER_LEN];
                header.copy_from_slice(&record[..RECORD_HEADER_LEN]);
                let Ok(r) = cipher.open(&header, &mut record[RECORD_HEADER_LEN..]) else {
                    self.core.stats.decrypt_failures += 1;
                    return;
                };
                self.core.replay.accept(seq);
                RECORD_HEADER_LEN + r.start..RECORD_HEADER_LEN + r.end
            }
            _ => {
                self.core.stats.dropped_records += 1;
                return;
            }
        };
        let payload = &record[range];
        match ctype {
            ContentType::HANDSHAKE => self.handle_handshake(payload, epoch),
            ContentType::ALERT => self.core.handle_alert(payload, epoch),
            ContentType::CHANGE_CIPHER_SPEC => {
                // Epochs are explicit in DTLS records: the CCS itself changes nothing here.
            }
            ContentType::APPLICATION_DATA
                if epoch == 1
                    && self.core.state == State::Connected
                    && self.core.connected_reported =>
            {
                self.deliver(payload);
            }
            _ => self.core.stats.dropped_records += 1,
        }
    }

    fn deliver(&mut self, data: &[u8]) {
        if !self.core.has_app_events() {
            self.core.app_top = 0;
        }
        let start = self.core.app_top;
        let end = start + data.len();
        match self.rx.buf.get_mut(start..end) {
            // Two slots stay free for Connected and Closed.
            Some(dst) if self.core.events_len + 2 < EVENTS => {
                dst.copy_from_slice(data);
                self.core.app_top = end;
                self.core.stats.app_records_received += 1;
                self.core
                    .push_event(PendingEvent::ApplicationData(start, end));
            }
            _ => self.core.stats.dropped_records += 1,
        }
    }

    fn handle_handshake(&mut self, mut payload: &[u8], epoch: u16) {
        if self.core.handshake_complete {
            // The handshake is over: anything here is a retransmission of the peer's last
            // flight (our Finished was lost), answered by sending ours again.
            if HandshakeFragment::parse(payload).is_ok() {
                self.core.peer_retransmitted = true;
            }
            return;
        }
        while !payload.is_empty() {
            let Ok(frag) = HandshakeFragment::parse(payload) else {
                self.core.stats.dropped_fragments += 1;
                return;
            };
            payload = payload.get(frag.wire_len()..).unwrap_or_default();
            if self.core.state == State::AwaitClientHello
                && frag.msg_type() == HandshakeType::CLIENT_HELLO
                && frag.message_seq() != self.core.recv_msg_seq
            {
                // Before a ClientHello is accepted the server keeps no state: one answering a
                // HelloVerifyRequest (seq 1), or a first one sent again because our
                // HelloVerifyRequest was lost (seq 0), is simply taken as it comes.
                self.rx.reset();
                self.core.recv_msg_seq = frag.message_seq();
            }
            let seq = frag.message_seq();
            if seq < self.core.recv_msg_seq {
                self.core.peer_retransmitted = true;
                continue;
            }
            if seq >= self.core.recv_msg_seq.saturating_add(SLOTS as u16)
                || !self.rx.insert(&frag, epoch)
            {
                self.core.stats.dropped_fragments += 1;
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

/// A handshake step failed: the alert to send.
type Step = Result<(), AlertDescription>;

impl Core {
    fn advance(&mut self, now: Instant) {
        // A clock that goes backwards means no time passed.
        self.now = self.now.max(now);
    }

    fn push_event(&mut self, ev: PendingEvent) {
        if self.events_len < EVENTS {
            self.events[(self.events_head + self.events_len) % EVENTS] = Some(ev);
            self.events_len += 1;
        }
    }

    fn pop_event(&mut self) -> Option<PendingEvent> {
        if self.events_len == 0 {
            return None;
        }
        let ev = self.events[self.events_head].take();
        self.events_head = (self.events_head + 1) % EVENTS;
        self.events_len -= 1;
        ev
    }

    fn has_app_events(&self) -> bool {
        (0..self.events_len).any(|i| {
            matches!(
                self.events[(self.events_head + i) % EVENTS],
                Some(PendingEvent::ApplicationData(..))
            )
        })
    }

    fn close(&mut self, reason: CloseReason) {
        debug!("dtls: closed in {:?}: {:?}", self.state, reason);
        self.state = State::Closed;
        self.retransmit_at = None;
        self.push_event(PendingEvent::Closed(reason));
    }

    /// Aborts with a fatal alert; `reason` defaults to HandshakeFailed(alert).
    fn fail(&mut self, alert: AlertDescription, reason: Option<CloseReason>) {
        if self.state == State::Closed {
            return;
        }
        self.pending_alert = Some((ALERT_FATAL, alert));
        self.close(reason.unwrap_or(CloseReason::HandshakeFailed(alert)));
    }

    fn retransmits_on_peer_retransmit(&self) -> bool {
        match self.state {
            // Still waiting for the peer's answer to our flight, or (server) our last flight
            // was lost and the client sends its flight 5 again.
            State::AwaitServerHello
            | State::AwaitServerCertificate
            | State::AwaitServerFinished
            | State::AwaitClientCertificate
            | State::AwaitClientKeyExchange
            | State::AwaitCertificateVerify
            | State::AwaitClientFinished => true,
            State::Connected => self.role == Role::Server,
            _ => false,
        }
    }

    fn handle_alert(&mut self, payload: &[u8], epoch: u16) {
        let Ok(alert) = Alert::parse(payload) else {
            self.stats.dropped_records += 1;
            return;
        };
        if epoch == 0 && self.handshake_complete {
            // Unauthenticated alerts cannot end an authenticated connection.
            self.stats.dropped_records += 1;
            return;
        }
        if alert.description == AlertDescription::CLOSE_NOTIFY {
            if self.state != State::Closed {
                self.pending_alert = Some((ALERT_WARNING, AlertDescription::CLOSE_NOTIFY));
                self.close(CloseReason::PeerClosed);
            }
        } else if alert.level == ALERT_FATAL {
            self.close(CloseReason::PeerAlert(alert.description));
        }
    }

    /// Writes a whole record with `payload`, encrypting in epoch 1.
    fn seal_record(
        &mut self,
        buf: &mut [u8],
        ctype: ContentType,
        epoch: u16,
        payload: &[u8],
    ) -> Result<usize, BufferTooSmall> {
        let explicit = if epoch == 1 {
            self.write_cipher
                .as_ref()
                .map_or(0, RecordCipher::explicit_nonce_len)
        } else {
            0
        };
        let at = RECORD_HEADER_LEN + explicit;
        let need = at + payload.len() + if epoch == 1 { crypto::TAG_LEN } else { 0 };
        let dst = buf
            .get_mut(at..at + payload.len())
            .ok_or(BufferTooSmall { needed: need })?;
        dst.copy_from_slice(payload);
        self.seal_in_place(buf, ctype, epoch, payload.len())
    }

    /// Completes a record whose plaintext is already at its place in `buf` (after the header
    /// and explicit nonce): header, then AEAD in epoch 1. Takes the next sequence number.
    fn seal_in_place(
        &mut self,
        buf: &mut [u8],
        ctype: ContentType,
        epoch: u16,
        plain_len: usize,
    ) -> Result<usize, BufferTooSmall> {
        let cipher = if epoch == 1 {
            self.write_cipher.as_ref()
        } else {
            None
        };
        let overhead = cipher.map_or(0, RecordCipher::overhead);
        let frag_len = plain_len + overhead;
        let total = RECORD_HEADER_LEN + frag_len;
        if buf.len() < total {
            return Err(BufferTooSmall { needed: total });
        }
        let seq_slot = usize::from(epoch.min(1));
        let seq = self.write_seq[seq_slot];
        self.write_seq[seq_slot] = seq + 1;
        let mut w = Writer::new(&mut buf[..RECORD_HEADER_LEN]);
        emit_record_header(
            &mut w,
            ctype,
            ProtocolVersion::DTLS_1_2,
            epoch,
            seq,
            frag_len,
        );
        if let Some(c) = cipher {
            let mut header = [0u8; RECORD_HEADER_LEN];
            header.copy_from_slice(&buf[..RECORD_HEADER_LEN]);
            if c.seal(&header, &mut buf[RECORD_HEADER_LEN..total]).is_err() {
                return Err(BufferTooSmall { needed: total });
            }
        }
        Ok(total)
    }

    // -----------------------------------------------------------------------------------------
    // Building flights.

    /// Appends one handshake message (header + body from `body`) to the flight and the
    /// transcript.
    fn push_message<const N: usize>(
        &mut self,
        tx: &mut Flight<N>,
        ty: HandshakeType,
        epoch: u16,
        body: impl FnOnce(&mut Self, &mut Writer<'_>),
    ) -> Step {
        let start = tx.len;
        let area = tx
            .buf
            .get_mut(start..)
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        let mut w = Writer::new(area);
        w.fill(0, HANDSHAKE_HEADER_LEN);
        body(self, &mut w);
        let len = w.finish().map_err(|_| AlertDescription::INTERNAL_ERROR)?;
        let body_len = len - HANDSHAKE_HEADER_LEN;
        let mut hw = Writer::new(&mut tx.buf[start..start + HANDSHAKE_HEADER_LEN]);
        emit_handshake_header(&mut hw, ty, body_len, self.send_msg_seq, 0, body_len);
        self.send_msg_seq = self.send_msg_seq.wrapping_add(1);
        self.transcript.update(&tx.buf[start..start + len]);
        if !tx.push_entry(Entry {
            kind: EntryKind::Handshake,
            epoch,
            start,
            len,
        }) {
            return Err(AlertDescription::INTERNAL_ERROR);
        }
        tx.len = start + len;
        Ok(())
    }

    fn new_flight<const N: usize>(&mut self, tx: &mut Flight<N>, expects_reply: bool) {
        tx.clear();
        self.rto = self.config.retransmit_initial;
        self.retransmit_at = expects_reply.then(|| self.now + self.rto);
    }

    fn send_client_hello<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.new_flight(tx, true);
        self.transcript = Transcript::new();
        self.push_message(tx, HandshakeType::CLIENT_HELLO, 0, |c, w| {
            w.u16(ProtocolVersion::DTLS_1_2.0);
            w.bytes(&c.client_random);
            w.u8(0);
            w.u8(c.cookie_len as u8);
            w.bytes(&c.cookie[..c.cookie_len]);
            emit_u16_vector(w, c.config.cipher_suites.iter().map(|s| s.0));
            w.bytes(&[1, 0]);
            let at = w.position();
            w.u16(0);
            emit_extension(w, ExtensionType::SUPPORTED_GROUPS, |w| {
                // In TLS 1.2 this list also says which curves we can verify ECDSA on (RFC 8422
                // §5.1.1): secp256r1 is always in it, or a server with a P-256 certificate
                // (all of WebRTC) finds no shared suite.
                emit_u16_vector(w, c.offered_groups());
            });
            emit_extension(w, ExtensionType::EC_POINT_FORMATS, |w| w.bytes(&[1, 0]));
            emit_extension(w, ExtensionType::SIGNATURE_ALGORITHMS, |w| {
                emit_u16_vector(w, [SignatureScheme::ECDSA_SECP256R1_SHA256.0].into_iter());
            });
            if !c.config.srtp_profiles.is_empty() {
                emit_extension(w, ExtensionType::USE_SRTP, |w| {
                    emit_u16_vector(w, c.config.srtp_profiles.iter().map(|p| p.0));
                    w.u8(0);
                });
            }
            emit_extension(w, ExtensionType::EXTENDED_MASTER_SECRET, |_| {});
            emit_extension(w, ExtensionType::RENEGOTIATION_INFO, |w| w.u8(0));
            let len = w.position() - at - 2;
            w.patch_u16(at, len as u16);
        })
    }

    /// The groups a ClientHello offers: the configured ones, then secp256r1 if missing.
    fn offered_groups(&self) -> impl Iterator<Item = u16> + Clone + '_ {
        let extra = (!self.config.groups.contains(&NamedGroup::SECP256R1))
            .then_some(NamedGroup::SECP256R1.0);
        self.config.groups.iter().map(|g| g.0).chain(extra)
    }

    fn cookie_for(&self, client_random: &[u8]) -> [u8; 20] {
        let mut out = [0u8; 20];
        if let Ok(mut mac) = <HmacSha256 as KeyInit>::new_from_slice(&self.cookie_secret) {
            mac.update(client_random);
            out.copy_from_slice(&mac.finalize().into_bytes()[..20]);
        }
        out
    }

    // -----------------------------------------------------------------------------------------
    // Receiving handshake messages, in order.

    fn handle_message<const N: usize>(
        &mut self,
        ty: HandshakeType,
        seq: u16,
        body: &[u8],
        epoch: u16,
        tx: &mut Flight<N>,
    ) {
        // Finished is the only message protected by the new epoch.
        let want_epoch = u16::from(ty == HandshakeType::FINISHED);
        let result = if epoch != want_epoch {
            Err(AlertDescription::UNEXPECTED_MESSAGE)
        } else {
            let mut header = [0u8; HANDSHAKE_HEADER_LEN];
            let mut hw = Writer::new(&mut header);
            emit_handshake_header(&mut hw, ty, body.len(), seq, 0, body.len());
            self.dispatch(ty, &header, body, tx)
        };
        trace!("dtls: {:?} handled {:?} (seq {})", self.role, ty, seq);
        if let Err(alert) = result {
            warn!("dtls: handshake failed on {:?}: {:?}", ty, alert);
            self.fail(alert, None);
        }
    }

    fn dispatch<const N: usize>(
        &mut self,
        ty: HandshakeType,
        header: &[u8; HANDSHAKE_HEADER_LEN],
        body: &[u8],
        tx: &mut Flight<N>,
    ) -> Step {
        let unexpected = Err(AlertDescription::UNEXPECTED_MESSAGE);
        // Messages whose processing signs or verifies the transcript before them see it
        // without themselves.
        let before = self.transcript.clone();
        if ty != HandshakeType::HELLO_VERIFY_REQUEST && ty != HandshakeType::CLIENT_HELLO {
            self.transcript.update(header);
            self.transcript.update(body);
        }
        match (self.state, ty) {
            (State::AwaitServerHello, HandshakeType::HELLO_VERIFY_REQUEST) => {
                self.on_hello_verify_request(body, tx)
            }
            (State::AwaitServerHello, HandshakeType::SERVER_HELLO) => self.on_server_hello(body),
            (State::AwaitServerCertificate, HandshakeType::CERTIFICATE) => {
                self.on_certificate(body)?;
                self.state = State::AwaitServerKeyExchange;
                Ok(())
            }
            (State::AwaitServerKeyExchange, HandshakeType::SERVER_KEY_EXCHANGE) => {
                self.on_server_key_exchange(body)
            }
            (State::AwaitServerHelloDone, HandshakeType::CERTIFICATE_REQUEST)
                if !self.cert_requested =>
            {
                let cr =
                    CertificateRequest::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
                if !cr.certificate_types.contains(&64)
                    || !cr
                        .schemes()
                        .any(|s| s == SignatureScheme::ECDSA_SECP256R1_SHA256)
                {
                    return Err(AlertDescription::HANDSHAKE_FAILURE);
                }
                self.cert_requested = true;
                Ok(())
            }
            (State::AwaitServerHelloDone, HandshakeType::SERVER_HELLO_DONE) => {
                if !body.is_empty() {
                    return Err(AlertDescription::DECODE_ERROR);
                }
                self.send_client_flight(tx)
            }
            (State::AwaitServerFinished, HandshakeType::FINISHED) => {
                self.verify_finished(&before, body, b"server finished")?;
                self.handshake_complete = true;
                self.retransmit_at = None;
                self.state = State::Connected;
                self.maybe_connected();
                Ok(())
            }
            (State::AwaitClientHello, HandshakeType::CLIENT_HELLO) => {
                self.on_client_hello(header, body, tx)
            }
            (State::AwaitClientCertificate, HandshakeType::CERTIFICATE) => {
                self.on_certificate(body)?;
                self.state = State::AwaitClientKeyExchange;
                Ok(())
            }
            (State::AwaitClientKeyExchange, HandshakeType::CLIENT_KEY_EXCHANGE) => {
                let public =
                    parse_client_key_exchange(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
                self.agree(public)?;
                self.derive_keys();
                self.state = State::AwaitCertificateVerify;
                Ok(())
            }
            (State::AwaitCertificateVerify, HandshakeType::CERTIFICATE_VERIFY) => {
                let cv =
                    CertificateVerify::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
                let key = self
                    .peer_key
                    .as_ref()
                    .ok_or(AlertDescription::INTERNAL_ERROR)?;
                if cv.scheme != SignatureScheme::ECDSA_SECP256R1_SHA256
                    || !crypto::verify_sha256(&key.0, &before.sha256(), cv.signature)
                {
                    return Err(AlertDescription::DECRYPT_ERROR);
                }
                self.state = State::AwaitClientFinished;
                Ok(())
            }
            (State::AwaitClientFinished, HandshakeType::FINISHED) => {
                self.verify_finished(&before, body, b"client finished")?;
                self.new_flight(tx, false);
                self.push_ccs(tx)?;
                self.push_finished(tx, b"server finished")?;
                self.handshake_complete = true;
                self.state = State::Connected;
                self.maybe_connected();
                Ok(())
            }
            _ => unexpected,
        }
    }

    fn on_hello_verify_request<const N: usize>(&mut self, body: &[u8], tx: &mut Flight<N>) -> Step {
        // Any version is fine here: RFC 6347 §4.2.1 lets servers answer with DTLS 1.0.
        let hvr = HelloVerifyRequest::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
        if hvr.cookie.len() > self.cookie.len() || self.hello_verify_count >= 4 {
            return Err(AlertDescription::ILLEGAL_PARAMETER);
        }
        self.hello_verify_count += 1;
        self.cookie_len = hvr.cookie.len();
        self.cookie[..hvr.cookie.len()].copy_from_slice(hvr.cookie);
        self.send_client_hello(tx)
    }

    fn on_server_hello(&mut self, body: &[u8]) -> Step {
        let sh = ServerHello::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
        if sh.version() != ProtocolVersion::DTLS_1_2 {
            return Err(AlertDescription::PROTOCOL_VERSION);
        }
        if !self.config.cipher_suites.contains(&sh.cipher_suite()) || sh.compression_method() != 0 {
            return Err(AlertDescription::ILLEGAL_PARAMETER);
        }
        if sh
            .extension(ExtensionType::EXTENDED_MASTER_SECRET)
            .is_none()
        {
            // RFC 7627 is required: without it the exported SRTP keys are not bound to this
            // handshake (triple handshake attack).
            return Err(AlertDescription::HANDSHAKE_FAILURE);
        }
        if let Some(ri) = sh.extension(ExtensionType::RENEGOTIATION_INFO)
            && ri != [0]
        {
            return Err(AlertDescription::HANDSHAKE_FAILURE);
        }
        self.srtp = None;
        if let Some(ext) = sh.extension(ExtensionType::USE_SRTP) {
            let srtp = UseSrtp::parse(ext).map_err(|_| AlertDescription::DECODE_ERROR)?;
            let mut profiles = srtp.profiles();
            let chosen = profiles.next();
            if profiles.next().is_some()
                || !chosen.is_some_and(|p| self.config.srtp_profiles.contains(&p))
            {
                return Err(AlertDescription::ILLEGAL_PARAMETER);
            }
            self.srtp = chosen;
        }
        self.suite = sh.cipher_suite();
        self.server_random.copy_from_slice(sh.random());
        self.state = State::AwaitServerCertificate;
        Ok(())
    }

    fn on_certificate(&mut self, body: &[u8]) -> Step {
        let der = parse_certificate_list(body)
            .map_err(|_| AlertDescription::DECODE_ERROR)?
            // WebRTC needs the peer's certificate on both sides (RFC 8827 §6.5).
            .ok_or(AlertDescription::HANDSHAKE_FAILURE)?;
        let key = PeerKey::from_certificate(der).map_err(|e| match e {
            crate::cert::CertificateError::UnsupportedKey => {
                AlertDescription::UNSUPPORTED_CERTIFICATE
            }
            _ => AlertDescription::BAD_CERTIFICATE,
        })?;
        self.peer_key = Some(key);
        self.peer_fingerprints = Some([
            Fingerprint::of(der, HashAlgorithm::Sha256),
            Fingerprint::of(der, HashAlgorithm::Sha1),
            Fingerprint::of(der, HashAlgorithm::Sha384),
            Fingerprint::of(der, HashAlgorithm::Sha512),
        ]);
        self.check_fingerprint();
        if self.state == State::Closed {
            // Already failed with FingerprintMismatch; stop the handshake here.
            return Err(AlertDescription::BAD_CERTIFICATE);
        }
        Ok(())
    }

    fn check_fingerprint(&mut self) {
        let (Some(expected), Some(fps)) = (self.remote_fingerprint, self.peer_fingerprints) else {
            return;
        };
        let ok = fps
            .iter()
            .any(|f| f.algorithm() == expected.algorithm() && ct_eq(f.digest(), expected.digest()));
        if !ok {
            self.fail(
                AlertDescription::BAD_CERTIFICATE,
                Some(CloseReason::FingerprintMismatch),
            );
        }
    }

    fn maybe_connected(&mut self) {
        if self.handshake_complete
            && self.state == State::Connected
            && !self.connected_reported
            && self.remote_fingerprint.is_some()
        {
            self.connected_reported = true;
            self.push_event(PendingEvent::Connected);
        }
    }

    fn on_server_key_exchange(&mut self, body: &[u8]) -> Step {
        let ske = ServerKeyExchange::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
        if !self.offered_groups().any(|g| g == ske.group.0)
            || ske.scheme != SignatureScheme::ECDSA_SECP256R1_SHA256
        {
            return Err(AlertDescription::ILLEGAL_PARAMETER);
        }
        let mut h = Sha256::new();
        h.update(self.client_random);
        h.update(self.server_random);
        h.update(ske.params);
        let digest: [u8; 32] = h.finalize().into();
        let key = self
            .peer_key
            .as_ref()
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        if !crypto::verify_sha256(&key.0, &digest, ske.signature) {
            return Err(AlertDescription::DECRYPT_ERROR);
        }
        self.group = ske.group;
        self.key_share = KeyShare::generate(ske.group, &mut self.rng);
        self.agree(ske.public)?;
        self.state = State::AwaitServerHelloDone;
        Ok(())
    }

    fn agree(&mut self, peer_public: &[u8]) -> Step {
        let share = self
            .key_share
            .as_ref()
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        share
            .agree(peer_public, &mut self.pre_master)
            .ok_or(AlertDescription::ILLEGAL_PARAMETER)
    }

    /// Flight 5: [Certificate] ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished.
    fn send_client_flight<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.new_flight(tx, true);
        if self.cert_requested {
            self.push_certificate(tx)?;
        }
        let share = self
            .key_share
            .clone()
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        let mut public = [0u8; MAX_PUBLIC_LEN];
        let n = share.public(&mut public);
        self.push_message(tx, HandshakeType::CLIENT_KEY_EXCHANGE, 0, |_, w| {
            w.u8(n as u8);
            w.bytes(&public[..n]);
        })?;
        // The session hash for EMS ends with ClientKeyExchange (RFC 7627 §3).
        self.derive_keys();
        if self.cert_requested {
            let digest = self.transcript.sha256();
            let mut sig = [0u8; 72];
            let sig_len =
                crypto::sign_sha256(self.config.certificate.signing_key(), &digest, &mut sig)
                    .ok_or(AlertDescription::INTERNAL_ERROR)?;
            self.push_message(tx, HandshakeType::CERTIFICATE_VERIFY, 0, |_, w| {
                w.u16(SignatureScheme::ECDSA_SECP256R1_SHA256.0);
                w.u16(sig_len as u16);
                w.bytes(&sig[..sig_len]);
            })?;
        }
        self.push_ccs(tx)?;
        self.push_finished(tx, b"client finished")?;
        self.state = State::AwaitServerFinished;
        Ok(())
    }

    fn push_certificate<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.push_message(tx, HandshakeType::CERTIFICATE, 0, |c, w| {
            let der = c.config.certificate.der();
            w.u24((der.len() + 3) as u32);
            w.u24(der.len() as u32);
            w.bytes(der);
        })
    }

    fn push_ccs<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.write_epoch = 1;
        if tx.push_entry(Entry {
            kind: EntryKind::ChangeCipherSpec,
            epoch: 0,
            start: tx.len,
            len: 0,
        }) {
            Ok(())
        } else {
            Err(AlertDescription::INTERNAL_ERROR)
        }
    }

    fn finished_data(&self, transcript: &Transcript, label: &[u8]) -> [u8; 12] {
        let hash = PrfHash::of(self.suite);
        let mut h = [0u8; 48];
        let n = transcript.snapshot(hash, &mut h);
        let mut out = [0u8; 12];
        crypto::prf(hash, &self.master_secret, label, &[&h[..n]], &mut out);
        out
    }

    fn push_finished<const N: usize>(&mut self, tx: &mut Flight<N>, label: &[u8]) -> Step {
        let data = self.finished_data(&self.transcript, label);
        self.push_message(tx, HandshakeType::FINISHED, 1, |_, w| w.bytes(&data))
    }

    fn verify_finished(&self, before: &Transcript, body: &[u8], label: &[u8]) -> Step {
        let expected = self.finished_data(before, label);
        if ct_eq(&expected, body) {
            Ok(())
        } else {
            Err(AlertDescription::DECRYPT_ERROR)
        }
    }

    /// Extended master secret, then the key block; installs both directions' ciphers.
    fn derive_keys(&mut self) {
        let hash = PrfHash::of(self.suite);
        let mut session_hash = [0u8; 48];
        let n = self.transcript.snapshot(hash, &mut session_hash);
        let pre_master = self.pre_master;
        crypto::prf(
            hash,
            &pre_master,
            b"extended master secret",
            &[&session_hash[..n]],
            &mut self.master_secret,
        );
        self.pre_master = [0; 32];
        let (kl, il) = key_iv_len(self.suite);
        let mut block = [0u8; 2 * (32 + 12)];
        let block = &mut block[..2 * (kl + il)];
        crypto::prf(
            hash,
            &self.master_secret,
            b"key expansion",
            &[&self.server_random, &self.client_random],
            block,
        );
        let (keys, ivs) = block.split_at(2 * kl);
        let (ck, sk) = keys.split_at(kl);
        let (civ, siv) = ivs.split_at(il);
        let client = RecordCipher::new(self.suite, ck, civ);
        let server = RecordCipher::new(self.suite, sk, siv);
        let (write, read) = match self.role {
            Role::Client => (client, server),
            Role::Server => (server, client),
        };
        self.write_cipher = write;
        self.read_cipher = read;
        block.fill(0);
    }

    fn srtp_keys(&self) -> Option<SrtpKeyingMaterial> {
        let profile = self.srtp?;
        let (key_len, salt_len) = profile.key_salt_len()?;
        let mut material = [0u8; 88];
        crypto::prf(
            PrfHash::of(self.suite),
            &self.master_secret,
            b"EXTRACTOR-dtls_srtp",
            &[&self.client_random, &self.server_random],
            &mut material[..2 * (key_len + salt_len)],
        );
        Some(SrtpKeyingMaterial {
            profile,
            material,
            key_len,
            salt_len,
        })
    }

    // -----------------------------------------------------------------------------------------
    // The server side.

    fn on_client_hello<const N: usize>(
        &mut self,
        header: &[u8; HANDSHAKE_HEADER_LEN],
        body: &[u8],
        tx: &mut Flight<N>,
    ) -> Step {
        let ch = ClientHello::parse(body).map_err(|_| AlertDescription::DECODE_ERROR)?;
        // DTLS versions count down: 0xFEFD (1.2) or lower numbers are newer. A DTLS 1.3
        // client also says 0xFEFD here and lists 1.3 in supported_versions, which a 1.2 server
        // ignores (RFC 8446 §4.2.1).
        if ch.version().0 > ProtocolVersion::DTLS_1_2.0 {
            return Err(AlertDescription::PROTOCOL_VERSION);
        }
        let msg_seq = u16::from_be_bytes([header[4], header[5]]);
        // A server may wait long for its peer (ICE first): the handshake clock starts here.
        self.started = self.now;
        if self.config.cookies {
            let expected = self.cookie_for(ch.random());
            if !ct_eq(ch.cookie(), &expected) {
                // Stateless: answer and forget; the next ClientHello starts over.
                self.new_flight(tx, false);
                self.send_msg_seq = msg_seq;
                let hvr = HelloVerifyRequest {
                    version: ProtocolVersion::DTLS_1_0,
                    cookie: &expected,
                };
                let saved = self.transcript.clone();
                self.push_message(tx, HandshakeType::HELLO_VERIFY_REQUEST, 0, |_, w| {
                    hvr.emit(w)
                })?;
                self.transcript = saved;
                return Ok(());
            }
        }
        if !ch.compression_methods().contains(&0) {
            return Err(AlertDescription::ILLEGAL_PARAMETER);
        }
        let suite = self
            .config
            .cipher_suites
            .iter()
            .copied()
            .find(|s| ch.cipher_suites().any(|o| o == *s))
            .ok_or(AlertDescription::HANDSHAKE_FAILURE)?;
        let group = match ch.extension(ExtensionType::SUPPORTED_GROUPS) {
            Some(ext) => {
                let offered = parse_u16_vector(ext).map_err(|_| AlertDescription::DECODE_ERROR)?;
                self.config
                    .groups
                    .iter()
                    .copied()
                    .find(|g| offered.clone().any(|o| o == g.0))
                    .ok_or(AlertDescription::HANDSHAKE_FAILURE)?
            }
            None => NamedGroup::SECP256R1,
        };
        if let Some(ext) = ch.extension(ExtensionType::SIGNATURE_ALGORITHMS) {
            let mut offered = parse_u16_vector(ext).map_err(|_| AlertDescription::DECODE_ERROR)?;
            if !offered.any(|s| s == SignatureScheme::ECDSA_SECP256R1_SHA256.0) {
                return Err(AlertDescription::HANDSHAKE_FAILURE);
            }
        }
        if ch
            .extension(ExtensionType::EXTENDED_MASTER_SECRET)
            .is_none()
        {
            return Err(AlertDescription::HANDSHAKE_FAILURE);
        }
        self.srtp = match ch.extension(ExtensionType::USE_SRTP) {
            Some(ext) => {
                let offered = UseSrtp::parse(ext).map_err(|_| AlertDescription::DECODE_ERROR)?;
                self.config
                    .srtp_profiles
                    .iter()
                    .copied()
                    .find(|p| offered.profiles().any(|o| o == *p))
            }
            None => None,
        };
        self.peer_offered_renegotiation_info =
            ch.extension(ExtensionType::RENEGOTIATION_INFO).is_some()
                || ch
                    .cipher_suites()
                    .any(|s| s == CipherSuite::EMPTY_RENEGOTIATION_INFO_SCSV);
        self.peer_offered_point_formats = ch.extension(ExtensionType::EC_POINT_FORMATS).is_some();
        self.suite = suite;
        self.group = group;
        self.client_random.copy_from_slice(ch.random());
        let mut random = [0u8; 32];
        self.rng.fill(&mut random);
        self.server_random = random;

        // The transcript starts with the ClientHello that carried a valid cookie.
        self.transcript = Transcript::new();
        self.transcript.update(header);
        self.transcript.update(body);
        self.send_msg_seq = msg_seq;
        self.send_server_flight(tx)
    }

    /// Flight 4: ServerHello Certificate ServerKeyExchange CertificateRequest ServerHelloDone.
    fn send_server_flight<const N: usize>(&mut self, tx: &mut Flight<N>) -> Step {
        self.new_flight(tx, true);
        self.push_message(tx, HandshakeType::SERVER_HELLO, 0, |c, w| {
            w.u16(ProtocolVersion::DTLS_1_2.0);
            w.bytes(&c.server_random);
            w.u8(0);
            w.u16(c.suite.0);
            w.u8(0);
            let at = w.position();
            w.u16(0);
            if c.peer_offered_renegotiation_info {
                emit_extension(w, ExtensionType::RENEGOTIATION_INFO, |w| w.u8(0));
            }
            emit_extension(w, ExtensionType::EXTENDED_MASTER_SECRET, |_| {});
            if let Some(p) = c.srtp {
                emit_extension(w, ExtensionType::USE_SRTP, |w| {
                    w.u16(2);
                    w.u16(p.0);
                    w.u8(0);
                });
            }
            if c.peer_offered_point_formats {
                emit_extension(w, ExtensionType::EC_POINT_FORMATS, |w| w.bytes(&[1, 0]));
            }
            let len = w.position() - at - 2;
            w.patch_u16(at, len as u16);
        })?;
        self.push_certificate(tx)?;
        let share = KeyShare::generate(self.group, &mut self.rng)
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        let mut public = [0u8; MAX_PUBLIC_LEN];
        let n = share.public(&mut public);
        self.key_share = Some(share);
        let mut params = [0u8; 4 + MAX_PUBLIC_LEN];
        params[0] = 3;
        params[1..3].copy_from_slice(&self.group.0.to_be_bytes());
        params[3] = n as u8;
        params[4..4 + n].copy_from_slice(&public[..n]);
        let params = &params[..4 + n];
        let mut h = Sha256::new();
        h.update(self.client_random);
        h.update(self.server_random);
        h.update(params);
        let digest: [u8; 32] = h.finalize().into();
        let mut sig = [0u8; 72];
        let sig_len = crypto::sign_sha256(self.config.certificate.signing_key(), &digest, &mut sig)
            .ok_or(AlertDescription::INTERNAL_ERROR)?;
        self.push_message(tx, HandshakeType::SERVER_KEY_EXCHANGE, 0, |_, w| {
            w.bytes(params);
            w.u16(SignatureScheme::ECDSA_SECP256R1_SHA256.0);
            w.u16(sig_len as u16);
            w.bytes(&sig[..sig_len]);
        })?;
        self.push_message(tx, HandshakeType::CERTIFICATE_REQUEST, 0, |_, w| {
            w.bytes(&[1, 64]);
            w.u16(2);
            w.u16(SignatureScheme::ECDSA_SECP256R1_SHA256.0);
            w.u16(0);
        })?;
        self.push_message(tx, HandshakeType::SERVER_HELLO_DONE, 0, |_, _| {})?;
        self.state = State::AwaitClientCertificate;
        Ok(())
    }
}

impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            SendError::NotConnected => "not connected yet",
            SendError::Closed => "the connection is closed",
            SendError::TooLarge => "the data does not fit one record at the MTU",
            SendError::QueueFull => "the send queue is full",
        })
    }
}

impl core::error::Error for SendError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::Validity;
    extern crate std;
    use std::vec::Vec;

    fn endpoint(role: Role, seed: u8) -> Endpoint {
        let mut rng = Drbg::from_seed(&[seed; 32], b"unit");
        let cert = Certificate::generate(&mut rng, Validity::days_from(1_700_000_000, 1)).unwrap();
        Endpoint::new(Config::new(cert, [seed; 32]), role, Instant::ZERO)
    }

    fn flush(from: &mut Endpoint, to: &mut Endpoint) -> usize {
        let mut buf = [0u8; 1500];
        let mut out = Vec::new();
        while let Some(t) = from.poll_transmit(&mut buf).unwrap() {
            out.push(t.payload.to_vec());
        }
        for d in &mut out {
            to.handle_packet(Instant::ZERO, d);
        }
        out.len()
    }

    /// A Finished whose verify_data is wrong but whose record is correctly protected (the
    /// tamper happens before encryption) fails the handshake with decrypt_error.
    #[test]
    fn tampered_finished_verify_data_is_fatal() {
        let (mut client, mut server) = (endpoint(Role::Client, 1), endpoint(Role::Server, 2));
        flush(&mut client, &mut server);
        flush(&mut server, &mut client);
        assert_eq!(client.core.state, State::AwaitServerFinished);
        let finished = client.tx.entries[..client.tx.count]
            .iter()
            .find(|e| e.epoch == 1)
            .copied()
            .unwrap();
        client.tx.buf[finished.start + HANDSHAKE_HEADER_LEN + 3] ^= 1;
        flush(&mut client, &mut server);
        assert_eq!(
            server.core.stats.decrypt_failures, 0,
            "the record itself was genuine"
        );
        assert_eq!(
            server.poll_event(),
            Some(Event::Closed(CloseReason::HandshakeFailed(
                AlertDescription::DECRYPT_ERROR
            )))
        );
        flush(&mut server, &mut client);
        assert_eq!(
            client.poll_event(),
            Some(Event::Closed(CloseReason::PeerAlert(
                AlertDescription::DECRYPT_ERROR
            )))
        );
    }

    #[test]
    fn where_the_bytes_go() {
        use core::mem::size_of;
        std::println!(
            "Core {} (Config {}, Certificate {}, RecordCipher {} x2, Transcript {}, KeyShare {}, \
             PeerKey {}, fingerprints {}), Reassembly<4096> {}, Flight<4096> {}, Stash {}",
            size_of::<Core>(),
            size_of::<Config>(),
            size_of::<Certificate>(),
            size_of::<Option<RecordCipher>>(),
            size_of::<Transcript>(),
            size_of::<Option<KeyShare>>(),
            size_of::<Option<PeerKey>>(),
            size_of::<Option<[Fingerprint; 4]>>(),
            size_of::<Reassembly<4096>>(),
            size_of::<Flight<4096>>(),
            size_of::<Stash>(),
        );
        assert!(size_of::<Core>() < 6 * 1024);
    }

    #[test]
    fn replay_window_slides() {
        let mut w = ReplayWindow::default();
        assert!(w.check(0));
        w.accept(0);
        assert!(!w.check(0));
        w.accept(100);
        assert!(w.check(37) && !w.check(36) && !w.check(100));
        w.accept(37);
        assert!(!w.check(37));
        assert!(w.check(99));
        w.accept(1000);
        assert!(!w.check(936) && w.check(937));
    }

    #[test]
    fn reassembly_handles_overlap_and_duplicates() {
        let mut r = Reassembly::<256>::new();
        let msg: Vec<u8> = (0..100u8).collect();
        let frag = |off: usize, len: usize| {
            let mut b = Vec::new();
            let mut w_buf = [0u8; 12];
            let mut w = Writer::new(&mut w_buf);
            emit_handshake_header(&mut w, HandshakeType::CERTIFICATE, 100, 3, off, len);
            b.extend_from_slice(&w_buf);
            b.extend_from_slice(&msg[off..off + len]);
            b
        };
        for (off, len) in [(50, 50), (10, 60), (50, 50), (0, 20)] {
            let bytes = frag(off, len);
            let f = HandshakeFragment::parse(&bytes).unwrap();
            assert!(r.insert(&f, 0));
        }
        let (ty, range, epoch) = r.complete(3).unwrap();
        assert_eq!((ty, epoch), (HandshakeType::CERTIFICATE, 0));
        assert_eq!(&r.buf[range], &msg[..]);
        r.release(3);
        assert_eq!(r.top, 0);
        // A message larger than the buffer is refused, not a panic.
        let mut big = [0u8; 12];
        let mut w = Writer::new(&mut big);
        emit_handshake_header(&mut w, HandshakeType::CERTIFICATE, 10_000, 4, 0, 0);
        assert!(!r.insert(&HandshakeFragment::parse(&big).unwrap(), 0));
    }
}
