//! The Socket.IO mode (`--protocol socketio`) against the `socketioxide`
//! peer: the generator binary spawns the peer binary and reports as JSON,
//! one run per workload. The peer pings every 200 ms and drops a client
//! whose pong is 1 s late, and the runs last longer than that, so each
//! also checks that the clients answer Engine.IO's pings (and do not count
//! them as messages). A run that hangs fails after a minute.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use switchboard_bench::hub_under_test::{HubUnderTest, HubUnderTestArgs};
use switchboard_bench::lean::{LeanWs, Status};

/// The peer's options for every run: frequent pings, little patience
/// (enough not to drop a client of a busy test machine).
const FAST_PINGS: [&str; 2] = [
    "--hub-arg=--ping-interval-ms=200",
    "--hub-arg=--ping-timeout-ms=1000",
];
/// How long a run may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// Runs `switchboard-bench WORKLOAD ARGS…` against a spawned peer in
/// Socket.IO mode and returns its JSON report. The generator runs in a
/// process group of its own, killed whole (the peer with it) if it has not
/// finished within [`RUN_LIMIT`].
fn run(workload: &str, args: &[&str]) -> Value {
    use std::os::unix::process::CommandExt as _;
    let child = Command::new(common::BENCH_EXE)
        .arg(workload)
        .args([
            "--spawn-hub",
            common::PEER_EXE,
            "--protocol",
            "socketio",
            "--json",
        ])
        .args(FAST_PINGS)
        .args(args)
        .process_group(0)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the generator starts");
    // The output is read on a thread of its own, so the wait for it can
    // end at the deadline.
    let group = rustix::process::Pid::from_child(&child);
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = match finished.recv_timeout(RUN_LIMIT) {
        Ok(output) => output.expect("its output"),
        Err(_) => {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
            panic!("{workload} did not finish within {RUN_LIMIT:?}");
        }
    };
    assert!(
        output.status.success(),
        "{workload} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a JSON report")
}

fn assert_fanout_delivered_everything(report: &Value) {
    assert_eq!(report["settings"]["protocol"], "socketio", "{report}");
    assert!(
        report["settings"]["url"]
            .as_str()
            .is_some_and(|url| url.ends_with("/socket.io/")),
        "{report}"
    );
    assert_eq!(report["receivers"], 20, "{report}");
    assert_eq!(report["connect_errors"], 0, "{report}");
    assert_eq!(report["sent"], 100, "{report}");
    assert_eq!(report["expected_deliveries"], 2000, "{report}");
    assert_eq!(report["received"], 2000, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["duplicates"], 0, "{report}");
    assert_eq!(report["disconnected"], 0, "{report}");
    // Pings and acks are not messages of the run.
    assert_eq!(report["other_messages"], 0, "{report}");
    assert_eq!(report["publisher_closed"], Value::Null, "{report}");
    assert_eq!(report["latency"]["count"], 2000, "{report}");
}

/// 20 receivers × 50 msg/s for 2 s: longer than the peer's patience.
const FANOUT: [&str; 8] = [
    "--clients",
    "20",
    "--rate",
    "50",
    "--duration",
    "2",
    "--warmup",
    "0",
];

#[test]
fn fanout_delivers_every_message_once() {
    let report = run("fanout", &FANOUT);
    assert_eq!(report["settings"]["worker_processes"], 0);
    assert_fanout_delivered_everything(&report);
}

#[test]
fn fanout_receivers_in_two_worker_processes_get_every_message_once() {
    let mut args = FANOUT.to_vec();
    args.extend(["--procs", "2"]);
    let report = run("fanout", &args);
    assert_eq!(report["settings"]["worker_processes"], 2);
    assert_fanout_delivered_everything(&report);
}

