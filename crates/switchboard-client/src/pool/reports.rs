//! What the pool reports about its connections: each one as [`Pool::list`]
//! shows it, and the outcome of [`Pool::send_all`].
//!
//! [`Pool::list`]: super::Pool::list
//! [`Pool::send_all`]: super::Pool::send_all

use super::PoolError;

/// Where a connection of the pool comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Dialed by the pool, to this URL.
    Dialed(String),
    /// Accepted by a hub and adopted; the hub's socket id.
    Adopted(String),
}

/// One connection as [`Pool::list`](super::Pool::list) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// Its id in the pool.
    pub id: String,
    /// Where it comes from.
    pub source: Source,
    /// Whether it is up right now.
    pub connected: bool,
}

/// The outcome of [`Pool::send_all`](super::Pool::send_all).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendAll {
    /// How many connections queued the frame.
    pub sent: usize,
    /// The connections that did not, and why.
    pub failed: Vec<(String, PoolError)>,
}
