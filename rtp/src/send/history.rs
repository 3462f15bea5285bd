//! The send history, which is also the send queue: packets wait in it until they go out
//! (RFC 3550 RTP, before SRTP), then stay to answer NACKs (RFC 4585 §6.2.1) as RTX (RFC 4588)
//! or as a plain retransmission, within a byte budget.
//!
//! ```text
//!   sender ──enqueue(now, packet)──▶ unsent ──poll_unsent(now, buf)──▶ sent (the oldest first)
//!          ──record(now, packet)───────────────────────────────────────▶ sent (the caller sent it)
//!            Full when keeping it would overwrite a packet still unsent (unsent_room says ahead)
//!   NACK ───handle_nack(now, lost)──▶ check: sent and still held? sent long enough ago? budget?
//!                                       │ yes: queue the sequence number      no: dropped_nack_<why>
//!   poll_transmit(buf) ◀────────────────┘
//!     RTX:   | header: RTX PT, RTX seq, RTX SSRC, P clear | original seq (OSN) | original payload |
//!     plain: the packet as it was first sent (padding and all)
//! ```
//!
//! Storage is one byte area ([`Area`]: borrowed or owned), laid out by the history itself:
//!
//! ```text
//!   | index: packets x INDEX_BYTES_PER_PACKET | packet bytes (a ring, the oldest sent overwritten first) |
//! ```
//!
//! Each index record is fixed-width little-endian: the extended sequence number (8), where the
//! packet starts as a logical position (8), when it was last sent in microseconds (8), its
//! length (2; 0 marks an empty record) and flags (1: unsent). Sequence numbers are extended to
//! 64 bits as they are kept, and a record is found at `extended % packets`, so the table has no
//! seam at the 16-bit wrap and a record from another lap never answers for a number.
//!
//! Positions in the byte ring are *logical*: they only grow, and a packet's bytes are intact
//! while fewer than the ring's length have been claimed after its start. That one comparison
//! replaces any eviction bookkeeping; a packet that would not fit before the ring's end starts
//! at the next lap. A packet is gone when its record is taken by a number `packets` later or
//! its bytes are written over; both are checked on every look-up, so a NACK can never be
//! answered with another packet's bytes. Neither may happen to an unsent packet: that is
//! [`RecordError::Full`].

use core::fmt;
use core::time::Duration;

use peerless_base::{Area, BufferTooSmall, Instant, Queue};

use crate::packet::Packet;

/// How many (original, RTX) payload type pairs an [`Rtx`] configuration holds.
pub const RTX_PAYLOAD_TYPES: usize = 4;

/// RTX as negotiated (RFC 4588): its own SSRC, sequence space and payload types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Rtx {
    /// The RTX stream's SSRC (`a=ssrc-group:FID original rtx`).
    pub ssrc: u32,
    /// The first RTX sequence number (random, like any RTP stream's first one).
    pub first_sequence: u16,
    /// (original payload type, RTX payload type) pairs, from `a=fmtp:<rtx> apt=<original>`.
    /// A packet whose payload type has no pair is not retransmitted
    /// (`dropped_nack_no_rtx_payload_type`).
    pub payload_types: [Option<(u8, u8)>; RTX_PAYLOAD_TYPES],
}

impl Rtx {
    /// RTX on `ssrc` from `first_sequence`, with one payload type pair.
    #[must_use]
    pub const fn new(ssrc: u32, first_sequence: u16, original_pt: u8, rtx_pt: u8) -> Self {
        Rtx {
            ssrc,
            first_sequence,
            payload_types: [Some((original_pt, rtx_pt)), None, None, None],
        }
    }

    fn payload_type_for(&self, original: u8) -> Option<u8> {
        self.payload_types
            .iter()
            .flatten()
            .find(|(o, _)| *o == original)
            .map(|(_, r)| *r)
    }
}

/// How the history answers NACKs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HistoryConfig {
    /// RTX, when negotiated; `None` answers with the original packet.
    pub rtx: Option<Rtx>,
    /// The retransmission budget: bytes per second (RTX packets counted as written: with
    /// their OSN, without the original's padding).
    pub budget_bytes_per_second: u32,
    /// Bytes the budget may save up while idle, and so the largest burst (at least one
    /// packet's worth, or nothing is ever resent).
    pub budget_burst_bytes: u32,
    /// A packet is not sent again within this time of its last sending (the original or a
    /// retransmission): set it to the round-trip time, so one loss asked for twice costs one
    /// retransmission.
    pub min_resend_interval: Duration,
}

