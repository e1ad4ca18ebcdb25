//! The hub: the registry of sockets and rooms, and the handle applications
//! use to reach them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use serde::Serialize;
use switchboard_protocol::{CloseCode, Codec, Message, Welcome};
use tokio::sync::{Notify, mpsc, watch};

use crate::broadcast::BroadcastOperator;
use crate::config::HubConfig;
use crate::error::SendError;
use crate::events::EventRouter;
use crate::events::dispatch::{self, Dispatch};
use crate::policy::Policies;
use crate::rooms::{RoomRegistry, SocketRegistry};
use crate::send_queue::Outgoing;
use crate::socket::{Socket, SocketShared, frame_for, to_value};
use crate::stats::{Counters, HubStats};
use crate::stream::Inbound;
use crate::transport::Link;
use crate::{connection, id};

pub(crate) struct HubInner {
    pub(crate) config: HubConfig,
    pub(crate) router: EventRouter,
    pub(crate) policies: Policies,
    pub(crate) raw: bool,
    pub(crate) sockets: SocketRegistry,
    pub(crate) rooms: RoomRegistry,
    pub(crate) stats: Arc<Counters>,
    pub(crate) stream_tx: Option<mpsc::Sender<Inbound>>,
    /// Connections admitted (handshake reserved or socket live).
    admitted: AtomicUsize,
    shutting_down: AtomicBool,
    shutdown_tx: watch::Sender<bool>,
    /// Woken whenever a socket is removed.
    socket_gone: Notify,
    pong_json: Bytes,
    pong_msgpack: Bytes,
}

impl HubInner {
    pub(crate) fn pong_frame(&self, codec: Codec) -> Outgoing {
        match codec {
            Codec::Json => frame_for(codec, self.pong_json.clone()),
            Codec::MsgPack => frame_for(codec, self.pong_msgpack.clone()),
        }
    }
}

/// The hub handle. Cheap to clone; every clone is the same hub.
///
/// Build one with [`Hub::builder`], mount it with [`Hub::router`] or run it
/// with [`Hub::serve`].
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<HubInner>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("connections", &self.count())
            .finish_non_exhaustive()
    }
}

/// A place under the connection limit, held from the handshake until the
/// socket's disconnect handler has run; released when dropped.
pub(crate) struct ConnectionSlot {
    hub: Arc<HubInner>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.hub.admitted.fetch_sub(1, Ordering::AcqRel);
        self.hub.socket_gone.notify_waiters();
    }
}

impl Hub {
    /// Starts building a hub.
    pub fn builder() -> crate::HubBuilder {
        crate::HubBuilder::default()
    }

    pub(crate) fn from_parts(
        config: HubConfig,
        router: EventRouter,
        policies: Policies,
        raw: bool,
        stream_tx: Option<mpsc::Sender<Inbound>>,
    ) -> Self {
        let pong = Message::event(
            switchboard_protocol::reserved::PONG,
            serde_json::Value::Null,
        );
        Self {
            inner: Arc::new(HubInner {
                config,
                router,
                policies,
                raw,
                sockets: SocketRegistry::default(),
                rooms: RoomRegistry::default(),
                stats: Arc::default(),
                stream_tx,
                admitted: AtomicUsize::new(0),
                shutting_down: AtomicBool::new(false),
                shutdown_tx: watch::Sender::new(false),
                socket_gone: Notify::new(),
                pong_json: Codec::Json.encode(&pong),
                pong_msgpack: Codec::MsgPack.encode(&pong),
            }),
        }
    }

