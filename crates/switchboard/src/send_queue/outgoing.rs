//! One frame to write, shared by every queue and resume ring it is in.

use std::sync::Arc;

use bytes::Bytes;

use crate::id::OpId;

/// One frame to write: a one-pointer handle on bytes shared by every
/// queue it is in.
///
/// A broadcast's frame sits in the pending queue and the resume buffer of
/// every recipient; a slot of eight bytes rather than forty keeps those
/// buffers (1,000 frames per session by default) five times smaller and
/// their pushes mostly in cache.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing(Arc<Frame>);

#[derive(Debug)]
struct Frame {
    bytes: Bytes,
    binary: bool,
    /// The cluster operation it belongs to, when it may reach a session
    /// on two nodes at once (a session moving between them).
    op: Option<OpId>,
}

impl Outgoing {
    /// A text or binary frame.
    pub(crate) fn new(bytes: Bytes, binary: bool) -> Self {
        Self::with_op(bytes, binary, None)
    }

    /// A frame of the cluster operation `op`.
    pub(crate) fn with_op(bytes: Bytes, binary: bool, op: Option<OpId>) -> Self {
        Self(Arc::new(Frame { bytes, binary, op }))
    }

    /// The payload's length in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.bytes.len()
    }

    /// The payload.
    pub(crate) fn bytes(&self) -> &Bytes {
        &self.0.bytes
    }

    /// Whether this is a binary frame.
    pub(crate) fn is_binary(&self) -> bool {
        self.0.binary
    }

    /// The cluster operation it belongs to, if any.
    pub(crate) fn op(&self) -> Option<OpId> {
        self.0.op
    }
}
