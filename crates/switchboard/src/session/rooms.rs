//! The room registry: room -> members, kept in step with each socket's own
//! set of rooms (socket -> rooms).
//!
//! Locks are short and never held across an `.await`. Lock order is always
//! the registry first, then a socket's room set.
//!
//! When a session ends it leaves the registry for good
//! ([`RoomRegistry::leave_for_good`]) but keeps its own set, so work it sent
//! before its close (a relay, say) still sees the rooms it was in; a later
//! join is refused, so an ended socket never becomes a member again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::session::presence::{PresenceBook, PresenceChanges};
use crate::session::shared::SocketShared;
use crate::stats::RoomTraffic;

type Members = HashMap<Arc<str>, Arc<SocketShared>>;

/// One room: its local members and, while traffic is counted
/// ([`RoomRegistry::count_traffic`]), what was delivered through it.
#[derive(Default)]
struct Room {
    members: Members,
    /// Broadcasts delivered to the room's members here since the last
    /// [`RoomRegistry::take_traffic`].
    messages: AtomicU64,
    /// The members they reached (a broadcast counts each member).
    deliveries: AtomicU64,
}

/// Every room on this node and its local members, and with presence
/// (PROTOCOL.md section 10) the book that counts the users of the rooms
/// that keep it, changed under the registry's lock so counts and members
/// never disagree.
#[derive(Default)]
pub(crate) struct RoomRegistry {
    rooms: RwLock<HashMap<Arc<str>, Room>>,
    presence: Option<PresenceBook>,
    /// Whether deliveries are counted per room (off unless someone asks:
    /// a broadcast then pays one relaxed load of this flag).
    counting: AtomicBool,
}

impl RoomRegistry {
    /// A registry that keeps presence in `presence`, if given.
    pub(crate) fn new(presence: Option<PresenceBook>) -> Self {
        Self {
            rooms: RwLock::default(),
            presence,
            counting: AtomicBool::new(false),
        }
    }

    /// The presence book, if the hub keeps presence.
    pub(crate) fn presence(&self) -> Option<&PresenceBook> {
        self.presence.as_ref()
    }

    /// Adds `socket` to `room`; returns whether it was newly added (never
    /// for a socket whose session has ended).
    pub(crate) fn join(&self, room: &str, socket: &Arc<SocketShared>) -> (bool, PresenceChanges) {
        self.join_within(room, socket, usize::MAX)
            .unwrap_or((false, PresenceChanges::default()))
    }

    /// Adds `socket` to `room` unless that would make it a member of more
    /// than `max_rooms` rooms: `None` then, else whether it was newly
    /// added (never for a socket whose session has ended).
    pub(crate) fn join_within(
        &self,
        room: &str,
        socket: &Arc<SocketShared>,
        max_rooms: usize,
    ) -> Option<(bool, PresenceChanges)> {
        let mut changes = PresenceChanges::default();
        let mut rooms = self.rooms.write();
        let mut own = socket.rooms.lock();
        if own.ended {
            tracing::debug!(socket = %socket.id, room, "join after the session ended: ignored");
            return Some((false, changes));
        }
        if own.names.len() >= max_rooms && !own.names.contains(room) {
            return None;
        }
        let key = match rooms.get_key_value(room) {
            Some((key, _)) => key.clone(),
            None => Arc::from(room),
        };
        let members = &mut rooms.entry(key.clone()).or_default().members;
        let added = members.insert(socket.id.clone(), socket.clone()).is_none();
        if added {
            changes.push(self.counted(&key, socket, true));
        }
        own.names.insert(key);
        Some((added, changes))
    }

    /// Removes `socket` from `room`; returns whether it was a member.
    pub(crate) fn leave(&self, room: &str, socket: &SocketShared) -> (bool, PresenceChanges) {
        let mut changes = PresenceChanges::default();
        let mut rooms = self.rooms.write();
        let removed = match rooms.get_key_value(room) {
            Some((key, _)) => {
                let key = key.clone();
                let removed = self.remove_member(&mut rooms, &key, socket);
                changes.push(removed.then(|| self.counted(&key, socket, false)).flatten());
                removed
            }
            None => false,
        };
        socket.rooms.lock().names.remove(room);
        (removed, changes)
    }

    /// Removes `socket` from every room it is in.
    pub(crate) fn leave_all(&self, socket: &SocketShared) -> PresenceChanges {
        let mut changes = PresenceChanges::default();
        let mut rooms = self.rooms.write();
        let joined = std::mem::take(&mut socket.rooms.lock().names);
        for room in &joined {
            if self.remove_member(&mut rooms, room, socket) {
                changes.push(self.counted(room, socket, false));
            }
        }
        changes
    }

    /// Removes an ending session from every room it is in and refuses its
    /// later joins. Its own set is kept: work it sent before it closed is
    /// still handled as from a member (PROTOCOL.md section 4).
    pub(crate) fn leave_for_good(&self, socket: &SocketShared) -> PresenceChanges {
        let mut changes = PresenceChanges::default();
        let mut rooms = self.rooms.write();
        let mut own = socket.rooms.lock();
        own.ended = true;
        for room in &own.names {
            if self.remove_member(&mut rooms, room, socket) {
                changes.push(self.counted(room, socket, false));
            }
        }
        changes
    }

