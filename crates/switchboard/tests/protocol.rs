//! PROTOCOL.md sections 2 and 3 over real sockets: welcome, pings, events,
//! acks, batches, `$error` codes.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Ended, TestServer};
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard::{AckError, HandlerError, Hub};

fn echo_hub() -> switchboard::HubBuilder {
    Hub::builder().on("echo", |_s, data: Value| async move {
        Ok::<_, HandlerError>(data)
    })
}

#[tokio::test]
async fn welcome_comes_first_with_every_field() {
    let server = TestServer::start(echo_hub()).await;
    let mut client = server.client().await;
    let welcome = client.recv().await;
    assert_eq!(welcome["event"], "$welcome");
    let data = &welcome["data"];
    let session = data["session"].as_str().unwrap();
    assert!(
        session.len() >= 22
            && session
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
    );
    assert!(!data["id"].as_str().unwrap().is_empty());
    assert_eq!(data["ping_interval_ms"], 25000);
    assert_eq!(data["ping_timeout_ms"], 20000);
    assert_eq!(data["resumed"], false);
    assert_eq!(data["missed"], 0);
    assert_eq!(
        server.hub.list(),
        vec![data["id"].as_str().unwrap().to_owned()]
    );
}

#[tokio::test]
async fn ping_is_answered_with_pong_and_acks_with_replies() {
    let server = TestServer::start(echo_hub()).await;
    let (mut client, _) = server.joined_client().await;
    client.send(json!({"event": "$ping"})).await;
    assert_eq!(client.recv().await, json!({"event": "$pong"}));
    let reply = client.call("echo", json!({"a": [1, 2]}), 7).await;
    assert_eq!(reply, json!({"reply": 7, "data": {"a": [1, 2]}}));
    // No ack asked: no reply; the next ack proves nothing came in between.
    client.send(json!({"event": "echo", "data": 1})).await;
    let reply = client.call("echo", json!(null), 8).await;
    assert_eq!(reply["reply"], 8);
}

#[tokio::test]
async fn event_without_handler_answers_no_handler() {
    let server = TestServer::start(echo_hub()).await;
    let (mut client, _) = server.joined_client().await;
    let reply = client.call("nope", json!(1), 3).await;
    assert_eq!(reply["error"]["code"], "no_handler");
}

#[tokio::test]
async fn bad_messages_get_error_and_connection_stays_open() {
    let server = TestServer::start(echo_hub()).await;
    let (mut client, _) = server.joined_client().await;
    for bad in [
        "not json",
        "42",
        "{\"data\":1}",
        "{\"event\":\"$welcome\"}",
        "{\"event\":\"$error\",\"data\":{}}",
        "{\"event\":\"$pong\"}",
        "{\"event\":\"x\",\"ack\":-1}",
    ] {
        client.send_text(bad).await;
        let error = client.recv().await;
        assert_eq!(error["event"], "$error", "for {bad}: {error}");
        assert_eq!(error["data"]["code"], "bad_message", "for {bad}");
        assert!(!error["data"]["message"].as_str().unwrap().is_empty());
    }
    let reply = client.call("echo", json!("still here"), 1).await;
    assert_eq!(reply["data"], "still here");
    let stats = server.hub.stats();
    assert_eq!(stats.errors.bad_message, 7);
    assert_eq!(stats.messages_in, 8);
    assert!(stats.bytes_in > 100 && stats.bytes_out > 100, "{stats:?}");
}

#[tokio::test]
async fn ten_bad_messages_in_a_row_close_with_1008() {
    let server = TestServer::start(echo_hub()).await;
    let (mut client, _) = server.joined_client().await;
    // Nine, then a good one resets the count.
    for _ in 0..9 {
        client.send_text("garbage").await;
    }
    for _ in 0..9 {
        assert_eq!(client.recv().await["event"], "$error");
    }
    let _ = client.call("echo", json!(0), 1).await;
    for _ in 0..10 {
        client.send_text("garbage").await;
    }
    assert_eq!(client.closed().await, Ended::Close(1008));
}

#[tokio::test]
async fn batch_is_handled_in_order_with_bad_elements_reported() {
    let server = TestServer::start(echo_hub()).await;
    let (mut client, _) = server.joined_client().await;
    client
        .send(json!([
            {"event": "echo", "data": 1, "ack": 1},
            {"event": "$welcome"},
            {"event": "echo", "data": 2, "ack": 2},
            {"event": "$ping"},
            {"event": "echo", "data": 3, "ack": 3}
        ]))
        .await;
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(client.recv().await);
    }
    // `$error` and `$pong` are answered by the connection at once; the
    // handlers' replies keep their order.
    let replies: Vec<_> = seen
        .iter()
        .filter(|m| m.get("reply").is_some())
        .map(|m| m["data"].clone())
        .collect();
    assert_eq!(replies, vec![json!(1), json!(2), json!(3)]);
    assert!(
        seen.iter()
            .any(|m| m["event"] == "$error" && m["data"]["code"] == "bad_message")
    );
    assert!(seen.iter().any(|m| m["event"] == "$pong"));
}

#[derive(Debug, Deserialize)]
struct Move {
    x: i32,
    y: i32,
}

