//! The hub builder: its options here; handlers and policies in
//! `handlers.rs`, the typed application state in `typed_state.rs`.

mod handlers;
mod typed_state;

pub use typed_state::HubState;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::adapter::{Adapter, LocalAdapter};
use crate::app::EventRouter;
use crate::app::policies::Policies;
use crate::config::{AllowedOrigins, HubConfig, IpNetwork, MIN_HTTP_HEAD_SIZE, RateLimit};
use crate::hub::handle::{Hub, Socket, Streamed};
use crate::stream::MessageStream;

/// Builds a [`Hub`]. Every option has a documented default (see
/// [`HubConfig`]).
///
/// ```
/// use switchboard::{Hub, HandlerError};
///
/// let hub = Hub::builder()
///     .max_message_size(128 * 1024)
///     .on("echo", |_socket, data: serde_json::Value| async move { Ok::<_, HandlerError>(data) })
///     .build();
/// # drop(hub);
/// ```
///
/// `S` is the typed application state of [`HubBuilder::with_state`]
/// (none, `()`, until it is given).
#[derive(Default)]
#[must_use = "call .build() to get a hub"]
pub struct HubBuilder<S = ()> {
    config: HubConfig,
    router: EventRouter<Socket>,
    policies: Policies<Socket>,
    raw: bool,
    adapter: Option<Arc<dyn Adapter>>,
    state: crate::state::StateMap,
    app: S,
}

impl Hub {
    /// Starts building a hub.
    pub fn builder() -> HubBuilder {
        HubBuilder::default()
    }
}

impl<S> HubBuilder<S> {
    /// Replaces every option at once.
    pub fn config(mut self, config: HubConfig) -> Self {
        self.config = config;
        self
    }

