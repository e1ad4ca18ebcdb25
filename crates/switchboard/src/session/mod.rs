//! Session state, below the hub: one session's shared state (send queue,
//! resume ring, rooms, acks), the room registry and the session table.
//! Nothing here names the hub.

pub(crate) mod acks;
pub(crate) mod detached;
pub(crate) mod handshake;
pub(crate) mod history;
pub(crate) mod identity;
pub(crate) mod inbox;
pub(crate) mod moves;
pub(crate) mod presence;
pub(crate) mod room_names;
pub(crate) mod rooms;
pub(crate) mod shared;
pub(crate) mod table;
pub(crate) mod users;
