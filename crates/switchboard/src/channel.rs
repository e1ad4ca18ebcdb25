//! Channel binding: one socket as a typed receiver, a sender, a `closed`
//! future and a way to close, to drive with a single `tokio::select!`.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use switchboard_protocol::{CloseCode, ErrorCode, Message};
use tokio::sync::mpsc;

use crate::error::{DisconnectReason, SendError};
use crate::hub::handle::Socket;
use crate::session::inbox::TappedEvent;
use crate::session::shared::to_value;
use crate::stream::InboundEvent;

/// The receiving half of a bound socket. Messages are the socket's events
/// that no handler took, decoded from `{"event": name, "data": payload}`:
/// an enum with `#[serde(tag = "event", content = "data")]` fits naturally.
/// An event that does not decode into `In` is answered with `$error`
/// `bad_message` and skipped.
#[derive(Debug)]
pub struct ChannelReceiver<In> {
    socket: Socket,
    rx: mpsc::Receiver<TappedEvent>,
    _in: PhantomData<fn() -> In>,
}

impl<In: DeserializeOwned> ChannelReceiver<In> {
    /// The next message; `None` once the socket has disconnected and every
    /// message before that was received. An event that asked for an ack is
    /// answered with `null` data when it is received.
    pub async fn recv(&mut self) -> Option<In> {
        loop {
            let TappedEvent { event, data, ack } = self.rx.recv().await?;
            let event = InboundEvent::new(self.socket.clone(), event, data, ack);
            let envelope = serde_json::json!({ "event": event.event, "data": event.data });
            match switchboard_protocol::binary::from_value::<In>(envelope) {
                Ok(message) => {
                    let _ = event.reply(Value::Null);
                    return Some(message);
                }
                Err(error) => {
                    let text = format!("`{}` does not decode: {error}", event.event);
                    if event.wants_ack() {
                        let _ = event.reply_error(ErrorCode::BadMessage.as_str(), &text);
                    } else {
                        let _ = self
                            .socket
                            .send_message(&Message::error_event(ErrorCode::BadMessage, text));
                    }
                }
            }
        }
    }
}

/// The sending half of a bound socket: `Out` must serialize as
/// `{"event": name, "data": payload}`.
#[derive(Debug, Clone)]
pub struct ChannelSender<Out> {
    socket: Socket,
    _out: PhantomData<fn(Out)>,
}

impl<Out: Serialize> ChannelSender<Out> {
    /// Queues `message` for the socket.
    pub fn send(&self, message: Out) -> Result<(), SendError> {
        let value = to_value(message)?;
        let Value::Object(mut object) = value else {
            return Err(SendError::Encode(
                "a channel message must serialize as an object".into(),
            ));
        };
        let Some(Value::String(event)) = object.remove("event") else {
            return Err(SendError::Encode(
                "a channel message needs a string `event` field".into(),
            ));
        };
        let data = object.remove("data").unwrap_or(Value::Null);
        self.socket.send_message(&Message::event(event, data))
    }
}

/// The lifecycle half of a bound socket: a `closed` future and a way to
/// close with a code.
#[derive(Debug, Clone)]
pub struct ChannelControl {
    socket: Socket,
}

impl ChannelControl {
    /// The bound socket.
    pub fn socket(&self) -> &Socket {
        &self.socket
    }

    /// Resolves when the socket has disconnected, with the reason.
    pub async fn closed(&self) -> DisconnectReason {
        self.socket.closed().await
    }

    /// Closes the connection with `code`.
    pub fn close(&self, code: CloseCode) {
        self.socket.disconnect(code);
    }
}

/// A socket bound as channels. Build it in the connect handler so no event
/// is missed: `let ch = socket.bind::<In, Out>(64);`. The three halves are
/// separate fields, so one `tokio::select!` can wait on the receiver and on
/// `control.closed()` while using the sender.
#[derive(Debug)]
pub struct SocketChannel<In, Out> {
    /// Typed inbound messages.
    pub receiver: ChannelReceiver<In>,
    /// Typed outbound messages.
    pub sender: ChannelSender<Out>,
    /// Close signal and close action.
    pub control: ChannelControl,
}

impl Socket {
    /// Binds this socket as typed channels: every event without a handler of
    /// its own goes to the returned receiver (bounded by `capacity`; while it
    /// is full, this socket is not read). Binding again replaces the receiver.
    pub fn bind<In, Out>(&self, capacity: usize) -> SocketChannel<In, Out> {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        *self.shared.tap.lock() = Some(tx);
        SocketChannel {
            receiver: ChannelReceiver {
                socket: self.clone(),
                rx,
                _in: PhantomData,
            },
            sender: ChannelSender {
                socket: self.clone(),
                _out: PhantomData,
            },
            control: ChannelControl {
                socket: self.clone(),
            },
        }
    }
}
