//! Presence (PROTOCOL.md section 10): who is in the rooms that keep it, on
//! every node, and the `$joined` / `$left` their members hear. The counts
//! live in the room registry's book (`session/presence.rs`, built with the
//! hub in `handle.rs`); this file tells the members and answers.

use serde_json::json;
use switchboard_protocol::{Message, RoomPresence, reserved};

use super::broadcast::BroadcastOperator;
use super::handle::Hub;
use crate::session::presence::{PresenceBook, PresenceChange, PresenceChanges};

impl Hub {
    /// Who is in `room`, over every node: its users with their `info` and
    /// number of sockets, and its anonymous sockets. `None` when the hub
    /// keeps no presence for the room ([`HubBuilder::presence`](crate::HubBuilder::presence)).
    ///
    /// Answered from this node's book, which the other nodes keep up to
    /// date (their changes arrive as they happen; a lost one is mended
    /// within a heartbeat), so it never waits on the cluster.
    pub fn presence(&self, room: &str) -> Option<RoomPresence> {
        let book = self.presence_book(room)?;
        Some(book.room(room))
    }

    /// The presence book, if the hub keeps presence for `room`.
    pub(crate) fn presence_book(&self, room: &str) -> Option<&PresenceBook> {
        self.room_registry()
            .presence()
            .filter(|book| book.keeps(room))
    }

    /// Tells each change's room (its members on this node): `$joined`
    /// with the user and its info, or `$left`; nothing once the hub is
    /// shutting down.
    pub(crate) fn tell_presence(&self, changes: PresenceChanges) {
        if self.is_shutting_down() {
            // Every member here is closing, and its queue refuses what
            // comes after the close: trying to tell each of every other's
            // departure would cost members² refused pushes. The other
            // nodes hear of it as usual.
            return;
        }
        for change in changes.0 {
            let message = presence_message(&change);
            BroadcastOperator::new(self.clone())
                .to(&change.room)
                .local()
                .send_message(&message);
        }
    }
}

/// `{"event":"$joined","room":r,"data":{"user":u,"info":i}}` or
/// `{"event":"$left","room":r,"data":{"user":u}}`.
fn presence_message(change: &PresenceChange) -> Message {
    let (event, data) = if change.joined {
        (
            reserved::JOINED,
            json!({ "user": &*change.user, "info": change.info }),
        )
    } else {
        (reserved::LEFT, json!({ "user": &*change.user }))
    };
    Message::event(event, data).with_room(change.room.to_string())
}
