//! A session moving here from another node (PROTOCOL.md section 11, "A
//! session moves"), on the side of the node that takes it over:
//!
//! 1. A link asks to resume a session this node does not hold: before its
//!    authentication hook runs, the node asks the cluster for it
//!    ([`Query::TakeSession`]). The node holding it answers with the
//!    session ([`MovedSession`]), closes its old link (`4002`) and from
//!    then on forwards whatever reaches the session
//!    ([`Operation::SessionForward`]), the messages the client missed
//!    first.
//! 2. When the link is attached, the session is opened here with its id,
//!    user and rooms, numbering on from the client's `last`
//!    ([`Hub::adopt_session`]); then the node publishes the move's fence
//!    ([`Operation::SessionMoved`]) on the channel every node reads in one
//!    order.
//! 3. The old node forwards until it reads the fence, then says so
//!    ([`Operation::SessionForwarded`]) and forgets the session.
//!
//! Every operation that reaches the session's rooms (or id, or user) is
//! read by both nodes in the same order: those before the fence reached
//! the session on the old node, which forwards them; those after reach it
//! here. This node may also deliver some of those before the fence (it
//! joined the rooms just before publishing it): its own deliveries are held
//! back until the forwarding ends, and those the old node forwarded (by
//! operation id, [`OpId`](crate::id::OpId)) are dropped. So the client gets
//! every message once, in order.

use std::sync::Arc;
use std::time::Duration;

use switchboard_protocol::Codec;
use tokio::time::Instant;

use crate::adapter::{ForwardedFrame, MovedSession, Operation, Query, Reply};
use crate::hub::handle::Hub;
use crate::send_queue::{Outgoing, PushError};
use crate::session::handshake::Handshake;
use crate::session::identity::{GrantOrigin, Identity, UserGrant};
use crate::session::moves::{Arrival, MAX_EARLY_FRAMES};
use crate::session::shared::SocketShared;

/// How long a move may take: the old node waits this long for the fence,
/// and this node for the end of the forwarding (or for the link to be
/// attached) before it gives up.
pub(crate) const MOVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long after the forwarding ended this node still drops its
/// deliveries of the operations the old node forwarded (one may reach it
/// just after the end).
const SEEN_GRACE: Duration = Duration::from_secs(5);

/// A session another node hands over to a link being admitted here; rides
/// in the link's app data to [`Hub::attach_link`].
#[derive(Debug, Clone)]
pub(crate) struct PendingMove {
    moving: u64,
    token: String,
    last: u64,
    snapshot: Arc<MovedSession>,
}

impl PendingMove {
    /// The socket id the session keeps.
    pub(crate) fn socket_id(&self) -> &str {
        &self.snapshot.socket
    }
}

impl Hub {
    /// Asks the cluster for the session of `token` when this node does not
    /// hold it, for a link that resumes it with `last` in `codec`; `user`
    /// is the link's user when known before the authentication hook (see
    /// [`Query::TakeSession`]). Returns the hand-over, or `None` (no node
    /// has it, or a single hub): the link then gets a new session.
    pub(crate) async fn ask_for_session(
        &self,
        token: &str,
        last: u64,
        codec: Codec,
        user: Option<Option<String>>,
    ) -> Option<PendingMove> {
        let inner = &self.inner;
        if !inner.adapter.is_clustered()
            || inner.raw
            || inner.config.resume_buffer == 0
            || self.is_shutting_down()
            || !crate::id::is_session_token(token)
        {
            return None;
        }
        // A session leaving this node (its client came back before the
        // move was over) is asked for once it has left.
        if let Some(fence) = inner.moves.leaving_fence(token) {
            let _ = tokio::time::timeout(MOVE_TIMEOUT, fence.ended()).await;
        }
        if inner.sessions.get(token).is_some() {
            return None;
        }
        let moving = rand::random::<u64>();
        inner
            .moves
            .arriving
            .lock()
            .insert(moving, Arrival::Awaited(Some(Vec::new())));
        let query = Query::TakeSession {
            session: token.to_owned(),
            last,
            msgpack: codec == Codec::MsgPack,
            user,
            to: self.node_id().to_owned(),
            moving,
        };
        let replies = inner
            .adapter
            .request(query, self.cluster_request_timeout())
            .await;
        let snapshot = replies
            .replies
            .into_iter()
            .find_map(|(_, reply)| match reply {
                Reply::Session(Some(snapshot)) => Some(snapshot),
                _ => None,
            });
        let Some(snapshot) = snapshot else {
            inner.moves.arriving.lock().remove(&moving);
            return None;
        };
        tracing::debug!(socket = %snapshot.socket, "session handed over by another node");
        // A link that never comes to be attached gives the move up.
        let hub = Arc::downgrade(&self.inner);
        self.spawn(async move {
            tokio::time::sleep(MOVE_TIMEOUT).await;
            if let Some(inner) = hub.upgrade() {
                let mut arriving = inner.moves.arriving.lock();
                if matches!(arriving.get(&moving), Some(Arrival::Awaited(_))) {
                    arriving.remove(&moving);
                    tracing::warn!(moving, "a session handed over here was never resumed");
                }
            }
        });
        Some(PendingMove {
            moving,
            token: token.to_owned(),
            last,
            snapshot: Arc::new(snapshot),
        })
    }

