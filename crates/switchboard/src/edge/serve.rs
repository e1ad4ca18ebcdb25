//! The accept loop: HTTP/1.1 over hyper with the edge's timeouts, the cap
//! on connections still sending their request (head or body), WebSocket
//! upgrades, `ConnectInfo`, `TCP_NODELAY`, and graceful shutdown. What a
//! connection does with its TCP stream before HTTP is a [`Handshake`]:
//! nothing for plain HTTP ([`PlainTcp`]), TLS with the `tls` feature
//! (`edge/tls.rs`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::routing::future::RouteFuture;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep};
use tower::Service as _;

use crate::config::HubConfig;
use crate::edge::body::EdgeBody;
use crate::edge::pending::{PendingConnections, PendingEntry};
use crate::hub::handle::Hub;

/// How often failed `accept` calls may be logged.
const ACCEPT_LOG_EVERY: Duration = Duration::from_secs(10);

/// The first and the longest pause after a failed `accept`.
const ACCEPT_BACKOFF: (Duration, Duration) = (Duration::from_millis(1), Duration::from_millis(500));

/// What a connection's task does with its accepted TCP stream before
/// serving HTTP over it. It runs on the connection's task, never on the
/// accept loop, while the connection counts as pending.
pub(crate) trait Handshake: Clone + Send + Sync + 'static {
    /// The stream HTTP is served over.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// The stream to serve, or `None` to close the connection (the
    /// handshake failed, took too long, or the connection was evicted or
    /// the server is closing: `start` watches `pending` for these).
    fn start(
        &self,
        stream: TcpStream,
        pending: Pending<'_>,
    ) -> impl Future<Output = Option<Self::Io>> + Send;
}

/// What a [`Handshake`] watches while it runs.
#[cfg_attr(not(feature = "tls"), allow(dead_code))] // plain TCP watches nothing
pub(crate) struct Pending<'a> {
    pub(crate) hub: &'a Hub,
    pub(crate) peer: SocketAddr,
    /// The connection's place among the pending ones: `evicted` resolves
    /// when it must make room.
    pub(crate) entry: &'a PendingEntry,
    /// Turns true when the server stops accepting.
    pub(crate) closing: &'a mut watch::Receiver<bool>,
}

/// Plain HTTP: the stream as accepted, at no cost.
#[derive(Clone, Copy)]
pub(crate) struct PlainTcp;

impl Handshake for PlainTcp {
    type Io = TcpStream;

    #[allow(clippy::manual_async_fn)] // `impl Future + Send`, as the trait says
    fn start(
        &self,
        stream: TcpStream,
        _pending: Pending<'_>,
    ) -> impl Future<Output = Option<TcpStream>> + Send {
        std::future::ready(Some(stream))
    }
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops
/// accepting, lets each connection finish the request it is serving and
/// returns once every connection not upgraded is gone.
pub(crate) async fn serve_router(
    hub: &Hub,
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_router_with(hub, listener, router, PlainTcp, shutdown).await
}

/// [`serve_router`], each connection first going through `handshake`.
pub(crate) async fn serve_router_with<H: Handshake>(
    hub: &Hub,
    listener: TcpListener,
    router: Router,
    handshake: H,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let pending = Arc::new(PendingConnections::new(hub.config().http_max_pending));
    let (closing_tx, closing_rx) = watch::channel(false);
    // Each connection task holds a sender: `recv` ends when all are gone.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    let mut backoff = ACCEPT_BACKOFF.0;
    // Failed accepts are logged at most once per ACCEPT_LOG_EVERY, with
    // their count: an attacker must not turn them into a flood of lines.
    let mut failures = 0u64;
    let mut logged: Option<Instant> = None;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff = ACCEPT_BACKOFF.0;
                accepted
            }
            // The peer gave up before we took it: nothing to wait for.
            Err(error) if is_connection_error(&error) => continue,
            Err(error) => {
                hub.counters().edge.accept_error();
                failures += 1;
                if logged.is_none_or(|at| at.elapsed() >= ACCEPT_LOG_EVERY) {
                    tracing::warn!(
                        %error,
                        failures,
                        "accept failed: closing the oldest connections without a request, pausing"
                    );
                    logged = Some(Instant::now());
                    failures = 0;
                }
                // Out of descriptors (or memory): free one by closing the
                // oldest connection still sending its request and try again
                // as soon as it is gone; with none to close, pause longer
                // each time instead of spinning.
                let pause = if pending.evict_oldest() {
                    hub.counters().edge.pending_evicted(1);
                    ACCEPT_BACKOFF.0
                } else {
                    let pause = backoff;
                    backoff = (backoff * 2).min(ACCEPT_BACKOFF.1);
                    pause
                };
                tokio::select! {
                    () = &mut shutdown => break,
                    () = sleep(pause) => {}
                }
                continue;
            }
        };
        let connection = Connection {
            hub: hub.clone(),
            router: router.clone(),
            peer,
            pending: pending.clone(),
            handshake: handshake.clone(),
        };
        tokio::spawn(connection.run(stream, closing_rx.clone(), alive_tx.clone()));
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(alive_tx);
    let _ = alive_rx.recv().await;
    Ok(())
}

