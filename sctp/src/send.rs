//! The send queue: user messages cut into DATA chunks, kept until acknowledged, in the byte area
//! the user lends.
//!
//! ```text
//!  area: [ free | entry entry entry ... | free ]
//!                ^head (lowest TSN not yet cumulatively acked)     ^tail
//!  entry = 40-byte header (TSN, stream, SSN, PPID, flags, state, retransmits, times) + payload
//!  TSNs are consecutive from head to tail, so the n-th entry has TSN head_tsn + n.
//! ```
//!
//! TSNs are assigned when a message is queued (not when it is first sent): the queue is then one
//! run of consecutive TSNs, SACK processing is one forward walk, and no per-chunk table is
//! needed. The area is compacted lazily (when the tail reaches the end and at least a quarter of
//! the area is free at the front), which moves each byte a bounded number of times.

/// Size of the header stored in front of each chunk's payload.
pub(crate) const ENTRY_HEADER: usize = 40;

/// Where a chunk is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChunkState {
    /// Never sent.
    Unsent = 0,
    /// Sent and counted in the flight size.
    InFlight = 1,
    /// Marked for retransmission (T3 or fast retransmit); not in flight.
    Retransmit = 2,
    /// Acknowledged by a gap block (may be reneged: the next SACK decides).
    GapAcked = 3,
    /// Abandoned under partial reliability (RFC 3758); covered by FORWARD-TSN.
    Abandoned = 4,
}

impl ChunkState {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => ChunkState::InFlight,
            2 => ChunkState::Retransmit,
            3 => ChunkState::GapAcked,
            4 => ChunkState::Abandoned,
            _ => ChunkState::Unsent,
        }
    }
}

/// The header of one queued chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) tsn: u32,
    pub(crate) stream: u16,
    pub(crate) ssn: u16,
    pub(crate) ppid: u32,
    pub(crate) len: u16,
    /// DATA flags (B, E, U).
    pub(crate) flags: u8,
    pub(crate) state: ChunkState,
    pub(crate) retransmits: u16,
    /// `u16::MAX`: no limit.
    pub(crate) max_retransmits: u16,
    /// Miss indications from SACKs (fast retransmit at 3).
    pub(crate) misses: u8,
    /// Fast-retransmitted already (only once per chunk, RFC 9260 §7.2.4).
    pub(crate) fast_retransmitted: bool,
    /// First-transmission time in microseconds (0: never sent). Used for lifetime only once
    /// sent; RTT sampling uses the association's single probe.
    pub(crate) sent_at: u64,
    /// Abandon after this time in microseconds (`u64::MAX`: never).
    pub(crate) expires_at: u64,
}

impl Meta {
    fn read(b: &[u8]) -> Option<Meta> {
        let h = b.get(..ENTRY_HEADER)?;
        let u16_at = |at| u16::from_be_bytes(field(h, at));
        let u32_at = |at| u32::from_be_bytes(field(h, at));
        let u64_at = |at| u64::from_be_bytes(field(h, at));
        let [flags, state] = field(h, 14);
        let [misses, fast_retransmitted] = field(h, 20);
        Some(Meta {
            tsn: u32_at(0),
            stream: u16_at(4),
            ssn: u16_at(6),
            ppid: u32_at(8),
            len: u16_at(12),
            flags,
            state: ChunkState::from_u8(state),
            retransmits: u16_at(16),
            max_retransmits: u16_at(18),
            misses,
            fast_retransmitted: fast_retransmitted != 0,
            sent_at: u64_at(24),
            expires_at: u64_at(32),
        })
    }

