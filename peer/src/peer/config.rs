//! What a host chooses: the configuration and the SCTP storage it lends.

use super::*;

/// How a Peer runs: the browser's `RTCConfiguration` plus the sizes a firmware picks.
#[derive(Clone, Debug)]
pub struct Config {
    /// The host's 32 random bytes (a TRNG on an MCU, the OS on a server). Every machine's
    /// randomness is derived from them: the same seed and inputs give the same bytes out.
    pub seed: [u8; SEED_LEN],
    /// Our DTLS certificate (`RTCCertificate`); its fingerprint goes into our SDP.
    pub certificate: dtls::Certificate,
    /// STUN servers for server-reflexive candidates (`iceServers`; empty: host only).
    pub stun_servers: [Option<SocketAddr>; ice::MAX_STUN_SERVERS],
    /// TURN servers for relayed candidates (`iceServers` with `turn:` URLs).
    pub turn_servers: [Option<ice::TurnServer>; ice::MAX_TURN_SERVERS],
    /// `iceTransportPolicy: "relay"`: only relayed candidates are gathered and used.
    pub relay_only: bool,
    /// Dual TURN allocations: an IPv4 and an IPv6 relayed candidate per server (see
    /// `peerless_ice::Config::turn_dual_stack`).
    pub turn_dual_stack: bool,
    /// The `a=setup` we answer an `actpass` offer with: `Active` (we are the DTLS client, as
    /// browsers answer, RFC 8829 §5.3.1) or `Passive`.
    pub answer_setup: Setup,
    /// Announce trickle ICE (`a=ice-options:trickle`). Descriptions always carry the
    /// candidates gathered so far (and `a=end-of-candidates` once gathering is complete), so
    /// a host that waits for [`Event::GatheringComplete`] gets a complete description.
    pub trickle: bool,
    /// The largest datagram we send (DTLS records; SCTP packets are sized to fit in them).
    pub mtu: usize,
    /// The polite side of perfect negotiation: a remote offer that collides with our own
    /// outstanding offer rolls ours back and is applied, as a browser's
    /// `setRemoteDescription` does. An impolite Peer (the default) refuses it with
    /// [`SdpError::OfferCollision`] and its own offer stands. The two sides of a connection
    /// must disagree on this.
    pub polite: bool,
    /// Overrides of the ICE timers (consent, pacing); `None`: RFC defaults.
    pub ice: Option<ice::Config>,
    /// DTLS flight retransmission: first timeout and the most it backs off to. 500 ms and 4 s
    /// by default: a handshake over a lossy path gets about fifteen tries within the 60 s
    /// handshake limit instead of six with RFC 6347's 1 s doubling to 60 s, which at 20 %
    /// loss each way leaves about one handshake in 500 unfinished (found by simulation).
    pub dtls_retransmit: (core::time::Duration, core::time::Duration),
    /// How long DTLS may take to connect once ICE has a path: past it the connection fails.
    /// 30 s by default, about what a browser waits; without it a Peer that is the DTLS
    /// server and never hears a ClientHello would stay "connecting" forever.
    pub dtls_timeout: core::time::Duration,
    /// The audio codecs we offer and accept, in preference order (default
    /// [`media::AUDIO_CODECS`]; narrow it to choose, e.g. PCMU only).
    pub audio_codecs: &'static [sdp::jsep::CodecCapability<'static>],
    /// The video codecs, with their RTX entries (default [`media::VIDEO_CODECS`]).
    pub video_codecs: &'static [sdp::jsep::CodecCapability<'static>],
    /// Every transceiver receives in raw mode ([`Peer::set_raw_receive`]): what a media
    /// server wants.
    pub raw_receive: bool,
    /// A peerless extension named after Firefox's `media.peerconnection.ice.obfuscate_host_addresses`
    /// (Chromium does the same by default): each host address gets a random `<uuid>.local`
    /// name (draft-ietf-mmusic-mdns-ice-candidates), signalled in descriptions and
    /// [`Event::LocalCandidate`]'s `text` instead of the address, and answered through the
    /// mDNS socket the host lends with [`Peer::add_mdns_socket`]. Off by default; without such
    /// a socket (or the `mdns` feature) addresses are signalled as they are.
    pub obfuscate_host_addresses: bool,
    /// Offer and accept SCTP's zero checksum over DTLS (RFC 9653; on by default): between two
    /// ends that both accept it, packets carry no CRC32c (DTLS already authenticates every
    /// byte). Off: every packet carries CRC32c, as with a peer without RFC 9653 (browsers
    /// today); benchmarks use it to compare like with like.
    pub sctp_zero_checksum: bool,
    /// The DTLS cipher suites we allow, in preference order (default: every one this build
    /// implements, AES-128-GCM first). Set with [`Config::with_dtls_cipher_suites`].
    pub dtls_cipher_suites: dtls::CipherSuites,
    /// The DTLS ECDHE groups we allow, in preference order (default: x25519 where the build has
    /// it, feature `x25519`, then secp256r1).
    /// Set with [`Config::with_dtls_groups`].
    pub dtls_groups: dtls::NamedGroups,
}

