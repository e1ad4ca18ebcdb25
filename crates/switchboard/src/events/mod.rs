//! The dispatcher: one task per session, started on its first work, that
//! runs the session's inbound work in order (`dispatcher.rs`), one piece at
//! a time (`dispatch.rs`: events, relays, `$join`/`$leave`, raw frames).
//! A socket's `$join` or `$leave` before it has any other work is answered
//! by its connection task (`inline.rs`), with no dispatcher.

pub(crate) mod dispatch;
pub(crate) mod dispatcher;
pub(crate) mod inline;
