//! The jitter buffer: packets in any order in, whole frames in sequence order out.
//!
//! ```text
//!   insert(now, packet) ──▶ slot[ext_seq % slots]  (payload copied into the lent area)
//!                              │
//!        head = next sequence to release
//!          ├─ frame complete (start .. marker, no hole) ──▶ poll_frame() ──▶ Frame { contiguous, keyframe }
//!          ├─ frame not complete yet, nothing missing ──▶ wait for its tail (no deadline)
//!          ├─ a hole (a missing sequence number)       ──▶ wait; poll_timeout() = first packet
//!          │                                               behind the hole + max_delay
//!          │                                               handle_timeout: give up the hole, skip to the
//!          │                                               next frame start (next frame contiguous: false)
//!          └─ a packet beyond the window (all slots)  ──▶ give up holes until it fits, else Full
//! ```
//!
//! Video frames are the packets of one timestamp from a payload that starts a frame (the
//! [`Depacketizer::inspect`] answer) to the marker bit, or to the packet before the next
//! timestamp's start. Audio releases every packet as a frame. After a skipped video frame,
//! delta frames cannot be decoded: with [`Config::wait_for_keyframe`] they are dropped (counted)
//! until a keyframe arrives, and [`JitterBuffer::needs_keyframe`] tells the caller to ask for
//! one (PLI/FIR, [`super::keyframe`]).
//!
//! The stream opens at the first packet to arrive; until a frame is released, an older packet
//! moves the start back, after that it is late. Frames go out as soon as they are complete:
//! playout timing is the player's, from [`Frame::extended_timestamp`].
//!
//! Sequence numbers and timestamps are extended to 64 bits ([`super::seq`]), so both wraps
//! are ordinary arithmetic.
//!
//! Storage is one byte area ([`Area`]: borrowed or owned), laid out by the buffer itself:
//!
//! ```text
//!   | frame output (max_frame) | index: slots x INDEX_BYTES_PER_SLOT | slot 0 | slot 1 | … (slot_size each) |
//! ```
//!
//! The frame output is where [`JitterBuffer::poll_frame`] rebuilds a frame, so the frame it
//! hands out borrows the buffer. Each index record is fixed-width little-endian: extended
//! sequence (8), extended timestamp (8), arrival in microseconds (8), payload length (4), flags
//! (1: held, marker, starts a frame), 3 reserved (32 in all). The slot count is what fits:
//! [`JitterBuffer::slots_for`].

use core::fmt;
use core::time::Duration;

use peerless_base::{Area, Instant};

use super::seq::{SequenceUnwrapper, TimestampUnwrapper};
use crate::codec::{CodecError, Depacketizer, FrameBuf};

/// What the buffer releases as one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum MediaKind {
    /// Every packet is a frame (Opus, G.711, G.722, telephone-event).
    Audio,
    /// A frame is the packets of one timestamp, from a frame start to the marker.
    Video,
}

/// How the buffer waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Config {
    /// Audio or video framing.
    pub kind: MediaKind,
    /// How long a packet may wait behind a hole before the hole is given up.
    pub max_delay: Duration,
    /// Video: after a skipped frame (and at the start), drop delta frames until a keyframe.
    pub wait_for_keyframe: bool,
    /// The largest frame handed out: the area's frame output. A larger one is refused with
    /// [`PollError::BufferTooSmall`] (then [`JitterBuffer::skip_frame`]).
    pub max_frame: usize,
    /// The largest payload kept: one slot's bytes.
    pub slot_size: usize,
}

impl Config {
    /// Audio: 100 ms of waiting for a late or retransmitted packet; payloads up to
    /// [`MAX_PAYLOAD`] bytes and frames of the same size, since every audio format's frame is
    /// its one payload, copied unchanged.
    #[must_use]
    pub const fn audio() -> Self {
        Config {
            kind: MediaKind::Audio,
            max_delay: Duration::from_millis(100),
            wait_for_keyframe: false,
            max_frame: MAX_PAYLOAD,
            slot_size: MAX_PAYLOAD,
        }
    }

    /// Video: 500 ms (room for a NACK round trip or two), delta frames dropped until a
    /// keyframe; payloads up to [`MAX_PAYLOAD`] bytes, frames up to 256 KiB (a 720p keyframe).
    #[must_use]
    pub const fn video() -> Self {
        Config {
            kind: MediaKind::Video,
            max_delay: Duration::from_millis(500),
            wait_for_keyframe: true,
            max_frame: 262_144,
            slot_size: MAX_PAYLOAD,
        }
    }

