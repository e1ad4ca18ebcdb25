//! The `switchboard` binary: start-up output and the options given as
//! flags. Other sources of options and bad values are in
//! `binary_sources.rs`; logs and signals in `binary_lifecycle.rs`.

mod common;

use common::{Binary, WsClient, command, get, http, raw_handshake, run_to_end, within};
use serde_json::json;
use tokio::io::AsyncReadExt;

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn start_up_prints_where_it_listens() {
    let server = Binary::start(command(&["--listen", "127.0.0.1:0"])).await;
    let addr = server.addr;
    assert_ne!(addr.port(), 0);
    assert_eq!(
        server.first_lines,
        [
            format!("switchboard listening on http://{addr}"),
            format!("hub (WebSocket) at ws://{addr}/ws"),
            format!("demo page at http://{addr}/"),
            format!(
                "HTTP API at http://{addr}/api/ answers loopback callers only (no --api-key set)"
            ),
        ]
    );
    assert_eq!(get(addr, "/healthz").await.text(), "ok");
    assert_eq!(get(addr, "/").await.status, 200);
    assert_eq!(get(addr, "/api/stats").await.status, 200);
    WsClient::connect_at(addr, "/ws").await;
}

#[tokio::test]
async fn help_documents_every_option_and_its_default() {
    let output = run_to_end(command(&["--help"])).await;
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, env, default) in [
        ("--config", "SWITCHBOARD_CONFIG", ""),
        (
            "--listen",
            "SWITCHBOARD_LISTEN",
            "[default: 127.0.0.1:8080]",
        ),
        ("--path", "SWITCHBOARD_PATH", "[default: /ws]"),
        ("--api-key", "SWITCHBOARD_API_KEY", "[default: none"),
        (
            "--allow-origin",
            "SWITCHBOARD_ALLOW_ORIGIN",
            "[default: the server's own host only]",
        ),
        ("--rooms", "SWITCHBOARD_ROOMS", "[default: *]"),
        (
            "--max-connections",
            "SWITCHBOARD_MAX_CONNECTIONS",
            "[default: 100000]",
        ),
        (
            "--max-message-size",
            "SWITCHBOARD_MAX_MESSAGE_SIZE",
            "[default: 64KiB]",
        ),
        (
            "--ping-interval",
            "SWITCHBOARD_PING_INTERVAL",
            "[default: 25s]",
        ),
        (
            "--ping-timeout",
            "SWITCHBOARD_PING_TIMEOUT",
            "[default: 20s]",
        ),
        (
            "--compression",
            "SWITCHBOARD_COMPRESSION",
            "[default: true]",
        ),
        (
            "--resume-buffer-bytes",
            "SWITCHBOARD_RESUME_BUFFER_BYTES",
            "[default: 1MiB]",
        ),
        (
            "--max-detached-sessions",
            "SWITCHBOARD_MAX_DETACHED_SESSIONS",
            "[default: 10000]",
        ),
        (
            "--detached-budget",
            "SWITCHBOARD_DETACHED_BUDGET",
            "[default: 128MiB]",
        ),
        (
            "--max-rooms-per-socket",
            "SWITCHBOARD_MAX_ROOMS_PER_SOCKET",
            "[default: 1000]",
        ),
        (
            "--max-pending-polls",
            "SWITCHBOARD_MAX_PENDING_POLLS",
            "[default: 1000]",
        ),
        (
            "--pending-poll-timeout",
            "SWITCHBOARD_PENDING_POLL_TIMEOUT",
            "[default: 10s]",
        ),
        (
            "--resume-window",
            "SWITCHBOARD_RESUME_WINDOW",
            "[default: 120s]",
        ),
        ("--log-level", "SWITCHBOARD_LOG_LEVEL", "[default: info]"),
        // The hub's own options (issue 17).
        (
            "--write-timeout",
            "SWITCHBOARD_WRITE_TIMEOUT",
            "[default: 10s]",
        ),
        (
            "--send-queue-capacity",
            "SWITCHBOARD_SEND_QUEUE_CAPACITY",
            "[default: 1024]",
        ),
        (
            "--inbound-queue-capacity",
            "SWITCHBOARD_INBOUND_QUEUE_CAPACITY",
            "[default: 64]",
        ),
        (
            "--message-rate-per-socket",
            "SWITCHBOARD_MESSAGE_RATE_PER_SOCKET",
            "[default: 0, no limit]",
        ),
        (
            "--message-burst-per-socket",
            "SWITCHBOARD_MESSAGE_BURST_PER_SOCKET",
            "[default: the rate: one second's worth]",
        ),
        (
            "--max-bad-messages",
            "SWITCHBOARD_MAX_BAD_MESSAGES",
            "[default: 10]",
        ),
        (
            "--shutdown-timeout",
            "SWITCHBOARD_SHUTDOWN_TIMEOUT",
            "[default: 10s]",
        ),
        (
            "--resume-buffer-messages",
            "SWITCHBOARD_RESUME_BUFFER_MESSAGES",
            "[default: 1000]",
        ),
        (
            "--poll-timeout",
            "SWITCHBOARD_POLL_TIMEOUT",
            "[default: 25s, or half of",
        ),
        // The HTTP edge (issue 15).
        (
            "--http-header-timeout",
            "SWITCHBOARD_HTTP_HEADER_TIMEOUT",
            "[default: 10s]",
        ),
        (
            "--http-idle-timeout",
            "SWITCHBOARD_HTTP_IDLE_TIMEOUT",
            "[default: 5s]",
        ),
        (
            "--http-max-pending",
            "SWITCHBOARD_HTTP_MAX_PENDING",
            "[default: 1024]",
        ),
        (
            "--http-max-head-size",
            "SWITCHBOARD_HTTP_MAX_HEAD_SIZE",
            "[default: 64KiB]",
        ),
        (
            "--max-connections-per-address",
            "SWITCHBOARD_MAX_CONNECTIONS_PER_ADDRESS",
            "[default: 1000]",
        ),
        (
            "--handshake-rate-per-address",
            "SWITCHBOARD_HANDSHAKE_RATE_PER_ADDRESS",
            "[default: 100]",
        ),
        (
            "--handshake-burst-per-address",
            "SWITCHBOARD_HANDSHAKE_BURST_PER_ADDRESS",
            "[default: 200]",
        ),
        (
            "--exempt-loopback",
            "SWITCHBOARD_EXEMPT_LOOPBACK",
            "[default: true]",
        ),
        (
            "--trusted-proxy",
            "SWITCHBOARD_TRUSTED_PROXY",
            "[default: none]",
        ),
        (
            "--max-tracked-addresses",
            "SWITCHBOARD_MAX_TRACKED_ADDRESSES",
            "[default: 65536]",
        ),
        (
            "--public-origin",
            "SWITCHBOARD_PUBLIC_ORIGIN",
            "[default: none]",
        ),
        ("--allow-host", "SWITCHBOARD_ALLOW_HOST", "[default: none]"),
    ] {
        assert!(help.contains(flag), "{flag} missing in\n{help}");
        assert!(help.contains(env), "{env} missing in\n{help}");
        assert!(help.contains(default), "{default} missing in\n{help}");
    }
    assert!(help.contains("Precedence"));
}

