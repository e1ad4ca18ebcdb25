//! `idle`: the hub's memory per idle connection.
//!
//! Reads the hub's resident memory (`VmRSS` in `/proc/<pid>/status`),
//! opens N WebSocket connections (each counts once it has read its
//! `$welcome` and joined the room `--room`, `idle` by default, or, with
//! `--bare`, at its `$welcome`; nothing else is sent), waits for the hub to
//! settle, and reads its memory again: the difference over N is the cost
//! of one idle connection (its task, buffers, session and resume state).
//! The connections answer the hub's pings while held, and end with a close
//! frame. The hub's pid comes from `--spawn-hub`, or `--hub-pid` with
//! `--url`.
//!
//! Files: `share.rs` (the connections), `rss.rs` (reading `VmRSS`).

pub mod rss;
mod share;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use serde::Serialize;

pub use share::{Held, Share};

use crate::cpu::CpuWindow;
use crate::error::{Error, Result};
use crate::hub_under_test::{HubUnderTest, HubUnderTestArgs};
use crate::lean::Protocol;
use crate::options::GenArgs;
use crate::phases::SETUP_TIMEOUT;
use crate::progress::ProgressPrinter;
use crate::report::{CpuReport, emit};
use crate::workers::{Workers, split_ranges};

/// Options of `idle`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Connections to open and hold
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub clients: usize,
    /// Seconds to wait after the last connection opened before reading the
    /// hub's memory again
    #[arg(long, value_name = "SECS", default_value_t = 3)]
    pub settle: u64,
    /// Seconds to keep holding the connections after that
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub hold: u64,
    /// Connections being opened at once (per process)
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub connect_parallel: usize,
    /// Read buffer per connection in the generator, bytes
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub buffer: usize,
    /// Join every connection to this room (one room for all) after its
    /// `$welcome`, as an idle subscriber does
    #[arg(long, value_name = "NAME", default_value = "idle")]
    pub room: String,
    /// Join no room: bare connections, that only read their `$welcome`
    #[arg(long)]
    pub bare: bool,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: HubUnderTestArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub gen_args: GenArgs,
}

impl Args {
    /// The room every connection joins; `None` with `--bare`.
    pub fn joined_room(&self) -> Option<String> {
        (!self.bare).then(|| self.room.clone())
    }
}

/// The figures of an `idle` run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always `"idle"`.
    pub benchmark: &'static str,
    /// Connections asked for.
    pub clients: usize,
    /// The room every connection joined, if any.
    pub room: Option<String>,
    /// Whether each connection authenticated with a token of its own.
    pub authenticated: bool,
    /// Connections that reached `$welcome` (and joined the room).
    pub opened: u64,
    /// Connections that did not.
    pub failed: u64,
    /// Connections the hub ended while held.
    pub closed_early: u64,
    /// How those ended, with counts.
    pub endings: BTreeMap<String, u64>,
    /// Seconds to open them all.
    pub open_s: f64,
    /// Connections opened per second.
    pub opened_per_s: f64,
    /// The hub's `VmRSS` before opening, KiB.
    pub hub_rss_before_kib: u64,
    /// The hub's `VmRSS` once all were open and settled, KiB.
    pub hub_rss_after_kib: u64,
    /// (after − before) / opened: KiB per idle connection.
    pub kib_per_connection: f64,
    /// The generator's own `VmRSS` (all processes) while holding, KiB.
    pub generator_rss_kib: Option<u64>,
    /// Generator processes holding connections (0: in the parent).
    pub worker_processes: usize,
    /// The hub's URL.
    pub url: String,
    /// The protocol the hub was spoken to in.
    pub protocol: Protocol,
    /// CPU use while the connections were held (go to stop).
    pub cpu: CpuReport,
}

impl Report {
    /// Writes the report as a table.
    pub fn write_table(&self, out: &mut dyn Write) -> std::io::Result<()> {
        writeln!(
            out,
            "idle: {} connections{}{}, {} worker processes, hub {}{}",
            self.clients,
            self.room
                .as_ref()
                .map_or(String::new(), |room| format!(" in room {room}")),
            if self.authenticated {
                ", each with a token"
            } else {
                ""
            },
            self.worker_processes,
            self.url,
            self.protocol.title_suffix()
        )?;
        writeln!(out)?;
        let rows: [(&str, String); 7] = [
            (
                "opened",
                format!(
                    "{} ({} failed) in {:.1} s, {:.0}/s",
                    self.opened, self.failed, self.open_s, self.opened_per_s
                ),
            ),
            (
                "closed by the hub",
                format!("{} {:?}", self.closed_early, self.endings),
            ),
            (
                "hub VmRSS before",
                format!("{} KiB", self.hub_rss_before_kib),
            ),
            ("hub VmRSS after", format!("{} KiB", self.hub_rss_after_kib)),
            (
                "per connection",
                format!("{:.2} KiB", self.kib_per_connection),
            ),
            (
                "generator VmRSS",
                self.generator_rss_kib
                    .map_or("n/a".into(), |k| format!("{k} KiB")),
            ),
            ("", self.cpu.line()),
        ];
        for (name, value) in rows {
            writeln!(out, "{name:<18} {value}")?;
        }
        Ok(())
    }
}

