//! The cloneable [`Client`] handle: commands to the connection task.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_protocol::{HistoryPosition, Message, RoomPresence, reserved};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::error::{ClientAckError, ClientDisconnect, EmitError, HandlerError};
use super::handler::{Handlers, erase};
use super::positions::Positions;

/// The client's connection state, on a `watch` ([`Client::state`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Dialing for the first time.
    Connecting,
    /// A live link with a welcomed session (and, on a new session, its
    /// rooms rejoined).
    Connected,
    /// The link was lost; waiting or dialing to reconnect.
    Reconnecting,
    /// Stopped for good, with the reason.
    Closed(ClientDisconnect),
}

/// Lifecycle events ([`Client::events`]); more kinds may come, so a
/// `match` needs a catch-all arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A session is live: after every `$welcome` (after the rooms are
    /// rejoined on a new session).
    Connected {
        /// The socket id.
        id: String,
        /// Whether the session was resumed.
        resumed: bool,
        /// How many missed messages the hub replays (resume only).
        missed: u64,
        /// Whether permessage-deflate was negotiated.
        compressed: bool,
        /// The link's transport.
        transport: super::link::Transport,
    },
    /// A live link ended.
    Disconnected {
        /// Why.
        reason: ClientDisconnect,
        /// Whether the client tries again.
        will_reconnect: bool,
    },
    /// A reconnect attempt is scheduled.
    Reconnecting {
        /// The attempt's number (1-based, since the last live link).
        attempt: u32,
        /// How long the client waits before it.
        delay: Duration,
    },
    /// Something went wrong that did not end the link: the hub's `$error`,
    /// a frame that does not decode, a failed handler, a refused rejoin, a
    /// failed dial attempt.
    Error {
        /// A protocol code (`bad_message`, `forbidden`, ...) or a client one
        /// (`dial`, `handler`, `rejoin`).
        code: String,
        /// What happened.
        message: String,
    },
    /// A user's first socket joined a presence room this client is in
    /// (`$joined`, PROTOCOL.md section 10); this client's own user too.
    Joined {
        /// The room.
        room: String,
        /// The user.
        user: String,
        /// The user's public information (`null` when it has none).
        info: serde_json::Value,
    },
    /// A user's last socket left a presence room this client is in
    /// (`$left`).
    Left {
        /// The room.
        room: String,
        /// The user.
        user: String,
    },
    /// The hub answered a `$join` that asked to recover a history room
    /// (PROTOCOL.md section 11): the client's own rejoin on a new session,
    /// or [`Client::join_since`]. With `recovered: true` the messages the
    /// client missed follow, in order, as ordinary events; with `false`
    /// they are lost (the history no longer reaches back, its epoch
    /// changed, or too many were missed) and the client goes on from the
    /// room's latest message ([`Client::room_position`]).
    Recovered {
        /// The room.
        room: String,
        /// Whether the missed messages follow.
        recovered: bool,
    },
}

/// What a request's reply means to the connection task.
#[derive(Debug, Clone)]
pub(crate) enum RequestKind {
    /// A plain `emit_with_ack`.
    Plain,
    /// `join(room)`, `join_since`: the room is remembered on success, its
    /// position taken from the reply (`since`: the one sent).
    Join {
        room: String,
        since: Option<HistoryPosition>,
    },
    /// A rejoin after a new session (internal), with `since` when the
    /// room has a position.
    Rejoin {
        room: String,
        since: Option<HistoryPosition>,
    },
    /// A quiet `$join` of a room the client is in, asking its history's
    /// epoch (internal; see `positions.rs`).
    Locate(String),
}

/// A command from a handle to the connection task.
pub(crate) enum Command {
    /// Send (or queue) a message without ack.
    Send {
        message: Message,
        done: oneshot::Sender<Result<(), EmitError>>,
    },
    /// Send (or queue) a message with an ack number assigned by the task.
    Request {
        message: Message,
        kind: RequestKind,
        reply: oneshot::Sender<Result<Value, ClientAckError>>,
    },
    /// A handler's answer to the hub's ack: sent only on the live link.
    Reply(Message),
    /// Close the session for good.
    Close { done: oneshot::Sender<()> },
}

/// State shared by the handles and the connection task (short locks only).
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) id: RwLock<Option<String>>,
    pub(crate) rooms: RwLock<BTreeSet<String>>,
    /// The client's place in each history room it joined.
    pub(crate) positions: RwLock<Positions>,
    pub(crate) reconnects: AtomicU64,
    /// The user of the latest `$welcome` (its token's `sub`).
    pub(crate) user: RwLock<Option<String>>,
    /// When the token expires, Unix seconds (0: no expiry known).
    pub(crate) expires_at: AtomicU64,
    pub(crate) handlers: Handlers,
}

/// A handle to a Switchboard client: cheap to clone; every clone drives the
/// same connection task. The connection closes (with a close frame) when
/// the last handle is dropped or [`Client::close`] is called.
#[derive(Clone)]
pub struct Client {
    pub(crate) commands: mpsc::Sender<Command>,
    pub(crate) state: watch::Receiver<State>,
    pub(crate) events: broadcast::Sender<Event>,
    pub(crate) first_events: Arc<Mutex<Option<broadcast::Receiver<Event>>>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) ack_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id())
            .field("state", &*self.state.borrow())
            .finish_non_exhaustive()
    }
}

