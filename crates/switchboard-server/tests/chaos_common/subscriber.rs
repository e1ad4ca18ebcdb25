//! A subscriber over either transport, as the chaos scenarios need it:
//! open (or try to resume) a session, send, and read until the link ends,
//! which is reported (how it ended: [`LinkEnd`]) instead of failing the
//! test.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use switchboard_testkit::{PollClient, WAIT, WsClient};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// How long a WebSocket subscriber tries to send its close reply.
const CLOSE_REPLY: Duration = Duration::from_secs(1);

/// How a link ended, as its client saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkEnd {
    /// WebSocket: a close frame with this code (`1005` when it had none).
    Closed(u16),
    /// Long-polling: the hub answered a request with this status and body.
    Refused(u16, String),
    /// The connection failed or ended without a close frame.
    Broken(String),
}

impl LinkEnd {
    /// The close code, when the link ended with a close frame.
    pub(crate) fn close_code(&self) -> Option<u16> {
        match self {
            LinkEnd::Closed(code) => Some(*code),
            _ => None,
        }
    }
}

impl fmt::Display for LinkEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkEnd::Closed(code) => write!(f, "closed {code}"),
            LinkEnd::Refused(status, body) => write!(f, "answered {status} {body}"),
            LinkEnd::Broken(why) => write!(f, "broken ({why})"),
        }
    }
}

/// One client session over WebSocket or long-polling. The futures are
/// `Send`, so that a subscriber can live in a task of its own.
pub(crate) trait Subscriber: Sized + Send + 'static {
    /// The transport's name, for reports.
    const TRANSPORT: &'static str;

    /// Whether each request is a connection of its own, so that a load
    /// balancer must keep sending the session to one node.
    const NEEDS_STICKY_ROUTING: bool;

    /// Opens a session at `addr`, asking to resume `resume` (a session
    /// token and the count of messages received) when given; returns the
    /// client and the `$welcome`'s data, or why the handshake failed (the
    /// node gone or refusing).
    fn try_open(
        addr: SocketAddr,
        resume: Option<(&str, u64)>,
    ) -> impl Future<Output = Result<(Self, Value), String>> + Send;

    /// [`Subscriber::try_open`] that fails the test when the handshake
    /// fails.
    fn open(
        addr: SocketAddr,
        resume: Option<(&str, u64)>,
    ) -> impl Future<Output = (Self, Value)> + Send {
        async move {
            Self::try_open(addr, resume)
                .await
                .unwrap_or_else(|e| panic!("{} handshake at {addr}: {e}", Self::TRANSPORT))
        }
    }

    /// Sends one message to the hub.
    fn send(&mut self, message: Value) -> impl Future<Output = ()> + Send;

    /// The next messages (at least one); `Err` when the link ended. Over
    /// WebSocket, fails the test when nothing at all arrives for [`WAIT`]
    /// (a long-polling `GET` is held up to the hub's poll timeout, and
    /// asked again after an empty answer).
    fn next(&mut self) -> impl Future<Output = Result<Vec<Value>, LinkEnd>> + Send;

    /// How many counted messages this session received (PROTOCOL.md
    /// section 5), for a resume.
    fn received(&self) -> u64;

    /// Lets [`Subscriber::next`] wait up to `patience` for a message
    /// before it fails the test, instead of [`WAIT`] (a long-polling
    /// subscriber asks again after each empty answer, whatever this says).
    fn with_patience(self, _patience: Duration) -> Self {
        self
    }
}

/// A WebSocket session (the testkit's [`WsClient`]).
pub(crate) struct WsSubscriber {
    client: WsClient,
    received: u64,
    /// How long [`Subscriber::next`] waits for a message.
    patience: Duration,
}