    fn write(&self, b: &mut [u8]) {
        let Some(h) = b.get_mut(..ENTRY_HEADER) else {
            return;
        };
        set_field(h, 0, self.tsn.to_be_bytes());
        set_field(h, 4, self.stream.to_be_bytes());
        set_field(h, 6, self.ssn.to_be_bytes());
        set_field(h, 8, self.ppid.to_be_bytes());
        set_field(h, 12, self.len.to_be_bytes());
        let fast_retransmitted = u8::from(self.fast_retransmitted);
        set_field(h, 14, [self.flags, self.state as u8]);
        set_field(h, 16, self.retransmits.to_be_bytes());
        set_field(h, 18, self.max_retransmits.to_be_bytes());
        set_field(h, 20, [self.misses, fast_retransmitted, 0, 0]);
        set_field(h, 24, self.sent_at.to_be_bytes());
        set_field(h, 32, self.expires_at.to_be_bytes());
    }
}

/// The `N` header bytes at `at` (zeros past the end, which the fixed layout never reaches).
/// Not `Reader`: an entry's header is read for every chunk sent, acknowledged or scanned, and
/// this folds to plain loads at constant offsets.
fn field<const N: usize>(h: &[u8], at: usize) -> [u8; N] {
    h.get(at..)
        .and_then(<[u8]>::first_chunk::<N>)
        .copied()
        .unwrap_or([0; N])
}

/// Writes `bytes` into the header at `at`.
fn set_field<const N: usize>(h: &mut [u8], at: usize, bytes: [u8; N]) {
    if let Some(f) = h.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<N>) {
        *f = bytes;
    }
}

/// How a queued message may be abandoned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Policy {
    pub(crate) max_retransmits: u16,
    pub(crate) expires_at: u64,
}

/// A message to queue.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Outgoing<'d> {
    pub(crate) stream: u16,
    pub(crate) ssn: u16,
    pub(crate) ppid: u32,
    pub(crate) unordered: bool,
    pub(crate) data: &'d [u8],
    pub(crate) policy: Policy,
}

/// The queue over the user's area.
#[derive(Debug)]
#[cfg_attr(fuzzing, derive(Clone))]
pub(crate) struct SendQueue<S> {
    buf: S,
    head: usize,
    tail: usize,
    /// First entry never sent (`tail` when all were sent).
    pub(crate) next_unsent: usize,
    /// TSN of the entry at `head` (= `next_tsn` when empty).
    pub(crate) head_tsn: u32,
    /// TSN the next queued chunk gets.
    pub(crate) next_tsn: u32,
    /// `Some(stream)` while every entry from the unsent cursor to the tail is on `stream`:
    /// then there is no sending order among channels to decide. Entries join that run only at
    /// the tail (`push`), so one comparison there keeps it true; `None` means "maybe mixed".
    one_unsent_stream: Option<u16>,
}

/// The area cannot hold the message now (`Full`) or ever (`TooLarge`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum QueueError {
    Full,
    TooLarge,
}

impl<S: crate::Area> SendQueue<S> {
    pub(crate) fn new(buf: S, initial_tsn: u32) -> Self {
        SendQueue {
            buf,
            head: 0,
            tail: 0,
            next_unsent: 0,
            head_tsn: initial_tsn,
            next_tsn: initial_tsn,
            one_unsent_stream: None,
        }
    }

    /// Restarts TSN numbering (association restart); drops everything.
    pub(crate) fn reset(&mut self, initial_tsn: u32) {
        self.head = 0;
        self.tail = 0;
        self.next_unsent = 0;
        self.head_tsn = initial_tsn;
        self.next_tsn = initial_tsn;
        self.one_unsent_stream = None;
    }

    /// Whether the entries not yet sent are all on one stream (or there are none), so the
    /// scheduler has nothing to reorder.
    pub(crate) fn unsent_on_one_stream(&self) -> bool {
        self.next_unsent >= self.tail || self.one_unsent_stream.is_some()
    }

    /// Bytes of the area a message of `len` bytes takes when cut into `max_payload` chunks.
    pub(crate) fn footprint(len: usize, max_payload: usize) -> usize {
        let chunks = len.div_ceil(max_payload.max(1)).max(1);
        len.max(1) + chunks * ENTRY_HEADER
    }

    pub(crate) fn used(&self) -> usize {
        self.tail - self.head
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head == self.tail
    }

