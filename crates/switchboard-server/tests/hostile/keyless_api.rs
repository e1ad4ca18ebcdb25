//! Attack 6: a web page in a browser on the server's machine drives the
//! keyless API: a `text/plain` publish (no CORS preflight), and DNS
//! rebinding (`Host` and `Origin` both `evil.example:PORT`) on stats,
//! kicks and publishes; and the WebSocket same-host rule under rebinding
//! when a public origin is configured. All refused; a correct local call
//! still works.

use std::net::SocketAddr;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{WsClient, publish, within};
use crate::support::AttackedServer;

/// One request with its own `Host` header; the status and the JSON error
/// code, if any.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    within(&format!("{method} {path}"), async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        let _ = stream.read_to_end(&mut raw).await;
        let text = String::from_utf8_lossy(&raw).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {text:?}"));
        let code = text
            .split("\r\n\r\n")
            .nth(1)
            .and_then(|body| serde_json::from_str::<serde_json::Value>(body).ok())
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default();
        (status, code)
    })
    .await
}

#[tokio::test]
async fn a_cross_site_page_cannot_drive_the_keyless_api() {
    let target = AttackedServer::start(&[]).await;
    let addr = target.addr;
    let local = addr.to_string();
    let mut member = WsClient::connect_at(addr, "/ws").await;
    member.join("victims").await;
    let body = json!({"event": "pwned", "room": "victims", "data": 1}).to_string();

    // A simple cross-site POST: text/plain, no preflight. A browser sends
    // its Origin (403); without one, the body type alone refuses it (415).
    let (status, code) = request(
        addr,
        "POST",
        "/api/publish",
        &local,
        &[
            ("Content-Type", "text/plain"),
            ("Origin", "http://evil.example"),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!((status, code.as_str()), (403, "origin_refused"));
    let (status, code) = request(
        addr,
        "POST",
        "/api/publish",
        &local,
        &[("Content-Type", "text/plain")],
        body.as_bytes(),
    )
    .await;
    assert_eq!((status, code.as_str()), (415, "unsupported_media_type"));

    // DNS rebinding: Host and Origin agree, on the attacker's name.
    let evil_host = format!("evil.example:{}", addr.port());
    let evil_origin = format!("http://{evil_host}");
    let rebinding = [
        ("Origin", evil_origin.as_str()),
        ("Content-Type", "application/json"),
    ];
    for (method, path, body) in [
        ("GET", "/api/stats", &b""[..]),
        ("DELETE", "/api/sockets/some-id", &b""[..]),
        ("POST", "/api/publish", body.as_bytes()),
        ("GET", "/api/rooms/victims", &b""[..]),
    ] {
        let (status, code) = request(addr, method, path, &evil_host, &rebinding, body).await;
        assert_eq!(
            (status, code.as_str()),
            (421, "host_refused"),
            "{method} {path}"
        );
    }
    // A kick of a real socket under rebinding does not happen.
    let kick = format!("/api/sockets/{}", member.id);
    let (status, _) = request(addr, "DELETE", &kick, &evil_host, &rebinding, b"").await;
    assert_eq!(status, 421);

    // The correct local call works, and is the first (and only) message
    // the member receives: nothing above was delivered.
    assert_eq!(publish(addr, &body).await.status, 200);
    let delivered = member.recv().await;
    assert_eq!(delivered["event"], "pwned");
    let (status, _) = request(
        addr,
        "GET",
        "/api/stats",
        &format!("localhost:{}", addr.port()),
        &[("Origin", &format!("http://localhost:{}", addr.port()))],
        b"",
    )
    .await;
    assert_eq!(status, 200);

    assert_eq!(
        target
            .metric("switchboard_api_refused_total{reason=\"host\"}")
            .await,
        5
    );
    assert_eq!(
        target
            .metric("switchboard_api_refused_total{reason=\"origin\"}")
            .await,
        1
    );
    assert_eq!(
        target
            .metric("switchboard_api_refused_total{reason=\"content_type\"}")
            .await,
        1
    );
    target.assert_served().await;
    member.close_normally().await;
}

#[tokio::test]
async fn a_public_origin_closes_the_rebinding_hole_of_the_same_host_rule() {
    let target = AttackedServer::start(&["--public-origin", "https://chat.example.com"]).await;
    let addr = target.addr;
    let evil_host = format!("evil.example:{}", addr.port());
    let evil_origin = format!("http://{evil_host}");
    let upgrade = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
        ("Origin", evil_origin.as_str()),
    ];
    let (status, code) = request(addr, "GET", "/ws", &evil_host, &upgrade, b"").await;
    assert_eq!((status, code.as_str()), (403, "origin_refused"));
    // The long-polling open too.
    let (status, code) = request(
        addr,
        "POST",
        "/ws/poll",
        &evil_host,
        &[("Origin", evil_origin.as_str())],
        b"",
    )
    .await;
    assert_eq!((status, code.as_str()), (403, "origin_refused"));
    // A page on the public origin connects (through a proxy that passes
    // its own Host), and so do clients without an Origin.
    let (status, _, _) =
        crate::common::raw_handshake(addr, "/ws", &[("Origin", "https://chat.example.com")]).await;
    assert_eq!(status, 101);
    target.assert_served().await;
}
