//! Why a benchmark could not run.

use switchboard::adapter::DriverError;
use switchboard_testkit::TextWsError;

/// A benchmark's failure (not a bad measurement: losses and slow
/// deliveries are results, not errors).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The arguments do not make sense together.
    #[error("{0}")]
    Usage(String),
    /// A backend server could not be started or reached.
    #[error("backend: {0}")]
    Backend(String),
    /// A driver refused its configuration.
    #[error("driver: {0}")]
    Driver(#[from] DriverError),
    /// Socket I/O failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket layer failed.
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// The hub answered something the protocol does not allow here.
    #[error("protocol: {0}")]
    Protocol(String),
    /// The hub refused the handshake with this HTTP status (0: unreadable).
    #[error("handshake refused with HTTP status {0}")]
    Refused(u16),
    /// The hub closed the connection (with this close code, if any).
    #[error("closed by the hub (code {0:?})")]
    Closed(Option<u16>),
    /// The HTTP client (long-polling) failed.
    #[error("http: {0}")]
    Http(#[from] hyper::Error),
    /// A worker process failed or broke the parent's protocol.
    #[error("worker: {0}")]
    Worker(String),
    /// The hub to spawn could not be started.
    #[error("spawned hub: {0}")]
    Hub(String),
    /// A task of the benchmark panicked or was cancelled.
    #[error("task: {0}")]
    Task(#[from] tokio::task::JoinError),
    /// A wait that should have ended did not.
    #[error("timed out: {0}")]
    Timeout(String),
}

/// A benchmark's result.
pub type Result<T> = std::result::Result<T, Error>;

/// The test kit's text client fails the same two ways.
impl From<TextWsError> for Error {
    fn from(e: TextWsError) -> Self {
        match e {
            TextWsError::WebSocket(e) => Self::WebSocket(e),
            TextWsError::Protocol(what) => Self::Protocol(what),
        }
    }
}
