//! A minimal WebSocket client for receiving at high rates: the opening
//! handshake, unmasked server frames parsed in place from one read buffer
//! (many frames per read, no allocation per frame), masked client frames,
//! pings answered. No extensions (permessage-deflate is never offered), no
//! TLS. One connection is a [`LeanWs`]; a workload drives many of them on
//! a current-thread Tokio runtime.
//!
//! It speaks Switchboard's protocol or, with [`Protocol::SocketIo`],
//! Socket.IO over the WebSocket transport (the open and connect packets,
//! Engine.IO pings answered, the `socketioxide` peer's events).
//!
//! Files: `frame.rs` (pure framing), `handshake.rs` (URL and upgrade),
//! `conn.rs` (the connection), `many.rs` (opening many), `socketio.rs`
//! (the protocol choice and Socket.IO's packets).

pub mod conn;
pub mod frame;
pub mod handshake;
pub mod many;
pub mod socketio;

pub use conn::{Endpoint, LeanWs, Status};
pub use handshake::WsUrl;
pub use many::open_many;
pub use socketio::Protocol;
