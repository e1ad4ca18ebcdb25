//! The state of one session: its identity, send queue and resume ring,
//! rooms, pending acks, and the dispatcher's inbox. Shared by the session's
//! links, the registries and every [`crate::Socket`] handle.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::Mutex;
use serde::Serialize;
use switchboard_protocol::{CloseCode, Codec, Message};
use tokio::sync::Notify;

use crate::error::{DisconnectReason, SendError};
use crate::send_queue::{Delivery, Outgoing, PushError, SendQueue};
use crate::session::acks::AckTable;
use crate::session::handshake::Handshake;
use crate::session::identity::Identity;
use crate::session::inbox::{Inbox, TappedEvent};
use crate::session::room_names::RoomNames;
use crate::stats::Counters;

/// The state of one session, shared by its links, the registries and every
/// [`crate::Socket`] handle. It outlives a dropped link while it waits for a
/// resume (PROTOCOL.md section 5).
///
/// Laid out in the order written (`repr(C)`): a broadcast reads each
/// recipient's codec and then takes its queue's lock, and with the two
/// side by side at the start they share the recipient's first cache line
/// (left to the compiler, the codec went last, a line of its own).
#[repr(C)]
pub(crate) struct SocketShared {
    pub(crate) codec: Codec,
    pub(crate) queue: SendQueue,
    pub(crate) id: Arc<str>,
    pub(crate) session: Box<str>,
    pub(crate) rooms: Mutex<RoomSet>,
    pub(crate) acks: AckTable,
    pub(crate) extensions: http::Extensions,
    /// The request that opened the session ([`crate::Socket::handshake`]).
    pub(crate) handshake: Arc<Handshake>,
    /// The user, for a socket that connected with a token (section 10).
    pub(crate) identity: Option<Box<Identity>>,
    stats: Arc<Counters>,
    /// Where events without a handler go when the socket is bound as channels.
    pub(crate) tap: Mutex<Option<tokio::sync::mpsc::Sender<TappedEvent>>>,
    /// The dispatcher's inbox: started with the session's first work, and
    /// closed when the session ends so the dispatcher can finish.
    pub(crate) dispatch: Mutex<Inbox>,
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
        handshake: Arc<Handshake>,
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
            handshake,
            identity: None,
            stats,
            tap: Mutex::new(None),
            dispatch: Mutex::new(Inbox::NotStarted),
            closed: OnceLock::new(),
            closed_notify: Notify::new(),
        }
    }

    /// The session's user, from the token it connected with.
    /// The hub's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.stats
    }

    pub(crate) fn with_identity(mut self, identity: Option<Identity>) -> Self {
        self.identity = identity.map(Box::new);
        self
    }

    /// On a hub that coalesces broadcasts, the queue times its writer's
    /// wake-ups ([`crate::hub::coalescing`]).
    pub(crate) fn with_coalescing(mut self, on: bool) -> Self {
        if on {
            self.queue.time_wakes();
        }
        self
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
                self.overflowed();
                Err(SendError::SlowConsumer)
            }
        }
    }

    /// The send queue overflowed: the link closes with `4001` (slow
    /// consumer), counted once.
    pub(crate) fn overflowed(&self) {
        if self.queue.request_close(CloseCode::SlowConsumer) {
            tracing::warn!(socket = %self.id, "send queue full: closing slow consumer with 4001");
            self.stats.slow_consumer();
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

/// A socket's own view of its rooms (socket -> rooms).
#[derive(Default)]
pub(crate) struct RoomSet {
    /// The rooms the socket is in (for an ended session: was in when it
    /// ended, less what it left since).
    pub(crate) names: RoomNames,
    /// Set when the session has ended: it joins nothing any more.
    pub(crate) ended: bool,
}

/// Wraps encoded bytes in the frame type the codec uses.
pub(crate) fn frame_for(codec: Codec, bytes: Bytes) -> Outgoing {
    Outgoing::new(bytes, codec.is_binary())
}

pub(crate) fn to_value(data: impl Serialize) -> Result<serde_json::Value, SendError> {
    serde_json::to_value(data).map_err(|e| SendError::Encode(e.to_string()))
}
