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

mod driver;
mod error;
mod link;

pub use driver::RedisDriver;
