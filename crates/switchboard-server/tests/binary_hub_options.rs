//! The `switchboard` binary: the hub's own options (issue 17) take effect
//! over real sockets, whichever source sets them (a flag, an environment
//! variable or a config file), and bad values from the environment stop
//! start-up naming the variable.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::config_file::config_file;
use common::{
    Binary, WsClient, command, eventually_async, get, http, publish, raw_handshake, run_to_end,
    within,
};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

async fn stats(addr: SocketAddr) -> Value {
    get(addr, "/api/stats").await.json()
}

/// Publishes `count` events of `size` bytes to one socket through the HTTP
/// API (answered at once, whatever becomes of them).
async fn flood(addr: SocketAddr, to: &str, count: usize, size: usize) {
    let body = json!({"event": "bulk", "data": "x".repeat(size), "to": to}).to_string();
    for _ in 0..count {
        assert_eq!(publish(addr, &body).await.status, 200);
    }
}

/// `--message-rate-per-socket` and its burst from the environment,
/// `--max-bad-messages` as a flag: the burst passes, then each message is
/// answered `rate_limited`, and the third in a row closes with 1008.
#[tokio::test]
async fn message_rate_and_bad_message_limit() {
    let mut cmd = command(&["--listen", "127.0.0.1:0", "--max-bad-messages", "3"]);
    cmd.env("SWITCHBOARD_MESSAGE_RATE_PER_SOCKET", "1")
        .env("SWITCHBOARD_MESSAGE_BURST_PER_SOCKET", "2");
    let server = Binary::start(cmd).await;
    let mut c = WsClient::connect_at(server.addr, "/ws").await;
    for _ in 0..2 {
        c.send(json!({"event": "$ping"})).await;
        assert_eq!(c.recv().await["event"], "$pong");
    }
    for _ in 0..3 {
        c.send(json!({"event": "$ping"})).await;
    }
    for _ in 0..3 {
        let error = c.recv().await;
        assert_eq!(error["event"], "$error", "{error}");
        assert_eq!(error["data"]["code"], "rate_limited", "{error}");
    }
    assert_eq!(c.close_code().await, 1008);

    // Without a rate (the default), the same pings all pass.
    let server = Binary::start(command(&["--listen", "127.0.0.1:0"])).await;
    let mut c = WsClient::connect_at(server.addr, "/ws").await;
    for _ in 0..5 {
        c.send(json!({"event": "$ping"})).await;
    }
    for _ in 0..5 {
        assert_eq!(c.recv().await["event"], "$pong");
    }
}

/// `max_bad_messages` in a config file: the second bad message in a row
/// closes with 1008 (the default would answer ten).
#[tokio::test]
async fn bad_message_limit_from_a_file() {
    let file = config_file("listen = \"127.0.0.1:0\"\nmax_bad_messages = 2\n");
    let server = Binary::start(command(&["--config", file.path()])).await;
    let mut c = WsClient::connect_at(server.addr, "/ws").await;
    c.send_text("not json").await;
    assert_eq!(c.recv().await["data"]["code"], "bad_message");
    c.send_text("{\"no\":\"event\"}").await;
    assert_eq!(c.recv().await["data"]["code"], "bad_message");
    assert_eq!(c.close_code().await, 1008);
}

