//! The jitter buffer: packets in any order in, whole frames in sequence order out.
//!
//! ```text
//!   insert(now, packet) ──▶ slot[ext_seq % N]  (payload copied into the lent area)
//!                              │
//!        head = next sequence to release
//!          ├─ frame complete (start .. marker, no hole) ──▶ poll_frame(out) ──▶ Frame { contiguous, keyframe }
//!          ├─ frame not complete yet, nothing missing ──▶ wait for its tail (no deadline)
//!          ├─ a hole (a missing sequence number)       ──▶ wait; poll_timeout() = first packet
//!          │                                               behind the hole + max_delay
//!          │                                               handle_timeout: give up the hole, skip to the
//!          │                                               next frame start (next frame contiguous: false)
//!          └─ a packet beyond the window (N slots)    ──▶ give up holes until it fits, else Full
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
//! are ordinary arithmetic. Storage is `N` slot descriptors inline and one byte area lent by
//! the caller, cut into `N` equal slots of `area.len() / N` bytes (the largest payload kept).

use core::fmt;
use core::time::Duration;

use peerless_base::Instant;

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
}

impl Config {
    /// Audio: 100 ms of waiting for a late or retransmitted packet.
    #[must_use]
    pub const fn audio() -> Self {
        Config {
            kind: MediaKind::Audio,
            max_delay: Duration::from_millis(100),
            wait_for_keyframe: false,
        }
    }

    /// Video: 500 ms (room for a NACK round trip or two), delta frames dropped until a keyframe.
    #[must_use]
    pub const fn video() -> Self {
        Config {
            kind: MediaKind::Video,
            max_delay: Duration::from_millis(500),
            wait_for_keyframe: true,
        }
    }
}

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

/// A frame released in order, borrowing the caller's buffer.
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
}

impl fmt::Display for InsertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InsertError::Duplicate => "duplicate packet",
            InsertError::Late => "packet arrived after its frame was released or given up",
            InsertError::TooLarge => "payload larger than a jitter buffer slot",
            InsertError::Malformed => "payload malformed for its format",
            InsertError::Full => "jitter buffer full of frames not yet polled",
        })
    }
}

impl core::error::Error for InsertError {}

/// Why `poll_frame` could not hand a frame out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum PollError {
    /// The caller's buffer is too small for the frame at the head; it stays, so the call can
    /// be repeated with a larger buffer. `needed` is a lower bound.
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
}

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

/// A jitter buffer of `N` slots over a lent byte area, releasing frames through `D`.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct JitterBuffer<'a, D, const N: usize> {
    config: Config,
    depacketizer: D,
    area: &'a mut [u8],
    slot_size: usize,
    slots: [Slot; N],
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

