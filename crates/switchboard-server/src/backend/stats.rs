//! What `/metrics` shows of the back-end calls: per hook, the calls, the
//! refusals, the failures by kind, and a fixed-bucket latency histogram.
//! Plain atomics: recording a call takes no lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use super::Hook;

/// The histogram's upper bounds in seconds (`le`), beside `+Inf`: from a
/// back end on the same host to one past the default 5 s timeout.
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Why a call gave the client `unavailable`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// No complete answer within `--proxy-timeout`.
    Timeout,
    /// The connection could not be made, or broke.
    Connect,
    /// An HTTP status other than 200.
    Status,
    /// A 200 whose body is not JSON of the expected shape.
    BadAnswer,
}

impl FailureKind {
    /// Every kind, in the order `/metrics` lists them.
    pub const ALL: [FailureKind; 4] = [
        FailureKind::Timeout,
        FailureKind::Connect,
        FailureKind::Status,
        FailureKind::BadAnswer,
    ];

    /// The `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::Connect => "connect",
            FailureKind::Status => "status",
            FailureKind::BadAnswer => "bad_answer",
        }
    }
}

/// One hook's counters.
#[derive(Debug, Default)]
struct HookCounters {
    calls: AtomicU64,
    refusals: AtomicU64,
    failures: [AtomicU64; FailureKind::ALL.len()],
    /// Calls per bucket (not cumulative); the last one is `+Inf`.
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

/// The counters of every hook the server calls.
#[derive(Debug)]
pub struct BackendStats {
    configured: [bool; Hook::ALL.len()],
    hooks: [HookCounters; Hook::ALL.len()],
}

/// One hook's counters as read for `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct HookSnapshot {
    /// The hook.
    pub hook: Hook,
    /// Calls made (answered or not).
    pub calls: u64,
    /// Calls answered `{"error":...}`.
    pub refusals: u64,
    /// Failed calls per kind, in [`FailureKind::ALL`] order.
    pub failures: [(FailureKind, u64); FailureKind::ALL.len()],
    /// Cumulative counts per upper bound, `+Inf` (`None`) last.
    pub buckets: Vec<(Option<f64>, u64)>,
    /// The sum of the calls' durations, in seconds.
    pub sum_seconds: f64,
    /// How many durations the histogram holds.
    pub count: u64,
}

impl BackendStats {
    /// Counters for the hooks given a URL (the others are not shown).
    pub fn new(configured: [bool; Hook::ALL.len()]) -> Self {
        Self {
            configured,
            hooks: Default::default(),
        }
    }

    fn of(&self, hook: Hook) -> &HookCounters {
        &self.hooks[hook as usize]
    }

    /// Records one call: how long it took and how it ended (`Ok(true)`: a
    /// refusal).
    pub fn record(&self, hook: Hook, took: Duration, outcome: Result<bool, FailureKind>) {
        let counters = self.of(hook);
        counters.calls.fetch_add(1, Relaxed);
        match outcome {
            Ok(true) => {
                counters.refusals.fetch_add(1, Relaxed);
            }
            Ok(false) => {}
            Err(kind) => {
                counters.failures[kind as usize].fetch_add(1, Relaxed);
            }
        }
        let seconds = took.as_secs_f64();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|&le| seconds <= le)
            .unwrap_or(LATENCY_BUCKETS.len());
        counters.buckets[bucket].fetch_add(1, Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        counters.sum_micros.fetch_add(micros, Relaxed);
    }

    /// The counters of the configured hooks, in [`Hook::ALL`] order.
    pub fn snapshot(&self) -> Vec<HookSnapshot> {
        Hook::ALL
            .into_iter()
            .filter(|hook| self.configured[*hook as usize])
            .map(|hook| {
                let counters = self.of(hook);
                let mut total = 0;
                let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
                for (index, count) in counters.buckets.iter().enumerate() {
                    total += count.load(Relaxed);
                    buckets.push((LATENCY_BUCKETS.get(index).copied(), total));
                }
                HookSnapshot {
                    hook,
                    calls: counters.calls.load(Relaxed),
                    refusals: counters.refusals.load(Relaxed),
                    failures: FailureKind::ALL
                        .map(|kind| (kind, counters.failures[kind as usize].load(Relaxed))),
                    buckets,
                    sum_seconds: counters.sum_micros.load(Relaxed) as f64 / 1e6,
                    // The `+Inf` bucket, so that the two always agree.
                    count: total,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_land_in_their_bucket_and_by_outcome() {
        let stats = BackendStats::new([true, false, true, false, false]);
        stats.record(Hook::Connect, Duration::from_micros(800), Ok(false));
        stats.record(Hook::Connect, Duration::from_millis(30), Ok(true));
        stats.record(
            Hook::Connect,
            Duration::from_secs(6),
            Err(FailureKind::Timeout),
        );
        stats.record(
            Hook::Publish,
            Duration::from_millis(1),
            Err(FailureKind::Status),
        );
        let snapshot = stats.snapshot();
        assert_eq!(
            snapshot.iter().map(|s| s.hook).collect::<Vec<_>>(),
            [Hook::Connect, Hook::Publish],
            "only configured hooks"
        );
        let connect = &snapshot[0];
        assert_eq!((connect.calls, connect.refusals, connect.count), (3, 1, 3));
        assert_eq!(connect.failures[0], (FailureKind::Timeout, 1));
        assert_eq!(connect.buckets[0], (Some(0.001), 1));
        assert_eq!(connect.buckets[4], (Some(0.025), 1));
        assert_eq!(connect.buckets[5], (Some(0.05), 2));
        assert_eq!(connect.buckets[11], (Some(5.0), 2));
        assert_eq!(connect.buckets[12], (None, 3));
        assert!((connect.sum_seconds - 6.0308).abs() < 1e-9);
        // Exactly on a bound counts in that bucket (`le`).
        let publish = &snapshot[1];
        assert_eq!(publish.buckets[0], (Some(0.001), 1));
        assert_eq!(publish.failures[2], (FailureKind::Status, 1));
    }
}
