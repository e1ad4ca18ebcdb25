//! The client against an in-process hub: a lost link is resumed or the
//! session re-created, emits wait in the queue meanwhile.

#[path = "client_support.rs"]
mod support;

use support::*;

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
