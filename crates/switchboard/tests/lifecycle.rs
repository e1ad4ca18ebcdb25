//! Handshakes, authentication, kicks and graceful shutdown.

mod common;

use std::time::Duration;

use common::{Ended, TestServer, WsClient};
use serde_json::json;
use switchboard::{AllowedOrigins, AuthRejection, CloseCode, DisconnectReason, HandlerError, Hub};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Sends a raw HTTP request and returns the status code.
async fn http_status(addr: std::net::SocketAddr, request: &str) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(common::WAIT, stream.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn malformed_handshakes_get_plain_http_errors() {
    let server = TestServer::start(Hub::builder()).await;
    let addr = server.addr;
    let post = format!("POST /ws HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(http_status(addr, &post).await, 405);
    let plain = format!("GET /ws HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    assert_eq!(http_status(addr, &plain).await, 400);
    let bad_version = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
    );
    assert_eq!(http_status(addr, &bad_version).await, 400);
    let bad_codec = format!(
        "GET /ws?codec=xml HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    assert_eq!(http_status(addr, &bad_codec).await, 400);
    assert_eq!(server.hub.count(), 0);
    assert_eq!(server.hub.stats().handshakes_refused, 4);
}

#[tokio::test]
async fn foreign_origin_is_refused_unless_allowed() {
    let server = TestServer::start(Hub::builder()).await;
    let url = server.url();
    let same = format!("http://{}", server.addr);
    assert_eq!(
        WsClient::try_open_with(&url, &[("Origin", "http://evil.example")])
            .await
            .err(),
        Some(403)
    );
    assert!(
        WsClient::try_open_with(&url, &[("Origin", &same)])
            .await
            .is_ok()
    );
    // No Origin: a non-browser client.
    assert!(WsClient::try_open_with(&url, &[]).await.is_ok());

    let listed = TestServer::start(
        Hub::builder().allowed_origins(AllowedOrigins::List(vec!["https://app.example".into()])),
    )
    .await;
    assert!(
        WsClient::try_open_with(&listed.url(), &[("Origin", "https://app.example")])
            .await
            .is_ok()
    );
    assert_eq!(
        WsClient::try_open_with(&listed.url(), &[("Origin", "https://other.example")])
            .await
            .err(),
        Some(403)
    );
}

#[derive(Clone, Debug, PartialEq)]
struct User(String);

#[tokio::test]
async fn authentication_hook_refuses_or_attaches_app_data() {
    let server = TestServer::start(
        Hub::builder()
            .authenticate(|request| async move {
                match request.token.as_deref() {
                    Some("secret") => {
                        let mut data = http::Extensions::new();
                        data.insert(User("ada".into()));
                        Ok(data)
                    }
                    _ => Err(AuthRejection::new("bad token")),
                }
            })
            .on("whoami", |socket, _: serde_json::Value| async move {
                Ok::<_, HandlerError>(socket.extension::<User>().map(|u| u.0.clone()))
            }),
    )
    .await;
    assert_eq!(
        WsClient::try_open_with(&server.url(), &[]).await.err(),
        Some(403)
    );
    let wrong = format!("{}?token=wrong", server.url());
    assert_eq!(WsClient::try_open_with(&wrong, &[]).await.err(), Some(403));
    let mut client = WsClient::open(&format!("{}?token=secret", server.url())).await;
    assert_eq!(client.recv().await["event"], "$welcome");
    assert_eq!(client.call("whoami", json!(null), 1).await["data"], "ada");
}

#[tokio::test]
async fn kick_closes_with_4000_and_disconnect_fires_once_after_last_event() {
    let (events_tx, mut events) = mpsc::unbounded_channel::<String>();
    let on_event = events_tx.clone();
    let server = TestServer::start(
        Hub::builder()
            .on_connect({
                let tx = events_tx.clone();
                move |socket| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(format!("connect {}", socket.id()));
                    }
                }
            })
            .on("slow", move |_s, n: u64| {
                let tx = on_event.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = tx.send(format!("slow {n}"));
                    Ok::<_, HandlerError>(())
                }
            })
            .on_disconnect(move |socket, reason| {
                let tx = events_tx.clone();
                async move {
                    let _ = tx.send(format!("disconnect {} {reason:?}", socket.id()));
                }
            }),
    )
    .await;
    let (mut client, id) = server.joined_client().await;
    assert_eq!(
        common::within("the awaited step", events.recv())
            .await
            .unwrap(),
        format!("connect {id}")
    );
    client.send(json!({"event": "slow", "data": 1})).await;
    client.send(json!({"event": "slow", "data": 2})).await;
    // Make sure both are read before the kick.
    client.send(json!({"event": "$ping"})).await;
    assert_eq!(client.recv().await["event"], "$pong");
    assert!(server.hub.disconnect(&id, CloseCode::Kicked));
    assert_eq!(client.closed().await, Ended::Close(4000));
    assert_eq!(
        common::within("the awaited step", events.recv())
            .await
            .unwrap(),
        "slow 1"
    );
    assert_eq!(
        common::within("the awaited step", events.recv())
            .await
            .unwrap(),
        "slow 2"
    );
    let expected = format!(
        "disconnect {id} {:?}",
        DisconnectReason::ServerClosed(CloseCode::Kicked)
    );
    assert_eq!(
        common::within("the awaited step", events.recv())
            .await
            .unwrap(),
        expected
    );
    assert!(
        !server.hub.disconnect(&id, CloseCode::Kicked),
        "unknown once gone"
    );
    // Nothing more: the disconnect handler ran once.
    drop(server);
    assert!(
        tokio::time::timeout(Duration::from_millis(100), events.recv())
            .await
            .map(|e| e.is_none())
            .unwrap_or(true)
    );
}