    /// Interval between WebSocket pings (default 25 s).
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.config.ping_interval = interval;
        self
    }

    /// Grace past the ping interval before a silent link is dropped
    /// (default 20 s).
    pub fn ping_timeout(mut self, timeout: Duration) -> Self {
        self.config.ping_timeout = timeout;
        self
    }

    /// Longest time one write may take (default 10 s).
    pub fn write_timeout(mut self, timeout: Duration) -> Self {
        self.config.write_timeout = timeout;
        self
    }

    /// Largest message, after decompression (default 64 KiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.config.max_message_size = bytes;
        self
    }

    /// Messages queued per socket before it is closed with `4001`
    /// (default 1,024).
    pub fn send_queue_capacity(mut self, messages: usize) -> Self {
        self.config.send_queue_capacity = messages;
        self
    }

    /// Inbound messages waiting for a socket's handlers before the hub
    /// stops reading from that socket: backpressure on a client faster than
    /// its handlers (default 64).
    pub fn inbound_queue_capacity(mut self, messages: usize) -> Self {
        self.config.inbound_queue_capacity = messages;
        self
    }

    /// Most live connections (default 100,000).
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.max_connections = connections;
        self
    }

    /// Origins allowed to connect (default: same host).
    pub fn allowed_origins(mut self, origins: AllowedOrigins) -> Self {
        self.config.allowed_origins = origins;
        self
    }

    /// Limits each socket's client messages (default: off).
    pub fn rate_limit(mut self, limit: RateLimit) -> Self {
        self.config.rate_limit = Some(limit);
        self
    }

    /// Bad messages in a row before closing with `1008` (default 10).
    pub fn max_bad_messages(mut self, count: u32) -> Self {
        self.config.max_bad_messages = count.max(1);
        self
    }

    /// Negotiates permessage-deflate when offered (default on).
    pub fn compression(mut self, enabled: bool) -> Self {
        self.config.compression = enabled;
        self
    }

    /// How long [`Hub::shutdown`] waits before dropping sockets (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.config.shutdown_timeout = timeout;
        self
    }

    /// Counted messages kept per session for a resume (default 1,000; 0
    /// turns resume off).
    pub fn resume_buffer(mut self, messages: usize) -> Self {
        self.config.resume_buffer = messages;
        self
    }

    /// How long a session whose link dropped waits for a resume
    /// (default 120 s).
    pub fn resume_window(mut self, window: Duration) -> Self {
        self.config.resume_window = window;
        self
    }

    /// How long a long-polling `GET` is held when nothing is queued
    /// (default 25 s).
    pub fn poll_timeout(mut self, timeout: Duration) -> Self {
        self.config.poll_timeout = timeout;
        self
    }

    /// How long cluster-wide questions wait for the other nodes
    /// (default 1 s).
    pub fn cluster_timeout(mut self, timeout: Duration) -> Self {
        self.config.cluster_timeout = timeout;
        self
    }

    /// How long broadcast frames may wait to share one write (default 0:
    /// written at once); see [`HubConfig::broadcast_coalesce`].
    pub fn broadcast_coalesce(mut self, window: Duration) -> Self {
        self.config.broadcast_coalesce = window;
        self
    }

    /// Payload bytes kept per session for a resume, beside the message
    /// count (default 1 MiB); see [`HubConfig::resume_buffer_bytes`].
    pub fn resume_buffer_bytes(mut self, bytes: usize) -> Self {
        self.config.resume_buffer_bytes = bytes;
        self
    }

    /// Most sessions waiting for a resume at once (default 10,000); the
    /// oldest end first.
    pub fn max_detached_sessions(mut self, sessions: usize) -> Self {
        self.config.max_detached_sessions = sessions;
        self
    }

    /// Bytes all sessions waiting for a resume may hold together (default
    /// 128 MiB); see [`HubConfig::detached_budget`].
    pub fn detached_budget(mut self, bytes: usize) -> Self {
        self.config.detached_budget = bytes;
        self
    }

    /// Rooms one socket may be in through client `$join`s (default
    /// 1,000); see [`HubConfig::max_rooms_per_socket`].
    pub fn max_rooms_per_socket(mut self, rooms: usize) -> Self {
        self.config.max_rooms_per_socket = rooms;
        self
    }

    /// Long-polling links waiting for their first `GET`, hub-wide (default
    /// 1,000); see [`HubConfig::max_pending_polls`].
    pub fn max_pending_polls(mut self, links: usize) -> Self {
        self.config.max_pending_polls = links;
        self
    }

    /// How long a long-polling link may wait for its first `GET` (default
    /// 10 s).
    pub fn pending_poll_timeout(mut self, timeout: Duration) -> Self {
        self.config.pending_poll_timeout = timeout;
        self
    }

    // ---- The HTTP edge: timeouts, per-address limits, origins (issue 15).

    /// Longest time to receive a complete request head (default 10 s);
    /// see [`HubConfig::http_header_timeout`].
    pub fn http_header_timeout(mut self, timeout: Duration) -> Self {
        self.config.http_header_timeout = timeout;
        self
    }

    /// Longest wait of a keep-alive connection for its next request
    /// (default 5 s).
    pub fn http_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.http_idle_timeout = timeout;
        self
    }

    /// Most connections that have not yet sent a complete request head
    /// (default 1,024); see [`HubConfig::http_max_pending`].
    pub fn http_max_pending(mut self, connections: usize) -> Self {
        self.config.http_max_pending = connections.max(1);
        self
    }

    /// Largest request head in bytes (default 64 KiB, at least 8 KiB); see
    /// [`HubConfig::http_max_head_size`].
    pub fn http_max_head_size(mut self, bytes: usize) -> Self {
        self.config.http_max_head_size = bytes.max(MIN_HTTP_HEAD_SIZE);
        self
    }

    /// Most live connections from one client address (default 1,000; 0:
    /// no limit).
    pub fn max_connections_per_address(mut self, connections: usize) -> Self {
        self.config.max_connections_per_address = connections;
        self
    }

    /// Live connections per user on this node (default 0: no limit); over
    /// it the handshake gets `429` `limit` (see
    /// [`HubConfig::max_connections_per_user`]).
    pub fn max_connections_per_user(mut self, connections: usize) -> Self {
        self.config.max_connections_per_user = connections;
        self
    }

    /// Handshakes per second from one client address (default 100/s,
    /// burst 200; `None`: no limit).
    pub fn handshake_rate_per_address(mut self, limit: Option<RateLimit>) -> Self {
        self.config.handshake_rate_per_address = limit;
        self
    }

    /// Whether loopback clients are exempt from the per-address limits
    /// (default true).
    pub fn exempt_loopback(mut self, exempt: bool) -> Self {
        self.config.exempt_loopback = exempt;
        self
    }

    /// Proxies trusted to name the client in `X-Forwarded-For` /
    /// `Forwarded` (default none); see [`HubConfig::trusted_proxies`].
    pub fn trusted_proxies(mut self, proxies: Vec<IpNetwork>) -> Self {
        self.config.trusted_proxies = proxies;
        self
    }

    /// Most client addresses tracked at once (default 65,536).
    pub fn max_tracked_addresses(mut self, addresses: usize) -> Self {
        self.config.max_tracked_addresses = addresses.max(1);
        self
    }

    /// The hub's public origin, for the same-host origin rule (default
    /// none: the request's `Host`); see [`HubConfig::public_origin`].
    pub fn public_origin(mut self, origin: Option<String>) -> Self {
        self.config.public_origin = origin;
        self
    }

    /// Names the hub, for an application that mounts several hubs on one
    /// server (default none). Each hub has its own sockets, rooms and
    /// handlers whatever its name; the name keeps clustered hubs apart:
    /// a [`ClusterAdapter`](crate::adapter::ClusterAdapter) names its
    /// channels `{prefix}.{namespace}` instead of `{prefix}`, so that hubs
    /// of different namespaces on one backend never hear each other, and
    /// nodes reach only the hub of the same namespace on other nodes.
    ///
    /// Two hubs sharing a backend and a cluster prefix **must** have
    /// different namespaces (or prefixes): with the same channels they act
    /// as one hub, each one's broadcasts reaching the other's clients.
    /// A cluster adapter warns when two hubs of one process use the same
    /// channels.
    ///
    /// # Panics
    ///
    /// When `name` is empty, longer than 64 bytes, or holds anything but
    /// ASCII letters, digits, `-` and `_` (the characters valid in Redis
    /// channels and NATS subjects alike).
    ///
    /// ```
    /// use switchboard::Hub;
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let chat = Hub::builder().namespace("chat").build();
    /// let admin = Hub::builder().namespace("admin").build();
    /// // One app, one listener: `/chat/ws` and `/admin/ws` (long-polling
    /// // at `/chat/ws/poll` and `/admin/ws/poll`).
    /// let app = axum::Router::new()
    ///     .merge(chat.router("/chat/ws"))
    ///     .merge(admin.router("/admin/ws"));
    /// let listener = switchboard::listen(([127, 0, 0, 1], 0)).await?;
    /// # let _ = (listener, app);
    /// # Ok(())
    /// # }
    /// ```
    pub fn namespace(mut self, name: &str) -> Self {
        assert!(
            crate::adapter::is_channel_token(name),
            "a hub namespace is 1 to 64 ASCII letters, digits, - or _ (got {name:?})"
        );
        self.config.namespace = Some(name.to_owned());
        self
    }

    /// Joins a cluster through `adapter` (default: [`LocalAdapter`], a
    /// single hub). A clustered hub must be built inside a Tokio runtime:
    /// the adapter starts its tasks then.
    pub fn adapter(mut self, adapter: impl Adapter) -> Self {
        self.adapter = Some(Arc::new(adapter));
        self
    }

    /// Raw mode: no envelope, no `$welcome`; every frame goes as it is to
    /// [`HubBuilder::on_raw`] or the message stream, and sockets send with
    /// [`Socket::send_raw`].
    pub fn raw_mode(mut self) -> Self {
        self.raw = true;
        self
    }
}

impl<S: Clone + Send + Sync + 'static> HubBuilder<S> {
    /// Builds the hub.
    pub fn build(self) -> Hub {
        self.build_parts(None)
    }

    fn build_parts(mut self, stream_tx: Option<mpsc::Sender<Streamed>>) -> Hub {
        if std::any::TypeId::of::<S>() != std::any::TypeId::of::<()>() {
            self.state.insert(self.app);
        }
        let adapter = self
            .adapter
            .unwrap_or_else(|| Arc::new(LocalAdapter::default()));
        Hub::from_parts(
            self.config,
            self.router,
            self.policies,
            self.raw,
            stream_tx,
            adapter,
            self.state,
        )
    }

    /// Builds the hub with a [`MessageStream`] of every inbound message no
    /// handler takes, holding at most `capacity` messages.
    pub fn build_with_stream(self, capacity: usize) -> (Hub, MessageStream) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let hub = self.build_parts(Some(tx));
        (hub, MessageStream { rx })
    }
}
