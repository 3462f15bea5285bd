//! The four-way handshake (RFC 9260 §5), INIT collisions and peer restarts (§5.2), and the
//! HEARTBEAT answer.
//!
//! ```text
//!   connect(): AwaitInitAck --INIT--> (T1-init)      peer INIT in any state: INIT-ACK with
//!          <--INIT-ACK(cookie)--                     a cookie, no state kept (§5.2.1/5.2.2)
//!   AwaitCookieAck --COOKIE-ECHO--> (T1-cookie)      COOKIE-ECHO: MAC and age checked, then
//!          <--COOKIE-ACK--                           the §5.2.4 table: new, collision (B, C),
//!   Established                                      restart (A, new tags), or duplicate (D)
//!
//!   AwaitShutdownComplete (SHUTDOWN-ACK-SENT): an INIT is discarded, a restart's COOKIE-ECHO
//!   refused; both answered with the SHUTDOWN-ACK again (§9.2, §5.2.4 A)
//! ```

use peerless_base::{ReadError, Reader, Writer, ct_eq, debug};
use peerless_crypto::HmacSha256;

use super::event::CloseReason;
use super::rto::micros;
use super::{Association, COOKIE_BODY, COOKIE_LEN, MAX_ECHO, State, Timer};
use crate::Area;
use crate::recv::TsnTracker;
use crate::send::ChunkState;
use crate::wire::{self, CauseCode, Chunk, Init, ParamType, data_flags};

/// What the INIT we answer told us: the INIT-ACK to send.
#[derive(Clone, Copy, Debug)]
pub(super) struct InitAckReply {
    pub(super) peer_tag: u32,
    pub(super) cookie: [u8; COOKIE_LEN],
    pub(super) local_tag: u32,
    pub(super) local_tsn: u32,
    pub(super) unrecognized: [u8; MAX_ECHO],
    pub(super) unrecognized_len: usize,
}

/// The contents of our state cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct CookieBody {
    pub(super) peer_tag: u32,
    pub(super) local_tag: u32,
    pub(super) peer_tsn: u32,
    pub(super) local_tsn: u32,
    pub(super) peer_rwnd: u32,
    pub(super) caps: u8,
    pub(super) local_tie: u32,
    pub(super) peer_tie: u32,
    pub(super) issued_at: u64,
    pub(super) peer_os: u16,
    pub(super) peer_mis: u16,
}

