//! The server's own rules for rooms: who may `$join` a room (`--rooms`, or
//! a user's `rooms` grant instead) and who may relay to one (its members,
//! within a user's `publish` grant).

use switchboard::Socket;

use crate::glob::RoomPatterns;

/// Whether `socket` may `$join` `room`: a user's `rooms` grant (from its
/// token or the back end) replaces `--rooms` (`rooms`).
pub fn join_allowed(socket: &Socket, room: &str, rooms: &RoomPatterns) -> bool {
    let allowed = match socket.identity().and_then(|user| user.rooms()) {
        Some(patterns) => RoomPatterns::new(patterns).allows(room),
        None => rooms.allows(room),
    };
    if !allowed {
        tracing::debug!(
            socket = socket.id(),
            room,
            "join refused by --rooms or the user's grant"
        );
    }
    allowed
}

/// Whether `socket` may relay to `room`: members relay to their rooms; a
/// user's `publish` grant narrows that to the rooms it names.
pub fn relay_allowed(socket: &Socket, room: &str) -> bool {
    socket.in_room(room)
        && socket
            .identity()
            .and_then(|user| user.publish())
            .is_none_or(|patterns| RoomPatterns::new(patterns).allows(room))
}
