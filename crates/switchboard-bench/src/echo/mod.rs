//! `echo`: round trips of many clients at a fixed rate each.
//!
//! The standalone server has no echo handler, so a round trip is one of:
//! - `relay` (default): each client `$join`s a room only it is in, then
//!   sends `{"event":"echo","room":…,"ack":n,"data":{"seq":…,"t":…,"pad":…}}`;
//!   the hub relays it to the room's other members (none) and answers the
//!   ack with `{"reply":n,"data":null}` once it has accepted the relay
//!   (PROTOCOL.md section 4). The round trip covers parsing, the relay
//!   policy, the room lookup and the reply.
//! - `ping`: each client sends `{"event":"$ping"}` and the hub answers
//!   `{"event":"$pong"}` at once (PROTOCOL.md section 3). Answers come in
//!   order and carry no number, so the n-th `$pong` answers the n-th
//!   `$ping`.
//!
//! With `--protocol socketio` (the `socketioxide` peer) each message
//! carries an ack id and the answer is the peer's ack: relay mode sends
//! `42<n>["relay",{"room":…,"data":{…stamp…}}]` (the peer broadcasts to the
//! room's other members, none, and acks), ping mode `42<n>["echo"]` (acked
//! at once).
//!
//! Each client sends on its own open-loop schedule (`--rate` per second,
//! phases spread evenly over the clients) and times each answer from just
//! before the write to just after the read that brought it.
//!
//! Files: `share.rs` (the clients), `report.rs`.

mod report;
mod share;

use serde::{Deserialize, Serialize};

pub use report::{Report, Settings};
pub use share::{EVENT, Echoes, Share};

use crate::cpu::CpuWindow;
use crate::error::{Error, Result};
use crate::histogram::LatencyHistogram;
use crate::hub_under_test::{HubUnderTest, HubUnderTestArgs};
use crate::options::GenArgs;
use crate::phases::{SETUP_TIMEOUT, drain};
use crate::progress::ProgressPrinter;
use crate::report::{CpuReport, emit, per_second};
use crate::schedule::Schedule;
use crate::workers::{Workers, split};

/// What a round trip is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// A relay to a room of the client's own, answered by the hub's ack
    /// reply.
    Relay,
    /// `$ping`, answered by `$pong`.
    Ping,
}

/// Options of `echo`.
#[derive(Debug, Clone, clap::Args)]
#[command(
    after_help = "Round trips: `relay` (default) sends {\"event\":\"echo\",\"room\":R,\"ack\":n,...} \
to a room only the sender is in (it $joins it first) and waits for the hub's ack reply \
{\"reply\":n,\"data\":null}, sent when the hub accepts the relay; `ping` sends \
{\"event\":\"$ping\"} and waits for {\"event\":\"$pong\"}. The standalone server has no echo handler. \
With --protocol socketio: relay sends the peer's `relay` event, ping its `echo` event, each with an ack id, \
and waits for the peer's ack."
)]
pub struct Args {
    /// Clients, each sending on its own schedule
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub clients: usize,
    /// Messages per second per client (open loop)
    #[arg(long, value_name = "R", default_value_t = 100)]
    pub rate: u32,
    /// Round trip: relay ack (default) or $ping/$pong
    #[arg(long, value_enum, default_value_t = Mode::Relay)]
    pub mode: Mode,
    /// Seconds measured, after the warmup
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub duration: u64,
    /// Seconds sent before measuring starts
    #[arg(long, value_name = "SECS", default_value_t = 2)]
    pub warmup: u64,
    /// Bytes of filler in each relayed message's data
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    pub payload: usize,
    /// Connections being opened at once (per process)
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub connect_parallel: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: HubUnderTestArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub gen_args: GenArgs,
}

/// Runs `echo` and writes the report to stdout.
pub async fn run(args: Args) -> Result<()> {
    let report = measure(&args).await?;
    emit(&report, args.gen_args.json, |r, out| r.write_table(out))
}

