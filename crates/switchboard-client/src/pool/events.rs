//! The merged event stream: what the pool's connections report, and the
//! bounded queue that carries it to the application.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::Notify;

/// One WebSocket data frame, sent or received as it is (no envelope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A text frame. Received text is valid UTF-8; text you send must be.
    Text(Bytes),
    /// A binary frame.
    Binary(Bytes),
}

impl Frame {
    /// A text frame from a string.
    pub fn text(text: impl Into<String>) -> Self {
        Self::Text(Bytes::from(text.into()))
    }

    /// A binary frame.
    pub fn binary(data: impl Into<Bytes>) -> Self {
        Self::Binary(data.into())
    }

    /// The payload.
    pub fn data(&self) -> &Bytes {
        match self {
            Self::Text(b) | Self::Binary(b) => b,
        }
    }

    /// The payload as text, when this is a text frame.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            Self::Text(b) => std::str::from_utf8(b).ok(),
            Self::Binary(_) => None,
        }
    }

    /// Whether this is a binary frame.
    pub fn is_binary(&self) -> bool {
        matches!(self, Self::Binary(_))
    }
}

/// Why a connection of the pool went down (the client's is
/// [`ClientDisconnect`](crate::client::ClientDisconnect)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolDisconnect {
    /// The peer sent a close frame (code 1005 when it gave none).
    PeerClosed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
    /// No pong (nor any other frame) arrived within the pong timeout after a ping.
    PingTimeout,
    /// The connection dropped, a read or a write failed, or the peer broke
    /// the protocol.
    Transport(String),
    /// The `on_connect` hook failed; the connection is dropped and retried.
    Hook(String),
    /// The pool closed it (`remove`, `close_all`, the pool was dropped).
    Local,
    /// An adopted hub socket ended (the hub's reason, as text).
    Hub(String),
}

impl fmt::Display for PoolDisconnect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PeerClosed { code, reason } => write!(f, "peer closed ({code} {reason})"),
            Self::PingTimeout => f.write_str("no pong within the pong timeout"),
            Self::Transport(e) => write!(f, "transport: {e}"),
            Self::Hook(e) => write!(f, "on_connect hook failed: {e}"),
            Self::Local => f.write_str("closed by the pool"),
            Self::Hub(e) => write!(f, "hub socket ended: {e}"),
        }
    }
}

/// One item of the merged stream. Events of one connection arrive in order:
/// `Connected`, its frames, `Disconnected`, then `Reconnecting`/`Connected`
/// again, and last `Removed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolEvent {
    /// A frame received on connection `id`.
    Frame {
        /// The connection's id.
        id: Arc<str>,
        /// The frame.
        frame: Frame,
    },
    /// Connection `id` is up (dialed and handshaken, or adopted). The
    /// `on_connect` hook starts right after this event.
    Connected {
        /// The connection's id.
        id: Arc<str>,
    },
    /// Connection `id` went down.
    Disconnected {
        /// The connection's id.
        id: Arc<str>,
        /// Why.
        reason: PoolDisconnect,
    },
    /// Connection `id` waits `delay` before dial attempt number `attempt`
    /// (1 for the first retry). `error` says why the last attempt failed, or
    /// why the connection went down.
    Reconnecting {
        /// The connection's id.
        id: Arc<str>,
        /// The attempt about to be made, from 1.
        attempt: u32,
        /// The wait before it.
        delay: Duration,
        /// Why a reconnect is needed.
        error: String,
    },
    /// Connection `id` left the pool: removed, closed by `close_all`, an
    /// adopted socket that ended, or a connection out of attempts. It
    /// reports nothing after this.
    Removed {
        /// The connection's id.
        id: Arc<str>,
    },
}

impl PoolEvent {
    /// The id of the connection this event is about.
    pub fn id(&self) -> &str {
        match self {
            Self::Frame { id, .. }
            | Self::Connected { id }
            | Self::Disconnected { id, .. }
            | Self::Reconnecting { id, .. }
            | Self::Removed { id } => id,
        }
    }
}

