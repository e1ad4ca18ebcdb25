//! Opening many connections with a bounded number of handshakes in flight,
//! handing each to its own task as soon as it is open.

use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::error::Result;

/// Opens `count` connections (a [`LeanWs`](super::LeanWs), or anything `open` makes)
/// with `open(i)` for `i` in `0..count`, at most `parallel` at a time,
/// passing each to `spawn` as soon as it is open; returns the tasks and
/// how many could not be opened (the first few failures are logged).
pub async fn open_many<C, T, F, Fut>(
    count: usize,
    parallel: usize,
    open: F,
    mut spawn: impl FnMut(C) -> JoinHandle<T>,
) -> (Vec<JoinHandle<T>>, u64)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<C>>,
{
    let mut tasks = Vec::with_capacity(count);
    let mut failures = 0u64;
    let mut opening = futures_util::stream::iter(0..count)
        .map(&open)
        .buffer_unordered(parallel.max(1));
    while let Some(opened) = opening.next().await {
        match opened {
            Ok(ws) => tasks.push(spawn(ws)),
            Err(error) => {
                if failures < 5 {
                    tracing::warn!(%error, "a client could not connect");
                }
                failures += 1;
            }
        }
    }
    (tasks, failures)
}
