//! [`ConnectionSender`]: queues frames on one connection of the pool.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::error::PoolError;
use super::events::Frame;

/// A handle that sends frames on one connection of the pool; the
/// `on_connect` hook receives one. It does not keep the connection alive:
/// once the connection leaves the pool, sends fail with
/// [`PoolError::Closed`].
#[derive(Debug, Clone)]
pub struct ConnectionSender {
    id: Arc<str>,
    tx: mpsc::WeakSender<Frame>,
}

impl ConnectionSender {
    pub(crate) fn new(id: Arc<str>, tx: mpsc::WeakSender<Frame>) -> Self {
        Self { id, tx }
    }

    /// The connection's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Queues `frame` for this connection without waiting; frames queued
    /// while it is down go out after it reconnects.
    pub fn send(&self, frame: Frame) -> Result<(), PoolError> {
        let tx = self
            .tx
            .upgrade()
            .ok_or_else(|| PoolError::Closed(self.id.to_string()))?;
        try_queue(&self.id, &tx, frame)
    }
}

pub(crate) fn try_queue(id: &str, tx: &mpsc::Sender<Frame>, frame: Frame) -> Result<(), PoolError> {
    tx.try_send(frame).map_err(|e| match e {
        mpsc::error::TrySendError::Full(_) => PoolError::QueueFull(id.to_owned()),
        mpsc::error::TrySendError::Closed(_) => PoolError::Closed(id.to_owned()),
    })
}
