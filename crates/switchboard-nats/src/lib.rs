//! NATS driver for switchboard clustering.
//!
//! [`NatsDriver`] implements [`switchboard::adapter::Driver`] over NATS core
//! publish/subscribe (no JetStream): it moves opaque byte messages between
//! the nodes of a cluster, each channel being a NATS subject. It never
//! reconnects behind the caller's back: when the connection is lost the
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

mod config;
mod driver;
mod link;
mod subject;

pub use driver::NatsDriver;
