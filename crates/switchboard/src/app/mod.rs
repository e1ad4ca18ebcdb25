//! What the application gives the hub, stored: event handlers and
//! lifecycle hooks (`handlers.rs`) and policies (`policies.rs`). They are
//! generic over the socket handle they are called with, so they sit below
//! the hub that holds them.

pub(crate) mod handlers;
pub(crate) mod policies;

pub(crate) use handlers::{BoxFuture, EventRouter};
