//! One link of a session, over either transport.

use bytes::Bytes;
use sockudo_ws::{Error as WsError, Message as WsMessage};
use switchboard_protocol::{CloseCode, Codec, Message};

use super::poll::{PollItem, PollLink};
use crate::dial::websocket::WsConn;

pub use switchboard_protocol::Transport;

/// Which transports the client uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transports {
    /// WebSocket only.
    WebSocket,
    /// Long-polling only.
    LongPolling,
    /// A WebSocket first; when it cannot be opened, long-polling for that
    /// attempt (the default). Every reconnect tries a WebSocket again.
    #[default]
    WebSocketWithFallback,
}

/// A live link.
pub(crate) enum Link {
    Ws(WsConn),
    /// The long-polling link and the handshake's answer, handled first.
    Poll(PollLink, Option<Bytes>),
}

/// What a link yields.
pub(crate) enum LinkItem {
    /// A data frame (WebSocket) or a poll answer.
    Frame(Bytes),
    /// A control frame: life, nothing to handle.
    Control,
    /// The hub ended the link with this close code.
    Closed { code: u16, reason: String },
    /// The link is gone without a close frame.
    Lost(String),
}

impl From<PollItem> for LinkItem {
    fn from(item: PollItem) -> Self {
        match item {
            PollItem::Frame(bytes) => LinkItem::Frame(bytes),
            PollItem::Closed { code, reason } => LinkItem::Closed { code, reason },
            PollItem::Lost(why) => LinkItem::Lost(why),
        }
    }
}

impl Link {
    pub(crate) fn transport(&self) -> Transport {
        match self {
            Link::Ws(_) => Transport::WebSocket,
            Link::Poll(..) => Transport::LongPolling,
        }
    }

    pub(crate) fn is_compressed(&self) -> bool {
        matches!(self, Link::Ws(conn) if conn.is_compressed())
    }

    /// The next item (cancel-safe).
    pub(crate) async fn next(&mut self) -> LinkItem {
        match self {
            Link::Ws(conn) => match conn.next().await {
                Some(Ok(WsMessage::Text(bytes) | WsMessage::Binary(bytes))) => {
                    LinkItem::Frame(bytes)
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => LinkItem::Control,
                Some(Ok(WsMessage::Close(reason)) | Err(WsError::Closed(reason))) => match reason {
                    Some(r) => LinkItem::Closed {
                        code: r.code,
                        reason: r.reason,
                    },
                    None => LinkItem::Closed {
                        code: 1005,
                        reason: String::new(),
                    },
                },
                Some(Err(WsError::ConnectionClosed)) | None => {
                    LinkItem::Lost("the connection ended without a close frame".into())
                }
                Some(Err(error)) => LinkItem::Lost(error.to_string()),
            },
            Link::Poll(poll, first) => match first.take() {
                Some(bytes) => LinkItem::Frame(bytes),
                None => poll.next().await.into(),
            },
        }
    }

    /// Writes messages: on a WebSocket one frame per `chunk` messages
    /// (one each without batching); on long-polling one `POST`. An error
    /// says whether the hub surely did not take them (a long-polling answer
    /// such as `404` or `401`).
    pub(crate) async fn write(
        &mut self,
        messages: &[Message],
        chunk: usize,
    ) -> Result<(), (LinkItem, bool)> {
        match self {
            Link::Ws(conn) => {
                let write = async {
                    for part in messages.chunks(chunk.max(1)) {
                        let frame = match part {
                            [one] => Codec::Json.encode(one),
                            many => Codec::Json.encode_batch(many),
                        };
                        conn.feed(WsMessage::Text(frame)).await?;
                    }
                    conn.flush().await
                };
                write
                    .await
                    .map_err(|e| (LinkItem::Lost(format!("write failed: {e}")), false))
            }
            Link::Poll(poll, _) => poll
                .send(messages)
                .await
                .map_err(|(item, unsent)| (LinkItem::from(item), unsent)),
        }
    }

    /// Ends the session for good: a close frame `1000`, or a `DELETE`.
    pub(crate) async fn close(&mut self) {
        match self {
            Link::Ws(conn) => conn.close(CloseCode::Normal, "client closed").await,
            Link::Poll(poll, _) => poll.close().await,
        }
    }
}
