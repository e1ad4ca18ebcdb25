//! Long-polling across origins (CORS): a page on an origin the hub allows
//! by name (its list, or any origin) may use `P/poll` from the browser.
//!
//! `OPTIONS P/poll` preflights from such an origin are answered `204`
//! with the allowed methods and `Content-Type`; every long-polling answer
//! to such an origin (errors included) carries
//! `Access-Control-Allow-Origin: <that origin>` and `Vary: Origin`. Other
//! origins get no CORS header, and their preflight is refused `403`.
//! Same-origin pages need none of this.

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::hub::handle::Hub;
use crate::transport::handshake::HandshakeRefusal;

/// How long a browser may keep a preflight's answer, seconds.
const PREFLIGHT_MAX_AGE: &str = "600";

/// `P/poll`: CORS around the long-polling handler.
pub(crate) async fn handle_poll(State(hub): State<Hub>, request: Request) -> Response {
    let cors_origin = cors_origin(&hub, request.headers());
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        return match cors_origin {
            Some(origin) => preflight_answer(origin),
            None => {
                hub.counters().edge.cors_refused();
                HandshakeRefusal::new(
                    StatusCode::FORBIDDEN,
                    "origin_refused",
                    "this origin may not use long-polling across origins (--allow-origin)",
                )
                .into_response()
            }
        };
    }
    let mut response = crate::connection::polling::handle(State(hub), request).await;
    if let Some(origin) = cors_origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// The request's `Origin`, when the hub allows it by name.
fn cors_origin(hub: &Hub, headers: &HeaderMap) -> Option<HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    hub.config()
        .allowed_origins
        .listed(text)
        .then(|| origin.clone())
}

fn preflight_answer(origin: HeaderValue) -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Content-Type"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    response
}
