//! Handling one piece of a socket's inbound work: events, relays, `$join`
//! and `$leave`, raw frames, with the outcome answered and handler panics
//! contained (`hub/guard.rs`). The dispatcher that feeds it is
//! [`super::dispatcher`].

use serde_json::{Value, json};
use switchboard_protocol::{ClientMessage, ErrorBody, ErrorCode, HistoryPosition, Message};

use crate::app::handlers::FallbackEvent;
use crate::app::policies::RelayRequest;
use crate::error::{HandlerError, HubError};
use crate::hub::guard::{guarded, report};
use crate::hub::handle::Socket;
use crate::hub::handle::Streamed;
use crate::session::inbox::RawFrame;
use crate::session::inbox::TappedEvent;
use crate::stream::InboundEvent;
use crate::tokens::TokenError;

/// Sends the outcome of a handler: a reply when the client asked for one,
/// else `$error` on failure.
fn answer(
    socket: &Socket,
    event: &str,
    ack: Option<u64>,
    result: Option<Result<Value, HandlerError>>,
) {
    let outcome = match result {
        Some(Ok(value)) => Ok(value),
        Some(Err(error)) => {
            let hub_error = HubError::Handler {
                event: event.to_owned(),
                error: error.clone(),
            };
            tracing::debug!(socket = socket.id(), %hub_error);
            report(socket, &hub_error);
            Err(error.to_body())
        }
        None => Err(ErrorBody::new(
            ErrorCode::Internal,
            format!("the handler for `{event}` failed"),
        )),
    };
    if let Err(body) = &outcome {
        socket.hub.counters().error_sent(&body.code);
    }
    let message = match (ack, outcome) {
        (Some(ack), Ok(value)) => Message::reply(ack, value),
        (Some(ack), Err(body)) => Message::reply_error(ack, body),
        (None, Ok(_)) => return,
        (None, Err(body)) => Message {
            event: Some(switchboard_protocol::reserved::ERROR.to_owned()),
            data: Some(json!({ "code": body.code, "message": body.message })),
            ..Message::default()
        },
    };
    let _ = socket.send_message(&message);
}

/// What the hub's `$join` rule (`HubBuilder::join_rule`) says of `room`,
/// a panic in it contained and answered as a failed policy.
pub(super) fn join_rule(socket: &Socket, room: &str) -> Result<(), HandlerError> {
    let Some(rule) = &socket.hub.policies().join_rule else {
        return Ok(());
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rule(socket, room))).unwrap_or_else(
        |_| {
            tracing::error!(socket = socket.id(), room, "the $join rule panicked");
            Err(policy_failed("$join"))
        },
    )
}

/// Answers a refused `$join` or relay with the policy's error.
pub(super) fn refuse(socket: &Socket, ack: Option<u64>, body: ErrorBody) {
    socket.hub.counters().error_sent(&body.code);
    let reply = match ack {
        Some(ack) => Message::reply_error(ack, body),
        None => Message {
            event: Some(switchboard_protocol::reserved::ERROR.to_owned()),
            data: Some(json!({ "code": body.code, "message": body.message })),
            ..Message::default()
        },
    };
    let _ = socket.send_message(&reply);
}

/// The refusal of a policy that panicked (reported to the error handler):
/// `forbidden`, as a policy that said no.
fn policy_failed(what: &str) -> HandlerError {
    HandlerError::with_code(
        ErrorCode::Forbidden.as_str(),
        format!("the {what} policy failed"),
    )
}

pub(super) async fn handle_raw(socket: &Socket, frame: RawFrame) {
    let hub = &socket.hub;
    if let Some(raw) = &hub.event_router().raw {
        guarded(socket, "raw frame", raw(socket.clone(), frame)).await;
    } else if let Some(stream) = &hub.stream_tx() {
        let _ = stream.send(Streamed::Raw(socket.clone(), frame)).await;
    }
}

