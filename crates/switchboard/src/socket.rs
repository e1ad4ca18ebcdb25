//! A connected socket and the handle applications use to talk to it.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_protocol::{CloseCode, Codec, Message};
use tokio::sync::Notify;

use crate::error::{AckError, DisconnectReason, SendError};
use crate::events::ack::AckTable;
use crate::events::dispatch::Dispatch;
use crate::hub::Hub;
use crate::rooms::RoomSet;
use crate::send_queue::{Delivery, Outgoing, PushError, SendQueue};
use crate::stats::Counters;
use crate::transport::polling::PollLink;

/// The state of one session, shared by its links, the registries and every
/// [`Socket`] handle. It outlives a dropped link while it waits for a
/// resume (PROTOCOL.md section 5).
pub(crate) struct SocketShared {
    pub(crate) id: Arc<str>,
    pub(crate) session: Box<str>,
    pub(crate) codec: Codec,
    pub(crate) queue: SendQueue,
    pub(crate) rooms: Mutex<RoomSet>,
    pub(crate) acks: AckTable,
    pub(crate) extensions: http::Extensions,
    stats: Arc<Counters>,
    /// Where events without a handler go when the socket is bound as channels.
    pub(crate) tap: Mutex<Option<tokio::sync::mpsc::Sender<crate::stream::InboundEvent>>>,
    /// The dispatcher's inbox: started with the session's first work, and
    /// closed when the session ends so the dispatcher can finish.
    pub(crate) dispatch: Mutex<Inbox>,
    /// Long-polling link state, when the current link is long-polling.
    pub(crate) poll: Mutex<Option<PollLink>>,
    closed: OnceLock<DisconnectReason>,
    closed_notify: Notify,
}

impl SocketShared {
    pub(crate) fn new(
        id: String,
        session: String,
        codec: Codec,
        capacities: (usize, (usize, usize)),
        extensions: http::Extensions,
        stats: Arc<Counters>,
    ) -> Self {
        Self {
            id: id.into(),
            session: session.into(),
            codec,
            queue: SendQueue::new(capacities.0, capacities.1),
            rooms: Mutex::new(RoomSet::default()),
            acks: AckTable::default(),
            extensions,
            stats,
            tap: Mutex::new(None),
            dispatch: Mutex::new(Inbox::NotStarted),
            poll: Mutex::new(None),
            closed: OnceLock::new(),
            closed_notify: Notify::new(),
        }
    }

    /// Encodes `message` in this socket's codec.
    pub(crate) fn encode(&self, message: &Message) -> Outgoing {
        frame_for(self.codec, self.codec.encode(message))
    }

    /// Queues a counted frame for this socket alone, applying the
    /// slow-consumer policy when the queue is full.
    pub(crate) fn push(&self, frame: Outgoing) -> Result<(), SendError> {
        self.push_frame(frame, Delivery::Direct)
    }

    /// Queues a counted frame of a broadcast (it may wait for the writer's
    /// coalescing window).
    pub(crate) fn push_broadcast(&self, frame: Outgoing) -> Result<(), SendError> {
        self.push_frame(frame, Delivery::Broadcast)
    }

    /// Queues the hub's own answer to a client message (`$pong`, or the
    /// `$error` of a bad or rate-limited message): shed, and counted, when
    /// the queue is at its high-water mark. Returns whether it was queued.
    pub(crate) fn push_answer(&self, frame: Outgoing, counted: bool) -> bool {
        let delivery = if counted {
            Delivery::Answer
        } else {
            Delivery::Uncounted
        };
        match self.push_frame(frame, delivery) {
            Ok(()) => true,
            Err(_) => false,
        }
    }

