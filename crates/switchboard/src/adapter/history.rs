//! Where a cluster keeps room history (PROTOCOL.md section 11): the store
//! a [`Driver`](super::Driver) offers beside its pub/sub.
//!
//! A store only keeps and reads opaque messages per room, under offsets
//! and epochs; which rooms keep history, what a message is, and how nodes
//! learn of new messages is the adapter's business.

use std::sync::Arc;

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
    fn append<'a>(
        &'a self,
        room: &'a str,
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

/// A shared handle on a store.
pub type SharedHistoryStore = Arc<dyn HistoryStore>;
