//! The Switchboard client: a cloneable [`Client`] handle driving one
//! connection task, which owns the socket, resumes the session after a
//! dropped link (PROTOCOL.md section 5) and reconnects with backoff.
//!
//! ```no_run
//! use std::time::Duration;
//! use switchboard_client::client::{self, HandlerError};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = client::connect("ws://127.0.0.1:8080/ws")
//!     .on("chat", |text: String| async move {
//!         tracing::info!(%text, "chat");
//!         Ok::<_, HandlerError>(())
//!     })
//!     .connect()
//!     .await?;
//! client.join("lobby").await?;
//! client.to("lobby").emit("chat", "hello").await?;
//! let echoed: String = client.emit_with_ack("echo", "hi", Duration::from_secs(5)).await?;
//! # let _ = echoed;
//! client.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! Rules (the browser client's, `clients/js/switchboard.js`):
//! - Every message after `$welcome` except `$pong` is counted; a reconnect
//!   sends `resume=<session>&last=<count>`. A new session (resume refused)
//!   rejoins the client's rooms before `Connected` is announced, and fails
//!   the requests in flight with [`ClientAckError::Disconnected`].
//! - Emits while disconnected are queued (bounded: [`EmitError::QueueFull`])
//!   and sent after the next `$welcome`.
//! - Close codes `1000`, `1008`, `4000`, `4002`
//!   ([`CloseCode::is_final`](switchboard_protocol::CloseCode::is_final))
//!   and a refused handshake (HTTP 4xx) stop the client; `1001`, `4001`, other codes, network loss
//!   and `503` reconnect; `1012` (a clustered node drains; long-polling:
//!   `503 unavailable`) reconnects at once, without backoff, and resumes on
//!   whichever node answers (PROTOCOL.md section 11). A dead link (no frame for `ping_interval_ms +
//!   ping_timeout_ms`) is dropped without a close frame, so the session
//!   stays resumable.
//! - Tokens (PROTOCOL.md section 10; [`ClientBuilder::token`]): a fixed
//!   string, or a function called for every handshake and every refresh.
//!   [`Client::user`] and [`Client::expires_at`] come from the latest
//!   `$welcome`. With a function, the client sends `$refresh` with a fresh
//!   token before each `expires_at`: `margin` before it, the larger of a
//!   fifth of the remaining lifetime and `min(30 s, half of it)` (a token
//!   of an hour is refreshed after 48 minutes, one of 100 s 30 s before it
//!   expires, one of 3 s after 1.5 s), and goes on from the reply's
//!   `expires_at`. A failed refresh (an error reply, the function's error,
//!   no reply within the ack timeout) is reported as [`Event::Error`] with
//!   code `refresh` and tried again 3 times, after 1, 2 and 4 s but at most
//!   a third of the time left. A token that expires anyway gets the link
//!   closed `4003` (long-polling: `401 token_expired`), which is not final:
//!   the client reconnects at once, with no backoff, and resumes the
//!   session with a fresh token, losing nothing. A handshake refused `401`
//!   stops the client with [`ClientDisconnect::Unauthorized`] at once with
//!   a fixed token (or none), and after 3 refusals in a row with a
//!   function (each retry, after the backoff, gets a fresh token, and is
//!   reported as [`Event::Error`] with the hub's code; a failure of the function
//!   itself is retried with backoff like a failed dial, reported as
//!   [`Event::Error`] with code `token`).
//! - Transports ([`Transports`]): WebSocket, long-polling (PROTOCOL.md
//!   section 6, plain HTTP/1.1), or a WebSocket with long-polling fallback
//!   (the default; every reconnect tries a WebSocket first).
//! - [`Client::close`] ends the session: a close frame `1000` on a live
//!   WebSocket, a `DELETE` on long-polling, and a `DELETE` for a session
//!   that waits for a resume when long-polling is allowed.
//! - Room history (PROTOCOL.md section 11): in a room the hub keeps
//!   history of, the client tracks its position, the room's epoch and
//!   the offset of the last message received ([`Client::room_position`]),
//!   from the `$join` reply and every message of the room. A new session
//!   rejoins such a room with `since` that position, and the messages
//!   missed meanwhile arrive as ordinary events, in order, none twice;
//!   [`Event::Recovered`] says for each room whether they did (`false`:
//!   the history no longer reaches back, and the client goes on from the
//!   room's latest message). A resumed session needs none of it: its
//!   missed messages come from the resume. [`Client::join_since`] recovers
//!   from a position the application kept, e.g. across a restart. A room
//!   joined before it had any history, or whose history started again
//!   (messages carry their offset but not their epoch), is asked its
//!   epoch with one more `$join` at its first such message. A relay the
//!   client itself sent to the room after its position comes back to it
//!   in a recovery (the hub does not send a sender its own relay, so the
//!   client never saw its offset).
//! - Handlers run in tasks of their own (the client goes on reading), one
//!   after another in the order their events came, on any runtime: a
//!   handler starts once the one before it has finished (so a handler
//!   must not wait for a later event's handler). The hub's acks are
//!   answered from their return values (`no_handler` when there is none).

mod actor;
mod backoff;
mod builder;
mod error;
mod handle;
mod handler;
mod link;
mod old_names;
mod poll;
mod positions;
mod settings;
mod stop_rules;
mod token;

pub use crate::dial::DialError;
pub use backoff::ClientBackoff;
pub use builder::ClientBuilder;
pub use error::{ClientAckError, ClientDisconnect, ConnectError, EmitError, HandlerError};
pub use handle::{Client, Event, RoomOperator, State};
pub use link::{Transport, Transports};
#[allow(deprecated)]
pub use old_names::{AckError, Backoff, DisconnectReason};
pub use settings::Batching;
pub use switchboard_protocol::HistoryPosition;
pub use token::{IntoTokenSource, TokenFuture, TokenSource};

/// Starts building a client for the hub at `url` (`ws://`, `wss://`,
/// `http://` or `https://`, with the hub's path, e.g. `ws://host:8080/ws`).
pub fn connect(url: &str) -> ClientBuilder {
    ClientBuilder::new(url)
}
