//! Accounting of numbered messages: which arrived, which twice, which out
//! of order, which never.

use serde::{Deserialize, Serialize};

/// What a receiver saw of messages numbered `0..expected`.
#[derive(Debug, Clone, Default)]
pub struct SequenceTracker {
    /// Arrivals per sequence number (saturating at 255).
    seen: Vec<u8>,
    highest: Option<u64>,
    duplicates: u64,
    out_of_order: u64,
    outside: u64,
}

/// How one arrival counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// The first copy of this number.
    First,
    /// A number seen before.
    Duplicate,
    /// A number outside `0..expected`.
    Outside,
}

impl SequenceTracker {
    /// A tracker for messages numbered `0..expected`.
    pub fn new(expected: u64) -> Self {
        Self {
            seen: vec![0; usize::try_from(expected).expect("sequence fits in memory")],
            ..Self::default()
        }
    }

    /// Notes the arrival of message `seq`.
    pub fn observe(&mut self, seq: u64) -> Arrival {
        let Some(count) = usize::try_from(seq).ok().and_then(|i| self.seen.get_mut(i)) else {
            self.outside += 1;
            return Arrival::Outside;
        };
        *count = count.saturating_add(1);
        if *count > 1 {
            self.duplicates += 1;
            return Arrival::Duplicate;
        }
        match self.highest {
            Some(highest) if seq < highest => self.out_of_order += 1,
            _ => self.highest = Some(seq),
        }
        Arrival::First
    }

    /// The counts over the numbers in `range` (duplicates, out-of-order
    /// and outside arrivals over everything observed).
    pub fn counts(&self, range: std::ops::Range<u64>) -> SequenceCounts {
        let start = usize::try_from(range.start).unwrap_or(usize::MAX);
        let end = usize::try_from(range.end).unwrap_or(usize::MAX);
        let window = self
            .seen
            .get(start.min(self.seen.len())..end.min(self.seen.len()))
            .unwrap_or_default();
        let received = window.iter().filter(|&&n| n > 0).count() as u64;
        SequenceCounts {
            received,
            lost: range.end.saturating_sub(range.start) - received,
            duplicates: self.duplicates,
            out_of_order: self.out_of_order,
            outside: self.outside,
        }
    }
}

/// Loss and duplicate counts of one receiver.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceCounts {
    /// Distinct numbers received in the window.
    pub received: u64,
    /// Numbers of the window never received.
    pub lost: u64,
    /// Extra copies of numbers already received.
    pub duplicates: u64,
    /// Numbers that arrived after a higher one.
    pub out_of_order: u64,
    /// Numbers outside the expected range.
    pub outside: u64,
}

impl SequenceCounts {
    /// The counts of two receivers added up.
    pub fn plus(&self, other: &SequenceCounts) -> SequenceCounts {
        SequenceCounts {
            received: self.received + other.received,
            lost: self.lost + other.lost,
            duplicates: self.duplicates + other.duplicates,
            out_of_order: self.out_of_order + other.out_of_order,
            outside: self.outside + other.outside,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_losses_duplicates_and_reorders() {
        let mut tracker = SequenceTracker::new(10);
        for seq in [0, 1, 3, 2, 3, 5, 12] {
            tracker.observe(seq);
        }
        let all = tracker.counts(0..10);
        assert_eq!(all.received, 5);
        assert_eq!(all.lost, 5);
        assert_eq!(all.duplicates, 1);
        assert_eq!(all.out_of_order, 1);
        assert_eq!(all.outside, 1);
        let window = tracker.counts(2..4);
        assert_eq!((window.received, window.lost), (2, 0));
    }

    #[test]
    fn counts_add_up() {
        let a = SequenceCounts {
            received: 3,
            lost: 1,
            duplicates: 2,
            out_of_order: 0,
            outside: 1,
        };
        let sum = a.plus(&a);
        assert_eq!(
            (sum.received, sum.lost, sum.duplicates, sum.outside),
            (6, 2, 4, 2)
        );
    }

    #[test]
    fn first_then_duplicate() {
        let mut tracker = SequenceTracker::new(2);
        assert_eq!(tracker.observe(1), Arrival::First);
        assert_eq!(tracker.observe(1), Arrival::Duplicate);
        assert_eq!(tracker.observe(2), Arrival::Outside);
    }
}
