//! Bounded waits for tests: every await a test makes fails it after
//! [`WAIT`] instead of hanging the suite.

use std::future::Future;
use std::time::Duration;

/// How long any single wait in a test may take before it fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// Awaits `future`, failing the test with `what` after [`WAIT`].
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// Waits until `condition` holds, checking it every 5 ms, or fails after
/// [`WAIT`]. Only for states nothing announces (a dropped link seen by the
/// hub, a session ending).
pub async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
    poll_until(what, Duration::from_millis(5), || {
        std::future::ready(condition())
    })
    .await;
}

/// [`eventually`] for a condition that must itself await, checked every
/// 20 ms (each check may be a request to the server under test, e.g. a
/// read of its `/metrics`).
pub async fn eventually_async<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(what, Duration::from_millis(20), condition).await;
}

async fn poll_until<F, Fut>(what: &str, every: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    within(what, async {
        while !condition().await {
            tokio::time::sleep(every).await;
        }
    })
    .await;
}
