//! Where a clustered node's deliveries of one history room stand: the
//! last offset delivered, and what arrived past a gap.
//!
//! Nodes publish a room's messages as the store numbered them, so they
//! can arrive out of order (two nodes published at once) or with a gap (a
//! message lost in a backend outage). The sequence hands out messages
//! strictly by offset, drops those already delivered, and keeps what came
//! early until the gap is filled from the store.
//!
//! A new epoch (the store lost the room's history and began again at
//! offset 1) starts the sequence over. Epochs are never reused, so a
//! message of an epoch the sequence already left is a late one (kept in
//! the old epoch just before the store lost it, and published after the
//! new epoch reached this node): it is dropped, not taken as yet another
//! new epoch, which would hand the current epoch out again from its start.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// The most messages kept waiting past a gap; beyond it the gap is given
/// up (the messages in it are counted as lost) so memory stays bounded.
pub(crate) const MAX_PENDING: usize = 10_000;
/// How many epochs a sequence remembers having left.
const LEFT_EPOCHS: usize = 8;

/// One history room's delivery order on this node.
#[derive(Debug)]
pub(crate) struct Sequence<T> {
    epoch: Arc<str>,
    /// Epochs this sequence moved on from, the latest last.
    left: VecDeque<Arc<str>>,
    last: u64,
    pending: BTreeMap<u64, T>,
    /// A task is filling the gap from the store.
    pub(crate) filling: bool,
    /// When a message last arrived (rooms idle past the time to live are
    /// forgotten).
    pub(crate) touched: Instant,
}

impl<T> Sequence<T> {
    /// A sequence whose last delivered message is `last` of `epoch`.
    pub(crate) fn new(epoch: &str, last: u64) -> Self {
        Self {
            epoch: Arc::from(epoch),
            left: VecDeque::new(),
            last,
            pending: BTreeMap::new(),
            filling: false,
            touched: Instant::now(),
        }
    }

    /// The epoch delivered in.
    pub(crate) fn epoch(&self) -> &str {
        &self.epoch
    }

    /// The offset of the last message delivered.
    pub(crate) fn last(&self) -> u64 {
        self.last
    }

    /// Whether `epoch` is one this sequence moved on from: what comes in
    /// it is late, and never delivered.
    pub(crate) fn has_left(&self, epoch: &str) -> bool {
        self.left.iter().any(|left| **left == *epoch)
    }

    /// The offset of the first message waiting past a gap.
    pub(crate) fn first_waiting(&self) -> Option<u64> {
        self.pending.keys().next().copied()
    }

