//! The cluster seam: how a hub reaches the sockets of other nodes.
//!
//! A hub does everything for its own sockets itself, and hands what must
//! cross nodes to its [`Adapter`]:
//! - [`LocalAdapter`], the default, has no other nodes: a single hub;
//! - [`ClusterAdapter`] speaks to the other nodes over a [`Driver`] (Redis in
//!   `switchboard-redis`, NATS in `switchboard-nats`, or the in-process
//!   [`MemoryBus`]), and applies what they send through this node's
//!   [`NodeHandle`], the local building block.
//!
//! ```no_run
//! # async fn run(driver: impl switchboard::adapter::Driver) -> Result<(), switchboard::SendError> {
//! use switchboard::Hub;
//! use switchboard::adapter::{ClusterAdapter, ClusterOptions};
//!
//! let hub = Hub::builder()
//!     .adapter(ClusterAdapter::new(driver, ClusterOptions::default()))
//!     .build();
//! // Reaches the room's members on every node:
//! hub.to("lobby").emit("news", "hello")?;
//! // Asks every live node (up to the request timeout):
//! let members = hub.cluster().members("lobby").await;
//! tracing::info!(?members.value, missing = ?members.missing, "lobby");
//! # Ok(())
//! # }
//! ```
//!
//! What crosses nodes: broadcasts (to all, to rooms, with `except`), raw
//! broadcasts, `send_to` an id held elsewhere,
//! [`to_sockets`](crate::Hub::to_sockets) (one message for every listed id
//! this node does not hold), relays, disconnects, acks
//! (`emit_with_ack` collects replies from every node), and the cluster-wide
//! questions of [`ClusterView`](crate::ClusterView). What stays on the node:
//! [`BroadcastOperator::local`](crate::BroadcastOperator::local), room
//! membership changes (a socket's rooms live with its node). A session
//! lives on one node, and moves to another when its client resumes there
//! (PROTOCOL.md section 11: [`Query::TakeSession`], then the old node
//! forwards what reaches it until the new node's fence).
//!
//! The node-to-node format is versioned: an operation whose [`Target`]
//! lists socket ids is written as wire version 2, which nodes of an older
//! release refuse and count as undecodable (instead of taking the target
//! for "every socket"); everything else is still written as version 1, so
//! a rolling upgrade keeps working, except that socket lists do not reach
//! the sockets of nodes not yet upgraded.
//!
//! While the backend is unreachable, each node goes on serving its own
//! sockets, and what must cross nodes waits in a bounded queue
//! ([`ClusterOptions::outbound_capacity`] operations,
//! [`ClusterOptions::outbound_bytes`] bytes): when the backend returns and
//! the other nodes have subscribed again (each heard from, or the node
//! timeout passed), it goes out in order; only what overflows the bound is
//! dropped and counted ([`ClusterStats::dropped`]). Cluster-wide answers
//! come from this node alone meanwhile and say so, and the adapter
//! reconnects and resubscribes by itself. Over pub/sub, what a node
//! published just before the backend died, or while another node's own
//! link was down, can still miss that node.

mod cluster;
mod driver;
mod history;
pub(crate) mod history_appender;
mod local;
mod memory;
mod memory_history;
mod node;
mod nodes;
mod options;
mod requests;
mod wire;
mod wire_moves;

use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

pub use cluster::ClusterAdapter;
pub use driver::{Driver, DriverError, DriverLink, DriverPublisher};
pub use history::{
    BATCH_WINDOW, BatchId, HistoryLimits, HistoryPage, HistoryStore, SharedHistoryStore,
    batch_window,
};
pub(crate) use history_appender::HistoryAppender;
pub use local::LocalAdapter;
pub use memory::MemoryBus;
pub(crate) use node::LocalNode;
pub use node::NodeHandle;
pub use options::ClusterOptions;
pub use requests::RemoteReplies;
pub use wire::{AckOutcome, KeptMessage, Operation, Query, Reply, Target};
pub use wire_moves::{ForwardedFrame, MovedSession};

pub use crate::id::OpId;

pub use crate::session::presence::{PresenceShare, PresenceSnapshot, PresenceUpdate};

/// Whether `name` can stand in a channel name as one token: 1 to 64 ASCII
/// letters, digits, `-` or `_` (valid for Redis channels and NATS subjects).
pub(crate) fn is_channel_token(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The cluster seam of a hub: what must reach other nodes goes through it.
///
/// The hub applies every operation to its own sockets first, then hands it
/// to the adapter for the others. Implement it only for a new kind of
/// cluster; for a new backend implement the much smaller [`Driver`] and use
/// [`ClusterAdapter`].
pub trait Adapter: Send + Sync + 'static {
    /// Called once, when the hub is built (inside a Tokio runtime), with
    /// the handle that applies other nodes' operations to this node.
    fn start(&self, node: NodeHandle);

    /// This node's id, unique in the cluster.
    fn node_id(&self) -> &str;

    /// Whether other nodes can exist (false for [`LocalAdapter`]).
    fn is_clustered(&self) -> bool;

    /// Sends an operation to every other node; never waits (an operation
    /// that cannot be sent is dropped and counted).
    fn publish(&self, operation: Operation);

    /// Sends an operation to the node `node` alone, after every operation
    /// this node published before it (a session's forwarded frames, say).
    /// The default publishes it to every node; the operations sent this
    /// way name the node they are for, and the others ignore them.
    fn publish_to(&self, node: &str, operation: Operation) {
        let _ = node;
        self.publish(operation);
    }

    /// Asks every other live node, and waits for their replies up to
    /// `timeout`.
    fn request(&self, query: Query, timeout: Duration) -> BoxFuture<'static, RemoteReplies>;

    /// The cluster's state as this node sees it.
    fn status(&self) -> watch::Receiver<ClusterStatus>;

    /// The adapter's counters.
    fn stats(&self) -> ClusterStats;

    /// The cluster's store of room history with these limits (PROTOCOL.md
    /// section 11), called once after [`Adapter::start`] when some room
    /// keeps history; `None` (the default): a single hub, which keeps its
    /// history in memory, or a backend without a store.
    fn history(&self, limits: HistoryLimits) -> Option<SharedHistoryStore> {
        let _ = limits;
        None
    }

    /// Leaves the cluster (announcing it) and stops the adapter's tasks;
    /// called by [`Hub::shutdown`](crate::Hub::shutdown).
    fn stop(&self) -> BoxFuture<'static, ()>;
}

/// The cluster as one node sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterStatus {
    /// Whether the backend is connected (always true for a single hub).
    pub backend_up: bool,
    /// The other nodes heard from within the node timeout, sorted; while
    /// the backend is down, the nodes known when it went away (they cannot
    /// be asked: cluster-wide answers list them as missing).
    pub peers: Vec<String>,
}

impl ClusterStatus {
    /// The live nodes, this one included.
    pub fn nodes(&self) -> usize {
        self.peers.len() + 1
    }
}

/// Counters of an adapter (all zero for a single hub).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Messages published to the backend.
    pub published: u64,
    /// Messages received from other nodes.
    pub received: u64,
    /// Operations that could not cross nodes: over the outbound bounds
    /// (an outage's backlog is kept within them) or refused by the backend.
    pub dropped: u64,
    /// Bytes of operations waiting to be published now (an outage's
    /// backlog).
    pub queued_bytes: u64,
    /// Messages from other nodes that could not be read.
    pub undecodable: u64,
    /// Successful connections to the backend after the first.
    pub reconnects: u64,
    /// Requests where at least one live node did not answer in time.
    pub incomplete_requests: u64,
}
