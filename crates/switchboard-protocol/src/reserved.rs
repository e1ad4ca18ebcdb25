//! Reserved event names (PROTOCOL.md sections 2 and 3).

/// Sent by the hub first on every link.
pub const WELCOME: &str = "$welcome";
/// Sent by a client that can not see WebSocket control frames.
pub const PING: &str = "$ping";
/// The hub's answer to [`PING`].
pub const PONG: &str = "$pong";
/// A message the hub could not accept.
pub const ERROR: &str = "$error";
/// A client asks to join a room.
pub const JOIN: &str = "$join";
/// A client leaves a room.
pub const LEAVE: &str = "$leave";
/// A client hands the hub a fresh token (section 10).
pub const REFRESH: &str = "$refresh";
/// A member asks who is in a room (section 10).
pub const PRESENCE: &str = "$presence";
/// Sent to a presence room's members when a user's first socket joins it.
pub const JOINED: &str = "$joined";
/// Sent to a presence room's members when a user's last socket leaves it.
pub const LEFT: &str = "$left";

/// Whether `name` is reserved for the protocol: it begins with `$`.
pub fn is_reserved(name: &str) -> bool {
    name.starts_with('$')
}

/// Whether a client may send an event named `name`: any unreserved name, or
/// one of [`JOIN`], [`LEAVE`], [`PING`], [`REFRESH`] and [`PRESENCE`].
pub fn client_may_send(name: &str) -> bool {
    !is_reserved(name) || matches!(name, JOIN | LEAVE | PING | REFRESH | PRESENCE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names() {
        for name in [WELCOME, PING, PONG, ERROR, JOIN, LEAVE, "$", "$x"] {
            assert!(is_reserved(name), "{name}");
        }
        assert!(!is_reserved("chat"));
        assert!(!is_reserved("a$"));
        for name in [JOIN, LEAVE, PING, REFRESH, PRESENCE, "chat"] {
            assert!(client_may_send(name), "{name}");
        }
        for name in [WELCOME, PONG, ERROR, JOINED, LEFT, "$anything"] {
            assert!(!client_may_send(name), "{name}");
        }
    }
}