    /// Opens here the session `pending` brought, for the link being
    /// attached (its `extensions`, `handshake` and user's `grant`), then
    /// publishes the move's fence; returns how many missed messages the old
    /// node replays. `None` when the link's user is not the session's, or
    /// the move was given up: the link gets a new session (and the old
    /// node, which never sees the fence, keeps the session).
    pub(crate) fn adopt_session(
        &self,
        pending: PendingMove,
        codec: Codec,
        extensions: http::Extensions,
        handshake: Arc<Handshake>,
        grant: Option<(UserGrant, GrantOrigin)>,
    ) -> Option<u64> {
        let inner = &self.inner;
        let PendingMove {
            moving,
            token,
            last,
            snapshot,
        } = pending;
        let user = grant.as_ref().map(|(grant, _)| grant.user.as_str());
        let still_awaited = matches!(
            inner.moves.arriving.lock().get(&moving),
            Some(Arrival::Awaited(Some(_)))
        );
        if user != snapshot.user.as_deref() || !still_awaited {
            tracing::debug!(socket = %snapshot.socket, "handed-over session not adopted");
            inner.moves.arriving.lock().remove(&moving);
            return None;
        }
        let session = Arc::new(
            SocketShared::new(
                snapshot.socket.clone(),
                token,
                codec,
                (
                    inner.config.send_queue_capacity,
                    (inner.config.resume_buffer, inner.config.resume_buffer_bytes),
                ),
                extensions,
                handshake,
                inner.stats.clone(),
            )
            .with_identity(grant.map(|(grant, origin)| Identity::from_grant(grant, origin)))
            .with_coalescing(!inner.config.broadcast_coalesce.is_zero()),
        );
        session.queue.begin_move_in(last, snapshot.seen.clone());
        inner.sockets.insert(session.clone());
        inner.sessions.insert(session.clone());
        inner.users.add(&session);
        inner.session_opened();
        inner.stats.connection_opened();
        inner.stats.session_moved_in();
        if session.identity.is_some() {
            self.watch_token_expiry(&session);
        }
        for room in &snapshot.rooms {
            let (_, presence) = inner.rooms.join(room, &session);
            self.tell_presence(presence);
        }
        self.detach_arrival(&session);
        {
            let mut arriving = inner.moves.arriving.lock();
            if let Some(Arrival::Awaited(Some(early))) = arriving.remove(&moving) {
                for frame in early {
                    self.push_forwarded(&session, frame);
                }
            }
            arriving.insert(moving, Arrival::Adopted(session.clone()));
        }
        tracing::debug!(socket = %session.id, moving, "session adopted: fence published");
        inner.adapter.publish(Operation::SessionMoved {
            moving,
            socket: snapshot.socket.clone(),
        });
        let hub = Arc::downgrade(&self.inner);
        self.spawn(async move {
            tokio::time::sleep(MOVE_TIMEOUT).await;
            if let Some(inner) = hub.upgrade()
                && (Hub { inner }).forwarding_ended(moving)
            {
                tracing::warn!(
                    moving,
                    "a moving session's old node never ended its forwarding"
                );
            }
        });
        Some(snapshot.missed)
    }

    /// Frames the old node of a moving session forwarded to this node.
    pub(crate) fn apply_forward(&self, to: &str, moving: u64, frames: Vec<ForwardedFrame>) {
        if to != self.node_id() {
            return;
        }
        let mut arriving = self.inner.moves.arriving.lock();
        let frames = frames
            .into_iter()
            .map(|f| Outgoing::with_op(f.bytes, f.binary, f.op));
        match arriving.get_mut(&moving) {
            Some(Arrival::Awaited(Some(early))) => {
                early.extend(frames);
                if early.len() > MAX_EARLY_FRAMES.min(self.inner.config.send_queue_capacity) {
                    tracing::warn!(
                        moving,
                        "too many frames for a session not resumed yet: move given up"
                    );
                    arriving.insert(moving, Arrival::Awaited(None));
                }
            }
            Some(Arrival::Adopted(session)) => {
                let session = session.clone();
                for frame in frames {
                    self.push_forwarded(&session, frame);
                }
            }
            _ => {}
        }
    }

    /// The old node of a moving session forwarded everything: what this
    /// node held back goes. Returns whether the move was still going on.
    pub(crate) fn forwarding_ended(&self, moving: u64) -> bool {
        let arrival = self.inner.moves.arriving.lock().remove(&moving);
        let Some(Arrival::Adopted(session)) = arrival else {
            tracing::debug!(moving, "the end of a forwarding for no session moving here");
            return false;
        };
        tracing::debug!(socket = %session.id, "the old node forwarded everything");
        let result = session.queue.end_move_in(Instant::now() + SEEN_GRACE);
        self.account_push(&session, result);
        true
    }

    fn push_forwarded(&self, session: &SocketShared, frame: Outgoing) {
        let result = session.queue.push_forwarded(frame);
        self.account_push(session, result);
    }

    /// Counts what a push did to a detached session's buffer, or applies
    /// the slow-consumer rule to a push that did not fit.
    fn account_push(&self, session: &SocketShared, result: Result<isize, PushError>) {
        match result {
            Ok(growth) => self.inner.stats.detached.change(growth),
            Err(PushError::Full) => session.overflowed(),
            Err(_) => {}
        }
    }
}
