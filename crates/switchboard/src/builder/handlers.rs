//! The builder's handlers and policies: what the hub calls with a socket.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::HubBuilder;
use crate::app::handlers::{FallbackEvent, erase_event};
use crate::app::policies::{AuthRejection, HandshakeRequest, RelayRequest};
use crate::error::{DisconnectReason, HandlerError, HubError};
use crate::hub::handle::Socket;
use crate::session::inbox::RawFrame;
use crate::tokens::TokenVerifier;

impl<S> HubBuilder<S> {
    /// Handles event `event`: its data is decoded into `T` (data that does
    /// not decode is answered with a `bad_message` error and never reaches
    /// the handler); the `Ok` value is the reply when the client asked for
    /// an ack, the `Err` its error. A socket's handlers run one at a time, in
    /// arrival order.
    pub fn on<T, R, F, Fut>(mut self, event: &str, handler: F) -> Self
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(Socket, T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
    {
        self.router
            .events
            .insert(event.to_owned(), erase_event(event, handler));
        self
    }

    /// Runs when a socket connects, before any of its events.
    pub fn on_connect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Socket) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.router.connect = Some(Arc::new(move |s| Box::pin(handler(s))));
        self
    }

    /// Runs once when a socket has disconnected, after its last event.
    pub fn on_disconnect<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Socket, DisconnectReason) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.router.disconnect = Some(Arc::new(move |s, r| Box::pin(handler(s, r))));
        self
    }

    /// Called for every handler failure or panic and every bad message.
    pub fn on_error<F>(mut self, handler: F) -> Self
    where
        F: Fn(&Socket, &HubError) + Send + Sync + 'static,
    {
        self.router.error = Some(Arc::new(handler));
        self
    }

    /// Handles events that have no handler of their own (and were not taken
    /// by a bound channel or the message stream).
    pub fn on_fallback<R, F, Fut>(self, handler: F) -> Self
    where
        R: Serialize + Send + 'static,
        F: Fn(Socket, String, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
    {
        self.on_fallback_event(move |socket, event: FallbackEvent| {
            handler(socket, event.event, event.data)
        })
    }

    /// [`HubBuilder::on_fallback`], with the whole event: its name, its
    /// data, and whether the client asked for a reply (a handler that
    /// forwards events elsewhere may answer only those that did).
    pub fn on_fallback_event<R, F, Fut>(mut self, handler: F) -> Self
    where
        R: Serialize + Send + 'static,
        F: Fn(Socket, FallbackEvent) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
    {
        let handler = Arc::new(handler);
        self.router.fallback = Some(Arc::new(move |socket, event| {
            let fut = handler(socket, event);
            Box::pin(async move {
                let value = fut.await?;
                serde_json::to_value(value)
                    .map_err(|e| HandlerError::new(format!("reply does not serialize: {e}")))
            })
        }));
        self
    }

    /// Handles every frame in raw mode.
    pub fn on_raw<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Socket, RawFrame) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.router.raw = Some(Arc::new(move |s, f| Box::pin(handler(s, f))));
        self
    }

    /// Checks a JSON Web Token at every handshake (PROTOCOL.md section 10):
    /// the `token` query parameter or an `Authorization: Bearer` header, on
    /// both transports. A missing or invalid token is refused `401`
    /// `unauthorized`, an expired one `401` `token_expired`. The token's
    /// `sub` is the socket's user ([`Socket::user`]); `$welcome` carries
    /// `user` and `expires_at`; a client renews its token with `$refresh`
    /// before it expires, else its link is closed with `4003` and its
    /// session waits for a resume with a token of the same user. Rooms in
    /// the token's `join` claim are joined at connect.
    ///
    /// ```
    /// use switchboard::{Hub, TokenVerifier};
    ///
    /// let hub = Hub::builder()
    ///     .tokens(TokenVerifier::hmac(b"a secret of at least 32 bytes....."))
    ///     .build();
    /// # drop(hub);
    /// ```
    pub fn tokens(mut self, verifier: TokenVerifier) -> Self {
        self.policies.tokens = Some(verifier);
        self
    }

    /// With [`HubBuilder::tokens`]: a client that sends no token at all
    /// gets in as anonymous (no user); a bad or expired token is still
    /// refused. Default false.
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.policies.allow_anonymous = allow;
        self
    }

    /// Keeps presence (PROTOCOL.md section 10) for the rooms `rooms`
    /// accepts: their members may ask who is in them (`$presence`, and
    /// [`Hub::presence`](crate::Hub::presence)), and hear `$joined` when a
    /// user's first socket joins and `$left` when its last one leaves or
    /// ends, counted over every node of a cluster (the users of a node
    /// that dies leave once the others count it gone). Default: no room.
    ///
    /// ```
    /// let hub = switchboard::Hub::builder()
    ///     .presence(|room: &str| room.starts_with("chat-"))
    ///     .build();
    /// # drop(hub);
    /// ```
    pub fn presence<F>(mut self, rooms: F) -> Self
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        self.policies.presence = Some(std::sync::Arc::new(rooms));
        self
    }

    /// Keeps history (PROTOCOL.md section 11) for the rooms `rooms`
    /// accepts: every message broadcast or relayed to such a room gets an
    /// `offset` and is kept (its last
    /// [`history_size`](Self::history_size) messages, each for
    /// [`history_ttl`](Self::history_ttl)); a `$join` answers the room's
    /// `epoch` and `offset`, and a `$join` with `since` gets the messages
    /// the client missed, in order, before any later one. A single hub
    /// keeps the history in memory; a clustered hub keeps it in its
    /// backend ([`Driver::history`](crate::adapter::Driver::history)), and
    /// a message to a history room reaches the members of every node in
    /// the order of its offsets. Default: no room.
    ///
    /// Not kept: [`local`](crate::BroadcastOperator::local) broadcasts, raw
    /// frames, acked broadcasts and sends to sockets or users.
    ///
    /// ```
    /// let hub = switchboard::Hub::builder()
    ///     .history(|room: &str| room.starts_with("feed-"))
    ///     .history_size(500)
    ///     .build();
    /// # drop(hub);
    /// ```
    pub fn history<F>(mut self, rooms: F) -> Self
    where
        F: Fn(&str) -> bool + Send + Sync + 'static,
    {
        self.policies.history = Some(std::sync::Arc::new(rooms));
        self
    }

    /// Messages each history room keeps (default 100, at least 1).
    pub fn history_size(mut self, messages: usize) -> Self {
        self.config.history_limits.size = messages.max(1);
        self
    }

    /// How long a history room keeps each message (default 5 minutes).
    /// A room whose messages have all expired starts a new epoch.
    pub fn history_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.config.history_limits.ttl = ttl;
        self
    }

    /// Authenticates each handshake before the upgrade: `Ok` carries app
    /// data attached to the socket ([`Socket::extension`]), `Err` answers
    /// `403`.
    pub fn authenticate<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(HandshakeRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<http::Extensions, AuthRejection>> + Send + 'static,
    {
        self.policies.auth = Some(Arc::new(move |r| Box::pin(hook(r))));
        self
    }

    /// Registers an application's own WebSocket subprotocol (offered by
    /// clients in `Sec-WebSocket-Protocol`, PROTOCOL.md section 1), beside
    /// the protocol's `switchboard.v1` (JSON) and `switchboard.v1.msgpack`.
    ///
    /// Of the names a client offers, the hub selects the first it speaks
    /// and answers it; the socket sees it in [`Socket::subprotocol`]. An
    /// application's name does not choose a codec: the `codec` query
    /// parameter does (default JSON). A client that offers only unknown
    /// names still connects, with none selected. Names are compared
    /// exactly (case-sensitive); the protocol's own names, or a name
    /// registered twice, are not added again. In raw mode
    /// ([`HubBuilder::raw_mode`]) only the application's names are
    /// selected, since raw sockets do not speak the protocol.
    ///
    /// ```
    /// let hub = switchboard::Hub::builder()
    ///     .subprotocol("chat.v2")
    ///     .on_connect(|socket| async move {
    ///         if socket.subprotocol() == Some("chat.v2") {
    ///             let _ = socket.emit("hello", "chat v2 spoken here");
    ///         }
    ///     })
    ///     .build();
    /// # drop(hub);
    /// ```
    ///
    /// # Panics
    ///
    /// When `name` is not a valid subprotocol token (RFC 6455: visible
    /// ASCII, no separators such as `,` `;` `"` or spaces, not empty).
    pub fn subprotocol(mut self, name: &str) -> Self {
        assert!(
            is_token(name),
            "{name:?} is not a valid WebSocket subprotocol name (an RFC 7230 token)"
        );
        let known = switchboard_protocol::Codec::from_subprotocol(name).is_some()
            || self.policies.subprotocols.iter().any(|n| &**n == name);
        if !known {
            self.policies.subprotocols.push(Arc::from(name));
        }
        self
    }

    /// Gives every handler application state by type, without a global:
    /// set once here (one value per type; a second value of the same type
    /// replaces the first), read with [`Socket::state`] or [`Hub::state`](crate::Hub::state),
    /// which answer `None` for a type never given. Share what changes
    /// behind an `Arc`, a lock or an atomic inside `T`.
    ///
    /// For state checked at compile time, as axum's `State` is, use
    /// [`HubBuilder::with_state`] and [`HubBuilder::on_state`].
    ///
    /// How it differs from the other per-socket data:
    /// - `state` is the hub's: one value, for every socket, set when the
    ///   hub is built (a database pool, a configuration, a counter);
    /// - [`Socket::extension`] is the socket's: the values the
    ///   [`HubBuilder::authenticate`] hook returned for its handshake;
    /// - [`Socket::req_extension`] is the socket's too: the request
    ///   extensions tower or axum middleware set before the upgrade.
    ///
    /// A hub with no state pays nothing for it (an empty pointer).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use switchboard::{HandlerError, Hub, Socket};
    ///
    /// #[derive(Default)]
    /// struct Counter(AtomicU64);
    ///
    /// let hub = Hub::builder()
    ///     .state(Arc::new(Counter::default()))
    ///     .on("count", |socket: Socket, _: serde_json::Value| async move {
    ///         let counter = socket.state::<Arc<Counter>>().expect("set in the builder");
    ///         Ok::<_, HandlerError>(counter.0.fetch_add(1, Ordering::Relaxed) + 1)
    ///     })
    ///     .build();
    /// assert!(hub.state::<Arc<Counter>>().is_some());
    /// assert!(hub.state::<String>().is_none());
    /// ```
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Decides each client `$join` (default: every room is allowed); a
    /// refused join is answered `forbidden`. [`HubBuilder::join_hook`]
    /// chooses the error.
    pub fn join_policy<F, Fut>(mut self, policy: F) -> Self
    where
        F: Fn(Socket, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.policies.join = Some(Arc::new(move |s, room: String| {
            let allowed = policy(s, room.clone());
            Box::pin(async move {
                if allowed.await {
                    Ok(())
                } else {
                    Err(forbidden(format!("joining room `{room}` is not allowed")))
                }
            })
        }));
        self
    }

    /// Decides each client `$join` (default: every room is allowed), as
    /// [`HubBuilder::join_policy`] does, with the error the client gets: an
    /// `Err`'s code and message (`forbidden`, `unavailable` when a service
    /// it asked did not answer, or the application's own).
    pub fn join_hook<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Socket, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.policies.join = Some(Arc::new(move |s, room| Box::pin(hook(s, room))));
        self
    }

    /// Decides each client `$join` at once, without waiting (default:
    /// every room is allowed): an `Err`'s code and message reach the
    /// client, as with [`HubBuilder::join_hook`]. It runs before the join
    /// hook, if there is one; without one, the connection answers a
    /// `$join` itself, so that a socket that only joins rooms (an idle
    /// subscriber) keeps no task of its own for its events, a few KiB.
    ///
    /// ```
    /// use switchboard::{Hub, HandlerError, Socket};
    ///
    /// let hub = Hub::builder()
    ///     .join_rule(|_socket: &Socket, room: &str| {
    ///         if room.starts_with("admin-") {
    ///             Err(HandlerError::with_code("forbidden", "members only"))
    ///         } else {
    ///             Ok(())
    ///         }
    ///     })
    ///     .build();
    /// # drop(hub);
    /// ```
    pub fn join_rule<F>(mut self, rule: F) -> Self
    where
        F: Fn(&Socket, &str) -> Result<(), HandlerError> + Send + Sync + 'static,
    {
        self.policies.join_rule = Some(Arc::new(rule));
        self
    }

    /// Decides each client relay (default: allowed when the sender is a
    /// member of the room); a refused relay is answered `forbidden`.
    /// [`HubBuilder::relay_hook`] sees the data and chooses the error.
    pub fn relay_policy<F, Fut>(mut self, policy: F) -> Self
    where
        F: Fn(Socket, RelayRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        self.policies.relay = Some(Arc::new(move |s, request: RelayRequest, _data| {
            let room = request.room.clone();
            let allowed = policy(s, request);
            Box::pin(async move {
                if allowed.await {
                    Ok(None)
                } else {
                    Err(forbidden(format!(
                        "relaying to room `{room}` is not allowed"
                    )))
                }
            })
        }));
        self
    }

    /// Decides each client relay (default: allowed when the sender is a
    /// member of the room), seeing its data: `Ok(None)` relays it as sent,
    /// `Ok(Some(data))` relays `data` instead (a moderated message, say),
    /// and an `Err`'s code and message reach the sender. The hook is the
    /// whole rule: check membership in it if the room's members alone may
    /// relay.
    pub fn relay_hook<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(Socket, RelayRequest, Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Value>, HandlerError>> + Send + 'static,
    {
        self.policies.relay = Some(Arc::new(move |s, r, data| Box::pin(hook(s, r, data))));
        self
    }
}

/// A policy's refusal: `forbidden`.
fn forbidden(message: String) -> HandlerError {
    HandlerError::with_code(switchboard_protocol::ErrorCode::Forbidden.as_str(), message)
}

/// Whether `name` is an RFC 7230 token, as a subprotocol name must be.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| {
            b.is_ascii_graphic()
                && !matches!(
                    b,
                    b'(' | b')'
                        | b'<'
                        | b'>'
                        | b'@'
                        | b','
                        | b';'
                        | b':'
                        | b'\\'
                        | b'"'
                        | b'/'
                        | b'['
                        | b']'
                        | b'?'
                        | b'='
                        | b'{'
                        | b'}'
                )
        })
}
