//! Data channels: the Peer's table (a slot per channel, what it still has to announce) and
//! the `RTCDataChannel` commands, and SCTP's events turned into channel events.

use super::Area;
use super::*;

/// A data channel's life in the Peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ChannelState {
    Free,
    /// Created before the SCTP association exists (the stream id needs the DTLS role).
    AwaitAssociation,
    /// Registered with SCTP; `open` fires when the association is up.
    AwaitSctp,
    Open,
    Closing,
}

#[derive(Clone, Copy, Debug)]
pub(super) struct Channel {
    pub(super) state: ChannelState,
    pub(super) stream: Option<u16>,
    pub(super) label: Text<MAX_LABEL>,
    pub(super) protocol: Text<MAX_LABEL>,
    pub(super) options: ChannelOptions,
    pub(super) remote: bool,
    pub(super) low_threshold: usize,
    pub(super) stats: ChannelStats,
    /// `ChannelOpen` is due to the host (the slot is in use until it is handed out).
    pub(super) announce_open: bool,
    /// `ChannelClosed` is due to the host; the slot is freed when it is handed out.
    pub(super) announce_close: bool,
    /// `ChannelError` is due before the close: the association failed under the channel.
    pub(super) announce_error: Option<sctp::CloseReason>,
}

pub(super) const FREE: Channel = Channel {
    state: ChannelState::Free,
    stream: None,
    label: Text::new(),
    protocol: Text::new(),
    options: ChannelOptions {
        ordered: true,
        reliability: Reliability::Reliable,
        priority: 256,
        negotiated: None,
    },
    remote: false,
    low_threshold: 0,
    stats: ChannelStats {
        messages_sent: 0,
        messages_received: 0,
        bytes_sent: 0,
        bytes_received: 0,
    },
    announce_open: false,
    announce_close: false,
    announce_error: None,
};

impl<
    S: Area,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
    const TRANSCEIVERS: usize,
