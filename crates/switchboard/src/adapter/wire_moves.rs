//! What crosses the cluster when a session moves to another node
//! (PROTOCOL.md section 11, "A session moves"; the steps are in
//! `hub/move_in.rs` and `hub/move_out.rs`).

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::id::OpId;

/// The session a node hands over, in its answer to
/// [`Query::TakeSession`](super::Query::TakeSession).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedSession {
    /// The socket id, which the session keeps.
    pub socket: String,
    /// Its user (`None`: anonymous).
    pub user: Option<String>,
    /// The rooms it is in.
    pub rooms: Vec<String>,
    /// How many messages after the client's `last` the old node replays
    /// (they follow as [`Operation::SessionForward`](super::Operation::SessionForward)).
    pub missed: u64,
    /// The operations the session already got on the old node (those of
    /// its resume buffer): the taking node does not deliver them again.
    pub seen: Vec<OpId>,
}

/// One frame queued for a moving session on its old node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForwardedFrame {
    /// The frame as the client gets it (in the session's codec).
    pub bytes: Bytes,
    /// Whether it goes in a binary frame.
    pub binary: bool,
    /// The cluster operation it belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<OpId>,
}
