//! One live link: the subscriber task feeding `incoming`, and the publisher.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use redis::AsyncCommands;
use redis::aio::{MultiplexedConnection, PubSub, PubSubStream};
use switchboard::adapter::{DriverError, DriverLink, DriverPublisher};
use tokio::sync::{mpsc, watch};

use crate::error::driver_error;

/// Capacity of [`DriverLink::incoming`].
const INCOMING_CAPACITY: usize = 4096;

/// Starts the subscriber task and returns the link. Both halves share a
/// `lost` flag: set by either side when its connection fails, it closes
/// `incoming` and fails every later publish.
pub(crate) fn start(pubsub: PubSub, publisher: MultiplexedConnection) -> DriverLink {
    let (tx, incoming) = mpsc::channel(INCOMING_CAPACITY);
    let lost = Arc::new(watch::Sender::new(false));
    tokio::spawn(pump(pubsub.into_on_message(), tx, Arc::clone(&lost)));
    DriverLink {
        publisher: Box::new(RedisPublisher {
            connection: publisher,
            lost,
        }),
        incoming,
    }
}

/// Forwards every received payload to `tx` until the subscriber connection
/// is lost, the publisher declares the link lost, or the receiver is
/// dropped. Ending drops `tx` (closing `incoming`) and the stream (closing
/// the subscriber connection).
async fn pump(mut stream: PubSubStream, tx: mpsc::Sender<Bytes>, lost: Arc<watch::Sender<bool>>) {
    let mut lost_rx = lost.subscribe();
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = lost_rx.wait_for(|lost| *lost) => {
                tracing::debug!("redis: link lost on the publishing side; closing the subscriber");
                return;
            }
            () = tx.closed() => {
                tracing::debug!("redis: incoming receiver dropped; closing the subscriber");
                return;
            }
        };
        let Some(message) = message else {
            // redis-rs ends the stream when the socket closes or errs.
            tracing::warn!("redis: subscriber connection lost");
            lost.send_replace(true);
            return;
        };
        let payload = Bytes::copy_from_slice(message.get_payload_bytes());
        // Awaited send: backpressure on a full channel rather than a drop.
        // redis-rs keeps reading the socket meanwhile (unbounded buffer).
        tokio::select! {
            sent = tx.send(payload) => {
                if sent.is_err() {
                    tracing::debug!("redis: incoming receiver dropped; closing the subscriber");
                    return;
                }
            }
            _ = lost_rx.wait_for(|lost| *lost) => {
                tracing::debug!("redis: link lost on the publishing side; closing the subscriber");
                return;
            }
        }
    }
}

/// The publishing half of a Redis link.
struct RedisPublisher {
    connection: MultiplexedConnection,
    lost: Arc<watch::Sender<bool>>,
}

impl DriverPublisher for RedisPublisher {
    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payload: Bytes,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            if *self.lost.borrow() {
                return Err(DriverError::Unreachable(
                    "Redis publish: connection lost".into(),
                ));
            }
            let mut connection = self.connection.clone();
            match connection.publish(channel, payload.as_ref()).await {
                Ok(()) => Ok(()),
                Err(e) => {
                    let error = driver_error("Redis publish", &e);
                    if let DriverError::Unreachable(_) = error
                        && !self.lost.send_replace(true)
                    {
                        tracing::warn!(error = %e, "redis: publish failed; link lost");
                    }
                    Err(error)
                }
            }
        })
    }
}
