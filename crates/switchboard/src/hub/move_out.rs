//! A session moving from here to another node (PROTOCOL.md section 11),
//! on the side of the node that held it (the steps are told in
//! `move_in.rs`): it hands the session over, forwards what reaches it
//! until the new node's fence, then forgets it without running the
//! disconnect handler (the session goes on there).
//!
//! The forwarding is a link like any other: the session's queue gets a
//! new link (which closes the client's old one with `4002`, and queues the
//! messages the client missed), and this link's writer publishes what it
//! takes to the new node instead of writing to a socket.

use std::sync::Arc;

use bytes::Bytes;
use switchboard_protocol::{CloseCode, Codec};
use tokio::time::Instant;

use super::move_in::MOVE_TIMEOUT;
use crate::adapter::{ForwardedFrame, MovedSession, Operation, Reply};
use crate::error::DisconnectReason;
use crate::hub::handle::Hub;
use crate::send_queue::Outgoing;
use crate::session::moves::{Fence, Leaving};
use crate::session::shared::SocketShared;

/// How long the old node keeps forwarding after the fence (see
/// [`Hub::fence_seen`]).
const FENCE_GRACE: std::time::Duration = std::time::Duration::from_millis(50);

/// The longest the old node keeps forwarding, past the fence's grace,
/// while it holds messages of one of the session's history rooms back
/// behind a gap (received before the fence, so not the new node's to
/// give), and how often it looks.
const GAP_SETTLE: std::time::Duration = std::time::Duration::from_secs(1);
const GAP_LOOK: std::time::Duration = std::time::Duration::from_millis(10);

/// How long the forwarding waits after sending frames, so that those
/// coming meanwhile go in one operation.
const FORWARD_BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(2);

/// A [`Query::TakeSession`](crate::adapter::Query::TakeSession), as the
/// node holding the session reads it.
pub(crate) struct TakeSession {
    pub(crate) token: String,
    pub(crate) last: u64,
    pub(crate) msgpack: bool,
    pub(crate) user: Option<Option<String>>,
    pub(crate) to: String,
    pub(crate) moving: u64,
}

impl Hub {
    /// Hands the session of `ask.token` over to node `ask.to`, if this
    /// node holds it and the resume is one it would take itself (same
    /// codec and user, `last` within its resume buffer). A session still
    /// moving here is handed over once that move is over.
    pub(crate) async fn hand_over(&self, ask: TakeSession) -> Reply {
        let inner = &self.inner;
        let Some(session) = inner.sessions.get(&ask.token) else {
            return Reply::Session(None);
        };
        // A session still moving here moves on once that move is over
        // (what this node holds back for it would be left behind), within
        // the time the asking node waits for answers.
        let deadline = Instant::now() + self.cluster_request_timeout();
        while session.queue.is_moving_in() && Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let codec = if ask.msgpack {
            Codec::MsgPack
        } else {
            Codec::Json
        };
        let user = session.identity.as_ref().map(|i| i.user().to_owned());
        let same_user = ask.user.as_ref().is_none_or(|asked| *asked == user);
        // A session already moving away (two resumes at once) moves once.
        let leaving = inner.moves.leaving_fence(&ask.token).is_some();
        if inner.raw
            || session.codec != codec
            || !same_user
            || leaving
            || session.closed_reason().is_some()
        {
            return Reply::Session(None);
        }
        // The forwarding link: it supersedes the client's link (`4002`)
        // and takes the session out of the detached ledger. Its first
        // frame stands for the `$welcome`, which the new node writes.
        let attached = self.resume_detached(&session, || {
            session
                .queue
                .attach(Some(ask.last), |_| Outgoing::new(Bytes::new(), false))
                .map(|(link, missed, released)| ((link, missed), released))
        });
        let Ok((link, missed)) = attached else {
            return Reply::Session(None);
        };
        let snapshot = MovedSession {
            socket: session.id.to_string(),
            user,
            rooms: self.socket_handle(session.clone()).rooms(),
            missed,
            seen: session.queue.ops_kept(),
        };
        // The new node watches the resuming link's token: a `4003` here
        // would keep what reaches the session from the forwarding.
        if session.identity.is_some() {
            inner.token_expiries.forget(&session.id);
        }
        let fence = Arc::new(Fence::default());
        inner.moves.leaving.lock().insert(
            ask.moving,
            Leaving {
                session: session.clone(),
                fence: fence.clone(),
            },
        );
        tracing::debug!(socket = %session.id, to = %ask.to, "handing the session over");
        let hub = self.clone();
        self.spawn(async move {
            hub.forward(session, link, ask.to, ask.moving, fence).await;
        });
        Reply::Session(Some(snapshot))
    }

