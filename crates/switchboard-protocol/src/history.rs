//! Room history (PROTOCOL.md section 11): where a client stands in a room's
//! history, and a page of that history.

use serde::{Deserialize, Serialize};

use crate::message::Message;

/// A place in a room's history: the `since` of a `$join`, and what a
/// `$join` reply tells (its `epoch` and `offset`).
///
/// Offsets are strictly increasing within an epoch; a new epoch (the
/// history was lost, or expired whole) starts them again. The empty epoch
/// `""` is a room with no history yet: offset `0` in it means "from the
/// start of whatever epoch comes next".
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HistoryPosition {
    /// The room's epoch.
    pub epoch: String,
    /// The offset of the last message received (or the room's latest).
    pub offset: u64,
}

/// A page of a room's history: the answer of the standalone server's
/// `GET /api/rooms/{room}/history?since=k&limit=n`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoomHistory {
    /// The room.
    pub room: String,
    /// The room's epoch (`""` while it has no history).
    pub epoch: String,
    /// The offset of the room's latest message (`0` while it has none).
    pub offset: u64,
    /// The messages after `since`, oldest first, each with its `room` and
    /// `offset` set.
    pub messages: Vec<Message>,
}