    /// The area bytes one slot costs: its payload bytes and its index record.
    #[must_use]
    pub const fn bytes_per_slot(&self) -> usize {
        self.slot_size + INDEX_RECORD
    }

    /// The area that holds the frame output and `slots` slots.
    #[must_use]
    pub const fn area_for(&self, slots: usize) -> usize {
        self.max_frame + slots * self.bytes_per_slot()
    }
}

/// The default largest payload: 1232 bytes, the UDP payload of a 1280-byte IPv6 packet (the
/// smallest MTU IPv6 allows, which WebRTC senders keep under), so any payload a sender sizes for
/// the path fits with room to spare for its RTP header and SRTP tag.
pub const MAX_PAYLOAD: usize = 1232;

/// The bytes of one slot's index record in the area: 29 used, 3 reserved, so a record's
/// place is a shift away.
const INDEX_RECORD: usize = 32;
/// Where the flags sit in an index record, and what they say.
const FLAGS: usize = 28;
const HELD: u8 = 1;
const MARKER: u8 = 2;
const STARTS_FRAME: u8 = 4;

/// The parts of an RTP packet the buffer needs (the header already checked and the padding
/// removed by the packet view: `MediaPacket::from(&packet)` for a [`crate::packet::Packet`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MediaPacket<'a> {
    /// The RTP sequence number.
    pub sequence: u16,
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The marker bit.
    pub marker: bool,
    /// The payload (empty for a padding-only packet, which only fills its sequence number).
    pub payload: &'a [u8],
}

impl<'a> From<&crate::packet::Packet<'a>> for MediaPacket<'a> {
    fn from(packet: &crate::packet::Packet<'a>) -> Self {
        MediaPacket {
            sequence: packet.sequence_number(),
            timestamp: packet.timestamp(),
            marker: packet.marker(),
            payload: packet.payload(),
        }
    }
}

/// A frame released in order, borrowing the buffer's frame output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Frame<'b> {
    /// The depacketized frame.
    pub data: &'b [u8],
    /// The RTP timestamp.
    pub timestamp: u32,
    /// The timestamp extended past its wraps (the first one seen is in cycle 1).
    pub extended_timestamp: u64,
    /// The extended sequence number of the frame's first packet.
    pub first_sequence: u64,
    /// The extended sequence number of its last packet.
    pub last_sequence: u64,
    /// The depacketizer says it decodes on its own.
    pub keyframe: bool,
    /// No frame was skipped between the previous released frame and this one.
    pub contiguous: bool,
}

/// Why `insert` did not keep a packet (each is also counted in [`Stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum InsertError {
    /// The same sequence number is already held.
    Duplicate,
    /// The packet's frame was already released or given up.
    Late,
    /// The payload is larger than a slot.
    TooLarge,
    /// The depacketizer rejected the payload.
    Malformed,
    /// The packet is beyond the window and the frames in front are complete but not polled.
    Full,
    /// The area is too small for the frame output and one slot: nothing can be kept.
    NoSlots,
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InsertError::Duplicate => "duplicate packet",
            InsertError::Late => "packet arrived after its frame was released or given up",
            InsertError::TooLarge => "payload larger than a jitter buffer slot",
            InsertError::Malformed => "payload malformed for its format",
            InsertError::Full => "jitter buffer full of frames not yet polled",
            InsertError::NoSlots => "jitter buffer area too small for a single slot",
        })
    }
}

impl core::error::Error for InsertError {}

/// Why `poll_frame` could not hand a frame out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PollError {
    /// The frame at the head is larger than [`Config::max_frame`]; it stays until
    /// [`JitterBuffer::skip_frame`]. `needed` is a lower bound.
    BufferTooSmall {
        /// Bytes needed at least.
        needed: usize,
    },
}

impl fmt::Display for PollError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PollError::BufferTooSmall { needed } => {
                write!(f, "frame buffer too small: at least {needed} bytes needed")
            }
        }
    }
}

impl core::error::Error for PollError {}

