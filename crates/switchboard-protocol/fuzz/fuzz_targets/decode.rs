//! Decoding any frame, in either codec, and checking every message it holds
//! must never panic; what decodes must encode and decode again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard_protocol::{ClientMessage, Codec};

fuzz_target!(|frame: &[u8]| {
    for codec in [Codec::Json, Codec::MsgPack] {
        let Ok(messages) = codec.decode(frame) else {
            continue;
        };
        for msg in messages.into_iter().flatten() {
            let again = codec.decode(&codec.encode(&msg));
            assert!(
                matches!(again.as_deref(), Ok([Ok(_)])),
                "{codec}: {msg:?} did not survive a round trip: {again:?}"
            );
            let _ = ClientMessage::try_from(msg);
        }
    }
});