    fn push_frame(&self, frame: Outgoing, delivery: Delivery) -> Result<(), SendError> {
        match self.queue.push(frame, delivery) {
            Ok(0) => Ok(()),
            Ok(detached_growth) => {
                self.stats.detached.change(detached_growth);
                Ok(())
            }
            Err(PushError::Shed) => {
                self.stats.answer_shed();
                Err(SendError::Closed)
            }
            Err(PushError::Closed) => Err(SendError::Closed),
            Err(PushError::Full) => {
                if self.queue.request_close(CloseCode::SlowConsumer) {
                    tracing::warn!(socket = %self.id, "send queue full: closing slow consumer with 4001");
                    self.stats.slow_consumer();
                }
                Err(SendError::SlowConsumer)
            }
        }
    }

    /// Records why the session ended and wakes every `closed()` waiter.
    /// Returns true when this call closed an inbox whose dispatcher never
    /// started (the caller then runs the disconnect handler), and the bytes
    /// its resume buffer held if it was detached.
    pub(crate) fn mark_closed(&self, reason: DisconnectReason) -> (bool, usize) {
        // The reason is set before the queue ends: a link that sees the
        // end knows why (a `DELETE` is a plain end, not a takeover).
        let _ = self.closed.set(reason);
        let released = self.queue.end();
        self.acks.fail_all();
        let inbox = std::mem::replace(&mut *self.dispatch.lock(), Inbox::Closed);
        self.closed_notify.notify_waiters();
        (matches!(inbox, Inbox::NotStarted), released)
    }

    /// Whether joining `room` keeps this socket within `max_rooms` rooms
    /// (a room it is in already always does).
    pub(crate) fn may_join(&self, room: &str, max_rooms: usize) -> bool {
        let rooms = self.rooms.lock();
        rooms.names.len() < max_rooms || rooms.names.contains(room)
    }

    pub(crate) fn closed_reason(&self) -> Option<&DisconnectReason> {
        self.closed.get()
    }

    pub(crate) async fn wait_closed(&self) -> DisconnectReason {
        loop {
            let notified = self.closed_notify.notified();
            if let Some(reason) = self.closed.get() {
                return reason.clone();
            }
            notified.await;
        }
    }
}

/// The inbox of a session's dispatcher.
///
/// The dispatcher (a task and its channel, a few KiB) is started only when
/// there is work for it: at once when the hub has a connect handler, else
/// with the first event, `$join`/`$leave` or raw frame. An idle socket has
/// none; its disconnect handler still runs when it ends.
pub(crate) enum Inbox {
    /// No dispatcher yet.
    NotStarted,
    /// The running dispatcher's queue.
    Open(tokio::sync::mpsc::Sender<Dispatch>),
    /// The session has ended.
    Closed,
}

/// Wraps encoded bytes in the frame type the codec uses.
pub(crate) fn frame_for(codec: Codec, bytes: Bytes) -> Outgoing {
    Outgoing::new(bytes, codec.is_binary())
}

pub(crate) fn to_value(data: impl Serialize) -> Result<serde_json::Value, SendError> {
    serde_json::to_value(data).map_err(|e| SendError::Encode(e.to_string()))
}

/// A handle on one connected socket. Cheap to clone; handlers receive one.
///
/// Sending never waits: a message is queued for the socket's writer, and a
/// socket whose queue overflows is closed with `4001` (slow consumer).
#[derive(Clone)]
pub struct Socket {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) hub: Hub,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.shared.id)
            .finish()
    }
}

impl Socket {
    /// The socket's public id, unique across the cluster.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The hub this socket belongs to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The codec the client chose at the handshake.
    pub fn codec(&self) -> Codec {
        self.shared.codec
    }

