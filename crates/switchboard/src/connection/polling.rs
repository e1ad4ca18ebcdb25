//! Long-polling (PROTOCOL.md section 6): the same sessions over plain HTTP.
//!
//! A long-polling link has no connection of its own. `GET` answers drain the
//! session's send queue, `POST` bodies go through the same checks as
//! WebSocket frames, and one small task per link watches its heartbeat: a
//! link with no `GET` held or answered for `ping_interval + ping_timeout`
//! has dropped, and its session waits for a resume.
//!
//! A link opened by `POST P/poll` takes no connection slot until its first
//! `GET`: until then it is *pending*, counted under
//! [`crate::HubConfig::max_pending_polls`] (further opens get `503`
//! `unavailable`), and it drops if no `GET` comes within
//! [`crate::HubConfig::pending_poll_timeout`]. Its first `GET` takes a slot
//! under the connection limit; when the hub is full then, that `GET` gets
//! `503` `unavailable` and the session ends. A flood of opens that never
//! poll thus holds no slot a WebSocket client could use.

use std::collections::VecDeque;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, Method, StatusCode, header};
use parking_lot::Mutex;
use switchboard_protocol::{
    CloseCode, Codec, ErrorCode, ResumeRequest, encode_raw_batch, parse_open_body,
};
use tokio::time::{Instant, sleep, sleep_until};

use crate::connection::admission::admit_link;
use crate::connection::handshake_info::handshake_of;
use crate::connection::inbound::handle_messages;
use crate::error::DisconnectReason;
use crate::events::dispatcher;
use crate::hub::handle::Hub;
use crate::limits::inbound::InboundChecks;
use crate::limits::slots::{PendingPoll, SlotOwner};
use crate::send_queue::Outgoing;
use crate::session::handshake::Transport;
use crate::session::shared::SocketShared;
use crate::transport::handshake::{HandshakeQuery, parse_query};
use crate::transport::poll_links::{Admission, PollLink};

impl PollLink {
    /// How long the link may go without a `GET` before it counts as
    /// dropped: the heartbeat window, and before its first `GET` the
    /// pending timeout when that is shorter.
    fn silence_allowed(&self, hub: &Hub) -> std::time::Duration {
        let config = hub.config();
        let heartbeat = config.ping_interval + config.ping_timeout;
        match self.admission {
            Admission::Pending(..) => config.pending_poll_timeout.min(heartbeat),
            Admission::Admitted(_) => heartbeat,
        }
    }
}

fn unavailable(message: &str) -> Response {
    error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message.into() } });
    (status, axum::Json(body)).into_response()
}

fn unknown_session() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown_session",
        "unknown or expired session (a dropped session is resumed with POST {\"resume\",\"last\"})",
    )
}

/// Routes `P/poll` by method and `sid`.
pub(crate) async fn handle(State(hub): State<Hub>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = match parse_query(parts.uri.query()) {
        Ok(query) => query,
        Err(refusal) => return refusal.into_response(),
    };
    match (&parts.method, query.sid.clone()) {
        (&Method::POST, None) => open(hub, &parts, &query, body).await,
        (&Method::GET, Some(sid)) => poll(hub, &sid).await,
        (&Method::POST, Some(sid)) => post(hub, &sid, body).await,
        (&Method::DELETE, Some(sid)) => delete(&hub, &sid),
        (&Method::GET | &Method::DELETE, None) => error(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "the `sid` query parameter is missing",
        ),
        (method, _) => {
            let mut response = error(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!("long-polling uses GET, POST and DELETE, not {method}"),
            );
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
            response
        }
    }
}

async fn read_body(hub: &Hub, body: Body) -> Result<Bytes, Box<Response>> {
    let limit = hub.config().max_message_size;
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        Box::new(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is over the {limit}-byte limit"),
        ))
    })
}

