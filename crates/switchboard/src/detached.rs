//! Sessions waiting for a resume (PROTOCOL.md section 5), and the hub-wide
//! bounds on them: how many there may be ([`HubConfig::max_detached_sessions`])
//! and how many bytes they may hold together ([`HubConfig::detached_budget`]).
//!
//! A session whose link dropped enters the ledger, in order; a resume takes
//! it out. One task per hub ends the sessions whose resume window has
//! passed (the oldest first: every session waits the same window) and,
//! when a bound is passed, the oldest detached sessions first, even before
//! their window ends; their resume then gets a new session.
//!
//! What a detached session holds is counted when its link drops: its
//! resume buffer's payload bytes (kept up to date as messages keep
//! arriving, see [`DetachedBytes`]) and its room memberships (the name's
//! length plus [`MEMBERSHIP_OVERHEAD`] each). A frame shared by many
//! sessions counts its full length in each.
//!
//! [`HubConfig::max_detached_sessions`]: crate::HubConfig::max_detached_sessions
//! [`HubConfig::detached_budget`]: crate::HubConfig::detached_budget

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::error::DisconnectReason;
use crate::hub::{Hub, HubInner};
use crate::socket::SocketShared;

/// The bytes one room membership of a detached session is counted for,
/// beside its name: its entries in the room's member map and in the
/// session's own room set.
pub(crate) const MEMBERSHIP_OVERHEAD: usize = 128;

/// The bytes all detached sessions hold, hub-wide. Resume buffers change
/// while detached (a push reports its growth), so this lives beside the
/// counters every session can reach, and a push past the budget wakes the
/// hub's detached-session task.
#[derive(Debug, Default)]
pub(crate) struct DetachedBytes {
    bytes: AtomicUsize,
    budget: AtomicUsize,
    over: Notify,
}

impl DetachedBytes {
    pub(crate) fn set_budget(&self, budget: usize) {
        self.budget.store(budget, Ordering::Relaxed);
    }

    /// Adds `n` bytes; wakes the detached-session task past the budget.
    pub(crate) fn add(&self, n: usize) {
        let total = self.bytes.fetch_add(n, Ordering::AcqRel) + n;
        if total > self.budget.load(Ordering::Relaxed) {
            self.over.notify_one();
        }
    }

    pub(crate) fn sub(&self, n: usize) {
        self.bytes.fetch_sub(n, Ordering::AcqRel);
    }

    /// Applies a detached resume buffer's growth (negative: it shrank).
    pub(crate) fn change(&self, delta: isize) {
        if delta >= 0 {
            self.add(delta.unsigned_abs());
        } else {
            self.sub(delta.unsigned_abs());
        }
    }

    /// The bytes held now.
    pub(crate) fn get(&self) -> usize {
        self.bytes.load(Ordering::Acquire)
    }

    fn over_budget(&self) -> bool {
        self.get() > self.budget.load(Ordering::Relaxed)
    }

    /// Wakes the detached-session task (a new entry, or the budget passed).
    fn wake(&self) {
        self.over.notify_one();
    }
}

struct Entry {
    session: Arc<SocketShared>,
    /// The bytes its memberships were counted for.
    rooms_bytes: usize,
    /// When its resume window ends.
    deadline: Instant,
    /// Why its link dropped: the reason it ends with if not resumed.
    reason: DisconnectReason,
}

#[derive(Default)]
struct Ledger {
    /// Detached sessions in the order their links dropped.
    by_order: BTreeMap<u64, Entry>,
    /// Their place in `by_order`, by socket id.
    order_of: HashMap<Arc<str>, u64>,
    next: u64,
}

impl Ledger {
    fn remove(&mut self, session: &SocketShared) -> Option<Entry> {
        let order = self.order_of.remove(&session.id)?;
        self.by_order.remove(&order)
    }
}

/// The sessions of a hub that wait for a resume.
#[derive(Default)]
pub(crate) struct DetachedSessions {
    ledger: Mutex<Ledger>,
    task_started: AtomicBool,
}

impl DetachedSessions {
    /// How many sessions wait for a resume.
    pub(crate) fn len(&self) -> usize {
        self.ledger.lock().by_order.len()
    }
}

/// What a detached session's memberships are counted for.
fn rooms_bytes(session: &SocketShared) -> usize {
    let rooms = session.rooms.lock();
    rooms
        .names
        .iter()
        .map(|name| name.len() + MEMBERSHIP_OVERHEAD)
        .sum()
}

