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
//! new epoch reached this node): it is not taken as yet another new
//! epoch, which would hand the current epoch out again from its start.
//! Its own node delivered it, and the store no longer has it, so the
//! publication is its only copy: it is handed out once, apart, as
//! [`Accepted::late`] (without an offset: it has no place in the epoch
//! the members stand in now). That holds too for a message this node
//! gave up as lost when the new epoch began (it was waiting for it past
//! a gap).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// The most messages kept waiting past a gap; beyond it the gap is given
/// up (the messages in it are counted as lost) so memory stays bounded.
pub(crate) const MAX_PENDING: usize = 10_000;
/// How many epochs a sequence remembers having left.
const LEFT_EPOCHS: usize = 8;
/// How many given-up offsets of a left epoch a sequence remembers.
const MAX_HOLES: usize = 256;

/// Messages in order, with their offsets.
pub(crate) type Numbered<T> = Vec<(u64, T)>;

/// What [`Sequence::accept`] hands out, each part in order, to be
/// delivered in the order of the fields.
#[derive(Debug)]
pub(crate) struct Accepted<T> {
    /// A new epoch began: what waited past a gap in the one it left (the
    /// gap given up), with that epoch.
    pub(crate) left_over: Option<(Arc<str>, Numbered<T>)>,
    /// The messages of the current epoch that follow the last one.
    pub(crate) ready: Vec<(u64, T)>,
    /// Late messages of an epoch already left that this node never
    /// delivered (past the last one it delivered in that epoch).
    pub(crate) late: Vec<(u64, T)>,
    /// How many messages were given up as lost.
    pub(crate) lost: u64,
}

impl<T> Default for Accepted<T> {
    fn default() -> Self {
        Self {
            left_over: None,
            ready: Vec::new(),
            late: Vec::new(),
            lost: 0,
        }
    }
}

/// An epoch a sequence moved on from.
#[derive(Debug)]
struct LeftEpoch {
    epoch: Arc<str>,
    /// The last offset delivered in it.
    last: u64,
    /// Offsets before `last` given up when the sequence left it (at most
    /// [`MAX_HOLES`]): a late message may still bring one.
    holes: BTreeSet<u64>,
}

/// One history room's delivery order on this node.
#[derive(Debug)]
pub(crate) struct Sequence<T> {
    epoch: Arc<str>,
    /// Epochs this sequence moved on from, the latest last.
    left: VecDeque<LeftEpoch>,
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
    /// it is late.
    pub(crate) fn has_left(&self, epoch: &str) -> bool {
        self.left.iter().any(|left| *left.epoch == *epoch)
    }

    /// The offset of the first message waiting past a gap.
    pub(crate) fn first_waiting(&self) -> Option<u64> {
        self.pending.keys().next().copied()
    }

