//! Who is in a presence room (PROTOCOL.md section 10): the data of the
//! reply to `$presence`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who is in a presence room, over every node: the answer to `$presence`
/// and to the standalone server's `GET /api/rooms/{room}/presence`
/// (PROTOCOL.md section 10).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RoomPresence {
    /// The room.
    pub room: String,
    /// Its users, sorted by id.
    pub users: Vec<UserPresence>,
    /// How many anonymous sockets are in it.
    pub anonymous: u64,
}

/// One user in a [`RoomPresence`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserPresence {
    /// The user id.
    pub user: String,
    /// The user's public information (`null` when it has none).
    pub info: Value,
    /// How many of the user's sockets are in the room.
    pub sockets: u64,
}
