//! # switchboard-client
//!
//! The other end of the wire: a Rust client for Switchboard hubs that
//! reconnects and resumes by itself ([`client`]), and a pool of outbound
//! WebSocket connections to any service, raw frames, never silently lost
//! ([`pool`]).
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
