//! Connections that have not yet sent a complete request head: a bounded
//! set, oldest first, whose oldest member is closed to make room.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::edge::activity::Activity;

/// One connection while it is served over HTTP: pending (told to close
/// when it is evicted) until its first request is complete, then watched
/// for idleness.
#[derive(Debug, Default)]
pub(crate) struct PendingEntry {
    /// The order of arrival: the oldest has the lowest.
    id: u64,
    /// Its place in [`PendingConnections`]' slots.
    slot: usize,
    /// Set once the connection is no longer pending (head received,
    /// evicted or gone).
    settled: AtomicBool,
    evict: Notify,
    /// Whether the connection is answering a request, and since when it
    /// has not: kept here so that a connection makes one allocation for
    /// both.
    pub(crate) activity: Activity,
}

impl PendingEntry {
    /// Whether the connection is no longer pending.
    pub(crate) fn is_settled(&self) -> bool {
        self.settled.load(Ordering::Acquire)
    }

    /// Resolves when the connection has been evicted.
    pub(crate) async fn evicted(&self) {
        self.evict.notified().await;
    }
}

/// The pending connections of one listener.
#[derive(Debug)]
pub(crate) struct PendingConnections {
    cap: usize,
    inner: Mutex<Slots>,
}

/// The pending entries in reusable slots: the slots grow to the most
/// connections pending at once (at most the cap) and are then reused, so
/// that a connection's arrival and settling allocate nothing here. Only
/// an eviction, which is rare, looks for the oldest.
#[derive(Debug, Default)]
struct Slots {
    next_id: u64,
    entries: Vec<Option<Arc<PendingEntry>>>,
    free: Vec<usize>,
    len: usize,
}

impl Slots {
    fn insert(&mut self) -> Arc<PendingEntry> {
        self.next_id += 1;
        let slot = self.free.pop().unwrap_or_else(|| {
            self.entries.push(None);
            self.entries.len() - 1
        });
        let entry = Arc::new(PendingEntry {
            id: self.next_id,
            slot,
            ..PendingEntry::default()
        });
        self.entries[slot] = Some(entry.clone());
        self.len += 1;
        entry
    }

    fn remove(&mut self, entry: &PendingEntry) {
        let held = &mut self.entries[entry.slot];
        if held.as_ref().is_some_and(|held| held.id == entry.id) {
            *held = None;
            self.free.push(entry.slot);
            self.len -= 1;
        }
    }

    fn pop_oldest(&mut self) -> Option<Arc<PendingEntry>> {
        let oldest = self
            .entries
            .iter()
            .flatten()
            .min_by_key(|entry| entry.id)?
            .clone();
        self.remove(&oldest);
        Some(oldest)
    }
}

impl PendingConnections {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            inner: Mutex::new(Slots::default()),
        }
    }

    /// Adds a new connection; evicts the oldest ones over the cap and
    /// returns how many.
    pub(crate) fn insert(&self) -> (Arc<PendingEntry>, usize) {
        let mut slots = self.inner.lock();
        let mut evicted = 0;
        while slots.len >= self.cap {
            if let Some(oldest) = slots.pop_oldest() {
                Self::close(&oldest);
                evicted += 1;
            }
        }
        (slots.insert(), evicted)
    }

    /// Closes the oldest pending connection (to free its descriptor);
    /// false when there is none.
    pub(crate) fn evict_oldest(&self) -> bool {
        let oldest = self.inner.lock().pop_oldest();
        match oldest {
            Some(oldest) => {
                Self::close(&oldest);
                true
            }
            None => false,
        }
    }

    /// Closes this pending connection (its request is too slow).
    pub(crate) fn evict(&self, entry: &PendingEntry) {
        self.inner.lock().remove(entry);
        Self::close(entry);
    }

    fn close(entry: &PendingEntry) {
        entry.settled.store(true, Ordering::Release);
        // `notify_one` keeps the wake-up for a task not yet waiting.
        entry.evict.notify_one();
    }

    /// The connection is no longer pending (its head is complete, or it
    /// is gone). Cheap after the first call.
    pub(crate) fn settle(&self, entry: &PendingEntry) {
        if !entry.settled.swap(true, Ordering::AcqRel) {
            self.inner.lock().remove(entry);
        }
    }

    /// How many connections are pending now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_oldest_is_evicted_over_the_cap() {
        let pending = PendingConnections::new(2);
        let (a, n) = pending.insert();
        assert_eq!(n, 0);
        let (b, _) = pending.insert();
        pending.settle(&b);
        let (_c, n) = pending.insert();
        assert_eq!(n, 0, "b settled: room for c");
        let (_d, n) = pending.insert();
        assert_eq!(n, 1);
        // `a` was the oldest: its wake-up is kept for it.
        tokio::time::timeout(std::time::Duration::from_secs(1), a.evicted())
            .await
            .expect("a evicted");
        assert_eq!(pending.len(), 2);
        assert!(pending.evict_oldest());
        assert!(pending.evict_oldest());
        assert!(!pending.evict_oldest());
    }

    #[test]
    fn slots_are_reused_and_a_stale_entry_removes_nothing() {
        let pending = PendingConnections::new(1024);
        for _ in 0..1000 {
            let (a, _) = pending.insert();
            let (b, _) = pending.insert();
            pending.settle(&a);
            pending.settle(&b);
        }
        assert_eq!(pending.inner.lock().entries.len(), 2, "two slots, reused");
        // An entry evicted, whose slot now holds a newer one: settling or
        // evicting the old one leaves the new one pending.
        let (old, _) = pending.insert();
        assert!(pending.evict_oldest());
        let (new, _) = pending.insert();
        pending.settle(&old);
        pending.evict(&old);
        assert_eq!(pending.len(), 1);
        assert!(!new.is_settled());
    }
}