/// `send_queue_capacity` in a config file: a client that reads nothing is
/// closed with 4001 once its TCP buffers and 8 queued messages are full,
/// long before the default 1,024 messages.
#[tokio::test]
async fn send_queue_capacity_closes_a_slow_consumer() {
    let file =
        config_file("listen = \"127.0.0.1:0\"\nsend_queue_capacity = 8\ncompression = false\n");
    let server = Binary::start(command(&["--config", file.path()])).await;
    let mut slow = WsClient::connect_at(server.addr, "/ws").await;
    let id = slow.id.clone();
    // 600 x 64 KiB (38 MiB): more than loopback buffers hold, fewer
    // messages than the default queue.
    let sent = 600;
    flood(server.addr, &id, sent, 64 * 1024).await;
    eventually_async("the slow consumer to be counted", || async {
        stats(server.addr).await["slow_consumers"] == 1
    })
    .await;
    // Reading now: what was written, then 4001.
    let mut received = 0;
    let ended = within("the slow consumer's close", async {
        loop {
            match slow.ws.next().await {
                Some(Ok(Message::Text(_))) => received += 1,
                Some(Ok(Message::Close(frame))) => {
                    return frame.map(|f| u16::from(f.code));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("{e}"),
                None => return None,
            }
        }
    })
    .await;
    assert_eq!(ended, Some(4001));
    assert!(received < sent, "{received} of {sent} arrived");
}

/// `--write-timeout` as a flag: a client that reads nothing blocks its
/// writer, and after the timeout its link counts as dropped (no 4001: the
/// queue is large enough).
#[tokio::test]
async fn write_timeout_drops_a_blocked_link() {
    let server = Binary::start(command(&[
        "--listen",
        "127.0.0.1:0",
        "--write-timeout",
        "300ms",
        "--send-queue-capacity",
        "100000",
        "--resume-window",
        "0",
        "--compression",
        "false",
    ]))
    .await;
    let blocked = WsClient::connect_at(server.addr, "/ws").await;
    assert_eq!(stats(server.addr).await["connections"], 1);
    flood(server.addr, &blocked.id, 600, 64 * 1024).await;
    // The default (10 s) would outlast this wait.
    eventually_async("the blocked link to be dropped", || async {
        stats(server.addr).await["connections"] == 0
    })
    .await;
    assert_eq!(stats(server.addr).await["slow_consumers"], 0);
    drop(blocked);
}

/// `--shutdown-timeout` from the environment: a client that never answers
/// the close holds a stop for the close handshake's own 2 s grace by
/// default; with 200 ms the server exits sooner.
#[tokio::test]
async fn shutdown_timeout_bounds_a_stop() {
    async fn stop_time(env: &[(&str, &str)]) -> Duration {
        let mut cmd = command(&["--listen", "127.0.0.1:0"]);
        for (name, value) in env {
            cmd.env(name, value);
        }
        let mut server = Binary::start(cmd).await;
        // Upgraded, then silent: it reads nothing and answers nothing.
        let (status, _, _silent) = raw_handshake(server.addr, "/ws", &[]).await;
        assert_eq!(status, 101);
        let started = Instant::now();
        server.terminate();
        assert_eq!(server.wait().await.code(), Some(0));
        started.elapsed()
    }
    let default = stop_time(&[]).await;
    assert!(default >= Duration::from_millis(1900), "{default:?}");
    let short = stop_time(&[("SWITCHBOARD_SHUTDOWN_TIMEOUT", "200ms")]).await;
    assert!(short < Duration::from_millis(1500), "{short:?}");
}

/// `poll_timeout` in a config file: an empty long-polling `GET` is answered
/// after it (the default 25 s would outlast this test's waits).
#[tokio::test]
async fn poll_timeout_answers_an_empty_get() {
    let file = config_file("listen = \"127.0.0.1:0\"\npoll_timeout = \"300ms\"\n");
    let server = Binary::start(command(&["--config", file.path()])).await;
    let json = [("Content-Type", "application/json")];
    let opened = http(server.addr, "POST", "/ws/poll", &json, b"").await;
    assert_eq!(opened.status, 200);
    let sid = opened.json()[0]["data"]["session"]
        .as_str()
        .unwrap()
        .to_owned();
    let started = Instant::now();
    let held = http(server.addr, "GET", &format!("/ws/poll?sid={sid}"), &[], b"").await;
    assert_eq!(held.status, 200);
    assert_eq!(held.json(), json!([]));
    assert!(started.elapsed() >= Duration::from_millis(300));
}

/// Opens a WebSocket and returns its `$welcome` data and the client.
async fn welcome_of(url: String) -> (Value, WsClient) {
    let mut client = WsClient::open(&url).await;
    let welcome = client.recv().await;
    assert_eq!(welcome["event"], "$welcome", "{welcome}");
    (welcome["data"].clone(), client)
}

/// `SWITCHBOARD_RESUME_BUFFER_MESSAGES`: a session keeps its last 2
/// messages, so a resume missing 2 continues and one missing 5 gets a new
/// session; 0 turns resume off.
#[tokio::test]
async fn resume_buffer_messages_bounds_what_a_resume_gets() {
    let mut cmd = command(&["--listen", "127.0.0.1:0"]);
    cmd.env("SWITCHBOARD_RESUME_BUFFER_MESSAGES", "2");
    let server = Binary::start(cmd).await;
    let url = format!("ws://{}/ws", server.addr);
    let (welcome, mut ws) = welcome_of(url.clone()).await;
    let (id, token) = (
        welcome["id"].as_str().unwrap(),
        welcome["session"].as_str().unwrap(),
    );
    for n in 1..=5 {
        let body = json!({"event": "n", "data": n, "to": id}).to_string();
        assert_eq!(publish(server.addr, &body).await.status, 200);
        assert_eq!(ws.recv().await["data"], n);
    }
    ws.reset();
    // Missing 4 and 5: both kept.
    let resume = |last: u32| format!("{url}?resume={token}&last={last}");
    let (again, mut ws) = welcome_of(resume(3)).await;
    assert_eq!(again["resumed"], true, "{again}");
    assert_eq!(again["missed"], 2);
    assert_eq!(ws.recv().await["data"], 4);
    assert_eq!(ws.recv().await["data"], 5);
    ws.reset();
    // Missing 1 to 5: 1 to 3 are gone.
    let (again, _ws) = welcome_of(resume(0)).await;
    assert_eq!(again["resumed"], false, "{again}");

    let mut cmd = command(&["--listen", "127.0.0.1:0"]);
    cmd.env("SWITCHBOARD_RESUME_BUFFER_MESSAGES", "0");
    let server = Binary::start(cmd).await;
    let url = format!("ws://{}/ws", server.addr);
    let (welcome, ws) = welcome_of(url.clone()).await;
    ws.reset();
    let token = welcome["session"].as_str().unwrap();
    let (again, _ws) = welcome_of(format!("{url}?resume={token}&last=0")).await;
    assert_eq!(again["resumed"], false, "{again}");
}

/// Every new option read from its environment variable: a bad value stops
/// start-up naming the flag and the variable.
#[tokio::test]
async fn bad_environment_values_name_the_variable() {
    for (env, value, flag) in [
        ("SWITCHBOARD_WRITE_TIMEOUT", "0s", "--write-timeout"),
        (
            "SWITCHBOARD_SEND_QUEUE_CAPACITY",
            "0",
            "--send-queue-capacity",
        ),
        (
            "SWITCHBOARD_INBOUND_QUEUE_CAPACITY",
            "0",
            "--inbound-queue-capacity",
        ),
        (
            "SWITCHBOARD_MESSAGE_RATE_PER_SOCKET",
            "fast",
            "--message-rate-per-socket",
        ),
        (
            "SWITCHBOARD_MESSAGE_BURST_PER_SOCKET",
            "0",
            "--message-burst-per-socket",
        ),
        ("SWITCHBOARD_MAX_BAD_MESSAGES", "0", "--max-bad-messages"),
        ("SWITCHBOARD_SHUTDOWN_TIMEOUT", "0", "--shutdown-timeout"),
        (
            "SWITCHBOARD_RESUME_BUFFER_MESSAGES",
            "-1",
            "--resume-buffer-messages",
        ),
        ("SWITCHBOARD_POLL_TIMEOUT", "1m", "--poll-timeout"),
    ] {
        let mut cmd = command(&["--listen", "127.0.0.1:0"]);
        cmd.env(env, value);
        let output = run_to_end(cmd).await;
        assert!(!output.status.success(), "{env}={value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("for {flag} (from environment variable {env})")),
            "{env}={value}: {stderr}"
        );
    }
}
