//! The queue of a raw-mode stream: whole RTP packets, first in first out, in the stream's
//! lent area, until `poll_event` hands them out as `Event::Rtp`.
//!
//! ```text
//!   area: | len | packet | len | packet | ...free... |        (write after read)
//!         | len | packet |  ...free...  | len | packet | end  (wrapped: write before read;
//!                                                          `end` marks where the data stops)
//!   push: at `write` if it fits before the end (or before `read` when wrapped), else at 0
//!         if it fits before `read`, else Full: the caller counts it
//! ```

use super::Area;

/// Bytes of the length prefix.
const PREFIX: usize = 2;

#[cfg_attr(fuzzing, derive(Clone))]
pub(in crate::peer) struct PacketRing<S> {
    area: S,
    read: usize,
    write: usize,
    /// When wrapped: where the data before the wrap ends.
    end: Option<usize>,
    count: usize,
}

impl<S: Area> PacketRing<S> {
    pub(in crate::peer) fn new(area: S) -> Self {
        PacketRing {
            area,
            read: 0,
            write: 0,
            end: None,
            count: 0,
        }
    }

    pub(in crate::peer) fn into_area(self) -> S {
        self.area
    }

    pub(in crate::peer) fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Queues `packet`; false when it does not fit until packets are taken.
    pub(in crate::peer) fn push(&mut self, packet: &[u8]) -> bool {
        let Ok(len) = u16::try_from(packet.len()) else {
            return false;
        };
        let need = PREFIX + packet.len();
        let capacity = self.area.as_ref().len();
        if self.count == 0 {
            (self.read, self.write, self.end) = (0, 0, None);
        }
        let at = match self.end {
            None if self.write + need <= capacity => self.write,
            // Wrap: the data before `read` has been taken.
            None if need <= self.read => {
                self.end = Some(self.write);
                0
            }
            Some(_) if self.write + need <= self.read => self.write,
            _ => return false,
        };
        let Some(dst) = self.area.as_mut().get_mut(at..at + need) else {
            return false;
        };
        let (prefix, body) = dst.split_at_mut(PREFIX);
        prefix.copy_from_slice(&len.to_be_bytes());
        body.copy_from_slice(packet);
        self.write = at + need;
        self.count += 1;
        true
    }

    /// The oldest packet, left in place.
    pub(in crate::peer) fn front(&self) -> Option<&[u8]> {
        if self.count == 0 {
            return None;
        }
        let at = if self.end == Some(self.read) {
            0
        } else {
            self.read
        };
        let area = self.area.as_ref();
        let prefix = area.get(at..at + PREFIX)?;
        let len = usize::from(u16::from_be_bytes([*prefix.first()?, *prefix.get(1)?]));
        area.get(at + PREFIX..at + PREFIX + len)
    }

    /// Drops the oldest packet.
    pub(in crate::peer) fn pop(&mut self) {
        let Some(len) = self.front().map(<[u8]>::len) else {
            return;
        };
        if self.end == Some(self.read) {
            self.read = 0;
            self.end = None;
        }
        self.read += PREFIX + len;
        self.count -= 1;
        if self.end == Some(self.read) {
            // Everything before the wrap is taken: the data continues at the start.
            self.read = 0;
            self.end = None;
        }
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use std::collections::VecDeque;
    use std::vec::Vec;

    use super::*;

    #[test]
    fn packets_come_out_in_order_across_the_wrap_like_a_queue() {
        let mut area = [0u8; 64];
        let mut ring = PacketRing::new(&mut area[..]);
        let mut model: VecDeque<Vec<u8>> = VecDeque::new();
        let mut x = 7u32;
        let (mut pushed, mut refused) = (0, 0);
        for n in 0..5000u32 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            if x % 5 < 3 {
                let packet: Vec<u8> = (0..(x >> 8) % 24).map(|i| (n + i) as u8).collect();
                let empty_before = model.is_empty();
                if ring.push(&packet) {
                    model.push_back(packet);
                    pushed += 1;
                } else {
                    // Refused only when something is queued (an empty ring takes anything
                    // up to its size).
                    assert!(
                        !empty_before,
                        "an empty ring refused {} bytes",
                        packet.len()
                    );
                    refused += 1;
                }
            } else {
                assert_eq!(ring.front(), model.front().map(Vec::as_slice));
                ring.pop();
                model.pop_front();
            }
            assert_eq!(ring.is_empty(), model.is_empty());
        }
        assert!(pushed > 1000 && refused > 10, "{pushed} {refused}");
    }
}
