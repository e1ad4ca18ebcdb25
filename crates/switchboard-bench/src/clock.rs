//! Timestamps that every process of a run can compare: nanoseconds of
//! `CLOCK_MONOTONIC`, which on Linux is one clock for the whole system, so
//! a stamp taken by the publisher in one process can be subtracted from an
//! arrival taken by a worker in another.

use std::sync::OnceLock;
use std::time::Instant;

use rustix::time::{ClockId, clock_gettime};

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The process-wide epoch, fixed on first use (for code that wants an
/// `Instant`; [`now_ns`] does not depend on it).
pub fn epoch() -> Instant {
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds of `CLOCK_MONOTONIC` (since boot, system-wide): comparable
/// across the processes of one machine.
pub fn now_ns() -> u64 {
    let now = clock_gettime(ClockId::Monotonic);
    let secs = u64::try_from(now.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(now.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_monotonic() {
        let a = now_ns();
        let b = now_ns();
        assert!(b >= a);
    }

    #[test]
    fn now_advances_with_instant() {
        let start = Instant::now();
        let a = now_ns();
        std::thread::sleep(std::time::Duration::from_millis(5));
        let b = now_ns();
        let elapsed = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        assert!(b - a >= 5_000_000);
        assert!(b - a <= elapsed + 1_000_000);
    }
}
