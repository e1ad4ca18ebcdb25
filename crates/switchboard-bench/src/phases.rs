//! The bounds of a workload's phases every workload shares: how long
//! setting up may take, and how the end of a run waits for the last
//! deliveries.

use std::time::Duration;

/// How long connecting and joining every client may take.
pub const SETUP_TIMEOUT: Duration = Duration::from_secs(300);
/// After the last message, how long the receivers may go without a new
/// delivery before what is missing counts as lost.
pub const DRAIN_IDLE: Duration = Duration::from_secs(2);

/// Returns once `done()` reaches `expected`, or when it has not moved for
/// [`DRAIN_IDLE`].
pub async fn drain(done: impl Fn() -> u64, expected: u64) {
    let mut last = done();
    let mut idle_since = tokio::time::Instant::now();
    let mut check = tokio::time::interval(Duration::from_millis(10));
    loop {
        check.tick().await;
        let now = done();
        if now >= expected {
            return;
        }
        if now != last {
            last = now;
            idle_since = tokio::time::Instant::now();
        } else if idle_since.elapsed() >= DRAIN_IDLE {
            return;
        }
    }
}
