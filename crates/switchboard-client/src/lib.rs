//! # switchboard-client
//!
//! The other end of the wire: a Rust client for Switchboard hubs that
//! reconnects and resumes by itself ([`client`]), and a pool of outbound
//! WebSocket connections to any service, raw frames, never silently lost
//! ([`pool`]).

pub mod client;
mod dial;
pub mod pool;
