//! A small HTTP/1.1 client written by hand (one request per connection,
//! `Connection: close`), for answers a library client would hide: exact
//! statuses, headers, refused upgrades.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::wait::within;

/// How long one exchange may take: long enough for a long poll to be held
/// and answered.
const EXCHANGE_WAIT: Duration = Duration::from_secs(60);

/// A parsed HTTP response (a chunked body is already de-chunked).
#[derive(Debug)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; fails the test if it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    /// Asserts an API error answer: status and `error.code`; returns the
    /// message.
    pub fn api_error(&self, status: u16, code: &str) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["error"]["code"], code, "{body}");
        body["error"]["message"]
            .as_str()
            .expect("error.message is a string")
            .to_owned()
    }
}

/// One HTTP/1.1 request on a new connection (`Connection: close`).
/// Fails the test if the exchange fails (see [`try_http`]).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    try_http(addr, method, path, headers, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// [`http()`] that returns a failed exchange (the connection refused, reset,
/// or ended before a whole answer: a link cut under a request) instead of
/// failing the test; an answer that does not come within a minute still
/// fails it.
pub async fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await?;
        stream.write_all(body).await?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await?;
        complete_response(&raw)
    };
    tokio::time::timeout(EXCHANGE_WAIT, exchange)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {method} {path}"))
}

/// `raw` as a response, or `UnexpectedEof` when it is cut short: no end
/// of the head, or fewer body bytes than its `Content-Length`.
fn complete_response(raw: &[u8]) -> std::io::Result<HttpResponse> {
    let cut = || {
        std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("the answer was cut short after {} bytes", raw.len()),
        )
    };
    if !raw.windows(4).any(|w| w == b"\r\n\r\n") {
        return Err(cut());
    }
    let response = parse_response(raw);
    let expected = response
        .header("content-length")
        .and_then(|length| length.parse::<usize>().ok());
    if expected.is_some_and(|length| response.body.len() < length) {
        return Err(cut());
    }
    Ok(response)
}

/// `GET path` with no headers.
pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    http(addr, "GET", path, &[], b"").await
}

/// An exchange whose request body (if any) is JSON: returns the status and
/// the answer as JSON (`null` for an empty body).
pub async fn http_json(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    try_http_json(addr, method, path, body)
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// [`http_json`] that returns a failed exchange (see [`try_http`]).
pub async fn try_http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, Value)> {
    let response = try_http(
        addr,
        method,
        path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await?;
    let value = if response.body.is_empty() {
        Value::Null
    } else {
        response.json()
    };
    Ok((response.status, value))
}

/// A WebSocket upgrade request written by hand; returns the status, the
/// response's headers and the stream (positioned after the head).
pub async fn raw_handshake(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Vec<(String, String)>, TcpStream) {
    within("a raw handshake", async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.expect("read");
            assert!(n == 1, "connection closed in the response head");
            head.push(byte[0]);
        }
        let response = parse_response(&head);
        (response.status, response.headers, stream)
    })
    .await
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = std::str::from_utf8(&raw[..split]).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .expect("hex chunk size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}
