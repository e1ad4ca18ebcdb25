//! The long-polling link (PROTOCOL.md section 6) over plain HTTP/1.1
//! requests (`Connection: close`, one TCP or TLS connection each).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use switchboard_protocol::{CloseCode, Codec, Message, Welcome, reserved};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::ClientConfig;

use crate::dial::DialError;
use crate::dial::stream::open;
use crate::dial::url::WsUrl;

/// Wait before retrying a `GET` answered `409 poll_in_progress`.
const CONFLICT_RETRY: Duration = Duration::from_millis(200);

/// What the `GET` loop hands to the connection task.
pub(crate) enum PollItem {
    /// A `200` body: a JSON array of messages (possibly empty).
    Frame(Bytes),
    /// The session ended on the hub's side (`410`, `409` taken over), or
    /// its token expired (`401`, standing for `4003`): the close code.
    Closed { code: u16, reason: String },
    /// The link is gone without an end of session (`404`, network error).
    Lost(String),
}

/// One HTTP exchange: status and body.
async fn http(
    url: &WsUrl,
    tls: &Arc<ClientConfig>,
    method: &str,
    target: &str,
    body: &[u8],
    limit: usize,
) -> Result<(u16, Bytes), DialError> {
    let mut io = open(url, tls).await?;
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        url.host_header(),
        body.len()
    );
    io.write_all(head.as_bytes()).await?;
    io.write_all(body).await?;
    io.flush().await?;
    let mut response = Vec::new();
    (&mut io)
        .take(limit as u64 + 16 * 1024)
        .read_to_end(&mut response)
        .await?;
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| DialError::Handshake("no end of HTTP headers".into()))?;
    let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| DialError::Handshake("bad HTTP status line".into()))?;
    let mut body = response[end + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        body = dechunk(&body)?;
    }
    Ok((status, Bytes::from(body)))
}

