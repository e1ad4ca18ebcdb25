//! Message encodings (PROTOCOL.md section 8).

use std::fmt;
use std::str::FromStr;

use bytes::{BufMut, Bytes, BytesMut};

use crate::binary::PackedMessage;
use crate::codes::ErrorCode;
use crate::error::ProtocolError;
use crate::message::Message;
use crate::{json, msgpack};

/// `{"event":"$pong"}` in each codec.
const JSON_PONG: &[u8] = br#"{"event":"$pong"}"#;
const MSGPACK_PONG: &[u8] = b"\x81\xa5event\xa5$pong";

/// Message encodings (PROTOCOL.md section 8), chosen by the `codec` query
/// parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Codec {
    /// JSON in text frames (the default).
    #[default]
    Json,
    /// MessagePack maps with the JSON keys, in binary frames.
    MsgPack,
}

/// The WebSocket subprotocol of the JSON codec (PROTOCOL.md section 1).
pub const SUBPROTOCOL_JSON: &str = "switchboard.v1";

/// The WebSocket subprotocol of the MessagePack codec (PROTOCOL.md
/// section 1).
pub const SUBPROTOCOL_MSGPACK: &str = "switchboard.v1.msgpack";

impl Codec {
    /// The codec named by a `codec=` query value: `json` or `msgpack`.
    pub fn from_query_value(v: &str) -> Result<Self, ProtocolError> {
        match v {
            "json" => Ok(Codec::Json),
            "msgpack" => Ok(Codec::MsgPack),
            other => Err(ProtocolError::UnknownCodec(crate::error::detail(other))),
        }
    }

