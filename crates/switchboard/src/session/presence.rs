//! Who is in each presence room (PROTOCOL.md section 10), as this node
//! knows it: its own sockets, counted as they join and leave, and each
//! other node's share, as that node announced it.
//!
//! A node numbers the changes of its own share (`seq`) and announces each
//! one to the others with the new count of the (room, user) it changed;
//! its heartbeats carry the last number. A node that finds a gap (an
//! announcement lost, a backend outage, a node it has just met) asks for
//! that node's whole share, a snapshot, and merges it: each (room, user)
//! keeps the value of the newest change seen, so announcements and
//! snapshots may arrive in any order. A node that goes takes its share
//! with it.
//!
//! `$joined` and `$left` follow a user's count of sockets in a room,
//! summed over the nodes as this node sees them, crossing zero: each
//! node's members hear one `$joined` when the user arrives and one `$left`
//! when the user's last socket is gone, wherever the sockets are.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_protocol::{RoomPresence, UserPresence};

/// The most announcements a node keeps track of beyond a gap; past it, the
/// next snapshot mends what the forgotten ones changed.
const MAX_PENDING: usize = 4096;

/// One node's count of a user's sockets (or of the anonymous ones) in a
/// presence room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceShare {
    /// The room.
    pub room: String,
    /// The user; `None` counts the anonymous sockets.
    pub user: Option<String>,
    /// The user's public information (a token's `info`), in the
    /// announcement of the node's first socket of the user in the room
    /// and in snapshots.
    pub info: Option<Value>,
    /// How many of the node's sockets it is.
    pub sockets: u32,
}

/// A change of one node's share, announced to the other nodes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresenceUpdate {
    /// The announcing node.
    pub node: String,
    /// The number of the change: one more than the node's previous one.
    pub seq: u64,
    /// The new count.
    pub share: PresenceShare,
}

/// A node's whole share, as of its change `seq`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PresenceSnapshot {
    /// The number of the node's last change it includes.
    pub seq: u64,
    /// Every (room, user) of the node with at least one socket.
    pub shares: Vec<PresenceShare>,
}

/// A user's first socket arrived in a room, or its last one went,
/// counted over every node: what `$joined` and `$left` tell the members.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PresenceChange {
    pub(crate) room: Arc<str>,
    pub(crate) user: Arc<str>,
    pub(crate) info: Option<Value>,
    pub(crate) joined: bool,
}

/// The changes one membership change made; usually none.
#[must_use = "the members must hear of presence changes"]
#[derive(Debug, Default)]
pub(crate) struct PresenceChanges(pub(crate) Vec<PresenceChange>);

impl PresenceChanges {
    /// Adds a change, if there is one.
    pub(crate) fn push(&mut self, change: Option<PresenceChange>) {
        self.0.extend(change);
    }
}

/// A (room, user) pair; `None` for the anonymous sockets.
type Key = (Arc<str>, Option<Arc<str>>);

/// One (room, user)'s count: this node's sockets and the others'.
#[derive(Debug, Default)]
struct Tally {
    local: u32,
    remote: u64,
    info: Option<Value>,
}

impl Tally {
    fn total(&self) -> u64 {
        u64::from(self.local) + self.remote
    }
}

#[derive(Debug, Default)]
struct RoomTally {
    users: HashMap<Arc<str>, Tally>,
    anonymous: Tally,
}

impl RoomTally {
    fn is_empty(&self) -> bool {
        self.users.is_empty() && self.anonymous.total() == 0
    }
}

/// What one other node holds of a (room, user), as of its change `seq`.
/// A count of zero is kept (as a tombstone) only while changes of that
/// node may still arrive out of order.
#[derive(Debug)]
struct PeerShare {
    sockets: u32,
    seq: u64,
}

/// Another node's share, and how much of its history has been seen.
#[derive(Debug, Default)]
struct Peer {
    /// Every change up to this one is applied.
    contiguous: u64,
    /// Changes applied beyond `contiguous` (a gap before them).
    pending: BTreeSet<u64>,
    /// The newest change seen.
    latest: u64,
    shares: HashMap<Key, PeerShare>,
}

impl Peer {
    fn is_complete(&self) -> bool {
        self.contiguous == self.latest
    }

    /// Records change `seq` as seen; moves `contiguous` over the gap it
    /// closes.
    fn saw(&mut self, seq: u64) {
        self.latest = self.latest.max(seq);
        if seq == self.contiguous + 1 {
            self.contiguous = seq;
        } else if seq > self.contiguous && self.pending.len() < MAX_PENDING {
            self.pending.insert(seq);
        }
        self.advance();
    }

    fn advance(&mut self) {
        while self.pending.first() == Some(&(self.contiguous + 1)) {
            self.pending.pop_first();
            self.contiguous += 1;
        }
        let contiguous = self.contiguous;
        self.pending.retain(|&seq| seq > contiguous);
        if self.is_complete() {
            // No older change can arrive any more: the tombstones go.
            self.shares.retain(|_, share| share.sockets > 0);
        }
    }
}

struct State {
    /// The number of this node's last change.
    seq: u64,
    rooms: HashMap<Arc<str>, RoomTally>,
    peers: HashMap<String, Peer>,
}

