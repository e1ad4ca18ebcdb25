//! Detaching a dropped link's session, resuming it, and the hub's task that
//! ends detached sessions past their window or the detached bounds.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use tokio::time::Instant;

use crate::error::DisconnectReason;
use crate::hub::handle::{Hub, HubInner};
use crate::send_queue::ResumeRefused;
use crate::session::detached::{Entry, rooms_bytes};
use crate::session::shared::SocketShared;

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
        {
            let mut ledger = self.inner.detached.ledger.lock();
            let Some(buffer_bytes) = session.queue.detach(link) else {
                return false;
            };
            self.enter_ledger(&mut ledger, session, buffer_bytes, reason);
        }
        self.start_detached_task();
        self.inner.stats.detached.wake();
        true
    }

    /// Puts a session that has no link into the detached ledger, counting
    /// its resume buffer's `buffer_bytes` and its rooms.
    fn enter_ledger(
        &self,
        ledger: &mut crate::session::detached::Ledger,
        session: &Arc<SocketShared>,
        buffer_bytes: usize,
        reason: DisconnectReason,
    ) {
        let inner = &self.inner;
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

    /// Puts a session that moved here, and has no link yet, into the
    /// detached ledger: it waits for its link like a session whose link
    /// dropped, and ends past the resume window if none comes.
    pub(crate) fn detach_arrival(&self, session: &Arc<SocketShared>) {
        {
            let mut ledger = self.inner.detached.ledger.lock();
            let reason = DisconnectReason::TransportError("moved here, never resumed".into());
            self.enter_ledger(&mut ledger, session, 0, reason);
        }
        self.start_detached_task();
        self.inner.stats.detached.wake();
    }

    /// Attaches a link to a detached session (a resume) under the ledger's
    /// lock, so that the session leaves the ledger exactly when its queue
    /// takes the link.
    pub(crate) fn resume_detached<T>(
        &self,
        session: &SocketShared,
        attach: impl FnOnce() -> Result<(T, usize), ResumeRefused>,
    ) -> Result<T, ResumeRefused> {
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
