//! Mounting the hub in axum: the handshake handler, [`Hub::router`] and
//! [`Hub::serve`].

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use http::{StatusCode, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use std::sync::Arc;

use sockudo_ws::deflate::DeflateConfig;

use crate::connection::admission::admit_link;
use crate::connection::handshake_info::{handshake_of, select_subprotocol, session_codec};
use crate::hub::handle::Hub;
use crate::limits::slots::ConnectionSlot;
use crate::session::handshake::{Handshake, Transport};
use crate::transport::handshake::{
    HandshakeRefusal, negotiate_deflate, parse_query, validate_upgrade,
};
use crate::transport::ws::WsLink;

async fn handshake(State(hub): State<Hub>, request: Request) -> Response {
    match accept(hub.clone(), request).await {
        Ok(response) => response,
        Err(refusal) => {
            hub.counters().handshake_refused();
            // Counted (`handshakes_refused`), logged at debug only: an
            // attacker can cause refusals at will, and must not be able to
            // flood the log with them.
            tracing::debug!(status = %refusal.status, reason = %refusal.message, "handshake refused");
            refusal.into_response()
        }
    }
}

async fn accept(hub: Hub, request: Request) -> Result<Response, HandshakeRefusal> {
    let (mut parts, _body) = request.into_parts();
    let upgrade = validate_upgrade(&parts.method, &parts.headers)?;
    let query = parse_query(parts.uri.query())?;
    let subprotocol =
        select_subprotocol(&parts.headers, &hub.policies().subprotocols, hub.is_raw());
    let codec = session_codec(query.codec, subprotocol.as_ref());
    let (slot, extensions) = admit_link(
        &hub,
        &parts,
        &query,
        Transport::WebSocket,
        query.resume().map(|(token, last)| (token, last, codec)),
    )
    .await?;
    let on_upgrade = parts
        .extensions
        .remove::<hyper::upgrade::OnUpgrade>()
        .ok_or_else(|| {
            HandshakeRefusal::new(
                StatusCode::BAD_REQUEST,
                "bad_handshake",
                "this connection cannot be upgraded (HTTP/1.1 is required)",
            )
        })?;
    let deflate = if hub.config().compression {
        negotiate_deflate(upgrade.extensions.as_deref())
    } else {
        None
    };
    let mut response = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(header::SEC_WEBSOCKET_ACCEPT, upgrade.accept);
    if let Some((header_value, _)) = &deflate {
        response = response.header(header::SEC_WEBSOCKET_EXTENSIONS, header_value.as_str());
    }
    if let Some(subprotocol) = &subprotocol {
        response = response.header(header::SEC_WEBSOCKET_PROTOCOL, subprotocol.name());
    }
    let request_extensions = std::mem::take(&mut parts.extensions);
    let handshake = handshake_of(
        &hub,
        &parts,
        request_extensions,
        extensions,
        codec,
        subprotocol,
        Transport::WebSocket,
    );
    drop(parts);
    // The connection's task keeps only what it needs, for its whole life:
    // not the token, nor the negotiated header; what it needs only to
    // start is boxed (every 8 bytes here count: tokio rounds a task up to
    // 128).
    let setup = Box::new(LinkSetup {
        on_upgrade,
        deflate: deflate.map(|(_, config)| config),
        resume: query
            .resume()
            .map(|(session, last)| (Box::<str>::from(session), last)),
        handshake,
    });
    drop(query);
    let task = link_task(hub, setup, slot);
    tokio::spawn(task);
    response.body(Body::empty()).map_err(|e| {
        HandshakeRefusal::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
    })
}

/// What an upgraded connection's task needs only to start: boxed, so that
/// none of it takes room in the task for the connection's whole life (a
/// future keeps what it captured until it ends).
struct LinkSetup {
    on_upgrade: hyper::upgrade::OnUpgrade,
    deflate: Option<DeflateConfig>,
    /// A session's resume request: its token and last sequence number.
    resume: Option<(Box<str>, u64)>,
    handshake: Arc<Handshake>,
}

/// The task of one upgraded connection, for its whole life: it attaches
/// the link to a session and runs it. What it captures is held as long
/// as the connection (see `link_task_state_stays_small`).
// Not an `async fn`: that would keep its parameters and their moved
// copies apart in the task's state.
#[allow(clippy::manual_async_fn)]
fn link_task(
    hub: Hub,
    mut setup: Box<LinkSetup>,
    slot: ConnectionSlot,
) -> impl Future<Output = ()> + Send + 'static {
    async move {
        let upgraded = match (&mut setup.on_upgrade).await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "upgrade failed");
                return;
            }
        };
        let config = hub.config();
        let link = WsLink::server(
            TokioIo::new(upgraded),
            hub.ws_codec().clone(),
            setup.deflate.take(),
            config.write_timeout,
        );
        let resume = setup
            .resume
            .as_ref()
            .map(|(session, last)| (&**session, *last));
        let extensions = Handshake::take_hook_extensions(&mut setup.handshake);
        let attached = hub.attach_link(
            setup.handshake.codec(),
            extensions,
            setup.handshake.clone(),
            resume,
        );
        drop(setup);
        crate::events::dispatcher::opened(&hub, &attached);
        let socket = hub.socket_handle(attached.session.clone());
        let reason = crate::connection::run(link, socket, attached.link).await;
        hub.link_ended(&attached.session, attached.link, reason);
        drop(slot);
    }
}