impl Default for HistoryConfig {
    /// No RTX, 125 000 bytes per second (1 Mbit/s) with a 25 000-byte burst, 10 ms between
    /// resends of one packet.
    fn default() -> Self {
        HistoryConfig {
            rtx: None,
            budget_bytes_per_second: 125_000,
            budget_burst_bytes: 25_000,
            min_resend_interval: Duration::from_millis(10),
        }
    }
}

/// The bytes of one index record.
const INDEX_RECORD: usize = 27;
/// The record's packet waits in the queue.
const UNSENT: u8 = 1;
/// The extended number the first packet after a start or a reset gets for sequence 0: room to
/// look a half sequence space back without going below zero.
const EXTENDED_BASE: u64 = 0x1_0000;

/// One index record, decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Record {
    extended: u64,
    /// Where the packet starts, as a logical position in the byte ring.
    start: u64,
    /// When the packet was last sent (first sending or a retransmission).
    last_sent: Instant,
    /// Packet length; 0 marks an empty record.
    len: u16,
    unsent: bool,
}

impl Record {
    fn decode(bytes: &[u8; INDEX_RECORD]) -> Record {
        let (extended, rest) = bytes.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
        let (start, rest) = rest.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
        let (last_sent, rest) = rest.split_first_chunk::<8>().unwrap_or((&[0; 8], &[]));
        let (len, rest) = rest.split_first_chunk::<2>().unwrap_or((&[0; 2], &[]));
        Record {
            extended: u64::from_le_bytes(*extended),
            start: u64::from_le_bytes(*start),
            last_sent: Instant::from_micros(u64::from_le_bytes(*last_sent)),
            len: u16::from_le_bytes(*len),
            unsent: rest.first().is_some_and(|f| f & UNSENT != 0),
        }
    }

    fn encode(&self) -> [u8; INDEX_RECORD] {
        let mut bytes = [0u8; INDEX_RECORD];
        bytes[..8].copy_from_slice(&self.extended.to_le_bytes());
        bytes[8..16].copy_from_slice(&self.start.to_le_bytes());
        bytes[16..24].copy_from_slice(&self.last_sent.as_micros().to_le_bytes());
        bytes[24..26].copy_from_slice(&self.len.to_le_bytes());
        bytes[26] = if self.unsent { UNSENT } else { 0 };
        bytes
    }
}

/// Why a packet was not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RecordError {
    /// Not an RTP packet: shorter than its header, version not 2, CSRCs or extension past
    /// the end.
    Malformed,
    /// The packet is larger than the byte ring (or than 65 535 bytes).
    TooLarge {
        /// The packet's length.
        len: usize,
        /// The byte ring's length.
        capacity: usize,
    },
    /// The sequence number is not after the newest recorded one (a retransmission, or a
    /// restarted stream: [`SendHistory::reset`] first).
    NotNewer,
    /// The index is empty: the area is too small for one index record.
    NoSlots,
    /// Keeping the packet would overwrite a packet still unsent (its bytes or its index
    /// record): send some first ([`SendHistory::poll_unsent`]). Nothing was kept.
    Full,
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordError::Malformed => f.write_str("not an RTP packet"),
            RecordError::TooLarge { len, capacity } => {
                write!(
                    f,
                    "packet of {len} bytes does not fit a {capacity}-byte history"
                )
            }
            RecordError::NotNewer => f.write_str("sequence number not after the newest recorded"),
            RecordError::NoSlots => f.write_str("the history has no index records"),
            RecordError::Full => f.write_str("the send queue is full of unsent packets"),
        }
    }
}

impl core::error::Error for RecordError {}

/// What the history did, and what it refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct HistoryStats {
    /// Packets kept (recorded as sent, or enqueued).
    pub recorded: u64,
    /// Enqueued packets handed out by [`SendHistory::poll_unsent`].
    pub sent_from_queue: u64,
    /// Packets refused with [`RecordError::Full`].
    pub refused_full: u64,
    /// Retransmissions written (RTX or plain).
    pub retransmitted_packets: u64,
    /// Their bytes (as written: with the OSN for RTX).
    pub retransmitted_bytes: u64,
    /// Sent packets resent as RTX to pad a bandwidth probe.
    pub padding_packets: u64,
    /// NACKed packets no longer in the ring (overwritten, or never recorded).
    pub dropped_nack_overwritten: u64,
    /// NACKed sequence numbers not sent yet: after the newest kept, or still in the queue (a
    /// confused or hostile receiver).
    pub dropped_nack_unsent: u64,
    /// NACKed packets sent less than `min_resend_interval` ago.
    pub dropped_nack_too_soon: u64,
    /// NACKed packets over the byte budget.
    pub dropped_nack_rate_limited: u64,
    /// NACKed packets while the queue of pending retransmissions was full.
    pub dropped_nack_queue_full: u64,
    /// NACKed packets whose payload type has no RTX payload type.
    pub dropped_nack_no_rtx_payload_type: u64,
}

