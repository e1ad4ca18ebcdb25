//! Type-erased handlers and the table that routes events to them, generic
//! over the socket handle `S` they are called with (the hub's `Socket`).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{DisconnectReason, HandlerError, HubError};
use crate::session::inbox::RawFrame;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pub(crate) type EventHandler<S> =
    Arc<dyn Fn(S, Value) -> BoxFuture<Result<Value, HandlerError>> + Send + Sync>;
pub(crate) type ConnectHandler<S> = Arc<dyn Fn(S) -> BoxFuture<()> + Send + Sync>;
pub(crate) type DisconnectHandler<S> =
    Arc<dyn Fn(S, DisconnectReason) -> BoxFuture<()> + Send + Sync>;
pub(crate) type ErrorHandler<S> = Arc<dyn Fn(&S, &HubError) + Send + Sync>;
pub(crate) type FallbackHandler<S> =
    Arc<dyn Fn(S, FallbackEvent) -> BoxFuture<Result<Value, HandlerError>> + Send + Sync>;

/// An event no handler of its own took, as
/// [`HubBuilder::on_fallback_event`](crate::HubBuilder::on_fallback_event)
/// receives it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FallbackEvent {
    /// The event's name.
    pub event: String,
    /// Its data (`null` when absent).
    pub data: Value,
    /// Whether the client asked for a reply: without one, an `Ok` result
    /// is dropped and an `Err` is sent as `$error`.
    pub wants_ack: bool,
}
pub(crate) type RawHandler<S> = Arc<dyn Fn(S, RawFrame) -> BoxFuture<()> + Send + Sync>;

/// Where each kind of inbound traffic goes.
pub(crate) struct EventRouter<S> {
    pub(crate) events: HashMap<String, EventHandler<S>>,
    pub(crate) connect: Option<ConnectHandler<S>>,
    pub(crate) disconnect: Option<DisconnectHandler<S>>,
    pub(crate) error: Option<ErrorHandler<S>>,
    pub(crate) fallback: Option<FallbackHandler<S>>,
    pub(crate) raw: Option<RawHandler<S>>,
}

// Written out: a derive would ask `S: Default` / `S: Clone`.
impl<S> Default for EventRouter<S> {
    fn default() -> Self {
        Self {
            events: HashMap::new(),
            connect: None,
            disconnect: None,
            error: None,
            fallback: None,
            raw: None,
        }
    }
}

impl<S> Clone for EventRouter<S> {
    fn clone(&self) -> Self {
        Self {
            events: self.events.clone(),
            connect: self.connect.clone(),
            disconnect: self.disconnect.clone(),
            error: self.error.clone(),
            fallback: self.fallback.clone(),
            raw: self.raw.clone(),
        }
    }
}

/// Wraps a typed handler: decodes the payload into `T` (a payload that does
/// not decode never reaches the handler) and encodes its result.
pub(crate) fn erase_event<S, T, R, F, Fut>(event: &str, handler: F) -> EventHandler<S>
where
    S: Send + 'static,
    T: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(S, T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
{
    let event: Arc<str> = Arc::from(event);
    Arc::new(move |socket, data| {
        let payload = switchboard_protocol::binary::from_value::<T>(data);
        match payload {
            Ok(payload) => {
                let fut = handler(socket, payload);
                Box::pin(async move {
                    let value = fut.await?;
                    serde_json::to_value(value).map_err(|e| {
                        HandlerError::new(format!("the handler's reply does not serialize: {e}"))
                    })
                })
            }
            Err(error) => {
                let error = bad_payload(&event, error);
                Box::pin(async move { Err(error) })
            }
        }
    })
}

/// A `bad_message` error: the payload of `event` did not decode.
fn bad_payload(event: &str, error: impl std::fmt::Display) -> HandlerError {
    HandlerError::with_code(
        switchboard_protocol::ErrorCode::BadMessage.as_str(),
        format!("the data of `{event}` does not decode: {error}"),
    )
}
