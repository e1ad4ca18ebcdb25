//! Session lifecycle: open, attach a link, detach on a dropped link, resume,
//! and end (PROTOCOL.md section 5).
//!
//! A session is the socket as applications see it: its id, token, rooms,
//! acks and resume buffer. Links (a WebSocket, or a long-polling exchange)
//! come and go beneath it. The disconnect handler runs once, when the
//! session ends.

use std::sync::Arc;

use switchboard_protocol::{CloseCode, Codec, Welcome};

use crate::error::DisconnectReason;
use crate::hub::guard::guarded;
use crate::hub::handle::{Hub, Socket};
use crate::hub::move_in::PendingMove;
use crate::id;
use crate::send_queue::ResumeRefused;
use crate::session::handshake::Handshake;
use crate::session::identity::{GrantOrigin, Identity, PresetSocketId, UserGrant};
use crate::session::shared::SocketShared;
use crate::session::table::Attached;

impl Hub {
    /// Opens a new session and registers it, with the user of its token.
    /// Its dispatcher starts
    /// once its first link is attached (`events/dispatcher.rs`).
    fn open_session(
        &self,
        codec: Codec,
        mut extensions: http::Extensions,
        handshake: Arc<Handshake>,
        grant: Option<(UserGrant, GrantOrigin)>,
    ) -> Arc<SocketShared> {
        let inner = &self.inner;
        let resume_buffer = if inner.raw {
            0
        } else {
            inner.config.resume_buffer
        };
        let socket_id = take_preset_id(&mut extensions).unwrap_or_else(id::new_socket_id);
        let shared = Arc::new(
            SocketShared::new(
                socket_id,
                id::new_session_token(),
                codec,
                (
                    inner.config.send_queue_capacity,
                    (resume_buffer, inner.config.resume_buffer_bytes),
                ),
                extensions,
                handshake,
                inner.stats.clone(),
            )
            .with_identity(grant.map(|(grant, origin)| Identity::from_grant(grant, origin)))
            .with_coalescing(!inner.config.broadcast_coalesce.is_zero()),
        );
        inner.runtime.get_or_init(tokio::runtime::Handle::current);
        inner.sockets.insert(shared.clone());
        inner.sessions.insert(shared.clone());
        inner.users.add(&shared);
        inner.session_opened();
        inner.stats.connection_opened();
        if shared.identity.is_some() {
            self.watch_token_expiry(&shared);
        }
        shared
    }

    /// Joins a new session to the rooms of its grant's `join` claim, once
    /// its first link is attached: what the rooms send from then on (a
    /// `$joined`, say) follows its `$welcome`.
    fn join_granted_rooms(&self, session: &Arc<SocketShared>, rooms: Option<Vec<String>>) {
        for room in rooms.iter().flatten() {
            let (_, presence) = self.inner.rooms.join(room, session);
            self.tell_presence(presence);
        }
    }

    /// Watches the token of `session` (after it connected, resumed or
    /// refreshed): once it expires unrefreshed, its link is closed with
    /// `4003` (`token_expiry.rs`).
    pub(crate) fn watch_token_expiry(&self, session: &Arc<SocketShared>) {
        if let Some(task) = self.token_expiries().watch(session) {
            self.spawn(task);
        }
    }

