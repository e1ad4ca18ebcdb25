//! Real `switchboard` processes clustered over a backend, with room
//! history for `feed-*`; their logs are kept and printed when a test fails
//! (those of nodes stopped during the test too).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use switchboard_testkit::{Backend, get, try_http};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::Instant;

use crate::common::{Binary, command, within};

/// The rooms that keep history.
pub(crate) const HISTORY: &str = "feed-*";
/// The room every scenario publishes to.
pub(crate) const ROOM: &str = "feed-1";
/// How many log lines of each node are kept for a failure's report.
const LOG_LINES: usize = 3000;

/// One `switchboard` process of a cluster.
pub(crate) struct Node {
    /// Its name in reports: `A`, `B`, ...
    pub(crate) name: String,
    /// Where it serves HTTP and WebSocket.
    pub(crate) addr: SocketAddr,
    binary: Binary,
    log: Arc<Mutex<VecDeque<String>>>,
}

impl Node {
    /// Starts a node of the cluster `prefix` whose backend (a `kind`
    /// server, or a link to one) is at `backend`, with `extra` flags after
    /// the common ones. The nodes log at the level of the test's own
    /// `RUST_LOG` (`info` without it).
    pub(crate) async fn start(
        name: &str,
        kind: Backend,
        backend: SocketAddr,
        prefix: &str,
        extra: &[&str],
    ) -> Self {
        let flag = match kind {
            Backend::Redis => "--redis",
            Backend::Nats => "--nats",
        };
        let url = format!("{}://{backend}", kind.scheme());
        let level = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned());
        let mut args = vec![
            "--listen",
            "127.0.0.1:0",
            flag,
            &url,
            "--cluster-prefix",
            prefix,
            "--history",
            HISTORY,
            // Enough to reach back past any outage of these tests.
            "--history-size",
            "10000",
            // Room for the backlog an outage releases at once.
            "--send-queue-capacity",
            "20000",
            "--log-level",
            &level,
        ];
        args.extend_from_slice(extra);
        let mut binary = Binary::start(command(&args)).await;
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let stderr = binary.child.stderr.take().expect("stderr is piped");
        let keep = log.clone();
        // Read stderr as it comes (a full pipe would stall the node).
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut log = keep.lock().unwrap();
                if log.len() == LOG_LINES {
                    log.pop_front();
                }
                log.push_back(line);
            }
        });
        Self {
            name: name.to_owned(),
            addr: binary.addr,
            binary,
            log,
        }
    }

    /// Kills the process with SIGKILL (no goodbye to anyone) and waits
    /// for it to be gone.
    pub(crate) async fn kill(&mut self) {
        self.binary.child.start_kill().expect("SIGKILL");
        let _ = self.binary.wait().await;
    }

    /// Sends SIGTERM: the node stops gracefully (see [`Node::exited`]).
    pub(crate) fn terminate(&self) {
        self.binary.terminate();
    }

    /// Waits for the process to exit (failing the test after
    /// [`switchboard_testkit::WAIT`]) and returns its status.
    pub(crate) async fn exited(&mut self) -> std::process::ExitStatus {
        let name = self.name.clone();
        within(&format!("node {name} to exit"), self.binary.child.wait())
            .await
            .unwrap_or_else(|e| panic!("node {name}: cannot wait for the process: {e}"))
    }

    /// `GET /api/stats`, or `None` when the node does not answer.
    pub(crate) async fn stats(&self) -> Option<Value> {
        let response = try_http(self.addr, "GET", "/api/stats", &[], b"")
            .await
            .ok()?;
        (response.status == 200).then(|| response.json())
    }

    /// `GET /api/rooms/{room}`: the room's members across the cluster,
    /// sorted; `Err` with the answer when the node does not answer `200`.
    pub(crate) async fn members(&self, room: &str) -> Result<Vec<String>, String> {
        let path = format!("/api/rooms/{room}");
        let response = try_http(self.addr, "GET", &path, &[], b"")
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        if response.status != 200 {
            return Err(format!(
                "GET {path}: {} {}",
                response.status,
                response.text()
            ));
        }
        let answer = response.json();
        let mut members: Vec<String> = answer["members"]
            .as_array()
            .ok_or_else(|| format!("GET {path}: no members in {answer}"))?
            .iter()
            .map(|id| id.as_str().unwrap_or_default().to_owned())
            .collect();
        members.sort();
        Ok(members)
    }

    /// The node's last log lines.
    pub(crate) fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().iter().cloned().collect()
    }
}

