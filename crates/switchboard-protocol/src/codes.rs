//! Error codes and close codes (PROTOCOL.md section 3).

use std::fmt;
use std::str::FromStr;

/// Error codes of PROTOCOL.md section 3, carried in `$error` data and in a
/// reply's `error` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `bad_message`: not JSON, not an object or array, no `event` or
    /// `reply`, or a reserved name the client may not send.
    BadMessage,
    /// `no_handler`: only as a reply's error, when an event with `ack` has
    /// no handler.
    NoHandler,
    /// `forbidden`: a policy (room join, relay, ...) refused the request.
    Forbidden,
    /// `rate_limited`: the client sends faster than its allowed rate.
    RateLimited,
    /// `internal`: a handler failed or panicked; the hub keeps running.
    Internal,
    /// `limit`: a per-socket limit, such as the number of rooms, was
    /// reached.
    Limit,
    /// `unauthorized`: a token is missing or invalid (section 10).
    Unauthorized,
    /// `token_expired`: the token's `exp` has passed (section 10).
    TokenExpired,
    /// `unavailable`: the application's back end, or a service the hub
    /// needs (a JWKS), did not answer (section 10).
    Unavailable,
}

impl ErrorCode {
    /// Every error code, in the order of PROTOCOL.md.
    pub const ALL: [ErrorCode; 9] = [
        ErrorCode::BadMessage,
        ErrorCode::NoHandler,
        ErrorCode::Forbidden,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::Limit,
        ErrorCode::Unauthorized,
        ErrorCode::TokenExpired,
        ErrorCode::Unavailable,
    ];

