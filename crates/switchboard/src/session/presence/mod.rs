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

mod messages;
mod tally;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::Value;
use switchboard_protocol::{RoomPresence, UserPresence};

pub(crate) use self::messages::{PresenceChange, PresenceChanges};
pub use self::messages::{PresenceShare, PresenceSnapshot, PresenceUpdate};
use self::tally::{Key, Peer, RoomTally, adopt_info, crossing, key_of, prune, set_share};

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

#[cfg(test)]
mod tests;
