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
//!   close(): ShutdownPending    --(all acked)--> AwaitShutdownAck --SHUTDOWN-->
//!        <--SHUTDOWN-ACK--  --SHUTDOWN-COMPLETE-->  Closed
//!   peer SHUTDOWN: ShutdownReceived --(all acked)--> AwaitShutdownComplete --SHUTDOWN-ACK-->
//!   abort(), ABORT, T1/T3 exhausted: Closed
//! ```
//!
//! One struct, [`Association`], defined here with its verbs (`handle_packet`,
//! `handle_timeout`, `poll_timeout`); each concern adds its methods from its own file:
//!
//! | file            | concern                                                          |
//! |-----------------|------------------------------------------------------------------|
//! | `handshake.rs`  | INIT / INIT-ACK / COOKIE, collisions, restarts, HEARTBEAT answer |
//! | `shutdown.rs`   | SHUTDOWN sequence, abort                                         |
//! | `delivery.rs`   | DATA in, reassembly, DCEP, FORWARD-TSN in, `poll_event`          |
//! | `reconfig.rs`   | RFC 6525 stream reset (channel close)                            |
//! | `sack.rs`       | SACK processing: cumulative ack, gap blocks, renege, fast rtx    |
//! | `retransmit.rs` | T3-rtx, partial reliability, advanced peer ack point             |
//! | `emit.rs`       | building packets (`poll_transmit`)                               |
//! | `schedule.rs`   | sending order among channels by DCEP priority (weighted fair)    |
//! | `channels.rs`   | data channel commands (`open_channel`, `send`, `close_channel`)  |
//! | `congestion.rs` | Reno: cwnd, ssthresh (`on_ack`, `on_fast_retransmit`, `on_t3`)  |
//! | `rto.rs`        | the RTO estimator (`rtt_sample`, back-off)                       |
//! | `config.rs`, `event.rs`, `stats.rs` | the public types                             |

mod channels;
mod config;
mod congestion;
mod delivery;
mod emit;
mod event;
mod handshake;
mod reconfig;
mod retransmit;
mod rto;
mod sack;
mod schedule;
mod shutdown;
mod stats;

pub use config::{ChannelOptions, Config, DtlsRole, Reliability, StreamId};
pub use event::{ChannelError, CloseReason, Event, MessageKind, SendError};
pub use stats::Stats;

use peerless_base::{Drbg, Instant, TimerKey, Timers, debug};

use self::channels::{Channel, FREE_CHANNEL};
use self::congestion::Reno;
use self::handshake::InitAckReply;
use self::rto::RtoEstimator;
use crate::Area;
use crate::recv::{Found, Reassembly, TsnTracker};
use crate::send::SendQueue;
use crate::wire::{self, ChunkType, Packet, ReconfigResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Passive: waiting for the peer's INIT (or a `connect()`).
    Listen,
    /// Our INIT is out (COOKIE-WAIT).
    AwaitInitAck,
    /// Our COOKIE-ECHO is out (COOKIE-ECHOED).
    AwaitCookieAck,
    Established,
    /// `close()` called: sending what is queued.
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
    /// An ERROR "Cookie Received While Shutting Down" beside the SHUTDOWN ACK (§5.2.4 A).
    cookie_while_shutting_down: bool,
    /// Send a SACK in the next packet (immediately).
    sack: bool,
    forward_tsn: bool,
    reconfig_request: bool,
}

