//! Hub options and their defaults.

use std::time::Duration;

pub use crate::client_addr::IpNetwork;

/// The smallest request-head bound hyper takes, in bytes
/// ([`HubConfig::http_max_head_size`]).
pub(crate) const MIN_HTTP_HEAD_SIZE: usize = 8 * 1024;

/// Which browser origins may open a connection.
///
/// A handshake without an `Origin` header comes from a non-browser client and
/// always passes (PROTOCOL.md section 1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AllowedOrigins {
    /// Only origins whose host and port equal the request's `Host`, or the
    /// hub's public origin when one is set (default).
    #[default]
    SameHost,
    /// The same host, plus these origins (`scheme://host[:port]`, compared
    /// case-insensitively, default ports ignored).
    List(Vec<String>),
    /// Any origin.
    Any,
}

/// A per-socket limit on client messages: a token bucket refilled at
/// `per_second`, holding at most `burst` tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Messages per second allowed on average.
    pub per_second: u32,
    /// Messages allowed at once after an idle period.
    pub burst: u32,
}

/// How much history a room keeps: its last `size` messages, each for at
/// most `ttl` (`--history-size`, `--history-ttl`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Messages kept per room (default 100).
    pub size: usize,
    /// How long a message is kept (default 5 minutes). A room's epoch
    /// lives as long as one of its messages does.
    pub ttl: Duration,
}

impl Default for HistoryLimits {
    fn default() -> Self {
        Self {
            size: 100,
            ttl: Duration::from_secs(300),
        }
    }
}

