//! The pool's old type names, kept as deprecated aliases.

/// The old name of [`PoolDisconnect`](super::PoolDisconnect).
#[deprecated(note = "renamed `PoolDisconnect` (the client and the hub have their own)")]
pub type DisconnectReason = super::PoolDisconnect;

/// The old name of [`PoolBackoff`](super::PoolBackoff).
#[deprecated(note = "renamed `PoolBackoff` (the client has its own `ClientBackoff`)")]
pub type Backoff = super::PoolBackoff;
