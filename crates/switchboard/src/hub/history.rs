//! Room history (PROTOCOL.md section 11) on the hub: `$join` with the
//! room's place and the messages a client missed, and
//! [`Hub::history`]. The history rooms' state lives in
//! `session/history/`; broadcasts to history rooms are in
//! `history_broadcast.rs`.

use std::sync::Arc;

use serde_json::json;
use switchboard_protocol::{HistoryPosition, Message, RoomHistory};

use super::handle::{Hub, Socket};
use super::history_cluster::decode_page;
use crate::error::HistoryError;
use crate::session::history::{HistoryBook, HistoryPage};
use crate::session::presence::PresenceChanges;
use crate::session::shared::SocketShared;

impl Hub {
    /// The history book, if `room` keeps history.
    pub(crate) fn history_book(&self, room: &str) -> Option<&HistoryBook> {
        self.inner.history.as_ref().filter(|book| book.keeps(room))
    }

    /// The history book, if any room keeps history.
    pub(crate) fn history_rooms(&self) -> Option<&HistoryBook> {
        self.inner.history.as_ref()
    }

    /// A page of `room`'s history: its epoch, its latest offset, and the
    /// messages after offset `since` (0: every message kept), oldest
    /// first, at most `limit`, each with its `room` and `offset` (the
    /// standalone server's `GET /api/rooms/{room}/history`).
    ///
    /// # Errors
    ///
    /// [`HistoryError::NotKept`] when the room keeps no history
    /// ([`HubBuilder::history`](crate::HubBuilder::history)).
    pub async fn history(
        &self,
        room: &str,
        since: u64,
        limit: usize,
    ) -> Result<RoomHistory, HistoryError> {
        let book = self
            .history_book(room)
            .ok_or_else(|| HistoryError::NotKept(room.to_owned()))?;
        if let Some(cluster) = self.cluster_history() {
            let page = cluster
                .store()
                .read(room, since, limit)
                .await
                .map_err(|error| HistoryError::Unavailable(error.to_string()))?;
            let entries = decode_page(room, &page);
            return Ok(room_history(
                room,
                HistoryPage {
                    epoch: page.epoch,
                    offset: page.offset,
                    first: page.first,
                    entries,
                },
            ));
        }
        let limits = *book.limits();
        let page = book.with_room(room, |state| state.page(since, limit, &limits));
        Ok(room_history(room, page))
    }

    /// Joins `socket` to a history room within the rooms-per-socket limit
    /// (`Ok(None)` past it): the reply to the `$join` (if it asked for
    /// one) carries the room's `epoch` and `offset`, and with `since`,
    /// `recovered` and then the messages after `since`, all queued before
    /// any later message of the room. `Err` when a clustered hub's store
    /// cannot be reached (the socket joins nothing then).
    pub(crate) async fn join_with_history(
        &self,
        socket: &Socket,
        room: &str,
        since: Option<&HistoryPosition>,
        ack: Option<u64>,
        max_rooms: usize,
    ) -> Result<Option<PresenceChanges>, HistoryError> {
        if self.cluster_history().is_some() {
            return self
                .join_clustered(socket, room, since, ack, max_rooms)
                .await;
        }
        Ok(self.join_single(socket, room, since, ack, max_rooms))
    }

    /// [`Hub::join_with_history`] on a single hub: the history is here,
    /// read and joined under the room's lock.
    fn join_single(
        &self,
        socket: &Socket,
        room: &str,
        since: Option<&HistoryPosition>,
        ack: Option<u64>,
        max_rooms: usize,
    ) -> Option<PresenceChanges> {
        let book = self.history_book(room)?;
        let limits = *book.limits();
        book.with_room(room, |state| {
            let from = since.map_or(u64::MAX, |since| since.offset);
            let page = state.page(from, limits.size, &limits);
            let (_, presence) =
                self.room_registry()
                    .join_within(room, &socket.shared, max_rooms)?;
            let recovered = since.map(|since| self.can_replay(&page, since));
            let place = HistoryPosition {
                epoch: page.epoch.clone(),
                offset: page.offset,
            };
            answer_join(socket, ack, room, &place, recovered);
            if recovered == Some(true) {
                let missed = recovered_entries(page, since);
                replay(self, &socket.shared, room, missed);
            }
            Some(presence)
        })
    }
}

impl Hub {
    /// Whether a client at `since` recovers from `page`: the history
    /// reaches back, and what it missed fits in half its send queue (a
    /// larger replay would risk closing it as a slow consumer: it is told
    /// it did not recover, and may read the history over HTTP).
    pub(crate) fn can_replay<T>(&self, page: &HistoryPage<T>, since: &HistoryPosition) -> bool {
        let room_in_queue = self.config().send_queue_capacity / 2;
        page.recovers(since) && missed_count(page, since) <= room_in_queue
    }
}

/// The reply to a history room's `$join`: `{"room","epoch","offset"}`,
/// and `recovered` when it came with `since`.
pub(crate) fn answer_join(
    socket: &Socket,
    ack: Option<u64>,
    room: &str,
    place: &HistoryPosition,
    recovered: Option<bool>,
) {
    let Some(ack) = ack else {
        return;
    };
    let mut data = json!({ "room": room, "epoch": place.epoch, "offset": place.offset });
    if let Some(recovered) = recovered {
        data["recovered"] = recovered.into();
    }
    let _ = socket.send_message(&Message::reply(ack, data));
}

/// How many messages a client at `since` missed, when it can recover.
fn missed_count<T>(page: &HistoryPage<T>, since: &HistoryPosition) -> usize {
    let after = if since.epoch == page.epoch {
        since.offset
    } else {
        0
    };
    usize::try_from(page.offset.saturating_sub(after)).unwrap_or(usize::MAX)
}

/// The entries a recovering client missed: after its offset in the same
/// epoch, or all of them when it saw the room before its history began.
pub(crate) fn recovered_entries(
    page: HistoryPage<Message>,
    since: Option<&HistoryPosition>,
) -> Vec<(u64, Message)> {
    let after = match since {
        Some(since) if since.epoch == page.epoch => since.offset,
        _ => 0,
    };
    page.entries
        .into_iter()
        .filter(|(offset, _)| *offset > after)
        .collect()
}

/// Queues recovered messages for one socket, counted (a resume after
/// this gets them again if they are lost).
pub(crate) fn replay(
    hub: &Hub,
    socket: &Arc<SocketShared>,
    room: &str,
    missed: Vec<(u64, Message)>,
) {
    let mut sent = 0u64;
    for (offset, message) in missed {
        let message = with_place(message, room, offset);
        if socket.push(socket.encode(&message)).is_err() {
            break;
        }
        sent += 1;
    }
    hub.counters().messages_out_n(sent);
}

/// A kept message as it is sent: its `room` and `offset` set.
pub(crate) fn with_place(message: Message, room: &str, offset: u64) -> Message {
    let message = if message.room.as_deref() == Some(room) {
        message
    } else {
        message.with_room(room)
    };
    message.with_offset(offset)
}

/// The public page of a room's history.
fn room_history(room: &str, page: HistoryPage<Message>) -> RoomHistory {
    RoomHistory {
        room: room.to_owned(),
        epoch: page.epoch,
        offset: page.offset,
        messages: page
            .entries
            .into_iter()
            .map(|(offset, message)| with_place(message, room, offset))
            .collect(),
    }
}