/// Errors of one incoming connection, not of the listener.
fn is_connection_error(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// One accepted connection and what it shares with the accept loop.
struct Connection<H> {
    hub: Hub,
    router: Router,
    peer: SocketAddr,
    pending: Arc<PendingConnections>,
    handshake: H,
}

impl<H: Handshake> Connection<H> {
    async fn run(
        self,
        stream: TcpStream,
        mut closing: watch::Receiver<bool>,
        _alive: mpsc::Sender<()>,
    ) {
        // Made here rather than in the accept loop: the connection's
        // short-lived allocations then come from the worker's heap, among
        // the connection's other ones, instead of leaving holes between
        // the accept loop's long-lived ones (measured: BENCHMARKS.md).
        let (entry, evicted) = self.pending.insert();
        if evicted > 0 {
            self.hub.counters().edge.pending_evicted(evicted as u64);
        }
        if let Err(error) = stream.set_nodelay(true) {
            // Only latency is lost: small frames wait for delayed ACKs.
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
        let pending = Pending {
            hub: &self.hub,
            peer: self.peer,
            entry: &entry,
            closing: &mut closing,
        };
        let Some(stream) = self.handshake.start(stream, pending).await else {
            self.pending.settle(&entry);
            return;
        };
        let config = &self.hub.config();
        let idle_timeout = config.http_idle_timeout;
        let service = ConnectionService {
            body_timeout: config.http_header_timeout,
            stats: self.hub.counters().clone(),
            router: self.router.clone(),
            peer: self.peer,
            pending: self.pending.clone(),
            entry: entry.clone(),
        };
        let conn = http1_builder(config)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(conn);
        let idle = entry.activity.idle_for(idle_timeout);
        tokio::pin!(idle);
        let mut shutting = false;
        loop {
            tokio::select! {
                result = conn.as_mut() => {
                    if let Err(error) = result {
                        if error.is_timeout() {
                            self.hub.counters().edge.header_timeout();
                        } else if error.is_parse_too_large() {
                            self.hub.counters().edge.head_too_large();
                        }
                        tracing::debug!(peer = %self.peer, %error, "HTTP connection ended");
                    }
                    break;
                }
                () = entry.evicted() => {
                    // Counted by whoever evicted it.
                    tracing::debug!(peer = %self.peer, "closed: its request was too slow, or made room for others");
                    break;
                }
                () = &mut idle, if !shutting && !idle_timeout.is_zero() => {
                    self.hub.counters().edge.idle_closed();
                    conn.as_mut().graceful_shutdown();
                    shutting = true;
                }
                _ = closing.wait_for(|closing| *closing), if !shutting => {
                    // Without a complete request there is nothing to finish.
                    if !entry.is_settled() {
                        break;
                    }
                    conn.as_mut().graceful_shutdown();
                    shutting = true;
                }
            }
        }
        self.pending.settle(&entry);
    }
}

/// The HTTP/1 connection settings of the hub's options.
fn http1_builder(config: &HubConfig) -> hyper::server::conn::http1::Builder {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new());
    // hyper buffers a request head until it is complete: this bounds what
    // each connection without a complete request can hold.
    builder.max_buf_size(
        config
            .http_max_head_size
            .max(crate::config::MIN_HTTP_HEAD_SIZE),
    );
    builder.header_read_timeout(
        (!config.http_header_timeout.is_zero()).then_some(config.http_header_timeout),
    );
    builder
}

/// The hyper service of one connection: watches the body (the connection
/// is pending until it has ended), adds `ConnectInfo`, calls the router.
#[derive(Clone)]
struct ConnectionService {
    body_timeout: Duration,
    stats: Arc<crate::stats::Counters>,
    router: Router,
    peer: SocketAddr,
    pending: Arc<PendingConnections>,
    entry: Arc<PendingEntry>,
}

impl hyper::service::Service<Request<Incoming>> for ConnectionService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Answer;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let deadline = (!self.body_timeout.is_zero()).then(|| Instant::now() + self.body_timeout);
        let mut request = request
            .map(|body| EdgeBody::new(body, &self.pending, &self.entry, deadline, &self.stats));
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.entry.activity.started();
        let mut router = self.router.clone();
        Answer {
            inner: router.call(request),
            _guard: InFlight(self.entry.clone()),
        }
    }
}

/// A request being answered; counted in flight until dropped.
struct InFlight(Arc<PendingEntry>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.activity.finished();
    }
}

/// The router's answer to one request.
struct Answer {
    inner: RouteFuture<Infallible>,
    _guard: InFlight,
}

impl Future for Answer {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.inner).poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain connection's task, while it serves HTTP (a long-polling
    /// client's keep-alive connection, or a WebSocket's until its
    /// upgrade): the TLS hook costs it nothing but its 8-byte await
    /// (1,544 bytes before it; measured in a debug build, as tests run).
    /// 1,552 bytes when the hub is built alone; 1,568 when hyper's `client`
    /// feature is on too, as in the workspace's tests and the standalone
    /// server (the `jwks` feature's HTTP client turns it on).
    #[tokio::test]
    async fn plain_connection_task_stays_small() {
        let hub = Hub::builder().build();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, peer) = listener.accept().await.unwrap();
        let (_closing_tx, closing_rx) = watch::channel(false);
        let (alive_tx, _alive_rx) = mpsc::channel::<()>(1);
        let connection = Connection {
            hub,
            router: Router::new(),
            peer,
            pending: Arc::new(PendingConnections::new(1)),
            handshake: PlainTcp,
        };
        let task = connection.run(stream, closing_rx, alive_tx);
        let size = std::mem::size_of_val(&task);
        assert!(size <= 1568, "a plain connection's task is {size} bytes");
    }
}