    /// The code as it appears on the wire, e.g. `"bad_message"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadMessage => "bad_message",
            ErrorCode::NoHandler => "no_handler",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::Internal => "internal",
            ErrorCode::Limit => "limit",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that names no [`ErrorCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error code `{0}`")]
pub struct UnknownErrorCode(pub String);

impl FromStr for ErrorCode {
    type Err = UnknownErrorCode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ErrorCode::ALL
            .into_iter()
            .find(|code| code.as_str() == s)
            .ok_or_else(|| UnknownErrorCode(s.to_owned()))
    }
}

/// WebSocket close codes the hub uses (PROTOCOL.md section 3). The hub never
/// sends `1005` or `1006`, so they have no variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// `1000`: normal closure.
    Normal,
    /// `1001`: the hub is shutting down.
    GoingAway,
    /// `1002`: protocol error.
    ProtocolError,
    /// `1007`: a text frame that is not UTF-8.
    InvalidPayload,
    /// `1008`: policy (too many bad messages in a row, rate limit exceeded).
    Policy,
    /// `1009`: a message over the size limit.
    TooBig,
    /// `1011`: internal error.
    Internal,
    /// `1012`: a clustered node is restarting (it drains): reconnect, and
    /// resume on any node (PROTOCOL.md section 11).
    ServiceRestart,
    /// `4000`: kicked by the application.
    Kicked,
    /// `4001`: slow consumer, the client's send queue overflowed.
    SlowConsumer,
    /// `4002`: the session was resumed on another connection.
    SessionTakenOver,
    /// `4003`: the user's token expired without a refresh (section 10);
    /// the session waits for a resume with a fresh token.
    TokenExpired,
}

impl CloseCode {
    /// Every close code, in numeric order.
    pub const ALL: [CloseCode; 12] = [
        CloseCode::Normal,
        CloseCode::GoingAway,
        CloseCode::ProtocolError,
        CloseCode::InvalidPayload,
        CloseCode::Policy,
        CloseCode::TooBig,
        CloseCode::Internal,
        CloseCode::ServiceRestart,
        CloseCode::Kicked,
        CloseCode::SlowConsumer,
        CloseCode::SessionTakenOver,
        CloseCode::TokenExpired,
    ];

    /// The numeric code sent in the close frame.
    pub fn as_u16(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::ProtocolError => 1002,
            CloseCode::InvalidPayload => 1007,
            CloseCode::Policy => 1008,
            CloseCode::TooBig => 1009,
            CloseCode::Internal => 1011,
            CloseCode::ServiceRestart => 1012,
            CloseCode::Kicked => 4000,
            CloseCode::SlowConsumer => 4001,
            CloseCode::SessionTakenOver => 4002,
            CloseCode::TokenExpired => 4003,
        }
    }

    /// The variant for a numeric code, `None` for a code the hub never uses.
    pub fn from_u16(code: u16) -> Option<Self> {
        CloseCode::ALL.into_iter().find(|c| c.as_u16() == code)
    }

    /// A short human reason for the close frame (at most 40 bytes).
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Normal => "normal closure",
            CloseCode::GoingAway => "server shutting down",
            CloseCode::ProtocolError => "protocol error",
            CloseCode::InvalidPayload => "text frame is not valid UTF-8",
            CloseCode::Policy => "policy violation",
            CloseCode::TooBig => "message too big",
            CloseCode::Internal => "internal error",
            CloseCode::ServiceRestart => "service restart",
            CloseCode::Kicked => "kicked",
            CloseCode::SlowConsumer => "slow consumer",
            CloseCode::SessionTakenOver => "session taken over",
            CloseCode::TokenExpired => "token expired",
        }
    }

    /// Whether the hub closing a link with this code ends the session, so
    /// that it can not be resumed (PROTOCOL.md sections 3, 5 and 6).
    ///
    /// The rule:
    /// - `1008`, `1009`, `4000` and `4001` end the session (section 3 names
    ///   them).
    /// - `1000` ends it: the hub closes normally only on purpose (the
    ///   application disconnects the socket, or it answers a client's close,
    ///   and a client's close ends the session anyway).
    /// - `1001` ends it: section 6 lists `shutdown` among the reasons a
    ///   session "was ended by the hub", and a session can not outlive the
    ///   node that holds it (section 5).
    /// - `1002`, `1007` and `1011` do not: section 3 does not list them, so
    ///   the session waits for a resume as after a dropped link.
    /// - `1012` does not: the node drains, and the session waits for a
    ///   resume on another node (section 11).
    /// - `4002` does not: the session goes on, on the link that took it over.
    /// - `4003` does not: the session waits for a resume with a fresh token
    ///   (section 10).
    ///
    /// A close frame sent by the client ends the session whatever its code;
    /// that is the caller's rule, not this method's.
    pub fn ends_session(self) -> bool {
        match self {
            CloseCode::Normal
            | CloseCode::GoingAway
            | CloseCode::Policy
            | CloseCode::TooBig
            | CloseCode::Kicked
            | CloseCode::SlowConsumer => true,
            CloseCode::ProtocolError
            | CloseCode::InvalidPayload
            | CloseCode::Internal
            | CloseCode::ServiceRestart
            | CloseCode::SessionTakenOver
            | CloseCode::TokenExpired => false,
        }
    }

    /// Whether a client must not reconnect after the hub closed its link
    /// with this code: the hub meant it. `1000` normal, `1008` policy,
    /// `4000` kicked and `4002` (the session goes on, on the link that took
    /// it over). After any other code a client reconnects (and resumes
    /// where [`CloseCode::ends_session`] allows it); after `1001` or `4001`
    /// too, as after a dropped link.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CloseCode::Normal | CloseCode::Policy | CloseCode::Kicked | CloseCode::SessionTakenOver
        )
    }

    /// The close code of a session the long-polling `410` answer says the
    /// hub ended, from its `error.code` (the inverse of
    /// [`CloseCode::poll_gone_code`]); `None` for any other string.
    pub fn from_poll_gone_code(code: &str) -> Option<Self> {
        CloseCode::ALL
            .into_iter()
            .find(|c| c.poll_gone_code() == Some(code))
    }

    /// The `error.code` of the long-polling `410` answer for a session the
    /// hub ended with this code (PROTOCOL.md section 6): `kicked`,
    /// `shutdown`, `slow_consumer` or `policy`; `None` for the others.
    pub fn poll_gone_code(self) -> Option<&'static str> {
        match self {
            CloseCode::Kicked => Some("kicked"),
            CloseCode::GoingAway => Some("shutdown"),
            CloseCode::SlowConsumer => Some("slow_consumer"),
            CloseCode::Policy => Some("policy"),
            _ => None,
        }
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.as_u16(), self.reason())
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.as_u16()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_round_trip_through_strings() {
        for code in ErrorCode::ALL {
            assert_eq!(code.as_str().parse::<ErrorCode>(), Ok(code));
            assert_eq!(code.to_string(), code.as_str());
        }
        assert_eq!(
            "nope".parse::<ErrorCode>(),
            Err(UnknownErrorCode("nope".into()))
        );
        assert_eq!(ErrorCode::RateLimited.as_str(), "rate_limited");
    }

    #[test]
    fn close_codes_round_trip_through_numbers() {
        for code in CloseCode::ALL {
            assert_eq!(CloseCode::from_u16(code.as_u16()), Some(code));
            assert!(code.reason().len() <= 40, "{code:?}");
            assert!(!code.reason().is_empty());
        }
        assert_eq!(CloseCode::SlowConsumer.as_u16(), 4001);
        assert_eq!(CloseCode::SlowConsumer.reason(), "slow consumer");
        for never in [0, 999, 1005, 1006, 1010, 3000, 4004] {
            assert_eq!(CloseCode::from_u16(never), None);
        }
    }

    #[test]
    fn final_codes_stop_a_client() {
        let fin: Vec<u16> = CloseCode::ALL
            .into_iter()
            .filter(|c| c.is_final())
            .map(u16::from)
            .collect();
        assert_eq!(fin, [1000, 1008, 4000, 4002]);
    }

    #[test]
    fn poll_gone_codes_round_trip() {
        for code in CloseCode::ALL {
            if let Some(gone) = code.poll_gone_code() {
                assert_eq!(CloseCode::from_poll_gone_code(gone), Some(code));
            }
        }
        assert_eq!(CloseCode::from_poll_gone_code("nope"), None);
    }

    #[test]
    fn session_ending_codes_follow_the_protocol() {
        let ending: Vec<u16> = CloseCode::ALL
            .into_iter()
            .filter(|c| c.ends_session())
            .map(u16::from)
            .collect();
        assert_eq!(ending, [1000, 1001, 1008, 1009, 4000, 4001]);
        for code in CloseCode::ALL {
            if code.poll_gone_code().is_some() {
                assert!(code.ends_session(), "{code:?}");
            }
        }
    }
}
