//! The `switchboard` binary's life: the log level, and SIGTERM / Ctrl-C
//! stop it gracefully.

mod common;

use common::{Binary, WsClient, command};
use tokio::io::AsyncReadExt;

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