/// What the buffer did, and every packet it dropped, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// Packets kept.
    pub packets: u64,
    /// Frames released.
    pub frames: u64,
    /// Holes given up (by delay or to make room), each making the next frame non-contiguous.
    pub gaps_given_up: u64,
    /// Padding-only packets consumed.
    pub padding: u64,
    /// Duplicates of a held packet.
    pub dropped_duplicate: u64,
    /// Packets behind the release point.
    pub dropped_late: u64,
    /// Payloads larger than a slot.
    pub dropped_too_large: u64,
    /// Payloads the depacketizer rejected at `inspect`.
    pub dropped_malformed: u64,
    /// Packets of frames the depacketizer refused to build (a payload that does not
    /// continue the frame, a fragment without its end).
    pub dropped_malformed_frame: u64,
    /// Packets beyond the window while complete frames waited to be polled.
    pub dropped_full: u64,
    /// Held packets thrown away with a hole given up.
    pub dropped_gave_up: u64,
    /// Packets of delta frames dropped while waiting for a keyframe.
    pub dropped_waiting_for_keyframe: u64,
    /// Packets thrown away when the sender's sequence jumped back and the buffer resynced.
    pub dropped_resync: u64,
    /// Packets of frames the caller skipped with [`JitterBuffer::skip_frame`] (a frame
    /// larger than any buffer it has).
    pub dropped_skipped_frame: u64,
    /// Packets refused because the area holds no slot.
    pub dropped_no_slots: u64,
}

/// One slot's index record, decoded.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    used: bool,
    sequence: u64,
    timestamp: u64,
    arrival: Instant,
    len: usize,
    marker: bool,
    starts_frame: bool,
}

/// What the head of the buffer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Head {
    /// Nothing held.
    Empty,
    /// A padding-only packet to step over.
    Padding,
    /// A whole frame, first to last sequence.
    Frame(u64, u64),
    /// A hole, or a frame not complete yet.
    Blocked,
}

impl Slot {
    #[inline]
    fn decode(record: &[u8; INDEX_RECORD]) -> Slot {
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(record.get(at..at + 8).unwrap_or(&[0; 8]));
            u64::from_le_bytes(bytes)
        };
        let flags = record[FLAGS];
        Slot {
            used: flags & HELD != 0,
            sequence: word(0),
            timestamp: word(8),
            arrival: Instant::from_micros(word(16)),
            len: u32::from_le_bytes([record[24], record[25], record[26], record[27]]) as usize,
            marker: flags & MARKER != 0,
            starts_frame: flags & STARTS_FRAME != 0,
        }
    }

    #[inline]
    fn encode(&self) -> [u8; INDEX_RECORD] {
        let mut flags = 0;
        for (set, flag) in [
            (self.used, HELD),
            (self.marker, MARKER),
            (self.starts_frame, STARTS_FRAME),
        ] {
            if set {
                flags |= flag;
            }
        }
        let len = u32::try_from(self.len).unwrap_or(u32::MAX);
        let mut record = [0u8; INDEX_RECORD];
        record[..8].copy_from_slice(&self.sequence.to_le_bytes());
        record[8..16].copy_from_slice(&self.timestamp.to_le_bytes());
        record[16..24].copy_from_slice(&self.arrival.as_micros().to_le_bytes());
        record[24..28].copy_from_slice(&len.to_le_bytes());
        record[FLAGS] = flags;
        record
    }
}

/// A jitter buffer over one byte area `A` (borrowed or owned), releasing frames through `D`.
///
/// ```
/// use peerless_base::Instant;
/// use peerless_rtp::codec::opus::OpusDepacketizer;
/// use peerless_rtp::receive::{Config, JitterBuffer, MediaPacket};
/// let config = Config::audio();
/// // Owned here (no lifetime to carry); firmware lends `&mut STATIC[..]` the same way.
/// let area = vec![0u8; config.area_for(16)];
/// let mut jb = JitterBuffer::new(config, OpusDepacketizer::new(), area);
/// assert_eq!(jb.slots(), 16);
/// let payload = [0x78, 1, 2, 3]; // an Opus packet
/// let packet = MediaPacket { sequence: 7, timestamp: 960, marker: false, payload: &payload };
/// jb.insert(Instant::ZERO, packet)?;
/// // The frame borrows the buffer's own frame output.
/// let frame = jb.poll_frame().unwrap()?;
/// assert_eq!((frame.data, frame.first_sequence), (&payload[..], 7 + (1 << 16)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg_attr(fuzzing, derive(Clone))]
pub struct JitterBuffer<A, D> {
    config: Config,
    depacketizer: D,
    area: A,
    /// Where the index starts (the frame output's length) and where the slots start.
    index_at: usize,
    slots_at: usize,
    slot_size: usize,
    slots: usize,
    /// A sequence number and its slot index.
    base: (u64, usize),
    sequences: SequenceUnwrapper,
    timestamps: TimestampUnwrapper,
    /// The first sequence not yet released or given up.
    next: Option<u64>,
    /// The newest sequence held or released.
    highest: u64,
    held: usize,
    released_any: bool,
    /// A frame was skipped since the last release.
    skipped: bool,
    waiting_for_keyframe: bool,
    /// When the blocked head gives up.
    deadline: Option<Instant>,
    /// A packet far behind the window: two in a row mean the sender restarted its sequence.
    stray: Option<u64>,
    /// How far [`JitterBuffer::head`] got through the head frame while it was incomplete:
    /// `(next, resume)`, every slot in `next..resume` held and not ending the frame. Held
    /// slots do not change until the head passes them, so the next look resumes there
    /// instead of rescanning the frame at every insert (quadratic in its packets).
    scan: Option<(u64, u64)>,
    now: Instant,
    stats: Stats,
}

