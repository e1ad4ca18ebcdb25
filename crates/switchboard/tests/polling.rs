//! Long-polling (PROTOCOL.md section 6): held polls, every error status,
//! mixed-transport rooms, reaping.

mod common;

use std::time::Duration;

use common::{PollClient, TestServer, http_json};
use serde_json::json;
use switchboard::{CloseCode, DisconnectReason, HandlerError, Hub, HubBuilder};
use tokio::sync::mpsc;

fn hub() -> HubBuilder {
    Hub::builder()
        .max_message_size(1024)
        .on("echo", |_s, data: serde_json::Value| async move {
            Ok::<_, HandlerError>(data)
        })
}

#[tokio::test]
async fn handshake_gives_welcome_and_a_held_get_returns_what_is_queued() {
    let server = TestServer::start(hub()).await;
    let (mut client, messages) = PollClient::open(server.addr, None).await;
    let welcome = &messages[0]["data"];
    assert_eq!(welcome["resumed"], false);
    assert_eq!(server.hub.count(), 1);
    let hub = server.hub.clone();
    let id = client.id.clone();
    let getting = tokio::spawn(async move {
        let (status, messages) = client.get().await;
        (client, status, messages)
    });
    // Let the GET reach the hub first (a GET that comes after the sends
    // answers at once; the held-then-woken path is also exercised by the
    // mixed-room and numbered-stream tests).
    tokio::task::yield_now().await;
    hub.send_to(&id, "hello", json!({"n": 1})).unwrap();
    hub.send_to(&id, "hello", json!({"n": 2})).unwrap();
    let (mut client, status, first) = common::within("the awaited step", getting).await.unwrap();
    assert_eq!(status, 200);
    let mut all = first;
    while all.len() < 2 {
        all.extend(client.next().await);
    }
    assert_eq!(all[0], json!({"event": "hello", "data": {"n": 1}}));
    assert_eq!(all[1], json!({"event": "hello", "data": {"n": 2}}));
}