fn checked_event(event: &str) -> Result<(), EmitError> {
    if event.is_empty() || reserved::is_reserved(event) {
        return Err(EmitError::InvalidEvent(event.to_owned()));
    }
    Ok(())
}

impl Client {
    /// Sends an event. While disconnected it is queued (bounded) and sent
    /// after the next `$welcome`; a full queue fails with
    /// [`EmitError::QueueFull`].
    pub async fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        checked_event(event)?;
        let message = Message::event(event, serde_json::to_value(data)?);
        self.send(message).await
    }

    /// Sends an event asking for a reply and decodes the reply's data into
    /// `T`. `timeout` (or, with `None`, the builder's ack timeout) bounds the
    /// whole wait, queueing included.
    pub async fn emit_with_ack<T: DeserializeOwned>(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: impl Into<Option<Duration>>,
    ) -> Result<T, ClientAckError> {
        checked_event(event)?;
        let data = serde_json::to_value(data).map_err(ClientAckError::Encode)?;
        let value = self
            .request(
                Message::event(event, data),
                RequestKind::Plain,
                timeout.into(),
            )
            .await?;
        switchboard_protocol::binary::from_value(value).map_err(ClientAckError::Decode)
    }

    /// Handles event `event` from the hub. Its data is decoded into `T`
    /// (data that does not decode fails with `bad_message`; a binary value,
    /// MessagePack `bin` or `{"$bin": "<base64>"}`, decodes into a bytes
    /// field such as `switchboard_protocol::Binary`); when the hub
    /// asked for an ack, the handler's `Ok` value is the reply and its `Err`
    /// the error body. Each event's handler runs in its own task, once the
    /// handler of the event before it has finished (handlers run in the
    /// order their events came). A second handler for the same name
    /// replaces the first.
    pub fn on<T, R, F, Fut>(&self, event: &str, handler: F)
    where
        T: DeserializeOwned + Send + 'static,
        R: Serialize + Send + 'static,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, HandlerError>> + Send + 'static,
    {
        self.shared.handlers.insert(event, erase(event, handler));
    }

    /// Joins a room (an acknowledged `$join`); joined rooms are rejoined
    /// when a reconnect starts a new session. In a room that keeps history
    /// (PROTOCOL.md section 11) the client tracks its position from then
    /// on ([`Client::room_position`]), and a rejoin on a new session
    /// recovers the messages it missed ([`Event::Recovered`]).
    pub async fn join(&self, room: &str) -> Result<(), ClientAckError> {
        let message = Message::event(reserved::JOIN, serde_json::json!({ "room": room }));
        let kind = RequestKind::Join {
            room: room.to_owned(),
            since: None,
        };
        self.request(message, kind, None).await.map(drop)
    }

    /// Joins a history room and recovers the messages that followed
    /// `position` (one [`Client::room_position`] gave, kept by the
    /// application, e.g. across a restart): they follow as ordinary
    /// events, in order, those the client received already dropped.
    /// Returns whether the hub recovered them (`false`: the history no
    /// longer reaches back, its epoch changed, too many were missed, or
    /// the room keeps no history); either way the room is joined, and an
    /// [`Event::Recovered`] tells the same. In a room the client is in
    /// already, its own position is used instead.
    pub async fn join_since(
        &self,
        room: &str,
        position: &HistoryPosition,
    ) -> Result<bool, ClientAckError> {
        let since = self.positions_write().seed(room, position);
        let data = serde_json::json!({ "room": room, "since": since });
        let message = Message::event(reserved::JOIN, data);
        let kind = RequestKind::Join {
            room: room.to_owned(),
            since: Some(since),
        };
        let reply = self.request(message, kind, None).await?;
        Ok(reply.get("recovered") == Some(&Value::Bool(true)))
    }

    /// Where the client stands in a history room it joined: the room's
    /// epoch and the offset of the last message received (or the room's
    /// latest when it joined). `None` for a room not joined through this
    /// client or that keeps no history. The epoch is `""` while the client
    /// does not know it (the room had no history yet when it joined, or
    /// its history started again); the client asks the hub for it at the
    /// first message.
    pub fn room_position(&self, room: &str) -> Option<HistoryPosition> {
        self.shared
            .positions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(room)
    }

    /// Leaves a room (an acknowledged `$leave`); it is no longer rejoined.
    pub async fn leave(&self, room: &str) -> Result<(), ClientAckError> {
        self.shared
            .rooms
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(room);
        self.positions_write().remove(room);
        let message = Message::event(reserved::LEAVE, serde_json::json!({ "room": room }));
        self.request(message, RequestKind::Plain, None)
            .await
            .map(drop)
    }

    /// Who is in `room` (`$presence`, PROTOCOL.md section 10): its users
    /// on every node, with their info and sockets, and its anonymous
    /// sockets. Only for a member of a room that keeps presence; otherwise
    /// the hub answers `forbidden`. Arrivals and departures come as
    /// [`Event::Joined`] and [`Event::Left`].
    pub async fn presence(&self, room: &str) -> Result<RoomPresence, ClientAckError> {
        let message = Message::event(reserved::PRESENCE, serde_json::json!({ "room": room }));
        let value = self.request(message, RequestKind::Plain, None).await?;
        serde_json::from_value(value).map_err(ClientAckError::Decode)
    }

    /// The rooms joined through this client, sorted.
    pub fn rooms(&self) -> Vec<String> {
        self.shared
            .rooms
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Relays to the other members of `room` (PROTOCOL.md section 4).
    pub fn to(&self, room: &str) -> RoomOperator<'_> {
        RoomOperator {
            client: self,
            room: room.to_owned(),
        }
    }

    /// The socket id from the latest `$welcome` (`None` before the first).
    pub fn id(&self) -> Option<String> {
        self.shared
            .id
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The user the hub named in the latest `$welcome`: the `sub` of the
    /// client's token (PROTOCOL.md section 10). `None` before the first
    /// `$welcome` and for an anonymous socket.
    pub fn user(&self) -> Option<String> {
        self.shared
            .user
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// When the hub counts the client's token as expired, Unix seconds:
    /// the `expires_at` of the latest `$welcome`, moved on by each
    /// successful refresh. `None` without a token.
    pub fn expires_at(&self) -> Option<u64> {
        match self.shared.expires_at.load(Ordering::Relaxed) {
            0 => None,
            at => Some(at),
        }
    }

    /// The connection state, as a `watch` receiver.
    pub fn state(&self) -> watch::Receiver<State> {
        self.state.clone()
    }

    /// How many times a session went live again after the first
    /// (resumed or new).
    pub fn reconnect_count(&self) -> u64 {
        self.shared.reconnects.load(Ordering::Relaxed)
    }

    /// The lifecycle events. The first call gets every event since the
    /// client was built; later calls get those from now on. The channel is
    /// bounded: a receiver that lags loses the oldest events
    /// (`RecvError::Lagged`).
    pub fn events(&self) -> broadcast::Receiver<Event> {
        let first = self
            .first_events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        first.unwrap_or_else(|| self.events.subscribe())
    }

    /// Waits until the state is [`State::Connected`]; fails with the reason
    /// if the client closes first.
    pub async fn connected(&self) -> Result<(), ClientDisconnect> {
        let mut state = self.state.clone();
        let result = state
            .wait_for(|s| matches!(s, State::Connected | State::Closed(_)))
            .await;
        match result.as_deref() {
            Ok(State::Connected) => Ok(()),
            Ok(State::Closed(reason)) => Err(reason.clone()),
            _ => Err(ClientDisconnect::ClientClosed),
        }
    }

    /// Ends the session for good (a close frame `1000`); pending and queued
    /// requests fail with [`ClientAckError::Closed`]. Returns once the connection
    /// task has finished.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.commands.send(Command::Close { done }).await.is_ok() {
            let _ = wait.await;
        }
    }

    fn positions_write(&self) -> std::sync::RwLockWriteGuard<'_, Positions> {
        self.shared
            .positions
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) async fn send(&self, message: Message) -> Result<(), EmitError> {
        let (done, wait) = oneshot::channel();
        self.commands
            .send(Command::Send { message, done })
            .await
            .map_err(|_| EmitError::Closed)?;
        wait.await.unwrap_or(Err(EmitError::Closed))
    }

    pub(crate) async fn request(
        &self,
        message: Message,
        kind: RequestKind,
        timeout: Option<Duration>,
    ) -> Result<Value, ClientAckError> {
        let timeout = timeout.unwrap_or(self.ack_timeout);
        let exchange = async {
            let (reply, wait) = oneshot::channel();
            self.commands
                .send(Command::Request {
                    message,
                    kind,
                    reply,
                })
                .await
                .map_err(|_| ClientAckError::Closed)?;
            wait.await.unwrap_or(Err(ClientAckError::Closed))
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(ClientAckError::Timeout(timeout)))
    }
}

/// Relays to one room: [`Client::to`].
#[derive(Debug)]
pub struct RoomOperator<'a> {
    client: &'a Client,
    room: String,
}

impl RoomOperator<'_> {
    /// Relays an event to the room's other members.
    pub async fn emit(&self, event: &str, data: impl Serialize) -> Result<(), EmitError> {
        checked_event(event)?;
        let message = Message::event(event, serde_json::to_value(data)?).with_room(&self.room);
        self.client.send(message).await
    }

    /// Relays an event and waits for the hub to accept it (an error
    /// `forbidden` when the relay policy refuses).
    pub async fn emit_with_ack(
        &self,
        event: &str,
        data: impl Serialize,
        timeout: impl Into<Option<Duration>>,
    ) -> Result<(), ClientAckError> {
        checked_event(event)?;
        let data = serde_json::to_value(data).map_err(ClientAckError::Encode)?;
        let message = Message::event(event, data).with_room(&self.room);
        self.client
            .request(message, RequestKind::Plain, timeout.into())
            .await
            .map(drop)
    }
}
