//! Error types, one enum per concern.

use std::fmt;

use switchboard_protocol::{CloseCode, ErrorBody, ErrorCode};

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

/// The error a handler returns: it becomes the reply's `error` when the event
/// asked for an ack, and is reported to the hub's error handler.
///
/// Any `std::error::Error` converts into it with `?` (code `internal`); use
/// [`HandlerError::with_code`] for an application code the client can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    /// The code sent to the client.
    pub code: String,
    /// The message sent to the client.
    pub message: String,
}

impl HandlerError {
    /// An `internal` error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_code(ErrorCode::Internal.as_str(), message)
    }

    /// An error with an application-defined code.
    pub fn with_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }

    /// A `bad_message` error: the payload did not decode.
    pub(crate) fn bad_payload(event: &str, error: impl fmt::Display) -> Self {
        Self::with_code(
            ErrorCode::BadMessage.as_str(),
            format!("the data of `{event}` does not decode: {error}"),
        )
    }

    /// The error body sent on the wire.
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code.clone(),
            message: self.message.clone(),
        }
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl<E: std::error::Error> From<E> for HandlerError {
    fn from(error: E) -> Self {
        Self::new(error.to_string())
    }
}

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
