//! Messages from a client, checked against the rules of PROTOCOL.md
//! section 3.

use serde_json::Value;

use crate::error::ProtocolError;
use crate::history::HistoryPosition;
use crate::message::{ErrorBody, Message};
use crate::reserved;

/// The longest event or room name, in bytes.
pub const MAX_NAME_LEN: usize = 256;

/// A message from a client, validated against section 3's rules.
///
/// Fields a client has no business setting are dropped: `from` always (the
/// hub sets it on relays, so it can not be spoofed), `error` on an event,
/// `reply` on an event, `room` on `$join` / `$leave` / `$ping`.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientMessage {
    /// An application event; `room` set means a relay request (section 4).
    Event {
        /// The event's name: 1 to [`MAX_NAME_LEN`] bytes, not reserved.
        event: String,
        /// The payload; `null` when absent.
        data: Value,
        /// The client asks for a reply under this number.
        ack: Option<u64>,
        /// Relay the event to this room (1 to [`MAX_NAME_LEN`] bytes).
        room: Option<String>,
    },
    /// A reply to an ack the hub asked for: Ok(data) or Err(error body).
    Reply {
        /// The hub's `ack` number this answers.
        reply: u64,
        /// The reply's data (`null` when absent), or its error. When both
        /// `data` and `error` are present the error wins.
        result: Result<Value, ErrorBody>,
    },
    /// `$join` with data `{"room": "..."}`, and for a room that keeps
    /// history, optionally `"since": {"epoch": "...", "offset": k}`
    /// (section 11).
    Join {
        /// The room to join.
        room: String,
        /// Recover the room's messages after this place in its history.
        since: Option<HistoryPosition>,
        /// The client asks for a reply under this number.
        ack: Option<u64>,
    },
    /// `$leave` with data `{"room": "..."}`.
    Leave {
        /// The room to leave.
        room: String,
        /// The client asks for a reply under this number.
        ack: Option<u64>,
    },
    /// `$ping`: the hub answers `$pong` (any `data` or `ack` is ignored).
    Ping,
    /// `$refresh` with data `{"token": "<jwt>"}`: a fresh token for the
    /// socket's user (section 10).
    Refresh {
        /// The new token.
        token: String,
        /// The client asks for a reply under this number.
        ack: Option<u64>,
    },
    /// `$presence` with data `{"room": "..."}`: who is in a presence room
    /// (section 10); always with an `ack`, since the answer is the reply.
    Presence {
        /// The room asked about.
        room: String,
        /// The reply's number.
        ack: u64,
    },
}

impl ClientMessage {
    /// The `ack` the client asked for, if any (`None` for replies and pings).
    pub fn ack(&self) -> Option<u64> {
        match self {
            ClientMessage::Event { ack, .. }
            | ClientMessage::Join { ack, .. }
            | ClientMessage::Leave { ack, .. }
            | ClientMessage::Refresh { ack, .. } => *ack,
            ClientMessage::Presence { ack, .. } => Some(*ack),
            ClientMessage::Reply { .. } | ClientMessage::Ping => None,
        }
    }
}

impl TryFrom<Message> for ClientMessage {
    type Error = ProtocolError;

    /// Checks a decoded message: with `event` it is an event (reserved names
    /// other than `$join`, `$leave`, `$ping`, `$refresh` and `$presence` are
    /// refused); else with
    /// `reply` it is a reply (absent `data` and `error` mean `Ok(null)`);
    /// else it is refused.
    fn try_from(msg: Message) -> Result<Self, ProtocolError> {
        let Message {
            event,
            data,
            ack,
            reply,
            error,
            room,
            from: _,
            offset: _,
        } = msg;
        if let Some(event) = event {
            return event_message(event, data, ack, room);
        }
        if let Some(reply) = reply {
            let result = match error {
                Some(error) => Err(error),
                None => Ok(data.unwrap_or(Value::Null)),
            };
            return Ok(ClientMessage::Reply { reply, result });
        }
        Err(ProtocolError::MissingEventOrReply)
    }
}

fn event_message(
    event: String,
    data: Option<Value>,
    ack: Option<u64>,
    room: Option<String>,
) -> Result<ClientMessage, ProtocolError> {
    check_event_name(&event)?;
    if !reserved::is_reserved(&event) {
        if let Some(room) = &room {
            check_room(room)?;
        }
        return Ok(ClientMessage::Event {
            event,
            data: data.unwrap_or(Value::Null),
            ack,
            room,
        });
    }
    match event.as_str() {
        reserved::PING => Ok(ClientMessage::Ping),
        reserved::JOIN => {
            let since = since_of(data.as_ref())?;
            Ok(ClientMessage::Join {
                room: room_of(&event, data)?,
                since,
                ack,
            })
        }
        reserved::LEAVE => Ok(ClientMessage::Leave {
            room: room_of(&event, data)?,
            ack,
        }),
        reserved::REFRESH => Ok(ClientMessage::Refresh {
            token: token_of(data)?,
            ack,
        }),
        reserved::PRESENCE => {
            let room = room_of(&event, data)?;
            let ack = ack.ok_or(ProtocolError::PresenceWithoutAck)?;
            Ok(ClientMessage::Presence { room, ack })
        }
        _ => Err(ProtocolError::ReservedEvent(event)),
    }
}