    /// Spawns on the hub's runtime (the one its first session opened on),
    /// so sessions can end from outside it.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => handle.spawn(task),
            Err(_) => self
                .inner
                .runtime
                .get()
                .expect("a session opened on a runtime")
                .spawn(task),
        };
    }

    /// Attaches a new link: resumes the session named by `resume` when it
    /// can (`(token, last)`), else opens a new one. The `$welcome` (and any
    /// missed messages) are queued first for the link. A resumed session
    /// keeps its own `extensions` and `handshake`: those of a new link
    /// are dropped. A link resumes only a session of its own user (both
    /// anonymous, or tokens of one `sub`), which goes on with the link's
    /// token: its expiry and grants.
    pub(crate) fn attach_link(
        &self,
        codec: Codec,
        mut extensions: http::Extensions,
        handshake: Arc<Handshake>,
        resume: Option<(&str, u64)>,
    ) -> Attached {
        let grant = take_grant(&mut extensions);
        // A session another node handed over opens here first (with this
        // link's app data), then is resumed as any other.
        let missed_elsewhere = take_pending_move(&mut extensions).and_then(|pending| {
            self.adopt_session(
                pending,
                codec,
                extensions.clone(),
                handshake.clone(),
                grant.clone(),
            )
        });
        if let Some((token, last)) = resume
            && let Some(session) = self.inner.sessions.get(token)
            && session.codec == codec
            && !self.inner.raw
            && self.inner.config.resume_buffer > 0
            && same_user(&session, grant.as_ref().map(|(grant, _)| grant))
        {
            // The resuming link's token (of the same user) is the one the
            // session goes on with.
            if let (Some(identity), Some((grant, origin))) = (&session.identity, &grant) {
                identity.renew(grant.clone(), origin.clone());
            }
            match self.attach_to(&session, Some(last), missed_elsewhere) {
                Ok(link) => {
                    tracing::debug!(socket = %session.id, last, "session resumed");
                    if session.identity.is_some() {
                        self.watch_token_expiry(&session);
                    }
                    return Attached {
                        session,
                        link,
                        opened: false,
                    };
                }
                Err(refused) => {
                    tracing::debug!(socket = %session.id, ?refused, "resume refused: new session");
                }
            }
        }
        let join = grant.as_ref().and_then(|(grant, _)| grant.join.clone());
        let session = self.open_session(codec, extensions, handshake, grant);
        let link = self
            .attach_to(&session, None, None)
            .expect("a new session accepts its first link");
        self.join_granted_rooms(&session, join);
        tracing::debug!(socket = %session.id, "connection opened");
        Attached {
            session,
            link,
            opened: true,
        }
    }

    /// Attaches a link to `session`, resuming after `last` when given;
    /// `missed_elsewhere` is the count of missed messages of a session
    /// that moved here (its old node replays them).
    fn attach_to(
        &self,
        session: &Arc<SocketShared>,
        last: Option<u64>,
        missed_elsewhere: Option<u64>,
    ) -> Result<u64, ResumeRefused> {
        let config = &self.inner.config;
        let raw = self.inner.raw;
        let attach = || {
            session
                .queue
                .attach(last, |missed| {
                    let welcome = Welcome {
                        id: session.id.to_string(),
                        session: session.session.to_string(),
                        ping_interval_ms: config.ping_interval.as_millis() as u64,
                        ping_timeout_ms: config.ping_timeout.as_millis() as u64,
                        resumed: last.is_some(),
                        // What the old node replays may have partly come
                        // already (it counts in `missed` then).
                        missed: missed_elsewhere.map_or(missed, |m| m.max(missed)),
                        user: session.identity.as_ref().map(|i| i.user().to_owned()),
                        expires_at: session.identity.as_ref().and_then(|i| i.expires_at()),
                    };
                    session.encode(&welcome.into_message())
                })
                .map(|(link, _missed, released)| (link, released))
        };
        // A resume takes a detached session out of the detached ledger.
        let link = if last.is_some() {
            self.resume_detached(session, attach)?
        } else {
            attach()?.0
        };
        if raw {
            // Raw mode has no envelope: drop the welcome again.
            let _ = session.queue.try_drain(link);
        }
        // A shutdown that began before this link was attached would not
        // have asked it to close.
        if self.is_shutting_down() {
            session.queue.request_close(self.shutdown_close_code());
        }
        Ok(link)
    }

    /// Closes a session's link with `code` (after what is queued before
    /// it). A session waiting for a resume has no link: a code that ends
    /// sessions (a kick, say) ends it at once.
    pub(crate) fn close_session(&self, session: &Arc<SocketShared>, code: CloseCode) {
        session.queue.request_close(code);
        if !session.queue.is_attached() && code.ends_session() {
            self.end_session(session, DisconnectReason::ServerClosed(code));
        }
    }

    /// A link ended with `reason`: the session ends, or waits for a resume
    /// when the link merely dropped. A superseded link changes nothing.
    pub(crate) fn link_ended(
        &self,
        session: &Arc<SocketShared>,
        link: u64,
        reason: DisconnectReason,
    ) {
        if !session.queue.is_current(link) {
            return;
        }
        // A close the hub asked for (a kick) stands even when the link
        // dropped before it could be delivered.
        let reason = match (reason, session.queue.requested_close()) {
            (
                DisconnectReason::HeartbeatTimeout | DisconnectReason::TransportError(_),
                Some(code),
            ) if code.ends_session() => DisconnectReason::ServerClosed(code),
            (reason, _) => reason,
        };
        let ends = match &reason {
            DisconnectReason::ClientClosed(_) | DisconnectReason::Aborted => true,
            DisconnectReason::ServerClosed(code) => code.ends_session(),
            DisconnectReason::HeartbeatTimeout | DisconnectReason::TransportError(_) => false,
        };
        let resumable = !self.inner.raw && self.inner.config.resume_buffer > 0;
        // A draining node keeps its sessions for other nodes to take over.
        if ends || !resumable || (self.is_shutting_down() && !self.is_draining()) {
            self.end_session(session, reason);
            return;
        }
        tracing::debug!(socket = %session.id, %reason, "link dropped: session waits for a resume");
        // The hub's detached-session task ends it when its window passes.
        self.detach_link(session, link, reason);
    }

    /// Ends a session for good: it leaves its rooms and tables, waiters see
    /// the reason, and the dispatcher runs the disconnect handler once.
    pub(crate) fn end_session(&self, session: &Arc<SocketShared>, reason: DisconnectReason) {
        if session.closed_reason().is_some() {
            return;
        }
        tracing::debug!(socket = %session.id, %reason, "connection closed");
        let inner = &self.inner;
        let presence = inner.rooms.leave_for_good(session);
        self.tell_presence(presence);
        inner.sockets.remove(&session.id);
        inner.sessions.remove(&session.session);
        inner.users.remove(session);
        if session.identity.is_some() {
            inner.token_expiries.forget(&session.id);
        }
        let never_dispatched = self.end_detached(session, || session.mark_closed(reason));
        inner.poll_links.close(&session.id, None);
        if never_dispatched {
            // No dispatcher ever ran: run the disconnect handler here.
            if inner.router.disconnect.is_some() {
                let socket = self.socket_handle(session.clone());
                let hub = self.clone();
                self.spawn(async move {
                    disconnected(&socket).await;
                    hub.inner.session_finished();
                });
            } else {
                session.tap.lock().take();
                inner.session_finished();
            }
        }
    }
}

