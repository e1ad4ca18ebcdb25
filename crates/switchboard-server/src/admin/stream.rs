//! `GET /admin/api/stream`: the live overview as server-sent events, one
//! `sample` event a second; the first event, `history`, carries the
//! samples kept so far (up to 15 minutes) as a JSON array. The stream
//! ends when its session does (logout or expiry). One login holds at most
//! [`MAX_STREAMS_PER_SESSION`] streams at once; one more is refused with
//! `429` `too_many_streams`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use tokio::sync::broadcast::{self, error::RecvError};

use super::AdminState;
use super::auth::SessionToken;
use super::sampler::SampleJson;
use super::sessions::{MAX_STREAMS_PER_SESSION, SessionStore, StreamSlot};
use crate::api_error::ApiError;

/// What the stream holds between events.
struct Viewer {
    history: Option<Vec<SampleJson>>,
    samples: broadcast::Receiver<SampleJson>,
    token: SessionToken,
    sessions: Arc<SessionStore>,
    /// Held for the stream's life: its place among the login's streams.
    _slot: StreamSlot,
}

/// The stream's handler.
pub async fn stream(
    State(state): State<AdminState>,
    Extension(token): Extension<SessionToken>,
) -> Response {
    let Some(slot) = state.sessions.open_stream(&token.0) else {
        return ApiError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_streams",
            message: format!(
                "this login already holds {MAX_STREAMS_PER_SESSION} live streams open: \
                 close a dashboard tab"
            ),
        }
        .into_response();
    };
    let (history, samples) = state.sampler.subscribe();
    let viewer = Viewer {
        history: Some(history),
        samples,
        token,
        sessions: state.sessions.clone(),
        _slot: slot,
    };
    Sse::new(events(viewer)).into_response()
}

/// The viewer's events: the history, then each sample while the session
/// lives.
fn events(viewer: Viewer) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(viewer, |mut viewer| async move {
        if let Some(history) = viewer.history.take() {
            let mut array = String::from("[");
            for (i, sample) in history.iter().enumerate() {
                if i > 0 {
                    array.push(',');
                }
                array.push_str(sample);
            }
            array.push(']');
            return Some((Ok(Event::default().event("history").data(array)), viewer));
        }
        loop {
            let sample = match viewer.samples.recv().await {
                Ok(sample) => sample,
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            };
            viewer
                .sessions
                .get(&viewer.token.0, Instant::now())
                .is_some()
                .then_some(())?;
            return Some((Ok(Event::default().event("sample").data(&*sample)), viewer));
        }
    })
}
