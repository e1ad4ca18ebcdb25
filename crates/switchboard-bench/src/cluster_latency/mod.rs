//! `cluster-latency`: the latency a cross-node delivery adds to a local one.
//!
//! Two hubs, A and B, run in this process, clustered over one backend (the
//! in-process memory bus, Redis or NATS), each serving WebSocket clients on
//! `127.0.0.1:0`. One client on A and one on B join room `r`. A publisher
//! on hub A emits `t` events to `r` at a fixed, open-loop rate (it never
//! waits for a delivery), each carrying its sequence number and the time it
//! was emitted. Each receiver takes the time a frame arrives, before
//! parsing it, and records the difference in a histogram; the warmup is
//! left out, and gaps and repeats in the sequence count as losses and
//! duplicates. The client on A measures a local delivery, the one on B a
//! cross-node one; their difference is what the cluster adds.
//!
//! By default (`--serve nodelay`) each hub's router is served with
//! `TCP_NODELAY` on every accepted connection: `Hub::serve` leaves Nagle's
//! algorithm on, and with the client's delayed ACKs that holds small
//! frames back by up to about 40 ms, which would swamp what the cluster
//! adds. `--serve hub` measures `Hub::serve` as it is.
//!
//! Files: `cluster.rs` (the backend and the two hubs), `publisher.rs`,
//! `receiver.rs`, `measurement.rs` (one backend's run), `report.rs`.

pub(crate) mod cluster;
mod measurement;
mod publisher;
mod receiver;
pub mod report;

use std::fmt;
use std::io::Write;

use clap::ValueEnum;

use crate::error::{Error, Result};
use report::{Report, Settings};

/// Options of `cluster-latency`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Backends to measure, in order (repeatable or comma-separated; `all`
    /// is memory, redis, nats).
    #[arg(
        long = "backend",
        value_enum,
        value_delimiter = ',',
        default_value = "all"
    )]
    pub backends: Vec<BackendChoice>,
    /// Messages published per second.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: u32,
    /// Seconds measured, after the warmup.
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: u64,
    /// Seconds published before measuring starts.
    #[arg(long, value_name = "SECS", default_value_t = 2)]
    pub warmup: u64,
    /// Bytes of filler in each message's data.
    #[arg(long, value_name = "BYTES", default_value_t = 100)]
    pub payload: usize,
    /// An existing server instead of a private one: `redis://…` is used for
    /// the redis backend, `nats://…` for nats (repeatable). Without it each
    /// is a private redis-server / nats-server on a free port.
    #[arg(long = "url", value_name = "URL")]
    pub urls: Vec<String>,
    /// How the hubs serve their clients: `nodelay` (the hub's router served
    /// with TCP_NODELAY on every connection) or `hub` (`Hub::serve` as it
    /// is, which leaves Nagle's algorithm on).
    #[arg(long, value_enum, default_value = "nodelay")]
    pub serve: ServeMode,
    /// Room `r` keeps history (PROTOCOL.md section 11): every message is
    /// numbered by the backend's store before any node delivers it.
    #[arg(long)]
    pub history: bool,
    /// Print one JSON object instead of the tables.
    #[arg(long)]
    pub json: bool,
}

/// A `--backend` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// Memory, Redis and NATS.
    All,
    /// The in-process memory bus (the baseline).
    Memory,
    /// Redis Pub/Sub.
    Redis,
    /// NATS core pub/sub.
    Nats,
}

/// How each hub serves its WebSocket clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ServeMode {
    /// `axum::serve` of `Hub::router("/")`, with `TCP_NODELAY` set on every
    /// accepted connection.
    Nodelay,
    /// `Hub::serve` as it is (Nagle's algorithm left on).
    Hub,
}

impl fmt::Display for ServeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServeMode::Nodelay => "nodelay",
            ServeMode::Hub => "hub",
        })
    }
}

/// A backend a cluster runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The in-process memory bus.
    Memory,
    /// Redis.
    Redis,
    /// NATS.
    Nats,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Memory => "memory",
            Backend::Redis => "redis",
            Backend::Nats => "nats",
        })
    }
}

