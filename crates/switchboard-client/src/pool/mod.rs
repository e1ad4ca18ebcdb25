//! The outbound connection pool: named raw WebSocket connections with one
//! merged stream.
//!
//! A [`Pool`] holds connections to arbitrary WebSocket services (raw
//! frames, no envelope) and, alongside them, sockets accepted by a
//! Switchboard hub in raw mode (`Pool::adopt`, with the crate's `hub`
//! feature). Everything received, and
//! every change of state, arrives on one bounded stream of [`PoolEvent`]s
//! ([`PoolEvents`]), each tagged with its connection's id.
//!
//! Each dialed connection is one task: it dials (`ws://`, or `wss://` over
//! rustls), runs the `on_connect` hook so the application can resubscribe,
//! pings the peer and drops it when no pong comes back in time, and
//! redials with exponential backoff and jitter. A URL that fails never
//! blocks the pool nor the other connections.
//!
//! ## Bounded everywhere
//!
//! - The merged stream holds at most `event_capacity` events; what happens
//!   when it is full is the pool's [`OverflowPolicy`]: connections wait
//!   (`Backpressure`, the default: nothing is lost and the waiting
//!   connection stops reading its peer), or frames are dropped and counted
//!   (`DropNewest`, `DropOldest`). State events are never dropped. A
//!   closing connection's last events (at most three: `Connected`,
//!   `Disconnected`, `Removed`) go in regardless of capacity so that
//!   closing never waits for the consumer.
//! - Each dialed connection queues at most `send_queue` frames to write;
//!   a send beyond that fails at once with [`PoolError::QueueFull`]. Frames
//!   sent while a connection is down wait in that queue and go out after it
//!   reconnects (after those its `on_connect` hook sends, or before: they
//!   are written in the order they were queued).
//! - Adopted sockets use the hub's own bounded send queue and its slow
//!   consumer policy (`4001`).
//!
//! ## Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use switchboard_client::pool::{ConnectionOptions, Frame, Pool, PoolEvent};
//!
//! # async fn run() -> Result<(), switchboard_client::pool::PoolError> {
//! let (pool, mut events) = Pool::new();
//! let options = ConnectionOptions::new()
//!     .reconnect_delay(Duration::from_millis(200), Duration::from_secs(10))
//!     .on_connect(|sender| async move {
//!         // Runs on every (re)connect: subscribe again.
//!         sender.send(Frame::text(r#"{"subscribe":"trades"}"#))?;
//!         Ok(())
//!     });
//! pool.add_with("exchange-a", "wss://feed.example/ws", options)?;
//! pool.add_url("ws://127.0.0.1:9001/")?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         PoolEvent::Frame { id, frame } => tracing::info!(%id, ?frame),
//!         other => tracing::info!(?other, "state"),
//!     }
//! }
//! # Ok(()) }
//! ```

// The `Pool` handle and its methods are here; its registry, builder,
// reports and (with the `hub` feature) adoption have their own files, as do
// a dialed connection's task (`connection.rs`) and an adopted one's
// (`adopted.rs`).
#[cfg(feature = "hub")]
mod adopted;
#[cfg(not(feature = "hub"))]
#[path = "adopted_without_hub.rs"]
mod adopted;
#[cfg(feature = "hub")]
mod adoption;
mod builder;
mod connection;
mod error;
mod events;
mod old_names;
mod options;
mod registry;
mod reports;
mod sender;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::{mpsc, watch};

pub use crate::dial::{DialError, tls_config_with_roots};
pub use builder::PoolBuilder;
pub use error::PoolError;
pub use events::{Frame, OverflowPolicy, PoolDisconnect, PoolEvent, PoolEvents};
#[allow(deprecated)]
pub use old_names::{Backoff, DisconnectReason};
pub use options::{ConnectionOptions, HookError, PoolBackoff};
pub use reports::{ConnectionInfo, SendAll, Source};
pub use sender::ConnectionSender;

use crate::dial::url::WsUrl;
use adopted::HubSocket;
use connection::Dialed;
use registry::{Entry, Inner, Route, finish, send_on, stop};

