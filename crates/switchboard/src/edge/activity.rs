//! Whether a connection is serving a request, and since when it has not:
//! what the idle keep-alive timeout watches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

/// Whether a connection is serving a request, and since when it has not.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    /// When the last answer was produced; `None` before the first.
    answered: Mutex<Option<Instant>>,
    changed: Notify,
}

impl Activity {
    pub(crate) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.changed.notify_one();
    }

    pub(crate) fn finished(&self) {
        *self.answered.lock() = Some(Instant::now());
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
        self.changed.notify_one();
    }

    /// Resolves once the connection has answered at least once and has
    /// had no request for `timeout` since its last answer. (Before the
    /// first request the header timeout applies.)
    pub(crate) async fn idle_for(&self, timeout: Duration) {
        loop {
            let changed = self.changed.notified();
            let since = *self.answered.lock();
            match since {
                Some(since) if self.in_flight.load(Ordering::Acquire) == 0 => {
                    tokio::select! {
                        () = sleep_until(since + timeout) => {
                            if self.in_flight.load(Ordering::Acquire) == 0
                                && *self.answered.lock() == Some(since)
                            {
                                return;
                            }
                        }
                        () = changed => {}
                    }
                }
                _ => changed.await,
            }
        }
    }
}
