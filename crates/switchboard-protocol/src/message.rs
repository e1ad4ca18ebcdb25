//! The wire message (PROTOCOL.md section 2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::codes::ErrorCode;
use crate::reserved;

/// Wire message (PROTOCOL.md section 2): an event (has `event`) or a reply
/// (has `reply`).
///
/// Serializing skips `None` fields, in the field order below (so an event is
/// `{"event":..,"data":..}`). Deserializing ignores unknown fields; a JSON
/// `null` and an absent field both give `None`. An `ack` or `reply` that is
/// negative, fractional or not a number makes the message invalid.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Message {
    /// The event's name; names beginning with `$` are reserved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    /// The payload; `None` means `null`. A MessagePack `bin` value is held
    /// as a bin object, `{"$bin": "<base64>"}` (see [`crate::binary`]);
    /// MessagePack extension values can not be held here, so a message
    /// carrying them is invalid.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::binary::deserialize_data"
    )]
    pub data: Option<Value>,
    /// The sender asks for a reply to this event, under this number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack: Option<u64>,
    /// This message is the reply to the event whose `ack` it names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<u64>,
    /// In a reply: the event failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
    /// Server to client: the room the event was broadcast to. Client to
    /// server: relay the event to this room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<String>,
    /// Server to client: the socket id of a relayed event's sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Server to client: the message's place in the history of its `room`
    /// (PROTOCOL.md section 11), for rooms that keep history; strictly
    /// increasing within the room's epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

impl Message {
    /// An event named `name`; a `null` payload is stored as `None`, so it is
    /// not sent.
    pub fn event(name: impl Into<String>, data: Value) -> Self {
        Message {
            event: Some(name.into()),
            data: (!data.is_null()).then_some(data),
            ..Message::default()
        }
    }

    /// A successful reply to `ack`. The payload is always stored, even
    /// `null`, so the reply carries `"data"` as the protocol requires.
    pub fn reply(ack: u64, data: Value) -> Self {
        Message {
            reply: Some(ack),
            data: Some(data),
            ..Message::default()
        }
    }

    /// A failed reply to `ack`.
    pub fn reply_error(ack: u64, error: ErrorBody) -> Self {
        Message {
            reply: Some(ack),
            error: Some(error),
            ..Message::default()
        }
    }

    /// This message, asking for a reply under `ack`.
    #[must_use]
    pub fn with_ack(mut self, ack: u64) -> Self {
        self.ack = Some(ack);
        self
    }

    /// This message, with `room` set.
    #[must_use]
    pub fn with_room(mut self, room: impl Into<String>) -> Self {
        self.room = Some(room.into());
        self
    }

    /// This message, with `from` set.
    #[must_use]
    pub fn with_from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// This message, with `offset` set.
    #[must_use]
    pub fn with_offset(mut self, offset: u64) -> Self {
        self.offset = Some(offset);
        self
    }

    /// The `$error` event: `{"event":"$error","data":{"code":..,"message":..}}`.
    pub fn error_event(code: ErrorCode, message: impl Into<String>) -> Self {
        let mut data = serde_json::Map::new();
        data.insert("code".to_owned(), Value::from(code.as_str()));
        data.insert("message".to_owned(), Value::from(message.into()));
        Message::event(reserved::ERROR, Value::Object(data))
    }
}

/// The `error` object of a failed reply: `{"code": "...", "message": "..."}`.
///
/// `code` is a free string so that codes an application or a peer invents
/// pass through; [`ErrorCode`] lists the protocol's own. A missing `message`
/// decodes as an empty string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The machine-readable code, e.g. `"forbidden"`.
    pub code: String,
    /// The human-readable message.
    #[serde(default)]
    pub message: String,
}

impl ErrorBody {
    /// An error body with one of the protocol's codes.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.as_str().to_owned(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json(msg: &Message) -> String {
        serde_json::to_string(msg).unwrap()
    }

    #[test]
    fn constructors_emit_only_set_fields_in_order() {
        assert_eq!(
            json(&Message::event("chat", json!({"t": 1}))),
            r#"{"event":"chat","data":{"t":1}}"#
        );
        assert_eq!(
            json(&Message::event("tick", Value::Null)),
            r#"{"event":"tick"}"#
        );
        assert_eq!(
            json(&Message::reply(3, Value::Null)),
            r#"{"data":null,"reply":3}"#
        );
        assert_eq!(
            json(&Message::reply_error(
                4,
                ErrorBody::new(ErrorCode::NoHandler, "no")
            )),
            r#"{"reply":4,"error":{"code":"no_handler","message":"no"}}"#
        );
        assert_eq!(
            json(
                &Message::event("m", json!(1))
                    .with_ack(7)
                    .with_room("r")
                    .with_from("id1")
            ),
            r#"{"event":"m","data":1,"ack":7,"room":"r","from":"id1"}"#
        );
        assert_eq!(
            json(&Message::error_event(ErrorCode::BadMessage, "oops")),
            r#"{"event":"$error","data":{"code":"bad_message","message":"oops"}}"#
        );
    }

    #[test]
    fn error_body_message_defaults_to_empty() {
        let body: ErrorBody = serde_json::from_str(r#"{"code":"x"}"#).unwrap();
        assert_eq!(
            body,
            ErrorBody {
                code: "x".into(),
                message: String::new()
            }
        );
    }
}
