//! The outbound pool against in-process WebSocket servers on 127.0.0.1:0:
//! aggregation, reconnects, refusals, dead peers.

mod pool_support;

use pool_support::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use switchboard_client::pool::{
    ConnectionOptions, Frame, Pool, PoolDisconnect, PoolError, PoolEvent, Source,
};
use tokio::sync::mpsc;

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn several_feeds_aggregate_into_one_stream_with_ids() {
    let (notes_tx, _notes) = mpsc::unbounded_channel();
    let names = ["alpha", "beta", "gamma"];
    let mut servers = Vec::new();
    let (pool, mut events) = Pool::new();
    for name in names {
        let server = TestServer::start(Behaviour::Feed { count: 20 }, notes_tx.clone()).await;
        pool.add_with(name, &server.url(), subscribing(name, Arc::default()))
            .unwrap();
        servers.push(server);
    }
    assert_eq!(pool.count(), 3);
    let listed: Vec<String> = pool.list().into_iter().map(|c| c.id).collect();
    assert_eq!(listed, ["alpha", "beta", "gamma"]);
    assert!(matches!(&pool.list()[0].source, Source::Dialed(url) if url == &servers[0].url()));

    let mut seen: std::collections::HashMap<String, Vec<String>> = Default::default();
    let mut frames = 0;
    while frames < 60 {
        let event = next(&mut events).await;
        if let Some((id, text)) = text_of(&event) {
            seen.entry(id.to_owned()).or_default().push(text.to_owned());
            frames += 1;
        }
    }
    for name in names {
        let expected: Vec<String> = (0..20).map(|i| format!("{name}:{i}")).collect();
        assert_eq!(seen[name], expected, "frames of {name}, in order");
    }
    assert!(pool.list().iter().all(|c| c.connected));
    assert_eq!(pool.dropped(), 0);
    pool.close_all().await;
}

#[tokio::test]
async fn a_killed_server_is_redialed_and_the_hook_resubscribes() {
    let (notes_tx, _notes) = mpsc::unbounded_channel();
    let server = TestServer::start(Behaviour::Feed { count: 3 }, notes_tx.clone()).await;
    let addr = server.addr;
    let calls = Arc::new(AtomicUsize::new(0));
    let (pool, mut events) = Pool::new();
    pool.add_with("feed", &server.url(), subscribing("t", calls.clone()))
        .unwrap();

    assert!(is_connected(&next(&mut events).await, "feed"));
    for i in 0..3 {
        let event = next(&mut events).await;
        assert_eq!(text_of(&event), Some(("feed", format!("t:{i}").as_str())));
    }

    server.kill().await;
    let event = next(&mut events).await;
    assert!(
        matches!(&event, PoolEvent::Disconnected { id, reason: PoolDisconnect::Transport(_) | PoolDisconnect::PeerClosed { .. } } if &**id == "feed"),
        "{event:?}"
    );
    let event = next(&mut events).await;
    assert!(
        matches!(&event, PoolEvent::Reconnecting { attempt: 1, .. }),
        "{event:?}"
    );
    assert!(!pool.list()[0].connected);

    let _server = TestServer::restart_on(addr, Behaviour::Feed { count: 3 }, notes_tx).await;
    until(&mut events, "Connected again", |e| is_connected(e, "feed")).await;
    for i in 0..3 {
        let event = next(&mut events).await;
        assert_eq!(text_of(&event), Some(("feed", format!("t:{i}").as_str())));
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the hook ran on each connect"
    );
    pool.close_all().await;
}

#[tokio::test]
async fn a_refusing_url_does_not_block_the_others() {
    let (notes_tx, _notes) = mpsc::unbounded_channel();
    let server = TestServer::start(Behaviour::Feed { count: 1 }, notes_tx).await;
    let (pool, mut events) = Pool::new();
    let refused = refused_url().await;
    let options = ConnectionOptions::new()
        .reconnect_delay(Duration::from_millis(5), Duration::from_millis(40));
    pool.add_with("dead", &refused, options).unwrap();
    pool.add_url(&server.url()).unwrap();
    assert!(matches!(
        pool.add_url(&server.url()),
        Err(PoolError::DuplicateId(_))
    ));
    assert!(matches!(
        pool.add("bad", "http://example.com/"),
        Err(PoolError::InvalidUrl(_))
    ));

    let good = server.url();
    until(&mut events, "the good one connected", |e| {
        is_connected(e, &good)
    })
    .await;
    pool.send(&good, Frame::text("hello")).unwrap();
    let mut attempts = Vec::new();
    loop {
        let event = next(&mut events).await;
        match &event {
            PoolEvent::Reconnecting {
                id, attempt, error, ..
            } if &**id == "dead" => {
                assert!(error.contains("connect failed"), "{error}");
                attempts.push(*attempt);
            }
            PoolEvent::Frame { id, frame } if **id == *good => {
                assert_eq!(frame.as_text(), Some("hello"));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The dead one keeps trying, counting up, without ever connecting.
    while attempts.len() < 3 {
        match next(&mut events).await {
            PoolEvent::Reconnecting { attempt, .. } => attempts.push(attempt),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        attempts.windows(2).all(|w| w[1] == w[0] + 1),
        "{attempts:?}"
    );
    assert_eq!(pool.count(), 2);
    pool.close_all().await;
}

#[tokio::test]
async fn max_attempts_gives_up_and_removes() {
    let (pool, mut events) = Pool::new();
    let options = ConnectionOptions::new()
        .reconnect_delay(Duration::from_millis(1), Duration::from_millis(2))
        .max_attempts(Some(2));
    pool.add_with("dead", &refused_url().await, options)
        .unwrap();
    let mut seen = Vec::new();
    loop {
        let event = next(&mut events).await;
        let removed = matches!(event, PoolEvent::Removed { .. });
        seen.push(event);
        if removed {
            break;
        }
    }
    let attempts: Vec<u32> = seen
        .iter()
        .filter_map(|e| match e {
            PoolEvent::Reconnecting { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(attempts, [1, 2]);
    assert_eq!(pool.count(), 0);
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_detected() {
    let (notes_tx, _notes) = mpsc::unbounded_channel();
    let server = TestServer::start(Behaviour::Mute, notes_tx).await;
    let (pool, mut events) = Pool::new();
    let options = ConnectionOptions::new()
        .heartbeat(Some(Duration::from_millis(50)), Duration::from_millis(150))
        .max_attempts(Some(0));
    pool.add_with("mute", &server.url(), options).unwrap();
    assert!(is_connected(&next(&mut events).await, "mute"));
    let event = next(&mut events).await;
    assert_eq!(
        event,
        PoolEvent::Disconnected {
            id: "mute".into(),
            reason: PoolDisconnect::PingTimeout
        }
    );
    assert!(matches!(next(&mut events).await, PoolEvent::Removed { .. }));
}
