//! `/api/users/{user}`: a user's sockets on every node, and closing them
//! (PROTOCOL.md section 10).

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard::{CloseCode, ClusterAnswer};

use crate::api_state::ApiState;

/// `GET /api/users/{user}`: `{"user","sockets":[ids]}`, cluster-wide (an
/// unknown user has none).
pub async fn user_sockets(State(state): State<ApiState>, Path(user): Path<String>) -> Response {
    let sockets = state.hub.cluster().user_sockets(&user).await;
    let mut body = json!({"user": user, "sockets": sockets.value});
    add_nodes(&state, &mut body, &sockets);
    axum::Json(body).into_response()
}

/// `DELETE /api/users/{user}`: closes every socket of the user with `4000`
/// on every node; `{"closed":k}`.
pub async fn disconnect_user(State(state): State<ApiState>, Path(user): Path<String>) -> Response {
    close_user_sockets(&state, &user, "the API").await
}

/// Closes every socket of `user` with `4000` on every node and answers
/// `{"closed":k}` (and, clustered, the nodes that answered); `via` names
/// who asked, for the log. The HTTP API and the admin dashboard share it.
pub async fn close_user_sockets(state: &ApiState, user: &str, via: &str) -> Response {
    let closed = state
        .hub
        .cluster()
        .disconnect_user(user, CloseCode::Kicked)
        .await;
    tracing::info!(user, closed = closed.value, via, "user disconnected");
    let mut body = json!({"closed": closed.value});
    add_nodes(state, &mut body, &closed);
    axum::Json(body).into_response()
}

/// A clustered server says how many nodes answered and which did not.
fn add_nodes<T>(state: &ApiState, body: &mut serde_json::Value, answer: &ClusterAnswer<T>) {
    if state.hub.cluster().is_clustered() {
        body["nodes"] = json!(answer.answered.len());
        body["missing"] = json!(answer.missing);
    }
}
