//! The hub's hooks of the server: the room rules ([`crate::room_rules`];
//! for `$join` a join rule, which answers at once) and, when configured,
//! the back-end calls behind them. A back-end join or publish call is made
//! only for what the room rules allow.

use std::sync::Arc;

use serde_json::Value;
use switchboard::protocol::ErrorCode;
use switchboard::{
    FallbackEvent, HandlerError, HandshakeRequest, HubBuilder, RelayRequest, Socket,
};

use super::{Backend, Hook};
use crate::config::{Config, ConfigError};
use crate::room_rules::{join_allowed, relay_allowed};

/// Sets the join and relay hooks of `builder` (the room rules, then the
/// back end's join and publish calls) and, with a back end, its
/// authentication, fallback and disconnect hooks for the URLs given. The
/// back end's counters go in the hub's state (an `Arc<BackendStats>`),
/// for `/metrics`.
pub fn install(builder: HubBuilder, config: &Config) -> Result<HubBuilder, ConfigError> {
    let backend = config.backend.clone().map(Backend::new).transpose()?;
    let rooms = Arc::new(config.rooms.clone());
    let join_backend = backend.clone();
    let relay_backend = backend.clone();
    // The room rules answer at once (a join rule): without a back-end
    // join call, the connection answers a `$join` itself.
    let mut builder = builder.join_rule(move |socket: &Socket, room: &str| {
        if join_allowed(socket, room, &rooms) {
            Ok(())
        } else {
            Err(forbidden(format!("joining room `{room}` is not allowed")))
        }
    });
    if let Some(backend) = join_backend.filter(|backend| backend.url(Hook::Join).is_some()) {
        builder = builder.join_hook(move |socket: Socket, room: String| {
            let backend = backend.clone();
            async move { backend.join(&socket, &room).await }
        });
    }
    builder = builder.relay_hook(move |socket: Socket, request: RelayRequest, data: Value| {
        let allowed = relay_allowed(&socket, &request.room);
        let backend = relay_backend.clone();
        async move {
            if !allowed {
                let room = request.room;
                return Err(forbidden(format!(
                    "relaying to room `{room}` is not allowed"
                )));
            }
            match &backend {
                Some(backend) => {
                    backend
                        .publish(&socket, &request.room, &request.event, &data)
                        .await
                }
                None => Ok(None),
            }
        }
    });
    let Some(backend) = backend else {
        return Ok(builder);
    };
    builder = builder.state(backend.stats().clone());
    if backend.url(Hook::Connect).is_some() {
        let backend = backend.clone();
        builder = builder.authenticate(move |request: HandshakeRequest| {
            let backend = backend.clone();
            async move { backend.connect(request).await }
        });
    }
    if backend.url(Hook::Event).is_some() {
        let backend = backend.clone();
        builder = builder.on_fallback_event(move |socket: Socket, event: FallbackEvent| {
            let backend = backend.clone();
            async move {
                let answer = backend.event(&socket, &event.event, &event.data).await;
                // PROTOCOL.md section 10: an event without `ack` is
                // delivered and the back end's answer dropped, an error
                // included (it is counted and logged by the call).
                if event.wants_ack {
                    answer
                } else {
                    Ok(Value::Null)
                }
            }
        });
    }
    if backend.url(Hook::Disconnect).is_some() {
        builder = builder.on_disconnect(move |socket, reason| {
            let backend = backend.clone();
            async move { backend.disconnect(&socket, &reason).await }
        });
    }
    Ok(builder)
}

/// A room rule's refusal: `forbidden`.
fn forbidden(message: String) -> HandlerError {
    HandlerError::with_code(ErrorCode::Forbidden.as_str(), message)
}