impl CookieBody {
    pub(super) fn encode(&self) -> [u8; COOKIE_BODY] {
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

    /// `None` only if the layout outgrew [`COOKIE_BODY`] (every read fits otherwise).
    pub(super) fn decode(b: &[u8; COOKIE_BODY]) -> Option<Self> {
        let mut r = Reader::new(b);
        // The fields in their order in the body (a struct literal evaluates in order).
        let mut fields = || -> Result<Self, ReadError> {
            Ok(CookieBody {
                peer_tag: r.u32()?,
                local_tag: r.u32()?,
                peer_tsn: r.u32()?,
                local_tsn: r.u32()?,
                peer_rwnd: r.u32()?,
                caps: {
                    let caps = r.u8()?;
                    r.skip(3)?;
                    caps
                },
                local_tie: r.u32()?,
                peer_tie: r.u32()?,
                issued_at: r.u64()?,
                peer_os: r.u16()?,
                peer_mis: r.u16()?,
            })
        };
        fields().ok()
    }
}

pub(super) fn caps_to_bits(c: wire::Capabilities) -> u8 {
    u8::from(c.forward_tsn) | (u8::from(c.reconfig) << 1) | (u8::from(c.zero_checksum) << 2)
}

pub(super) fn caps_from_bits(b: u8) -> wire::Capabilities {
    wire::Capabilities {
        forward_tsn: b & 1 != 0,
        reconfig: b & 2 != 0,
        zero_checksum: b & 4 != 0,
    }
}

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    pub(super) fn on_init(&mut self, chunk: &Chunk<'_>) {
        let Ok(init) = Init::parse(chunk) else {
            self.stats.dropped_malformed += 1;
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
            State::AwaitShutdownComplete => {
                // §9.2: in SHUTDOWN-ACK-SENT an INIT (the peer lost our SHUTDOWN ACK's answer
                // and started over) is discarded and the SHUTDOWN ACK sent again; the peer,
                // not knowing the association, answers it with SHUTDOWN COMPLETE.
                self.pending.shutdown_ack = true;
                return;
            }
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

    pub(super) fn cookie_mac(&self, body: &[u8]) -> [u8; 32] {
        HmacSha256::mac(&self.cookie_key, &[body])
    }

    pub(super) fn on_init_ack(&mut self, tag: u32, chunk: &Chunk<'_>) {
        if self.state != State::AwaitInitAck || tag != self.local_tag {
            self.stats.dropped_state += 1;
            return;
        }
        let Ok(init) = Init::parse(chunk) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        let Some(cookie) = init.state_cookie() else {
            self.stats.dropped_malformed += 1;
            return;
        };
        let Some(dst) = self.peer_cookie.get_mut(..cookie.len()) else {
            // Longer than we keep: the association cannot be made.
            self.stats.dropped_malformed += 1;
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
        self.timers.set(Timer::T1, self.now + self.rto.timeout());
    }

    /// `streams` is the peer's (OS, MIS) from its INIT or INIT-ACK.
    pub(super) fn set_peer(
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
        self.congestion.set_initial_ssthresh(a_rwnd);
        self.peer_caps = caps;
    }

    /// Returns false when the packet must be dropped (bad cookie).
    pub(super) fn on_cookie_echo(&mut self, tag: u32, chunk: &Chunk<'_>) -> bool {
        let Some((body, stale)) = self.open_cookie(chunk.value) else {
            self.stats.dropped_cookie += 1;
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
            self.stats.dropped_cookie += 1;
            return false;
        }
        if tag != body.local_tag {
            self.stats.dropped_tag += 1;
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
                    self.stats.dropped_cookie += 1;
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
                    if self.state == State::AwaitShutdownComplete {
                        // §5.2.4 A: a restart in SHUTDOWN-ACK-SENT "MUST NOT set up a new
                        // association": the SHUTDOWN ACK again, with an ERROR saying why.
                        self.pending.shutdown_ack = true;
                        self.pending.cookie_while_shutting_down = true;
                        return true;
                    }
                    // Case A: the peer restarted.
                    self.peer_restarted(&body, caps);
                } else if local_match && !peer_match {
                    // Case B: collision resolved late; adopt the peer's tag.
                    self.peer_tag = body.peer_tag;
                    self.pending.cookie_ack = true;
                } else {
                    // Case C (or no match): silently discard.
                    self.stats.dropped_cookie += 1;
                    return false;
                }
            }
        }
        true
    }

    /// The cookie's body if its MAC is ours, and whether it is older than its lifetime.
    pub(super) fn open_cookie(&self, cookie: &[u8]) -> Option<(CookieBody, bool)> {
        if cookie.len() != COOKIE_LEN {
            return None;
        }
        let (body, mac) = cookie.split_at(COOKIE_BODY);
        if !ct_eq(&self.cookie_mac(body), mac) {
            return None;
        }
        let b: &[u8; COOKIE_BODY] = body.try_into().ok()?;
        let body = CookieBody::decode(b)?;
        let age = self.now.as_micros().checked_sub(body.issued_at)?;
        Some((body, age > micros(self.config.cookie_lifetime)))
    }

    pub(super) fn establish_from_cookie(&mut self, body: &CookieBody, caps: wire::Capabilities) {
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

    pub(super) fn establish(&mut self) {
        self.state = State::Established;
        self.timers.clear(Timer::T1);
        self.rto.restart();
        if !self.connected_reported {
            self.connected_reported = true;
            self.connected_pending = true;
        }
        self.close_channels_beyond_peer_streams();
        if !self.peer_caps.reconfig {
            // Closes asked for before we knew the peer cannot reset streams: done locally,
            // as `request_reset` does once the association is up.
            for i in 0..CHANNELS {
                if let Some(c) = self.channels.get_mut(i)
                    && c.is_live()
                    && c.reset_pending
                {
                    c.reset_pending = false;
                    c.out_reset = true;
                    c.in_reset = true;
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
    pub(super) fn close_channels_beyond_peer_streams(&mut self) {
        for i in 0..CHANNELS {
            let Some(&c) = self.channels.get(i) else {
                break;
            };
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

    pub(super) fn peer_restarted(&mut self, body: &CookieBody, caps: wire::Capabilities) {
        self.stats.restarts += 1;
        self.local_tag = body.local_tag;
        self.local_initial_tsn = body.local_tsn;
        // RFC 9260 §5.2.4 action A: as an ABORT followed by a new association. Congestion
        // control starts from its initial values ("MUST be reset"), the RTO estimate from
        // RTO.Initial, the error count from zero, and no timer of the old data is left (a T3
        // with nothing in flight would collapse the new window and back off the new RTO at
        // each expiry, until max_retransmits aborted an idle association).
        self.congestion.reset();
        self.rto.reset();
        self.error_count = 0;
        self.timers.clear(Timer::T3);
        self.timers.clear(Timer::Reconfig);
        self.timers.clear(Timer::DelayedSack);
        self.dup_count = 0;
        self.unacked_packets = 0;
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

    pub(super) fn on_cookie_ack(&mut self) {
        if self.state == State::AwaitCookieAck {
            self.establish();
        }
    }

    pub(super) fn on_t1(&mut self) {
        if !matches!(self.state, State::AwaitInitAck | State::AwaitCookieAck) {
            return;
        }
        self.init_retransmits += 1;
        if self.init_retransmits > self.config.max_init_retransmits {
            self.end(CloseReason::InitTimeout);
            return;
        }
        self.rto.back_off();
        if self.state == State::AwaitInitAck {
            self.pending.init = true;
        } else {
            self.pending.cookie_echo = true;
        }
        self.timers.set(Timer::T1, self.now + self.rto.timeout());
    }

    pub(super) fn on_heartbeat(&mut self, chunk: &Chunk<'_>) {
        // Longer heartbeat information than we keep is not answered (the peer's HEARTBEAT
        // times out; DTLS and ICE watch the path anyway).
        if let Some(dst) = self.heartbeat_echo.get_mut(..chunk.value.len()) {
            dst.copy_from_slice(chunk.value);
            self.heartbeat_echo_len = Some(chunk.value.len());
        }
    }

    pub(super) fn report_unrecognized_chunk(&mut self, chunk: &Chunk<'_>) {
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
}

pub(super) fn is_known_init_param(t: ParamType) -> bool {
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
