//! The hub: the handle applications hold, its registries and counters,
//! and the session lifecycle it drives (open, attach, detach, resume, end).

mod detach;
pub(crate) mod handle;
mod lifecycle;