impl<A, D> fmt::Debug for JitterBuffer<A, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("config", &self.config)
            .field("slots", &self.slots)
            .field("next", &self.next)
            .field("held", &self.held)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "defmt")]
impl<A, D> defmt::Format for JitterBuffer<A, D> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "JitterBuffer {{ config: {}, slots: {}, next: {}, held: {}, stats: {} }}",
            self.config,
            self.slots,
            self.next,
            self.held,
            self.stats
        );
    }
}

impl<A, D> JitterBuffer<A, D> {
    /// The bytes of one slot's index record: extended sequence, extended timestamp, arrival
    /// (8 bytes each), payload length (4), flags (1), 3 bytes reserved; little-endian.
    pub const INDEX_BYTES_PER_SLOT: usize = INDEX_RECORD;

    /// The slots an area of `area_len` bytes holds under `config`: what is left after the frame
    /// output, at [`Config::bytes_per_slot`] each.
    #[must_use]
    pub const fn slots_for(area_len: usize, config: &Config) -> usize {
        match area_len.checked_sub(config.max_frame) {
            Some(rest) => rest / config.bytes_per_slot(),
            None => 0,
        }
    }
}

impl<A: Area, D: Depacketizer> JitterBuffer<A, D> {
    /// A buffer over `area`: the frame output of [`Config::max_frame`] bytes, then as many
    /// slots of [`Config::slot_size`] bytes (with their index records) as fit. An area too
    /// small for the frame output and one slot makes a buffer that refuses every packet
    /// ([`InsertError::NoSlots`], counted); [`slots`](Self::slots) tells.
    pub fn new(config: Config, depacketizer: D, area: A) -> Self {
        let slots = Self::slots_for(area.as_ref().len(), &config);
        let index_at = config.max_frame;
        let slots_at = index_at + slots * INDEX_RECORD;
        let mut buffer = JitterBuffer {
            config,
            depacketizer,
            area,
            index_at,
            slots_at,
            slot_size: config.slot_size,
            slots,
            base: (0, 0),
            sequences: SequenceUnwrapper::new(),
            timestamps: TimestampUnwrapper::new(),
            next: None,
            highest: 0,
            held: 0,
            released_any: false,
            skipped: false,
            waiting_for_keyframe: config.wait_for_keyframe && config.kind == MediaKind::Video,
            deadline: None,
            stray: None,
            scan: None,
            now: Instant::ZERO,
            stats: Stats::default(),
        };
        buffer.clear_slots();
        buffer
    }

    /// The slots the area holds: how many packets the window spans.
    #[must_use]
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// The largest payload a slot holds.
    #[must_use]
    pub fn slot_size(&self) -> usize {
        self.slot_size
    }

    /// Packets held.
    #[must_use]
    pub fn held(&self) -> usize {
        self.held
    }

    /// The first extended sequence number not yet released or given up: NACKs for anything
    /// older are pointless.
    #[must_use]
    pub fn next_sequence(&self) -> Option<u64> {
        self.next
    }

    /// Video: no keyframe since the start or since a skipped frame, so delta frames are being
    /// dropped; ask the sender for one.
    #[must_use]
    pub fn needs_keyframe(&self) -> bool {
        self.waiting_for_keyframe
    }

    /// The depacketizer (for its own settings).
    pub fn depacketizer(&mut self) -> &mut D {
        &mut self.depacketizer
    }

