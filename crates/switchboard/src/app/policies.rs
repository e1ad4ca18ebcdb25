//! Application hooks that decide who may connect, join and relay.

use std::sync::Arc;

use http::{HeaderMap, Uri};

use crate::app::BoxFuture;

/// What the authentication hook sees of a handshake.
#[derive(Debug, Clone)]
pub struct HandshakeRequest {
    /// The request's headers.
    pub headers: HeaderMap,
    /// The request's URI, with its query.
    pub uri: Uri,
    /// The `token` query parameter, if given.
    pub token: Option<String>,
}

/// A refused authentication: the handshake is answered `403` with this
/// message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct AuthRejection(pub String);

impl AuthRejection {
    /// A rejection with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// A client's request to relay an event to a room (PROTOCOL.md section 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayRequest {
    /// The room to relay to.
    pub room: String,
    /// The event's name.
    pub event: String,
}

pub(crate) type AuthHook = Arc<
    dyn Fn(HandshakeRequest) -> BoxFuture<Result<http::Extensions, AuthRejection>> + Send + Sync,
>;
pub(crate) type JoinPolicy<S> = Arc<dyn Fn(S, String) -> BoxFuture<bool> + Send + Sync>;
pub(crate) type RelayPolicy<S> = Arc<dyn Fn(S, RelayRequest) -> BoxFuture<bool> + Send + Sync>;

/// The hooks a hub was built with, generic over the socket handle `S` the
/// join and relay policies are called with (the hub's `Socket`).
pub(crate) struct Policies<S> {
    /// Runs before the upgrade; `None` lets everyone in.
    pub(crate) auth: Option<AuthHook>,
    /// Decides `$join`; `None` allows every room.
    pub(crate) join: Option<JoinPolicy<S>>,
    /// Decides relays; `None` allows members of the room.
    pub(crate) relay: Option<RelayPolicy<S>>,
    /// The application's own WebSocket subprotocols, beside the protocol's
    /// (PROTOCOL.md section 1).
    pub(crate) subprotocols: Vec<Arc<str>>,
}

// Written out: a derive would ask `S: Default` / `S: Clone`.
impl<S> Default for Policies<S> {
    fn default() -> Self {
        Self {
            auth: None,
            join: None,
            relay: None,
            subprotocols: Vec::new(),
        }
    }
}

impl<S> Clone for Policies<S> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
            join: self.join.clone(),
            relay: self.relay.clone(),
            subprotocols: self.subprotocols.clone(),
        }
    }
}