/// Decodes a chunked body.
fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, DialError> {
    let bad = || DialError::Handshake("bad chunked body".into());
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size = std::str::from_utf8(&data[..line_end]).map_err(|_| bad())?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| bad())?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            return Err(bad());
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The `error.code` of an error body.
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The close code a `410` error code stands for (`1011` internal for a
/// code the protocol does not name).
fn gone_code(code: &str) -> u16 {
    CloseCode::from_poll_gone_code(code)
        .unwrap_or(CloseCode::Internal)
        .as_u16()
}

/// A long-polling session's link: one `GET` held at a time by a task,
/// `POST`s from the connection task.
pub(crate) struct PollLink {
    url: Arc<WsUrl>,
    tls: Arc<ClientConfig>,
    sid: String,
    limit: usize,
    items: mpsc::Receiver<PollItem>,
    getter: JoinHandle<()>,
}

impl Drop for PollLink {
    fn drop(&mut self) {
        self.getter.abort();
    }
}

/// The poll path of a hub URL: `P/poll`.
fn poll_path(url: &WsUrl) -> WsUrl {
    let mut poll = url.clone();
    poll.path = format!("{}/poll", url.path.trim_end_matches('/'));
    poll.query.clear();
    poll
}

impl PollLink {
    /// `POST P/poll`: opens or resumes a session. Returns the link, the
    /// welcome, and the whole answer (to be handled as the first frame).
    pub(crate) async fn open(
        url: &WsUrl,
        tls: &Arc<ClientConfig>,
        token: Option<&str>,
        resume: Option<(&str, u64)>,
        limit: usize,
    ) -> Result<(Self, Welcome, Bytes), DialError> {
        let poll = poll_path(url);
        let mut extra = Vec::new();
        if let Some(token) = token {
            extra.push(("token", token));
        }
        let target = poll.target(&extra);
        let body = match resume {
            Some((token, last)) => serde_json::json!({ "resume": token, "last": last }).to_string(),
            None => String::new(),
        };
        let (status, answer) = http(&poll, tls, "POST", &target, body.as_bytes(), limit).await?;
        if status != 200 {
            let body = String::from_utf8_lossy(&answer[..answer.len().min(1024)]).into_owned();
            return Err(DialError::Refused { status, body });
        }
        let welcome = Codec::Json
            .decode(&answer)
            .ok()
            .and_then(|v| v.into_iter().next())
            .and_then(Result::ok)
            .filter(|m: &Message| m.event.as_deref() == Some(reserved::WELCOME))
            .and_then(|m| serde_json::from_value::<Welcome>(m.data?).ok())
            .ok_or_else(|| DialError::Handshake("the poll answer has no $welcome".into()))?;
        let (tx, items) = mpsc::channel(16);
        let url = Arc::new(poll);
        let getter = tokio::spawn(get_loop(
            url.clone(),
            tls.clone(),
            welcome.session.clone(),
            limit,
            tx,
        ));
        let link = Self {
            url,
            tls: tls.clone(),
            sid: welcome.session.clone(),
            limit,
            items,
            getter,
        };
        Ok((link, welcome, answer))
    }

    fn sid_target(&self) -> String {
        self.url.target(&[("sid", &self.sid)])
    }

    /// The next answer of the `GET` loop.
    pub(crate) async fn next(&mut self) -> PollItem {
        self.items
            .recv()
            .await
            .unwrap_or_else(|| PollItem::Lost("the poll loop ended".into()))
    }

    /// `POST`s messages (one object, or an array). An error says whether
    /// the hub answered without taking them (`true`: they may be sent
    /// again on the next link) or whether that is unknown.
    pub(crate) async fn send(&mut self, messages: &[Message]) -> Result<(), (PollItem, bool)> {
        let body = match messages {
            [one] => Codec::Json.encode(one),
            many => Codec::Json.encode_batch(many),
        };
        let target = self.sid_target();
        match http(&self.url, &self.tls, "POST", &target, &body, self.limit).await {
            Ok((200 | 204, _)) => Ok(()),
            Ok((400 | 413, answer)) => {
                tracing::warn!(body = %String::from_utf8_lossy(&answer), "a long-polling POST was refused");
                Ok(())
            }
            Ok((status, answer)) => Err((ended(status, &answer), true)),
            Err(e) => Err((
                PollItem::Lost(format!("long-polling POST failed: {e}")),
                false,
            )),
        }
    }

    /// `DELETE`: ends the session.
    pub(crate) async fn close(&mut self) {
        self.getter.abort();
        let target = self.sid_target();
        let delete = http(&self.url, &self.tls, "DELETE", &target, b"", self.limit);
        let _ = tokio::time::timeout(Duration::from_secs(2), delete).await;
    }
}

/// `DELETE P/poll?sid=`: ends a session that waits for a resume (bounded
/// to 2 s; the answer does not matter).
pub(crate) async fn delete_session(url: &WsUrl, tls: &Arc<ClientConfig>, sid: &str) {
    let poll = poll_path(url);
    let target = poll.target(&[("sid", sid)]);
    let delete = http(&poll, tls, "DELETE", &target, b"", 1024);
    match tokio::time::timeout(Duration::from_secs(2), delete).await {
        Ok(Ok((status, _))) => tracing::debug!(status, "session deleted"),
        Ok(Err(error)) => tracing::debug!(%error, "could not delete the session"),
        Err(_) => tracing::debug!("deleting the session timed out"),
    }
}

/// What a non-200 answer means for the link.
fn ended(status: u16, body: &[u8]) -> PollItem {
    let code = error_code(body);
    match status {
        410 => PollItem::Closed {
            code: gone_code(&code),
            reason: code,
        },
        409 if code == "session_taken_over" => PollItem::Closed {
            code: CloseCode::SessionTakenOver.as_u16(),
            reason: code,
        },
        // The token expired unrefreshed: the session waits for a resume
        // with a fresh token (docs/protocol-additions.md, section 10).
        401 => PollItem::Closed {
            code: CloseCode::TokenExpired.as_u16(),
            reason: code,
        },
        // A clustered node drains: the session waits for a resume on
        // another node, as after a WebSocket's `1012` (section 11).
        503 if code == "unavailable" => PollItem::Closed {
            code: CloseCode::ServiceRestart.as_u16(),
            reason: code,
        },
        404 => PollItem::Lost("session not found (404)".into()),
        other => PollItem::Lost(format!("long-polling answered {other} {code}")),
    }
}

/// Holds one `GET` at a time, forwarding every `200` body.
async fn get_loop(
    url: Arc<WsUrl>,
    tls: Arc<ClientConfig>,
    sid: String,
    limit: usize,
    tx: mpsc::Sender<PollItem>,
) {
    let target = url.target(&[("sid", &sid)]);
    loop {
        let item = match http(&url, &tls, "GET", &target, b"", limit).await {
            Ok((200, body)) => PollItem::Frame(body),
            Ok((409, body)) if error_code(&body) != "session_taken_over" => {
                tokio::time::sleep(CONFLICT_RETRY).await;
                continue;
            }
            Ok((status, body)) => ended(status, &body),
            Err(e) => PollItem::Lost(format!("long-polling GET failed: {e}")),
        };
        let last = !matches!(item, PollItem::Frame(_));
        if tx.send(item).await.is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n").unwrap(),
            b"abcde"
        );
        assert!(dechunk(b"zz\r\n").is_err());
    }

    #[test]
    fn poll_path_appends_poll() {
        let url = WsUrl::parse("ws://h:1/ws/?x=1").unwrap();
        assert_eq!(poll_path(&url).target(&[("sid", "s")]), "/ws/poll?sid=s");
    }
}
