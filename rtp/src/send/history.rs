//! The send history: packets kept after they leave, to answer NACKs (RFC 4585 §6.2.1) as RTX
//! (RFC 4588) or as a plain retransmission, within a byte budget.
//!
//! ```text
//!   sender ──record(now, packet)──▶ slots[seq % n] ──▶ bytes (a ring, oldest overwritten first)
//!   NACK ───handle_nack(now, lost)──▶ check: in the ring? sent long enough ago? budget left?
//!                                       │ yes: queue the sequence number      no: dropped_nack_<why>
//!   poll_transmit(buf) ◀────────────────┘
//!     RTX:   | header: RTX PT, RTX seq, RTX SSRC, P clear | original seq (OSN) | original payload |
//!     plain: the packet as it was first sent (padding and all)
//! ```
//!
//! Storage is lent: a byte area that holds the packets back to back (wrapping to the start when
//! the next one does not fit before the end) and a table of [`HistorySlot`]s indexed by
//! sequence number. A packet is gone when either its slot is taken by a sequence number one
//! table length later or its bytes are written over; both are checked on every look-up, so a
//! NACK can never be answered with another packet's bytes.
//!
//! Positions in the byte area are *logical*: they only grow, and a packet's bytes are intact
//! while fewer than `bytes.len()` bytes have been claimed after its start. That one comparison
//! replaces any eviction bookkeeping.

use core::fmt;
use core::time::Duration;

use peerless_base::{BufferTooSmall, Instant, Queue};

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

/// One entry of the lent sequence-number table. Lend `[HistorySlot::EMPTY; N]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HistorySlot {
    /// Where the packet starts, as a logical position in the byte area.
    start: u64,
    /// When the packet was last sent (first sending or a retransmission).
    last_sent: Instant,
    /// Packet length; 0 marks an empty slot.
    len: u16,
    sequence: u16,
}

impl HistorySlot {
    /// A slot holding nothing.
    pub const EMPTY: HistorySlot = HistorySlot {
        start: 0,
        last_sent: Instant::ZERO,
        len: 0,
        sequence: 0,
    };
}

/// Why a packet was not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RecordError {
    /// Not an RTP packet: shorter than its header, version not 2, CSRCs or extension past
    /// the end.
    Malformed,
    /// The packet is larger than the byte area (or than 65 535 bytes).
    TooLarge {
        /// The packet's length.
        len: usize,
        /// The byte area's length.
        capacity: usize,
    },
    /// The sequence number is not after the newest recorded one (a retransmission, or a
    /// restarted stream: [`SendHistory::reset`] first).
    NotNewer,
    /// The slot table is empty.
    NoSlots,
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
            RecordError::NoSlots => f.write_str("the history has no slots"),
        }
    }
}

impl core::error::Error for RecordError {}

/// What the history did, and what it refused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct HistoryStats {
    /// Packets recorded.
    pub recorded: u64,
    /// Retransmissions written (RTX or plain).
    pub retransmitted_packets: u64,
    /// Their bytes (as written: with the OSN for RTX).
    pub retransmitted_bytes: u64,
    /// NACKed packets no longer in the ring (overwritten, or never recorded).
    pub dropped_nack_overwritten: u64,
    /// NACKed sequence numbers after the newest sent (a confused or hostile receiver).
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

/// The send history of one RTP stream, over lent storage; `PENDING` retransmissions can wait
/// between [`handle_nack`](Self::handle_nack) and [`poll_transmit`](Self::poll_transmit).
///
/// ```
/// use peerless_base::Instant;
/// use peerless_rtp::send::{HistoryConfig, HistorySlot, Rtx, SendHistory};
/// let (mut bytes, mut slots) = ([0u8; 4096], [HistorySlot::EMPTY; 16]);
/// let config = HistoryConfig { rtx: Some(Rtx::new(0x5678, 100, 96, 97)), ..Default::default() };
/// let mut history: SendHistory<'_> = SendHistory::new(config, &mut bytes, &mut slots);
/// // V=2, PT 96, seq 7, timestamp 1000, SSRC 0x1234, payload "abc"
/// let packet = [0x80, 96, 0, 7, 0, 0, 0x03, 0xe8, 0, 0, 0x12, 0x34, b'a', b'b', b'c'];
/// history.record(Instant::from_millis(0), &packet)?;
/// history.handle_nack(Instant::from_millis(50), [7]);
/// let mut buf = [0u8; 1500];
/// let rtx = history.poll_transmit(&mut buf)?.unwrap();
/// assert_eq!(rtx.packet, [0x80, 97, 0, 100, 0, 0, 0x03, 0xe8, 0, 0, 0x56, 0x78, 0, 7, b'a', b'b', b'c']);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SendHistory<'a, const PENDING: usize = 64> {
    config: HistoryConfig,
    bytes: &'a mut [u8],
    slots: &'a mut [HistorySlot],
    /// The logical end of the newest packet's bytes.
    cursor: u64,
    newest: Option<u16>,
    rtx_sequence: u16,
    /// Budget in byte-microseconds: one byte costs a million.
    tokens: u64,
    refilled_at: Instant,
    now: Instant,
    pending: Queue<u16, PENDING>,
    stats: HistoryStats,
}

