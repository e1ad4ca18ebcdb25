//! The driver: the small interface a cluster backend implements.
//!
//! A driver only moves opaque byte messages: it connects, subscribes to a
//! few channels and publishes. Everything else (node discovery, heartbeats,
//! requests and their replies, acks across nodes, reconnecting) is written
//! once in [`ClusterAdapter`](super::ClusterAdapter) on top of it.

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use super::history::{HistoryLimits, SharedHistoryStore};

/// Why a driver operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// The backend could not be reached or the connection was lost.
    #[error("cluster backend unreachable: {0}")]
    Unreachable(String),
    /// The backend refused an operation (authentication, permissions, a
    /// malformed URL...).
    #[error("cluster backend refused the operation: {0}")]
    Refused(String),
    /// A configuration error on this side (bad URL, bad option).
    #[error("cluster backend misconfigured: {0}")]
    Config(String),
}

/// A cluster backend (Redis, NATS, or the in-process [`MemoryBus`](super::MemoryBus)).
///
/// [`Driver::connect`] is called by the adapter whenever it needs a
/// connection: once at start, and again (with backoff) after every loss.
/// The driver does not reconnect by itself: when the connection is lost it
/// closes the [`DriverLink::incoming`] channel and fails publishes, and the
/// adapter calls `connect` again, subscribing afresh.
pub trait Driver: Send + Sync + 'static {
    /// Connects, subscribes to every channel in `channels`, and returns the
    /// link once the subscriptions are in place (a message published on one
    /// of them after `connect` returns must arrive on `incoming`).
    fn connect<'a>(
        &'a self,
        channels: &'a [String],
    ) -> BoxFuture<'a, Result<DriverLink, DriverError>>;

    /// A short name for logs and metrics, e.g. `"redis"`.
    fn name(&self) -> &'static str;

    /// The backend's store of room history (PROTOCOL.md section 11) with
    /// these limits, if it has one; called once, when the hub is built
    /// with history rooms. `prefix` is the cluster's channel prefix (with
    /// the hub's namespace): the store keeps its rooms under it, apart
    /// from other clusters on the same backend. `None` (the default) means
    /// the backend keeps no history: a hub over it keeps none (and says so
    /// in its log).
    fn history(&self, prefix: &str, limits: HistoryLimits) -> Option<SharedHistoryStore> {
        let _ = (prefix, limits);
        None
    }
}

/// One live connection to the backend.
pub struct DriverLink {
    /// Publishes on this connection.
    pub publisher: Box<dyn DriverPublisher>,
    /// Every message published on a subscribed channel, by any node
    /// (this one included), in the order the backend delivers them. The
    /// driver closes it (drops the sender) when the connection is lost.
    ///
    /// Two guarantees are expected of the backend: what one connection
    /// publishes (on any of the channels) arrives in the order it was
    /// published, and every subscriber gets one channel's messages in
    /// nearly the same order (Redis pub/sub gives one order; a NATS server
    /// gives each publisher's, and may interleave two publishers
    /// differently for two subscribers). A session moving between nodes
    /// relies on both (PROTOCOL.md section 11: its fence on the `all`
    /// channel, past which the old node forwards 50 ms more).
    pub incoming: mpsc::Receiver<Bytes>,
}

impl std::fmt::Debug for DriverLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverLink").finish_non_exhaustive()
    }
}

/// The publishing half of a [`DriverLink`].
pub trait DriverPublisher: Send + Sync + 'static {
    /// Publishes `payload` on `channel`. An error means the message may not
    /// have reached the backend; the adapter counts it as lost and, for
    /// [`DriverError::Unreachable`], reconnects.
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payload: Bytes,
    ) -> BoxFuture<'a, Result<(), DriverError>>;

    /// Resolves once what was published so far has left for the backend
    /// (called before the node leaves, so its goodbye is not lost in a
    /// client's buffer as the process exits). The default does nothing:
    /// for a backend whose [`DriverPublisher::publish`] returns once the
    /// backend has the message.
    fn flush(&self) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(std::future::ready(Ok(())))
    }
}
