//! What the dashboard changes: publish (to a room, a user, a socket or
//! everyone; the same body and checks as `POST /api/publish`), kick a
//! socket (`4000`), disconnect a user. Each is logged with `tracing`.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard::CloseCode;

use super::AdminState;
use crate::api::{Publish, deliver};
use crate::api_error::ApiError;
use crate::api_users::close_user_sockets;

/// `POST /admin/api/publish`: `{"event","data","room"?,"to"?,"user"?}`.
pub async fn publish(State(state): State<AdminState>, body: Bytes) -> Response {
    let result = Publish::parse(&body).and_then(|publish| {
        deliver(&state.api.hub, &publish)?;
        tracing::info!(event = %publish.event, target = ?publish.target, "published from the admin dashboard");
        Ok(())
    });
    match result {
        Ok(()) => Json(json!({"ok": true})).into_response(),
        Err(error) => error.into_response(),
    }
}

/// `DELETE /admin/api/sockets/{id}`: closes it with `4000` wherever it
/// is; `404` when no node that answered holds it.
pub async fn kick(State(state): State<AdminState>, Path(id): Path<String>) -> Response {
    let answer = state
        .api
        .hub
        .cluster()
        .disconnect(&id, CloseCode::Kicked)
        .await;
    if answer.value {
        tracing::info!(socket = %id, "kicked from the admin dashboard");
        StatusCode::NO_CONTENT.into_response()
    } else {
        ApiError::new(StatusCode::NOT_FOUND, format!("no socket with id {id:?}")).into_response()
    }
}

/// `DELETE /admin/api/users/{user}`: closes every socket of the user with
/// `4000` on every node; `{"closed":k}` as `DELETE /api/users/{user}`.
pub async fn disconnect_user(
    State(state): State<AdminState>,
    Path(user): Path<String>,
) -> Response {
    close_user_sockets(&state.api, &user, "the admin dashboard").await
}
