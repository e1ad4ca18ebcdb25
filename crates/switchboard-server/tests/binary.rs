//! The `switchboard` binary: start-up output, every option from each
//! source and their precedence, bad values, and signals.

mod common;

use std::io::Write as _;

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

#[tokio::test]
async fn environment_variables_set_options() {
    let mut cmd = command(&[]);
    cmd.env("SWITCHBOARD_LISTEN", "127.0.0.1:0")
        .env("SWITCHBOARD_PATH", "/from-env")
        .env("SWITCHBOARD_API_KEY", "env-key")
        .env("SWITCHBOARD_ROOMS", "a-*,b")
        .env(
            "SWITCHBOARD_ALLOW_ORIGIN",
            "https://x.example,https://y.example",
        );
    let server = Binary::start(cmd).await;
    let addr = server.addr;
    assert_eq!(
        server.first_lines[1],
        format!("hub (WebSocket) at ws://{addr}/from-env")
    );
    let auth = [("Authorization", "Bearer env-key")];
    assert_eq!(
        http(addr, "GET", "/api/stats", &auth, b"").await.status,
        200
    );
    get(addr, "/api/stats").await.api_error(401, "unauthorized");
    let mut c = WsClient::connect_at(addr, "/from-env").await;
    assert!(c.join("a-1").await.get("data").is_some());
    assert!(c.join("b").await.get("data").is_some());
    assert_eq!(c.join("c").await["error"]["code"], "forbidden");
    let y = [("Origin", "https://y.example")];
    assert_eq!(raw_handshake(addr, "/from-env", &y).await.0, 101);
}

fn config_file(text: &str) -> tempfile_lite::TempFile {
    tempfile_lite::TempFile::new(text)
}

/// A file removed on drop, without a dependency.
mod tempfile_lite {
    use std::path::PathBuf;

    pub(crate) struct TempFile(pub(crate) PathBuf);