#[tokio::test]
async fn shutdown_closes_every_socket_with_1001_and_refuses_new_ones() {
    let hub = Hub::builder()
        .shutdown_timeout(Duration::from_secs(3))
        .build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn({
        let hub = hub.clone();
        async move { hub.serve(listener).await }
    });
    let url = format!("ws://{addr}/");
    let mut a = WsClient::open(&url).await;
    let mut b = WsClient::open(&url).await;
    for client in [&mut a, &mut b] {
        assert_eq!(client.recv().await["event"], "$welcome");
    }
    assert_eq!(hub.count(), 2);
    let stopping = tokio::spawn({
        let hub = hub.clone();
        async move { hub.shutdown().await }
    });
    assert_eq!(a.closed().await, Ended::Close(1001));
    assert_eq!(b.closed().await, Ended::Close(1001));
    tokio::time::timeout(common::WAIT, stopping)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hub.count(), 0);
    assert!(hub.is_shutting_down());
    // The listener is closed once serve returns.
    tokio::time::timeout(common::WAIT, serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn serve_returns_only_once_every_socket_is_closed() {
    // A client that never answers the close frame keeps its socket until
    // the hub's close grace ends: `serve` must not return before that, or
    // a `main` that ends after it drops the close frames still queued.
    let hub = Hub::builder().build();
    let listener = switchboard::listen(([127, 0, 0, 1], 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn({
        let hub = hub.clone();
        async move { hub.serve(listener).await }
    });
    let mut silent = common::RawWsClient::connect(addr, "/").await;
    assert!(silent.read_text_frame().await.contains("$welcome"));
    assert_eq!(hub.count(), 1);
    tokio::spawn({
        let hub = hub.clone();
        async move { hub.shutdown().await }
    });
    tokio::time::timeout(common::WAIT, serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(hub.count(), 0, "serve returned with a socket still open");
    assert_eq!(silent.read_close_code().await, Some(1001));
}

#[tokio::test]
async fn shutdown_drops_sockets_that_do_not_close_by_the_deadline() {
    let hub = Hub::builder()
        .shutdown_timeout(Duration::from_millis(200))
        .build();
    let server = TestServer::start_hub(hub.clone()).await;
    // A raw client that never answers the close frame nor reads.
    let mut raw = common::RawWsClient::connect(server.addr, "/ws").await;
    // `$welcome` is queued once the socket is registered.
    assert!(raw.read_text_frame().await.contains("$welcome"));
    assert_eq!(hub.count(), 1);
    let started = tokio::time::Instant::now();
    tokio::time::timeout(common::WAIT, hub.shutdown())
        .await
        .unwrap();
    assert_eq!(hub.count(), 0);
    assert!(started.elapsed() < Duration::from_secs(4));
    // New handshakes are refused with 503.
    assert_eq!(
        WsClient::try_open_with(&server.url(), &[]).await.err(),
        Some(503)
    );
}

/// A socket that never sends anything has no dispatcher (it starts with the
/// first work): its disconnect handler must still run, once, and shutdown
/// must still wait for it.
#[tokio::test]
async fn a_socket_that_never_sent_anything_still_gets_its_disconnect_handler() {
    let (events_tx, mut events) = mpsc::unbounded_channel::<String>();
    let server = TestServer::start(Hub::builder().on_disconnect(move |socket, reason| {
        let tx = events_tx.clone();
        async move {
            let _ = tx.send(format!("disconnect {} {reason:?}", socket.id()));
        }
    }))
    .await;

    // Closed by the client.
    let (mut client, id) = server.joined_client().await;
    client.close().await;
    let expected = format!("disconnect {id} {:?}", DisconnectReason::ClientClosed(1000));
    assert_eq!(
        common::within("the awaited step", events.recv())
            .await
            .unwrap(),
        expected
    );

    // Kicked by the application.
    let (mut client, id) = server.joined_client().await;
    assert!(server.hub.disconnect(&id, CloseCode::Kicked));
    assert_eq!(client.closed().await, Ended::Close(4000));
    let expected = format!(
        "disconnect {id} {:?}",
        DisconnectReason::ServerClosed(CloseCode::Kicked)
    );
    assert_eq!(
        common::within("the awaited step", events.recv())
            .await
            .unwrap(),
        expected
    );

    // Ended by shutdown, which returns only once the handler has run.
    let (mut client, id) = server.joined_client().await;
    common::within("the awaited step", server.hub.shutdown()).await;
    let expected = format!(
        "disconnect {id} {:?}",
        DisconnectReason::ServerClosed(CloseCode::GoingAway)
    );
    assert_eq!(events.try_recv().unwrap(), expected);
    assert_eq!(client.closed().await, Ended::Close(1001));
    assert!(events.try_recv().is_err(), "each handler ran once");
}
