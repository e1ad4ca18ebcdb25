//! The bounded queue of frames waiting to be written to one socket.
//!
//! A plain `VecDeque` behind a short lock plus a `Notify`: it allocates
//! nothing while idle, a push is one lock and one wake, and the writer takes
//! everything queued at once so it can coalesce it into one write.

use std::collections::VecDeque;

use bytes::Bytes;
use parking_lot::Mutex;
use switchboard_protocol::CloseCode;
use tokio::sync::Notify;

/// One frame to write.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    /// A text frame (JSON codec or raw text).
    Text(Bytes),
    /// A binary frame (MessagePack codec or raw binary).
    Binary(Bytes),
}

impl Outgoing {
    /// The payload's length in bytes.
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Text(bytes) | Self::Binary(bytes) => bytes.len(),
        }
    }
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The queue is at capacity: the socket is a slow consumer.
    Full,
    /// The socket is closing or closed.
    Closed,
}

#[derive(Debug, Default)]
struct State {
    frames: VecDeque<Outgoing>,
    /// A close requested by the hub or the application; wins over frames.
    close: Option<CloseCode>,
    /// Drop the link now, without a close frame (shutdown deadline).
    abort: bool,
    closed: bool,
}

/// What the writer takes from the queue in one go.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    pub(crate) frames: VecDeque<Outgoing>,
    pub(crate) close: Option<CloseCode>,
    pub(crate) abort: bool,
}

/// The send queue of one socket.
#[derive(Debug)]
pub(crate) struct SendQueue {
    state: Mutex<State>,
    notify: Notify,
    capacity: usize,
}

impl SendQueue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State::default()),
            notify: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues a frame. On [`PushError::Full`] the caller applies the
    /// slow-consumer policy.
    pub(crate) fn push(&self, frame: Outgoing) -> Result<(), PushError> {
        {
            let mut state = self.state.lock();
            if state.closed || state.close.is_some() || state.abort {
                return Err(PushError::Closed);
            }
            if state.frames.len() >= self.capacity {
                return Err(PushError::Full);
            }
            state.frames.push_back(frame);
        }
        self.notify.notify_one();
        Ok(())
    }

    /// Asks the writer to close the link with `code` after nothing more; the
    /// first request wins. Frames already queued are dropped when the code is
    /// `SlowConsumer`, otherwise written first.
    /// Returns whether this request was the one that took effect.
    pub(crate) fn request_close(&self, code: CloseCode) -> bool {
        {
            let mut state = self.state.lock();
            if state.closed || state.close.is_some() {
                return false;
            }
            if code == CloseCode::SlowConsumer {
                state.frames = VecDeque::new();
            }
            state.close = Some(code);
        }
        self.notify.notify_one();
        true
    }

    /// Asks the writer to drop the link at once, without a close frame.
    pub(crate) fn abort(&self) {
        self.state.lock().abort = true;
        self.notify.notify_waiters();
        self.notify.notify_one();
    }

    /// Resolves once [`SendQueue::abort`] has been called.
    pub(crate) async fn aborted(&self) {
        loop {
            let notified = self.notify.notified();
            if self.state.lock().abort {
                return;
            }
            notified.await;
        }
    }

    /// Marks the queue closed: later pushes fail, queued frames are released.
    pub(crate) fn close(&self) {
        let mut state = self.state.lock();
        state.closed = true;
        state.frames = VecDeque::new();
    }

    /// Whether a close was requested or the queue is closed.
    pub(crate) fn is_closing(&self) -> bool {
        let state = self.state.lock();
        state.closed || state.close.is_some() || state.abort
    }

    /// Takes everything queued, waiting until there is something.
    pub(crate) async fn drain(&self) -> Drained {
        loop {
            let notified = self.notify.notified();
            if let Some(drained) = self.try_drain() {
                return drained;
            }
            notified.await;
        }
    }

    /// Takes everything queued, if anything is.
    pub(crate) fn try_drain(&self) -> Option<Drained> {
        let mut state = self.state.lock();
        if state.frames.is_empty() && state.close.is_none() && !state.abort {
            return None;
        }
        let frames = std::mem::take(&mut state.frames);
        Some(Drained {
            frames,
            close: state.close,
            abort: state.abort,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_queue_refuses_and_close_wins() {
        let queue = SendQueue::new(2);
        queue
            .push(Outgoing::Text(Bytes::from_static(b"1")))
            .unwrap();
        queue
            .push(Outgoing::Text(Bytes::from_static(b"2")))
            .unwrap();
        assert_eq!(
            queue
                .push(Outgoing::Text(Bytes::from_static(b"3")))
                .unwrap_err(),
            PushError::Full
        );
        queue.request_close(CloseCode::SlowConsumer);
        let drained = queue.try_drain().unwrap();
        assert!(drained.frames.is_empty());
        assert_eq!(drained.close, Some(CloseCode::SlowConsumer));
        assert_eq!(
            queue
                .push(Outgoing::Text(Bytes::from_static(b"4")))
                .unwrap_err(),
            PushError::Closed
        );
    }

    #[tokio::test]
    async fn drain_waits_for_a_push() {
        let queue = std::sync::Arc::new(SendQueue::new(8));
        let q = queue.clone();
        let task = tokio::spawn(async move { q.drain().await.frames.len() });
        tokio::task::yield_now().await;
        queue
            .push(Outgoing::Binary(Bytes::from_static(b"x")))
            .unwrap();
        assert_eq!(task.await.unwrap(), 1);
    }
}