/// Announces a change of this node's share to the other nodes; never
/// waits.
pub(crate) type Announce = Box<dyn Fn(PresenceUpdate) + Send + Sync>;

/// Which rooms keep presence.
pub(crate) type PresenceRooms = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// The presence of every presence room, on every node, as this node knows
/// it. Its lock is taken after the room registry's, never before.
pub(crate) struct PresenceBook {
    node: String,
    rooms: PresenceRooms,
    announce: Announce,
    state: Mutex<State>,
}

impl PresenceBook {
    /// A book for node `node`, keeping the rooms `rooms` accepts, that
    /// tells the other nodes of its changes through `announce`.
    pub(crate) fn new(node: String, rooms: PresenceRooms, announce: Announce) -> Self {
        Self {
            node,
            rooms,
            announce,
            state: Mutex::new(State {
                seq: 0,
                rooms: HashMap::new(),
                peers: HashMap::new(),
            }),
        }
    }

    /// Whether `room` keeps presence.
    pub(crate) fn keeps(&self, room: &str) -> bool {
        (self.rooms)(room)
    }

    /// The number of this node's last change (its heartbeats carry it).
    pub(crate) fn seq(&self) -> u64 {
        self.state.lock().seq
    }

    /// One of this node's sockets (of `user`, or anonymous) joined
    /// (`joined`) or left a presence room; `info` is asked for only when
    /// the user's first socket here joins. Announces the new count.
    pub(crate) fn local(
        &self,
        room: &Arc<str>,
        user: Option<&str>,
        info: impl FnOnce() -> Option<Value>,
        joined: bool,
    ) -> Option<PresenceChange> {
        let mut state = self.state.lock();
        let room_tally = state.rooms.entry(room.clone()).or_default();
        let user: Option<Arc<str>> = user.map(|user| match room_tally.users.get_key_value(user) {
            Some((key, _)) => key.clone(),
            None => Arc::from(user),
        });
        let tally = match &user {
            Some(user) => room_tally.users.entry(user.clone()).or_default(),
            None => &mut room_tally.anonymous,
        };
        let before = tally.total();
        if joined {
            tally.local += 1;
        } else if tally.local == 0 {
            tracing::warn!(room = %room, "presence: a socket left that was not counted");
            prune(&mut state.rooms, room, user.as_deref());
            return None;
        } else {
            tally.local -= 1;
        }
        let first_here = joined && tally.local == 1;
        if first_here && user.is_some() && tally.info.is_none() {
            tally.info = info();
        }
        let share = PresenceShare {
            room: room.to_string(),
            user: user.as_deref().map(str::to_owned),
            info: if first_here { tally.info.clone() } else { None },
            sockets: tally.local,
        };
        let change = user.and_then(|user| crossing(room, user, tally, before));
        prune(&mut state.rooms, room, share.user.as_deref());
        state.seq += 1;
        // Under the lock, so the announcements leave in their order.
        (self.announce)(PresenceUpdate {
            node: self.node.clone(),
            seq: state.seq,
            share,
        });
        change
    }

    /// Applies another node's announcement.
    pub(crate) fn apply_update(&self, update: PresenceUpdate) -> PresenceChanges {
        let mut changes = PresenceChanges::default();
        if update.node == self.node {
            return changes;
        }
        let mut state = self.state.lock();
        let State { rooms, peers, .. } = &mut *state;
        let peer = peers.entry(update.node).or_default();
        if update.seq <= peer.contiguous {
            return changes; // seen, or older than a snapshot applied
        }
        peer.saw(update.seq);
        let key = key_of(&update.share);
        if let Some(held) = peer.shares.get(&key).filter(|s| s.seq >= update.seq) {
            // A newer change of this pair came first; the info of the
            // user's arrival may still be news.
            if held.sockets > 0 {
                adopt_info(rooms, &key, update.share.info);
            }
            return changes;
        }
        let PresenceShare { info, sockets, .. } = update.share;
        changes.push(set_share(rooms, peer, key, sockets, info, update.seq));
        if peer.is_complete() {
            peer.shares.retain(|_, share| share.sockets > 0);
        }
        changes
    }

    /// Merges another node's snapshot: each (room, user) takes it unless a
    /// newer announcement of that pair was applied.
    pub(crate) fn apply_snapshot(&self, node: &str, snapshot: PresenceSnapshot) -> PresenceChanges {
        let mut changes = PresenceChanges::default();
        if node == self.node {
            return changes;
        }
        let mut state = self.state.lock();
        let State { rooms, peers, .. } = &mut *state;
        let peer = peers.entry(node.to_owned()).or_default();
        let seq = snapshot.seq;
        if seq < peer.contiguous || (seq == peer.contiguous && peer.is_complete()) {
            return changes; // nothing it does not know
        }
        let mut incoming: HashMap<Key, PresenceShare> = snapshot
            .shares
            .into_iter()
            .map(|share| (key_of(&share), share))
            .collect();
        let held: Vec<Key> = peer.shares.keys().cloned().collect();
        for key in held {
            let newer = peer.shares.get(&key).is_some_and(|s| s.seq >= seq);
            if newer {
                incoming.remove(&key);
                continue;
            }
            let (sockets, info) = match incoming.remove(&key) {
                Some(share) => (share.sockets, share.info),
                None => (0, None),
            };
            changes.push(set_share(rooms, peer, key, sockets, info, seq));
        }
        for (key, share) in incoming {
            changes.push(set_share(rooms, peer, key, share.sockets, share.info, seq));
        }
        peer.latest = peer.latest.max(seq);
        peer.contiguous = peer.contiguous.max(seq);
        peer.advance();
        changes
    }

