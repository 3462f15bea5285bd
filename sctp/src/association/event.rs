//! What the association tells its user, and why a command was refused.
//!
//! ```text
//!   poll_event --> Connected | ChannelOpen | Message | BufferedAmountLow | ChannelClosing | ChannelClosed
//!                  | Closed(reason)
//!   send / open_channel --> Err(SendError | ChannelError), nothing queued
//! ```

use core::fmt;

use super::config::{ChannelOptions, StreamId};

/// Why the association ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum CloseReason {
    /// Graceful SHUTDOWN completed.
    Shutdown,
    /// We called [`Association::abort`](crate::Association::abort).
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

/// What the association tells its user. Drain with [`Association::poll_event`](crate::Association::poll_event).
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event<'e> {
    /// The association is established: channels carry data.
    Connected,
    /// The peer opened a channel with DATA_CHANNEL_OPEN.
    ChannelOpen {
        /// The channel's stream.
        stream: StreamId,
        /// Its label.
        label: &'e str,
        /// Its sub-protocol.
        protocol: &'e str,
        /// Its options.
        options: ChannelOptions,
    },
    /// A message, borrowed from the reassembly storage until the next call on the association.
    Message {
        /// The channel's stream.
        stream: StreamId,
        /// Text (PPID 51/56) or binary (53/57).
        kind: MessageKind,
        /// The message.
        data: &'e [u8],
    },
    /// The channel's buffered amount fell to its low threshold.
    BufferedAmountLow(StreamId),
    /// The peer reset its outgoing stream (RFC 8831 §6.7, an RFC 6525 Outgoing SSN Reset
    /// Request): the channel is closing; our own reset follows, then
    /// [`Event::ChannelClosed`]. Not reported for a close we started.
    ChannelClosing(StreamId),
    /// The channel is closed in both directions (stream reset done).
    ChannelClosed(StreamId),
    /// The association ended.
    Closed(CloseReason),
}

/// Text (the browser's `string`, PPID 51 or 56 when empty) or binary (`ArrayBuffer`, PPID 53
/// or 57), as RFC 8831 §6.6 carries it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MessageKind {
    /// UTF-8 text by convention (nothing checks it, as in the browser's wire format).
    Text,
    /// Bytes.
    Binary,
}

/// Why `send` refused a message. Nothing was queued.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
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
#[non_exhaustive]
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

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CloseReason::Shutdown => "association shut down",
            CloseReason::LocalAbort => "association aborted locally",
            CloseReason::PeerAbort => "association aborted by the peer",
            CloseReason::InitTimeout => "the peer never answered INIT or COOKIE-ECHO",
            CloseReason::RetransmitTimeout => "too many retransmission timeouts",
            CloseReason::MessageTooLarge => "the peer sent a message larger than the receive area",
            CloseReason::ProtocolViolation => "the peer acknowledged data never sent",
        })
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::UnknownChannel => "no such channel, or it is closing",
            SendError::TooLarge => "message larger than the peer or the send area takes",
            SendError::BufferFull => "send area full: wait for BufferedAmountLow",
            SendError::NotConnected => "association closed or shutting down",
        })
    }
}

impl core::error::Error for SendError {}

impl fmt::Display for ChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ChannelError::TooManyChannels => "every channel slot is in use",
            ChannelError::IdUnavailable => "stream id in use or beyond the peer's streams",
            ChannelError::LabelTooLong => "label and protocol longer than one DCEP message",
            ChannelError::BufferFull => "send area full",
            ChannelError::NotConnected => "association closed or shutting down",
        })
    }
}

impl core::error::Error for ChannelError {}
