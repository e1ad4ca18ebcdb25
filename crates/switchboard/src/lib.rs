//! # Switchboard
//!
//! A real-time messaging hub: WebSocket connections with named events, rooms,
//! broadcast and acks, speaking the wire protocol of `PROTOCOL.md` so that any
//! plain WebSocket client can join with nothing but a JSON encoder.
//!
//! ## Quick start
//!
//! This runs as it is (a doc test, with a hidden client that asks for an
//! echo and then stops the server in place of Ctrl-C):
//!
//! ```
//! use switchboard::{Hub, HandlerError};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Chat { room: String, text: String }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let hub = Hub::builder()
//!         // Reply to acks with the same data.
//!         .on("echo", |_socket, data: serde_json::Value| async move {
//!             Ok::<_, HandlerError>(data)
//!         })
//!         // Typed payloads: data that does not decode never reaches the handler.
//!         .on("chat", |socket, chat: Chat| async move {
//!             socket.hub().to(&chat.room).except(socket.id()).emit("chat", &chat.text)?;
//!             Ok::<_, HandlerError>(())
//!         })
//!         .build();
//!
//!     // Mount it in your own axum app, served with the hub's HTTP timeouts
//!     // and per-address limits (`axum::serve` works too, without them)...
//!     let app = axum::Router::new().merge(hub.router("/ws"));
//!     // `listen` binds with a backlog for reconnection storms (tokio's
//!     // `TcpListener::bind` asks the kernel for 128). Port 0 takes a free
//!     // port; a server names its own, e.g. 8080.
//!     let listener = switchboard::listen(([127, 0, 0, 1], 0)).await?;
//!     let url = format!("ws://{}/ws", listener.local_addr()?);
//!     tracing::info!(%url, "hub listening");
//!     let stop = {
//!         let hub = hub.clone();
//!         async move {
//!             let _ = tokio::signal::ctrl_c().await;
//!             hub.shutdown().await; // closes every socket with 1001
//!         }
//!     };
//! #   let stop = {
//! #       let hub = hub.clone();
//! #       async move {
//! #           let mut client = switchboard_testkit::WsClient::connect(&url).await;
//! #           let reply = client.request("echo", serde_json::json!({"n": 1})).await;
//! #           assert_eq!(reply["data"], serde_json::json!({"n": 1}));
//! #           client.close().await;
//! #           hub.shutdown().await;
//! #       }
//! #   };
//!     hub.serve_router(listener, app, stop).await
//!     // ...or run it alone: `hub.serve(listener).await`.
//! }
//! ```
//!
//! The [`guide`] has a page for each concept: rooms, acks, sessions and
//! resume, long-polling, clusters, limits, and auth hooks.
//!
//! ## Ways to consume traffic
//!
//! - Handlers by event name ([`HubBuilder::on`]), with connect, disconnect,
//!   error and fallback handlers. A socket's handlers run in order.
//! - Pool style: [`HubBuilder::build_with_stream`] gives one
//!   [`MessageStream`] of every inbound message, tagged with its socket.
//! - Channel binding: [`Socket::bind`] turns a socket into a typed receiver,
//!   a sender, a `closed` future and a way to close, for one `select!`.
//! - Raw mode ([`HubBuilder::raw_mode`]): frames pass through without the
//!   envelope.
//!
//! ## Sessions, resume and long-polling
//!
//! A socket is a session: a link that drops without a close frame leaves it
//! waiting for `resume_window` (default 120 s), still in its rooms and
//! buffering what is sent to it (the last `resume_buffer` messages, shared
//! `Bytes`, default 1,000, and at most `resume_buffer_bytes` of payload,
//! default 1 MiB). Hub-wide, at most `max_detached_sessions` (10,000) wait
//! at once, holding at most `detached_budget` (128 MiB) together; past
//! either, the oldest end first. A client that reconnects with
//! `resume=<session>&last=<n>` gets the same id and exactly the messages it
//! missed. [`Hub::router`] also serves long-polling at `{path}/poll` for
//! networks that block WebSockets; a session may move between transports.
//! The disconnect handler runs once, when the session ends.
//!
//! ## The handshake, authentication and state
//!
//! Handlers see what their socket connected with: [`Socket::handshake`]
//! ([`Handshake`]: URI and query, headers, client address, codec,
//! subprotocol, transport) and [`Socket::req_extension`], the request
//! extensions tower or axum middleware set before the upgrade, so an
//! application's own auth layer reaches the handlers. The hub's own hook,
//! [`HubBuilder::authenticate`], can refuse a handshake and attaches what
//! it returns ([`Socket::extension`]). Application state for the whole hub
//! is given once: checked at compile time with [`HubBuilder::with_state`]
//! (handlers registered with [`HubBuilder::on_state`] receive it as
//! [`HubState`]), or by type with [`HubBuilder::state`] and
//! [`Socket::state`]. A client may name its codec with the WebSocket
//! subprotocol `switchboard.v1` or `switchboard.v1.msgpack`; applications
//! add their own names with [`HubBuilder::subprotocol`], and
//! [`Socket::subprotocol`] tells which was selected.
//!
//! ## TLS
//!
//! With the `tls` feature (off by default), `Hub::serve_tls` and
//! `Hub::serve_router_tls` serve HTTPS and `wss://` themselves, over
//! rustls, with the same timeouts and limits; `tls_config_from_pem_files`
//! makes their configuration from a PEM certificate chain and key. Behind
//! a proxy that terminates TLS, the plain `serve` is all it takes.
//!
//! ## Clusters
//!
//! Several hubs act as one through an [`adapter::Adapter`]: give the
//! builder an [`adapter::ClusterAdapter`] over a Redis or NATS driver
//! (`switchboard-redis`, `switchboard-nats`) and broadcasts, `send_to`,
//! relays, acks and disconnects reach the sockets of every node, while
//! [`Hub::cluster`] answers members, rooms and counts cluster-wide. The
//! [`adapter`] module says what crosses nodes and what happens while the
//! backend is down.
//!
//! ## Recipients
//!
//! [`BroadcastOperator`] picks recipients and emits once, encoding the
//! message once per codec whatever their number: [`Hub::to`] a room (add
//! more with `.to`), [`Hub::to_all`], [`Hub::to_sockets`] a list of socket
//! ids (on any node), combined freely and narrowed with `.except(id)`;
//! [`Hub::send_to`] one id.
//!
//! ## Binary payloads
//!
//! A MessagePack client may put `bin` values anywhere in its `data`.
//! Handlers receive them as bytes when their payload type asks for bytes
//! ([`Binary`], `bytes::Bytes`, `serde_bytes::ByteBuf`, `Vec<u8>`), and
//! what the hub emits with [`Binary`] (or re-emits from a client's data)
//! reaches MessagePack clients as `bin`. JSON clients receive a binary
//! value as a bin object, `{"$bin": "<base64>"}`, and may send one to
//! stand for bytes; [`protocol::binary`] has the details.
//!
//! ```
//! use serde::Deserialize;
//! use switchboard::{Binary, HandlerError, Hub};
//!
//! #[derive(Deserialize)]
//! struct Upload { name: String, file: Binary }
//!
//! let hub = Hub::builder()
//!     .on("upload", |socket, upload: Upload| async move {
//!         // `bin` to MessagePack members, a bin object to JSON ones.
//!         socket.hub().to("files").emit("file", (&upload.name, &upload.file))?;
//!         Ok::<_, HandlerError>(upload.file.len())
//!     })
//!     .build();
//! # drop(hub);
//! ```
//!
//! ## Several hubs in one app (namespaces)
//!
//! Each [`Hub`] has its own sockets, rooms, handlers and options: mount
//! several in one router, each at its own path (long-polling follows at
//! `{path}/poll`), and serve them on one listener. Clustered, name each
//! with [`HubBuilder::namespace`]: its channels on the backend become
//! `{prefix}.{namespace}`, so that each hub meets only the hub of the
//! same namespace on other nodes (hubs on the same channels would act as
//! one, their rooms and broadcasts shared).
//!
//! ```no_run
//! # use switchboard::adapter::{ClusterAdapter, ClusterOptions, MemoryBus};
//! # async fn run(bus: MemoryBus) -> std::io::Result<()> {
//! use switchboard::Hub;
//!
//! let chat = Hub::builder()
//!     .namespace("chat")
//!     .adapter(ClusterAdapter::new(bus.clone(), ClusterOptions::default()))
//!     .build();
//! let game = Hub::builder()
//!     .namespace("game")
//!     .adapter(ClusterAdapter::new(bus, ClusterOptions::default()))
//!     .build();
//! let app = chat.router("/chat/ws").merge(game.router("/game/ws"));
//! let listener = switchboard::listen(([127, 0, 0, 1], 8080)).await?;
//! // One accept loop for both (its HTTP options are `chat`'s); shut each
//! // hub down on its own.
//! chat.serve_router(listener, app, std::future::pending()).await
//! # }
//! ```
//!
//! ## Limits and failure
//!
//! Every socket has a bounded send queue; one that overflows is closed with
//! `4001` while every other socket keeps receiving. Messages over the size
//! limit close with `1009`, bad messages get `$error` and ten in a row close
//! with `1008`. A handler that fails or panics answers `internal` and the
//! socket and hub keep running.
//!
//! What one client can make the hub hold is bounded: a socket `$join`s at
//! most `max_rooms_per_socket` rooms (default 1,000; past it the error
//! `limit`); the hub's own answers (`$pong`, `$error`) are shed past half
//! the send queue instead of overflowing it, and a socket's next message
//! waits until its queue is below that mark; a JSON socket's binary frames
//! and a MessagePack socket's text frames are bad messages; long-polling
//! opens that have not sent their first `GET` take no connection slot
//! (at most `max_pending_polls`, default 1,000, for at most
//! `pending_poll_timeout`, default 10 s). [`HubStats::resources`] counts
//! what these bounds hold and refused.
//!
//! ## On the internet
//!
//! [`Hub::serve`] and [`Hub::serve_router`] (an application's own router
//! with the hub merged in) serve with what `axum::serve` lacks: a header
//! (and body) timeout, an idle keep-alive timeout, a cap on connections
//! without a complete request that closes the oldest of them (also when
//! descriptors run out), and per-client-address limits on connections and
//! handshake rate (`429`), with trusted proxies named by
//! [`HubConfig::trusted_proxies`]. Loopback clients are exempt from the
//! per-address limits by default ([`HubConfig::exempt_loopback`]).
//! Long-polling answers CORS for the origins [`AllowedOrigins`] names, and
//! [`HubConfig::public_origin`] keeps DNS-rebinding pages out of the
//! same-host origin rule.
//!
//! ## The WebSocket codec
//!
//! Frames are read and written by `switchboard-sockudo-ws`, a fork of
//! sockudo-ws 3.1.0 kept in this workspace and published with it (imported
//! under upstream's name, `sockudo_ws`). Upstream gives every connection a
//! 64 KiB receive window and a cork buffer for its whole life, about 20 KiB
//! of RSS per idle connection, with no option to shrink them; the fork adds
//! `Config::release_idle_buffers` (idle connections hold neither buffer) and
//! creates the inflate state on the first compressed message, which halves
//! the memory of an idle connection. A fork with its own name rather than a
//! `[patch]`: a patch applies only inside this workspace, so an application
//! depending on `switchboard` would get upstream and fail to build. The
//! fork's README lists every change; its `UPSTREAM.diff` is the whole diff.

