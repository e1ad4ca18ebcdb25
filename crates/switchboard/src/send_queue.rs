//! The outbound side of one session: the frames waiting for the current
//! link, and the resume buffer of the last counted messages
//! (PROTOCOL.md section 5).
//!
//! Plain `VecDeque`s behind a short lock plus a `Notify`: nothing is
//! allocated while idle, a push is one lock and one wake, and a writer takes
//! everything queued at once so it can coalesce it into one write. Buffered
//! frames are `Bytes` handles: a broadcast's bytes are shared, never copied.
//!
//! Broadcast frames may wait a short while to share a write (the
//! coalescing window, [`crate::HubConfig::broadcast_coalesce`]): after a
//! writer has written broadcast frames, later ones are queued without
//! waking it until its window ends, unless a frame for this socket alone
//! (a reply, `$pong`, an emit) comes, which takes them all along at once.
//!
//! A session outlives its links. Each link attached to it gets a new
//! generation number; a link whose generation is no longer current has been
//! superseded (a resume took the session over) and must stop.

mod resume_ring;

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use switchboard_protocol::CloseCode;
use tokio::sync::Notify;

use self::resume_ring::ResumeRing;

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
}

impl Outgoing {
    /// A text or binary frame.
    pub(crate) fn new(bytes: Bytes, binary: bool) -> Self {
        Self(Arc::new(Frame { bytes, binary }))
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
}

/// The most frames a coalescing window holds back: once this many wait,
/// the writer takes them at once.
const MAX_HELD_FRAMES: usize = 64;

/// How a frame is queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// For this socket alone (a reply, an emit, `$error`): counted for
    /// resume, and written at once.
    Direct,
    /// `$pong`: neither counted nor buffered while no link is attached.
    Uncounted,
    /// Part of a broadcast: counted, and it may wait for the writer's
    /// coalescing window.
    Broadcast,
}

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The link's queue is at capacity: the socket is a slow consumer.
    Full,
    /// The session is closing or has ended.
    Closed,
}

/// Why a resume was refused: the client gets a new session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResumeRefused {
    /// `last` is older than the oldest buffered message, or beyond the
    /// last one sent.
    OutOfRange,
    /// The session has ended.
    Ended,
}

#[derive(Debug)]
struct State {
    /// Frames for the current link, in order.
    pending: VecDeque<Outgoing>,
    /// The last counted messages, by number.
    ring: ResumeRing,
    attached: bool,
    /// Generation of the current link.
    link: u64,
    /// A close the hub or the application asked for on the current link.
    close: Option<CloseCode>,
    /// Drop the link now, without a close frame (shutdown deadline).
    abort: bool,
    /// The session has ended.
    ended: bool,
    /// A frame that must not wait for the coalescing window is pending.
    urgent: bool,
    /// A broadcast frame is pending.
    broadcast_pending: bool,
    /// Broadcast frames wait for the writer's coalescing window to end.
    deferring: bool,
    /// A push has woken the writer and no drain has looked since: later
    /// pushes need not wake it again (a busy writer's frames arrive several
    /// per wake-up, and a wake takes the notifier's lock).
    woken: bool,
}

/// What a writer takes from the queue in one go.
#[derive(Debug, Default)]
pub(crate) struct Drained {
    pub(crate) frames: VecDeque<Outgoing>,
    pub(crate) close: Option<CloseCode>,
    pub(crate) abort: bool,
    /// This link was superseded by a resume on another link.
    pub(crate) superseded: bool,
    /// Broadcast frames were taken and coalescing is on: the writer starts
    /// a coalescing window once it has written them, and calls
    /// [`SendQueue::end_window`] when it ends.
    pub(crate) window_started: bool,
}

impl Drained {
    fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.close.is_none() && !self.abort && !self.superseded
    }
}

/// The outbound queue and resume buffer of one session.
#[derive(Debug)]
pub(crate) struct SendQueue {
    state: Mutex<State>,
    notify: Notify,
    capacity: usize,
}

