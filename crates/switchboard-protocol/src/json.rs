//! The JSON codec's decoding: one object, or an array of objects.

use serde::de::IgnoredAny;
use serde_json::value::RawValue;

use crate::error::{ProtocolError, detail};
use crate::message::Message;

/// Decodes one JSON frame (see [`crate::Codec::decode`]).
pub(crate) fn decode(frame: &[u8]) -> Result<Vec<Result<Message, ProtocolError>>, ProtocolError> {
    let first = frame
        .iter()
        .copied()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    match first {
        Some(b'{') => decode_object(frame).map(|msg| vec![msg]),
        Some(b'[') => {
            let elements: Vec<&RawValue> =
                serde_json::from_slice(frame).map_err(|e| ProtocolError::NotJson(detail(e)))?;
            Ok(elements.into_iter().map(decode_element).collect())
        }
        Some(_) => match serde_json::from_slice::<IgnoredAny>(frame) {
            Ok(_) => Err(ProtocolError::NotObjectOrArray),
            Err(e) => Err(ProtocolError::NotJson(detail(e))),
        },
        None => Err(ProtocolError::NotJson("the frame is empty".into())),
    }
}

/// A frame that starts with `{`: the outer error when it is not JSON at
/// all, the inner one when it is JSON but not a valid message.
fn decode_object(frame: &[u8]) -> Result<Result<Message, ProtocolError>, ProtocolError> {
    match serde_json::from_slice::<Message>(frame) {
        Ok(msg) => Ok(Ok(msg)),
        // Cold path: a data error stops the parser early, so check the
        // rest of the frame is JSON before blaming only the message.
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            match serde_json::from_slice::<IgnoredAny>(frame) {
                Ok(_) => Ok(Err(ProtocolError::InvalidMessage(detail(e)))),
                Err(syntax) => Err(ProtocolError::NotJson(detail(syntax))),
            }
        }
        Err(e) => Err(ProtocolError::NotJson(detail(e))),
    }
}

/// One element of a batch: an object, decoded on its own.
fn decode_element(raw: &RawValue) -> Result<Message, ProtocolError> {
    let text = raw.get();
    if !text.starts_with('{') {
        return Err(ProtocolError::NotAnObject);
    }
    serde_json::from_str(text).map_err(|e| ProtocolError::InvalidMessage(detail(e)))
}
