//! One room's history in memory: the last messages, each with its offset
//! and the time it was kept, under a random epoch.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::{HistoryLimits, HistoryPage};

/// A room's history kept in this process (a single hub's rooms, and the
/// [`MemoryBus`](crate::adapter::MemoryBus)'s shared store).
///
/// Offsets start at 1 in a new epoch and go up by one per message. The
/// log keeps at most [`HistoryLimits::size`] messages, each for at most
/// [`HistoryLimits::ttl`]; a log left with no message is dropped by its
/// owner, and the next message starts a new epoch (the backends behave the
/// same: their epoch lives as long as a message of the room does).
#[derive(Debug)]
pub(crate) struct MemoryLog<T> {
    epoch: Arc<str>,
    latest: u64,
    entries: VecDeque<Entry<T>>,
}

#[derive(Debug)]
struct Entry<T> {
    offset: u64,
    kept_at: Instant,
    item: T,
}

impl<T: Clone> MemoryLog<T> {
    /// An empty log under a new random epoch.
    pub(crate) fn new() -> Self {
        Self {
            epoch: Arc::from(crate::id::new_epoch()),
            latest: 0,
            entries: VecDeque::new(),
        }
    }

    /// The log's epoch.
    pub(crate) fn epoch(&self) -> &Arc<str> {
        &self.epoch
    }

    /// Keeps `item` as the next message; returns its offset.
    pub(crate) fn append(&mut self, item: T, now: Instant, limits: &HistoryLimits) -> u64 {
        self.latest += 1;
        self.entries.push_back(Entry {
            offset: self.latest,
            kept_at: now,
            item,
        });
        while self.entries.len() > limits.size.max(1) {
            self.entries.pop_front();
        }
        self.expire(now, limits);
        self.latest
    }

    /// Drops the messages kept longer than the limits' time to live;
    /// returns whether the log is now empty (its owner drops it then).
    pub(crate) fn expire(&mut self, now: Instant, limits: &HistoryLimits) -> bool {
        while self
            .entries
            .front()
            .is_some_and(|e| now.saturating_duration_since(e.kept_at) >= limits.ttl)
        {
            self.entries.pop_front();
        }
        self.entries.is_empty()
    }

    /// The messages after `since`, oldest first, at most `limit`.
    pub(crate) fn page(&self, since: u64, limit: usize) -> HistoryPage<T> {
        let first = self.entries.front().map_or(self.latest + 1, |e| e.offset);
        // Offsets go up by one, so the first wanted entry is found by index.
        let skip =
            usize::try_from(since.saturating_add(1).saturating_sub(first)).unwrap_or(usize::MAX);
        let entries = self
            .entries
            .iter()
            .skip(skip)
            .take(limit)
            .map(|e| (e.offset, e.item.clone()))
            .collect();
        HistoryPage {
            epoch: self.epoch.to_string(),
            offset: self.latest,
            first,
            entries,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn limits(size: usize, ttl_ms: u64) -> HistoryLimits {
        HistoryLimits {
            size,
            ttl: Duration::from_millis(ttl_ms),
        }
    }

    #[test]
    fn offsets_go_up_by_one_and_pages_start_after_since() {
        let limits = limits(3, 60_000);
        let now = Instant::now();
        let mut log = MemoryLog::new();
        for n in 1..=5u64 {
            assert_eq!(log.append(n * 10, now, &limits), n);
        }
        let page = log.page(0, 10);
        assert_eq!(page.offset, 5);
        assert_eq!(page.first, 3, "only the last 3 are kept");
        assert_eq!(page.entries, vec![(3, 30), (4, 40), (5, 50)]);
        assert_eq!(log.page(3, 10).entries, vec![(4, 40), (5, 50)]);
        assert_eq!(log.page(3, 1).entries, vec![(4, 40)]);
        assert!(log.page(5, 10).entries.is_empty());
        assert!(log.page(9, 10).entries.is_empty());
        assert!(log.page(u64::MAX, 10).entries.is_empty());
        assert_eq!(log.page(0, 10).epoch, log.epoch().to_string());
    }

    #[test]
    fn messages_expire_and_an_empty_log_says_so() {
        let limits = limits(10, 100);
        let start = Instant::now();
        let mut log = MemoryLog::new();
        log.append("a", start, &limits);
        log.append("b", start + Duration::from_millis(60), &limits);
        assert!(!log.expire(start + Duration::from_millis(120), &limits));
        let page = log.page(0, 10);
        assert_eq!(page.entries, vec![(2, "b")]);
        assert_eq!(page.first, 2);
        assert!(log.expire(start + Duration::from_millis(200), &limits));
        let page = log.page(0, 10);
        assert_eq!(
            (page.first, page.offset),
            (3, 2),
            "empty: first is past the latest"
        );
    }

    #[test]
    fn epochs_differ() {
        let a: MemoryLog<u8> = MemoryLog::new();
        let b: MemoryLog<u8> = MemoryLog::new();
        assert_ne!(a.epoch(), b.epoch());
        assert!(!a.epoch().is_empty());
    }
}
