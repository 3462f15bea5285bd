//! A fixed-capacity first-in, first-out queue for a machine's pending events and replies.
//!
//! Every machine queues work between an input and the poll that hands it out: events, responses
//! to send, jobs waiting for a pacing slot. They all want the same thing: `N` slots inline, FIFO
//! order, and a full queue that gives the item back so the caller can count the drop (nothing is
//! lost silently). This is that queue, over `heapless::Deque` (a ring buffer: push and pop are
//! O(1), no compaction).

use core::fmt;

/// A FIFO queue of at most `N` items, stored inline.
///
/// ```
/// use peerless_base::Queue;
/// let mut q: Queue<u8, 2> = Queue::new();
/// assert_eq!(q.push(1), Ok(()));
/// assert_eq!(q.push(2), Ok(()));
/// assert_eq!(q.push(3), Err(3)); // full: the caller counts the drop
/// assert_eq!(q.pop(), Some(1));
/// assert_eq!(q.peek(), Some(&2));
/// ```
pub struct Queue<T, const N: usize>(heapless::Deque<T, N>);

impl<T, const N: usize> Queue<T, N> {
    /// An empty queue.
    #[must_use]
    pub const fn new() -> Self {
        Queue(heapless::Deque::new())
    }

    /// Appends `item`, or gives it back when the queue is full.
    pub fn push(&mut self, item: T) -> Result<(), T> {
        self.0.push_back(item)
    }

    /// Takes the oldest item.
    pub fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }

    /// The oldest item, left in place (for output that may not fit the caller's buffer yet).
    #[must_use]
    pub fn peek(&self) -> Option<&T> {
        self.0.front()
    }

    /// Keeps only the items `keep` accepts, in order.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep);
    }

    /// Drops every item.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// The items, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.0.iter()
    }

    /// The items, oldest first, to change in place (a full queue coalescing a new item into
    /// the newest one of its kind walks this backwards).
    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut T> {
        self.0.iter_mut()
    }

    /// How many items are queued.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether a push would be refused.
    #[must_use]
    pub fn is_full(&self) -> bool {
        self.0.is_full()
    }
}

impl<T, const N: usize> Default for Queue<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone, const N: usize> Clone for Queue<T, N> {
    fn clone(&self) -> Self {
        Queue(self.0.clone())
    }
}

impl<T: fmt::Debug, const N: usize> fmt::Debug for Queue<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.iter()).finish()
    }
}

#[cfg(feature = "defmt")]
impl<T: defmt::Format, const N: usize> defmt::Format for Queue<T, N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Queue(len={=usize})", self.0.len());
    }
}

#[cfg(test)]
mod tests {
    use super::Queue;

    #[test]
    fn items_change_in_place_newest_first_when_walked_backwards() {
        let mut q: Queue<(u8, u32), 4> = Queue::new();
        for item in [(1, 10), (2, 20), (1, 30)] {
            assert_eq!(q.push(item), Ok(()));
        }
        let newest_one = q.iter_mut().rev().find(|(kind, _)| *kind == 1);
        if let Some(item) = newest_one {
            item.1 += 1;
        }
        assert_eq!(
            q.iter().copied().collect::<heapless::Vec<_, 4>>(),
            [(1, 10), (2, 20), (1, 31)]
        );
    }

    #[test]
    fn a_queue_is_fifo_and_gives_back_what_does_not_fit() {
        let mut q: Queue<u32, 3> = Queue::new();
        assert!(q.is_empty() && q.pop().is_none() && q.peek().is_none());
        for i in 0..3 {
            assert_eq!(q.push(i), Ok(()));
        }
        assert!(q.is_full());
        assert_eq!(q.push(9), Err(9));
        assert_eq!(q.pop(), Some(0));
        // Wrapping around the ring keeps the order.
        assert_eq!(q.push(3), Ok(()));
        assert_eq!(
            q.iter().copied().collect::<heapless::Vec<u32, 3>>(),
            [1, 2, 3]
        );
        q.retain(|&i| i != 2);
        assert_eq!(q.len(), 2);
        assert_eq!(q.pop(), Some(1));
        assert_eq!(q.peek(), Some(&3));
        q.clear();
        assert!(q.is_empty());
    }
}