/// A retransmission written by [`SendHistory::poll_transmit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Retransmission<'b> {
    /// The RTP packet to protect and send (in the caller's buffer).
    pub packet: &'b [u8],
    /// The sequence number the receiver asked for.
    pub original_sequence: u16,
    /// Sent as RTX (its sequence number is the RTX stream's), else the original packet.
    pub rtx: bool,
}

/// The smallest RTP header, and where the fields we rewrite sit in it.
const FIXED_HEADER: usize = 12;
/// One byte of budget, in the token bucket's units (the bucket refills per microsecond).
const MICROS_PER_SECOND: u64 = 1_000_000;
/// How far back from the newest packet padding looks for one that fits.
const PADDING_CANDIDATES: u16 = 16;

/// The send history and send queue of one RTP stream, over one byte area `A` (borrowed or
/// owned); `PENDING` retransmissions can wait between [`handle_nack`](Self::handle_nack) and
/// [`poll_transmit`](Self::poll_transmit).
///
/// ```
/// use peerless_base::Instant;
/// use peerless_rtp::send::{HistoryConfig, Rtx, SendHistory};
/// let config = HistoryConfig { rtx: Some(Rtx::new(0x5678, 100, 96, 97)), ..Default::default() };
/// // 16 index records at the front of a 4 KiB area, packet bytes after them.
/// let mut history: SendHistory<[u8; 4096]> = SendHistory::new(config, [0u8; 4096], 16);
/// // V=2, PT 96, seq 7, timestamp 1000, SSRC 0x1234, payload "abc"
/// let packet = [0x80, 96, 0, 7, 0, 0, 0x03, 0xe8, 0, 0, 0x12, 0x34, b'a', b'b', b'c'];
/// history.enqueue(Instant::from_millis(0), &packet)?;
/// let mut buf = [0u8; 1500];
/// // The queue hands it out (to protect and send), and keeps it for NACKs.
/// let len = history.poll_unsent(Instant::from_millis(0), &mut buf)?.unwrap();
/// assert_eq!(buf[..len], packet);
/// history.handle_nack(Instant::from_millis(50), [7]);
/// let rtx = history.poll_transmit(&mut buf)?.unwrap();
/// assert_eq!(rtx.packet, [0x80, 97, 0, 100, 0, 0, 0x03, 0xe8, 0, 0, 0x56, 0x78, 0, 7, b'a', b'b', b'c']);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(fuzzing, derive(Clone))]
pub struct SendHistory<A, const PENDING: usize = 64> {
    config: HistoryConfig,
    area: A,
    /// Index records at the front of the area; the byte ring starts after them.
    packets: usize,
    ring_at: usize,
    /// The logical end of the newest packet's bytes.
    cursor: u64,
    newest: Option<u16>,
    /// The newest packet's extended sequence number.
    newest_extended: u64,
    /// Packets waiting in the queue, and the extended number of the oldest of them.
    unsent: usize,
    unsent_bytes: u64,
    first_unsent: u64,
    rtx_sequence: u16,
    /// Budget in byte-microseconds: one byte costs a million.
    tokens: u64,
    refilled_at: Instant,
    now: Instant,
    pending: Queue<u16, PENDING>,
    stats: HistoryStats,
}

impl<A, const PENDING: usize> fmt::Debug for SendHistory<A, PENDING> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendHistory")
            .field("packets", &self.packets)
            .field("newest", &self.newest)
            .field("unsent", &self.unsent)
            .field("pending", &self.pending.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl<A, const PENDING: usize> defmt::Format for SendHistory<A, PENDING> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "SendHistory {{ packets: {}, newest: {}, unsent: {}, pending: {}, stats: {} }}",
            self.packets,
            self.newest,
            self.unsent,
            self.pending.len(),
            self.stats
        );
    }
}

