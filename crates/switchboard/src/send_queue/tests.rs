//! Unit tests of the send queue: capacity, shedding, resume, coalescing.

use futures_util::FutureExt;

use bytes::Bytes;

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
fn what_is_sent_before_a_new_sessions_first_link_follows_its_welcome() {
    let queue = SendQueue::new(8, (100, usize::MAX));
    queue.push(text("early"), Delivery::Broadcast).unwrap();
    queue.push(text("pong"), Delivery::Uncounted).unwrap();
    let (link, missed, _) = queue
        .attach(None, |missed| {
            assert_eq!(missed, 0, "a new session misses nothing");
            text("w")
        })
        .unwrap();
    assert_eq!(missed, 0);
    assert_eq!(texts(&queue.try_drain(link).frames), ["w", "early"]);
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
fn a_close_that_keeps_the_session_buffers_what_comes_meanwhile() {
    let queue = SendQueue::new(100, (10, usize::MAX));
    let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
    queue.push(text("1"), Delivery::Direct).unwrap();
    assert_eq!(texts(&queue.try_drain(link).frames), ["w", "1"]);
    queue.request_close(CloseCode::TokenExpired);
    // Sent while the link closes: not written on it, kept for the resume.
    queue.push(text("2"), Delivery::Broadcast).unwrap();
    queue.push(text("pong"), Delivery::Uncounted).unwrap();
    let drained = queue.try_drain(link);
    assert!(drained.frames.is_empty());
    assert_eq!(drained.close, Some(CloseCode::TokenExpired));
    queue.detach(link);
    queue.push(text("3"), Delivery::Direct).unwrap();
    let (next, missed, _) = queue.attach(Some(1), |_| text("w2")).unwrap();
    assert_eq!(missed, 2);
    assert_eq!(texts(&queue.try_drain(next).frames), ["w2", "2", "3"]);
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
        q.drain(link, &mut VecDeque::new(), Duration::ZERO)
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
    let mut drain = std::pin::pin!(queue.drain(link, &mut spare, Duration::ZERO));
    assert!(drain.as_mut().now_or_never().is_none());
    queue.push(text("1"), Delivery::Direct).unwrap();
    assert!(queue.state.lock().woken);
    queue.push(text("2"), Delivery::Broadcast).unwrap();
    assert_eq!(
        texts(&drain.as_mut().now_or_never().unwrap().frames),
        ["1", "2"]
    );
    assert!(!queue.state.lock().woken);
    let mut drain = std::pin::pin!(queue.drain(link, &mut spare2, Duration::ZERO));
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
            .drain(link, &mut spare, LONG_WINDOW)
            .now_or_never()
            .map(|d| (texts(&d.frames), d.window_started))
    };
    // The welcome is direct: no window.
    assert_eq!(drain(&queue), Some((vec!["w".to_owned()], false)));
    // A first broadcast frame goes at once; the next, less than a window
    // later, goes at once too and opens a window...
    queue.push(text("a0"), Delivery::Broadcast).unwrap();
    assert_eq!(drain(&queue), Some((vec!["a0".to_owned()], false)));
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
    let drained = queue
        .drain(link, &mut spare, LONG_WINDOW)
        .now_or_never()
        .unwrap();
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
    let mut drain = |queue: &SendQueue| queue.drain(link, &mut spare, LONG_WINDOW).now_or_never();
    queue.push(text("a0"), Delivery::Broadcast).unwrap();
    assert_eq!(texts(&drain(&queue).unwrap().frames), ["w", "a0"]);
    queue.push(text("a"), Delivery::Broadcast).unwrap();
    let drained = drain(&queue).unwrap();
    assert_eq!(texts(&drained.frames), ["a"]);
    assert!(drained.window_started);
    for _ in 1..MAX_HELD_FRAMES {
        queue.push(text("b"), Delivery::Broadcast).unwrap();
    }
    assert!(drain(&queue).is_none());
    queue.push(text("c"), Delivery::Broadcast).unwrap();
    let drained = drain(&queue).unwrap();
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
        let drained = queue
            .drain(link, &mut spare, Duration::ZERO)
            .now_or_never()
            .unwrap();
        assert_eq!(texts(&drained.frames), [f]);
        assert!(!drained.window_started);
    }
}

/// A window long enough that the broadcasts of a test always come "less
/// than a window apart".
const LONG_WINDOW: Duration = Duration::from_secs(3600);

#[test]
fn a_socket_getting_fewer_broadcasts_than_one_per_window_never_waits() {
    let queue = SendQueue::new(8, (8, usize::MAX));
    let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
    let mut spare = VecDeque::new();
    let window = Duration::from_micros(50);
    queue
        .drain(link, &mut spare, window)
        .now_or_never()
        .unwrap();
    for f in ["a", "b", "c"] {
        // Each broadcast comes more than a window after the last write.
        std::thread::sleep(Duration::from_millis(2));
        queue.push(text(f), Delivery::Broadcast).unwrap();
        let drained = queue
            .drain(link, &mut spare, window)
            .now_or_never()
            .unwrap();
        assert_eq!(texts(&drained.frames), [f]);
        assert!(!drained.window_started, "{f} opened a window");
    }
}

