//! The history store's own NATS connection and its JetStream stream, both
//! made on first use: the connection then reconnects by itself (async-nats'
//! reconnection, unlike the pub/sub link's), and the stream is made again
//! when it goes missing (a server restarted without it).

use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use async_nats::connection::State;
use async_nats::jetstream::stream::{Config, DiscardPolicy, StorageType, Stream};
use async_nats::jetstream::{self, Context};
use async_nats::{Client, ConnectOptions, ServerAddr};
use switchboard::adapter::{DriverError, HistoryLimits, batch_window};

use super::failure::stream_failure;
use super::names::{stream_name, stream_subjects};
use crate::config::Credentials;

/// Bound on one server's TCP connect and handshake.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);
/// Bound on one JetStream request or publish acknowledgement: a dead
/// server fails a call fast.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How often the client pings the server (a silent network failure is
/// noticed in about three intervals).
const PING_INTERVAL: Duration = Duration::from_secs(5);

/// Where and how to connect.
pub(super) struct Target {
    pub(super) addrs: Vec<ServerAddr>,
    pub(super) credentials: Option<Credentials>,
    /// The servers without credentials, for logs and errors.
    pub(super) display: String,
}

/// A connection ready for history calls.
#[derive(Clone)]
pub(super) struct Ready {
    pub(super) context: Context,
    pub(super) stream: Stream,
}

/// The connection, made on first use, and the stream once it was made.
pub(super) struct HistoryConnection {
    target: Target,
    config: Config,
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    client: Option<(Client, Context)>,
    stream: Option<Stream>,
}

impl HistoryConnection {
    /// A connection to `target` for the stream of `prefix` with `limits`.
    pub(super) fn new(target: Target, prefix: &str, limits: HistoryLimits) -> Self {
        let config = Config {
            name: stream_name(prefix),
            description: Some("switchboard room history (one subject per room)".into()),
            subjects: vec![stream_subjects(prefix)],
            max_messages_per_subject: i64::try_from(limits.size.max(1)).unwrap_or(i64::MAX),
            max_age: limits.ttl.max(Duration::from_millis(100)),
            // How long JetStream remembers a batch id (`Nats-Msg-Id`): a
            // repeat within it is not kept again. No longer than `max_age`
            // (JetStream requires it).
            duplicate_window: batch_window(&limits).max(Duration::from_millis(100)),
            storage: StorageType::Memory,
            num_replicas: 1,
            discard: DiscardPolicy::Old,
            allow_direct: true,
            ..Config::default()
        };
        Self {
            target,
            config,
            slot: Mutex::default(),
        }
    }

    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the connection is up now.
    pub(super) fn is_connected(&self) -> bool {
        self.slot()
            .client
            .as_ref()
            .is_some_and(|(client, _)| client.connection_state() == State::Connected)
    }

    /// The connection and the stream, made now if need be; fails at once
    /// while the connection is down (async-nats reconnects meanwhile).
    pub(super) async fn ready(&self) -> Result<Ready, DriverError> {
        let context = self.context().await?;
        if let Some(stream) = self.slot().stream.clone() {
            return Ok(Ready { context, stream });
        }
        let stream = self.ensure_stream(&context).await?;
        self.slot().stream = Some(stream.clone());
        Ok(Ready { context, stream })
    }

    /// Forgets the stream: the next call makes sure it exists again.
    pub(super) fn forget_stream(&self) {
        self.slot().stream = None;
    }

    async fn context(&self) -> Result<Context, DriverError> {
        let existing = self.slot().client.clone();
        let (client, context) = match existing {
            Some(pair) => pair,
            None => {
                let client = self.connect().await?;
                let mut context = jetstream::new(client.clone());
                context.set_timeout(REQUEST_TIMEOUT);
                // The first connection stored is kept; another one made at
                // the same time is dropped (and closes).
                self.slot().client.get_or_insert((client, context)).clone()
            }
        };
        if client.connection_state() != State::Connected {
            return Err(DriverError::Unreachable(format!(
                "NATS history: not connected to {}",
                self.target.display
            )));
        }
        Ok(context)
    }

    async fn connect(&self) -> Result<Client, DriverError> {
        let options = match &self.target.credentials {
            Some(Credentials::UserPassword(user, pass)) => {
                ConnectOptions::with_user_and_password(user.clone(), pass.clone())
            }
            Some(Credentials::Token(token)) => ConnectOptions::with_token(token.clone()),
            None => ConnectOptions::new(),
        };
        let servers = self.target.display.clone();
        let client = options
            .connection_timeout(CONNECTION_TIMEOUT)
            .ping_interval(PING_INTERVAL)
            .event_callback(move |event| {
                tracing::debug!(servers = %servers, %event, "NATS history connection");
                std::future::ready(())
            })
            .connect(self.target.addrs.clone())
            .await
            .map_err(|e| {
                let message = format!(
                    "NATS history: cannot connect to {}: {e}",
                    self.target.display
                );
                match e.kind() {
                    async_nats::ConnectErrorKind::Authentication
                    | async_nats::ConnectErrorKind::AuthorizationViolation => {
                        DriverError::Refused(message)
                    }
                    _ => DriverError::Unreachable(message),
                }
            })?;
        tracing::debug!(servers = %self.target.display, "NATS history connection opened");
        Ok(client)
    }

    /// Gets the stream, or creates it; updates it when its limits or
    /// subjects differ from this store's (the last store made wins).
    async fn ensure_stream(&self, context: &Context) -> Result<Stream, DriverError> {
        let failure = |e| stream_failure(&e, self.is_connected());
        let stream = context
            .get_or_create_stream(self.config.clone())
            .await
            .map_err(failure)?;
        let current = &stream.cached_info().config;
        let wanted = &self.config;
        if current.subjects == wanted.subjects
            && current.max_messages_per_subject == wanted.max_messages_per_subject
            && current.max_age == wanted.max_age
            && current.duplicate_window == wanted.duplicate_window
            && current.allow_direct
        {
            return Ok(stream);
        }
        let mut config = current.clone();
        config.subjects.clone_from(&wanted.subjects);
        config.max_messages_per_subject = wanted.max_messages_per_subject;
        config.max_age = wanted.max_age;
        config.allow_direct = true;
        // Never more than the maximum age (both come from the same limits).
        config.duplicate_window = wanted.duplicate_window;
        tracing::info!(
            stream = %config.name,
            size = config.max_messages_per_subject,
            ttl = ?config.max_age,
            duplicate_window = ?config.duplicate_window,
            "NATS history: updating the stream's limits"
        );
        context.update_stream(&config).await.map_err(failure)?;
        context.get_stream(&config.name).await.map_err(|e| {
            let message = format!("NATS history stream: {e}");
            if self.is_connected() {
                DriverError::Refused(message)
            } else {
                DriverError::Unreachable(message)
            }
        })
    }
}
