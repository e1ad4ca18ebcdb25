//! Acks the hub asked a client for, waiting for their replies.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde_json::Value;
use switchboard_protocol::ErrorBody;
use tokio::sync::oneshot;

/// A reply from the client: its data or its error.
pub(crate) type AckResult = Result<Value, ErrorBody>;

/// The waiters of one socket's acks, by number.
type Waiters = HashMap<u64, oneshot::Sender<AckResult>>;

/// The pending acks of one socket.
#[derive(Debug, Default)]
pub(crate) struct AckTable {
    next: AtomicU64,
    /// Made on the first ack asked: most sockets are never asked one, and
    /// an empty map would still take 48 bytes in each of them.
    pending: Mutex<Option<Box<Waiters>>>,
}

impl AckTable {
    /// Reserves an ack number and the receiver of its reply.
    pub(crate) fn register(&self) -> (u64, oneshot::Receiver<AckResult>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .get_or_insert_with(Box::default)
            .insert(id, tx);
        (id, rx)
    }

    /// Hands a reply to its waiter. Returns false for an unknown number
    /// (already answered, timed out, or never asked).
    pub(crate) fn resolve(&self, id: u64, result: AckResult) -> bool {
        let waiter = self
            .pending
            .lock()
            .as_mut()
            .and_then(|pending| pending.remove(&id));
        match waiter {
            Some(tx) => {
                let _ = tx.send(result);
                true
            }
            None => false,
        }
    }

    /// Forgets a waiter that gave up.
    pub(crate) fn cancel(&self, id: u64) {
        if let Some(pending) = self.pending.lock().as_mut() {
            pending.remove(&id);
        }
    }

    /// Drops every waiter: they see the socket as disconnected.
    pub(crate) fn fail_all(&self) {
        let pending = std::mem::take(&mut *self.pending.lock());
        drop(pending);
    }
}