    /// Removes `socket` from `room`'s members; returns whether it was one.
    fn remove_member(
        &self,
        rooms: &mut HashMap<Arc<str>, Room>,
        room: &str,
        socket: &SocketShared,
    ) -> bool {
        let Some(entry) = rooms.get_mut(room) else {
            return false;
        };
        let removed = entry.members.remove(&socket.id).is_some();
        if entry.members.is_empty() {
            rooms.remove(room);
        }
        removed
    }

    /// Counts `socket` in (`joined`) or out of `room`'s presence, if the
    /// hub keeps presence there; called under the registry's write lock.
    fn counted(
        &self,
        room: &Arc<str>,
        socket: &SocketShared,
        joined: bool,
    ) -> Option<crate::session::presence::PresenceChange> {
        let book = self.presence.as_ref().filter(|book| book.keeps(room))?;
        let identity = socket.identity.as_deref();
        book.local(
            room,
            identity.map(|identity| identity.user()),
            || identity.and_then(|identity| identity.info()),
            joined,
        )
    }

    /// The ids of the members of `room`, sorted.
    pub(crate) fn member_ids(&self, room: &str) -> Vec<String> {
        let rooms = self.rooms.read();
        let mut ids: Vec<String> = rooms
            .get(room)
            .map(|r| r.members.keys().map(|k| k.to_string()).collect())
            .unwrap_or_default();
        ids.sort_unstable();
        ids
    }

    /// Calls `f` with every member of `room`, under the read lock (`f` must
    /// not block).
    pub(crate) fn for_each_member(&self, room: &str, mut f: impl FnMut(&Arc<SocketShared>)) {
        let rooms = self.rooms.read();
        if let Some(entry) = rooms.get(room) {
            entry.members.values().for_each(&mut f);
        }
    }

    /// [`RoomRegistry::for_each_member`] for a delivery to the room's
    /// members: while traffic is counted, the room counts one message and
    /// a delivery per member (two relaxed additions; nothing allocated or
    /// locked beyond the read lock the delivery takes anyway).
    pub(crate) fn for_each_recipient(&self, room: &str, mut f: impl FnMut(&Arc<SocketShared>)) {
        let rooms = self.rooms.read();
        if let Some(entry) = rooms.get(room) {
            if self.counting.load(Ordering::Relaxed) {
                entry.messages.fetch_add(1, Ordering::Relaxed);
                entry
                    .deliveries
                    .fetch_add(entry.members.len() as u64, Ordering::Relaxed);
            }
            entry.members.values().for_each(&mut f);
        }
    }

    /// Turns per-room traffic counting on or off (off: the counts are
    /// left as they are; the next [`RoomRegistry::take_traffic`] clears
    /// them).
    pub(crate) fn count_traffic(&self, on: bool) {
        self.counting.store(on, Ordering::Relaxed);
    }

    /// The `top` rooms by deliveries since the last call (ties by name),
    /// most first, with their member counts; every room's counts start
    /// again from zero. Rooms without traffic are left out.
    pub(crate) fn take_traffic(&self, top: usize) -> Vec<RoomTraffic> {
        let rooms = self.rooms.read();
        let mut best: Vec<RoomTraffic> = Vec::with_capacity(top.min(rooms.len()) + 1);
        for (name, entry) in rooms.iter() {
            let messages = entry.messages.swap(0, Ordering::Relaxed);
            let deliveries = entry.deliveries.swap(0, Ordering::Relaxed);
            if messages == 0 || top == 0 {
                continue;
            }
            let worse = |t: &RoomTraffic| {
                (t.deliveries, std::cmp::Reverse(t.room.as_str()))
                    < (deliveries, std::cmp::Reverse(&**name))
            };
            if best.len() == top && best.last().is_some_and(|last| !worse(last)) {
                continue;
            }
            let at = best.iter().position(worse).unwrap_or(best.len());
            best.insert(
                at,
                RoomTraffic {
                    room: name.to_string(),
                    members: entry.members.len(),
                    messages,
                    deliveries,
                },
            );
            best.truncate(top);
        }
        best
    }

    /// The number of rooms with at least one member.
    pub(crate) fn len(&self) -> usize {
        self.rooms.read().len()
    }

    /// The names of every room, sorted.
    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.rooms.read().keys().map(|k| k.to_string()).collect();
        names.sort_unstable();
        names
    }
}

/// Every socket connected to this node, by id.
#[derive(Default)]
pub(crate) struct SocketRegistry {
    sockets: RwLock<HashMap<Arc<str>, Arc<SocketShared>>>,
}

impl SocketRegistry {
    pub(crate) fn insert(&self, socket: Arc<SocketShared>) {
        self.sockets.write().insert(socket.id.clone(), socket);
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Arc<SocketShared>> {
        self.sockets.write().remove(id)
    }

    pub(crate) fn get(&self, id: &str) -> Option<Arc<SocketShared>> {
        self.sockets.read().get(id).cloned()
    }

    /// Removes `session` if its id still names it (see
    /// [`SessionTable::remove_session`](crate::session::table::SessionTable::remove_session)).
    pub(crate) fn remove_session(&self, session: &Arc<SocketShared>) {
        let mut sockets = self.sockets.write();
        if sockets
            .get(&*session.id)
            .is_some_and(|held| Arc::ptr_eq(held, session))
        {
            sockets.remove(&*session.id);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.sockets.read().len()
    }

    pub(crate) fn for_each(&self, mut f: impl FnMut(&Arc<SocketShared>)) {
        self.sockets.read().values().for_each(&mut f);
    }
}
