//! The fixed buffers of an endpoint: handshake reassembly, our flight kept for
//! retransmission (with the application-data queue after it), the stash for early next-epoch
//! records, and the anti-replay window.
//!
//! ```text
//!  fragments (any order, overlapping) --insert--> Reassembly: [msg bytes | 1 bit per byte] ...
//!  our flight: Flight [hdr+msg | hdr+msg | CCS | hdr+Finished] --cursor--> datagrams at the MTU
//!  epoch-1 record, no keys yet --> Stash --(keys derived)--> replayed through the record layer
//! ```

use super::SendError;
use crate::wire::{HandshakeFragment, HandshakeType};
use core::ops::Range;
use peerless_base::Writer;

// ---------------------------------------------------------------------------------------------
// Handshake reassembly (RFC 6347 §4.2.3): fragments of up to SLOTS messages at once, each stored
// with a one-bit-per-byte map of what has arrived, carved from one buffer.

pub(super) const SLOTS: usize = 8;

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Slot {
    pub(super) used: bool,
    pub(super) msg_seq: u16,
    pub(super) msg_type: u8,
    pub(super) epoch: u16,
    pub(super) length: usize,
    pub(super) start: usize,
    pub(super) got: usize,
}

#[derive(Debug)]
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct Reassembly<const N: usize> {
    pub(super) buf: [u8; N],
    pub(super) top: usize,
    pub(super) slots: [Slot; SLOTS],
}

impl<const N: usize> Reassembly<N> {
    pub(super) fn new() -> Self {
        Reassembly {
            buf: [0; N],
            top: 0,
            slots: [Slot::default(); SLOTS],
        }
    }

    pub(super) fn reset(&mut self) {
        self.top = 0;
        self.slots = [Slot::default(); SLOTS];
    }

    /// Whether `f` belongs to a message whose slot was opened by a fragment of another type,
    /// length or epoch (one of the two is not genuine).
    pub(super) fn conflicts(&self, f: &HandshakeFragment<'_>, epoch: u16) -> bool {
        self.slots.iter().any(|s| {
            s.used
                && s.msg_seq == f.message_seq()
                && (s.msg_type != f.msg_type().0
                    || s.length != f.length() as usize
                    || s.epoch != epoch)
        })
    }

    /// Stores a fragment; false if it had to be dropped (its type, length or epoch disagrees
    /// with the slot's first fragment, or there is no room).
    pub(super) fn insert(&mut self, f: &HandshakeFragment<'_>, epoch: u16) -> bool {
        let length = f.length() as usize;
        let open = self
            .slots
            .iter()
            .enumerate()
            .find(|(_, s)| s.used && s.msg_seq == f.message_seq());
        let idx = match open {
            Some((i, s)) => {
                if s.msg_type != f.msg_type().0 || s.length != length || s.epoch != epoch {
                    return false;
                }
                i
            }
            None => {
                let need = length + length.div_ceil(8);
                let Some((i, free)) = self.slots.iter_mut().enumerate().find(|(_, s)| !s.used)
                else {
                    return false;
                };
                if self.top + need > N {
                    return false;
                }
                *free = Slot {
                    used: true,
                    msg_seq: f.message_seq(),
                    msg_type: f.msg_type().0,
                    epoch,
                    length,
                    start: self.top,
                    got: 0,
                };
                if let Some(map) = self.buf.get_mut(self.top + length..self.top + need) {
                    map.fill(0);
                }
                self.top += need;
                i
            }
        };
        let Some(slot) = self.slots.get_mut(idx) else {
            return false;
        };
        let off = f.fragment_offset() as usize;
        let Some(area) = self
            .buf
            .get_mut(slot.start..slot.start + length + length.div_ceil(8))
        else {
            return false;
        };
        let (data, map) = area.split_at_mut(length);
        let Some(dst) = data.get_mut(off..off + f.body().len()) else {
            return false;
        };
        let have = |i: usize| map.get(i / 8).is_some_and(|m| m & (1 << (i % 8)) != 0);
        // Bytes already received stay as they are: a fragment that says otherwise about them
        // is not from the sender of the first (one of the two is forged), and is dropped whole
        // rather than corrupt the message (RFC 6347 §4.2.3 retransmissions repeat bytes
        // exactly).
        if dst
            .iter()
            .zip(f.body())
            .enumerate()
            .any(|(k, (old, new))| have(off + k) && old != new)
        {
            return false;
        }
        dst.copy_from_slice(f.body());
        for i in off..off + f.body().len() {
            if let Some(m) = map.get_mut(i / 8) {
                let bit = 1u8 << (i % 8);
                if *m & bit == 0 {
                    *m |= bit;
                    slot.got += 1;
                }
            }
        }
        true
    }

