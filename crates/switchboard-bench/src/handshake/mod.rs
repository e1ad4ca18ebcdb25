//! `handshake`: new WebSocket sessions per second.
//!
//! `--concurrency` loops (spread over `--procs` processes) each open a
//! session (TCP connect, upgrade, `$welcome`), count it, close it with a
//! close frame (code 1000), wait for the hub's close, and start the next,
//! for `--duration` seconds. The latency is from the connect to the
//! `$welcome`. With `--token-hmac-secret` each loop opens its sessions
//! with a token of its own (`sub` `user-<loop>`), signed before the run, so
//! every handshake includes the hub's token check. To keep clear of
//! ephemeral-port and TIME_WAIT exhaustion, connections to a loopback hub
//! are bound before connecting to source addresses spread over
//! 127.0.0.2–127.0.0.255 (`--sources`), and the client closes with a close
//! frame and waits for the hub to close TCP first, so TIME_WAIT stays on
//! the hub's side.
//!
//! Files: `share.rs` (the loops), `sources.rs` (source addresses).

mod share;
pub mod sources;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde::Serialize;

pub use share::{Sessions, Share};

use crate::cpu::CpuWindow;
use crate::error::{Error, Result};
use crate::histogram::{LatencyHistogram, LatencySummary};
use crate::hub_under_test::{HubUnderTest, HubUnderTestArgs};
use crate::lean::Protocol;
use crate::options::GenArgs;
use crate::progress::ProgressPrinter;
use crate::report::{CpuReport, emit, per_second};
use crate::workers::{Workers, split};

/// Options of `handshake`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Sessions being opened at once (over all processes)
    #[arg(long, value_name = "C", default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds to run
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub duration: u64,
    /// Loopback source addresses to spread connections over, from
    /// 127.0.0.2 on (at most 254; 0: let the kernel pick the address)
    #[arg(long, value_name = "N", default_value_t = 254)]
    pub sources: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: HubUnderTestArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub gen_args: GenArgs,
}

/// The figures of a `handshake` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `"handshake"`.
    pub benchmark: &'static str,
    /// Sessions being opened at once.
    pub concurrency: usize,
    /// Seconds asked for.
    pub duration_s: u64,
    /// Seconds actually run (go to stop).
    pub run_s: f64,
    /// Loopback source addresses used (0: the kernel's choice).
    pub sources: usize,
    /// Whether each session authenticated with a token.
    pub authenticated: bool,
    /// Sessions that reached `$welcome`.
    pub sessions: u64,
    /// Sessions per second.
    pub sessions_per_s: f64,
    /// Failed attempts, by cause (`http-503`, `io-…`, `timeout`…).
    pub failures: BTreeMap<String, u64>,
    /// Connect to `$welcome`.
    pub latency: LatencySummary,
    /// Generator processes (0: in the parent).
    pub worker_processes: usize,
    /// The hub's URL.
    pub url: String,
    /// The protocol the hub was spoken to in.
    pub protocol: Protocol,
    /// CPU use over the run.
    pub cpu: CpuReport,
}

impl Report {
    /// Writes the report as a table.
    pub fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "handshake: concurrency {} for {} s{}, {} source addresses, {} worker processes, hub {}{}",
            self.concurrency,
            self.duration_s,
            if self.authenticated {
                ", each session with a token"
            } else {
                ""
            },
            self.sources,
            self.worker_processes,
            self.url,
            self.protocol.title_suffix()
        )?;
        writeln!(out)?;
        let l = &self.latency;
        let rows: [(&str, String); 6] = [
            (
                "sessions",
                format!("{} in {:.2} s", self.sessions, self.run_s),
            ),
            ("sessions/s", format!("{:.0}", self.sessions_per_s)),
            ("failures", format!("{:?}", self.failures)),
            ("latency p50/p90 µs", format!("{} / {}", l.p50_us, l.p90_us)),
            ("latency p99/max µs", format!("{} / {}", l.p99_us, l.max_us)),
            ("", self.cpu.line()),
        ];
        for (name, value) in rows {
            writeln!(out, "{name:<20} {value}")?;
        }
        Ok(())
    }
}

/// Runs `handshake` and writes the report to stdout.
pub async fn run(args: Args) -> Result<()> {
    let report = measure(&args).await?;
    emit(&report, args.gen_args.json, |r, out| r.write_table(out))
}

/// Runs `handshake` and returns its figures.
pub async fn measure(args: &Args) -> Result<Report> {
    if args.concurrency == 0 || args.duration == 0 {
        return Err(Error::Usage(
            "--concurrency and --duration must be positive".into(),
        ));
    }
    let target = HubUnderTest::start(&args.target).await?;
    let outcome = measure_on(&target, args).await;
    target.stop().await;
    outcome
}

async fn measure_on(target: &HubUnderTest, args: &Args) -> Result<Report> {
    let sources = args.sources.min(254);
    let mut offset = 0;
    let mut jobs = Vec::new();
    for concurrency in split(args.concurrency, args.gen_args.shares()) {
        if concurrency == 0 {
            continue;
        }
        jobs.push(Share {
            url: target.url.clone(),
            protocol: target.protocol,
            concurrency,
            sources,
            source_offset: offset,
            first_client: offset,
            tokens: target.tokens.clone(),
        });
        offset += concurrency;
    }
    let mut workers = Workers::start(
        jobs,
        args.gen_args.in_processes(),
        args.gen_args.worker_exe.clone(),
    )
    .await?;
    workers.wait_ready(Duration::from_secs(30)).await?;
    let counters = workers.counters();
    let printer = {
        let mut last = 0;
        ProgressPrinter::start("handshake", move || {
            let sessions: u64 = counters.iter().map(|c| c.done()).sum();
            let failed: u64 = counters.iter().map(|c| c.errors()).sum();
            let line = format!(
                "sessions {sessions} (+{}/s), failed {failed}",
                sessions - last
            );
            last = sessions;
            line
        })
    };
    workers.go().await?;
    let started = std::time::Instant::now();
    let cpu = CpuWindow::start();
    let hub_cpu = target.pid.map(CpuWindow::start_pid);
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    workers.stop().await?;
    let run_s = started.elapsed().as_secs_f64();
    let cpu = cpu.finish();
    let hub_cpu = hub_cpu.and_then(|w| w.finish());
    drop(printer);
    let processes = workers.processes();
    let results = workers.finish().await?;
    let mut all = Sessions::default();
    for finished in &results {
        all.merge(&finished.output);
    }
    let worker_cpu: Vec<_> = results.iter().map(|f| f.cpu).collect();
    Ok(Report {
        benchmark: "handshake",
        concurrency: args.concurrency,
        duration_s: args.duration,
        run_s,
        sources: if target_is_loopback(&target.url) {
            sources
        } else {
            0
        },
        authenticated: target.authenticated(),
        sessions: all.sessions,
        sessions_per_s: per_second(all.sessions, run_s),
        failures: all.failures,
        latency: LatencyHistogram::from_counts(&all.latency).summary(),
        worker_processes: processes,
        url: target.url.clone(),
        protocol: target.protocol,
        cpu: CpuReport::collect(cpu, &worker_cpu, hub_cpu),
    })
}

fn target_is_loopback(url: &str) -> bool {
    crate::lean::WsUrl::parse(url)
        .ok()
        .and_then(|u| u.host.parse::<std::net::Ipv4Addr>().ok())
        .is_some_and(|ip| ip.is_loopback())
}
