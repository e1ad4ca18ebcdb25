//! Encode and decode throughput of both codecs: one ~100-byte event, and a
//! batch of 16.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use switchboard_protocol::{Codec, Message};

/// An event of about 100 bytes in JSON.
fn event() -> Message {
    Message::event(
        "chat.message",
        json!({"user": "alice", "text": "hello, world, how are you?", "n": 42}),
    )
    .with_ack(7)
    .with_room("lobby")
}

fn codecs(c: &mut Criterion) {
    let msg = event();
    let batch: Vec<Message> = (0..16).map(|i| event().with_ack(i)).collect();
    for codec in [Codec::Json, Codec::MsgPack] {
        let frame = codec.encode(&msg);
        let batch_frame = codec.encode_batch(&batch);
        let mut group = c.benchmark_group(codec.as_str());
        group.throughput(Throughput::Elements(1));
        group.bench_function(format!("encode/{}B", frame.len()), |b| {
            b.iter(|| codec.encode(black_box(&msg)))
        });
        group.bench_function(format!("decode/{}B", frame.len()), |b| {
            b.iter(|| codec.decode(black_box(&frame)))
        });
        group.throughput(Throughput::Elements(16));
        group.bench_function(format!("decode_batch16/{}B", batch_frame.len()), |b| {
            b.iter(|| codec.decode(black_box(&batch_frame)))
        });
        group.finish();
    }
}

criterion_group!(benches, codecs);
criterion_main!(benches);
