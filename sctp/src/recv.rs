//! The receive side: which TSNs arrived (for SACKs), and the reassembly store in the byte area
//! the user lends.
//!
//! ```text
//!  TsnTracker:  cumulative TSN | bitmap of the next 1024 TSNs (gap blocks, duplicates)
//!  Reassembly:  records sorted by TSN  ->  payloads laid out in the same order in the area,
//!               so the fragments of one message (consecutive TSNs) form one contiguous slice
//!               that is handed to the user without a copy.
//! ```

/// How far beyond the cumulative TSN the tracker remembers arrivals.
pub(crate) const TSN_WINDOW: u32 = 1024;
const WORDS: usize = (TSN_WINDOW / 64) as usize;

/// Serial-number comparison (RFC 1982) for TSNs.
pub(crate) fn tsn_lt(a: u32, b: u32) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000_0000
}

/// `a <= b` in serial arithmetic.
pub(crate) fn tsn_le(a: u32, b: u32) -> bool {
    a == b || tsn_lt(a, b)
}

/// Serial comparison for 16-bit stream sequence numbers.
pub(crate) fn ssn_lt(a: u16, b: u16) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000
}

/// What the tracker says about an arriving TSN.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arrival {
    New,
    Duplicate,
    /// Too far ahead of the cumulative TSN to track: dropped (the sender exceeded our window).
    OutOfWindow,
}

/// The set of received TSNs: everything up to `cumulative` plus a bitmap above it.
#[derive(Clone, Debug)]
pub(crate) struct TsnTracker {
    pub(crate) cumulative: u32,
    /// Bit `i` is TSN `cumulative + 1 + i`.
    bits: [u64; WORDS],
}

impl TsnTracker {
    pub(crate) fn new(peer_initial_tsn: u32) -> Self {
        TsnTracker {
            cumulative: peer_initial_tsn.wrapping_sub(1),
            bits: [0; WORDS],
        }
    }

    fn offset(&self, tsn: u32) -> Option<usize> {
        let d = tsn.wrapping_sub(self.cumulative.wrapping_add(1));
        (d < TSN_WINDOW).then_some(d as usize)
    }

    fn bit(&self, i: usize) -> bool {
        self.bits
            .get(i / 64)
            .is_some_and(|w| w & (1u64 << (i % 64)) != 0)
    }

    pub(crate) fn classify(&self, tsn: u32) -> Arrival {
        if tsn_le(tsn, self.cumulative) {
            return Arrival::Duplicate;
        }
        match self.offset(tsn) {
            Some(i) if self.bit(i) => Arrival::Duplicate,
            Some(_) => Arrival::New,
            None => Arrival::OutOfWindow,
        }
    }

    /// Records `tsn` and advances the cumulative TSN over every consecutive arrival.
    pub(crate) fn mark(&mut self, tsn: u32) {
        if let Some(i) = self.offset(tsn)
            && let Some(w) = self.bits.get_mut(i / 64)
        {
            *w |= 1u64 << (i % 64);
        }
        let run = self.bits[0].trailing_ones();
        if run > 0 {
            self.shift(run);
        }
        while self.bits[0] & 1 != 0 {
            let run = self.bits[0].trailing_ones();
            self.shift(run);
        }
    }

    /// Forgets `tsn` (reneging: its data was dropped for room).
    pub(crate) fn unmark(&mut self, tsn: u32) {
        if let Some(i) = self.offset(tsn)
            && let Some(w) = self.bits.get_mut(i / 64)
        {
            *w &= !(1u64 << (i % 64));
        }
    }

    /// Shifts the window forward by `n` TSNs (n <= 64), advancing the cumulative TSN.
    fn shift(&mut self, n: u32) {
        let n = n.min(64);
        self.cumulative = self.cumulative.wrapping_add(n);
        if n == 64 {
            self.bits.copy_within(1.., 0);
            if let Some(last) = self.bits.last_mut() {
                *last = 0;
            }
            return;
        }
        for i in 0..WORDS {
            let above = self.bits.get(i + 1).copied().unwrap_or(0);
            if let Some(word) = self.bits.get_mut(i) {
                *word = (*word >> n) | (above << (64 - n));
            }
        }
    }

