//! The pool's error types, one per concern.

use std::io;

/// Why a dial attempt failed. Reported in [`super::PoolEvent::Reconnecting`]
/// and the logs; the connection retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The URL is not a `ws://` or `wss://` URL.
    #[error("invalid URL {0}")]
    InvalidUrl(String),
    /// An extra header has a name or value that cannot go on the wire.
    #[error("invalid header `{0}`")]
    InvalidHeader(String),
    /// The TCP connection failed.
    #[error("connect failed: {0}")]
    Connect(io::Error),
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(io::Error),
    /// Reading or writing the upgrade failed.
    #[error("I/O error during the upgrade: {0}")]
    Io(io::Error),
    /// The server answered the upgrade with this HTTP status instead of 101.
    #[error("the server refused the upgrade with HTTP {0}")]
    Refused(u16),
    /// The upgrade response was not a valid WebSocket handshake.
    #[error("bad upgrade response: {0}")]
    Handshake(String),
    /// Connect, TLS and upgrade took longer than the connect timeout.
    #[error("no connection within the connect timeout")]
    Timeout,
}

/// Why a pool operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// No connection with this id is in the pool.
    #[error("no connection with id `{0}`")]
    UnknownId(String),
    /// A connection with this id is already in the pool.
    #[error("a connection with id `{0}` is already in the pool")]
    DuplicateId(String),
    /// The URL is not a `ws://` or `wss://` URL.
    #[error("invalid URL {0}")]
    InvalidUrl(String),
    /// The connection's send queue is full: the frame was not queued.
    #[error("the send queue of `{0}` is full")]
    QueueFull(String),
    /// The connection is closing or has left the pool.
    #[error("connection `{0}` is closed")]
    Closed(String),
    /// The pool is closed (`close_all` ran).
    #[error("the pool is closed")]
    PoolClosed,
}