impl<A, const PENDING: usize> SendHistory<A, PENDING> {
    /// The bytes of one index record: extended sequence number, logical start, last sending
    /// (8 bytes each), length (2), flags (1), little-endian.
    pub const INDEX_BYTES_PER_PACKET: usize = INDEX_RECORD;

    /// The area that holds `packets` index records and a byte ring of `ring` bytes.
    #[must_use]
    pub const fn area_for(packets: usize, ring: usize) -> usize {
        packets * INDEX_RECORD + ring
    }
}

impl<A: Area, const PENDING: usize> SendHistory<A, PENDING> {
    /// A history over `area`: an index of `packets` records (one per sequence number it can
    /// remember) at the front, packet bytes after it. An area too small for that index holds
    /// as many records as fit and no bytes ([`packets`](Self::packets) tells). The budget
    /// starts full.
    pub fn new(config: HistoryConfig, area: A, packets: usize) -> Self {
        let packets = packets.min(area.as_ref().len() / INDEX_RECORD);
        let mut history = SendHistory {
            rtx_sequence: config.rtx.map_or(0, |r| r.first_sequence),
            tokens: u64::from(config.budget_burst_bytes) * MICROS_PER_SECOND,
            config,
            area,
            packets,
            ring_at: packets * INDEX_RECORD,
            cursor: 0,
            newest: None,
            newest_extended: 0,
            unsent: 0,
            unsent_bytes: 0,
            first_unsent: 0,
            refilled_at: Instant::ZERO,
            now: Instant::ZERO,
            pending: Queue::new(),
            stats: HistoryStats::default(),
        };
        history.reset();
        history
    }

    /// The lent area back (the stream ended).
    pub fn into_area(self) -> A {
        self.area
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &HistoryConfig {
        &self.config
    }

    /// Changes how NACKs are answered from now on (a new round-trip time, a new budget);
    /// the RTX sequence space continues.
    pub fn set_config(&mut self, config: HistoryConfig) {
        self.config = config;
    }

    /// Counters.
    #[must_use]
    pub fn stats(&self) -> &HistoryStats {
        &self.stats
    }

    /// The index records: how many sequence numbers the history can hold at once.
    #[must_use]
    pub fn packets(&self) -> usize {
        self.packets
    }

    /// The byte ring's length: the largest packet, and the most bytes held at once.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.area.as_ref().len().saturating_sub(self.ring_at)
    }

    /// The next RTX sequence number to be used.
    #[must_use]
    pub fn next_rtx_sequence(&self) -> u16 {
        self.rtx_sequence
    }

    /// Forgets every packet, the unsent ones too (a new SSRC: they would go out under the old
    /// one), and every pending retransmission.
    pub fn reset(&mut self) {
        if let Some(index) = self.area.as_mut().get_mut(..self.ring_at) {
            index.fill(0);
        }
        self.newest = None;
        self.unsent = 0;
        self.unsent_bytes = 0;
        self.pending.clear();
    }

    /// Keeps `packet` (a whole RTP packet, before SRTP) as unsent, for
    /// [`poll_unsent`](Self::poll_unsent) to hand out in order.
    ///
    /// # Errors
    ///
    /// [`RecordError::Full`] when keeping it would overwrite a packet still unsent (see
    /// [`unsent_room`](Self::unsent_room) to know ahead); otherwise the packet is not RTP, does
    /// not fit the ring, or is not newer than the last.
    pub fn enqueue(&mut self, now: Instant, packet: &[u8]) -> Result<(), RecordError> {
        self.keep(now, packet, true)
    }

    /// Keeps a copy of `packet` (a whole RTP packet, before SRTP) the caller sent at `now`:
    /// [`enqueue`](Self::enqueue) and sent at once.
    ///
    /// # Errors
    ///
    /// [`RecordError`]: the packet is not RTP, does not fit, is not newer than the last, or
    /// would overwrite a packet still unsent.
    pub fn record(&mut self, now: Instant, packet: &[u8]) -> Result<(), RecordError> {
        self.keep(now, packet, false)
    }

