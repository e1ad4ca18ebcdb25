//! What every attack test needs: a server process to attack, its memory,
//! and a normal client's round trip to prove it is still served.

#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::{Binary, Client, command, within};

/// The longest a normal client's relayed round trip may take while an
/// attack runs (a debug build on two busy cores; unloaded it is ~1 ms).
pub const NORMAL_ROUND_TRIP: Duration = Duration::from_millis(500);

/// A `switchboard` process under attack.
pub struct Target {
    pub server: Binary,
    pub addr: SocketAddr,
    /// Its resident memory when started, KiB.
    pub rss_at_start_kib: u64,
}

impl Target {
    /// Starts the binary on a free loopback port with `args` added.
    pub async fn start(args: &[&str]) -> Self {
        let mut all = vec!["--listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        let server = Binary::start(command(&all)).await;
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

    /// A normal client is served: it connects, joins a room, and a relay to
    /// a second member of that room arrives (and is acknowledged) within
    /// [`NORMAL_ROUND_TRIP`]. Returns the round trip.
    pub async fn assert_served(&self) -> Duration {
        normal_round_trip(self.addr).await
    }
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
        let mut sender = Client::connect(addr, "/ws").await;
        let mut receiver = Client::connect(addr, "/ws").await;
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
