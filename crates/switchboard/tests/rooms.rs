//! Rooms, broadcast operators and relays (PROTOCOL.md section 4).

mod common;

use common::TestServer;
use std::sync::Arc;

use serde_json::json;
use switchboard::{HandlerError, Hub};

fn hub() -> switchboard::HubBuilder {
    Hub::builder()
        .join_policy(|_s, room: String| async move { !room.starts_with("private") })
        .on("shout", |socket, text: String| async move {
            socket
                .hub()
                .to_all()
                .except(socket.id())
                .emit("shout", &text)?;
            Ok::<_, HandlerError>(())
        })
}

#[tokio::test]
async fn join_and_leave_follow_the_policy() {
    let server = TestServer::start(hub()).await;
    let (mut client, id) = server.joined_client().await;
    let reply = client.call("$join", json!({"room": "lobby"}), 1).await;
    assert_eq!(reply["data"], json!({"room": "lobby"}));
    assert_eq!(server.hub.members("lobby"), vec![id.clone()]);
    assert_eq!(server.hub.rooms_of(&id), vec!["lobby".to_owned()]);
    let reply = client.call("$join", json!({"room": "private-x"}), 2).await;
    assert_eq!(reply["error"]["code"], "forbidden");
    // Refused without an ack: `$error` forbidden.
    client
        .send(json!({"event": "$join", "data": {"room": "private-y"}}))
        .await;
    let error = client.recv().await;
    assert_eq!(
        (error["event"].clone(), error["data"]["code"].clone()),
        (json!("$error"), json!("forbidden"))
    );
    assert_eq!(server.hub.rooms_of(&id), vec!["lobby".to_owned()]);
    // A malformed join is a bad message.
    client
        .send(json!({"event": "$join", "data": {"name": "x"}, "ack": 3}))
        .await;
    assert_eq!(client.recv().await["data"]["code"], "bad_message");
    let reply = client.call("$leave", json!({"room": "lobby"}), 4).await;
    assert_eq!(reply["data"], json!({"room": "lobby"}));
    assert!(server.hub.members("lobby").is_empty());
    assert!(
        server.hub.rooms().is_empty(),
        "an empty room does not live on"
    );
}

#[tokio::test]
async fn room_broadcast_carries_room_and_respects_except() {
    let server = TestServer::start(hub()).await;
    let (mut a, a_id) = server.joined_client().await;
    let (mut b, b_id) = server.joined_client().await;
    let (mut c, _) = server.joined_client().await;
    a.call("$join", json!({"room": "r"}), 1).await;
    b.call("$join", json!({"room": "r"}), 1).await;
    assert_eq!(server.hub.to("r").emit("news", json!({"n": 1})).unwrap(), 2);
    for client in [&mut a, &mut b] {
        assert_eq!(
            client.recv().await,
            json!({"event": "news", "data": {"n": 1}, "room": "r"})
        );
    }
    assert_eq!(server.hub.to("r").except(&a_id).emit("news", 2).unwrap(), 1);
    assert_eq!(b.recv().await["data"], 2);
    // Everyone, then one socket by id.
    assert_eq!(server.hub.to_all().emit("all", 3).unwrap(), 3);
    for client in [&mut a, &mut b, &mut c] {
        assert_eq!(client.recv().await, json!({"event": "all", "data": 3}));
    }
    server.hub.send_to(&b_id, "direct", 4).unwrap();
    assert_eq!(b.recv().await, json!({"event": "direct", "data": 4}));
    assert!(server.hub.send_to("no-such-id", "direct", 4).is_err());
    // `a` got nothing in between: its next message is the answer to this.
    a.send(json!({"event": "$ping"})).await;
    assert_eq!(a.recv().await["event"], "$pong");
    assert_eq!(server.hub.count(), 3);
}

#[tokio::test]
async fn socket_in_two_rooms_receives_a_multi_room_broadcast_once() {
    let server = TestServer::start(hub()).await;
    let (mut a, a_id) = server.joined_client().await;
    let socket = server.hub.socket(&a_id).unwrap();
    socket.join("x");
    socket.join("y");
    assert_eq!(socket.rooms(), vec!["x".to_owned(), "y".to_owned()]);
    let sent = server.hub.to("x").to("y").emit("twice?", 1).unwrap();
    assert_eq!(sent, 1);
    assert_eq!(a.recv().await["event"], "twice?");
    a.send(json!({"event": "$ping"})).await;
    assert_eq!(a.recv().await["event"], "$pong");
    socket.leave_all();
    assert!(server.hub.rooms().is_empty());
}

