//! The SCTP association over DTLS and its data channels.
//!
//! ```text
//!   connect()                                         (passive: Listen)
//!   AwaitInitAck --INIT-->                       <-- INIT (collision: both at once)
//!        <--INIT-ACK(cookie)--                   --INIT-ACK(same tag, cookie)-->
//!   AwaitCookieAck --COOKIE-ECHO-->              <-- COOKIE-ECHO (HMAC checked, §5.2.4 table)
//!        <--COOKIE-ACK--                         --COOKIE-ACK-->
//!   Established: DATA <-> SACK (gap blocks, dups, delayed), T3-rtx, fast retransmit,
//!                FORWARD-TSN (RFC 3758), RE-CONFIG stream reset (RFC 6525), DCEP (RFC 8832)
//!   shutdown(): ShutdownPending --(all acked)--> AwaitShutdownAck --SHUTDOWN-->
//!        <--SHUTDOWN-ACK--  --SHUTDOWN-COMPLETE-->  Closed
//!   peer SHUTDOWN: ShutdownReceived --(all acked)--> AwaitShutdownComplete --SHUTDOWN-ACK-->
//!   abort(), ABORT, T1/T3 exhausted: Closed
//! ```

use core::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use peerless_base::{
    BufferTooSmall, Drbg, Instant, SEED_LEN, TimerKey, Timers, Transmit, Writer, ct_eq, debug,
    trace,
};
use sha2::Sha256;

use crate::dcep;
use crate::recv::{
    Arrival, Found, PROCESSED_FLAG as PROCESSED, Reassembly, Record, TsnTracker, ssn_lt, tsn_le,
    tsn_lt,
};
use crate::send::{ChunkState, Meta, Outgoing, Policy, QueueError, SendQueue};
use crate::wire::{
    self, CauseCode, Chunk, ChunkType, Data, ForwardTsn, Init, InitFields, Packet, ParamType,
    Params, Ppid, ReconfigParam, ReconfigResult, Sack, data_flags,
};

/// The DTLS role of this endpoint, which fixes the parity of the stream ids it picks
/// (RFC 8832 §6: the DTLS client uses even ids, the server odd ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DtlsRole {
    /// DTLS client: even stream ids.
    Client,
    /// DTLS server: odd stream ids.
    Server,
}

/// Association settings. `Config::new(role, seed)` gives the WebRTC defaults.
#[derive(Clone, Debug)]
pub struct Config {
    /// Our DTLS role (stream id parity).
    pub role: DtlsRole,
    /// 32 bytes of entropy from the host: verification tags, initial TSNs, the cookie key.
    pub seed: [u8; SEED_LEN],
    /// Our SCTP port (SDP `a=sctp-port`; 5000 by default).
    pub local_port: u16,
    /// The peer's SCTP port (its `a=sctp-port`; 5000 by default).
    pub remote_port: u16,
    /// Largest SCTP packet we send (1200 by default, which fits in any WebRTC path with DTLS).
    pub mtu: usize,
    /// RTO before any measurement (RFC 9260 §6.3.1; 1 s).
    pub rto_initial: Duration,
    /// Lowest RTO. RFC 9260 says 1 s; WebRTC stacks use far less on their low-latency paths
    /// (default 200 ms).
    pub rto_min: Duration,
    /// Highest RTO (default 10 s, so a data channel recovers quickly after an outage).
    pub rto_max: Duration,
    /// Longest delay before a SACK (RFC 9260 §6.2: at most 500 ms). Default 100 ms: half the
    /// default `rto_min`, so a peer with the same low minimum never times out waiting for the
    /// SACK of a lone packet.
    pub sack_delay: Duration,
    /// INIT or COOKIE-ECHO retransmissions before giving up (RFC 9260: 8).
    pub max_init_retransmits: u32,
    /// Consecutive T3-rtx expirations before the association is declared dead (RFC 9260: 10).
    pub max_retransmits: u32,
    /// Announce that we accept a zero checksum over DTLS (RFC 9653).
    pub zero_checksum: bool,
    /// The peer's `a=max-message-size` (65536 when the SDP does not say, per RFC 8841).
    pub remote_max_message_size: usize,
    /// How long a state cookie we issue stays valid (RFC 9260: 60 s).
    pub cookie_lifetime: Duration,
    /// Longest label and longest sub-protocol (bytes each) a peer's DATA_CHANNEL_OPEN may
    /// carry; a longer one is refused (RFC 8832 allows up to 65535 each). Default 64.
    pub max_label: u16,
}

impl Config {
    /// WebRTC defaults for `role`, with the host's entropy.
    #[must_use]
    pub fn new(role: DtlsRole, seed: [u8; SEED_LEN]) -> Self {
        Config {
            role,
            seed,
            local_port: 5000,
            remote_port: 5000,
            mtu: 1200,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(10),
            sack_delay: Duration::from_millis(100),
            max_init_retransmits: 8,
            max_retransmits: 10,
            zero_checksum: true,
            remote_max_message_size: 65_536,
            cookie_lifetime: Duration::from_secs(60),
            max_label: 64,
        }
    }
}

/// How a channel retransmits (RFC 8831 §6.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Reliability {
    /// Every message arrives.
    Reliable,
    /// A message is abandoned after this many retransmissions.
    MaxRetransmits(u16),
    /// A message is abandoned this many milliseconds after `send`.
    MaxLifetime(u32),
}

/// A data channel's options (the `RTCDataChannelInit` of the browser API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ChannelOptions {
    /// In-order delivery.
    pub ordered: bool,
    /// Retransmission policy.
    pub reliability: Reliability,
    /// Priority as carried in DCEP (256 is "normal"). Carried and reported; scheduling between
    /// channels is first-come first-served.
    pub priority: u16,
    /// `Some(id)`: negotiated out of band with this stream id, no DCEP.
    pub negotiated: Option<u16>,
}

impl Default for ChannelOptions {
    fn default() -> Self {
        ChannelOptions {
            ordered: true,
            reliability: Reliability::Reliable,
            priority: 256,
            negotiated: None,
        }
    }
}

/// Why the association ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CloseReason {
    /// Graceful SHUTDOWN completed.
    Shutdown,
    /// We called [`Association::abort`].
    LocalAbort,
    /// The peer sent ABORT.
    PeerAbort,
    /// INIT or COOKIE-ECHO was never answered.
    InitTimeout,
    /// Too many consecutive retransmission timeouts: the peer is gone.
    RetransmitTimeout,
    /// The peer sent a message larger than our receive storage (RFC 8841 lets us abort).
    MessageTooLarge,
    /// The peer acknowledged data we never sent (RFC 9260 §6.2.1): its state cannot match
    /// ours any more, so we aborted with a Protocol Violation cause instead of retransmitting
    /// to it forever.
    ProtocolViolation,
}

/// What the association tells its user. Drain with [`Association::poll_event`].
#[derive(Debug, PartialEq, Eq)]
pub enum Event<'e> {
    /// The association is established: channels carry data.
    Connected,
    /// The peer opened a channel with DATA_CHANNEL_OPEN.
    ChannelOpen {
        /// Stream id of the channel.
        id: u16,
        /// Its label.
        label: &'e str,
        /// Its sub-protocol.
        protocol: &'e str,
        /// Its options.
        options: ChannelOptions,
    },
    /// A message, borrowed from the reassembly storage until the next call on the association.
    Message {
        /// The channel.
        channel: u16,
        /// Binary (PPID 53/57) rather than string (51/56).
        binary: bool,
        /// The message.
        data: &'e [u8],
    },
    /// The channel's buffered amount fell to its low threshold.
    BufferedAmountLow(u16),
    /// The channel is closed in both directions (stream reset done).
    ChannelClosed(u16),
    /// The association ended.
    Closed(CloseReason),
}

/// Why `send` refused a message. Nothing was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SendError {
    /// No such channel, or it is closing.
    UnknownChannel,
    /// Larger than the remote max-message-size or than the send storage can ever hold.
    TooLarge,
    /// The send storage is full now: wait for `BufferedAmountLow` and retry.
    BufferFull,
    /// The association is closed or shutting down.
    NotConnected,
}

/// Why `open_channel` refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ChannelError {
    /// Every channel slot is in use (raise the `CHANNELS` parameter).
    TooManyChannels,
    /// The negotiated id is in use, or no id of our parity is left.
    IdUnavailable,
    /// Label and protocol do not fit in one DCEP message here (at most 1000 bytes together).
    LabelTooLong,
    /// The send storage is full: retry later.
    BufferFull,
    /// The association is closed or shutting down.
    NotConnected,
}

/// Counters and congestion state, for `getStats()` and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Congestion window in bytes.
    pub cwnd: usize,
    /// Slow-start threshold in bytes.
    pub ssthresh: usize,
    /// The peer's last advertised receive window, less what is in flight.
    pub peer_rwnd: usize,
    /// The receive window we advertise (free reassembly storage).
    pub local_rwnd: usize,
    /// Bytes in flight.
    pub flight_size: usize,
    /// Current retransmission timeout.
    pub rto: Duration,
    /// Smoothed round-trip time (zero before the first measurement).
    pub srtt: Duration,
    /// Packets sent.
    pub packets_sent: u64,
    /// Packets received and accepted.
    pub packets_received: u64,
    /// DATA chunks sent for the first time.
    pub data_chunks_sent: u64,
    /// DATA chunks retransmitted (T3 and fast).
    pub retransmissions: u64,
    /// Fast retransmissions (three miss indications).
    pub fast_retransmits: u64,
    /// T3-rtx expirations.
    pub t3_expirations: u64,
    /// Messages abandoned under partial reliability.
    pub abandoned_messages: u64,
    /// Messages delivered to the user.
    pub messages_received: u64,
    /// Duplicate DATA chunks received.
    pub duplicate_chunks: u64,
    /// Drops: bad checksum.
    pub drop_checksum: u64,
    /// Drops: wrong verification tag.
    pub drop_tag: u64,
    /// Drops: malformed packet or chunk.
    pub drop_malformed: u64,
    /// Drops: DATA with no room in the reassembly storage (or beyond the tracked window).
    pub drop_no_room: u64,
    /// Drops: chunks not valid in the current state.
    pub drop_state: u64,
    /// Drops: unknown chunk types.
    pub drop_unknown_chunk: u64,
    /// Drops: state cookies with a bad MAC or too old.
    pub drop_cookie: u64,
    /// Drops: messages for no channel (a stream never opened, refused, closed, or beyond the
    /// peer's stream count), and malformed DCEP messages. Refused OPENs are counted in
    /// `refused_channels`.
    pub drop_channel: u64,
    /// Received chunks given up for room (reneged).
    pub reneged_chunks: u64,
    /// Association restarts by the peer (RFC 9260 §5.2.4 case A).
    pub restarts: u64,
    /// The peer's DATA_CHANNEL_OPENs refused (wrong stream-id parity, id in use, no channel
    /// slot, label or protocol longer than `Config::max_label`); each is answered with a
    /// stream reset (RFC 8831 §6.7) except an id in use, whose stream is a live channel.
    pub refused_channels: u64,
    /// Refused channels whose stream reset could not be queued (more refusals waiting than
    /// `CHANNELS`): the peer's side of those channels stays open.
    pub drop_refused_reset: u64,
    /// RE-CONFIG request retransmissions (timer expirations).
    pub reconfig_retransmits: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Passive: waiting for the peer's INIT (or a `connect()`).
    Listen,
    /// Our INIT is out (COOKIE-WAIT).
    AwaitInitAck,
    /// Our COOKIE-ECHO is out (COOKIE-ECHOED).
    AwaitCookieAck,
    Established,
    /// `shutdown()` called: sending what is queued.
    ShutdownPending,
    /// SHUTDOWN sent.
    AwaitShutdownAck,
    /// Peer sent SHUTDOWN: finishing our queue.
    ShutdownReceived,
    /// SHUTDOWN-ACK sent.
    AwaitShutdownComplete,
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Timer {
    /// T1-init or T1-cookie.
    T1,
    /// T3-rtx.
    T3,
    DelayedSack,
    /// RE-CONFIG request retransmission.
    Reconfig,
    /// T2-shutdown.
    T2,
}

impl TimerKey for Timer {
    const ALL: &'static [Self] = &[
        Timer::T1,
        Timer::T3,
        Timer::DelayedSack,
        Timer::Reconfig,
        Timer::T2,
    ];
    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ChannelState {
    Free,
    Open,
    /// Outgoing reset requested or done; waiting for both directions.
    Closing,
    /// Closed; the slot is held until `poll_event` reports `ChannelClosed` (so the event can
    /// never be lost to a full queue: each slot carries its own).
    Closed,
}

#[derive(Clone, Copy, Debug)]
struct Channel {
    id: u16,
    state: ChannelState,
    options: ChannelOptions,
    /// DCEP ACK received (or not needed): unordered sending allowed.
    acked: bool,
    next_out_ssn: u16,
    next_in_ssn: u16,
    buffered: usize,
    low_threshold: usize,
    /// Our outgoing stream has been reset (response received).
    out_reset: bool,
    /// Our outgoing reset is queued or in flight.
    out_reset_requested: bool,
    /// The peer reset its outgoing stream (our incoming).
    in_reset: bool,
    /// Our outgoing reset waits for the next RE-CONFIG request.
    reset_pending: bool,
    /// Our outgoing reset is in the RE-CONFIG request in flight.
    reset_in_flight: bool,
    /// The peer's outgoing reset of this stream waits for its last TSN.
    in_reset_deferred: bool,
    /// `BufferedAmountLow` to report.
    low_pending: bool,
    /// Order of `ChannelClosed` events (state `Closed`).
    closed_seq: u32,
}

const FREE_CHANNEL: Channel = Channel {
    id: 0,
    state: ChannelState::Free,
    options: ChannelOptions {
        ordered: true,
        reliability: Reliability::Reliable,
        priority: 256,
        negotiated: None,
    },
    acked: false,
    next_out_ssn: 0,
    next_in_ssn: 0,
    buffered: 0,
    low_threshold: 0,
    out_reset: false,
    out_reset_requested: false,
    in_reset: false,
    reset_pending: false,
    reset_in_flight: false,
    in_reset_deferred: false,
    low_pending: false,
    closed_seq: 0,
};

impl Channel {
    /// Open or closing: the stream id is in use.
    fn is_live(&self) -> bool {
        matches!(self.state, ChannelState::Open | ChannelState::Closing)
    }
}

const COOKIE_BODY: usize = 48;
const COOKIE_LEN: usize = COOKIE_BODY + 32;
/// usrsctp (Firefox) puts its INIT and INIT-ACK inside the cookie: leave room for that.
const MAX_PEER_COOKIE: usize = 1152;
const MAX_ECHO: usize = 128;
/// Most streams in one Outgoing SSN Reset Request (272 bytes of parameter); more wait for
/// the next request.
const MAX_RESET_STREAMS: usize = 128;
const MAX_DUPS: usize = 16;
const MAX_GAPS: usize = 32;

/// What the INIT we answer told us: the INIT-ACK to send.
#[derive(Clone, Copy, Debug)]
struct InitAckReply {
    peer_tag: u32,
    cookie: [u8; COOKIE_LEN],
    local_tag: u32,
    local_tsn: u32,
    unrecognized: [u8; MAX_ECHO],
    unrecognized_len: usize,
}