#[test]
fn a_window_that_held_nothing_ends_the_busy_state() {
    let queue = SendQueue::new(8, (8, usize::MAX));
    let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
    let mut spare = VecDeque::new();
    queue
        .drain(link, &mut spare, LONG_WINDOW)
        .now_or_never()
        .unwrap();
    for f in ["a", "b"] {
        queue.push(text(f), Delivery::Broadcast).unwrap();
        queue
            .drain(link, &mut spare, LONG_WINDOW)
            .now_or_never()
            .unwrap();
    }
    assert!(queue.state.lock().busy);
    // A window that held a frame keeps it busy...
    queue.push(text("c"), Delivery::Broadcast).unwrap();
    queue.end_window();
    assert!(queue.state.lock().busy);
    let drained = queue
        .drain(link, &mut spare, LONG_WINDOW)
        .now_or_never()
        .unwrap();
    assert!(drained.window_started);
    // ...one that held nothing ends it.
    queue.end_window();
    assert!(!queue.state.lock().busy);
}

#[test]
fn a_writer_more_than_two_windows_late_opens_no_window() {
    let queue = SendQueue::new(8, (8, usize::MAX));
    let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
    let mut spare = VecDeque::new();
    let window = Duration::from_millis(200);
    queue
        .drain(link, &mut spare, window)
        .now_or_never()
        .unwrap();
    for f in ["a", "b"] {
        queue.push(text(f), Delivery::Broadcast).unwrap();
        queue
            .drain(link, &mut spare, window)
            .now_or_never()
            .unwrap();
    }
    assert!(
        queue.state.lock().busy,
        "two writes less than a window apart"
    );
    // The window holds a frame, but the writer comes back to it long
    // after the window ended (a saturated hub): its frames already waited
    // more than a window, and the next write opens none.
    queue.push(text("c"), Delivery::Broadcast).unwrap();
    queue.end_window();
    std::thread::sleep(window * 5 / 2);
    let drained = queue
        .drain(link, &mut spare, window)
        .now_or_never()
        .unwrap();
    assert_eq!(texts(&drained.frames), ["c"]);
    assert!(!drained.window_started, "a late writer opened a window");
    assert!(!queue.state.lock().busy);
}

#[test]
fn only_a_timed_queue_says_how_late_its_writer_ran() {
    for timed in [false, true] {
        let mut queue = SendQueue::new(8, (8, usize::MAX));
        if timed {
            queue.time_wakes();
        }
        let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
        let mut spare = VecDeque::new();
        let window = Duration::from_millis(10);
        queue
            .drain(link, &mut spare, window)
            .now_or_never()
            .unwrap();
        queue.push(text("a"), Delivery::Broadcast).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let drained = queue
            .drain(link, &mut spare, window)
            .now_or_never()
            .unwrap();
        assert_eq!(texts(&drained.frames), ["a"]);
        match drained.woken_after {
            Some(after) => assert!(timed && after >= Duration::from_millis(20), "{after:?}"),
            None => assert!(!timed, "a timed wake-up was not told"),
        }
    }
}

/// A writer's queues are reused: the emptied one it hands in becomes the
/// next pending one, and looking at an empty queue keeps its room (it once
/// freed it, and every write grew a new queue frame by frame). A queue
/// larger than a socket keeps idle is freed once found empty.
#[test]
fn a_writers_queues_keep_their_room_up_to_a_bound() {
    let queue = SendQueue::new(1024, (0, 0));
    let (link, _, _) = queue.attach(None, |_| text("w")).unwrap();
    let room = |queue: &SendQueue| queue.state.lock().pending.capacity();
    let mut spare = VecDeque::with_capacity(16);
    let spare_room = spare.capacity();
    let taken = queue.drain(link, &mut spare, Duration::ZERO).now_or_never();
    assert_eq!(texts(&taken.unwrap().frames), ["w"]);
    assert_eq!(room(&queue), spare_room);
    // Nothing queued: the writer's look finds nothing and takes nothing.
    let mut drain = std::pin::pin!(queue.drain(link, &mut spare, Duration::ZERO));
    assert!(drain.as_mut().now_or_never().is_none());
    assert_eq!(room(&queue), spare_room);
    queue.push(text("1"), Delivery::Broadcast).unwrap();
    assert_eq!(texts(&drain.now_or_never().unwrap().frames), ["1"]);

    // A large spare (a burst's queue) goes back to the pending place,
    // and is freed at the next look that finds nothing.
    let mut large = VecDeque::with_capacity(4 * MAX_IDLE_QUEUE_FRAMES);
    queue.push(text("2"), Delivery::Broadcast).unwrap();
    let taken = queue.drain(link, &mut large, Duration::ZERO).now_or_never();
    assert_eq!(texts(&taken.unwrap().frames), ["2"]);
    assert!(room(&queue) > MAX_IDLE_QUEUE_FRAMES);
    assert!(queue.try_drain(link).frames.is_empty());
    assert_eq!(room(&queue), 0);
}

/// What a push reads and writes (the flags, the pending queue, the resume
/// ring's counters) lies in the queue's first 104 bytes: in a socket's
/// shared state, behind 16 bytes of reference counts and 8 of codec, it
/// ends within 128, two cache lines when the allocation starts on one.
#[test]
fn a_push_touches_the_first_two_lines() {
    use std::mem::{offset_of, size_of};
    let queue = SendQueue::new(8, (8, 8));
    let start = std::ptr::from_ref(&queue) as usize;
    let state = std::ptr::from_ref(&*queue.state.lock()) as usize;
    let end_of_ring = state - start + offset_of!(State, ring) + size_of::<ResumeRing>();
    assert!(end_of_ring <= 128 - 24, "{end_of_ring}");
}
