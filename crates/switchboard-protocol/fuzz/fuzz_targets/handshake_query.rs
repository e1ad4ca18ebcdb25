//! Any bytes as a handshake's query string: parsing never panics; what it
//! accepts respects the session token bound, re-encodes to a query that
//! parses to the same result, and is unchanged by unknown parameters; what
//! it refuses gets a short message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_protocol::{HandshakeQuery, MAX_SESSION_TOKEN_LEN};

/// The longest refusal message: quoted input is cut to about 200 bytes.
const MAX_MESSAGE_LEN: usize = 300;

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    match HandshakeQuery::parse(&query) {
        Ok(parsed) => {
            for token in [&parsed.resume, &parsed.sid].into_iter().flatten() {
                assert!(token.len() <= MAX_SESSION_TOKEN_LEN, "{parsed:?}");
            }
            if let Some(last) = parsed.last {
                assert_eq!(last.to_string().parse::<u64>(), Ok(last));
            }
            assert_eq!(
                parsed.resume(),
                parsed.resume.as_deref().zip(parsed.last),
                "{parsed:?}"
            );
            let again = HandshakeQuery::parse(&parsed.to_query_string());
            assert_eq!(again.as_ref(), Ok(&parsed), "{query:?} re-encoded");
            let padded = format!("x=1&{query}&y=%FF&codecs=xml");
            assert_eq!(
                HandshakeQuery::parse(&padded).as_ref(),
                Ok(&parsed),
                "{query:?} with unknown parameters"
            );
        }
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.len() <= MAX_MESSAGE_LEN,
                "{} bytes: {message}",
                message.len()
            );
            // A refused query stays refused whatever follows it.
            assert!(HandshakeQuery::parse(&format!("{query}&codec=json")).is_err());
        }
    }
});
