//! Any bytes as a long-polling open body, in both codecs: parsing never
//! panics (nor overflows the stack); a blank body is exactly a new session;
//! an accepted resume respects the session token bound and re-encodes to a
//! body that parses to the same request; a refusal gets a short message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_protocol::{Codec, MAX_SESSION_TOKEN_LEN, parse_open_body};

/// The longest refusal message: quoted input is cut to about 200 bytes.
const MAX_MESSAGE_LEN: usize = 300;

fuzz_target!(|body: &[u8]| {
    let blank = body.iter().all(u8::is_ascii_whitespace);
    for codec in [Codec::Json, Codec::MsgPack] {
        match parse_open_body(codec, body) {
            Ok(None) => assert!(blank, "{codec}: {body:?} is not blank"),
            Ok(Some(request)) => {
                assert!(!blank);
                assert!(request.resume.len() <= MAX_SESSION_TOKEN_LEN, "{request:?}");
                let encoded = request.encode(codec);
                assert_eq!(
                    parse_open_body(codec, &encoded).as_ref(),
                    Ok(&Some(request.clone())),
                    "{codec}: {request:?} did not survive a round trip"
                );
            }
            Err(error) => {
                assert!(!blank);
                let message = error.to_string();
                assert!(
                    message.len() <= MAX_MESSAGE_LEN,
                    "{codec}: {} bytes: {message}",
                    message.len()
                );
            }
        }
    }
});
