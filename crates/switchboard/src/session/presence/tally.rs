//! The counts behind presence: each (room, user)'s sockets here and on
//! the other nodes, and what this node holds of each other node's share,
//! merged by the newest change.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::Value;

use super::messages::{PresenceChange, PresenceShare};

/// The most announcements a node keeps track of beyond a gap; past it, the
/// next snapshot mends what the forgotten ones changed.
pub(super) const MAX_PENDING: usize = 4096;

/// A (room, user) pair; `None` for the anonymous sockets.
pub(super) type Key = (Arc<str>, Option<Arc<str>>);

/// One (room, user)'s count: this node's sockets and the others'.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) local: u32,
    pub(super) remote: u64,
    pub(super) info: Option<Value>,
}

impl Tally {
    pub(super) fn total(&self) -> u64 {
        u64::from(self.local) + self.remote
    }
}

#[derive(Debug, Default)]
pub(super) struct RoomTally {
    pub(super) users: HashMap<Arc<str>, Tally>,
    pub(super) anonymous: Tally,
}

impl RoomTally {
    pub(super) fn is_empty(&self) -> bool {
        self.users.is_empty() && self.anonymous.total() == 0
    }
}

/// What one other node holds of a (room, user), as of its change `seq`.
/// A count of zero is kept (as a tombstone) only while changes of that
/// node may still arrive out of order.
#[derive(Debug)]
pub(super) struct PeerShare {
    pub(super) sockets: u32,
    pub(super) seq: u64,
}

/// Another node's share, and how much of its history has been seen.
#[derive(Debug, Default)]
pub(super) struct Peer {
    /// Every change up to this one is applied.
    pub(super) contiguous: u64,
    /// Changes applied beyond `contiguous` (a gap before them).
    pub(super) pending: BTreeSet<u64>,
    /// The newest change seen.
    pub(super) latest: u64,
    pub(super) shares: HashMap<Key, PeerShare>,
    /// How many of `shares` are tombstones (zero sockets, kept while
    /// older changes may still arrive).
    pub(super) tombstones: usize,
}

impl Peer {
    pub(super) fn is_complete(&self) -> bool {
        self.contiguous == self.latest
    }

    /// Records change `seq` as seen; moves `contiguous` over the gap it
    /// closes.
    pub(super) fn saw(&mut self, seq: u64) {
        self.latest = self.latest.max(seq);
        if seq == self.contiguous + 1 {
            self.contiguous = seq;
        } else if seq > self.contiguous && self.pending.len() < MAX_PENDING {
            self.pending.insert(seq);
        }
        self.advance();
    }

    pub(super) fn advance(&mut self) {
        while self.pending.first() == Some(&(self.contiguous + 1)) {
            self.pending.pop_first();
            self.contiguous += 1;
        }
        let contiguous = self.contiguous;
        self.pending.retain(|&seq| seq > contiguous);
        if self.is_complete() && self.tombstones > 0 {
            // No older change can arrive any more: the tombstones go.
            self.shares.retain(|_, share| share.sockets > 0);
            self.tombstones = 0;
        }
    }
}

pub(super) fn key_of(share: &PresenceShare) -> Key {
    (
        Arc::from(share.room.as_str()),
        share.user.as_deref().map(Arc::from),
    )
}

/// Sets what `peer` holds of `key` to `sockets` as of change `seq`, and
/// the room's remote count with it.
pub(super) fn set_share(
    rooms: &mut HashMap<Arc<str>, RoomTally>,
    peer: &mut Peer,
    key: Key,
    sockets: u32,
    info: Option<Value>,
    seq: u64,
) -> Option<PresenceChange> {
    // A zero is kept (a tombstone) only while older changes may arrive.
    let keep = sockets > 0 || !peer.is_complete();
    let held = if keep {
        peer.shares.insert(key.clone(), PeerShare { sockets, seq })
    } else {
        peer.shares.remove(&key)
    };
    let was_tombstone = held.as_ref().is_some_and(|h| h.sockets == 0);
    let is_tombstone = keep && sockets == 0;
    peer.tombstones = peer.tombstones + usize::from(is_tombstone) - usize::from(was_tombstone);
    let old = held.map_or(0, |h| h.sockets);
    if old == sockets {
        return None;
    }
    let (room, user) = key;
    let room_tally = rooms.entry(room.clone()).or_default();
    let tally = match &user {
        Some(user) => room_tally.users.entry(user.clone()).or_default(),
        None => &mut room_tally.anonymous,
    };
    let before = tally.total();
    tally.remote = tally.remote + u64::from(sockets) - u64::from(old);
    if tally.info.is_none() && sockets > 0 {
        tally.info = info;
    }
    let change = user
        .clone()
        .and_then(|user| crossing(&room, user, tally, before));
    prune(rooms, &room, user.as_deref());
    change
}

/// Keeps `info` as the user's if the room's tally of the user has none.
pub(super) fn adopt_info(
    rooms: &mut HashMap<Arc<str>, RoomTally>,
    (room, user): &Key,
    info: Option<Value>,
) {
    let (Some(user), Some(info)) = (user, info) else {
        return;
    };
    if let Some(tally) = rooms.get_mut(room).and_then(|r| r.users.get_mut(user)) {
        tally.info.get_or_insert(info);
    }
}

/// The change when a tally's total crosses zero.
pub(super) fn crossing(
    room: &Arc<str>,
    user: Arc<str>,
    tally: &Tally,
    before: u64,
) -> Option<PresenceChange> {
    let after = tally.total();
    if (before == 0) == (after == 0) {
        return None;
    }
    Some(PresenceChange {
        room: room.clone(),
        user,
        info: tally.info.clone(),
        joined: after > 0,
    })
}

/// Drops a user's tally at zero, and the room's once empty.
pub(super) fn prune(rooms: &mut HashMap<Arc<str>, RoomTally>, room: &str, user: Option<&str>) {
    let Some(room_tally) = rooms.get_mut(room) else {
        return;
    };
    if let Some(user) = user
        && room_tally.users.get(user).is_some_and(|t| t.total() == 0)
    {
        room_tally.users.remove(user);
    }
    if room_tally.is_empty() {
        rooms.remove(room);
    }
}