impl<const PENDING: usize> fmt::Debug for SendHistory<'_, PENDING> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendHistory")
            .field("bytes", &self.bytes.len())
            .field("slots", &self.slots.len())
            .field("newest", &self.newest)
            .field("pending", &self.pending.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<'a, const PENDING: usize> SendHistory<'a, PENDING> {
    /// A history keeping packets in `bytes`, indexed by `slots` (one per sequence number it
    /// can remember). The budget starts full.
    pub fn new(config: HistoryConfig, bytes: &'a mut [u8], slots: &'a mut [HistorySlot]) -> Self {
        slots.fill(HistorySlot::EMPTY);
        SendHistory {
            rtx_sequence: config.rtx.map_or(0, |r| r.first_sequence),
            tokens: u64::from(config.budget_burst_bytes) * MICROS_PER_SECOND,
            config,
            bytes,
            slots,
            cursor: 0,
            newest: None,
            refilled_at: Instant::ZERO,
            now: Instant::ZERO,
            pending: Queue::new(),
            stats: HistoryStats::default(),
        }
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

    /// The next RTX sequence number to be used.
    #[must_use]
    pub fn next_rtx_sequence(&self) -> u16 {
        self.rtx_sequence
    }

    /// Forgets every packet and pending retransmission (a new SSRC or a sequence jump).
    pub fn reset(&mut self) {
        self.slots.fill(HistorySlot::EMPTY);
        self.newest = None;
        self.pending.clear();
    }

    /// Keeps a copy of `packet` (a whole RTP packet, before SRTP) sent at `now`.
    ///
    /// # Errors
    ///
    /// [`RecordError`]: the packet is not RTP, does not fit, or is not newer than the last.
    pub fn record(&mut self, now: Instant, packet: &[u8]) -> Result<(), RecordError> {
        let now = self.now.advance(now);
        if layout(packet).is_none() {
            return Err(RecordError::Malformed);
        }
        let sequence = sequence_of(packet);
        let capacity = self.bytes.len();
        let len = u16::try_from(packet.len())
            .ok()
            .filter(|&l| usize::from(l) <= capacity)
            .ok_or(RecordError::TooLarge {
                len: packet.len(),
                capacity,
            })?;
        if self.slots.is_empty() {
            return Err(RecordError::NoSlots);
        }
        if let Some(newest) = self.newest {
            let ahead = sequence.wrapping_sub(newest);
            if ahead == 0 || ahead >= 0x8000 {
                return Err(RecordError::NotNewer);
            }
            // A jump forward leaves the skipped slots holding packets of a lap ago: clear
            // them, so a NACK for a skipped number is refused rather than answered from the
            // wrong lap. Only the slots the jump passes over, at most the whole table.
            let skipped = usize::from(ahead - 1).min(self.slots.len());
            for k in 1..=skipped {
                let index = self.slot_index(newest.wrapping_add(k as u16));
                if let Some(slot) = self.slots.get_mut(index) {
                    *slot = HistorySlot::EMPTY;
                }
            }
        }
        // Place the packet at the cursor, or at the area's start when it would cross its end.
        let capacity = capacity as u64;
        let offset = self.cursor % capacity;
        let mut start = self.cursor;
        if offset + u64::from(len) > capacity {
            start += capacity - offset;
        }
        let at = (start % capacity) as usize;
        let Some(dest) = self.bytes.get_mut(at..at + usize::from(len)) else {
            return Err(RecordError::TooLarge {
                len: packet.len(),
                capacity: self.bytes.len(),
            });
        };
        dest.copy_from_slice(packet);
        self.cursor = start + u64::from(len);
        let index = self.slot_index(sequence);
        if let Some(slot) = self.slots.get_mut(index) {
            *slot = HistorySlot {
                start,
                last_sent: now,
                len,
                sequence,
            };
        }
        self.newest = Some(sequence);
        self.stats.recorded += 1;
        Ok(())
    }

    /// Whether the packet with this sequence number is still held.
    #[must_use]
    pub fn contains(&self, sequence: u16) -> bool {
        self.find(sequence).is_some()
    }

    /// The packet with this sequence number, as recorded, if still held.
    #[must_use]
    pub fn get(&self, sequence: u16) -> Option<&[u8]> {
        let slot = self.find(sequence)?;
        let at = (slot.start % self.bytes.len() as u64) as usize;
        self.bytes.get(at..at + usize::from(slot.len))
    }

    /// A receiver lost these packets (the sequence numbers of a generic NACK, RFC 4585
    /// §6.2.1). Each one still held, not sent within `min_resend_interval`, and within the
    /// budget is queued for [`poll_transmit`](Self::poll_transmit); every other one is
    /// counted in [`stats`](Self::stats) under its reason.
    pub fn handle_nack(&mut self, now: Instant, lost: impl IntoIterator<Item = u16>) {
        let now = self.now.advance(now);
        self.refill(now);
        for sequence in lost {
            let index = self.slot_index(sequence);
            let Some(slot) = self.find(sequence).copied() else {
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
            if now.saturating_duration_since(slot.last_sent) < self.config.min_resend_interval {
                self.stats.dropped_nack_too_soon += 1;
                continue;
            }
            let mut cost = u64::from(slot.len);
            if let Some(rtx) = self.config.rtx {
                let packet = self.get(sequence).unwrap_or_default();
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
            if let Some(slot) = self.slots.get_mut(index) {
                slot.last_sent = now;
            }
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
                    // The padding stays behind (as aiortc and GStreamer do): clear P. Keep the
                    // marker bit; give the RTX payload type, sequence number and SSRC.
                    if let Some(b) = out_head.get_mut(0) {
                        *b &= !0x20;
                    }
                    if let Some(b) = out_head.get_mut(1) {
                        *b = (*b & 0x80) | (payload_type & 0x7f);
                    }
                    if let Some(b) = out_head.get_mut(2..4) {
                        b.copy_from_slice(&self.rtx_sequence.to_be_bytes());
                    }
                    if let Some(b) = out_head.get_mut(8..12) {
                        b.copy_from_slice(&rtx.ssrc.to_be_bytes());
                    }
                    let (osn, payload) = out_rest.split_at_mut(2.min(out_rest.len()));
                    osn.copy_from_slice(&sequence.to_be_bytes());
                    payload.copy_from_slice(body);
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

    /// The bytes of retransmission budget available now (after refilling to `now`).
    pub fn budget_bytes(&mut self, now: Instant) -> u64 {
        let now = self.now.advance(now);
        self.refill(now);
        self.tokens / MICROS_PER_SECOND
    }

    fn capacity(&self) -> u64 {
        u64::from(self.config.budget_burst_bytes) * MICROS_PER_SECOND
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.refilled_at = now;
        // Ten seconds fill any budget that fits in a u32; capping keeps the product in range.
        let micros = elapsed.as_micros().min(10 * u128::from(MICROS_PER_SECOND)) as u64;
        let gained = micros.saturating_mul(u64::from(self.config.budget_bytes_per_second));
        self.tokens = self.tokens.saturating_add(gained).min(self.capacity());
    }

    fn slot_index(&self, sequence: u16) -> usize {
        usize::from(sequence) % self.slots.len().max(1)
    }

    fn find(&self, sequence: u16) -> Option<&HistorySlot> {
        let slot = self.slots.get(self.slot_index(sequence))?;
        let intact = slot.start + self.bytes.len() as u64 >= self.cursor;
        (slot.len != 0 && slot.sequence == sequence && intact).then_some(slot)
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
