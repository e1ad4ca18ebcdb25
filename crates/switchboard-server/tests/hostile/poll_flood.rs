//! Attack 3: long-polling opens that never poll. 300 `POST /ws/poll` on one
//! keep-alive connection, with `--max-connections 300`, used to take every
//! connection slot for 45 s (every WebSocket handshake got 503). A link
//! opened by `POST` now takes no slot until its first `GET`; such pending
//! links are bounded hub-wide (`--max-pending-polls`, default 1,000; over
//! it: 503 `unavailable`) and drop after `--pending-poll-timeout` (default
//! 10 s) without a `GET`. The first `GET` takes a slot, or gets 503 and ends
//! the session when the hub is full.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::common::{WsClient, http, within};
use crate::support::{AttackedServer, eventually_async};

/// One HTTP/1.1 connection kept alive across requests.
struct KeepAlive {
    stream: BufReader<TcpStream>,
    addr: SocketAddr,
}

impl KeepAlive {
    async fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        Self {
            stream: BufReader::new(stream),
            addr,
        }
    }

    /// Sends a request with an empty body and reads the answer: its status
    /// and JSON body.
    async fn request(&mut self, method: &str, path: &str) -> (u16, Value) {
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\n\r\n",
            self.addr
        );
        self.stream
            .get_mut()
            .write_all(request.as_bytes())
            .await
            .expect("write");
        let mut status_line = String::new();
        self.stream.read_line(&mut status_line).await.expect("read");
        let status: u16 = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("a status line, not {status_line:?}"));
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.stream.read_line(&mut line).await.expect("read");
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().expect("a length");
            }
        }
        let mut body = vec![0; length];
        self.stream.read_exact(&mut body).await.expect("body");
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (status, body)
    }
}

#[tokio::test]
async fn pending_polls_hold_no_connection_slot() {
    // The pending timeout is long enough for 298 WebSocket clients to
    // connect on a loaded CI machine while the 300 links wait.
    let target =
        AttackedServer::start(&["--max-connections", "300", "--pending-poll-timeout", "10s"]).await;
    let mut attacker = KeepAlive::open(target.addr).await;
    let mut sessions = Vec::new();
    within("300 long-polling opens", async {
        for _ in 0..300 {
            let (status, body) = attacker.request("POST", "/ws/poll").await;
            assert_eq!(status, 200, "{body}");
            sessions.push(body[0]["data"]["session"].as_str().unwrap().to_owned());
        }
    })
    .await;
    assert_eq!(target.metric_f64("switchboard_pending_polls").await, 300.0);
    // Every slot is still free for WebSocket clients: 298 of them connect
    // while the 300 pending links wait, and a normal client is served.
    let mut clients = Vec::new();
    for _ in 0..298 {
        clients.push(WsClient::connect_at(target.addr, "/ws").await);
    }
    target.assert_served().await;
    // The gauge counts every live link, the pending ones too (once the
    // normal client's link, just closed, is gone).
    let pending = target.metric_f64("switchboard_pending_polls").await;
    assert_eq!(
        pending, 300.0,
        "the pending links expired while clients connected"
    );
    eventually_async(
        "the gauge to count 298 clients and 300 pending links",
        || async { target.metric_f64("switchboard_connections").await == 598.0 },
    )
    .await;
    drop(clients);
    // No first GET within the pending timeout: the links count as dropped.
    let expiry = tokio::time::timeout(Duration::from_secs(30), async {
        while target
            .metric_f64("switchboard_pending_polls_expired_total")
            .await
            < 300.0
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    expiry
        .await
        .expect("the 300 pending links expired within 30 s");
    assert_eq!(target.metric_f64("switchboard_pending_polls").await, 0.0);
    // A GET after that finds a session waiting for a resume, not a link
    // (on a new connection: the server closed the idle one meanwhile).
    let (status, _) = KeepAlive::open(target.addr)
        .await
        .request("GET", &format!("/ws/poll?sid={}", sessions[0]))
        .await;
    assert_eq!(status, 404);
    target.assert_served().await;
    target.assert_growth_below("300 long-polling opens without a GET", 16 * 1024);
}

#[tokio::test]
async fn pending_polls_are_bounded_and_the_first_get_takes_a_slot() {
    let target =
        AttackedServer::start(&["--max-connections", "2", "--max-pending-polls", "100"]).await;
    let mut attacker = KeepAlive::open(target.addr).await;
    let mut refused = 0;
    let mut opened = Vec::new();
    within("300 long-polling opens", async {
        for _ in 0..300 {
            match attacker.request("POST", "/ws/poll").await {
                (200, body) => opened.push(body[0]["data"]["session"].as_str().unwrap().to_owned()),
                (503, body) => {
                    assert_eq!(body["error"]["code"], "unavailable", "{body}");
                    refused += 1;
                }
                (status, body) => panic!("{status} {body}"),
            }
        }
    })
    .await;
    assert_eq!((opened.len(), refused), (100, 200));
    assert_eq!(
        target
            .metric_f64("switchboard_pending_polls_refused_total")
            .await,
        200.0
    );
    // Two slots, none taken: a normal client (two connections) is served.
    target.assert_served().await;
    // A first GET takes a slot: the second client then finds the hub full.
    let poll = format!("/ws/poll?sid={}", opened[0]);
    let getting = tokio::spawn({
        let addr = target.addr;
        async move { http(addr, "GET", &poll, &[], b"").await }
    });
    eventually_async("the first GET to take its slot", || async {
        target.metric_f64("switchboard_pending_polls").await == 99.0
    })
    .await;
    let one = WsClient::connect_at(target.addr, "/ws").await;
    let (status, _, _) = crate::common::raw_handshake(target.addr, "/ws", &[]).await;
    assert_eq!(status, 503, "the hub is full");
    // With both slots taken, another session's first GET gets 503 and
    // ends it.
    let (status, body) = attacker
        .request("GET", &format!("/ws/poll?sid={}", opened[1]))
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
    let (status, _) = attacker
        .request("GET", &format!("/ws/poll?sid={}", opened[1]))
        .await;
    assert_eq!(status, 404, "the session has ended");
    one.close_normally().await;
    getting.abort();
}
