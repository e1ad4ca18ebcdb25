//! A cheap stand-in for the fuzz target (`fuzz/fuzz_targets/decode.rs`):
//! deterministic random mutations of valid frames must never panic, and
//! whatever decodes must survive a round trip.

use serde_json::json;
use switchboard_protocol::{ClientMessage, Codec, Message};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }
}

fn check(frame: &[u8]) {
    for codec in [Codec::Json, Codec::MsgPack] {
        let Ok(messages) = codec.decode(frame) else {
            continue;
        };
        for msg in messages.into_iter().flatten() {
            let again = codec.decode(&codec.encode(&msg));
            assert!(
                matches!(again.as_deref(), Ok([Ok(_)])),
                "{codec}: {msg:?}: {again:?}"
            );
            let _ = ClientMessage::try_from(msg);
        }
    }
}

#[test]
fn mutated_frames_never_panic() {
    let msgs = vec![
        Message::event("chat", json!({"a": [1, -2, 3.5, "x", null, {"b": true}]})).with_ack(3),
        Message::event("$join", json!({"room": "lobby"})).with_room("r"),
        Message::reply(7, json!(null)),
    ];
    let mut seeds = Vec::new();
    for codec in [Codec::Json, Codec::MsgPack] {
        seeds.push(codec.encode_batch(&msgs).to_vec());
        seeds.extend(msgs.iter().map(|m| codec.encode(m).to_vec()));
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..20_000 {
        let mut frame = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(4) {
            let at = rng.below(frame.len());
            match rng.below(4) {
                0 => frame[at] = rng.next() as u8,
                1 => frame.truncate(at),
                2 => frame.insert(at, rng.next() as u8),
                _ => {
                    frame.remove(at);
                }
            }
            if frame.is_empty() {
                break;
            }
        }
        check(&frame);
    }
}
