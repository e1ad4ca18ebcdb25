//! The outbound pool against in-process WebSocket servers on 127.0.0.1:0:
//! draining, removal, bounded queues and stream policies, adopted hub
//! sockets, TLS, handshake checks.

mod pool_support;

use pool_support::*;
use std::sync::Arc;
use std::time::Duration;

use switchboard_client::pool::{
    ConnectionOptions, Frame, OverflowPolicy, Pool, PoolDisconnect, PoolError, PoolEvent, Source,
    tls_config_with_roots,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

#[tokio::test]
async fn close_all_drains_every_connection() {
    let (a_tx, mut a_notes) = mpsc::unbounded_channel();
    let (b_tx, mut b_notes) = mpsc::unbounded_channel();
    let a = TestServer::start(Behaviour::Feed { count: 0 }, a_tx).await;
    let b = TestServer::start(Behaviour::Feed { count: 0 }, b_tx).await;
    let (pool, mut events) = Pool::new();
    pool.add("a", &a.url()).unwrap();
    pool.add("b", &b.url()).unwrap();
    pool.add("dead", &refused_url().await).unwrap();
    until(&mut events, "a", |e| is_connected(e, "a")).await;
    until(&mut events, "b", |e| is_connected(e, "b")).await;

    // Queued right before the drain: written before the close frame.
    pool.send("a", Frame::text("last words")).unwrap();
    pool.close_all().await;
    assert_eq!(pool.count(), 0);
    assert!(matches!(note(&mut a_notes).await, Note::Text(t) if t == "last words"));
    // Both servers got a normal close frame.
    assert!(matches!(note(&mut a_notes).await, Note::Closed(1000)));
    assert!(matches!(note(&mut b_notes).await, Note::Closed(1000)));
    // The stream reports the closes and then ends.
    let mut removed = Vec::new();
    while let Some(event) = tokio::time::timeout(WAIT, events.recv()).await.unwrap() {
        match event {
            PoolEvent::Disconnected { id, reason } => {
                assert_eq!(reason, PoolDisconnect::Local, "{id}");
            }
            PoolEvent::Removed { id } => removed.push(id.to_string()),
            PoolEvent::Reconnecting { .. } | PoolEvent::Connected { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    removed.sort();
    assert_eq!(removed, ["a", "b", "dead"]);
    assert!(matches!(
        pool.add("c", &a.url()),
        Err(PoolError::PoolClosed)
    ));
    assert!(matches!(
        pool.send("a", Frame::text("x")),
        Err(PoolError::UnknownId(_))
    ));
}

#[tokio::test]
async fn remove_closes_one_and_send_all_reaches_the_rest() {
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let a = TestServer::start(Behaviour::Feed { count: 0 }, notes_tx.clone()).await;
    let b = TestServer::start(Behaviour::Feed { count: 0 }, notes_tx).await;
    let (pool, mut events) = Pool::new();
    pool.add("a", &a.url()).unwrap();
    pool.add("b", &b.url()).unwrap();
    until(&mut events, "a", |e| is_connected(e, "a")).await;
    until(&mut events, "b", |e| is_connected(e, "b")).await;

    let outcome = pool.send_all(Frame::binary(&b"\x00\x01"[..]));
    assert_eq!((outcome.sent, outcome.failed.len()), (2, 0));
    let mut from = Vec::new();
    while from.len() < 2 {
        if let PoolEvent::Frame { id, frame } = next(&mut events).await {
            assert_eq!(frame, Frame::binary(&b"\x00\x01"[..]));
            from.push(id.to_string());
        }
    }
    from.sort();
    assert_eq!(from, ["a", "b"]);

    pool.remove("a").await.unwrap();
    assert!(matches!(note(&mut notes).await, Note::Closed(1000)));
    assert_eq!(pool.count(), 1);
    until(
        &mut events,
        "a removed",
        |e| matches!(e, PoolEvent::Removed { id } if &**id == "a"),
    )
    .await;
    assert!(matches!(
        pool.remove("a").await,
        Err(PoolError::UnknownId(_))
    ));
    pool.send("b", Frame::text("still here")).unwrap();
    let event = next(&mut events).await;
    assert_eq!(text_of(&event), Some(("b", "still here")));
    pool.close_all().await;
}

#[tokio::test]
async fn a_full_send_queue_is_a_clear_error() {
    // Nobody dials this connection successfully, so nothing drains its queue.
    let (pool, _events) = Pool::new();
    let options = ConnectionOptions::new()
        .send_queue(2)
        .reconnect_delay(Duration::from_secs(60), Duration::from_secs(60));
    pool.add_with("dead", &refused_url().await, options)
        .unwrap();
    pool.send("dead", Frame::text("1")).unwrap();
    pool.send("dead", Frame::text("2")).unwrap();
    assert_eq!(
        pool.send("dead", Frame::text("3")),
        Err(PoolError::QueueFull("dead".into()))
    );
    let outcome = pool.send_all(Frame::text("4"));
    assert_eq!(outcome.sent, 0);
    assert_eq!(
        outcome.failed,
        [("dead".to_owned(), PoolError::QueueFull("dead".into()))]
    );
    pool.close_all().await;
}

/// Reads nothing until the server has written `count` frames, then checks
/// what the stream kept.
async fn slow_consumer(
    policy: OverflowPolicy,
    capacity: usize,
    count: usize,
) -> (Vec<String>, u64) {
    let (notes_tx, mut notes) = mpsc::unbounded_channel();
    let server = TestServer::start(Behaviour::Feed { count }, notes_tx).await;
    let (pool, mut events) = Pool::builder()
        .event_capacity(capacity)
        .overflow(policy)
        .build();
    pool.add_with("feed", &server.url(), subscribing("f", Arc::default()))
        .unwrap();
    assert!(is_connected(&next(&mut events).await, "feed"));
    assert!(matches!(note(&mut notes).await, Note::Written));
    if policy == OverflowPolicy::Backpressure {
        // The connection waits for room: the stream never holds more.
        assert!(events.len() <= capacity);
    } else {
        // The server saw the pong sent after every frame was read.
        assert!(matches!(note(&mut notes).await, Note::Read));
    }
    let mut texts = Vec::new();
    while texts.len() < count {
        let event = if policy == OverflowPolicy::Backpressure {
            next(&mut events).await
        } else {
            match events.try_recv() {
                Some(event) => event,
                None => break,
            }
        };
        if let Some((_, text)) = text_of(&event) {
            texts.push(text.to_owned());
        }
    }
    let dropped = events.dropped();
    assert_eq!(dropped, pool.dropped());
    pool.close_all().await;
    (texts, dropped)
}

#[tokio::test]
async fn backpressure_loses_nothing() {
    let (texts, dropped) = slow_consumer(OverflowPolicy::Backpressure, 4, 500).await;
    let expected: Vec<String> = (0..500).map(|i| format!("f:{i}")).collect();
    assert_eq!(texts, expected);
    assert_eq!(dropped, 0);
}

#[tokio::test]
async fn drop_newest_keeps_the_first_and_counts_the_rest() {
    // Capacity 8: `Connected` was read, so 8 frames fit.
    let (texts, dropped) = slow_consumer(OverflowPolicy::DropNewest, 8, 100).await;
    let expected: Vec<String> = (0..8).map(|i| format!("f:{i}")).collect();
    assert_eq!(texts, expected);
    assert_eq!(dropped, 92);
}

#[tokio::test]
async fn drop_oldest_keeps_the_latest_and_counts_the_rest() {
    let (texts, dropped) = slow_consumer(OverflowPolicy::DropOldest, 8, 100).await;
    let expected: Vec<String> = (92..100).map(|i| format!("f:{i}")).collect();
    assert_eq!(texts, expected);
    assert_eq!(dropped, 92);
}

#[tokio::test]
async fn hub_raw_sockets_are_adopted_beside_dialed_ones() {
    let (pool, mut events) = Pool::new();
    let adopter = pool.clone();
    let hub = switchboard::Hub::builder()
        .raw_mode()
        .on_connect(move |socket| {
            let pool = adopter.clone();
            async move {
                let id = format!("hub:{}", socket.id());
                pool.adopt(id, socket).await.unwrap();
            }
        })
        .on_raw(pool.raw_handler())
        .build();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = hub.clone();
    tokio::spawn(async move { serving.serve(listener).await });

    // The pool dials the hub: both ends of one link live in the pool.
    pool.add("dialer", &format!("ws://{addr}/")).unwrap();
    let mut adopted = None;
    let mut dialer_up = false;
    while adopted.is_none() || !dialer_up {
        match next(&mut events).await {
            PoolEvent::Connected { id } if &*id == "dialer" => dialer_up = true,
            PoolEvent::Connected { id } => adopted = Some(id.to_string()),
            other => panic!("unexpected {other:?}"),
        }
    }
    let adopted = adopted.unwrap();
    assert!(adopted.starts_with("hub:"));
    assert_eq!(pool.count(), 2);
    let sources: Vec<Source> = pool.list().into_iter().map(|c| c.source).collect();
    assert!(sources.contains(&Source::Adopted(adopted["hub:".len()..].to_owned())));

    pool.send("dialer", Frame::text("up")).unwrap();
    let event = next(&mut events).await;
    assert_eq!(text_of(&event), Some((adopted.as_str(), "up")));
    pool.send(&adopted, Frame::binary(&b"down"[..])).unwrap();
    assert_eq!(
        next(&mut events).await,
        PoolEvent::Frame {
            id: "dialer".into(),
            frame: Frame::binary(&b"down"[..])
        }
    );
    let outcome = pool.send_all(Frame::text("all"));
    assert_eq!(outcome.sent, 2);
    let mut got = vec![
        text_of(&next(&mut events).await).map(|(id, _)| id.to_owned()),
        text_of(&next(&mut events).await).map(|(id, _)| id.to_owned()),
    ];
    got.sort();
    let mut want = vec![Some("dialer".to_owned()), Some(adopted.clone())];
    want.sort();
    assert_eq!(got, want);

    // Closing the dialed end ends the hub socket: it leaves the pool too.
    pool.remove("dialer").await.unwrap();
    until(
        &mut events,
        "the adopted socket's removal",
        |e| matches!(e, PoolEvent::Removed { id } if **id == *adopted),
    )
    .await;
    assert_eq!(pool.count(), 0);
    hub.shutdown().await;
}

#[tokio::test]
async fn wss_with_a_self_signed_certificate() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server_config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (notes_tx, _notes) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let notes = notes_tx.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Some(ws) = accept_ws(tls).await {
                    serve_connection(ws, Behaviour::Feed { count: 2 }, notes).await;
                }
            });
        }
    });

    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let url = format!("wss://localhost:{port}/secure");
    let (pool, mut events) = Pool::new();
    let options = subscribing("s", Arc::default()).tls(tls_config_with_roots(roots));
    pool.add_with("trusted", &url, options).unwrap();
    // The system roots do not trust the test certificate.
    let strict =
        ConnectionOptions::new().reconnect_delay(Duration::from_secs(60), Duration::from_secs(60));
    pool.add_with("untrusted", &url, strict).unwrap();

    let mut frames = Vec::new();
    let mut untrusted_error = None;
    while frames.len() < 2 || untrusted_error.is_none() {
        match next(&mut events).await {
            PoolEvent::Frame { id, frame } => {
                assert_eq!(&*id, "trusted");
                frames.push(frame.as_text().unwrap().to_owned());
            }
            PoolEvent::Reconnecting { id, error, .. } => {
                assert_eq!(&*id, "untrusted");
                untrusted_error = Some(error);
            }
            PoolEvent::Connected { id } => assert_eq!(&*id, "trusted"),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(frames, ["s:0", "s:1"]);
    assert!(untrusted_error.unwrap().contains("TLS"));
    pool.close_all().await;
}

#[tokio::test]
async fn the_handshake_is_checked() {
    // A server that answers the upgrade with a wrong accept key.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let _ = tcp.read(&mut buf).await;
                let _ = tcp
                    .write_all(
                        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                          Connection: Upgrade\r\nSec-WebSocket-Accept: bm9wZQ==\r\n\r\n",
                    )
                    .await;
                // Hold the socket until the client gives up on it.
                let _ = tcp.read(&mut buf).await;
            });
        }
    });
    let (pool, mut events) = Pool::new();
    let options = ConnectionOptions::new()
        .reconnect_delay(Duration::from_millis(1), Duration::from_millis(1))
        .max_attempts(Some(1));
    pool.add_with("liar", &format!("ws://{addr}/"), options)
        .unwrap();
    match next(&mut events).await {
        PoolEvent::Reconnecting {
            attempt: 1, error, ..
        } => {
            assert!(error.contains("wrong Sec-WebSocket-Accept"), "{error}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(matches!(next(&mut events).await, PoolEvent::Removed { .. }));
}
