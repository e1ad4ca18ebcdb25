//! A request body under the edge's rules: its connection counts as
//! pending (without a complete request) until the body has ended, and the
//! body must arrive within the header timeout of the head; a slower one
//! (a slow-POST slowloris) closes the connection.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::BoxError;
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use tokio::time::{Instant, Sleep};

use crate::edge::pending::{PendingConnections, PendingEntry};
use crate::stats::Counters;

/// Why a body stopped: it did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within the time allowed")]
pub(crate) struct BodyTimeout;

/// The pending entry a body settles when it ends, and the deadline it
/// must end by.
struct Watch {
    pending: Arc<PendingConnections>,
    entry: Arc<PendingEntry>,
    deadline: Pin<Box<Sleep>>,
    stats: Arc<Counters>,
}

/// An incoming body; watched while it has not ended.
pub(crate) struct EdgeBody {
    inner: Incoming,
    /// Boxed: most requests (a WebSocket upgrade, a long-polling `GET`)
    /// have no body, and this keeps the body that hyper hands to the
    /// router as small as a plain one.
    watch: Option<Box<Watch>>,
}

impl EdgeBody {
    /// Wraps `inner`. A body that has already ended (none, or empty)
    /// settles the connection at once and costs nothing more.
    pub(crate) fn new(
        inner: Incoming,
        pending: &Arc<PendingConnections>,
        entry: &Arc<PendingEntry>,
        deadline: Option<Instant>,
        stats: &Arc<Counters>,
    ) -> Self {
        let watch = match deadline {
            Some(deadline) if !inner.is_end_stream() => Some(Box::new(Watch {
                pending: pending.clone(),
                entry: entry.clone(),
                deadline: Box::pin(tokio::time::sleep_until(deadline)),
                stats: stats.clone(),
            })),
            _ => {
                pending.settle(entry);
                None
            }
        };
        Self { inner, watch }
    }

    fn settle(&mut self) {
        if let Some(watch) = self.watch.take() {
            watch.pending.settle(&watch.entry);
        }
    }
}

impl Body for EdgeBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match polled {
            Poll::Ready(None) => {
                this.settle();
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => {
                if this.inner.is_end_stream() {
                    this.settle();
                }
                Poll::Ready(Some(frame.map_err(BoxError::from)))
            }
            Poll::Pending => {
                let expired = this
                    .watch
                    .as_mut()
                    .is_some_and(|watch| watch.deadline.as_mut().poll(cx).is_ready());
                match this.watch.take() {
                    Some(watch) if expired => {
                        // Closes the connection: a client this slow is not
                        // waited for.
                        watch.stats.edge.body_timeout();
                        watch.pending.evict(&watch.entry);
                        Poll::Ready(Some(Err(BoxError::from(BodyTimeout))))
                    }
                    watch => {
                        this.watch = watch;
                        Poll::Pending
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for EdgeBody {
    fn drop(&mut self) {
        // A body dropped unread (the handler did not want it) no longer
        // holds the connection pending: hyper discards the rest.
        self.settle();
    }
}