#[tokio::test]
async fn get_times_out_with_an_empty_array() {
    let server = TestServer::start(hub().poll_timeout(Duration::from_millis(100))).await;
    let (mut client, _) = PollClient::open(server.addr, None).await;
    let started = tokio::time::Instant::now();
    let (status, messages) = client.get().await;
    assert_eq!((status, messages.len()), (200, 0));
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[tokio::test]
async fn posted_messages_get_the_same_checks_and_answers_as_websocket() {
    let server = TestServer::start(hub()).await;
    let (mut client, _) = PollClient::open(server.addr, None).await;
    let (status, _) = client
        .post(r#"[{"event":"echo","data":"a","ack":1},{"event":"$ping"},{"event":"$welcome"},{"event":"$join","data":{"room":"r"},"ack":2}]"#)
        .await;
    assert_eq!(status, 204);
    let mut answers = Vec::new();
    while answers.len() < 4 {
        answers.extend(client.next().await);
    }
    assert!(
        answers.contains(&json!({"reply": 1, "data": "a"})),
        "{answers:?}"
    );
    assert!(answers.contains(&json!({"event": "$pong"})));
    assert!(
        answers
            .iter()
            .any(|m| m["event"] == "$error" && m["data"]["code"] == "bad_message")
    );
    assert!(answers.contains(&json!({"reply": 2, "data": {"room": "r"}})));
    assert_eq!(server.hub.members("r"), vec![client.id.clone()]);
    // A body that is not JSON, or not objects: 400, and the session lives on.
    for bad in ["nope", "[1,2]", "\"text\"", "42"] {
        let (status, body) = client.post(bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"]["message"].as_str().is_some());
    }
    // Over the size limit: 413.
    let big = json!({"event": "echo", "data": "x".repeat(2000)}).to_string();
    let (status, body) = client.post(&big).await;
    assert_eq!(status, 413, "{body}");
    let (status, _) = client
        .post(r#"{"event":"echo","data":"still","ack":3}"#)
        .await;
    assert_eq!(status, 204);
    assert_eq!(client.next().await[0], json!({"reply": 3, "data": "still"}));
}

#[tokio::test]
async fn second_get_is_409_unknown_is_404_delete_ends_the_session() {
    let (gone_tx, mut gone) = mpsc::unbounded_channel();
    let server = TestServer::start(
        hub()
            .poll_timeout(Duration::from_millis(300))
            .on_disconnect(move |_s, reason| {
                let gone_tx = gone_tx.clone();
                async move {
                    let _ = gone_tx.send(reason);
                }
            }),
    )
    .await;
    let (client, _) = PollClient::open(server.addr, None).await;
    let addr = server.addr;
    let path = format!("/ws/poll?sid={}", client.sid);
    // Two GETs at once: one is held, the other conflicts.
    let mut conflict = None;
    for _ in 0..20 {
        let (a, b) = tokio::join!(
            http_json(addr, "GET", &path, ""),
            http_json(addr, "GET", &path, "")
        );
        if let Some(answer) = [a, b].into_iter().find(|(status, _)| *status == 409) {
            conflict = Some(answer.1);
            break;
        }
    }
    let conflict = conflict.expect("two concurrent GETs never conflicted");
    assert_eq!(conflict["error"]["code"], "poll_in_progress");
    // The session is still open after a 409.
    let held = tokio::spawn({
        let path = path.clone();
        async move { http_json(addr, "GET", &path, "").await }
    });
    let (status, _) = http_json(addr, "DELETE", &path, "").await;
    assert_eq!(status, 204);
    assert_eq!(
        common::within("the awaited step", gone.recv())
            .await
            .unwrap(),
        DisconnectReason::ClientClosed(1000)
    );
    let (status, _) = common::within("the awaited step", held).await.unwrap();
    assert!(
        status == 404 || status == 200,
        "the held GET ends: {status}"
    );
    for method in ["GET", "POST", "DELETE"] {
        let (status, body) = http_json(addr, method, &path, "{}").await;
        assert_eq!(status, 404, "{method}: {body}");
        assert_eq!(body["error"]["code"], "unknown_session");
    }
    let (status, _) = http_json(addr, "GET", "/ws/poll", "").await;
    assert_eq!(status, 400);
    let (status, _) = http_json(addr, "PUT", "/ws/poll", "").await;
    assert_eq!(status, 405);
    let (status, _) = http_json(addr, "POST", "/ws/poll", "{\"resume\": 5}").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn kicked_session_answers_410_once_then_404() {
    let server = TestServer::start(hub()).await;
    let (mut client, _) = PollClient::open(server.addr, None).await;
    server.hub.send_to(&client.id, "before", 1).unwrap();
    assert!(server.hub.disconnect(&client.id, CloseCode::Kicked));
    // What was queued before the kick is still delivered.
    let (status, messages) = client.get().await;
    assert_eq!(
        (status, messages[0]["event"].clone()),
        (200, json!("before"))
    );
    let (status, messages) = client.get().await;
    assert_eq!(status, 410);
    assert_eq!(messages[0]["error"]["code"], "kicked");
    let (status, _) = client.get().await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn shutdown_answers_410_shutdown() {
    let server = TestServer::start(hub()).await;
    let (mut client, _) = PollClient::open(server.addr, None).await;
    let hub = server.hub.clone();
    let stopping = tokio::spawn(async move { hub.shutdown().await });
    let (status, messages) = client.get().await;
    assert_eq!(status, 410, "{messages:?}");
    assert_eq!(messages[0]["error"]["code"], "shutdown");
    common::within("the awaited step", stopping).await.unwrap();
    let (status, _) = http_json(server.addr, "POST", "/ws/poll", "").await;
    assert_eq!(status, 503);
}

#[tokio::test]
async fn abandoned_session_is_reaped_and_disconnect_fires_once() {
    let (gone_tx, mut gone) = mpsc::unbounded_channel();
    let server = TestServer::start(
        hub()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100))
            .resume_window(Duration::from_millis(100))
            .on_disconnect(move |socket, reason| {
                let gone_tx = gone_tx.clone();
                async move {
                    let _ = gone_tx.send((socket.id().to_owned(), reason));
                }
            }),
    )
    .await;
    let started = tokio::time::Instant::now();
    let (client, _) = PollClient::open(server.addr, None).await;
    let (id, reason) = common::within("the awaited step", gone.recv())
        .await
        .unwrap();
    assert_eq!(id, client.id);
    assert_eq!(reason, DisconnectReason::HeartbeatTimeout);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "reaped too early"
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), gone.recv())
            .await
            .is_err()
    );
    assert_eq!(server.hub.session_count(), 0);
}

#[tokio::test]
async fn websocket_and_long_polling_clients_talk_both_ways_in_a_room() {
    let server = TestServer::start(hub()).await;
    let (mut ws, ws_id) = server.joined_client().await;
    let (mut poll, _) = PollClient::open(server.addr, None).await;
    ws.call("$join", json!({"room": "mix"}), 1).await;
    poll.post(r#"{"event":"$join","data":{"room":"mix"},"ack":1}"#)
        .await;
    assert_eq!(poll.next().await[0]["reply"], 1);
    // Long-polling -> WebSocket.
    let (status, _) = poll
        .post(r#"{"event":"chat","data":"from poll","room":"mix"}"#)
        .await;
    assert_eq!(status, 204);
    assert_eq!(
        ws.recv().await,
        json!({"event": "chat", "data": "from poll", "room": "mix", "from": poll.id})
    );
    // WebSocket -> long-polling.
    ws.send(json!({"event": "chat", "data": "from ws", "room": "mix"}))
        .await;
    assert_eq!(
        poll.next().await[0],
        json!({"event": "chat", "data": "from ws", "room": "mix", "from": ws_id})
    );
    // A broadcast reaches both.
    assert_eq!(server.hub.to("mix").emit("all", 1).unwrap(), 2);
    assert_eq!(ws.recv().await["event"], "all");
    assert_eq!(poll.next().await[0]["event"], "all");
}

#[tokio::test]
async fn msgpack_long_polling_uses_binary_bodies() {
    let server = TestServer::start(hub()).await;
    let response = common::http(
        server.addr,
        "POST",
        "/ws/poll?codec=msgpack",
        &[("Content-Type", "application/json")],
        b"",
    )
    .await;
    let (status, body) = (response.status, response.body);
    assert_eq!(status, 200);
    let messages = switchboard::Codec::MsgPack.decode(&body).unwrap();
    let welcome = messages[0].as_ref().unwrap();
    assert_eq!(welcome.event.as_deref(), Some("$welcome"));
}
