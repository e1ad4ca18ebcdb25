//! Broadcast operators: choose recipients, then emit once.
//!
//! A message is encoded once per codec in use and its bytes shared by every
//! recipient; per recipient only a queue push happens.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::join_all;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_protocol::{CloseCode, Codec, Message};

use crate::adapter::{Operation, Query, Reply, Target};
use crate::error::{AckError, SendError};
use crate::hub::handle::Hub;
use crate::hub::handle::Socket;
use crate::id::OpId;
use crate::send_queue::Outgoing;
use crate::session::shared::{SocketShared, to_value};

/// Encodes a message lazily, once per codec.
pub(super) struct SharedFrames<'a> {
    message: &'a Message,
    op: Option<OpId>,
    json: Option<Outgoing>,
    msgpack: Option<Outgoing>,
}

impl<'a> SharedFrames<'a> {
    pub(super) fn new(message: &'a Message) -> Self {
        Self {
            message,
            op: None,
            json: None,
            msgpack: None,
        }
    }

    /// Frames of the cluster operation `op` (see [`OpId`]).
    pub(super) fn with_op(mut self, op: Option<OpId>) -> Self {
        self.op = op;
        self
    }

    pub(super) fn get(&mut self, codec: Codec) -> Outgoing {
        let slot = match codec {
            Codec::Json => &mut self.json,
            Codec::MsgPack => &mut self.msgpack,
        };
        let op = self.op;
        slot.get_or_insert_with(|| {
            Outgoing::with_op(codec.encode(self.message), codec.is_binary(), op)
        })
        .clone()
    }
}

/// Selects recipients: `hub.to("room").except(id).emit("event", data)`,
/// or `hub.to_sockets(ids).emit("event", data)`.
///
/// The recipients are the members of every room added with
/// [`to`](Self::to) and every socket listed with
/// [`to_sockets`](Self::to_sockets) (a socket reached twice receives once;
/// one reached through a room carries `room`), minus those of
/// [`except`](Self::except). With neither rooms nor sockets, every socket
/// is a recipient. In a cluster the operation reaches the recipients on
/// every node, unless [`BroadcastOperator::local`] keeps it on this one;
/// the counts returned are this node's.
///
/// Whatever the number of recipients, the message is encoded once per
/// codec in use, and each recipient's send queue gets the shared bytes.
/// Socket ids this node does not hold cross to the other nodes in one
/// cluster message for the whole list (not one per id); ids this node
/// holds are left out of it.
///
/// ```
/// # fn run(hub: switchboard::Hub, ids: Vec<String>) -> Result<(), switchboard::SendError> {
/// // Three sockets by id, wherever they are connected:
/// hub.to_sockets(["id-a", "id-b", "id-c"]).emit("invite", "lobby")?;
/// // A room's members and two more sockets, except one:
/// hub.to("lobby").to_sockets(&ids).except("id-a").emit("news", 42)?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a broadcast operator does nothing until you emit"]
pub struct BroadcastOperator {
    pub(super) hub: Hub,
    pub(super) target: Target,
    pub(super) local: bool,
    /// Another node's operation this one applies here (its id).
    pub(super) op: Option<OpId>,
}

impl BroadcastOperator {
    pub(crate) fn new(hub: Hub) -> Self {
        Self {
            hub,
            target: Target::default(),
            local: false,
            op: None,
        }
    }

    /// An operator for another node's operation: this node only.
    pub(crate) fn for_target(hub: Hub, target: Target) -> Self {
        Self {
            hub,
            target,
            local: true,
            op: None,
        }
    }

    /// Names the other node's operation this operator applies.
    pub(crate) fn with_op(mut self, op: Option<OpId>) -> Self {
        self.op = op;
        self
    }

    /// The id of the operation about to be sent: another node's, or a new
    /// one when it crosses to other nodes (`None` on a single hub, or
    /// kept local).
    pub(super) fn op_id(&self) -> Option<OpId> {
        if self.op.is_some() {
            return self.op;
        }
        (!self.local && self.hub.adapter().is_clustered()).then(|| self.hub.next_op())
    }

