//! The send side: what a sender keeps after a packet leaves, and when it reports.
//!
//! ```text
//!   packetizer ─▶ RTP packet ─┬─▶ SendHistory::record ──────▶ lent ring: sequence number → packet
//!                             ├─▶ SenderStats::on_sent ─────▶ packets, octets, NTP/RTP anchor ─▶ SR
//!                             └─▶ TwccSendRecord::on_sent ──▶ transport-wide seq → send time, size
//!   NACK ─▶ SendHistory::handle_nack ─▶ poll_transmit ─▶ RTX (RFC 4588) or the original, budgeted
//!   RtcpSchedule: poll_timeout ─▶ handle_timeout ─▶ report due ─▶ SR/RR + SDES CNAME (+ BYE)
//!   report block about us (LSR, DLSR) ─▶ round-trip time (RFC 3550 §6.4.1)
//! ```
//!
//! Every part is a plain struct over storage the caller lends (the history's bytes and slots,
//! the transport-wide record's slots); none reads a clock or owns a socket.

mod history;

pub use history::{
    HistoryConfig, HistorySlot, HistoryStats, RTX_PAYLOAD_TYPES, RecordError, Retransmission, Rtx,
    SendHistory,
};
