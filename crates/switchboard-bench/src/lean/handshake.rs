//! The client side of the WebSocket opening handshake (RFC 6455 section
//! 4): the target's URL, the upgrade request, and the hub's answer.

use crate::error::{Error, Result};

/// A fixed `Sec-WebSocket-Key`. The key only proves to the client that the
/// server speaks WebSocket; a load generator trusts its target, and a fixed
/// key costs nothing per handshake.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// A `ws://host:port/path` URL, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// Host name or address, as written.
    pub host: String,
    /// Port (80 when not written).
    pub port: u16,
    /// Path and query, at least `/`.
    pub path: String,
}

impl WsUrl {
    /// Splits `url`; only `ws://` is supported (no TLS).
    pub fn parse(url: &str) -> Result<Self> {
        let bad = |why: &str| Error::Usage(format!("bad hub URL `{url}`: {why}"));
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| bad("only ws:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse().map_err(|_| bad("bad port"))?)
            }
            _ => (authority, 80),
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// The same URL with `name=value` added to its query. `value` is
    /// written as it is: it must be URL-safe (a JSON Web Token is:
    /// base64url and dots).
    pub fn with_query_param(&self, name: &str, value: &str) -> Self {
        let separator = if self.path.contains('?') { '&' } else { '?' };
        Self {
            path: format!("{}{separator}{name}={value}", self.path),
            ..self.clone()
        }
    }

    /// `host:port`, as a `Host` header and for resolving.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The long-polling endpoint of the same hub: the path with `/poll`
    /// appended (PROTOCOL.md section 1), without the query.
    pub fn poll_path(&self) -> String {
        let path = self.path.split('?').next().unwrap_or("/");
        format!("{}/poll", path.trim_end_matches('/'))
    }

    /// Resolves the host to its first socket address.
    pub async fn resolve(&self) -> Result<std::net::SocketAddr> {
        tokio::net::lookup_host(self.authority())
            .await?
            .next()
            .ok_or_else(|| Error::Usage(format!("cannot resolve {}", self.host)))
    }
}

/// The upgrade request for `url`.
pub fn upgrade_request(url: &WsUrl) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        url.path,
        url.authority()
    )
    .into_bytes()
}

/// What [`parse_response`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// The head is not complete yet.
    Incomplete,
    /// `101 Switching Protocols`; frames start after `head_len` bytes.
    Upgraded {
        /// Bytes of the response head, blank line included.
        head_len: usize,
    },
    /// Any other status (e.g. 503 at the connection limit).
    Refused {
        /// The HTTP status code (0 if unreadable).
        status: u16,
    },
}

/// Reads the hub's answer to the upgrade request from the start of `buf`.
pub fn parse_response(buf: &[u8]) -> Response {
    let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
        return Response::Incomplete;
    };
    // "HTTP/1.1 101 Switching Protocols"
    let status = buf
        .get(9..12)
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    if status == 101 && buf.starts_with(b"HTTP/1.1 ") {
        Response::Upgraded { head_len: end + 4 }
    } else {
        Response::Refused { status }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls() {
        let url = WsUrl::parse("ws://127.0.0.1:8080/ws").unwrap();
        assert_eq!(
            (url.host.as_str(), url.port, url.path.as_str()),
            ("127.0.0.1", 8080, "/ws")
        );
        assert_eq!(url.poll_path(), "/ws/poll");
        let root = WsUrl::parse("ws://localhost:9/").unwrap();
        assert_eq!(root.poll_path(), "/poll");
        assert_eq!(WsUrl::parse("ws://h").unwrap().path, "/");
        assert_eq!(WsUrl::parse("ws://h").unwrap().port, 80);
        assert_eq!(
            WsUrl::parse("ws://h:1/p?codec=json").unwrap().poll_path(),
            "/p/poll"
        );
        assert!(WsUrl::parse("http://h/").is_err());
        assert!(WsUrl::parse("ws://:1/").is_err());
        assert!(WsUrl::parse("ws://h:x/").is_err());
    }

    #[test]
    fn adds_query_parameters() {
        let url = WsUrl::parse("ws://h:1/ws").unwrap();
        let one = url.with_query_param("token", "a.b-c_d");
        assert_eq!(one.path, "/ws?token=a.b-c_d");
        assert_eq!(one.with_query_param("x", "1").path, "/ws?token=a.b-c_d&x=1");
        assert_eq!(one.poll_path(), "/ws/poll");
        assert_eq!((one.host.as_str(), one.port), ("h", 1));
    }

    #[test]
    fn request_is_a_complete_head() {
        let url = WsUrl::parse("ws://127.0.0.1:8080/ws").unwrap();
        let request = String::from_utf8(upgrade_request(&url)).unwrap();
        assert!(request.starts_with("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(request.ends_with("\r\n\r\n"));
    }

    #[test]
    fn reads_the_answer() {
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02{}";
        assert_eq!(
            parse_response(ok),
            Response::Upgraded {
                head_len: ok.len() - 4
            }
        );
        assert_eq!(parse_response(&ok[..20]), Response::Incomplete);
        assert_eq!(
            parse_response(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"),
            Response::Refused { status: 503 }
        );
    }
}
