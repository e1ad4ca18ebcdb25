//! What a long-polling link keeps between its HTTP requests, by session:
//! its generation, whether a `GET` is held, when it was last alive, its
//! inbound checks, and its place (pending, then a connection slot).
//!
//! The hub holds the table; a session holds nothing of it, so a WebSocket
//! session pays nothing for the fallback. An entry goes with its link: the
//! link's watcher removes it when the link ends, and ending the session
//! removes whatever is left.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::limits::inbound::InboundChecks;
use crate::limits::slots::{ConnectionSlot, PendingPoll, SlotOwner};

/// The state of a session's current long-polling link.
pub(crate) struct PollLink {
    /// The link's generation in the session's queue.
    pub(crate) link: u64,
    /// A `GET` is held open right now.
    pub(crate) get_held: bool,
    /// When a `GET` was last held or answered (or the link opened).
    pub(crate) last_alive: Instant,
    pub(crate) checks: InboundChecks,
    /// What the link holds: a pending place, then, from its first `GET`, a
    /// connection slot. Released with the link.
    pub(crate) admission: Admission,
}

/// The place a long-polling link holds.
pub(crate) enum Admission {
    /// Opened, no `GET` yet: a pending place, and the client address's
    /// share (its live links count under the per-address limit), with
    /// which the first `GET` takes its slot.
    Pending(#[allow(dead_code)] PendingPoll, Arc<SlotOwner>),
    /// A place under the connection limit.
    Admitted(#[allow(dead_code)] ConnectionSlot),
}

/// The long-polling links of a hub, by socket id. Each link's state has a
/// lock of its own: the table's lock is held only to find it.
#[derive(Default)]
pub(crate) struct PollLinks {
    links: Mutex<HashMap<Arc<str>, Arc<Mutex<PollLink>>>>,
}

impl PollLinks {
    /// Makes `link` the socket's long-polling link (replacing any other).
    pub(crate) fn open(&self, socket: &Arc<str>, link: PollLink) {
        self.links
            .lock()
            .insert(socket.clone(), Arc::new(Mutex::new(link)));
    }

    /// The state of the socket's long-polling link when it is still `link`.
    pub(crate) fn get(&self, socket: &str, link: u64) -> Option<Arc<Mutex<PollLink>>> {
        let state = self.links.lock().get(socket)?.clone();
        let current = state.lock().link == link;
        current.then_some(state)
    }

    /// The generation of the socket's long-polling link, if it has one.
    pub(crate) fn current(&self, socket: &str) -> Option<u64> {
        let state = self.links.lock().get(socket)?.clone();
        let link = state.lock().link;
        Some(link)
    }

    /// Forgets the socket's long-polling link if it is `link` (any link
    /// with `None`), releasing its place.
    pub(crate) fn close(&self, socket: &str, link: Option<u64>) {
        let removed = {
            let mut links = self.links.lock();
            let matches = links
                .get(socket)
                .is_some_and(|state| link.is_none_or(|link| state.lock().link == link));
            if matches { links.remove(socket) } else { None }
        };
        // The place is released outside the table's lock.
        drop(removed);
    }

    /// How many long-polling links the hub holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.links.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::HubConfig;
    use crate::limits::slots::LinkSlots;

    fn link(slots: &Arc<LinkSlots>, link: u64) -> PollLink {
        PollLink {
            link,
            get_held: false,
            last_alive: Instant::now(),
            checks: InboundChecks::new(&HubConfig::default()),
            admission: Admission::Admitted(slots.admit(slots.new_owner(), 10).expect("a place")),
        }
    }

    #[test]
    fn a_link_is_found_and_closed_by_its_generation_and_releases_its_place() {
        let slots = Arc::new(LinkSlots::default());
        let links = PollLinks::default();
        let socket: Arc<str> = Arc::from("s1");
        links.open(&socket, link(&slots, 1));
        assert_eq!(links.current("s1"), Some(1));
        assert!(links.get("s1", 1).is_some());
        assert!(links.get("s1", 2).is_none(), "another generation");
        // A newer link replaces the old one, whose place is given back.
        links.open(&socket, link(&slots, 2));
        assert_eq!((links.len(), slots.admitted()), (1, 1));
        links.close("s1", Some(1));
        assert_eq!(
            links.current("s1"),
            Some(2),
            "an old link's watcher removes nothing"
        );
        links.close("s1", Some(2));
        assert_eq!((links.len(), slots.admitted()), (0, 0));
        links.open(&socket, link(&slots, 3));
        links.close("s1", None);
        assert_eq!(
            (links.len(), slots.admitted()),
            (0, 0),
            "the session's end removes any"
        );
    }
}
