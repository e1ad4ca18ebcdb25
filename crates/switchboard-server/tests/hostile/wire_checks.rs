//! Points 8 and 9 of issue 15: a long-polling `DELETE` of a WebSocket
//! session's token is a plain end (`1000`), not a takeover (`4002`); and a
//! frame of the wrong type for the codec (binary for JSON, text for
//! MessagePack, PROTOCOL.md sections 2 and 8) is a bad message.

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard::protocol::{Codec, Message};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::common::{WsClient, WsStream, http, within};
use crate::support::AttackedServer;

async fn connect(target: &AttackedServer, query: &str) -> (WsStream, Message) {
    let url = format!("ws://{}/ws{query}", target.addr);
    let (ws, _) = within("a handshake", tokio_tungstenite::connect_async(url))
        .await
        .expect("handshake");
    let mut ws = ws;
    let welcome = next(&mut ws, Codec::Json).await;
    (ws, welcome)
}

/// The next message, decoded with `codec` from either frame type.
async fn next(ws: &mut WsStream, codec: Codec) -> Message {
    within("a message", async {
        loop {
            let bytes = match ws.next().await {
                Some(Ok(WsMessage::Text(text))) => text.as_bytes().to_vec(),
                Some(Ok(WsMessage::Binary(bytes))) => bytes.to_vec(),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                other => panic!("expected a message, got {other:?}"),
            };
            let mut decoded = codec.decode(&bytes).expect("a message");
            return decoded.remove(0).expect("a valid message");
        }
    })
    .await
}

#[tokio::test]
async fn a_poll_delete_of_a_websocket_session_is_a_plain_end() {
    let target = AttackedServer::start(&[]).await;
    let mut client = WsClient::connect_at(target.addr, "/ws").await;
    // The session token is in the welcome: connect a raw one to read it.
    let (mut ws, welcome) = connect(&target, "").await;
    let token = welcome.data.unwrap()["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let response = http(
        target.addr,
        "DELETE",
        &format!("/ws/poll?sid={token}"),
        &[],
        b"",
    )
    .await;
    assert_eq!(response.status, 204, "{}", response.text());
    let code = within("the close frame", async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Close(Some(frame)))) => return u16::from(frame.code),
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(code, 1000, "a plain end, not 4002");
    // The session is gone: a resume gets a new one.
    let (_ws, welcome) = connect(&target, &format!("?resume={token}&last=0")).await;
    assert_eq!(welcome.data.unwrap()["resumed"], false);
    let reply = client.join("unaffected").await;
    assert_eq!(reply["data"]["room"], "unaffected");
    target.assert_served().await;
}

#[tokio::test]
async fn frames_of_the_wrong_type_are_bad_messages() {
    let target = AttackedServer::start(&[]).await;
    let bad_before = target
        .metric_f64("switchboard_errors_sent_total{code=\"bad_message\"}")
        .await;
    // JSON codec, a binary frame holding valid JSON.
    let (mut ws, _) = connect(&target, "").await;
    let join = json!({"event": "$join", "data": {"room": "a"}, "ack": 1}).to_string();
    ws.send(WsMessage::binary(join.clone().into_bytes()))
        .await
        .unwrap();
    let error = next(&mut ws, Codec::Json).await;
    assert_eq!(error.event.as_deref(), Some("$error"));
    let data = error.data.unwrap();
    assert_eq!(data["code"], "bad_message", "{data}");
    assert!(data["message"].as_str().unwrap().contains("text"), "{data}");
    // The same as a text frame is fine.
    ws.send(WsMessage::text(join)).await.unwrap();
    assert_eq!(next(&mut ws, Codec::Json).await.reply, Some(1));

    // MessagePack codec, a text frame (valid JSON, and valid UTF-8).
    let url = format!("ws://{}/ws?codec=msgpack", target.addr);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    let welcome = next(&mut ws, Codec::MsgPack).await;
    assert_eq!(welcome.event.as_deref(), Some("$welcome"));
    ws.send(WsMessage::text(r#"{"event":"$ping"}"#))
        .await
        .unwrap();
    let error = next(&mut ws, Codec::MsgPack).await;
    assert_eq!(error.event.as_deref(), Some("$error"));
    let data: Value = error.data.unwrap();
    assert_eq!(data["code"], "bad_message", "{data}");
    // A binary frame is answered.
    let ping = Codec::MsgPack.encode(&Message::event("$ping", Value::Null));
    ws.send(WsMessage::binary(ping.to_vec())).await.unwrap();
    assert_eq!(
        next(&mut ws, Codec::MsgPack).await.event.as_deref(),
        Some("$pong")
    );

    let bad = target
        .metric_f64("switchboard_errors_sent_total{code=\"bad_message\"}")
        .await;
    assert_eq!(bad - bad_before, 2.0, "each counted as a bad message");
    target.assert_served().await;
}
