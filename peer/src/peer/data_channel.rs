//! `RTCDataChannel` as a handle: `peer.channel(id)` borrows the Peer and speaks for one channel,
//! with the browser's names (`readyState`, `bufferedAmount`, `maxRetransmits`, ...).
//!
//! ```text
//!   readyState: connecting --association up / DCEP ACK not needed--> open
//!               open --close()--> closing
//!               open --the remote resets its stream--> closing (Event::ChannelClosing)
//!               closing --both directions reset (RFC 8831 §6.7)--> closed (Event::ChannelClosed)
//! ```

use super::Area;
use super::*;

/// `RTCDataChannelState`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum ReadyState {
    /// Created; the association or the remote's channel is not there yet.
    Connecting,
    /// Messages flow.
    Open,
    /// `close()` was called (or the transport went away): the stream reset is under way.
    Closing,
    /// Closed (the handle of a closed channel reports this until its slot is reused).
    Closed,
}

impl ReadyState {
    /// The W3C enum value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ReadyState::Connecting => "connecting",
            ReadyState::Open => "open",
            ReadyState::Closing => "closing",
            ReadyState::Closed => "closed",
        }
    }
}

impl ChannelState {
    pub(super) const fn ready_state(self) -> ReadyState {
        match self {
            ChannelState::AwaitAssociation | ChannelState::AwaitSctp => ReadyState::Connecting,
            ChannelState::Open => ReadyState::Open,
            ChannelState::Closing => ReadyState::Closing,
            ChannelState::Free => ReadyState::Closed,
        }
    }
}

/// One data channel of a Peer (`RTCDataChannel`), borrowed from [`Peer::channel`].
///
/// ```
/// # use peerless::{ChannelInit, Config, Peer, ReadyState, Storage};
/// # use peerless_base::Instant;
/// # let (cert, _) = peerless::selftest::certificates().unwrap();
/// # let mut storage = Box::new(Storage::<8192, 8192>::new());
/// # let (s, r) = storage.areas();
/// let mut peer: Peer<&mut [u8]> = Peer::new(Config::new(cert, [7; 32]), Instant::ZERO, s, r);
/// let id = peer.create_data_channel("chat", ChannelInit::default())?;
/// let mut chat = peer.channel(id).expect("just created");
/// assert_eq!(chat.label(), "chat");
/// assert_eq!(chat.ready_state(), ReadyState::Connecting);
/// assert!(chat.ordered() && chat.max_retransmits().is_none());
/// chat.set_buffered_amount_low_threshold(16 * 1024);
/// assert_eq!(chat.buffered_amount_low_threshold(), 16 * 1024);
/// # Ok::<(), peerless::ChannelError>(())
/// ```
pub struct DataChannel<'p, P> {
    peer: &'p mut P,
    id: ChannelId,
}

/// The channel's id (the Peer it borrows is not shown).
#[cfg(feature = "defmt")]
impl<P> defmt::Format for DataChannel<'_, P> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "DataChannel {{ id: {} }}", self.id);
    }
}

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
    /// The channel `id` (`None` once it is closed and its [`Event::ChannelClosed`] was handed
    /// out).
    pub fn channel(&mut self, id: ChannelId) -> Option<DataChannel<'_, Self>> {
        self.channel_slot(id)?;
        Some(DataChannel { peer: self, id })
    }
}

impl<
    S: Area,
    const CHUNKS: usize,
    const CHANNELS: usize,
    const DTLS: usize,
    const LOCAL_SDP: usize,
    const REMOTE_SDP: usize,
    const REMOTE_CANDIDATES: usize,
    const TRANSCEIVERS: usize,
>
    DataChannel<
        '_,
        Peer<S, CHUNKS, CHANNELS, DTLS, LOCAL_SDP, REMOTE_SDP, REMOTE_CANDIDATES, TRANSCEIVERS>,
    >
{
    fn slot(&self) -> &Channel {
        self.peer.channel_slot(self.id).unwrap_or(&FREE)
    }

    /// This channel's id in the Peer.
    #[must_use]
    pub fn id(&self) -> ChannelId {
        self.id
    }

    /// `label`.
    #[must_use]
    pub fn label(&self) -> &str {
        self.slot().label.as_str()
    }

    /// `protocol`.
    #[must_use]
    pub fn protocol(&self) -> &str {
        self.slot().protocol.as_str()
    }

    /// `readyState`.
    #[must_use]
    pub fn ready_state(&self) -> ReadyState {
        self.slot().state.ready_state()
    }

    /// `id`: the SCTP stream id, once the DTLS role fixed it (`None` before, as the browser's
    /// `null`).
    #[must_use]
    pub fn stream_id(&self) -> Option<u16> {
        self.slot().stream
    }

    /// `ordered`.
    #[must_use]
    pub fn ordered(&self) -> bool {
        self.slot().options.ordered
    }

    /// `maxRetransmits`.
    #[must_use]
    pub fn max_retransmits(&self) -> Option<u16> {
        match self.slot().options.reliability {
            Reliability::MaxRetransmits(n) => Some(n),
            _ => None,
        }
    }

    /// `maxPacketLifeTime`, in milliseconds.
    #[must_use]
    pub fn max_packet_life_time(&self) -> Option<u32> {
        match self.slot().options.reliability {
            Reliability::MaxLifetime(ms) => Some(ms),
            _ => None,
        }
    }

    /// `negotiated`: the application agreed on the stream id out of band (no DCEP).
    #[must_use]
    pub fn negotiated(&self) -> bool {
        self.slot().options.negotiated.is_some()
    }

    /// The DCEP priority (RFC 8832 §5.1; 256 is the browser's "low", the default).
    #[must_use]
    pub fn priority(&self) -> u16 {
        self.slot().options.priority
    }

    /// Opened by the remote (`ondatachannel`) rather than by us.
    #[must_use]
    pub fn is_remote(&self) -> bool {
        self.slot().remote
    }

    /// `bufferedAmount`: bytes queued and not yet sent.
    #[must_use]
    pub fn buffered_amount(&self) -> usize {
        self.peer.buffered_amount(self.id)
    }

    /// `bufferedAmountLowThreshold`.
    #[must_use]
    pub fn buffered_amount_low_threshold(&self) -> usize {
        self.slot().low_threshold
    }

    /// Sets `bufferedAmountLowThreshold`: [`Event::BufferedAmountLow`] fires when the buffered
    /// amount falls to it.
    pub fn set_buffered_amount_low_threshold(&mut self, threshold: usize) {
        self.peer
            .set_buffered_amount_low_threshold(self.id, threshold);
    }

    /// Message counters.
    #[must_use]
    pub fn stats(&self) -> ChannelStats {
        self.slot().stats
    }

    /// `send(ArrayBuffer)`: a binary message.
    pub fn send(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.peer.send_binary(self.id, data)
    }

    /// `send(string)`: a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.peer.send_text(self.id, text)
    }

    /// A message of either kind.
    pub fn send_message(&mut self, kind: MessageKind, data: &[u8]) -> Result<(), SendError> {
        self.peer.send(self.id, kind, data)
    }

    /// `close()`: the stream is reset in both directions; [`Event::ChannelClosed`] follows.
    pub fn close(self) -> Result<(), ChannelError> {
        self.peer.close_channel(self.id)
    }
}