    /// The fence of move `moving` came, in the order of the `all` channel:
    /// the session leaves this node's rooms and tables now (what reaches
    /// them from here on reaches it on the new node), and its forwarding
    /// ends.
    pub(crate) fn fence_seen(&self, moving: u64) {
        let inner = &self.inner;
        let Some((session, fence)) = inner
            .moves
            .leaving
            .lock()
            .get(&moving)
            .map(|l| (l.session.clone(), l.fence.clone()))
        else {
            return;
        };
        tracing::debug!(socket = %session.id, moving, "fence seen: the session leaves");
        // Not every backend delivers the messages of two publishers in one
        // order to every node (a NATS server may not): what another node
        // published just before the fence can reach this node just after
        // it, having reached the new node before the session was there.
        // The session stays a little longer, and what reaches it is still
        // forwarded (the new node drops what it delivered itself).
        // Messages of a history room this node received before the fence
        // but holds behind a gap are this node's to give, once the gap is
        // filled: the session waits for them too (within `GAP_SETTLE`).
        let hub = self.clone();
        self.spawn(async move {
            tokio::time::sleep(FENCE_GRACE).await;
            let settle = Instant::now() + GAP_SETTLE;
            loop {
                let rooms: Vec<Arc<str>> = session.rooms.lock().names.iter().cloned().collect();
                if Instant::now() >= settle || !hub.history_gap_in(&rooms) {
                    break;
                }
                tokio::time::sleep(GAP_LOOK).await;
            }
            hub.leave_after_fence(&session, &fence);
        });
    }

    /// The session leaves this node's rooms and tables, and its
    /// forwarding ends (after the fence's grace).
    fn leave_after_fence(&self, session: &Arc<SocketShared>, fence: &Fence) {
        let inner = &self.inner;
        let presence = inner.rooms.leave_for_good(session);
        self.tell_presence(presence);
        inner.sockets.remove_session(session);
        inner.sessions.remove_session(session);
        inner.users.remove(session);
        if session.identity.is_some() {
            inner.token_expiries.forget(&session.id);
        }
        fence.set();
    }

    /// Publishes what reaches the leaving session to node `to`, until the
    /// fence (then the session ends here) or [`MOVE_TIMEOUT`] (then the
    /// move is given up: the session waits for a resume here again).
    async fn forward(
        &self,
        session: Arc<SocketShared>,
        link: u64,
        to: String,
        moving: u64,
        fence: Arc<Fence>,
    ) {
        let adapter = self.inner.adapter.clone();
        let deadline = Instant::now() + MOVE_TIMEOUT;
        let mut welcome = true;
        loop {
            if Instant::now() >= deadline && !fence.is_set() {
                tracing::warn!(socket = %session.id, "no fence from the node taking the session over: it stays here");
                self.inner.moves.leaving.lock().remove(&moving);
                self.link_ended(
                    &session,
                    link,
                    DisconnectReason::TransportError("session move timed out".into()),
                );
                fence.end();
                return;
            }
            let changed = session.queue.changed();
            let fence_changed = fence.changed();
            let fenced = fence.is_set();
            let drained = session.queue.try_drain(link);
            let mut frames = drained.frames;
            if welcome && !drained.superseded {
                frames.pop_front();
                welcome = false;
            }
            let forwarded = !frames.is_empty();
            if forwarded {
                let frames = frames
                    .iter()
                    .map(|frame| ForwardedFrame {
                        bytes: frame.bytes().clone(),
                        binary: frame.is_binary(),
                        op: frame.op(),
                    })
                    .collect();
                adapter.publish_to(
                    &to,
                    Operation::SessionForward {
                        to: to.clone(),
                        moving,
                        frames,
                    },
                );
            }
            if fenced {
                self.moved_away(&session, &to, moving);
                fence.end();
                return;
            }
            let closing = drained.close.is_some_and(CloseCode::ends_session) || drained.abort;
            if drained.superseded || closing {
                // Resumed here again, kicked or aborted meanwhile: the
                // move ends here; the new node's copy waits out its
                // resume window.
                tracing::debug!(socket = %session.id, "a session's move was interrupted");
                adapter.publish_to(
                    &to,
                    Operation::SessionForwarded {
                        to: to.clone(),
                        moving,
                    },
                );
                self.inner.moves.leaving.lock().remove(&moving);
                fence.end();
                if !drained.superseded {
                    self.link_ended(&session, link, DisconnectReason::Aborted);
                }
                return;
            }
            if forwarded {
                // Frames that come meanwhile go together: one operation
                // per frame would crowd this node's outbound queue.
                tokio::select! {
                    () = tokio::time::sleep(FORWARD_BATCH_WAIT) => {}
                    () = fence_changed => {}
                }
                continue;
            }
            tokio::select! {
                () = changed => {}
                () = fence_changed => {}
                () = tokio::time::sleep_until(deadline) => {}
            }
        }
    }

    /// The session moved to `to` for good: the forwarding ends, and the
    /// session ends here without its disconnect handler.
    fn moved_away(&self, session: &Arc<SocketShared>, to: &str, moving: u64) {
        let inner = &self.inner;
        inner.adapter.publish_to(
            to,
            Operation::SessionForwarded {
                to: to.to_owned(),
                moving,
            },
        );
        inner.moves.leaving.lock().remove(&moving);
        inner.stats.session_moved_out();
        tracing::debug!(socket = %session.id, to, "session moved to another node");
        let reason = DisconnectReason::ServerClosed(CloseCode::SessionTakenOver);
        let never_dispatched = self.end_detached(session, || session.mark_closed(reason));
        inner.poll_links.close(&session.id, None);
        if never_dispatched {
            session.tap.lock().take();
            inner.session_finished();
        }
    }
}