    /// Adds a room to the recipients (a socket in several rooms receives once).
    pub fn to(mut self, room: &str) -> Self {
        self.target.rooms.push(room.to_owned());
        self
    }

    /// Adds sockets to the recipients by id (an id nobody holds is
    /// skipped; a socket listed twice receives once).
    pub fn to_sockets<I>(mut self, socket_ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.target
            .sockets
            .extend(socket_ids.into_iter().map(|id| id.as_ref().to_owned()));
        self
    }

    /// Adds every socket of a user to the recipients (PROTOCOL.md section
    /// 10: the sockets that connected with a token of this `sub`, on every
    /// node; a socket reached twice receives once).
    pub fn to_user(mut self, user: &str) -> Self {
        self.target.users.push(user.to_owned());
        self
    }

    /// Leaves out the socket with this id.
    pub fn except(mut self, socket_id: &str) -> Self {
        self.target.except.push(socket_id.to_owned());
        self
    }

    /// Hands `operation` to the adapter unless this operator is local or
    /// nothing is left for other nodes.
    fn publish(&self, operation: impl FnOnce(Target) -> Operation) {
        if let Some(target) = self.remote_target() {
            self.hub.adapter().publish(operation(target));
        }
    }

    /// What other nodes must reach: `None` when the operator is local, the
    /// hub is not clustered, or the target was a list of socket ids that
    /// this node holds all of. Ids held here are left out (an id lives on
    /// one node).
    pub(super) fn remote_target(&self) -> Option<Target> {
        let adapter = &self.hub.adapter();
        if self.local || !adapter.is_clustered() {
            return None;
        }
        let mut target = self.target.clone();
        if !target.sockets.is_empty() {
            let sockets = &self.hub.socket_registry();
            target.sockets.retain(|id| sockets.get(id).is_none());
            if target.is_everyone() {
                // Every listed socket is here, and no room: an empty list
                // must not travel, where it would mean "everyone".
                return None;
            }
        }
        Some(target)
    }

    /// Keeps the broadcast on this node, even when the hub is clustered.
    pub fn local(mut self) -> Self {
        self.local = true;
        self
    }

    /// Whether this operator is limited to this node.
    pub fn is_local(&self) -> bool {
        self.local
    }

    /// The sockets of this node left out with [`except`](Self::except).
    pub(super) fn excluded_here(&self) -> Vec<Arc<SocketShared>> {
        // Excluded sockets are found once and then compared by address:
        // ids all have the same length, so comparing them per recipient
        // costs a `memcmp` each. An id not on this node excludes nothing.
        self.target
            .except
            .iter()
            .filter_map(|id| self.hub.socket_registry().get(id))
            .collect()
    }

    /// Visits every recipient once; `room` is the room it was reached
    /// through (`None` for a broadcast to all).
    pub(super) fn for_each_recipient(&self, mut f: impl FnMut(Option<&str>, &Arc<SocketShared>)) {
        let hub = &self.hub;
        let except = self.excluded_here();
        let excluded = |s: &Arc<SocketShared>| except.iter().any(|e| Arc::ptr_eq(e, s));
        if self.target.is_everyone() {
            hub.socket_registry().for_each(|s| {
                if !excluded(s) {
                    f(None, s);
                }
            });
            return;
        }
        let mut seen: HashSet<Arc<str>> = HashSet::new();
        let sockets = &self.target.sockets;
        // The members of the history rooms it also reached get it through
        // those rooms (another node's broadcast: `Target::history_rooms`).
        for room in &self.target.history_rooms {
            hub.room_registry().for_each_member(room, |s| {
                seen.insert(s.id.clone());
            });
        }
        let dedupe = !seen.is_empty()
            || self.target.rooms.len() + sockets.len() + self.target.users.len() > 1;
        for room in &self.target.rooms {
            hub.room_registry().for_each_recipient(room, |s| {
                if excluded(s) || (dedupe && !seen.insert(s.id.clone())) {
                    return;
                }
                f(Some(room), s);
            });
        }
        for id in sockets {
            if let Some(s) = hub.socket_registry().get(id)
                && !excluded(&s)
                && (!dedupe || seen.insert(s.id.clone()))
            {
                f(None, &s);
            }
        }
        for user in &self.target.users {
            for s in hub.user_registry().sessions(user) {
                if !excluded(&s) && (!dedupe || seen.insert(s.id.clone())) {
                    f(None, &s);
                }
            }
        }
    }