    /// Takes one packet.
    ///
    /// # Errors
    ///
    /// [`InsertError`] says why the packet was not kept; it is counted in [`Stats`] too.
    pub fn insert(&mut self, now: Instant, packet: MediaPacket<'_>) -> Result<(), InsertError> {
        let now = self.now.advance(now);
        if self.slots == 0 {
            self.stats.dropped_no_slots += 1;
            return Err(InsertError::NoSlots);
        }
        if packet.payload.len() > self.slot_size {
            self.stats.dropped_too_large += 1;
            return Err(InsertError::TooLarge);
        }
        let (starts_frame, padding) = if packet.payload.is_empty() {
            (false, true)
        } else if self.config.kind == MediaKind::Audio {
            (true, false)
        } else {
            match self.depacketizer.inspect(packet.payload) {
                Ok(info) => (info.starts_frame, false),
                Err(_) => {
                    self.stats.dropped_malformed += 1;
                    return Err(InsertError::Malformed);
                }
            }
        };
        let mut sequence = self.sequences.peek(u64::from(packet.sequence));
        let mut next = *self.next.get_or_insert(sequence);
        self.rebase(next);
        if sequence < next && self.take_behind(sequence, next)? {
            // The sender restarted its sequence: this packet opens the new one.
            sequence = self.sequences.peek(u64::from(packet.sequence));
            next = *self.next.get_or_insert(sequence);
        }
        if sequence >= next && sequence - next >= self.slots as u64 {
            self.make_room(sequence)?;
        }
        let index = self.slot_index(sequence);
        if self.record(index).is_none_or(|r| r[FLAGS] & HELD != 0) {
            self.stats.dropped_duplicate += 1;
            return Err(InsertError::Duplicate);
        }
        let start = self.slots_at + index * self.slot_size;
        let Some(room) = self
            .area
            .as_mut()
            .get_mut(start..start + packet.payload.len())
        else {
            self.stats.dropped_too_large += 1;
            return Err(InsertError::TooLarge);
        };
        room.copy_from_slice(packet.payload);
        self.sequences.unwrap(u64::from(packet.sequence));
        let slot = Slot {
            used: true,
            sequence,
            timestamp: self.timestamps.unwrap(u64::from(packet.timestamp)),
            arrival: now,
            len: packet.payload.len(),
            marker: packet.marker,
            starts_frame: starts_frame && !padding,
        };
        if let Some(record) = self.record_mut(index) {
            *record = slot.encode();
        }
        self.stray = None;
        self.held += 1;
        self.highest = self.highest.max(sequence);
        self.stats.packets += 1;
        if padding {
            self.stats.padding += 1;
        }
        self.refresh_deadline();
        Ok(())
    }

    /// A packet behind the release point: before the first release it moves the start back;
    /// after, it is late, unless two in a row far behind say the sender restarted (then the
    /// buffer starts over and the answer is `true`).
    fn take_behind(&mut self, sequence: u64, next: u64) -> Result<bool, InsertError> {
        let span = self.highest.max(next) - sequence;
        if !self.released_any && span < self.slots as u64 {
            self.next = Some(sequence);
            self.scan = None;
            self.deadline = None;
            return Ok(false);
        }
        if next - sequence < self.slots as u64 {
            self.stats.dropped_late += 1;
            return Err(InsertError::Late);
        }
        if self.stray.is_some_and(|s| s + 1 == sequence) {
            self.stats.dropped_resync += self.held as u64;
            self.clear_slots();
            self.sequences = SequenceUnwrapper::new();
            self.timestamps = TimestampUnwrapper::new();
            self.next = None;
            self.highest = 0;
            self.stray = None;
            self.skipped = true;
            self.start_waiting_for_keyframe();
            return Ok(true);
        }
        self.stray = Some(sequence);
        self.stats.dropped_late += 1;
        Err(InsertError::Late)
    }

    /// A packet at or past `next + slots`: give up holes in front until it fits.
    fn make_room(&mut self, sequence: u64) -> Result<(), InsertError> {
        while let Some(next) = self.next {
            if sequence.saturating_sub(next) < self.slots as u64 {
                return Ok(());
            }
            match self.head() {
                Head::Empty => {
                    // Everything between was lost: start over at this packet.
                    self.next = Some(sequence);
                    self.scan = None;
                    self.skipped = true;
                    self.stats.gaps_given_up += 1;
                    self.start_waiting_for_keyframe();
                    return Ok(());
                }
                Head::Padding => self.free_head(),
                Head::Blocked => self.give_up(),
                Head::Frame(..) => {
                    self.stats.dropped_full += 1;
                    return Err(InsertError::Full);
                }
            }
        }
        Ok(())
    }

    /// The area's frame output: the last frame [`poll_frame`](Self::poll_frame) handed out
    /// starts at its first byte, so a caller that kept only the frame's length (to end the
    /// borrow) can read it again.
    #[must_use]
    pub fn frame_buffer(&self) -> &[u8] {
        self.area.as_ref().get(..self.index_at).unwrap_or_default()
    }

    /// The lent area back (the stream ended).
    pub fn into_area(self) -> A {
        self.area
    }

