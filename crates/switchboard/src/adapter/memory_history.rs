//! The room history of the [`MemoryBus`](super::MemoryBus): one
//! [`MemoryLog`] per room, shared by every clone of the bus, so every hub
//! on one bus reads and writes one history (as nodes on one Redis do).
//! Batch ids are remembered beside the rooms, for [`batch_window`] each.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use switchboard_protocol::HistoryPosition;

use super::DriverError;
use super::history::{BatchId, HistoryLimits, HistoryPage, HistoryStore, batch_window};
use crate::session::history::MemoryLog;

/// Every room's log, shared by the bus and all its stores.
#[derive(Default)]
pub(super) struct SharedHistory {
    rooms: Mutex<HashMap<String, MemoryLog<Bytes>>>,
    /// The batches appended lately, by room key and id: until when each is
    /// remembered, and the position it got. Locked after `rooms`, never
    /// before.
    batches: Mutex<HashMap<(String, BatchId), (Instant, HistoryPosition)>>,
    /// When the next sweep of rooms no one touches may run.
    next_sweep: Mutex<Option<Instant>>,
}

impl SharedHistory {
    /// Forgets every room (a backend restart that lost its memory).
    pub(super) fn clear(&self) {
        let mut rooms = self.rooms.lock();
        rooms.clear();
        self.batches.lock().clear();
    }
}

/// A [`HistoryStore`] over the bus's [`SharedHistory`], with one hub's
/// limits. It fails with [`DriverError::Unreachable`] while the bus is
/// down, and keeps what it holds meanwhile (an outage is a network cut,
/// not a restart).
pub(super) struct MemoryHistoryStore {
    shared: Arc<SharedHistory>,
    down: Arc<AtomicBool>,
    /// The cluster's prefix: rooms of other prefixes are other rooms.
    prefix: String,
    limits: HistoryLimits,
}

impl MemoryHistoryStore {
    /// A store over `shared`, unreachable while `down` is set.
    pub(super) fn new(
        shared: Arc<SharedHistory>,
        down: Arc<AtomicBool>,
        prefix: &str,
        limits: HistoryLimits,
    ) -> Self {
        Self {
            shared,
            down,
            prefix: prefix.to_owned(),
            limits,
        }
    }

    /// The key of `room` in the shared map.
    fn key(&self, room: &str) -> String {
        format!("{}\0{room}", self.prefix)
    }

    fn check_up(&self) -> Result<(), DriverError> {
        if self.down.load(Ordering::Acquire) {
            Err(DriverError::Unreachable(
                "the memory bus is down (history)".into(),
            ))
        } else {
            Ok(())
        }
    }

    fn append_now(&self, room: &str, batch: BatchId, messages: Vec<Bytes>) -> HistoryPosition {
        let now = Instant::now();
        self.sweep_if_due(now);
        let mut rooms = self.shared.rooms.lock();
        let key = self.key(room);
        // A repeat of a batch kept lately answers where it went, keeping
        // nothing (under the rooms' lock: a repeat racing its first append
        // waits for it).
        let mut batches = self.shared.batches.lock();
        let id = (key, batch);
        if let Some((until, position)) = batches.get(&id)
            && now < *until
        {
            return position.clone();
        }
        let log = rooms.entry(id.0.clone()).or_insert_with(MemoryLog::new);
        if log.expire(now, &self.limits) {
            // Nothing kept: the room starts a new epoch at offset 1.
            *log = MemoryLog::new();
        }
        let first = log.page(u64::MAX, 0).offset + 1;
        for message in messages {
            log.append(message, now, &self.limits);
        }
        let position = HistoryPosition {
            epoch: log.epoch().to_string(),
            offset: first,
        };
        batches.insert(id, (now + batch_window(&self.limits), position.clone()));
        position
    }

    fn read_now(&self, room: &str, since: u64, limit: usize) -> HistoryPage<Bytes> {
        let now = Instant::now();
        let mut rooms = self.shared.rooms.lock();
        let key = self.key(room);
        let Some(log) = rooms.get_mut(&key) else {
            return HistoryPage::empty();
        };
        if log.expire(now, &self.limits) {
            rooms.remove(&key);
            return HistoryPage::empty();
        }
        log.page(since, limit)
    }

    /// Every tenth of the time to live (10 ms to 1 min), drops the rooms
    /// whose messages all expired and the batch ids past their window, so
    /// rooms no one writes to any more do not hold memory.
    fn sweep_if_due(&self, now: Instant) {
        {
            let mut next = self.shared.next_sweep.lock();
            if next.is_some_and(|next| now < next) {
                return;
            }
            *next = Some(
                now + (self.limits.ttl / 10)
                    .clamp(Duration::from_millis(10), Duration::from_secs(60)),
            );
        }
        let limits = self.limits;
        let mut rooms = self.shared.rooms.lock();
        rooms.retain(|_, log| !log.expire(now, &limits));
        self.shared
            .batches
            .lock()
            .retain(|_, (until, _)| now < *until);
    }
}

impl HistoryStore for MemoryHistoryStore {
    fn append<'a>(
        &'a self,
        room: &'a str,
        batch: BatchId,
        messages: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<HistoryPosition, DriverError>> {
        Box::pin(async move {
            self.check_up()?;
            if messages.is_empty() {
                return Err(DriverError::Refused(
                    "history append: no message to keep".into(),
                ));
            }
            Ok(self.append_now(room, batch, messages))
        })
    }

    fn read<'a>(
        &'a self,
        room: &'a str,
        since: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<HistoryPage<Bytes>, DriverError>> {
        Box::pin(async move {
            self.check_up()?;
            Ok(self.read_now(room, since, limit))
        })
    }
}
