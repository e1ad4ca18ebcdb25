//! [`RedisDriver`]: URL parsing, connecting and subscribing.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use redis::io::tcp::{TcpSettings, socket2::TcpKeepalive};
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo, RedisError};
use switchboard::adapter::{Driver, DriverError, DriverLink, HistoryLimits, SharedHistoryStore};

use crate::error::driver_error;
use crate::history::RedisHistoryStore;
use crate::link;

/// Bound on a whole [`Driver::connect`]: both connections, the handshake
/// and every subscription confirmation.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(2500);
/// Bound on one `PUBLISH` round trip; past it the link is declared lost.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);

/// A Redis Pub/Sub backend for the cluster adapter.
///
/// Each [`connect`](Driver::connect) opens two connections to the server:
/// one in subscriber mode that feeds [`DriverLink::incoming`], one
/// multiplexed connection behind [`DriverLink::publisher`]. The link lives
/// and dies as one: if either connection is lost (or a publish times out),
/// `incoming` closes and every later publish fails with
/// [`DriverError::Unreachable`]. The driver never reconnects by itself.
///
/// Backpressure: received messages are forwarded to `incoming` (a bounded
/// channel) with an awaited send, so a slow consumer delays delivery but
/// nothing is dropped. Note that redis-rs reads the subscriber socket on its
/// own task into an unbounded buffer, so the Redis reader never stalls and
/// the server never sees the backpressure: a consumer that stays behind
/// grows memory in this process rather than being disconnected by Redis.
///
/// It keeps room history too ([`Driver::history`]): a stream and a hash per
/// room, written by one atomic script per append (see the crate
/// documentation for the keys, commands and costs).
pub struct RedisDriver {
    client: Client,
}

impl RedisDriver {
    /// Parses the URL (`redis://[user:pass@]host:port[/db]`, or
    /// `redis+unix:///path/to/socket`); a [`DriverError::Config`] on a bad
    /// one, or on `rediss://` (TLS is not built in). Does not connect.
    pub fn new(url: &str) -> Result<Self, DriverError> {
        let scheme = url.split_once("://").map(|(scheme, _)| scheme);
        if matches!(scheme, Some("rediss" | "valkeys")) {
            return Err(DriverError::Config(
                "TLS (rediss://) is not supported by switchboard-redis; use redis:// \
                 or terminate TLS in front of Redis"
                    .into(),
            ));
        }
        let info = url
            .into_connection_info()
            .map_err(|e| DriverError::Config(format!("bad Redis URL: {e}")))?;
        let keepalive = TcpKeepalive::new()
            .with_time(Duration::from_secs(15))
            .with_interval(Duration::from_secs(5));
        let info = info.set_tcp_settings(
            TcpSettings::default()
                .set_nodelay(true)
                .set_keepalive(keepalive),
        );
        let client = Client::open(info).map_err(|e| DriverError::Config(e.to_string()))?;
        Ok(Self { client })
    }

    async fn open(&self, channels: &[String]) -> Result<DriverLink, RedisError> {
        let subscriber = async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            // One SUBSCRIBE per channel, each awaiting its own confirmation
            // (early redis-rs 1.x completes a many-channel SUBSCRIBE at its
            // first confirmation).
            for channel in channels {
                pubsub.subscribe(channel).await?;
            }
            Ok::<_, RedisError>(pubsub)
        };
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT));
        let publisher = self
            .client
            .get_multiplexed_async_connection_with_config(&config);
        let (pubsub, publisher) = futures_util::future::try_join(subscriber, publisher).await?;
        Ok(link::start(pubsub, publisher))
    }
}

impl std::fmt::Debug for RedisDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the client: its connection info holds the password.
        f.debug_struct("RedisDriver")
            .field(
                "addr",
                &self.client.get_connection_info().addr().to_string(),
            )
            .finish_non_exhaustive()
    }
}

impl Driver for RedisDriver {
    fn connect<'a>(
        &'a self,
        channels: &'a [String],
    ) -> BoxFuture<'a, Result<DriverLink, DriverError>> {
        Box::pin(async move {
            let addr = self.client.get_connection_info().addr();
            match tokio::time::timeout(CONNECT_TIMEOUT, self.open(channels)).await {
                Ok(Ok(link)) => {
                    tracing::debug!(%addr, channels = channels.len(), "redis: connected and subscribed");
                    Ok(link)
                }
                Ok(Err(e)) => {
                    tracing::debug!(%addr, error = %e, "redis: connect failed");
                    Err(driver_error("Redis connect", &e))
                }
                Err(_) => {
                    tracing::debug!(%addr, "redis: connect timed out");
                    Err(DriverError::Unreachable(format!(
                        "no connection to Redis at {addr} within {CONNECT_TIMEOUT:?}"
                    )))
                }
            }
        })
    }

    fn name(&self) -> &'static str {
        "redis"
    }

    fn history(&self, prefix: &str, limits: HistoryLimits) -> Option<SharedHistoryStore> {
        Some(Arc::new(RedisHistoryStore::new(
            self.client.clone(),
            prefix,
            limits,
        )))
    }
}
