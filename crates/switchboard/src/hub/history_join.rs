//! A `$join` of a history room on a clustered hub (PROTOCOL.md section
//! 11): the history is in the backend, read before the join, and the
//! join itself happens under the room's lock where this node's delivery
//! sequence stands, so the socket gets the missed messages up to the last
//! one this node delivered, and every later one from the sequence: none
//! lost between the two, none twice.

use bytes::Bytes;
use switchboard_protocol::HistoryPosition;

use super::handle::{Hub, Socket};
use super::history::{answer_join, recovered_entries, replay};
use super::history_cluster::decode_page;
use crate::adapter::HistoryPage;
use crate::error::HistoryError;
use crate::session::history::Sequence;
use crate::session::presence::PresenceChanges;

/// Reads of the store a join makes at most while this node's deliveries
/// run ahead of what it read (each reads on from the last, so under a
/// steady stream they soon catch up).
const MAX_READS: usize = 16;

/// What one try at the join under the lock came to.
enum Attempt {
    /// Joined (or refused past the rooms limit: `None`).
    Done(Option<PresenceChanges>),
    /// This node delivered past the page: read on from this offset.
    ReadOn(u64),
    /// The client saw more than this node delivered yet (it comes from a
    /// node that was ahead): wait for this node to catch up, so it never
    /// hands the client a message twice.
    CatchUp,
}

/// How long a join waits, at most, for this node's deliveries to catch up
/// with where the client stands, and how often it looks.
const CATCH_UP_STEP: std::time::Duration = std::time::Duration::from_millis(10);
const CATCH_UP_STEPS: usize = 200;

impl Hub {
    /// [`Hub::join_with_history`] on a clustered hub.
    pub(crate) async fn join_clustered(
        &self,
        socket: &Socket,
        room: &str,
        since: Option<&HistoryPosition>,
        ack: Option<u64>,
        max_rooms: usize,
    ) -> Result<Option<PresenceChanges>, HistoryError> {
        let (Some(cluster), Some(book)) = (self.cluster_history(), self.history_book(room)) else {
            return Ok(None);
        };
        let store = cluster.store().clone();
        let limit = book.limits().size;
        let (from, limit) = match since {
            Some(since) => (since.offset, limit),
            // Only the room's place is needed.
            None => (0, 0),
        };
        let mut page = match store.read(room, from, limit).await {
            Ok(page) => page,
            Err(error) => {
                return Ok(self.join_without_store(socket, room, since, ack, max_rooms, &error));
            }
        };
        let (mut reads, mut waits) = (0, 0);
        while reads < MAX_READS && waits < CATCH_UP_STEPS {
            match self.try_join(socket, room, since, ack, max_rooms, &page) {
                Attempt::Done(presence) => return Ok(presence),
                Attempt::ReadOn(offset) => {
                    reads += 1;
                    match store.read(room, offset, limit).await {
                        Ok(more) => page = extend(page, more),
                        Err(error) => {
                            return Ok(self
                                .join_without_store(socket, room, since, ack, max_rooms, &error));
                        }
                    }
                }
                Attempt::CatchUp => {
                    if waits == 0 {
                        self.nudge_fill(room);
                    }
                    waits += 1;
                    tokio::time::sleep(CATCH_UP_STEP).await;
                }
            }
        }
        // Deliveries kept running ahead: join without a replay (a `since`
        // is answered `recovered:false`).
        tracing::warn!(
            room,
            "history join: this node's deliveries did not settle; joined without a replay"
        );
        Ok(self.join_here(socket, room, since, ack, max_rooms))
    }

    /// Joins while the store cannot be read (a backend outage): the socket
    /// joins, and gets the room's messages from where this node's
    /// deliveries stand; a `since` is answered `recovered:false` (nothing
    /// replayed), so the client knows to reload what it missed.
    fn join_without_store(
        &self,
        socket: &Socket,
        room: &str,
        since: Option<&HistoryPosition>,
        ack: Option<u64>,
        max_rooms: usize,
        error: &crate::adapter::DriverError,
    ) -> Option<PresenceChanges> {
        tracing::debug!(room, %error, "history store unreachable: joining without recovery");
        self.join_here(socket, room, since, ack, max_rooms)
    }

    /// Joins without a replay: the socket gets the room's messages from
    /// where this node's deliveries stand, and a `since` is answered
    /// `recovered:false`.
    fn join_here(
        &self,
        socket: &Socket,
        room: &str,
        since: Option<&HistoryPosition>,
        ack: Option<u64>,
        max_rooms: usize,
    ) -> Option<PresenceChanges> {
        let book = self.history_book(room)?;
        book.with_room(room, |state| {
            let (_, presence) =
                self.room_registry()
                    .join_within(room, &socket.shared, max_rooms)?;
            let place = state
                .sequence
                .as_ref()
                .map_or_else(HistoryPosition::default, |seq| HistoryPosition {
                    epoch: seq.epoch().to_owned(),
                    offset: seq.last(),
                });
            answer_join(socket, ack, room, &place, since.map(|_| false));
            Some(presence)
        })
    }

    /// Joins under the room's lock if `page` reaches as far as this node
    /// delivered (else asks to read on).
    fn try_join(
        &self,
        socket: &Socket,
        room: &str,
        since: Option<&HistoryPosition>,
        ack: Option<u64>,
        max_rooms: usize,
        page: &HistoryPage<Bytes>,
    ) -> Attempt {
        let Some(book) = self.history_book(room) else {
            return Attempt::Done(None);
        };
        book.with_room(room, |state| {
            let seq = state
                .sequence
                .get_or_insert_with(|| Sequence::new(&page.epoch, page.offset));
            let same_epoch = seq.epoch() == page.epoch;
            if since.is_some() && same_epoch && seq.last() > page.offset {
                return Attempt::ReadOn(page.offset);
            }
            if let Some(since) = since
                && same_epoch
                && since.epoch == page.epoch
                && since.offset > seq.last()
                && since.offset <= page.offset
            {
                return Attempt::CatchUp;
            }
            let Some((_, presence)) =
                self.room_registry()
                    .join_within(room, &socket.shared, max_rooms)
            else {
                return Attempt::Done(None);
            };
            let place = HistoryPosition {
                epoch: seq.epoch().to_owned(),
                offset: seq.last(),
            };
            // Up to where this node delivered: later messages reach the
            // socket through the sequence, as a member.
            let upto = HistoryPage {
                offset: place.offset.min(page.offset),
                ..page.clone()
            };
            let recovered = since.map(|since| same_epoch && self.can_replay(&upto, since));
            answer_join(socket, ack, room, &place, recovered);
            if recovered == Some(true) {
                let entries: Vec<_> = decode_page(room, page)
                    .into_iter()
                    .filter(|(offset, _)| *offset <= place.offset)
                    .collect();
                let decoded = HistoryPage {
                    epoch: page.epoch.clone(),
                    offset: page.offset,
                    first: page.first,
                    entries,
                };
                replay(
                    self,
                    &socket.shared,
                    room,
                    recovered_entries(decoded, since),
                );
            }
            Attempt::Done(Some(presence))
        })
    }
}

/// `page` followed by `more` (read after its last offset).
fn extend(mut page: HistoryPage<Bytes>, more: HistoryPage<Bytes>) -> HistoryPage<Bytes> {
    if more.epoch != page.epoch {
        return more;
    }
    let last = page.entries.last().map_or(0, |(offset, _)| *offset);
    page.entries.extend(
        more.entries
            .into_iter()
            .filter(|(offset, _)| *offset > last),
    );
    page.offset = more.offset;
    page
}
