//! One JetStream message of a room's history: a batch of messages with
//! consecutive offsets, its place in headers, its messages in the body.
//!
//! Headers: `Switchboard-Epoch` (the room's epoch), `Switchboard-Offset`
//! (the offset of the batch's first message), `Switchboard-Count` (how many
//! messages it holds) and `Switchboard-Previous` (the stream sequence of
//! the room's batch before it, 0 for an epoch's first: reads walk back
//! along it). Body: each message as a 4-byte big-endian length then its
//! bytes.

use async_nats::HeaderMap;
use async_nats::jetstream::message::StreamMessage;
use bytes::{BufMut, Bytes, BytesMut};
use switchboard::adapter::DriverError;

const EPOCH: &str = "Switchboard-Epoch";
const OFFSET: &str = "Switchboard-Offset";
const COUNT: &str = "Switchboard-Count";
const PREVIOUS: &str = "Switchboard-Previous";

/// Where a batch goes: its room's epoch, its first offset, the sequence
/// of the room's batch before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Place {
    /// The room's epoch.
    pub(super) epoch: String,
    /// The offset of the batch's first message.
    pub(super) offset: u64,
    /// The stream sequence of the room's previous batch (0: none).
    pub(super) previous: u64,
}

/// A batch read back from the stream.
#[derive(Debug, Clone)]
pub(super) struct StoredBatch {
    /// Its stream sequence.
    pub(super) sequence: u64,
    /// Where it stands in its room.
    pub(super) place: Place,
    /// How many messages it holds.
    pub(super) count: u64,
    body: Bytes,
}

fn malformed(why: &str) -> DriverError {
    DriverError::Refused(format!("malformed history batch in JetStream: {why}"))
}

impl StoredBatch {
    /// Reads the headers of a stream message (the body is decoded by
    /// [`StoredBatch::messages`]).
    pub(super) fn parse(message: StreamMessage) -> Result<Self, DriverError> {
        Self::from_parts(message.sequence, &message.headers, message.payload)
    }

    fn from_parts(sequence: u64, headers: &HeaderMap, body: Bytes) -> Result<Self, DriverError> {
        let header = |name: &str| {
            headers
                .get(name)
                .map(|value| value.as_str().to_owned())
                .ok_or_else(|| malformed(&format!("no {name} header")))
        };
        let number = |name: &str| {
            header(name)?
                .parse::<u64>()
                .map_err(|_| malformed(&format!("{name} is not a number")))
        };
        let batch = Self {
            sequence,
            place: Place {
                epoch: header(EPOCH)?,
                offset: number(OFFSET)?,
                previous: number(PREVIOUS)?,
            },
            count: number(COUNT)?,
            body,
        };
        if batch.count == 0 || batch.place.offset == 0 {
            return Err(malformed("empty batch or offset 0"));
        }
        Ok(batch)
    }

    /// The offset of its last message.
    pub(super) fn last(&self) -> u64 {
        self.place.offset + self.count - 1
    }

    /// Its messages, in order (slices of the body, not copies).
    pub(super) fn messages(&self) -> Result<Vec<Bytes>, DriverError> {
        let mut messages = Vec::with_capacity(usize::try_from(self.count).unwrap_or(0));
        let mut rest = self.body.clone();
        while !rest.is_empty() {
            if rest.len() < 4 {
                return Err(malformed("truncated length"));
            }
            let length = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if rest.len() - 4 < length {
                return Err(malformed("truncated message"));
            }
            messages.push(rest.slice(4..4 + length));
            rest = rest.slice(4 + length..);
        }
        if messages.len() as u64 != self.count {
            return Err(malformed("count does not match the body"));
        }
        Ok(messages)
    }
}

/// The headers of a new batch of `count` messages at `place`.
pub(super) fn headers(place: &Place, count: usize) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(EPOCH, place.epoch.as_str());
    headers.insert(OFFSET, place.offset.to_string());
    headers.insert(COUNT, count.to_string());
    headers.insert(PREVIOUS, place.previous.to_string());
    headers
}

/// The body of a new batch.
pub(super) fn body(messages: &[Bytes]) -> Result<Bytes, DriverError> {
    let mut body = BytesMut::with_capacity(messages.iter().map(|m| m.len() + 4).sum());
    for message in messages {
        let length = u32::try_from(message.len())
            .map_err(|_| DriverError::Refused("history message over 4 GiB".into()))?;
        body.put_u32(length);
        body.put_slice(message);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(place: &Place, messages: &[Bytes]) -> StoredBatch {
        StoredBatch::from_parts(42, &headers(place, messages.len()), body(messages).unwrap())
            .unwrap()
    }

    #[test]
    fn batches_round_trip() {
        let place = Place {
            epoch: "ep".into(),
            offset: 7,
            previous: 3,
        };
        let messages = vec![
            Bytes::from_static(b"a"),
            Bytes::new(),
            Bytes::from_static(&[0, 1, 2, 255]),
        ];
        let batch = stored(&place, &messages);
        assert_eq!(batch.place, place);
        assert_eq!((batch.sequence, batch.count, batch.last()), (42, 3, 9));
        assert_eq!(batch.messages().unwrap(), messages);
    }

    #[test]
    fn malformed_batches_are_refused() {
        let place = Place {
            epoch: "ep".into(),
            offset: 1,
            previous: 0,
        };
        let mut short = headers(&place, 2);
        assert!(
            StoredBatch::from_parts(1, &short, body(&[Bytes::new()]).unwrap())
                .unwrap()
                .messages()
                .is_err()
        );
        short.insert(OFFSET, "x");
        assert!(StoredBatch::from_parts(1, &short, Bytes::new()).is_err());
        assert!(StoredBatch::from_parts(1, &HeaderMap::new(), Bytes::new()).is_err());
        let truncated = Bytes::from_static(&[0, 0, 0, 9, 1]);
        let batch = StoredBatch::from_parts(1, &headers(&place, 1), truncated).unwrap();
        assert!(batch.messages().is_err());
    }
}
