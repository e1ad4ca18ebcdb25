//! Typed errors, one enum per operation.

use std::fmt;
use std::time::Duration;

/// Why [`Client::emit`](super::Client::emit) failed.
#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    /// Disconnected and the queue of messages waiting for a link is full.
    #[error("the client queue is full ({capacity} messages)")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The client is closed.
    #[error("the client is closed")]
    Closed,
    /// The data could not be serialized.
    #[error("the data could not be encoded: {0}")]
    Encode(#[from] serde_json::Error),
    /// The event name is empty or reserved (`$...`).
    #[error("event name `{0}` is empty or reserved")]
    InvalidEvent(String),
}

/// Why an acknowledged request ([`Client::emit_with_ack`](super::Client::emit_with_ack),
/// [`Client::join`](super::Client::join), ...) failed: the client's side of
/// an ack (the hub's own is `switchboard::AckError`).
#[derive(Debug, thiserror::Error)]
pub enum ClientAckError {
    /// No reply within the timeout.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The hub (or its handler) answered with an error body.
    #[error("the hub answered {code}: {message}")]
    Remote {
        /// The error code, e.g. `forbidden` or `no_handler`.
        code: String,
        /// The error message.
        message: String,
    },
    /// The session the request was sent on was lost (a new session started
    /// or the client gave up), so no reply will come.
    #[error("disconnected before the reply: {0}")]
    Disconnected(String),
    /// The client is closed.
    #[error("the client is closed")]
    Closed,
    /// Disconnected and the queue is full.
    #[error("the client queue is full ({capacity} messages)")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The reply's data does not decode into the requested type.
    #[error("the reply does not decode: {0}")]
    Decode(serde_json::Error),
    /// The request's data could not be serialized.
    #[error("the data could not be encoded: {0}")]
    Encode(serde_json::Error),
    /// The event name is empty or reserved (`$...`).
    #[error("event name `{0}` is empty or reserved")]
    InvalidEvent(String),
}

impl From<EmitError> for ClientAckError {
    fn from(e: EmitError) -> Self {
        match e {
            EmitError::QueueFull { capacity } => ClientAckError::QueueFull { capacity },
            EmitError::Closed => ClientAckError::Closed,
            EmitError::Encode(e) => ClientAckError::Encode(e),
            EmitError::InvalidEvent(name) => ClientAckError::InvalidEvent(name),
        }
    }
}

/// Why [`ClientBuilder::connect`](super::ClientBuilder::connect) failed:
/// the client stopped before its first `$welcome`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("could not connect: {0}")]
pub struct ConnectError(pub ClientDisconnect);

pub use switchboard_protocol::HandlerError;

/// Why a link of the [`Client`](super::Client) ended or why the client
/// stopped (not to be confused with the hub's `switchboard::DisconnectReason`
/// nor the pool's [`PoolDisconnect`](crate::pool::PoolDisconnect)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientDisconnect {
    /// The hub sent a close frame with this code and reason.
    Closed {
        /// The close code (e.g. `4000` kicked, `1001` going away).
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// The link dropped without a close frame (network loss, heartbeat).
    LinkLost(String),
    /// The hub refused the handshake with an HTTP status.
    Refused {
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The hub refused the client's token (`401`, PROTOCOL.md section 10):
    /// a fixed token at once, a token function after 3 refusals in a row.
    Unauthorized {
        /// The hub's error code: `unauthorized` (missing, invalid, or
        /// another user's) or `token_expired`.
        code: String,
        /// The hub's error message.
        message: String,
    },
    /// The token function failed (see
    /// [`ClientBuilder::token`](super::ClientBuilder::token)); it counts as a
    /// failed attempt and is retried with backoff.
    Token(String),
    /// A dial attempt failed (connect, TLS, bad upgrade, timeout).
    DialFailed(String),
    /// More than `max_attempts` consecutive attempts failed.
    GaveUp {
        /// How many reconnect attempts were made after the first failure
        /// (equal to `max_attempts`).
        attempts: u32,
        /// The last failure.
        last: Box<ClientDisconnect>,
    },
    /// [`Client::close`](super::Client::close) was called or every handle
    /// was dropped.
    ClientClosed,
}

impl fmt::Display for ClientDisconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Closed { code, reason } => write!(f, "closed by the hub ({code} {reason})"),
            Self::LinkLost(why) => write!(f, "link lost: {why}"),
            Self::Refused { status, body } => write!(f, "handshake refused ({status}): {body}"),
            Self::Unauthorized { code, message } => {
                write!(f, "the hub refused the token ({code}): {message}")
            }
            Self::Token(why) => write!(f, "the token function failed: {why}"),
            Self::DialFailed(why) => write!(f, "dial failed: {why}"),
            Self::GaveUp { attempts, last } => {
                write!(f, "gave up after {attempts} attempts; last: {last}")
            }
            Self::ClientClosed => f.write_str("closed by the client"),
        }
    }
}

impl std::error::Error for ClientDisconnect {}
