//! The hub's bounds, as small owned parts: places under the connection and
//! pending-poll limits (`slots.rs`), the per-client-address limits
//! (`address.rs`), the per-link message rate (`rate.rs`) and the state of a
//! link's inbound checks (`inbound.rs`).

pub(crate) mod address;
pub(crate) mod inbound;
pub(crate) mod rate;
pub(crate) mod slots;
