#![cfg(feature = "tokio-runtime")]
//! Switchboard's `WebSocketStream::feed_data` writes exactly what feeding
//! the same payload as a `Message` writes: small frames copied into the cork
//! buffer, large ones by reference, text and binary alike; and a client's
//! masked frames arrive intact.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use sockudo_ws::{Config, Message, WebSocketStream};
use tokio::io::{AsyncReadExt, duplex};

fn config() -> Config {
    Config {
        auto_ping: false,
        idle_timeout: 0,
        ..Config::default()
    }
}

fn payload(len: usize) -> Bytes {
    (0..len)
        .map(|i| b'a' + (i % 26) as u8)
        .collect::<Vec<u8>>()
        .into()
}

/// The bytes a server stream writes for `frames`, fed one way or the other.
async fn written(frames: &[(bool, Bytes)], as_data: bool) -> Vec<u8> {
    let (server_io, mut peer) = duplex(1 << 20);
    let mut server = WebSocketStream::server(server_io, config());
    for (binary, payload) in frames {
        if as_data {
            server.feed_data(*binary, payload).await.unwrap();
        } else if *binary {
            server.feed(Message::Binary(payload.clone())).await.unwrap();
        } else {
            server.feed(Message::Text(payload.clone())).await.unwrap();
        }
    }
    server.flush().await.unwrap();
    drop(server);
    let mut bytes = Vec::new();
    peer.read_to_end(&mut bytes).await.unwrap();
    bytes
}

#[tokio::test]
async fn a_server_writes_the_same_bytes_as_feeding_messages() {
    let frames: Vec<(bool, Bytes)> = [0, 5, 125, 126, 65_535, 65_536, 100_000]
        .into_iter()
        .enumerate()
        .map(|(i, len)| (i % 2 == 1, payload(len)))
        .collect();
    let by_message = written(&frames, false).await;
    let by_data = written(&frames, true).await;
    assert_eq!(by_message.len(), 231_327 + 34, "payloads and headers");
    assert!(by_data == by_message, "the written bytes differ");
}

#[tokio::test]
async fn a_clients_masked_data_frames_arrive_intact() {
    let (client_io, server_io) = duplex(1 << 20);
    let mut client = WebSocketStream::client(client_io, config());
    let mut server = WebSocketStream::server(server_io, config());
    let text = payload(300);
    let binary = payload(20_000);
    client.feed_data(false, &text).await.unwrap();
    client.feed_data(true, &binary).await.unwrap();
    client.flush().await.unwrap();
    match server.next().await.unwrap().unwrap() {
        Message::Text(got) => assert_eq!(got, text),
        other => panic!("not the text frame: {other:?}"),
    }
    match server.next().await.unwrap().unwrap() {
        Message::Binary(got) => assert_eq!(got, binary),
        other => panic!("not the binary frame: {other:?}"),
    }
}
