//! A broadcast that reaches history rooms (PROTOCOL.md section 11). On a
//! single hub each history room's message gets the room's next offset
//! and reaches its members under the room's history lock, so every
//! member receives the room's messages in the order of their offsets, and
//! a `$join` with `since` (`history.rs`) slots in between two of them,
//! never across one. On a clustered hub it goes to the appender
//! (`history_cluster.rs`), which has the backend's store number it, and
//! reaches the members of every node from there; the rest of the target
//! crosses as an ordinary broadcast.

use std::collections::HashSet;
use std::sync::Arc;

use switchboard_protocol::Message;

use super::broadcast::{BroadcastOperator, SharedFrames};
use crate::adapter::{KeptMessage, Operation};
use crate::id::OpId;
use crate::session::history::HistoryBook;
use crate::session::shared::SocketShared;

impl BroadcastOperator {
    /// Sends `message` to a target with at least one history room: first
    /// each history room's members (with the room's offset), then the
    /// rest of the target, each socket once; returns how many sockets of
    /// this node it was queued for.
    pub(super) fn send_with_history(
        &self,
        message: &Message,
        book: &HistoryBook,
        op: Option<OpId>,
    ) -> usize {
        if self.hub.cluster_history().is_some() {
            return self.send_with_cluster_history(message, book, op);
        }
        let hub = &self.hub;
        let limits = *book.limits();
        let except = self.excluded_here();
        let excluded = |s: &Arc<SocketShared>| except.iter().any(|e| Arc::ptr_eq(e, s));
        let mut reached: HashSet<Arc<str>> = HashSet::new();
        // One room alone reaches each member once: no set to keep.
        let dedupe = self.reaches_more_than_one_room();
        let mut delivered = 0usize;
        for room in self.target.rooms.iter().filter(|room| book.keeps(room)) {
            let kept = with_room(message, room);
            book.with_room(room, |state| {
                let place = state.append(kept.clone(), &limits);
                let sent = Message {
                    offset: Some(place.offset),
                    ..kept
                };
                let mut frames = SharedFrames::new(&sent);
                hub.room_registry().for_each_recipient(room, |s| {
                    if excluded(s) || (dedupe && !reached.insert(s.id.clone())) {
                        return;
                    }
                    if s.push_broadcast(frames.get(s.codec)).is_ok() {
                        delivered += 1;
                    }
                });
            });
        }
        if dedupe {
            // A lone history room was the whole target.
            delivered += self.send_to_the_rest(message, book, &reached, op);
        }
        hub.counters().messages_out_n(delivered as u64);
        delivered
    }

    /// [`Self::send_with_history`] on a clustered hub: each history room's
    /// message waits for the store's number (reaching no one if the
    /// appender's queue is full: counted); the rest of the target is
    /// served here and published at once. Returns how many sockets of
    /// this node it is queued for (the history rooms' members counted as
    /// they are now).
    fn send_with_cluster_history(
        &self,
        message: &Message,
        book: &HistoryBook,
        op: Option<OpId>,
    ) -> usize {
        let hub = &self.hub;
        let Some(cluster) = hub.cluster_history() else {
            return 0;
        };
        let except = self.excluded_here();
        let mut reached: HashSet<Arc<str>> = HashSet::new();
        let dedupe = self.reaches_more_than_one_room();
        let mut delivered = 0usize;
        for room in self.target.rooms.iter().filter(|room| book.keeps(room)) {
            let kept = KeptMessage {
                message: with_room(message, room),
                except: self.target.except.clone(),
            };
            if !cluster.enqueue(room, kept) {
                tracing::warn!(room, "history append queue full: message dropped");
                hub.counters().history_dropped(1);
                continue;
            }
            hub.room_registry().for_each_member(room, |s| {
                if !except.iter().any(|e| Arc::ptr_eq(e, s))
                    && (!dedupe || reached.insert(s.id.clone()))
                {
                    delivered += 1;
                }
            });
        }
        let rest = if dedupe {
            self.send_to_the_rest(message, book, &reached, op)
        } else {
            0
        };
        hub.counters().messages_out_n(rest as u64);
        if let Some(mut target) = self.remote_target() {
            let rooms = std::mem::take(&mut target.rooms);
            (target.history_rooms, target.rooms) =
                rooms.into_iter().partition(|room| book.keeps(room));
            // Only history rooms: nothing else crosses.
            if !target.lists_no_recipient() {
                hub.adapter().publish(Operation::Broadcast {
                    target,
                    message: message.clone(),
                    op,
                });
            }
        }
        delivered + rest
    }

    /// Whether the target reaches more than one room, or sockets and
    /// users besides: only then can a socket be reached twice.
    fn reaches_more_than_one_room(&self) -> bool {
        self.target.rooms.len() > 1
            || !self.target.sockets.is_empty()
            || !self.target.users.is_empty()
    }

    /// The part of a broadcast past its history rooms: the other rooms'
    /// members (with their `room`), and the sockets and users listed
    /// (without), except the sockets already `reached`.
    fn send_to_the_rest(
        &self,
        message: &Message,
        book: &HistoryBook,
        reached: &HashSet<Arc<str>>,
        op: Option<OpId>,
    ) -> usize {
        let per_room: Vec<(&str, Message)> = self
            .target
            .rooms
            .iter()
            .filter(|room| !book.keeps(room))
            .map(|room| (room.as_str(), message.clone().with_room(room.clone())))
            .collect();
        let mut room_frames: Vec<(&str, SharedFrames<'_>)> = per_room
            .iter()
            .map(|(room, message)| (*room, SharedFrames::new(message).with_op(op)))
            .collect();
        let by_id = Message {
            room: None,
            ..message.clone()
        };
        let mut by_id_frames = SharedFrames::new(&by_id).with_op(op);
        let mut delivered = 0usize;
        self.for_each_recipient(|room, s| {
            // History rooms were served first; a socket reached there (or
            // through one of them) is not reached again.
            if room.is_some_and(|room| book.keeps(room)) || reached.contains(&s.id) {
                return;
            }
            let frames = match room {
                Some(room) => match room_frames.iter_mut().find(|(r, _)| *r == room) {
                    Some((_, frames)) => frames,
                    None => return,
                },
                None => &mut by_id_frames,
            };
            if s.push_broadcast(frames.get(s.codec)).is_ok() {
                delivered += 1;
            }
        });
        delivered
    }
}

/// `message` as kept for `room`: its `room` set, no `offset` yet.
fn with_room(message: &Message, room: &str) -> Message {
    Message {
        room: Some(room.to_owned()),
        offset: None,
        ..message.clone()
    }
}
