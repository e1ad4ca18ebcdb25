//! The resume buffer: a session's last counted messages, by number
//! (PROTOCOL.md section 5).

use super::Outgoing;

/// The last `capacity` counted messages; message `n` sits in slot
/// `(n - base) % capacity`.
///
/// Once full, a push overwrites the oldest message in the very slot it
/// reads: one cache line per push. (A `VecDeque` that pushes at the back and
/// pops at the front touches two lines far apart, and at fan-out the rings
/// of a thousand sessions do not stay in cache: each miss shows.) The slots
/// grow with the messages, never past `capacity`, so a quiet session holds
/// little.
#[derive(Debug)]
pub(super) struct ResumeRing {
    slots: Vec<Outgoing>,
    capacity: usize,
    /// The number of the message in the first slot when the ring started
    /// filling.
    base: u64,
    /// The number the next counted message gets (the first is 1).
    next_seq: u64,
}

impl ResumeRing {
    /// A ring keeping the last `capacity` messages (0: numbers only, resume
    /// off).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            slots: Vec::new(),
            capacity,
            base: 1,
            next_seq: 1,
        }
    }

    /// Numbers `frame` and keeps it, dropping the oldest when full.
    pub(super) fn push(&mut self, frame: &Outgoing) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.capacity == 0 {
            return;
        }
        let slot = self.slot(seq);
        if let Some(oldest) = self.slots.get_mut(slot) {
            *oldest = frame.clone();
            return;
        }
        // Not full yet: `slot` is the next one. Grow by doubling, but never
        // past `capacity` (a plain push would round 1,000 up to 1,024).
        if self.slots.len() == self.slots.capacity() {
            let room = self.capacity - self.slots.len();
            self.slots.reserve_exact(self.slots.len().max(4).min(room));
        }
        self.slots.push(frame.clone());
    }

    fn slot(&self, seq: u64) -> usize {
        ((seq - self.base) % self.capacity.max(1) as u64) as usize
    }

    /// The number of the last message pushed (0 before the first).
    pub(super) fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The number of the oldest message kept (`last_seq() + 1` when none
    /// is).
    pub(super) fn first_seq(&self) -> u64 {
        self.next_seq - self.slots.len() as u64
    }

    /// The messages after number `last`, oldest first; `last` must be
    /// within `first_seq() - 1 ..= last_seq()`.
    pub(super) fn after(&self, last: u64) -> impl Iterator<Item = &Outgoing> {
        debug_assert!(last + 1 >= self.first_seq() && last <= self.last_seq());
        (last + 1..self.next_seq).map(move |seq| &self.slots[self.slot(seq)])
    }

    /// Frees the messages kept; numbering goes on.
    pub(super) fn clear(&mut self) {
        self.slots = Vec::new();
        self.base = self.next_seq;
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn frame(n: u64) -> Outgoing {
        Outgoing::new(Bytes::from(n.to_string()), false)
    }

    fn numbers<'a>(frames: impl Iterator<Item = &'a Outgoing>) -> Vec<u64> {
        frames
            .map(|f| std::str::from_utf8(f.bytes()).unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn keeps_the_last_capacity_messages_in_order() {
        let mut ring = ResumeRing::new(5);
        assert_eq!((ring.first_seq(), ring.last_seq()), (1, 0));
        assert_eq!(numbers(ring.after(0)), Vec::<u64>::new());
        for n in 1..=3 {
            ring.push(&frame(n));
        }
        assert_eq!((ring.first_seq(), ring.last_seq()), (1, 3));
        assert_eq!(numbers(ring.after(0)), [1, 2, 3]);
        for n in 4..=12 {
            ring.push(&frame(n));
        }
        assert_eq!((ring.first_seq(), ring.last_seq()), (8, 12));
        assert_eq!(numbers(ring.after(7)), [8, 9, 10, 11, 12]);
        assert_eq!(numbers(ring.after(10)), [11, 12]);
        assert_eq!(numbers(ring.after(12)), Vec::<u64>::new());
        assert!(ring.slots.capacity() <= 5);
    }

    #[test]
    fn grows_to_capacity_and_no_further() {
        let mut ring = ResumeRing::new(1000);
        for n in 1..=10 {
            ring.push(&frame(n));
        }
        assert!(ring.slots.capacity() < 32, "{}", ring.slots.capacity());
        for n in 11..=2500 {
            ring.push(&frame(n));
        }
        assert_eq!(ring.slots.capacity(), 1000);
        assert_eq!(ring.first_seq(), 1501);
        assert_eq!(numbers(ring.after(2497)), [2498, 2499, 2500]);
    }

    #[test]
    fn without_capacity_only_numbers() {
        let mut ring = ResumeRing::new(0);
        ring.push(&frame(1));
        ring.push(&frame(2));
        assert_eq!((ring.first_seq(), ring.last_seq()), (3, 2));
        assert_eq!(numbers(ring.after(2)), Vec::<u64>::new());
        assert_eq!(ring.slots.capacity(), 0);
    }

    #[test]
    fn clear_frees_and_keeps_numbering() {
        let mut ring = ResumeRing::new(3);
        for n in 1..=4 {
            ring.push(&frame(n));
        }
        ring.clear();
        assert_eq!((ring.first_seq(), ring.last_seq()), (5, 4));
        ring.push(&frame(5));
        assert_eq!(numbers(ring.after(4)), [5]);
        ring.push(&frame(6));
        ring.push(&frame(7));
        ring.push(&frame(8));
        assert_eq!(numbers(ring.after(5)), [6, 7, 8]);
    }
}
