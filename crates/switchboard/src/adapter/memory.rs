//! An in-process backend: several hubs in one process form a cluster
//! without Redis or NATS (tests, embedding, simulations of an outage), with
//! a shared room history (`memory_history`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::history::{HistoryLimits, SharedHistoryStore};
use super::memory_history::{MemoryHistoryStore, SharedHistory};
use super::{Driver, DriverError, DriverLink, DriverPublisher};

/// Messages a subscriber may have waiting before the bus waits for it.
const SUBSCRIBER_CAPACITY: usize = 4096;

struct Subscriber {
    channels: Vec<String>,
    tx: mpsc::Sender<Bytes>,
}

#[derive(Default)]
struct Bus {
    subscribers: Mutex<Vec<Subscriber>>,
    /// Held while a message goes out to the subscribers: every subscriber
    /// gets the messages in one order, as from Redis or a NATS server
    /// (a moving session's fence relies on it).
    in_order: tokio::sync::Mutex<()>,
    /// Shared with the history stores, which fail while it is set.
    down: Arc<AtomicBool>,
    /// The room history every hub on the bus shares.
    history: Arc<SharedHistory>,
}

/// An in-process pub/sub bus. Clones share the bus: give each hub's
/// [`ClusterAdapter`](super::ClusterAdapter) a clone.
///
/// [`MemoryBus::set_available`] simulates an outage: every link is cut,
/// and connects and publishes fail until it is available again.
///
/// The bus keeps room history too ([`Driver::history`]): one history for
/// every clone, so every hub on the bus reads what any of them appended.
/// While the bus is down, history appends and reads fail with
/// [`DriverError::Unreachable`], and what was kept survives the outage (a
/// network cut); [`MemoryBus::clear_history`] simulates a backend restart
/// that lost its memory instead.
#[derive(Clone, Default)]
pub struct MemoryBus {
    bus: Arc<Bus>,
}

impl std::fmt::Debug for MemoryBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryBus")
            .field("available", &!self.bus.down.load(Ordering::Acquire))
            .finish_non_exhaustive()
    }
}

impl MemoryBus {
    /// A new, empty bus.
    pub fn new() -> Self {
        Self::default()
    }

    /// Brings the bus down (cutting every link) or back up.
    pub fn set_available(&self, available: bool) {
        self.bus.down.store(!available, Ordering::Release);
        if !available {
            // Dropping the senders ends every link's `incoming`.
            self.bus.subscribers.lock().clear();
        }
    }

    /// Forgets every room's history, as a backend restarted with empty
    /// memory would: the next append to a room starts a new epoch at
    /// offset 1, so clients that read the old one get `recovered: false`.
    /// The bus's availability is left as it is.
    pub fn clear_history(&self) {
        self.bus.history.clear();
    }
}

impl Bus {
    fn check_up(&self) -> Result<(), DriverError> {
        if self.down.load(Ordering::Acquire) {
            Err(DriverError::Unreachable("the memory bus is down".into()))
        } else {
            Ok(())
        }
    }
}

impl Driver for MemoryBus {
    fn connect<'a>(
        &'a self,
        channels: &'a [String],
    ) -> BoxFuture<'a, Result<DriverLink, DriverError>> {
        Box::pin(async move {
            self.bus.check_up()?;
            let (tx, incoming) = mpsc::channel(SUBSCRIBER_CAPACITY);
            self.bus.subscribers.lock().push(Subscriber {
                channels: channels.to_vec(),
                tx,
            });
            Ok(DriverLink {
                publisher: Box::new(MemoryPublisher {
                    bus: self.bus.clone(),
                }),
                incoming,
            })
        })
    }

    fn name(&self) -> &'static str {
        "memory"
    }

    fn history(&self, prefix: &str, limits: HistoryLimits) -> Option<SharedHistoryStore> {
        Some(Arc::new(MemoryHistoryStore::new(
            self.bus.history.clone(),
            self.bus.down.clone(),
            prefix,
            limits,
        )))
    }
}

struct MemoryPublisher {
    bus: Arc<Bus>,
}

impl DriverPublisher for MemoryPublisher {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payload: Bytes,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            self.bus.check_up()?;
            let _in_order = self.bus.in_order.lock().await;
            let receivers: Vec<mpsc::Sender<Bytes>> = {
                let mut subscribers = self.bus.subscribers.lock();
                subscribers.retain(|s| !s.tx.is_closed());
                subscribers
                    .iter()
                    .filter(|s| s.channels.iter().any(|c| c == channel))
                    .map(|s| s.tx.clone())
                    .collect()
            };
            for tx in receivers {
                // A receiver gone meanwhile just misses the message.
                let _ = tx.send(payload.clone()).await;
            }
            Ok(())
        })
    }
}
