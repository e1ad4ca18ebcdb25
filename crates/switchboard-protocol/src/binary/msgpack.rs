//! MessagePack: `bin` in, `bin` out. Decoding a message's `data` turns
//! every `bin` into a bin object; encoding a message turns every bin
//! object back into `bin`.

use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::{bin_bytes, bin_value};
use crate::message::Message;

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
