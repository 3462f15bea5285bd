//! What the association tells its user, and why a command was refused.
//!
//! ```text
//!   poll_event --> Connected | ChannelOpen | Message | BufferedAmountLow | ChannelClosed
//!                  | Closed(reason)
//!   send / open_channel --> Err(SendError | ChannelError), nothing queued
//! ```

use super::config::ChannelOptions;

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
