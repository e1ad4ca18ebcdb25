//! A Redis Pub/Sub [`Driver`](switchboard::adapter::Driver) for the
//! switchboard cluster adapter.
//!
//! [`RedisDriver`] only moves opaque byte messages: each
//! [`connect`](switchboard::adapter::Driver::connect) opens one connection
//! that `SUBSCRIBE`s to the adapter's channels and one multiplexed
//! connection that `PUBLISH`es. It never reconnects by itself: when either
//! connection is lost the link's `incoming` channel closes and publishes fail
//! with [`DriverError::Unreachable`](switchboard::adapter::DriverError), and
//! the [`ClusterAdapter`](switchboard::adapter::ClusterAdapter) connects
//! again.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use switchboard::Hub;
//! use switchboard::adapter::{ClusterAdapter, ClusterOptions};
//! use switchboard_redis::RedisDriver;
//!
//! let driver = RedisDriver::new("redis://127.0.0.1:6379")?;
//! let hub = Hub::builder()
//!     .adapter(ClusterAdapter::new(driver, ClusterOptions::default()))
//!     .build();
//! # drop(hub);
//! # Ok(())
//! # }
//! ```
//!
//! URLs: `redis://[user:pass@]host[:port][/db]` and `redis+unix:///path`.
//! TLS (`rediss://`) is not built in (it would pull a TLS stack into every
//! build) and is rejected with a configuration error.
//!
//! # Room history
//!
//! [`RedisDriver`] also keeps room history (PROTOCOL.md section 11) through
//! [`Driver::history`](switchboard::adapter::Driver::history), shared by
//! every node on the server:
//! - keys per room: the stream `{prefix}:history:{room}` (one entry per
//!   message: its offset and bytes; its id's milliseconds are the time it
//!   was kept) and the hash `{prefix}:history-meta:{room}` (`epoch`,
//!   `offset`); `prefix` is the cluster's channel prefix
//!   (`ClusterOptions::prefix` and the hub's namespace), `switchboard` by
//!   default; any room string is a key of its own (keys are binary
//!   safe); both keys expire a time to live after the room's last append;
//! - an append is one round trip: one `EVALSHA` of a Lua script, atomic
//!   across nodes, running `TIME`, `XTRIM MINID`, `XLEN`, `HSETNX`,
//!   `HINCRBY`, one `XADD` per message, `XTRIM MAXLEN` and two `PEXPIRE`.
//!   On the wire a message costs its bytes plus 5 to 13 bytes of framing
//!   (each call about 100 bytes more, and twice the room name); in Redis's
//!   memory, its bytes plus about 25 bytes of stream entry (58 bytes for a
//!   32-byte message, measured on Redis 7.0);
//! - a read is one `EVALSHA` too (`HMGET`, `TIME`, two `XRANGE`);
//! - a Redis restart with empty memory loses the history: the next append
//!   to each room starts a new random epoch at offset 1, so clients that
//!   saw the old epoch are told `recovered: false` (never offsets that go
//!   back). With persistence (RDB or AOF) the history survives a restart
//!   up to what was last saved.
//!
//! The store uses its own multiplexed connection, opened on first use and
//! again after a loss; a call fails within about 2 s when the server does
//! not answer ([`DriverError::Unreachable`](switchboard::adapter::DriverError::Unreachable)),
//! and an error reply is [`DriverError::Refused`](switchboard::adapter::DriverError::Refused).

mod driver;
mod error;
mod history;
mod link;

pub use driver::RedisDriver;