#[tokio::test]
async fn relay_reaches_other_members_not_the_sender() {
    let server = TestServer::start(hub()).await;
    let (mut a, a_id) = server.joined_client().await;
    let (mut b, _) = server.joined_client().await;
    let (mut outsider, _) = server.joined_client().await;
    a.call("$join", json!({"room": "lobby"}), 1).await;
    b.call("$join", json!({"room": "lobby"}), 1).await;
    a.send(json!({"event": "chat", "data": "hi", "room": "lobby", "ack": 7}))
        .await;
    let reply = a.recv().await;
    assert_eq!(reply["reply"], 7);
    assert!(reply.get("error").is_none(), "{reply}");
    assert_eq!(
        b.recv().await,
        json!({"event": "chat", "data": "hi", "room": "lobby", "from": a_id})
    );
    // A non-member may not relay.
    let reply = outsider.call("chat", json!("x"), 2).await;
    assert_eq!(reply["error"]["code"], "no_handler");
    outsider
        .send(json!({"event": "chat", "data": "x", "room": "lobby", "ack": 3}))
        .await;
    assert_eq!(outsider.recv().await["error"]["code"], "forbidden");
    outsider
        .send(json!({"event": "chat", "data": "x", "room": "lobby"}))
        .await;
    assert_eq!(outsider.recv().await["data"]["code"], "forbidden");
    // The sender got nothing but its reply; `b` nothing from the outsider.
    for client in [&mut a, &mut b] {
        client.send(json!({"event": "$ping"})).await;
        assert_eq!(client.recv().await["event"], "$pong");
    }
    // A handler's broadcast to all except the sender.
    a.send(json!({"event": "shout", "data": "hey"})).await;
    assert_eq!(b.recv().await, json!({"event": "shout", "data": "hey"}));
    assert_eq!(
        outsider.recv().await,
        json!({"event": "shout", "data": "hey"})
    );
}

