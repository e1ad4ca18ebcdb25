//! The live overview's one task: while at least one dashboard viewer
//! watches, it samples the hub every second ([`super::overview`]), keeps
//! the last 15 minutes (900 samples) and sends each sample to every
//! viewer. With no viewer it does not run: nothing is sampled, no history
//! is kept, and the hub's per-room traffic counting is off, so a broadcast
//! pays only the read of that flag.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use switchboard::Hub;
use tokio::sync::broadcast;

use super::overview::{Previous, sample};

/// How often the overview is sampled.
pub const PERIOD: Duration = Duration::from_secs(1);
/// Samples kept: 15 minutes at one a second.
pub const HISTORY: usize = 900;

/// A sample as sent: its JSON text, shared by every viewer.
pub type SampleJson = Arc<str>;

/// The running task's channel and history.
#[derive(Debug)]
struct Running {
    sender: broadcast::Sender<SampleJson>,
    history: VecDeque<SampleJson>,
}

/// Starts the sampling task with the first viewer and lets it end after
/// the last one.
#[derive(Debug)]
pub struct Sampler {
    hub: Hub,
    started: Instant,
    running: Arc<Mutex<Option<Running>>>,
}

impl Sampler {
    /// A sampler of `hub` (not running until a viewer subscribes).
    pub fn new(hub: Hub, started: Instant) -> Self {
        Self {
            hub,
            started,
            running: Arc::new(Mutex::new(None)),
        }
    }

    /// Whether the sampling task runs.
    pub fn is_running(&self) -> bool {
        self.running.lock().is_some()
    }

    /// Subscribes a viewer: the samples kept so far, oldest first, and
    /// the receiver of the next ones. Starts the task if it is not
    /// running (it must be called inside a Tokio runtime).
    pub fn subscribe(&self) -> (Vec<SampleJson>, broadcast::Receiver<SampleJson>) {
        let mut running = self.running.lock();
        if let Some(running) = running.as_ref() {
            return (
                running.history.iter().cloned().collect(),
                running.sender.subscribe(),
            );
        }
        let (sender, receiver) = broadcast::channel(16);
        *running = Some(Running {
            sender: sender.clone(),
            history: VecDeque::with_capacity(HISTORY),
        });
        self.hub.count_room_traffic(true);
        // Counts from before this viewer came are not this period's.
        self.hub.take_room_traffic(0);
        tracing::debug!("admin overview sampling started");
        tokio::spawn(run(
            self.hub.clone(),
            self.started,
            self.running.clone(),
            sender,
        ));
        (Vec::new(), receiver)
    }
}

/// Samples every [`PERIOD`] until no viewer is left.
async fn run(
    hub: Hub,
    started: Instant,
    running: Arc<Mutex<Option<Running>>>,
    sender: broadcast::Sender<SampleJson>,
) {
    let mut ticks = tokio::time::interval(PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut previous: Option<Previous> = None;
    loop {
        ticks.tick().await;
        let (next, counters) = sample(&hub, started, previous, Instant::now());
        previous = Some(counters);
        let json: SampleJson = match serde_json::to_string(&next) {
            Ok(text) => text.into(),
            Err(error) => {
                tracing::warn!(%error, "admin overview sample not encoded");
                continue;
            }
        };
        let mut guard = running.lock();
        if sender.receiver_count() == 0 {
            // The last viewer left: stop, under the lock a new viewer
            // subscribes with, so none is left without a task.
            *guard = None;
            hub.count_room_traffic(false);
            tracing::debug!("admin overview sampling stopped: no viewer");
            return;
        }
        if let Some(state) = guard.as_mut() {
            if state.history.len() == HISTORY {
                state.history.pop_front();
            }
            state.history.push_back(json.clone());
        }
        drop(guard);
        let _ = sender.send(json);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits (up to 10 s) for the sampler to stop.
    async fn stopped(sampler: &Sampler) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while sampler.is_running() {
            assert!(Instant::now() < deadline, "the sampler still runs");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    #[tokio::test]
    async fn it_runs_only_while_someone_watches_and_keeps_history_meanwhile() {
        let hub = Hub::builder().build();
        let sampler = Sampler::new(hub, Instant::now());
        assert!(!sampler.is_running(), "nothing runs before a viewer");
        let (history, mut first) = sampler.subscribe();
        assert!(history.is_empty());
        assert!(sampler.is_running());
        let sample = first.recv().await.unwrap();
        assert!(sample.contains("\"connections\":0"), "{sample}");
        // A second viewer gets what was kept.
        let (history, second) = sampler.subscribe();
        assert_eq!(history.len(), 1);
        drop(first);
        drop(second);
        stopped(&sampler).await;
        // A new viewer starts it again, with no history.
        let (history, _third) = sampler.subscribe();
        assert!(history.is_empty());
        assert!(sampler.is_running());
    }
}