impl WsSubscriber {
    /// [`Subscriber::try_open`] with a `token` query parameter (PROTOCOL.md
    /// section 10) when given.
    pub(crate) async fn try_open_with(
        addr: SocketAddr,
        resume: Option<(&str, u64)>,
        token: Option<&str>,
    ) -> Result<(Self, Value), String> {
        let mut query = Vec::new();
        if let Some((session, last)) = resume {
            query.push(format!("resume={session}&last={last}"));
        }
        if let Some(token) = token {
            query.push(format!("token={token}"));
        }
        let url = if query.is_empty() {
            format!("ws://{addr}/ws")
        } else {
            format!("ws://{addr}/ws?{}", query.join("&"))
        };
        let opened = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(&url)).await;
        let (ws, _) = opened
            .map_err(|_| format!("no WebSocket handshake within {WAIT:?}"))?
            .map_err(|e| format!("WebSocket handshake: {e}"))?;
        let mut client = WsClient::from_stream(ws);
        let first = tokio::time::timeout(WAIT, client.ws.next()).await;
        let welcome: Value = match first {
            Ok(Some(Ok(WsMessage::Text(text)))) => serde_json::from_str(text.as_str())
                .map_err(|e| format!("not JSON ({e}): {text}"))?,
            Ok(other) => return Err(format!("no $welcome, the link gave {other:?}")),
            Err(_) => return Err(format!("no $welcome within {WAIT:?}")),
        };
        if welcome["event"] != "$welcome" {
            return Err(format!("the first message is not $welcome: {welcome}"));
        }
        let data = welcome["data"].clone();
        client.id = data["id"].as_str().unwrap_or_default().to_owned();
        let received = match (&data["resumed"], resume) {
            (Value::Bool(true), Some((_, last))) => last,
            _ => 0,
        };
        Ok((
            Self {
                client,
                received,
                patience: WAIT,
            },
            data,
        ))
    }
}

impl Subscriber for WsSubscriber {
    const TRANSPORT: &'static str = "websocket";
    const NEEDS_STICKY_ROUTING: bool = false;

    async fn try_open(
        addr: SocketAddr,
        resume: Option<(&str, u64)>,
    ) -> Result<(Self, Value), String> {
        Self::try_open_with(addr, resume, None).await
    }

    async fn send(&mut self, message: Value) {
        self.client.send(message).await;
    }

    async fn next(&mut self) -> Result<Vec<Value>, LinkEnd> {
        loop {
            let patience = self.patience;
            let frame = tokio::time::timeout(patience, self.client.ws.next())
                .await
                .unwrap_or_else(|_| panic!("nothing arrived within {patience:?}"));
            match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    if message["event"] != "$pong" {
                        self.received += 1;
                    }
                    return Ok(vec![message]);
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    // Send the close reply tungstenite queued, as a
                    // browser would (best effort, bounded).
                    let reply = tokio::time::timeout(CLOSE_REPLY, self.client.ws.flush()).await;
                    drop(reply);
                    return Err(LinkEnd::Closed(frame.map_or(1005, |f| u16::from(f.code))));
                }
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(LinkEnd::Broken(format!("link error: {error}"))),
                None => return Err(LinkEnd::Broken("the connection ended".to_owned())),
            }
        }
    }

    fn received(&self) -> u64 {
        self.received
    }

    fn with_patience(self, patience: Duration) -> Self {
        Self { patience, ..self }
    }
}

/// A long-polling session (the testkit's [`PollClient`]): one request per
/// connection.
pub(crate) struct PollSubscriber {
    client: PollClient,
    /// Messages the handshake answered after `$welcome`, not read yet.
    early: Vec<Value>,
}

impl Subscriber for PollSubscriber {
    const TRANSPORT: &'static str = "long-polling";
    const NEEDS_STICKY_ROUTING: bool = true;

    async fn try_open(
        addr: SocketAddr,
        resume: Option<(&str, u64)>,
    ) -> Result<(Self, Value), String> {
        let (client, mut messages) = PollClient::try_open(addr, resume).await?;
        let welcome = messages.remove(0);
        let data = welcome["data"].clone();
        Ok((
            Self {
                client,
                early: messages,
            },
            data,
        ))
    }

    async fn send(&mut self, message: Value) {
        let (status, answer) = self.client.post(&message.to_string()).await;
        assert_eq!(status, 204, "POST {message}: {answer}");
    }

    async fn next(&mut self) -> Result<Vec<Value>, LinkEnd> {
        if !self.early.is_empty() {
            return Ok(std::mem::take(&mut self.early));
        }
        loop {
            match self.client.try_get().await {
                Ok((200, messages)) if messages.is_empty() => {}
                Ok((200, messages)) => return Ok(messages),
                Ok((status, answer)) => {
                    let body = answer.first().map_or(String::new(), Value::to_string);
                    return Err(LinkEnd::Refused(status, body));
                }
                Err(error) => return Err(LinkEnd::Broken(format!("GET failed: {error}"))),
            }
        }
    }

    fn received(&self) -> u64 {
        self.client.received
    }
}