pub mod adapter;
mod app;
mod builder;
mod channel;
mod client_addr;
mod config;
mod connection;
mod edge;
mod error;
mod events;
pub mod guide;
mod hub;
mod id;
mod limits;
mod send_queue;
mod service;
mod session;
mod state;
mod stats;
mod stream;
mod tokens;
mod transport;

pub use app::handlers::FallbackEvent;
pub use app::policies::{AuthRejection, HandshakeRequest, RelayRequest};
pub use builder::{HubBuilder, HubState};
pub use channel::{ChannelControl, ChannelReceiver, ChannelSender, SocketChannel};
pub use client_addr::IpNetworkError;
pub use config::IpNetwork;
pub use config::{AllowedOrigins, HistoryLimits, HubConfig, RateLimit};
pub use edge::listen::{LISTEN_BACKLOG, listen};
#[cfg(feature = "tls")]
pub use edge::tls_config::{TlsConfigError, tls_config_from_pem, tls_config_from_pem_files};
pub use error::{AckError, DisconnectReason, HandlerError, HistoryError, HubError, SendError};
pub use hub::broadcast::BroadcastOperator;
pub use hub::cluster_view::{ClusterAnswer, ClusterView};
pub use hub::handle::{Hub, Socket};
pub use session::handshake::{Handshake, Transport};
pub use session::identity::{Identity, UserGrant};
pub use session::inbox::RawFrame;
pub use stats::{EdgeCounts, ErrorCounts, HubStats, QueueDepths, ResourceStats, RoomTraffic};
pub use stream::{Inbound, InboundEvent, MessageStream};
pub use tokens::{TokenClaims, TokenError, TokenKeyError, TokenVerifier};
pub use transport::handshake::HandshakeRefusal;

/// The wire protocol: messages, codecs, error and close codes.
pub use switchboard_protocol as protocol;
pub use switchboard_protocol::{
    Binary, CloseCode, Codec, ErrorCode, HistoryPosition, RoomHistory, RoomPresence,
    SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, UserPresence,
};
/// rustls, whose `ServerConfig` [`Hub::serve_tls`] and
/// [`Hub::serve_router_tls`] take (feature `tls`).
#[cfg(feature = "tls")]
pub use tokio_rustls::rustls;
