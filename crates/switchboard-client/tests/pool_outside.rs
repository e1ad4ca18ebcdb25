#![allow(clippy::print_stderr)]
//! The outbound pool against outside servers: Python `websockets` feed
//! servers (`tests/outside/pool_feed_server.py`) started by the test. With
//! `CI=true` a missing Python or `websockets` is a failure; elsewhere the
//! test is skipped with the reason.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchboard_client::pool::{ConnectionOptions, Frame, Pool, PoolEvent, PoolEvents};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(15);

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/outside/pool_feed_server.py")
}

async fn python_ready() -> Result<String, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import websockets.asyncio.server"])
        .output()
        .await
        .map_err(|e| format!("{python} cannot run: {e}"))?;
    if !probe.status.success() {
        return Err(format!(
            "{python} has no `websockets` 13+ (pip install -r tests/outside/requirements.txt)"
        ));
    }
    Ok(python)
}

/// Python, or `None` when the test is to be skipped.
async fn python() -> Option<String> {
    match python_ready().await {
        Ok(python) => Some(python),
        Err(reason) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("skipped: {reason}");
            None
        }
        Err(reason) => panic!("{reason}"),
    }
}

/// A running feed server process; killed when dropped.
struct FeedServer {
    child: Child,
    port: u16,
}

impl FeedServer {
    async fn start(python: &str, port: u16) -> Self {
        let mut child = Command::new(python)
            .arg(script())
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start the feed server");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("the feed server did not start in time")
            .unwrap()
            .expect("the feed server exited");
        let port = line
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line `{line}`"));
        Self { child, port }
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}/", self.port)
    }

    /// Kills the process (SIGKILL: a crash, no close frames).
    async fn kill(mut self) -> u16 {
        self.child.kill().await.unwrap();
        self.port
    }
}

async fn next(events: &mut PoolEvents) -> PoolEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("no pool event in time")
        .expect("the pool stream ended")
}

fn subscribing(name: &'static str, count: usize, calls: Arc<AtomicUsize>) -> ConnectionOptions {
    ConnectionOptions::new()
        .reconnect_delay(Duration::from_millis(20), Duration::from_millis(200))
        .on_connect(move |sender| {
            let calls = calls.clone();
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                sender.send(Frame::text(format!("subscribe {name} {count}")))?;
                Ok(())
            }
        })
}

/// Reads until `count` frames of `id` arrived; returns their texts.
/// Frames of other connections and state events are ignored.
async fn frames_of(events: &mut PoolEvents, id: &str, count: usize) -> Vec<String> {
    let mut texts = Vec::new();
    while texts.len() < count {
        if let PoolEvent::Frame { id: from, frame } = next(events).await
            && &*from == id
        {
            texts.push(frame.as_text().unwrap().to_owned());
        }
    }
    texts
}

fn expected(name: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{name}:{i}")).collect()
}

#[tokio::test]
async fn python_feeds_aggregate_survive_a_crash_and_echo() {
    let Some(python) = python().await else { return };
    let a = FeedServer::start(&python, 0).await;
    let b = FeedServer::start(&python, 0).await;
    let calls_a = Arc::new(AtomicUsize::new(0));
    let (pool, mut events) = Pool::new();
    pool.add_with("a", &a.url(), subscribing("a", 50, calls_a.clone()))
        .unwrap();
    pool.add_with("b", &b.url(), subscribing("b", 50, Arc::default()))
        .unwrap();

    // Both feeds arrive on one stream, each in order under its id.
    let mut a_frames = Vec::new();
    let mut b_frames = Vec::new();
    while a_frames.len() < 50 || b_frames.len() < 50 {
        if let PoolEvent::Frame { id, frame } = next(&mut events).await {
            let text = frame.as_text().unwrap().to_owned();
            match &*id {
                "a" => a_frames.push(text),
                "b" => b_frames.push(text),
                other => panic!("frame from {other}"),
            }
        }
    }
    assert_eq!(a_frames, expected("a", 50));
    assert_eq!(b_frames, expected("b", 50));

    // Binary frames pass through the outside server unchanged.
    pool.send("b", Frame::binary(vec![0u8, 159, 146, 150]))
        .unwrap();
    loop {
        if let PoolEvent::Frame { id, frame } = next(&mut events).await {
            assert_eq!(&*id, "b");
            assert_eq!(frame, Frame::binary(vec![0u8, 159, 146, 150]));
            break;
        }
    }

    // `a` crashes: its state changes appear, `b` keeps working.
    let port = a.kill().await;
    let mut saw_disconnected = false;
    loop {
        match next(&mut events).await {
            PoolEvent::Disconnected { id, .. } if &*id == "a" => saw_disconnected = true,
            PoolEvent::Reconnecting { id, .. } if &*id == "a" => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_disconnected);
    pool.send("b", Frame::text("still up")).unwrap();
    assert_eq!(frames_of(&mut events, "b", 1).await, ["still up"]);

    // `a` comes back on the same port: redialed, resubscribed, flowing.
    let _a = FeedServer::start(&python, port).await;
    loop {
        match next(&mut events).await {
            PoolEvent::Connected { id } if &*id == "a" => break,
            PoolEvent::Reconnecting { id, .. } | PoolEvent::Disconnected { id, .. }
                if &*id == "a" => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(frames_of(&mut events, "a", 50).await, expected("a", 50));
    assert_eq!(calls_a.load(Ordering::SeqCst), 2);

    pool.close_all().await;
    let mut removed = 0;
    while let Some(event) = tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
        if matches!(event, PoolEvent::Removed { .. }) {
            removed += 1;
        }
    }
    assert_eq!(removed, 2);
}