    pub(crate) fn head(&self) -> usize {
        self.head
    }

    pub(crate) fn tail(&self) -> usize {
        self.tail
    }

    /// Whether the area can take `need` more bytes, compacting if that is worth it.
    fn make_room(&mut self, need: usize) -> Result<(), QueueError> {
        if need > self.buf.as_ref().len() {
            return Err(QueueError::TooLarge);
        }
        if self.head == self.tail {
            self.head = 0;
            self.tail = 0;
            self.next_unsent = 0;
        }
        if self.tail + need <= self.buf.as_ref().len() {
            return Ok(());
        }
        let free = self.buf.as_ref().len() - self.used();
        // Compact only when it frees a good share of the area, so bytes move a bounded number
        // of times; otherwise the caller waits for acknowledgements.
        if free >= need && (self.head >= self.buf.as_ref().len() / 4 || self.head >= need) {
            self.buf.as_mut().copy_within(self.head..self.tail, 0);
            self.next_unsent -= self.head;
            self.tail -= self.head;
            self.head = 0;
            return Ok(());
        }
        Err(QueueError::Full)
    }

    /// Queues one message as DATA chunks of at most `max_payload` bytes each.
    pub(crate) fn push(
        &mut self,
        message: &Outgoing<'_>,
        max_payload: usize,
    ) -> Result<(), QueueError> {
        let max_payload = max_payload.clamp(1, usize::from(u16::MAX));
        let need = Self::footprint(message.data.len(), max_payload);
        self.make_room(need)?;
        self.one_unsent_stream = match self.one_unsent_stream {
            _ if self.next_unsent >= self.tail => Some(message.stream),
            Some(stream) if stream == message.stream => Some(stream),
            _ => None,
        };
        let chunks = message.data.len().div_ceil(max_payload).max(1);
        for i in 0..chunks {
            let start = i * max_payload;
            let end = (start + max_payload).min(message.data.len());
            let payload = message.data.get(start..end).unwrap_or_default();
            let mut flags = 0;
            if i == 0 {
                flags |= crate::wire::data_flags::BEGIN;
            }
            if i + 1 == chunks {
                flags |= crate::wire::data_flags::END;
            }
            if message.unordered {
                flags |= crate::wire::data_flags::UNORDERED;
            }
            let meta = Meta {
                tsn: self.next_tsn,
                stream: message.stream,
                ssn: message.ssn,
                ppid: message.ppid,
                len: payload.len() as u16,
                flags,
                state: ChunkState::Unsent,
                retransmits: 0,
                max_retransmits: message.policy.max_retransmits,
                misses: 0,
                fast_retransmitted: false,
                sent_at: 0,
                expires_at: message.policy.expires_at,
            };
            let at = self.tail;
            if let Some(slot) = self
                .buf
                .as_mut()
                .get_mut(at..at + ENTRY_HEADER + payload.len())
            {
                meta.write(slot);
                if let Some(body) = slot.get_mut(ENTRY_HEADER..) {
                    body.copy_from_slice(payload);
                }
            }
            self.tail += ENTRY_HEADER + payload.len();
            self.next_tsn = self.next_tsn.wrapping_add(1);
        }
        Ok(())
    }

    /// The entry at `at` and the offset of the next one.
    pub(crate) fn entry(&self, at: usize) -> Option<(Meta, usize)> {
        if at >= self.tail {
            return None;
        }
        let meta = Meta::read(self.buf.as_ref().get(at..)?)?;
        Some((meta, at + ENTRY_HEADER + usize::from(meta.len)))
    }

    /// Rewrites the header at `at`.
    pub(crate) fn update(&mut self, at: usize, meta: &Meta) {
        if let Some(b) = self.buf.as_mut().get_mut(at..) {
            meta.write(b);
        }
    }

    /// The payload of the entry at `at`.
    pub(crate) fn payload(&self, at: usize, meta: &Meta) -> &[u8] {
        let start = at + ENTRY_HEADER;
        self.buf
            .as_ref()
            .get(start..start + usize::from(meta.len))
            .unwrap_or_default()
    }