    /// The WebSocket subprotocol (`Sec-WebSocket-Protocol`) that names this
    /// codec (PROTOCOL.md section 1): `switchboard.v1` or
    /// `switchboard.v1.msgpack`.
    ///
    /// ```
    /// use switchboard_protocol::Codec;
    ///
    /// assert_eq!(Codec::Json.subprotocol(), "switchboard.v1");
    /// assert_eq!(Codec::from_subprotocol("switchboard.v1.msgpack"), Some(Codec::MsgPack));
    /// assert_eq!(Codec::from_subprotocol("chat"), None);
    /// ```
    pub fn subprotocol(self) -> &'static str {
        match self {
            Codec::Json => SUBPROTOCOL_JSON,
            Codec::MsgPack => SUBPROTOCOL_MSGPACK,
        }
    }

    /// The codec a subprotocol name stands for, if it is one of the
    /// protocol's own (compared exactly: subprotocol names are
    /// case-sensitive).
    pub fn from_subprotocol(name: &str) -> Option<Self> {
        match name {
            SUBPROTOCOL_JSON => Some(Codec::Json),
            SUBPROTOCOL_MSGPACK => Some(Codec::MsgPack),
            _ => None,
        }
    }

    /// The codec's query value: `json` or `msgpack`.
    pub fn as_str(self) -> &'static str {
        match self {
            Codec::Json => "json",
            Codec::MsgPack => "msgpack",
        }
    }

    /// Whether the codec's frames are binary (MessagePack) rather than text.
    pub fn is_binary(self) -> bool {
        matches!(self, Codec::MsgPack)
    }

    /// The media type of long-polling bodies in this codec.
    pub fn content_type(self) -> &'static str {
        match self {
            Codec::Json => "application/json",
            Codec::MsgPack => "application/msgpack",
        }
    }

    /// Encodes one message. Never fails and never panics: should the
    /// encoder ever refuse a message, the result is an `$error` event with
    /// code `internal` instead.
    pub fn encode(self, msg: &Message) -> Bytes {
        match self {
            Codec::Json => self.encode_value(msg),
            Codec::MsgPack => self.encode_value(&PackedMessage(msg)),
        }
        .unwrap_or_else(|| self.encode_failure())
    }

    /// Encodes messages as one batch: a JSON array or a MessagePack array.
    /// Never fails and never panics, like [`Codec::encode`].
    pub fn encode_batch(self, msgs: &[Message]) -> Bytes {
        match self {
            Codec::Json => self.encode_value(msgs),
            Codec::MsgPack => {
                let packed: Vec<PackedMessage<'_>> = msgs.iter().map(PackedMessage).collect();
                self.encode_value(&packed)
            }
        }
        .unwrap_or_else(|| {
            let frames: Vec<Bytes> = msgs.iter().map(|m| self.encode(m)).collect();
            encode_raw_batch(self, &frames)
        })
    }

    /// Decode one frame: a single message or a batch (array). The outer Err
    /// means the frame as a whole is refused (not JSON / not MessagePack,
    /// or not an object or array). Inner results are per message, in
    /// order, so one bad element of a batch does not spoil the others
    /// (an element that is not an object is
    /// [`ProtocolError::NotAnObject`]). A single object yields a Vec of
    /// one; an empty batch yields an empty Vec.
    ///
    /// MessagePack `bin` values in `data` become bin objects
    /// (`{"$bin": "<base64>"}`, see [`crate::binary`]), which
    /// [`Codec::encode`] turns back into `bin` for MessagePack. A message
    /// whose `data` holds MessagePack extension values, or a map with
    /// non-string keys, is an inner [`ProtocolError::InvalidMessage`]:
    /// `data` is a JSON value.
    /// Nesting deeper than 127 arrays and objects refuses the frame.
    pub fn decode(
        self,
        frame: &[u8],
    ) -> Result<Vec<Result<Message, ProtocolError>>, ProtocolError> {
        match self {
            Codec::Json => json::decode(frame),
            Codec::MsgPack => msgpack::decode(frame),
        }
    }

    /// `{"event":"$pong"}`, pre-encoded.
    pub fn encode_pong(self) -> Bytes {
        match self {
            Codec::Json => Bytes::from_static(JSON_PONG),
            Codec::MsgPack => Bytes::from_static(MSGPACK_PONG),
        }
    }

    /// `value` in this codec (MessagePack: a map with named keys), or
    /// `None` should the encoder refuse it.
    pub(crate) fn encode_value<T: serde::Serialize + ?Sized>(self, value: &T) -> Option<Bytes> {
        let bytes = match self {
            Codec::Json => serde_json::to_vec(value).ok()?,
            Codec::MsgPack => rmp_serde::to_vec_named(value).ok()?,
        };
        Some(Bytes::from(bytes))
    }

    /// What [`Codec::encode`] sends when the encoder refuses a message.
    fn encode_failure(self) -> Bytes {
        let msg = Message::error_event(ErrorCode::Internal, "message could not be encoded");
        self.encode_value(&msg).unwrap_or_default()
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Codec {
    type Err = ProtocolError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Codec::from_query_value(s)
    }
}

/// Joins already-encoded single messages into one batch without parsing
/// them again: JSON `[` + frames joined by `,` + `]`; MessagePack an array
/// header followed by the frames. Equals [`Codec::encode_batch`] of the
/// same messages.
pub fn encode_raw_batch(codec: Codec, frames: &[Bytes]) -> Bytes {
    let body: usize = frames.iter().map(Bytes::len).sum();
    match codec {
        Codec::Json => {
            let mut out = BytesMut::with_capacity(body + frames.len() + 2);
            out.put_u8(b'[');
            for (i, frame) in frames.iter().enumerate() {
                if i > 0 {
                    out.put_u8(b',');
                }
                out.put_slice(frame);
            }
            out.put_u8(b']');
            out.freeze()
        }
        Codec::MsgPack => {
            let mut out = BytesMut::with_capacity(body + 5);
            // More than u32::MAX frames can not be held in memory.
            let n = u32::try_from(frames.len()).unwrap_or(u32::MAX);
            match (u8::try_from(n), u16::try_from(n)) {
                (Ok(small), _) if small < 16 => out.put_u8(0x90 | small),
                (_, Ok(medium)) => {
                    out.put_u8(0xdc);
                    out.put_u16(medium);
                }
                _ => {
                    out.put_u8(0xdd);
                    out.put_u32(n);
                }
            }
            for frame in frames {
                out.put_slice(frame);
            }
            out.freeze()
        }
    }
}
