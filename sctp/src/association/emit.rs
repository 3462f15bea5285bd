//! Building packets: control chunks first, then SACK, FORWARD-TSN, RE-CONFIG, and as much
//! DATA (retransmissions first) as the windows allow.
//!
//! ```text
//!   poll_transmit --> [INIT | INIT-ACK | COOKIE-ECHO | COOKIE-ACK | HEARTBEAT-ACK | ERROR]
//!                     [SHUTDOWN* | ABORT] [SACK] [FORWARD-TSN] [RE-CONFIG]
//!                     [DATA: Retransmit chunks, then Unsent, within cwnd and peer rwnd]
//!                     --> CRC32c (or zero checksum when both sides agreed, RFC 9653)
//! ```

use peerless_base::{BufferTooSmall, Writer, trace};

use super::event::CloseReason;
use super::{Association, MAX_GAPS, MAX_RESET_STREAMS, State, Timer};
use crate::Area;
use crate::recv::{ssn_lt, tsn_le, tsn_lt};
use crate::send::{ChunkState, Meta};
use crate::wire::{
    self, CauseCode, ChunkType, Data, ForwardTsn, InitFields, Ppid, ReconfigParam, Sack, data_flags,
};

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    // poll_transmit
    /// The next SCTP packet to send (at most `Config::mtu` bytes; the buffer must hold that):
    /// just its bytes, since the association runs on one path (DTLS) that carries them.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<&'b [u8]>, BufferTooSmall> {
        self.release();
        let mtu = self.config.mtu;
        let Some(out) = buf.get_mut(..mtu) else {
            if self.has_output() {
                return Err(BufferTooSmall { needed: mtu });
            }
            return Ok(None);
        };
        let n = self.build_packet(out);
        let Some(packet) = buf.get(..n).filter(|p| !p.is_empty()) else {
            return Ok(None);
        };
        self.stats.packets_sent += 1;
        Ok(Some(packet))
    }

    /// Whether DATA (new or retransmitted) waits that the windows allow out now: what a pacer
    /// sharing the path with other traffic weighs ([`poll_transmit`](Self::poll_transmit)
    /// sends it whenever called).
    ///
    /// It says exactly what the next [`poll_transmit`](Self::poll_transmit) would do about
    /// DATA (the same window checks as `emit_data`), so a pacer that grants a send on it is
    /// never left waiting on a packet that does not come.
    #[must_use]
    pub fn data_waiting(&self) -> bool {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        ) {
            return false;
        }
        let window = self.congestion.window();
        if self.retransmit_count > 0 {
            let now = self.now.as_micros();
            let mut at = self.send.head();
            while at < self.send.next_unsent {
                let Some((meta, next)) = self.send.entry(at) else {
                    return false;
                };
                if meta.state == ChunkState::Retransmit {
                    let expired = self.peer_caps.forward_tsn
                        && (meta.retransmits >= meta.max_retransmits || now >= meta.expires_at);
                    return expired
                        || self.fast_retransmit_budget
                        || self.flight == 0
                        || self.flight + usize::from(meta.len) <= window;
                }
                at = next;
            }
            return false;
        }
        let Some((meta, _)) = self.send.entry(self.send.next_unsent) else {
            return false;
        };
        self.flight == 0 || (self.flight < window && usize::from(meta.len) <= self.peer_rwnd)
    }

    /// Whether a control chunk (handshake, SACK, HEARTBEAT-ACK, SHUTDOWN, ABORT, RE-CONFIG ...)
    /// waits: a pacer lets these out at once.
    #[must_use]
    pub fn control_waiting(&self) -> bool {
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
    }

    pub(super) fn has_output(&self) -> bool {
        self.control_waiting()
            || (self.is_established_like()
                && (self.retransmit_count > 0 || self.send.next_unsent < self.send.tail()))
    }

    pub(super) fn build_packet(&mut self, out: &mut [u8]) -> usize {
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
        if self.pending.cookie_while_shutting_down {
            self.pending.cookie_while_shutting_down = false;
            wire::emit_chunk(&mut w, ChunkType::ERROR, 0, |w| {
                w.u16(CauseCode::COOKIE_RECEIVED_WHILE_SHUTTING_DOWN.0);
                w.u16(4);
            });
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

    pub(super) fn has_data_to_send(&self) -> bool {
        self.retransmit_count > 0
            || (self.send.next_unsent < self.send.tail()
                && (self.flight < self.congestion.window())
                && (self.peer_rwnd > 0 || self.flight == 0))
    }

    pub(super) fn finish_bundle(&mut self, w: Writer<'_>, force_crc: bool) -> usize {
        if w.position() <= wire::COMMON_HEADER_LEN {
            return 0;
        }
        let zero = !force_crc && self.peer_caps.zero_checksum && self.is_established_like();
        self.seal(w, zero)
    }

    pub(super) fn seal(&self, mut w: Writer<'_>, zero: bool) -> usize {
        if w.is_overflowed() {
            return 0;
        }
        let n = w.position();
        wire::seal(w.written_mut(), zero);
        trace!("sctp: sending {} bytes", n);
        n
    }

    pub(super) fn emit_sack(&mut self, w: &mut Writer<'_>) {
        let mut gaps = [(0u16, 0u16); MAX_GAPS];
        // Leave room for at least the SACK itself and keep the packet within the MTU.
        let room = w.remaining().saturating_sub(16 + 4 * self.dup_count) / 4;
        let limit = room.min(MAX_GAPS);
        let n = (self.tracker).gap_blocks(gaps.get_mut(..limit).unwrap_or_default());
        let rwnd = self.local_rwnd();
        self.last_advertised_rwnd = rwnd;
        Sack::emit(
            w,
            self.tracker.cumulative,
            rwnd as u32,
            gaps.get(..n).unwrap_or_default(),
            self.dups.get(..self.dup_count).unwrap_or_default(),
        );
        self.dup_count = 0;
        self.unacked_packets = 0;
        self.pending.sack = false;
        self.timers.clear(Timer::DelayedSack);
    }

    pub(super) fn emit_forward_tsn(&mut self, w: &mut Writer<'_>) {
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
                let named = (streams.get_mut(..n).unwrap_or_default())
                    .iter_mut()
                    .find(|(s, _)| *s == meta.stream);
                match named {
                    Some(entry) => {
                        if ssn_lt(entry.1, meta.ssn) {
                            entry.1 = meta.ssn;
                        }
                    }
                    None => {
                        // Too many streams for one chunk: stop here; the rest goes next time.
                        let Some(free) = streams.get_mut(n) else {
                            break;
                        };
                        *free = (meta.stream, meta.ssn);
                        n += 1;
                    }
                }
            }
            new_cum = meta.tsn;
            at = next;
        }
        if tsn_lt(self.last_cum_ack, new_cum) {
            ForwardTsn::emit(w, new_cum, streams.get(..n).unwrap_or_default());
            self.timers
                .set_earliest(Timer::T3, self.now + self.rto.timeout());
        }
    }

    pub(super) fn emit_reconfig(&mut self, w: &mut Writer<'_>) {
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
                .set(Timer::Reconfig, self.now + self.rto.timeout());
        }
    }

    /// Fills the rest of the packet with DATA: retransmissions first, then new chunks, within
    /// the congestion and receive windows.
    pub(super) fn emit_data(&mut self, w: &mut Writer<'_>) {
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
                    if !fast && self.flight > 0 && self.flight + len > self.congestion.window() {
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
                self.schedule_next_message();
                let at = self.send.next_unsent;
                let Some((mut meta, next)) = self.send.entry(at) else {
                    // Everything is out: the window is not what limits us.
                    self.congestion.set_window_limited(false);
                    break;
                };
                if meta.state == ChunkState::Abandoned {
                    self.send.mark_sent_cursor(at, next);
                    continue;
                }
                let len = usize::from(meta.len);
                if self.flight >= self.congestion.window() && self.flight > 0 {
                    self.congestion.set_window_limited(true);
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
                self.charge(meta.stream, len);
                sent_any = true;
                if self.peer_rwnd == 0 {
                    break;
                }
            }
        }
        if sent_any && !self.timers.is_armed(Timer::T3) {
            self.timers.set(Timer::T3, self.now + self.rto.timeout());
        }
    }

    pub(super) fn write_data(&self, w: &mut Writer<'_>, at: usize, meta: &Meta) {
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
