//! Room history on the live link (PROTOCOL.md section 11): the answers to
//! `$join`s that set a room's position (and tell whether it recovered),
//! the messages that move it on or repeat one received, and the quiet
//! `$join` that asks a room's epoch.

use serde_json::Value;
use switchboard_protocol::{HistoryPosition, Message, reserved};
use tokio::sync::oneshot;

use super::{Actor, LinkEnd, Pending};
use crate::client::error::ClientAckError;
use crate::client::handle::{Event, RequestKind};
use crate::client::link::Link;
use crate::client::positions::{Positions, Verdict};

impl Actor {
    pub(super) fn positions_write(&self) -> std::sync::RwLockWriteGuard<'_, Positions> {
        self.shared
            .positions
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// A successful `$join` (the client's own or a rejoin) answered `data`:
    /// the room's position, and [`Event::Recovered`] when it sent `since`.
    pub(super) fn on_joined(&mut self, room: &str, data: &Value, since: Option<&HistoryPosition>) {
        let recovered = self.positions_write().on_join_reply(room, data, since);
        if let Some(recovered) = recovered {
            tracing::debug!(room, recovered, "history room rejoined");
            self.event(Event::Recovered {
                room: room.to_owned(),
                recovered,
            });
        }
    }

    /// The answer to a quiet `$join` asking `room`'s epoch.
    pub(super) fn on_located(&mut self, room: &str, result: &Result<Value, ClientAckError>) {
        match result {
            Ok(data) => self.positions_write().on_located(room, data),
            // Not asked again until the room's next `$join` reply.
            Err(error) => tracing::debug!(room, %error, "asking a history room's epoch failed"),
        }
    }

    /// Whether a message of the hub goes on to the application: a message
    /// of a history room moves the room's position on, and one received
    /// already (a recovery's replay) is dropped, as is one this client
    /// relayed in an earlier session (the hub never sends a relay back to
    /// its sender live). A room whose epoch is not known is asked it.
    pub(super) async fn admit(
        &mut self,
        conn: &mut Link,
        message: &Message,
    ) -> Result<bool, LinkEnd> {
        let (Some(room), Some(offset)) = (&message.room, message.offset) else {
            return Ok(true);
        };
        let own = message
            .from
            .as_ref()
            .is_some_and(|from| self.past_ids.iter().any(|id| id == from));
        let verdict = self.positions_write().on_message(room, offset);
        match verdict {
            Verdict::Deliver => Ok(!own),
            Verdict::Duplicate => {
                tracing::trace!(room, offset, "a recovered message received already");
                Ok(false)
            }
            Verdict::DeliverAndLocate => {
                let locate = self.locate_request(room);
                self.write(conn, vec![locate]).await?;
                Ok(!own)
            }
        }
    }

    /// A `$join` of `room`, which the client is in: its reply tells the
    /// room's epoch.
    fn locate_request(&mut self, room: &str) -> Message {
        let (reply, _unused) = oneshot::channel();
        let ack = self.next_ack;
        self.next_ack += 1;
        // The receiver is dropped: only the kind matters.
        self.pending.insert(
            ack,
            Pending {
                reply,
                kind: RequestKind::Locate(room.to_owned()),
            },
        );
        Message::event(reserved::JOIN, serde_json::json!({ "room": room })).with_ack(ack)
    }
}
