//! The hub's guard on broadcast coalescing
//! ([`crate::HubConfig::broadcast_coalesce`]): while writers run late, no
//! coalescing window opens on any socket.
//!
//! A window is worth its latency while the hub keeps up: it gathers a busy
//! socket's broadcasts into one write. A saturated hub already reaches each
//! writer later than a window would end, so its frames are written
//! together anyway, and windows then only hurt: their timers wake the
//! windowed writers ahead of the ones woken by a push (a timer's wake-up
//! goes to the worker's own queue, while a broadcast to thousands
//! overflows into the runtime's global queue), so a few sockets get small
//! writes often and the rest wait (at 10,000 sockets × 50 msg/s with
//! 40 ms windows, p99 doubled for the same number of writes). So when a
//! writer woken by a push runs more than two windows after it (and more
//! than [`LATE_AT_LEAST`]), coalescing pauses for [`PAUSE`] across the
//! hub, and each late writer prolongs it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long coalescing pauses after a writer ran late.
const PAUSE: Duration = Duration::from_secs(1);
/// A writer is late when it ran more than two windows after the push that
/// woke it, and never before this (a hub near its capacity but keeping up
/// schedules writers a few milliseconds late, and its short windows still
/// save writes).
const LATE_AT_LEAST: Duration = Duration::from_millis(50);

/// Whether coalescing is paused, as the end of the pause in microseconds
/// since the hub's epoch (0: never paused).
#[derive(Debug, Default)]
pub(crate) struct CoalescingGuard {
    paused_until: AtomicU64,
}

impl CoalescingGuard {
    /// Whether coalescing is paused at `now()` (microseconds since the
    /// hub's epoch). The clock is read only during a pause or at the first
    /// look after one: every writer asks at every wake-up.
    pub(crate) fn is_paused(&self, now: impl FnOnce() -> u64) -> bool {
        let until = self.paused_until.load(Ordering::Relaxed);
        if until == 0 {
            return false;
        }
        if now() < until {
            return true;
        }
        // Over: later looks need not read the clock (unless a late writer
        // renewed the pause meanwhile).
        let _ = self
            .paused_until
            .compare_exchange(until, 0, Ordering::Relaxed, Ordering::Relaxed);
        false
    }

    /// A writer woken by a push ran `after` it, at `now()` (read only for
    /// a late writer); with coalescing windows of `window`, a writer later
    /// than two windows and [`LATE_AT_LEAST`] pauses coalescing. Returns
    /// whether a pause began (it was not paused).
    pub(crate) fn writer_ran(
        &self,
        after: Duration,
        window: Duration,
        now: impl FnOnce() -> u64,
    ) -> bool {
        if window.is_zero() || after <= (window * 2).max(LATE_AT_LEAST) {
            return false;
        }
        let now = now();
        let until = now.saturating_add(PAUSE.as_micros() as u64);
        let before = self.paused_until.load(Ordering::Relaxed);
        // Renewed at most every tenth of the pause: a saturated hub's
        // writers all run late, and need not all write the shared line.
        if until > before.saturating_add(PAUSE.as_micros() as u64 / 10) {
            self.paused_until.store(until, Ordering::Relaxed);
        }
        now >= before
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_millis(10);

    #[test]
    fn a_writer_later_than_a_window_pauses_coalescing_for_a_while() {
        let guard = CoalescingGuard::default();
        let no_clock = || -> u64 { panic!("no pause: the clock is not read") };
        assert!(!guard.is_paused(no_clock));
        // Two windows are 20 ms; late is past 50 ms whatever the window.
        assert!(!guard.writer_ran(Duration::from_millis(50), WINDOW, no_clock));
        assert!(!guard.is_paused(no_clock), "on time: no pause");
        assert!(guard.writer_ran(Duration::from_millis(51), WINDOW, || 5_000_000));
        assert!(guard.is_paused(|| 5_000_001));
        assert!(guard.is_paused(|| 5_999_999));
        // A late writer during the pause prolongs it.
        assert!(!guard.writer_ran(Duration::from_millis(60), WINDOW, || 5_500_000));
        assert!(guard.is_paused(|| 6_400_000));
        assert!(
            !guard.is_paused(|| 6_500_000),
            "over a second after the last"
        );
        assert!(!guard.is_paused(no_clock), "over: the clock is not read");
        // The next late writer starts a new pause.
        assert!(guard.writer_ran(Duration::from_millis(51), WINDOW, || 7_000_000));
        assert!(guard.is_paused(|| 7_999_999));
        assert!(!guard.is_paused(|| 8_000_000));
    }

    #[test]
    fn a_long_window_tolerates_two_windows_of_delay() {
        let guard = CoalescingGuard::default();
        let window = Duration::from_millis(40);
        assert!(!guard.writer_ran(Duration::from_millis(80), window, || 1));
        assert!(guard.writer_ran(Duration::from_millis(81), window, || 1));
    }

    #[tokio::test]
    async fn the_hub_counts_each_pause_once() {
        let hub = crate::Hub::builder().broadcast_coalesce(WINDOW).build();
        let late = Duration::from_millis(60);
        hub.writer_ran(Duration::from_millis(10), || 1_000_000);
        assert_eq!(hub.stats().coalescing_pauses, 0, "on time");
        hub.writer_ran(late, || 1_000_000);
        assert_eq!(hub.stats().coalescing_pauses, 1);
        assert_eq!(hub.coalescing_window(|| 1_500_000), Duration::ZERO);
        // A late writer during the pause prolongs it: the same pause.
        hub.writer_ran(late, || 1_500_000);
        assert_eq!(hub.stats().coalescing_pauses, 1);
        assert_eq!(hub.coalescing_window(|| 2_500_000), WINDOW);
        hub.writer_ran(late, || 3_000_000);
        assert_eq!(hub.stats().coalescing_pauses, 2);
    }

    #[test]
    fn without_coalescing_nothing_pauses() {
        let guard = CoalescingGuard::default();
        assert!(!guard.writer_ran(Duration::from_secs(1), Duration::ZERO, || 1));
        assert!(!guard.is_paused(|| 1));
    }
}
