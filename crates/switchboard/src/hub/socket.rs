//! What the socket handle does: emit, acks, rooms, disconnect. The
//! handle itself is defined with the hub's ([`super::handle`]).

use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_protocol::{CloseCode, Codec, Message};

use crate::adapter::Operation;
use crate::error::{AckError, DisconnectReason, SendError};
use crate::hub::handle::{Hub, Socket};
use crate::send_queue::Outgoing;
use crate::session::handshake::Handshake;
use crate::session::identity::Identity;
use crate::session::shared::to_value;

impl Socket {
    /// The socket's public id, unique across the cluster.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// The hub this socket belongs to.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// The codec the client chose at the handshake.
    pub fn codec(&self) -> Codec {
        self.shared.codec
    }

    /// The user of this socket: the `sub` of the token it connected with
    /// ([`crate::HubBuilder::tokens`]); `None` for an anonymous socket.
    pub fn user(&self) -> Option<&str> {
        self.shared.identity.as_deref().map(Identity::user)
    }

    /// The user and what its token grants (expiry, `info`, room patterns);
    /// `None` for an anonymous socket.
    pub fn identity(&self) -> Option<&Identity> {
        self.shared.identity.as_deref()
    }

    /// App data attached by the authentication hook
    /// ([`crate::HubBuilder::authenticate`]).
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.shared.extensions.get::<T>()
    }

    /// The request this socket's session was opened with: URI and query,
    /// headers, client address, codec and subprotocol, and the request
    /// extensions middleware set (see [`Handshake`]). A resumed session
    /// keeps the handshake that opened it.
    ///
    /// Each session holds it in two allocations: the handshake's fixed
    /// part (136 bytes on 64-bit targets), and its URI and headers copied
    /// as text into one buffer (about the size they had on the wire). The
    /// `HeaderMap` and `Uri` are built the first time they are asked for.
    pub fn handshake(&self) -> &Handshake {
        &self.shared.handshake
    }

    /// The WebSocket subprotocol selected at the handshake
    /// (`Sec-WebSocket-Protocol`, PROTOCOL.md section 1), if any.
    pub fn subprotocol(&self) -> Option<&str> {
        self.shared.handshake.subprotocol()
    }

    /// A value that tower or axum middleware inserted into the handshake
    /// request's extensions before the upgrade (shorthand for
    /// `socket.handshake().extensions().get::<T>()`). This is how an
    /// application's own auth layer hands its user to the handlers, with
    /// no [`crate::HubBuilder::authenticate`] hook:
    ///
    /// ```
    /// use axum::{extract::Request, middleware::{self, Next}, response::Response};
    /// use switchboard::{HandlerError, Hub, Socket};
    ///
    /// #[derive(Clone)]
    /// struct CurrentUser(String);
    ///
    /// async fn auth(mut request: Request, next: Next) -> Response {
    ///     // A real layer checks a cookie or a token here.
    ///     request.extensions_mut().insert(CurrentUser("ada".into()));
    ///     next.run(request).await
    /// }
    ///
    /// let hub = Hub::builder()
    ///     .on("whoami", |socket: Socket, _: serde_json::Value| async move {
    ///         let user = socket.req_extension::<CurrentUser>().map(|u| u.0.clone());
    ///         Ok::<_, HandlerError>(user)
    ///     })
    ///     .build();
    /// let app = axum::Router::new()
    ///     .merge(hub.router("/ws"))
    ///     .layer(middleware::from_fn(auth));
    /// # drop(app);
    /// ```
    pub fn req_extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.shared.handshake.extensions().get::<T>()
    }

    /// The hub's application state of type `T`
    /// ([`crate::HubBuilder::state`]), if the hub was given one.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.hub.state::<T>()
    }

    /// What the socket's send queue and resume buffer hold now (one
    /// short lock of the queue).
    pub fn queue_depths(&self) -> crate::stats::QueueDepths {
        self.shared.queue.depths()
    }

    /// Sends an event to this socket.
    pub fn emit(&self, event: &str, data: impl Serialize) -> Result<(), SendError> {
        let message = Message::event(event, to_value(data)?);
        self.send_message(&message)
    }

    pub(crate) fn send_message(&self, message: &Message) -> Result<(), SendError> {
        self.send_message_of(message, None)
    }

    /// Sends a message of the cluster operation `op` (see
    /// [`OpId`](crate::id::OpId)).
    pub(crate) fn send_message_of(
        &self,
        message: &Message,
        op: Option<crate::id::OpId>,
    ) -> Result<(), SendError> {
        let frame = Outgoing::with_op(
            self.shared.codec.encode(message),
            self.shared.codec.is_binary(),
            op,
        );
        self.shared.push(frame)?;
        self.hub.counters().message_out();
        Ok(())
    }

    /// Sends the hub's own `$error` answer to a client message: shed (and
    /// counted) when the socket's queue is at its high-water mark.
    pub(crate) fn send_answer(&self, message: &Message) {
        if self.shared.push_answer(self.shared.encode(message), true) {
            self.hub.counters().message_out();
        }
    }

    /// Sends an event asking for an ack, and waits up to `timeout` for the
    /// client's reply, decoded as `R`.
    pub async fn emit_with_ack<R: DeserializeOwned>(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: Duration,
    ) -> Result<R, AckError> {
        let value = self
            .ack_value(Message::event(event, to_value(data)?), timeout)
            .await?;
        switchboard_protocol::binary::from_value(value).map_err(|e| AckError::Decode(e.to_string()))
    }

    /// Sends `message` with a new ack id and waits for the reply's data.
    pub(crate) async fn ack_value(
        &self,
        message: Message,
        timeout: Duration,
    ) -> Result<serde_json::Value, AckError> {
        let (ack, reply) = self.shared.acks.register();
        if let Err(error) = self.send_message(&message.with_ack(ack)) {
            self.shared.acks.cancel(ack);
            return Err(error.into());
        }
        let result = match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => return Err(AckError::Disconnected),
            Err(_) => {
                self.shared.acks.cancel(ack);
                return Err(AckError::Timeout(timeout));
            }
        };
        result.map_err(AckError::Remote)
    }

    /// Sends a frame as it is, without the message envelope (raw mode).
    pub fn send_raw(&self, frame: Bytes, binary: bool) -> Result<(), SendError> {
        let frame = Outgoing::new(frame, binary);
        self.shared.push(frame)?;
        self.hub.counters().message_out();
        Ok(())
    }

    /// Joins a room (no policy check: this is the application acting).
    /// A socket whose session has ended joins nothing (in a disconnect
    /// handler, say).
    ///
    /// Nor is [`crate::HubConfig::max_rooms_per_socket`] applied: it bounds
    /// what clients ask for with `$join`, and the application is trusted.
    /// The rooms joined here do count toward it, so a client cannot `$join`
    /// past the limit on top of them.
    pub fn join(&self, room: &str) {
        let (_, presence) = self.hub.room_registry().join(room, &self.shared);
        self.hub.tell_presence(presence);
    }

    /// Leaves a room.
    pub fn leave(&self, room: &str) {
        let (_, presence) = self.hub.room_registry().leave(room, &self.shared);
        self.hub.tell_presence(presence);
    }

    /// Leaves every room.
    pub fn leave_all(&self) {
        let presence = self.hub.room_registry().leave_all(&self.shared);
        self.hub.tell_presence(presence);
    }

    /// The rooms this socket is in, sorted. Once the session has ended
    /// (in a disconnect handler, say): the rooms it was in when it ended,
    /// though it is no longer a member of any.
    pub fn rooms(&self) -> Vec<String> {
        let mut rooms: Vec<String> = self
            .shared
            .rooms
            .lock()
            .names
            .iter()
            .map(|r| r.to_string())
            .collect();
        rooms.sort_unstable();
        rooms
    }

    /// Whether the socket is in `room` (once the session has ended: was in
    /// it when it ended, as [`Socket::rooms`]).
    pub fn in_room(&self, room: &str) -> bool {
        self.shared.rooms.lock().names.contains(room)
    }

    /// Closes the connection with `code` once what is queued before it is
    /// written (`4000` for a kick by the application).
    pub fn disconnect(&self, code: CloseCode) {
        self.hub.close_session(&self.shared, code);
    }

    /// Whether a link is attached right now (a session waiting for a
    /// resume is not connected, yet still receives into its buffer).
    pub fn is_connected(&self) -> bool {
        self.shared.closed_reason().is_none() && self.shared.queue.is_attached()
    }

    /// Whether the session has ended (it will never be resumed).
    pub fn is_ended(&self) -> bool {
        self.shared.closed_reason().is_some()
    }

    /// Resolves when the socket has disconnected, with the reason.
    pub async fn closed(&self) -> DisconnectReason {
        self.shared.wait_closed().await
    }
}