    /// Whether messages wait past a gap.
    pub(crate) fn has_gap(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes `items`, numbered from `first` in `epoch`, and hands out
    /// what can be delivered now. A new epoch (the history began again,
    /// at offset 1) starts the sequence over: what waited past a gap in
    /// the old one comes first (the gap given up), and what came before
    /// `first` in the new one is waited for. Items of an epoch already
    /// left are late: those past the last one delivered in it go out
    /// apart, the others are dropped.
    pub(crate) fn accept(
        &mut self,
        epoch: &str,
        first: u64,
        items: impl IntoIterator<Item = T>,
    ) -> Accepted<T> {
        self.touched = Instant::now();
        let mut accepted = Accepted::default();
        if *self.epoch != *epoch {
            if self.has_left(epoch) {
                accepted.late = self.late(epoch, first, items);
                return accepted;
            }
            // The old epoch is over (the store began again without it):
            // what waited past a gap in it goes out now, the gap given up.
            let holes = self.holes();
            let (left_over, lost) = self.give_up_every_gap();
            accepted.lost = lost;
            let left = std::mem::replace(&mut self.epoch, Arc::from(epoch));
            if !left.is_empty() {
                if !left_over.is_empty() {
                    accepted.left_over = Some((left.clone(), left_over));
                }
                self.left.push_back(LeftEpoch {
                    epoch: left,
                    last: self.last,
                    holes,
                });
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
            accepted.lost += self.skip_to(oldest);
        }
        accepted.ready = self.drain();
        accepted
    }

    /// Takes `items` published again by the node that kept them, from
    /// `first` in `epoch`, which the store lost since: as
    /// [`Self::accept`] in the current epoch or one left, and nothing in
    /// an epoch this sequence never followed (they must not start it).
    pub(crate) fn accept_again(
        &mut self,
        epoch: &str,
        first: u64,
        items: impl IntoIterator<Item = T>,
    ) -> Accepted<T> {
        if *self.epoch == *epoch || self.has_left(epoch) {
            self.accept(epoch, first, items)
        } else {
            Accepted::default()
        }
    }

    /// The items of left `epoch`, from `first`, that this node never
    /// delivered: past the last one it did, or given up as it left.
    fn late(&mut self, epoch: &str, first: u64, items: impl IntoIterator<Item = T>) -> Numbered<T> {
        let Some(left) = self.left.iter_mut().find(|left| *left.epoch == *epoch) else {
            return Vec::new();
        };
        let mut late = Vec::new();
        for (offset, item) in (first..).zip(items) {
            if offset > left.last || left.holes.remove(&offset) {
                left.last = left.last.max(offset);
                late.push((offset, item));
            }
        }
        late
    }

    /// The first [`MAX_HOLES`] offsets missing before the messages waiting
    /// past a gap.
    fn holes(&self) -> BTreeSet<u64> {
        let Some(&newest) = self.pending.keys().next_back() else {
            return BTreeSet::new();
        };
        (self.last + 1..newest)
            .filter(|offset| !self.pending.contains_key(offset))
            .take(MAX_HOLES)
            .collect()
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
        assert_eq!(offsets(&seq.accept("e", 1, ["a", "b"]).ready), [1, 2]);
        assert_eq!(offsets(&seq.accept("e", 4, ["d"]).ready), Vec::<u64>::new());
        assert!(seq.has_gap());
        assert_eq!(
            offsets(&seq.accept("e", 2, ["b", "c"]).ready),
            [3, 4],
            "b again drops"
        );
        assert!(!seq.has_gap());
        assert_eq!(seq.last(), 4);
        assert!(seq.accept("e", 1, ["a"]).ready.is_empty());
    }

    #[test]
    fn a_new_epoch_starts_over_and_a_lost_gap_can_be_given_up() {
        let mut seq = Sequence::new("e", 7);
        assert_eq!(
            offsets(&seq.accept("f", 2, [2]).ready),
            Vec::<u64>::new(),
            "1 is awaited"
        );
        assert_eq!(offsets(&seq.accept("f", 1, [1]).ready), [1, 2]);
        assert_eq!(seq.epoch(), "f");
        seq.accept("f", 5, [5, 6]);
        let (ready, lost) = seq.give_up_gap();
        assert_eq!((offsets(&ready), lost), (vec![5, 6], 2));
        assert_eq!(seq.skip_to(10), 3);
        assert_eq!(seq.last(), 9);
    }

    #[test]
    fn a_late_message_of_a_left_epoch_goes_out_apart_once() {
        let mut seq = Sequence::new("e", 61);
        assert_eq!(offsets(&seq.accept("f", 1, [1, 2]).ready), [1, 2]);
        // Kept in "e" just before the store lost it, published late.
        let late = seq.accept("e", 62, [62]);
        assert_eq!(offsets(&late.late), [62], "never delivered here: goes out");
        assert!(late.ready.is_empty() && late.left_over.is_none() && late.lost == 0);
        assert_eq!((seq.epoch(), seq.last()), ("f", 2), "still in f");
        assert!(seq.has_left("e") && !seq.has_left("f"));
        let again = seq.accept("e", 61, [61, 62, 63]);
        assert_eq!(offsets(&again.late), [63], "61 and 62 went out already");
        assert_eq!(
            offsets(&seq.accept("f", 2, [2, 3]).ready),
            [3],
            "2 not again"
        );
        // A room first seen empty ("") left nothing behind.
        let mut fresh = Sequence::new("", 0);
        assert_eq!(offsets(&fresh.accept("g", 1, [1]).ready), [1]);
        assert!(!fresh.has_left(""));
    }

    #[test]
    fn what_waited_in_the_old_epoch_goes_out_when_a_new_one_begins() {
        let mut seq = Sequence::new("e", 60);
        // 61 and 63 never came; 62 and 64 waited for them.
        assert!(seq.accept("e", 62, [62]).ready.is_empty());
        assert!(seq.accept("e", 64, [64]).ready.is_empty());
        let accepted = seq.accept("f", 1, [1]);
        let (epoch, left_over) = accepted.left_over.expect("what waited in e");
        assert_eq!((&*epoch, offsets(&left_over)), ("e", vec![62, 64]));
        assert_eq!((offsets(&accepted.ready), accepted.lost), (vec![1], 2));
        assert!(!seq.has_gap());
        assert!(seq.accept("e", 64, [64]).late.is_empty(), "64 went out");
        // 61 and 63 were given up; either may still come, late, once.
        assert_eq!(offsets(&seq.accept("e", 63, [63]).late), [63]);
        assert_eq!(offsets(&seq.accept("e", 61, [61, 62, 63]).late), [61]);
        assert!(seq.accept("e", 61, [61]).late.is_empty());
    }

    #[test]
    fn messages_published_again_never_start_an_epoch() {
        let mut seq = Sequence::new("f", 0);
        assert!(seq.accept_again("e", 61, [61]).late.is_empty());
        assert!(seq.accept_again("e", 61, [61]).ready.is_empty());
        assert_eq!((seq.epoch(), seq.has_left("e")), ("f", false));
        assert_eq!(offsets(&seq.accept_again("f", 1, [1]).ready), [1]);
        assert!(seq.accept_again("f", 1, [1]).ready.is_empty(), "once");
        assert_eq!(offsets(&seq.accept("g", 1, [1]).ready), [1]);
        assert_eq!(offsets(&seq.accept_again("f", 1, [1, 2]).late), [2]);
    }

    #[test]
    fn waiting_messages_are_bounded() {
        let mut seq = Sequence::new("e", 0);
        let accepted = seq.accept("e", 3, 0..=MAX_PENDING as u64);
        assert_eq!(accepted.lost, 2, "1 and 2 given up");
        assert_eq!(accepted.ready.len(), MAX_PENDING + 1);
        assert!(!seq.has_gap());
    }
}
