//! Room history in a cluster (PROTOCOL.md section 11): the backend's
//! store numbers each history room's messages, and every node delivers
//! them to its members in the order of those numbers.
//!
//! A message to a history room goes to this node's appender (a bounded
//! queue and one task), which keeps it in the store in batches per room,
//! then delivers it here and publishes it, numbered, to the other nodes
//! ([`Operation::History`]). Each node's [`Sequence`] per room hands the
//! messages out strictly by offset: early ones wait for a gap to fill,
//! and a gap that stays (a message lost in an outage, its publisher gone)
//! is filled from the store after [`GAP_WAIT`]. After a backend outage
//! every room this node follows is read again from where it stood, so
//! what it missed meanwhile arrives then.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use switchboard_protocol::{HistoryPosition, Message};

use super::broadcast::SharedFrames;
use super::handle::{Hub, HubInner};
use crate::adapter::history_appender::decode;
use crate::adapter::{
    HistoryAppender, HistoryPage, KeptMessage, LocalNode, NodeHandle, Operation, SharedHistoryStore,
};
use crate::id::OpId;
use crate::session::history::{Accepted, Delivery, KeptHere, Sequence};

/// Where numbered messages of a history room come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HistoryOrigin {
    /// This node kept them in the store: it publishes them to the others.
    KeptHere,
    /// Another node kept them and published them.
    Published,
    /// Another node published them again, having found that the store
    /// lost their epoch ([`Operation::History`]'s `again`).
    PublishedAgain,
}

/// How long a gap may stay before it is filled from the store: messages
/// published at once by two nodes often arrive in the other order.
const GAP_WAIT: Duration = Duration::from_millis(50);
/// First and longest wait between tries while the store is unreachable.
const RETRY_MIN: Duration = Duration::from_millis(50);
const RETRY_MAX: Duration = Duration::from_secs(2);

/// The messages of a page, decoded, with their offsets.
pub(crate) fn decode_page(room: &str, page: &HistoryPage<Bytes>) -> Vec<(u64, Message)> {
    page.entries
        .iter()
        .filter_map(|(offset, bytes)| Some((*offset, decode(room, bytes)?)))
        .collect()
}

impl Hub {
    /// On a clustered hub with history rooms, after the adapter started:
    /// takes the backend's store and starts the appender, or, when the
    /// backend keeps no history, keeps none (the adapter says so).
    pub(crate) fn start_cluster_history(&self) {
        let (Some(book), true) = (self.history_rooms(), self.adapter().is_clustered()) else {
            return;
        };
        match self.adapter().history(*book.limits()) {
            Some(store) => {
                let inner: Arc<dyn LocalNode> = self.inner.clone();
                let node = NodeHandle::new(Arc::downgrade(&inner));
                let _ = self
                    .inner
                    .cluster_history
                    .set(HistoryAppender::start(node, store));
            }
            None => book.disable(),
        }
    }

    /// The cluster's history side, when clustered with history rooms.
    pub(crate) fn cluster_history(&self) -> Option<&HistoryAppender> {
        self.inner.cluster_history.get()
    }

    /// Messages of `room` numbered by the store from `place`: published to
    /// the other nodes when this node kept them, and delivered here in
    /// the order of their offsets.
    pub(crate) fn history_numbered(
        &self,
        room: &str,
        place: &HistoryPosition,
        deliveries: Vec<Delivery>,
        origin: HistoryOrigin,
    ) {
        let Some(book) = self.history_book(room) else {
            return;
        };
        if origin == HistoryOrigin::KeptHere {
            // Kept here: when the store lost the epoch of the last ones
            // this node kept, they go again first (their publication may
            // have died with the backend).
            let again = book.with_room(room, |state| {
                state
                    .kept_here
                    .get_or_insert_with(|| KeptHere::new(&place.epoch))
                    .note(&place.epoch, place.offset, &deliveries, Instant::now())
            });
            if let Some((epoch, again)) = again {
                // A room whose history expired in the store (idle past
                // the time to live) begins a new epoch too: the others
                // drop what they delivered already, so this is quiet.
                tracing::debug!(
                    room,
                    messages = again.len(),
                    "the room's epoch changed in the store: publishing its last messages kept here again"
                );
                for (offset, delivery) in &again {
                    self.publish_history(
                        room,
                        &epoch,
                        *offset,
                        std::slice::from_ref(delivery),
                        true,
                    );
                }
            }
            self.publish_history(room, &place.epoch, place.offset, &deliveries, false);
        }
        let fill = book.with_room(room, |state| {
            let accepted = if origin == HistoryOrigin::PublishedAgain {
                // Never the start of a sequence (see `accept_again`).
                let Some(seq) = state.sequence.as_mut() else {
                    return false;
                };
                seq.accept_again(&place.epoch, place.offset, deliveries)
            } else {
                state
                    .sequence
                    .get_or_insert_with(|| {
                        Sequence::new(&place.epoch, place.offset.saturating_sub(1))
                    })
                    .accept(&place.epoch, place.offset, deliveries)
            };
            let Some(seq) = state.sequence.as_mut() else {
                return false;
            };
            self.deliver_accepted(room, &place.epoch, seq.epoch(), accepted);
            let fill = seq.has_gap() && !seq.filling;
            seq.filling |= fill;
            fill
        });
        if fill {
            self.fill_from_store(room, true);
        }
    }