    /// App data attached by the authentication hook.
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.shared.extensions.get::<T>()
    }

    /// Sends an event to this socket.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), SendError> {
        let message = Message::event(event, to_value(data)?);
        self.send_message(&message)
    }

    pub(crate) fn send_message(&self, message: &Message) -> Result<(), SendError> {
        let frame = self.shared.encode(message);
        self.shared.push(frame)?;
        self.hub.inner.stats.message_out();
        Ok(())
    }

    /// Sends the hub's own `$error` answer to a client message: shed (and
    /// counted) when the socket's queue is at its high-water mark.
    pub(crate) fn send_answer(&self, message: &Message) {
        if self.shared.push_answer(self.shared.encode(message), true) {
            self.hub.inner.stats.message_out();
        }
    }

    /// Sends an event asking for an ack, and waits up to `timeout` for the
    /// client's reply, decoded as `R`.
    pub async fn emit_with_ack<R: DeserializeOwned>(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<R, AckError> {
        let value = self
            .ack_value(Message::event(event, to_value(data)?), timeout)
            .await?;
        serde_json::from_value(value).map_err(|e| AckError::Decode(e.to_string()))
    }

    /// Sends `message` with a new ack id and waits for the reply's data.
    pub(crate) async fn ack_value(
        &self,
        message: Message,
        timeout: Duration,
    ) -> Result<serde_json::Value, AckError> {
        let (ack, reply) = self.shared.acks.register();
        if let Err(error) = self.send_message(&message.with_ack(ack)) {
            self.shared.acks.cancel(ack);
            return Err(error.into());
        }
        let result = match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => return Err(AckError::Disconnected),
            Err(_) => {
                self.shared.acks.cancel(ack);
                return Err(AckError::Timeout(timeout));
            }
        };
        result.map_err(AckError::Remote)
    }

    /// Sends a frame as it is, without the message envelope (raw mode).
    pub fn send_raw(&self, frame: Bytes, binary: bool) -> Result<(), SendError> {
        let frame = Outgoing::new(frame, binary);
        self.shared.push(frame)?;
        self.hub.inner.stats.message_out();
        Ok(())
    }

    /// Joins a room (no policy check: this is the application acting).
    /// A socket whose session has ended joins nothing (in a disconnect
    /// handler, say).
    ///
    /// Nor is [`crate::HubConfig::max_rooms_per_socket`] applied: it bounds
    /// what clients ask for with `$join`, and the application is trusted.
    /// The rooms joined here do count toward it, so a client cannot `$join`
    /// past the limit on top of them.
    pub fn join(&self, room: &str) {
        self.hub.inner.rooms.join(room, &self.shared);
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        self.hub.inner.rooms.leave(room, &self.shared);
    }

    /// Leaves every room.
    pub fn leave_all(&self) {
        self.hub.inner.rooms.leave_all(&self.shared);
    }

    /// The rooms this socket is in, sorted. Once the session has ended
    /// (in a disconnect handler, say): the rooms it was in when it ended,
    /// though it is no longer a member of any.
    pub fn rooms(&self) -> Vec<String> {
        let mut rooms: Vec<String> = self
            .shared
            .rooms
            .lock()
            .names
            .iter()
            .map(|r| r.to_string())
            .collect();
        rooms.sort_unstable();
        rooms
    }

    /// Whether the socket is in `room` (once the session has ended: was in
    /// it when it ended, as [`Socket::rooms`]).
    pub fn in_room(&self, room: &str) -> bool {
        self.shared.rooms.lock().names.contains(room)
    }

    /// Closes the connection with `code` once what is queued before it is
    /// written (`4000` for a kick by the application).
    pub fn disconnect(&self, code: CloseCode) {
        self.hub.close_session(&self.shared, code);
    }

    /// Whether a link is attached right now (a session waiting for a
    /// resume is not connected, yet still receives into its buffer).
    pub fn is_connected(&self) -> bool {
        self.shared.closed_reason().is_none() && self.shared.queue.is_attached()
    }

    /// Whether the session has ended (it will never be resumed).
    pub fn is_ended(&self) -> bool {
        self.shared.closed_reason().is_some()
    }

    /// Resolves when the socket has disconnected, with the reason.
    pub async fn closed(&self) -> DisconnectReason {
        self.shared.wait_closed().await
    }
}
