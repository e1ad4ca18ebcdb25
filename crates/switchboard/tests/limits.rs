//! Limits of PROTOCOL.md section 7 and the close codes they use.

mod common;

use std::time::Duration;

use common::{Ended, RawWsClient, TestServer, WsClient};
use serde_json::json;
use switchboard::{DisconnectReason, HandlerError, Hub, RateLimit, SendError};
use tokio::sync::mpsc;

#[tokio::test]
async fn slow_consumer_is_closed_with_4001_while_others_keep_receiving() {
    let server = TestServer::start(Hub::builder().send_queue_capacity(8)).await;
    let (mut slow, slow_id) = server.joined_client().await;
    let (mut fast, fast_id) = server.joined_client().await;
    let payload = "x".repeat(32 * 1024);
    // The slow client reads nothing: its TCP buffers fill, its writer
    // blocks, and its queue overflows.
    let mut sent = 0u64;
    let mut overflowed = false;
    for n in 0..100_000u64 {
        match server.hub.send_to(&slow_id, "bulk", &payload) {
            Ok(()) => sent += 1,
            Err(SendError::SlowConsumer) => {
                overflowed = true;
                break;
            }
            Err(other) => panic!("unexpected {other}"),
        }
        // The fast client reads everything it is sent.
        server.hub.send_to(&fast_id, "tick", n).unwrap();
        assert_eq!(fast.recv().await["data"], n);
    }
    assert!(
        overflowed,
        "the queue never overflowed after {sent} messages"
    );
    // Later sends to it are refused at once.
    assert!(server.hub.send_to(&slow_id, "bulk", 1).is_err());
    // Reading now, the slow client gets what was written, then 4001.
    assert_eq!(slow.closed().await, Ended::Close(4001));
    server.hub.send_to(&fast_id, "tick", "after").unwrap();
    assert_eq!(fast.recv().await["data"], "after");
    assert_eq!(server.hub.stats().slow_consumers, 1);
}

#[tokio::test]
async fn oversize_message_closes_with_1009() {
    let server = TestServer::start(Hub::builder().max_message_size(1024)).await;
    let (mut client, _) = server.joined_client().await;
    let big = json!({"event": "x", "data": "y".repeat(2000)});
    client.send(big).await;
    assert_eq!(client.closed().await, Ended::Close(1009));
}

#[tokio::test]
async fn non_utf8_text_closes_with_1007() {
    let server = TestServer::start(Hub::builder()).await;
    let mut raw = RawWsClient::connect(server.addr, "/ws").await;
    raw.send_frame(0x1, &[b'{', 0xff, 0xfe, b'}']).await;
    assert_eq!(raw.read_close_code().await, Some(1007));
}

#[tokio::test]
async fn protocol_violation_closes_with_1002() {
    let server = TestServer::start(Hub::builder()).await;
    let mut raw = RawWsClient::connect(server.addr, "/ws").await;
    // RSV1 set without a negotiated extension.
    raw.send_frame(0x40 | 0x1, b"{}").await;
    assert_eq!(raw.read_close_code().await, Some(1002));
}

#[tokio::test]
async fn connection_limit_answers_503() {
    let server = TestServer::start(Hub::builder().max_connections(2)).await;
    let (_a, _) = server.joined_client().await;
    let (_b, _) = server.joined_client().await;
    assert_eq!(
        WsClient::try_open_with(&server.url(), &[]).await.err(),
        Some(503)
    );
}

#[tokio::test]
async fn slot_is_freed_when_a_client_leaves() {
    let (gone_tx, mut gone) = mpsc::unbounded_channel();
    let server = TestServer::start(Hub::builder().max_connections(1).on_disconnect(
        move |_s, reason| {
            let gone_tx = gone_tx.clone();
            async move {
                let _ = gone_tx.send(reason);
            }
        },
    ))
    .await;
    let (mut a, _) = server.joined_client().await;
    a.close().await;
    assert_eq!(
        common::within("the awaited step", gone.recv())
            .await
            .unwrap(),
        DisconnectReason::ClientClosed(1000)
    );
    // The slot is released as the link ends: retry briefly for the race
    // between the handler and the release.
    let mut connected = None;
    for _ in 0..50 {
        if let Ok(client) = WsClient::try_open_with(&server.url(), &[]).await {
            connected = Some(client);
            break;
        }
        tokio::task::yield_now().await;
    }
    assert!(connected.is_some(), "the freed slot was not reusable");
}