/// Never the seed (every key and credential comes from it) nor the private key.
#[cfg(feature = "defmt")]
impl defmt::Format for Config {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Config {{ certificate: {}, stun_servers: {}, answer_setup: {}, trickle: {=bool}, \
             mtu: {=usize}, polite: {=bool}, ice: {}, dtls_retransmit: {}, dtls_timeout: {}, .. }}",
            self.certificate,
            self.stun_servers,
            self.answer_setup,
            self.trickle,
            self.mtu,
            self.polite,
            self.ice,
            self.dtls_retransmit,
            self.dtls_timeout
        );
    }
}

impl Config {
    /// Browser-compatible defaults: no STUN servers, answer as DTLS client, trickle, MTU 1200.
    #[must_use]
    pub fn new(certificate: dtls::Certificate, seed: [u8; SEED_LEN]) -> Self {
        Config {
            seed,
            certificate,
            stun_servers: [None; ice::MAX_STUN_SERVERS],
            turn_servers: [None; ice::MAX_TURN_SERVERS],
            relay_only: false,
            turn_dual_stack: false,
            answer_setup: Setup::Active,
            trickle: true,
            mtu: 1200,
            polite: false,
            ice: None,
            dtls_retransmit: (
                core::time::Duration::from_millis(500),
                core::time::Duration::from_secs(4),
            ),
            dtls_timeout: core::time::Duration::from_secs(30),
            audio_codecs: media::AUDIO_CODECS,
            video_codecs: media::VIDEO_CODECS,
            raw_receive: false,
            obfuscate_host_addresses: false,
            sctp_zero_checksum: true,
            dtls_cipher_suites: dtls::CipherSuites::ALL,
            dtls_groups: dtls::NamedGroups::ALL,
        }
    }

    /// Allows only these DTLS cipher suites, in this preference order (a server picks the
    /// first one the client offers; a client offers them in this order and refuses any other);
    /// [`dtls::ListError`] when the list is empty, names a suite this build does not implement
    /// or names one twice.
    pub fn with_dtls_cipher_suites(
        mut self,
        suites: &[dtls::CipherSuite],
    ) -> Result<Self, dtls::ListError> {
        self.dtls_cipher_suites = dtls::CipherSuites::new(suites)?;
        Ok(self)
    }

    /// Allows only these DTLS ECDHE groups, in this preference order; [`dtls::ListError`] as
    /// for [`Config::with_dtls_cipher_suites`].
    pub fn with_dtls_groups(
        mut self,
        groups: &[dtls::NamedGroup],
    ) -> Result<Self, dtls::ListError> {
        self.dtls_groups = dtls::NamedGroups::new(groups)?;
        Ok(self)
    }

    /// Adds a STUN server (beyond [`ice::MAX_STUN_SERVERS`] it is ignored).
    #[must_use]
    pub fn with_stun_server(mut self, server: SocketAddr) -> Self {
        if let Some(slot) = self.stun_servers.iter_mut().find(|s| s.is_none()) {
            *slot = Some(server);
        }
        self
    }

    /// Adds one `iceServers` URL (`stun:`, `turn:`; RFC 7064/7065) with its username and
    /// credential (ignored for `stun:`). A URL naming a host gives
    /// [`ice::UrlError::NeedsResolution`]: resolve it and use
    /// [`Config::with_resolved_ice_server`].
    pub fn with_ice_server(
        self,
        url: &str,
        username: &str,
        credential: &str,
    ) -> Result<Self, ice::UrlError> {
        self.with_resolved_ice_server_opt(url, None, username, credential)
    }

    /// As [`Config::with_ice_server`], with the address the host resolved the URL's name to.
    pub fn with_resolved_ice_server(
        self,
        url: &str,
        ip: core::net::IpAddr,
        username: &str,
        credential: &str,
    ) -> Result<Self, ice::UrlError> {
        self.with_resolved_ice_server_opt(url, Some(ip), username, credential)
    }

