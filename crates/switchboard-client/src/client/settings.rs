//! The fixed settings of one client, made by the builder and read by the
//! connection task.

use std::time::Duration;

use super::backoff::ClientBackoff;
use super::link::Transports;
use super::token::TokenSource;

use crate::dial::url::WsUrl;
use crate::dial::websocket::DialOptions;

/// Batching: messages sent within `max_delay` of each other, up to
/// `max_messages`, go out as one batch frame (PROTOCOL.md section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// The most messages in one batch frame.
    pub max_messages: usize,
    /// How long the first message of a batch may wait for others.
    pub max_delay: Duration,
}

/// The fixed settings of one client.
pub(crate) struct Settings {
    pub(crate) url: WsUrl,
    pub(crate) token: Option<TokenSource>,
    /// How long a `$refresh` waits for its reply (the ack timeout).
    pub(crate) refresh_timeout: Duration,
    pub(crate) dial: DialOptions,
    pub(crate) backoff: ClientBackoff,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) connect_timeout: Duration,
    pub(crate) write_timeout: Duration,
    pub(crate) queue_capacity: usize,
    pub(crate) batching: Option<Batching>,
    pub(crate) transports: Transports,
    pub(crate) upgrade_retry: Duration,
}
