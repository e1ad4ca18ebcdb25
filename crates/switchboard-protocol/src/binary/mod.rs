//! Binary values: MessagePack `bin` in a payload that is a JSON value.
//!
//! A message's `data` is a [`serde_json::Value`], which has no bytes. So
//! that a MessagePack client's `bin` values reach handlers as bytes and go
//! back out as `bin`, a binary value is held as a one-key object, the
//! **bin object**:
//!
//! ```json
//! {"$bin": "AAEC/w=="}
//! ```
//!
//! whose string is the bytes in standard base64 (RFC 4648 section 4, with
//! padding). Then:
//!
//! - the MessagePack codec decodes every `bin` value (at any depth of
//!   `data`) into a bin object, and encodes every bin object as `bin`;
//! - the JSON codec sends a bin object as it is: this is what JSON clients
//!   receive for a binary value, and what they may send to stand for one;
//! - [`from_value`] (the hub's handlers use it) turns a bin object into
//!   bytes for a field that asks for bytes: [`Binary`],
//!   `serde_bytes::ByteBuf`, `bytes::Bytes`, `Vec<u8>`; a handler that
//!   takes a [`serde_json::Value`] sees the bin object itself;
//! - [`Binary`] serializes into a bin object through `serde_json::to_value`
//!   (so what the hub emits with it reaches MessagePack clients as `bin`),
//!   and as plain bytes through a binary serializer such as `rmp_serde`.
//!
//! An object with other keys beside `$bin`, or whose `$bin` is not a string
//! of valid padded base64, is an ordinary object.
//!
//! ```
//! use serde_json::json;
//! use switchboard_protocol::{Binary, Codec, Message, binary};
//!
//! // A MessagePack client sends {"event":"up","data":{"file":<bin 00 01 ff>}}.
//! let frame = [
//!     0x82, 0xa5, b'e', b'v', b'e', b'n', b't', 0xa2, b'u', b'p',
//!     0xa4, b'd', b'a', b't', b'a', 0x81, 0xa4, b'f', b'i', b'l', b'e',
//!     0xc4, 0x03, 0x00, 0x01, 0xff,
//! ];
//! let message = Codec::MsgPack.decode(&frame).unwrap().remove(0).unwrap();
//! let data = message.data.clone().unwrap();
//! assert_eq!(data, json!({"file": {"$bin": "AAH/"}}));
//!
//! // A handler's typed payload gets the bytes.
//! #[derive(serde::Deserialize)]
//! struct Upload { file: Binary }
//! let upload: Upload = binary::from_value(data).unwrap();
//! assert_eq!(&upload.file[..], [0x00, 0x01, 0xff]);
//!
//! // Sent back: `bin` to MessagePack clients, the bin object to JSON ones.
//! assert_eq!(&Codec::MsgPack.encode(&message)[..], &frame[..]);
//! assert_eq!(
//!     &Codec::Json.encode(&message)[..],
//!     br#"{"event":"up","data":{"file":{"$bin":"AAH/"}}}"#
//! );
//! ```

mod base64;
mod bin_aware;
mod binary_value;
mod msgpack;

use serde::de;
use serde_json::{Map, Value};

pub use binary_value::Binary;
pub(crate) use msgpack::{PackedMessage, deserialize_data};

use base64::{base64_decode, base64_encode};
use bin_aware::BinAware;

/// The key of a bin object: `{"$bin": "<base64>"}`.
pub const BIN_KEY: &str = "$bin";

/// The bytes a bin object stands for; `None` for any other value.
pub fn bin_bytes(value: &Value) -> Option<Vec<u8>> {
    match value {
        Value::Object(map) if map.len() == 1 => match map.get(BIN_KEY)? {
            Value::String(text) => base64_decode(text),
            _ => None,
        },
        _ => None,
    }
}

/// The bin object standing for `bytes`.
pub fn bin_value(bytes: &[u8]) -> Value {
    let mut map = Map::with_capacity(1);
    map.insert(BIN_KEY.to_owned(), Value::String(base64_encode(bytes)));
    Value::Object(map)
}

/// Deserializes `T` from `value` as `serde_json::from_value` does, except
/// that a bin object gives its bytes to a field that asks for bytes
/// ([`Binary`], `serde_bytes::ByteBuf`, `bytes::Bytes`, `Vec<u8>`).
pub fn from_value<T: de::DeserializeOwned>(value: Value) -> Result<T, serde_json::Error> {
    T::deserialize(BinAware(value))
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[test]
    fn from_value_gives_bytes_to_byte_fields_and_values_to_the_rest() {
        #[derive(Deserialize, Debug)]
        struct Payload {
            bin: Binary,
            vec: Vec<u8>,
            maybe: Option<Binary>,
            list: Vec<Binary>,
            raw: Value,
            plain: Vec<u8>,
            tagged: Tagged,
        }
        #[derive(Deserialize, Debug)]
        enum Tagged {
            Blob(Binary),
        }
        let blob = bin_value(&[1, 2, 255]);
        let payload: Payload = from_value(json!({
            "bin": blob, "vec": blob, "maybe": blob,
            "list": [blob, bin_value(b"")], "raw": blob, "plain": [7, 8],
            "tagged": {"Blob": blob},
        }))
        .unwrap();
        assert_eq!(&payload.bin[..], [1, 2, 255]);
        assert_eq!(payload.vec, [1, 2, 255]);
        assert_eq!(payload.maybe.as_deref(), Some(&[1u8, 2, 255][..]));
        assert_eq!(payload.list.len(), 2);
        assert!(payload.list[1].is_empty());
        assert_eq!(payload.raw, json!({"$bin": "AQL/"}));
        assert_eq!(payload.plain, [7, 8]);
        let Tagged::Blob(tagged) = payload.tagged;
        assert_eq!(&tagged[..], [1, 2, 255]);
        // Not bin objects: other keys beside, or bad base64.
        assert!(from_value::<Binary>(json!({"$bin": "AQL/", "x": 1})).is_err());
        assert!(from_value::<Binary>(json!({"$bin": "not base64"})).is_err());
    }
}