#[tokio::test]
async fn typed_payload_that_does_not_decode_never_reaches_the_handler() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let server = TestServer::start(Hub::builder().on("move", move |_s, m: Move| {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok::<_, HandlerError>(m.x + m.y)
        }
    }))
    .await;
    let (mut client, _) = server.joined_client().await;
    let reply = client.call("move", json!({"x": "left"}), 1).await;
    assert_eq!(reply["error"]["code"], "bad_message");
    assert!(reply["error"]["message"].as_str().unwrap().contains("move"));
    // Without an ack the failure is reported as `$error`.
    client.send(json!({"event": "move", "data": 5})).await;
    assert_eq!(client.recv().await["data"]["code"], "bad_message");
    let reply = client.call("move", json!({"x": 2, "y": 3}), 2).await;
    assert_eq!(reply["data"], 5);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn handler_errors_and_panics_answer_internal_and_keep_running() {
    let (errors_tx, mut errors) = tokio::sync::mpsc::unbounded_channel();
    let server = TestServer::start(
        echo_hub()
            .on("boom", |_s, _: Value| async move {
                if true {
                    panic!("handler exploded");
                }
                Ok::<_, HandlerError>(())
            })
            .on("fail", |_s, _: Value| async move {
                Err::<(), _>(HandlerError::with_code("not_found", "no such thing"))
            })
            .on_error(move |socket, error| {
                let _ = errors_tx.send((socket.id().to_owned(), error.to_string()));
            }),
    )
    .await;
    let (mut client, id) = server.joined_client().await;
    let (mut other, _) = server.joined_client().await;
    let reply = client.call("boom", json!(null), 1).await;
    assert_eq!(reply["error"]["code"], "internal");
    let (who, what) = common::within("the awaited step", errors.recv())
        .await
        .unwrap();
    assert_eq!(who, id);
    assert!(what.contains("handler exploded"), "{what}");
    let reply = client.call("fail", json!(null), 2).await;
    assert_eq!(
        reply["error"],
        json!({"code": "not_found", "message": "no such thing"})
    );
    assert!(
        common::within("the awaited step", errors.recv())
            .await
            .unwrap()
            .1
            .contains("no such thing")
    );
    // Without an ack a panic is reported with `$error` `internal`.
    client.send(json!({"event": "boom"})).await;
    assert_eq!(client.recv().await["data"]["code"], "internal");
    // The socket and the hub keep working.
    assert_eq!(client.call("echo", json!("ok"), 3).await["data"], "ok");
    assert_eq!(other.call("echo", json!("ok"), 1).await["data"], "ok");
}

#[tokio::test]
async fn handlers_run_in_order_per_socket() {
    let server = TestServer::start(Hub::builder().on("step", |_s, n: u64| async move {
        // Earlier steps take longer: order must still hold.
        tokio::time::sleep(Duration::from_millis(20u64.saturating_sub(n * 2))).await;
        Ok::<_, HandlerError>(n)
    }))
    .await;
    let (mut client, _) = server.joined_client().await;
    for n in 0..10 {
        client
            .send(json!({"event": "step", "data": n, "ack": n}))
            .await;
    }
    for n in 0..10 {
        assert_eq!(client.recv().await["data"], n);
    }
}

#[tokio::test]
async fn hub_asks_client_for_ack_and_gets_typed_reply() {
    let server = TestServer::start(echo_hub()).await;
    let (mut client, id) = server.joined_client().await;
    let socket = server.hub.socket(&id).unwrap();
    let asking = tokio::spawn(async move {
        socket
            .emit_with_ack::<String>("question", json!({"q": "name?"}), Duration::from_secs(5))
            .await
    });
    let question = client.recv().await;
    assert_eq!(question["event"], "question");
    let ack = question["ack"].as_u64().unwrap();
    client.send(json!({"reply": ack, "data": "Ada"})).await;
    assert_eq!(asking.await.unwrap().unwrap(), "Ada");

    // An error reply and a timeout.
    let socket = server.hub.socket(&id).unwrap();
    let asking = tokio::spawn(async move {
        socket
            .emit_with_ack::<String>("q2", json!(null), Duration::from_secs(5))
            .await
    });
    let ack = client.recv().await["ack"].as_u64().unwrap();
    client
        .send(json!({"reply": ack, "error": {"code": "nope", "message": "no"}}))
        .await;
    match asking.await.unwrap() {
        Err(AckError::Remote(body)) => assert_eq!(body.code, "nope"),
        other => panic!("expected a remote error, got {other:?}"),
    }
    let socket = server.hub.socket(&id).unwrap();
    let result = socket
        .emit_with_ack::<String>("q3", json!(null), Duration::from_millis(50))
        .await;
    assert!(matches!(result, Err(AckError::Timeout(_))), "{result:?}");
}

#[tokio::test]
async fn msgpack_codec_speaks_the_same_protocol() {
    let server = TestServer::start(echo_hub()).await;
    let mut client = common::WsClient::open(&format!("{}?codec=msgpack", server.url())).await;
    let welcome = client.recv().await;
    assert_eq!(welcome["event"], "$welcome");
    let frame = switchboard::Codec::MsgPack
        .encode(&switchboard::protocol::Message::event("echo", json!({"k": 1})).with_ack(4));
    use futures_util::SinkExt;
    client
        .ws
        .send(tokio_tungstenite::tungstenite::Message::Binary(frame))
        .await
        .unwrap();
    let reply = client.recv().await;
    assert_eq!(reply["reply"], 4);
    assert_eq!(reply["data"], json!({"k": 1}));
}

#[tokio::test]
async fn fallback_takes_events_without_a_handler() {
    let server = TestServer::start(echo_hub().on_fallback(
        |_s, event: String, data: Value| async move {
            Ok::<_, HandlerError>(json!({"fallback": event, "data": data}))
        },
    ))
    .await;
    let (mut client, _) = server.joined_client().await;
    let reply = client.call("anything", json!(5), 1).await;
    assert_eq!(reply["data"], json!({"fallback": "anything", "data": 5}));
    // A registered handler still wins.
    assert_eq!(client.call("echo", json!(6), 2).await["data"], 6);
}