    impl TempFile {
        pub(crate) fn new(text: &str) -> Self {
            use std::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(0);
            let path = std::env::temp_dir().join(format!(
                "switchboard-test-{}-{}.toml",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::write(&path, text).expect("write config file");
            Self(path)
        }

        pub(crate) fn path(&self) -> &str {
            self.0.to_str().unwrap()
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[tokio::test]
async fn a_config_file_sets_options() {
    let file = config_file(
        r#"
        listen = "127.0.0.1:0"
        path = "/from-file"
        rooms = ["only-this"]
        api_key = "file-key"
        max_message_size = "2KiB"
        compression = false
        "#,
    );
    let server = Binary::start(command(&["--config", file.path()])).await;
    let addr = server.addr;
    assert_eq!(
        server.first_lines[1],
        format!("hub (WebSocket) at ws://{addr}/from-file")
    );
    let auth = [("Authorization", "Bearer file-key")];
    assert_eq!(
        http(addr, "GET", "/api/stats", &auth, b"").await.status,
        200
    );
    let mut c = WsClient::connect_at(addr, "/from-file").await;
    assert!(c.join("only-this").await.get("data").is_some());
    assert_eq!(c.join("other").await["error"]["code"], "forbidden");

    // SWITCHBOARD_CONFIG names the file too.
    let mut cmd = command(&[]);
    cmd.env("SWITCHBOARD_CONFIG", file.path());
    let server = Binary::start(cmd).await;
    assert!(server.first_lines[1].ends_with("/from-file"));
}

#[tokio::test]
async fn flags_beat_environment_beats_file_beats_defaults() {
    let file = config_file(
        r#"
        listen = "127.0.0.1:0"
        path = "/file"
        rooms = "file-room"
        "#,
    );
    let hub_path = |server: &Binary| {
        let line = &server.first_lines[1];
        line[line.rfind('/').unwrap()..].to_owned()
    };

    // File alone.
    let server = Binary::start(command(&["--config", file.path()])).await;
    assert_eq!(hub_path(&server), "/file");
    drop(server);

    // Environment over file (the file still gives what env does not).
    let mut cmd = command(&["--config", file.path()]);
    cmd.env("SWITCHBOARD_PATH", "/env");
    let server = Binary::start(cmd).await;
    assert_eq!(hub_path(&server), "/env");
    let mut c = WsClient::connect_at(server.addr, "/env").await;
    assert!(c.join("file-room").await.get("data").is_some());
    drop(server);

    // Flags over environment and file.
    let mut cmd = command(&["--config", file.path(), "--path", "/flag"]);
    cmd.env("SWITCHBOARD_PATH", "/env");
    let server = Binary::start(cmd).await;
    assert_eq!(hub_path(&server), "/flag");
    drop(server);

    // Defaults under everything: /ws.
    let server = Binary::start(command(&["--listen", "127.0.0.1:0"])).await;
    assert_eq!(hub_path(&server), "/ws");
}

/// Runs the binary expecting a start-up failure; returns its stderr.
async fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = command(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let output = run_to_end(cmd).await;
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        !output.status.success(),
        "{args:?} {env:?} should fail; stdout: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(output.stdout.is_empty(), "nothing served, nothing printed");
    stderr
}

#[tokio::test]
async fn bad_values_stop_start_up_naming_the_option() {
    let cases: &[(&[&str], &str)] = &[
        (&["--listen", "not-an-address"], "--listen"),
        (&["--listen", "127.0.0.1:70000"], "--listen"),
        (&["--path", "ws"], "--path"),
        (&["--path", "/api/hub"], "--path"),
        (&["--path", "/lib/client.js"], "--path"),
        (&["--api-key", ""], "--api-key"),
        (&["--allow-origin", "example.com"], "--allow-origin"),
        (&["--rooms", ""], "--rooms"),
        (&["--max-connections", "many"], "--max-connections"),
        (&["--max-connections", "0"], "--max-connections"),
        (&["--max-message-size", "1XB"], "--max-message-size"),
        (&["--ping-interval", "5"], "--ping-interval"),
        (&["--ping-timeout", "soon"], "--ping-timeout"),
        (&["--compression", "maybe"], "--compression"),
        (&["--resume-window", "later"], "--resume-window"),
        (&["--log-level", "x=[[["], "--log-level"),
        (&["--no-such-flag"], "--no-such-flag"),
    ];
    for (args, option) in cases {
        let stderr = refused(args, &[]).await;
        assert!(stderr.contains(option), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn bad_values_from_env_and_file_name_their_source() {
    let stderr = refused(&[], &[("SWITCHBOARD_MAX_CONNECTIONS", "lots")]).await;
    assert!(stderr.contains("--max-connections"), "{stderr}");
    assert!(stderr.contains("SWITCHBOARD_MAX_CONNECTIONS"), "{stderr}");

    let file = config_file("ping_interval = \"fast\"\n");
    let stderr = refused(&["--config", file.path()], &[]).await;
    assert!(stderr.contains("--ping-interval"), "{stderr}");
    assert!(stderr.contains("`ping_interval`"), "{stderr}");
    assert!(stderr.contains(file.path()), "{stderr}");

    let file = config_file("colour = \"blue\"\n");
    let stderr = refused(&["--config", file.path()], &[]).await;
    assert!(stderr.contains("unknown key `colour`"), "{stderr}");

    let file = config_file("listen = \n");
    let stderr = refused(&["--config", file.path()], &[]).await;
    assert!(stderr.contains("not valid TOML"), "{stderr}");

    let stderr = refused(&["--config", "/nonexistent/switchboard.toml"], &[]).await;
    assert!(stderr.contains("--config"), "{stderr}");

    // A higher source replaces a lower one whole: a bad environment value
    // under a good flag is never read.
    let mut cmd = command(&["--listen", "127.0.0.1:0", "--max-connections", "5"]);
    cmd.env("SWITCHBOARD_MAX_CONNECTIONS", "lots");
    Binary::start(cmd).await;
}

#[tokio::test]
async fn a_taken_address_fails_start_up() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let stderr = refused(&["--listen", &addr], &[]).await;
    assert!(stderr.contains("--listen"), "{stderr}");
}

/// Runs the binary, opens and closes a connection, stops it; returns what
/// it logged.
async fn log_of_a_connection(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = command(&["--listen", "127.0.0.1:0"]);
    cmd.args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let mut server = Binary::start(cmd).await;
    let c = WsClient::connect_at(server.addr, "/ws").await;
    c.close_normally().await;
    server.terminate();
    assert!(server.wait().await.success());
    let mut stderr = String::new();
    let mut pipe = server.child.stderr.take().unwrap();
    pipe.read_to_string(&mut stderr).await.unwrap();
    stderr
}

#[tokio::test]
async fn log_level_flag_and_rust_log() {
    let quiet = log_of_a_connection(&[], &[]).await;
    assert!(quiet.contains("INFO"), "{quiet}");
    assert!(!quiet.contains("DEBUG"), "{quiet}");

    let loud = log_of_a_connection(&["--log-level", "debug"], &[]).await;
    assert!(loud.contains("DEBUG"), "{loud}");
    assert!(loud.contains("connection closed"), "{loud}");

    let from_rust_log = log_of_a_connection(&[], &[("RUST_LOG", "debug")]).await;
    assert!(from_rust_log.contains("DEBUG"), "{from_rust_log}");

    // --log-level (or SWITCHBOARD_LOG_LEVEL) wins over RUST_LOG.
    let warn_only = log_of_a_connection(&["--log-level", "warn"], &[("RUST_LOG", "debug")]).await;
    assert!(
        !warn_only.contains("DEBUG") && !warn_only.contains("INFO"),
        "{warn_only}"
    );
    let env_level = log_of_a_connection(
        &[],
        &[("SWITCHBOARD_LOG_LEVEL", "debug"), ("RUST_LOG", "warn")],
    )
    .await;
    assert!(env_level.contains("DEBUG"), "{env_level}");
}

#[tokio::test]
async fn sigterm_closes_clients_with_1001_and_exits_0() {
    let mut server = Binary::start(command(&["--listen", "127.0.0.1:0"])).await;
    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    let mut b = WsClient::connect_at(server.addr, "/ws").await;
    server.terminate();
    assert_eq!(a.close_code().await, 1001);
    assert_eq!(b.close_code().await, 1001);
    let status = server.wait().await;
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(server.rest_of_stdout().await.is_empty());
}

#[tokio::test]
async fn ctrl_c_stops_gracefully_too() {
    let mut server = Binary::start(command(&["--listen", "127.0.0.1:0"])).await;
    let mut a = WsClient::connect_at(server.addr, "/ws").await;
    let pid = server.child.id().unwrap().to_string();
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(a.close_code().await, 1001);
    assert_eq!(server.wait().await.code(), Some(0));
}

#[test]
fn config_file_helper_writes_and_removes() {
    let file = config_file("x");
    let path = std::path::PathBuf::from(file.path());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(b"y").unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "xy");
    drop(file);
    assert!(!path.exists());
}

/// Opens a WebSocket, reads `$welcome` and returns its data and the stream.
async fn welcome_of(
    url: String,
) -> (
    serde_json::Value,
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
) {
    use futures_util::StreamExt;
    let (mut ws, _) = within("the handshake", tokio_tungstenite::connect_async(url))
        .await
        .expect("handshake");
    let first = within("the welcome", ws.next()).await.unwrap().unwrap();
    let welcome: serde_json::Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    (welcome["data"].clone(), ws)
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
