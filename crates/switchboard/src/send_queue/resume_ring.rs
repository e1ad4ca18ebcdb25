//! The resume buffer: a session's last counted messages, by number
//! (PROTOCOL.md section 5), bounded in count and in payload bytes.

use super::outgoing::Outgoing;

/// The last counted messages, at most `capacity` of them and at most
/// `max_bytes` of payload; message `n` sits in slot `(n - 1) % capacity`.
///
/// Once full, a push overwrites the oldest message in the very slot it
/// reads: one cache line per push. (A `VecDeque` that pushes at the back and
/// pops at the front touches two lines far apart, and at fan-out the rings
/// of a thousand sessions do not stay in cache: each miss shows.) The slots
/// grow with the messages, never past `capacity`, so a quiet session holds
/// little.
///
/// The byte bound drops the oldest messages (emptying their slots) until
/// what is kept fits; a message larger than the bound on its own is not
/// kept at all. A frame shared by many sessions (a broadcast) counts its
/// full length in every session that keeps it.
///
/// Counts and bytes are `u32` (bounds above 4 Gi are taken as 4 Gi): every
/// session holds a ring, and these 48 bytes are what it held before the
/// byte bound.
#[derive(Debug)]
pub(super) struct ResumeRing {
    slots: Vec<Option<Outgoing>>,
    /// The number the next counted message gets (the first is 1).
    next_seq: u64,
    capacity: u32,
    /// How many of the last messages are kept (the others' slots are
    /// empty).
    kept: u32,
    /// The payload bytes of the messages kept.
    bytes: u32,
    max_bytes: u32,
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl ResumeRing {
    /// A ring keeping the last `capacity` messages within `max_bytes` of
    /// payload (a capacity of 0: numbers only, resume off).
    pub(super) fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            slots: Vec::new(),
            next_seq: 1,
            capacity: clamp(capacity),
            kept: 0,
            bytes: 0,
            max_bytes: clamp(max_bytes),
        }
    }

    /// Numbers `frame` and keeps it, dropping the oldest messages past the
    /// count or the byte bound. Returns the change in bytes kept.
    pub(super) fn push(&mut self, frame: &Outgoing) -> isize {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.capacity == 0 {
            return 0;
        }
        let before = self.bytes;
        // A message larger than the bound on its own is not kept, and a
        // resume can continue from nothing before it: nothing is kept.
        let keep = frame.len() <= self.max_bytes as usize;
        if !keep {
            self.clear_kept();
        }
        let kept = keep.then(|| frame.clone());
        let slot = self.slot(seq);
        if slot < self.slots.len() {
            // Full: the slot holds message `seq - capacity`, kept or not.
            if let Some(oldest) = std::mem::replace(&mut self.slots[slot], kept) {
                self.bytes -= oldest.len() as u32;
                self.kept -= 1;
            }
        } else {
            // Not full yet: `slot` is the next one (or, after a clear, a
            // later one). Grow by doubling, but never past `capacity` (a
            // plain push would round 1,000 up to 1,024).
            while self.slots.len() <= slot {
                if self.slots.len() == self.slots.capacity() {
                    let room = self.capacity as usize - self.slots.len();
                    self.slots.reserve_exact(self.slots.len().max(4).min(room));
                }
                self.slots.push(None);
            }
            self.slots[slot] = kept;
        }
        if keep {
            self.kept += 1;
            self.bytes += frame.len() as u32;
            while self.bytes > self.max_bytes {
                self.drop_oldest();
            }
        }
        self.bytes as isize - before as isize
    }

    fn drop_oldest(&mut self) {
        let slot = self.slot(self.first_seq());
        if let Some(oldest) = self.slots[slot].take() {
            self.bytes -= oldest.len() as u32;
        }
        self.kept -= 1;
    }

    fn clear_kept(&mut self) {
        for slot in &mut self.slots {
            *slot = None;
        }
        self.kept = 0;
        self.bytes = 0;
    }

    fn slot(&self, seq: u64) -> usize {
        ((seq - 1) % u64::from(self.capacity.max(1))) as usize
    }

    /// The number of the last message pushed (0 before the first).
    pub(super) fn last_seq(&self) -> u64 {
        self.next_seq - 1
    }

    /// The number of the oldest message kept (`last_seq() + 1` when none
    /// is).
    pub(super) fn first_seq(&self) -> u64 {
        self.next_seq - u64::from(self.kept)
    }

    /// The number of messages kept.
    pub(super) fn len(&self) -> usize {
        self.kept as usize
    }

    /// The payload bytes of the messages kept.
    pub(super) fn bytes(&self) -> usize {
        self.bytes as usize
    }

    /// The messages after number `last`, oldest first; `last` must be
    /// within `first_seq() - 1 ..= last_seq()`.
    pub(super) fn after(&self, last: u64) -> impl Iterator<Item = &Outgoing> {
        debug_assert!(last + 1 >= self.first_seq() && last <= self.last_seq());
        (last + 1..self.next_seq).filter_map(move |seq| self.slots[self.slot(seq)].as_ref())
    }

    /// Numbers the next message `last + 1`, dropping what is kept (a
    /// session that moved here goes on with the count its client has).
    pub(super) fn start_after(&mut self, last: u64) {
        self.clear();
        self.next_seq = last + 1;
    }

    /// Frees the messages kept; numbering goes on.
    pub(super) fn clear(&mut self) {
        self.slots = Vec::new();
        self.kept = 0;
        self.bytes = 0;
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
        let mut ring = ResumeRing::new(5, usize::MAX);
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
        let mut ring = ResumeRing::new(1000, usize::MAX);
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
        let mut ring = ResumeRing::new(0, usize::MAX);
        ring.push(&frame(1));
        ring.push(&frame(2));
        assert_eq!((ring.first_seq(), ring.last_seq()), (3, 2));
        assert_eq!(numbers(ring.after(2)), Vec::<u64>::new());
        assert_eq!(ring.slots.capacity(), 0);
    }

    #[test]
    fn clear_frees_and_keeps_numbering() {
        let mut ring = ResumeRing::new(3, usize::MAX);
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

    fn sized(n: u64, len: usize) -> Outgoing {
        let mut text = n.to_string();
        while text.len() < len {
            text.insert(0, '0');
        }
        Outgoing::new(Bytes::from(text), false)
    }

    #[test]
    fn drops_the_oldest_past_the_byte_bound() {
        let mut ring = ResumeRing::new(100, 30);
        for n in 1..=3 {
            assert_eq!(ring.push(&sized(n, 10)), 10);
        }
        assert_eq!((ring.first_seq(), ring.bytes()), (1, 30));
        // A fourth 10-byte message pushes the first out.
        assert_eq!(ring.push(&sized(4, 10)), 0);
        assert_eq!((ring.first_seq(), ring.bytes()), (2, 30));
        assert_eq!(numbers(ring.after(1)), [2, 3, 4]);
        // A 25-byte one leaves room for nothing older.
        assert_eq!(ring.push(&sized(5, 25)), -5);
        assert_eq!((ring.first_seq(), ring.last_seq()), (5, 5));
        assert_eq!(numbers(ring.after(4)), [5]);
        // One larger than the bound is not kept, and nothing before it.
        assert_eq!(ring.push(&sized(6, 31)), -25);
        assert_eq!((ring.first_seq(), ring.last_seq(), ring.bytes()), (7, 6, 0));
        assert_eq!(numbers(ring.after(6)), Vec::<u64>::new());
        // Numbering and keeping go on.
        ring.push(&sized(7, 5));
        assert_eq!(numbers(ring.after(6)), [7]);
    }

    #[test]
    fn count_and_byte_bounds_together() {
        let mut ring = ResumeRing::new(3, 25);
        for n in 1..=10 {
            ring.push(&sized(n, 5));
        }
        // The count bound wins: three messages, 15 bytes.
        assert_eq!((ring.first_seq(), ring.bytes()), (8, 15));
        ring.push(&sized(11, 20));
        // 10, 11 would be 25: the byte bound drops 8 and 9 as well.
        assert_eq!((ring.first_seq(), ring.bytes()), (10, 25));
        assert_eq!(numbers(ring.after(9)), [10, 11]);
        // Wrapping over emptied slots keeps the accounting right.
        for n in 12..=20 {
            ring.push(&sized(n, 5));
        }
        assert_eq!((ring.first_seq(), ring.bytes()), (18, 15));
        assert_eq!(numbers(ring.after(17)), [18, 19, 20]);
    }
}