#[tokio::test]
async fn flags_set_path_key_rooms_and_limits() {
    let server = Binary::start(command(&[
        "--listen",
        "127.0.0.1:0",
        "--path",
        "/hub",
        "--api-key",
        "k3y",
        "--rooms",
        "team-*",
        "--rooms",
        "lobby",
        "--max-message-size",
        "1KiB",
        "--max-connections",
        "2",
    ]))
    .await;
    let addr = server.addr;
    assert_eq!(
        server.first_lines[1],
        format!("hub (WebSocket) at ws://{addr}/hub")
    );
    assert!(server.first_lines[3].ends_with("needs Authorization: Bearer <key>"));

    // --api-key
    get(addr, "/api/stats").await.api_error(401, "unauthorized");
    let ok = http(
        addr,
        "GET",
        "/api/stats",
        &[("Authorization", "Bearer k3y")],
        b"",
    )
    .await;
    assert_eq!(ok.status, 200);

    // --path
    assert_eq!(raw_handshake(addr, "/ws", &[]).await.0, 404);
    let mut a = WsClient::connect_at(addr, "/hub").await;

    // --rooms
    assert_eq!(a.join("team-red").await["data"]["room"], "team-red");
    assert_eq!(a.join("lobby").await["data"]["room"], "lobby");
    assert_eq!(a.join("lobby2").await["error"]["code"], "forbidden");

    // --max-connections: two live, the third refused with 503.
    let _b = WsClient::connect_at(addr, "/hub").await;
    assert_eq!(raw_handshake(addr, "/hub", &[]).await.0, 503);

    // --max-message-size: 1 KiB passes, more closes with 1009.
    let fits = "x".repeat(900);
    a.send(json!({"event": "$ping", "data": fits})).await;
    assert_eq!(a.recv().await["event"], "$pong");
    a.send(json!({"event": "big", "data": "x".repeat(1100)}))
        .await;
    assert_eq!(a.close_code().await, 1009);
}

