//! The names the history store uses in JetStream: its stream's name, its
//! subjects, and one subject per room.

use std::fmt::Write as _;

use crate::subject::subject_for;

/// The stream's name: `SWITCHBOARD_HISTORY_` and the prefix, each byte
/// outside `[A-Za-z0-9-]` written `_XX` (hex), so two prefixes never share
/// a stream and the name is valid (no `.`, `*`, `>` or whitespace).
pub(super) fn stream_name(prefix: &str) -> String {
    let mut name = String::from("SWITCHBOARD_HISTORY_");
    for byte in prefix.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' {
            name.push(char::from(byte));
        } else {
            let _ = write!(name, "_{byte:02X}");
        }
    }
    name
}

/// Every room subject of one prefix: `{prefix}.history.*`.
pub(super) fn stream_subjects(prefix: &str) -> String {
    format!("{}.history.*", subject_for(prefix))
}

/// The subject of `room`: `{prefix}.history.r{hex of the room's bytes}`,
/// one token whatever the room holds (dots, wildcards, spaces, unicode,
/// nothing at all).
pub(super) fn room_subject(prefix: &str, room: &str) -> String {
    let prefix = subject_for(prefix);
    let mut subject = String::with_capacity(prefix.len() + 10 + room.len() * 2);
    subject.push_str(&prefix);
    subject.push_str(".history.r");
    for byte in room.bytes() {
        let _ = write!(subject, "{byte:02x}");
    }
    subject
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_one_token_each() {
        assert_eq!(room_subject("switchboard", ""), "switchboard.history.r");
        assert_eq!(
            room_subject("switchboard", "a.*"),
            "switchboard.history.r612e2a"
        );
        assert_eq!(
            room_subject("odd prefix", "é"),
            "odd~20prefix.history.rc3a9"
        );
        assert_ne!(room_subject("p", "ab"), room_subject("p", "a b"));
        assert_eq!(stream_subjects("switchboard"), "switchboard.history.*");
    }

    #[test]
    fn stream_names_are_valid_and_distinct() {
        assert_eq!(
            stream_name("switchboard"),
            "SWITCHBOARD_HISTORY_switchboard"
        );
        assert_eq!(stream_name("a.b c"), "SWITCHBOARD_HISTORY_a_2Eb_20c");
        assert_ne!(stream_name("a_2E"), stream_name("a."));
        assert!(!stream_name("x.*>").contains(['.', '*', '>', ' ']));
    }
}
