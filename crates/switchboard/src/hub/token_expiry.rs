//! Links whose token expires unrefreshed are closed with `4003` (PROTOCOL.md
//! section 10): one task per hub waits for the earliest expiry of its
//! users' tokens, so an idle socket pays for no timer of its own.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use switchboard_protocol::CloseCode;
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::session::shared::SocketShared;

/// The longest the expiry task sleeps before it checks that its hub still
/// exists.
const RECHECK: Duration = Duration::from_secs(60);

/// The token expiries the hub watches: one entry per session with a token,
/// replaced by a refresh and dropped when the session ends or its expiry
/// comes, so however often a client refreshes the table holds one entry
/// for it.
#[derive(Default)]
pub(crate) struct TokenExpiries {
    watched: Mutex<Watched>,
    changed: Notify,
    started: AtomicBool,
}

/// The watched expiries, in order, and each socket's.
#[derive(Default)]
struct Watched {
    /// `(exp, socket id)` to the session.
    due: BTreeMap<Due, Weak<SocketShared>>,
    /// Each watched socket's expiry.
    by_socket: HashMap<Arc<str>, u64>,
}

/// An expiry and the socket it closes: `(exp, socket id)`.
type Due = (u64, Arc<str>);

/// Now, in Unix seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The instant of Unix second `at` (now for a past second).
fn instant_of(at: u64) -> Instant {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Instant::now() + Duration::from_secs(at).saturating_sub(now)
}

impl TokenExpiries {
    /// The earliest expiry watched, if any.
    fn earliest(&self) -> Option<u64> {
        self.watched.lock().due.keys().next().map(|(exp, _)| *exp)
    }

    /// Takes the entries due at `now` (Unix seconds).
    fn take_due(&self, now: u64) -> Vec<Weak<SocketShared>> {
        let mut watched = self.watched.lock();
        let later = watched.due.split_off(&(now + 1, Arc::from("")));
        let taken = std::mem::replace(&mut watched.due, later);
        for (_, id) in taken.keys() {
            watched.by_socket.remove(id);
        }
        taken.into_values().collect()
    }

    /// Stops watching the socket with this id (its session ended).
    pub(crate) fn forget(&self, id: &str) {
        let mut watched = self.watched.lock();
        if let Some(exp) = watched.by_socket.remove(id) {
            watched.due.remove(&(exp, Arc::from(id)));
        }
    }

    /// The number of entries watched.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.watched.lock().due.len()
    }
}

impl TokenExpiries {
    /// Watches the token of `session` (after it connected, resumed or
    /// refreshed): once it expires unrefreshed, its link is closed with
    /// `4003` and the session waits for a resume. Returns the watching
    /// task when it has yet to be started (the first time).
    pub(crate) fn watch(
        self: &Arc<Self>,
        session: &Arc<SocketShared>,
    ) -> Option<impl Future<Output = ()> + Send + 'static> {
        let exp = session.identity.as_ref().and_then(|i| i.expires_at())?;
        let sooner = self.earliest().is_none_or(|earliest| exp < earliest);
        {
            let mut watched = self.watched.lock();
            let id = session.id.clone();
            if let Some(old) = watched.by_socket.insert(id.clone(), exp) {
                watched.due.remove(&(old, id.clone()));
            }
            watched.due.insert((exp, id), Arc::downgrade(session));
        }
        if !self.started.swap(true, Ordering::AcqRel) {
            return Some(run(Arc::downgrade(self)));
        }
        if sooner {
            self.changed.notify_one();
        }
        None
    }
}

/// Closes the links of expired tokens, waking at the earliest expiry; ends
/// with its hub.
async fn run(expiries: Weak<TokenExpiries>) {
    loop {
        let Some(strong) = expiries.upgrade() else {
            return;
        };
        let wake = strong
            .earliest()
            .map_or(Instant::now() + RECHECK, instant_of)
            .min(Instant::now() + RECHECK);
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            () = strong.changed.notified() => {}
        }
        let now = unix_now();
        for session in strong.take_due(now) {
            let Some(session) = session.upgrade() else {
                continue;
            };
            expire(&session, now);
        }
    }
}

/// Closes the link of `session` with `4003` if its token is still expired
/// at `now` (not refreshed meanwhile) and a link is attached.
fn expire(session: &SocketShared, now: u64) {
    let expired = session
        .identity
        .as_ref()
        .and_then(|identity| identity.expires_at())
        .is_some_and(|exp| exp <= now);
    if expired && session.closed_reason().is_none() && session.queue.is_attached() {
        tracing::debug!(socket = %session.id, "token expired: link closed with 4003");
        session.queue.request_close(CloseCode::TokenExpired);
        session.counters().token_expiry_close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_due_in_order_one_per_socket() {
        let expiries = TokenExpiries::default();
        let insert = |exp: u64, id: &str| {
            let mut watched = expiries.watched.lock();
            let id: Arc<str> = Arc::from(id);
            if let Some(old) = watched.by_socket.insert(id.clone(), exp) {
                watched.due.remove(&(old, id.clone()));
            }
            watched.due.insert((exp, id), Weak::new());
        };
        insert(30, "a");
        insert(10, "b");
        insert(10, "b");
        insert(20, "c");
        insert(40, "a"); // a refresh replaces a's entry
        assert_eq!(expiries.len(), 3);
        assert_eq!(expiries.earliest(), Some(10));
        assert_eq!(expiries.take_due(9).len(), 0);
        assert_eq!(expiries.take_due(20).len(), 2);
        assert_eq!(expiries.earliest(), Some(40));
        expiries.forget("a");
        assert_eq!(expiries.len(), 0);
        assert_eq!(expiries.earliest(), None);
    }
}
