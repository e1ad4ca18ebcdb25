//! The connection layer: what a link does with its session, on either
//! transport. A WebSocket link's task (`link_task.rs`), a long-polling
//! link's requests (`polling.rs`), the inbound path both share
//! (`inbound.rs`: checks, immediate answers, the hand-over to the
//! dispatcher), and the admission of a new link (`admission.rs`,
//! `handshake_info.rs`).

pub(crate) mod admission;
pub(crate) mod handshake_info;
pub(crate) mod inbound;
mod link_task;
pub(crate) mod polling;

pub(crate) use link_task::run;
