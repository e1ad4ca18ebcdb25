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
//! The hub's own answers to a client (`$pong`, and the `$error` of a bad or
//! rate-limited message) never overflow the queue into a `4001`: past the
//! high-water mark (half the capacity) they are shed and counted, and the
//! dispatcher waits for the queue to fall below it before it handles the
//! socket's next message ([`SendQueue::room_for_answers`]), so a flood of
//! control messages is slowed, not turned into a false slow consumer.
//!
//! While no link is attached (the session waits for a resume), a push
//! reports how much the resume buffer grew, for the hub's budget of
//! detached sessions.
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

/// Why a push was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushError {
    /// The link's queue is at capacity: the socket is a slow consumer.
    Full,
    /// The session is closing or has ended.
    Closed,
    /// An answer ([`Delivery::Uncounted`], [`Delivery::Answer`]) found the
    /// queue at its high-water mark and was dropped.
    Shed,
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

impl State {
    /// Whether no link is attached to a session that had one and has not
    /// ended: its resume buffer counts in the hub's detached budget.
    fn is_detached(&self) -> bool {
        !self.attached && !self.ended && self.link > 0
    }
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
    /// `resume` bounds the resume buffer in messages (0: resume off) and in
    /// payload bytes.
    pub(crate) fn new(capacity: usize, resume: (usize, usize)) -> Self {
        Self {
            state: Mutex::new(State {
                pending: VecDeque::new(),
                ring: ResumeRing::new(resume.0, resume.1),
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

    /// The high-water mark: answers are shed at this many pending frames.
    fn high_water(&self) -> usize {
        (self.capacity / 2).max(1)
    }

    /// Queues a frame. A counted frame gets the next number and enters the
    /// resume buffer; while no link is attached it waits only there, and an
    /// uncounted one (`$pong`) is dropped. On [`PushError::Full`] the caller
    /// applies the slow-consumer policy.
    ///
    /// Returns how many bytes the resume buffer of a detached session grew
    /// (negative: shrank); 0 while a link is attached.
    pub(crate) fn push(&self, frame: Outgoing, delivery: Delivery) -> Result<isize, PushError> {
        let counted = delivery != Delivery::Uncounted;
        let mut detached_growth = 0;
        let wake = {
            let mut state = self.state.lock();
            if state.ended || state.close.is_some() || state.abort {
                return Err(PushError::Closed);
            }
            if state.attached {
                let pending = state.pending.len();
                if pending >= self.capacity {
                    return Err(PushError::Full);
                }
                let answer = matches!(delivery, Delivery::Uncounted | Delivery::Answer);
                if answer && pending >= self.high_water() {
                    return Err(PushError::Shed);
                }
            }
            if counted {
                let growth = state.ring.push(&frame);
                if state.is_detached() {
                    detached_growth = growth;
                }
            }
            if state.attached {
                state.pending.push_back(frame);
            } else {
                return Ok(detached_growth);
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
        Ok(0)
    }

    /// Resolves once the queue of the current link is below its high-water
    /// mark, or no link is attached, or the session is closing: the
    /// dispatcher awaits this before each client message, so the answers
    /// of a flood never overflow the queue.
    pub(crate) async fn room_for_answers(&self) {
        loop {
            let notified = self.notify.notified();
            {
                let state = self.state.lock();
                let full = state.attached
                    && state.pending.len() >= self.high_water()
                    && !state.ended
                    && state.close.is_none()
                    && !state.abort;
                if !full {
                    return;
                }
            }
            // The drain that takes these frames wakes it.
            notified.await;
        }
    }

    /// Ends the writer's coalescing window: what waited is taken by its
    /// next drain.
    pub(crate) fn end_window(&self) {
        self.state.lock().deferring = false;
    }

    /// Attaches a new link. `resume_from` is the client's `last` for a
    /// resume, `None` for a new session. `welcome` builds the `$welcome`
    /// frame from the number of missed messages; it goes first, then the
    /// missed messages. Returns the link's generation, the count missed,
    /// and the resume buffer's bytes when the session was detached (they no
    /// longer count in the detached budget; else 0).
    pub(crate) fn attach(
        &self,
        resume_from: Option<u64>,
        welcome: impl FnOnce(u64) -> Outgoing,
    ) -> Result<(u64, u64, usize), ResumeRefused> {
        let generation = {
            let mut state = self.state.lock();
            if state.ended {
                return Err(ResumeRefused::Ended);
            }
            let released = if state.is_detached() {
                state.ring.bytes()
            } else {
                0
            };
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
            (state.link, missed, released)
        };
        // Wakes a superseded link's tasks so they stop.
        self.notify.notify_waiters();
        Ok(generation)
    }

    /// Detaches `link` if it is still the current one; what it had not
    /// written is dropped (counted messages stay in the resume buffer).
    /// Returns the resume buffer's bytes if it was current (they now count
    /// in the detached budget), else `None`.
    pub(crate) fn detach(&self, link: u64) -> Option<usize> {
        let bytes = {
            let mut state = self.state.lock();
            if state.link != link || !state.attached || state.ended {
                return None;
            }
            state.attached = false;
            state.pending = VecDeque::new();
            state.close = None;
            state.urgent = false;
            state.broadcast_pending = false;
            state.deferring = false;
            state.ring.bytes()
        };
        // A dispatcher waiting for room goes on: nothing is pending now.
        self.notify.notify_waiters();
        Some(bytes)
    }

    /// Whether `link` is the current, attached link.
    pub(crate) fn is_current(&self, link: u64) -> bool {
        let state = self.state.lock();
        state.attached && state.link == link
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

    /// Ends the session: later pushes fail, buffers are released. Returns
    /// the resume buffer's bytes when the session was detached (they no
    /// longer count in the detached budget; else 0).
    pub(crate) fn end(&self) -> usize {
        let released = {
            let mut state = self.state.lock();
            let released = if state.is_detached() {
                state.ring.bytes()
            } else {
                0
            };
            state.ended = true;
            state.attached = false;
            state.pending = VecDeque::new();
            state.ring.clear();
            released
        };
        self.notify.notify_waiters();
        released
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
        // A dispatcher may wait for a queue this full to drain: wake it.
        let was_full = state.pending.len() >= self.high_water();
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
        let drained = Drained {
            frames,
            close: state.close,
            abort: state.abort,
            superseded: false,
            window_started,
        };
        drop(state);
        if was_full {
            // Wakes the dispatcher waiting for room (and, spuriously, any
            // other waiter: a rare case, only under a flood).
            self.notify.notify_waiters();
        }
        drained
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
    fn answers_are_shed_at_the_high_water_mark() {
        let queue = SendQueue::new(8, (100, usize::MAX));
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
        for _ in 1..4 {
            queue.push(text("pong"), Delivery::Uncounted).unwrap();
        }
        // Four pending (the welcome and three pongs): half the capacity.
        assert_eq!(
            queue.push(text("pong"), Delivery::Uncounted),
            Err(PushError::Shed)
        );
        assert_eq!(
            queue.push(text("err"), Delivery::Answer),
            Err(PushError::Shed)
        );
        // Replies and events still go, up to the capacity.
        for f in ["r1", "r2", "r3", "r4"] {
            queue.push(text(f), Delivery::Direct).unwrap();
        }
        assert_eq!(
            queue.push(text("r5"), Delivery::Direct),
            Err(PushError::Full)
        );
        assert_eq!(queue.try_drain(link).frames.len(), 8);
        queue.push(text("err"), Delivery::Answer).unwrap();
    }

    #[tokio::test]
    async fn room_for_answers_waits_for_a_drain() {
        let queue = std::sync::Arc::new(SendQueue::new(4, (0, 0)));
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
        // Below the mark (2 of 4): no wait.
        queue.room_for_answers().now_or_never().unwrap();
        queue.push(text("1"), Delivery::Direct).unwrap();
        let q = queue.clone();
        let waiter = tokio::spawn(async move { q.room_for_answers().await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        queue.try_drain(link);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("a drain wakes the waiter")
            .unwrap();
    }

    #[test]
    fn a_detached_session_reports_its_buffer_bytes() {
        let queue = SendQueue::new(8, (10, 6));
        // Before the first link: nothing is detached.
        assert_eq!(queue.push(text("ab"), Delivery::Direct), Ok(0));
        let (link, _, released) = queue.attach(None, |_| text("w")).unwrap();
        assert_eq!(released, 0);
        assert_eq!(queue.push(text("cd"), Delivery::Broadcast), Ok(0));
        assert_eq!(queue.detach(link), Some(4));
        assert_eq!(queue.detach(link), None);
        // While detached: growth, then shrinking past the byte bound.
        assert_eq!(queue.push(text("ef"), Delivery::Direct), Ok(2));
        assert_eq!(queue.push(text("pong"), Delivery::Uncounted), Ok(0));
        assert_eq!(queue.push(text("ghij"), Delivery::Direct), Ok(0));
        // Resuming releases what it held; so does ending a detached session.
        let (link, missed, released) = queue.attach(Some(2), |_| text("w")).unwrap();
        assert_eq!((missed, released), (2, 6));
        assert_eq!(queue.detach(link), Some(6));
        assert_eq!(queue.end(), 6);
        assert_eq!(queue.end(), 0);
    }

    #[test]
    fn full_queue_refuses_and_close_wins() {
        let queue = SendQueue::new(3, (10, usize::MAX));
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
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
        let queue = SendQueue::new(100, (3, usize::MAX));
        let (first, _, _) = queue.attach(None, |_| text("w")).unwrap();
        for f in ["1", "2"] {
            queue.push(text(f), Delivery::Direct).unwrap();
        }
        queue.push(text("pong"), Delivery::Uncounted).unwrap();
        assert_eq!(
            texts(&queue.try_drain(first).frames),
            ["w", "1", "2", "pong"]
        );
        assert_eq!(queue.detach(first), Some(2));
        // While detached: counted messages are buffered, uncounted dropped.
        queue.push(text("3"), Delivery::Direct).unwrap();
        queue.push(text("pong"), Delivery::Uncounted).unwrap();
        let (second, missed, _) = queue
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
        let (_, missed, _) = queue.attach(Some(1), |_| text("w")).unwrap();
        assert_eq!(missed, 3);
        queue.end();
        assert_eq!(
            queue.attach(Some(4), |_| text("w")).unwrap_err(),
            ResumeRefused::Ended
        );
    }

    #[tokio::test]
    async fn drain_waits_for_a_push() {
        let queue = std::sync::Arc::new(SendQueue::new(8, (0, 0)));
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
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
        let queue = SendQueue::new(8, (0, 0));
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
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
        let queue = SendQueue::new(8, (8, usize::MAX));
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
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
        let queue = SendQueue::new(1024, (0, 0));
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
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
        let queue = SendQueue::new(8, (8, usize::MAX));
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
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
