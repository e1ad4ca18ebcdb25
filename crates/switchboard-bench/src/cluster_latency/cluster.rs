//! Two hubs in this process, clustered over one backend: a private
//! `redis-server` / `nats-server` on a free port, an existing server, or
//! the in-process memory bus.

use std::time::Duration;

use axum::serve::ListenerExt;
use switchboard::Hub;
use switchboard::adapter::{ClusterAdapter, ClusterOptions, Driver, MemoryBus};
use switchboard_nats::NatsDriver;
use switchboard_redis::RedisDriver;
use switchboard_testkit::BackendServer;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::{Backend, ServeMode};
use crate::error::{Error, Result};

/// How long the two nodes may take to see each other.
const JOIN_TIMEOUT: Duration = Duration::from_secs(15);

/// One hub serving WebSocket clients on a free loopback port.
pub(crate) struct Node {
    pub(crate) hub: Hub,
    /// The hub's WebSocket URL.
    pub(crate) url: String,
    serving: JoinHandle<std::io::Result<()>>,
}

impl Node {
    async fn start(
        driver: impl Driver,
        prefix: &str,
        serve: ServeMode,
        history: bool,
    ) -> Result<Self> {
        // A drain waits for detached sessions to be taken over: the
        // bench's clients never come back, so it need not wait long.
        let builder = Hub::builder().shutdown_timeout(Duration::from_secs(1));
        let builder = if history {
            builder.history(|room: &str| room == "r")
        } else {
            builder
        };
        let hub = builder
            .adapter(ClusterAdapter::new(
                driver,
                ClusterOptions::default().prefix(prefix),
            ))
            .build();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("ws://{}/", listener.local_addr()?);
        let serving = tokio::spawn(serve_hub(hub.clone(), listener, serve));
        Ok(Self { hub, url, serving })
    }

    async fn wait_for_peer(&self) -> Result<()> {
        let mut status = self.hub.cluster().watch();
        let joined = status.wait_for(|s| s.backend_up && s.peers.len() == 1);
        match tokio::time::timeout(JOIN_TIMEOUT, joined).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(Error::Backend("the cluster adapter stopped".into())),
            Err(_) => Err(Error::Timeout(format!(
                "the two nodes did not see each other within {JOIN_TIMEOUT:?}"
            ))),
        }
    }

    async fn stop(self) {
        self.hub.shutdown().await;
        let _ = self.serving.await;
    }
}

/// Serves `hub` at `/` on `listener` until the hub shuts down.
async fn serve_hub(hub: Hub, listener: TcpListener, mode: ServeMode) -> std::io::Result<()> {
    match mode {
        ServeMode::Hub => hub.serve(listener).await,
        ServeMode::Nodelay => {
            // What `Hub::serve` does, with Nagle's algorithm off on every
            // accepted connection.
            let listener = listener.tap_io(|tcp| {
                if let Err(error) = tcp.set_nodelay(true) {
                    tracing::warn!(%error, "cannot set TCP_NODELAY");
                }
            });
            let router = hub.router("/");
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { hub.shutdown_started().await })
                .await
        }
    }
}

/// Hub A (the publisher's) and hub B, seeing each other over `backend`.
pub(crate) struct Cluster {
    pub(crate) a: Node,
    pub(crate) b: Node,
    /// Where the backend runs, for the report (never a URL: it may hold
    /// credentials).
    pub(crate) server: String,
    /// Kept alive for the cluster's life; killed when dropped.
    _server: Option<BackendServer>,
}

impl Cluster {
    /// Starts the backend (unless `url` names an existing server) and two
    /// nodes over it, and waits until each sees the other.
    pub(crate) async fn start(
        backend: Backend,
        url: Option<&str>,
        serve: ServeMode,
        history: bool,
    ) -> Result<Self> {
        // A prefix of our own, so an existing server's other users (or an
        // earlier run's leftovers) are never part of this cluster.
        let prefix = format!(
            "switchboard-bench-{}-{}",
            std::process::id(),
            crate::clock::now_ns()
        );
        let (server, url) = match (backend, url) {
            (Backend::Memory, _) => (None, None),
            (_, Some(url)) => (None, Some(url.to_owned())),
            (Backend::Redis | Backend::Nats, None) => {
                let kind = match backend {
                    Backend::Nats => switchboard_testkit::Backend::Nats,
                    _ => switchboard_testkit::Backend::Redis,
                };
                let server = BackendServer::start(kind).await.ok_or_else(|| {
                    Error::Backend(format!(
                        "no {backend} server binary found: install it, or pass --url \
                         for an existing server"
                    ))
                })?;
                let url = server.url();
                (Some(server), Some(url))
            }
        };
        let where_ = match (&server, url.is_some()) {
            (Some(server), _) => format!("private {backend} server on 127.0.0.1:{}", server.port()),
            (None, true) => format!("existing {backend} server (--url)"),
            (None, false) => "in-process".to_owned(),
        };
        let url = url.unwrap_or_default();
        let (a, b) = match backend {
            Backend::Memory => {
                let bus = MemoryBus::new();
                (
                    Node::start(bus.clone(), &prefix, serve, history).await?,
                    Node::start(bus, &prefix, serve, history).await?,
                )
            }
            Backend::Redis => (
                Node::start(RedisDriver::new(&url)?, &prefix, serve, history).await?,
                Node::start(RedisDriver::new(&url)?, &prefix, serve, history).await?,
            ),
            Backend::Nats => (
                Node::start(NatsDriver::new(&url)?, &prefix, serve, history).await?,
                Node::start(NatsDriver::new(&url)?, &prefix, serve, history).await?,
            ),
        };
        a.wait_for_peer().await?;
        b.wait_for_peer().await?;
        Ok(Self {
            a,
            b,
            server: where_,
            _server: server,
        })
    }

    /// Shuts both hubs down (leaving the cluster), then the backend.
    pub(crate) async fn stop(self) {
        tokio::join!(self.a.stop(), self.b.stop());
    }
}
