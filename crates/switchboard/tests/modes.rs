//! The other ways to consume traffic: pool-style message stream, raw mode,
//! and channel binding.

mod common;

use common::{Ended, TestServer};
use futures_util::SinkExt;
use serde::{Deserialize, Serialize};
use serde_json::json;
use switchboard::{CloseCode, HandlerError, Hub, Inbound};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn message_stream_tags_every_unhandled_event_with_its_socket() {
    let (hub, mut stream) = Hub::builder()
        .on("handled", |_s, _: serde_json::Value| async move {
            Ok::<_, HandlerError>("by handler")
        })
        .build_with_stream(16);
    let server = TestServer::start_hub(hub).await;
    let (mut a, a_id) = server.joined_client().await;
    let (mut b, b_id) = server.joined_client().await;
    a.send(json!({"event": "price", "data": 1, "ack": 9})).await;
    let Some(Inbound::Event(event)) = stream.recv().await else {
        panic!("expected an event")
    };
    assert_eq!(
        (event.socket.id(), event.event.as_str(), &event.data),
        (a_id.as_str(), "price", &json!(1))
    );
    assert!(event.wants_ack());
    event.reply(json!({"ok": true})).unwrap();
    assert_eq!(a.recv().await, json!({"reply": 9, "data": {"ok": true}}));
    b.send(json!({"event": "price", "data": 2})).await;
    let item = common::within("the awaited step", stream.recv())
        .await
        .unwrap();
    assert_eq!(item.socket_id(), b_id);
    // Handlers still take their own events.
    assert_eq!(
        a.call("handled", json!(null), 1).await["data"],
        "by handler"
    );
}

#[tokio::test]
async fn raw_mode_passes_frames_through_without_envelope() {
    let (hub, mut stream) = Hub::builder().raw_mode().build_with_stream(16);
    let server = TestServer::start_hub(hub.clone()).await;
    let mut client = server.client().await;
    client
        .ws
        .send(WsMessage::Text("not an envelope".into()))
        .await
        .unwrap();
    let Some(Inbound::Raw { socket, frame }) = stream.recv().await else {
        panic!("expected a raw frame")
    };
    assert_eq!(&frame.data[..], b"not an envelope");
    assert!(!frame.binary);
    client
        .ws
        .send(WsMessage::Binary(vec![0u8, 159, 146, 150].into()))
        .await
        .unwrap();
    let Some(Inbound::Raw { frame, .. }) = stream.recv().await else {
        panic!("expected a raw frame")
    };
    assert!(frame.binary);
    assert_eq!(&frame.data[..], &[0u8, 159, 146, 150]);
    socket.send_raw("pong!".into(), false).unwrap();
    hub.to_all().send_raw(vec![1u8, 2].into(), true);
    use futures_util::StreamExt;
    let first = client.ws.next().await.unwrap().unwrap();
    assert_eq!(
        first,
        WsMessage::Text("pong!".into()),
        "no $welcome in raw mode"
    );
    let second = client.ws.next().await.unwrap().unwrap();
    assert_eq!(second, WsMessage::Binary(vec![1u8, 2].into()));
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
enum FromClient {
    Move { x: i32, y: i32 },
    Say(String),
}

#[derive(Debug, Serialize)]
#[serde(tag = "event", content = "data", rename_all = "snake_case")]
enum ToClient {
    Moved { x: i32, y: i32 },
}

#[tokio::test]
async fn channel_binding_drives_a_socket_with_one_select() {
    let (done_tx, mut done) = tokio::sync::mpsc::unbounded_channel();
    let server = TestServer::start(Hub::builder().on_connect(move |socket| {
        let done_tx = done_tx.clone();
        async move {
            let mut channel = socket.bind::<FromClient, ToClient>(8);
            tokio::spawn(async move {
                let mut said = Vec::new();
                loop {
                    tokio::select! {
                        message = channel.receiver.recv() => match message {
                            Some(FromClient::Move { x, y }) => {
                                channel.sender.send(ToClient::Moved { x: x + 1, y: y + 1 }).unwrap();
                            }
                            Some(FromClient::Say(text)) => {
                                said.push(text);
                                if said.len() == 2 {
                                    channel.control.close(CloseCode::Kicked);
                                }
                            }
                            // The session ended and every message was taken.
                            None => {
                                let reason = channel.control.closed().await;
                                let _ = done_tx.send((said.clone(), reason));
                                break;
                            }
                        },
                        reason = channel.control.closed() => {
                            let _ = done_tx.send((said.clone(), reason));
                            break;
                        }
                    }
                }
            });
        }
    }))
    .await;
    let (mut client, _) = server.joined_client().await;
    client
        .send(json!({"event": "move", "data": {"x": 1, "y": 2}}))
        .await;
    assert_eq!(
        client.recv().await,
        json!({"event": "moved", "data": {"x": 2, "y": 3}})
    );
    // An event that does not decode is answered and skipped.
    client.send(json!({"event": "fly", "data": 1})).await;
    assert_eq!(client.recv().await["data"]["code"], "bad_message");
    client
        .send(json!({"event": "say", "data": "a", "ack": 1}))
        .await;
    assert_eq!(client.recv().await, json!({"reply": 1, "data": null}));
    client.send(json!({"event": "say", "data": "b"})).await;
    assert_eq!(client.closed().await, Ended::Close(4000));
    let (said, reason) = tokio::time::timeout(common::WAIT, done.recv())
        .await
        .expect("the channel task did not finish")
        .unwrap();
    assert_eq!(said, vec!["a".to_owned(), "b".to_owned()]);
    assert_eq!(
        reason,
        switchboard::DisconnectReason::ServerClosed(CloseCode::Kicked)
    );
}
