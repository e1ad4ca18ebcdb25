//! The Switchboard wire protocol (see `PROTOCOL.md`): the [`Message`]
//! envelope, the JSON and MessagePack [`Codec`]s with batch decoding, the
//! checks a client's message must pass ([`ClientMessage`]), the handshake's
//! query and long-polling open body ([`HandshakeQuery`], [`parse_open_body`]),
//! and the error and close codes. Pure: no I/O, no async runtime.
//!
//! ```
//! use serde_json::json;
//! use switchboard_protocol::{ClientMessage, Codec, Message};
//!
//! // A client frame holding a batch of two messages, one of them bad.
//! let frame = br#"[{"event":"chat","data":{"text":"hi"},"ack":1},{"event":"$welcome"}]"#;
//! let decoded = Codec::Json.decode(frame).expect("a JSON array");
//! assert_eq!(decoded.len(), 2);
//!
//! let first = ClientMessage::try_from(decoded[0].clone().unwrap()).unwrap();
//! assert_eq!(
//!     first,
//!     ClientMessage::Event {
//!         event: "chat".into(),
//!         data: json!({"text": "hi"}),
//!         ack: Some(1),
//!         room: None,
//!     }
//! );
//! // A client may not send `$welcome`: the hub answers with `$error`.
//! let err = ClientMessage::try_from(decoded[1].clone().unwrap()).unwrap_err();
//! let answer = Message::error_event(err.code(), err.to_string());
//! assert_eq!(
//!     &Codec::Json.encode(&answer)[..],
//!     br#"{"event":"$error","data":{"code":"bad_message","message":"reserved event name `$welcome` may not be sent by a client"}}"#
//! );
//!
//! // The reply to the first message, in both codecs.
//! let reply = Message::reply(1, json!({"ok": true}));
//! assert_eq!(&Codec::Json.encode(&reply)[..], br#"{"data":{"ok":true},"reply":1}"#);
//! let packed = Codec::MsgPack.encode(&reply);
//! assert_eq!(Codec::MsgPack.decode(&packed).unwrap(), vec![Ok(reply)]);
//! ```

pub mod binary;
mod client;
mod codec;
mod codes;
mod error;
mod handler_error;
mod handshake;
mod history;
mod json;
mod message;
mod msgpack;
mod presence;
pub mod reserved;
mod transport;
mod welcome;

pub use binary::Binary;
pub use client::{ClientMessage, MAX_NAME_LEN};
pub use codec::{Codec, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, encode_raw_batch};
pub use codes::{CloseCode, ErrorCode, UnknownErrorCode};
pub use error::ProtocolError;
pub use handler_error::HandlerError;
pub use handshake::{
    HandshakeError, HandshakeQuery, MAX_SESSION_TOKEN_LEN, ResumeRequest, parse_open_body,
};
pub use history::{HistoryPosition, RoomHistory};
pub use message::{ErrorBody, Message};
pub use presence::{RoomPresence, UserPresence};
pub use transport::Transport;
pub use welcome::Welcome;
