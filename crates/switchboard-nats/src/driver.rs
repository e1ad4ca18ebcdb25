//! [`NatsDriver`]: connecting and subscribing.

use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, ConnectErrorKind, ConnectOptions, Subscriber};
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use switchboard::adapter::{Driver, DriverError, DriverLink, HistoryLimits, SharedHistoryStore};
use tokio::sync::mpsc;

use crate::config::{Credentials, Servers, parse_servers};
use crate::history::NatsHistoryStore;
use crate::link::{NatsPublisher, Shared, forward};
use crate::subject::subject_for;

/// Time allowed for one server's TCP connect, TLS and NATS handshake.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// Time allowed, after connecting, for the subscriptions to be confirmed.
const SUBSCRIBE_TIMEOUT: Duration = Duration::from_secs(3);
/// How often the client pings the server. async-nats drops the connection
/// after two unanswered pings, so a silent network failure is noticed in
/// about three intervals (the default, 60 s, would take minutes).
const PING_INTERVAL: Duration = Duration::from_secs(5);
/// Capacity of [`DriverLink::incoming`].
const INCOMING_CAPACITY: usize = 4096;

/// A [`Driver`] over NATS core publish/subscribe (JetStream only for the
/// room history).
///
/// Each [`connect`](Driver::connect) makes a fresh async-nats client. The
/// client's own reconnection is cut short: on the first disconnection the
/// link ends (`incoming` closes, publishes fail with
/// [`DriverError::Unreachable`]) and the client is shut down, so an outage
/// is never hidden and the cluster layer reconnects and resubscribes.
///
/// Channels become NATS subjects unchanged when made of dot-separated
/// `[A-Za-z0-9_-]` tokens (such as `switchboard.node.AbC-12_x`); any other
/// channel is escaped into a subject that cannot be a wildcard.
///
/// Order: messages of one channel arrive in the order NATS delivers them;
/// messages of different channels are merged from separate subscriptions,
/// so their relative order is not kept.
///
/// It keeps room history too ([`Driver::history`]), in a JetStream stream
/// (the server needs JetStream enabled: `nats-server -js`); see the crate
/// documentation for the stream, subjects and costs.
pub struct NatsDriver {
    servers: Servers,
}

impl std::fmt::Debug for NatsDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsDriver")
            .field("servers", &self.servers.display)
            .finish_non_exhaustive()
    }
}

impl NatsDriver {
    /// Checks the URL (`nats://[user:pass@]host:port`, `nats://token@host:port`,
    /// `tls://...`, or a comma-separated list of such servers, which must
    /// share their credentials); [`DriverError::Config`] on a bad one. Does
    /// not connect.
    pub fn new(url: &str) -> Result<Self, DriverError> {
        Ok(Self {
            servers: parse_servers(url)?,
        })
    }

    fn options(&self, shared: &Arc<Shared>) -> ConnectOptions {
        let mut options = match &self.servers.credentials {
            Some(Credentials::UserPassword(user, pass)) => {
                ConnectOptions::with_user_and_password(user.clone(), pass.clone())
            }
            Some(Credentials::Token(token)) => ConnectOptions::with_token(token.clone()),
            None => ConnectOptions::new(),
        };
        let weak = Arc::downgrade(shared);
        options = options
            .connection_timeout(CONNECTION_TIMEOUT)
            .ping_interval(PING_INTERVAL)
            // One reconnection attempt at most (after it the client closes
            // and drops its subscriptions), instead of retrying forever in
            // the background. We end the link on the first disconnection
            // anyway; this bounds the abandoned client's life.
            .max_reconnects(1)
            .event_callback(move |event| {
                Shared::on_event(&weak, event);
                std::future::ready(())
            });
        options
    }

    async fn open(&self, channels: &[String]) -> Result<DriverLink, DriverError> {
        let shared = Shared::new(self.servers.display.clone());
        let client = self
            .options(&shared)
            .connect(self.servers.addrs.clone())
            .await
            .map_err(|e| {
                let message = format!("cannot connect to NATS at {}: {e}", self.servers.display);
                match e.kind() {
                    ConnectErrorKind::Authentication | ConnectErrorKind::AuthorizationViolation => {
                        DriverError::Refused(message)
                    }
                    ConnectErrorKind::ServerParse => DriverError::Config(message),
                    _ => DriverError::Unreachable(message),
                }
            })?;
        shared.set_client(client.clone());

        let subscribers = tokio::time::timeout(SUBSCRIBE_TIMEOUT, subscribe(&client, channels))
            .await
            .map_err(|_| {
                DriverError::Unreachable(format!(
                    "NATS at {} did not confirm the subscriptions in time",
                    self.servers.display
                ))
            })??;
        if shared.is_lost() {
            return Err(DriverError::Unreachable(
                "NATS connection lost while subscribing".into(),
            ));
        }
        drop(client);

        let (tx, incoming) = mpsc::channel(INCOMING_CAPACITY);
        tokio::spawn(forward(shared.clone(), subscribers, tx));
        tracing::debug!(servers = %self.servers.display, channels = channels.len(), "NATS link up");
        Ok(DriverLink {
            publisher: Box::new(NatsPublisher { shared }),
            incoming,
        })
    }
}

fn unreachable(e: impl std::fmt::Display) -> DriverError {
    DriverError::Unreachable(format!("NATS: {e}"))
}

/// Subscribes to every channel, then makes sure the server has registered
/// the subscriptions: it publishes a probe to a private inbox subscribed
/// last and waits for it to come back. The server handles one connection's
/// commands in order, so once the probe is delivered every earlier `SUB` is
/// in place (a mere `flush` only proves the bytes left this process).
async fn subscribe(client: &Client, channels: &[String]) -> Result<Vec<Subscriber>, DriverError> {
    let mut subscribers = Vec::with_capacity(channels.len());
    for channel in channels {
        let subject = subject_for(channel).into_owned();
        subscribers.push(client.subscribe(subject).await.map_err(unreachable)?);
    }
    let inbox = client.new_inbox();
    let mut probe = client.subscribe(inbox.clone()).await.map_err(unreachable)?;
    client
        .publish(inbox, bytes::Bytes::new())
        .await
        .map_err(unreachable)?;
    match probe.next().await {
        Some(_) => Ok(subscribers),
        None => Err(DriverError::Unreachable(
            "NATS connection closed while subscribing".into(),
        )),
    }
}

impl Driver for NatsDriver {
    fn connect<'a>(
        &'a self,
        channels: &'a [String],
    ) -> BoxFuture<'a, Result<DriverLink, DriverError>> {
        Box::pin(self.open(channels))
    }

    fn name(&self) -> &'static str {
        "nats"
    }

    fn history(&self, prefix: &str, limits: HistoryLimits) -> Option<SharedHistoryStore> {
        Some(Arc::new(NatsHistoryStore::new(
            &self.servers,
            prefix,
            limits,
        )))
    }
}
