//! MessagePack `bin` values over real sockets: a MessagePack client's
//! bytes reach handlers as bytes and go back out as `bin`; JSON clients
//! see a bin object (`{"$bin": "<base64>"}`).

mod common;

use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use switchboard::{Binary, HandlerError, Hub};
use switchboard_testkit::{WsClient, within};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[derive(Deserialize)]
struct Upload {
    name: String,
    file: Binary,
    also: bytes::Bytes,
    list: Vec<u8>,
}

#[derive(Serialize)]
struct Stored {
    name: String,
    size: usize,
    file: Binary,
}

fn hub() -> switchboard::HubBuilder {
    Hub::builder()
        .on("upload", |socket, upload: Upload| async move {
            assert_eq!(upload.also, upload.file.0);
            assert_eq!(upload.list, &upload.file[..]);
            let stored = Stored {
                size: upload.file.len(),
                name: upload.name,
                file: upload.file,
            };
            socket.hub().to("files").emit("stored", &stored)?;
            Ok::<_, HandlerError>(stored)
        })
        .on("echo", |_s, data: Value| async move {
            Ok::<_, HandlerError>(data)
        })
}

/// One MessagePack message as its raw frame.
async fn next_binary_frame(client: &mut WsClient) -> Vec<u8> {
    within("a binary frame", async {
        loop {
            match client.ws.next().await {
                Some(Ok(WsMessage::Binary(bytes))) => return bytes.to_vec(),
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                other => panic!("expected a binary frame, got {other:?}"),
            }
        }
    })
    .await
}

/// `$join` from a MessagePack client; the reply's data.
async fn packed_join(client: &mut WsClient, room: &str) -> Value {
    let frame = msgpack_event("$join", &json!({ "room": room }), 99);
    client
        .ws
        .send(WsMessage::Binary(frame.into()))
        .await
        .unwrap();
    let reply = client.recv().await;
    assert_eq!(reply["reply"], 99, "{reply}");
    reply["data"].clone()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `{"event":..,"data":..,"ack":..}` with `data` written by `rmp_serde`
/// (so `Binary` goes as `bin`), as a MessagePack client would send it.
fn msgpack_event(event: &str, data: &impl Serialize, ack: u64) -> Vec<u8> {
    #[derive(Serialize)]
    struct Event<'a, D> {
        event: &'a str,
        data: &'a D,
        ack: u64,
    }
    rmp_serde::to_vec_named(&Event { event, data, ack }).unwrap()
}

#[tokio::test]
async fn msgpack_bin_reaches_handlers_as_bytes_and_leaves_as_bin() {
    let server = TestServer::start(hub()).await;
    let mut packed = WsClient::connect(&format!("{}?codec=msgpack", server.url())).await;
    let mut json = WsClient::connect(&server.url()).await;
    assert_eq!(packed_join(&mut packed, "files").await["room"], "files");
    assert_eq!(json.join("files").await["data"]["room"], "files");

    let bytes = vec![0u8, 1, 2, 0xff, 0x80];
    #[derive(Serialize)]
    struct Sent<'a> {
        name: &'a str,
        file: &'a Binary,
        also: &'a Binary,
        list: &'a Binary,
    }
    let blob = Binary::from(bytes.clone());
    let frame = msgpack_event(
        "upload",
        &Sent {
            name: "a.bin",
            file: &blob,
            also: &blob,
            list: &blob,
        },
        1,
    );
    assert!(
        contains(&frame, &[0xc4, 5, 0, 1, 2, 0xff, 0x80]),
        "sent as bin"
    );
    packed
        .ws
        .send(WsMessage::Binary(frame.into()))
        .await
        .unwrap();

    // The broadcast, then the reply: `bin` on the wire both times.
    let bin_on_wire = [0xc4, 5, 0, 1, 2, 0xff, 0x80];
    for expected in ["stored", "reply"] {
        let frame = next_binary_frame(&mut packed).await;
        assert!(contains(&frame, &bin_on_wire), "{expected}: {frame:x?}");
        let message = switchboard::Codec::MsgPack
            .decode(&frame)
            .unwrap()
            .remove(0)
            .unwrap();
        let data = message.data.unwrap();
        assert_eq!(data["file"], json!({"$bin": "AAEC/4A="}), "{expected}");
        assert_eq!(data["size"], 5);
        if expected == "reply" {
            assert_eq!(message.reply, Some(1));
        } else {
            assert_eq!(message.room.as_deref(), Some("files"));
        }
    }
    // The JSON member gets the bin object.
    let stored = json.recv_event("stored").await;
    assert_eq!(
        stored["data"],
        json!({"name": "a.bin", "size": 5, "file": {"$bin": "AAEC/4A="}})
    );

    // A `Value` handler sees the bin object and re-emits it as `bin`.
    #[derive(Serialize)]
    struct Nested<'a>(u8, &'a Binary);
    let frame = msgpack_event("echo", &Nested(7, &Binary::from(vec![9u8])), 2);
    packed
        .ws
        .send(WsMessage::Binary(frame.into()))
        .await
        .unwrap();
    let frame = next_binary_frame(&mut packed).await;
    assert!(
        contains(&frame, &[0x92, 0x07, 0xc4, 0x01, 0x09]),
        "{frame:x?}"
    );

    // A JSON client's bin object reaches a bytes handler as bytes, and a
    // MessagePack member as `bin`.
    json.send(json!({"event": "upload", "ack": 3, "data": {
        "name": "b", "file": {"$bin": "AAEC/4A="}, "also": {"$bin": "AAEC/4A="},
        "list": {"$bin": "AAEC/4A="},
    }}))
    .await;
    let frame = next_binary_frame(&mut packed).await;
    assert!(contains(&frame, &bin_on_wire), "{frame:x?}");
    assert_eq!(json.recv_event("stored").await["data"]["name"], "b");
    let reply = json.recv().await;
    assert_eq!(reply["reply"], 3, "{reply}");
    assert_eq!(reply["data"]["file"], json!({"$bin": "AAEC/4A="}));
}

#[tokio::test]
async fn a_relay_carries_bin_between_codecs() {
    let server = TestServer::start(hub()).await;
    let mut packed = WsClient::connect(&format!("{}?codec=msgpack", server.url())).await;
    let mut json = WsClient::connect(&server.url()).await;
    assert_eq!(packed_join(&mut packed, "r").await["room"], "r");
    assert_eq!(json.join("r").await["data"]["room"], "r");
    #[derive(Serialize)]
    struct Relay<'a> {
        event: &'a str,
        data: &'a Binary,
        room: &'a str,
    }
    let frame = rmp_serde::to_vec_named(&Relay {
        event: "blob",
        data: &Binary::from(vec![1u8, 2, 3]),
        room: "r",
    })
    .unwrap();
    packed
        .ws
        .send(WsMessage::Binary(frame.into()))
        .await
        .unwrap();
    let relayed = json.recv_event("blob").await;
    assert_eq!(relayed["data"], json!({"$bin": "AQID"}));
    assert_eq!(relayed["from"], packed.id.as_str());
}