    /// FORWARD-TSN: everything up to `new_cumulative` counts as received.
    pub(crate) fn forward_to(&mut self, new_cumulative: u32) {
        while tsn_lt(self.cumulative, new_cumulative) {
            let d = new_cumulative.wrapping_sub(self.cumulative);
            if d > TSN_WINDOW {
                self.cumulative = new_cumulative;
                self.bits = [0; WORDS];
                break;
            }
            self.shift(d.min(64));
        }
        while self.bits[0] & 1 != 0 {
            let run = self.bits[0].trailing_ones();
            self.shift(run);
        }
    }

    /// Whether any TSN above the cumulative one has arrived (a gap exists).
    pub(crate) fn has_gaps(&self) -> bool {
        self.bits.iter().any(|&w| w != 0)
    }

    /// Fills `out` with gap ack blocks (offsets from the cumulative TSN); returns how many.
    pub(crate) fn gap_blocks(&self, out: &mut [(u16, u16)]) -> usize {
        let mut n = 0;
        let mut i = 0usize;
        let total = TSN_WINDOW as usize;
        while i < total && n < out.len() {
            // Skip whole empty words quickly.
            if i.is_multiple_of(64) && self.bits.get(i / 64) == Some(&0) {
                i += 64;
                continue;
            }
            if !self.bit(i) {
                i += 1;
                continue;
            }
            let start = i;
            while i < total && self.bit(i) {
                i += 1;
            }
            let Some(block) = out.get_mut(n) else {
                break;
            };
            *block = ((start + 1) as u16, i as u16);
            n += 1;
        }
        n
    }
}

/// A record flag outside the DATA flags: the (DCEP) message was already acted on, or a
/// FORWARD-TSN moved its stream past it, and it is deliverable regardless of its SSN.
pub(crate) const PROCESSED_FLAG: u8 = 0x80;

/// One run of stored DATA chunks of one message with consecutive TSNs (`tsn ..
/// tsn + tsns - 1`). Fragments that arrive next to each other are merged into one record, so a
/// message received in order takes one record however many chunks it was cut into: `CHUNKS`
/// bounds the holes in the received sequence, not the size of a message.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) tsn: u32,
    /// How many TSNs (chunks) the record holds (at least 1).
    pub(crate) tsns: u16,
    pub(crate) stream: u16,
    pub(crate) ssn: u16,
    pub(crate) ppid: u32,
    pub(crate) flags: u8,
    pub(crate) offset: u32,
    pub(crate) len: u32,
}

impl Record {
    pub(crate) fn is_begin(&self) -> bool {
        self.flags & crate::wire::data_flags::BEGIN != 0
    }
    pub(crate) fn is_end(&self) -> bool {
        self.flags & crate::wire::data_flags::END != 0
    }
    pub(crate) fn is_unordered(&self) -> bool {
        self.flags & crate::wire::data_flags::UNORDERED != 0
    }
    /// The highest TSN in the record.
    pub(crate) fn last_tsn(&self) -> u32 {
        self.tsn.wrapping_add(u32::from(self.tsns.max(1)) - 1)
    }
    /// Whether `next` continues this record's message right after it.
    fn continued_by(&self, next: &Record) -> bool {
        next.tsn == self.last_tsn().wrapping_add(1)
            && next.stream == self.stream
            && !self.is_end()
            && !next.is_begin()
            && self.flags & PROCESSED_FLAG == 0
            && next.flags & PROCESSED_FLAG == 0
            && u32::from(self.tsns) + u32::from(next.tsns) <= u32::from(u16::MAX)
    }
}

/// A complete message in the store: records `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) first: usize,
    pub(crate) last: usize,
}

/// Why a chunk could not be stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// Not enough bytes or records free.
    NoRoom,
}

/// The reassembly store: `N` records over the user's byte area.
#[cfg_attr(fuzzing, derive(Clone))]
#[derive(Debug)]
pub(crate) struct Reassembly<S, const N: usize> {
    area: S,
    records: [Record; N],
    count: usize,
    /// Bytes of payload stored.
    used: usize,
}

