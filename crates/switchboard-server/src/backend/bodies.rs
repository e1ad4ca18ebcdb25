//! The JSON bodies of the back-end calls (PROTOCOL.md section 10).

use http::HeaderName;
use http::header::{AUTHORIZATION, COOKIE, ORIGIN, USER_AGENT};
use serde_json::{Map, Value, json};
use switchboard::protocol::CloseCode;
use switchboard::{DisconnectReason, HandshakeRequest, Socket};

/// The handshake headers every connect call passes.
pub const ALWAYS_FORWARDED: [HeaderName; 4] = [COOKIE, AUTHORIZATION, USER_AGENT, ORIGIN];

/// `{"socket","user"|null,"transport","remote","headers","query"}`.
///
/// `headers` holds the forwarded headers the request carries, by their
/// lowercase names; a header sent several times is joined with `, `
/// (`Cookie` with `; `), and a value that is not text is left out.
/// `query` holds every query parameter as sent, the `token` one included
/// (a back end may check its own tokens when the hub checks none); a
/// parameter given twice keeps its first value.
pub fn connect(request: &HandshakeRequest, forwarded: &[HeaderName]) -> Value {
    let mut headers = Map::new();
    for name in ALWAYS_FORWARDED.iter().chain(forwarded) {
        if headers.contains_key(name.as_str()) {
            continue;
        }
        let values: Vec<&str> = request
            .headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        if !values.is_empty() {
            let separator = if *name == COOKIE { "; " } else { ", " };
            headers.insert(name.as_str().to_owned(), values.join(separator).into());
        }
    }
    let mut query = Map::new();
    if let Some(text) = request.uri.query() {
        for (key, value) in form_urlencoded::parse(text.as_bytes()) {
            query
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned().into());
        }
    }
    json!({
        "socket": request.socket_id,
        "user": request.user.as_ref().map(|grant| grant.user.as_str()),
        "transport": request.transport.as_str(),
        "remote": request.client_ip.map(|ip| ip.to_string()),
        "headers": headers,
        "query": query,
    })
}

/// `{"socket","user","room"}`.
pub fn join(socket: &Socket, room: &str) -> Value {
    json!({ "socket": socket.id(), "user": socket.user(), "room": room })
}

/// `{"socket","user","room","event","data"}`.
pub fn publish(socket: &Socket, room: &str, event: &str, data: &Value) -> Value {
    json!({
        "socket": socket.id(),
        "user": socket.user(),
        "room": room,
        "event": event,
        "data": data,
    })
}

/// `{"socket","user","event","data"}`.
pub fn event(socket: &Socket, event: &str, data: &Value) -> Value {
    json!({ "socket": socket.id(), "user": socket.user(), "event": event, "data": data })
}

/// `{"socket","user","reason","code"}`: see [`reason`].
pub fn disconnect(socket: &Socket, why: &DisconnectReason) -> Value {
    let (reason, code) = reason(why);
    json!({ "socket": socket.id(), "user": socket.user(), "reason": reason, "code": code })
}

/// A session's end in a word, and the close code when there was one:
/// `client_closed` (the client's code), `heartbeat_timeout`,
/// `transport_error` (the link dropped and was not resumed in time),
/// `aborted` (dropped at the end of a shutdown), or, when the hub closed
/// the link, its close code's name: `closed` (1000), `shutdown` (1001),
/// `protocol_error`, `invalid_payload`, `policy`, `too_big`, `internal`,
/// `service_restart` (1012: a clustered node drained), `kicked`, `slow_consumer`, `session_taken_over`, `token_expired`.
pub fn reason(why: &DisconnectReason) -> (&'static str, Option<u16>) {
    match why {
        DisconnectReason::ClientClosed(code) => ("client_closed", Some(*code)),
        DisconnectReason::HeartbeatTimeout => ("heartbeat_timeout", None),
        DisconnectReason::TransportError(_) => ("transport_error", None),
        DisconnectReason::Aborted => ("aborted", None),
        DisconnectReason::ServerClosed(code) => {
            let name = match code {
                CloseCode::Normal => "closed",
                CloseCode::GoingAway => "shutdown",
                CloseCode::ProtocolError => "protocol_error",
                CloseCode::InvalidPayload => "invalid_payload",
                CloseCode::Policy => "policy",
                CloseCode::TooBig => "too_big",
                CloseCode::Internal => "internal",
                CloseCode::ServiceRestart => "service_restart",
                CloseCode::Kicked => "kicked",
                CloseCode::SlowConsumer => "slow_consumer",
                CloseCode::SessionTakenOver => "session_taken_over",
                CloseCode::TokenExpired => "token_expired",
            };
            (name, Some(code.as_u16()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_has_a_word() {
        assert_eq!(
            reason(&DisconnectReason::ClientClosed(1000)),
            ("client_closed", Some(1000))
        );
        assert_eq!(
            reason(&DisconnectReason::ServerClosed(CloseCode::Kicked)),
            ("kicked", Some(4000))
        );
        assert_eq!(
            reason(&DisconnectReason::TransportError("reset".into())),
            ("transport_error", None)
        );
        let words: Vec<&str> = CloseCode::ALL
            .into_iter()
            .map(|code| reason(&DisconnectReason::ServerClosed(code)).0)
            .collect();
        let mut unique = words.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), words.len(), "{words:?}");
    }
}