    /// Whether this node must ask `node` for a snapshot, `node`'s
    /// heartbeat saying its last change is `announced`. Heartbeats leave
    /// after the announcements they count, on the same channel: a change
    /// not seen by then was lost (or was made before the nodes met).
    pub(crate) fn needs_snapshot(&self, node: &str, announced: u64) -> bool {
        let state = self.state.lock();
        match state.peers.get(node) {
            Some(peer) => announced > peer.contiguous || !peer.is_complete(),
            None => announced > 0,
        }
    }

    /// Forgets a node that left or fell silent: its users leave.
    pub(crate) fn node_gone(&self, node: &str) -> PresenceChanges {
        let mut changes = PresenceChanges::default();
        let mut state = self.state.lock();
        let State { rooms, peers, .. } = &mut *state;
        let Some(mut peer) = peers.remove(node) else {
            return changes;
        };
        let held: Vec<Key> = peer.shares.keys().cloned().collect();
        for key in held {
            let seq = peer.latest;
            changes.push(set_share(rooms, &mut peer, key, 0, None, seq));
        }
        changes
    }

    /// This node's share.
    pub(crate) fn snapshot(&self) -> PresenceSnapshot {
        let state = self.state.lock();
        let mut shares = Vec::new();
        for (room, tally) in &state.rooms {
            for (user, user_tally) in &tally.users {
                if user_tally.local > 0 {
                    shares.push(PresenceShare {
                        room: room.to_string(),
                        user: Some(user.to_string()),
                        info: user_tally.info.clone(),
                        sockets: user_tally.local,
                    });
                }
            }
            if tally.anonymous.local > 0 {
                shares.push(PresenceShare {
                    room: room.to_string(),
                    user: None,
                    info: None,
                    sockets: tally.anonymous.local,
                });
            }
        }
        PresenceSnapshot {
            seq: state.seq,
            shares,
        }
    }

    /// Who is in `room` on every node.
    pub(crate) fn room(&self, room: &str) -> RoomPresence {
        let state = self.state.lock();
        let Some(tally) = state.rooms.get(room) else {
            return RoomPresence {
                room: room.to_owned(),
                ..RoomPresence::default()
            };
        };
        let mut users: Vec<UserPresence> = tally
            .users
            .iter()
            .map(|(user, tally)| UserPresence {
                user: user.to_string(),
                info: tally.info.clone().unwrap_or(Value::Null),
                sockets: tally.total(),
            })
            .collect();
        users.sort_unstable_by(|a, b| a.user.cmp(&b.user));
        RoomPresence {
            room: room.to_owned(),
            users,
            anonymous: tally.anonymous.total(),
        }
    }
}

fn key_of(share: &PresenceShare) -> Key {
    (
        Arc::from(share.room.as_str()),
        share.user.as_deref().map(Arc::from),
    )
}

/// Sets what `peer` holds of `key` to `sockets` as of change `seq`, and
/// the room's remote count with it.
fn set_share(
    rooms: &mut HashMap<Arc<str>, RoomTally>,
    peer: &mut Peer,
    key: Key,
    sockets: u32,
    info: Option<Value>,
    seq: u64,
) -> Option<PresenceChange> {
    let old = match peer.shares.entry(key.clone()) {
        Entry::Occupied(mut held) => {
            let old = held.get().sockets;
            held.insert(PeerShare { sockets, seq });
            old
        }
        Entry::Vacant(vacant) => {
            vacant.insert(PeerShare { sockets, seq });
            0
        }
    };
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
fn adopt_info(rooms: &mut HashMap<Arc<str>, RoomTally>, (room, user): &Key, info: Option<Value>) {
    let (Some(user), Some(info)) = (user, info) else {
        return;
    };
    if let Some(tally) = rooms.get_mut(room).and_then(|r| r.users.get_mut(user)) {
        tally.info.get_or_insert(info);
    }
}

/// The change when a tally's total crosses zero.
fn crossing(room: &Arc<str>, user: Arc<str>, tally: &Tally, before: u64) -> Option<PresenceChange> {
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
fn prune(rooms: &mut HashMap<Arc<str>, RoomTally>, room: &str, user: Option<&str>) {
    let Some(room_tally) = rooms.get_mut(room) else {
        return;
    };
    if let Some(user) = user {
        if room_tally.users.get(user).is_some_and(|t| t.total() == 0) {
            room_tally.users.remove(user);
        }
    }
    if room_tally.is_empty() {
        rooms.remove(room);
    }
}

#[cfg(test)]
#[path = "presence_tests.rs"]
mod tests;