/// An SCTP association carrying WebRTC data channels, over caller-provided storage.
///
/// `S` is the storage of the two byte areas ([`Area`]: borrowed `&mut [u8]`, the default, as
/// firmware lends its statics; or owned, `[u8; N]`, `Vec<u8>`, `Box<[u8]>`, so an owner needs no
/// lifetime): `send_area` holds queued and
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
/// use peerless_sctp::{Association, Config, DtlsRole, Event, ChannelOptions, MessageKind};
/// use peerless_base::Instant;
/// let (mut sa, mut ra) = ([0u8; 8192], [0u8; 8192]);
/// let now = Instant::ZERO;
/// // Borrowed areas (what firmware does with its statics) ...
/// let mut a: Association<&mut [u8]> =
///     Association::new(Config::new(DtlsRole::Client, [1; 32]), now, &mut sa[..], &mut ra[..]);
/// // ... or owned ones, so `b` can live in a struct or a map with no lifetime.
/// let mut b: Association<Vec<u8>> =
///     Association::new(Config::new(DtlsRole::Server, [2; 32]), now, vec![0; 8192], vec![0; 8192]);
/// a.connect(now);
/// let ch = a.open_channel("chat", "", ChannelOptions::default()).unwrap();
/// a.send(ch, MessageKind::Text, b"hello").unwrap();
/// let mut buf = [0u8; 1200];
/// let mut got = None;
/// for _ in 0..10 {
///     while let Some(t) = a.poll_transmit(&mut buf).unwrap() {
///         b.handle_packet(now, t);
///     }
///     while let Some(t) = b.poll_transmit(&mut buf).unwrap() {
///         a.handle_packet(now, t);
///     }
///     while let Some(event) = b.poll_event() {
///         if let Event::Message { data, .. } = event { got = Some(data.to_vec()); }
///     }
///     while a.poll_event().is_some() {}
/// }
/// assert_eq!(got.as_deref(), Some(&b"hello"[..]));
/// ```
#[cfg_attr(fuzzing, derive(Clone))]
pub struct Association<S = &'static mut [u8], const CHUNKS: usize = 256, const CHANNELS: usize = 32>
{
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
    send: SendQueue<S>,
    /// Chunks in `Retransmit` state.
    retransmit_count: usize,
    /// The next packet may carry fast retransmissions beyond cwnd (RFC 9260 §7.2.4 (3): only
    /// the first packet after entering fast retransmit; later ones wait for the window).
    fast_retransmit_budget: bool,
    /// Chunks in `GapAcked` state (they may be reneged).
    gap_acked: usize,
    flight: usize,
    peer_rwnd: usize,
    congestion: Reno,
    last_cum_ack: u32,
    advanced_peer_ack_point: u32,
    rto: RtoEstimator,
    /// The chunk being timed for an RTT sample: (TSN, sent at).
    rtt_probe: Option<(u32, Instant)>,
    error_count: u32,
    /// Highest TSN sent so far (fast recovery exit point).
    highest_sent: u32,

    // Receiver.
    tracker: TsnTracker,
    recv: Reassembly<S, CHUNKS>,
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
    /// A channel may have `low_pending` set / may be `Closed`: set wherever those are set,
    /// cleared only by a scan that finds none, so `poll_event` skips the channel scans when
    /// nothing is waiting and an event can never be missed.
    low_maybe_pending: bool,
    closed_maybe_pending: bool,
    /// The scheduler's virtual clock: where the message being sent started (schedule.rs).
    sched_vtime: u64,
    connected_reported: bool,
    stats: Stats,
}

/// What a new association draws from its seed: shared by [`Association::new`] and
/// [`Association::restart`], so both start from the same values.
struct Fresh {
    drbg: Drbg,
    cookie_key: [u8; 32],
    local_tag: u32,
    local_initial_tsn: u32,
    /// The configured MTU within bounds: at least room for the handshake, at most what a
    /// DATA chunk's length field holds.
    mtu: usize,
}

