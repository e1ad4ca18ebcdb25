//! Several hubs in one application: two hubs on `/a/ws` and `/b/ws` of
//! one axum `Router`, served on one listener, each with its own sockets,
//! rooms and long-polling.

use serde_json::{Value, json};
use switchboard::{HandlerError, Hub};
use switchboard_testkit::{WsClient, http_json, within};
use tokio::net::TcpListener;

fn hub(namespace: &str) -> Hub {
    let name = namespace.to_owned();
    Hub::builder()
        .namespace(namespace)
        .on("whoami", move |_s, _: Value| {
            let name = name.clone();
            async move { Ok::<_, HandlerError>(name) }
        })
        .build()
}

/// Opens a long-polling session at `path`; its session token and id.
async fn poll_open(addr: std::net::SocketAddr, path: &str) -> (String, String) {
    let (status, answer) = http_json(addr, "POST", path, "").await;
    assert_eq!(status, 200, "{answer}");
    let data = &answer[0]["data"];
    (
        data["session"].as_str().unwrap().to_owned(),
        data["id"].as_str().unwrap().to_owned(),
    )
}

/// One long-polling `GET` that must bring messages.
async fn poll_next(addr: std::net::SocketAddr, path: &str, sid: &str) -> Vec<Value> {
    loop {
        let (status, answer) = http_json(addr, "GET", &format!("{path}?sid={sid}"), "").await;
        assert_eq!(status, 200, "{answer}");
        let messages = answer.as_array().unwrap().clone();
        if !messages.is_empty() {
            return messages;
        }
    }
}

#[tokio::test]
async fn two_hubs_in_one_router_keep_their_rooms_apart() {
    let (a, b) = (hub("a"), hub("b"));
    // Merged at a full path, or nested under a prefix: both work.
    let app = axum::Router::new()
        .merge(a.router("/a/ws"))
        .nest("/b", b.router("/ws"));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut a1 = WsClient::connect(&format!("ws://{addr}/a/ws")).await;
    let mut b1 = WsClient::connect(&format!("ws://{addr}/b/ws")).await;
    // Each client's events go to its own hub's handlers.
    assert_eq!(a1.call("whoami", Value::Null, 1).await["data"], "a");
    assert_eq!(b1.call("whoami", Value::Null, 1).await["data"], "b");
    assert_eq!((a.count(), b.count()), (1, 1));
    assert_eq!(a.list(), [a1.id.clone()]);

    // Long-polling per hub, at `{path}/poll`.
    let (a_sid, a_poll) = poll_open(addr, "/a/ws/poll").await;
    let (b_sid, b_poll) = poll_open(addr, "/b/ws/poll").await;
    assert_eq!((a.count(), b.count()), (2, 2));
    // A session token of one hub is unknown to the other.
    let (status, _) = http_json(addr, "GET", &format!("/b/ws/poll?sid={a_sid}"), "").await;
    assert_eq!(status, 404);

    // The same room name in both hubs: two different rooms.
    for client in [&mut a1, &mut b1] {
        assert_eq!(client.join("r").await["data"]["room"], "r");
    }
    for (path, sid) in [("/a/ws/poll", &a_sid), ("/b/ws/poll", &b_sid)] {
        let join = json!({"event": "$join", "data": {"room": "r"}, "ack": 1}).to_string();
        let (status, _) = http_json(addr, "POST", &format!("{path}?sid={sid}"), &join).await;
        assert_eq!(status, 204);
        let reply = poll_next(addr, path, sid).await;
        assert_eq!(reply[0]["reply"], 1, "{reply:?}");
    }
    let mut members_a = vec![a1.id.clone(), a_poll.clone()];
    members_a.sort();
    assert_eq!(a.members("r"), members_a);
    assert!(!a.members("r").contains(&b1.id) && !a.members("r").contains(&b_poll));

    assert_eq!(a.to("r").emit("news", "a only").unwrap(), 2);
    let m = a1.recv_event("news").await;
    assert_eq!((&m["data"], &m["room"]), (&json!("a only"), &json!("r")));
    let polled = poll_next(addr, "/a/ws/poll", &a_sid).await;
    assert_eq!(polled[0]["data"], "a only");

    // Hub b's members get b's broadcast first: a's never reached them.
    assert_eq!(b.to("r").emit("news", "b only").unwrap(), 2);
    assert_eq!(b1.recv_event("news").await["data"], "b only");
    let polled = poll_next(addr, "/b/ws/poll", &b_sid).await;
    assert_eq!(polled[0]["data"], "b only", "{polled:?}");

    // A client relay stays in its hub's room.
    a1.send(json!({"event": "chat", "data": "hi", "room": "r"}))
        .await;
    let polled = poll_next(addr, "/a/ws/poll", &a_sid).await;
    assert_eq!(
        (&polled[0]["event"], &polled[0]["from"]),
        (&json!("chat"), &json!(a1.id))
    );
    b.to_all().emit("mark", 1).unwrap();
    assert_eq!(b1.recv_event("mark").await["data"], 1);

    // Ids are per hub: a's send_to cannot reach b's socket.
    assert!(a.send_to(&b1.id, "direct", 1).is_err());
    assert_eq!(
        a.to_sockets([&b1.id, &b_poll]).emit("listed", 1).unwrap(),
        0
    );

    // Shutting one hub down leaves the other serving.
    let stopping = tokio::spawn({
        let a = a.clone();
        async move { a.shutdown().await }
    });
    assert_eq!(a1.close_code().await, 1001);
    let (status, _) = http_json(addr, "GET", &format!("/a/ws/poll?sid={a_sid}"), "").await;
    assert_eq!(status, 410);
    within("hub a's shutdown", stopping).await.unwrap();
    assert_eq!(b.count(), 2);
    assert_eq!(b1.call("whoami", Value::Null, 2).await["data"], "b");
}
