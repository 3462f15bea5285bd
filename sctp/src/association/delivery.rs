//! Receiving: DATA into the reassembly store, DCEP acted on, FORWARD-TSN skips, and
//! messages handed out in order by `poll_event`.
//!
//! ```text
//!   DATA --> tracker (dups, gaps) --> reassembly records --> (DCEP? OPEN: channel, ACK)
//!   FORWARD-TSN --> cumulative TSN moves, skipped SSNs let later messages through
//!   poll_event: Connected, BufferedAmountLow, ChannelOpen / Message (borrowed until the next
//!               call), ChannelClosed, Closed; stalled or orphaned storage freed
//! ```

use peerless_base::{Writer, debug};

use super::channels::{Channel, ChannelState, FREE_CHANNEL};
use super::config::{ChannelOptions, DtlsRole, Reliability, StreamId};
use super::event::{CloseReason, Event, MessageKind};
use super::{Association, State};
use crate::Area;
use crate::dcep;
use crate::recv::{Arrival, PROCESSED_FLAG as PROCESSED, Record, ssn_lt, tsn_le, tsn_lt};
use crate::send::{Outgoing, Policy};
use crate::wire::{Chunk, Data, ForwardTsn, Ppid, data_flags};

/// The fields of a DATA_CHANNEL_OPEN the association acts on (the label and protocol are
/// read again from the store for the ChannelOpen event).
#[derive(Clone, Copy, Debug)]
pub(super) struct DcepOpen {
    pub(super) channel_type: dcep::ChannelType,
    pub(super) priority: u16,
    pub(super) reliability: u32,
    pub(super) label_len: usize,
    pub(super) protocol_len: usize,
}

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
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

    /// The next event. Messages borrow the receive storage until the next call.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.release();
        if self.connected_pending {
            self.connected_pending = false;
            return Some(Event::Connected);
        }
        if self.low_maybe_pending {
            if let Some(c) = self.channels.iter_mut().find(|c| c.low_pending) {
                c.low_pending = false;
                return Some(Event::BufferedAmountLow(StreamId(c.id)));
            }
            self.low_maybe_pending = false;
        }
        if let Some(c) = self.channels.iter_mut().find(|c| c.closing_pending) {
            c.closing_pending = false;
            return Some(Event::ChannelClosing(StreamId(c.id)));
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
                && let Some(c) = channel.and_then(|i| self.channels.get_mut(i))
            {
                c.next_in_ssn = c.next_in_ssn.wrapping_add(1);
            }
            let Some(c) = channel.and_then(|i| self.channels.get(i)) else {
                // No channel for this stream: nothing to deliver it to (a refused DCEP OPEN
                // was counted when it was refused).
                if !processed {
                    self.stats.dropped_channel += 1;
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
                    Some(c.options)
                }
                Ppid::STRING | Ppid::BINARY | Ppid::STRING_EMPTY | Ppid::BINARY_EMPTY => None,
                _ => {
                    if Ppid(first.ppid) != Ppid::DCEP {
                        self.stats.dropped_channel += 1;
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
                stream: StreamId(first.stream),
                label: open.label,
                protocol: open.protocol,
                options,
            });
        }
        self.stats.messages_received += 1;
        let ppid = Ppid(first.ppid);
        let kind = if matches!(ppid, Ppid::BINARY | Ppid::BINARY_EMPTY) {
            MessageKind::Binary
        } else {
            MessageKind::Text
        };
        let empty = matches!(ppid, Ppid::STRING_EMPTY | Ppid::BINARY_EMPTY);
        let data = self.recv.message(found);
        Some(Event::Message {
            stream: StreamId(first.stream),
            kind,
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
    ///   `dropped_channel`, as libwebrtc's DataChannelController drops data for an unknown sid;
    /// - ordered on a channel whose expected SSN it does not carry (the peer skipped SSNs, or a
    ///   negotiated channel was created after earlier messages were discarded): delivery
    ///   resumes from its SSN, as the earlier ones can never arrive.
    ///
    /// Returns whether something changed (a message may now be deliverable).
    pub(super) fn unblock_stalled(&mut self) -> bool {
        let cum = self.tracker.cumulative;
        let mut i = 0;
        while let Some(&r) = self.recv.records().get(i) {
            // Every case below needs a record at or below the cumulative TSN; the records are
            // in TSN order, so those held above a hole (under loss, most of them) are not read.
            if tsn_lt(cum, r.tsn) {
                break;
            }
            let Some(found) = self.recv.complete_at(i) else {
                if self.is_orphan(i) {
                    // Fragments whose first or last piece is gone for good (the TSN next to
                    // them arrived and is not theirs: it was discarded, e.g. the start of a
                    // refused DATA_CHANNEL_OPEN): they can never form a message.
                    self.stats.dropped_malformed += 1;
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
            let Some(expected) = self.channel(r.stream).map(|c| c.next_in_ssn) else {
                if r.flags & PROCESSED == 0 {
                    self.stats.dropped_channel += 1;
                }
                self.recv.remove(found.first, found.last);
                return true;
            };
            // The first message of this stream in the store (TSN order) decides; the scan for
            // an earlier one runs last, as the other conditions rarely hold.
            if !r.is_unordered()
                && r.flags & PROCESSED == 0
                && r.ssn != expected
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
                    r.stream, r.ssn, expected
                );
                if let Some(c) = self.channel_mut(r.stream) {
                    c.next_in_ssn = r.ssn;
                }
                return true;
            }
            i = found.last + 1;
        }
        false
    }

    /// Whether the incomplete record `i` can never be completed: its neighbouring TSNs have
    /// arrived (they are at or below the cumulative TSN) and do not continue its message.
    pub(super) fn is_orphan(&self, i: usize) -> bool {
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

    pub(super) fn pop_closed_event(&mut self) -> Option<Event<'_>> {
        if self.closed_maybe_pending {
            let base = self.next_closed_seq;
            let next = self
                .channels
                .iter_mut()
                .filter(|c| c.state == ChannelState::Closed)
                .min_by_key(|c| c.closed_seq.wrapping_sub(base));
            if let Some(c) = next {
                let id = c.id;
                *c = FREE_CHANNEL;
                return Some(Event::ChannelClosed(StreamId(id)));
            }
            self.closed_maybe_pending = false;
        }
        self.closed_pending.take().map(Event::Closed)
    }

    pub(super) fn on_data(&mut self, chunk: &Chunk<'_>) {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::AwaitShutdownAck
        ) {
            self.stats.dropped_state += 1;
            return;
        }
        let Ok(data) = Data::parse(chunk) else {
            self.stats.dropped_malformed += 1;
            // RFC 9260 §6.2: a DATA chunk without user data is answered with "No User Data".
            return;
        };
        match self.tracker.classify(data.tsn) {
            Arrival::Duplicate => {
                self.stats.duplicate_chunks += 1;
                if let Some(slot) = self.dups.get_mut(self.dup_count) {
                    *slot = data.tsn;
                    self.dup_count += 1;
                }
                self.pending.sack = true;
                return;
            }
            Arrival::OutOfWindow => {
                self.stats.dropped_no_room += 1;
                self.pending.sack = true;
                return;
            }
            Arrival::New => {}
        }
        if data.stream >= self.in_streams {
            // RFC 9260 §6.5: a stream the peer may not use: acknowledged and discarded.
            self.stats.dropped_channel += 1;
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
                self.end(CloseReason::MessageTooLarge);
                return;
            }
        }
        if !stored {
            self.stats.dropped_no_room += 1;
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

    pub(super) fn nothing_deliverable(&self) -> bool {
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
    pub(super) fn process_dcep(&mut self) {
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
            if let Some(c) = channel.and_then(|i| self.channels.get(i))
                && !r.is_unordered()
                && r.ssn != c.next_in_ssn
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
                    if let Some(c) = channel.and_then(|i| self.channels.get_mut(i)) {
                        c.acked = true;
                        if !r.is_unordered() {
                            c.next_in_ssn = c.next_in_ssn.wrapping_add(1);
                        }
                    }
                    false
                }
                None => {
                    self.stats.dropped_channel += 1;
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
    pub(super) fn on_dcep_open(
        &mut self,
        stream: u16,
        ssn: u16,
        open: &DcepOpen,
        unordered: bool,
    ) -> bool {
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
            .iter_mut()
            .find(|c| c.state == ChannelState::Free);
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
        *slot = Channel {
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
        if self.send.push(&out, max).is_ok()
            && let Some(c) = self.channel_mut(stream)
        {
            c.next_out_ssn = 1;
        }
        debug!("sctp: channel {} opened by the peer", stream);
        true
    }

    /// Whether the start of a DATA_CHANNEL_OPEN announces a label or protocol longer than
    /// `max_label` (RFC 8832 §5.1: the lengths are at offsets 8 and 10).
    pub(super) fn open_too_long(&self, first_piece: &[u8]) -> bool {
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
    pub(super) fn refuse_stream(&mut self, stream: u16) {
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
            None => self.stats.dropped_refused_reset += 1,
        }
    }

    pub(super) fn on_forward_tsn(&mut self, chunk: &Chunk<'_>) {
        if !self.is_established_like() {
            return;
        }
        let Ok(fwd) = ForwardTsn::parse(chunk) else {
            self.stats.dropped_malformed += 1;
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
            let Some(expected) = self.channel(stream).map(|c| c.next_in_ssn) else {
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
                    && !ssn_lt(r.ssn, expected)
                    && tsn_le(r.tsn, new_cum)
                {
                    self.recv.set_flags(k, r.flags | PROCESSED);
                }
                k += 1;
            }
            let next = ssn.wrapping_add(1);
            if let Some(c) = self.channel_mut(stream)
                && ssn_lt(c.next_in_ssn, next)
            {
                c.next_in_ssn = next;
            }
        }
    }
}