impl Fresh {
    fn draw(config: &Config) -> Self {
        let mut drbg = Drbg::from_seed(&config.seed, b"peerless-sctp");
        // The cookie key, our tag and initial TSN in one DRBG request: a request costs two
        // HMACs besides one per 32-byte output block, so three requests cost nine and this one
        // four (connect CPU, issue 18).
        let mut fresh = [0u8; 40];
        drbg.fill(&mut fresh);
        let (mut cookie_key, mut tag, mut tsn) = ([0u8; 32], [0u8; 4], [0u8; 4]);
        for (dst, src) in cookie_key
            .iter_mut()
            .chain(&mut tag)
            .chain(&mut tsn)
            .zip(fresh)
        {
            *dst = src;
        }
        // A zero tag is not allowed (RFC 9260 §3.3.2): draw again in that rare case.
        let local_tag = match u32::from_be_bytes(tag) {
            0 => loop {
                let v = drbg.u32();
                if v != 0 {
                    break v;
                }
            },
            t => t,
        };
        Fresh {
            drbg,
            cookie_key,
            local_tag,
            local_initial_tsn: u32::from_be_bytes(tsn),
            mtu: config.mtu.clamp(256, 65_535),
        }
    }
}

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    /// A passive association (it answers an INIT) over the two storage areas.
    ///
    /// `send_area` bounds what can be queued (a message needs its length plus 40 bytes per
    /// chunk); `recv_area` bounds reassembly and is the receive window we advertise: announce
    /// at most its size as `a=max-message-size`.
    pub fn new(config: Config, now: Instant, send_area: S, recv_area: S) -> Self {
        let Fresh {
            drbg,
            cookie_key,
            local_tag,
            local_initial_tsn,
            mtu,
        } = Fresh::draw(&config);
        let recv = Reassembly::new(recv_area);
        let rwnd = recv.free(mtu - 28);
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
            congestion: Reno::new(mtu),
            last_cum_ack: local_initial_tsn.wrapping_sub(1),
            advanced_peer_ack_point: local_initial_tsn.wrapping_sub(1),
            rto: RtoEstimator::new(config.rto_initial, config.rto_min, config.rto_max),
            rtt_probe: None,
            error_count: 0,
            highest_sent: local_initial_tsn.wrapping_sub(1),
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
            low_maybe_pending: false,
            closed_maybe_pending: false,
            sched_vtime: 0,
            connected_reported: false,
            stats: Stats::default(),
            config: Config { mtu, ..config },
        }
    }

    /// Starts this association over as a new one made from `config`, in place, over the
    /// same send and receive areas: what [`new`](Self::new) would build with them, without a
    /// second association on the stack (a host that keeps its association in a static, or
    /// inside a larger machine, restarts it per session). Nothing of the previous
    /// association survives: its keys, tags, queues, channels and counters are replaced; the
    /// areas' bytes are not cleared (they are only read where the new queues have written).
    pub fn restart(&mut self, config: Config, now: Instant) {
        let Fresh {
            drbg,
            cookie_key,
            local_tag,
            local_initial_tsn,
            mtu,
        } = Fresh::draw(&config);
        // Every field by name, none left out (no `..`): a field added to the association
        // fails to compile here until its restart value is written.
        let Association {
            config: self_config,
            state,
            now: self_now,
            drbg: self_drbg,
            cookie_key: self_cookie_key,
            timers,
            local_tag: self_local_tag,
            peer_tag,
            local_initial_tsn: self_local_initial_tsn,
            peer_caps,
            init_retransmits,
            peer_cookie,
            peer_cookie_len,
            init_ack_reply,
            unrecognized_report,
            unrecognized_report_len,
            heartbeat_echo,
            heartbeat_echo_len,
            pending,
            send,
            retransmit_count,
            fast_retransmit_budget,
            gap_acked,
            flight,
            peer_rwnd,
            congestion,
            last_cum_ack,
            advanced_peer_ack_point,
            rto,
            rtt_probe,
            error_count,
            highest_sent,
            tracker,
            recv,
            dups,
            dup_count,
            unacked_packets,
            last_advertised_rwnd,
            paused,
            pending_release,
            dcep_waiting,
            out_streams,
            in_streams,
            channels,
            refused,
            refused_len,
            refused_in_flight,
            reset_in_flight,
            reconfig_retry_in_progress,
            next_reconfig_seq,
            peer_reconfig_seq,
            last_peer_reconfig_result,
            deferred_reset,
            reconfig_responses,
            reconfig_response_count,
            connected_pending,
            closed_pending,
            closed_reason,
            next_closed_seq,
            low_maybe_pending,
            closed_maybe_pending,
            sched_vtime,
            connected_reported,
            stats,
        } = self;
        *state = State::Listen;
        *self_now = now;
        // The old generator is dropped (and wiped) here.
        *self_drbg = drbg;
        *self_cookie_key = cookie_key;
        *timers = Timers::new();
        *self_local_tag = local_tag;
        *peer_tag = 0;
        *self_local_initial_tsn = local_initial_tsn;
        *peer_caps = wire::Capabilities::default();
        *init_retransmits = 0;
        peer_cookie.fill(0);
        *peer_cookie_len = 0;
        *init_ack_reply = None;
        unrecognized_report.fill(0);
        *unrecognized_report_len = 0;
        heartbeat_echo.fill(0);
        *heartbeat_echo_len = None;
        *pending = Pending::default();
        send.reset(local_initial_tsn);
        *retransmit_count = 0;
        *fast_retransmit_budget = false;
        *gap_acked = 0;
        *flight = 0;
        *peer_rwnd = 0;
        *congestion = Reno::new(mtu);
        *last_cum_ack = local_initial_tsn.wrapping_sub(1);
        *advanced_peer_ack_point = local_initial_tsn.wrapping_sub(1);
        *rto = RtoEstimator::new(config.rto_initial, config.rto_min, config.rto_max);
        *rtt_probe = None;
        *error_count = 0;
        *highest_sent = local_initial_tsn.wrapping_sub(1);
        *tracker = TsnTracker::new(0);
        recv.clear();
        dups.fill(0);
        *dup_count = 0;
        *unacked_packets = 0;
        *last_advertised_rwnd = recv.free(mtu - 28);
        *paused = false;
        *pending_release = None;
        *dcep_waiting = false;
        *out_streams = u16::MAX;
        *in_streams = u16::MAX;
        channels.fill(FREE_CHANNEL);
        refused.fill(0);
        *refused_len = 0;
        *refused_in_flight = 0;
        *reset_in_flight = None;
        *reconfig_retry_in_progress = false;
        *next_reconfig_seq = local_initial_tsn;
        *peer_reconfig_seq = 0;
        *last_peer_reconfig_result = ReconfigResult::SUCCESS_NOTHING_TO_DO;
        *deferred_reset = None;
        reconfig_responses.fill((0, ReconfigResult::DENIED));
        *reconfig_response_count = 0;
        *connected_pending = false;
        *closed_pending = None;
        *closed_reason = None;
        *next_closed_seq = 0;
        *low_maybe_pending = false;
        *closed_maybe_pending = false;
        *sched_vtime = 0;
        *connected_reported = false;
        *stats = Stats::default();
        *self_config = Config { mtu, ..config };
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
        self.now.advance(now);
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
        self.rto.restart();
        self.timers.set(Timer::T1, self.now + self.rto.timeout());
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

    /// Sets the peer's `a=max-message-size` (from its SDP; 0 means "any size").
    pub fn set_remote_max_message_size(&mut self, size: usize) {
        self.config.remote_max_message_size = if size == 0 { usize::MAX } else { size };
    }

    /// The largest message this association can receive: announce it as `a=max-message-size`.
    #[must_use]
    pub fn local_max_message_size(&self) -> usize {
        self.recv.capacity()
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

    /// How the association ended, as soon as it has: before the `ChannelClosed` events of its
    /// channels and the final `Closed` are polled (a user telling a failure from a close it
    /// asked for, per channel).
    #[must_use]
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.closed_reason
    }

    /// Counters and congestion state.
    #[must_use]
    pub fn stats(&self) -> Stats {
        Stats {
            cwnd: self.congestion.window(),
            ssthresh: self.congestion.ssthresh(),
            peer_rwnd: self.peer_rwnd,
            local_rwnd: self.local_rwnd(),
            flight_size: self.flight,
            rto: self.rto.timeout(),
            srtt: self.rto.srtt(),
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

    fn end(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        self.state = State::Closed;
        self.timers.clear_all();
        for i in 0..CHANNELS {
            if self.channels.get(i).is_some_and(|c| c.is_live()) {
                self.mark_closed(i);
            }
        }
        self.closed_pending = Some(reason);
        self.closed_reason = Some(reason);
        debug!("sctp: closed: {:?}", reason);
    }

    /// Handles one SCTP packet (the payload of one DTLS application-data record). Anything
    /// malformed, unauthenticated or out of place is dropped and counted in [`Stats`].
    pub fn handle_packet(&mut self, now: Instant, packet: &[u8]) {
        self.tick(now);
        if self.state == State::Closed {
            return;
        }
        let Ok(view) = Packet::parse(packet) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        // A zero field where we announced Zero Checksum Acceptable is taken without computing
        // the CRC (RFC 9653 §5: the point of the extension is not to spend that CPU).
        let zero_field = packet.get(8..12) == Some(&[0; 4][..]);
        if !(zero_field && self.config.zero_checksum) {
            match wire::check_checksum(packet) {
                wire::Checksum::Valid => {}
                _ => {
                    self.stats.dropped_checksum += 1;
                    return;
                }
            }
        }
        if view.destination_port() != self.config.local_port
            || view.source_port() != self.config.remote_port
        {
            self.stats.dropped_malformed += 1;
            return;
        }
        let tag = view.verification_tag();
        let first = view.chunks().next().and_then(Result::ok);
        let Some(first) = first else {
            self.stats.dropped_malformed += 1;
            return;
        };
        // RFC 9260 §8.5.1: the tag rules depend on the chunk.
        match first.chunk_type {
            ChunkType::INIT => {
                if tag != 0 || view.chunks().count() != 1 {
                    self.stats.dropped_tag += 1;
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
                    self.stats.dropped_tag += 1;
                    return;
                }
            }
            ChunkType::COOKIE_ECHO => {
                // Checked against the cookie's own tag in on_cookie_echo.
            }
            _ => {
                if tag != self.local_tag {
                    self.stats.dropped_tag += 1;
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
                    self.stats.dropped_malformed += 1;
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
                    self.end(CloseReason::PeerAbort);
                    break;
                }
                ChunkType::SHUTDOWN => self.on_shutdown(&chunk),
                ChunkType::SHUTDOWN_ACK => self.on_shutdown_ack(),
                ChunkType::SHUTDOWN_COMPLETE => {
                    if self.state == State::AwaitShutdownComplete {
                        self.end(CloseReason::Shutdown);
                    }
                }
                ChunkType::FORWARD_TSN => self.on_forward_tsn(&chunk),
                ChunkType::RE_CONFIG => self.on_reconfig(&chunk),
                other => {
                    self.stats.dropped_unknown_chunk += 1;
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
}