/// What the merged stream does when the application reads slower than the
/// connections receive.
///
/// State events (everything but [`PoolEvent::Frame`]) are never dropped:
/// under a drop policy a state event that finds the stream full evicts the
/// oldest queued frame (counted as dropped), and when only state events fill
/// it the connection waits for room; a frame that finds only state events
/// is dropped. Memory is bounded by the capacity in every case (plus the
/// last few events of each closing connection, see
/// [`crate::pool::Pool::close_all`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverflowPolicy {
    /// Connections wait for room: nothing is lost, and a connection whose
    /// frame waits stops reading from its peer (TCP flow control then slows
    /// the peer). Sends and close requests are still handled while waiting.
    #[default]
    Backpressure,
    /// A frame that finds the stream full is dropped and counted
    /// ([`PoolEvents::dropped`], [`crate::pool::Pool::dropped`]).
    DropNewest,
    /// A frame that finds the stream full evicts the oldest queued frame,
    /// which is counted as dropped: the consumer sees the most recent data.
    DropOldest,
}

struct QueueState {
    items: VecDeque<PoolEvent>,
    receiver_alive: bool,
    /// Producers that may still push: the pool handle's share plus one per
    /// connection task. At zero the receiver ends once it is drained.
    producers: usize,
}

/// The bounded queue behind the merged stream.
pub(crate) struct EventQueue {
    state: Mutex<QueueState>,
    capacity: usize,
    policy: OverflowPolicy,
    dropped: AtomicU64,
    readable: Notify,
    writable: Notify,
}

/// The push side was refused because the receiver is gone.
#[derive(Debug)]
pub(crate) struct ReceiverGone;

impl EventQueue {
    pub(crate) fn new(capacity: usize, policy: OverflowPolicy) -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(QueueState {
                items: VecDeque::with_capacity(capacity.min(1024)),
                receiver_alive: true,
                producers: 0,
            }),
            capacity: capacity.max(1),
            policy,
            dropped: AtomicU64::new(0),
            readable: Notify::new(),
            writable: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Registers a producer; its [`ProducerGuard`] unregisters it.
    pub(crate) fn producer(self: &Arc<Self>) -> ProducerGuard {
        self.lock().producers += 1;
        ProducerGuard {
            queue: Arc::clone(self),
        }
    }

    /// Tries to queue `event` without waiting. `Err(event)` when it must
    /// wait for room (always a state event or, under backpressure, any).
    fn try_push(&self, event: PoolEvent) -> Result<Result<(), PoolEvent>, ReceiverGone> {
        let mut state = self.lock();
        if !state.receiver_alive {
            return Err(ReceiverGone);
        }
        if state.items.len() < self.capacity {
            state.items.push_back(event);
            drop(state);
            self.readable.notify_one();
            return Ok(Ok(()));
        }
        let is_frame = matches!(event, PoolEvent::Frame { .. });
        match self.policy {
            OverflowPolicy::Backpressure => Ok(Err(event)),
            OverflowPolicy::DropNewest if is_frame => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                Ok(Ok(()))
            }
            OverflowPolicy::DropNewest | OverflowPolicy::DropOldest => {
                let oldest_frame = state
                    .items
                    .iter()
                    .position(|e| matches!(e, PoolEvent::Frame { .. }));
                match oldest_frame {
                    Some(index) => {
                        state.items.remove(index);
                        state.items.push_back(event);
                        drop(state);
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        self.readable.notify_one();
                        Ok(Ok(()))
                    }
                    // Only state events queued: a frame is dropped, a
                    // state event waits for room.
                    None if is_frame => {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        Ok(Ok(()))
                    }
                    None => Ok(Err(event)),
                }
            }
        }
    }

    /// Queues `event`, waiting for room when the policy says so.
    pub(crate) async fn push(&self, mut event: PoolEvent) -> Result<(), ReceiverGone> {
        loop {
            let notified = self.writable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_push(event)? {
                Ok(()) => return Ok(()),
                Err(back) => event = back,
            }
            notified.await;
        }
    }

    /// Queues a state event regardless of capacity: used only for the last
    /// events of a closing connection (at most three per connection).
    pub(crate) fn force_push(&self, event: PoolEvent) {
        {
            let mut state = self.lock();
            if !state.receiver_alive {
                return;
            }
            state.items.push_back(event);
        }
        self.readable.notify_one();
    }

    async fn pop(&self) -> Option<PoolEvent> {
        loop {
            let notified = self.readable.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(event) = state.items.pop_front() {
                    drop(state);
                    self.writable.notify_one();
                    return Some(event);
                }
                if state.producers == 0 {
                    return None;
                }
            }
            notified.await;
        }
    }

    fn try_pop(&self) -> Option<PoolEvent> {
        let event = self.lock().items.pop_front();
        if event.is_some() {
            self.writable.notify_one();
        }
        event
    }

    fn len(&self) -> usize {
        self.lock().items.len()
    }
}

