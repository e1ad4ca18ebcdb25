//! Stamped messages: what a publisher sends (`{"seq":n,"t":ns,"pad":…}` as
//! the data of a relayed event) and how a receiver reads the stamp back by
//! scanning bytes for `"seq":` and `"t":`, without parsing the JSON.
//!
//! The hub re-encodes the data object, possibly with its keys sorted
//! (`pad`, `seq`, `t`); either way `"seq":` comes before `"t":`, and the
//! filler (`x` characters) never looks like either key.

use std::io::Write;
use std::sync::LazyLock;

use memchr::memmem::Finder;

/// The event name of stamped messages.
pub const EVENT: &str = "tick";

static SEQ: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"seq\":"));
static T: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"t\":"));

/// A message's sequence number and send time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Sequence number.
    pub seq: u64,
    /// `CLOCK_MONOTONIC` nanoseconds when it was sent ([`crate::clock`]).
    pub t: u64,
}

/// The unsigned integer at the start of `bytes` (after optional spaces),
/// and the bytes consumed.
fn leading_u64(bytes: &[u8]) -> Option<(u64, usize)> {
    let skip = bytes.iter().take_while(|&&b| b == b' ').count();
    let mut value: u64 = 0;
    let mut digits = 0;
    for &b in &bytes[skip..] {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        digits += 1;
    }
    (digits > 0).then_some((value, skip + digits))
}

/// The first stamp in `bytes` and where it ends.
fn next_stamp(bytes: &[u8]) -> Option<(Stamp, usize)> {
    let at = SEQ.find(bytes)? + SEQ.needle().len();
    let (seq, used) = leading_u64(&bytes[at..])?;
    let after_seq = at + used;
    let t_at = after_seq + T.find(&bytes[after_seq..])? + T.needle().len();
    let (t, used) = leading_u64(&bytes[t_at..])?;
    Some((Stamp { seq, t }, t_at + used))
}

/// The stamp of one message, if it has one.
pub fn find(message: &[u8]) -> Option<Stamp> {
    next_stamp(message).map(|(stamp, _)| stamp)
}

/// Every stamp in `bytes`, in order (e.g. a long-polling answer, which is
/// an array of messages).
pub fn find_all(bytes: &[u8]) -> impl Iterator<Item = Stamp> + '_ {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        let (stamp, end) = next_stamp(rest)?;
        rest = &rest[end..];
        Some(stamp)
    })
}

/// The integer after `"key":` in `message` (e.g. `reply`), if any.
pub fn find_u64(message: &[u8], quoted_key_colon: &Finder<'_>) -> Option<u64> {
    let at = quoted_key_colon.find(message)? + quoted_key_colon.needle().len();
    leading_u64(&message[at..]).map(|(value, _)| value)
}

/// Writes a stamped event relayed to `room` into `out` (cleared first):
/// `{"event":…,"room":…,"data":{"seq":…,"t":…,"pad":…}}`, plus
/// `"ack":…` when given.
pub fn write_relay(
    out: &mut Vec<u8>,
    event: &str,
    room: &str,
    stamp: Stamp,
    pad: &str,
    ack: Option<u64>,
) {
    out.clear();
    // Writing to a Vec cannot fail.
    let _ = write!(out, r#"{{"event":"{event}","room":"{room}","#);
    if let Some(ack) = ack {
        let _ = write!(out, r#""ack":{ack},"#);
    }
    let _ = write!(
        out,
        r#""data":{{"seq":{},"t":{},"pad":"{pad}"}}}}"#,
        stamp.seq, stamp.t
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_stamp_whatever_the_key_order() {
        let sorted = br#"{"event":"tick","data":{"pad":"xxxx","seq":42,"t":123456789},"room":"r","from":"a1"}"#;
        assert_eq!(
            find(sorted),
            Some(Stamp {
                seq: 42,
                t: 123_456_789
            })
        );
        let as_sent = br#"{"event":"tick","data":{"seq":7,"t":9,"pad":"xx"},"room":"r"}"#;
        assert_eq!(find(as_sent), Some(Stamp { seq: 7, t: 9 }));
        assert_eq!(find(br#"{"reply":1,"data":null}"#), None);
        assert_eq!(find(br#"{"seq":1}"#), None);
        assert_eq!(find(br#"{"seq":-1,"t":2}"#), None);
        assert_eq!(find(br#"{"seq":99999999999999999999,"t":2}"#), None);
    }

    #[test]
    fn reads_every_stamp_of_an_array() {
        let body = br#"[{"reply":1,"data":{"room":"r"}},{"event":"tick","data":{"pad":"x","seq":1,"t":10}},{"event":"tick","data":{"pad":"x","seq":2,"t":20}}]"#;
        let stamps: Vec<_> = find_all(body).collect();
        assert_eq!(stamps, [Stamp { seq: 1, t: 10 }, Stamp { seq: 2, t: 20 }]);
        assert_eq!(find_all(b"[]").count(), 0);
    }

    #[test]
    fn writes_a_relay_that_reads_back() {
        let mut out = Vec::new();
        let stamp = Stamp { seq: 3, t: 44 };
        write_relay(&mut out, EVENT, "r", stamp, "xyz", Some(4));
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"event": "tick", "room": "r", "ack": 4,
                               "data": {"seq": 3, "t": 44, "pad": "xyz"}})
        );
        assert_eq!(find(&out), Some(stamp));
        let reply = Finder::new(b"\"reply\":");
        assert_eq!(find_u64(br#"{"reply":12,"data":null}"#, &reply), Some(12));
        assert_eq!(find_u64(br#"{"event":"x"}"#, &reply), None);
    }
}
