//! The HTTP/1.1 upgrade, written and checked by hand: the request, the
//! `101` answer (`Upgrade`, `Connection`, `Sec-WebSocket-Accept`), the
//! permessage-deflate answer, and the body of a refusal.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use sockudo_ws::deflate::{DeflateConfig, parse_deflate_offer};
use sockudo_ws::handshake::{generate_key, validate_accept_key};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::error::DialError;
use super::stream::BoxIo;
use super::url::WsUrl;

/// The largest upgrade response head read.
const MAX_HEAD: usize = 16 * 1024;
/// The largest body of a refused handshake kept for the report.
const MAX_REFUSAL_BODY: usize = 1024;

/// What the server's `101` answer left for the codec.
pub(crate) struct Upgraded {
    /// Bytes the server sent after its answer's head.
    pub(crate) leftover: Option<Bytes>,
    /// permessage-deflate, when offered and accepted.
    pub(crate) deflate: Option<DeflateConfig>,
}

/// Writes the upgrade request for `target` (path and query) and checks the
/// answer. `compression` offers permessage-deflate.
pub(crate) async fn upgrade(
    io: &mut BoxIo,
    url: &WsUrl,
    target: &str,
    headers: &[(String, String)],
    compression: bool,
) -> Result<Upgraded, DialError> {
    let key = generate_key();
    let request = request(url, target, &key, headers, compression)?;
    io.write_all(request.as_bytes()).await?;
    io.flush().await?;

    let mut buf = BytesMut::with_capacity(1024);
    let head_len = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(DialError::Handshake("response head too large".into()));
        }
        if io.read_buf(&mut buf).await? == 0 {
            return Err(DialError::Handshake(
                "connection closed during the upgrade".into(),
            ));
        }
    };
    let status = status_of(&buf[..head_len])?;
    if status != 101 {
        let body = refusal_body(io, &buf, head_len).await;
        return Err(DialError::Refused { status, body });
    }
    let extensions = check_response(&buf[..head_len], &key)?;
    let deflate = match extensions {
        None => None,
        Some(ext) if compression => {
            let params = parse_deflate_offer(ext)
                .ok_or_else(|| DialError::Handshake(format!("unexpected extension {ext:?}")))?;
            Some(
                DeflateConfig::from_params(&params)
                    .map_err(|e| DialError::Handshake(e.to_string()))?,
            )
        }
        Some(ext) => {
            return Err(DialError::Handshake(format!(
                "unrequested extension {ext:?}"
            )));
        }
    };
    let leftover = (buf.len() > head_len).then(|| Bytes::copy_from_slice(&buf[head_len..]));
    Ok(Upgraded { leftover, deflate })
}

/// The upgrade request's head.
fn request(
    url: &WsUrl,
    target: &str,
    key: &str,
    headers: &[(String, String)],
    compression: bool,
) -> Result<String, DialError> {
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
        url.host_header()
    );
    if compression {
        request
            .push_str("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    }
    for (name, value) in headers {
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            return Err(DialError::InvalidHeader(name.clone()));
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    Ok(request)
}

/// The status code of an HTTP/1.x response head.
fn status_of(head: &[u8]) -> Result<u16, DialError> {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let line =
        std::str::from_utf8(line).map_err(|_| DialError::Handshake("bad status line".into()))?;
    let mut parts = line.split(' ');
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(v), Some(Ok(status))) if v.starts_with("HTTP/1.") => Ok(status),
        _ => Err(DialError::Handshake(format!("bad status line {line:?}"))),
    }
}

/// Checks a complete upgrade response head: status 101, `Upgrade:
/// websocket`, `Connection: upgrade` and the `Sec-WebSocket-Accept` for
/// `key`. Returns the `Sec-WebSocket-Extensions` value, if any.
pub(crate) fn check_response<'h>(head: &'h [u8], key: &str) -> Result<Option<&'h str>, DialError> {
    let text = std::str::from_utf8(head)
        .map_err(|_| DialError::Handshake("response is not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_of(status_line.as_bytes())?;
    if status != 101 {
        return Err(DialError::Refused {
            status,
            body: String::new(),
        });
    }
    let (mut upgrade, mut connection, mut accept, mut extensions) = (false, false, None, None);
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            return Err(DialError::Handshake(format!("bad header line `{line}`")));
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("upgrade") {
            upgrade = value.eq_ignore_ascii_case("websocket");
        } else if name.eq_ignore_ascii_case("connection") {
            connection = value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("upgrade"));
        } else if name.eq_ignore_ascii_case("sec-websocket-accept") {
            if accept.is_some() {
                return Err(DialError::Handshake(
                    "duplicate Sec-WebSocket-Accept".into(),
                ));
            }
            accept = Some(value);
        } else if name.eq_ignore_ascii_case("sec-websocket-extensions") {
            extensions = Some(value);
        }
    }
    if !upgrade {
        return Err(DialError::Handshake("missing `Upgrade: websocket`".into()));
    }
    if !connection {
        return Err(DialError::Handshake("missing `Connection: upgrade`".into()));
    }
    match accept {
        Some(accept) if validate_accept_key(key, accept) => Ok(extensions),
        Some(_) => Err(DialError::Handshake("wrong Sec-WebSocket-Accept".into())),
        None => Err(DialError::Handshake("missing Sec-WebSocket-Accept".into())),
    }
}

/// Reads (briefly) the start of a refused handshake's body.
async fn refusal_body(io: &mut BoxIo, buf: &BytesMut, head_len: usize) -> String {
    let head = String::from_utf8_lossy(&buf[..head_len]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REFUSAL_BODY);
    let mut body = buf[head_len..].to_vec();
    let read = async {
        while body.len() < length {
            let mut chunk = [0u8; 512];
            match io.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), read).await;
    body.truncate(length.max(body.len().min(MAX_REFUSAL_BODY)));
    String::from_utf8_lossy(&body).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line() {
        assert_eq!(status_of(b"HTTP/1.1 403 Forbidden\r\n\r\n").unwrap(), 403);
        assert_eq!(
            status_of(b"HTTP/1.1 101 Switching Protocols\r\n").unwrap(),
            101
        );
        assert!(status_of(b"SSH-2.0\r\n").is_err());
    }

    #[test]
    fn checks_the_accept_key() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
        check_response(ok, key).unwrap();
        let wrong = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
            Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
        assert!(matches!(
            check_response(wrong, key),
            Err(DialError::Handshake(_))
        ));
        let refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        assert!(matches!(
            check_response(refused, key),
            Err(DialError::Refused { status: 403, .. })
        ));
    }
}
