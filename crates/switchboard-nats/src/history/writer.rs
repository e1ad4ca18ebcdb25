//! One writer per room and node: appends to a room from this node wait in
//! a queue, and one task publishes them in order, one after the other.
//! Without it, this node's own appends to a busy room would keep refusing
//! each other (each expects the sequence the other just changed); with
//! it, only other nodes' appends can.
//!
//! Each append goes out as its own JetStream message, never grouped with
//! others waiting beside it: a message's `Nats-Msg-Id` is its batch's id,
//! and JetStream recognises a repeat only by that id. A group would need
//! an id of its own, and the retry of one of its batches (alone, or in
//! another group) would not carry it, so it would be kept twice. Grouping
//! bought little anyway: a node's appender has at most one batch in flight
//! per room, and batches its messages itself.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use switchboard::adapter::{BatchId, DriverError};
use switchboard::protocol::HistoryPosition;
use tokio::sync::oneshot;

use super::Inner;

struct Pending {
    batch: BatchId,
    messages: Vec<Bytes>,
    reply: oneshot::Sender<Result<HistoryPosition, DriverError>>,
}

/// The queued appends of every room with a writer running.
#[derive(Default)]
pub(super) struct Queues {
    rooms: Mutex<HashMap<String, VecDeque<Pending>>>,
}

impl Queues {
    fn rooms(&self) -> MutexGuard<'_, HashMap<String, VecDeque<Pending>>> {
        self.rooms.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next append of `room` to publish; `None` (and the room's queue
    /// gone) when there is none left.
    fn next(&self, room: &str) -> Option<Pending> {
        let mut rooms = self.rooms();
        let queue = rooms.get_mut(room)?;
        let next = queue.pop_front();
        if next.is_none() {
            rooms.remove(room);
        }
        next
    }
}

/// Queues an append to `room`, starting the room's writer if none runs,
/// and waits for its outcome.
pub(super) async fn append(
    inner: &Arc<Inner>,
    room: &str,
    batch: BatchId,
    messages: Vec<Bytes>,
) -> Result<HistoryPosition, DriverError> {
    let (reply, outcome) = oneshot::channel();
    let pending = Pending {
        batch,
        messages,
        reply,
    };
    let start = {
        let mut rooms = inner.queues.rooms();
        match rooms.get_mut(room) {
            Some(queue) => {
                queue.push_back(pending);
                false
            }
            None => {
                rooms.insert(room.to_owned(), VecDeque::from([pending]));
                true
            }
        }
    };
    if start {
        tokio::spawn(write_room(Arc::clone(inner), room.to_owned()));
    }
    outcome.await.unwrap_or_else(|_| {
        Err(DriverError::Unreachable(
            "NATS history: the room's writer stopped".into(),
        ))
    })
}

/// Removes the room's queue if its writer ends early (a panic, or its
/// runtime shutting down): the appends waiting in it fail instead of
/// waiting for a writer that will not come.
struct Ending<'a> {
    inner: &'a Inner,
    room: &'a str,
    done: bool,
}

impl Drop for Ending<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.inner.queues.rooms().remove(self.room);
        }
    }
}

/// Publishes `room`'s queued appends until none is left.
async fn write_room(inner: Arc<Inner>, room: String) {
    let mut ending = Ending {
        inner: &inner,
        room: &room,
        done: false,
    };
    loop {
        let Some(pending) = inner.queues.next(&room) else {
            ending.done = true;
            return;
        };
        let outcome = inner
            .append_batch(&room, pending.batch, &pending.messages)
            .await;
        // A caller that stopped waiting just misses the answer.
        let _ = pending.reply.send(outcome);
    }
}
