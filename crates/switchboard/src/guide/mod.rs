//! Guides: one page per concept, with examples that compile (each is a
//! doc test of this crate).
//!
//! - [`rooms`]: joining and leaving, broadcasting to rooms, the join policy.
//! - [`acks`]: events that want an answer, in both directions.
//! - [`sessions`]: what a socket is, resume after a dropped link, the
//!   disconnect handler.
//! - [`long_polling`]: the HTTP fallback and moving between transports.
//! - [`clusters`]: several hubs that act as one.
//! - [`limits`]: every bound a client can reach, and what it sees.
//! - [`auth`]: who may connect, join and relay; what handlers see of the
//!   handshake; application state.
//!
//! The wire protocol these pages refer to by section is `PROTOCOL.md`;
//! the standalone server's options for the same settings are in the
//! repository's README.

#[doc = include_str!("rooms.md")]
pub mod rooms {}

#[doc = include_str!("acks.md")]
pub mod acks {}

#[doc = include_str!("sessions.md")]
pub mod sessions {}

#[doc = include_str!("long_polling.md")]
pub mod long_polling {}

#[doc = include_str!("clusters.md")]
pub mod clusters {}

#[doc = include_str!("limits.md")]
pub mod limits {}

#[doc = include_str!("auth.md")]
pub mod auth {}
