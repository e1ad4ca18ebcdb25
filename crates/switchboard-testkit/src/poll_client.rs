//! The test suites' long-polling client (PROTOCOL.md section 6), over the
//! hand-written HTTP/1.1 client of [`crate::http_json`]: one request per
//! connection, exact statuses.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::http::{http_json, try_http_json};

/// Where a hub routed at `/ws` serves long-polling.
pub const POLL_PATH: &str = "/ws/poll";

/// A long-polling session. Every request fails the test if the server
/// does not answer in time.
#[derive(Debug)]
pub struct PollClient {
    /// The hub's address.
    pub addr: SocketAddr,
    /// The session id (`sid`) from `$welcome`.
    pub sid: String,
    /// The socket id from `$welcome`.
    pub id: String,
    /// Counted messages received (for resume).
    pub received: u64,
    /// The long-polling endpoint's path.
    path: String,
}

impl PollClient {
    /// Opens (or resumes) a session at [`POLL_PATH`]; returns the client
    /// and the handshake answer (`$welcome` first).
    pub async fn open(addr: SocketAddr, resume: Option<(&str, u64)>) -> (Self, Vec<Value>) {
        Self::open_at(addr, POLL_PATH, resume).await
    }

    /// [`PollClient::open`] with the long-polling endpoint at `path`.
    pub async fn open_at(
        addr: SocketAddr,
        path: &str,
        resume: Option<(&str, u64)>,
    ) -> (Self, Vec<Value>) {
        Self::try_open_at(addr, path, resume)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`PollClient::open`] that returns a failed exchange or a refusal
    /// (the node gone, or shutting down) instead of failing the test.
    pub async fn try_open(
        addr: SocketAddr,
        resume: Option<(&str, u64)>,
    ) -> Result<(Self, Vec<Value>), String> {
        Self::try_open_at(addr, POLL_PATH, resume).await
    }

    /// [`PollClient::try_open`] with the long-polling endpoint at `path`.
    pub async fn try_open_at(
        addr: SocketAddr,
        path: &str,
        resume: Option<(&str, u64)>,
    ) -> Result<(Self, Vec<Value>), String> {
        let body = match resume {
            Some((token, last)) => json!({"resume": token, "last": last}).to_string(),
            None => String::new(),
        };
        let (status, answer) = try_http_json(addr, "POST", path, &body)
            .await
            .map_err(|e| format!("POST {path}: {e}"))?;
        if status != 200 {
            return Err(format!("POST {path} answered {status}: {answer}"));
        }
        let messages = answer.as_array().expect("a JSON array").clone();
        assert_eq!(messages[0]["event"], "$welcome", "{answer}");
        let data = &messages[0]["data"];
        let mut client = Self {
            addr,
            sid: data["session"].as_str().unwrap().to_owned(),
            id: data["id"].as_str().unwrap().to_owned(),
            received: resume.map_or(0, |(_, last)| last),
            path: path.to_owned(),
        };
        if data["resumed"] != true {
            client.received = 0;
        }
        client.received += (messages.len() - 1) as u64;
        Ok((client, messages))
    }

    /// One `GET`: status and messages (a refusal's body as the one
    /// message).
    pub async fn get(&mut self) -> (u16, Vec<Value>) {
        let path = self.session_path();
        self.try_get()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// [`PollClient::get`] that returns a failed exchange (the link cut
    /// under the held request, the node gone) instead of failing the test.
    pub async fn try_get(&mut self) -> std::io::Result<(u16, Vec<Value>)> {
        let (status, answer) = try_http_json(self.addr, "GET", &self.session_path(), "").await?;
        if status != 200 {
            return Ok((status, vec![answer]));
        }
        let messages = answer.as_array().unwrap().clone();
        self.received += messages.iter().filter(|m| m["event"] != "$pong").count() as u64;
        Ok((status, messages))
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

    /// One `POST` of `body` (messages for the hub): status and answer.
    pub async fn post(&self, body: &str) -> (u16, Value) {
        http_json(self.addr, "POST", &self.session_path(), body).await
    }

    /// The endpoint with this session's `sid`.
    fn session_path(&self) -> String {
        format!("{}?sid={}", self.path, self.sid)
    }
}