    /// The options the hub was built with.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    pub(crate) fn socket_handle(&self, shared: Arc<SocketShared>) -> Socket {
        Socket {
            shared,
            hub: self.clone(),
        }
    }

    /// Recipients in `room`.
    pub fn to(&self, room: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).to(room)
    }

    /// Every socket of the hub.
    pub fn to_all(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone())
    }

    /// Every socket but the one with this id.
    pub fn except(&self, socket_id: &str) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).except(socket_id)
    }

    /// Every socket of this node only.
    pub fn local(&self) -> BroadcastOperator {
        BroadcastOperator::new(self.clone()).local()
    }

    /// Sends an event to one socket by id.
    pub fn send_to(
        &self,
        socket_id: &str,
        event: &str,
        data: impl Serialize,
    ) -> Result<(), SendError> {
        let socket = self
            .socket(socket_id)
            .ok_or_else(|| SendError::UnknownSocket(socket_id.to_owned()))?;
        socket.send_message(&Message::event(event, to_value(data)?))
    }

    /// The socket with this id, if connected here.
    pub fn socket(&self, socket_id: &str) -> Option<Socket> {
        self.inner
            .sockets
            .get(socket_id)
            .map(|s| self.socket_handle(s))
    }

    /// Closes the socket with this id with `code`; false if unknown.
    pub fn disconnect(&self, socket_id: &str, code: CloseCode) -> bool {
        match self.inner.sockets.get(socket_id) {
            Some(socket) => {
                socket.queue.request_close(code);
                true
            }
            None => false,
        }
    }

    /// The ids of the members of `room`, sorted (empty for an unknown room).
    pub fn members(&self, room: &str) -> Vec<String> {
        self.inner.rooms.member_ids(room)
    }

    /// The rooms of the socket with this id, sorted (empty if unknown).
    pub fn rooms_of(&self, socket_id: &str) -> Vec<String> {
        self.socket(socket_id)
            .map(|s| s.rooms())
            .unwrap_or_default()
    }

    /// The names of every room with members, sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.inner.rooms.names()
    }

    /// The number of live connections.
    pub fn count(&self) -> usize {
        self.inner.sockets.len()
    }

    /// The ids of every live connection, sorted.
    pub fn list(&self) -> Vec<String> {
        self.inner.sockets.ids()
    }

    /// A snapshot of the hub's counters.
    pub fn stats(&self) -> HubStats {
        self.inner
            .stats
            .snapshot(self.inner.sockets.len(), self.inner.rooms.len())
    }

    /// Whether [`Hub::shutdown`] has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::Acquire)
    }

    /// Resolves when shutdown begins (for servers' graceful stop).
    pub async fn shutdown_started(&self) {
        let mut rx = self.inner.shutdown_tx.subscribe();
        let _ = rx.wait_for(|started| *started).await;
    }

    /// Takes a place under the connection limit; `None` when the hub is full
    /// or shutting down.
    pub(crate) fn admit(&self) -> Option<ConnectionSlot> {
        if self.is_shutting_down() {
            return None;
        }
        let max = self.inner.config.max_connections;
        self.inner
            .admitted
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()?;
        Some(ConnectionSlot {
            hub: self.inner.clone(),
        })
    }

    /// Graceful shutdown: refuses new connections (`503`), closes every
    /// socket with `1001`, waits up to the configured `shutdown_timeout`,
    /// then drops what is left. Returns when every socket is gone.
    pub async fn shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::Release);
        self.inner.shutdown_tx.send_replace(true);
        self.inner.sockets.for_each(|s| {
            s.queue.request_close(CloseCode::GoingAway);
        });
        let deadline = self.inner.config.shutdown_timeout;
        if tokio::time::timeout(deadline, self.wait_empty())
            .await
            .is_err()
        {
            tracing::warn!(
                left = self.count(),
                "shutdown deadline passed: dropping the remaining sockets"
            );
            self.inner.sockets.for_each(|s| s.queue.abort());
            self.wait_empty().await;
        }
    }

    async fn wait_empty(&self) {
        loop {
            let notified = self.inner.socket_gone.notified();
            if self.inner.admitted.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Runs one accepted connection to its end: registers the socket, sends
    /// `$welcome`, drives the link and the dispatcher, and cleans up.
    pub(crate) async fn run_socket<L: Link>(
        &self,
        link: L,
        codec: Codec,
        extensions: http::Extensions,
        slot: ConnectionSlot,
    ) {
        let inner = &self.inner;
        let shared = Arc::new(SocketShared::new(
            id::new_socket_id(),
            id::new_session_token(),
            codec,
            inner.config.send_queue_capacity,
            extensions,
            inner.stats.clone(),
        ));
        let socket = self.socket_handle(shared.clone());
        if !inner.raw {
            let welcome = Welcome {
                id: shared.id.to_string(),
                session: shared.session.to_string(),
                ping_interval_ms: inner.config.ping_interval.as_millis() as u64,
                ping_timeout_ms: inner.config.ping_timeout.as_millis() as u64,
                resumed: false,
                missed: 0,
            };
            let _ = shared.push(shared.encode(&welcome.into_message()));
        }
        inner.sockets.insert(shared.clone());
        inner.stats.connection_opened();
        tracing::debug!(socket = %shared.id, "connection opened");

        let (dispatch_tx, dispatch_rx) =
            mpsc::channel::<Dispatch>(inner.config.inbound_queue_capacity.max(1));
        let dispatcher = tokio::spawn(dispatch::run(socket.clone(), dispatch_rx));
        // A shutdown that began before this socket was registered would not
        // have asked it to close.
        if self.is_shutting_down() {
            shared.queue.request_close(CloseCode::GoingAway);
        }
        let reason = connection::run(link, socket.clone(), dispatch_tx, inner.raw).await;

        tracing::debug!(socket = %shared.id, %reason, "connection closed");
        inner.rooms.leave_all(&shared);
        inner.sockets.remove(&shared.id);
        shared.mark_closed(reason);
        // The dispatcher finishes queued work, runs the disconnect handler
        // and ends.
        let _ = dispatcher.await;
        // A bound channel's receiver ends once it has taken what was queued.
        shared.tap.lock().take();
        drop(slot);
    }
}
