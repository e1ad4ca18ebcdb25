//! How redis-rs errors map to the adapter's [`DriverError`] kinds, for
//! both the connecting driver and the publishing link.

use redis::{ErrorKind, RedisError};
use switchboard::adapter::DriverError;

/// Maps a redis-rs error to the driver's three kinds: what the server
/// answered is `Refused`, a bad configuration is `Config`, and everything
/// else (I/O errors, timeouts, a broken protocol stream) is `Unreachable`.
pub(crate) fn driver_error(context: &str, e: &RedisError) -> DriverError {
    let message = format!("{context}: {e}");
    match e.kind() {
        ErrorKind::AuthenticationFailed | ErrorKind::Server(_) | ErrorKind::Extension => {
            DriverError::Refused(message)
        }
        ErrorKind::InvalidClientConfig => DriverError::Config(message),
        _ => DriverError::Unreachable(message),
    }
}
