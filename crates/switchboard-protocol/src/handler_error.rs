//! A handler's failure, on either side of a link: the hub's event handlers
//! and the client's both answer an ack with it.

use std::fmt;

use crate::codes::ErrorCode;
use crate::message::ErrorBody;

/// The error a handler returns: it becomes the ack reply's `error`
/// (PROTOCOL.md section 3). The hub's handlers answer clients with it, the
/// client's handlers answer the hub.
///
/// Any `std::error::Error` converts into it with `?` (code `internal`); use
/// [`HandlerError::with_code`] for an application code the peer can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandlerError {
    /// The code sent to the peer.
    pub code: String,
    /// The message sent to the peer.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_converts_to_internal() {
        let error: HandlerError = std::io::Error::other("disk full").into();
        assert_eq!(error.code, "internal");
        assert_eq!(error.message, "disk full");
        assert_eq!(error.to_body().code, "internal");
        assert_eq!(
            HandlerError::with_code("quota", "too many").to_string(),
            "quota: too many"
        );
    }
}