impl Backend {
    /// The backend a server URL is for, by its scheme.
    fn of_url(url: &str) -> Option<Self> {
        match url.split_once("://")?.0 {
            "redis" | "redis+unix" | "unix" | "valkey" => Some(Backend::Redis),
            "nats" | "tls" => Some(Backend::Nats),
            _ => None,
        }
    }
}

impl Args {
    /// The backends to run, in order, each once.
    pub fn backends(&self) -> Vec<Backend> {
        let mut backends = Vec::new();
        for choice in &self.backends {
            let chosen: &[Backend] = match choice {
                BackendChoice::All => &[Backend::Memory, Backend::Redis, Backend::Nats],
                BackendChoice::Memory => &[Backend::Memory],
                BackendChoice::Redis => &[Backend::Redis],
                BackendChoice::Nats => &[Backend::Nats],
            };
            for backend in chosen {
                if !backends.contains(backend) {
                    backends.push(*backend);
                }
            }
        }
        backends
    }

    /// The `--url` given for `backend`, if any; an error for a URL no
    /// measured backend uses, or two for the same backend.
    fn url_for(&self, backend: Backend) -> Result<Option<&str>> {
        let mut found = None;
        for url in &self.urls {
            let Some(of) = Backend::of_url(url) else {
                return Err(Error::Usage(format!(
                    "--url {url}: expected a redis:// or nats:// URL"
                )));
            };
            if !self.backends().contains(&of) {
                return Err(Error::Usage(format!(
                    "--url for {of}, but {of} is not among the backends measured"
                )));
            }
            if of == backend {
                if found.is_some() {
                    return Err(Error::Usage(format!("--url given twice for {backend}")));
                }
                found = Some(url.as_str());
            }
        }
        Ok(found)
    }

    fn settings(&self) -> Settings {
        Settings {
            rate: self.rate,
            duration_s: self.duration,
            warmup_s: self.warmup,
            payload_bytes: self.payload,
            serve: self.serve,
            history: self.history,
        }
    }
}

/// Measures every backend asked for, one after the other, and writes the
/// report to stdout.
pub async fn run(args: Args) -> Result<()> {
    crate::clock::epoch();
    let backends = args.backends();
    // Check every --url before starting anything.
    for backend in &backends {
        args.url_for(*backend)?;
    }
    let mut report = Report {
        benchmark: "cluster-latency",
        settings: args.settings(),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        results: Vec::new(),
    };
    for backend in backends {
        let url = args.url_for(backend)?;
        report
            .results
            .push(measurement::measure(backend, url, args.settings()).await?);
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        report.write_json(&mut out)?;
    } else {
        report.write_table(&mut out)?;
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(line: &[&str]) -> Args {
        Cli::parse_from(std::iter::once("x").chain(line.iter().copied())).args
    }

    #[test]
    fn defaults() {
        let args = parse(&[]);
        assert_eq!(
            args.backends(),
            [Backend::Memory, Backend::Redis, Backend::Nats]
        );
        assert_eq!(
            (args.rate, args.duration, args.warmup, args.payload),
            (1000, 10, 2, 100)
        );
        assert!(!args.json);
        assert_eq!(args.serve, ServeMode::Nodelay);
        assert!(!args.history);
    }

    #[test]
    fn backends_repeat_and_dedupe() {
        let args = parse(&["--backend", "nats,redis", "--backend", "all"]);
        assert_eq!(
            args.backends(),
            [Backend::Nats, Backend::Redis, Backend::Memory]
        );
    }

    #[test]
    fn urls_go_to_their_backend() {
        let args = parse(&["--backend", "redis", "--url", "redis://127.0.0.1:7000"]);
        assert_eq!(
            args.url_for(Backend::Redis).expect("valid"),
            Some("redis://127.0.0.1:7000")
        );
        let stray = parse(&["--backend", "redis", "--url", "nats://127.0.0.1:4222"]);
        assert!(stray.url_for(Backend::Redis).is_err());
        let unknown = parse(&["--url", "http://x"]);
        assert!(unknown.url_for(Backend::Redis).is_err());
    }
}
