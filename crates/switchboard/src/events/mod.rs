//! Event routing: handlers by event name, acks, and the per-socket
//! dispatcher that runs them in order.

pub(crate) mod ack;
pub(crate) mod dispatch;
pub(crate) mod dispatcher;
pub(crate) mod handler;

pub(crate) use handler::{BoxFuture, EventRouter};
