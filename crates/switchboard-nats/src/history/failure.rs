//! How async-nats' JetStream errors map to what the history store does:
//! retry (another node appended first, the stream is missing) or fail
//! with a [`DriverError`] (connection problems are `Unreachable`, what the
//! server answered is `Refused`).

use async_nats::StatusCode;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::context::{CreateStreamError, CreateStreamErrorKind, PublishError};
use async_nats::jetstream::stream::{DirectGetError, DirectGetErrorKind};
use switchboard::adapter::DriverError;

/// Why a JetStream call of the history store failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// The room's last sequence was not the one expected: another node
    /// appended first (re-read the room and try again).
    Conflict,
    /// Nothing answered for the stream (no responders, or a direct get
    /// that timed out on a live connection): it was deleted, or the server
    /// restarted without it (create it again and retry once).
    NoStream,
    /// Any other failure.
    Driver(DriverError),
}

impl Failure {
    /// The failure as the caller sees it.
    pub(super) fn into_driver_error(self, what: &str) -> DriverError {
        match self {
            Failure::Conflict => DriverError::Unreachable(format!(
                "{what}: other nodes kept appending first; gave up"
            )),
            Failure::NoStream => DriverError::Unreachable(format!(
                "{what}: the JetStream history stream does not answer"
            )),
            Failure::Driver(error) => error,
        }
    }
}

/// `Unreachable` when the connection is not up, else `Refused`: for
/// errors that do not say which it was.
fn by_state(connected: bool, message: String) -> DriverError {
    if connected {
        DriverError::Refused(message)
    } else {
        DriverError::Unreachable(message)
    }
}

/// Maps a failed publish (or its acknowledgement).
pub(super) fn publish_failure(e: &PublishError, connected: bool) -> Failure {
    let message = format!("NATS history publish: {e}");
    match e.kind() {
        PublishErrorKind::WrongLastSequence => Failure::Conflict,
        PublishErrorKind::StreamNotFound => Failure::NoStream,
        PublishErrorKind::TimedOut
        | PublishErrorKind::BrokenPipe
        | PublishErrorKind::MaxAckPending => Failure::Driver(DriverError::Unreachable(message)),
        PublishErrorKind::MaxPayloadExceeded | PublishErrorKind::WrongLastMessageId => {
            Failure::Driver(DriverError::Refused(message))
        }
        PublishErrorKind::Other => Failure::Driver(by_state(connected, message)),
    }
}

/// Maps a failed direct get (a message that is not there is not a
/// failure: the caller handles [`DirectGetErrorKind::NotFound`] first).
pub(super) fn get_failure(e: &DirectGetError, connected: bool) -> Failure {
    let message = format!("NATS history read: {e}");
    match e.kind() {
        DirectGetErrorKind::ErrorResponse(status, _) if status == StatusCode::NO_RESPONDERS => {
            Failure::NoStream
        }
        // A server with JetStream answers no direct get for a stream it
        // does not have (its handler of `$JS.API.>` takes the request and
        // drops it: no 503 either), so a get that times out while the
        // connection is up may mean that the stream is gone (a server
        // restarted without it): make sure it exists, and try again.
        DirectGetErrorKind::TimedOut if connected => Failure::NoStream,
        DirectGetErrorKind::TimedOut => Failure::Driver(DriverError::Unreachable(message)),
        DirectGetErrorKind::ErrorResponse(..)
        | DirectGetErrorKind::InvalidSubject
        | DirectGetErrorKind::NotFound => Failure::Driver(DriverError::Refused(message)),
        DirectGetErrorKind::Request | DirectGetErrorKind::Other => {
            Failure::Driver(by_state(connected, message))
        }
    }
}

/// Maps a failure to create, read or update the stream.
pub(super) fn stream_failure(e: &CreateStreamError, connected: bool) -> DriverError {
    let message = format!("NATS history stream: {e}");
    match e.kind() {
        // No responder to the JetStream API: JetStream is off, or not up
        // yet after a restart.
        CreateStreamErrorKind::JetStreamUnavailable | CreateStreamErrorKind::TimedOut => {
            DriverError::Unreachable(message)
        }
        CreateStreamErrorKind::JetStream(_)
        | CreateStreamErrorKind::EmptyStreamName
        | CreateStreamErrorKind::InvalidStreamName
        | CreateStreamErrorKind::DomainAndExternalSet
        | CreateStreamErrorKind::NotFound => DriverError::Refused(message),
        CreateStreamErrorKind::Response | CreateStreamErrorKind::ResponseParse => {
            by_state(connected, message)
        }
    }
}
