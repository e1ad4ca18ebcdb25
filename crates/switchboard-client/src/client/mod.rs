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
//!   and `503` reconnect. A dead link (no frame for `ping_interval_ms +
//!   ping_timeout_ms`) is dropped without a close frame, so the session
//!   stays resumable.
//! - Transports ([`Transports`]): WebSocket, long-polling (PROTOCOL.md
//!   section 6, plain HTTP/1.1), or a WebSocket with long-polling fallback
//!   (the default; every reconnect tries a WebSocket first).
//! - [`Client::close`] ends the session: a close frame `1000` on a live
//!   WebSocket, a `DELETE` on long-polling, and a `DELETE` for a session
//!   that waits for a resume when long-polling is allowed.
//! - Handlers run in their own tasks; the hub's acks are answered from
//!   their return values (`no_handler` when there is none).

mod actor;
mod backoff;
mod builder;
mod error;
mod handle;
mod handler;
mod link;
mod old_names;
mod poll;
mod settings;
mod stop_rules;

pub use crate::dial::DialError;
pub use backoff::ClientBackoff;
pub use builder::ClientBuilder;
pub use error::{ClientAckError, ClientDisconnect, ConnectError, EmitError, HandlerError};
pub use handle::{Client, Event, RoomOperator, State};
pub use link::{Transport, Transports};
#[allow(deprecated)]
pub use old_names::{AckError, Backoff, DisconnectReason};
pub use settings::Batching;

/// Starts building a client for the hub at `url` (`ws://`, `wss://`,
/// `http://` or `https://`, with the hub's path, e.g. `ws://host:8080/ws`).
pub fn connect(url: &str) -> ClientBuilder {
    ClientBuilder::new(url)
}