/// Every option of a hub. Build it with [`crate::HubBuilder`]; each field
/// documents its default.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Interval between WebSocket Ping frames (default 25 s).
    pub ping_interval: Duration,
    /// How long past `ping_interval` a silent connection is kept (default 20 s).
    pub ping_timeout: Duration,
    /// Longest time one write to a socket may take before the link is
    /// considered dead (default 10 s).
    pub write_timeout: Duration,
    /// Largest message accepted, after decompression (default 64 KiB).
    pub max_message_size: usize,
    /// Messages queued for one socket before it is closed as a slow consumer
    /// with `4001` (default 1,024).
    pub send_queue_capacity: usize,
    /// Inbound messages waiting for the socket's handlers before the hub stops
    /// reading from that socket (default 64).
    pub inbound_queue_capacity: usize,
    /// Most live connections; further handshakes get `503` (default 100,000).
    pub max_connections: usize,
    /// Origins allowed to connect (default: same host).
    pub allowed_origins: AllowedOrigins,
    /// Per-socket client message rate limit (default: off).
    pub rate_limit: Option<RateLimit>,
    /// Bad messages in a row before the connection is closed with `1008`
    /// (default 10).
    pub max_bad_messages: u32,
    /// Negotiate permessage-deflate when the client offers it (default on).
    pub compression: bool,
    /// How long [`crate::Hub::shutdown`] waits for sockets to close before
    /// dropping them (default 10 s).
    pub shutdown_timeout: Duration,
    /// Counted messages kept per session for a resume (default 1,000;
    /// 0 turns resume off: a dropped link ends its session).
    pub resume_buffer: usize,
    /// How long a session whose link dropped waits for a resume
    /// (default 120 s).
    pub resume_window: Duration,
    /// How long a long-polling `GET` is held when nothing is queued
    /// (default 25 s).
    pub poll_timeout: Duration,
    /// How long a cluster-wide question (members, rooms of, count, kick)
    /// waits for the other nodes' answers (default 1 s).
    pub cluster_timeout: Duration,
    /// How long broadcast frames may wait to share one write with those
    /// that follow (default 0: written at once).
    ///
    /// Once broadcasts come to a socket less than this window apart (two
    /// of its writes of broadcast frames closer than that), each write of
    /// broadcast frames opens a window: the next ones wait until it has
    /// passed and then go out together. A window that held nothing ends
    /// that, so a socket that receives fewer than one broadcast per window
    /// is never held and costs no timer. A frame for the socket alone (a
    /// reply, `$pong`, an emit) is written at once and takes the held ones
    /// along, as does the 64th frame held. A busy socket gets at most this
    /// much added latency and fewer writes. While writers run late (one
    /// woken by a push runs more than two windows and 50 ms after it: the
    /// hub is saturated, and writes each socket's frames together anyway)
    /// no window opens for a second. Measured in BENCHMARKS.md
    /// (before the window adapted per socket): 1,000 sockets at 500
    /// broadcasts/s had p99 13 ms with 10 ms against 28 ms without.
    /// Long-polling links are not affected. Zero (the default): off.
    pub broadcast_coalesce: Duration,

    // Resource bounds (issue 15): what one client can make the hub hold.
    /// Payload bytes kept per session for a resume, beside the message
    /// count of `resume_buffer` (default 1 MiB): past it the oldest
    /// messages are dropped, and a resume from before the oldest kept one
    /// gets a new session. A frame shared by many sessions (a broadcast)
    /// counts its full length in each session that keeps it. A message
    /// larger than this on its own is not kept (nor anything before it).
    /// Values over 4 GiB are taken as 4 GiB.
    pub resume_buffer_bytes: usize,
    /// Most sessions waiting for a resume at once, hub-wide (default
    /// 10,000); past it the oldest detached sessions end first (their
    /// resume gets a new session).
    pub max_detached_sessions: usize,
    /// Bytes all sessions waiting for a resume may hold together, hub-wide
    /// (default 128 MiB): their resume buffers' payload bytes plus, per
    /// room membership, the room name's length and 128 bytes of registry
    /// overhead (counted when the link drops). Past it the oldest detached
    /// sessions end first.
    pub detached_budget: usize,
    /// Rooms one socket may be in through client `$join`s (default 1,000);
    /// further `$join`s get the error `limit`. Joins made by the
    /// application ([`crate::Socket::join`]) are not limited, but count.
    pub max_rooms_per_socket: usize,
    /// Long-polling sessions opened (`POST P/poll`) that have not sent
    /// their first `GET` yet, hub-wide (default 1,000); further opens get
    /// `503` `unavailable`. Such pending links take no connection slot.
    pub max_pending_polls: usize,
    /// How long a long-polling link may wait for its first `GET` before it
    /// counts as dropped (default 10 s; the heartbeat window,
    /// `ping_interval + ping_timeout`, when that is shorter).
    pub pending_poll_timeout: Duration,

    // ---- The HTTP edge: timeouts, per-address limits, origins (issue 15).
    /// How long a connection may take to send a complete request head,
    /// counted from its accept and, on a keep-alive connection, from the
    /// end of its previous answer; and then the request's body, counted
    /// from its head (default 10 s). A connection over it is closed
    /// without an answer. Like every `http_` option, it applies to
    /// [`crate::Hub::serve`] and [`crate::Hub::serve_router`] (not to a
    /// [`crate::Hub::router`] served by `axum::serve`).
    pub http_header_timeout: Duration,
    /// How long a keep-alive connection may wait, after an answer, for its
    /// next request (default 5 s; the header timeout bounds it too).
    pub http_idle_timeout: Duration,
    /// Most accepted connections that have not yet sent a complete request
    /// (head and body; default 1,024). A new connection over it closes the
    /// oldest of them, as does running out of file descriptors, so that
    /// new clients and `/healthz` are still served under a slowloris. Keep
    /// it under the process's descriptor limit.
    pub http_max_pending: usize,
    /// Largest request head (request line and headers) a connection may
    /// send, in bytes (default 64 KiB, at least 8 KiB): hyper buffers a
    /// head until it is complete, so this times `http_max_pending` bounds
    /// what a slowloris of large heads can make the server hold. A larger
    /// head gets `431` and the connection is closed.
    pub http_max_head_size: usize,
    /// Most live connections (WebSocket or long-polling) from one client
    /// address (default 1,000; 0: no limit). Over it the handshake gets
    /// `429` `too_many_connections`. IPv6 clients count by their /64.
    ///
    /// The per-address limits need the TCP peer's address, as
    /// `axum::extract::ConnectInfo<SocketAddr>` in the request's
    /// extensions: [`crate::Hub::serve`] and [`crate::Hub::serve_router`]
    /// add it; an application serving [`crate::Hub::router`] otherwise
    /// must use `into_make_service_with_connect_info::<SocketAddr>()`, or
    /// the per-address limits do not apply (every request is admitted as
    /// if from an exempt address).
    pub max_connections_per_address: usize,
    /// Live connections allowed per user on this node (PROTOCOL.md section
    /// 10: the sockets of one token `sub`), default 0: no limit. Over it
    /// the handshake gets `429` `limit`. Counted per node: in a cluster a
    /// user may hold this many on each node.
    pub max_connections_per_user: usize,
    /// Handshakes per second allowed from one client address, with a burst
    /// (default 100/s, burst 200; `None`: no limit). Over it the handshake
    /// gets `429` `too_many_handshakes` with `Retry-After: 1`.
    pub handshake_rate_per_address: Option<RateLimit>,
    /// Whether loopback clients (127.0.0.0/8, ::1) are exempt from the
    /// per-address limits (default true: a reverse proxy on the same host,
    /// load tests). The other bounds still apply to them.
    pub exempt_loopback: bool,
    /// Proxies trusted to name the client (default none). Only when the
    /// TCP peer is one of these is the client address taken from
    /// `X-Forwarded-For` (or, without it, `Forwarded: for=`): the rightmost
    /// address that is not itself a trusted proxy.
    pub trusted_proxies: Vec<IpNetwork>,
    /// Most client addresses tracked at once for the per-address limits
    /// (default 65,536; an entry is about 100 bytes). Addresses with no
    /// live connection and a full handshake bucket are dropped (every 30 s,
    /// and when the table is full); a full table also drops the rate state
    /// of addresses with no live connection. When every tracked address
    /// holds a live connection, a handshake from a new one gets `503`
    /// `address_table_full`.
    pub max_tracked_addresses: usize,
    /// The hub's public origin (`https://chat.example.com`), if it is
    /// known (default none). When set, the same-host origin rule compares
    /// a browser's `Origin` with it instead of the request's `Host`, which
    /// a DNS-rebinding page controls.
    pub public_origin: Option<String>,
    /// The hub's namespace, when one application mounts several hubs
    /// (default none); see [`crate::HubBuilder::namespace`]. A clustered
    /// hub's channels are named after it: `{prefix}.{namespace}.all`.
    pub namespace: Option<String>,
    /// How much history each history room keeps (default: its last 100
    /// messages, each for 5 minutes); see [`crate::HubBuilder::history`].
    pub history_limits: HistoryLimits,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            write_timeout: Duration::from_secs(10),
            max_message_size: 64 * 1024,
            send_queue_capacity: 1024,
            inbound_queue_capacity: 64,
            max_connections: 100_000,
            allowed_origins: AllowedOrigins::SameHost,
            rate_limit: None,
            max_bad_messages: 10,
            compression: true,
            shutdown_timeout: Duration::from_secs(10),
            resume_buffer: 1000,
            resume_window: Duration::from_secs(120),
            poll_timeout: Duration::from_secs(25),
            cluster_timeout: Duration::from_secs(1),
            broadcast_coalesce: Duration::ZERO,
            resume_buffer_bytes: 1024 * 1024,
            max_detached_sessions: 10_000,
            detached_budget: 128 * 1024 * 1024,
            max_rooms_per_socket: 1000,
            max_pending_polls: 1000,
            pending_poll_timeout: Duration::from_secs(10),
            http_header_timeout: Duration::from_secs(10),
            http_idle_timeout: Duration::from_secs(5),
            http_max_pending: 1024,
            http_max_head_size: 64 * 1024,
            max_connections_per_address: 1000,
            max_connections_per_user: 0,
            handshake_rate_per_address: Some(RateLimit {
                per_second: 100,
                burst: 200,
            }),
            exempt_loopback: true,
            trusted_proxies: Vec::new(),
            max_tracked_addresses: 65_536,
            public_origin: None,
            namespace: None,
            history_limits: HistoryLimits::default(),
        }
    }
}