/// The nodes of one cluster; prints their logs when dropped during a
/// failing test.
pub(crate) struct Cluster {
    /// The nodes, `A` first.
    pub(crate) nodes: Vec<Node>,
    /// Nodes replaced during the test (see [`Cluster::replace`]), kept for
    /// their logs.
    pub(crate) retired: Vec<Node>,
}

impl Cluster {
    /// Starts `count` nodes named `A`, `B`, ..., node `i` on the backend
    /// at `backends[i]` (the same server for all, or a link each), and
    /// waits until each sees all the others.
    pub(crate) async fn start(kind: Backend, backends: &[SocketAddr], prefix: &str) -> Self {
        Self::start_with(kind, backends, prefix, &[]).await
    }

    /// [`Cluster::start`] with `extra` flags for every node.
    pub(crate) async fn start_with(
        kind: Backend,
        backends: &[SocketAddr],
        prefix: &str,
        extra: &[&str],
    ) -> Self {
        let mut nodes = Vec::new();
        for (i, backend) in backends.iter().enumerate() {
            let name = char::from(b'A' + i as u8).to_string();
            nodes.push(Node::start(&name, kind, *backend, prefix, extra).await);
        }
        let cluster = Self {
            nodes,
            retired: Vec::new(),
        };
        let count = backends.len() as u64;
        cluster
            .wait_all("the cluster to form", Duration::from_secs(10), |s| {
                s["cluster"] == "ok" && s["nodes"] == count
            })
            .await;
        cluster
    }

    /// Puts `node` in place of node `slot`, which is kept among the
    /// retired nodes (a node restarted as a new process); returns the
    /// retired node.
    pub(crate) fn replace(&mut self, slot: usize, node: Node) -> &mut Node {
        let old = std::mem::replace(&mut self.nodes[slot], node);
        self.retired.push(old);
        self.retired.last_mut().expect("just pushed")
    }

    /// The addresses of the nodes, in order.
    pub(crate) fn addrs(&self) -> Vec<SocketAddr> {
        self.nodes.iter().map(|n| n.addr).collect()
    }

    /// Polls `/api/stats` of every node until `ok` holds for each, failing
    /// after `limit`.
    pub(crate) async fn wait_all(&self, what: &str, limit: Duration, ok: impl Fn(&Value) -> bool) {
        let deadline = Instant::now() + limit;
        for node in &self.nodes {
            loop {
                let stats = node.stats().await.unwrap_or(Value::Null);
                if ok(&stats) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "node {}: no {what} within {limit:?}; last /api/stats: {stats}",
                    node.name
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// The history counters of every node that answers, for a report:
    /// `A {dropped, gaps_lost} ...`.
    pub(crate) async fn history_counters(&self) -> String {
        let mut report = Vec::new();
        for node in &self.nodes {
            if let Some(stats) = node.stats().await {
                report.push(format!(
                    "{}: history_dropped {} history_gaps_lost {} cluster_dropped {}",
                    node.name,
                    stats["history_dropped"],
                    stats["history_gaps_lost"],
                    stats["cluster_detail"]["dropped"]
                ));
            }
        }
        report.join("; ")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        let retired = self.retired.iter().map(|node| (node, " (stopped)"));
        for (node, state) in retired.chain(self.nodes.iter().map(|node| (node, ""))) {
            #[allow(clippy::print_stderr, reason = "a failing test's evidence")]
            {
                eprintln!(
                    "---- node {} ({}){state}: last log lines",
                    node.name, node.addr
                );
                for line in node.log() {
                    eprintln!("{line}");
                }
            }
        }
    }
}

/// Publishes one message to [`ROOM`] through `node`'s HTTP API; waits
/// until its history holds it, and returns the room's epoch: the room's
/// history has begun before any subscriber joins.
pub(crate) async fn start_history(node: &Node) -> String {
    let body = json!({"room": ROOM, "event": "start", "data": null});
    let response = crate::common::publish(node.addr, &body.to_string()).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let history = get(node.addr, &format!("/api/rooms/{ROOM}/history")).await;
        if history.status == 200 {
            let history = history.json();
            if history["offset"].as_u64() >= Some(1) {
                return history["epoch"].as_str().expect("an epoch").to_owned();
            }
        }
        assert!(
            Instant::now() < deadline,
            "the first message never reached the history: {}",
            history.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
