//! Sessions moving between the nodes of a cluster (PROTOCOL.md section
//! 11), as one node keeps track of them: those arriving here (asked for,
//! then adopted) and those leaving (forwarded until the new node's fence),
//! and the ids of this node's operations, which let a moving session get
//! each one once.
//!
//! The steps are in `hub/move_in.rs` and `hub/move_out.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::id::{OpId, new_node_tag};
use crate::send_queue::Outgoing;
use crate::session::shared::SocketShared;

/// The most frames forwarded to a session that is asked for but not
/// adopted yet (its link is still being admitted), and never more than its
/// send queue holds; past it the move is given up.
pub(crate) const MAX_EARLY_FRAMES: usize = 65_536;

/// A session arriving here, by the number of its move.
pub(crate) enum Arrival {
    /// Asked for: the frames the old node forwarded before the link that
    /// resumes it was attached. `None` once too many came.
    Awaited(Option<Vec<Outgoing>>),
    /// Adopted: forwarded frames go to its queue.
    Adopted(Arc<SocketShared>),
}

/// A session leaving this node: forwarded until the fence.
pub(crate) struct Leaving {
    /// The session.
    pub(crate) session: Arc<SocketShared>,
    /// Set (and notified) once the new node's fence came.
    pub(crate) fence: Arc<Fence>,
}

/// The fence of one move, as the old node sees it.
#[derive(Default)]
pub(crate) struct Fence {
    seen: AtomicBool,
    notify: Notify,
    /// The move is over here (moved, or given up).
    over: AtomicBool,
    over_notify: Notify,
}

impl Fence {
    /// The fence came.
    pub(crate) fn set(&self) {
        self.seen.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// Whether the fence came.
    pub(crate) fn is_set(&self) -> bool {
        self.seen.load(Ordering::Acquire)
    }

    /// Resolves at the next [`Fence::set`] after this call.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }

    /// The move is over on this node: the session left, or stays.
    pub(crate) fn end(&self) {
        self.over.store(true, Ordering::Release);
        self.over_notify.notify_waiters();
    }

    /// Resolves once the move is over on this node.
    pub(crate) async fn ended(&self) {
        loop {
            let notified = self.over_notify.notified();
            if self.over.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

/// The moves of one hub, and the ids of its operations.
pub(crate) struct SessionMoves {
    node_tag: u64,
    next_op: AtomicU64,
    /// Sessions arriving, by move.
    pub(crate) arriving: Mutex<HashMap<u64, Arrival>>,
    /// Sessions leaving, by move.
    pub(crate) leaving: Mutex<HashMap<u64, Leaving>>,
}

impl Default for SessionMoves {
    fn default() -> Self {
        Self {
            node_tag: new_node_tag(),
            next_op: AtomicU64::new(1),
            arriving: Mutex::default(),
            leaving: Mutex::default(),
        }
    }
}

impl SessionMoves {
    /// The fence of the move of the session of `token` away from this
    /// node, if one is going on.
    pub(crate) fn leaving_fence(&self, token: &str) -> Option<Arc<Fence>> {
        self.leaving
            .lock()
            .values()
            .find(|leaving| &*leaving.session.session == token)
            .map(|leaving| leaving.fence.clone())
    }

    /// A new id for an operation of this node.
    pub(crate) fn next_op(&self) -> OpId {
        OpId {
            node: self.node_tag,
            seq: self.next_op.fetch_add(1, Ordering::Relaxed),
        }
    }
}
