//! The HTTP API for application back ends (PROTOCOL.md section 9), under
//! `/api`: publish, stats, room members, kick; a user's sockets in
//! `api_users.rs`, the handlers' shared state in `api_state.rs`.
//!
//! With an API key every request needs `Authorization: Bearer KEY`;
//! without one only loopback callers are served, under the rules of
//! [`crate::keyless`] (Host, Origin, Content-Type). Every error answer is
//! `{"error":{"code":"...","message":"..."}}`.

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};
use switchboard::{CloseCode, SendError};

pub use crate::api_error::ApiError;
pub use crate::api_state::ApiState;
use crate::api_users;

/// The API's routes, to nest at `/api`.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/publish", post(publish))
        .route("/stats", get(stats))
        .route("/rooms/{*room}", get(crate::api_rooms::room))
        .route("/sockets/{id}", delete(kick))
        .route(
            "/users/{user}",
            get(api_users::user_sockets).delete(api_users::disconnect_user),
        )
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(middleware::from_fn(json_errors))
        .with_state(state)
}

/// Whether a caller at this address counts as local (IPv4-mapped IPv6
/// loopback included).
pub fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Compares two byte strings in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Checks an `Authorization` header against the key.
pub fn check_bearer(headers: &HeaderMap, key: &str) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "this API needs an Authorization: Bearer <key> header",
        ));
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if constant_time_eq(token.as_bytes(), key.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(StatusCode::UNAUTHORIZED, "wrong API key")),
        None => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the Authorization header must be `Bearer <key>`",
        )),
    }
}

/// The access rule: the bearer key when one is set, else loopback callers
/// only.
async fn guard(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let verdict = match &state.api_key {
        Some(key) => check_bearer(request.headers(), key),
        None => {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip());
            match peer {
                Some(ip) if is_loopback(ip) => state.keyless.check(request.headers()),
                _ => Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "without --api-key the API answers loopback callers only",
                )),
            }
        }
    };
    match verdict {
        Ok(()) => next.run(request).await,
        Err(mut error) => {
            let challenge = error.status == StatusCode::UNAUTHORIZED;
            error.message.truncate(200);
            let mut response = error.into_response();
            if challenge {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            response
        }
    }
}

/// Turns error answers that are not JSON yet (axum's `405`, `413`, bad path
/// parameters) into the API's JSON error body, keeping their headers.
async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let message = if status == StatusCode::METHOD_NOT_ALLOWED {
        match parts
            .headers
            .get(header::ALLOW)
            .and_then(|a| a.to_str().ok())
        {
            Some(allow) => format!("method {method} is not allowed here (allowed: {allow})"),
            None => format!("method {method} is not allowed here"),
        }
    } else {
        match text.trim() {
            "" => status.canonical_reason().unwrap_or("error").to_owned(),
            text => text.to_owned(),
        }
    };
    let mut answer = ApiError::new(status, message).into_response();
    for (name, value) in &parts.headers {
        if *name != header::CONTENT_TYPE && *name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such API endpoint")
}

/// A publish request, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Publish {
    /// The event's name.
    pub event: String,
    /// Its data (`null` when absent).
    pub data: Value,
    /// Where it goes.
    pub target: PublishTarget,
}

/// The recipients of a publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublishTarget {
    /// Every member of a room (messages carry `room`).
    Room(String),
    /// One socket by id.
    Socket(String),
    /// Several sockets by id (`"to"` given as an array).
    Sockets(Vec<String>),
    /// Every socket of a user (PROTOCOL.md section 10), on every node.
    User(String),
    /// Every socket.
    All,
}

impl Publish {
    /// Parses and checks a publish body.
    pub fn parse(body: &[u8]) -> Result<Self, ApiError> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
        let Value::Object(mut fields) = value else {
            return Err(ApiError::bad_request(
                "the body must be a JSON object: {\"event\",\"data\",\"room\"?,\"to\"?,\"user\"?}",
            ));
        };
        let event = optional_string(&mut fields, "event")?
            .ok_or_else(|| ApiError::bad_request("`event` is missing"))?;
        if event.starts_with('$') {
            return Err(ApiError::bad_request(
                "`event` names starting with $ are reserved for the protocol",
            ));
        }
        let data = fields.remove("data").unwrap_or(Value::Null);
        let room = optional_string(&mut fields, "room")?;
        let to = optional_recipients(&mut fields, "to")?;
        let user = optional_string(&mut fields, "user")?;
        let target = match (room, to, user) {
            (Some(room), None, None) => PublishTarget::Room(room),
            (None, Some(Recipients::One(id)), None) => PublishTarget::Socket(id),
            (None, Some(Recipients::Many(ids)), None) => PublishTarget::Sockets(ids),
            (None, None, Some(user)) => PublishTarget::User(user),
            (None, None, None) => PublishTarget::All,
            _ => {
                return Err(ApiError::bad_request(
                    "give `room`, `to` or `user`: not both, nor all three (none of them publishes to everyone)",
                ));
            }
        };
        Ok(Self {
            event,
            data,
            target,
        })
    }
}

