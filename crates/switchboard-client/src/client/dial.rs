//! WebSocket dial: TCP, optional TLS (rustls), the HTTP/1.1 upgrade written
//! by hand, and permessage-deflate negotiation over the pinned `sockudo-ws`
//! codec.
//!
//! Shared (`pub(crate)`): the pool may dial with [`dial`] and read frames
//! through [`WsConn`].

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use sockudo_ws::deflate::{DeflateConfig, parse_deflate_offer};
use sockudo_ws::handshake::{generate_key, parse_response, validate_accept_key};
use sockudo_ws::{CompressedWebSocketStream, Config, Error as WsError, Message, WebSocketStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::error::DialError;
use super::url::WsUrl;

/// The largest upgrade response head read.
const MAX_HEAD: usize = 16 * 1024;
/// The largest body of a refused handshake kept for the report.
const MAX_REFUSAL_BODY: usize = 1024;

/// Any byte stream a link can run on.
pub(crate) trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// A boxed byte stream: TCP or TLS over TCP.
pub(crate) type BoxIo = Box<dyn Io>;

/// What a dial needs besides the URL.
#[derive(Clone)]
pub(crate) struct DialOptions {
    /// TLS settings for `wss://` (built once).
    pub(crate) tls: Arc<ClientConfig>,
    /// Extra request headers.
    pub(crate) headers: Vec<(String, String)>,
    /// Offer permessage-deflate.
    pub(crate) compression: bool,
    /// The largest message accepted from the server.
    pub(crate) max_message_size: usize,
}

/// The crypto provider used for every TLS config (ring).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds a rustls client config: `roots` if given, else the system roots
/// (rustls-native-certs); a client certificate chain and key if given.
pub(crate) fn tls_config(
    roots: Option<Vec<rustls_pki_types::CertificateDer<'static>>>,
    client_auth: Option<(
        Vec<rustls_pki_types::CertificateDer<'static>>,
        rustls_pki_types::PrivateKeyDer<'static>,
    )>,
) -> Result<Arc<ClientConfig>, DialError> {
    let mut store = RootCertStore::empty();
    match roots {
        Some(roots) => {
            for cert in roots {
                store
                    .add(cert)
                    .map_err(|e| DialError::Tls(format!("bad root certificate: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::debug!(%error, "while loading system root certificates");
            }
            let (added, ignored) = store.add_parsable_certificates(found.certs);
            tracing::debug!(added, ignored, "system root certificates loaded");
        }
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| DialError::Tls(e.to_string()))?
        .with_root_certificates(store);
    let config = match client_auth {
        Some((chain, key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|e| DialError::Tls(format!("bad client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Opens TCP (and TLS for `wss://`) to the URL's host.
pub(crate) async fn open(url: &WsUrl, tls: &Arc<ClientConfig>) -> Result<BoxIo, DialError> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port)).await?;
    tcp.set_nodelay(true)?;
    if !url.tls {
        return Ok(Box::new(tcp));
    }
    let name = rustls_pki_types::ServerName::try_from(url.host.clone())
        .map_err(|e| DialError::Tls(format!("bad server name {}: {e}", url.host)))?;
    let stream = TlsConnector::from(tls.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| DialError::Tls(e.to_string()))?;
    Ok(Box::new(stream))
}

/// The codec settings of a client link: heartbeats and timeouts are the
/// caller's (the client's watchdog), not the codec's.
fn codec_config(max_message_size: usize) -> Config {
    Config {
        validate_text_utf8: true,
        max_message_size,
        max_frame_size: max_message_size,
        auto_ping: false,
        idle_timeout: 0,
        pong_timeout: 0,
        close_timeout: 2,
        write_buffer_size: 16 * 1024,
        ..Config::default()
    }
}

/// Dials `url` with `target` as the request target (path and query).
pub(crate) async fn dial(
    url: &WsUrl,
    target: &str,
    options: &DialOptions,
) -> Result<WsConn, DialError> {
    let mut io = open(url, &options.tls).await?;
    let key = generate_key();
    let mut request = format!(
        "GET {target} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
        url.host_header()
    );
    if options.compression {
        request
            .push_str("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n");
    }
    for (name, value) in &options.headers {
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            return Err(DialError::Handshake(format!("invalid header {name:?}")));
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
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
        let body = refusal_body(&mut io, &buf, head_len).await;
        return Err(DialError::Refused { status, body });
    }
    let (response, _) = parse_response(&buf[..head_len])
        .map_err(|e| DialError::Handshake(e.to_string()))?
        .ok_or_else(|| DialError::Handshake("incomplete response".into()))?;
    match response.accept {
        Some(accept) if validate_accept_key(&key, accept) => {}
        _ => return Err(DialError::Handshake("bad Sec-WebSocket-Accept".into())),
    }
    let deflate = match response.extensions {
        None => None,
        Some(ext) if options.compression => {
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
    let config = codec_config(options.max_message_size);
    Ok(match deflate {
        Some(deflate) => WsConn::Compressed(Box::new(
            CompressedWebSocketStream::client_with_leftover(io, config, deflate, leftover),
        )),
        None => WsConn::Plain(Box::new(WebSocketStream::from_raw_with_leftover(
            io,
            sockudo_ws::Role::Client,
            config,
            leftover,
        ))),
    })
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

/// An open client WebSocket, compressed or not.
pub(crate) enum WsConn {
    /// No extension negotiated.
    Plain(Box<WebSocketStream<BoxIo>>),
    /// permessage-deflate negotiated.
    Compressed(Box<CompressedWebSocketStream<BoxIo>>),
}

impl WsConn {
    /// Whether permessage-deflate was negotiated.
    pub(crate) fn is_compressed(&self) -> bool {
        matches!(self, WsConn::Compressed(_))
    }

    /// The next message (cancel-safe).
    pub(crate) async fn next(&mut self) -> Option<Result<Message, WsError>> {
        match self {
            WsConn::Plain(s) => s.next().await,
            WsConn::Compressed(s) => s.next().await,
        }
    }

    /// Queues a message for writing.
    pub(crate) async fn feed(&mut self, message: Message) -> Result<(), WsError> {
        match self {
            WsConn::Plain(s) => s.feed(message).await,
            WsConn::Compressed(s) => s.feed(message).await,
        }
    }

    /// Writes what was fed.
    pub(crate) async fn flush(&mut self) -> Result<(), WsError> {
        match self {
            WsConn::Plain(s) => s.flush().await,
            WsConn::Compressed(s) => s.flush().await,
        }
    }

    /// Sends a close frame and waits (bounded) for the peer's answer.
    pub(crate) async fn close(&mut self, code: u16, reason: &str) {
        let closing = async {
            let sent = match self {
                WsConn::Plain(s) => WebSocketStream::close(s, code, reason).await,
                WsConn::Compressed(s) => CompressedWebSocketStream::close(s, code, reason).await,
            };
            if sent.is_err() {
                return;
            }
            while let Some(Ok(message)) = self.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), closing).await;
    }
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
}