/// Runs `idle` and writes the report to stdout.
pub async fn run(args: Args) -> Result<()> {
    let report = measure(&args).await?;
    emit(&report, args.gen_args.json, |r, out| r.write_table(out))
}

/// Runs `idle` and returns its figures.
pub async fn measure(args: &Args) -> Result<Report> {
    let target = HubUnderTest::start(&args.target).await?;
    let outcome = measure_on(&target, args).await;
    target.stop().await;
    outcome
}

async fn measure_on(target: &HubUnderTest, args: &Args) -> Result<Report> {
    let pid = target.pid.ok_or_else(|| {
        Error::Usage("idle needs the hub's pid: --spawn-hub, or --hub-pid with --url".into())
    })?;
    let hub_rss = || {
        rss::vm_rss_kib(Some(pid))
            .ok_or_else(|| Error::Usage(format!("cannot read /proc/{pid}/status")))
    };
    // Let a freshly spawned hub finish starting.
    if target.spawned() {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let before = hub_rss()?;
    let jobs: Vec<Share> = split_ranges(args.clients, args.gen_args.shares())
        .into_iter()
        .filter(|clients| !clients.is_empty())
        .map(|clients| Share {
            url: target.url.clone(),
            protocol: target.protocol,
            clients: clients.len(),
            first_client: clients.start,
            tokens: target.tokens.clone(),
            room: args.joined_room(),
            connect_parallel: args.connect_parallel,
            buffer: args.buffer,
        })
        .collect();
    let open_start = std::time::Instant::now();
    let mut workers = Workers::start(
        jobs,
        args.gen_args.in_processes(),
        args.gen_args.worker_exe.clone(),
    )
    .await?;
    let counters = workers.counters();
    let printer = ProgressPrinter::start("idle", move || {
        let opened: u64 = counters.iter().map(|c| c.done()).sum();
        let failed: u64 = counters.iter().map(|c| c.errors()).sum();
        let rss = rss::vm_rss_kib(Some(pid)).unwrap_or(0);
        format!("opened {opened}, failed {failed}, hub VmRSS {rss} KiB")
    });
    workers.wait_ready(SETUP_TIMEOUT).await?;
    let open_s = open_start.elapsed().as_secs_f64();
    workers.go().await?;
    let cpu = CpuWindow::start();
    let hub_cpu = CpuWindow::start_pid(pid);
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let after = hub_rss()?;
    let own_rss = rss::vm_rss_kib(None);
    tokio::time::sleep(Duration::from_secs(args.hold)).await;
    let cpu = cpu.finish();
    let hub_cpu = hub_cpu.finish();
    drop(printer);
    let processes = workers.processes();
    let results = workers.finish().await?;
    let mut held = Held::default();
    for finished in &results {
        held.merge(&finished.output);
    }
    let worker_cpu: Vec<_> = results.iter().map(|f| f.cpu).collect();
    let generator_rss_kib = if processes == 0 {
        own_rss
    } else {
        own_rss.zip(held.worker_rss_kib).map(|(a, b)| a + b)
    };
    let opened = held.opened.max(1);
    Ok(Report {
        benchmark: "idle",
        clients: args.clients,
        room: args.joined_room(),
        authenticated: target.authenticated(),
        opened: held.opened,
        failed: held.failed,
        closed_early: held.closed_early,
        endings: held.endings,
        open_s,
        opened_per_s: held.opened as f64 / open_s.max(1e-9),
        hub_rss_before_kib: before,
        hub_rss_after_kib: after,
        kib_per_connection: (after as f64 - before as f64) / opened as f64,
        generator_rss_kib,
        worker_processes: processes,
        url: target.url.clone(),
        protocol: target.protocol,
        cpu: CpuReport::collect(cpu, &worker_cpu, hub_cpu),
    })
}
