//! This node's side of the cluster: applying other nodes' operations to the
//! local sockets, and answering their questions.

use std::sync::Weak;

use futures_util::future::BoxFuture;
use switchboard_protocol::CloseCode;

use super::{AckOutcome, Operation, Query, Reply};
use crate::broadcast::BroadcastOperator;
use crate::error::AckError;
use crate::hub::handle::{Hub, HubInner};

/// A handle on this node's own sockets, given to an [`Adapter`](super::Adapter)
/// at start: everything it does stays on this node. Holds the hub weakly,
/// so an adapter never keeps a dropped hub alive.
#[derive(Clone)]
pub struct NodeHandle {
    hub: Weak<HubInner>,
}

impl std::fmt::Debug for NodeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle").finish_non_exhaustive()
    }
}

impl NodeHandle {
    pub(crate) fn new(hub: Weak<HubInner>) -> Self {
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
        self.hub()?.config().namespace.clone()
    }

    fn hub(&self) -> Option<Hub> {
        self.hub.upgrade().map(|inner| Hub { inner })
    }

    /// Applies another node's operation to this node's sockets; returns
    /// how many sockets it reached (0 once the hub is gone).
    pub fn apply(&self, operation: Operation) -> usize {
        let Some(hub) = self.hub() else { return 0 };
        match operation {
            Operation::Broadcast { target, message } => {
                BroadcastOperator::for_target(hub, target).send_message(&message)
            }
            Operation::BroadcastRaw {
                target,
                frame,
                binary,
            } => BroadcastOperator::for_target(hub, target).send_raw(frame, binary),
            Operation::SendTo { socket, message } => match hub.socket(&socket) {
                Some(socket) => usize::from(socket.send_message(&message).is_ok()),
                None => 0,
            },
            Operation::Disconnect { target, code } => match CloseCode::from_u16(code) {
                Some(code) => BroadcastOperator::for_target(hub, target).disconnect(code),
                None => {
                    tracing::warn!(
                        code,
                        "cluster disconnect with an unknown close code ignored"
                    );
                    0
                }
            },
        }
    }

    /// Answers another node's question about this node's sockets.
    pub fn answer(&self, query: Query) -> BoxFuture<'static, Reply> {
        let hub = self.hub();
        Box::pin(async move {
            let Some(hub) = hub else {
                return empty_reply(&query);
            };
            match query {
                Query::Members { room } => Reply::Names(hub.members(&room)),
                Query::RoomsOf { socket } => Reply::Names(hub.rooms_of(&socket)),
                Query::Count => Reply::Count(hub.count() as u64),
                Query::DisconnectSocket { socket, code } => {
                    let code = CloseCode::from_u16(code).unwrap_or(CloseCode::Kicked);
                    Reply::Found(hub.disconnect(&socket, code))
                }
                Query::Ack {
                    target,
                    message,
                    timeout,
                } => {
                    let replies = BroadcastOperator::for_target(hub, target)
                        .local_acks(&message, timeout)
                        .await;
                    Reply::Acks(
                        replies
                            .into_iter()
                            .map(|(id, result)| (id, AckOutcome::from_result(result)))
                            .collect(),
                    )
                }
            }
        })
    }
}

/// The answer of a node that holds nothing.
fn empty_reply(query: &Query) -> Reply {
    match query {
        Query::Members { .. } | Query::RoomsOf { .. } => Reply::Names(Vec::new()),
        Query::Count => Reply::Count(0),
        Query::DisconnectSocket { .. } => Reply::Found(false),
        Query::Ack { .. } => Reply::Acks(Vec::new()),
    }
}

impl AckOutcome {
    fn from_result(result: Result<serde_json::Value, AckError>) -> Self {
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
