//! What the dashboard looks up: rooms (search, members, presence),
//! sockets and users. Members and a user's sockets are cluster-wide (as
//! `/api/rooms` and `/api/users`); each socket's detail (user, transport,
//! address, queues) is known on the node that holds it, so sockets of
//! other nodes are listed with their id and `"node": null`.

use std::time::UNIX_EPOCH;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard::{Hub, Socket};

use super::AdminState;
use crate::api_error::ApiError;

/// The most rooms one search answers.
pub const MAX_ROOMS_LISTED: usize = 200;

/// A search's query string.
#[derive(Debug, Default)]
pub struct Search {
    /// Part of the name (any case); empty: every room.
    pub q: String,
    /// The most rooms to answer (default and at most
    /// [`MAX_ROOMS_LISTED`]).
    pub limit: Option<usize>,
}

impl Search {
    /// `q` and `limit` of a query string (others ignored).
    pub fn parse(query: Option<&str>) -> Self {
        let mut search = Self::default();
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match &*key {
                "q" => search.q = value.into_owned(),
                "limit" => search.limit = value.parse().ok(),
                _ => {}
            }
        }
        search
    }
}

/// One socket as the dashboard shows it in lists.
pub fn socket_summary(hub: &Hub, socket: &Socket) -> Value {
    let handshake = socket.handshake();
    json!({
        "id": socket.id(),
        "node": hub.node_id(),
        "user": socket.user(),
        "transport": handshake.transport().as_str(),
        "codec": socket.codec().as_str(),
        "remote": handshake.client_ip().map(|ip| ip.to_string()),
        "connected": socket.is_connected(),
    })
}

/// One socket in full: its summary, rooms, queues, when it opened and
/// when its token expires.
pub fn socket_detail(hub: &Hub, socket: &Socket) -> Value {
    let mut detail = socket_summary(hub, socket);
    let handshake = socket.handshake();
    let opened = handshake
        .opened_at()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    detail["rooms"] = json!(socket.rooms());
    detail["queue"] = json!(socket.queue_depths());
    detail["send_queue_capacity"] = json!(hub.config().send_queue_capacity);
    detail["resume_buffer_capacity"] = json!(hub.config().resume_buffer);
    detail["opened_at"] = json!(opened);
    detail["token_expires_at"] = json!(socket.identity().and_then(|i| i.expires_at()));
    detail["subprotocol"] = json!(handshake.subprotocol());
    detail
}

/// The summary of socket `id` if this node holds it, else a row with
/// its id only (another node's).
fn member_row(hub: &Hub, id: &str) -> Value {
    match hub.socket(id) {
        Some(socket) => socket_summary(hub, &socket),
        None => json!({"id": id, "node": null}),
    }
}

/// `GET /admin/api/rooms?q=&limit=`: this node's rooms whose name holds
/// `q`, sorted, with their member counts here.
pub async fn rooms(State(state): State<AdminState>, RawQuery(query): RawQuery) -> Response {
    let search = Search::parse(query.as_deref());
    let hub = &state.api.hub;
    let needle = search.q.to_lowercase();
    let limit = search
        .limit
        .unwrap_or(MAX_ROOMS_LISTED)
        .clamp(1, MAX_ROOMS_LISTED);
    let matching: Vec<String> = hub
        .rooms()
        .into_iter()
        .filter(|room| room.to_lowercase().contains(&needle))
        .collect();
    let listed: Vec<Value> = matching
        .iter()
        .take(limit)
        .map(|room| json!({"room": room, "members": hub.members(room).len()}))
        .collect();
    Json(json!({
        "node": hub.node_id(),
        "total": matching.len(),
        "rooms": listed,
    }))
    .into_response()
}

/// `GET /admin/api/rooms/{room}`: the room's members on every node, the
/// detail of those held here, and its presence where kept.
pub async fn room(State(state): State<AdminState>, Path(room): Path<String>) -> Response {
    let hub = &state.api.hub;
    let members = hub.cluster().members(&room).await;
    let rows: Vec<Value> = members.value.iter().map(|id| member_row(hub, id)).collect();
    Json(json!({
        "room": room,
        "members": rows,
        "presence": hub.presence(&room),
        "missing_nodes": members.missing,
    }))
    .into_response()
}

/// `GET /admin/api/sockets/{id}`: the socket's detail if held here;
/// held by another node: its id and rooms; `404` when no node has it.
pub async fn socket(State(state): State<AdminState>, Path(id): Path<String>) -> Response {
    let hub = &state.api.hub;
    if let Some(socket) = hub.socket(&id) {
        return Json(socket_detail(hub, &socket)).into_response();
    }
    let rooms = hub.cluster().rooms_of(&id).await;
    if hub.cluster().is_clustered() && !rooms.value.is_empty() {
        return Json(json!({"id": id, "node": null, "rooms": rooms.value})).into_response();
    }
    ApiError::new(StatusCode::NOT_FOUND, format!("no socket with id {id:?}")).into_response()
}

/// `GET /admin/api/users/{user}`: the user's sockets on every node, with
/// the detail of those held here.
pub async fn user(State(state): State<AdminState>, Path(user): Path<String>) -> Response {
    let hub = &state.api.hub;
    let sockets = hub.cluster().user_sockets(&user).await;
    let rows: Vec<Value> = sockets.value.iter().map(|id| member_row(hub, id)).collect();
    Json(json!({"user": user, "sockets": rows, "missing_nodes": sockets.missing})).into_response()
}

/// `GET /admin/api/find?q=`: whether `q` is a socket id here or a user
/// with sockets anywhere: `{"kind":"socket"|"user","id"}`, else `404`.
pub async fn find(State(state): State<AdminState>, RawQuery(query): RawQuery) -> Response {
    let search = Search::parse(query.as_deref());
    let hub = &state.api.hub;
    let q = search.q.trim();
    if q.is_empty() {
        return ApiError::bad_request("give a socket id or a user").into_response();
    }
    if hub.socket(q).is_some() {
        return Json(json!({"kind": "socket", "id": q})).into_response();
    }
    if !hub.cluster().user_sockets(q).await.value.is_empty() {
        return Json(json!({"kind": "user", "id": q})).into_response();
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no socket or user {q:?} here"),
    )
    .into_response()
}
