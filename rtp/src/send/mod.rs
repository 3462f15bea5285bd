//! The send side: what a sender keeps after a packet leaves, and when it reports.
//!
//! ```text
//!   packetizer ─▶ RTP packet ─┬─▶ SendHistory::enqueue ─────▶ one area: index + ring ─▶ poll_unsent ─▶ SRTP, socket
//!                             ├─▶ SenderStats::on_sent ─────▶ packets, octets, NTP/RTP anchor ─▶ SR
//!                             └─▶ TwccSendRecord::on_sent ──▶ transport-wide seq → send time, size
//!   NACK ─▶ SendHistory::handle_nack ─▶ poll_transmit ─▶ RTX (RFC 4588) or the original, budgeted
//!   RtcpSchedule: poll_timeout ─▶ handle_timeout ─▶ report due ─▶ SR/RR + SDES CNAME (+ BYE)
//!   report block about us (LSR, DLSR) ─▶ round-trip time (RFC 3550 §6.4.1)
//! ```
//!
//! Every part is a plain struct over storage the caller lends (the history's one byte area,
//! borrowed or owned; the transport-wide record's slots); none reads a clock or owns a socket.
//!
//! - [`SendHistory`]: the send queue and what stays after sending, in one area: packets wait
//!   unsent until [`SendHistory::poll_unsent`] (a full queue refuses a packet rather than
//!   overwrite one that never left), then answer NACKs as RTX (RFC 4588) or the original
//!   packet, within a byte budget and a minimum resend interval; every refusal is counted.
//! - [`SenderStats`]: packet and octet counts and the NTP/RTP mapping an SR carries;
//!   [`round_trip_time`] from a report block's LSR and DLSR.
//! - [`TwccSendRecord`]: transport-wide sequence numbers with their send times and sizes,
//!   matched with transport-cc feedback for a bandwidth estimator.
//! - [`RtcpSchedule`]: RFC 3550's randomized interval with timer and reverse reconsideration,
//!   writing SR/RR + SDES (+ BYE), and feedback compounds (reduced size per RFC 5506).
//!
//! # Sizes
//!
//! Measured by `cargo test -p peerless-rtp --test send_sizes -- --nocapture` (x86-64):
//!
//! | machine | `size_of` |
//! |---|---|
//! | `SendHistory<Box<[u8]>>` (64 pending retransmissions; 272 with 8) | 384 bytes |
//! | `SenderStats` | 88 bytes |
//! | `TwccSendRecord` | 40 bytes |
//! | `RtcpSchedule` (most of it the HMAC-DRBG of its random draws) | 216 bytes |
//!
//! Lent storage for one second of history (NACKs arrive within an RTT, so a second is
//! generous), proven by streaming through it in the same test:
//!
//! | sender | packets/s | ring bytes | index records (27 bytes each) | area |
//! |---|---|---|---|---|
//! | 720p30 video, 2.5 Mbit/s, 1200-byte payloads | 270 | 320 KiB | 320 (8 640 B) | 328.4 KiB |
//! | Opus 32 kbit/s, 20 ms | 50 | 6 KiB | 64 (1 728 B) | 7.7 KiB |
//!
//! The transport-wide record needs one 16-byte slot per packet sent within the feedback delay
//! tolerated: 320 slots (5 KiB) for a second of the video above.

mod history;
mod schedule;
mod stats;
mod twcc;

pub use history::{
    HistoryConfig, HistoryStats, RTX_PAYLOAD_TYPES, RecordError, Retransmission, Rtx, SendHistory,
};
pub use schedule::{
    IntervalInputs, RFC3550_MINIMUM, ReportContent, ReportError, RtcpSchedule, ScheduleConfig,
    Written, deterministic_interval, randomized_interval, reduced_minimum,
};
pub use stats::{NtpTime, SenderStats, duration_from_16_16, duration_to_16_16, round_trip_time};
pub use twcc::{PacketFeedback, SentPacket, TwccSendRecord, TwccSendStats, TwccSlot};
