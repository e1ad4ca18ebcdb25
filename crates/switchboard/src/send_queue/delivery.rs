//! How a frame is queued: for one socket, as the hub's answer, or as part
//! of a broadcast.

/// How a frame is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// For this socket alone (a reply, an emit, `$error`): counted for
    /// resume, and written at once.
    Direct,
    /// `$pong`: neither counted nor buffered while no link is attached;
    /// shed past the high-water mark.
    Uncounted,
    /// The hub's `$error` answer to a client's bad or rate-limited message:
    /// counted, but shed past the high-water mark.
    Answer,
    /// Part of a broadcast: counted, and it may wait for the writer's
    /// coalescing window.
    Broadcast,
}