/// Runs `echo` and returns its figures.
pub async fn measure(args: &Args) -> Result<Report> {
    if args.rate == 0 || args.duration == 0 {
        return Err(Error::Usage(
            "--rate and --duration must be positive".into(),
        ));
    }
    let target = HubUnderTest::start(&args.target).await?;
    let outcome = measure_on(&target, args).await;
    target.stop().await;
    outcome
}

/// The workers' jobs: the clients split into shares, each with its first
/// client's index and the rooms' common prefix.
fn shares(target: &HubUnderTest, args: &Args, schedule: Schedule) -> Vec<Share> {
    let room_prefix = format!("echo-{}-{}", std::process::id(), crate::clock::now_ns());
    let mut first_client = 0;
    let mut jobs = Vec::new();
    for (index, clients) in split(args.clients, args.gen_args.shares())
        .into_iter()
        .enumerate()
    {
        if clients == 0 {
            continue;
        }
        jobs.push(Share {
            url: target.url.clone(),
            protocol: target.protocol,
            index,
            clients,
            all_clients: args.clients,
            first_client,
            schedule,
            payload: args.payload,
            mode: args.mode,
            connect_parallel: args.connect_parallel,
            room_prefix: room_prefix.clone(),
            tokens: target.tokens.clone(),
        });
        first_client += clients;
    }
    jobs
}

async fn measure_on(target: &HubUnderTest, args: &Args) -> Result<Report> {
    let schedule = Schedule::new(args.rate, args.warmup, args.duration);
    let jobs = shares(target, args, schedule);
    let mut workers = Workers::start(
        jobs,
        args.gen_args.in_processes(),
        args.gen_args.worker_exe.clone(),
    )
    .await?;
    workers.wait_ready(SETUP_TIMEOUT).await?;
    let connected = u64::try_from(args.clients).unwrap_or(u64::MAX) - workers.errors();
    let counters = workers.counters();
    let printer = {
        let counters = counters.clone();
        let mut last = 0;
        ProgressPrinter::start("echo", move || {
            let answered: u64 = counters.iter().map(|c| c.done()).sum();
            let line = format!(
                "answered {answered} (+{}/s) of {} due, {connected} clients",
                answered - last,
                connected * schedule.total
            );
            last = answered;
            line
        })
    };
    workers.go().await?;
    let started = std::time::Instant::now();
    let cpu = CpuWindow::start();
    let hub_cpu = target.pid.map(CpuWindow::start_pid);
    tokio::time::sleep(schedule.due(schedule.total)).await;
    drain(
        || counters.iter().map(|c| c.done()).sum(),
        connected * schedule.total,
    )
    .await;
    let cpu = cpu.finish();
    let hub_cpu = hub_cpu.and_then(|w| w.finish());
    let elapsed = started.elapsed();
    drop(printer);
    let processes = workers.processes();
    let results = workers.finish().await?;
    let mut all = Echoes::default();
    for finished in &results {
        all.merge(&finished.output);
    }
    let worker_cpu: Vec<_> = results.iter().map(|f| f.cpu).collect();
    Ok(Report {
        benchmark: "echo",
        settings: Settings {
            clients: args.clients,
            rate: args.rate,
            mode: args.mode,
            duration_s: args.duration,
            warmup_s: args.warmup,
            payload_bytes: args.payload,
            worker_processes: processes,
            authenticated: target.authenticated(),
            url: target.url.clone(),
            protocol: target.protocol,
        },
        clients: all.clients,
        connect_errors: all.connect_errors,
        sent: all.sent,
        answered: all.counts.received,
        lost: all.counts.lost,
        duplicates: all.counts.duplicates,
        out_of_order: all.counts.out_of_order,
        round_trips_per_s: per_second(all.counts.received, args.duration as f64),
        other_messages: all.other_messages,
        disconnected: all.disconnected,
        endings: all.endings,
        latency: LatencyHistogram::from_counts(&all.latency).summary(),
        run_s: elapsed.as_secs_f64(),
        cpu: CpuReport::collect(cpu, &worker_cpu, hub_cpu),
    })
}
