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

use std::fmt;

use bytes::Bytes;
use serde::de::value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::message::Message;

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

/// Bytes in a payload: a bin object in a JSON value, `bin` in MessagePack.
///
/// Take it in a handler's payload to receive a MessagePack client's `bin`
/// value (or a JSON client's bin object); emit it to send one. It derefs to
/// `[u8]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Binary(pub Bytes);

impl Binary {
    /// The bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl std::ops::Deref for Binary {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Binary {
    fn from(bytes: Vec<u8>) -> Self {
        Binary(Bytes::from(bytes))
    }
}

impl From<Bytes> for Binary {
    fn from(bytes: Bytes) -> Self {
        Binary(bytes)
    }
}

impl From<&[u8]> for Binary {
    fn from(bytes: &[u8]) -> Self {
        Binary(Bytes::copy_from_slice(bytes))
    }
}

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            let mut map = serializer.serialize_map(Some(1))?;
            map.serialize_entry(BIN_KEY, &base64_encode(&self.0))?;
            map.end()
        } else {
            serializer.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(BinaryVisitor)
    }
}

struct BinaryVisitor;

impl<'de> Visitor<'de> for BinaryVisitor {
    type Value = Binary;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bytes, an array of bytes, or {\"$bin\": \"<base64>\"}")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Binary, E> {
        Ok(Binary::from(v))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Binary, E> {
        Ok(Binary::from(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Binary, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Binary::from(bytes))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Binary, A::Error> {
        let invalid = || de::Error::custom("expected {\"$bin\": \"<padded base64>\"}");
        let key: Option<String> = map.next_key()?;
        if key.as_deref() != Some(BIN_KEY) {
            return Err(invalid());
        }
        let text: String = map.next_value()?;
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(invalid());
        }
        base64_decode(&text).map(Binary::from).ok_or_else(invalid)
    }
}

// --- MessagePack: `bin` in, `bin` out ---------------------------------------

/// Deserializes `data` (any JSON value, with `bin` as bin objects). A
/// human-readable format (JSON) has no bytes: it keeps `serde_json`'s own
/// path.
pub(crate) fn deserialize_data<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    if deserializer.is_human_readable() {
        return Option::<Value>::deserialize(deserializer);
    }
    Option::<DataValue>::deserialize(deserializer).map(|v| v.map(|v| v.0))
}

/// A JSON value that also accepts bytes, as a bin object.
struct DataValue(Value);

impl<'de> Deserialize<'de> for DataValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DataVisitor).map(DataValue)
    }
}

struct DataVisitor;

impl<'de> Visitor<'de> for DataVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value or binary")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(bin_value(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(DataValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let DataValue(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

/// A message for the MessagePack codec: as [`Message`] serializes, with
/// the bin objects of `data` as bytes.
pub(crate) struct PackedMessage<'a>(pub(crate) &'a Message);

impl Serialize for PackedMessage<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let m = self.0;
        let len = usize::from(m.event.is_some())
            + usize::from(m.data.is_some())
            + usize::from(m.ack.is_some())
            + usize::from(m.reply.is_some())
            + usize::from(m.error.is_some())
            + usize::from(m.room.is_some())
            + usize::from(m.from.is_some());
        let mut s = serializer.serialize_struct("Message", len)?;
        fn field<T: Serialize, S: SerializeStruct>(
            s: &mut S,
            name: &'static str,
            value: Option<T>,
        ) -> Result<(), S::Error> {
            match value {
                Some(value) => s.serialize_field(name, &value),
                None => s.skip_field(name),
            }
        }
        field(&mut s, "event", m.event.as_ref())?;
        field(&mut s, "data", m.data.as_ref().map(PackedValue))?;
        field(&mut s, "ack", m.ack)?;
        field(&mut s, "reply", m.reply)?;
        field(&mut s, "error", m.error.as_ref())?;
        field(&mut s, "room", m.room.as_ref())?;
        field(&mut s, "from", m.from.as_ref())?;
        s.end()
    }
}

/// `value` for a binary serializer: bin objects as bytes.
pub(crate) struct PackedValue<'a>(pub(crate) &'a Value);

