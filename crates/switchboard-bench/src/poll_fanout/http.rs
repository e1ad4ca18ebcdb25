//! One long-polling session over one keep-alive HTTP/1.1 connection
//! (hyper's low-level client): open, post, held GETs, delete
//! (PROTOCOL.md section 6).

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::{Error, Result};

/// A long-polling session.
#[derive(Debug)]
pub struct PollSession {
    sender: SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    authority: String,
    /// `P/poll?sid=<session>`.
    session_path: String,
}

impl PollSession {
    /// Connects to `addr` and opens a session with `POST {poll_path}`
    /// (with `?token=…` when given: it must be URL-safe, as a JSON Web
    /// Token is); returns it with the handshake's answer (`[$welcome, …]`).
    pub async fn open(
        addr: SocketAddr,
        authority: &str,
        poll_path: &str,
        token: Option<&str>,
    ) -> Result<(Self, Bytes)> {
        let mut session = Self {
            sender: connect(addr).await?,
            addr,
            authority: authority.to_owned(),
            session_path: String::new(),
        };
        let open_path = match token {
            Some(token) => format!("{poll_path}?token={token}"),
            None => poll_path.to_owned(),
        };
        let (status, body) = session
            .request(Method::POST, &open_path, Bytes::new())
            .await?;
        if status != 200 {
            return Err(Error::Refused(status));
        }
        let token = session_token(&body).ok_or_else(|| {
            Error::Protocol(format!(
                "no session in the handshake answer: {}",
                String::from_utf8_lossy(&body)
            ))
        })?;
        session.session_path = format!("{poll_path}?sid={token}");
        Ok((session, body))
    }

    async fn request(&mut self, method: Method, path: &str, body: Bytes) -> Result<(u16, Bytes)> {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|e| Error::Protocol(e.to_string()))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// `POST P/poll?sid=…` with `body` (a message or an array); the status.
    pub async fn post(&mut self, body: Bytes) -> Result<u16> {
        let path = self.session_path.clone();
        Ok(self.request(Method::POST, &path, body).await?.0)
    }

    /// A held `GET P/poll?sid=…`: the status and the body (a JSON array).
    pub async fn get(&mut self) -> Result<(u16, Bytes)> {
        let path = self.session_path.clone();
        self.request(Method::GET, &path, Bytes::new()).await
    }

    /// `DELETE P/poll?sid=…` on a connection of its own (the session's
    /// may still be holding a GET): ends the session; the status.
    pub async fn delete(&mut self) -> Result<u16> {
        self.sender = connect(self.addr).await?;
        let path = self.session_path.clone();
        Ok(self.request(Method::DELETE, &path, Bytes::new()).await?.0)
    }
}

/// A keep-alive HTTP/1.1 connection to `addr`, driven by a task of its own.
async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "a long-polling connection failed");
        }
    });
    Ok(sender)
}

/// The `session` token of a `$welcome` in a handshake answer.
pub fn session_token(body: &[u8]) -> Option<&str> {
    let key = b"\"session\":\"";
    let start = memchr::memmem::find(body, key)? + key.len();
    let len = memchr::memchr(b'"', &body[start..])?;
    let token = std::str::from_utf8(&body[start..start + len]).ok()?;
    // URL-safe characters only (PROTOCOL.md section 3): usable in a query.
    token
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_session_token() {
        let body = br#"[{"event":"$welcome","data":{"id":"a1","session":"Ab_9-x","ping_interval_ms":25000}}]"#;
        assert_eq!(session_token(body), Some("Ab_9-x"));
        assert_eq!(
            session_token(br#"[{"event":"$welcome","data":{"session":"a b"}}]"#),
            None
        );
        assert_eq!(session_token(b"[]"), None);
    }
}
