//! This node's side of the cluster, as an adapter sees it: a handle on the
//! local sockets that applies other nodes' operations and answers their
//! questions. The hub implements it (`hub/node.rs`).

use std::sync::{Arc, Weak};

use futures_util::future::BoxFuture;

use switchboard_protocol::HistoryPosition;

use super::{AckOutcome, KeptMessage, Operation, PresenceSnapshot, Query, Reply};
use crate::error::AckError;

/// What a node does for the cluster with its own sockets; the hub
/// implements it.
pub(crate) trait LocalNode: Send + Sync + 'static {
    /// The hub's namespace, if it has one.
    fn namespace(&self) -> Option<String>;
    /// Applies another node's operation to this node's sockets; returns
    /// how many sockets it reached.
    fn apply(self: Arc<Self>, operation: Operation) -> usize;
    /// Answers another node's question about this node's sockets.
    fn answer(self: Arc<Self>, query: Query) -> BoxFuture<'static, Reply>;
    /// The number of this node's last presence change; `None` when the
    /// hub keeps no presence.
    fn presence_seq(&self) -> Option<u64>;
    /// Whether this node misses presence changes of `node`, whose last is
    /// `announced`.
    fn presence_behind(&self, node: &str, announced: u64) -> bool;
    /// Merges `node`'s presence snapshot.
    fn presence_snapshot(self: Arc<Self>, node: &str, snapshot: PresenceSnapshot);
    /// Forgets `node` (it left, or fell silent): its users leave.
    fn node_gone(self: Arc<Self>, node: &str);
    /// The backend is back after an outage: what this node follows of the
    /// backend's history is read again.
    fn backend_returned(self: Arc<Self>);
    /// The store numbered these messages of a history room, which this
    /// node sent: deliver them here and publish them.
    fn history_kept(
        self: Arc<Self>,
        room: &str,
        place: HistoryPosition,
        messages: Vec<KeptMessage>,
    );
    /// Messages to history rooms could not be kept (counted).
    fn history_dropped(&self, messages: u64);
}

/// A handle on this node's own sockets, given to an [`Adapter`](super::Adapter)
/// at start: everything it does stays on this node. Holds the hub weakly,
/// so an adapter never keeps a dropped hub alive.
#[derive(Clone)]
pub struct NodeHandle {
    hub: Weak<dyn LocalNode>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").finish_non_exhaustive()
    }
}

impl NodeHandle {
    pub(crate) fn new(hub: Weak<dyn LocalNode>) -> Self {
        Self { hub }
    }

    /// Whether the hub still exists.
    pub fn is_alive(&self) -> bool {
        self.hub.strong_count() > 0
    }

    /// The hub's namespace ([`HubBuilder::namespace`](crate::HubBuilder::namespace)),
    /// if it has one and still exists: an adapter keeps the traffic of
    /// each namespace apart.
    pub fn namespace(&self) -> Option<String> {
        self.hub.upgrade()?.namespace()
    }

    /// Applies another node's operation to this node's sockets; returns
    /// how many sockets it reached (0 once the hub is gone).
    pub fn apply(&self, operation: Operation) -> usize {
        match self.hub.upgrade() {
            Some(hub) => hub.apply(operation),
            None => 0,
        }
    }

    /// Answers another node's question about this node's sockets.
    pub fn answer(&self, query: Query) -> BoxFuture<'static, Reply> {
        match self.hub.upgrade() {
            Some(hub) => hub.answer(query),
            None => Box::pin(std::future::ready(empty_reply(&query))),
        }
    }
}

impl NodeHandle {
    /// The number of this node's last presence change (PROTOCOL.md section
    /// 10), for its heartbeats; `None` when the hub keeps no presence (or
    /// is gone).
    pub fn presence_seq(&self) -> Option<u64> {
        self.hub.upgrade()?.presence_seq()
    }

    /// Whether this node misses presence changes of `node`, whose
    /// heartbeat says its last change is `announced`: then ask the cluster
    /// for [`Query::Presence`] and hand each reply to
    /// [`NodeHandle::presence_snapshot`]. Heartbeats must reach the other
    /// nodes after the [`Operation::Presence`] they count, in order.
    pub fn presence_behind(&self, node: &str, announced: u64) -> bool {
        self.hub
            .upgrade()
            .is_some_and(|hub| hub.presence_behind(node, announced))
    }

    /// Merges `node`'s presence snapshot (its [`Reply::Presence`]).
    pub fn presence_snapshot(&self, node: &str, snapshot: PresenceSnapshot) {
        if let Some(hub) = self.hub.upgrade() {
            hub.presence_snapshot(node, snapshot);
        }
    }

    /// Tells the hub its backend is back after an outage (it reads again
    /// the room history it follows: what other nodes published meanwhile
    /// never reached it).
    pub fn backend_returned(&self) {
        if let Some(hub) = self.hub.upgrade() {
            hub.backend_returned();
        }
    }

    /// The store numbered `messages` of `room` from `place`, which this
    /// node sent (its [`HistoryAppender`](super::HistoryAppender)): the
    /// hub delivers them here and publishes them to the other nodes.
    pub(crate) fn history_kept(
        &self,
        room: &str,
        place: HistoryPosition,
        messages: Vec<KeptMessage>,
    ) {
        if let Some(hub) = self.hub.upgrade() {
            hub.history_kept(room, place, messages);
        }
    }

    /// Messages to history rooms could not be kept: the hub counts them.
    pub(crate) fn history_dropped(&self, messages: u64) {
        if let Some(hub) = self.hub.upgrade() {
            hub.history_dropped(messages);
        }
    }

    /// Forgets `node`, which left or fell silent past the node timeout:
    /// its users leave the presence of this node's rooms (`$left`).
    pub fn node_gone(&self, node: &str) {
        if let Some(hub) = self.hub.upgrade() {
            hub.node_gone(node);
        }
    }
}

/// The answer of a node that holds nothing.
fn empty_reply(query: &Query) -> Reply {
    match query {
        Query::Members { .. } | Query::RoomsOf { .. } => Reply::Names(Vec::new()),
        Query::Count => Reply::Count(0),
        Query::DisconnectSocket { .. } => Reply::Found(false),
        Query::Ack { .. } => Reply::Acks(Vec::new()),
        Query::UserSockets { .. } => Reply::Names(Vec::new()),
        Query::DisconnectUser { .. } => Reply::Count(0),
        Query::Presence => Reply::Presence(PresenceSnapshot::default()),
        Query::TakeSession { .. } => Reply::Session(None),
    }
}

impl AckOutcome {
    /// A local ack's result, as it crosses to the asking node.
    pub(crate) fn from_result(result: Result<serde_json::Value, AckError>) -> Self {
        match result {
            Ok(value) => AckOutcome::Data(value),
            Err(AckError::Remote(body)) => AckOutcome::Error(body),
            Err(AckError::Timeout(_)) => AckOutcome::Timeout,
            Err(AckError::Disconnected) => AckOutcome::Disconnected,
            Err(other) => AckOutcome::Failed(other.to_string()),
        }
    }

    /// The outcome as the local `emit_with_ack` reports it.
    pub(crate) fn into_result(
        self,
        timeout: std::time::Duration,
    ) -> Result<serde_json::Value, AckError> {
        match self {
            AckOutcome::Data(value) => Ok(value),
            AckOutcome::Error(body) => Err(AckError::Remote(body)),
            AckOutcome::Timeout => Err(AckError::Timeout(timeout)),
            AckOutcome::Disconnected => Err(AckError::Disconnected),
            AckOutcome::Failed(message) => Err(AckError::Cluster(message)),
        }
    }
}
