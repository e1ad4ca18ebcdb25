//! The WebSocket dial: TCP, TLS for `wss://`, the upgrade, then the pinned
//! `sockudo-ws` codec, compressed or not.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use sockudo_ws::{CompressedWebSocketStream, Config, Error as WsError, Message, WebSocketStream};
use switchboard_protocol::CloseCode;
use tokio_rustls::rustls::ClientConfig;

use super::error::DialError;
use super::stream::{BoxIo, open};
use super::upgrade::{Upgraded, upgrade};
use super::url::WsUrl;

/// What a dial needs besides the URL.
#[derive(Clone)]
pub(crate) struct DialOptions {
    /// TLS settings for `wss://`.
    pub(crate) tls: Arc<ClientConfig>,
    /// Extra request headers.
    pub(crate) headers: Vec<(String, String)>,
    /// Offer permessage-deflate.
    pub(crate) compression: bool,
    /// The largest message accepted from the server.
    pub(crate) max_message_size: usize,
    /// The codec's write buffer.
    pub(crate) write_buffer_size: usize,
}

/// The codec settings of a client link: heartbeats and timeouts are the
/// caller's (the client's watchdog, the pool connection's pings), not the
/// codec's.
fn codec_config(options: &DialOptions) -> Config {
    Config {
        validate_text_utf8: true,
        max_message_size: options.max_message_size,
        max_frame_size: options.max_message_size,
        auto_ping: false,
        idle_timeout: 0,
        pong_timeout: 0,
        close_timeout: 2,
        write_buffer_size: options.write_buffer_size,
        ..Config::default()
    }
}

/// TCP, TLS and the upgrade: the stream and what the upgrade left.
async fn open_upgraded(
    url: &WsUrl,
    target: &str,
    options: &DialOptions,
) -> Result<(BoxIo, Upgraded), DialError> {
    let mut io = open(url, &options.tls).await?;
    let upgraded = upgrade(&mut io, url, target, &options.headers, options.compression).await?;
    Ok((io, upgraded))
}

/// A dialed WebSocket without extensions (the pool's raw connections).
pub(crate) type WsStream = WebSocketStream<BoxIo>;

/// Dials `url` without offering compression (`options.compression` is
/// ignored): the pool's raw connections. The caller applies its timeout.
pub(crate) async fn dial_uncompressed(
    url: &WsUrl,
    options: &DialOptions,
) -> Result<WsStream, DialError> {
    let options = DialOptions {
        compression: false,
        ..options.clone()
    };
    let (io, upgraded) = open_upgraded(url, &url.target(&[]), &options).await?;
    Ok(WebSocketStream::from_raw_with_leftover(
        io,
        sockudo_ws::Role::Client,
        codec_config(&options),
        upgraded.leftover,
    ))
}

/// Dials `url` with `target` as the request target (path and query),
/// offering permessage-deflate when `options.compression` says so. The
/// caller applies its timeout.
pub(crate) async fn dial(
    url: &WsUrl,
    target: &str,
    options: &DialOptions,
) -> Result<WsConn, DialError> {
    let (io, upgraded) = open_upgraded(url, target, options).await?;
    let config = codec_config(options);
    Ok(match upgraded.deflate {
        Some(deflate) => WsConn::Compressed(Box::new(
            CompressedWebSocketStream::client_with_leftover(io, config, deflate, upgraded.leftover),
        )),
        None => WsConn::Plain(Box::new(WebSocketStream::from_raw_with_leftover(
            io,
            sockudo_ws::Role::Client,
            config,
            upgraded.leftover,
        ))),
    })
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
    pub(crate) async fn close(&mut self, code: CloseCode, reason: &str) {
        let code = code.as_u16();
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
