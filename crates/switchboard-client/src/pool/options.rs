//! Per-connection options: backoff, heartbeat, queues, TLS, the
//! `on_connect` hook.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls::{ClientConfig, RootCertStore};

use super::sender::ConnectionSender;
use crate::dial::tls::{system_tls, tls_config_with_roots};
use crate::dial::websocket::DialOptions;

/// The error an `on_connect` hook returns; the connection is dropped and
/// retried with backoff.
pub type HookError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub(crate) type HookFuture = Pin<Box<dyn Future<Output = Result<(), HookError>> + Send + 'static>>;
pub(crate) type ConnectHook = Arc<dyn Fn(ConnectionSender) -> HookFuture + Send + Sync>;

/// Exponential backoff with jitter: attempt `n` (from 1) waits
/// `min(initial * 2^(n-1), max)`, less a random part of up to `jitter` of it
/// (`jitter` = 0.5: between 50 % and 100 % of the step).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolBackoff {
    /// The first delay (default 500 ms).
    pub initial: Duration,
    /// The largest delay (default 30 s).
    pub max: Duration,
    /// The fraction of each step that is random, 0.0 to 1.0 (default 0.5).
    pub jitter: f64,
}

impl Default for PoolBackoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(500),
            max: Duration::from_secs(30),
            jitter: 0.5,
        }
    }
}

impl PoolBackoff {
    /// The delay before attempt `attempt` (from 1), with `random` in `[0, 1)`
    /// choosing the jitter. A pure function, for tests and for reasoning.
    pub fn delay_with(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30) as i32;
        let step = self.initial.as_secs_f64() * 2f64.powi(exponent);
        let step = step.min(self.max.as_secs_f64());
        let jitter = self.jitter.clamp(0.0, 1.0) * random.clamp(0.0, 1.0);
        Duration::from_secs_f64(step * (1.0 - jitter))
    }

    /// The delay before attempt `attempt` (from 1), with fresh randomness.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }
}

/// How one connection is dialed and kept alive. Cheap to clone.
#[derive(Clone)]
pub struct ConnectionOptions {
    pub(crate) backoff: PoolBackoff,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) pong_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) send_queue: usize,
    pub(crate) max_message_size: usize,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) tls: Option<Arc<ClientConfig>>,
    pub(crate) on_connect: Option<ConnectHook>,
}

impl fmt::Debug for ConnectionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionOptions")
            .field("backoff", &self.backoff)
            .field("max_attempts", &self.max_attempts)
            .field("ping_interval", &self.ping_interval)
            .field("pong_timeout", &self.pong_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("send_queue", &self.send_queue)
            .field("max_message_size", &self.max_message_size)
            .field("headers", &self.headers)
            .field("custom_tls", &self.tls.is_some())
            .field("on_connect", &self.on_connect.is_some())
            .finish()
    }
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        Self {
            backoff: PoolBackoff::default(),
            max_attempts: None,
            ping_interval: Some(Duration::from_secs(20)),
            pong_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            send_queue: 256,
            max_message_size: 16 * 1024 * 1024,
            headers: Vec::new(),
            tls: None,
            on_connect: None,
        }
    }
}

impl ConnectionOptions {
    /// What the dial of a connection to a `wss://` (`tls`) or `ws://` URL
    /// needs: no compression (raw frames), a small write buffer, and the
    /// system's roots unless [`ConnectionOptions::tls`] says otherwise
    /// (loaded only for `wss://`).
    pub(crate) fn dial_options(&self, tls: bool) -> DialOptions {
        let tls = match (&self.tls, tls) {
            (Some(config), _) => config.clone(),
            (None, true) => system_tls(),
            (None, false) => tls_config_with_roots(RootCertStore::empty()),
        };
        DialOptions {
            tls,
            headers: self.headers.clone(),
            compression: false,
            max_message_size: self.max_message_size,
            write_buffer_size: 4 * 1024,
        }
    }

    /// The defaults: backoff 500 ms to 30 s with 50 % jitter, unlimited
    /// attempts, ping every 20 s with a 10 s pong timeout, 10 s connect
    /// timeout, 256 queued sends, 16 MiB messages, system TLS roots.
    pub fn new() -> Self {
        Self::default()
    }

    /// The reconnect backoff.
    pub fn backoff(mut self, backoff: PoolBackoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The first and the largest reconnect delay (jitter unchanged).
    pub fn reconnect_delay(mut self, initial: Duration, max: Duration) -> Self {
        self.backoff.initial = initial;
        self.backoff.max = max.max(initial);
        self
    }

    /// How many retries in a row may fail before the connection gives up
    /// and leaves the pool with `Removed` (`None`, the default: never give
    /// up; `Some(0)`: never retry, a failed first dial or a lost connection
    /// is final). A successful connection resets the count.
    pub fn max_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Sends a WebSocket ping every `interval` (`None`: never) and drops the
    /// connection when nothing comes back within `pong_timeout` (any frame
    /// from the peer counts). `pong_timeout` also bounds every write: a peer
    /// that stops reading is dropped too.
    pub fn heartbeat(mut self, interval: Option<Duration>, pong_timeout: Duration) -> Self {
        self.ping_interval = interval;
        self.pong_timeout = pong_timeout;
        self
    }

    /// How long TCP connect, TLS and the upgrade may take together.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many frames may wait to be written (at least 1); a send beyond
    /// that fails with [`super::PoolError::QueueFull`].
    pub fn send_queue(mut self, frames: usize) -> Self {
        self.send_queue = frames.max(1);
        self
    }

    /// The largest message accepted from the peer; a larger one drops the
    /// connection (1009) and it reconnects.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Adds a header to the upgrade request (authorization, cookies...).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The TLS configuration for `wss://` (default: the system's roots, see
    /// [`super::tls_config_with_roots`] for custom roots or client certs).
    pub fn tls(mut self, config: Arc<ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Runs `hook` after every successful (re)connect, with a sender for
    /// this connection: resubscribe there. Frames received meanwhile are
    /// delivered as usual; an `Err` drops the connection and retries.
    pub fn on_connect<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(ConnectionSender) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HookError>> + Send + 'static,
    {
        self.on_connect = Some(Arc::new(move |sender| Box::pin(hook(sender))));
        self
    }
}
