//! Application hooks that decide who may connect, join and relay.

use std::sync::Arc;

use std::net::IpAddr;

use http::{HeaderMap, Uri};

use serde_json::Value;

use crate::app::BoxFuture;
use crate::error::HandlerError;
use crate::session::handshake::Transport;
use crate::session::history::HistoryRooms;
use crate::session::identity::UserGrant;
use crate::session::presence::PresenceRooms;
use crate::tokens::TokenVerifier;

/// What the authentication hook sees of a handshake.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HandshakeRequest {
    /// The request's headers.
    pub headers: HeaderMap,
    /// The request's URI, with its query.
    pub uri: Uri,
    /// The `token` query parameter, if given.
    pub token: Option<String>,
    /// The socket's id: the one a new session gets, or, when the handshake
    /// resumes a session this node holds ([`HandshakeRequest::resumes`]),
    /// that session's.
    pub socket_id: String,
    /// Whether the handshake asks to resume a session this node holds. A
    /// resume that is then refused (another user's token, say) opens a new
    /// session with another id.
    pub resumes: bool,
    /// What the handshake's token grants, when the hub checks tokens and
    /// one was given ([`crate::HubBuilder::tokens`]).
    pub user: Option<UserGrant>,
    /// The transport the link asks for.
    pub transport: Transport,
    /// The client's address (the TCP peer, or the address a trusted proxy
    /// names), when the request has a peer address.
    pub client_ip: Option<IpAddr>,
}

/// A refused authentication: the handshake is answered `403` with this
/// message and the code `unauthorized` (or another code), or `503`
/// `unavailable` when a service the hook asked did not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct AuthRejection {
    code: String,
    message: String,
    unavailable: bool,
}

impl AuthRejection {
    /// A `403` with the code `unauthorized` and this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self::with_code("unauthorized", message)
    }

    /// A `403` with this code and message.
    pub fn with_code(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            unavailable: false,
        }
    }

    /// A `503` `unavailable`: the hook could not decide (its back end did
    /// not answer).
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self {
            code: "unavailable".into(),
            message: message.into(),
            unavailable: true,
        }
    }

    /// The error code of the answer's body.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message of the answer's body.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether the answer is `503` (else `403`).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
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
/// Decides a `$join`: `Err` refuses it, and its code and message reach the
/// client.
pub(crate) type JoinPolicy<S> =
    Arc<dyn Fn(S, String) -> BoxFuture<Result<(), HandlerError>> + Send + Sync>;
/// Decides a `$join` at once, without waiting: `Err` refuses it, and its
/// code and message reach the client.
pub(crate) type JoinRule<S> = Arc<dyn Fn(&S, &str) -> Result<(), HandlerError> + Send + Sync>;
/// Decides a relay, seeing its data: `Ok(None)` relays it as sent,
/// `Ok(Some(data))` relays that data instead, `Err` refuses it (its code
/// and message reach the sender).
pub(crate) type RelayPolicy<S> = Arc<
    dyn Fn(S, RelayRequest, Value) -> BoxFuture<Result<Option<Value>, HandlerError>> + Send + Sync,
>;

/// The hooks a hub was built with, generic over the socket handle `S` the
/// join and relay policies are called with (the hub's `Socket`).
pub(crate) struct Policies<S> {
    /// Runs before the upgrade; `None` lets everyone in.
    pub(crate) auth: Option<AuthHook>,
    /// Decides `$join` at once, before `join`; `None` allows every room.
    pub(crate) join_rule: Option<JoinRule<S>>,
    /// Decides `$join`, and may wait; `None` allows every room.
    pub(crate) join: Option<JoinPolicy<S>>,
    /// Decides relays; `None` allows members of the room.
    pub(crate) relay: Option<RelayPolicy<S>>,
    /// The application's own WebSocket subprotocols, beside the protocol's
    /// (PROTOCOL.md section 1).
    pub(crate) subprotocols: Vec<Arc<str>>,
    /// Checks every handshake's token (PROTOCOL.md section 10); `None`
    /// checks none.
    pub(crate) tokens: Option<TokenVerifier>,
    /// With tokens checked: a client that sends none gets in, anonymous.
    pub(crate) allow_anonymous: bool,
    /// The rooms that keep presence (PROTOCOL.md section 10); `None`: none.
    pub(crate) presence: Option<PresenceRooms>,
    /// The rooms that keep history (PROTOCOL.md section 11); `None`: none.
    pub(crate) history: Option<HistoryRooms>,
}

// Written out: a derive would ask `S: Default` / `S: Clone`.
impl<S> Default for Policies<S> {
    fn default() -> Self {
        Self {
            auth: None,
            join_rule: None,
            join: None,
            relay: None,
            subprotocols: Vec::new(),
            tokens: None,
            allow_anonymous: false,
            presence: None,
            history: None,
        }
    }
}

impl<S> Clone for Policies<S> {
    fn clone(&self) -> Self {
        Self {
            auth: self.auth.clone(),
            join_rule: self.join_rule.clone(),
            join: self.join.clone(),
            relay: self.relay.clone(),
            subprotocols: self.subprotocols.clone(),
            tokens: self.tokens.clone(),
            allow_anonymous: self.allow_anonymous,
            presence: self.presence.clone(),
            history: self.history.clone(),
        }
    }
}
