//! Every way a frame or a message can be refused, in both codecs.

mod common;

use common::{CODECS, decode_one, json_one, packed};
use serde_json::{Value, json};
use switchboard_protocol::{ClientMessage, Codec, Message, ProtocolError, reserved};

#[test]
fn ack_must_be_a_non_negative_integer() {
    for ack in [
        "-1",
        "1.5",
        "1.0",
        "\"1\"",
        "true",
        "[]",
        "18446744073709551616",
    ] {
        let frame = format!(r#"{{"event":"e","ack":{ack}}}"#);
        let err = json_one(&frame);
        assert!(
            matches!(err, Err(ProtocolError::InvalidMessage(_))),
            "json ack {ack}: {err:?}"
        );
        if ack != "18446744073709551616" {
            let err = decode_one(Codec::MsgPack, &packed(&frame));
            assert!(
                matches!(err, Err(ProtocolError::InvalidMessage(_))),
                "msgpack ack {ack}: {err:?}"
            );
        }
        let frame = format!(r#"{{"reply":{ack}}}"#);
        assert!(
            matches!(json_one(&frame), Err(ProtocolError::InvalidMessage(_))),
            "reply {ack}"
        );
    }
    assert_eq!(json_one(r#"{"event":"e","ack":0}"#).unwrap().ack, Some(0));
    assert_eq!(json_one(r#"{"event":"e","ack":null}"#).unwrap().ack, None);
}

#[test]
fn wrongly_typed_fields_are_invalid_messages() {
    for frame in [
        r#"{"event":5}"#,
        r#"{"event":"e","room":1}"#,
        r#"{"event":"e","from":[]}"#,
        r#"{"reply":1,"error":"oops"}"#,
        r#"{"reply":1,"error":{"message":"no code"}}"#,
        r#"{"event":"e","event":"f"}"#,
    ] {
        assert!(
            matches!(json_one(frame), Err(ProtocolError::InvalidMessage(_))),
            "{frame}"
        );
        let err = decode_one(Codec::MsgPack, &packed(frame));
        // A map can not hold a key twice once it went through `Value`.
        if !frame.contains(r#""event":"f""#) {
            assert!(
                matches!(err, Err(ProtocolError::InvalidMessage(_))),
                "msgpack {frame}"
            );
        }
    }
}

#[test]
fn invalid_message_details_are_bounded() {
    let frame = format!(r#"{{"ack":"{}"}}"#, "x".repeat(10_000));
    let err = json_one(&frame).unwrap_err().to_string();
    assert!(err.len() < 300, "{}", err.len());
}

#[test]
fn frames_that_are_not_json() {
    for frame in [
        "",
        "   ",
        "{",
        r#"{"event":"e""#,
        r#"{"event":"e"} x"#,
        "[{}",
        "nul",
        "\u{feff}{}",
    ] {
        let got = Codec::Json.decode(frame.as_bytes());
        assert!(
            matches!(got, Err(ProtocolError::NotJson(_))),
            "{frame:?}: {got:?}"
        );
    }
    // A data error early in a frame that is broken later is still "not JSON".
    let got = Codec::Json.decode(br#"{"ack":-1, oops}"#);
    assert!(matches!(got, Err(ProtocolError::NotJson(_))), "{got:?}");
    let got = Codec::Json.decode(&[b'{', b'"', 0xff, b'"', b':', b'1', b'}']);
    assert!(matches!(got, Err(ProtocolError::NotJson(_))), "{got:?}");
    let deep = format!(
        r#"{{"event":"e","data":{}1{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(matches!(
        Codec::Json.decode(deep.as_bytes()),
        Err(ProtocolError::NotJson(_))
    ));
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    // JSON batches are cut into elements without recursion; each element
    // is then decoded under serde_json's nesting limit.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        Codec::Json.decode(deep.as_bytes()),
        Ok(vec![Err(ProtocolError::NotAnObject)])
    );
    let deep = format!(
        r#"[{{"event":"e","data":{}1{}}},{{"event":"f"}}]"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    let out = Codec::Json.decode(deep.as_bytes()).unwrap();
    assert!(
        matches!(out[0], Err(ProtocolError::InvalidMessage(_))),
        "{:?}",
        out[0]
    );
    assert_eq!(out[1], Ok(Message::event("f", Value::Null)));
    let deep = [vec![0x91u8; 100_000], vec![0xc0]].concat();
    assert!(matches!(
        Codec::MsgPack.decode(&deep),
        Err(ProtocolError::NotMsgPack(_))
    ));
    let deep = [[0x81u8, 0xa1, b'k'].repeat(100_000), vec![0xc0]].concat();
    assert!(matches!(
        Codec::MsgPack.decode(&deep),
        Err(ProtocolError::NotMsgPack(_))
    ));
}

#[test]
fn frames_that_are_neither_object_nor_array() {
    for frame in ["1", " \"event\" ", "null", "true", "-3.5"] {
        assert_eq!(
            Codec::Json.decode(frame.as_bytes()),
            Err(ProtocolError::NotObjectOrArray),
            "{frame}"
        );
        assert_eq!(
            Codec::MsgPack.decode(&packed(frame)),
            Err(ProtocolError::NotObjectOrArray),
            "{frame}"
        );
    }
    assert_eq!(
        Codec::MsgPack.decode(&[0xc4, 1, 0]),
        Err(ProtocolError::NotObjectOrArray)
    );
}

#[test]
fn frames_that_are_not_msgpack() {
    let good = Codec::MsgPack.encode(&Message::event("e", json!({"a": [1, 2]})));
    let batch = Codec::MsgPack.encode_batch(&[Message::event("e", Value::Null)]);
    let mut cases: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xc1],
        vec![0x81, 0xc1, 0xc0],
        [&good[..], &[0xc0][..]].concat(),
        [&batch[..], &[0xc0][..]].concat(),
        [vec![0x91; 200], vec![0x80]].concat(),
    ];
    cases.extend((1..good.len()).map(|cut| good[..cut].to_vec()));
    cases.extend((1..batch.len()).map(|cut| batch[..cut].to_vec()));
    for frame in cases {
        let got = Codec::MsgPack.decode(&frame);
        assert!(
            matches!(got, Err(ProtocolError::NotMsgPack(_))),
            "{frame:x?}: {got:?}"
        );
    }
}

#[test]
fn msgpack_extensions_and_int_keys_in_data_are_invalid_messages_and_bin_is_not() {
    // {"event":"e","data":<bin 2 bytes>}: a bin object (binary.rs).
    let bin = b"\x82\xa5event\xa1e\xa4data\xc4\x02\x01\x02";
    assert_eq!(
        decode_one(Codec::MsgPack, bin),
        Ok(Message::event("e", serde_json::json!({"$bin": "AQI="})))
    );
    let ext = b"\x82\xa5event\xa1e\xa4data\xd4\x01\x00";
    let int_key = b"\x82\xa5event\xa1e\xa4data\x81\x01\x02";
    for frame in [&ext[..], &int_key[..]] {
        let got = decode_one(Codec::MsgPack, frame);
        assert!(
            matches!(got, Err(ProtocolError::InvalidMessage(_))),
            "{frame:x?}: {got:?}"
        );
    }
    // In a batch, only that element fails.
    let frame = [
        &[0x92][..],
        &ext[..],
        &Codec::MsgPack.encode(&Message::event("ok", Value::Null))[..],
    ]
    .concat();
    let out = Codec::MsgPack.decode(&frame).unwrap();
    assert!(out[0].is_err());
    assert_eq!(out[1], Ok(Message::event("ok", Value::Null)));
}

#[test]
fn reserved_names_sent_by_a_client_are_refused() {
    for codec in CODECS {
        for name in [
            reserved::WELCOME,
            reserved::ERROR,
            reserved::PONG,
            "$anything",
        ] {
            let frame = codec.encode(&Message::event(name, json!({"room": "r"})));
            let msg = decode_one(codec, &frame).unwrap();
            assert_eq!(
                ClientMessage::try_from(msg),
                Err(ProtocolError::ReservedEvent(name.into()))
            );
        }
        let ping = decode_one(
            codec,
            &codec.encode(&Message::event(reserved::PING, Value::Null)),
        );
        assert_eq!(
            ClientMessage::try_from(ping.unwrap()),
            Ok(ClientMessage::Ping)
        );
    }
}

#[test]
fn missing_event_or_reply_through_a_codec() {
    for codec in CODECS {
        let msg = decode_one(
            codec,
            &codec.encode(&Message {
                data: Some(json!(1)),
                ..Message::default()
            }),
        );
        assert_eq!(
            ClientMessage::try_from(msg.unwrap()),
            Err(ProtocolError::MissingEventOrReply)
        );
    }
}
