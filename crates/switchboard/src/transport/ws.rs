//! The WebSocket link, over the pinned `sockudo-ws` codec.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use sockudo_ws::deflate::DeflateConfig;
use sockudo_ws::{CompressedWebSocketStream, Config, Error as WsError, Message, WebSocketStream};
use switchboard_protocol::CloseCode;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::{Link, LinkError, Received, poll_once};
use crate::send_queue::Outgoing;

/// How long a close handshake may take before the link is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The codec settings for one server-side connection.
pub(crate) fn codec_config(max_message_size: usize) -> Config {
    Config {
        validate_text_utf8: true,
        max_message_size,
        max_frame_size: max_message_size,
        // The connection task owns heartbeats and timeouts (PROTOCOL.md 3).
        auto_ping: false,
        idle_timeout: 0,
        pong_timeout: 0,
        close_timeout: CLOSE_GRACE.as_secs() as u32,
        write_buffer_size: 4 * 1024,
        // Idle connections hold no receive window nor cork buffer: they are
        // allocated when input arrives or frames are written, and released
        // once empty (the codec fork, crates/switchboard-sockudo-ws/README.md).
        release_idle_buffers: true,
        ..Config::default()
    }
}

// Both codecs are boxed: the connection task's future stays small and the
// two variants cost the same.
enum Stream<T> {
    Plain(Box<WebSocketStream<T>>),
    Compressed(Box<CompressedWebSocketStream<T>>),
}

/// A server-side WebSocket link.
pub(crate) struct WsLink<T> {
    stream: Stream<T>,
    write_timeout: Duration,
}

impl<T> WsLink<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// Wraps an upgraded stream; `deflate` is the negotiated
    /// permessage-deflate configuration, if any.
    pub(crate) fn server(
        io: T,
        config: impl Into<std::sync::Arc<Config>>,
        deflate: Option<DeflateConfig>,
        write_timeout: Duration,
    ) -> Self {
        let stream = match deflate {
            Some(deflate) => Stream::Compressed(Box::new(CompressedWebSocketStream::server(
                io, config, deflate,
            ))),
            None => Stream::Plain(Box::new(WebSocketStream::server(io, config))),
        };
        Self {
            stream,
            write_timeout,
        }
    }

    async fn next(&mut self) -> Option<Result<Message, WsError>> {
        match &mut self.stream {
            Stream::Plain(s) => s.next().await,
            Stream::Compressed(s) => s.next().await,
        }
    }

    async fn feed(&mut self, message: Message) -> Result<(), WsError> {
        match &mut self.stream {
            Stream::Plain(s) => s.feed(message).await,
            Stream::Compressed(s) => s.feed(message).await,
        }
    }

    /// Queues one frame: a plain stream encodes it straight from the
    /// shared bytes; a compressing one takes it as a message (to deflate).
    async fn feed_frame(&mut self, frame: &Outgoing) -> Result<(), WsError> {
        match &mut self.stream {
            Stream::Plain(s) => s.feed_data(frame.is_binary(), frame.bytes()).await,
            Stream::Compressed(s) => {
                let bytes = frame.bytes().clone();
                let message = if frame.is_binary() {
                    Message::Binary(bytes)
                } else {
                    Message::Text(bytes)
                };
                s.feed(message).await
            }
        }
    }

    async fn flush(&mut self) -> Result<(), WsError> {
        match &mut self.stream {
            Stream::Plain(s) => s.flush().await,
            Stream::Compressed(s) => s.flush().await,
        }
    }

    async fn close_stream(&mut self, code: u16, reason: &str) -> Result<(), WsError> {
        match &mut self.stream {
            Stream::Plain(s) => WebSocketStream::close(s, code, reason).await,
            Stream::Compressed(s) => CompressedWebSocketStream::close(s, code, reason).await,
        }
    }
}