    fn keep(&mut self, now: Instant, packet: &[u8], unsent: bool) -> Result<(), RecordError> {
        let now = self.now.advance(now);
        if layout(packet).is_none() {
            return Err(RecordError::Malformed);
        }
        let sequence = sequence_of(packet);
        let capacity = self.capacity();
        let len = u16::try_from(packet.len())
            .ok()
            .filter(|&l| usize::from(l) <= capacity)
            .ok_or(RecordError::TooLarge {
                len: packet.len(),
                capacity,
            })?;
        if self.packets == 0 {
            return Err(RecordError::NoSlots);
        }
        let extended = match self.newest {
            Some(newest) => {
                let ahead = sequence.wrapping_sub(newest);
                if ahead == 0 || ahead >= 0x8000 {
                    return Err(RecordError::NotNewer);
                }
                self.newest_extended + u64::from(ahead)
            }
            None => EXTENDED_BASE + u64::from(sequence),
        };
        let index = self.index_of(extended);
        if self
            .record_at(index)
            .is_some_and(|r| r.unsent && r.len != 0)
        {
            self.stats.refused_full += 1;
            return Err(RecordError::Full);
        }
        // Place the packet at the cursor, or at the ring's start when it would cross its end.
        let ring = capacity as u64;
        let offset = self.cursor % ring;
        let mut start = self.cursor;
        if offset + u64::from(len) > ring {
            start += ring - offset;
        }
        if let Some(oldest) = self.oldest_unsent()
            && start + u64::from(len) > oldest.start + ring
        {
            self.stats.refused_full += 1;
            return Err(RecordError::Full);
        }
        let at = self.ring_at + (start % ring) as usize;
        let Some(dest) = self.area.as_mut().get_mut(at..at + usize::from(len)) else {
            return Err(RecordError::TooLarge {
                len: packet.len(),
                capacity,
            });
        };
        dest.copy_from_slice(packet);
        self.cursor = start + u64::from(len);
        self.write_record(
            index,
            &Record {
                extended,
                start,
                last_sent: now,
                len,
                unsent,
            },
        );
        self.newest = Some(sequence);
        self.newest_extended = extended;
        if unsent {
            if self.unsent == 0 {
                self.first_unsent = extended;
            }
            self.unsent += 1;
            self.unsent_bytes += u64::from(len);
        }
        self.stats.recorded += 1;
        Ok(())
    }

    /// Packets waiting in the queue.
    #[must_use]
    pub fn unsent_len(&self) -> usize {
        self.unsent
    }

    /// Bytes waiting in the queue (what a pacer drains).
    #[must_use]
    pub fn unsent_bytes(&self) -> u64 {
        self.unsent_bytes
    }

    /// Retransmissions waiting for [`poll_transmit`](Self::poll_transmit).
    #[must_use]
    pub fn retransmissions_waiting(&self) -> usize {
        self.pending.len()
    }

    /// The length of the packet [`poll_unsent`](Self::poll_unsent) hands out next.
    #[must_use]
    pub fn next_unsent_len(&self) -> Option<usize> {
        self.oldest_unsent().map(|r| usize::from(r.len))
    }

    /// The bytes that can be enqueued now without overwriting an unsent packet.
    ///
    /// The guarantee: packets of `b` bytes in all, the largest `m` bytes, can all be enqueued
    /// now if `b + m <= unsent_room()` and there are at most
    /// [`unsent_room_packets`](Self::unsent_room_packets) of them, numbered on from the newest
    /// kept (`m` pays for the bytes left unused where a packet does not fit before the ring's
    /// end). [`can_enqueue`](Self::can_enqueue) checks both.
    #[must_use]
    pub fn unsent_room(&self) -> usize {
        let ring = self.capacity() as u64;
        let room = match self.oldest_unsent() {
            Some(oldest) => (oldest.start + ring).saturating_sub(self.cursor),
            None => ring,
        };
        usize::try_from(room).unwrap_or(usize::MAX)
    }

    /// How many packets, numbered on from the newest kept (newest + 1, newest + 2, ...), can
    /// be enqueued now without taking the index record of an unsent packet.
    #[must_use]
    pub fn unsent_room_packets(&self) -> usize {
        if self.unsent == 0 {
            return self.packets;
        }
        let span = self.newest_extended + 1 - self.first_unsent;
        self.packets
            .saturating_sub(usize::try_from(span).unwrap_or(usize::MAX))
    }

    /// Whether `packets` packets of `bytes` bytes in all, none longer than `largest`,
    /// numbered on from the newest kept, can all be enqueued now (the guarantee of
    /// [`unsent_room`](Self::unsent_room)): a whole frame is refused up front rather than
    /// half sent.
    #[must_use]
    pub fn can_enqueue(&self, packets: usize, bytes: usize, largest: usize) -> bool {
        packets <= self.unsent_room_packets() && bytes.saturating_add(largest) <= self.unsent_room()
    }

