//! Both codecs against the wire contract: round trips, batches, pre-encoded
//! frames and codec names.

mod common;

use bytes::Bytes;
use common::{CODECS, decode_one, json_one, packed};
use serde_json::{Value, json};
use switchboard_protocol::{
    ClientMessage, Codec, ErrorBody, ErrorCode, Message, ProtocolError, Welcome, encode_raw_batch,
    reserved,
};

fn samples() -> Vec<Message> {
    vec![
        Message::event(
            "chat",
            json!({"text": "héllo", "n": [1, -2, 3.5, null, true], "o": {}}),
        ),
        Message::event("tick", Value::Null),
        Message::event("big", json!(u64::MAX)).with_ack(u64::MAX),
        Message::event("relay", json!("x"))
            .with_ack(0)
            .with_room("lobby")
            .with_from("sock-1"),
        Message::reply(9, json!([1, 2])),
        Message::reply_error(10, ErrorBody::new(ErrorCode::Forbidden, "not in room")),
        Message::error_event(ErrorCode::RateLimited, "slow down"),
        Welcome {
            id: "a".into(),
            session: "s".into(),
            ping_interval_ms: 25_000,
            ping_timeout_ms: 20_000,
            resumed: true,
            missed: 3,
            user: Some("ada".into()),
            expires_at: Some(1_800_000_000),
        }
        .into_message(),
    ]
}

#[test]
fn round_trips_in_both_codecs() {
    for codec in CODECS {
        for msg in samples() {
            let frame = codec.encode(&msg);
            assert_eq!(
                decode_one(codec, &frame),
                Ok(msg.clone()),
                "{codec}: {msg:?}"
            );
        }
    }
}

#[test]
fn a_reply_with_null_data_decodes_with_data_absent() {
    // `"data":null` and an absent `data` both decode as `None`.
    for codec in CODECS {
        let frame = codec.encode(&Message::reply(1, Value::Null));
        let msg = decode_one(codec, &frame).unwrap();
        assert_eq!(
            msg,
            Message {
                reply: Some(1),
                ..Message::default()
            }
        );
        assert_eq!(
            ClientMessage::try_from(msg),
            Ok(ClientMessage::Reply {
                reply: 1,
                result: Ok(Value::Null)
            })
        );
    }
}

#[test]
fn json_and_msgpack_carry_the_same_keys() {
    for msg in samples() {
        let from_json: Value = serde_json::from_slice(&Codec::Json.encode(&msg)).unwrap();
        let from_msgpack: Value = rmp_serde::from_slice(&Codec::MsgPack.encode(&msg)).unwrap();
        assert_eq!(from_json, from_msgpack);
    }
}

#[test]
fn batches_round_trip_and_equal_raw_batches() {
    for codec in CODECS {
        for n in [0, 1, 2, 15, 16, 17, 70_000] {
            let msgs: Vec<Message> = (0..n).map(|i| Message::event("e", json!(i))).collect();
            let batch = codec.encode_batch(&msgs);
            let frames: Vec<Bytes> = msgs.iter().map(|m| codec.encode(m)).collect();
            assert_eq!(encode_raw_batch(codec, &frames), batch, "{codec} n={n}");
            let decoded = codec.decode(&batch).unwrap();
            assert_eq!(
                decoded,
                msgs.into_iter().map(Ok).collect::<Vec<_>>(),
                "{codec} n={n}"
            );
        }
        let samples = samples();
        let frames: Vec<Bytes> = samples.iter().map(|m| codec.encode(m)).collect();
        assert_eq!(
            encode_raw_batch(codec, &frames),
            codec.encode_batch(&samples)
        );
    }
}

#[test]
fn a_bad_batch_element_spoils_only_itself() {
    let frame = r#" [ {"event":"a"}, {"event":"b","ack":-1}, 7, [{"event":"c"}], {"event":"d"} ] "#;
    let msgpack = packed(frame);
    for (codec, frame) in [
        (Codec::Json, frame.as_bytes()),
        (Codec::MsgPack, &msgpack[..]),
    ] {
        let out = codec.decode(frame).unwrap();
        assert_eq!(out.len(), 5, "{codec}");
        assert_eq!(out[0], Ok(Message::event("a", Value::Null)));
        assert!(
            matches!(out[1], Err(ProtocolError::InvalidMessage(_))),
            "{codec}: {:?}",
            out[1]
        );
        assert_eq!(out[2], Err(ProtocolError::NotAnObject));
        assert_eq!(out[3], Err(ProtocolError::NotAnObject));
        assert_eq!(out[4], Ok(Message::event("d", Value::Null)));
        assert!(out[2].as_ref().unwrap_err().is_malformed_body());
        assert!(!out[1].as_ref().unwrap_err().is_malformed_body());
    }
}

#[test]
fn unknown_fields_are_ignored_and_absent_data_is_null() {
    let frame = r#"{"event":"e","extra":{"deep":[1,{"x":null}]},"v":2,"data":null}"#;
    for (codec, bytes) in [
        (Codec::Json, frame.as_bytes().to_vec()),
        (Codec::MsgPack, packed(frame)),
    ] {
        let msg = decode_one(codec, &bytes).unwrap();
        assert_eq!(msg, Message::event("e", Value::Null), "{codec}");
        assert_eq!(
            ClientMessage::try_from(msg),
            Ok(ClientMessage::Event {
                event: "e".into(),
                data: Value::Null,
                ack: None,
                room: None
            })
        );
    }
    assert_eq!(
        json_one(r#"{"event":"e"}"#),
        json_one(r#"{"event":"e","data":null}"#)
    );
}

#[test]
fn empty_batches_hold_no_message() {
    assert_eq!(Codec::Json.decode(b" [ ] "), Ok(vec![]));
    assert_eq!(Codec::MsgPack.decode(&[0x90]), Ok(vec![]));
}

#[test]
fn pong_is_pre_encoded() {
    for codec in CODECS {
        assert_eq!(
            codec.encode_pong(),
            codec.encode(&Message::event(reserved::PONG, Value::Null))
        );
    }
    assert_eq!(&Codec::Json.encode_pong()[..], br#"{"event":"$pong"}"#);
}

#[test]
fn codec_names_and_media_types() {
    assert_eq!(Codec::from_query_value("json"), Ok(Codec::Json));
    assert_eq!(Codec::from_query_value("msgpack"), Ok(Codec::MsgPack));
    assert_eq!("msgpack".parse::<Codec>(), Ok(Codec::MsgPack));
    assert_eq!(
        Codec::from_query_value("JSON"),
        Err(ProtocolError::UnknownCodec("JSON".into()))
    );
    assert_eq!(Codec::default(), Codec::Json);
    assert!(!Codec::Json.is_binary());
    assert!(Codec::MsgPack.is_binary());
    assert_eq!(Codec::Json.content_type(), "application/json");
    assert_eq!(Codec::MsgPack.content_type(), "application/msgpack");
    for codec in CODECS {
        assert_eq!(Codec::from_query_value(codec.as_str()), Ok(codec));
        assert_eq!(codec.to_string(), codec.as_str());
    }
}
