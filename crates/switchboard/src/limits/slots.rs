//! The hub's places for links: under the connection limit (held from the
//! handshake until the socket's disconnect handler has run) and under the
//! limit on long-polling links that have not sent their first `GET`.
//!
//! A small owned part of the hub: the transports and the edge take and
//! release places here without reaching into the hub.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// The counts of places taken, and a wake-up whenever one is given back.
#[derive(Default)]
pub(crate) struct LinkSlots {
    /// Links admitted under the connection limit (handshake or live).
    admitted: AtomicUsize,
    /// Long-polling links opened that have not sent their first `GET`.
    pending_polls: AtomicUsize,
    /// Woken whenever a place is given back (and by [`LinkSlots::wake`]).
    released: Notify,
}

impl LinkSlots {
    /// A new owner for the places of one client address (or of every
    /// client without per-address limits).
    pub(crate) fn new_owner(self: &Arc<Self>) -> Arc<SlotOwner> {
        Arc::new(SlotOwner {
            slots: Arc::downgrade(self),
        })
    }

    /// Takes a place under `max` for a link whose client address shares
    /// `owner`; `None` when all are taken.
    pub(crate) fn admit(&self, owner: Arc<SlotOwner>, max: usize) -> Option<ConnectionSlot> {
        take(&self.admitted, max)?;
        Some(ConnectionSlot { owner })
    }

    /// Takes a place under `max` for a long-polling link without its first
    /// `GET`; `None` at the limit.
    pub(crate) fn take_pending_poll(self: &Arc<Self>, max: usize) -> Option<PendingPoll> {
        take(&self.pending_polls, max)?;
        Some(PendingPoll {
            slots: self.clone(),
        })
    }

    /// Places taken under the connection limit.
    pub(crate) fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Acquire)
    }

    /// Long-polling links waiting for their first `GET`.
    pub(crate) fn pending_polls(&self) -> usize {
        self.pending_polls.load(Ordering::Acquire)
    }

    /// Resolves at the next release (or [`LinkSlots::wake`]); create it
    /// before checking the counts, so that no release is missed.
    pub(crate) fn released(&self) -> Notified<'_> {
        self.released.notified()
    }

    /// Wakes whoever waits in [`LinkSlots::released`] (the hub does when a
    /// session finishes).
    pub(crate) fn wake(&self) {
        self.released.notify_waiters();
    }
}

/// Adds one to `count` unless it is at `max`.
fn take(count: &AtomicUsize, max: usize) -> Option<()> {
    count
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        })
        .ok()
        .map(|_| ())
}

/// What the places of one client address (or every unlimited place)
/// share: its strong count is that address's live links.
pub(crate) struct SlotOwner {
    slots: Weak<LinkSlots>,
}

/// A place under the connection limit; released when dropped.
///
/// One pointer (it lives in every connection's task): to the owner that
/// the links of one client address share.
pub(crate) struct ConnectionSlot {
    owner: Arc<SlotOwner>,
}

impl ConnectionSlot {
    /// Gives the place under the connection limit back, keeping the client
    /// address's share: a long-polling link waiting for its first `GET`
    /// holds no slot but still counts under its address's limit.
    pub(crate) fn into_owner(self) -> Arc<SlotOwner> {
        self.owner.clone()
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Some(slots) = self.owner.slots.upgrade() {
            slots.admitted.fetch_sub(1, Ordering::AcqRel);
            slots.released.notify_waiters();
        }
    }
}

/// A place under the limit on long-polling links without their first
/// `GET`; released when dropped.
pub(crate) struct PendingPoll {
    slots: Arc<LinkSlots>,
}

impl Drop for PendingPoll {
    fn drop(&mut self) {
        self.slots.pending_polls.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_are_counted_until_dropped() {
        let slots = Arc::new(LinkSlots::default());
        let owner = slots.new_owner();
        let a = slots.admit(owner.clone(), 2).expect("first");
        let b = slots.admit(owner.clone(), 2).expect("second");
        assert!(slots.admit(owner.clone(), 2).is_none(), "at the limit");
        assert_eq!(Arc::strong_count(&owner), 3, "the owner counts live links");
        drop(a);
        assert_eq!(slots.admitted(), 1);
        let owner_back = b.into_owner();
        assert_eq!(slots.admitted(), 0, "into_owner gives the place back");
        assert_eq!(Arc::strong_count(&owner_back), 2);

        let p = slots.take_pending_poll(1).expect("pending");
        assert!(slots.take_pending_poll(1).is_none());
        drop(p);
        assert_eq!(slots.pending_polls(), 0);
    }
}
