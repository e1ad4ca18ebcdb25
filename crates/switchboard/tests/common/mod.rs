//! Test support: a hub on 127.0.0.1:0 and a long-polling client; the
//! WebSocket clients, HTTP and waits come from `switchboard-testkit`.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::net::SocketAddr;

use serde_json::{Value, json};
use switchboard::{Hub, HubBuilder};
pub use switchboard_testkit::{
    Ended, RawWsClient, WAIT, WsClient, eventually, http, http_json, within,
};
use tokio::net::TcpListener;

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

    pub async fn client(&self) -> WsClient {
        WsClient::open(&self.url()).await
    }

    /// Connects and reads `$welcome`; returns the client and its socket id.
    pub async fn joined_client(&self) -> (WsClient, String) {
        let mut client = self.client().await;
        let welcome = client.recv().await;
        assert_eq!(welcome["event"], "$welcome", "first message: {welcome}");
        let id = welcome["data"]["id"].as_str().unwrap().to_owned();
        (client, id)
    }
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