#[test]
fn fanout_cpu_per_delivery_counts_the_warmups_deliveries() {
    // 50 warmup and 50 measured messages to 20 receivers: the CPU window
    // spans both, so the hub's CPU is divided by all 2,000 deliveries.
    let report = run(
        "fanout",
        &[
            "--clients",
            "20",
            "--rate",
            "50",
            "--duration",
            "1",
            "--warmup",
            "1",
        ],
    );
    assert_eq!(report["received"], 1000, "{report}");
    assert_eq!(report["deliveries_in_cpu_window"], 2000, "{report}");
    let hub = &report["cpu"]["hub"];
    let hub_cpu_s = hub["user_s"].as_f64().unwrap() + hub["system_s"].as_f64().unwrap();
    let per_million = report["hub_cpu_s_per_million"]
        .as_f64()
        .expect("the spawned peer's CPU per delivery");
    assert!(
        (per_million - hub_cpu_s * 1e6 / 2000.0).abs() < 1e-6,
        "{report}"
    );
}

#[test]
fn idle_connections_join_and_stay_open() {
    // Held 2 s once open: pings answered, or they would be dropped.
    let report = run("idle", &["--clients", "50", "--settle", "1", "--hold", "1"]);
    assert_eq!(report["protocol"], "socketio", "{report}");
    assert_eq!(report["room"], "idle", "{report}");
    assert_eq!(report["opened"], 50, "{report}");
    assert_eq!(report["failed"], 0, "{report}");
    assert_eq!(report["closed_early"], 0, "{report}");
    let before = report["hub_rss_before_kib"].as_u64().unwrap();
    let after = report["hub_rss_after_kib"].as_u64().unwrap();
    assert!(before > 0 && after >= before, "{report}");
}

#[test]
fn handshakes_reach_the_connect_answer() {
    let report = run("handshake", &["--concurrency", "4", "--duration", "1"]);
    assert_eq!(report["protocol"], "socketio", "{report}");
    let sessions = report["sessions"].as_u64().unwrap();
    assert!(sessions > 50, "{report}");
    assert_eq!(report["failures"], serde_json::json!({}), "{report}");
    assert_eq!(report["latency"]["count"], sessions, "{report}");
}

fn assert_every_echo_answered(report: &Value) {
    assert_eq!(report["settings"]["protocol"], "socketio", "{report}");
    assert_eq!(report["clients"], 5, "{report}");
    assert_eq!(report["sent"], 500, "{report}");
    assert_eq!(report["answered"], 500, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["duplicates"], 0, "{report}");
    assert_eq!(report["other_messages"], 0, "{report}");
    assert_eq!(report["disconnected"], 0, "{report}");
    assert_eq!(report["latency"]["count"], 500, "{report}");
}

/// 5 clients × 50 msg/s for 2 s: longer than the peer's patience.
const ECHO: [&str; 8] = [
    "--clients",
    "5",
    "--rate",
    "50",
    "--duration",
    "2",
    "--warmup",
    "0",
];

#[test]
fn echo_relays_are_acked() {
    let mut args = ECHO.to_vec();
    args.extend(["--mode", "relay"]);
    assert_every_echo_answered(&run("echo", &args));
}

#[test]
fn echo_pings_are_acked() {
    let mut args = ECHO.to_vec();
    args.extend(["--mode", "ping"]);
    assert_every_echo_answered(&run("echo", &args));
}

/// The runs above prove something about pings only if the peer does drop
/// a client that leaves them unanswered: one that stops reading is gone
/// once its pong is a second late.
#[tokio::test]
async fn the_peer_drops_a_client_that_does_not_answer_pings() {
    let mut line = vec!["--spawn-hub", common::PEER_EXE, "--protocol", "socketio"];
    line.extend(FAST_PINGS);
    let args: HubUnderTestArgs = common::parse(&line);
    let hub = HubUnderTest::start(&args).await.expect("the peer starts");
    let endpoint = hub.endpoint_as("silent").await.unwrap();
    let open = async {
        let mut ws = LeanWs::open(&endpoint, None, 1024).await?;
        ws.join("idle", 0).await?;
        Ok::<_, switchboard_bench::Error>(ws)
    };
    let mut ws = tokio::time::timeout(Duration::from_secs(10), open)
        .await
        .expect("connects and joins in time")
        .expect("connects and joins");
    // Not reading: its pings go unanswered.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // Reading answers the pings that wait, too late: the peer has closed.
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Status::Open) = ws.read_batch(|_, _| {}).await {}
    })
    .await;
    hub.stop().await;
    assert!(ended.is_ok(), "the peer kept a client that did not answer");
}
