//! When the client stops for good instead of reconnecting: the hub's close
//! codes and refused handshakes that are final.

use switchboard_protocol::CloseCode;

/// Close codes after which the client does not reconnect: the hub meant it
/// ([`CloseCode::is_final`]); a code the hub never uses is not final.
pub(crate) fn close_code_is_final(code: u16) -> bool {
    CloseCode::from_u16(code).is_some_and(CloseCode::is_final)
}

/// A refused handshake that is final: any `4xx` (`503` is retried).
pub(crate) fn refusal_is_final(status: u16) -> bool {
    (400..500).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_decide_reconnects() {
        for code in [1000, 1008, 4000, 4002] {
            assert!(close_code_is_final(code), "{code} stops");
        }
        for code in [1001, 1002, 1005, 1007, 1009, 1011, 4001] {
            assert!(!close_code_is_final(code), "{code} reconnects");
        }
        for status in [400, 403, 404, 405] {
            assert!(refusal_is_final(status), "{status} stops");
        }
        for status in [500, 502, 503] {
            assert!(!refusal_is_final(status), "{status} is retried");
        }
    }
}