/// A field that must be a non-empty string when present (`null` counts as
/// absent).
fn optional_string(
    fields: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<String>, ApiError> {
    match fields.remove(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => {
            Err(ApiError::bad_request(format!("`{name}` must not be empty")))
        }
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::bad_request(format!("`{name}` must be a string"))),
    }
}

/// `"to"`: one socket id, or an array of them.
enum Recipients {
    One(String),
    Many(Vec<String>),
}

/// A field that, when present, is a non-empty string or a non-empty array
/// of non-empty strings (`null` counts as absent).
fn optional_recipients(
    fields: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<Recipients>, ApiError> {
    let ids = match fields.remove(name) {
        Some(Value::Array(ids)) => ids,
        Some(other) => {
            fields.insert(name.to_owned(), other);
            return Ok(optional_string(fields, name)
                .map_err(|_| {
                    ApiError::bad_request(format!(
                        "`{name}` must be a non-empty string or an array of them"
                    ))
                })?
                .map(Recipients::One));
        }
        None => return Ok(None),
    };
    if ids.is_empty() {
        return Err(ApiError::bad_request(format!(
            "`{name}` must not be an empty array"
        )));
    }
    ids.into_iter()
        .map(|id| match id {
            Value::String(id) if !id.is_empty() => Ok(id),
            _ => Err(ApiError::bad_request(format!(
                "`{name}` must hold non-empty strings only"
            ))),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|ids| Some(Recipients::Many(ids)))
}

async fn publish(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    if state.api_key.is_none() {
        state.keyless.check_body(&headers)?;
    }
    let publish = Publish::parse(&body)?;
    deliver(&state.hub, &publish)?;
    Ok(axum::Json(json!({"ok": true})).into_response())
}

/// Sends a checked publish to its recipients (fire-and-forget: a socket
/// that is unknown, closing or slow still counts as delivered). Shared by
/// `POST /api/publish` and the admin dashboard's publish form.
pub fn deliver(hub: &switchboard::Hub, publish: &Publish) -> Result<(), ApiError> {
    let (event, data) = (publish.event.as_str(), &publish.data);
    let result = match &publish.target {
        PublishTarget::Room(room) => hub.to(room).emit(event, data).map(|_| ()),
        PublishTarget::All => hub.to_all().emit(event, data).map(|_| ()),
        PublishTarget::Socket(id) => hub.send_to(id, event, data),
        PublishTarget::Sockets(ids) => hub.to_sockets(ids).emit(event, data).map(|_| ()),
        PublishTarget::User(user) => hub.to_user(user).emit(event, data).map(|_| ()),
    };
    match result {
        Ok(()) | Err(SendError::UnknownSocket(_) | SendError::Closed | SendError::SlowConsumer) => {
            tracing::debug!(event, target = ?publish.target, "published");
            Ok(())
        }
        Err(error) => Err(ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            error.to_string(),
        )),
    }
}

async fn stats(State(state): State<ApiState>) -> Response {
    let stats = state.hub.stats();
    let mut body = json!({
        "connections": stats.connections,
        "rooms": stats.rooms,
        "messages_in": stats.messages_in,
        "messages_out": stats.messages_out,
        "uptime_s": state.started.elapsed().as_secs(),
        "bytes_in": stats.bytes_in,
        "bytes_out": stats.bytes_out,
        "sessions": state.hub.session_count(),
        "connections_total": stats.connections_total,
        "slow_consumers": stats.slow_consumers,
        "token_expiry_closes": stats.token_expiry_closes,
        "history_dropped": stats.history_dropped,
        "history_gaps_lost": stats.history_gaps_lost,
        "sessions_moved_in": stats.sessions_moved_in,
        "sessions_moved_out": stats.sessions_moved_out,
        "handshakes_refused": stats.handshakes_refused,
        "coalescing_pauses": stats.coalescing_pauses,
        "errors": stats.errors,
        "resources": stats.resources,
    });
    let cluster = state.hub.cluster();
    if cluster.is_clustered() {
        // PROTOCOL.md section 9: live nodes seen, and whether the backend
        // is connected. `cluster_detail` adds what an operator needs.
        let status = cluster.status();
        let counters = cluster.stats();
        body["nodes"] = json!(status.nodes());
        body["cluster"] = json!(if status.backend_up { "ok" } else { "degraded" });
        body["cluster_detail"] = json!({
            "node": state.hub.node_id(),
            "peers": status.peers,
            "published": counters.published,
            "received": counters.received,
            "dropped": counters.dropped,
            "reconnects": counters.reconnects,
        });
    }
    axum::Json(body).into_response()
}

/// Kicks the socket wherever it is in the cluster; `404` when no node that
/// answered holds it.
async fn kick(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let answer = state.hub.cluster().disconnect(&id, CloseCode::Kicked).await;
    if answer.value {
        tracing::info!(socket = %id, "kicked through the API");
        Ok(StatusCode::NO_CONTENT)
    } else {
        let unanswered = if answer.is_complete() {
            String::new()
        } else {
            format!(
                " (nodes that did not answer: {})",
                answer.missing.join(", ")
            )
        };
        Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no socket with id {id:?}{unanswered}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn loopback_predicate() {
        assert!(is_loopback(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        assert!(is_loopback(IpAddr::V4(Ipv4Addr::new(127, 3, 2, 1))));
        assert!(is_loopback(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        assert!(is_loopback("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!is_loopback("10.0.0.1".parse().unwrap()));
        assert!(!is_loopback("192.168.1.20".parse().unwrap()));
        assert!(!is_loopback("0.0.0.0".parse().unwrap()));
        assert!(!is_loopback("::ffff:10.0.0.1".parse().unwrap()));
        assert!(!is_loopback("2001:db8::1".parse().unwrap()));
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"key", b"key"));
        assert!(!constant_time_eq(b"key", b"kez"));
        assert!(!constant_time_eq(b"key", b"key2"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn bearer_header() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert!(check_bearer(&with("Bearer k1"), "k1").is_ok());
        assert!(check_bearer(&with("bearer k1"), "k1").is_ok());
        let status = |r: Result<(), ApiError>| r.unwrap_err().status;
        assert_eq!(
            status(check_bearer(&HeaderMap::new(), "k1")),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(check_bearer(&with("Bearer k2"), "k1")),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(check_bearer(&with("Basic k1"), "k1")),
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            status(check_bearer(&with("k1"), "k1")),
            StatusCode::UNAUTHORIZED
        );
    }

    #[test]
    fn publish_bodies() {
        let ok = |b: &str| Publish::parse(b.as_bytes()).unwrap();
        let bad = |b: &str| Publish::parse(b.as_bytes()).unwrap_err().message;
        assert_eq!(ok(r#"{"event":"e"}"#).target, PublishTarget::All);
        assert_eq!(ok(r#"{"event":"e"}"#).data, Value::Null);
        assert_eq!(
            ok(r#"{"event":"e","data":[1],"room":"r"}"#).target,
            PublishTarget::Room("r".into())
        );
        assert_eq!(
            ok(r#"{"event":"e","to":"id","room":null}"#).target,
            PublishTarget::Socket("id".into())
        );
        assert!(bad("nope").contains("not valid JSON"));
        assert!(bad("[1]").contains("JSON object"));
        assert!(bad("{}").contains("`event` is missing"));
        assert!(bad(r#"{"event":""}"#).contains("`event` must not be empty"));
        assert!(bad(r#"{"event":3}"#).contains("`event` must be a string"));
        assert!(bad(r#"{"event":"$welcome"}"#).contains("reserved"));
        assert!(bad(r#"{"event":"e","room":1}"#).contains("`room` must be a string"));
        assert!(bad(r#"{"event":"e","to":false}"#).contains("`to` must be a non-empty string"));
        assert_eq!(
            ok(r#"{"event":"e","to":["a","b"]}"#).target,
            PublishTarget::Sockets(vec!["a".into(), "b".into()])
        );
        assert!(bad(r#"{"event":"e","to":[]}"#).contains("empty array"));
        assert!(bad(r#"{"event":"e","to":["a",1]}"#).contains("non-empty strings only"));
        assert!(bad(r#"{"event":"e","to":["a",""]}"#).contains("non-empty strings only"));
        assert!(bad(r#"{"event":"e","room":"r","to":["i"]}"#).contains("not both"));
        assert!(bad(r#"{"event":"e","room":"r","to":"i"}"#).contains("not both"));
        assert!(bad(r#"{"event":"e","user":"u","to":"i"}"#).contains("not both"));
        assert_eq!(
            ok(r#"{"event":"e","user":"ada"}"#).target,
            PublishTarget::User("ada".into())
        );
        assert!(bad(r#"{"event":"e","user":""}"#).contains("`user`"));
    }
}
