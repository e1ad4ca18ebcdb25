//! Room history in NATS JetStream: the [`HistoryStore`] of
//! [`NatsDriver::history`](switchboard::adapter::Driver::history).
//!
//! One stream per cluster prefix (`ClusterOptions::prefix` with the hub's
//! namespace, `switchboard` by default): `SWITCHBOARD_HISTORY_{prefix}` (bytes of the
//! prefix outside `[A-Za-z0-9-]` written `_XX`), subjects
//! `{prefix}.history.*`, memory storage, one replica, `allow_direct`,
//! `max_msgs_per_subject` = the history size and `max_age` = its time to
//! live. The first call of a store creates it, or updates its limits and
//! subjects when they differ (the last store to start wins). Memory
//! storage, and a `duplicate_window` of the time to live at most 2 minutes
//! ([`batch_window`](switchboard::adapter::batch_window)). Memory
//! storage: a NATS restart loses the history like a Redis restart without
//! persistence does; the next append to each room then starts a new epoch,
//! and clients that saw the old one are told `recovered: false`. To keep
//! history across restarts, change the stream's storage to file with the
//! `nats` CLI: the store keeps the storage it finds.
//!
//! Each room is one subject, `{prefix}.history.r{hex of the room's
//! bytes}`: one token whatever the room holds (dots, wildcards, spaces,
//! unicode, nothing). A room name is limited by NATS' maximum control line
//! (4 KiB by default) to about 2,000 bytes.
//!
//! Each append is one JetStream message holding a batch (see `batch.rs`
//! for its headers: `Switchboard-Epoch`, `Switchboard-Offset` of its first
//! message, `Switchboard-Count`, `Switchboard-Previous`, the stream
//! sequence of the room's batch before it; and its body: each message with
//! a 4-byte length). Appends are atomic across nodes by optimistic
//! concurrency: each publish carries `Nats-Expected-Last-Subject-Sequence`
//! (the room's last batch, 0 for none), another node's append in between
//! makes JetStream refuse it, and the append reads the room's last batch
//! (a direct get) and tries again, up to 16 times, then fails with
//! [`DriverError::Unreachable`]. A node remembers the last batch its own
//! appends made in each room (10,000 rooms at most), so appends from one
//! node read nothing first. On one node, appends to one room wait in a
//! queue and go out one after the other, so they never refuse each other.
//!
//! Appends are idempotent: each publish carries `Nats-Msg-Id`, the batch
//! id, and a repeat within the stream's duplicate window is acknowledged
//! as a duplicate with the sequence of the batch kept first, whose
//! headers give the position answered (see `append.rs`). Should newer
//! batches have pushed that batch out of the room already (more than
//! `size` of them since), the repeat fails with [`DriverError::Refused`]:
//! its messages were kept, but their offsets are no longer known.
//!
//! `max_msgs_per_subject` counts batches, not messages: a room stores up
//! to `size` batches and a read answers only their last `size` messages.
//! A room's epoch lives as long as one of its batches does: once all
//! expired (JetStream drops them at `max_age`), the next append starts a
//! new random epoch at offset 1.
//!
//! A read gets the room's last batch, then walks back along
//! `Switchboard-Previous` (one direct get per batch) until the messages
//! after `since` are covered, plus one direct get for the room's first
//! batch when the walk stops before it.
//!
//! Cost per append: one JetStream publish and its acknowledgement (one
//! round trip), plus one direct get when the node does not know the room's
//! last batch or another node appended since. On the wire, each batch
//! carries its subject (about 20 bytes and twice the room name), about 150
//! bytes of headers, and 4 bytes plus each message; the acknowledgement
//! is about 60 bytes. JetStream stores the subject, headers and body of
//! each batch (measured on nats-server 2.9 with 32-byte messages: about
//! 240 bytes for a one-message batch, about 570 for a ten-message one).
//!
//! The store has its own connection, opened on its first call; async-nats
//! reconnects it by itself after a loss. While it is down, calls fail at
//! once with [`DriverError::Unreachable`], and a JetStream call that gets
//! no answer fails after 2 s; what JetStream refuses is
//! [`DriverError::Refused`]. An append whose acknowledgement timed out may
//! still have been kept: a caller that retries it with the same batch id
//! within the duplicate window gets the first append's position, and
//! nothing is kept twice. An
//! append whose caller stopped waiting is still made (it waits in the
//! room's queue). JetStream's `max_age` is at least 100 ms: a shorter time
//! to live is raised to it.

mod append;
mod batch;
mod cache;
mod connection;
mod failure;
mod fetch;
mod names;
mod read;
mod writer;

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use switchboard::adapter::{BatchId, DriverError, HistoryLimits, HistoryPage, HistoryStore};
use switchboard::protocol::HistoryPosition;

use crate::config::Servers;
use cache::LastBatches;
use connection::{HistoryConnection, Target};
use names::room_subject;
use writer::Queues;

/// The room history a [`NatsDriver`](crate::NatsDriver) keeps (see the
/// module documentation for the stream, subjects, headers and costs).
pub(crate) struct NatsHistoryStore {
    inner: Arc<Inner>,
}

/// What the store's calls and its room writers share.
struct Inner {
    connection: HistoryConnection,
    prefix: String,
    limits: HistoryLimits,
    last: LastBatches,
    queues: Queues,
}

impl NatsHistoryStore {
    /// A store on `servers`, in the stream of `prefix`.
    pub(crate) fn new(servers: &Servers, prefix: &str, limits: HistoryLimits) -> Self {
        let target = Target {
            addrs: servers.addrs.clone(),
            credentials: servers.credentials.clone(),
            display: servers.display.clone(),
        };
        Self {
            inner: Arc::new(Inner {
                connection: HistoryConnection::new(target, prefix, limits),
                prefix: prefix.to_owned(),
                limits,
                last: LastBatches::default(),
                queues: Queues::default(),
            }),
        }
    }
}

impl Inner {
    /// The subject of `room`.
    fn subject(&self, room: &str) -> String {
        room_subject(&self.prefix, room)
    }
}

impl HistoryStore for NatsHistoryStore {
    fn append<'a>(
        &'a self,
        room: &'a str,
        batch: BatchId,
        messages: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<HistoryPosition, DriverError>> {
        Box::pin(async move {
            if messages.is_empty() {
                return Err(DriverError::Refused(
                    "history append: no message to keep".into(),
                ));
            }
            writer::append(&self.inner, room, batch, messages).await
        })
    }

    fn read<'a>(
        &'a self,
        room: &'a str,
        since: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<HistoryPage<Bytes>, DriverError>> {
        Box::pin(self.inner.read_page(room, since, limit))
    }
}