/// Keeps the merged stream open while held; the last one dropped ends it.
pub(crate) struct ProducerGuard {
    queue: Arc<EventQueue>,
}

impl ProducerGuard {
    pub(crate) fn queue(&self) -> &EventQueue {
        &self.queue
    }
}

impl Drop for ProducerGuard {
    fn drop(&mut self) {
        let last = {
            let mut state = self.queue.lock();
            state.producers -= 1;
            state.producers == 0
        };
        if last {
            self.queue.readable.notify_waiters();
            self.queue.readable.notify_one();
        }
    }
}

/// The receiving end of the pool's merged stream. It ends (`None`) once the
/// pool handles are all dropped or closed and every connection task has
/// ended, after everything queued was read.
pub struct PoolEvents {
    queue: Arc<EventQueue>,
}

impl fmt::Debug for PoolEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolEvents")
            .field("queued", &self.queue.len())
            .field("dropped", &self.queue.dropped())
            .finish()
    }
}

impl PoolEvents {
    pub(crate) fn new(queue: Arc<EventQueue>) -> Self {
        Self { queue }
    }

    /// The next event; `None` when the stream has ended.
    pub async fn recv(&mut self) -> Option<PoolEvent> {
        self.queue.pop().await
    }

    /// The next event if one is queued now.
    pub fn try_recv(&mut self) -> Option<PoolEvent> {
        self.queue.try_pop()
    }

    /// How many events are queued.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Frames dropped so far by a drop policy (always 0 under backpressure).
    pub fn dropped(&self) -> u64 {
        self.queue.dropped()
    }

    /// This receiver as a [`Stream`] of events.
    pub fn into_stream(self) -> impl Stream<Item = PoolEvent> + Send + 'static {
        futures_util::stream::unfold(self, |mut events| async move {
            events.recv().await.map(|event| (event, events))
        })
    }
}

impl Drop for PoolEvents {
    fn drop(&mut self) {
        {
            let mut state = self.queue.lock();
            state.receiver_alive = false;
            state.items.clear();
        }
        self.queue.writable.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(n: u8) -> PoolEvent {
        PoolEvent::Frame {
            id: "x".into(),
            frame: Frame::binary(vec![n]),
        }
    }

    fn connected() -> PoolEvent {
        PoolEvent::Connected { id: "x".into() }
    }

    #[tokio::test]
    async fn state_events_evict_frames_but_are_never_dropped() {
        for policy in [OverflowPolicy::DropNewest, OverflowPolicy::DropOldest] {
            let queue = EventQueue::new(2, policy);
            let _producer = queue.producer();
            queue.push(frame(1)).await.unwrap();
            queue.push(frame(2)).await.unwrap();
            queue.push(connected()).await.unwrap();
            assert_eq!(queue.dropped(), 1, "{policy:?}");
            let mut events = PoolEvents::new(queue.clone());
            assert_eq!(events.try_recv(), Some(frame(2)));
            assert_eq!(events.try_recv(), Some(connected()));
            assert_eq!(events.try_recv(), None);
            // Full of state events: a frame has nothing to evict and is
            // dropped under either policy...
            queue.push(connected()).await.unwrap();
            queue.push(connected()).await.unwrap();
            queue.push(frame(3)).await.unwrap();
            assert_eq!(queue.dropped(), 2);
            // ...and a closing connection's last events still go in.
            queue.force_push(connected());
            assert_eq!(events.len(), 3);
        }
    }

    #[tokio::test]
    async fn the_stream_ends_when_the_producers_are_gone() {
        let queue = EventQueue::new(4, OverflowPolicy::Backpressure);
        let producer = queue.producer();
        producer.queue().push(connected()).await.unwrap();
        let events = PoolEvents::new(queue);
        drop(producer);
        let all: Vec<PoolEvent> = futures_util::StreamExt::collect(events.into_stream()).await;
        assert_eq!(all, [connected()]);
    }
}
