//! The client against an in-process hub over WebSocket, real sockets on
//! 127.0.0.1:0: emits, acks, rooms, the wire (deflate, batches) and the
//! handshake's credentials. Reconnects are in `client_resume.rs`, what
//! stops the client in `client_stops.rs`.

#[path = "client_support.rs"]
mod support;

use support::*;

#[tokio::test]
async fn connects_emits_and_acks_typed() {
    let server = TestHub::start(echo_hub()).await;
    let client = within("connect", fast(&server.url()).connect())
        .await
        .unwrap();
    let id = client.id().expect("an id after connect");
    assert_eq!(server.hub.list(), vec![id]);
    assert_eq!(*client.state().borrow(), State::Connected);

    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Point {
        x: i32,
        y: i32,
    }
    let back: Point = client
        .emit_with_ack("echo", Point { x: 1, y: -2 }, None)
        .await
        .unwrap();
    assert_eq!(back, Point { x: 1, y: -2 });

    match client.emit_with_ack::<Value>("fail", 1, None).await {
        Err(ClientAckError::Remote { code, message }) => {
            assert_eq!(code, "nope");
            assert_eq!(message, "refused by the app");
        }
        other => panic!("expected a remote error, got {other:?}"),
    }
    match client.emit_with_ack::<Value>("nobody", 1, None).await {
        Err(ClientAckError::Remote { code, .. }) => assert_eq!(code, "no_handler"),
        other => panic!("expected no_handler, got {other:?}"),
    }
    match client.emit_with_ack::<u32>("echo", "text", None).await {
        Err(ClientAckError::Decode(_)) => {}
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert!(matches!(
        client.emit("$join", 1).await,
        Err(EmitError::InvalidEvent(_))
    ));
    // Last: the hub runs a socket's handlers one at a time, so this one
    // blocks the socket's later events.
    match client
        .emit_with_ack::<Value>("never", 1, Duration::from_millis(100))
        .await
    {
        Err(ClientAckError::Timeout(t)) => assert_eq!(t, Duration::from_millis(100)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    client.close().await;
    assert_eq!(closed_reason(&client).await, ClientDisconnect::ClientClosed);
    assert!(matches!(
        client.emit("echo", 1).await,
        Err(EmitError::Closed)
    ));
}

#[tokio::test]
async fn hub_acks_are_answered_by_typed_handlers() {
    let server = TestHub::start(Hub::builder()).await;
    let (seen_tx, mut seen_rx) = mpsc::channel(8);
    let client = fast(&server.url())
        .on(
            "double",
            |n: u32| async move { Ok::<_, HandlerError>(n * 2) },
        )
        .on("refuse", |_: Value| async move {
            Err::<(), _>(HandlerError::with_code("denied", "not today"))
        })
        .on("note", move |text: String| {
            let seen = seen_tx.clone();
            async move {
                seen.send(text).await.unwrap();
                Ok::<_, HandlerError>(())
            }
        })
        .connect()
        .await
        .unwrap();
    let socket = server.hub.socket(&client.id().unwrap()).unwrap();

    let doubled: u32 = socket.emit_with_ack("double", 21, WAIT).await.unwrap();
    assert_eq!(doubled, 42);
    match socket.emit_with_ack::<Value>("refuse", 0, WAIT).await {
        Err(switchboard::AckError::Remote(body)) => assert_eq!(body.code, "denied"),
        other => panic!("expected the handler's error, got {other:?}"),
    }
    // Data that does not decode never reaches the handler.
    match socket.emit_with_ack::<Value>("double", "x", WAIT).await {
        Err(switchboard::AckError::Remote(body)) => assert_eq!(body.code, "bad_message"),
        other => panic!("expected bad_message, got {other:?}"),
    }
    match socket.emit_with_ack::<Value>("unhandled", 0, WAIT).await {
        Err(switchboard::AckError::Remote(body)) => assert_eq!(body.code, "no_handler"),
        other => panic!("expected no_handler, got {other:?}"),
    }
    // Handlers may be added on the handle too.
    client.on(
        "triple",
        |n: u32| async move { Ok::<_, HandlerError>(n * 3) },
    );
    let tripled: u32 = socket.emit_with_ack("triple", 5, WAIT).await.unwrap();
    assert_eq!(tripled, 15);

    socket.emit("note", "hello").unwrap();
    assert_eq!(within("note", seen_rx.recv()).await.unwrap(), "hello");
    client.close().await;
}

#[tokio::test]
async fn join_leave_rooms_and_relay() {
    let server = TestHub::start(Hub::builder()).await;
    let (b_builder, mut b_rx) = recorder(fast(&server.url()), "n");
    let a = fast(&server.url()).connect().await.unwrap();
    let b = b_builder.connect().await.unwrap();
    a.join("r").await.unwrap();
    b.join("r").await.unwrap();
    assert_eq!(a.rooms(), vec!["r".to_owned()]);
    let mut members = vec![a.id().unwrap(), b.id().unwrap()];
    members.sort();
    assert_eq!(server.hub.members("r"), members);

    a.to("r").emit("n", 7).await.unwrap();
    assert_eq!(recv_n(&mut b_rx, 1).await, vec![7]);
    a.to("r").emit_with_ack("n", 8, None).await.unwrap();
    assert_eq!(recv_n(&mut b_rx, 1).await, vec![8]);
    // A relay to a room the sender is not in is refused.
    match a.to("elsewhere").emit_with_ack("n", 9, None).await {
        Err(ClientAckError::Remote { code, .. }) => assert_eq!(code, "forbidden"),
        other => panic!("expected forbidden, got {other:?}"),
    }

    a.leave("r").await.unwrap();
    assert!(a.rooms().is_empty());
    assert_eq!(server.hub.members("r"), vec![b.id().unwrap()]);
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn deflate_is_negotiated_by_default() {
    let server = TestHub::start(echo_hub()).await;
    let client = fast(&server.url()).build().unwrap();
    let mut events = client.events();
    let compressed = next_event(&mut events, |e| match e {
        Event::Connected { compressed, .. } => Some(*compressed),
        _ => None,
    })
    .await;
    assert!(compressed);
    let big = "switchboard ".repeat(2000);
    let back: String = client.emit_with_ack("echo", &big, None).await.unwrap();
    assert_eq!(back, big);
    client.close().await;

    let plain = fast(&server.url()).compression(false).build().unwrap();
    let mut events = plain.events();
    let compressed = next_event(&mut events, |e| match e {
        Event::Connected { compressed, .. } => Some(*compressed),
        _ => None,
    })
    .await;
    assert!(!compressed);
    plain.close().await;
}

#[tokio::test]
async fn batching_sends_up_to_n_messages_in_one_frame() {
    let (tx, mut rx) = mpsc::channel(64);
    let tx = Arc::new(tx);
    let server = TestHub::start(echo_hub().on("b", move |_s, n: u64| {
        let tx = tx.clone();
        async move {
            tx.send(n).await.unwrap();
            Ok::<_, HandlerError2>(())
        }
    }))
    .await;
    // A batch leaves when it holds 3 messages (the delay is far away).
    let client = fast(&server.url())
        .batching(3, Duration::from_secs(3600))
        .connect()
        .await
        .unwrap();
    client.emit("b", 1).await.unwrap();
    client.emit("b", 2).await.unwrap();
    let back: u64 = client.emit_with_ack("echo", 3, None).await.unwrap();
    assert_eq!(back, 3);
    assert_eq!(recv_n(&mut rx, 2).await, vec![1, 2]);
    client.close().await;

    // ...or after the delay.
    let client = fast(&server.url())
        .batching(100, Duration::from_millis(20))
        .connect()
        .await
        .unwrap();
    for n in 10..15 {
        client.emit("b", n).await.unwrap();
    }
    assert_eq!(recv_n(&mut rx, 5).await, (10..15).collect::<Vec<_>>());
    client.close().await;
}

#[tokio::test]
async fn a_batch_still_waiting_is_sent_before_the_close() {
    let (tx, mut rx) = mpsc::channel(64);
    let tx = Arc::new(tx);
    let server = TestHub::start(echo_hub().on("b", move |_s, n: u64| {
        let tx = tx.clone();
        async move {
            tx.send(n).await.unwrap();
            Ok::<_, HandlerError2>(())
        }
    }))
    .await;
    for transport in [Transports::WebSocket, Transports::LongPolling] {
        // The batch waits for 100 messages or an hour: only the close can
        // send it.
        let client = fast(&server.url())
            .transports(transport)
            .batching(100, Duration::from_secs(3600))
            .connect()
            .await
            .unwrap();
        for n in 1..=3 {
            client.emit("b", n).await.unwrap();
        }
        client.close().await;
        assert_eq!(recv_n(&mut rx, 3).await, vec![1, 2, 3], "{transport:?}");
    }
}

#[tokio::test]
async fn token_and_headers_reach_the_hub_and_403_stops() {
    let (tx, mut rx) = mpsc::channel(4);
    let server = TestHub::start(Hub::builder().authenticate(move |request| {
        let tx = tx.clone();
        async move {
            let header = request
                .headers
                .get("x-test")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let token = request.token.clone();
            let _ = tx.send((token.clone(), header)).await;
            if token.as_deref() == Some("s3cret&=") {
                Ok(http::Extensions::new())
            } else {
                Err(switchboard::AuthRejection::new("bad token"))
            }
        }
    }))
    .await;
    let client = fast(&server.url())
        .token("s3cret&=")
        .header("X-Test", "yes")
        .connect()
        .await
        .unwrap();
    let seen = within("the handshake", rx.recv()).await.unwrap();
    assert_eq!(seen, (Some("s3cret&=".to_owned()), Some("yes".to_owned())));
    client.close().await;

    match fast(&server.url()).token("wrong").connect().await {
        Err(client::ConnectError(ClientDisconnect::Refused { status, .. })) => {
            assert_eq!(status, 403)
        }
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn batches_go_out_as_one_frame() {
    use std::sync::atomic::Ordering;
    let (tx, mut rx) = mpsc::channel(64);
    let server = TestHub::start(echo_hub().on("b", move |_s, n: u64| {
        let tx = tx.clone();
        async move {
            tx.send(n).await.unwrap();
            Ok::<_, HandlerError2>(())
        }
    }))
    .await;
    let (proxy, frames) = frame_counting_proxy(server.addr).await;
    let client = fast(&format!("ws://{proxy}/ws"))
        .transports(Transports::WebSocket)
        .compression(false)
        .batching(4, Duration::from_secs(3600))
        .connect()
        .await
        .unwrap();
    for n in 1..=3 {
        client.emit("b", n).await.unwrap();
    }
    let back: u64 = client.emit_with_ack("echo", 4, None).await.unwrap();
    assert_eq!(back, 4);
    assert_eq!(recv_n(&mut rx, 3).await, vec![1, 2, 3]);
    assert_eq!(frames.load(Ordering::SeqCst), 1, "four messages, one frame");
    for n in 5..=12 {
        client.emit("b", n).await.unwrap();
    }
    assert_eq!(recv_n(&mut rx, 8).await, (5..=12).collect::<Vec<_>>());
    assert_eq!(frames.load(Ordering::SeqCst), 3);
    drop(client);
}
