//! A lean JSON WebSocket client (tokio-tungstenite) for load generators:
//! connects, reads its `$welcome`, joins rooms, and hands back raw text
//! frames so a workload parses only what it needs. Unlike [`WsClient`]
//! (whose every step asserts and bounds its wait), it returns its
//! failures and never times out: a measurement reports them as results.
//!
//! [`WsClient`]: crate::WsClient

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, Utf8Bytes};

use crate::ws_client::WsStream;

/// Why a [`TextWsClient`] step failed.
#[derive(Debug)]
pub enum TextWsError {
    /// The WebSocket layer failed.
    WebSocket(tungstenite::Error),
    /// The hub answered something the protocol does not allow here.
    Protocol(String),
}

impl std::fmt::Display for TextWsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::WebSocket(e) => write!(f, "websocket: {e}"),
            Self::Protocol(what) => write!(f, "protocol: {what}"),
        }
    }
}

impl std::error::Error for TextWsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::WebSocket(e) => Some(e),
            Self::Protocol(_) => None,
        }
    }
}

impl From<tungstenite::Error> for TextWsError {
    fn from(e: tungstenite::Error) -> Self {
        Self::WebSocket(e)
    }
}

/// A connected client that has read its `$welcome`.
pub struct TextWsClient {
    ws: WsStream,
    id: String,
    next_ack: u64,
}

impl std::fmt::Debug for TextWsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextWsClient")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl TextWsClient {
    /// Connects to `url` (e.g. `ws://127.0.0.1:1234/`) and reads `$welcome`.
    pub async fn connect(url: &str) -> Result<Self, TextWsError> {
        // Nagle's algorithm off: a client's small frames go out at once.
        let (ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
        let mut client = Self {
            ws,
            id: String::new(),
            next_ack: 1,
        };
        let welcome = client.next_json().await?;
        if welcome["event"] != "$welcome" {
            return Err(TextWsError::Protocol(format!(
                "first message is not $welcome: {welcome}"
            )));
        }
        client.id = welcome["data"]["id"]
            .as_str()
            .ok_or_else(|| TextWsError::Protocol(format!("$welcome without an id: {welcome}")))?
            .to_owned();
        Ok(client)
    }

    /// The socket id the hub gave this client.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Joins `room` and waits for the hub's reply.
    pub async fn join(&mut self, room: &str) -> Result<(), TextWsError> {
        let ack = self.next_ack;
        self.next_ack += 1;
        let request = json!({"event": "$join", "data": {"room": room}, "ack": ack});
        self.ws
            .send(Message::Text(request.to_string().into()))
            .await?;
        let reply = self.next_json().await?;
        if reply["reply"] != ack || reply.get("error").is_some() {
            return Err(TextWsError::Protocol(format!(
                "join {room} refused: {reply}"
            )));
        }
        Ok(())
    }

    /// The next text frame; `None` once the connection has ended. Control
    /// frames are skipped (tungstenite answers pings by itself).
    pub async fn next_text(&mut self) -> Result<Option<Utf8Bytes>, TextWsError> {
        while let Some(frame) = self.ws.next().await {
            match frame? {
                Message::Text(text) => return Ok(Some(text)),
                Message::Close(_) => return Ok(None),
                _ => continue,
            }
        }
        Ok(None)
    }

    async fn next_json(&mut self) -> Result<Value, TextWsError> {
        let text = self
            .next_text()
            .await?
            .ok_or_else(|| TextWsError::Protocol("the hub closed the connection".into()))?;
        serde_json::from_str(&text)
            .map_err(|e| TextWsError::Protocol(format!("not a JSON message ({e}): {text}")))
    }

    /// Closes the connection politely (best effort).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
