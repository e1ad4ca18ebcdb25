//! Stands in for `adopted.rs` without the `hub` feature: no socket can be
//! adopted, so [`HubSocket`] has no value and the pool's `Adopted` route is
//! never built. The rest of the pool is the same code with or without the
//! feature.

use std::convert::Infallible;

use super::PoolError;
use super::events::Frame;

/// A socket a hub accepted in raw mode: none exists without the `hub`
/// feature. (A private `Infallible` field rather than an empty enum, so the
/// pool's code that handles one is not flagged as unreachable.)
#[derive(Clone)]
pub(crate) struct HubSocket(Infallible);

impl HubSocket {
    pub(crate) fn id(&self) -> &str {
        match self.0 {}
    }
}

/// Never called: there is no adopted socket to send on.
pub(crate) fn send(_id: &str, socket: &HubSocket, _frame: Frame) -> Result<(), PoolError> {
    match socket.0 {}
}