/// The contents of our state cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct CookieBody {
    peer_tag: u32,
    local_tag: u32,
    peer_tsn: u32,
    local_tsn: u32,
    peer_rwnd: u32,
    caps: u8,
    local_tie: u32,
    peer_tie: u32,
    issued_at: u64,
    peer_os: u16,
    peer_mis: u16,
}

impl CookieBody {
    fn encode(&self) -> [u8; COOKIE_BODY] {
        let mut b = [0u8; COOKIE_BODY];
        b[0..4].copy_from_slice(&self.peer_tag.to_be_bytes());
        b[4..8].copy_from_slice(&self.local_tag.to_be_bytes());
        b[8..12].copy_from_slice(&self.peer_tsn.to_be_bytes());
        b[12..16].copy_from_slice(&self.local_tsn.to_be_bytes());
        b[16..20].copy_from_slice(&self.peer_rwnd.to_be_bytes());
        b[20] = self.caps;
        b[24..28].copy_from_slice(&self.local_tie.to_be_bytes());
        b[28..32].copy_from_slice(&self.peer_tie.to_be_bytes());
        b[32..40].copy_from_slice(&self.issued_at.to_be_bytes());
        b[40..42].copy_from_slice(&self.peer_os.to_be_bytes());
        b[42..44].copy_from_slice(&self.peer_mis.to_be_bytes());
        b
    }

    fn decode(b: &[u8; COOKIE_BODY]) -> Self {
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        CookieBody {
            peer_tag: u32_at(0),
            local_tag: u32_at(4),
            peer_tsn: u32_at(8),
            local_tsn: u32_at(12),
            peer_rwnd: u32_at(16),
            caps: b[20],
            local_tie: u32_at(24),
            peer_tie: u32_at(28),
            issued_at: (u64::from(u32_at(32)) << 32) | u64::from(u32_at(36)),
            peer_os: u16::from_be_bytes([b[40], b[41]]),
            peer_mis: u16::from_be_bytes([b[42], b[43]]),
        }
    }
}

fn caps_to_bits(c: wire::Capabilities) -> u8 {
    u8::from(c.forward_tsn) | (u8::from(c.reconfig) << 1) | (u8::from(c.zero_checksum) << 2)
}

fn caps_from_bits(b: u8) -> wire::Capabilities {
    wire::Capabilities {
        forward_tsn: b & 1 != 0,
        reconfig: b & 2 != 0,
        zero_checksum: b & 4 != 0,
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// The fields of a DATA_CHANNEL_OPEN the association acts on (the label and protocol are
/// read again from the store for the ChannelOpen event).
#[derive(Clone, Copy, Debug)]
struct DcepOpen {
    channel_type: dcep::ChannelType,
    priority: u16,
    reliability: u32,
    label_len: usize,
    protocol_len: usize,
}

/// Control chunks waiting for the next packet.
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    init: bool,
    cookie_echo: bool,
    cookie_ack: bool,
    abort: bool,
    shutdown: bool,
    shutdown_ack: bool,
    shutdown_complete: bool,
    /// Send a SACK in the next packet (immediately).
    sack: bool,
    forward_tsn: bool,
    reconfig_request: bool,
}

/// An SCTP association carrying WebRTC data channels, over caller-provided storage.
///
/// `'a` is the lifetime of the two byte areas the user lends: `send_area` holds queued and
/// unacknowledged messages (each chunk with a 40-byte header), `recv_area` holds received
/// chunks until their message is complete and read. `CHUNKS` bounds the records of received
/// data (each a run of consecutive chunks of one message: holes in the received sequence, not
/// message size), `CHANNELS` the number of channels (a closed one holds its slot until its
/// [`Event::ChannelClosed`] is polled).
///
/// The drain rule: after any `handle_*` call or command, call `poll_transmit` and `poll_event`
/// until both return `None`, then arm a timer at `poll_timeout()`. An [`Event::Message`]
/// borrows the receive storage; it is released by the next call on the association.
///
/// ```
/// use peerless_sctp::{Association, Config, DtlsRole, Event, ChannelOptions};
/// use peerless_base::Instant;
/// let (mut sa, mut ra, mut sb, mut rb) = ([0u8; 8192], [0u8; 8192], [0u8; 8192], [0u8; 8192]);
/// let now = Instant::ZERO;
/// let mut a: Association<'_> = Association::new(Config::new(DtlsRole::Client, [1; 32]), now, &mut sa, &mut ra);
/// let mut b: Association<'_> = Association::new(Config::new(DtlsRole::Server, [2; 32]), now, &mut sb, &mut rb);
/// a.connect(now);
/// let ch = a.open_channel("chat", "", ChannelOptions::default()).unwrap();
/// a.send(ch, false, b"hello").unwrap();
/// let mut buf = [0u8; 1200];
/// let mut got = None;
/// for _ in 0..10 {
///     while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
///         let mut packet = t.payload.to_vec();
///         b.handle_packet(now, &mut packet);
///     }
///     while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
///         let mut packet = t.payload.to_vec();
///         a.handle_packet(now, &mut packet);
///     }
///     while let Some(event) = b.poll_event() {
///         if let Event::Message { data, .. } = event { got = Some(data.to_vec()); }
///     }
///     while a.poll_event().is_some() {}
/// }
/// assert_eq!(got.as_deref(), Some(&b"hello"[..]));
/// ```
pub struct Association<'a, const CHUNKS: usize = 256, const CHANNELS: usize = 32> {
    config: Config,
    state: State,
    now: Instant,
    drbg: Drbg,
    cookie_key: [u8; 32],
    timers: Timers<Timer, 5>,

    local_tag: u32,
    peer_tag: u32,
    local_initial_tsn: u32,
    peer_caps: wire::Capabilities,
    init_retransmits: u32,
    peer_cookie: [u8; MAX_PEER_COOKIE],
    peer_cookie_len: usize,
    init_ack_reply: Option<InitAckReply>,
    unrecognized_report: [u8; MAX_ECHO],
    unrecognized_report_len: usize,
    heartbeat_echo: [u8; MAX_ECHO],
    heartbeat_echo_len: Option<usize>,
    pending: Pending,

    // Sender.
    send: SendQueue<'a>,
    /// Chunks in `Retransmit` state.
    retransmit_count: usize,
    /// The next packet may carry fast retransmissions beyond cwnd (RFC 9260 §7.2.4 (3): only
    /// the first packet after entering fast retransmit; later ones wait for the window).
    fast_retransmit_budget: bool,
    /// Chunks in `GapAcked` state (they may be reneged).
    gap_acked: usize,
    flight: usize,
    peer_rwnd: usize,
    cwnd: usize,
    ssthresh: usize,
    partial_bytes_acked: usize,
    fast_recovery_exit: Option<u32>,
    last_cum_ack: u32,
    advanced_peer_ack_point: u32,
    srtt: u64,
    rttvar: u64,
    rto: u64,
    rtt_probe: Option<(u32, Instant)>,
    error_count: u32,
    /// Highest TSN sent so far (fast recovery exit point).
    highest_sent: u32,
    /// The last transmission stopped at the congestion window with data still queued.
    cwnd_limited: bool,

    // Receiver.
    tracker: TsnTracker,
    recv: Reassembly<'a, CHUNKS>,
    dups: [u32; MAX_DUPS],
    dup_count: usize,
    unacked_packets: u32,
    last_advertised_rwnd: usize,
    paused: bool,
    pending_release: Option<Found>,
    /// DCEP messages may be waiting in the receive store to be acted on.
    dcep_waiting: bool,
    /// Streams we may send on (min of ours and the peer's MIS, RFC 9260 §5.1.1).
    out_streams: u16,
    /// Streams the peer may send on (its OS).
    in_streams: u16,

    // Channels and reconfiguration.
    channels: [Channel; CHANNELS],
    /// Streams of refused DCEP OPENs still to reset (no channel slot holds them); the first
    /// `refused_in_flight` are in the request in flight.
    refused: [u16; CHANNELS],
    refused_len: usize,
    refused_in_flight: usize,
    /// Our Outgoing SSN Reset Request in flight: (request sequence, last TSN). Its streams
    /// are the channels flagged `reset_in_flight` and `refused[..refused_in_flight]`.
    reset_in_flight: Option<(u32, u32)>,
    /// The request in flight was answered "in progress": its next send is a retry, not a
    /// retransmission.
    reconfig_retry_in_progress: bool,
    next_reconfig_seq: u32,
    peer_reconfig_seq: u32,
    last_peer_reconfig_result: ReconfigResult,
    /// The peer's outgoing reset waiting for its last TSN: (last TSN, every stream). The
    /// streams are the channels flagged `in_reset_deferred`.
    deferred_reset: Option<(u32, bool)>,
    reconfig_responses: [(u32, ReconfigResult); 4],
    reconfig_response_count: usize,

    connected_pending: bool,
    closed_pending: Option<CloseReason>,
    /// Why the association ended (for the ABORT's cause).
    closed_reason: Option<CloseReason>,
    next_closed_seq: u32,
    connected_reported: bool,
    stats: Stats,
}

impl<'a, const CHUNKS: usize, const CHANNELS: usize> Association<'a, CHUNKS, CHANNELS> {
    /// A passive association (it answers an INIT) over the two storage areas.
    ///
    /// `send_area` bounds what can be queued (a message needs its length plus 40 bytes per
    /// chunk); `recv_area` bounds reassembly and is the receive window we advertise: announce
    /// at most its size as `a=max-message-size`.
    pub fn new(
        config: Config,
        now: Instant,
        send_area: &'a mut [u8],
        recv_area: &'a mut [u8],
    ) -> Self {
        let mut drbg = Drbg::from_seed(&config.seed, b"peerless-sctp");
        let mut cookie_key = [0u8; 32];
        drbg.fill(&mut cookie_key);
        let local_tag = Self::nonzero_u32(&mut drbg);
        let local_initial_tsn = drbg.u32();
        let rto = micros(config.rto_initial);
        // At least room for the handshake; at most what a DATA chunk's length field holds.
        let mtu = config.mtu.clamp(256, 65_535);
        let recv = Reassembly::new(recv_area);
        let rwnd = recv.free(config.mtu.clamp(256, 65_535) - 28);
        Association {
            state: State::Listen,
            now,
            drbg,
            cookie_key,
            timers: Timers::new(),
            local_tag,
            peer_tag: 0,
            local_initial_tsn,
            peer_caps: wire::Capabilities::default(),
            init_retransmits: 0,
            peer_cookie: [0; MAX_PEER_COOKIE],
            peer_cookie_len: 0,
            init_ack_reply: None,
            unrecognized_report: [0; MAX_ECHO],
            unrecognized_report_len: 0,
            heartbeat_echo: [0; MAX_ECHO],
            heartbeat_echo_len: None,
            pending: Pending::default(),
            send: SendQueue::new(send_area, local_initial_tsn),
            retransmit_count: 0,
            fast_retransmit_budget: false,
            gap_acked: 0,
            flight: 0,
            peer_rwnd: 0,
            cwnd: (4 * mtu).min((2 * mtu).max(4380)),
            ssthresh: usize::MAX,
            partial_bytes_acked: 0,
            fast_recovery_exit: None,
            last_cum_ack: local_initial_tsn.wrapping_sub(1),
            advanced_peer_ack_point: local_initial_tsn.wrapping_sub(1),
            srtt: 0,
            rttvar: 0,
            rto,
            rtt_probe: None,
            error_count: 0,
            highest_sent: local_initial_tsn.wrapping_sub(1),
            cwnd_limited: false,
            tracker: TsnTracker::new(0),
            recv,
            dups: [0; MAX_DUPS],
            dup_count: 0,
            unacked_packets: 0,
            last_advertised_rwnd: rwnd,
            paused: false,
            pending_release: None,
            dcep_waiting: false,
            out_streams: u16::MAX,
            in_streams: u16::MAX,
            channels: [FREE_CHANNEL; CHANNELS],
            refused: [0; CHANNELS],
            refused_len: 0,
            refused_in_flight: 0,
            reset_in_flight: None,
            reconfig_retry_in_progress: false,
            next_reconfig_seq: local_initial_tsn,
            peer_reconfig_seq: 0,
            last_peer_reconfig_result: ReconfigResult::SUCCESS_NOTHING_TO_DO,
            deferred_reset: None,
            reconfig_responses: [(0, ReconfigResult::DENIED); 4],
            reconfig_response_count: 0,
            connected_pending: false,
            closed_pending: None,
            closed_reason: None,
            next_closed_seq: 0,
            connected_reported: false,
            stats: Stats::default(),
            config: Config { mtu, ..config },
        }
    }

    fn nonzero_u32(drbg: &mut Drbg) -> u32 {
        loop {
            let v = drbg.u32();
            if v != 0 {
                return v;
            }
        }
    }

    fn max_payload(&self) -> usize {
        (self.config.mtu - wire::COMMON_HEADER_LEN - wire::DATA_HEADER_LEN) & !3
    }

    fn tick(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        self.release();
    }

    /// Frees the message handed out by the last `poll_event`.
    fn release(&mut self) {
        if let Some(found) = self.pending_release.take() {
            self.recv.remove(found.first, found.last);
            self.maybe_window_update();
        }
    }

    /// A SACK when the window reopens after we advertised (almost) none: the sender would
    /// otherwise wait for its zero-window probe timer.
    fn maybe_window_update(&mut self) {
        let free = self.recv_window();
        let mtu = self.config.mtu;
        if self.is_established_like()
            && self.last_advertised_rwnd < 2 * mtu
            && free >= self.last_advertised_rwnd + 2 * mtu
        {
            self.pending.sack = true;
        }
    }

