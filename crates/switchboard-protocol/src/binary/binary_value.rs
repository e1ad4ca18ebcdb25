//! [`Binary`]: bytes in a payload, a bin object in a JSON value and `bin`
//! in MessagePack.

use std::fmt;

use bytes::Bytes;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::BIN_KEY;
use super::base64::{base64_decode, base64_encode};

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
