//! One writer per room and node: appends to a room from this node wait in
//! a queue, and one task publishes them in order, those waiting together
//! as one batch. Without it, this node's own appends to a busy room would
//! keep refusing each other (each expects the sequence the other just
//! changed); with it, only other nodes' appends can.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use switchboard::adapter::DriverError;
use switchboard::protocol::HistoryPosition;
use tokio::sync::oneshot;

use super::Inner;

/// Bytes of queued appends published together at most (a single larger
/// append still goes alone; NATS' default maximum payload is 1 MiB).
const MAX_GROUP_BYTES: usize = 256 * 1024;

struct Pending {
    messages: Vec<Bytes>,
    reply: oneshot::Sender<Result<HistoryPosition, DriverError>>,
}

impl Pending {
    fn bytes(&self) -> usize {
        self.messages.iter().map(|m| m.len() + 4).sum()
    }
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

    /// The next appends of `room` to publish together; `None` (and the
    /// room's queue gone) when there are none left.
    fn next_group(&self, room: &str) -> Option<Vec<Pending>> {
        let mut rooms = self.rooms();
        let queue = rooms.get_mut(room)?;
        let first = match queue.pop_front() {
            Some(first) => first,
            None => {
                rooms.remove(room);
                return None;
            }
        };
        let mut bytes = first.bytes();
        let mut group = vec![first];
        while let Some(next) = queue.front() {
            bytes += next.bytes();
            if bytes > MAX_GROUP_BYTES {
                break;
            }
            group.extend(queue.pop_front());
        }
        Some(group)
    }
}

/// Queues an append to `room`, starting the room's writer if none runs,
/// and waits for its outcome.
pub(super) async fn append(
    inner: &Arc<Inner>,
    room: &str,
    messages: Vec<Bytes>,
) -> Result<HistoryPosition, DriverError> {
    let (reply, outcome) = oneshot::channel();
    let pending = Pending { messages, reply };
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
        let Some(group) = inner.queues.next_group(&room) else {
            ending.done = true;
            return;
        };
        let messages: Vec<Bytes> = group
            .iter()
            .flat_map(|pending| pending.messages.iter().cloned())
            .collect();
        let outcome = inner.append_batch(&room, &messages).await;
        let mut before = 0;
        for pending in group {
            let answer = match &outcome {
                Ok(position) => Ok(HistoryPosition {
                    epoch: position.epoch.clone(),
                    offset: position.offset + before,
                }),
                Err(error) => Err(copy(error)),
            };
            before += pending.messages.len() as u64;
            // A caller that stopped waiting just misses the answer.
            let _ = pending.reply.send(answer);
        }
    }
}

fn copy(error: &DriverError) -> DriverError {
    match error {
        DriverError::Unreachable(message) => DriverError::Unreachable(message.clone()),
        DriverError::Refused(message) => DriverError::Refused(message.clone()),
        DriverError::Config(message) => DriverError::Config(message.clone()),
    }
}
