//! [`ClientBuilder`]: options, then [`ClientBuilder::build`] or
//! [`ClientBuilder::connect`].

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{broadcast, mpsc, watch};
use tokio_rustls::rustls::ClientConfig;

use crate::dial::DialError;
use crate::dial::tls::tls_config;
use crate::dial::url::WsUrl;
use crate::dial::websocket::DialOptions;

use super::actor::Actor;
use super::backoff::ClientBackoff;
use super::error::{ConnectError, HandlerError};
use super::handle::{Client, Shared, State};
use super::handler::erase;
use super::link::Transports;
use super::settings::{Batching, Settings};
use super::token::IntoTokenSource;
use super::token::TokenSource;

/// Options for a [`Client`]; made by [`connect`](super::connect).
pub struct ClientBuilder {
    url: String,
    backoff: ClientBackoff,
    max_attempts: Option<u32>,
    headers: Vec<(String, String)>,
    token: Option<TokenSource>,
    ack_timeout: Duration,
    connect_timeout: Duration,
    write_timeout: Duration,
    queue_capacity: usize,
    command_capacity: usize,
    event_capacity: usize,
    compression: bool,
    batching: Option<Batching>,
    transports: Transports,
    upgrade_retry: Duration,
    max_message_size: usize,
    tls_roots: Option<Vec<CertificateDer<'static>>>,
    tls_client_auth: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    tls_config: Option<Arc<ClientConfig>>,
    shared: Shared,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("backoff", &self.backoff)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            backoff: ClientBackoff::default(),
            max_attempts: None,
            headers: Vec::new(),
            token: None,
            ack_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(20),
            write_timeout: Duration::from_secs(10),
            queue_capacity: 100,
            command_capacity: 64,
            event_capacity: 256,
            compression: true,
            batching: None,
            transports: Transports::default(),
            upgrade_retry: Duration::from_secs(30),
            max_message_size: 16 << 20,
            tls_roots: None,
            tls_client_auth: None,
            tls_config: None,
            shared: Shared::default(),
        }
    }

    /// The first reconnect delay ceiling (default 1 s); it doubles per attempt.
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.backoff.initial = delay;
        self
    }

    /// The largest reconnect delay ceiling (default 30 s).
    pub fn reconnect_delay_max(mut self, delay: Duration) -> Self {
        self.backoff.max = delay;
        self
    }

    /// Full jitter: wait a random time up to the ceiling (default on).
    pub fn jitter(mut self, enabled: bool) -> Self {
        self.backoff.jitter = enabled;
        self
    }

    /// The whole reconnect schedule at once.
    pub fn backoff(mut self, backoff: ClientBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Consecutive failed attempts (dials that did not reach `$welcome`,
    /// counted since the last live link) before the client gives up:
    /// `Some(n)`, or `None` for unlimited (the default). `Some(0)` never
    /// retries.
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Adds a header to the upgrade request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The token of every handshake, sent as the `token=` query parameter
    /// (the hub checks it, PROTOCOL.md section 10, and hands it to the
    /// application's authentication hook): a fixed string, or a function
    /// returning a fresh one (see [`IntoTokenSource`]):
    ///
    /// ```no_run
    /// # async fn sign_in() -> Result<String, std::io::Error> { Ok(String::new()) }
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use switchboard_client::client;
    /// let client = client::connect("wss://example.com/ws")
    ///     .token(|| async { sign_in().await })
    ///     .connect()
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// The function is called for every handshake (the first connect, every
    /// reconnect and resume, the move from long-polling to a WebSocket) and
    /// every refresh. With a function, the client refreshes the token
    /// before the `expires_at` of each `$welcome` by itself (the
    /// [`client`](super) module's rules say when), and a handshake refused
    /// `401` is tried again with a fresh token, up to 3 in a row. A fixed
    /// token is never refreshed: once it expires the hub closes the link
    /// (`4003`), the client's resume is refused `401 token_expired`, and the
    /// client stops with [`ClientDisconnect::Unauthorized`](super::ClientDisconnect::Unauthorized).
    pub fn token(mut self, token: impl IntoTokenSource) -> Self {
        self.token = Some(token.into_token_source());
        self
    }

    /// The default timeout of acknowledged requests (default 10 s).
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// How long a dial may take to reach `$welcome` (default 20 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many messages wait for a link while disconnected (default 100).
    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.queue_capacity = messages;
        self
    }

    /// Offer permessage-deflate (default on).
    pub fn compression(mut self, enabled: bool) -> Self {
        self.compression = enabled;
        self
    }

    /// Batch outgoing messages (default off): up to `max_messages` go out
    /// as one batch frame (PROTOCOL.md section 2), sent when it is full or
    /// `max_delay` after its first message. A batch still waiting when the
    /// client closes is sent before the close.
    pub fn batching(mut self, max_messages: usize, max_delay: Duration) -> Self {
        self.batching = Some(Batching {
            max_messages: max_messages.max(1),
            max_delay,
        });
        self
    }

    /// The transports to use (default: WebSocket with long-polling
    /// fallback).
    pub fn transports(mut self, transports: Transports) -> Self {
        self.transports = transports;
        self
    }

    /// With [`Transports::WebSocketWithFallback`], how often a session on
    /// long-polling tries to move to a WebSocket (default 30 s).
    pub fn upgrade_retry(mut self, every: Duration) -> Self {
        self.upgrade_retry = every;
        self
    }

    /// The largest message accepted from the hub (default 16 MiB).
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Trust these roots for `wss://` instead of the system's.
    pub fn tls_root_certificates(mut self, roots: Vec<CertificateDer<'static>>) -> Self {
        self.tls_roots = Some(roots);
        self
    }

    /// Present this client certificate chain and key on `wss://`.
    pub fn tls_client_certificate(
        mut self,
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Self {
        self.tls_client_auth = Some((chain, key));
        self
    }

    /// Use this rustls configuration as is (overrides the two above).
    pub fn tls_config(mut self, config: Arc<ClientConfig>) -> Self {
        self.tls_config = Some(config);
        self
    }

    /// Handles event `event` from the hub; see [`Client::on`].
    pub fn on<T, R, F, Fut>(self, event: &str, handler: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
    {
        self.shared.handlers.insert(event, erase(event, handler));
        self
    }

    /// Starts the connection task and returns the handle at once (state
    /// [`State::Connecting`]). Must be called within a Tokio runtime. Fails
    /// only on a bad URL or TLS setup.
    pub fn build(self) -> Result<Client, DialError> {
        let url = WsUrl::parse(&self.url)?;
        let tls = match self.tls_config {
            Some(config) => config,
            None if url.tls => tls_config(self.tls_roots, self.tls_client_auth)?,
            // Never used for ws:// URLs: no need to load system roots.
            None => tls_config(Some(Vec::new()), None)?,
        };
        let (commands, rx) = mpsc::channel(self.command_capacity);
        let (state_tx, state) = watch::channel(State::Connecting);
        let (events, first) = broadcast::channel(self.event_capacity);
        let shared = Arc::new(self.shared);
        let settings = Settings {
            url,
            token: self.token,
            refresh_timeout: self.ack_timeout,
            dial: DialOptions {
                tls,
                headers: self.headers,
                compression: self.compression,
                max_message_size: self.max_message_size,
                write_buffer_size: 16 * 1024,
            },
            backoff: self.backoff,
            max_attempts: self.max_attempts,
            connect_timeout: self.connect_timeout,
            write_timeout: self.write_timeout,
            queue_capacity: self.queue_capacity,
            batching: self.batching,
            transports: self.transports,
            upgrade_retry: self.upgrade_retry,
        };
        let actor = Actor::new(
            settings,
            rx,
            commands.downgrade(),
            state_tx,
            events.clone(),
            shared.clone(),
        );
        tokio::spawn(actor.run());
        Ok(Client {
            commands,
            state,
            events,
            first_events: Arc::new(Mutex::new(Some(first))),
            shared,
            ack_timeout: self.ack_timeout,
        })
    }

    /// Builds the client and waits for its first live session; fails if the
    /// client stops first (a refused handshake, `max_attempts` exhausted).
    pub async fn connect(self) -> Result<Client, ConnectError> {
        let client = self
            .build()
            .map_err(|e| ConnectError(super::ClientDisconnect::DialFailed(e.to_string())))?;
        client.connected().await.map_err(ConnectError)?;
        Ok(client)
    }
}
