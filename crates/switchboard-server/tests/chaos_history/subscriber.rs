//! A subscriber over either transport, as the node-kill scenario needs
//! it: open (or try to resume) a session, send, and read until the link
//! dies, which is reported instead of failing the test.

use std::net::SocketAddr;

use futures_util::StreamExt;
use serde_json::Value;
use switchboard_testkit::{PollClient, WAIT, WsClient};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// One client session over WebSocket or long-polling.
pub(crate) trait Subscriber: Sized {
    /// The transport's name, for reports.
    const TRANSPORT: &'static str;

    /// Whether each request is a connection of its own, so that a load
    /// balancer must keep sending the session to one node.
    const NEEDS_STICKY_ROUTING: bool;

    /// Opens a session at `addr`, asking to resume `resume` (a session
    /// token and the count of messages received) when given; returns the
    /// client and the `$welcome`'s data.
    async fn open(addr: SocketAddr, resume: Option<(&str, u64)>) -> (Self, Value);

    /// Sends one message to the hub.
    async fn send(&mut self, message: Value);

    /// The next messages (at least one); `Err` when the link died.
    async fn next(&mut self) -> Result<Vec<Value>, String>;

    /// How many counted messages this session received (PROTOCOL.md
    /// section 5), for a resume.
    fn received(&self) -> u64;
}

/// A WebSocket session (the testkit's [`WsClient`]).
pub(crate) struct WsSubscriber {
    client: WsClient,
    received: u64,
}

impl Subscriber for WsSubscriber {
    const TRANSPORT: &'static str = "websocket";
    const NEEDS_STICKY_ROUTING: bool = false;

    async fn open(addr: SocketAddr, resume: Option<(&str, u64)>) -> (Self, Value) {
        let path = match resume {
            Some((token, last)) => format!("/ws?resume={token}&last={last}"),
            None => "/ws".to_owned(),
        };
        let mut client = WsClient::open(&format!("ws://{addr}{path}")).await;
        let welcome = client.recv().await;
        assert_eq!(welcome["event"], "$welcome", "first message: {welcome}");
        let data = welcome["data"].clone();
        let received = if data["resumed"] == true {
            resume.map_or(0, |(_, last)| last)
        } else {
            0
        };
        (Self { client, received }, data)
    }

    async fn send(&mut self, message: Value) {
        self.client.send(message).await;
    }

    async fn next(&mut self) -> Result<Vec<Value>, String> {
        loop {
            let frame = tokio::time::timeout(WAIT, self.client.ws.next())
                .await
                .unwrap_or_else(|_| panic!("nothing arrived within {WAIT:?}"));
            match frame {
                Some(Ok(WsMessage::Text(text))) => {
                    let message: Value = serde_json::from_str(text.as_str()).expect("JSON");
                    if message["event"] != "$pong" {
                        self.received += 1;
                    }
                    return Ok(vec![message]);
                }
                Some(Ok(WsMessage::Close(frame))) => return Err(format!("closed: {frame:?}")),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(format!("link error: {error}")),
                None => return Err("the connection ended".to_owned()),
            }
        }
    }

    fn received(&self) -> u64 {
        self.received
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

    async fn open(addr: SocketAddr, resume: Option<(&str, u64)>) -> (Self, Value) {
        let (client, mut messages) = PollClient::open(addr, resume).await;
        let welcome = messages.remove(0);
        let data = welcome["data"].clone();
        (
            Self {
                client,
                early: messages,
            },
            data,
        )
    }

    async fn send(&mut self, message: Value) {
        let (status, answer) = self.client.post(&message.to_string()).await;
        assert_eq!(status, 204, "POST {message}: {answer}");
    }

    async fn next(&mut self) -> Result<Vec<Value>, String> {
        if !self.early.is_empty() {
            return Ok(std::mem::take(&mut self.early));
        }
        loop {
            match self.client.try_get().await {
                Ok((200, messages)) if messages.is_empty() => {}
                Ok((200, messages)) => return Ok(messages),
                Ok((status, answer)) => return Err(format!("GET answered {status}: {answer:?}")),
                Err(error) => return Err(format!("GET failed: {error}")),
            }
        }
    }

    fn received(&self) -> u64 {
        self.client.received
    }
}
