//! `poll-fanout`: one publisher, N long-polling receivers in one room.
//!
//! Each receiver is a long-polling session (PROTOCOL.md section 6) over
//! one keep-alive HTTP/1.1 connection: `POST P/poll` opens it, a posted
//! `$join` (with an ack) joins the room, and from then on one `GET
//! P/poll?sid=…` is held at a time; each answer is an array whose messages'
//! stamps are read by scanning bytes. The publisher is the `fanout` one: a
//! WebSocket client relaying stamped events to the room at a fixed
//! open-loop rate. Latency runs from the send to the moment the answer
//! carrying the message was read whole; losses, duplicates and reordering
//! are counted as in `fanout`. Receivers end their session with `DELETE`.
//!
//! The run itself (plan, schedule, deliveries, report) is the
//! [`room_fanout`](crate::room_fanout) runner shared with `fanout`; this
//! module holds the receivers' transport. Files: `http.rs` (the session),
//! `share.rs` (the receivers).

pub mod http;
mod share;

pub use share::Share;

use crate::error::{Error, Result};
use crate::hub_under_test::HubUnderTestArgs;
use crate::lean::Protocol;
use crate::options::GenArgs;
use crate::report::emit;
use crate::room_fanout::{Plan, Report};

/// Options of `poll-fanout`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Long-polling receivers in the room
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub clients: usize,
    /// Messages the publisher sends per second (open loop)
    #[arg(long, value_name = "R", default_value_t = 10)]
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
    #[arg(long, value_name = "NAME", default_value = "poll-fanout")]
    pub room: String,
    /// Sessions being opened at once (per process)
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub connect_parallel: usize,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub target: HubUnderTestArgs,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub gen_args: GenArgs,
}

/// Runs `poll-fanout` and writes the report to stdout.
pub async fn run(args: Args) -> Result<()> {
    let report = measure(&args).await?;
    emit(&report, args.gen_args.json, |r, out| r.write_table(out))
}

/// Runs `poll-fanout` and returns its figures (the `fanout` report, named
/// `poll-fanout`).
pub async fn measure(args: &Args) -> Result<Report> {
    if args.target.protocol != Protocol::Switchboard {
        return Err(Error::Usage(
            "poll-fanout measures Switchboard's long-polling: it has no Socket.IO mode".into(),
        ));
    }
    let plan = Plan {
        benchmark: "poll-fanout",
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
        clients: clients.len(),
        first_client: clients.start,
        tokens: hub.tokens.clone(),
        room: args.room.clone(),
        schedule,
        connect_parallel: args.connect_parallel,
    })
    .await
}