impl Hub {
    /// An axum `Router` serving the hub at `path` (e.g. `"/ws"`), to merge
    /// into an application's router. A `Router` is also a tower `Service`.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let hub = switchboard::Hub::builder().build();
    /// let app = axum::Router::new().merge(hub.router("/ws"));
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// axum::serve(listener, app).await
    /// # }
    /// ```
    ///
    /// Long-polling (PROTOCOL.md section 6) is served beside it at
    /// `{path}/poll`.
    pub fn router(&self, path: &str) -> Router {
        let poll_path = if path.ends_with('/') {
            format!("{path}poll")
        } else {
            format!("{path}/poll")
        };
        Router::new()
            .route(path, any(handshake))
            .route(&poll_path, any(crate::edge::cors::handle_poll))
            .with_state(self.clone())
    }

    /// Serves the hub at `/` on `listener` until [`Hub::shutdown`] is
    /// called and every connection is gone: [`Hub::serve_router`] with
    /// [`Hub::router`]`("/")`. It returns only once every socket has been
    /// closed (its close frame written, or the shutdown timeout passed), so
    /// a `main` that ends after it loses no close frame.
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        let hub = self.clone();
        self.serve_router(listener, self.router("/"), async move {
            hub.shutdown_started().await;
        })
        .await?;
        // The accept loop is done once the shutdown has begun; the
        // upgraded sockets are still closing.
        self.wait_idle().await;
        Ok(())
    }

    /// Serves `router` (which should hold [`Hub::router`]) on `listener`
    /// until `shutdown` resolves, then stops accepting, lets every
    /// connection finish the request it is serving and returns once they
    /// are gone (upgraded WebSockets are the hub's: [`Hub::shutdown`]
    /// closes them with `1001`).
    ///
    /// It is HTTP/1.1 with WebSocket upgrades, and what `axum::serve`
    /// leaves out for a server on the internet:
    /// - each request head must arrive within
    ///   [`HubConfig::http_header_timeout`](crate::HubConfig::http_header_timeout),
    ///   and a keep-alive connection waits at most
    ///   [`HubConfig::http_idle_timeout`](crate::HubConfig::http_idle_timeout)
    ///   for its next request;
    /// - at most [`HubConfig::http_max_pending`](crate::HubConfig::http_max_pending)
    ///   connections may be without a complete request head: a new one
    ///   over it, or running out of file descriptors, closes the oldest of
    ///   them, so that new clients are still served under a slowloris;
    /// - a failed `accept` (out of descriptors) closes the oldest such
    ///   connection and retries after 1 ms; with none to close it pauses,
    ///   1 ms doubling up to 500 ms, instead of spinning;
    /// - every request carries `axum::extract::ConnectInfo<SocketAddr>`,
    ///   which the per-address limits need;
    /// - every connection gets `TCP_NODELAY`: small frames go out at once
    ///   instead of waiting (up to ~40 ms) for the peer's delayed ACK.
    ///
    /// Served another way (`axum::serve`), [`Hub::router`] works but has
    /// none of these; without `ConnectInfo<SocketAddr>` in the request
    /// extensions (`into_make_service_with_connect_info`), the
    /// per-address limits do not apply.
    pub async fn serve_router(
        &self,
        listener: TcpListener,
        router: Router,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> std::io::Result<()> {
        crate::edge::serve::serve_router(self, listener, router, shutdown).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The upgrade task lives as long as its connection, and tokio rounds
    /// a task up to 128 bytes: what it captures counts for every idle
    /// connection (BENCHMARKS.md, memory per idle connection).
    #[tokio::test]
    async fn link_task_state_stays_small() {
        let hub = Hub::builder().build();
        let mut request = http::Request::new(());
        let on_upgrade = hyper::upgrade::on(&mut request);
        let slot = hub.admit_for(hub.unlimited_owner().clone()).unwrap();
        let handshake = Arc::new(Handshake::bare(
            switchboard_protocol::Codec::Json,
            Transport::WebSocket,
        ));
        let setup = Box::new(LinkSetup {
            on_upgrade,
            deflate: None,
            resume: None,
            handshake,
        });
        let task = link_task(hub.clone(), setup, slot);
        let size = std::mem::size_of_val(&task);
        // 656 bytes when written: with tokio's 104 bytes of task header
        // and trailer, 760, in a 768-byte task (tokio rounds to 128;
        // 1,296 bytes and a 1,408-byte task before issue 20's changes).
        assert!(size <= 664, "the link task's state is {size} bytes");
    }
}
