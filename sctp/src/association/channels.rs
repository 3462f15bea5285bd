//! Data channels on the association: opening (DCEP OPEN queued, or negotiated), sending,
//! buffered amounts and the start of a close.
//!
//! ```text
//!   open_channel() --> Open --DATA_CHANNEL_OPEN (ordered until ACKed)-->
//!   send()         --> DATA on the channel's stream (PPID string/binary, empty PPIDs)
//!   close_channel() -> Closing --our outgoing reset (reconfig.rs)--> waits for the peer's
//!                      reset of its side --> Closed --ChannelClosed polled--> Free
//!   the peer's outgoing reset first: Open -> Closing (ChannelClosing) --our reset--> Closed
//! ```

use peerless_base::{Writer, debug};

use super::config::{ChannelOptions, DtlsRole, Reliability, StreamId};
use super::event::{ChannelError, MessageKind, SendError};
use super::{Association, State};
use crate::Area;
use crate::dcep;
use crate::send::{Outgoing, Policy, QueueError};
use crate::wire::Ppid;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ChannelState {
    Free,
    Open,
    /// Outgoing reset requested or done; waiting for both directions.
    Closing,
    /// Closed; the slot is held until `poll_event` reports `ChannelClosed` (so the event can
    /// never be lost to a full queue: each slot carries its own).
    Closed,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Channel {
    pub(super) id: u16,
    pub(super) state: ChannelState,
    pub(super) options: ChannelOptions,
    /// DCEP ACK received (or not needed): unordered sending allowed.
    pub(super) acked: bool,
    pub(super) next_out_ssn: u16,
    pub(super) next_in_ssn: u16,
    pub(super) buffered: usize,
    pub(super) low_threshold: usize,
    /// Our outgoing stream has been reset (response received).
    pub(super) out_reset: bool,
    /// Our outgoing reset is queued or in flight.
    pub(super) out_reset_requested: bool,
    /// The peer reset its outgoing stream (our incoming).
    pub(super) in_reset: bool,
    /// Our outgoing reset waits for the next RE-CONFIG request.
    pub(super) reset_pending: bool,
    /// Our outgoing reset is in the RE-CONFIG request in flight.
    pub(super) reset_in_flight: bool,
    /// The peer's outgoing reset of this stream waits for its last TSN.
    pub(super) in_reset_deferred: bool,
    /// `BufferedAmountLow` to report.
    pub(super) low_pending: bool,
    /// `ChannelClosing` to report: the peer reset its outgoing stream first (RFC 8831 §6.7),
    /// so the application learns the channel is closing before it is closed.
    pub(super) closing_pending: bool,
    /// Order of `ChannelClosed` events (state `Closed`).
    pub(super) closed_seq: u32,
    /// Virtual time of the channel's sending share (schedule.rs).
    pub(super) vtime: u64,
}

pub(super) const FREE_CHANNEL: Channel = Channel {
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
    closing_pending: false,
    closed_seq: 0,
    vtime: 0,
};

impl Channel {
    /// Open or closing: the stream id is in use.
    pub(super) fn is_live(&self) -> bool {
        matches!(self.state, ChannelState::Open | ChannelState::Closing)
    }
}

impl<S: Area, const CHUNKS: usize, const CHANNELS: usize> Association<S, CHUNKS, CHANNELS> {
    /// Opens a data channel. With `negotiated: None` the id is the lowest free one of our
    /// parity and a DATA_CHANNEL_OPEN is queued; with `Some(id)` no DCEP is sent and the peer
    /// must open the same id. May be called before the association is up.
    pub fn open_channel(
        &mut self,
        label: &str,
        protocol: &str,
        options: ChannelOptions,
    ) -> Result<StreamId, ChannelError> {
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
            Some(StreamId(id)) => {
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
        Ok(StreamId(id))
    }

    pub(super) fn channel_index(&self, id: u16) -> Option<usize> {
        self.channels.iter().position(|c| c.is_live() && c.id == id)
    }

    /// The live channel on stream `id`.
    pub(super) fn channel(&self, id: u16) -> Option<&Channel> {
        self.channels.iter().find(|c| c.is_live() && c.id == id)
    }

    /// The live channel on stream `id`, to change.
    pub(super) fn channel_mut(&mut self, id: u16) -> Option<&mut Channel> {
        self.channels.iter_mut().find(|c| c.is_live() && c.id == id)
    }

    /// Queues a message on a channel. Empty messages are sent as the RFC 8831 empty PPIDs.
    ///
    /// A `MaxLifetime` channel counts the lifetime from the association's latest time (the
    /// last `now` it was given), so call it right after a `handle_*` call, as the drain rule
    /// does.
    pub fn send(
        &mut self,
        stream: StreamId,
        kind: MessageKind,
        data: &[u8],
    ) -> Result<(), SendError> {
        let channel = stream.0;
        self.release();
        if matches!(self.state, State::Closed) || self.is_shutting_down() {
            return Err(SendError::NotConnected);
        }
        let index = self
            .channel_index(channel)
            .ok_or(SendError::UnknownChannel)?;
        let c = self
            .channels
            .get(index)
            .copied()
            .ok_or(SendError::UnknownChannel)?;
        if c.state != ChannelState::Open {
            return Err(SendError::UnknownChannel);
        }
        if data.len() > self.config.remote_max_message_size {
            return Err(SendError::TooLarge);
        }
        let (ppid, payload): (Ppid, &[u8]) = match (kind, data.is_empty()) {
            (MessageKind::Binary, false) => (Ppid::BINARY, data),
            (MessageKind::Text, false) => (Ppid::STRING, data),
            (MessageKind::Binary, true) => (Ppid::BINARY_EMPTY, &[0]),
            (MessageKind::Text, true) => (Ppid::STRING_EMPTY, &[0]),
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
        if let Some(c) = self.channels.get_mut(index) {
            if ordered {
                c.next_out_ssn = c.next_out_ssn.wrapping_add(1);
            }
            c.buffered += data.len();
        }
        Ok(())
    }

    /// Bytes queued on `stream` and not yet sent (the browser's `bufferedAmount`).
    #[must_use]
    pub fn buffered_amount(&self, stream: StreamId) -> usize {
        self.channel_index(stream.0)
            .and_then(|i| self.channels.get(i))
            .map_or(0, |c| c.buffered)
    }

    /// Sets the threshold at or below which [`Event::BufferedAmountLow`](crate::Event::BufferedAmountLow) fires.
    pub fn set_buffered_amount_low_threshold(&mut self, stream: StreamId, threshold: usize) {
        if let Some(c) = self.channel_mut(stream.0) {
            c.low_threshold = threshold;
        }
    }

    /// Closes a channel: resets our outgoing stream (RFC 6525); the peer resets its own in
    /// answer and [`Event::ChannelClosed`](crate::Event::ChannelClosed) follows.
    pub fn close_channel(&mut self, stream: StreamId) {
        let channel = stream.0;
        self.release();
        let Some(c) = self.channel_mut(channel) else {
            return;
        };
        if c.state != ChannelState::Open {
            return;
        }
        c.state = ChannelState::Closing;
        self.request_reset(channel);
    }

    pub(super) fn request_reset(&mut self, stream: u16) {
        let Some(i) = self.channel_index(stream) else {
            return;
        };
        let closes_locally = !self.peer_caps.reconfig && self.is_established_like();
        let request_free = self.reset_in_flight.is_none();
        let Some(c) = self.channels.get_mut(i) else {
            return;
        };
        if c.out_reset_requested {
            return;
        }
        if closes_locally {
            // The peer cannot reset streams: the channel closes locally.
            c.out_reset = true;
            c.in_reset = true;
            self.finish_close(i);
            return;
        }
        // RFC 6525 §5.1.1: one request in flight at a time; the stream waits for the next
        // one (a flag per channel, so no number of closes can overflow a queue).
        c.out_reset_requested = true;
        c.reset_pending = true;
        self.pending.reconfig_request |= request_free;
    }

    pub(super) fn finish_close(&mut self, i: usize) {
        if (self.channels.get(i)).is_some_and(|c| c.is_live() && c.out_reset && c.in_reset) {
            self.mark_closed(i);
        }
    }

    /// Ends the channel in slot `i`; the slot is freed when `ChannelClosed` is reported.
    pub(super) fn mark_closed(&mut self, i: usize) {
        let Some(c) = self.channels.get_mut(i) else {
            return;
        };
        *c = Channel {
            id: c.id,
            state: ChannelState::Closed,
            low_pending: c.low_pending,
            closing_pending: c.closing_pending,
            closed_seq: self.next_closed_seq,
            ..FREE_CHANNEL
        };
        self.next_closed_seq = self.next_closed_seq.wrapping_add(1);
        self.closed_maybe_pending = true;
    }

    pub(super) fn unbuffer(&mut self, stream: u16, len: usize) {
        if let Some(c) = self.channel_mut(stream) {
            let before = c.buffered;
            c.buffered = c.buffered.saturating_sub(len);
            if before > c.low_threshold && c.buffered <= c.low_threshold {
                c.low_pending = true;
                self.low_maybe_pending = true;
            }
        }
    }
}

pub(super) fn dcep_type(options: &ChannelOptions) -> (dcep::ChannelType, u32) {
    let unordered = if options.ordered { 0 } else { 0x80 };
    match options.reliability {
        Reliability::Reliable => (dcep::ChannelType(unordered), 0),
        Reliability::MaxRetransmits(n) => (dcep::ChannelType(unordered | 1), u32::from(n)),
        Reliability::MaxLifetime(ms) => (dcep::ChannelType(unordered | 2), ms),
    }
}
