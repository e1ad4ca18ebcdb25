//! Attacks 1 and 4: what sessions waiting for a resume hold.
//!
//! Attack 1: sessions whose links dropped, in a room that then receives
//! 1,000 relayed 65,000-byte messages, used to keep all of them (+138 MiB
//! for two sessions). A resume buffer now keeps at most
//! `--resume-buffer-bytes` (default 1 MiB) of payload; a resume from before
//! its oldest message gets a new session.
//!
//! Attack 4: 2,000 rounds of connect / join 50 rooms / TCP reset used to
//! leave 2,000 sessions and 100,000 memberships for the resume window. Now
//! `--max-detached-sessions` and `--detached-budget` bound them: the oldest
//! detached sessions end first (counted in
//! `switchboard_detached_sessions_evicted_total`).

use serde_json::{Value, json};

use crate::common::{WsClient, within};
use crate::support::{AttackedServer, eventually_async};

/// A WebSocket session: the client and its `$welcome` data.
async fn connect(target: &AttackedServer, query: &str) -> (WsClient, Value) {
    let mut client = WsClient::open(&format!("ws://{}/ws{query}", target.addr)).await;
    let welcome = client.recv().await;
    assert_eq!(welcome["event"], "$welcome", "{welcome}");
    (client, welcome["data"].clone())
}

/// Sends `messages` in one frame and reads until the reply to `last_ack`.
async fn batch_and_wait(client: &mut WsClient, messages: Vec<Value>, last_ack: u64) {
    client.send(Value::Array(messages)).await;
    while client.recv().await["reply"] != last_ack {}
}

const MESSAGES: u64 = 1000;
const MESSAGE_BYTES: usize = 65_000;

#[tokio::test]
async fn resume_buffers_are_bounded_in_bytes() {
    let target = AttackedServer::start(&[]).await;
    let join = |ack: u64| json!({"event": "$join", "data": {"room": "hot"}, "ack": ack});
    // Two sessions join the room and drop their links without a close.
    let mut victims = Vec::new();
    for _ in 0..2 {
        let (mut ws, welcome) = connect(&target, "").await;
        batch_and_wait(&mut ws, vec![join(1)], 1).await;
        ws.reset();
        victims.push(welcome);
    }
    eventually_async("two detached sessions", || async {
        target.metric_f64("switchboard_detached_sessions").await == 2.0
    })
    .await;
    // A connected reader that reads everything, and the sender.
    let (mut reader, _) = connect(&target, "").await;
    batch_and_wait(&mut reader, vec![join(1)], 1).await;
    let mut sender = WsClient::connect_at(target.addr, "/ws").await;
    sender.join("hot").await;
    let reading = tokio::spawn(async move {
        for _ in 0..MESSAGES {
            let message = reader.recv().await;
            assert_eq!(message["room"], "hot", "{message}");
        }
        reader
    });
    let payload = "x".repeat(MESSAGE_BYTES - 100);
    for n in 0..MESSAGES {
        sender
            .send(json!({"event": "big", "data": payload, "room": "hot", "ack": 100 + n}))
            .await;
        if n % 100 == 0 {
            target.assert_served().await;
        }
    }
    let mut acked = 0;
    while acked < MESSAGES {
        if sender.recv().await.get("reply").is_some() {
            acked += 1;
        }
    }
    let reader = within("the reader's 1,000 messages", reading)
        .await
        .unwrap();

    // Each detached session holds at most 1 MiB of payload, plus its one
    // membership.
    let held = target.metric_f64("switchboard_detached_bytes").await;
    assert!(held <= 2.0 * (1024.0 * 1024.0 + 200.0), "held {held}");
    assert!(held >= 2.0 * (1024.0 * 1024.0 - 2.0 * MESSAGE_BYTES as f64));
    target.assert_growth_below(
        "1,000 relays of 65,000 bytes to detached sessions",
        24 * 1024,
    );

    // Numbers: 1 is the join's reply, 2..=1001 the relays; the last 16
    // (16 x ~65 KB fit in 1 MiB) are kept. A resume from the start gets a
    // new session; one from within the kept range gets what it missed.
    let (ws, welcome) = connect(
        &target,
        &format!("?resume={}&last=1", victims[0]["session"].as_str().unwrap()),
    )
    .await;
    assert_eq!(welcome["resumed"], false, "{welcome}");
    assert_ne!(welcome["id"], victims[0]["id"]);
    drop(ws);
    let (mut ws, welcome) = connect(
        &target,
        &format!(
            "?resume={}&last=991",
            victims[1]["session"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(welcome["missed"], 10, "{welcome}");
    for _ in 0..10 {
        let message = ws.recv().await;
        assert_eq!(message["data"].as_str().map(str::len), Some(payload.len()));
    }
    drop((ws, reader));
    target.assert_served().await;
}

const ROUNDS: usize = 2000;
const ROOMS_PER_ROUND: usize = 50;
const WORKERS: usize = 8;

/// `ROUNDS` of connect / join 50 rooms (each its own name) / TCP reset,
/// by `WORKERS` clients at once.
async fn churn(target: &AttackedServer) {
    let addr = target.addr;
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            tokio::spawn(async move {
                for round in (worker..ROUNDS).step_by(WORKERS) {
                    let mut ws = WsClient::open(&format!("ws://{addr}/ws")).await;
                    let joins: Vec<Value> = (0..ROOMS_PER_ROUND)
                        .map(|k| {
                            json!({"event": "$join", "data": {"room": format!("c{round}-{k}")}, "ack": k})
                        })
                        .collect();
                    batch_and_wait(&mut ws, joins, ROOMS_PER_ROUND as u64 - 1).await;
                    ws.reset();
                }
            })
        })
        .collect();
    let attack = async {
        for worker in workers {
            worker.await.expect("a churning worker");
        }
    };
    let served = async {
        for _ in 0..5 {
            target.assert_served().await;
        }
    };
    // ~10 s on a debug build: longer than one awaited event may take.
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        tokio::join!(attack, served)
    })
    .await
    .expect("2,000 rounds of connect, join, reset within a minute");
}

