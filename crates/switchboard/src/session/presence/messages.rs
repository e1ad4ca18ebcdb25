//! What presence says: the shares nodes announce to each other
//! (`PresenceShare`, `PresenceUpdate`, `PresenceSnapshot`, on the cluster
//! wire) and the changes members hear as `$joined` / `$left`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

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
