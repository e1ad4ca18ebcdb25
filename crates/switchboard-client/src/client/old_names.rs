//! The client's old type names, kept as deprecated aliases.

/// The old name of [`ClientDisconnect`](super::ClientDisconnect).
#[deprecated(note = "renamed `ClientDisconnect` (the hub has its own `DisconnectReason`)")]
pub type DisconnectReason = super::ClientDisconnect;

/// The old name of [`ClientAckError`](super::ClientAckError).
#[deprecated(note = "renamed `ClientAckError` (the hub has its own `AckError`)")]
pub type AckError = super::ClientAckError;

/// The old name of [`ClientBackoff`](super::ClientBackoff).
#[deprecated(note = "renamed `ClientBackoff` (the pool has its own `PoolBackoff`)")]
pub type Backoff = super::ClientBackoff;

#[cfg(test)]
#[allow(deprecated)]
mod tests {
    use super::*;

    #[test]
    fn old_names_still_name_the_types() {
        let reason: DisconnectReason = super::super::ClientDisconnect::ClientClosed;
        assert!(matches!(reason, DisconnectReason::ClientClosed));
        let error = AckError::Closed;
        assert!(matches!(error, super::super::ClientAckError::Closed));
        assert_eq!(Backoff::default(), super::super::ClientBackoff::default());
    }
}
