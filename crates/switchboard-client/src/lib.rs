//! # switchboard-client
//!
//! The other end of the wire: a Rust client for Switchboard hubs that
//! reconnects and resumes by itself ([`client`]), and a pool of outbound
//! WebSocket connections to any service, raw frames, never silently lost
//! ([`pool`]).
//!
//! ## Quick start
//!
//! This runs as it is (a doc test): it starts a hub in the same process,
//! connects, joins a room, asks for an ack and closes.
//!
//! ```
//! use std::time::Duration;
//! use switchboard_client::client::{self, HandlerError};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let hub = switchboard::Hub::builder()
//! #     .on("echo", |_s, data: serde_json::Value| async move {
//! #         Ok::<_, switchboard::HandlerError>(data)
//! #     })
//! #     .build();
//! # let listener = switchboard::listen(([127, 0, 0, 1], 0)).await?;
//! # let url = format!("ws://{}/", listener.local_addr()?);
//! # tokio::spawn({ let hub = hub.clone(); async move { hub.serve(listener).await } });
//! // `url` is the hub's WebSocket address, e.g. "ws://127.0.0.1:8080/ws".
//! let client = client::connect(&url)
//!     .on("news", |text: String| async move {
//!         tracing::info!(%text, "news");
//!         Ok::<_, HandlerError>(())
//!     })
//!     .connect()
//!     .await?;
//! client.join("lobby").await?;
//! assert!(client.rooms().contains(&"lobby".to_owned()));
//! let back: String = client.emit_with_ack("echo", "hi", Duration::from_secs(5)).await?;
//! assert_eq!(back, "hi");
//! client.close().await;
//! # hub.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! ## The concepts, from the client's side
//!
//! - **Sessions and resume**: a dropped link is redialled with backoff and
//!   the session resumed, so that every message the hub sent meanwhile
//!   arrives once and in order ([`client`] lists the rules; PROTOCOL.md
//!   section 5). [`client::Client::reconnect_count`] and
//!   [`client::Client::events`] say what happened.
//! - **Rooms**: [`client::Client::join`], [`client::Client::leave`],
//!   [`client::Client::rooms`], and relays to a room with
//!   [`client::Client::to`]; a new session rejoins the client's rooms by
//!   itself.
//! - **Room history**: in a room the hub keeps history of (PROTOCOL.md
//!   section 11), the client tracks where it stands
//!   ([`client::Client::room_position`]); a new session rejoins the room
//!   from there, and the messages missed meanwhile arrive as ordinary
//!   events, in order, none twice (but for the client's own relays of its
//!   earlier session, which it would not have got live either), with
//!   [`client::Event::Recovered`]
//!   saying whether they could. [`client::Client::join_since`] recovers
//!   from a position the application kept.
//! - **Acks**: [`client::Client::emit_with_ack`] asks the hub and waits;
//!   handlers given to [`client::ClientBuilder::on`] answer the hub's acks
//!   with their return value.
//! - **Long-polling**: [`client::Transports`] chooses WebSocket,
//!   long-polling or a WebSocket with long-polling fallback (the default).
//! - **Clusters**: nothing to configure. The client connects to whichever
//!   node the load balancer picks; a broadcast reaches it from any node. A
//!   resume that lands on another node gets a new session, and the client
//!   rejoins its rooms by itself, recovering what its history rooms missed.
//! - **Auth**: [`client::ClientBuilder::token`] takes a token (a JSON Web
//!   Token for a hub that checks them, PROTOCOL.md section 10) or a
//!   function returning a fresh one; with a function the client refreshes
//!   it before it expires and resumes with a fresh one after `4003`
//!   ([`client`] lists the rules). [`client::Client::user`] is the user the
//!   hub named. The token and [`client::ClientBuilder::header`] also reach
//!   the hub's authentication hook.
//! - **Limits**: the send queue while disconnected is bounded
//!   ([`client::ClientBuilder::queue_capacity`]); the hub's own limits and
//!   what they answer are in the `switchboard` crate's `guide` module.
//! - **Outbound connections to anything**: [`pool`] keeps named WebSocket
//!   connections to any server, with one merged stream of what they
//!   receive.
//!
//! ## Cargo features
//!
//! - `hub` (off by default): the pool adopts sockets a hub of the same
//!   process accepted in raw mode (`Pool::adopt`, `Pool::deliver_raw`,
//!   `Pool::raw_handler`), beside the connections it dials. It brings in the
//!   hub crate, `switchboard`, and with it axum and hyper's server, which a
//!   client does not need; without it the client depends on the protocol
//!   crate and the WebSocket codec only. A feature here rather than the
//!   adoption moved into the hub crate: adopted and dialed sockets share one
//!   pool (one registry, one merged stream, one `send` / `send_all`), which
//!   lives in this crate, and the hub crate stays free of client code
//!   (rustls, the dialer, the pool).

pub mod client;
mod dial;
pub mod pool;