    /// Removes the entry at the head (it was cumulatively acknowledged or abandoned and
    /// covered by a FORWARD-TSN). Returns its header.
    pub(crate) fn pop_front(&mut self) -> Option<Meta> {
        let (meta, next) = self.entry(self.head)?;
        self.head = next;
        if self.next_unsent < self.head {
            self.next_unsent = self.head;
        }
        self.head_tsn = self.head_tsn.wrapping_add(1);
        Some(meta)
    }

    /// Moves the unsent message that starts at `from` in front of the other unsent entries, so
    /// it is sent next; the unsent entries keep consecutive TSNs in their new order. Only
    /// entries never sent move (`from` and everything between the unsent cursor and it must be
    /// `Unsent`), so no TSN the peer has seen changes.
    pub(crate) fn bring_forward(&mut self, from: usize) {
        let start = self.next_unsent;
        let Some((first, _)) = self.entry(start) else {
            return;
        };
        if from <= start {
            return;
        }
        let mut end = from;
        while let Some((meta, next)) = self.entry(end) {
            end = next;
            if meta.flags & crate::wire::data_flags::END != 0 {
                break;
            }
        }
        let Some(region) = self.buf.as_mut().get_mut(start..end) else {
            return;
        };
        region.rotate_right(end - from);
        let mut tsn = first.tsn;
        let mut at = start;
        while at < end {
            let Some((mut meta, next)) = self.entry(at) else {
                break;
            };
            meta.tsn = tsn;
            self.update(at, &meta);
            tsn = tsn.wrapping_add(1);
            at = next;
        }
    }