/// The end of a session's dispatching (when its dispatcher's queue closes,
/// or at its end when it never had one): releases a bound channel's sender
/// and, once the session has ended, runs the disconnect handler.
pub(crate) async fn disconnected(socket: &Socket) {
    // A bound channel's receiver ends once it has taken what was queued.
    socket.shared.tap.lock().take();
    let reason = socket.closed().await;
    // A session that moved to another node goes on there: it has not
    // disconnected (`move_out.rs`).
    if reason == DisconnectReason::ServerClosed(CloseCode::SessionTakenOver) {
        return;
    }
    if let Some(disconnect) = socket.hub.event_router().disconnect.clone() {
        guarded(socket, "disconnect", disconnect(socket.clone(), reason)).await;
    }
}

/// A session another node handed over for this link
/// ([`Hub::ask_for_session`]), which rides in the handshake's app data.
fn take_pending_move(extensions: &mut http::Extensions) -> Option<PendingMove> {
    let pending = extensions.remove::<PendingMove>()?;
    if extensions.is_empty() {
        *extensions = http::Extensions::new();
    }
    Some(pending)
}

/// The socket id the authentication hook was told, which rides in the
/// handshake's app data like the grant.
fn take_preset_id(extensions: &mut http::Extensions) -> Option<String> {
    let id = extensions.remove::<PresetSocketId>()?.0;
    if extensions.is_empty() {
        *extensions = http::Extensions::new();
    }
    Some(id)
}

/// The user a link was granted (by its token, or the authentication hook),
/// and where the grant came from, which ride in the handshake's app data
/// from admission to here; the data's map is dropped when nothing else is
/// in it.
fn take_grant(extensions: &mut http::Extensions) -> Option<(UserGrant, GrantOrigin)> {
    let grant = extensions.remove::<UserGrant>();
    let origin = extensions.remove::<GrantOrigin>().unwrap_or_default();
    if grant.is_some() && extensions.is_empty() {
        *extensions = http::Extensions::new();
    }
    grant.map(|grant| (grant, origin))
}

/// Whether a resuming link may take `session` over: both anonymous, or the
/// same user (PROTOCOL.md section 10).
fn same_user(session: &SocketShared, grant: Option<&UserGrant>) -> bool {
    match (&session.identity, grant) {
        (None, None) => true,
        (Some(identity), Some(grant)) => identity.user() == grant.user,
        _ => false,
    }
}
