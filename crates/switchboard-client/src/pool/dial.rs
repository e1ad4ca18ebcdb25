//! Dialing: TCP, optional TLS (rustls), and the HTTP/1.1 upgrade, checked
//! by hand, over the pinned `sockudo-ws` codec.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use sockudo_ws::{Config, Role, WebSocketStream};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::error::DialError;
use super::options::ConnectionOptions;

/// The largest upgrade response accepted.
const MAX_RESPONSE: usize = 16 * 1024;

/// A parsed `ws://` or `wss://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) path: String,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, DialError> {
        let bad = |why: &str| DialError::InvalidUrl(format!("{url}: {why}"));
        let uri: http::Uri = url.parse().map_err(|e| bad(&format!("{e}")))?;
        let tls = match uri.scheme_str() {
            Some("ws") => false,
            Some("wss") => true,
            _ => return Err(bad("the scheme must be ws or wss")),
        };
        let host = uri.host().ok_or_else(|| bad("no host"))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map(|p| p.as_str().to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "/".to_owned());
        Ok(Self {
            tls,
            host,
            port,
            path,
        })
    }

    fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// A TCP stream, with or without TLS.
pub(crate) enum MaybeTls {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for MaybeTls {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for MaybeTls {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A dialed WebSocket.
pub(crate) type WsStream = WebSocketStream<MaybeTls>;

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A rustls client configuration trusting exactly `roots` (for private CAs
/// and self-signed test certificates). Build your own [`ClientConfig`] for
/// client certificates and pass it to [`ConnectionOptions::tls`].
pub fn tls_config_with_roots(roots: RootCertStore) -> Arc<ClientConfig> {
    let config = ClientConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .expect("ring supports the default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The default TLS configuration: the system's root certificates, loaded
/// once per process.
fn system_tls() -> Arc<ClientConfig> {
    static SYSTEM: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    SYSTEM
        .get_or_init(|| {
            let loaded = rustls_native_certs::load_native_certs();
            for error in &loaded.errors {
                tracing::warn!(%error, "could not load a system root certificate");
            }
            let mut roots = RootCertStore::empty();
            let (added, ignored) = roots.add_parsable_certificates(loaded.certs);
            tracing::debug!(added, ignored, "system root certificates loaded");
            tls_config_with_roots(roots)
        })
        .clone()
}

fn codec_config(options: &ConnectionOptions) -> Config {
    Config {
        validate_text_utf8: true,
        max_message_size: options.max_message_size,
        max_frame_size: options.max_message_size,
        // The connection task owns heartbeats (ping interval, pong timeout).
        auto_ping: false,
        idle_timeout: 0,
        pong_timeout: 0,
        close_timeout: 2,
        write_buffer_size: 4 * 1024,
        ..Config::default()
    }
}

/// Dials `target`: TCP, TLS for `wss`, then the upgrade. The caller applies
/// the connect timeout.
pub(crate) async fn dial(
    target: &Target,
    options: &ConnectionOptions,
) -> Result<WsStream, DialError> {
    let tcp = TcpStream::connect((target.host.as_str(), target.port))
        .await
        .map_err(DialError::Connect)?;
    let _ = tcp.set_nodelay(true);
    let mut io = if target.tls {
        let config = options.tls.clone().unwrap_or_else(system_tls);
        let name = rustls::pki_types::ServerName::try_from(target.host.clone())
            .map_err(|e| DialError::Tls(io::Error::new(io::ErrorKind::InvalidInput, e)))?;
        let tls = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(DialError::Tls)?;
        MaybeTls::Tls(Box::new(tls))
    } else {
        MaybeTls::Plain(tcp)
    };
    let leftover = upgrade(&mut io, target, options).await?;
    Ok(WebSocketStream::from_raw_with_leftover(
        io,
        Role::Client,
        codec_config(options),
        leftover,
    ))
}

/// Writes the upgrade request and checks the response, returning any bytes
/// the server sent after it.
async fn upgrade(
    io: &mut MaybeTls,
    target: &Target,
    options: &ConnectionOptions,
) -> Result<Option<Bytes>, DialError> {
    let key = sockudo_ws::handshake::generate_key();
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n",
        target.path,
        target.host_header()
    );
    for (name, value) in &options.headers {
        if name.contains(['\r', '\n', ':']) || value.contains(['\r', '\n']) {
            return Err(DialError::InvalidHeader(name.clone()));
        }
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    io.write_all(request.as_bytes())
        .await
        .map_err(DialError::Io)?;
    io.flush().await.map_err(DialError::Io)?;

    let mut buf = BytesMut::with_capacity(1024);
    let end = loop {
        if let Some(end) = find_header_end(&buf) {
            break end;
        }
        if buf.len() > MAX_RESPONSE {
            return Err(DialError::Handshake("response headers too large".into()));
        }
        let n = io.read_buf(&mut buf).await.map_err(DialError::Io)?;
        if n == 0 {
            return Err(DialError::Handshake(
                "connection closed during the upgrade".into(),
            ));
        }
    };
    let head = &buf[..end];
    check_response(head, &key)?;
    let rest = buf.split_off(end);
    Ok((!rest.is_empty()).then(|| rest.freeze()))
}

fn find_header_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// Checks a complete upgrade response head: status 101, `Upgrade:
/// websocket`, `Connection: upgrade` and the `Sec-WebSocket-Accept` for
/// `key`.
pub(crate) fn check_response(head: &[u8], key: &str) -> Result<(), DialError> {
    let text = std::str::from_utf8(head)
        .map_err(|_| DialError::Handshake("response is not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| DialError::Handshake(format!("bad status line `{status_line}`")))?;
    if version != "HTTP/1.1" {
        return Err(DialError::Handshake(format!(
            "bad status line `{status_line}`"
        )));
    }
    if status != 101 {
        return Err(DialError::Refused(status));
    }
    let (mut upgrade, mut connection, mut accept) = (false, false, None);
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
        }
    }
    if !upgrade {
        return Err(DialError::Handshake("missing `Upgrade: websocket`".into()));
    }
    if !connection {
        return Err(DialError::Handshake("missing `Connection: upgrade`".into()));
    }
    match accept {
        Some(accept) if sockudo_ws::handshake::validate_accept_key(key, accept) => Ok(()),
        Some(_) => Err(DialError::Handshake("wrong Sec-WebSocket-Accept".into())),
        None => Err(DialError::Handshake("missing Sec-WebSocket-Accept".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        let t = Target::parse("ws://127.0.0.1:9000/feed?x=1").unwrap();
        assert_eq!(
            t,
            Target {
                tls: false,
                host: "127.0.0.1".into(),
                port: 9000,
                path: "/feed?x=1".into()
            }
        );
        let t = Target::parse("wss://example.com").unwrap();
        assert!(t.tls);
        assert_eq!((t.port, t.path.as_str()), (443, "/"));
        assert_eq!(t.host_header(), "example.com");
        let t = Target::parse("ws://[::1]:8080/").unwrap();
        assert_eq!(t.host, "::1");
        assert_eq!(t.host_header(), "[::1]:8080");
        assert!(Target::parse("http://example.com").is_err());
        assert!(Target::parse("not a url").is_err());
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
            Err(DialError::Refused(403))
        ));
    }
}
