//! Options every connection workload shares: how the generator runs.

use std::path::PathBuf;

/// How the generator itself runs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct GenArgs {
    /// Worker processes holding the connections: the generator re-executes
    /// itself this many times (each worker on a current-thread runtime)
    /// and merges their results; 1 runs everything in this process. About
    /// 20,000 open files are allowed per process
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub procs: usize,

    /// Pin the generator (and its worker processes) to these CPUs, as
    /// `taskset -c` takes them (e.g. 1, or 1-3) [default: not pinned]
    #[arg(long, value_name = "CPUS")]
    pub cpus: Option<String>,

    /// Print one JSON object on stdout instead of the tables
    #[arg(long)]
    pub json: bool,

    /// The executable to run as worker processes (tests use the built
    /// binary) [default: this executable]
    #[arg(long, value_name = "PATH", hide = true)]
    pub worker_exe: Option<PathBuf>,
}

impl GenArgs {
    /// Whether shares run in worker processes.
    pub fn in_processes(&self) -> bool {
        self.procs > 1
    }

    /// Shares to split the clients into (at least one).
    pub fn shares(&self) -> usize {
        self.procs.max(1)
    }
}