#[tokio::test]
async fn broadcast_emit_with_ack_collects_every_reply() {
    let server = TestServer::start(hub()).await;
    let (mut a, a_id) = server.joined_client().await;
    let (mut b, b_id) = server.joined_client().await;
    for client in [&mut a, &mut b] {
        client.call("$join", json!({"room": "vote"}), 1).await;
    }
    let hub = server.hub.clone();
    let asking = tokio::spawn(async move {
        hub.to("vote")
            .emit_with_ack::<u32>("poll", json!(null), std::time::Duration::from_secs(5))
            .await
            .unwrap()
    });
    for (client, answer) in [(&mut a, 1), (&mut b, 2)] {
        let poll = client.recv().await;
        assert_eq!(
            poll["room"],
            json!(null),
            "acks are asked per socket: {poll}"
        );
        client
            .send(json!({"reply": poll["ack"], "data": answer}))
            .await;
    }
    let mut answers = asking.await.unwrap();
    answers.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected = vec![(a_id, 1u32), (b_id, 2u32)];
    expected.sort();
    let got: Vec<(String, u32)> = answers
        .into_iter()
        .map(|(id, r)| (id, r.unwrap()))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn relay_policy_decides_and_local_reaches_this_node() {
    let server = TestServer::start(
        Hub::builder().relay_policy(|_s, request| async move { request.event == "chat" }),
    )
    .await;
    let (mut a, _) = server.joined_client().await;
    let (mut b, _) = server.joined_client().await;
    // The policy allows `chat` to a room `a` is not even in, and refuses
    // other events.
    b.call("$join", json!({"room": "r"}), 1).await;
    a.send(json!({"event": "chat", "data": 1, "room": "r", "ack": 2}))
        .await;
    assert!(a.recv().await.get("error").is_none());
    assert_eq!(b.recv().await["data"], 1);
    a.send(json!({"event": "shout", "data": 1, "room": "r", "ack": 3}))
        .await;
    assert_eq!(a.recv().await["error"]["code"], "forbidden");
    let op = server.hub.local();
    assert!(op.is_local());
    assert_eq!(op.emit("local", 1).unwrap(), 2);
    assert_eq!(a.recv().await["event"], "local");
    assert_eq!(b.recv().await["event"], "local");
}

/// Work a client sent before its close frame is handled after the session
/// has ended: a relay still reaches the room, a late `$join` (or a join in
/// the disconnect handler) does not make the ended socket a member again.
#[tokio::test]
async fn work_sent_before_close_is_done_and_leaves_no_member() {
    let gate = Arc::new(tokio::sync::Notify::new());
    let (ended_tx, mut ended_rx) = tokio::sync::mpsc::unbounded_channel();
    let handler_gate = gate.clone();
    let builder = Hub::builder()
        .on("gate", move |_socket, _: serde_json::Value| {
            let gate = handler_gate.clone();
            async move {
                gate.notified().await;
                Ok::<_, HandlerError>(())
            }
        })
        .on_disconnect(move |socket, _reason| {
            let ended_tx = ended_tx.clone();
            async move {
                let rooms_at_end = socket.rooms();
                socket.join("from-disconnect");
                let _ = ended_tx.send((socket.id().to_owned(), rooms_at_end));
            }
        });
    let server = TestServer::start(builder).await;
    let (mut a, a_id) = server.joined_client().await;
    let (mut b, b_id) = server.joined_client().await;
    a.call("$join", json!({"room": "lobby"}), 1).await;
    b.call("$join", json!({"room": "lobby"}), 1).await;
    // Held back by the gate, the relay and the join are handled only once
    // the close has ended the session.
    a.send(json!({"event": "gate", "data": null})).await;
    a.send(json!({"event": "chat", "data": "last", "room": "lobby"}))
        .await;
    a.send(json!({"event": "$join", "data": {"room": "late"}}))
        .await;
    a.close().await;
    common::eventually("the session to end", || server.hub.socket(&a_id).is_none()).await;
    assert_eq!(server.hub.members("lobby"), vec![b_id.clone()]);
    gate.notify_one();
    assert_eq!(
        b.recv().await,
        json!({"event": "chat", "data": "last", "room": "lobby", "from": a_id})
    );
    let (ended, rooms_at_end) = tokio::time::timeout(common::WAIT, ended_rx.recv())
        .await
        .expect("disconnect handler ran")
        .unwrap();
    assert_eq!(ended, a_id);
    assert_eq!(rooms_at_end, vec!["lobby".to_owned()]);
    assert_eq!(server.hub.rooms(), vec!["lobby".to_owned()]);
    assert_eq!(server.hub.members("lobby"), vec![b_id]);
    assert!(server.hub.rooms_of(&a_id).is_empty());
}

/// With a coalescing window, once broadcasts come less than a window apart
/// the next one waits for the window (or for a direct frame, which takes it
/// along); order is kept. A socket slower than that never waits.
#[tokio::test]
async fn broadcast_coalescing_holds_broadcasts_not_replies() {
    let window = std::time::Duration::from_secs(1);
    let server = TestServer::start(Hub::builder().broadcast_coalesce(window)).await;
    let (mut client, _) = server.joined_client().await;
    client.call("$join", json!({"room": "r"}), 1).await;
    let emit = |n: u64| {
        server.hub.to("r").emit("n", n).unwrap();
    };
    // The first broadcast goes at once; so does the second, less than a
    // window after it, which opens the window.
    emit(0);
    assert_eq!(client.recv().await["data"], 0);
    let first = tokio::time::Instant::now();
    emit(1);
    assert_eq!(client.recv().await["data"], 1);
    assert!(first.elapsed() < window / 2, "{:?}", first.elapsed());
    // The next waits for the window to end.
    let held = tokio::time::Instant::now();
    emit(2);
    client.assert_silent(300).await;
    assert_eq!(client.recv().await["data"], 2);
    assert!(held.elapsed() >= window / 2, "{:?}", held.elapsed());
    // One held in the window that `2` opened goes out with a `$pong`.
    emit(3);
    let asked = tokio::time::Instant::now();
    client.send(json!({"event": "$ping"})).await;
    assert_eq!(client.recv().await["data"], 3);
    assert_eq!(client.recv().await["event"], "$pong");
    assert!(asked.elapsed() < window / 2, "{:?}", asked.elapsed());
}

#[tokio::test]
async fn client_joins_stop_at_the_rooms_per_socket_limit() {
    let server = TestServer::start(
        hub()
            .max_rooms_per_socket(3)
            .on_connect(|socket| async move {
                // The application's own joins are not limited, but count.
                socket.join("app");
            }),
    )
    .await;
    let (mut client, id) = server.joined_client().await;
    common::eventually("the connect handler ran", || {
        server.hub.rooms_of(&id) == ["app"]
    })
    .await;
    for (ack, room) in [(1, "a"), (2, "b")] {
        let reply = client.call("$join", json!({ "room": room }), ack).await;
        assert_eq!(reply["data"]["room"], room, "{reply}");
    }
    let reply = client.call("$join", json!({"room": "c"}), 3).await;
    assert_eq!(reply["error"]["code"], "limit", "{reply}");
    // Without an ack: `$error` limit.
    client
        .send(json!({"event": "$join", "data": {"room": "d"}}))
        .await;
    let error = client.recv().await;
    assert_eq!(error["event"], "$error");
    assert_eq!(error["data"]["code"], "limit");
    // A room it is in already is fine; leaving one makes room.
    let reply = client.call("$join", json!({"room": "a"}), 4).await;
    assert_eq!(reply["data"]["room"], "a");
    client.call("$leave", json!({"room": "b"}), 5).await;
    let reply = client.call("$join", json!({"room": "c"}), 6).await;
    assert_eq!(reply["data"]["room"], "c");
    server.hub.socket(&id).unwrap().join("app-2");
    assert_eq!(server.hub.rooms_of(&id), ["a", "app", "app-2", "c"]);
    assert_eq!(server.hub.stats().errors.limit, 2);
}
