//! NATS driver for switchboard clustering.
//!
//! [`NatsDriver`] implements [`switchboard::adapter::Driver`] over NATS core
//! publish/subscribe (JetStream only for the room history, below): it
//! moves opaque byte messages between the nodes of a cluster, each channel
//! being a NATS subject. Its links never
//! reconnect behind the caller's back: when the connection is lost the
//! link's `incoming` receiver ends and publishes fail with
//! [`DriverError::Unreachable`](switchboard::adapter::DriverError::Unreachable);
//! the cluster layer then calls [`connect`](switchboard::adapter::Driver::connect)
//! again.
//!
//! ```no_run
//! use switchboard::adapter::Driver;
//! use switchboard_nats::NatsDriver;
//!
//! # async fn example() -> Result<(), switchboard::adapter::DriverError> {
//! let driver = NatsDriver::new("nats://127.0.0.1:4222")?;
//! let channels = vec!["switchboard.all".to_owned()];
//! let mut link = driver.connect(&channels).await?;
//! link.publisher.publish("switchboard.all", "hello".into()).await?;
//! while let Some(payload) = link.incoming.recv().await {
//!     tracing::info!(len = payload.len(), "message");
//! }
//! // The connection was lost: connect again later.
//! # Ok(())
//! # }
//! ```

//!
//! # Room history
//!
//! [`NatsDriver`] also keeps room history (PROTOCOL.md section 11) through
//! [`Driver::history`](switchboard::adapter::Driver::history), in NATS
//! JetStream (the server must run with JetStream enabled, `-js`):
//! - one stream per cluster prefix (`ClusterOptions::prefix` with the
//!   hub's namespace, `switchboard` by default): `SWITCHBOARD_HISTORY_{prefix}`, subjects
//!   `{prefix}.history.*`, memory storage (a NATS restart loses the
//!   history; switch the stream to file storage with the `nats` CLI to
//!   keep it: the store keeps the storage it finds), `allow_direct`,
//!   `max_msgs_per_subject` = the history size, `max_age` = its time to
//!   live; created on first use, its limits updated when they differ;
//! - one subject per room, `{prefix}.history.r{hex of the room's bytes}`,
//!   so any room string is one token (no dots or wildcards);
//! - one JetStream message per appended batch, with the headers
//!   `Switchboard-Epoch`, `Switchboard-Offset` (its first message's),
//!   `Switchboard-Count` and `Switchboard-Previous` (the stream sequence
//!   of the room's batch before it), its messages length-prefixed in the
//!   body. `max_msgs_per_subject` counts batches: up to `size` batches are
//!   stored per room, and reads answer their last `size` messages;
//! - appends are atomic across nodes by optimistic concurrency
//!   (`Nats-Expected-Last-Subject-Sequence`: JetStream refuses a publish
//!   when another node appended in between, and the append re-reads the
//!   room and retries, up to 16 times); on one node, appends to a room are
//!   queued and those waiting together are published as one batch;
//! - an append costs one JetStream publish and its acknowledgement (one
//!   round trip), plus one direct get when the node does not know the
//!   room's last batch (first append from this node, or another node
//!   appended since); each batch carries about 150 bytes of headers, its
//!   subject, and 4 bytes plus each message, and is stored as about 240
//!   bytes for one 32-byte message (570 for ten);
//! - a read costs one direct get per batch it returns, plus one or two;
//! - a restart that lost the stream starts a new epoch in every room at its
//!   next append: clients that saw the old one get `recovered: false`.
//!
//! The history store has its own connection (async-nats reconnects it by
//! itself); while it is down, calls fail at once with
//! [`DriverError::Unreachable`](switchboard::adapter::DriverError::Unreachable).

mod config;
mod driver;
mod history;
mod link;
mod subject;

pub use driver::NatsDriver;
