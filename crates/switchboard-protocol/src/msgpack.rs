//! The MessagePack codec's decoding: one map, or an array of maps.
//!
//! The frame's structure is walked first (headers only, without recursion
//! and with the same nesting limit as serde_json), so that a batch can be
//! cut into its elements and each decoded on its own, and so that the
//! decoder never recurses deeper than that limit.

use crate::error::{ProtocolError, detail};
use crate::message::Message;

/// The deepest nesting of arrays and maps accepted, as in serde_json.
const MAX_DEPTH: usize = 127;

/// Decodes one MessagePack frame (see [`crate::Codec::decode`]).
pub(crate) fn decode(frame: &[u8]) -> Result<Vec<Result<Message, ProtocolError>>, ProtocolError> {
    let Some(&first) = frame.first() else {
        return Err(ProtocolError::NotMsgPack("the frame is empty".into()));
    };
    let not_msgpack = |e: &str| ProtocolError::NotMsgPack(e.to_owned());
    if is_map(first) {
        check_single(frame).map_err(not_msgpack)?;
        return Ok(vec![decode_map(frame)]);
    }
    let Header::Container {
        len: header_len,
        children,
    } = header(frame).map_err(not_msgpack)?
    else {
        check_single(frame).map_err(not_msgpack)?;
        return Err(ProtocolError::NotObjectOrArray);
    };
    let mut rest = &frame[header_len..];
    // Every element takes at least one byte: never trust the count more.
    let count = usize::try_from(children).unwrap_or(usize::MAX);
    let mut out = Vec::with_capacity(count.min(rest.len()));
    for _ in 0..children {
        let len = value_len(rest, MAX_DEPTH - 1).map_err(not_msgpack)?;
        let (element, tail) = rest.split_at(len);
        out.push(if is_map(element[0]) {
            decode_map(element)
        } else {
            Err(ProtocolError::NotAnObject)
        });
        rest = tail;
    }
    if !rest.is_empty() {
        return Err(not_msgpack(TRAILING));
    }
    Ok(out)
}

const TRAILING: &str = "trailing bytes after the first value";

/// Checks `frame` holds exactly one well-formed value.
fn check_single(frame: &[u8]) -> Result<(), &'static str> {
    match value_len(frame, MAX_DEPTH)? {
        len if len == frame.len() => Ok(()),
        _ => Err(TRAILING),
    }
}

fn decode_map(bytes: &[u8]) -> Result<Message, ProtocolError> {
    rmp_serde::from_slice(bytes).map_err(|e| ProtocolError::InvalidMessage(detail(e)))
}

fn is_map(marker: u8) -> bool {
    matches!(marker, 0x80..=0x8f | 0xde | 0xdf)
}

/// The head of one MessagePack value.
enum Header {
    /// A scalar, string, binary or extension value of `len` bytes in all.
    Scalar(usize),
    /// An array or map whose header takes `len` bytes, followed by
    /// `children` values (twice the entries for a map).
    Container { len: usize, children: u64 },
}

const TRUNCATED: &str = "truncated value";