#[tokio::test]
async fn rate_limit_answers_rate_limited_then_closes_with_1008() {
    let server = TestServer::start(
        Hub::builder()
            .rate_limit(RateLimit {
                per_second: 1,
                burst: 3,
            })
            .max_bad_messages(4)
            .on("e", |_s, _: serde_json::Value| async move {
                Ok::<_, HandlerError>(())
            }),
    )
    .await;
    let (mut client, _) = server.joined_client().await;
    for ack in 0..3 {
        assert!(
            client
                .call("e", json!(null), ack)
                .await
                .get("error")
                .is_none()
        );
    }
    client.send(json!({"event": "e"})).await;
    let error = client.recv().await;
    assert_eq!(error["data"]["code"], "rate_limited", "{error}");
    for _ in 0..3 {
        client.send(json!({"event": "e"})).await;
    }
    assert_eq!(client.closed().await, Ended::Close(1008));
}

#[tokio::test]
async fn silent_connection_is_dropped_after_ping_interval_plus_timeout() {
    let (gone_tx, mut gone) = mpsc::unbounded_channel();
    let server = TestServer::start(
        Hub::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100))
            // The dropped session then waits briefly for a resume, and ends.
            .resume_window(Duration::from_millis(50))
            .on_disconnect(move |_s, reason| {
                let gone_tx = gone_tx.clone();
                async move {
                    let _ = gone_tx.send(reason);
                }
            }),
    )
    .await;
    // A library client answers pings (tungstenite replies while reading),
    // so it must be read the whole time.
    let (alive, alive_id) = server.joined_client().await;
    let reader = tokio::spawn(async move {
        let mut alive = alive;
        // Nothing but pings arrives; a dropped link would fail `recv`.
        tokio::time::timeout(Duration::from_millis(600), alive.recv())
            .await
            .is_err()
    });
    // A raw client never answers pings nor sends anything.
    let _raw = RawWsClient::connect(server.addr, "/ws").await;
    let started = tokio::time::Instant::now();
    let reason = tokio::time::timeout(common::WAIT, gone.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reason, DisconnectReason::HeartbeatTimeout);
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "dropped too early"
    );
    assert!(
        reader.await.unwrap(),
        "the live client received an unexpected message"
    );
    assert!(
        server.hub.socket(&alive_id).is_some(),
        "a live client must not be dropped"
    );
}

#[tokio::test]
async fn the_inbound_queue_capacity_bounds_what_waits_for_the_handlers() {
    // A handler that waits for a go: the events behind it wait in the
    // socket's inbound queue, and past its capacity the hub stops reading
    // the socket, so a `$ping` sent after them is not answered until the
    // handler moves on.
    for (capacity, answered_at_once) in [(1, false), (64, true)] {
        let go = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
        let hub = Hub::builder()
            .inbound_queue_capacity(capacity)
            .on("slow", {
                let go = go.clone();
                move |_socket, _: serde_json::Value| {
                    let go = go.clone();
                    async move {
                        go.acquire().await.expect("open").forget();
                        Ok::<_, HandlerError>(())
                    }
                }
            })
            .build();
        let server = TestServer::start_hub(hub).await;
        let mut client = server.client().await;
        assert_eq!(client.recv().await["event"], "$welcome");
        for _ in 0..4 {
            client.send(json!({"event": "slow"})).await;
        }
        client.send(json!({"event": "$ping"})).await;
        // Waiting long for the answer that must come, briefly for the one
        // that must not (it cannot come early by accident).
        let wait = if answered_at_once { 5_000 } else { 400 };
        let pong = tokio::time::timeout(Duration::from_millis(wait), client.recv()).await;
        assert_eq!(
            pong.is_ok(),
            answered_at_once,
            "capacity {capacity}: {pong:?}"
        );
        go.add_permits(4);
        if !answered_at_once {
            assert_eq!(client.recv().await["event"], "$pong", "answered once read");
        }
    }
}