pub(super) async fn handle_client(socket: &Socket, message: ClientMessage) {
    match message {
        ClientMessage::Event {
            event,
            data,
            ack,
            room: Some(room),
        } => relay(socket, event, data, ack, room).await,
        ClientMessage::Event {
            event,
            data,
            ack,
            room: None,
        } => handle_event(socket, event, data, ack).await,
        ClientMessage::Join { room, since, ack } => {
            // Past the limit, the policy is not asked (a flood of joins
            // costs the least); `join_limited` checks again as it joins.
            let max = socket.hub.config().max_rooms_per_socket;
            if !socket.shared.may_join(&room, max) {
                refuse_limit(socket, ack, max);
                return;
            }
            let decision = match (join_rule(socket, &room), &socket.hub.policies().join) {
                (Err(error), _) => Err(error),
                (Ok(()), Some(policy)) => {
                    guarded(socket, "$join policy", policy(socket.clone(), room.clone()))
                        .await
                        .unwrap_or_else(|| Err(policy_failed("$join")))
                }
                (Ok(()), None) => Ok(()),
            };
            match decision {
                Ok(()) => join_limited(socket, room, since.as_ref(), ack).await,
                Err(error) => refuse(socket, ack, error.to_body()),
            }
        }
        ClientMessage::Leave { room, ack } => leave(socket, &room, ack),
        ClientMessage::Refresh { token, ack } => refresh(socket, &token, ack).await,
        ClientMessage::Presence { room, ack } => presence(socket, &room, ack),
        // The connection task answers these itself.
        ClientMessage::Ping | ClientMessage::Reply { .. } => {}
    }
}

/// `$refresh`: a fresh token for the socket's user (PROTOCOL.md section
/// 10). The reply's data is `{"expires_at": ...}`; a token of another
/// user, an invalid or an expired one is refused and changes nothing.
async fn refresh(socket: &Socket, token: &str, ack: Option<u64>) {
    let unauthorized = |message: &str| (ErrorCode::Unauthorized, message.to_owned());
    let outcome = match (&socket.hub.policies().tokens, &socket.shared.identity) {
        (Some(verifier), Some(identity)) => match verifier.verify(token).await {
            Ok(claims) => {
                if identity.refresh(claims) {
                    socket.hub.watch_token_expiry(&socket.shared);
                    Ok(json!({ "expires_at": identity.expires_at() }))
                } else {
                    Err(unauthorized("the token names another user"))
                }
            }
            Err(error) => {
                let code = match error {
                    TokenError::Invalid(_) => ErrorCode::Unauthorized,
                    TokenError::Expired => ErrorCode::TokenExpired,
                    TokenError::KeysUnavailable(_) => ErrorCode::Unavailable,
                };
                Err((code, error.to_string()))
            }
        },
        (None, _) => Err(unauthorized("this hub does not check tokens")),
        (Some(_), None) => Err(unauthorized("an anonymous socket has no token to refresh")),
    };
    let reply = match (outcome, ack) {
        (Ok(data), Some(ack)) => Message::reply(ack, data),
        (Ok(_), None) => return,
        (Err((code, message)), ack) => {
            socket.hub.counters().error_sent(code.as_str());
            match ack {
                Some(ack) => Message::reply_error(ack, ErrorBody::new(code, message)),
                None => Message::error_event(code, message),
            }
        }
    };
    let _ = socket.send_message(&reply);
}

/// `$presence`: who is in a room that keeps presence, for its members
/// (PROTOCOL.md section 10); anyone else, or a room without presence, is
/// answered `forbidden`.
fn presence(socket: &Socket, room: &str, ack: u64) {
    let hub = &socket.hub;
    let answer = match hub.presence_book(room) {
        None => Err("this room keeps no presence"),
        Some(_) if !socket.in_room(room) => Err("only the room's members may ask who is in it"),
        Some(book) => Ok(book.room(room)),
    };
    let reply = match answer.map(serde_json::to_value) {
        Ok(Ok(data)) => Message::reply(ack, data),
        Ok(Err(error)) => {
            // Strings and numbers: not expected, but never left unanswered.
            tracing::error!(%error, "presence did not serialize");
            hub.counters().error_sent(ErrorCode::Internal.as_str());
            Message::reply_error(ack, ErrorBody::new(ErrorCode::Internal, "presence failed"))
        }
        Err(message) => {
            hub.counters().error_sent(ErrorCode::Forbidden.as_str());
            Message::reply_error(ack, ErrorBody::new(ErrorCode::Forbidden, message))
        }
    };
    let _ = socket.send_message(&reply);
}

/// A client's `$join` the policy allowed, within the rooms-per-socket
/// limit (over it: the error `limit`, as a reply or `$error`).
async fn join_limited(
    socket: &Socket,
    room: String,
    since: Option<&HistoryPosition>,
    ack: Option<u64>,
) {
    let hub = &socket.hub;
    let max = hub.config().max_rooms_per_socket;
    if hub.history_book(&room).is_some() {
        // A history room answers its place and what the client missed.
        match hub.join_with_history(socket, &room, since, ack, max).await {
            Ok(Some(presence)) => hub.tell_presence(presence),
            Ok(None) => refuse_limit(socket, ack, max),
            Err(error) => refuse(
                socket,
                ack,
                ErrorBody::new(ErrorCode::Unavailable, error.to_string()),
            ),
        }
        return;
    }
    join_plain(socket, room, ack);
}

