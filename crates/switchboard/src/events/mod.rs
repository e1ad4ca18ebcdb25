//! The dispatcher: one task per session, started on its first work, that
//! runs the session's inbound work in order (`dispatcher.rs`), one piece at
//! a time (`dispatch.rs`: events, relays, `$join`/`$leave`, raw frames).

pub(crate) mod dispatch;
pub(crate) mod dispatcher;
