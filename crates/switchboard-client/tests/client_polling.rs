//! The client over long-polling (PROTOCOL.md section 6): alone, as a
//! fallback, and moving to a WebSocket.

#[path = "client_support.rs"]
mod support;

use support::*;

#[tokio::test]
async fn long_polling_emits_acks_rooms_and_answers_hub_acks() {
    let server = TestHub::start(echo_hub()).await;
    let (builder, mut rx) = recorder(polling(&server.url()), "n");
    let client = builder
        .on(
            "double",
            |n: u32| async move { Ok::<_, HandlerError>(n * 2) },
        )
        .build()
        .unwrap();
    let mut events = client.events();
    let transport = next_event(&mut events, |e| match e {
        Event::Connected { transport, .. } => Some(*transport),
        _ => None,
    })
    .await;
    assert_eq!(transport, Transport::LongPolling);
    let back: String = client.emit_with_ack("echo", "polled", None).await.unwrap();
    assert_eq!(back, "polled");
    client.join("r").await.unwrap();
    assert_eq!(server.hub.members("r"), vec![client.id().unwrap()]);
    for n in 1..=3 {
        server.hub.to("r").emit("n", n).unwrap();
    }
    assert_eq!(recv_n(&mut rx, 3).await, vec![1, 2, 3]);
    let socket = server.hub.socket(&client.id().unwrap()).unwrap();
    let doubled: u32 = socket.emit_with_ack("double", 4, WAIT).await.unwrap();
    assert_eq!(doubled, 8);

    // A kick over long-polling (410 kicked) stops the client.
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
}

#[tokio::test]
async fn long_polling_session_resumes_after_a_cut() {
    let server = TestHub::start(Hub::builder()).await;
    let proxy = Proxy::start(server.addr).await;
    let (builder, mut rx) = recorder(polling(&proxy.url()), "n");
    let client = builder.build().unwrap();
    let mut events = client.events();
    client.connected().await.unwrap();
    client.join("r").await.unwrap();
    let id = client.id().unwrap();
    server.hub.to("r").emit("n", 1).unwrap();
    assert_eq!(recv_n(&mut rx, 1).await, vec![1]);
    // Each poll is a new connection: the network goes down for a while.
    proxy.set_down(true);
    proxy.cut();
    server.hub.to("r").emit("n", 2).unwrap();
    next_event(&mut events, |e| match e {
        Event::Disconnected {
            will_reconnect: true,
            ..
        } => Some(()),
        _ => None,
    })
    .await;
    proxy.set_down(false);
    next_event(&mut events, |e| match e {
        Event::Connected { resumed: true, .. } => Some(()),
        _ => None,
    })
    .await;
    assert_eq!(client.id().unwrap(), id);
    server.hub.to("r").emit("n", 3).unwrap();
    assert_eq!(recv_n(&mut rx, 2).await, vec![2, 3]);
    client.close().await;
}

#[tokio::test]
async fn blocked_websocket_falls_back_to_long_polling() {
    let server = TestHub::start(echo_hub()).await;
    let (proxy, _block) = upgrade_blocking_proxy(server.addr).await;
    let client = fast(&format!("ws://{proxy}/ws")).build().unwrap();
    let mut events = client.events();
    let transport = next_event(&mut events, |e| match e {
        Event::Connected { transport, .. } => Some(*transport),
        _ => None,
    })
    .await;
    assert_eq!(transport, Transport::LongPolling);
    let back: u32 = client.emit_with_ack("echo", 5, None).await.unwrap();
    assert_eq!(back, 5);
    client.close().await;

    // WebSocket only: no fallback, the attempts fail.
    let result = fast(&format!("ws://{proxy}/ws"))
        .transports(Transports::WebSocket)
        .max_attempts(Some(1))
        .connect()
        .await;
    assert!(
        matches!(
            result,
            Err(client::ConnectError(ClientDisconnect::GaveUp { .. }))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn long_polling_session_moves_to_websocket_when_it_opens() {
    let server = TestHub::start(echo_hub()).await;
    let (proxy, block) = upgrade_blocking_proxy(server.addr).await;
    let (builder, mut rx) = recorder(fast(&format!("ws://{proxy}/ws")), "n");
    let client = builder
        .upgrade_retry(Duration::from_millis(50))
        .build()
        .unwrap();
    let mut events = client.events();
    let transport = next_event(&mut events, |e| match e {
        Event::Connected { transport, .. } => Some(*transport),
        _ => None,
    })
    .await;
    assert_eq!(transport, Transport::LongPolling);
    client.join("r").await.unwrap();
    let id = client.id().unwrap();
    server.hub.to("r").emit("n", 0).unwrap();
    assert_eq!(recv_n(&mut rx, 1).await, vec![0]);

    // Traffic flows while the session moves over.
    let hub = server.hub.clone();
    let sender = tokio::spawn(async move {
        for n in 1..=200 {
            hub.to("r").emit("n", n).unwrap();
            if n % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });
    block.store(false, std::sync::atomic::Ordering::SeqCst);
    let (upgraded_id, resumed) = next_event(&mut events, |e| match e {
        Event::Connected {
            id,
            resumed,
            transport: Transport::WebSocket,
            ..
        } => Some((id.clone(), *resumed)),
        _ => None,
    })
    .await;
    assert!(resumed);
    assert_eq!(upgraded_id, id);
    within("the sender", sender).await.unwrap();
    assert_eq!(recv_n(&mut rx, 200).await, (1..=200).collect::<Vec<_>>());
    server.hub.to("r").emit("n", 201).unwrap();
    assert_eq!(
        recv_n(&mut rx, 1).await,
        vec![201],
        "no duplicate before it"
    );
    let back: u32 = client.emit_with_ack("echo", 9, None).await.unwrap();
    assert_eq!(back, 9);
    client.close().await;
}
