//! `$join` and `$leave` answered by the connection task itself, without
//! starting the session's dispatcher: a socket that only joins rooms (the
//! usual idle subscriber) keeps no dispatcher task or queue, a few KiB.
//!
//! Only where nothing can tell the difference: no dispatcher has started
//! (so no earlier message of the session waits in one, and the order is
//! kept), no `$join` hook or policy to ask (they may wait; the join rule,
//! which answers at once, is asked here), and a room without history (its
//! join may read the store), while the send queue has room for the answer
//! (past it the dispatcher answers, once the client reads).

use switchboard_protocol::ClientMessage;

use super::dispatch::{join_plain, join_rule, leave, refuse, refuse_limit};
use crate::hub::handle::Socket;
use crate::session::inbox::Inbox;

/// Answers `message` here when it is a `$join` or `$leave` that needs no
/// dispatcher; returns it otherwise, for the dispatcher.
pub(crate) fn answer_inline(socket: &Socket, message: ClientMessage) -> Option<ClientMessage> {
    let hub = &socket.hub;
    let eligible = match &message {
        ClientMessage::Join { room, .. } => {
            hub.policies().join.is_none() && hub.history_book(room).is_none()
        }
        ClientMessage::Leave { .. } => true,
        _ => false,
    };
    // Past the send queue's high-water mark the dispatcher answers, as it
    // waits for the client to read (a flood of `$join` never turns into a
    // false `4001`).
    if !eligible
        || !matches!(*socket.shared.dispatch.lock(), Inbox::NotStarted)
        || !socket.shared.queue.has_room_for_answers()
    {
        return Some(message);
    }
    match message {
        ClientMessage::Join { room, ack, .. } => {
            let max = hub.config().max_rooms_per_socket;
            if !socket.shared.may_join(&room, max) {
                refuse_limit(socket, ack, max);
            } else if let Err(error) = join_rule(socket, &room) {
                refuse(socket, ack, error.to_body());
            } else {
                join_plain(socket, room, ack);
            }
        }
        ClientMessage::Leave { room, ack } => leave(socket, &room, ack),
        other => return Some(other),
    }
    None
}
