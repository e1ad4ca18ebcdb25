//! A clustered node's appender of room history (PROTOCOL.md section 11):
//! messages to history rooms wait in a bounded queue, one task keeps them
//! in the backend's store in batches per room (rooms side by side, each
//! room in order), and hands each numbered batch to the hub, which
//! delivers it here and publishes it to the other nodes.
//!
//! Each batch gets a random [`BatchId`] once, and every retry of it passes
//! the same id: an append the store kept but whose answer was lost (the
//! link cut mid-append) is answered its first position when retried, not
//! kept twice (the store remembers ids for [`super::batch_window`]).

use bytes::Bytes;
use futures_util::future::join_all;
use switchboard_protocol::Message;
use tokio::sync::mpsc;

use super::{BatchId, DriverError, KeptMessage, NodeHandle, SharedHistoryStore};

/// Messages to history rooms that may wait for the store at once (while
/// the backend is away, say); past it they are dropped and counted
/// ([`crate::HubStats::history_dropped`]).
pub(crate) const APPEND_QUEUE: usize = 65_536;
/// Most messages one pass of the appender takes from its queue.
const MAX_BATCH: usize = 256;
/// First and longest wait between tries while the store is unreachable.
const RETRY_MIN: std::time::Duration = std::time::Duration::from_millis(50);
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(2);

/// A clustered hub's side of room history: the store, and the queue of
/// the task that appends to it.
pub(crate) struct HistoryAppender {
    store: SharedHistoryStore,
    appends: mpsc::Sender<(String, KeptMessage)>,
}

impl HistoryAppender {
    /// Starts the appender over `store`, handing what it keeps to `node`.
    pub(crate) fn start(node: NodeHandle, store: SharedHistoryStore) -> Self {
        let (appends, queue) = mpsc::channel(APPEND_QUEUE);
        tokio::spawn(run(node, store.clone(), queue));
        Self { store, appends }
    }

    /// The store.
    pub(crate) fn store(&self) -> &SharedHistoryStore {
        &self.store
    }

    /// Queues a message for `room`'s history; false when the queue is
    /// full (the message is dropped: the caller counts it).
    pub(crate) fn enqueue(&self, room: &str, kept: KeptMessage) -> bool {
        self.appends.try_send((room.to_owned(), kept)).is_ok()
    }
}

/// Takes what waits and keeps each room's share as one batch, until the
/// hub is gone.
async fn run(
    node: NodeHandle,
    store: SharedHistoryStore,
    mut queue: mpsc::Receiver<(String, KeptMessage)>,
) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut rooms: Vec<(String, Vec<KeptMessage>)> = Vec::new();
        for (room, kept) in batch.drain(..) {
            match rooms.iter_mut().find(|(r, _)| *r == room) {
                Some((_, messages)) => messages.push(kept),
                None => rooms.push((room, vec![kept])),
            }
        }
        join_all(
            rooms
                .into_iter()
                .map(|(room, messages)| append_room(&node, &store, room, messages)),
        )
        .await;
        if !node.is_alive() {
            return;
        }
    }
}

/// Keeps one room's batch, retrying (under one batch id) while the store
/// is unreachable, then hands it to the hub numbered; a refusal drops it
/// (counted).
async fn append_room(
    node: &NodeHandle,
    store: &SharedHistoryStore,
    room: String,
    messages: Vec<KeptMessage>,
) {
    let payloads: Vec<Bytes> = messages.iter().map(|kept| encode(&kept.message)).collect();
    // Chosen once: a retry of a batch the store kept already answers where
    // it was kept.
    let batch = BatchId::random();
    let mut wait = RETRY_MIN;
    loop {
        match store.append(&room, batch, payloads.clone()).await {
            Ok(place) => {
                node.history_kept(&room, place, messages);
                return;
            }
            Err(DriverError::Unreachable(error)) if node.is_alive() => {
                tracing::debug!(room, %error, "history store unreachable: retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
            Err(error) => {
                tracing::warn!(room, %error, messages = messages.len(), "history room messages could not be kept: dropped");
                node.history_dropped(messages.len() as u64);
                return;
            }
        }
    }
}

/// A message as the store keeps it (the cluster's MessagePack).
pub(crate) fn encode(message: &Message) -> Bytes {
    Bytes::from(rmp_serde::to_vec_named(message).expect("a message serializes"))
}

/// A message the store kept; `None` (logged) for one that does not decode.
pub(crate) fn decode(room: &str, bytes: &[u8]) -> Option<Message> {
    match rmp_serde::from_slice::<Message>(bytes) {
        Ok(message) => Some(message),
        Err(error) => {
            tracing::warn!(room, %error, "undecodable message in the history store: skipped");
            None
        }
    }
}