fn map_error(error: WsError) -> LinkError {
    let (code, reason) = match &error {
        WsError::MessageTooLarge | WsError::FrameTooLarge => {
            (CloseCode::TooBig, "message over the size limit".to_owned())
        }
        WsError::InvalidUtf8 => (
            CloseCode::InvalidPayload,
            "text frame is not UTF-8".to_owned(),
        ),
        WsError::Compression(e) => (
            CloseCode::InvalidPayload,
            format!("bad compressed data: {e}"),
        ),
        WsError::InvalidFrame(e) | WsError::Protocol(e) => {
            (CloseCode::ProtocolError, (*e).to_owned())
        }
        WsError::InvalidCloseCode(c) => {
            (CloseCode::ProtocolError, format!("invalid close code {c}"))
        }
        _ => return LinkError::Lost(error.to_string()),
    };
    LinkError::Protocol { code, reason }
}

/// A server-to-client close frame: FIN + opcode 8, unmasked.
fn close_frame(code: CloseCode) -> Bytes {
    let reason = code.reason().as_bytes();
    let reason = &reason[..reason.len().min(123)];
    let mut frame = BytesMut::with_capacity(4 + reason.len());
    frame.put_u8(0x88);
    frame.put_u8((2 + reason.len()) as u8);
    frame.put_u16(code.as_u16());
    frame.put_slice(reason);
    frame.freeze()
}

impl<T> Link for WsLink<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    async fn recv(&mut self) -> Option<Result<Received, LinkError>> {
        let message = match self.next().await? {
            Ok(message) => message,
            Err(WsError::ConnectionClosed) => return None,
            Err(WsError::Closed(reason)) => {
                return Some(Ok(Received::Close(reason.map_or(1005, |r| r.code))));
            }
            Err(error) => return Some(Err(map_error(error))),
        };
        Some(Ok(match message {
            Message::Text(bytes) => Received::Text(bytes),
            Message::Binary(bytes) => Received::Binary(bytes),
            Message::Ping(_) | Message::Pong(_) => Received::Control,
            Message::Close(reason) => Received::Close(reason.map_or(1005, |r| r.code)),
        }))
    }

    async fn send_frames(&mut self, frames: &mut VecDeque<Outgoing>) -> Result<(), LinkError> {
        let timeout = self.write_timeout;
        let write = async {
            for frame in frames.drain(..) {
                self.feed_frame(&frame).await?;
            }
            self.flush().await
        };
        // Most writes complete at once: the timer is armed (and boxed, to
        // keep it out of every connection's state) only for one that has to
        // wait for the peer.
        let mut write = std::pin::pin!(write);
        let result = match poll_once(write.as_mut()).await {
            Some(result) => Ok(result),
            None => Box::pin(tokio::time::timeout(timeout, write)).await,
        };
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(LinkError::Lost(error.to_string())),
            Err(_) => Err(LinkError::Lost(format!(
                "write timed out after {timeout:?}"
            ))),
        }
    }

    async fn ping(&mut self) -> Result<(), LinkError> {
        let timeout = self.write_timeout;
        let write = async {
            self.feed(Message::Ping(Bytes::new())).await?;
            self.flush().await
        };
        match tokio::time::timeout(timeout, write).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(LinkError::Lost(error.to_string())),
            Err(_) => Err(LinkError::Lost("ping write timed out".into())),
        }
    }

    async fn close(&mut self, code: CloseCode) {
        let closing = async {
            if self
                .close_stream(code.as_u16(), code.reason())
                .await
                .is_err()
            {
                return;
            }
            // Drive the closing handshake until the peer answers or leaves;
            // the server then drops the TCP connection first (RFC 6455 7.1.1).
            while let Some(Ok(message)) = self.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, closing).await;
    }

    async fn fail(&mut self, code: CloseCode) {
        // After a protocol error the codec refuses to write anything, yet
        // the protocol asks for a close frame with a precise code (1007,
        // 1009, 1002): it is written to the stream under the codec.
        let frame = close_frame(code);
        let io = match &mut self.stream {
            Stream::Plain(s) => s.get_mut(),
            Stream::Compressed(s) => s.get_mut(),
        };
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            io.write_all(&frame).await?;
            io.flush().await?;
            io.shutdown().await
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_frame_layout() {
        let frame = close_frame(CloseCode::TooBig);
        assert_eq!(frame[0], 0x88);
        assert_eq!(usize::from(frame[1]), frame.len() - 2);
        assert_eq!(u16::from_be_bytes([frame[2], frame[3]]), 1009);
    }
}