fn batch_response(codec: Codec, frames: VecDeque<Outgoing>) -> Response {
    let frames: Vec<Bytes> = frames.iter().map(|f| f.bytes().clone()).collect();
    let body = encode_raw_batch(codec, &frames);
    let mut response = (StatusCode::OK, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(codec.content_type()),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The open body: empty for a new session, or the session to resume; a
/// malformed one is the message of a `400`.
fn parse_resume(codec: Codec, body: &[u8]) -> Result<Option<ResumeRequest>, String> {
    parse_open_body(codec, body).map_err(|error| error.to_string())
}

/// `POST P/poll`: a new session, or a resume, over long-polling.
async fn open(
    hub: Hub,
    parts: &http::request::Parts,
    query: &HandshakeQuery,
    body: Body,
) -> Response {
    if hub.is_raw() {
        return error(
            StatusCode::NOT_FOUND,
            "not_found",
            "raw-mode hubs speak WebSocket only",
        );
    }
    let body = match read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let resume = match parse_resume(query.codec, &body) {
        Ok(resume) => resume,
        Err(message) => return error(StatusCode::BAD_REQUEST, "bad_request", message),
    };
    let (pending, owner, extensions) = match admit_open(&hub, parts, query, resume.as_ref()).await {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    let handshake = handshake_of(
        &hub,
        parts,
        parts.extensions.clone(),
        http::Extensions::new(),
        query.codec,
        None,
        Transport::LongPolling,
    );
    let attached = hub.attach_link(
        query.codec,
        extensions,
        handshake,
        resume.as_ref().map(|r| (r.resume.as_str(), r.last)),
    );
    dispatcher::opened(&hub, &attached);
    let session = attached.session;
    let link = attached.link;
    hub.poll_links().open(
        &session.id,
        PollLink {
            link,
            get_held: false,
            last_alive: Instant::now(),
            checks: InboundChecks::new(hub.config()),
            admission: Admission::Pending(pending, owner),
        },
    );
    let drained = session.queue.try_drain(link);
    hub.counters()
        .bytes_out(drained.frames.iter().map(Outgoing::len).sum::<usize>() as u64);
    tokio::spawn(watch_link(hub.clone(), session.clone(), link));
    batch_response(session.codec, drained.frames)
}

/// The checks of a long-polling open: a place among the links waiting for
/// their first `GET`, then the admission every link passes. The open
/// passes the connection limit; the slot itself is taken at the first
/// `GET`, for the same client address (`owner`).
async fn admit_open(
    hub: &Hub,
    parts: &http::request::Parts,
    query: &HandshakeQuery,
    resume: Option<&ResumeRequest>,
) -> Result<(PendingPoll, Arc<SlotOwner>, http::Extensions), Box<Response>> {
    let Some(pending) = hub
        .slots()
        .take_pending_poll(hub.config().max_pending_polls)
    else {
        hub.counters().handshake_refused();
        hub.counters().pending_poll_refused();
        tracing::debug!("long-polling open refused: too many links wait for their first GET");
        return Err(Box::new(unavailable(
            "too many long-polling sessions wait for their first GET",
        )));
    };
    let resume = resume.map(|r| (r.resume.as_str(), r.last, query.codec));
    match admit_link(hub, parts, query, Transport::LongPolling, resume).await {
        Ok((slot, extensions)) => Ok((pending, slot.into_owner(), extensions)),
        Err(refusal) => {
            hub.counters().handshake_refused();
            Err(Box::new(refusal.into_response()))
        }
    }
}

/// Ends a long-polling link whose client stopped polling (or never sent a
/// first `GET`), or that was superseded, aborted or ended; its place
/// (pending, or a connection slot) is released with it.
async fn watch_link(hub: Hub, session: Arc<SocketShared>, link: u64) {
    loop {
        let Some(state) = hub.poll_links().get(&session.id, link) else {
            break;
        };
        let deadline = {
            let poll = state.lock();
            let allowed = poll.silence_allowed(&hub);
            if poll.get_held {
                Instant::now() + allowed
            } else {
                poll.last_alive + allowed
            }
        };
        drop(state);
        tokio::select! {
            () = session.queue.aborted_or_superseded(link) => {
                if session.queue.is_current(link) {
                    hub.link_ended(&session, link, DisconnectReason::Aborted);
                }
                break;
            }
            () = sleep_until(deadline) => {
                let (expired, pending) = match hub.poll_links().get(&session.id, link) {
                    Some(state) => {
                        let poll = state.lock();
                        (
                            !poll.get_held
                                && Instant::now() >= poll.last_alive + poll.silence_allowed(&hub),
                            matches!(poll.admission, Admission::Pending(..)),
                        )
                    }
                    None => (true, false),
                };
                if expired {
                    if pending {
                        tracing::debug!(socket = %session.id, "no first GET in time: the link counts as dropped");
                        hub.counters().pending_poll_expired();
                    }
                    let reason = match session.queue.requested_close() {
                        Some(code) => DisconnectReason::ServerClosed(code),
                        None => DisconnectReason::HeartbeatTimeout,
                    };
                    hub.poll_links().close(&session.id, Some(link));
                    hub.link_ended(&session, link, reason);
                    break;
                }
            }
        }
    }
    // Releases the link's place if the session still holds it (taken over
    // by a WebSocket, say).
    hub.poll_links().close(&session.id, Some(link));
}

/// The session named by `sid` and its current long-polling link.
fn polling_session(hub: &Hub, sid: &str) -> Result<(Arc<SocketShared>, u64), Box<Response>> {
    let session = hub
        .session_table()
        .get(sid)
        .ok_or_else(|| Box::new(unknown_session()))?;
    let link = hub.poll_links().current(&session.id);
    match link {
        Some(link) if session.queue.is_current(link) => Ok((session, link)),
        _ if session.queue.is_attached() => Err(Box::new(error(
            StatusCode::CONFLICT,
            "session_taken_over",
            "the session was resumed on another link",
        ))),
        _ => Err(Box::new(unknown_session())),
    }
}

/// Marks the `GET` of a link as no longer held when dropped, answered or not.
struct HeldGet(Arc<Mutex<PollLink>>);

impl Drop for HeldGet {
    fn drop(&mut self) {
        let mut poll = self.0.lock();
        poll.get_held = false;
        poll.last_alive = Instant::now();
    }
}

fn gone(code: CloseCode) -> Response {
    let name = code.poll_gone_code().unwrap_or("closed");
    error(
        StatusCode::GONE,
        name,
        format!(
            "the hub ended the session ({}, {})",
            code.as_u16(),
            code.reason()
        ),
    )
}

/// `GET P/poll?sid=`: held until something is queued or the poll timeout.
async fn poll(hub: Hub, sid: &str) -> Response {
    let (session, link) = match polling_session(&hub, sid) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let Some(link_state) = hub.poll_links().get(&session.id, link) else {
        return unknown_session();
    };
    let admitted = match hold_get(&hub, &link_state) {
        Ok(admitted) => admitted,
        Err(response) => return *response,
    };
    if !admitted {
        hub.counters().handshake_refused();
        hub.end_session(
            &session,
            DisconnectReason::ServerClosed(CloseCode::GoingAway),
        );
        return unavailable("the hub is at its connection limit: the session has ended");
    }
    let _held = HeldGet(link_state);
    let timeout = sleep(hub.config().poll_timeout);
    tokio::pin!(timeout);
    loop {
        let changed = session.queue.changed();
        let drained = session.queue.try_drain(link);
        if drained.superseded {
            return match session.closed_reason() {
                Some(DisconnectReason::ServerClosed(code)) => gone(*code),
                Some(DisconnectReason::Aborted) => gone(CloseCode::GoingAway),
                Some(_) => unknown_session(),
                None => error(
                    StatusCode::CONFLICT,
                    "session_taken_over",
                    "the session was resumed on another link",
                ),
            };
        }
        if !drained.frames.is_empty() {
            let bytes: usize = drained.frames.iter().map(Outgoing::len).sum();
            hub.counters().bytes_out(bytes as u64);
            return batch_response(session.codec, drained.frames);
        }
        if drained.abort {
            hub.end_session(&session, DisconnectReason::Aborted);
            return gone(CloseCode::GoingAway);
        }
        if let Some(code) = drained.close {
            return closed(&hub, &session, link, code);
        }
        tokio::select! {
            () = changed => {}
            () = &mut timeout => return batch_response(session.codec, VecDeque::new()),
        }
    }
}

/// The answer to a `GET` of a link the hub closes with `code`: `410` for a
/// code that ends the session; `401 token_expired` for `4003`, whose
/// session waits for a resume with a fresh token (PROTOCOL.md section 10;
/// docs/protocol-additions.md).
fn closed(hub: &Hub, session: &Arc<SocketShared>, link: u64, code: CloseCode) -> Response {
    if code == CloseCode::TokenExpired {
        hub.poll_links().close(&session.id, Some(link));
        hub.link_ended(session, link, DisconnectReason::ServerClosed(code));
        return error(
            StatusCode::UNAUTHORIZED,
            ErrorCode::TokenExpired.as_str(),
            "the token expired: resume the session with a fresh one",
        );
    }
    if code == CloseCode::ServiceRestart {
        // A clustered node drains: the session waits to be resumed on
        // another node (PROTOCOL.md section 11; docs/protocol-additions.md).
        hub.poll_links().close(&session.id, Some(link));
        hub.link_ended(session, link, DisconnectReason::ServerClosed(code));
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable.as_str(),
            "this node restarts: resume the session on another node",
        );
    }
    hub.end_session(session, DisconnectReason::ServerClosed(code));
    gone(code)
}

/// Marks the link's `GET` as held: `Ok(false)` when its first `GET` finds
/// the hub at its connection limit, `Err` for a second `GET` while one is
/// held. The first `GET` takes the link's slot under the connection limit.
fn hold_get(hub: &Hub, link_state: &Mutex<PollLink>) -> Result<bool, Box<Response>> {
    let mut state = link_state.lock();
    if state.get_held {
        return Err(Box::new(error(
            StatusCode::CONFLICT,
            "poll_in_progress",
            "a GET is already held open for this session",
        )));
    }
    let admitted = match state.admission {
        Admission::Admitted(_) => true,
        Admission::Pending(_, ref owner) => match hub.admit_for(owner.clone()) {
            Some(slot) => {
                state.admission = Admission::Admitted(slot);
                true
            }
            // Shutting down: the `GET` goes on to its `410 shutdown`.
            None => hub.is_shutting_down(),
        },
    };
    if admitted {
        state.get_held = true;
        state.last_alive = Instant::now();
    }
    Ok(admitted)
}

/// `POST P/poll?sid=`: client messages, checked as WebSocket frames are.
async fn post(hub: Hub, sid: &str, body: Body) -> Response {
    let (session, link) = match polling_session(&hub, sid) {
        Ok(found) => found,
        Err(response) => return *response,
    };
    let body = match read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    hub.counters().bytes_in(body.len() as u64);
    let messages = match session.codec.decode(&body) {
        Ok(messages) => messages,
        Err(error_) => return error(StatusCode::BAD_REQUEST, "bad_request", error_.to_string()),
    };
    if let Some(Err(bad)) = messages
        .iter()
        .find(|m| matches!(m, Err(e) if e.is_malformed_body()))
    {
        return error(StatusCode::BAD_REQUEST, "bad_request", bad.to_string());
    }
    let socket = hub.socket_handle(session.clone());
    let mut backlog = VecDeque::new();
    {
        let Some(state) = hub.poll_links().get(&session.id, link) else {
            return unknown_session();
        };
        handle_messages(&socket, messages, &mut state.lock().checks, &mut backlog);
    }
    if backlog.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    if let Some(dispatcher) = hub.dispatcher(&session) {
        for work in backlog {
            // Waiting here is the backpressure of a busy session.
            if dispatcher.send(work).await.is_err() {
                break;
            }
        }
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE P/poll?sid=`: the client ends its session (a WebSocket link it
/// has is closed with `1000`: a plain end, the client's own).
fn delete(hub: &Hub, sid: &str) -> Response {
    let Some(session) = hub.session_table().get(sid) else {
        return unknown_session();
    };
    hub.end_session(&session, DisconnectReason::ClientClosed(1000));
    StatusCode::NO_CONTENT.into_response()
}