/// A pool of named WebSocket connections, dialed or adopted, with one merged
/// stream of [`PoolEvent`]s. Cheap to clone: every clone is a handle on the
/// same pool. Dropping the last handle closes every connection.
///
/// Methods that start connections spawn tasks: call them inside a Tokio
/// runtime.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("connections", &self.count())
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl Pool {
    /// A pool with the default settings (see [`PoolBuilder`]).
    pub fn new() -> (Self, PoolEvents) {
        PoolBuilder::default().build()
    }

    /// Configures a pool.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// Adds a connection to `url` under `id`, with the pool's default
    /// options. It is dialed in the background; watch the stream for
    /// `Connected`.
    pub fn add(&self, id: impl Into<String>, url: &str) -> Result<(), PoolError> {
        self.add_with(id, url, self.inner.defaults.clone())
    }

    /// Adds a connection to `url` whose id is the URL itself.
    pub fn add_url(&self, url: &str) -> Result<(), PoolError> {
        self.add(url, url)
    }

    /// Adds a connection to `url` under `id` with its own options.
    pub fn add_with(
        &self,
        id: impl Into<String>,
        url: &str,
        options: ConnectionOptions,
    ) -> Result<(), PoolError> {
        let ws_url = WsUrl::parse_ws(url).map_err(|e| match e {
            DialError::InvalidUrl(why) => PoolError::InvalidUrl(why),
            other => PoolError::InvalidUrl(other.to_string()),
        })?;
        let id: Arc<str> = Arc::from(id.into());
        let (frames_tx, frames_rx) = connection::new_channel(options.send_queue);
        let (close_tx, close_rx) = watch::channel(false);
        let connected = Arc::new(AtomicBool::new(false));
        let sender = ConnectionSender::new(id.clone(), frames_tx.downgrade());
        let mut registry = self.inner.registry();
        if registry.closed {
            return Err(PoolError::PoolClosed);
        }
        if registry.entries.contains_key(&id) {
            return Err(PoolError::DuplicateId(id.to_string()));
        }
        let key = registry.next_key;
        registry.next_key += 1;
        let dialed = Dialed::new(
            id.clone(),
            ws_url,
            options,
            self.inner.queue.producer(),
            connected.clone(),
            sender,
            frames_rx,
            close_rx,
        );
        let weak = Arc::downgrade(&self.inner);
        let task_id = id.clone();
        let task = tokio::spawn(async move {
            let events = dialed.run().await;
            finish(&weak, &task_id, key, events);
        });
        registry.entries.insert(
            id,
            Entry {
                key,
                route: Route::Dialed {
                    url: url.to_owned(),
                    frames: frames_tx,
                },
                close: close_tx,
                task: Some(task),
                connected,
            },
        );
        Ok(())
    }

    /// Removes connection `id`: a dialed one writes what is queued, then a
    /// close frame; an adopted one is disconnected (1000). Returns once its task has ended, after
    /// `Removed` is on the stream.
    pub async fn remove(&self, id: &str) -> Result<(), PoolError> {
        let entry = {
            let mut registry = self.inner.registry();
            let entry = registry
                .entries
                .remove(id)
                .ok_or_else(|| PoolError::UnknownId(id.to_owned()))?;
            if let Route::Adopted(socket) = &entry.route {
                registry.by_socket.remove(socket.id());
            }
            entry
        };
        stop(entry).await;
        Ok(())
    }

    /// Queues `frame` for connection `id` without waiting.
    pub fn send(&self, id: &str, frame: Frame) -> Result<(), PoolError> {
        let route = {
            let registry = self.inner.registry();
            let entry = registry
                .entries
                .get(id)
                .ok_or_else(|| PoolError::UnknownId(id.to_owned()))?;
            match &entry.route {
                Route::Dialed { frames, .. } => Err(frames.clone()),
                Route::Adopted(socket) => Ok(socket.clone()),
            }
        };
        send_on(id, route, frame)
    }

    /// Queues `frame` for every connection; a full or closed one does not
    /// stop the others and is listed in the outcome.
    pub fn send_all(&self, frame: Frame) -> SendAll {
        let routes: Vec<(String, Result<HubSocket, mpsc::Sender<Frame>>)> = {
            let registry = self.inner.registry();
            registry
                .entries
                .iter()
                .map(|(id, entry)| {
                    let route = match &entry.route {
                        Route::Dialed { frames, .. } => Err(frames.clone()),
                        Route::Adopted(socket) => Ok(socket.clone()),
                    };
                    (id.to_string(), route)
                })
                .collect()
        };
        let mut outcome = SendAll::default();
        for (id, route) in routes {
            match send_on(&id, route, frame.clone()) {
                Ok(()) => outcome.sent += 1,
                Err(error) => outcome.failed.push((id, error)),
            }
        }
        outcome
    }

    /// A sender for connection `id` (dialed connections only), like the one
    /// the `on_connect` hook gets.
    pub fn sender(&self, id: &str) -> Option<ConnectionSender> {
        let registry = self.inner.registry();
        let (key, entry) = registry.entries.get_key_value(id)?;
        match &entry.route {
            Route::Dialed { frames, .. } => {
                Some(ConnectionSender::new(key.clone(), frames.downgrade()))
            }
            Route::Adopted(_) => None,
        }
    }

    /// How many connections are in the pool (up or reconnecting).
    pub fn count(&self) -> usize {
        self.inner.registry().entries.len()
    }

    /// The connections in the pool, sorted by id.
    pub fn list(&self) -> Vec<ConnectionInfo> {
        let mut list: Vec<ConnectionInfo> = self
            .inner
            .registry()
            .entries
            .iter()
            .map(|(id, entry)| ConnectionInfo {
                id: id.to_string(),
                source: match &entry.route {
                    Route::Dialed { url, .. } => Source::Dialed(url.clone()),
                    Route::Adopted(socket) => Source::Adopted(socket.id().to_owned()),
                },
                connected: entry.connected.load(Ordering::Acquire),
            })
            .collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// Frames dropped so far by the overflow policy.
    pub fn dropped(&self) -> u64 {
        self.inner.queue.dropped()
    }

    /// Drains the pool: refuses new connections, closes every connection
    /// (frames already queued on a live connection are written first, then
    /// a close frame, answered or timed out after 2 s; pending reconnects
    /// are cancelled; adopted sockets are disconnected with 1000), and
    /// returns once every task has ended. The merged stream then ends
    /// after the events still queued, the last of each connection being
    /// `Removed`. Closing never waits for the consumer of the stream.
    pub async fn close_all(&self) {
        let entries: Vec<Entry> = {
            let mut registry = self.inner.registry();
            registry.closed = true;
            registry.by_socket.clear();
            registry.entries.drain().map(|(_, entry)| entry).collect()
        };
        let stops: Vec<_> = entries.into_iter().map(stop).collect();
        futures_util::future::join_all(stops).await;
        let producer = self
            .inner
            .producer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(producer);
    }
}
