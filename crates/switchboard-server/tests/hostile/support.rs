//! What every attack test needs: a server process to attack, its memory,
//! and a normal client's round trip to prove it is still served.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

pub use crate::common::eventually_async;
use crate::common::{Binary, WsClient, command, within};

/// The longest a normal client's relayed round trip may take while an
/// attack runs (a debug build on two busy cores; unloaded it is ~1 ms).
pub const NORMAL_ROUND_TRIP: Duration = Duration::from_millis(500);

/// A `switchboard` process under attack.
pub struct AttackedServer {
    pub server: Binary,
    pub addr: SocketAddr,
    /// Its resident memory when started, KiB.
    pub rss_at_start_kib: u64,
}

impl AttackedServer {
    /// Starts the binary on a free loopback port with `args` added.
    pub async fn start(args: &[&str]) -> Self {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Self::start_command(command(&all)).await
    }

    /// Starts the binary under `prlimit --nofile=N:N` (at most `nofile`
    /// open descriptors), on a free loopback port with `args` added.
    pub async fn start_with_nofile(nofile: u32, args: &[&str]) -> Self {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let program = command(&[]).as_std().get_program().to_owned();
        // `prlimit` execs the binary: the child's pid is the server's.
        let mut limited = tokio::process::Command::new("prlimit");
        limited
            .arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(program)
            .args(&all);
        for (name, _) in std::env::vars() {
            if name.starts_with("SWITCHBOARD_") {
                limited.env_remove(name);
            }
        }
        limited
            .env_remove("RUST_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        Self::start_command(limited).await
    }

    /// Starts `command` (the binary, listening on a free port).
    pub async fn start_command(command: tokio::process::Command) -> Self {
        let mut server = Binary::start(command).await;
        // Keep reading what it logs: an attack makes it log, and a full
        // pipe would stall the server on a write, not on the attack.
        if let Some(stderr) = server.child.stderr.take() {
            tokio::spawn(async move {
                use tokio::io::AsyncBufReadExt;
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(_)) = lines.next_line().await {}
            });
        }
        let addr = server.addr;
        let mut target = Self {
            server,
            addr,
            rss_at_start_kib: 0,
        };
        // Warm up what every connection uses once, so that it is not
        // charged to the attack.
        target.assert_served().await;
        target.rss_at_start_kib = target.rss_kib();
        target
    }

    /// The process's resident memory now, KiB (`VmRSS`).
    pub fn rss_kib(&self) -> u64 {
        let pid = self.server.child.id().expect("the server is running");
        rss_kib(pid)
    }

    /// The number of descriptors the process has open.
    pub fn open_fds(&self) -> usize {
        let pid = self.server.child.id().expect("the server is running");
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|dir| dir.count())
            .unwrap_or_else(|e| panic!("reading /proc/{pid}/fd: {e}"))
    }

    /// How much the process has grown since it started, KiB.
    pub fn growth_kib(&self) -> u64 {
        self.rss_kib().saturating_sub(self.rss_at_start_kib)
    }

    /// Asserts that the server's memory grew by less than `limit_kib` since
    /// it started, naming the attack in the failure.
    pub fn assert_growth_below(&self, attack: &str, limit_kib: u64) {
        let growth = self.growth_kib();
        assert!(
            growth < limit_kib,
            "{attack}: the server grew by {growth} KiB (bound {limit_kib} KiB)"
        );
    }

    /// The value of metric `name` (its full sample name, labels included:
    /// `switchboard_errors_sent_total{code="limit"}`) in `/metrics`.
    pub async fn metric(&self, name: &str) -> u64 {
        metric(self.addr, name).await
    }

    /// [`AttackedServer::metric`] as a float, for arithmetic on byte and session
    /// bounds.
    pub async fn metric_f64(&self, name: &str) -> f64 {
        self.metric(name).await as f64
    }

    /// A normal client is served: it connects, joins a room, and a relay to
    /// a second member of that room arrives (and is acknowledged) within
    /// [`NORMAL_ROUND_TRIP`]. Returns the round trip.
    pub async fn assert_served(&self) -> Duration {
        normal_round_trip(self.addr).await
    }
}

/// The value of the sample `name` in the server's `/metrics` (every
/// sample the server exposes is a whole number).
pub async fn metric(addr: SocketAddr, name: &str) -> u64 {
    let response = crate::common::get(addr, "/metrics").await;
    assert_eq!(response.status, 200, "{}", response.text());
    let text = response.text();
    text.lines()
        .find_map(|line| {
            let (sample, value) = line.rsplit_once(' ')?;
            (sample == name).then(|| value.parse().expect("a whole number"))
        })
        .unwrap_or_else(|| panic!("no sample {name} in /metrics:\n{text}"))
}

/// The `VmRSS` of process `pid`, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line in kB")
}

/// Two fresh clients join one room; the first relays an event to it with
/// an ack. Asserts the second receives it and the first its reply within
/// [`NORMAL_ROUND_TRIP`], and returns the time taken.
pub async fn normal_round_trip(addr: SocketAddr) -> Duration {
    within("a normal client's round trip", async {
        let room = format!("probe-{}", rand_suffix());
        let mut sender = WsClient::connect_at(addr, "/ws").await;
        let mut receiver = WsClient::connect_at(addr, "/ws").await;
        for client in [&mut sender, &mut receiver] {
            let reply = client.join(&room).await;
            assert_eq!(reply["data"]["room"], room, "join refused: {reply}");
        }
        let started = Instant::now();
        sender
            .send(json!({"event": "probe", "data": "hello", "room": room, "ack": 99}))
            .await;
        let relayed = receiver.recv().await;
        assert_eq!(relayed["event"], "probe", "{relayed}");
        assert_eq!(relayed["from"], sender.id.as_str(), "{relayed}");
        let reply = sender.recv().await;
        assert_eq!(reply["reply"], 99, "{reply}");
        let took = started.elapsed();
        assert!(
            took < NORMAL_ROUND_TRIP,
            "a normal client's relay took {took:?} (bound {NORMAL_ROUND_TRIP:?})"
        );
        sender.close_normally().await;
        receiver.close_normally().await;
        took
    })
    .await
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(Instant::now())
}
