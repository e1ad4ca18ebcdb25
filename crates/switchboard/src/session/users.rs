//! The user registry: user id -> this node's sessions of that user
//! (PROTOCOL.md section 10: a user is every socket connected with the same
//! `sub`). A session is in it from its opening to its end, live or waiting
//! for a resume, as it is in its rooms.
//!
//! Locks are short and never held across an `.await`.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::session::shared::SocketShared;

/// One user's sessions on this node: most users have one, which is held
/// as it is (a map per user cost each authenticated socket ~100 bytes).
enum Sessions {
    One(Arc<SocketShared>),
    Many(HashMap<Arc<str>, Arc<SocketShared>>),
}

impl Sessions {
    fn insert(&mut self, session: &Arc<SocketShared>) {
        match self {
            Sessions::One(one) if Arc::ptr_eq(one, session) => {}
            Sessions::One(one) => {
                let mut many = HashMap::with_capacity(2);
                many.insert(one.id.clone(), one.clone());
                many.insert(session.id.clone(), session.clone());
                *self = Sessions::Many(many);
            }
            Sessions::Many(many) => {
                many.insert(session.id.clone(), session.clone());
            }
        }
    }

    /// Removes `session`; returns whether none is left.
    fn remove(&mut self, session: &SocketShared) -> bool {
        match self {
            Sessions::One(one) => one.id == session.id,
            Sessions::Many(many) => {
                many.remove(&session.id);
                many.is_empty()
            }
        }
    }

    fn for_each(&self, f: impl FnMut(&Arc<SocketShared>)) {
        match self {
            Sessions::One(one) => std::iter::once(one).for_each(f),
            Sessions::Many(many) => many.values().for_each(f),
        }
    }
}

/// Every user with a session on this node, and those sessions.
#[derive(Default)]
pub(crate) struct UserRegistry {
    users: RwLock<HashMap<Box<str>, Sessions>>,
}

impl UserRegistry {
    /// Adds `session` to its user's (a session without a user is not
    /// registered).
    pub(crate) fn add(&self, session: &Arc<SocketShared>) {
        let Some(identity) = &session.identity else {
            return;
        };
        let mut users = self.users.write();
        match users.get_mut(identity.user()) {
            Some(sessions) => sessions.insert(session),
            None => {
                users.insert(identity.user().into(), Sessions::One(session.clone()));
            }
        }
    }

    /// Removes an ending session from its user's.
    pub(crate) fn remove(&self, session: &SocketShared) {
        let Some(identity) = &session.identity else {
            return;
        };
        let mut users = self.users.write();
        if let Some(sessions) = users.get_mut(identity.user())
            && sessions.remove(session)
        {
            users.remove(identity.user());
        }
    }

    /// Calls `f` with every session of `user`, under the read lock (`f`
    /// must not block).
    pub(crate) fn for_each_session(&self, user: &str, mut f: impl FnMut(&Arc<SocketShared>)) {
        if let Some(sessions) = self.users.read().get(user) {
            sessions.for_each(&mut f);
        }
    }

    /// The sessions of `user`.
    pub(crate) fn sessions(&self, user: &str) -> Vec<Arc<SocketShared>> {
        let mut found = Vec::new();
        self.for_each_session(user, |s| found.push(s.clone()));
        found
    }

    /// How many sessions of `user` have a link attached now.
    pub(crate) fn live_count(&self, user: &str) -> usize {
        let mut live = 0;
        self.for_each_session(user, |s| {
            if s.queue.is_attached() {
                live += 1;
            }
        });
        live
    }
}