    /// Copies the oldest unsent packet into `buf` and marks it sent at `now`: from now on a
    /// NACK for it is answered. Returns its length, `None` when nothing waits.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the packet's length; it stays first in the queue.
    pub fn poll_unsent(
        &mut self,
        now: Instant,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let now = self.now.advance(now);
        let Some(mut record) = self.oldest_unsent() else {
            return Ok(None);
        };
        let len = usize::from(record.len);
        let Some(out) = buf.get_mut(..len) else {
            return Err(BufferTooSmall { needed: len });
        };
        let at = self.ring_at + (record.start % self.capacity().max(1) as u64) as usize;
        let Some(bytes) = self.area.as_ref().get(at..at + len) else {
            return Ok(None);
        };
        out.copy_from_slice(bytes);
        record.unsent = false;
        record.last_sent = now;
        self.write_record(self.index_of(record.extended), &record);
        self.unsent -= 1;
        self.unsent_bytes = self.unsent_bytes.saturating_sub(len as u64);
        self.stats.sent_from_queue += 1;
        // The next unsent packet is the next kept after this one that is still unsent: the
        // numbers between were skipped by the sender or recorded as sent by the caller.
        if self.unsent > 0 {
            let next = (record.extended + 1..=self.newest_extended)
                .find(|&e| self.find_extended(e).is_some_and(|r| r.unsent));
            match next {
                Some(next) => self.first_unsent = next,
                // Every unsent packet lies between; the fallback is never taken.
                None => {
                    self.unsent = 0;
                    self.unsent_bytes = 0;
                }
            }
        }
        Ok(Some(len))
    }

    /// Whether the packet with this sequence number is still held (sent or not).
    #[must_use]
    pub fn contains(&self, sequence: u16) -> bool {
        self.find(sequence).is_some()
    }

    /// The packet with this sequence number, as kept, if still held (sent or not).
    #[must_use]
    pub fn get(&self, sequence: u16) -> Option<&[u8]> {
        let record = self.find(sequence)?;
        self.bytes_of(&record)
    }

    /// A receiver lost these packets (the sequence numbers of a generic NACK, RFC 4585
    /// §6.2.1). Each one sent and still held, not sent within `min_resend_interval`, and
    /// within the budget is queued for [`poll_transmit`](Self::poll_transmit); every other one
    /// is counted in [`stats`](Self::stats) under its reason.
    pub fn handle_nack(&mut self, now: Instant, lost: impl IntoIterator<Item = u16>) {
        let now = self.now.advance(now);
        self.refill(now);
        for sequence in lost {
            let Some(mut record) = self.find(sequence) else {
                let unsent = self
                    .newest
                    .is_none_or(|n| matches!(sequence.wrapping_sub(n), 1..0x8000));
                if unsent {
                    self.stats.dropped_nack_unsent += 1;
                } else {
                    self.stats.dropped_nack_overwritten += 1;
                }
                continue;
            };
            if record.unsent {
                self.stats.dropped_nack_unsent += 1;
                continue;
            }
            if now.saturating_duration_since(record.last_sent) < self.config.min_resend_interval {
                self.stats.dropped_nack_too_soon += 1;
                continue;
            }
            let mut cost = u64::from(record.len);
            if let Some(rtx) = self.config.rtx {
                let packet = self.bytes_of(&record).unwrap_or_default();
                if rtx.payload_type_for(payload_type_of(packet)).is_none() {
                    self.stats.dropped_nack_no_rtx_payload_type += 1;
                    continue;
                }
                cost = rtx_len(packet) as u64;
            }
            let cost = cost * MICROS_PER_SECOND;
            if self.tokens < cost {
                self.stats.dropped_nack_rate_limited += 1;
                continue;
            }
            if self.pending.push(sequence).is_err() {
                self.stats.dropped_nack_queue_full += 1;
                continue;
            }
            self.tokens -= cost;
            record.last_sent = now;
            self.write_record(self.index_of(record.extended), &record);
        }
    }

