//! Transports move frames between a session and its peer.
//!
//! A connection-oriented transport implements [`Link`] and is driven by the
//! connection task: WebSocket is the one today, and the WebSocket protocol
//! crate stays behind this seam so it can be swapped. Long-polling has no
//! connection to drive: its HTTP handlers ([`polling`]) drain the session's
//! queue and feed the same inbound checks directly.

pub(crate) mod handshake;
pub(crate) mod poll_links;
pub(crate) mod ws;

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::Poll;

use bytes::Bytes;
use switchboard_protocol::CloseCode;

use crate::send_queue::Outgoing;

/// Polls `future` once with the calling task's waker: its output if it is
/// ready at once.
///
/// For a link's writes, not `now_or_never`: its no-op waker differs from
/// the task's, which the link's reads registered, and the WebSocket codec
/// then takes the two halves for two tasks and routes every readiness
/// wake-up through a proxy of wakers for the rest of the connection.
pub(crate) async fn poll_once<F: Future>(mut future: Pin<&mut F>) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match future.as_mut().poll(cx) {
            Poll::Ready(output) => Some(output),
            Poll::Pending => None,
        })
    })
    .await
}

/// A frame received from the peer.
#[derive(Debug)]
pub(crate) enum Received {
    /// A complete text message (already checked to be UTF-8).
    Text(Bytes),
    /// A complete binary message.
    Binary(Bytes),
    /// A Ping or Pong control frame: only proof of life.
    Control,
    /// The peer sent a Close frame with this code (1005 when it had none).
    Close(u16),
}

/// How a link failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LinkError {
    /// The peer broke the protocol; close with the given code.
    #[error("{reason}")]
    Protocol {
        /// The close code to answer with (1002, 1007 or 1009).
        code: CloseCode,
        /// What was wrong.
        reason: String,
    },
    /// The connection dropped or a write failed.
    #[error("connection lost: {0}")]
    Lost(String),
}

/// A bidirectional message link to one peer.
pub(crate) trait Link: Send + 'static {
    /// Receives the next frame; `None` when the link has ended. Must be
    /// cancel-safe.
    fn recv(&mut self) -> impl Future<Output = Option<Result<Received, LinkError>>> + Send;

    /// Writes frames, coalesced into as few writes as the transport allows,
    /// and flushes once. Takes the frames out of `frames` and leaves its
    /// capacity, so the caller can reuse the queue.
    fn send_frames(
        &mut self,
        frames: &mut VecDeque<Outgoing>,
    ) -> impl Future<Output = Result<(), LinkError>> + Send;

    /// Sends a transport-level heartbeat probe (WebSocket Ping).
    fn ping(&mut self) -> impl Future<Output = Result<(), LinkError>> + Send;

    /// Starts a clean close with `code` and waits briefly for the peer's
    /// answer.
    fn close(&mut self, code: CloseCode) -> impl Future<Output = ()> + Send;

    /// Fails the connection after a protocol error: sends a close frame with
    /// `code` if possible and drops the link.
    fn fail(&mut self, code: CloseCode) -> impl Future<Output = ()> + Send;
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    #[tokio::test]
    async fn poll_once_polls_with_the_tasks_own_waker() {
        let task = std::future::poll_fn(|cx| Poll::Ready(cx.waker().clone())).await;
        let mut seen: Option<Waker> = None;
        {
            let pending = std::future::poll_fn(|cx| {
                seen = Some(cx.waker().clone());
                Poll::<()>::Pending
            });
            assert!(poll_once(std::pin::pin!(pending)).await.is_none());
        }
        assert!(seen.expect("polled once").will_wake(&task));
        assert_eq!(poll_once(std::pin::pin!(async { 7 })).await, Some(7));
    }
}
