//! The inbound path both transports share: the checks of each client
//! message (bad messages, rate limit), the answers given at once (`$pong`,
//! ack replies), and the backlog of the rest for the socket's dispatcher
//! (handed over by [`crate::events::dispatcher::hand_over`]).

use std::collections::VecDeque;

use switchboard_protocol::{ClientMessage, CloseCode, Codec, ErrorCode, Message, ProtocolError};
use tokio::sync::mpsc;

use crate::error::HubError;
use crate::events::inline::answer_inline;
use crate::hub::handle::Socket;
use crate::limits::inbound::InboundChecks;
use crate::session::inbox::{Dispatch, RawFrame};

/// Waits for room in the dispatcher's queue (never resolves without one).
pub(super) async fn reserve(
    dispatch: Option<&mpsc::Sender<Dispatch>>,
) -> Result<mpsc::Permit<'_, Dispatch>, mpsc::error::SendError<()>> {
    match dispatch {
        Some(dispatch) => dispatch.reserve().await,
        None => std::future::pending().await,
    }
}

impl InboundChecks {
    /// Applies the rate limit to one message; false when it must be dropped.
    pub(super) fn allow(&mut self, socket: &Socket) -> bool {
        let (Some(bucket), Some(limit)) = (&mut self.bucket, socket.hub.config().rate_limit) else {
            return true;
        };
        if bucket.try_take(limit) {
            self.limited_in_row = 0;
            return true;
        }
        self.limited_in_row += 1;
        socket
            .hub
            .counters()
            .error_sent(ErrorCode::RateLimited.as_str());
        socket.send_answer(&Message::error_event(
            ErrorCode::RateLimited,
            "too many messages: slow down",
        ));
        if self.limited_in_row >= socket.hub.config().max_bad_messages {
            socket.shared.queue.request_close(CloseCode::Policy);
        }
        false
    }

    /// Counts a refused message, answers it with `$error`, and closes with
    /// `1008` after too many in a row.
    fn bad(&mut self, socket: &Socket, error: &ProtocolError) {
        self.bad_in_row += 1;
        socket.hub.counters().error_sent(error.code().as_str());
        let hub_error = HubError::BadMessage(error.to_string());
        tracing::debug!(socket = socket.id(), %hub_error);
        socket.send_answer(&Message::error_event(error.code(), error.to_string()));
        if self.bad_in_row >= socket.hub.config().max_bad_messages {
            socket.shared.queue.request_close(CloseCode::Policy);
        }
    }
}

/// The error for a frame whose type the codec does not take: the JSON
/// codec takes text frames, the MessagePack codec binary frames.
fn wrong_frame_type(codec: Codec, binary: bool) -> Option<ProtocolError> {
    if binary == codec.is_binary() {
        return None;
    }
    let name = |binary: bool| if binary { "binary" } else { "text" };
    Some(ProtocolError::WrongFrameType {
        codec: codec.as_str(),
        expected: name(codec.is_binary()),
        received: name(binary),
    })
}

/// Decodes one frame of the envelope protocol and sorts its messages:
/// `$ping` and replies are answered here, the rest goes to the dispatcher.
/// A frame of the wrong type for the codec is a bad message.
pub(crate) fn handle_frame(
    socket: &Socket,
    frame: &RawFrame,
    checks: &mut InboundChecks,
    backlog: &mut VecDeque<Dispatch>,
) {
    if let Some(error) = wrong_frame_type(socket.shared.codec, frame.binary) {
        socket.hub.counters().message_in(1);
        checks.bad(socket, &error);
        return;
    }
    let messages = match socket.shared.codec.decode(&frame.data) {
        Ok(messages) => messages,
        Err(error) => {
            socket.hub.counters().message_in(1);
            checks.bad(socket, &error);
            return;
        }
    };
    handle_messages(socket, messages, checks, backlog);
}

/// Checks decoded messages one by one (section 3) and sorts them: `$ping`
/// and replies are answered here, the rest is queued for the dispatcher.
pub(crate) fn handle_messages(
    socket: &Socket,
    messages: Vec<Result<switchboard_protocol::Message, ProtocolError>>,
    checks: &mut InboundChecks,
    backlog: &mut VecDeque<Dispatch>,
) {
    socket.hub.counters().message_in(messages.len() as u64);
    for message in messages {
        let message = match message.and_then(ClientMessage::try_from) {
            Ok(message) => message,
            Err(error) => {
                checks.bad(socket, &error);
                continue;
            }
        };
        checks.bad_in_row = 0;
        if !checks.allow(socket) {
            continue;
        }
        match message {
            ClientMessage::Ping => {
                // Shed (and counted) past the queue's high-water mark: a
                // flood of pings never closes its sender with 4001.
                let pong = socket.hub.inner.pong_frame(socket.shared.codec);
                socket.shared.push_answer(pong, false);
            }
            ClientMessage::Reply { reply, result } => {
                if !socket.shared.acks.resolve(reply, result) {
                    tracing::debug!(
                        socket = socket.id(),
                        reply,
                        "reply to an unknown or expired ack"
                    );
                }
            }
            other if backlog.is_empty() => {
                if let Some(other) = answer_inline(socket, other) {
                    backlog.push_back(Dispatch::Client(Box::new(other)));
                }
            }
            other => backlog.push_back(Dispatch::Client(Box::new(other))),
        }
    }
}