    /// Publishes messages of `room` this node kept, numbered from
    /// `offset` in `epoch`, to the other nodes; `again` when the store
    /// lost that epoch since (see [`KeptHere`]).
    fn publish_history(
        &self,
        room: &str,
        epoch: &str,
        offset: u64,
        deliveries: &[Delivery],
        again: bool,
    ) {
        self.adapter().publish(Operation::History {
            room: room.to_owned(),
            epoch: epoch.to_owned(),
            offset,
            messages: deliveries
                .iter()
                .map(|d| KeptMessage {
                    message: d.message.clone(),
                    except: d.except.clone(),
                })
                .collect(),
            again,
        });
    }

    /// Delivers what a sequence accepted, in order: what waited in the
    /// epoch it left, then its current epoch's messages (both with their
    /// offsets), then late messages of `epoch` (one it left) without an
    /// offset; counts what it gave up. Called under the room's history
    /// lock.
    fn deliver_accepted(
        &self,
        room: &str,
        epoch: &str,
        current: &str,
        accepted: Accepted<Delivery>,
    ) {
        self.counters().history_gap_lost(accepted.lost);
        if let Some((left, left_over)) = accepted.left_over {
            self.deliver_in_order(room, &left, left_over, true);
        }
        self.deliver_in_order(room, current, accepted.ready, true);
        self.deliver_in_order(room, epoch, accepted.late, false);
    }

    /// Queues each message for the room's members (but its `except`),
    /// with its offset when `numbered`; called under the room's history
    /// lock. Its frames are named by room, `epoch` and offset, alike on
    /// every node (a session moving between nodes gets each once).
    pub(crate) fn deliver_in_order(
        &self,
        room: &str,
        epoch: &str,
        ready: Vec<(u64, Delivery)>,
        numbered: bool,
    ) {
        let mut delivered = 0u64;
        for (offset, Delivery { message, except }) in ready {
            let message = Message {
                offset: numbered.then_some(offset),
                ..message
            };
            let mut frames =
                SharedFrames::new(&message).with_op(Some(OpId::kept(room, epoch, offset)));
            self.room_registry().for_each_recipient(room, |s| {
                if except.iter().any(|id| **id == *s.id) {
                    return;
                }
                if s.push_broadcast(frames.get(s.codec)).is_ok() {
                    delivered += 1;
                }
            });
        }
        self.counters().messages_out_n(delivered);
    }

    /// Reads `room` from the store after where this node stands and
    /// delivers what it missed, until nothing is missing; after
    /// [`GAP_WAIT`] when `after_gap` (the missing messages may still
    /// arrive by themselves).
    pub(crate) fn fill_from_store(&self, room: &str, after_gap: bool) {
        let hub = Arc::downgrade(&self.inner);
        let room = room.to_owned();
        tokio::spawn(async move {
            if after_gap {
                tokio::time::sleep(GAP_WAIT).await;
            }
            fill(hub, room).await;
        });
    }

    /// Starts reading `room` from the store now, unless a read runs.
    pub(crate) fn nudge_fill(&self, room: &str) {
        let Some(book) = self.history_book(room) else {
            return;
        };
        let start = book.with_room(room, |state| match &mut state.sequence {
            Some(seq) if !seq.filling => {
                seq.filling = true;
                true
            }
            _ => false,
        });
        if start {
            self.fill_from_store(room, false);
        }
    }

    /// Whether this node holds messages of any of `rooms` back behind a
    /// gap: they go out once the gap is filled (from the store at the
    /// latest, after [`GAP_WAIT`]).
    pub(crate) fn history_gap_in(&self, rooms: &[Arc<str>]) -> bool {
        let Some(book) = self.history_rooms() else {
            return false;
        };
        self.cluster_history().is_some()
            && rooms.iter().filter(|room| book.keeps(room)).any(|room| {
                book.with_room(room, |state| {
                    state.sequence.as_ref().is_some_and(Sequence::has_gap)
                })
            })
    }

    /// After a backend outage: every room this node follows is read again
    /// from where it stood (what other nodes published meanwhile did not
    /// reach it).
    pub(crate) fn history_backend_returned(&self) {
        let Some(book) = self.history_rooms() else {
            return;
        };
        if self.cluster_history().is_none() {
            return;
        }
        for room in book.sequenced_rooms() {
            self.nudge_fill(&room);
        }
    }
}