    /// The complete message with `msg_seq`, if all its bytes arrived.
    pub(super) fn complete(&self, msg_seq: u16) -> Option<(HandshakeType, Range<usize>, u16)> {
        let s = self
            .slots
            .iter()
            .find(|s| s.used && s.msg_seq == msg_seq && s.got == s.length)?;
        Some((
            HandshakeType(s.msg_type),
            s.start..s.start + s.length,
            s.epoch,
        ))
    }

    pub(super) fn release(&mut self, msg_seq: u16) {
        for s in self.slots.iter_mut().filter(|s| s.msg_seq == msg_seq) {
            s.used = false;
        }
        if self.slots.iter().all(|s| !s.used) {
            self.top = 0;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Our current flight, kept whole for retransmission, and the application-data queue after it.

pub(super) const FLIGHT_ENTRIES: usize = 8;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) enum EntryKind {
    #[default]
    Handshake,
    ChangeCipherSpec,
}

#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Entry {
    pub(super) kind: EntryKind,
    pub(super) epoch: u16,
    pub(super) start: usize,
    pub(super) len: usize,
}

#[derive(Debug)]
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct Flight<const N: usize> {
    pub(super) buf: [u8; N],
    pub(super) len: usize,
    pub(super) entries: [Entry; FLIGHT_ENTRIES],
    pub(super) count: usize,
    /// Next entry and byte offset to put on the wire; `None` when the flight is sent.
    pub(super) cursor: Option<(usize, usize)>,
    /// Application records queued after the flight, as `u16` length + plaintext.
    pub(super) app_head: usize,
    pub(super) app_tail: usize,
}

impl<const N: usize> Flight<N> {
    pub(super) fn new() -> Self {
        Flight {
            buf: [0; N],
            len: 0,
            entries: [Entry::default(); FLIGHT_ENTRIES],
            count: 0,
            cursor: None,
            app_head: 0,
            app_tail: 0,
        }
    }

    pub(super) fn clear(&mut self) {
        self.len = 0;
        self.count = 0;
        self.cursor = None;
        self.app_head = 0;
        self.app_tail = 0;
    }

    pub(super) fn push_entry(&mut self, e: Entry) -> bool {
        let Some(slot) = self.entries.get_mut(self.count) else {
            return false;
        };
        *slot = e;
        self.count += 1;
        self.cursor.get_or_insert((0, 0));
        true
    }

    pub(super) fn restart(&mut self) {
        if self.count > 0 {
            self.cursor = Some((0, 0));
        }
    }

    pub(super) fn queue_app(&mut self, data: &[u8]) -> Result<(), SendError> {
        if self.app_head == self.app_tail {
            self.app_head = self.len;
            self.app_tail = self.len;
        }
        let end = self.app_tail + 2 + data.len();
        let dst = self
            .buf
            .get_mut(self.app_tail..end)
            .ok_or(SendError::QueueFull)?;
        let mut w = Writer::new(dst);
        w.u16(data.len() as u16);
        w.bytes(data);
        w.finish().map_err(|_| SendError::QueueFull)?;
        self.app_tail = end;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Epoch-1 records that arrived before we could decrypt them (a Finished overtaking the
// ClientKeyExchange): kept, not dropped, and replayed once the keys exist.

pub(super) const STASH: usize = 512;

#[derive(Debug)]
#[cfg_attr(fuzzing, derive(Clone))]
pub(super) struct Stash {
    pub(super) buf: [u8; STASH],
    pub(super) len: usize,
}

// ---------------------------------------------------------------------------------------------
/// The 64-record sliding anti-replay window (RFC 6347 §4.1.2.6) for epoch 1.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct ReplayWindow {
    /// Highest sequence number accepted so far plus one (0: none yet).
    pub(super) top: u64,
    /// Bit i set: `top - 1 - i` was accepted.
    pub(super) bits: u64,
}

impl ReplayWindow {
    pub(super) fn check(&self, seq: u64) -> bool {
        if seq >= self.top {
            return true;
        }
        let back = self.top - 1 - seq;
        back < 64 && self.bits & (1 << back) == 0
    }
    pub(super) fn accept(&mut self, seq: u64) {
        if seq >= self.top {
            let shift = seq + 1 - self.top;
            self.bits = if shift >= 64 { 0 } else { self.bits << shift };
            self.bits |= 1;
            self.top = seq + 1;
        } else {
            let back = self.top - 1 - seq;
            if back < 64 {
                self.bits |= 1 << back;
            }
        }
    }
}