    /// Sends an event to every recipient; returns how many sockets of this
    /// node it was queued for. A message reaching a socket through a room
    /// carries `room`.
    pub fn emit(self, event: &str, data: impl Serialize) -> Result<usize, SendError> {
        let mut message = Message::event(event, to_value(data)?);
        // Set the room here so a one-room broadcast never copies the payload.
        if let [room] = self.target.rooms.as_slice() {
            message.room = Some(room.clone());
        }
        Ok(self.send_message(&message))
    }

    /// Sends an already-built message (its `room` is set per room reached)
    /// here and, unless local, on every other node.
    pub(crate) fn send_message(&self, message: &Message) -> usize {
        let op = self.op_id();
        if !self.local
            && let Some(book) = self.hub.history_rooms()
            && self.target.rooms.iter().any(|room| book.keeps(room))
        {
            return self.send_with_history(message, book, op);
        }
        let delivered = self.send_message_here(message, op);
        self.publish(|target| Operation::Broadcast {
            target,
            message: message.clone(),
            op,
        });
        delivered
    }

    fn send_message_here(&self, message: &Message, op: Option<OpId>) -> usize {
        let mut delivered = 0usize;
        let rooms = &self.target.rooms;
        let by_id_only = self.target.sockets.is_empty() && self.target.users.is_empty();
        if rooms.is_empty() || (rooms.len() == 1 && by_id_only) {
            let message = match rooms.first() {
                Some(room) if message.room.as_deref() != Some(room) => {
                    &message.clone().with_room(room.clone())
                }
                _ => message,
            };
            let mut frames = SharedFrames::new(message).with_op(op);
            self.for_each_recipient(|_, s| {
                if s.push_broadcast(frames.get(s.codec)).is_ok() {
                    delivered += 1;
                }
            });
        } else {
            let per_room: Vec<Message> = rooms
                .iter()
                .map(|room| message.clone().with_room(room.clone()))
                .collect();
            let mut frames: Vec<SharedFrames<'_>> = per_room
                .iter()
                .map(|m| SharedFrames::new(m).with_op(op))
                .collect();
            // Sockets reached by id or user carry no `room`.
            let by_id = (!by_id_only).then(|| Message {
                room: None,
                ..message.clone()
            });
            let mut by_id_frames = by_id.as_ref().map(|m| SharedFrames::new(m).with_op(op));
            self.for_each_recipient(|room, s| {
                let frames = match (room, by_id_frames.as_mut()) {
                    (None, Some(by_id)) => by_id,
                    (room, _) => {
                        let index = rooms
                            .iter()
                            .position(|r| Some(r.as_str()) == room)
                            .unwrap_or(0);
                        &mut frames[index]
                    }
                };
                if s.push_broadcast(frames.get(s.codec)).is_ok() {
                    delivered += 1;
                }
            });
        }
        self.hub.counters().messages_out_n(delivered as u64);
        delivered
    }

    /// Sends a frame as it is to every recipient (raw mode); returns how
    /// many sockets of this node it was queued for.
    pub fn send_raw(self, frame: Bytes, binary: bool) -> usize {
        self.publish(|target| Operation::BroadcastRaw {
            target,
            frame: frame.clone(),
            binary,
        });
        let frame = Outgoing::new(frame, binary);
        let mut delivered = 0usize;
        self.for_each_recipient(|_, s| {
            if s.push_broadcast(frame.clone()).is_ok() {
                delivered += 1;
            }
        });
        self.hub.counters().messages_out_n(delivered as u64);
        delivered
    }