/// The reading loop of [`Hub::fill_from_store`].
async fn fill(hub: Weak<HubInner>, room: String) {
    let mut wait = RETRY_MIN;
    let mut last_read: Option<HistoryPosition> = None;
    loop {
        let Some((store, read_from, limit)) = where_it_stands(&hub, &room) else {
            return;
        };
        if last_read.as_ref() == Some(&read_from) {
            // The last read moved nothing (what the gap waits for is not
            // kept yet): pause before asking again, never spin.
            tokio::time::sleep(RETRY_MIN).await;
        }
        last_read = Some(read_from.clone());
        let from = read_from.offset;
        let page = match store.read(&room, from, limit).await {
            Ok(page) => page,
            Err(error) => {
                tracing::debug!(room, %error, "history store unreachable: retrying the fill");
                if hub.strong_count() == 0 {
                    return;
                }
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
                continue;
            }
        };
        let Some(inner) = hub.upgrade() else {
            return;
        };
        if !(Hub { inner }).take_page(&room, page, &read_from, limit) {
            return;
        }
    }
}

/// The store, where this node's sequence of `room` stands (its epoch and
/// last offset), and the page size; `None` when there is nothing to fill
/// any more.
fn where_it_stands(
    hub: &Weak<HubInner>,
    room: &str,
) -> Option<(SharedHistoryStore, HistoryPosition, usize)> {
    let hub = Hub {
        inner: hub.upgrade()?,
    };
    let store = hub.cluster_history()?.store().clone();
    let book = hub.history_book(room)?;
    let limit = book.limits().size;
    let from = book.with_room(room, |state| {
        state.sequence.as_ref().map(|seq| HistoryPosition {
            epoch: seq.epoch().to_owned(),
            offset: seq.last(),
        })
    })?;
    Some((store, from, limit))
}

impl Hub {
    /// Delivers a page read from the store after `read_from`, where this
    /// node stood in `room` when it asked; returns whether to read again
    /// (more may follow, or a gap is still open and the read moved it
    /// forward, or the node no longer stands where it read from). A gap
    /// the store no longer holds is given up (counted as lost), but only
    /// on a page read from where the node still stands, and answered once
    /// the store had kept what waits past the gap: one read from an older
    /// place (say, the offset of an epoch the node has left since, which
    /// in the new epoch starts the page past messages the node still waits
    /// for), or answered before the gap's messages were kept (the node got
    /// a later one in the meantime), proves nothing about the gap.
    fn take_page(
        &self,
        room: &str,
        page: HistoryPage<Bytes>,
        read_from: &HistoryPosition,
        limit: usize,
    ) -> bool {
        let Some(book) = self.history_book(room) else {
            return false;
        };
        let entries = decode_page(room, &page);
        book.with_room(room, |state| {
            let Some(seq) = state.sequence.as_mut() else {
                return false;
            };
            if seq.has_left(&page.epoch) {
                // Answered from an epoch this room already left (read as
                // the store lost it): nothing in it applies; read again.
                return true;
            }
            let before = seq.last();
            let mut lost = 0;
            if page.epoch == seq.epoch() && page.first > seq.last() + 1 {
                lost += seq.skip_to(page.first);
            }
            let mut ready = Vec::new();
            if !page.epoch.is_empty() {
                for (offset, message) in entries.iter().cloned() {
                    let delivery = Delivery {
                        message,
                        except: Vec::new(),
                    };
                    let accepted = seq.accept(&page.epoch, offset, [delivery]);
                    if let Some((left, left_over)) = accepted.left_over {
                        self.deliver_in_order(room, &left, left_over, true);
                    }
                    ready.extend(accepted.ready);
                    lost += accepted.lost;
                }
            }
            let more = page.entries.len() >= limit && seq.last() > before;
            let read_here = seq.epoch() == read_from.epoch && before == read_from.offset;
            // A page the store answered before the messages past the gap
            // were kept (its latest offset short of them) proves nothing;
            // one of no epoch (the store keeps nothing) or another does.
            let reaches_gap = page.epoch != seq.epoch()
                || seq
                    .first_waiting()
                    .is_some_and(|first| page.offset + 1 >= first);
            let stuck = read_here && reaches_gap && seq.last() == before;
            if stuck {
                let (now, skipped) = seq.give_up_gap();
                ready.extend(now);
                lost += skipped;
            }
            self.counters().history_gap_lost(lost);
            self.deliver_in_order(room, seq.epoch(), ready, true);
            let again = more || seq.has_gap();
            if !again {
                seq.filling = false;
            }
            again
        })
    }
}
