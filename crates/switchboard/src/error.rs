//! Error types, one enum per concern.

use std::fmt;

use switchboard_protocol::{CloseCode, ErrorBody};

/// Why a message could not be queued for a socket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The socket is closing or closed.
    #[error("the socket is closed")]
    Closed,
    /// The socket's send queue was full: it is being closed with `4001`.
    #[error("the socket's send queue is full; it is closed as a slow consumer")]
    SlowConsumer,
    /// The payload could not be serialized.
    #[error("the payload does not serialize: {0}")]
    Encode(String),
    /// The socket id is not connected to this hub.
    #[error("no socket with id {0}")]
    UnknownSocket(String),
}

/// Why a room's history could not be read ([`crate::Hub::history`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HistoryError {
    /// The room keeps no history ([`crate::HubBuilder::history`]).
    #[error("room `{0}` keeps no history")]
    NotKept(String),
    /// The cluster's history store could not be reached or refused.
    #[error("the room's history is unavailable: {0}")]
    Unavailable(String),
}

/// Why an `emit_with_ack` did not produce a reply.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AckError {
    /// No reply came before the timeout.
    #[error("no reply within {0:?}")]
    Timeout(std::time::Duration),
    /// The socket disconnected before replying.
    #[error("the socket disconnected before replying")]
    Disconnected,
    /// The client replied with an error.
    #[error("the client answered with error `{}`: {}", .0.code, .0.message)]
    Remote(ErrorBody),
    /// The reply's data does not decode into the expected type.
    #[error("the reply does not decode: {0}")]
    Decode(String),
    /// The event could not be sent.
    #[error(transparent)]
    Send(#[from] SendError),
    /// The socket is on another node, which could not send the event to it.
    #[error("the socket's node could not ask it: {0}")]
    Cluster(String),
}

pub use switchboard_protocol::HandlerError;

/// Errors reported to the hub's error handler ([`crate::HubBuilder::on_error`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HubError {
    /// A handler returned an error.
    #[error("handler for `{event}` failed: {error}")]
    Handler {
        /// The event being handled.
        event: String,
        /// What the handler returned.
        error: HandlerError,
    },
    /// A handler panicked; the socket and the hub keep running.
    #[error("handler for `{event}` panicked: {message}")]
    Panic {
        /// The event being handled.
        event: String,
        /// The panic message, when it was a string.
        message: String,
    },
    /// The client sent a message the hub could not accept.
    #[error("bad message from the client: {0}")]
    BadMessage(String),
}

/// Why a socket disconnected; passed to the disconnect handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client sent a close frame with this code (1005: none given).
    ClientClosed(u16),
    /// The hub closed the connection with this code (kick, slow consumer,
    /// policy, size limit, shutdown, protocol error...).
    ServerClosed(CloseCode),
    /// The client sent no frame within `ping_interval + ping_timeout`.
    HeartbeatTimeout,
    /// The connection dropped or a write failed.
    TransportError(String),
    /// The hub dropped the connection at the end of its shutdown deadline.
    Aborted,
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ClientClosed(code) => write!(f, "client closed ({code})"),
            Self::ServerClosed(code) => write!(
                f,
                "closed by the hub ({}, {})",
                code.as_u16(),
                code.reason()
            ),
            Self::HeartbeatTimeout => f.write_str("heartbeat timeout"),
            Self::TransportError(e) => write!(f, "transport error: {e}"),
            Self::Aborted => f.write_str("dropped at the shutdown deadline"),
        }
    }
}
