//! Helpers shared by the integration tests.
#![allow(dead_code)] // Each test file uses a different part.

use serde_json::Value;
use switchboard_protocol::{Codec, Message, ProtocolError};

/// Both codecs.
pub(crate) const CODECS: [Codec; 2] = [Codec::Json, Codec::MsgPack];

/// Decodes a frame holding exactly one message.
pub(crate) fn decode_one(codec: Codec, frame: &[u8]) -> Result<Message, ProtocolError> {
    let mut all = codec.decode(frame).expect("frame accepted");
    assert_eq!(all.len(), 1);
    all.pop().unwrap()
}

/// Decodes a JSON frame holding exactly one message.
pub(crate) fn json_one(frame: &str) -> Result<Message, ProtocolError> {
    decode_one(Codec::Json, frame.as_bytes())
}

/// The same JSON message in MessagePack.
pub(crate) fn packed(json: &str) -> Vec<u8> {
    let value: Value = serde_json::from_str(json).unwrap();
    rmp_serde::to_vec_named(&value).unwrap()
}
