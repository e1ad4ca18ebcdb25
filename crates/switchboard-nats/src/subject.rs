//! Channel names to NATS subjects.
//!
//! A channel made of dot-separated, non-empty tokens of `[A-Za-z0-9_-]`
//! (like `switchboard.all` or `switchboard.node.AbC-12_x`) is used as the
//! subject unchanged. Anything else is escaped token by token, so that no
//! channel can become a wildcard (`*`, `>`), break the protocol line
//! (whitespace) or be rejected (empty tokens): a byte outside that set
//! becomes `~XX` (upper-case hex) and an empty token becomes `~`. Since `~`
//! never appears in an unescaped channel and always starts an escape, the
//! mapping is one-to-one: two different channels never share a subject.

use std::borrow::Cow;
use std::fmt::Write as _;

fn is_plain(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

/// The NATS subject for `channel`.
pub(crate) fn subject_for(channel: &str) -> Cow<'_, str> {
    let plain = channel
        .split('.')
        .all(|token| !token.is_empty() && token.bytes().all(is_plain));
    if plain {
        return Cow::Borrowed(channel);
    }
    let mut subject = String::with_capacity(channel.len() * 3 + 1);
    for (i, token) in channel.split('.').enumerate() {
        if i > 0 {
            subject.push('.');
        }
        if token.is_empty() {
            subject.push('~');
        }
        for byte in token.bytes() {
            if is_plain(byte) {
                subject.push(char::from(byte));
            } else {
                let _ = write!(subject, "~{byte:02X}");
            }
        }
    }
    Cow::Owned(subject)
}

#[cfg(test)]
mod tests {
    use super::subject_for;

    #[test]
    fn plain_channels_are_unchanged() {
        for channel in ["switchboard.all", "switchboard.node.AbC-12_x", "a"] {
            assert_eq!(subject_for(channel), channel);
        }
    }

    #[test]
    fn other_channels_are_escaped_one_to_one() {
        let cases = [
            ("a.*", "a.~2A"),
            ("a.>", "a.~3E"),
            ("a b", "a~20b"),
            ("a..b", "a.~.b"),
            ("", "~"),
            (".", "~.~"),
            ("~", "~7E"),
            ("é", "~C3~A9"),
        ];
        for (channel, subject) in cases {
            assert_eq!(subject_for(channel), subject, "{channel:?}");
        }
        // "~" is escaped, so an escaped-looking channel cannot collide.
        assert_ne!(subject_for("a~2A"), subject_for("a*"));
    }
}
