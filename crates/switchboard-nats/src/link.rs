//! One live NATS connection: its loss flag, its publisher and the task that
//! forwards subscribed messages to `incoming`.

use std::sync::{Arc, Mutex, Weak};

use async_nats::client::PublishErrorKind;
use async_nats::connection::State;
use async_nats::{Client, Event, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use switchboard::adapter::{DriverError, DriverPublisher};
use tokio::sync::{mpsc, watch};

use crate::subject::subject_for;

/// State shared by the publisher, the forwarding task and async-nats'
/// event callback (which holds it weakly, see [`Shared::on_event`]).
pub(crate) struct Shared {
    /// Set once, when the connection is lost; never cleared.
    lost: watch::Sender<bool>,
    /// The client, until the connection is lost. Taking it out on loss is
    /// what lets async-nats shut its connection task down.
    client: Mutex<Option<Client>>,
    /// The servers, for logs.
    servers: String,
}

impl Shared {
    pub(crate) fn new(servers: String) -> Arc<Self> {
        Arc::new(Self {
            lost: watch::channel(false).0,
            client: Mutex::new(None),
            servers,
        })
    }

    pub(crate) fn set_client(&self, client: Client) {
        *self.client.lock().unwrap_or_else(|e| e.into_inner()) = Some(client);
    }

    /// The client, unless the connection is known to be lost.
    fn live_client(&self) -> Option<Client> {
        let client = self
            .client
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()?;
        if *self.lost.borrow() {
            return None;
        }
        if client.connection_state() != State::Connected {
            // async-nats already noticed; its event may still be queued.
            self.mark_lost("connection state is no longer connected");
            return None;
        }
        Some(client)
    }

    pub(crate) fn is_lost(&self) -> bool {
        *self.lost.borrow()
    }

    /// Records the loss (once), and drops our client handle.
    pub(crate) fn mark_lost(&self, why: &str) {
        if !self.lost.send_replace(true) {
            tracing::warn!(servers = %self.servers, why, "NATS connection lost; closing the link");
        }
        drop(self.client.lock().unwrap_or_else(|e| e.into_inner()).take());
    }

    /// async-nats' event callback. It holds the state weakly: the state owns
    /// the client, which keeps async-nats' connection task alive, which owns
    /// the callback; a strong reference would keep all of it alive forever.
    pub(crate) fn on_event(weak: &Weak<Self>, event: Event) {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        match event {
            Event::Disconnected => shared.mark_lost("disconnected"),
            Event::Closed => shared.mark_lost("client closed"),
            Event::ClientError(async_nats::ClientError::MaxReconnects) => {
                shared.mark_lost("max reconnects reached");
            }
            Event::Connected => tracing::debug!(servers = %shared.servers, "NATS connected"),
            Event::SlowConsumer(sid) => tracing::warn!(
                servers = %shared.servers,
                sid,
                "NATS subscription buffer full: messages dropped (incoming is not drained fast enough)"
            ),
            other => tracing::info!(servers = %shared.servers, event = %other, "NATS event"),
        }
    }
}

/// Publishes on one connection; fails with [`DriverError::Unreachable`]
/// once the connection is known to be lost.
pub(crate) struct NatsPublisher {
    pub(crate) shared: Arc<Shared>,
}

impl DriverPublisher for NatsPublisher {
    fn flush(&self) -> BoxFuture<'_, Result<(), DriverError>> {
        Box::pin(async move {
            let client = self
                .shared
                .live_client()
                .ok_or_else(|| DriverError::Unreachable("NATS connection lost".into()))?;
            client
                .flush()
                .await
                .map_err(|e| DriverError::Unreachable(e.to_string()))
        })
    }

    fn publish<'a>(
        &'a self,
        channel: &'a str,
        payload: Bytes,
    ) -> BoxFuture<'a, Result<(), DriverError>> {
        Box::pin(async move {
            let client = self
                .shared
                .live_client()
                .ok_or_else(|| DriverError::Unreachable("NATS connection lost".into()))?;
            let subject = subject_for(channel).into_owned();
            // Queues the message for async-nats' connection task, which
            // writes it out; it is not confirmed by the server.
            client
                .publish(subject, payload)
                .await
                .map_err(|e| match e.kind() {
                    PublishErrorKind::MaxPayloadExceeded => DriverError::Refused(e.to_string()),
                    PublishErrorKind::InvalidSubject => DriverError::Config(e.to_string()),
                    _ => {
                        self.shared.mark_lost("publish failed");
                        DriverError::Unreachable(e.to_string())
                    }
                })
        })
    }
}

/// Forwards every message of `subscribers` to `incoming` until the
/// connection is lost, the subscriptions end, or `incoming`'s receiver is
/// dropped. Dropping `incoming` (the sender) on return closes the link.
///
/// When `incoming` is full this awaits (backpressure) rather than dropping:
/// meanwhile async-nats keeps buffering in the subscription's own channel,
/// and only when that is full too does it drop messages (reported as a
/// slow-consumer event, logged as a warning).
pub(crate) async fn forward(
    shared: Arc<Shared>,
    subscribers: Vec<Subscriber>,
    incoming: mpsc::Sender<Bytes>,
) {
    let mut lost = shared.lost.subscribe();
    let mut messages = futures_util::stream::select_all(subscribers);
    loop {
        let message = tokio::select! {
            _ = lost.wait_for(|lost| *lost) => return,
            () = incoming.closed() => break,
            message = messages.next() => message,
        };
        let Some(message) = message else {
            // async-nats dropped the subscriptions: its connection task ended.
            shared.mark_lost("subscriptions ended");
            return;
        };
        tokio::select! {
            _ = lost.wait_for(|lost| *lost) => return,
            sent = incoming.send(message.payload) => if sent.is_err() { break },
        }
    }
    tracing::debug!(servers = %shared.servers, "incoming receiver dropped; NATS subscriptions ended");
}
