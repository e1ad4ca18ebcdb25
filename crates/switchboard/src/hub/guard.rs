//! Calling the application's code: a handler's panic is contained and
//! reported to the error handler, and the socket goes on.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::error::HubError;
use crate::hub::handle::Socket;

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

/// Runs `fut`, turning a panic into a reported error.
pub(crate) async fn guarded<T>(
    socket: &Socket,
    what: &str,
    fut: impl Future<Output = T>,
) -> Option<T> {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(value) => Some(value),
        Err(panic) => {
            let error = HubError::Panic {
                event: what.to_owned(),
                message: panic_message(&*panic),
            };
            tracing::error!(socket = socket.id(), %error, "handler panicked");
            report(socket, &error);
            None
        }
    }
}

/// Hands an error to the application's error handler, if it has one.
pub(crate) fn report(socket: &Socket, error: &HubError) {
    if let Some(handler) = &socket.hub.event_router().error {
        let handler = handler.clone();
        // The error handler is the application's: a panic there must not
        // take the dispatcher down either.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| handler(socket, error)));
    }
}
