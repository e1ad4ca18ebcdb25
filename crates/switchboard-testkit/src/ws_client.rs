//! A plain WebSocket client speaking the JSON protocol by hand.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// What ended a connection, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code.
    Close(u16),
    /// The TCP connection ended without a close frame.
    NoCloseFrame,
}

/// A connected client that has read its `$welcome`.
pub struct WsClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The socket id from `$welcome`.
    pub id: String,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient").field("id", &self.id).finish()
    }
}

impl WsClient {
    /// Connects to `url` (e.g. `ws://127.0.0.1:1234/ws`) and reads `$welcome`.
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        let mut client = Self {
            ws,
            id: String::new(),
        };
        let welcome = client.recv().await;
        assert_eq!(welcome["event"], "$welcome", "first message: {welcome}");
        client.id = welcome["data"]["id"]
            .as_str()
            .expect("welcome id")
            .to_owned();
        client
    }

    /// Sends one JSON message.
    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(WsMessage::Text(value.to_string().into()))
            .await
            .expect("send failed");
    }

    /// The next JSON message, skipping control frames and `$pong`; fails
    /// after [`WAIT`].
    pub async fn recv(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no message within the wait")
                .expect("connection ended")
                .expect("read error");
            match next {
                WsMessage::Text(text) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON message");
                    if value["event"] != "$pong" {
                        return value;
                    }
                }
                WsMessage::Close(frame) => panic!("closed while waiting for a message: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next message, which must be event `event`; returns it.
    pub async fn expect_event(&mut self, event: &str) -> Value {
        let message = self.recv().await;
        assert_eq!(message["event"], event, "expected {event}, got {message}");
        message
    }

    /// Sends an event with an ack number and waits for its reply.
    pub async fn call(&mut self, event: &str, data: Value, ack: u64) -> Value {
        self.send(json!({"event": event, "data": data, "ack": ack}))
            .await;
        let reply = self.recv().await;
        assert_eq!(reply["reply"], ack, "expected reply {ack}, got {reply}");
        reply
    }

    /// Joins `room` with `$join`, waiting for the hub's reply.
    pub async fn join(&mut self, room: &str) {
        let reply = self.call("$join", json!({"room": room}), 1_000_000).await;
        assert_eq!(reply["data"]["room"], room, "join refused: {reply}");
    }

    /// Reads until the connection ends; returns how.
    pub async fn closed(&mut self) -> Ended {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("connection did not end within the wait")
            {
                Some(Ok(WsMessage::Close(frame))) => {
                    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
                    return Ended::Close(frame.map_or(1005, |f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ended::NoCloseFrame,
            }
        }
    }
}
