//! The `switchboard` binary: options from the environment and a config
//! file, their precedence over each other and the defaults, and bad values
//! refused at start-up naming their source (and a taken address).

mod common;

use std::io::Write as _;

use common::config_file::config_file;
use common::{Binary, WsClient, command, get, http, raw_handshake, run_to_end};

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