/// Joins a room without history, within the rooms-per-socket limit
/// (over it: the error `limit`), and answers.
pub(super) fn join_plain(socket: &Socket, room: String, ack: Option<u64>) {
    let hub = &socket.hub;
    let max = hub.config().max_rooms_per_socket;
    if let Some((_, presence)) = hub.room_registry().join_within(&room, &socket.shared, max) {
        if let Some(ack) = ack {
            let _ = socket.send_message(&Message::reply(ack, json!({ "room": room })));
        }
        // After the reply: the joining socket hears its own `$joined` too.
        hub.tell_presence(presence);
        return;
    }
    tracing::debug!(
        socket = socket.id(),
        room,
        max,
        "join refused: rooms-per-socket limit"
    );
    refuse_limit(socket, ack, max);
}

/// Leaves a room and answers.
pub(super) fn leave(socket: &Socket, room: &str, ack: Option<u64>) {
    socket.leave(room);
    if let Some(ack) = ack {
        let _ = socket.send_message(&Message::reply(ack, json!({ "room": room })));
    }
}

/// Answers a `$join` past the rooms-per-socket limit with the error `limit`.
pub(super) fn refuse_limit(socket: &Socket, ack: Option<u64>, max: usize) {
    socket.hub.counters().error_sent(ErrorCode::Limit.as_str());
    let message = format!("a socket may be in at most {max} rooms: `$leave` one first");
    let reply = match ack {
        Some(ack) => Message::reply_error(ack, ErrorBody::new(ErrorCode::Limit, message)),
        None => Message::error_event(ErrorCode::Limit, message),
    };
    let _ = socket.send_message(&reply);
}

async fn handle_event(socket: &Socket, event: String, data: Value, ack: Option<u64>) {
    let hub = &socket.hub;
    if let Some(handler) = hub.event_router().events.get(&event) {
        let result = guarded(socket, &event, handler(socket.clone(), data)).await;
        answer(socket, &event, ack, result);
        return;
    }
    let tap = socket.shared.tap.lock().clone();
    let (event, data) = match tap {
        Some(tap) => match tap.send(TappedEvent { event, data, ack }).await {
            Ok(()) => return,
            Err(returned) => (returned.0.event, returned.0.data),
        },
        None => (event, data),
    };
    let (event, data) = match &hub.stream_tx() {
        Some(stream) => {
            let tapped = TappedEvent { event, data, ack };
            match stream.send(Streamed::Event(socket.clone(), tapped)).await {
                Ok(()) => return,
                Err(returned) => match returned.0 {
                    Streamed::Event(_, tapped) => (tapped.event, tapped.data),
                    Streamed::Raw(..) => return,
                },
            }
        }
        None => (event, data),
    };
    let inbound = InboundEvent::new(socket.clone(), event, data, ack);
    if let Some(fallback) = &hub.event_router().fallback {
        let event = inbound.event.clone();
        let result = guarded(
            socket,
            &event,
            fallback(
                socket.clone(),
                FallbackEvent {
                    event: inbound.event,
                    data: inbound.data,
                    wants_ack: ack.is_some(),
                },
            ),
        )
        .await;
        answer(socket, &event, ack, result);
        return;
    }
    inbound.answer_no_handler();
}

async fn relay(socket: &Socket, event: String, data: Value, ack: Option<u64>, room: String) {
    let decision = match &socket.hub.policies().relay {
        Some(policy) => {
            let request = RelayRequest {
                room: room.clone(),
                event: event.clone(),
            };
            let decided = policy(socket.clone(), request, data.clone());
            guarded(socket, "relay policy", decided)
                .await
                .unwrap_or_else(|| Err(policy_failed("relay")))
        }
        None if socket.in_room(&room) => Ok(None),
        None => Err(HandlerError::with_code(
            ErrorCode::Forbidden.as_str(),
            format!("relaying to room `{room}` is not allowed"),
        )),
    };
    let data = match decision {
        Ok(replaced) => replaced.unwrap_or(data),
        Err(error) => {
            refuse(socket, ack, error.to_body());
            return;
        }
    };
    let message = Message::event(event, data)
        .with_room(room.clone())
        .with_from(socket.id());
    socket
        .hub
        .to(&room)
        .except(socket.id())
        .send_message(&message);
    if let Some(ack) = ack {
        let _ = socket.send_message(&Message::reply(ack, Value::Null));
    }
}
