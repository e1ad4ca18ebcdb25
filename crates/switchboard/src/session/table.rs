//! The session table: sessions by their secret token, and the link
//! attached to one.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::session::shared::SocketShared;

/// Sessions by their secret token.
#[derive(Default)]
pub(crate) struct SessionTable {
    by_token: Mutex<HashMap<Box<str>, Arc<SocketShared>>>,
}

impl SessionTable {
    pub(crate) fn get(&self, token: &str) -> Option<Arc<SocketShared>> {
        self.by_token.lock().get(token).cloned()
    }

    pub(crate) fn insert(&self, session: Arc<SocketShared>) {
        self.by_token
            .lock()
            .insert(session.session.clone(), session);
    }

    pub(crate) fn remove(&self, token: &str) {
        self.by_token.lock().remove(token);
    }

    /// Removes `session` if its token still names it (and not a later
    /// session of the same token: one that moved away and back).
    pub(crate) fn remove_session(&self, session: &Arc<SocketShared>) {
        let mut by_token = self.by_token.lock();
        if by_token
            .get(&session.session)
            .is_some_and(|held| Arc::ptr_eq(held, session))
        {
            by_token.remove(&session.session);
        }
    }

    pub(crate) fn all(&self) -> Vec<Arc<SocketShared>> {
        self.by_token.lock().values().cloned().collect()
    }
}

/// A link attached to a session.
pub(crate) struct Attached {
    pub(crate) session: Arc<SocketShared>,
    /// The link's generation in the session's queue.
    pub(crate) link: u64,
    /// Whether the session is new (else a resume).
    pub(crate) opened: bool,
}
