//! Every option of the server, declared once: its config file key (also
//! the clap argument id), environment variable, value name, help text,
//! default and shape. The command line ([`crate::cli`]), the config file
//! keys and the error messages ([`crate::config`]) all come from this
//! table; [`crate::config::Config::resolve`] parses each option's value (or
//! its declared default) into a typed setting.

// `spec.rs` is how an option is declared; the other files hold the options
// by concern. `OPTIONS` below lists them all in `--help` order.
mod access;
mod admin;
mod backend;
mod cluster;
mod connections;
mod http_edge;
mod server;
mod sessions;
mod spec;
mod tls;
mod tokens;

pub use access::{
    ALLOW_HOST, ALLOW_ORIGIN, API_KEY, HISTORY, HISTORY_SIZE, HISTORY_TTL, PRESENCE, PUBLIC_ORIGIN,
    ROOMS,
};
pub use admin::{ADMIN_PASSWORD, ADMIN_PASSWORD_FILE, ADMIN_SESSION_TTL};
pub use backend::{
    PROXY_CONNECT, PROXY_DISCONNECT, PROXY_EVENT, PROXY_FORWARD_HEADER, PROXY_HEADER, PROXY_JOIN,
    PROXY_PUBLISH, PROXY_TIMEOUT,
};
pub use cluster::{CLUSTER_PREFIX, CLUSTER_TIMEOUT, NATS, REDIS};
pub use connections::{
    BROADCAST_COALESCE, COMPRESSION, INBOUND_QUEUE_CAPACITY, MAX_BAD_MESSAGES, MAX_CONNECTIONS,
    MAX_MESSAGE_SIZE, MAX_ROOMS_PER_SOCKET, MESSAGE_BURST_PER_SOCKET, MESSAGE_RATE_PER_SOCKET,
    PING_INTERVAL, PING_TIMEOUT, SEND_QUEUE_CAPACITY, WRITE_TIMEOUT,
};
pub use http_edge::{
    EXEMPT_LOOPBACK, HANDSHAKE_BURST_PER_ADDRESS, HANDSHAKE_RATE_PER_ADDRESS, HTTP_HEADER_TIMEOUT,
    HTTP_IDLE_TIMEOUT, HTTP_MAX_HEAD_SIZE, HTTP_MAX_PENDING, MAX_CONNECTIONS_PER_ADDRESS,
    MAX_TRACKED_ADDRESSES, TRUSTED_PROXY,
};
pub use server::{LISTEN, LOG_LEVEL, PATH, SHUTDOWN_TIMEOUT};
pub use sessions::{
    DETACHED_BUDGET, MAX_DETACHED_SESSIONS, MAX_PENDING_POLLS, PENDING_POLL_TIMEOUT, POLL_TIMEOUT,
    RESUME_BUFFER_BYTES, RESUME_BUFFER_MESSAGES, RESUME_WINDOW,
};
pub use spec::{DefaultValue, OptionSpec, Source};
pub use tls::{TLS_CERT, TLS_KEY};
pub use tokens::{
    ALLOW_ANONYMOUS, MAX_CONNECTIONS_PER_USER, TOKEN_AUDIENCE, TOKEN_HMAC_SECRET, TOKEN_ISSUER,
    TOKEN_JWKS_URL, TOKEN_PUBLIC_KEY,
};

/// Every option that may come from any source, in `--help` order
/// (`--config` itself is only a flag or an environment variable).
pub const OPTIONS: [OptionSpec; 68] = [
    LISTEN,
    TLS_CERT,
    TLS_KEY,
    PATH,
    API_KEY,
    ADMIN_PASSWORD,
    ADMIN_PASSWORD_FILE,
    ADMIN_SESSION_TTL,
    ALLOW_ORIGIN,
    ROOMS,
    PRESENCE,
    HISTORY,
    HISTORY_SIZE,
    HISTORY_TTL,
    TOKEN_HMAC_SECRET,
    TOKEN_PUBLIC_KEY,
    TOKEN_JWKS_URL,
    TOKEN_ISSUER,
    TOKEN_AUDIENCE,
    ALLOW_ANONYMOUS,
    MAX_CONNECTIONS_PER_USER,
    PROXY_CONNECT,
    PROXY_JOIN,
    PROXY_PUBLISH,
    PROXY_EVENT,
    PROXY_DISCONNECT,
    PROXY_TIMEOUT,
    PROXY_HEADER,
    PROXY_FORWARD_HEADER,
    MAX_CONNECTIONS,
    MAX_MESSAGE_SIZE,
    PING_INTERVAL,
    PING_TIMEOUT,
    WRITE_TIMEOUT,
    SEND_QUEUE_CAPACITY,
    INBOUND_QUEUE_CAPACITY,
    MESSAGE_RATE_PER_SOCKET,
    MESSAGE_BURST_PER_SOCKET,
    MAX_BAD_MESSAGES,
    SHUTDOWN_TIMEOUT,
    COMPRESSION,
    LOG_LEVEL,
    RESUME_WINDOW,
    BROADCAST_COALESCE,
    RESUME_BUFFER_MESSAGES,
    RESUME_BUFFER_BYTES,
    MAX_DETACHED_SESSIONS,
    DETACHED_BUDGET,
    MAX_ROOMS_PER_SOCKET,
    POLL_TIMEOUT,
    MAX_PENDING_POLLS,
    PENDING_POLL_TIMEOUT,
    REDIS,
    NATS,
    CLUSTER_PREFIX,
    CLUSTER_TIMEOUT,
    HTTP_HEADER_TIMEOUT,
    HTTP_IDLE_TIMEOUT,
    HTTP_MAX_PENDING,
    HTTP_MAX_HEAD_SIZE,
    MAX_CONNECTIONS_PER_ADDRESS,
    HANDSHAKE_RATE_PER_ADDRESS,
    HANDSHAKE_BURST_PER_ADDRESS,
    EXEMPT_LOOPBACK,
    TRUSTED_PROXY,
    MAX_TRACKED_ADDRESSES,
    PUBLIC_ORIGIN,
    ALLOW_HOST,
];
