//! Type-erased handlers and the table that routes events to them.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{DisconnectReason, HandlerError, HubError};
use crate::session::inbox::RawFrame;
use crate::socket::Socket;

/// A boxed, sendable future.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pub(crate) type EventHandler =
    Arc<dyn Fn(Socket, Value) -> BoxFuture<Result<Value, HandlerError>> + Send + Sync>;
pub(crate) type ConnectHandler = Arc<dyn Fn(Socket) -> BoxFuture<()> + Send + Sync>;
pub(crate) type DisconnectHandler =
    Arc<dyn Fn(Socket, DisconnectReason) -> BoxFuture<()> + Send + Sync>;
pub(crate) type ErrorHandler = Arc<dyn Fn(&Socket, &HubError) + Send + Sync>;
pub(crate) type FallbackHandler =
    Arc<dyn Fn(Socket, String, Value) -> BoxFuture<Result<Value, HandlerError>> + Send + Sync>;
pub(crate) type RawHandler = Arc<dyn Fn(Socket, RawFrame) -> BoxFuture<()> + Send + Sync>;

/// Where each kind of inbound traffic goes.
#[derive(Clone, Default)]
pub(crate) struct EventRouter {
    pub(crate) events: HashMap<String, EventHandler>,
    pub(crate) connect: Option<ConnectHandler>,
    pub(crate) disconnect: Option<DisconnectHandler>,
    pub(crate) error: Option<ErrorHandler>,
    pub(crate) fallback: Option<FallbackHandler>,
    pub(crate) raw: Option<RawHandler>,
}

/// Wraps a typed handler: decodes the payload into `T` (a payload that does
/// not decode never reaches the handler) and encodes its result.
pub(crate) fn erase_event<T, R, F, Fut>(event: &str, handler: F) -> EventHandler
where
    T: DeserializeOwned + Send + 'static,
    R: Serialize + Send + 'static,
    F: Fn(Socket, T) -> Fut + Send + Sync + 'static,
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
                let error = HandlerError::bad_payload(&event, error);
                Box::pin(async move { Err(error) })
            }
        }
    })
}
