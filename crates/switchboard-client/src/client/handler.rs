//! Typed event handlers, erased to one shape.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::HandlerError;

/// An erased handler's future: the reply's data, or the error body.
pub(crate) type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, HandlerError>> + Send>>;

/// A handler taking the raw `data` of an event.
pub(crate) type ErasedHandler = Arc<dyn Fn(Value) -> HandlerFuture + Send + Sync>;

/// Wraps a typed handler: the data is decoded into `T` (a payload that does
/// not decode fails with `bad_message`), the value is encoded as the reply.
pub(crate) fn erase<T, R, F, Fut>(event: &str, handler: F) -> ErasedHandler
where
    T: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
{
    let event = event.to_owned();
    let handler = Arc::new(handler);
    Arc::new(move |data: Value| -> HandlerFuture {
        let decoded = switchboard_protocol::binary::from_value::<T>(data).map_err(|e| {
            HandlerError::with_code(
                "bad_message",
                format!("the data of `{event}` does not decode: {e}"),
            )
        });
        let handler = handler.clone();
        Box::pin(async move {
            let value = handler(decoded?).await?;
            serde_json::to_value(value).map_err(HandlerError::from)
        })
    })
}

/// The handlers by event name, shared by the handle and the connection
/// task. The lock is never held across `.await`.
#[derive(Default, Clone)]
pub(crate) struct Handlers(Arc<RwLock<HashMap<String, ErasedHandler>>>);

impl Handlers {
    pub(crate) fn insert(&self, event: &str, handler: ErasedHandler) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(event.to_owned(), handler);
    }

    pub(crate) fn get(&self, event: &str) -> Option<ErasedHandler> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(event)
            .cloned()
    }
}