impl<D, const N: usize> fmt::Debug for JitterBuffer<'_, D, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitterBuffer")
            .field("config", &self.config)
            .field("slot_size", &self.slot_size)
            .field("next", &self.next)
            .field("held", &self.held)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl<'a, D: Depacketizer, const N: usize> JitterBuffer<'a, D, N> {
    /// A buffer over `area`, cut into `N` slots of `area.len() / N` bytes: the largest payload
    /// it keeps.
    pub fn new(config: Config, depacketizer: D, area: &'a mut [u8]) -> Self {
        let slot_size = area.len().checked_div(N).unwrap_or(0);
        JitterBuffer {
            config,
            depacketizer,
            area,
            slot_size,
            slots: [Slot::default(); N],
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
        }
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
        if sequence < next && self.take_behind(sequence, next)? {
            // The sender restarted its sequence: this packet opens the new one.
            sequence = self.sequences.peek(u64::from(packet.sequence));
            next = *self.next.get_or_insert(sequence);
        }
        if sequence >= next && sequence - next >= N as u64 {
            self.make_room(sequence)?;
        }
        let Some(slot) = self.slots.get_mut(slot_index::<N>(sequence)) else {
            self.stats.dropped_full += 1;
            return Err(InsertError::Full);
        };
        if slot.used {
            self.stats.dropped_duplicate += 1;
            return Err(InsertError::Duplicate);
        }
        let start = slot_index::<N>(sequence) * self.slot_size;
        let Some(room) = self.area.get_mut(start..start + packet.payload.len()) else {
            self.stats.dropped_too_large += 1;
            return Err(InsertError::TooLarge);
        };
        room.copy_from_slice(packet.payload);
        self.sequences.unwrap(u64::from(packet.sequence));
        *slot = Slot {
            used: true,
            sequence,
            timestamp: self.timestamps.unwrap(u64::from(packet.timestamp)),
            arrival: now,
            len: packet.payload.len(),
            marker: packet.marker,
            starts_frame: starts_frame && !padding,
        };
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
        if !self.released_any && span < N as u64 {
            self.next = Some(sequence);
            self.scan = None;
            self.deadline = None;
            return Ok(false);
        }
        if next - sequence < N as u64 {
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

    /// A packet at or past `next + N`: give up holes in front until it fits.
    fn make_room(&mut self, sequence: u64) -> Result<(), InsertError> {
        while let Some(next) = self.next {
            if sequence.saturating_sub(next) < N as u64 {
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

    /// Hands out the next complete frame, depacketized into `out`.
    ///
    /// Call until `None` after every `insert` and `handle_timeout`.
    ///
    /// # Errors
    ///
    /// [`PollError::BufferTooSmall`] when the frame does not fit `out`; it stays at the head,
    /// for a larger buffer or [`skip_frame`](Self::skip_frame).
    pub fn poll_frame<'b>(&mut self, out: &'b mut [u8]) -> Option<Result<Frame<'b>, PollError>> {
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
            let built = self.build(first, last, out);
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

    fn slot(&self, sequence: u64) -> Slot {
        self.slots
            .get(slot_index::<N>(sequence))
            .copied()
            .filter(|s| s.used && s.sequence == sequence)
            .unwrap_or_default()
    }

    fn head(&mut self) -> Head {
        let Some(next) = self.next else {
            return Head::Empty;
        };
        if self.held == 0 {
            return Head::Empty;
        }
        let first = self.slot(next);
        if !first.used {
            return Head::Blocked;
        }
        if first.len == 0 {
            return Head::Padding;
        }
        if self.config.kind == MediaKind::Audio {
            return Head::Frame(next, next);
        }
        if !first.starts_frame {
            return Head::Blocked;
        }
        let mut sequence = match self.scan {
            Some((from, resume)) if from == next => resume,
            _ => next,
        };
        loop {
            let slot = self.slot(sequence);
            if !slot.used {
                // The slot before looked at this one as its follower: look again from there.
                self.scan = Some((next, sequence.saturating_sub(1).max(next)));
                return Head::Blocked;
            }
            if slot.marker && slot.timestamp == first.timestamp {
                return Head::Frame(next, sequence);
            }
            let following = self.slot(sequence + 1);
            if following.used && following.timestamp != first.timestamp && following.len > 0 {
                // The marker was not set (or lost with nothing after it): a new timestamp ends
                // the frame.
                return Head::Frame(next, sequence);
            }
            if sequence >= self.highest {
                self.scan = Some((next, sequence));
                return Head::Blocked;
            }
            sequence += 1;
        }
    }

    /// Runs the depacketizer over the frame's payloads.
    fn build(
        &mut self,
        first: u64,
        last: u64,
        out: &mut [u8],
    ) -> Result<crate::codec::FrameInfo, CodecError> {
        let mut frame = FrameBuf::new(out);
        self.depacketizer.reset();
        for sequence in first..=last {
            let slot = self.slot(sequence);
            if slot.len == 0 {
                continue;
            }
            let start = slot_index::<N>(sequence) * self.slot_size;
            let payload = self
                .area
                .get(start..start + slot.len)
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
        if let Some(slot) = self.slots.get_mut(slot_index::<N>(next))
            && slot.used
            && slot.sequence == next
        {
            slot.used = false;
            self.held -= 1;
        }
        self.next = Some(next + 1);
        self.scan = None;
    }

    /// Skips the blocked head to the next frame start past it (audio: the next held packet),
    /// dropping what lies between.
    fn give_up(&mut self) {
        let Some(next) = self.next else { return };
        let head_timestamp = self.slot(next);
        let resume = (next + 1..=self.highest).find(|&s| {
            let slot = self.slot(s);
            slot.used
                && slot.len > 0
                && match self.config.kind {
                    MediaKind::Audio => true,
                    MediaKind::Video => {
                        slot.starts_frame
                            && !(head_timestamp.used && slot.timestamp == head_timestamp.timestamp)
                    }
                }
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
            (from..=self.highest).find(|&s| !self.slot(s).used)
        };
        let Some(hole) = hole else { return };
        // Every held packet lies at or below `highest`, within one window of the head.
        let waiting = (hole..=self.highest)
            .map(|s| self.slot(s))
            .filter(|s| s.used)
            .map(|s| s.arrival)
            .min();
        self.deadline = waiting.map(|t| t.saturating_add(self.config.max_delay));
    }

    fn clear_slots(&mut self) {
        for slot in &mut self.slots {
            slot.used = false;
        }
        self.held = 0;
        self.deadline = None;
        self.scan = None;
    }
}

fn slot_index<const N: usize>(sequence: u64) -> usize {
    (sequence % (N.max(1) as u64)) as usize
}
