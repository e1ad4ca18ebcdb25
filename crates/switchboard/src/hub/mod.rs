//! The hub layer: the two handles applications hold, [`Hub`](handle::Hub)
//! and [`Socket`](handle::Socket), which name each other and so are
//! defined together (`handle.rs`); what they do (`socket.rs`, the
//! session lifecycle in `lifecycle.rs` and `detach.rs`), the broadcast
//! operators, the cluster view, and this node's side of the cluster
//! (sessions moving between nodes in `move_in.rs` and `move_out.rs`).

pub(crate) mod broadcast;
pub(crate) mod cluster_view;
pub(crate) mod coalescing;
mod detach;
pub(crate) mod guard;
pub(crate) mod handle;
mod history;
mod history_broadcast;
mod history_cluster;
mod history_join;
pub(crate) mod lifecycle;
pub(crate) mod move_in;
mod move_out;
mod node;
mod presence;
mod socket;
pub(crate) mod token_expiry;
mod users;
