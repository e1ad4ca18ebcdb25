//! `/api/rooms/{room}`: a room's members on every node, and, for a room
//! that keeps presence, `/api/rooms/{room}/presence` (PROTOCOL.md
//! sections 9 and 10).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::api_error::ApiError;
use crate::api_state::ApiState;

/// The path suffix that asks for a room's presence rather than its members.
const PRESENCE_SUFFIX: &str = "/presence";

/// `GET /api/rooms/{room}`: `{"room","members":[ids]}`, cluster-wide when
/// clustered (every node that answers within the cluster timeout adds its
/// members; `missing` lists the live nodes that did not).
///
/// `GET /api/rooms/{room}/presence`: `{"room","users":[{"user","info",
/// "sockets"}],"anonymous"}` over every node, for a room that keeps
/// presence (`--presence`); `404` `not_found` for one that does not. A
/// path ending in `/presence` always asks for presence.
pub async fn room(State(state): State<ApiState>, Path(path): Path<String>) -> Response {
    if let Some(room) = path.strip_suffix(PRESENCE_SUFFIX) {
        return match state.hub.presence(room) {
            Some(presence) => axum::Json(presence).into_response(),
            None => ApiError::new(
                StatusCode::NOT_FOUND,
                format!("room `{room}` keeps no presence (see --presence)"),
            )
            .into_response(),
        };
    }
    let members = state.hub.cluster().members(&path).await;
    let mut body = json!({"room": path, "members": members.value});
    if state.hub.cluster().is_clustered() {
        body["nodes"] = json!(members.answered.len());
        body["missing"] = json!(members.missing);
    }
    axum::Json(body).into_response()
}