impl SendQueue {
    /// `capacity` bounds what waits for a link (overflow: slow consumer);
    /// `resume_capacity` bounds the resume buffer (0: resume off).
    pub(crate) fn new(capacity: usize, resume_capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                pending: VecDeque::new(),
                ring: ResumeRing::new(resume_capacity),
                attached: false,
                link: 0,
                close: None,
                abort: false,
                ended: false,
                urgent: false,
                broadcast_pending: false,
                deferring: false,
                woken: false,
            }),
            notify: Notify::new(),
            capacity: capacity.max(1),
        }
    }

    /// Queues a frame. A counted frame gets the next number and enters the
    /// resume buffer; while no link is attached it waits only there, and an
    /// uncounted one (`$pong`) is dropped. On [`PushError::Full`] the caller
    /// applies the slow-consumer policy.
    pub(crate) fn push(&self, frame: Outgoing, delivery: Delivery) -> Result<(), PushError> {
        let counted = delivery != Delivery::Uncounted;
        let wake = {
            let mut state = self.state.lock();
            if state.ended || state.close.is_some() || state.abort {
                return Err(PushError::Closed);
            }
            if state.attached && state.pending.len() >= self.capacity {
                return Err(PushError::Full);
            }
            if counted {
                state.ring.push(&frame);
            }
            if state.attached {
                state.pending.push_back(frame);
            } else if !counted {
                return Ok(());
            }
            let due = if delivery == Delivery::Broadcast {
                // A writer inside its window is not woken: it takes this
                // frame when the window ends, or once enough are held that
                // waiting longer saves nothing (and a long window cannot
                // fill the queue of a fast reader).
                state.broadcast_pending = true;
                if state.deferring && state.pending.len() >= MAX_HELD_FRAMES {
                    state.urgent = true;
                }
                !state.deferring || state.urgent
            } else {
                state.urgent = true;
                true
            };
            let wake = due && !state.woken;
            state.woken |= wake;
            wake
        };
        if wake {
            self.notify.notify_waiters();
        }
        Ok(())
    }

    /// Ends the writer's coalescing window: what waited is taken by its
    /// next drain.
    pub(crate) fn end_window(&self) {
        self.state.lock().deferring = false;
    }

    /// Attaches a new link. `resume_from` is the client's `last` for a
    /// resume, `None` for a new session. `welcome` builds the `$welcome`
    /// frame from the number of missed messages; it goes first, then the
    /// missed messages. Returns the link's generation and the count missed.
    pub(crate) fn attach(
        &self,
        resume_from: Option<u64>,
        welcome: impl FnOnce(u64) -> Outgoing,
    ) -> Result<(u64, u64), ResumeRefused> {
        let generation = {
            let mut state = self.state.lock();
            if state.ended {
                return Err(ResumeRefused::Ended);
            }
            let last_sent = state.ring.last_seq();
            let from = match resume_from {
                None => last_sent,
                Some(last) => {
                    if last > last_sent || last + 1 < state.ring.first_seq() {
                        return Err(ResumeRefused::OutOfRange);
                    }
                    last
                }
            };
            let missed = last_sent - from;
            let mut pending = VecDeque::with_capacity(1 + missed as usize);
            pending.push_back(welcome(missed));
            pending.extend(state.ring.after(from).cloned());
            state.pending = pending;
            state.attached = true;
            state.close = None;
            state.urgent = false;
            state.broadcast_pending = false;
            state.deferring = false;
            state.woken = false;
            state.link += 1;
            (state.link, missed)
        };
        // Wakes a superseded link's tasks so they stop.
        self.notify.notify_waiters();
        Ok(generation)
    }

    /// Detaches `link` if it is still the current one; what it had not
    /// written is dropped (counted messages stay in the resume buffer).
    /// Returns whether it was current.
    pub(crate) fn detach(&self, link: u64) -> bool {
        let mut state = self.state.lock();
        if state.link != link || !state.attached {
            return false;
        }
        state.attached = false;
        state.pending = VecDeque::new();
        state.close = None;
        state.urgent = false;
        state.broadcast_pending = false;
        state.deferring = false;
        true
    }

    /// Whether `link` is the current, attached link.
    pub(crate) fn is_current(&self, link: u64) -> bool {
        let state = self.state.lock();
        state.attached && state.link == link
    }

    /// The generation of the newest link.
    pub(crate) fn current_link(&self) -> u64 {
        self.state.lock().link
    }

    /// The close requested on the current link, if any.
    pub(crate) fn requested_close(&self) -> Option<CloseCode> {
        self.state.lock().close
    }

    /// Whether a link is attached.
    pub(crate) fn is_attached(&self) -> bool {
        self.state.lock().attached
    }

    /// Asks the current link to close with `code` after what is queued
    /// before it (frames are dropped for `SlowConsumer`); the first request
    /// wins. Returns whether this request took effect.
    pub(crate) fn request_close(&self, code: CloseCode) -> bool {
        {
            let mut state = self.state.lock();
            if state.ended || state.close.is_some() {
                return false;
            }
            if code == CloseCode::SlowConsumer {
                state.pending = VecDeque::new();
            }
            state.close = Some(code);
        }
        self.notify.notify_waiters();
        true
    }

    /// Asks the current link to drop at once, without a close frame.
    pub(crate) fn abort(&self) {
        self.state.lock().abort = true;
        self.notify.notify_waiters();
    }

    /// Ends the session: later pushes fail, buffers are released.
    pub(crate) fn end(&self) {
        {
            let mut state = self.state.lock();
            state.ended = true;
            state.attached = false;
            state.pending = VecDeque::new();
            state.ring.clear();
        }
        self.notify.notify_waiters();
    }

    /// Takes everything queued for `link`, waiting until there is something
    /// (and, with `coalesce`, until broadcast frames are due: see
    /// [`Drained::window_started`]). `spare`, an emptied queue of an
    /// earlier drain, takes the place of the frames taken, so a busy link
    /// allocates no queue per wake-up.
    pub(crate) async fn drain(
        &self,
        link: u64,
        spare: &mut VecDeque<Outgoing>,
        coalesce: bool,
    ) -> Drained {
        loop {
            let notified = self.notify.notified();
            let drained = self.take(link, Some(&mut *spare), coalesce);
            if !drained.is_empty() {
                return drained;
            }
            notified.await;
        }
    }

    /// Takes everything queued for `link` without waiting.
    pub(crate) fn try_drain(&self, link: u64) -> Drained {
        self.take(link, None, false)
    }

    fn take(&self, link: u64, spare: Option<&mut VecDeque<Outgoing>>, coalesce: bool) -> Drained {
        let mut state = self.state.lock();
        // Whatever it finds, the caller waits for the next change after
        // this: the next push must wake it.
        state.woken = false;
        if state.link != link || !state.attached {
            return Drained {
                superseded: true,
                abort: state.abort,
                ..Drained::default()
            };
        }
        let waits = state.deferring && !state.urgent && state.close.is_none() && !state.abort;
        if waits {
            return Drained::default();
        }
        let frames = match spare {
            Some(spare) if !state.pending.is_empty() => {
                std::mem::replace(&mut state.pending, std::mem::take(spare))
            }
            _ => std::mem::take(&mut state.pending),
        };
        let window_started = coalesce && state.broadcast_pending;
        state.urgent = false;
        state.broadcast_pending = false;
        if window_started {
            state.deferring = true;
        }
        Drained {
            frames,
            close: state.close,
            abort: state.abort,
            superseded: false,
            window_started,
        }
    }

    /// Resolves once [`SendQueue::abort`] has been called or `link` is no
    /// longer current.
    pub(crate) async fn aborted_or_superseded(&self, link: u64) {
        loop {
            let notified = self.notify.notified();
            {
                let state = self.state.lock();
                if state.abort || state.link != link || !state.attached {
                    return;
                }
            }
            notified.await;
        }
    }

    /// A future resolving at the next change of the queue; it sees every
    /// change made after this call, even before it is first polled. Call
    /// [`SendQueue::try_drain`] after it: a frame pushed while an earlier
    /// wake-up has not been followed by a drain wakes no one again.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.notify.notified()
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    fn text(s: &'static str) -> Outgoing {
        Outgoing::new(Bytes::from_static(s.as_bytes()), false)
    }

    fn texts(frames: &VecDeque<Outgoing>) -> Vec<String> {
        frames
            .iter()
            .map(|f| String::from_utf8(f.bytes().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn full_queue_refuses_and_close_wins() {
        let queue = SendQueue::new(3, 10);
        let (link, _) = queue.attach(None, |_| text("w")).unwrap();
        queue.push(text("1"), Delivery::Direct).unwrap();
        queue.push(text("2"), Delivery::Direct).unwrap();
        assert_eq!(
            queue.push(text("3"), Delivery::Direct).unwrap_err(),
            PushError::Full
        );
        queue.request_close(CloseCode::SlowConsumer);
        let drained = queue.try_drain(link);
        assert!(drained.frames.is_empty());
        assert_eq!(drained.close, Some(CloseCode::SlowConsumer));
        assert_eq!(
            queue.push(text("4"), Delivery::Direct).unwrap_err(),
            PushError::Closed
        );
    }

    #[test]
    fn resume_replays_what_was_missed_under_original_numbers() {
        let queue = SendQueue::new(100, 3);
        let (first, _) = queue.attach(None, |_| text("w")).unwrap();
        for f in ["1", "2"] {
            queue.push(text(f), Delivery::Direct).unwrap();
        }
        queue.push(text("pong"), Delivery::Uncounted).unwrap();
        assert_eq!(
            texts(&queue.try_drain(first).frames),
            ["w", "1", "2", "pong"]
        );
        assert!(queue.detach(first));
        // While detached: counted messages are buffered, uncounted dropped.
        queue.push(text("3"), Delivery::Direct).unwrap();
        queue.push(text("pong"), Delivery::Uncounted).unwrap();
        let (second, missed) = queue
            .attach(Some(1), |m| if m == 2 { text("w2") } else { text("bad") })
            .unwrap();
        assert_eq!(missed, 2);
        assert_eq!(texts(&queue.try_drain(second).frames), ["w2", "2", "3"]);
        assert!(queue.try_drain(first).superseded);
        // Beyond the last sent, or older than the buffer (holds 1..=3 then 2..=4).
        queue.push(text("4"), Delivery::Direct).unwrap();
        assert_eq!(
            queue.attach(Some(5), |_| text("w")).unwrap_err(),
            ResumeRefused::OutOfRange
        );
        assert_eq!(
            queue.attach(Some(0), |_| text("w")).unwrap_err(),
            ResumeRefused::OutOfRange
        );
        let (_, missed) = queue.attach(Some(1), |_| text("w")).unwrap();
        assert_eq!(missed, 3);
        queue.end();
        assert_eq!(
            queue.attach(Some(4), |_| text("w")).unwrap_err(),
            ResumeRefused::Ended
        );
    }

    #[tokio::test]
    async fn drain_waits_for_a_push() {
        let queue = std::sync::Arc::new(SendQueue::new(8, 0));
        let (link, _) = queue.attach(None, |_| text("w")).unwrap();
        queue.try_drain(link);
        let q = queue.clone();
        let task = tokio::spawn(async move {
            q.drain(link, &mut VecDeque::new(), false)
                .await
                .frames
                .len()
        });
        tokio::task::yield_now().await;
        queue
            .push(
                Outgoing::new(Bytes::from_static(b"x"), true),
                Delivery::Direct,
            )
            .unwrap();
        assert_eq!(task.await.unwrap(), 1);
    }

    /// Pushes after an unanswered wake-up do not wake again, and a drain
    /// re-arms the wake: a writer never sleeps on frames it has not seen.
    #[test]
    fn a_writer_is_woken_once_per_drain() {
        let queue = SendQueue::new(8, 0);
        let (link, _) = queue.attach(None, |_| text("w")).unwrap();
        queue.try_drain(link);
        let (mut spare, mut spare2) = (VecDeque::new(), VecDeque::new());
        let mut drain = std::pin::pin!(queue.drain(link, &mut spare, false));
        assert!(drain.as_mut().now_or_never().is_none());
        queue.push(text("1"), Delivery::Direct).unwrap();
        assert!(queue.state.lock().woken);
        queue.push(text("2"), Delivery::Broadcast).unwrap();
        assert_eq!(
            texts(&drain.as_mut().now_or_never().unwrap().frames),
            ["1", "2"]
        );
        assert!(!queue.state.lock().woken);
        let mut drain = std::pin::pin!(queue.drain(link, &mut spare2, false));
        assert!(drain.as_mut().now_or_never().is_none());
        queue.push(text("3"), Delivery::Broadcast).unwrap();
        assert_eq!(texts(&drain.now_or_never().unwrap().frames), ["3"]);
    }

    #[test]
    fn broadcast_frames_wait_for_the_window_unless_a_direct_frame_comes() {
        let queue = SendQueue::new(8, 8);
        let (link, _) = queue.attach(None, |_| text("w")).unwrap();
        let mut spare = VecDeque::new();
        let mut drain = |queue: &SendQueue| {
            queue
                .drain(link, &mut spare, true)
                .now_or_never()
                .map(|d| (texts(&d.frames), d.window_started))
        };
        // The welcome is direct: no window.
        assert_eq!(drain(&queue), Some((vec!["w".to_owned()], false)));
        // A broadcast frame goes at once and opens a window...
        queue.push(text("a"), Delivery::Broadcast).unwrap();
        assert_eq!(drain(&queue), Some((vec!["a".to_owned()], true)));
        // ...in which the next one waits,
        queue.push(text("b"), Delivery::Broadcast).unwrap();
        assert_eq!(drain(&queue), None);
        // until a direct frame takes it along (a new window: `b` was in it).
        queue.push(text("pong"), Delivery::Uncounted).unwrap();
        assert_eq!(
            drain(&queue),
            Some((vec!["b".to_owned(), "pong".to_owned()], true))
        );
        queue.push(text("c"), Delivery::Broadcast).unwrap();
        assert_eq!(drain(&queue), None);
        queue.end_window();
        assert_eq!(drain(&queue), Some((vec!["c".to_owned()], true)));
        // A close never waits; without coalescing nothing waits.
        queue.push(text("d"), Delivery::Broadcast).unwrap();
        queue.request_close(CloseCode::Normal);
        let drained = queue.drain(link, &mut spare, true).now_or_never().unwrap();
        assert_eq!(
            (texts(&drained.frames), drained.close),
            (vec!["d".to_owned()], Some(CloseCode::Normal))
        );
    }

    #[test]
    fn a_full_window_is_written_at_once() {
        let queue = SendQueue::new(1024, 0);
        let (link, _) = queue.attach(None, |_| text("w")).unwrap();
        let mut spare = VecDeque::new();
        queue.push(text("a"), Delivery::Broadcast).unwrap();
        let drained = queue.drain(link, &mut spare, true).now_or_never().unwrap();
        assert_eq!(texts(&drained.frames), ["w", "a"]);
        assert!(drained.window_started);
        for _ in 1..MAX_HELD_FRAMES {
            queue.push(text("b"), Delivery::Broadcast).unwrap();
        }
        assert!(queue.drain(link, &mut spare, true).now_or_never().is_none());
        queue.push(text("c"), Delivery::Broadcast).unwrap();
        let drained = queue.drain(link, &mut spare, true).now_or_never().unwrap();
        assert_eq!(drained.frames.len(), MAX_HELD_FRAMES);
    }

    #[test]
    fn without_coalescing_no_window_opens() {
        let queue = SendQueue::new(8, 8);
        let (link, _) = queue.attach(None, |_| text("w")).unwrap();
        let mut spare = VecDeque::new();
        for f in ["w", "a", "b"] {
            if f != "w" {
                queue.push(text(f), Delivery::Broadcast).unwrap();
            }
            let drained = queue.drain(link, &mut spare, false).now_or_never().unwrap();
            assert_eq!(texts(&drained.frames), [f]);
            assert!(!drained.window_started);
        }
    }
}