    /// Marks the entry at `at` as sent and moves the unsent cursor past it if it was the first
    /// unsent one.
    pub(crate) fn mark_sent_cursor(&mut self, at: usize, next: usize) {
        if at == self.next_unsent {
            self.next_unsent = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{vec, vec::Vec};

    fn msg(data: &[u8], stream: u16) -> Outgoing<'_> {
        Outgoing {
            stream,
            ssn: 0,
            ppid: 53,
            unordered: false,
            data,
            policy: Policy {
                max_retransmits: u16::MAX,
                expires_at: u64::MAX,
            },
        }
    }

    #[test]
    fn an_entry_header_reads_back_every_field_as_written() {
        // Every field a different value, so a field read from a neighbour's bytes shows.
        let meta = Meta {
            tsn: 0x0102_0304,
            stream: 0x0506,
            ssn: 0x0708,
            ppid: 0x090a_0b0c,
            len: 0x0d0e,
            flags: 0x0f,
            state: ChunkState::GapAcked,
            retransmits: 0x1112,
            max_retransmits: 0x1314,
            misses: 0x15,
            fast_retransmitted: true,
            sent_at: 0x1718_191a_1b1c_1d1e,
            expires_at: 0x2122_2324_2526_2728,
        };
        let mut header = [0xffu8; ENTRY_HEADER];
        meta.write(&mut header);
        assert_eq!(Meta::read(&header), Some(meta));
        assert_eq!(&header[..4], &[1, 2, 3, 4]);
        assert_eq!(&header[20..24], &[0x15, 1, 0, 0]);
        assert_eq!(Meta::read(&header[..ENTRY_HEADER - 1]), None);
    }

    #[test]
    fn messages_are_cut_into_consecutive_tsns_with_b_and_e() {
        let mut area = [0u8; 1024];
        let mut q = SendQueue::new(&mut area, u32::MAX - 1);
        q.push(&msg(&[7u8; 250], 3), 100).unwrap();
        let mut at = q.head();
        let mut seen = std::vec::Vec::new();
        while let Some((m, next)) = q.entry(at) {
            seen.push((m.tsn, m.flags, m.len, q.payload(at, &m).len()));
            at = next;
        }
        assert_eq!(
            seen,
            [
                (u32::MAX - 1, 2, 100, 100),
                (u32::MAX, 0, 100, 100),
                (0, 1, 50, 50)
            ]
        );
        assert_eq!(q.next_tsn, 1);
        assert_eq!(q.pop_front().unwrap().tsn, u32::MAX - 1);
        assert_eq!(q.head_tsn, u32::MAX);
    }

    #[test]
    fn full_and_too_large_are_distinguished_and_compaction_reuses_space() {
        let mut area = [0u8; 400];
        let mut q = SendQueue::new(&mut area, 1);
        assert_eq!(q.push(&msg(&[1u8; 500], 0), 100), Err(QueueError::TooLarge));
        q.push(&msg(&[1u8; 200], 0), 100).unwrap(); // 280 bytes
        assert_eq!(q.push(&msg(&[2u8; 100], 0), 100), Err(QueueError::Full));
        q.pop_front().unwrap();
        q.push(&msg(&[2u8; 100], 0), 100).unwrap(); // compacts
        assert_eq!(q.head(), 0);
        assert_eq!(q.used(), 280);
        let (m, _) = q.entry(q.head()).unwrap();
        assert_eq!(m.tsn, 2);
    }

    #[test]
    fn the_unsent_run_is_known_to_be_one_stream_until_another_joins_it() {
        let mut area = [0u8; 4096];
        let mut q = SendQueue::new(&mut area, 1);
        let send_next = |q: &mut SendQueue<_>| {
            let at = q.next_unsent;
            let (mut m, next) = q.entry(at).unwrap();
            m.state = ChunkState::InFlight;
            q.update(at, &m);
            q.mark_sent_cursor(at, next);
        };
        assert!(q.unsent_on_one_stream()); // nothing unsent
        q.push(&msg(b"a1", 1), 8).unwrap();
        q.push(&msg(b"a2", 1), 8).unwrap();
        assert!(q.unsent_on_one_stream());
        q.push(&msg(b"b1", 2), 8).unwrap();
        assert!(!q.unsent_on_one_stream());
        send_next(&mut q);
        send_next(&mut q);
        // Only b1 is left, but the queue does not scan to learn it: still "maybe mixed".
        assert!(!q.unsent_on_one_stream());
        send_next(&mut q);
        // Everything sent: the next message starts a new run.
        assert!(q.unsent_on_one_stream());
        q.push(&msg(b"b2", 2), 8).unwrap();
        assert!(q.unsent_on_one_stream());
        q.push(&msg(b"a3", 1), 8).unwrap();
        assert!(!q.unsent_on_one_stream());
    }

    #[test]
    fn bring_forward_moves_an_unsent_message_and_renumbers_the_unsent_tsns() {
        let mut area = [0u8; 4096];
        let mut q = SendQueue::new(&mut area, 100);
        q.push(&msg(b"sent", 1), 8).unwrap();
        q.push(&msg(b"aaaaaaaaaaaa", 1), 8).unwrap(); // two chunks
        q.push(&msg(b"bbb", 3), 8).unwrap();
        // The first message goes out: only what follows it may move.
        let (mut m, next) = q.entry(q.head()).unwrap();
        m.state = ChunkState::InFlight;
        q.update(q.head(), &m);
        q.mark_sent_cursor(q.head(), next);
        let b_at = {
            let mut at = q.next_unsent;
            while q.entry(at).unwrap().0.stream != 3 {
                at = q.entry(at).unwrap().1;
            }
            at
        };
        q.bring_forward(b_at);
        let mut at = q.head();
        let mut seen = Vec::new();
        while let Some((m, next)) = q.entry(at) {
            seen.push((m.tsn, m.stream, q.payload(at, &m).to_vec()));
            at = next;
        }
        assert_eq!(
            seen,
            vec![
                (100, 1, b"sent".to_vec()),
                (101, 3, b"bbb".to_vec()),
                (102, 1, b"aaaaaaaa".to_vec()),
                (103, 1, b"aaaa".to_vec()),
            ]
        );
        assert_eq!(q.next_tsn, 104);
    }
}
