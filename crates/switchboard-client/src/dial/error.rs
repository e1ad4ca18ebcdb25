//! [`DialError`]: why opening a WebSocket failed, for the client and the
//! pool alike.

use std::io;
use std::time::Duration;

/// Why a WebSocket dial failed: the URL, TCP, TLS or the HTTP/1.1 upgrade.
/// The reconnecting client reports it in
/// [`ClientDisconnect::DialFailed`](crate::client::ClientDisconnect::DialFailed),
/// the pool in [`PoolEvent::Reconnecting`](crate::pool::PoolEvent::Reconnecting);
/// both retry with backoff.
#[derive(Debug, thiserror::Error)]
pub enum DialError {
    /// The URL could not be parsed or has an unsupported scheme.
    #[error("invalid URL {0}")]
    InvalidUrl(String),
    /// An extra header has a name or value that cannot go on the wire.
    #[error("invalid header `{0}`")]
    InvalidHeader(String),
    /// The TCP connection failed.
    #[error("connect failed: {0}")]
    Connect(io::Error),
    /// The TLS setup or handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// Reading or writing the upgrade failed.
    #[error("I/O error during the upgrade: {0}")]
    Io(#[from] io::Error),
    /// The server answered the upgrade with a plain HTTP status.
    #[error("the server refused the upgrade with HTTP {status}: {body}")]
    Refused {
        /// The HTTP status, e.g. 403 or 503.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The server's answer is not a valid WebSocket upgrade.
    #[error("bad upgrade response: {0}")]
    Handshake(String),
    /// The dial (connect, TLS and upgrade; for the client, until
    /// `$welcome`) took longer than this.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
}