    /// Sends an event asking each recipient for an ack, and collects every
    /// reply (or its error) within `timeout`, by socket id. In a cluster the
    /// other nodes ask their own recipients and send back what they got
    /// (their answers may take up to the adapter's request timeout past
    /// `timeout` to arrive; a node that does not answer by then is left out).
    pub async fn emit_with_ack<R: DeserializeOwned>(
        self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<Vec<(String, Result<R, AckError>)>, SendError> {
        let message = Message::event(event, to_value(data)?);
        let adapter = self.hub.adapter().clone();
        let remote = self.remote_target().map(|target| {
            let grace = self.hub.cluster_request_timeout();
            adapter.request(
                Query::Ack {
                    target,
                    message: Box::new(message.clone()),
                    timeout,
                },
                timeout + grace,
            )
        });
        let (mut replies, remote) = match remote {
            Some(remote) => {
                let (local, remote) = tokio::join!(self.local_acks(&message, timeout), remote);
                (local, Some(remote))
            }
            None => (self.local_acks(&message, timeout).await, None),
        };
        for (_, reply) in remote.map(|r| r.replies).unwrap_or_default() {
            if let Reply::Acks(acks) = reply {
                replies.extend(
                    acks.into_iter()
                        .map(|(id, outcome)| (id, outcome.into_result(timeout))),
                );
            }
        }
        Ok(replies
            .into_iter()
            .map(|(id, result)| {
                let decoded = result.and_then(|value| {
                    switchboard_protocol::binary::from_value(value)
                        .map_err(|e| AckError::Decode(e.to_string()))
                });
                (id, decoded)
            })
            .collect())
    }

    /// Asks this node's recipients for an ack with `message`.
    pub(crate) async fn local_acks(
        &self,
        message: &Message,
        timeout: Duration,
    ) -> Vec<(String, Result<serde_json::Value, AckError>)> {
        let sockets = self.sockets();
        let calls = sockets.iter().map(|socket| async move {
            let result = socket.ack_value(message.clone(), timeout).await;
            (socket.id().to_owned(), result)
        });
        join_all(calls).await
    }

    /// The recipients on this node, as socket handles.
    pub fn sockets(&self) -> Vec<Socket> {
        let mut sockets = Vec::new();
        self.for_each_recipient(|_, s| sockets.push(self.hub.socket_handle(s.clone())));
        sockets
    }

    /// Closes every recipient's connection with `code`; returns how many
    /// sockets of this node it closed.
    pub fn disconnect(self, code: CloseCode) -> usize {
        self.publish(|target| Operation::Disconnect {
            target,
            code: code.as_u16(),
        });
        let mut count = 0;
        self.for_each_recipient(|_, s| {
            self.hub.close_session(s, code);
            count += 1;
        });
        count
    }
}

impl Hub {
    /// Recipients in `room`.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).to(room)
    }

    /// Every socket of the hub.
    pub fn to_all(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }

    /// The sockets with these ids, on this node or (in a cluster) any
    /// other: [`BroadcastOperator::to_sockets`]. Unlike [`Hub::send_to`],
    /// an id nobody holds is not an error; `emit` answers how many sockets
    /// of this node it reached.
    ///
    /// ```
    /// # fn run(hub: switchboard::Hub) -> Result<(), switchboard::SendError> {
    /// let reached_here = hub.to_sockets(["id-a", "id-b"]).emit("ping", ())?;
    /// # let _ = reached_here;
    /// # Ok(())
    /// # }
    /// ```
    pub fn to_sockets<I>(&self, socket_ids: I) -> BroadcastOperator
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        BroadcastOperator::new(self.clone()).to_sockets(socket_ids)
    }

    /// Every socket but the one with this id.
    pub fn except(&self, socket_id: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).except(socket_id)
    }

    /// Every socket of this node only.
    pub fn local(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).local()
    }
}
