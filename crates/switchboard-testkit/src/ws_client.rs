//! The test suites' WebSocket client: tokio-tungstenite, not our own
//! client, speaking PROTOCOL.md by hand so that the hub is checked against
//! an independent implementation.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderName;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::wait::{WAIT, within};

/// The underlying tokio-tungstenite stream.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What ended a connection, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// A close frame with this code (`1005` when it carried none).
    Close(u16),
    /// The TCP connection ended without a close frame.
    NoCloseFrame,
}

/// A WebSocket test client. Every wait fails the test after [`WAIT`].
pub struct WsClient {
    /// The stream, for frames the helpers do not cover.
    pub ws: WsStream,
    /// The socket id from `$welcome` (empty until it has been read).
    pub id: String,
    next_ack: u64,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl WsClient {
    /// Completes the handshake with `url` (e.g. `ws://127.0.0.1:1234/ws`)
    /// without reading anything.
    pub async fn open(url: &str) -> Self {
        let (ws, _) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(url),
        )
        .await
        .expect("WebSocket handshake");
        Self::from_stream(ws)
    }

    /// Wraps a connected stream.
    pub fn from_stream(ws: WsStream) -> Self {
        Self {
            ws,
            id: String::new(),
            next_ack: 1,
        }
    }

    /// Connects to `url` and reads its `$welcome`, keeping the socket id.
    pub async fn connect(url: &str) -> Self {
        let mut client = Self::open(url).await;
        let welcome = client.recv().await;
        assert_eq!(welcome["event"], "$welcome", "first message: {welcome}");
        client.id = welcome["data"]["id"]
            .as_str()
            .expect("welcome id")
            .to_owned();
        client
    }

    /// [`WsClient::connect`] to `ws://{addr}{path}`.
    pub async fn connect_at(addr: SocketAddr, path: &str) -> Self {
        Self::connect(&format!("ws://{addr}{path}")).await
    }

    /// Completes the handshake with extra request headers; the HTTP status
    /// when the server refuses the upgrade.
    pub async fn try_open_with(url: &str, headers: &[(&str, &str)]) -> Result<Self, u16> {
        let mut request = url.into_client_request().expect("a WebSocket URL");
        for (name, value) in headers {
            request.headers_mut().insert(
                HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                value.parse().expect("a header value"),
            );
        }
        match within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(request),
        )
        .await
        {
            Ok((ws, _)) => Ok(Self::from_stream(ws)),
            Err(WsError::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("unexpected connect error: {other}"),
        }
    }

    /// Sends one JSON text message.
    pub async fn send(&mut self, value: Value) {
        self.send_text(&value.to_string()).await;
    }

    /// Sends one text frame as is.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(WsMessage::Text(text.into()))
            .await
            .expect("send");
    }

    /// The next message (a text frame as JSON, a binary frame as
    /// MessagePack), skipping control frames. Fails on a close.
    pub async fn recv(&mut self) -> Value {
        within("a message", async {
            loop {
                match self.ws.next().await {
                    Some(Ok(WsMessage::Text(text))) => {
                        return serde_json::from_str(text.as_str()).expect("JSON message");
                    }
                    Some(Ok(WsMessage::Binary(bytes))) => return msgpack_value(&bytes),
                    Some(Ok(WsMessage::Close(frame))) => {
                        panic!("closed while waiting for a message: {frame:?}")
                    }
                    Some(Ok(_)) => {}
                    other => panic!("expected a message, got {other:?}"),
                }
            }
        })
        .await
    }

    /// The next message that is not `$pong`, which must be `event`.
    pub async fn recv_event(&mut self, event: &str) -> Value {
        loop {
            let message = self.recv().await;
            if message["event"] == event {
                return message;
            }
            assert_eq!(message["event"], "$pong", "expected {event}, got {message}");
        }
    }

    /// Sends `event` with ack number `ack`; the next message must be its
    /// reply, which is returned.
    pub async fn call(&mut self, event: &str, data: Value, ack: u64) -> Value {
        self.send(json!({"event": event, "data": data, "ack": ack}))
            .await;
        let reply = self.recv().await;
        assert_eq!(reply["reply"], ack, "expected reply {ack}, got {reply}");
        reply
    }

    /// Sends `event` with the next ack number of this client and returns
    /// its reply, passing over whatever arrives before it.
    pub async fn request(&mut self, event: &str, data: Value) -> Value {
        let ack = self.next_ack;
        self.next_ack += 1;
        self.send(json!({"event": event, "data": data, "ack": ack}))
            .await;
        loop {
            let message = self.recv().await;
            if message["reply"] == ack {
                return message;
            }
        }
    }

    /// Sends `$join` for `room` and returns the hub's reply (which may be
    /// a refusal).
    pub async fn join(&mut self, room: &str) -> Value {
        self.request("$join", json!({ "room": room })).await
    }

    /// Reads until the connection ends; returns how. After a close frame
    /// it keeps reading, so that the close reply goes out as a browser's
    /// would.
    pub async fn closed(&mut self) -> Ended {
        loop {
            match within("the connection to end", self.ws.next()).await {
                Some(Ok(WsMessage::Close(frame))) => {
                    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
                    return Ended::Close(frame.map_or(1005, |f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ended::NoCloseFrame,
            }
        }
    }

    /// Waits for a close frame, which must carry a code, and returns it.
    pub async fn close_code(&mut self) -> u16 {
        match self.closed().await {
            Ended::Close(1005) => panic!("close frame without a code"),
            Ended::Close(code) => code,
            Ended::NoCloseFrame => panic!("expected a close frame, the connection ended"),
        }
    }

    /// Sends a close frame `1000` (best effort).
    pub async fn close(&mut self) {
        let _ = self.ws.close(Some(normal_close("".into()))).await;
    }

    /// Closes with `1000` and waits for the hub's answering close frame.
    pub async fn close_normally(mut self) {
        self.ws
            .close(Some(normal_close("bye".into())))
            .await
            .expect("send close");
        assert_eq!(self.close_code().await, 1000);
    }

    /// Drops the TCP connection with a reset: no close frame, no FIN (the
    /// hub sees a link drop, and its session waits for a resume).
    pub fn reset(self) {
        reset(self.ws);
    }

    /// Asserts nothing but control frames arrives for `for_ms` (only to
    /// check that something is *not* delivered after a later message
    /// proves order).
    pub async fn assert_silent(&mut self, for_ms: u64) {
        if let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(for_ms), self.ws.next()).await
            && !matches!(message, WsMessage::Ping(_) | WsMessage::Pong(_))
        {
            panic!("unexpected message: {message:?}");
        }
    }
}

/// Drops a WebSocket's TCP connection with a reset (see
/// [`WsClient::reset`]).
pub fn reset(ws: WsStream) {
    if let MaybeTlsStream::Plain(tcp) = ws.get_ref() {
        tcp.set_zero_linger().expect("SO_LINGER 0");
    }
    drop(ws);
}

fn normal_close(reason: tokio_tungstenite::tungstenite::Utf8Bytes) -> CloseFrame {
    CloseFrame {
        code: 1000.into(),
        reason,
    }
}

fn msgpack_value(bytes: &[u8]) -> Value {
    let message = switchboard::Codec::MsgPack
        .decode(bytes)
        .expect("msgpack frame")
        .pop()
        .expect("one message")
        .expect("msgpack message");
    serde_json::to_value(message).expect("a JSON value")
}