impl<S: crate::Area, const N: usize> Reassembly<S, N> {
    pub(crate) fn new(area: S) -> Self {
        Reassembly {
            area,
            records: [Record::default(); N],
            count: 0,
            used: 0,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.area.as_ref().len()
    }

    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.used
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn clear(&mut self) {
        self.count = 0;
        self.used = 0;
    }

    /// The honest window: free bytes, but no more than the free records can hold at
    /// `per_record` bytes each (a full-size chunk). A peer sending smaller chunks out of order
    /// can still exhaust the records first; those chunks are dropped, counted and
    /// retransmitted (in-order chunks join their message's record and need none).
    pub(crate) fn free(&self, per_record: usize) -> usize {
        let records = N.saturating_sub(self.count).max(1);
        (self.area.as_ref().len() - self.used).min(records.saturating_mul(per_record))
    }

    pub(crate) fn records(&self) -> &[Record] {
        self.records.get(..self.count).unwrap_or_default()
    }

    /// The record in front of position `index`.
    fn before(&self, index: usize) -> Option<&Record> {
        self.records().get(index.checked_sub(1)?)
    }

    fn end(&self) -> usize {
        self.records()
            .last()
            .map_or(0, |r| r.offset as usize + r.len as usize)
    }

    /// Moves every payload down so they are contiguous from offset 0.
    fn compact(&mut self) {
        let mut at = 0usize;
        for r in self.records.iter_mut().take(self.count) {
            let (from, len) = (r.offset as usize, r.len as usize);
            if from != at {
                self.area.as_mut().copy_within(from..from + len, at);
                r.offset = at as u32;
            }
            at += len;
        }
    }

    /// Stores a chunk in TSN order (`base` is the cumulative TSN, for serial ordering),
    /// merging it into the records of its message's neighbouring fragments.
    pub(crate) fn insert(
        &mut self,
        base: u32,
        record: Record,
        payload: &[u8],
    ) -> Result<(), StoreError> {
        let len = payload.len();
        if self.used + len > self.area.as_ref().len() || u32::try_from(len).is_err() {
            return Err(StoreError::NoRoom);
        }
        let record = Record {
            tsns: 1,
            len: len as u32,
            ..record
        };
        // Stored TSNs lie within 2^30 of the cumulative TSN (some at or below it, waiting to
        // be read; some above it, out of order): order them from a point far below.
        let origin = base.wrapping_sub(1 << 30);
        let key = |tsn: u32| tsn.wrapping_sub(origin);
        let k = key(record.tsn);
        // Most chunks arrive in order: check the end first.
        let index = if self.records().last().is_none_or(|r| key(r.tsn) < k) {
            self.count
        } else {
            self.records().partition_point(|r| key(r.tsn) < k)
        };
        let merge_prev = self.before(index).is_some_and(|p| p.continued_by(&record));
        let merge_next = (self.records().get(index)).is_some_and(|n| record.continued_by(n));
        if !merge_prev && !merge_next && self.count >= N {
            return Err(StoreError::NoRoom);
        }
        // Out of order, or no room at the end: make the payloads contiguous first, so the new
        // payload goes right after its predecessor's and in front of its successor's.
        if index < self.count || self.end() + len > self.area.as_ref().len() {
            self.compact();
        }
        let at = self
            .before(index)
            .map_or(0, |p| p.offset as usize + p.len as usize);
        let end = self.end();
        if at < end {
            self.area.as_mut().copy_within(at..end, at + len);
            for r in self.records.iter_mut().take(self.count).skip(index) {
                r.offset += len as u32;
            }
        }
        let Some(dst) = self.area.as_mut().get_mut(at..at + len) else {
            return Err(StoreError::NoRoom);
        };
        dst.copy_from_slice(payload);
        self.used += len;
        match (merge_prev, merge_next) {
            (true, next) => {
                // The successor joins too when the new chunk closes the hole between them.
                let joined = self.records().get(index).copied().filter(|_| next);
                if let Some(p) = index.checked_sub(1).and_then(|i| self.records.get_mut(i)) {
                    p.tsns += 1;
                    p.len += len as u32;
                    p.flags |= record.flags & crate::wire::data_flags::END;
                    if let Some(n) = joined {
                        p.tsns += n.tsns;
                        p.len += n.len;
                        p.flags |= n.flags & crate::wire::data_flags::END;
                    }
                }
                if joined.is_some() {
                    self.records.copy_within(index + 1..self.count, index);
                    self.count -= 1;
                }
            }
            (false, true) => {
                if let Some(n) = self.records.get_mut(index) {
                    let end_flag = n.flags & crate::wire::data_flags::END;
                    *n = Record {
                        tsns: n.tsns + 1,
                        len: n.len + len as u32,
                        offset: at as u32,
                        flags: record.flags | end_flag,
                        ..record
                    };
                }
            }
            (false, false) => {
                self.records.copy_within(index..self.count, index + 1);
                if let Some(slot) = self.records.get_mut(index) {
                    *slot = Record {
                        offset: at as u32,
                        ..record
                    };
                    self.count += 1;
                }
            }
        }
        Ok(())
    }

    /// Removes records `first..=last` (a delivered or dropped message).
    pub(crate) fn remove(&mut self, first: usize, last: usize) {
        if first > last || last >= self.count {
            return;
        }
        let freed: usize = (self.records.get(first..=last))
            .unwrap_or_default()
            .iter()
            .map(|r| r.len as usize)
            .sum();
        self.records.copy_within(last + 1..self.count, first);
        self.count -= last + 1 - first;
        self.used -= freed;
        if self.count == 0 {
            self.used = 0;
        }
    }

    /// The payload of records `first..=last` as one slice (contiguous by construction; compacts
    /// first if a removal left a hole between them, which cannot happen for one message).
    pub(crate) fn message(&mut self, found: Found) -> &[u8] {
        let (Some(a), Some(b)) = (
            self.records.get(found.first..found.last),
            self.records.get(found.first + 1..=found.last),
        ) else {
            return &[];
        };
        let contiguous = a
            .iter()
            .zip(b)
            .all(|(a, b)| a.offset as usize + a.len as usize == b.offset as usize);
        if !contiguous {
            self.compact();
        }
        self.message_ref(found)
    }

    /// The payload of records `first..=last` without compacting (contiguous after `message`).
    pub(crate) fn message_ref(&self, found: Found) -> &[u8] {
        let (Some(a), Some(b)) = (self.records.get(found.first), self.records.get(found.last))
        else {
            return &[];
        };
        let start = a.offset as usize;
        let end = b.offset as usize + b.len as usize;
        self.area.as_ref().get(start..end).unwrap_or_default()
    }

    /// The complete message starting at record `i` (which must hold its first fragment).
    pub(crate) fn complete_at(&self, i: usize) -> Option<Found> {
        let records = self.records();
        let r = records.get(i)?;
        if !r.is_begin() {
            return None;
        }
        let mut j = i;
        loop {
            let cur = records.get(j)?;
            if cur.is_end() {
                return Some(Found { first: i, last: j });
            }
            match records.get(j + 1) {
                Some(n)
                    if n.tsn == cur.last_tsn().wrapping_add(1)
                        && n.stream == r.stream
                        && !n.is_begin() =>
                {
                    j += 1;
                }
                _ => return None,
            }
        }
    }

    /// The first complete message that may be delivered now. `expected(stream)` gives the next
    /// SSN an ordered stream delivers.
    pub(crate) fn find_deliverable(&self, mut expected: impl FnMut(u16) -> u16) -> Option<Found> {
        let records = self.records();
        let mut i = 0;
        while let Some(&r) = records.get(i) {
            let Some(found) = self.complete_at(i) else {
                i += 1;
                continue;
            };
            if r.flags & PROCESSED_FLAG != 0 || r.is_unordered() || r.ssn == expected(r.stream) {
                return Some(found);
            }
            i = found.last + 1;
        }
        None
    }

    /// Rewrites a record's flags (marks a DCEP message as acted on).
    pub(crate) fn set_flags(&mut self, index: usize, flags: u8) {
        if index < self.count
            && let Some(r) = self.records.get_mut(index)
        {
            r.flags = flags;
        }
    }

    /// Drops the incomplete fragments with TSN at or below `up_to` (after a FORWARD-TSN):
    /// their messages were abandoned by the sender. Complete messages stay for delivery.
    /// Returns the number of bytes dropped.
    pub(crate) fn drop_abandoned(&mut self, base: u32, up_to: u32) -> usize {
        let mut dropped = 0;
        let mut i = 0;
        if tsn_lt(up_to, base) {
            return 0;
        }
        while let Some(&r) = self.records().get(i) {
            if !tsn_le(r.tsn, up_to) {
                break;
            }
            if let Some(found) = self.complete_at(i) {
                i = found.last + 1;
                continue;
            }
            // The fragments of one message from here (a run of consecutive TSNs).
            let mut j = i;
            while let (Some(cur), Some(n)) = (self.records().get(j), self.records().get(j + 1)) {
                if n.tsn == cur.last_tsn().wrapping_add(1) && !n.is_begin() && n.stream == r.stream
                {
                    j += 1;
                } else {
                    break;
                }
            }
            dropped += (self.records().get(i..=j))
                .unwrap_or_default()
                .iter()
                .map(|r| r.len as usize)
                .sum::<usize>();
            self.remove(i, j);
        }
        dropped
    }

    /// Removes the highest-TSN record above `cumulative` (reneging to make room for the chunk
    /// that unblocks delivery). Returns its first TSN and how many TSNs it held.
    pub(crate) fn renege_last(&mut self, cumulative: u32) -> Option<(u32, u16)> {
        let last = *self.records().last()?;
        if tsn_le(last.tsn, cumulative) {
            return None;
        }
        self.remove(self.count - 1, self.count - 1);
        Some((last.tsn, last.tsns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::data_flags::{BEGIN, END, UNORDERED};

    #[test]
    fn tracker_advances_and_reports_gaps_and_duplicates() {
        let mut t = TsnTracker::new(u32::MAX - 2);
        assert_eq!(t.cumulative, u32::MAX - 3);
        t.mark(u32::MAX - 2);
        assert_eq!(t.cumulative, u32::MAX - 2);
        t.mark(0); // gap at MAX-1 and MAX
        t.mark(2);
        t.mark(3);
        assert!(t.has_gaps());
        let mut gaps = [(0, 0); 8];
        let n = t.gap_blocks(&mut gaps);
        assert_eq!(&gaps[..n], &[(3, 3), (5, 6)]);
        assert_eq!(t.classify(2), Arrival::Duplicate);
        assert_eq!(t.classify(u32::MAX - 2), Arrival::Duplicate);
        assert_eq!(t.classify(1), Arrival::New);
        assert_eq!(t.classify(5000), Arrival::OutOfWindow);
        t.mark(u32::MAX - 1);
        t.mark(u32::MAX);
        assert_eq!(t.cumulative, 0);
        t.mark(1);
        assert_eq!(t.cumulative, 3);
        assert!(!t.has_gaps());
        t.forward_to(3000);
        assert_eq!(t.cumulative, 3000);
        t.mark(3002);
        t.unmark(3002);
        assert!(!t.has_gaps());
    }

    #[test]
    fn reassembly_orders_by_tsn_and_hands_out_contiguous_messages() {
        let mut area = [0u8; 64];
        let mut store = Reassembly::<_, 8>::new(&mut area[..]);
        let rec = |tsn, flags, ssn| Record {
            tsn,
            tsns: 1,
            stream: 1,
            ssn,
            ppid: 53,
            flags,
            offset: 0,
            len: 0,
        };
        store.insert(9, rec(12, END, 1), b"ef").unwrap();
        store.insert(9, rec(10, BEGIN | END, 0), b"ab").unwrap();
        store.insert(9, rec(11, BEGIN, 1), b"cd").unwrap();
        assert_eq!(store.used(), 6);
        let found = store.find_deliverable(|_| 0).unwrap();
        assert_eq!(store.message(found), b"ab");
        store.remove(found.first, found.last);
        assert_eq!(store.find_deliverable(|_| 0), None);
        let found = store.find_deliverable(|_| 1).unwrap();
        assert_eq!(store.message(found), b"cdef");
        store.remove(found.first, found.last);
        assert_eq!((store.len(), store.used()), (0, 0));
        // Unordered ignores the SSN; incomplete fragments are dropped by a FORWARD-TSN.
        store.insert(12, rec(13, BEGIN, 0), b"xx").unwrap();
        store
            .insert(12, rec(15, BEGIN | END | UNORDERED, 9), b"u")
            .unwrap();
        assert_eq!(
            store.find_deliverable(|_| 0),
            Some(Found { first: 1, last: 1 })
        );
        assert_eq!(store.drop_abandoned(12, 14), 2);
        assert_eq!(store.len(), 1);
        assert_eq!(store.renege_last(12), Some((15, 1)));
        assert_eq!(
            store.insert(12, rec(16, BEGIN, 0), &[0; 65]),
            Err(StoreError::NoRoom)
        );
    }
}
