//! The client against an in-process hub over WebSocket, real sockets on
//! 127.0.0.1:0.

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
async fn cut_link_resumes_without_loss_or_duplicates() {
    let server = TestHub::start(Hub::builder()).await;
    let proxy = Proxy::start(server.addr).await;
    let (builder, mut rx) = recorder(fast(&proxy.url()), "n");
    let client = builder.connect().await.unwrap();
    let mut events = client.events();
    client.join("r").await.unwrap();
    let id = client.id().unwrap();

    for n in 1..=5 {
        server.hub.to("r").emit("n", n).unwrap();
    }
    assert_eq!(recv_n(&mut rx, 5).await, vec![1, 2, 3, 4, 5]);

    proxy.cut();
    let reason = next_event(&mut events, |e| match e {
        Event::Disconnected {
            reason,
            will_reconnect: true,
        } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(
        matches!(reason, ClientDisconnect::LinkLost(_)),
        "{reason:?}"
    );
    // Sent while the link is down: buffered by the hub for the resume.
    for n in 6..=10 {
        server.hub.to("r").emit("n", n).unwrap();
    }
    let (resumed, _missed) = next_event(&mut events, |e| match e {
        Event::Connected {
            resumed, missed, ..
        } => Some((*resumed, *missed)),
        _ => None,
    })
    .await;
    assert!(resumed, "the session resumes");
    assert_eq!(client.id().unwrap(), id, "same id after a resume");
    assert_eq!(client.reconnect_count(), 1);
    for n in 11..=15 {
        server.hub.to("r").emit("n", n).unwrap();
    }
    assert_eq!(recv_n(&mut rx, 10).await, (6..=15).collect::<Vec<_>>());

    // A second cut: the count went on across the resume.
    proxy.cut();
    for n in 16..=18 {
        server.hub.to("r").emit("n", n).unwrap();
    }
    next_event(&mut events, |e| match e {
        Event::Connected { resumed: true, .. } => Some(()),
        _ => None,
    })
    .await;
    server.hub.to("r").emit("n", 19).unwrap();
    assert_eq!(recv_n(&mut rx, 4).await, vec![16, 17, 18, 19]);
    assert!(rx.try_recv().is_err(), "no duplicate");
    assert_eq!(server.hub.members("r"), vec![id]);
    client.close().await;
}

#[tokio::test]
async fn new_session_rejoins_rooms_and_queued_emits_follow() {
    // resume_window 0: every reconnect gets a new session.
    let hub = || Hub::builder().resume_window(Duration::ZERO);
    let server = TestHub::start(hub()).await;
    let proxy = Proxy::start(server.addr).await;
    let client = fast(&proxy.url()).build().unwrap();
    let mut events = client.events();
    client.connected().await.unwrap();
    // The first call to `events` sees everything since `build`.
    next_event(&mut events, |e| {
        matches!(e, Event::Connected { resumed: false, .. }).then_some(())
    })
    .await;
    client.join("a").await.unwrap();
    client.join("b").await.unwrap();
    let first_id = client.id().unwrap();

    proxy.cut();
    let (id, resumed) = next_event(&mut events, |e| match e {
        Event::Connected { id, resumed, .. } => Some((id.clone(), *resumed)),
        _ => None,
    })
    .await;
    assert!(!resumed);
    assert_ne!(id, first_id);
    // Connected is announced once the rooms are rejoined.
    assert_eq!(server.hub.members("a"), vec![id.clone()]);
    assert_eq!(server.hub.members("b"), vec![id.clone()]);
    assert_eq!(client.rooms(), vec!["a".to_owned(), "b".to_owned()]);
    client.close().await;
}

#[tokio::test]
async fn emits_queue_while_disconnected_and_queue_full_is_an_error() {
    // Reserve a port with nothing listening yet.
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let client = fast(&format!("ws://{addr}/ws"))
        .queue_capacity(3)
        .build()
        .unwrap();
    for n in 1..=3 {
        client.emit("q", n).await.unwrap();
    }
    match client.emit("q", 4).await {
        Err(EmitError::QueueFull { capacity }) => assert_eq!(capacity, 3),
        other => panic!("expected QueueFull, got {other:?}"),
    }
    match client.emit_with_ack::<Value>("q", 5, None).await {
        Err(ClientAckError::QueueFull { capacity: 3 }) => {}
        other => panic!("expected QueueFull, got {other:?}"),
    }

    let (tx, mut rx) = mpsc::channel(8);
    let server = TestHub::start_on(
        addr,
        Hub::builder().on("q", move |_s, n: u64| {
            let tx = tx.clone();
            async move {
                tx.send(n).await.unwrap();
                Ok::<_, HandlerError2>(())
            }
        }),
    )
    .await;
    assert_eq!(recv_n(&mut rx, 3).await, vec![1, 2, 3]);
    // The queue is empty again.
    client.emit("q", 6).await.unwrap();
    assert_eq!(recv_n(&mut rx, 1).await, vec![6]);
    assert_eq!(server.hub.list(), vec![client.id().unwrap()]);
    client.close().await;
}

#[tokio::test]
async fn kick_4000_stops_reconnecting() {
    let server = TestHub::start(Hub::builder()).await;
    let client = fast(&server.url()).connect().await.unwrap();
    let mut events = client.events();
    assert!(
        server
            .hub
            .disconnect(&client.id().unwrap(), CloseCode::Kicked)
    );
    let reason = closed_reason(&client).await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 4000, .. }),
        "{reason:?}"
    );
    let will = next_event(&mut events, |e| match e {
        Event::Disconnected { will_reconnect, .. } => Some(*will_reconnect),
        _ => None,
    })
    .await;
    assert!(!will);
    assert!(matches!(
        client.emit_with_ack::<Value>("x", 1, None).await,
        Err(ClientAckError::Closed)
    ));
}