    fn with_resolved_ice_server_opt(
        mut self,
        url: &str,
        ip: Option<core::net::IpAddr>,
        username: &str,
        credential: &str,
    ) -> Result<Self, ice::UrlError> {
        // The agent's Config parses and files it; its tables are copied back.
        let mut c = ice::Config::new(ice::Role::Controlling, [0; SEED_LEN]);
        c.stun_servers = self.stun_servers;
        c.turn_servers = self.turn_servers;
        c = match ip {
            Some(ip) => c.with_resolved_ice_server(url, ip, username, credential)?,
            None => c.with_ice_server(url, username, credential)?,
        };
        self.stun_servers = c.stun_servers;
        self.turn_servers = c.turn_servers;
        Ok(self)
    }

    /// `iceTransportPolicy: "relay"`.
    #[must_use]
    pub fn with_relay_only(mut self) -> Self {
        self.relay_only = true;
        self
    }

    /// Dual TURN allocations (ADDITIONAL-ADDRESS-FAMILY, RFC 8656 §7.1): an IPv4 and an IPv6
    /// relayed candidate per TURN server, whatever the family of the host socket.
    #[must_use]
    pub fn with_turn_dual_stack(mut self) -> Self {
        self.turn_dual_stack = true;
        self
    }

    /// Answer `actpass` offers with this `a=setup` (`Active` or `Passive`).
    #[must_use]
    pub fn with_answer_setup(mut self, setup: Setup) -> Self {
        self.answer_setup = setup;
        self
    }

    /// Be the polite side of perfect negotiation (see [`Config::polite`]).
    #[must_use]
    pub fn with_polite(mut self, polite: bool) -> Self {
        self.polite = polite;
        self
    }

    /// The largest datagram to send.
    #[must_use]
    pub fn with_mtu(mut self, mtu: usize) -> Self {
        self.mtu = mtu;
        self
    }

    /// The largest datagram the Peer's own layers fill (DTLS records, and through them SCTP
    /// packets; RTP packets): `mtu`, less [`RELAY_OVERHEAD`] when a TURN server is configured.
    /// The selected pair may run through the relay, where every datagram gains a Send
    /// indication's or a channel's header on the way to the server, and the path MTU the host
    /// gave is the one to the server. The budget is set before the pair is known and holds
    /// for the whole connection, since DTLS and SCTP size their packets once.
    #[must_use]
    pub fn payload_mtu(&self) -> usize {
        if self.turn_servers.iter().any(Option::is_some) {
            self.mtu.saturating_sub(RELAY_OVERHEAD)
        } else {
            self.mtu
        }
    }
}

/// What TURN adds to a datagram at most (RFC 8656): a Send indication from an IPv6 relayed
/// address is 20 (header) + 24 (XOR-PEER-ADDRESS) + 4 (DATA's header) bytes and DATA is padded
/// to four (up to 3 more); a ChannelData header is 4. Rounded up to 52 so the SCTP and DTLS
/// sizes derived from it stay multiples of four (an SCTP MTU of 1101 stalled an aiortc
/// channel through coturn in 2 of 4 runs; 1100 never did).
pub const RELAY_OVERHEAD: usize = 20 + 24 + 4 + 4;

/// The SCTP storage a Peer borrows: what it may queue for sending and reassemble on
/// receiving. The receive size is the `a=max-message-size` we announce.
pub struct Storage<const SEND: usize, const RECV: usize> {
    send: [u8; SEND],
    recv: [u8; RECV],
}

/// The sizes, not the bytes (queued and received application data).
#[cfg(feature = "defmt")]
impl<const SEND: usize, const RECV: usize> defmt::Format for Storage<SEND, RECV> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Storage {{ send: {=usize}, recv: {=usize} }}",
            SEND,
            RECV
        );
    }
}

impl<const SEND: usize, const RECV: usize> Storage<SEND, RECV> {
    /// Zeroed storage (put it in a `static` or on a big stack on an MCU).
    #[must_use]
    pub const fn new() -> Self {
        Storage {
            send: [0; SEND],
            recv: [0; RECV],
        }
    }

    /// The two areas, for [`Peer::new`].
    pub fn areas(&mut self) -> (&mut [u8], &mut [u8]) {
        (&mut self.send, &mut self.recv)
    }
}

impl<const SEND: usize, const RECV: usize> Default for Storage<SEND, RECV> {
    fn default() -> Self {
        Self::new()
    }
}

/// The default storage: 256 KiB to send, 256 KiB to receive (messages up to about 256 KiB,
/// what browsers and aiortc announce).
pub type DefaultStorage = Storage<{ 256 * 1024 }, { 256 * 1024 }>;
/// A small storage for an MCU: 8 KiB each way (messages up to about 7 KiB).
pub type SmallStorage = Storage<{ 8 * 1024 }, { 8 * 1024 }>;
