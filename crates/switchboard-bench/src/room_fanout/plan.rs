//! One fan-out run, whatever the receivers' transport: start the shares,
//! connect the publisher, publish the schedule, wait for the last
//! deliveries, merge what the receivers saw.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::report::{Report, Settings, cpu_s_per_million};
use crate::cpu::CpuWindow;
use crate::deliveries::Deliveries;
use crate::error::Result;
use crate::histogram::LatencyHistogram;
use crate::hub_under_test::HubUnderTest;
use crate::options::GenArgs;
use crate::phases::{SETUP_TIMEOUT, drain};
use crate::progress::ProgressPrinter;
use crate::publisher::{Published, Publisher};
use crate::report::{CpuReport, per_second};
use crate::schedule::Schedule;
use crate::tokens::PUBLISHER;
use crate::workers::{Job, Workers, split_ranges};

/// What a fan-out run is asked to do.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The report's name: `fanout` or `poll-fanout`.
    pub benchmark: &'static str,
    /// Receivers.
    pub clients: usize,
    /// Messages per second.
    pub rate: u32,
    /// Seconds measured.
    pub duration: u64,
    /// Seconds sent before measuring.
    pub warmup: u64,
    /// Bytes of filler per message.
    pub payload: usize,
    /// The room.
    pub room: String,
    /// How the generator runs.
    pub gen_args: GenArgs,
}

impl Plan {
    /// Runs the plan against `target`, one share per process made by
    /// `job(clients, schedule)` (`clients`: the run's numbers of the
    /// share's receivers).
    pub async fn measure<J: Job<Output = Deliveries>>(
        &self,
        target: &HubUnderTest,
        job: impl Fn(Range<usize>, Schedule) -> J,
    ) -> Result<Report> {
        let args = self;
        let schedule = Schedule::new(args.rate, args.warmup, args.duration);
        let jobs: Vec<J> = split_ranges(args.clients, args.gen_args.shares())
            .into_iter()
            .filter(|clients| !clients.is_empty())
            .map(|clients| job(clients, schedule))
            .collect();
        let setup_start = std::time::Instant::now();
        let mut workers = Workers::start(
            jobs,
            args.gen_args.in_processes(),
            args.gen_args.worker_exe.clone(),
        )
        .await?;
        workers.wait_ready(SETUP_TIMEOUT).await?;
        let setup_s = setup_start.elapsed().as_secs_f64();
        let connected = u64::try_from(args.clients).unwrap_or(u64::MAX) - workers.errors();
        let endpoint = target.endpoint_as(PUBLISHER).await?;
        let publisher = Publisher::connect(&endpoint, &args.room, args.payload).await?;

        let sent = Arc::new(AtomicU64::new(0));
        let counters = workers.counters();
        let printer = {
            let sent = sent.clone();
            let counters = counters.clone();
            let mut last = 0;
            ProgressPrinter::start(self.benchmark, move || {
                let delivered: u64 = counters.iter().map(|c| c.done()).sum();
                let line = format!(
                    "sent {}/{}, delivered {delivered} (+{}/s) to {connected} receivers",
                    sent.load(Ordering::Relaxed),
                    schedule.total,
                    delivered - last
                );
                last = delivered;
                line
            })
        };
        workers.go().await?;
        let cpu = CpuWindow::start();
        let hub_cpu = target.pid.map(CpuWindow::start_pid);
        let sent = publisher.run(schedule, sent).await?;
        let expected_all = connected * sent.published.sent;
        drain(|| counters.iter().map(|c| c.done()).sum(), expected_all).await;
        let cpu = cpu.finish();
        let hub_cpu = hub_cpu.and_then(|w| w.finish());
        drop(printer);
        let published = sent.published.clone();
        sent.close().await;
        let processes = workers.processes();
        let results = workers.finish().await?;

        let worker_cpu: Vec<_> = results.iter().map(|f| f.cpu).collect();
        let cpu = CpuReport::collect(cpu, &worker_cpu, hub_cpu);
        let mut all = Deliveries::default();
        for finished in &results {
            all.merge(&finished.output);
        }
        Ok(self.report(
            target,
            Measured {
                setup_s,
                processes,
                published,
                all,
                cpu,
            },
        ))
    }

    /// The report of a run: its settings and what was measured.
    fn report(&self, target: &HubUnderTest, run: Measured) -> Report {
        let args = self;
        let Measured {
            setup_s,
            processes,
            published,
            all,
            cpu,
        } = run;
        // From the first measured send to the last measured arrival, plus
        // the one interval the last message stands for.
        let window_s = match (published.measured_start_ns, all.last_arrival_ns) {
            (Some(start), Some(end)) if end > start => {
                (end - start) as f64 / 1e9 + 1.0 / f64::from(args.rate)
            }
            _ => 0.0,
        };
        let measured = all.counts.received;
        let generator_cpu_s = cpu.generator.map(|g| g.user_s + g.system_s);
        Report {
            benchmark: self.benchmark,
            settings: Settings {
                clients: args.clients,
                rate: args.rate,
                duration_s: args.duration,
                warmup_s: args.warmup,
                payload_bytes: args.payload,
                worker_processes: processes,
                authenticated: target.authenticated(),
                url: target.url.clone(),
                protocol: target.protocol,
            },
            receivers: all.receivers,
            connect_errors: all.connect_errors,
            setup_s,
            sent: published.measured,
            publisher_max_lag_us: published.max_lag_us,
            publisher_hub_errors: published.hub_errors,
            publisher_closed: published.closed,
            expected_deliveries: published.measured * all.receivers,
            offered_per_s: all.receivers as f64 * f64::from(args.rate),
            deliveries_per_s: per_second(measured, window_s),
            counts: all.counts,
            other_messages: all.other_messages,
            disconnected: all.disconnected,
            endings: all.endings,
            latency: LatencyHistogram::from_counts(&all.latency).summary(),
            // Every delivery, warmup included, falls in the CPU window.
            deliveries_in_cpu_window: all.deliveries,
            hub_cpu_s_per_million: cpu
                .hub
                .as_ref()
                .and_then(|h| cpu_s_per_million(h.user_s + h.system_s, all.deliveries)),
            deliveries_per_generator_cpu_s: generator_cpu_s
                .filter(|&s| s > 0.0)
                .map(|s| all.deliveries as f64 / s),
            cpu,
        }
    }
}

/// What one run measured, for its report.
struct Measured {
    setup_s: f64,
    processes: usize,
    published: Published,
    all: Deliveries,
    cpu: CpuReport,
}
