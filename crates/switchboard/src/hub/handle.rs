//! The two handles applications hold: [`Hub`] and [`Socket`]. They name
//! each other (a socket reaches its hub; the hub holds the handlers that
//! receive sockets), so they are defined here together, with the hub's
//! state; what each does is in the files beside this one.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use switchboard_protocol::{CloseCode, Codec, Message};
use tokio::sync::{mpsc, watch};

use crate::adapter::{Adapter, LocalNode, NodeHandle, Operation};
use crate::app::EventRouter;
use crate::app::policies::Policies;
use crate::config::HubConfig;
use crate::error::DisconnectReason;
use crate::hub::token_expiry::TokenExpiries;
use crate::limits::slots::{ConnectionSlot, LinkSlots, SlotOwner};
use crate::send_queue::Outgoing;
use crate::session::detached::DetachedSessions;
use crate::session::history::HistoryBook;
use crate::session::inbox::{RawFrame, TappedEvent};
use crate::session::moves::SessionMoves;
use crate::session::presence::PresenceBook;
use crate::session::rooms::{RoomRegistry, SocketRegistry};
use crate::session::shared::{SocketShared, frame_for};
use crate::session::table::SessionTable;
use crate::session::users::UserRegistry;
use crate::stats::{Counters, HubStats, ResourceGauges};
use crate::transport::poll_links::PollLinks;

pub(crate) struct HubInner {
    pub(super) config: HubConfig,
    pub(super) router: EventRouter<Socket>,
    pub(super) policies: Policies<Socket>,
    pub(super) raw: bool,
    pub(super) sockets: SocketRegistry,
    pub(super) rooms: RoomRegistry,
    pub(super) users: UserRegistry,
    pub(super) stats: Arc<Counters>,
    pub(super) stream_tx: Option<mpsc::Sender<Streamed>>,
    pub(super) sessions: SessionTable,
    /// The cluster seam (a [`crate::adapter::LocalAdapter`] for a single hub).
    pub(super) adapter: Arc<dyn Adapter>,
    /// Places under the connection limit and the pending-poll limit.
    pub(super) slots: Arc<LinkSlots>,
    /// The long-polling links' state between their requests.
    pub(super) poll_links: PollLinks,
    /// Sessions not yet finished: open, or ended with their disconnect
    /// handler still to run.
    sessions_alive: AtomicUsize,
    /// The runtime the first session opened on: tasks started when a
    /// session ends (possibly outside any runtime) are spawned there.
    pub(super) runtime: std::sync::OnceLock<tokio::runtime::Handle>,
    shutting_down: AtomicBool,
    shutdown_tx: watch::Sender<bool>,
    pong_json: Outgoing,
    pong_msgpack: Outgoing,
    /// The WebSocket codec's settings, shared by every link rather than
    /// copied into each (PROTOCOL.md section 3's limits).
    ws_codec: Arc<sockudo_ws::Config>,
    /// When the hub was built: links keep their times as microseconds
    /// since then (8 bytes each instead of an `Instant`'s 16).
    epoch: tokio::time::Instant,
    // Resource bounds (issue 15).
    /// Sessions waiting for a resume.
    pub(super) detached: DetachedSessions,
    /// The slot owner of links without per-address limits (loopback, no
    /// peer address, limits off).
    pub(super) unlimited_owner: Arc<SlotOwner>,
    /// Client addresses under the per-address limits.
    pub(super) addresses: crate::limits::address::AddressTable<SlotOwner>,
    /// The application's typed state ([`crate::HubBuilder::state`]).
    pub(super) state: crate::state::StateMap,
    /// The expiries of the users' tokens (PROTOCOL.md section 10).
    pub(super) token_expiries: Arc<TokenExpiries>,
    /// The history rooms' state (PROTOCOL.md section 11), if any room
    /// keeps history.
    pub(super) history: Option<HistoryBook>,
    /// A clustered hub's history store and appender, once started.
    pub(super) cluster_history: std::sync::OnceLock<crate::adapter::HistoryAppender>,
    /// Sessions moving between this node and others, and the ids of this
    /// node's operations (PROTOCOL.md section 11).
    pub(super) moves: SessionMoves,
    /// A clustered hub's shutdown: sessions wait for another node to take
    /// them over instead of ending (`Hub::shutdown`).
    draining: AtomicBool,
    /// Pauses broadcast coalescing while writers run late.
    coalescing: super::coalescing::CoalescingGuard,
}

