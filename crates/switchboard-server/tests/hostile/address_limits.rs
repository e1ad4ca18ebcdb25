//! Per-client-address limits: concurrent connections and handshake rate,
//! over WebSocket and the long-polling open. The server trusts 127.0.0.1
//! as a proxy, so `X-Forwarded-For` gives each attacker an address of its
//! own; the normal client (loopback, no header) is exempt and served.

use std::time::Instant;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use crate::common::{HttpResponse, http, raw_handshake, within};
use crate::support::AttackedServer;

/// A WebSocket handshake from the client `xff` (through the trusted
/// proxy): its status and, when upgraded, the open stream.
async fn handshake_from(target: &AttackedServer, xff: &str) -> (u16, Option<TcpStream>) {
    let (status, _, stream) = raw_handshake(target.addr, "/ws", &[("X-Forwarded-For", xff)]).await;
    (status, (status == 101).then_some(stream))
}

/// A handshake expected to be refused: the whole answer. A handshake
/// accepted after all is answered `101` with no body (its connection,
/// now a WebSocket, is dropped rather than read to its end).
async fn refused_handshake(target: &AttackedServer, xff: &str) -> HttpResponse {
    let (status, headers, mut stream) =
        raw_handshake(target.addr, "/ws", &[("X-Forwarded-For", xff)]).await;
    let mut answer = HttpResponse {
        status,
        headers,
        body: Vec::new(),
    };
    if status != 101 {
        let length = answer
            .header("content-length")
            .and_then(|length| length.parse().ok())
            .expect("a refusal has a Content-Length");
        answer.body = vec![0; length];
        within("the refusal's body", stream.read_exact(&mut answer.body))
            .await
            .expect("read the refusal's body");
    }
    answer
}

async fn poll_open(target: &AttackedServer, xff: &str) -> HttpResponse {
    http(
        target.addr,
        "POST",
        "/ws/poll",
        &[
            ("X-Forwarded-For", xff),
            ("Content-Type", "application/json"),
        ],
        b"",
    )
    .await
}

#[tokio::test]
async fn one_address_gets_at_most_its_connections() {
    // The default: 1,000 connections per address (the rate limit
    // is off here so that the connection limit alone is under test).
    let target = AttackedServer::start(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--handshake-rate-per-address",
        "0",
    ])
    .await;
    let attacker = "203.0.113.9";
    let mut held = Vec::new();
    for i in 0..1000 {
        let (status, stream) = handshake_from(&target, attacker).await;
        assert_eq!(status, 101, "connection {i} of the attacker's 1,000");
        held.push(stream.unwrap());
    }
    let refused = refused_handshake(&target, attacker).await;
    let message = refused.api_error(429, "too_many_connections");
    assert!(message.contains("1000"), "{message}");
    // The long-polling open counts the same connections.
    poll_open(&target, attacker)
        .await
        .api_error(429, "too_many_connections");
    // Other addresses, and the normal (loopback) client, are served.
    assert_eq!(handshake_from(&target, "203.0.113.10").await.0, 101);
    assert_eq!(poll_open(&target, "203.0.113.11").await.status, 200);
    target.assert_served().await;
    assert_eq!(
        target
            .metric("switchboard_address_refused_total{reason=\"connections\"}")
            .await,
        2
    );
    target.assert_growth_below("1,000 connections from one address", 48 * 1024);

    // A connection that ends gives its place back.
    held.truncate(999);
    within("the attacker's place back", async {
        loop {
            match handshake_from(&target, attacker).await {
                (101, Some(stream)) => return stream,
                (429, _) => tokio::task::yield_now().await,
                (status, _) => panic!("unexpected {status}"),
            }
        }
    })
    .await;
}