    /// Writes the next queued retransmission into `buf`.
    ///
    /// A packet overwritten between [`handle_nack`](Self::handle_nack) and this call is
    /// skipped (counted as overwritten; its budget stays spent).
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the size needed; the retransmission stays queued.
    pub fn poll_transmit<'b>(
        &mut self,
        buf: &'b mut [u8],
    ) -> Result<Option<Retransmission<'b>>, BufferTooSmall> {
        loop {
            let Some(&sequence) = self.pending.peek() else {
                return Ok(None);
            };
            let Some(packet) = self.get(sequence) else {
                self.pending.pop();
                // Its budget stays spent: the receiver will ask again if it still cares.
                self.stats.dropped_nack_overwritten += 1;
                continue;
            };
            let rtx = self
                .config
                .rtx
                .and_then(|r| Some((r, r.payload_type_for(payload_type_of(packet))?)));
            let needed = if rtx.is_some() {
                rtx_len(packet)
            } else {
                packet.len()
            };
            let Some(out) = buf.get_mut(..needed) else {
                return Err(BufferTooSmall { needed });
            };
            match rtx {
                Some((rtx, payload_type)) => {
                    write_rtx(
                        packet,
                        sequence,
                        rtx.ssrc,
                        payload_type,
                        self.rtx_sequence,
                        out,
                    );
                    self.rtx_sequence = self.rtx_sequence.wrapping_add(1);
                }
                None => out.copy_from_slice(packet),
            }
            self.pending.pop();
            self.stats.retransmitted_packets += 1;
            self.stats.retransmitted_bytes += needed as u64;
            return Ok(Some(Retransmission {
                packet: out,
                original_sequence: sequence,
                rtx: rtx.is_some(),
            }));
        }
    }

    /// Padding for a bandwidth probe: a recently sent packet resent as RTX, the largest of
    /// the newest few that fits in `size` (else the smallest), so the probe's bytes are
    /// useful if the original was lost and harmless if not (the receiver drops duplicates).
    /// Nothing when RTX is not configured or nothing was sent yet. Neither the NACK budget
    /// nor the resend interval applies; it is counted in `padding_packets`.
    ///
    /// # Errors
    ///
    /// [`BufferTooSmall`] with the size needed.
    pub fn poll_padding(
        &mut self,
        size: usize,
        buf: &mut [u8],
    ) -> Result<Option<usize>, BufferTooSmall> {
        let Some(rtx) = self.config.rtx else {
            return Ok(None);
        };
        let Some(newest) = self.newest else {
            return Ok(None);
        };
        // (sequence, RTX length, RTX payload type) of the best candidate so far.
        let mut best: Option<(u16, usize, u8)> = None;
        for back in 0..PADDING_CANDIDATES {
            let sequence = newest.wrapping_sub(back);
            let Some(record) = self.find(sequence).filter(|r| !r.unsent) else {
                continue;
            };
            let Some(packet) = self.bytes_of(&record) else {
                continue;
            };
            let Some(pt) = rtx.payload_type_for(payload_type_of(packet)) else {
                continue;
            };
            let len = rtx_len(packet);
            let better = match best {
                None => true,
                Some((_, b, _)) if b > size => len < b,
                Some((_, b, _)) => len <= size && len > b,
            };
            if better {
                best = Some((sequence, len, pt));
            }
        }
        let Some((sequence, len, payload_type)) = best else {
            return Ok(None);
        };
        let Some(out) = buf.get_mut(..len) else {
            return Err(BufferTooSmall { needed: len });
        };
        let packet = self.get(sequence).unwrap_or_default();
        write_rtx(
            packet,
            sequence,
            rtx.ssrc,
            payload_type,
            self.rtx_sequence,
            out,
        );
        self.rtx_sequence = self.rtx_sequence.wrapping_add(1);
        self.stats.padding_packets += 1;
        Ok(Some(len))
    }

    /// The bytes of retransmission budget available now (after refilling to `now`).
    pub fn budget_bytes(&mut self, now: Instant) -> u64 {
        let now = self.now.advance(now);
        self.refill(now);
        self.tokens / MICROS_PER_SECOND
    }

    fn bucket(&self) -> u64 {
        u64::from(self.config.budget_burst_bytes) * MICROS_PER_SECOND
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.refilled_at = now;
        // Ten seconds fill any budget that fits in a u32; capping keeps the product in range.
        let micros = elapsed.as_micros().min(10 * u128::from(MICROS_PER_SECOND)) as u64;
        let gained = micros.saturating_mul(u64::from(self.config.budget_bytes_per_second));
        self.tokens = self.tokens.saturating_add(gained).min(self.bucket());
    }

    fn index_of(&self, extended: u64) -> usize {
        (extended % self.packets.max(1) as u64) as usize
    }

    fn record_at(&self, index: usize) -> Option<Record> {
        let at = index.checked_mul(INDEX_RECORD)?;
        let bytes = self.area.as_ref().get(at..self.ring_at)?;
        bytes.first_chunk::<INDEX_RECORD>().map(Record::decode)
    }

    fn write_record(&mut self, index: usize, record: &Record) {
        let at = index * INDEX_RECORD;
        let ring_at = self.ring_at;
        if let Some(bytes) = self
            .area
            .as_mut()
            .get_mut(at..ring_at)
            .and_then(|b| b.first_chunk_mut::<INDEX_RECORD>())
        {
            *bytes = record.encode();
        }
    }

    /// The record of the packet with this extended number, if held: its record not taken by
    /// another number and its bytes not written over.
    fn find_extended(&self, extended: u64) -> Option<Record> {
        let record = self.record_at(self.index_of(extended))?;
        let intact = record.start + self.capacity() as u64 >= self.cursor;
        (record.len != 0 && record.extended == extended && intact).then_some(record)
    }

    /// The record of `sequence`, if held: it lies within half the sequence space behind the
    /// newest kept.
    fn find(&self, sequence: u16) -> Option<Record> {
        let behind = self.newest?.wrapping_sub(sequence);
        if behind >= 0x8000 {
            return None;
        }
        self.find_extended(self.newest_extended.checked_sub(u64::from(behind))?)
    }

    fn oldest_unsent(&self) -> Option<Record> {
        if self.unsent == 0 {
            return None;
        }
        self.find_extended(self.first_unsent)
    }

    fn bytes_of(&self, record: &Record) -> Option<&[u8]> {
        let at = self.ring_at + (record.start % self.capacity().max(1) as u64) as usize;
        self.area.as_ref().get(at..at + usize::from(record.len))
    }
}