impl HubInner {
    pub(crate) fn session_opened(&self) {
        self.sessions_alive.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn session_finished(&self) {
        self.sessions_alive.fetch_sub(1, Ordering::AcqRel);
        self.slots.wake();
    }

    pub(crate) fn pong_frame(&self, codec: Codec) -> Outgoing {
        match codec {
            Codec::Json => self.pong_json.clone(),
            Codec::MsgPack => self.pong_msgpack.clone(),
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

impl Hub {
    pub(crate) fn from_parts(
        config: HubConfig,
        router: EventRouter<Socket>,
        policies: Policies<Socket>,
        raw: bool,
        stream_tx: Option<mpsc::Sender<Streamed>>,
        adapter: Arc<dyn Adapter>,
        state: crate::state::StateMap,
    ) -> Self {
        let pong = Message::event(
            switchboard_protocol::reserved::PONG,
            serde_json::Value::Null,
        );
        let stats = Counters::default();
        stats.detached.set_budget(config.detached_budget);
        let slots = Arc::new(LinkSlots::default());
        // Presence changes are announced to the other nodes (nowhere, for
        // a single hub).
        let presence = policies.presence.clone().map(|rooms| {
            let announce_to = adapter.clone();
            PresenceBook::new(
                adapter.node_id().to_owned(),
                rooms,
                Box::new(move |update| announce_to.publish(Operation::Presence(update))),
            )
        });
        let history = policies
            .history
            .clone()
            .map(|rooms| HistoryBook::new(rooms, config.history_limits));
        let ws_codec = Arc::new(crate::transport::ws::codec_config(config.max_message_size));
        let hub = Self {
            inner: Arc::new(HubInner {
                ws_codec,
                epoch: tokio::time::Instant::now(),
                config,
                router,
                policies,
                raw,
                sockets: SocketRegistry::default(),
                rooms: RoomRegistry::new(presence),
                users: UserRegistry::default(),
                stats: Arc::new(stats),
                stream_tx,
                sessions: SessionTable::default(),
                adapter,
                unlimited_owner: slots.new_owner(),
                poll_links: PollLinks::default(),
                slots,
                sessions_alive: AtomicUsize::new(0),
                runtime: std::sync::OnceLock::new(),
                shutting_down: AtomicBool::new(false),
                shutdown_tx: watch::Sender::new(false),
                pong_json: frame_for(Codec::Json, Codec::Json.encode(&pong)),
                pong_msgpack: frame_for(Codec::MsgPack, Codec::MsgPack.encode(&pong)),
                detached: DetachedSessions::default(),
                addresses: Default::default(),
                state,
                token_expiries: Arc::default(),
                history,
                cluster_history: std::sync::OnceLock::new(),
                moves: SessionMoves::default(),
                draining: AtomicBool::new(false),
                coalescing: Default::default(),
            }),
        };
        let inner: Arc<dyn LocalNode> = hub.inner.clone();
        let node = Arc::downgrade(&inner);
        drop(inner);
        hub.inner.adapter.start(NodeHandle::new(node));
        hub.start_cluster_history();
        hub
    }

    /// When the hub was built (see [`crate::connection`]'s link times).
    pub(crate) fn epoch(&self) -> tokio::time::Instant {
        self.inner.epoch
    }

    /// The coalescing window a link's writer uses now, `now()` in
    /// microseconds since [`Hub::epoch`] (read only while a pause may
    /// last): the configured one, or zero while writers run late
    /// ([`super::coalescing`]).
    pub(crate) fn coalescing_window(&self, now: impl FnOnce() -> u64) -> std::time::Duration {
        let window = self.inner.config.broadcast_coalesce;
        if window.is_zero() || self.inner.coalescing.is_paused(now) {
            std::time::Duration::ZERO
        } else {
            window
        }
    }

    /// A link's writer, woken by a push, ran `after` it (`now()` in
    /// microseconds since [`Hub::epoch`], read only for a late writer):
    /// later than two coalescing windows (and 50 ms), it pauses coalescing
    /// across the hub.
    pub(crate) fn writer_ran(&self, after: std::time::Duration, now: impl FnOnce() -> u64) {
        let window = self.inner.config.broadcast_coalesce;
        if self.inner.coalescing.writer_ran(after, window, now) {
            self.inner.stats.coalescing_paused();
            tracing::debug!(
                late_ms = after.as_millis() as u64,
                "writers run late: broadcast coalescing paused"
            );
        }
    }

    /// The WebSocket codec's settings every link shares.
    pub(crate) fn ws_codec(&self) -> &Arc<sockudo_ws::Config> {
        &self.inner.ws_codec
    }

    /// The options the hub was built with.
    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// This node's id: unique in the cluster, random for a single hub.
    pub fn node_id(&self) -> &str {
        self.inner.adapter.node_id()
    }

    /// The hub's counters, shared with its sockets and its HTTP edge.
    pub(crate) fn counters(&self) -> &Arc<Counters> {
        &self.inner.stats
    }

    /// Whether the hub is in raw mode ([`crate::HubBuilder::raw_mode`]).
    pub(crate) fn is_raw(&self) -> bool {
        self.inner.raw
    }

    /// The cluster seam.
    pub(crate) fn adapter(&self) -> &Arc<dyn Adapter> {
        &self.inner.adapter
    }

    /// The handlers by event name, and the lifecycle handlers.
    pub(crate) fn event_router(&self) -> &EventRouter<Socket> {
        &self.inner.router
    }

    /// The application's hooks (auth, join, relay, subprotocols).
    pub(crate) fn policies(&self) -> &Policies<Socket> {
        &self.inner.policies
    }

    /// The connected sockets, by id.
    pub(crate) fn socket_registry(&self) -> &SocketRegistry {
        &self.inner.sockets
    }

    /// The rooms and their members.
    pub(crate) fn room_registry(&self) -> &RoomRegistry {
        &self.inner.rooms
    }

    /// The users and their sessions on this node.
    pub(crate) fn user_registry(&self) -> &UserRegistry {
        &self.inner.users
    }

    /// The sessions, by resume token.
    pub(crate) fn session_table(&self) -> &SessionTable {
        &self.inner.sessions
    }

    /// The message stream of [`crate::HubBuilder::build_with_stream`].
    pub(crate) fn stream_tx(&self) -> Option<&mpsc::Sender<Streamed>> {
        self.inner.stream_tx.as_ref()
    }

    /// Places under the connection and pending-poll limits.
    pub(crate) fn slots(&self) -> &Arc<LinkSlots> {
        &self.inner.slots
    }

    /// The long-polling links' state between their requests.
    pub(crate) fn poll_links(&self) -> &PollLinks {
        &self.inner.poll_links
    }

    /// The slot owner of links without per-address limits.
    pub(crate) fn unlimited_owner(&self) -> &Arc<SlotOwner> {
        &self.inner.unlimited_owner
    }

    /// The client addresses under the per-address limits.
    pub(crate) fn address_table(&self) -> &crate::limits::address::AddressTable<SlotOwner> {
        &self.inner.addresses
    }

    /// The expiries of the users' tokens.
    pub(crate) fn token_expiries(&self) -> &Arc<TokenExpiries> {
        &self.inner.token_expiries
    }

    /// The application's state, by type.
    pub(crate) fn state_map(&self) -> &crate::state::StateMap {
        &self.inner.state
    }

    /// A new id for an operation of this node (PROTOCOL.md section 11).
    pub(crate) fn next_op(&self) -> crate::id::OpId {
        self.inner.moves.next_op()
    }

    pub(crate) fn cluster_request_timeout(&self) -> std::time::Duration {
        self.inner.config.cluster_timeout
    }

    /// Closes the socket with this id with `code`; false if this node does
    /// not hold it (see [`ClusterView::disconnect`](crate::ClusterView::disconnect) for any node).
    pub fn disconnect(&self, socket_id: &str, code: CloseCode) -> bool {
        match self.inner.sockets.get(socket_id) {
            Some(socket) => {
                self.close_session(&socket, code);
                true
            }
            None => false,
        }
    }

    /// The ids of this node's members of `room`, sorted (empty for an
    /// unknown room); [`ClusterView::members`](crate::ClusterView::members) asks every node.
    pub fn members(&self, room: &str) -> Vec<String> {
        self.inner.rooms.member_ids(room)
    }

    /// The names of every room with members on this node, sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.inner.rooms.names()
    }

    /// Turns per-room traffic counting on or off (default off). While on,
    /// each delivery to a room's members on this node adds to the room's
    /// counts (two relaxed atomic additions per room broadcast, nothing
    /// per recipient); while off, a broadcast only reads the flag. Read
    /// the counts with [`Hub::take_room_traffic`].
    pub fn count_room_traffic(&self, on: bool) {
        self.inner.rooms.count_traffic(on);
    }

    /// The `top` rooms of this node by deliveries since the last call
    /// (most first; rooms without traffic left out), and every room's
    /// counts start again from zero: call it from one place, at a steady
    /// pace, to get rates. Counts only while
    /// [`Hub::count_room_traffic`] is on.
    pub fn take_room_traffic(&self, top: usize) -> Vec<crate::stats::RoomTraffic> {
        self.inner.rooms.take_traffic(top)
    }

    /// The number of live connections to this node (sessions waiting for a
    /// resume are not counted); [`ClusterView::count`](crate::ClusterView::count) adds every node's.
    pub fn count(&self) -> usize {
        let mut live = 0;
        self.inner.sockets.for_each(|s| {
            if s.queue.is_attached() {
                live += 1;
            }
        });
        live
    }

    /// The ids of every live connection to this node, sorted.
    pub fn list(&self) -> Vec<String> {
        let mut ids = Vec::new();
        self.inner.sockets.for_each(|s| {
            if s.queue.is_attached() {
                ids.push(s.id.to_string());
            }
        });
        ids.sort_unstable();
        ids
    }

    /// The number of sessions, live or waiting for a resume.
    pub fn session_count(&self) -> usize {
        self.inner.sockets.len()
    }

    /// A snapshot of the hub's counters.
    pub fn stats(&self) -> HubStats {
        let gauges = ResourceGauges {
            detached_sessions: self.inner.detached.len(),
            pending_polls: self.inner.slots.pending_polls(),
        };
        self.inner
            .stats
            .snapshot(self.count(), self.inner.rooms.len(), gauges)
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

    /// A new owner for the slots of one client address.
    pub(crate) fn new_slot_owner(&self) -> Arc<SlotOwner> {
        self.inner.slots.new_owner()
    }

    /// Takes a place under the connection limit for a link whose client
    /// address shares `owner`; `None` when the hub is full or shutting down.
    pub(crate) fn admit_for(&self, owner: Arc<SlotOwner>) -> Option<ConnectionSlot> {
        if self.is_shutting_down() {
            return None;
        }
        self.inner
            .slots
            .admit(owner, self.inner.config.max_connections)
    }

    /// Graceful shutdown: refuses new connections (`503`), closes every
    /// link, waits up to the configured `shutdown_timeout`, then drops
    /// what is left. Returns when every socket is gone.
    ///
    /// A single hub closes its links with `1001` and ends its sessions. A
    /// clustered one drains (PROTOCOL.md section 11): it closes its links
    /// with `1012`, and its sessions wait for their clients to resume them
    /// on other nodes, which take them over from this one; it leaves the
    /// cluster once every session has moved, or at the deadline (the
    /// sessions left then end). A clustered node with no other node to
    /// take its sessions (none heard from, or the backend away) shuts down
    /// as a single hub does.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        let status = inner.adapter.status().borrow().clone();
        let drain = inner.adapter.is_clustered()
            && !inner.raw
            && inner.config.resume_buffer > 0
            && status.backend_up
            && !status.peers.is_empty();
        inner.draining.store(drain, Ordering::Release);
        inner.shutting_down.store(true, Ordering::Release);
        inner.shutdown_tx.send_replace(true);
        if !drain {
            inner.adapter.stop().await;
        }
        let code = self.shutdown_close_code();
        for session in inner.sessions.all() {
            // A session moving away is attached to its forwarding, which
            // must go on until the other node's fence.
            if drain && inner.moves.leaving_fence(&session.session).is_some() {
                continue;
            }
            if session.queue.is_attached() {
                session.queue.request_close(code);
            } else if !drain {
                self.end_session(&session, DisconnectReason::ServerClosed(code));
            }
        }
        let deadline = inner.config.shutdown_timeout;
        if tokio::time::timeout(deadline, self.wait_idle())
            .await
            .is_err()
        {
            if drain {
                let left = inner.sessions.all();
                tracing::info!(
                    sessions = left.len(),
                    "drain deadline passed: the sessions not taken over end"
                );
                for session in left {
                    self.end_session(&session, DisconnectReason::ServerClosed(code));
                }
            }
            if tokio::time::timeout(std::time::Duration::from_millis(100), self.wait_idle())
                .await
                .is_err()
            {
                tracing::warn!(
                    left = self.count(),
                    "shutdown deadline passed: dropping the remaining sockets"
                );
                inner.sockets.for_each(|s| s.queue.abort());
                self.wait_idle().await;
            }
        }
        if drain {
            inner.adapter.stop().await;
        }
    }

    /// Whether a clustered hub's shutdown has begun: its sessions wait to
    /// be taken over by other nodes.
    pub(crate) fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
    }

    /// The code links close with at shutdown: `1012` when the hub drains,
    /// else `1001`.
    pub(crate) fn shutdown_close_code(&self) -> CloseCode {
        if self.is_draining() {
            CloseCode::ServiceRestart
        } else {
            CloseCode::GoingAway
        }
    }

    /// Resolves once this node holds no connection and no session (one
    /// waiting for a resume included), and every disconnect handler has
    /// run. It resolves at once on an idle hub; it may resolve again later,
    /// when new connections have come and gone.
    pub async fn wait_idle(&self) {
        loop {
            let released = self.inner.slots.released();
            if self.inner.slots.admitted() == 0
                && self.inner.sessions_alive.load(Ordering::Acquire) == 0
            {
                return;
            }
            released.await;
        }
    }
}

/// A handle on one connected socket. Cheap to clone; handlers receive one.
///
/// Sending never waits: a message is queued for the socket's writer, and a
/// socket whose queue overflows is closed with `4001` (slow consumer).
#[derive(Clone)]
pub struct Socket {
    pub(crate) shared: Arc<SocketShared>,
    pub(crate) hub: Hub,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("id", &self.shared.id)
            .finish()
    }
}

/// An inbound message on its way to the message stream
/// ([`crate::MessageStream`], which hands it out as an [`crate::Inbound`]).
#[derive(Debug)]
pub(crate) enum Streamed {
    /// An event no handler took.
    Event(Socket, TappedEvent),
    /// A frame of a raw-mode hub.
    Raw(Socket, RawFrame),
}

/// The hub's way to a socket's handle.
impl Hub {
    pub(crate) fn socket_handle(&self, shared: Arc<SocketShared>) -> Socket {
        Socket {
            shared,
            hub: self.clone(),
        }
    }
}
