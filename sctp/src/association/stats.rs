//! Counters and congestion state, for `getStats()` and tests.
//!
//! ```text
//!   every drop --> dropped_<reason> += 1      sender --> cwnd, ssthresh, flight, rto, srtt
//! ```

use core::time::Duration;

/// Counters and congestion state, for `getStats()` and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
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
    pub dropped_checksum: u64,
    /// Drops: wrong verification tag.
    pub dropped_tag: u64,
    /// Drops: malformed packet or chunk.
    pub dropped_malformed: u64,
    /// Drops: DATA with no room in the reassembly storage (or beyond the tracked window).
    pub dropped_no_room: u64,
    /// Drops: chunks not valid in the current state.
    pub dropped_state: u64,
    /// Drops: unknown chunk types.
    pub dropped_unknown_chunk: u64,
    /// Drops: state cookies with a bad MAC or too old.
    pub dropped_cookie: u64,
    /// Drops: messages for no channel (a stream never opened, refused, closed, or beyond the
    /// peer's stream count), and malformed DCEP messages. Refused OPENs are counted in
    /// `refused_channels`.
    pub dropped_channel: u64,
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
    pub dropped_refused_reset: u64,
    /// RE-CONFIG request retransmissions (timer expirations).
    pub reconfig_retransmits: u64,
}
