//! Test support: a hub on 127.0.0.1:0 and a WebSocket client driven by an
//! independent implementation (tokio-tungstenite).
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use switchboard::{Hub, HubBuilder};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::{Message as WsMessage, client::IntoClientRequest};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(5);

pub struct TestServer {
    pub hub: Hub,
    pub addr: SocketAddr,
}

impl TestServer {
    pub async fn start(builder: HubBuilder) -> Self {
        Self::start_hub(builder.build()).await
    }

    pub async fn start_hub(hub: Hub) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = hub.router("/ws");
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { hub, addr }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn client(&self) -> Client {
        Client::connect(&self.url()).await
    }

    /// Connects and reads `$welcome`; returns the client and its socket id.
    pub async fn joined_client(&self) -> (Client, String) {
        let mut client = self.client().await;
        let welcome = client.recv().await;
        assert_eq!(welcome["event"], "$welcome", "first message: {welcome}");
        let id = welcome["data"]["id"].as_str().unwrap().to_owned();
        (client, id)
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What ended a connection, as the client saw it.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Close(u16),
    NoCloseFrame,
}

impl Client {
    pub async fn connect(url: &str) -> Self {
        let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
            .await
            .expect("connect timed out")
            .expect("connect failed");
        Self { ws }
    }

    /// Connects with extra headers; returns the HTTP status on refusal.
    pub async fn try_connect_with(url: &str, headers: &[(&str, &str)]) -> Result<Self, u16> {
        let mut request = url.into_client_request().unwrap();
        for (name, value) in headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .expect("connect timed out")
        {
            Ok((ws, _)) => Ok(Self { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("unexpected connect error: {other}"),
        }
    }

    pub async fn send(&mut self, value: Value) {
        self.ws
            .send(WsMessage::Text(value.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(WsMessage::Text(text.into())).await.unwrap();
    }

    /// The next JSON message, skipping control frames; fails after `WAIT`.
    pub async fn recv(&mut self) -> Value {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no message within the wait")
                .expect("connection ended")
                .expect("read error");
            match next {
                WsMessage::Text(text) => return serde_json::from_str(&text).unwrap(),
                WsMessage::Binary(bytes) => {
                    return rmp_decode(&bytes);
                }
                WsMessage::Close(frame) => panic!("closed while waiting for a message: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The next message that is not `$pong`.
    pub async fn recv_event(&mut self, event: &str) -> Value {
        loop {
            let message = self.recv().await;
            if message["event"] == event {
                return message;
            }
            assert_eq!(message["event"], "$pong", "expected {event}, got {message}");
        }
    }

    /// Sends an event with an ack number and waits for its reply.
    pub async fn call(&mut self, event: &str, data: Value, ack: u64) -> Value {
        self.send(json!({"event": event, "data": data, "ack": ack}))
            .await;
        let reply = self.recv().await;
        assert_eq!(reply["reply"], ack, "expected reply {ack}, got {reply}");
        reply
    }

    /// Reads until the connection ends; returns the close code.
    pub async fn closed(&mut self) -> Ended {
        loop {
            match tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("connection did not end within the wait")
            {
                Some(Ok(WsMessage::Close(frame))) => {
                    // Keep reading so the client's close reply goes out, as
                    // a browser's would.
                    while let Ok(Some(Ok(_))) = tokio::time::timeout(WAIT, self.ws.next()).await {}
                    return Ended::Close(frame.map_or(1005, |f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ended::NoCloseFrame,
            }
        }
    }

    pub async fn close(&mut self) {
        let _ = self
            .ws
            .close(Some(tokio_tungstenite::tungstenite::protocol::CloseFrame {
                code: WsCloseCode::Normal,
                reason: "".into(),
            }))
            .await;
    }

    /// Asserts nothing arrives for a short while (used only to check that
    /// something is *not* delivered after a later message proves order).
    pub async fn assert_silent(&mut self, for_ms: u64) {
        if let Ok(Some(Ok(message))) =
            tokio::time::timeout(Duration::from_millis(for_ms), self.ws.next()).await
        {
            if !matches!(message, WsMessage::Ping(_) | WsMessage::Pong(_)) {
                panic!("unexpected message: {message:?}");
            }
        }
    }
}

fn rmp_decode(bytes: &[u8]) -> Value {
    let message = switchboard::Codec::MsgPack
        .decode(bytes)
        .expect("msgpack frame")
        .pop()
        .unwrap()
        .expect("msgpack message");
    serde_json::to_value(message).unwrap()
}

/// Waits until `condition` holds, or fails after `WAIT`. Only for states the
/// hub announces no event for (a dropped link seen by the hub); it checks
/// the condition every few milliseconds.
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !condition() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A raw TCP WebSocket client for frames a library client refuses to send.
pub struct RawClient {
    pub stream: TcpStream,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr, path: &str) -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        while !response.ends_with(b"\r\n\r\n") {
            let mut byte = [0u8; 1];
            let n = tokio::time::timeout(WAIT, stream.read(&mut byte))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(n, 1, "connection closed during handshake");
            response.push(byte[0]);
        }
        assert!(
            response.starts_with(b"HTTP/1.1 101"),
            "{}",
            String::from_utf8_lossy(&response)
        );
        Self { stream }
    }

    /// Sends one masked frame (mask key zero) with this opcode and payload.
    pub async fn send_frame(&mut self, opcode: u8, payload: &[u8]) {
        use tokio::io::AsyncWriteExt;
        let mut frame = vec![0x80 | opcode];
        if payload.len() < 126 {
            frame.push(0x80 | payload.len() as u8);
        } else {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).await.unwrap();
    }

    /// Reads one unfragmented text frame of under 64 KiB.
    pub async fn read_text_frame(&mut self) -> String {
        use tokio::io::AsyncReadExt;
        let mut header = [0u8; 2];
        within(self.stream.read_exact(&mut header)).await.unwrap();
        assert_eq!(header[0], 0x81, "a final text frame");
        let mut len = usize::from(header[1] & 0x7f);
        if len == 126 {
            let mut ext = [0u8; 2];
            within(self.stream.read_exact(&mut ext)).await.unwrap();
            len = usize::from(u16::from_be_bytes(ext));
        }
        let mut payload = vec![0u8; len];
        within(self.stream.read_exact(&mut payload)).await.unwrap();
        String::from_utf8(payload).unwrap()
    }

    /// Reads frames until a close frame; returns its code (None: EOF first).
    pub async fn read_close_code(&mut self) -> Option<u16> {
        use tokio::io::AsyncReadExt;
        loop {
            let mut header = [0u8; 2];
            if tokio::time::timeout(WAIT, self.stream.read_exact(&mut header))
                .await
                .expect("no frame within the wait")
                .is_err()
            {
                return None;
            }
            let mut len = u64::from(header[1] & 0x7f);
            if len == 126 {
                let mut ext = [0u8; 2];
                self.stream.read_exact(&mut ext).await.ok()?;
                len = u64::from(u16::from_be_bytes(ext));
            } else if len == 127 {
                let mut ext = [0u8; 8];
                self.stream.read_exact(&mut ext).await.ok()?;
                len = u64::from_be_bytes(ext);
            }
            let mut payload = vec![0u8; len as usize];
            self.stream.read_exact(&mut payload).await.ok()?;
            if header[0] & 0x0f == 0x8 {
                return Some(u16::from_be_bytes([payload[0], payload[1]]));
            }
        }
    }
}

/// Awaits `future`, failing the test after `WAIT`.
pub async fn within<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .expect("nothing happened within the wait")
}

/// A plain HTTP/1.1 exchange (`Connection: close`): returns the status and
/// the body.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut response))
        .await
        .expect("no HTTP answer")
        .unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, response[split + 4..].to_vec())
}

/// An HTTP exchange whose body is JSON.
pub async fn http_json(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let (status, body) = http(addr, method, path, body.as_bytes()).await;
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&body)))
    };
    (status, value)
}

/// A long-polling client (PROTOCOL.md section 6).
pub struct PollClient {
    pub addr: SocketAddr,
    pub sid: String,
    pub id: String,
    /// Counted messages received (for resume).
    pub received: u64,
}

impl PollClient {
    /// Opens (or resumes) a session; returns the client and the handshake
    /// answer (`$welcome` first).
    pub async fn open(addr: SocketAddr, resume: Option<(&str, u64)>) -> (Self, Vec<Value>) {
        let body = match resume {
            Some((token, last)) => json!({"resume": token, "last": last}).to_string(),
            None => String::new(),
        };
        let (status, answer) = http_json(addr, "POST", "/ws/poll", &body).await;
        assert_eq!(status, 200, "{answer}");
        let messages = answer.as_array().unwrap().clone();
        assert_eq!(messages[0]["event"], "$welcome");
        let data = &messages[0]["data"];
        let mut client = Self {
            addr,
            sid: data["session"].as_str().unwrap().to_owned(),
            id: data["id"].as_str().unwrap().to_owned(),
            received: resume.map_or(0, |(_, last)| last),
        };
        if data["resumed"] != true {
            client.received = 0;
        }
        client.received += (messages.len() - 1) as u64;
        (client, messages)
    }

    /// One `GET`: status and messages.
    pub async fn get(&mut self) -> (u16, Vec<Value>) {
        let (status, answer) =
            http_json(self.addr, "GET", &format!("/ws/poll?sid={}", self.sid), "").await;
        if status != 200 {
            return (status, vec![answer]);
        }
        let messages = answer.as_array().unwrap().clone();
        self.received += messages.iter().filter(|m| m["event"] != "$pong").count() as u64;
        (status, messages)
    }

    /// `GET` until at least one message arrives.
    pub async fn next(&mut self) -> Vec<Value> {
        loop {
            let (status, messages) = self.get().await;
            assert_eq!(status, 200, "{messages:?}");
            if !messages.is_empty() {
                return messages;
            }
        }
    }

    pub async fn post(&self, body: &str) -> (u16, Value) {
        http_json(
            self.addr,
            "POST",
            &format!("/ws/poll?sid={}", self.sid),
            body,
        )
        .await
    }
}
