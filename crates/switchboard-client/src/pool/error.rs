//! The pool's error type ([`PoolError`]); why a dial failed is the crate's
//! one [`DialError`](crate::dial::DialError).

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
