//! TLS termination in the accept loop (feature `tls`): each connection's
//! task makes the handshake, bounded like a request head, then serves
//! HTTP/1.1 over it; [`Hub::serve_tls`] and [`Hub::serve_router_tls`].

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, sleep_until};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;

use crate::edge::serve::{Handshake, Pending, serve_router_with};
use crate::hub::handle::Hub;

/// The answer to a plain HTTP request sent to the TLS port: a status the
/// client can read, rather than a TLS alert it cannot.
const PLAIN_HTTP_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\n\
    Content-Type: text/plain; charset=utf-8\r\n\
    Content-Length: 48\r\n\
    Connection: close\r\n\r\n\
    This port speaks HTTPS: use https:// or wss://\n";

/// How much of a plain HTTP request head is read (and dropped) before the
/// answer, so that closing the socket does not reset it under the answer.
const PLAIN_HTTP_HEAD_LIMIT: usize = 8 * 1024;

/// The TLS handshake of every connection.
#[derive(Clone)]
pub(crate) struct TlsHandshake {
    acceptor: TlsAcceptor,
}

impl Handshake for TlsHandshake {
    type Io = TlsStream<TcpStream>;

    async fn start(&self, stream: TcpStream, pending: Pending<'_>) -> Option<Self::Io> {
        let Pending {
            hub,
            peer,
            entry,
            closing,
        } = pending;
        // As long as a request head may take: a client that connects and
        // never says hello is closed like a slowloris, and counted so.
        let timeout = hub.config().http_header_timeout;
        let deadline = (!timeout.is_zero()).then(|| Instant::now() + timeout);
        let expired = async move {
            match deadline {
                Some(deadline) => sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            result = accept(&self.acceptor, stream) => match result {
                Ok(stream) => Some(stream),
                Err(error) => {
                    tracing::debug!(%peer, %error, "TLS handshake failed");
                    None
                }
            },
            () = expired => {
                hub.counters().edge.header_timeout();
                tracing::debug!(%peer, "closed: no TLS handshake within the header timeout");
                None
            }
            () = entry.evicted() => {
                // Counted by whoever evicted it.
                tracing::debug!(%peer, "closed during its TLS handshake: made room for others");
                None
            }
            _ = closing.wait_for(|closing| *closing) => None,
        }
    }
}

/// The handshake, or a `400` for a client that speaks plain HTTP.
async fn accept(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
) -> std::io::Result<TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    // A TLS record starts with its content type (22 for a handshake); a
    // request line starts with its method, in capitals.
    if first[0].is_ascii_uppercase() {
        refuse_plain_http(stream).await;
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "a plain HTTP request on the TLS port: answered 400",
        ));
    }
    acceptor.accept(stream).await
}

/// Reads the request head (up to a limit), answers `400` and closes.
async fn refuse_plain_http(mut stream: TcpStream) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while head.len() < PLAIN_HTTP_HEAD_LIMIT {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    if stream.write_all(PLAIN_HTTP_ANSWER).await.is_ok() {
        let _ = stream.shutdown().await;
    }
}

impl Hub {
    /// [`Hub::serve`] over TLS: serves the hub at `/` as HTTPS and `wss://`
    /// on `listener` until [`Hub::shutdown`] is called and every
    /// connection is gone. Feature `tls`.
    ///
    /// `tls` is a rustls server configuration, e.g. from
    /// [`tls_config_from_pem_files`](crate::tls_config_from_pem_files).
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let hub = switchboard::Hub::builder().build();
    /// let tls = switchboard::tls_config_from_pem_files("cert.pem", "key.pem")?;
    /// let listener = switchboard::listen(([0, 0, 0, 0], 8443)).await?;
    /// hub.serve_tls(listener, tls).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Hub::serve`].
    pub async fn serve_tls(
        &self,
        listener: TcpListener,
        tls: Arc<ServerConfig>,
    ) -> std::io::Result<()> {
        let hub = self.clone();
        self.serve_router_tls(listener, self.router("/"), tls, async move {
            hub.shutdown_started().await;
        })
        .await?;
        // As in `serve`: the upgraded sockets are still closing.
        self.wait_idle().await;
        Ok(())
    }

    /// [`Hub::serve_router`] over TLS: serves `router` (which should hold
    /// [`Hub::router`]) as HTTPS, its WebSockets as `wss://`, on
    /// `listener` until `shutdown` resolves. Feature `tls`.
    ///
    /// Everything [`Hub::serve_router`] does holds, and:
    /// - each connection's task makes its TLS handshake, never the accept
    ///   loop: a slow client holds only its own task;
    /// - while it makes it, the connection is pending: it counts under
    ///   [`HubConfig::http_max_pending`](crate::HubConfig::http_max_pending)
    ///   (the oldest pending one is closed to make room) and the handshake
    ///   must end within
    ///   [`HubConfig::http_header_timeout`](crate::HubConfig::http_header_timeout)
    ///   of the accept, or the connection is closed and counted among
    ///   [`EdgeCounts::header_timeouts`](crate::EdgeCounts::header_timeouts);
    ///   the request head then has the header timeout again;
    /// - a client that sends plain HTTP to this port gets `400 Bad
    ///   Request` saying that it speaks HTTPS, and is closed.
    ///
    /// The hub serves HTTP/1.1 only: `tls` should offer ALPN `http/1.1`
    /// (as the configurations of
    /// [`tls_config_from_pem`](crate::tls_config_from_pem) do) or no ALPN,
    /// never `h2` alone. Plain connections pay nothing for this: they
    /// are served by [`Hub::serve_router`], without any TLS step.
    ///
    /// # Errors
    ///
    /// As [`Hub::serve_router`].
    pub async fn serve_router_tls(
        &self,
        listener: TcpListener,
        router: Router,
        tls: Arc<ServerConfig>,
        shutdown: impl Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        let handshake = TlsHandshake {
            acceptor: TlsAcceptor::from(tls),
        };
        serve_router_with(self, listener, router, handshake, shutdown).await
    }
}
