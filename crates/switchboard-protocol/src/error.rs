//! Why a frame or a message was refused.

use crate::codes::ErrorCode;

/// The longest detail text a [`ProtocolError`] carries; longer decoder
/// messages (which may quote the offending input) are cut.
pub(crate) const MAX_DETAIL_LEN: usize = 200;

/// Why a frame or message was refused. Its `Display` text is the human
/// `message` sent back in `$error` (see [`crate::Message::error_event`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The frame is not valid JSON (JSON codec, whole frame).
    #[error("frame is not valid JSON: {0}")]
    NotJson(String),
    /// The frame is not valid MessagePack (MessagePack codec, whole frame).
    #[error("frame is not valid MessagePack: {0}")]
    NotMsgPack(String),
    /// The frame is well formed but neither a message (object / map) nor a
    /// batch (array).
    #[error("frame is neither a message object nor an array of messages")]
    NotObjectOrArray,
    /// An element of a batch is not a message object / map.
    #[error("batch element is not a message object")]
    NotAnObject,
    /// The message is an object whose fields have the wrong types (e.g. a
    /// negative, fractional or string `ack`, a non-string `event`, or
    /// MessagePack binary data in `data`).
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// The message has neither `event` nor `reply`.
    #[error("message has neither `event` nor `reply`")]
    MissingEventOrReply,
    /// The event name is empty or too long.
    #[error("invalid event name: {0}")]
    InvalidEventName(String),
    /// A client sent a reserved (`$`-prefixed) event it may not send.
    #[error("reserved event name `{0}` may not be sent by a client")]
    ReservedEvent(String),
    /// A room name (in `room`, or in `$join` / `$leave` data) is missing or
    /// invalid.
    #[error("invalid room: {0}")]
    InvalidRoom(String),
    /// A `$join`'s `since` is not `{"epoch": "<string>", "offset": <n>}`
    /// (section 11).
    #[error("invalid since: {0}")]
    InvalidSince(String),
    /// `$refresh` without data `{"token": "<string>"}` (section 10).
    #[error("`$refresh` needs data {{\"token\": \"<jwt>\"}}")]
    InvalidRefresh,
    /// `$presence` without an `ack` to answer under (section 10).
    #[error("`$presence` needs an `ack`: its answer is the reply")]
    PresenceWithoutAck,
    /// The `codec` query parameter names no codec.
    #[error("unknown codec `{0}` (expected `json` or `msgpack`)")]
    UnknownCodec(String),
    /// A WebSocket frame of the wrong type for the codec: the JSON codec
    /// takes text frames, the MessagePack codec binary frames (sections 2
    /// and 8).
    #[error("the {codec} codec takes {expected} frames, not {received} frames")]
    WrongFrameType {
        /// The codec's name (`json`, `msgpack`).
        codec: &'static str,
        /// The frame type it takes (`text`, `binary`).
        expected: &'static str,
        /// The frame type received.
        received: &'static str,
    },
}

impl ProtocolError {
    /// The `$error` code for this error: [`ErrorCode::BadMessage`] for all
    /// of them.
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BadMessage
    }

    /// Whether this error refuses the frame (or long-polling body) as a
    /// whole rather than one message in it: [`ProtocolError::NotJson`],
    /// [`ProtocolError::NotMsgPack`], [`ProtocolError::NotObjectOrArray`] and
    /// [`ProtocolError::NotAnObject`]. Long-polling answers `400` for a body
    /// with such an error (PROTOCOL.md section 6); WebSocket sends `$error`.
    pub fn is_malformed_body(&self) -> bool {
        matches!(
            self,
            ProtocolError::NotJson(_)
                | ProtocolError::NotMsgPack(_)
                | ProtocolError::NotObjectOrArray
                | ProtocolError::NotAnObject
        )
    }
}

/// `text` cut to at most [`MAX_DETAIL_LEN`] bytes on a char boundary.
pub(crate) fn detail(text: impl std::fmt::Display) -> String {
    let mut text = text.to_string();
    if text.len() > MAX_DETAIL_LEN {
        let mut end = MAX_DETAIL_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_a_bad_message() {
        let all = [
            ProtocolError::NotJson("x".into()),
            ProtocolError::NotMsgPack("x".into()),
            ProtocolError::NotObjectOrArray,
            ProtocolError::NotAnObject,
            ProtocolError::InvalidMessage("x".into()),
            ProtocolError::MissingEventOrReply,
            ProtocolError::InvalidEventName("x".into()),
            ProtocolError::ReservedEvent("$x".into()),
            ProtocolError::InvalidRoom("x".into()),
            ProtocolError::InvalidSince("x".into()),
            ProtocolError::InvalidRefresh,
            ProtocolError::PresenceWithoutAck,
            ProtocolError::UnknownCodec("x".into()),
            ProtocolError::WrongFrameType {
                codec: "json",
                expected: "text",
                received: "binary",
            },
        ];
        for err in all {
            assert_eq!(err.code(), ErrorCode::BadMessage);
            assert!(!err.to_string().is_empty());
        }
        assert_eq!(
            ProtocolError::ReservedEvent("$x".into()).to_string(),
            "reserved event name `$x` may not be sent by a client"
        );
        assert_eq!(
            ProtocolError::MissingEventOrReply.to_string(),
            "message has neither `event` nor `reply`"
        );
    }

    #[test]
    fn detail_is_cut_on_a_char_boundary() {
        let long = "é".repeat(300);
        let cut = detail(&long);
        assert!(cut.len() <= MAX_DETAIL_LEN + '…'.len_utf8());
        assert!(cut.ends_with('…'));
        assert_eq!(detail("short"), "short");
    }
}
