//! The dispatcher's inbox: the work a link hands to its session's
//! dispatcher, and the inbox's state in the session. The dispatcher's
//! lifecycle is [`crate::events::dispatcher`].

use bytes::Bytes;
use switchboard_protocol::ClientMessage;

/// A frame received in raw mode, passed through without the envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// The frame's payload.
    pub data: Bytes,
    /// Whether it was a binary frame (else text, valid UTF-8).
    pub binary: bool,
}

/// An event without a handler, for a socket bound as channels
/// ([`crate::Socket::bind`]): its receiver knows the socket.
#[derive(Debug)]
pub(crate) struct TappedEvent {
    pub(crate) event: String,
    pub(crate) data: serde_json::Value,
    pub(crate) ack: Option<u64>,
}

/// Work the connection task hands to the dispatcher.
///
/// Kept small: the dispatcher's channel allocates a block of 32 slots of
/// this type, so a client message (over 100 bytes) is boxed and a `Dispatch`
/// is the size of a raw frame (40 bytes).
#[derive(Debug)]
pub(crate) enum Dispatch {
    /// A validated client message (not `$ping` nor a reply: those are
    /// answered by the connection task at once).
    Client(Box<ClientMessage>),
    /// A frame of a raw-mode hub.
    Raw(RawFrame),
}

// The dispatcher's channel holds 32 of these per block.
const _: () = assert!(std::mem::size_of::<Dispatch>() <= 40);

/// The inbox of a session's dispatcher.
///
/// The dispatcher (a task and its channel, a few KiB) is started only when
/// there is work for it: at once when the hub has a connect handler, else
/// with the first event, `$join`/`$leave` or raw frame. An idle socket has
/// none; its disconnect handler still runs when it ends.
pub(crate) enum Inbox {
    /// No dispatcher yet.
    NotStarted,
    /// The running dispatcher's queue.
    Open(tokio::sync::mpsc::Sender<Dispatch>),
    /// The session has ended.
    Closed,
}