/// An event name must be 1 to [`MAX_NAME_LEN`] bytes.
fn check_event_name(name: &str) -> Result<(), ProtocolError> {
    if name.is_empty() {
        return Err(ProtocolError::InvalidEventName("the name is empty".into()));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(ProtocolError::InvalidEventName(format!(
            "the name is longer than {MAX_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

/// A room name must be 1 to [`MAX_NAME_LEN`] bytes.
fn check_room(room: &str) -> Result<(), ProtocolError> {
    if room.is_empty() {
        return Err(ProtocolError::InvalidRoom("the room name is empty".into()));
    }
    if room.len() > MAX_NAME_LEN {
        return Err(ProtocolError::InvalidRoom(format!(
            "the room name is longer than {MAX_NAME_LEN} bytes"
        )));
    }
    Ok(())
}

/// The token of `$refresh` data `{"token": "..."}`.
fn token_of(data: Option<Value>) -> Result<String, ProtocolError> {
    match data {
        Some(Value::Object(mut map)) => match map.remove("token") {
            Some(Value::String(token)) if !token.is_empty() => Ok(token),
            _ => Err(ProtocolError::InvalidRefresh),
        },
        _ => Err(ProtocolError::InvalidRefresh),
    }
}

/// The room of `$join` / `$leave` data `{"room": "..."}`.
/// The `since` of a `$join`'s data: absent or `null` is none; anything
/// but `{"epoch": "<string>", "offset": <unsigned integer>}` is refused.
fn since_of(data: Option<&Value>) -> Result<Option<HistoryPosition>, ProtocolError> {
    let since = match data.and_then(|data| data.get("since")) {
        None | Some(Value::Null) => return Ok(None),
        Some(since) => since,
    };
    let epoch = since.get("epoch").and_then(Value::as_str);
    let offset = since.get("offset").and_then(Value::as_u64);
    match (epoch, offset) {
        (Some(epoch), Some(offset)) if epoch.len() <= MAX_NAME_LEN => Ok(Some(HistoryPosition {
            epoch: epoch.to_owned(),
            offset,
        })),
        _ => Err(ProtocolError::InvalidSince(
            "`$join` `since` must be {\"epoch\": \"<string>\", \"offset\": <unsigned integer>}"
                .into(),
        )),
    }
}

fn room_of(event: &str, data: Option<Value>) -> Result<String, ProtocolError> {
    let Some(Value::Object(mut map)) = data else {
        return Err(ProtocolError::InvalidRoom(format!(
            "`{event}` needs data {{\"room\": \"<name>\"}}"
        )));
    };
    match map.remove("room") {
        Some(Value::String(room)) => {
            check_room(&room)?;
            Ok(room)
        }
        _ => Err(ProtocolError::InvalidRoom(format!(
            "`{event}` data needs a string `room`"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client(json: &str) -> Result<ClientMessage, ProtocolError> {
        ClientMessage::try_from(serde_json::from_str::<Message>(json).unwrap())
    }

    #[test]
    fn refresh() {
        assert_eq!(
            client(r#"{"event":"$refresh","data":{"token":"a.b.c"},"ack":4}"#),
            Ok(ClientMessage::Refresh {
                token: "a.b.c".into(),
                ack: Some(4),
            })
        );
        for bad in [
            r#"{"event":"$refresh"}"#,
            r#"{"event":"$refresh","data":{"token":""}}"#,
            r#"{"event":"$refresh","data":{"token":7}}"#,
            r#"{"event":"$refresh","data":"a.b.c"}"#,
        ] {
            assert_eq!(client(bad), Err(ProtocolError::InvalidRefresh), "{bad}");
        }
    }

    #[test]
    fn presence() {
        assert_eq!(
            client(r#"{"event":"$presence","data":{"room":"r"},"ack":3}"#),
            Ok(ClientMessage::Presence {
                room: "r".into(),
                ack: 3,
            })
        );
        assert_eq!(
            client(r#"{"event":"$presence","data":{"room":"r"}}"#),
            Err(ProtocolError::PresenceWithoutAck)
        );
        assert!(matches!(
            client(r#"{"event":"$presence","ack":1}"#),
            Err(ProtocolError::InvalidRoom(_))
        ));
    }

    #[test]
    fn events() {
        assert_eq!(
            client(
                r#"{"event":"chat","data":{"t":"hi"},"ack":2,"from":"spoof","error":{"code":"x"}}"#
            ),
            Ok(ClientMessage::Event {
                event: "chat".into(),
                data: json!({"t": "hi"}),
                ack: Some(2),
                room: None,
            })
        );
        assert_eq!(
            client(r#"{"event":"chat","room":"lobby"}"#),
            Ok(ClientMessage::Event {
                event: "chat".into(),
                data: Value::Null,
                ack: None,
                room: Some("lobby".into()),
            })
        );
        // `event` wins over `reply`.
        assert!(matches!(
            client(r#"{"event":"e","reply":1}"#),
            Ok(ClientMessage::Event { .. })
        ));
    }

    #[test]
    fn event_names_are_checked() {
        assert!(matches!(
            client(r#"{"event":""}"#),
            Err(ProtocolError::InvalidEventName(_))
        ));
        let long = format!(r#"{{"event":"{}"}}"#, "e".repeat(MAX_NAME_LEN + 1));
        assert!(matches!(
            client(&long),
            Err(ProtocolError::InvalidEventName(_))
        ));
        let max = format!(r#"{{"event":"{}"}}"#, "é".repeat(MAX_NAME_LEN / 2));
        assert!(client(&max).is_ok());
    }

    #[test]
    fn reserved_names_can_not_be_spoofed() {
        for name in ["$welcome", "$error", "$pong", "$anything", "$", "$JOIN"] {
            let err = client(&format!(r#"{{"event":"{name}","data":{{"room":"r"}}}}"#));
            assert_eq!(err, Err(ProtocolError::ReservedEvent(name.into())));
            assert_eq!(
                err.unwrap_err().to_string(),
                format!("reserved event name `{name}` may not be sent by a client")
            );
        }
    }

    #[test]
    fn join_leave_ping() {
        assert_eq!(
            client(r#"{"event":"$join","data":{"room":"a"},"ack":1}"#),
            Ok(ClientMessage::Join {
                room: "a".into(),
                since: None,
                ack: Some(1)
            })
        );
        assert_eq!(
            client(r#"{"event":"$leave","data":{"room":"a","x":1}}"#),
            Ok(ClientMessage::Leave {
                room: "a".into(),
                ack: None
            })
        );
        assert_eq!(client(r#"{"event":"$ping"}"#), Ok(ClientMessage::Ping));
        assert_eq!(
            client(r#"{"event":"$ping","data":[1],"ack":3}"#),
            Ok(ClientMessage::Ping)
        );
        for bad in [
            r#"{"event":"$join"}"#,
            r#"{"event":"$join","data":"a"}"#,
            r#"{"event":"$join","data":{}}"#,
            r#"{"event":"$join","data":{"room":1}}"#,
            r#"{"event":"$join","data":{"room":""}}"#,
            r#"{"event":"$leave","room":"a"}"#,
        ] {
            assert!(
                matches!(client(bad), Err(ProtocolError::InvalidRoom(_))),
                "{bad}"
            );
        }
        let long = format!(
            r#"{{"event":"$join","data":{{"room":"{}"}}}}"#,
            "r".repeat(257)
        );
        assert!(matches!(client(&long), Err(ProtocolError::InvalidRoom(_))));
    }

    #[test]
    fn relay_rooms_are_checked() {
        assert!(matches!(
            client(r#"{"event":"e","room":""}"#),
            Err(ProtocolError::InvalidRoom(_))
        ));
        let long = format!(r#"{{"event":"e","room":"{}"}}"#, "r".repeat(257));
        assert!(matches!(client(&long), Err(ProtocolError::InvalidRoom(_))));
    }

    #[test]
    fn replies() {
        assert_eq!(
            client(r#"{"reply":5,"data":[1]}"#),
            Ok(ClientMessage::Reply {
                reply: 5,
                result: Ok(json!([1]))
            })
        );
        assert_eq!(
            client(r#"{"reply":5}"#),
            Ok(ClientMessage::Reply {
                reply: 5,
                result: Ok(Value::Null)
            })
        );
        let err = ErrorBody {
            code: "forbidden".into(),
            message: "no".into(),
        };
        assert_eq!(
            client(r#"{"reply":0,"data":1,"error":{"code":"forbidden","message":"no"}}"#),
            Ok(ClientMessage::Reply {
                reply: 0,
                result: Err(err)
            })
        );
    }

    #[test]
    fn neither_event_nor_reply() {
        assert_eq!(
            client(r#"{"data":1,"ack":2}"#),
            Err(ProtocolError::MissingEventOrReply)
        );
        assert_eq!(client(r#"{}"#), Err(ProtocolError::MissingEventOrReply));
        assert_eq!(
            client(r#"{"event":null}"#),
            Err(ProtocolError::MissingEventOrReply)
        );
    }

    #[test]
    fn ack_accessor() {
        assert_eq!(client(r#"{"event":"e","ack":4}"#).unwrap().ack(), Some(4));
        assert_eq!(client(r#"{"reply":4}"#).unwrap().ack(), None);
    }
}
