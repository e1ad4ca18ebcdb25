//! Where a cluster keeps room history (PROTOCOL.md section 11): the store
//! a [`Driver`](super::Driver) offers beside its pub/sub.
//!
//! A store only keeps and reads opaque messages per room, under offsets
//! and epochs; which rooms keep history, what a message is, and how nodes
//! learn of new messages is the adapter's business.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use switchboard_protocol::HistoryPosition;

use super::DriverError;
pub use crate::session::history::{HistoryLimits, HistoryPage};

/// A backend's store of room history, shared by every node of a cluster.
///
/// The contract every implementation keeps (the testkit's
/// `history_store` conformance tests check it):
/// - each room has an epoch and offsets that go up by one per message
///   within it, from 1; [`HistoryStore::append`] gives a batch consecutive
///   offsets as one step, so two nodes appending to one room at once never
///   get the same offset and never interleave within a batch;
/// - a room keeps its last [`HistoryLimits::size`] messages, each for at
///   most [`HistoryLimits::ttl`]; its epoch lives as long as one of its
///   messages does: once none is kept, the next append starts a new,
///   random epoch at offset 1 (so after a backend restart that lost its
///   data, offsets never go back within an epoch);
/// - appends are idempotent by batch id: an append repeated with the same
///   [`BatchId`] within [`batch_window`] of the first (the history's time
///   to live, at most [`BATCH_WINDOW`]) answers the first append's
///   position and keeps nothing new, whichever node repeats it; an append
///   with another id keeps its messages again. (A repeat after the window
///   is a new append: the appender's retries of a batch stop being safe
///   once an outage outlasts it.)
/// - a read answers the room's epoch, latest offset and oldest kept offset
///   with the messages asked for; a room with nothing kept reads as
///   [`HistoryPage::empty`].
///
/// Errors: [`DriverError::Unreachable`] when the backend cannot be reached
/// now (the caller retries later); [`DriverError::Refused`] when it
/// refused the operation.
pub trait HistoryStore: Send + Sync + 'static {
    /// Keeps `messages` (at least one) as `room`'s next messages, in order;
    /// answers the room's epoch and the offset given to the first of them
    /// (the others follow by one).
    ///
    /// `batch` names this batch: the caller picks it once
    /// ([`BatchId::random`]) and passes it again on every retry of the same
    /// messages, so that a retry of an append that was kept but whose
    /// answer was lost (a cut link, a timeout) answers the first append's
    /// position instead of keeping the messages twice (see the contract
    /// above). Ids are random, so unique across rooms too: a caller never
    /// gives one batch's id to another (a store may remember ids per room,
    /// or across rooms as JetStream does).
    fn append<'a>(
        &'a self,
        room: &'a str,
        batch: BatchId,
        messages: Vec<Bytes>,
    ) -> BoxFuture<'a, Result<HistoryPosition, DriverError>>;

    /// The messages of `room` after offset `since`, oldest first, at most
    /// `limit` of them, with the room's epoch, latest offset and oldest
    /// kept offset (whatever the epoch `since` was read in: the caller
    /// compares epochs).
    fn read<'a>(
        &'a self,
        room: &'a str,
        since: u64,
        limit: usize,
    ) -> BoxFuture<'a, Result<HistoryPage<Bytes>, DriverError>>;
}

/// How long a store remembers a batch id at most (see [`batch_window`]):
/// longer than an appender keeps retrying through a usual outage, short
/// enough that a busy cluster's ids take little room (one small record per
/// batch for this long). JetStream's default duplicate window is as long.
pub const BATCH_WINDOW: Duration = Duration::from_secs(120);

/// How long a store with `limits` remembers a batch id: the history's
/// time to live, at most [`BATCH_WINDOW`]. Never longer than the time to
/// live, so that a repeat never answers a position in an epoch the room no
/// longer has (once its messages all expired, a repeat is a new append).
pub fn batch_window(limits: &HistoryLimits) -> Duration {
    limits.ttl.min(BATCH_WINDOW)
}

/// The id of one batch of [`HistoryStore::append`]: 128 random bits,
/// chosen once per batch and reused on each retry of it. Written as 32
/// lowercase hex digits (in Redis keys and JetStream's `Nats-Msg-Id`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchId(u128);

impl BatchId {
    /// A new random id.
    pub fn random() -> Self {
        Self(rand::random())
    }

    /// The id with these bits (tests pick theirs).
    pub const fn from_u128(bits: u128) -> Self {
        Self(bits)
    }

    /// Its bits.
    pub const fn as_u128(self) -> u128 {
        self.0
    }
}

impl fmt::Display for BatchId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

/// A shared handle on a store.
pub type SharedHistoryStore = Arc<dyn HistoryStore>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_ids_are_random_and_written_in_hex() {
        assert_ne!(BatchId::random(), BatchId::random());
        assert_eq!(
            BatchId::from_u128(0xab).to_string(),
            "000000000000000000000000000000ab"
        );
        assert_eq!(BatchId::from_u128(u128::MAX).to_string().len(), 32);
        let short = HistoryLimits {
            size: 1,
            ttl: Duration::from_secs(5),
        };
        assert_eq!(batch_window(&short), Duration::from_secs(5));
        let long = HistoryLimits {
            size: 1,
            ttl: Duration::from_secs(3600),
        };
        assert_eq!(batch_window(&long), BATCH_WINDOW);
    }
}
