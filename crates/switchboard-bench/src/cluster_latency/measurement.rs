//! One measurement: a cluster of two hubs over one backend, a receiver on
//! each, the publisher on hub A; live progress on stderr.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use switchboard_testkit::TextWsClient;
use tokio::sync::watch;
use tokio::time::Instant;

use super::Backend;
use super::cluster::Cluster;
use super::publisher::{self, Published, ROOM, Schedule};
use super::receiver::{self, Received};
use super::report::{BackendReport, CpuReport, PathReport, Settings, added};
use crate::cpu::CpuTime;
use crate::error::Result;

/// After the last message is sent, how long the receivers may go without a
/// new arrival before what is still missing counts as lost.
const DRAIN_IDLE: Duration = Duration::from_secs(2);

/// How often the end-of-run drain looks at the receivers' counts.
const DRAIN_CHECK: Duration = Duration::from_millis(10);

/// Measures `backend` (an existing server at `url`, if given).
pub(crate) async fn measure(
    backend: Backend,
    url: Option<&str>,
    settings: Settings,
) -> Result<BackendReport> {
    let schedule = Schedule::new(settings.rate, settings.warmup_s, settings.duration_s);
    let cluster = Cluster::start(backend, url, settings.serve, settings.history).await?;
    let outcome = run(&cluster, backend, schedule, settings.payload_bytes).await;
    let cluster_dropped = cluster.a.hub.cluster().stats().dropped;
    let server = cluster.server.clone();
    cluster.stop().await;
    let outcome = outcome?;

    let path = |received: &Received| PathReport {
        counts: received.sequence.counts(schedule.measured()),
        other_frames: received.other_frames,
        disconnected: received.disconnected,
        latency: received.latency.summary(),
    };
    let local = path(&outcome.local);
    let cross_node = path(&outcome.cross_node);
    Ok(BackendReport {
        backend: backend.to_string(),
        server,
        sent: outcome.published.measured,
        publish_errors: outcome.published.errors,
        cluster_dropped,
        publisher_max_lag_us: u64::try_from(outcome.published.max_lag.as_micros())
            .unwrap_or(u64::MAX),
        added_p50_us: added(cross_node.latency.p50_us, local.latency.p50_us),
        added_p99_us: added(cross_node.latency.p99_us, local.latency.p99_us),
        local,
        cross_node,
        cpu: outcome.cpu,
    })
}

/// What [`run`] measured.
struct Outcome {
    published: Published,
    local: Received,
    cross_node: Received,
    cpu: Option<CpuReport>,
}

/// Connects the receivers, publishes the schedule, waits for the last
/// deliveries and collects what each receiver saw.
async fn run(
    cluster: &Cluster,
    backend: Backend,
    schedule: Schedule,
    payload: usize,
) -> Result<Outcome> {
    let mut local = TextWsClient::connect(&cluster.a.url).await?;
    local.join(ROOM).await?;
    let mut cross_node = TextWsClient::connect(&cluster.b.url).await?;
    cross_node.join(ROOM).await?;

    let (stop, stopped) = watch::channel(false);
    let counts = Counts::default();
    let local = tokio::spawn(receiver::receive(
        local,
        schedule,
        counts.local.clone(),
        stopped.clone(),
    ));
    let cross_node = tokio::spawn(receiver::receive(
        cross_node,
        schedule,
        counts.cross_node.clone(),
        stopped,
    ));

    let start = Instant::now();
    let publisher = tokio::spawn(publisher::publish(
        cluster.a.hub.clone(),
        schedule,
        payload,
        start,
        counts.sent.clone(),
    ));
    let progress = tokio::spawn(report_progress(backend, start, counts.clone()));

    tokio::time::sleep_until(start + schedule.due(schedule.warmup)).await;
    let cpu_before = CpuTime::now();
    let measuring_since = Instant::now();
    let published = publisher.await?;
    let cpu = cpu_window(cpu_before, measuring_since.elapsed());

    counts.drain(schedule.total).await;
    stop.send_replace(true);
    let local = local.await??;
    let cross_node = cross_node.await??;
    progress.abort();
    Ok(Outcome {
        published,
        local,
        cross_node,
        cpu,
    })
}

fn cpu_window(before: Option<CpuTime>, wall: Duration) -> Option<CpuReport> {
    let used = CpuTime::now()?.since(&before?);
    let wall_s = wall.as_secs_f64();
    Some(CpuReport {
        user_s: used.user.as_secs_f64(),
        system_s: used.system.as_secs_f64(),
        wall_s,
        cores_busy: if wall_s > 0.0 {
            used.total().as_secs_f64() / wall_s
        } else {
            0.0
        },
    })
}

/// Live counters: messages sent, distinct messages each receiver got.
#[derive(Clone, Default)]
struct Counts {
    sent: Arc<AtomicU64>,
    local: Arc<AtomicU64>,
    cross_node: Arc<AtomicU64>,
}

impl Counts {
    fn received(&self) -> (u64, u64) {
        (
            self.local.load(Ordering::Relaxed),
            self.cross_node.load(Ordering::Relaxed),
        )
    }

    /// Returns once both receivers have every message, or when neither
    /// has had a new one for [`DRAIN_IDLE`].
    async fn drain(&self, total: u64) {
        let mut last = self.received();
        let mut idle_since = Instant::now();
        let mut check = tokio::time::interval(DRAIN_CHECK);
        loop {
            check.tick().await;
            let now = self.received();
            if now.0 >= total && now.1 >= total {
                return;
            }
            if now != last {
                last = now;
                idle_since = Instant::now();
            } else if idle_since.elapsed() >= DRAIN_IDLE {
                return;
            }
        }
    }
}

/// Writes the counters to stderr once a second until aborted.
async fn report_progress(backend: Backend, start: Instant, counts: Counts) {
    let mut tick = tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    loop {
        tick.tick().await;
        let (local, cross_node) = counts.received();
        let sent = counts.sent.load(Ordering::Relaxed);
        let _ = writeln!(
            std::io::stderr(),
            "[{backend}] {:>3} s: sent {sent}, received local {local}, cross-node {cross_node}",
            start.elapsed().as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster_latency::ServeMode;

    /// A short run over the memory bus delivers every message to both
    /// receivers, once, and fills both histograms.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_memory_run_delivers_everything_once() {
        for history in [false, true] {
            a_memory_run(history).await;
        }
    }

    async fn a_memory_run(history: bool) {
        let settings = Settings {
            rate: 500,
            duration_s: 1,
            warmup_s: 0,
            payload_bytes: 10,
            serve: ServeMode::Nodelay,
            history,
        };
        let report = measure(Backend::Memory, None, settings)
            .await
            .expect("the run completes");
        assert_eq!(report.sent, 500);
        for path in [&report.local, &report.cross_node] {
            assert_eq!(path.counts.received, 500);
            assert_eq!(path.counts.lost, 0);
            assert_eq!(path.counts.duplicates, 0);
            assert!(!path.disconnected);
            assert_eq!(path.latency.count, 500);
        }
    }
}