#[tokio::test]
async fn policy_1008_stops_reconnecting() {
    let server = TestHub::start(Hub::builder()).await;
    let client = fast(&server.url()).connect().await.unwrap();
    assert!(
        server
            .hub
            .disconnect(&client.id().unwrap(), CloseCode::Policy)
    );
    let reason = closed_reason(&client).await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 1008, .. }),
        "{reason:?}"
    );
}

#[tokio::test]
async fn refused_handshake_stops_with_the_status() {
    let server = TestHub::start(Hub::builder()).await;
    let url = format!("ws://{}/nowhere", server.addr);
    match fast(&url).connect().await {
        Err(client::ConnectError(ClientDisconnect::Refused { status, .. })) => {
            assert_eq!(status, 404)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn hub_shutdown_1001_reconnects_to_a_restarted_hub() {
    let server = TestHub::start(Hub::builder()).await;
    let client = fast(&server.url()).connect().await.unwrap();
    let mut events = client.events();
    client.join("r").await.unwrap();

    let addr = server.stop().await;
    let reason = next_event(&mut events, |e| match e {
        Event::Disconnected {
            reason,
            will_reconnect: true,
        } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(
        matches!(reason, ClientDisconnect::Closed { code: 1001, .. }),
        "{reason:?}"
    );

    let server = TestHub::start_on(addr, Hub::builder()).await;
    let (id, resumed) = next_event(&mut events, |e| match e {
        Event::Connected { id, resumed, .. } => Some((id.clone(), *resumed)),
        _ => None,
    })
    .await;
    assert!(!resumed, "a restarted hub knows no session");
    assert_eq!(server.hub.members("r"), vec![id]);
    assert!(client.reconnect_count() >= 1);
    client.close().await;
}

#[tokio::test]
async fn max_attempts_gives_up() {
    let addr = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap()
    };
    let result = fast(&format!("ws://{addr}/ws"))
        .max_attempts(Some(2))
        .connect()
        .await;
    match result {
        Err(client::ConnectError(ClientDisconnect::GaveUp { attempts, last })) => {
            assert_eq!(attempts, 2);
            assert!(matches!(*last, ClientDisconnect::DialFailed(_)), "{last:?}");
        }
        other => panic!("expected GaveUp, got {other:?}"),
    }
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
async fn silent_link_is_dropped_by_the_watchdog_and_resumed() {
    let server = TestHub::start(
        Hub::builder()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100)),
    )
    .await;
    let proxy = Proxy::start(server.addr).await;
    let (builder, mut rx) = recorder(fast(&proxy.url()), "n");
    let client = builder.build().unwrap();
    let mut events = client.events();
    client.connected().await.unwrap();
    client.join("r").await.unwrap();

    // The hub's pings are answered: an idle client stays connected over
    // several heartbeat windows (this is the one check that must wait).
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(client.reconnect_count(), 0);
    assert_eq!(*client.state().borrow(), State::Connected);
    server.hub.to("r").emit("n", 1).unwrap();
    assert_eq!(recv_n(&mut rx, 1).await, vec![1]);

    proxy.freeze();
    server.hub.to("r").emit("n", 2).unwrap();
    let reason = next_event(&mut events, |e| match e {
        Event::Disconnected {
            reason,
            will_reconnect: true,
        } => Some(reason.clone()),
        _ => None,
    })
    .await;
    assert!(
        matches!(reason, ClientDisconnect::LinkLost(_)),
        "{reason:?}"
    );
    next_event(&mut events, |e| match e {
        Event::Connected { resumed: true, .. } => Some(()),
        _ => None,
    })
    .await;
    server.hub.to("r").emit("n", 3).unwrap();
    assert_eq!(recv_n(&mut rx, 2).await, vec![2, 3]);
    proxy.cut();
    client.close().await;
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

#[tokio::test]
async fn close_while_disconnected_deletes_the_waiting_session() {
    let server = TestHub::start(Hub::builder()).await;
    let proxy = Proxy::start(server.addr).await;
    // After the link is lost the client waits an hour before it retries.
    let client = fast(&proxy.url())
        .transports(Transports::WebSocketWithFallback)
        .reconnect_delay(Duration::from_secs(3600))
        .reconnect_delay_max(Duration::from_secs(3600))
        .jitter(false)
        .build()
        .unwrap();
    let mut events = client.events();
    client.connected().await.unwrap();
    proxy.cut();
    next_event(&mut events, |e| match e {
        Event::Reconnecting { .. } => Some(()),
        _ => None,
    })
    .await;
    within("the hub to see the drop", async {
        while server.hub.count() != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert_eq!(
        server.hub.session_count(),
        1,
        "the session waits for a resume"
    );
    client.close().await;
    assert_eq!(server.hub.session_count(), 0, "close() ended it");
    assert_eq!(closed_reason(&client).await, ClientDisconnect::ClientClosed);
}
