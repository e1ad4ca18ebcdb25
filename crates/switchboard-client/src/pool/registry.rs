//! The pool's registry of connections: how each is reached (its route),
//! what every handle on the pool shares, and the start and end of a
//! connection's entry (queueing on its route, stopping its task, leaving
//! when the task ends).

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::adopted::{self, HubSocket};
use super::events::{EventQueue, Frame, PoolEvent, ProducerGuard};
use super::options::ConnectionOptions;
use super::{PoolError, sender};

/// How the pool reaches a connection.
pub(super) enum Route {
    Dialed {
        url: String,
        frames: mpsc::Sender<Frame>,
    },
    // Never built without the `hub` feature.
    #[cfg_attr(not(feature = "hub"), allow(dead_code))]
    Adopted(HubSocket),
}

/// One connection in the registry.
pub(super) struct Entry {
    /// Tells this entry from a later one under the same id.
    pub(super) key: u64,
    pub(super) route: Route,
    /// Set to ask the connection's task to close.
    pub(super) close: watch::Sender<bool>,
    /// The connection's task (an adopted socket's once it is spawned).
    pub(super) task: Option<JoinHandle<()>>,
    /// Whether the connection is up right now.
    pub(super) connected: Arc<AtomicBool>,
}

/// The pool's connections, by id.
#[derive(Default)]
pub(super) struct Registry {
    /// Every connection, by its id in the pool.
    pub(super) entries: HashMap<Arc<str>, Entry>,
    /// Adopted sockets: hub socket id to pool id.
    pub(super) by_socket: HashMap<String, Arc<str>>,
    /// The key of the next entry.
    pub(super) next_key: u64,
    /// Set by `close_all`: no connection may be added any more.
    pub(super) closed: bool,
}

/// What every handle on a pool shares.
pub(super) struct Inner {
    pub(super) registry: Mutex<Registry>,
    /// The pool's own share of the merged stream: dropped by `close_all`
    /// (or with the pool), so the stream ends once the tasks have.
    pub(super) producer: Mutex<Option<ProducerGuard>>,
    pub(super) queue: Arc<EventQueue>,
    pub(super) defaults: ConnectionOptions,
}

impl Inner {
    /// The registry, even after a panic while it was held.
    pub(super) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets entry `id` if it is still the one with `key`.
    pub(super) fn forget(&self, id: &str, key: u64) {
        let mut registry = self.registry();
        if registry.entries.get(id).is_some_and(|e| e.key == key)
            && let Some(Entry {
                route: Route::Adopted(socket),
                ..
            }) = registry.entries.remove(id)
        {
            registry.by_socket.remove(socket.id());
        }
    }
}

/// Queues `frame` on a connection's route: an adopted socket or a dialed
/// connection's queue.
pub(super) fn send_on(
    id: &str,
    route: Result<HubSocket, mpsc::Sender<Frame>>,
    frame: Frame,
) -> Result<(), PoolError> {
    match route {
        Err(frames) => sender::try_queue(id, &frames, frame),
        Ok(socket) => adopted::send(id, &socket, frame),
    }
}

/// Signals an entry's task to close and waits for it to end.
pub(super) async fn stop(mut entry: Entry) {
    let _ = entry.close.send(true);
    if let Some(task) = entry.task.take()
        && let Err(error) = task.await
    {
        tracing::error!(%error, "a pool connection task failed");
    }
}

/// The end of a connection task: leave the registry, then report `Removed`.
pub(super) fn finish(weak: &Weak<Inner>, id: &Arc<str>, key: u64, events: ProducerGuard) {
    if let Some(inner) = weak.upgrade() {
        inner.forget(id, key);
    }
    events
        .queue()
        .force_push(PoolEvent::Removed { id: id.clone() });
}