impl Serialize for PackedValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&PackedValue(item))?;
                }
                seq.end()
            }
            Value::Object(object) => {
                if let Some(bytes) = bin_bytes(self.0) {
                    return serializer.serialize_bytes(&bytes);
                }
                let mut map = serializer.serialize_map(Some(object.len()))?;
                for (key, value) in object {
                    map.serialize_entry(key, &PackedValue(value))?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

// --- from_value: bin objects as bytes -----------------------------------

/// A JSON value as a deserializer that gives a bin object's bytes to
/// whoever asks for bytes, and is `serde_json::Value`'s own otherwise.
struct BinAware(Value);

impl<'de> IntoDeserializer<'de, serde_json::Error> for BinAware {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

fn visit_array<'de, V: Visitor<'de>>(
    items: Vec<Value>,
    visitor: V,
) -> Result<V::Value, serde_json::Error> {
    let mut seq = SeqDeserializer::new(items.into_iter().map(BinAware));
    let value = visitor.visit_seq(&mut seq)?;
    seq.end()?;
    Ok(value)
}

fn object_access(
    object: Map<String, Value>,
) -> MapDeserializer<'static, impl Iterator<Item = (String, BinAware)>, serde_json::Error> {
    MapDeserializer::new(object.into_iter().map(|(k, v)| (k, BinAware(v))))
}

impl<'de> Deserializer<'de> for BinAware {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Array(items) => visit_array(items, visitor),
            Value::Object(object) => {
                let mut map = object_access(object);
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
            other => other.deserialize_any(visitor),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match bin_bytes(&self.0) {
            Some(bytes) => visitor.visit_byte_buf(bytes),
            None => match self.0 {
                Value::String(text) => visitor.visit_string(text),
                other => BinAware(other).deserialize_any(visitor),
            },
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match bin_bytes(&self.0) {
            // `Vec<u8>` asks for a sequence: give it the bytes one by one.
            Some(bytes) => {
                let mut seq = SeqDeserializer::new(bytes.into_iter());
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            None => self.deserialize_any(visitor),
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        match self.0 {
            Value::Object(object) if object.len() == 1 => {
                visitor.visit_enum(MapAccessDeserializer::new(object_access(object)))
            }
            other => other.deserialize_enum(name, variants, visitor),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit(visitor)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        tuple tuple_struct map struct identifier
    }
}

// --- base64 (RFC 4648 section 4, padded) ----------------------------------

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if text.len() % 4 != 0 {
        return None;
    }
    let sextet = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (q, quad) in text.chunks(4).enumerate() {
        let padding = match quad {
            [_, _, b'=', b'='] => 2,
            [_, _, _, b'='] => 1,
            _ => 0,
        };
        if padding > 0 && q + 1 != quads {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - padding] {
            n = (n << 6) | sextet(c)?;
        }
        n <<= 6 * padding;
        let decoded = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        // Non-canonical padding bits are refused, so that one byte string
        // has one text.
        if padding > 0 && decoded[3 - padding..].iter().any(|&b| b != 0) {
            return None;
        }
        out.extend_from_slice(&decoded[..3 - padding]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_round_trips_and_refuses_bad_text() {
        for len in 0..40usize {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let text = base64_encode(&bytes);
            assert_eq!(base64_decode(&text), Some(bytes), "{text}");
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        for bad in [
            "Zm8", "Zm=8", "Z===", "Zm9=Zm9v", "Zm9v!A==", "Zm9=", "Zm==",
        ] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

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

    #[test]
    fn binary_serializes_as_a_bin_object_or_bytes() {
        let blob = Binary::from(vec![0u8, 1, 2]);
        assert_eq!(
            serde_json::to_value(&blob).unwrap(),
            json!({"$bin": "AAEC"})
        );
        assert_eq!(rmp_serde::to_vec(&blob).unwrap(), [0xc4, 3, 0, 1, 2]);
        let back: Binary = rmp_serde::from_slice(&[0xc4, 3, 0, 1, 2]).unwrap();
        assert_eq!(back, blob);
    }
}