    fn is_established_like(&self) -> bool {
        matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::AwaitShutdownAck
                | State::ShutdownReceived
                | State::AwaitShutdownComplete
        )
    }

    // -----------------------------------------------------------------------------------------
    // Commands
    // -----------------------------------------------------------------------------------------

    /// Sends INIT (active open). Both sides may call it at once (RFC 9260 §5.2.1 collision);
    /// a passive association answers the peer's INIT without it.
    pub fn connect(&mut self, now: Instant) {
        self.tick(now);
        if self.state != State::Listen {
            return;
        }
        self.state = State::AwaitInitAck;
        self.pending.init = true;
        self.init_retransmits = 0;
        self.rto = micros(self.config.rto_initial);
        self.timers
            .set(Timer::T1, self.now + Duration::from_micros(self.rto));
    }

    /// Opens a data channel. With `negotiated: None` the id is the lowest free one of our
    /// parity and a DATA_CHANNEL_OPEN is queued; with `Some(id)` no DCEP is sent and the peer
    /// must open the same id. May be called before the association is up.
    pub fn open_channel(
        &mut self,
        label: &str,
        protocol: &str,
        options: ChannelOptions,
    ) -> Result<u16, ChannelError> {
        self.release();
        if matches!(self.state, State::Closed) || self.is_shutting_down() {
            return Err(ChannelError::NotConnected);
        }
        let slot = self
            .channels
            .iter()
            .position(|c| c.state == ChannelState::Free)
            .ok_or(ChannelError::TooManyChannels)?;
        // RFC 9260 §5.1.1: never a stream the peer cannot take (its MIS, once known).
        let limit = self.out_streams;
        let id = match options.negotiated {
            Some(id) => {
                if id == u16::MAX || id >= limit || self.channel_index(id).is_some() {
                    return Err(ChannelError::IdUnavailable);
                }
                id
            }
            None => {
                let mut id = match self.config.role {
                    DtlsRole::Client => 0u16,
                    DtlsRole::Server => 1u16,
                };
                while self.channel_index(id).is_some() {
                    id = id.checked_add(2).ok_or(ChannelError::IdUnavailable)?;
                }
                if id == u16::MAX || id >= limit {
                    return Err(ChannelError::IdUnavailable);
                }
                id
            }
        };
        let mut channel = Channel {
            id,
            state: ChannelState::Open,
            options,
            acked: options.negotiated.is_some(),
            ..FREE_CHANNEL
        };
        if options.negotiated.is_none() {
            if label.len() + protocol.len() > 1000 {
                return Err(ChannelError::LabelTooLong);
            }
            let (channel_type, reliability) = dcep_type(&options);
            let mut msg = [0u8; 1012];
            let mut w = Writer::new(&mut msg);
            dcep::Message::Open(dcep::Open {
                channel_type,
                priority: options.priority,
                reliability,
                label,
                protocol,
            })
            .emit(&mut w);
            let n = w.finish().map_err(|_| ChannelError::LabelTooLong)?;
            let out = Outgoing {
                stream: id,
                ssn: 0,
                ppid: Ppid::DCEP.0,
                unordered: false,
                data: msg.get(..n).unwrap_or_default(),
                policy: Policy {
                    max_retransmits: u16::MAX,
                    expires_at: u64::MAX,
                },
            };
            let max = self.max_payload();
            self.send
                .push(&out, max)
                .map_err(|_| ChannelError::BufferFull)?;
            channel.next_out_ssn = 1;
        }
        if let Some(c) = self.channels.get_mut(slot) {
            *c = channel;
        }
        debug!("sctp: channel {} opened locally", id);
        Ok(id)
    }

    fn is_shutting_down(&self) -> bool {
        matches!(
            self.state,
            State::ShutdownPending
                | State::AwaitShutdownAck
                | State::ShutdownReceived
                | State::AwaitShutdownComplete
        )
    }

    fn channel_index(&self, id: u16) -> Option<usize> {
        self.channels.iter().position(|c| c.is_live() && c.id == id)
    }

    /// Queues a message on a channel. Empty messages are sent as the RFC 8831 empty PPIDs.
    ///
    /// A `MaxLifetime` channel counts the lifetime from the association's latest time (the
    /// last `now` it was given), so call it right after a `handle_*` call, as the drain rule
    /// does.
    pub fn send(&mut self, channel: u16, binary: bool, data: &[u8]) -> Result<(), SendError> {
        self.release();
        if matches!(self.state, State::Closed) || self.is_shutting_down() {
            return Err(SendError::NotConnected);
        }
        let index = self
            .channel_index(channel)
            .ok_or(SendError::UnknownChannel)?;
        let c = self.channels[index];
        if c.state != ChannelState::Open {
            return Err(SendError::UnknownChannel);
        }
        if data.len() > self.config.remote_max_message_size {
            return Err(SendError::TooLarge);
        }
        let (ppid, payload): (Ppid, &[u8]) = match (binary, data.is_empty()) {
            (true, false) => (Ppid::BINARY, data),
            (false, false) => (Ppid::STRING, data),
            (true, true) => (Ppid::BINARY_EMPTY, &[0]),
            (false, true) => (Ppid::STRING_EMPTY, &[0]),
        };
        // RFC 8832 §6: until the DCEP ACK arrives, send ordered so the OPEN comes first.
        let ordered = c.options.ordered || !c.acked;
        // The policy is applied only if the peer supports FORWARD-TSN (checked when abandoning).
        let policy = match c.options.reliability {
            Reliability::MaxRetransmits(n) => Policy {
                max_retransmits: n.min(u16::MAX - 1),
                expires_at: u64::MAX,
            },
            Reliability::MaxLifetime(ms) => Policy {
                max_retransmits: u16::MAX,
                expires_at: self.now.as_micros().saturating_add(u64::from(ms) * 1000),
            },
            Reliability::Reliable => Policy {
                max_retransmits: u16::MAX,
                expires_at: u64::MAX,
            },
        };
        let out = Outgoing {
            stream: channel,
            ssn: if ordered { c.next_out_ssn } else { 0 },
            ppid: ppid.0,
            unordered: !ordered,
            data: payload,
            policy,
        };
        let max = self.max_payload();
        match self.send.push(&out, max) {
            Ok(()) => {}
            Err(QueueError::Full) => return Err(SendError::BufferFull),
            Err(QueueError::TooLarge) => return Err(SendError::TooLarge),
        }
        let c = &mut self.channels[index];
        if ordered {
            c.next_out_ssn = c.next_out_ssn.wrapping_add(1);
        }
        c.buffered += data.len();
        Ok(())
    }

    /// Bytes queued on `channel` and not yet sent (the browser's `bufferedAmount`).
    #[must_use]
    pub fn buffered_amount(&self, channel: u16) -> usize {
        self.channel_index(channel)
            .map_or(0, |i| self.channels[i].buffered)
    }

    /// Sets the threshold at or below which [`Event::BufferedAmountLow`] fires.
    pub fn set_buffered_amount_low_threshold(&mut self, channel: u16, threshold: usize) {
        if let Some(i) = self.channel_index(channel) {
            self.channels[i].low_threshold = threshold;
        }
    }

    /// Sets the peer's `a=max-message-size` (from its SDP; 0 means "any size").
    pub fn set_remote_max_message_size(&mut self, size: usize) {
        self.config.remote_max_message_size = if size == 0 { usize::MAX } else { size };
    }

    /// The largest message this association can receive: announce it as `a=max-message-size`.
    #[must_use]
    pub fn local_max_message_size(&self) -> usize {
        self.recv.capacity()
    }

    /// Stops (`true`) or resumes (`false`) handing out messages. While paused, received data
    /// stays in storage and the advertised window shrinks to zero: the peer's sender stops
    /// and probes, as a browser does when its application does not read.
    pub fn pause_receiving(&mut self, paused: bool) {
        self.release();
        self.paused = paused;
        if !paused {
            self.maybe_window_update();
        }
    }

    /// Closes a channel: resets our outgoing stream (RFC 6525); the peer resets its own in
    /// answer and [`Event::ChannelClosed`] follows.
    pub fn close_channel(&mut self, channel: u16) {
        self.release();
        let Some(i) = self.channel_index(channel) else {
            return;
        };
        if self.channels[i].state != ChannelState::Open {
            return;
        }
        self.channels[i].state = ChannelState::Closing;
        self.request_reset(channel);
    }

    fn request_reset(&mut self, stream: u16) {
        let Some(i) = self.channel_index(stream) else {
            return;
        };
        if self.channels[i].out_reset_requested {
            return;
        }
        if !self.peer_caps.reconfig && self.is_established_like() {
            // The peer cannot reset streams: the channel closes locally.
            self.channels[i].out_reset = true;
            self.channels[i].in_reset = true;
            self.finish_close(i);
            return;
        }
        // RFC 6525 §5.1.1: one request in flight at a time; the stream waits for the next
        // one (a flag per channel, so no number of closes can overflow a queue).
        self.channels[i].out_reset_requested = true;
        self.channels[i].reset_pending = true;
        self.pending.reconfig_request |= self.reset_in_flight.is_none();
    }

    fn finish_close(&mut self, i: usize) {
        let c = self.channels[i];
        if c.is_live() && c.out_reset && c.in_reset {
            self.mark_closed(i);
        }
    }

    /// Ends the channel in slot `i`; the slot is freed when `ChannelClosed` is reported.
    fn mark_closed(&mut self, i: usize) {
        let Some(c) = self.channels.get_mut(i) else {
            return;
        };
        *c = Channel {
            id: c.id,
            state: ChannelState::Closed,
            low_pending: c.low_pending,
            closed_seq: self.next_closed_seq,
            ..FREE_CHANNEL
        };
        self.next_closed_seq = self.next_closed_seq.wrapping_add(1);
    }

    /// Graceful close: sends what is queued, then SHUTDOWN.
    pub fn shutdown(&mut self, now: Instant) {
        self.tick(now);
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                self.check_shutdown_progress();
            }
            State::Listen | State::AwaitInitAck | State::AwaitCookieAck => {
                self.close(CloseReason::Shutdown);
            }
            _ => {}
        }
    }

    /// Ends the association at once with ABORT.
    pub fn abort(&mut self, now: Instant) {
        self.tick(now);
        if self.state == State::Closed {
            return;
        }
        if self.state != State::Listen {
            self.pending.abort = true;
        }
        self.close(CloseReason::LocalAbort);
    }

    /// Whether the association is established (data flows).
    #[must_use]
    pub fn is_established(&self) -> bool {
        self.is_established_like()
    }

    /// Whether the association has ended.
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Counters and congestion state.
    #[must_use]
    pub fn stats(&self) -> Stats {
        Stats {
            cwnd: self.cwnd,
            ssthresh: self.ssthresh,
            peer_rwnd: self.peer_rwnd,
            local_rwnd: self.local_rwnd(),
            flight_size: self.flight,
            rto: Duration::from_micros(self.rto),
            srtt: Duration::from_micros(self.srtt),
            ..self.stats
        }
    }

    /// The window we advertise: the free reassembly storage (a paused reader's stored
    /// messages count as used, so the window closes as it fills).
    fn local_rwnd(&self) -> usize {
        self.recv_window()
    }

    fn recv_window(&self) -> usize {
        self.recv.free(self.max_payload())
    }

    fn close(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.timers.clear_all();
        for i in 0..CHANNELS {
            if self.channels[i].is_live() {
                self.mark_closed(i);
            }
        }
        self.closed_pending = Some(reason);
        self.closed_reason = Some(reason);
        debug!("sctp: closed: {:?}", reason);
    }

    // -----------------------------------------------------------------------------------------
    // The five verbs
    // -----------------------------------------------------------------------------------------

    /// Handles one SCTP packet (the payload of one DTLS application-data record). Anything
    /// malformed, unauthenticated or out of place is dropped and counted in [`Stats`].
    pub fn handle_packet(&mut self, now: Instant, packet: &mut [u8]) {
        self.tick(now);
        if self.state == State::Closed {
            return;
        }
        let packet: &[u8] = packet;
        let Ok(view) = Packet::parse(packet) else {
            self.stats.drop_malformed += 1;
            return;
        };
        match wire::check_checksum(packet) {
            wire::Checksum::Valid => {}
            wire::Checksum::Zero if self.config.zero_checksum => {}
            _ => {
                self.stats.drop_checksum += 1;
                return;
            }
        }
        if view.destination_port() != self.config.local_port
            || view.source_port() != self.config.remote_port
        {
            self.stats.drop_malformed += 1;
            return;
        }
        let tag = view.verification_tag();
        let first = view.chunks().next().and_then(Result::ok);
        let Some(first) = first else {
            self.stats.drop_malformed += 1;
            return;
        };
        // RFC 9260 §8.5.1: the tag rules depend on the chunk.
        match first.chunk_type {
            ChunkType::INIT => {
                if tag != 0 || view.chunks().count() != 1 {
                    self.stats.drop_tag += 1;
                    return;
                }
                self.stats.packets_received += 1;
                self.on_init(&first);
                self.after_input();
                return;
            }
            ChunkType::ABORT | ChunkType::SHUTDOWN_COMPLETE => {
                let reflected = first.flags & 1 != 0;
                let ok = if reflected {
                    tag == self.peer_tag && self.peer_tag != 0
                } else {
                    tag == self.local_tag
                };
                if !ok {
                    self.stats.drop_tag += 1;
                    return;
                }
            }
            ChunkType::COOKIE_ECHO => {
                // Checked against the cookie's own tag in on_cookie_echo.
            }
            _ => {
                if tag != self.local_tag {
                    self.stats.drop_tag += 1;
                    return;
                }
            }
        }
        self.stats.packets_received += 1;
        let mut got_data = false;
        for chunk in view.chunks() {
            let Ok(chunk) = chunk else { break };
            if self.state == State::Closed {
                break;
            }
            match chunk.chunk_type {
                ChunkType::DATA => {
                    got_data = true;
                    self.on_data(&chunk);
                }
                ChunkType::SACK => self.on_sack(&chunk),
                ChunkType::INIT => {
                    // INIT must be alone in its packet.
                    self.stats.drop_malformed += 1;
                    break;
                }
                ChunkType::INIT_ACK => self.on_init_ack(tag, &chunk),
                ChunkType::COOKIE_ECHO => {
                    if !self.on_cookie_echo(tag, &chunk) {
                        // An invalid cookie invalidates the whole packet.
                        break;
                    }
                }
                ChunkType::COOKIE_ACK => self.on_cookie_ack(),
                ChunkType::HEARTBEAT => self.on_heartbeat(&chunk),
                ChunkType::HEARTBEAT_ACK | ChunkType::ERROR => {}
                ChunkType::ABORT => {
                    self.close(CloseReason::PeerAbort);
                    break;
                }
                ChunkType::SHUTDOWN => self.on_shutdown(&chunk),
                ChunkType::SHUTDOWN_ACK => self.on_shutdown_ack(),
                ChunkType::SHUTDOWN_COMPLETE => {
                    if self.state == State::AwaitShutdownComplete {
                        self.close(CloseReason::Shutdown);
                    }
                }
                ChunkType::FORWARD_TSN => self.on_forward_tsn(&chunk),
                ChunkType::RE_CONFIG => self.on_reconfig(&chunk),
                other => {
                    self.stats.drop_unknown_chunk += 1;
                    let action = other.unknown_action();
                    if action.reports() {
                        self.report_unrecognized_chunk(&chunk);
                    }
                    if !action.continues() {
                        break;
                    }
                }
            }
        }
        if got_data {
            self.unacked_packets += 1;
            if self.unacked_packets >= 2 || self.tracker.has_gaps() || self.dup_count > 0 {
                self.pending.sack = true;
            } else if !self.timers.is_armed(Timer::DelayedSack) {
                self.timers
                    .set(Timer::DelayedSack, self.now + self.config.sack_delay);
            }
        }
        self.after_input();
    }

    fn after_input(&mut self) {
        if self.dcep_waiting {
            self.process_dcep();
        }
        // DATA or a FORWARD-TSN may have brought the cumulative TSN to a deferred reset.
        self.perform_deferred_reset();
        self.check_shutdown_progress();
    }

    /// Handles expired deadlines.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tick(now);
        while let Some(timer) = self.timers.pop_expired(self.now) {
            match timer {
                Timer::T1 => self.on_t1(),
                Timer::T3 => self.on_t3(),
                Timer::DelayedSack => {
                    if self.unacked_packets > 0 {
                        self.pending.sack = true;
                    }
                }
                Timer::Reconfig => self.on_reconfig_timer(),
                Timer::T2 => self.on_t2(),
            }
        }
    }

    /// The next deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next_timeout()
    }

    /// The next event. Messages borrow the receive storage until the next call.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.release();
        if self.connected_pending {
            self.connected_pending = false;
            return Some(Event::Connected);
        }
        if let Some(c) = self.channels.iter_mut().find(|c| c.low_pending) {
            c.low_pending = false;
            return Some(Event::BufferedAmountLow(c.id));
        }
        if self.dcep_waiting {
            self.process_dcep();
        }
        // Find the next message to hand out; drop what has nowhere to go.
        let (found, first, kind) = loop {
            if self.paused {
                return self.pop_closed_event();
            }
            let channels = &self.channels;
            let Some(found) = self.recv.find_deliverable(|stream| {
                channels
                    .iter()
                    .find(|c| c.is_live() && c.id == stream)
                    .map_or(0, |c| c.next_in_ssn)
            }) else {
                if self.unblock_stalled() {
                    continue;
                }
                return self.pop_closed_event();
            };
            let Some(&first) = self.recv.records().get(found.first) else {
                return self.pop_closed_event();
            };
            self.pending_release = Some(found);
            let channel = self.channel_index(first.stream);
            let processed = first.flags & PROCESSED != 0;
            if !processed
                && !first.is_unordered()
                && let Some(i) = channel
            {
                self.channels[i].next_in_ssn = self.channels[i].next_in_ssn.wrapping_add(1);
            }
            let Some(i) = channel else {
                // No channel for this stream: nothing to deliver it to (a refused DCEP OPEN
                // was counted when it was refused).
                if !processed {
                    self.stats.drop_channel += 1;
                }
                self.release();
                continue;
            };
            let kind = match Ppid(first.ppid) {
                // A processed DCEP OPEN becomes the ChannelOpen event.
                Ppid::DCEP
                    if processed
                        && matches!(
                            dcep::Message::parse(self.recv.message_ref(found)),
                            Ok(dcep::Message::Open(_))
                        ) =>
                {
                    Some(self.channels[i].options)
                }
                Ppid::STRING | Ppid::BINARY | Ppid::STRING_EMPTY | Ppid::BINARY_EMPTY => None,
                _ => {
                    if Ppid(first.ppid) != Ppid::DCEP {
                        self.stats.drop_channel += 1;
                    }
                    self.release();
                    continue;
                }
            };
            break (found, first, kind);
        };
        if let Some(options) = kind {
            let data = self.recv.message(found);
            let Ok(dcep::Message::Open(open)) = dcep::Message::parse(data) else {
                return None;
            };
            return Some(Event::ChannelOpen {
                id: first.stream,
                label: open.label,
                protocol: open.protocol,
                options,
            });
        }
        self.stats.messages_received += 1;
        let ppid = Ppid(first.ppid);
        let binary = matches!(ppid, Ppid::BINARY | Ppid::BINARY_EMPTY);
        let empty = matches!(ppid, Ppid::STRING_EMPTY | Ppid::BINARY_EMPTY);
        let data = self.recv.message(found);
        Some(Event::Message {
            channel: first.stream,
            binary,
            data: if empty { &[] } else { data },
        })
    }

    /// Frees the receive storage that nothing will ever read, so it never pins the window.
    ///
    /// A complete message counts as stalled when every TSN up to its last one has arrived
    /// (nothing that precedes it on its stream can still come) and it still is not
    /// deliverable:
    /// - on a stream with no channel (data after a refused OPEN, a negotiated id not created
    ///   yet, a stream beyond the ones the peer may use): discarded and counted in
    ///   `drop_channel`, as libwebrtc's DataChannelController drops data for an unknown sid;
    /// - ordered on a channel whose expected SSN it does not carry (the peer skipped SSNs, or a
    ///   negotiated channel was created after earlier messages were discarded): delivery
    ///   resumes from its SSN, as the earlier ones can never arrive.
    ///
    /// Returns whether something changed (a message may now be deliverable).
    fn unblock_stalled(&mut self) -> bool {
        let cum = self.tracker.cumulative;
        let mut i = 0;
        while let Some(&r) = self.recv.records().get(i) {
            let Some(found) = self.recv.complete_at(i) else {
                if self.is_orphan(i) {
                    // Fragments whose first or last piece is gone for good (the TSN next to
                    // them arrived and is not theirs: it was discarded, e.g. the start of a
                    // refused DATA_CHANNEL_OPEN): they can never form a message.
                    self.stats.drop_malformed += 1;
                    self.recv.remove(i, i);
                    return true;
                }
                i += 1;
                continue;
            };
            let last = self
                .recv
                .records()
                .get(found.last)
                .map_or(r.tsn, |l| l.last_tsn());
            if !tsn_le(last, cum) || (r.ppid == Ppid::DCEP.0 && r.flags & PROCESSED == 0) {
                i = found.last + 1;
                continue;
            }
            let Some(c) = self.channel_index(r.stream) else {
                if r.flags & PROCESSED == 0 {
                    self.stats.drop_channel += 1;
                }
                self.recv.remove(found.first, found.last);
                return true;
            };
            // The first message of this stream in the store (TSN order) decides; the scan for
            // an earlier one runs last, as the other conditions rarely hold.
            if !r.is_unordered()
                && r.flags & PROCESSED == 0
                && r.ssn != self.channels[c].next_in_ssn
                && !self
                    .recv
                    .records()
                    .get(..i)
                    .unwrap_or_default()
                    .iter()
                    .any(|e| e.stream == r.stream)
            {
                debug!(
                    "sctp: stream {} resumes at SSN {} (expected {})",
                    r.stream, r.ssn, self.channels[c].next_in_ssn
                );
                self.channels[c].next_in_ssn = r.ssn;
                return true;
            }
            i = found.last + 1;
        }
        false
    }

    /// Whether the incomplete record `i` can never be completed: its neighbouring TSNs have
    /// arrived (they are at or below the cumulative TSN) and do not continue its message.
    fn is_orphan(&self, i: usize) -> bool {
        let records = self.recv.records();
        let Some(&r) = records.get(i) else {
            return false;
        };
        let cum = self.tracker.cumulative;
        let continues = |a: &Record, b: &Record| {
            b.tsn == a.last_tsn().wrapping_add(1) && b.stream == a.stream && !a.is_end()
        };
        let prev = i.checked_sub(1).and_then(|p| records.get(p));
        let next = records.get(i + 1);
        let headless =
            !r.is_begin() && tsn_le(r.tsn, cum) && !prev.is_some_and(|p| continues(p, &r));
        let tailless = !r.is_end()
            && tsn_lt(r.last_tsn(), cum)
            && !next.is_some_and(|n| continues(&r, n) && !n.is_begin());
        headless || tailless
    }

    fn pop_closed_event(&mut self) -> Option<Event<'_>> {
        let base = self.next_closed_seq;
        let next = self
            .channels
            .iter_mut()
            .filter(|c| c.state == ChannelState::Closed)
            .min_by_key(|c| c.closed_seq.wrapping_sub(base));
        if let Some(c) = next {
            let id = c.id;
            *c = FREE_CHANNEL;
            return Some(Event::ChannelClosed(id));
        }
        self.closed_pending.take().map(Event::Closed)
    }

    // -----------------------------------------------------------------------------------------
    // Handshake
    // -----------------------------------------------------------------------------------------

    fn on_init(&mut self, chunk: &Chunk<'_>) {
        let Ok(init) = Init::parse(chunk) else {
            self.stats.drop_malformed += 1;
            return;
        };
        // Unknown parameters: the upper two bits decide (RFC 9260 §3.2.1).
        let mut report = [0u8; MAX_ECHO];
        let mut report_len = 0;
        for p in init.params().flatten() {
            if is_known_init_param(p.param_type) {
                continue;
            }
            let action = p.param_type.unknown_action();
            // The parameter's length comes from the wire: every copy is checked.
            if action.reports()
                && let Some(dst) = report.get_mut(report_len..report_len + p.raw.len())
            {
                dst.copy_from_slice(p.raw);
                // Keep each TLV 4-aligned so the report parses back.
                report_len += p.raw.len();
                let pad = (4 - p.raw.len() % 4) % 4;
                if report_len + pad <= MAX_ECHO {
                    report_len += pad;
                }
            }
            if !action.continues() {
                break;
            }
        }
        let (local_tag, local_tsn, local_tie, peer_tie) = match self.state {
            State::Listen | State::AwaitInitAck | State::AwaitCookieAck => {
                (self.local_tag, self.local_initial_tsn, 0, 0)
            }
            State::Closed => return,
            _ => {
                // §5.2.2: an INIT in an established association (peer restart): new tag, with
                // the current tags as tie-tags.
                let tag = Self::nonzero_u32(&mut self.drbg);
                let tsn = self.drbg.u32();
                (tag, tsn, self.local_tag, self.peer_tag)
            }
        };
        let body = CookieBody {
            peer_tag: init.initiate_tag,
            local_tag,
            peer_tsn: init.initial_tsn,
            local_tsn,
            peer_rwnd: init.a_rwnd,
            caps: caps_to_bits(init.capabilities()),
            local_tie,
            peer_tie,
            issued_at: self.now.as_micros(),
            peer_os: init.outbound_streams,
            peer_mis: init.inbound_streams,
        };
        let mut cookie = [0u8; COOKIE_LEN];
        let encoded = body.encode();
        cookie[..COOKIE_BODY].copy_from_slice(&encoded);
        cookie[COOKIE_BODY..].copy_from_slice(&self.cookie_mac(&encoded));
        self.init_ack_reply = Some(InitAckReply {
            peer_tag: init.initiate_tag,
            cookie,
            local_tag,
            local_tsn,
            unrecognized: report,
            unrecognized_len: report_len,
        });
    }

    fn cookie_mac(&self, body: &[u8]) -> [u8; 32] {
        let mut out = [0u8; 32];
        if let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.cookie_key) {
            mac.update(body);
            out.copy_from_slice(&mac.finalize().into_bytes());
        }
        out
    }

    fn on_init_ack(&mut self, tag: u32, chunk: &Chunk<'_>) {
        if self.state != State::AwaitInitAck || tag != self.local_tag {
            self.stats.drop_state += 1;
            return;
        }
        let Ok(init) = Init::parse(chunk) else {
            self.stats.drop_malformed += 1;
            return;
        };
        let Some(cookie) = init.state_cookie() else {
            self.stats.drop_malformed += 1;
            return;
        };
        let Some(dst) = self.peer_cookie.get_mut(..cookie.len()) else {
            // Longer than we keep: the association cannot be made.
            self.stats.drop_malformed += 1;
            return;
        };
        dst.copy_from_slice(cookie);
        self.peer_cookie_len = cookie.len();
        // Report unknown parameters whose bits ask for it, in an ERROR with the COOKIE-ECHO.
        let mut len = 0;
        for p in init.params().flatten() {
            if is_known_init_param(p.param_type) {
                continue;
            }
            let action = p.param_type.unknown_action();
            let pad = (4 - p.raw.len() % 4) % 4;
            if action.reports()
                && let Some(dst) = self
                    .unrecognized_report
                    .get_mut(len..len + p.raw.len() + pad)
            {
                let (value, padding) = dst.split_at_mut(p.raw.len());
                value.copy_from_slice(p.raw);
                padding.fill(0);
                len += p.raw.len() + pad;
            }
            if !action.continues() {
                break;
            }
        }
        self.unrecognized_report_len = len;
        self.set_peer(
            init.initiate_tag,
            init.initial_tsn,
            init.a_rwnd,
            init.capabilities(),
            (init.outbound_streams, init.inbound_streams),
        );
        self.state = State::AwaitCookieAck;
        self.pending.init = false;
        self.pending.cookie_echo = true;
        self.init_retransmits = 0;
        self.timers
            .set(Timer::T1, self.now + Duration::from_micros(self.rto));
    }

    /// `streams` is the peer's (OS, MIS) from its INIT or INIT-ACK.
    fn set_peer(
        &mut self,
        tag: u32,
        initial_tsn: u32,
        a_rwnd: u32,
        caps: wire::Capabilities,
        streams: (u16, u16),
    ) {
        // RFC 9260 §5.1.1: we announce 65535 each way, so the peer's numbers are the limits.
        // A zero (invalid, Init::parse refuses it) would leave no stream: keep at least one.
        self.in_streams = streams.0.max(1);
        self.out_streams = streams.1.max(1);
        self.peer_tag = tag;
        self.tracker = TsnTracker::new(initial_tsn);
        self.peer_reconfig_seq = initial_tsn;
        self.peer_rwnd = a_rwnd as usize;
        self.ssthresh = a_rwnd as usize;
        self.peer_caps = caps;
    }

    /// Returns false when the packet must be dropped (bad cookie).
    fn on_cookie_echo(&mut self, tag: u32, chunk: &Chunk<'_>) -> bool {
        let Some((body, stale)) = self.open_cookie(chunk.value) else {
            self.stats.drop_cookie += 1;
            return false;
        };
        // RFC 9260 §5.2.4 step 3: a stale cookie is discarded, unless both its tags are the
        // current association's (action D): a peer whose COOKIE-ACKs were all lost keeps
        // echoing the cookie past its lifetime and must still be answered.
        let current = !matches!(
            self.state,
            State::Listen | State::AwaitInitAck | State::AwaitCookieAck | State::Closed
        ) && body.local_tag == self.local_tag
            && body.peer_tag == self.peer_tag;
        if stale && !current {
            self.stats.drop_cookie += 1;
            return false;
        }
        if tag != body.local_tag {
            self.stats.drop_tag += 1;
            return false;
        }
        let caps = caps_from_bits(body.caps);
        match self.state {
            State::Listen => self.establish_from_cookie(&body, caps),
            State::AwaitInitAck | State::AwaitCookieAck => {
                if body.local_tag == self.local_tag {
                    // §5.2.4 cases B and D during the collision: enter ESTABLISHED.
                    self.establish_from_cookie(&body, caps);
                } else {
                    self.stats.drop_cookie += 1;
                    return false;
                }
            }
            State::Closed => return false,
            _ => {
                let local_match = body.local_tag == self.local_tag;
                let peer_match = body.peer_tag == self.peer_tag;
                if local_match && peer_match {
                    // Case D: a retransmitted COOKIE-ECHO.
                    self.pending.cookie_ack = true;
                } else if !local_match
                    && !peer_match
                    && body.local_tie == self.local_tag
                    && body.peer_tie == self.peer_tag
                {
                    // Case A: the peer restarted.
                    self.restart(&body, caps);
                } else if local_match && !peer_match {
                    // Case B: collision resolved late; adopt the peer's tag.
                    self.peer_tag = body.peer_tag;
                    self.pending.cookie_ack = true;
                } else {
                    // Case C (or no match): silently discard.
                    self.stats.drop_cookie += 1;
                    return false;
                }
            }
        }
        true
    }

    /// The cookie's body if its MAC is ours, and whether it is older than its lifetime.
    fn open_cookie(&self, cookie: &[u8]) -> Option<(CookieBody, bool)> {
        if cookie.len() != COOKIE_LEN {
            return None;
        }
        let (body, mac) = cookie.split_at(COOKIE_BODY);
        if !ct_eq(&self.cookie_mac(body), mac) {
            return None;
        }
        let b: &[u8; COOKIE_BODY] = body.try_into().ok()?;
        let body = CookieBody::decode(b);
        let age = self.now.as_micros().checked_sub(body.issued_at)?;
        Some((body, age > micros(self.config.cookie_lifetime)))
    }

    fn establish_from_cookie(&mut self, body: &CookieBody, caps: wire::Capabilities) {
        let was_waiting = self.state == State::AwaitCookieAck;
        if !(was_waiting && self.peer_tag == body.peer_tag) {
            self.set_peer(
                body.peer_tag,
                body.peer_tsn,
                body.peer_rwnd,
                caps,
                (body.peer_os, body.peer_mis),
            );
        }
        self.pending.cookie_ack = true;
        self.pending.init = false;
        self.pending.cookie_echo = false;
        self.establish();
    }

    fn establish(&mut self) {
        self.state = State::Established;
        self.timers.clear(Timer::T1);
        self.rto = micros(self.config.rto_initial);
        if !self.connected_reported {
            self.connected_reported = true;
            self.connected_pending = true;
        }
        self.close_channels_beyond_peer_streams();
        if !self.peer_caps.reconfig {
            // Closes asked for before we knew the peer cannot reset streams: done locally,
            // as `request_reset` does once the association is up.
            for i in 0..CHANNELS {
                if self.channels[i].is_live() && self.channels[i].reset_pending {
                    self.channels[i].reset_pending = false;
                    self.channels[i].out_reset = true;
                    self.channels[i].in_reset = true;
                    self.finish_close(i);
                }
            }
            self.refused_len = 0;
        }
        // Channels opened before the peer's capabilities were known: without FORWARD-TSN
        // every message is reliable (the policies are checked when chunks are sent).
        debug!("sctp: established");
    }

    /// Channels opened before the peer's stream counts were known, on a stream it cannot take
    /// (RFC 9260 §5.1.1): closed, and what they queued is abandoned so nothing is sent on
    /// them (libwebrtc closes such channels when the association comes up, too).
    fn close_channels_beyond_peer_streams(&mut self) {
        for i in 0..CHANNELS {
            let c = self.channels[i];
            if !c.is_live() || c.id < self.out_streams {
                continue;
            }
            // Without FORWARD-TSN nothing queued can be skipped: it goes out and the peer
            // acknowledges and discards it (RFC 9260 §6.5).
            let mut at = if self.peer_caps.forward_tsn {
                self.send.head()
            } else {
                self.send.tail()
            };
            while let Some((meta, next)) = self.send.entry(at) {
                if meta.stream == c.id
                    && meta.state != ChunkState::Abandoned
                    && meta.flags & data_flags::BEGIN != 0
                {
                    self.abandon_message(at);
                }
                at = next;
            }
            self.mark_closed(i);
        }
        self.advance_ack_point();
    }

    fn restart(&mut self, body: &CookieBody, caps: wire::Capabilities) {
        self.stats.restarts += 1;
        self.local_tag = body.local_tag;
        self.local_initial_tsn = body.local_tsn;
        self.set_peer(
            body.peer_tag,
            body.peer_tsn,
            body.peer_rwnd,
            caps,
            (body.peer_os, body.peer_mis),
        );
        self.send.reset(body.local_tsn);
        self.recv.clear();
        self.pending_release = None;
        self.dcep_waiting = false;
        self.refused_len = 0;
        self.refused_in_flight = 0;
        self.retransmit_count = 0;
        self.gap_acked = 0;
        self.fast_retransmit_budget = false;
        self.flight = 0;
        self.last_cum_ack = body.local_tsn.wrapping_sub(1);
        self.advanced_peer_ack_point = self.last_cum_ack;
        self.highest_sent = self.last_cum_ack;
        self.next_reconfig_seq = body.local_tsn;
        self.reset_in_flight = None;
        self.reconfig_retry_in_progress = false;
        self.deferred_reset = None;
        self.rtt_probe = None;
        for c in &mut self.channels {
            if c.is_live() {
                c.next_in_ssn = 0;
                c.next_out_ssn = 0;
                c.buffered = 0;
                c.reset_in_flight = false;
                c.in_reset_deferred = false;
                c.reset_pending = c.out_reset_requested && !c.out_reset;
            }
        }
        self.pending.reconfig_request = self.channels.iter().any(|c| c.reset_pending);
        self.pending.cookie_ack = true;
        self.establish();
    }

    fn on_cookie_ack(&mut self) {
        if self.state == State::AwaitCookieAck {
            self.establish();
        }
    }

    fn on_t1(&mut self) {
        if !matches!(self.state, State::AwaitInitAck | State::AwaitCookieAck) {
            return;
        }
        self.init_retransmits += 1;
        if self.init_retransmits > self.config.max_init_retransmits {
            self.close(CloseReason::InitTimeout);
            return;
        }
        self.rto = self.rto.saturating_mul(2).min(micros(self.config.rto_max));
        if self.state == State::AwaitInitAck {
            self.pending.init = true;
        } else {
            self.pending.cookie_echo = true;
        }
        self.timers
            .set(Timer::T1, self.now + Duration::from_micros(self.rto));
    }

    fn on_heartbeat(&mut self, chunk: &Chunk<'_>) {
        // Longer heartbeat information than we keep is not answered (the peer's HEARTBEAT
        // times out; DTLS and ICE watch the path anyway).
        if let Some(dst) = self.heartbeat_echo.get_mut(..chunk.value.len()) {
            dst.copy_from_slice(chunk.value);
            self.heartbeat_echo_len = Some(chunk.value.len());
        }
    }

    fn report_unrecognized_chunk(&mut self, chunk: &Chunk<'_>) {
        // The cause carries the whole chunk; report it only if it fits our buffer.
        let total = 4 + chunk.value.len();
        if total + 4 > MAX_ECHO || self.unrecognized_report_len != 0 {
            return;
        }
        let mut w = Writer::new(&mut self.unrecognized_report);
        w.u16(CauseCode::UNRECOGNIZED_CHUNK_TYPE.0);
        w.u16((4 + total) as u16);
        w.u8(chunk.chunk_type.0);
        w.u8(chunk.flags);
        w.u16(total as u16);
        w.bytes(chunk.value);
        // No trailing padding: the ERROR chunk pads itself, and the last cause's padding is
        // not counted in the chunk length (RFC 9260 §3.2).
        if let Ok(n) = w.finish() {
            self.unrecognized_report_len = n;
        }
    }

    // -----------------------------------------------------------------------------------------
    // Shutdown
    // -----------------------------------------------------------------------------------------

    fn all_acked(&self) -> bool {
        self.send.is_empty()
    }

    fn check_shutdown_progress(&mut self) {
        match self.state {
            State::ShutdownPending if self.all_acked() => {
                self.state = State::AwaitShutdownAck;
                self.pending.shutdown = true;
                self.timers
                    .set(Timer::T2, self.now + Duration::from_micros(self.rto));
            }
            State::ShutdownReceived if self.all_acked() => {
                self.state = State::AwaitShutdownComplete;
                self.pending.shutdown_ack = true;
                self.timers
                    .set(Timer::T2, self.now + Duration::from_micros(self.rto));
            }
            _ => {}
        }
    }

    fn on_shutdown(&mut self, chunk: &Chunk<'_>) {
        let mut r = peerless_base::Reader::new(chunk.value);
        let Ok(cum) = r.u32() else {
            self.stats.drop_malformed += 1;
            return;
        };
        match self.state {
            State::Established | State::ShutdownPending | State::ShutdownReceived => {
                self.ack_up_to(cum);
                self.state = State::ShutdownReceived;
                self.check_shutdown_progress();
            }
            State::AwaitShutdownAck => {
                // Both sides shut down at once.
                self.state = State::AwaitShutdownComplete;
                self.pending.shutdown_ack = true;
                self.timers
                    .set(Timer::T2, self.now + Duration::from_micros(self.rto));
            }
            _ => self.stats.drop_state += 1,
        }
    }

    fn on_shutdown_ack(&mut self) {
        if matches!(
            self.state,
            State::AwaitShutdownAck | State::AwaitShutdownComplete
        ) {
            self.pending.shutdown_complete = true;
            self.close(CloseReason::Shutdown);
        } else {
            self.stats.drop_state += 1;
        }
    }

    fn on_t2(&mut self) {
        match self.state {
            State::AwaitShutdownAck => self.pending.shutdown = true,
            State::AwaitShutdownComplete => self.pending.shutdown_ack = true,
            _ => return,
        }
        self.error_count += 1;
        if self.error_count > self.config.max_retransmits {
            self.pending.abort = true;
            self.close(CloseReason::RetransmitTimeout);
            return;
        }
        self.rto = self.rto.saturating_mul(2).min(micros(self.config.rto_max));
        self.timers
            .set(Timer::T2, self.now + Duration::from_micros(self.rto));
    }

    // -----------------------------------------------------------------------------------------
    // Receiving data
    // -----------------------------------------------------------------------------------------

    fn on_data(&mut self, chunk: &Chunk<'_>) {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::AwaitShutdownAck
        ) {
            self.stats.drop_state += 1;
            return;
        }
        let Ok(data) = Data::parse(chunk) else {
            self.stats.drop_malformed += 1;
            // RFC 9260 §6.2: a DATA chunk without user data is answered with "No User Data".
            return;
        };
        match self.tracker.classify(data.tsn) {
            Arrival::Duplicate => {
                self.stats.duplicate_chunks += 1;
                if self.dup_count < MAX_DUPS {
                    self.dups[self.dup_count] = data.tsn;
                    self.dup_count += 1;
                }
                self.pending.sack = true;
                return;
            }
            Arrival::OutOfWindow => {
                self.stats.drop_no_room += 1;
                self.pending.sack = true;
                return;
            }
            Arrival::New => {}
        }
        if data.stream >= self.in_streams {
            // RFC 9260 §6.5: a stream the peer may not use: acknowledged and discarded.
            self.stats.drop_channel += 1;
            self.tracker.mark(data.tsn);
            return;
        }
        if Ppid(data.ppid.0) == Ppid::DCEP
            && data.flags & data_flags::BEGIN != 0
            && data.flags & data_flags::END == 0
            && self.channel_index(data.stream).is_none()
            && self.open_too_long(data.payload)
        {
            // The first piece of a DATA_CHANNEL_OPEN whose label or protocol is over
            // `max_label`: refused now, from its header, so a long one (RFC 8832 allows 64 KiB
            // each) never has to fit in the receive area. The TSN counts as received; the
            // other pieces are freed as fragments without a start (`unblock_stalled`).
            debug!("sctp: channel {} refused (label)", data.stream);
            self.refuse_stream(data.stream);
            self.tracker.mark(data.tsn);
            return;
        }
        let record = Record {
            tsn: data.tsn,
            tsns: 1,
            stream: data.stream,
            ssn: data.ssn,
            ppid: data.ppid.0,
            flags: data.flags & (data_flags::BEGIN | data_flags::END | data_flags::UNORDERED),
            offset: 0,
            len: 0,
        };
        let base = self.tracker.cumulative;
        let mut stored = self.recv.insert(base, record, data.payload).is_ok();
        if !stored && data.tsn == base.wrapping_add(1) && !self.paused {
            // The chunk that unblocks delivery: give up out-of-order chunks to make room
            // (reneging, RFC 9260 §6.2); the sender keeps them until they are cumulatively acked.
            while !stored {
                let Some((tsn, count)) = self.recv.renege_last(base) else {
                    break;
                };
                for k in 0..count {
                    self.tracker.unmark(tsn.wrapping_add(u32::from(k)));
                }
                self.stats.reneged_chunks += u64::from(count);
                stored = self.recv.insert(base, record, data.payload).is_ok();
            }
            // Storage held by messages nobody will read is freed first.
            while !stored && self.unblock_stalled() {
                stored = self.recv.insert(base, record, data.payload).is_ok();
            }
            if !stored && self.pending_release.is_none() && self.nothing_deliverable() {
                // Storage full of one incomplete message: it can never be completed.
                self.pending.abort = true;
                self.close(CloseReason::MessageTooLarge);
                return;
            }
        }
        if !stored {
            self.stats.drop_no_room += 1;
            self.pending.sack = true;
            return;
        }
        if Ppid(data.ppid.0) == Ppid::DCEP {
            self.dcep_waiting = true;
        }
        self.tracker.mark(data.tsn);
        if data.flags & data_flags::IMMEDIATE != 0 {
            self.pending.sack = true;
        }
    }

    fn nothing_deliverable(&self) -> bool {
        let channels = &self.channels;
        self.recv
            .find_deliverable(|stream| {
                channels
                    .iter()
                    .find(|c| c.is_live() && c.id == stream)
                    .map_or(0, |c| c.next_in_ssn)
            })
            .is_none()
    }

    /// Acts on DATA_CHANNEL_OPEN/ACK as soon as they are complete and in order (an OPEN may
    /// span several DATA chunks), so the ACK goes out with the next packet; the ChannelOpen
    /// event follows in order through `poll_event`. ACKs, refused OPENs and malformed DCEP
    /// messages leave the store at once.
    fn process_dcep(&mut self) {
        self.dcep_waiting = false;
        let mut index = 0;
        while let Some(&r) = self.recv.records().get(index) {
            if r.ppid != Ppid::DCEP.0 || r.flags & PROCESSED != 0 {
                index += 1;
                continue;
            }
            let Some(found) = self.recv.complete_at(index) else {
                // A fragment: the rest is still to come.
                self.dcep_waiting = true;
                index += 1;
                continue;
            };
            let channel = self.channel_index(r.stream);
            // On a stream with no channel there is no order to keep (an OPEN is the first
            // message of its stream, RFC 8832 §5).
            if let Some(i) = channel
                && !r.is_unordered()
                && r.ssn != self.channels[i].next_in_ssn
            {
                self.dcep_waiting = true;
                index = found.last + 1;
                continue;
            }
            let parsed = match dcep::Message::parse(self.recv.message(found)) {
                Ok(dcep::Message::Open(open)) => Some(Some(DcepOpen {
                    channel_type: open.channel_type,
                    priority: open.priority,
                    reliability: open.reliability,
                    label_len: open.label.len(),
                    protocol_len: open.protocol.len(),
                })),
                Ok(dcep::Message::Ack) => Some(None),
                Err(_) => None,
            };
            let keep = match parsed {
                Some(Some(open)) => self.on_dcep_open(r.stream, r.ssn, &open, r.is_unordered()),
                Some(None) => {
                    if let Some(i) = channel {
                        self.channels[i].acked = true;
                        if !r.is_unordered() {
                            self.channels[i].next_in_ssn =
                                self.channels[i].next_in_ssn.wrapping_add(1);
                        }
                    }
                    false
                }
                None => {
                    self.stats.drop_channel += 1;
                    false
                }
            };
            if keep {
                self.recv.set_flags(found.first, r.flags | PROCESSED);
                index = found.last + 1;
            } else {
                self.recv.remove(found.first, found.last);
            }
        }
        self.maybe_window_update();
    }

    /// Accepts the peer's DATA_CHANNEL_OPEN (true) or refuses it.
    fn on_dcep_open(&mut self, stream: u16, ssn: u16, open: &DcepOpen, unordered: bool) -> bool {
        let ours = match self.config.role {
            DtlsRole::Client => stream.is_multiple_of(2),
            DtlsRole::Server => !stream.is_multiple_of(2),
        };
        if self.channel_index(stream).is_some() {
            // An id in use is a collision (RFC 8832 §6); its stream belongs to a live channel,
            // so it is not reset: the OPEN is only counted.
            self.stats.refused_channels += 1;
            return false;
        }
        let max = usize::from(self.config.max_label);
        let slot = self
            .channels
            .iter()
            .position(|c| c.state == ChannelState::Free);
        let (Some(slot), false, true) = (
            slot,
            ours,
            open.label_len <= max && open.protocol_len <= max,
        ) else {
            // RFC 8832 §6: the peer must use its own parity. Whatever the reason, the peer
            // learns of the refusal as a close: our side of its stream is reset (RFC 8831
            // §6.7), it resets its own in answer.
            debug!("sctp: channel {} refused", stream);
            self.refuse_stream(stream);
            return false;
        };
        let reliability = match open.channel_type.0 & 0x7f {
            1 => {
                Reliability::MaxRetransmits(u16::try_from(open.reliability).unwrap_or(u16::MAX - 1))
            }
            2 => Reliability::MaxLifetime(open.reliability),
            _ => Reliability::Reliable,
        };
        let options = ChannelOptions {
            ordered: open.channel_type.is_ordered(),
            reliability,
            priority: open.priority,
            negotiated: None,
        };
        self.channels[slot] = Channel {
            id: stream,
            state: ChannelState::Open,
            options,
            acked: true,
            next_in_ssn: if unordered { 0 } else { ssn.wrapping_add(1) },
            ..FREE_CHANNEL
        };
        let mut ack = [0u8; 1];
        let mut w = Writer::new(&mut ack);
        dcep::Message::Ack.emit(&mut w);
        let out = Outgoing {
            stream,
            ssn: 0,
            ppid: Ppid::DCEP.0,
            unordered: false,
            data: &ack,
            policy: Policy {
                max_retransmits: u16::MAX,
                expires_at: u64::MAX,
            },
        };
        let max = self.max_payload();
        if self.send.push(&out, max).is_ok() {
            self.channels[slot].next_out_ssn = 1;
        }
        debug!("sctp: channel {} opened by the peer", stream);
        true
    }

    /// Whether the start of a DATA_CHANNEL_OPEN announces a label or protocol longer than
    /// `max_label` (RFC 8832 §5.1: the lengths are at offsets 8 and 10).
    fn open_too_long(&self, first_piece: &[u8]) -> bool {
        let header = |r: &mut peerless_base::Reader<'_>| -> Result<(u8, u16, u16), peerless_base::ReadError> {
            let kind = r.u8()?;
            r.take(7)?; // channel type, priority, reliability
            Ok((kind, r.u16()?, r.u16()?))
        };
        let Ok((kind, label, protocol)) = header(&mut peerless_base::Reader::new(first_piece))
        else {
            return false;
        };
        let max = self.config.max_label;
        kind == dcep::MessageType::OPEN.0 && (label > max || protocol > max)
    }

    /// Counts a refused channel and queues the reset of our side of its stream.
    fn refuse_stream(&mut self, stream: u16) {
        self.stats.refused_channels += 1;
        if !self.peer_caps.reconfig {
            return;
        }
        let queued = self.refused.get(..self.refused_len).unwrap_or_default();
        if queued.contains(&stream) {
            return;
        }
        match self.refused.get_mut(self.refused_len) {
            Some(slot) => {
                *slot = stream;
                self.refused_len += 1;
                self.pending.reconfig_request |= self.reset_in_flight.is_none();
            }
            None => self.stats.drop_refused_reset += 1,
        }
    }

    fn on_forward_tsn(&mut self, chunk: &Chunk<'_>) {
        if !self.is_established_like() {
            return;
        }
        let Ok(fwd) = ForwardTsn::parse(chunk) else {
            self.stats.drop_malformed += 1;
            return;
        };
        self.pending.sack = true;
        let new_cum = fwd.new_cumulative_tsn;
        if !tsn_lt(self.tracker.cumulative, new_cum) {
            return;
        }
        let base = self.tracker.cumulative;
        self.recv.drop_abandoned(base, new_cum);
        self.tracker.forward_to(new_cum);
        for (stream, ssn) in fwd.streams() {
            let Some(i) = self.channel_index(stream) else {
                continue;
            };
            // RFC 3758 §3.6: complete ordered messages up to the skipped SSN are delivered,
            // not deleted: they become deliverable regardless of their SSN, in TSN order,
            // whether or not the reader has drained what came before.
            let mut k = 0;
            while let Some(&r) = self.recv.records().get(k) {
                if r.stream == stream
                    && r.ppid != Ppid::DCEP.0
                    && !r.is_unordered()
                    && r.is_begin()
                    && r.flags & PROCESSED == 0
                    && !ssn_lt(ssn, r.ssn)
                    && !ssn_lt(r.ssn, self.channels[i].next_in_ssn)
                    && tsn_le(r.tsn, new_cum)
                {
                    self.recv.set_flags(k, r.flags | PROCESSED);
                }
                k += 1;
            }
            let next = ssn.wrapping_add(1);
            if ssn_lt(self.channels[i].next_in_ssn, next) {
                self.channels[i].next_in_ssn = next;
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Stream reconfiguration (RFC 6525)
    // -----------------------------------------------------------------------------------------

    fn on_reconfig(&mut self, chunk: &Chunk<'_>) {
        if !self.is_established_like() {
            return;
        }
        for p in Params::new(chunk.value) {
            let Ok(p) = p else {
                self.stats.drop_malformed += 1;
                return;
            };
            let Ok(param) = ReconfigParam::parse(&p) else {
                self.stats.drop_malformed += 1;
                continue;
            };
            match param {
                ReconfigParam::OutgoingReset {
                    request_seq,
                    last_tsn,
                    streams,
                    ..
                } => {
                    // RFC 6525 §5.2.2: a request is consumed when it arrives; if data up to
                    // its last TSN is still missing the reset is deferred ("in progress") and
                    // performed when the cumulative TSN gets there. A retransmission of the
                    // same request gets the latest result; a retry under the next sequence
                    // number (as dcsctp sends after "in progress") is a fresh request.
                    let result = if request_seq == self.peer_reconfig_seq {
                        self.peer_reconfig_seq = self.peer_reconfig_seq.wrapping_add(1);
                        // A retry while an earlier request waits merges into it. Every listed
                        // stream is flagged on its channel, so any number of them is performed
                        // (a stream with no channel has nothing to reset).
                        let (mut until, mut all) = self.deferred_reset.unwrap_or((last_tsn, false));
                        if tsn_lt(until, last_tsn) {
                            until = last_tsn;
                        }
                        let mut listed = false;
                        for s in ReconfigParam::stream_ids(streams) {
                            listed = true;
                            if let Some(i) = self.channel_index(s) {
                                self.channels[i].in_reset_deferred = true;
                            }
                        }
                        // An empty list resets every stream.
                        all |= !listed;
                        self.deferred_reset = Some((until, all));
                        self.last_peer_reconfig_result = ReconfigResult::IN_PROGRESS;
                        self.perform_deferred_reset();
                        self.last_peer_reconfig_result
                    } else if request_seq == self.peer_reconfig_seq.wrapping_sub(1) {
                        self.last_peer_reconfig_result
                    } else {
                        ReconfigResult::ERROR_BAD_SEQUENCE_NUMBER
                    };
                    self.queue_reconfig_response(request_seq, result);
                }
                ReconfigParam::IncomingReset { request_seq, .. }
                | ReconfigParam::Other { request_seq, .. } => {
                    // Only outgoing resets are used by data channels; others are declined.
                    self.queue_reconfig_response(request_seq, ReconfigResult::DENIED);
                }
                ReconfigParam::Response {
                    response_seq,
                    result,
                } => self.on_reconfig_response(response_seq, result),
            }
        }
    }

    /// Performs the peer's deferred outgoing reset once every TSN up to its last one is in.
    fn perform_deferred_reset(&mut self) {
        let Some((last_tsn, all)) = self.deferred_reset else {
            return;
        };
        if !tsn_le(last_tsn, self.tracker.cumulative) {
            return;
        }
        self.deferred_reset = None;
        for i in 0..CHANNELS {
            let c = self.channels[i];
            if c.is_live() && (all || c.in_reset_deferred) {
                self.channels[i].in_reset_deferred = false;
                self.incoming_reset(c.id);
            }
        }
        self.last_peer_reconfig_result = ReconfigResult::SUCCESS_PERFORMED;
    }

    fn incoming_reset(&mut self, stream: u16) {
        let Some(i) = self.channel_index(stream) else {
            return;
        };
        self.channels[i].next_in_ssn = 0;
        self.channels[i].in_reset = true;
        if self.channels[i].state == ChannelState::Open {
            // The peer closed the channel: close our direction too (RFC 8831 §6.7).
            self.channels[i].state = ChannelState::Closing;
        }
        if !self.channels[i].out_reset_requested {
            self.request_reset(stream);
        }
        if let Some(i) = self.channel_index(stream) {
            self.finish_close(i);
        }
    }

    fn queue_reconfig_response(&mut self, seq: u32, result: ReconfigResult) {
        let queued = self
            .reconfig_responses
            .get_mut(..self.reconfig_response_count)
            .unwrap_or_default();
        // A retransmitted request is answered once, with the latest result.
        if let Some(entry) = queued.iter_mut().find(|(s, _)| *s == seq) {
            entry.1 = result;
            return;
        }
        if self.reconfig_response_count < self.reconfig_responses.len() {
            self.reconfig_responses[self.reconfig_response_count] = (seq, result);
            self.reconfig_response_count += 1;
        } else {
            // Only a peer breaking RFC 6525's one-request-at-a-time rule gets here; it will
            // retransmit the request and be answered then.
            self.stats.drop_state += 1;
        }
    }

    fn on_reconfig_response(&mut self, seq: u32, result: ReconfigResult) {
        let Some((req_seq, _)) = self.reset_in_flight else {
            return;
        };
        if seq != req_seq {
            return;
        }
        // An answer: the peer is there (RFC 6525 §5.1.1 counts like T3-rtx), and the path
        // works, so the back-off of unanswered sends is undone as a SACK of new data does.
        self.error_count = 0;
        self.undo_rto_backoff();
        if result == ReconfigResult::IN_PROGRESS {
            // Ask again one RTO from now, under a new sequence number: the peer consumed this
            // one, and some stacks (usrsctp) keep answering "in progress" to it even after
            // performing the reset when a FORWARD-TSN, not DATA, completed it. That wait is not
            // a loss: it neither counts as an error nor backs off.
            self.next_reconfig_seq = self.next_reconfig_seq.wrapping_add(1);
            if let Some(request) = self.reset_in_flight.as_mut() {
                request.0 = self.next_reconfig_seq;
            }
            self.reconfig_retry_in_progress = true;
            self.timers
                .set(Timer::Reconfig, self.now + Duration::from_micros(self.rto));
            return;
        }
        self.reconfig_retry_in_progress = false;
        self.reset_in_flight = None;
        self.timers.clear(Timer::Reconfig);
        self.next_reconfig_seq = self.next_reconfig_seq.wrapping_add(1);
        for i in 0..CHANNELS {
            if self.channels[i].is_live() && self.channels[i].reset_in_flight {
                // Success or a refusal: either way the stream carries nothing more from us.
                self.channels[i].reset_in_flight = false;
                self.channels[i].out_reset = true;
                self.channels[i].next_out_ssn = 0;
                self.finish_close(i);
            }
        }
        let done = self.refused_in_flight.min(self.refused_len);
        self.refused.copy_within(done..self.refused_len, 0);
        self.refused_len -= done;
        self.refused_in_flight = 0;
        if self.refused_len > 0 || self.channels.iter().any(|c| c.reset_pending) {
            self.pending.reconfig_request = true;
        }
    }

    /// RFC 6525 §5.1.1: the request is retransmitted under the T3-rtx rules: the RTO backs
    /// off, and each expiry counts toward `max_retransmits`, after which the peer is gone.
    fn on_reconfig_timer(&mut self) {
        if self.reset_in_flight.is_none() || !self.is_established_like() {
            return;
        }
        self.stats.reconfig_retransmits += 1;
        if core::mem::take(&mut self.reconfig_retry_in_progress) {
            self.pending.reconfig_request = true;
            return;
        }
        self.error_count += 1;
        if self.error_count > self.config.max_retransmits {
            self.pending.abort = true;
            self.close(CloseReason::RetransmitTimeout);
            return;
        }
        self.rto = self.rto.saturating_mul(2).min(micros(self.config.rto_max));
        self.pending.reconfig_request = true;
    }

    // -----------------------------------------------------------------------------------------
    // Sending data: SACK processing, timers, congestion control
    // -----------------------------------------------------------------------------------------

    /// Frees everything up to `cum` (SACK or SHUTDOWN). Returns bytes newly acknowledged and
    /// whether the cumulative point advanced.
    fn ack_up_to(&mut self, cum: u32) -> (usize, bool) {
        let mut acked = 0;
        let mut advanced = false;
        if !tsn_lt(cum, self.send.next_tsn) {
            // Acknowledges something never sent: ignore (RFC 9260 §6.2.1 allows abort).
            return (0, false);
        }
        while self.send.head_tsn != self.send.next_tsn && tsn_le(self.send.head_tsn, cum) {
            let Some(meta) = self.send.pop_front() else {
                break;
            };
            advanced = true;
            match meta.state {
                ChunkState::InFlight => {
                    self.flight = self.flight.saturating_sub(usize::from(meta.len));
                    acked += usize::from(meta.len);
                }
                ChunkState::Retransmit => {
                    self.retransmit_count = self.retransmit_count.saturating_sub(1);
                    acked += usize::from(meta.len);
                }
                ChunkState::Unsent => {
                    // Covered by an acknowledgement without being sent (cannot happen with a
                    // well-behaved peer); release its buffered amount.
                    self.unbuffer(meta.stream, usize::from(meta.len));
                }
                ChunkState::GapAcked => self.gap_acked = self.gap_acked.saturating_sub(1),
                ChunkState::Abandoned => {}
            }
            if let Some((tsn, sent)) = self.rtt_probe
                && tsn == meta.tsn
            {
                self.rtt_probe = None;
                if meta.retransmits == 0 {
                    self.rtt_sample(self.now - sent);
                }
            }
        }
        if tsn_lt(self.last_cum_ack, cum) {
            self.last_cum_ack = cum;
        }
        if tsn_lt(self.advanced_peer_ack_point, cum) {
            self.advanced_peer_ack_point = cum;
        }
        (acked, advanced)
    }

    fn rtt_sample(&mut self, rtt: Duration) {
        // Bounded so the arithmetic below cannot overflow whatever times the host passes.
        let r = micros(rtt).clamp(1, 3_600_000_000);
        if self.srtt == 0 {
            self.srtt = r;
            self.rttvar = r / 2;
        } else {
            let diff = self.srtt.abs_diff(r);
            self.rttvar = (3 * self.rttvar + diff) / 4;
            self.srtt = (7 * self.srtt + r) / 8;
        }
        // G (clock granularity) of 1 ms keeps the variance term from collapsing to zero.
        let rto = self.srtt + (4 * self.rttvar).max(1000);
        self.rto = rto.clamp(micros(self.config.rto_min), micros(self.config.rto_max));
    }

    fn on_sack(&mut self, chunk: &Chunk<'_>) {
        if !self.is_established_like() {
            self.stats.drop_state += 1;
            return;
        }
        let Ok(sack) = Sack::parse(chunk) else {
            self.stats.drop_malformed += 1;
            return;
        };
        let cum = sack.cumulative_tsn;
        if tsn_lt(cum, self.last_cum_ack) {
            // An old SACK, overtaken by a newer one.
            return;
        }
        // RFC 9260 §6.2.1: a cumulative ack beyond anything sent (or skipped by FORWARD-TSN)
        // means the peer's view of our TSNs is not ours: retransmitting would never end (its
        // SACKs would keep resetting the error count), so abort, as dcsctp does.
        let sent = if tsn_lt(self.highest_sent, self.advanced_peer_ack_point) {
            self.advanced_peer_ack_point
        } else {
            self.highest_sent
        };
        if tsn_lt(sent, cum) {
            self.pending.abort = true;
            self.close(CloseReason::ProtocolViolation);
            return;
        }
        self.error_count = 0;
        let flight_before = self.flight;
        let (mut acked, advanced) = self.ack_up_to(cum);

        // Walk what remains against the gap blocks.
        let mut gaps = [(0u16, 0u16); MAX_GAPS];
        let mut ngaps = 0;
        for g in sack.gap_blocks() {
            if ngaps < MAX_GAPS && g.0 <= g.1 {
                gaps[ngaps] = g;
                ngaps += 1;
            }
        }
        let gaps = &gaps[..ngaps];
        let mut highest_newly_acked: Option<u32> = None;
        let mut reneged = false;
        if ngaps > 0 || self.gap_acked > 0 {
            let mut at = self.send.head();
            let max_gap_end = gaps.iter().map(|g| g.1).max().unwrap_or(0);
            // Gap-acked chunks visited: past the last gap block the walk goes on only while
            // some are left to re-check (a SACK that no longer covers them: reneged).
            let mut gap_acked_seen = 0;
            while at < self.send.next_unsent {
                let Some((mut meta, next)) = self.send.entry(at) else {
                    break;
                };
                let off = meta.tsn.wrapping_sub(cum);
                if off > u32::from(max_gap_end) && gap_acked_seen >= self.gap_acked {
                    break;
                }
                let in_gap = gaps
                    .iter()
                    .any(|&(s, e)| u32::from(s) <= off && off <= u32::from(e));
                let before = meta.state;
                if in_gap {
                    match meta.state {
                        ChunkState::InFlight => {
                            self.flight = self.flight.saturating_sub(usize::from(meta.len));
                            acked += usize::from(meta.len);
                            meta.state = ChunkState::GapAcked;
                            self.gap_acked += 1;
                            highest_newly_acked = Some(meta.tsn);
                        }
                        ChunkState::Retransmit => {
                            self.retransmit_count = self.retransmit_count.saturating_sub(1);
                            acked += usize::from(meta.len);
                            meta.state = ChunkState::GapAcked;
                            self.gap_acked += 1;
                            highest_newly_acked = Some(meta.tsn);
                        }
                        _ => {}
                    }
                    if meta.state == ChunkState::GapAcked {
                        gap_acked_seen += 1;
                    }
                    if let Some((tsn, sent)) = self.rtt_probe
                        && tsn == meta.tsn
                    {
                        self.rtt_probe = None;
                        if meta.retransmits == 0 {
                            self.rtt_sample(self.now - sent);
                        }
                    }
                } else if meta.state == ChunkState::GapAcked {
                    // Reneged by the receiver (RFC 9260 §6.2.1): the chunk is outstanding
                    // again, as if just sent; T3-rtx (kept running below) retransmits it.
                    meta.state = ChunkState::InFlight;
                    meta.misses = 0;
                    self.gap_acked = self.gap_acked.saturating_sub(1);
                    self.flight += usize::from(meta.len);
                    reneged = true;
                }
                if meta.state != before {
                    self.send.update(at, &meta);
                }
                at = next;
            }
        }

        // Miss indications (RFC 9260 §7.2.4) for chunks below the highest newly acked TSN.
        let mut entered_fast_retransmit = false;
        if let Some(highest) = highest_newly_acked {
            let mut at = self.send.head();
            while at < self.send.next_unsent {
                let Some((mut meta, next)) = self.send.entry(at) else {
                    break;
                };
                if !tsn_lt(meta.tsn, highest) {
                    break;
                }
                if meta.state == ChunkState::InFlight {
                    meta.misses = meta.misses.saturating_add(1);
                    if meta.misses >= 3 && !meta.fast_retransmitted {
                        meta.fast_retransmitted = true;
                        meta.state = ChunkState::Retransmit;
                        self.flight = self.flight.saturating_sub(usize::from(meta.len));
                        self.retransmit_count += 1;
                        self.fast_retransmit_budget = true;
                        self.stats.fast_retransmits += 1;
                        entered_fast_retransmit = true;
                    }
                    self.send.update(at, &meta);
                }
                at = next;
            }
        }
        let mtu = self.config.mtu;
        if entered_fast_retransmit && self.fast_recovery_exit.is_none() {
            self.ssthresh = (self.cwnd / 2).max(4 * mtu);
            self.cwnd = self.ssthresh;
            self.partial_bytes_acked = 0;
            self.fast_recovery_exit = Some(self.highest_sent);
        }
        if let Some(exit) = self.fast_recovery_exit
            && tsn_le(exit, cum)
        {
            self.fast_recovery_exit = None;
        }

        // Congestion window growth (RFC 9260 §7.2.1, §7.2.2), only when the cumulative point
        // moves and outside fast recovery.
        if advanced && self.fast_recovery_exit.is_none() && acked > 0 {
            // "Fully utilized" (RFC 9260 §7.2.1): the flight filled the window, or the last
            // transmission stopped because of it with data still waiting.
            let fully_used = self.cwnd_limited || flight_before + mtu >= self.cwnd;
            if self.cwnd <= self.ssthresh {
                if fully_used {
                    self.cwnd += acked.min(mtu);
                }
            } else {
                self.partial_bytes_acked += acked;
                if self.partial_bytes_acked >= self.cwnd && fully_used {
                    self.partial_bytes_acked -= self.cwnd;
                    self.cwnd += mtu;
                }
            }
        }
        self.peer_rwnd = (sack.a_rwnd as usize).saturating_sub(self.flight);

        // New data acknowledged: the path works again, so undo the T3 back-off (as TCP stacks
        // do on an ACK of new data) instead of waiting for a clean RTT sample, which a lossy
        // path may not give for many rounds.
        if advanced {
            self.undo_rto_backoff();
        }

        // T3-rtx: restart when the earliest outstanding TSN was acked, stop when nothing is
        // outstanding.
        if self.send.head() == self.send.next_unsent && self.retransmit_count == 0 {
            self.timers.clear(Timer::T3);
        } else if advanced {
            self.timers
                .set(Timer::T3, self.now + Duration::from_micros(self.rto));
        } else if reneged {
            self.timers
                .set_earliest(Timer::T3, self.now + Duration::from_micros(self.rto));
        }

        self.abandon_expired_in_flight();
        self.advance_ack_point();
        self.check_shutdown_progress();
    }

    /// The RTO from the RTT estimate, without the back-off of unanswered sends.
    fn undo_rto_backoff(&mut self) {
        if self.srtt > 0 {
            let rto = self.srtt + (4 * self.rttvar).max(1000);
            self.rto = rto.clamp(micros(self.config.rto_min), micros(self.config.rto_max));
        }
    }

    fn unbuffer(&mut self, stream: u16, len: usize) {
        if let Some(i) = self.channel_index(stream) {
            let c = &mut self.channels[i];
            let before = c.buffered;
            c.buffered = c.buffered.saturating_sub(len);
            if before > c.low_threshold && c.buffered <= c.low_threshold {
                c.low_pending = true;
            }
        }
    }

    fn on_t3(&mut self) {
        if !self.is_established_like() {
            return;
        }
        self.stats.t3_expirations += 1;
        self.error_count += 1;
        if self.error_count > self.config.max_retransmits {
            self.pending.abort = true;
            self.close(CloseReason::RetransmitTimeout);
            return;
        }
        let mtu = self.config.mtu;
        self.ssthresh = (self.cwnd / 2).max(4 * mtu);
        self.cwnd = mtu;
        self.partial_bytes_acked = 0;
        self.fast_recovery_exit = None;
        self.rto = self.rto.saturating_mul(2).min(micros(self.config.rto_max));
        self.rtt_probe = None;
        let mut at = self.send.head();
        while at < self.send.next_unsent {
            let Some((mut meta, next)) = self.send.entry(at) else {
                break;
            };
            if meta.state == ChunkState::InFlight {
                meta.state = ChunkState::Retransmit;
                self.flight = self.flight.saturating_sub(usize::from(meta.len));
                self.retransmit_count += 1;
                self.send.update(at, &meta);
            }
            at = next;
        }
        self.fast_retransmit_budget = false;
        self.abandon_expired_in_flight();
        self.advance_ack_point();
        if tsn_lt(self.last_cum_ack, self.advanced_peer_ack_point) {
            self.pending.forward_tsn = true;
        }
        self.timers
            .set(Timer::T3, self.now + Duration::from_micros(self.rto));
    }

    /// Applies partial-reliability policies to chunks awaiting retransmission.
    fn abandon_expired_in_flight(&mut self) {
        if !self.peer_caps.forward_tsn || self.retransmit_count == 0 {
            return;
        }
        let now = self.now.as_micros();
        let mut at = self.send.head();
        while at < self.send.next_unsent {
            let Some((meta, next)) = self.send.entry(at) else {
                break;
            };
            if meta.state == ChunkState::Retransmit
                && (meta.retransmits >= meta.max_retransmits || now >= meta.expires_at)
            {
                self.abandon_message(at);
            }
            at = next;
        }
    }

    /// Abandons the whole message the chunk at `target` belongs to (RFC 3758 §3.5 A3).
    fn abandon_message(&mut self, target: usize) {
        // Find the message's first fragment: walk from the head remembering the last B.
        let mut at = self.send.head();
        let mut start = at;
        while at <= target {
            let Some((meta, next)) = self.send.entry(at) else {
                return;
            };
            if meta.flags & data_flags::BEGIN != 0 {
                start = at;
            }
            if at == target {
                break;
            }
            at = next;
        }
        let mut at = start;
        let mut first = true;
        while let Some((mut meta, next)) = self.send.entry(at) {
            if !first && meta.flags & data_flags::BEGIN != 0 {
                break;
            }
            first = false;
            match meta.state {
                ChunkState::InFlight => {
                    self.flight = self.flight.saturating_sub(usize::from(meta.len));
                }
                ChunkState::Retransmit => {
                    self.retransmit_count = self.retransmit_count.saturating_sub(1);
                }
                ChunkState::Unsent => {
                    self.unbuffer(meta.stream, usize::from(meta.len));
                    self.send.mark_sent_cursor(at, next);
                }
                ChunkState::GapAcked => self.gap_acked = self.gap_acked.saturating_sub(1),
                ChunkState::Abandoned => {}
            }
            meta.state = ChunkState::Abandoned;
            self.send.update(at, &meta);
            at = next;
            if meta.flags & data_flags::END != 0 {
                break;
            }
        }
        self.stats.abandoned_messages += 1;
    }

    /// RFC 3758 §3.5 C1-C3: move the advanced peer ack point over abandoned chunks and ask for
    /// a FORWARD-TSN when it passes the cumulative ack.
    fn advance_ack_point(&mut self) {
        if !self.peer_caps.forward_tsn {
            return;
        }
        let mut at = self.send.head();
        while let Some((meta, next)) = self.send.entry(at) {
            if meta.state != ChunkState::Abandoned {
                break;
            }
            if tsn_lt(self.advanced_peer_ack_point, meta.tsn) {
                self.advanced_peer_ack_point = meta.tsn;
            }
            if at == self.send.next_unsent {
                self.send.mark_sent_cursor(at, next);
            }
            at = next;
        }
        if tsn_lt(self.last_cum_ack, self.advanced_peer_ack_point) {
            self.pending.forward_tsn = true;
        }
    }

    // -----------------------------------------------------------------------------------------
    // poll_transmit
    // -----------------------------------------------------------------------------------------

    /// The next SCTP packet to send (at most `Config::mtu` bytes; the buffer must hold that).
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Transmit<'b>>, BufferTooSmall> {
        self.release();
        let mtu = self.config.mtu;
        if buf.len() < mtu {
            if self.has_output() {
                return Err(BufferTooSmall { needed: mtu });
            }
            return Ok(None);
        }
        let out = &mut buf[..mtu];
        let n = self.build_packet(out);
        if n == 0 {
            return Ok(None);
        }
        self.stats.packets_sent += 1;
        Ok(Some(Transmit::on_path(&buf[..n])))
    }

    fn has_output(&self) -> bool {
        let p = self.pending;
        p.init
            || p.cookie_echo
            || p.cookie_ack
            || p.abort
            || p.shutdown
            || p.shutdown_ack
            || p.shutdown_complete
            || p.sack
            || p.forward_tsn
            || p.reconfig_request
            || self.init_ack_reply.is_some()
            || self.heartbeat_echo_len.is_some()
            || self.reconfig_response_count > 0
            || (self.is_established_like()
                && (self.retransmit_count > 0 || self.send.next_unsent < self.send.tail()))
    }

    fn build_packet(&mut self, out: &mut [u8]) -> usize {
        let (src, dst) = (self.config.local_port, self.config.remote_port);
        // Packets that stand alone and carry their own tag.
        if self.pending.abort {
            self.pending.abort = false;
            let (tag, tbit) = if self.peer_tag != 0 {
                (self.peer_tag, 0)
            } else {
                (self.local_tag, 1)
            };
            let mut w = Writer::new(out);
            wire::emit_common_header(&mut w, src, dst, tag);
            let cause = if self.closed_reason == Some(CloseReason::ProtocolViolation) {
                CauseCode::PROTOCOL_VIOLATION
            } else {
                CauseCode::USER_INITIATED_ABORT
            };
            wire::emit_chunk(&mut w, ChunkType::ABORT, tbit, |w| {
                w.u16(cause.0);
                w.u16(4);
            });
            return self.seal(w, false);
        }
        if self.pending.shutdown_complete {
            self.pending.shutdown_complete = false;
            let mut w = Writer::new(out);
            wire::emit_common_header(&mut w, src, dst, self.peer_tag);
            wire::emit_chunk(&mut w, ChunkType::SHUTDOWN_COMPLETE, 0, |_| {});
            return self.seal(w, false);
        }
        if self.state == State::Closed {
            return 0;
        }
        if let Some(reply) = self.init_ack_reply.take() {
            let mut w = Writer::new(out);
            wire::emit_common_header(&mut w, src, dst, reply.peer_tag);
            InitFields {
                chunk_type: ChunkType::INIT_ACK,
                initiate_tag: reply.local_tag,
                a_rwnd: self.recv_window() as u32,
                outbound_streams: u16::MAX,
                inbound_streams: u16::MAX,
                initial_tsn: reply.local_tsn,
                zero_checksum: self.config.zero_checksum,
                cookie: Some(&reply.cookie),
                unrecognized: reply
                    .unrecognized
                    .get(..reply.unrecognized_len)
                    .unwrap_or_default(),
            }
            .emit(&mut w);
            return self.seal(w, false);
        }
        if self.pending.init {
            self.pending.init = false;
            let mut w = Writer::new(out);
            wire::emit_common_header(&mut w, src, dst, 0);
            InitFields {
                chunk_type: ChunkType::INIT,
                initiate_tag: self.local_tag,
                a_rwnd: self.recv_window() as u32,
                outbound_streams: u16::MAX,
                inbound_streams: u16::MAX,
                initial_tsn: self.local_initial_tsn,
                zero_checksum: self.config.zero_checksum,
                cookie: None,
                unrecognized: &[],
            }
            .emit(&mut w);
            return self.seal(w, false);
        }
        if self.peer_tag == 0 {
            return 0;
        }

        // A bundle under the peer's tag.
        let mut w = Writer::new(out);
        wire::emit_common_header(&mut w, src, dst, self.peer_tag);
        let mut control_only_crc = false;
        if self.pending.cookie_echo {
            self.pending.cookie_echo = false;
            control_only_crc = true;
            let cookie = self
                .peer_cookie
                .get(..self.peer_cookie_len)
                .unwrap_or_default();
            wire::emit_chunk(&mut w, ChunkType::COOKIE_ECHO, 0, |w| w.bytes(cookie));
            if self.unrecognized_report_len > 0 {
                let report = self
                    .unrecognized_report
                    .get(..self.unrecognized_report_len)
                    .unwrap_or_default();
                wire::emit_chunk(&mut w, ChunkType::ERROR, 0, |w| {
                    w.u16(CauseCode::UNRECOGNIZED_PARAMETERS.0);
                    w.u16((4 + report.len()) as u16);
                    w.bytes(report);
                });
                self.unrecognized_report_len = 0;
            }
        }
        if self.pending.cookie_ack {
            self.pending.cookie_ack = false;
            wire::emit_chunk(&mut w, ChunkType::COOKIE_ACK, 0, |_| {});
        }
        if self.state == State::AwaitCookieAck || self.state == State::AwaitInitAck {
            return self.finish_bundle(w, true);
        }
        if self.unrecognized_report_len > 0 && !control_only_crc {
            let report = self
                .unrecognized_report
                .get(..self.unrecognized_report_len)
                .unwrap_or_default();
            wire::emit_chunk(&mut w, ChunkType::ERROR, 0, |w| w.bytes(report));
            self.unrecognized_report_len = 0;
        }
        if let Some(len) = self.heartbeat_echo_len.take() {
            let info = self.heartbeat_echo.get(..len).unwrap_or_default();
            wire::emit_chunk(&mut w, ChunkType::HEARTBEAT_ACK, 0, |w| w.bytes(info));
        }
        // SACK whenever something is unacknowledged: piggybacked on our data (RFC 9260 §6.2).
        if self.pending.sack || (self.unacked_packets > 0 && self.has_data_to_send()) {
            self.emit_sack(&mut w);
        }
        if self.pending.shutdown {
            self.pending.shutdown = false;
            let cum = self.tracker.cumulative;
            wire::emit_chunk(&mut w, ChunkType::SHUTDOWN, 0, |w| w.u32(cum));
        }
        if self.pending.shutdown_ack {
            self.pending.shutdown_ack = false;
            wire::emit_chunk(&mut w, ChunkType::SHUTDOWN_ACK, 0, |_| {});
        }
        if self.pending.forward_tsn {
            self.pending.forward_tsn = false;
            self.emit_forward_tsn(&mut w);
        }
        if self.reconfig_response_count > 0 || self.pending.reconfig_request {
            self.emit_reconfig(&mut w);
        }
        self.emit_data(&mut w);
        self.finish_bundle(w, control_only_crc)
    }

    fn has_data_to_send(&self) -> bool {
        self.retransmit_count > 0
            || (self.send.next_unsent < self.send.tail()
                && (self.flight < self.cwnd)
                && (self.peer_rwnd > 0 || self.flight == 0))
    }

    fn finish_bundle(&mut self, w: Writer<'_>, force_crc: bool) -> usize {
        if w.position() <= wire::COMMON_HEADER_LEN {
            return 0;
        }
        let zero = !force_crc && self.peer_caps.zero_checksum && self.is_established_like();
        self.seal(w, zero)
    }

    fn seal(&self, mut w: Writer<'_>, zero: bool) -> usize {
        if w.is_overflowed() {
            return 0;
        }
        let n = w.position();
        wire::seal(w.written_mut(), zero);
        trace!("sctp: sending {} bytes", n);
        n
    }

    fn emit_sack(&mut self, w: &mut Writer<'_>) {
        let mut gaps = [(0u16, 0u16); MAX_GAPS];
        // Leave room for at least the SACK itself and keep the packet within the MTU.
        let room = w.remaining().saturating_sub(16 + 4 * self.dup_count) / 4;
        let limit = room.min(MAX_GAPS);
        let n = self.tracker.gap_blocks(&mut gaps[..limit]);
        let rwnd = self.local_rwnd();
        self.last_advertised_rwnd = rwnd;
        Sack::emit(
            w,
            self.tracker.cumulative,
            rwnd as u32,
            &gaps[..n],
            &self.dups[..self.dup_count],
        );
        self.dup_count = 0;
        self.unacked_packets = 0;
        self.pending.sack = false;
        self.timers.clear(Timer::DelayedSack);
    }

    fn emit_forward_tsn(&mut self, w: &mut Writer<'_>) {
        let mut streams = [(0u16, 0u16); 16];
        let mut n = 0;
        let mut new_cum = self.last_cum_ack;
        let mut at = self.send.head();
        while let Some((meta, next)) = self.send.entry(at) {
            if !tsn_le(meta.tsn, self.advanced_peer_ack_point) {
                break;
            }
            // A stream the peer cannot take (RFC 9260 §5.1.1) is never named, here either.
            if meta.state == ChunkState::Abandoned
                && meta.flags & data_flags::UNORDERED == 0
                && meta.stream < self.out_streams
            {
                let capacity = streams.len();
                match streams[..n].iter_mut().find(|(s, _)| *s == meta.stream) {
                    Some(entry) => {
                        if ssn_lt(entry.1, meta.ssn) {
                            entry.1 = meta.ssn;
                        }
                    }
                    None if n < capacity => {
                        streams[n] = (meta.stream, meta.ssn);
                        n += 1;
                    }
                    // Too many streams for one chunk: stop here; the rest goes next time.
                    None => break,
                }
            }
            new_cum = meta.tsn;
            at = next;
        }
        if tsn_lt(self.last_cum_ack, new_cum) {
            ForwardTsn::emit(w, new_cum, &streams[..n]);
            self.timers
                .set_earliest(Timer::T3, self.now + Duration::from_micros(self.rto));
        }
    }

    fn emit_reconfig(&mut self, w: &mut Writer<'_>) {
        // Parameter sizes (RFC 6525 §4.1, §4.4): a request is 16 bytes plus 2 per stream,
        // padded; a response is 12.
        let count = self.reconfig_response_count;
        let responses_len = 12 * count;
        if self.pending.reconfig_request && self.reset_in_flight.is_none() {
            // A new request takes the waiting streams, as many as leave room in any packet
            // for the other control chunks; the rest wait for the next request.
            let room = self.config.mtu.saturating_sub(320) / 2;
            let mut budget = room.clamp(1, MAX_RESET_STREAMS);
            for c in self.channels.iter_mut() {
                if budget > 0 && c.is_live() && c.reset_pending {
                    c.reset_pending = false;
                    c.reset_in_flight = true;
                    budget -= 1;
                }
            }
            self.refused_in_flight = self.refused_len.min(budget);
            if budget < room.clamp(1, MAX_RESET_STREAMS) || self.refused_in_flight > 0 {
                let last_tsn = self.send.next_tsn.wrapping_sub(1);
                self.reset_in_flight = Some((self.next_reconfig_seq, last_tsn));
            }
        }
        if self.reset_in_flight.is_none() {
            self.pending.reconfig_request = false;
        }
        let request = if self.pending.reconfig_request {
            self.reset_in_flight
        } else {
            None
        };
        let streams = self
            .channels
            .iter()
            .filter(|c| c.is_live() && c.reset_in_flight)
            .count()
            + self.refused_in_flight;
        let request_len = if request.is_some() {
            (16 + 2 * streams).next_multiple_of(4)
        } else {
            0
        };
        let fits = |n: usize| 4 + n <= w.remaining();
        let send_request = request.is_some() && fits(responses_len + request_len);
        if !send_request && (count == 0 || !fits(responses_len)) {
            // Nothing, or no room in this packet: it goes in the next one.
            return;
        }
        if send_request {
            self.pending.reconfig_request = false;
        }
        let responses = self.reconfig_responses;
        self.reconfig_response_count = 0;
        let peer_seq = self.peer_reconfig_seq.wrapping_sub(1);
        let channels = &self.channels;
        let refused = self
            .refused
            .get(..self.refused_in_flight)
            .unwrap_or_default();
        wire::emit_chunk(w, ChunkType::RE_CONFIG, 0, |w| {
            if let (true, Some((seq, last_tsn))) = (send_request, request) {
                let ids = channels
                    .iter()
                    .filter(|c| c.is_live() && c.reset_in_flight)
                    .map(|c| c.id)
                    .chain(refused.iter().copied());
                ReconfigParam::emit_outgoing_reset_ids(w, seq, peer_seq, last_tsn, ids);
            }
            for &(seq, result) in responses.get(..count).unwrap_or_default() {
                ReconfigParam::emit_response(w, seq, result);
            }
        });
        if send_request {
            self.timers
                .set(Timer::Reconfig, self.now + Duration::from_micros(self.rto));
        }
    }

    /// Fills the rest of the packet with DATA: retransmissions first, then new chunks, within
    /// the congestion and receive windows.
    fn emit_data(&mut self, w: &mut Writer<'_>) {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        ) {
            return;
        }
        let now = self.now.as_micros();
        let mut sent_any = false;
        // Retransmissions, in TSN order.
        let mut fast_sent = false;
        if self.retransmit_count > 0 {
            let mut at = self.send.head();
            while self.retransmit_count > 0 && at < self.send.next_unsent {
                let Some((mut meta, next)) = self.send.entry(at) else {
                    break;
                };
                if meta.state == ChunkState::Retransmit {
                    let len = usize::from(meta.len);
                    let fast = self.fast_retransmit_budget;
                    if !fast && self.flight > 0 && self.flight + len > self.cwnd {
                        break;
                    }
                    if w.remaining() < wire::DATA_HEADER_LEN + len {
                        break;
                    }
                    if self.peer_caps.forward_tsn
                        && (meta.retransmits >= meta.max_retransmits || now >= meta.expires_at)
                    {
                        self.abandon_message(at);
                        self.advance_ack_point();
                        at = next;
                        continue;
                    }
                    fast_sent |= fast;
                    meta.state = ChunkState::InFlight;
                    meta.retransmits = meta.retransmits.saturating_add(1);
                    meta.misses = 0;
                    self.retransmit_count -= 1;
                    self.flight += len;
                    self.peer_rwnd = self.peer_rwnd.saturating_sub(len);
                    self.stats.retransmissions += 1;
                    self.send.update(at, &meta);
                    self.write_data(w, at, &meta);
                    sent_any = true;
                }
                at = next;
            }
            if fast_sent {
                // The cwnd bypass was this packet's; the next ones wait for the window.
                self.fast_retransmit_budget = false;
            }
            // A FORWARD-TSN with its 16 stream entries takes 72 bytes.
            if self.pending.forward_tsn && w.remaining() >= 72 {
                self.pending.forward_tsn = false;
                self.emit_forward_tsn(w);
            }
        }
        // New data.
        if self.retransmit_count == 0 {
            loop {
                let at = self.send.next_unsent;
                let Some((mut meta, next)) = self.send.entry(at) else {
                    // Everything is out: the window is not what limits us.
                    self.cwnd_limited = false;
                    break;
                };
                if meta.state == ChunkState::Abandoned {
                    self.send.mark_sent_cursor(at, next);
                    continue;
                }
                let len = usize::from(meta.len);
                if self.flight >= self.cwnd && self.flight > 0 {
                    self.cwnd_limited = true;
                    break;
                }
                // The peer's window, with one chunk allowed in flight to probe a zero window.
                if len > self.peer_rwnd && self.flight > 0 {
                    break;
                }
                if w.remaining() < wire::DATA_HEADER_LEN + len {
                    break;
                }
                if self.peer_caps.forward_tsn && now >= meta.expires_at {
                    self.abandon_message(at);
                    self.advance_ack_point();
                    continue;
                }
                meta.state = ChunkState::InFlight;
                meta.sent_at = now;
                self.send.update(at, &meta);
                self.send.mark_sent_cursor(at, next);
                self.flight += len;
                self.peer_rwnd = self.peer_rwnd.saturating_sub(len);
                self.stats.data_chunks_sent += 1;
                self.highest_sent = meta.tsn;
                if self.rtt_probe.is_none() {
                    self.rtt_probe = Some((meta.tsn, self.now));
                }
                self.write_data(w, at, &meta);
                self.unbuffer(meta.stream, len);
                sent_any = true;
                if self.peer_rwnd == 0 {
                    break;
                }
            }
        }
        if sent_any && !self.timers.is_armed(Timer::T3) {
            self.timers
                .set(Timer::T3, self.now + Duration::from_micros(self.rto));
        }
    }

    fn write_data(&self, w: &mut Writer<'_>, at: usize, meta: &Meta) {
        Data {
            flags: meta.flags,
            tsn: meta.tsn,
            stream: meta.stream,
            ssn: meta.ssn,
            ppid: Ppid(meta.ppid),
            payload: self.send.payload(at, meta),
        }
        .emit(w);
    }
}

fn dcep_type(options: &ChannelOptions) -> (dcep::ChannelType, u32) {
    let unordered = if options.ordered { 0 } else { 0x80 };
    match options.reliability {
        Reliability::Reliable => (dcep::ChannelType(unordered), 0),
        Reliability::MaxRetransmits(n) => (dcep::ChannelType(unordered | 1), u32::from(n)),
        Reliability::MaxLifetime(ms) => (dcep::ChannelType(unordered | 2), ms),
    }
}

fn is_known_init_param(t: ParamType) -> bool {
    matches!(
        t,
        ParamType::STATE_COOKIE
            | ParamType::IPV4_ADDRESS
            | ParamType::IPV6_ADDRESS
            | ParamType::COOKIE_PRESERVATIVE
            | ParamType::HOST_NAME_ADDRESS
            | ParamType::SUPPORTED_ADDRESS_TYPES
            | ParamType::ECN_CAPABLE
            | ParamType::ZERO_CHECKSUM_ACCEPTABLE
            | ParamType::SUPPORTED_EXTENSIONS
            | ParamType::FORWARD_TSN_SUPPORTED
            | ParamType::UNRECOGNIZED_PARAMETER
    )
}
