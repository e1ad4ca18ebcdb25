//! Pool style: one stream of every inbound message, tagged with its socket,
//! for applications that do not want handlers.

use serde::Serialize;
use serde_json::Value;
use switchboard_protocol::{ErrorBody, ErrorCode, Message};
use tokio::sync::mpsc;

use crate::error::SendError;
use crate::hub::handle::Socket;
use crate::hub::handle::Streamed;
use crate::session::inbox::{RawFrame, TappedEvent};
use crate::session::shared::to_value;

/// An event a client sent, with the means to answer its ack.
#[derive(Debug)]
pub struct InboundEvent {
    /// The socket it came from.
    pub socket: Socket,
    /// The event's name.
    pub event: String,
    /// The event's payload (`null` when absent).
    pub data: Value,
    ack: Option<u64>,
}

impl InboundEvent {
    pub(crate) fn new(socket: Socket, event: String, data: Value, ack: Option<u64>) -> Self {
        Self {
            socket,
            event,
            data,
            ack,
        }
    }

    /// Whether the client asked for a reply.
    pub fn wants_ack(&self) -> bool {
        self.ack.is_some()
    }

    /// Answers the client's ack with `data`. Without an ack this does nothing.
    pub fn reply(&self, data: impl Serialize) -> Result<(), SendError> {
        match self.ack {
            Some(ack) => self
                .socket
                .send_message(&Message::reply(ack, to_value(data)?)),
            None => Ok(()),
        }
    }

    /// Answers the client's ack with an error.
    pub fn reply_error(&self, code: &str, message: &str) -> Result<(), SendError> {
        match self.ack {
            Some(ack) => self.socket.send_message(&Message::reply_error(
                ack,
                ErrorBody {
                    code: code.to_owned(),
                    message: message.to_owned(),
                },
            )),
            None => Ok(()),
        }
    }

    pub(crate) fn answer_no_handler(&self) {
        if let Some(ack) = self.ack {
            let stats = &self.socket.hub.counters();
            stats.error_sent(ErrorCode::NoHandler.as_str());
            let body = ErrorBody::new(
                ErrorCode::NoHandler,
                format!("no handler for `{}`", self.event),
            );
            let _ = self.socket.send_message(&Message::reply_error(ack, body));
        }
    }
}

/// One item of a [`MessageStream`].
#[derive(Debug)]
pub enum Inbound {
    /// An application event (envelope mode).
    Event(InboundEvent),
    /// A frame from a socket of a raw-mode hub.
    Raw {
        /// The socket it came from.
        socket: Socket,
        /// The frame.
        frame: RawFrame,
    },
}

impl Inbound {
    /// The id of the socket this came from.
    pub fn socket_id(&self) -> &str {
        match self {
            Self::Event(e) => e.socket.id(),
            Self::Raw { socket, .. } => socket.id(),
        }
    }
}

/// Every inbound message of the hub that no handler took, in arrival order
/// per socket. Bounded: while it is full, the sockets whose messages wait
/// are not read (backpressure reaches their clients through TCP).
#[derive(Debug)]
pub struct MessageStream {
    pub(crate) rx: mpsc::Receiver<Streamed>,
}

impl MessageStream {
    /// The next inbound message; `None` once the hub is dropped.
    pub async fn recv(&mut self) -> Option<Inbound> {
        Some(match self.rx.recv().await? {
            Streamed::Event(socket, TappedEvent { event, data, ack }) => {
                Inbound::Event(InboundEvent::new(socket, event, data, ack))
            }
            Streamed::Raw(socket, frame) => Inbound::Raw { socket, frame },
        })
    }
}
