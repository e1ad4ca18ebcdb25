//! `switchboard-bench`: the Switchboard load generator. One subcommand per
//! workload; see `switchboard-bench --help` and BENCHMARKS.md.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchboard_bench::options::GenArgs;
use switchboard_bench::{
    cluster_latency, echo, fanout, handshake, idle, poll_fanout, session_move, sys, token_verify,
    workers,
};
use tracing_subscriber::EnvFilter;

/// Load generator and benchmarks for Switchboard hubs and clusters.
#[derive(Debug, Parser)]
#[command(name = "switchboard-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The workloads. Add one as a variant holding its own `Args` and a module
/// of its own in the library.
#[derive(Debug, Subcommand)]
enum Command {
    /// Added latency of a cross-node delivery over a local one, per cluster
    /// backend (memory, Redis, NATS).
    ClusterLatency(cluster_latency::Args),
    /// How long a resume takes when the session moves to another node,
    /// against one on the same node, under a publisher.
    SessionMove(session_move::Args),
    /// One publisher at a fixed rate, N WebSocket receivers in one room:
    /// deliveries/s, latency, losses.
    Fanout(fanout::Args),
    /// Round trips of N clients at a fixed rate each: relay acks (default)
    /// or $ping/$pong.
    Echo(echo::Args),
    /// The hub's memory per idle WebSocket connection.
    Idle(idle::Args),
    /// New WebSocket sessions per second (connect, $welcome, close).
    Handshake(handshake::Args),
    /// One publisher at a fixed rate, N long-polling receivers in one room.
    PollFanout(poll_fanout::Args),
    /// The hub's HS256 token check per handshake, in process (no sockets).
    TokenVerify(token_verify::Args),
    /// A worker process of another workload (started by the generator
    /// itself with --procs; reads its job on stdin).
    #[command(hide = true)]
    Worker {
        /// The job's kind, e.g. `fanout`.
        kind: String,
    },
}

impl Command {
    fn gen_args(&self) -> Option<&GenArgs> {
        match self {
            Command::Fanout(args) => Some(&args.gen_args),
            Command::Echo(args) => Some(&args.gen_args),
            Command::Idle(args) => Some(&args.gen_args),
            Command::Handshake(args) => Some(&args.gen_args),
            Command::PollFanout(args) => Some(&args.gen_args),
            Command::ClusterLatency(_)
            | Command::SessionMove(_)
            | Command::TokenVerify(_)
            | Command::Worker { .. } => None,
        }
    }

    /// The CPUs to pin the generator to, if any.
    fn cpus(&self) -> Option<&str> {
        match self {
            Command::TokenVerify(args) => args.cpus.as_deref(),
            _ => self.gen_args().and_then(|g| g.cpus.as_deref()),
        }
    }
}

fn main() -> ExitCode {
    // Logs (the hub's warnings included) go to stderr; stdout holds the
    // report only. RUST_LOG overrides the level.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    // Before any thread starts: threads and child processes inherit both.
    if let Err(error) = sys::raise_nofile_limit() {
        tracing::warn!(%error, "cannot raise the open-files limit");
    }
    if let Some(cpus) = cli.command.cpus()
        && let Err(error) = sys::pin_to_cpus(cpus)
    {
        return fail(&error);
    }
    // The connection workloads run on one thread (the lean clients are
    // built for it; --procs adds processes); cluster-latency runs two hubs
    // and wants both cores.
    let runtime = match cli.command {
        Command::ClusterLatency(_) | Command::SessionMove(_) => {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
        }
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => return fail(&error),
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::ClusterLatency(args) => cluster_latency::run(args).await,
            Command::SessionMove(args) => session_move::run(args).await,
            Command::Fanout(args) => fanout::run(args).await,
            Command::Echo(args) => echo::run(args).await,
            Command::Idle(args) => idle::run(args).await,
            Command::Handshake(args) => handshake::run(args).await,
            Command::PollFanout(args) => poll_fanout::run(args).await,
            Command::TokenVerify(args) => token_verify::run(args).await,
            Command::Worker { kind } => serve_worker(&kind).await,
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

/// Runs a worker process for the job kind `kind` (a `workers::Job::KIND`).
async fn serve_worker(kind: &str) -> switchboard_bench::error::Result<()> {
    use workers::Job as _;
    use workers::child::serve;
    match kind {
        fanout::Share::KIND => serve::<fanout::Share>().await,
        echo::Share::KIND => serve::<echo::Share>().await,
        idle::Share::KIND => serve::<idle::Share>().await,
        handshake::Share::KIND => serve::<handshake::Share>().await,
        poll_fanout::Share::KIND => serve::<poll_fanout::Share>().await,
        other => Err(switchboard_bench::error::Error::Usage(format!(
            "unknown worker kind `{other}`"
        ))),
    }
}

#[allow(clippy::print_stderr, reason = "the binary reports its own failure")]
fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("switchboard-bench: {error}");
    ExitCode::FAILURE
}