#[tokio::test]
async fn allow_origin_and_compression_flags() {
    let strict = Binary::start(command(&["--listen", "127.0.0.1:0"])).await;
    let open = Binary::start(command(&[
        "--listen",
        "127.0.0.1:0",
        "--allow-origin",
        "https://app.example",
        "--allow-origin",
        "http://localhost:3000",
        "--compression",
        "false",
    ]))
    .await;
    let any = Binary::start(command(&["--listen", "127.0.0.1:0", "--allow-origin", "*"])).await;
    let origin = |o| [("Origin", o)];

    // Default: same host only; no Origin at all is a non-browser client.
    let (s, _, _) = raw_handshake(strict.addr, "/ws", &origin("https://app.example")).await;
    assert_eq!(s, 403);
    assert_eq!(raw_handshake(strict.addr, "/ws", &[]).await.0, 101);
    let same = format!("http://{}", strict.addr);
    assert_eq!(
        raw_handshake(strict.addr, "/ws", &origin(&same)).await.0,
        101
    );

    // A list.
    assert_eq!(
        raw_handshake(open.addr, "/ws", &origin("https://app.example"))
            .await
            .0,
        101
    );
    assert_eq!(
        raw_handshake(open.addr, "/ws", &origin("http://localhost:3000"))
            .await
            .0,
        101
    );
    assert_eq!(
        raw_handshake(open.addr, "/ws", &origin("https://evil.example"))
            .await
            .0,
        403
    );
    assert_eq!(raw_handshake(open.addr, "/ws", &[]).await.0, 101);

    // `*`.
    assert_eq!(
        raw_handshake(any.addr, "/ws", &origin("https://evil.example"))
            .await
            .0,
        101
    );

    // --compression: on by default, off when asked.
    let deflate = [("Sec-WebSocket-Extensions", "permessage-deflate")];
    let (s, headers, _) = raw_handshake(strict.addr, "/ws", &deflate).await;
    assert_eq!(s, 101);
    assert!(
        header(&headers, "sec-websocket-extensions")
            .is_some_and(|e| e.contains("permessage-deflate")),
        "{headers:?}"
    );
    let (s, headers, _) = raw_handshake(open.addr, "/ws", &deflate).await;
    assert_eq!(s, 101);
    assert_eq!(header(&headers, "sec-websocket-extensions"), None);
}

#[tokio::test]
async fn ping_interval_and_timeout_flags() {
    let server = Binary::start(command(&[
        "--listen",
        "127.0.0.1:0",
        "--ping-interval",
        "100ms",
        "--ping-timeout",
        "200ms",
    ]))
    .await;
    // A client that never answers gets pings, then its link is dropped
    // (well before the 25 s + 20 s defaults would allow).
    let (status, _, mut stream) = raw_handshake(server.addr, "/ws", &[]).await;
    assert_eq!(status, 101);
    let mut received = Vec::new();
    within("the silent link to be dropped", async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    // Frames (unmasked, server to client): the $welcome text frame, then
    // Ping frames.
    let mut opcodes = Vec::new();
    let mut rest = received.as_slice();
    while rest.len() >= 2 {
        let (len, header) = match rest[1] & 0x7f {
            126 => (usize::from(u16::from_be_bytes([rest[2], rest[3]])), 4),
            127 => panic!("no 8-byte lengths expected here"),
            n => (usize::from(n), 2),
        };
        opcodes.push(rest[0] & 0x0f);
        rest = &rest[(header + len).min(rest.len())..];
    }
    assert_eq!(opcodes.first(), Some(&0x1), "{opcodes:?}");
    assert!(opcodes.contains(&0x9), "no ping in {opcodes:?}");
}

/// Opens a WebSocket, reads `$welcome` and returns its data and the client.
async fn welcome_of(url: String) -> (serde_json::Value, WsClient) {
    let mut client = WsClient::open(&url).await;
    let welcome = client.recv().await;
    (welcome["data"].clone(), client)
}

#[tokio::test]
async fn resume_window_flag_keeps_or_turns_off_dropped_sessions() {
    for (window, resumed) in [("30s", true), ("0s", false)] {
        let server = Binary::start(command(&[
            "--listen",
            "127.0.0.1:0",
            "--resume-window",
            window,
        ]))
        .await;
        let (welcome, ws) = welcome_of(format!("ws://{}/ws", server.addr)).await;
        let token = welcome["session"].as_str().unwrap().to_owned();
        // Drop the link without a close frame.
        drop(ws);
        let url = format!("ws://{}/ws?resume={token}&last=0", server.addr);
        let (again, _ws) = welcome_of(url).await;
        assert_eq!(again["resumed"], resumed, "--resume-window {window}");
        assert_eq!(again["id"] == welcome["id"], resumed);
    }
}
