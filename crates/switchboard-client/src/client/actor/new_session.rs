//! A new session after a lost one: the requests it will never answer, and
//! the `$join`s that put it back in the client's rooms (with `since` in a
//! history room, to recover what was missed).

use switchboard_protocol::{Message, reserved};
use tokio::sync::oneshot;

use super::{Actor, Pending};
use crate::client::error::ClientAckError;
use crate::client::handle::RequestKind;

impl Actor {
    /// A new session replaced the lost one: replies awaited from it will
    /// never come (the requests still queued, never sent, keep waiting), and
    /// answers to its acks mean nothing to the new one.
    pub(super) fn forget_lost_session(&mut self) {
        let queued: std::collections::HashSet<u64> =
            self.queue.iter().filter_map(|m| m.ack).collect();
        let lost: Vec<u64> = self
            .pending
            .keys()
            .copied()
            .filter(|ack| !queued.contains(ack))
            .collect();
        for ack in lost {
            if let Some(p) = self.pending.remove(&ack) {
                let _ = p.reply.send(Err(ClientAckError::Disconnected(
                    "the session was lost".into(),
                )));
            }
        }
        self.queue.retain(|m| m.reply.is_none());
    }

    /// The `$join` requests that put a new session back in the client's
    /// rooms, counted in `rejoins`; a history room's asks to recover from
    /// the client's position.
    pub(super) fn rejoin_requests(&mut self) -> Vec<Message> {
        let rooms = self
            .shared
            .rooms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut positions = self.positions_write();
        positions.forget_in_flight();
        let rooms: Vec<_> = rooms
            .into_iter()
            .map(|room| {
                let since = positions.since(&room);
                (room, since)
            })
            .collect();
        drop(positions);
        let mut joins = Vec::with_capacity(rooms.len());
        for (room, since) in rooms {
            let (reply, _unused) = oneshot::channel();
            let ack = self.next_ack;
            self.next_ack += 1;
            // The receiver is dropped: only the kind matters for rejoins.
            self.pending.insert(
                ack,
                Pending {
                    reply,
                    kind: RequestKind::Rejoin {
                        room: room.clone(),
                        since: since.clone(),
                    },
                },
            );
            let data = match since {
                Some(since) => serde_json::json!({ "room": room, "since": since }),
                None => serde_json::json!({ "room": room }),
            };
            joins.push(Message::event(reserved::JOIN, data).with_ack(ack));
            self.rejoins += 1;
        }
        joins
    }
}
