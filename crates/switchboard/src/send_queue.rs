//! The outbound side of one session: the frames waiting for the current
//! link, and the resume buffer of the last counted messages
//! (PROTOCOL.md section 5).
//!
//! Plain `VecDeque`s behind a short lock, the link's writer waker kept
//! under it, plus a `Notify` for other waiters: nothing is allocated while
//! idle, a push is one lock (and a wake when the writer is not already
//! woken), and a writer takes everything queued at once so it can coalesce
//! it into one write. Buffered
//! frames are `Bytes` handles: a broadcast's bytes are shared, never copied.
//!
//! Broadcast frames may wait a short while to share a write (the
//! coalescing window, [`crate::HubConfig::broadcast_coalesce`]): once
//! broadcasts come to the socket less than a window apart, after a writer
//! has written broadcast frames later ones are queued without waking it
//! until its window ends, unless a frame for this socket alone (a reply,
//! `$pong`, an emit) comes, which takes them all along at once. A window
//! that held nothing ends this until broadcasts come that close again.
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

mod delivery;
mod moving;
mod outgoing;
mod resume_ring;

use std::collections::VecDeque;
use std::future::Future;
use std::task::{Poll, Waker};
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_protocol::CloseCode;
use tokio::sync::Notify;
use tokio::time::Instant;

pub(crate) use self::delivery::Delivery;
use self::moving::{MoveIn, Pushed};
pub(crate) use self::outgoing::Outgoing;
use self::resume_ring::ResumeRing;
use crate::id::OpId;

/// The most frames a coalescing window holds back: once this many wait,
/// the writer takes them at once.
const MAX_HELD_FRAMES: usize = 64;

/// The largest emptied queue a socket keeps for its next frames, here and
/// as its writer's spare: a burst's bigger one is freed once written.
pub(crate) const MAX_IDLE_QUEUE_FRAMES: usize = 64;

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

/// Laid out as written (`repr(C)`): what every push reads and writes (the
/// flags, the pending frames, the resume ring's counters) comes first, on
/// the cache lines of the lock before it, so a broadcast touches as few of
/// each recipient's lines as it can (`a_push_touches_the_first_two_lines`).
#[derive(Debug)]
#[repr(C)]
struct State {
    /// A link is attached: pushes queue for it.
    attached: bool,
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
    /// Broadcasts come to this socket at least one per coalescing window:
    /// its writes of broadcast frames open windows. Set when two broadcast
    /// writes come less than a window apart, cleared when a window ends
    /// with nothing held (so a socket that gets fewer broadcasts than one
    /// per window pays no latency nor timer for coalescing) or when two
    /// broadcast writes come more than two windows apart (the writer is
    /// behind: see [`SendQueue::opens_window`]).
    busy: bool,
    /// A push has woken the writer and no drain has looked since: later
    /// pushes need not wake it again (a busy writer's frames arrive several
    /// per wake-up, and a wake takes the notifier's lock).
    woken: bool,
    /// Whether wake-ups are timed ([`SendQueue::time_wakes`]).
    times_wakes: bool,
    /// A close the hub or the application asked for on the current link.
    close: Option<CloseCode>,
    /// How many frames may wait for the link (more: a slow consumer).
    capacity: u32,
    /// Frames for the current link, in order.
    pending: VecDeque<Outgoing>,
    /// The last counted messages, by number.
    ring: ResumeRing,
    /// Generation of the current link.
    link: u64,
    /// The current link's writer, waiting in [`SendQueue::drain`]: woken
    /// by every change, as `notify`'s waiters are. A waker kept here
    /// rather than a `Notify` waiter, whose future would take ~80 bytes in
    /// every idle connection's task; registered only by the current link,
    /// so a superseded one cannot take the place of its successor.
    writer: Option<Waker>,
    /// When a timed push woke the writer: the drain tells how long after
    /// it ran ([`Drained::woken_after`]).
    woken_at: Option<Instant>,
    /// When broadcast frames were last taken for writing (only kept while
    /// coalescing is on).
    last_broadcast_write: Option<Instant>,
    /// The session is moving here from another node (`moving.rs`).
    moving_in: Option<Box<MoveIn>>,
}

impl State {
    /// How many frames may wait for the link.
    fn capacity(&self) -> usize {
        self.capacity as usize
    }

    /// The high-water mark: answers are shed at this many pending frames.
    fn high_water(&self) -> usize {
        (self.capacity() / 2).max(1)
    }

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
    /// How long after the push that woke the writer this drain ran (none
    /// when no push woke it: a timer, a window's end).
    pub(crate) woken_after: Option<Duration>,
}