impl Hub {
    /// Detaches `link` from its session if it is still current: the session
    /// now waits for a resume, counted against the detached bounds (the
    /// oldest detached sessions end when they are passed). Returns whether
    /// the link was current.
    pub(crate) fn detach_link(
        &self,
        session: &Arc<SocketShared>,
        link: u64,
        reason: DisconnectReason,
    ) -> bool {
        let inner = &self.inner;
        {
            let mut ledger = inner.detached.ledger.lock();
            let Some(buffer_bytes) = session.queue.detach(link) else {
                return false;
            };
            let rooms_bytes = rooms_bytes(session);
            let order = ledger.next;
            ledger.next += 1;
            ledger.order_of.insert(session.id.clone(), order);
            ledger.by_order.insert(
                order,
                Entry {
                    session: session.clone(),
                    rooms_bytes,
                    deadline: Instant::now() + inner.config.resume_window,
                    reason,
                },
            );
            inner.stats.detached.add(buffer_bytes + rooms_bytes);
        }
        self.start_detached_task();
        inner.stats.detached.wake();
        true
    }

    /// Attaches a link to a detached session (a resume) under the ledger's
    /// lock, so that the session leaves the ledger exactly when its queue
    /// takes the link.
    pub(crate) fn resume_detached<T>(
        &self,
        session: &SocketShared,
        attach: impl FnOnce() -> Result<(T, usize), crate::send_queue::ResumeRefused>,
    ) -> Result<T, crate::send_queue::ResumeRefused> {
        let inner = &self.inner;
        let mut ledger = inner.detached.ledger.lock();
        let (attached, buffer_bytes) = attach()?;
        let rooms_bytes = ledger.remove(session).map_or(0, |e| e.rooms_bytes);
        inner.stats.detached.sub(buffer_bytes + rooms_bytes);
        Ok(attached)
    }

    /// Runs `end` (which ends the session's queue and returns what its
    /// resume buffer held while detached) under the ledger's lock, taking
    /// the session out of it.
    pub(crate) fn end_detached<T>(
        &self,
        session: &SocketShared,
        end: impl FnOnce() -> (T, usize),
    ) -> T {
        let inner = &self.inner;
        let mut ledger = inner.detached.ledger.lock();
        let (value, buffer_bytes) = end();
        let rooms_bytes = ledger.remove(session).map_or(0, |e| e.rooms_bytes);
        inner.stats.detached.sub(buffer_bytes + rooms_bytes);
        value
    }

    /// Starts the task that ends detached sessions, once per hub.
    fn start_detached_task(&self) {
        let detached = &self.inner.detached;
        if detached.task_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let hub = Arc::downgrade(&self.inner);
        let stats = self.inner.stats.clone();
        tokio::spawn(async move {
            loop {
                let woken = stats.detached.over.notified();
                let next = match Weak::upgrade(&hub) {
                    Some(inner) => Hub { inner }.end_detached_past_bounds(),
                    None => return,
                };
                match next {
                    Some(deadline) => {
                        tokio::select! {
                            () = woken => {}
                            () = tokio::time::sleep_until(deadline) => {}
                        }
                    }
                    None => woken.await,
                }
            }
        });
    }

    /// Ends the detached sessions whose resume window has passed, then the
    /// oldest ones while a bound is passed. Returns the next window's end.
    fn end_detached_past_bounds(&self) -> Option<Instant> {
        let inner: &HubInner = &self.inner;
        let max_sessions = inner.config.max_detached_sessions;
        loop {
            let (entry, evicted) = {
                let mut ledger = inner.detached.ledger.lock();
                let (&order, oldest) = ledger.by_order.first_key_value()?;
                let expired = oldest.deadline <= Instant::now();
                let evicted = !expired
                    && (ledger.by_order.len() > max_sessions || inner.stats.detached.over_budget());
                if !expired && !evicted {
                    return Some(oldest.deadline);
                }
                let entry = ledger.by_order.remove(&order).expect("the first entry");
                ledger.order_of.remove(&entry.session.id);
                inner.stats.detached.sub(entry.rooms_bytes);
                (entry, evicted)
            };
            // A resume that took it since it left the ledger keeps it.
            if entry.session.queue.is_attached() {
                continue;
            }
            if evicted {
                tracing::debug!(socket = %entry.session.id, "detached-session bound passed: the oldest ends");
                inner.stats.detached_session_evicted();
            } else {
                tracing::debug!(socket = %entry.session.id, "resume window passed");
            }
            self.end_session(&entry.session, entry.reason);
        }
    }
}
