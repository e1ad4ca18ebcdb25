//! Connections that have not yet sent a complete request head: a bounded
//! set, oldest first, whose oldest member is closed to make room.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

/// One pending connection: told to close when it is evicted.
#[derive(Debug, Default)]
pub(crate) struct PendingEntry {
    id: u64,
    /// Set once the connection is no longer pending (head received,
    /// evicted or gone).
    settled: AtomicBool,
    evict: Notify,
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
    inner: Mutex<(u64, BTreeMap<u64, Arc<PendingEntry>>)>,
}

impl PendingConnections {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            inner: Mutex::new((0, BTreeMap::new())),
        }
    }

    /// Adds a new connection; evicts the oldest ones over the cap and
    /// returns how many.
    pub(crate) fn insert(&self) -> (Arc<PendingEntry>, usize) {
        let mut inner = self.inner.lock();
        let mut evicted = 0;
        while inner.1.len() >= self.cap {
            if let Some((_, oldest)) = inner.1.pop_first() {
                Self::close(&oldest);
                evicted += 1;
            }
        }
        inner.0 += 1;
        let entry = Arc::new(PendingEntry {
            id: inner.0,
            ..PendingEntry::default()
        });
        inner.1.insert(entry.id, entry.clone());
        (entry, evicted)
    }

    /// Closes the oldest pending connection (to free its descriptor);
    /// false when there is none.
    pub(crate) fn evict_oldest(&self) -> bool {
        let oldest = self.inner.lock().1.pop_first();
        match oldest {
            Some((_, oldest)) => {
                Self::close(&oldest);
                true
            }
            None => false,
        }
    }

    /// Closes this pending connection (its request is too slow).
    pub(crate) fn evict(&self, entry: &PendingEntry) {
        self.inner.lock().1.remove(&entry.id);
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
            self.inner.lock().1.remove(&entry.id);
        }
    }

    /// How many connections are pending now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.lock().1.len()
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
}