/// The hub's ways to a socket's handle.
impl Hub {
    /// Sends an event to one socket by id. A socket on this node gets it at
    /// once; in a cluster, an id not held here is sent to the other nodes
    /// (fire-and-forget: `Ok` even if no node holds it). A single hub
    /// answers [`SendError::UnknownSocket`] for an unknown id.
    pub fn send_to(
        &self,
        socket_id: &str,
        event: &str,
        data: impl Serialize,
    ) -> Result<(), SendError> {
        let message = Message::event(event, to_value(data)?);
        match self.socket(socket_id) {
            Some(socket) => socket.send_message(&message),
            None if self.adapter().is_clustered() => {
                self.adapter().publish(Operation::SendTo {
                    socket: socket_id.to_owned(),
                    message,
                    op: Some(self.next_op()),
                });
                Ok(())
            }
            None => Err(SendError::UnknownSocket(socket_id.to_owned())),
        }
    }

    /// The application state of type `T` given to
    /// [`crate::HubBuilder::state`], if any.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.state_map().get::<T>()
    }

    /// The socket with this id, if connected here.
    pub fn socket(&self, socket_id: &str) -> Option<Socket> {
        self.socket_registry()
            .get(socket_id)
            .map(|s| self.socket_handle(s))
    }

    /// The rooms of the socket with this id, sorted (empty if this node
    /// does not hold it); [`ClusterView::rooms_of`](crate::ClusterView::rooms_of) asks every node.
    pub fn rooms_of(&self, socket_id: &str) -> Vec<String> {
        self.socket(socket_id)
            .map(|s| s.rooms())
            .unwrap_or_default()
    }
}
