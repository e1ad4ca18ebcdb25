//! `/api/rooms/{room}`: a room's members on every node; for a room that
//! keeps presence, `/api/rooms/{room}/presence`; for one that keeps
//! history, `/api/rooms/{room}/history` (PROTOCOL.md sections 9, 10
//! and 11).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use switchboard::HistoryError;

use crate::api_error::ApiError;
use crate::api_state::ApiState;

/// The path suffix that asks for a room's presence rather than its members.
const PRESENCE_SUFFIX: &str = "/presence";
/// The path suffix that asks for a room's history.
const HISTORY_SUFFIX: &str = "/history";
/// The most messages one history request answers (and its default).
const MAX_HISTORY_LIMIT: usize = 1000;

/// `GET /api/rooms/{room}`: `{"room","members":[ids]}`, cluster-wide when
/// clustered (every node that answers within the cluster timeout adds its
/// members; `missing` lists the live nodes that did not).
///
/// `GET /api/rooms/{room}/presence`: `{"room","users":[{"user","info",
/// "sockets"}],"anonymous"}` over every node, for a room that keeps
/// presence (`--presence`); `404` `not_found` for one that does not. A
/// path ending in `/presence` always asks for presence.
///
/// `GET /api/rooms/{room}/history?since=k&limit=n`:
/// `{"room","epoch","offset","messages":[...]}`, the messages after
/// offset `k` (default 0: all that are kept), oldest first, at most `n`
/// (default and most 1,000), for a room that keeps history (`--history`);
/// `404` for one that does not, `400` for a bad `since` or `limit`, `503`
/// when the cluster's history store cannot be reached.
pub async fn room(
    State(state): State<ApiState>,
    Path(path): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(room) = path.strip_suffix(HISTORY_SUFFIX) {
        return history(&state, room, query.as_deref().unwrap_or("")).await;
    }
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

/// `GET /api/rooms/{room}/history`.
async fn history(state: &ApiState, room: &str, query: &str) -> Response {
    let (since, limit) = match history_query(query) {
        Ok(parsed) => parsed,
        Err(message) => return ApiError::bad_request(message).into_response(),
    };
    match state.hub.history(room, since, limit).await {
        Ok(page) => axum::Json(page).into_response(),
        Err(HistoryError::NotKept(_)) => ApiError::new(
            StatusCode::NOT_FOUND,
            format!("room `{room}` keeps no history (see --history)"),
        )
        .into_response(),
        Err(error @ HistoryError::Unavailable(_)) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()).into_response()
        }
    }
}

/// `since` (default 0) and `limit` (default and at most
/// [`MAX_HISTORY_LIMIT`]) of a history request's query.
fn history_query(query: &str) -> Result<(u64, usize), String> {
    let mut since = 0u64;
    let mut limit = MAX_HISTORY_LIMIT;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "since" => {
                since = value
                    .parse()
                    .map_err(|_| format!("`since` must be an offset (0 or more), not `{value}`"))?;
            }
            "limit" => {
                limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|limit| (1..=MAX_HISTORY_LIMIT).contains(limit))
                    .ok_or_else(|| {
                        format!("`limit` must be 1 to {MAX_HISTORY_LIMIT}, not `{value}`")
                    })?;
            }
            _ => {}
        }
    }
    Ok((since, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_queries_parse_with_defaults_and_refuse_nonsense() {
        assert_eq!(history_query(""), Ok((0, MAX_HISTORY_LIMIT)));
        assert_eq!(history_query("since=5&limit=2"), Ok((5, 2)));
        assert_eq!(history_query("limit=7&x=1"), Ok((0, 7)));
        for bad in ["since=-1", "since=x", "limit=0", "limit=1001", "limit="] {
            assert!(history_query(bad).is_err(), "{bad}");
        }
    }
}