#[tokio::test]
async fn detached_sessions_are_bounded_in_number() {
    let target =
        AttackedServer::start(&["--max-connections", "50", "--max-detached-sessions", "500"]).await;
    churn(&target).await;
    eventually_async(
        "every reset link seen and the oldest sessions ended",
        || async {
            target
                .metric_f64("switchboard_detached_sessions_evicted_total")
                .await
                >= (ROUNDS - 500) as f64
        },
    )
    .await;
    assert_eq!(
        target.metric_f64("switchboard_detached_sessions").await,
        500.0
    );
    // Sessions: the 500 detached ones (the probes' are gone).
    assert!(target.metric_f64("switchboard_sessions").await <= 502.0);
    // Each round's rooms are its own: rooms are memberships here.
    let rooms = target.metric_f64("switchboard_rooms").await;
    assert!(rooms <= (500 * ROOMS_PER_ROUND + 2) as f64, "{rooms} rooms");
    target.assert_served().await;
    target.assert_growth_below("2,000 detached sessions with 50 rooms each", 32 * 1024);
}

#[tokio::test]
async fn detached_sessions_are_bounded_in_bytes() {
    let target =
        AttackedServer::start(&["--max-connections", "50", "--detached-budget", "1MiB"]).await;
    churn(&target).await;
    // 50 memberships of a ~8-byte name count ~6.8 KB: ~150 sessions fit.
    eventually_async(
        "every reset link seen and the oldest sessions ended",
        || async {
            let detached = target.metric_f64("switchboard_detached_sessions").await;
            let evicted = target
                .metric_f64("switchboard_detached_sessions_evicted_total")
                .await;
            detached + evicted >= ROUNDS as f64
        },
    )
    .await;
    let held = target.metric_f64("switchboard_detached_bytes").await;
    assert!(held <= 1024.0 * 1024.0, "{held} bytes held");
    let detached = target.metric_f64("switchboard_detached_sessions").await;
    assert!((100.0..=160.0).contains(&detached), "{detached} detached");
    let rooms = target.metric_f64("switchboard_rooms").await;
    assert!(
        rooms <= 160.0 * ROOMS_PER_ROUND as f64 + 2.0,
        "{rooms} rooms"
    );
    target.assert_served().await;
    target.assert_growth_below("2,000 detached sessions under a 1 MiB budget", 32 * 1024);
}
