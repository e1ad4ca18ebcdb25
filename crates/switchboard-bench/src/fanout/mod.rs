//! `fanout`: one publisher, N receivers in one room.
//!
//! N lean WebSocket clients join room `--room` (spread over `--procs`
//! processes). A publisher, a client in the same room in the parent
//! process, relays stamped events to the room at a fixed open-loop rate:
//! message `n` is due `n / rate` seconds after the start and is sent then
//! whatever happened to earlier ones; each carries its sequence number and
//! its `CLOCK_MONOTONIC` send time. The hub delivers each to every other
//! member. Every receiver takes the time a read returns, finds `"seq":`
//! and `"t":` in each frame by scanning bytes, and records the latency of
//! the first copy of each measured message in its share's HDR histogram;
//! gaps and repeats count as losses and duplicates. After the last message
//! the receivers get until everything has arrived, or 2 s without a new
//! delivery.
//!
//! The run itself (plan, schedule, deliveries, report) is the
//! [`room_fanout`](crate::room_fanout) runner shared with `poll-fanout`;
//! this module holds the receivers' transport: `share.rs`.

mod share;

pub use share::Share;

pub use crate::room_fanout::{Report, Settings};

use crate::error::Result;
use crate::hub_under_test::HubUnderTestArgs;
use crate::options::GenArgs;
use crate::report::emit;
use crate::room_fanout::Plan;

/// Options of `fanout`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Receivers in the room
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub clients: usize,
    /// Messages the publisher sends per second (open loop)
    #[arg(long, value_name = "R", default_value_t = 500)]
    pub rate: u32,
    /// Seconds measured, after the warmup
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub duration: u64,
    /// Seconds published before measuring starts
    #[arg(long, value_name = "SECS", default_value_t = 2)]
    pub warmup: u64,
    /// Bytes of filler in each message's data
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    pub payload: usize,
    /// The room everyone joins
    #[arg(long, value_name = "NAME", default_value = "fanout")]
    pub room: String,
    /// Connections being opened at once (per process)
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub connect_parallel: usize,
    /// Read buffer per receiver, bytes (frames are parsed in place)
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    pub buffer: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: HubUnderTestArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub gen_args: GenArgs,
}

/// Runs `fanout` and writes the report to stdout.
pub async fn run(args: Args) -> Result<()> {
    let report = measure(&args).await?;
    emit(&report, args.gen_args.json, |r, out| r.write_table(out))
}

/// Runs `fanout` and returns its figures.
pub async fn measure(args: &Args) -> Result<Report> {
    let plan = Plan {
        benchmark: "fanout",
        clients: args.clients,
        rate: args.rate,
        duration: args.duration,
        warmup: args.warmup,
        payload: args.payload,
        room: args.room.clone(),
        gen_args: args.gen_args.clone(),
    };
    plan.run_against(&args.target, |hub, clients, schedule| Share {
        url: hub.url.clone(),
        protocol: hub.protocol,
        clients: clients.len(),
        first_client: clients.start,
        tokens: hub.tokens.clone(),
        room: args.room.clone(),
        schedule,
        connect_parallel: args.connect_parallel,
        buffer: args.buffer,
    })
    .await
}
