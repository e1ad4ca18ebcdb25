//! What a share of a workload (in this process or in a worker process)
//! gets from its parent: when to start measuring, when to stop, and
//! counters it fills for the live progress.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// Live counters of one share: work done (deliveries, round trips,
/// sessions…) and errors.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    done: AtomicU64,
    errors: AtomicU64,
}

impl Progress {
    /// Adds `n` to the work done.
    pub fn add_done(&self, n: u64) {
        self.0.done.fetch_add(n, Ordering::Relaxed);
    }

    /// Adds `n` to the errors.
    pub fn add_errors(&self, n: u64) {
        self.0.errors.fetch_add(n, Ordering::Relaxed);
    }

    /// Work done so far.
    pub fn done(&self) -> u64 {
        self.0.done.load(Ordering::Relaxed)
    }

    /// Errors so far.
    pub fn errors(&self) -> u64 {
        self.0.errors.load(Ordering::Relaxed)
    }

    /// Sets both counters (a worker process's report, in the parent).
    pub fn set(&self, done: u64, errors: u64) {
        self.0.done.store(done, Ordering::Relaxed);
        self.0.errors.store(errors, Ordering::Relaxed);
    }
}

/// A signal that is raised once (go, stop). Raised also when the parent
/// is gone, so a share never waits forever.
#[derive(Debug, Clone)]
pub struct Signal(watch::Receiver<bool>);

impl Signal {
    /// Waits until the signal is raised.
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|raised| *raised).await;
    }

    /// Whether it has been raised (or its sender is gone).
    pub fn is_raised(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }
}

/// The share's side.
#[derive(Debug)]
pub struct Control {
    ready: watch::Sender<bool>,
    go: Signal,
    stop: Signal,
    progress: Progress,
}

impl Control {
    /// Tells the parent this share is set up (connected, joined).
    pub fn ready(&self) {
        self.ready.send_replace(true);
    }

    /// Waits for the parent's go: the measured part starts.
    pub async fn go(&self) {
        self.go.clone().wait().await;
    }

    /// The go signal, for tasks of the share that wait for it themselves.
    pub fn go_signal(&self) -> Signal {
        self.go.clone()
    }

    /// The stop signal, to wait on beside other work.
    pub fn stop(&self) -> Signal {
        self.stop.clone()
    }

    /// The share's counters.
    pub fn progress(&self) -> &Progress {
        &self.progress
    }
}

/// The parent's side of one [`Control`].
#[derive(Debug)]
pub struct Handles {
    /// Raised by [`Control::ready`].
    pub ready: watch::Receiver<bool>,
    /// Raise to start the measured part.
    pub go: watch::Sender<bool>,
    /// Raise to end the share.
    pub stop: watch::Sender<bool>,
    /// The share's counters.
    pub progress: Progress,
}

/// A connected [`Control`] and its [`Handles`].
pub fn control() -> (Control, Handles) {
    let (ready_tx, ready_rx) = watch::channel(false);
    let (go_tx, go_rx) = watch::channel(false);
    let (stop_tx, stop_rx) = watch::channel(false);
    let progress = Progress::default();
    (
        Control {
            ready: ready_tx,
            go: Signal(go_rx),
            stop: Signal(stop_rx),
            progress: progress.clone(),
        },
        Handles {
            ready: ready_rx,
            go: go_tx,
            stop: stop_tx,
            progress,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn signals_reach_the_share() {
        let (control, handles) = control();
        assert!(!control.stop().is_raised());
        handles.go.send_replace(true);
        control.go().await;
        control.ready();
        assert!(*handles.ready.borrow());
        control.progress().add_done(3);
        assert_eq!(handles.progress.done(), 3);
        drop(handles);
        assert!(control.stop().is_raised(), "a gone parent means stop");
        control.stop().wait().await;
    }
}