    /// Hands out the next complete frame, depacketized into the area's frame output; the
    /// frame borrows the buffer until the next call.
    ///
    /// Call until `None` after every `insert` and `handle_timeout`.
    ///
    /// # Errors
    ///
    /// [`PollError::BufferTooSmall`] when the frame is larger than [`Config::max_frame`]; it
    /// stays at the head until [`skip_frame`](Self::skip_frame).
    pub fn poll_frame(&mut self) -> Option<Result<Frame<'_>, PollError>> {
        loop {
            let (first, last) = match self.head() {
                Head::Empty => return None,
                Head::Blocked => {
                    // A release can uncover a hole whose packets already waited too long:
                    // give it up now rather than leave a deadline in the past.
                    if self.deadline.is_some_and(|d| d <= self.now) {
                        self.give_up();
                        continue;
                    }
                    return None;
                }
                Head::Padding => {
                    self.free_head();
                    self.after_head_moved();
                    continue;
                }
                Head::Frame(first, last) => (first, last),
            };
            let built = self.build(first, last);
            let packets = last - first + 1;
            match built {
                Err(CodecError::BufferTooSmall { needed }) => {
                    return Some(Err(PollError::BufferTooSmall { needed }));
                }
                Err(_) => {
                    self.stats.dropped_malformed_frame += packets;
                    self.release(last);
                    self.skipped = true;
                    self.start_waiting_for_keyframe();
                }
                Ok(info) => {
                    let slot = self.slot(first);
                    let timestamp = slot.timestamp;
                    self.release(last);
                    let video = self.config.kind == MediaKind::Video;
                    if video && self.waiting_for_keyframe && !info.keyframe {
                        self.stats.dropped_waiting_for_keyframe += packets;
                        self.skipped = true;
                        continue;
                    }
                    if info.keyframe {
                        self.waiting_for_keyframe = false;
                    }
                    let contiguous = !self.skipped;
                    self.skipped = false;
                    self.released_any = true;
                    self.stats.frames += 1;
                    let out = self.area.as_ref().get(..self.index_at).unwrap_or_default();
                    return Some(Ok(Frame {
                        data: out.get(..info.len).unwrap_or_default(),
                        timestamp: timestamp as u32,
                        extended_timestamp: timestamp,
                        first_sequence: first,
                        last_sequence: last,
                        keyframe: info.keyframe,
                        contiguous,
                    }));
                }
            }
        }
    }

    /// Drops the complete frame at the head, the one [`poll_frame`](Self::poll_frame) refused
    /// with [`PollError::BufferTooSmall`]. Without it a host whose buffers are all fixed would
    /// keep that frame at the head for ever, and every packet after it would be refused as
    /// full: a sender could stall the stream with one frame that depacketizes larger than the
    /// host's buffer (H.264 start codes make a STAP-A grow). The next frame is not contiguous
    /// and video waits for a keyframe. Returns the packets dropped (0 when no frame is
    /// complete at the head).
    pub fn skip_frame(&mut self) -> u64 {
        let Head::Frame(first, last) = self.head() else {
            return 0;
        };
        let packets = last - first + 1;
        self.stats.dropped_skipped_frame += packets;
        self.release(last);
        self.skipped = true;
        self.start_waiting_for_keyframe();
        packets
    }

    /// When a hole gives up, if one blocks the head.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Gives up holes whose waiting packets are older than the delay allows.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.now.advance(now);
        while self.deadline.is_some_and(|d| d <= now) {
            if self.head() != Head::Blocked {
                // A frame is ready: it is the caller's to poll, nothing to give up.
                self.deadline = None;
                break;
            }
            self.give_up();
        }
    }

    fn start_waiting_for_keyframe(&mut self) {
        if self.config.kind == MediaKind::Video && self.config.wait_for_keyframe {
            self.waiting_for_keyframe = true;
        }
    }

    #[inline]
    fn slot_index(&self, sequence: u64) -> usize {
        // Look-ups cluster just past the head: count on from a known slot, and divide only
        // for the others.
        let (base, base_index) = self.base;
        let ahead = sequence.wrapping_sub(base);
        if ahead < self.slots as u64 {
            let index = base_index + ahead as usize;
            return if index >= self.slots {
                index - self.slots
            } else {
                index
            };
        }
        (sequence % (self.slots.max(1) as u64)) as usize
    }

    /// Moves the known slot to `sequence` (the head), so the look-ups after it count on.
    fn rebase(&mut self, sequence: u64) {
        if self.base.0 != sequence {
            self.base = (sequence, self.slot_index(sequence));
        }
    }

    #[inline]
    fn records(&self) -> &[[u8; INDEX_RECORD]] {
        let index = self
            .area
            .as_ref()
            .get(self.index_at..self.slots_at)
            .unwrap_or_default();
        index.as_chunks::<INDEX_RECORD>().0
    }

    #[inline]
    fn record(&self, index: usize) -> Option<&[u8; INDEX_RECORD]> {
        self.records().get(index)
    }

    #[inline]
    fn record_mut(&mut self, index: usize) -> Option<&mut [u8; INDEX_RECORD]> {
        let (at, end) = (self.index_at, self.slots_at);
        let records = self.area.as_mut().get_mut(at..end).unwrap_or_default();
        records.as_chunks_mut::<INDEX_RECORD>().0.get_mut(index)
    }

    /// The record of `sequence`, if its slot holds it.
    #[inline]
    fn holding(&self, sequence: u64) -> Option<&[u8; INDEX_RECORD]> {
        self.record(self.slot_index(sequence))
            .filter(|r| holds(r, sequence))
    }

    /// The records of `from..=to` in order, each with its sequence number, `None` where its
    /// slot does not hold it: one look-up for the first, then the next slot each time.
    fn window(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = (u64, Option<&[u8; INDEX_RECORD]>)> + '_ {
        let records = self.records();
        let mut index = self.slot_index(from);
        (from..=to).map(move |sequence| {
            let record = records.get(index).filter(|r| holds(r, sequence));
            index += 1;
            if index == records.len() {
                index = 0;
            }
            (sequence, record)
        })
    }

    /// The record of `sequence`, if its slot holds it (an empty one otherwise).
    #[inline]
    fn slot(&self, sequence: u64) -> Slot {
        self.holding(sequence).map(Slot::decode).unwrap_or_default()
    }

    fn head(&mut self) -> Head {
        let Some(next) = self.next else {
            return Head::Empty;
        };
        if self.held == 0 {
            return Head::Empty;
        }
        let Some(first) = self.holding(next) else {
            return Head::Blocked;
        };
        if len_of(first) == 0 {
            return Head::Padding;
        }
        if self.config.kind == MediaKind::Audio {
            return Head::Frame(next, next);
        }
        if first[FLAGS] & STARTS_FRAME == 0 {
            return Head::Blocked;
        }
        let first_timestamp = timestamp_of(first);
        let start = match self.scan {
            Some((from, resume)) if from == next => resume,
            _ => next,
        };
        let highest = self.highest;
        // One walk over the slots from where the last look stopped to one past the newest
        // (each slot is looked at with its follower).
        let records = self.records();
        let mut index = self.slot_index(start);
        let mut sequence = start;
        // Each slot is looked at with its follower, reading only the fields needed.
        let mut current = records.get(index).filter(|r| holds(r, sequence));
        let (head, scan) = loop {
            let Some(record) = current else {
                // The slot before looked at this one as its follower: look again from there.
                break (Head::Blocked, Some(sequence.saturating_sub(1).max(next)));
            };
            if record[FLAGS] & MARKER != 0 && timestamp_of(record) == first_timestamp {
                break (Head::Frame(next, sequence), None);
            }
            index += 1;
            if index == records.len() {
                index = 0;
            }
            let following = records.get(index).filter(|r| holds(r, sequence + 1));
            if following.is_some_and(|f| timestamp_of(f) != first_timestamp && len_of(f) > 0) {
                // The marker was not set (or lost with nothing after it): a new timestamp ends
                // the frame.
                break (Head::Frame(next, sequence), None);
            }
            if sequence >= highest {
                break (Head::Blocked, Some(sequence));
            }
            sequence += 1;
            current = following;
        };
        if let Some(resume) = scan {
            self.scan = Some((next, resume));
        }
        head
    }

    /// Runs the depacketizer over the frame's payloads.
    fn build(&mut self, first: u64, last: u64) -> Result<crate::codec::FrameInfo, CodecError> {
        let slots = self.slots;
        let mut at = self.slot_index(first);
        let (out, stored) = self
            .area
            .as_mut()
            .split_at_mut_checked(self.index_at)
            .ok_or(CodecError::Malformed)?;
        let (index, payloads) = stored
            .split_at_mut_checked(slots * INDEX_RECORD)
            .ok_or(CodecError::Malformed)?;
        let records = index.as_chunks::<INDEX_RECORD>().0;
        let mut frame = FrameBuf::new(out);
        self.depacketizer.reset();
        for sequence in first..=last {
            let len = records
                .get(at)
                .filter(|r| holds(r, sequence))
                .map_or(0, |r| len_of(r) as usize);
            let start = at * self.slot_size;
            at += 1;
            if at == slots {
                at = 0;
            }
            if len == 0 {
                continue;
            }
            let payload = payloads
                .get(start..start + len)
                .ok_or(CodecError::Malformed)?;
            if let Err(e) = self.depacketizer.push(payload, &mut frame) {
                self.depacketizer.reset();
                return Err(e);
            }
        }
        let info = self.depacketizer.finish(&mut frame);
        if info.is_err() {
            self.depacketizer.reset();
        }
        info
    }

    /// Frees the head's slots through `last` and moves the head past it.
    fn release(&mut self, last: u64) {
        while self.next.is_some_and(|n| n <= last) {
            self.free_head();
        }
        self.after_head_moved();
    }

    fn free_head(&mut self) {
        let Some(next) = self.next else { return };
        let index = self.slot_index(next);
        if let Some(record) = self.record_mut(index)
            && holds(record, next)
        {
            record[FLAGS] &= !HELD;
            self.held -= 1;
        }
        self.next = Some(next + 1);
        self.base = (
            next + 1,
            if index + 1 >= self.slots {
                0
            } else {
                index + 1
            },
        );
        self.scan = None;
    }

    /// Skips the blocked head to the next frame start past it (audio: the next held packet),
    /// dropping what lies between.
    fn give_up(&mut self) {
        let Some(next) = self.next else { return };
        let head_timestamp = self.slot(next);
        let resume = self.window(next + 1, self.highest).find_map(|(s, r)| {
            let slot = Slot::decode(r?);
            let resumes = slot.len > 0
                && match self.config.kind {
                    MediaKind::Audio => true,
                    MediaKind::Video => {
                        slot.starts_frame
                            && !(head_timestamp.used && slot.timestamp == head_timestamp.timestamp)
                    }
                };
            resumes.then_some(s)
        });
        let resume = resume.unwrap_or(self.highest + 1);
        let before = self.held;
        while self.held > 0 && self.next.is_some_and(|n| n < resume) {
            self.free_head();
        }
        self.next = self.next.map(|n| n.max(resume));
        self.scan = None;
        self.stats.dropped_gave_up += (before - self.held) as u64;
        self.stats.gaps_given_up += 1;
        self.skipped = true;
        self.start_waiting_for_keyframe();
        self.deadline = None;
        self.refresh_deadline();
    }

    fn after_head_moved(&mut self) {
        self.deadline = None;
        self.refresh_deadline();
    }

    /// Arms the deadline when a hole blocks the head: `max_delay` after the first packet
    /// that arrived behind the hole. A frame whose tail has not arrived yet, with nothing
    /// missing up to the newest packet, is not a hole: a paced keyframe may take longer than
    /// the delay to arrive.
    fn refresh_deadline(&mut self) {
        if self.head() != Head::Blocked {
            self.deadline = None;
            return;
        }
        if self.deadline.is_some() {
            return;
        }
        let Some(next) = self.next else { return };
        let head = self.slot(next);
        let lost_start = self.config.kind == MediaKind::Video && !head.starts_frame;
        let hole = if !head.used || lost_start {
            Some(next)
        } else {
            // `head` just found every slot before its resume point held.
            let from = match self.scan {
                Some((from, resume)) if from == next => resume,
                _ => next,
            };
            self.window(from, self.highest)
                .find(|(_, r)| r.is_none())
                .map(|(s, _)| s)
        };
        let Some(hole) = hole else { return };
        // Every held packet lies at or below `highest`, within one window of the head.
        let waiting = self
            .window(hole, self.highest)
            .filter_map(|(_, r)| r)
            .map(|r| u64::from_le_bytes([r[16], r[17], r[18], r[19], r[20], r[21], r[22], r[23]]))
            .min()
            .map(Instant::from_micros);
        self.deadline = waiting.map(|t| t.saturating_add(self.config.max_delay));
    }

    fn clear_slots(&mut self) {
        for index in 0..self.slots {
            if let Some(record) = self.record_mut(index) {
                record[FLAGS] &= !HELD;
            }
        }
        self.held = 0;
        self.deadline = None;
        self.scan = None;
    }
}

/// Whether `record` holds `sequence`.
#[inline]
fn holds(record: &[u8; INDEX_RECORD], sequence: u64) -> bool {
    record[FLAGS] & HELD != 0
        && u64::from_le_bytes([
            record[0], record[1], record[2], record[3], record[4], record[5], record[6], record[7],
        ]) == sequence
}

/// The extended timestamp in `record`.
#[inline]
fn timestamp_of(record: &[u8; INDEX_RECORD]) -> u64 {
    u64::from_le_bytes([
        record[8], record[9], record[10], record[11], record[12], record[13], record[14],
        record[15],
    ])
}

/// The payload length in `record`.
#[inline]
fn len_of(record: &[u8; INDEX_RECORD]) -> u32 {
    u32::from_le_bytes([record[24], record[25], record[26], record[27]])
}