/// Where an RTP packet's payload lies.
#[derive(Clone, Copy)]
struct Layout {
    /// The header's length: fixed part, CSRCs, extension.
    header: usize,
    /// Padding bytes at the end (the P bit's count), 0 without.
    padding: usize,
}

/// The layout of `packet`, if it is an RTP packet ([`Packet::parse`]: version 2, the whole
/// header present, a padding count of at least 1 that stays clear of the header).
fn layout(packet: &[u8]) -> Option<Layout> {
    let packet = Packet::parse(packet).ok()?;
    Some(Layout {
        header: packet.header_len(),
        padding: packet.padding_len(),
    })
}

/// `packet` (sequence number `sequence`) as RTX into `out` (exactly [`rtx_len`] bytes): the
/// header with the RTX payload type, sequence number and SSRC, the original sequence number,
/// the payload. The padding stays behind (as aiortc and GStreamer do): P is cleared; the
/// marker bit is kept.
fn write_rtx(
    packet: &[u8],
    sequence: u16,
    ssrc: u32,
    payload_type: u8,
    rtx_sequence: u16,
    out: &mut [u8],
) {
    // Recorded packets passed `layout`; the fallback is never taken.
    let Layout { header, padding } = layout(packet).unwrap_or(Layout {
        header: FIXED_HEADER,
        padding: 0,
    });
    let head = packet.get(..header).unwrap_or_default();
    let body = packet
        .get(header..packet.len() - padding)
        .unwrap_or_default();
    let (out_head, out_rest) = out.split_at_mut(head.len().min(out.len()));
    out_head.copy_from_slice(head);
    if let Some(b) = out_head.get_mut(0) {
        *b &= !0x20;
    }
    if let Some(b) = out_head.get_mut(1) {
        *b = (*b & 0x80) | (payload_type & 0x7f);
    }
    if let Some(b) = out_head.get_mut(2..4) {
        b.copy_from_slice(&rtx_sequence.to_be_bytes());
    }
    if let Some(b) = out_head.get_mut(8..12) {
        b.copy_from_slice(&ssrc.to_be_bytes());
    }
    let (osn, payload) = out_rest.split_at_mut(2.min(out_rest.len()));
    osn.copy_from_slice(&sequence.to_be_bytes());
    if let Some(payload) = payload.get_mut(..body.len()) {
        payload.copy_from_slice(body);
    }
}

/// The length of `packet` as RTX: two bytes more for the OSN, the padding left behind.
fn rtx_len(packet: &[u8]) -> usize {
    packet.len() + 2 - layout(packet).map_or(0, |l| l.padding)
}

fn sequence_of(packet: &[u8]) -> u16 {
    u16::from_be_bytes([
        packet.get(2).copied().unwrap_or(0),
        packet.get(3).copied().unwrap_or(0),
    ])
}

fn payload_type_of(packet: &[u8]) -> u8 {
    packet.get(1).map_or(0, |b| b & 0x7f)
}