> Peer<S, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES, TRANSCEIVERS>
{
    // -----------------------------------------------------------------------------------------
    // Data channels
    // -----------------------------------------------------------------------------------------

    /// Creates a data channel (`createDataChannel`). With `negotiated: None` it is announced
    /// in band (DCEP) once the association is up; with `Some(id)` the peer must create the
    /// same id. [`Event::ChannelOpen`] follows when it can carry messages.
    pub fn create_data_channel(
        &mut self,
        label: &str,
        init: ChannelInit<'_>,
    ) -> Result<ChannelId, ChannelError> {
        if self.closed {
            return Err(ChannelError::Closed);
        }
        let label_t = Text::copy_from(label).ok_or(ChannelError::LabelTooLong)?;
        let protocol_t = Text::copy_from(init.protocol).ok_or(ChannelError::LabelTooLong)?;
        let slot = self
            .channels
            .iter()
            .position(|c| c.state == ChannelState::Free)
            .ok_or(ChannelError::TooManyChannels)?;
        let mut ch = Channel {
            state: ChannelState::AwaitAssociation,
            label: label_t,
            protocol: protocol_t,
            options: init.options,
            ..FREE
        };
        if let Some(assoc) = self.transport.sctp() {
            let id = assoc
                .open_channel(label, init.protocol, init.options)
                .map_err(ChannelError::Sctp)?;
            ch.stream = Some(id.0);
            ch.state = ChannelState::AwaitSctp;
        }
        if let Some(c) = self.channels.get_mut(slot) {
            *c = ch;
        }
        if self.transport.running().is_some_and(|r| r.sctp_established)
            && ch.state == ChannelState::AwaitSctp
        {
            self.open_local_channel(slot);
        }
        self.update_negotiation_needed(false);
        Ok(ChannelId(slot as u16))
    }

    pub(super) fn open_local_channel(&mut self, slot: usize) {
        if let Some(c) = self.channels.get_mut(slot) {
            c.state = ChannelState::Open;
            c.announce_open = true;
            self.stats.channels_opened += 1;
        }
    }

    /// Sends a message (`send`): text (UTF-8 by convention; nothing checks it, as on the wire)
    /// or binary.
    pub fn send(
        &mut self,
        channel: ChannelId,
        kind: MessageKind,
        data: &[u8],
    ) -> Result<(), SendError> {
        let slot = usize::from(channel.0);
        let c = self
            .channels
            .get(slot)
            .filter(|c| c.state != ChannelState::Free)
            .ok_or(SendError::UnknownChannel)?;
        let (ChannelState::Open, Some(stream)) = (c.state, c.stream) else {
            return Err(SendError::NotOpen);
        };
        let assoc = self.transport.sctp().ok_or(SendError::NotOpen)?;
        assoc
            .send(StreamId(stream), kind, data)
            .map_err(SendError::Sctp)?;
        if let Some(c) = self.channels.get_mut(slot) {
            c.stats.messages_sent += 1;
            c.stats.bytes_sent += data.len() as u64;
        }
        self.stats.messages_sent += 1;
        Ok(())
    }

    /// Sends a text message.
    pub fn send_text(&mut self, channel: ChannelId, text: &str) -> Result<(), SendError> {
        self.send(channel, MessageKind::Text, text.as_bytes())
    }

    /// Sends a binary message.
    pub fn send_binary(&mut self, channel: ChannelId, data: &[u8]) -> Result<(), SendError> {
        self.send(channel, MessageKind::Binary, data)
    }

    /// Bytes queued on the channel and not yet sent (`bufferedAmount`).
    #[must_use]
    pub fn buffered_amount(&self, channel: ChannelId) -> usize {
        match (
            self.channel_slot(channel).and_then(|c| c.stream),
            self.transport.parts(),
        ) {
            (Some(stream), Some((sctp, _))) => sctp.buffered_amount(StreamId(stream)),
            _ => 0,
        }
    }

    /// Sets `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, channel: ChannelId, threshold: usize) {
        let Some(c) = self
            .channels
            .get_mut(usize::from(channel.0))
            .filter(|c| c.state != ChannelState::Free)
        else {
            return;
        };
        c.low_threshold = threshold;
        if let (Some(stream), Some(a)) = (c.stream, self.transport.sctp()) {
            a.set_buffered_amount_low_threshold(StreamId(stream), threshold);
        }
    }

    /// Closes a channel (`close`): its stream is reset; [`Event::ChannelClosed`] follows.
    pub fn close_channel(&mut self, channel: ChannelId) -> Result<(), ChannelError> {
        let slot = usize::from(channel.0);
        let c = self
            .channels
            .get_mut(slot)
            .filter(|c| c.state != ChannelState::Free)
            .ok_or(ChannelError::UnknownChannel)?;
        match (c.stream, self.transport.sctp()) {
            (Some(stream), Some(a)) if c.state != ChannelState::Closing => {
                c.state = ChannelState::Closing;
                a.close_channel(StreamId(stream));
            }
            (None, _) => {
                // Never reached SCTP: it closes at once.
                c.state = ChannelState::Closing;
                c.announce_close = true;
            }
            _ => {}
        }
        Ok(())
    }

    /// One SCTP event as a Peer event.
    ///
    /// The Peer's channel table mirrors the association's (same size; SCTP refuses what does
    /// not fit, labels longer than [`MAX_LABEL`] included, and frees its entry only through a
    /// `ChannelClosed` that reaches this function before any later open), and every pending
    /// announcement above is handed out before SCTP is polled, so a remote channel always finds
    /// a free slot and a message always its channel. Should that ever break, the stream is
    /// reset and [`Event::ChannelRefused`] says so: nothing is reported under a made-up id.
    pub(super) fn poll_sctp_event(&mut self) -> Option<Event<'_>> {
        let (sctp, run) = self.transport.parts_mut()?;
        // Read before polling: the event borrows the association until it is handed out.
        let failure = sctp.close_reason().filter(|r| {
            !matches!(
                r,
                sctp::CloseReason::Shutdown | sctp::CloseReason::LocalAbort
            )
        });
        let ev = sctp.poll_event()?;
        let channels = &mut self.channels;
        let slot_of = |channels: &[Channel], stream: u16| {
            channels
                .iter()
                .position(|c| c.state != ChannelState::Free && c.stream == Some(stream))
        };
        Some(match ev {
            sctp::Event::Connected => {
                run.sctp_established = true;
                for c in channels.iter_mut() {
                    if c.state == ChannelState::AwaitSctp {
                        c.state = ChannelState::Open;
                        c.announce_open = true;
                        self.stats.channels_opened += 1;
                    }
                }
                Event::SctpConnected
            }
            sctp::Event::ChannelOpen {
                stream: StreamId(id),
                label,
                protocol,
                options,
            } => {
                let slot = channels.iter().position(|c| c.state == ChannelState::Free);
                let texts = Text::copy_from(label).zip(Text::copy_from(protocol));
                let (Some(slot), Some((label_t, protocol_t))) = (slot, texts) else {
                    self.refused_stream = Some(id);
                    self.stats.refused_channels += 1;
                    return Some(Event::ChannelRefused { stream: id });
                };
                if let Some(c) = channels.get_mut(slot) {
                    *c = Channel {
                        state: ChannelState::Open,
                        stream: Some(id),
                        label: label_t,
                        protocol: protocol_t,
                        options,
                        remote: true,
                        ..FREE
                    };
                }
                self.stats.channels_opened += 1;
                Event::ChannelOpen {
                    channel: ChannelId(slot as u16),
                    label,
                    protocol,
                    options,
                    remote: true,
                }
            }
            sctp::Event::Message {
                stream: StreamId(channel),
                kind,
                data,
            } => {
                let Some(slot) = slot_of(channels, channel) else {
                    self.refused_stream = Some(channel);
                    self.stats.refused_channels += 1;
                    return Some(Event::ChannelRefused { stream: channel });
                };
                if let Some(c) = channels.get_mut(slot) {
                    c.stats.messages_received += 1;
                    c.stats.bytes_received += data.len() as u64;
                }
                self.stats.messages_received += 1;
                Event::Message {
                    channel: ChannelId(slot as u16),
                    kind,
                    data,
                }
            }
            sctp::Event::BufferedAmountLow(StreamId(stream)) => match slot_of(channels, stream) {
                Some(slot) => Event::BufferedAmountLow(ChannelId(slot as u16)),
                // A channel closed meanwhile: its low mark means nothing to anyone.
                None => Event::ChannelRefused { stream },
            },
            sctp::Event::ChannelClosing(StreamId(stream)) => match slot_of(channels, stream) {
                Some(slot) => {
                    if let Some(c) = channels.get_mut(slot) {
                        c.state = ChannelState::Closing;
                    }
                    Event::ChannelClosing(ChannelId(slot as u16))
                }
                // The peer resets a stream the Peer refused: the refusal's reset completes.
                None => Event::ChannelRefused { stream },
            },
            sctp::Event::ChannelClosed(StreamId(stream)) => {
                match (slot_of(channels, stream), failure) {
                    // The association failed under the channel: `onerror` first, then the close
                    // (announced from the slot on the next call).
                    (Some(slot), Some(reason)) => {
                        if let Some(c) = channels.get_mut(slot) {
                            c.state = ChannelState::Closing;
                            c.announce_close = true;
                        }
                        Event::ChannelError {
                            channel: ChannelId(slot as u16),
                            reason,
                        }
                    }
                    (Some(slot), None) => {
                        if let Some(c) = channels.get_mut(slot) {
                            *c = FREE;
                        }
                        self.stats.channels_closed += 1;
                        Event::ChannelClosed(ChannelId(slot as u16))
                    }
                    // The reset of a stream the Peer refused is done.
                    (None, _) => Event::ChannelRefused { stream },
                }
            }
            sctp::Event::Closed(reason) => {
                run.sctp_established = false;
                // The browser's `error` event ("sctp-failure") precedes `close` when the
                // association fails under a channel; a close we asked for is no error.
                let failed = !matches!(
                    reason,
                    sctp::CloseReason::Shutdown | sctp::CloseReason::LocalAbort
                );
                for c in channels.iter_mut() {
                    if c.state != ChannelState::Free {
                        c.state = ChannelState::Closing;
                        c.announce_close = true;
                        c.announce_error = failed.then_some(reason);
                    }
                }
                Event::SctpClosed(reason)
            }
            // sctp::Event is #[non_exhaustive]; a variant added there is mapped here in the
            // same change (the crates are versioned together), so none reaches this arm.
            _ => return None,
        })
    }
}
