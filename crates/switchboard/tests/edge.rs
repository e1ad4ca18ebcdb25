//! The HTTP edge of the library: what `Hub::serve` / `Hub::serve_router`
//! add over `axum::serve` (the header timeout, the peer address the
//! per-address limits need), and what a router served otherwise gets.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{WAIT, WsClient, within};
use switchboard::{Hub, RateLimit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn serve(hub: &Hub) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = hub.clone();
    tokio::spawn(async move { serving.serve(listener).await });
    addr
}

fn strict_hub() -> Hub {
    Hub::builder()
        .exempt_loopback(false)
        .max_connections_per_address(2)
        .handshake_rate_per_address(Some(RateLimit {
            per_second: 1000,
            burst: 1000,
        }))
        .build()
}

#[tokio::test]
async fn serve_gives_the_per_address_limits_their_peer_address() {
    let hub = strict_hub();
    let addr = serve(&hub).await;
    let url = format!("ws://{addr}/");
    let _a = WsClient::open(&url).await;
    let _b = WsClient::open(&url).await;
    assert_eq!(WsClient::try_open_with(&url, &[]).await.err(), Some(429));
    assert_eq!(hub.stats().edge.address_connections_refused, 1);
}

#[tokio::test]
async fn a_router_served_without_connect_info_has_no_per_address_limits() {
    let hub = strict_hub();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = hub.router("/ws");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("ws://{addr}/ws");
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(WsClient::open(&url).await);
    }
    assert_eq!(hub.stats().edge.address_connections_refused, 0);
}

#[tokio::test]
async fn serve_closes_a_partial_request_head_after_the_header_timeout() {
    let timeout = Duration::from_millis(300);
    let hub = Hub::builder().http_header_timeout(timeout).build();
    let addr = serve(&hub).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("the server closed the connection");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let took = started.elapsed();
    assert!(
        took >= timeout - Duration::from_millis(50),
        "closed after {took:?}, before the {timeout:?} timeout"
    );
    within("the header timeout to be counted", async {
        while hub.stats().edge.header_timeouts == 0 {
            tokio::task::yield_now().await;
        }
    })
    .await;
    // A normal client is still served.
    WsClient::open(&format!("ws://{addr}/")).await;
}