    /// Whether messages wait past a gap.
    pub(crate) fn has_gap(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes `items`, numbered from `first` in `epoch`; returns those that
    /// can be delivered now, in order, with their offsets. A new epoch
    /// (the history began again, at offset 1) starts the sequence over:
    /// what waited past a gap in the old one comes first (the gap given
    /// up), and what came before `first` in the new one is waited for;
    /// items of an epoch already left are dropped. Also returns how many messages were given
    /// up as lost (those dropped included).
    pub(crate) fn accept(
        &mut self,
        epoch: &str,
        first: u64,
        items: impl IntoIterator<Item = T>,
    ) -> (Vec<(u64, T)>, u64) {
        self.touched = Instant::now();
        let (mut ready, mut lost) = (Vec::new(), 0);
        if *self.epoch != *epoch {
            if self.has_left(epoch) {
                // Late, from an epoch already left: given up (lost).
                return (Vec::new(), items.into_iter().count() as u64);
            }
            // The old epoch is over (the store began again without it):
            // what waited past a gap in it goes out now, the gap given up.
            (ready, lost) = self.give_up_every_gap();
            let left = std::mem::replace(&mut self.epoch, Arc::from(epoch));
            if !left.is_empty() {
                self.left.push_back(left);
                if self.left.len() > LEFT_EPOCHS {
                    self.left.pop_front();
                }
            }
            self.last = 0;
        }
        for (offset, item) in (first..).zip(items) {
            if offset > self.last {
                self.pending.entry(offset).or_insert(item);
            }
        }
        if self.pending.len() > MAX_PENDING
            && let Some(&oldest) = self.pending.keys().next()
        {
            lost += self.skip_to(oldest);
        }
        ready.extend(self.drain());
        (ready, lost)
    }

    /// Gives up every gap: all that waits goes out, in order.
    fn give_up_every_gap(&mut self) -> (Vec<(u64, T)>, u64) {
        let (mut ready, mut lost) = (Vec::new(), 0);
        while self.has_gap() {
            let (now, skipped) = self.give_up_gap();
            ready.extend(now);
            lost += skipped;
        }
        (ready, lost)
    }

    /// Gives up the messages before `offset` (the store no longer has
    /// them); returns how many were skipped.
    pub(crate) fn skip_to(&mut self, offset: u64) -> u64 {
        let skipped = offset.saturating_sub(self.last + 1);
        if offset > self.last + 1 {
            self.last = offset - 1;
        }
        skipped
    }

    /// Gives up a gap down to the first waiting message; returns the
    /// messages now deliverable and how many were lost.
    pub(crate) fn give_up_gap(&mut self) -> (Vec<(u64, T)>, u64) {
        let lost = match self.pending.keys().next() {
            Some(&oldest) => self.skip_to(oldest),
            None => 0,
        };
        (self.drain(), lost)
    }

    /// The waiting messages that follow the last one without a gap.
    fn drain(&mut self) -> Vec<(u64, T)> {
        let mut ready = Vec::new();
        while let Some(entry) = self.pending.first_entry() {
            let offset = *entry.key();
            if offset <= self.last {
                entry.remove();
                continue;
            }
            if offset != self.last + 1 {
                break;
            }
            ready.push((offset, entry.remove()));
            self.last = offset;
        }
        ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets<T>(ready: &[(u64, T)]) -> Vec<u64> {
        ready.iter().map(|(offset, _)| *offset).collect()
    }

    #[test]
    fn in_order_passes_out_of_order_waits_and_duplicates_drop() {
        let mut seq = Sequence::new("e", 0);
        assert_eq!(offsets(&seq.accept("e", 1, ["a", "b"]).0), [1, 2]);
        assert_eq!(offsets(&seq.accept("e", 4, ["d"]).0), Vec::<u64>::new());
        assert!(seq.has_gap());
        assert_eq!(
            offsets(&seq.accept("e", 2, ["b", "c"]).0),
            [3, 4],
            "b again drops"
        );
        assert!(!seq.has_gap());
        assert_eq!(seq.last(), 4);
        assert!(seq.accept("e", 1, ["a"]).0.is_empty());
    }

    #[test]
    fn a_new_epoch_starts_over_and_a_lost_gap_can_be_given_up() {
        let mut seq = Sequence::new("e", 7);
        assert_eq!(
            offsets(&seq.accept("f", 2, [2]).0),
            Vec::<u64>::new(),
            "1 is awaited"
        );
        assert_eq!(offsets(&seq.accept("f", 1, [1]).0), [1, 2]);
        assert_eq!(seq.epoch(), "f");
        seq.accept("f", 5, [5, 6]);
        let (ready, lost) = seq.give_up_gap();
        assert_eq!((offsets(&ready), lost), (vec![5, 6], 2));
        assert_eq!(seq.skip_to(10), 3);
        assert_eq!(seq.last(), 9);
    }

    #[test]
    fn a_late_message_of_a_left_epoch_is_dropped_not_taken_as_new() {
        let mut seq = Sequence::new("e", 61);
        assert_eq!(offsets(&seq.accept("f", 1, [1, 2]).0), [1, 2]);
        // Kept in "e" just before the store lost it, published late.
        let (ready, lost) = seq.accept("e", 62, [62]);
        assert_eq!((offsets(&ready), lost), (vec![], 1));
        assert_eq!((seq.epoch(), seq.last()), ("f", 2), "still in f");
        assert!(seq.has_left("e") && !seq.has_left("f"));
        assert_eq!(offsets(&seq.accept("f", 2, [2, 3]).0), [3], "2 not again");
        // A room first seen empty ("") left nothing behind.
        let mut fresh = Sequence::new("", 0);
        assert_eq!(offsets(&fresh.accept("g", 1, [1]).0), [1]);
        assert!(!fresh.has_left(""));
    }

    #[test]
    fn what_waited_in_the_old_epoch_goes_out_when_a_new_one_begins() {
        let mut seq = Sequence::new("e", 60);
        // 61 and 63 never came; 62 and 64 waited for them.
        assert!(seq.accept("e", 62, [62]).0.is_empty());
        assert!(seq.accept("e", 64, [64]).0.is_empty());
        let (ready, lost) = seq.accept("f", 1, [1]);
        assert_eq!((offsets(&ready), lost), (vec![62, 64, 1], 2));
        assert!(!seq.has_gap());
    }

    #[test]
    fn waiting_messages_are_bounded() {
        let mut seq = Sequence::new("e", 0);
        let (ready, lost) = seq.accept("e", 3, 0..=MAX_PENDING as u64);
        assert_eq!(lost, 2, "1 and 2 given up");
        assert_eq!(ready.len(), MAX_PENDING + 1);
        assert!(!seq.has_gap());
    }
}