impl Drained {
    fn is_empty(&self) -> bool {
        self.frames.is_empty() && self.close.is_none() && !self.abort && !self.superseded
    }
}

/// The outbound queue and resume buffer of one session. Laid out as
/// written: the lock and its state first (see [`State`]).
#[derive(Debug)]
#[repr(C)]
pub(crate) struct SendQueue {
    state: Mutex<State>,
    notify: Notify,
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
                capacity: u32::try_from(capacity.max(1)).unwrap_or(u32::MAX),
                abort: false,
                ended: false,
                urgent: false,
                broadcast_pending: false,
                deferring: false,
                woken: false,
                times_wakes: false,
                woken_at: None,
                moving_in: None,
                writer: None,
                busy: false,
                last_broadcast_write: None,
            }),
            notify: Notify::new(),
        }
    }

    /// Times each wake-up of the writer by a push, for the hub's
    /// coalescing guard ([`Drained::woken_after`]): only on a hub that
    /// coalesces broadcasts (a clock read per wake-up and per drain).
    pub(crate) fn time_wakes(&mut self) {
        self.state.get_mut().times_wakes = true;
    }

    /// Queues a frame. A counted frame gets the next number and enters the
    /// resume buffer; while no link is attached it waits only there, and an
    /// uncounted one (`$pong`) is dropped. On [`PushError::Full`] the caller
    /// applies the slow-consumer policy.
    ///
    /// Returns how many bytes the resume buffer of a detached session grew
    /// (negative: shrank); 0 while a link is attached.
    pub(crate) fn push(&self, frame: Outgoing, delivery: Delivery) -> Result<isize, PushError> {
        let (growth, wake) = {
            let mut state = self.state.lock();
            let capacity = state.capacity();
            if delivery != Delivery::Uncounted
                && let Some(moving) = state.moving_in.as_deref_mut()
            {
                match moving.take(&frame, delivery, capacity) {
                    Err(()) => return Err(PushError::Full),
                    Ok(Pushed::Seen | Pushed::Held) => return Ok(0),
                    Ok(Pushed::Through) => {
                        if moving.is_over(Instant::now()) {
                            state.moving_in = None;
                        }
                    }
                }
            }
            self.push_locked(&mut state, frame, delivery)?
        };
        if wake {
            self.changed_now();
        }
        Ok(growth)
    }

    /// Queues a frame under the state's lock (see [`SendQueue::push`]);
    /// returns the growth of a detached session's resume buffer and
    /// whether the writer must be woken.
    fn push_locked(
        &self,
        state: &mut State,
        frame: Outgoing,
        delivery: Delivery,
    ) -> Result<(isize, bool), PushError> {
        let counted = delivery != Delivery::Uncounted;
        let mut detached_growth = 0;
        if state.ended || state.abort {
            return Err(PushError::Closed);
        }
        if let Some(code) = state.close {
            if code.ends_session() {
                return Err(PushError::Closed);
            }
            // The link is closing but the session goes on (`4003`):
            // what comes meanwhile waits in the resume buffer only.
            if counted {
                state.ring.push(&frame);
            }
            return Ok((0, false));
        }
        if state.attached {
            let pending = state.pending.len();
            if pending >= state.capacity() {
                return Err(PushError::Full);
            }
            let answer = matches!(delivery, Delivery::Uncounted | Delivery::Answer);
            if answer && pending >= state.high_water() {
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
            return Ok((detached_growth, false));
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
        if wake {
            state.woken = true;
            if state.times_wakes {
                state.woken_at = Some(Instant::now());
            }
        }
        Ok((0, wake))
    }

    /// Prepares the queue of a session moving here from another node
    /// (PROTOCOL.md section 11): numbering goes on after `last` (the
    /// client's count), the session is detached until the client's link
    /// attaches, and this node's deliveries are held back (less the
    /// operations of `seen`, which the session got there) until
    /// [`SendQueue::end_move_in`].
    pub(crate) fn begin_move_in(&self, last: u64, seen: Vec<OpId>) {
        let mut state = self.state.lock();
        state.ring.start_after(last);
        // Detached: as if a link had dropped.
        state.link = 1;
        state.moving_in = Some(Box::new(MoveIn::new(seen)));
    }

    /// Queues a frame the old node of a moving session forwarded: counted,
    /// never held back. Returns what [`SendQueue::push`] returns.
    pub(crate) fn push_forwarded(&self, frame: Outgoing) -> Result<isize, PushError> {
        let (growth, wake) = {
            let mut state = self.state.lock();
            if let Some(moving) = state.moving_in.as_deref_mut() {
                moving.forwarded(&frame);
            }
            self.push_locked(&mut state, frame, Delivery::Direct)?
        };
        if wake {
            self.changed_now();
        }
        Ok(growth)
    }

    /// The old node forwarded everything: what this node held back goes
    /// out (less what was forwarded), and deliveries of the operations the
    /// session got there are still dropped until `forget_at`. Returns the
    /// growth of a detached session's resume buffer, or the error of the
    /// first frame that did not fit (those after it are dropped).
    pub(crate) fn end_move_in(&self, forget_at: Instant) -> Result<isize, PushError> {
        let mut growth = 0;
        let mut wake = false;
        let result = {
            let mut state = self.state.lock();
            let held = match state.moving_in.as_deref_mut() {
                Some(moving) => moving.release(forget_at),
                None => Vec::new(),
            };
            let mut result = Ok(());
            for (frame, delivery) in held {
                match self.push_locked(&mut state, frame, delivery) {
                    Ok((grown, woken)) => {
                        growth += grown;
                        wake |= woken;
                    }
                    Err(error) => {
                        result = Err(error);
                        break;
                    }
                }
            }
            result
        };
        if wake {
            self.changed_now();
        }
        result.map(|()| growth)
    }

    /// Whether the session is still moving here: its own deliveries are
    /// held back until the old node forwarded everything.
    pub(crate) fn is_moving_in(&self) -> bool {
        self.state
            .lock()
            .moving_in
            .as_deref()
            .is_some_and(MoveIn::is_holding)
    }

    /// The cluster operations of the messages in the resume buffer (a
    /// moving session's old node tells the new one).
    pub(crate) fn ops_kept(&self) -> Vec<OpId> {
        let state = self.state.lock();
        let ring = &state.ring;
        ring.after(ring.first_seq() - 1)
            .filter_map(Outgoing::op)
            .collect()
    }

    /// Resolves once the queue of the current link is below its high-water
    /// mark, or no link is attached, or the session is closing: the
    /// dispatcher awaits this before each client message, so the answers
    /// of a flood never overflow the queue.
    pub(crate) async fn room_for_answers(&self) {
        loop {
            let notified = self.notify.notified();
            if self.has_room_for_answers() {
                return;
            }
            // The drain that takes these frames wakes it.
            notified.await;
        }
    }

    /// Whether [`Self::room_for_answers`] would resolve at once.
    pub(crate) fn has_room_for_answers(&self) -> bool {
        let state = self.state.lock();
        !(state.attached
            && state.pending.len() >= state.high_water()
            && !state.ended
            && state.close.is_none()
            && !state.abort)
    }

    /// Ends the writer's coalescing window: what waited is taken by its
    /// next drain.
    pub(crate) fn end_window(&self) {
        let mut state = self.state.lock();
        state.deferring = false;
        if !state.broadcast_pending {
            // The window held nothing: broadcasts come slower than one per
            // window, so the next one goes out at once, with no window.
            state.busy = false;
        }
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
                // A new session's first link: what was sent to it before
                // (a room it joined as it opened, a message to its id)
                // follows the `$welcome`, numbered from 1 as ever.
                None if state.link == 0 => state.ring.first_seq() - 1,
                None => last_sent,
                Some(last) => {
                    if last > last_sent || last + 1 < state.ring.first_seq() {
                        return Err(ResumeRefused::OutOfRange);
                    }
                    last
                }
            };
            // What a resume replays (a new session's first frames are not
            // "missed").
            let missed = if resume_from.is_some() {
                last_sent - from
            } else {
                0
            };
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
            state.woken_at = None;
            state.link += 1;
            (state.link, missed, released)
        };
        // Wakes a superseded link's tasks so they stop.
        self.changed_now();
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
        self.changed_now();
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

    /// What the queue and the resume buffer hold now.
    pub(crate) fn depths(&self) -> crate::stats::QueueDepths {
        let state = self.state.lock();
        crate::stats::QueueDepths {
            pending: state.pending.len(),
            resume_messages: state.ring.len(),
            resume_bytes: state.ring.bytes(),
        }
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
        self.changed_now();
        true
    }

    /// Asks the current link to drop at once, without a close frame.
    pub(crate) fn abort(&self) {
        self.state.lock().abort = true;
        self.changed_now();
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
            // What a session moving here held back goes with it.
            state.moving_in = None;
            released
        };
        self.changed_now();
        released
    }

    /// Takes everything queued for `link`, waiting until there is something
    /// (and, with `coalesce`, until broadcast frames are due: see
    /// [`Drained::window_started`]). `spare`, an emptied queue of an
    /// earlier drain, takes the place of the frames taken, so a busy link
    /// allocates no queue per wake-up.
    pub(crate) fn drain<'a>(
        &'a self,
        link: u64,
        spare: &'a mut VecDeque<Outgoing>,
        coalesce: Duration,
    ) -> impl Future<Output = Drained> + Send + 'a {
        std::future::poll_fn(move |cx| {
            // Registered under the lock it looks under: a change after
            // the look wakes it.
            let drained = self.take(link, Some(&mut *spare), coalesce, Some(cx.waker()));
            if drained.is_empty() {
                Poll::Pending
            } else {
                Poll::Ready(drained)
            }
        })
    }

    /// Wakes the writer and every waiter on [`SendQueue::changed`]: the
    /// queue's state changed.
    fn changed_now(&self) {
        let writer = self.state.lock().writer.take();
        if let Some(writer) = writer {
            writer.wake();
        }
        self.notify.notify_waiters();
    }

    /// Takes everything queued for `link` without waiting.
    pub(crate) fn try_drain(&self, link: u64) -> Drained {
        self.take(link, None, Duration::ZERO, None)
    }

    /// Takes what is queued for `link`; when that is nothing and `link` is
    /// the current one, `writer` is woken at the next change.
    fn take(
        &self,
        link: u64,
        spare: Option<&mut VecDeque<Outgoing>>,
        coalesce: Duration,
        writer: Option<&Waker>,
    ) -> Drained {
        let mut state = self.state.lock();
        // Whatever it finds, the caller waits for the next change after
        // this: the next push must wake it.
        state.woken = false;
        let woken_at = state.woken_at.take();
        if state.link != link || !state.attached {
            return Drained {
                superseded: true,
                abort: state.abort,
                ..Drained::default()
            };
        }
        let waits = state.deferring && !state.urgent && state.close.is_none() && !state.abort;
        if waits || (state.pending.is_empty() && state.close.is_none() && !state.abort) {
            if let Some(writer) = writer
                && !state.writer.as_ref().is_some_and(|w| w.will_wake(writer))
            {
                state.writer = Some(writer.clone());
            }
            if waits {
                return Drained::default();
            }
        }
        // A dispatcher may wait for a queue this full to drain: wake it.
        let was_full = state.pending.len() >= state.high_water();
        let frames = if state.pending.is_empty() {
            // Nothing to take: the queue keeps its room for the next
            // pushes (taking it would free it, and every write would grow
            // a new one), unless a burst made it large.
            if state.pending.capacity() > MAX_IDLE_QUEUE_FRAMES {
                state.pending = VecDeque::new();
            }
            VecDeque::new()
        } else {
            match spare {
                Some(spare) => std::mem::replace(&mut state.pending, std::mem::take(spare)),
                None => std::mem::take(&mut state.pending),
            }
        };
        let window_started = !coalesce.is_zero()
            && state.broadcast_pending
            && Self::opens_window(&mut state, coalesce);
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
            woken_after: woken_at.map(|at| at.elapsed()),
        };
        drop(state);
        if was_full {
            // Wakes the dispatcher waiting for room (and, spuriously, any
            // other waiter: a rare case, only under a flood).
            self.changed_now();
        }
        drained
    }

    /// Whether a write of broadcast frames now opens a coalescing window
    /// of `window`: only while broadcasts come at least one per window
    /// ([`State::busy`]) and the writer keeps up with its windows.
    ///
    /// A broadcast write that comes more than two windows after the last
    /// one ends the busy state: either broadcasts slowed down, or the
    /// writer is behind (a saturated hub reaches each socket later than
    /// its window would: its frames already wait longer than a window, so
    /// they are written together anyway, and a window would only add its
    /// length to each of them).
    fn opens_window(state: &mut State, window: Duration) -> bool {
        let now = Instant::now();
        let since_last = state
            .last_broadcast_write
            .map(|at| now.saturating_duration_since(at));
        state.busy = match since_last {
            Some(since) if since > window * 2 => false,
            Some(since) => state.busy || since < window,
            None => false,
        };
        state.last_broadcast_write = Some(now);
        state.busy
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
mod tests;