/// Reads the header of the value at the start of `bytes`.
fn header(bytes: &[u8]) -> Result<Header, &'static str> {
    let marker = *bytes.first().ok_or(TRUNCATED)?;
    let be = |n: usize| -> Result<u64, &'static str> {
        let field = bytes.get(1..1 + n).ok_or(TRUNCATED)?;
        Ok(field.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    };
    // A scalar of `head` bytes followed by a payload whose length is the
    // `n`-byte big-endian number after the marker.
    let sized = |n: usize, head: usize| -> Result<Header, &'static str> {
        let payload = usize::try_from(be(n)?).map_err(|_| TRUNCATED)?;
        head.checked_add(payload)
            .map(Header::Scalar)
            .ok_or(TRUNCATED)
    };
    let container = |n: usize, per_entry: u64| -> Result<Header, &'static str> {
        Ok(Header::Container {
            len: 1 + n,
            children: be(n)? * per_entry,
        })
    };
    match marker {
        0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => Ok(Header::Scalar(1)),
        0x80..=0x8f => Ok(Header::Container {
            len: 1,
            children: u64::from(marker & 0x0f) * 2,
        }),
        0x90..=0x9f => Ok(Header::Container {
            len: 1,
            children: u64::from(marker & 0x0f),
        }),
        0xa0..=0xbf => Ok(Header::Scalar(1 + usize::from(marker & 0x1f))),
        0xc1 => Err("reserved marker 0xc1"),
        0xc4 => sized(1, 2),
        0xc5 => sized(2, 3),
        0xc6 => sized(4, 5),
        0xc7 => sized(1, 3),
        0xc8 => sized(2, 4),
        0xc9 => sized(4, 6),
        0xca => Ok(Header::Scalar(5)),
        0xcb => Ok(Header::Scalar(9)),
        0xcc | 0xd0 => Ok(Header::Scalar(2)),
        0xcd | 0xd1 => Ok(Header::Scalar(3)),
        0xce | 0xd2 => Ok(Header::Scalar(5)),
        0xcf | 0xd3 => Ok(Header::Scalar(9)),
        0xd4 => Ok(Header::Scalar(3)),
        0xd5 => Ok(Header::Scalar(4)),
        0xd6 => Ok(Header::Scalar(6)),
        0xd7 => Ok(Header::Scalar(10)),
        0xd8 => Ok(Header::Scalar(18)),
        0xd9 => sized(1, 2),
        0xda => sized(2, 3),
        0xdb => sized(4, 5),
        0xdc => container(2, 1),
        0xdd => container(4, 1),
        0xde => container(2, 2),
        0xdf => container(4, 2),
    }
}

/// The length in bytes of the one value at the start of `bytes`, walking
/// nested arrays and maps without recursion, at most `max_depth` deep.
fn value_len(bytes: &[u8], max_depth: usize) -> Result<usize, &'static str> {
    let mut pos = 0usize;
    // Values still to read in each open array or map, innermost last.
    let mut open: Vec<u64> = Vec::new();
    loop {
        let rest = bytes.get(pos..).ok_or(TRUNCATED)?;
        match header(rest)? {
            Header::Container { len, children } if children > 0 => {
                pos += len;
                if open.len() >= max_depth {
                    return Err("nesting too deep");
                }
                let left = bytes.len().saturating_sub(pos);
                if children > u64::try_from(left).unwrap_or(u64::MAX) {
                    return Err(TRUNCATED);
                }
                open.push(children);
                continue;
            }
            Header::Container { len, .. } | Header::Scalar(len) => {
                pos = pos.checked_add(len).ok_or(TRUNCATED)?;
                if pos > bytes.len() {
                    return Err(TRUNCATED);
                }
            }
        }
        // One value is complete: close every container it completes.
        loop {
            match open.last_mut() {
                None => return Ok(pos),
                Some(left) if *left > 1 => {
                    *left -= 1;
                    break;
                }
                Some(_) => {
                    open.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_len_walks_nested_values() {
        let value = serde_json::json!({"a": [1, "two", {"three": 3.5}, null], "b": {}, "c": []});
        let bytes = rmp_serde::to_vec_named(&value).unwrap();
        assert_eq!(value_len(&bytes, MAX_DEPTH), Ok(bytes.len()));
        for cut in 0..bytes.len() {
            assert!(value_len(&bytes[..cut], MAX_DEPTH).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn value_len_limits_depth() {
        let deep = [vec![0x91u8; 200], vec![0xc0]].concat();
        assert_eq!(value_len(&deep, MAX_DEPTH), Err("nesting too deep"));
        let ok = [vec![0x91u8; MAX_DEPTH], vec![0xc0]].concat();
        assert_eq!(value_len(&ok, MAX_DEPTH), Ok(ok.len()));
    }

    #[test]
    fn huge_counts_are_refused_without_allocating() {
        assert_eq!(
            value_len(&[0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0], MAX_DEPTH),
            Err(TRUNCATED)
        );
        assert_eq!(
            value_len(&[0xdb, 0xff, 0xff, 0xff, 0xff], MAX_DEPTH),
            Err(TRUNCATED)
        );
        assert!(decode(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
    }
}