#[tokio::test]
async fn one_address_gets_at_most_its_handshake_rate() {
    // The default: 100 handshakes/s per address, burst 200.
    let target = AttackedServer::start(&["--trusted-proxy", "127.0.0.1"]).await;
    let attacker = "198.51.100.7";
    let started = Instant::now();
    let mut accepted = 0u64;
    let refusal = loop {
        assert!(accepted < 5000, "no refusal after {accepted} handshakes");
        match handshake_from(&target, attacker).await.0 {
            101 => accepted += 1,
            429 => break refused_handshake(&target, attacker).await,
            other => panic!("unexpected {other}"),
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = 200.0 + 100.0 * elapsed;
    assert!(
        (accepted as f64) <= allowed + 2.0,
        "{accepted} handshakes in {elapsed:.2} s (at most {allowed:.0})"
    );
    assert!(
        accepted >= 200,
        "the burst of 200 was let through ({accepted})"
    );
    // The refused attacker is told to come back in a second. (The second
    // probe may find a token refilled: then it is a 101.)
    if refusal.status == 429 {
        refusal.api_error(429, "too_many_handshakes");
        assert_eq!(refusal.header("retry-after"), Some("1"));
    }
    // Others are served.
    assert_eq!(handshake_from(&target, "198.51.100.8").await.0, 101);
    target.assert_served().await;
    assert!(
        target
            .metric("switchboard_address_refused_total{reason=\"handshake_rate\"}")
            .await
            >= 1
    );
}

#[tokio::test]
async fn the_long_polling_open_is_under_the_handshake_rate() {
    let target = AttackedServer::start(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--handshake-rate-per-address",
        "1",
        "--handshake-burst-per-address",
        "1",
    ])
    .await;
    assert_eq!(poll_open(&target, "192.0.2.1").await.status, 200);
    let refused = poll_open(&target, "192.0.2.1").await;
    refused.api_error(429, "too_many_handshakes");
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(poll_open(&target, "192.0.2.2").await.status, 200);
    target.assert_served().await;
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    // No trusted proxy: X-Forwarded-For is the attacker's own words, and
    // the loopback peer is exempt whatever it claims.
    let target = AttackedServer::start(&["--max-connections-per-address", "2"]).await;
    let mut held = Vec::new();
    for _ in 0..5 {
        let (status, stream) = handshake_from(&target, "203.0.113.50").await;
        assert_eq!(status, 101);
        held.push(stream);
    }
    // With the loopback exemption off, loopback counts too.
    let strict = AttackedServer::start(&[
        "--max-connections-per-address",
        "2",
        "--exempt-loopback",
        "false",
    ])
    .await;
    // AttackedServer::start's own probe may still be leaving: take two places,
    // retrying while it holds them; a third is then refused.
    let mut held = Vec::new();
    within("two loopback connections", async {
        while held.len() < 2 {
            match raw_handshake(strict.addr, "/ws", &[]).await {
                (101, _, stream) => held.push(stream),
                (429, _, _) => tokio::task::yield_now().await,
                (status, _, _) => panic!("unexpected {status}"),
            }
        }
    })
    .await;
    assert_eq!(raw_handshake(strict.addr, "/ws", &[]).await.0, 429);
    assert!(
        strict
            .metric("switchboard_address_refused_total{reason=\"connections\"}")
            .await
            >= 1
    );
}

#[tokio::test]
async fn the_address_table_is_bounded() {
    // 2,000 addresses (one connection each) against a table of 1,000:
    // the first 1,000 are tracked, the others refused 503 while all are
    // busy; once an address's connections are gone, a new one fits.
    let target = AttackedServer::start(&[
        "--trusted-proxy",
        "127.0.0.1",
        "--max-tracked-addresses",
        "1000",
    ])
    .await;
    let mut held = Vec::new();
    let mut full = 0;
    for i in 0..2000u32 {
        let xff = format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255);
        match handshake_from(&target, &xff).await {
            (101, Some(stream)) => held.push(stream),
            (503, _) => full += 1,
            (status, _) => panic!("unexpected {status} for {xff}"),
        }
    }
    assert_eq!(held.len(), 1000, "the table's 1,000 addresses got in");
    assert_eq!(full, 1000);
    refused_handshake(&target, "192.0.2.200")
        .await
        .api_error(503, "address_table_full");
    target.assert_served().await;
    assert_eq!(
        target
            .metric("switchboard_address_refused_total{reason=\"table_full\"}")
            .await,
        1001
    );
    target.assert_growth_below("2,000 client addresses", 48 * 1024);
    // An address whose connections are gone (and whose bucket has
    // refilled) is forgotten to make room.
    drop(held.pop());
    within("room in the table", async {
        loop {
            match handshake_from(&target, "192.0.2.201").await.0 {
                101 => return,
                503 => tokio::task::yield_now().await,
                status => panic!("unexpected {status}"),
            }
        }
    })
    .await;
}
